//! The workloads of the mci benchmarks: each comparison of the issue's table
//! measures our code and a raw baseline doing the same work, in the same
//! run, on the same data.
//!
//! - [`world`]: a million nominations (or any number) in realistic states,
//!   made by mci-core and written in commits of a thousand writes, with one
//!   large (partner, engagement) tab and 10% of the world due for the sweep,
//!   and the known customers' rows and answers a sweep that keeps up leaves;
//! - [`service`]: the service with in-memory ports, and the *add customer*
//!   forms the add benchmarks submit;
//! - [`plain`]: the memory baselines, a `Mutex<HashMap>` and a `BTreeSet`
//!   tab index;
//! - [`raw`]: the SQLite baselines, raw rusqlite running the store's own
//!   statements on a file with the store's own schema;
//! - [`raw_pg`]: the PostgreSQL baselines, raw tokio-postgres running the
//!   adapter's own statements, and the world written with `COPY`;
//! - [`comparison`]: the comparisons, each a fixture with an `ours` and a
//!   `baseline` side;
//! - [`postgres`]: the PostgreSQL comparisons and the server they run on;
//! - [`export`]: the Claims export on SQLite against a raw walk with the
//!   same CSV writer, and its peak memory, measured in child processes;
//! - [`search`]: searches of the Claims page on SQLite against the raw
//!   indexed walk with the same filter, and the same counts (the
//!   PostgreSQL one is [`postgres::PostgresClaimsSearch`]);
//! - [`measure`]: interleaved rounds, medians, and the markdown table.
//!
//! `cargo bench -p mci-benches` runs every comparison with criterion;
//! `cargo run --release -p mci-benches --bin report -- --quick` runs a short
//! version of all of them and prints one table.
//!
//! ```
//! use mci_benches::comparison::MemoryAdd;
//!
//! let mut add = MemoryAdd::new(50).unwrap();
//! let ours = add.ours(120).unwrap(); // past the pool: a fresh store, not timed
//! let baseline = add.baseline(120).unwrap();
//! assert!(ours > baseline);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod comparison;
pub mod export;
pub mod measure;
pub mod plain;
pub mod postgres;
pub mod raw;
pub mod raw_pg;
pub mod search;
pub mod service;
pub mod world;

/// Any failure of a workload: a benchmark that cannot run is broken.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
