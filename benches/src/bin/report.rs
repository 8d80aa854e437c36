//! Runs every comparison of the benchmarks, ours and its baseline in
//! alternating rounds, and prints one markdown table:
//!
//! ```text
//! cargo run --release -p mci-benches --bin report -- --quick
//! ```
//!
//! `--quick` runs short rounds (the whole report, fixtures included, takes
//! a few minutes on two cores); without it the rounds are longer and more
//! numerous. `--nominations N` sizes the large worlds (1,000,000 by
//! default). `--only PARTS` runs some of it, `PARTS` a comma-separated list
//! of `memory-add`, `sqlite-add`, `accept`, `worlds` (the stores' pages and
//! the sweep, which share the large worlds), `memory-customers` and
//! `sqlite-customers` (the service's Customers page over each store, which
//! need the worlds too and build them when `worlds` is not asked for), and
//! `postgres-add`, `postgres-accept` and `postgres-customers`, and
//! `sqlite-export` (the Claims export of one partner's claims, a world of
//! its own, each side run in a child process that reports its peak
//! memory), `sqlite-claims-search` (searches of the Claims page of one
//! partner's claims, a swept world of its own) and
//! `postgres-claims-search` (the same searches of the big partner's
//! Claims page on the PostgreSQL world). The
//! table goes to standard output; progress, fixture sizes, the wall time
//! and the asides below go to standard error.
//!
//! The PostgreSQL rows run on the server `MCI_POSTGRES_URL` names, or else
//! on a throwaway cluster with `fsync`, `synchronous_commit` and
//! `full_page_writes` on; where PostgreSQL is not installed they are
//! skipped with one line saying why (and `MCI_REQUIRE_POSTGRES=1` makes
//! that a failure). Their world is written with `COPY` as the store holds
//! it once swept and given its known rows and answers (`raw_pg::load_world`);
//! `--pg-nominations N` sizes it (the `--nominations` figure by default).
//! After the page comparison the report prints, on standard error,
//! `EXPLAIN (ANALYZE, BUFFERS)` of the page's statements and how the raw
//! connection planned them.
//!
//! The large world is built with 10% of it due: the sweep comparison
//! sweeps copies of it. The page comparisons in the table read it once the
//! sweep has run (marked "swept"), the state a system that sweeps keeps;
//! the same pages read before the sweep, with every lapsed row still in
//! its tab's index, are printed as asides.
//!
//! The Customers page comparisons read the swept worlds once their known
//! customers have their rows and answers (`world::know`, as a sweep that
//! keeps up leaves them): the page at the large world against the page at
//! the 10k one, the service's page against the store's own page of the tab,
//! and the page read a day after the last sweep against the swept one
//! (in the table for SQLite, as an aside for memory), with what that day
//! left to make up for on standard error.
//!
//! A failure here is a broken benchmark, not a result: it panics with the
//! error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_benches::BoxError;
use mci_benches::comparison::{
    CALLERS, MemoryAdd, MemoryPage, ServicePage, SqliteAccept, SqliteAdd, SqlitePage, SqliteSweep,
    SqliteWorld, build_worlds, know_file,
};
use mci_benches::export;
use mci_benches::measure::{Goal, Line, Measure, Timing, interleaved, median, table, time};
use mci_benches::postgres::{
    PgServer, PostgresAccept, PostgresAdd, PostgresClaimsSearch, PostgresPage, PostgresWorld,
};
use mci_benches::search;
use mci_benches::world::{BIG_PARTNER, Known, KnownFor, PAGE, WorldSpec};
use std::cell::RefCell;
use std::time::{Duration, Instant};

/// The size of the small worlds the large ones are compared with.
const SMALL: usize = 10_000;

/// The engagements the Customers page comparisons give known rows: the one
/// whose page they read. Keeping them for all five of the catalog (as the
/// service's sweep does) adds four minutes of SQLite writes to the report.
const KNOWN_FOR: KnownFor = KnownFor::BigEngagement;

/// The parts `--only` takes.
const PARTS: [&str; 12] = [
    "memory-add",
    "sqlite-add",
    "accept",
    "worlds",
    "memory-customers",
    "sqlite-customers",
    "postgres-add",
    "postgres-accept",
    "postgres-customers",
    "sqlite-export",
    "sqlite-claims-search",
    "postgres-claims-search",
];

