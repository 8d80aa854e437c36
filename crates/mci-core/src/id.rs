//! Identifiers: partners, engagements, users, reviewers, locations, nominations,
//! payout batches, and the five ways to name a customer (R-INPUT).
//!
//! Every identifier is valid by construction: it is made by parsing (`FromStr`,
//! `TryFrom<String>`, serde) or by a checked constructor, and each refusal is an
//! [`InvalidValue`] naming the field and the rule R-INPUT.
//!
//! ```
//! use mci_core::{LocationId, MsxOpportunityId, PartnerId, TenantId, Tpid};
//!
//! let partner: PartnerId = "contoso-partner_01".parse().unwrap();
//! assert_eq!(partner.as_str(), "contoso-partner_01");
//!
//! // A tenant id is accepted in any of its usual spellings and kept in one form.
//! let a: TenantId = "{72F988BF-86F1-41AF-91AB-2D7CD011DB47}".parse().unwrap();
//! let b: TenantId = "72f988bf86f141af91ab2d7cd011db47".parse().unwrap();
//! assert_eq!(a, b);
//! assert_eq!(a.to_string(), "72f988bf-86f1-41af-91ab-2d7cd011db47");
//!
//! assert_eq!("42".parse::<Tpid>().unwrap().get(), 42);
//! assert!("0".parse::<Tpid>().is_err());
//! assert!("1234a".parse::<LocationId>().is_err());
//! assert_eq!(
//!     "7-2npn5sbzxe".parse::<MsxOpportunityId>().unwrap().as_str(),
//!     "7-2NPN5SBZXE"
//! );
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::invalid::{InvalidValue, Problem};

/// Implements the string plumbing every validated value shares: serde goes
/// through `TryFrom<String>` (so deserialisation validates, R-INPUT) and
/// `From<T> for String` (the `Display` form).
macro_rules! string_conversions {
    ($ty:ty) => {
        impl TryFrom<String> for $ty {
            type Error = $crate::invalid::InvalidValue;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = $crate::invalid::InvalidValue;

            fn try_from(value: &str) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.to_string()
            }
        }
    };
}
pub(crate) use string_conversions;

/// Defines an opaque identifier: 1..=64 ASCII characters out of the
/// alphanumerics, `-`, `_`, `.` and the extra characters given, case kept.
macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, extra = $extra:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The name of the field this value is refused under by default.
            pub const FIELD: &'static str = $field;

            /// The identifier as given.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                check_opaque(Self::FIELD, s, $extra).map(|()| Self(s.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        string_conversions!($name);
    };
}

/// The longest opaque identifier, in ASCII characters.
const OPAQUE_MAX: usize = 64;

fn check_opaque(field: &'static str, s: &str, extra: &str) -> Result<(), InvalidValue> {
    if s.is_empty() {
        return Err(InvalidValue::new(field, Problem::Empty));
    }
    let length = s.chars().count();
    if length > OPAQUE_MAX {
        return Err(InvalidValue::new(
            field,
            Problem::TooLong {
                max: OPAQUE_MAX,
                actual: length,
            },
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(InvalidValue::new(field, Problem::ControlCharacter));
    }
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') || extra.contains(c);
    if !s.chars().all(allowed) {
        return Err(InvalidValue::new(
            field,
            Problem::Syntax(format!(
                "only ASCII letters, digits, '-', '_', '.'{} are allowed",
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(" and '{extra}'")
                }
            )),
        ));
    }
    Ok(())
}

opaque_id!(
    /// A partner organisation's id (R-INPUT): 1..=64 ASCII letters, digits,
    /// `-`, `_` or `.`, case kept. Every partner-side call acts for one (R-ROLE-2).
    PartnerId,
    "partner_id",
    extra = ""
);

opaque_id!(
    /// An engagement's id (R-INPUT): 1..=64 ASCII letters, digits, `-`, `_`
    /// or `.`, case kept.
    EngagementId,
    "engagement_id",
    extra = ""
);

opaque_id!(
    /// A partner user's id (R-INPUT): 1..=64 ASCII letters, digits, `-`, `_`,
    /// `.` or `@` (so a user principal name fits), case kept.
    UserId,
    "user_id",
    extra = "@"
);

opaque_id!(
    /// A program reviewer's id (R-INPUT): 1..=64 ASCII letters, digits, `-`,
    /// `_`, `.` or `@`, case kept.
    ReviewerId,
    "reviewer_id",
    extra = "@"
);

/// Refuses empty input and anything longer than `max` characters.
fn check_length(field: &'static str, s: &str, max: usize) -> Result<(), InvalidValue> {
    if s.is_empty() {
        return Err(InvalidValue::new(field, Problem::Empty));
    }
    let length = s.chars().count();
    if length > max {
        return Err(InvalidValue::new(
            field,
            Problem::TooLong {
                max,
                actual: length,
            },
        ));
    }
    Ok(())
}

/// Reads a string of ASCII digits (no sign, no spaces) as a number and checks
/// it lies in `min..=max`.
pub(crate) fn parse_decimal(
    field: &'static str,
    s: &str,
    min: u64,
    max: u64,
) -> Result<u64, InvalidValue> {
    if s.is_empty() {
        return Err(InvalidValue::new(field, Problem::Empty));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidValue::new(
            field,
            Problem::Syntax("only the ASCII digits 0-9 are allowed".to_owned()),
        ));
    }
    // Only digits remain, so the parse can fail on overflow alone.
    let value = s
        .parse::<u128>()
        .map_err(|_| InvalidValue::new(field, Problem::Overflow))?;
    check_range(field, value, min, max)
}

