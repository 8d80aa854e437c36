//! Engagements (R-ENG-1..8): availability, pay, accepted IDs, timelines per
//! type, the active-nomination limit, proof items, listing, and rules pinned
//! at creation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use mci_core::{
    Availability, AvailabilityWindow, Candidate, Competitor, CustomerIdInput, CustomerIdType,
    DeadlineKind, DirectoryFinding, EligibilityFacts, Engagement, EngagementKind, EngagementRules,
    Guard, Hours, Ineligibility, Need, Nomination, PayModel, ProofItem, ProofRequirement, Refusal,
    RuleVersion, State, Timelines, identify_customer, nominate, review_nomination,
};
use mci_testkit::*;

fn refusal_reasons(refusal: Refusal) -> Vec<Ineligibility> {
    match refusal {
        Refusal::NotChoosable { mut refused } => {
            assert_eq!(refused.len(), 1);
            refused.remove(0).reasons
        }
        other => panic!("expected NotChoosable, got {other:?}"),
    }
}

fn add(
    engagement: &Engagement,
    now: mci_core::Instant,
    facts: EligibilityFacts,
) -> Result<Nomination, Refusal> {
    let candidates = [Candidate { engagement, facts }];
    let mut request = nomination_request();
    if engagement.rules().pay().is_variable() {
        request.hours = Some(Hours::new(10).unwrap());
        request.customer = msx_customer();
    }
    nominate(now, &admin(), request, &candidates, || nomination_id(7))
        .map(|mut created| created.remove(0).nomination)
}

fn msx_customer() -> mci_core::Customer {
    identify_customer(
        CustomerIdInput::MsxOpportunityId("7-ABCDEF1234".parse().unwrap()),
        "cio@contoso.example".parse().unwrap(),
        None,
        DirectoryFinding::NotAsked,
    )
    .unwrap()
}

// R-ENG-1

#[test]
fn r_eng_1_only_an_active_engagement_accepts_nominations() {
    let starts = t0() + TimeDelta::days(10);
    let ends = t0() + TimeDelta::days(100);
    let upcoming = Engagement::new(
        "next-workshop".parse().unwrap(),
        "Next workshop".parse().unwrap(),
        "Security".parse().unwrap(),
        AvailabilityWindow::new(starts, ends).unwrap(),
        workshop().0.rules().clone(),
    );
    assert_eq!(upcoming.availability(t0()), Availability::ComingSoon);
    assert_eq!(
        refusal_reasons(add(&upcoming, t0(), eligible_facts()).unwrap_err()),
        vec![Ineligibility::EngagementNotActive {
            availability: Availability::ComingSoon
        }]
    );
    assert_eq!(upcoming.availability(starts), Availability::Active);
    assert!(add(&upcoming, starts, eligible_facts()).is_ok());
    assert!(add(&upcoming, ends - TimeDelta::seconds(1), eligible_facts()).is_ok());
    assert_eq!(upcoming.availability(ends), Availability::Expired);
    assert_eq!(
        refusal_reasons(add(&upcoming, ends, eligible_facts()).unwrap_err()),
        vec![Ineligibility::EngagementNotActive {
            availability: Availability::Expired
        }]
    );
}

#[test]
fn r_eng_1_an_engagement_that_expires_keeps_its_nominations_going() {
    let ends = t0() + TimeDelta::days(5);
    let short = Engagement::new(
        "short-workshop".parse().unwrap(),
        "Short workshop".parse().unwrap(),
        "Security".parse().unwrap(),
        AvailabilityWindow::new(t0() - TimeDelta::days(1), ends).unwrap(),
        workshop().0.rules().clone(),
    );
    let s = Scenario::consented_to(&short).wait_days(20);
    assert_eq!(short.availability(s.now), Availability::Expired);
    assert_eq!(s.prove_everything().submit().state(), State::Submitted);
}

// R-ENG-2

#[test]
fn r_eng_2_fixed_pay_pays_the_fee() {
    let s = Scenario::approved();
    assert_eq!(s.nomination.proposed_payout(), Some(eur(750_000)));
    assert_eq!(s.nomination.claim().payout, Some(eur(750_000)));
}

