//! What the SQLite store tells an operator through the `metrics` facade,
//! and its bounded queues. A recorder is installed for the whole test
//! binary: the store's threads record into the global one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::TimeDelta;
use common::adding;
use mci_store::Store;
use mci_store::observe::*;
use mci_store_sqlite::{Options, SqliteStore};
use mci_testkit::{nomination_id, partner, t0};
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use std::sync::{Arc, OnceLock};

/// The recorder of this binary, installed once.
fn snapshotter() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder.install().unwrap();
        snapshotter
    })
}

/// A metric recorded: name, kind, labels, value.
type Metric = (String, MetricKind, Vec<(String, String)>, DebugValue);

/// Every metric recorded so far.
fn recorded() -> Vec<Metric> {
    snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (kind, key) = key.into_parts();
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            (key.name().to_owned(), kind, labels, value)
        })
        .collect()
}

fn find<'a>(all: &'a [Metric], name: &str) -> Vec<&'a DebugValue> {
    all.iter()
        .filter(|(n, ..)| n == name)
        .map(|(.., v)| v)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_records_commit_latency_group_sizes_queue_depths_the_wal_and_the_outbox() {
    snapshotter();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("metrics.sqlite")).unwrap());
    let commits: Vec<_> = (1..=64)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.commit(adding(n)).await })
        })
        .collect();
    for commit in commits {
        commit.await.unwrap().unwrap();
    }
    store
        .nomination(&partner(1), &nomination_id(1))
        .await
        .unwrap();
    // No message is queued by an add: the outbox is empty, and says so.
    store
        .take_messages(t0(), t0() + TimeDelta::minutes(5), 10)
        .await
        .unwrap();
    store.close().await.unwrap();

    let all = recorded();
    let histogram_len = |name: &str| -> usize {
        find(&all, name)
            .iter()
            .map(|v| match v {
                DebugValue::Histogram(values) => values.len(),
                other => panic!("{name} is not a histogram: {other:?}"),
            })
            .sum()
    };
    assert!(histogram_len(COMMIT_SECONDS) >= 1, "commit latency");
    let sizes: Vec<f64> = find(&all, COMMIT_GROUP_SIZE)
        .iter()
        .flat_map(|v| match v {
            DebugValue::Histogram(values) => values.iter().map(|v| v.into_inner()).collect(),
            _ => Vec::new(),
        })
        .collect();
    assert!(
        sizes.iter().sum::<f64>() >= 65.0,
        "every commit and the take counted in a group: {sizes:?}"
    );
    for gauge in [
        SQLITE_WRITER_QUEUE_DEPTH,
        SQLITE_READER_QUEUE_DEPTH,
        SQLITE_WAL_BYTES,
        OUTBOX_BACKLOG,
        OUTBOX_OLDEST_PENDING_SECONDS,
    ] {
        assert!(
            find(&all, gauge)
                .iter()
                .all(|v| matches!(v, DebugValue::Gauge(_)))
                && !find(&all, gauge).is_empty(),
            "{gauge} recorded as a gauge"
        );
    }
    let backlog = find(&all, OUTBOX_BACKLOG);
    assert!(
        matches!(backlog[..], [DebugValue::Gauge(g)] if g.into_inner() == 0.0),
        "{backlog:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_writer_queue_makes_callers_await_a_slot_and_every_commit_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite");
    // A queue of 2 behind a writer taking groups of at most 2: of 200
    // concurrent commits, nearly all wait for a slot, in their futures.
    let options = Options {
        writer_queue: 2,
        reader_queue: 1,
        max_group: 2,
        ..Options::default()
    };
    let store = Arc::new(SqliteStore::open_with(&path, options).unwrap());
    let commits: Vec<_> = (1..=200)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.commit(adding(n)).await })
        })
        .collect();
    let reads: Vec<_> = (1..=50)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.nomination(&partner(1), &nomination_id(n)).await })
        })
        .collect();
    for commit in commits {
        commit.await.unwrap().unwrap();
    }
    for read in reads {
        read.await.unwrap().unwrap();
    }
    for n in [1, 100, 200] {
        assert!(
            store
                .nomination(&partner(1), &nomination_id(n))
                .await
                .unwrap()
                .is_some()
        );
    }
    store.close().await.unwrap();
}
