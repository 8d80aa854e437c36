//! Tab pages and counts (R-PAGE-1, R-PAGE-7).

use super::fixtures::*;
use crate::Store;
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
        for (tab, count) in [
            (Tab::Eligible, counts.eligible),
            (Tab::Ineligible, counts.ineligible),
            (Tab::Complete, counts.complete),
        ] {
            let walked = walk(&store, 1, &engagement, tab, now, 3).await;
            assert_eq!(walked, expected(&all, tab, now), "{tab} at day {d}");
            assert_eq!(walked.len() as u64, count, "count of {tab} at day {d}");
        }
    }
    // The losers show on Ineligible until their consent deadline.
    assert_eq!(expected(&all, Tab::Ineligible, day(29)).len(), 2);
    assert!(expected(&all, Tab::Ineligible, day(30)).is_empty());
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
