//! A database written at schema version 2 (before the counters, the known
//! rows and the customer locks) is brought to the latest version with its
//! nominations counted, standing and locked as the store keeps them; one
//! from before the chain has its histories chained; one from before the
//! settings keeps its data and keeps settings after the step; one from
//! before the Claims page, or the Attention required list, gets their
//! columns filled from its documents.
#![allow(clippy::unwrap_used, clippy::panic)]

use chrono::TimeDelta;
use mci_core::{Event, ExportLine, Outcome, SendConsent, Tab, verify_export};
use mci_pg_harness::Cluster;
use mci_store::{Commit, Store};
use mci_store_postgres::PostgresStore;
use mci_store_postgres::schema::{MARK, MIGRATIONS, SCHEMA_VERSION};
use mci_testkit::{Scenario, admin_of, link, nomination_id, t0, workshop};

/// Partner p1's nominations of `workshop` at version 2: one eligible and
/// awaiting consent (live, so still asking), one consented (live, no
/// longer asking), one on the Complete tab, one hidden (withdrawn), and
/// partner p2's on another customer of the same engagement. Their
/// documents are never read by what this test checks.
const ROWS: &str = "
    INSERT INTO nominations (id, partner, engagement, customer, state, version, tab,
        lapse_at, tab_after, wake_at, live, holds_consent, completed, standing_until, doc)
    VALUES
    ('0190a000-0000-7000-8000-000000000001', 'p1', 'workshop', 'tpid:1', 'awaiting_consent',
        2, 1, 5000, 2, 5000, true, false, false, 5000, '{}'),
    ('0190a000-0000-7000-8000-000000000002', 'p1', 'workshop', 'tpid:2', 'consented',
        3, 3, NULL, NULL, NULL, true, true, false, NULL, '{}'),
    ('0190a000-0000-7000-8000-000000000003', 'p1', 'workshop', 'tpid:3', 'paid',
        9, 3, NULL, NULL, NULL, false, true, true, NULL, '{}'),
    ('0190a000-0000-7000-8000-000000000004', 'p1', 'workshop', 'tpid:4', 'withdrawn',
        2, 0, NULL, NULL, NULL, false, false, false, NULL, '{}'),
    ('0190a000-0000-7000-8000-000000000005', 'p2', 'workshop', 'tpid:1', 'customer_claimed',
        1, 1, NULL, NULL, NULL, true, false, false, NULL, '{}');";

#[test]
fn r_page_9_a_database_at_version_2_gets_its_counters_standings_and_locks() {
    let Some(cluster) = Cluster::start_or_skip("a_database_at_version_2") else {
        return;
    };
    cluster.create_database("v2").unwrap();
    cluster
        .psql(
            "v2",
            &format!(
                "CREATE TABLE mci_schema_migrations (
                     version integer PRIMARY KEY CHECK (version >= 0),
                     name text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now());
                 INSERT INTO mci_schema_migrations (version, name)
                     VALUES (0, '{MARK}'), (1, '{}'), (2, '{}');
                 {} {} {ROWS}",
                MIGRATIONS[0].name, MIGRATIONS[1].name, MIGRATIONS[0].sql, MIGRATIONS[1].sql,
            ),
        )
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = PostgresStore::connect(cluster.connection_string("v2"))
            .await
            .unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
        // The counters hold what was stored; a read past the first
        // nomination's lapse moves it from Eligible to Ineligible.
        let (p1, workshop) = ("p1".parse().unwrap(), "workshop".parse().unwrap());
        let early = chrono::DateTime::from_timestamp_micros(4_999).unwrap();
        let late = chrono::DateTime::from_timestamp_micros(5_000).unwrap();
        let counts = store.count(&p1, &workshop, early).await.unwrap();
        assert_eq!(Tab::ALL.map(|t| counts.get(t)), [1, 0, 2]);
        let counts = store.count(&p1, &workshop, late).await.unwrap();
        assert_eq!(Tab::ALL.map(|t| counts.get(t)), [0, 1, 2]);
    });
    let sql = |query: &str| cluster.psql("v2", query).unwrap();
    assert_eq!(
        sql(
            "SELECT string_agg(partner || ':' || tab || '=' || n, ' ' ORDER BY partner, tab) FROM tab_counts"
        ),
        "p1:1=1 p1:3=2 p2:1=1"
    );
    // Only live nominations still before consent ask (R-CONSENT-10).
    assert_eq!(
        sql(
            "SELECT string_agg(customer || '/' || partner, ' ' ORDER BY customer, partner) \
             FROM nominations WHERE asking"
        ),
        "tpid:1/p1 tpid:1/p2"
    );
    // Every engagement and customer written has its lock row.
    assert_eq!(
        sql("SELECT string_agg(customer, ' ' ORDER BY customer) FROM customer_locks"),
        "tpid:1 tpid:2 tpid:3 tpid:4"
    );
    // No known rows yet: the service seeds them (Store::seed_known).
    assert_eq!(sql("SELECT count(*) FROM known_rows"), "0");
    assert_eq!(
        sql("SELECT count(*) FROM known_engagements WHERE engagement <> ''"),
        "0"
    );
}

