//! Errors a caller can act on: each case a user can provoke through the
//! service sorts into one kind, one HTTP status and one stable code, says
//! why in its message, and serialises as a problem object (RFC 9457).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use async_trait::async_trait;
use common::*;
use mci_core::{Domain, LinkToken, SurveyKind, TenantId, Tpid};
use mci_engagements::ports::{
    HmacLinkKey, InMemoryPartnerDirectory, PermissiveEligibility, PortError, TenantDirectory,
};
use mci_engagements::{Call, ClaimCustomer, Error, ErrorKind, Incentives};
use mci_store::StoreError;
use mci_store_memory::MemoryStore;
use serde_json::{Value, json};
use std::sync::Arc;

/// Checks the error's kind, its status, its code and whether it is
/// retryable, and that its problem object says the same.
fn assert_case(error: &Error, kind: ErrorKind, status: u16, code: &str) {
    assert_eq!(error.kind(), kind, "{error}");
    assert_eq!(kind.http_status(), status);
    assert_eq!(error.code(), code, "{error}");
    assert_eq!(
        error.is_retryable(),
        matches!(kind, ErrorKind::Busy | ErrorKind::Unavailable),
        "{error}"
    );
    let problem = serde_json::to_value(error).unwrap();
    assert_eq!(problem["status"], json!(status), "{problem}");
    assert_eq!(problem["code"], json!(code), "{problem}");
    assert_eq!(problem["kind"], json!(kind.as_str()), "{problem}");
    assert_eq!(problem["detail"], json!(error.to_string()), "{problem}");
}

#[tokio::test]
async fn r_role_1_a_role_that_may_not_act_for_the_partner_is_forbidden_403() {
    let w = World::new();
    let form = w.form(
        &admin(PARTNER_A),
        "it@customer1.example",
        subscription(1),
        &[&w.workshop],
    );
    let error = w
        .refused(w.service.add_customer(&account_admin(PARTNER_A), &form))
        .await;
    assert_case(&error, ErrorKind::Forbidden, 403, "role_not_allowed");
    assert_eq!(error.rule(), Some("R-ROLE-1"));
}

#[tokio::test]
async fn r_role_2_another_partners_nomination_answers_404_exactly_as_a_missing_one() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let theirs = w
        .refused(w.service.nomination(&admin(PARTNER_B), &id))
        .await;
    assert_case(&theirs, ErrorKind::NotFound, 404, "nomination_not_found");
    let missing = w
        .refused(
            w.service
                .nomination(&admin(PARTNER_B), &subscription_nomination()),
        )
        .await;
    assert_eq!(
        serde_json::to_string(&theirs).unwrap(),
        serde_json::to_string(&missing).unwrap(),
        "the answer tells nothing about whether the nomination exists"
    );
    assert_eq!(
        serde_json::to_value(&theirs).unwrap(),
        json!({
            "title": "Not Found",
            "status": 404,
            "detail": "no such nomination (R-ROLE-2)",
            "kind": "not_found",
            "code": "nomination_not_found",
            "rule": "R-ROLE-2",
        })
    );
}

/// A nomination id nobody has.
fn subscription_nomination() -> mci_core::NominationId {
    mci_core::NominationId::new_v7(1, [7; 10])
}

