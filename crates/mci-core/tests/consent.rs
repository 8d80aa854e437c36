//! Consent (R-CONSENT-1..10): asking, reminding, answering and lapsing, and
//! the partner that lost the customer to another partner's consent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use mci_core::{
    ContactsUpdate, DeadlineKind, EventKind, Guard, Ineligibility, LinkPurpose, MessageKind,
    NominationRequest, Origin, Refusal, RowType, SendConsent, Standing, State, Step, Tab,
};
use mci_testkit::*;

fn sent() -> Scenario {
    Scenario::added().then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1)))
}

fn consent_deadline(s: &Scenario) -> mci_core::Instant {
    s.nomination.created_at() + TimeDelta::days(30)
}

fn lapsed_into(refusal: Refusal) -> State {
    match refusal {
        Refusal::Lapsed { state, .. } => state,
        other => panic!("expected a lapse, got {other:?}"),
    }
}

// R-CONSENT-1

#[test]
fn r_consent_1_the_window_counts_from_the_add_not_from_the_email() {
    // The email goes out 20 days after the add: 10 days are left, not 30.
    let s = Scenario::added()
        .wait_days(20)
        .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1)));
    let deadline = t0() + TimeDelta::days(30);
    assert_eq!(s.nomination.deadline().unwrap().at, deadline);
    assert_eq!(s.row().unwrap().status.days_left, Some(10));
    let Some(MessageKind::ConsentRequest { deadline: told, .. }) =
        s.messages.last().map(|m| &m.kind)
    else {
        panic!("a consent request is queued")
    };
    assert_eq!(*told, deadline);

    let late = s.clone().at(deadline);
    assert_eq!(
        lapsed_into(late.refusal(|n, now| n.accept_consent(now, &token(1)))),
        State::ConsentExpired
    );
}

#[test]
fn r_consent_1_reminders_do_not_extend_the_window() {
    let s = sent()
        .wait_days(25)
        .then(|n, now| n.resend_consent(now, &admin(), &link(2)))
        .wait_days(4)
        .then(|n, now| n.resend_consent(now, &admin(), &link(3)));
    let deadline = consent_deadline(&s);
    assert_eq!(s.nomination.deadline().unwrap().at, deadline);
    for message in &s.messages[1..] {
        let MessageKind::ConsentReminder { deadline: told, .. } = message.kind else {
            panic!("a reminder, got {:?}", message.kind)
        };
        assert_eq!(told, deadline);
    }
    let late = s.at(deadline);
    assert_eq!(
        lapsed_into(late.refusal(|n, now| n.accept_consent(now, &token(3)))),
        State::ConsentExpired
    );
}

#[test]
fn r_consent_1_the_window_of_a_claimed_customer_counts_from_the_claim() {
    let earlier = Scenario::consented();
    let claimed_at = t0() + TimeDelta::days(40);
    let request = NominationRequest::claim(
        &admin(),
        &earlier.nomination,
        "Contoso security".parse().unwrap(),
        "1234567".parse().unwrap(),
        None,
        None,
        None,
    )
    .unwrap();
    let other = engagement("security-workshop", mci_core::EngagementKind::Workshop, 1);
    let created = mci_core::nominate(
        claimed_at,
        &admin(),
        request,
        &[mci_core::Candidate {
            engagement: &other,
            facts: eligible_facts(),
        }],
        || nomination_id(2),
    )
    .unwrap();
    let claimed = &created[0].nomination;
    assert!(matches!(claimed.origin(), Origin::Claimed { .. }));
    assert_eq!(
        claimed.deadline().unwrap().at,
        claimed_at + TimeDelta::days(30)
    );
}

// R-CONSENT-2

#[test]
fn r_consent_2_send_moves_customer_claimed_to_awaiting_consent_and_queues_the_email() {
    let s = Scenario::added();
    assert_eq!(s.state(), State::CustomerClaimed);
    let s = s.then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1)));
    assert_eq!(s.state(), State::AwaitingConsent);
    assert_eq!(
        s.last_event().kind,
        EventKind::ConsentRequested { first: true }
    );
    assert_eq!(s.messages.len(), 1);
    let message = &s.messages[0];
    assert_eq!(message.to, vec!["cio@contoso.example".parse().unwrap()]);
    let MessageKind::ConsentRequest { link: sent, .. } = &message.kind else {
        panic!("a consent request")
    };
    // The email carries the link's id, never its token (R-TOKEN-4).
    assert_eq!(sent, &link_id(1));
    // The link in the email opens the consent page.
    assert!(s.nomination.consent_invitation(s.now, &token(1)).is_ok());
    assert_eq!(s.nomination.consent().requests, 1);
    assert_eq!(s.nomination.consent().first_requested_at, Some(t0()));
}

