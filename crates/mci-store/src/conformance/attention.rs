//! The Attention required list (R-LIST-3): the soonest rows of both
//! classes, exactly, from two bounded walks.

use super::fixtures::*;
use crate::{AttentionCandidates, AttentionQuery, Store};
use chrono::TimeDelta;
use mci_core::*;
use mci_testkit::{admin_of, comment, partner, reviewer};
use std::sync::Arc;

/// The reviewer takes `n` into review at `now`.
async fn in_review(store: &Arc<dyn Store>, n: &Nomination, now: Instant) -> Nomination {
    write(
        store,
        n.start_review(now, &reviewer(), mci_testkit::seen(n))
            .unwrap(),
    )
    .await
}

/// `n`, submitted, taken into review and rejected at `now`.
async fn rejected(store: &Arc<dyn Store>, n: &Nomination, now: Instant) -> Nomination {
    let n = in_review(store, n, now).await;
    write(
        store,
        n.reject(now, &reviewer(), mci_testkit::seen(&n), comment("no"))
            .unwrap(),
    )
    .await
}

/// `n`, submitted, taken into review at `now` and sent back to its partner
/// for more.
async fn partner_action(store: &Arc<dyn Store>, n: &Nomination, now: Instant) -> Nomination {
    let n = in_review(store, n, now).await;
    write(
        store,
        n.request_partner_action(now, &reviewer(), mci_testkit::seen(&n), comment("more"))
            .unwrap(),
    )
    .await
}

/// Tokens for consent links, each used once.
struct Tokens(u8);

impl Tokens {
    fn next(&mut self) -> u8 {
        self.0 += 1;
        assert!(self.0 < 80, "surveys take t + 80 and t + 160");
        self.0
    }
}

