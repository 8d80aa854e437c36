//! Properties of the validated values (R-INPUT): every valid value survives
//! Display/FromStr and serde unchanged, no input makes a parser panic, money
//! arithmetic is checked, and text a person reads holding an invisible
//! character anywhere is refused. (Nominations, events and messages round-trip
//! in `properties.rs`, where runs of commands make them.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::{Debug, Display};
use std::str::FromStr;

use mci_core::{
    AzureSubscriptionId, Comment, Contact, ContactName, Contacts, Currency, CustomerId,
    CustomerIdType, Days, DocumentName, DocumentRef, Domain, EmailAddress, EngagementId,
    EngagementKind, EngagementRules, FriendlyName, Hours, InvalidValue, LinkToken, LocationId,
    MediaType, Money, MsxOpportunityId, Need, NominationId, PartnerId, PayModel, PayoutBatchId,
    Problem, ProofItem, ProofRequirement, ReviewerId, RuleVersion, Sha256Digest, SolutionArea,
    TenantId, Timelines, TokenHash, Tpid, UserId,
};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// `value` comes back equal through Display/FromStr and through serde_json,
/// and its Display form is stable.
fn assert_round_trip<T>(value: &T) -> Result<(), TestCaseError>
where
    T: FromStr<Err = InvalidValue> + Display + Serialize + DeserializeOwned + PartialEq + Debug,
{
    let text = value.to_string();
    let parsed: T = text
        .parse()
        .map_err(|e| TestCaseError::fail(format!("{text:?} does not parse back: {e}")))?;
    prop_assert_eq!(&parsed, value);
    prop_assert_eq!(parsed.to_string(), text);
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json)
        .map_err(|e| TestCaseError::fail(format!("{json} does not deserialize back: {e}")))?;
    prop_assert_eq!(&back, value);
    Ok(())
}

/// Parses `input`, and when it is accepted, checks the round trips.
fn accepted_round_trips<T>(input: &str) -> Result<(), TestCaseError>
where
    T: FromStr<Err = InvalidValue> + Display + Serialize + DeserializeOwned + PartialEq + Debug,
{
    match input.parse::<T>() {
        Ok(value) => assert_round_trip(&value),
        Err(err) => {
            prop_assert_eq!(err.rule(), "R-INPUT");
            prop_assert!(!err.field().is_empty());
            Ok(())
        }
    }
}

const CURRENCIES: &[&str] = &[
    "EUR", "USD", "GBP", "JPY", "KWD", "BHD", "CLF", "UYW", "XAU", "XXX", "CHF", "INR", "ISK",
    "KRW", "TND", "VND",
];

fn currency() -> impl Strategy<Value = Currency> {
    proptest::sample::select(CURRENCIES).prop_map(|code| code.parse().unwrap())
}

fn uuid_v7() -> impl Strategy<Value = Uuid> {
    (0_u64..(1 << 48), any::<[u8; 10]>())
        .prop_map(|(ms, random)| uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid())
}

fn guid_spelling() -> impl Strategy<Value = (u128, String)> {
    (1_u128.., 0_usize..4, any::<bool>()).prop_map(|(n, form, upper)| {
        let uuid = Uuid::from_u128(n);
        let text = match form {
            0 => uuid.hyphenated().to_string(),
            1 => uuid.simple().to_string(),
            2 => uuid.braced().to_string(),
            _ => uuid.urn().to_string(),
        };
        let text = if upper { text.to_uppercase() } else { text };
        (n, text)
    })
}

fn ascii_domain() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(
            "[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?"
                // An `xn--` label is punycode, checked as such: keep plain labels.
                .prop_filter("plain label", |l| {
                    !l.to_ascii_lowercase().starts_with("xn--")
                }),
            1..4,
        ),
        "[a-zA-Z]{2,10}",
    )
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

/// A domain as typed, perhaps with the root's trailing dot.
fn ascii_domain_maybe_rooted() -> impl Strategy<Value = String> {
    (ascii_domain(), any::<bool>())
        .prop_map(|(domain, dot)| if dot { format!("{domain}.") } else { domain })
}

fn unicode_domain() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec("[a-zäöüéèßçñøåæ0-9\u{4e00}-\u{4e20}]{1,12}", 1..3),
        "[a-z]{2,6}|[\u{30a2}-\u{30f3}]{2,4}",
    )
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

