//! The workshop claim on the partner's side (R-CLAIM-W-1..6, -10): its
//! window, proof, surveys, contacts, comments, submission and cancel.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use mci_core::{
    Action, ContactsUpdate, DeadlineKind, DocumentKind, EngagementKind, EngagementRules, EventKind,
    LinkPurpose, MessageKind, Need, PayModel, ProofItem, ProofRequirement, Refusal, SendConsent,
    State, Step, SurveyKind, SurveyStatus, Tab,
};
use mci_testkit::*;

fn lapsed_into(refusal: Refusal) -> State {
    match refusal {
        Refusal::Lapsed { state, .. } => state,
        other => panic!("expected a lapse, got {other:?}"),
    }
}

fn new_customer_contacts() -> ContactsUpdate {
    ContactsUpdate {
        customer: Some(contacts("Dana Buyer", "dana@contoso.example")),
        partner: None,
    }
}

// R-CLAIM-W-1

#[test]
fn r_claim_w_1_the_claim_opens_once_consent_is_given() {
    let awaiting = Scenario::added()
        .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1)));
    for refusal in [
        awaiting.refusal(|n, now| {
            n.attach_document(now, &admin(), DocumentKind::Invoice, document("i.pdf"))
        }),
        awaiting.refusal(|n, now| n.send_survey(now, &admin(), SurveyKind::Partner, &link(2))),
        awaiting.refusal(|n, now| n.submit(now, &admin())),
    ] {
        assert!(
            matches!(
                refusal,
                Refusal::NotAllowedNow {
                    state: State::AwaitingConsent,
                    ..
                }
            ),
            "{refusal:?}"
        );
    }
    let consented = Scenario::consented();
    let deadline = consented.nomination.deadline().unwrap();
    assert_eq!(deadline.kind, DeadlineKind::FirstSubmit);
    assert!(
        consented
            .nomination
            .attach_document(
                consented.now,
                &admin(),
                DocumentKind::Invoice,
                document("i.pdf")
            )
            .is_ok()
    );
}

#[test]
fn r_claim_w_1_a_workshop_is_first_submitted_within_90_days_of_consent() {
    let ready = Scenario::ready_to_submit();
    let deadline = ready.consented_at() + TimeDelta::days(90);
    assert_eq!(ready.nomination.deadline().unwrap().at, deadline);

    let in_time = ready.clone().at(deadline - TimeDelta::seconds(1)).submit();
    assert_eq!(in_time.state(), State::Submitted);

    let late = ready.at(deadline);
    let refusal = late.refusal(|n, now| n.submit(now, &admin()));
    assert_eq!(refusal.rule(), "R-CLAIM-W-1");
    assert_eq!(lapsed_into(refusal), State::NotSubmittedExpired);
    assert_eq!(late.state(), State::NotSubmittedExpired);
    assert_eq!(late.row().unwrap().tab, Tab::Complete);
}

#[test]
fn r_claim_w_1_an_assessment_is_first_submitted_within_60_days_of_consent() {
    let ready = Scenario::consented_to(&assessment()).prove_everything();
    let deadline = ready.consented_at() + TimeDelta::days(60);
    assert_eq!(ready.nomination.deadline().unwrap().at, deadline);
    assert_eq!(
        ready
            .clone()
            .at(deadline - TimeDelta::seconds(1))
            .submit()
            .state(),
        State::Submitted
    );
    let late = ready.at(deadline);
    assert_eq!(
        lapsed_into(late.refusal(|n, now| n.submit(now, &admin()))),
        State::NotSubmittedExpired
    );
}

#[test]
fn r_claim_w_1_an_expired_claim_cannot_be_reactivated() {
    let consented = Scenario::consented();
    let deadline = consented.nomination.deadline().unwrap().at;
    let swept = consented.at(deadline + TimeDelta::days(1)).sweep();
    assert_eq!(swept.nomination.state(), State::NotSubmittedExpired);
    assert!(swept.nomination.state().is_terminal());
    assert_eq!(swept.nomination.lapsed_at(), Some(deadline));
    // Every partner command is refused, whether the lapse was swept or not.
    for s in [&swept, &swept.clone().at(deadline)] {
        for refusal in [
            s.refusal(|n, now| n.submit(now, &admin())),
            s.refusal(|n, now| {
                n.attach_document(now, &admin(), DocumentKind::Invoice, document("i.pdf"))
            }),
            s.refusal(|n, now| n.send_survey(now, &admin(), SurveyKind::Partner, &link(9))),
            s.refusal(|n, now| n.cancel(now, &admin())),
            s.refusal(|n, now| n.add_comment(now, &admin(), comment("late"))),
            s.refusal(|n, now| n.update_contacts(now, &admin(), new_customer_contacts())),
        ] {
            assert!(
                matches!(
                    refusal,
                    Refusal::Lapsed { .. } | Refusal::NotAllowedNow { .. }
                ),
                "{refusal:?}"
            );
        }
    }
    // The sweep finds nothing more to do.
    assert!(
        swept
            .nomination
            .wake(swept.now + TimeDelta::days(400))
            .unwrap()
            .is_none()
    );
}

