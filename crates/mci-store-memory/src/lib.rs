//! The in-memory store of the mci crates.
//!
//! [`MemoryStore`] keeps everything in maps behind one lock, indexed so that
//! a tab page is a range scan of the rows in that tab (plus the few that
//! lapsed and were not yet swept), not a filter over every row. It passes the
//! whole conformance suite of `mci-store`, so it keeps the same contract as
//! the SQLite store: use it in tests, demos and single-process applications
//! that need no durability.
//!
//! ```
//! use std::sync::Arc;
//! use mci_store::{Commit, Store};
//! use mci_store_memory::MemoryStore;
//! # use mci_testkit::*;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
//! let scenario = Scenario::added();
//! let write = mci_store::Write {
//!     nomination: scenario.nomination.clone(),
//!     expected_version: 0,
//!     event: scenario.last_event().clone(),
//!     messages: vec![],
//!     guards: vec![],
//! };
//! store.commit(Commit::at(t0()).with(write)).await.unwrap();
//! let loaded = store.nomination(&partner(1), scenario.nomination.id()).await.unwrap();
//! assert_eq!(loaded.as_ref(), Some(&scenario.nomination));
//! // Another partner does not see it (R-ROLE-2).
//! assert_eq!(store.nomination(&partner(2), scenario.nomination.id()).await.unwrap(), None);
//! # });
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod index;
mod known;

use async_trait::async_trait;
use index::{Index, Indexed, Map};
use known::KnownRows;
use mci_core::{
    AttentionClass, ClaimsOrder, CustomerId, EngagementId, Event, Instant, KnownCustomer,
    MessageId, Nomination, NominationId, PartnerId, PayoutBatch, PayoutBatchId, Standing, State,
    Tab, TokenHash,
};
use mci_store::{
    AttentionCandidates, AttentionQuery, ClaimCounts, ClaimsCursor, ClaimsPage, ClaimsQuery,
    ClaimsScope, Commit, Derived, Due, DueCursor, Fingerprint, Idempotency, IdempotencyKey,
    IdempotentResult, KnownCounts, KnownPage, KnownQuery, KnownToCheck, Leased, Page, PageQuery,
    SettingCondition, SettingKey, SettingValue, StateQuery, Store, StoreError, TabCounts, Write,
    check_guard,
};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

