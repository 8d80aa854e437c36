//! Known rows: the known customers of a partner on each engagement's page,
//! kept with their answers and placements so that pages and counts never
//! walk them (R-PAGE-2, -4, -9; `mci_store` "Known customers").

use super::fixtures::*;
use crate::{AnswerWrite, Commit, KnownCounts, KnownQuery, Store};
use chrono::TimeDelta;
use mci_core::*;
use mci_testkit::{engagement, partner};
use std::sync::Arc;

/// Every known customer of partner `p` on `tab` of `engagement` at `now`,
/// walked with pages of `limit`, with whether each is checked.
async fn walk_known(
    store: &Arc<dyn Store>,
    p: u32,
    engagement: &Engagement,
    tab: Tab,
    now: Instant,
    limit: usize,
) -> Vec<(CustomerId, bool, Vec<Ineligibility>)> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .known_page(&KnownQuery {
                partner: partner(p),
                engagement: engagement.id().clone(),
                tab,
                now,
                after,
                limit,
            })
            .await
            .unwrap();
        assert!(page.rows.len() <= limit, "a page holds at most its limit");
        for row in &page.rows {
            assert_eq!(row.placement.tab, Some(tab), "a row shows on the tab asked");
            rows.push((
                *row.known.customer.id(),
                row.placement.checked,
                row.placement.reasons.clone(),
            ));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let ids: Vec<&CustomerId> = rows.iter().map(|(c, _, _)| c).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "customer order, once each"
    );
    rows
}

/// Counts of partner `p` on `engagement` at `now`, checked against a walk of
/// both tabs with pages of 1 and of 50 (R-PAGE-1, R-PAGE-9).
pub(crate) async fn known_counts_walked(
    store: &Arc<dyn Store>,
    p: u32,
    engagement: &Engagement,
    now: Instant,
) -> KnownCounts {
    let counts = store
        .known_counts(&partner(p), engagement.id(), now)
        .await
        .unwrap();
    for limit in [1, 50] {
        let eligible = walk_known(store, p, engagement, Tab::Eligible, now, limit).await;
        let ineligible = walk_known(store, p, engagement, Tab::Ineligible, now, limit).await;
        assert_eq!(counts.eligible, eligible.len() as u64, "eligible at {now}");
        assert_eq!(
            counts.not_checked,
            eligible.iter().filter(|(_, checked, _)| !*checked).count() as u64,
            "not checked at {now}"
        );
        assert_eq!(
            counts.ineligible,
            ineligible.len() as u64,
            "ineligible at {now}"
        );
    }
    counts
}

/// Partner `p`'s customer `c` consented for `engagement` at `now`.
async fn known_through(
    store: &Arc<dyn Store>,
    p: u32,
    c: u64,
    engagement: &Engagement,
    now: Instant,
) -> Nomination {
    let n = added(store, p, c, engagement, now).await;
    consented(store, &n, now, (c % 200) as u8 + 1).await
}

/// Seeds `engagement` to the end in batches of `limit`.
async fn seed(store: &Arc<dyn Store>, engagement: &Engagement, now: Instant, limit: usize) {
    for _ in 0..1000 {
        if store.seed_known(engagement.id(), now, limit).await.unwrap() {
            return;
        }
    }
    panic!("seeding never ends");
}

/// An answer about customer `c` kept for partner `p` at `now`, trusted for
/// `days` days, with `reasons`.
fn answer(
    p: u32,
    c: u64,
    engagement: &Engagement,
    now: Instant,
    days: i64,
    reasons: Vec<Ineligibility>,
) -> AnswerWrite {
    AnswerWrite {
        partner: partner(p),
        engagement: engagement.id().clone(),
        customer: *customer(c).id(),
        answer: KeptAnswer {
            reasons,
            limit: engagement.rules().active_nomination_limit(),
            checked_at: now,
            trusted_until: now + TimeDelta::days(days),
        },
    }
}

async fn keep(store: &Arc<dyn Store>, now: Instant, answers: Vec<AnswerWrite>) {
    let mut commit = Commit::at(now);
    commit.answers = answers;
    store.commit(commit).await.unwrap();
}