#[test]
fn r_claim_w_1_after_an_expiry_the_partner_starts_a_new_nomination() {
    let consented = Scenario::consented();
    let deadline = consented.nomination.deadline().unwrap().at;
    let expired = consented.at(deadline).sweep();
    let (workshop, _) = workshop();
    let facts = mci_core::EligibilityFacts {
        competitors: vec![mci_core::Competitor {
            same_partner: true,
            standing: expired.nomination.standing(),
        }],
        ..eligible_facts()
    };
    let later = expired.now + TimeDelta::days(1);
    assert!(
        mci_core::assess(&workshop, later, mci_core::CustomerIdType::Domain, &facts).is_empty()
    );
    let fresh = mci_core::nominate(
        later,
        &admin(),
        nomination_request(),
        &[mci_core::Candidate {
            engagement: &workshop,
            facts,
        }],
        || nomination_id(2),
    )
    .unwrap()
    .remove(0)
    .nomination;
    assert_ne!(fresh.id(), expired.nomination.id());
    assert_eq!(fresh.state(), State::CustomerClaimed);
    assert_eq!(fresh.deadline().unwrap().at, later + TimeDelta::days(30));
    // The expired one stays as it was.
    assert_eq!(expired.nomination.state(), State::NotSubmittedExpired);
}

// R-CLAIM-W-2

#[test]
fn r_claim_w_2_proof_items_can_be_completed_in_any_order() {
    type Step = fn(Scenario) -> Scenario;
    let steps: [Step; 4] = [
        |s| {
            s.then(|n, now| {
                n.attach_document(
                    now,
                    &admin(),
                    DocumentKind::ProofOfExecution,
                    document("report.pdf"),
                )
            })
        },
        |s| {
            s.then(|n, now| {
                n.attach_document(
                    now,
                    &admin(),
                    DocumentKind::Invoice,
                    document("invoice.pdf"),
                )
            })
        },
        |s| {
            s.then(|n, now| n.send_survey(now, &admin(), SurveyKind::Partner, &link(2)))
                .then_step(|n, now| n.complete_survey(now, &token(2)))
        },
        |s| {
            s.then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(3)))
                .then_step(|n, now| n.complete_survey(now, &token(3)))
        },
    ];
    let orders = [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1], [1, 3, 0, 2]];
    for order in orders {
        let mut s = Scenario::consented();
        for (done, index) in order.iter().enumerate() {
            assert_eq!(s.nomination.missing_proof().len(), 4 - done, "{order:?}");
            s = steps[*index](s);
        }
        assert!(s.nomination.missing_proof().is_empty(), "{order:?}");
        assert_eq!(s.submit().state(), State::Submitted, "{order:?}");
    }
}

#[test]
fn r_claim_w_2_documents_are_kept_as_references_and_can_be_replaced() {
    let s = Scenario::consented()
        .then(|n, now| {
            n.attach_document(now, &admin(), DocumentKind::Invoice, document("draft.pdf"))
        })
        .then(|n, now| {
            n.attach_document(now, &admin(), DocumentKind::Invoice, document("final.pdf"))
        });
    let invoice = &s.nomination.claim().documents[&DocumentKind::Invoice];
    assert_eq!(invoice.name().as_str(), "final.pdf");
    assert_eq!(invoice.media_type().as_str(), "application/pdf");
    assert_eq!(invoice.size_bytes(), 48_213);
    assert_eq!(
        invoice.sha256().to_string(),
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    );
    assert!(matches!(
        s.last_event().kind,
        EventKind::DocumentAttached {
            kind: DocumentKind::Invoice,
            ..
        }
    ));
}

