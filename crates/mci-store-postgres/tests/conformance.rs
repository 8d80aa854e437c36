//! The PostgreSQL store keeps the whole store contract, on a real
//! throwaway PostgreSQL cluster: every behaviour on a fresh database.
#![allow(clippy::unwrap_used, clippy::panic)]

use mci_pg_harness::Cluster;
use mci_store::Store;
use mci_store_postgres::PostgresStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh database of `cluster`, opened as a store.
async fn fresh(cluster: &Cluster, name: &str) -> Arc<dyn Store> {
    cluster.create_database(name).unwrap();
    Arc::new(
        PostgresStore::connect(cluster.connection_string(name))
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_passes_the_conformance_suite() {
    let Some(cluster) = Cluster::start_or_skip("postgres_store_passes_the_conformance_suite")
    else {
        return;
    };
    let made = AtomicUsize::new(0);
    mci_store::conformance::run_all(|| {
        let n = made.fetch_add(1, Ordering::Relaxed);
        let cluster = &cluster;
        async move { fresh(cluster, &format!("conformance_{n}")).await }
    })
    .await;
}

/// The counts the database keeps are right at a lapse, before and after
/// the sweep writes it, when a new handle connects (R-PAGE-9).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r_page_9_postgres_counts_stay_right_across_a_reconnect() {
    let Some(cluster) =
        Cluster::start_or_skip("r_page_9_postgres_counts_stay_right_across_a_reconnect")
    else {
        return;
    };
    let store = fresh(&cluster, "counts").await;
    let url = cluster.connection_string("counts");
    let reopen = |store: Arc<dyn Store>| {
        drop(store);
        let url = url.clone();
        // A new pool on the same database, connected on a thread of its
        // own: the closure is synchronous and runs on this runtime.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async { PostgresStore::connect(url).await.unwrap() })
        })
        .join()
        .unwrap()
    };
    let reopen = |store: Arc<dyn Store>| Arc::new(reopen(store)) as Arc<dyn Store>;
    mci_store::conformance::counts_at_a_lapse_before_and_after_its_sweep(store, &reopen).await;
}

/// Two handles with pools of their own on one fresh database, as two
/// application servers: the guards and the outbox hold across them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_passes_the_two_handle_behaviours() {
    let Some(cluster) = Cluster::start_or_skip("postgres_store_passes_the_two_handle_behaviours")
    else {
        return;
    };
    let made = AtomicUsize::new(0);
    mci_store::conformance::run_two_handles(|| {
        let n = made.fetch_add(1, Ordering::Relaxed);
        let cluster = &cluster;
        async move {
            let name = format!("two_handles_{n}");
            let a = fresh(cluster, &name).await;
            let b = PostgresStore::connect(cluster.connection_string(&name))
                .await
                .unwrap();
            (a, Arc::new(b) as Arc<dyn Store>)
        }
    })
    .await;
}

/// Breaks the row of `id` in `database` behind the store's back (a bad
/// hand, or a newer version's document): its version takes the friendly
/// name, which serde's own message would quote.
fn corrupt(cluster: &Cluster, database: &str, id: &mci_core::NominationId) {
    let words = cluster
        .psql(
            database,
            &format!(
                "UPDATE nominations \
                 SET doc = jsonb_set(doc::jsonb, '{{version}}', doc::jsonb -> 'friendly_name')::text \
                 WHERE id = '{}' RETURNING doc",
                id.as_uuid()
            ),
        )
        .unwrap();
    let doc = words.lines().next().unwrap_or_default();
    let name = serde_json::from_str::<serde_json::Value>(doc).unwrap()["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let words = serde_json::from_str::<mci_core::Nomination>(doc)
        .unwrap_err()
        .to_string();
    assert!(
        words.contains(&name),
        "serde quotes the friendly name, so the suite's check of the reason can fail: {words}"
    );
}

/// A row broken behind the store's back (a bad hand, or a newer version's
/// document) is passed over by pages and the due query and named by single
/// reads, with a reason that quotes none of its content (R-TIME-4,
/// R-TOKEN-5).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r_time_4_postgres_passes_over_rows_it_cannot_read() {
    let Some(cluster) = Cluster::start_or_skip("r_time_4_postgres_passes_over_rows_it_cannot_read")
    else {
        return;
    };
    let store = fresh(&cluster, "unreadable").await;
    let corrupt = |id: &mci_core::NominationId| corrupt(&cluster, "unreadable", id);
    mci_store::conformance::unreadable_rows_are_passed_over(store, &corrupt).await;
}

/// The Claims page names the rows it cannot read back and passes over
/// them, in its lists and its searches (R-LIST-1).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r_list_1_postgres_passes_over_rows_it_cannot_read() {
    let Some(cluster) = Cluster::start_or_skip("r_list_1_postgres_passes_over_rows_it_cannot_read")
    else {
        return;
    };
    let store = fresh(&cluster, "unreadable").await;
    let corrupt = |id: &mci_core::NominationId| corrupt(&cluster, "unreadable", id);
    mci_store::conformance::r_list_1_unreadable_rows_are_listed_and_passed_over(store, &corrupt)
        .await;
}

/// The Attention required list names the rows it cannot read back and
/// passes over them (R-LIST-3).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r_list_3_postgres_passes_over_rows_it_cannot_read() {
    let Some(cluster) = Cluster::start_or_skip("r_list_3_postgres_passes_over_rows_it_cannot_read")
    else {
        return;
    };
    let store = fresh(&cluster, "unreadable").await;
    let corrupt = |id: &mci_core::NominationId| corrupt(&cluster, "unreadable", id);
    mci_store::conformance::r_list_3_unreadable_rows_are_named_and_passed_over(store, &corrupt)
        .await;
}
