//! Free text typed by people: friendly names, contact names, comments and
//! solution areas (R-INPUT).
//!
//! Surrounding white space is trimmed; lengths count Unicode scalar values
//! (`char`s) of the trimmed text; control characters are refused (a comment
//! may hold newlines and tabs), and so are bidirectional controls and other
//! invisible characters, except a zero-width joiner or non-joiner where it
//! joins letters (see [`Problem::InvisibleCharacter`]).
//!
//! ```
//! use mci_core::{Comment, FriendlyName};
//!
//! let name: FriendlyName = "  Contoso Hospital  ".parse().unwrap();
//! assert_eq!(name.as_str(), "Contoso Hospital");
//! assert!("   ".parse::<FriendlyName>().is_err());
//! assert!("Contoso\tHospital".parse::<FriendlyName>().is_err());
//! assert!("Contoso\u{202E}latipsoH".parse::<FriendlyName>().is_err());
//! // A Persian name keeps its zero-width non-joiner.
//! assert!("می\u{200C}خواهم".parse::<FriendlyName>().is_ok());
//!
//! let comment: Comment = "Workshop held on site.\r\nSee the invoice.".parse().unwrap();
//! assert_eq!(comment.as_str(), "Workshop held on site.\nSee the invoice.");
//! ```

use std::fmt;
use std::str::FromStr;

use icu_properties::CodePointMapData;
use icu_properties::props::{CanonicalCombiningClass, GeneralCategory, JoiningType};
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

/// Whether `c` is refused as a control character: the C0 and C1 controls and
/// the line and paragraph separators.
pub(crate) fn is_refused_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// ZERO WIDTH NON-JOINER.
const ZWNJ: char = '\u{200C}';
/// ZERO WIDTH JOINER.
const ZWJ: char = '\u{200D}';

/// Refuses, in text a person reads, every character of Unicode general
/// category Cf (format) but a joiner where IDNA's CONTEXTJ rules (RFC 5892,
/// appendices A.1 and A.2) allow it (R-INPUT); [`Problem::InvisibleCharacter`]
/// states the rule. The check runs on `input` as given, and the refusal's
/// position counts its characters.
pub(crate) fn check_visible(field: &str, input: &str) -> Result<(), InvalidValue> {
    let category = CodePointMapData::<GeneralCategory>::new();
    for (position, (at, character)) in input.char_indices().enumerate() {
        if category.get(character) != GeneralCategory::Format {
            continue;
        }
        let before = input.get(..at).unwrap_or_default();
        let after = input.get(at + character.len_utf8()..).unwrap_or_default();
        if !joiner_allowed(before, character, after) {
            return Err(InvalidValue::new(
                field,
                Problem::InvisibleCharacter {
                    character,
                    position,
                },
            ));
        }
    }
    Ok(())
}

/// Whether `c`, between `before` and `after`, is a joiner in a place
/// RFC 5892's CONTEXTJ rules allow it.
fn joiner_allowed(before: &str, c: char, after: &str) -> bool {
    if c != ZWNJ && c != ZWJ {
        return false;
    }
    let combining_class = CodePointMapData::<CanonicalCombiningClass>::new();
    if before
        .chars()
        .next_back()
        .is_some_and(|previous| combining_class.get(previous) == CanonicalCombiningClass::Virama)
    {
        return true;
    }
    if c == ZWJ {
        return false;
    }
    joins(before.chars().rev(), JoiningType::LeftJoining)
        && joins(after.chars(), JoiningType::RightJoining)
}

/// Whether the first of `chars` that is not transparent joins on `side`
/// (is of joining type `side` or dual-joining).
fn joins(chars: impl Iterator<Item = char>, side: JoiningType) -> bool {
    let joining_type = CodePointMapData::<JoiningType>::new();
    chars
        .map(|c| joining_type.get(c))
        .find(|t| *t != JoiningType::Transparent)
        .is_some_and(|t| t == side || t == JoiningType::DualJoining)
}

impl TextRules {
    /// Checks `input` and returns the text to keep (trimmed; for multi-line
    /// text, CR LF turned into LF). Refuses empty text, control characters,
    /// invisible characters ([`check_visible`]) and text too long, in that
    /// order.
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
        check_visible(self.field, input)?;
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
    /// characters after trimming, no control or invisible characters.
    FriendlyName,
    field = "friendly_name",
    max = 100,
    multiline = false
);

text_value!(
    /// A contact person's name (R-INPUT): 1..=100 characters after trimming,
    /// no control or invisible characters.
    ContactName,
    field = "contact_name",
    max = 100,
    multiline = false
);

text_value!(
    /// A comment for the reviewer, or a reason (R-INPUT, R-CLAIM-W-5): 1..=2000
    /// characters after trimming; newlines and tabs allowed (CR LF is kept as
    /// LF), no other control characters, no invisible characters.
    Comment,
    field = "comment",
    max = 2000,
    multiline = true
);