/// Partner 1's nominations in every state the list cares about, and a few
/// of partners 2 and 3, on one workshop (30 days for consent, 90 more to
/// submit, 120 from consent for the review, 30 to dispute). Returns every
/// id made.
///
/// - five rejected claims, rejected on days 9 down to 5: their dispute
///   deadlines (days 39 down to 35) in the opposite order of their ids;
/// - four claims the reviewer asked more of, consented on days 4 down to
///   1: their review deadlines (days 124 down to 121) the other way round
///   from their ids too;
/// - a disputed claim (its review due on day 34) and a submitted one (due
///   on day 121): with the reviewer, on no list however soon;
/// - two that lost their customers to partner 2's consents on day 3
///   (R-CONSENT-10), one claimed, one awaiting consent (due on day 30);
/// - three claimed on days 0 to 2 and two awaiting consent (due on days
///   30 to 32), two consented on days 1 and 3 (their claims due on days 91
///   and 93), one cancelled;
/// - partner 2's winners, a rejected claim and a claimed customer;
///   partner 3's claimed customer.
async fn every_kind(store: &Arc<dyn Store>) -> Vec<NominationId> {
    let w = workshop(5);
    let mut t = Tokens(0);
    let mut ids = Vec::new();
    for c in 1..=5u64 {
        let n = added(store, 1, c, &w, start()).await;
        let n = submitted(store, &n, day(1), t.next()).await;
        ids.push(*rejected(store, &n, day(10 - c as i64)).await.id());
    }
    for c in 6..=9u64 {
        let n = added(store, 1, c, &w, start()).await;
        let n = submitted(store, &n, day(10 - c as i64), t.next()).await;
        ids.push(*partner_action(store, &n, day(5)).await.id());
    }
    let n = added(store, 1, 10, &w, start()).await;
    let n = submitted(store, &n, day(1), t.next()).await;
    let n = rejected(store, &n, day(3)).await;
    let n = write(
        store,
        n.dispute(day(4), &admin_of(1), comment("see the agenda"))
            .unwrap(),
    )
    .await;
    assert_eq!(n.state(), State::Disputed);
    ids.push(*n.id());
    let n = added(store, 1, 11, &w, start()).await;
    ids.push(*submitted(store, &n, day(1), t.next()).await.id());
    for (c, asked) in [(12u64, false), (13, true)] {
        let lost = added(store, 1, c, &w, start()).await;
        if asked {
            consent_sent(store, &lost, start(), t.next()).await;
        }
        let theirs = added(store, 2, c, &w, start()).await;
        ids.push(*consented(store, &theirs, day(3), t.next()).await.id());
        let lost = store.nomination_by_id(lost.id()).await.unwrap().unwrap();
        assert!(lost.lost_at().is_some(), "{} lost its customer", lost.id());
        ids.push(*lost.id());
    }
    for (c, at) in [(14u64, 0i64), (15, 1), (16, 2)] {
        ids.push(*added(store, 1, c, &w, day(at)).await.id());
    }
    for c in 17..=18u64 {
        let n = added(store, 1, c, &w, start()).await;
        ids.push(*consent_sent(store, &n, day(1), t.next()).await.id());
    }
    for (c, at) in [(19u64, 1i64), (20, 3)] {
        let n = added(store, 1, c, &w, start()).await;
        ids.push(*consented(store, &n, day(at), t.next()).await.id());
    }
    let n = added(store, 1, 21, &w, start()).await;
    ids.push(
        *write(store, n.cancel(day(1), &admin_of(1)).unwrap())
            .await
            .id(),
    );
    let n = added(store, 2, 30, &w, start()).await;
    let n = submitted(store, &n, day(1), t.next()).await;
    ids.push(*rejected(store, &n, day(6)).await.id());
    ids.push(*added(store, 2, 31, &w, start()).await.id());
    ids.push(*added(store, 3, 32, &w, day(2)).await.id());
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

/// What `query` answers, from the rows alone: the ids and lapse instants
/// of the rows it admits, soonest first, the first `limit`, and whether
/// more follow.
fn expected(all: &[Nomination], query: &AttentionQuery) -> (Vec<(Instant, NominationId)>, bool) {
    let mut rows: Vec<(Instant, NominationId)> = all
        .iter()
        .filter(|n| query.admits(n))
        .filter_map(|n| Some((n.attention_placement().lapse_at?, *n.id())))
        .collect();
    rows.sort();
    let more = rows.len() > query.limit;
    rows.truncate(query.limit);
    (rows, more)
}

/// The ids and lapse instants of an answer, in its order.
fn keys(answer: &AttentionCandidates) -> Vec<(Instant, NominationId)> {
    answer
        .rows
        .iter()
        .map(|n| (n.attention_placement().lapse_at.unwrap(), *n.id()))
        .collect()
}

/// What needs partner `p` at `now` by the core's own rule, over every one
/// of `all`: the soonest entries first, at most `limit`.
fn needs(all: &[Nomination], p: u32, now: Instant, limit: usize) -> Vec<(Instant, NominationId)> {
    let (entries, _) = attention_list(
        now,
        all.iter().filter(|n| n.partner() == &partner(p)).cloned(),
        limit,
    );
    entries
        .iter()
        .map(|e| (e.deadline.at, e.nomination))
        .collect()
}

/// The list of every partner at every instant worth reading (the edges of
/// the window and the lapses, a microsecond either side), with limits
/// below, at and above what it holds, equals the rows the placements admit
/// and what the core's rule gives over all the partner's nominations,
/// before the sweep writes the lapses and after (R-LIST-3, R-PAGE-7). More
/// rejected claims and requests of the reviewer than the limit, their ids
/// in another order than their deadlines, give the soonest deadlines, not
/// the lowest ids; claims with the reviewer, unswept lapses and other
/// partners' rows are on no list.
pub async fn r_list_3_attention_is_the_soonest_of_both_classes_exactly(store: Arc<dyn Store>) {
    let ids = every_kind(&store).await;
    // Day 12: partner 1's list holds the two that lost (due on day 30),
    // the five rejected (due on days 35 to 39) and the four sent back
    // (days 121 to 124); nothing within the window yet. The soonest three
    // are the lost ones and the last rejected.
    let all = current(&store, &ids).await;
    let (rows, more) = expected(&all, &AttentionQuery::at(partner(1), day(12), 3).unwrap());
    assert!(more);
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [day(30), day(30), day(35)]
    );
    assert_eq!(rows[2].1, ids[4], "the last rejected, due first");
    let tick = TimeDelta::microseconds(1);
    let mut probes = vec![day(0), day(12)];
    for d in [23, 24, 28, 30, 31, 35, 37, 39, 84, 86, 91, 114, 121, 124] {
        probes.extend([day(d) - tick, day(d), day(d) + tick]);
    }
    probes.push(day(200));
    let mut seen_more = false;
    let mut seen_soonest_not_lowest = false;
    for now in probes {
        let before = current(&store, &ids).await;
        let mut answers = Vec::new();
        for p in 1..=3 {
            for limit in [1, 3, 7, 1000] {
                let query = AttentionQuery::at(partner(p), now, limit).unwrap();
                let answer = store.attention(&query).await.unwrap();
                let (rows, more) = expected(&before, &query);
                assert_eq!(keys(&answer), rows, "partner {p} at {now}, limit {limit}");
                assert_eq!(answer.more, more, "partner {p} at {now}, limit {limit}");
                assert!(answer.unreadable.is_empty(), "{:?}", answer.unreadable);
                assert_eq!(
                    rows,
                    needs(&before, p, now, limit),
                    "what the core says needs partner {p} at {now}"
                );
                for n in &answer.rows {
                    assert_eq!(n.partner(), &partner(p), "R-ROLE-2");
                    assert!(n.attention(now).is_some(), "{} at {now}", n.id());
                }
                seen_more |= more;
                let mut by_id: Vec<_> = before.iter().filter(|n| query.admits(n)).collect();
                by_id.sort_by_key(|n| *n.id());
                seen_soonest_not_lowest |= by_id.len() > limit
                    && by_id[..limit].iter().map(|n| *n.id()).collect::<Vec<_>>()
                        != rows.iter().map(|(_, id)| *id).collect::<Vec<_>>();
                answers.push(keys(&answer));
            }
        }
        // Swept up to `now`, the lists read the same (R-PAGE-7).
        sweep(&store, now).await;
        let mut swept = Vec::new();
        for p in 1..=3 {
            for limit in [1, 3, 7, 1000] {
                let query = AttentionQuery::at(partner(p), now, limit).unwrap();
                swept.push(keys(&store.attention(&query).await.unwrap()));
            }
        }
        assert_eq!(swept, answers, "at {now}, before and after the sweep");
    }
    assert!(seen_more, "some list held more than its limit");
    assert!(
        seen_soonest_not_lowest,
        "some list's soonest rows were not its lowest ids"
    );
}