/// How long a report runs each side of a comparison.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Rounds of each side, alternating which goes first.
    rounds: usize,
    /// Rounds of the sweep, which copies the large world each time.
    sweep_rounds: usize,
    /// The time one side takes in one round.
    round: Duration,
}

const QUICK: Plan = Plan {
    rounds: 5,
    sweep_rounds: 1,
    round: Duration::from_millis(300),
};

const FULL: Plan = Plan {
    rounds: 11,
    sweep_rounds: 3,
    round: Duration::from_secs(2),
};

/// How many operations of `side` fill a round of `plan`: doubles a trial
/// run from `least` operations until it takes a tenth of a round (which
/// also warms it up), then scales.
fn calibrate(
    plan: &Plan,
    least: u64,
    mut side: impl FnMut(u64) -> Result<Duration, BoxError>,
) -> Result<u64, BoxError> {
    let mut ops = least.max(1);
    loop {
        let took = side(ops)?;
        if took >= plan.round / 10 || ops >= 1 << 24 {
            let per_op = took.as_secs_f64() / ops as f64;
            let fit = (plan.round.as_secs_f64() / per_op.max(1e-9)) as u64;
            return Ok(fit.max(least).next_multiple_of(least.max(1)));
        }
        ops *= 2;
    }
}

/// Both sides of a comparison on `state`, measured in `plan.rounds`
/// alternating rounds; ours runs at least `least` operations a round.
fn compare<S>(
    plan: &Plan,
    least: u64,
    state: &mut S,
    ours: impl FnMut(&mut S, u64) -> Result<Duration, BoxError>,
    baseline: impl FnMut(&mut S, u64) -> Result<Duration, BoxError>,
) -> Result<(Duration, Duration), BoxError> {
    compare_at_least(plan, [least, 1], state, ours, baseline)
}

/// [`compare`], with ours and the baseline each running at least as many
/// operations a round as `least` says: a baseline with concurrent callers
/// runs at least one operation per caller, as ours does.
fn compare_at_least<S>(
    plan: &Plan,
    least: [u64; 2],
    state: &mut S,
    mut ours: impl FnMut(&mut S, u64) -> Result<Duration, BoxError>,
    mut baseline: impl FnMut(&mut S, u64) -> Result<Duration, BoxError>,
) -> Result<(Duration, Duration), BoxError> {
    let ours_ops = calibrate(plan, least[0], |n| ours(state, n))?;
    let baseline_ops = calibrate(plan, least[1], |n| baseline(state, n))?;
    let state = RefCell::new(state);
    interleaved(
        plan.rounds,
        || {
            Ok(Timing {
                ops: ours_ops,
                elapsed: ours(&mut state.borrow_mut(), ours_ops)?,
            })
        },
        || {
            Ok(Timing {
                ops: baseline_ops,
                elapsed: baseline(&mut state.borrow_mut(), baseline_ops)?,
            })
        },
    )
}

/// A measurement that is not in the table, on standard error.
fn aside(started: Instant, what: &str, measure: Measure, ours: Duration, baseline: Duration) {
    let line = Line {
        comparison: what.into(),
        measure,
        ours,
        baseline,
        goal: Goal::AtMost(f64::INFINITY),
    };
    progress(
        started,
        &format!(
            "  {what}: ours {}, baseline {}, ratio {:.2}",
            time(ours),
            time(baseline),
            line.ratio()
        ),
    );
}

