//! The Customers page of an engagement through the service (R-PAGE).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use chrono::TimeDelta;
use common::*;
use mci_core::{
    Action, CustomerId, CustomerIdInput, DeadlineKind, Ineligibility, NominationId, RowType, State,
    Tab,
};
use mci_engagements::{CustomerRow, Settings};
use std::collections::BTreeSet;

/// What identifies a row across pages.
fn key(row: &CustomerRow) -> String {
    match row {
        CustomerRow::Nomination(row) => format!("nomination {}", row.nomination),
        CustomerRow::Known(row) => format!("known {}", row.known.customer.id()),
    }
}

/// Partner A's workshop page with rows in every tab. Eligible: 5 live
/// nominations (1 to 5) and 4 claimable known customers (7, whose workshop
/// nomination was cancelled, and 11 to 13). Ineligible: 3 known customers
/// (6, already completed with A; Northwind, not eligible; 14, consented to
/// B). Complete: 2 nominations (6 approved, 7 cancelled after consent).
async fn populated() -> World {
    let w = World::new();
    let a = admin(PARTNER_A);
    let b = admin(PARTNER_B);
    for n in 1..=3 {
        w.add_subscription(&a, n, &w.workshop).await;
    }
    w.consented_subscription(&a, 4, &w.workshop).await;
    w.submitted_subscription(&a, 5, &w.workshop).await;
    w.approved_subscription(&a, 6, &w.workshop).await;
    let cancelled = w.consented_subscription(&a, 7, &w.workshop).await;
    w.service.cancel(&a, &cancelled).await.unwrap();
    for n in 11..=13 {
        w.consented_subscription(&a, n, &w.assessment).await;
    }
    w.consented(
        &a,
        "cio@northwind.example",
        CustomerIdInput::EmailOnly,
        &w.assessment,
    )
    .await;
    w.consented_subscription(&a, 14, &w.assessment).await;
    w.consented_subscription(&b, 14, &w.workshop).await;
    // The sweep asks the eligibility source about the known customers
    // (R-PAGE-9).
    w.service.sweep().await.unwrap();
    w
}

