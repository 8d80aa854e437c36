//! The reviewer's side of a workshop claim (R-CLAIM-W-7..9): review, partner
//! action, approval, rejection, dispute and payout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use mci_core::{
    Action, Actor, Days, DeadlineKind, DocumentKind, EntryKind, EventKind, Hours, MessageKind,
    Nomination, PayoutCycle, Refusal, State, Tab, payout_run,
};
use mci_testkit::*;

fn lapsed_into(refusal: Refusal) -> State {
    match refusal {
        Refusal::Lapsed { state, .. } => state,
        other => panic!("expected a lapse, got {other:?}"),
    }
}

// R-CLAIM-W-7

#[test]
fn r_claim_w_7_submitted_then_under_review_then_approved_with_the_fixed_fee() {
    let s = Scenario::submitted();
    assert_eq!(s.state(), State::Submitted);
    let s = s.start_review();
    assert_eq!(s.state(), State::UnderReview);
    assert_eq!(s.last_event().kind, EventKind::ReviewStarted);
    assert!(matches!(s.last_event().actor, Actor::Reviewer { .. }));
    let s = s.approve();
    assert_eq!(s.state(), State::Approved);
    assert_eq!(s.nomination.claim().payout, Some(eur(750_000)));
    assert_eq!(
        s.last_event().kind,
        EventKind::Approved {
            payout: eur(750_000)
        }
    );
    assert_eq!(
        s.messages.last().unwrap().kind,
        MessageKind::Approved {
            payout: eur(750_000)
        }
    );
    assert_eq!(s.row().unwrap().tab, Tab::Complete);
}

#[test]
fn r_claim_w_7_variable_pay_is_approved_with_the_proposed_amount() {
    // 40 hours at 150.00 EUR.
    let s = Scenario::submitted_to(&variable_project())
        .start_review()
        .approve();
    assert_eq!(s.nomination.hours(), Some(Hours::new(40).unwrap()));
    assert_eq!(s.nomination.claim().payout, Some(eur(600_000)));
    assert_eq!(s.nomination.claim().payout, s.nomination.proposed_payout());
}

#[test]
fn r_claim_w_7_the_reviewer_may_ask_for_partner_action_any_number_of_times() {
    let mut s = Scenario::under_review();
    for round in 1..=3 {
        s = s.wait_days(5).request_partner_action();
        assert_eq!(s.state(), State::PartnerActionRequired);
        let MessageKind::PartnerActionRequested { note } = &s.messages.last().unwrap().kind else {
            panic!("the partner is asked")
        };
        assert_eq!(note, &comment("Add the agenda"));
        assert_eq!(
            s.row().unwrap().actions,
            vec![Action::AnswerReviewer, Action::ViewWorkshopClaim],
            "round {round}"
        );
        // The partner answers: more proof, a comment, and a resubmission.
        s = s
            .then(|n, now| {
                n.attach_document(now, &admin(), DocumentKind::Invoice, document("v2.pdf"))
            })
            .then(|n, now| n.add_comment(now, &admin(), comment("Agenda added")))
            .submit();
        assert_eq!(
            s.last_event().kind,
            EventKind::Submitted { resubmission: true }
        );
        s = s.start_review();
    }
    assert_eq!(s.approve().state(), State::Approved);
}

#[test]
fn r_claim_w_7_the_review_must_finish_within_120_days_of_consent_for_a_workshop() {
    let s = Scenario::under_review();
    let deadline = s.consented_at() + TimeDelta::days(120);
    let d = s.nomination.deadline().unwrap();
    assert_eq!((d.kind, d.at), (DeadlineKind::ReviewComplete, deadline));

    let in_time = s.clone().at(deadline - TimeDelta::seconds(1)).approve();
    assert_eq!(in_time.state(), State::Approved);

    let late = s.at(deadline);
    let refusal = late.refusal(|n, now| n.approve(now, &reviewer(), seen(n)));
    assert_eq!(refusal.rule(), "R-CLAIM-W-7");
    assert_eq!(lapsed_into(refusal), State::PostSubmissionExpired);
    assert_eq!(late.row().unwrap().tab, Tab::Complete);
}