/// The in-memory store. Cheap to create; share it as `Arc<dyn Store>`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything the store holds, in a form two snapshots can be compared
    /// by: tests use it to show that a refused call changed nothing.
    pub fn snapshot(&self) -> Snapshot {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut nominations: Vec<Nomination> = inner
            .rows
            .values()
            .map(|stored| stored.row.nomination.clone())
            .collect();
        nominations.sort_by(|a, b| a.id().cmp(b.id()));
        let mut events: Vec<Event> = inner
            .rows
            .values()
            .flat_map(|stored| &stored.events)
            .cloned()
            .collect();
        events.sort_by_key(|e| (e.nomination, e.version));
        let mut idempotency: Vec<Idempotency> = inner
            .idempotency
            .iter()
            .map(|(key, (fingerprint, result))| Idempotency {
                key: key.clone(),
                fingerprint: *fingerprint,
                result: result.clone(),
            })
            .collect();
        idempotency.sort_by(|a, b| a.key.cmp(&b.key));
        let batches: Vec<PayoutBatch> = inner.batches.values().cloned().collect();
        Snapshot {
            nominations,
            events,
            outbox: inner
                .outbox
                .values()
                .map(|e| (e.message.clone(), e.attempts, e.delivered))
                .collect(),
            idempotency,
            batches,
            settings: inner
                .settings
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        // A panic while the lock was held left the maps as they were before
        // the failed commit (commits change nothing until every check has
        // passed), so the data is still consistent.
        Ok(self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// A comparable copy of everything a [`MemoryStore`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Every nomination, by id.
    pub nominations: Vec<Nomination>,
    /// Every event, by nomination and version.
    pub events: Vec<Event>,
    /// Every outbox message in queue order, with its attempts and whether it
    /// was delivered.
    pub outbox: Vec<(mci_core::Message, u32, bool)>,
    /// Every idempotency record, by key.
    pub idempotency: Vec<Idempotency>,
    /// Every payout batch, by id.
    pub batches: Vec<PayoutBatch>,
    /// Every setting, by key.
    pub settings: Vec<(SettingKey, SettingValue)>,
}

#[derive(Debug)]
struct OutboxEntry {
    message: mci_core::Message,
    available_at: Instant,
    attempts: u32,
    delivered: bool,
}

/// A nomination as the store keeps it: the row the indexes point at, and
/// its history (every write stores a row and an event, so the two live and
/// are found together).
#[derive(Debug)]
struct Stored {
    row: Indexed,
    events: Vec<Event>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Boxed: a row is most of a kilobyte, and a map of boxes moves only
    /// pointers when it grows.
    rows: Map<NominationId, Box<Stored>>,
    index: Index,
    outbox: BTreeMap<u64, OutboxEntry>,
    outbox_available: BTreeSet<(Instant, u64)>,
    outbox_ids: HashMap<MessageId, u64>,
    outbox_next: u64,
    /// Each key's command and first result.
    idempotency: HashMap<IdempotencyKey, (Fingerprint, String)>,
    /// By id, for the keyset pages of [`Store::payout_batches`].
    batches: BTreeMap<PayoutBatchId, PayoutBatch>,
    /// The settings of the embedding application.
    settings: BTreeMap<SettingKey, SettingValue>,
    /// The known customers' rows of each engagement (R-PAGE-9).
    known: KnownRows,
}

impl Inner {
    fn check(&self, commit: &Commit) -> Result<(), StoreError> {
        commit.validate()?;
        if let Some(idempotency) = &commit.idempotency
            && let Some((first, _)) = self.idempotency.get(&idempotency.key)
        {
            return Err(idempotency.refusal(Some(first)));
        }
        for write in &commit.writes {
            let id = write.nomination.id();
            let stored = self.rows.get(id).map(|stored| &stored.row.nomination);
            let found = stored.map(Nomination::version);
            let expected = (write.expected_version > 0).then_some(write.expected_version);
            if found != expected {
                return Err(StoreError::Conflict {
                    nomination: *id,
                    expected: write.expected_version,
                    found,
                });
            }
            if let Some(stored) = stored {
                let new = &write.nomination;
                if stored.partner() != new.partner()
                    || stored.engagement() != new.engagement()
                    || stored.customer().id() != new.customer().id()
                {
                    return Err(StoreError::InvalidCommit(format!(
                        "nomination {id} cannot move to another partner, engagement or customer"
                    )));
                }
            }
        }
        let writes = Writes::of(&commit.writes);
        for (i, write) in commit.writes.iter().enumerate() {
            // A write's guards mostly share one engagement and customer (an
            // add has three): gather the others once per key, not per guard.
            let mut gathered: Option<(GuardKey<'_>, Vec<(&PartnerId, Standing)>)> = None;
            for guard in &write.guards {
                let key = (guard.engagement(), guard.customer());
                let others = match gathered {
                    Some((gathered_key, ref others)) if gathered_key == key => others,
                    _ => &gathered.insert((key, self.others(&writes, i, key))).1,
                };
                check_guard(guard, others.iter().map(|(p, s)| (*p, s)), commit.now)?;
            }
        }
        if let Some(batch) = &commit.payout_batch
            && self.batches.contains_key(&batch.id)
        {
            return Err(StoreError::InvalidCommit(format!(
                "payout batch {} exists",
                batch.id
            )));
        }
        Ok(())
    }

    /// The partners and standings of the nominations of `key` other than
    /// write `i` of `writes`, as they will be with the earlier writes
    /// applied: the stored ones the earlier writes do not replace, then the
    /// earlier writes, in order.
    fn others<'a>(
        &'a self,
        writes: &Writes<'a>,
        i: usize,
        key: GuardKey<'a>,
    ) -> Vec<(&'a PartnerId, Standing)> {
        let (engagement, customer) = key;
        let Some(write) = writes.writes.get(i) else {
            return Vec::new();
        };
        let id = write.nomination.id();
        let mut others = Vec::new();
        for other in self.index.same_customer(engagement, customer) {
            if other == id || writes.is_earlier(other, i) {
                continue;
            }
            if let Some(row) = self.row(other) {
                others.push((row.nomination.partner(), row.derived.standing));
            }
        }
        for earlier in writes.earlier_of(key, i) {
            let n = &earlier.nomination;
            if n.id() != id {
                others.push((n.partner(), n.standing()));
            }
        }
        others
    }

    fn apply(&mut self, commit: Commit) {
        let now = commit.now;
        // What the known rows must learn once the writes are applied: the
        // customers whose standings change, and the customers that become
        // known to a partner.
        let mut restand: Vec<(EngagementId, CustomerId)> = Vec::new();
        let mut newly_known: Vec<(PartnerId, CustomerId)> = Vec::new();
        for write in &commit.writes {
            let n = &write.nomination;
            let customer = *n.customer().id();
            let key = (n.engagement().clone(), customer);
            let before = self.row(n.id()).map(|row| row.derived.standing);
            if before != Some(n.standing()) && !restand.contains(&key) {
                restand.push(key);
            }
            if n.consented_at().is_some() && !self.index.is_known(n.partner(), &customer) {
                newly_known.push((n.partner().clone(), customer));
            }
        }
        self.apply_writes(commit.writes);
        let engagements: Vec<EngagementId> = self.known.engagements().cloned().collect();
        for (partner, customer) in newly_known {
            let Some(known) = self.known_customer(&partner, &customer) else {
                continue;
            };
            for engagement in &engagements {
                let standings = self.standings_of(engagement, &customer);
                self.known.seed(
                    (partner.clone(), engagement.clone(), customer),
                    known.clone(),
                    &standings,
                    now,
                );
            }
        }
        for (engagement, customer) in restand {
            let standings = self.standings_of(&engagement, &customer);
            self.known.replace(&engagement, &customer, &standings, now);
        }
        for kept in commit.answers {
            let known = self.known_customer(&kept.partner, &kept.customer);
            if known.is_none() {
                continue;
            }
            let standings = self.standings_of(&kept.engagement, &kept.customer);
            self.known.keep(
                (kept.partner, kept.engagement, kept.customer),
                known,
                kept.answer,
                &standings,
                now,
            );
        }
        if let Some(batch) = commit.payout_batch {
            self.batches.insert(batch.id, batch);
        }
        if let Some(idempotency) = commit.idempotency {
            self.idempotency.insert(
                idempotency.key,
                (idempotency.fingerprint, idempotency.result),
            );
        }
    }

    /// The partner and standing of every nomination of `customer` for
    /// `engagement`.
    fn standings_of(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Vec<(PartnerId, Standing)> {
        self.index
            .same_customer(engagement, customer)
            .filter_map(|id| self.row(id))
            .map(|row| (row.nomination.partner().clone(), row.derived.standing))
            .collect()
    }

    /// `customer` as known to `partner`, if it is.
    fn known_customer(&self, partner: &PartnerId, customer: &CustomerId) -> Option<KnownCustomer> {
        let through = self.index.known_through(partner, customer)?;
        let row = self.row(through)?;
        Some(KnownCustomer {
            customer: row.nomination.customer().clone(),
            through: *through,
        })
    }

    fn apply_writes(&mut self, writes: Vec<Write>) {
        for write in writes {
            let id = *write.nomination.id();
            let row = Indexed {
                derived: Derived::of(&write.nomination),
                nomination: write.nomination,
            };
            match self.rows.entry(id) {
                Entry::Occupied(mut entry) => {
                    let stored = entry.get_mut();
                    self.index.remove(&stored.row);
                    self.index.insert(&row);
                    stored.row = row;
                    stored.events.push(write.event);
                }
                Entry::Vacant(entry) => {
                    self.index.insert(&row);
                    entry.insert(Box::new(Stored {
                        row,
                        events: vec![write.event],
                    }));
                }
            }
            for message in write.messages {
                if self.outbox_ids.contains_key(&message.id) {
                    continue;
                }
                let seq = self.outbox_next;
                self.outbox_next += 1;
                self.outbox_ids.insert(message.id, seq);
                self.outbox_available.insert((message.queued_at, seq));
                self.outbox.insert(
                    seq,
                    OutboxEntry {
                        available_at: message.queued_at,
                        message,
                        attempts: 0,
                        delivered: false,
                    },
                );
            }
        }
    }

    /// The row of `id`.
    fn row(&self, id: &NominationId) -> Option<&Indexed> {
        self.rows.get(id).map(|stored| &stored.row)
    }

    fn nominations(&self, ids: impl IntoIterator<Item = NominationId>) -> Vec<Nomination> {
        ids.into_iter()
            .filter_map(|id| self.row(&id).map(|row| row.nomination.clone()))
            .collect()
    }

    fn lapsed(&self, id: &NominationId, now: Instant) -> bool {
        self.row(id)
            .and_then(|row| row.derived.placement.lapse_at)
            .is_some_and(|lapse| now >= lapse)
    }

    /// The counts of the tabs at `now` (R-PAGE-9): each tab's counter (the
    /// length of its set of ids), corrected by the lapses not yet swept,
    /// each counted in the tab it lapses into instead of the tab it is
    /// stored in. What it reads grows with the unswept lapses, not with the
    /// partner's rows.
    fn count(&self, partner: &PartnerId, engagement: &EngagementId, now: Instant) -> TabCounts {
        let mut counts = TabCounts::default();
        for tab in Tab::ALL {
            let stored = self.index.stored_in_tab(partner, engagement, tab);
            counts.add(Some(tab), u64::try_from(stored).unwrap_or(u64::MAX));
        }
        for id in self.index.unswept_lapses(partner, engagement, now) {
            if let Some(row) = self.row(&id) {
                let placement = row.derived.placement;
                counts.lapse(placement.tab, placement.tab_after_lapse);
            }
        }
        counts
    }

    /// The first rows of the walk of a Claims page (R-LIST-1), at most its
    /// walk limit: the rows stored on the query's shelf, newest first after
    /// the cursor (passing over those lapsed at `now` where a lapse changes
    /// a row's state or order), merged with the lapses not yet swept onto
    /// the shelf, each at its key at `now`.
    fn claims(&self, query: &ClaimsQuery) -> ClaimsPage {
        let lists = self.index.claims_lists(
            query.scope.partner(),
            query.engagement.as_ref(),
            query.state,
        );
        let Some(lists) = lists else {
            return ClaimsPage::scanned(query, []);
        };
        let now = query.now;
        let upper = query.after.map(|c| (c.at, c.id));
        // In the created order with no state, a lapse changes nothing.
        let lapses_count = query.state.is_some() || query.order == ClaimsOrder::Changed;
        let set = match query.order {
            ClaimsOrder::Created => &lists.created,
            ClaimsOrder::Changed => &lists.changed,
        };
        let range = match upper {
            Some(upper) => set.range(..upper),
            None => set.range(..),
        };
        let stored = range
            .rev()
            .copied()
            .filter(|(_, id)| !lapses_count || !self.lapsed(id, now));
        let mut lapsed: Vec<(Instant, NominationId)> = Vec::new();
        if lapses_count {
            for (lapse, id) in lists.lapse.iter().take_while(|(at, _)| *at <= now) {
                let key = match query.order {
                    ClaimsOrder::Created => match self.row(id) {
                        Some(row) => row.nomination.created_at(),
                        None => continue,
                    },
                    ClaimsOrder::Changed => *lapse,
                };
                if upper.is_none_or(|upper| (key, *id) < upper) {
                    lapsed.push((key, *id));
                }
            }
            lapsed.sort_unstable_by(|a, b| b.cmp(a));
        }
        let walked = merge_descending(stored, lapsed.into_iter(), query.walk_limit());
        // A row in memory always reads back. Each is cloned as the page
        // asks for it: a search whose page is full clones no more.
        let found = walked.into_iter().filter_map(|(at, id)| {
            let row = self.row(&id)?;
            Some((ClaimsCursor { at, id }, Ok(row.nomination.clone())))
        });
        ClaimsPage::scanned(query, found)
    }

    /// The counts of each state of a Claims page at `now` (R-LIST-1): the
    /// length of each state's shelf, corrected by the lapses not yet swept,
    /// each counted in the state it lapses into.
    fn claim_counts(
        &self,
        scope: &ClaimsScope,
        engagement: Option<&EngagementId>,
        now: Instant,
    ) -> ClaimCounts {
        let partner = scope.partner();
        let mut counts = ClaimCounts::default();
        for state in State::ALL {
            if let Some(lists) = self.index.claims_lists(partner, engagement, Some(state)) {
                counts.add(
                    state,
                    u64::try_from(lists.created.len()).unwrap_or(u64::MAX),
                );
            }
        }
        if let Some(any) = self.index.claims_lists(partner, engagement, None) {
            for (_, id) in any.lapse.iter().take_while(|(at, _)| *at <= now) {
                if let Some(row) = self.row(id) {
                    let placement = row.nomination.claims_placement();
                    if let Some(after) = placement.state_after_lapse {
                        counts.lapse(placement.state, after);
                    }
                }
            }
        }
        counts
    }

    /// The ids in `tab` at `now` after `after`, in id order, at most `limit`:
    /// the rows stored in the tab that have not lapsed, merged with the rows
    /// that lapsed into it and were not yet swept.
    fn tab_ids(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        tab: Tab,
        now: Instant,
        after: Option<&NominationId>,
        limit: usize,
    ) -> Vec<NominationId> {
        let stored = self
            .index
            .in_tab(partner, engagement, tab, after)
            .filter(|id| !self.lapsed(id, now));
        let mut lapsed_into: Vec<NominationId> = self
            .index
            .lapsed_into(partner, engagement, tab, now)
            .filter(|id| after.is_none_or(|after| id > after))
            .collect();
        lapsed_into.sort_unstable();
        merge_ascending(stored, lapsed_into.into_iter(), limit)
    }
}

/// The engagement and customer of a guard.
type GuardKey<'a> = (&'a EngagementId, &'a CustomerId);

/// The writes of a commit, found by id and by engagement and customer: a
/// guard check asks which of the writes before its own replace a stored
/// nomination and which join its customer, and asking every earlier write
/// would make a commit of many writes quadratic. A commit of one write (an
/// add, a change) has no earlier writes and builds no maps.
struct Writes<'a> {
    writes: &'a [Write],
    /// id → position, for commits of more than one write.
    position: Map<&'a NominationId, usize>,
    /// (engagement, customer) → positions, ascending.
    by_customer: Map<GuardKey<'a>, Vec<usize>>,
}

impl<'a> Writes<'a> {
    fn of(writes: &'a [Write]) -> Self {
        let mut found = Self {
            writes,
            position: Map::default(),
            by_customer: Map::default(),
        };
        if writes.len() > 1 {
            for (i, write) in writes.iter().enumerate() {
                let n = &write.nomination;
                found.position.insert(n.id(), i);
                found
                    .by_customer
                    .entry((n.engagement(), n.customer().id()))
                    .or_default()
                    .push(i);
            }
        }
        found
    }

    /// Whether `id` is written before write `i`.
    fn is_earlier(&self, id: &NominationId, i: usize) -> bool {
        self.position.get(id).is_some_and(|&at| at < i)
    }

    /// The writes before write `i` of nominations of `key`, in order.
    fn earlier_of(&self, key: GuardKey<'a>, i: usize) -> impl Iterator<Item = &'a Write> + '_ {
        self.by_customer
            .get(&key)
            .into_iter()
            .flatten()
            .take_while(move |&&at| at < i)
            .filter_map(|&at| self.writes.get(at))
    }
}

/// The first `limit` keys of two ascending streams, merged, least first.
fn merge_ascending<K: Ord>(
    a: impl Iterator<Item = K>,
    b: impl Iterator<Item = K>,
    limit: usize,
) -> Vec<K> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    let mut out = Vec::with_capacity(limit.min(1024));
    while out.len() < limit {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x <= y => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => None,
        };
        match next {
            Some(key) => out.push(key),
            None => break,
        }
    }
    out
}

