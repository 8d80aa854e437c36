//! The schema, its versioned migrations, and opening a file.
//!
//! The schema is a list of steps ([`MIGRATIONS`]); `PRAGMA user_version`
//! records the last step applied and `PRAGMA application_id` marks the file
//! as this store's. Opening a path:
//!
//! 1. reads the file's header without writing (a read-only connection), and
//!    refuses a file that is not SQLite, is corrupt, belongs to another
//!    application, or has a schema newer than [`SCHEMA_VERSION`];
//! 2. creates the file if there is none, and puts it in WAL mode, waiting
//!    up to [`Options::busy_timeout`] for the other connections that open
//!    it at the same time;
//! 3. applies the missing steps, each in its own `BEGIN IMMEDIATE`
//!    transaction that also sets `user_version`, so that a file is always
//!    at one version or the next, never in between.
//!
//! Several processes may open one file at once, even one that does not
//! exist yet: the header is read in one transaction, so it is never seen
//! half migrated, and each step is applied once, by whichever process takes
//! the write lock first; the others find it done.
//!
//! ```
//! use mci_store_sqlite::schema::{MIGRATIONS, SCHEMA_VERSION};
//!
//! assert_eq!(MIGRATIONS.len() as u32, SCHEMA_VERSION);
//! assert!(MIGRATIONS.iter().enumerate().all(|(i, m)| m.version == i as u32 + 1));
//! ```

use crate::error::OpenError;
use crate::{Durability, Options};
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::time::{Duration, Instant};

/// One step of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The schema version the step reaches.
    pub version: u32,
    /// What the step does.
    pub name: &'static str,
    /// Its SQL.
    pub sql: &'static str,
}

/// The steps of the schema, in order: step `n` takes a file from version
/// `n - 1` to `n`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "tables",
        sql: include_str!("migrations/0001_tables.sql"),
    },
    Migration {
        version: 2,
        name: "indexes and the consent constraint",
        sql: include_str!("migrations/0002_indexes.sql"),
    },
    Migration {
        version: 3,
        name: "instants in microseconds",
        sql: include_str!("migrations/0003_microsecond_instants.sql"),
    },
    Migration {
        version: 4,
        name: "the fingerprint of an idempotency key's command",
        sql: include_str!("migrations/0004_idempotency_fingerprint.sql"),
    },
    Migration {
        version: 5,
        name: "no link token in the outbox",
        sql: include_str!("migrations/0005_no_token_in_the_outbox.sql"),
    },
    Migration {
        version: 6,
        name: "the counts of the tabs",
        sql: include_str!("migrations/0006_tab_counts.sql"),
    },
    Migration {
        version: 7,
        name: "the known rows of each engagement's page",
        sql: include_str!("migrations/0007_known_rows.sql"),
    },
    Migration {
        version: 8,
        name: "whether a nomination still asks for consent",
        sql: include_str!("migrations/0008_standing_asking.sql"),
    },
    Migration {
        version: 9,
        name: "every history a hash chain",
        sql: include_str!("migrations/0009_chained_histories.sql"),
    },
    Migration {
        version: 10,
        name: "the settings of the embedding application",
        sql: include_str!("migrations/0010_settings.sql"),
    },
    Migration {
        version: 11,
        name: "the Claims page",
        sql: include_str!("migrations/0011_claims_page.sql"),
    },
    Migration {
        version: 12,
        name: "the Attention required list",
        sql: include_str!("migrations/0012_attention.sql"),
    },
];

/// The step that keeps the Attention required list's class beside each
/// nomination (R-LIST-3): [`fill_attention_column`] fills it from the
/// documents in the same transaction.
const ATTENTION: u32 = 12;

/// The step that keeps the Claims page's values beside each nomination
/// (R-LIST-1): [`fill_claims_columns`] fills them from the documents in the
/// same transaction.
const CLAIMS_PAGE: u32 = 11;

/// The step that chains every history (R-LIST-4): its SQL changes nothing,
/// [`chain_histories`] rewrites the documents in the same transaction.
const CHAINED: u32 = 9;

/// The step that takes stored link tokens out of the outbox; a file that
/// goes through it is rewritten and its WAL emptied ([`wipe_freed`]).
const TOKENS_OUT: u32 = 5;

/// The schema version this crate writes: the last step of [`MIGRATIONS`].
pub const SCHEMA_VERSION: u32 = 12;

/// The application id of this store's files (`PRAGMA application_id`):
/// "MCI1" in ASCII.
pub const APPLICATION_ID: i32 = 0x4D43_4931;

