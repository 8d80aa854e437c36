//! The reviewer's side through the service: review, dispute and payout
//! (R-CLAIM-W-7..9).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use chrono::TimeDelta;
use common::*;
use mci_core::{
    Action, Command, DeadlineKind, Engagement, EntryKind, EventKind, MessageKind, Refusal, State,
    Tab,
};
use mci_engagements::Error;

#[tokio::test]
async fn r_claim_w_7_submitted_under_review_partner_action_any_number_of_times_then_approved() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.submitted_subscription(&a, 1, &w.workshop).await;
    let queue = w.service.review_queue(None, 10).await.unwrap();
    assert_eq!(queue.rows.len(), 1);
    assert_eq!(queue.rows[0].id(), &id);

    for round in 1..=3 {
        let n = w
            .service
            .start_review(reviewer(), &id, w.seen(&id).await)
            .await
            .unwrap();
        assert_eq!(n.state(), State::UnderReview);
        let n = w
            .service
            .request_partner_action(
                reviewer(),
                &id,
                w.seen(&id).await,
                comment("please add the agenda"),
            )
            .await
            .unwrap();
        assert_eq!(n.state(), State::PartnerActionRequired);
        let message = w.messages(&id).last().unwrap().clone();
        assert_matches!(message.kind, MessageKind::PartnerActionRequested { .. });
        assert_eq!(message.to, vec!["ada@partner-a.example".parse().unwrap()]);
        let row = w.row(&a, &w.workshop, &id).await.unwrap();
        assert_eq!(row.tab, Tab::Eligible);
        assert!(row.actions.contains(&Action::AnswerReviewer), "{round}");
        // The partner answers and resubmits.
        w.service
            .add_comment(&a, &id, comment("agenda attached"))
            .await
            .unwrap();
        let n = w.service.submit(&a, &id).await.unwrap();
        assert_eq!(n.state(), State::Submitted);
        w.advance_days(5);
    }
    w.service
        .start_review(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    let approved = w
        .service
        .approve(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    assert_eq!(approved.state(), State::Approved);
    assert_eq!(approved.claim().payout, Some(eur(750_000)));
    assert_matches!(
        w.messages(&id).last().unwrap().kind,
        MessageKind::Approved { payout } if payout == eur(750_000)
    );
    let resubmissions = w
        .service
        .history(&a, &id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::Submitted { resubmission: true })
        .count();
    assert_eq!(resubmissions, 3);
    let row = w.row(&a, &w.workshop, &id).await.unwrap();
    assert_eq!(row.tab, Tab::Complete);
}

#[tokio::test]
async fn r_claim_w_7_reject_needs_the_review_started_and_tells_the_partner_why() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.submitted_subscription(&a, 1, &w.workshop).await;
    let error = w
        .refused(
            w.service
                .reject(reviewer(), &id, w.seen(&id).await, comment("no")),
        )
        .await;
    assert_matches!(
        error,
        Error::Refused(Refusal::NotAllowedNow {
            command: Command::Reject,
            state: State::Submitted
        })
    );
    let error = w
        .refused(w.service.approve(reviewer(), &id, w.seen(&id).await))
        .await;
    assert_matches!(error, Error::Refused(Refusal::NotAllowedNow { .. }));
    w.service
        .start_review(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    let rejected = w
        .service
        .reject(
            reviewer(),
            &id,
            w.seen(&id).await,
            comment("the invoice does not match"),
        )
        .await
        .unwrap();
    assert_eq!(rejected.state(), State::Rejected);
    assert_eq!(
        rejected.claim().rejection_reason.as_ref().unwrap().as_str(),
        "the invoice does not match"
    );
    assert_matches!(
        w.messages(&id).last().unwrap().kind,
        MessageKind::Rejected {
            disputable: true,
            ..
        }
    );
    let row = w.row(&a, &w.workshop, &id).await.unwrap();
    assert_eq!(row.tab, Tab::Eligible);
    assert_eq!(row.status.deadline, Some(DeadlineKind::Dispute));
    assert_eq!(row.status.days_left, Some(30));
    assert!(row.actions.contains(&Action::Dispute));
}

async fn review_complete_window(engagement: fn(&World) -> &Engagement, window: i64) {
    let w = World::new();
    let a = admin(PARTNER_A);
    let in_time = w.submitted_subscription(&a, 1, engagement(&w)).await;
    let too_late = w.submitted_subscription(&a, 2, engagement(&w)).await;
    let answered_late = w.submitted_subscription(&a, 3, engagement(&w)).await;
    for id in [&in_time, &too_late, &answered_late] {
        w.service
            .start_review(reviewer(), id, w.seen(id).await)
            .await
            .unwrap();
    }
    w.service
        .request_partner_action(
            reviewer(),
            &answered_late,
            w.seen(&answered_late).await,
            comment("more"),
        )
        .await
        .unwrap();
    let deadline = t0() + days(window);
    let row = w.row(&a, engagement(&w), &in_time).await.unwrap();
    assert_eq!(row.status.deadline, Some(DeadlineKind::ReviewComplete));
    assert_eq!(row.status.days_left, Some(u32::try_from(window).unwrap()));

    w.set(deadline - TimeDelta::seconds(1));
    w.service
        .approve(reviewer(), &in_time, w.seen(&in_time).await)
        .await
        .unwrap();

    w.set(deadline);
    let error = w
        .refused(
            w.service
                .approve(reviewer(), &too_late, w.seen(&too_late).await),
        )
        .await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Lapsed { state: State::PostSubmissionExpired, at }) if at == deadline
    );
    assert_eq!(error.rule(), Some("R-CLAIM-W-7"));
    // The partner's answer is bound by the same deadline.
    let error = w.refused(w.service.submit(&a, &answered_late)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Lapsed {
            state: State::PostSubmissionExpired,
            ..
        })
    );
    for id in [&too_late, &answered_late] {
        let row = w.row(&a, engagement(&w), id).await.unwrap();
        assert_eq!(row.tab, Tab::Complete);
        assert_eq!(row.status.state, State::PostSubmissionExpired);
    }
    assert!(
        w.service
            .review_queue(None, 10)
            .await
            .unwrap()
            .rows
            .is_empty(),
        "expired claims leave the reviewer's queue"
    );
}

