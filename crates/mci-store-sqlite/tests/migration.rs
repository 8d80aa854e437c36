//! A database made by an earlier schema version, holding data, opens under the
//! current version with its data intact (version 3 turns the nanosecond
//! instants of versions 1 and 2 into microseconds; version 6 counts the
//! tabs of the rows it finds; the asking step counts every live nomination
//! before consent as asking); a step that fails is rolled back and the
//! file stays at the version before it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use mci_core::ClaimsOrder;
use mci_core::Instant;
use mci_core::{Candidate, EngagementKind, Event, Message, Nomination, SendConsent, Tab, nominate};
use mci_store::{
    AttentionQuery, ClaimsQuery, ClaimsScope, Commit, Fingerprint, IdempotencyKey,
    IdempotentResult, KnownCounts, KnownQuery, PageQuery, Store, StoreError, Write,
};
use mci_store_sqlite::columns::{customer_order, instant};
use mci_store_sqlite::schema::{MIGRATIONS, SCHEMA_VERSION};
use mci_store_sqlite::{OpenError, SqliteStore};
use mci_testkit::{
    Scenario, admin_of, comment, eligible_facts, engagement, link, nomination_id,
    nomination_request, partner, t0, token,
};
use rusqlite::{Connection, params};
use std::path::Path;

/// A file with the first `version` steps of the schema, as that version of
/// the crate made it.
fn at_version(path: &Path, version: u32) -> Connection {
    let conn = Connection::open(path).unwrap();
    for step in &MIGRATIONS[..version as usize] {
        conn.execute_batch(step.sql).unwrap();
    }
    conn.pragma_update(None, "user_version", version).unwrap();
    conn
}

/// A file with only step 1 of the schema, as version 1 of the crate made it.
fn version_1(path: &Path) -> Connection {
    at_version(path, 1)
}

/// An instant as versions 1 and 2 stored it: nanoseconds since the epoch,
/// clamped to the ends of an `i64` outside 1677-2262.
fn nanos(at: Instant) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// Writes a nomination, its events and its messages as versions 1 and 2
/// wrote them (the tables are the same).
fn insert_v1(conn: &Connection, n: &Nomination, events: &[Event], messages: &[Message]) {
    insert_rows(conn, n, events, messages, nanos);
}

/// Writes a nomination, its events and its messages into the tables of
/// versions 1 to 5, its instants as `stored` turns them into integers.
fn insert_rows(
    conn: &Connection,
    n: &Nomination,
    events: &[Event],
    messages: &[Message],
    stored: fn(Instant) -> i64,
) {
    let id = n.id().as_uuid().into_bytes();
    let placement = n.placement();
    let standing = n.standing();
    conn.execute(
        "INSERT INTO nominations (id, partner, engagement, customer, state, version, tab,
             lapse_at, tab_after, wake_at, live, holds_consent, completed, standing_until, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            id,
            n.partner().as_str(),
            n.engagement().as_str(),
            n.customer().id().to_string(),
            serde_json::to_value(n.state()).unwrap().as_str().unwrap(),
            n.version() as i64,
            Tab::code(placement.tab),
            placement.lapse_at.map(stored),
            placement
                .lapse_at
                .map(|_| Tab::code(placement.tab_after_lapse)),
            placement.wake_at.map(stored),
            standing.live,
            standing.holds_consent,
            standing.completed,
            standing.until.map(stored),
            serde_json::to_string(n).unwrap(),
        ],
    )
    .unwrap();
    for event in events {
        conn.execute(
            "INSERT INTO events (nomination, version, doc) VALUES (?1, ?2, ?3)",
            params![
                id,
                event.version as i64,
                serde_json::to_string(event).unwrap()
            ],
        )
        .unwrap();
    }
    for link in n.links() {
        conn.execute(
            "INSERT INTO links (hash, nomination) VALUES (?1, ?2) \
             ON CONFLICT (hash) DO UPDATE SET nomination = excluded.nomination",
            params![link.hash().as_bytes(), id],
        )
        .unwrap();
    }
    for message in messages {
        conn.execute(
            "INSERT INTO outbox (id, nomination, doc, available_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                message.id.as_uuid().into_bytes(),
                id,
                serde_json::to_string(message).unwrap(),
                stored(message.queued_at)
            ],
        )
        .unwrap();
    }
    if n.consented_at().is_some() {
        conn.execute(
            "INSERT INTO known_customers (partner, customer, through) VALUES (?1, ?2, ?3) \
             ON CONFLICT (partner, customer) DO NOTHING",
            params![n.partner().as_str(), customer_order(n.customer().id()), id],
        )
        .unwrap();
    }
}

/// The first page of partner 1's Eligible tab of `engagement` at `now`.
async fn eligible_of_partner_1(
    store: &SqliteStore,
    engagement: &mci_core::Engagement,
    now: Instant,
) -> Vec<Nomination> {
    tab_of_partner_1(store, engagement, Tab::Eligible, now).await
}

/// The first page of partner 1's `tab` of `engagement` at `now`.
async fn tab_of_partner_1(
    store: &SqliteStore,
    engagement: &mci_core::Engagement,
    tab: Tab,
    now: Instant,
) -> Vec<Nomination> {
    store
        .page(&PageQuery {
            partner: partner(1),
            engagement: engagement.id().clone(),
            tab,
            now,
            after: None,
            limit: 10,
        })
        .await
        .unwrap()
        .rows
}