/// What a file's header says.
#[derive(Debug, Clone, Copy)]
struct Header {
    application_id: i32,
    user_version: u32,
    objects: u32,
}

/// Reads the header in one statement, so in one read transaction: read
/// apart, its values could come from before and after another process's
/// migration (an application id of 0 beside a schema version of 2).
fn header(conn: &Connection) -> rusqlite::Result<Header> {
    conn.query_row(
        "SELECT (SELECT application_id FROM pragma_application_id),
                (SELECT user_version FROM pragma_user_version),
                (SELECT count(*) FROM sqlite_schema)",
        [],
        |r| {
            Ok(Header {
                application_id: r.get(0)?,
                user_version: r.get(1)?,
                objects: r.get(2)?,
            })
        },
    )
}

/// Refuses a header that is not of a file this version can open.
fn admit(path: &Path, header: Header) -> Result<(), OpenError> {
    let fresh = header.application_id == 0 && header.user_version == 0 && header.objects == 0;
    if fresh {
        return Ok(());
    }
    if header.application_id != APPLICATION_ID {
        return Err(OpenError::ForeignDatabase {
            path: path.to_path_buf(),
            application_id: header.application_id,
            user_version: header.user_version,
        });
    }
    if header.user_version > SCHEMA_VERSION {
        return Err(OpenError::NewerSchema {
            path: path.to_path_buf(),
            found: header.user_version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Reads the header of an existing file through a read-only connection,
/// which never writes (not even a checkpoint when it closes). `None` when a
/// read-only connection cannot read it (a WAL file whose index must first be
/// rebuilt): the read-write connection reads it next.
fn probe(path: &Path, options: &Options) -> Result<Option<Header>, OpenError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let read = || -> rusqlite::Result<Header> {
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(options.busy_timeout)?;
        header(&conn)
    };
    match read() {
        Ok(header) => Ok(Some(header)),
        Err(error) => match OpenError::sqlite(path, error) {
            refusal @ (OpenError::NotADatabase { .. }
            | OpenError::Corrupt { .. }
            | OpenError::Busy { .. }) => Err(refusal),
            _ => Ok(None),
        },
    }
}

/// Runs `step` again while it fails because another connection holds a
/// lock it needs, for up to `timeout`, with short pauses between tries.
/// For the steps SQLite's busy handler does not wait for: a connection
/// that holds a read lock and needs a write lock is answered SQLITE_BUSY at
/// once, as waiting could deadlock with another connection doing the same.
fn while_busy<T>(
    timeout: Duration,
    mut step: impl FnMut() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let deadline = Instant::now().checked_add(timeout);
    let mut pause = Duration::from_millis(1);
    loop {
        match step() {
            Err(error)
                if matches!(
                    error.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                ) && deadline.is_none_or(|d| Instant::now() < d) =>
            {
                std::thread::sleep(pause);
                pause = pause.saturating_mul(2).min(Duration::from_millis(20));
            }
            done => return done,
        }
    }
}

/// `PRAGMA synchronous` for `durability`.
fn synchronous(durability: Durability) -> &'static str {
    match durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    }
}

/// Opens (creating if need be) and migrates the file at `path`, and returns
/// the connection the writer owns.
pub(crate) fn open_writer(path: &Path, options: &Options) -> Result<Connection, OpenError> {
    let failed = |error| OpenError::sqlite(path, error);
    if path.exists()
        && let Some(header) = probe(path, options)?
    {
        admit(path, header)?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(failed)?;
    conn.busy_timeout(options.busy_timeout).map_err(failed)?;
    // Read again on this connection: the file may have been created or
    // changed since the probe, or the probe could not read it.
    let found = header(&conn).map_err(failed)?;
    admit(path, found)?;
    // Switching to WAL needs the file's exclusive lock, taken over the read
    // lock the pragma holds: SQLite answers SQLITE_BUSY at once instead of
    // waiting while another connection reads, so the wait is here.
    let mode: String = while_busy(options.busy_timeout, || {
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
    })
    .map_err(failed)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::WalUnavailable {
            path: path.to_path_buf(),
            mode,
        });
    }
    conn.pragma_update(None, "synchronous", synchronous(options.durability))
        .map_err(failed)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(failed)?;
    // Each commit of a group runs in a savepoint, whose sub-journal SQLite
    // otherwise keeps in a temporary file created and removed per commit.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(failed)?;
    // A negative cache size is in KiB.
    conn.pragma_update(
        None,
        "cache_size",
        -i64::from(options.writer_cache_mib).saturating_mul(1024),
    )
    .map_err(failed)?;
    // The checkpointer copies the WAL into the file, not the commits.
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(failed)?;
    // A WAL that a long read made grow is cut back to 64 MiB when it
    // starts over.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
        .map_err(failed)?;
    let from = migrate(&mut conn, path)?;
    if from < TOKENS_OUT && from > 0 {
        wipe_freed(&conn, path)?;
    }
    if options.verify_on_open {
        verify(&conn, path)?;
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Rewrites the file without its freed pages (`VACUUM`) and empties the
/// WAL (`wal_checkpoint(TRUNCATE)`), so that bytes an earlier version wrote
/// and a migration removed (link tokens, R-TOKEN-4) are left in neither.
/// A reader of another process may keep the WAL from being emptied now; it
/// starts over at a later checkpoint.
fn wipe_freed(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let failed = |e| OpenError::sqlite(path, e);
    conn.execute_batch("VACUUM").map_err(failed)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(failed)
}

/// Applies the missing steps, one transaction each, and answers the
/// version the file was at when this call first looked (0 for a new file;
/// the current version when nothing was missing). The version is read
/// again inside each transaction, so two processes opening one file at
/// once apply each step once.
fn migrate(conn: &mut Connection, path: &Path) -> Result<u32, OpenError> {
    let mut from = None;
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| OpenError::sqlite(path, e))?;
        let current = header(&tx).map_err(|e| OpenError::sqlite(path, e))?;
        admit(path, current)?;
        let from = *from.get_or_insert(current.user_version);
        let Some(step) = MIGRATIONS
            .iter()
            .find(|m| m.version == current.user_version.saturating_add(1))
        else {
            // Nothing left to apply; the transaction wrote nothing.
            return Ok(from);
        };
        let failed = |e: rusqlite::Error| OpenError::Migration {
            path: path.to_path_buf(),
            version: step.version,
            source: Box::new(e),
        };
        tx.execute_batch(step.sql).map_err(failed)?;
        if step.version == CHAINED {
            chain_histories(&tx).map_err(failed)?;
        }
        if step.version == CLAIMS_PAGE {
            fill_claims_columns(&tx).map_err(failed)?;
        }
        if step.version == ATTENTION {
            fill_attention_column(&tx).map_err(failed)?;
        }
        tx.pragma_update(None, "user_version", step.version)
            .map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
}

/// Chains the history of every nomination written before histories were
/// chained (R-LIST-4): each event document gains `previous` and `hash`, each
/// nomination document `last_hash`. One nomination at a time, so memory
/// stays bounded whatever the file holds. A history with a document that
/// does not read back is left as it is: reading it already fails as
/// unreadable (R-TIME-4), and an operator restores it.
fn chain_histories(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let ids: Vec<Vec<u8>> = tx
        .prepare("SELECT id FROM nominations ORDER BY id")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut events =
        tx.prepare("SELECT version, doc FROM events WHERE nomination = ?1 ORDER BY version")?;
    let mut update_event =
        tx.prepare("UPDATE events SET doc = ?3 WHERE nomination = ?1 AND version = ?2")?;
    let mut nomination = tx.prepare("SELECT doc FROM nominations WHERE id = ?1")?;
    let mut update_nomination = tx.prepare("UPDATE nominations SET doc = ?2 WHERE id = ?1")?;
    for id in ids {
        let docs: Vec<String> = events
            .query_map([&id], |row| row.get::<_, String>(1))?
            .collect::<rusqlite::Result<_>>()?;
        let Some(chained) = mci_core::chain_stored_history(&docs) else {
            continue;
        };
        let doc: String = nomination.query_row([&id], |row| row.get(0))?;
        let Some(doc) = chained
            .last()
            .and_then(|last| mci_core::with_last_hash(&doc, last))
        else {
            continue;
        };
        for event in &chained {
            let version = i64::try_from(event.version).unwrap_or(i64::MAX);
            let json = serde_json::to_string(event)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            update_event.execute(rusqlite::params![&id, version, json])?;
        }
        update_nomination.execute(rusqlite::params![&id, doc])?;
    }
    Ok(())
}

/// Fills the Claims page's columns of every nomination written before the
/// store kept them (R-LIST-1), from its document, with the values the core
/// derives ([`mci_core::Nomination::claims_placement`]). One row at a time,
/// so memory stays bounded whatever the file holds. A row whose document
/// does not read back keeps the defaults: reading it already fails as
/// unreadable, and a page passes it over.
fn fill_claims_columns(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let ids: Vec<Vec<u8>> = tx
        .prepare("SELECT id FROM nominations ORDER BY id")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut read = tx.prepare("SELECT doc FROM nominations WHERE id = ?1")?;
    let mut update = tx.prepare(
        "UPDATE nominations SET created_at = ?2, changed_at = ?3, state_after = ?4, \
         reviewable = ?5 WHERE id = ?1",
    )?;
    let encoding = |e: mci_store::StoreError| rusqlite::Error::ToSqlConversionFailure(Box::new(e));
    for id in ids {
        let doc: String = read.query_row([&id], |row| row.get(0))?;
        let Ok(nomination) = serde_json::from_str::<mci_core::Nomination>(&doc) else {
            continue;
        };
        let placement = nomination.claims_placement();
        let state_after = placement
            .state_after_lapse
            .map(crate::columns::state)
            .transpose()
            .map_err(encoding)?;
        update.execute(rusqlite::params![
            &id,
            crate::columns::instant(placement.created_at),
            crate::columns::instant(placement.changed_at),
            state_after,
            placement.reviewable,
        ])?;
    }
    Ok(())
}

/// Fills the Attention required list's class of every nomination written
/// before the store kept it (R-LIST-3), from its document, with the class
/// the core derives ([`mci_core::Nomination::attention_placement`]). One
/// row at a time, so memory stays bounded whatever the file holds; only
/// the rows of a class are written. A row whose document does not read
/// back keeps none: reading it already fails as unreadable.
fn fill_attention_column(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let ids: Vec<Vec<u8>> = tx
        .prepare("SELECT id FROM nominations ORDER BY id")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut read = tx.prepare("SELECT doc FROM nominations WHERE id = ?1")?;
    let mut update = tx.prepare("UPDATE nominations SET attention = ?2 WHERE id = ?1")?;
    for id in ids {
        let doc: String = read.query_row([&id], |row| row.get(0))?;
        let Ok(nomination) = serde_json::from_str::<mci_core::Nomination>(&doc) else {
            continue;
        };
        if let Some(class) = crate::columns::attention(&nomination.attention_placement()) {
            update.execute(rusqlite::params![&id, class])?;
        }
    }
    Ok(())
}

/// `PRAGMA quick_check`: every page and index entry is well formed.
fn verify(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check")
        .map_err(|e| OpenError::sqlite(path, e))?;
    let findings: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| OpenError::sqlite(path, e))?;
    if findings.len() == 1 && findings[0] == "ok" {
        Ok(())
    } else {
        Err(OpenError::Corrupt {
            path: path.to_path_buf(),
            detail: findings.join("; "),
        })
    }
}

