//! Records (R-REC-1, -2, -3): every change yields one event with who, when,
//! the states before and after, and the version it produced; messages carry
//! stable ids; nothing is lost by a state change.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use chrono::TimeDelta;
use mci_core::{Actor, EventKind, Nomination, SendConsent, State, SurveyKind};
use mci_testkit::*;

/// A nomination's whole life, from the add to the payout, with a dispute.
fn whole_life() -> Scenario {
    Scenario::added()
        .wait_days(1)
        .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1)))
        .wait_days(2)
        .then(|n, now| n.resend_consent(now, &admin(), &link(4)))
        .wait_days(2)
        .then_step(|n, now| n.accept_consent(now, &token(4)))
        .wait_days(10)
        .prove_everything()
        .then(|n, now| n.add_comment(now, &admin(), comment("Delivered on site")))
        .wait_days(1)
        .submit()
        .wait_days(3)
        .start_review()
        .request_partner_action()
        .wait_days(1)
        .submit()
        .start_review()
        .reject()
        .wait_days(4)
        .dispute()
        .wait_days(2)
        .start_review()
        .approve()
        .wait_days(20)
        .then(|n, now| n.mark_paid(now, batch_id(1)))
}

#[test]
fn r_rec_1_every_change_yields_one_event_with_its_states_and_version() {
    let s = whole_life();
    assert_eq!(s.nomination.state(), State::Paid);
    assert_eq!(s.nomination.version(), s.events.len() as u64);
    let mut previous: Option<State> = None;
    let mut at = s.events[0].at;
    for (index, event) in s.events.iter().enumerate() {
        assert_eq!(event.version, index as u64 + 1);
        assert_eq!(event.nomination, *s.nomination.id());
        assert_eq!(event.from, previous, "event {index}: {}", event.kind);
        assert!(event.at >= at, "events are in time order");
        previous = Some(event.to);
        at = event.at;
    }
    assert_eq!(previous, Some(State::Paid));
    assert_eq!(s.events[0].from, None);
    assert_eq!(s.events[0].to, State::CustomerClaimed);
}

#[test]
fn r_rec_1_events_say_who_did_what() {
    let s = whole_life();
    let transitions: Vec<(Option<State>, State, &Actor)> = s
        .events
        .iter()
        .filter(|e| e.from != Some(e.to))
        .map(|e| (e.from, e.to, &e.actor))
        .collect();
    let partner = admin().actor();
    let reviewer = Actor::Reviewer {
        reviewer: reviewer(),
    };
    use State::*;
    assert_eq!(
        transitions,
        vec![
            (None, CustomerClaimed, &partner),
            (Some(CustomerClaimed), AwaitingConsent, &partner),
            (Some(AwaitingConsent), Consented, &Actor::Customer),
            (Some(Consented), Submitted, &partner),
            (Some(Submitted), UnderReview, &reviewer),
            (Some(UnderReview), PartnerActionRequired, &reviewer),
            (Some(PartnerActionRequired), Submitted, &partner),
            (Some(Submitted), UnderReview, &reviewer),
            (Some(UnderReview), Rejected, &reviewer),
            (Some(Rejected), Disputed, &partner),
            (Some(Disputed), UnderReview, &reviewer),
            (Some(UnderReview), Approved, &reviewer),
            (Some(Approved), Paid, &Actor::System),
        ]
    );
    // Changes within a state are recorded too.
    let kinds: Vec<&EventKind> = s.events.iter().map(|e| &e.kind).collect();
    assert!(kinds.contains(&&EventKind::ConsentReminded));
    assert!(kinds.contains(&&EventKind::SurveyCompleted {
        survey: SurveyKind::Customer
    }));
    assert!(kinds.contains(&&EventKind::CommentAdded {
        comment: comment("Delivered on site")
    }));
}

#[test]
fn r_rec_1_each_outcome_expects_the_version_it_was_decided_on() {
    let s = Scenario::consented();
    let outcome = s
        .nomination
        .add_comment(s.now, &admin(), comment("note"))
        .unwrap();
    assert_eq!(outcome.expected_version(), s.nomination.version());
    assert_eq!(outcome.nomination.version(), s.nomination.version() + 1);
    assert_eq!(outcome.event.version, outcome.nomination.version());
    assert_eq!(outcome.event.at, s.now);
    assert_eq!(outcome.nomination.updated_at(), s.now);
    // A refused command decides nothing: the nomination is a value, unchanged.
    let before = s.nomination.clone();
    assert!(s.nomination.dispute(s.now, &admin(), comment("x")).is_err());
    assert_eq!(s.nomination, before);
}

#[test]
fn r_rec_1_the_history_survives_storage() {
    let s = whole_life();
    let json = serde_json::to_string(&s.events).unwrap();
    let back: Vec<mci_core::Event> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s.events);
    let stored: Nomination =
        serde_json::from_str(&serde_json::to_string(&s.nomination).unwrap()).unwrap();
    assert_eq!(stored, s.nomination);
}

#[test]
fn r_rec_2_every_message_has_a_stable_distinct_id() {
    let first = whole_life();
    let second = whole_life();
    let ids: Vec<_> = first.messages.iter().map(|m| m.id).collect();
    assert_eq!(
        ids,
        second.messages.iter().map(|m| m.id).collect::<Vec<_>>()
    );
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len());
    for message in &first.messages {
        assert_eq!(message.nomination, *first.nomination.id());
        assert!(!message.to.is_empty());
    }
}

#[test]
fn r_rec_3_lapsed_declined_and_cancelled_nominations_stay_readable() {
    for (name, s) in Scenario::in_every_state() {
        let n = &s.nomination;
        // What the partner entered is all there after the last change.
        assert_eq!(n.friendly_name().as_str(), "Contoso AI readiness", "{name}");
        assert_eq!(n.customer(), &contoso(), "{name}");
        assert_eq!(n.created_at(), t0(), "{name}");
        assert_eq!(n.version(), s.events.len() as u64, "{name}");
    }
    let cancelled = Scenario::consented().prove_everything().cancel();
    assert_eq!(cancelled.nomination.claim().documents.len(), 2);
    assert!(cancelled.nomination.consented_at().is_some());
    let later = cancelled.now + TimeDelta::days(1000);
    assert_eq!(cancelled.nomination.at(later), cancelled.nomination);
}

#[test]
fn r_rec_1_a_clock_behind_the_last_change_keeps_the_history_in_order() {
    // Consent sent on day 10; a command from a clock that reads day 2.
    let s = Scenario::added()
        .wait_days(10)
        .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1)));
    let sent_at = s.nomination.updated_at();
    let behind = s.clone().at(t0() + chrono::TimeDelta::days(2));
    let later = behind.then(|n, now| n.add_comment(now, &admin(), comment("from a slow clock")));
    let events = &later.events;
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at), "{events:#?}");
    assert_eq!(later.last_event().at, sent_at);
    // Read from the slow clock, days left never exceed the 30-day window
    // (R-TIME-3): the nomination is read as of its last change.
    let row = later
        .nomination
        .page_row(t0() + chrono::TimeDelta::days(2))
        .unwrap();
    assert_eq!(row.status.days_left, Some(20));
}
