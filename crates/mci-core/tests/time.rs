//! Time (R-TIME-1..4): the instant is an argument, deadlines are whole days,
//! an action at the deadline is late, days left round up, and expiry is both
//! lazy and swept.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use mci_core::{DeadlineKind, EventKind, MessageKind, Refusal, days_left};
use mci_testkit::*;

/// One scenario per deadline kind, standing just after the window opened.
fn one_per_deadline() -> Vec<(DeadlineKind, Scenario)> {
    vec![
        (DeadlineKind::ObtainConsent, Scenario::added()),
        (DeadlineKind::FirstSubmit, Scenario::consented()),
        (DeadlineKind::ReviewComplete, Scenario::under_review()),
        (DeadlineKind::Dispute, Scenario::rejected()),
        (DeadlineKind::DisputeReview, Scenario::rejected().dispute()),
    ]
}

// R-TIME-1

#[test]
fn r_time_1_nothing_in_the_core_reads_a_clock() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let forbidden = [
        "Utc::now",
        "Local::now",
        "SystemTime",
        "std::time::Instant",
        "Instant::now",
        "now_v7",
        "Timestamp::now",
        "thread_rng",
        "OsRng",
        "getrandom",
    ];
    let mut files = 0;
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        for (number, line) in text.lines().enumerate() {
            // Documentation examples may build ids the way a service does.
            if line.trim_start().starts_with("//") {
                continue;
            }
            for word in forbidden {
                assert!(
                    !line.contains(word),
                    "{}:{} reads a clock or randomness: {line}",
                    path.display(),
                    number + 1
                );
            }
        }
    }
    assert!(files > 10, "the sources were found");
}

#[test]
fn r_time_1_the_same_commands_at_the_same_instants_decide_the_same() {
    let run = || {
        let s = Scenario::rejected().dispute().start_review().approve();
        (s.nomination, s.events, s.messages)
    };
    assert_eq!(run(), run());
}

#[test]
fn r_time_1_instants_are_utc() {
    let s = Scenario::consented();
    let json = serde_json::to_value(s.last_event()).unwrap();
    let at = json["at"].as_str().unwrap();
    assert!(at.ends_with('Z'), "{at}");
    assert_eq!(s.last_event().at, t0() + TimeDelta::days(1));
}

// R-TIME-2

#[test]
fn r_time_2_a_deadline_is_the_start_plus_whole_24_hour_days() {
    // t0 is 2 March; the consent window crosses the end of March, when
    // local clocks in Europe change, and is still 30 × 24 hours.
    for (kind, s) in one_per_deadline() {
        let deadline = s.nomination.deadline().unwrap();
        assert_eq!(deadline.kind, kind);
        let n = &s.nomination;
        let (start, days) = match kind {
            DeadlineKind::ObtainConsent => (n.created_at(), 30),
            DeadlineKind::FirstSubmit => (n.consented_at().unwrap(), 90),
            DeadlineKind::ReviewComplete => (n.consented_at().unwrap(), 120),
            DeadlineKind::Dispute => (n.claim().rejected_at.unwrap(), 30),
            DeadlineKind::DisputeReview => (n.claim().disputed_at.unwrap(), 30),
        };
        assert_eq!(deadline.at - start, TimeDelta::hours(24 * days), "{kind:?}");
    }
}

#[test]
fn r_time_2_an_action_exactly_at_the_deadline_is_late() {
    for (kind, s) in one_per_deadline() {
        let deadline = s.nomination.deadline().unwrap().at;
        let just_before = s.clone().at(deadline - TimeDelta::nanoseconds(1));
        assert!(
            just_before
                .nomination
                .add_comment(just_before.now, &admin(), comment("in time"))
                .is_ok(),
            "{kind:?}"
        );
        let at = s.at(deadline);
        assert_eq!(
            at.refusal(|n, now| n.add_comment(now, &admin(), comment("late"))),
            Refusal::Lapsed {
                state: kind.lapses_into(),
                at: deadline
            },
            "{kind:?}"
        );
        assert_eq!(at.state(), kind.lapses_into());
    }
}

// R-TIME-3

