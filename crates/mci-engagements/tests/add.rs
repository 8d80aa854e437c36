//! Adding customers through the service (R-ADD).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{
    CustomerId, CustomerIdInput, CustomerIdType, EngagementRefusal, Ineligibility, Origin, Refusal,
    RowType, State, Tab,
};
use mci_engagements::{Error, MessageKind};

fn reasons_for(error: &Error, engagement: &mci_core::EngagementId) -> Vec<Ineligibility> {
    let Error::Refused(Refusal::NotChoosable { refused }) = error else {
        panic!("expected NotChoosable, got {error:?}")
    };
    refused
        .iter()
        .find(|r| &r.engagement == engagement)
        .map(|r| r.reasons.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn r_add_1_at_least_one_engagement_and_each_at_most_once() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let none = w.form(&a, "cio@contoso.example", CustomerIdInput::EmailOnly, &[]);
    let error = w.refused(w.service.add_customer(&a, &none)).await;
    assert_matches!(error, Error::Refused(Refusal::NoEngagementChosen));
    assert_eq!(error.rule(), Some("R-ADD-1"));
    let twice = w.form(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop, &w.workshop],
    );
    let error = w.refused(w.service.add_customer(&a, &twice)).await;
    assert_matches!(error, Error::Refused(Refusal::EngagementChosenTwice { .. }));
}

#[tokio::test]
async fn r_add_1_the_form_is_kept_on_the_nomination() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let added = w.service.add_customer(&a, &form).await.unwrap();
    let n = &added.nominations[0];
    assert_eq!(n.friendly_name(), &form.friendly_name);
    assert_eq!(n.location(), &form.location);
    assert_eq!(n.customer().email(), &form.customer_email);
    assert_eq!(n.customer_contacts(), &form.customer_contacts);
    assert_eq!(n.partner_contacts(), &form.partner_contacts);
    assert_eq!(n.partner(), &partner(PARTNER_A));
    assert_eq!(n.origin(), Origin::Added);
    assert_eq!(n.created_at(), t0());
    assert_eq!(w.stored(n.id()), *n, "what is returned is what is stored");
}

#[tokio::test]
async fn r_add_2_the_location_must_be_the_partners_enrolled_and_eligible() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let cases = [
        (LOC_B, Ineligibility::LocationNotThePartners),
        ("9999999", Ineligibility::LocationNotThePartners),
        (LOC_A_UNENROLLED, Ineligibility::LocationNotEnrolled),
        (
            LOC_A_NO_WORKSHOP,
            Ineligibility::LocationIneligible {
                reason: LOCATION_REASON.into(),
            },
        ),
    ];
    for (loc, expected) in cases {
        let mut form = w.form(&a, "it@customer1.example", subscription(1), &[&w.workshop]);
        form.location = location(loc);
        let error = w.refused(w.service.add_customer(&a, &form)).await;
        assert_eq!(
            reasons_for(&error, w.workshop.id()),
            vec![expected.clone()],
            "{loc}"
        );
        assert_eq!(expected.rule(), "R-ADD-2");
    }
    // The location not eligible for the workshop is fine for the assessment.
    let mut form = w.form(
        &a,
        "it@customer1.example",
        subscription(1),
        &[&w.assessment],
    );
    form.location = location(LOC_A_NO_WORKSHOP);
    w.service.add_customer(&a, &form).await.unwrap();
}

#[tokio::test]
async fn r_add_3_an_email_alone_derives_the_tenant_from_its_domain() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let lookups = w.tenant_lookups();
    let id = w
        .add(
            &a,
            "cio@contoso-mail.example",
            CustomerIdInput::EmailOnly,
            &w.workshop,
        )
        .await;
    assert_eq!(w.tenant_lookups(), lookups + 1);
    let n = w.stored(&id);
    assert_eq!(n.customer().id(), &CustomerId::Tenant(tenant(CONTOSO)));
    assert_eq!(n.customer().id_type(), CustomerIdType::Domain);
    assert_eq!(n.customer().mismatch_reason(), None);
}