#[test]
fn r_eng_2_variable_pay_is_the_rate_times_the_hours_capped() {
    let project = variable_project();
    let payout = |hours: u32| {
        project
            .rules()
            .pay()
            .payout(Some(Hours::new(hours).unwrap()))
    };
    assert_eq!(payout(1), Some(eur(15_000)));
    assert_eq!(payout(200), Some(eur(3_000_000)));
    // 201 hours would be 30,150.00: the cap applies.
    assert_eq!(payout(201), Some(eur(3_000_000)));
    assert_eq!(payout(400), Some(eur(3_000_000)));
    assert_eq!(project.rules().pay().payout(None), None);
}

// R-ENG-3

#[test]
fn r_eng_3_an_engagement_refuses_the_id_types_it_does_not_accept() {
    let rules = EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(100_000)))
        .accepted_id_types([CustomerIdType::TenantId, CustomerIdType::Tpid])
        .build()
        .unwrap();
    let tenants_only = engagement_with_rules("tenant-workshop", rules);
    // Contoso was identified by its email domain.
    assert_eq!(
        refusal_reasons(add(&tenants_only, t0(), eligible_facts()).unwrap_err()),
        vec![Ineligibility::IdTypeNotAccepted {
            id_type: CustomerIdType::Domain
        }]
    );
    let by_tenant = identify_customer(
        CustomerIdInput::TenantId(contoso_tenant()),
        "cio@contoso.example".parse().unwrap(),
        None,
        DirectoryFinding::OwnsDomain(true),
    )
    .unwrap();
    let request = mci_core::NominationRequest {
        customer: by_tenant,
        ..nomination_request()
    };
    let candidates = [Candidate {
        engagement: &tenants_only,
        facts: eligible_facts(),
    }];
    assert!(nominate(t0(), &admin(), request, &candidates, || nomination_id(3)).is_ok());
}

#[test]
fn r_eng_3_variable_pay_takes_only_msx_opportunity_ids_and_fixed_pay_none() {
    let project = variable_project();
    assert_eq!(
        project
            .rules()
            .accepted_id_types()
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        vec![CustomerIdType::MsxOpportunityId]
    );
    let mut request = nomination_request();
    request.hours = Some(Hours::new(10).unwrap());
    let refused = nominate(
        t0(),
        &admin(),
        request,
        &[Candidate {
            engagement: &project,
            facts: eligible_facts(),
        }],
        || nomination_id(3),
    )
    .unwrap_err();
    assert_eq!(
        refusal_reasons(refused),
        vec![Ineligibility::IdTypeNotAccepted {
            id_type: CustomerIdType::Domain
        }]
    );
    assert!(add(&project, t0(), eligible_facts()).is_ok());
    let (workshop, _) = workshop();
    assert!(!workshop.rules().accepts(CustomerIdType::MsxOpportunityId));
    for id_type in CustomerIdType::FIXED_PAY {
        assert!(workshop.rules().accepts(id_type));
    }
}

// R-ENG-4

#[test]
fn r_eng_4_every_type_gives_its_nominations_the_published_windows() {
    let rows = [
        (EngagementKind::Assessment, 60, 90),
        (EngagementKind::Workshop, 90, 120),
        (EngagementKind::SmallProject, 120, 150),
        (EngagementKind::MediumProject, 200, 230),
        (EngagementKind::LargeProject, 260, 290),
    ];
    for (kind, first_submit, review_complete) in rows {
        let engagement = engagement("typed", kind, 1);
        let added = Scenario::added_to(&engagement);
        assert_eq!(
            added.nomination.deadline().unwrap().at,
            t0() + TimeDelta::days(30),
            "{kind}"
        );
        let consented = added.consent_given();
        let at = consented.consented_at();
        assert_eq!(
            consented.nomination.deadline().unwrap().at,
            at + TimeDelta::days(first_submit),
            "{kind}"
        );
        let rejected = consented.prove_everything().submit().start_review();
        let review = rejected.nomination.deadline().unwrap();
        assert_eq!(review.kind, DeadlineKind::ReviewComplete);
        assert_eq!(review.at, at + TimeDelta::days(review_complete), "{kind}");
        let rejected = rejected.reject();
        assert_eq!(
            rejected.nomination.deadline().unwrap().at,
            rejected.now + TimeDelta::days(30),
            "{kind}"
        );
        let timelines = engagement.rules().timelines();
        assert_eq!(
            i64::from(timelines.longest_claim_life().get()),
            review_complete + 30,
            "{kind}"
        );
    }
}

