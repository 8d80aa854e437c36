//! Settings: small named values an embedding application keeps in the
//! store beside its nominations, such as a demo clock's reading, so that
//! every server on one database and every restart read the same.
//!
//! A setting is a [`SettingKey`] and a [`SettingValue`], both validated
//! when they are made. [`Store::put_setting`](crate::Store::put_setting)
//! writes one atomically and durably, under a [`SettingCondition`]: always,
//! only if the key holds nothing yet, or only if it still holds what the
//! caller read (compare-and-set), so that two servers changing one setting
//! at once never lose a change.
//!
//! ```
//! use mci_store::{SettingCondition, SettingKey, SettingValue};
//!
//! let key: SettingKey = "demo.clock".parse()?;
//! let value = SettingValue::new("2026-03-02T09:00:00Z")?;
//! assert_eq!(key.as_str(), "demo.clock");
//! assert_eq!(value.as_str(), "2026-03-02T09:00:00Z");
//! // Write only if the stored value is still the one read.
//! let condition = SettingCondition::Equals(value.clone());
//! assert!(condition.admits(Some(&value)));
//! assert!(!condition.admits(None));
//!
//! let refused = SettingKey::new("Demo Clock").unwrap_err();
//! assert_eq!(refused.field(), "setting_key");
//! # Ok::<(), mci_core::InvalidValue>(())
//! ```

use mci_core::{InvalidValue, Problem};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The name of a setting: 1 to [`SettingKey::MAX_LEN`] characters of
/// lowercase ASCII letters, digits, `.`, `-` and `_`, starting with a
/// letter (`demo.clock`, `mci-examples.web.clock`). Name your
/// application's settings under a prefix of its own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SettingKey(String);

impl SettingKey {
    /// The most characters a key may have.
    pub const MAX_LEN: usize = 64;

    /// `key`, if it is a key's syntax; else a typed error naming the field
    /// `setting_key` (R-INPUT).
    pub fn new(key: impl Into<String>) -> Result<Self, InvalidValue> {
        let key = key.into();
        let field = "setting_key";
        if key.is_empty() {
            return Err(InvalidValue::new(field, Problem::Empty));
        }
        if key.len() > Self::MAX_LEN {
            return Err(InvalidValue::new(
                field,
                Problem::TooLong {
                    max: Self::MAX_LEN,
                    actual: key.len(),
                },
            ));
        }
        let starts_with_letter = key.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
        let allowed = key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !starts_with_letter || !allowed {
            return Err(InvalidValue::new(
                field,
                Problem::Syntax(
                    "a lowercase letter, then lowercase letters, digits, '.', '-' or '_'".into(),
                ),
            ));
        }
        Ok(Self(key))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SettingKey {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for SettingKey {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<SettingKey> for String {
    fn from(key: SettingKey) -> Self {
        key.0
    }
}

impl fmt::Display for SettingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The value of a setting: UTF-8 text of at most
/// [`SettingValue::MAX_BYTES`] bytes, without control characters other
/// than tab, line feed and carriage return (so that every store keeps it
/// exactly: PostgreSQL's text holds no NUL). The store keeps it opaque;
/// its form is the application's (an RFC 3339 instant, a number, JSON).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SettingValue(String);

impl SettingValue {
    /// The most bytes a value may have.
    pub const MAX_BYTES: usize = 4096;

    /// `value`, if it fits; else a typed error naming the field
    /// `setting_value` (R-INPUT). An empty value is a value.
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidValue> {
        let value = value.into();
        let field = "setting_value";
        if value.len() > Self::MAX_BYTES {
            return Err(InvalidValue::new(
                field,
                Problem::TooLong {
                    max: Self::MAX_BYTES,
                    actual: value.len(),
                },
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(InvalidValue::new(field, Problem::ControlCharacter));
        }
        Ok(Self(value))
    }

    /// The value as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SettingValue {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<SettingValue> for String {
    fn from(value: SettingValue) -> Self {
        value.0
    }
}

/// When [`Store::put_setting`](crate::Store::put_setting) may write: what
/// the key must hold at the instant of the write, checked and written in
/// one atomic step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingCondition {
    /// Whatever the key holds, or nothing: the last writer wins.
    Any,
    /// Only if the key holds nothing yet: the first writer wins.
    Absent,
    /// Only if the key still holds exactly this value, as the caller read
    /// it (compare-and-set): a writer that read a value another one has
    /// changed since is refused, reads again and decides again, so no
    /// change is lost.
    Equals(SettingValue),
}

impl SettingCondition {
    /// Whether a key holding `stored` admits the write: the comparison
    /// every adapter makes, here for adapters that make it in Rust.
    pub fn admits(&self, stored: Option<&SettingValue>) -> bool {
        match self {
            SettingCondition::Any => true,
            SettingCondition::Absent => stored.is_none(),
            SettingCondition::Equals(expected) => stored == Some(expected),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_lowercase_names_of_bounded_length() {
        assert!(SettingKey::new("a").is_ok());
        assert!(SettingKey::new("mci-examples.web.clock_2").is_ok());
        assert!(SettingKey::new("a".repeat(SettingKey::MAX_LEN)).is_ok());
        for bad in ["", "Clock", "1clock", ".clock", "demo clock", "démo", "a/b"] {
            let err = SettingKey::new(bad).unwrap_err();
            assert_eq!(err.field(), "setting_key", "{bad:?}");
        }
        let long = SettingKey::new("a".repeat(SettingKey::MAX_LEN + 1)).unwrap_err();
        assert!(matches!(
            long.problem(),
            Problem::TooLong {
                max: 64,
                actual: 65
            }
        ));
    }

    #[test]
    fn values_are_bounded_text_without_control_characters() {
        assert!(SettingValue::new("").is_ok());
        assert!(SettingValue::new("line\nline\ttab ünï").is_ok());
        assert!(SettingValue::new("x".repeat(SettingValue::MAX_BYTES)).is_ok());
        let long = SettingValue::new("é".repeat(SettingValue::MAX_BYTES / 2 + 1)).unwrap_err();
        assert_eq!(long.field(), "setting_value");
        assert!(matches!(long.problem(), Problem::TooLong { max: 4096, .. }));
        for bad in ["nul\0", "bell\u{7}", "del\u{7f}", "c1\u{85}"] {
            let err = SettingValue::new(bad).unwrap_err();
            assert_eq!(err.problem(), &Problem::ControlCharacter, "{bad:?}");
        }
    }

    #[test]
    fn a_condition_admits_what_it_names() {
        let one = SettingValue::new("1").unwrap();
        let two = SettingValue::new("2").unwrap();
        assert!(SettingCondition::Any.admits(None));
        assert!(SettingCondition::Any.admits(Some(&one)));
        assert!(SettingCondition::Absent.admits(None));
        assert!(!SettingCondition::Absent.admits(Some(&one)));
        assert!(SettingCondition::Equals(one.clone()).admits(Some(&one)));
        assert!(!SettingCondition::Equals(one.clone()).admits(Some(&two)));
        assert!(!SettingCondition::Equals(one).admits(None));
    }

    #[test]
    fn keys_and_values_deserialize_only_when_valid() {
        let key: SettingKey = serde_json::from_str("\"demo.clock\"").unwrap();
        assert_eq!(key.as_str(), "demo.clock");
        assert!(serde_json::from_str::<SettingKey>("\"Demo\"").is_err());
        assert!(serde_json::from_str::<SettingValue>("\"a\\u0000\"").is_err());
    }
}