#[tokio::test]
async fn r_page_1_every_tab_is_counted_and_its_counts_agree_with_its_rows() {
    let w = populated().await;
    let a = admin(PARTNER_A);
    let (_, counts) = w.walk(&a, &w.workshop, Tab::Eligible, 100).await;
    assert_eq!(
        (counts.eligible, counts.ineligible, counts.complete),
        (9, 3, 2)
    );
    for tab in Tab::ALL {
        let (rows, tab_counts) = w.walk(&a, &w.workshop, tab, 100).await;
        assert_eq!(tab_counts, counts, "every page carries every tab's count");
        let expected = match tab {
            Tab::Eligible => counts.eligible,
            Tab::Ineligible => counts.ineligible,
            Tab::Complete => counts.complete,
        };
        assert_eq!(rows.len() as u64, expected, "{tab}");
    }
    // Partner B's page of the same engagement counts only B's rows.
    let (rows, counts) = w
        .walk(&admin(PARTNER_B), &w.workshop, Tab::Eligible, 100)
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (counts.eligible, counts.ineligible, counts.complete),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn r_page_1_keyset_pages_with_a_small_limit_walk_every_row_once() {
    let w = populated().await;
    let a = admin(PARTNER_A);
    for tab in Tab::ALL {
        let (all, _) = w.walk(&a, &w.workshop, tab, 100).await;
        let all: Vec<String> = all.iter().map(key).collect();
        for limit in [1, 2, 3] {
            let (paged, _) = w.walk(&a, &w.workshop, tab, limit).await;
            let paged: Vec<String> = paged.iter().map(key).collect();
            assert_eq!(paged, all, "{tab} by pages of {limit}");
        }
        let distinct: BTreeSet<&String> = all.iter().collect();
        assert_eq!(distinct.len(), all.len(), "{tab}: no row twice");
    }
}

#[tokio::test]
async fn r_page_1_a_keyset_walk_sees_every_existing_row_once_while_rows_are_added() {
    let w = populated().await;
    let a = admin(PARTNER_A);
    let (before, _) = w.walk(&a, &w.workshop, Tab::Eligible, 100).await;
    let before: BTreeSet<String> = before.iter().map(key).collect();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut added = 100;
    loop {
        let page = w
            .service
            .customers_page(&a, w.workshop.id(), Tab::Eligible, cursor, 2)
            .await
            .unwrap();
        seen.extend(page.rows.iter().map(key));
        // Another user of the partner adds a customer between two pages.
        w.advance(TimeDelta::milliseconds(5));
        w.add_subscription(&user(PARTNER_A), added, &w.workshop)
            .await;
        added += 1;
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "no row twice");
    for row in &before {
        assert!(seen.contains(row), "{row} was skipped");
    }
}

#[tokio::test]
async fn r_page_2_r_page_3_eligible_rows_show_type_days_left_and_actions() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let claimed = w.add_subscription(&a, 1, &w.workshop).await;
    let awaiting = w.add_subscription(&a, 2, &w.workshop).await;
    w.send_consent(&a, &awaiting).await;
    let active = w.consented_subscription(&a, 3, &w.workshop).await;
    let submitted = w.submitted_subscription(&a, 4, &w.workshop).await;

    let row = w.row(&a, &w.workshop, &claimed).await.unwrap();
    assert_eq!(row.tab, Tab::Eligible);
    assert_eq!(row.row_type, RowType::NotStarted);
    assert_eq!(row.status.state, State::CustomerClaimed);
    assert_eq!(row.status.deadline, Some(DeadlineKind::ObtainConsent));
    assert_eq!(row.status.days_left, Some(30));
    assert_eq!(row.actions, vec![Action::SendConsentEmail, Action::Cancel]);
    assert_eq!(row.customer, subscription_id(1));

    let row = w.row(&a, &w.workshop, &awaiting).await.unwrap();
    assert_eq!(row.row_type, RowType::NotStarted);
    assert_eq!(
        row.actions,
        vec![Action::ResendConsentEmail, Action::Cancel]
    );

    let row = w.row(&a, &w.workshop, &active).await.unwrap();
    assert_eq!(row.row_type, RowType::Active);
    assert_eq!(row.status.deadline, Some(DeadlineKind::FirstSubmit));
    assert_eq!(row.status.days_left, Some(90));
    assert_eq!(
        row.actions,
        vec![
            Action::SubmitWorkshopClaim,
            Action::Cancel,
            Action::ViewWorkshopClaim
        ]
    );

    let row = w.row(&a, &w.workshop, &submitted).await.unwrap();
    assert_eq!(row.tab, Tab::Eligible);
    assert_eq!(row.row_type, RowType::Active);
    assert_eq!(row.status.state, State::Submitted);
    assert_eq!(row.status.deadline, Some(DeadlineKind::ReviewComplete));
    assert_eq!(row.actions, vec![Action::ViewWorkshopClaim]);

    // Days left are whole or partial days, rounded up.
    w.advance(days(10) + TimeDelta::hours(1));
    assert_eq!(
        w.row(&a, &w.workshop, &claimed)
            .await
            .unwrap()
            .status
            .days_left,
        Some(20)
    );
    assert_eq!(
        w.row(&a, &w.workshop, &active)
            .await
            .unwrap()
            .status
            .days_left,
        Some(80)
    );
    w.set(t0() + days(30) - TimeDelta::seconds(1));
    assert_eq!(
        w.row(&a, &w.workshop, &claimed)
            .await
            .unwrap()
            .status
            .days_left,
        Some(1)
    );
}