fn progress(started: Instant, what: &str) {
    eprintln!("[{:>6.1} s] {what}", started.elapsed().as_secs_f64());
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == export::CHILD_FLAG) {
        // One side of the export comparison, in a process of its own.
        let side = export::Side::named(args.get(i + 1).ok_or("which side")?)?;
        let path = args.get(i + 2).ok_or("which file")?;
        println!("{}", export::run(std::path::Path::new(path), side)?.line());
        return Ok(());
    }
    let plan = if args.iter().any(|a| a == "--quick") {
        QUICK
    } else {
        FULL
    };
    let number = |flag: &str| -> Result<Option<usize>, BoxError> {
        match args.iter().position(|a| a == flag) {
            Some(i) => Ok(Some(
                args.get(i + 1)
                    .ok_or(format!("{flag} needs a number"))?
                    .replace('_', "")
                    .parse()?,
            )),
            None => Ok(None),
        }
    };
    let nominations = number("--nominations")?.unwrap_or(1_000_000);
    let pg_nominations = number("--pg-nominations")?.unwrap_or(nominations);
    let only: Option<Vec<String>> = match args.iter().position(|a| a == "--only") {
        Some(i) => Some(
            args.get(i + 1)
                .ok_or("--only needs a list of parts")?
                .split(',')
                .map(str::to_owned)
                .collect(),
        ),
        None => None,
    };
    if let Some(unknown) = only.iter().flatten().find(|p| !PARTS.contains(&p.as_str())) {
        return Err(format!("no part {unknown}: the parts are {}", PARTS.join(", ")).into());
    }
    let wanted = |part: &str| only.as_ref().is_none_or(|o| o.iter().any(|p| p == part));
    let started = Instant::now();
    eprintln!(
        "mci benchmark report, {} UTC, {} rounds of {:?} per side, {nominations} nominations",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        plan.rounds,
        plan.round,
    );
    eprintln!(
        "command: cargo run --release -p mci-benches --bin report -- {}",
        args.join(" ")
    );
    let mut lines: Vec<(u32, Line)> = Vec::new();
    let large = human(nominations);

    if wanted("memory-add") {
        progress(started, "memory: add customer");
        let mut add = MemoryAdd::new(20_000)?;
        let (ours, baseline) = compare(&plan, 1, &mut add, |s, n| s.ours(n), |s, n| s.baseline(n))?;
        drop(add);
        lines.push((
            10,
            Line {
                comparison: "memory store: add customer through the service".into(),
                measure: Measure::Throughput,
                ours,
                baseline,
                goal: Goal::AtLeast(0.5),
            },
        ));
    }

    if wanted("sqlite-add") {
        progress(started, "SQLite: durable add customer");
        let mut add = SqliteAdd::new(20_000)?;
        let (ours, baseline) = compare(&plan, 1, &mut add, |s, n| s.ours(n), |s, n| s.baseline(n))?;
        drop(add);
        lines.push((
            40,
            Line {
                comparison: "SQLite: one add customer, durable, per call".into(),
                measure: Measure::Throughput,
                ours,
                baseline,
                goal: Goal::AtLeast(0.8),
            },
        ));
    }

    if wanted("accept") {
        progress(started, "SQLite: accept consent, 64 callers");
        let mut accept = SqliteAccept::new(20_000)?;
        let (ours, baseline) = compare(
            &plan,
            CALLERS as u64,
            &mut accept,
            |s, n| s.ours(n),
            |s, n| s.baseline(n),
        )?;
        drop(accept);
        lines.push((
            50,
            Line {
                comparison: format!(
                    "SQLite: accept consent with {CALLERS} concurrent callers (group commit)"
                ),
                measure: Measure::Throughput,
                ours,
                baseline,
                goal: Goal::AtLeast(3.0),
            },
        ));
    }

    let pages = wanted("worlds");
    let memory_customers = wanted("memory-customers");
    let sqlite_customers = wanted("sqlite-customers");
    if pages || memory_customers || sqlite_customers {
        let (with_memory, with_sqlite) = (pages || memory_customers, pages || sqlite_customers);
        progress(
            started,
            &format!("building the {large} worlds and the 10k worlds"),
        );
        let (memory, sqlite) = build_worlds(&WorldSpec::of(nominations), with_memory, with_sqlite)?;
        let (small_memory, small) =
            build_worlds(&WorldSpec::of(SMALL), memory_customers, with_sqlite)?;
        for (name, nominations, due, bytes) in [
            memory
                .as_ref()
                .map(|w| ("memory", w.nominations, w.due, None)),
            sqlite
                .as_ref()
                .map(|w| ("SQLite", w.nominations, w.due, Some(w.bytes()))),
        ]
        .into_iter()
        .flatten()
        {
            let file = bytes.map_or(String::new(), |b| {
                format!(", file {:.2} GB", b as f64 / 1e9)
            });
            progress(
                started,
                &format!("{name} world built: {nominations} nominations, {due} due{file}"),
            );
        }

        if let Some(mut memory) = memory {
            // The pages are read first in the world as built, 10% of it
            // lapsed and not yet swept (on standard error), then once the
            // sweep has run: the state a system that sweeps keeps (in the
            // table).
            if pages {
                progress(started, &format!("memory: first page at {large}, unswept"));
                let mut page = MemoryPage::new(&memory)?;
                let (ours, baseline) =
                    compare(&plan, 1, &mut page, |s, n| s.ours(n), |s, n| s.baseline(n))?;
                drop(page);
                aside(
                    started,
                    "memory page, unswept",
                    Measure::Time,
                    ours,
                    baseline,
                );
            }
            progress(started, &format!("memory: sweeping the {large} world"));
            let swept = memory.sweep()?;
            progress(started, &format!("  swept {swept}"));
            if pages {
                progress(started, &format!("memory: first page at {large}, swept"));
                let mut page = MemoryPage::new(&memory)?;
                let (ours, baseline) =
                    compare(&plan, 1, &mut page, |s, n| s.ours(n), |s, n| s.baseline(n))?;
                drop(page);
                lines.push((
                    20,
                    Line {
                        comparison: format!(
                            "memory store: first page ({PAGE} rows) of a tab at {large} nominations (swept)"
                        ),
                        measure: Measure::Time,
                        ours,
                        baseline,
                        goal: Goal::AtMost(1.5),
                    },
                ));
            }
            if memory_customers {
                let mut small_memory = small_memory.ok_or("no small memory world")?;
                small_memory.sweep()?;
                progress(started, "memory: known rows and answers");
                for (world, name) in [(&memory, large.as_str()), (&small_memory, "10k")] {
                    let known = world.know(KNOWN_FOR)?;
                    progress(started, &format!("  at {name}: {}", known_figures(&known)));
                }
                let mut big = ServicePage::memory(&memory)?;
                let mut little = ServicePage::memory(&small_memory)?;
                customers(
                    &plan,
                    started,
                    Sizes {
                        store: "memory store",
                        large: &large,
                        order: 30,
                        behind_in_table: false,
                    },
                    &mut big,
                    &mut little,
                    &mut lines,
                )?;
                std::mem::forget((big, little, small_memory));
            }
            // Freeing millions of rows and known rows takes the allocator
            // half a minute; the process hands them back at once when it
            // ends.
            std::mem::forget(memory);
        }

        if let Some(mut sqlite) = sqlite {
            let mut small = small.ok_or("no small SQLite world")?;
            let mut sweep = None;
            let swept_large = if pages {
                let fixture =
                    sqlite_pages(&plan, started, &large, &sqlite, &mut small, &mut lines)?;
                let path = fixture.swept().ok_or("our sweep left no file")?;
                sweep = Some(fixture);
                path
            } else {
                progress(started, &format!("SQLite: sweeping the {large} world"));
                let swept = sqlite.sweep()?;
                progress(started, &format!("  swept {swept}"));
                let swept = small.sweep()?;
                progress(started, &format!("  swept {swept} of the 10k world"));
                sqlite.path().to_owned()
            };
            if sqlite_customers {
                progress(started, "SQLite: known rows and answers");
                for (path, name) in [
                    (swept_large.as_path(), large.as_str()),
                    (small.path(), "10k"),
                ] {
                    let known = know_file(path, KNOWN_FOR)?;
                    progress(started, &format!("  at {name}: {}", known_figures(&known)));
                }
                let mut big = ServicePage::sqlite(&swept_large)?;
                let mut little = ServicePage::sqlite(small.path())?;
                customers(
                    &plan,
                    started,
                    Sizes {
                        store: "SQLite",
                        large: &large,
                        order: 90,
                        behind_in_table: true,
                    },
                    &mut big,
                    &mut little,
                    &mut lines,
                )?;
            }
            drop(sweep);
        }
    }

    if wanted("sqlite-export") {
        sqlite_export(&plan, started, nominations, &mut lines)?;
    }

    if wanted("sqlite-claims-search") {
        sqlite_claims_search(&plan, started, nominations, &mut lines)?;
    }

    let pg_parts = [
        "postgres-add",
        "postgres-accept",
        "postgres-customers",
        "postgres-claims-search",
    ];
    if pg_parts.iter().any(|p| wanted(p)) {
        postgres(&plan, started, &wanted, pg_nominations, &mut lines)?;
    }

    progress(started, "done");
    eprintln!("wall time: {:.1} s", started.elapsed().as_secs_f64());
    // The issue's order: memory first, then SQLite, then PostgreSQL.
    lines.sort_by_key(|(order, _): &(u32, Line)| *order);
    let sorted: Vec<Line> = lines.into_iter().map(|(_, line)| line).collect();
    print!("{}", table(&sorted));
    Ok(())
}

