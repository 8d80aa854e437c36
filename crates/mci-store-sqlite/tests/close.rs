//! Closing a store from async code: `close().await` writes what was sent,
//! ends every thread without blocking the executor, and frees the file.
//! Alone in its test binary, so that the threads it counts are its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::adding;
use mci_store::{Store, StoreError};
use mci_store_sqlite::{BackendError, Options, SqliteStore};
use mci_testkit::{nomination_id, partner};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

/// The threads of this process whose name starts with `mci-sqlite`
/// (Linux shows the first 15 bytes of a thread's name).
fn store_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("mci-sqlite"))
        .count()
}

/// A commit's future, sent and waiting for its answer.
type Sent<'a> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

fn is_closed(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Backend(source)
            if matches!(source.downcast_ref::<BackendError>(), Some(BackendError::Closed))
    )
}

#[tokio::test(flavor = "current_thread")]
async fn close_writes_what_was_sent_ends_the_threads_without_blocking_and_frees_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("close.sqlite");
    let options = Options {
        readers: 3,
        ..Options::default()
    };
    let store = Arc::new(SqliteStore::open_with(&path, options).unwrap());
    // A thread names itself once it runs: give them a moment.
    for _ in 0..200 {
        if store_threads() == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        store_threads(),
        5,
        "a writer, three readers, a checkpointer"
    );

    // Commits sent, not yet answered, when the store is closed: each
    // future polled once sends its commit and waits for the answer.
    let mut sent: Vec<Sent<'_>> = (1..=300)
        .map(|n| Box::pin(store.commit(adding(n))) as Sent<'_>)
        .collect();
    let mut answered = Vec::new();
    // Unconstrained: tokio's budget would make later sends wait a turn.
    tokio::task::unconstrained(std::future::poll_fn(|cx| {
        sent.retain_mut(|commit| match commit.as_mut().poll(cx) {
            Poll::Ready(answer) => {
                answered.push(answer);
                false
            }
            Poll::Pending => true,
        });
        Poll::Ready(())
    }))
    .await;
    // A task that runs only while the executor is free.
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                ticks.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        }
    });
    store.close().await.unwrap();
    assert!(
        ticks.load(Ordering::Relaxed) > 0,
        "the executor ran other tasks while close waited for the threads"
    );
    ticker.abort();

    // Every commit sent before the close was written and answered.
    for commit in sent {
        commit.await.unwrap();
    }
    assert!(answered.into_iter().all(|a| a.is_ok()));
    // The threads are gone, the last connection removed the WAL.
    assert_eq!(store_threads(), 0);
    assert!(!dir.path().join("close.sqlite-wal").exists());

    // Calls after close: a typed error, reads and writes alike.
    let read = store.nomination(&partner(1), &nomination_id(1)).await;
    assert!(is_closed(&read.unwrap_err()));
    let write = store.commit(adding(301)).await;
    assert!(is_closed(&write.unwrap_err()));
    // Closing again returns at once.
    store.close().await.unwrap();

    // No connection is left: another connection takes the file's
    // exclusive lock at once, without waiting.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.busy_timeout(std::time::Duration::ZERO).unwrap();
    other
        .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;")
        .unwrap();
    drop(other);

    // And the file opens again as a store, with every commit in it.
    let again = SqliteStore::open(&path).unwrap();
    for n in [1, 150, 300] {
        assert!(
            again
                .nomination(&partner(1), &nomination_id(n))
                .await
                .unwrap()
                .is_some()
        );
    }
    again.close().await.unwrap();
    assert_eq!(store_threads(), 0);
}