#[tokio::test]
async fn r_page_2_known_customers_eligible_and_not_yet_nominated_are_claimable_in_eligible() {
    let w = populated().await;
    let a = admin(PARTNER_A);
    let known = w.known_rows(&a, &w.workshop, Tab::Eligible).await;
    let customers: Vec<CustomerId> = known.iter().map(|k| *k.known.customer.id()).collect();
    // 7's workshop nomination was cancelled: no longer live, so the customer
    // can be claimed again (R-ADD-7, R-CLAIM-W-1).
    assert_eq!(
        customers,
        vec![
            subscription_id(7),
            subscription_id(11),
            subscription_id(12),
            subscription_id(13)
        ]
    );
    for row in &known {
        assert!(row.reasons.is_empty());
        assert_eq!(row.actions(), vec![Action::ClaimCustomer]);
    }
    // A customer with a live workshop nomination shows once, as that
    // nomination; one the partner completed the workshop with is ineligible.
    let eligible = w.walk(&a, &w.workshop, Tab::Eligible, 100).await.0;
    let four: Vec<&CustomerRow> = eligible
        .iter()
        .filter(|r| match r {
            CustomerRow::Known(k) => *k.known.customer.id() == subscription_id(4),
            CustomerRow::Nomination(n) => n.customer == subscription_id(4),
        })
        .collect();
    assert_eq!(four.len(), 1);
    assert_matches!(four[0], CustomerRow::Nomination(_));
    let ineligible = w.known_rows(&a, &w.workshop, Tab::Ineligible).await;
    let six = ineligible
        .iter()
        .find(|k| *k.known.customer.id() == subscription_id(6))
        .unwrap();
    assert_eq!(six.reasons, vec![Ineligibility::AlreadyCompleted]);
    // Customers known only to another partner do not show.
    let (b_rows, _) = w
        .walk(&admin(PARTNER_B), &w.workshop, Tab::Eligible, 100)
        .await;
    assert!(
        b_rows
            .iter()
            .all(|r| matches!(r, CustomerRow::Nomination(_)))
    );
}

