//! One nomination's row on the Customers page and its placement
//! (R-PAGE-2, -3, -5, -6, -7, -8), and the known-customer rows (R-PAGE-2, -4).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use chrono::TimeDelta;
use mci_core::{
    Action, CustomerStanding, DeadlineKind, Ineligibility, Instant, KeptAnswer, KnownCustomer,
    KnownCustomerRow, RowType, Standing, State, Tab, known_placement,
};
use mci_testkit::*;

/// SPEC "The states": the tab and Type of a row in each state, `None` when
/// it does not show.
fn expected_row(state: State, consented: bool) -> Option<(Tab, RowType)> {
    use State::*;
    match state {
        CustomerClaimed | AwaitingConsent => Some((Tab::Eligible, RowType::NotStarted)),
        ConsentDeclined | ConsentExpired => None,
        Consented | Submitted | UnderReview | PartnerActionRequired | Rejected | Disputed => {
            Some((Tab::Eligible, RowType::Active))
        }
        Approved
        | Paid
        | RejectedFinal
        | NotSubmittedExpired
        | PostSubmissionExpired
        | DisputeExpired => Some((Tab::Complete, RowType::Active)),
        Cancelled if consented => Some((Tab::Complete, RowType::Active)),
        Cancelled => None,
    }
}

/// R-PAGE-8: what can be done on a row in each state.
fn expected_actions(state: State) -> BTreeSet<Action> {
    use Action::*;
    let actions: &[Action] = match state {
        State::CustomerClaimed => &[SendConsentEmail, Cancel],
        State::AwaitingConsent => &[ResendConsentEmail, Cancel],
        State::Consented => &[SubmitWorkshopClaim, Cancel, ViewWorkshopClaim],
        State::PartnerActionRequired => &[AnswerReviewer, ViewWorkshopClaim],
        State::Rejected => &[Dispute, ViewWorkshopClaim],
        State::ConsentDeclined | State::ConsentExpired => &[],
        _ => &[ViewWorkshopClaim],
    };
    actions.iter().copied().collect()
}

#[test]
fn r_page_2_the_type_column_is_not_started_until_consent_then_active() {
    let s = Scenario::added();
    assert_eq!(s.row().unwrap().row_type, RowType::NotStarted);
    let s = s.then(|n, now| n.send_consent(now, &admin(), Default::default(), &link(1)));
    assert_eq!(s.row().unwrap().row_type, RowType::NotStarted);
    assert_eq!(RowType::NotStarted.to_string(), "not started");
    let s = s
        .wait_days(2)
        .then_step(|n, now| n.accept_consent(now, &token(1)));
    let row = s.row().unwrap();
    assert_eq!(row.row_type, RowType::Active);
    assert_eq!(row.tab, Tab::Eligible);
    assert_eq!(RowType::Active.to_string(), "active");
}

#[test]
fn r_page_2_5_6_every_state_shows_in_the_tab_of_the_state_table() {
    for (name, s) in Scenario::in_every_state() {
        let state = s.nomination.state();
        let consented = s.nomination.consented_at().is_some();
        let expected = expected_row(state, consented);
        let row = s.row();
        assert_eq!(
            row.as_ref().map(|r| (r.tab, r.row_type)),
            expected,
            "{name}"
        );
        assert_eq!(s.nomination.tab(), expected.map(|(tab, _)| tab), "{name}");
        assert_eq!(
            s.nomination.placement().tab_at(s.now),
            expected.map(|(tab, _)| tab),
            "{name}"
        );
        if let Some(row) = row {
            assert_eq!(row.status.state, state, "{name}");
            assert_eq!(row.nomination, *s.nomination.id(), "{name}");
            assert_eq!(row.customer, *s.nomination.customer().id(), "{name}");
            assert_eq!(row.friendly_name, *s.nomination.friendly_name(), "{name}");
        }
    }
}

#[test]
fn r_page_3_days_left_to_obtain_consent_then_to_submit_the_claim() {
    let s = Scenario::added().wait_days(4);
    let status = s.row().unwrap().status;
    assert_eq!(status.deadline, Some(DeadlineKind::ObtainConsent));
    assert_eq!(status.days_left, Some(26));

    let s = Scenario::consented().wait(TimeDelta::days(10) + TimeDelta::hours(1));
    let status = s.row().unwrap().status;
    assert_eq!(status.deadline, Some(DeadlineKind::FirstSubmit));
    assert_eq!(status.days_left, Some(80));
    assert_eq!(
        DeadlineKind::FirstSubmit.to_string(),
        "to submit the workshop claim"
    );
}

#[test]
fn r_page_3_days_left_counts_down_to_the_lapse() {
    let s = Scenario::consented();
    let deadline = s.nomination.deadline().unwrap().at;
    let mut previous = u32::MAX;
    let mut now = s.now;
    while now < deadline {
        let left = s
            .nomination
            .page_row(now)
            .unwrap()
            .status
            .days_left
            .unwrap();
        assert!(left <= previous && left >= 1, "{now}: {left}");
        previous = left;
        now += TimeDelta::hours(7);
    }
    let row = s.nomination.page_row(deadline).unwrap();
    assert_eq!(row.status.state, State::NotSubmittedExpired);
    assert_eq!(row.status.days_left, None);
}

