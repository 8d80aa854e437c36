//! Claiming known customers through the service (R-CLAIM).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{
    CustomerId, CustomerIdInput, Ineligibility, NominationId, Origin, Refusal, RowType, State, Tab,
};
use mci_engagements::{ClaimCustomer, Error};

fn claim_form(through: NominationId, engagements: &[&mci_core::Engagement]) -> ClaimCustomer {
    ClaimCustomer {
        known_through: through,
        friendly_name: "Contoso, second engagement".parse().unwrap(),
        location: location(LOC_A),
        engagements: engagements.iter().map(|e| e.id().clone()).collect(),
        customer_contacts: None,
        partner_contacts: None,
        hours: None,
    }
}

#[tokio::test]
async fn r_claim_1_a_customer_known_through_a_consented_nomination_can_be_claimed() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let earlier = w
        .consented(
            &a,
            "cio@contoso.example",
            CustomerIdInput::EmailOnly,
            &w.assessment,
        )
        .await;
    let known = w.known_rows(&a, &w.workshop, Tab::Eligible).await;
    assert_eq!(known.len(), 1);
    assert_eq!(known[0].known.through, earlier);
    assert_eq!(known[0].actions(), vec![mci_core::Action::ClaimCustomer]);

    let claimed = w
        .service
        .claim_customer(&a, &claim_form(earlier, &[&w.workshop]))
        .await
        .unwrap();
    let n = &claimed.nominations[0];
    assert_eq!(n.origin(), Origin::Claimed { from: earlier });
    assert_eq!(n.state(), State::CustomerClaimed);
    assert_eq!(n.customer(), w.stored(&earlier).customer());
    // Its own row replaces the known-customer row.
    assert!(
        w.known_rows(&a, &w.workshop, Tab::Eligible)
            .await
            .is_empty()
    );
    let row = w.row(&a, &w.workshop, n.id()).await.unwrap();
    assert_eq!(row.row_type, RowType::NotStarted);
    assert_eq!(row.status.days_left, Some(30));
}

#[tokio::test]
async fn r_claim_1_a_customer_that_never_consented_to_the_partner_cannot_be_claimed() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let b = admin(PARTNER_B);
    let not_consented = w.add_subscription(&a, 1, &w.assessment).await;
    let error = w
        .refused(
            w.service
                .claim_customer(&a, &claim_form(not_consented, &[&w.workshop])),
        )
        .await;
    assert_matches!(error, Error::Refused(Refusal::CustomerNotKnown));
    assert_eq!(error.rule(), Some("R-CLAIM-1"));
    // Another partner's consented nomination answers exactly like an id that
    // does not exist.
    let theirs = w.consented_subscription(&b, 2, &w.assessment).await;
    let error_theirs = w
        .refused(
            w.service
                .claim_customer(&a, &claim_form(theirs, &[&w.workshop])),
        )
        .await;
    let random: NominationId = "0190a5c0-0000-7000-8000-000000000001".parse().unwrap();
    let error_random = w
        .refused(
            w.service
                .claim_customer(&a, &claim_form(random, &[&w.workshop])),
        )
        .await;
    assert_matches!(error_theirs, Error::Refused(Refusal::CustomerNotKnown));
    assert_eq!(format!("{error_theirs:?}"), format!("{error_random:?}"));
    assert!(
        w.known_rows(&a, &w.workshop, Tab::Eligible)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn r_claim_2_the_identity_comes_from_the_earlier_nomination_without_asking_the_directory() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut form = w.form(
        &a,
        "cio@fabrikam.example",
        CustomerIdInput::TenantId(tenant(CONTOSO)),
        &[&w.assessment],
    );
    form.mismatch_reason = Some(comment("managed by Fabrikam"));
    let earlier = *w.service.add_customer(&a, &form).await.unwrap().nominations[0].id();
    let token = w.send_consent(&a, &earlier).await;
    w.service.accept_consent(&token).await.unwrap();

    let lookups = w.tenant_lookups();
    let mut claim = claim_form(earlier, &[&w.workshop]);
    claim.customer_contacts = Some(contacts("Dana Buyer", "dana@contoso.example"));
    let claimed = w.service.claim_customer(&a, &claim).await.unwrap();
    assert_eq!(
        w.tenant_lookups(),
        lookups,
        "no tenant resolution is repeated"
    );
    let n = &claimed.nominations[0];
    assert_eq!(n.customer().id(), &CustomerId::Tenant(tenant(CONTOSO)));
    assert_eq!(
        n.customer().mismatch_reason().map(|r| r.as_str()),
        Some("managed by Fabrikam")
    );
    assert_eq!(
        n.customer_contacts(),
        &contacts("Dana Buyer", "dana@contoso.example")
    );
    assert_eq!(n.partner_contacts(), w.stored(&earlier).partner_contacts());
}

