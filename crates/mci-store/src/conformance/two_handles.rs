//! Two handles on one database: what several application servers sharing
//! one database see (R-CONSENT-8, R-CONSENT-10, R-ADD-7, R-ENG-5, R-REC-1,
//! R-REC-2, R-REC-4, R-REC-5), and the settings they share.
//!
//! Each behaviour takes two handles `a` and `b` over one fresh, empty
//! database (two connection pools of a server store, two opens of one
//! file, or one shared memory store) and, but for
//! [`r_rec_1_two_handles_read_each_others_commits`], races 32 tasks on
//! each, 64 in all, started together on one barrier. The guards, versions,
//! keys and leases must hold across the handles exactly as they do among
//! the tasks of one handle, and what one handle commits the other reads at
//! once.

use super::concurrency::race_n;
use super::fixtures::*;
use crate::{
    Commit, Fingerprint, IdempotencyKey, IdempotentResult, Leased, SettingCondition, SettingKey,
    SettingValue, Store, StoreError,
};
use chrono::TimeDelta;
use mci_core::*;
use mci_testkit::{admin_of, comment, link, partner, token};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The racing tasks on each handle.
const PER_HANDLE: u32 = 32;

/// The racing tasks in all, on both handles.
const RACERS: u32 = 2 * PER_HANDLE;

/// Two handles on one database.
#[derive(Clone)]
struct Pair {
    a: Arc<dyn Store>,
    b: Arc<dyn Store>,
}

impl Pair {
    fn new(a: Arc<dyn Store>, b: Arc<dyn Store>) -> Self {
        Self { a, b }
    }

    /// The handle racer `i` runs on: `a` for even racers, `b` for odd
    /// ones, so that each gets [`PER_HANDLE`] and they are spawned in turn.
    fn on(&self, i: u32) -> &Arc<dyn Store> {
        if i.is_multiple_of(2) {
            &self.a
        } else {
            &self.b
        }
    }

    /// The handle racer `i` does not run on.
    fn other(&self, i: u32) -> &Arc<dyn Store> {
        self.on(i + 1)
    }

    /// Both handles, each with its name for the assertions' messages.
    fn both(&self) -> [(&'static str, &Arc<dyn Store>); 2] {
        [("a", &self.a), ("b", &self.b)]
    }
}

/// Partners 1 to `partners` add customer `c` to `engagement` and send it
/// the consent email through link `p` (partner `p`'s token is `token(p)`):
/// the odd partners' adds are committed through `a` and the even ones'
/// through `b`, in one commit each, and the emails through the other
/// handle. The nominations awaiting consent, in partner order.
async fn awaiting_consent(
    pair: &Pair,
    engagement: &Engagement,
    c: u64,
    partners: u32,
) -> Vec<Nomination> {
    let mut added = Vec::new();
    for (handle, odd) in [(&pair.a, true), (&pair.b, false)] {
        let outcomes: Vec<Outcome> = (1..=partners)
            .filter(|p| (p % 2 == 1) == odd)
            .map(|p| add(p, c, engagement, start()))
            .collect();
        added.extend(outcomes.iter().map(|o| o.nomination.clone()));
        handle
            .commit(Commit::of_all(start(), outcomes))
            .await
            .unwrap();
    }
    added.sort_by_key(partner_number);
    let mut awaiting = Vec::new();
    for (handle, odd) in [(&pair.b, true), (&pair.a, false)] {
        let outcomes: Vec<Outcome> = added
            .iter()
            .filter(|n| (partner_number(n) % 2 == 1) == odd)
            .map(|n| {
                let p = partner_number(n);
                n.send_consent(
                    start(),
                    &admin_of(p),
                    SendConsent::default(),
                    &link(p as u8),
                )
                .unwrap()
            })
            .collect();
        awaiting.extend(outcomes.iter().map(|o| o.nomination.clone()));
        handle
            .commit(Commit::of_all(start(), outcomes))
            .await
            .unwrap();
    }
    awaiting.sort_by_key(partner_number);
    awaiting
}

/// The indices of the racers whose commit was written.
fn winners<T, E>(results: &[Result<T, E>]) -> Vec<usize> {
    results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| i)
        .collect()
}