/// The PostgreSQL comparisons, on the server `MCI_POSTGRES_URL` names or a
/// throwaway cluster with every commit on disk; skipped with one line where
/// PostgreSQL is not installed (a failure under `MCI_REQUIRE_POSTGRES=1`).
fn postgres(
    plan: &Plan,
    started: Instant,
    wanted: &dyn Fn(&str) -> bool,
    nominations: usize,
    lines: &mut Vec<(u32, Line)>,
) -> Result<(), BoxError> {
    let Some(server) = PgServer::start_or_skip("the PostgreSQL rows of the benchmark report")
    else {
        return Ok(());
    };
    progress(started, &format!("PostgreSQL: {}", server.describe()?));
    if wanted("postgres-add") {
        progress(started, "PostgreSQL: durable add customer");
        let mut add = PostgresAdd::new(&server, 20_000)?;
        let (ours, baseline) = compare(plan, 1, &mut add, |s, n| s.ours(n), |s, n| s.baseline(n))?;
        drop(add);
        lines.push((
            100,
            Line {
                comparison: "PostgreSQL: one add customer, durable, per call".into(),
                measure: Measure::Throughput,
                ours,
                baseline,
                goal: Goal::AtLeast(0.8),
            },
        ));
    }
    if wanted("postgres-accept") {
        progress(
            started,
            &format!("PostgreSQL: accept consent, {CALLERS} callers"),
        );
        // Grown as the rounds use them up: each nomination awaiting consent
        // takes two commits' writes through the store in each database.
        let mut accept = PostgresAccept::new(&server, 2_000)?;
        let pool = accept.pool_size();
        let (ours, baseline) = compare_at_least(
            plan,
            [CALLERS as u64; 2],
            &mut accept,
            |s, n| s.ours(n),
            |s, n| s.baseline(n),
        )?;
        drop(accept);
        lines.push((
            110,
            Line {
                comparison: format!(
                    "PostgreSQL: accept consent with {CALLERS} concurrent callers, durable, \
                     pools of {pool} connections"
                ),
                measure: Measure::Throughput,
                ours,
                baseline,
                goal: Goal::AtLeast(0.8),
            },
        ));
    }
    let customers = wanted("postgres-customers");
    let searches = wanted("postgres-claims-search");
    if customers || searches {
        let large = human(nominations);
        progress(started, &format!("PostgreSQL: building the {large} world"));
        let world = PostgresWorld::build(&server, &WorldSpec::of(nominations), KNOWN_FOR)?;
        progress(
            started,
            &format!(
                "  {} nominations ({} woken by the sweep) and their known rows ({}) copied \
                 in {:.1} s with ANALYZE, {} rows in all; database {:.2} GB",
                world.nominations,
                world.swept,
                known_figures(&world.known),
                world.loaded_in.as_secs_f64(),
                world.rows,
                world.bytes as f64 / 1e9
            ),
        );
        if searches {
            postgres_claims_search(plan, started, &world, &large, lines)?;
        }
        if !customers {
            return Ok(());
        }
        progress(
            started,
            &format!("PostgreSQL: Customers page at {large} against the raw statements"),
        );
        let mut page = PostgresPage::new(&world)?;
        let (ours, baseline) = compare(plan, 1, &mut page, |s, n| s.ours(n), |s, n| s.baseline(n))?;
        // What the server does for the page: the reasons of its figure.
        for (statement, plan) in page.explain()? {
            eprintln!("  {statement}\n    {}", plan.replace('\n', "\n    "));
        }
        drop(page);
        lines.push((
            120,
            Line {
                comparison: format!(
                    "PostgreSQL: Customers page ({PAGE} rows + counts) at {large} nominations vs \
                     the raw keyset query + counts (swept)"
                ),
                measure: Measure::Time,
                ours,
                baseline,
                goal: Goal::AtMost(1.3),
            },
        ));
    }
    Ok(())
}

