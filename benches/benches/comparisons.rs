//! Every comparison of the benchmark report as criterion benches: one group
//! per comparison, ours and its baseline side by side.
//!
//! ```text
//! cargo bench -p mci-benches                  # all of them
//! cargo bench -p mci-benches -- sqlite_page   # one group
//! ```
//!
//! The large worlds (1,000,000 nominations; `MCI_BENCH_NOMINATIONS` sets
//! another size) are built once per process, when the first bench that
//! needs them runs, shared by the groups after it, and removed when the run
//! ends. Building them takes a few minutes; the sweep group copies and
//! sweeps the large world for each sample, so it alone runs for about twenty
//! minutes at 1M.
//!
//! The PostgreSQL groups run on the server `MCI_POSTGRES_URL` names or a
//! throwaway cluster with every commit on disk, started when the first of
//! them runs (skipped with one line where PostgreSQL is not installed); their
//! world (`MCI_BENCH_PG_NOMINATIONS`, the large worlds' size by default) is
//! written with `COPY` and given its known rows through the store.
//!
//! The page groups measure the tab as a system that sweeps keeps it (the
//! world swept at its now), and, as `…, unswept`, the world as built, with
//! 10% of it lapsed and not yet swept. The `customers_page` group reads the
//! swept worlds once their known customers have their rows and answers.
//!
//! A failure here is a broken benchmark, not a result: it panics with the
//! error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{Criterion, SamplingMode, Throughput, criterion_group};
use mci_benches::comparison::{
    CALLERS, MemoryAdd, MemoryPage, MemoryWorld, ServicePage, SqliteAccept, SqliteAdd, SqlitePage,
    SqliteSweep, SqliteWorld, build_worlds,
};
use mci_benches::export::{ExportWorld, Side};
use mci_benches::postgres::{
    PgServer, PostgresAccept, PostgresAdd, PostgresClaimsSearch, PostgresPage, PostgresWorld,
};
use mci_benches::search::{Search, SqliteClaimsSearch};
use mci_benches::world::{KnownFor, WorldSpec};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The size of the large worlds.
fn nominations() -> usize {
    std::env::var("MCI_BENCH_NOMINATIONS")
        .ok()
        .and_then(|n| n.replace('_', "").parse().ok())
        .unwrap_or(1_000_000)
}

fn memory_world() -> &'static Mutex<MemoryWorld> {
    static WORLD: OnceLock<Mutex<MemoryWorld>> = OnceLock::new();
    WORLD.get_or_init(|| {
        let (world, _) = build_worlds(&WorldSpec::of(nominations()), true, false).unwrap();
        Mutex::new(world.unwrap())
    })
}

static SQLITE_WORLD: OnceLock<SqliteWorld> = OnceLock::new();
static SWEPT_SQLITE_WORLD: OnceLock<SqliteWorld> = OnceLock::new();
static SMALL_WORLD: OnceLock<SqliteWorld> = OnceLock::new();
static SWEPT_SMALL_WORLD: OnceLock<SqliteWorld> = OnceLock::new();
static KNOWN_SQLITE_WORLD: OnceLock<SqliteWorld> = OnceLock::new();
static KNOWN_SMALL_WORLD: OnceLock<SqliteWorld> = OnceLock::new();

fn sqlite_world() -> &'static SqliteWorld {
    SQLITE_WORLD.get_or_init(|| {
        let (_, world) = build_worlds(&WorldSpec::of(nominations()), false, true).unwrap();
        world.unwrap()
    })
}

fn swept_sqlite_world() -> &'static SqliteWorld {
    SWEPT_SQLITE_WORLD.get_or_init(|| sqlite_world().swept_copy().unwrap())
}

fn small_world() -> &'static SqliteWorld {
    SMALL_WORLD.get_or_init(|| {
        let (_, world) = build_worlds(&WorldSpec::of(10_000), false, true).unwrap();
        world.unwrap()
    })
}

fn swept_small_world() -> &'static SqliteWorld {
    SWEPT_SMALL_WORLD.get_or_init(|| small_world().swept_copy().unwrap())
}

fn known_sqlite_world() -> &'static SqliteWorld {
    KNOWN_SQLITE_WORLD.get_or_init(|| {
        swept_sqlite_world()
            .known_copy(KnownFor::BigEngagement)
            .unwrap()
    })
}

