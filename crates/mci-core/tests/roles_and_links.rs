//! Roles and access (R-ROLE-1..3) and links (R-TOKEN).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use mci_core::{
    Candidate, Competitor, ContactsUpdate, CustomerStanding, DocumentKind, EligibilityFacts,
    FreshLink, Guard, Ineligibility, LinkToken, Nomination, Outcome, PartnerUser, Refusal, Role,
    SendConsent, State, Step, SurveyKind, assess, nominate,
};
use mci_testkit::*;

type PartnerCommand = (
    &'static str,
    fn(&Nomination, mci_core::Instant, &PartnerUser) -> Result<Outcome, Refusal>,
);

/// Every partner-side command on an existing nomination.
fn partner_commands() -> Vec<PartnerCommand> {
    vec![
        ("send consent", |n, now, u| {
            n.send_consent(now, u, SendConsent::default(), &link(40))
        }),
        ("resend consent", |n, now, u| {
            n.resend_consent(now, u, &link(41))
        }),
        ("update contacts", |n, now, u| {
            n.update_contacts(
                now,
                u,
                ContactsUpdate {
                    customer: None,
                    partner: Some(contacts("Bo Seller", "bo@partner.example")),
                },
            )
        }),
        ("attach document", |n, now, u| {
            n.attach_document(now, u, DocumentKind::Invoice, document("i.pdf"))
        }),
        ("send survey", |n, now, u| {
            n.send_survey(now, u, SurveyKind::Partner, &link(42))
        }),
        ("add comment", |n, now, u| {
            n.add_comment(now, u, comment("hello"))
        }),
        ("submit", |n, now, u| n.submit(now, u)),
        ("dispute", |n, now, u| n.dispute(now, u, comment("no"))),
        ("cancel", |n, now, u| n.cancel(now, u)),
    ]
}

/// A scenario in which each partner command succeeds for its owner.
fn where_it_works(command: &str) -> Scenario {
    match command {
        "send consent" => Scenario::added(),
        "resend consent" => Scenario::added()
            .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1))),
        "submit" => Scenario::ready_to_submit(),
        "dispute" => Scenario::rejected(),
        _ => Scenario::consented(),
    }
}

// R-ROLE-1

#[test]
fn r_role_1_both_incentives_roles_may_act() {
    for (name, command) in partner_commands() {
        let s = where_it_works(name);
        assert!(command(&s.nomination, s.now, &admin()).is_ok(), "{name}");
        assert!(
            command(&s.nomination, s.now, &incentives_user()).is_ok(),
            "{name}"
        );
    }
}

#[test]
fn r_role_1_any_other_role_is_refused_with_a_typed_error() {
    for role in [
        Role::Other("Account admin".into()),
        Role::Other("Referrals admin".into()),
        Role::Other(String::new()),
    ] {
        let user = PartnerUser::new(partner(1), "someone".parse().unwrap(), role.clone());
        for (name, command) in partner_commands() {
            let s = where_it_works(name);
            let refusal = command(&s.nomination, s.now, &user).unwrap_err();
            assert_eq!(
                refusal,
                Refusal::RoleNotAllowed {
                    role: role.to_string()
                },
                "{name}"
            );
            assert_eq!(refusal.rule(), "R-ROLE-1");
        }
        let (workshop, now) = workshop();
        assert!(matches!(
            nominate(
                now,
                &user,
                nomination_request(),
                &[Candidate {
                    engagement: &workshop,
                    facts: eligible_facts()
                }],
                || nomination_id(9)
            ),
            Err(Refusal::RoleNotAllowed { .. })
        ));
    }
}

// R-ROLE-2

#[test]
fn r_role_2_another_partners_nomination_answers_not_found() {
    for (name, command) in partner_commands() {
        let s = where_it_works(name);
        let before = s.nomination.clone();
        for intruder in [
            admin_of(2),
            PartnerUser::new(partner(2), "u".parse().unwrap(), Role::IncentivesUser),
        ] {
            let refusal = command(&s.nomination, s.now, &intruder).unwrap_err();
            assert_eq!(refusal, Refusal::NotFound, "{name}");
            assert_eq!(refusal.to_string(), "no such nomination (R-ROLE-2)");
        }
        assert_eq!(s.nomination, before);
    }
}