/// 64 partners' nominations of one customer await consent; 32 of their
/// acceptances race on each handle, each carrying the consent guard alone
/// (as [`one_consent_per_customer_under_concurrency`](super::one_consent_per_customer_under_concurrency)
/// does on one handle). Exactly one acceptance is written over both
/// handles; every other fails with the R-CONSENT-8 guard and writes
/// nothing; and each handle reads back exactly one nomination holding the
/// consent, the winner's, every other as it was before the race.
pub async fn r_consent_8_two_handles_one_consent(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let pair = Pair::new(a, b);
    let engagement = workshop(RACERS);
    let awaiting = awaiting_consent(&pair, &engagement, 1, RACERS).await;
    let results = race_n(RACERS, |i| {
        let store = pair.on(i).clone();
        let n = awaiting[i as usize].clone();
        async move {
            let t = partner_number(&n) as u8;
            let Step::Changed(outcome) = n.accept_consent(day(1), &token(t)).unwrap() else {
                panic!("a first acceptance changes the nomination");
            };
            store
                .commit(Commit::of(day(1), consent_guard_only(*outcome)))
                .await
        }
    })
    .await;
    let won = winners(&results);
    assert_eq!(won.len(), 1, "exactly one acceptance succeeds: {results:?}");
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                err,
                StoreError::GuardViolated {
                    guard: Guard::NoOtherConsent { .. }
                }
            ),
            "a losing acceptance fails on the consent guard: {err:?}"
        );
        assert_eq!(err.rule(), Some("R-CONSENT-8"));
    }
    for (name, store) in pair.both() {
        let holding = store
            .standings(engagement.id(), customer(1).id())
            .await
            .unwrap()
            .iter()
            .filter(|(_, s)| s.holds_consent_at(day(1)))
            .count();
        assert_eq!(holding, 1, "handle {name}: exactly one consent is stored");
        for (i, n) in awaiting.iter().enumerate() {
            let stored = store.nomination_by_id(n.id()).await.unwrap().unwrap();
            if i == won[0] {
                assert_eq!(stored.state(), State::Consented, "handle {name}");
            } else {
                assert_eq!(stored, *n, "handle {name}: a refused acceptance wrote");
            }
        }
    }
}

/// What one racer of
/// [`r_consent_10_two_handles_one_acceptance_and_the_rest_lose`] did.
#[derive(Debug)]
enum Decided {
    /// Its acceptance was written.
    Won,
    /// The core refused its acceptance once it read its nomination lost.
    Refused,
}