/// Rows a store cannot read back are counted against the limit and named,
/// never the reason the list fails (R-LIST-3, R-TIME-4); no reason holds
/// the row's friendly name (R-TOKEN-5). `corrupt` makes the stored row of
/// a nomination unreadable; run this on an adapter that can hold such rows.
pub async fn r_list_3_unreadable_rows_are_named_and_passed_over(
    store: Arc<dyn Store>,
    corrupt: &(dyn Fn(&NominationId) + Sync),
) {
    let w = workshop(5);
    let mut rows_added = Vec::new();
    for c in 0..5u64 {
        rows_added.push(added(&store, 1, c + 1, &w, day(c as i64)).await);
    }
    let ids: Vec<NominationId> = rows_added.iter().map(|n| *n.id()).collect();
    for bad in [ids[1], ids[3]] {
        corrupt(&bad);
    }
    let now = day(29);
    let answer = store
        .attention(&AttentionQuery::at(partner(1), now, 3).unwrap())
        .await
        .unwrap();
    let found: Vec<NominationId> = answer.rows.iter().map(|n| *n.id()).collect();
    assert_eq!(found, [ids[0], ids[2]]);
    assert_eq!(
        answer.unreadable.iter().map(|u| u.id).collect::<Vec<_>>(),
        [ids[1]]
    );
    assert!(answer.more);
    let answer = store
        .attention(&AttentionQuery::at(partner(1), now, 10).unwrap())
        .await
        .unwrap();
    let found: Vec<NominationId> = answer.rows.iter().map(|n| *n.id()).collect();
    assert_eq!(found, [ids[0], ids[2], ids[4]]);
    assert_eq!(
        answer.unreadable.iter().map(|u| u.id).collect::<Vec<_>>(),
        [ids[1], ids[3]]
    );
    assert!(!answer.more);
    for u in &answer.unreadable {
        let n = rows_added.iter().find(|n| n.id() == &u.id).unwrap();
        assert!(!u.reason.is_empty());
        assert!(
            !u.reason.contains(n.friendly_name().as_str()),
            "the reason quotes the friendly name: {}",
            u.reason
        );
    }
}
