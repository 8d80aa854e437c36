//! The SQLite store keeps the whole store contract, on real database files.
#![allow(clippy::unwrap_used)]

use mci_store::Store;
use mci_store_sqlite::SqliteStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let opened = AtomicUsize::new(0);
    mci_store::conformance::run_all(|| {
        let n = opened.fetch_add(1, Ordering::Relaxed);
        let path = dir.path().join(format!("conformance-{n}.sqlite"));
        async move { Arc::new(SqliteStore::open(path).unwrap()) as Arc<dyn Store> }
    })
    .await;
}

/// Two stores opened on one fresh file, each with its own writer and
/// readers, as two processes on one machine would: the guards, versions,
/// keys and outbox leases hold across them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_two_handle_behaviours() {
    let dir = tempfile::tempdir().unwrap();
    let opened = AtomicUsize::new(0);
    mci_store::conformance::run_two_handles(|| {
        let n = opened.fetch_add(1, Ordering::Relaxed);
        let path = dir.path().join(format!("two-handles-{n}.sqlite"));
        async move {
            let a = Arc::new(SqliteStore::open(&path).unwrap()) as Arc<dyn Store>;
            let b = Arc::new(SqliteStore::open(&path).unwrap()) as Arc<dyn Store>;
            (a, b)
        }
    })
    .await;
}

/// The counts the file keeps are right at a lapse, before and after the
/// sweep writes it, when the store opens the file again (R-PAGE-9).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r_page_9_sqlite_counts_stay_right_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counts.sqlite");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let reopen = |store: Arc<dyn Store>| {
        drop(store);
        Arc::new(SqliteStore::open(&path).unwrap()) as Arc<dyn Store>
    };
    mci_store::conformance::counts_at_a_lapse_before_and_after_its_sweep(store, &reopen).await;
}

/// Breaks the row of `id` in the file at `path` behind the store's back, as
/// a bad disk, a bad hand or a newer version would leave it: its version
/// holds its friendly name, which the decoder's own message quotes.
fn corrupt(path: &std::path::Path, id: &mci_core::NominationId) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let key = id.as_uuid().into_bytes();
    conn.execute(
        "UPDATE nominations \
         SET doc = json_set(doc, '$.version', json_extract(doc, '$.friendly_name')) \
         WHERE id = ?1",
        [key],
    )
    .unwrap();
    let (name, doc): (String, String) = conn
        .query_row(
            "SELECT json_extract(doc, '$.friendly_name'), doc FROM nominations WHERE id = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let decoded = serde_json::from_str::<mci_core::Nomination>(&doc);
    let words = decoded.unwrap_err().to_string();
    assert!(
        words.contains(&name),
        "serde quotes the friendly name, so the suite's check of the reason can fail: {words}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r_time_4_sqlite_passes_over_rows_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unreadable.sqlite");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let corrupt = |id: &mci_core::NominationId| corrupt(&path, id);
    mci_store::conformance::unreadable_rows_are_passed_over(store, &corrupt).await;
}

/// The Claims page names the rows it cannot read back and passes over
/// them, in its lists and its searches (R-LIST-1).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r_list_1_sqlite_passes_over_rows_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unreadable-claims.sqlite");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let corrupt = |id: &mci_core::NominationId| corrupt(&path, id);
    mci_store::conformance::r_list_1_unreadable_rows_are_listed_and_passed_over(store, &corrupt)
        .await;
}

/// The Attention required list names the rows it cannot read back and
/// passes over them (R-LIST-3).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r_list_3_sqlite_passes_over_rows_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unreadable-attention.sqlite");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let corrupt = |id: &mci_core::NominationId| corrupt(&path, id);
    mci_store::conformance::r_list_3_unreadable_rows_are_named_and_passed_over(store, &corrupt)
        .await;
}
