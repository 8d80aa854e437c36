//! The error every validated value returns when its input is refused (R-INPUT).
//!
//! ```
//! use mci_core::{EmailAddress, InvalidValue};
//!
//! let err: InvalidValue = "not an address".parse::<EmailAddress>().unwrap_err();
//! assert_eq!(err.field(), "email");
//! assert_eq!(err.rule(), "R-INPUT");
//! // A form can say which of its email fields was wrong.
//! assert_eq!(err.for_field("customer_email").field(), "customer_email");
//! ```

use std::fmt;

/// Why a value was refused.
///
/// Each variant is a case a caller can show or act on; the numbers in them are
/// the limits the input broke. `#[non_exhaustive]`: later checks add
/// problems, so a match outside this crate ends with a wildcard arm.
///
/// Its JSON form names the problem under `"problem"`, beside the variant's
/// fields; the words of [`Problem::Syntax`] and [`Problem::Mismatch`] go
/// under `"detail"`.
///
/// ```
/// use mci_core::Problem;
///
/// let syntax = Problem::Syntax("expected one @".into());
/// assert_eq!(
///     serde_json::to_value(&syntax).unwrap(),
///     serde_json::json!({"problem": "syntax", "detail": "expected one @"}),
/// );
/// assert_eq!(
///     serde_json::to_value(Problem::TooLong { max: 5, actual: 7 }).unwrap(),
///     serde_json::json!({"problem": "too_long", "max": 5, "actual": 7}),
/// );
/// let back: Problem = serde_json::from_value(serde_json::to_value(&syntax).unwrap()).unwrap();
/// assert_eq!(back, syntax);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
#[serde(into = "ProblemForm", from = "ProblemForm")]
pub enum Problem {
    /// Nothing (or only white space) was given.
    Empty,
    /// Longer than allowed.
    TooLong {
        /// The most allowed, in the unit the value is measured in (characters or bytes).
        max: usize,
        /// What was given.
        actual: usize,
    },
    /// A control character (newline excepted where the value allows it).
    ControlCharacter,
    /// A bidirectional control or an invisible character in text a person
    /// reads (names, comments, email addresses, domains, document names),
    /// where it has no place: it could make the value look like another.
    ///
    /// Refused are the characters of Unicode general category Cf (format):
    /// the bidirectional marks, embeddings, overrides and isolates (U+061C,
    /// U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) and the invisible
    /// characters such as U+00AD, U+200B, U+2060, U+FEFF and the tag
    /// characters. The zero-width non-joiner and joiner (U+200C, U+200D) are
    /// kept where IDNA's CONTEXTJ rules (RFC 5892, appendices A.1 and A.2)
    /// allow them in a domain, which is where Persian and Indic names need
    /// them:
    ///
    /// - either one right after a character of canonical combining class
    ///   Virama (as in Devanagari `"क्\u{200D}ष"`, or a Malayalam chillu
    ///   `"ന്\u{200D}"` at the end of a word);
    /// - a non-joiner between a left- or dual-joining letter and a right- or
    ///   dual-joining one, with only transparent characters (such as vowel
    ///   marks) between them and it (as in Persian `"می\u{200C}خواهم"`).
    ///
    /// So a joiner at the start, doubled, next to a space or punctuation, or
    /// between Latin letters (where it shows nothing) is refused.
    InvisibleCharacter {
        /// The character refused.
        character: char,
        /// Its index in the input as given, counted in characters from 0.
        position: usize,
    },
    /// Not of the value's syntax; the text says which part is wrong.
    Syntax(String),
    /// A number outside its range.
    OutOfRange {
        /// The smallest allowed.
        min: i128,
        /// The largest allowed.
        max: i128,
        /// What was given.
        actual: i128,
    },
    /// Arithmetic on the value would overflow its representation.
    Overflow,
    /// An instant outside the range inputs are accepted in (R-INPUT):
    /// [`EARLIEST_INSTANT`](crate::EARLIEST_INSTANT) to
    /// [`LATEST_INSTANT`](crate::LATEST_INSTANT).
    InstantOutOfRange {
        /// The earliest instant accepted.
        earliest: crate::Instant,
        /// The latest instant accepted.
        latest: crate::Instant,
        /// What was given.
        actual: crate::Instant,
    },
    /// Two values that must agree do not (for example two currencies).
    Mismatch(String),
}