#[test]
fn r_consent_2_send_takes_new_contacts_and_the_deal_size() {
    let details = SendConsent {
        customer_contacts: Some(contacts("Dana Buyer", "dana@contoso.example")),
        partner_contacts: Some(contacts("Bo Seller", "bo@partner.example")),
        estimated_deal_size: Some(eur(2_500_000)),
    };
    let s = Scenario::added().then(|n, now| n.send_consent(now, &admin(), details, &link(1)));
    assert_eq!(
        s.nomination.customer_contacts(),
        &contacts("Dana Buyer", "dana@contoso.example")
    );
    assert_eq!(
        s.nomination.partner_contacts(),
        &contacts("Bo Seller", "bo@partner.example")
    );
    assert_eq!(
        s.nomination.consent().estimated_deal_size,
        Some(eur(2_500_000))
    );
    // The email goes to the new contact.
    assert_eq!(
        s.messages[0].to,
        vec!["dana@contoso.example".parse().unwrap()]
    );
}

#[test]
fn r_consent_2_the_deal_size_is_frozen_once_the_first_request_is_sent() {
    let details = |minor| SendConsent {
        estimated_deal_size: Some(eur(minor)),
        ..SendConsent::default()
    };
    let s =
        Scenario::added().then(|n, now| n.send_consent(now, &admin(), details(100_000), &link(1)));
    let refusal = s.refusal(|n, now| n.send_consent(now, &admin(), details(200_000), &link(2)));
    assert_eq!(refusal, Refusal::DealSizeFrozen);
    // The same size, or none, is fine: it is a second send, not a change.
    let s = s
        .then(|n, now| n.send_consent(now, &admin(), details(100_000), &link(2)))
        .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(3)));
    assert_eq!(
        s.nomination.consent().estimated_deal_size,
        Some(eur(100_000))
    );
    assert_eq!(
        s.last_event().kind,
        EventKind::ConsentRequested { first: false }
    );
}

#[test]
fn r_consent_2_a_deal_size_must_be_positive() {
    let s = Scenario::added();
    let refusal = s.refusal(|n, now| {
        n.send_consent(
            now,
            &admin(),
            SendConsent {
                estimated_deal_size: Some(eur(0)),
                ..SendConsent::default()
            },
            &link(1),
        )
    });
    let Refusal::Invalid(invalid) = refusal else {
        panic!("an invalid value")
    };
    assert_eq!(invalid.field(), "estimated_deal_size");
}

#[test]
fn r_consent_2_no_send_after_consent_or_after_the_deadline() {
    let consented = Scenario::consented();
    assert!(matches!(
        consented.refusal(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(5))),
        Refusal::NotAllowedNow {
            state: State::Consented,
            ..
        }
    ));
    let late = Scenario::added().wait_days(30);
    assert_eq!(
        lapsed_into(late.refusal(|n, now| n.send_consent(
            now,
            &admin(),
            SendConsent::default(),
            &link(1)
        ))),
        State::ConsentExpired
    );
}

// R-CONSENT-3

#[test]
fn r_consent_3_resend_any_number_of_times_inside_the_window() {
    let mut s = sent();
    for day in 1..=5u8 {
        s = s
            .wait_days(5)
            .then(|n, now| n.resend_consent(now, &admin(), &link(10 + day)));
        assert_eq!(s.last_event().kind, EventKind::ConsentReminded);
        assert_eq!(s.state(), State::AwaitingConsent);
    }
    assert_eq!(s.nomination.consent().requests, 6);
    let reminders = s
        .messages
        .iter()
        .filter(|m| matches!(m.kind, MessageKind::ConsentReminder { .. }))
        .count();
    assert_eq!(reminders, 5);
    // Day 25: the last link works.
    assert!(matches!(
        s.nomination.accept_consent(s.now, &token(15)),
        Ok(Step::Changed(_))
    ));
}

#[test]
fn r_consent_3_resend_needs_a_first_send_and_the_window_open() {
    let s = Scenario::added();
    assert!(matches!(
        s.refusal(|n, now| n.resend_consent(now, &admin(), &link(2))),
        Refusal::NotAllowedNow {
            state: State::CustomerClaimed,
            ..
        }
    ));
    let late = sent().wait_days(30);
    assert_eq!(
        lapsed_into(late.refusal(|n, now| n.resend_consent(now, &admin(), &link(2)))),
        State::ConsentExpired
    );
}

// R-CONSENT-4

#[test]
fn r_consent_4_changing_the_customer_contacts_voids_the_earlier_link() {
    let s = sent().wait_days(2).then(|n, now| {
        n.update_contacts(
            now,
            &admin(),
            ContactsUpdate {
                customer: Some(contacts("Dana Buyer", "dana@contoso.example")),
                partner: None,
            },
        )
    });
    assert_eq!(
        s.last_event().kind,
        EventKind::ContactsUpdated {
            customer: true,
            partner: false,
            voided: vec![LinkPurpose::Consent],
        }
    );
    assert_eq!(
        s.nomination.accept_consent(s.now, &token(1)),
        Err(Refusal::InvalidLink)
    );
    assert_eq!(
        s.nomination.consent_invitation(s.now, &token(1)),
        Err(Refusal::InvalidLink)
    );
    // A new link goes out with the next send, to the new contact.
    let s = s.then(|n, now| n.resend_consent(now, &admin(), &link(2)));
    assert_eq!(
        s.messages.last().unwrap().to,
        vec!["dana@contoso.example".parse().unwrap()]
    );
    let s = s.then_step(|n, now| n.accept_consent(now, &token(2)));
    assert_eq!(s.state(), State::Consented);
}

