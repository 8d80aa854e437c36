//! Engagements, their rules and the overview through the service (R-ENG).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{
    Availability, CustomerIdInput, DeadlineKind, EngagementKind, EngagementRules, Ineligibility,
    PayModel, Refusal, RuleVersion, Timelines,
};
use mci_engagements::{Due, Error, OverviewFilter, Settings};

#[tokio::test]
async fn r_eng_1_only_active_engagements_take_new_nominations() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let form = w.form(
        &a,
        "it@customer1.example",
        subscription(1),
        &[&w.coming_soon],
    );
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    let Error::Refused(Refusal::NotChoosable { refused }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        refused[0].reasons,
        vec![Ineligibility::EngagementNotActive {
            availability: Availability::ComingSoon
        }]
    );
    assert_eq!(refused[0].reasons[0].rule(), "R-ENG-1");
    // From its start it is active.
    w.set(w.coming_soon.window().starts());
    w.service.add_customer(&a, &form).await.unwrap();
    // An expired engagement takes none.
    let form = w.form(&a, "it@customer2.example", subscription(2), &[&w.expired]);
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    assert_matches!(error, Error::Refused(Refusal::NotChoosable { .. }));
}

#[tokio::test]
async fn r_eng_1_nominations_made_while_active_carry_on_after_the_engagement_ends() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let ending = mci_core::Engagement::new(
        "ending-workshop".parse().unwrap(),
        "Ending workshop".parse().unwrap(),
        "Data & AI".parse().unwrap(),
        mci_core::AvailabilityWindow::new(t0() - days(10), t0() + days(5)).unwrap(),
        EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(100_000)))
            .build()
            .unwrap(),
    );
    w.service.publish_engagement(ending.clone());
    let kept = w.consented_subscription(&a, 1, &ending).await;
    w.set(t0() + days(10));
    assert_eq!(
        w.service
            .engagement(ending.id())
            .unwrap()
            .availability(w.now()),
        Availability::Expired
    );
    let form = w.form(&a, "it@customer2.example", subscription(2), &[&ending]);
    w.refused(w.service.add_customer(&a, &form)).await;
    w.prove(&a, &kept).await;
    w.service.submit(&a, &kept).await.unwrap();
}

#[tokio::test]
async fn r_eng_2_fixed_pay_approves_the_fee_and_variable_pay_rate_times_hours_capped() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let fixed = w.approved_subscription(&a, 1, &w.workshop).await;
    assert_eq!(w.read(&fixed).await.claim().payout, Some(eur(750_000)));
    let assessment = w.approved_subscription(&a, 2, &w.assessment).await;
    assert_eq!(w.read(&assessment).await.claim().payout, Some(eur(300_000)));
    let mut form = w.form(&a, "it@customer3.example", msx(3), &[&w.variable]);
    form.hours = Some(hours(7));
    let review = w.unchanged(w.service.review_add(&a, &form)).await;
    assert_eq!(review.choosable[0].proposed_payout, Some(eur(105_000)));
}

#[tokio::test]
async fn r_eng_3_each_engagement_accepts_its_own_customer_id_types() {
    let w = World::new();
    let a = admin(PARTNER_A);
    // The security workshop takes tenant ids, TPIDs and subscriptions...
    w.add(
        &a,
        "cio@contoso.example",
        CustomerIdInput::TenantId(tenant(CONTOSO)),
        &w.security,
    )
    .await;
    w.add(
        &a,
        "cio@contoso.eu.example",
        CustomerIdInput::Tpid(tpid(CONTOSO_TPID)),
        &w.security,
    )
    .await;
    w.add_subscription(&a, 1, &w.security).await;
    // ...but not a domain, which the workshop takes.
    let form = w.form(
        &a,
        "cio@fabrikam.example",
        CustomerIdInput::EmailOnly,
        &[&w.security],
    );
    let error = w.refused(w.service.add_customer(&a, &form)).await;
    let Error::Refused(Refusal::NotChoosable { refused }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        refused[0].reasons,
        vec![Ineligibility::IdTypeNotAccepted {
            id_type: mci_core::CustomerIdType::Domain
        }]
    );
    assert_eq!(refused[0].reasons[0].rule(), "R-ENG-3");
    w.add(
        &a,
        "cio@fabrikam.example",
        CustomerIdInput::EmailOnly,
        &w.workshop,
    )
    .await;
}

