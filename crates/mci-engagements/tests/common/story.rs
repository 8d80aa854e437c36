//! One whole story through the service, for the tests of what an operator
//! sees of it.

use super::*;
use mci_core::{LinkToken, NominationId, SurveyKind, Tab};
use mci_engagements::Error;

/// What the story handled that must never be seen.
pub struct Story {
    /// The nomination that goes all the way to its payout.
    pub consented: NominationId,
    /// The nomination the sweep lapses.
    pub lapsing: NominationId,
    /// Every link token the outbox handed out.
    pub tokens: Vec<LinkToken>,
    /// Every text that must never be seen: tokens, their hashes and halves,
    /// email addresses and domains, contact and friendly names.
    pub secrets: Vec<String>,
}

/// The tokens of the messages the outbox hands out now, acknowledged.
async fn deliver(w: &World) -> Vec<LinkToken> {
    let deliveries = w.service.take_messages(days(1), 50).await.unwrap();
    let ids: Vec<_> = deliveries.iter().map(|d| d.message.id).collect();
    w.service.acknowledge(&ids).await.unwrap();
    deliveries.into_iter().filter_map(|d| d.token).collect()
}

/// The whole story: add, consent asked and given through the link, the
/// workshop claim proved through survey links and submitted, reviewed,
/// approved and paid, a conflict retried, a refusal, the Customers page,
/// and a sweep that lapses another nomination.
pub async fn story(w: &World) -> Story {
    let a = admin(PARTNER_A);
    let form = w.form(&a, "it@customer1.example", subscription(1), &[&w.workshop]);
    let mut secrets = vec![
        "it@customer1.example".to_owned(),
        "customer1.example".to_owned(),
        "Carla Customer".to_owned(),
        "Ada Partner".to_owned(),
        "ada@partner-a.example".to_owned(),
        form.friendly_name.to_string(),
    ];
    let added = w.service.add_customer(&a, &form).await.unwrap();
    let id = *added.nominations[0].id();
    w.service
        .send_consent(&a, &id, mci_core::SendConsent::default())
        .await
        .unwrap();
    let mut tokens = deliver(w).await;
    let consent = tokens
        .last()
        .cloned()
        .expect("the consent email has a link");
    w.service.open_consent(&consent).await.unwrap();
    w.service.accept_consent(&consent).await.unwrap();

    // The workshop claim.
    w.service
        .attach_document(
            &a,
            &id,
            mci_core::DocumentKind::ProofOfExecution,
            document("discovery.pdf"),
        )
        .await
        .unwrap();
    w.service
        .attach_document(
            &a,
            &id,
            mci_core::DocumentKind::Invoice,
            document("invoice.pdf"),
        )
        .await
        .unwrap();
    for survey in [SurveyKind::Partner, SurveyKind::Customer] {
        w.service.send_survey(&a, &id, survey).await.unwrap();
        let token = deliver(w).await.pop().expect("a survey email has a link");
        w.service.complete_survey(&token).await.unwrap();
        tokens.push(token);
    }
    // A comment held while another is written: the first retries (R-REC-4).
    let held = w.hold_next_commit();
    let first = tokio::spawn({
        let (service, a) = (w.service.clone(), a.clone());
        async move { service.add_comment(&a, &id, comment("first")).await }
    });
    held.release_after(
        w.service
            .add_comment(&user(PARTNER_A), &id, comment("second")),
    )
    .await
    .unwrap();
    first.await.unwrap().unwrap();
    w.service.submit(&a, &id).await.unwrap();
    // Submitting again is refused, with its rule.
    assert_matches!(w.service.submit(&a, &id).await, Err(Error::Refused(_)));

    // The review and the payout.
    w.service.review_queue(None, 10).await.unwrap();
    w.review_and_approve(&id).await;
    let run = w.service.run_payout(reviewer(), 10).await.unwrap();
    assert_eq!(run.paid.len(), 1);

    // Another customer, never asked: the sweep lapses it a day late.
    let other = w.form(&a, "cto@customer2.example", subscription(2), &[&w.workshop]);
    secrets.extend([
        "cto@customer2.example".to_owned(),
        other.friendly_name.to_string(),
    ]);
    let lapsing = *w
        .service
        .add_customer(&a, &other)
        .await
        .unwrap()
        .nominations[0]
        .id();
    w.service
        .customers_page(&a, w.workshop.id(), Tab::Eligible, None, 20)
        .await
        .unwrap();
    w.advance_days(31);
    let report = w.service.sweep().await.unwrap();
    assert_eq!(report.lapsed, 1);
    // The lapse notice goes out.
    deliver(w).await;

    for token in &tokens {
        secrets.push(token.to_string());
        secrets.push(token.hash().to_string());
        // Half a token is a leak too.
        secrets.push(token.to_string()[..32].to_owned());
    }
    Story {
        consented: id,
        lapsing,
        tokens,
        secrets,
    }
}