#[test]
fn r_consent_4_a_send_with_new_customer_contacts_voids_the_earlier_link() {
    let s = sent().wait_days(1).then(|n, now| {
        n.send_consent(
            now,
            &admin(),
            SendConsent {
                customer_contacts: Some(contacts("Dana Buyer", "dana@contoso.example")),
                ..SendConsent::default()
            },
            &link(2),
        )
    });
    assert_eq!(
        s.nomination.accept_consent(s.now, &token(1)),
        Err(Refusal::InvalidLink)
    );
    assert!(matches!(
        s.nomination.accept_consent(s.now, &token(2)),
        Ok(Step::Changed(_))
    ));
}

#[test]
fn r_consent_4_changing_only_the_partner_contacts_keeps_the_link() {
    let s = sent().then(|n, now| {
        n.update_contacts(
            now,
            &admin(),
            ContactsUpdate {
                customer: None,
                partner: Some(contacts("Bo Seller", "bo@partner.example")),
            },
        )
    });
    assert!(matches!(
        s.nomination.accept_consent(s.now, &token(1)),
        Ok(Step::Changed(_))
    ));
    // Unchanged customer contacts void nothing either.
    let same = sent().then(|n, now| {
        n.update_contacts(
            now,
            &admin(),
            ContactsUpdate {
                customer: Some(contacts("Carla Cio", "cio@contoso.example")),
                partner: None,
            },
        )
    });
    assert!(matches!(
        same.nomination.accept_consent(same.now, &token(1)),
        Ok(Step::Changed(_))
    ));
}

// R-CONSENT-5

#[test]
fn r_consent_5_accept_on_day_29_works() {
    let s = sent()
        .wait_days(29)
        .then_step(|n, now| n.accept_consent(now, &token(1)));
    assert_eq!(s.state(), State::Consented);
    assert_eq!(s.last_event().kind, EventKind::ConsentAccepted);
    assert_eq!(s.nomination.consented_at(), Some(s.now));
    let row = s.row().unwrap();
    assert_eq!(row.row_type, RowType::Active);
    // The claim window starts at the acceptance.
    let deadline = s.nomination.deadline().unwrap();
    assert_eq!(deadline.kind, DeadlineKind::FirstSubmit);
    assert_eq!(deadline.at, s.now + TimeDelta::days(90));
    // The partner is told.
    assert_eq!(
        s.messages.last().unwrap().kind,
        MessageKind::ConsentAnswered { accepted: true }
    );
}

#[test]
fn r_consent_5_accept_a_nanosecond_before_the_deadline_works() {
    let s = sent();
    let just_in_time = consent_deadline(&s) - TimeDelta::nanoseconds(1);
    let s = s
        .at(just_in_time)
        .then_step(|n, now| n.accept_consent(now, &token(1)));
    assert_eq!(s.state(), State::Consented);
}

#[test]
fn r_consent_5_accept_at_the_deadline_is_late() {
    let s = sent();
    let s = s.clone().at(consent_deadline(&s));
    let refusal = s.refusal(|n, now| n.accept_consent(now, &token(1)));
    assert_eq!(refusal.rule(), "R-CONSENT-5");
    assert_eq!(
        refusal,
        Refusal::Lapsed {
            state: State::ConsentExpired,
            at: t0() + TimeDelta::days(30)
        }
    );
}

#[test]
fn r_consent_5_decline_at_or_after_the_deadline_is_late() {
    let s = sent();
    for late in [TimeDelta::zero(), TimeDelta::days(3)] {
        let s = s.clone().at(consent_deadline(&s) + late);
        assert_eq!(
            lapsed_into(s.refusal(|n, now| n.decline_consent(now, &token(1)))),
            State::ConsentExpired
        );
    }
}

#[test]
fn r_consent_5_accept_after_a_swept_lapse_is_late_too() {
    let s = sent();
    let s = s
        .clone()
        .at(consent_deadline(&s) + TimeDelta::days(1))
        .sweep();
    assert_eq!(s.nomination.state(), State::ConsentExpired);
    assert_eq!(
        lapsed_into(s.refusal(|n, now| n.accept_consent(now, &token(1)))),
        State::ConsentExpired
    );
}

// R-CONSENT-6

#[test]
fn r_consent_6_decline_is_terminal_and_leaves_the_page() {
    let s = sent()
        .wait_days(3)
        .then_step(|n, now| n.decline_consent(now, &token(1)));
    assert_eq!(s.state(), State::ConsentDeclined);
    assert!(s.state().is_terminal());
    assert_eq!(s.last_event().kind, EventKind::ConsentDeclined);
    assert_eq!(
        s.messages.last().unwrap().kind,
        MessageKind::ConsentAnswered { accepted: false }
    );
    assert_eq!(s.row(), None);
    assert_eq!(s.nomination.placement().tab_at(s.now), None);
    assert_eq!(s.nomination.deadline(), None);
    // Kept, with its history (R-PAGE-6, R-REC-3), and nothing more can happen.
    assert_eq!(s.nomination.consent().declined_at, Some(s.now));
    assert!(matches!(
        s.refusal(|n, now| n.resend_consent(now, &admin(), &link(2))),
        Refusal::NotAllowedNow {
            state: State::ConsentDeclined,
            ..
        }
    ));
    assert!(matches!(
        s.refusal(|n, now| n.cancel(now, &admin())),
        Refusal::NotAllowedNow { .. }
    ));
    assert!(!s.nomination.standing().live);
}

