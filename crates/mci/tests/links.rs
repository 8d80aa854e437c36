//! Consent and survey links through the service (R-TOKEN).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci::Error;
use mci_core::{ContactsUpdate, LinkPurpose, LinkToken, Refusal, SurveyKind};
use std::collections::BTreeSet;

#[tokio::test]
async fn r_token_1_links_carry_256_random_bits_from_the_operating_system() {
    let w = World::with_os_tokens();
    let a = admin(PARTNER_A);
    let mut seen = BTreeSet::new();
    for n in 1..=8 {
        let id = w.add_subscription(&a, n, &w.workshop).await;
        let token = w.send_consent(&a, &id).await;
        let text = token.to_string();
        assert_eq!(text.len(), 64, "256 bits as hex");
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(seen.insert(text), "tokens never repeat");
        w.service.accept_consent(&token).await.unwrap();
    }
}

#[tokio::test]
async fn r_token_2_only_a_hash_of_the_token_is_kept_with_the_nomination() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    w.service
        .send_survey(&a, &id, SurveyKind::Customer)
        .await
        .unwrap();
    let consent = w.consent_token(&id);
    let survey = w.survey_token(&id, SurveyKind::Customer);
    let stored = serde_json::to_string(&w.stored(&id)).unwrap();
    let events = serde_json::to_string(&w.service.history(&a, &id).await.unwrap()).unwrap();
    for token in [&consent, &survey] {
        let text = token.to_string();
        assert!(!stored.contains(&text), "the nomination keeps the token");
        assert!(!events.contains(&text), "the history keeps the token");
        assert!(
            !format!("{token:?}").contains(&text),
            "debug output shows it"
        );
    }
    let n = w.stored(&id);
    let hashes: Vec<_> = n.links().iter().map(|l| *l.hash()).collect();
    assert!(hashes.contains(&consent.hash()));
    assert!(hashes.contains(&survey.hash()));
}

#[tokio::test]
async fn r_token_2_a_token_is_bound_to_one_nomination_and_one_purpose() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let other = w.add_subscription(&a, 2, &w.workshop).await;
    let other_consent = w.send_consent(&a, &other).await;
    let consent = w.consent_token(&id);
    w.service
        .send_survey(&a, &id, SurveyKind::Customer)
        .await
        .unwrap();
    w.service
        .send_survey(&a, &id, SurveyKind::Partner)
        .await
        .unwrap();
    let customer_survey = w.survey_token(&id, SurveyKind::Customer);
    // A consent link completes no survey, a survey link answers no consent.
    let error = w.refused(w.service.complete_survey(&consent)).await;
    assert_matches!(error, Error::Refused(Refusal::InvalidLink));
    let error = w.refused(w.service.accept_consent(&customer_survey)).await;
    assert_matches!(error, Error::Refused(Refusal::InvalidLink));
    let error = w.refused(w.service.open_consent(&customer_survey)).await;
    assert_matches!(error, Error::Refused(Refusal::InvalidLink));
    // A link opens its own nomination only.
    let invitation = w.service.open_consent(&other_consent).await.unwrap();
    assert_eq!(invitation.nomination, other);
    let n = w.stored(&id);
    assert!(
        n.links()
            .iter()
            .any(|l| l.purpose() == LinkPurpose::Consent)
    );
    assert!(
        n.links()
            .iter()
            .any(|l| l.purpose() == LinkPurpose::CustomerSurvey)
    );
}

#[tokio::test]
async fn r_token_3_a_wrong_voided_or_expired_link_fails_with_one_error() {
    let w = World::new();
    let a = admin(PARTNER_A);
    // Wrong.
    let wrong = LinkToken::from_bytes([42; 32]);
    let wrong_error = w.refused(w.service.complete_survey(&wrong)).await;
    // Voided by a contact change.
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    w.service
        .send_survey(&a, &id, SurveyKind::Customer)
        .await
        .unwrap();
    let voided = w.survey_token(&id, SurveyKind::Customer);
    w.service
        .update_contacts(
            &a,
            &id,
            ContactsUpdate {
                customer: Some(contacts("New", "new@customer1.example")),
                partner: None,
            },
        )
        .await
        .unwrap();
    let voided_error = w.refused(w.service.complete_survey(&voided)).await;
    // Expired: the claim ended before the survey was answered.
    let ended = w.consented_subscription(&a, 2, &w.workshop).await;
    w.service
        .send_survey(&a, &ended, SurveyKind::Customer)
        .await
        .unwrap();
    let expired = w.survey_token(&ended, SurveyKind::Customer);
    w.advance_days(90);
    let expired_error = w.refused(w.service.complete_survey(&expired)).await;
    w.service.sweep().await.unwrap();
    let swept_error = w.refused(w.service.complete_survey(&expired)).await;
    // Cancelled: the partner withdrew.
    w.set(t0());
    let withdrawn = w.add_subscription(&a, 3, &w.workshop).await;
    let withdrawn_token = w.send_consent(&a, &withdrawn).await;
    w.service.cancel(&a, &withdrawn).await.unwrap();
    let withdrawn_error = w.refused(w.service.accept_consent(&withdrawn_token)).await;

    let errors = [
        wrong_error,
        voided_error,
        expired_error,
        swept_error,
        withdrawn_error,
    ];
    for error in &errors {
        assert_matches!(error, Error::Refused(Refusal::InvalidLink));
        assert_eq!(error.to_string(), "this link is not valid (R-TOKEN-3)");
    }
}
