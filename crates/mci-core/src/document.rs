//! References to proof-of-execution documents: name, media type, size and
//! SHA-256, never the bytes (R-INPUT, R-CLAIM-W-2).
//!
//! ```
//! use mci_core::{DocumentName, DocumentRef, MediaType, Sha256Digest};
//!
//! let sha256: Sha256Digest =
//!     "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855".parse().unwrap();
//! assert_eq!(sha256, Sha256Digest::of(b""));
//! assert_eq!(
//!     sha256.to_string(),
//!     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
//! );
//!
//! let doc = DocumentRef::new(
//!     "Discovery report.pdf".parse::<DocumentName>().unwrap(),
//!     "Application/PDF".parse::<MediaType>().unwrap(),
//!     48_213,
//!     sha256,
//! )
//! .unwrap();
//! assert_eq!(doc.media_type().as_str(), "application/pdf");
//! assert!("../etc/passwd".parse::<DocumentName>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::id::{check_range, string_conversions};
use crate::invalid::{InvalidValue, Problem};
use crate::text::TextRules;

/// Writes `bytes` as lowercase hex digits.
pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Reads exactly 64 hex digits (any case) as 32 bytes.
pub(crate) fn parse_hex_32(field: &'static str, s: &str) -> Result<[u8; 32], InvalidValue> {
    parse_hex(field, s)
}

/// Reads exactly `2 * N` hex digits (any case) as `N` bytes.
pub(crate) fn parse_hex<const N: usize>(
    field: &'static str,
    s: &str,
) -> Result<[u8; N], InvalidValue> {
    if s.is_empty() {
        return Err(InvalidValue::new(field, Problem::Empty));
    }
    let syntax = || {
        InvalidValue::new(
            field,
            Problem::Syntax(format!("expected {} hex digits", 2 * N)),
        )
    };
    if s.len() != 2 * N {
        return Err(syntax());
    }
    let mut bytes = [0_u8; N];
    for (byte, pair) in bytes.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        let [high, low] = pair else {
            return Err(syntax());
        };
        let (Some(high), Some(low)) = (hex_value(*high), hex_value(*low)) else {
            return Err(syntax());
        };
        *byte = (high << 4) | low;
    }
    Ok(bytes)
}

/// A SHA-256 digest (R-INPUT, R-CLAIM-W-2): read as 64 hex digits in any
/// case, shown in lowercase.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "sha256";

    /// A digest from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The SHA-256 of `data` (for the service that receives a document; the
    /// bytes themselves are never kept).
    pub fn of(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl FromStr for Sha256Digest {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex_32(Self::FIELD, s).map(Self)
    }
}

impl fmt::Display for Sha256Digest {
    /// 64 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

string_conversions!(Sha256Digest);

/// A media type (R-INPUT, R-CLAIM-W-2): `type/subtype`, each part an RFC 6838
/// restricted name (a letter or digit, then letters, digits and
/// `!#$&-^_.+`), no parameters, at most 127 characters, kept lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MediaType(String);

impl MediaType {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "media_type";
    /// The longest media type, in characters.
    pub const MAX_LENGTH: usize = 127;

    /// `type/subtype`, lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The top-level type (`application` in `application/pdf`).
    pub fn top_level(&self) -> &str {
        self.0.split_once('/').map_or("", |(top, _)| top)
    }

    /// The subtype (`pdf` in `application/pdf`).
    pub fn subtype(&self) -> &str {
        self.0.split_once('/').map_or("", |(_, sub)| sub)
    }
}

fn is_restricted_name(part: &str) -> bool {
    let mut bytes = part.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#' | b'$' | b'&' | b'-' | b'^' | b'_' | b'.' | b'+'
                )
        })
}