/// (p) Searches of the big partner's Claims page on the PostgreSQL world:
/// each search's first two pages through the service against the
/// adapter's statements on a raw connection.
fn postgres_claims_search(
    plan: &Plan,
    started: Instant,
    world: &PostgresWorld,
    large: &str,
    lines: &mut Vec<(u32, Line)>,
) -> Result<(), BoxError> {
    for (order, which) in (125..).zip(search::Search::ALL) {
        let mut search = PostgresClaimsSearch::new(world, which)?;
        let [first, second] = search.matched;
        let [scanned, next] = search.scanned;
        progress(
            started,
            &format!(
                "PostgreSQL: Claims search, {}, at {large}: {first} of {scanned} rows matched \
                 on the first page, {second} of {next} on the next",
                which.name()
            ),
        );
        let (ours, baseline) =
            compare(plan, 1, &mut search, |s, n| s.ours(n), |s, n| s.baseline(n))?;
        lines.push((
            order,
            Line {
                comparison: format!(
                    "PostgreSQL: Claims search ({}; first page and the next, {first} of \
                     {scanned} and {second} of {next} rows matched) of the big partner at \
                     {large} nominations vs the raw statements + counts (swept)",
                    which.name()
                ),
                measure: Measure::Time,
                ours,
                baseline,
                goal: Goal::AtMost(1.3),
            },
        ));
    }
    Ok(())
}

