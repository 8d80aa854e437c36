//! Known rows: the known customers of a partner on each engagement's page,
//! kept with their answers and placements so that pages and counts never
//! walk them (R-PAGE-2, -4, -9; `mci_store` "Known customers").

use super::fixtures::*;
use crate::{AnswerWrite, Commit, KnownCounts, KnownQuery, Store};
use chrono::TimeDelta;
use mci_core::*;
use mci_testkit::{engagement, partner, token};
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

/// A small deterministic generator for the random run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

/// The known rows the contract defines, derived from scratch: every
/// customer known to partner `p` (walked from [`Store::known_customers`]),
/// placed on `engagement` at `now` by the core from the answer last kept
/// for it and the standings of its nominations.
async fn derived_from_scratch(
    store: &Arc<dyn Store>,
    p: u32,
    engagement: &Engagement,
    answers: &std::collections::HashMap<(u32, String, CustomerId), KeptAnswer>,
    now: Instant,
) -> Vec<(Tab, CustomerId, bool, Vec<Ineligibility>)> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let known = store
            .known_customers(&partner(p), after.as_ref(), 7)
            .await
            .unwrap();
        for k in &known {
            let c = *k.customer.id();
            let standings = store.standings(engagement.id(), &c).await.unwrap();
            let answer = answers.get(&(p, engagement.id().to_string(), c));
            let placement = known_placement(&partner(p), answer, &standings, now);
            if let Some(tab) = placement.tab {
                rows.push((tab, c, placement.checked, placement.reasons));
            }
        }
        match known.last() {
            Some(last) if known.len() == 7 => after = Some(*last.customer.id()),
            _ => break,
        }
    }
    rows
}

