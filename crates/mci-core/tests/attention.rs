//! The Attention required list (R-LIST-3): which nominations need their
//! partner, and the placement a store finds them by.
//!
//! The oracle of each state's class is written from SPEC R-LIST-3 ("consents
//! and claims whose deadline is within 7 days, claims where the reviewer
//! asked for more information, rejections that can still be disputed,
//! nominations of R-CONSENT-10"), not from the core's code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use mci_core::{
    ATTENTION_WINDOW, Action, AttentionClass, AttentionReason, Instant, Nomination, SendConsent,
    State, attention_list, attention_until,
};
use mci_testkit::*;

/// SPEC R-LIST-3: when a nomination stored in `state` needs its partner,
/// until its deadline.
fn spec_class(state: State, lost: bool) -> Option<AttentionClass> {
    match state {
        _ if state.is_terminal() => None,
        _ if lost => Some(AttentionClass::Always),
        State::PartnerActionRequired | State::Rejected => Some(AttentionClass::Always),
        State::CustomerClaimed | State::AwaitingConsent | State::Consented => {
            Some(AttentionClass::WithinWindow)
        }
        // With the reviewer: nothing for the partner to do.
        State::Submitted | State::UnderReview | State::Disputed => None,
        _ => None,
    }
}

/// The instants worth probing for `n`: around its last change (before it
/// too, as a server whose clock is behind reads it), around the start of
/// the window before its deadline, around the deadline, and long after.
fn probes(n: &Nomination) -> Vec<Instant> {
    let tick = TimeDelta::microseconds(1);
    let mut at = vec![
        n.updated_at() - TimeDelta::hours(1),
        n.updated_at() - tick,
        n.updated_at(),
        n.updated_at() + TimeDelta::days(1),
    ];
    if let Some(deadline) = n.deadline() {
        let opens = ATTENTION_WINDOW.checked_before(deadline.at).unwrap();
        at.extend([opens - tick, opens, opens + tick]);
        at.extend([deadline.at - tick, deadline.at, deadline.at + tick]);
        at.push(deadline.at + TimeDelta::days(400));
    }
    at
}

/// Checks that the placement of `n` says, at every probe, what
/// [`Nomination::attention`] says, and that its class is SPEC's.
#[track_caller]
fn agrees(name: &str, n: &Nomination) {
    let placement = n.attention_placement();
    assert_eq!(
        placement.class,
        spec_class(n.state(), n.lost_at().is_some()),
        "{name}: class"
    );
    assert_eq!(placement.lapse_at, n.deadline().map(|d| d.at), "{name}");
    assert_eq!(placement.lapse_at, n.placement().lapse_at, "{name}");
    for now in probes(n) {
        let entry = n.attention(now);
        assert_eq!(
            entry.is_some(),
            placement.needs_at(now),
            "{name} at {now}: {entry:?}"
        );
        assert_eq!(
            placement.needs_at(now),
            placement.is_listed(now, attention_until(now)),
        );
        if let Some(entry) = entry {
            assert_eq!(entry.nomination, *n.id());
            assert_eq!(Some(entry.deadline), n.deadline(), "{name}");
            assert!(entry.deadline.at > now, "{name}: due, not lapsed");
        }
    }
}

#[test]
fn r_list_3_the_placement_agrees_with_attention_in_every_state() {
    for (name, scenario) in Scenario::in_every_state() {
        agrees(name, &scenario.nomination);
    }
}

#[test]
fn r_list_3_a_nomination_that_lost_its_customer_needs_its_partner_until_its_deadline() {
    let shared = engagement("shared-workshop", mci_core::EngagementKind::Workshop, 5);
    let asking = |p: u32, id: u64, t: u8| {
        Scenario::added_by(&admin_of(p), &shared, nomination_id(id))
            .then(|n, now| n.send_consent(now, &admin_of(p), SendConsent::default(), &link(t)))
    };
    let winner = asking(77, 77, 77).wait_days(2);
    for loser in [
        Scenario::added_by(&admin_of(2), &shared, nomination_id(2)),
        asking(3, 3, 3),
    ] {
        let acceptance = winner
            .nomination
            .accept_consent_among(
                winner.now,
                &token(77),
                std::slice::from_ref(&loser.nomination),
            )
            .unwrap()
            .unwrap();
        let lost = &acceptance.losers[0].nomination;
        assert!(lost.lost_at().is_some());
        agrees("lost", lost);
        let entry = lost.attention(winner.now).unwrap();
        assert_eq!(entry.reason, AttentionReason::ConsentedToAnotherPartner);
        assert_eq!(entry.action, Action::Cancel);
        assert_eq!(
            lost.attention_placement().class,
            Some(AttentionClass::Always)
        );
        // The winner's claim is months from its deadline: not yet.
        assert_eq!(acceptance.winner.nomination.attention(winner.now), None);
        agrees("winner", &acceptance.winner.nomination);
    }
}

#[test]
fn r_list_3_the_window_is_seven_days_from_the_instant_read_deadline_included() {
    let (added, t) = fresh_nomination();
    let deadline = added.deadline().unwrap().at;
    let opens = deadline - TimeDelta::days(7);
    let tick = TimeDelta::microseconds(1);
    assert_eq!(added.attention(opens - tick), None);
    assert!(
        added.attention(opens).is_some(),
        "a deadline 7 days away is due"
    );
    assert!(added.attention(deadline - tick).is_some());
    assert_eq!(added.attention(deadline), None, "lapsed at its deadline");
    // A reader whose clock is behind the last change measures the window
    // from its own instant, as it does for every other row of its list.
    let changed = added
        .send_consent(
            t + TimeDelta::days(23),
            &admin(),
            SendConsent::default(),
            &link(1),
        )
        .unwrap()
        .nomination;
    let behind = changed.updated_at() - TimeDelta::hours(1);
    assert!(behind < opens);
    assert_eq!(changed.attention(behind), None);
    assert!(!changed.attention_placement().needs_at(behind));
    assert!(changed.attention(opens).is_some());
}

#[test]
fn r_list_3_the_list_is_the_soonest_deadlines_first_at_most_the_limit() {
    // Rejected claims whose ids are in the opposite order of their dispute
    // deadlines, and a consent due before all of them.
    let mut all = Vec::new();
    for (i, days) in [(1u64, 9i64), (2, 6), (3, 3)] {
        let s = Scenario::added_by(&admin(), &workshop().0, nomination_id(i))
            .consent_given()
            .prove_everything()
            .submit()
            .start_review()
            .wait_days(days)
            .reject();
        assert_eq!(s.nomination.state(), State::Rejected);
        all.push(s.nomination);
    }
    let consent = Scenario::added_by(&admin(), &workshop().0, nomination_id(9)).nomination;
    all.push(consent.clone());
    let now = consent.deadline().unwrap().at - TimeDelta::days(1);
    assert!(all.iter().all(|n| n.updated_at() < now));
    let (entries, more) = attention_list(now, all.clone(), 2);
    let ids: Vec<_> = entries.iter().map(|e| e.nomination).collect();
    assert_eq!(ids, [*consent.id(), nomination_id(3)]);
    assert!(more);
    let (every, more) = attention_list(now, all, 10);
    let ids: Vec<_> = every.iter().map(|e| e.nomination).collect();
    assert_eq!(
        ids,
        [
            *consent.id(),
            nomination_id(3),
            nomination_id(2),
            nomination_id(1)
        ]
    );
    assert!(!more);
}