#[tokio::test]
async fn r_claim_w_7_a_workshop_review_must_complete_within_120_days_of_consent() {
    review_complete_window(|w| &w.workshop, 120).await;
}

#[tokio::test]
async fn r_claim_w_7_an_assessment_review_must_complete_within_90_days_of_consent() {
    review_complete_window(|w| &w.assessment, 90).await;
}

#[tokio::test]
async fn r_claim_w_8_a_rejection_can_be_disputed_once_and_a_second_rejection_is_final() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.rejected_subscription(&a, 1, &w.workshop).await;
    w.advance_days(10);
    let disputed = w
        .service
        .dispute(&a, &id, comment("the invoice matches the PO"))
        .await
        .unwrap();
    assert_eq!(disputed.state(), State::Disputed);
    let error = w
        .refused(w.service.dispute(&a, &id, comment("again")))
        .await;
    assert_matches!(error, Error::Refused(Refusal::AlreadyDisputed));
    assert_eq!(error.rule(), Some("R-CLAIM-W-8"));
    assert_eq!(
        w.service.review_queue(None, 10).await.unwrap().rows.len(),
        1,
        "a disputed claim is queued for review"
    );
    w.service
        .start_review(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    let final_ = w
        .service
        .reject(
            reviewer(),
            &id,
            w.seen(&id).await,
            comment("still no match"),
        )
        .await
        .unwrap();
    assert_eq!(final_.state(), State::RejectedFinal);
    assert_matches!(
        w.messages(&id).last().unwrap().kind,
        MessageKind::Rejected {
            disputable: false,
            ..
        }
    );
    let error = w
        .refused(w.service.dispute(&a, &id, comment("once more")))
        .await;
    assert_matches!(error, Error::Refused(Refusal::AlreadyDisputed));
    let row = w.row(&a, &w.workshop, &id).await.unwrap();
    assert_eq!(row.tab, Tab::Complete);
    assert_eq!(row.status.state, State::RejectedFinal);
}

