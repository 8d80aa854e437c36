//! Adding and claiming customers, and the review step before (R-ADD-1..10,
//! R-CLAIM-1..3), as far as the core decides them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use mci_core::{
    Candidate, Competitor, CustomerId, CustomerIdInput, DirectoryFinding, EligibilityFacts,
    Engagement, EngagementKind, EngagementRefusal, EventKind, Guard, Hours, Ineligibility,
    LocationStanding, NominationRequest, Origin, Outcome, Refusal, RowType, State, Tab,
    identify_customer, nominate, review_nomination,
};
use mci_testkit::*;

fn candidate(engagement: &Engagement) -> Candidate<'_> {
    Candidate {
        engagement,
        facts: eligible_facts(),
    }
}

fn add(request: NominationRequest, candidates: &[Candidate<'_>]) -> Result<Vec<Outcome>, Refusal> {
    let mut ids = nomination_ids();
    nominate(t0(), &admin(), request, candidates, || ids.next().unwrap())
}

fn variable_request(hours: Option<u32>) -> NominationRequest {
    NominationRequest {
        customer: identify_customer(
            CustomerIdInput::MsxOpportunityId("7-ABCDEF1234".parse().unwrap()),
            "cio@contoso.example".parse().unwrap(),
            None,
            DirectoryFinding::NotAsked,
        )
        .unwrap(),
        hours: hours.map(|h| Hours::new(h).unwrap()),
        ..nomination_request()
    }
}

fn live_own_nomination() -> Competitor {
    Competitor {
        same_partner: true,
        standing: Scenario::added().nomination.standing(),
    }
}

// R-ADD-1

#[test]
fn r_add_1_at_least_one_engagement_each_chosen_once() {
    assert_eq!(
        add(nomination_request(), &[]).unwrap_err(),
        Refusal::NoEngagementChosen
    );
    let (workshop, _) = workshop();
    assert_eq!(
        add(
            nomination_request(),
            &[candidate(&workshop), candidate(&workshop)]
        )
        .unwrap_err(),
        Refusal::EngagementChosenTwice {
            engagement: workshop.id().clone()
        }
    );
}

#[test]
fn r_add_1_the_nomination_records_what_was_given() {
    let (workshop, _) = workshop();
    let created = add(nomination_request(), &[candidate(&workshop)]).unwrap();
    let n = &created[0].nomination;
    assert_eq!(n.friendly_name().as_str(), "Contoso AI readiness");
    assert_eq!(n.location().as_str(), "1234567");
    assert_eq!(n.customer().email().as_str(), "cio@contoso.example");
    assert_eq!(
        n.customer_contacts(),
        &contacts("Carla Cio", "cio@contoso.example")
    );
    assert_eq!(
        n.partner_contacts(),
        &contacts("Ada Admin", "ada@partner.example")
    );
    assert_eq!(n.partner(), &partner(1));
    assert_eq!(n.origin(), Origin::Added);
    assert_eq!(n.created_at(), t0());
    assert_eq!(n.state(), State::CustomerClaimed);
    assert_eq!(n.version(), 1);
    assert_eq!(
        created[0].event.kind,
        EventKind::Created {
            origin: Origin::Added
        }
    );
}

// R-ADD-2

#[test]
fn r_add_2_the_location_must_be_the_partners_enrolled_and_eligible() {
    let (workshop, _) = workshop();
    let cases = [
        (
            LocationStanding::NotThePartners,
            Ineligibility::LocationNotThePartners,
        ),
        (
            LocationStanding::NotEnrolled,
            Ineligibility::LocationNotEnrolled,
        ),
        (
            LocationStanding::Ineligible("no Solutions Partner designation".into()),
            Ineligibility::LocationIneligible {
                reason: "no Solutions Partner designation".into(),
            },
        ),
    ];
    for (location, reason) in cases {
        let facts = EligibilityFacts {
            location,
            ..eligible_facts()
        };
        let refusal = add(
            nomination_request(),
            &[Candidate {
                engagement: &workshop,
                facts,
            }],
        )
        .unwrap_err();
        assert_eq!(
            refusal,
            Refusal::NotChoosable {
                refused: vec![EngagementRefusal {
                    engagement: workshop.id().clone(),
                    reasons: vec![reason.clone()],
                }]
            }
        );
        assert_eq!(reason.rule(), "R-ADD-2");
    }
}

// R-ADD-3

#[test]
fn r_add_3_email_only_takes_the_tenant_of_the_domain_or_fails() {
    let customer = identify_customer(
        CustomerIdInput::EmailOnly,
        "cio@contoso.example".parse().unwrap(),
        None,
        DirectoryFinding::TenantOfDomain(Some(contoso_tenant())),
    )
    .unwrap();
    assert_eq!(customer.id(), &CustomerId::Tenant(contoso_tenant()));
    let refusal = identify_customer(
        CustomerIdInput::EmailOnly,
        "cio@unknown.example".parse().unwrap(),
        None,
        DirectoryFinding::TenantOfDomain(None),
    )
    .unwrap_err();
    assert_eq!(
        refusal,
        Refusal::NoTenantForDomain {
            domain: "unknown.example".parse().unwrap()
        }
    );
    assert!(refusal.to_string().contains("tenant id or TPID"));
}

// R-ADD-4

#[test]
fn r_add_4_a_domain_mismatch_needs_a_reason_which_the_nomination_keeps() {
    let tpid = "4242".parse().unwrap();
    let without = identify_customer(
        CustomerIdInput::Tpid(tpid),
        "cio@contoso-partner.example".parse().unwrap(),
        None,
        DirectoryFinding::OwnsDomain(false),
    )
    .unwrap_err();
    assert!(matches!(without, Refusal::DomainMismatch { .. }));
    let customer = identify_customer(
        CustomerIdInput::Tpid(tpid),
        "cio@contoso-partner.example".parse().unwrap(),
        Some(comment("The CIO uses the subsidiary's mailbox")),
        DirectoryFinding::OwnsDomain(false),
    )
    .unwrap();
    let (workshop, _) = workshop();
    let created = add(
        NominationRequest {
            customer,
            ..nomination_request()
        },
        &[candidate(&workshop)],
    )
    .unwrap();
    assert_eq!(
        created[0].nomination.customer().mismatch_reason(),
        Some(&comment("The CIO uses the subsidiary's mailbox"))
    );
}

// R-ADD-5

#[test]
fn r_add_5_eligibility_and_guards_key_on_the_id_given() {
    let tpid = "4242".parse().unwrap();
    let by_tpid = identify_customer(
        CustomerIdInput::Tpid(tpid),
        "cio@contoso.example".parse().unwrap(),
        None,
        DirectoryFinding::OwnsDomain(true),
    )
    .unwrap();
    assert_eq!(by_tpid.id(), &CustomerId::Tpid(tpid));
    let (workshop, _) = workshop();
    let created = add(
        NominationRequest {
            customer: by_tpid,
            ..nomination_request()
        },
        &[candidate(&workshop)],
    )
    .unwrap();
    // The store looks for other nominations of the TPID, not of its tenants.
    for guard in &created[0].guards {
        assert_eq!(guard.customer(), &CustomerId::Tpid(tpid));
    }
    assert_ne!(CustomerId::Tpid(tpid), CustomerId::Tenant(contoso_tenant()));
}

// R-ADD-6

#[test]
fn r_add_6_adding_to_several_engagements_is_all_or_nothing_with_reasons_per_engagement() {
    let (workshop, _) = workshop();
    let assessment = assessment();
    let security = engagement("security-workshop", EngagementKind::Workshop, 1);
    let ineligible = EligibilityFacts {
        customer: mci_core::CustomerStanding::Ineligible("below the seat threshold".into()),
        ..eligible_facts()
    };
    let taken = EligibilityFacts {
        competitors: vec![Competitor {
            same_partner: false,
            standing: Scenario::consented().nomination.standing(),
        }],
        ..eligible_facts()
    };
    let refusal = add(
        nomination_request(),
        &[
            candidate(&workshop),
            Candidate {
                engagement: &assessment,
                facts: ineligible,
            },
            Candidate {
                engagement: &security,
                facts: taken,
            },
        ],
    )
    .unwrap_err();
    let Refusal::NotChoosable { refused } = refusal else {
        panic!("not choosable")
    };
    assert_eq!(
        refused,
        vec![
            EngagementRefusal {
                engagement: assessment.id().clone(),
                reasons: vec![Ineligibility::CustomerIneligible {
                    reason: "below the seat threshold".into()
                }],
            },
            EngagementRefusal {
                engagement: security.id().clone(),
                reasons: vec![
                    Ineligibility::ConsentedToAnotherPartner,
                    Ineligibility::ActiveLimitReached { limit: 1 }
                ],
            },
        ]
    );

    let created = add(
        nomination_request(),
        &[
            candidate(&workshop),
            candidate(&assessment),
            candidate(&security),
        ],
    )
    .unwrap();
    assert_eq!(created.len(), 3);
    let engagements: Vec<_> = created
        .iter()
        .map(|o| o.nomination.engagement().clone())
        .collect();
    assert_eq!(
        engagements,
        vec![
            workshop.id().clone(),
            assessment.id().clone(),
            security.id().clone()
        ]
    );
    let ids: std::collections::BTreeSet<_> = created.iter().map(|o| *o.nomination.id()).collect();
    assert_eq!(ids.len(), 3, "each nomination has its own id");
}

// R-ADD-7

#[test]
fn r_add_7_a_second_nomination_by_the_same_partner_is_a_duplicate_while_the_first_is_live() {
    let (workshop, _) = workshop();
    let facts = EligibilityFacts {
        competitors: vec![live_own_nomination()],
        ..eligible_facts()
    };
    let refused = add(
        nomination_request(),
        &[Candidate {
            engagement: &workshop,
            facts,
        }],
    )
    .unwrap_err();
    let Refusal::NotChoosable { refused } = refused else {
        panic!("not choosable")
    };
    assert!(
        refused[0]
            .reasons
            .contains(&Ineligibility::AlreadyNominated)
    );

    // Once the first has lapsed, the partner may nominate again.
    let later = t0() + TimeDelta::days(30);
    let facts = EligibilityFacts {
        competitors: vec![live_own_nomination()],
        ..eligible_facts()
    };
    let created = nominate(
        later,
        &admin(),
        nomination_request(),
        &[Candidate {
            engagement: &workshop,
            facts,
        }],
        || nomination_id(5),
    )
    .unwrap();
    // And the store checks it again as it writes.
    let guard = created[0]
        .guards
        .iter()
        .find(|g| matches!(g, Guard::NoOtherLiveNomination { .. }))
        .unwrap();
    let first = Scenario::added().nomination;
    let standing = first.standing();
    assert!(!guard.admits([(first.partner(), &standing)], t0()));
    assert!(guard.admits([(first.partner(), &standing)], later));
    // Another partner's live nomination is not a duplicate.
    let p2 = partner(2);
    assert!(guard.admits([(&p2, &standing)], t0()));
}

// R-ADD-8

#[test]
fn r_add_8_variable_pay_is_added_alone() {
    let project = variable_project();
    let (workshop, _) = workshop();
    assert_eq!(
        add(
            variable_request(Some(10)),
            &[candidate(&project), candidate(&workshop)]
        )
        .unwrap_err(),
        Refusal::VariablePayAlone
    );
}

#[test]
fn r_add_8_hours_are_required_at_most_the_maximum_and_only_for_variable_pay() {
    let project = variable_project();
    assert_eq!(
        add(variable_request(None), &[candidate(&project)]).unwrap_err(),
        Refusal::HoursRequired
    );
    assert_eq!(
        add(variable_request(Some(401)), &[candidate(&project)]).unwrap_err(),
        Refusal::HoursOverMaximum {
            hours: Hours::new(401).unwrap(),
            max: Hours::new(400).unwrap()
        }
    );
    assert!(Hours::new(0).is_err(), "at least one whole hour");
    let created = add(variable_request(Some(400)), &[candidate(&project)]).unwrap();
    assert_eq!(
        created[0].nomination.hours(),
        Some(Hours::new(400).unwrap())
    );
    let (workshop, _) = workshop();
    let with_hours = NominationRequest {
        hours: Some(Hours::new(8).unwrap()),
        ..nomination_request()
    };
    assert_eq!(
        add(with_hours, &[candidate(&workshop)]).unwrap_err(),
        Refusal::HoursNotApplicable
    );
}

#[test]
fn r_add_8_the_review_step_proposes_rate_times_hours_capped_and_the_hours_stay() {
    let project = variable_project();
    let review =
        review_nomination(t0(), &variable_request(Some(40)), &[candidate(&project)]).unwrap();
    assert_eq!(review.choosable[0].proposed_payout, Some(eur(600_000)));
    let capped =
        review_nomination(t0(), &variable_request(Some(300)), &[candidate(&project)]).unwrap();
    assert_eq!(capped.choosable[0].proposed_payout, Some(eur(3_000_000)));
    // The hours are fixed at creation: the approval pays what was proposed.
    let s = Scenario::submitted_to(&project).start_review().approve();
    assert_eq!(s.nomination.claim().payout, Some(eur(600_000)));
    assert_eq!(s.nomination.hours(), Some(Hours::new(40).unwrap()));
}

// R-ADD-9

#[test]
fn r_add_9_each_created_nomination_appears_on_its_engagements_page() {
    let (workshop, _) = workshop();
    let assessment = assessment();
    let created = add(
        nomination_request(),
        &[candidate(&workshop), candidate(&assessment)],
    )
    .unwrap();
    for outcome in &created {
        let row = outcome.nomination.page_row(t0()).unwrap();
        assert_eq!(row.tab, Tab::Eligible);
        assert_eq!(row.row_type, RowType::NotStarted);
        assert_eq!(row.nomination, *outcome.nomination.id());
        assert_eq!(outcome.expected_version(), 0, "a creation");
    }
}

// R-ADD-10

#[test]
fn r_add_10_the_review_step_answers_choosable_engagements_deadlines_and_payout() {
    let (workshop, _) = workshop();
    let assessment = assessment();
    let not_enrolled = EligibilityFacts {
        location: LocationStanding::NotEnrolled,
        ..eligible_facts()
    };
    let request = nomination_request();
    let candidates = [
        candidate(&workshop),
        Candidate {
            engagement: &assessment,
            facts: not_enrolled,
        },
    ];
    let review = review_nomination(t0(), &request, &candidates).unwrap();
    assert_eq!(review.choosable.len(), 1);
    let proposal = &review.choosable[0];
    assert_eq!(&proposal.engagement, workshop.id());
    assert_eq!(proposal.consent_deadline, t0() + TimeDelta::days(30));
    assert_eq!(proposal.timelines.first_submit.get(), 90);
    assert_eq!(proposal.timelines.review_complete.get(), 120);
    assert_eq!(proposal.proposed_payout, Some(eur(750_000)));
    assert_eq!(
        review.refused,
        vec![EngagementRefusal {
            engagement: assessment.id().clone(),
            reasons: vec![Ineligibility::LocationNotEnrolled],
        }]
    );
    // The deadlines proposed are the ones the nomination gets.
    let created = add(request, &[candidate(&workshop)]).unwrap();
    assert_eq!(
        created[0].nomination.deadline().unwrap().at,
        proposal.consent_deadline
    );
    assert_eq!(
        created[0].nomination.proposed_payout(),
        proposal.proposed_payout
    );
}

#[test]
fn r_add_10_the_review_step_writes_nothing_and_refuses_only_a_malformed_request() {
    // The review takes its inputs by reference and returns a plain answer:
    // asking twice answers the same.
    let (workshop, _) = workshop();
    let request = nomination_request();
    let candidates = [candidate(&workshop)];
    let first = review_nomination(t0(), &request, &candidates).unwrap();
    let second = review_nomination(t0(), &request, &candidates).unwrap();
    assert_eq!(first, second);
    assert_eq!(
        review_nomination(t0(), &request, &[]).unwrap_err(),
        Refusal::NoEngagementChosen
    );
    let project = variable_project();
    assert_eq!(
        review_nomination(t0(), &variable_request(None), &[candidate(&project)]).unwrap_err(),
        Refusal::HoursRequired
    );
}

// R-CLAIM-1

#[test]
fn r_claim_1_only_a_customer_that_consented_to_this_partner_can_be_claimed() {
    let claim = |user: &mci_core::PartnerUser, earlier: &mci_core::Nomination| {
        NominationRequest::claim(
            user,
            earlier,
            "Contoso security".parse().unwrap(),
            "1234567".parse().unwrap(),
            None,
            None,
            None,
        )
    };
    let not_consented = Scenario::added().nomination;
    assert_eq!(
        claim(&admin(), &not_consented).unwrap_err(),
        Refusal::CustomerNotKnown
    );
    let consented = Scenario::consented().nomination;
    assert_eq!(
        claim(&admin_of(2), &consented).unwrap_err(),
        Refusal::CustomerNotKnown
    );
    assert!(matches!(
        claim(&account_admin(), &consented).unwrap_err(),
        Refusal::RoleNotAllowed { .. }
    ));
    // A nomination whose claim later ended still made the customer known.
    let expired = Scenario::in_every_state()
        .into_iter()
        .find(|(name, _)| *name == "not submitted expired")
        .unwrap()
        .1
        .nomination;
    assert!(claim(&admin(), &expired).is_ok());
    assert!(claim(&incentives_user(), &consented).is_ok());
}

// R-CLAIM-2

#[test]
fn r_claim_2_the_identity_comes_from_the_earlier_nomination() {
    let earlier = Scenario::consented().nomination;
    let request = NominationRequest::claim(
        &admin(),
        &earlier,
        "Contoso security".parse().unwrap(),
        "7654321".parse().unwrap(),
        None,
        Some(contacts("Bo Seller", "bo@partner.example")),
        None,
    )
    .unwrap();
    assert_eq!(&request.customer, earlier.customer());
    assert_eq!(&request.customer_contacts, earlier.customer_contacts());
    assert_eq!(
        request.partner_contacts,
        contacts("Bo Seller", "bo@partner.example")
    );
    assert_eq!(
        request.origin,
        Origin::Claimed {
            from: *earlier.id()
        }
    );
    let security = engagement("security-workshop", EngagementKind::Workshop, 1);
    let created = add(request, &[candidate(&security)]).unwrap();
    let n = &created[0].nomination;
    assert_eq!(n.customer(), earlier.customer());
    assert_eq!(n.location().as_str(), "7654321");
    assert_eq!(n.state(), State::CustomerClaimed);
    assert_eq!(
        created[0].event.kind,
        EventKind::Created {
            origin: Origin::Claimed {
                from: *earlier.id()
            }
        }
    );
}

// R-CLAIM-3

#[test]
fn r_claim_3_claiming_follows_the_same_eligibility_duplicate_and_all_or_nothing_rules() {
    let earlier = Scenario::consented().nomination;
    let request = NominationRequest::claim(
        &admin(),
        &earlier,
        "Contoso again".parse().unwrap(),
        "1234567".parse().unwrap(),
        None,
        None,
        None,
    )
    .unwrap();
    let (workshop, _) = workshop();
    let security = engagement("security-workshop", EngagementKind::Workshop, 1);
    // The earlier nomination is live on the workshop: a duplicate there.
    let duplicate = EligibilityFacts {
        competitors: vec![Competitor {
            same_partner: true,
            standing: earlier.standing(),
        }],
        ..eligible_facts()
    };
    let refusal = add(
        request.clone(),
        &[
            Candidate {
                engagement: &workshop,
                facts: duplicate,
            },
            candidate(&security),
        ],
    )
    .unwrap_err();
    let Refusal::NotChoosable { refused } = refusal else {
        panic!("not choosable")
    };
    assert_eq!(refused.len(), 1);
    assert_eq!(&refused[0].engagement, workshop.id());
    assert!(
        refused[0]
            .reasons
            .contains(&Ineligibility::AlreadyNominated)
    );
    assert!(add(request, &[candidate(&security)]).is_ok());
}
