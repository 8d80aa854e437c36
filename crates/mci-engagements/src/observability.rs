//! What the service and its stores tell an operator: a `tracing` span for
//! every call and store operation, and metrics through the
//! [`metrics`](https://docs.rs/metrics) facade.
//!
//! The crates install neither a `tracing` subscriber nor a metrics
//! recorder: the application chooses them (a `tracing-subscriber` layer, an
//! OpenTelemetry exporter, `metrics-exporter-prometheus`, ...). Until it
//! does, both cost a check of a global and nothing else. Call
//! [`describe_metrics`] once after installing a recorder to give it the
//! units and descriptions of the table below.
//!
//! # Spans
//!
//! Every public `async` call of [`Incentives`](crate::Incentives) runs in
//! an `INFO` span named after the method (`add_customer`, `accept_consent`,
//! `sweep`, ...), with the fields:
//!
//! | field | what |
//! |---|---|
//! | `command` | the method's name |
//! | `partner` | the partner acting, for a partner's call |
//! | `nomination` | the nomination acted on: the one given, the one a link opened, or the first one an add created |
//! | `outcome` | how the call ended: `ok`, `refused`, `ineligible`, `unknown_engagement`, `busy`, `port`, `unreadable`, `store`, `replay`, `idempotency_mismatch` |
//! | `rule` | the SPEC rule of a refusal or a failed guard, such as `R-CONSENT-8` |
//! | `retries` | how many times the call decided again after a conflict (R-REC-4), when it did |
//!
//! Inside it, each store operation is a `DEBUG` span `store.<method>`
//! ([`mci_store::observe::Observed`]: the store, the partner and the
//! nomination where the operation names them, counts, `outcome`, `rule`).
//! No span or event records a link token or its hash, an email address, a
//! contact's name, a comment or a friendly name (R-TOKEN-5): the fields are
//! named one by one, never taken from an argument's `Debug`.
//!
//! # Metrics
//!
//! Every metric an operator needs, in one table. Durations are recorded in
//! seconds; a label's values are fixed words, never an id.
//!
//! | name | type | unit | labels | what |
//! |---|---|---|---|---|
//! | `mci_service_calls_total` | counter | calls | `command`, `outcome` | calls of the service answered, by outcome (as the span's `outcome`) |
//! | `mci_service_call_seconds` | histogram | seconds | `command` | how long a call took, retries included |
//! | `mci_service_retries_total` | counter | retries | `command` | conflicts retried: a call read and decided again because the nomination changed under it, or a rival appeared (R-REC-4, R-CONSENT-10) |
//! | `mci_service_busy_total` | counter | calls | `command` | calls answered [`Error::Busy`](crate::Error::Busy): still conflicting after every retry |
//! | `mci_sweep_lag_seconds` | gauge | seconds | none | how late the sweep came for the earliest due nomination it found: its run's instant minus that nomination's wake-up instant (0 when nothing was due) |
//! | `mci_sweep_changes_total` | counter | changes | `change` (`lapsed`, `reminded`, `skipped`) | what sweeps wrote, and the changes they left to the next sweep because the nomination changed meanwhile |
//! | `mci_store_operation_seconds` | histogram | seconds | `store`, `operation` | how long a store operation took, seen from the service |
//! | `mci_store_operations_total` | counter | operations | `store`, `operation`, `outcome` | store operations answered, by outcome (`ok`, `conflict`, `guard`, `idempotency`, `unreadable`, `invalid`, `backend`, or `dropped` when the caller stopped waiting) |
//! | `mci_store_commit_seconds` | histogram | seconds | `store` | how long a commit's transaction took, from its start to its end (SQLite: the transaction of its whole group) |
//! | `mci_store_commit_group_size` | histogram | commits | `store` | how many jobs one SQLite transaction wrote (group commit); commits, outbox takes and acknowledgements alike |
//! | `mci_store_transaction_retries_total` | counter | retries | `store` | transactions PostgreSQL ran again by itself after a serialization failure or a deadlock |
//! | `mci_store_busy_total` | counter | answers | `store` | operations that failed because the database stayed locked or contended past the store's own waiting and retries (SQLite's `SQLITE_BUSY`, PostgreSQL's contention) |
//! | `mci_store_outbox_backlog` | gauge | messages | `store` | messages not yet acknowledged, as the last `take_messages` found them |
//! | `mci_store_outbox_oldest_pending_seconds` | gauge | seconds | `store` | how long the message available the longest had waited to be taken, as the last `take_messages` found it (0 when every pending message is leased) |
//! | `mci_sqlite_writer_queue_depth` | gauge | jobs | none | writes waiting for SQLite's writer thread; at most [`writer_queue`](https://docs.rs/mci-store-sqlite), beyond which callers await a slot |
//! | `mci_sqlite_reader_queue_depth` | gauge | jobs | none | reads waiting for one of SQLite's reader threads; at most `reader_queue` |
//! | `mci_sqlite_wal_bytes` | gauge | bytes | none | the length of SQLite's WAL in use after the last group (frames times the page size) |
//! | `mci_sqlite_checkpoint_failures_total` | counter | failures | `mode` (`passive`, `restart`, `truncate`, `close`) | SQLite checkpoints that failed with an error; their pages stay in the WAL |
//! | `mci_sqlite_thread_failures_total` | counter | failures | `thread` (`writer`, `reader`, `checkpointer`) | failures of SQLite's background threads: a panic, a connection that did not close, a rollback that failed, an outbox that could not be counted |
//!
//! The store metrics' names are constants of [`mci_store::observe`]; those
//! of the service are the constants of this module.
//!
//! ```
//! use std::sync::Arc;
//! use mci_engagements::{Incentives, observability};
//! use mci_engagements::ports::{HmacLinkKey, PermissiveEligibility};
//! use mci_store_memory::MemoryStore;
//!
//! // An application installs its recorder first, then describes the metrics.
//! observability::describe_metrics();
//! let service = Incentives::builder(Arc::new(MemoryStore::new()), HmacLinkKey::demo())
//!     .customer_eligibility(PermissiveEligibility::new())
//!     .build();
//! assert_eq!(service.store().backend_name(), "memory");
//! ```