#[tokio::test]
async fn r_add_3_an_internationalised_domain_resolves_in_its_ascii_form_whatever_its_case() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let unicode = w
        .add(
            &a,
            "einkauf@BÜCHER.example",
            CustomerIdInput::EmailOnly,
            &w.workshop,
        )
        .await;
    let n = w.stored(&unicode);
    assert_eq!(n.customer().id(), &CustomerId::Tenant(tenant(BUECHER)));
    assert_eq!(
        n.customer().email().domain().as_str(),
        "xn--bcher-kva.example"
    );
    // The same customer by its ASCII form is a duplicate for the partner.
    let form = w.form(
        &a,
        "verkauf@xn--bcher-kva.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert!(reasons_for(&error, w.workshop.id()).contains(&Ineligibility::AlreadyNominated));
}

#[tokio::test]
async fn r_add_3_an_email_whose_domain_resolves_to_no_tenant_is_refused() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(
        &a,
        "cio@unknown.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::NoTenantForDomain { ref domain }) if domain.as_str() == "unknown.example"
    );
    assert_eq!(error.rule(), Some("R-ADD-3"));
    assert!(error.to_string().contains("tenant id or TPID"), "{error}");
    // A subdomain of a known domain is not the domain.
    let form = w.form(
        &a,
        "cio@sales.contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_matches!(error, Error::Refused(Refusal::NoTenantForDomain { .. }));
    // The review step says the same and writes nothing.
    let error = w.refused(w.service.review_add(&a, &form)).await;
    assert_matches!(error, Error::Refused(Refusal::NoTenantForDomain { .. }));
    // With an explicit tenant id and a reason, the same email goes through.
    let mut form = form;
    form.customer_id = CustomerIdInput::TenantId(tenant(CONTOSO));
    form.mismatch_reason = Some(comment("sales uses its own subdomain"));
    w.service.add_customer(&a, &form).await.unwrap();
}

#[tokio::test]
async fn r_add_4_a_tenant_that_does_not_own_the_domain_needs_a_reason_which_is_stored() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut form = w.form(
        &a,
        "cio@fabrikam.example",
        CustomerIdInput::TenantId(tenant(CONTOSO)),
        &[&w.workshop],
    );
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::DomainMismatch { ref domain }) if domain.as_str() == "fabrikam.example"
    );
    assert_eq!(error.rule(), Some("R-ADD-4"));

    let reason = comment("Fabrikam runs Contoso's IT under contract");
    form.mismatch_reason = Some(reason.clone());
    let added = w.service.add_customer(&a, &form).await.unwrap();
    let n = w.stored(added.nominations[0].id());
    assert_eq!(n.customer().id(), &CustomerId::Tenant(tenant(CONTOSO)));
    assert_eq!(n.customer().id_type(), CustomerIdType::TenantId);
    assert_eq!(n.customer().mismatch_reason(), Some(&reason));
}

#[tokio::test]
async fn r_add_4_a_tenant_that_owns_the_domain_needs_no_reason() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w
        .add(
            &a,
            "cio@contoso.example",
            CustomerIdInput::TenantId(tenant(CONTOSO)),
            &w.workshop,
        )
        .await;
    assert_eq!(w.stored(&id).customer().mismatch_reason(), None);
}

#[tokio::test]
async fn r_add_4_a_tpid_nomination_checks_the_domain_against_the_tenants_under_it() {
    let w = World::new();
    let a = admin(PARTNER_A);
    // contoso.eu.example belongs to a tenant under the TPID.
    let id = w
        .add(
            &a,
            "cio@contoso.eu.example",
            CustomerIdInput::Tpid(tpid(CONTOSO_TPID)),
            &w.workshop,
        )
        .await;
    let n = w.stored(&id);
    assert_eq!(n.customer().id(), &CustomerId::Tpid(tpid(CONTOSO_TPID)));
    assert_eq!(n.customer().id_type(), CustomerIdType::Tpid);
    assert_eq!(n.customer().mismatch_reason(), None);
    let row = w.row(&a, &w.workshop, &id).await.unwrap();
    assert_eq!(row.customer, CustomerId::Tpid(tpid(CONTOSO_TPID)));

    // Fabrikam's domain is under no tenant of the TPID.
    let mut form = w.form(
        &a,
        "cio@fabrikam.example",
        CustomerIdInput::Tpid(tpid(CONTOSO_TPID)),
        &[&w.assessment],
    );
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_matches!(error, Error::Refused(Refusal::DomainMismatch { .. }));
    form.mismatch_reason = Some(comment("group purchasing"));
    w.service.add_customer(&a, &form).await.unwrap();
}