fn email_input() -> impl Strategy<Value = String> {
    (
        "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[A-Za-z0-9_+-]{1,10}){0,2}",
        prop_oneof![ascii_domain(), unicode_domain()],
    )
        .prop_map(|(local, domain)| format!("{local}@{domain}"))
}

fn media_type_input() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,40}/[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,40}"
}

fn document_ref() -> impl Strategy<Value = DocumentRef> {
    (
        "[^/\\\\\\p{C}]{1,80}".prop_filter_map("a valid name", |s| s.parse::<DocumentName>().ok()),
        media_type_input().prop_map(|s| s.parse::<MediaType>().unwrap()),
        1_u64..=104_857_600,
        any::<[u8; 32]>(),
    )
        .prop_map(|(name, media_type, size, sha)| {
            DocumentRef::new(name, media_type, size, Sha256Digest::from_bytes(sha)).unwrap()
        })
}

fn customer_id() -> impl Strategy<Value = CustomerId> {
    prop_oneof![
        guid_spelling().prop_map(|(_, s)| CustomerId::Tenant(s.parse().unwrap())),
        (1_u64..).prop_map(|n| CustomerId::Tpid(Tpid::new(n).unwrap())),
        guid_spelling().prop_map(|(_, s)| CustomerId::AzureSubscription(s.parse().unwrap())),
        "[0-9]-[A-Za-z0-9]{6,16}".prop_map(|s| CustomerId::MsxOpportunity(s.parse().unwrap())),
    ]
}

fn contacts() -> impl Strategy<Value = Contacts> {
    proptest::collection::btree_map(
        "[a-z0-9]{1,12}",
        "[A-Z][a-z]{0,10}( [A-Z][a-z]{0,10})?",
        1..=Contacts::MAX,
    )
    .prop_map(|people| {
        Contacts::new(
            people
                .into_iter()
                .map(|(mailbox, name)| Contact {
                    name: name.parse().unwrap(),
                    email: format!("{mailbox}@contoso.example").parse().unwrap(),
                })
                .collect(),
        )
        .unwrap()
    })
}

fn engagement_rules() -> impl Strategy<Value = EngagementRules> {
    let money = |max: i64| (1_i64..=max, currency()).prop_map(|(m, c)| Money::new(m, c));
    let pay = prop_oneof![
        money(1_000_000_000).prop_map(PayModel::fixed),
        (
            1_i64..=1_000_000,
            1_i64..=1_000_000_000,
            currency(),
            1_u32..=10_000
        )
            .prop_map(|(rate, cap, c, max)| PayModel::variable(
                Money::new(rate, c),
                Money::new(cap, c),
                Hours::new(max).unwrap()
            )),
    ];
    let timelines = (1_u32..=365, 1_u32..=1000, 0_u32..=1000, 1_u32..=365).prop_map(
        |(consent, submit, extra, dispute)| Timelines {
            obtain_consent: Days::new(consent),
            first_submit: Days::new(submit),
            review_complete: Days::new(submit + extra),
            dispute: Days::new(dispute),
        },
    );
    let proof = proptest::sample::subsequence(
        vec![
            ProofItem::ProofOfExecution,
            ProofItem::Invoice,
            ProofItem::PartnerSurvey,
            ProofItem::CustomerSurvey,
        ],
        0..=4,
    )
    .prop_flat_map(|items| {
        let n = items.len();
        (Just(items), proptest::collection::vec(any::<bool>(), n))
    })
    .prop_map(|(items, required)| {
        items
            .into_iter()
            .zip(required)
            .map(|(item, required)| ProofRequirement {
                item,
                need: if required {
                    Need::Required
                } else {
                    Need::IfApplicable
                },
            })
            .collect::<Vec<_>>()
    });
    let fixed_types = proptest::sample::subsequence(CustomerIdType::FIXED_PAY.to_vec(), 1..=4);
    (
        proptest::sample::select(EngagementKind::ALL.to_vec()),
        pay,
        timelines,
        fixed_types,
        1_u32..=1000,
        proof,
        proptest::collection::vec(1_u32..=3650, 0..4),
        any::<u32>(),
    )
        .prop_map(
            |(kind, pay, timelines, types, limit, proof, reminders, version)| {
                let builder = EngagementRules::builder(kind, pay.clone())
                    .timelines(timelines)
                    .active_nomination_limit(limit)
                    .proof(proof)
                    .reminders(reminders.into_iter().map(Days::new))
                    .version(RuleVersion::new(version));
                let builder = if pay.is_variable() {
                    builder
                } else {
                    builder.accepted_id_types(types)
                };
                builder.build().unwrap()
            },
        )
}