/// 64 partners' nominations of one customer await consent on an
/// engagement allowing 64 live nominations; 32 of their acceptances race
/// on each handle, each decided among the rivals its handle reads (so each
/// commit writes all 64 nominations, the rivals in the order the store gave
/// them and its own last, so that no two commits list them alike), all
/// decided before the race and committed at once, then decided again from
/// a fresh read while the commit fails as retryable, as the service does
/// (R-CONSENT-10).
///
/// Exactly one acceptance is written. Every failed commit is retryable
/// (a stale version, R-REC-4, or a rival that appeared, R-CONSENT-10: never
/// a backend error, such as a deadlock between two handles locking the
/// rivals in different orders), and every other racer ends with the core
/// refusing its acceptance, its nomination lost. Each handle reads the
/// winner consented and every other nomination lost at the acceptance's
/// instant in the winner's commit: live, no longer asking, links void,
/// with one "consented to another partner" event; no nomination of the
/// customer is left asking, and each loser's partner counts it on its
/// Ineligible tab. The outbox holds one "consented to another partner"
/// message per loser, none for the winner, taken whole through `a`, and
/// none left to `b` during their lease.
pub async fn r_consent_10_two_handles_one_acceptance_and_the_rest_lose(
    a: Arc<dyn Store>,
    b: Arc<dyn Store>,
) {
    let pair = Pair::new(a, b);
    let engagement = workshop(RACERS);
    let c = 2;
    let awaiting = awaiting_consent(&pair, &engagement, c, RACERS).await;
    // Every first attempt is decided before the race, from what its
    // handle reads, so that the 64 commits meet in the store at once.
    let mut read = Vec::new();
    for i in 0..2 {
        read.push(
            pair.on(i)
                .rivals(engagement.id(), customer(c).id())
                .await
                .unwrap(),
        );
    }
    let first: Vec<Acceptance> = awaiting
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let t = partner_number(n) as u8;
            n.accept_consent_among(day(1), &token(t), &read[i % 2])
                .unwrap()
                .expect("a first acceptance changes the nomination")
        })
        .collect();
    let decided = race_n(RACERS, |i| {
        let store = pair.on(i).clone();
        let id = *awaiting[i as usize].id();
        let t = partner_number(&awaiting[i as usize]) as u8;
        let mut next = Some(first[i as usize].clone());
        async move {
            let mut failed = Vec::new();
            loop {
                let acceptance = match next.take() {
                    Some(acceptance) => acceptance,
                    None => {
                        let current = store.nomination_by_id(&id).await.unwrap().unwrap();
                        if current.lost_at().is_some() {
                            // Lost to the winner: its link is void, so the
                            // core refuses whatever the rivals (R-CONSENT-10).
                            assert!(
                                current
                                    .accept_consent_among(day(1), &token(t), &[])
                                    .is_err(),
                                "racer {i}: a lost nomination accepts no consent"
                            );
                            return Decided::Refused;
                        }
                        let rivals = store
                            .rivals(current.engagement(), current.customer().id())
                            .await
                            .unwrap();
                        let Ok(acceptance) =
                            current.accept_consent_among(day(1), &token(t), &rivals)
                        else {
                            return Decided::Refused;
                        };
                        acceptance.expect("a first acceptance changes the nomination")
                    }
                };
                match store
                    .commit(Commit::of_all(day(1), acceptance.into_outcomes()))
                    .await
                {
                    Ok(()) => return Decided::Won,
                    Err(error) if error.is_conflict() && failed.len() < 4 * RACERS as usize => {
                        failed.push(error);
                        tokio::task::yield_now().await;
                    }
                    Err(error) => {
                        panic!(
                            "racer {i}: the acceptance failed for good: {error:?} after {failed:?}"
                        )
                    }
                }
            }
        }
    })
    .await;
    let won: Vec<usize> = decided
        .iter()
        .enumerate()
        .filter(|(_, d)| matches!(d, Decided::Won))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        won.len(),
        1,
        "exactly one acceptance is written: {decided:?}"
    );
    let winner = *awaiting[won[0]].id();
    let losers: BTreeSet<NominationId> = awaiting
        .iter()
        .map(|n| *n.id())
        .filter(|id| *id != winner)
        .collect();
    for (name, store) in pair.both() {
        let stored = store
            .rivals(engagement.id(), customer(c).id())
            .await
            .unwrap();
        assert_eq!(stored.len(), RACERS as usize, "handle {name}");
        for n in &stored {
            if *n.id() == winner {
                assert_eq!(n.state(), State::Consented, "handle {name}");
                continue;
            }
            assert!(losers.contains(n.id()), "handle {name}: {} unknown", n.id());
            assert_eq!(
                n.lost_at(),
                Some(day(1)),
                "handle {name}: {} escaped",
                n.id()
            );
            assert!(!n.standing().asking_at(day(1)), "handle {name}");
            assert!(
                n.standing().live_at(day(1)),
                "handle {name}: a loser stays live"
            );
            assert!(n.links().is_empty(), "handle {name}: its links are void");
            let history = store.history(n.id()).await.unwrap();
            let lost = history
                .iter()
                .filter(|e| e.kind == EventKind::ConsentedToAnotherPartner)
                .count();
            assert_eq!(lost, 1, "handle {name}: {} lost once", n.id());
            assert_eq!(
                history.last().map(|e| &e.kind),
                Some(&EventKind::ConsentedToAnotherPartner),
                "handle {name}"
            );
            let counts = store
                .count(n.partner(), engagement.id(), day(1))
                .await
                .unwrap();
            assert_eq!(counts.get(Tab::Ineligible), 1, "handle {name}: {counts:?}");
        }
        let standings = store
            .standings(engagement.id(), customer(c).id())
            .await
            .unwrap();
        assert_eq!(
            standings
                .iter()
                .filter(|(_, s)| s.asking_at(day(1)))
                .count(),
            0,
            "handle {name}: no rival is left asking"
        );
        assert_eq!(
            standings
                .iter()
                .filter(|(_, s)| s.holds_consent_at(day(1)))
                .count(),
            1,
            "handle {name}"
        );
    }
    let mut told: BTreeMap<NominationId, usize> = BTreeMap::new();
    for leased in pair.a.take_messages(day(1), day(2), 10_000).await.unwrap() {
        if matches!(
            leased.message.kind,
            MessageKind::ConsentedToAnotherPartner { .. }
        ) {
            *told.entry(leased.message.nomination).or_default() += 1;
        }
    }
    assert_eq!(
        told.keys().copied().collect::<BTreeSet<_>>(),
        losers,
        "each loser is told, the winner is not"
    );
    assert!(told.values().all(|&n| n == 1), "each loser is told once");
    assert!(
        pair.b
            .take_messages(day(1), day(2), 10_000)
            .await
            .unwrap()
            .is_empty(),
        "what a took is leased to it"
    );
}

