//! The partner's and the reviewer's commands as data, through their one
//! entry point each (`execute`, `execute_review`): the same call as the
//! method of its name, under the same idempotency fingerprint (R-REC-5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{
    Availability, CustomerIdInput, DocumentKind, Refusal, SendConsent, State, SurveyKind, Tab,
};
use mci_engagements::{
    Call, CustomerRow, Error, OverviewFilter, PartnerAnswer, PartnerCommand, ReviewerAnswer,
    ReviewerCommand,
};

fn nomination(answer: PartnerAnswer) -> mci_core::Nomination {
    match answer {
        PartnerAnswer::Nomination(n) => *n,
        other => panic!("expected a nomination, got {other:?}"),
    }
}

#[tokio::test]
async fn r_rec_5_an_add_through_execute_and_the_same_add_through_its_method_replay_each_other() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let call = Call::new(a.clone()).idempotency_key("add-contoso");
    let PartnerAnswer::Added(first) = w
        .service
        .execute(
            call.clone(),
            PartnerCommand::AddCustomer {
                input: form.clone(),
            },
        )
        .await
        .unwrap()
    else {
        panic!("an add answers the nominations added")
    };
    w.advance_days(1);
    let replayed = w.unchanged(w.service.add_customer(call, &form)).await;
    assert_eq!(replayed, first);
    assert_eq!(w.snapshot().nominations.len(), 1);
}

#[tokio::test]
async fn r_rec_5_a_consent_email_through_its_method_and_again_through_execute_is_sent_once() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let details = SendConsent {
        estimated_deal_size: Some(eur(25_000_000)),
        ..SendConsent::default()
    };
    let call = Call::new(a.clone()).idempotency_key("consent-1");
    let first = w
        .service
        .send_consent(call.clone(), &id, details.clone())
        .await
        .unwrap();
    // The command as a web client sends it, read from its JSON.
    let command: PartnerCommand = serde_json::from_value(serde_json::json!({
        "command": "send_consent",
        "nomination": id.to_string(),
        "input": {"estimated_deal_size": "250000.00 EUR"},
    }))
    .unwrap();
    assert_eq!(
        command,
        PartnerCommand::SendConsent {
            nomination: id,
            input: details,
        }
    );
    let replayed = nomination(w.unchanged(w.service.execute(call, command)).await);
    assert_eq!(replayed, first);
    assert_eq!(w.messages(&id).len(), 1);
}

#[tokio::test]
async fn r_rec_5_every_nomination_command_replays_across_execute_and_its_method() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let key = |name: &str| Call::new(a.clone()).idempotency_key(name);

    // Method first, then the same command through execute.
    let text = comment("Held on site on 2 March.");
    let first = w
        .service
        .add_comment(key("comment"), &id, text.clone())
        .await
        .unwrap();
    let command = PartnerCommand::AddComment {
        nomination: id,
        text,
    };
    let replayed = nomination(
        w.unchanged(w.service.execute(key("comment"), command))
            .await,
    );
    assert_eq!(replayed, first);

    // Execute first, then the method.
    let command = PartnerCommand::AttachDocument {
        nomination: id,
        kind: DocumentKind::Invoice,
        document: document("invoice.pdf"),
    };
    let first = nomination(w.service.execute(key("invoice"), command).await.unwrap());
    let replayed = w
        .unchanged(w.service.attach_document(
            key("invoice"),
            &id,
            DocumentKind::Invoice,
            document("invoice.pdf"),
        ))
        .await;
    assert_eq!(replayed, first);

    let command = PartnerCommand::SendSurvey {
        nomination: id,
        survey: SurveyKind::Partner,
    };
    let first = nomination(w.service.execute(key("survey"), command).await.unwrap());
    let replayed = w
        .unchanged(
            w.service
                .send_survey(key("survey"), &id, SurveyKind::Partner),
        )
        .await;
    assert_eq!(replayed, first);
    assert_eq!(w.stored(&id).claim().comments.len(), 1);
}