text_value!(
    /// An engagement's solution area (R-INPUT, R-ENG-7): 1..=100 characters
    /// after trimming, no control or invisible characters.
    SolutionArea,
    field = "solution_area",
    max = 100,
    multiline = false
);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks that `input`, parsed as a `T`, is refused under R-INPUT for
    /// `character` at `position`, naming `field`.
    pub(crate) fn assert_invisible_refused_as<T>(
        input: &str,
        field: &str,
        character: char,
        position: usize,
    ) where
        T: FromStr<Err = InvalidValue> + fmt::Debug,
    {
        let err = input.parse::<T>().expect_err(input);
        assert_eq!(err.field(), field, "{input:?}");
        assert_eq!(err.rule(), "R-INPUT", "{input:?}");
        assert_eq!(
            err.problem(),
            &Problem::InvisibleCharacter {
                character,
                position
            },
            "{input:?} as {field}"
        );
    }

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
        ] {
            let err = bad.parse::<FriendlyName>().unwrap_err();
            assert_eq!(err.field(), "friendly_name");
            assert_eq!(err.problem(), &Problem::ControlCharacter, "{bad:?}");
        }
        assert!("Zoë – Ärzte 株式会社 🏥".parse::<FriendlyName>().is_ok());
    }

    /// Parses `input` as every kind of free text and checks each refuses it
    /// for `character` at `position`, naming its own field.
    fn assert_invisible_refused(input: &str, character: char, position: usize) {
        assert_invisible_refused_as::<FriendlyName>(input, "friendly_name", character, position);
        assert_invisible_refused_as::<ContactName>(input, "contact_name", character, position);
        assert_invisible_refused_as::<Comment>(input, "comment", character, position);
        assert_invisible_refused_as::<SolutionArea>(input, "solution_area", character, position);
    }

    #[test]
    fn r_input_text_refuses_bidi_controls() {
        let bidi = ['\u{200E}', '\u{200F}', '\u{061C}']
            .into_iter()
            .chain('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}');
        for c in bidi {
            assert_invisible_refused(&format!("Contoso{c} Hospital"), c, 7);
            assert_invisible_refused(&format!("{c}Contoso"), c, 0);
            assert_invisible_refused(&format!("Contoso{c}"), c, 7);
        }
    }

    #[test]
    fn r_input_text_refuses_invisible_format_characters() {
        for c in [
            '\u{200B}',  // zero width space
            '\u{2060}',  // word joiner
            '\u{FEFF}',  // zero width no-break space
            '\u{00AD}',  // soft hyphen
            '\u{180E}',  // Mongolian vowel separator
            '\u{2062}',  // invisible times
            '\u{206A}',  // inhibit symmetric swapping
            '\u{FFF9}',  // interlinear annotation anchor
            '\u{0600}',  // Arabic number sign
            '\u{E0001}', // language tag
            '\u{E0041}', // tag latin capital letter a
        ] {
            assert_invisible_refused(&format!("Con{c}toso"), c, 3);
        }
    }

    #[test]
    fn r_input_invisible_positions_count_characters_of_the_input_as_given() {
        // Leading white space is trimmed from the value, but the position
        // points into what was typed.
        assert_invisible_refused("  Zoë\u{200B}", '\u{200B}', 5);
        let err = "Zoë\u{200F}".parse::<FriendlyName>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "friendly_name contains the invisible or bidirectional character U+200F \
             at position 3 (R-INPUT)"
        );
    }

    #[test]
    fn r_input_joiners_are_kept_where_they_join_letters() {
        for good in [
            // Persian: a non-joiner between two dual-joining letters.
            "می\u{200C}خواهم",
            // Arabic: a vowel mark (transparent) between the letter and it.
            "بَ\u{200C}ب",
            // Devanagari: virama + joiner (half form) and virama + non-joiner.
            "क्\u{200D}ष",
            "क्\u{200C}ष",
            // Malayalam chillu: virama + joiner at the end of a word.
            "അവന്\u{200D}",
            "അവന്\u{200D} വന്നു",
            // Sinhala: al-lakuna + joiner (yansaya).
            "ශ්\u{200D}රී",
        ] {
            let name: FriendlyName = good.parse().unwrap_or_else(|e| panic!("{good:?}: {e}"));
            assert_eq!(name.as_str(), good, "the joiner is kept");
            let comment: Comment = good.parse().unwrap_or_else(|e| panic!("{good:?}: {e}"));
            assert_eq!(comment.as_str(), good);
        }
        // Trimming keeps a final chillu's joiner.
        let chillu: ContactName = " അവന്\u{200D} ".parse().unwrap();
        assert_eq!(chillu.as_str(), "അവന്\u{200D}");
    }

    #[test]
    fn r_input_joiners_are_refused_where_they_join_nothing() {
        for (bad, joiner, position) in [
            ("\u{200D}Contoso", '\u{200D}', 0),
            ("\u{200C}می", '\u{200C}', 0),
            ("a\u{200D} b", '\u{200D}', 1),
            ("a \u{200D}b", '\u{200D}', 2),
            ("a.\u{200C}b", '\u{200C}', 2),
            ("Contoso\u{200C}", '\u{200C}', 7),
            ("می\u{200C}", '\u{200C}', 2),
            ("می\u{200C} خواهم", '\u{200C}', 2),
            // Doubled: a non-joiner must touch a joining letter on both sides,
            // and a joiner after another one follows no virama.
            ("می\u{200C}\u{200C}خواهم", '\u{200C}', 2),
            ("क्\u{200D}\u{200D}ष", '\u{200D}', 3),
            // Between Latin letters a joiner shows nothing.
            ("pay\u{200C}pal", '\u{200C}', 3),
            ("pay\u{200D}pal", '\u{200D}', 3),
            // A joiner between letters, but not after a virama (IDNA: ZWJ only
            // after a virama).
            ("می\u{200D}خواهم", '\u{200D}', 2),
            // After a right-joining letter (dal), which joins nothing on its
            // left.
            ("د\u{200C}ب", '\u{200C}', 1),
            // Emoji are not letters.
            ("👩\u{200D}⚕️", '\u{200D}', 1),
        ] {
            assert_invisible_refused(bad, joiner, position);
        }
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
        for bad in ["a\rb", "a\u{0}b", "a\u{1b}[31mb"] {
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
