//! Idempotency keys through the service (R-REC-5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{CustomerIdInput, DocumentKind, Refusal, SendConsent, State, SurveyKind};
use mci_engagements::{Call, Error};

#[tokio::test]
async fn r_rec_5_a_retried_add_with_the_same_key_writes_once_and_returns_the_first_result() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop, &w.assessment],
    );
    let call = Call::new(a.clone()).idempotency_key("add-contoso-1");
    let first = w.service.add_customer(call.clone(), &form).await.unwrap();
    assert_eq!(first.nominations.len(), 2);
    w.advance_days(1);
    let before = w.snapshot();
    let retried = w.service.add_customer(call.clone(), &form).await.unwrap();
    assert!(before == w.snapshot(), "the retry wrote something");
    assert_eq!(retried, first);
    assert_eq!(w.snapshot().nominations.len(), 2);
    // Without a key, the same form is a duplicate.
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_matches!(error, Error::Refused(Refusal::NotChoosable { .. }));
}

#[tokio::test]
async fn r_rec_5_a_retried_consent_email_is_queued_once() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let call = Call::new(a.clone()).idempotency_key("send-consent-1");
    let first = w
        .service
        .send_consent(call.clone(), &id, SendConsent::default())
        .await
        .unwrap();
    let retried = w
        .unchanged(w.service.send_consent(call, &id, SendConsent::default()))
        .await;
    assert_eq!(retried, first);
    assert_eq!(w.messages(&id).len(), 1);
    assert_eq!(w.stored(&id).consent().requests, 1);
}

#[tokio::test]
async fn r_rec_5_keys_are_scoped_to_the_partner_and_a_new_key_is_a_new_command() {
    let w = World::new();
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    let form_a = w.form(&a, "it@customer1.example", subscription(1), &[&w.workshop]);
    let form_b = w.form(&b, "it@customer1.example", subscription(1), &[&w.workshop]);
    let from_a = w
        .service
        .add_customer(Call::new(a.clone()).idempotency_key("same"), &form_a)
        .await
        .unwrap();
    let from_b = w
        .service
        .add_customer(Call::new(b.clone()).idempotency_key("same"), &form_b)
        .await
        .unwrap();
    assert_ne!(from_a, from_b);
    assert_eq!(from_b.nominations[0].partner(), &partner(PARTNER_B));
    // A user of the same partner retrying with the key gets A's result.
    let replay = w
        .unchanged(
            w.service
                .add_customer(Call::new(user(PARTNER_A)).idempotency_key("same"), &form_a),
        )
        .await;
    assert_eq!(replay, from_a);
    // A second comment with a new key is a second comment.
    let id = *from_a.nominations[0].id();
    for key in ["c1", "c2", "c1", "c2"] {
        w.service
            .add_comment(
                Call::new(a.clone()).idempotency_key(key),
                &id,
                comment("same text"),
            )
            .await
            .unwrap();
    }
    assert_eq!(w.stored(&id).claim().comments.len(), 2);
}

#[tokio::test]
async fn r_rec_5_a_refused_command_records_nothing_and_its_key_stays_usable() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let call = Call::new(a.clone()).idempotency_key("submit-1");
    let error = w.refused(w.service.submit(call.clone(), &id)).await;
    assert_matches!(error, Error::Refused(Refusal::MissingProof { .. }));
    w.prove(&a, &id).await;
    let submitted = w.service.submit(call.clone(), &id).await.unwrap();
    assert_eq!(submitted.state(), State::Submitted);
    let again = w.unchanged(w.service.submit(call, &id)).await;
    assert_eq!(again, submitted);
}

