//! (n) SQLite: the Claims export (R-LIST-2) of one partner's claims, all
//! of a world's nominations, as CSV, against writing the same rows from a
//! raw query with the same CSV writer.
//!
//! Ours calls [`Incentives::export_claims`] over a [`SqliteStore`] on the
//! world's file, every claim newest first by creation, in the service's
//! default chunks ([`Settings::export_chunk`](mci_engagements::Settings)):
//! one store read per chunk (the reader's connection, the store's keyset
//! query, the documents decoded), each chunk's rows made by mci-core
//! ([`ClaimsCsvRow::of`]) and written by [`ClaimsCsv`] into a sink. The
//! baseline runs the same keyset walk with the store's SQL on a raw
//! read-only connection, chunk by chunk, decodes the same documents and
//! writes the same rows with the same [`ClaimsCsv`] into a sink.
//!
//! Memory is measured as it is, not estimated: each side runs in a child
//! process of its own (the report binary run again with
//! [`CHILD_FLAG`]), which reads its peak resident set (`VmHWM` in
//! `/proc/self/status`) once the export is done and prints it with its row
//! count and time. A bounded export's peak does not grow with the rows;
//! the report shows it at the large world and at a small one.
//!
//! ```
//! use mci_benches::export::{ExportWorld, Side, run};
//!
//! let world = ExportWorld::build(1_200).unwrap();
//! let ours = run(world.path(), Side::Ours).unwrap();
//! let baseline = run(world.path(), Side::Baseline).unwrap();
//! assert_eq!((ours.rows, baseline.rows), (1_200, 1_200));
//! assert_eq!(ours.bytes, baseline.bytes, "the same CSV");
//! ```

use crate::BoxError;
use crate::comparison::{SqliteWorld, build_worlds_of, current_thread};
use crate::service::Ports;
use crate::world::{self, Owners, WorldSpec};
use mci_core::{ClaimsCsvRow, Nomination};
use mci_engagements::{ClaimsCsv, ClaimsRequest, Incentives, Settings};
use mci_store::Store;
use mci_store_sqlite::SqliteStore;
use rusqlite::{Connection, OpenFlags, params};
use std::io::Write as _;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The flag that makes the report binary run one side of the export and
/// print its [`ExportRun`] line: `--export-child ours|baseline FILE`.
pub const CHILD_FLAG: &str = "--export-child";

/// The store's walk of a partner's claims, newest first by creation: the
/// first chunk (`crates/mci-store-sqlite/src/claims.rs`, the created order
/// with no state and no engagement).
pub const CLAIMS_FIRST: &str = "SELECT id, created_at AS k, doc FROM nominations \
     INDEXED BY claims_created WHERE partner = ?1 \
     ORDER BY created_at DESC, id DESC LIMIT ?2";

/// The same walk after a cursor: every chunk after the first.
pub const CLAIMS_AFTER: &str = "SELECT id, created_at AS k, doc FROM nominations \
     INDEXED BY claims_created WHERE partner = ?1 AND (created_at, id) < (?3, ?4) \
     ORDER BY created_at DESC, id DESC LIMIT ?2";

/// A world whose nominations are all [`world::BIG_PARTNER`]'s, in a
/// SQLite file.
pub struct ExportWorld(SqliteWorld);

impl ExportWorld {
    /// A world of `nominations`, written as [`build_worlds_of`] writes.
    pub fn build(nominations: usize) -> Result<Self, BoxError> {
        let (_, sqlite) =
            build_worlds_of(&WorldSpec::of(nominations), Owners::BigPartner, false, true)?;
        Ok(Self(sqlite.ok_or("no SQLite world was built")?))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// How many nominations.
    pub fn nominations(&self) -> usize {
        self.0.nominations
    }

    /// Sweeps the file in place at [`world::now`], as
    /// [`SqliteWorld::sweep`]: the world as a system that sweeps keeps it.
    /// How many nominations the sweep wrote.
    pub fn sweep(&mut self) -> Result<usize, BoxError> {
        self.0.sweep()
    }

    /// A swept copy of the world, in a directory of its own.
    pub fn swept_copy(&self) -> Result<Self, BoxError> {
        Ok(Self(self.0.swept_copy()?))
    }
}

/// Which side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The service's export over the store.
    Ours,
    /// The raw walk with the same CSV writer.
    Baseline,
}

impl Side {
    /// `ours` or `baseline`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::Baseline => "baseline",
        }
    }

    /// The side named `name`.
    pub fn named(name: &str) -> Result<Side, BoxError> {
        match name {
            "ours" => Ok(Side::Ours),
            "baseline" => Ok(Side::Baseline),
            other => Err(format!("no side {other}: ours or baseline").into()),
        }
    }
}