#[tokio::test]
async fn not_found_an_unknown_engagement_a_wrong_link_and_an_unknown_customer_are_all_404() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let error = w
        .refused(w.service.customers_page(
            &a,
            &"no-such-engagement".parse().unwrap(),
            mci_core::Tab::Eligible,
            None,
            10,
        ))
        .await;
    assert_case(&error, ErrorKind::NotFound, 404, "engagement_not_found");
    assert_eq!(error.to_string(), "no engagement no-such-engagement");

    // R-TOKEN-3: a wrong link, for consent or a survey, says no more.
    let wrong = LinkToken::from_bytes([9; 32]);
    for error in [
        w.refused(w.service.accept_consent(&wrong)).await,
        w.refused(w.service.complete_survey(&wrong)).await,
    ] {
        assert_case(&error, ErrorKind::NotFound, 404, "link_not_valid");
        assert_eq!(error.rule(), Some("R-TOKEN-3"));
    }

    // R-CLAIM-1: claiming through a nomination the partner does not have.
    let theirs = w
        .consented_subscription(&admin(PARTNER_B), 2, &w.workshop)
        .await;
    let form = ClaimCustomer {
        known_through: theirs,
        friendly_name: "Customer 2, again".parse().unwrap(),
        location: location(LOC_A),
        engagements: vec![w.assessment.id().clone()],
        customer_contacts: None,
        partner_contacts: None,
        hours: None,
    };
    let error = w.refused(w.service.claim_customer(&a, &form)).await;
    assert_case(&error, ErrorKind::NotFound, 404, "customer_not_known");
    assert_eq!(error.rule(), Some("R-CLAIM-1"));
}

#[tokio::test]
async fn r_input_a_refused_value_is_422_naming_its_field_and_rule() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let error = w
        .refused(
            w.service
                .cancel(Call::new(a.clone()).idempotency_key(""), &id),
        )
        .await;
    assert_case(&error, ErrorKind::InvalidInput, 422, "invalid_value");
    assert_eq!(error.field(), Some("idempotency_key"));
    assert_eq!(error.rule(), Some("R-REC-5"));
    assert_eq!(
        serde_json::to_value(&error).unwrap(),
        json!({
            "title": "Unprocessable Content",
            "status": 422,
            "detail": error.to_string(),
            "kind": "invalid_input",
            "code": "invalid_value",
            "rule": "R-REC-5",
            "field": "idempotency_key",
            "invalid": { "problem": "empty" },
        })
    );
}

#[tokio::test]
async fn r_add_1_and_r_add_8_form_errors_are_422_on_the_field_they_concern() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut form = w.form(&a, "it@customer1.example", subscription(1), &[]);
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_case(&error, ErrorKind::InvalidInput, 422, "no_engagement_chosen");
    assert_eq!(error.field(), Some("engagements"));
    assert_eq!(error.rule(), Some("R-ADD-1"));

    form.engagements = vec![w.workshop.id().clone(), w.workshop.id().clone()];
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_case(
        &error,
        ErrorKind::InvalidInput,
        422,
        "engagement_chosen_twice",
    );

    let mut form = w.form(&a, "it@customer1.example", msx(1), &[&w.variable]);
    form.hours = Some(hours(401));
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_case(&error, ErrorKind::InvalidInput, 422, "hours_over_maximum");
    assert_eq!(error.field(), Some("hours"));
    assert_eq!(error.rule(), Some("R-ADD-8"));
}

#[tokio::test]
async fn r_add_3_an_email_of_no_known_tenant_is_422_on_the_customer_email() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(
        &a,
        "cio@nobody.example",
        mci_core::CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_case(&error, ErrorKind::InvalidInput, 422, "no_tenant_for_domain");
    assert_eq!(error.field(), Some("customer_email"));
}

#[tokio::test]
async fn r_add_6_a_refused_add_says_why_per_engagement_in_its_message_and_json() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.add_subscription(&a, 1, &w.workshop).await;
    w.add_subscription(&a, 1, &w.assessment).await;
    let form = w.form(
        &a,
        "it@customer1.example",
        subscription(1),
        &[&w.workshop, &w.assessment],
    );
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_case(&error, ErrorKind::Refused, 409, "not_choosable");
    assert_eq!(
        error.to_string(),
        "2 of the chosen engagements cannot be chosen, so none was added (R-ADD-6): \
         ai-workshop: already nominated for this engagement (R-ADD-7); \
         ai-assessment: already nominated for this engagement (R-ADD-7), \
         reached the limit of 1 active nominations (R-ENG-5)"
    );
    assert_eq!(
        serde_json::to_value(&error).unwrap(),
        json!({
            "title": "Conflict",
            "status": 409,
            "detail": error.to_string(),
            "kind": "refused",
            "code": "not_choosable",
            "rule": "R-ADD-6",
            "field": "engagements",
            "engagements": [
                {
                    "engagement": "ai-workshop",
                    "reasons": [{
                        "kind": "already_nominated",
                        "rule": "R-ADD-7",
                        "detail": "already nominated for this engagement",
                    }],
                },
                {
                    "engagement": "ai-assessment",
                    "reasons": [
                        {
                            "kind": "already_nominated",
                            "rule": "R-ADD-7",
                            "detail": "already nominated for this engagement",
                        },
                        {
                            "kind": "active_limit_reached",
                            "limit": 1,
                            "rule": "R-ENG-5",
                            "detail": "reached the limit of 1 active nominations",
                        },
                    ],
                },
            ],
        })
    );
}

