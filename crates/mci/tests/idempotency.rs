//! Idempotency keys through the service (R-REC-5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci::{Call, Error};
use mci_core::{CustomerIdInput, DocumentKind, Refusal, SendConsent, State, SurveyKind};

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
    // Even when the retry's form differs, the key answers with the first.
    let other = w.form(&a, "it@customer9.example", subscription(9), &[&w.workshop]);
    let replayed = w.unchanged(w.service.add_customer(call, &other)).await;
    assert_eq!(replayed, first);
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
            document("b.pdf"),
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
    let first = w
        .service
        .start_review(r("review"), &submitted)
        .await
        .unwrap();
    let again = w
        .unchanged(w.service.start_review(r("review"), &submitted))
        .await;
    assert_eq!(again, first);
    w.service.approve(r("approve"), &submitted).await.unwrap();
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