/// A random run of adds, consents, cancellations, kept answers, time
/// passing and sweeps by three partners over a few customers and two
/// engagements: at every step, each partner's known rows and counts on each
/// engagement equal the rows derived from scratch from every known customer
/// (R-PAGE-9: kept figures and placements never drift from the truth).
pub async fn known_rows_agree_with_a_derivation_from_scratch(store: Arc<dyn Store>) {
    let engagements = [
        workshop(2),
        engagement("limited-workshop", EngagementKind::Workshop, 1),
    ];
    for e in &engagements {
        seed(&store, e, start(), 3).await;
    }
    let mut rng = Lcg(0x5eed_0001);
    let mut answers = std::collections::HashMap::new();
    let mut nominations: Vec<NominationId> = Vec::new();
    let mut now = start();
    let mut links = 0u64;
    // What the run went through, so that it is known not to be vacuous.
    let (mut ineligible, mut checked, mut unchecked, mut swept) = (0, 0, 0, 0);
    for step in 0..160 {
        let p = rng.below(3) as u32 + 1;
        let c = rng.below(4) + 1;
        let e = &engagements[rng.below(2) as usize];
        match rng.below(10) {
            0..=1 => {
                if let Ok(n) = try_write(&store, add(p, c, e, now)).await {
                    nominations.push(*n.id());
                }
            }
            2..=4 if !nominations.is_empty() => {
                let id = nominations[rng.below(nominations.len() as u64) as usize];
                let n = store.nomination_by_id(&id).await.unwrap().unwrap();
                links += 1;
                let mut bytes = [0u8; 32];
                bytes[..8].copy_from_slice(&links.to_le_bytes());
                bytes[8] = 0xc7;
                let token = LinkToken::from_bytes(bytes);
                let mut id_bytes = [0u8; 16];
                id_bytes.copy_from_slice(&bytes[..16]);
                let link = FreshLink::new(LinkId::from_bytes(id_bytes), &token);
                let admin = mci_testkit::admin_of(partner_number(&n));
                let Ok(sent) = n.send_consent(now, &admin, SendConsent::default(), &link) else {
                    continue;
                };
                let Ok(sent) = try_write(&store, sent).await else {
                    continue;
                };
                // Decided among the rivals, as the service decides: the
                // partners still asking lose (R-CONSENT-10).
                let rivals = store
                    .rivals(sent.engagement(), sent.customer().id())
                    .await
                    .unwrap();
                if let Ok(Some(acceptance)) = sent.accept_consent_among(now, &token, &rivals) {
                    let _ = store
                        .commit(Commit::of_all(now, acceptance.into_outcomes()))
                        .await;
                }
            }
            5 if rng.below(2) == 0 => {
                // Two partners ask one customer; the second's consent makes
                // the first lose (R-CONSENT-10).
                let q = p % 3 + 1;
                let first = try_write(&store, add(p, c, &engagements[0], now)).await;
                let second = try_write(&store, add(q, c, &engagements[0], now)).await;
                if let (Ok(first), Ok(second)) = (first, second) {
                    nominations.extend([*first.id(), *second.id()]);
                    links += 1;
                    let t = u8::try_from(links % 200).unwrap_or(1) + 50;
                    let sent = consent_sent(&store, &second, now, t).await;
                    let rivals = store
                        .rivals(sent.engagement(), sent.customer().id())
                        .await
                        .unwrap();
                    let acceptance = sent
                        .accept_consent_among(now, &token(t), &rivals)
                        .unwrap()
                        .unwrap();
                    store
                        .commit(Commit::of_all(now, acceptance.into_outcomes()))
                        .await
                        .unwrap();
                }
            }
            5 if !nominations.is_empty() => {
                let id = nominations[rng.below(nominations.len() as u64) as usize];
                let n = store.nomination_by_id(&id).await.unwrap().unwrap();
                let admin = mci_testkit::admin_of(partner_number(&n));
                if let Ok(cancelled) = n.cancel(now, &admin) {
                    let _ = try_write(&store, cancelled).await;
                }
            }
            6..=7 => {
                // Mostly about a customer the partner knows: others are
                // not kept.
                let known = store.known_customers(&partner(p), None, 100).await.unwrap();
                let c = match known.get(rng.below(known.len() as u64 + 1) as usize) {
                    Some(k) => (1..=6)
                        .find(|c| customer(*c).id() == k.customer.id())
                        .unwrap_or(c),
                    None => c,
                };
                let refused = rng.below(3) == 0;
                let reasons = if refused {
                    vec![Ineligibility::CustomerIneligible {
                        reason: format!("no consumption {step}"),
                    }]
                } else {
                    Vec::new()
                };
                let kept = answer(p, c, e, now, rng.below(20) as i64 + 1, reasons);
                let known = store
                    .known_customers(&partner(p), None, 100)
                    .await
                    .unwrap()
                    .iter()
                    .any(|k| k.customer.id() == customer(c).id());
                keep(&store, now, vec![kept.clone()]).await;
                if known {
                    answers.insert((p, e.id().to_string(), kept.customer), kept.answer);
                }
            }
            8 => now += TimeDelta::hours(rng.below(24 * 25) as i64 + 1),
            _ => {
                swept += sweep(&store, now).await;
            }
        }
        // Look a little ahead too: the lazy reads of lapses not swept.
        for at in [now, now + TimeDelta::days(rng.below(40) as i64)] {
            for p in 1..=3 {
                for e in &engagements {
                    let expected = derived_from_scratch(&store, p, e, &answers, at).await;
                    let counts = known_counts_walked(&store, p, e, at).await;
                    let of = |tab| expected.iter().filter(|r| r.0 == tab).count() as u64;
                    ineligible += of(Tab::Ineligible);
                    checked += expected.iter().filter(|r| r.2).count();
                    unchecked += expected.iter().filter(|r| !r.2).count();
                    assert_eq!(
                        (counts.eligible, counts.ineligible),
                        (of(Tab::Eligible), of(Tab::Ineligible)),
                        "step {step}, p{p}, {} at {at}",
                        e.id()
                    );
                    for tab in [Tab::Eligible, Tab::Ineligible] {
                        let walked = walk_known(&store, p, e, tab, at, 4).await;
                        let mut wanted: Vec<(CustomerId, bool, Vec<Ineligibility>)> = expected
                            .iter()
                            .filter(|r| r.0 == tab)
                            .map(|r| (r.1, r.2, r.3.clone()))
                            .collect();
                        wanted.sort_by_key(|r| r.0);
                        assert_eq!(
                            walked,
                            wanted,
                            "step {step}, p{p}, {} {tab} at {at}",
                            e.id()
                        );
                    }
                }
            }
        }
    }
    let mut lost = 0;
    for id in &nominations {
        let n = store.nomination_by_id(id).await.unwrap().unwrap();
        lost += usize::from(n.lost_at().is_some());
    }
    assert!(lost > 0, "some partner lost a customer it was asking");
    assert!(
        ineligible > 0 && checked > 0 && unchecked > 0 && swept > 0,
        "the run placed rows every way: {ineligible} ineligible, {checked} checked, \
         {unchecked} unchecked, {swept} swept"
    );
}