#[tokio::test]
async fn r_role_3_a_refusal_because_of_another_partner_never_names_it() {
    let w = World::new();
    w.consented_subscription(&admin(PARTNER_A), 1, &w.assessment)
        .await;
    let b = admin(PARTNER_B);
    let form = w.form(
        &b,
        "it@customer1.example",
        subscription(1),
        &[&w.assessment],
    );
    let error = w.refused(w.service.add_customer(&b, &form)).await;
    assert_case(&error, ErrorKind::Refused, 409, "not_choosable");
    let text = format!("{error} {}", serde_json::to_string(&error).unwrap());
    assert!(
        text.contains("consented to another partner (R-CONSENT-8)"),
        "{text}"
    );
    assert!(!text.contains(PARTNER_A), "{text}");
}

#[tokio::test]
async fn a_command_the_state_does_not_allow_is_409_naming_its_rule() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let error = w.refused(w.service.submit(&a, &id)).await;
    assert_case(&error, ErrorKind::Refused, 409, "not_allowed_now");
    assert_eq!(error.rule(), Some("R-CLAIM-W-6"));

    let id = w.consented_subscription(&a, 2, &w.workshop).await;
    w.complete_survey(&a, &id, SurveyKind::Partner).await;
    let error = w
        .refused(w.service.send_survey(&a, &id, SurveyKind::Partner))
        .await;
    assert_eq!(error.kind(), ErrorKind::Refused, "{error}");
    assert_eq!(error.kind().http_status(), 409);
}

#[tokio::test]
async fn r_rec_5_a_key_reused_with_another_command_is_422_on_the_idempotency_key() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let other = w.add_subscription(&a, 2, &w.workshop).await;
    w.service
        .cancel(Call::new(a.clone()).idempotency_key("k-1"), &id)
        .await
        .unwrap();
    let error = w
        .refused(
            w.service
                .cancel(Call::new(a.clone()).idempotency_key("k-1"), &other),
        )
        .await;
    assert_case(
        &error,
        ErrorKind::InvalidInput,
        422,
        "idempotency_key_mismatch",
    );
    assert_eq!(error.field(), Some("idempotency_key"));
    assert_eq!(error.rule(), Some("R-REC-5"));
}

#[tokio::test]
async fn r_rec_4_a_call_out_of_retries_is_busy_503_and_retryable() {
    let w = World::with_settings(mci_engagements::Settings {
        retries: 0,
        ..mci_engagements::Settings::default()
    });
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let held = w.hold_next_commit();
    let stale = tokio::spawn({
        let (service, a) = (w.service.clone(), a.clone());
        async move { service.add_comment(&a, &id, comment("stale")).await }
    });
    held.release_after(w.service.add_comment(&a, &id, comment("fresh")))
        .await
        .unwrap();
    let error = stale.await.unwrap().unwrap_err();
    assert_case(&error, ErrorKind::Busy, 503, "busy");
    assert_eq!(error.rule(), Some("R-REC-4"));
}

/// A tenant directory that fails every question, transiently or not.
struct FailingDirectory {
    transient: bool,
}

impl FailingDirectory {
    fn fail<T>(&self) -> Result<T, PortError> {
        let why = std::io::Error::other("connection refused by directory.example:443");
        Err(if self.transient {
            PortError::transient("tenant directory", why)
        } else {
            PortError::permanent("tenant directory", why)
        })
    }
}