fn user_version(path: &Path) -> u32 {
    Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_version_1_database_opens_under_the_current_schema_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.sqlite");
    let workshop = engagement("ai-workshop", EngagementKind::Workshop, 1);
    let assessment = engagement("ai-assessment", EngagementKind::Assessment, 1);
    let awaiting = Scenario::added_by(&admin_of(1), &workshop, nomination_id(1))
        .then(|n, now| n.send_consent(now, &admin_of(1), SendConsent::default(), &link(7)));
    let consented = Scenario::added_by(&admin_of(2), &assessment, nomination_id(2)).consent_given();
    let now = consented.now;
    {
        let conn = version_1(&path);
        for s in [&awaiting, &consented] {
            insert_v1(&conn, &s.nomination, &s.events, &s.messages);
        }
        conn.execute(
            "INSERT INTO idempotency (scope, idem_key, result) VALUES ('p1', 'add-1', 'created')",
            [],
        )
        .unwrap();
    }
    assert_eq!(user_version(&path), 1);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);

    // Every kind of data reads back through the current schema's queries.
    for s in [&awaiting, &consented] {
        let n = &s.nomination;
        assert_eq!(
            store
                .nomination(n.partner(), n.id())
                .await
                .unwrap()
                .as_ref(),
            Some(n)
        );
        assert_eq!(store.history(n.id()).await.unwrap(), s.events);
    }
    assert_eq!(
        eligible_of_partner_1(&store, &workshop, now).await,
        vec![awaiting.nomination.clone()]
    );
    assert_eq!(
        store
            .nomination_by_link(&token(7).hash())
            .await
            .unwrap()
            .as_ref(),
        Some(&awaiting.nomination)
    );
    let known = store.known_customers(&partner(2), None, 10).await.unwrap();
    assert_eq!(known.len(), 1);
    assert_eq!(known[0].through, *consented.nomination.id());
    let key = IdempotencyKey::new("p1", "add-1").unwrap();
    let recorded = store.idempotent_result(&key).await.unwrap().unwrap();
    assert_eq!(recorded.result, "created");
    assert_eq!(recorded.fingerprint, None, "version 1 kept no fingerprint");
    let messages = store
        .take_messages(now, now + TimeDelta::minutes(5), 10)
        .await
        .unwrap();
    let mut expected: Vec<_> = awaiting
        .messages
        .iter()
        .chain(&consented.messages)
        .cloned()
        .collect();
    expected.sort_by_key(|m| m.queued_at);
    assert_eq!(
        messages.into_iter().map(|l| l.message).collect::<Vec<_>>(),
        expected
    );
    let due = store
        .due(now + TimeDelta::days(29), None, 10)
        .await
        .unwrap()
        .rows;
    assert_eq!(
        due,
        vec![awaiting.nomination.clone()],
        "the due index covers old rows"
    );

    // And the migrated file takes new commits.
    let commented = consented
        .nomination
        .add_comment(now, &admin_of(2), comment("after the upgrade"))
        .unwrap();
    store
        .commit(Commit::of(now, commented.clone()))
        .await
        .unwrap();
    assert_eq!(
        store
            .history(consented.nomination.id())
            .await
            .unwrap()
            .len(),
        consented.events.len() + 1
    );
    drop(store);

    // Opening again applies nothing.
    drop(SqliteStore::open(&path).unwrap());
    assert_eq!(user_version(&path), SCHEMA_VERSION);
}

#[test]
fn a_failing_step_is_rolled_back_and_the_file_stays_at_the_version_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clash.sqlite");
    {
        let conn = version_1(&path);
        // Two completed nominations of one customer for one engagement: data
        // that version 1 could hold but step 2's unique index refuses.
        for id in [1u8, 2] {
            conn.execute(
                "INSERT INTO nominations (id, partner, engagement, customer, state, version, tab,
                     live, holds_consent, completed, doc)
                 VALUES (?1, 'p' || ?2, 'ai-workshop', 'tpid:42', 'approved', 9, 3, 0, 1, 1, '{}')",
                params![[id; 16], id],
            )
            .unwrap();
        }
    }
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(error, OpenError::Migration { version: 2, .. }),
        "{error:?}"
    );
    assert_eq!(user_version(&path), 1);
    let conn = Connection::open(&path).unwrap();
    let indexes: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'nominations_%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexes, 0, "no index of the failed step stayed");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM nominations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 2);
}

/// The instant column `column` of the nomination row `id`, as stored.
fn column(path: &Path, id: &mci_core::NominationId, column: &str) -> Option<i64> {
    Connection::open(path)
        .unwrap()
        .query_row(
            &format!("SELECT {column} FROM nominations WHERE id = ?1"),
            params![id.as_uuid().into_bytes()],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test]
async fn a_version_2_file_migrates_its_nanosecond_instants_to_microseconds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.sqlite");
    let workshop = engagement("ai-workshop", EngagementKind::Workshop, 3);
    // Version 2 took the system clock as it came, to the nanosecond.
    let fine = t0() + TimeDelta::nanoseconds(123_456_789);
    let created = nominate(
        fine,
        &admin_of(1),
        nomination_request(),
        &[Candidate {
            engagement: &workshop,
            facts: eligible_facts(),
        }],
        || nomination_id(1),
    )
    .unwrap()
    .remove(0);
    let awaiting = Scenario {
        nomination: created.nomination,
        now: fine,
        events: vec![created.event],
        messages: created.messages,
        user: admin_of(1),
    }
    .then(|n, now| n.send_consent(now, &admin_of(1), SendConsent::default(), &link(7)));
    let consented = Scenario::added_by(&admin_of(2), &workshop, nomination_id(2)).consent_given();
    // An instant version 2 could not keep was clamped to the end of i64.
    let clamped = Scenario::added_by(&admin_of(3), &workshop, nomination_id(3));
    {
        let conn = at_version(&path, 2);
        for s in [&awaiting, &consented, &clamped] {
            insert_v1(&conn, &s.nomination, &s.events, &s.messages);
        }
        conn.execute(
            "UPDATE nominations SET lapse_at = ?1, wake_at = ?1, standing_until = ?1 WHERE id = ?2",
            params![i64::MAX, clamped.nomination.id().as_uuid().into_bytes()],
        )
        .unwrap();
    }
    let deadline = awaiting.nomination.deadline().unwrap();
    let n1 = awaiting.nomination.id();
    assert_eq!(column(&path, n1, "lapse_at"), Some(nanos(deadline.at)));

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        user_version(&path),
        mci_store_sqlite::schema::SCHEMA_VERSION
    );

    // Every instant column is in microseconds, rounded up, as the store
    // now writes them; a clamped one stays at the end.
    let micros = |at: Instant| Some(instant(at));
    assert_eq!(column(&path, n1, "lapse_at"), micros(deadline.at));
    assert_eq!(
        column(&path, n1, "lapse_at"),
        Some(nanos(deadline.at) / 1000 + 1)
    );
    assert_eq!(
        column(&path, n1, "wake_at"),
        micros(awaiting.nomination.wake_at().unwrap())
    );
    assert_eq!(column(&path, n1, "standing_until"), micros(deadline.at));
    let n2 = consented.nomination.id();
    let claim_deadline = consented.nomination.deadline().unwrap().at;
    assert_eq!(column(&path, n2, "lapse_at"), micros(claim_deadline));
    assert_eq!(claim_deadline.timestamp_subsec_nanos(), 0);
    assert_eq!(
        column(&path, n2, "lapse_at"),
        Some(nanos(claim_deadline) / 1000)
    );
    for name in ["lapse_at", "wake_at", "standing_until"] {
        assert_eq!(
            column(&path, clamped.nomination.id(), name),
            Some(i64::MAX),
            "{name}"
        );
    }
    let available: Vec<i64> = Connection::open(&path)
        .unwrap()
        .prepare("SELECT available_at FROM outbox ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let queued: Vec<i64> = awaiting
        .messages
        .iter()
        .chain(&consented.messages)
        .map(|m| instant(m.queued_at))
        .collect();
    assert_eq!(available, queued);

    // The documents keep their instants to the nanosecond.
    assert_eq!(
        store.nomination_by_id(n1).await.unwrap().as_ref(),
        Some(&awaiting.nomination)
    );
    assert_eq!(store.history(n1).await.unwrap(), awaiting.events);

    // At every microsecond the store answers as the core does: the
    // consent lapses at the first microsecond at or after its deadline.
    let before = mci_core::truncate_to_micros(deadline.at);
    let after = before + TimeDelta::microseconds(1);
    for (now, lapsed) in [(before, false), (after, true)] {
        assert_eq!(deadline.is_past(now), lapsed);
        let lapsing = store
            .lapsing(&partner(1), now - TimeDelta::days(1), now, 10)
            .await
            .unwrap();
        assert_eq!(lapsing.len(), usize::from(lapsed), "at {now}");
        let rows = eligible_of_partner_1(&store, &workshop, now).await;
        assert_eq!(rows.len(), usize::from(!lapsed), "at {now}");
    }
    // The consent email was queued a fraction of a microsecond after
    // `fine`'s last whole one: it is available from the next.
    let queued_at = awaiting.messages[0].queued_at;
    let floor = mci_core::truncate_to_micros(queued_at);
    let lease = TimeDelta::minutes(5);
    let early = store.take_messages(floor, floor + lease, 10).await.unwrap();
    assert!(early.iter().all(|l| l.message.nomination != *n1));
    let next = floor + TimeDelta::microseconds(1);
    let taken = store.take_messages(next, next + lease, 10).await.unwrap();
    assert_eq!(
        taken.iter().map(|l| l.message.id).collect::<Vec<_>>(),
        vec![awaiting.messages[0].id]
    );
}

