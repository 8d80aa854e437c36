//! Consent through the service (R-CONSENT).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci::Error;
use mci_core::{
    ContactsUpdate, EventKind, Ineligibility, MessageKind, Refusal, RowType, SendConsent, State,
    Tab,
};

#[tokio::test]
async fn r_consent_5_accept_on_day_29_works_and_at_the_deadline_fails() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let early = w.add_subscription(&a, 1, &w.workshop).await;
    let late = w.add_subscription(&a, 2, &w.workshop).await;
    let early_token = w.send_consent(&a, &early).await;
    let late_token = w.send_consent(&a, &late).await;

    w.advance_days(29);
    let accepted = w.service.accept_consent(&early_token).await.unwrap();
    assert_eq!(accepted.state(), State::Consented);
    assert_eq!(accepted.consented_at(), Some(t0() + days(29)));

    w.set(t0() + days(30));
    let error = w.refused(w.service.accept_consent(&late_token)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Lapsed { state: State::ConsentExpired, at }) if at == t0() + days(30)
    );
    assert_eq!(error.rule(), Some("R-CONSENT-5"));
    let error = w.refused(w.service.decline_consent(&late_token)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Lapsed {
            state: State::ConsentExpired,
            ..
        })
    );
}

#[tokio::test]
async fn r_consent_5_one_second_before_the_deadline_is_still_in_time() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &id).await;
    w.set(t0() + days(30) - chrono::TimeDelta::seconds(1));
    let accepted = w.service.accept_consent(&token).await.unwrap();
    assert_eq!(accepted.state(), State::Consented);
}

#[tokio::test]
async fn r_consent_1_the_window_counts_from_the_add_not_from_the_email() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    w.advance_days(20);
    let token = w.send_consent(&a, &id).await;
    let MessageKind::ConsentRequest { deadline, .. } = w.messages(&id)[0].kind.clone() else {
        panic!("a consent request")
    };
    assert_eq!(
        deadline,
        t0() + days(30),
        "the email names the add's deadline"
    );
    w.advance_days(10);
    let error = w.refused(w.service.accept_consent(&token)).await;
    assert_matches!(error, Error::Refused(Refusal::Lapsed { .. }));
}

#[tokio::test]
async fn r_consent_1_reminders_do_not_extend_the_window() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    w.send_consent(&a, &id).await;
    w.advance_days(29);
    w.service.resend_consent(&a, &id).await.unwrap();
    let reminded = w.consent_token(&id);
    assert_matches!(
        w.messages(&id).last().unwrap().kind,
        MessageKind::ConsentReminder { deadline, .. } if deadline == t0() + days(30)
    );
    w.advance_days(1);
    let error = w.refused(w.service.accept_consent(&reminded)).await;
    assert_matches!(error, Error::Refused(Refusal::Lapsed { .. }));
}

#[tokio::test]
async fn r_consent_2_sending_moves_to_awaiting_consent_and_queues_the_link_to_the_customer() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w
        .add(
            &a,
            "cio@contoso.example",
            mci_core::CustomerIdInput::EmailOnly,
            &w.workshop,
        )
        .await;
    assert_eq!(w.stored(&id).state(), State::CustomerClaimed);
    assert!(w.messages(&id).is_empty(), "nothing is sent on add");

    let sent = w
        .service
        .send_consent(
            &a,
            &id,
            SendConsent {
                customer_contacts: Some(contacts("Carl Buyer", "buyer@contoso.example")),
                partner_contacts: Some(contacts("Bob Seller", "bob@partner-a.example")),
                estimated_deal_size: Some(eur(4_000_000)),
            },
        )
        .await
        .unwrap();
    assert_eq!(sent.state(), State::AwaitingConsent);
    assert_eq!(
        sent.customer_contacts(),
        &contacts("Carl Buyer", "buyer@contoso.example")
    );
    assert_eq!(
        sent.partner_contacts(),
        &contacts("Bob Seller", "bob@partner-a.example")
    );
    assert_eq!(sent.consent().estimated_deal_size, Some(eur(4_000_000)));
    let messages = w.messages(&id);
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].to,
        vec!["buyer@contoso.example".parse().unwrap()]
    );
    assert_matches!(messages[0].kind, MessageKind::ConsentRequest { .. });
    // The link opens the invitation: what, with whom, until when.
    let invitation = w.service.open_consent(&w.consent_token(&id)).await.unwrap();
    assert_eq!(&invitation.engagement, w.workshop.id());
    assert_eq!(invitation.partner, partner(PARTNER_A));
    assert_eq!(invitation.deadline, t0() + days(30));
    assert_eq!(invitation.state, State::AwaitingConsent);
}

