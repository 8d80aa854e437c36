//! The Claims page (R-LIST-1): orders, keyset pages, the state at `now`,
//! counts, the reviewer's scope, partner isolation, search.

use super::fixtures::*;
use crate::{ClaimCounts, ClaimsCursor, ClaimsPage, ClaimsQuery, ClaimsScope, Store};
use chrono::TimeDelta;
use mci_core::*;
use mci_testkit::{admin_of, partner};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The engagements of the Claims page behaviours: a workshop, and an
/// assessment (whose windows are shorter).
fn engagements() -> (Engagement, Engagement) {
    (
        workshop(5),
        mci_testkit::engagement("claims-assessment", EngagementKind::Assessment, 5),
    )
}

/// Nominations of three partners on two engagements in many states, at
/// many instants: waiting for consent (lapsing on day 30), consented on
/// the assessment (its claim lapsing on day 61), submitted (on the
/// reviewer's page; the assessment's review lapsing on day 91), cancelled,
/// and another partner's of the same customers. Returns their ids.
async fn spread(store: &Arc<dyn Store>) -> Vec<NominationId> {
    let (w, a) = engagements();
    let user = admin_of(1);
    let mut ids = Vec::new();
    let hours = |h: i64| start() + TimeDelta::hours(h);
    for c in 1..=4u64 {
        let n = added(store, 1, c, &w, hours(c as i64)).await;
        let n = if c % 2 == 0 {
            consent_sent(store, &n, hours(10 + c as i64), c as u8).await
        } else {
            n
        };
        ids.push(*n.id());
    }
    // Four added at the same instant: the id breaks the tie.
    for c in 30..=33u64 {
        ids.push(*added(store, 1, c, &w, start()).await.id());
    }
    for c in 5..=6u64 {
        let n = added(store, 1, c, &a, hours(c as i64)).await;
        ids.push(
            *consented(store, &n, day(1) + TimeDelta::hours(c as i64), c as u8)
                .await
                .id(),
        );
    }
    for c in 7..=8u64 {
        let n = added(store, 1, c, &w, hours(c as i64)).await;
        ids.push(*submitted(store, &n, day(2), c as u8).await.id());
    }
    let n = added(store, 1, 9, &w, hours(9)).await;
    ids.push(*write(store, n.cancel(day(2), &user).unwrap()).await.id());
    for c in 10..=11u64 {
        let n = added(store, 2, c, &w, hours(c as i64)).await;
        ids.push(*submitted(store, &n, day(3), c as u8).await.id());
    }
    ids.push(*added(store, 2, 12, &w, hours(12)).await.id());
    // Partner 2 nominates partner 1's customers too.
    ids.push(*added(store, 2, 1, &a, hours(13)).await.id());
    for c in 13..=14u64 {
        let n = added(store, 3, c, &a, hours(c as i64)).await;
        ids.push(*submitted(store, &n, day(4), c as u8).await.id());
    }
    ids
}

/// The nominations `ids` as the store holds them now.
async fn current(store: &Arc<dyn Store>, ids: &[NominationId]) -> Vec<Nomination> {
    let mut all = Vec::new();
    for id in ids {
        all.push(store.nomination_by_id(id).await.unwrap().unwrap());
    }
    all
}

/// What `query`'s list holds, from the rows alone: the ids of `all` it
/// admits and its search matches, newest first.
fn expected(all: &[Nomination], query: &ClaimsQuery) -> Vec<NominationId> {
    let mut rows: Vec<(Instant, NominationId)> = all
        .iter()
        .filter(|n| query.admits(n))
        .filter(|n| query.search.as_ref().is_none_or(|s| s.matches(n)))
        .map(|n| (query.cursor_of(n).at, *n.id()))
        .collect();
    rows.sort_by(|a, b| b.cmp(a));
    rows.into_iter().map(|(_, id)| id).collect()
}