/// Takes a database back to before the Attention required list's step
/// (R-LIST-3): dropping its column drops the index on it.
const UNDO_ATTENTION: &str = "ALTER TABLE nominations DROP COLUMN attention;";

/// Takes a database back to before the Claims page's step (R-LIST-1), and
/// the Attention required list's after it: dropping their columns drops
/// the indexes on them.
const UNDO_CLAIMS_PAGE: &str = "ALTER TABLE nominations DROP COLUMN attention;
     DROP TABLE claim_counts;
     ALTER TABLE nominations DROP COLUMN created_at, DROP COLUMN changed_at,
         DROP COLUMN state_after, DROP COLUMN reviewable;";

/// R-LIST-4: histories written before the chain (their documents without
/// `previous`, `hash` and `last_hash`) are chained by the step, exactly as
/// the domain chains them, and a change after it chains on.
#[test]
fn r_list_4_a_database_from_before_the_chain_has_every_history_chained() {
    let Some(cluster) = Cluster::start_or_skip("a_database_from_before_the_chain") else {
        return;
    };
    cluster.create_database("v5").unwrap();
    let url = cluster.connection_string("v5");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let user = admin_of(2);
    let added = Scenario::added_by(&user, &workshop().0, nomination_id(2));
    let first = Outcome {
        nomination: added.nomination.clone(),
        event: added.events[0].clone(),
        messages: added.messages.clone(),
        guards: Vec::new(),
    };
    let day = |d: i64| t0() + TimeDelta::days(d);
    let sent = first
        .nomination
        .send_consent(day(1), &user, SendConsent::default(), &link(2))
        .unwrap();
    let reminded = sent
        .nomination
        .resend_consent(day(2), &user, &link(3))
        .unwrap();
    let history: Vec<Event> = [&first, &sent, &reminded]
        .iter()
        .map(|o| o.event.clone())
        .collect();
    let chained = MIGRATIONS
        .iter()
        .find(|m| m.name == "every history a hash chain")
        .expect("the chaining step")
        .version;
    runtime.block_on(async {
        let store = PostgresStore::connect(url.as_str()).await.unwrap();
        for (outcome, d) in [&first, &sent, &reminded].into_iter().zip(0..) {
            store
                .commit(Commit::of(day(d), outcome.clone()))
                .await
                .unwrap();
        }
    });
    // As the crate wrote them before: no chain, and no record of the step.
    cluster
        .psql(
            "v5",
            &format!(
                "UPDATE events SET doc = ((doc::jsonb - 'previous') - 'hash')::text;
                 UPDATE nominations SET doc = (doc::jsonb - 'last_hash')::text;
                 {UNDO_CLAIMS_PAGE}
                 DROP TABLE settings;
                 DELETE FROM mci_schema_migrations WHERE version >= {chained};"
            ),
        )
        .unwrap();
    assert_eq!(
        cluster
            .psql(
                "v5",
                "SELECT count(*) FROM events WHERE doc LIKE '%\"hash\"%'"
            )
            .unwrap(),
        "0"
    );
    runtime.block_on(async {
        let store = PostgresStore::connect(url.as_str()).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
        let id = added.nomination.id();
        assert_eq!(store.history(id).await.unwrap(), history);
        let stored = store.nomination_by_id(id).await.unwrap().unwrap();
        assert_eq!(stored.head(), Some(reminded.event.head()));
        let again = stored.resend_consent(day(3), &user, &link(4)).unwrap();
        assert_eq!(again.event.previous, Some(reminded.event.hash));
        store
            .commit(Commit::of(day(3), again.clone()))
            .await
            .unwrap();
        let export: String = store
            .history(id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| ExportLine::Event(e).to_json_line())
            .collect();
        assert_eq!(
            verify_export(&export, &[]).unwrap(),
            vec![again.event.head()]
        );
    });
}