#[tokio::test]
async fn r_rec_5_every_partner_and_reviewer_command_replays_its_first_result() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let key = |k: &str| Call::new(a.clone()).idempotency_key(k);
    let first = w
        .service
        .attach_document(key("doc"), &id, DocumentKind::Invoice, document("a.pdf"))
        .await
        .unwrap();
    let again = w
        .unchanged(w.service.attach_document(
            key("doc"),
            &id,
            DocumentKind::Invoice,
            document("a.pdf"),
        ))
        .await;
    assert_eq!(again, first);
    let first = w
        .service
        .send_survey(key("survey"), &id, SurveyKind::Customer)
        .await
        .unwrap();
    let again = w
        .unchanged(
            w.service
                .send_survey(key("survey"), &id, SurveyKind::Customer),
        )
        .await;
    assert_eq!(again, first);

    let submitted = w.submitted_subscription(&a, 2, &w.workshop).await;
    let r = |k: &str| Call::new(reviewer()).idempotency_key(k);
    let seen = w.seen(&submitted).await;
    let first = w
        .service
        .start_review(r("review"), &submitted, seen)
        .await
        .unwrap();
    // The retry cites what the first call cited: the same command.
    let again = w
        .unchanged(w.service.start_review(r("review"), &submitted, seen))
        .await;
    assert_eq!(again, first);
    let seen = w.seen(&submitted).await;
    w.service
        .approve(r("approve"), &submitted, seen)
        .await
        .unwrap();
    let run = w.service.run_payout(r("payout-1"), 10).await.unwrap();
    assert_eq!(run.paid.len(), 1);
    let replay = w.unchanged(w.service.run_payout(r("payout-1"), 10)).await;
    assert_eq!(replay, run);
    assert_eq!(w.snapshot().batches.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_rec_5_the_same_add_sent_twice_at_once_writes_once_and_both_get_its_result() {
    let w = World::new();
    let a = admin(PARTNER_A);
    for round in 0..40 {
        let form = w.form(
            &a,
            &format!("it@customer{round}.example"),
            subscription(round),
            &[&w.workshop],
        );
        let key = format!("add-{round}");
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                let service = w.service.clone();
                let call = Call::new(a.clone()).idempotency_key(key.clone());
                let form = form.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    service.add_customer(call, &form).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        let [first, second] = [&results[0], &results[1]];
        match (first, second) {
            (Ok(first), Ok(second)) => assert_eq!(first, second, "round {round}"),
            other => panic!("round {round}: both calls must answer the first result: {other:?}"),
        }
    }
    assert_eq!(w.snapshot().nominations.len(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_rec_5_the_same_submit_sent_twice_at_once_writes_once_and_both_get_its_result() {
    let w = World::new();
    let a = admin(PARTNER_A);
    for round in 0..40 {
        let id = w.consented_subscription(&a, round, &w.workshop).await;
        w.prove(&a, &id).await;
        let key = format!("submit-{round}");
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                let service = w.service.clone();
                let call = Call::new(a.clone()).idempotency_key(key.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    service.submit(call, &id).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        match (&results[0], &results[1]) {
            (Ok(first), Ok(second)) => assert_eq!(first, second, "round {round}"),
            other => panic!("round {round}: both calls must answer the first result: {other:?}"),
        }
        let submits = w
            .service
            .history(&a, &id)
            .await
            .unwrap()
            .iter()
            .filter(|e| matches!(e.kind, mci_core::EventKind::Submitted { .. }))
            .count();
        assert_eq!(submits, 1);
    }
}

#[tokio::test]
async fn r_rec_5_a_retry_that_overtakes_the_first_add_still_gets_its_result() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(&a, "it@customer1.example", subscription(1), &[&w.workshop]);
    let call = Call::new(a.clone()).idempotency_key("add-1");
    // The first attempt decides, then stalls before it commits; the retry
    // runs to the end meanwhile.
    let held = w.hold_next_commit();
    let first = tokio::spawn({
        let (service, call, form) = (w.service.clone(), call.clone(), form.clone());
        async move { service.add_customer(call, &form).await }
    });
    let retry = held
        .release_after(w.service.add_customer(call, &form))
        .await
        .unwrap();
    let first = first.await.unwrap().unwrap();
    assert_eq!(first, retry);
    assert_eq!(w.snapshot().nominations.len(), 1);
}

#[tokio::test]
async fn r_rec_5_a_retry_that_overtakes_the_first_submit_still_gets_its_result() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    w.prove(&a, &id).await;
    let call = Call::new(a.clone()).idempotency_key("submit-1");
    let held = w.hold_next_commit();
    let first = tokio::spawn({
        let (service, call) = (w.service.clone(), call.clone());
        async move { service.submit(call, &id).await }
    });
    let retry = held
        .release_after(w.service.submit(call, &id))
        .await
        .unwrap();
    let first = first.await.unwrap().unwrap();
    assert_eq!(first, retry);
    let submits = w
        .service
        .history(&a, &id)
        .await
        .unwrap()
        .iter()
        .filter(|e| matches!(e.kind, mci_core::EventKind::Submitted { .. }))
        .count();
    assert_eq!(submits, 1);
}

#[tokio::test]
async fn r_rec_5_a_retry_done_between_the_first_attempts_key_lookup_and_its_decision() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(&a, "it@customer1.example", subscription(1), &[&w.workshop]);
    let call = Call::new(a.clone()).idempotency_key("add-1");
    // The first attempt finds no result for its key, then stalls; the retry
    // writes; the first then finds the customer already nominated.
    let held = w.hold_next(Point::KeyLookup);
    let first = tokio::spawn({
        let (service, call, form) = (w.service.clone(), call.clone(), form.clone());
        async move { service.add_customer(call, &form).await }
    });
    let retry = held
        .release_after(w.service.add_customer(call.clone(), &form))
        .await
        .unwrap();
    assert_eq!(first.await.unwrap().unwrap(), retry);

    let id = *retry.nominations[0].id();
    let call = Call::new(a.clone()).idempotency_key("cancel-1");
    let held = w.hold_next(Point::KeyLookup);
    let first = tokio::spawn({
        let (service, call) = (w.service.clone(), call.clone());
        async move { service.cancel(call, &id).await }
    });
    let retry = held
        .release_after(w.service.cancel(call, &id))
        .await
        .unwrap();
    assert_eq!(first.await.unwrap().unwrap(), retry);
    assert_eq!(retry.state(), State::Cancelled);
}

/// Checks that `error` refuses a key first used with another command, and
/// names the key and the rule (R-REC-5).
fn assert_key_bound(error: &Error, key: &str) {
    assert_matches!(error, Error::IdempotencyKeyMismatch { key: k } if k.key() == key);
    assert_eq!(error.rule(), Some("R-REC-5"), "{error:?}");
    assert!(error.to_string().contains(key), "{error}");
}

#[tokio::test]
async fn r_rec_5_a_key_used_for_a_comment_is_refused_for_a_cancel_of_another_nomination() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let n1 = w.add_subscription(&a, 1, &w.workshop).await;
    let n2 = w.add_subscription(&a, 2, &w.workshop).await;
    let call = Call::new(a.clone()).idempotency_key("k-2");
    let commented = w
        .service
        .add_comment(call.clone(), &n1, comment("called the customer"))
        .await
        .unwrap();
    assert_eq!(commented.id(), &n1);
    let error = w.refused(w.service.cancel(call, &n2)).await;
    assert_key_bound(&error, "k-2");
    assert_ne!(w.stored(&n2).state(), State::Cancelled);
}

#[tokio::test]
async fn r_rec_5_the_same_key_with_another_input_is_refused() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let call = Call::new(a.clone()).idempotency_key("comment-1");
    w.service
        .add_comment(call.clone(), &id, comment("first text"))
        .await
        .unwrap();
    let error = w
        .refused(
            w.service
                .add_comment(call.clone(), &id, comment("second text")),
        )
        .await;
    assert_key_bound(&error, "comment-1");
    assert_eq!(w.stored(&id).claim().comments.len(), 1);

    let call = Call::new(a.clone()).idempotency_key("doc-1");
    w.service
        .attach_document(call.clone(), &id, DocumentKind::Invoice, document("a.pdf"))
        .await
        .unwrap();
    let error = w
        .refused(w.service.attach_document(
            call.clone(),
            &id,
            DocumentKind::Invoice,
            document("b.pdf"),
        ))
        .await;
    assert_key_bound(&error, "doc-1");
    let error = w
        .refused(w.service.attach_document(
            call,
            &id,
            DocumentKind::ProofOfExecution,
            document("a.pdf"),
        ))
        .await;
    assert_key_bound(&error, "doc-1");

    // An add with another form under the key of the first add.
    let call = Call::new(a.clone()).idempotency_key("add-1");
    let form = w.form(&a, "it@customer7.example", subscription(7), &[&w.workshop]);
    w.service.add_customer(call.clone(), &form).await.unwrap();
    let other = w.form(&a, "it@customer8.example", subscription(8), &[&w.workshop]);
    let error = w.refused(w.service.add_customer(call, &other)).await;
    assert_key_bound(&error, "add-1");
}