fn known_small_world() -> &'static SqliteWorld {
    KNOWN_SMALL_WORLD.get_or_init(|| {
        swept_small_world()
            .known_copy(KnownFor::BigEngagement)
            .unwrap()
    })
}

/// The Customers pages of the large memory world (swept, its known
/// customers given their rows) and of a 10k one.
fn memory_pages() -> &'static Mutex<(ServicePage, ServicePage)> {
    static PAGES: OnceLock<Mutex<(ServicePage, ServicePage)>> = OnceLock::new();
    PAGES.get_or_init(|| {
        let mut world = memory_world().lock().unwrap();
        if world.due > 0 {
            world.sweep().unwrap();
        }
        world.know(KnownFor::BigEngagement).unwrap();
        let (small, _) = build_worlds(&WorldSpec::of(10_000), true, false).unwrap();
        let mut small = small.unwrap();
        small.sweep().unwrap();
        small.know(KnownFor::BigEngagement).unwrap();
        Mutex::new((
            ServicePage::memory(&world).unwrap(),
            ServicePage::memory(&small).unwrap(),
        ))
    })
}

/// The PostgreSQL server of the PostgreSQL groups, started on the main
/// thread (which criterion runs the benches on) when the first of them
/// runs; `None` where PostgreSQL is not installed, which skips them with
/// one line. Taken and dropped when the run ends.
static PG_SERVER: Mutex<Option<Option<PgServer>>> = Mutex::new(None);

/// Runs `bench` with the server, or skips it.
fn with_server(bench: impl FnOnce(&PgServer)) {
    let mut server = PG_SERVER.lock().unwrap();
    let server = server.get_or_insert_with(|| PgServer::start_or_skip("the PostgreSQL benches"));
    if let Some(server) = server.as_ref() {
        bench(server);
    }
}

/// The size of the PostgreSQL world: `MCI_BENCH_PG_NOMINATIONS`, else the
/// large worlds' size.
fn pg_nominations() -> usize {
    std::env::var("MCI_BENCH_PG_NOMINATIONS")
        .ok()
        .and_then(|n| n.replace('_', "").parse().ok())
        .unwrap_or_else(nominations)
}

/// (k) PostgreSQL: one durable add customer per call, against raw
/// tokio-postgres running the same statements in one transaction per call.
fn postgres_add(c: &mut Criterion) {
    with_server(|server| {
        let mut group = c.benchmark_group("postgres_add_durable");
        group.throughput(Throughput::Elements(1));
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(10));
        let mut add = PostgresAdd::new(server, 20_000).unwrap();
        group.bench_function("ours: Incentives::add_customer on PostgresStore", |b| {
            b.iter_custom(|n| add.ours(n).unwrap());
        });
        group.bench_function(
            "baseline: the adapter's statements, raw tokio-postgres",
            |b| {
                b.iter_custom(|n| add.baseline(n).unwrap());
            },
        );
        group.finish();
    });
}

/// (l) PostgreSQL: accept consent with 64 concurrent callers, against raw
/// tokio-postgres with 64 callers and a pool of the same size.
fn postgres_accept(c: &mut Criterion) {
    with_server(|server| {
        let mut group = c.benchmark_group("postgres_accept_64");
        group.throughput(Throughput::Elements(1));
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(10));
        let mut accept = PostgresAccept::new(server, 2_000).unwrap();
        group.bench_function(
            format!("ours: Incentives::accept_consent, {CALLERS} callers"),
            |b| b.iter_custom(|n| accept.ours(n).unwrap()),
        );
        group.bench_function(
            format!("baseline: the adapter's statements, {CALLERS} callers, same pool"),
            |b| b.iter_custom(|n| accept.baseline(n).unwrap()),
        );
        group.finish();
    });
}

/// (m) PostgreSQL: the service's Customers page at the large world, against
/// the adapter's page and counts statements on a raw connection.
fn postgres_customers_page(c: &mut Criterion) {
    with_server(|server| {
        let mut group = c.benchmark_group("postgres_customers_page");
        group.sample_size(50);
        let spec = WorldSpec::of(pg_nominations());
        let world = PostgresWorld::build(server, &spec, KnownFor::BigEngagement).unwrap();
        let mut page = PostgresPage::new(&world).unwrap();
        group.bench_function("ours: Incentives::customers_page on PostgresStore", |b| {
            b.iter_custom(|n| page.ours(n).unwrap());
        });
        group.bench_function(
            "baseline: the adapter's statements, raw tokio-postgres",
            |b| {
                b.iter_custom(|n| page.baseline(n).unwrap());
            },
        );
        group.finish();
    });
}