// R-CONSENT-7

#[test]
fn r_consent_7_no_answer_by_the_deadline_lapses_and_leaves_the_page() {
    let s = sent();
    let deadline = consent_deadline(&s);
    let before = s.clone().at(deadline - TimeDelta::seconds(1));
    assert_eq!(before.state(), State::AwaitingConsent);
    assert_eq!(before.row().unwrap().tab, Tab::Eligible);

    let at = s.at(deadline);
    assert_eq!(at.state(), State::ConsentExpired);
    assert_eq!(at.row(), None);
    // The sweep writes the same lapse, with its event and a notice.
    let swept = at.sweep();
    assert_eq!(swept.nomination.state(), State::ConsentExpired);
    assert_eq!(swept.nomination.lapsed_at(), Some(deadline));
    let event = swept.last_event();
    assert_eq!(event.kind, EventKind::Lapsed { deadline });
    assert_eq!(event.from, Some(State::AwaitingConsent));
    assert_eq!(event.actor, mci_core::Actor::System);
    assert_eq!(
        swept.messages.last().unwrap().kind,
        MessageKind::Lapsed {
            state: State::ConsentExpired
        }
    );
}

#[test]
fn r_consent_7_a_nomination_never_sent_lapses_too() {
    let s = Scenario::added().wait_days(30);
    assert_eq!(s.state(), State::ConsentExpired);
    assert_eq!(s.row(), None);
}

// R-CONSENT-8

#[test]
fn r_consent_8_accept_carries_the_no_other_consent_guard() {
    let s = sent();
    let Step::Changed(outcome) = s.nomination.accept_consent(s.now, &token(1)).unwrap() else {
        panic!("a change")
    };
    assert_eq!(
        outcome.guards,
        vec![
            Guard::NoOtherConsent {
                engagement: s.nomination.engagement().clone(),
                customer: *s.nomination.customer().id(),
            },
            Guard::NoRivalAsking {
                partner: s.nomination.partner().clone(),
                engagement: s.nomination.engagement().clone(),
                customer: *s.nomination.customer().id(),
            },
        ]
    );
    assert_eq!(outcome.guards[0].rule(), "R-CONSENT-8");
    assert_eq!(outcome.guards[1].rule(), "R-CONSENT-10");
    // A decline needs no guard.
    let Step::Changed(declined) = s.nomination.decline_consent(s.now, &token(1)).unwrap() else {
        panic!("a change")
    };
    assert!(declined.guards.is_empty());
}

#[test]
fn r_consent_8_a_second_consent_is_refused_while_the_first_holds_and_admitted_once_it_lapsed() {
    // Two partners nominated the same customer for an engagement that allows
    // two live nominations.
    let shared = engagement("shared-workshop", mci_core::EngagementKind::Workshop, 2);
    let first = Scenario::added_by(&admin_of(1), &shared, nomination_id(1)).consent_given();
    let second = Scenario::added_by(&admin_of(2), &shared, nomination_id(2))
        .then(|n, now| n.send_consent(now, &admin_of(2), SendConsent::default(), &link(7)))
        .wait_days(2);
    let Step::Changed(accepting) = second
        .nomination
        .accept_consent(second.now, &token(7))
        .unwrap()
    else {
        panic!("a change")
    };
    let guard = &accepting.guards[0];
    let holder = first.nomination.standing();
    assert!(holder.holds_consent);
    let others = [(first.nomination.partner(), &holder)];
    assert!(!guard.admits(others, second.now));
    assert_eq!(
        guard.ineligibility(),
        Some(Ineligibility::ConsentedToAnotherPartner)
    );

    // The first partner's claim is never submitted: at its first-submit
    // deadline its consent stops holding, and the guard admits again.
    let lapse = first.nomination.deadline().unwrap().at;
    assert!(!guard.admits(others, lapse - TimeDelta::nanoseconds(1)));
    assert!(guard.admits(others, lapse));
    let swept = first.nomination.wake(lapse).unwrap().unwrap().nomination;
    assert_eq!(swept.state(), State::NotSubmittedExpired);
    let swept_standing = swept.standing();
    assert!(guard.admits([(swept.partner(), &swept_standing)], lapse));
}

