//! Timing: ours and a baseline measured in alternating rounds, medians, and
//! the table the report prints.
//!
//! Each round runs both sides, ours first on even rounds and the baseline
//! first on odd ones, so a noisy neighbour or a frequency change hits both
//! alike; each side's value is the median of its rounds.
//!
//! ```
//! use std::time::Duration;
//! use mci_benches::measure::{Goal, Line, Measure, table};
//!
//! let line = Line {
//!     comparison: "memory: one thing".into(),
//!     measure: Measure::Throughput,
//!     ours: Duration::from_micros(4),
//!     baseline: Duration::from_micros(2),
//!     goal: Goal::AtLeast(0.5),
//! };
//! assert_eq!(line.ratio(), 0.5);
//! assert!(line.met());
//! let printed = table(&[line]);
//! assert!(printed.starts_with("| comparison | ours | baseline | ratio | goal |"));
//! assert!(printed.contains("| 250,000 ops/s | 500,000 ops/s | 0.50 | >= 0.5 ✅ met |"));
//!
//! // A line without a goal shows its ratio for what it is.
//! let aside = Line {
//!     comparison: "memory: another thing".into(),
//!     measure: Measure::Time,
//!     ours: Duration::from_micros(3),
//!     baseline: Duration::from_micros(2),
//!     goal: Goal::None,
//! };
//! assert!(table(&[aside]).contains("| 3.00 µs | 2.00 µs | 1.50 | none |"));
//! ```

use crate::BoxError;
use std::time::Duration;

/// What a comparison measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Operations per second: the ratio is ours / baseline throughput.
    Throughput,
    /// Time per operation: the ratio is ours / baseline time.
    Time,
}

/// The goal of a ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// The ratio must be at least this.
    AtLeast(f64),
    /// The ratio must be at most this.
    AtMost(f64),
    /// No goal: the ratio is printed for what it shows.
    None,
}

/// Some operations and the time they took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How many operations.
    pub ops: u64,
    /// How long they took, all together.
    pub elapsed: Duration,
}

impl Timing {
    /// The time of one operation.
    pub fn per_op(&self) -> Duration {
        self.elapsed
            .checked_div(u32::try_from(self.ops.max(1)).unwrap_or(u32::MAX))
            .unwrap_or_default()
    }
}

/// The median of `values`; zero for none.
pub fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    match values.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2,
    }
}

/// Runs `rounds` rounds of both sides, alternating which goes first; the
/// median time per operation of ours and of the baseline.
pub fn interleaved(
    rounds: usize,
    mut ours: impl FnMut() -> Result<Timing, BoxError>,
    mut baseline: impl FnMut() -> Result<Timing, BoxError>,
) -> Result<(Duration, Duration), BoxError> {
    let mut o = Vec::with_capacity(rounds);
    let mut b = Vec::with_capacity(rounds);
    for round in 0..rounds.max(1) {
        if round % 2 == 0 {
            o.push(ours()?.per_op());
            b.push(baseline()?.per_op());
        } else {
            b.push(baseline()?.per_op());
            o.push(ours()?.per_op());
        }
    }
    Ok((median(o), median(b)))
}

/// One line of the table: a comparison and its two medians.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// What is compared.
    pub comparison: String,
    /// Throughput or time.
    pub measure: Measure,
    /// Our median time per operation.
    pub ours: Duration,
    /// The baseline's median time per operation.
    pub baseline: Duration,
    /// The goal of the ratio.
    pub goal: Goal,
}

impl Line {
    /// Ours / baseline: of throughputs for a throughput line, of times for a
    /// time line.
    pub fn ratio(&self) -> f64 {
        let (ours, baseline) = (self.ours.as_secs_f64(), self.baseline.as_secs_f64());
        match self.measure {
            Measure::Throughput => baseline / ours,
            Measure::Time => ours / baseline,
        }
    }

    /// Whether the ratio meets the goal.
    pub fn met(&self) -> bool {
        match self.goal {
            Goal::AtLeast(x) => self.ratio() >= x,
            Goal::AtMost(x) => self.ratio() <= x,
            Goal::None => true,
        }
    }

    fn value(&self, per_op: Duration) -> String {
        match self.measure {
            Measure::Throughput => throughput(per_op),
            Measure::Time => time(per_op),
        }
    }
}

/// `per_op` as operations per second, e.g. `12,345 ops/s`.
pub fn throughput(per_op: Duration) -> String {
    let per_second = 1.0 / per_op.as_secs_f64().max(f64::MIN_POSITIVE);
    if per_second >= 100.0 {
        format!("{} ops/s", thousands(per_second.round() as u64))
    } else {
        format!("{per_second:.1} ops/s")
    }
}

/// `per_op` in the unit that suits it, e.g. `312 µs` or `1.24 ms`.
pub fn time(per_op: Duration) -> String {
    let secs = per_op.as_secs_f64();
    let (value, unit) = match secs {
        s if s < 1e-6 => (s * 1e9, "ns"),
        s if s < 1e-3 => (s * 1e6, "µs"),
        s if s < 1.0 => (s * 1e3, "ms"),
        s => (s, "s"),
    };
    if value >= 100.0 {
        format!("{value:.0} {unit}")
    } else if value >= 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The markdown table of `lines`: `| comparison | ours | baseline | ratio
/// | goal |`, the goal followed by whether it is met, or `none`.
pub fn table(lines: &[Line]) -> String {
    let mut out = String::from("| comparison | ours | baseline | ratio | goal |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for line in lines {
        let mark = if line.met() { "✅ met" } else { "❌ missed" };
        let goal = match line.goal {
            Goal::AtLeast(x) => format!(">= {x} {mark}"),
            Goal::AtMost(x) => format!("<= {x} {mark}"),
            Goal::None => "none".to_owned(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} | {goal} |\n",
            line.comparison,
            line.value(line.ours),
            line.value(line.baseline),
            line.ratio(),
        ));
    }
    out
}