/// (p) PostgreSQL: searches of the big partner's Claims page, the first
/// page and the next through the service, against the adapter's
/// statements on a raw connection; on a world of
/// `MCI_BENCH_PG_SEARCH_NOMINATIONS` (100,000 by default: a search looks
/// at a bounded number of rows whatever the world's size).
fn postgres_claims_search(c: &mut Criterion) {
    with_server(|server| {
        let mut group = c.benchmark_group("postgres_claims_search");
        let n = std::env::var("MCI_BENCH_PG_SEARCH_NOMINATIONS")
            .ok()
            .and_then(|n| n.replace('_', "").parse().ok())
            .unwrap_or(100_000);
        let world =
            PostgresWorld::build(server, &WorldSpec::of(n), KnownFor::BigEngagement).unwrap();
        for which in Search::ALL {
            let mut search = PostgresClaimsSearch::new(&world, which).unwrap();
            group.bench_function(format!("ours: Incentives::claims, {}", which.name()), |b| {
                b.iter_custom(|n| search.ours(n).unwrap());
            });
            group.bench_function(
                format!("baseline: the adapter's statements, {}", which.name()),
                |b| b.iter_custom(|n| search.baseline(n).unwrap()),
            );
        }
        group.finish();
    });
}

/// (a) memory store: add customer through the service, against the same
/// rows moved into a plain `Mutex<HashMap>`.
fn memory_add(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory_add");
    group.throughput(Throughput::Elements(1));
    let mut add: Option<MemoryAdd> = None;
    group.bench_function("ours: Incentives::add_customer on MemoryStore", |b| {
        let add = add.get_or_insert_with(|| MemoryAdd::new(100_000).unwrap());
        b.iter_custom(|n| add.ours(n).unwrap());
    });
    group.bench_function("baseline: the rows into Mutex<HashMap>", |b| {
        let add = add.get_or_insert_with(|| MemoryAdd::new(100_000).unwrap());
        b.iter_custom(|n| add.baseline(n).unwrap());
    });
    group.finish();
}

/// (b) memory store: the first page of the large tab, against a range scan
/// of the same index.
fn memory_page(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory_page_1m");
    group.bench_function("ours: MemoryStore::page, unswept", |b| {
        let world = memory_world().lock().unwrap();
        assert!(world.due > 0, "the unswept benches run before the sweep");
        let mut page = MemoryPage::new(&world).unwrap();
        b.iter_custom(|n| page.ours(n).unwrap());
    });
    group.bench_function("baseline: BTreeSet range scan, unswept", |b| {
        let world = memory_world().lock().unwrap();
        assert!(world.due > 0, "the unswept benches run before the sweep");
        let mut page = MemoryPage::new(&world).unwrap();
        b.iter_custom(|n| page.baseline(n).unwrap());
    });
    group.bench_function("ours: MemoryStore::page", |b| {
        let mut world = memory_world().lock().unwrap();
        if world.due > 0 {
            world.sweep().unwrap();
        }
        let mut page = MemoryPage::new(&world).unwrap();
        b.iter_custom(|n| page.ours(n).unwrap());
    });
    group.bench_function("baseline: BTreeSet range scan", |b| {
        let mut world = memory_world().lock().unwrap();
        if world.due > 0 {
            world.sweep().unwrap();
        }
        let mut page = MemoryPage::new(&world).unwrap();
        b.iter_custom(|n| page.baseline(n).unwrap());
    });
    group.finish();
}

/// (c) SQLite: one durable add customer per call, against raw rusqlite
/// running the same statements in one transaction per call.
fn sqlite_add(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_add_durable");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    let mut add: Option<SqliteAdd> = None;
    group.bench_function("ours: Incentives::add_customer on SqliteStore, Full", |b| {
        let add = add.get_or_insert_with(|| SqliteAdd::new(50_000).unwrap());
        b.iter_custom(|n| add.ours(n).unwrap());
    });
    group.bench_function("baseline: raw transaction, synchronous FULL", |b| {
        let add = add.get_or_insert_with(|| SqliteAdd::new(50_000).unwrap());
        b.iter_custom(|n| add.baseline(n).unwrap());
    });
    group.finish();
}