proptest! {
    // (a) Valid values round-trip through Display/FromStr and serde_json.

    #[test]
    fn r_input_customer_ids_round_trip(id in customer_id()) {
        assert_round_trip(&id)?;
        // Each kind keeps its own prefix, so two kinds never share a key.
        let text = id.to_string();
        let prefix = text.split_once(':').map(|(p, _)| p);
        let expected = match id {
            CustomerId::Tenant(_) => "tenant",
            CustomerId::Tpid(_) => "tpid",
            CustomerId::AzureSubscription(_) => "subscription",
            CustomerId::MsxOpportunity(_) => "msx",
        };
        prop_assert_eq!(prefix, Some(expected));
    }

    #[test]
    fn r_input_contacts_round_trip_through_serde(list in contacts()) {
        let json = serde_json::to_string(&list).unwrap();
        prop_assert_eq!(serde_json::from_str::<Contacts>(&json).unwrap(), list);
    }

    #[test]
    fn r_eng_8_engagement_rules_round_trip_through_serde(rules in engagement_rules()) {
        let json = serde_json::to_string(&rules).unwrap();
        let back: EngagementRules = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &rules);
        prop_assert_eq!(back.timelines().longest_claim_life(), rules.timelines().longest_claim_life());
    }

    #[test]
    fn r_input_opaque_ids_round_trip(
        id in "[A-Za-z0-9._-]{1,64}",
        user in "[A-Za-z0-9._@-]{1,64}",
    ) {
        assert_round_trip(&id.parse::<PartnerId>().unwrap())?;
        assert_round_trip(&id.parse::<EngagementId>().unwrap())?;
        assert_round_trip(&user.parse::<UserId>().unwrap())?;
        assert_round_trip(&user.parse::<ReviewerId>().unwrap())?;
        let partner: PartnerId = id.parse().unwrap();
        prop_assert_eq!(partner.as_str(), id.as_str());
    }

    #[test]
    fn r_input_location_ids_round_trip(digits in "[0-9]{1,12}") {
        let id: LocationId = digits.parse().unwrap();
        prop_assert_eq!(id.as_str(), digits.as_str());
        assert_round_trip(&id)?;
    }

    #[test]
    fn r_input_uuid_v7_ids_round_trip(uuid in uuid_v7()) {
        let nomination = NominationId::from_uuid(uuid).unwrap();
        prop_assert_eq!(nomination.as_uuid(), uuid);
        assert_round_trip(&nomination)?;
        assert_round_trip(&PayoutBatchId::from_uuid(uuid).unwrap())?;
    }

    #[test]
    fn r_input_uuid_v7_ids_refuse_other_versions(n in any::<u128>()) {
        let uuid = Uuid::from_u128(n);
        let is_v7 = uuid.get_version_num() == 7 && uuid.get_variant() == uuid::Variant::RFC4122;
        prop_assert_eq!(NominationId::from_uuid(uuid).is_ok(), is_v7);
    }

    #[test]
    fn r_input_guids_round_trip_in_canonical_form((n, spelling) in guid_spelling()) {
        let tenant: TenantId = spelling.parse().unwrap();
        prop_assert_eq!(tenant.as_uuid(), Uuid::from_u128(n));
        prop_assert_eq!(tenant.to_string(), Uuid::from_u128(n).hyphenated().to_string());
        assert_round_trip(&tenant)?;
        assert_round_trip(&spelling.parse::<AzureSubscriptionId>().unwrap())?;
    }

    #[test]
    fn r_input_tpids_round_trip(n in 1_u64..) {
        let tpid = Tpid::new(n).unwrap();
        prop_assert_eq!(n.to_string().parse::<Tpid>().unwrap(), tpid);
        assert_round_trip(&tpid)?;
    }

    #[test]
    fn r_input_msx_opportunity_ids_round_trip(id in "[0-9]-[A-Za-z0-9]{6,16}") {
        let msx: MsxOpportunityId = id.parse().unwrap();
        prop_assert_eq!(msx.as_str(), id.to_ascii_uppercase());
        assert_round_trip(&msx)?;
    }

    #[test]
    fn r_input_ascii_domains_round_trip_case_insensitively(input in ascii_domain_maybe_rooted()) {
        let domain: Domain = input.parse().unwrap();
        let lower: Domain = input.to_ascii_lowercase().parse().unwrap();
        prop_assert_eq!(&domain, &lower);
        prop_assert_eq!(domain.as_str(), input.trim_end_matches('.').to_ascii_lowercase());
        assert_round_trip(&domain)?;
    }

    #[test]
    fn r_input_idn_domains_round_trip_in_ascii_form(input in unicode_domain()) {
        if let Ok(domain) = input.parse::<Domain>() {
            prop_assert!(domain.as_str().is_ascii());
            let via_unicode: Domain = domain.to_unicode().parse().unwrap();
            prop_assert_eq!(&via_unicode, &domain);
            assert_round_trip(&domain)?;
        }
    }

    #[test]
    fn r_input_emails_round_trip(input in email_input()) {
        if let Ok(email) = input.parse::<EmailAddress>() {
            prop_assert!(email.as_str().len() <= 254);
            prop_assert_eq!(email.to_string(), format!("{}@{}", email.local_part(), email.domain()));
            assert_round_trip(&email)?;
        }
    }

    #[test]
    fn r_input_plain_emails_are_accepted(
        local in "[A-Za-z0-9_+-]{1,20}(\\.[A-Za-z0-9_+-]{1,10}){0,2}",
        domain in ascii_domain(),
    ) {
        let email: EmailAddress = format!("{local}@{domain}").parse().unwrap();
        prop_assert_eq!(email.local_part(), local.as_str());
    }

    #[test]
    fn r_input_text_values_round_trip(line in "\\PC{1,120}", multi in "[\\PC\n\t]{1,300}") {
        accepted_round_trips::<FriendlyName>(&line)?;
        accepted_round_trips::<ContactName>(&line)?;
        accepted_round_trips::<SolutionArea>(&line)?;
        accepted_round_trips::<Comment>(&multi)?;
        accepted_round_trips::<DocumentName>(&line)?;
    }

    #[test]
    fn r_input_money_round_trips(minor in any::<i64>(), currency in currency()) {
        let money = Money::new(minor, currency);
        assert_round_trip(&money)?;
        assert_round_trip(&currency)?;
    }

    #[test]
    fn r_input_hours_round_trip(n in 1_u32..=10_000) {
        assert_round_trip(&Hours::new(n).unwrap())?;
    }

    #[test]
    fn r_input_hours_outside_range_are_refused(n in 10_001_u32..) {
        prop_assert!(Hours::new(n).is_err());
        prop_assert!(n.to_string().parse::<Hours>().is_err());
    }

    #[test]
    fn r_input_digests_and_tokens_round_trip(bytes in any::<[u8; 32]>(), upper in any::<bool>()) {
        let digest = Sha256Digest::from_bytes(bytes);
        assert_round_trip(&digest)?;
        let token = LinkToken::from_bytes(bytes);
        assert_round_trip(&token)?;
        assert_round_trip(&token.hash())?;
        let text = if upper { token.to_string().to_uppercase() } else { token.to_string() };
        prop_assert!(token.hash().matches(&text.parse::<LinkToken>().unwrap()));
        prop_assert_eq!(format!("{token:?}"), "LinkToken(..)");
    }

    #[test]
    fn r_token_2_hashes_match_only_their_token(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
        let (a, b) = (LinkToken::from_bytes(a), LinkToken::from_bytes(b));
        prop_assert_eq!(a.hash().matches(&b), a == b);
    }

    #[test]
    fn r_input_media_types_round_trip(input in media_type_input()) {
        let media: MediaType = input.parse().unwrap();
        prop_assert_eq!(media.as_str(), input.to_ascii_lowercase());
        assert_round_trip(&media)?;
    }

    #[test]
    fn r_claim_w_2_document_refs_round_trip_through_serde(doc in document_ref()) {
        let json = serde_json::to_string(&doc).unwrap();
        prop_assert_eq!(serde_json::from_str::<DocumentRef>(&json).unwrap(), doc);
    }
}