/// Every page of `query` from its start, walked with its limit: the ids
/// in order, and the pages.
async fn walk_claims(store: &Arc<dyn Store>, query: &ClaimsQuery) -> (Vec<NominationId>, usize) {
    let mut query = query.clone();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.claims(&query).await.unwrap();
        pages += 1;
        assert!(
            page.rows.len() <= query.limit,
            "a page holds at most its limit"
        );
        assert!(
            page.scanned <= query.walk_limit(),
            "a page looks at no more rows than its bound"
        );
        assert!(page.unreadable.is_empty(), "{:?}", page.unreadable);
        ids.extend(page.rows.iter().map(|n| *n.id()));
        match page.next {
            Some(next) => query.after = Some(next),
            None => return (ids, pages),
        }
        assert!(pages < 10_000, "the walk of {query:?} does not end");
    }
}

/// The queries of every combination of engagement (given or not), state
/// (given or not, each of `states`) and order for `scope` at `now`.
fn combinations(
    scope: &ClaimsScope,
    states: &[Option<State>],
    now: Instant,
    limit: usize,
) -> Vec<ClaimsQuery> {
    let (w, a) = engagements();
    let mut queries = Vec::new();
    for engagement in [None, Some(w.id().clone()), Some(a.id().clone())] {
        for state in states {
            for order in ClaimsOrder::ALL {
                queries.push(ClaimsQuery {
                    engagement: engagement.clone(),
                    state: *state,
                    ..ClaimsQuery::new(scope.clone(), order, now, limit)
                });
            }
        }
    }
    queries
}

/// Every state, and none.
fn every_state() -> Vec<Option<State>> {
    std::iter::once(None)
        .chain(State::ALL.into_iter().map(Some))
        .collect()
}

/// The instants the behaviours read at: before and at each lapse of
/// [`spread`], and long after.
fn instants() -> Vec<Instant> {
    let mut at = Vec::new();
    for d in [0i64, 1, 5, 29, 30, 31, 61, 62, 91, 92, 125, 400] {
        at.push(day(d) + TimeDelta::hours(12));
    }
    // The first consent lapse (added an hour after the start) and the
    // microsecond before it.
    let lapse = start() + TimeDelta::hours(1) + TimeDelta::days(30);
    at.push(lapse - TimeDelta::microseconds(1));
    at.push(lapse);
    at
}

/// Both orders list a partner's nominations of every engagement newest
/// first, by creation or by last change, the greater id first among
/// equals; a lapse the sweep has not written is a change at its deadline
/// (R-LIST-1).
pub async fn r_list_1_orders_by_created_and_changed(store: Arc<dyn Store>) {
    let ids = spread(&store).await;
    let all = current(&store, &ids).await;
    for now in [day(5), day(31), day(400)] {
        for order in ClaimsOrder::ALL {
            let query = ClaimsQuery::new(ClaimsScope::Partner(partner(1)), order, now, 100);
            let page = store.claims(&query).await.unwrap();
            let listed: Vec<NominationId> = page.rows.iter().map(|n| *n.id()).collect();
            assert_eq!(listed, expected(&all, &query), "{order} at {now}");
            assert_eq!(page.next, None, "one page holds them all");
            let keys: Vec<(Instant, NominationId)> = page
                .rows
                .iter()
                .map(|n| (n.claims_placement().sort_key(order, now), *n.id()))
                .collect();
            assert!(keys.windows(2).all(|w| w[0] > w[1]), "newest first");
            if order == ClaimsOrder::Changed {
                for n in &page.rows {
                    assert_eq!(
                        n.claims_placement().sort_key(order, now),
                        n.at(now).updated_at(),
                        "the last change at {now} of {}",
                        n.id()
                    );
                }
            }
        }
    }
    // Both orders differ on this data, so each is tested for itself.
    let created = expected(
        &all,
        &ClaimsQuery::new(
            ClaimsScope::Partner(partner(1)),
            ClaimsOrder::Created,
            day(5),
            100,
        ),
    );
    let changed = expected(
        &all,
        &ClaimsQuery::new(
            ClaimsScope::Partner(partner(1)),
            ClaimsOrder::Changed,
            day(5),
            100,
        ),
    );
    assert_ne!(created, changed);
    assert_eq!(created.len(), 13, "partner 1's thirteen nominations");
}

