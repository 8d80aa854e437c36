//! The metrics a whole story records through the `metrics` facade: the
//! ones an operator needs are there, with their labels.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::story::story;
use common::*;
use mci_engagements::observability;
use mci_store::observe as store_metrics;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use std::collections::BTreeMap;

#[test]
fn the_story_records_the_metrics_an_operator_needs() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // Everything runs on this thread: the memory store has no threads.
    metrics::with_local_recorder(&recorder, || {
        observability::describe_metrics();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { story(&World::new()).await });
    });
    let mut found: BTreeMap<(String, Vec<(String, String)>), DebugValue> = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let labels = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        found.insert((key.name().to_owned(), labels), value);
    }
    let value = |name: &str, labels: &[(&str, &str)]| -> &DebugValue {
        let key = (
            name.to_owned(),
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        found
            .get(&key)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in {:#?}", found.keys()))
    };
    assert_eq!(
        value(
            observability::CALLS_TOTAL,
            &[("command", "submit"), ("outcome", "refused")]
        ),
        &DebugValue::Counter(1)
    );
    assert_eq!(
        value(
            observability::CALLS_TOTAL,
            &[("command", "accept_consent"), ("outcome", "ok")]
        ),
        &DebugValue::Counter(1)
    );
    assert!(matches!(
        value(observability::CALL_SECONDS, &[("command", "run_payout")]),
        DebugValue::Histogram(v) if v.len() == 1
    ));
    assert_eq!(
        value(observability::RETRIES_TOTAL, &[("command", "add_comment")]),
        &DebugValue::Counter(1)
    );
    // Days late for the nomination it woke: 31 days after the add, past
    // its first reminder and its deadline.
    assert!(matches!(
        value(observability::SWEEP_LAG_SECONDS, &[]),
        DebugValue::Gauge(g) if g.into_inner() >= 86_400.0 && g.into_inner() <= 31.0 * 86_400.0
    ));
    assert_eq!(
        value(observability::SWEEP_CHANGES_TOTAL, &[("change", "lapsed")]),
        &DebugValue::Counter(1)
    );
    assert!(matches!(
        value(
            store_metrics::OPERATION_SECONDS,
            &[("store", "custom"), ("operation", "commit")]
        ),
        DebugValue::Histogram(v) if !v.is_empty()
    ));
    assert!(matches!(
        value(
            store_metrics::OPERATIONS_TOTAL,
            &[("store", "custom"), ("operation", "nomination_by_link"), ("outcome", "ok")]
        ),
        DebugValue::Counter(n) if *n >= 3
    ));
    // The memory store under the test world's gate counts its outbox.
    assert!(matches!(
        value(store_metrics::OUTBOX_BACKLOG, &[("store", "memory")]),
        DebugValue::Gauge(_)
    ));
    assert!(matches!(
        value(
            store_metrics::OUTBOX_OLDEST_PENDING_SECONDS,
            &[("store", "memory")]
        ),
        DebugValue::Gauge(_)
    ));
}