#[test]
fn r_claim_w_7_an_assessment_review_must_finish_within_90_days_of_consent() {
    let s = Scenario::submitted_to(&assessment());
    let deadline = s.consented_at() + TimeDelta::days(90);
    assert_eq!(s.nomination.deadline().unwrap().at, deadline);
    let in_time = s
        .clone()
        .at(deadline - TimeDelta::seconds(1))
        .start_review();
    assert_eq!(in_time.state(), State::UnderReview);
    let late = s.at(deadline);
    assert_eq!(
        lapsed_into(late.refusal(|n, now| n.start_review(now, &reviewer(), seen(n)))),
        State::PostSubmissionExpired
    );
}

#[test]
fn r_claim_w_7_partner_action_must_also_finish_before_the_review_deadline() {
    let s = Scenario::under_review().request_partner_action();
    let deadline = s.consented_at() + TimeDelta::days(120);
    assert_eq!(s.nomination.deadline().unwrap().at, deadline);
    let late = s.at(deadline);
    assert_eq!(
        lapsed_into(late.refusal(|n, now| n.submit(now, &admin()))),
        State::PostSubmissionExpired
    );
    let swept = late.sweep();
    assert_eq!(swept.nomination.state(), State::PostSubmissionExpired);
    assert_eq!(swept.last_event().from, Some(State::PartnerActionRequired));
}

#[test]
fn r_claim_w_7_a_submitted_claim_not_picked_up_expires_too() {
    let s = Scenario::submitted();
    let late = s.clone().at(s.consented_at() + TimeDelta::days(120));
    assert_eq!(late.state(), State::PostSubmissionExpired);
}

// R-CLAIM-W-8

#[test]
fn r_claim_w_8_a_rejection_can_be_disputed_within_30_days() {
    let s = Scenario::rejected();
    let rejected_at = s.now;
    let d = s.nomination.deadline().unwrap();
    assert_eq!(
        (d.kind, d.at),
        (DeadlineKind::Dispute, rejected_at + TimeDelta::days(30))
    );
    assert_eq!(
        s.messages.last().unwrap().kind,
        MessageKind::Rejected {
            reason: comment("Invoice unreadable"),
            disputable: true
        }
    );
    assert_eq!(
        s.row().unwrap().actions,
        vec![Action::Dispute, Action::ViewWorkshopClaim]
    );
    let disputed = s.clone().wait_days(29).dispute();
    assert_eq!(disputed.state(), State::Disputed);
    let late = s.wait_days(30);
    assert_eq!(
        lapsed_into(late.refusal(|n, now| n.dispute(now, &admin(), comment("late")))),
        State::RejectedFinal
    );
}

#[test]
fn r_claim_w_8_a_claim_is_disputed_once() {
    let s = Scenario::rejected().dispute().start_review().reject();
    assert_eq!(
        s.refusal(|n, now| n.dispute(now, &admin(), comment("again"))),
        Refusal::AlreadyDisputed
    );
}

#[test]
fn r_claim_w_8_a_rejection_after_a_dispute_is_final() {
    let s = Scenario::rejected()
        .wait_days(3)
        .dispute()
        .start_review()
        .reject();
    assert_eq!(s.state(), State::RejectedFinal);
    assert!(s.state().is_terminal());
    assert_eq!(s.last_event().from, Some(State::UnderReview));
    assert_eq!(
        s.messages.last().unwrap().kind,
        MessageKind::Rejected {
            reason: comment("Invoice unreadable"),
            disputable: false
        }
    );
    let row = s.row().unwrap();
    assert_eq!(row.tab, Tab::Complete);
    assert_eq!(row.actions, vec![Action::ViewWorkshopClaim]);
}