#[test]
fn r_consent_8_a_cancelled_or_declined_nomination_holds_no_consent() {
    let cancelled = Scenario::consented().cancel().nomination.standing();
    let declined = sent()
        .then_step(|n, now| n.decline_consent(now, &token(1)))
        .nomination
        .standing();
    let guard = Guard::NoOtherConsent {
        engagement: "ai-workshop".parse().unwrap(),
        customer: *contoso().id(),
    };
    let p = partner(1);
    assert!(guard.admits([(&p, &cancelled), (&p, &declined)], t0()));
    // A completed one holds it for good.
    let completed = Standing {
        live: false,
        holds_consent: true,
        completed: true,
        asking: false,
        until: None,
    };
    assert!(!guard.admits([(&p, &completed)], t0() + TimeDelta::days(3650)));
}

// R-CONSENT-9

#[test]
fn r_consent_9_accepting_twice_answers_the_same_and_writes_nothing() {
    let s = sent().then_step(|n, now| n.accept_consent(now, &token(1)));
    let events = s.events.len();
    assert_eq!(
        s.nomination.accept_consent(s.now, &token(1)),
        Ok(Step::Unchanged)
    );
    // Even later, when the consent window has closed.
    assert_eq!(
        s.nomination
            .accept_consent(s.now + TimeDelta::days(40), &token(1)),
        Ok(Step::Unchanged)
    );
    assert_eq!(s.events.len(), events);
    // Declining after accepting is refused: the answer is given.
    assert_eq!(
        s.nomination.decline_consent(s.now, &token(1)),
        Err(Refusal::AlreadyAnswered {
            state: State::Consented
        })
    );
}

#[test]
fn r_consent_9_declining_twice_answers_the_same_and_writes_nothing() {
    let s = sent().then_step(|n, now| n.decline_consent(now, &token(1)));
    assert_eq!(
        s.nomination.decline_consent(s.now, &token(1)),
        Ok(Step::Unchanged)
    );
    assert_eq!(
        s.nomination.accept_consent(s.now, &token(1)),
        Err(Refusal::AlreadyAnswered {
            state: State::ConsentDeclined
        })
    );
}

// R-CONSENT-10

/// A workshop that allows five live nominations per customer, so that
/// partners can race for one consent.
fn shared() -> mci_core::Engagement {
    engagement("shared-workshop", mci_core::EngagementKind::Workshop, 5)
}

/// Partner `p`'s nomination `id` of Contoso for [`shared`], added at `t0`.
fn rival(p: u32, id: u64) -> Scenario {
    Scenario::added_by(&admin_of(p), &shared(), nomination_id(id))
}

/// [`rival`] with its consent email sent at `t0` through link `t`.
fn asking(p: u32, id: u64, t: u8) -> Scenario {
    rival(p, id).then(|n, now| n.send_consent(now, &admin_of(p), SendConsent::default(), &link(t)))
}

/// Partner 77's nomination accepted on day 2, decided among `rivals`.
fn accepted_among(rivals: &[&Scenario]) -> mci_core::Acceptance {
    let winner = asking(77, 77, 77).wait_days(2);
    let rivals: Vec<mci_core::Nomination> = rivals.iter().map(|s| s.nomination.clone()).collect();
    winner
        .nomination
        .accept_consent_among(winner.now, &token(77), &rivals)
        .unwrap()
        .expect("a first acceptance")
}

/// The loser of `rival` in [`accepted_among`], applied to its scenario.
fn lost(rival: Scenario) -> Scenario {
    let acceptance = accepted_among(&[&rival]);
    let loss = acceptance.losers.into_iter().next().expect("it loses");
    rival.at(t0() + TimeDelta::days(2)).then(|_, _| Ok(loss))
}

#[test]
fn r_consent_10_every_other_partners_nomination_still_asking_loses_in_the_acceptance() {
    let awaiting = asking(2, 2, 2);
    let claimed = rival(3, 3);
    let declined = asking(4, 4, 4).then_step(|n, now| n.decline_consent(now, &token(4)));
    let cancelled = rival(5, 5).then(|n, now| n.cancel(now, &admin_of(5)));
    // The winner's own partner's, and another engagement's, are never
    // touched.
    let own = Scenario::added_by(&admin_of(77), &shared(), nomination_id(6))
        .then(|n, now| n.cancel(now, &admin_of(77)));
    let elsewhere = Scenario::added_by(&admin_of(2), &workshop().0, nomination_id(7));
    let acceptance =
        accepted_among(&[&awaiting, &claimed, &declined, &cancelled, &own, &elsewhere]);
    let winner = &acceptance.winner;
    assert_eq!(winner.nomination.state(), State::Consented);
    let losers: Vec<_> = acceptance
        .losers
        .iter()
        .map(|o| *o.nomination.id())
        .collect();
    assert_eq!(losers, vec![nomination_id(2), nomination_id(3)]);
    for (loser, before) in acceptance.losers.iter().zip([&awaiting, &claimed]) {
        let n = &loser.nomination;
        assert_eq!(n.state(), before.nomination.state(), "its state stays");
        assert_eq!(n.lost_at(), Some(winner.event.at));
        assert!(n.links().is_empty(), "its links are void");
        assert!(!n.is_asking());
        assert_eq!(loser.expected_version(), before.nomination.version());
        assert!(loser.guards.is_empty());
        assert_eq!(loser.event.kind, EventKind::ConsentedToAnotherPartner);
        assert_eq!(loser.event.actor, mci_core::Actor::System);
        assert_eq!(loser.event.from, Some(before.nomination.state()));
        assert_eq!(loser.event.to, before.nomination.state());
        let [message] = loser.messages.as_slice() else {
            panic!("one message to the loser's partner: {:?}", loser.messages)
        };
        assert_eq!(message.to, before.nomination.partner_contacts().emails());
        assert_eq!(
            message.kind,
            MessageKind::ConsentedToAnotherPartner {
                deadline: consent_deadline(before)
            }
        );
        assert_eq!(message.kind.link(), None);
        // Nothing of the loss names or identifies the winner (R-ROLE-3).
        let told = format!(
            "{}{}{}",
            serde_json::to_string(n).unwrap(),
            serde_json::to_string(&loser.event).unwrap(),
            serde_json::to_string(message).unwrap()
        );
        assert!(!told.contains("p77"), "{told}");
        assert!(!told.contains(&winner.nomination.id().to_string()));
    }
    // Written losers first, the winner last, its guard checked after them.
    let order: Vec<_> = acceptance
        .into_outcomes()
        .iter()
        .map(|o| *o.nomination.id())
        .collect();
    assert_eq!(
        order,
        vec![nomination_id(2), nomination_id(3), nomination_id(77)]
    );
}