#[test]
fn r_claim_w_2_an_if_applicable_item_is_not_needed_to_submit() {
    let rules = EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(100_000)))
        .proof([
            ProofRequirement {
                item: ProofItem::ProofOfExecution,
                need: Need::Required,
            },
            ProofRequirement {
                item: ProofItem::Invoice,
                need: Need::IfApplicable,
            },
        ])
        .build()
        .unwrap();
    let s = Scenario::consented_to(&engagement_with_rules("lean-workshop", rules));
    assert_eq!(
        s.nomination.missing_proof(),
        vec![ProofItem::ProofOfExecution]
    );
    let s = s
        .then(|n, now| {
            n.attach_document(
                now,
                &admin(),
                DocumentKind::ProofOfExecution,
                document("r.pdf"),
            )
        })
        .submit();
    assert_eq!(s.state(), State::Submitted);
}

// R-CLAIM-W-3

#[test]
fn r_claim_w_3_each_survey_can_be_resent_and_shows_its_status() {
    let s = Scenario::consented();
    for kind in [SurveyKind::Partner, SurveyKind::Customer] {
        assert_eq!(
            s.nomination.claim().survey(kind).status,
            SurveyStatus::NotSent
        );
    }
    let s = s
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(3)))
        .wait_days(10)
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(4)))
        .wait_days(10)
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(5)));
    let survey = s.nomination.claim().survey(SurveyKind::Customer);
    assert_eq!(survey.status, SurveyStatus::Sent);
    assert_eq!(survey.sent_at, Some(s.now));
    let sent: Vec<_> = s
        .messages
        .iter()
        .filter_map(|m| match &m.kind {
            MessageKind::Survey { survey, .. } => Some((*survey, m.to.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|(kind, to)| *kind == SurveyKind::Customer
        && to == &vec!["cio@contoso.example".parse().unwrap()]));
    assert_eq!(
        s.nomination.claim().survey(SurveyKind::Partner).status,
        SurveyStatus::NotSent
    );

    // The customer completes it through its own link.
    let s = s.then_step(|n, now| n.complete_survey(now, &token(4)));
    assert_eq!(
        s.nomination.claim().survey(SurveyKind::Customer).status,
        SurveyStatus::Completed
    );
    assert_eq!(s.last_event().actor, mci_core::Actor::Customer);
    // A second completion writes nothing; a re-send is refused.
    assert_eq!(
        s.nomination.complete_survey(s.now, &token(5)),
        Ok(Step::Unchanged)
    );
    assert_eq!(
        s.refusal(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(6))),
        Refusal::SurveyCompleted
    );
}

#[test]
fn r_claim_w_3_the_partner_survey_goes_to_the_partner_contacts_through_its_own_link() {
    let s = Scenario::consented()
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Partner, &link(2)));
    assert_eq!(
        s.messages.last().unwrap().to,
        vec!["ada@partner.example".parse().unwrap()]
    );
    assert_eq!(
        s.nomination.survey_opened_by(&token(2)),
        Some(SurveyKind::Partner)
    );
    // The consent link is not a survey link.
    assert_eq!(s.nomination.survey_opened_by(&token(1)), None);
    assert_eq!(
        s.nomination.complete_survey(s.now, &token(1)),
        Err(Refusal::InvalidLink)
    );
    let s = s.then_step(|n, now| n.complete_survey(now, &token(2)));
    assert_eq!(s.last_event().actor, mci_core::Actor::PartnerContact);
    assert!(s.nomination.claim().provides(ProofItem::PartnerSurvey));
    assert!(!s.nomination.claim().provides(ProofItem::CustomerSurvey));
}

#[test]
fn r_claim_w_3_surveys_are_sent_until_the_submission_deadline() {
    let s = Scenario::consented()
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(3)));
    let deadline = s.nomination.deadline().unwrap().at;
    let last_moment = s.clone().at(deadline - TimeDelta::seconds(1));
    assert!(
        last_moment
            .nomination
            .send_survey(last_moment.now, &admin(), SurveyKind::Partner, &link(4))
            .is_ok()
    );
    let late = s.at(deadline);
    assert_eq!(
        lapsed_into(late.refusal(|n, now| n.send_survey(
            now,
            &admin(),
            SurveyKind::Partner,
            &link(4)
        ))),
        State::NotSubmittedExpired
    );
    // The link of an ended claim no longer works.
    assert_eq!(
        late.nomination.complete_survey(late.now, &token(3)),
        Err(Refusal::InvalidLink)
    );
}

// R-CLAIM-W-4