/// The first `limit` keys of two descending streams, merged, greatest
/// first.
fn merge_descending(
    a: impl Iterator<Item = (Instant, NominationId)>,
    b: impl Iterator<Item = (Instant, NominationId)>,
    limit: usize,
) -> Vec<(Instant, NominationId)> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    let mut out = Vec::with_capacity(limit.min(1024));
    while out.len() < limit {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x >= y => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => None,
        };
        match next {
            Some(key) => out.push(key),
            None => break,
        }
    }
    out
}

/// Sets the outbox's gauges as a take at `now` finds `pending`, the
/// messages not yet acknowledged by the instant they are available from:
/// how many, and how long the one available the longest has waited (0
/// when every one is leased).
fn observe_pending(pending: &BTreeSet<(Instant, u64)>, now: Instant) {
    use mci_store::observe::{OUTBOX_BACKLOG, OUTBOX_OLDEST_PENDING_SECONDS};
    let waited = pending.first().map_or(0.0, |(at, _)| {
        now.signed_duration_since(*at)
            .to_std()
            .map_or(0.0, |waited| waited.as_secs_f64())
    });
    metrics::gauge!(OUTBOX_BACKLOG, "store" => "memory").set(pending.len() as f64);
    metrics::gauge!(OUTBOX_OLDEST_PENDING_SECONDS, "store" => "memory").set(waited);
}

