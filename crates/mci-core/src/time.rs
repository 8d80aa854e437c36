//! Instants, windows, deadlines and "days left" (R-TIME, R-INPUT).
//!
//! Nothing here reads a clock: every function takes the current instant as an
//! argument (R-TIME-1). A deadline is its start plus a whole number of 24-hour
//! days (R-TIME-2); an action exactly at the deadline is late.
//!
//! # The accepted range (R-INPUT)
//!
//! Instants are UTC to the microsecond: the service truncates its clock's
//! reading with [`truncate_to_micros`], and every store keeps exactly that
//! instant. An input instant must lie between [`EARLIEST_INSTANT`]
//! (1970-01-01) and [`LATEST_INSTANT`] (the last microsecond of 2200);
//! [`check_instant`] refuses any other with a typed [`InvalidValue`], never a
//! clamp. Every transition of the core checks its `now` this way, and the
//! engagement rules bound every window to ten years, so a deadline derived
//! from an accepted instant always fits in chrono and in every store: at
//! most 2210, at least 1960 for a reminder. Window arithmetic is checked
//! ([`Days::checked_after`], [`Days::checked_before`]) and never panics.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use mci_core::{Days, LATEST_INSTANT, check_instant, days_left, is_past};
//!
//! let added = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap();
//! let deadline = Days::new(30).checked_after(added).unwrap();
//! assert_eq!(days_left(deadline, added), 30);
//! assert_eq!(days_left(deadline, deadline - chrono::TimeDelta::seconds(1)), 1);
//! assert!(is_past(deadline, deadline)); // exactly at the deadline is late
//! assert_eq!(days_left(deadline, deadline), 0);
//!
//! assert!(check_instant("now", LATEST_INSTANT).is_ok());
//! let year_2263 = Utc.with_ymd_and_hms(2263, 1, 1, 0, 0, 0).unwrap();
//! assert_eq!(check_instant("now", year_2263).unwrap_err().rule(), "R-INPUT");
//! ```

use crate::invalid::{InvalidValue, Problem};
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An instant, always UTC (R-TIME-1), to the microsecond where it is an
/// input (R-INPUT).
pub type Instant = DateTime<Utc>;

/// The earliest instant an input may carry: 1970-01-01T00:00:00Z (R-INPUT).
pub const EARLIEST_INSTANT: Instant = DateTime::UNIX_EPOCH;

/// The latest instant an input may carry: 2200-12-31T23:59:59.999999Z, the
/// last microsecond of 2200 (R-INPUT).
pub const LATEST_INSTANT: Instant = DateTime::from_timestamp_nanos(7_289_654_399_999_999_000);

/// `at` if it lies in the accepted range, [`EARLIEST_INSTANT`] to
/// [`LATEST_INSTANT`] inclusive; otherwise the refusal of `field` under
/// R-INPUT ([`Problem::InstantOutOfRange`]). Nothing is clamped.
pub fn check_instant(field: &str, at: Instant) -> Result<Instant, InvalidValue> {
    if (EARLIEST_INSTANT..=LATEST_INSTANT).contains(&at) {
        Ok(at)
    } else {
        Err(InvalidValue::new(
            field,
            Problem::InstantOutOfRange {
                earliest: EARLIEST_INSTANT,
                latest: LATEST_INSTANT,
                actual: at,
            },
        ))
    }
}

