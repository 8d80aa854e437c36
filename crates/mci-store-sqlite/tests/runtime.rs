//! The store needs no particular async runtime: its answers come over
//! oneshot channels that any executor can await. Here, a minimal executor
//! of a dozen lines drives it, with no tokio runtime anywhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_core::Candidate;
use mci_store::{Commit, Store};
use mci_store_sqlite::SqliteStore;
use mci_testkit::{
    admin, eligible_facts, nomination_id, nomination_request, partner, t0, workshop,
};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

/// Wakes the thread that polls.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread, parking between polls.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[test]
fn the_store_runs_on_any_executor() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("any.sqlite")).unwrap();
    let (engagement, _) = workshop();
    let candidates = [Candidate {
        engagement: &engagement,
        facts: eligible_facts(),
    }];
    let outcome = mci_core::nominate(t0(), &admin(), nomination_request(), &candidates, || {
        nomination_id(1)
    })
    .unwrap()
    .remove(0);
    let nomination = outcome.nomination.clone();
    block_on(store.commit(Commit::of(t0(), outcome))).unwrap();
    let loaded = block_on(store.nomination(&partner(1), nomination.id())).unwrap();
    assert_eq!(loaded, Some(nomination));
}
