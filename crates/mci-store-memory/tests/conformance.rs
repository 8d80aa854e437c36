//! The memory store keeps the whole store contract.

use mci_store::Store;
use mci_store_memory::MemoryStore;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_conformance_suite() {
    mci_store::conformance::run_all(|| async { Arc::new(MemoryStore::new()) as Arc<dyn Store> })
        .await;
}