/// A key recorded before fingerprints were kept (schema version 2) binds no
/// known command: after the upgrade it is answered as before, as used,
/// whatever the command, and the commit writes nothing; a key recorded
/// after the upgrade is bound to its command (R-REC-5).
#[tokio::test]
async fn r_rec_5_a_key_recorded_before_fingerprints_is_answered_as_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.sqlite");
    {
        let conn = version_1(&path);
        let step = &MIGRATIONS[1];
        assert_eq!(step.version, 2);
        conn.execute_batch(step.sql).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute(
            "INSERT INTO idempotency (scope, idem_key, result) VALUES ('p1', 'k-old', 'first')",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let old = IdempotencyKey::new("p1", "k-old").unwrap();
    let recorded = store.idempotent_result(&old).await.unwrap().unwrap();
    assert_eq!(
        (recorded.fingerprint, recorded.result.as_str()),
        (None, "first")
    );

    let workshop = engagement("ai-workshop", EngagementKind::Workshop, 1);
    let added = Scenario::added_by(&admin_of(1), &workshop, nomination_id(1));
    let id = *added.nomination.id();
    let create = Write {
        nomination: added.nomination.clone(),
        expected_version: 0,
        event: added.events[0].clone(),
        messages: added.messages.clone(),
        guards: Vec::new(),
    };
    let command = Fingerprint::of("add_customer", None, "any form").unwrap();
    let commit = Commit::at(added.now).with(create.clone()).idempotent(
        old.clone(),
        command,
        "second".into(),
    );
    let err = store.commit(commit).await.unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyKeyUsed), "{err:?}");
    assert_eq!(store.nomination_by_id(&id).await.unwrap(), None);
    assert_eq!(store.idempotent_result(&old).await.unwrap(), Some(recorded));

    // A key used after the upgrade keeps its fingerprint and is bound to it.
    let new = IdempotencyKey::new("p1", "k-new").unwrap();
    let commit = Commit::at(added.now).with(create.clone()).idempotent(
        new.clone(),
        command,
        "created".into(),
    );
    store.commit(commit).await.unwrap();
    assert_eq!(
        store.idempotent_result(&new).await.unwrap(),
        Some(IdempotentResult {
            fingerprint: Some(command),
            result: "created".into(),
        })
    );
    let other = Fingerprint::of("cancel", Some(&id), &()).unwrap();
    let commit = Commit::at(added.now).idempotent(new.clone(), other, "other".into());
    let err = store.commit(commit).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::IdempotencyKeyMismatch { key } if *key == new),
        "{err:?}"
    );
}

/// Takes out of a file of the current version what the Attention required
/// list's step made: no index, no column of it.
fn undo_attention(conn: &Connection) {
    assert_eq!(
        MIGRATIONS.last().map(|m| m.name),
        Some("the Attention required list")
    );
    conn.execute_batch(
        "DROP INDEX attention_walk;
         ALTER TABLE nominations DROP COLUMN attention;",
    )
    .unwrap();
}

/// Takes out of a file of the version after the Claims page's step what
/// that step made: no counters, no indexes, no columns of it.
fn undo_claims_page(conn: &Connection) {
    assert_eq!(MIGRATIONS[10].name, "the Claims page");
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'claim%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for index in indexes {
        conn.execute_batch(&format!("DROP INDEX {index}")).unwrap();
    }
    conn.execute_batch(
        "DROP TRIGGER claim_counts_insert; DROP TRIGGER claim_counts_update;
         DROP TRIGGER claim_counts_delete; DROP TABLE claim_counts;
         ALTER TABLE nominations DROP COLUMN created_at;
         ALTER TABLE nominations DROP COLUMN changed_at;
         ALTER TABLE nominations DROP COLUMN state_after;
         ALTER TABLE nominations DROP COLUMN reviewable;",
    )
    .unwrap();
}

/// Takes out of a file of the current version what step 6 made (the kept
/// counts, their triggers and the lapse index), so that it is what
/// version 5 made of it.
fn undo_step_6(conn: &Connection) {
    assert_eq!(MIGRATIONS[5].version, 6);
    conn.execute_batch(
        "DROP TRIGGER tab_counts_insert; DROP TRIGGER tab_counts_update;
         DROP TRIGGER tab_counts_delete; DROP INDEX nominations_lapse; DROP TABLE tab_counts;",
    )
    .unwrap();
}