/// Runs every parser on `input`; none may panic.
fn parse_everything(input: &str) {
    fn all<T: FromStr + TryFrom<String> + DeserializeOwned>(input: &str) {
        let _ = input.parse::<T>();
        let _ = T::try_from(input.to_owned());
        let _ = serde_json::from_value::<T>(serde_json::Value::String(input.to_owned()));
    }
    all::<PartnerId>(input);
    all::<EngagementId>(input);
    all::<UserId>(input);
    all::<ReviewerId>(input);
    all::<LocationId>(input);
    all::<NominationId>(input);
    all::<PayoutBatchId>(input);
    all::<TenantId>(input);
    all::<AzureSubscriptionId>(input);
    all::<Tpid>(input);
    all::<MsxOpportunityId>(input);
    all::<Domain>(input);
    all::<EmailAddress>(input);
    all::<FriendlyName>(input);
    all::<ContactName>(input);
    all::<Comment>(input);
    all::<SolutionArea>(input);
    all::<Currency>(input);
    all::<Money>(input);
    all::<Hours>(input);
    all::<Sha256Digest>(input);
    all::<MediaType>(input);
    all::<DocumentName>(input);
    all::<LinkToken>(input);
    all::<TokenHash>(input);
    all::<CustomerId>(input);
    if let Ok(domain) = input.parse::<Domain>() {
        let _ = domain.to_unicode();
    }
    if let Ok(email) = input.parse::<EmailAddress>() {
        let _ = email.to_unicode();
    }
    let _ = serde_json::from_str::<DocumentRef>(input);
    let _ = serde_json::from_str::<Contacts>(input);
    let _ = serde_json::from_str::<EngagementRules>(input);
}