#[test]
fn r_page_5_complete_shows_every_terminal_state_after_consent_with_its_claim_id() {
    let complete: Vec<(&str, Scenario)> = Scenario::in_every_state()
        .into_iter()
        .filter(|(_, s)| s.row().is_some_and(|r| r.tab == Tab::Complete))
        .collect();
    let names: Vec<&str> = complete.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        vec![
            "approved",
            "paid",
            "rejected final after a dispute",
            "rejected final, not disputed",
            "not submitted expired",
            "post-submission expired",
            "dispute expired",
            "cancelled after consent",
        ]
    );
    for (name, s) in complete {
        assert!(s.state().is_terminal(), "{name}");
        assert!(s.nomination.consented_at().is_some(), "{name}");
        let row = s.row().unwrap();
        assert_eq!(row.nomination, *s.nomination.id(), "{name}");
        assert!(row.actions.contains(&Action::ViewWorkshopClaim), "{name}");
    }
}

#[test]
fn r_page_6_declined_lapsed_or_cancelled_before_consent_leave_the_page_but_are_kept() {
    let hidden: Vec<(&str, Scenario)> = Scenario::in_every_state()
        .into_iter()
        .filter(|(_, s)| s.row().is_none())
        .collect();
    let names: Vec<&str> = hidden.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        vec![
            "consent declined",
            "consent expired",
            "cancelled before consent"
        ]
    );
    for (name, s) in hidden {
        // Kept with its history: the record is whole and readable.
        assert!(s.events.len() >= 2, "{name}");
        assert_eq!(s.nomination.version(), s.events.len() as u64, "{name}");
        assert_eq!(s.nomination.placement().tab, None, "{name}");
        assert!(s.nomination.actions(s.now).is_empty(), "{name}");
        // It stays hidden.
        assert_eq!(s.nomination.page_row(s.now + TimeDelta::days(500)), None);
    }
}

#[test]
fn r_page_7_the_page_read_at_t_is_the_same_swept_or_not() {
    for (name, s) in Scenario::in_every_state() {
        let mut swept = s.clone();
        for days in [0, 1, 7, 20, 29, 30, 31, 60, 89, 90, 91, 120, 150, 200] {
            let t = s.now + TimeDelta::days(days);
            swept = swept.at(t).sweep();
            let lazy = s.nomination.page_row(t);
            assert_eq!(swept.nomination.page_row(t), lazy, "{name} at +{days}d");
            assert_eq!(
                swept.nomination.placement().tab_at(t),
                lazy.as_ref().map(|r| r.tab),
                "{name} at +{days}d"
            );
            assert_eq!(
                s.nomination.placement().tab_at(t),
                lazy.as_ref().map(|r| r.tab),
                "{name} at +{days}d"
            );
            assert_eq!(
                swept.nomination.at(t).state(),
                s.nomination.at(t).state(),
                "{name} at +{days}d"
            );
        }
    }
}

#[test]
fn r_page_7_the_placement_of_a_nomination_awaiting_consent() {
    let s = Scenario::added();
    let placement = s.nomination.placement();
    let deadline = t0() + TimeDelta::days(30);
    assert_eq!(placement.tab, Some(Tab::Eligible));
    assert_eq!(placement.lapse_at, Some(deadline));
    assert_eq!(placement.tab_after_lapse, None);
    assert_eq!(
        placement.tab_at(deadline - TimeDelta::nanoseconds(1)),
        Some(Tab::Eligible)
    );
    assert_eq!(placement.tab_at(deadline), None);

    let consented = Scenario::consented().nomination.placement();
    assert_eq!(consented.tab, Some(Tab::Eligible));
    assert_eq!(consented.tab_after_lapse, Some(Tab::Complete));
}

#[test]
fn r_page_8_the_actions_of_each_state() {
    for (name, s) in Scenario::in_every_state() {
        let state = s.nomination.state();
        let actions: BTreeSet<Action> = s.nomination.actions(s.now).into_iter().collect();
        let expected = if s.row().is_none() {
            BTreeSet::new()
        } else {
            expected_actions(state)
        };
        assert_eq!(actions, expected, "{name}");
        if let Some(row) = s.row() {
            assert_eq!(row.actions, s.nomination.actions(s.now), "{name}");
        }
    }
}

