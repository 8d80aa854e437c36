//! Query and answer types of the store.

use mci_core::{
    CustomerId, EngagementId, Instant, KeptAnswer, KnownCustomer, KnownPlacement, Message,
    Nomination, NominationId, PartnerId, State, Tab,
};

/// One page of one tab (R-PAGE-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Whose nominations.
    pub partner: PartnerId,
    /// Of which engagement.
    pub engagement: EngagementId,
    /// Which tab.
    pub tab: Tab,
    /// The instant the tab is read at.
    pub now: Instant,
    /// The keyset cursor: the last id of the previous page.
    pub after: Option<NominationId>,
    /// The most rows.
    pub limit: usize,
}

/// Nominations by stored state, not lapsed at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateQuery {
    /// The states wanted.
    pub states: Vec<State>,
    /// Only this partner's, or everyone's.
    pub partner: Option<PartnerId>,
    /// The instant read at: nominations whose lapse has come are left out.
    pub now: Instant,
    /// The keyset cursor.
    pub after: Option<NominationId>,
    /// The most rows.
    pub limit: usize,
}

/// A page of nominations in id order.
///
/// Its JSON form: the rows as [`Nomination`]'s serde form, the unreadable
/// rows by id and reason, and the id to read on after:
///
/// ```
/// use mci_store::Page;
///
/// assert_eq!(
///     serde_json::to_value(Page::default()).unwrap(),
///     serde_json::json!({"rows": [], "unreadable": [], "next": null}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Page {
    /// The rows.
    pub rows: Vec<Nomination>,
    /// The rows of the page that could not be read back: passed over, so
    /// the page is short by that many (R-PAGE-1).
    pub unreadable: Vec<Unreadable>,
    /// The cursor for the next page, `None` on the last page.
    pub next: Option<NominationId>,
}

impl Page {
    /// A page of `rows` read with `limit`: a full page has a next cursor.
    pub fn new(rows: Vec<Nomination>, limit: usize) -> Self {
        let next = if rows.len() >= limit && limit > 0 {
            rows.last().map(|n| *n.id())
        } else {
            None
        };
        Self {
            rows,
            unreadable: Vec::new(),
            next,
        }
    }

    /// A page from the rows a scan of at most `limit` rows found, in id
    /// order, each read back or not: a scan that reached the limit has a
    /// next cursor after its last row, readable or not, so that a page full
    /// of unreadable rows still leads to the rows behind them. A reason
    /// holds none of the row's content ([`Unreadable::json_reason`]).
    pub fn scanned(
        found: impl IntoIterator<Item = (NominationId, Result<Nomination, String>)>,
        limit: usize,
    ) -> Self {
        let (rows, unreadable, next) = split_scanned(found, limit, |id| *id);
        Self {
            rows,
            unreadable,
            next,
        }
    }
}

/// A stored nomination that could not be read back: its id, and why (the
/// decoder's words, never the row's content). Reads pass it over and say
/// so; the sweep reports it. Its JSON form is `{"id": …, "reason": …}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unreadable {
    /// The nomination.
    pub id: NominationId,
    /// Why it could not be read.
    pub reason: String,
}

impl Unreadable {
    /// Why a JSON document could not be decoded, in words that hold
    /// nothing of the document: the kind of failure and where in the
    /// document it was found. serde's own message can quote the value it
    /// met (a friendly name, a contact): data an error text must not carry
    /// into a log (R-TOKEN-5). This reason never does.
    ///
    /// ```
    /// use mci_store::Unreadable;
    ///
    /// let error = serde_json::from_str::<u64>(r#""Contoso Ltd""#).unwrap_err();
    /// assert!(error.to_string().contains("Contoso"));
    /// let reason = Unreadable::json_reason(&error);
    /// assert_eq!(reason, "a value of the wrong shape at line 1 column 13");
    /// ```
    pub fn json_reason(error: &serde_json::Error) -> String {
        use serde_json::error::Category;
        let what = match error.classify() {
            Category::Io => "an I/O error",
            Category::Syntax => "not valid JSON",
            Category::Eof => "the document ends early",
            Category::Data => "a value of the wrong shape",
        };
        format!("{what} at line {} column {}", error.line(), error.column())
    }
}

/// Where a walk of the due nominations goes on: after this wake instant
/// and id, in `(wake_at, id)` order (R-TIME-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DueCursor {
    /// The wake instant of the last nomination looked at.
    pub wake_at: Instant,
    /// Its id.
    pub id: NominationId,
}

/// One batch of the nominations due at some instant (R-TIME-4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Due {
    /// The nominations, earliest wake first.
    pub rows: Vec<Nomination>,
    /// The due rows that could not be read back, passed over.
    pub unreadable: Vec<Unreadable>,
    /// Where the next batch starts, `None` when this batch was the last.
    pub next: Option<DueCursor>,
}

impl Due {
    /// A batch from the rows a scan of at most `limit` due rows found, in
    /// `(wake_at, id)` order, each read back or not: a scan that reached
    /// the limit has a cursor after its last row, readable or not.
    pub fn scanned(
        found: impl IntoIterator<Item = (DueCursor, Result<Nomination, String>)>,
        limit: usize,
    ) -> Self {
        let (rows, unreadable, next) = split_scanned(found, limit, |at: &DueCursor| at.id);
        Self {
            rows,
            unreadable,
            next,
        }
    }
}

