//! The PostgreSQL baselines do the same work as our code, at a small size:
//! the raw add and acceptance send the server the statements the adapter
//! sends for the same commits (read from the server's log), the raw
//! acceptances leave the rows the service's leave, the world written with
//! `COPY` is every row the store's commits and the service's sweep leave,
//! the raw page and counts are the service's Customers page, and the raw
//! searches of the Claims page walk the service's pages, which are
//! SQLite's for the same world.
//!
//! Each test skips with one line where PostgreSQL is not installed
//! (`MCI_REQUIRE_POSTGRES=1` makes that a failure).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_benches::comparison::{ServicePage, build_worlds, current_thread, multi_thread};
use mci_benches::postgres::{
    PgServer, PostgresAccept, PostgresAdd, PostgresClaimsSearch, PostgresPage, PostgresWorld,
};
use mci_benches::raw_pg;
use mci_benches::search::{Search, SqliteClaimsSearch};
use mci_benches::service::Ports;
use mci_benches::world::{self, KnownFor, WorldSpec};
use mci_store::Store;
use mci_store_postgres::PostgresStore;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Small, so that the file runs in seconds: one chunk, a few dozen due
/// nominations and known customers of the big partner, a full first page.
const SPEC: WorldSpec = WorldSpec {
    nominations: 600,
    seed: 11,
};

/// Every row of every table the store writes, in a stable order, as JSON;
/// the outbox without its `seq`, which counts in the order rows arrived.
async fn tables(url: &str) -> BTreeMap<&'static str, Vec<String>> {
    let client = raw_pg::raw_client(url).await.unwrap();
    let mut out = BTreeMap::new();
    for (table, select) in [
        ("nominations", "SELECT * FROM nominations ORDER BY id"),
        (
            "events",
            "SELECT * FROM events ORDER BY nomination, version",
        ),
        ("links", "SELECT * FROM links ORDER BY hash"),
        (
            "outbox",
            "SELECT id, nomination, doc, available_at, attempts, delivered FROM outbox ORDER BY id",
        ),
        (
            "known_customers",
            "SELECT * FROM known_customers ORDER BY partner, customer",
        ),
        (
            "customer_locks",
            "SELECT * FROM customer_locks ORDER BY engagement, customer",
        ),
        (
            "tab_counts",
            "SELECT * FROM tab_counts WHERE n <> 0 ORDER BY partner, engagement, tab",
        ),
        (
            "claim_counts",
            "SELECT * FROM claim_counts WHERE n <> 0 ORDER BY partner, engagement, state",
        ),
        (
            "known_rows",
            "SELECT * FROM known_rows ORDER BY partner, engagement, customer",
        ),
        (
            "known_figures",
            "SELECT * FROM known_figures ORDER BY partner, engagement",
        ),
        (
            "known_engagements",
            "SELECT * FROM known_engagements ORDER BY engagement",
        ),
    ] {
        let rows = client
            .query(
                &format!("SELECT row_to_json(t)::text FROM ({select}) AS t"),
                &[],
            )
            .await
            .unwrap();
        out.insert(table, rows.iter().map(|r| r.get(0)).collect());
    }
    out
}

/// The statements the server ran in database `database`, from its log,
/// grouped by transaction: only the READ COMMITTED ones, which the
/// adapter's commits (and its migrations) run in.
fn transactions(log: &str, database: &str) -> Vec<Vec<String>> {
    let prefix = format!("{database}|");
    let mut all = Vec::new();
    // The transaction each server process (`%p`) has open: the pool's
    // connections run theirs at once.
    let mut open: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for line in log.lines() {
        let Some((pid, rest)) = line.strip_prefix(&prefix).and_then(|l| l.split_once('|')) else {
            continue;
        };
        let statement = if let Some(s) = rest.split_once("LOG:  statement: ") {
            s.1.to_owned()
        } else if let Some((_, s)) = rest.split_once("LOG:  execute ") {
            s.split_once(": ").map(|(_, sql)| sql.to_owned()).unwrap()
        } else {
            continue;
        };
        if statement.starts_with("START TRANSACTION ISOLATION LEVEL READ COMMITTED") {
            open.insert(pid, Vec::new());
        } else if statement == "COMMIT" {
            if let Some(tx) = open.remove(pid) {
                all.push(tx);
            }
        } else if let Some(tx) = open.get_mut(pid) {
            tx.push(statement);
        }
    }
    all
}

/// The databases the comparisons created, from the connection strings
/// they were given.
fn named(url: &str) -> String {
    url.split_whitespace()
        .find_map(|kv| kv.strip_prefix("dbname="))
        .unwrap()
        .trim_matches('\'')
        .to_owned()
}

