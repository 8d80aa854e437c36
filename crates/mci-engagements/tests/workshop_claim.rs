//! The partner's side of the workshop claim through the service
//! (R-CLAIM-W-1..6, R-CLAIM-W-10).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use chrono::TimeDelta;
use common::*;
use mci_core::{
    Command, ContactsUpdate, DeadlineKind, DocumentKind, Engagement, EventKind, MessageKind,
    ProofItem, Refusal, RowType, State, SurveyKind, SurveyStatus, Tab,
};
use mci_engagements::Error;

/// A consented, fully proved claim of `engagement`, consent given at t0.
async fn proved(w: &World, n: u32, engagement: &Engagement) -> mci_core::NominationId {
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, n, engagement).await;
    w.prove(&a, &id).await;
    id
}

async fn first_submit_window(engagement: fn(&World) -> &Engagement, window: i64) {
    let w = World::new();
    let a = admin(PARTNER_A);
    let in_time = proved(&w, 1, engagement(&w)).await;
    let too_late = proved(&w, 2, engagement(&w)).await;
    let consent = w.read(&in_time).await.consented_at().unwrap();
    assert_eq!(consent, t0());

    w.set(consent + days(window) - TimeDelta::seconds(1));
    let submitted = w.service.submit(&a, &in_time).await.unwrap();
    assert_eq!(submitted.state(), State::Submitted);

    w.set(consent + days(window));
    let error = w.refused(w.service.submit(&a, &too_late)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Lapsed { state: State::NotSubmittedExpired, at })
            if at == consent + days(window)
    );
    assert_eq!(error.rule(), Some("R-CLAIM-W-1"));
    // Expired shows in Complete, and nothing reactivates it.
    let row = w.row(&a, engagement(&w), &too_late).await.unwrap();
    assert_eq!(row.tab, Tab::Complete);
    assert_eq!(row.status.state, State::NotSubmittedExpired);
    assert!(
        row.actions
            .iter()
            .all(|a| *a == mci_core::Action::ViewWorkshopClaim)
    );
    w.service.sweep().await.unwrap();
    for error in [
        w.refused(w.service.submit(&a, &too_late)).await,
        w.refused(w.service.cancel(&a, &too_late)).await,
        w.refused(w.service.send_survey(&a, &too_late, SurveyKind::Partner))
            .await,
        w.refused(w.service.add_comment(&a, &too_late, comment("please")))
            .await,
    ] {
        assert_matches!(
            error,
            Error::Refused(Refusal::Lapsed {
                state: State::NotSubmittedExpired,
                ..
            })
        );
    }
}

#[tokio::test]
async fn r_claim_w_1_a_workshop_must_be_first_submitted_within_90_days_of_consent() {
    first_submit_window(|w| &w.workshop, 90).await;
}

#[tokio::test]
async fn r_claim_w_1_an_assessment_must_be_first_submitted_within_60_days_of_consent() {
    first_submit_window(|w| &w.assessment, 60).await;
}

#[tokio::test]
async fn r_claim_w_1_the_claim_opens_only_once_consent_is_given() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    w.send_consent(&a, &id).await;
    let error = w
        .refused(
            w.service
                .attach_document(&a, &id, DocumentKind::Invoice, document("invoice.pdf")),
        )
        .await;
    assert_matches!(
        error,
        Error::Refused(Refusal::NotAllowedNow {
            command: Command::AttachDocument,
            state: State::AwaitingConsent
        })
    );
    let error = w
        .refused(w.service.send_survey(&a, &id, SurveyKind::Customer))
        .await;
    assert_matches!(error, Error::Refused(Refusal::NotAllowedNow { .. }));
    let error = w.refused(w.service.submit(&a, &id)).await;
    assert_matches!(error, Error::Refused(Refusal::NotAllowedNow { .. }));
}