#[test]
fn r_consent_10_the_winners_guard_admits_no_rival_still_asking_that_it_did_not_decide_on() {
    let awaiting = asking(2, 2, 2);
    let acceptance = accepted_among(&[&awaiting]);
    let guard = acceptance
        .winner
        .guards
        .iter()
        .find(|g| matches!(g, Guard::NoRivalAsking { .. }))
        .expect("the acceptance carries the guard")
        .clone();
    assert_eq!(guard.rule(), "R-CONSENT-10");
    assert!(guard.is_retryable(), "the acceptance is decided again");
    assert_eq!(guard.ineligibility(), None, "nobody is ineligible for it");
    let now = acceptance.winner.event.at;
    let before = awaiting.nomination.standing();
    let after = acceptance.losers[0].nomination.standing();
    let p2 = partner(2);
    assert!(!guard.admits([(&p2, &before)], now), "a rival still asks");
    assert!(guard.admits([(&p2, &after)], now), "the loser asks no more");
    // A rival made while the acceptance was decided still asks.
    let newcomer = rival(3, 3).nomination.standing();
    let p3 = partner(3);
    assert!(!guard.admits([(&p2, &after), (&p3, &newcomer)], now));
    // The winner's own partner's nominations are no rivals, and a rival past
    // its consent deadline asks no more.
    let p77 = partner(77);
    assert!(guard.admits([(&p77, &newcomer)], now));
    assert!(guard.admits([(&p3, &newcomer)], consent_deadline(&awaiting)));
    // The plain acceptance is the one that knows of no rival: it carries
    // the same guard, and fails on the same rival.
    let winner = asking(77, 77, 77).wait_days(2);
    let Step::Changed(alone) = winner
        .nomination
        .accept_consent(winner.now, &token(77))
        .unwrap()
    else {
        panic!("a change")
    };
    assert!(alone.guards.contains(&guard));
}

#[test]
fn r_consent_10_the_loser_stays_live_but_no_longer_asks() {
    let loser = lost(asking(2, 2, 2));
    let standing = loser.nomination.standing();
    assert!(
        standing.live,
        "it counts for R-ENG-5 and R-ADD-7 until it ends"
    );
    assert!(!standing.asking);
    assert!(!standing.holds_consent);
    assert_eq!(standing.until, Some(consent_deadline(&loser)));
    // Its partner cannot nominate the customer again while it is live.
    let p2 = partner(2);
    let duplicate = Guard::NoOtherLiveNomination {
        partner: p2.clone(),
        engagement: shared().id().clone(),
        customer: *contoso().id(),
    };
    assert!(!duplicate.admits([(&p2, &standing)], loser.now));
    let limit = Guard::LiveNominationsBelow {
        engagement: shared().id().clone(),
        customer: *contoso().id(),
        limit: 1,
    };
    assert!(!limit.admits([(&p2, &standing)], loser.now));
    assert!(duplicate.admits([(&p2, &standing)], consent_deadline(&loser)));
}