#[tokio::test]
async fn r_claim_w_8_a_rejection_not_disputed_within_30_days_becomes_final() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let in_time = w.rejected_subscription(&a, 1, &w.workshop).await;
    let too_late = w.rejected_subscription(&a, 2, &w.workshop).await;
    let rejected_at = w.now();
    w.set(rejected_at + days(30) - TimeDelta::seconds(1));
    w.service
        .dispute(&a, &in_time, comment("in time"))
        .await
        .unwrap();
    w.set(rejected_at + days(30));
    let error = w
        .refused(w.service.dispute(&a, &too_late, comment("late")))
        .await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Lapsed {
            state: State::RejectedFinal,
            ..
        })
    );
    let row = w.row(&a, &w.workshop, &too_late).await.unwrap();
    assert_eq!(row.tab, Tab::Complete);
    assert_eq!(row.status.state, State::RejectedFinal);
    assert!(!row.actions.contains(&Action::Dispute));
}

#[tokio::test]
async fn r_claim_w_8_a_dispute_gives_the_review_one_fresh_30_day_window() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let approved_in_time = w.submitted_subscription(&a, 1, &w.workshop).await;
    let expired = w.submitted_subscription(&a, 2, &w.workshop).await;
    // Rejected late in the claim's life: the dispute's window runs past the
    // review-complete deadline of 120 days.
    w.set(t0() + days(100));
    for id in [&approved_in_time, &expired] {
        w.service
            .start_review(reviewer(), id, w.seen(id).await)
            .await
            .unwrap();
        w.service
            .reject(reviewer(), id, w.seen(id).await, comment("no"))
            .await
            .unwrap();
    }
    w.set(t0() + days(110));
    for id in [&approved_in_time, &expired] {
        w.service
            .dispute(&a, id, comment("please look again"))
            .await
            .unwrap();
    }
    assert!(w.now() + days(30) > t0() + days(120));
    let disputed_at = w.now();
    let row = w.row(&a, &w.workshop, &expired).await.unwrap();
    assert_eq!(row.status.state, State::Disputed);
    assert_eq!(row.status.deadline, Some(DeadlineKind::DisputeReview));
    assert_eq!(row.status.days_left, Some(30));

    w.set(disputed_at + days(30) - TimeDelta::seconds(1));
    w.service
        .start_review(
            reviewer(),
            &approved_in_time,
            w.seen(&approved_in_time).await,
        )
        .await
        .unwrap();
    w.service
        .approve(
            reviewer(),
            &approved_in_time,
            w.seen(&approved_in_time).await,
        )
        .await
        .unwrap();

    w.set(disputed_at + days(30));
    let error = w
        .refused(
            w.service
                .start_review(reviewer(), &expired, w.seen(&expired).await),
        )
        .await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Lapsed {
            state: State::DisputeExpired,
            ..
        })
    );
    let row = w.row(&a, &w.workshop, &expired).await.unwrap();
    assert_eq!(row.tab, Tab::Complete);
    assert_eq!(row.status.state, State::DisputeExpired);
}

#[tokio::test]
async fn r_claim_w_8_partner_action_asked_after_a_dispute_must_finish_in_the_dispute_window() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.rejected_subscription(&a, 1, &w.workshop).await;
    w.service
        .dispute(&a, &id, comment("look again"))
        .await
        .unwrap();
    let disputed_at = w.now();
    w.service
        .start_review(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    w.service
        .request_partner_action(reviewer(), &id, w.seen(&id).await, comment("send the PO"))
        .await
        .unwrap();
    w.set(disputed_at + days(30));
    let error = w.refused(w.service.submit(&a, &id)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Lapsed {
            state: State::DisputeExpired,
            ..
        })
    );
}