#[tokio::test]
async fn r_page_4_ineligible_known_customers_show_each_reason_without_naming_the_other_partner() {
    let w = World::new();
    let (a, b, c) = (admin(PARTNER_A), admin(PARTNER_B), admin(PARTNER_C));
    w.consented(
        &a,
        "cio@northwind.example",
        CustomerIdInput::EmailOnly,
        &w.assessment,
    )
    .await;
    for n in [21, 22, 23] {
        w.consented_subscription(&a, n, &w.assessment).await;
    }
    w.consented_subscription(&b, 21, &w.workshop).await;
    w.approved_subscription(&b, 22, &w.workshop).await;
    w.add_subscription(&b, 23, &w.workshop).await;
    w.add_subscription(&c, 23, &w.workshop).await;
    w.service.sweep().await.unwrap();

    let rows = w.known_rows(&a, &w.workshop, Tab::Ineligible).await;
    let reasons = |customer: CustomerId| {
        rows.iter()
            .find(|r| *r.known.customer.id() == customer)
            .map(|r| r.reasons.clone())
            .unwrap()
    };
    assert_eq!(
        reasons(CustomerId::Tenant(tenant(NORTHWIND))),
        vec![Ineligibility::CustomerIneligible {
            reason: NORTHWIND_REASON.into()
        }]
    );
    assert_eq!(
        reasons(subscription_id(21)),
        vec![Ineligibility::ConsentedToAnotherPartner]
    );
    assert_eq!(
        reasons(subscription_id(22)),
        vec![Ineligibility::CompletedWithAnotherPartner]
    );
    assert_eq!(
        reasons(subscription_id(23)),
        vec![Ineligibility::ActiveLimitReached { limit: 2 }]
    );
    assert_eq!(rows.len(), 4);
    for row in &rows {
        assert!(row.actions().is_empty(), "not claimable");
        let shown = format!(
            "{} {:?}",
            row.reasons
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            row
        );
        for other in [
            PARTNER_B,
            PARTNER_C,
            LOC_B,
            LOC_C,
            "ada@partner-b",
            "ada@partner-c",
        ] {
            assert!(!shown.contains(other), "{shown} reveals {other}");
        }
    }
    // The same customers are not in the Eligible tab.
    assert!(
        w.known_rows(&a, &w.workshop, Tab::Eligible)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn r_page_5_complete_shows_every_terminal_state_after_consent_with_its_claim_id() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let paid = w.approved_subscription(&a, 2, &w.workshop).await;
    w.service.run_payout(reviewer(), 10).await.unwrap();
    let approved = w.approved_subscription(&a, 1, &w.workshop).await;
    let rejected_final = w.rejected_subscription(&a, 3, &w.workshop).await;
    w.service
        .dispute(&a, &rejected_final, comment("look again"))
        .await
        .unwrap();
    w.service
        .start_review(reviewer(), &rejected_final, w.seen(&rejected_final).await)
        .await
        .unwrap();
    w.service
        .reject(
            reviewer(),
            &rejected_final,
            w.seen(&rejected_final).await,
            comment("no"),
        )
        .await
        .unwrap();
    let cancelled = w.consented_subscription(&a, 4, &w.workshop).await;
    w.service.cancel(&a, &cancelled).await.unwrap();
    let not_submitted = w.consented_subscription(&a, 5, &w.workshop).await;
    let post_submission = w.submitted_subscription(&a, 6, &w.workshop).await;
    let dispute_expired = w.rejected_subscription(&a, 7, &w.workshop).await;
    w.service
        .dispute(&a, &dispute_expired, comment("look again"))
        .await
        .unwrap();
    // Hidden ones: declined, consent expired, cancelled before consent.
    let declined = w.add_subscription(&a, 8, &w.workshop).await;
    let token = w.send_consent(&a, &declined).await;
    w.service.decline_consent(&token).await.unwrap();
    w.add_subscription(&a, 9, &w.workshop).await;
    let withdrawn = w.add_subscription(&a, 10, &w.workshop).await;
    w.service.cancel(&a, &withdrawn).await.unwrap();

    w.advance_days(120);
    let rows = w.nomination_rows(&a, &w.workshop, Tab::Complete).await;
    let by_id = |id: &NominationId| rows.iter().find(|r| &r.nomination == id).unwrap();
    for (id, state) in [
        (&approved, State::Approved),
        (&paid, State::Paid),
        (&rejected_final, State::RejectedFinal),
        (&cancelled, State::Cancelled),
        (&not_submitted, State::NotSubmittedExpired),
        (&post_submission, State::PostSubmissionExpired),
        (&dispute_expired, State::DisputeExpired),
    ] {
        let row = by_id(id);
        assert_eq!(row.status.state, state);
        assert_eq!(row.row_type, RowType::Active);
        assert_eq!(row.status.days_left, None);
        assert_eq!(row.actions, vec![Action::ViewWorkshopClaim]);
        // The claim id opens the claim.
        assert_eq!(
            w.service
                .nomination(&a, &row.nomination)
                .await
                .unwrap()
                .state(),
            state
        );
    }
    assert_eq!(rows.len(), 7);
    assert!(
        w.nomination_rows(&a, &w.workshop, Tab::Eligible)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn r_page_6_declined_and_lapsed_nominations_leave_the_page_but_are_kept_with_history() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let declined = w.add_subscription(&a, 1, &w.workshop).await;
    let token = w.send_consent(&a, &declined).await;
    w.service.decline_consent(&token).await.unwrap();
    let lapsed = w.add_subscription(&a, 2, &w.workshop).await;
    w.send_consent(&a, &lapsed).await;
    w.advance_days(31);
    w.service.sweep().await.unwrap();
    for tab in Tab::ALL {
        let (rows, counts) = w.walk(&a, &w.workshop, tab, 10).await;
        assert!(rows.is_empty(), "{tab}");
        assert_eq!(
            (counts.eligible, counts.ineligible, counts.complete),
            (0, 0, 0)
        );
    }
    for (id, state) in [
        (declined, State::ConsentDeclined),
        (lapsed, State::ConsentExpired),
    ] {
        assert_eq!(w.service.nomination(&a, &id).await.unwrap().state(), state);
        let history = w.service.history(&a, &id).await.unwrap();
        assert_eq!(history.first().unwrap().to, State::CustomerClaimed);
        assert_eq!(history.last().unwrap().to, state);
    }
    assert_eq!(w.snapshot().nominations.len(), 2);
}

type Everything = (
    Vec<(Vec<CustomerRow>, mci_engagements::PageCounts)>,
    Vec<(mci_core::Nomination, Vec<mci_core::Event>)>,
    mci_engagements::Overview,
);

/// Every tab by two page sizes, each nomination and its history, and the
/// overview, as read now.
async fn read_everything(w: &World, a: &mci_core::PartnerUser, ids: &[NominationId]) -> Everything {
    let mut pages = Vec::new();
    for tab in Tab::ALL {
        for limit in [2, 100] {
            pages.push(w.walk(a, &w.workshop, tab, limit).await);
        }
    }
    let mut nominations = Vec::new();
    for id in ids {
        nominations.push((
            w.service.nomination(a, id).await.unwrap(),
            w.service.history(a, id).await.unwrap(),
        ));
    }
    let overview = w
        .service
        .overview(a, &mci_engagements::OverviewFilter::default())
        .await
        .unwrap();
    (pages, nominations, overview)
}

#[tokio::test]
async fn r_page_7_the_page_read_at_t_equals_the_page_after_the_sweep_at_t() {
    // The answers of the eligibility source stay trusted through the test:
    // what moves the known customers here is the lapses alone.
    let w = World::with_settings(Settings {
        sweep_batch: 2,
        eligibility_trust: TimeDelta::days(3650),
        eligibility_refresh: TimeDelta::days(3650),
        ..Settings::default()
    });
    let a = admin(PARTNER_A);
    let b = admin(PARTNER_B);
    // Lapses into hidden, into Complete (three ways), and rows that stay.
    let mut ids = Vec::new();
    ids.push(w.add_subscription(&a, 1, &w.workshop).await);
    let awaiting = w.add_subscription(&a, 2, &w.workshop).await;
    w.send_consent(&a, &awaiting).await;
    ids.push(awaiting);
    ids.push(w.consented_subscription(&a, 3, &w.workshop).await);
    ids.push(w.submitted_subscription(&a, 4, &w.workshop).await);
    ids.push(w.rejected_subscription(&a, 5, &w.workshop).await);
    for n in 31..=33 {
        w.consented_subscription(&a, n, &w.assessment).await;
    }
    // B's consent to 32 lapses unused: A's known customer 32 becomes
    // claimable again at t.
    let b_32 = w.add_subscription(&b, 32, &w.workshop).await;
    let token = w.send_consent(&b, &b_32).await;
    w.service.accept_consent(&token).await.unwrap();
    let report = w.service.sweep().await.unwrap();
    assert!(report.answers_kept > 0, "{report:?}");
    w.advance_days(60);
    ids.push(w.add_subscription(&a, 6, &w.workshop).await);
    ids.push(w.consented_subscription(&a, 7, &w.workshop).await);

    let t = t0() + days(95);
    w.set(t);
    let lazy = read_everything(&w, &a, &ids).await;
    let report = w.service.sweep().await.unwrap();
    // 1, 2 and 6 (consent), 3, B's 32 and A's assessments 31 to 33 (first
    // submit), 5 (dispute).
    assert_eq!(report.lapsed, 9, "{report:?}");
    let swept = read_everything(&w, &a, &ids).await;
    assert!(lazy == swept, "the page differs once swept");
    // Not vacuous: the rows moved.
    let complete = w.nomination_rows(&a, &w.workshop, Tab::Complete).await;
    let states: BTreeSet<State> = complete.iter().map(|r| r.status.state).collect();
    assert_eq!(
        states,
        BTreeSet::from([State::NotSubmittedExpired, State::RejectedFinal])
    );
    let known: Vec<CustomerId> = w
        .known_rows(&a, &w.workshop, Tab::Eligible)
        .await
        .iter()
        .map(|k| *k.known.customer.id())
        .collect();
    // 3 and 5 ended without completing and B's consent to 32 lapsed: all
    // can be claimed again, as can 31 and 33.
    assert_eq!(
        known,
        vec![
            subscription_id(3),
            subscription_id(5),
            subscription_id(31),
            subscription_id(32),
            subscription_id(33)
        ]
    );
}

#[tokio::test]
async fn r_page_8_the_actions_offered_are_those_the_service_accepts() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let rejected = w.rejected_subscription(&a, 1, &w.workshop).await;
    let row = w.row(&a, &w.workshop, &rejected).await.unwrap();
    assert_eq!(
        row.actions,
        vec![Action::Dispute, Action::ViewWorkshopClaim]
    );
    w.service
        .dispute(&a, &rejected, comment("look again"))
        .await
        .unwrap();
    let row = w.row(&a, &w.workshop, &rejected).await.unwrap();
    assert_eq!(row.status.state, State::Disputed);
    assert!(!row.actions.contains(&Action::Dispute));
    w.refused(w.service.dispute(&a, &rejected, comment("again")))
        .await;
    assert!(!row.actions.contains(&Action::Cancel));
    w.refused(w.service.cancel(&a, &rejected)).await;
    assert!(!row.actions.contains(&Action::SubmitWorkshopClaim));
    w.refused(w.service.submit(&a, &rejected)).await;

    let waiting = w.submitted_subscription(&a, 2, &w.workshop).await;
    w.service
        .start_review(reviewer(), &waiting, w.seen(&waiting).await)
        .await
        .unwrap();
    w.service
        .request_partner_action(
            reviewer(),
            &waiting,
            w.seen(&waiting).await,
            comment("more"),
        )
        .await
        .unwrap();
    let row = w.row(&a, &w.workshop, &waiting).await.unwrap();
    assert_eq!(
        row.actions,
        vec![Action::AnswerReviewer, Action::ViewWorkshopClaim]
    );
    w.service.submit(&a, &waiting).await.unwrap();
}

#[tokio::test]
async fn r_page_9_a_page_asks_no_port_and_the_sweep_asks_in_batches() {
    let w = populated().await;
    let a = admin(PARTNER_A);
    for tab in Tab::ALL {
        let before = w.eligibility_questions();
        let page = w
            .service
            .customers_page(&a, w.workshop.id(), tab, None, 50)
            .await
            .unwrap();
        if tab != Tab::Complete {
            assert!(page.rows.iter().any(|r| matches!(r, CustomerRow::Known(_))));
        }
        assert_eq!(
            w.eligibility_questions(),
            before,
            "{tab:?}: the page asks nothing"
        );
        assert_eq!(
            page.counts.not_checked, 0,
            "the sweep asked about every one"
        );
        assert!(page.answers_since.is_some());
    }
    // A customer known after the sweep shows at once, not checked yet; the
    // next sweep asks about it, in batches, never one by one.
    w.consented_subscription(&a, 15, &w.assessment).await;
    let page = w
        .service
        .customers_page(&a, w.workshop.id(), Tab::Eligible, None, 50)
        .await
        .unwrap();
    assert_eq!(page.counts.not_checked, 1);
    let unchecked: Vec<CustomerId> = page
        .rows
        .iter()
        .filter_map(|r| match r {
            CustomerRow::Known(k) if !k.checked => Some(*k.known.customer.id()),
            _ => None,
        })
        .collect();
    assert_eq!(unchecked, vec![subscription_id(15)]);
    let before = w.eligibility_questions();
    let report = w.service.sweep().await.unwrap();
    let after = w.eligibility_questions();
    assert_eq!(after.0, before.0, "no question about one customer");
    assert!(
        after.1 > before.1,
        "batch questions: {before:?} -> {after:?}"
    );
    assert!(report.answers_kept >= 1, "{report:?}");
    let page = w
        .service
        .customers_page(&a, w.workshop.id(), Tab::Eligible, None, 50)
        .await
        .unwrap();
    assert_eq!(page.counts.not_checked, 0);
    // Answers still fresh are not asked again.
    let before = w.eligibility_questions();
    assert_eq!(w.service.sweep().await.unwrap().answers_kept, 0);
    assert_eq!(w.eligibility_questions(), before);
}