use crate::error::{Error, Result};
use mci_core::{NominationId, PartnerId};
use mci_store::observe as store;
use metrics::Unit;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::Instrument;

/// Counter, labels `command`, `outcome`: calls answered.
pub const CALLS_TOTAL: &str = "mci_service_calls_total";
/// Histogram, seconds, label `command`: how long a call took.
pub const CALL_SECONDS: &str = "mci_service_call_seconds";
/// Counter, label `command`: conflicts retried (R-REC-4).
pub const RETRIES_TOTAL: &str = "mci_service_retries_total";
/// Counter, label `command`: calls answered [`Error::Busy`].
pub const BUSY_TOTAL: &str = "mci_service_busy_total";
/// Gauge, seconds: how late the last sweep came for the earliest due
/// nomination.
pub const SWEEP_LAG_SECONDS: &str = "mci_sweep_lag_seconds";
/// Counter, label `change`: lapses and reminders the sweeps wrote, and
/// changes they skipped.
pub const SWEEP_CHANGES_TOTAL: &str = "mci_sweep_changes_total";

/// Gives the installed metrics recorder the unit and description of every
/// metric of the table above. Harmless without a recorder, and when called
/// again.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        CALLS_TOTAL,
        Unit::Count,
        "calls of the service answered, by outcome"
    );
    describe_histogram!(
        CALL_SECONDS,
        Unit::Seconds,
        "how long a call of the service took"
    );
    describe_counter!(RETRIES_TOTAL, Unit::Count, "conflicts retried (R-REC-4)");
    describe_counter!(
        BUSY_TOTAL,
        Unit::Count,
        "calls answered Busy after every retry"
    );
    describe_gauge!(
        SWEEP_LAG_SECONDS,
        Unit::Seconds,
        "how late the last sweep came for the earliest due nomination"
    );
    describe_counter!(
        SWEEP_CHANGES_TOTAL,
        Unit::Count,
        "changes the sweeps wrote or skipped"
    );
    describe_histogram!(
        store::OPERATION_SECONDS,
        Unit::Seconds,
        "how long a store operation took"
    );
    describe_counter!(
        store::OPERATIONS_TOTAL,
        Unit::Count,
        "store operations answered"
    );
    describe_histogram!(
        store::COMMIT_SECONDS,
        Unit::Seconds,
        "how long a commit's transaction took"
    );
    describe_histogram!(
        store::COMMIT_GROUP_SIZE,
        Unit::Count,
        "jobs written in one transaction"
    );
    describe_counter!(
        store::TRANSACTION_RETRIES_TOTAL,
        Unit::Count,
        "transactions the store ran again after a serialization failure"
    );
    describe_counter!(
        store::BUSY_TOTAL,
        Unit::Count,
        "operations failed on a locked or contended database"
    );
    describe_gauge!(
        store::OUTBOX_BACKLOG,
        Unit::Count,
        "outbox messages not yet acknowledged"
    );
    describe_gauge!(
        store::OUTBOX_OLDEST_PENDING_SECONDS,
        Unit::Seconds,
        "how long the longest-waiting available message has waited"
    );
    describe_gauge!(
        store::SQLITE_WRITER_QUEUE_DEPTH,
        Unit::Count,
        "writes waiting for the SQLite writer"
    );
    describe_gauge!(
        store::SQLITE_READER_QUEUE_DEPTH,
        Unit::Count,
        "reads waiting for a SQLite reader"
    );
    describe_gauge!(
        store::SQLITE_WAL_BYTES,
        Unit::Bytes,
        "the SQLite WAL's length in use"
    );
    describe_counter!(
        store::SQLITE_CHECKPOINT_FAILURES_TOTAL,
        Unit::Count,
        "SQLite checkpoints that failed"
    );
    describe_counter!(
        store::SQLITE_THREAD_FAILURES_TOTAL,
        Unit::Count,
        "failures of the SQLite store's background threads"
    );
}