impl FromStr for MediaType {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let refuse = |problem| InvalidValue::new(Self::FIELD, problem);
        if s.is_empty() {
            return Err(refuse(Problem::Empty));
        }
        let length = s.chars().count();
        if length > Self::MAX_LENGTH {
            return Err(refuse(Problem::TooLong {
                max: Self::MAX_LENGTH,
                actual: length,
            }));
        }
        if s.contains(';') {
            return Err(refuse(Problem::Syntax(
                "parameters (after ';') are not accepted".to_owned(),
            )));
        }
        let well_formed = s
            .split_once('/')
            .is_some_and(|(top, sub)| is_restricted_name(top) && is_restricted_name(sub));
        if !well_formed {
            return Err(refuse(Problem::Syntax(
                "expected type/subtype (like application/pdf)".to_owned(),
            )));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for MediaType {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

string_conversions!(MediaType);

/// A document's file name (R-INPUT): 1..=255 characters after trimming
/// surrounding white space, no control characters, no bidirectional controls
/// or invisible characters ([`Problem::InvisibleCharacter`]), no `/` or `\`,
/// not `.` or `..` (a name, never a path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocumentName(String);

impl DocumentName {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "document_name";
    /// The longest name, in characters.
    pub const MAX_CHARS: usize = 255;

    /// The name as kept (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DocumentName {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rules = TextRules {
            field: Self::FIELD,
            max_chars: Self::MAX_CHARS,
            multiline: false,
        };
        let name = rules.check(s)?;
        if name.contains(['/', '\\']) {
            return Err(InvalidValue::new(
                Self::FIELD,
                Problem::Syntax("a document name holds no '/' or '\\'".to_owned()),
            ));
        }
        if name == "." || name == ".." {
            return Err(InvalidValue::new(
                Self::FIELD,
                Problem::Syntax("'.' and '..' are not document names".to_owned()),
            ));
        }
        Ok(Self(name))
    }
}

impl fmt::Display for DocumentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DocumentName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

string_conversions!(DocumentName);

/// A reference to a stored document (R-CLAIM-W-2): its name, media type, size
/// and SHA-256. The bytes are never part of the domain.
///
/// Serialised as an object with the fields `name`, `media_type`, `size_bytes`
/// and `sha256`; deserialising validates every field and the size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawDocumentRef")]
pub struct DocumentRef {
    name: DocumentName,
    media_type: MediaType,
    size_bytes: u64,
    sha256: Sha256Digest,
}

/// The unchecked shape of a [`DocumentRef`], as deserialised.
#[derive(Deserialize)]
struct RawDocumentRef {
    name: DocumentName,
    media_type: MediaType,
    size_bytes: u64,
    sha256: Sha256Digest,
}

impl TryFrom<RawDocumentRef> for DocumentRef {
    type Error = InvalidValue;

    fn try_from(raw: RawDocumentRef) -> Result<Self, Self::Error> {
        DocumentRef::new(raw.name, raw.media_type, raw.size_bytes, raw.sha256)
    }
}

impl DocumentRef {
    /// The name of the field a refused size is reported under.
    pub const SIZE_FIELD: &'static str = "size_bytes";
    /// The smallest document, in bytes.
    pub const MIN_SIZE_BYTES: u64 = 1;
    /// The largest document, in bytes (100 MiB).
    pub const MAX_SIZE_BYTES: u64 = 104_857_600;

    /// A reference; refuses a size outside 1..=104 857 600 bytes
    /// (`Problem::OutOfRange`, field `size_bytes`).
    pub fn new(
        name: DocumentName,
        media_type: MediaType,
        size_bytes: u64,
        sha256: Sha256Digest,
    ) -> Result<Self, InvalidValue> {
        check_range(
            Self::SIZE_FIELD,
            u128::from(size_bytes),
            Self::MIN_SIZE_BYTES,
            Self::MAX_SIZE_BYTES,
        )?;
        Ok(Self {
            name,
            media_type,
            size_bytes,
            sha256,
        })
    }

    /// The file name.
    pub fn name(&self) -> &DocumentName {
        &self.name
    }

    /// The media type.
    pub fn media_type(&self) -> &MediaType {
        &self.media_type
    }

