//! Domain names and email addresses (R-INPUT, R-ADD-3, R-ADD-4).
//!
//! A [`Domain`] is kept in its ASCII (punycode) form, lowercased, so an
//! internationalised domain and its ASCII spelling are the same value. An
//! [`EmailAddress`] is strict: `local@domain`, nothing around it.
//!
//! ```
//! use mci_core::{Domain, EmailAddress};
//!
//! let unicode: Domain = "Bücher.Example".parse().unwrap();
//! let ascii: Domain = "xn--bcher-kva.example".parse().unwrap();
//! assert_eq!(unicode, ascii);
//! assert_eq!(unicode.as_str(), "xn--bcher-kva.example");
//! assert_eq!(unicode.to_unicode(), "bücher.example");
//!
//! let email: EmailAddress = "Ada.Lovelace@Bücher.Example".parse().unwrap();
//! assert_eq!(email.local_part(), "Ada.Lovelace");
//! assert_eq!(email.domain(), &ascii);
//! assert_eq!(email.to_string(), "Ada.Lovelace@xn--bcher-kva.example");
//!
//! assert!("Ada <ada@example.com>".parse::<EmailAddress>().is_err());
//! assert!("ada@[192.0.2.1]".parse::<EmailAddress>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use serde::{Deserialize, Serialize};

use crate::id::string_conversions;
use crate::invalid::{InvalidValue, Problem};
use crate::text::check_visible;

/// A DNS domain name (R-INPUT), as customers are found by (R-ADD-3).
///
/// Internationalised names are converted to their ASCII (punycode) form by
/// UTS #46 processing (STD3 rules: letters, digits and hyphens only, no hyphen
/// at either end of a label), then lowercased; values compare in that form, so
/// `Bücher.Example` equals `xn--bcher-kva.example`. One trailing dot is
/// dropped. The name has at least two labels, each of 1..=63 characters, at
/// most 253 in all, and is not an IP address (its last label is not a number).
/// Bidirectional controls and invisible characters are refused rather than
/// dropped as UTS #46 would drop some of them; a zero-width joiner or
/// non-joiner is kept only where IDNA's CONTEXTJ rules allow it
/// ([`Problem::InvisibleCharacter`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Domain(String);

impl Domain {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "domain";
    /// The longest domain name, in ASCII characters, without a trailing dot.
    pub const MAX_LENGTH: usize = 253;
    /// The longest label, in ASCII characters.
    pub const MAX_LABEL_LENGTH: usize = 63;

    /// The ASCII (punycode) form, lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Unicode form, for showing to people (never for comparing).
    pub fn to_unicode(&self) -> String {
        idna::domain_to_unicode(&self.0).0
    }

    /// Whether this domain is `other` or a subdomain of it, compared in the
    /// ASCII form (`mail.contoso.com` is under `contoso.com`).
    pub fn is_within(&self, other: &Domain) -> bool {
        self.0 == other.0
            || self
                .0
                .strip_suffix(other.0.as_str())
                .is_some_and(|head| head.ends_with('.'))
    }
}

fn domain_error(problem: Problem) -> InvalidValue {
    InvalidValue::new(Domain::FIELD, problem)
}

fn last_label_is_numeric(ascii: &str) -> bool {
    let last = ascii.rsplit('.').next().unwrap_or_default();
    let hex = last
        .strip_prefix("0x")
        .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()));
    hex || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

