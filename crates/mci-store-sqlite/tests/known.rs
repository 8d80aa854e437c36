//! The known rows live in the file: their placements, their answers, the
//! figures kept beside them and how far seeding got survive closing the
//! store, and the figures stay those of the rows (R-PAGE-9).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use mci_core::{
    Candidate, CustomerIdInput, DirectoryFinding, Engagement, EngagementKind, Ineligibility,
    Instant, KeptAnswer, Nomination, NominationRequest, Origin, SendConsent, Step, Tab, Tpid,
    identify_customer, nominate,
};
use mci_store::{AnswerWrite, Commit, KnownCounts, KnownQuery, Store};
use mci_store_sqlite::SqliteStore;
use mci_testkit::{
    admin_of, contacts, eligible_facts, engagement, link, nomination_id, partner, t0, token,
};
use rusqlite::Connection;
use std::path::Path;

/// Partner `p`'s nomination `n` of customer TPID `c` for `engagement`,
/// added at `t0`, its consent sent and accepted there: `c` is known to
/// `p` from then on.
async fn known_through(store: &SqliteStore, p: u32, c: u64, n: u64, engagement: &Engagement) {
    let request = NominationRequest {
        friendly_name: format!("Customer {c}").parse().unwrap(),
        location: "1234567".parse().unwrap(),
        customer: identify_customer(
            CustomerIdInput::Tpid(Tpid::new(c).unwrap()),
            format!("it@customer{c}.example").parse().unwrap(),
            None,
            DirectoryFinding::OwnsDomain(true),
        )
        .unwrap(),
        customer_contacts: contacts("Carla", &format!("cio@customer{c}.example")),
        partner_contacts: contacts("Ada", "ada@partner.example"),
        hours: None,
        origin: Origin::Added,
    };
    let candidates = [Candidate {
        engagement,
        facts: eligible_facts(),
    }];
    let added = nominate(t0(), &admin_of(p), request, &candidates, || {
        nomination_id(n)
    })
    .unwrap()
    .remove(0);
    let mut nomination: Nomination = added.nomination.clone();
    store.commit(Commit::of(t0(), added)).await.unwrap();
    let t = u8::try_from(n).unwrap();
    let sent = nomination
        .send_consent(t0(), &admin_of(p), SendConsent::default(), &link(t))
        .unwrap();
    nomination = sent.nomination.clone();
    store.commit(Commit::of(t0(), sent)).await.unwrap();
    let Step::Changed(accepted) = nomination.accept_consent(t0(), &token(t)).unwrap() else {
        panic!("a first acceptance changes the nomination");
    };
    store.commit(Commit::of(t0(), *accepted)).await.unwrap();
}

/// Partner 1's customers on `engagement`'s Eligible and Ineligible tabs at
/// `now`, each with whether it is checked.
async fn tabs(store: &SqliteStore, engagement: &Engagement, now: Instant) -> Vec<(Tab, u64, bool)> {
    let mut rows = Vec::new();
    for tab in [Tab::Eligible, Tab::Ineligible] {
        let page = store
            .known_page(&KnownQuery {
                partner: partner(1),
                engagement: engagement.id().clone(),
                tab,
                now,
                after: None,
                limit: 50,
            })
            .await
            .unwrap();
        for row in page.rows {
            let mci_core::CustomerId::Tpid(tpid) = row.known.customer.id() else {
                panic!("customers of this test are TPIDs");
            };
            rows.push((tab, tpid.get(), row.placement.checked));
        }
    }
    rows
}