#[tokio::test]
async fn r_claim_w_2_documents_are_stored_as_references_in_any_order_and_can_be_replaced() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    w.service
        .attach_document(&a, &id, DocumentKind::Invoice, document("invoice-v1.pdf"))
        .await
        .unwrap();
    w.service
        .attach_document(
            &a,
            &id,
            DocumentKind::ProofOfExecution,
            document("discovery.pdf"),
        )
        .await
        .unwrap();
    let replaced = w
        .service
        .attach_document(&a, &id, DocumentKind::Invoice, document("invoice-v2.pdf"))
        .await
        .unwrap();
    let documents = &replaced.claim().documents;
    assert_eq!(documents.len(), 2);
    assert_eq!(
        documents[&DocumentKind::Invoice].name().as_str(),
        "invoice-v2.pdf"
    );
    assert_eq!(documents[&DocumentKind::Invoice].size_bytes(), 48_213);
    assert_eq!(
        documents[&DocumentKind::ProofOfExecution]
            .media_type()
            .as_str(),
        "application/pdf"
    );
    let attached = w
        .service
        .history(&a, &id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::DocumentAttached { .. }))
        .count();
    assert_eq!(attached, 3);
    // Surveys, then documents, is just as good.
    let other = w.consented_subscription(&a, 2, &w.workshop).await;
    w.complete_survey(&a, &other, SurveyKind::Customer).await;
    w.complete_survey(&a, &other, SurveyKind::Partner).await;
    w.service
        .attach_document(&a, &other, DocumentKind::Invoice, document("i.pdf"))
        .await
        .unwrap();
    w.service
        .attach_document(
            &a,
            &other,
            DocumentKind::ProofOfExecution,
            document("d.pdf"),
        )
        .await
        .unwrap();
    w.service.submit(&a, &other).await.unwrap();
}

#[tokio::test]
async fn r_claim_w_3_surveys_go_to_their_contacts_show_their_status_and_complete_through_their_own_link()
 {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let n = w.read(&id).await;
    assert_eq!(n.claim().partner_survey.status, SurveyStatus::NotSent);
    assert_eq!(n.claim().customer_survey.status, SurveyStatus::NotSent);

    w.service
        .send_survey(&a, &id, SurveyKind::Partner)
        .await
        .unwrap();
    let partner_message = w.messages(&id).last().unwrap().clone();
    assert_eq!(
        partner_message.to,
        vec!["ada@partner-a.example".parse().unwrap()]
    );
    w.service
        .send_survey(&a, &id, SurveyKind::Customer)
        .await
        .unwrap();
    let customer_message = w.messages(&id).last().unwrap().clone();
    assert_eq!(
        customer_message.to,
        vec!["it@customer1.example".parse().unwrap()]
    );
    let n = w.read(&id).await;
    assert_eq!(n.claim().partner_survey.status, SurveyStatus::Sent);
    assert_eq!(n.claim().customer_survey.status, SurveyStatus::Sent);

    // Re-sent any number of times; every link sent works.
    let first_customer_link = w.survey_token(&id, SurveyKind::Customer);
    w.advance_days(3);
    w.service
        .send_survey(&a, &id, SurveyKind::Customer)
        .await
        .unwrap();
    assert!(
        w.messages(&id)
            .iter()
            .filter(|m| matches!(
                m.kind,
                MessageKind::Survey {
                    survey: SurveyKind::Customer,
                    ..
                }
            ))
            .count()
            == 2
    );
    let partner_link = w.survey_token(&id, SurveyKind::Partner);
    let done = w.service.complete_survey(&partner_link).await.unwrap();
    assert_eq!(done.claim().partner_survey.status, SurveyStatus::Completed);
    assert_eq!(done.claim().customer_survey.status, SurveyStatus::Sent);
    let done = w
        .service
        .complete_survey(&first_customer_link)
        .await
        .unwrap();
    assert_eq!(done.claim().customer_survey.status, SurveyStatus::Completed);

    // Completing again answers the same; sending a completed survey is refused.
    let again = w.unchanged(w.service.complete_survey(&partner_link)).await;
    assert_eq!(again, done);
    let error = w
        .refused(w.service.send_survey(&a, &id, SurveyKind::Partner))
        .await;
    assert_matches!(error, Error::Refused(Refusal::SurveyCompleted));
}