#[tokio::test]
async fn r_claim_w_9_a_payout_run_pays_the_approved_claims_in_one_immutable_batch() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let b = admin(PARTNER_B);
    let fixed = w.approved_subscription(&a, 1, &w.workshop).await;
    let other_partner = w.approved_subscription(&b, 2, &w.assessment).await;
    let variable = {
        let mut form = w.form(&a, "it@customer3.example", msx(3), &[&w.variable]);
        form.hours = Some(hours(120));
        let id = *w.service.add_customer(&a, &form).await.unwrap().nominations[0].id();
        let token = w.send_consent(&a, &id).await;
        w.service.accept_consent(&token).await.unwrap();
        w.prove(&a, &id).await;
        w.service.submit(&a, &id).await.unwrap();
        w.review_and_approve(&id).await;
        id
    };
    let waiting = w.submitted_subscription(&a, 4, &w.workshop).await;

    w.advance_days(3);
    let run = w.service.run_payout(reviewer(), 100).await.unwrap();
    let mut paid: Vec<_> = run.paid.iter().map(|n| *n.id()).collect();
    paid.sort();
    let mut expected = vec![fixed, other_partner, variable];
    expected.sort();
    assert_eq!(paid, expected);
    assert!(run.paid.iter().all(|n| n.state() == State::Paid));
    assert!(
        run.paid
            .iter()
            .all(|n| n.claim().paid_in == Some(run.batch.id))
    );
    let amounts: Vec<(mci_core::NominationId, mci_core::Money)> = run
        .batch
        .entries
        .iter()
        .map(|e| {
            assert_eq!(e.kind, EntryKind::Payment);
            (e.nomination, e.amount)
        })
        .collect();
    assert!(amounts.contains(&(fixed, eur(750_000))));
    assert!(amounts.contains(&(other_partner, eur(300_000))));
    assert!(
        amounts.contains(&(variable, eur(1_800_000))),
        "150.00 x 120 h"
    );
    assert_eq!(
        run.batch.totals().unwrap()[&"EUR".parse().unwrap()],
        eur(2_850_000)
    );
    assert_eq!(
        w.service.payout_batch(&run.batch.id).await.unwrap(),
        Some(run.batch.clone())
    );
    assert_eq!(w.read(&waiting).await.state(), State::Submitted);
    assert_matches!(
        w.messages(&fixed).last().unwrap().kind,
        MessageKind::Paid { amount, .. } if amount == eur(750_000)
    );
    let row = w.row(&a, &w.workshop, &fixed).await.unwrap();
    assert_eq!(row.tab, Tab::Complete);
    assert_eq!(row.status.state, State::Paid);

    // A second run finds nothing left to pay.
    let again = w.service.run_payout(reviewer(), 100).await.unwrap();
    assert!(again.paid.is_empty());
    assert!(again.batch.entries.is_empty());
    assert_eq!(
        w.service.payout_batch(&run.batch.id).await.unwrap(),
        Some(run.batch),
        "the first batch is unchanged"
    );
    // A paid claim cannot be paid, approved or rejected again.
    let error = w
        .refused(w.service.approve(reviewer(), &fixed, w.seen(&fixed).await))
        .await;
    assert_matches!(error, Error::Refused(Refusal::NotAllowedNow { .. }));
}

#[tokio::test]
async fn r_claim_w_9_the_batch_belongs_to_the_45_day_cycle_of_its_run() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.approved_subscription(&a, 1, &w.workshop).await;
    let run = w.service.run_payout(reviewer(), 10).await.unwrap();
    let cycle = run.batch.cycle;
    assert!(cycle.starts <= w.now() && w.now() < cycle.ends);
    assert_eq!(cycle.ends - cycle.starts, days(45));
    let history = w.service.history(&a, run.paid[0].id()).await.unwrap();
    assert_matches!(
        history.last().unwrap().kind,
        EventKind::Paid { batch, .. } if batch == run.batch.id
    );
}

#[tokio::test]
async fn r_claim_w_9_a_bounded_run_leaves_the_rest_for_the_next_run_and_pays_nothing_twice() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut approved = Vec::new();
    for n in 1..=5 {
        approved.push(w.approved_subscription(&a, n, &w.workshop).await);
    }
    let first = w.service.run_payout(reviewer(), 3).await.unwrap();
    assert_eq!(first.paid.len(), 3);
    let second = w.service.run_payout(reviewer(), 3).await.unwrap();
    assert_eq!(second.paid.len(), 2);
    assert_ne!(first.batch.id, second.batch.id);
    let mut paid: Vec<_> = first
        .batch
        .entries
        .iter()
        .chain(&second.batch.entries)
        .map(|e| e.nomination)
        .collect();
    paid.sort();
    approved.sort();
    assert_eq!(paid, approved, "each claim paid exactly once");
    for id in &approved {
        assert_eq!(w.stored(id).state(), State::Paid);
    }
}

