//! A database file deleted or replaced while the store is open: the writes
//! that follow would go to a file no path names any more, and be lost when
//! the store closes. The store notices before it acknowledges a group, and
//! refuses that group and every later write with an error that names the
//! path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::adding;
use mci_store::{Store, StoreError};
use mci_store_sqlite::{BackendError, SqliteStore};
use mci_testkit::t0;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const WRITERS: u64 = 16;

/// The error is the store's refusal of a file no longer at `path`.
fn names_the_replaced_file(error: &StoreError, path: &Path) -> bool {
    let StoreError::Backend(source) = error else {
        return false;
    };
    matches!(
        source.downcast_ref::<BackendError>(),
        Some(BackendError::FileReplaced { path: p }) if p == path
    ) && source.to_string().contains(&path.display().to_string())
        && !error.is_retryable()
}

/// What the writers got after the fault.
#[derive(Debug, Default)]
struct After {
    acknowledged: u64,
    refused: u64,
    other: BTreeMap<String, u64>,
}

/// Runs 16 writers on a store at `path`, does `fault` to the file while
/// they run, and returns what the writers' calls sent after the fault got.
async fn writers_through(path: &Path, fault: impl FnOnce(&Path)) -> (Arc<SqliteStore>, After) {
    let store = Arc::new(SqliteStore::open(path).unwrap());
    let faulted = Arc::new(AtomicBool::new(false));
    let stop = Instant::now() + Duration::from_millis(1200);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, faulted, path) = (store.clone(), faulted.clone(), path.to_path_buf());
            tokio::spawn(async move {
                let mut after = After::default();
                let mut n = w * 1_000_000;
                while Instant::now() < stop {
                    n += 1;
                    // Read before the call: a call sent after the fault.
                    let sent_after = faulted.load(Ordering::SeqCst);
                    let result = store.commit(adding(n)).await;
                    match (sent_after, result) {
                        (false, Ok(())) => {}
                        (false, Err(error)) => {
                            assert!(names_the_replaced_file(&error, &path), "{error}");
                        }
                        (true, Ok(())) => after.acknowledged += 1,
                        (true, Err(error)) if names_the_replaced_file(&error, &path) => {
                            after.refused += 1;
                        }
                        (true, Err(error)) => {
                            *after.other.entry(error.to_string()).or_default() += 1
                        }
                    }
                }
                after
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    fault(path);
    faulted.store(true, Ordering::SeqCst);
    let mut total = After::default();
    for writer in writers {
        let after = writer.await.unwrap();
        total.acknowledged += after.acknowledged;
        total.refused += after.refused;
        for (kind, count) in after.other {
            *total.other.entry(kind).or_default() += count;
        }
    }
    println!("after the fault at {}: {total:?}", path.display());
    (store, total)
}

/// Every write after the fault is refused, naming the path: commits, and
/// taking and acknowledging outbox messages.
async fn every_later_write_is_refused(store: &SqliteStore, path: &Path, after: &After) {
    assert_eq!(after.acknowledged, 0, "writes acknowledged after the fault");
    assert!(after.other.is_empty(), "other errors: {:?}", after.other);
    assert!(after.refused > 0, "no write was sent after the fault");
    let error = store.commit(adding(999_999_999)).await.unwrap_err();
    assert!(names_the_replaced_file(&error, path), "{error}");
    let error = store.take_messages(t0(), t0(), 10).await.unwrap_err();
    assert!(names_the_replaced_file(&error, path), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_database_file_fails_every_later_write_naming_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deleted.sqlite");
    let (store, after) = writers_through(&path, |path| std::fs::remove_file(path).unwrap()).await;
    every_later_write_is_refused(&store, &path, &after).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_database_file_fails_every_later_write_naming_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replaced.sqlite");
    let other: PathBuf = dir.path().join("backup.sqlite");
    drop(SqliteStore::open(&other).unwrap());
    let (store, after) =
        writers_through(&path, |path| std::fs::rename(&other, path).unwrap()).await;
    every_later_write_is_refused(&store, &path, &after).await;
}
