//! Tab pages and counts (R-PAGE-1, R-PAGE-7).

use super::fixtures::*;
use crate::{Store, TabCounts};
use chrono::TimeDelta;
use mci_core::*;
use mci_testkit::{admin_of, partner};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A keyset walk of a tab sees every row present when it started exactly
/// once, in id order, while other rows are inserted concurrently.
pub async fn keyset_walk_sees_every_row_once_while_inserting(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let mut present = BTreeSet::new();
    for c in 1..=120u64 {
        present.insert(*added(&store, 1, c, &engagement, start()).await.id());
    }
    let writer = {
        let store = store.clone();
        let engagement = engagement.clone();
        tokio::spawn(async move {
            for c in 1000..1080u64 {
                added(&store, 1, c, &engagement, start()).await;
                tokio::task::yield_now().await;
            }
        })
    };
    let seen = walk(&store, 1, &engagement, Tab::Eligible, day(1), 7).await;
    writer.await.expect("the writer finished");
    let unique: BTreeSet<NominationId> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no row is seen twice");
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "rows come in id order"
    );
    for id in &present {
        assert!(
            unique.contains(id),
            "row {id} present at the start was missed"
        );
    }
}

/// A partner's nominations in every kind of tab history: waiting, consented,
/// cancelled before and after consent, lost to another partner. Returns
/// them as stored.
async fn mixed(store: &Arc<dyn Store>, engagement: &Engagement) -> Vec<Nomination> {
    let user = admin_of(1);
    let mut all = Vec::new();
    for c in 1..=5u64 {
        all.push(
            added(
                store,
                1,
                c,
                engagement,
                start() + TimeDelta::hours(c as i64),
            )
            .await,
        );
    }
    for c in 6..=9u64 {
        let n = added(store, 1, c, engagement, start()).await;
        all.push(consented(store, &n, day(c as i64 - 5), c as u8).await);
    }
    for c in 10..=11u64 {
        let n = added(store, 1, c, engagement, start()).await;
        all.push(write(store, n.cancel(day(2), &user).unwrap()).await);
    }
    for c in 12..=13u64 {
        let n = added(store, 1, c, engagement, start()).await;
        let n = consented(store, &n, day(1), c as u8).await;
        all.push(write(store, n.cancel(day(2), &user).unwrap()).await);
    }
    // Lost to another partner's accepted consent, awaiting consent or
    // customer claimed (R-CONSENT-10).
    for c in 14..=15u64 {
        let mut n = added(store, 1, c, engagement, start()).await;
        if c == 14 {
            n = consent_sent(store, &n, start(), c as u8).await;
        }
        let rival = added(store, 2, c, engagement, start()).await;
        consented(store, &rival, day(3), 100 + c as u8).await;
        let lost = store.nomination_by_id(n.id()).await.unwrap().unwrap();
        assert!(lost.lost_at().is_some());
        all.push(lost);
    }
    // Another partner's and another engagement's rows must not show.
    added(store, 2, 1, engagement, start()).await;
    let other = mci_testkit::engagement("elsewhere", EngagementKind::Assessment, 5);
    added(store, 1, 1, &other, start()).await;
    all
}

fn expected(all: &[Nomination], tab: Tab, now: Instant) -> Vec<NominationId> {
    let mut ids: Vec<NominationId> = all
        .iter()
        .filter(|n| n.placement().tab_at(now) == Some(tab))
        .map(|n| *n.id())
        .collect();
    ids.sort();
    ids
}

const INSTANTS: [i64; 8] = [0, 1, 29, 30, 31, 90, 96, 400];

/// Counts agree with walks, and walks with the tab each nomination's
/// placement gives at that instant, before any sweep (R-PAGE-1, R-PAGE-7).
pub async fn counts_agree_with_walks(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let all = mixed(&store, &engagement).await;
    for d in INSTANTS {
        let now = day(d) + TimeDelta::hours(12);
        let counts = store
            .count(&partner(1), engagement.id(), now)
            .await
            .unwrap();
        for tab in Tab::ALL {
            let walked = walk(&store, 1, &engagement, tab, now, 3).await;
            assert_eq!(walked, expected(&all, tab, now), "{tab} at day {d}");
            assert_eq!(
                walked.len() as u64,
                counts.get(tab),
                "count of {tab} at day {d}"
            );
        }
    }
    // The losers show on Ineligible until their consent deadline.
    assert_eq!(expected(&all, Tab::Ineligible, day(29)).len(), 2);
    assert!(expected(&all, Tab::Ineligible, day(30)).is_empty());
}

/// Asserts that partner 1's counts of every tab at `now` are what a walk
/// of the tab finds, and that the walk finds what the placements of `all`
/// put in the tab at `now`.
async fn counts_are_walks(
    store: &Arc<dyn Store>,
    engagement: &Engagement,
    all: &[Nomination],
    now: Instant,
    when: &str,
) -> TabCounts {
    let counts = store
        .count(&partner(1), engagement.id(), now)
        .await
        .unwrap();
    for tab in Tab::ALL {
        let walked = walk(store, 1, engagement, tab, now, 2).await;
        assert_eq!(walked, expected(all, tab, now), "{tab} at {now}, {when}");
        assert_eq!(
            counts.get(tab),
            walked.len() as u64,
            "count of {tab} at {now}, {when}"
        );
    }
    counts
}

