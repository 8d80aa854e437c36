//! Query and answer types of the store.

use mci_core::{
    AttentionClass, ClaimsOrder, ClaimsSearch, CustomerId, EngagementId, Instant, KeptAnswer,
    KnownCustomer, KnownPlacement, Message, Nomination, NominationId, PartnerId, State, Tab,
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

/// Whose Claims page (R-LIST-1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClaimsScope {
    /// One partner's nominations, of every engagement, in every state
    /// (R-ROLE-2: never another partner's).
    Partner(PartnerId),
    /// Every partner's submitted claims: the nominations whose
    /// [`ClaimsPlacement::reviewable`](mci_core::ClaimsPlacement::reviewable)
    /// holds.
    Reviewer,
}

impl ClaimsScope {
    /// The partner, for a partner's page.
    pub fn partner(&self) -> Option<&PartnerId> {
        match self {
            ClaimsScope::Partner(partner) => Some(partner),
            ClaimsScope::Reviewer => None,
        }
    }

    /// Whether `nomination` is in this scope.
    pub fn holds(&self, nomination: &Nomination) -> bool {
        match self {
            ClaimsScope::Partner(partner) => nomination.partner() == partner,
            ClaimsScope::Reviewer => nomination.claims_placement().reviewable,
        }
    }
}

/// Where a walk of the Claims page goes on: after this sort instant and
/// id, newest first, in `(sort instant, id)` descending order (R-LIST-1).
/// The sort instant is [`ClaimsPlacement::sort_key`](mci_core::ClaimsPlacement::sort_key)
/// of the last row looked at, at the `now` of the page that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClaimsCursor {
    /// The sort instant of the last row looked at.
    pub at: Instant,
    /// Its id.
    pub id: NominationId,
}

impl ClaimsCursor {
    /// Whether the row keyed `(at, id)` comes after this cursor: older, or
    /// as old with a smaller id.
    pub fn precedes(&self, at: Instant, id: &NominationId) -> bool {
        (at, *id) < (self.at, self.id)
    }
}

/// One page of the Claims page (R-LIST-1).
///
/// Without a search, the page is the first `limit` rows of the list after
/// `after`: one index walk (merged, for a state filter or the
/// [`ClaimsOrder::Changed`] order, with the walk of the lapses the sweep
/// has not written yet). With a search, the store looks at no more than
/// [`ClaimsSearch::scan`] rows of that walk and answers those that match
/// ([`ClaimsSearch::matches`]), at most `limit`, with a cursor after the
/// last row looked at: a search never walks everything, and walking its
/// pages finds what filtering the whole list would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsQuery {
    /// Whose page.
    pub scope: ClaimsScope,
    /// Only this engagement's nominations.
    pub engagement: Option<EngagementId>,
    /// Only the nominations in this state at `now`
    /// ([`ClaimsPlacement::state_at`](mci_core::ClaimsPlacement::state_at)).
    pub state: Option<State>,
    /// The order, newest first.
    pub order: ClaimsOrder,
    /// The instant the page is read at.
    pub now: Instant,
    /// The keyset cursor: where the previous page stopped.
    pub after: Option<ClaimsCursor>,
    /// The most rows answered.
    pub limit: usize,
    /// The search narrowing the list, if any.
    pub search: Option<ClaimsSearch>,
}

impl ClaimsQuery {
    /// A query of the first page of `scope`'s list at `now`, in `order`,
    /// with no filter and no search.
    pub fn new(scope: ClaimsScope, order: ClaimsOrder, now: Instant, limit: usize) -> Self {
        Self {
            scope,
            engagement: None,
            state: None,
            order,
            now,
            after: None,
            limit,
            search: None,
        }
    }

    /// How many rows of the walk a store reads for this query: `limit`
    /// without a search, [`ClaimsSearch::scan`] with one.
    pub fn walk_limit(&self) -> usize {
        match &self.search {
            Some(search) => search.scan(),
            None => self.limit,
        }
    }

    /// Whether a row with this placement and id is on the list the query
    /// walks (scope aside): in the engagement and the state at `now`, and
    /// after the cursor. For adapters and models that check a row in Rust.
    pub fn admits(&self, nomination: &Nomination) -> bool {
        let placement = nomination.claims_placement();
        self.scope.holds(nomination)
            && self
                .engagement
                .as_ref()
                .is_none_or(|e| nomination.engagement() == e)
            && self
                .state
                .is_none_or(|state| placement.state_at(self.now) == state)
            && self.after.is_none_or(|after| {
                after.precedes(placement.sort_key(self.order, self.now), nomination.id())
            })
    }

