//! Events, history, keeping everything, and concurrent changes through the
//! service (R-REC-1, R-REC-3, R-REC-4).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{Actor, EventKind, State};
use mci_engagements::Error;

#[tokio::test]
async fn r_rec_1_every_change_writes_one_event_read_back_in_order_with_who_when_and_states() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &id).await;
    w.advance_days(2);
    w.service.accept_consent(&token).await.unwrap();
    w.advance_days(3);
    w.prove(&a, &id).await;
    w.service.submit(&user(PARTNER_A), &id).await.unwrap();
    w.review_and_approve(&id).await;

    let history = w.service.history(&a, &id).await.unwrap();
    let n = w.stored(&id);
    assert_eq!(history.len() as u64, n.version(), "one event per change");
    let kinds: Vec<String> = history.iter().map(|e| e.kind.to_string()).collect();
    assert_eq!(
        kinds,
        [
            "customer added",
            "consent requested",
            "consent accepted",
            "proof of execution (discovery and recommendations) attached",
            "invoice attached",
            "partner survey sent",
            "partner survey completed",
            "customer survey sent",
            "customer survey completed",
            "claim submitted",
            "review started",
            "approved for 7500.00 EUR",
        ]
    );
    for (i, event) in history.iter().enumerate() {
        assert_eq!(event.nomination, id);
        assert_eq!(event.version, i as u64 + 1);
        if i > 0 {
            assert_eq!(event.from, Some(history[i - 1].to), "states chain");
            assert!(event.at >= history[i - 1].at, "in time order");
        }
    }
    assert_eq!(history[0].from, None);
    assert_eq!(history.last().unwrap().to, State::Approved);
    assert_eq!(history[2].actor, Actor::Customer);
    assert_eq!(history[2].at, t0() + days(2));
    assert_eq!(
        history[0].actor,
        Actor::Partner {
            partner: partner(PARTNER_A),
            user: format!("admin@{PARTNER_A}").parse().unwrap()
        }
    );
    assert_eq!(
        history.last().unwrap().actor,
        Actor::Reviewer {
            reviewer: reviewer()
        }
    );
    assert!(history.iter().any(|e| e.actor
        == Actor::Partner {
            partner: partner(PARTNER_A),
            user: format!("user@{PARTNER_A}").parse().unwrap()
        }));
    assert_matches!(history[2].kind, EventKind::ConsentAccepted);
}

#[tokio::test]
async fn r_rec_1_a_refused_change_writes_no_event() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let before = w.service.history(&a, &id).await.unwrap();
    w.refused(w.service.submit(&a, &id)).await;
    assert_eq!(w.service.history(&a, &id).await.unwrap(), before);
}