/// Inputs shaped like the values, to reach deeper into the parsers.
fn near_valid() -> impl Strategy<Value = String> {
    prop_oneof![
        "[-0-9a-zA-Z.@<>\\[\\]{}:\" ]{0,80}",
        "-?[0-9]{0,25}(\\.[0-9]{0,6})? [A-Za-z]{0,4}",
        "[0-9a-fA-F-]{30,40}",
        email_input().prop_map(|s| format!("{s}\u{0}")),
        (email_input(), "\\PC{0,3}", 0_usize..40).prop_map(|(s, junk, at)| {
            let at = s.char_indices().nth(at).map_or(s.len(), |(i, _)| i);
            format!("{}{junk}{}", &s[..at], &s[at..])
        }),
        (
            unicode_domain(),
            "[\u{00ad}\u{200d}\u{fe0f}\u{3002}\u{ff0e}.-]{0,4}"
        )
            .prop_map(|(d, junk)| format!("{junk}{d}{junk}")),
        (
            "(tenant|tpid|subscription|msx|TENANT|)[:]{0,2}",
            "[-0-9a-fA-Z{}:]{0,40}"
        )
            .prop_map(|(kind, value)| format!("{kind}{value}")),
    ]
}

proptest! {
    // (b) No input makes a parser panic.

    #[test]
    fn r_input_parsers_never_panic_on_any_string(input in any::<String>()) {
        parse_everything(&input);
    }

    #[test]
    fn r_input_parsers_never_panic_on_printable_strings(input in "\\PC*") {
        parse_everything(&input);
    }

    #[test]
    fn r_input_parsers_never_panic_on_near_valid_strings(input in near_valid()) {
        parse_everything(&input);
    }

    // (c) Money arithmetic never panics; add and sub undo each other.

    #[test]
    fn r_input_money_add_and_sub_are_inverse(
        a in any::<i64>(),
        b in any::<i64>(),
        factor in any::<u32>(),
        currency in currency(),
    ) {
        let (x, y) = (Money::new(a, currency), Money::new(b, currency));
        if let Ok(sum) = x.checked_add(y) {
            prop_assert_eq!(i128::from(sum.minor()), i128::from(a) + i128::from(b));
            prop_assert_eq!(sum.checked_sub(y).unwrap(), x);
        } else {
            prop_assert!(i64::try_from(i128::from(a) + i128::from(b)).is_err());
        }
        if let Ok(difference) = x.checked_sub(y) {
            prop_assert_eq!(difference.checked_add(y).unwrap(), x);
        } else {
            prop_assert!(i64::try_from(i128::from(a) - i128::from(b)).is_err());
        }
        match x.checked_mul(factor) {
            Ok(product) => prop_assert_eq!(i128::from(product.minor()), i128::from(a) * i128::from(factor)),
            Err(_) => prop_assert!(i64::try_from(i128::from(a) * i128::from(factor)).is_err()),
        }
        let smaller = x.min(y).unwrap();
        prop_assert_eq!(smaller.minor(), a.min(b));
        match x.negated() {
            Ok(negative) => prop_assert_eq!(negative.negated().unwrap(), x),
            Err(_) => prop_assert_eq!(a, i64::MIN),
        }
        prop_assert_eq!(x.is_positive(), a > 0);
    }

    #[test]
    fn r_input_money_refuses_mixed_currencies(
        a in any::<i64>(),
        b in any::<i64>(),
        first in 0..CURRENCIES.len(),
        offset in 1..CURRENCIES.len(),
    ) {
        let first_code = CURRENCIES[first];
        let second_code = CURRENCIES[(first + offset) % CURRENCIES.len()];
        let first: Currency = first_code.parse().unwrap();
        let second: Currency = second_code.parse().unwrap();
        let (x, y) = (Money::new(a, first), Money::new(b, second));
        prop_assert!(x.checked_add(y).is_err());
        prop_assert!(x.checked_sub(y).is_err());
        prop_assert!(x.min(y).is_err());
    }
}