/// What one export did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRun {
    /// Rows written, the header aside.
    pub rows: u64,
    /// Bytes written, the header included.
    pub bytes: u64,
    /// How long the export took, opening the database aside.
    pub elapsed: Duration,
    /// The process's peak resident set when it was done, in KiB
    /// (`VmHWM`); 0 where the system does not say.
    pub peak_kib: u64,
}

impl ExportRun {
    /// The line a child prints.
    pub fn line(&self) -> String {
        format!(
            "rows {} bytes {} nanos {} peak_kib {}",
            self.rows,
            self.bytes,
            self.elapsed.as_nanos(),
            self.peak_kib
        )
    }

    /// The run a child's line says.
    pub fn parse(line: &str) -> Result<ExportRun, BoxError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let field = |name: &str| -> Result<u64, BoxError> {
            let at = words
                .iter()
                .position(|w| *w == name)
                .ok_or_else(|| format!("no {name} in {line:?}"))?;
            Ok(words.get(at + 1).ok_or("a name without a value")?.parse()?)
        };
        Ok(ExportRun {
            rows: field("rows")?,
            bytes: field("bytes")?,
            elapsed: Duration::from_nanos(field("nanos")?),
            peak_kib: field("peak_kib")?,
        })
    }
}

/// This process's peak resident set in KiB (`VmHWM` of
/// `/proc/self/status`); 0 where there is none.
pub fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Runs `side` of the export of the world at `path` in this process.
pub fn run(path: &Path, side: Side) -> Result<ExportRun, BoxError> {
    let (rows, bytes, elapsed) = match side {
        Side::Ours => ours(path)?,
        Side::Baseline => baseline(path)?,
    };
    Ok(ExportRun {
        rows,
        bytes,
        elapsed,
        peak_kib: peak_kib(),
    })
}

/// Runs `side` in a child process: `program` (the report binary) run with
/// [`CHILD_FLAG`], its line read back.
pub fn in_child(program: &Path, path: &Path, side: Side) -> Result<ExportRun, BoxError> {
    let output = std::process::Command::new(program)
        .arg(CHILD_FLAG)
        .arg(side.name())
        .arg(path)
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "the {} export's child failed: {}",
            side.name(),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    ExportRun::parse(&String::from_utf8(output.stdout)?)
}

/// A sink that counts what it is given.
#[derive(Debug, Default)]
struct Counted(u64);

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0 += bytes.len() as u64;
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl std::io::Write for Counted {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The service over a store on `path`.
fn service(store: Arc<dyn Store>) -> Result<Incentives, BoxError> {
    Ports::knowing(0..0)?.service(store)
}

fn ours(path: &Path) -> Result<(u64, u64, Duration), BoxError> {
    let rt = current_thread()?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path)?);
    let service = service(store)?;
    let admin = world::partner(0)?.admin;
    let mut out = Counted::default();
    let start = Instant::now();
    let summary =
        rt.block_on(service.export_claims(&admin, &ClaimsRequest::default(), &mut out))?;
    let elapsed = start.elapsed();
    if !summary.unreadable.is_empty() {
        return Err(format!("{} rows unreadable", summary.unreadable.len()).into());
    }
    Ok((summary.rows, out.0, elapsed))
}

fn baseline(path: &Path) -> Result<(u64, u64, Duration), BoxError> {
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let partner = world::BIG_PARTNER;
    let chunk = Settings::default().export_chunk;
    let now = world::now();
    let mut csv = ClaimsCsv::new();
    let mut out = Counted::default();
    let start = Instant::now();
    out.write_all(csv.header()?)?;
    let mut after: Option<(i64, Vec<u8>)> = None;
    let mut rows = 0u64;
    loop {
        let mut nominations: Vec<Nomination> = Vec::with_capacity(chunk);
        let mut last = None;
        let limit = chunk as i64;
        let mut statement;
        let mut walked = match &after {
            None => {
                statement = db.prepare_cached(CLAIMS_FIRST)?;
                statement.query(params![partner, limit])?
            }
            Some((at, id)) => {
                statement = db.prepare_cached(CLAIMS_AFTER)?;
                statement.query(params![partner, limit, at, id])?
            }
        };
        while let Some(row) = walked.next()? {
            let id: Vec<u8> = row.get(0)?;
            let at: i64 = row.get(1)?;
            let doc = row.get_ref(2)?.as_str()?;
            nominations.push(serde_json::from_str(doc)?);
            last = Some((at, id));
        }
        drop(walked);
        let read = nominations.len();
        rows += read as u64;
        out.write_all(csv.rows(nominations.iter().map(|n| ClaimsCsvRow::of(n, now)))?)?;
        match last {
            Some(next) if read == chunk => after = Some(next),
            _ => break,
        }
    }
    Ok((rows, out.0, start.elapsed()))
}