/// Every combination of engagement, state and order, walked in pages of
/// two at instants before and at each lapse, lists what the state of each
/// row at that instant puts on it, in order: the lapses the sweep has not
/// written count in the state they lead to, and last changed at their
/// deadline. After the sweep has written them the lists hold the same rows,
/// in the same order by creation (R-LIST-1, as R-PAGE-7 says of tabs); by
/// last change, the reminders the sweep queued are changes of their own.
pub async fn r_list_1_state_filter_at_now_includes_unswept_lapses(store: Arc<dyn Store>) {
    let ids = spread(&store).await;
    let scopes = [ClaimsScope::Partner(partner(1)), ClaimsScope::Reviewer];
    let mut seen_lapsed = false;
    for now in instants() {
        let mut before = Vec::new();
        for swept in [false, true] {
            if swept {
                sweep(&store, now).await;
            }
            let all = current(&store, &ids).await;
            seen_lapsed |= all.iter().any(|n| n.claims_placement().lapsed_at(now));
            let mut lists = Vec::new();
            for scope in &scopes {
                for query in combinations(scope, &every_state(), now, 2) {
                    let (walked, _) = walk_claims(&store, &query).await;
                    assert_eq!(walked, expected(&all, &query), "{query:?}, swept: {swept}");
                    let mut list = walked;
                    if query.order == ClaimsOrder::Changed {
                        list.sort();
                    }
                    lists.push(list);
                }
            }
            if swept {
                assert_eq!(before, lists, "the lists at {now} changed with the sweep");
            } else {
                before = lists;
            }
        }
    }
    assert!(
        seen_lapsed,
        "some reads met lapses the sweep had not written"
    );
}

/// The counts of every state, for a partner and for the reviewer, of
/// every engagement and of each, are what walking each state's pages
/// finds, at each lapse and the microsecond before it, before the sweep
/// writes it and after (R-LIST-1, R-PAGE-9).
pub async fn r_list_1_counts_equal_walking_the_pages(store: Arc<dyn Store>) {
    let ids = spread(&store).await;
    let (w, a) = engagements();
    let scopes = [
        ClaimsScope::Partner(partner(1)),
        ClaimsScope::Partner(partner(2)),
        ClaimsScope::Reviewer,
    ];
    for now in instants() {
        for swept in [false, true] {
            if swept {
                sweep(&store, now).await;
            }
            let all = current(&store, &ids).await;
            for scope in &scopes {
                for engagement in [None, Some(w.id()), Some(a.id())] {
                    let counts = store.claim_counts(scope, engagement, now).await.unwrap();
                    let mut walked = ClaimCounts::default();
                    for state in State::ALL {
                        let query = ClaimsQuery {
                            engagement: engagement.cloned(),
                            state: Some(state),
                            ..ClaimsQuery::new(scope.clone(), ClaimsOrder::Created, now, 3)
                        };
                        let (rows, _) = walk_claims(&store, &query).await;
                        assert_eq!(
                            counts.get(state),
                            rows.len() as u64,
                            "{state} of {scope:?}, {engagement:?} at {now}, swept: {swept}"
                        );
                        walked.add(state, rows.len() as u64);
                    }
                    let every = ClaimsQuery {
                        engagement: engagement.cloned(),
                        ..ClaimsQuery::new(scope.clone(), ClaimsOrder::Changed, now, 4)
                    };
                    assert_eq!(
                        counts.total(),
                        expected(&all, &every).len() as u64,
                        "the total of {scope:?}, {engagement:?} at {now}"
                    );
                    assert_eq!(counts, walked);
                }
            }
        }
    }
    // A write after the sweep counts too.
    let n = added(&store, 1, 99, &w, day(300)).await;
    let counts = store
        .claim_counts(&ClaimsScope::Partner(partner(1)), Some(w.id()), day(300))
        .await
        .unwrap();
    assert_eq!(counts.get(State::CustomerClaimed), 1, "{:?}", n.id());
}

