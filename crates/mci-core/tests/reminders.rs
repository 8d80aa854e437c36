//! Reminders to the partner before a deadline (R-REC-6): 7 days and 1 day
//! before the consent and first-submit deadlines, each at most once; a
//! sweep that catches up sends only the most urgent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use mci_core::{Days, DeadlineKind, EventKind, Instant, MessageKind, ReminderMark, State};
use mci_testkit::*;

/// The reminders a scenario's events record, as (deadline, days before).
fn reminders(s: &Scenario) -> Vec<(Instant, u32)> {
    s.events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Reminded { deadline, before } => Some((deadline, before.get())),
            _ => None,
        })
        .collect()
}

fn check_both_marks_once(start: Scenario, kind: DeadlineKind) {
    let deadline = start.nomination.deadline().unwrap();
    assert_eq!(deadline.kind, kind);
    let deadline = deadline.at;
    assert_eq!(
        start.nomination.wake_at(),
        Some(deadline - TimeDelta::days(7))
    );

    // Nothing before the first mark.
    let early = start
        .clone()
        .at(deadline - TimeDelta::days(7) - TimeDelta::seconds(1))
        .sweep();
    assert!(reminders(&early).is_empty(), "{kind:?}");

    let seven = early.at(deadline - TimeDelta::days(7)).sweep();
    assert_eq!(reminders(&seven), vec![(deadline, 7)], "{kind:?}");
    let message = seven.messages.last().unwrap();
    assert_eq!(
        message.kind,
        MessageKind::DeadlineApproaching {
            deadline,
            before: Days::new(7)
        }
    );
    assert_eq!(message.to, seven.nomination.partner_contacts().emails());
    assert_eq!(seven.last_event().from, Some(seven.last_event().to));
    assert_eq!(
        seven.nomination.wake_at(),
        Some(deadline - TimeDelta::days(1))
    );

    // Sweeping again, any number of times, sends nothing more.
    let again = seven.wait_days(3).sweep().wait_days(1).sweep();
    assert_eq!(reminders(&again).len(), 1, "{kind:?}");

    let one = again.at(deadline - TimeDelta::hours(20)).sweep().sweep();
    assert_eq!(
        reminders(&one),
        vec![(deadline, 7), (deadline, 1)],
        "{kind:?}"
    );
    assert_eq!(one.nomination.wake_at(), Some(deadline));
    // Reminders do not move the deadline.
    assert_eq!(one.nomination.deadline().unwrap().at, deadline);

    let lapsed = one.at(deadline).sweep();
    assert_eq!(lapsed.nomination.state(), kind.lapses_into());
    assert_eq!(reminders(&lapsed).len(), 2);
}

#[test]
fn r_rec_6_reminders_7_days_and_1_day_before_the_consent_deadline_each_once() {
    let sent = Scenario::added()
        .then(|n, now| n.send_consent(now, &admin(), Default::default(), &link(1)));
    check_both_marks_once(sent, DeadlineKind::ObtainConsent);
}

#[test]
fn r_rec_6_reminders_7_days_and_1_day_before_the_first_submit_deadline_each_once() {
    check_both_marks_once(Scenario::consented(), DeadlineKind::FirstSubmit);
}

#[test]
fn r_rec_6_a_sweep_that_catches_up_sends_only_the_most_urgent() {
    let s = Scenario::consented();
    let deadline = s.nomination.deadline().unwrap().at;
    let late = s.at(deadline - TimeDelta::hours(12));
    assert_eq!(
        late.nomination.due_reminder(late.now),
        Some(ReminderMark {
            deadline: DeadlineKind::FirstSubmit,
            before: Days::new(1)
        })
    );
    let swept = late.sweep();
    assert_eq!(reminders(&swept), vec![(deadline, 1)]);
    // The 7-day reminder never comes afterwards.
    assert_eq!(swept.nomination.due_reminder(swept.now), None);
    assert_eq!(swept.nomination.wake_at(), Some(deadline));
    let swept = swept.wait(TimeDelta::hours(6)).sweep();
    assert_eq!(reminders(&swept).len(), 1);
}

#[test]
fn r_rec_6_a_sweep_after_the_deadline_lapses_without_reminding() {
    let s = Scenario::consented();
    let deadline = s.nomination.deadline().unwrap().at;
    let swept = s.at(deadline + TimeDelta::days(3)).sweep();
    assert!(reminders(&swept).is_empty());
    assert_eq!(swept.nomination.state(), State::NotSubmittedExpired);
}

#[test]
fn r_rec_6_each_deadline_has_its_own_reminders() {
    // Reminded before the consent deadline, then consented: the first-submit
    // deadline is reminded of in its turn.
    let sent = Scenario::added()
        .then(|n, now| n.send_consent(now, &admin(), Default::default(), &link(1)));
    let consent_deadline = sent.nomination.deadline().unwrap().at;
    let s = sent
        .at(consent_deadline - TimeDelta::hours(2))
        .sweep()
        .then_step(|n, now| n.accept_consent(now, &token(1)));
    let submit_deadline = s.nomination.deadline().unwrap().at;
    let s = s.at(submit_deadline - TimeDelta::days(6)).sweep();
    assert_eq!(
        reminders(&s),
        vec![(consent_deadline, 1), (submit_deadline, 7)]
    );
}

#[test]
fn r_rec_6_no_reminders_before_the_review_and_dispute_deadlines() {
    for s in [
        Scenario::submitted(),
        Scenario::under_review(),
        Scenario::rejected(),
        Scenario::rejected().dispute(),
    ] {
        let deadline = s.nomination.deadline().unwrap().at;
        for before in [7, 1] {
            let t = deadline - TimeDelta::days(before);
            assert!(s.nomination.wake(t).unwrap().is_none(), "{}", s.state());
            assert_eq!(s.nomination.due_reminder(t), None);
        }
        assert_eq!(s.nomination.wake_at(), Some(deadline));
    }
}

#[test]
fn r_rec_6_an_engagement_may_set_its_own_marks() {
    let rules = mci_core::EngagementRules::builder(
        mci_core::EngagementKind::Workshop,
        mci_core::PayModel::fixed(eur(100)),
    )
    .reminders([Days::new(3), Days::new(14), Days::new(3)])
    .build()
    .unwrap();
    assert_eq!(rules.reminders(), &[Days::new(14), Days::new(3)]);
    let s = Scenario::added_to(&engagement_with_rules("custom", rules));
    let deadline = s.nomination.deadline().unwrap().at;
    let s = s
        .at(deadline - TimeDelta::days(14))
        .sweep()
        .at(deadline - TimeDelta::days(7))
        .sweep()
        .at(deadline - TimeDelta::days(3))
        .sweep();
    assert_eq!(reminders(&s), vec![(deadline, 14), (deadline, 3)]);
}
