//! Building blocks of the behaviours: nominations of any partner and
//! customer, committed through the store.

use crate::{Commit, Store, Write};
use chrono::TimeDelta;
use mci_core::*;
use mci_testkit::{admin_of, contacts, engagement, link, nomination_id, t0, token};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh nomination id, increasing across the whole test run.
pub(crate) fn next_id() -> NominationId {
    nomination_id(NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// A workshop allowing `limit` live nominations per customer.
pub(crate) fn workshop(limit: u32) -> Engagement {
    engagement("conformance-workshop", EngagementKind::Workshop, limit)
}

/// Customer `n`, identified by TPID `n`.
pub(crate) fn customer(n: u64) -> Customer {
    identify_customer(
        CustomerIdInput::Tpid(Tpid::new(n).unwrap()),
        format!("it@customer{n}.example").parse().unwrap(),
        None,
        DirectoryFinding::OwnsDomain(true),
    )
    .unwrap()
}

/// The outcome of partner `p` adding customer `c` to `engagement` at `now`.
pub(crate) fn add(p: u32, c: u64, engagement: &Engagement, now: Instant) -> Outcome {
    add_as(next_id(), p, c, engagement, now)
}

/// [`add`], the new nomination taking the id `id`.
pub(crate) fn add_as(
    id: NominationId,
    p: u32,
    c: u64,
    engagement: &Engagement,
    now: Instant,
) -> Outcome {
    let request = NominationRequest {
        friendly_name: format!("Customer {c} by partner {p}").parse().unwrap(),
        location: "1234567".parse().unwrap(),
        customer: customer(c),
        customer_contacts: contacts("Carla", &format!("cio@customer{c}.example")),
        partner_contacts: contacts("Ada", &format!("ada@partner{p}.example")),
        hours: None,
        origin: Origin::Added,
    };
    let candidates = [Candidate {
        engagement,
        facts: EligibilityFacts {
            location: LocationStanding::Eligible,
            customer: CustomerStanding::Eligible,
            competitors: Vec::new(),
        },
    }];
    nominate(now, &admin_of(p), request, &candidates, || id)
        .unwrap()
        .remove(0)
}

/// Commits one outcome at its own instant, panicking on failure.
pub(crate) async fn write(store: &Arc<dyn Store>, outcome: Outcome) -> Nomination {
    let nomination = outcome.nomination.clone();
    store
        .commit(Commit::of(outcome.event.at, outcome))
        .await
        .unwrap_or_else(|e| panic!("commit of {} failed: {e}", nomination.id()));
    nomination
}

/// Commits one outcome, returning the store's answer.
pub(crate) async fn try_write(
    store: &Arc<dyn Store>,
    outcome: Outcome,
) -> Result<Nomination, crate::StoreError> {
    let nomination = outcome.nomination.clone();
    store
        .commit(Commit::of(outcome.event.at, outcome))
        .await
        .map(|()| nomination)
}

/// Partner `p` adds customer `c` at `now` and the store has it.
pub(crate) async fn added(
    store: &Arc<dyn Store>,
    p: u32,
    c: u64,
    engagement: &Engagement,
    now: Instant,
) -> Nomination {
    write(store, add(p, c, engagement, now)).await
}

/// The consent email of `n` sent at `now` with token `t`.
pub(crate) async fn consent_sent(
    store: &Arc<dyn Store>,
    n: &Nomination,
    now: Instant,
    t: u8,
) -> Nomination {
    let p = partner_number(n);
    write(
        store,
        n.send_consent(now, &admin_of(p), SendConsent::default(), &link(t))
            .unwrap(),
    )
    .await
}

/// `n` consented at `now` through token `t`.
pub(crate) async fn consented(
    store: &Arc<dyn Store>,
    n: &Nomination,
    now: Instant,
    t: u8,
) -> Nomination {
    let sent = consent_sent(store, n, now, t).await;
    accepted(store, &sent, now, t).await
}

/// The acceptance of `n` at `now` through token `t`, decided among the
/// rivals the store holds (R-CONSENT-10).
pub(crate) async fn acceptance(
    store: &Arc<dyn Store>,
    n: &Nomination,
    now: Instant,
    t: u8,
) -> Acceptance {
    let rivals = store
        .rivals(n.engagement(), n.customer().id())
        .await
        .unwrap();
    n.accept_consent_among(now, &token(t), &rivals)
        .unwrap()
        .expect("a first acceptance changes the nomination")
}

/// `n`, its consent sent with token `t`, accepted at `now` with every
/// rival still asking losing in the same commit (R-CONSENT-10); the
/// accepted nomination.
pub(crate) async fn accepted(
    store: &Arc<dyn Store>,
    n: &Nomination,
    now: Instant,
    t: u8,
) -> Nomination {
    let acceptance = acceptance(store, n, now, t).await;
    let winner = acceptance.winner.nomination.clone();
    store
        .commit(Commit::of_all(now, acceptance.into_outcomes()))
        .await
        .unwrap_or_else(|e| panic!("the acceptance of {} failed: {e}", n.id()));
    winner
}

/// `outcome` with the consent guard alone of its acceptance guards: for
/// behaviours that race acceptances against each other, not against the
/// rivals they make lose (R-CONSENT-8; R-CONSENT-10 has its own).
pub(crate) fn consent_guard_only(mut outcome: Outcome) -> Outcome {
    outcome
        .guards
        .retain(|guard| !matches!(guard, Guard::NoRivalAsking { .. }));
    outcome
}

/// The number of the fixture partner `p<n>` that owns `n`.
pub(crate) fn partner_number(n: &Nomination) -> u32 {
    n.partner()
        .as_str()
        .trim_start_matches('p')
        .parse()
        .unwrap()
}

/// The start instant of every behaviour.
pub(crate) fn start() -> Instant {
    t0()
}

/// `days` days after [`start`].
pub(crate) fn day(days: i64) -> Instant {
    start() + TimeDelta::days(days)
}

/// Every id in `tab` for partner `p`, walked with pages of `limit`.
pub(crate) async fn walk(
    store: &Arc<dyn Store>,
    p: u32,
    engagement: &Engagement,
    tab: Tab,
    now: Instant,
    limit: usize,
) -> Vec<NominationId> {
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .page(&crate::PageQuery {
                partner: mci_testkit::partner(p),
                engagement: engagement.id().clone(),
                tab,
                now,
                after,
                limit,
            })
            .await
            .unwrap();
        assert!(page.rows.len() <= limit, "a page holds at most its limit");
        ids.extend(page.rows.iter().map(|n| *n.id()));
        match page.next {
            Some(next) => after = Some(next),
            None => return ids,
        }
    }
}

/// Sweeps the store at `now` until nothing is due, as the service does.
pub(crate) async fn sweep(store: &Arc<dyn Store>, now: Instant) -> usize {
    let mut changed = 0;
    loop {
        let due = store.due(now, None, 16).await.unwrap().rows;
        if due.is_empty() {
            return changed;
        }
        for n in due {
            if let Some(outcome) = n.wake(now).unwrap() {
                store.commit(Commit::of(now, outcome)).await.unwrap();
                changed += 1;
            } else {
                panic!(
                    "{} was returned as due at {now} but has nothing to do",
                    n.id()
                );
            }
        }
    }
}

/// A write of `outcome`, for commits of several writes.
pub(crate) fn as_write(outcome: Outcome) -> Write {
    outcome.into()
}

/// `n`, consented at `at` and its claim submitted an hour later with every
/// proof item, through tokens `t`, `t + 80` and `t + 160`: a claim on the
/// reviewer's Claims page (R-LIST-1).
pub(crate) async fn submitted(
    store: &Arc<dyn Store>,
    n: &Nomination,
    at: Instant,
    t: u8,
) -> Nomination {
    let user = admin_of(partner_number(n));
    let mut n = consented(store, n, at, t).await;
    let proving = at + TimeDelta::minutes(30);
    for kind in [DocumentKind::ProofOfExecution, DocumentKind::Invoice] {
        n = write(
            store,
            n.attach_document(proving, &user, kind, mci_testkit::document("proof.pdf"))
                .unwrap(),
        )
        .await;
    }
    for (survey, t) in [
        (SurveyKind::Partner, t.wrapping_add(80)),
        (SurveyKind::Customer, t.wrapping_add(160)),
    ] {
        n = write(
            store,
            n.send_survey(proving, &user, survey, &link(t)).unwrap(),
        )
        .await;
        let Step::Changed(done) = n.complete_survey(proving, &token(t)).unwrap() else {
            panic!("a first completion changes the claim");
        };
        n = write(store, *done).await;
    }
    write(store, n.submit(at + TimeDelta::hours(1), &user).unwrap()).await
}