#[test]
fn r_claim_w_4_a_contact_change_voids_the_survey_link_and_the_survey_must_be_sent_again() {
    let s = Scenario::consented()
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(3)))
        .wait_days(1)
        .then(|n, now| n.update_contacts(now, &admin(), new_customer_contacts()));
    assert_eq!(
        s.last_event().kind,
        EventKind::ContactsUpdated {
            customer: true,
            partner: false,
            voided: vec![LinkPurpose::CustomerSurvey],
        }
    );
    // The earlier link is void; the page shows the survey as not sent.
    assert_eq!(
        s.nomination.complete_survey(s.now, &token(3)),
        Err(Refusal::InvalidLink)
    );
    assert_eq!(
        s.nomination.claim().survey(SurveyKind::Customer).status,
        SurveyStatus::NotSent
    );
    // Nothing goes out by itself: the partner sends it again, to the new contact.
    let messages = s.messages.len();
    let s = s.then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(4)));
    assert_eq!(s.messages.len(), messages + 1);
    assert_eq!(
        s.messages.last().unwrap().to,
        vec!["dana@contoso.example".parse().unwrap()]
    );
    let s = s.then_step(|n, now| n.complete_survey(now, &token(4)));
    assert!(s.nomination.claim().provides(ProofItem::CustomerSurvey));
}

#[test]
fn r_claim_w_4_a_partner_contact_change_voids_the_partner_survey_link() {
    let s = Scenario::consented()
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Partner, &link(2)))
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(3)))
        .then(|n, now| {
            n.update_contacts(
                now,
                &admin(),
                ContactsUpdate {
                    customer: None,
                    partner: Some(contacts("Bo Seller", "bo@partner.example")),
                },
            )
        });
    assert_eq!(
        s.nomination.complete_survey(s.now, &token(2)),
        Err(Refusal::InvalidLink)
    );
    assert_eq!(
        s.nomination.claim().survey(SurveyKind::Partner).status,
        SurveyStatus::NotSent
    );
    // The customer's survey link is untouched.
    assert!(matches!(
        s.nomination.complete_survey(s.now, &token(3)),
        Ok(Step::Changed(_))
    ));
}

#[test]
fn r_claim_w_4_contacts_are_frozen_after_the_customer_survey() {
    let s = Scenario::consented()
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(3)))
        .then_step(|n, now| n.complete_survey(now, &token(3)));
    assert_eq!(
        s.refusal(|n, now| n.update_contacts(now, &admin(), new_customer_contacts())),
        Refusal::ContactsFrozen
    );
    assert_eq!(Refusal::ContactsFrozen.rule(), "R-CLAIM-W-4");
    // The partner's own contacts may still change.
    let s = s.then(|n, now| {
        n.update_contacts(
            now,
            &admin(),
            ContactsUpdate {
                customer: None,
                partner: Some(contacts("Bo Seller", "bo@partner.example")),
            },
        )
    });
    assert_eq!(
        s.nomination.partner_contacts(),
        &contacts("Bo Seller", "bo@partner.example")
    );
    assert_eq!(
        s.nomination.customer_contacts(),
        &contacts("Carla Cio", "cio@contoso.example")
    );
}

// R-CLAIM-W-5

#[test]
fn r_claim_w_5_comments_can_be_added_at_any_time_before_a_final_state() {
    let live = [
        Scenario::added(),
        Scenario::consented(),
        Scenario::submitted(),
        Scenario::under_review(),
        Scenario::rejected(),
        Scenario::rejected().dispute(),
        Scenario::under_review().request_partner_action(),
    ];
    for s in live {
        let state = s.state();
        let s = s.then(|n, now| n.add_comment(now, &admin(), comment("Agenda attached")));
        assert_eq!(s.state(), state);
        assert_eq!(s.nomination.claim().comments.len(), 1, "{state}");
        assert_eq!(
            s.nomination.claim().comments[0].text,
            comment("Agenda attached")
        );
    }
    let ended = [
        Scenario::approved(),
        Scenario::rejected().dispute().start_review().reject(),
        Scenario::consented().cancel(),
    ];
    for s in ended {
        assert!(
            matches!(
                s.refusal(|n, now| n.add_comment(now, &admin(), comment("too late"))),
                Refusal::NotAllowedNow { .. }
            ),
            "{}",
            s.state()
        );
    }
}

// R-CLAIM-W-6

#[test]
fn r_claim_w_6_submit_lists_the_missing_proof() {
    let s = Scenario::consented().then(|n, now| {
        n.attach_document(
            now,
            &admin(),
            DocumentKind::ProofOfExecution,
            document("r.pdf"),
        )
    });
    let refusal = s.refusal(|n, now| n.submit(now, &admin()));
    assert_eq!(
        refusal,
        Refusal::MissingProof {
            missing: vec![
                ProofItem::PartnerSurvey,
                ProofItem::CustomerSurvey,
                ProofItem::Invoice
            ]
        }
    );
    let text = refusal.to_string();
    for item in ["partner survey", "customer survey", "invoice"] {
        assert!(text.contains(item), "{text}");
    }
    assert!(!text.contains("discovery"), "{text}");
    // A survey sent but not completed is still missing.
    let s = s.then(|n, now| n.send_survey(now, &admin(), SurveyKind::Partner, &link(2)));
    assert!(matches!(
        s.refusal(|n, now| n.submit(now, &admin())),
        Refusal::MissingProof { missing } if missing.contains(&ProofItem::PartnerSurvey)
    ));
}