/// `at` without its fraction of a microsecond: the latest whole microsecond
/// at or before it. What the service does to its clock's reading, so that
/// every store keeps exactly the instant the core decided at (R-INPUT).
pub fn truncate_to_micros(at: Instant) -> Instant {
    let nanos = at.nanosecond();
    // The nanosecond field is below 2 * 10^9, so the rounded value is a valid
    // one (a leap second keeps its leap).
    at.with_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

/// A window of whole days, each exactly 24 hours (R-TIME-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Days(u32);

impl Days {
    /// A window of `days` days.
    pub const fn new(days: u32) -> Self {
        Self(days)
    }

    /// The number of days.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Two windows end to end (saturating; windows are small numbers of days).
    #[must_use]
    pub const fn plus(self, other: Days) -> Days {
        Days(self.0.saturating_add(other.0))
    }

    /// The instant `self` days after `start` (R-TIME-2), or `None` if it
    /// would fall after the last instant chrono represents. Never clamps;
    /// from an accepted instant and a window the rules accept, it is always
    /// `Some` (R-INPUT).
    pub fn checked_after(self, start: Instant) -> Option<Instant> {
        start.checked_add_signed(TimeDelta::days(i64::from(self.0)))
    }

    /// The instant `self` days before `end`, or `None` if it would fall
    /// before the first instant chrono represents. Never clamps.
    pub fn checked_before(self, end: Instant) -> Option<Instant> {
        end.checked_sub_signed(TimeDelta::days(i64::from(self.0)))
    }
}

impl fmt::Display for Days {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 1 {
            f.write_str("1 day")
        } else {
            write!(f, "{} days", self.0)
        }
    }
}

/// Whether `deadline` has passed at `now`: an action exactly at the deadline
/// is late (R-TIME-2).
pub fn is_past(deadline: Instant, now: Instant) -> bool {
    now >= deadline
}

/// Whole or partial days from `now` until `deadline`, rounded up, never
/// negative; 0 exactly when the deadline has passed (R-TIME-3).
pub fn days_left(deadline: Instant, now: Instant) -> u32 {
    if is_past(deadline, now) {
        return 0;
    }
    let remaining = deadline.signed_duration_since(now);
    let whole = remaining.num_days();
    let days = if remaining > TimeDelta::days(whole) {
        whole.saturating_add(1)
    } else {
        whole
    };
    u32::try_from(days).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> Instant {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn r_time_2_a_window_is_whole_24_hour_days() {
        let deadline = Days::new(30).checked_after(t0()).unwrap();
        assert_eq!(deadline - t0(), TimeDelta::hours(30 * 24));
    }

    #[test]
    fn r_time_2_an_action_exactly_at_the_deadline_is_late() {
        let deadline = Days::new(30).checked_after(t0()).unwrap();
        assert!(is_past(deadline, deadline));
        assert!(!is_past(deadline, deadline - TimeDelta::nanoseconds(1)));
    }

    #[test]
    fn r_time_3_days_left_rounds_partial_days_up() {
        let deadline = Days::new(30).checked_after(t0()).unwrap();
        assert_eq!(days_left(deadline, t0()), 30);
        assert_eq!(days_left(deadline, t0() + TimeDelta::hours(1)), 30);
        assert_eq!(days_left(deadline, t0() + TimeDelta::days(1)), 29);
        assert_eq!(days_left(deadline, deadline - TimeDelta::nanoseconds(1)), 1);
    }

    #[test]
    fn r_time_3_days_left_is_zero_from_the_deadline_on() {
        let deadline = Days::new(30).checked_after(t0()).unwrap();
        assert_eq!(days_left(deadline, deadline), 0);
        assert_eq!(days_left(deadline, deadline + TimeDelta::days(400)), 0);
    }

    #[test]
    fn r_input_windows_past_the_end_of_time_are_none_not_clamped() {
        let latest = DateTime::<Utc>::MAX_UTC;
        assert_eq!(Days::new(30).checked_after(latest), None);
        assert_eq!(Days::new(30).checked_before(DateTime::<Utc>::MIN_UTC), None);
        // Days left over the whole of chrono's range neither panics nor wraps.
        let span = days_left(latest, DateTime::<Utc>::MIN_UTC);
        assert!(span > 190_000_000, "{span}");
    }

    #[test]
    fn r_input_the_latest_instant_is_the_last_microsecond_of_2200() {
        use chrono::TimeZone;
        let next_year = Utc.with_ymd_and_hms(2201, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(LATEST_INSTANT, next_year - TimeDelta::microseconds(1));
        assert_eq!(truncate_to_micros(LATEST_INSTANT), LATEST_INSTANT);
    }
}