/// A database at version 6, before the settings step, holding a
/// nomination, is brought to the latest version with its nomination as it
/// was; it has no setting yet, and a setting put then is read back by a
/// handle connected afterwards. The table's checks refuse what the store
/// could not read back, whoever writes it.
#[test]
fn a_database_from_before_the_settings_step_keeps_its_data_and_keeps_settings_after_it() {
    use mci_store::{SettingCondition, SettingKey, SettingValue};

    let Some(cluster) = Cluster::start_or_skip("a_database_from_before_the_settings_step") else {
        return;
    };
    cluster.create_database("v6").unwrap();
    let url = cluster.connection_string("v6");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let added = Scenario::added_by(&admin_of(2), &workshop().0, nomination_id(2));
    let first = Outcome {
        nomination: added.nomination.clone(),
        event: added.events[0].clone(),
        messages: added.messages.clone(),
        guards: Vec::new(),
    };
    let step = MIGRATIONS
        .iter()
        .find(|m| m.name == "the settings of the embedding application")
        .expect("the settings step")
        .version;
    runtime.block_on(async {
        let store = PostgresStore::connect(url.as_str()).await.unwrap();
        store.commit(Commit::of(t0(), first.clone())).await.unwrap();
    });
    // As the crate left it before the step: no table, no record of it.
    cluster
        .psql(
            "v6",
            &format!(
                "{UNDO_CLAIMS_PAGE} DROP TABLE settings; DELETE FROM mci_schema_migrations WHERE version >= {step};"
            ),
        )
        .unwrap();
    let key: SettingKey = "demo.clock".parse().unwrap();
    let value = SettingValue::new("2026-04-01T09:00:00Z").unwrap();
    runtime.block_on(async {
        let store = PostgresStore::connect(url.as_str()).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
        assert_eq!(
            store.history(added.nomination.id()).await.unwrap(),
            vec![first.event.clone()]
        );
        assert_eq!(store.setting(&key).await.unwrap(), None);
        store
            .put_setting(&key, &value, &SettingCondition::Absent)
            .await
            .unwrap();
    });
    runtime.block_on(async {
        let store = PostgresStore::connect(url.as_str()).await.unwrap();
        assert_eq!(store.setting(&key).await.unwrap(), Some(value.clone()));
    });
    for insert in [
        "INSERT INTO settings VALUES ('', '1')",
        "INSERT INTO settings VALUES (repeat('k', 65), '1')",
        "INSERT INTO settings VALUES ('big', repeat('é', 2049))",
    ] {
        assert!(cluster.psql("v6", insert).is_err(), "{insert} was stored");
    }
}