/// The reviewer's page lists every partner's submitted claims, and only
/// those, in both orders; its counts add up every partner's (R-LIST-1).
pub async fn r_list_1_reviewer_scope_over_several_partners(store: Arc<dyn Store>) {
    let ids = spread(&store).await;
    let all = current(&store, &ids).await;
    let now = day(5);
    for order in ClaimsOrder::ALL {
        let query = ClaimsQuery::new(ClaimsScope::Reviewer, order, now, 2);
        let (walked, _) = walk_claims(&store, &query).await;
        assert_eq!(walked, expected(&all, &query));
        let partners: BTreeSet<&PartnerId> = walked
            .iter()
            .map(|id| all.iter().find(|n| n.id() == id).unwrap().partner())
            .collect();
        assert_eq!(partners.len(), 3, "claims of three partners");
        assert_eq!(walked.len(), 6, "the six submitted claims");
    }
    let counts = store
        .claim_counts(&ClaimsScope::Reviewer, None, now)
        .await
        .unwrap();
    assert_eq!(counts.get(State::Submitted), 6);
    assert_eq!(counts.total(), 6);
    // A claim moves with its state, and stays on the page once reviewed.
    let reviewer: ReviewerId = "reviewer-1".parse().unwrap();
    let submitted = all.iter().find(|n| n.state() == State::Submitted).unwrap();
    let reviewed = write(
        &store,
        submitted
            .start_review(now, &reviewer, mci_testkit::seen(submitted))
            .unwrap(),
    )
    .await;
    let counts = store
        .claim_counts(&ClaimsScope::Reviewer, None, now)
        .await
        .unwrap();
    assert_eq!(counts.get(State::Submitted), 5);
    assert_eq!(counts.get(State::UnderReview), 1);
    let query = ClaimsQuery {
        state: Some(State::UnderReview),
        ..ClaimsQuery::new(ClaimsScope::Reviewer, ClaimsOrder::Changed, now, 10)
    };
    let page = store.claims(&query).await.unwrap();
    assert_eq!(page.rows, vec![reviewed]);
}

/// A partner's page, its counts and its searches never hold another
/// partner's nominations, whatever the engagement, state, order or
/// cursor, even of the same customers (R-LIST-1, R-ROLE-2).
pub async fn r_list_1_a_partner_never_sees_another_partners_rows(store: Arc<dyn Store>) {
    let ids = spread(&store).await;
    let all = current(&store, &ids).await;
    for p in 1..=4u32 {
        let own: BTreeSet<NominationId> = all
            .iter()
            .filter(|n| n.partner() == &partner(p))
            .map(|n| *n.id())
            .collect();
        let scope = ClaimsScope::Partner(partner(p));
        for query in combinations(&scope, &every_state(), day(5), 3) {
            let (walked, _) = walk_claims(&store, &query).await;
            assert!(
                walked.iter().all(|id| own.contains(id)),
                "partner {p} saw another partner's rows in {query:?}"
            );
        }
        // A cursor of another partner's row leads to no other rows.
        for other in all.iter().filter(|n| n.partner() != &partner(p)) {
            let query = ClaimsQuery {
                after: Some(ClaimsCursor {
                    at: other.created_at() + TimeDelta::microseconds(1),
                    id: *other.id(),
                }),
                ..ClaimsQuery::new(scope.clone(), ClaimsOrder::Created, day(5), 100)
            };
            let page = store.claims(&query).await.unwrap();
            assert!(page.rows.iter().all(|n| n.partner() == &partner(p)));
        }
        let search = ClaimsSearch::new(ClaimsSearchInput {
            customer: Some(customer(1).id().to_string()),
            ..Default::default()
        })
        .unwrap();
        let query = ClaimsQuery {
            search: Some(search),
            ..ClaimsQuery::new(scope.clone(), ClaimsOrder::Created, day(5), 100)
        };
        let (found, _) = walk_claims(&store, &query).await;
        assert!(found.iter().all(|id| own.contains(id)));
        let counts = store.claim_counts(&scope, None, day(5)).await.unwrap();
        assert_eq!(counts.total(), own.len() as u64, "partner {p}'s counts");
    }
}