#[tokio::test]
async fn r_claim_w_3_surveys_cannot_be_sent_after_the_submission_deadline() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    w.advance_days(90);
    let error = w
        .refused(w.service.send_survey(&a, &id, SurveyKind::Customer))
        .await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Lapsed {
            state: State::NotSubmittedExpired,
            ..
        })
    );
}

#[tokio::test]
async fn r_claim_w_4_a_contact_change_voids_the_survey_link_and_the_survey_must_be_sent_again() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    w.service
        .send_survey(&a, &id, SurveyKind::Customer)
        .await
        .unwrap();
    let old = w.survey_token(&id, SurveyKind::Customer);
    let messages_before = w.messages(&id).len();
    let updated = w
        .service
        .update_contacts(
            &a,
            &id,
            ContactsUpdate {
                customer: Some(contacts("New Sponsor", "sponsor@customer1.example")),
                partner: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        updated.claim().customer_survey.status,
        SurveyStatus::NotSent,
        "the survey shows as to be sent again"
    );
    assert_eq!(
        w.messages(&id).len(),
        messages_before,
        "nothing is re-sent by itself"
    );
    let error = w.refused(w.service.complete_survey(&old)).await;
    assert_matches!(error, Error::Refused(Refusal::InvalidLink));
    assert_eq!(error.rule(), Some("R-TOKEN-3"));

    w.service
        .send_survey(&a, &id, SurveyKind::Customer)
        .await
        .unwrap();
    assert_eq!(
        w.messages(&id).last().unwrap().to,
        vec!["sponsor@customer1.example".parse().unwrap()]
    );
    let new = w.survey_token(&id, SurveyKind::Customer);
    let done = w.service.complete_survey(&new).await.unwrap();
    assert_eq!(done.claim().customer_survey.status, SurveyStatus::Completed);
}

#[tokio::test]
async fn r_claim_w_4_a_partner_contact_change_voids_the_partner_survey_link() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    w.service
        .send_survey(&a, &id, SurveyKind::Partner)
        .await
        .unwrap();
    w.service
        .send_survey(&a, &id, SurveyKind::Customer)
        .await
        .unwrap();
    let partner_link = w.survey_token(&id, SurveyKind::Partner);
    let customer_link = w.survey_token(&id, SurveyKind::Customer);
    w.service
        .update_contacts(
            &a,
            &id,
            ContactsUpdate {
                customer: None,
                partner: Some(contacts("Bob Seller", "bob@partner-a.example")),
            },
        )
        .await
        .unwrap();
    w.refused(w.service.complete_survey(&partner_link)).await;
    w.service.complete_survey(&customer_link).await.unwrap();
}

#[tokio::test]
async fn r_claim_w_4_contacts_are_frozen_once_the_customer_survey_is_completed() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    w.complete_survey(&a, &id, SurveyKind::Customer).await;
    let error = w
        .refused(w.service.update_contacts(
            &a,
            &id,
            ContactsUpdate {
                customer: Some(contacts("Someone Else", "else@customer1.example")),
                partner: None,
            },
        ))
        .await;
    assert_matches!(error, Error::Refused(Refusal::ContactsFrozen));
    assert_eq!(error.rule(), Some("R-CLAIM-W-4"));
    // The partner's own contacts may still change.
    let updated = w
        .service
        .update_contacts(
            &a,
            &id,
            ContactsUpdate {
                customer: None,
                partner: Some(contacts("Bob Seller", "bob@partner-a.example")),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        updated.customer_contacts(),
        &contacts("Carla Customer", "it@customer1.example")
    );
}