/// R-LIST-1: a database from before the Claims page's step gets, for every
/// nomination, the columns the core derives and the counters of its
/// states, so that every list and count is what the rows' states give, a
/// lapse not yet swept included; and a write after the step counts.
#[test]
fn r_list_1_a_database_from_before_the_claims_page_lists_and_counts_every_nomination() {
    use mci_core::{ClaimsOrder, State};
    use mci_store::{ClaimsQuery, ClaimsScope};
    let Some(cluster) = Cluster::start_or_skip("a_database_from_before_the_claims_page") else {
        return;
    };
    cluster.create_database("v6").unwrap();
    let url = cluster.connection_string("v6");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let engagement = workshop().0;
    let scenarios = [
        Scenario::added_by(&admin_of(1), &engagement, nomination_id(11)),
        Scenario::added_by(&admin_of(1), &engagement, nomination_id(12))
            .wait_days(1)
            .consent_given(),
        Scenario::added_by(&admin_of(1), &engagement, nomination_id(13))
            .wait_days(2)
            .consent_given()
            .prove_everything()
            .submit(),
        Scenario::added_by(&admin_of(2), &engagement, nomination_id(14))
            .consent_given()
            .prove_everything()
            .submit(),
    ];
    runtime.block_on(async {
        PostgresStore::connect(url.as_str()).await.unwrap();
    });
    // The rows as the crate wrote them before the step.
    let micros = |at: Option<mci_core::Instant>| {
        at.map_or("NULL".to_owned(), |at| at.timestamp_micros().to_string())
    };
    let step = MIGRATIONS
        .iter()
        .find(|m| m.name == "the Claims page")
        .expect("the Claims page's step")
        .version;
    let mut insert =
        format!("{UNDO_CLAIMS_PAGE} DELETE FROM mci_schema_migrations WHERE version >= {step};");
    for s in &scenarios {
        let n = &s.nomination;
        let (placement, standing) = (n.placement(), n.standing());
        let state = serde_json::to_value(n.state()).unwrap();
        insert.push_str(&format!(
            "INSERT INTO nominations (id, partner, engagement, customer, state, version, tab,
                 lapse_at, tab_after, wake_at, live, holds_consent, completed, asking,
                 standing_until, doc)
             VALUES ('{}', '{}', '{}', '{}', '{}', {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, $doc${}$doc$);",
            n.id().as_uuid(),
            n.partner().as_str(),
            n.engagement().as_str(),
            n.customer().id(),
            state.as_str().unwrap(),
            n.version(),
            Tab::code(placement.tab),
            micros(placement.lapse_at),
            placement
                .lapse_at
                .map_or("NULL".to_owned(), |_| Tab::code(placement.tab_after_lapse).to_string()),
            micros(placement.wake_at),
            standing.live,
            standing.holds_consent,
            standing.completed,
            standing.asking,
            micros(standing.until),
            serde_json::to_string(n).unwrap(),
        ));
    }
    cluster.psql("v6", &insert).unwrap();
    let all: Vec<_> = scenarios.iter().map(|s| s.nomination.clone()).collect();
    let expected = |query: &ClaimsQuery| {
        let mut rows: Vec<_> = all
            .iter()
            .filter(|n| query.admits(n))
            .map(|n| (query.cursor_of(n).at, *n.id()))
            .collect();
        rows.sort_by(|a, b| b.cmp(a));
        rows.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    };
    runtime.block_on(async {
        let store = PostgresStore::connect(url.as_str()).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
        let scopes = [
            ClaimsScope::Partner(mci_testkit::partner(1)),
            ClaimsScope::Partner(mci_testkit::partner(2)),
            ClaimsScope::Reviewer,
        ];
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
                    assert_eq!(listed, expected(&query), "{scope:?} {order} at {now}");
                }
                let counts = store.claim_counts(scope, None, now).await.unwrap();
                for state in State::ALL {
                    let query = ClaimsQuery {
                        state: Some(state),
                        ..ClaimsQuery::new(scope.clone(), ClaimsOrder::Created, now, 10)
                    };
                    assert_eq!(
                        counts.get(state),
                        expected(&query).len() as u64,
                        "{state} of {scope:?} at {now}"
                    );
                }
            }
        }
        let now = t0() + TimeDelta::days(3);
        let cancelled = scenarios[1].nomination.cancel(now, &admin_of(1)).unwrap();
        store.commit(Commit::of(now, cancelled)).await.unwrap();
        let counts = store
            .claim_counts(&ClaimsScope::Partner(mci_testkit::partner(1)), None, now)
            .await
            .unwrap();
        assert_eq!(counts.get(State::Consented), 0);
        assert_eq!(counts.get(State::Cancelled), 1);
        assert_eq!(counts.total(), 3);
    });
}