#[test]
fn r_role_2_not_found_whatever_the_state_so_ids_cannot_be_probed() {
    for (name, s) in Scenario::in_every_state() {
        for (command, run) in partner_commands() {
            assert_eq!(
                run(&s.nomination, s.now, &admin_of(2)).unwrap_err(),
                Refusal::NotFound,
                "{command} on {name}"
            );
        }
    }
}

// R-ROLE-3

#[test]
fn r_role_3_ineligibility_never_identifies_the_other_partner() {
    let shared = engagement("shared-workshop", mci_core::EngagementKind::Workshop, 1);
    let rival_user = PartnerUser::new(
        "rival-partner-77".parse().unwrap(),
        "rival-user".parse().unwrap(),
        Role::IncentivesAdmin,
    );
    let consented = Scenario::added_by(&rival_user, &shared, nomination_id(77)).consent_given();
    let completed = consented
        .clone()
        .prove_everything()
        .submit()
        .start_review()
        .approve();
    let location = "9988776655".parse::<mci_core::LocationId>().unwrap();
    for rival in [&consented.nomination, &completed.nomination] {
        let facts = EligibilityFacts {
            location: mci_core::LocationStanding::Eligible,
            customer: CustomerStanding::Eligible,
            competitors: vec![Competitor {
                same_partner: false,
                standing: rival.standing(),
            }],
        };
        let reasons = assess(
            &shared,
            consented.now,
            mci_core::CustomerIdType::Domain,
            &facts,
        );
        assert!(
            reasons.contains(&Ineligibility::ConsentedToAnotherPartner)
                || reasons.contains(&Ineligibility::CompletedWithAnotherPartner),
            "{reasons:?}"
        );
        let shown = format!(
            "{} {} {:?}",
            reasons
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            serde_json::to_string(&reasons).unwrap(),
            reasons
        );
        for secret in [
            rival.partner().as_str().to_owned(),
            "rival".to_owned(),
            rival.id().to_string(),
            location.to_string(),
        ] {
            assert!(!shown.contains(&secret), "{secret} shows in {shown}");
        }
    }
    // The guard the store fails with phrases it the same way.
    let guard = Guard::NoOtherConsent {
        engagement: shared.id().clone(),
        customer: *contoso().id(),
    };
    assert_eq!(
        guard.ineligibility().unwrap().to_string(),
        "consented to another partner"
    );
}

// R-TOKEN

#[test]
fn r_token_a_wrong_a_voided_and_an_expired_token_give_one_error() {
    let sent = Scenario::added()
        .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1)));
    let wrong = sent.nomination.accept_consent(sent.now, &token(99));
    let voided = sent
        .clone()
        .then(|n, now| {
            n.update_contacts(
                now,
                &admin(),
                ContactsUpdate {
                    customer: Some(contacts("Dana Buyer", "dana@contoso.example")),
                    partner: None,
                },
            )
        })
        .nomination
        .accept_consent(sent.now, &token(1));
    let cancelled = sent
        .clone()
        .cancel()
        .nomination
        .accept_consent(sent.now, &token(1));
    // A survey link of a claim that has ended.
    let surveyed = Scenario::consented()
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(3)));
    let deadline = surveyed.nomination.deadline().unwrap().at;
    let expired = surveyed.nomination.complete_survey(deadline, &token(3));
    let survey_wrong = surveyed
        .nomination
        .complete_survey(surveyed.now, &token(98));

    let answers = [wrong, voided, cancelled, expired, survey_wrong];
    for answer in &answers {
        assert_eq!(answer, &Err(Refusal::InvalidLink));
    }
    let texts: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| a.as_ref().unwrap_err().to_string())
        .collect();
    assert_eq!(texts.len(), 1, "one message for every case: {texts:?}");
    assert_eq!(Refusal::InvalidLink.rule(), "R-TOKEN-3");
    assert_eq!(
        sent.nomination.consent_invitation(sent.now, &token(99)),
        Err(Refusal::InvalidLink)
    );
}