#[tokio::test]
async fn r_add_5_eligibility_is_checked_for_the_id_given_and_does_not_cascade() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let by_domain = w.form(
        &a,
        "cio@northwind.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop],
    );
    let error = w.refused(w.service.add_customer(&a, &by_domain)).await;
    assert_eq!(
        reasons_for(&error, w.workshop.id()),
        vec![Ineligibility::CustomerIneligible {
            reason: NORTHWIND_REASON.into()
        }]
    );
    assert!(error.to_string().contains("R-ADD-6"), "{error}");
    // The same organisation by one of its subscriptions is another id.
    w.add(&a, "cio@northwind.example", subscription(77), &w.workshop)
        .await;
    // And Northwind's tenant is eligible for the assessment.
    w.add(
        &a,
        "cio@northwind.example",
        CustomerIdInput::EmailOnly,
        &w.assessment,
    )
    .await;
}

#[tokio::test]
async fn r_add_6_several_engagements_at_once_are_all_or_nothing() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let both = w.form(
        &a,
        "cio@northwind.example",
        CustomerIdInput::EmailOnly,
        &[&w.assessment, &w.workshop],
    );
    let error = w.refused(w.service.add_customer(&a, &both)).await;
    let Error::Refused(Refusal::NotChoosable { refused }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        refused,
        &vec![EngagementRefusal {
            engagement: w.workshop.id().clone(),
            reasons: vec![Ineligibility::CustomerIneligible {
                reason: NORTHWIND_REASON.into()
            }]
        }],
        "only the workshop is refused, and the assessment is not added either"
    );

    let ok = w.form(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.assessment, &w.workshop],
    );
    let added = w.service.add_customer(&a, &ok).await.unwrap();
    let engagements: Vec<_> = added.nominations.iter().map(|n| n.engagement()).collect();
    assert_eq!(engagements, [w.assessment.id(), w.workshop.id()]);
    assert_eq!(w.snapshot().nominations.len(), 2);
}

#[tokio::test]
async fn r_add_6_only_active_engagements_accepting_the_id_type_can_be_chosen() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.coming_soon, &w.expired, &w.security, &w.workshop],
    );
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_eq!(
        reasons_for(&error, w.coming_soon.id()),
        vec![Ineligibility::EngagementNotActive {
            availability: mci_core::Availability::ComingSoon
        }]
    );
    assert_eq!(
        reasons_for(&error, w.expired.id()),
        vec![Ineligibility::EngagementNotActive {
            availability: mci_core::Availability::Expired
        }]
    );
    assert_eq!(
        reasons_for(&error, w.security.id()),
        vec![Ineligibility::IdTypeNotAccepted {
            id_type: CustomerIdType::Domain
        }]
    );
    assert!(reasons_for(&error, w.workshop.id()).is_empty());
}

#[tokio::test]
async fn r_add_7_a_partner_nominates_a_customer_for_an_engagement_once_while_live() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let first = w.add_subscription(&a, 1, &w.workshop).await;
    let form = w.form(
        &a,
        "other@customer1.example",
        subscription(1),
        &[&w.workshop],
    );
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_eq!(
        reasons_for(&error, w.workshop.id()),
        vec![Ineligibility::AlreadyNominated]
    );
    assert_eq!(Ineligibility::AlreadyNominated.rule(), "R-ADD-7");
    // Once the first is no longer live, the customer can be added again.
    let token = w.send_consent(&a, &first).await;
    w.service.decline_consent(&token).await.unwrap();
    let again = w.service.add_customer(&a, &form).await.unwrap();
    assert_eq!(again.nominations[0].state(), State::CustomerClaimed);
}

#[tokio::test]
async fn r_add_7_a_lapsed_nomination_frees_the_customer_without_a_sweep() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.add_subscription(&a, 1, &w.workshop).await;
    w.advance_days(30);
    let form = w.form(&a, "it@customer1.example", subscription(1), &[&w.workshop]);
    w.service.add_customer(&a, &form).await.unwrap();
}