/// (n) The Claims export of one partner's claims at `nominations` and at
/// the small size, each side in a child process of its own: rows per
/// second in the table, with both sides' peak resident sets.
fn sqlite_export(
    plan: &Plan,
    started: Instant,
    nominations: usize,
    lines: &mut Vec<(u32, Line)>,
) -> Result<(), BoxError> {
    let large = human(nominations);
    progress(
        started,
        &format!("SQLite: building the {large} and 10k export worlds (one partner's claims)"),
    );
    let world = export::ExportWorld::build(nominations)?;
    let small = export::ExportWorld::build(SMALL)?;
    let program = std::env::current_exe()?;
    let mut runs: [Vec<export::ExportRun>; 2] = [Vec::new(), Vec::new()];
    let side = |runs: &mut Vec<export::ExportRun>, which, path: &std::path::Path| {
        let run = export::in_child(&program, path, which)?;
        runs.push(run);
        Ok::<_, BoxError>(Timing {
            ops: run.rows,
            elapsed: run.elapsed,
        })
    };
    let [ours_runs, baseline_runs] = &mut runs;
    // Each round reads a whole world, as a sweep round does.
    let (ours, baseline) = interleaved(
        plan.sweep_rounds,
        || side(ours_runs, export::Side::Ours, world.path()),
        || side(baseline_runs, export::Side::Baseline, world.path()),
    )?;
    for run in runs.iter().flatten() {
        if run.rows != nominations as u64 || run.bytes != runs[0][0].bytes {
            return Err(format!("an export wrote {run:?}, not the world's rows").into());
        }
    }
    let peak = |runs: &[export::ExportRun]| runs.iter().map(|r| r.peak_kib).max().unwrap_or(0);
    let small_ours = export::in_child(&program, small.path(), export::Side::Ours)?;
    let small_baseline = export::in_child(&program, small.path(), export::Side::Baseline)?;
    let mib = |kib: u64| format!("{:.0} MiB", kib as f64 / 1024.0);
    progress(
        started,
        &format!(
            "  export peak resident set: at {large} ours {}, baseline {}; at 10k ours {}, baseline {}",
            mib(peak(&runs[0])),
            mib(peak(&runs[1])),
            mib(small_ours.peak_kib),
            mib(small_baseline.peak_kib),
        ),
    );
    lines.push((
        90,
        Line {
            comparison: format!(
                "SQLite: export {large} claims of one partner as CSV, rows/s (peak memory ours {}, baseline {}; at 10k {} and {})",
                mib(peak(&runs[0])),
                mib(peak(&runs[1])),
                mib(small_ours.peak_kib),
                mib(small_baseline.peak_kib),
            ),
            measure: Measure::Throughput,
            ours,
            baseline,
            goal: Goal::AtLeast(0.7),
        },
    ));
    Ok(())
}