/// Every file of the database at `path` (the file, its WAL, its shared
/// memory), read whole.
fn database_files(path: &Path) -> Vec<(String, Vec<u8>)> {
    let dir = path.parent().unwrap();
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().starts_with(&*path.to_string_lossy()))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

#[tokio::test]
async fn r_token_4_a_file_from_before_link_ids_keeps_no_token_in_its_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.sqlite");
    let workshop = engagement("ai-workshop", EngagementKind::Workshop, 3);
    // Two partners' nominations, as the current version writes them: one
    // asked for consent and reminded, one asked.
    let (old, new) = (nomination_id(1), nomination_id(2));
    {
        let store = SqliteStore::open(&path).unwrap();
        for (id, reminded, user, first) in
            [(old, true, admin_of(1), 1), (new, false, admin_of(2), 3)]
        {
            let created = nominate(
                t0(),
                &user,
                nomination_request(),
                &[Candidate {
                    engagement: &workshop,
                    facts: eligible_facts(),
                }],
                || id,
            )
            .unwrap()
            .remove(0);
            let mut n = created.nomination.clone();
            store.commit(Commit::of(t0(), created)).await.unwrap();
            let sent = n
                .send_consent(t0(), &user, SendConsent::default(), &link(first))
                .unwrap();
            n = sent.nomination.clone();
            store.commit(Commit::of(t0(), sent)).await.unwrap();
            if reminded {
                let again = n.resend_consent(t0(), &user, &link(2)).unwrap();
                store.commit(Commit::of(t0(), again)).await.unwrap();
            }
        }
    }
    // Versions 1 to 4 kept the token itself in the message; the first of
    // the old nomination's two messages was delivered, the second not.
    {
        let conn = Connection::open(&path).unwrap();
        let old_id = old.as_uuid().into_bytes();
        conn.execute(
            "UPDATE outbox SET doc = json_set(json_remove(doc, '$.kind.link'), \
             '$.kind.token', ?1) WHERE nomination = ?2",
            params![token(1).to_string(), old_id],
        )
        .unwrap();
        conn.execute(
            "UPDATE outbox SET delivered = 1 WHERE seq = \
             (SELECT min(seq) FROM outbox WHERE nomination = ?1)",
            params![old_id],
        )
        .unwrap();
        // And had none of the tables of the later versions.
        conn.execute_batch(
            "DROP TABLE known_rows; DROP TABLE known_figures; DROP TABLE known_engagements; \
             DROP TABLE settings;",
        )
        .unwrap();
        // Nor had it the columns of later steps (R-CONSENT-10, R-LIST-1,
        // R-LIST-3).
        undo_attention(&conn);
        undo_claims_page(&conn);
        conn.execute_batch("ALTER TABLE nominations DROP COLUMN asking")
            .unwrap();
        undo_step_6(&conn);
        conn.pragma_update(None, "user_version", 4).unwrap();
    }
    let before = database_files(&path);
    assert!(
        before
            .iter()
            .any(|(_, bytes)| mci_testkit::holds_token(bytes, &token(1))),
        "the version 4 file holds the token"
    );

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    for (name, bytes) in database_files(&path) {
        assert!(
            !mci_testkit::holds_token(&bytes, &token(1)),
            "{name} still holds the token"
        );
    }
    // The old messages count as delivered; the new one is still pending.
    let later = t0() + TimeDelta::hours(1);
    let pending = store
        .take_messages(later, later + TimeDelta::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|l| l.message.nomination)
            .collect::<Vec<_>>(),
        vec![new]
    );
    // A link already delivered still opens its nomination.
    assert_eq!(
        store
            .nomination_by_link(&token(1).hash())
            .await
            .unwrap()
            .map(|n| *n.id()),
        Some(old)
    );
    drop(store);
    for (name, bytes) in database_files(&path) {
        assert!(
            !mci_testkit::holds_token(&bytes, &token(1)),
            "{name} holds the token after closing"
        );
    }
}

/// Partner 1's counts of every tab of `engagement` at `now`, checked
/// against a walk of each tab and against the tab each of `nominations`
/// (partner 1's of `engagement`, as stored) is in at `now`.
async fn counts_of_partner_1(
    store: &SqliteStore,
    engagement: &mci_core::Engagement,
    nominations: &[&Nomination],
    now: Instant,
) -> [u64; 3] {
    let counts = store
        .count(&partner(1), engagement.id(), now)
        .await
        .unwrap();
    for tab in Tab::ALL {
        let page = tab_of_partner_1(store, engagement, tab, now).await;
        let mut walked: Vec<_> = page.iter().map(|n| *n.id()).collect();
        let mut placed: Vec<_> = nominations
            .iter()
            .filter(|n| n.placement().tab_at(now) == Some(tab))
            .map(|n| *n.id())
            .collect();
        walked.sort();
        placed.sort();
        assert_eq!(walked, placed, "{tab} at {now}");
        assert_eq!(
            counts.get(tab),
            walked.len() as u64,
            "count of {tab} at {now}"
        );
    }
    Tab::ALL.map(|tab| counts.get(tab))
}

/// Counts by (partner, engagement, tab).
type Counts = Vec<(String, String, i64, i64)>;