/// The rows read back and the rows not, of a scan of at most `limit` rows
/// keyed by `K`, and the key of the last row scanned when the scan
/// reached the limit: the cursor the next scan starts after.
fn split_scanned<K: Copy>(
    found: impl IntoIterator<Item = (K, Result<Nomination, String>)>,
    limit: usize,
    id_of: impl Fn(&K) -> NominationId,
) -> (Vec<Nomination>, Vec<Unreadable>, Option<K>) {
    let (mut rows, mut unreadable) = (Vec::new(), Vec::new());
    let mut scanned = 0;
    let mut last = None;
    for (key, row) in found {
        scanned += 1;
        last = Some(key);
        match row {
            Ok(nomination) => rows.push(nomination),
            Err(reason) => unreadable.push(Unreadable {
                id: id_of(&key),
                reason,
            }),
        }
    }
    (
        rows,
        unreadable,
        last.filter(|_| scanned >= limit && limit > 0),
    )
}

/// How many nominations each tab holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TabCounts {
    /// In the Eligible tab.
    pub eligible: u64,
    /// In the Ineligible tab: nominations whose placement puts them there
    /// (R-CONSENT-10), not the known customers the service adds.
    pub ineligible: u64,
    /// In the Complete tab.
    pub complete: u64,
}

impl TabCounts {
    /// The count of `tab`.
    pub fn get(&self, tab: Tab) -> u64 {
        match tab {
            Tab::Eligible => self.eligible,
            Tab::Ineligible => self.ineligible,
            Tab::Complete => self.complete,
        }
    }

    fn get_mut(&mut self, tab: Tab) -> &mut u64 {
        match tab {
            Tab::Eligible => &mut self.eligible,
            Tab::Ineligible => &mut self.ineligible,
            Tab::Complete => &mut self.complete,
        }
    }

    /// Adds `n` to the count of `tab`: for an adapter summing the counts it
    /// keeps. A hidden nomination (`None`) counts nowhere.
    pub fn add(&mut self, tab: Option<Tab>, n: u64) {
        if let Some(tab) = tab {
            let count = self.get_mut(tab);
            *count = count.saturating_add(n);
        }
    }

    /// Moves one nomination from the tab it is stored in to the tab its
    /// lapse puts it in: for an adapter correcting its kept counts by a
    /// lapse the sweep has not written yet ([`Placement::tab_at`](mci_core::Placement::tab_at)).
    /// Hidden counts nowhere; a count never goes below zero.
    ///
    /// ```
    /// use mci_core::Tab;
    /// use mci_store::TabCounts;
    ///
    /// let mut counts = TabCounts::default();
    /// counts.add(Some(Tab::Eligible), 3);
    /// counts.add(None, 5);
    /// // A consent that lapsed leaves the page; a claim that expired moves
    /// // to Complete.
    /// counts.lapse(Some(Tab::Eligible), None);
    /// counts.lapse(Some(Tab::Eligible), Some(Tab::Complete));
    /// assert_eq!(Tab::ALL.map(|tab| counts.get(tab)), [1, 0, 1]);
    /// ```
    pub fn lapse(&mut self, from: Option<Tab>, to: Option<Tab>) {
        if from == to {
            return;
        }
        if let Some(from) = from {
            let count = self.get_mut(from);
            *count = count.saturating_sub(1);
        }
        self.add(to, 1);
    }
}

/// An outbox message taken for delivery, and how often it has been taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    /// The message; its id is stable across deliveries.
    pub message: Message,
    /// 1 the first time it is taken, more when a lease expired.
    pub attempt: u32,
}

/// One page of the known customers of a tab (R-PAGE-2, -4, -9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownQuery {
    /// Whose known customers.
    pub partner: PartnerId,
    /// On which engagement's page.
    pub engagement: EngagementId,
    /// Eligible or Ineligible (no known customer shows on Complete).
    pub tab: Tab,
    /// The instant the tab is read at.
    pub now: Instant,
    /// The keyset cursor: the last customer of the previous page.
    pub after: Option<CustomerId>,
    /// The most rows.
    pub limit: usize,
}

/// A known customer as a store keeps it for one engagement: the customer,
/// where it shows at the instant read, and the answer behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownEntry {
    /// The customer and the nomination it is known through.
    pub known: KnownCustomer,
    /// Where it shows, derived at the instant read.
    pub placement: KnownPlacement,
    /// The last answer of the eligibility port kept for it, trusted or not.
    pub answer: Option<KeptAnswer>,
}

/// A page of known customers in [`CustomerId`] order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KnownPage {
    /// The rows.
    pub rows: Vec<KnownEntry>,
    /// The cursor for the next page, `None` on the last page.
    pub next: Option<CustomerId>,
}

/// How many of a partner's known customers show on each tab of an
/// engagement's page at an instant (R-PAGE-1, R-PAGE-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KnownCounts {
    /// On Eligible, checked or not.
    pub eligible: u64,
    /// Of those, how many have no trusted answer of the eligibility port:
    /// "eligibility not checked yet".
    pub not_checked: u64,
    /// On Ineligible.
    pub ineligible: u64,
    /// When the oldest trusted answer behind a shown row was given.
    pub oldest_answer: Option<Instant>,
}

/// A known customer whose answer for an engagement is due to be asked
/// again (R-PAGE-9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownToCheck {
    /// The partner that knows it.
    pub partner: PartnerId,
    /// The engagement.
    pub engagement: EngagementId,
    /// The customer.
    pub known: KnownCustomer,
    /// When its answer was last given, `None` if never.
    pub checked_at: Option<Instant>,
}