/// One partner adds one customer 64 times at once, 32 times on each
/// handle: exactly one nomination is written over both handles, every
/// other add fails with the R-ADD-7 guard and writes nothing, and each
/// handle reads the one nomination, and none of the refused ones.
pub async fn r_add_7_two_handles_no_duplicate_nomination(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let pair = Pair::new(a, b);
    let engagement = workshop(RACERS + 1);
    let outcomes: Vec<Outcome> = (0..RACERS)
        .map(|_| add(1, 7, &engagement, start()))
        .collect();
    let results = race_n(RACERS, |i| {
        let store = pair.on(i).clone();
        let outcome = outcomes[i as usize].clone();
        async move { try_write(&store, outcome).await }
    })
    .await;
    let won = winners(&results);
    assert_eq!(won.len(), 1, "{results:?}");
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                err,
                StoreError::GuardViolated {
                    guard: Guard::NoOtherLiveNomination { .. }
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.rule(), Some("R-ADD-7"));
    }
    for (name, store) in pair.both() {
        let standings = store
            .standings(engagement.id(), customer(7).id())
            .await
            .unwrap();
        assert_eq!(standings.len(), 1, "handle {name}");
        for (i, outcome) in outcomes.iter().enumerate() {
            let stored = store
                .nomination_by_id(outcome.nomination.id())
                .await
                .unwrap();
            let expected = (i == won[0]).then(|| outcome.nomination.clone());
            assert_eq!(stored, expected, "handle {name}: add {i}");
        }
    }
}

/// 64 partners add one customer at once, 32 on each handle, to an
/// engagement allowing 3 live nominations: exactly 3 are written over both
/// handles, every other add fails with the R-ENG-5 guard and writes
/// nothing, and each handle reads exactly the 3 written, live.
pub async fn r_eng_5_two_handles_live_nomination_limit(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let pair = Pair::new(a, b);
    let engagement = workshop(3);
    let outcomes: Vec<Outcome> = (0..RACERS)
        .map(|i| add(i + 1, 9, &engagement, start()))
        .collect();
    let results = race_n(RACERS, |i| {
        let store = pair.on(i).clone();
        let outcome = outcomes[i as usize].clone();
        async move { try_write(&store, outcome).await }
    })
    .await;
    let won = winners(&results);
    assert_eq!(won.len(), 3, "{results:?}");
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                err,
                StoreError::GuardViolated {
                    guard: Guard::LiveNominationsBelow { .. }
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.rule(), Some("R-ENG-5"));
    }
    for (name, store) in pair.both() {
        let standings = store
            .standings(engagement.id(), customer(9).id())
            .await
            .unwrap();
        assert_eq!(standings.len(), 3, "handle {name}");
        assert_eq!(
            standings.iter().filter(|(_, s)| s.live_at(start())).count(),
            3,
            "handle {name}"
        );
        for (i, outcome) in outcomes.iter().enumerate() {
            let stored = store
                .nomination_by_id(outcome.nomination.id())
                .await
                .unwrap();
            let expected = won.contains(&i).then(|| outcome.nomination.clone());
            assert_eq!(stored, expected, "handle {name}: add {i}");
        }
    }
}