/// The serde form of [`Problem`]: an internally tagged enum cannot hold
/// the bare string of a newtype variant, so the words of `Syntax` and
/// `Mismatch` go under `detail`; every other variant is as it was.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
enum ProblemForm {
    Empty,
    TooLong {
        max: usize,
        actual: usize,
    },
    ControlCharacter,
    InvisibleCharacter {
        character: char,
        position: usize,
    },
    Syntax {
        detail: String,
    },
    OutOfRange {
        min: i128,
        max: i128,
        actual: i128,
    },
    Overflow,
    InstantOutOfRange {
        earliest: crate::Instant,
        latest: crate::Instant,
        actual: crate::Instant,
    },
    Mismatch {
        detail: String,
    },
}

impl From<Problem> for ProblemForm {
    fn from(problem: Problem) -> Self {
        match problem {
            Problem::Empty => ProblemForm::Empty,
            Problem::TooLong { max, actual } => ProblemForm::TooLong { max, actual },
            Problem::ControlCharacter => ProblemForm::ControlCharacter,
            Problem::InvisibleCharacter {
                character,
                position,
            } => ProblemForm::InvisibleCharacter {
                character,
                position,
            },
            Problem::Syntax(detail) => ProblemForm::Syntax { detail },
            Problem::OutOfRange { min, max, actual } => {
                ProblemForm::OutOfRange { min, max, actual }
            }
            Problem::Overflow => ProblemForm::Overflow,
            Problem::InstantOutOfRange {
                earliest,
                latest,
                actual,
            } => ProblemForm::InstantOutOfRange {
                earliest,
                latest,
                actual,
            },
            Problem::Mismatch(detail) => ProblemForm::Mismatch { detail },
        }
    }
}

impl From<ProblemForm> for Problem {
    fn from(form: ProblemForm) -> Self {
        match form {
            ProblemForm::Empty => Problem::Empty,
            ProblemForm::TooLong { max, actual } => Problem::TooLong { max, actual },
            ProblemForm::ControlCharacter => Problem::ControlCharacter,
            ProblemForm::InvisibleCharacter {
                character,
                position,
            } => Problem::InvisibleCharacter {
                character,
                position,
            },
            ProblemForm::Syntax { detail } => Problem::Syntax(detail),
            ProblemForm::OutOfRange { min, max, actual } => {
                Problem::OutOfRange { min, max, actual }
            }
            ProblemForm::Overflow => Problem::Overflow,
            ProblemForm::InstantOutOfRange {
                earliest,
                latest,
                actual,
            } => Problem::InstantOutOfRange {
                earliest,
                latest,
                actual,
            },
            ProblemForm::Mismatch { detail } => Problem::Mismatch(detail),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Empty => f.write_str("is empty"),
            Problem::TooLong { max, actual } => write!(f, "is {actual} long, more than {max}"),
            Problem::ControlCharacter => f.write_str("contains a control character"),
            Problem::InvisibleCharacter {
                character,
                position,
            } => write!(
                f,
                "contains the invisible or bidirectional character U+{:04X} at position {position}",
                u32::from(*character)
            ),
            Problem::Syntax(what) => write!(f, "is malformed: {what}"),
            Problem::OutOfRange { min, max, actual } => {
                write!(f, "is {actual}, outside {min}..={max}")
            }
            Problem::Overflow => f.write_str("overflows"),
            Problem::InstantOutOfRange {
                earliest,
                latest,
                actual,
            } => write!(f, "is {actual}, outside {earliest}..={latest}"),
            Problem::Mismatch(what) => write!(f, "does not match: {what}"),
        }
    }
}

/// A refused input: which field, which rule, and what is wrong with it.
///
/// Every parser and constructor of a validated value returns this. The field
/// starts as the value's own name (`"email"`, `"tenant_id"`); a caller that
/// knows which form field the value came from renames it with
/// [`InvalidValue::for_field`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{field} {problem} ({rule})")]
pub struct InvalidValue {
    field: String,
    rule: String,
    #[serde(flatten)]
    problem: Problem,
}

impl InvalidValue {
    /// A refusal of `field` under R-INPUT.
    pub fn new(field: impl Into<String>, problem: Problem) -> Self {
        Self::under("R-INPUT", field, problem)
    }

    /// A refusal of `field` under another rule (for example `R-ADD-8` for hours).
    pub fn under(rule: impl Into<String>, field: impl Into<String>, problem: Problem) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
            problem,
        }
    }

    /// The same refusal, naming the field the caller knows the value by.
    #[must_use]
    pub fn for_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }

    /// The field that was refused.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The rule the input broke, as SPEC numbers it (`R-INPUT`, `R-ADD-8`...).
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// What is wrong with the input.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}