/// How a call ended, as the `outcome` field and label: a fixed word per
/// kind of error, never its text (which can name a customer's domain).
pub(crate) fn outcome_of<T>(result: &Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(Error::Refused(_)) => "refused",
        Err(Error::Ineligible { .. }) => "ineligible",
        Err(Error::UnknownEngagement(_)) => "unknown_engagement",
        Err(Error::Busy) => "busy",
        Err(Error::Port(_)) => "port",
        Err(Error::Unreadable { .. }) => "unreadable",
        Err(Error::Store(_)) => "store",
        Err(Error::Replay(_)) => "replay",
        Err(Error::IdempotencyKeyMismatch { .. }) => "idempotency_mismatch",
    }
}

/// The span of the call `$command` (a literal, its name), with every field
/// of the table above, those not known yet empty; `$nomination`, if given,
/// is the nomination it acts on.
macro_rules! call_span {
    ($command:literal) => {
        tracing::info_span!(
            $command,
            command = $command,
            partner = tracing::field::Empty,
            nomination = tracing::field::Empty,
            outcome = tracing::field::Empty,
            rule = tracing::field::Empty,
            retries = tracing::field::Empty,
        )
    };
    ($command:literal, $nomination:expr) => {{
        let span = call_span!($command);
        span.record("nomination", tracing::field::display($nomination));
        span
    }};
}
pub(crate) use call_span;

thread_local! {
    /// The command whose call is being polled on this thread, for the
    /// labels of what it records deep inside (its retries).
    static COMMAND: Cell<&'static str> = const { Cell::new("") };
}

/// Runs `call`, the body of the service method `command`, inside `span`:
/// records its outcome and rule on the span and its metrics.
pub(crate) async fn traced<T>(
    command: &'static str,
    span: tracing::Span,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    let started = Instant::now();
    let result = InCall {
        command,
        call: Box::pin(call),
    }
    .instrument(span.clone())
    .await;
    let outcome = outcome_of(&result);
    span.record("outcome", outcome);
    if let Err(error) = &result
        && let Some(rule) = error.rule()
    {
        span.record("rule", rule);
    }
    metrics::counter!(CALLS_TOTAL, "command" => command, "outcome" => outcome).increment(1);
    metrics::histogram!(CALL_SECONDS, "command" => command).record(started.elapsed());
    if matches!(result, Err(Error::Busy)) {
        metrics::counter!(BUSY_TOTAL, "command" => command).increment(1);
    }
    result
}

/// A call's future, with [`COMMAND`] set to its command while polled.
struct InCall<F> {
    command: &'static str,
    call: Pin<Box<F>>,
}

impl<F: Future> Future for InCall<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        /// Puts back the command polled before, even on a panic.
        struct Restore(&'static str);
        impl Drop for Restore {
            fn drop(&mut self) {
                COMMAND.set(self.0);
            }
        }
        let _restore = Restore(COMMAND.replace(self.command));
        self.call.as_mut().poll(cx)
    }
}

/// Notes attempt `attempt` (0 for the first) of the current call's
/// decision: from the second on, a conflict was retried (R-REC-4).
pub(crate) fn attempt(attempt: u32) {
    if attempt > 0 {
        tracing::Span::current().record("retries", attempt);
        metrics::counter!(RETRIES_TOTAL, "command" => COMMAND.get()).increment(1);
    }
}

/// Records the partner acting in the current call.
pub(crate) fn partner(partner: &PartnerId) {
    tracing::Span::current().record("partner", partner.as_str());
}

/// Records the nomination the current call acts on.
pub(crate) fn nomination(id: &NominationId) {
    tracing::Span::current().record("nomination", tracing::field::display(id));
}

/// Notes what one sweep found and did, at `lag` seconds behind the
/// earliest due nomination.
pub(crate) fn swept(lag: f64, report: &crate::SweepReport) {
    metrics::gauge!(SWEEP_LAG_SECONDS).set(lag);
    for (change, count) in [
        ("lapsed", report.lapsed),
        ("reminded", report.reminded),
        ("skipped", report.skipped),
    ] {
        metrics::counter!(SWEEP_CHANGES_TOTAL, "change" => change).increment(count as u64);
    }
}