    /// The cursor of a row with this placement in this query's order.
    pub fn cursor_of(&self, nomination: &Nomination) -> ClaimsCursor {
        ClaimsCursor {
            at: nomination.claims_placement().sort_key(self.order, self.now),
            id: *nomination.id(),
        }
    }
}

/// A page of the Claims page, newest first (R-LIST-1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClaimsPage {
    /// The rows, in the query's order.
    pub rows: Vec<Nomination>,
    /// The rows looked at that could not be read back: passed over, named.
    pub unreadable: Vec<Unreadable>,
    /// Where the next page starts, `None` when the walk reached the end of
    /// the list.
    pub next: Option<ClaimsCursor>,
    /// How many rows of the walk the store looked at: at most `limit`
    /// without a search, at most [`ClaimsSearch::scan`] with one.
    pub scanned: usize,
}

impl ClaimsPage {
    /// The page `query` answers from the first rows of its walk after its
    /// cursor, in order, each read back or not: at most
    /// [`ClaimsQuery::walk_limit`] of them (more are not looked at). A
    /// walk that gave fewer reached the end of the list. Rows stop at
    /// `limit`; a search keeps only the rows it matches. The next cursor is
    /// after the last row looked at, readable or not, unless the walk
    /// reached the end.
    pub fn scanned(
        query: &ClaimsQuery,
        walked: impl IntoIterator<Item = (ClaimsCursor, Result<Nomination, String>)>,
    ) -> Self {
        let walk_limit = query.walk_limit();
        let mut page = ClaimsPage::default();
        if query.limit == 0 || walk_limit == 0 {
            return page;
        }
        let mut last = None;
        let mut stopped = false;
        for (cursor, row) in walked {
            if page.scanned >= walk_limit {
                stopped = true;
                break;
            }
            page.scanned += 1;
            last = Some(cursor);
            match row {
                Ok(nomination) => {
                    if query.search.as_ref().is_none_or(|s| s.matches(&nomination)) {
                        page.rows.push(nomination);
                    }
                }
                Err(reason) => page.unreadable.push(Unreadable {
                    id: cursor.id,
                    reason,
                }),
            }
            if page.rows.len() >= query.limit {
                stopped = true;
                break;
            }
        }
        if stopped || page.scanned >= walk_limit {
            page.next = last;
        }
        page
    }
}

/// How many of a scope's nominations are in each state at an instant
/// (R-LIST-1): what walking the pages of each state at that instant would
/// find. Two counts are equal when every state's count is; a state counted
/// zero is not kept.
///
/// Its JSON form is an object of the states counted above zero:
///
/// ```
/// use mci_core::State;
/// use mci_store::ClaimCounts;
///
/// let mut counts = ClaimCounts::default();
/// counts.add(State::Submitted, 2);
/// assert_eq!(serde_json::to_value(&counts).unwrap(), serde_json::json!({"submitted": 2}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(transparent)]
pub struct ClaimCounts {
    counts: std::collections::BTreeMap<State, u64>,
}

impl ClaimCounts {
    /// The count of `state`.
    pub fn get(&self, state: State) -> u64 {
        self.counts.get(&state).copied().unwrap_or(0)
    }

    /// Every state with a count above zero, in [`State`] order.
    pub fn iter(&self) -> impl Iterator<Item = (State, u64)> + '_ {
        self.counts.iter().map(|(s, n)| (*s, *n))
    }

    /// The count of every state.
    pub fn total(&self) -> u64 {
        self.counts.values().fold(0, |a, n| a.saturating_add(*n))
    }

    /// Adds `n` to the count of `state`: for an adapter summing the counts
    /// it keeps.
    pub fn add(&mut self, state: State, n: u64) {
        if n == 0 {
            return;
        }
        let count = self.counts.entry(state).or_default();
        *count = count.saturating_add(n);
    }

    /// Moves one nomination from the state it is stored in to the state its
    /// lapse leads to: for an adapter correcting its kept counts by a lapse
    /// the sweep has not written yet. A count never goes below zero.
    ///
    /// ```
    /// use mci_core::State;
    /// use mci_store::ClaimCounts;
    ///
    /// let mut counts = ClaimCounts::default();
    /// counts.add(State::AwaitingConsent, 2);
    /// counts.lapse(State::AwaitingConsent, State::ConsentExpired);
    /// assert_eq!(counts.get(State::AwaitingConsent), 1);
    /// assert_eq!(counts.get(State::ConsentExpired), 1);
    /// assert_eq!(counts.total(), 2);
    /// ```
    pub fn lapse(&mut self, from: State, to: State) {
        if from == to {
            return;
        }
        if let Some(count) = self.counts.get_mut(&from) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.counts.remove(&from);
            }
        }
        self.add(to, 1);
    }
}

