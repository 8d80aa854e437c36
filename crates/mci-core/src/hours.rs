//! Hours a partner declares for a variable-pay engagement (R-INPUT, R-ADD-8).
//!
//! Whole hours only, at least 1, at most 10 000; an engagement's own, smaller
//! maximum is checked where the engagement is known.
//!
//! ```
//! use mci_core::Hours;
//!
//! let hours: Hours = "40".parse().unwrap();
//! assert_eq!(hours.get(), 40);
//! assert!("0".parse::<Hours>().is_err());
//! assert!("7.5".parse::<Hours>().is_err());
//! assert!(Hours::new(10_001).is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::id::{check_range, parse_decimal, string_conversions};
use crate::invalid::InvalidValue;

/// A number of whole hours, 1..=10 000 (R-INPUT, R-ADD-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hours(u32);

impl Hours {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "hours";
    /// The fewest hours.
    pub const MIN: u32 = 1;
    /// The most hours any engagement can take.
    pub const MAX: u32 = 10_000;

    /// Hours from a number; refuses values outside 1..=10 000
    /// (`Problem::OutOfRange`).
    pub fn new(hours: u32) -> Result<Self, InvalidValue> {
        let value = check_range(
            Self::FIELD,
            u128::from(hours),
            u64::from(Self::MIN),
            u64::from(Self::MAX),
        )?;
        Ok(Self(u32::try_from(value).unwrap_or(Self::MAX)))
    }

    /// The number of hours.
    pub fn get(&self) -> u32 {
        self.0
    }
}

impl FromStr for Hours {
    type Err = InvalidValue;

    /// Reads ASCII digits only (no sign, no spaces, no fraction).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value = parse_decimal(Self::FIELD, s, u64::from(Self::MIN), u64::from(Self::MAX))?;
        Ok(Self(u32::try_from(value).unwrap_or(Self::MAX)))
    }
}

impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl TryFrom<u32> for Hours {
    type Error = InvalidValue;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Hours> for u32 {
    fn from(value: Hours) -> Self {
        value.0
    }
}

string_conversions!(Hours);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invalid::Problem;

    #[test]
    fn r_add_8_hours_are_whole_and_in_range() {
        assert_eq!(Hours::new(1).unwrap().get(), 1);
        assert_eq!(Hours::new(10_000).unwrap().get(), 10_000);
        let err = Hours::new(0).unwrap_err();
        assert_eq!(err.field(), "hours");
        assert_eq!(err.rule(), "R-INPUT");
        assert_eq!(
            err.problem(),
            &Problem::OutOfRange {
                min: 1,
                max: 10_000,
                actual: 0
            }
        );
        assert!(matches!(
            Hours::new(10_001).unwrap_err().problem(),
            Problem::OutOfRange { actual: 10_001, .. }
        ));
    }

    #[test]
    fn r_input_hours_parse_digits_only() {
        assert_eq!("007".parse::<Hours>().unwrap().get(), 7);
        assert_eq!("10000".parse::<Hours>().unwrap().to_string(), "10000");
        for bad in ["", "-1", "+1", "1.5", " 1", "1 ", "1e2", "one", "٣"] {
            let err = bad.parse::<Hours>().unwrap_err();
            assert_eq!(err.field(), "hours", "{bad:?}");
        }
        assert!(matches!(
            "99999999999".parse::<Hours>().unwrap_err().problem(),
            Problem::OutOfRange { .. }
        ));
        assert_eq!(
            "9".repeat(80).parse::<Hours>().unwrap_err().problem(),
            &Problem::Overflow
        );
    }

    #[test]
    fn r_input_hours_deserialize_through_validation() {
        let hours: Hours = serde_json::from_str("\"8\"").unwrap();
        assert_eq!(serde_json::to_string(&hours).unwrap(), "\"8\"");
        assert!(serde_json::from_str::<Hours>("\"0\"").is_err());
    }
}