#[test]
fn r_eng_4_an_engagement_may_set_its_own_windows() {
    let rules = EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(100)))
        .timelines(Timelines {
            obtain_consent: mci_core::Days::new(14),
            first_submit: mci_core::Days::new(45),
            review_complete: mci_core::Days::new(60),
            dispute: mci_core::Days::new(10),
        })
        .build()
        .unwrap();
    let s = Scenario::added_to(&engagement_with_rules("quick", rules));
    assert_eq!(
        s.nomination.deadline().unwrap().at,
        t0() + TimeDelta::days(14)
    );
    let bad = EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(100)))
        .timelines(Timelines {
            obtain_consent: mci_core::Days::new(30),
            first_submit: mci_core::Days::new(90),
            review_complete: mci_core::Days::new(60),
            dispute: mci_core::Days::new(30),
        })
        .build()
        .unwrap_err();
    assert_eq!(bad.rule(), "R-ENG-4");
}

// R-ENG-5

fn live_rival() -> Competitor {
    Competitor {
        same_partner: false,
        standing: Scenario::added_by(&admin_of(2), &workshop().0, nomination_id(2))
            .nomination
            .standing(),
    }
}

#[test]
fn r_eng_5_by_default_one_live_nomination_per_customer_across_partners() {
    let (workshop, now) = workshop();
    assert_eq!(workshop.rules().active_nomination_limit(), 1);
    let facts = EligibilityFacts {
        competitors: vec![live_rival()],
        ..eligible_facts()
    };
    assert_eq!(
        refusal_reasons(add(&workshop, now, facts).unwrap_err()),
        vec![Ineligibility::ActiveLimitReached { limit: 1 }]
    );
    // Once the rival's consent window lapses, the customer is free again.
    let after = now + TimeDelta::days(30);
    let facts = EligibilityFacts {
        competitors: vec![live_rival()],
        ..eligible_facts()
    };
    assert!(add(&workshop, after, facts).is_ok());
}

#[test]
fn r_eng_5_a_higher_limit_admits_more_and_the_store_checks_it_again() {
    let shared = engagement("shared", EngagementKind::Workshop, 2);
    let one = EligibilityFacts {
        competitors: vec![live_rival()],
        ..eligible_facts()
    };
    let created = add(&shared, t0(), one).unwrap();
    let two = EligibilityFacts {
        competitors: vec![live_rival(), live_rival()],
        ..eligible_facts()
    };
    assert_eq!(
        refusal_reasons(add(&shared, t0(), two).unwrap_err()),
        vec![Ineligibility::ActiveLimitReached { limit: 2 }]
    );
    // The creation carries the limit as a guard for the store.
    let outcome = nominate(
        t0(),
        &admin(),
        nomination_request(),
        &[Candidate {
            engagement: &shared,
            facts: eligible_facts(),
        }],
        || nomination_id(8),
    )
    .unwrap()
    .remove(0);
    let guard = outcome
        .guards
        .iter()
        .find(|g| matches!(g, Guard::LiveNominationsBelow { .. }))
        .unwrap();
    assert_eq!(guard.rule(), "R-ENG-5");
    let standing = created.standing();
    let p2 = partner(2);
    assert!(guard.admits([(&p2, &standing)], t0()));
    assert!(!guard.admits([(&p2, &standing), (&p2, &standing)], t0()));
}

// R-ENG-6

#[test]
fn r_eng_6_the_default_proof_items_and_an_engagement_of_its_own() {
    let s = Scenario::consented();
    let mut missing = s.nomination.missing_proof();
    missing.sort();
    assert_eq!(
        missing,
        vec![
            ProofItem::ProofOfExecution,
            ProofItem::Invoice,
            ProofItem::PartnerSurvey,
            ProofItem::CustomerSurvey
        ]
    );
    let rules = EngagementRules::builder(EngagementKind::Assessment, PayModel::fixed(eur(100)))
        .proof([
            ProofRequirement {
                item: ProofItem::ProofOfExecution,
                need: Need::Required,
            },
            ProofRequirement {
                item: ProofItem::CustomerSurvey,
                need: Need::Required,
            },
            ProofRequirement {
                item: ProofItem::Invoice,
                need: Need::IfApplicable,
            },
        ])
        .build()
        .unwrap();
    let s = Scenario::consented_to(&engagement_with_rules("light", rules));
    assert_eq!(
        s.nomination.missing_proof(),
        vec![ProofItem::ProofOfExecution, ProofItem::CustomerSurvey]
    );
    let twice = EngagementRules::builder(EngagementKind::Assessment, PayModel::fixed(eur(100)))
        .proof([
            ProofRequirement {
                item: ProofItem::Invoice,
                need: Need::Required,
            },
            ProofRequirement {
                item: ProofItem::Invoice,
                need: Need::IfApplicable,
            },
        ])
        .build()
        .unwrap_err();
    assert_eq!(twice.rule(), "R-ENG-6");
}