/// A search looks at no more rows per call than its bound, answers a
/// cursor after the last row looked at, and walking its pages finds
/// exactly what filtering the whole list would, for every criterion, in
/// every order and state (R-LIST-1).
pub async fn r_list_1_search_with_continuation_finds_what_a_full_filter_would(
    store: Arc<dyn Store>,
) {
    let ids = spread(&store).await;
    let all = current(&store, &ids).await;
    let inputs = [
        ClaimsSearchInput {
            name_prefix: Some("customer 1".into()),
            ..Default::default()
        },
        ClaimsSearchInput {
            customer: Some(customer(1).id().to_string()),
            ..Default::default()
        },
        ClaimsSearchInput {
            email_domain: Some("CUSTOMER3.example".into()),
            ..Default::default()
        },
        ClaimsSearchInput {
            location: Some("1234567".into()),
            ..Default::default()
        },
        ClaimsSearchInput {
            created_from: Some(start() + TimeDelta::hours(3)),
            created_before: Some(start() + TimeDelta::hours(8)),
            ..Default::default()
        },
        ClaimsSearchInput {
            location: Some("7654321".into()),
            ..Default::default()
        },
    ];
    let mut found_some = 0;
    for input in inputs {
        for scan in [1usize, 3, 50] {
            let search = ClaimsSearch::new(ClaimsSearchInput {
                scan: Some(scan),
                ..input.clone()
            })
            .unwrap();
            for scope in [ClaimsScope::Partner(partner(1)), ClaimsScope::Reviewer] {
                let states = [None, Some(State::CustomerClaimed), Some(State::Submitted)];
                for mut query in combinations(&scope, &states, day(5), 2) {
                    query.search = Some(search.clone());
                    let want = expected(&all, &query);
                    let (found, pages) = walk_claims(&store, &query).await;
                    assert_eq!(found, want, "{query:?}");
                    found_some += usize::from(!found.is_empty());
                    let listed = {
                        let mut q = query.clone();
                        q.search = None;
                        expected(&all, &q).len()
                    };
                    assert!(
                        pages <= listed / scan + 2 + found.len(),
                        "{pages} pages for a list of {listed} scanned {scan} at a time"
                    );
                }
            }
        }
    }
    assert!(found_some > 0, "some searches found rows");
    // One call with a bound of 3 on partner 1's thirteen rows looks at
    // three and stops after the third.
    let query = ClaimsQuery {
        search: Some(
            ClaimsSearch::new(ClaimsSearchInput {
                location: Some("7654321".into()),
                scan: Some(3),
                ..Default::default()
            })
            .unwrap(),
        ),
        ..ClaimsQuery::new(
            ClaimsScope::Partner(partner(1)),
            ClaimsOrder::Created,
            day(5),
            10,
        )
    };
    let page = store.claims(&query).await.unwrap();
    assert!(page.rows.is_empty());
    assert_eq!(page.scanned, 3);
    let third = expected(
        &all,
        &ClaimsQuery {
            search: None,
            ..query.clone()
        },
    )[2];
    assert_eq!(page.next.map(|c| c.id), Some(third));
}

