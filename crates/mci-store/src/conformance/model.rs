//! A model-based property test: random commits and reads give the same
//! answers on the store and on a small reference model that filters a plain
//! list with the core's own derived values.

use super::fixtures::*;
use crate::{AttentionQuery, Commit, StateQuery, Store, StoreError};
use chrono::TimeDelta;
use mci_core::*;
use mci_testkit::{admin_of, comment, link, partner, token};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use std::future::Future;
use std::sync::Arc;

/// One step of a random run.
#[derive(Debug, Clone)]
enum Op {
    Add { p: u32, c: u64 },
    Send { i: usize },
    Accept { i: usize },
    Decline { i: usize },
    Cancel { i: usize },
    Comment { i: usize },
    Advance { hours: i64 },
    Sweep,
    Read { p: u32, c: u64, at: At },
}

/// The instant a read is made at, from the run's current instant.
#[derive(Debug, Clone)]
enum At {
    /// The current instant.
    Now,
    /// Some hours ahead: past lapses the sweep has not written yet.
    Ahead { hours: i64 },
    /// A nomination's next lapse, a microsecond before it, at it or a
    /// microsecond after it (`micros` is -1, 0 or 1).
    Lapse { i: usize, micros: i64 },
}

fn at() -> impl Strategy<Value = At> {
    prop_oneof![
        1 => Just(At::Now),
        1 => (1..=24 * 100i64).prop_map(|hours| At::Ahead { hours }),
        2 => (any::<usize>(), -1..=1i64).prop_map(|(i, micros)| At::Lapse { i, micros }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1..=3u32, 1..=3u64).prop_map(|(p, c)| Op::Add { p, c }),
        3 => any::<usize>().prop_map(|i| Op::Send { i }),
        3 => any::<usize>().prop_map(|i| Op::Accept { i }),
        1 => any::<usize>().prop_map(|i| Op::Decline { i }),
        1 => any::<usize>().prop_map(|i| Op::Cancel { i }),
        1 => any::<usize>().prop_map(|i| Op::Comment { i }),
        2 => (1..=24 * 40i64).prop_map(|hours| Op::Advance { hours }),
        1 => Just(Op::Sweep),
        3 => (1..=3u32, 1..=3u64, at()).prop_map(|(p, c, at)| Op::Read { p, c, at }),
    ]
}

/// What the model answers for a commit.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Written,
    Conflict,
    Guard(&'static str),
}

fn answer(result: &Result<(), StoreError>) -> Answer {
    match result {
        Ok(()) => Answer::Written,
        Err(StoreError::Conflict { .. }) => Answer::Conflict,
        Err(StoreError::GuardViolated { guard }) => Answer::Guard(guard.rule()),
        Err(other) => panic!("unexpected store error {other}"),
    }
}

/// The reference: a list of nominations, each with the token its consent
/// link was sent with.
#[derive(Default)]
struct Model {
    rows: Vec<(Nomination, u8)>,
}

impl Model {
    /// One commit of `outcomes`, in order, as the store contract says:
    /// every expected version first, then write by write its guards with
    /// the earlier writes applied; all or nothing. `t` is the token of a
    /// nomination created.
    fn commit(&mut self, outcomes: &[Outcome], now: Instant, t: u8) -> Answer {
        for outcome in outcomes {
            let id = outcome.nomination.id();
            let found = self.rows.iter().find(|(n, _)| n.id() == id);
            match (found, outcome.expected_version()) {
                (None, 0) => {}
                (Some((n, _)), expected) if n.version() == expected => {}
                _ => return Answer::Conflict,
            }
        }
        let mut next = self.rows.clone();
        for outcome in outcomes {
            let id = outcome.nomination.id();
            for guard in &outcome.guards {
                let others: Vec<(PartnerId, Standing)> = next
                    .iter()
                    .map(|(n, _)| n)
                    .filter(|n| {
                        n.id() != id
                            && n.engagement() == guard.engagement()
                            && n.customer().id() == guard.customer()
                    })
                    .map(|n| (n.partner().clone(), n.standing()))
                    .collect();
                if !guard.admits(others.iter().map(|(p, s)| (p, s)), now) {
                    return Answer::Guard(guard.rule());
                }
            }
            match next.iter_mut().find(|(n, _)| n.id() == id) {
                Some(row) => row.0 = outcome.nomination.clone(),
                None => next.push((outcome.nomination.clone(), t)),
            }
        }
        self.rows = next;
        Answer::Written
    }

