//! The baselines do the same work as our code: on a small world, the raw
//! writes leave the same rows as the store's commits, the raw sweep the
//! same rows as the service's sweep, and every store answers the same
//! first page, keeps the same known rows and gives the service the same
//! Customers page; the raw searches of the Claims page walk the same pages
//! as the service's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_benches::comparison::{ServicePage, SqlitePage, build_worlds, current_thread, know_file};
use mci_benches::export::ExportWorld;
use mci_benches::raw::{self, RawDb};
use mci_benches::search::{Search, SqliteClaimsSearch};
use mci_benches::service::Ports;
use mci_benches::world::{self, KnownFor, WorldSpec};
use mci_store::Store;
use mci_store_sqlite::{Durability, SqliteStore};
use rusqlite::types::Value;
use std::path::Path;
use std::sync::Arc;

const SPEC: WorldSpec = WorldSpec {
    nominations: 1_500,
    seed: 11,
};

/// Every row of every table the store writes, in a stable order.
fn tables(path: &Path) -> Vec<(String, Vec<Vec<Value>>)> {
    let db = RawDb::open_read_only(path).unwrap();
    [
        ("nominations", "id"),
        ("events", "nomination, version"),
        ("links", "hash"),
        // By message id, without `seq`: the sweep commits its batch's
        // nominations at once, so the order their messages reach the
        // outbox is not the due order the raw sweep writes in.
        ("outbox", "id"),
        ("known_customers", "partner, customer"),
    ]
    .into_iter()
    .map(|(table, order)| {
        let mut stmt = db
            .conn()
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .unwrap();
        let columns = stmt.column_count();
        let skip = if table == "outbox" {
            stmt.column_index("seq").ok()
        } else {
            None
        };
        let rows = stmt
            .query_map([], |r| {
                (0..columns)
                    .filter(|i| Some(*i) != skip)
                    .map(|i| r.get::<_, Value>(i))
                    .collect()
            })
            .unwrap()
            .collect::<Result<Vec<Vec<Value>>, _>>()
            .unwrap();
        (table.to_owned(), rows)
    })
    .collect()
}

#[test]
fn the_raw_writes_and_sweep_leave_the_rows_the_store_and_service_leave() {
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (
        dir.path().join("ours.sqlite"),
        dir.path().join("raw.sqlite"),
    );

    // The world through the store's commits, and through the raw statements.
    let rt = current_thread().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&ours).unwrap());
    let filled = rt
        .block_on(world::fill(&SPEC, std::slice::from_ref(&store), false))
        .unwrap();
    raw::create(&theirs, Durability::Normal).unwrap();
    let mut raw = RawDb::open(&theirs, Durability::Normal).unwrap();
    for chunk in world::chunks(&SPEC).unwrap() {
        for commit in chunk.unwrap().commits {
            raw.write_all(&commit.writes).unwrap();
        }
    }
    assert_eq!(filled.nominations, SPEC.nominations);
    assert_eq!(raw.count("nominations").unwrap(), SPEC.nominations as u64);
    assert_eq!(tables(&ours), tables(&theirs));

    // The service's sweep and the raw sweep write the same rows: the due ones.
    let service = Ports::knowing(0..0).unwrap().sweeper(store).unwrap();
    let report = rt.block_on(service.sweep()).unwrap();
    assert_eq!(report.lapsed + report.reminded, filled.due);
    assert_eq!(report.skipped, 0);
    let swept = raw.sweep(world::now(), 256).unwrap();
    assert_eq!(swept, filled.due);
    drop(service);
    drop(raw);
    assert_eq!(tables(&ours), tables(&theirs));
}

#[test]
fn the_world_is_as_planned_and_every_store_answers_the_same_first_page() {
    let (memory, sqlite) = build_worlds(&SPEC, true, true).unwrap();
    let (memory, sqlite) = (memory.unwrap(), sqlite.unwrap());
    let due = sqlite.due as f64 / SPEC.nominations as f64;
    assert!((0.07..0.13).contains(&due), "{due} due");

    // The store and the plain index of the memory world, the store and the
    // raw query of the SQLite world: one page.
    let query = mci_benches::comparison::big_page().unwrap();
    let rt = current_thread().unwrap();
    let from_memory = rt.block_on(memory.store.page(&query)).unwrap();
    let from_sqlite = {
        let store = SqliteStore::open(sqlite.path()).unwrap();
        rt.block_on(store.page(&query)).unwrap()
    };
    assert_eq!(from_memory, from_sqlite);
    assert_eq!(from_memory.rows.len(), world::PAGE);
    SqlitePage::new(sqlite.path()).unwrap();

    // Some 30% of the world is the large tab's pair.
    let counts = rt
        .block_on(
            memory
                .store
                .count(&query.partner, &query.engagement, query.now),
        )
        .unwrap();
    let share = (counts.eligible + counts.complete) as f64 / SPEC.nominations as f64;
    assert!((0.20..0.35).contains(&share), "{share} in the large tab");
}