/// A known customer gets a row on every engagement seeded, whether it
/// became known before the seeding (the walk gives it one) or after (its
/// consent does); without an answer it shows on Eligible, not checked;
/// an answer kept for it places it, until it ages out (R-PAGE-9).
pub async fn known_rows_follow_seeds_consents_and_answers(store: Arc<dyn Store>) {
    let first = workshop(2);
    let second = engagement("second-workshop", EngagementKind::Workshop, 2);
    for c in 1..=3 {
        known_through(&store, 1, c, &first, start()).await;
    }
    // Another partner's known customer is not partner 1's.
    known_through(&store, 2, 9, &first, start()).await;
    assert_eq!(
        known_counts_walked(&store, 1, &second, day(1)).await,
        KnownCounts::default(),
        "an engagement not seeded has no rows"
    );
    seed(&store, &second, day(1), 2).await;
    assert!(store.seed_known(second.id(), day(1), 2).await.unwrap());
    let counts = known_counts_walked(&store, 1, &second, day(1)).await;
    assert_eq!((counts.eligible, counts.not_checked), (3, 3));
    assert_eq!(counts.oldest_answer, None);
    // On the engagement they consented for, the partner's own live
    // nominations show instead, once it is seeded too.
    seed(&store, &first, day(1), 100).await;
    assert_eq!(
        known_counts_walked(&store, 1, &first, day(1)).await,
        KnownCounts::default()
    );

    // A customer known after the seeding has its row from its consent on.
    known_through(&store, 1, 4, &first, day(2)).await;
    let counts = known_counts_walked(&store, 1, &second, day(2)).await;
    assert_eq!((counts.eligible, counts.not_checked), (4, 4));

    // Answers place the rows: one ineligible, one eligible.
    let refused = Ineligibility::CustomerIneligible {
        reason: "no consumption".into(),
    };
    keep(
        &store,
        day(3),
        vec![
            answer(1, 1, &second, day(3), 10, vec![refused.clone()]),
            answer(1, 2, &second, day(3), 5, vec![]),
            // Not known to partner 1: not kept.
            answer(1, 9, &second, day(3), 10, vec![]),
        ],
    )
    .await;
    let counts = known_counts_walked(&store, 1, &second, day(3)).await;
    assert_eq!(
        (counts.eligible, counts.not_checked, counts.ineligible),
        (3, 2, 1)
    );
    assert_eq!(counts.oldest_answer, Some(day(3)));
    let ineligible = walk_known(&store, 1, &second, Tab::Ineligible, day(3), 10).await;
    assert_eq!(
        ineligible,
        vec![(*customer(1).id(), true, vec![refused.clone()])]
    );

    // Each answer is trusted for its age only: at its end the row is
    // unchecked again, before and after anything is written.
    let counts = known_counts_walked(&store, 1, &second, day(8)).await;
    assert_eq!(
        (counts.eligible, counts.not_checked, counts.ineligible),
        (3, 3, 1),
        "the eligible answer aged out at day 8"
    );
    let just_before = day(13) - TimeDelta::microseconds(1);
    assert_eq!(
        known_counts_walked(&store, 1, &second, just_before)
            .await
            .ineligible,
        1
    );
    let counts = known_counts_walked(&store, 1, &second, day(13)).await;
    assert_eq!(
        (counts.eligible, counts.not_checked, counts.ineligible),
        (4, 4, 0)
    );
    assert_eq!(counts.oldest_answer, None);
}