#[tokio::test]
async fn r_rec_5_a_reviewer_command_replays_across_execute_review_and_its_method() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.submitted_subscription(&a, 1, &w.workshop).await;
    let call = Call::new(reviewer()).idempotency_key("review-1");
    let seen = w.seen(&id).await;
    let first = w
        .service
        .start_review(call.clone(), &id, seen)
        .await
        .unwrap();
    let answer = w
        .unchanged(w.service.execute_review(
            call,
            ReviewerCommand::StartReview {
                nomination: id,
                seen,
            },
        ))
        .await;
    assert_eq!(answer, ReviewerAnswer::Nomination(Box::new(first)));

    w.service
        .approve(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    let call = Call::new(reviewer()).idempotency_key("payout-1");
    let ReviewerAnswer::PayoutRun(run) = w
        .service
        .execute_review(call.clone(), ReviewerCommand::RunPayout { limit: 10 })
        .await
        .unwrap()
    else {
        panic!("a payout run answers its run")
    };
    assert_eq!(run.paid.len(), 1);
    let replayed = w.unchanged(w.service.run_payout(call, 10)).await;
    assert_eq!(replayed, run);
    assert_eq!(w.stored(&id).state(), State::Paid);
}

#[tokio::test]
async fn r_rec_5_another_command_under_a_key_used_through_the_other_entry_is_a_mismatch() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let call = Call::new(a.clone()).idempotency_key("one-key");
    w.service
        .add_comment(call.clone(), &id, comment("first"))
        .await
        .unwrap();
    // The same command with another input, through execute.
    let other = PartnerCommand::AddComment {
        nomination: id,
        text: comment("second"),
    };
    let error = w.refused(w.service.execute(call.clone(), other)).await;
    assert_matches!(error, Error::IdempotencyKeyMismatch { .. });
    // Another command on the same nomination.
    let error = w
        .refused(
            w.service
                .execute(call, PartnerCommand::Cancel { nomination: id }),
        )
        .await;
    assert_matches!(error, Error::IdempotencyKeyMismatch { .. });
}

#[tokio::test]
async fn r_role_1_execute_refuses_a_role_the_method_refuses() {
    let w = World::new();
    let id = w.add_subscription(&admin(PARTNER_A), 1, &w.workshop).await;
    let error = w
        .refused(w.service.execute(
            &account_admin(PARTNER_A),
            PartnerCommand::Cancel { nomination: id },
        ))
        .await;
    assert_matches!(error, Error::Refused(Refusal::RoleNotAllowed { .. }));
}

#[tokio::test]
async fn r_role_2_execute_finds_only_the_partners_own_nominations() {
    let w = World::new();
    let id = w.add_subscription(&admin(PARTNER_A), 1, &w.workshop).await;
    let error = w
        .refused(w.service.execute(
            &admin(PARTNER_B),
            PartnerCommand::Nomination { nomination: id },
        ))
        .await;
    assert_matches!(error, Error::Refused(Refusal::NotFound));
}