impl FromStr for Domain {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.strip_suffix('.').unwrap_or(s);
        if name.is_empty() {
            return Err(domain_error(Problem::Empty));
        }
        // Each character gives at least one in the ASCII form (only the ones
        // UTS #46 ignores give none), so this bounds the work before IDNA runs.
        let length = name.chars().count();
        if length > Self::MAX_LENGTH {
            return Err(domain_error(Problem::TooLong {
                max: Self::MAX_LENGTH,
                actual: length,
            }));
        }
        if name.chars().any(char::is_control) {
            return Err(domain_error(Problem::ControlCharacter));
        }
        check_visible(Self::FIELD, name)?;
        let ascii = Uts46::new()
            .to_ascii(
                name.as_bytes(),
                AsciiDenyList::STD3,
                Hyphens::CheckFirstLast,
                DnsLength::Ignore,
            )
            .map_err(|_| {
                domain_error(Problem::Syntax(
                    "not a valid domain name (letters, digits and inner hyphens in \
                     dot-separated labels)"
                        .to_owned(),
                ))
            })?
            .to_ascii_lowercase();
        if ascii.len() > Self::MAX_LENGTH {
            return Err(domain_error(Problem::TooLong {
                max: Self::MAX_LENGTH,
                actual: ascii.len(),
            }));
        }
        if !ascii.contains('.') {
            return Err(domain_error(Problem::Syntax(
                "a domain name needs at least two labels (like example.com)".to_owned(),
            )));
        }
        for label in ascii.split('.') {
            if label.is_empty() {
                return Err(domain_error(Problem::Syntax("a label is empty".to_owned())));
            }
            if label.len() > Self::MAX_LABEL_LENGTH {
                return Err(domain_error(Problem::TooLong {
                    max: Self::MAX_LABEL_LENGTH,
                    actual: label.len(),
                }));
            }
        }
        if last_label_is_numeric(&ascii) {
            return Err(domain_error(Problem::Syntax(
                "an IP address is not a domain name".to_owned(),
            )));
        }
        Ok(Self(ascii))
    }
}

impl fmt::Display for Domain {
    /// The ASCII form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Domain {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

string_conversions!(Domain);

/// An email address (R-INPUT): `local@domain` and nothing else.
///
/// Refused: display names (`Name <a@b.c>`), IP literals (`a@[192.0.2.1]`),
/// domains without a dot, control characters, bidirectional controls and
/// invisible characters ([`Problem::InvisibleCharacter`]: a zero-width joiner
/// or non-joiner only where it joins letters), a local part longer than 64 bytes, an address
/// longer than 254 bytes in its ASCII form. The local-part
/// syntax is RFC 5322's (dot-atom or quoted string, UTF-8 allowed); its case is
/// kept. The domain is a [`Domain`], so it compares in ASCII form,
/// case-insensitively. No white space is trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress {
    /// `local@ascii-domain`.
    address: String,
    /// The byte length of the local part in `address`.
    local_len: usize,
    domain: Domain,
}

impl EmailAddress {
    /// The name of the field this value is refused under by default.
    pub const FIELD: &'static str = "email";
    /// The longest address, in bytes of its ASCII-domain form.
    pub const MAX_LENGTH: usize = 254;
    /// The longest local part, in bytes.
    pub const MAX_LOCAL_LENGTH: usize = 64;

    /// The part before the `@`, case kept.
    pub fn local_part(&self) -> &str {
        self.address.get(..self.local_len).unwrap_or_default()
    }

    /// The domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The address as `local@ascii-domain`.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The address with its domain in Unicode form, for showing to people.
    pub fn to_unicode(&self) -> String {
        format!("{}@{}", self.local_part(), self.domain.to_unicode())
    }
}

fn email_error(problem: Problem) -> InvalidValue {
    InvalidValue::new(EmailAddress::FIELD, problem)
}

impl FromStr for EmailAddress {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(email_error(Problem::Empty));
        }
        // Bound the work: no valid address is longer than this even with a
        // Unicode domain (every domain character gives at least one ASCII one).
        let length = s.chars().count();
        if length > Self::MAX_LENGTH {
            return Err(email_error(Problem::TooLong {
                max: Self::MAX_LENGTH,
                actual: length,
            }));
        }
        if s.chars().any(char::is_control) {
            return Err(email_error(Problem::ControlCharacter));
        }
        check_visible(Self::FIELD, s)?;
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(email_error(Problem::Syntax(
                "the '@' is missing".to_owned(),
            )));
        };
        if local.len() > Self::MAX_LOCAL_LENGTH {
            return Err(email_error(Problem::TooLong {
                max: Self::MAX_LOCAL_LENGTH,
                actual: local.len(),
            }));
        }
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        match email_address::EmailAddress::parse_with_options(s, options) {
            Ok(_) => {}
            // The crate measures domain labels in UTF-8 bytes of the Unicode
            // form; lengths are checked below on the ASCII form instead.
            Err(email_address::Error::SubDomainTooLong | email_address::Error::DomainTooLong) => {}
            Err(e) => return Err(email_error(Problem::Syntax(e.to_string()))),
        }
        let domain: Domain = domain
            .parse()
            .map_err(|e: InvalidValue| e.for_field(Self::FIELD))?;
        let address = format!("{local}@{domain}");
        if address.len() > Self::MAX_LENGTH {
            return Err(email_error(Problem::TooLong {
                max: Self::MAX_LENGTH,
                actual: address.len(),
            }));
        }
        Ok(Self {
            address,
            local_len: local.len(),
            domain,
        })
    }
}

