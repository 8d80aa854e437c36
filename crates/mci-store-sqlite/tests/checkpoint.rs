//! The WAL is copied into the database file by the store's checkpointer,
//! after commits and while the store is open, never by a commit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_core::{Candidate, EngagementKind};
use mci_store::{Commit, Store};
use mci_store_sqlite::SqliteStore;
use mci_testkit::{admin, eligible_facts, engagement, nomination_id, nomination_request, t0};
use std::path::Path;
use std::time::{Duration, Instant};

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_reach_the_database_file_while_the_store_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpointed.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    let empty = file_len(&path);

    // 300 nominations, one engagement each, one commit each: several
    // hundred KiB of pages, first in the WAL.
    for n in 1..=300u64 {
        let workshop = engagement(&format!("workshop-{n}"), EngagementKind::Workshop, 5);
        let candidates = [Candidate {
            engagement: &workshop,
            facts: eligible_facts(),
        }];
        let outcome = mci_core::nominate(t0(), &admin(), nomination_request(), &candidates, || {
            nomination_id(n)
        })
        .unwrap()
        .remove(0);
        store.commit(Commit::of(t0(), outcome)).await.unwrap();
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