/// (o) Searches of the Claims page of one partner's claims at
/// `nominations`, swept: each search's first two pages through the service
/// against the raw indexed walk with the same filter and the same counts;
/// with the store's own pages against the same baseline on standard error.
fn sqlite_claims_search(
    plan: &Plan,
    started: Instant,
    nominations: usize,
    lines: &mut Vec<(u32, Line)>,
) -> Result<(), BoxError> {
    let large = human(nominations);
    progress(
        started,
        &format!("SQLite: building the {large} search world (one partner's claims)"),
    );
    let mut world = export::ExportWorld::build(nominations)?;
    progress(
        started,
        &format!("  built; sweeping the {large} search world"),
    );
    let swept = world.sweep()?;
    progress(started, &format!("  swept {swept}"));
    for (order, which) in (95..).zip(search::Search::ALL) {
        let mut search = search::SqliteClaimsSearch::new(world.path(), which)?;
        let [first, second] = search.matched;
        let [scanned, next] = search.scanned;
        progress(
            started,
            &format!(
                "SQLite: Claims search, {}, at {large}: {first} of {scanned} rows matched on the \
                 first page, {second} of {next} on the next",
                which.name()
            ),
        );
        let (ours, baseline) =
            compare(plan, 1, &mut search, |s, n| s.ours(n), |s, n| s.baseline(n))?;
        let (store, raw) = compare(
            plan,
            1,
            &mut search,
            |s, n| s.store_pages(n),
            |s, n| s.baseline(n),
        )?;
        aside(
            started,
            &format!("the store's own pages and counts vs raw, {}", which.name()),
            Measure::Time,
            store,
            raw,
        );
        lines.push((
            order,
            Line {
                comparison: format!(
                    "SQLite: Claims search ({}; first page and the next, {first} of {scanned} \
                     and {second} of {next} rows matched) of {large} claims of one partner vs \
                     the raw indexed walk + counts (swept)",
                    which.name()
                ),
                measure: Measure::Time,
                ours,
                baseline,
                goal: Goal::AtMost(1.3),
            },
        ));
    }
    Ok(())
}

/// `n` as the table names sizes: 1M, 10k, 2500.
fn human(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// The SQLite comparisons of the large and small worlds as built: the sweep
/// of the large one (ours last, so that its swept file is what the pages
/// read next), then the pages unswept (on standard error) and swept (in
/// the table). Sweeps the small world in place; answers the sweep, whose
/// scratch directory holds the swept large world.
fn sqlite_pages<'w>(
    plan: &Plan,
    started: Instant,
    large: &str,
    sqlite: &'w SqliteWorld,
    small: &mut SqliteWorld,
    lines: &mut Vec<(u32, Line)>,
) -> Result<SqliteSweep<'w>, BoxError> {
    progress(
        started,
        &format!("SQLite: sweep at {large}, {} due", sqlite.due),
    );
    let mut sweep = SqliteSweep::new(sqlite)?;
    let (mut o, mut b) = (Vec::new(), Vec::new());
    for round in 0..plan.sweep_rounds {
        // Ours last, so that its swept file is what the pages read next.
        for side in [1 - round % 2, round % 2] {
            let (took, written) = if side == 0 {
                sweep.ours()?
            } else {
                sweep.baseline()?
            };
            let name = ["ours", "baseline"][side];
            progress(started, &format!("  {name}: {written} in {}", time(took)));
            [&mut o, &mut b][side].push(took / u32::try_from(written.max(1))?);
        }
    }
    let sweep_line = Line {
        comparison: format!("SQLite: sweep at {large} nominations, 10% due"),
        measure: Measure::Throughput,
        ours: median(o),
        baseline: median(b),
        goal: Goal::AtLeast(0.5),
    };

    progress(
        started,
        &format!("SQLite: first page at {large}, and at 10k, unswept"),
    );
    let mut page = SqlitePage::new(sqlite.path())?;
    let mut small_page = SqlitePage::new(small.path())?;
    let (ours, baseline) = compare(plan, 1, &mut page, |s, n| s.ours(n), |s, n| s.baseline(n))?;
    aside(
        started,
        "SQLite page, unswept",
        Measure::Time,
        ours,
        baseline,
    );
    let (at_large, at_small) = large_and_small(plan, &mut page, &mut small_page)?;
    aside(
        started,
        &format!("SQLite page at {large} vs 10k, unswept"),
        Measure::Time,
        at_large,
        at_small,
    );
    drop((page, small_page));

    progress(
        started,
        &format!("SQLite: first page at {large}, and at 10k, swept"),
    );
    let swept_large = sweep.swept().ok_or("our sweep left no file")?;
    let swept = small.sweep()?;
    progress(started, &format!("  swept {swept} of the 10k world"));
    let mut page = SqlitePage::new(&swept_large)?;
    let mut small_page = SqlitePage::new(small.path())?;
    let (ours, baseline) = compare(plan, 1, &mut page, |s, n| s.ours(n), |s, n| s.baseline(n))?;
    lines.push((
        60,
        Line {
            comparison: format!(
                "SQLite: first full page ({PAGE} rows) of a tab at {large} nominations (swept)"
            ),
            measure: Measure::Time,
            ours,
            baseline,
            goal: Goal::AtMost(1.3),
        },
    ));
    let (at_large, at_small) = large_and_small(plan, &mut page, &mut small_page)?;
    lines.push((
        70,
        Line {
            comparison: format!(
                "SQLite: page time at {large} vs at 10k nominations (full pages, swept)"
            ),
            measure: Measure::Time,
            ours: at_large,
            baseline: at_small,
            goal: Goal::AtMost(1.5),
        },
    ));
    lines.push((80, sweep_line));
    Ok(sweep)
}