/// Opens a read connection on a file the writer has opened and migrated.
pub(crate) fn open_reader(path: &Path, options: &Options) -> Result<Connection, OpenError> {
    let failed = |error| OpenError::sqlite(path, error);
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(failed)?;
    conn.busy_timeout(options.busy_timeout).map_err(failed)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// Opens the checkpointer's connection on a file the writer has opened
/// and migrated. It syncs as the writer does: a checkpoint syncs the WAL
/// before it copies, and the file after.
pub(crate) fn open_checkpointer(path: &Path, options: &Options) -> Result<Connection, OpenError> {
    let failed = |error| OpenError::sqlite(path, error);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(failed)?;
    conn.busy_timeout(options.busy_timeout).map_err(failed)?;
    conn.pragma_update(None, "synchronous", synchronous(options.durability))
        .map_err(failed)?;
    // It writes nothing but checkpoints, and leaves those to its thread.
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(failed)?;
    Ok(conn)
}

/// A new connection with the schema at `version`, for tests of the queries
/// and the migrations.
#[cfg(test)]
pub(crate) fn in_memory(version: u32) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    for step in MIGRATIONS.iter().take(version as usize) {
        conn.execute_batch(step.sql).unwrap();
        conn.pragma_update(None, "user_version", step.version)
            .unwrap();
    }
    conn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_step_is_the_schema_version() {
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }

    #[test]
    fn every_step_applies_on_the_one_before() {
        let conn = in_memory(SCHEMA_VERSION);
        let found = header(&conn).unwrap();
        assert_eq!(found.user_version, SCHEMA_VERSION);
        assert_eq!(found.application_id, APPLICATION_ID);
    }
}