#[tokio::test]
async fn r_rec_3_nothing_is_ever_deleted_by_a_state_change() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let declined = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &declined).await;
    w.service.decline_consent(&token).await.unwrap();
    let cancelled = w.add_subscription(&a, 2, &w.workshop).await;
    w.service.cancel(&a, &cancelled).await.unwrap();
    let lapsed = w.add_subscription(&a, 3, &w.workshop).await;
    let before = w.snapshot();
    w.advance_days(30);
    w.service.sweep().await.unwrap();
    let after = w.snapshot();
    assert_eq!(after.nominations.len(), before.nominations.len());
    for event in &before.events {
        assert!(after.events.contains(event), "an event went missing");
    }
    for (message, _, _) in &before.outbox {
        assert!(after.outbox.iter().any(|(m, _, _)| m == message));
    }
    for (id, state) in [
        (declined, State::ConsentDeclined),
        (cancelled, State::Cancelled),
        (lapsed, State::ConsentExpired),
    ] {
        let n = w.service.nomination(&a, &id).await.unwrap();
        assert_eq!(n.state(), state);
        assert_eq!(
            n.customer().id(),
            &subscription_id(match state {
                State::ConsentDeclined => 1,
                State::Cancelled => 2,
                _ => 3,
            })
        );
        assert!(!w.service.history(&a, &id).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn r_rec_4_a_writer_that_read_an_older_version_retries_and_loses_no_update() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    // The first comment is decided, then stalls before it is written; a
    // second comment is written meanwhile.
    let held = w.hold_next_commit();
    let first = tokio::spawn({
        let (service, a) = (w.service.clone(), a.clone());
        async move { service.add_comment(&a, &id, comment("first")).await }
    });
    held.release_after(
        w.service
            .add_comment(&user(PARTNER_A), &id, comment("second")),
    )
    .await
    .unwrap();
    let last = first.await.unwrap().unwrap();
    let texts: Vec<&str> = last
        .claim()
        .comments
        .iter()
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(texts, ["second", "first"]);
    assert_eq!(w.stored(&id), last);
}

#[tokio::test]
async fn r_rec_4_a_change_decided_on_a_stale_read_is_decided_again_on_the_new_state() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.submitted_subscription(&a, 1, &w.workshop).await;
    w.service
        .start_review(reviewer(), &id, w.seen(&id).await)
        .await
        .unwrap();
    // The reviewer approves; the partner's comment, decided before, stalls.
    let held = w.hold_next_commit();
    let comment_task = tokio::spawn({
        let (service, a) = (w.service.clone(), a.clone());
        async move { service.add_comment(&a, &id, comment("late note")).await }
    });
    held.release_after(w.service.approve(reviewer(), &id, w.seen(&id).await))
        .await
        .unwrap();
    // Nothing has yielded since the approval: the comment has not retried.
    let approved = w.snapshot();
    let error = comment_task.await.unwrap().unwrap_err();
    assert!(
        approved == w.snapshot(),
        "the refused retry wrote something"
    );
    // Re-decided on the approved claim: comments end at a final state.
    assert_matches!(
        error,
        Error::Refused(mci_core::Refusal::NotAllowedNow {
            state: State::Approved,
            ..
        })
    );
    assert_eq!(w.stored(&id).state(), State::Approved);
    assert!(w.stored(&id).claim().comments.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_rec_4_concurrent_comments_on_one_nomination_are_all_kept() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let version = w.stored(&id).version();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (service, a, barrier) = (w.service.clone(), a.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                service
                    .add_comment(&a, &id, comment(&format!("note {i}")))
                    .await
            })
        })
        .collect();
    let mut written = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => written += 1,
            Err(Error::Busy) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    let n = w.stored(&id);
    assert_eq!(n.claim().comments.len(), written, "no update lost");
    assert_eq!(n.version(), version + written as u64);
    assert!(written > 0);
}

#[tokio::test]
async fn r_rec_4_a_writer_out_of_retries_fails_with_a_retryable_error_and_writes_nothing() {
    let w = World::with_settings(mci_engagements::Settings {
        retries: 0,
        ..mci_engagements::Settings::default()
    });
    let a = admin(PARTNER_A);
    let id = w.consented_subscription(&a, 1, &w.workshop).await;
    let held = w.hold_next_commit();
    let stale = tokio::spawn({
        let (service, a) = (w.service.clone(), a.clone());
        async move { service.add_comment(&a, &id, comment("stale")).await }
    });
    held.release_after(w.service.add_comment(&a, &id, comment("fresh")))
        .await
        .unwrap();
    let before = w.snapshot();
    let error = stale.await.unwrap().unwrap_err();
    assert!(before == w.snapshot(), "the failed writer wrote something");
    assert_matches!(error, Error::Busy);
    assert!(error.is_retryable());
    assert_eq!(error.rule(), Some("R-REC-4"));
    let texts: Vec<String> = w
        .stored(&id)
        .claim()
        .comments
        .iter()
        .map(|c| c.text.to_string())
        .collect();
    assert_eq!(texts, ["fresh"]);
}
