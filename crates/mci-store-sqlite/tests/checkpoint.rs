//! The WAL is copied into the database file by the store's checkpointer,
//! after commits and while the store is open, never by a commit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{adding, file_len};
use mci_core::Candidate;
use mci_store::{Commit, Store};
use mci_store_sqlite::SqliteStore;
use mci_testkit::{admin, eligible_facts, nomination_id, nomination_request, t0};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the README says the WAL file stays under: 4096 pages of 4 KiB,
/// plus what a group of up to 256 commits writes beyond the group before.
const WAL_BOUND: u64 = 20 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_reach_the_database_file_while_the_store_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpointed.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    let empty = file_len(&path);

    // 300 nominations, one engagement each, one commit each: several
    // hundred KiB of pages, first in the WAL.
    for n in 1..=300u64 {
        store.commit(adding(n)).await.unwrap();
    }

    // The writer never checkpoints (`wal_autocheckpoint` is off on its
    // connection): only the checkpointer can grow the file while the store
    // is open.
    let deadline = Instant::now() + Duration::from_secs(10);
    while file_len(&path) < empty + 300 * 1024 {
        assert!(
            Instant::now() < deadline,
            "the database file is still {} bytes (empty: {empty})",
            file_len(&path)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        store
            .nomination_by_id(&nomination_id(300))
            .await
            .unwrap()
            .map(|n| n.version()),
        Some(1)
    );
}

/// Under commits that never pause, the checkpointer never quite catches up
/// with the writer; the WAL must still start over and stay bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_commits_that_never_pause() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.sqlite");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let callers: Vec<_> = (0..4u64)
        .map(|caller| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..1500u64 {
                    store
                        .commit(adding(caller * 1_000_000 + i + 1))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
    }
    // 6000 commits of several pages each: about 200 MiB of WAL if it never
    // started over. The WAL file keeps the largest size it reached.
    let wal = file_len(&path.with_extension("sqlite-wal"));
    assert!(
        wal < WAL_BOUND,
        "the WAL reached {:.1} MiB",
        wal as f64 / 1048576.0
    );
    assert!(
        file_len(&path) > 6000 * 1024,
        "the commits reached the file"
    );
}

/// 256 callers, each reading before it commits, as the service's adds do:
/// groups of up to 256 commits, and reads under way at every moment, which
/// keep the WAL from starting over by itself. Its file stays under the
/// README's bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_under_its_bound_under_256_callers_that_read_and_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crowded.sqlite");
    let wal = path.with_extension("sqlite-wal");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let started = Instant::now();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let callers: Vec<_> = (0..256u64)
        .map(|caller| {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = caller * 1_000_000;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    store.nomination_by_id(&nomination_id(n)).await.unwrap();
                    store.commit(adding(n)).await.unwrap();
                }
                n - caller * 1_000_000
            })
        })
        .collect();
    // At least 2 s, and until the database file is longer than the WAL
    // ever was: every page of the file went through the WAL, so the WAL
    // has started over.
    let mut peak = 0;
    let started_over = loop {
        peak = peak.max(file_len(&wal));
        let elapsed = started.elapsed();
        let started_over = file_len(&path) > peak;
        if elapsed > Duration::from_secs(30) || (elapsed > Duration::from_secs(2) && started_over) {
            break started_over;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut commits = 0;
    for caller in callers {
        commits += caller.await.unwrap();
    }
    peak = peak.max(file_len(&wal));
    println!(
        "{commits} commits from 256 callers: the WAL file peaked at {:.1} MiB, the database file is {:.1} MiB",
        peak as f64 / 1048576.0,
        file_len(&path) as f64 / 1048576.0
    );
    assert!(
        started_over,
        "the WAL never started over: the load was too light to test it"
    );
    assert!(
        peak < WAL_BOUND,
        "the WAL reached {:.1} MiB",
        peak as f64 / 1048576.0
    );
}

/// Closing the store does not wait out the checkpointer's rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_does_not_wait_for_the_checkpointers_pause() {
    let dir = tempfile::tempdir().unwrap();
    let options = mci_store_sqlite::Options {
        checkpoint_pause: Duration::from_secs(30),
        ..mci_store_sqlite::Options::default()
    };
    let store = SqliteStore::open_with(dir.path().join("closing.sqlite"), options).unwrap();
    let (workshop, _) = mci_testkit::workshop();
    let candidates = [Candidate {
        engagement: &workshop,
        facts: eligible_facts(),
    }];
    for n in 1..=3 {
        let outcome = mci_core::nominate(t0(), &admin(), nomination_request(), &candidates, || {
            nomination_id(n)
        })
        .unwrap()
        .remove(0);
        // The same customer again is refused by its guard: a commit all
        // the same, and the checkpointer is resting after the first.
        let _ = store.commit(Commit::of(t0(), outcome)).await;
    }
    let closing = Instant::now();
    drop(store);
    assert!(
        closing.elapsed() < Duration::from_secs(5),
        "closing took {:?}",
        closing.elapsed()
    );
}

/// A closed store leaves its database whole in one file: the last
/// connection to close copies the WAL in and removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_store_leaves_no_wal_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("closed.sqlite");
    let options = mci_store_sqlite::Options {
        readers: 8,
        ..mci_store_sqlite::Options::default()
    };
    for round in 0..5u64 {
        let store = SqliteStore::open_with(&path, options.clone()).unwrap();
        for i in 1..=20u64 {
            let n = round * 100 + i;
            store.commit(adding(n)).await.unwrap();
            // Reads keep the readers' connections busy up to the close.
            store.nomination_by_id(&nomination_id(n)).await.unwrap();
        }
        drop(store);
        assert!(
            !path.with_extension("sqlite-wal").exists(),
            "round {round}: the WAL is left behind"
        );
    }
}