#[tokio::test]
async fn r_claim_w_9_a_correction_is_a_new_reversal_batch_never_an_edit() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let fixed = w.approved_subscription(&a, 1, &w.workshop).await;
    let run = w.service.run_payout(reviewer(), 10).await.unwrap();
    w.advance_days(2);

    let reversal = w
        .service
        .reverse_payment(reviewer(), &run.batch.id, &fixed, w.seen(&fixed).await)
        .await
        .unwrap();
    assert_ne!(reversal.id, run.batch.id);
    assert_eq!(reversal.entries.len(), 1);
    assert_eq!(reversal.entries[0].nomination, fixed);
    assert_eq!(reversal.entries[0].amount, eur(-750_000));
    assert_eq!(
        reversal.entries[0].kind,
        EntryKind::Reversal {
            of: run.batch.id,
            seen: Some(w.seen(&fixed).await)
        }
    );
    assert_eq!(
        w.service.payout_batch(&run.batch.id).await.unwrap(),
        Some(run.batch.clone()),
        "the original batch is unchanged"
    );
    assert_eq!(
        w.service.payout_batch(&reversal.id).await.unwrap(),
        Some(reversal.clone())
    );

    // Reversing the same payment again answers the first reversal and
    // writes nothing.
    let before = w.store.snapshot();
    let again = w
        .service
        .reverse_payment(reviewer(), &run.batch.id, &fixed, w.seen(&fixed).await)
        .await
        .unwrap();
    assert_eq!(again, reversal);
    assert_eq!(w.store.snapshot(), before);

    // A claim the batch did not pay, and a batch that does not exist.
    let unpaid = w.submitted_subscription(&a, 2, &w.workshop).await;
    let error = w
        .refused(w.service.reverse_payment(
            reviewer(),
            &run.batch.id,
            &unpaid,
            w.seen(&unpaid).await,
        ))
        .await;
    assert_matches!(error, Error::Refused(Refusal::NotFound));
    let error = w
        .refused(w.service.reverse_payment(
            reviewer(),
            &reversal_of_nothing(),
            &fixed,
            w.seen(&fixed).await,
        ))
        .await;
    assert_matches!(error, Error::Refused(Refusal::NotFound));
}

fn reversal_of_nothing() -> mci_core::PayoutBatchId {
    mci_core::PayoutBatchId::new_v7(1, [9; 10])
}

#[tokio::test]
async fn r_claim_w_9_the_payout_batches_are_listed_from_the_store_in_id_order() {
    let w = World::new();
    let a = admin(PARTNER_A);
    assert_eq!(w.service.payout_batches(None, 10).await.unwrap(), vec![]);
    let fixed = w.approved_subscription(&a, 1, &w.workshop).await;
    let first = w.service.run_payout(reviewer(), 10).await.unwrap();
    w.advance_days(2);
    let empty = w.service.run_payout(reviewer(), 10).await.unwrap();
    assert!(first.batch.id < empty.batch.id, "runs in the order made");
    w.advance_days(2);
    let seen = w.seen(&fixed).await;
    let reversal = w
        .service
        .reverse_payment(reviewer(), &first.batch.id, &fixed, seen)
        .await
        .unwrap();
    let mut made = vec![first.batch, empty.batch, reversal];
    made.sort_by_key(|b| b.id);
    assert_eq!(w.service.payout_batches(None, 10).await.unwrap(), made);
    // Keyset pages: the last id of a page is where the next starts.
    let page = w.service.payout_batches(None, 2).await.unwrap();
    assert_eq!(page, made[..2]);
    let next = w
        .service
        .payout_batches(Some(&page[1].id), 2)
        .await
        .unwrap();
    assert_eq!(next, made[2..]);
}

// R-LIST-4: a reviewer's decision cites the hash of the last event it saw.