/// (d) SQLite: accept consent with 64 concurrent callers (group commit),
/// against the raw single-transaction ceiling.
fn sqlite_accept(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_accept_64");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    let mut accept: Option<SqliteAccept> = None;
    group.bench_function(
        format!("ours: Incentives::accept_consent, {CALLERS} callers, Full"),
        |b| {
            let accept = accept.get_or_insert_with(|| SqliteAccept::new(20_000).unwrap());
            b.iter_custom(|n| accept.ours(n).unwrap());
        },
    );
    group.bench_function("baseline: raw transaction per acceptance, FULL", |b| {
        let accept = accept.get_or_insert_with(|| SqliteAccept::new(20_000).unwrap());
        b.iter_custom(|n| accept.baseline(n).unwrap());
    });
    group.finish();
}

/// (e) SQLite: the first full page of the large tab, against the store's
/// keyset query on a raw connection.
fn sqlite_page(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_page_1m");
    group.sample_size(50);
    group.bench_function("ours: SqliteStore::page, unswept", |b| {
        let mut page = SqlitePage::new(sqlite_world().path()).unwrap();
        b.iter_custom(|n| page.ours(n).unwrap());
    });
    group.bench_function("baseline: raw keyset query, unswept", |b| {
        let mut page = SqlitePage::new(sqlite_world().path()).unwrap();
        b.iter_custom(|n| page.baseline(n).unwrap());
    });
    group.bench_function("ours: SqliteStore::page", |b| {
        let mut page = SqlitePage::new(swept_sqlite_world().path()).unwrap();
        b.iter_custom(|n| page.ours(n).unwrap());
    });
    group.bench_function("baseline: raw keyset query", |b| {
        let mut page = SqlitePage::new(swept_sqlite_world().path()).unwrap();
        b.iter_custom(|n| page.baseline(n).unwrap());
    });
    group.finish();
}

/// (f) SQLite: the page at 1M against the page at 10k, ours both.
fn sqlite_page_scale(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_page_scale");
    group.sample_size(50);
    for (name, world) in [
        (
            "ours at 1M, unswept",
            sqlite_world as fn() -> &'static SqliteWorld,
        ),
        ("ours at 10k, unswept", small_world),
        ("ours at 1M", swept_sqlite_world),
        ("ours at 10k", swept_small_world),
    ] {
        group.bench_function(name, |b| {
            let mut page = SqlitePage::new(world().path()).unwrap();
            b.iter_custom(|n| page.ours(n).unwrap());
        });
    }
    group.finish();
}

/// (g) SQLite: the sweep of the large world with 10% due, against raw
/// batched transactions doing the same writes. Each sample sweeps a fresh
/// copy once; both sides write the same rows, so their times compare.
fn sqlite_sweep(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_sweep_1m");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(1));
    let mut sweep: Option<SqliteSweep<'static>> = None;
    group.bench_function("ours: Incentives::sweep", |b| {
        let sweep = sweep.get_or_insert_with(|| SqliteSweep::new(sqlite_world()).unwrap());
        b.iter_custom(|n| (0..n).map(|_| sweep.ours().unwrap().0).sum());
    });
    group.bench_function("baseline: raw batched transactions", |b| {
        let sweep = sweep.get_or_insert_with(|| SqliteSweep::new(sqlite_world()).unwrap());
        b.iter_custom(|n| (0..n).map(|_| sweep.baseline().unwrap().0).sum());
    });
    group.finish();
}

/// The service's Customers page over each store whose known customers
/// have their rows and answers: at 1M, at 10k, the store's own page of the
/// tab at 1M, and the page at 1M a day after the last sweep.
fn customers_page(c: &mut Criterion) {
    let mut group = c.benchmark_group("customers_page");
    group.sample_size(50);
    type Side = fn(&mut ServicePage, u64) -> Result<Duration, mci_benches::BoxError>;
    let sides: [(&str, bool, Side); 4] = [
        ("Incentives::customers_page at 1M", true, ServicePage::ours),
        (
            "Incentives::customers_page at 10k",
            false,
            ServicePage::ours,
        ),
        (
            "Store::page of the tab at 1M",
            true,
            ServicePage::store_page,
        ),
        (
            "Incentives::customers_page at 1M, a day after the sweep",
            true,
            ServicePage::behind,
        ),
    ];
    for (name, large, side) in sides {
        group.bench_function(format!("memory: {name}"), |b| {
            let mut pages = memory_pages().lock().unwrap();
            let page = if large { &mut pages.0 } else { &mut pages.1 };
            b.iter_custom(|n| side(page, n).unwrap());
        });
    }
    for (name, large, side) in sides {
        group.bench_function(format!("SQLite: {name}"), |b| {
            let world = if large {
                known_sqlite_world()
            } else {
                known_small_world()
            };
            let mut page = ServicePage::sqlite(world.path()).unwrap();
            b.iter_custom(|n| side(&mut page, n).unwrap());
        });
    }
    group.finish();
}