/// 64 writers, 32 on each handle, comment one nomination from the same
/// version: exactly one is written over both handles, every other fails
/// as a retryable conflict expecting that version, and the history read
/// from either handle holds exactly the creation and the winner's comment,
/// the stored nomination the winner's. Then 64 writers again, each
/// retrying from a fresh read on its handle until it lands: every update
/// is kept, and either handle reads one event per success in version
/// order (R-REC-4).
pub async fn r_rec_4_two_handles_no_lost_update(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let pair = Pair::new(a, b);
    let engagement = workshop(1);
    let n = added(&pair.a, 1, 1, &engagement, start()).await;
    let outcomes: Vec<Outcome> = (0..RACERS)
        .map(|i| {
            n.add_comment(day(1), &admin_of(1), comment(&format!("first {i}")))
                .unwrap()
        })
        .collect();
    let results = race_n(RACERS, |i| {
        let store = pair.on(i).clone();
        let outcome = outcomes[i as usize].clone();
        async move { store.commit(Commit::of(day(1), outcome)).await }
    })
    .await;
    let won = winners(&results);
    assert_eq!(won.len(), 1, "{results:?}");
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(err, StoreError::Conflict { expected: 1, .. }),
            "{err:?}"
        );
        assert!(err.is_conflict());
    }
    let winner = &outcomes[won[0]];
    for (name, store) in pair.both() {
        let history = store.history(n.id()).await.unwrap();
        assert_eq!(history.len(), 2, "handle {name}: {history:?}");
        assert_eq!(
            history[1], winner.event,
            "handle {name}: the winner's event"
        );
        assert_eq!(
            store.nomination_by_id(n.id()).await.unwrap().as_ref(),
            Some(&winner.nomination),
            "handle {name}"
        );
    }

    let attempts = race_n(RACERS, |i| {
        let store = pair.on(i).clone();
        let id = *n.id();
        async move {
            for attempt in 0..16 * RACERS {
                let current = store.nomination(&partner(1), &id).await.unwrap().unwrap();
                let outcome = current
                    .add_comment(day(2), &admin_of(1), comment(&format!("retried {i}")))
                    .unwrap();
                match store.commit(Commit::of(day(2), outcome)).await {
                    Ok(()) => return attempt + 1,
                    Err(err) if err.is_conflict() => tokio::task::yield_now().await,
                    Err(err) => panic!("racer {i}: unexpected {err:?}"),
                }
            }
            panic!("racer {i} never landed its update")
        }
    })
    .await;
    assert!(attempts.iter().all(|&a| a >= 1));
    for (name, store) in pair.both() {
        let history = store.history(n.id()).await.unwrap();
        let versions: Vec<u64> = history.iter().map(|e| e.version).collect();
        let expected: Vec<u64> = (1..=u64::from(2 + RACERS)).collect();
        assert_eq!(versions, expected, "handle {name}: one event per success");
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
                "handle {name}: update {i} was lost"
            );
        }
        let stored = store.nomination_by_id(n.id()).await.unwrap().unwrap();
        assert_eq!(stored.claim().comments.len(), 1 + RACERS as usize);
    }
}

/// 64 commits, 32 on each handle, carry one idempotency key at once, each
/// adding another customer (so that each would be written without the
/// key), with one fingerprint when `same_command`, or one fingerprint each.
/// Exactly one is written; each other is refused as the key already used
/// (R-REC-5): [`StoreError::IdempotencyKeyUsed`] for the same command,
/// [`StoreError::IdempotencyKeyMismatch`] naming the key for another; none
/// of the refused ones is written; and both handles answer the first
/// result with its fingerprint.
async fn one_key_across_handles(pair: Pair, same_command: bool) {
    let engagement = workshop(5);
    let key = IdempotencyKey::new("p1", "two-handles-add").unwrap();
    let commits: Vec<(Outcome, Fingerprint, String)> = (0..RACERS)
        .map(|i| {
            let outcome = add(1, 100 + u64::from(i), &engagement, start());
            let input = if same_command {
                "the customer".to_owned()
            } else {
                format!("customer {i}")
            };
            let fingerprint = Fingerprint::of("add_customer", None, &input).unwrap();
            let result = format!("created {}", outcome.nomination.id());
            (outcome, fingerprint, result)
        })
        .collect();
    let results = race_n(RACERS, |i| {
        let store = pair.on(i).clone();
        let (outcome, fingerprint, result) = commits[i as usize].clone();
        let key = key.clone();
        async move {
            store
                .commit(Commit::of(start(), outcome).idempotent(key, fingerprint, result))
                .await
        }
    })
    .await;
    let won = winners(&results);
    assert_eq!(won.len(), 1, "one commit uses the key: {results:?}");
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        if same_command {
            assert!(matches!(err, StoreError::IdempotencyKeyUsed), "{err:?}");
        } else {
            assert!(
                matches!(err, StoreError::IdempotencyKeyMismatch { key: k } if *k == key),
                "{err:?}"
            );
        }
        assert_eq!(err.rule(), Some("R-REC-5"));
    }
    let (_, fingerprint, result) = &commits[won[0]];
    let first = IdempotentResult {
        fingerprint: Some(*fingerprint),
        result: result.clone(),
    };
    for (name, store) in pair.both() {
        assert_eq!(
            store.idempotent_result(&key).await.unwrap(),
            Some(first.clone()),
            "handle {name}: the first result"
        );
        for (i, (outcome, _, _)) in commits.iter().enumerate() {
            let stored = store
                .nomination_by_id(outcome.nomination.id())
                .await
                .unwrap();
            let expected = (i == won[0]).then(|| outcome.nomination.clone());
            assert_eq!(stored, expected, "handle {name}: commit {i}");
        }
    }
}