#[tokio::test]
async fn r_consent_2_the_estimated_deal_size_is_frozen_once_the_first_request_is_sent() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let with_size = |minor| SendConsent {
        estimated_deal_size: Some(eur(minor)),
        ..SendConsent::default()
    };
    w.service
        .send_consent(&a, &id, with_size(1_000_000))
        .await
        .unwrap();
    let error = w
        .refused(w.service.send_consent(&a, &id, with_size(2_000_000)))
        .await;
    assert_matches!(error, Error::Refused(Refusal::DealSizeFrozen));
    assert_eq!(error.rule(), Some("R-CONSENT-2"));
    // Sending again with the same size, or none, is fine.
    w.service
        .send_consent(&a, &id, with_size(1_000_000))
        .await
        .unwrap();
    let again = w
        .service
        .send_consent(&a, &id, SendConsent::default())
        .await
        .unwrap();
    assert_eq!(again.consent().estimated_deal_size, Some(eur(1_000_000)));
}

#[tokio::test]
async fn r_consent_3_resend_queues_a_reminder_with_a_working_link_any_number_of_times() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let error = w.refused(w.service.resend_consent(&a, &id)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::NotAllowedNow {
            state: State::CustomerClaimed,
            ..
        })
    );
    w.send_consent(&a, &id).await;
    for day in 1..=5 {
        w.advance_days(day);
        w.service.resend_consent(&a, &id).await.unwrap();
    }
    let reminders = w
        .messages(&id)
        .into_iter()
        .filter(|m| matches!(m.kind, MessageKind::ConsentReminder { .. }))
        .count();
    assert_eq!(reminders, 5);
    assert_eq!(w.stored(&id).consent().requests, 6);
    let token = w.consent_token(&id);
    let accepted = w.service.accept_consent(&token).await.unwrap();
    assert_eq!(accepted.state(), State::Consented);
}

#[tokio::test]
async fn r_consent_3_no_resend_after_the_window() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    w.send_consent(&a, &id).await;
    w.advance_days(30);
    let error = w.refused(w.service.resend_consent(&a, &id)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Lapsed {
            state: State::ConsentExpired,
            ..
        })
    );
    let error = w
        .refused(w.service.send_consent(&a, &id, SendConsent::default()))
        .await;
    assert_matches!(error, Error::Refused(Refusal::Lapsed { .. }));
}

#[tokio::test]
async fn r_consent_4_a_contact_change_voids_the_earlier_link_and_the_next_send_carries_a_new_one() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let old = w.send_consent(&a, &id).await;
    w.service
        .update_contacts(
            &a,
            &id,
            ContactsUpdate {
                customer: Some(contacts("New Buyer", "new@customer1.example")),
                partner: None,
            },
        )
        .await
        .unwrap();
    let error = w.refused(w.service.accept_consent(&old)).await;
    assert_matches!(error, Error::Refused(Refusal::InvalidLink));
    let error = w.refused(w.service.open_consent(&old)).await;
    assert_matches!(error, Error::Refused(Refusal::InvalidLink));

    let new = w.send_consent(&a, &id).await;
    assert_eq!(
        w.messages(&id).last().unwrap().to,
        vec!["new@customer1.example".parse().unwrap()]
    );
    assert_eq!(
        w.service.accept_consent(&new).await.unwrap().state(),
        State::Consented
    );
}

#[tokio::test]
async fn r_consent_4_sending_with_new_customer_contacts_voids_the_earlier_link() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let old = w.send_consent(&a, &id).await;
    w.service
        .send_consent(
            &a,
            &id,
            SendConsent {
                customer_contacts: Some(contacts("New Buyer", "new@customer1.example")),
                ..SendConsent::default()
            },
        )
        .await
        .unwrap();
    let new = w.consent_token(&id);
    w.refused(w.service.accept_consent(&old)).await;
    w.service.accept_consent(&new).await.unwrap();
}

#[tokio::test]
async fn r_consent_4_a_partner_contact_change_keeps_the_customers_link() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &id).await;
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
    w.service.accept_consent(&token).await.unwrap();
}

#[tokio::test]
async fn r_consent_5_accepting_starts_the_claim_window_and_the_row_turns_active() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &id).await;
    w.advance_days(5);
    w.service.accept_consent(&token).await.unwrap();
    let row = w.row(&a, &w.workshop, &id).await.unwrap();
    assert_eq!(row.tab, Tab::Eligible);
    assert_eq!(row.row_type, RowType::Active);
    assert_eq!(row.status.days_left, Some(90));
    let answered = w.messages(&id).last().unwrap().clone();
    assert_matches!(
        answered.kind,
        MessageKind::ConsentAnswered { accepted: true }
    );
    assert_eq!(
        answered.to,
        vec!["ada@partner-a.example".parse().unwrap()],
        "the partner is told"
    );
}

#[tokio::test]
async fn r_consent_6_decline_is_terminal_and_the_nomination_leaves_the_page_but_is_kept() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &id).await;
    let declined = w.service.decline_consent(&token).await.unwrap();
    assert_eq!(declined.state(), State::ConsentDeclined);
    assert!(declined.state().is_terminal());
    assert_eq!(w.row(&a, &w.workshop, &id).await, None);
    let kept = w.service.nomination(&a, &id).await.unwrap();
    assert_eq!(kept.state(), State::ConsentDeclined);
    let history = w.service.history(&a, &id).await.unwrap();
    assert_matches!(history.last().unwrap().kind, EventKind::ConsentDeclined);
    // Nothing more can be done on it.
    let error = w
        .refused(w.service.send_consent(&a, &id, SendConsent::default()))
        .await;
    assert_matches!(error, Error::Refused(Refusal::NotAllowedNow { .. }));
}