/// A keyset walk of the Claims page, in pages of three, sees every row
/// present when it started exactly once while other rows are added and
/// some are changed: in the created order every row; in the changed order
/// every row not changed meanwhile, and none twice (a changed row moves
/// to the top, above the cursor) (R-LIST-1).
pub async fn r_list_1_keyset_pages_without_gaps_or_repeats_under_writes(store: Arc<dyn Store>) {
    let (w, _) = engagements();
    let mut present = Vec::new();
    for c in 1..=60u64 {
        let at = start() + TimeDelta::minutes((c % 17) as i64);
        present.push(added(&store, 1, c, &w, at).await);
    }
    for order in ClaimsOrder::ALL {
        let base = if order == ClaimsOrder::Created {
            1000
        } else {
            2000
        };
        let changing: Vec<Nomination> = present
            .iter()
            .filter(|n| n.customer().id() != &CustomerId::Tpid(Tpid::new(1).unwrap()))
            .step_by(7)
            .cloned()
            .collect();
        let writer = {
            let store = store.clone();
            let w = w.clone();
            let changing = changing.clone();
            tokio::spawn(async move {
                for (i, c) in (base..base + 40u64).enumerate() {
                    let at = start() + TimeDelta::minutes((c % 23) as i64);
                    added(&store, 1, c, &w, at).await;
                    if let Some(n) = changing.get(i) {
                        // Changed an hour in, still before the walk's now.
                        let sent = n
                            .send_consent(
                                start() + TimeDelta::hours(1) + TimeDelta::minutes(i as i64),
                                &admin_of(1),
                                SendConsent::default(),
                                &mci_testkit::link(i as u8 + if base == 1000 { 0 } else { 100 }),
                            )
                            .unwrap();
                        write(&store, sent).await;
                    }
                    tokio::task::yield_now().await;
                }
            })
        };
        let query = ClaimsQuery::new(ClaimsScope::Partner(partner(1)), order, day(1), 3);
        let (seen, _) = walk_claims(&store, &query).await;
        writer.await.expect("the writer finished");
        let unique: BTreeSet<NominationId> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "no row is seen twice ({order})");
        let changed: BTreeSet<NominationId> = changing.iter().map(|n| *n.id()).collect();
        for n in &present {
            if order == ClaimsOrder::Changed && changed.contains(n.id()) {
                continue;
            }
            assert!(
                unique.contains(n.id()),
                "row {} present at the start was missed ({order})",
                n.id()
            );
        }
        // The walk's pages are in order.
        let all = current(&store, &seen).await;
        let keys: Vec<(Instant, NominationId)> = all
            .iter()
            .map(|n| (n.claims_placement().sort_key(order, day(1)), *n.id()))
            .collect();
        if order == ClaimsOrder::Created {
            assert!(keys.windows(2).all(|w| w[0] > w[1]), "newest first");
        }
        // The rows changed by the first walk are stored changed: present
        // is refreshed for the second.
        present = current(&store, &present.iter().map(|n| *n.id()).collect::<Vec<_>>()).await;
    }
}

/// Rows the store cannot read back are looked at, named in
/// [`ClaimsPage::unreadable`] and passed over, never a wall the cursor
/// cannot pass, on the Claims page and in its searches; their reasons hold
/// none of their content (R-LIST-1, R-TOKEN-5). `corrupt` makes the stored
/// row of a nomination unreadable; run this on an adapter that can hold
/// such rows (a store in memory cannot).
pub async fn r_list_1_unreadable_rows_are_listed_and_passed_over(
    store: Arc<dyn Store>,
    corrupt: &(dyn Fn(&NominationId) + Sync),
) {
    let (w, _) = engagements();
    let mut rows_added = Vec::new();
    for c in 0..6u64 {
        rows_added.push(added(&store, 1, c + 1, &w, day(c as i64)).await);
    }
    // The three newest are corrupted: the first a walk meets.
    let ids: Vec<NominationId> = rows_added.iter().rev().map(|n| *n.id()).collect();
    let (bad, good) = ids.split_at(3);
    for id in bad {
        corrupt(id);
    }
    let search = ClaimsSearch::new(ClaimsSearchInput {
        name_prefix: Some("Customer".into()),
        scan: Some(2),
        ..Default::default()
    })
    .unwrap();
    for search in [None, Some(search)] {
        for order in ClaimsOrder::ALL {
            let mut query = ClaimsQuery {
                search: search.clone(),
                ..ClaimsQuery::new(ClaimsScope::Partner(partner(1)), order, day(10), 2)
            };
            let (mut rows, mut unreadable) = (Vec::new(), Vec::new());
            loop {
                let page: ClaimsPage = store.claims(&query).await.unwrap();
                assert!(page.scanned <= query.walk_limit());
                rows.extend(page.rows.iter().map(|n| *n.id()));
                for u in &page.unreadable {
                    let n = rows_added.iter().find(|n| n.id() == &u.id).unwrap();
                    assert!(!u.reason.is_empty());
                    assert!(
                        !u.reason.contains(n.friendly_name().as_str()),
                        "the reason quotes the friendly name: {}",
                        u.reason
                    );
                }
                unreadable.extend(page.unreadable.iter().map(|u| u.id));
                match page.next {
                    Some(next) => query.after = Some(next),
                    None => break,
                }
            }
            assert_eq!(rows, good, "the readable rows, each once ({order})");
            assert_eq!(unreadable, bad, "the unreadable rows, named ({order})");
        }
    }
}
