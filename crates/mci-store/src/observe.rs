//! What the stores tell an operator: the names of their metrics and how
//! their operations' spans end.
//!
//! The stores emit metrics through the [`metrics`](https://docs.rs/metrics)
//! facade and spans through [`tracing`](https://docs.rs/tracing); neither
//! installs a recorder or a subscriber, so both cost next to nothing until
//! the application installs one. The names below are the ones every store
//! uses; the table of `mci_engagements::observability` gives each one's
//! type, unit and labels, with those of the service.
//!
//! [`Observed`] wraps any store and gives each of its operations a span and
//! the metrics [`OPERATION_SECONDS`] and [`OPERATIONS_TOTAL`];
//! `mci_engagements::Incentives` wraps the store it is built with. A store
//! operation's span is named `store.<method>`, records the fields
//! `store` (`"sqlite"`, `"postgres"`, `"memory"`), the partner and the
//! nomination where the operation names them, and, once it is answered,
//! `outcome` and `rule` ([`record_outcome`]). It never records a token, a
//! link's hash, a customer, or a contact's details (R-TOKEN-5).
//!
//! ```
//! use std::sync::Arc;
//! use mci_store::{Store, StoreError};
//! use mci_store::observe::{Observed, outcome_of};
//!
//! // Any store, observed: each call is a `store.<method>` span.
//! fn observed(store: Arc<dyn Store>) -> Arc<dyn Store> {
//!     Arc::new(Observed::new(store))
//! }
//! let refused: Result<(), StoreError> = Err(StoreError::IdempotencyKeyUsed);
//! assert_eq!(outcome_of(&refused), "idempotency");
//! ```

use crate::{
    AttentionCandidates, AttentionQuery, ClaimCounts, ClaimsPage, ClaimsQuery, ClaimsScope, Commit,
    Due, DueCursor, IdempotencyKey, IdempotentResult, KnownCounts, KnownPage, KnownQuery,
    KnownToCheck, Leased, Page, PageQuery, SettingCondition, SettingKey, SettingValue, StateQuery,
    Store, StoreError, TabCounts,
};
use async_trait::async_trait;
use mci_core::{
    CustomerId, EngagementId, Event, Instant, KnownCustomer, MessageId, Nomination, NominationId,
    PartnerId, PayoutBatch, PayoutBatchId, Standing, TokenHash,
};
use std::sync::Arc;
use tracing::Instrument;

/// Histogram, seconds, labels `store`, `operation`: how long a store
/// operation took, from the call to its answer.
pub const OPERATION_SECONDS: &str = "mci_store_operation_seconds";
/// Counter, labels `store`, `operation`, `outcome`: store operations
/// answered, by [`outcome_of`].
pub const OPERATIONS_TOTAL: &str = "mci_store_operations_total";
/// Histogram, seconds, label `store`: how long a commit took to be
/// written, from the start of its transaction to its end (for SQLite, the
/// transaction of its whole group).
pub const COMMIT_SECONDS: &str = "mci_store_commit_seconds";
/// Histogram, commits, label `store`: how many commits one transaction
/// wrote (SQLite's group commit; 1 elsewhere).
pub const COMMIT_GROUP_SIZE: &str = "mci_store_commit_group_size";
/// Counter, label `store`: transactions the store ran again by itself
/// after a serialization failure or a deadlock (PostgreSQL).
pub const TRANSACTION_RETRIES_TOTAL: &str = "mci_store_transaction_retries_total";
/// Counter, label `store`: operations that failed because the database
/// stayed locked or contended past the store's own retries (SQLite's
/// `SQLITE_BUSY`, PostgreSQL's contention after its retries).
pub const BUSY_TOTAL: &str = "mci_store_busy_total";
/// Gauge, messages, label `store`: outbox messages not yet acknowledged,
/// as of the last `take_messages`.
pub const OUTBOX_BACKLOG: &str = "mci_store_outbox_backlog";
/// Gauge, seconds, label `store`: how long the oldest message not yet
/// acknowledged has been waiting, as of the last `take_messages` (0 when
/// none waits).
pub const OUTBOX_OLDEST_PENDING_SECONDS: &str = "mci_store_outbox_oldest_pending_seconds";
/// Gauge, jobs, no label: commits and other writes waiting for SQLite's
/// writer thread.
pub const SQLITE_WRITER_QUEUE_DEPTH: &str = "mci_sqlite_writer_queue_depth";
/// Gauge, jobs, no label: reads waiting for one of SQLite's reader threads.
pub const SQLITE_READER_QUEUE_DEPTH: &str = "mci_sqlite_reader_queue_depth";
/// Gauge, bytes, no label: the length of SQLite's WAL after the last group.
pub const SQLITE_WAL_BYTES: &str = "mci_sqlite_wal_bytes";
/// Counter, label `mode` (`passive`, `restart`, `truncate`, `close`):
/// checkpoints that failed with an error (not those a read merely kept
/// from finishing, which the next checkpoint completes).
pub const SQLITE_CHECKPOINT_FAILURES_TOTAL: &str = "mci_sqlite_checkpoint_failures_total";
/// Counter, label `thread` (`writer`, `reader`, `checkpointer`): failures
/// of SQLite's background threads: a panic, or a connection that failed to
/// close or to roll back.
pub const SQLITE_THREAD_FAILURES_TOTAL: &str = "mci_sqlite_thread_failures_total";