/// Checks `value` lies in `min..=max`.
pub(crate) fn check_range(
    field: &'static str,
    value: u128,
    min: u64,
    max: u64,
) -> Result<u64, InvalidValue> {
    match u64::try_from(value) {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => match i128::try_from(value) {
            Ok(actual) => Err(InvalidValue::new(
                field,
                Problem::OutOfRange {
                    min: i128::from(min),
                    max: i128::from(max),
                    actual,
                },
            )),
            Err(_) => Err(InvalidValue::new(field, Problem::Overflow)),
        },
    }
}

/// An MPN (Microsoft AI Cloud Partner Program) location id (R-INPUT): 1..=12
/// ASCII digits, kept exactly as given (leading zeros included).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocationId(String);

impl LocationId {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "location_id";
    /// The most digits a location id has.
    pub const MAX_DIGITS: usize = 12;

    /// The digits as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LocationId {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check_length(Self::FIELD, s, Self::MAX_DIGITS)?;
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new(
                Self::FIELD,
                Problem::Syntax("only the ASCII digits 0-9 are allowed".to_owned()),
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for LocationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for LocationId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

string_conversions!(LocationId);

/// Parses the hyphenated spelling of a UUID (36 characters, any letter case).
fn parse_hyphenated(field: &'static str, s: &str) -> Result<Uuid, InvalidValue> {
    if s.is_empty() {
        return Err(InvalidValue::new(field, Problem::Empty));
    }
    let syntax = || {
        InvalidValue::new(
            field,
            Problem::Syntax("expected a hyphenated UUID (8-4-4-4-12 hex digits)".to_owned()),
        )
    };
    // 36 bytes is the hyphenated spelling only: the simple one has 32, the
    // braced one 38, the URN one 45.
    if s.len() != 36 {
        return Err(syntax());
    }
    Uuid::try_parse(s).map_err(|_| syntax())
}

/// Defines an id made by the service as a UUID version 7 (time-ordered).
macro_rules! uuid_v7_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// The name of the field this value is refused under by default.
            pub const FIELD: &'static str = $field;

            /// Takes a UUID made by the service; refuses any but version 7 of
            /// the RFC 9562 variant (R-INPUT).
            pub fn from_uuid(uuid: Uuid) -> Result<Self, InvalidValue> {
                if uuid.get_variant() == uuid::Variant::RFC4122
                    && uuid.get_version() == Some(uuid::Version::SortRand)
                {
                    Ok(Self(uuid))
                } else {
                    Err(InvalidValue::new(
                        Self::FIELD,
                        Problem::Syntax(format!(
                            "expected a UUID version 7, got version {}",
                            uuid.get_version_num()
                        )),
                    ))
                }
            }

            /// A new id from the instant it is made, in milliseconds since
            /// the Unix epoch, and 10 random bytes: time-ordered, so inserts
            /// and keyset pages stay local.
            pub fn new_v7(unix_millis: u64, random: [u8; 10]) -> Self {
                Self(uuid::Builder::from_unix_timestamp_millis(unix_millis, &random).into_uuid())
            }

            /// The UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;

            /// Parses the hyphenated spelling, any letter case.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_uuid(parse_hyphenated(Self::FIELD, s)?)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl From<$name> for Uuid {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl TryFrom<Uuid> for $name {
            type Error = InvalidValue;

            fn try_from(value: Uuid) -> Result<Self, Self::Error> {
                Self::from_uuid(value)
            }
        }

