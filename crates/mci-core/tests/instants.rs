//! Instants at the edges of the accepted range (R-INPUT, R-TIME-2): inputs
//! from 1970-01-01 to 2200-12-31, to the microsecond; outside that a typed
//! error, never a clamp; every deadline derived from an accepted instant is
//! representable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mci_core::*;
use mci_testkit::*;

const MICRO: TimeDelta = TimeDelta::microseconds(1);

fn year(y: i32) -> Instant {
    Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).unwrap()
}

/// Instants an input may not carry: just outside the range, the years the
/// nanosecond columns could not keep, and the ends of chrono's range.
fn outside() -> Vec<Instant> {
    vec![
        EARLIEST_INSTANT - MICRO,
        LATEST_INSTANT + MICRO,
        LATEST_INSTANT + TimeDelta::nanoseconds(1),
        year(2263),
        year(9999),
        year(1600),
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
    ]
}

/// Asserts that `result` is the typed refusal of an instant outside the
/// range, naming `field`.
#[track_caller]
fn out_of_range<T: std::fmt::Debug>(result: Result<T, Refusal>, field: &str, at: Instant) {
    match result {
        Err(Refusal::Invalid(invalid)) => {
            assert_eq!(invalid.field(), field, "{invalid}");
            assert_eq!(invalid.rule(), "R-INPUT", "{invalid}");
            assert_eq!(
                invalid.problem(),
                &Problem::InstantOutOfRange {
                    earliest: EARLIEST_INSTANT,
                    latest: LATEST_INSTANT,
                    actual: at,
                },
                "{invalid}"
            );
        }
        other => panic!("expected {field} at {at} to be refused, got {other:?}"),
    }
}

/// An engagement open over the whole accepted range, with `timelines` and
/// `reminders`.
fn open_everywhere(timelines: Timelines, reminders: Vec<Days>) -> Engagement {
    Engagement::new(
        "ai-workshop".parse().unwrap(),
        "AI workshop".parse().unwrap(),
        "Data & AI".parse().unwrap(),
        AvailabilityWindow::new(EARLIEST_INSTANT, LATEST_INSTANT).unwrap(),
        EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(750_000)))
            .timelines(timelines)
            .reminders(reminders)
            .build()
            .unwrap(),
    )
}

/// The longest windows the rules accept (R-ENG-4).
fn longest() -> Timelines {
    let ten_years = Days::new(3650);
    Timelines {
        obtain_consent: ten_years,
        first_submit: ten_years,
        review_complete: ten_years,
        dispute: ten_years,
    }
}

fn add_at(engagement: &Engagement, now: Instant) -> Result<Vec<Outcome>, Refusal> {
    nominate(
        now,
        &admin(),
        nomination_request(),
        &[Candidate {
            engagement,
            facts: eligible_facts(),
        }],
        || nomination_id(1),
    )
}

/// A scenario on `engagement` added at `now`.
fn added_at(engagement: &Engagement, now: Instant) -> Scenario {
    let outcome = add_at(engagement, now).unwrap().remove(0);
    Scenario {
        nomination: outcome.nomination,
        now,
        events: vec![outcome.event],
        messages: outcome.messages,
        user: admin(),
    }
}

#[test]
fn r_input_the_accepted_range_is_1970_to_2200_to_the_microsecond() {
    assert_eq!(EARLIEST_INSTANT, year(1970));
    assert_eq!(LATEST_INSTANT, year(2201) - MICRO);
    assert_eq!(LATEST_INSTANT.timestamp_subsec_nanos(), 999_999_000);
}

#[test]
fn r_input_instants_outside_1970_2200_are_refused() {
    for at in [EARLIEST_INSTANT, LATEST_INSTANT, t0()] {
        assert_eq!(check_instant("now", at), Ok(at));
    }
    for at in outside() {
        out_of_range(check_instant("now", at).map_err(Refusal::from), "now", at);
    }
    let refused = check_instant("created_at", year(2263)).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "created_at is 2263-01-01 00:00:00 UTC, outside 1970-01-01 00:00:00 UTC..=2200-12-31 23:59:59.999999 UTC (R-INPUT)"
    );
}