// R-ENG-7

#[test]
fn r_eng_7_an_engagement_shows_its_solution_area_and_availability() {
    let (workshop, now) = workshop();
    assert_eq!(workshop.solution_area().as_str(), "Data & AI");
    assert_eq!(workshop.name().as_str(), "workshop ai-workshop");
    assert_eq!(workshop.availability(now), Availability::Active);
    assert_eq!(Availability::ComingSoon.to_string(), "coming soon");
}

#[test]
fn r_eng_7_what_is_due_shows_on_each_nomination() {
    // Consents about to lapse and claims about to lapse: the deadline and its
    // days left; claims where the reviewer asked for more: the state.
    let awaiting = Scenario::added().wait_days(25);
    let row = awaiting.row().unwrap();
    assert_eq!(
        (row.status.deadline, row.status.days_left),
        (Some(DeadlineKind::ObtainConsent), Some(5))
    );
    let claim = Scenario::consented().wait_days(85);
    let row = claim.row().unwrap();
    assert_eq!(
        (row.status.deadline, row.status.days_left),
        (Some(DeadlineKind::FirstSubmit), Some(5))
    );
    let asked = Scenario::under_review().request_partner_action();
    let row = asked.row().unwrap();
    assert_eq!(row.status.state, State::PartnerActionRequired);
    assert!(row.actions.contains(&mci_core::Action::AnswerReviewer));
}

// R-ENG-8

#[test]
fn r_eng_8_changing_an_engagements_rules_moves_no_deadline_or_payout() {
    let (workshop, _) = workshop();
    let s = Scenario::added_to(&workshop);
    assert_eq!(s.nomination.rules().version(), RuleVersion::new(1));

    // The program shortens every window and halves the fee.
    let new_rules =
        EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(375_000)))
            .version(RuleVersion::new(2))
            .timelines(Timelines {
                obtain_consent: mci_core::Days::new(10),
                first_submit: mci_core::Days::new(20),
                review_complete: mci_core::Days::new(40),
                dispute: mci_core::Days::new(5),
            })
            .build()
            .unwrap();
    let changed = workshop.with_rules(new_rules);
    assert_eq!(changed.rules().version(), RuleVersion::new(2));

    // The existing nomination keeps version 1 all the way to its payout.
    assert_eq!(
        s.nomination.deadline().unwrap().at,
        t0() + TimeDelta::days(30)
    );
    let s = s.wait_days(15).consent_given();
    let consented = s.consented_at();
    assert_eq!(
        s.nomination.deadline().unwrap().at,
        consented + TimeDelta::days(90)
    );
    let s = s.wait_days(50).prove_everything().submit().start_review();
    assert_eq!(
        s.nomination.deadline().unwrap().at,
        consented + TimeDelta::days(120)
    );
    let s = s.approve();
    assert_eq!(s.nomination.claim().payout, Some(eur(750_000)));
    assert_eq!(s.nomination.rules().version(), RuleVersion::new(1));

    // A nomination made after the change pins version 2.
    let later = Scenario::added_to(&changed);
    assert_eq!(later.nomination.rules().version(), RuleVersion::new(2));
    assert_eq!(
        later.nomination.deadline().unwrap().at,
        t0() + TimeDelta::days(10)
    );
    assert_eq!(later.nomination.proposed_payout(), Some(eur(375_000)));
    // And the review step answers with the rules in force.
    let review = review_nomination(
        t0(),
        &nomination_request(),
        &[Candidate {
            engagement: &changed,
            facts: eligible_facts(),
        }],
    )
    .unwrap();
    assert_eq!(review.choosable[0].rules_version, RuleVersion::new(2));
    assert_eq!(review.choosable[0].proposed_payout, Some(eur(375_000)));
}

#[test]
fn r_eng_8_the_pinned_rules_survive_storage() {
    let s = Scenario::consented();
    let json = serde_json::to_string(&s.nomination).unwrap();
    let back: Nomination = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s.nomination);
    assert_eq!(back.rules(), workshop().0.rules());
    assert_eq!(back.deadline(), s.nomination.deadline());
}
