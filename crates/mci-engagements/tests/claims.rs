//! The Claims page through the service (R-LIST-1): a partner's nominations
//! of every engagement, ordered, filtered by state at the clock's now,
//! counted, searched with a bounded scan that goes on with a cursor; the
//! reviewer's page of every partner's submitted claims.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use chrono::TimeDelta;
use common::*;
use mci_core::{ClaimsOrder, ClaimsSearchInput, NominationId, State};
use mci_engagements::{ClaimsPage, ClaimsPageCursor, ClaimsRequest, ErrorKind, Incentives};

/// Every row of the pages of `request`, walked with its cursor, and how
/// many pages it took.
async fn walk(
    service: &Incentives,
    user: Option<&mci_core::PartnerUser>,
    request: &ClaimsRequest,
) -> (Vec<NominationId>, usize) {
    let mut request = request.clone();
    let (mut ids, mut pages) = (Vec::new(), 0);
    loop {
        let page: ClaimsPage = match user {
            Some(user) => service.claims(user, &request).await.unwrap(),
            None => service.reviewer_claims(&request).await.unwrap(),
        };
        pages += 1;
        assert!(page.rows.len() <= request.limit);
        ids.extend(page.rows.iter().map(|r| r.nomination));
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return (ids, pages),
        }
    }
}

#[tokio::test]
async fn r_list_1_a_partner_lists_its_nominations_of_every_engagement_newest_first() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let first = w.add_subscription(&a, 1, &w.workshop).await;
    w.advance(TimeDelta::hours(1));
    let second = w.add_subscription(&a, 2, &w.assessment).await;
    w.advance(TimeDelta::hours(1));
    let third = w.add_subscription(&a, 3, &w.workshop).await;
    w.advance(TimeDelta::hours(1));
    // The first changes last.
    w.send_consent(&a, &first).await;
    let by = |order| ClaimsRequest {
        order,
        limit: 2,
        ..ClaimsRequest::default()
    };
    let (created, pages) = walk(&w.service, Some(&a), &by(ClaimsOrder::Created)).await;
    assert_eq!(created, vec![third, second, first]);
    assert_eq!(pages, 2);
    let (changed, _) = walk(&w.service, Some(&a), &by(ClaimsOrder::Changed)).await;
    assert_eq!(changed, vec![first, third, second]);
    // One engagement's.
    let workshop = ClaimsRequest {
        engagement: Some(w.workshop.id().clone()),
        ..by(ClaimsOrder::Created)
    };
    assert_eq!(
        walk(&w.service, Some(&a), &workshop).await.0,
        vec![third, first]
    );
    let page = w
        .service
        .claims(&a, &by(ClaimsOrder::Created))
        .await
        .unwrap();
    assert_eq!(page.counts.get(State::CustomerClaimed), 2);
    assert_eq!(page.counts.get(State::AwaitingConsent), 1);
    assert_eq!(page.rows[0].engagement, *w.workshop.id());
    assert_eq!(page.rows[0].days_left, Some(30));
    assert!(
        page.rows[0].head.is_some(),
        "each row carries its head (R-LIST-4)"
    );
}

#[tokio::test]
async fn r_list_1_the_state_filter_and_the_counts_read_lapses_the_sweep_has_not_written() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let waiting = w.add_subscription(&a, 1, &w.workshop).await;
    let consented = w.consented_subscription(&a, 2, &w.workshop).await;
    w.advance_days(31);
    let expired = ClaimsRequest {
        state: Some(State::ConsentExpired),
        order: ClaimsOrder::Changed,
        ..ClaimsRequest::default()
    };
    let before = w.service.claims(&a, &expired).await.unwrap();
    assert_eq!(
        before.rows.iter().map(|r| r.nomination).collect::<Vec<_>>(),
        vec![waiting]
    );
    assert_eq!(before.rows[0].state, State::ConsentExpired);
    assert_eq!(before.counts.get(State::ConsentExpired), 1);
    assert_eq!(before.counts.get(State::Consented), 1);
    let counts = w.service.claim_counts(&a, None).await.unwrap();
    assert_eq!(counts, before.counts);
    w.service.sweep().await.unwrap();
    let after = w.service.claims(&a, &expired).await.unwrap();
    assert_eq!(
        after.rows, before.rows,
        "the sweep changes nothing the page shows"
    );
    assert_eq!(after.counts, before.counts);
    let _ = consented;
}