/// The counts a file keeps, by (partner, engagement, tab), and the counts
/// of its rows, leaving out zeros.
fn kept_and_counted(path: &Path) -> (Counts, Counts) {
    let conn = Connection::open(path).unwrap();
    let read = |sql: &str| -> Counts {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    (
        read("SELECT partner, engagement, tab, n FROM tab_counts WHERE n <> 0 ORDER BY 1, 2, 3"),
        read(
            "SELECT partner, engagement, tab, count(*) FROM nominations WHERE tab <> 0 \
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        ),
    )
}

/// A file of version 5 kept no counts: the upgrade counts the rows it
/// holds, the counts agree with walks of the tabs at every instant (before
/// and at a lapse the sweep has not written), and later commits keep them
/// (R-PAGE-9).
#[tokio::test]
async fn r_page_9_a_version_5_file_counts_its_tabs_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.sqlite");
    let workshop = engagement("ai-workshop", EngagementKind::Workshop, 9);
    let assessment = engagement("ai-assessment", EngagementKind::Assessment, 9);
    let by = |p: u32, engagement: &mci_core::Engagement, n: u64| {
        Scenario::added_by(&admin_of(p), engagement, nomination_id(n))
    };
    let awaiting = by(1, &workshop, 1);
    let sent = by(1, &workshop, 2)
        .then(|n, now| n.send_consent(now, &admin_of(1), SendConsent::default(), &link(2)));
    let consented = by(1, &workshop, 3).consent_given();
    let completed_cancel = by(1, &workshop, 4).consent_given().cancel();
    let hidden_cancel = by(1, &workshop, 5).cancel();
    let rejected = by(1, &workshop, 6)
        .consent_given()
        .prove_everything()
        .submit()
        .start_review()
        .reject();
    let others = [by(2, &workshop, 7), by(1, &assessment, 8).consent_given()];
    let mine = [
        &awaiting,
        &sent,
        &consented,
        &completed_cancel,
        &hidden_cancel,
        &rejected,
    ];
    {
        let conn = at_version(&path, 5);
        for s in mine.iter().copied().chain(&others) {
            insert_rows(&conn, &s.nomination, &s.events, &s.messages, instant);
        }
    }
    assert_eq!(user_version(&path), 5);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let (kept, counted) = kept_and_counted(&path);
    assert_eq!(kept, counted, "the upgrade counted every row");
    assert_eq!(
        kept.len(),
        4,
        "two tabs of partner 1's workshop, and the others"
    );

    let mut nominations: Vec<&Nomination> = mine.iter().map(|s| &s.nomination).collect();
    let now = rejected.now;
    let consent_lapse = awaiting.nomination.deadline().unwrap().at;
    let claim_lapse = consented.nomination.deadline().unwrap().at;
    let dispute_lapse = rejected.nomination.deadline().unwrap().at;
    let mut instants = vec![now];
    for lapse in [consent_lapse, claim_lapse, dispute_lapse] {
        instants.extend([lapse - TimeDelta::microseconds(1), lapse]);
    }
    for at in &instants {
        counts_of_partner_1(&store, &workshop, &nominations, *at).await;
    }
    assert_eq!(
        counts_of_partner_1(&store, &workshop, &nominations, now).await,
        [4, 0, 1],
        "two awaiting consent, one consented, one rejected; one cancelled after consent"
    );
    assert_eq!(
        counts_of_partner_1(&store, &workshop, &nominations, consent_lapse).await,
        [2, 0, 1],
        "both consents lapsed"
    );

    // After the upgrade, commits keep the counts: one consented claim
    // cancelled (Eligible to Complete), one nomination added.
    let cancelled = consented.clone().cancel();
    let added = Scenario::added_by(&admin_of(1), &workshop, nomination_id(9));
    for (s, expected_version) in [(&cancelled, consented.nomination.version()), (&added, 0)] {
        let write = Write {
            nomination: s.nomination.clone(),
            expected_version,
            event: s.events.last().unwrap().clone(),
            messages: Vec::new(),
            guards: Vec::new(),
        };
        store.commit(Commit::at(s.now).with(write)).await.unwrap();
    }
    nominations[2] = &cancelled.nomination;
    nominations.push(&added.nomination);
    assert_eq!(
        counts_of_partner_1(&store, &workshop, &nominations, now).await,
        [4, 0, 2]
    );
    for at in &instants {
        counts_of_partner_1(&store, &workshop, &nominations, *at).await;
    }
    drop(store);
    let (kept, counted) = kept_and_counted(&path);
    assert_eq!(kept, counted, "the commits kept the counts");
}

/// The triggers of step 6 keep the counts whoever writes the rows (the
/// store, or raw statements such as the benchmarks' baselines): after
/// inserts, updates that move rows between tabs, partners and engagements
/// or leave their tab alone, and deletes (R-PAGE-9).
#[test]
fn r_page_9_the_kept_counts_follow_every_insert_update_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counts.sqlite");
    let conn = at_version(&path, SCHEMA_VERSION);
    conn.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
         INSERT INTO nominations (id, partner, engagement, customer, state, version, tab,
             live, holds_consent, completed, doc)
         SELECT randomblob(16), 'p' || (i % 3), 'e' || (i / 4 % 2), 'tpid:' || i,
             'awaiting_consent', 1, i % 4, 1, 0, 0, '{}'
         FROM n;",
    )
    .unwrap();
    let (kept, counted) = kept_and_counted(&path);
    assert_eq!(kept, counted);
    assert_eq!(
        kept.len(),
        3 * 2 * 3,
        "every partner, engagement and shown tab"
    );
    for sql in [
        "UPDATE nominations SET tab = (tab + 1) % 4 WHERE rowid % 3 = 0",
        "UPDATE nominations SET version = 2, doc = '{ }' WHERE rowid % 5 = 0",
        "UPDATE nominations SET tab = 0 WHERE rowid % 7 = 0",
        "UPDATE nominations SET partner = 'p9', tab = 2 WHERE rowid % 11 = 0",
        "UPDATE nominations SET engagement = 'e9' WHERE rowid % 13 = 0",
        "DELETE FROM nominations WHERE rowid % 17 = 0",
    ] {
        conn.execute_batch(sql).unwrap();
        let (kept, counted) = kept_and_counted(&path);
        assert_eq!(kept, counted, "after {sql}");
    }
}

