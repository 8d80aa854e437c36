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
//! of `memory-add`, `sqlite-add`, `accept` and `worlds` (the pages and the
//! sweep, which share the large worlds). The table goes to standard output;
//! progress, fixture sizes, the wall time and the asides below go to
//! standard error.
//!
//! The large world is built with 10% of it due: the sweep comparison
//! sweeps copies of it. The page comparisons in the table read it once the
//! sweep has run (marked "swept"), the state a system that sweeps keeps;
//! the same pages read before the sweep, with every lapsed row still in
//! its tab's index, are printed as asides.
//!
//! A failure here is a broken benchmark, not a result: it panics with the
//! error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_benches::BoxError;
use mci_benches::comparison::{
    CALLERS, MemoryAdd, MemoryPage, SqliteAccept, SqliteAdd, SqlitePage, SqliteSweep, build_worlds,
};
use mci_benches::measure::{Goal, Line, Measure, Timing, interleaved, median, table, time};
use mci_benches::world::{PAGE, WorldSpec};
use std::cell::RefCell;
use std::time::{Duration, Instant};

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
    mut ours: impl FnMut(&mut S, u64) -> Result<Duration, BoxError>,
    mut baseline: impl FnMut(&mut S, u64) -> Result<Duration, BoxError>,
) -> Result<(Duration, Duration), BoxError> {
    let ours_ops = calibrate(plan, least, |n| ours(state, n))?;
    let baseline_ops = calibrate(plan, 1, |n| baseline(state, n))?;
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
    let plan = if args.iter().any(|a| a == "--quick") {
        QUICK
    } else {
        FULL
    };
    let nominations = match args.iter().position(|a| a == "--nominations") {
        Some(i) => args
            .get(i + 1)
            .ok_or("--nominations needs a number")?
            .replace('_', "")
            .parse()?,
        None => 1_000_000,
    };
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
    let mut lines = Vec::new();
    let large = human(nominations);

    if wanted("memory-add") {
        progress(started, "memory: add customer");
        let mut add = MemoryAdd::new(20_000)?;
        let (ours, baseline) = compare(&plan, 1, &mut add, |s, n| s.ours(n), |s, n| s.baseline(n))?;
        drop(add);
        lines.push((
            0,
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
            3,
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
            3,
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

    if wanted("worlds") {
        progress(
            started,
            &format!("building the {large} worlds (memory and SQLite) and the 10k world"),
        );
        let (memory, sqlite) = build_worlds(&WorldSpec::of(nominations), true, true)?;
        let (memory, sqlite) = (
            memory.ok_or("no memory world")?,
            sqlite.ok_or("no SQLite world")?,
        );
        let (_, small) = build_worlds(&WorldSpec::of(10_000), false, true)?;
        let mut small = small.ok_or("no small world")?;
        progress(
            started,
            &format!(
                "worlds built: {} nominations, {} due, SQLite file {:.2} GB",
                sqlite.nominations,
                sqlite.due,
                sqlite.bytes() as f64 / 1e9
            ),
        );

        // The pages are read first in the world as built, 10% of it lapsed and
        // not yet swept (on standard error), then once the sweep has run: the
        // state a system that sweeps keeps (in the table).
        progress(started, &format!("memory: first page at {large}, unswept"));
        let mut memory = memory;
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
        progress(
            started,
            &format!("memory: sweeping, then first page at {large}"),
        );
        let swept = memory.sweep()?;
        progress(started, &format!("  swept {swept}"));
        let mut page = MemoryPage::new(&memory)?;
        let (ours, baseline) =
            compare(&plan, 1, &mut page, |s, n| s.ours(n), |s, n| s.baseline(n))?;
        drop(page);
        drop(memory);
        lines.push((
            1,
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

        progress(
            started,
            &format!("SQLite: sweep at {large}, {} due", sqlite.due),
        );
        let mut sweep = SqliteSweep::new(&sqlite)?;
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
        let (ours, baseline) =
            compare(&plan, 1, &mut page, |s, n| s.ours(n), |s, n| s.baseline(n))?;
        aside(
            started,
            "SQLite page, unswept",
            Measure::Time,
            ours,
            baseline,
        );
        let (at_large, at_small) = compare(
            &plan,
            1,
            &mut (&mut page, &mut small_page),
            |s, n| s.0.ours(n),
            |s, n| s.1.ours(n),
        )?;
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
        let (ours, baseline) =
            compare(&plan, 1, &mut page, |s, n| s.ours(n), |s, n| s.baseline(n))?;
        lines.push((
            4,
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
        let (at_large, at_small) = compare(
            &plan,
            1,
            &mut (&mut page, &mut small_page),
            |s, n| s.0.ours(n),
            |s, n| s.1.ours(n),
        )?;
        drop((page, small_page, sweep));
        lines.push((
            5,
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
        lines.push((6, sweep_line));
    }

    progress(started, "done");
    eprintln!("wall time: {:.1} s", started.elapsed().as_secs_f64());
    // The issue's order: memory first, then SQLite.
    lines.sort_by_key(|(order, _)| *order);
    let sorted: Vec<Line> = lines.into_iter().map(|(_, line)| line).collect();
    print!("{}", table(&sorted));
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