        string_conversions!($name);
    };
}

uuid_v7_id!(
    /// A nomination's id (R-INPUT): a UUID version 7, made by the service (the
    /// core has no clock and no randomness); displayed lowercase hyphenated.
    NominationId,
    "nomination_id"
);

uuid_v7_id!(
    /// A payout batch's id (R-INPUT, R-CLAIM-W-9): a UUID version 7, made by
    /// the service; displayed lowercase hyphenated.
    PayoutBatchId,
    "payout_batch_id"
);

/// Parses a GUID in any usual spelling: hyphenated, 32 hex digits, braced, or
/// `urn:uuid:` and the hyphenated form; any letter case, prefix included.
fn parse_guid(field: &'static str, s: &str) -> Result<Uuid, InvalidValue> {
    let syntax = || {
        InvalidValue::new(
            field,
            Problem::Syntax("expected a GUID (32 hex digits)".to_owned()),
        )
    };
    // `Uuid` reads the URN prefix in lowercase only.
    let unprefixed = match (s.get(..9), s.get(9..)) {
        (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case("urn:uuid:") => {
            if rest.len() != 36 {
                return Err(syntax());
            }
            rest
        }
        _ => s,
    };
    Uuid::try_parse(unprefixed).map_err(|_| syntax())
}

/// Defines an id given by the outside world as a GUID.
macro_rules! guid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// The name of the field this value is refused under by default.
            pub const FIELD: &'static str = $field;

            /// Takes a GUID; refuses the nil GUID (R-INPUT).
            pub fn from_uuid(uuid: Uuid) -> Result<Self, InvalidValue> {
                if uuid.is_nil() {
                    Err(InvalidValue::new(
                        Self::FIELD,
                        Problem::Syntax("the nil GUID is not an id".to_owned()),
                    ))
                } else {
                    Ok(Self(uuid))
                }
            }

            /// The GUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;

            /// Parses a GUID in any usual spelling: hyphenated, 32 hex digits,
            /// braced `{...}` or `urn:uuid:...`, any letter case.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                if s.is_empty() {
                    return Err(InvalidValue::new(Self::FIELD, Problem::Empty));
                }
                let uuid = parse_guid(Self::FIELD, s)?;
                Self::from_uuid(uuid)
            }
        }

        impl fmt::Display for $name {
            /// The canonical form: lowercase, hyphenated.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl From<$name> for Uuid {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl TryFrom<Uuid> for $name {
            type Error = InvalidValue;

            fn try_from(value: Uuid) -> Result<Self, Self::Error> {
                Self::from_uuid(value)
            }
        }

        string_conversions!($name);
    };
}

guid_id!(
    /// A Microsoft Entra tenant id naming a customer (R-INPUT): a non-nil GUID,
    /// accepted in any usual spelling, kept and shown lowercase hyphenated.
    TenantId,
    "tenant_id"
);

guid_id!(
    /// An Azure subscription id naming a customer (R-INPUT): a non-nil GUID,
    /// accepted in any usual spelling, kept and shown lowercase hyphenated.
    AzureSubscriptionId,
    "azure_subscription_id"
);

/// A TPID, the top parent id grouping a customer's tenants (R-INPUT): a
/// positive integer, written in ASCII digits only (no sign, no spaces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tpid(u64);

impl Tpid {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "tpid";

    /// A TPID from its number; refuses 0 (R-INPUT).
    pub fn new(value: u64) -> Result<Self, InvalidValue> {
        check_range(Self::FIELD, u128::from(value), 1, u64::MAX).map(Self)
    }

    /// The number.
    pub fn get(&self) -> u64 {
        self.0
    }
}

impl FromStr for Tpid {
    type Err = InvalidValue;

    /// Parses ASCII digits; leading zeros are read as the same number.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_decimal(Self::FIELD, s, 1, u64::MAX).map(Self)
    }
}