/// The figures kept for partner 1 on `engagement`, and the same counted
/// over its rows as kept: they must agree.
fn figures(path: &Path, engagement: &Engagement) -> (i64, i64, i64) {
    let conn = Connection::open(path).unwrap();
    let e = engagement.id().as_str();
    let kept: (i64, i64, i64) = conn
        .query_row(
            "SELECT eligible, not_checked, ineligible FROM known_figures \
             WHERE partner = 'p1' AND engagement = ?1",
            [e],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let counted: (i64, i64, i64) = conn
        .query_row(
            "SELECT count(*) FILTER (WHERE tab = 1), \
                    count(*) FILTER (WHERE tab = 1 AND checked = 0), \
                    count(*) FILTER (WHERE tab = 2) \
             FROM known_rows WHERE partner = 'p1' AND engagement = ?1",
            [e],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(kept, counted, "the figures are those of the rows");
    kept
}

#[tokio::test]
async fn r_page_9_known_rows_figures_and_seeding_progress_survive_closing_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known.sqlite");
    let first = engagement("first-workshop", EngagementKind::Workshop, 2);
    let second = engagement("second-workshop", EngagementKind::Workshop, 2);
    let now = t0() + TimeDelta::days(1);
    let refused = Ineligibility::CustomerIneligible {
        reason: "no consumption".into(),
    };
    let before = {
        let store = SqliteStore::open(&path).unwrap();
        for c in 1..=3 {
            known_through(&store, 1, c, c, &first).await;
        }
        // One batch of one: customer 1 has its row, 2 and 3 not yet.
        assert!(!store.seed_known(second.id(), now, 1).await.unwrap());
        // An answer about customer 3 gives it its row, ineligible.
        let mut keep = Commit::at(now);
        keep.answers.push(AnswerWrite {
            partner: partner(1),
            engagement: second.id().clone(),
            customer: mci_core::CustomerId::Tpid(Tpid::new(3).unwrap()),
            answer: KeptAnswer {
                reasons: vec![refused.clone()],
                limit: 2,
                checked_at: now,
                trusted_until: now + TimeDelta::days(30),
            },
        });
        store.commit(keep).await.unwrap();
        let counts = store
            .known_counts(&partner(1), second.id(), now)
            .await
            .unwrap();
        assert_eq!(
            counts,
            KnownCounts {
                eligible: 1,
                not_checked: 1,
                ineligible: 1,
                oldest_answer: Some(now),
            }
        );
        let tabs = tabs(&store, &second, now).await;
        assert_eq!(
            tabs,
            vec![(Tab::Eligible, 1, false), (Tab::Ineligible, 3, true)]
        );
        (counts, tabs)
    };
    assert_eq!(figures(&path, &second), (1, 1, 1));

    let store = SqliteStore::open(&path).unwrap();
    let counts = store
        .known_counts(&partner(1), second.id(), now)
        .await
        .unwrap();
    assert_eq!((counts, tabs(&store, &second, now).await), before);
    let due = store.known_to_check(now, 10).await.unwrap();
    assert_eq!(due.len(), 1, "only customer 1 is still to be asked about");
    assert_eq!(due[0].known.through, nomination_id(1));

    // Seeding goes on after customer 1: customer 2 gets its row, customer
    // 3 keeps the one its answer gave it, and then seeding is done.
    assert!(!store.seed_known(second.id(), now, 1).await.unwrap());
    assert_eq!(
        tabs(&store, &second, now).await,
        vec![
            (Tab::Eligible, 1, false),
            (Tab::Eligible, 2, false),
            (Tab::Ineligible, 3, true)
        ]
    );
    assert!(!store.seed_known(second.id(), now, 1).await.unwrap());
    assert!(store.seed_known(second.id(), now, 1).await.unwrap());
    drop(store);
    assert_eq!(figures(&path, &second), (2, 2, 1));

    // Done survives too: a customer known later gets its row from its
    // consent on, without seeding.
    let store = SqliteStore::open(&path).unwrap();
    assert!(store.seed_known(second.id(), now, 1).await.unwrap());
    known_through(&store, 1, 4, 4, &first).await;
    let counts = store
        .known_counts(&partner(1), second.id(), now)
        .await
        .unwrap();
    assert_eq!((counts.eligible, counts.not_checked), (3, 3));
    drop(store);
    assert_eq!(figures(&path, &second), (3, 3, 1));
}