/// The candidates of a partner's Attention required list at `now`
/// (R-LIST-3, [`Store::attention`](crate::Store::attention)): the rows
/// whose [`AttentionPlacement`](mci_core::AttentionPlacement) lists them
/// at `now` with the window ending at `until`, soonest lapse first, at
/// most `limit`.
///
/// ```
/// # use mci_testkit::*;
/// use chrono::TimeDelta;
/// use mci_store::AttentionQuery;
///
/// let (added, now) = fresh_nomination();
/// let query = |now| AttentionQuery::at(partner(1), now, 10).unwrap();
/// // Its consent is due on day 30: on the list from day 23 on, until then.
/// assert!(!query(now).admits(&added));
/// assert!(query(now + TimeDelta::days(23)).admits(&added));
/// assert!(!query(now + TimeDelta::days(30)).admits(&added));
/// // Never on another partner's list.
/// let theirs = AttentionQuery::at(partner(2), now + TimeDelta::days(23), 10).unwrap();
/// assert!(!theirs.admits(&added));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttentionQuery {
    /// Whose list.
    pub partner: PartnerId,
    /// The instant read at: a row whose lapse has come is on no list.
    pub now: Instant,
    /// The end of the window: a row of class
    /// [`WithinWindow`](AttentionClass::WithinWindow) is on the list when
    /// its lapse is at or before it; the service asks for
    /// [`attention_until`](mci_core::attention_until) of `now`.
    pub until: Instant,
    /// The most rows answered.
    pub limit: usize,
}

impl AttentionQuery {
    /// The query of `partner`'s list read at `now`, its window the rule's
    /// ([`attention_until`](mci_core::attention_until)); `None` only for a
    /// `now` whose window ends past the last instant chrono represents.
    pub fn at(partner: PartnerId, now: Instant, limit: usize) -> Option<Self> {
        Some(Self {
            partner,
            now,
            until: mci_core::attention_until(now)?,
            limit,
        })
    }

    /// Whether `nomination` is on the list: `partner`'s, and listed by its
    /// placement at `now` within the window. For adapters and models that
    /// check a row in Rust.
    pub fn admits(&self, nomination: &Nomination) -> bool {
        nomination.partner() == &self.partner
            && nomination
                .attention_placement()
                .is_listed(self.now, Some(self.until))
    }

    /// The lapse instants the walk of `class` covers: after the first, and
    /// at or before the second when there is one (for the window's class,
    /// `until`). A store makes one walk per class.
    pub fn range(&self, class: AttentionClass) -> (Instant, Option<Instant>) {
        match class {
            AttentionClass::Always => (self.now, None),
            AttentionClass::WithinWindow => (self.now, Some(self.until)),
        }
    }

    /// How many rows of the merged walk a store reads: one more than
    /// `limit`, to know whether more follow.
    pub fn walk_limit(&self) -> usize {
        self.limit.saturating_add(1)
    }
}

/// What a store answers for an [`AttentionQuery`] (R-LIST-3): the first
/// rows of the merge of its two walks, soonest lapse first (then by id),
/// at most `limit`, and whether more follow.
///
/// Its JSON form: the rows as [`Nomination`]'s serde form, the unreadable
/// rows by id and reason, and whether more follow:
///
/// ```
/// use mci_store::AttentionCandidates;
///
/// assert_eq!(
///     serde_json::to_value(AttentionCandidates::default()).unwrap(),
///     serde_json::json!({"rows": [], "unreadable": [], "more": false}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct AttentionCandidates {
    /// The rows, in `(lapse_at, id)` order.
    pub rows: Vec<Nomination>,
    /// The rows among the first `limit` that could not be read back:
    /// passed over, named, counted against the limit.
    pub unreadable: Vec<Unreadable>,
    /// Whether the list holds more rows than `limit` (readable or not).
    pub more: bool,
}

impl AttentionCandidates {
    /// The answer to `query` from the first rows of its merged walk, in
    /// `(lapse_at, id)` order, each read back or not: at most
    /// [`AttentionQuery::walk_limit`] of them (more are not looked at).
    /// The first `limit` are answered; one more says that more follow.
    pub fn walked(
        query: &AttentionQuery,
        walked: impl IntoIterator<Item = (NominationId, Result<Nomination, String>)>,
    ) -> Self {
        let mut answer = Self::default();
        for (seen, (id, row)) in walked.into_iter().enumerate() {
            if seen >= query.limit {
                answer.more = true;
                break;
            }
            match row {
                Ok(nomination) => answer.rows.push(nomination),
                Err(reason) => answer.unreadable.push(Unreadable { id, reason }),
            }
        }
        answer
    }
}
