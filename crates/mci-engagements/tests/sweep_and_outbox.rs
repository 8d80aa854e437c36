//! Time, the sweep, reminders and the outbox through the service (R-TIME,
//! R-REC-2, R-REC-6).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use chrono::TimeDelta;
use common::*;
use mci_core::{
    DeadlineKind, EventKind, MessageId, MessageKind, NominationId, Refusal, State, Tab,
};
use mci_engagements::{Error, Settings, SweepReport};
use std::collections::BTreeSet;

/// The deadline reminders queued for `id`, as (deadline, days before).
fn reminders(w: &World, id: &NominationId) -> Vec<(mci_core::Instant, u32)> {
    w.messages(id)
        .into_iter()
        .filter_map(|m| match m.kind {
            MessageKind::DeadlineApproaching { deadline, before } => {
                assert_eq!(m.to, vec!["ada@partner-a.example".parse().unwrap()]);
                Some((deadline, before.get()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn r_time_1_the_service_reads_time_only_from_its_clock() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.set(t0() + days(1000));
    let error = w
        .refused(w.service.add_customer(
            &a,
            &w.form(&a, "it@customer1.example", subscription(1), &[&w.workshop]),
        ))
        .await;
    // The engagement ended by the clock's reckoning, not the machine's.
    assert!(error.to_string().contains("R-ADD-6"), "{error}");
    w.set(t0() + days(3));
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    assert_eq!(w.stored(&id).created_at(), t0() + days(3));
    assert_eq!(w.now(), t0() + days(3));
}

#[tokio::test]
async fn r_time_2_a_deadline_is_whole_24_hour_days_and_its_instant_is_late() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.set(t0() + TimeDelta::minutes(17));
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &id).await;
    let deadline = w.read(&id).await.deadline().unwrap();
    assert_eq!(deadline.kind, DeadlineKind::ObtainConsent);
    assert_eq!(deadline.at - w.now(), TimeDelta::hours(30 * 24));
    w.set(deadline.at);
    let error = w.refused(w.service.accept_consent(&token)).await;
    assert_matches!(error, Error::Refused(Refusal::Lapsed { at, .. }) if at == deadline.at);
}

/// The deadline and days left on the row of `id`.
async fn status(w: &World, id: &NominationId) -> Option<(Option<DeadlineKind>, Option<u32>)> {
    w.row(&admin(PARTNER_A), &w.workshop, id)
        .await
        .map(|r| (r.status.deadline, r.status.days_left))
}

#[tokio::test]
async fn r_time_3_days_left_is_a_ceiling_never_negative_and_0_means_lapsed() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let first_submit = Some(DeadlineKind::FirstSubmit);
    assert_eq!(status(&w, &id).await, Some((first_submit, Some(90))));
    w.advance(TimeDelta::seconds(1));
    assert_eq!(status(&w, &id).await, Some((first_submit, Some(90))));
    w.set(t0() + days(89));
    assert_eq!(status(&w, &id).await, Some((first_submit, Some(1))));
    w.set(t0() + days(90) - TimeDelta::nanoseconds(1));
    assert_eq!(status(&w, &id).await, Some((first_submit, Some(1))));
    w.set(t0() + days(90));
    // Lapsed: no window runs any more, and the row moved to Complete.
    assert_eq!(status(&w, &id).await, Some((None, None)));
    let n = w.read(&id).await;
    assert_eq!(n.state(), State::NotSubmittedExpired);
    assert_eq!(mci_core::days_left(t0() + days(90), w.now()), 0);
    assert_eq!(mci_core::days_left(t0() + days(90), w.now() + days(5)), 0);
}

#[tokio::test]
async fn r_time_4_a_sweep_persists_each_lapse_once_with_its_event_and_notice() {
    let w = World::with_settings(Settings {
        sweep_batch: 2,
        ..Settings::default()
    });
    let a = admin(PARTNER_A);
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(w.add_subscription(&a, n, &w.workshop).await);
    }
    let consented = w.consented_subscription(&a, 6, &w.workshop).await;
    w.advance_days(30);
    let report = w.service.sweep().await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            lapsed: 5,
            reminded: 0,
            skipped: 0,
            unreadable: Vec::new(),
            // The known customer's answers of the eligibility source.
            answers_kept: report.answers_kept,
            eligibility_failure: None,
        },
        "five lapses in batches of two"
    );
    for id in &ids {
        let n = w.stored(id);
        assert_eq!(n.state(), State::ConsentExpired);
        assert_eq!(n.lapsed_at(), Some(t0() + days(30)));
        let history = w.service.history(&a, id).await.unwrap();
        let last = history.last().unwrap();
        assert_matches!(last.kind, EventKind::Lapsed { deadline } if deadline == t0() + days(30));
        assert_eq!(last.from, Some(State::CustomerClaimed));
        assert_eq!(last.to, State::ConsentExpired);
        assert_eq!(last.actor, mci_core::Actor::System);
        assert_matches!(
            w.messages(id).last().unwrap().kind,
            MessageKind::Lapsed {
                state: State::ConsentExpired
            }
        );
    }
    assert_eq!(w.stored(&consented).state(), State::Consented);
    // Sweeping again at the same instant writes nothing.
    let again = w.unchanged(w.service.sweep()).await;
    assert_eq!(again, SweepReport::default());
}