#[tokio::test]
async fn r_rec_5_a_key_reused_across_result_types_is_refused_as_bound_not_as_unreadable() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    // A nomination answered first, an add asked next.
    let call = Call::new(a.clone()).idempotency_key("k-1");
    w.service
        .add_comment(call.clone(), &id, comment("noted"))
        .await
        .unwrap();
    let form = w.form(&a, "it@customer2.example", subscription(2), &[&w.workshop]);
    let error = w.refused(w.service.add_customer(call, &form)).await;
    assert_key_bound(&error, "k-1");
    // An add answered first, a nomination asked next.
    let call = Call::new(a.clone()).idempotency_key("k-2");
    w.service.add_customer(call.clone(), &form).await.unwrap();
    let error = w.refused(w.service.submit(call, &id)).await;
    assert_key_bound(&error, "k-2");
    // A reviewer's decision answered first, a payout run asked next.
    let submitted = w.submitted_subscription(&a, 3, &w.workshop).await;
    let r = Call::new(reviewer()).idempotency_key("r-1");
    let seen = w.seen(&submitted).await;
    w.service
        .start_review(r.clone(), &submitted, seen)
        .await
        .unwrap();
    let error = w.refused(w.service.run_payout(r, 10)).await;
    assert_key_bound(&error, "r-1");
}

