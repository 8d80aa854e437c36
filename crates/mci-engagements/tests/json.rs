//! The JSON forms of the service's requests and answers, as a web layer
//! carries them: pinned by snapshots made in the test world (a manual
//! clock, seeded link ids), and read back through every value's own
//! validation, so that a client cannot send what the types would not
//! hold (R-INPUT).
//!
//! Nomination and batch ids hold random bits (UUID v7), so a snapshot
//! names each by the order it first appears in: `"<id 1>"`, `"<id 2>"`;
//! the hashes of the history's chain cover those ids (R-LIST-4), so they
//! are named the same way: `"<hash 1>"`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{
    Availability, Command, ContactsUpdate, CustomerIdInput, DocumentKind, Refusal, SendConsent,
    State, SurveyKind, Tab,
};
use mci_engagements::{
    AddCustomer, ClaimCustomer, OverviewFilter, PageCounts, PageCursor, PartnerCommand,
    ReviewerCommand,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// `value`'s JSON, pretty, with every UUID v7 named by its order.
fn json(value: &impl Serialize) -> String {
    json_naming(value, &[])
}

/// `value`'s JSON, pretty, with each string of `names` (one that holds an
/// id's random bits) replaced by its name, and every UUID v7 named by its
/// order.
fn json_naming(value: &impl Serialize, names: &[(String, &str)]) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    for (string, name) in names {
        text = text.replace(&format!("\"{string}\""), &format!("\"{name}\""));
    }
    text = chain_hashes_named(&text);
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find('"') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let candidate = rest.get(..36);
        match candidate.filter(|c| is_v7(c) && rest[36..].starts_with('"')) {
            Some(id) => {
                let next = names.len() + 1;
                let n = *names.entry(id.to_owned()).or_insert(next);
                out.push_str(&format!("<id {n}>\""));
                rest = &rest[37..];
            }
            None => {
                // Copy the string's text and its closing quote as they are.
                let end = string_end(rest);
                out.push_str(&rest[..=end]);
                rest = &rest[end + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` with every hash of a history's chain (the members `last_hash`,
/// `previous`, `hash` and `seen` holding 64 hex digits) named by its order.
fn chain_hashes_named(text: &str) -> String {
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let named = [
            "\"last_hash\": \"",
            "\"previous\": \"",
            "\"hash\": \"",
            "\"seen\": \"",
        ]
        .iter()
        .find_map(|key| {
            let at = line.find(key)? + key.len();
            let hash = line.get(at..at + 64)?;
            (hash.chars().all(|c| c.is_ascii_hexdigit()) && line[at + 64..].starts_with('"'))
                .then_some((at, hash))
        });
        match named {
            Some((at, hash)) => {
                let next = names.len() + 1;
                let n = *names.entry(hash.to_owned()).or_insert(next);
                out.push_str(&line[..at]);
                out.push_str(&format!("<hash {n}>"));
                out.push_str(&line[at + 64..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Where the JSON string that `text` starts inside of ends: the index of
/// its closing quote.
fn string_end(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    panic!("an unterminated string in serde_json's output")
}

fn is_v7(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            14 => c == '7',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Reads `value`'s JSON back and checks it is `value`.
fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let text = serde_json::to_string(value).unwrap();
    assert_eq!(&serde_json::from_str::<T>(&text).unwrap(), value, "{text}");
}

#[test]
fn ids_are_named_by_their_first_appearance() {
    let one = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    let two = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c";
    let text = json(&serde_json::json!({"a": [one, two, one, "tenant:x", "a \"quoted\" 7"]}));
    assert!(
        text.contains(
            r#""<id 1>",
    "<id 2>",
    "<id 1>",
    "tenant:x""#
        ),
        "{text}"
    );
    assert!(!text.contains(one));
}

// --- requests ----------------------------------------------------------

#[test]
fn r_add_1_the_add_form_reads_back_from_its_json() {
    let w = World::new();
    let mut form = w.form(
        &admin(PARTNER_A),
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop, &w.assessment],
    );
    form.mismatch_reason = Some(comment("The customer mails from its parent's domain."));
    insta::assert_snapshot!("add_customer", json(&form));
    round_trips(&form);
    form.customer_id = CustomerIdInput::TenantId(tenant(CONTOSO));
    form.hours = Some(hours(40));
    round_trips(&form);
}

#[test]
fn r_claim_2_the_claim_form_reads_back_from_its_json() {
    let form = ClaimCustomer {
        known_through: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".parse().unwrap(),
        friendly_name: "Contoso, second workshop".parse().unwrap(),
        location: location(LOC_A),
        engagements: vec!["ai-workshop".parse().unwrap()],
        customer_contacts: None,
        partner_contacts: Some(contacts("Ada Partner", "ada@partner.example")),
        hours: None,
    };
    insta::assert_snapshot!("claim_customer", json(&form));
    round_trips(&form);
}

#[test]
fn r_consent_2_the_consent_details_and_contact_changes_read_back_from_their_json() {
    let details = SendConsent {
        customer_contacts: Some(contacts("Carla Customer", "cio@contoso.example")),
        partner_contacts: None,
        estimated_deal_size: Some(eur(25_000_000)),
    };
    insta::assert_snapshot!("send_consent", json(&details));
    round_trips(&details);
    round_trips(&SendConsent::default());
    let update = ContactsUpdate {
        customer: None,
        partner: Some(contacts("Ada Partner", "ada@partner.example")),
    };
    insta::assert_snapshot!("contacts_update", json(&update));
    round_trips(&update);
}

#[test]
fn r_eng_7_the_overview_filter_reads_back_from_its_json() {
    let filter = OverviewFilter {
        location: Some(location(LOC_A)),
        availability: Some(Availability::Active),
        solution_area: Some("Data & AI".parse().unwrap()),
    };
    insta::assert_snapshot!("overview_filter", json(&filter));
    round_trips(&filter);
    round_trips(&OverviewFilter::default());
}

#[test]
fn every_partner_and_reviewer_command_reads_back_from_its_json() {
    let w = World::new();
    let id: mci_core::NominationId = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".parse().unwrap();
    let batch: mci_core::PayoutBatchId = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c".parse().unwrap();
    let form = w.form(
        &admin(PARTNER_A),
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let partner = vec![
        PartnerCommand::ReviewAdd {
            input: form.clone(),
        },
        PartnerCommand::AddCustomer { input: form },
        PartnerCommand::ClaimCustomer {
            input: ClaimCustomer {
                known_through: id,
                friendly_name: "Contoso, second workshop".parse().unwrap(),
                location: location(LOC_A),
                engagements: vec![w.workshop.id().clone()],
                customer_contacts: None,
                partner_contacts: None,
                hours: None,
            },
        },
        PartnerCommand::Nomination { nomination: id },
        PartnerCommand::History { nomination: id },
        PartnerCommand::CustomersPage {
            engagement: w.workshop.id().clone(),
            tab: Tab::Eligible,
            cursor: Some(PageCursor::after_nomination(id)),
            limit: 20,
        },
        PartnerCommand::Overview {
            filter: OverviewFilter::default(),
        },
        PartnerCommand::Attention { limit: 20 },
        PartnerCommand::SendConsent {
            nomination: id,
            input: SendConsent::default(),
        },
        PartnerCommand::ResendConsent { nomination: id },
        PartnerCommand::UpdateContacts {
            nomination: id,
            input: ContactsUpdate::default(),
        },
        PartnerCommand::AttachDocument {
            nomination: id,
            kind: DocumentKind::Invoice,
            document: document("invoice.pdf"),
        },
        PartnerCommand::SendSurvey {
            nomination: id,
            survey: SurveyKind::Customer,
        },
        PartnerCommand::AddComment {
            nomination: id,
            text: comment("Held on site."),
        },
        PartnerCommand::Submit { nomination: id },
        PartnerCommand::Dispute {
            nomination: id,
            reason: comment("The invoice names the customer."),
        },
        PartnerCommand::Cancel { nomination: id },
    ];
    insta::assert_snapshot!("partner_commands", json(&partner));
    partner.iter().for_each(round_trips);
    // The hash of the last event the reviewer read (R-LIST-4).
    let seen = mci_core::Sha256Digest::from_bytes([0x9f; 32]);
    let reviewer = vec![
        ReviewerCommand::ReviewQueue {
            after: None,
            limit: 20,
        },
        ReviewerCommand::ClaimForReview { nomination: id },
        ReviewerCommand::StartReview {
            nomination: id,
            seen,
        },
        ReviewerCommand::RequestPartnerAction {
            nomination: id,
            seen,
            note: comment("Attach the signed attendance list."),
        },
        ReviewerCommand::Approve {
            nomination: id,
            seen,
        },
        ReviewerCommand::Reject {
            nomination: id,
            seen,
            reason: comment("The invoice does not name the customer."),
        },
        ReviewerCommand::RunPayout { limit: 100 },
        ReviewerCommand::PayoutBatch { batch },
        ReviewerCommand::ReversePayment {
            batch,
            nomination: id,
            seen,
        },
    ];
    insta::assert_snapshot!("reviewer_commands", json(&reviewer));
    reviewer.iter().for_each(round_trips);
}

#[test]
fn r_input_a_client_cannot_smuggle_an_invalid_value_in_json() {
    let w = World::new();
    let form = w.form(
        &admin(PARTNER_A),
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let valid = serde_json::to_value(&form).unwrap();
    serde_json::from_value::<AddCustomer>(valid.clone()).unwrap();
    let with = |pointer: &str, value: serde_json::Value| {
        let mut json = valid.clone();
        *json.pointer_mut(pointer).unwrap() = value;
        json
    };
    let cases = [
        (
            "an email without a domain",
            with("/customer_email", "cio@".into()),
            "email",
        ),
        (
            "a bidirectional override in a name",
            with("/friendly_name", "Contoso\u{202E} AI".into()),
            "friendly_name",
        ),
        (
            "an empty name",
            with("/friendly_name", "   ".into()),
            "friendly_name",
        ),
        (
            "a location that is not one",
            with("/location", "12a".into()),
            "location_id",
        ),
        (
            "an engagement id with spaces",
            with("/engagements/0", "ai workshop".into()),
            "engagement",
        ),
        (
            "no contact",
            with("/customer_contacts", serde_json::json!([])),
            "contacts",
        ),
        (
            "a contact name with a control character",
            with("/partner_contacts/0/name", "Ada\u{7}".into()),
            "name",
        ),
        (
            "hours that are not a number",
            with("/hours", "many".into()),
            "hours",
        ),
        (
            "a tenant id that is not a GUID",
            with(
                "/customer_id",
                serde_json::json!({"type": "tenant_id", "value": "contoso"}),
            ),
            "tenant_id",
        ),
    ];
    for (what, json, field) in cases {
        let refused = serde_json::from_value::<AddCustomer>(json).unwrap_err();
        assert!(refused.to_string().contains(field), "{what}: {refused}");
    }
    // A member the form does not have is refused, not ignored.
    let mut extra = valid.clone();
    extra["partner"] = "partner-b".into();
    let refused = serde_json::from_value::<AddCustomer>(extra).unwrap_err();
    assert!(refused.to_string().contains("unknown field"), "{refused}");

    let commands = [
        (
            serde_json::json!({"command": "cancel", "nomination": "not-an-id"}),
            "nomination",
        ),
        (
            serde_json::json!({"command": "send_consent", "nomination": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "input": {"estimated_deal_size": "5.001 EUR"}}),
            "money",
        ),
        (
            serde_json::json!({"command": "add_comment", "nomination": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "text": ""}),
            "comment",
        ),
        (
            serde_json::json!({"command": "delete_everything"}),
            "unknown variant",
        ),
        (
            serde_json::json!({"command": "cancel", "nomination": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "partner": "partner-b"}),
            "unknown field",
        ),
    ];
    for (json, expected) in commands {
        let refused = serde_json::from_value::<PartnerCommand>(json.clone()).unwrap_err();
        assert!(refused.to_string().contains(expected), "{json}: {refused}");
    }
    let refused = serde_json::from_value::<ReviewerCommand>(
        serde_json::json!({"command": "reject", "nomination": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "seen": "9f".repeat(32), "reason": "\u{202E}"}),
    )
    .unwrap_err();
    assert!(refused.to_string().contains("comment"), "{refused}");
}

// --- answers -----------------------------------------------------------

#[tokio::test]
async fn r_add_10_the_review_step_answers_its_json() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(
        &a,
        "it@northwind.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop, &w.assessment],
    );
    let review = w.service.review_add(&a, &form).await.unwrap();
    insta::assert_snapshot!("nomination_review", json(&review));
}

#[tokio::test]
async fn r_add_9_an_add_answers_its_nominations_json() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let added = w.service.add_customer(&a, &form).await.unwrap();
    insta::assert_snapshot!("added", json(&added));
}

#[tokio::test]
async fn r_list_5_the_review_step_and_the_add_answer_their_warnings_json() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.add(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &w.workshop,
    )
    .await;
    // The same organisation under its TPID.
    let form = w.form(
        &a,
        "cio@contoso.example",
        CustomerIdInput::Tpid(tpid(CONTOSO_TPID)),
        &[&w.workshop],
    );
    let review = w.service.review_add(&a, &form).await.unwrap();
    insta::assert_snapshot!("review_warnings", json(&review.warnings));
    let added = w.service.add_customer(&a, &form).await.unwrap();
    assert_eq!(added.warnings, review.warnings);
    insta::assert_snapshot!("added_warnings", json(&added.warnings));
    round_trips(&added);
    // An answer kept before warnings reads back with none.
    let mut old = serde_json::to_value(&added).unwrap();
    old.as_object_mut().unwrap().remove("warnings");
    let old: mci_engagements::Added = serde_json::from_value(old).unwrap();
    assert!(old.warnings.is_empty());
}

#[tokio::test]
async fn r_consent_2_a_nomination_asking_for_consent_answers_its_json_and_its_invitation() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w
        .add(
            &a,
            "cio@contoso.example",
            CustomerIdInput::EmailOnly,
            &w.workshop,
        )
        .await;
    let token = w.send_consent(&a, &id).await;
    insta::assert_snapshot!(
        "nomination",
        json(&w.service.nomination(&a, &id).await.unwrap())
    );
    insta::assert_snapshot!("history", json(&w.service.history(&a, &id).await.unwrap()));
    let invitation = w.service.open_consent(&token).await.unwrap();
    insta::assert_snapshot!("consent_invitation", json(&invitation));
}

#[tokio::test]
async fn r_page_a_customers_page_answers_its_json_with_its_cursor_as_a_string() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.consented(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &w.workshop,
    )
    .await;
    w.consented_subscription(&a, 1, &w.assessment).await;
    let first = w
        .service
        .customers_page(&a, w.workshop.id(), Tab::Eligible, None, 1)
        .await
        .unwrap();
    let cursor = first.next.clone().unwrap();
    let mci_engagements::CustomerRow::Nomination(row) = &first.rows[0] else {
        panic!("the partner's nominations come first (R-PAGE-2)")
    };
    assert_eq!(cursor, PageCursor::after_nomination(row.nomination));
    // The cursor holds the id's random bits: named in the snapshot.
    let named = [(cursor.to_string(), "<cursor after the first row>")];
    insta::assert_snapshot!("customers_page_first", json_naming(&first, &named));
    let next = w
        .service
        .customers_page(&a, w.workshop.id(), Tab::Eligible, first.next, 1)
        .await
        .unwrap();
    insta::assert_snapshot!("customers_page_known", json(&next));
    assert_eq!(
        next.counts,
        PageCounts {
            eligible: 2,
            not_checked: 1,
            ineligible: 0,
            complete: 0
        }
    );
}

#[tokio::test]
async fn r_eng_7_the_overview_answers_its_json() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.add(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &w.workshop,
    )
    .await;
    w.advance_days(25);
    let filter = OverviewFilter {
        solution_area: Some("Data & AI".parse().unwrap()),
        ..OverviewFilter::default()
    };
    let overview = w.service.overview(&a, &filter).await.unwrap();
    assert_eq!(
        overview.action_needed.len(),
        1,
        "the consent lapses in five days"
    );
    insta::assert_snapshot!("overview", json(&overview));
}

#[tokio::test]
async fn r_time_4_a_sweep_answers_its_report_json() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w
        .add(
            &a,
            "cio@contoso.example",
            CustomerIdInput::EmailOnly,
            &w.workshop,
        )
        .await;
    w.send_consent(&a, &id).await;
    w.advance_days(31);
    let report = w.service.sweep().await.unwrap();
    assert_eq!(report.lapsed, 1);
    insta::assert_snapshot!("sweep_report", json(&report));
}

#[tokio::test]
async fn r_claim_w_9_a_review_queue_and_a_payout_run_answer_their_json() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.submitted_subscription(&a, 1, &w.workshop).await;
    insta::assert_snapshot!(
        "review_queue",
        json(&w.service.review_queue(None, 10).await.unwrap())
    );
    w.review_and_approve(&id).await;
    let run = w.service.run_payout(reviewer(), 10).await.unwrap();
    insta::assert_snapshot!("payout_run", json(&run));
    round_trips(&run);
}

#[tokio::test]
async fn r_list_4_a_decision_and_its_stale_refusal_answer_their_json() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.submitted_subscription(&a, 1, &w.workshop).await;
    w.service
        .start_review(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    // A decision on a head the claim has moved on from (R-LIST-4).
    let read = w.seen(&id).await;
    w.service
        .add_comment(&a, &id, comment("The agenda is attached."))
        .await
        .unwrap();
    let stale = w.refused(w.service.approve(reviewer(), &id, read)).await;
    insta::assert_snapshot!("stale_head", json(&stale));
    w.service
        .approve(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    // The decisions' events cite the hash of the event before them
    // (R-LIST-4): `seen` names the same hash as `previous`.
    let history = w.service.history(&a, &id).await.unwrap();
    insta::assert_snapshot!("decisions", json(&history[history.len() - 3..].to_vec()));
}

#[tokio::test]
async fn refusals_answer_their_json_with_the_fields_they_name() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let not_now = w.refused(w.service.submit(&a, &id)).await;
    let mismatch = w
        .refused(w.service.add_customer(
            &a,
            &AddCustomer {
                customer_id: CustomerIdInput::TenantId(tenant(FABRIKAM)),
                ..w.form(
                    &a,
                    "cio@contoso.example",
                    CustomerIdInput::EmailOnly,
                    &[&w.workshop],
                )
            },
        ))
        .await;
    let refused = w
        .refused(w.service.add_customer(
            &a,
            &w.form(
                &a,
                "it@northwind.example",
                CustomerIdInput::EmailOnly,
                &[&w.workshop],
            ),
        ))
        .await;
    let refusals: Vec<Refusal> = [not_now, mismatch, refused]
        .into_iter()
        .map(|e| match e {
            mci_engagements::Error::Refused(r) => r,
            other => panic!("expected a refusal, got {other:?}"),
        })
        .chain([
            Refusal::NotAllowedNow {
                command: Command::Dispute,
                state: State::Approved,
            },
            Refusal::InvalidLink,
            "cio@"
                .parse::<mci_core::EmailAddress>()
                .unwrap_err()
                .for_field("customer_email")
                .into(),
            "AQEAAAAA".parse::<PageCursor>().unwrap_err().into(),
        ])
        .collect();
    insta::assert_snapshot!("refusals", json(&refusals));
}

#[tokio::test]
async fn r_list_1_a_claims_page_answers_its_json_with_its_cursor_as_a_string() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.submitted_subscription(&a, 1, &w.workshop).await;
    w.advance(chrono::TimeDelta::hours(1));
    w.add_subscription(&a, 2, &w.assessment).await;
    let request: mci_engagements::ClaimsRequest = serde_json::from_str(
        r#"{"order": "changed", "limit": 1,
            "search": {"email_domain": "customer1.example", "scan": 5}}"#,
    )
    .unwrap();
    insta::assert_snapshot!("claims_request", json(&request));
    round_trips(&request);
    let first = w.service.claims(&a, &request).await.unwrap();
    let cursor = first.next.unwrap().to_string();
    let named = [(cursor.clone(), "<cursor>")];
    insta::assert_snapshot!("claims_page_first", json_naming(&first, &named));
    let next = mci_engagements::ClaimsRequest {
        cursor: Some(cursor.parse().unwrap()),
        ..request
    };
    let second = w.service.claims(&a, &next).await.unwrap();
    insta::assert_snapshot!("claims_page_second", json(&second));
    insta::assert_snapshot!(
        "reviewer_claims_page",
        json(
            &w.service
                .reviewer_claims(&mci_engagements::ClaimsRequest::default())
                .await
                .unwrap()
        )
    );
}

#[tokio::test]
async fn r_list_3_attention_required_answers_its_json() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.submitted_subscription(&a, 1, &w.workshop).await;
    w.service
        .start_review(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    w.service
        .request_partner_action(
            reviewer(),
            &id,
            w.seen(&id).await,
            comment("Attach the agenda."),
        )
        .await
        .unwrap();
    let attention = w.service.attention(&a, 20).await.unwrap();
    insta::assert_snapshot!("attention", json(&attention));
    round_trips(&attention);
}