/// A short, fixed word for how a store operation ended, for the `outcome`
/// field of its span and label of its metrics: `ok`, `conflict`, `guard`,
/// `idempotency`, `unreadable`, `invalid`, `unavailable` or `backend`. It
/// never carries any content of the operation.
pub fn outcome_of<T>(result: &Result<T, StoreError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(StoreError::Conflict { .. } | StoreError::SettingChanged { .. }) => "conflict",
        Err(StoreError::GuardViolated { .. }) => "guard",
        Err(StoreError::IdempotencyKeyUsed | StoreError::IdempotencyKeyMismatch { .. }) => {
            "idempotency"
        }
        Err(StoreError::Unreadable { .. }) => "unreadable",
        Err(StoreError::InvalidCommit(_)) => "invalid",
        Err(StoreError::Unavailable(_)) => "unavailable",
        Err(StoreError::Backend(_)) => "backend",
    }
}

/// Records on the current span how `result` ended: `outcome`
/// ([`outcome_of`]) and, for a refusal, the `rule` it names. Declare both
/// fields on the span (`outcome = tracing::field::Empty`); a span without
/// them is left as it is.
pub fn record_outcome<T>(result: &Result<T, StoreError>) {
    let span = tracing::Span::current();
    span.record("outcome", outcome_of(result));
    if let Err(error) = result
        && let Some(rule) = error.rule()
    {
        span.record("rule", rule);
    }
}

/// A store whose every operation runs in a `store.<method>` span (at the
/// `DEBUG` level) and is measured: [`OPERATION_SECONDS`] and
/// [`OPERATIONS_TOTAL`], labelled with the store's
/// [`backend_name`](Store::backend_name), the operation and its outcome.
/// It answers exactly what the store it wraps answers.
///
/// The span records the store, the partner and the nomination where the
/// operation names them, the number of writes of a commit and the limit
/// of a read, then `outcome` and `rule` ([`record_outcome`]). Nothing else
/// of the arguments is recorded: no link hash, customer, contact or
/// message (R-TOKEN-5).
pub struct Observed {
    inner: Arc<dyn Store>,
    name: &'static str,
}

impl std::fmt::Debug for Observed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observed")
            .field("store", &self.name)
            .finish_non_exhaustive()
    }
}

impl Observed {
    /// Observes `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        let name = store.backend_name();
        Observed { inner: store, name }
    }

    /// The store observed.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    /// Runs `operation` inside `span`, measured.
    async fn observe<T>(
        &self,
        operation: &'static str,
        span: tracing::Span,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let mut timed = Timed {
            store: self.name,
            operation,
            started: std::time::Instant::now(),
            outcome: "dropped",
        };
        let result = async {
            let result = call.await;
            record_outcome(&result);
            result
        }
        .instrument(span)
        .await;
        timed.outcome = outcome_of(&result);
        result
    }
}

/// Measures one operation; on drop, so that a caller that stops waiting
/// is counted too (as `dropped`).
struct Timed {
    store: &'static str,
    operation: &'static str,
    started: std::time::Instant,
    outcome: &'static str,
}

impl Drop for Timed {
    fn drop(&mut self) {
        let labels = [("store", self.store), ("operation", self.operation)];
        metrics::histogram!(OPERATION_SECONDS, &labels).record(self.started.elapsed());
        let labels = [
            ("store", self.store),
            ("operation", self.operation),
            ("outcome", self.outcome),
        ];
        metrics::counter!(OPERATIONS_TOTAL, &labels).increment(1);
    }
}

/// A span for operation `$op` of the store `$self` observes, with the
/// fields every operation records and those given.
macro_rules! op_span {
    ($self:ident, $op:literal $(, $($field:tt)+)?) => {
        tracing::debug_span!(
            concat!("store.", $op),
            store = $self.name,
            outcome = tracing::field::Empty,
            rule = tracing::field::Empty
            $(, $($field)+)?
        )
    };
}