#[test]
fn r_claim_w_8_a_rejection_not_disputed_becomes_final_when_the_window_closes() {
    let s = Scenario::rejected();
    let closes = s.now + TimeDelta::days(30);
    let open = s.clone().at(closes - TimeDelta::seconds(1));
    assert_eq!(open.state(), State::Rejected);
    assert_eq!(open.row().unwrap().tab, Tab::Eligible);

    let closed = s.at(closes);
    assert_eq!(closed.state(), State::RejectedFinal);
    assert_eq!(closed.row().unwrap().tab, Tab::Complete);
    let swept = closed.sweep();
    assert_eq!(swept.nomination.state(), State::RejectedFinal);
    assert_eq!(
        swept.last_event().kind,
        EventKind::Lapsed { deadline: closes }
    );
}

#[test]
fn r_claim_w_8_a_dispute_gives_one_fresh_30_day_window_for_the_review() {
    // Rejected late in the review window, disputed on day 15 of 30: the fresh
    // window runs past the review-complete deadline.
    let s = Scenario::submitted();
    let consented = s.consented_at();
    let s = s
        .at(consented + TimeDelta::days(100))
        .start_review()
        .reject()
        .wait_days(15)
        .dispute();
    let disputed_at = s.now;
    let d = s.nomination.deadline().unwrap();
    assert_eq!(
        (d.kind, d.at),
        (
            DeadlineKind::DisputeReview,
            disputed_at + TimeDelta::days(30)
        )
    );
    assert!(d.at > consented + TimeDelta::days(120));

    // The reviewer asks for more; the partner answers; still the same window.
    let s = s
        .wait_days(5)
        .start_review()
        .request_partner_action()
        .wait_days(5)
        .submit();
    assert_eq!(s.nomination.deadline().unwrap().at, d.at);
    let approved = s
        .clone()
        .at(d.at - TimeDelta::seconds(1))
        .start_review()
        .approve();
    assert_eq!(approved.state(), State::Approved);

    let late = s.at(d.at);
    assert_eq!(
        lapsed_into(late.refusal(|n, now| n.start_review(now, &reviewer(), seen(n)))),
        State::DisputeExpired
    );
    assert_eq!(late.row().unwrap().tab, Tab::Complete);
}

#[test]
fn r_claim_w_8_a_dispute_not_picked_up_expires() {
    let s = Scenario::rejected().dispute();
    let late = s.clone().wait_days(30);
    assert_eq!(late.state(), State::DisputeExpired);
    let swept = late.sweep();
    assert_eq!(swept.last_event().from, Some(State::Disputed));
    assert_eq!(swept.last_event().to, State::DisputeExpired);
}

// R-CLAIM-W-9

fn approved_claims() -> Vec<Nomination> {
    let one = Scenario::approved().nomination;
    let two = Scenario::added_by(&admin_of(2), &workshop().0, nomination_id(2))
        .consent_given()
        .prove_everything()
        .submit()
        .start_review()
        .approve()
        .nomination;
    vec![one, two]
}