impl fmt::Display for EmailAddress {
    /// `local@ascii-domain`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.address
    }
}

string_conversions!(EmailAddress);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tests::assert_invisible_refused_as;

    fn domain(s: &str) -> Domain {
        s.parse().unwrap()
    }

    #[test]
    fn r_input_idn_domains_compare_in_ascii_form() {
        assert_eq!(domain("Bücher.Example"), domain("xn--bcher-kva.example"));
        assert_eq!(domain("BÜCHER.example").as_str(), "xn--bcher-kva.example");
        assert_eq!(
            domain("xn--bcher-kva.example").to_unicode(),
            "bücher.example"
        );
        assert_eq!(domain("例え.テスト").as_str(), "xn--r8jz45g.xn--zckzah");
    }

    #[test]
    fn r_input_domains_compare_case_insensitively() {
        assert_eq!(domain("Contoso.COM"), domain("contoso.com"));
        assert_eq!(domain("Contoso.COM").to_string(), "contoso.com");
    }

    #[test]
    fn r_input_domains_drop_one_trailing_dot() {
        assert_eq!(domain("contoso.com.").as_str(), "contoso.com");
        assert!("contoso.com..".parse::<Domain>().is_err());
        assert_eq!(
            ".".parse::<Domain>().unwrap_err().problem(),
            &Problem::Empty
        );
    }

    #[test]
    fn r_input_domains_need_a_dot_and_valid_labels() {
        for bad in [
            "",
            "localhost",
            "a..b",
            ".a.b",
            "-a.com",
            "a-.com",
            "a_b.com",
            "a b.com",
            "a/b.com",
            "xn--.com",
            "a@b.com",
        ] {
            let err = bad.parse::<Domain>().unwrap_err();
            assert_eq!(err.field(), "domain", "{bad:?}");
            assert_eq!(err.rule(), "R-INPUT");
        }
        assert!("a-b.co".parse::<Domain>().is_ok());
        assert!("1password.com".parse::<Domain>().is_ok());
    }

    #[test]
    fn r_input_domains_refuse_ip_addresses() {
        for bad in [
            "192.0.2.1",
            "10.0.0.1.",
            "example.123",
            "a.0x7f",
            "[::1]",
            "::1",
        ] {
            assert!(bad.parse::<Domain>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn r_input_domains_limit_labels_and_length() {
        let label63 = "a".repeat(63);
        assert!(format!("{label63}.com").parse::<Domain>().is_ok());
        let err = format!("{}.com", "a".repeat(64))
            .parse::<Domain>()
            .unwrap_err();
        assert_eq!(
            err.problem(),
            &Problem::TooLong {
                max: 63,
                actual: 64
            }
        );
        let l61 = "b".repeat(61);
        let ok = format!("{l61}.{l61}.{l61}.{l61}.abcde"); // 61 * 4 + 4 + 5 = 253
        assert_eq!(ok.len(), 253);
        assert!(ok.parse::<Domain>().is_ok());
        let long = format!("{l61}.{l61}.{l61}.{l61}.abcdef");
        assert!(matches!(
            long.parse::<Domain>().unwrap_err().problem(),
            Problem::TooLong { max: 253, .. }
        ));
        // A short Unicode name whose ASCII form is too long.
        let unicode = format!("{}.com", "ü".repeat(60));
        assert!(unicode.parse::<Domain>().is_err());
    }

    #[test]
    fn r_input_domain_within_matches_on_label_boundaries() {
        assert!(domain("mail.contoso.com").is_within(&domain("contoso.com")));
        assert!(domain("contoso.com").is_within(&domain("contoso.com")));
        assert!(!domain("evilcontoso.com").is_within(&domain("contoso.com")));
        assert!(!domain("contoso.com").is_within(&domain("mail.contoso.com")));
    }

    #[test]
    fn r_input_email_accepts_plain_addresses() {
        let email: EmailAddress = "Ada.Lovelace+mci@Contoso.COM".parse().unwrap();
        assert_eq!(email.local_part(), "Ada.Lovelace+mci");
        assert_eq!(email.domain().as_str(), "contoso.com");
        assert_eq!(email.to_string(), "Ada.Lovelace+mci@contoso.com");
        assert_eq!(email.as_str(), "Ada.Lovelace+mci@contoso.com");
        let quoted: EmailAddress = "\"a@b\"@example.com".parse().unwrap();
        assert_eq!(quoted.local_part(), "\"a@b\"");
    }

    #[test]
    fn r_input_email_compares_domain_case_insensitively_local_part_exactly() {
        let a: EmailAddress = "ada@CONTOSO.com".parse().unwrap();
        let b: EmailAddress = "ada@contoso.com".parse().unwrap();
        let c: EmailAddress = "Ada@contoso.com".parse().unwrap();
        assert_eq!(a, b);
        assert_ne!(b, c);
    }

    #[test]
    fn r_input_email_uses_ascii_form_of_idn_domains() {
        let email: EmailAddress = "info@bücher.example".parse().unwrap();
        assert_eq!(email.to_string(), "info@xn--bcher-kva.example");
        assert_eq!(email.to_unicode(), "info@bücher.example");
        assert_eq!(email, "info@xn--bcher-kva.example".parse().unwrap());
    }

    #[test]
    fn r_input_email_refuses_display_names() {
        for bad in [
            "Ada <ada@example.com>",
            "<ada@example.com>",
            "\"Ada\" <ada@example.com>",
        ] {
            let err = bad.parse::<EmailAddress>().unwrap_err();
            assert_eq!(err.field(), "email", "{bad:?}");
            assert_eq!(err.rule(), "R-INPUT");
        }
    }

    #[test]
    fn r_input_email_refuses_ip_literals_and_dotless_domains() {
        for bad in [
            "a@[1.2.3.4]",
            "a@[IPv6:::1]",
            "a@1.2.3.4",
            "a@localhost",
            "a@example",
        ] {
            assert!(bad.parse::<EmailAddress>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn r_input_email_refuses_malformed_addresses() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@@example.com",
            "a b@example.com",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            " a@example.com",
            "a@example.com ",
            "a\n@example.com",
            "a@example.com\u{0}",
            "mailto:a@example.com",
        ] {
            let err = bad.parse::<EmailAddress>().unwrap_err();
            assert_eq!(err.field(), "email", "{bad:?}");
        }
    }

    #[test]
    fn r_input_email_refuses_bidi_and_invisible_characters() {
        for (bad, character, position) in [
            // Shows as "a@contoso.com" with "live.moc" reversed before it.
            ("a\u{202E}moc.evil@contoso.com", '\u{202E}', 1),
            ("ada\u{200B}@contoso.com", '\u{200B}', 3),
            ("\u{FEFF}ada@contoso.com", '\u{FEFF}', 0),
            ("ada@con\u{00AD}toso.com", '\u{00AD}', 7),
            ("ada@contoso.com\u{200E}", '\u{200E}', 15),
            ("ada@contoso\u{061C}.com", '\u{061C}', 11),
            ("a\u{200D}b@contoso.com", '\u{200D}', 1),
            ("ada@a\u{200D}b.example", '\u{200D}', 5),
        ] {
            assert_invisible_refused_as::<EmailAddress>(bad, "email", character, position);
        }
        // Joiners where they join letters, in the local part and the domain.
        let persian: EmailAddress = "می\u{200C}خواهم@می\u{200C}خواهم.example".parse().unwrap();
        assert_eq!(persian.local_part(), "می\u{200C}خواهم");
        assert_eq!(
            persian.to_unicode(),
            "می\u{200C}خواهم@می\u{200C}خواهم.example"
        );
    }

    #[test]
    fn r_input_domains_refuse_invisible_characters_uts46_would_drop() {
        // UTS #46 maps these to nothing, so IDNA alone reads "contoso.com".
        for (bad, character) in [
            ("con\u{00AD}toso.com", '\u{00AD}'),
            ("con\u{200B}toso.com", '\u{200B}'),
            ("con\u{2060}toso.com", '\u{2060}'),
            ("con\u{FEFF}toso.com", '\u{FEFF}'),
        ] {
            assert_eq!(
                idna::domain_to_ascii(bad).ok().as_deref(),
                Some("contoso.com")
            );
            let err = bad.parse::<Domain>().unwrap_err();
            assert_eq!(err.field(), "domain", "{bad:?}");
            assert_eq!(
                err.problem(),
                &Problem::InvisibleCharacter {
                    character,
                    position: 3
                },
                "{bad:?}"
            );
        }
        for bad in [
            "contoso\u{200F}.com",
            "\u{202E}moc.osotnoc",
            "a\u{2066}b.com",
        ] {
            assert!(matches!(
                bad.parse::<Domain>().unwrap_err().problem(),
                Problem::InvisibleCharacter { .. }
            ));
        }
    }

    #[test]
    fn r_input_domain_joiners_follow_idna_contextj() {
        let uts46 = |name: &str| {
            Uts46::new()
                .to_ascii(
                    name.as_bytes(),
                    AsciiDenyList::STD3,
                    Hyphens::CheckFirstLast,
                    DnsLength::Ignore,
                )
                .is_ok()
        };
        for (name, allowed) in [
            ("a\u{200D}b.example", false),
            ("a\u{200C}b.example", false),
            ("\u{200D}ab.example", false),
            ("ab\u{200C}.example", false),
            ("می\u{200D}خواهم.example", false),
            ("د\u{200C}ب.example", false),
            ("می\u{200C}خواهم.example", true),
            ("बच्\u{200D}चा.example", true),
            ("क्\u{200C}ष.example", true),
        ] {
            assert_eq!(uts46(name), allowed, "IDNA on {name:?}");
            let parsed = name.parse::<Domain>();
            assert_eq!(parsed.is_ok(), allowed, "{name:?}: {parsed:?}");
            if let Ok(domain) = parsed {
                // Non-transitional processing keeps the joiner.
                assert_eq!(domain.to_unicode(), name);
                assert!(domain.as_str().starts_with("xn--"));
            }
        }
    }

    #[test]
    fn r_input_email_limits_lengths() {
        let local64 = "a".repeat(64);
        assert!(
            format!("{local64}@example.com")
                .parse::<EmailAddress>()
                .is_ok()
        );
        let err = format!("{}@example.com", "a".repeat(65))
            .parse::<EmailAddress>()
            .unwrap_err();
        assert!(matches!(err.problem(), Problem::TooLong { .. }));

        // 64 + 1 + 189 = 254 accepted; one more refused.
        let domain189 = format!("{}.{}.{}", "d".repeat(63), "d".repeat(63), "d".repeat(61));
        assert_eq!(domain189.len(), 189);
        let ok = format!("{local64}@{domain189}");
        assert_eq!(ok.len(), 254);
        assert!(ok.parse::<EmailAddress>().is_ok());
        let long = format!("{local64}@x{domain189}");
        let err = long.parse::<EmailAddress>().unwrap_err();
        assert_eq!(
            err.problem(),
            &Problem::TooLong {
                max: 254,
                actual: 255
            }
        );
    }

    #[test]
    fn r_input_email_length_counts_the_ascii_form() {
        // 64 + 1 + 167 characters in Unicode, 64 + 1 + 191 in punycode.
        let local64 = "a".repeat(64);
        let label = "ü".repeat(40);
        let unicode = format!("{local64}@{label}.{label}.{label}.{label}.com");
        assert!(unicode.chars().count() <= 254);
        let err = unicode.parse::<EmailAddress>().unwrap_err();
        assert_eq!(
            err.problem(),
            &Problem::TooLong {
                max: 254,
                actual: 256
            },
            "{err}"
        );
    }

    #[test]
    fn r_input_email_measures_idn_labels_in_ascii_form() {
        // 64 bytes of UTF-8, but a 38-character ASCII label.
        let label = "ü".repeat(32);
        let email: EmailAddress = format!("a@{label}.example").parse().unwrap();
        assert!(email.domain().as_str().starts_with("xn--"));
        assert!(email.domain().as_str().len() < 63 + ".example".len());
    }

    #[test]
    fn r_input_email_and_domain_deserialize_through_validation() {
        let email: EmailAddress = serde_json::from_str("\"a@Example.com\"").unwrap();
        assert_eq!(serde_json::to_string(&email).unwrap(), "\"a@example.com\"");
        assert!(serde_json::from_str::<EmailAddress>("\"A <a@example.com>\"").is_err());
        let d: Domain = serde_json::from_str("\"Bücher.example\"").unwrap();
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            "\"xn--bcher-kva.example\""
        );
        assert!(serde_json::from_str::<Domain>("\"1.2.3.4\"").is_err());
    }
}
