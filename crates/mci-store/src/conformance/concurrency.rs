//! Guards and versions under real concurrency (R-CONSENT-8, R-ADD-7,
//! R-ENG-5, R-REC-4).

use super::fixtures::*;
use crate::{Commit, Store, StoreError};
use mci_core::*;
use mci_testkit::{admin_of, comment, token};
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::Barrier;

const RACERS: u32 = 32;

/// Runs `RACERS` tasks that start together; each gets its index.
async fn race<T, F, Fut>(task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(RACERS as usize));
    let mut handles = Vec::new();
    for i in 0..RACERS {
        let barrier = barrier.clone();
        let work = task(i);
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            work.await
        }));
    }
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.expect("a racing task panicked"));
    }
    results
}

/// 32 partners' customers accept consent for one engagement at once: exactly
/// one acceptance is written, the others fail with the consent guard, and
/// exactly one consented nomination is stored (R-CONSENT-8).
pub async fn one_consent_per_customer_under_concurrency(store: Arc<dyn Store>) {
    let engagement = workshop(RACERS);
    let mut awaiting = Vec::new();
    for p in 1..=RACERS {
        let n = added(&store, p, 1, &engagement, start()).await;
        awaiting.push(consent_sent(&store, &n, start(), p as u8).await);
    }
    let results = race(|i| {
        let store = store.clone();
        let n = awaiting[i as usize].clone();
        async move {
            let Step::Changed(outcome) = n.accept_consent(day(1), &token(i as u8 + 1)).unwrap()
            else {
                panic!("a first acceptance changes the nomination");
            };
            store.commit(Commit::of(day(1), *outcome)).await
        }
    })
    .await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "exactly one acceptance succeeds: {results:?}");
    for result in &results {
        if let Err(err) = result {
            assert_eq!(err.rule(), Some("R-CONSENT-8"), "{err:?}");
        }
    }
    let standings = store
        .standings(engagement.id(), customer(1).id())
        .await
        .unwrap();
    let holding = standings
        .iter()
        .filter(|(_, s)| s.holds_consent_at(day(1)))
        .count();
    assert_eq!(holding, 1, "exactly one consented nomination is stored");
    let mut consented = 0;
    for n in &awaiting {
        let stored = store.nomination_by_id(n.id()).await.unwrap().unwrap();
        if stored.state() == State::Consented {
            consented += 1;
        } else {
            assert_eq!(stored, *n, "a refused acceptance changed nothing");
        }
    }
    assert_eq!(consented, 1);
}

/// One partner adds the same customer 32 times at once: one nomination is
/// written, the others fail with the duplicate guard (R-ADD-7).
pub async fn one_live_nomination_per_partner_under_concurrency(store: Arc<dyn Store>) {
    let engagement = workshop(RACERS + 1);
    let results = race(|_| {
        let store = store.clone();
        let outcome = add(1, 7, &engagement, start());
        async move { try_write(&store, outcome).await }
    })
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(err.rule(), Some("R-ADD-7"), "{err:?}");
    }
    let standings = store
        .standings(engagement.id(), customer(7).id())
        .await
        .unwrap();
    assert_eq!(standings.len(), 1);
}

/// 32 partners add one customer at once to an engagement allowing 3 live
/// nominations: exactly 3 are written, the others fail with the limit
/// guard (R-ENG-5).
pub async fn live_nomination_limit_under_concurrency(store: Arc<dyn Store>) {
    let engagement = workshop(3);
    let results = race(|i| {
        let store = store.clone();
        let outcome = add(i + 1, 9, &engagement, start());
        async move { try_write(&store, outcome).await }
    })
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        3,
        "{results:?}"
    );
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(err.rule(), Some("R-ENG-5"), "{err:?}");
    }
    let standings = store
        .standings(engagement.id(), customer(9).id())
        .await
        .unwrap();
    assert_eq!(
        standings.iter().filter(|(_, s)| s.live_at(start())).count(),
        3
    );
}

/// 32 writers change one nomination from the same version: one wins, the
/// others get retryable conflicts; retrying each from a fresh read until it
/// lands loses no update, and the history shows exactly the successes
/// (R-REC-4).
pub async fn no_lost_update_under_concurrency(store: Arc<dyn Store>) {
    let engagement = workshop(1);
    let n = added(&store, 1, 1, &engagement, start()).await;

    let first_round = race(|i| {
        let store = store.clone();
        let n = n.clone();
        async move {
            let outcome = n
                .add_comment(day(1), &admin_of(1), comment(&format!("first {i}")))
                .unwrap();
            store.commit(Commit::of(day(1), outcome)).await
        }
    })
    .await;
    assert_eq!(
        first_round.iter().filter(|r| r.is_ok()).count(),
        1,
        "{first_round:?}"
    );
    assert!(
        first_round
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(StoreError::is_retryable)
    );

    let _conflicts = race(|i| {
        let store = store.clone();
        let id = *n.id();
        async move {
            let mut conflicts = 0u32;
            loop {
                let current = store
                    .nomination(&mci_testkit::partner(1), &id)
                    .await
                    .unwrap()
                    .unwrap();
                let outcome = current
                    .add_comment(day(2), &admin_of(1), comment(&format!("retried {i}")))
                    .unwrap();
                match store.commit(Commit::of(day(2), outcome)).await {
                    Ok(()) => return conflicts,
                    Err(err) if err.is_retryable() => {
                        conflicts += 1;
                        tokio::task::yield_now().await;
                    }
                    Err(err) => panic!("unexpected {err}"),
                }
            }
        }
    })
    .await;
    let history = store.history(n.id()).await.unwrap();
    let versions: Vec<u64> = history.iter().map(|e| e.version).collect();
    let expected: Vec<u64> = (1..=u64::from(2 + RACERS)).collect();
    assert_eq!(
        versions, expected,
        "one event per success, in version order"
    );
    let comments: BTreeSet<String> = history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CommentAdded { comment } => Some(comment.as_str().to_owned()),
            _ => None,
        })
        .collect();
    for i in 0..RACERS {
        assert!(
            comments.contains(&format!("retried {i}")),
            "update {i} was lost"
        );
    }
    let stored = store.nomination_by_id(n.id()).await.unwrap().unwrap();
    assert_eq!(stored.claim().comments.len(), 1 + RACERS as usize);
}
