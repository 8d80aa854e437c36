//! Free text typed by people: friendly names, contact names, comments and
//! solution areas (R-INPUT).
//!
//! Surrounding white space is trimmed; lengths count Unicode scalar values
//! (`char`s) of the trimmed text; control characters are refused (a comment
//! may hold newlines and tabs).
//!
//! ```
//! use mci_core::{Comment, FriendlyName};
//!
//! let name: FriendlyName = "  Contoso Hospital  ".parse().unwrap();
//! assert_eq!(name.as_str(), "Contoso Hospital");
//! assert!("   ".parse::<FriendlyName>().is_err());
//! assert!("Contoso\tHospital".parse::<FriendlyName>().is_err());
//!
//! let comment: Comment = "Workshop held on site.\r\nSee the invoice.".parse().unwrap();
//! assert_eq!(comment.as_str(), "Workshop held on site.\nSee the invoice.");
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::id::string_conversions;
use crate::invalid::{InvalidValue, Problem};

/// The rules one kind of free text follows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextRules {
    /// The field refused under.
    pub(crate) field: &'static str,
    /// The most characters after trimming.
    pub(crate) max_chars: usize,
    /// Whether newlines and tabs are allowed (CR LF is read as LF).
    pub(crate) multiline: bool,
}

/// Whether `c` is refused as a control character: the C0 and C1 controls, the
/// line and paragraph separators, and the bidirectional embeddings, overrides
/// and isolates (U+202A..U+202E, U+2066..U+2069), which can make shown text
/// read differently from what it holds.
pub(crate) fn is_refused_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl TextRules {
    /// Checks `input` and returns the text to keep (trimmed; for multi-line
    /// text, CR LF turned into LF).
    pub(crate) fn check(self, input: &str) -> Result<String, InvalidValue> {
        let refuse = |problem| InvalidValue::new(self.field, problem);
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(refuse(Problem::Empty));
        }
        let text = if self.multiline {
            trimmed.replace("\r\n", "\n")
        } else {
            trimmed.to_owned()
        };
        let allowed_control = |c: char| self.multiline && matches!(c, '\n' | '\t');
        if text
            .chars()
            .any(|c| is_refused_control(c) && !allowed_control(c))
        {
            return Err(refuse(Problem::ControlCharacter));
        }
        let length = text.chars().count();
        if length > self.max_chars {
            return Err(refuse(Problem::TooLong {
                max: self.max_chars,
                actual: length,
            }));
        }
        Ok(text)
    }
}

/// Defines a free-text value following the given [`TextRules`].
macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, field = $field:literal, max = $max:literal, multiline = $multiline:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The name of the field this value is refused under by default.
            pub const FIELD: &'static str = $field;
            /// The most characters allowed, after trimming.
            pub const MAX_CHARS: usize = $max;
            const RULES: TextRules = TextRules {
                field: $field,
                max_chars: $max,
                multiline: $multiline,
            };

            /// The text as kept (trimmed).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::RULES.check(s).map(Self)
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

text_value!(
    /// The partner's name for a nomination (R-INPUT, R-ADD-1): 1..=100
    /// characters after trimming, no control characters.
    FriendlyName,
    field = "friendly_name",
    max = 100,
    multiline = false
);

text_value!(
    /// A contact person's name (R-INPUT): 1..=100 characters after trimming,
    /// no control characters.
    ContactName,
    field = "contact_name",
    max = 100,
    multiline = false
);

text_value!(
    /// A comment for the reviewer, or a reason (R-INPUT, R-CLAIM-W-5): 1..=2000
    /// characters after trimming; newlines and tabs allowed (CR LF is kept as
    /// LF), no other control characters.
    Comment,
    field = "comment",
    max = 2000,
    multiline = true
);

text_value!(
    /// An engagement's solution area (R-INPUT, R-ENG-7): 1..=100 characters
    /// after trimming, no control characters.
    SolutionArea,
    field = "solution_area",
    max = 100,
    multiline = false
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_input_text_is_trimmed_and_kept() {
        let name: FriendlyName = " \t Contoso Hospital \n".parse().unwrap();
        assert_eq!(name.as_str(), "Contoso Hospital");
        assert_eq!(name.to_string(), "Contoso Hospital");
        let area: SolutionArea = "Data & AI".parse().unwrap();
        assert_eq!(area.as_ref(), "Data & AI");
    }

    #[test]
    fn r_input_text_refuses_empty_and_blank() {
        for bad in ["", "   ", "\n\t"] {
            let err = bad.parse::<ContactName>().unwrap_err();
            assert_eq!(err.field(), "contact_name");
            assert_eq!(err.rule(), "R-INPUT");
            assert_eq!(err.problem(), &Problem::Empty);
        }
    }

    #[test]
    fn r_input_names_refuse_control_characters() {
        for bad in [
            "a\nb",
            "a\tb",
            "a\rb",
            "a\u{0}b",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{2028}b",
            "a\u{202E}b",
            "a\u{2067}b",
        ] {
            let err = bad.parse::<FriendlyName>().unwrap_err();
            assert_eq!(err.field(), "friendly_name");
            assert_eq!(err.problem(), &Problem::ControlCharacter, "{bad:?}");
        }
        assert!("Zoë – Ärzte 株式会社 👩‍⚕️".parse::<FriendlyName>().is_ok());
    }

    #[test]
    fn r_input_names_count_characters_not_bytes() {
        assert!("é".repeat(100).parse::<FriendlyName>().is_ok());
        let err = "é".repeat(101).parse::<FriendlyName>().unwrap_err();
        assert_eq!(
            err.problem(),
            &Problem::TooLong {
                max: 100,
                actual: 101
            }
        );
        let padded = format!("  {}  ", "x".repeat(100));
        assert!(padded.parse::<SolutionArea>().is_ok());
    }

    #[test]
    fn r_input_comments_allow_newlines_and_tabs_only() {
        let comment: Comment = "line one\n\tline two\r\nline three".parse().unwrap();
        assert_eq!(comment.as_str(), "line one\n\tline two\nline three");
        for bad in ["a\rb", "a\u{0}b", "a\u{1b}[31mb", "a\u{202D}b"] {
            let err = bad.parse::<Comment>().unwrap_err();
            assert_eq!(err.field(), "comment");
            assert_eq!(err.problem(), &Problem::ControlCharacter, "{bad:?}");
        }
    }

    #[test]
    fn r_input_comments_are_limited_to_2000_characters() {
        assert!("x".repeat(2000).parse::<Comment>().is_ok());
        let err = "x".repeat(2001).parse::<Comment>().unwrap_err();
        assert_eq!(
            err.problem(),
            &Problem::TooLong {
                max: 2000,
                actual: 2001
            }
        );
    }

    #[test]
    fn r_input_text_deserializes_through_validation() {
        let name: FriendlyName = serde_json::from_str("\" Contoso \"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"Contoso\"");
        assert!(serde_json::from_str::<FriendlyName>("\"\"").is_err());
        assert!(serde_json::from_str::<Comment>("\"a\\u0000\"").is_err());
    }
}
