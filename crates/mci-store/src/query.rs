//! Query and answer types of the store.

use mci_core::{EngagementId, Instant, Message, Nomination, NominationId, PartnerId, State, Tab};

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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// of unreadable rows still leads to the rows behind them.
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
/// so; the sweep reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The nomination.
    pub id: NominationId,
    /// Why it could not be read.
    pub reason: String,
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
    /// In the Ineligible tab: those that lost the customer to another
    /// partner (R-CONSENT-10).
    pub ineligible: u64,
    /// In the Complete tab.
    pub complete: u64,
}

/// An outbox message taken for delivery, and how often it has been taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    /// The message; its id is stable across deliveries.
    pub message: Message,
    /// 1 the first time it is taken, more when a lease expired.
    pub attempt: u32,
}