#[test]
fn r_input_instants_are_truncated_to_the_microsecond() {
    let at = Utc.timestamp_opt(1_772_442_000, 123_456_789).unwrap();
    let truncated = truncate_to_micros(at);
    assert_eq!(
        truncated,
        Utc.timestamp_opt(1_772_442_000, 123_456_000).unwrap()
    );
    assert_eq!(truncate_to_micros(truncated), truncated);
    // Towards the past, whatever the sign of the instant.
    let before_epoch = EARLIEST_INSTANT - TimeDelta::nanoseconds(1);
    assert_eq!(truncate_to_micros(before_epoch), EARLIEST_INSTANT - MICRO);
    assert_eq!(
        truncate_to_micros(LATEST_INSTANT + TimeDelta::nanoseconds(999)),
        LATEST_INSTANT
    );
    let latest = DateTime::<Utc>::MAX_UTC;
    assert!(truncate_to_micros(latest) <= latest);
    assert!(latest - truncate_to_micros(latest) < MICRO);
}

#[test]
fn r_input_days_after_and_before_never_clamp() {
    let window = Days::new(30);
    assert_eq!(window.checked_after(t0()), Some(t0() + TimeDelta::days(30)));
    assert_eq!(
        window.checked_before(t0()),
        Some(t0() - TimeDelta::days(30))
    );
    assert_eq!(window.checked_after(DateTime::<Utc>::MAX_UTC), None);
    assert_eq!(window.checked_before(DateTime::<Utc>::MIN_UTC), None);
    assert_eq!(
        Days::new(u32::MAX).checked_after(LATEST_INSTANT),
        None,
        "11 million years overflow"
    );
}

#[test]
fn r_input_every_deadline_from_an_accepted_instant_is_representable() {
    let engagement = open_everywhere(longest(), vec![Days::new(3650), Days::new(1)]);
    // An availability window ends by the latest instant (exclusive), so the
    // last nomination comes a microsecond before it; what follows happens at
    // the latest instant itself.
    for (added, at) in [
        (EARLIEST_INSTANT, EARLIEST_INSTANT),
        (LATEST_INSTANT - MICRO, LATEST_INSTANT),
    ] {
        let added = added_at(&engagement, added);
        let consent = added.nomination.deadline().unwrap();
        assert_eq!(consent.at, added.now + TimeDelta::days(3650));
        assert_eq!(added.nomination.next_reminder_at(), Some(added.now));
        let consented = added
            .at(at)
            .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1)))
            .then_step(|n, now| n.accept_consent(now, &token(1)));
        let rejected = consented
            .prove_everything()
            .submit()
            .start_review()
            .reject();
        let disputed = rejected.clone().dispute();
        for s in [&rejected, &disputed] {
            let deadline = s.nomination.deadline().unwrap();
            assert_eq!(
                deadline.at,
                at + TimeDelta::days(3650),
                "{:?}",
                deadline.kind
            );
            let placement = s.nomination.placement();
            assert_eq!(placement.lapse_at, Some(deadline.at));
            assert_eq!(s.nomination.standing().until, Some(deadline.at));
            // Exactly at the deadline is late, a microsecond before is not.
            assert!(!deadline.is_past(deadline.at - MICRO));
            assert!(deadline.is_past(deadline.at));
            assert_eq!(
                s.nomination.at(deadline.at).state(),
                deadline.kind.lapses_into()
            );
            assert_eq!(s.nomination.at(deadline.at - MICRO), s.nomination);
        }
    }
}

#[test]
fn r_input_availability_windows_outside_the_range_are_refused() {
    assert!(AvailabilityWindow::new(EARLIEST_INSTANT, LATEST_INSTANT).is_ok());
    for at in outside() {
        if at < EARLIEST_INSTANT {
            out_of_range(
                AvailabilityWindow::new(at, t0()).map_err(Refusal::from),
                "availability.starts",
                at,
            );
        } else {
            out_of_range(
                AvailabilityWindow::new(t0(), at).map_err(Refusal::from),
                "availability.ends",
                at,
            );
        }
    }
    let stored = r#"{"starts":"2026-01-01T00:00:00Z","ends":"2263-01-01T00:00:00Z"}"#;
    assert!(serde_json::from_str::<AvailabilityWindow>(stored).is_err());
}

