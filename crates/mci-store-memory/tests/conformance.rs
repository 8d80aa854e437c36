//! The memory store keeps the whole store contract.

use mci_store::Store;
use mci_store_memory::MemoryStore;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_conformance_suite() {
    mci_store::conformance::run_all(|| async { Arc::new(MemoryStore::new()) as Arc<dyn Store> })
        .await;
}

/// Two handles on one memory store: the store is one process's memory, so
/// both handles are the one store, shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_two_handle_behaviours() {
    mci_store::conformance::run_two_handles(|| async {
        let shared = Arc::new(MemoryStore::new()) as Arc<dyn Store>;
        (shared.clone(), shared)
    })
    .await;
}