#[tokio::test]
async fn r_list_1_a_search_looks_at_a_bounded_number_of_rows_and_goes_on_with_its_cursor() {
    let w = World::new();
    let a = admin(PARTNER_A);
    let mut wanted = Vec::new();
    for n in 1..=7 {
        let id = w.add_subscription(&a, n, &w.workshop).await;
        if n % 3 == 0 {
            wanted.push(id);
        }
        w.advance(TimeDelta::minutes(1));
    }
    wanted.reverse();
    let search = |domain: &str| ClaimsRequest {
        search: Some(ClaimsSearchInput {
            email_domain: Some(domain.into()),
            scan: Some(2),
            ..ClaimsSearchInput::default()
        }),
        limit: 10,
        ..ClaimsRequest::default()
    };
    let mut found = Vec::new();
    for domain in ["customer3.example", "customer6.example"] {
        let page = w.service.claims(&a, &search(domain)).await.unwrap();
        assert!(page.scanned <= 2, "one call looks at two rows at most");
        found.extend(walk(&w.service, Some(&a), &search(domain)).await.0);
    }
    let mut expected = wanted.clone();
    expected.sort_by(|x, y| y.cmp(x));
    found.sort_by(|x, y| y.cmp(x));
    assert_eq!(found, expected);
    // By name, without regard to case: every one of the partner's.
    let by_name = ClaimsRequest {
        search: Some(ClaimsSearchInput {
            name_prefix: Some(PARTNER_A.to_uppercase()),
            scan: Some(3),
            ..ClaimsSearchInput::default()
        }),
        ..ClaimsRequest::default()
    };
    let (all, pages) = walk(&w.service, Some(&a), &by_name).await;
    assert_eq!(all.len(), 7);
    assert!(
        pages >= 3,
        "seven rows looked at three at a time: {pages} pages"
    );
}

#[tokio::test]
async fn r_list_1_the_reviewer_sees_every_partners_submitted_claims_and_only_those() {
    let w = World::new();
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    let from_a = w.submitted_subscription(&a, 1, &w.workshop).await;
    w.advance(TimeDelta::hours(1));
    let from_b = w.submitted_subscription(&b, 2, &w.workshop).await;
    w.consented_subscription(&a, 3, &w.workshop).await;
    w.add_subscription(&b, 4, &w.workshop).await;
    let request = ClaimsRequest {
        limit: 1,
        ..ClaimsRequest::default()
    };
    assert_eq!(
        walk(&w.service, None, &request).await.0,
        vec![from_b, from_a]
    );
    let seen = w.seen(&from_a).await;
    w.service
        .start_review(reviewer(), &from_a, seen)
        .await
        .unwrap();
    let counts = w.service.reviewer_claim_counts(None).await.unwrap();
    assert_eq!(counts.get(State::Submitted), 1);
    assert_eq!(counts.get(State::UnderReview), 1);
    assert_eq!(counts.total(), 2);
    let page = w
        .service
        .reviewer_claims(&ClaimsRequest {
            state: Some(State::UnderReview),
            ..ClaimsRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].partner, partner(PARTNER_A));
}

#[tokio::test]
async fn r_list_1_a_partner_never_sees_another_partners_claims_and_needs_its_role() {
    let w = World::new();
    let (a, b) = (admin(PARTNER_A), admin(PARTNER_B));
    let own = w.add_subscription(&a, 1, &w.workshop).await;
    w.add_subscription(&b, 1, &w.workshop).await;
    w.add_subscription(&b, 2, &w.assessment).await;
    let page = w
        .service
        .claims(&a, &ClaimsRequest::default())
        .await
        .unwrap();
    assert_eq!(
        page.rows.iter().map(|r| r.nomination).collect::<Vec<_>>(),
        vec![own]
    );
    assert_eq!(page.counts.total(), 1);
    let refused = w
        .refused(
            w.service
                .claims(&account_admin(PARTNER_A), &ClaimsRequest::default()),
        )
        .await;
    assert_eq!(refused.kind(), ErrorKind::Forbidden);
}

#[tokio::test]
async fn r_list_1_a_bad_search_or_cursor_is_refused_naming_its_field() {
    let w = World::new();
    let a = admin(PARTNER_A);
    w.add_subscription(&a, 1, &w.workshop).await;
    let bad_domain = ClaimsRequest {
        search: Some(ClaimsSearchInput {
            email_domain: Some("not a domain".into()),
            ..ClaimsSearchInput::default()
        }),
        ..ClaimsRequest::default()
    };
    let error = w.refused(w.service.claims(&a, &bad_domain)).await;
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("search.email_domain"), "{error}");
    let empty = ClaimsRequest {
        search: Some(ClaimsSearchInput::default()),
        ..ClaimsRequest::default()
    };
    let error = w.refused(w.service.claims(&a, &empty)).await;
    assert!(error.to_string().contains("search"), "{error}");
    // A cursor of the created order, given for the changed order.
    let page = w
        .service
        .claims(
            &a,
            &ClaimsRequest {
                limit: 1,
                ..ClaimsRequest::default()
            },
        )
        .await
        .unwrap();
    let cursor: ClaimsPageCursor = page.next.unwrap();
    let mixed = ClaimsRequest {
        order: ClaimsOrder::Changed,
        cursor: Some(cursor),
        ..ClaimsRequest::default()
    };
    let error = w.refused(w.service.claims(&a, &mixed)).await;
    assert!(error.to_string().contains("cursor"), "{error}");
    assert!("AAAA".parse::<ClaimsPageCursor>().is_err());
}