#[test]
fn r_claim_w_9_a_payout_run_marks_the_approved_claims_paid() {
    let mut claims = approved_claims();
    let not_approved = Scenario::added_by(&admin_of(3), &workshop().0, nomination_id(3))
        .consent_given()
        .prove_everything()
        .submit()
        .start_review()
        .nomination;
    claims.push(not_approved.clone());
    let now = t0() + TimeDelta::days(50);
    let cycle = PayoutCycle::containing(t0(), PayoutCycle::DEFAULT_PERIOD, now).unwrap();
    assert_eq!(cycle.number, 1);
    assert_eq!(cycle.starts, t0() + TimeDelta::days(45));
    let (batch, outcomes) = payout_run(batch_id(1), cycle, now, &claims).unwrap();

    assert_eq!(batch.entries.len(), 2);
    assert!(batch.entries.iter().all(|e| e.kind == EntryKind::Payment));
    assert_eq!(batch.totals().unwrap()[&eur(0).currency()], eur(1_500_000));
    assert_eq!(outcomes.len(), 2);
    for outcome in &outcomes {
        assert_eq!(outcome.nomination.state(), State::Paid);
        assert_eq!(outcome.nomination.claim().paid_in, Some(batch_id(1)));
        assert_eq!(outcome.event.from, Some(State::Approved));
        assert_eq!(
            outcome.event.kind,
            EventKind::Paid {
                batch: batch_id(1),
                amount: eur(750_000)
            }
        );
        assert_ne!(outcome.nomination.id(), not_approved.id());
        // Paid once: a second run leaves it out, and paying again is refused.
        assert!(matches!(
            outcome.nomination.mark_paid(now, batch_id(2)),
            Err(Refusal::NotAllowedNow {
                state: State::Paid,
                ..
            })
        ));
    }
    let paid: Vec<Nomination> = outcomes.into_iter().map(|o| o.nomination).collect();
    let (second, marked) = payout_run(batch_id(2), cycle, now, &paid).unwrap();
    assert!(second.entries.is_empty() && marked.is_empty());
}

#[test]
fn r_claim_w_9_a_correction_is_a_new_reversal_entry_never_an_edit() {
    let claims = approved_claims();
    let now = t0() + TimeDelta::days(50);
    let cycle = PayoutCycle::containing(t0(), Days::new(45), now).unwrap();
    let (batch, outcomes) = payout_run(batch_id(1), cycle, now, &claims).unwrap();
    let before = batch.clone();
    let paid = &outcomes[0].nomination;

    let later = now + TimeDelta::days(45);
    let next_cycle = PayoutCycle::containing(t0(), Days::new(45), later).unwrap();
    let reversal = batch
        .reversal(batch_id(2), next_cycle, later, paid, seen(paid))
        .unwrap()
        .unwrap();
    assert_eq!(batch, before, "the paid batch is not edited");
    assert_eq!(reversal.entries.len(), 1);
    let entry = &reversal.entries[0];
    assert_eq!(entry.nomination, *claims[0].id());
    assert_eq!(entry.amount, eur(-750_000));
    assert_eq!(
        entry.kind,
        EntryKind::Reversal {
            of: batch_id(1),
            seen: Some(seen(paid))
        }
    );
    assert_eq!(reversal.cycle.number, 2);
    // Only a payment the batch made can be reversed.
    let unpaid = Scenario::added_by(&admin(), &workshop().0, nomination_id(9)).nomination;
    assert_eq!(
        batch.reversal(batch_id(3), next_cycle, later, &unpaid, seen(&unpaid)),
        Ok(None)
    );
    // The reviewer cites the paid claim as it read it (R-LIST-4).
    assert_eq!(
        batch.reversal(batch_id(3), next_cycle, later, paid, seen(&claims[0])),
        Err(Refusal::StaleHead {
            seen: seen(&claims[0]),
            version: paid.version()
        })
    );
}

#[test]
fn r_claim_w_9_paid_follows_approved_only() {
    for s in [
        Scenario::submitted(),
        Scenario::under_review(),
        Scenario::rejected(),
    ] {
        assert!(matches!(
            s.refusal(|n, now| n.mark_paid(now, batch_id(1))),
            Refusal::NotAllowedNow { .. }
        ));
    }
    let paid = Scenario::approved().then(|n, now| n.mark_paid(now, batch_id(1)));
    assert_eq!(paid.state(), State::Paid);
    assert_eq!(paid.last_event().actor, Actor::System);
    let row = paid.row().unwrap();
    assert_eq!(row.tab, Tab::Complete);
    assert_eq!(row.actions, vec![Action::ViewWorkshopClaim]);
}
