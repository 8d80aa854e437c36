//! Instants at the edges of the accepted range (R-INPUT, R-TIME-2): tabs,
//! guards, due lists and leases answer exactly, to the microsecond, at
//! 1970-01-01, at the last microsecond of 2200, and at deadlines and leases
//! derived from them that fall after 2200 (and after 2262, where an `i64` of
//! nanoseconds ends).

use super::fixtures::*;
use crate::{Commit, PageQuery, StateQuery, Store};
use chrono::TimeDelta;
use mci_core::*;
use mci_testkit::{eur, partner, token};
use std::sync::Arc;

const MICRO: TimeDelta = TimeDelta::microseconds(1);

/// An engagement open over the whole accepted range, allowing `limit` live
/// nominations per customer, with the workshop row or, when `longest`, the
/// longest windows the rules accept (ten years each).
fn open_everywhere(id: &str, limit: u32, longest: bool) -> Engagement {
    let mut rules = EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(1)))
        .active_nomination_limit(limit);
    if longest {
        let ten_years = Days::new(3650);
        rules = rules
            .timelines(Timelines {
                obtain_consent: ten_years,
                first_submit: ten_years,
                review_complete: ten_years,
                dispute: ten_years,
            })
            .reminders([ten_years]);
    }
    Engagement::new(
        id.parse().unwrap(),
        "Open workshop".parse().unwrap(),
        "Data & AI".parse().unwrap(),
        AvailabilityWindow::new(EARLIEST_INSTANT, LATEST_INSTANT).unwrap(),
        rules.build().unwrap(),
    )
}

/// The ids of partner `p`'s nominations in `tab` at `now`, walked in pages.
async fn tab(
    store: &Arc<dyn Store>,
    p: u32,
    engagement: &Engagement,
    tab: Tab,
    now: Instant,
) -> Vec<NominationId> {
    walk(store, p, engagement, tab, now, 2).await
}

/// The ids of the nominations due at `now`.
async fn due_ids(store: &Arc<dyn Store>, now: Instant) -> Vec<NominationId> {
    store
        .due(now, None, 100)
        .await
        .unwrap()
        .rows
        .iter()
        .map(|n| *n.id())
        .collect()
}

