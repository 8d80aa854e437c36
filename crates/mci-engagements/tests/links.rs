//! Consent and survey links through the service (R-TOKEN).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{ContactsUpdate, LinkPurpose, LinkToken, Refusal, SendConsent, SurveyKind};
use mci_engagements::Error;
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

#[tokio::test]
async fn r_token_4_no_store_ever_receives_or_returns_a_working_token() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut tokens: Vec<LinkToken> = Vec::new();
    let deliver = async |w: &World| {
        let taken = w
            .service
            .take_messages(chrono::TimeDelta::minutes(5), 1000)
            .await
            .unwrap();
        let ids: Vec<_> = taken.iter().map(|d| d.message.id).collect();
        w.service.acknowledge(&ids).await.unwrap();
        taken
            .into_iter()
            .filter_map(|d| d.token)
            .collect::<Vec<_>>()
    };
    // Consent asked, re-sent twice, the partner reminded by the sweep as
    // the deadline nears, then accepted through the last link.
    let consenting = w.add_subscription(&a, 1, &w.workshop).await;
    w.service
        .send_consent(&a, &consenting, SendConsent::default())
        .await
        .unwrap();
    tokens.extend(deliver(&w).await);
    for _ in 0..2 {
        w.advance_days(5);
        w.service.resend_consent(&a, &consenting).await.unwrap();
        tokens.extend(deliver(&w).await);
    }
    w.advance_days(16);
    w.service.sweep().await.unwrap();
    tokens.extend(deliver(&w).await);
    let last = tokens.last().unwrap().clone();
    w.service.accept_consent(&last).await.unwrap();
    // A second customer declines; a third's links are voided by a contact
    // change.
    let declining = w.add_subscription(&a, 2, &w.workshop).await;
    w.service
        .send_consent(&a, &declining, SendConsent::default())
        .await
        .unwrap();
    let declined = deliver(&w).await;
    w.service.decline_consent(&declined[0]).await.unwrap();
    tokens.extend(declined);
    // Both surveys sent, one sent again, both completed.
    for survey in [
        SurveyKind::Partner,
        SurveyKind::Customer,
        SurveyKind::Customer,
    ] {
        w.service
            .send_survey(&a, &consenting, survey)
            .await
            .unwrap();
        let sent = deliver(&w).await;
        assert_eq!(sent.len(), 1, "one survey link per send");
        tokens.extend(sent);
    }
    let surveys = &tokens[tokens.len() - 2..];
    for token in surveys {
        w.service.complete_survey(token).await.unwrap();
    }
    let voided = w.add_subscription(&a, 3, &w.workshop).await;
    w.service
        .send_consent(&a, &voided, SendConsent::default())
        .await
        .unwrap();
    tokens.extend(deliver(&w).await);
    w.service
        .update_contacts(
            &a,
            &voided,
            ContactsUpdate {
                customer: Some(contacts("New", "new@customer3.example")),
                partner: None,
            },
        )
        .await
        .unwrap();
    w.service
        .send_consent(&a, &voided, SendConsent::default())
        .await
        .unwrap();
    tokens.extend(deliver(&w).await);

    // Every link of the story went out, and the ones answered worked.
    assert_eq!(
        tokens.len(),
        9,
        "3 consent links, 1 declined, 3 surveys, 2 after a change"
    );
    let traffic = w.store_traffic();
    assert!(traffic.len() > 20, "the store saw the story");
    for (i, token) in tokens.iter().enumerate() {
        for seen in &traffic {
            assert!(
                !mci_testkit::holds_token(seen.as_bytes(), token),
                "token {i} reached the store: {seen}"
            );
        }
    }
}

#[tokio::test]
async fn r_token_3_a_genuine_consent_link_past_its_window_answers_consent_lapsed() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &id).await;
    w.advance_days(30);
    for swept in [false, true] {
        if swept {
            w.service.sweep().await.unwrap();
        }
        let error = w.refused(w.service.accept_consent(&token)).await;
        assert!(
            matches!(
                error,
                Error::Refused(Refusal::Lapsed {
                    state: mci_core::State::ConsentExpired,
                    ..
                })
            ),
            "swept {swept}: {error:?}"
        );
    }
}