/// One idempotency key, one command, 64 commits at once over two handles:
/// one is written, 63 are refused with [`StoreError::IdempotencyKeyUsed`]
/// and write nothing, and both handles answer the first result (R-REC-5).
pub async fn r_rec_5_two_handles_one_key_writes_once(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    one_key_across_handles(Pair::new(a, b), true).await;
}

/// One idempotency key, 64 commands with fingerprints of their own, at
/// once over two handles: one is written, 63 are refused with
/// [`StoreError::IdempotencyKeyMismatch`] naming the key and write
/// nothing, and both handles answer the first result with the first
/// command's fingerprint (R-REC-5).
pub async fn r_rec_5_two_handles_one_key_bound_to_its_command(
    a: Arc<dyn Store>,
    b: Arc<dyn Store>,
) {
    one_key_across_handles(Pair::new(a, b), false).await;
}

/// The messages queued by [`r_rec_2_two_handles_share_the_outbox`].
const MESSAGES: u64 = 200;

/// The most messages a racer takes at once.
const BATCH: usize = 3;

/// 200 consent emails are queued, half through each handle; then 32 tasks
/// on each handle take batches of at most 3 at one instant with one lease,
/// each until it gets none (R-REC-2). Every message is taken, each by one
/// task only (none is delivered twice within its lease), each at its first
/// attempt; neither handle has anything left to take during the lease.
/// Each task acknowledges what it took through the *other* handle, all but
/// every tenth message; once the lease ends those 20 come back, at their
/// second attempt, to whichever handle takes first, and none of the
/// acknowledged ones does; acknowledged in turn, nothing comes back to
/// either handle after their lease.
pub async fn r_rec_2_two_handles_share_the_outbox(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let pair = Pair::new(a, b);
    let engagement = workshop(1);
    let customers: Vec<u64> = (1..=MESSAGES).collect();
    let (first, second) = customers.split_at(customers.len() / 2);
    let mut added = Vec::new();
    for (store, half) in [(&pair.a, first), (&pair.b, second)] {
        let outcomes: Vec<Outcome> = half
            .iter()
            .map(|&c| add(1, c, &engagement, start()))
            .collect();
        added.extend(outcomes.iter().map(|o| o.nomination.clone()));
        store
            .commit(Commit::of_all(start(), outcomes))
            .await
            .unwrap();
    }
    let mut queued = Vec::new();
    let (first, second) = added.split_at(added.len() / 2);
    for (store, half, offset) in [(&pair.b, first, 1), (&pair.a, second, 1 + first.len())] {
        let outcomes: Vec<Outcome> = half
            .iter()
            .enumerate()
            .map(|(i, n)| {
                n.send_consent(
                    start(),
                    &admin_of(1),
                    SendConsent::default(),
                    &link((offset + i) as u8),
                )
                .unwrap()
            })
            .collect();
        queued.extend(
            outcomes
                .iter()
                .flat_map(|o| o.messages.iter().map(|m| m.id)),
        );
        store
            .commit(Commit::of_all(start(), outcomes))
            .await
            .unwrap();
    }
    let all: BTreeSet<MessageId> = queued.iter().copied().collect();
    assert_eq!(all.len(), MESSAGES as usize, "one consent email each");

    let now = day(1);
    let lease = now + TimeDelta::minutes(5);
    let taken: Vec<Vec<Leased>> = race_n(RACERS, |i| {
        let store = pair.on(i).clone();
        async move {
            let mut taken = Vec::new();
            loop {
                let batch = store.take_messages(now, lease, BATCH).await.unwrap();
                assert!(batch.len() <= BATCH, "the limit bounds the batch");
                if batch.is_empty() {
                    return taken;
                }
                taken.extend(batch);
                assert!(
                    taken.len() <= MESSAGES as usize,
                    "racer {i} took more messages than were queued: they come back within their lease"
                );
            }
        }
    })
    .await;
    let mut by_racer: BTreeMap<MessageId, Vec<usize>> = BTreeMap::new();
    for (i, leased) in taken.iter().enumerate() {
        for l in leased {
            by_racer.entry(l.message.id).or_default().push(i);
            assert_eq!(l.attempt, 1, "taken once within its lease");
        }
    }
    let twice: Vec<_> = by_racer.iter().filter(|(_, r)| r.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "taken by two racers within one lease: {twice:?}"
    );
    assert_eq!(
        by_racer.keys().copied().collect::<BTreeSet<_>>(),
        all,
        "every message is taken"
    );
    for (name, store) in pair.both() {
        assert!(
            store
                .take_messages(now, lease, 10_000)
                .await
                .unwrap()
                .is_empty(),
            "handle {name}: nothing left during the lease"
        );
    }

    let kept: BTreeSet<MessageId> = queued.iter().step_by(10).copied().collect();
    let acknowledged = race_n(RACERS, |i| {
        let store = pair.other(i).clone();
        let ids: Vec<MessageId> = taken[i as usize]
            .iter()
            .map(|l| l.message.id)
            .filter(|id| !kept.contains(id))
            .collect();
        async move { store.acknowledge(&ids).await }
    })
    .await;
    assert!(acknowledged.iter().all(Result::is_ok), "{acknowledged:?}");

    let later = lease + TimeDelta::minutes(5);
    let again = pair.a.take_messages(lease, later, 10_000).await.unwrap();
    assert_eq!(
        again.iter().map(|l| l.message.id).collect::<BTreeSet<_>>(),
        kept,
        "only the unacknowledged messages come back when their lease ends"
    );
    assert_eq!(again.len(), kept.len(), "each once");
    assert!(again.iter().all(|l| l.attempt == 2));
    assert!(
        pair.b
            .take_messages(lease, later, 10_000)
            .await
            .unwrap()
            .is_empty(),
        "what a took again is leased to it"
    );
    let ids: Vec<MessageId> = kept.iter().copied().collect();
    pair.b.acknowledge(&ids).await.unwrap();
    for (name, store) in pair.both() {
        assert!(
            store
                .take_messages(day(1000), day(1001), 10_000)
                .await
                .unwrap()
                .is_empty(),
            "handle {name}: an acknowledged message never returns"
        );
    }
}

