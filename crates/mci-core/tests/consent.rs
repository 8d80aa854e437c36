//! Consent (R-CONSENT-1..9): asking, reminding, answering and lapsing.

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
        vec![Guard::NoOtherConsent {
            engagement: s.nomination.engagement().clone(),
            customer: *s.nomination.customer().id(),
        }]
    );
    assert_eq!(outcome.guards[0].rule(), "R-CONSENT-8");
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
        Ineligibility::ConsentedToAnotherPartner
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
