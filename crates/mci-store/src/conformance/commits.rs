//! Commits: versions, atomicity, idempotency, payout batches (R-REC-1,
//! R-REC-4, R-REC-5, R-CLAIM-W-9).

use super::fixtures::*;
use crate::{Commit, Fingerprint, IdempotencyKey, IdempotentResult, Store, StoreError};
use chrono::TimeDelta;
use mci_core::*;
use mci_testkit::{admin_of, comment, partner};
use std::sync::Arc;

/// Everything the outbox holds, taken far in the future so no lease hides it.
async fn all_messages(store: &Arc<dyn Store>) -> Vec<MessageId> {
    let far = day(100_000);
    store
        .take_messages(far, far, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.message.id)
        .collect()
}

/// A created nomination reads back whole, scoped to its partner, with its
/// creation event (R-REC-1, R-ROLE-2).
pub async fn create_and_load(store: Arc<dyn Store>) {
    let engagement = workshop(1);
    let n = added(&store, 1, 1, &engagement, start()).await;
    assert_eq!(
        store.nomination(&partner(1), n.id()).await.unwrap(),
        Some(n.clone())
    );
    assert_eq!(
        store.nomination_by_id(n.id()).await.unwrap(),
        Some(n.clone())
    );
    let history = store.history(n.id()).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].version, 1);
    assert_eq!(history[0].from, None);
    assert_eq!(history[0].to, State::CustomerClaimed);
}

/// An update expecting the stored version is written with its event and
/// messages (R-REC-1, R-REC-2).
pub async fn update_with_expected_version(store: Arc<dyn Store>) {
    let engagement = workshop(1);
    let n = added(&store, 1, 1, &engagement, start()).await;
    let sent = consent_sent(&store, &n, day(1), 1).await;
    assert_eq!(sent.version(), 2);
    assert_eq!(
        store.nomination(&partner(1), n.id()).await.unwrap(),
        Some(sent)
    );
    assert_eq!(store.history(n.id()).await.unwrap().len(), 2);
    assert_eq!(
        all_messages(&store).await.len(),
        1,
        "the consent email is queued"
    );
}

/// A write from a stale version fails as a retryable conflict and writes
/// nothing (R-REC-4).
pub async fn stale_version_is_a_retryable_conflict(store: Arc<dyn Store>) {
    let engagement = workshop(1);
    let n = added(&store, 1, 1, &engagement, start()).await;
    let _current = write(
        &store,
        n.add_comment(day(1), &admin_of(1), comment("first"))
            .unwrap(),
    )
    .await;
    let stale = n
        .send_consent(
            day(1),
            &admin_of(1),
            SendConsent::default(),
            &mci_testkit::link(1),
        )
        .unwrap();
    let err = store.commit(Commit::of(day(1), stale)).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 1,
                found: Some(2),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_conflict());
    assert_eq!(store.history(n.id()).await.unwrap().len(), 2);
    assert!(
        all_messages(&store).await.is_empty(),
        "the stale write queued nothing"
    );
}

/// Creating a nomination whose id exists fails as a conflict.
pub async fn creating_twice_is_a_conflict(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let outcome = add(1, 1, &engagement, start());
    store
        .commit(Commit::of(start(), outcome.clone()))
        .await
        .unwrap();
    let err = store
        .commit(Commit::of(start(), outcome))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 0,
                found: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
}

/// A commit whose guard fails leaves no nomination, event or message
/// behind, including those of its other writes.
pub async fn failed_guard_writes_nothing(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    added(&store, 1, 1, &engagement, start()).await;
    let fine = add(2, 2, &engagement, day(1));
    let fine_id = *fine.nomination.id();
    let duplicate = add(1, 1, &engagement, day(1));
    let duplicate_id = *duplicate.nomination.id();
    let commit = Commit::at(day(1))
        .with(as_write(fine))
        .with(as_write(duplicate))
        .idempotent(
            IdempotencyKey::new("p1", "k-atomic").unwrap(),
            fingerprint("add_customer", "atomic"),
            "done".into(),
        );
    let err = store.commit(commit).await.unwrap_err();
    assert_eq!(err.rule(), Some("R-ADD-7"), "{err:?}");
    assert!(matches!(err, StoreError::GuardViolated { .. }));
    assert_eq!(store.nomination_by_id(&fine_id).await.unwrap(), None);
    assert_eq!(store.nomination_by_id(&duplicate_id).await.unwrap(), None);
    assert!(store.history(&fine_id).await.unwrap().is_empty());
    assert!(all_messages(&store).await.is_empty());
    let key = IdempotencyKey::new("p1", "k-atomic").unwrap();
    assert_eq!(store.idempotent_result(&key).await.unwrap(), None);
}