#[test]
fn r_time_3_days_left_is_a_ceiling() {
    let s = Scenario::added();
    let deadline = s.nomination.deadline().unwrap();
    let left = |after: TimeDelta| deadline.days_left(t0() + after);
    assert_eq!(left(TimeDelta::zero()), 30);
    assert_eq!(left(TimeDelta::seconds(1)), 30);
    assert_eq!(left(TimeDelta::hours(23)), 30);
    assert_eq!(left(TimeDelta::days(1)), 29);
    assert_eq!(left(TimeDelta::days(1) + TimeDelta::nanoseconds(1)), 29);
    assert_eq!(left(TimeDelta::days(29) + TimeDelta::hours(23)), 1);
    assert_eq!(left(TimeDelta::days(30) - TimeDelta::nanoseconds(1)), 1);
    // The page shows the same number.
    let row = s
        .wait(TimeDelta::days(12) + TimeDelta::hours(6))
        .row()
        .unwrap();
    assert_eq!(row.status.days_left, Some(18));
    assert_eq!(row.status.deadline, Some(DeadlineKind::ObtainConsent));
}

#[test]
fn r_time_3_days_left_is_never_negative_and_0_means_lapsed() {
    let s = Scenario::consented();
    let deadline = s.nomination.deadline().unwrap();
    for late in [0, 1, 30, 10_000] {
        assert_eq!(deadline.days_left(deadline.at + TimeDelta::days(late)), 0);
        assert!(deadline.is_past(deadline.at + TimeDelta::days(late)));
    }
    assert_eq!(
        deadline.days_left(deadline.at - TimeDelta::nanoseconds(1)),
        1
    );
    assert!(!deadline.is_past(deadline.at - TimeDelta::nanoseconds(1)));
    assert_eq!(days_left(deadline.at, deadline.at), 0);
}

// R-TIME-4

#[test]
fn r_time_4_a_read_at_t_treats_what_is_past_its_deadline_as_lapsed() {
    for (kind, s) in one_per_deadline() {
        let deadline = s.nomination.deadline().unwrap().at;
        let stored = s.nomination.state();
        let later = s.at(deadline + TimeDelta::hours(5));
        // Nothing was written, yet every read sees the lapse.
        assert_eq!(later.nomination.state(), stored);
        assert_eq!(later.state(), kind.lapses_into());
        assert_eq!(
            later.nomination.due_lapse(later.now).map(|d| d.kind),
            Some(kind)
        );
        let row = later.row();
        match &row {
            Some(row) => {
                assert_eq!(row.status.state, kind.lapses_into());
                assert_eq!(row.status.days_left, None);
            }
            // Only a lapsed consent leaves the page.
            None => assert_eq!(kind, DeadlineKind::ObtainConsent),
        }
        assert_eq!(
            later.nomination.placement().tab_at(later.now),
            row.map(|r| r.tab)
        );
    }
}

#[test]
fn r_time_4_the_sweep_persists_the_same_lapse_with_its_event_and_notice() {
    for (kind, s) in one_per_deadline() {
        let deadline = s.nomination.deadline().unwrap().at;
        let now = deadline + TimeDelta::days(2);
        let lazy = s.nomination.at(now);
        let outcome = s.nomination.wake(now).unwrap().unwrap();
        assert_eq!(outcome.nomination, lazy, "{kind:?}");
        assert_eq!(outcome.event.from, Some(s.nomination.state()));
        assert_eq!(outcome.event.to, kind.lapses_into());
        assert_eq!(outcome.event.kind, EventKind::Lapsed { deadline });
        assert_eq!(outcome.event.version, s.nomination.version() + 1);
        assert_eq!(outcome.messages.len(), 1);
        assert_eq!(
            outcome.messages[0].kind,
            MessageKind::Lapsed {
                state: kind.lapses_into()
            }
        );
        assert_eq!(
            outcome.messages[0].to,
            s.nomination.partner_contacts().emails()
        );
        // Swept once is swept: nothing more to do, and the lazy read agrees.
        assert!(outcome.nomination.wake(now).unwrap().is_none());
        assert_eq!(outcome.nomination.at(now), outcome.nomination);
        assert_eq!(outcome.nomination.wake_at(), None);
    }
}

#[test]
fn r_time_4_nothing_lapses_before_the_deadline() {
    for (kind, s) in one_per_deadline() {
        let deadline = s.nomination.deadline().unwrap().at;
        let before = deadline - TimeDelta::nanoseconds(1);
        assert_eq!(s.nomination.at(before), s.nomination, "{kind:?}");
        assert_eq!(s.nomination.due_lapse(before), None);
        // The sweep may remind, but never lapses early.
        if let Some(outcome) = s.nomination.wake(before).unwrap() {
            assert_eq!(outcome.nomination.state(), s.nomination.state());
        }
        assert_eq!(s.nomination.placement().lapse_at, Some(deadline));
        assert_eq!(s.clone().at(before).state(), s.nomination.state());
    }
}