#[tokio::test]
async fn r_claim_w_5_comments_are_kept_at_any_time_before_a_final_state() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    w.service
        .add_comment(&a, &id, comment("kick-off planned"))
        .await
        .unwrap();
    let token = w.send_consent(&a, &id).await;
    w.service.accept_consent(&token).await.unwrap();
    w.prove(&a, &id).await;
    w.service.submit(&a, &id).await.unwrap();
    w.service
        .add_comment(&a, &id, comment("submitted with the signed invoice"))
        .await
        .unwrap();
    w.service
        .start_review(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    w.service
        .add_comment(&user(PARTNER_A), &id, comment("happy to answer questions"))
        .await
        .unwrap();
    let n = w.read(&id).await;
    let texts: Vec<&str> = n.claim().comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "kick-off planned",
            "submitted with the signed invoice",
            "happy to answer questions"
        ]
    );
    w.service
        .approve(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    let error = w
        .refused(w.service.add_comment(&a, &id, comment("too late")))
        .await;
    assert_matches!(
        error,
        Error::Refused(Refusal::NotAllowedNow {
            command: Command::AddComment,
            state: State::Approved
        })
    );
}

#[tokio::test]
async fn r_claim_w_6_submit_lists_the_missing_proof() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let error = w.refused(w.service.submit(&a, &id)).await;
    let Error::Refused(Refusal::MissingProof { missing }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        missing,
        &[
            ProofItem::ProofOfExecution,
            ProofItem::PartnerSurvey,
            ProofItem::CustomerSurvey,
            ProofItem::Invoice
        ]
    );
    assert_eq!(error.rule(), Some("R-CLAIM-W-6"));
    let text = error.to_string();
    assert!(
        text.contains("invoice") && text.contains("customer survey"),
        "{text}"
    );

    w.service
        .attach_document(&a, &id, DocumentKind::Invoice, document("invoice.pdf"))
        .await
        .unwrap();
    w.complete_survey(&a, &id, SurveyKind::Partner).await;
    // A survey sent but not completed is still missing.
    w.service
        .send_survey(&a, &id, SurveyKind::Customer)
        .await
        .unwrap();
    let error = w.refused(w.service.submit(&a, &id)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::MissingProof { ref missing })
            if missing == &[ProofItem::ProofOfExecution, ProofItem::CustomerSurvey]
    );
    let token = w.survey_token(&id, SurveyKind::Customer);
    w.service.complete_survey(&token).await.unwrap();
    w.service
        .attach_document(
            &a,
            &id,
            DocumentKind::ProofOfExecution,
            document("discovery.pdf"),
        )
        .await
        .unwrap();
    let submitted = w.service.submit(&a, &id).await.unwrap();
    assert_eq!(submitted.state(), State::Submitted);
    assert_eq!(submitted.claim().first_submitted_at, Some(t0()));
}

#[tokio::test]
async fn r_claim_w_6_r_eng_6_items_marked_if_applicable_are_not_needed_to_submit() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.security).await;
    let error = w.refused(w.service.submit(&a, &id)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::MissingProof { ref missing })
            if missing == &[ProofItem::ProofOfExecution, ProofItem::Invoice]
    );
    w.service
        .attach_document(&a, &id, DocumentKind::Invoice, document("invoice.pdf"))
        .await
        .unwrap();
    w.service
        .attach_document(
            &a,
            &id,
            DocumentKind::ProofOfExecution,
            document("discovery.pdf"),
        )
        .await
        .unwrap();
    assert_eq!(
        w.service.submit(&a, &id).await.unwrap().state(),
        State::Submitted
    );
}

#[tokio::test]
async fn r_claim_w_6_the_reviewer_cannot_act_on_an_unsubmitted_claim() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let claimed = w.add_subscription(&a, 1, &w.workshop).await;
    let consented = w.consented_subscription(&a, 2, &w.workshop).await;
    let proved = w.consented_subscription(&a, 3, &w.workshop).await;
    w.prove(&a, &proved).await;
    for id in [claimed, consented, proved] {
        for error in [
            w.refused(w.service.start_review(reviewer(), &id, w.seen(&id).await))
                .await,
            w.refused(w.service.approve(reviewer(), &id, w.seen(&id).await))
                .await,
            w.refused(
                w.service
                    .reject(reviewer(), &id, w.seen(&id).await, comment("no")),
            )
            .await,
            w.refused(w.service.request_partner_action(
                reviewer(),
                &id,
                w.seen(&id).await,
                comment("more"),
            ))
            .await,
        ] {
            assert_matches!(error, Error::Refused(Refusal::NotSubmitted));
            assert_eq!(error.rule(), Some("R-CLAIM-W-6"));
        }
    }
    let queue = w.service.review_queue(None, 10).await.unwrap();
    assert!(queue.rows.is_empty(), "nothing unsubmitted is queued");
}