/// A file of version 5, from before the known rows, opens under the
/// current schema with no known rows; seeding an engagement then gives
/// each of its known customers a row, in batches, placed as the core
/// places it: on Eligible, not checked yet, except where the partner's own
/// live nomination shows instead (R-PAGE-2, R-PAGE-9).
#[tokio::test]
async fn r_page_9_a_version_5_file_opens_and_seeding_gives_its_known_customers_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.sqlite");
    let workshop = engagement("ai-workshop", EngagementKind::Workshop, 3);
    let project = mci_testkit::variable_project();
    let assessment = engagement("ai-assessment", EngagementKind::Assessment, 3);
    // Partner 1 knows Contoso through the workshop and an opportunity
    // through the project; partner 2 knows Contoso through the workshop;
    // partner 3 only asked Contoso, who never answered.
    let consented = |p: u32, e: &mci_core::Engagement, n: u64| {
        let t = u8::try_from(n).unwrap();
        Scenario::added_by(&admin_of(p), e, nomination_id(n))
            .then(|n, now| n.send_consent(now, &admin_of(p), SendConsent::default(), &link(t)))
            .wait_days(1)
            .then_step(|n, now| n.accept_consent(now, &token(t)))
    };
    let known = [
        consented(1, &workshop, 1),
        consented(1, &project, 2),
        consented(2, &workshop, 3),
    ];
    let asked = Scenario::added_by(&admin_of(3), &assessment, nomination_id(4))
        .then(|n, now| n.send_consent(now, &admin_of(3), SendConsent::default(), &link(9)));
    let now = known[0].now;
    {
        let conn = at_version(&path, 5);
        for s in known.iter().chain([&asked]) {
            insert_rows(&conn, &s.nomination, &s.events, &s.messages, instant);
        }
    }
    assert_eq!(user_version(&path), 5);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let counts = |p: u32, e: &mci_core::Engagement| {
        let (store, id) = (&store, e.id().clone());
        async move { store.known_counts(&partner(p), &id, now).await.unwrap() }
    };
    assert_eq!(
        counts(1, &assessment).await,
        KnownCounts::default(),
        "no rows before seeding"
    );

    // Three known customers, in batches of two: done at the second call.
    assert!(!store.seed_known(assessment.id(), now, 2).await.unwrap());
    assert!(store.seed_known(assessment.id(), now, 2).await.unwrap());
    assert!(store.seed_known(assessment.id(), now, 2).await.unwrap());
    let expected = KnownCounts {
        eligible: 2,
        not_checked: 2,
        ineligible: 0,
        oldest_answer: None,
    };
    assert_eq!(counts(1, &assessment).await, expected);
    assert_eq!(
        counts(2, &assessment).await,
        KnownCounts {
            eligible: 1,
            not_checked: 1,
            ..expected
        }
    );
    assert_eq!(counts(3, &assessment).await, KnownCounts::default());
    let page = store
        .known_page(&KnownQuery {
            partner: partner(1),
            engagement: assessment.id().clone(),
            tab: Tab::Eligible,
            now,
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    let mut through: Vec<_> = page.rows.iter().map(|r| r.known.through).collect();
    through.sort_unstable();
    assert_eq!(through, vec![nomination_id(1), nomination_id(2)]);
    assert!(
        page.rows
            .iter()
            .all(|r| !r.placement.checked && r.answer.is_none())
    );
    let to_check = store.known_to_check(now, 10).await.unwrap();
    assert_eq!(to_check.len(), 3, "every row is still to be asked about");

    // On the workshop, the partners' own consented nominations are live:
    // seeded, their rows show nowhere.
    assert!(store.seed_known(workshop.id(), now, 10).await.unwrap());
    assert_eq!(counts(2, &workshop).await, KnownCounts::default());
}

/// The step that keeps whether a nomination still asks for consent
/// (R-CONSENT-10) finds a file where nobody ever lost: every live
/// nomination before consent asks, none other does. The acceptance's guard
/// then counts them: accepting without them is refused, accepting among
/// them makes them lose, and the column follows.
#[tokio::test]
async fn r_consent_10_a_file_from_before_the_asking_step_counts_its_live_nominations_before_consent_as_asking()
 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.sqlite");
    let workshop = engagement("ai-workshop", EngagementKind::Workshop, 3);
    let sent = |p: u32, id: u64, t: u8| {
        Scenario::added_by(&admin_of(p), &workshop, nomination_id(id))
            .then(|n, now| n.send_consent(now, &admin_of(p), SendConsent::default(), &link(t)))
    };
    let ours = sent(1, 1, 1);
    let theirs = sent(2, 2, 2);
    let withdrawn = Scenario::added_by(&admin_of(3), &workshop, nomination_id(3))
        .then(|n, now| n.cancel(now, &admin_of(3)));
    let before = mci_store_sqlite::schema::MIGRATIONS
        .iter()
        .position(|m| m.sql.contains("ADD COLUMN asking"))
        .expect("the asking step") as u32;
    {
        let conn = at_version(&path, before);
        for s in [&ours, &theirs, &withdrawn] {
            insert_rows(&conn, &s.nomination, &s.events, &[], instant);
        }
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    for (s, asking) in [(&ours, 1), (&theirs, 1), (&withdrawn, 0)] {
        assert_eq!(column(&path, s.nomination.id(), "asking"), Some(asking));
    }
    let now = t0() + TimeDelta::days(1);
    let alone = match ours.nomination.accept_consent(now, &token(1)).unwrap() {
        mci_core::Step::Changed(outcome) => *outcome,
        mci_core::Step::Unchanged => panic!("a first acceptance"),
    };
    let refused = store.commit(Commit::of(now, alone)).await.unwrap_err();
    assert_eq!(refused.rule(), Some("R-CONSENT-10"), "{refused}");
    assert!(refused.is_retryable());
    let rivals = store
        .rivals(workshop.id(), ours.nomination.customer().id())
        .await
        .unwrap();
    assert_eq!(rivals.len(), 3);
    let acceptance = ours
        .nomination
        .accept_consent_among(now, &token(1), &rivals)
        .unwrap()
        .unwrap();
    assert_eq!(acceptance.losers.len(), 1);
    store
        .commit(Commit::of_all(now, acceptance.into_outcomes()))
        .await
        .unwrap();
    for (s, asking) in [(&ours, 0), (&theirs, 0), (&withdrawn, 0)] {
        assert_eq!(column(&path, s.nomination.id(), "asking"), Some(asking));
    }
    let lost = store
        .nomination_by_id(theirs.nomination.id())
        .await
        .unwrap()
        .unwrap();
    assert!(lost.lost_at().is_some());
    assert_eq!(column(&path, lost.id(), "live"), Some(1));
    assert_eq!(
        column(&path, lost.id(), "tab"),
        Some(i64::from(Tab::code(Some(Tab::Ineligible))))
    );
}

/// A document as the crate wrote it before histories were chained: without
/// the members of R-LIST-4.
fn unchained(doc: &str, members: &[&str]) -> String {
    let mut json: serde_json::Value = serde_json::from_str(doc).unwrap();
    for member in members {
        json.as_object_mut().unwrap().remove(*member);
    }
    json.to_string()
}

#[tokio::test]
async fn r_list_4_a_file_from_before_the_chain_has_every_history_chained_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v8.sqlite");
    let workshop = engagement("ai-workshop", EngagementKind::Workshop, 3);
    let approved = Scenario::approved();
    let sent = Scenario::added_by(&admin_of(2), &workshop, nomination_id(2))
        .then(|n, now| n.send_consent(now, &admin_of(2), SendConsent::default(), &link(2)));
    let chained = MIGRATIONS
        .iter()
        .position(|m| m.name == "every history a hash chain")
        .expect("the chaining step") as u32;
    {
        let conn = at_version(&path, chained);
        for s in [&approved, &sent] {
            insert_rows(&conn, &s.nomination, &s.events, &[], instant);
        }
        // Strip what the chain added, as the earlier crate wrote them.
        let rows: Vec<(Vec<u8>, i64, String)> = conn
            .prepare("SELECT nomination, version, doc FROM events")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (id, version, doc) in rows {
            conn.execute(
                "UPDATE events SET doc = ?3 WHERE nomination = ?1 AND version = ?2",
                params![id, version, unchained(&doc, &["previous", "hash"])],
            )
            .unwrap();
        }
        let rows: Vec<(Vec<u8>, String)> = conn
            .prepare("SELECT id, doc FROM nominations")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (id, doc) in rows {
            conn.execute(
                "UPDATE nominations SET doc = ?2 WHERE id = ?1",
                params![id, unchained(&doc, &["last_hash"])],
            )
            .unwrap();
        }
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    for s in [&approved, &sent] {
        let id = s.nomination.id();
        // The history reads back chained exactly as the domain chains it,
        // and the nomination's head is its last event's.
        assert_eq!(store.history(id).await.unwrap(), s.events);
        let stored = store.nomination_by_id(id).await.unwrap().unwrap();
        assert_eq!(stored.head(), Some(s.events.last().unwrap().head()));
        let export: String = s
            .events
            .iter()
            .map(|e| mci_core::ExportLine::Event(e.clone()).to_json_line())
            .collect();
        mci_core::verify_export(&export, &[stored.head().unwrap()]).unwrap();
    }
    // The next change chains on.
    let now = t0() + TimeDelta::days(2);
    let stored = store
        .nomination_by_id(sent.nomination.id())
        .await
        .unwrap()
        .unwrap();
    let reminded = stored.resend_consent(now, &admin_of(2), &link(3)).unwrap();
    assert_eq!(
        reminded.event.previous,
        Some(sent.events.last().unwrap().hash)
    );
    store
        .commit(Commit::of(now, reminded.clone()))
        .await
        .unwrap();
    let history = store.history(sent.nomination.id()).await.unwrap();
    let export: String = history
        .iter()
        .map(|e| mci_core::ExportLine::Event(e.clone()).to_json_line())
        .collect();
    assert_eq!(
        mci_core::verify_export(&export, &[]).unwrap(),
        vec![reminded.event.head()]
    );
}

/// A file from before the settings step, holding a nomination and a payout
/// batch, opens under the current schema: it has no setting yet, a setting
/// put then is read back after the file is opened again, its batch is
/// listed (R-CLAIM-W-9), and the table's checks refuse what the store could
/// not read back, whoever writes it.
#[tokio::test]
async fn a_file_from_before_the_settings_step_keeps_its_data_and_keeps_settings_after_it() {
    use mci_core::{PayoutBatchId, PayoutCycle, payout_run};
    use mci_store::{SettingCondition, SettingKey, SettingValue};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v9.sqlite");
    let approved = Scenario::approved();
    let now = t0() + TimeDelta::days(30);
    let batch_id = PayoutBatchId::from_uuid(nomination_id(90).as_uuid()).unwrap();
    let cycle = PayoutCycle::containing(t0(), PayoutCycle::DEFAULT_PERIOD, now).unwrap();
    let (batch, _) = payout_run(
        batch_id,
        cycle,
        now,
        std::slice::from_ref(&approved.nomination),
    )
    .unwrap();
    let before = MIGRATIONS
        .iter()
        .position(|m| m.name == "the settings of the embedding application")
        .expect("the settings step") as u32;
    {
        let conn = at_version(&path, before);
        insert_rows(&conn, &approved.nomination, &approved.events, &[], instant);
        conn.execute(
            "INSERT INTO payout_batches (id, doc) VALUES (?1, ?2)",
            params![
                batch_id.as_uuid().as_bytes().to_vec(),
                serde_json::to_string(&batch).unwrap()
            ],
        )
        .unwrap();
    }
    let key: SettingKey = "demo.clock".parse().unwrap();
    let value = SettingValue::new("2026-04-01T09:00:00Z").unwrap();
    {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(user_version(&path), SCHEMA_VERSION);
        assert_eq!(
            store.history(approved.nomination.id()).await.unwrap(),
            approved.events
        );
        assert_eq!(
            store.payout_batches(None, 10).await.unwrap(),
            vec![batch.clone()]
        );
        assert_eq!(store.setting(&key).await.unwrap(), None);
        store
            .put_setting(&key, &value, &SettingCondition::Absent)
            .await
            .unwrap();
        store.close().await.unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.setting(&key).await.unwrap(), Some(value));
    drop(store);

    let conn = Connection::open(&path).unwrap();
    for (key, value) in [
        (String::new(), String::from("1")),
        ("k".repeat(65), String::from("1")),
        (String::from("big"), "é".repeat(2049)),
    ] {
        let refused = conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)",
            params![key, value],
        );
        assert!(refused.is_err(), "{key:?} stored");
    }
}