#[test]
fn r_token_a_token_is_bound_to_one_nomination_and_one_purpose() {
    let s = Scenario::consented()
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Partner, &link(2)));
    // The survey token does not answer consent; the consent token completes
    // no survey.
    let other = Scenario::added_by(&admin_of(2), &workshop().0, nomination_id(2))
        .then(|n, now| n.send_consent(now, &admin_of(2), SendConsent::default(), &link(5)));
    assert_eq!(
        other.nomination.accept_consent(other.now, &token(2)),
        Err(Refusal::InvalidLink)
    );
    assert_eq!(
        s.nomination.complete_survey(s.now, &token(1)),
        Err(Refusal::InvalidLink)
    );
    assert_eq!(
        s.nomination.survey_opened_by(&token(2)),
        Some(SurveyKind::Partner)
    );
    // Another nomination's link opens nothing here.
    assert_eq!(
        s.nomination.complete_survey(s.now, &token(5)),
        Err(Refusal::InvalidLink)
    );
    assert!(matches!(
        other.nomination.accept_consent(other.now, &token(5)),
        Ok(Step::Changed(_))
    ));
}

#[test]
fn r_token_2_only_hashes_of_tokens_are_kept_on_the_nomination() {
    let s = Scenario::consented()
        .then(|n, now| n.send_survey(now, &admin(), SurveyKind::Customer, &link(3)));
    let stored = serde_json::to_string(&s.nomination).unwrap();
    for n in [1, 3] {
        let t = token(n);
        assert!(!stored.contains(&t.to_string()), "token {n} is stored");
        assert!(stored.contains(&t.hash().to_string()), "hash {n} is kept");
    }
    assert!(
        s.nomination
            .links()
            .iter()
            .all(|l| l.hash().matches(&token(1)) || l.hash().matches(&token(3)))
    );
}

#[test]
fn r_token_4_no_outcome_shows_or_holds_a_token() {
    let secret = LinkToken::from_bytes([0xab; 32]);
    let fresh = FreshLink::new(link_id(0xcd), &secret);
    let s = Scenario::added()
        .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &fresh))
        .then(|n, now| n.resend_consent(now, &admin(), &fresh));
    let hex = secret.to_string();
    assert_eq!(hex.len(), 64);
    let outcome = s
        .nomination
        .resend_consent(s.now, &admin(), &fresh)
        .unwrap();
    assert_eq!(outcome.messages[0].kind.link(), Some(&link_id(0xcd)));
    for shown in [
        format!("{secret:?}"),
        format!("{outcome:?}"),
        format!("{:?}", s.messages),
        format!("{:?}", s.nomination),
        format!("{s:?}"),
        serde_json::to_string(&s.messages).unwrap(),
        serde_json::to_string(&outcome.messages).unwrap(),
    ] {
        assert!(!shown.contains(&hex), "{shown}");
        assert!(!shown.contains(&hex.to_uppercase()));
    }
    assert_eq!(format!("{secret:?}"), "LinkToken(..)");
}

#[test]
fn r_token_a_link_keeps_working_until_voided() {
    // Earlier consent links stay valid while nothing voids them.
    let s = Scenario::added()
        .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1)))
        .wait_days(3)
        .then(|n, now| n.resend_consent(now, &admin(), &link(2)));
    let invitation = s.nomination.consent_invitation(s.now, &token(1)).unwrap();
    assert_eq!(invitation.state, State::AwaitingConsent);
    assert_eq!(invitation.deadline, t0() + TimeDelta::days(30));
    assert_eq!(&invitation.engagement, s.nomination.engagement());
    assert!(matches!(
        s.nomination.accept_consent(s.now, &token(1)),
        Ok(Step::Changed(_))
    ));
}
