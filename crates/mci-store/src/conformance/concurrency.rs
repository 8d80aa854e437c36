//! Guards and versions under real concurrency (R-CONSENT-8, R-CONSENT-10,
//! R-ADD-7, R-ENG-5, R-REC-4).

use super::fixtures::*;
use crate::{Commit, Store, StoreError};
use mci_core::*;
use mci_testkit::{admin_of, comment, token};
use std::collections::{BTreeMap, BTreeSet};
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
    race_n(RACERS, task).await
}

/// Runs `racers` tasks that start together on one barrier; each gets its
/// index, and the answers come back in index order.
pub(super) async fn race_n<T, F, Fut>(racers: u32, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(racers as usize));
    let mut handles = Vec::new();
    for i in 0..racers {
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
/// exactly one consented nomination is stored (R-CONSENT-8). The
/// acceptances carry the consent guard alone: they race each other here,
/// not the losses of their rivals, which
/// [`r_consent_10_an_acceptance_racing_new_rivals_changes_each_or_fails`]
/// races.
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
            store
                .commit(Commit::of(day(1), consent_guard_only(*outcome)))
                .await
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
            .all(StoreError::is_conflict)
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
                    Err(err) if err.is_conflict() => {
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

/// What the acceptance task of
/// [`r_consent_10_an_acceptance_racing_new_rivals_changes_each_or_fails`]
/// saw: each failed attempt's error, and the acceptance written.
struct Accepting {
    failed: Vec<StoreError>,
    written: Acceptance,
}

/// What one racer of
/// [`r_consent_10_an_acceptance_racing_new_rivals_changes_each_or_fails`]
/// did: accept, or add a rival.
enum Raced {
    Accepted(Box<Accepting>),
    Added(Result<NominationId, StoreError>),
}

/// Decides the acceptance of `n` among the rivals the store holds now and
/// commits it, again from a fresh read while the commit fails as
/// retryable, as the service does (R-CONSENT-10).
async fn accept_among_rivals(store: &Arc<dyn Store>, n: &Nomination, t: u8) -> Accepting {
    let mut failed = Vec::new();
    loop {
        let current = store.nomination_by_id(n.id()).await.unwrap().unwrap();
        let rivals = store
            .rivals(current.engagement(), current.customer().id())
            .await
            .unwrap();
        let acceptance = current
            .accept_consent_among(day(1), &token(t), &rivals)
            .unwrap()
            .expect("a first acceptance");
        let commit = Commit::of_all(day(1), acceptance.clone().into_outcomes());
        match store.commit(commit).await {
            Ok(()) => {
                return Accepting {
                    failed,
                    written: acceptance,
                };
            }
            Err(error) if error.is_conflict() && failed.len() < 4 * RACERS as usize => {
                failed.push(error);
                tokio::task::yield_now().await;
            }
            Err(error) => panic!("the acceptance failed for good: {error} after {failed:?}"),
        }
    }
}

/// On an engagement allowing more live nominations than racers, a
/// customer's acceptance of partner 1 (decided among the rivals the store
/// holds, committed, decided again while that fails as retryable) races 31
/// other partners adding the same customer, round after round. Every rival
/// is either changed by the acceptance's commit or fails it as a guard
/// violation, never left asking beside the consent: each failed attempt is
/// the retryable R-CONSENT-10 guard; the written acceptance makes every
/// nomination stored before it lose, in its own commit; every add after it
/// is refused by the consent guard (R-CONSENT-8) and writes nothing; and no
/// nomination of the customer but the winner's is left asking, each loser
/// told by an outbox message.
pub async fn r_consent_10_an_acceptance_racing_new_rivals_changes_each_or_fails(
    store: Arc<dyn Store>,
) {
    let engagement = workshop(RACERS + 2);
    for round in 0..6u64 {
        let c = 100 + round;
        let winner = added(&store, 1, c, &engagement, start()).await;
        let winner = consent_sent(&store, &winner, start(), 1).await;
        // A rival known before the race, asking too.
        let known = added(&store, 2, c, &engagement, start()).await;
        let known = consent_sent(&store, &known, start(), 2).await;
        let results = race(|i| {
            let store = store.clone();
            let winner = winner.clone();
            let engagement = engagement.clone();
            async move {
                if i == 0 {
                    Raced::Accepted(Box::new(accept_among_rivals(&store, &winner, 1).await))
                } else {
                    // Spread over the acceptance's reads and commits, more
                    // widely each round, so that on a fast store and on a
                    // slow one some adds land before it and some after:
                    // none, yields (a timer's tick is a millisecond), then
                    // sleeps.
                    match round {
                        0 => {}
                        1 | 2 => {
                            for _ in 0..i * 10u32.pow(round as u32 - 1) {
                                tokio::task::yield_now().await;
                            }
                        }
                        _ => {
                            let step = [50, 150, 600][round as usize - 3];
                            let pause = std::time::Duration::from_micros(u64::from(i) * step);
                            tokio::time::sleep(pause).await;
                        }
                    }
                    let added = try_write(&store, add(i + 2, c, &engagement, day(1))).await;
                    Raced::Added(added.map(|n| *n.id()))
                }
            }
        })
        .await;
        let mut accepting = None;
        let mut adds = Vec::new();
        for result in results {
            match result {
                Raced::Accepted(a) => accepting = Some(*a),
                Raced::Added(r) => adds.push(r),
            }
        }
        let accepting = accepting.expect("the acceptance ran");
        for error in &accepting.failed {
            assert!(
                matches!(
                    error,
                    StoreError::GuardViolated {
                        guard: Guard::NoRivalAsking { .. }
                    }
                ),
                "round {round}: an acceptance fails only on a rival it did not decide on: {error:?}"
            );
            assert_eq!(error.rule(), Some("R-CONSENT-10"));
        }
        let lost: BTreeSet<NominationId> = accepting
            .written
            .losers
            .iter()
            .map(|o| *o.nomination.id())
            .collect();
        assert!(
            lost.contains(known.id()),
            "round {round}: the known rival lost"
        );
        for add in &adds {
            match add {
                Ok(id) => assert!(
                    lost.contains(id),
                    "round {round}: {id} was added before the acceptance was written, \
                     so the acceptance changed it"
                ),
                Err(error) => assert_eq!(
                    error.rule(),
                    Some("R-CONSENT-8"),
                    "round {round}: an add after the acceptance is refused: {error:?}"
                ),
            }
        }
        let stored = store
            .rivals(engagement.id(), customer(c).id())
            .await
            .unwrap();
        let written_adds = adds.iter().filter(|a| a.is_ok()).count();
        assert_eq!(
            stored.len(),
            2 + written_adds,
            "a refused add wrote nothing"
        );
        let by_id: BTreeMap<NominationId, &Nomination> =
            stored.iter().map(|n| (*n.id(), n)).collect();
        assert_eq!(by_id[winner.id()].state(), State::Consented);
        for n in stored.iter().filter(|n| n.id() != winner.id()) {
            assert!(lost.contains(n.id()), "round {round}: {} escaped", n.id());
            assert_eq!(n.lost_at(), Some(day(1)));
            assert!(!n.standing().asking_at(day(1)));
            assert!(n.standing().live_at(day(1)), "a loser stays live");
            assert!(n.links().is_empty());
            let history = store.history(n.id()).await.unwrap();
            assert_eq!(
                history.last().map(|e| &e.kind),
                Some(&EventKind::ConsentedToAnotherPartner)
            );
        }
        let asking = store
            .standings(engagement.id(), customer(c).id())
            .await
            .unwrap()
            .iter()
            .filter(|(_, s)| s.asking_at(day(1)))
            .count();
        assert_eq!(asking, 0, "round {round}: no rival is left asking");
        let told: BTreeSet<NominationId> = store
            .take_messages(day(1), day(2), 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| {
                matches!(
                    m.message.kind,
                    MessageKind::ConsentedToAnotherPartner { .. }
                )
            })
            .map(|m| m.message.nomination)
            .collect();
        assert_eq!(told, lost, "round {round}: each loser is told");
    }
}