/// The lists of the Claims page `all` gives for `query`: the rows it
/// admits, newest first.
fn claims_expected(all: &[Nomination], query: &ClaimsQuery) -> Vec<mci_core::NominationId> {
    let mut rows: Vec<_> = all
        .iter()
        .filter(|n| query.admits(n))
        .map(|n| (query.cursor_of(n).at, *n.id()))
        .collect();
    rows.sort_by(|a, b| b.cmp(a));
    rows.into_iter().map(|(_, id)| id).collect()
}

/// A file from before the Claims page's step opens with every row on the
/// Claims page: the step fills each row's columns from its document and the
/// counters from the rows, so lists and counts are what the rows' states give, at
/// any instant, lapses not yet swept included; a write after the upgrade
/// counts too (R-LIST-1).
#[tokio::test]
async fn r_list_1_a_file_from_before_the_claims_page_lists_and_counts_its_claims_after_the_upgrade()
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v10.sqlite");
    let workshop = engagement("ai-workshop", EngagementKind::Workshop, 3);
    let scenarios = [
        Scenario::added_by(&admin_of(1), &workshop, nomination_id(11)),
        Scenario::added_by(&admin_of(1), &workshop, nomination_id(12))
            .wait_days(1)
            .consent_given(),
        Scenario::added_by(&admin_of(1), &workshop, nomination_id(13))
            .wait_days(2)
            .consent_given()
            .prove_everything()
            .submit(),
        Scenario::added_by(&admin_of(2), &workshop, nomination_id(14))
            .consent_given()
            .prove_everything()
            .submit(),
    ];
    let claims_page = MIGRATIONS
        .iter()
        .position(|m| m.name == "the Claims page")
        .expect("the Claims page's step") as u32;
    {
        let conn = at_version(&path, claims_page);
        for s in &scenarios {
            insert_rows(&conn, &s.nomination, &s.events, &[], instant);
        }
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let all: Vec<Nomination> = scenarios.iter().map(|s| s.nomination.clone()).collect();
    let scopes = [
        ClaimsScope::Partner(partner(1)),
        ClaimsScope::Partner(partner(2)),
        ClaimsScope::Reviewer,
    ];
    // Before the first lapse, at it (the one waiting for consent lapses,
    // unswept), and when every claim window has closed.
    let lapse = scenarios[0].nomination.deadline().unwrap().at;
    for now in [
        t0() + TimeDelta::days(3),
        lapse,
        t0() + TimeDelta::days(400),
    ] {
        for scope in &scopes {
            for order in ClaimsOrder::ALL {
                let query = ClaimsQuery::new(scope.clone(), order, now, 10);
                let page = store.claims(&query).await.unwrap();
                let listed: Vec<_> = page.rows.iter().map(|n| *n.id()).collect();
                assert_eq!(
                    listed,
                    claims_expected(&all, &query),
                    "{scope:?} {order} at {now}"
                );
            }
            let counts = store.claim_counts(scope, None, now).await.unwrap();
            for state in mci_core::State::ALL {
                let query = ClaimsQuery {
                    state: Some(state),
                    ..ClaimsQuery::new(scope.clone(), ClaimsOrder::Created, now, 10)
                };
                assert_eq!(
                    counts.get(state),
                    claims_expected(&all, &query).len() as u64,
                    "{state} of {scope:?} at {now}"
                );
            }
        }
    }
    let counts = store
        .claim_counts(
            &ClaimsScope::Reviewer,
            Some(workshop.id()),
            t0() + TimeDelta::days(3),
        )
        .await
        .unwrap();
    assert_eq!(counts.get(mci_core::State::Submitted), 2);
    // A write after the upgrade moves the counters.
    let cancelled = scenarios[1]
        .nomination
        .cancel(t0() + TimeDelta::days(3), &admin_of(1))
        .unwrap();
    store
        .commit(Commit::of(t0() + TimeDelta::days(3), cancelled))
        .await
        .unwrap();
    let counts = store
        .claim_counts(
            &ClaimsScope::Partner(partner(1)),
            None,
            t0() + TimeDelta::days(3),
        )
        .await
        .unwrap();
    assert_eq!(counts.get(mci_core::State::Consented), 0);
    assert_eq!(counts.get(mci_core::State::Cancelled), 1);
    assert_eq!(counts.total(), 3);
}

