//! Two application servers whose clocks differ, on one database (the crate
//! documentation's "Clocks"): two `PostgresStore` handles with pools of
//! their own, `fast` whose clock runs [`SKEW`] ahead of `slow`'s. Each
//! passes its own `now`; the store reads no clock. At one true instant `τ`
//! the slow server reads `τ` and the fast one `τ + SKEW`.
//!
//! - Racing acceptances across the handles still make exactly one consent
//!   (R-CONSENT-8): the guard counts what is stored, whatever the clocks.
//! - A lease is an instant of its taker's clock. A message the fast server
//!   leased comes back to the slow one up to the skew after the lease
//!   ended, never before it ended on the slow clock; a message the slow
//!   server leased comes back to the fast one up to the skew before the
//!   lease ends on the slow clock (R-REC-2: at least once).
//! - A guard at a deadline is decided by each handle's own `now`: at one
//!   true instant the slow server still counts a nomination live that the
//!   fast one counts ended (R-ENG-5).
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use chrono::TimeDelta;
use mci_core::{Guard, Instant, Nomination, Outcome, State, Step};
use mci_pg_harness::Cluster;
use mci_store::{Commit, Store, StoreError};
use mci_store_postgres::PostgresStore;
use mci_testkit::{nomination_id, t0};
use std::sync::Arc;
use support::*;

/// How far the fast server's clock runs ahead of the slow one's.
const SKEW: TimeDelta = TimeDelta::seconds(3);

/// The racing acceptances on each handle.
const PER_HANDLE: u32 = 16;

/// Two handles on one fresh database of `cluster`: (fast, slow).
async fn pair(cluster: &Cluster, name: &str) -> (Arc<dyn Store>, Arc<dyn Store>) {
    cluster.create_database(name).unwrap();
    let url = cluster.connection_string(name);
    let fast = PostgresStore::connect(url.as_str()).await.unwrap();
    let slow = PostgresStore::connect(url.as_str()).await.unwrap();
    (Arc::new(fast), Arc::new(slow))
}

/// The instant the slow server reads at true instant `tau`.
fn slow_clock(tau: Instant) -> Instant {
    tau
}

/// The instant the fast server reads at true instant `tau`.
fn fast_clock(tau: Instant) -> Instant {
    tau + SKEW
}

/// `outcome` with the consent guard alone of its acceptance guards, so
/// that acceptances race each other, not the rivals they would make lose.
fn consent_guard_only(mut outcome: Outcome) -> Outcome {
    outcome
        .guards
        .retain(|g| !matches!(g, Guard::NoRivalAsking { .. }));
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r_consent_8_acceptances_racing_on_servers_with_skewed_clocks_make_one_consent() {
    let Some(cluster) = Cluster::start_or_skip(
        "r_consent_8_acceptances_racing_on_servers_with_skewed_clocks_make_one_consent",
    ) else {
        return;
    };
    let (fast, slow) = pair(&cluster, "consent").await;
    let engagement = workshop("skew-workshop", 2 * PER_HANDLE);
    let tau = t0();
    // Partners 1..=32 add customer 1 and send the consent email, the odd
    // ones through the fast server, the even ones through the slow one.
    let mut awaiting: Vec<(u32, Nomination)> = Vec::new();
    for p in 1..=2 * PER_HANDLE {
        let (store, now) = if p % 2 == 1 {
            (&fast, fast_clock(tau))
        } else {
            (&slow, slow_clock(tau))
        };
        let added = add(nomination_id(u64::from(p)), p, 1, &engagement, now);
        let n = added.nomination.clone();
        store.commit(Commit::of(now, added)).await.unwrap();
        let sent = send_consent(&n, p, u64::from(p), now);
        let n = sent.nomination.clone();
        store.commit(Commit::of(now, sent)).await.unwrap();
        awaiting.push((p, n));
    }
    // A day later all of them accept at once, each on its server's clock.
    let tau = tau + TimeDelta::days(1);
    let barrier = Arc::new(tokio::sync::Barrier::new(awaiting.len()));
    let racers: Vec<_> = awaiting
        .iter()
        .cloned()
        .map(|(p, n)| {
            let (store, now) = if p % 2 == 1 {
                (fast.clone(), fast_clock(tau))
            } else {
                (slow.clone(), slow_clock(tau))
            };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let Step::Changed(outcome) =
                    n.accept_consent(now, &token_of(u64::from(p))).unwrap()
                else {
                    panic!("a first acceptance changes the nomination");
                };
                barrier.wait().await;
                store
                    .commit(Commit::of(now, consent_guard_only(*outcome)))
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for racer in racers {
        results.push(racer.await.unwrap());
    }
    let won: Vec<usize> = (0..results.len()).filter(|i| results[*i].is_ok()).collect();
    assert_eq!(
        won.len(),
        1,
        "exactly one acceptance is written: {results:?}"
    );
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                error,
                StoreError::GuardViolated {
                    guard: Guard::NoOtherConsent { .. }
                }
            ),
            "a losing acceptance fails on the consent guard: {error:?}"
        );
    }
    // Both servers, each at its own clock, read the one consent.
    for (store, now) in [(&fast, fast_clock(tau)), (&slow, slow_clock(tau))] {
        let holding = store
            .standings(engagement.id(), customer(1).id())
            .await
            .unwrap()
            .iter()
            .filter(|(_, s)| s.holds_consent_at(now))
            .count();
        assert_eq!(holding, 1);
        let (_, winner) = &awaiting[won[0]];
        let stored = store.nomination_by_id(winner.id()).await.unwrap().unwrap();
        assert_eq!(stored.state(), State::Consented);
    }
}