/// Asserts that every read of `n` at the microsecond before `at`, and at
/// `at`, answers as the core does: tab, count, the stored state not lapsed,
/// the deadlines lapsing, and the due list.
async fn reads_agree_around(
    store: &Arc<dyn Store>,
    engagement: &Engagement,
    n: &Nomination,
    at: Instant,
) {
    let p = partner_number(n);
    for now in [at - MICRO, at] {
        let expected_tab = n.placement().tab_at(now);
        for t in Tab::ALL {
            let ids = tab(store, p, engagement, t, now).await;
            assert_eq!(
                ids.contains(n.id()),
                expected_tab == Some(t),
                "{} in {t:?} at {now}",
                n.id()
            );
        }
        let counts = store
            .count(&partner(p), engagement.id(), now)
            .await
            .unwrap();
        assert_eq!(
            Tab::ALL.map(|t| counts.get(t)),
            Tab::ALL.map(|t| u64::from(expected_tab == Some(t))),
            "counts at {now}"
        );
        let lapse = n.placement().lapse_at;
        let lapsing = store
            .lapsing(&partner(p), now - TimeDelta::days(1), now, 10)
            .await
            .unwrap();
        assert_eq!(
            lapsing.iter().any(|m| m.id() == n.id()),
            lapse.is_some_and(|l| now - TimeDelta::days(1) < l && l <= now),
            "lapsing in the day before {now}"
        );
        let stored = store
            .by_state(&StateQuery {
                states: vec![n.state()],
                partner: Some(partner(p)),
                now,
                after: None,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(
            stored.rows.iter().any(|m| m.id() == n.id()),
            lapse.is_none_or(|l| now < l),
            "{:?} and not lapsed at {now}",
            n.state()
        );
        assert_eq!(
            due_ids(store, now).await.contains(n.id()),
            n.wake_at().is_some_and(|w| w <= now),
            "due at {now}"
        );
    }
}

/// Nominations created at 1970-01-01, the first accepted instant, and a
/// microsecond before the last one, with the longest windows, so that their
/// deadlines fall in 2210: every tab, count, state, lapsing and due read at
/// each deadline and reminder, and the microsecond before it, answers as
/// the core does (R-INPUT, R-TIME-2, R-TIME-4).
pub async fn reads_at_the_edges_of_the_instant_range(store: Arc<dyn Store>) {
    let workshop = open_everywhere("edge-workshop", 1, false);
    let longest = open_everywhere("edge-longest", 1, true);
    let first = added(&store, 1, 1, &workshop, EARLIEST_INSTANT).await;
    let first = consent_sent(&store, &first, EARLIEST_INSTANT, 1).await;
    assert_eq!(first.created_at(), EARLIEST_INSTANT);
    let last = LATEST_INSTANT - MICRO;
    // One nomination per partner, so that each partner's counts are its own.
    let late = added(&store, 2, 2, &longest, last).await;
    let late_consented = added(&store, 3, 3, &longest, last).await;
    let late_consented = consented(&store, &late_consented, LATEST_INSTANT, 3).await;
    assert!(late.deadline().unwrap().at > LATEST_INSTANT + TimeDelta::days(3649));

    for (engagement, n) in [
        (&workshop, &first),
        (&longest, &late),
        (&longest, &late_consented),
    ] {
        let deadline = n.deadline().unwrap().at;
        reads_agree_around(&store, engagement, n, deadline).await;
        if let Some(wake) = n.wake_at().filter(|w| *w != deadline) {
            reads_agree_around(&store, engagement, n, wake).await;
        }
    }
    // At the first instant itself nothing is due yet and the row is live.
    assert!(due_ids(&store, EARLIEST_INSTANT).await.is_empty());
    assert_eq!(
        tab(&store, 1, &workshop, Tab::Eligible, EARLIEST_INSTANT).await,
        vec![*first.id()]
    );
}

/// Two partners' customers accept consent for one customer at the last
/// accepted instant: exactly one acceptance is written, the other fails with
/// the consent guard (R-CONSENT-8). The winner holds the consent until its
/// deadline, past 2200: the store checks the same guard at the microsecond
/// before it (refused) and at it (admitted). The acceptances carry the
/// consent guard alone, so that the second one's nomination is left as it
/// was (the loss of R-CONSENT-10 has behaviours of its own).
pub async fn one_consent_per_customer_at_the_top_of_the_range(store: Arc<dyn Store>) {
    let engagement = open_everywhere("edge-consent", 2, false);
    let added_at = LATEST_INSTANT - TimeDelta::days(1);
    let mut awaiting = Vec::new();
    for p in 1..=2u32 {
        let n = added(&store, p, 7, &engagement, added_at).await;
        awaiting.push(consent_sent(&store, &n, added_at, p as u8).await);
    }
    let mut outcomes = Vec::new();
    let mut results = Vec::new();
    for (i, n) in awaiting.iter().enumerate() {
        let Step::Changed(outcome) = n
            .accept_consent(LATEST_INSTANT, &token(i as u8 + 1))
            .unwrap()
        else {
            panic!("a first acceptance changes the nomination");
        };
        let outcome = consent_guard_only(*outcome);
        outcomes.push(outcome.clone());
        results.push(store.commit(Commit::of(LATEST_INSTANT, outcome)).await);
    }
    assert!(results[0].is_ok(), "{results:?}");
    assert_eq!(
        results[1].as_ref().map_err(|e| e.rule()),
        Err(Some("R-CONSENT-8")),
        "the second acceptance is refused"
    );
    let winner = store
        .nomination_by_id(awaiting[0].id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(winner.state(), State::Consented);
    assert_eq!(
        store
            .nomination_by_id(awaiting[1].id())
            .await
            .unwrap()
            .as_ref(),
        Some(&awaiting[1]),
        "the refused acceptance changed nothing"
    );
    let until = winner.standing().until.unwrap();
    assert_eq!(until, LATEST_INSTANT + TimeDelta::days(90));
    let standings = store
        .standings(engagement.id(), customer(7).id())
        .await
        .unwrap();
    assert_eq!(standings.len(), 2);
    for (now, holding) in [(LATEST_INSTANT, 1), (until - MICRO, 1), (until, 0)] {
        let held = standings
            .iter()
            .filter(|(_, s)| s.holds_consent_at(now))
            .count();
        assert_eq!(held, holding, "consents held at {now}");
    }
    assert_eq!(
        standings
            .iter()
            .find(|(p, _)| *p == partner(1))
            .map(|(_, s)| *s),
        Some(winner.standing()),
        "the stored standing is the core's"
    );
    // The store checks the guard at the commit's instant.
    let late = outcomes.remove(1);
    let refused = store.commit(Commit::of(until - MICRO, late.clone())).await;
    assert_eq!(
        refused.map_err(|e| e.rule()),
        Err(Some("R-CONSENT-8")),
        "the consent still holds a microsecond before its deadline"
    );
    store.commit(Commit::of(until, late)).await.unwrap();
}

/// A message leased at the last accepted instant for a thousand years
/// (until past 2262, where an `i64` of nanoseconds ends) is not taken again
/// a microsecond before its lease ends, and is taken again at its end
/// (R-REC-2, R-INPUT).
pub async fn a_lease_past_2262_ends_to_the_microsecond(store: Arc<dyn Store>) {
    let engagement = open_everywhere("edge-outbox", 1, false);
    let at = LATEST_INSTANT - MICRO;
    let n = added(&store, 1, 9, &engagement, at).await;
    consent_sent(&store, &n, LATEST_INSTANT, 9).await;
    let until = LATEST_INSTANT + TimeDelta::days(365_000);
    assert!(until.timestamp_nanos_opt().is_none(), "past 2262");
    assert!(
        store
            .take_messages(LATEST_INSTANT - MICRO, until, 10)
            .await
            .unwrap()
            .is_empty(),
        "queued at the last instant, not before"
    );
    let taken = store
        .take_messages(LATEST_INSTANT, until, 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert!(
        store
            .take_messages(until - MICRO, until + MICRO, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased until its end"
    );
    let again = store.take_messages(until, until + MICRO, 10).await.unwrap();
    assert_eq!(again.len(), 1, "taken again when the lease ends");
    assert_eq!(again[0].message.id, taken[0].message.id);
    assert_eq!(again[0].attempt, 2);
    let page = store
        .page(&PageQuery {
            partner: partner(1),
            engagement: engagement.id().clone(),
            tab: Tab::Eligible,
            now: LATEST_INSTANT,
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 1);
}