#[tokio::test]
async fn r_page_reads_through_execute_answer_what_their_methods_answer() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;

    let answer = w
        .unchanged(
            w.service
                .execute(&a, PartnerCommand::Nomination { nomination: id }),
        )
        .await;
    assert_eq!(
        answer,
        PartnerAnswer::Nomination(Box::new(w.service.nomination(&a, &id).await.unwrap()))
    );

    let answer = w
        .unchanged(
            w.service
                .execute(&a, PartnerCommand::History { nomination: id }),
        )
        .await;
    assert_eq!(
        answer,
        PartnerAnswer::History(w.service.history(&a, &id).await.unwrap())
    );

    let command = PartnerCommand::CustomersPage {
        engagement: w.workshop.id().clone(),
        tab: Tab::Eligible,
        cursor: None,
        limit: 20,
    };
    let PartnerAnswer::CustomersPage(page) = w.service.execute(&a, command).await.unwrap() else {
        panic!("a page command answers a page")
    };
    assert_matches!(&page.rows[0], CustomerRow::Nomination(row) if row.nomination == id);

    let filter = OverviewFilter {
        availability: Some(Availability::Active),
        ..OverviewFilter::default()
    };
    let answer = w
        .service
        .execute(
            &a,
            PartnerCommand::Overview {
                filter: filter.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        answer,
        PartnerAnswer::Overview(w.service.overview(&a, &filter).await.unwrap())
    );

    let form = w.form(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let answer = w
        .service
        .execute(
            &a,
            PartnerCommand::ReviewAdd {
                input: form.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        answer,
        PartnerAnswer::Review(w.service.review_add(&a, &form).await.unwrap())
    );
}

#[tokio::test]
async fn r_claim_w_7_the_review_queue_through_execute_review_is_the_methods() {
    let w = World::new();
    let id = w
        .submitted_subscription(&admin(PARTNER_A), 1, &w.workshop)
        .await;
    let answer = w
        .service
        .execute_review(
            &reviewer(),
            ReviewerCommand::ReviewQueue {
                after: None,
                limit: 5,
            },
        )
        .await
        .unwrap();
    let ReviewerAnswer::Queue(page) = &answer else {
        panic!("the queue answers a page")
    };
    assert_eq!(page.rows.len(), 1);
    assert_eq!(*page.rows[0].id(), id);
    assert_eq!(
        answer,
        ReviewerAnswer::Queue(w.service.review_queue(None, 5).await.unwrap())
    );
    let answer = w
        .service
        .execute_review(
            &reviewer(),
            ReviewerCommand::ClaimForReview { nomination: id },
        )
        .await
        .unwrap();
    assert_eq!(
        answer,
        ReviewerAnswer::Nomination(Box::new(w.read(&id).await))
    );
}

#[tokio::test]
async fn r_claim_w_9_a_reversal_through_execute_review_answers_its_batch() {
    let w = World::new();
    let id = w
        .approved_subscription(&admin(PARTNER_A), 1, &w.workshop)
        .await;
    let run = w.service.run_payout(reviewer(), 10).await.unwrap();
    let answer = w
        .service
        .execute_review(
            &reviewer(),
            ReviewerCommand::PayoutBatch {
                batch: run.batch.id,
            },
        )
        .await
        .unwrap();
    assert_eq!(answer, ReviewerAnswer::PayoutBatch(Some(run.batch.clone())));
    let command = ReviewerCommand::ReversePayment {
        batch: run.batch.id,
        nomination: id,
        seen: w.seen(&id).await,
    };
    let ReviewerAnswer::PayoutBatch(Some(reversal)) = w
        .service
        .execute_review(&reviewer(), command.clone())
        .await
        .unwrap()
    else {
        panic!("a reversal answers its batch")
    };
    assert_ne!(reversal.id, run.batch.id);
    // Reversing again answers the first reversal (R-CLAIM-W-9).
    let again = w
        .unchanged(w.service.execute_review(&reviewer(), command))
        .await;
    assert_eq!(again, ReviewerAnswer::PayoutBatch(Some(reversal)));
}

#[test]
fn r_rec_5_the_inputs_keep_the_canonical_form_stored_keys_are_bound_to() {
    // What a key is bound to is the canonical form of the input's serde
    // form (mci_store::Fingerprint): reading it from JSON must never change
    // how it is written, or keys stored before stop matching.
    use mci_store::Fingerprint;
    let w = World::new();
    let id: mci_core::NominationId = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".parse().unwrap();
    let details = SendConsent {
        estimated_deal_size: Some(eur(25_000_000)),
        ..SendConsent::default()
    };
    assert_eq!(
        Fingerprint::canonical("send_consent", Some(&id), &details).unwrap(),
        r#"{"command":"send_consent","input":{"customer_contacts":null,"estimated_deal_size":"250000.00 EUR","partner_contacts":null},"target":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}"#
    );
    let form = w.form(
        &admin(PARTNER_A),
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    assert_eq!(
        Fingerprint::canonical("add_customer", None, &form).unwrap(),
        concat!(
            r#"{"command":"add_customer","input":{"customer_contacts":[{"email":"cio@contoso.example","name":"Carla Customer"}],"#,
            r#""customer_email":"cio@contoso.example","customer_id":{"type":"email_only"},"engagements":["ai-workshop"],"#,
            r#""friendly_name":"partner-a with cio@contoso.example","hours":null,"location":"1000001","mismatch_reason":null,"#,
            r#""partner_contacts":[{"email":"ada@partner-a.example","name":"Ada Partner"}]},"target":null}"#,
        )
    );
    // A form read back from its JSON binds a key as the form it came from.
    let read: mci_engagements::AddCustomer =
        serde_json::from_str(&serde_json::to_string(&form).unwrap()).unwrap();
    assert_eq!(
        Fingerprint::of("add_customer", None, &read).unwrap(),
        Fingerprint::of("add_customer", None, &form).unwrap()
    );
}

#[tokio::test]
async fn r_list_3_attention_through_execute_is_the_methods() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.submitted_subscription(&a, 1, &w.workshop).await;
    let answer = w
        .service
        .execute(&a, PartnerCommand::Attention { limit: 5 })
        .await
        .unwrap();
    let direct = w.service.attention(&a, 5).await.unwrap();
    assert_eq!(answer, PartnerAnswer::Attention(direct));
}