#[test]
fn r_page_9_every_store_keeps_the_same_known_rows_and_the_customers_page_reads_them() {
    let (memory, sqlite) = build_worlds(&SPEC, true, true).unwrap();
    let (mut memory, mut sqlite) = (memory.unwrap(), sqlite.unwrap());
    memory.sweep().unwrap();
    sqlite.sweep().unwrap();
    let from_memory = memory.know(KnownFor::Catalog).unwrap();
    let from_sqlite = know_file(sqlite.path(), KnownFor::Catalog).unwrap();
    assert_eq!(from_memory, from_sqlite);
    // The big partner knows about a tenth of the world's nominations.
    let share = from_memory.big_partner as f64 / SPEC.nominations as f64;
    assert!(
        (0.07..0.13).contains(&share),
        "{share} known to the big partner"
    );
    assert!(from_memory.ineligible > 0);

    // Every row is answered within the refresh age: no sweep would ask.
    let rt = current_thread().unwrap();
    let refresh = mci_engagements::Settings::default().eligibility_refresh;
    let sqlite_store: Arc<dyn Store> = Arc::new(SqliteStore::open(sqlite.path()).unwrap());
    for store in [memory.store.clone() as Arc<dyn Store>, sqlite_store.clone()] {
        let due = rt
            .block_on(store.known_to_check(world::now() - refresh, 10))
            .unwrap();
        assert!(due.is_empty(), "{} rows left to ask", due.len());
    }

    // The service reads the same page, the same counts and the same
    // figures a day behind from both.
    let mut pages = [
        ServicePage::new(memory.store.clone()).unwrap(),
        ServicePage::new(sqlite_store).unwrap(),
    ];
    let [a, b] = &pages;
    assert_eq!(a.known, from_memory.big_partner);
    assert_eq!((a.known, a.behind), (b.known, b.behind));
    assert!(a.behind.shown > 0);
    assert!(a.behind.known_rows > 0 && a.behind.known_rows <= a.behind.shown);
    for page in &mut pages {
        page.ours(2).unwrap();
        page.store_page(2).unwrap();
        page.behind(2).unwrap();
    }
    assert_eq!(pages[0].read().unwrap(), pages[1].read().unwrap());
}

#[test]
fn r_list_1_the_raw_searches_walk_the_pages_the_service_answers() {
    const CLAIMS: usize = 3_000;
    let mut world = ExportWorld::build(CLAIMS).unwrap();
    assert!(world.sweep().unwrap() > 0);
    for which in Search::ALL {
        let mut search = SqliteClaimsSearch::new(world.path(), which).unwrap();
        let ours = search.walk_ours().unwrap();
        let baseline = search.walk_baseline().unwrap();
        // Page by page: the rows, the cursor to go on from, the rows looked
        // at and the counts.
        assert_eq!(ours, baseline, "{which:?}");
        assert!(ours.len() >= 2, "{which:?}: {} pages", ours.len());
        assert!(ours.iter().all(|page| page.counts.total() == CLAIMS as u64));
        let scanned: usize = ours.iter().map(|page| page.scanned).sum();
        assert_eq!(scanned, CLAIMS, "{which:?}: every row looked at once");
        let matched: usize = ours.iter().map(|page| page.rows.len()).sum();
        let first = &ours[0];
        match which {
            // A few claims in a hundred here (C12, C120 to C129, C1200),
            // one in twenty at 1M: some on most pages of 200 rows.
            Search::NamePrefix => {
                assert!((CLAIMS / 100..CLAIMS / 20).contains(&matched), "{matched}");
                assert_eq!(first.scanned, mci_core::ClaimsSearch::SCAN);
                assert!(!first.rows.is_empty());
            }
            // Customer 12 of each of the five engagements.
            Search::EmailDomain => {
                assert_eq!(matched, 5);
                assert_eq!(first.scanned, mci_core::ClaimsSearch::MAX_SCAN);
            }
            // The newest claims: the first page is full after as many rows.
            Search::CreatedRecently => {
                let limit = mci_engagements::ClaimsRequest::default().limit;
                assert_eq!((first.rows.len(), first.scanned), (limit, limit));
                assert!(matched > limit && matched < CLAIMS);
            }
        }
    }
}