/// A commit writing one nomination twice, or an event of another version,
/// is refused whole.
pub async fn invalid_commit_writes_nothing(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let outcome = add(1, 1, &engagement, start());
    let id = *outcome.nomination.id();
    let twice = Commit::at(start())
        .with(as_write(outcome.clone()))
        .with(as_write(outcome.clone()));
    assert!(matches!(
        store.commit(twice).await,
        Err(StoreError::InvalidCommit(_))
    ));
    let mut skewed = as_write(outcome);
    skewed.event.version = 7;
    let err = store
        .commit(Commit::at(start()).with(skewed))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidCommit(_)), "{err:?}");
    assert_eq!(store.nomination_by_id(&id).await.unwrap(), None);
}

/// A write keeps its nomination's partner, engagement and customer: one
/// that would move a stored nomination to another partner or customer is
/// refused whole, even at the expected version (R-ROLE-2).
pub async fn a_write_keeps_its_nomination_whole(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let stored = added(&store, 1, 1, &engagement, start()).await;
    let id = *stored.id();
    let history = store.history(&id).await.unwrap();
    for (p, c) in [(2, 1), (1, 2)] {
        // The same id at version 1, of another partner or customer, moved
        // on to version 2.
        let other = add_as(id, p, c, &engagement, start()).nomination;
        let moved = other
            .send_consent(
                start(),
                &mci_testkit::admin_of(p),
                SendConsent::default(),
                &mci_testkit::link(9),
            )
            .unwrap();
        assert_eq!(moved.nomination.version(), 2);
        let err = store.commit(Commit::of(start(), moved)).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidCommit(_)), "{err:?}");
        assert_eq!(
            store.nomination_by_id(&id).await.unwrap(),
            Some(stored.clone())
        );
        assert_eq!(store.history(&id).await.unwrap(), history);
    }
}

/// The fingerprint of a command named `command` with `input` and no target.
fn fingerprint(command: &str, input: &str) -> Fingerprint {
    Fingerprint::of(command, None, input).unwrap()
}

/// A command retried with the same idempotency key and the same
/// fingerprint writes once and gives the first result, with the
/// fingerprint it was recorded with (R-REC-5).
pub async fn idempotency_key_writes_once(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let key = IdempotencyKey::new("p1", "add-customer-1").unwrap();
    let command = fingerprint("add_customer", "customer 1");
    let first = add(1, 1, &engagement, start());
    let first_id = *first.nomination.id();
    store
        .commit(Commit::of(start(), first).idempotent(
            key.clone(),
            command,
            format!("created {first_id}"),
        ))
        .await
        .unwrap();
    let recorded = IdempotentResult {
        fingerprint: Some(command),
        result: format!("created {first_id}"),
    };
    assert_eq!(
        store.idempotent_result(&key).await.unwrap(),
        Some(recorded.clone())
    );
    let retry = add(1, 2, &engagement, start() + TimeDelta::seconds(5));
    let retry_id = *retry.nomination.id();
    let err = store
        .commit(Commit::of(start(), retry).idempotent(
            key.clone(),
            command,
            format!("created {retry_id}"),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyKeyUsed), "{err:?}");
    assert_eq!(store.nomination_by_id(&retry_id).await.unwrap(), None);
    assert_eq!(
        store.idempotent_result(&key).await.unwrap(),
        Some(recorded.clone())
    );
    // The first command replayed would also fail its duplicate guard
    // (R-ADD-7): the key is what the store answers, so the caller can
    // return the first result.
    let replayed = add(1, 1, &engagement, start());
    let err = store
        .commit(Commit::of(start(), replayed).idempotent(key.clone(), command, "again".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyKeyUsed), "{err:?}");
    assert_eq!(store.idempotent_result(&key).await.unwrap(), Some(recorded));
    let other_scope = IdempotencyKey::new("p2", "add-customer-1").unwrap();
    assert_eq!(store.idempotent_result(&other_scope).await.unwrap(), None);
}

