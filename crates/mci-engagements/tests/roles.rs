//! Who may do what through the service (R-ROLE).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{
    ContactsUpdate, CustomerIdInput, DocumentKind, Ineligibility, NominationId, Refusal,
    SendConsent, SurveyKind, Tab,
};
use mci_engagements::{ClaimCustomer, Error, OverviewFilter};

fn is_role_refusal(error: &Error) -> bool {
    matches!(error, Error::Refused(Refusal::RoleNotAllowed { role }) if role == "Account admin")
}

#[tokio::test]
async fn r_role_1_a_user_without_an_incentives_role_is_refused_everywhere_on_the_partner_side() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let known = w.consented_subscription(&a, 2, &w.assessment).await;
    let owner = account_admin(PARTNER_A);
    let form = w.form(
        &owner,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let claim = ClaimCustomer {
        known_through: known,
        friendly_name: "again".parse().unwrap(),
        location: location(LOC_A),
        engagements: vec![w.workshop.id().clone()],
        customer_contacts: None,
        partner_contacts: None,
        hours: None,
    };
    let update = ContactsUpdate {
        customer: None,
        partner: Some(contacts("Bob", "bob@partner-a.example")),
    };
    let errors = vec![
        w.refused(w.service.add_customer(&owner, &form)).await,
        w.refused(w.service.review_add(&owner, &form)).await,
        w.refused(w.service.claim_customer(&owner, &claim)).await,
        w.refused(w.service.nomination(&owner, &id)).await,
        w.refused(w.service.history(&owner, &id)).await,
        w.refused(w.service.send_consent(&owner, &id, SendConsent::default()))
            .await,
        w.refused(w.service.resend_consent(&owner, &id)).await,
        w.refused(w.service.update_contacts(&owner, &id, update))
            .await,
        w.refused(w.service.attach_document(
            &owner,
            &id,
            DocumentKind::Invoice,
            document("invoice.pdf"),
        ))
        .await,
        w.refused(w.service.send_survey(&owner, &id, SurveyKind::Customer))
            .await,
        w.refused(w.service.add_comment(&owner, &id, comment("hi")))
            .await,
        w.refused(w.service.submit(&owner, &id)).await,
        w.refused(w.service.dispute(&owner, &id, comment("no")))
            .await,
        w.refused(w.service.cancel(&owner, &id)).await,
        w.refused(
            w.service
                .customers_page(&owner, w.workshop.id(), Tab::Eligible, None, 10),
        )
        .await,
        w.refused(w.service.overview(&owner, &OverviewFilter::default()))
            .await,
    ];
    for error in &errors {
        assert!(is_role_refusal(error), "{error:?}");
        assert_eq!(error.rule(), Some("R-ROLE-1"));
    }
}

#[tokio::test]
async fn r_role_1_incentives_admins_and_incentives_users_may_both_act() {
    let w = World::new();
    let u = user(PARTNER_A);
    let id = w.consented_subscription(&u, 1, &w.workshop).await;
    w.prove(&u, &id).await;
    w.service.submit(&admin(PARTNER_A), &id).await.unwrap();
    let history = w.service.history(&u, &id).await.unwrap();
    assert_eq!(
        history[0].actor.to_string(),
        format!("partner {PARTNER_A} user user@{PARTNER_A}")
    );
}

#[tokio::test]
async fn r_role_2_another_partners_nomination_answers_not_found_like_a_random_id() {
    let w = World::new();
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    let theirs = w.consented_subscription(&b, 1, &w.workshop).await;
    let random: NominationId = "0190a5c0-0000-7000-8000-0000000000ff".parse().unwrap();
    for id in [theirs, random] {
        let errors = vec![
            w.refused(w.service.nomination(&a, &id)).await,
            w.refused(w.service.history(&a, &id)).await,
            w.refused(w.service.send_consent(&a, &id, SendConsent::default()))
                .await,
            w.refused(w.service.resend_consent(&a, &id)).await,
            w.refused(w.service.update_contacts(
                &a,
                &id,
                ContactsUpdate {
                    customer: Some(contacts("X", "x@customer1.example")),
                    partner: None,
                },
            ))
            .await,
            w.refused(w.service.attach_document(
                &a,
                &id,
                DocumentKind::Invoice,
                document("invoice.pdf"),
            ))
            .await,
            w.refused(w.service.send_survey(&a, &id, SurveyKind::Partner))
                .await,
            w.refused(w.service.add_comment(&a, &id, comment("hello")))
                .await,
            w.refused(w.service.submit(&a, &id)).await,
            w.refused(w.service.dispute(&a, &id, comment("no"))).await,
            w.refused(w.service.cancel(&a, &id)).await,
        ];
        for error in errors {
            assert_matches!(error, Error::Refused(Refusal::NotFound));
            assert_eq!(error.to_string(), "no such nomination (R-ROLE-2)");
            assert_eq!(error.rule(), Some("R-ROLE-2"));
        }
    }
    // The reviewer's view of a random id says not found too.
    let error = w
        .refused(w.service.start_review(
            reviewer(),
            &random,
            mci_core::Sha256Digest::from_bytes([1; 32]),
        ))
        .await;
    assert_matches!(error, Error::Refused(Refusal::NotFound));
}