#[tokio::test]
async fn r_list_4_a_decision_on_a_stale_head_is_refused_and_changes_nothing() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.submitted_subscription(&a, 1, &w.workshop).await;
    let read = w.read(&id).await.head().unwrap();
    // The partner comments after the reviewer read the claim.
    w.service
        .add_comment(&a, &id, comment("the agenda is attached"))
        .await
        .unwrap();
    let before = w.snapshot();
    let error = w
        .refused(w.service.start_review(reviewer(), &id, read.hash))
        .await;
    assert_matches!(
        error,
        Error::Refused(Refusal::StaleHead { seen, version }) if seen == read.hash && version == read.version + 1
    );
    assert_eq!(error.rule(), Some("R-LIST-4"));
    assert_eq!(error.field(), Some("seen"));
    assert_eq!(error.code(), "stale_head");
    assert_eq!(w.snapshot(), before, "a refused decision writes nothing");

    // Every decision on a claim under review refuses a head it moved on from.
    let seen = w.seen(&id).await;
    w.service.start_review(reviewer(), &id, seen).await.unwrap();
    for error in [
        w.refused(w.service.approve(reviewer(), &id, seen)).await,
        w.refused(w.service.reject(reviewer(), &id, seen, comment("no")))
            .await,
        w.refused(
            w.service
                .request_partner_action(reviewer(), &id, seen, comment("more")),
        )
        .await,
    ] {
        assert_matches!(error, Error::Refused(Refusal::StaleHead { .. }));
    }
    // So does the command form of it.
    let before = w.snapshot();
    let error = w
        .refused(w.service.execute_review(
            reviewer(),
            mci_engagements::ReviewerCommand::Approve {
                nomination: id,
                seen,
            },
        ))
        .await;
    assert_matches!(error, Error::Refused(Refusal::StaleHead { .. }));
    assert_eq!(w.snapshot(), before);
}

#[tokio::test]
async fn r_list_4_a_decision_on_the_fresh_head_is_taken_and_its_event_cites_it() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.submitted_subscription(&a, 1, &w.workshop).await;
    let mut cited = Vec::new();
    let seen = w.seen(&id).await;
    w.service.start_review(reviewer(), &id, seen).await.unwrap();
    cited.push(seen);
    let seen = w.seen(&id).await;
    w.service
        .request_partner_action(reviewer(), &id, seen, comment("more"))
        .await
        .unwrap();
    cited.push(seen);
    w.service.submit(&a, &id).await.unwrap();
    let seen = w.seen(&id).await;
    w.service.start_review(reviewer(), &id, seen).await.unwrap();
    cited.push(seen);
    let seen = w.seen(&id).await;
    let approved = w.service.approve(reviewer(), &id, seen).await.unwrap();
    cited.push(seen);

    let history = w.service.history(&a, &id).await.unwrap();
    let decisions: Vec<_> = history
        .iter()
        .filter(|e| matches!(e.actor, mci_core::Actor::Reviewer { .. }))
        .collect();
    assert_eq!(decisions.len(), 4);
    for (event, seen) in decisions.iter().zip(&cited) {
        assert_eq!(event.seen, Some(*seen), "{}", event.kind);
        assert_eq!(event.previous, Some(*seen), "{}", event.kind);
    }
    assert!(
        history
            .iter()
            .filter(|e| !matches!(e.actor, mci_core::Actor::Reviewer { .. }))
            .all(|e| e.seen.is_none())
    );
    assert_eq!(approved.head(), Some(history.last().unwrap().head()));
    // The history, citations and all, still verifies.
    let export: String = history
        .iter()
        .map(|e| mci_core::ExportLine::Event(e.clone()).to_json_line())
        .collect();
    assert_eq!(
        mci_core::verify_export(&export, &[]).unwrap(),
        vec![history.last().unwrap().head()]
    );
}

#[tokio::test]
async fn r_list_4_a_reversal_cites_the_paid_claim_as_the_reviewer_read_it() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let fixed = w.approved_subscription(&a, 1, &w.workshop).await;
    let approved = w.seen(&fixed).await;
    let run = w.service.run_payout(reviewer(), 10).await.unwrap();
    // The head read before the payment is stale once it is paid.
    let before = w.snapshot();
    let error = w
        .refused(
            w.service
                .reverse_payment(reviewer(), &run.batch.id, &fixed, approved),
        )
        .await;
    assert_matches!(error, Error::Refused(Refusal::StaleHead { .. }));
    assert_eq!(w.snapshot(), before);
    let paid = w.seen(&fixed).await;
    let reversal = w
        .service
        .reverse_payment(reviewer(), &run.batch.id, &fixed, paid)
        .await
        .unwrap();
    assert_eq!(
        reversal.entries[0].kind,
        EntryKind::Reversal {
            of: run.batch.id,
            seen: Some(paid)
        }
    );
}