#[tokio::test]
async fn r_add_8_a_variable_pay_add_naming_two_engagements_is_refused() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut form = w.form(
        &a,
        "it@customer1.example",
        msx(1),
        &[&w.variable, &w.workshop],
    );
    form.hours = Some(hours(100));
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_matches!(error, Error::Refused(Refusal::VariablePayAlone));
    assert_eq!(error.rule(), Some("R-ADD-8"));
    let error = w.refused(w.service.review_add(&a, &form)).await;
    assert_matches!(error, Error::Refused(Refusal::VariablePayAlone));
}

#[tokio::test]
async fn r_add_8_variable_pay_needs_hours_up_to_the_maximum_and_fixed_pay_takes_none() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut form = w.form(&a, "it@customer1.example", msx(1), &[&w.variable]);
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_matches!(error, Error::Refused(Refusal::HoursRequired));
    form.hours = Some(hours(401));
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::HoursOverMaximum { hours: h, max }) if h == hours(401) && max == hours(400)
    );
    assert!(mci_core::Hours::new(0).is_err(), "at least one hour");
    form.hours = Some(hours(400));
    w.service.add_customer(&a, &form).await.unwrap();

    let mut fixed = w.form(&a, "it@customer2.example", subscription(2), &[&w.workshop]);
    fixed.hours = Some(hours(10));
    let error = w.refused(w.service.add_customer(&a, &fixed)).await;
    assert_matches!(error, Error::Refused(Refusal::HoursNotApplicable));
}

#[tokio::test]
async fn r_add_8_r_eng_3_variable_pay_takes_only_msx_opportunity_ids_and_fixed_pay_none() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut form = w.form(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.variable],
    );
    form.hours = Some(hours(10));
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_eq!(
        reasons_for(&error, w.variable.id()),
        vec![Ineligibility::IdTypeNotAccepted {
            id_type: CustomerIdType::Domain
        }]
    );
    let form = w.form(&a, "cio@contoso.example", msx(1), &[&w.workshop]);
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_eq!(
        reasons_for(&error, w.workshop.id()),
        vec![Ineligibility::IdTypeNotAccepted {
            id_type: CustomerIdType::MsxOpportunityId
        }]
    );
}

#[tokio::test]
async fn r_add_8_variable_pay_hours_are_immutable_and_the_payout_is_rate_times_hours_capped() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let run = |n: u32, h: u32| {
        let w = &w;
        let a = &a;
        async move {
            let mut form = w.form(
                a,
                &format!("it@customer{n}.example"),
                msx(n),
                &[&w.variable],
            );
            form.hours = Some(hours(h));
            let id = *w.service.add_customer(a, &form).await.unwrap().nominations[0].id();
            let token = w.send_consent(a, &id).await;
            w.service.accept_consent(&token).await.unwrap();
            w.service
                .update_contacts(
                    a,
                    &id,
                    mci_core::ContactsUpdate {
                        customer: Some(contacts("New Sponsor", "sponsor@customer.example")),
                        partner: None,
                    },
                )
                .await
                .unwrap();
            w.prove(a, &id).await;
            w.service.submit(a, &id).await.unwrap();
            w.service
                .start_review(reviewer(), &id, w.seen(&id).await)
                .await
                .unwrap();
            w.service
                .request_partner_action(reviewer(), &id, w.seen(&id).await, comment("hours?"))
                .await
                .unwrap();
            w.service.submit(a, &id).await.unwrap();
            w.service
                .start_review(reviewer(), &id, w.seen(&id).await)
                .await
                .unwrap();
            w.service
                .approve(reviewer(), &id, w.seen(&id).await)
                .await
                .unwrap()
        }
    };
    let uncapped = run(1, 100).await;
    assert_eq!(uncapped.hours(), Some(hours(100)), "never changed");
    assert_eq!(
        uncapped.claim().payout,
        Some(eur(1_500_000)),
        "150.00 x 100 h"
    );
    let capped = run(2, 300).await;
    assert_eq!(capped.hours(), Some(hours(300)));
    assert_eq!(
        capped.claim().payout,
        Some(eur(3_000_000)),
        "150.00 x 300 h = 45,000.00 is capped at 30,000.00"
    );
    assert_eq!(w.stored(capped.id()).hours(), Some(hours(300)));
    // Re-adding the opportunity with other hours is a duplicate, even after
    // approval.
    let mut again = w.form(&a, "it@customer2.example", msx(2), &[&w.variable]);
    again.hours = Some(hours(50));
    let error = w.refused(w.service.add_customer(&a, &again)).await;
    let reasons = reasons_for(&error, w.variable.id());
    assert!(
        reasons.contains(&Ineligibility::AlreadyCompleted),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn r_add_8_re_adding_a_live_variable_pay_customer_with_other_hours_fails_as_a_duplicate() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut form = w.form(&a, "it@customer1.example", msx(1), &[&w.variable]);
    form.hours = Some(hours(100));
    let added = w.service.add_customer(&a, &form).await.unwrap();
    form.hours = Some(hours(200));
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert!(reasons_for(&error, w.variable.id()).contains(&Ineligibility::AlreadyNominated));
    assert_eq!(
        w.stored(added.nominations[0].id()).hours(),
        Some(hours(100))
    );
}

