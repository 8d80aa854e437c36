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
