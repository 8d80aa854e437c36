//! The page cursor as the string a web client carries in a query string
//! (R-PAGE, R-INPUT): it round-trips, and a malformed or changed one is a
//! typed error naming the field `cursor`, never a panic, that changes
//! nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{CustomerId, NominationId, Problem, Tab};
use mci_engagements::{PageCursor, PartnerCommand};
use proptest::prelude::*;

fn cursors() -> impl Strategy<Value = PageCursor> {
    let nomination = (0u64..(1 << 48), any::<[u8; 10]>()).prop_map(|(millis, random)| {
        PageCursor::after_nomination(NominationId::new_v7(millis, random))
    });
    let customer = prop_oneof![
        any::<u128>().prop_map(|n| {
            let id = uuid::Uuid::from_u128(n).hyphenated().to_string();
            format!("subscription:{id}")
        }),
        (1u64..u64::from(u32::MAX)).prop_map(|n| format!("tpid:{n}")),
        "[A-Za-z0-9-]{1,20}".prop_map(|id| format!("msx:{id}")),
    ]
    .prop_filter_map("a customer id", |text| text.parse::<CustomerId>().ok());
    prop_oneof![
        nomination,
        Just(PageCursor::after_known_customer(None)),
        customer.prop_map(|c| PageCursor::after_known_customer(Some(c))),
    ]
}

/// Whether `text` is of base64url's alphabet, without padding.
fn url_safe(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

proptest! {
    #[test]
    fn r_page_any_cursor_round_trips_through_its_url_safe_string(cursor in cursors()) {
        let text = cursor.to_string();
        prop_assert!(url_safe(&text), "{text} is not URL-safe");
        prop_assert_eq!(text.parse::<PageCursor>().unwrap(), cursor.clone());
        let json = serde_json::to_value(&cursor).unwrap();
        prop_assert_eq!(&json, &serde_json::Value::String(text));
        prop_assert_eq!(serde_json::from_value::<PageCursor>(json).unwrap(), cursor);
    }

    #[test]
    fn r_input_any_string_parses_as_a_cursor_or_is_refused_naming_cursor(text in any::<String>()) {
        match text.parse::<PageCursor>() {
            Ok(cursor) => prop_assert_eq!(cursor.to_string(), text),
            Err(refused) => prop_assert_eq!(refused.field(), "cursor"),
        }
    }

    #[test]
    fn r_input_any_string_of_the_cursor_alphabet_parses_or_is_refused_naming_cursor(
        text in "[A-Za-z0-9_-]{0,80}",
    ) {
        match text.parse::<PageCursor>() {
            Ok(cursor) => prop_assert_eq!(cursor.to_string(), text),
            Err(refused) => prop_assert_eq!(refused.field(), "cursor"),
        }
    }

    #[test]
    fn r_input_a_cursor_changed_in_one_character_is_refused(
        cursor in cursors(),
        at in any::<prop::sample::Index>(),
        by in any::<prop::sample::Index>(),
    ) {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut text = cursor.to_string().into_bytes();
        let at = at.index(text.len());
        let replacement = ALPHABET[by.index(ALPHABET.len())];
        prop_assume!(text[at] != replacement);
        text[at] = replacement;
        let text = String::from_utf8(text).unwrap();
        let refused = text.parse::<PageCursor>().unwrap_err();
        prop_assert_eq!(refused.field(), "cursor");
    }
}

#[test]
fn r_input_refusals_of_a_cursor_say_what_is_wrong_without_quoting_it() {
    for (text, expected) in [
        ("", Problem::Empty),
        (
            "%%%",
            Problem::Syntax("not a page cursor: not base64url without padding".into()),
        ),
        (
            "AQE",
            Problem::Syntax("not a page cursor: too short".into()),
        ),
        (
            "AQEAAAAA",
            Problem::Syntax("not a page cursor: changed since it was given".into()),
        ),
    ] {
        let refused = text.parse::<PageCursor>().unwrap_err();
        assert_eq!(refused.field(), "cursor", "{text:?}");
        assert_eq!(refused.rule(), "R-INPUT", "{text:?}");
        assert_eq!(refused.problem(), &expected, "{text:?}");
    }
    let long = "A".repeat(10_000);
    assert_matches!(
        long.parse::<PageCursor>().unwrap_err().problem(),
        Problem::TooLong { actual: 10_000, .. }
    );
}

#[test]
fn r_input_a_cursor_in_a_command_is_read_through_its_validation() {
    let json = |cursor: &str| {
        serde_json::json!({
            "command": "customers_page",
            "engagement": "ai-workshop",
            "tab": "eligible",
            "cursor": cursor,
            "limit": 20,
        })
    };
    let refused = serde_json::from_value::<PartnerCommand>(json("AQEAAAAA")).unwrap_err();
    assert!(refused.to_string().contains("cursor"), "{refused}");
    let cursor = PageCursor::after_known_customer(None);
    let command = serde_json::from_value::<PartnerCommand>(json(&cursor.to_string())).unwrap();
    assert_matches!(command, PartnerCommand::CustomersPage { cursor: Some(c), .. } if c == cursor);
}

#[tokio::test]
async fn r_page_pages_walked_by_the_cursors_strings_are_the_pages_walked_by_the_cursors() {
    let w = World::new();
    let a = admin(PARTNER_A);
    for n in 1..=5 {
        w.add_subscription(&a, n, &w.workshop).await;
    }
    // Customers a partner knows show after its nominations (R-PAGE-2).
    w.consented_subscription(&a, 6, &w.assessment).await;
    w.consented_subscription(&a, 7, &w.assessment).await;
    let (expected, _) = w.walk(&a, &w.workshop, Tab::Eligible, 2).await;
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let page = w
            .service
            .customers_page(
                &a,
                w.workshop.id(),
                Tab::Eligible,
                cursor.as_deref().map(|c| c.parse().unwrap()),
                2,
            )
            .await
            .unwrap();
        rows.extend(page.rows);
        match page.next {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(rows, expected);
    assert_eq!(rows.len(), 7, "five nominations and two known customers");
}
