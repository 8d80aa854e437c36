//! Bad input through the service (R-INPUT): every value is validated before
//! anything is written and refused with a typed error naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{
    Comment, Contacts, ContactsUpdate, DocumentRef, EmailAddress, FriendlyName, Hours,
    InvalidValue, LocationId, Money, MsxOpportunityId, PartnerUser, Problem, Refusal, SendConsent,
    Tpid,
};
use mci_engagements::{AddCustomer, Call, Error};

fn field<T: std::fmt::Debug>(parsed: Result<T, InvalidValue>) -> String {
    parsed.unwrap_err().field().to_string()
}

#[test]
fn r_input_the_values_of_a_form_are_refused_at_construction_naming_their_field() {
    assert_eq!(
        field("cio@@contoso.example".parse::<EmailAddress>()),
        "email"
    );
    assert_eq!(
        field(format!("{}@contoso.example", "a".repeat(250)).parse::<EmailAddress>()),
        "email"
    );
    assert_eq!(
        field("Carla <cio@contoso.example>".parse::<EmailAddress>()),
        "email"
    );
    assert_eq!(field("0".parse::<Tpid>()), "tpid");
    assert_eq!(field("-5".parse::<Tpid>()), "tpid");
    assert_eq!(field("12ab".parse::<LocationId>()), "location_id");
    assert_eq!(
        field("OPP-1".parse::<MsxOpportunityId>()),
        "msx_opportunity_id"
    );
    assert_eq!(
        field("not-a-guid".parse::<mci_core::TenantId>()),
        mci_core::TenantId::FIELD
    );
    assert_eq!(
        field("line\nbreak".parse::<FriendlyName>()),
        "friendly_name"
    );
    assert_eq!(
        field("x".repeat(101).parse::<FriendlyName>()),
        "friendly_name"
    );
    assert_eq!(field("x".repeat(2001).parse::<Comment>()), "comment");
    assert_eq!(field(Hours::new(0)), "hours");
    assert_eq!(field("1.234 EUR".parse::<Money>()), "money");
    assert_eq!(
        "12.5 EUR".parse::<Money>().unwrap(),
        eur(1_250),
        "integer minor units"
    );
    assert_eq!(field("10.00 XYZ".parse::<Money>()), "money");
    assert_eq!(
        field(DocumentRef::new(
            "invoice.pdf".parse().unwrap(),
            "application/pdf".parse().unwrap(),
            0,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                .parse()
                .unwrap(),
        )),
        "size_bytes"
    );
    assert_eq!(field("9f86".parse::<mci_core::Sha256Digest>()), "sha256");
    // Internationalised domains are kept in their ASCII form, lowercase.
    let email: EmailAddress = "Einkauf@Bücher.Example".parse().unwrap();
    assert_eq!(email.domain().as_str(), "xn--bcher-kva.example");
    assert_eq!(email.local_part(), "Einkauf");
}

#[tokio::test]
async fn r_input_a_bad_idempotency_key_is_refused_before_anything_is_written() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(&a, "it@customer1.example", subscription(1), &[&w.workshop]);
    for key in ["", "with space", &"k".repeat(129)] {
        let error = w
            .refused(
                w.service
                    .add_customer(Call::new(a.clone()).idempotency_key(key), &form),
            )
            .await;
        assert_matches!(
            error,
            Error::Refused(Refusal::Invalid(ref invalid)) if invalid.field() == "idempotency_key"
        );
        assert_eq!(error.rule(), Some("R-REC-5"));
    }
}

#[tokio::test]
async fn r_input_an_estimated_deal_size_must_be_positive() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    for minor in [0, -100] {
        let error = w
            .refused(w.service.send_consent(
                &a,
                &id,
                SendConsent {
                    estimated_deal_size: Some(eur(minor)),
                    ..SendConsent::default()
                },
            ))
            .await;
        assert_matches!(
            error,
            Error::Refused(Refusal::Invalid(ref invalid)) if invalid.field() == "estimated_deal_size"
        );
    }
}

#[tokio::test]
async fn r_input_an_empty_contact_update_is_refused() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let error = w
        .refused(
            w.service
                .update_contacts(&a, &id, ContactsUpdate::default()),
        )
        .await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Invalid(ref invalid)) if invalid.field() == "contacts"
    );
}

#[tokio::test]
async fn r_input_unknown_engagements_are_refused_and_nothing_is_written() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut form = w.form(&a, "it@customer1.example", subscription(1), &[&w.workshop]);
    form.engagements.push("no-such-engagement".parse().unwrap());
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_matches!(error, Error::UnknownEngagement(ref id) if id.as_str() == "no-such-engagement");
    let error = w
        .refused(w.service.customers_page(
            &a,
            &"no-such-engagement".parse().unwrap(),
            mci_core::Tab::Eligible,
            None,
            10,
        ))
        .await;
    assert_matches!(error, Error::UnknownEngagement(_));
}

/// The add form as a handler reads it from what a partner typed: each value
/// parsed, a refusal renamed to the form's field.
fn typed_form(
    w: &World,
    user: &PartnerUser,
    friendly_name: &str,
    customer_email: &str,
    contact_name: &str,
) -> Result<AddCustomer, InvalidValue> {
    let mut form = w.form(
        user,
        "it@customer1.example",
        subscription(1),
        &[&w.workshop],
    );
    form.friendly_name = friendly_name
        .parse()
        .map_err(|e: InvalidValue| e.for_field("friendly_name"))?;
    form.customer_email = customer_email
        .parse()
        .map_err(|e: InvalidValue| e.for_field("customer_email"))?;
    form.customer_contacts = Contacts::one(contact_name.parse()?, form.customer_email.clone());
    Ok(form)
}

#[tokio::test]
async fn r_input_invisible_characters_in_an_add_form_are_refused_and_joiners_kept() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let email = "it@customer1.example";
    let before = w.snapshot();
    for (name, customer_email, contact, field) in [
        ("Contoso\u{202E}latipsoH", email, "Carla", "friendly_name"),
        ("Contoso\u{200B}", email, "Carla", "friendly_name"),
        (
            "Contoso",
            "it\u{202E}elpmaxe.live@customer1.example",
            "Carla",
            "customer_email",
        ),
        (
            "Contoso",
            "it@customer1\u{00AD}.example",
            "Carla",
            "customer_email",
        ),
        ("Contoso", email, "\u{200D}Carla", "contact_name"),
        ("Contoso", email, "Carla\u{200F}", "contact_name"),
    ] {
        let err = typed_form(&w, &a, name, customer_email, contact).unwrap_err();
        assert_eq!(
            err.field(),
            field,
            "{name:?} {customer_email:?} {contact:?}"
        );
        assert_eq!(err.rule(), "R-INPUT");
        assert_matches!(err.problem(), Problem::InvisibleCharacter { .. });
    }
    assert!(w.snapshot() == before, "a refused form wrote something");

    // A Persian name with its non-joiner and a Malayalam contact name ending
    // in a chillu (virama + joiner) go through and are kept as typed.
    let form = typed_form(&w, &a, "می\u{200C}خواهم", email, "അവന്\u{200D}").unwrap();
    let added = w.service.add_customer(&a, &form).await.unwrap();
    let stored = w.stored(added.nominations[0].id());
    assert_eq!(stored.friendly_name().as_str(), "می\u{200C}خواهم");
    assert_eq!(
        stored.customer_contacts().as_slice()[0].name.as_str(),
        "അവന്\u{200D}"
    );
    assert_eq!(w.snapshot().nominations.len(), 1);
}