#[tokio::test]
async fn r_time_4_lazy_expiry_refuses_writes_and_reads_lapsed_before_any_sweep() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    w.prove(&a, &id).await;
    w.advance_days(90);
    assert_eq!(w.stored(&id).state(), State::Consented, "not swept");
    assert_eq!(
        w.service.nomination(&a, &id).await.unwrap().state(),
        State::NotSubmittedExpired
    );
    assert_eq!(
        w.service.history(&a, &id).await.unwrap().last().unwrap().to,
        State::NotSubmittedExpired
    );
    let error = w.refused(w.service.submit(&a, &id)).await;
    assert_matches!(
        error,
        Error::Refused(Refusal::Lapsed {
            state: State::NotSubmittedExpired,
            ..
        })
    );
    let row = w.row(&a, &w.workshop, &id).await.unwrap();
    assert_eq!(row.tab, Tab::Complete);
    // What the sweep then writes is what was read.
    let read = w.service.nomination(&a, &id).await.unwrap();
    let history = w.service.history(&a, &id).await.unwrap();
    w.service.sweep().await.unwrap();
    assert_eq!(w.stored(&id), read);
    assert_eq!(w.service.history(&a, &id).await.unwrap(), history);
}

#[tokio::test]
async fn r_rec_6_the_sweep_reminds_the_partner_7_days_and_1_day_before_consent_lapses_once_each() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let deadline = t0() + days(30);
    w.set(deadline - days(7) - TimeDelta::seconds(1));
    assert_eq!(w.service.sweep().await.unwrap().reminded, 0);
    assert!(reminders(&w, &id).is_empty());
    w.set(deadline - days(7));
    assert_eq!(w.service.sweep().await.unwrap().reminded, 1);
    assert_eq!(reminders(&w, &id), vec![(deadline, 7)]);
    w.advance(TimeDelta::hours(12));
    let again = w.unchanged(w.service.sweep()).await;
    assert_eq!(again.reminded, 0, "at most once");
    w.set(deadline - days(1));
    assert_eq!(w.service.sweep().await.unwrap().reminded, 1);
    w.advance(TimeDelta::hours(1));
    assert_eq!(w.service.sweep().await.unwrap().reminded, 0);
    assert_eq!(reminders(&w, &id), vec![(deadline, 7), (deadline, 1)]);
    let reminded = w
        .service
        .history(&a, &id)
        .await
        .unwrap()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Reminded { .. }))
        .count();
    assert_eq!(reminded, 2);
    assert_eq!(w.stored(&id).state(), State::CustomerClaimed, "state kept");
}

#[tokio::test]
async fn r_rec_6_reminders_before_the_submission_deadline_and_none_after_submission() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let waiting = w.consented_subscription(&a, 1, &w.workshop).await;
    let submitted = w.submitted_subscription(&a, 2, &w.workshop).await;
    let deadline = t0() + days(90);
    // A sweep that comes late sends the most urgent reminder only.
    w.set(deadline - days(1) + TimeDelta::hours(2));
    let report = w.service.sweep().await.unwrap();
    assert_eq!(report.reminded, 1);
    assert_eq!(reminders(&w, &waiting), vec![(deadline, 1)]);
    assert!(reminders(&w, &submitted).is_empty());
    w.advance(TimeDelta::hours(1));
    assert_eq!(w.service.sweep().await.unwrap().reminded, 0);
}

#[tokio::test]
async fn r_rec_6_a_nomination_that_answers_in_time_is_not_reminded_of_the_consent_again() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &id).await;
    w.set(t0() + days(23));
    w.service.sweep().await.unwrap();
    w.service.accept_consent(&token).await.unwrap();
    w.set(t0() + days(29));
    let report = w.service.sweep().await.unwrap();
    assert_eq!(report.reminded, 0);
    let kinds: Vec<DeadlineKind> = w
        .read(&id)
        .await
        .deadline()
        .map(|d| d.kind)
        .into_iter()
        .collect();
    assert_eq!(kinds, vec![DeadlineKind::FirstSubmit]);
    assert_eq!(reminders(&w, &id).len(), 1);
}