    /// The instant `at` names, from `now`: a nomination without a next
    /// lapse (or none at all) reads at `now`.
    fn instant(&self, at: &At, now: Instant) -> Instant {
        match at {
            At::Now => now,
            At::Ahead { hours } => now + TimeDelta::hours(*hours),
            At::Lapse { i, micros } => self
                .pick(*i)
                .and_then(|(n, _)| n.placement().lapse_at)
                .map_or(now, |lapse| lapse + TimeDelta::microseconds(*micros)),
        }
    }

    /// The nominations of customer `c`: the rivals of an acceptance.
    fn of_customer(&self, c: &Customer) -> Vec<Nomination> {
        self.rows
            .iter()
            .map(|(n, _)| n)
            .filter(|n| n.customer().id() == c.id())
            .cloned()
            .collect()
    }

    fn pick(&self, i: usize) -> Option<(Nomination, u8)> {
        (!self.rows.is_empty()).then(|| self.rows[i % self.rows.len()].clone())
    }

    fn tab(&self, p: u32, engagement: &Engagement, tab: Tab, now: Instant) -> Vec<NominationId> {
        let mut ids: Vec<NominationId> = self
            .rows
            .iter()
            .map(|(n, _)| n)
            .filter(|n| n.partner() == &partner(p) && n.engagement() == engagement.id())
            .filter(|n| n.placement().tab_at(now) == Some(tab))
            .map(|n| *n.id())
            .collect();
        ids.sort();
        ids
    }
}