#[test]
fn the_raw_add_and_acceptance_run_the_adapters_statements_and_leave_its_rows() {
    let Some(server) = PgServer::own_or_skip(
        "the_raw_add_and_acceptance_run_the_adapters_statements_and_leave_its_rows",
        &[("log_statement", "all"), ("log_line_prefix", "%d|%p|")],
    ) else {
        return;
    };
    let mut add = PostgresAdd::new(&server, 6).unwrap();
    add.ours(6).unwrap();
    add.baseline(6).unwrap();
    let mut accept = PostgresAccept::new(&server, 70).unwrap();
    assert_eq!(accept.pool_size(), 16);
    accept.ours(70).unwrap();
    accept.baseline(70).unwrap();
    let (add_urls, accept_urls) = (add.urls(), accept.urls());
    drop((add, accept));

    let log = std::fs::read_to_string(server.cluster().log_path()).unwrap();
    for (what, [ours, raw], commits) in [("add", add_urls, 6), ("accept", accept_urls.clone(), 70)]
    {
        let mut ours = transactions(&log, &named(&ours));
        let mut raw = transactions(&log, &named(&raw));
        // The migrations first; then the commits, in the order they ended,
        // which 64 callers make any.
        assert!(ours.len() >= commits, "{what}: {} transactions", ours.len());
        assert!(raw.len() >= commits, "{what}: {} transactions", raw.len());
        let mut ours = ours.split_off(ours.len() - commits);
        let mut raw = raw.split_off(raw.len() - commits);
        ours.sort();
        raw.sort();
        for (a, b) in ours.iter().zip(&raw) {
            assert_eq!(a, b, "{what}: the statements differ");
        }
        let last = ours.last().unwrap();
        assert!(
            last.iter()
                .any(|s| s.starts_with("INSERT INTO events") || s.starts_with("UPDATE")),
            "{what}: {last:?}"
        );
    }
    // The acceptances are of the same nominations with the same tokens at
    // the same instant: the same rows.
    let rt = current_thread().unwrap();
    let [ours, raw] = accept_urls;
    assert_eq!(rt.block_on(tables(&ours)), rt.block_on(tables(&raw)));
}

#[test]
fn the_world_copied_in_is_the_world_the_stores_commits_and_sweep_leave() {
    let Some(server) = PgServer::any_or_skip(
        "the_world_copied_in_is_the_world_the_stores_commits_and_sweep_leave",
    ) else {
        return;
    };
    let rt = multi_thread().unwrap();
    // Through the store's commits and the service's sweep.
    let url = server.database("through_store").unwrap();
    let store: Arc<dyn Store> =
        Arc::new(rt.block_on(PostgresStore::connect(url.as_str())).unwrap());
    let filled = rt
        .block_on(world::fill(&SPEC, std::slice::from_ref(&store), false))
        .unwrap();
    let service = Ports::knowing(0..0)
        .unwrap()
        .sweeper(store.clone())
        .unwrap();
    let report = rt.block_on(service.sweep()).unwrap();
    assert_eq!(report.lapsed + report.reminded, filled.due);
    drop(service);

    // With COPY, swept as the loader wakes it, with the known rows and
    // answers `world::know` gives the store's world below.
    let copied = PostgresWorld::build(&server, &SPEC, KnownFor::BigEngagement).unwrap();
    assert_eq!(copied.nominations, SPEC.nominations);
    assert_eq!(copied.swept, filled.due);
    let known = rt
        .block_on(world::know(store.as_ref(), KnownFor::BigEngagement))
        .unwrap();
    assert_eq!(known, copied.known);
    assert!(known.big_partner > 0 && known.ineligible > 0);
    let ours = rt.block_on(tables(&url));
    let theirs = rt.block_on(tables(copied.url()));
    for (table, rows) in &ours {
        assert!(!rows.is_empty(), "{table} is empty");
        assert_eq!(rows, &theirs[table], "{table}");
    }

    // The service reads the same Customers page from both, and the raw
    // page and counts are the service's.
    let mut from_store = ServicePage::new(store).unwrap();
    let mut from_copy = ServicePage::new(copied.store().unwrap()).unwrap();
    assert_eq!(from_store.read().unwrap(), from_copy.read().unwrap());
    let mut page = PostgresPage::new(&copied).unwrap();
    page.ours(2).unwrap();
    page.baseline(7).unwrap();
    // The server's account of each of the page's six statements, and of
    // how the raw connection planned them in the eight reads so far.
    let plans = page.explain().unwrap();
    assert_eq!(plans.len(), 12, "{plans:?}");
    for (statement, plan) in &plans[..6] {
        assert!(plan.contains("Execution Time"), "{statement}: {plan}");
    }
    for (statement, counts) in &plans[6..] {
        assert!(counts.starts_with("prepared: "), "{statement}: {counts}");
    }
}

#[test]
fn r_list_1_the_raw_searches_walk_the_pages_the_service_answers_as_on_sqlite() {
    let Some(server) =
        PgServer::any_or_skip("r_list_1_the_raw_searches_walk_the_pages_the_service_answers")
    else {
        return;
    };
    // Large enough for the big partner's list to hold two bounds of 2,000.
    let spec = WorldSpec {
        nominations: 12_000,
        seed: 11,
    };
    let postgres = PostgresWorld::build(&server, &spec, KnownFor::BigEngagement).unwrap();
    let (_, sqlite) = build_worlds(&spec, false, true).unwrap();
    let mut sqlite = sqlite.unwrap();
    assert_eq!(sqlite.sweep().unwrap(), postgres.swept);
    for which in Search::ALL {
        let mut search = PostgresClaimsSearch::new(&postgres, which).unwrap();
        let ours = search.walk_ours().unwrap();
        // Page by page: the rows, the cursor, the rows looked at, the counts.
        assert_eq!(ours, search.walk_baseline().unwrap(), "{which:?}");
        assert!(ours.len() >= 2, "{which:?}: {} pages", ours.len());
        assert!(ours.iter().any(|page| !page.rows.is_empty()), "{which:?}");
        // The same world on SQLite answers the same pages.
        let mut on_sqlite = SqliteClaimsSearch::new(sqlite.path(), which).unwrap();
        assert_eq!(ours, on_sqlite.walk_ours().unwrap(), "{which:?} on SQLite");
    }
}
