//! Instants and durations at the service boundary (R-INPUT): the clock's
//! reading is truncated to the microsecond and checked against the accepted
//! range, leases and settings are checked, nothing clamps or panics, and a
//! refused call changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use chrono::{TimeDelta, TimeZone, Utc};
use common::*;
use mci_core::{
    Days, EARLIEST_INSTANT, Instant, LATEST_INSTANT, Problem, Refusal, truncate_to_micros,
};
use mci_engagements::{Error, OverviewFilter, Settings};

fn year(y: i32) -> Instant {
    Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).unwrap()
}

/// The field of a refused input, with its rule checked.
#[track_caller]
fn refused_field(error: &Error) -> String {
    match error {
        Error::Refused(Refusal::Invalid(invalid)) => {
            assert_eq!(invalid.rule(), "R-INPUT", "{invalid}");
            invalid.field().to_string()
        }
        other => panic!("expected an invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn r_input_a_clock_outside_1970_2200_is_a_typed_error() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    for at in [
        year(2263),
        year(9999),
        year(1600),
        LATEST_INSTANT + TimeDelta::microseconds(1),
        EARLIEST_INSTANT - TimeDelta::microseconds(1),
    ] {
        w.set(at);
        let form = w.form(&a, "it@customer2.example", subscription(2), &[&w.workshop]);
        let error = w.refused(w.service.add_customer(&a, &form)).await;
        assert_eq!(refused_field(&error), "clock", "{at}");
        let error = w
            .refused(w.service.send_consent(&a, &id, Default::default()))
            .await;
        assert_eq!(refused_field(&error), "clock");
        let error = w.refused(w.service.sweep()).await;
        assert_eq!(refused_field(&error), "clock");
        let error = w
            .refused(w.service.take_messages(TimeDelta::minutes(5), 10))
            .await;
        assert_eq!(refused_field(&error), "clock");
        let error = w
            .refused(w.service.customers_page(
                &a,
                w.workshop.id(),
                mci_core::Tab::Eligible,
                None,
                10,
            ))
            .await;
        assert_eq!(refused_field(&error), "clock");
        assert_matches!(w.service.now(), Err(Error::Refused(Refusal::Invalid(_))));
    }
    // Back in range, the same calls work.
    w.set(t0() + days(1));
    w.send_consent(&a, &id).await;
}

#[tokio::test]
async fn r_input_the_clock_is_truncated_to_the_microsecond() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let reading = t0() + TimeDelta::nanoseconds(123_456_789);
    w.set(reading);
    assert_eq!(
        w.service.now().unwrap(),
        t0() + TimeDelta::microseconds(123_456)
    );
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let stored = w.stored(&id);
    assert_eq!(stored.created_at(), truncate_to_micros(reading));
    assert_eq!(
        stored.deadline().unwrap().at,
        truncate_to_micros(reading) + days(30)
    );
    // The latest instant is a reading the service accepts as it is.
    w.set(LATEST_INSTANT + TimeDelta::nanoseconds(999));
    assert_eq!(w.service.now().unwrap(), LATEST_INSTANT);
}

#[tokio::test]
async fn r_input_take_messages_with_a_huge_lease_is_a_typed_error() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    w.send_consent(&a, &id).await;
    for lease in [
        TimeDelta::MAX,
        TimeDelta::days(200_000_000),
        TimeDelta::MIN,
        TimeDelta::zero(),
        TimeDelta::seconds(-1),
        TimeDelta::nanoseconds(999),
    ] {
        let error = w.refused(w.service.take_messages(lease, 10)).await;
        assert_eq!(refused_field(&error), "lease", "{lease}");
        let Error::Refused(Refusal::Invalid(invalid)) = &error else {
            unreachable!()
        };
        assert_matches!(invalid.problem(), Problem::OutOfRange { min: 1, .. });
    }
    // The message is still pending: the refused calls took nothing.
    let taken = w
        .service
        .take_messages(TimeDelta::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].attempt, 1);
}

#[tokio::test]
async fn r_input_a_long_lease_within_range_is_kept_to_the_microsecond() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    w.send_consent(&a, &id).await;
    // A lease of a thousand years ends past 2262, where nanosecond columns
    // could not go; a store keeps it exactly.
    let lease = TimeDelta::days(365_000) + TimeDelta::nanoseconds(1_500);
    assert_eq!(w.service.take_messages(lease, 10).await.unwrap().len(), 1);
    let until = truncate_to_micros(t0() + lease);
    // A clock reading there is out of range, so the store is asked
    // directly.
    let store = w.service.store();
    let early = until - TimeDelta::microseconds(1);
    assert!(
        store
            .take_messages(early, early + days(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .take_messages(until, until + days(1), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
}

#[tokio::test]
async fn r_input_the_manual_clock_refuses_to_move_past_the_end_of_time() {
    let w = World::new();
    let error = w.clock.advance(TimeDelta::MAX).unwrap_err();
    assert_eq!(error.field(), "delta");
    assert_eq!(error.problem(), &Problem::Overflow);
    assert_eq!(w.service.now().unwrap(), t0(), "the clock stayed");
    assert!(w.clock.advance(TimeDelta::MIN).is_err());
    assert_eq!(w.clock.advance(days(2)).unwrap(), t0() + days(2));
    assert_eq!(w.clock.advance(-days(1)).unwrap(), t0() + days(1));
}

#[tokio::test]
async fn r_input_settings_that_overflow_are_typed_errors() {
    let a = admin(PARTNER_A);
    let w = World::with_settings(Settings {
        action_horizon: Days::new(u32::MAX),
        ..Settings::default()
    });
    let error = w
        .refused(w.service.overview(&a, &OverviewFilter::default()))
        .await;
    assert_eq!(refused_field(&error), "action_horizon");

    let w = World::with_settings(Settings {
        payout_period: Days::new(0),
        ..Settings::default()
    });
    w.approved_subscription(&a, 1, &w.workshop).await;
    let error = w.refused(w.service.run_payout(reviewer(), 10)).await;
    assert_eq!(refused_field(&error), "payout_period");

    let w = World::with_settings(Settings {
        payout_epoch: year(1600),
        ..Settings::default()
    });
    let error = w.refused(w.service.run_payout(reviewer(), 10)).await;
    assert_eq!(refused_field(&error), "payout_epoch");
}