    /// The size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// The SHA-256 of the bytes.
    pub fn sha256(&self) -> Sha256Digest {
        self.sha256
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tests::assert_invisible_refused_as;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn sample() -> DocumentRef {
        DocumentRef::new(
            "report.pdf".parse().unwrap(),
            "application/pdf".parse().unwrap(),
            1234,
            EMPTY_SHA256.parse().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn r_input_sha256_reads_any_case_and_shows_lowercase() {
        let upper: Sha256Digest = EMPTY_SHA256.to_uppercase().parse().unwrap();
        assert_eq!(upper.to_string(), EMPTY_SHA256);
        assert_eq!(upper, Sha256Digest::of(b""));
        assert_eq!(Sha256Digest::from_bytes(*upper.as_bytes()), upper);
        assert_eq!(
            format!("{upper:?}"),
            format!("Sha256Digest({EMPTY_SHA256})")
        );
    }

    #[test]
    fn r_input_sha256_refuses_other_lengths_and_characters() {
        for bad in [
            "",
            &EMPTY_SHA256[..63],
            &format!("{EMPTY_SHA256}0"),
            &format!("g{}", &EMPTY_SHA256[1..]),
            &format!(" {}", &EMPTY_SHA256[1..]),
            &format!("é{}", &EMPTY_SHA256[2..]),
        ] {
            let err = bad.parse::<Sha256Digest>().unwrap_err();
            assert_eq!(err.field(), "sha256", "{bad:?}");
            assert_eq!(err.rule(), "R-INPUT");
        }
    }

    #[test]
    fn r_input_media_types_are_lowercased_restricted_names() {
        let pdf: MediaType = "Application/PDF".parse().unwrap();
        assert_eq!(pdf.as_str(), "application/pdf");
        assert_eq!(pdf.top_level(), "application");
        assert_eq!(pdf.subtype(), "pdf");
        let docx: MediaType =
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                .parse()
                .unwrap();
        assert_eq!(
            docx.subtype(),
            "vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        assert!("image/svg+xml".parse::<MediaType>().is_ok());
    }

    #[test]
    fn r_input_media_types_refuse_parameters_and_malformed_names() {
        for bad in [
            "",
            "application",
            "application/",
            "/pdf",
            "application/pdf; charset=utf-8",
            "application/pdf;x=y",
            "application /pdf",
            "application/pdf/x",
            "-app/pdf",
            "application/.pdf",
            "applicätion/pdf",
        ] {
            let err = bad.parse::<MediaType>().unwrap_err();
            assert_eq!(err.field(), "media_type", "{bad:?}");
        }
        let long = format!("a/{}", "b".repeat(126));
        assert!(matches!(
            long.parse::<MediaType>().unwrap_err().problem(),
            Problem::TooLong {
                max: 127,
                actual: 128
            }
        ));
    }

    #[test]
    fn r_input_document_names_are_names_not_paths() {
        let name: DocumentName = "  Rapport d'atelier (final).pdf ".parse().unwrap();
        assert_eq!(name.as_str(), "Rapport d'atelier (final).pdf");
        for bad in ["", "  ", ".", "..", "a/b.pdf", "..\\x", "a\nb", "a\u{0}b"] {
            let err = bad.parse::<DocumentName>().unwrap_err();
            assert_eq!(err.field(), "document_name", "{bad:?}");
        }
        assert!("x".repeat(255).parse::<DocumentName>().is_ok());
        assert!("x".repeat(256).parse::<DocumentName>().is_err());
        assert!("...".parse::<DocumentName>().is_ok());
    }

    #[test]
    fn r_input_document_names_refuse_bidi_and_invisible_characters() {
        for (bad, character, position) in [
            ("report\u{200F}.pdf", '\u{200F}', 6),
            // Shows as "invoiceexe.pdf".
            ("invoice\u{202E}fdp.exe", '\u{202E}', 7),
            ("report\u{200B}.pdf", '\u{200B}', 6),
            ("\u{FEFF}report.pdf", '\u{FEFF}', 0),
            ("report.\u{200D}pdf", '\u{200D}', 7),
        ] {
            assert_invisible_refused_as::<DocumentName>(bad, "document_name", character, position);
        }
        let persian: DocumentName = "گزارش\u{200C}نهایی.pdf".parse().unwrap();
        assert_eq!(persian.as_str(), "گزارش\u{200C}نهایی.pdf");
    }

    #[test]
    fn r_claim_w_2_document_sizes_are_bounded() {
        let d = sample();
        let make =
            |size| DocumentRef::new(d.name().clone(), d.media_type().clone(), size, d.sha256());
        assert!(make(1).is_ok());
        assert!(make(104_857_600).is_ok());
        for bad in [0, 104_857_601, u64::MAX] {
            let err = make(bad).unwrap_err();
            assert_eq!(err.field(), "size_bytes");
            assert!(matches!(err.problem(), Problem::OutOfRange { .. }));
        }
    }

    #[test]
    fn r_claim_w_2_document_refs_round_trip_through_serde_with_validation() {
        let doc = sample();
        assert_eq!(doc.size_bytes(), 1234);
        let json = serde_json::to_string(&doc).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"name":"report.pdf","media_type":"application/pdf","size_bytes":1234,"sha256":"{EMPTY_SHA256}"}}"#
            )
        );
        assert_eq!(serde_json::from_str::<DocumentRef>(&json).unwrap(), doc);

        let zero = json.replace("1234", "0");
        assert!(serde_json::from_str::<DocumentRef>(&zero).is_err());
        let path = json.replace("report.pdf", "../report.pdf");
        assert!(serde_json::from_str::<DocumentRef>(&path).is_err());
        let params = json.replace("application/pdf", "application/pdf; q=1");
        assert!(serde_json::from_str::<DocumentRef>(&params).is_err());
        let bad_hash = json.replace(EMPTY_SHA256, "abc");
        assert!(serde_json::from_str::<DocumentRef>(&bad_hash).is_err());
    }
}