#[test]
fn r_page_8_actions_follow_the_state_at_the_instant_read() {
    // Awaiting consent: resend and cancel; at the deadline nothing is left.
    let s = Scenario::added();
    let deadline = s.nomination.deadline().unwrap().at;
    assert!(
        !s.nomination
            .actions(deadline - TimeDelta::seconds(1))
            .is_empty()
    );
    assert!(s.nomination.actions(deadline).is_empty());
    // Rejected: dispute until the window closes, then only view.
    let s = Scenario::rejected();
    let closes = s.nomination.deadline().unwrap().at;
    assert!(
        s.nomination
            .actions(closes - TimeDelta::seconds(1))
            .contains(&Action::Dispute)
    );
    assert_eq!(
        s.nomination.actions(closes),
        vec![Action::ViewWorkshopClaim]
    );
}

/// A kept answer of the eligibility source about the known customer,
/// trusted for a day.
fn kept(workshop: &mci_core::Engagement, now: Instant, answer: &CustomerStanding) -> KeptAnswer {
    KeptAnswer::new(
        workshop,
        mci_core::CustomerIdType::Domain,
        answer,
        now,
        now + TimeDelta::days(1),
    )
}

#[test]
fn r_page_2_4_8_a_known_customer_is_claimable_or_ineligible_with_its_reasons() {
    let (workshop, now) = workshop();
    let earlier = Scenario::consented().nomination;
    let known = KnownCustomer {
        customer: earlier.customer().clone(),
        through: *earlier.id(),
    };
    let me = partner(1);
    let eligible = kept(&workshop, now, &CustomerStanding::Eligible);
    let claimable = KnownCustomerRow::placed(
        known.clone(),
        &known_placement(&me, Some(&eligible), &[], now),
    )
    .unwrap();
    assert_eq!(claimable.tab(), Tab::Eligible);
    assert!(claimable.checked);
    assert_eq!(claimable.actions(), vec![Action::ClaimCustomer]);

    let rival = Standing {
        live: true,
        holds_consent: true,
        completed: false,
        asking: false,
        until: Some(now + TimeDelta::days(60)),
    };
    let refused = kept(
        &workshop,
        now,
        &CustomerStanding::Ineligible("no Azure consumption".into()),
    );
    let ineligible = KnownCustomerRow::placed(
        known.clone(),
        &known_placement(&me, Some(&refused), &[(partner(2), rival)], now),
    )
    .unwrap();
    assert_eq!(ineligible.tab(), Tab::Ineligible);
    assert!(ineligible.actions().is_empty());
    for reason in [
        Ineligibility::ConsentedToAnotherPartner,
        Ineligibility::CustomerIneligible {
            reason: "no Azure consumption".into(),
        },
        Ineligibility::ActiveLimitReached { limit: 1 },
    ] {
        assert!(ineligible.reasons.contains(&reason), "{reason:?}");
    }

    // Once the partner nominates it, the nomination's own row shows instead.
    let mine = Scenario::added().nomination.standing();
    assert_eq!(
        KnownCustomerRow::placed(
            known,
            &known_placement(&me, Some(&eligible), &[(me.clone(), mine)], now)
        ),
        None
    );
}

#[test]
fn r_page_9_a_known_customer_without_a_trusted_answer_is_eligible_and_not_checked() {
    let (workshop, now) = workshop();
    let earlier = Scenario::consented().nomination;
    let known = KnownCustomer {
        customer: earlier.customer().clone(),
        through: *earlier.id(),
    };
    let me = partner(1);
    let never =
        KnownCustomerRow::placed(known.clone(), &known_placement(&me, None, &[], now)).unwrap();
    assert_eq!((never.tab(), never.checked), (Tab::Eligible, false));
    assert_eq!(never.actions(), vec![Action::ClaimCustomer]);
    let refused = kept(
        &workshop,
        now,
        &CustomerStanding::Ineligible("small".into()),
    );
    let old = known_placement(&me, Some(&refused), &[], refused.trusted_until);
    let row = KnownCustomerRow::placed(known, &old).unwrap();
    assert_eq!((row.tab(), row.checked), (Tab::Eligible, false));
}

#[test]
fn r_page_4_completed_with_another_partner_is_a_reason() {
    let (workshop, now) = workshop();
    let earlier = Scenario::consented().nomination;
    let known = KnownCustomer {
        customer: earlier.customer().clone(),
        through: *earlier.id(),
    };
    let completed = Scenario::approved().nomination.standing();
    let answer = kept(&workshop, now, &CustomerStanding::Eligible);
    let row = KnownCustomerRow::placed(
        known,
        &known_placement(&partner(1), Some(&answer), &[(partner(2), completed)], now),
    )
    .unwrap();
    assert_eq!(
        row.reasons,
        vec![Ineligibility::CompletedWithAnotherPartner]
    );
    assert_eq!(
        row.reasons[0].to_string(),
        "already completed this engagement with another partner"
    );
}

#[test]
fn r_page_1_tab_codes_round_trip() {
    for tab in [
        None,
        Some(Tab::Eligible),
        Some(Tab::Ineligible),
        Some(Tab::Complete),
    ] {
        assert_eq!(Tab::from_code(Tab::code(tab)), tab);
    }
}
