//! Windows, deadlines and "days left" (R-TIME).
//!
//! Nothing here reads a clock: every function takes the current instant as an
//! argument (R-TIME-1). A deadline is its start plus a whole number of 24-hour
//! days (R-TIME-2); an action exactly at the deadline is late.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use mci_core::{Days, days_left, is_past};
//!
//! let added = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap();
//! let deadline = Days::new(30).after(added);
//! assert_eq!(days_left(deadline, added), 30);
//! assert_eq!(days_left(deadline, deadline - chrono::TimeDelta::seconds(1)), 1);
//! assert!(is_past(deadline, deadline)); // exactly at the deadline is late
//! assert_eq!(days_left(deadline, deadline), 0);
//! ```

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An instant, always UTC (R-TIME-1).
pub type Instant = DateTime<Utc>;

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

    /// The instant `self` days after `start` (R-TIME-2). Saturates at the
    /// latest instant chrono can represent rather than overflowing.
    pub fn after(self, start: Instant) -> Instant {
        start
            .checked_add_signed(TimeDelta::days(i64::from(self.0)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The instant `self` days before `end` (saturating at the earliest instant).
    pub fn before(self, end: Instant) -> Instant {
        end.checked_sub_signed(TimeDelta::days(i64::from(self.0)))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
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
        let deadline = Days::new(30).after(t0());
        assert_eq!(deadline - t0(), TimeDelta::hours(30 * 24));
    }

    #[test]
    fn r_time_2_an_action_exactly_at_the_deadline_is_late() {
        let deadline = Days::new(30).after(t0());
        assert!(is_past(deadline, deadline));
        assert!(!is_past(deadline, deadline - TimeDelta::nanoseconds(1)));
    }

    #[test]
    fn r_time_3_days_left_rounds_partial_days_up() {
        let deadline = Days::new(30).after(t0());
        assert_eq!(days_left(deadline, t0()), 30);
        assert_eq!(days_left(deadline, t0() + TimeDelta::hours(1)), 30);
        assert_eq!(days_left(deadline, t0() + TimeDelta::days(1)), 29);
        assert_eq!(days_left(deadline, deadline - TimeDelta::nanoseconds(1)), 1);
    }

    #[test]
    fn r_time_3_days_left_is_zero_from_the_deadline_on() {
        let deadline = Days::new(30).after(t0());
        assert_eq!(days_left(deadline, deadline), 0);
        assert_eq!(days_left(deadline, deadline + TimeDelta::days(400)), 0);
    }

    #[test]
    fn r_time_2_windows_saturate_instead_of_overflowing() {
        let latest = DateTime::<Utc>::MAX_UTC;
        assert_eq!(Days::new(30).after(latest), latest);
        let span = days_left(latest, DateTime::<Utc>::MIN_UTC);
        assert!(span > 190_000_000, "{span}");
    }
}