/// One message queued at `now` through `store`: partner 1 adds customer
/// `c` and sends it the consent email.
async fn one_message(store: &Arc<dyn Store>, c: u64, now: Instant) {
    let engagement = workshop("skew-workshop", 4);
    let added = add(nomination_id(1_000 + c), 1, c, &engagement, now);
    let n = added.nomination.clone();
    store.commit(Commit::of(now, added)).await.unwrap();
    let sent = send_consent(&n, 1, 1_000 + c, now);
    assert_eq!(sent.messages.len(), 1, "the consent email");
    store.commit(Commit::of(now, sent)).await.unwrap();
}

/// How many messages `store` takes at `now`, leased for a minute.
async fn takes(store: &Arc<dyn Store>, now: Instant) -> usize {
    store
        .take_messages(now, now + TimeDelta::minutes(1), 100)
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r_rec_2_a_lease_runs_on_its_takers_clock_and_comes_back_within_the_skew() {
    let Some(cluster) = Cluster::start_or_skip(
        "r_rec_2_a_lease_runs_on_its_takers_clock_and_comes_back_within_the_skew",
    ) else {
        return;
    };
    let one_micro = TimeDelta::microseconds(1);
    let lease = TimeDelta::minutes(1);

    // Leased by the fast server: back to the slow one up to the skew late.
    let (fast, slow) = pair(&cluster, "lease_fast").await;
    let tau = t0();
    one_message(&fast, 1, fast_clock(tau)).await;
    let tau = tau + TimeDelta::seconds(10);
    assert_eq!(takes(&fast, fast_clock(tau)).await, 1);
    let lease_end = fast_clock(tau) + lease; // as the fast clock counts it
    // The lease ends at tau + lease, true time: the slow clock then reads
    // tau + lease, and the message is not back yet.
    assert_eq!(takes(&slow, slow_clock(tau + lease)).await, 0);
    // Not a microsecond before the lease's end read on the slow clock...
    assert_eq!(takes(&slow, lease_end - one_micro).await, 0);
    // ...and back at it: SKEW after the lease ended, true time.
    assert_eq!(slow_clock(tau + lease + SKEW), lease_end);
    assert_eq!(takes(&slow, slow_clock(tau + lease + SKEW)).await, 1);

    // Leased by the slow server: back to the fast one up to the skew early.
    let (fast, slow) = pair(&cluster, "lease_slow").await;
    let tau = t0();
    one_message(&slow, 2, slow_clock(tau)).await;
    let tau = tau + TimeDelta::seconds(10);
    assert_eq!(takes(&slow, slow_clock(tau)).await, 1);
    let lease_end = slow_clock(tau) + lease; // as the slow clock counts it
    // The fast clock reads the lease's end SKEW before the lease ends, true
    // time: never before...
    assert_eq!(fast_clock(tau + lease - SKEW), lease_end);
    assert_eq!(takes(&fast, lease_end - one_micro).await, 0);
    // ...but then the message is taken again, while the slow server still
    // holds the lease by its own clock.
    assert_eq!(takes(&fast, fast_clock(tau + lease - SKEW)).await, 1);
    assert!(slow_clock(tau + lease - SKEW) < lease_end);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r_eng_5_a_guard_at_a_deadline_is_decided_by_each_servers_own_clock() {
    let Some(cluster) = Cluster::start_or_skip(
        "r_eng_5_a_guard_at_a_deadline_is_decided_by_each_servers_own_clock",
    ) else {
        return;
    };
    let (fast, slow) = pair(&cluster, "deadline").await;
    // One live nomination per customer (R-ENG-5); partner 1's, added on the
    // slow server, is live until its consent deadline.
    let engagement = workshop("skew-workshop", 1);
    let first = add(nomination_id(1), 1, 7, &engagement, slow_clock(t0()));
    let deadline = first.nomination.standing().until.unwrap();
    slow.commit(Commit::of(slow_clock(t0()), first))
        .await
        .unwrap();

    // At the true instant the fast clock reads the deadline, the slow one
    // reads SKEW before it: partner 2's add is refused there...
    let tau = deadline - SKEW;
    let second = |id: u64, now: Instant| add(nomination_id(id), 2, 7, &engagement, now);
    let refused = slow
        .commit(Commit::of(slow_clock(tau), second(2, slow_clock(tau))))
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::GuardViolated {
                guard: Guard::LiveNominationsBelow { .. }
            })
        ),
        "the slow server counts partner 1's nomination live: {refused:?}"
    );
    // ...a microsecond before the deadline on the fast clock too...
    let early = fast_clock(tau) - TimeDelta::microseconds(1);
    assert!(
        fast.commit(Commit::of(early, second(3, early)))
            .await
            .is_err()
    );
    // ...and admitted on the fast server at the same true instant: its
    // clock reads the deadline, when partner 1's nomination ends.
    assert_eq!(fast_clock(tau), deadline);
    fast.commit(Commit::of(fast_clock(tau), second(4, fast_clock(tau))))
        .await
        .unwrap();
    let live = slow
        .standings(engagement.id(), customer(7).id())
        .await
        .unwrap()
        .iter()
        .filter(|(_, s)| s.live_at(slow_clock(tau)))
        .count();
    assert_eq!(
        live, 2,
        "read on the slow clock, the customer has two live nominations until the deadline"
    );
}