const MICRO: TimeDelta = TimeDelta::microseconds(1);

/// The counts of every tab at a lapse and at the microsecond before it are
/// what walks of the tabs find: while the sweep has not written the lapse
/// (the counts the store keeps are then corrected at read time), after it
/// has, and after `reopen` gives the store back (an adapter with a file
/// opens it again; one without gives the same store). A write after the
/// reopen counts too (R-PAGE-9, R-PAGE-7).
pub async fn counts_at_a_lapse_before_and_after_its_sweep(
    store: Arc<dyn Store>,
    reopen: &(dyn Fn(Arc<dyn Store>) -> Arc<dyn Store> + Sync),
) {
    let engagement = workshop(5);
    let user = admin_of(1);
    let mut all = Vec::new();
    // Awaiting consent, leaving the page at day 30; one an hour later.
    for c in 1..=3u64 {
        all.push(added(&store, 1, c, &engagement, start()).await);
    }
    let later = start() + TimeDelta::hours(1);
    all.push(added(&store, 1, 4, &engagement, later).await);
    // Consented on day 1, moving to Complete when the claim window closes.
    for c in 5..=6u64 {
        let n = added(&store, 1, c, &engagement, start()).await;
        all.push(consented(&store, &n, day(1), c as u8).await);
    }
    // Cancelled after consent (Complete for good) and before it (hidden).
    let n = added(&store, 1, 7, &engagement, start()).await;
    let n = consented(&store, &n, day(1), 7).await;
    all.push(write(&store, n.cancel(day(2), &user).unwrap()).await);
    let n = added(&store, 1, 8, &engagement, start()).await;
    all.push(write(&store, n.cancel(day(2), &user).unwrap()).await);
    // Another partner's and another engagement's lapse at the same instants.
    added(&store, 2, 1, &engagement, start()).await;
    let other = mci_testkit::engagement("elsewhere", EngagementKind::Assessment, 5);
    added(&store, 1, 1, &other, start()).await;

    let consent_lapse = all[0].placement().lapse_at.unwrap();
    let later_lapse = all[3].placement().lapse_at.unwrap();
    let claim_lapse = all[4].placement().lapse_at.unwrap();
    assert_eq!(all[4].placement().tab_after_lapse, Some(Tab::Complete));
    let lapses = [consent_lapse, later_lapse, claim_lapse];
    let before =
        counts_are_walks(&store, &engagement, &all, consent_lapse - MICRO, "unswept").await;
    let at = counts_are_walks(&store, &engagement, &all, consent_lapse, "unswept").await;
    assert_eq!(Tab::ALL.map(|t| before.get(t)), [6, 0, 1]);
    assert_eq!(
        Tab::ALL.map(|t| at.get(t)),
        [3, 0, 1],
        "three lapsed at once"
    );
    let claims_lapsed = counts_are_walks(&store, &engagement, &all, claim_lapse, "unswept").await;
    assert_eq!(Tab::ALL.map(|t| claims_lapsed.get(t)), [0, 0, 3]);

    let mut store = store;
    for (i, swept_to) in lapses.into_iter().enumerate() {
        sweep(&store, swept_to).await;
        for n in &mut all {
            while let Some(outcome) = n.wake(swept_to).unwrap() {
                *n = outcome.nomination;
            }
        }
        for reopened in [false, true] {
            if reopened {
                store = reopen(store);
            }
            let when = format!("swept to {swept_to}, reopened: {reopened}");
            for lapse in &lapses[i..] {
                for now in [*lapse - MICRO, *lapse] {
                    counts_are_walks(&store, &engagement, &all, now, &when).await;
                }
            }
        }
    }
    let n = added(&store, 1, 9, &engagement, claim_lapse).await;
    all.push(n);
    let written = counts_are_walks(&store, &engagement, &all, claim_lapse, "written after").await;
    assert_eq!(Tab::ALL.map(|t| written.get(t)), [1, 0, 3]);
}

/// A page read at `t` is the same whether or not the sweep has run up to
/// `t` (R-PAGE-7).
pub async fn page_before_and_after_sweep_agree(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    mixed(&store, &engagement).await;
    for d in INSTANTS {
        let now = day(d) + TimeDelta::hours(12);
        let mut before = Vec::new();
        for tab in Tab::ALL {
            before.push(rows(&store, &engagement, tab, now).await);
        }
        sweep(&store, now).await;
        let mut after = Vec::new();
        for tab in Tab::ALL {
            after.push(rows(&store, &engagement, tab, now).await);
        }
        assert_eq!(before, after, "the page at day {d} changed with the sweep");
        assert!(
            store.due(now, None, 1).await.unwrap().rows.is_empty(),
            "the sweep left nothing due"
        );
    }
}

async fn rows(
    store: &Arc<dyn Store>,
    engagement: &Engagement,
    tab: Tab,
    now: Instant,
) -> Vec<PageRow> {
    let page = store
        .page(&crate::PageQuery {
            partner: partner(1),
            engagement: engagement.id().clone(),
            tab,
            now,
            after: None,
            limit: 100,
        })
        .await
        .unwrap();
    page.rows
        .iter()
        .map(|n| n.page_row(now).expect("a row of a tab is on the page"))
        .collect()
}