#[tokio::test]
async fn r_role_2_a_partner_sees_only_its_own_rows() {
    let w = World::new();
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    let mine = w.add_subscription(&a, 1, &w.workshop).await;
    let theirs = w.add_subscription(&b, 2, &w.workshop).await;
    let rows = w.nomination_rows(&a, &w.workshop, Tab::Eligible).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].nomination, mine);
    let rows = w.nomination_rows(&b, &w.workshop, Tab::Eligible).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].nomination, theirs);
}

#[tokio::test]
async fn r_role_3_an_ineligible_reason_does_not_reveal_the_other_partner() {
    let w = World::new();
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    let theirs = w
        .consented(
            &b,
            "cio@fabrikam.example",
            CustomerIdInput::EmailOnly,
            &w.workshop,
        )
        .await;
    let hidden = [
        PARTNER_B.to_string(),
        LOC_B.to_string(),
        format!("admin@{PARTNER_B}"),
        format!("ada@{PARTNER_B}.example"),
        theirs.to_string(),
    ];
    let check = |text: String| {
        for secret in &hidden {
            assert!(!text.contains(secret.as_str()), "{text} reveals {secret}");
        }
    };

    // Adding the customer.
    let form = w.form(
        &a,
        "cio@fabrikam.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    let Error::Refused(Refusal::NotChoosable { refused }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        refused[0].reasons,
        vec![Ineligibility::ConsentedToAnotherPartner]
    );
    assert_eq!(
        refused[0].reasons[0].to_string(),
        "consented to another partner"
    );
    check(error.to_string());
    check(format!("{error:?}"));
    // The review step.
    let review = w.unchanged(w.service.review_add(&a, &form)).await;
    check(format!("{review:?}"));
    assert_eq!(
        review.refused[0].reasons,
        vec![Ineligibility::ConsentedToAnotherPartner]
    );

    // Racing B to the consent.
    let w = World::new();
    let theirs = w.add_subscription(&b, 1, &w.workshop).await;
    let mine = w.add_subscription(&a, 1, &w.workshop).await;
    let their_token = w.send_consent(&b, &theirs).await;
    let my_token = w.send_consent(&a, &mine).await;
    w.service.accept_consent(&their_token).await.unwrap();
    // A's nomination lost (R-CONSENT-10): its link is void, and its page
    // row and its partner's message say why without naming B.
    let error = w.refused(w.service.accept_consent(&my_token)).await;
    assert_matches!(error, Error::Refused(Refusal::InvalidLink));
    let row = w.row(&a, &w.workshop, &mine).await.unwrap();
    assert_eq!(row.reason, Some(Ineligibility::ConsentedToAnotherPartner));
    let told = w.messages(&mine).last().cloned().unwrap();
    let refused = w.refused(w.service.resend_consent(&a, &mine)).await;
    let hidden = [PARTNER_B.to_string(), LOC_B.to_string(), theirs.to_string()];
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{row:?}"),
        format!("{told:?}"),
        refused.to_string(),
        format!("{refused:?}"),
    ] {
        for secret in &hidden {
            assert!(!text.contains(secret.as_str()), "{text} reveals {secret}");
        }
    }
}

#[tokio::test]
async fn r_role_4_the_customer_acts_only_through_a_link_and_the_reviewer_only_on_claims() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    w.send_consent(&a, &id).await;
    // A token that was never issued opens nothing.
    let guessed = mci_core::LinkToken::from_bytes([7; 32]);
    let error = w.refused(w.service.accept_consent(&guessed)).await;
    assert_matches!(error, Error::Refused(Refusal::InvalidLink));
    let error = w.refused(w.service.open_consent(&guessed)).await;
    assert_matches!(error, Error::Refused(Refusal::InvalidLink));
    // The reviewer cannot act before the claim exists.
    let error = w
        .refused(w.service.start_review(reviewer(), &id, w.seen(&id).await))
        .await;
    assert_matches!(error, Error::Refused(Refusal::NotSubmitted));
}