/// What one handle commits the other reads at once (R-REC-1, R-PAGE-1,
/// R-TOKEN-2, R-REC-2): in 8 rounds, the handles taking turns, one handle
/// adds a customer and the other reads at once the nomination, its
/// history, its standing, the Eligible tab's page and count holding it;
/// the reading handle then sends the consent email, and the first reads
/// at once the new version, its history, the nomination by its new link,
/// and takes the email from its outbox.
pub async fn r_rec_1_two_handles_read_each_others_commits(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let pair = Pair::new(a, b);
    let engagement = workshop(1);
    for round in 0..8u32 {
        let (writer, reader) = (pair.on(round), pair.other(round));
        let c = u64::from(round) + 1;
        let n = added(writer, 1, c, &engagement, start()).await;
        assert_eq!(
            reader.nomination(&partner(1), n.id()).await.unwrap(),
            Some(n.clone()),
            "round {round}: the other handle reads the new nomination"
        );
        assert_eq!(reader.history(n.id()).await.unwrap().len(), 1);
        assert_eq!(
            reader
                .standings(engagement.id(), customer(c).id())
                .await
                .unwrap()
                .len(),
            1
        );
        let tab = n.placement().tab_at(start()).unwrap();
        assert_eq!(tab, Tab::Eligible);
        let ids = walk(reader, 1, &engagement, tab, start(), 100).await;
        assert!(ids.contains(n.id()), "round {round}: on its page");
        assert_eq!(ids.len(), round as usize + 1, "round {round}: {ids:?}");
        let counts = reader
            .count(&partner(1), engagement.id(), start())
            .await
            .unwrap();
        assert_eq!(counts.get(tab), u64::from(round) + 1, "round {round}");

        let t = round as u8 + 1;
        let sent = n
            .send_consent(start(), &admin_of(1), SendConsent::default(), &link(t))
            .unwrap();
        let queued: Vec<MessageId> = sent.messages.iter().map(|m| m.id).collect();
        let sent = write(reader, sent).await;
        assert_eq!(
            writer.nomination_by_id(n.id()).await.unwrap(),
            Some(sent.clone()),
            "round {round}: the first handle reads the new version"
        );
        assert_eq!(writer.history(n.id()).await.unwrap().len(), 2);
        assert_eq!(
            writer.nomination_by_link(&token(t).hash()).await.unwrap(),
            Some(sent)
        );
        let taken: Vec<MessageId> = writer
            .take_messages(day(1), day(2), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.message.id)
            .collect();
        assert_eq!(taken, queued, "round {round}: the email is in the outbox");
    }
}