/// The other nominations of the engagement and customer place a known row
/// from the moment they are written to the moment they lapse, swept or not:
/// the partner's own live nomination hides it, a rival at the limit makes
/// it ineligible (R-PAGE-2, -4, R-ENG-5, R-PAGE-7).
pub async fn known_rows_follow_the_nominations_of_their_customer(store: Arc<dyn Store>) {
    let earlier = workshop(2);
    let limited = engagement("limited-workshop", EngagementKind::Workshop, 1);
    seed(&store, &limited, start(), 10).await;
    for c in 1..=2 {
        known_through(&store, 1, c, &earlier, start()).await;
    }
    keep(
        &store,
        day(1),
        vec![
            answer(1, 1, &limited, day(1), 400, vec![]),
            answer(1, 2, &limited, day(1), 400, vec![]),
        ],
    )
    .await;
    let counts = known_counts_walked(&store, 1, &limited, day(1)).await;
    assert_eq!((counts.eligible, counts.not_checked), (2, 0));

    // Partner 1 nominates customer 1: its row gives way to the nomination.
    let mine = added(&store, 1, 1, &limited, day(2)).await;
    // Partner 2 nominates customer 2: the limit of one is reached.
    let rival = added(&store, 2, 2, &limited, day(2)).await;
    let counts = known_counts_walked(&store, 1, &limited, day(2)).await;
    assert_eq!((counts.eligible, counts.ineligible), (0, 1));
    assert_eq!(
        walk_known(&store, 1, &limited, Tab::Ineligible, day(2), 5).await,
        vec![(
            *customer(2).id(),
            true,
            vec![Ineligibility::ActiveLimitReached { limit: 1 }]
        )]
    );

    // Both nominations lapse at their consent deadline: the rows are back
    // at that instant, before the sweep writes the lapses and after.
    let lapse = mine.deadline().unwrap().at;
    assert_eq!(rival.deadline().unwrap().at, lapse);
    let before = lapse - TimeDelta::microseconds(1);
    let counts = known_counts_walked(&store, 1, &limited, before).await;
    assert_eq!((counts.eligible, counts.ineligible), (0, 1));
    let counts = known_counts_walked(&store, 1, &limited, lapse).await;
    assert_eq!(
        (counts.eligible, counts.not_checked, counts.ineligible),
        (2, 0, 0)
    );
    sweep(&store, lapse).await;
    let counts = known_counts_walked(&store, 1, &limited, lapse).await;
    assert_eq!(
        (counts.eligible, counts.not_checked, counts.ineligible),
        (2, 0, 0)
    );
}

/// What the sweep asks again: rows never asked first, then the oldest
/// answers, and a row leaves the list once its answer is kept again
/// (R-PAGE-9).
pub async fn known_rows_to_check_never_asked_then_oldest(store: Arc<dyn Store>) {
    let engagement = workshop(2);
    seed(&store, &engagement, start(), 10).await;
    let other = mci_testkit::engagement("other-workshop", EngagementKind::Workshop, 2);
    for c in 1..=3 {
        known_through(&store, 1, c, &other, start()).await;
    }
    keep(
        &store,
        day(2),
        vec![answer(1, 2, &engagement, day(2), 10, vec![])],
    )
    .await;
    keep(
        &store,
        day(1),
        vec![answer(1, 3, &engagement, day(1), 10, vec![])],
    )
    .await;
    let due = store.known_to_check(day(3), 10).await.unwrap();
    let order: Vec<(CustomerId, Option<Instant>)> = due
        .iter()
        .map(|k| (*k.known.customer.id(), k.checked_at))
        .collect();
    assert_eq!(
        order,
        vec![
            (*customer(1).id(), None),
            (*customer(3).id(), Some(day(1))),
            (*customer(2).id(), Some(day(2))),
        ]
    );
    assert!(due.iter().all(|k| k.engagement == *engagement.id()));
    assert!(due.iter().all(|k| k.partner == partner(1)));
    assert_eq!(store.known_to_check(day(2), 10).await.unwrap().len(), 2);
    assert_eq!(store.known_to_check(day(3), 1).await.unwrap().len(), 1);
    keep(
        &store,
        day(3),
        vec![answer(1, 1, &engagement, day(3), 10, vec![])],
    )
    .await;
    let left: Vec<CustomerId> = store
        .known_to_check(day(3), 10)
        .await
        .unwrap()
        .iter()
        .map(|k| *k.known.customer.id())
        .collect();
    assert_eq!(left, vec![*customer(3).id(), *customer(2).id()]);
}