#[tokio::test]
async fn r_eng_4_timelines_are_per_engagement_type() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let workshop = w.consented_subscription(&a, 1, &w.workshop).await;
    let assessment = w.consented_subscription(&a, 2, &w.assessment).await;
    let row = w.row(&a, &w.workshop, &workshop).await.unwrap();
    assert_eq!(row.status.days_left, Some(90));
    let row = w.row(&a, &w.assessment, &assessment).await.unwrap();
    assert_eq!(row.status.days_left, Some(60));
    for (id, review) in [(workshop, 120), (assessment, 90)] {
        w.prove(&a, &id).await;
        let n = w.service.submit(&a, &id).await.unwrap();
        let deadline = n.deadline().unwrap();
        assert_eq!(deadline.kind, DeadlineKind::ReviewComplete);
        assert_eq!(deadline.at, t0() + days(review));
        assert_eq!(
            n.rules().timelines().longest_claim_life().get(),
            u32::try_from(review + 30).unwrap()
        );
    }
}

#[tokio::test]
async fn r_eng_5_the_limit_of_live_nominations_per_customer_counts_across_partners() {
    let w = World::new();
    let (a, b, c) = (admin(PARTNER_A), admin(PARTNER_B), admin(PARTNER_C));
    // The assessment has the default limit of one.
    w.add_subscription(&a, 1, &w.assessment).await;
    let form = w.form(
        &b,
        "it@customer1.example",
        subscription(1),
        &[&w.assessment],
    );
    let error = w.refused(w.service.add_customer(&b, &form)).await;
    let Error::Refused(Refusal::NotChoosable { refused }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        refused[0].reasons,
        vec![Ineligibility::ActiveLimitReached { limit: 1 }]
    );
    assert_eq!(refused[0].reasons[0].rule(), "R-ENG-5");
    // The workshop allows two.
    w.add_subscription(&a, 1, &w.workshop).await;
    w.add_subscription(&b, 1, &w.workshop).await;
    let form = w.form(&c, "it@customer1.example", subscription(1), &[&w.workshop]);
    let error = w.refused(w.service.add_customer(&c, &form)).await;
    let Error::Refused(Refusal::NotChoosable { refused }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        refused[0].reasons,
        vec![Ineligibility::ActiveLimitReached { limit: 2 }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_eng_5_partners_adding_at_once_never_exceed_the_limit() {
    let w = World::new();
    for round in 0..10 {
        let customer = 500 + round;
        let mut tasks = Vec::new();
        for p in [PARTNER_A, PARTNER_B, PARTNER_C] {
            let service = w.service.clone();
            let user = admin(p);
            let form = w.form(
                &user,
                &format!("it@customer{customer}.example"),
                subscription(customer),
                &[&w.assessment],
            );
            tasks.push(tokio::spawn(async move {
                service.add_customer(&user, &form).await
            }));
        }
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(Error::Ineligible { reason, .. }) => {
                    assert_eq!(reason, Ineligibility::ActiveLimitReached { limit: 1 });
                }
                Err(Error::Refused(Refusal::NotChoosable { refused })) => {
                    assert_eq!(
                        refused[0].reasons,
                        vec![Ineligibility::ActiveLimitReached { limit: 1 }]
                    );
                }
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(ok, 1, "round {round}");
        assert_eq!(w.snapshot().nominations.len(), round as usize + 1);
    }
}

#[tokio::test]
async fn r_eng_7_the_overview_lists_engagements_with_availability_eligibility_and_customers() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.add_subscription(&a, 1, &w.workshop).await;
    w.consented_subscription(&a, 2, &w.workshop).await;
    let done = w.approved_subscription(&a, 3, &w.workshop).await;
    w.add_subscription(&a, 4, &w.assessment).await;
    let overview = w
        .service
        .overview(&a, &OverviewFilter::default())
        .await
        .unwrap();
    let listed: Vec<(&str, &str)> = overview
        .engagements
        .iter()
        .map(|e| (e.solution_area.as_str(), e.engagement.as_str()))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("Data & AI", "ai-assessment"),
            ("Data & AI", "ai-workshop"),
            ("Data & AI", "future-workshop"),
            ("Data & AI", "past-workshop"),
            ("Infrastructure", "migration-project"),
            ("Security", "security-workshop"),
        ],
        "by solution area"
    );
    let summary = |id: &str| {
        overview
            .engagements
            .iter()
            .find(|e| e.engagement.as_str() == id)
            .unwrap()
    };
    let workshop = summary("ai-workshop");
    assert_eq!(workshop.name.as_str(), "AI workshop");
    assert_eq!(workshop.availability, Availability::Active);
    assert_eq!(
        (workshop.eligible_locations, workshop.enrolled_locations),
        (1, 2),
        "one of the two enrolled locations lacks the specialization"
    );
    assert_eq!(workshop.active_customers, 2, "the approved one is complete");
    let assessment = summary("ai-assessment");
    assert_eq!(
        (assessment.eligible_locations, assessment.enrolled_locations),
        (2, 2)
    );
    assert_eq!(assessment.active_customers, 1);
    assert_eq!(
        summary("future-workshop").availability,
        Availability::ComingSoon
    );
    assert_eq!(summary("past-workshop").availability, Availability::Expired);
    assert_eq!(w.read(&done).await.state(), mci_core::State::Approved);
}