#[test]
fn r_consent_10_the_loser_shows_on_ineligible_with_the_reason_and_only_cancel() {
    for before in [asking(2, 2, 2), rival(2, 2)] {
        let state = before.nomination.state();
        let loser = lost(before);
        let row = loser.row().expect("it stays on the page");
        assert_eq!(row.tab, Tab::Ineligible);
        assert_eq!(row.reason, Some(Ineligibility::ConsentedToAnotherPartner));
        assert_eq!(
            row.reason.as_ref().unwrap().to_string(),
            "consented to another partner"
        );
        assert_eq!(row.actions, vec![mci_core::Action::Cancel]);
        assert_eq!(row.row_type, RowType::NotStarted);
        assert_eq!(row.status.state, state);
        assert_eq!(row.status.days_left, Some(28));
        let placement = loser.nomination.placement();
        assert_eq!(placement.tab, Some(Tab::Ineligible));
        assert_eq!(placement.lapse_at, Some(consent_deadline(&loser)));
        assert_eq!(placement.tab_after_lapse, None, "it leaves the page then");
        // It ends at its consent deadline, and leaves the page.
        let ended = loser.clone().at(consent_deadline(&loser));
        assert_eq!(ended.state(), State::ConsentExpired);
        assert_eq!(ended.row(), None);
        assert_eq!(placement.tab_at(consent_deadline(&loser)), None);
        // Or when its partner cancels it.
        let cancelled = loser.then(|n, now| n.cancel(now, &admin_of(2)));
        assert_eq!(cancelled.state(), State::Cancelled);
        assert_eq!(cancelled.row(), None);
        assert_eq!(cancelled.nomination.ineligibility(), None);
    }
}

#[test]
fn r_consent_10_the_loser_is_never_reminded_and_wakes_only_at_its_deadline() {
    let loser = lost(asking(2, 2, 2));
    let deadline = consent_deadline(&loser);
    assert_eq!(loser.nomination.next_reminder_at(), None);
    assert_eq!(loser.nomination.wake_at(), Some(deadline));
    assert_eq!(loser.nomination.placement().wake_at, Some(deadline));
    for days_before in [7, 1] {
        let at = deadline - TimeDelta::days(days_before);
        assert_eq!(loser.nomination.due_reminder(at), None);
        assert_eq!(loser.nomination.wake(at).unwrap(), None);
    }
    // The same nomination, had it not lost, would have been reminded.
    let kept = asking(2, 2, 2);
    assert!(
        kept.nomination
            .due_reminder(deadline - TimeDelta::days(7))
            .is_some()
    );
    let swept = loser.at(deadline).sweep();
    assert_eq!(swept.nomination.state(), State::ConsentExpired);
    assert_matches_lapsed(&swept);
}

fn assert_matches_lapsed(s: &Scenario) {
    assert!(
        matches!(
            s.messages.last().map(|m| &m.kind),
            Some(MessageKind::Lapsed {
                state: State::ConsentExpired
            })
        ),
        "{:?}",
        s.messages.last()
    );
}

#[test]
fn r_consent_10_the_loser_refuses_every_consent_command_and_its_links_are_void() {
    let loser = lost(asking(2, 2, 2));
    let user = admin_of(2);
    let refusals = [
        loser.refusal(|n, now| n.send_consent(now, &user, SendConsent::default(), &link(9))),
        loser.refusal(|n, now| n.resend_consent(now, &user, &link(9))),
        loser.refusal(|n, now| {
            n.update_contacts(
                now,
                &user,
                ContactsUpdate {
                    customer: Some(contacts("Cleo", "cleo@contoso.example")),
                    partner: None,
                },
            )
        }),
    ];
    for refusal in &refusals {
        assert!(
            matches!(refusal, Refusal::ConsentedToAnotherPartner { .. }),
            "{refusal:?}"
        );
        assert_eq!(refusal.rule(), "R-CONSENT-10");
        assert!(!refusal.to_string().contains("p77"));
    }
    // Its earlier link answers like any voided link (R-TOKEN-3).
    assert_eq!(
        loser.refusal(|n, now| n.accept_consent(now, &token(2))),
        Refusal::InvalidLink
    );
    assert_eq!(
        loser.refusal(|n, now| n.decline_consent(now, &token(2))),
        Refusal::InvalidLink
    );
    assert_eq!(
        loser.refusal(|n, now| n.consent_invitation(now, &token(2))),
        Refusal::InvalidLink
    );
    // Cancel is left, by either partner role (R-CLAIM-W-10).
    let cancelled = loser.then(|n, now| n.cancel(now, &admin_of(2)));
    assert_eq!(
        cancelled.nomination.lost_at(),
        Some(t0() + TimeDelta::days(2))
    );
}

#[test]
fn r_consent_10_a_nomination_that_asks_no_more_does_not_lose_again() {
    // Lost before, answered, or past its deadline: passed over.
    let loser = lost(asking(2, 2, 2));
    let declined = asking(3, 3, 3).then_step(|n, now| n.decline_consent(now, &token(3)));
    let acceptance = accepted_among(&[&loser, &declined]);
    assert!(acceptance.losers.is_empty(), "{:?}", acceptance.losers);
    let late = asking(4, 4, 4);
    let winner = asking(77, 77, 77);
    let after_its_deadline = winner
        .nomination
        .accept_consent_among(
            consent_deadline(&late) - TimeDelta::seconds(1),
            &token(77),
            &[late.nomination.at(consent_deadline(&late))],
        )
        .unwrap()
        .unwrap();
    assert!(after_its_deadline.losers.is_empty());
    // An acceptance already given writes nothing, and no loss.
    let consented = winner
        .then_step(|n, now| n.accept_consent(now, &token(77)))
        .nomination;
    assert_eq!(
        consented.accept_consent_among(t0(), &token(77), &[asking(5, 5, 5).nomination]),
        Ok(None)
    );
}