/// Our page at the large world and at the small one, in alternating rounds.
fn large_and_small(
    plan: &Plan,
    large: &mut SqlitePage,
    small: &mut SqlitePage,
) -> Result<(Duration, Duration), BoxError> {
    compare(
        plan,
        1,
        &mut (large, small),
        |s, n| s.0.ours(n),
        |s, n| s.1.ours(n),
    )
}

/// Which store the Customers page comparisons run on, and where their
/// lines go.
struct Sizes<'a> {
    /// The store, as the table names it.
    store: &'a str,
    /// The large world's size, as the table names it.
    large: &'a str,
    /// The first line's place in the table.
    order: u32,
    /// Whether the page read a day behind goes to the table, or to
    /// standard error.
    behind_in_table: bool,
}

/// The Customers page comparisons on one store: the page at the large world
/// against the page at the small one, the service's page against the
/// store's own page of the tab, and the page read a day after the last
/// sweep against the swept one.
fn customers(
    plan: &Plan,
    started: Instant,
    sizes: Sizes<'_>,
    big: &mut ServicePage,
    small: &mut ServicePage,
    lines: &mut Vec<(u32, Line)>,
) -> Result<(), BoxError> {
    let Sizes {
        store,
        large,
        order,
        behind_in_table,
    } = sizes;
    let (known, small_known) = (roughly(big.known), roughly(small.known));
    progress(
        started,
        &format!(
            "{store}: Customers page at {large} nominations and {} known customers, \
             against 10k and {}",
            big.known, small.known
        ),
    );
    let (at_large, at_small) = compare(
        plan,
        1,
        &mut (&mut *big, &mut *small),
        |s, n| s.0.ours(n),
        |s, n| s.1.ours(n),
    )?;
    lines.push((
        order,
        Line {
            comparison: format!(
                "{store}: Customers page ({PAGE} rows + counts) at {known} known customers and \
                 {large} nominations vs at {small_known} (swept)"
            ),
            measure: Measure::Time,
            ours: at_large,
            baseline: at_small,
            goal: Goal::AtMost(1.5),
        },
    ));
    progress(
        started,
        &format!("{store}: Customers page against the store's page at {large}"),
    );
    let (service, own) = compare(plan, 1, big, |s, n| s.ours(n), |s, n| s.store_page(n))?;
    lines.push((
        order + 1,
        Line {
            comparison: format!(
                "{store}: Customers page vs the store's own page of the tab, at {known} known \
                 customers (swept)"
            ),
            measure: Measure::Time,
            ours: service,
            baseline: own,
            goal: Goal::AtMost(3.0),
        },
    ));
    let behind = big.behind;
    progress(
        started,
        &format!(
            "{store}: Customers page a day after the last sweep, at {large}: the day left \
             {} lapses of the tab's pair unwritten and {} of its {} shown known rows to derive \
             again",
            behind.lapses, behind.known_rows, behind.shown
        ),
    );
    let (late, swept) = compare(plan, 1, big, |s, n| s.behind(n), |s, n| s.ours(n))?;
    let comparison = format!(
        "{store}: Customers page a day after the last sweep (lapses unwritten, answers aged) vs \
         swept, at {known} known customers"
    );
    if behind_in_table {
        lines.push((
            order + 2,
            Line {
                comparison,
                measure: Measure::Time,
                ours: late,
                baseline: swept,
                goal: Goal::None,
            },
        ));
    } else {
        aside(started, &comparison, Measure::Time, late, swept);
    }
    Ok(())
}

/// What [`know_file`] or `MemoryWorld::know` wrote, for standard error.
fn known_figures(known: &Known) -> String {
    format!(
        "{} answers kept ({} ineligible), {} known customers of {BIG_PARTNER}",
        known.answered, known.ineligible, known.big_partner
    )
}

/// `n` in thousands, as the table names counts of customers: 100k, 1k.
fn roughly(n: usize) -> String {
    if n >= 500 {
        format!("{:.0}k", n as f64 / 1_000.0)
    } else {
        n.to_string()
    }
}