#[async_trait]
impl TenantDirectory for FailingDirectory {
    async fn tenant_of(&self, _: &Domain) -> Result<Option<TenantId>, PortError> {
        self.fail()
    }
    async fn tenant_owns(&self, _: &TenantId, _: &Domain) -> Result<bool, PortError> {
        self.fail()
    }
    async fn tpid_owns(&self, _: &Tpid, _: &Domain) -> Result<bool, PortError> {
        self.fail()
    }
}

#[tokio::test]
async fn a_port_that_did_not_answer_is_503_and_retryable_and_one_that_cannot_is_500() {
    let w = World::new();
    let a = admin(PARTNER_A);
    for (transient, kind, status, code) in [
        (true, ErrorKind::Unavailable, 503, "port_unavailable"),
        (false, ErrorKind::Internal, 500, "port_failed"),
    ] {
        let service = Incentives::builder(Arc::new(MemoryStore::new()), HmacLinkKey::demo())
            .tenant_directory(FailingDirectory { transient })
            .customer_eligibility(PermissiveEligibility::new())
            .partner_directory(
                InMemoryPartnerDirectory::builder()
                    .enrolled(partner(PARTNER_A), location(LOC_A))
                    .build(),
            )
            .engagement(w.workshop.clone())
            .build();
        let form = w.form(
            &a,
            "cio@contoso.example",
            mci_core::CustomerIdInput::EmailOnly,
            &[&w.workshop],
        );
        let error = service.add_customer(&a, &form).await.unwrap_err();
        assert_case(&error, kind, status, code);
        // The message names the port; the port's words are the source,
        // and stay out of the problem object.
        assert!(error.to_string().starts_with("tenant directory"), "{error}");
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("connection refused by directory.example:443")
        );
        let problem = serde_json::to_string(&error).unwrap();
        assert!(!problem.contains("directory.example"), "{problem}");
    }
}

#[test]
fn store_failures_are_503_when_transient_and_500_otherwise_and_never_show_the_backends_words() {
    let why = || std::io::Error::other("SQLITE_BUSY: database is locked at /srv/mci.db");
    let unavailable = Error::from(StoreError::unavailable(why()));
    assert_case(
        &unavailable,
        ErrorKind::Unavailable,
        503,
        "store_unavailable",
    );
    let failed = Error::from(StoreError::backend(why()));
    assert_case(&failed, ErrorKind::Internal, 500, "store_failed");
    for error in [&unavailable, &failed] {
        let problem: Value = serde_json::to_value(error).unwrap();
        assert!(!problem.to_string().contains("/srv/mci.db"), "{problem}");
        assert!(!error.to_string().contains("/srv/mci.db"), "{error}");
        // The service's error shows the store's through: the backend's
        // words are its source.
        let backend = std::error::Error::source(error).map(ToString::to_string);
        assert!(
            backend.is_some_and(|words| words.contains("/srv/mci.db")),
            "{error:?}"
        );
    }
    let unreadable = Error::from(StoreError::Unreadable {
        nomination: subscription_nomination(),
        reason: "unknown variant `Frozen`".into(),
    });
    assert_case(&unreadable, ErrorKind::Internal, 500, "unreadable");
}

#[test]
fn every_kind_has_its_documented_status_and_title() {
    let table = [
        (ErrorKind::NotFound, 404, "Not Found"),
        (ErrorKind::Forbidden, 403, "Forbidden"),
        (ErrorKind::InvalidInput, 422, "Unprocessable Content"),
        (ErrorKind::Refused, 409, "Conflict"),
        (ErrorKind::Busy, 503, "Service Unavailable"),
        (ErrorKind::Unavailable, 503, "Service Unavailable"),
        (ErrorKind::Internal, 500, "Internal Server Error"),
    ];
    for (kind, status, title) in table {
        assert_eq!(kind.http_status(), status, "{kind}");
        assert_eq!(kind.title(), title, "{kind}");
        assert_eq!(
            serde_json::to_value(kind).unwrap(),
            json!(kind.as_str()),
            "{kind}"
        );
    }
}