#[test]
fn r_consent_10_documents_from_before_the_rule_read_as_asking() {
    let n = asking(2, 2, 2).nomination;
    let mut doc = serde_json::to_value(&n).unwrap();
    assert!(
        doc["consent"].get("lost_at").is_none(),
        "not written while it has not lost: {doc}"
    );
    doc["consent"].as_object_mut().unwrap().remove("lost_at");
    let read: mci_core::Nomination = serde_json::from_value(doc).unwrap();
    assert_eq!(read, n);
    assert!(read.is_asking());
    let loser = lost(asking(2, 2, 2)).nomination;
    let text = serde_json::to_string(&loser).unwrap();
    assert!(text.contains("lost_at"));
    assert_eq!(
        serde_json::from_str::<mci_core::Nomination>(&text).unwrap(),
        loser
    );
}

mod r_consent_10_properties {
    use super::*;
    use proptest::prelude::*;

    /// Where a rival stands when the acceptance is decided.
    #[derive(Debug, Clone, Copy)]
    enum Rival {
        Claimed,
        Awaiting,
        Declined,
        Cancelled,
        Lost,
    }

    fn rival_kind() -> impl Strategy<Value = Rival> {
        prop_oneof![
            Just(Rival::Claimed),
            Just(Rival::Awaiting),
            Just(Rival::Declined),
            Just(Rival::Cancelled),
            Just(Rival::Lost),
        ]
    }

    fn made(kind: Rival, p: u32) -> Scenario {
        let t = u8::try_from(p).unwrap();
        match kind {
            Rival::Claimed => rival(p, p.into()),
            Rival::Awaiting => asking(p, p.into(), t),
            Rival::Declined => {
                asking(p, p.into(), t).then_step(|n, now| n.decline_consent(now, &token(t)))
            }
            Rival::Cancelled => rival(p, p.into()).then(|n, now| n.cancel(now, &admin_of(p))),
            Rival::Lost => lost(asking(p, p.into(), t)),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Whatever the rivals and the instant: exactly the other partners'
        /// nominations still asking at the acceptance lose; after the losses
        /// the winner's guard admits them all, before them it admits only
        /// when none asked; every loser shows on Ineligible with the reason
        /// and only Cancel, and wakes only at its consent deadline.
        #[test]
        fn r_consent_10_exactly_the_rivals_still_asking_lose(
            kinds in proptest::collection::vec(rival_kind(), 0..6),
            hours in 48i64..(24 * 31),
        ) {
            let rivals: Vec<Scenario> = kinds
                .iter()
                .enumerate()
                .map(|(i, kind)| made(*kind, u32::try_from(i).unwrap() + 2))
                .collect();
            let nominations: Vec<mci_core::Nomination> =
                rivals.iter().map(|s| s.nomination.clone()).collect();
            let winner = asking(77, 77, 77);
            let now = t0() + TimeDelta::hours(hours);
            let decided = winner.nomination.accept_consent_among(now, &token(77), &nominations);
            if now >= consent_deadline(&winner) {
                prop_assert!(matches!(decided, Err(Refusal::Lapsed { .. })), "{:?}", decided);
                return Ok(());
            }
            let acceptance = decided.unwrap().unwrap();
            let at = acceptance.winner.event.at;
            let expected: Vec<_> = nominations
                .iter()
                .filter(|n| n.standing().asking_at(at))
                .map(|n| *n.id())
                .collect();
            let got: Vec<_> = acceptance.losers.iter().map(|o| *o.nomination.id()).collect();
            prop_assert_eq!(&got, &expected);
            let guard = acceptance
                .winner
                .guards
                .iter()
                .find(|g| matches!(g, Guard::NoRivalAsking { .. }))
                .unwrap()
                .clone();
            let before: Vec<_> = nominations
                .iter()
                .map(|n| (n.partner().clone(), n.standing()))
                .collect();
            prop_assert_eq!(
                guard.admits(before.iter().map(|(p, s)| (p, s)), at),
                expected.is_empty()
            );
            let after: Vec<_> = nominations
                .iter()
                .map(|n| {
                    acceptance
                        .losers
                        .iter()
                        .find(|o| o.nomination.id() == n.id())
                        .map_or_else(|| n.clone(), |o| o.nomination.clone())
                })
                .map(|n| (n.partner().clone(), n.standing()))
                .collect();
            prop_assert!(guard.admits(after.iter().map(|(p, s)| (p, s)), at));
            for loser in &acceptance.losers {
                let n = &loser.nomination;
                let row = n.page_row(at).unwrap();
                prop_assert_eq!(row.tab, Tab::Ineligible);
                prop_assert_eq!(row.reason, Some(Ineligibility::ConsentedToAnotherPartner));
                prop_assert_eq!(row.actions, vec![mci_core::Action::Cancel]);
                prop_assert_eq!(n.wake_at(), n.deadline().map(|d| d.at));
                prop_assert!(n.links().is_empty());
                prop_assert!(n.standing().live_at(at));
            }
        }
    }
}