// ---------------------------------------------------------------------------
// (d) Text a person reads refuses invisible characters wherever they stand.

/// The bidirectional controls R-INPUT names.
const BIDI_CONTROLS: &[char] = &[
    '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
];

/// A character R-INPUT refuses wherever it stands: a bidirectional control,
/// one of the invisible characters it names, or any other format character
/// (general category Cf, as the regex crate's tables give it) but the two
/// joiners, which are allowed in places.
fn invisible() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::sample::select(BIDI_CONTROLS),
        proptest::sample::select(&['\u{200B}', '\u{2060}', '\u{FEFF}', '\u{00AD}'][..]),
        "[\\p{Cf}--[\u{200C}\u{200D}]]".prop_map(|s| s.chars().next().unwrap()),
    ]
}

/// Printable text with no format character and no line or paragraph
/// separator (which are refused as control characters, before).
const VISIBLE: &str = "[\\PC--[\u{2028}\u{2029}]]{0,40}";

/// `input` parsed as a `T` is refused for `character` at `position`, naming
/// `field`.
fn refused_for<T>(
    input: &str,
    field: &str,
    character: char,
    position: usize,
) -> Result<(), TestCaseError>
where
    T: FromStr<Err = InvalidValue> + Debug,
{
    let err = match input.parse::<T>() {
        Ok(value) => {
            return Err(TestCaseError::fail(format!(
                "{input:?} accepted as {value:?}"
            )));
        }
        Err(err) => err,
    };
    prop_assert_eq!(err.field(), field);
    prop_assert_eq!(err.rule(), "R-INPUT");
    prop_assert_eq!(
        err.problem(),
        &Problem::InvisibleCharacter {
            character,
            position
        }
    );
    Ok(())
}

/// `text` with `c` inserted before its `at`th character (or at its end), and
/// the position `c` ends up at.
fn insert(text: &str, c: char, at: usize) -> (String, usize) {
    let position = at.min(text.chars().count());
    let mut out: String = text.chars().take(position).collect();
    out.push(c);
    out.extend(text.chars().skip(position));
    (out, position)
}

proptest! {
    #[test]
    fn r_input_text_with_an_invisible_character_anywhere_is_refused(
        before in VISIBLE,
        c in invisible(),
        after in VISIBLE,
    ) {
        let input = format!("{before}{c}{after}");
        let at = before.chars().count();
        refused_for::<FriendlyName>(&input, "friendly_name", c, at)?;
        refused_for::<ContactName>(&input, "contact_name", c, at)?;
        refused_for::<Comment>(&input, "comment", c, at)?;
        refused_for::<SolutionArea>(&input, "solution_area", c, at)?;
        refused_for::<DocumentName>(&input, "document_name", c, at)?;
    }

    #[test]
    fn r_input_emails_and_domains_with_an_invisible_character_anywhere_are_refused(
        email in email_input(),
        domain in prop_oneof![ascii_domain(), unicode_domain()],
        c in invisible(),
        at in 0_usize..100,
    ) {
        let (email, position) = insert(&email, c, at);
        refused_for::<EmailAddress>(&email, "email", c, position)?;
        let (domain, position) = insert(&domain, c, at);
        refused_for::<Domain>(&domain, "domain", c, position)?;
    }
}