#[async_trait]
impl Store for Observed {
    fn backend_name(&self) -> &'static str {
        self.name
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let span = op_span!(
            self,
            "commit",
            writes = commit.writes.len(),
            nomination = commit
                .writes
                .first()
                .map(|w| tracing::field::display(w.nomination.id())),
            payout_batch = commit.payout_batch.is_some(),
            answers = commit.answers.len()
        );
        self.observe("commit", span, self.inner.commit(commit))
            .await
    }

    async fn nomination(
        &self,
        partner: &PartnerId,
        id: &NominationId,
    ) -> Result<Option<Nomination>, StoreError> {
        let span = op_span!(self, "nomination", partner = partner.as_str(), nomination = %id);
        self.observe("nomination", span, self.inner.nomination(partner, id))
            .await
    }

    async fn nomination_by_id(&self, id: &NominationId) -> Result<Option<Nomination>, StoreError> {
        let span = op_span!(self, "nomination_by_id", nomination = %id);
        self.observe("nomination_by_id", span, self.inner.nomination_by_id(id))
            .await
    }

    async fn nomination_by_link(&self, hash: &TokenHash) -> Result<Option<Nomination>, StoreError> {
        // Neither the token nor its hash is recorded (R-TOKEN-5).
        let span = op_span!(self, "nomination_by_link");
        self.observe(
            "nomination_by_link",
            span,
            self.inner.nomination_by_link(hash),
        )
        .await
    }

    async fn standings(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<Vec<(PartnerId, Standing)>, StoreError> {
        let span = op_span!(self, "standings", engagement = engagement.as_str());
        self.observe(
            "standings",
            span,
            self.inner.standings(engagement, customer),
        )
        .await
    }

    async fn rivals(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<Vec<Nomination>, StoreError> {
        let span = op_span!(self, "rivals", engagement = engagement.as_str());
        self.observe("rivals", span, self.inner.rivals(engagement, customer))
            .await
    }

    async fn page(&self, query: &PageQuery) -> Result<Page, StoreError> {
        let span = op_span!(
            self,
            "page",
            partner = query.partner.as_str(),
            engagement = query.engagement.as_str(),
            limit = query.limit
        );
        self.observe("page", span, self.inner.page(query)).await
    }

    async fn count(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> Result<TabCounts, StoreError> {
        let span = op_span!(
            self,
            "count",
            partner = partner.as_str(),
            engagement = engagement.as_str()
        );
        self.observe("count", span, self.inner.count(partner, engagement, now))
            .await
    }

    async fn claims(&self, query: &ClaimsQuery) -> Result<ClaimsPage, StoreError> {
        // The search is not recorded: it may hold a customer or a domain
        // (R-TOKEN-5).
        let span = op_span!(
            self,
            "claims",
            partner = query.scope.partner().map(|p| p.as_str()),
            engagement = query.engagement.as_ref().map(|e| e.as_str()),
            order = %query.order,
            searched = query.search.is_some(),
            limit = query.limit
        );
        self.observe("claims", span, self.inner.claims(query)).await
    }

    async fn claim_counts(
        &self,
        scope: &ClaimsScope,
        engagement: Option<&EngagementId>,
        now: Instant,
    ) -> Result<ClaimCounts, StoreError> {
        let span = op_span!(
            self,
            "claim_counts",
            partner = scope.partner().map(|p| p.as_str()),
            engagement = engagement.map(|e| e.as_str())
        );
        self.observe(
            "claim_counts",
            span,
            self.inner.claim_counts(scope, engagement, now),
        )
        .await
    }

    async fn known_customers(
        &self,
        partner: &PartnerId,
        after: Option<&CustomerId>,
        limit: usize,
    ) -> Result<Vec<KnownCustomer>, StoreError> {
        let span = op_span!(
            self,
            "known_customers",
            partner = partner.as_str(),
            limit = limit
        );
        self.observe(
            "known_customers",
            span,
            self.inner.known_customers(partner, after, limit),
        )
        .await
    }

    async fn known_page(&self, query: &KnownQuery) -> Result<KnownPage, StoreError> {
        let span = op_span!(
            self,
            "known_page",
            partner = query.partner.as_str(),
            engagement = query.engagement.as_str(),
            limit = query.limit
        );
        self.observe("known_page", span, self.inner.known_page(query))
            .await
    }

    async fn known_counts(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> Result<KnownCounts, StoreError> {
        let span = op_span!(
            self,
            "known_counts",
            partner = partner.as_str(),
            engagement = engagement.as_str()
        );
        self.observe(
            "known_counts",
            span,
            self.inner.known_counts(partner, engagement, now),
        )
        .await
    }

    async fn seed_known(
        &self,
        engagement: &EngagementId,
        now: Instant,
        limit: usize,
    ) -> Result<bool, StoreError> {
        let span = op_span!(
            self,
            "seed_known",
            engagement = engagement.as_str(),
            limit = limit
        );
        self.observe(
            "seed_known",
            span,
            self.inner.seed_known(engagement, now, limit),
        )
        .await
    }

    async fn known_to_check(
        &self,
        older_than: Instant,
        limit: usize,
    ) -> Result<Vec<KnownToCheck>, StoreError> {
        let span = op_span!(self, "known_to_check", limit = limit);
        self.observe(
            "known_to_check",
            span,
            self.inner.known_to_check(older_than, limit),
        )
        .await
    }

    async fn by_state(&self, query: &StateQuery) -> Result<Page, StoreError> {
        let span = op_span!(
            self,
            "by_state",
            partner = query.partner.as_ref().map(PartnerId::as_str),
            limit = query.limit
        );
        self.observe("by_state", span, self.inner.by_state(query))
            .await
    }

    async fn lapsing(
        &self,
        partner: &PartnerId,
        now: Instant,
        until: Instant,
        limit: usize,
    ) -> Result<Vec<Nomination>, StoreError> {
        let span = op_span!(self, "lapsing", partner = partner.as_str(), limit = limit);
        self.observe(
            "lapsing",
            span,
            self.inner.lapsing(partner, now, until, limit),
        )
        .await
    }

    async fn attention(&self, query: &AttentionQuery) -> Result<AttentionCandidates, StoreError> {
        let span = op_span!(
            self,
            "attention",
            partner = query.partner.as_str(),
            limit = query.limit
        );
        self.observe("attention", span, self.inner.attention(query))
            .await
    }

    async fn history(&self, id: &NominationId) -> Result<Vec<Event>, StoreError> {
        let span = op_span!(self, "history", nomination = %id);
        self.observe("history", span, self.inner.history(id)).await
    }

    async fn due(
        &self,
        now: Instant,
        after: Option<DueCursor>,
        limit: usize,
    ) -> Result<Due, StoreError> {
        let span = op_span!(self, "due", limit = limit);
        self.observe("due", span, self.inner.due(now, after, limit))
            .await
    }

    async fn take_messages(
        &self,
        now: Instant,
        lease_until: Instant,
        limit: usize,
    ) -> Result<Vec<Leased>, StoreError> {
        let span = op_span!(
            self,
            "take_messages",
            limit = limit,
            taken = tracing::field::Empty
        );
        let taken = self
            .observe(
                "take_messages",
                span.clone(),
                self.inner.take_messages(now, lease_until, limit),
            )
            .await;
        if let Ok(taken) = &taken {
            span.record("taken", taken.len());
        }
        taken
    }

    async fn acknowledge(&self, ids: &[MessageId]) -> Result<(), StoreError> {
        let span = op_span!(self, "acknowledge", messages = ids.len());
        self.observe("acknowledge", span, self.inner.acknowledge(ids))
            .await
    }

    async fn idempotent_result(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotentResult>, StoreError> {
        // The key is the caller's; its scope names the partner or reviewer.
        let span = op_span!(self, "idempotent_result");
        self.observe("idempotent_result", span, self.inner.idempotent_result(key))
            .await
    }

    async fn payout_batch(&self, id: &PayoutBatchId) -> Result<Option<PayoutBatch>, StoreError> {
        let span = op_span!(self, "payout_batch", batch = %id.as_uuid());
        self.observe("payout_batch", span, self.inner.payout_batch(id))
            .await
    }

    async fn payout_batches(
        &self,
        after: Option<&PayoutBatchId>,
        limit: usize,
    ) -> Result<Vec<PayoutBatch>, StoreError> {
        let span = op_span!(self, "payout_batches", limit = limit);
        self.observe(
            "payout_batches",
            span,
            self.inner.payout_batches(after, limit),
        )
        .await
    }

    async fn setting(&self, key: &SettingKey) -> Result<Option<SettingValue>, StoreError> {
        // The key names what the application keeps; the value is its own.
        let span = op_span!(self, "setting", key = key.as_str());
        self.observe("setting", span, self.inner.setting(key)).await
    }

    async fn put_setting(
        &self,
        key: &SettingKey,
        value: &SettingValue,
        condition: &SettingCondition,
    ) -> Result<(), StoreError> {
        let span = op_span!(self, "put_setting", key = key.as_str());
        self.observe(
            "put_setting",
            span,
            self.inner.put_setting(key, value, condition),
        )
        .await
    }
}