#[tokio::test]
async fn r_eng_7_the_overview_filters_by_location_availability_and_solution_area() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let ids = |overview: mci_engagements::Overview| -> Vec<String> {
        overview
            .engagements
            .into_iter()
            .map(|e| e.engagement.to_string())
            .collect()
    };
    let coming = w
        .service
        .overview(
            &a,
            &OverviewFilter {
                availability: Some(Availability::ComingSoon),
                ..OverviewFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(coming), vec!["future-workshop"]);
    let security = w
        .service
        .overview(
            &a,
            &OverviewFilter {
                solution_area: Some("Security".parse().unwrap()),
                ..OverviewFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(security), vec!["security-workshop"]);
    let at_location = w
        .service
        .overview(
            &a,
            &OverviewFilter {
                location: Some(location(LOC_A_NO_WORKSHOP)),
                ..OverviewFilter::default()
            },
        )
        .await
        .unwrap();
    let at_location = ids(at_location);
    assert!(!at_location.contains(&"ai-workshop".to_string()));
    assert!(at_location.contains(&"ai-assessment".to_string()));
}

#[tokio::test]
async fn r_eng_7_the_action_needed_list_shows_lapsing_consents_and_claims_and_reviewer_requests() {
    let w = World::with_settings(Settings {
        action_horizon: mci_core::Days::new(7),
        ..Settings::default()
    });
    let a = admin(PARTNER_A);
    let consent_soon = w.add_subscription(&a, 1, &w.workshop).await;
    let claim_later = w.consented_subscription(&a, 2, &w.assessment).await;
    let waiting = w.submitted_subscription(&a, 3, &w.workshop).await;
    w.service
        .start_review(reviewer(), &waiting, w.seen(&waiting).await)
        .await
        .unwrap();
    w.service
        .request_partner_action(
            reviewer(),
            &waiting,
            w.seen(&waiting).await,
            comment("add the agenda"),
        )
        .await
        .unwrap();
    w.add_subscription(&admin(PARTNER_B), 5, &w.workshop).await;
    w.set(t0() + days(20));
    w.add_subscription(&a, 4, &w.workshop).await;

    let due = |overview: mci_engagements::Overview| -> Vec<(mci_core::NominationId, Due)> {
        overview
            .action_needed
            .iter()
            .map(|x| (x.nomination, x.due))
            .collect()
    };
    // Day 25: 1's consent lapses in 5 days; 4's in 25; 3 waits for the
    // partner; B's nomination is B's business.
    w.set(t0() + days(25));
    let overview = w
        .service
        .overview(&a, &OverviewFilter::default())
        .await
        .unwrap();
    let consent_deadline = w.read(&consent_soon).await.deadline().unwrap();
    assert_eq!(
        due(overview),
        vec![
            (consent_soon, Due::ConsentLapsing(consent_deadline)),
            (waiting, Due::ReviewerWaiting)
        ]
    );
    assert_eq!(consent_deadline.kind, DeadlineKind::ObtainConsent);
    // Day 55: 2's first submission is due at day 60; 1 and 4 lapsed.
    w.set(t0() + days(55));
    let overview = w
        .service
        .overview(&a, &OverviewFilter::default())
        .await
        .unwrap();
    let claim_deadline = w.read(&claim_later).await.deadline().unwrap();
    assert_eq!(claim_deadline.kind, DeadlineKind::FirstSubmit);
    assert_eq!(claim_deadline.at, t0() + days(60));
    let item = &overview.action_needed[0];
    assert_eq!(item.engagement, *w.assessment.id());
    assert_eq!(&item.friendly_name, w.stored(&claim_later).friendly_name());
    assert_eq!(
        due(overview),
        vec![
            (claim_later, Due::ClaimLapsing(claim_deadline)),
            (waiting, Due::ReviewerWaiting)
        ]
    );
}

#[tokio::test]
async fn r_eng_8_a_rule_change_never_moves_an_existing_nominations_deadlines_or_payout() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let before = w.consented_subscription(&a, 1, &w.workshop).await;
    let pinned = w.stored(&before).rules().clone();
    assert_eq!(pinned.version(), RuleVersion::new(1));

    let v2 = EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(900_000)))
        .version(RuleVersion::new(2))
        .timelines(Timelines {
            first_submit: mci_core::Days::new(45),
            review_complete: mci_core::Days::new(60),
            ..Timelines::for_kind(EngagementKind::Workshop)
        })
        .active_nomination_limit(2)
        .build()
        .unwrap();
    w.service
        .publish_engagement(w.workshop.clone().with_rules(v2));
    let after = w.consented_subscription(&a, 2, &w.workshop).await;
    let late = w.consented_subscription(&a, 3, &w.workshop).await;
    assert_eq!(w.stored(&after).rules().version(), RuleVersion::new(2));
    assert_eq!(w.stored(&before).rules(), &pinned);
    assert_eq!(
        w.row(&a, &w.workshop, &before)
            .await
            .unwrap()
            .status
            .days_left,
        Some(90)
    );
    assert_eq!(
        w.row(&a, &w.workshop, &after)
            .await
            .unwrap()
            .status
            .days_left,
        Some(45)
    );

    w.set(t0() + days(10));
    w.prove(&a, &after).await;
    w.service.submit(&a, &after).await.unwrap();
    w.prove(&a, &late).await;
    // Day 50: the old nomination is still in time, the new one not.
    w.set(t0() + days(50));
    w.prove(&a, &before).await;
    w.service.submit(&a, &before).await.unwrap();
    let error = w.refused(w.service.submit(&a, &late)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Lapsed {
            state: mci_core::State::NotSubmittedExpired,
            ..
        })
    );
    for id in [before, after] {
        w.review_and_approve(&id).await;
    }
    assert_eq!(w.read(&before).await.claim().payout, Some(eur(750_000)));
    assert_eq!(w.read(&after).await.claim().payout, Some(eur(900_000)));
}