/// A used idempotency key with another fingerprint (another command,
/// nomination or input) is refused naming the key, whatever the writes
/// would meet, and the commit writes nothing: not its nominations, events
/// or messages, nor its record (R-REC-5).
pub async fn idempotency_key_bound_to_its_command(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let key = IdempotencyKey::new("p1", "k-2").unwrap();
    let stored = added(&store, 1, 1, &engagement, start()).await;
    let commented = stored
        .add_comment(start(), &admin_of(1), comment("called the customer"))
        .unwrap();
    let first = fingerprint("add_comment", "called the customer");
    store
        .commit(Commit::of(start(), commented).idempotent(key.clone(), first, "commented".into()))
        .await
        .unwrap();
    let current = store.nomination_by_id(stored.id()).await.unwrap().unwrap();
    let history = store.history(stored.id()).await.unwrap();
    let recorded = store.idempotent_result(&key).await.unwrap();

    // Another command under the key: a new nomination, and a change that
    // queues a message; each would be written without the key.
    let fresh = add(1, 2, &engagement, day(1));
    let fresh_id = *fresh.nomination.id();
    let sent = current
        .send_consent(
            day(1),
            &admin_of(1),
            SendConsent::default(),
            &mci_testkit::link(3),
        )
        .unwrap();
    let queued: Vec<MessageId> = sent.messages.iter().map(|m| m.id).collect();
    assert!(!queued.is_empty());
    let stale = stored
        .add_comment(day(1), &admin_of(1), comment("stale"))
        .unwrap();
    for (commit, other) in [
        (
            Commit::of(day(1), fresh),
            fingerprint("add_customer", "customer 2"),
        ),
        (Commit::of(day(1), sent), fingerprint("send_consent", "")),
        // The same command with another input, on a write that would also
        // meet a stale version: the key is checked first.
        (
            Commit::of(day(1), stale),
            fingerprint("add_comment", "stale"),
        ),
    ] {
        let err = store
            .commit(commit.idempotent(key.clone(), other, "other".into()))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::IdempotencyKeyMismatch { key: k } if *k == key),
            "{err:?}"
        );
        assert_eq!(err.rule(), Some("R-REC-5"));
        assert!(err.to_string().contains("p1/k-2"), "{err}");
    }
    assert_eq!(store.nomination_by_id(&fresh_id).await.unwrap(), None);
    assert!(store.history(&fresh_id).await.unwrap().is_empty());
    assert_eq!(
        store.nomination_by_id(stored.id()).await.unwrap(),
        Some(current)
    );
    assert_eq!(store.history(stored.id()).await.unwrap(), history);
    let messages = all_messages(&store).await;
    assert!(queued.iter().all(|id| !messages.contains(id)));
    assert_eq!(store.idempotent_result(&key).await.unwrap(), recorded);
}

/// A payout run's batch is stored with the payments it makes, atomically
/// (R-CLAIM-W-9).
pub async fn payout_batch_written_with_payments(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let reviewer: ReviewerId = "reviewer-1".parse().unwrap();
    let user = admin_of(1);
    let mut approved = Vec::new();
    for c in 1..=3 {
        let n = added(&store, 1, c, &engagement, start()).await;
        let mut n = consented(&store, &n, day(1), c as u8).await;
        for kind in [DocumentKind::ProofOfExecution, DocumentKind::Invoice] {
            n = write(
                &store,
                n.attach_document(day(2), &user, kind, mci_testkit::document("proof.pdf"))
                    .unwrap(),
            )
            .await;
        }
        for (survey, t) in [
            (SurveyKind::Partner, 100 + c as u8),
            (SurveyKind::Customer, 150 + c as u8),
        ] {
            n = write(
                &store,
                n.send_survey(day(2), &user, survey, &mci_testkit::link(t))
                    .unwrap(),
            )
            .await;
            let Step::Changed(done) = n.complete_survey(day(3), &mci_testkit::token(t)).unwrap()
            else {
                panic!("first completion changes the claim");
            };
            n = write(&store, *done).await;
        }
        n = write(&store, n.submit(day(4), &user).unwrap()).await;
        let seen = mci_testkit::seen(&n);
        n = write(&store, n.start_review(day(5), &reviewer, seen).unwrap()).await;
        let seen = mci_testkit::seen(&n);
        n = write(&store, n.approve(day(6), &reviewer, seen).unwrap()).await;
        approved.push(n);
    }
    let batch_id = PayoutBatchId::from_uuid(next_id().as_uuid()).unwrap();
    let cycle = PayoutCycle::containing(start(), PayoutCycle::DEFAULT_PERIOD, day(7)).unwrap();
    let (batch, outcomes) = payout_run(batch_id, cycle, day(7), &approved).unwrap();
    let mut commit = Commit::at(day(7));
    for outcome in outcomes {
        commit = commit.with(outcome);
    }
    commit.payout_batch = Some(batch.clone());
    store.commit(commit).await.unwrap();
    assert_eq!(store.payout_batch(&batch_id).await.unwrap(), Some(batch));
    for n in &approved {
        let paid = store.nomination_by_id(n.id()).await.unwrap().unwrap();
        assert_eq!(paid.state(), State::Paid);
        assert_eq!(paid.claim().paid_in, Some(batch_id));
    }
}