/// (n) SQLite: the Claims export of one partner's claims, a whole world of
/// them, as CSV, against the raw keyset walk with the same CSV writer; in
/// rows per second. The report measures the same at 1M with each side in a
/// child process of its own, and its peak memory.
fn sqlite_export(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_export");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    let world = export_world();
    group.throughput(Throughput::Elements(world.nominations() as u64));
    for (name, side) in [
        ("ours: Incentives::export_claims", Side::Ours),
        ("baseline: raw keyset walk, same CSV writer", Side::Baseline),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|n| {
                (0..n)
                    .map(|_| {
                        mci_benches::export::run(world.path(), side)
                            .unwrap()
                            .elapsed
                    })
                    .sum()
            });
        });
    }
    group.finish();
}

/// The world of the export group: `MCI_BENCH_EXPORT_NOMINATIONS`
/// nominations of one partner (100,000 by default: a sample reads them
/// all).
fn export_world() -> &'static ExportWorld {
    EXPORT_WORLD.get_or_init(|| {
        let n = std::env::var("MCI_BENCH_EXPORT_NOMINATIONS")
            .ok()
            .and_then(|n| n.replace('_', "").parse().ok())
            .unwrap_or(100_000);
        ExportWorld::build(n).unwrap()
    })
}

static EXPORT_WORLD: OnceLock<ExportWorld> = OnceLock::new();

/// (o) SQLite: searches of the Claims page of one partner's claims, the
/// first page and the next through the service, against the raw indexed
/// walk with the same filter and the same counts. On a swept copy of the
/// export group's world (100,000 claims by default): a search looks at a
/// bounded number of rows whatever the world's size; the report measures
/// the same at 1M.
fn sqlite_claims_search(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_claims_search");
    let world = SEARCH_WORLD.get_or_init(|| export_world().swept_copy().unwrap());
    for which in Search::ALL {
        let mut search = SqliteClaimsSearch::new(world.path(), which).unwrap();
        group.bench_function(format!("ours: Incentives::claims, {}", which.name()), |b| {
            b.iter_custom(|n| search.ours(n).unwrap());
        });
        group.bench_function(
            format!("baseline: raw indexed walk + counts, {}", which.name()),
            |b| b.iter_custom(|n| search.baseline(n).unwrap()),
        );
    }
    group.finish();
}

static SEARCH_WORLD: OnceLock<ExportWorld> = OnceLock::new();

criterion_group! {
    name = comparisons;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = memory_add, memory_page, sqlite_add, sqlite_accept, sqlite_page,
        sqlite_page_scale, sqlite_sweep, customers_page, sqlite_export, sqlite_claims_search,
        postgres_add, postgres_accept, postgres_customers_page, postgres_claims_search
}
/// Removes the files of the worlds built: statics are never dropped, so
/// their temporary directories would outlive the process.
fn remove_worlds() {
    for world in [
        &SQLITE_WORLD,
        &SWEPT_SQLITE_WORLD,
        &SMALL_WORLD,
        &SWEPT_SMALL_WORLD,
        &KNOWN_SQLITE_WORLD,
        &KNOWN_SMALL_WORLD,
    ] {
        if let Some(dir) = world.get().and_then(|w| w.path().parent()) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    for world in [&EXPORT_WORLD, &SEARCH_WORLD] {
        if let Some(dir) = world.get().and_then(|w| w.path().parent()) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn main() {
    comparisons();
    Criterion::default().configure_from_args().final_summary();
    remove_worlds();
    // Stops the cluster and removes its files.
    drop(PG_SERVER.lock().unwrap().take());
}