#[tokio::test]
async fn r_add_9_success_returns_the_nominations_and_each_appears_on_its_page() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop, &w.assessment],
    );
    let added = w.service.add_customer(&a, &form).await.unwrap();
    assert_eq!(added.nominations.len(), 2);
    for (n, engagement) in added.nominations.iter().zip([&w.workshop, &w.assessment]) {
        assert_eq!(n.state(), State::CustomerClaimed);
        let row = w.row(&a, engagement, n.id()).await.unwrap();
        assert_eq!(row.tab, Tab::Eligible);
        assert_eq!(row.row_type, RowType::NotStarted);
        assert_eq!(row.status.days_left, Some(30));
    }
    assert!(
        w.snapshot()
            .outbox
            .iter()
            .all(|(m, _, _)| !matches!(m.kind, MessageKind::ConsentRequest { .. })),
        "adding sends no email"
    );
}

#[tokio::test]
async fn r_add_10_review_before_add_writes_nothing_and_returns_deadlines_and_payout() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.advance_days(2);
    let mut form = w.form(
        &a,
        "cio@contoso.example",
        CustomerIdInput::EmailOnly,
        &[&w.workshop, &w.assessment],
    );
    form.location = location(LOC_A_NO_WORKSHOP);
    let review = w.unchanged(w.service.review_add(&a, &form)).await;
    assert_eq!(review.choosable.len(), 1);
    let proposal = &review.choosable[0];
    assert_eq!(&proposal.engagement, w.assessment.id());
    assert_eq!(proposal.consent_deadline, w.now() + days(30));
    assert_eq!(proposal.timelines.first_submit, mci_core::Days::new(60));
    assert_eq!(proposal.timelines.review_complete, mci_core::Days::new(90));
    assert_eq!(proposal.proposed_payout, Some(eur(300_000)));
    assert_eq!(proposal.rules_version, w.assessment.rules().version());
    assert_eq!(
        review.refused,
        vec![EngagementRefusal {
            engagement: w.workshop.id().clone(),
            reasons: vec![Ineligibility::LocationIneligible {
                reason: LOCATION_REASON.into()
            }]
        }]
    );
    assert!(w.snapshot().nominations.is_empty());
}

#[tokio::test]
async fn r_add_10_review_of_variable_pay_proposes_rate_times_hours_capped() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut form = w.form(&a, "it@customer1.example", msx(1), &[&w.variable]);
    form.hours = Some(hours(150));
    let review = w.unchanged(w.service.review_add(&a, &form)).await;
    assert_eq!(review.choosable[0].proposed_payout, Some(eur(2_250_000)));
    form.hours = Some(hours(250));
    let review = w.unchanged(w.service.review_add(&a, &form)).await;
    assert_eq!(review.choosable[0].proposed_payout, Some(eur(3_000_000)));
    // What the review proposed is what the add creates.
    let added = w.service.add_customer(&a, &form).await.unwrap();
    assert_eq!(added.nominations[0].proposed_payout(), Some(eur(3_000_000)));
}