/// What one handle puts as a setting the other reads at once, each way,
/// and a compare-and-set made on one handle from a value read on the other
/// lands; one made from a value the other handle has changed since is
/// refused, naming what it holds.
pub async fn two_handles_read_each_others_settings(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let pair = Pair::new(a, b);
    let key = SettingKey::new("demo.clock").unwrap();
    let value = |i: u32| SettingValue::new(format!("reading {i}")).unwrap();
    for round in 0..8u32 {
        let (writer, reader) = (pair.on(round), pair.other(round));
        let condition = match round {
            0 => SettingCondition::Absent,
            _ => SettingCondition::Equals(reader.setting(&key).await.unwrap().unwrap()),
        };
        writer
            .put_setting(&key, &value(round), &condition)
            .await
            .unwrap();
        for (name, store) in pair.both() {
            assert_eq!(
                store.setting(&key).await.unwrap(),
                Some(value(round)),
                "round {round}: handle {name}"
            );
        }
    }
    let stale = SettingCondition::Equals(value(6));
    let err = pair
        .a
        .put_setting(&key, &value(99), &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::SettingChanged { found: Some(found), .. } if *found == value(7)),
        "{err:?}"
    );
    assert_eq!(pair.b.setting(&key).await.unwrap(), Some(value(7)));
}

/// 64 tasks, 32 on each handle, each add one to a counter kept as a
/// setting by compare-and-set (read, add one, put if still what was read,
/// read again when refused): every increment lands, the counter ends at
/// 64 on both handles, and no two tasks ever wrote from one reading
/// (R-REC-4 for settings: no change is lost). This is what keeps a
/// clock shared by several servers from moving back or losing a move.
pub async fn two_handles_compare_and_set_loses_no_change(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let pair = Pair::new(a, b);
    let key = SettingKey::new("demo.counter").unwrap();
    pair.a
        .put_setting(
            &key,
            &SettingValue::new("0").unwrap(),
            &SettingCondition::Absent,
        )
        .await
        .unwrap();
    let from = race_n(RACERS, |i| {
        let store = pair.on(i).clone();
        let key = key.clone();
        async move {
            for _ in 0..64 * RACERS {
                let read = store.setting(&key).await.unwrap().unwrap();
                let n: u32 = read.as_str().parse().unwrap();
                let next = SettingValue::new((n + 1).to_string()).unwrap();
                match store
                    .put_setting(&key, &next, &SettingCondition::Equals(read))
                    .await
                {
                    Ok(()) => return n,
                    Err(StoreError::SettingChanged { .. }) => tokio::task::yield_now().await,
                    Err(err) => panic!("racer {i}: unexpected {err:?}"),
                }
            }
            panic!("racer {i} never landed its increment")
        }
    })
    .await;
    let distinct: BTreeSet<u32> = from.iter().copied().collect();
    assert_eq!(
        distinct,
        (0..RACERS).collect(),
        "each reading was written from once"
    );
    for (name, store) in pair.both() {
        assert_eq!(
            store.setting(&key).await.unwrap().unwrap().as_str(),
            RACERS.to_string(),
            "handle {name}"
        );
    }
}
