//! Consent through the service (R-CONSENT).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{
    Action, ContactsUpdate, EventKind, Ineligibility, MessageKind, Refusal, RowType, SendConsent,
    State, Tab,
};
use mci_engagements::Error;

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
                // Decided before the winner was written, the loser learns
                // the customer consented to another partner; read after
                // it, its link was void already (R-CONSENT-10, R-TOKEN-3).
                assert_matches!(
                    error,
                    Error::Ineligible {
                        reason: Ineligibility::ConsentedToAnotherPartner,
                        ..
                    } | Error::Refused(Refusal::InvalidLink)
                );
                let text = error.to_string();
                assert!(
                    !text.contains(PARTNER_A) && !text.contains(PARTNER_B),
                    "{text}"
                );
            }
        }
        let stored = [w.stored(&from_a), w.stored(&from_b)];
        let states = stored.each_ref().map(|n| n.state());
        assert_eq!(states.iter().filter(|s| **s == State::Consented).count(), 1);
        let lost: Vec<_> = stored.iter().filter(|n| n.lost_at().is_some()).collect();
        assert_eq!(lost.len(), 1, "round {round}: the other one lost");
        assert_eq!(
            lost[0].state(),
            State::AwaitingConsent,
            "the loser keeps its state (R-CONSENT-10)"
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
    // The acceptance made A's nomination lose: its link is void, and a click
    // answers as any voided link does (R-CONSENT-10, R-TOKEN-3).
    let error = w.refused(w.service.accept_consent(&token_a)).await;
    assert_matches!(error, Error::Refused(Refusal::InvalidLink));
    assert_eq!(w.stored(&from_a).state(), State::AwaitingConsent);
    assert_eq!(w.stored(&from_b).state(), State::Consented);
    // Partner C cannot add the customer either.
    assert!(
        add_refused_for(&w, &admin(PARTNER_C), 1)
            .await
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

// R-CONSENT-10

/// Partners A and B nominate customer `n` for the workshop (two live
/// nominations allowed) and ask for consent; A's customer accepts. Returns
/// A's nomination, B's, and B's consent token.
async fn b_lost(
    w: &World,
    n: u32,
) -> (
    mci_core::NominationId,
    mci_core::NominationId,
    mci_core::LinkToken,
) {
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    let from_a = w.add_subscription(&a, n, &w.workshop).await;
    let from_b = w.add_subscription(&b, n, &w.workshop).await;
    let token_a = w.send_consent(&a, &from_a).await;
    let token_b = w.send_consent(&b, &from_b).await;
    w.advance_days(2);
    w.service.accept_consent(&token_a).await.unwrap();
    (from_a, from_b, token_b)
}

/// Why `user`'s add of the `n`th subscription customer to the workshop is
/// refused; the refused add changes nothing.
async fn add_refused_for(w: &World, user: &mci_core::PartnerUser, n: u32) -> Vec<Ineligibility> {
    let email = format!("it@customer{n}.example");
    let form = w.form(user, &email, subscription(n), &[&w.workshop]);
    match w.refused(w.service.add_customer(user, &form)).await {
        Error::Refused(Refusal::NotChoosable { mut refused }) => refused.remove(0).reasons,
        other => panic!("refused as not choosable, not {other:?}"),
    }
}

#[tokio::test]
async fn r_consent_10_the_loser_shows_on_ineligible_with_the_reason_and_only_cancel() {
    let w = World::new();
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    let (from_a, from_b, _) = b_lost(&w, 1).await;
    let lost = w.stored(&from_b);
    assert_eq!(lost.state(), State::AwaitingConsent, "its state stays");
    assert_eq!(lost.lost_at(), Some(t0() + days(2)));

    let (rows, counts) = w.walk(&b, &w.workshop, Tab::Ineligible, 50).await;
    let [mci_engagements::CustomerRow::Nomination(row)] = rows.as_slice() else {
        panic!("the loser's row on Ineligible: {rows:?}")
    };
    assert_eq!(row.nomination, from_b);
    assert_eq!(row.tab, Tab::Ineligible);
    assert_eq!(row.reason, Some(Ineligibility::ConsentedToAnotherPartner));
    assert_eq!(row.actions, vec![Action::Cancel]);
    assert_eq!(row.row_type, RowType::NotStarted);
    assert_eq!(row.status.days_left, Some(28), "until it ends");
    assert_eq!(
        (counts.eligible, counts.ineligible, counts.complete),
        (0, 1, 0)
    );
    assert!(
        w.nomination_rows(&b, &w.workshop, Tab::Eligible)
            .await
            .is_empty()
    );
    // The reason never names the winner (R-ROLE-3).
    let shown = format!("{} {row:?}", row.reason.as_ref().unwrap());
    for secret in [PARTNER_A, LOC_A, &from_a.to_string()] {
        assert!(!shown.contains(secret), "{secret} shows in {shown}");
    }
    // The winner's page is as ever.
    let winner = w.row(&a, &w.workshop, &from_a).await.unwrap();
    assert_eq!(
        (winner.tab, winner.row_type),
        (Tab::Eligible, RowType::Active)
    );
    assert!(
        w.nomination_rows(&a, &w.workshop, Tab::Ineligible)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn r_consent_10_the_loser_cannot_ask_again_and_the_sweep_reminds_it_of_nothing() {
    let w = World::new();
    let b = admin(PARTNER_B);
    let (_, from_b, _) = b_lost(&w, 1).await;
    // A nomination of partner C, asking as usual, shows the sweep reminds.
    let c = admin(PARTNER_C);
    let asking = w.add_subscription(&c, 2, &w.workshop).await;
    w.send_consent(&c, &asking).await;

    for error in [
        w.refused(w.service.resend_consent(&b, &from_b)).await,
        w.refused(w.service.send_consent(&b, &from_b, SendConsent::default()))
            .await,
        w.refused(w.service.update_contacts(
            &b,
            &from_b,
            ContactsUpdate {
                customer: Some(contacts("Cleo", "cleo@customer1.example")),
                partner: None,
            },
        ))
        .await,
    ] {
        assert_matches!(
            error,
            Error::Refused(Refusal::ConsentedToAnotherPartner { .. })
        );
        assert_eq!(error.rule(), Some("R-CONSENT-10"));
        assert!(!error.to_string().contains(PARTNER_A));
    }

    // The loser's reminders would fall on days 23 and 29, the other's (added
    // on day 2) on days 25 and 31.
    for day in [23, 25, 29, 31] {
        w.set(t0() + days(day));
        w.service.sweep().await.unwrap();
    }
    let reminded = |id| {
        w.messages(id)
            .iter()
            .filter(|m| matches!(m.kind, MessageKind::DeadlineApproaching { .. }))
            .count()
    };
    assert_eq!(reminded(&asking), 2, "the 7-day and 1-day reminders");
    assert_eq!(reminded(&from_b), 0, "no reminder for the loser (R-REC-6)");
    assert!(
        !w.service
            .history(&b, &from_b)
            .await
            .unwrap()
            .iter()
            .any(|e| matches!(e.kind, EventKind::Reminded { .. }))
    );
}

#[tokio::test]
async fn r_consent_10_the_outbox_tells_the_loser_without_naming_the_winner() {
    let w = World::new();
    let (from_a, from_b, _) = b_lost(&w, 1).await;
    let delivered = w
        .service
        .take_messages(chrono::TimeDelta::minutes(5), 100)
        .await
        .unwrap();
    let told: Vec<_> = delivered
        .iter()
        .filter(|d| {
            matches!(
                d.message.kind,
                MessageKind::ConsentedToAnotherPartner { .. }
            )
        })
        .collect();
    let [told] = told.as_slice() else {
        panic!("one message about the loss: {delivered:?}")
    };
    assert_eq!(told.message.nomination, from_b);
    assert_eq!(
        told.message.kind,
        MessageKind::ConsentedToAnotherPartner {
            deadline: t0() + days(30)
        }
    );
    assert_eq!(
        told.message.to,
        vec!["ada@partner-b.example".parse().unwrap()],
        "to the loser's partner"
    );
    assert_eq!(told.token, None, "it carries no link");
    let text = format!("{told:?} {}", serde_json::to_string(&told.message).unwrap());
    for secret in [PARTNER_A, LOC_A, &from_a.to_string()] {
        assert!(!text.contains(secret), "{secret} shows in {text}");
    }
    let history = w.service.history(&admin(PARTNER_B), &from_b).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.kind, EventKind::ConsentedToAnotherPartner);
    assert_eq!(
        (last.from, last.to),
        (Some(State::AwaitingConsent), State::AwaitingConsent)
    );
}

#[tokio::test]
async fn r_consent_10_the_losers_consent_link_answers_like_any_voided_link() {
    let w = World::new();
    let (_, _, token_b) = b_lost(&w, 1).await;
    let wrong = mci_core::LinkToken::from_bytes([0xA5; 32]);
    for token in [&token_b, &wrong] {
        assert_matches!(
            w.refused(w.service.accept_consent(token)).await,
            Error::Refused(Refusal::InvalidLink)
        );
        assert_matches!(
            w.refused(w.service.decline_consent(token)).await,
            Error::Refused(Refusal::InvalidLink)
        );
        assert_matches!(
            w.service.open_consent(token).await,
            Err(Error::Refused(Refusal::InvalidLink))
        );
    }
}

#[tokio::test]
async fn r_consent_10_the_loser_never_asks_again_and_its_partner_starts_a_new_nomination() {
    let w = World::new();
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    let (from_a, from_b, _) = b_lost(&w, 1).await;
    // While it is live, its partner cannot nominate the customer again.
    assert!(
        add_refused_for(&w, &b, 1)
            .await
            .contains(&Ineligibility::AlreadyNominated)
    );
    // The winner ends; the loser still asks no more.
    w.service.cancel(&a, &from_a).await.unwrap();
    assert_matches!(
        w.refused(w.service.resend_consent(&b, &from_b)).await,
        Error::Refused(Refusal::ConsentedToAnotherPartner { .. })
    );
    let row = w.row(&b, &w.workshop, &from_b).await.unwrap();
    assert_eq!(
        (row.tab, row.actions.clone()),
        (Tab::Ineligible, vec![Action::Cancel])
    );
    // Its partner cancels it: it leaves the page, and a new nomination asks.
    let cancelled = w.service.cancel(&b, &from_b).await.unwrap();
    assert_eq!(cancelled.state(), State::Cancelled);
    assert_eq!(w.row(&b, &w.workshop, &from_b).await, None);
    let form = w.form(&b, "it@customer1.example", subscription(1), &[&w.workshop]);
    let again = w.service.add_customer(&b, &form).await.unwrap();
    let renewed = *again.nominations[0].id();
    assert_ne!(renewed, from_b);
    let row = w.row(&b, &w.workshop, &renewed).await.unwrap();
    assert_eq!(row.tab, Tab::Eligible);
    assert_eq!(row.actions, vec![Action::SendConsentEmail, Action::Cancel]);
    w.send_consent(&b, &renewed).await;
}

#[tokio::test]
async fn r_consent_10_the_loser_ends_at_its_consent_deadline() {
    let w = World::new();
    let b = admin(PARTNER_B);
    let (_, from_b, _) = b_lost(&w, 1).await;
    w.set(t0() + days(30) - chrono::TimeDelta::seconds(1));
    assert!(w.row(&b, &w.workshop, &from_b).await.is_some());
    // Its consent deadline is a day away, but no consent can come: the
    // overview does not list it as a consent about to lapse (R-ENG-7).
    let overview = w
        .service
        .overview(&b, &mci_engagements::OverviewFilter::default())
        .await
        .unwrap();
    assert!(
        overview
            .action_needed
            .iter()
            .all(|a| a.nomination != from_b),
        "{:?}",
        overview.action_needed
    );
    w.set(t0() + days(30));
    assert_eq!(w.row(&b, &w.workshop, &from_b).await, None, "lazily ended");
    let (_, counts) = w.walk(&b, &w.workshop, Tab::Ineligible, 50).await;
    assert_eq!(counts.ineligible, 0);
    let report = w.service.sweep().await.unwrap();
    assert_eq!((report.lapsed, report.reminded), (1, 0));
    assert_eq!(w.stored(&from_b).state(), State::ConsentExpired);
    assert_eq!(w.row(&b, &w.workshop, &from_b).await, None);
    assert_matches!(
        w.refused(w.service.cancel(&b, &from_b)).await,
        Error::Refused(Refusal::Lapsed { .. })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_consent_10_a_rival_added_while_the_acceptance_is_decided_loses_too() {
    let w = World::new();
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    let from_a = w.add_subscription(&a, 1, &w.workshop).await;
    let token_a = w.send_consent(&a, &from_a).await;
    // The acceptance is decided among no rival; its commit waits while B
    // adds the customer.
    let held = w.hold_next_commit();
    let service = w.service.clone();
    let accepting = tokio::spawn(async move { service.accept_consent(&token_a).await });
    let from_b = held
        .release_after(w.add_subscription(&b, 1, &w.workshop))
        .await;
    let accepted = accepting.await.unwrap().unwrap();
    assert_eq!(accepted.state(), State::Consented);
    // Decided again with B's nomination, which lost in the same commit.
    let lost = w.stored(&from_b);
    assert_eq!(lost.state(), State::CustomerClaimed);
    assert!(lost.lost_at().is_some());
    let row = w.row(&b, &w.workshop, &from_b).await.unwrap();
    assert_eq!(row.reason, Some(Ineligibility::ConsentedToAnotherPartner));
    assert!(
        w.messages(&from_b)
            .iter()
            .any(|m| matches!(m.kind, MessageKind::ConsentedToAnotherPartner { .. }))
    );
    let accepted_events = w
        .service
        .history(&a, &from_a)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::ConsentAccepted)
        .count();
    assert_eq!(accepted_events, 1, "one acceptance written");
    // After it, a new rival cannot ask beside the consent.
    assert!(
        add_refused_for(&w, &admin(PARTNER_C), 1)
            .await
            .contains(&Ineligibility::ConsentedToAnotherPartner)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_consent_10_an_acceptance_decided_before_the_winner_was_written_answers_consented_to_another_partner()
 {
    let w = World::new();
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    let from_a = w.add_subscription(&a, 1, &w.workshop).await;
    let from_b = w.add_subscription(&b, 1, &w.workshop).await;
    let token_a = w.send_consent(&a, &from_a).await;
    let token_b = w.send_consent(&b, &from_b).await;
    // B's acceptance is decided and waits to be written while A's is.
    let held = w.hold_next_commit();
    let service = w.service.clone();
    let late = tokio::spawn(async move { service.accept_consent(&token_b).await });
    held.release_after(async { w.service.accept_consent(&token_a).await.unwrap() })
        .await;
    let error = late.await.unwrap().unwrap_err();
    assert_matches!(
        error,
        Error::Ineligible {
            reason: Ineligibility::ConsentedToAnotherPartner,
            ..
        }
    );
    assert_eq!(error.rule(), Some("R-CONSENT-8"));
    assert!(!error.to_string().contains(PARTNER_A));
    assert_eq!(w.stored(&from_a).state(), State::Consented);
    assert!(w.stored(&from_b).lost_at().is_some());
}