/// R-LIST-3: a database from before the Attention required list's step
/// gets, for every nomination, the class the core derives, so that each
/// partner's list is what the core's rule gives over its nominations, at
/// any instant, a lapse not yet swept included; and a write after the step
/// keeps the class.
#[test]
fn r_list_3_a_database_from_before_the_attention_step_lists_what_needs_each_partner() {
    use mci_store::AttentionQuery;
    let Some(cluster) = Cluster::start_or_skip("a_database_from_before_the_attention_step") else {
        return;
    };
    cluster.create_database("v8").unwrap();
    let url = cluster.connection_string("v8");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let engagement = workshop().0;
    let scenarios = [
        // Consent due on day 30.
        Scenario::added_by(&admin_of(1), &engagement, nomination_id(21)),
        // Claim due 90 days after the consent of day 2.
        Scenario::added_by(&admin_of(1), &engagement, nomination_id(22))
            .wait_days(1)
            .consent_given(),
        // Rejected on day 5: disputable until day 35.
        Scenario::added_by(&admin_of(1), &engagement, nomination_id(23))
            .consent_given()
            .prove_everything()
            .submit()
            .start_review()
            .wait_days(4)
            .reject(),
        // With the reviewer: nothing for the partner.
        Scenario::added_by(&admin_of(1), &engagement, nomination_id(24))
            .consent_given()
            .prove_everything()
            .submit(),
        // Sent back to partner 2 for more.
        Scenario::added_by(&admin_of(2), &engagement, nomination_id(25))
            .consent_given()
            .prove_everything()
            .submit()
            .start_review()
            .request_partner_action(),
    ];
    runtime.block_on(async {
        PostgresStore::connect(url.as_str()).await.unwrap();
    });
    let step = MIGRATIONS
        .iter()
        .find(|m| m.name == "the Attention required list")
        .expect("the Attention required list's step")
        .version;
    // The rows as the crate wrote them before the step.
    let micros = |at: Option<mci_core::Instant>| {
        at.map_or("NULL".to_owned(), |at| at.timestamp_micros().to_string())
    };
    let mut insert =
        format!("{UNDO_ATTENTION} DELETE FROM mci_schema_migrations WHERE version >= {step};");
    for s in &scenarios {
        let n = &s.nomination;
        let (placement, standing, claims) = (n.placement(), n.standing(), n.claims_placement());
        let name = |state: mci_core::State| serde_json::to_value(state).unwrap();
        insert.push_str(&format!(
            "INSERT INTO nominations (id, partner, engagement, customer, state, version, tab,
                 lapse_at, tab_after, wake_at, live, holds_consent, completed, asking,
                 standing_until, doc, created_at, changed_at, state_after, reviewable)
             VALUES ('{}', '{}', '{}', '{}', '{}', {}, {}, {}, {}, {}, {}, {}, {}, {}, {},
                 $doc${}$doc$, {}, {}, {}, {});",
            n.id().as_uuid(),
            n.partner().as_str(),
            n.engagement().as_str(),
            n.customer().id(),
            name(n.state()).as_str().unwrap(),
            n.version(),
            Tab::code(placement.tab),
            micros(placement.lapse_at),
            placement
                .lapse_at
                .map_or("NULL".to_owned(), |_| Tab::code(placement.tab_after_lapse)
                    .to_string()),
            micros(placement.wake_at),
            standing.live,
            standing.holds_consent,
            standing.completed,
            standing.asking,
            micros(standing.until),
            serde_json::to_string(n).unwrap(),
            claims.created_at.timestamp_micros(),
            claims.changed_at.timestamp_micros(),
            claims
                .state_after_lapse
                .map_or("NULL".to_owned(), |s| format!(
                    "'{}'",
                    name(s).as_str().unwrap()
                )),
            claims.reviewable,
        ));
    }
    cluster.psql("v8", &insert).unwrap();
    let all: Vec<_> = scenarios.iter().map(|s| s.nomination.clone()).collect();
    let day = |d: i64| t0() + TimeDelta::days(d);
    runtime.block_on(async {
        let store = PostgresStore::connect(url.as_str()).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
        let mut listed_any = false;
        for d in [6, 23, 29, 30, 36, 86, 200] {
            for p in 1..=2 {
                let partner = mci_testkit::partner(p);
                let query = AttentionQuery::at(partner.clone(), day(d), 10).unwrap();
                let answer = store.attention(&query).await.unwrap();
                let listed: Vec<_> = answer.rows.iter().map(|n| *n.id()).collect();
                let (entries, _) = mci_core::attention_list(
                    day(d),
                    all.iter().filter(|n| n.partner() == &partner).cloned(),
                    10,
                );
                let expected: Vec<_> = entries.iter().map(|e| e.nomination).collect();
                assert_eq!(listed, expected, "partner {p} on day {d}");
                listed_any |= !listed.is_empty();
            }
        }
        assert!(listed_any);
        let on_day_6 = |p| AttentionQuery::at(mci_testkit::partner(p), day(6), 10).unwrap();
        let listed: Vec<_> = store
            .attention(&on_day_6(1))
            .await
            .unwrap()
            .rows
            .iter()
            .map(|n| *n.id())
            .collect();
        assert_eq!(listed, [nomination_id(23)], "the rejected claim");
        // A write after the step keeps the class: disputed, the claim is
        // with the reviewer again and needs nothing of its partner.
        let disputed = scenarios[2]
            .nomination
            .dispute(day(6), &admin_of(1), mci_testkit::comment("see"))
            .unwrap();
        store.commit(Commit::of(day(6), disputed)).await.unwrap();
        assert!(store.attention(&on_day_6(1)).await.unwrap().rows.is_empty());
        assert_eq!(store.attention(&on_day_6(2)).await.unwrap().rows.len(), 1);
    });
}