#[tokio::test]
async fn r_rec_5_a_genuine_retry_still_answers_the_first_result() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let call = Call::new(a.clone()).idempotency_key("consent-1");
    let details = SendConsent {
        estimated_deal_size: Some(eur(1_500_000)),
        ..SendConsent::default()
    };
    let first = w
        .service
        .send_consent(call.clone(), &id, details.clone())
        .await
        .unwrap();
    w.advance_days(1);
    // The retry draws another link token; the command is still the same.
    let again = w
        .unchanged(w.service.send_consent(call, &id, details))
        .await;
    assert_eq!(again, first);
    // Another user of the partner retrying the same comment.
    let call = Call::new(a.clone()).idempotency_key("comment-1");
    let first = w
        .service
        .add_comment(call, &id, comment("same text"))
        .await
        .unwrap();
    let again = w
        .unchanged(w.service.add_comment(
            Call::new(user(PARTNER_A)).idempotency_key("comment-1"),
            &id,
            comment("same text"),
        ))
        .await;
    assert_eq!(again, first);
    let r = Call::new(reviewer()).idempotency_key("payout-1");
    let run = w.service.run_payout(r.clone(), 10).await.unwrap();
    assert_eq!(w.unchanged(w.service.run_payout(r, 10)).await, run);
}

#[tokio::test]
async fn r_rec_5_another_command_that_overtakes_the_first_under_its_key_refuses_the_first() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let n1 = w.add_subscription(&a, 1, &w.workshop).await;
    let n2 = w.add_subscription(&a, 2, &w.workshop).await;
    let call = Call::new(a.clone()).idempotency_key("k-3");
    // The comment finds no result for its key, then stalls; a cancel under
    // the same key commits meanwhile; the comment's commit must then be
    // refused, not answered with the cancel's result.
    let held = w.hold_next(Point::KeyLookup);
    let first = tokio::spawn({
        let (service, call) = (w.service.clone(), call.clone());
        async move { service.add_comment(call, &n1, comment("late")).await }
    });
    let cancelled = held
        .release_after(w.service.cancel(call, &n2))
        .await
        .unwrap();
    assert_eq!(cancelled.state(), State::Cancelled);
    let error = first.await.unwrap().unwrap_err();
    assert_key_bound(&error, "k-3");
    assert!(w.stored(&n1).claim().comments.is_empty());
}