#[async_trait]
impl Store for MemoryStore {
    fn backend_name(&self) -> &'static str {
        "memory"
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        inner.check(&commit)?;
        inner.apply(commit);
        Ok(())
    }

    async fn nomination(
        &self,
        partner: &PartnerId,
        id: &NominationId,
    ) -> Result<Option<Nomination>, StoreError> {
        Ok(self
            .lock()?
            .row(id)
            .filter(|row| row.nomination.partner() == partner)
            .map(|row| row.nomination.clone()))
    }

    async fn nomination_by_id(&self, id: &NominationId) -> Result<Option<Nomination>, StoreError> {
        Ok(self.lock()?.row(id).map(|row| row.nomination.clone()))
    }

    async fn nomination_by_link(&self, hash: &TokenHash) -> Result<Option<Nomination>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .index
            .by_link(hash)
            .and_then(|id| inner.row(id))
            .map(|row| row.nomination.clone()))
    }

    async fn standings(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<Vec<(PartnerId, Standing)>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .index
            .same_customer(engagement, customer)
            .filter_map(|id| inner.row(id))
            .map(|row| (row.nomination.partner().clone(), row.derived.standing))
            .collect())
    }

    async fn rivals(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<Vec<Nomination>, StoreError> {
        let inner = self.lock()?;
        Ok(inner.nominations(inner.index.same_customer(engagement, customer).copied()))
    }

    async fn page(&self, query: &PageQuery) -> Result<Page, StoreError> {
        let inner = self.lock()?;
        let ids = inner.tab_ids(
            &query.partner,
            &query.engagement,
            query.tab,
            query.now,
            query.after.as_ref(),
            query.limit,
        );
        Ok(Page::new(inner.nominations(ids), query.limit))
    }

    async fn count(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> Result<TabCounts, StoreError> {
        Ok(self.lock()?.count(partner, engagement, now))
    }

    async fn claims(&self, query: &ClaimsQuery) -> Result<ClaimsPage, StoreError> {
        Ok(self.lock()?.claims(query))
    }

    async fn claim_counts(
        &self,
        scope: &ClaimsScope,
        engagement: Option<&EngagementId>,
        now: Instant,
    ) -> Result<ClaimCounts, StoreError> {
        Ok(self.lock()?.claim_counts(scope, engagement, now))
    }

    async fn known_customers(
        &self,
        partner: &PartnerId,
        after: Option<&CustomerId>,
        limit: usize,
    ) -> Result<Vec<KnownCustomer>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .index
            .known(partner, after)
            .take(limit)
            .filter_map(|(_, id)| inner.row(id))
            .map(|row| KnownCustomer {
                customer: row.nomination.customer().clone(),
                through: *row.nomination.id(),
            })
            .collect())
    }

    async fn known_page(&self, query: &KnownQuery) -> Result<KnownPage, StoreError> {
        let inner = self.lock()?;
        let standings = |e: &EngagementId, c: &CustomerId| inner.standings_of(e, c);
        Ok(inner.known.page(
            (&query.partner, &query.engagement),
            query.tab,
            query.now,
            query.after.as_ref(),
            query.limit,
            &standings,
        ))
    }

    async fn known_counts(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> Result<KnownCounts, StoreError> {
        let inner = self.lock()?;
        let standings = |e: &EngagementId, c: &CustomerId| inner.standings_of(e, c);
        Ok(inner.known.counts(partner, engagement, now, &standings))
    }

    async fn seed_known(
        &self,
        engagement: &EngagementId,
        now: Instant,
        limit: usize,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        let (done, after) = inner.known.seeding(engagement);
        if done {
            return Ok(true);
        }
        let batch = inner.index.known_after_limited(after.as_ref(), limit);
        let done = batch.len() < limit;
        let last = batch.last().map(|(p, c, _)| (p.clone(), *c));
        for (partner, customer, through) in batch {
            let key = (partner, engagement.clone(), customer);
            if inner.known.has(&key) {
                continue;
            }
            let Some(row) = inner.row(&through) else {
                continue;
            };
            let known = KnownCustomer {
                customer: row.nomination.customer().clone(),
                through,
            };
            let standings = inner.standings_of(engagement, &customer);
            inner.known.seed(key, known, &standings, now);
        }
        inner.known.seeded(engagement, last.or(after), done);
        Ok(done)
    }

    async fn known_to_check(
        &self,
        older_than: Instant,
        limit: usize,
    ) -> Result<Vec<KnownToCheck>, StoreError> {
        Ok(self.lock()?.known.to_check(older_than, limit))
    }

    async fn by_state(&self, query: &StateQuery) -> Result<Page, StoreError> {
        let inner = self.lock()?;
        let mut ids: Vec<NominationId> = Vec::new();
        for state in &query.states {
            ids.extend(
                inner
                    .index
                    .in_state(query.partner.as_ref(), *state, query.after.as_ref())
                    .filter(|id| !inner.lapsed(id, query.now))
                    .take(query.limit),
            );
        }
        ids.sort_unstable();
        ids.dedup();
        ids.truncate(query.limit);
        Ok(Page::new(inner.nominations(ids), query.limit))
    }

    async fn lapsing(
        &self,
        partner: &PartnerId,
        now: Instant,
        until: Instant,
        limit: usize,
    ) -> Result<Vec<Nomination>, StoreError> {
        let inner = self.lock()?;
        let ids: Vec<NominationId> = inner
            .index
            .lapsing(partner, now, until)
            .take(limit)
            .collect();
        Ok(inner.nominations(ids))
    }

    async fn attention(&self, query: &AttentionQuery) -> Result<AttentionCandidates, StoreError> {
        let inner = self.lock()?;
        let walk = |class| {
            inner
                .index
                .attention(&query.partner, class, query.range(class))
                .take(query.walk_limit())
        };
        let merged = merge_ascending(
            walk(AttentionClass::Always),
            walk(AttentionClass::WithinWindow),
            query.walk_limit(),
        );
        Ok(AttentionCandidates::walked(
            query,
            merged
                .into_iter()
                .filter_map(|(_, id)| inner.row(&id).map(|row| (id, Ok(row.nomination.clone())))),
        ))
    }

    async fn history(&self, id: &NominationId) -> Result<Vec<Event>, StoreError> {
        Ok(self
            .lock()?
            .rows
            .get(id)
            .map(|stored| stored.events.clone())
            .unwrap_or_default())
    }

    async fn due(
        &self,
        now: Instant,
        after: Option<DueCursor>,
        limit: usize,
    ) -> Result<Due, StoreError> {
        let inner = self.lock()?;
        let keys: Vec<(Instant, NominationId)> = inner
            .index
            .due(now, after.map(|c| (c.wake_at, c.id)))
            .take(limit)
            .collect();
        // A row in memory always reads back.
        let found = keys.into_iter().filter_map(|(wake_at, id)| {
            let row = inner.row(&id)?;
            Some((DueCursor { wake_at, id }, Ok(row.nomination.clone())))
        });
        Ok(Due::scanned(found.collect::<Vec<_>>(), limit))
    }

    async fn take_messages(
        &self,
        now: Instant,
        lease_until: Instant,
        limit: usize,
    ) -> Result<Vec<Leased>, StoreError> {
        let mut inner = self.lock()?;
        observe_pending(&inner.outbox_available, now);
        let taken: Vec<(Instant, u64)> = inner
            .outbox_available
            .range(..=(now, u64::MAX))
            .take(limit)
            .copied()
            .collect();
        let mut leased = Vec::with_capacity(taken.len());
        for key in taken {
            inner.outbox_available.remove(&key);
            inner.outbox_available.insert((lease_until, key.1));
            if let Some(entry) = inner.outbox.get_mut(&key.1) {
                entry.available_at = lease_until;
                entry.attempts = entry.attempts.saturating_add(1);
                leased.push(Leased {
                    message: entry.message.clone(),
                    attempt: entry.attempts,
                });
            }
        }
        Ok(leased)
    }

    async fn acknowledge(&self, ids: &[MessageId]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        for id in ids {
            let Some(seq) = inner.outbox_ids.get(id).copied() else {
                continue;
            };
            let Some(entry) = inner.outbox.get_mut(&seq) else {
                continue;
            };
            if entry.delivered {
                continue;
            }
            entry.delivered = true;
            let key = (entry.available_at, seq);
            inner.outbox_available.remove(&key);
        }
        Ok(())
    }

    async fn idempotent_result(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotentResult>, StoreError> {
        Ok(self
            .lock()?
            .idempotency
            .get(key)
            .map(|(fingerprint, result)| IdempotentResult {
                fingerprint: Some(*fingerprint),
                result: result.clone(),
            }))
    }

    async fn payout_batch(&self, id: &PayoutBatchId) -> Result<Option<PayoutBatch>, StoreError> {
        Ok(self.lock()?.batches.get(id).cloned())
    }

    async fn payout_batches(
        &self,
        after: Option<&PayoutBatchId>,
        limit: usize,
    ) -> Result<Vec<PayoutBatch>, StoreError> {
        let inner = self.lock()?;
        let from = match after {
            Some(after) => std::ops::Bound::Excluded(*after),
            None => std::ops::Bound::Unbounded,
        };
        Ok(inner
            .batches
            .range((from, std::ops::Bound::Unbounded))
            .take(limit)
            .map(|(_, batch)| batch.clone())
            .collect())
    }

    async fn setting(&self, key: &SettingKey) -> Result<Option<SettingValue>, StoreError> {
        Ok(self.lock()?.settings.get(key).cloned())
    }

    async fn put_setting(
        &self,
        key: &SettingKey,
        value: &SettingValue,
        condition: &SettingCondition,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let stored = inner.settings.get(key);
        if !condition.admits(stored) {
            return Err(StoreError::SettingChanged {
                key: key.clone(),
                found: stored.cloned(),
            });
        }
        inner.settings.insert(key.clone(), value.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The guards of a commit of several writes: each write's guards see the
    //! writes before it, as the store's contract says, whichever way the
    //! store finds them.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use mci_core::{Candidate, Engagement, Outcome, nominate};
    use mci_testkit::{admin, eligible_facts, nomination_id, nomination_request, t0, workshop};

    /// Contoso added to `engagement` by the admin, as nomination `n`.
    fn add(engagement: &Engagement, n: u64) -> Outcome {
        let candidates = [Candidate {
            engagement,
            facts: eligible_facts(),
        }];
        nominate(t0(), &admin(), nomination_request(), &candidates, || {
            nomination_id(n)
        })
        .unwrap()
        .remove(0)
    }

    fn commit(outcomes: Vec<Outcome>) -> Commit {
        Commit {
            writes: outcomes.into_iter().map(Write::from).collect(),
            ..Commit::at(t0())
        }
    }

    #[tokio::test]
    async fn a_write_sees_the_writes_before_it() {
        let (engagement, _) = workshop();
        let store = MemoryStore::new();
        let twice = commit(vec![add(&engagement, 1), add(&engagement, 2)]);
        let err = store.commit(twice).await.unwrap_err();
        assert!(matches!(err, StoreError::GuardViolated { .. }), "{err:?}");
        assert_eq!(store.snapshot().nominations, vec![]);
    }

    #[tokio::test]
    async fn an_earlier_write_replaces_the_stored_nomination() {
        let (engagement, _) = workshop();
        let store = MemoryStore::new();
        let first = add(&engagement, 1);
        store.commit(commit(vec![first.clone()])).await.unwrap();
        let cancelled = first.nomination.cancel(t0(), &admin()).unwrap();

        // Adding again before the cancel sees the stored nomination live.
        let add_first = commit(vec![add(&engagement, 2), cancelled.clone()]);
        let err = store.commit(add_first).await.unwrap_err();
        assert!(matches!(err, StoreError::GuardViolated { .. }), "{err:?}");

        // After it, the cancelled one, which no longer counts.
        let cancel_first = commit(vec![cancelled, add(&engagement, 2)]);
        store.commit(cancel_first).await.unwrap();
        assert_eq!(store.snapshot().nominations.len(), 2);
    }
}