#[tokio::test]
async fn r_claim_w_10_either_role_cancels_before_the_first_submission() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let before_consent = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &before_consent).await;
    let cancelled = w
        .service
        .cancel(&user(PARTNER_A), &before_consent)
        .await
        .unwrap();
    assert_eq!(cancelled.state(), State::Cancelled);
    assert_eq!(
        w.row(&a, &w.workshop, &before_consent).await,
        None,
        "cancelled before consent leaves the page"
    );
    let error = w.refused(w.service.accept_consent(&token)).await;
    assert_matches!(error, Error::Refused(Refusal::InvalidLink));

    let after_consent = w.consented_subscription(&a, 2, &w.workshop).await;
    w.service.cancel(&a, &after_consent).await.unwrap();
    let row = w.row(&a, &w.workshop, &after_consent).await.unwrap();
    assert_eq!(row.tab, Tab::Complete);
    assert_eq!(row.row_type, RowType::Active);
    assert_eq!(row.status.state, State::Cancelled);
    assert_eq!(row.status.deadline, None::<DeadlineKind>);
    // Kept, with its history.
    let history = w.service.history(&a, &after_consent).await.unwrap();
    assert_matches!(history.last().unwrap().kind, EventKind::Cancelled);
}

#[tokio::test]
async fn r_claim_w_10_cancel_after_the_first_submission_is_refused() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.submitted_subscription(&a, 1, &w.workshop).await;
    let error = w.refused(w.service.cancel(&a, &id)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::NotAllowedNow {
            command: Command::Cancel,
            state: State::Submitted
        })
    );
    assert_eq!(error.rule(), Some("R-CLAIM-W-10"));
    // Not even when the reviewer sends it back for more.
    w.service
        .start_review(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    w.service
        .request_partner_action(
            reviewer(),
            &id,
            w.seen(&id).await,
            comment("add the agenda"),
        )
        .await
        .unwrap();
    let error = w.refused(w.service.cancel(&user(PARTNER_A), &id)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::NotAllowedNow {
            command: Command::Cancel,
            state: State::PartnerActionRequired
        })
    );
}

#[tokio::test]
async fn r_claim_w_4_contacts_change_while_the_partner_answers_the_reviewer_not_while_it_reviews() {
    let w = World::new();
    let a = admin(PARTNER_A);
    // The security workshop needs no survey, so the customer's contacts are
    // not frozen by one.
    let id = w.consented_subscription(&a, 1, &w.security).await;
    for (kind, name) in [
        (DocumentKind::Invoice, "invoice.pdf"),
        (DocumentKind::ProofOfExecution, "discovery.pdf"),
    ] {
        w.service
            .attach_document(&a, &id, kind, document(name))
            .await
            .unwrap();
    }
    w.service.submit(&a, &id).await.unwrap();
    let change = || ContactsUpdate {
        customer: Some(contacts("New Sponsor", "sponsor@customer1.example")),
        partner: None,
    };
    let error = w
        .refused(w.service.update_contacts(&a, &id, change()))
        .await;
    assert_matches!(
        error,
        Error::Refused(Refusal::NotAllowedNow {
            command: Command::UpdateContacts,
            state: State::Submitted
        })
    );
    w.service
        .start_review(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    let error = w
        .refused(w.service.update_contacts(&a, &id, change()))
        .await;
    assert_matches!(
        error,
        Error::Refused(Refusal::NotAllowedNow {
            state: State::UnderReview,
            ..
        })
    );
    w.service
        .request_partner_action(
            reviewer(),
            &id,
            w.seen(&id).await,
            comment("the sponsor left"),
        )
        .await
        .unwrap();
    let updated = w.service.update_contacts(&a, &id, change()).await.unwrap();
    assert_eq!(
        updated.customer_contacts(),
        &contacts("New Sponsor", "sponsor@customer1.example")
    );
    w.service.submit(&a, &id).await.unwrap();
}