#[tokio::test]
async fn r_consent_7_no_answer_by_the_deadline_lapses_and_leaves_the_page() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    w.send_consent(&a, &id).await;
    w.advance_days(29);
    assert!(w.row(&a, &w.workshop, &id).await.is_some());
    w.advance_days(1);
    assert_eq!(w.row(&a, &w.workshop, &id).await, None, "lazily lapsed");
    assert_eq!(w.read(&id).await.state(), State::ConsentExpired);
    let report = w.service.sweep().await.unwrap();
    assert_eq!(report.lapsed, 1);
    assert_eq!(w.stored(&id).state(), State::ConsentExpired);
    assert_eq!(w.row(&a, &w.workshop, &id).await, None);
    assert_matches!(
        w.messages(&id).last().unwrap().kind,
        MessageKind::Lapsed {
            state: State::ConsentExpired
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_consent_8_two_partners_racing_for_one_consent_exactly_one_wins() {
    let w = World::new();
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    for round in 0..25 {
        let customer = 100 + round;
        let from_a = w.add_subscription(&a, customer, &w.workshop).await;
        let from_b = w.add_subscription(&b, customer, &w.workshop).await;
        let token_a = w.send_consent(&a, &from_a).await;
        let token_b = w.send_consent(&b, &from_b).await;

        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let race = |token: mci_core::LinkToken| {
            let service = w.service.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                service.accept_consent(&token).await
            })
        };
        let (first, second) = (race(token_a), race(token_b));
        let results = [first.await.unwrap(), second.await.unwrap()];
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
        for result in &results {
            if let Err(error) = result {
                assert_matches!(
                    error,
                    Error::Ineligible {
                        reason: Ineligibility::ConsentedToAnotherPartner,
                        ..
                    }
                );
                let text = error.to_string();
                assert!(
                    !text.contains(PARTNER_A) && !text.contains(PARTNER_B),
                    "{text}"
                );
            }
        }
        let states = [w.stored(&from_a).state(), w.stored(&from_b).state()];
        assert_eq!(states.iter().filter(|s| **s == State::Consented).count(), 1);
        assert_eq!(
            states
                .iter()
                .filter(|s| **s == State::AwaitingConsent)
                .count(),
            1,
            "the loser is left as it was"
        );
    }
}

#[tokio::test]
async fn r_consent_8_the_loser_stays_refused_and_cannot_be_re_added_while_the_winner_holds_consent()
{
    let w = World::new();
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    let from_a = w.add_subscription(&a, 1, &w.workshop).await;
    let from_b = w.add_subscription(&b, 1, &w.workshop).await;
    let token_a = w.send_consent(&a, &from_a).await;
    let token_b = w.send_consent(&b, &from_b).await;
    w.service.accept_consent(&token_b).await.unwrap();
    let error = w.refused(w.service.accept_consent(&token_a)).await;
    assert_matches!(
        error,
        Error::Ineligible {
            reason: Ineligibility::ConsentedToAnotherPartner,
            ..
        }
    );
    assert_eq!(error.rule(), Some("R-CONSENT-8"));
    // Partner C cannot add the customer either.
    let c = admin(PARTNER_C);
    let form = w.form(&c, "it@customer1.example", subscription(1), &[&w.workshop]);
    let error = w.refused(w.service.add_customer(&c, &form)).await;
    let Error::Refused(Refusal::NotChoosable { refused }) = error else {
        panic!("{error:?}")
    };
    assert!(
        refused[0]
            .reasons
            .contains(&Ineligibility::ConsentedToAnotherPartner)
    );
}

#[tokio::test]
async fn r_consent_9_accepting_twice_answers_the_same_and_writes_nothing() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &id).await;
    let first = w.service.accept_consent(&token).await.unwrap();
    w.advance_days(1);
    let second = w.unchanged(w.service.accept_consent(&token)).await;
    assert_eq!(first, second);
    let accepted_events = w
        .service
        .history(&a, &id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::ConsentAccepted)
        .count();
    assert_eq!(accepted_events, 1);
}

#[tokio::test]
async fn r_consent_9_declining_twice_answers_the_same_and_the_other_answer_is_refused() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &id).await;
    let first = w.service.decline_consent(&token).await.unwrap();
    let second = w.unchanged(w.service.decline_consent(&token)).await;
    assert_eq!(first, second);
    let error = w.refused(w.service.accept_consent(&token)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::AlreadyAnswered {
            state: State::ConsentDeclined
        })
    );
    assert_eq!(error.rule(), Some("R-CONSENT-9"));
}