#[test]
fn r_claim_w_6_the_reviewer_cannot_act_before_submission() {
    let s = Scenario::ready_to_submit();
    assert_eq!(
        s.refusal(|n, now| n.start_review(now, &reviewer(), seen(n))),
        Refusal::NotSubmitted
    );
    assert_eq!(
        s.refusal(|n, now| n.approve(now, &reviewer(), seen(n))),
        Refusal::NotSubmitted
    );
    assert_eq!(
        s.refusal(|n, now| n.reject(now, &reviewer(), seen(n), comment("no"))),
        Refusal::NotSubmitted
    );
    assert_eq!(
        s.refusal(|n, now| n.request_partner_action(now, &reviewer(), seen(n), comment("more"))),
        Refusal::NotSubmitted
    );
    let submitted = s.submit();
    assert_eq!(
        submitted.last_event().kind,
        EventKind::Submitted {
            resubmission: false
        }
    );
    assert_eq!(submitted.start_review().state(), State::UnderReview);
}

// R-CLAIM-W-10

#[test]
fn r_claim_w_10_cancel_before_consent_leaves_the_page() {
    for s in [
        Scenario::added(),
        Scenario::added()
            .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1))),
    ] {
        let s = s.cancel();
        assert_eq!(s.state(), State::Cancelled);
        assert!(s.state().is_terminal());
        assert_eq!(s.last_event().kind, EventKind::Cancelled);
        assert_eq!(s.row(), None);
        assert_eq!(s.nomination.placement().tab_at(s.now), None);
        // Its consent link is void.
        assert_eq!(
            s.nomination.accept_consent(s.now, &token(1)),
            Err(Refusal::InvalidLink)
        );
    }
}

#[test]
fn r_claim_w_10_cancel_after_consent_shows_in_complete() {
    let s = Scenario::consented()
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(3)))
        .then(|n, now| n.cancel(now, &incentives_user()));
    assert_eq!(s.state(), State::Cancelled);
    let row = s.row().unwrap();
    assert_eq!(row.tab, Tab::Complete);
    assert_eq!(row.actions, vec![Action::ViewWorkshopClaim]);
    assert_eq!(
        s.nomination.complete_survey(s.now, &token(3)),
        Err(Refusal::InvalidLink)
    );
}

#[test]
fn r_claim_w_10_cancel_after_the_first_submission_is_refused() {
    let after = [
        Scenario::submitted(),
        Scenario::under_review(),
        Scenario::under_review().request_partner_action(),
        Scenario::rejected(),
        Scenario::approved(),
    ];
    for s in after {
        let state = s.state();
        assert_eq!(
            s.refusal(|n, now| n.cancel(now, &admin())),
            Refusal::NotAllowedNow {
                command: mci_core::Command::Cancel,
                state
            }
        );
    }
}

#[test]
fn r_claim_w_10_either_incentives_role_may_cancel_no_other() {
    let s = Scenario::consented();
    assert!(s.nomination.cancel(s.now, &admin()).is_ok());
    assert!(s.nomination.cancel(s.now, &incentives_user()).is_ok());
    assert!(matches!(
        s.refusal(|n, now| n.cancel(now, &account_admin())),
        Refusal::RoleNotAllowed { .. }
    ));
}

#[test]
fn r_claim_w_4_partner_contacts_change_while_answering_the_reviewer_not_while_under_review() {
    let update = || ContactsUpdate {
        customer: None,
        partner: Some(contacts("New Lead", "new.lead@partner.example")),
    };
    let under_review = Scenario::submitted().start_review();
    let refused = under_review.refusal(|n, now| n.update_contacts(now, &admin(), update()));
    assert!(
        matches!(
            refused,
            Refusal::NotAllowedNow {
                state: State::UnderReview,
                ..
            }
        ),
        "{refused:?}"
    );
    let answering = under_review
        .request_partner_action()
        .then(|n, now| n.update_contacts(now, &admin(), update()));
    assert_eq!(answering.state(), State::PartnerActionRequired);
    assert_eq!(
        answering.nomination.partner_contacts(),
        &contacts("New Lead", "new.lead@partner.example")
    );
}