#[tokio::test]
async fn r_claim_2_the_location_must_be_enrolled_and_eligible_for_the_engagement() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let earlier = w.consented_subscription(&a, 1, &w.assessment).await;
    for (loc, reason) in [
        (LOC_A_UNENROLLED, Ineligibility::LocationNotEnrolled),
        (
            LOC_A_NO_WORKSHOP,
            Ineligibility::LocationIneligible {
                reason: LOCATION_REASON.into(),
            },
        ),
        (LOC_B, Ineligibility::LocationNotThePartners),
    ] {
        let mut claim = claim_form(earlier, &[&w.workshop]);
        claim.location = location(loc);
        let error = w.refused(w.service.claim_customer(&a, &claim)).await;
        let Error::Refused(Refusal::NotChoosable { refused }) = &error else {
            panic!("{error:?}")
        };
        assert_eq!(refused[0].reasons, vec![reason]);
    }
}

#[tokio::test]
async fn r_claim_3_a_customer_added_cannot_also_be_claimed_for_the_same_engagement() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let earlier = w.consented_subscription(&a, 1, &w.assessment).await;
    w.add_subscription(&a, 1, &w.workshop).await;
    let error = w
        .refused(
            w.service
                .claim_customer(&a, &claim_form(earlier, &[&w.workshop])),
        )
        .await;
    let Error::Refused(Refusal::NotChoosable { refused }) = &error else {
        panic!("{error:?}")
    };
    assert!(
        refused[0]
            .reasons
            .contains(&Ineligibility::AlreadyNominated)
    );
    // Nor claimed twice.
    let w = World::new();
    let earlier = w.consented_subscription(&a, 1, &w.assessment).await;
    w.service
        .claim_customer(&a, &claim_form(earlier, &[&w.workshop]))
        .await
        .unwrap();
    let error = w
        .refused(
            w.service
                .claim_customer(&a, &claim_form(earlier, &[&w.workshop])),
        )
        .await;
    assert_matches!(error, Error::Refused(Refusal::NotChoosable { .. }));
    // Nor added after it was claimed.
    let form = w.form(&a, "it@customer1.example", subscription(1), &[&w.workshop]);
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_matches!(error, Error::Refused(Refusal::NotChoosable { .. }));
}

#[tokio::test]
async fn r_claim_3_claiming_several_engagements_is_all_or_nothing() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let b = admin(PARTNER_B);
    let northwind = CustomerIdInput::TenantId(tenant(NORTHWIND));
    let earlier = w
        .consented(&a, "cio@northwind.example", northwind, &w.security)
        .await;
    // Northwind is not eligible for the workshop, so the assessment is not
    // claimed either.
    let before = w.snapshot().nominations.len();
    let error = w
        .refused(
            w.service
                .claim_customer(&a, &claim_form(earlier, &[&w.assessment, &w.workshop])),
        )
        .await;
    let Error::Refused(Refusal::NotChoosable { refused }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(refused.len(), 1);
    assert_eq!(&refused[0].engagement, w.workshop.id());
    assert_eq!(w.snapshot().nominations.len(), before);
    // The assessment alone goes through.
    let claimed = w
        .service
        .claim_customer(&a, &claim_form(earlier, &[&w.assessment]))
        .await
        .unwrap();
    assert_eq!(claimed.nominations.len(), 1);
    // The claimed customer counts for the other partners' eligibility too.
    let form = w.form(&b, "cio@northwind.example", northwind, &[&w.assessment]);
    let error = w.refused(w.service.add_customer(&b, &form)).await;
    let Error::Refused(Refusal::NotChoosable { refused }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        refused[0].reasons,
        vec![Ineligibility::ActiveLimitReached { limit: 1 }]
    );
}

#[tokio::test]
async fn r_claim_3_claiming_variable_pay_needs_its_hours() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut form = w.form(&a, "it@customer1.example", msx(1), &[&w.variable]);
    form.hours = Some(hours(10));
    let earlier = *w.service.add_customer(&a, &form).await.unwrap().nominations[0].id();
    let token = w.send_consent(&a, &earlier).await;
    w.service.accept_consent(&token).await.unwrap();
    w.service.cancel(&a, &earlier).await.unwrap();
    // The opportunity is known; a new variable-pay claim needs hours again.
    let claim = claim_form(earlier, &[&w.variable]);
    let error = w.refused(w.service.claim_customer(&a, &claim)).await;
    assert_matches!(error, Error::Refused(Refusal::HoursRequired));
    let mut claim = claim;
    claim.hours = Some(hours(20));
    let claimed = w.service.claim_customer(&a, &claim).await.unwrap();
    assert_eq!(claimed.nominations[0].hours(), Some(hours(20)));
}