/// Random runs of commits, time steps, sweeps and reads: after every step
/// the store answers what the reference model answers: commit results
/// (written, conflict, which guard), tab walks, standings, the due query
/// and the state query; and the counts of all three tabs are what the walks
/// find. Reads are made at the run's instant, ahead of it (past lapses the
/// sweep has not written yet), and at a nomination's next lapse and the
/// microseconds around it; sweeps write the lapses that came.
pub async fn model_matches_reference<F, Fut>(factory: &F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    let mut runner = TestRunner::new(Config {
        cases: 16,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(op(), 1..48);
    for case in 0..16 {
        let ops = strategy
            .new_tree(&mut runner)
            .expect("the strategy generates")
            .current();
        let store = factory().await;
        run_case(&store, &ops)
            .await
            .unwrap_or_else(|step| panic!("case {case} diverged at step {step} of {ops:#?}"));
    }
}

async fn run_case(store: &Arc<dyn Store>, ops: &[Op]) -> Result<(), usize> {
    let engagement = workshop(2);
    let mut model = Model::default();
    let mut now = start();
    let mut next_token: u8 = 1;
    for (step, op) in ops.iter().enumerate() {
        let outcome: Option<(Vec<Outcome>, u8)> = match op {
            Op::Add { p, c } => Some((vec![add(*p, *c, &engagement, now)], 0)),
            Op::Send { i } => model.pick(*i).and_then(|(n, _)| {
                next_token = next_token.wrapping_add(1).max(1);
                let p = partner_number(&n);
                n.send_consent(now, &admin_of(p), SendConsent::default(), &link(next_token))
                    .ok()
                    .map(|o| (vec![o], next_token))
            }),
            // Decided among the rivals, as the store would give them
            // (R-CONSENT-10).
            Op::Accept { i } => model.pick(*i).and_then(|(n, t)| {
                match n.accept_consent_among(now, &token(t), &model.of_customer(n.customer())) {
                    Ok(Some(acceptance)) => Some((acceptance.into_outcomes(), t)),
                    _ => None,
                }
            }),
            Op::Decline { i } => {
                model
                    .pick(*i)
                    .and_then(|(n, t)| match n.decline_consent(now, &token(t)) {
                        Ok(Step::Changed(outcome)) => Some((vec![*outcome], t)),
                        _ => None,
                    })
            }
            Op::Cancel { i } => model.pick(*i).and_then(|(n, t)| {
                n.cancel(now, &admin_of(partner_number(&n)))
                    .ok()
                    .map(|o| (vec![o], t))
            }),
            Op::Comment { i } => model.pick(*i).and_then(|(n, t)| {
                n.add_comment(now, &admin_of(partner_number(&n)), comment("model"))
                    .ok()
                    .map(|o| (vec![o], t))
            }),
            Op::Advance { hours } => {
                now += TimeDelta::hours(*hours);
                None
            }
            Op::Sweep => {
                sweep(store, now).await;
                for (n, _) in &mut model.rows {
                    while let Some(outcome) = n.wake(now).unwrap() {
                        *n = outcome.nomination;
                    }
                }
                None
            }
            Op::Read { p, c, at } => {
                let at = model.instant(at, now);
                compare_reads(store, &model, &engagement, *p, *c, at)
                    .await
                    .map_err(|()| step)?;
                None
            }
        };
        if let Some((outcomes, t)) = outcome {
            let expected = model.commit(&outcomes, now, t);
            let got = answer(&store.commit(Commit::of_all(now, outcomes)).await);
            if got != expected {
                return Err(step);
            }
        }
    }
    for p in 1..=3 {
        for c in 1..=3 {
            compare_reads(store, &model, &engagement, p, c, now)
                .await
                .map_err(|()| ops.len())?;
        }
    }
    Ok(())
}

async fn compare_reads(
    store: &Arc<dyn Store>,
    model: &Model,
    engagement: &Engagement,
    p: u32,
    c: u64,
    now: Instant,
) -> Result<(), ()> {
    let check = |same: bool| if same { Ok(()) } else { Err(()) };
    let counts = store
        .count(&partner(p), engagement.id(), now)
        .await
        .map_err(|_| ())?;
    for tab in Tab::ALL {
        let walked = walk(store, p, engagement, tab, now, 2).await;
        check(walked == model.tab(p, engagement, tab, now))?;
        check(counts.get(tab) == walked.len() as u64)?;
    }
    let mut rivals = store
        .rivals(engagement.id(), customer(c).id())
        .await
        .map_err(|_| ())?;
    rivals.sort_by(|a, b| a.id().cmp(b.id()));
    let mut want_rivals = model.of_customer(&customer(c));
    want_rivals.sort_by(|a, b| a.id().cmp(b.id()));
    check(rivals == want_rivals)?;

    let mut standings = store
        .standings(engagement.id(), customer(c).id())
        .await
        .map_err(|_| ())?;
    standings.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.until.cmp(&b.1.until)));
    let mut expected: Vec<(PartnerId, Standing)> = model
        .rows
        .iter()
        .map(|(n, _)| n)
        .filter(|n| n.customer().id() == customer(c).id())
        .map(|n| (n.partner().clone(), n.standing()))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.until.cmp(&b.1.until)));
    check(
        standings.iter().map(|s| s.0.clone()).collect::<Vec<_>>()
            == expected.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
    )?;
    let mut got_standings: Vec<Standing> = standings.into_iter().map(|s| s.1).collect();
    let mut want_standings: Vec<Standing> = expected.into_iter().map(|s| s.1).collect();
    got_standings.sort_by_key(|s| (s.live, s.holds_consent, s.completed, s.asking, s.until));
    want_standings.sort_by_key(|s| (s.live, s.holds_consent, s.completed, s.asking, s.until));
    check(got_standings == want_standings)?;

    let due: Vec<NominationId> = store
        .due(now, None, 1000)
        .await
        .map_err(|_| ())?
        .rows
        .iter()
        .map(|n| *n.id())
        .collect();
    let mut want_due: Vec<(Instant, NominationId)> = model
        .rows
        .iter()
        .filter_map(|(n, _)| n.wake_at().filter(|w| *w <= now).map(|w| (w, *n.id())))
        .collect();
    want_due.sort();
    check(due == want_due.into_iter().map(|(_, id)| id).collect::<Vec<_>>())?;

    let states = vec![State::AwaitingConsent, State::Consented];
    let by_state = store
        .by_state(&StateQuery {
            states: states.clone(),
            partner: Some(partner(p)),
            now,
            after: None,
            limit: 1000,
        })
        .await
        .map_err(|_| ())?;
    let mut want: Vec<NominationId> = model
        .rows
        .iter()
        .map(|(n, _)| n)
        .filter(|n| n.partner() == &partner(p) && states.contains(&n.state()))
        .filter(|n| n.placement().lapse_at.is_none_or(|lapse| now < lapse))
        .map(|n| *n.id())
        .collect();
    want.sort();
    check(by_state.rows.iter().map(|n| *n.id()).collect::<Vec<_>>() == want)?;

    // The Attention required list (R-LIST-3): the soonest two the
    // placements admit, and whether more follow.
    let query = AttentionQuery::at(partner(p), now, 2).ok_or(())?;
    let attention = store.attention(&query).await.map_err(|_| ())?;
    let mut want: Vec<(Instant, NominationId)> = model
        .rows
        .iter()
        .map(|(n, _)| n)
        .filter(|n| query.admits(n))
        .filter_map(|n| Some((n.attention_placement().lapse_at?, *n.id())))
        .collect();
    want.sort();
    check(attention.more == (want.len() > 2))?;
    want.truncate(2);
    check(
        attention.rows.iter().map(|n| *n.id()).collect::<Vec<_>>()
            == want.into_iter().map(|(_, id)| id).collect::<Vec<_>>(),
    )
}
