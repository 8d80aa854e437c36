//! Reads: isolation, links, standings, history, the sweep's due query,
//! known customers, states and deadlines (R-ROLE-2, R-TOKEN-2, R-TIME-4,
//! R-CLAIM-1, R-ENG-7).

use super::fixtures::*;
use crate::{PageQuery, StateQuery, Store};
use chrono::TimeDelta;
use mci_core::*;
use mci_testkit::{admin_of, contacts, link, partner, token};
use std::sync::Arc;

/// Another partner's nomination is invisible in every read scoped to a
/// partner (R-ROLE-2).
pub async fn partner_isolation(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let n = added(&store, 1, 1, &engagement, start()).await;
    let n = consented(&store, &n, start(), 1).await;
    let other = partner(2);
    assert_eq!(store.nomination(&other, n.id()).await.unwrap(), None);
    let page = store
        .page(&PageQuery {
            partner: other.clone(),
            engagement: engagement.id().clone(),
            tab: Tab::Eligible,
            now: day(1),
            after: None,
            limit: 50,
        })
        .await
        .unwrap();
    assert!(page.rows.is_empty());
    assert_eq!(
        store.count(&other, engagement.id(), day(1)).await.unwrap(),
        crate::TabCounts::default()
    );
    assert!(
        store
            .known_customers(&other, None, 50)
            .await
            .unwrap()
            .is_empty()
    );
    let mine = StateQuery {
        states: vec![State::Consented],
        partner: Some(other.clone()),
        now: day(1),
        after: None,
        limit: 50,
    };
    assert!(store.by_state(&mine).await.unwrap().rows.is_empty());
    assert!(
        store
            .lapsing(&other, day(1), day(500), 50)
            .await
            .unwrap()
            .is_empty()
    );
    // The owner sees all of it.
    assert_eq!(
        store.nomination(&partner(1), n.id()).await.unwrap(),
        Some(n.clone())
    );
    assert_eq!(
        store
            .known_customers(&partner(1), None, 50)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A nomination is found by the hash of each live link, and no longer by a
/// voided one (R-TOKEN-2).
pub async fn link_lookup_follows_live_links(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let n = added(&store, 1, 1, &engagement, start()).await;
    assert_eq!(
        store.nomination_by_link(&token(1).hash()).await.unwrap(),
        None
    );
    let sent = consent_sent(&store, &n, start(), 1).await;
    let found = store.nomination_by_link(&token(1).hash()).await.unwrap();
    assert_eq!(found.as_ref().map(Nomination::id), Some(n.id()));
    let reminded = write(
        &store,
        sent.resend_consent(day(1), &admin_of(1), &link(2)).unwrap(),
    )
    .await;
    assert!(
        store
            .nomination_by_link(&token(1).hash())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .nomination_by_link(&token(2).hash())
            .await
            .unwrap()
            .is_some()
    );
    let update = ContactsUpdate {
        customer: Some(contacts("New Contact", "new@customer1.example")),
        partner: None,
    };
    write(
        &store,
        reminded
            .update_contacts(day(2), &admin_of(1), update)
            .unwrap(),
    )
    .await;
    assert_eq!(
        store.nomination_by_link(&token(1).hash()).await.unwrap(),
        None
    );
    assert_eq!(
        store.nomination_by_link(&token(2).hash()).await.unwrap(),
        None
    );
    assert_eq!(
        store.nomination_by_link(&token(3).hash()).await.unwrap(),
        None
    );
}

/// The standings of a customer's nominations for an engagement are those the
/// core derives, for every partner, and only for that engagement.
pub async fn standings_of_a_customer(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let other = mci_testkit::engagement("other-workshop", EngagementKind::Workshop, 5);
    let a = added(&store, 1, 1, &engagement, start()).await;
    let b = consented(
        &store,
        &added(&store, 2, 1, &engagement, start()).await,
        start(),
        2,
    )
    .await;
    added(&store, 3, 1, &other, start()).await;
    added(&store, 3, 2, &engagement, start()).await;
    // The consent given to partner 2 made partner 1's lose (R-CONSENT-10).
    let a = store.nomination_by_id(a.id()).await.unwrap().unwrap();
    assert!(a.lost_at().is_some());
    let mut standings = store
        .standings(engagement.id(), customer(1).id())
        .await
        .unwrap();
    standings.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        standings,
        vec![(partner(1), a.standing()), (partner(2), b.standing())]
    );
    let mut rivals = store
        .rivals(engagement.id(), customer(1).id())
        .await
        .unwrap();
    rivals.sort_by(|x, y| x.id().cmp(y.id()));
    assert_eq!(rivals, vec![a, b], "the rivals are the nominations, whole");
}

/// A history reads back every event in version order (R-REC-1).
pub async fn history_in_version_order(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let n = added(&store, 1, 1, &engagement, start()).await;
    let mut current = consented(&store, &n, day(1), 1).await;
    for i in 0..5 {
        current = write(
            &store,
            current
                .add_comment(
                    day(2),
                    &admin_of(1),
                    mci_testkit::comment(&format!("note {i}")),
                )
                .unwrap(),
        )
        .await;
    }
    let history = store.history(n.id()).await.unwrap();
    assert_eq!(history.len() as u64, current.version());
    for (i, event) in history.iter().enumerate() {
        assert_eq!(event.version, i as u64 + 1);
        assert_eq!(event.nomination, *n.id());
    }
    assert_eq!(history[2].kind, EventKind::ConsentAccepted);
    assert!(
        store.history(&next_id()).await.unwrap().is_empty(),
        "no events for an unknown id"
    );
}

/// A history reads back as the chain it was written as (R-LIST-4): each
/// event cites the hash of the one before and its own content's, whatever
/// the store's encoding of its documents; the nomination reads back with
/// its head, and a message about it carries the head of the change that
/// queued it.
pub async fn r_list_4_a_history_reads_back_as_its_chain(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let n = added(&store, 1, 1, &engagement, start()).await;
    let mut current = consented(&store, &n, day(1), 1).await;
    let mut written = Vec::new();
    for i in 0..3 {
        let outcome = current
            .add_comment(
                day(2),
                &admin_of(1),
                mci_testkit::comment(&format!("note «{i}» \u{1F600}")),
            )
            .unwrap();
        written.push(outcome.event.clone());
        current = write(&store, outcome).await;
    }
    let history = store.history(n.id()).await.unwrap();
    assert_eq!(
        &history[history.len() - 3..],
        &written[..],
        "events read back as written"
    );
    let export: String = history
        .iter()
        .map(|e| ExportLine::Event(e.clone()).to_json_line())
        .collect();
    let stored = store
        .nomination(n.partner(), n.id())
        .await
        .unwrap()
        .unwrap();
    let head = stored.head().expect("a stored nomination has its head");
    assert_eq!(head, history.last().unwrap().head());
    assert_eq!(verify_export(&export, &[head]), Ok(vec![head]));
    let messages = store
        .take_messages(day(3), day(3) + TimeDelta::minutes(5), 100)
        .await
        .unwrap();
    assert!(!messages.is_empty());
    for leased in messages {
        let head = leased.message.head.expect("a message carries its head");
        assert_eq!(head, history[head.version as usize - 1].head());
    }
}

/// The due query returns what has woken at `now`, earliest first, up to its
/// limit (R-TIME-4).
pub async fn due_in_wake_order(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let mut added_at = Vec::new();
    for c in 0..6u64 {
        let n = added(&store, 1, c + 1, &engagement, day(c as i64)).await;
        added_at.push(n);
    }
    assert!(
        store.due(day(5), None, 10).await.unwrap().rows.is_empty(),
        "nothing wakes before its first reminder"
    );
    // Consent lapses 30 days after each add; the 7-day reminder is due at day 23 + c.
    let due = store.due(day(25), None, 10).await.unwrap().rows;
    let ids: Vec<&NominationId> = due.iter().map(Nomination::id).collect();
    let expected: Vec<&NominationId> = added_at[..3].iter().map(Nomination::id).collect();
    assert_eq!(ids, expected, "earliest wake first");
    assert_eq!(
        store.due(day(100), None, 2).await.unwrap().rows.len(),
        2,
        "the limit bounds the batch"
    );
    for n in &due {
        assert!(n.wake_at().is_some_and(|wake| wake <= day(25)));
    }
}

/// Known customers: each customer that consented to the partner appears
/// once, in customer order, paged by cursor (R-CLAIM-1).
pub async fn known_customers_once_each(store: Arc<dyn Store>) {
    let first = workshop(5);
    let second = mci_testkit::engagement("second-workshop", EngagementKind::Workshop, 5);
    for c in [3u64, 1, 2] {
        let n = added(&store, 1, c, &first, start()).await;
        consented(&store, &n, start(), c as u8).await;
    }
    let again = added(&store, 1, 1, &second, start()).await;
    consented(&store, &again, start(), 9).await;
    // Not consented: not known.
    added(&store, 1, 4, &first, start()).await;
    let known = store.known_customers(&partner(1), None, 10).await.unwrap();
    let ids: Vec<CustomerId> = known.iter().map(|k| *k.customer.id()).collect();
    let mut expected: Vec<CustomerId> = [1u64, 2, 3].iter().map(|c| *customer(*c).id()).collect();
    expected.sort();
    assert_eq!(ids, expected);
    let rest = store
        .known_customers(&partner(1), Some(&ids[0]), 10)
        .await
        .unwrap();
    assert_eq!(rest.len(), 2);
    let through = store
        .nomination_by_id(&known[0].through)
        .await
        .unwrap()
        .unwrap();
    assert!(through.consented_at().is_some());
}

/// Nominations by stored state, not lapsed at `now`, and a partner's
/// deadlines about to pass (R-ENG-7).
pub async fn by_state_and_lapsing(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let early = added(&store, 1, 1, &engagement, start()).await;
    let late = added(&store, 1, 2, &engagement, day(10)).await;
    added(&store, 2, 3, &engagement, start()).await;
    let query = |partner: Option<u32>, now| StateQuery {
        states: vec![State::CustomerClaimed, State::AwaitingConsent],
        partner: partner.map(mci_testkit::partner),
        now,
        after: None,
        limit: 10,
    };
    let all = store.by_state(&query(None, day(1))).await.unwrap();
    assert_eq!(all.rows.len(), 3);
    let mine = store.by_state(&query(Some(1), day(1))).await.unwrap();
    assert_eq!(
        mine.rows.iter().map(Nomination::id).collect::<Vec<_>>(),
        vec![early.id(), late.id()]
    );
    // At day 30 the first and the other partner's have lapsed, unswept.
    let later = store.by_state(&query(None, day(30))).await.unwrap();
    assert_eq!(
        later.rows.iter().map(Nomination::id).collect::<Vec<_>>(),
        vec![late.id()]
    );
    let lapsing = store
        .lapsing(&partner(1), day(20), day(45), 10)
        .await
        .unwrap();
    assert_eq!(
        lapsing.iter().map(Nomination::id).collect::<Vec<_>>(),
        vec![early.id(), late.id()]
    );
    let lapsing = store
        .lapsing(&partner(1), day(30), day(45), 10)
        .await
        .unwrap();
    assert_eq!(
        lapsing.iter().map(Nomination::id).collect::<Vec<_>>(),
        vec![late.id()]
    );
    assert!(
        store
            .lapsing(&partner(1), day(20), day(29), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A walk of the due query with its cursor meets every due nomination
/// once, in `(wake_at, id)` order, whatever the batch size (R-TIME-4).
pub async fn due_walks_on_with_its_cursor(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    for c in 0..7u64 {
        added(&store, 1, c + 1, &engagement, day((c / 2) as i64)).await;
    }
    let all: Vec<NominationId> = store
        .due(day(100), None, 100)
        .await
        .unwrap()
        .rows
        .iter()
        .map(|n| *n.id())
        .collect();
    assert_eq!(all.len(), 7);
    for batch in [1, 2, 3, 7] {
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let due = store.due(day(100), after, batch).await.unwrap();
            assert!(due.rows.len() <= batch);
            walked.extend(due.rows.iter().map(|n| *n.id()));
            match due.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(walked, all, "batches of {batch}");
    }
}

/// Rows a store cannot read back are passed over and named, never the
/// reason a whole read fails, and never a wall the cursor cannot pass: a
/// due batch or a page made only of them still leads to the rows behind
/// them (R-TIME-4, R-PAGE-1). A single read of one is
/// [`StoreError::Unreadable`](crate::StoreError::Unreadable) naming it,
/// and another partner's read still answers `None` (R-ROLE-2). No reason
/// holds the row's friendly name (R-TOKEN-5). `corrupt` makes the stored
/// row of a nomination unreadable, best in a way the decoder's own message
/// would quote the friendly name in (so that the last check can fail); run
/// this on an adapter that can hold such rows (a store in memory cannot).
pub async fn unreadable_rows_are_passed_over(
    store: Arc<dyn Store>,
    corrupt: &(dyn Fn(&NominationId) + Sync),
) {
    let engagement = workshop(5);
    let mut rows_added = Vec::new();
    for c in 0..5u64 {
        rows_added.push(added(&store, 1, c + 1, &engagement, day(c as i64)).await);
    }
    let ids: Vec<NominationId> = rows_added.iter().map(|n| *n.id()).collect();
    let row = |id: &NominationId| rows_added.iter().find(|n| n.id() == id).unwrap();
    // The three that wake first, which are also first in id order.
    let (bad, good) = ids.split_at(3);
    for id in bad {
        corrupt(id);
    }
    let first = store.due(day(100), None, 3).await.unwrap();
    assert!(first.rows.is_empty());
    assert_eq!(
        first.unreadable.iter().map(|u| u.id).collect::<Vec<_>>(),
        bad
    );
    for u in &first.unreadable {
        reason_holds_no_content(row(&u.id), &u.reason);
    }
    let rest = store.due(day(100), first.next, 3).await.unwrap();
    assert_eq!(rest.rows.iter().map(|n| *n.id()).collect::<Vec<_>>(), good);
    assert!(rest.unreadable.is_empty());

    let (mut rows, mut unreadable, mut after) = (Vec::new(), Vec::new(), None);
    loop {
        let page = store
            .page(&PageQuery {
                partner: mci_testkit::partner(1),
                engagement: engagement.id().clone(),
                tab: Tab::Eligible,
                now: day(5),
                after,
                limit: 2,
            })
            .await
            .unwrap();
        rows.extend(page.rows.iter().map(|n| *n.id()));
        for u in &page.unreadable {
            reason_holds_no_content(row(&u.id), &u.reason);
        }
        unreadable.extend(page.unreadable.iter().map(|u| u.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(rows, good, "the readable rows, each once");
    assert_eq!(unreadable, bad, "the unreadable rows, named");

    for id in bad {
        named_unreadable(row(id), store.nomination_by_id(id).await);
        named_unreadable(
            row(id),
            store.nomination(&mci_testkit::partner(1), id).await,
        );
        assert_eq!(
            store
                .nomination(&mci_testkit::partner(2), id)
                .await
                .unwrap(),
            None,
            "another partner learns nothing of it (R-ROLE-2)"
        );
    }
    assert!(store.nomination_by_id(&good[0]).await.unwrap().is_some());
    // A nomination found by a live link, unreadable behind it.
    let linked = added(&store, 1, 6, &engagement, day(5)).await;
    let linked = consent_sent(&store, &linked, day(5), 6).await;
    corrupt(linked.id());
    named_unreadable(&linked, store.nomination_by_link(&token(6).hash()).await);
}

/// `reason`, given for the unreadable row of `n`, says something and
/// holds nothing of the row: not its friendly name.
fn reason_holds_no_content(n: &Nomination, reason: &str) {
    assert!(!reason.is_empty(), "no reason for {}", n.id());
    let name = n.friendly_name().to_string();
    assert!(
        !reason.contains(&name),
        "the reason for {} quotes its friendly name {name:?}: {reason}",
        n.id()
    );
}

/// `read`, a single read of the unreadable row of `n`, answered
/// [`StoreError::Unreadable`](crate::StoreError::Unreadable) naming it.
fn named_unreadable(n: &Nomination, read: Result<Option<Nomination>, crate::StoreError>) {
    match read {
        Err(crate::StoreError::Unreadable { nomination, reason }) => {
            assert_eq!(nomination, *n.id());
            reason_holds_no_content(n, &reason);
            let error = crate::StoreError::Unreadable { nomination, reason }.to_string();
            assert!(error.contains(&n.id().to_string()), "{error}");
        }
        other => panic!(
            "a single read of the unreadable {} answered {other:?}",
            n.id()
        ),
    }
}

/// The partner that lost (R-CONSENT-10): partner 2's nomination, awaiting
/// consent when partner 1's was accepted, keeps its state and reads on
/// partner 2's Ineligible tab and in its count, and nowhere on partner 1's;
/// its voided link finds nothing (R-TOKEN-2); it stays live for the
/// guards but asks no more; its only wake is its consent deadline, where it
/// leaves the page, lazily and swept alike.
pub async fn r_consent_10_the_loser_reads_as_ineligible(store: Arc<dyn Store>) {
    let engagement = workshop(3);
    let ours = added(&store, 1, 1, &engagement, start()).await;
    let ours = consent_sent(&store, &ours, start(), 1).await;
    let theirs = added(&store, 2, 1, &engagement, start()).await;
    let theirs = consent_sent(&store, &theirs, start(), 2).await;
    let winner = accepted(&store, &ours, day(2), 1).await;
    let loser = store.nomination_by_id(theirs.id()).await.unwrap().unwrap();
    assert_eq!(loser.state(), State::AwaitingConsent);
    assert_eq!(loser.lost_at(), Some(day(2)));
    assert_eq!(loser.version(), theirs.version() + 1);
    let tab = |p: u32, tab: Tab, now: Instant| {
        let store = store.clone();
        let engagement = engagement.clone();
        async move { walk(&store, p, &engagement, tab, now, 2).await }
    };
    let now = day(3);
    assert_eq!(tab(2, Tab::Ineligible, now).await, vec![*loser.id()]);
    assert!(tab(2, Tab::Eligible, now).await.is_empty());
    assert!(tab(1, Tab::Ineligible, now).await.is_empty());
    assert_eq!(tab(1, Tab::Eligible, now).await, vec![*winner.id()]);
    let counts = store
        .count(&partner(2), engagement.id(), now)
        .await
        .unwrap();
    assert_eq!(
        counts,
        crate::TabCounts {
            eligible: 0,
            ineligible: 1,
            complete: 0
        }
    );
    let counts = store
        .count(&partner(1), engagement.id(), now)
        .await
        .unwrap();
    assert_eq!((counts.eligible, counts.ineligible), (1, 0));
    // Its link is void; the winner's still finds the winner.
    assert_eq!(
        store.nomination_by_link(&token(2).hash()).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .nomination_by_link(&token(1).hash())
            .await
            .unwrap()
            .map(|n| *n.id()),
        Some(*winner.id())
    );
    // Live for the guards, asking no more.
    let standings = store
        .standings(engagement.id(), customer(1).id())
        .await
        .unwrap();
    let (_, standing) = standings
        .iter()
        .find(|(p, _)| *p == partner(2))
        .expect("the loser's standing");
    assert!(standing.live_at(now) && !standing.asking_at(now));
    let again = try_write(&store, add(2, 1, &engagement, now)).await;
    assert_eq!(
        again.map(|_| ()).map_err(|e| e.rule()),
        Err(Some("R-ADD-7"))
    );
    let third = try_write(&store, add(3, 1, &engagement, now)).await;
    assert_eq!(
        third.map(|_| ()).map_err(|e| e.rule()),
        Err(Some("R-CONSENT-8")),
        "no new rival can ask beside the consent"
    );
    // No reminder wakes it: only its consent deadline.
    let deadline = loser.deadline().unwrap().at;
    assert_eq!(loser.wake_at(), Some(deadline));
    let due = store
        .due(deadline - TimeDelta::days(1), None, 50)
        .await
        .unwrap();
    assert!(due.rows.iter().all(|n| n.id() != loser.id()), "{due:?}");
    let due = store.due(deadline, None, 50).await.unwrap();
    assert!(due.rows.iter().any(|n| n.id() == loser.id()));
    // At the deadline it leaves the page, lazily and once swept.
    assert!(tab(2, Tab::Ineligible, deadline).await.is_empty());
    let counts = store
        .count(&partner(2), engagement.id(), deadline)
        .await
        .unwrap();
    assert_eq!(counts, crate::TabCounts::default());
    sweep(&store, deadline).await;
    let ended = store.nomination_by_id(loser.id()).await.unwrap().unwrap();
    assert_eq!(ended.state(), State::ConsentExpired);
    assert!(tab(2, Tab::Ineligible, deadline).await.is_empty());
    assert!(!ended.standing().live_at(deadline));
}