impl fmt::Display for Tpid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl TryFrom<u64> for Tpid {
    type Error = InvalidValue;

    fn try_from(value: u64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

string_conversions!(Tpid);

/// An MSX opportunity id, the only customer id of variable-pay engagements
/// (R-INPUT, R-ENG-3): one ASCII digit, `-`, then 6..=16 ASCII letters or
/// digits, e.g. `7-2NPN5SBZXE`. Read in any letter case, kept uppercase.
///
/// Kept inline (at most 18 ASCII bytes), so the id is `Copy` like the other
/// customer ids.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MsxOpportunityId {
    /// The uppercase ASCII id, zero-padded; zero never occurs in an id, so the
    /// derived order is the order of the text.
    bytes: [u8; MSX_MAX_LENGTH],
    len: u8,
}

/// The longest MSX opportunity id: digit, `-`, 16 letters or digits.
const MSX_MAX_LENGTH: usize = 2 + MsxOpportunityId::MAX_TAIL;

impl MsxOpportunityId {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "msx_opportunity_id";
    /// The fewest letters and digits after the `-`.
    pub const MIN_TAIL: usize = 6;
    /// The most letters and digits after the `-`.
    pub const MAX_TAIL: usize = 16;

    /// The id, uppercase.
    pub fn as_str(&self) -> &str {
        self.bytes
            .get(..usize::from(self.len))
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }
}

impl FromStr for MsxOpportunityId {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check_length(Self::FIELD, s, MSX_MAX_LENGTH)?;
        let syntax = || {
            InvalidValue::new(
                Self::FIELD,
                Problem::Syntax(format!(
                    "expected a digit, '-', then {}..={} letters or digits (like 7-2NPN5SBZXE)",
                    Self::MIN_TAIL,
                    Self::MAX_TAIL
                )),
            )
        };
        let mut chars = s.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_digit())
            && chars.next() == Some('-')
            && (Self::MIN_TAIL..=Self::MAX_TAIL).contains(&chars.as_str().len())
            && chars.all(|c| c.is_ascii_alphanumeric());
        if !well_formed {
            return Err(syntax());
        }
        // Only ASCII remains, at most MSX_MAX_LENGTH bytes of it.
        let mut bytes = [0_u8; MSX_MAX_LENGTH];
        for (slot, b) in bytes.iter_mut().zip(s.bytes()) {
            *slot = b.to_ascii_uppercase();
        }
        let len = u8::try_from(s.len()).map_err(|_| syntax())?;
        Ok(Self { bytes, len })
    }
}

impl fmt::Display for MsxOpportunityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for MsxOpportunityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MsxOpportunityId")
            .field(&self.as_str())
            .finish()
    }
}

impl AsRef<str> for MsxOpportunityId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

string_conversions!(MsxOpportunityId);

#[cfg(test)]
mod tests {
    use super::*;

    fn v7() -> Uuid {
        uuid::Builder::from_unix_timestamp_millis(1_700_000_000_000, &[7; 10]).into_uuid()
    }

    #[test]
    fn r_input_opaque_ids_keep_case_and_allowed_characters() {
        let id: PartnerId = "Contoso.Partner-01_x".parse().unwrap();
        assert_eq!(id.as_str(), "Contoso.Partner-01_x");
        assert_eq!(id.to_string(), "Contoso.Partner-01_x");
        assert_ne!(id, "contoso.partner-01_x".parse::<PartnerId>().unwrap());
        assert!("a".parse::<EngagementId>().is_ok());
        assert!("a".repeat(64).parse::<EngagementId>().is_ok());
    }