/// A file from before the Attention required list's step opens with every
/// row on its partner's list: the step fills each row's class from its
/// document, so the list is what the core's rule gives over the rows, at
/// any instant, lapses not yet swept included; a write after the upgrade
/// keeps the class too (R-LIST-3).
#[tokio::test]
async fn r_list_3_a_file_from_before_the_attention_step_lists_what_needs_each_partner_after_the_upgrade()
 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v11.sqlite");
    let workshop = engagement("ai-workshop", EngagementKind::Workshop, 3);
    let scenarios = [
        // Consent due on day 30.
        Scenario::added_by(&admin_of(1), &workshop, nomination_id(21)),
        // Claim due on day 92.
        Scenario::added_by(&admin_of(1), &workshop, nomination_id(22))
            .wait_days(1)
            .consent_given(),
        // Rejected on day 5: disputable until day 35.
        Scenario::added_by(&admin_of(1), &workshop, nomination_id(23))
            .consent_given()
            .prove_everything()
            .submit()
            .start_review()
            .wait_days(4)
            .reject(),
        // With the reviewer: nothing for the partner.
        Scenario::added_by(&admin_of(1), &workshop, nomination_id(24))
            .consent_given()
            .prove_everything()
            .submit(),
        // Sent back to partner 2 for more.
        Scenario::added_by(&admin_of(2), &workshop, nomination_id(25))
            .consent_given()
            .prove_everything()
            .submit()
            .start_review()
            .request_partner_action(),
    ];
    let before = MIGRATIONS
        .iter()
        .position(|m| m.name == "the Attention required list")
        .expect("the Attention required list's step") as u32;
    {
        let conn = at_version(&path, before);
        for s in &scenarios {
            insert_rows(&conn, &s.nomination, &s.events, &[], instant);
            let claims = s.nomination.claims_placement();
            conn.execute(
                "UPDATE nominations SET created_at = ?2, changed_at = ?3, state_after = ?4, \
                 reviewable = ?5 WHERE id = ?1",
                params![
                    s.nomination.id().as_uuid().into_bytes(),
                    instant(claims.created_at),
                    instant(claims.changed_at),
                    claims.state_after_lapse.map(|s| serde_json::to_value(s)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned()),
                    claims.reviewable,
                ],
            )
            .unwrap();
        }
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let all: Vec<Nomination> = scenarios.iter().map(|s| s.nomination.clone()).collect();
    let mut listed_any = false;
    for day in [6, 23, 29, 30, 36, 86, 200] {
        let now = t0() + TimeDelta::days(day);
        for p in 1..=2 {
            let query = AttentionQuery::at(partner(p), now, 10).unwrap();
            let answer = store.attention(&query).await.unwrap();
            let listed: Vec<_> = answer.rows.iter().map(|n| *n.id()).collect();
            let (entries, _) = mci_core::attention_list(
                now,
                all.iter().filter(|n| n.partner() == &partner(p)).cloned(),
                10,
            );
            let expected: Vec<_> = entries.iter().map(|e| e.nomination).collect();
            assert_eq!(listed, expected, "partner {p} on day {day}");
            listed_any |= !listed.is_empty();
        }
    }
    assert!(listed_any);
    let on_day_6 = |p| AttentionQuery::at(partner(p), t0() + TimeDelta::days(6), 10).unwrap();
    let listed: Vec<_> = store
        .attention(&on_day_6(1))
        .await
        .unwrap()
        .rows
        .iter()
        .map(|n| *n.id())
        .collect();
    assert_eq!(listed, [nomination_id(23)], "the rejected claim");
    // A write after the upgrade keeps the class: disputed, the claim is
    // with the reviewer again and needs nothing of its partner.
    let disputed = scenarios[2]
        .nomination
        .dispute(t0() + TimeDelta::days(6), &admin_of(1), comment("see"))
        .unwrap();
    store
        .commit(Commit::of(t0() + TimeDelta::days(6), disputed))
        .await
        .unwrap();
    assert!(store.attention(&on_day_6(1)).await.unwrap().rows.is_empty());
    assert_eq!(
        store.attention(&on_day_6(2)).await.unwrap().rows.len(),
        1,
        "partner 2's request for more"
    );
}