#[test]
fn r_input_nominating_outside_the_range_is_refused() {
    let engagement = open_everywhere(longest(), vec![Days::new(7)]);
    for at in outside() {
        out_of_range(add_at(&engagement, at), "now", at);
        out_of_range(
            review_nomination(
                at,
                &nomination_request(),
                &[Candidate {
                    engagement: &engagement,
                    facts: eligible_facts(),
                }],
            ),
            "now",
            at,
        );
    }
    assert!(add_at(&engagement, EARLIEST_INSTANT).is_ok());
    assert!(add_at(&engagement, LATEST_INSTANT - MICRO).is_ok());
    // At the latest instant itself the window has ended, as every window
    // has: it ends by then at the latest.
    assert!(matches!(
        add_at(&engagement, LATEST_INSTANT),
        Err(Refusal::NotChoosable { .. })
    ));
}

#[test]
fn r_input_transitions_refuse_a_now_outside_the_range() {
    let awaiting = Scenario::added()
        .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1)));
    let preparing = Scenario::consented()
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(9)));
    let under_review = Scenario::under_review();
    let rejected = Scenario::rejected();
    let approved = Scenario::approved();
    let user = admin();
    for at in outside() {
        let a = &awaiting.nomination;
        out_of_range(
            a.send_consent(at, &user, SendConsent::default(), &link(2)),
            "now",
            at,
        );
        out_of_range(a.resend_consent(at, &user, &link(2)), "now", at);
        out_of_range(
            a.update_contacts(at, &user, ContactsUpdate::default()),
            "now",
            at,
        );
        out_of_range(a.accept_consent(at, &token(1)), "now", at);
        out_of_range(a.decline_consent(at, &token(1)), "now", at);
        out_of_range(a.cancel(at, &user), "now", at);
        let p = &preparing.nomination;
        out_of_range(
            p.attach_document(at, &user, DocumentKind::Invoice, document("invoice.pdf")),
            "now",
            at,
        );
        out_of_range(
            p.send_survey(at, &user, SurveyKind::Partner, &link(3)),
            "now",
            at,
        );
        out_of_range(p.complete_survey(at, &token(9)), "now", at);
        out_of_range(p.add_comment(at, &user, comment("late")), "now", at);
        out_of_range(p.submit(at, &user), "now", at);
        let r = &under_review.nomination;
        out_of_range(r.approve(at, &reviewer(), seen(r)), "now", at);
        out_of_range(r.reject(at, &reviewer(), seen(r), comment("no")), "now", at);
        out_of_range(
            r.request_partner_action(at, &reviewer(), seen(r), comment("more")),
            "now",
            at,
        );
        let submitted = Scenario::submitted().nomination;
        out_of_range(
            submitted.start_review(at, &reviewer(), seen(&submitted)),
            "now",
            at,
        );
        out_of_range(
            rejected.nomination.dispute(at, &user, comment("again")),
            "now",
            at,
        );
        out_of_range(approved.nomination.mark_paid(at, batch_id(1)), "now", at);
        let cycle = PayoutCycle::containing(t0(), Days::new(45), approved.now).unwrap();
        out_of_range(
            payout_run(
                batch_id(1),
                cycle,
                at,
                std::slice::from_ref(&approved.nomination),
            ),
            "now",
            at,
        );
        out_of_range(a.wake(at).map_err(Refusal::from), "now", at);
    }
}

#[test]
fn r_input_payout_cycles_are_checked_not_clamped() {
    for at in outside() {
        out_of_range(
            PayoutCycle::containing(t0(), Days::new(45), at).map_err(Refusal::from),
            "now",
            at,
        );
        out_of_range(
            PayoutCycle::containing(at, Days::new(45), t0()).map_err(Refusal::from),
            "payout_epoch",
            at,
        );
    }
    let last = PayoutCycle::containing(EARLIEST_INSTANT, Days::new(45), LATEST_INSTANT).unwrap();
    assert!(last.starts <= LATEST_INSTANT && LATEST_INSTANT < last.ends);
    let endless =
        PayoutCycle::containing(EARLIEST_INSTANT, Days::new(u32::MAX), LATEST_INSTANT).unwrap_err();
    assert_eq!(endless.field(), "payout_period");
    assert_eq!(endless.problem(), &Problem::Overflow);
    assert_eq!(
        PayoutCycle::containing(EARLIEST_INSTANT, Days::new(0), t0())
            .unwrap_err()
            .field(),
        "payout_period"
    );
}