    #[test]
    fn r_input_opaque_ids_refuse_empty_long_and_foreign_characters() {
        let err = "".parse::<PartnerId>().unwrap_err();
        assert_eq!(err.field(), "partner_id");
        assert_eq!(err.rule(), "R-INPUT");
        assert_eq!(err.problem(), &Problem::Empty);
        let err = "a".repeat(65).parse::<EngagementId>().unwrap_err();
        assert_eq!(err.field(), "engagement_id");
        assert_eq!(
            err.problem(),
            &Problem::TooLong {
                max: 64,
                actual: 65
            }
        );
        for bad in ["a b", "a/b", "é", "a\u{0}", "a@b", " a", "a\n"] {
            assert!(bad.parse::<PartnerId>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "a\tb".parse::<PartnerId>().unwrap_err().problem(),
            &Problem::ControlCharacter
        );
    }

    #[test]
    fn r_input_user_and_reviewer_ids_also_allow_at_sign() {
        let user: UserId = "ada@contoso.com".parse().unwrap();
        assert_eq!(user.as_ref(), "ada@contoso.com");
        let reviewer: ReviewerId = "rev@microsoft.com".parse().unwrap();
        assert_eq!(reviewer.to_string(), "rev@microsoft.com");
        assert_eq!("".parse::<UserId>().unwrap_err().field(), "user_id");
        assert_eq!(
            "a b".parse::<ReviewerId>().unwrap_err().field(),
            "reviewer_id"
        );
    }

    #[test]
    fn r_input_location_ids_are_digits_kept_as_given() {
        let id: LocationId = "000123".parse().unwrap();
        assert_eq!(id.as_str(), "000123");
        assert!("123456789012".parse::<LocationId>().is_ok());
        let err = "1234567890123".parse::<LocationId>().unwrap_err();
        assert_eq!(err.field(), "location_id");
        assert_eq!(
            err.problem(),
            &Problem::TooLong {
                max: 12,
                actual: 13
            }
        );
        for bad in ["", "12a", "-1", "+1", " 1", "١٢٣"] {
            assert!(bad.parse::<LocationId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn r_input_nomination_ids_must_be_uuid_v7() {
        let uuid = v7();
        let id = NominationId::from_uuid(uuid).unwrap();
        assert_eq!(id.as_uuid(), uuid);
        let parsed: NominationId = uuid.hyphenated().to_string().parse().unwrap();
        assert_eq!(parsed, id);
        let upper: NominationId = uuid
            .hyphenated()
            .to_string()
            .to_uppercase()
            .parse()
            .unwrap();
        assert_eq!(upper, id);
        assert_eq!(id.to_string(), uuid.hyphenated().to_string());

        let v4 = "9b2f6c5e-3d4a-4b7e-8f1a-2c3d4e5f6a7b";
        let err = v4.parse::<NominationId>().unwrap_err();
        assert_eq!(err.field(), "nomination_id");
        assert!(NominationId::from_uuid(Uuid::nil()).is_err());
        // Only the hyphenated spelling.
        assert!(uuid.simple().to_string().parse::<NominationId>().is_err());
        assert!(uuid.braced().to_string().parse::<NominationId>().is_err());
    }

    #[test]
    fn r_input_payout_batch_ids_must_be_uuid_v7() {
        let id = PayoutBatchId::from_uuid(v7()).unwrap();
        assert_eq!(id.to_string().parse::<PayoutBatchId>().unwrap(), id);
        let err = PayoutBatchId::from_uuid(Uuid::max()).unwrap_err();
        assert_eq!(err.field(), "payout_batch_id");
    }

    #[test]
    fn r_input_guids_accept_usual_spellings_and_display_one_form() {
        let canonical = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        for spelling in [
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
            "72f988bf86f141af91ab2d7cd011db47",
            "{72f988bf-86f1-41af-91ab-2d7cd011db47}",
            "urn:uuid:72F988BF-86F1-41AF-91AB-2D7CD011DB47",
            "URN:UUID:72f988bf-86f1-41af-91ab-2d7cd011db47",
        ] {
            let tenant: TenantId = spelling.parse().unwrap();
            assert_eq!(tenant.to_string(), canonical, "{spelling}");
            let sub: AzureSubscriptionId = spelling.parse().unwrap();
            assert_eq!(sub.to_string(), canonical, "{spelling}");
        }
    }

    #[test]
    fn r_input_guids_refuse_nil_and_garbage() {
        let err = "00000000-0000-0000-0000-000000000000"
            .parse::<TenantId>()
            .unwrap_err();
        assert_eq!(err.field(), "tenant_id");
        let err = "not-a-guid".parse::<AzureSubscriptionId>().unwrap_err();
        assert_eq!(err.field(), "azure_subscription_id");
        for bad in [
            "",
            " 72f988bf-86f1-41af-91ab-2d7cd011db47",
            "72f988bf-86f1-41af-91ab-2d7cd011db4",
            "urn:uuid:72f988bf86f141af91ab2d7cd011db47",
            "urn:uuid:{72f988bf-86f1-41af-91ab-2d7cd011db47}",
            "urn:uuid:",
        ] {
            assert!(bad.parse::<TenantId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn r_input_tpids_are_positive_integers() {
        assert_eq!("1".parse::<Tpid>().unwrap().get(), 1);
        assert_eq!("0042".parse::<Tpid>().unwrap().to_string(), "42");
        assert_eq!(
            u64::MAX.to_string().parse::<Tpid>().unwrap().get(),
            u64::MAX
        );
        let err = "0".parse::<Tpid>().unwrap_err();
        assert_eq!(err.field(), "tpid");
        assert!(matches!(
            err.problem(),
            Problem::OutOfRange {
                min: 1,
                actual: 0,
                ..
            }
        ));
        assert!(Tpid::new(0).is_err());
        assert_eq!(Tpid::new(7).unwrap().get(), 7);
    }

    #[test]
    fn r_input_tpids_refuse_signs_spaces_and_overflow() {
        for bad in ["", "-1", "+1", " 1", "1 ", "1.0", "1e3", "٣"] {
            assert!(bad.parse::<Tpid>().is_err(), "{bad:?}");
        }
        let err = "18446744073709551616".parse::<Tpid>().unwrap_err();
        assert!(matches!(err.problem(), Problem::OutOfRange { .. }));
        let err = "9".repeat(100).parse::<Tpid>().unwrap_err();
        assert_eq!(err.problem(), &Problem::Overflow);
    }

    #[test]
    fn r_input_msx_opportunity_ids_are_uppercased() {
        let id: MsxOpportunityId = "7-2npn5sbzxe".parse().unwrap();
        assert_eq!(id.as_str(), "7-2NPN5SBZXE");
        assert_eq!(id, "7-2NPN5SBZXE".parse().unwrap());
        assert!("1-ABCDEF".parse::<MsxOpportunityId>().is_ok());
        assert!("1-ABCDEFGHIJKLMNOP".parse::<MsxOpportunityId>().is_ok());
        assert_eq!(format!("{id:?}"), "MsxOpportunityId(\"7-2NPN5SBZXE\")");
    }

    #[test]
    fn r_input_msx_opportunity_ids_order_as_their_text() {
        let ids = ["7-ABCDEF", "7-ABCDEFG", "7-ABCDEF0", "1-ZZZZZZ", "7-ABCDEE"];
        let mut parsed: Vec<MsxOpportunityId> = ids.iter().map(|s| s.parse().unwrap()).collect();
        let mut texts: Vec<&str> = ids.to_vec();
        parsed.sort();
        texts.sort_unstable();
        let sorted: Vec<&str> = parsed.iter().map(MsxOpportunityId::as_str).collect();
        assert_eq!(sorted, texts);
        let copy = parsed[0];
        assert_eq!(copy, parsed[0]);
    }

    #[test]
    fn r_input_msx_opportunity_ids_refuse_other_shapes() {
        for bad in [
            "",
            "7-ABCDE",
            "7-ABCDEFGHIJKLMNOPQ",
            "A-ABCDEFG",
            "77-ABCDEFG",
            "7_ABCDEFG",
            "7-ABC-EFG",
            "7-ÄBCDEFG",
            "7-ABCDEF ",
        ] {
            let err = bad.parse::<MsxOpportunityId>().unwrap_err();
            assert_eq!(err.field(), "msx_opportunity_id", "{bad:?}");
        }
    }

    #[test]
    fn r_input_ids_deserialize_through_validation() {
        let id: PartnerId = serde_json::from_str("\"p-1\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"p-1\"");
        assert!(serde_json::from_str::<PartnerId>("\"p 1\"").is_err());
        assert!(serde_json::from_str::<Tpid>("\"0\"").is_err());
        let tpid: Tpid = serde_json::from_str("\"12\"").unwrap();
        assert_eq!(serde_json::to_string(&tpid).unwrap(), "\"12\"");
        let tenant: TenantId =
            serde_json::from_str("\"{72F988BF-86F1-41AF-91AB-2D7CD011DB47}\"").unwrap();
        assert_eq!(
            serde_json::to_string(&tenant).unwrap(),
            "\"72f988bf-86f1-41af-91ab-2d7cd011db47\""
        );
    }
}