#[tokio::test]
async fn r_rec_2_every_email_waits_in_the_outbox_and_is_delivered_at_least_once() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    w.send_consent(&a, &id).await;
    w.service.resend_consent(&a, &id).await.unwrap();

    let lease = TimeDelta::minutes(5);
    let taken = w.service.take_messages(lease, 10).await.unwrap();
    assert_eq!(taken.len(), 2);
    assert!(taken.iter().all(|m| m.attempt == 1));
    assert_matches!(taken[0].message.kind, MessageKind::ConsentRequest { .. });
    assert_matches!(taken[1].message.kind, MessageKind::ConsentReminder { .. });
    // Leased: not handed out again before the lease ends.
    assert!(w.service.take_messages(lease, 10).await.unwrap().is_empty());
    // Delivery crashed: after the lease, the same messages come back.
    w.advance(lease);
    let again = w.service.take_messages(lease, 10).await.unwrap();
    let ids = |l: &[mci_engagements::Delivery]| -> Vec<MessageId> {
        l.iter().map(|m| m.message.id).collect()
    };
    assert_eq!(ids(&again), ids(&taken), "stable ids for de-duplication");
    // The link is derived again from the stored id: the same working token
    // each time it is delivered (R-TOKEN-4, R-REC-2).
    assert!(taken.iter().all(|m| m.token.is_some()));
    assert_eq!(
        again.iter().map(|m| m.token.clone()).collect::<Vec<_>>(),
        taken.iter().map(|m| m.token.clone()).collect::<Vec<_>>()
    );
    assert!(again.iter().all(|m| m.attempt == 2));
    // Acknowledged: never again.
    w.service.acknowledge(&ids(&again)).await.unwrap();
    w.advance(lease * 2);
    assert!(w.service.take_messages(lease, 10).await.unwrap().is_empty());
    assert!(
        w.snapshot()
            .outbox
            .iter()
            .all(|(_, _, delivered)| *delivered)
    );
    // Acknowledging twice, or an unknown id, is harmless.
    w.service.acknowledge(&ids(&again)).await.unwrap();
}

#[tokio::test]
async fn r_rec_2_messages_are_taken_oldest_first_in_bounded_numbers() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut expected = Vec::new();
    for n in 1..=5 {
        let id = w.add_subscription(&a, n, &w.workshop).await;
        w.send_consent(&a, &id).await;
        expected.push(w.messages(&id)[0].id);
        w.advance(TimeDelta::seconds(1));
    }
    let mut delivered = Vec::new();
    loop {
        let batch = w
            .service
            .take_messages(TimeDelta::minutes(1), 2)
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 2);
        let ids: Vec<MessageId> = batch.iter().map(|m| m.message.id).collect();
        w.service.acknowledge(&ids).await.unwrap();
        delivered.extend(ids);
    }
    assert_eq!(delivered, expected);
    let distinct: BTreeSet<MessageId> = delivered.iter().copied().collect();
    assert_eq!(distinct.len(), delivered.len());
}

#[tokio::test]
async fn r_rec_2_a_change_and_its_email_are_written_together() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let before = w.snapshot();
    w.send_consent(&a, &id).await;
    let after = w.snapshot();
    assert_eq!(after.events.len(), before.events.len() + 1);
    assert_eq!(after.outbox.len(), before.outbox.len() + 1);
    let (message, attempts, delivered) = after.outbox.last().unwrap();
    assert_eq!((*attempts, *delivered), (0, false));
    assert_eq!(message.nomination, id);
    assert_eq!(message.queued_at, after.events.last().unwrap().at);
}

#[tokio::test]
async fn r_time_4_a_repeated_link_answer_reads_the_same_before_and_after_the_sweep() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let consent = w.send_consent(&a, &id).await;
    w.service.accept_consent(&consent).await.unwrap();
    w.complete_survey(&a, &id, mci_core::SurveyKind::Customer)
        .await;
    let survey = w.survey_token(&id, mci_core::SurveyKind::Customer);
    w.advance_days(91);
    let lazy = (
        w.unchanged(w.service.accept_consent(&consent)).await,
        w.unchanged(w.service.complete_survey(&survey)).await,
    );
    assert_eq!(lazy.0.state(), State::NotSubmittedExpired);
    w.service.sweep().await.unwrap();
    let swept = (
        w.unchanged(w.service.accept_consent(&consent)).await,
        w.unchanged(w.service.complete_survey(&survey)).await,
    );
    assert_eq!(lazy, swept);
}
