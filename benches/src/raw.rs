//! The SQLite baselines: raw rusqlite on a file with the store's own
//! schema, running the store's own SQL, with none of the store around it
//! (no writer thread, no channel, no savepoint, no version or guard check).
//!
//! A file is created by opening a [`SqliteStore`] on it (so its schema is
//! the store's migrations, every table and index the same) and closing it;
//! then [`RawDb`] opens its own connection, in WAL mode with the
//! synchronous mode the comparison asks for and foreign keys on, as the
//! store's writer does.
//!
//! The statements are copies of the store's, character for character: the
//! tests of this module read them out of the store's sources
//! (`crates/mci-store-sqlite/src/commit.rs` and `queries.rs`) and compare.
//! A row is written with the same columns, derived by mci-core
//! ([`mci_store::Derived`]) and encoded by the store's own
//! [`mci_store_sqlite::columns`] functions, and the same JSON documents.
//!
//! ```
//! use mci_benches::raw::{RawDb, create};
//! use mci_store_sqlite::Durability;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("raw.sqlite");
//! create(&path, Durability::Normal).unwrap();
//! let db = RawDb::open(&path, Durability::Normal).unwrap();
//! assert_eq!(db.count("nominations").unwrap(), 0);
//! ```

use crate::BoxError;
use mci_core::{Instant, Nomination, Tab};
use mci_store::{Derived, Write};
use mci_store_sqlite::columns::{attention, bound, customer_order, instant};
use mci_store_sqlite::{Durability, Options, SqliteStore};
use rusqlite::{Connection, OpenFlags, ToSql, TransactionBehavior, params, params_from_iter};
use std::path::Path;
use std::time::Duration;

/// The store's statements, copied from its sources.
pub mod sql {
    /// `commit.rs`: a new nomination row.
    pub const INSERT_NOMINATION: &str = "INSERT INTO nominations \
     (id, partner, engagement, customer, created_at, state, version, tab, lapse_at, tab_after, \
      wake_at, live, holds_consent, completed, asking, standing_until, changed_at, state_after, \
      reviewable, attention, doc) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
      ?19, ?20, ?21)";

    /// `commit.rs`: a nomination row at its expected version, rewritten.
    pub const UPDATE_NOMINATION: &str = "UPDATE nominations SET \
     state = ?2, version = ?3, tab = ?4, lapse_at = ?5, tab_after = ?6, wake_at = ?7, \
     live = ?8, holds_consent = ?9, completed = ?10, asking = ?11, standing_until = ?12, \
     changed_at = ?13, state_after = ?14, reviewable = ?15, attention = ?16, doc = ?17 \
     WHERE id = ?1 AND version = ?18";

    /// `commit.rs`: the event of a write.
    pub const INSERT_EVENT: &str =
        "INSERT INTO events (nomination, version, doc) VALUES (?1, ?2, ?3)";

    /// `commit.rs`: an updated nomination's links, before they are written again.
    pub const DELETE_LINKS: &str = "DELETE FROM links WHERE nomination = ?1";

    /// `commit.rs`: one live link.
    pub const INSERT_LINK: &str = "INSERT INTO links (hash, nomination) VALUES (?1, ?2) \
     ON CONFLICT (hash) DO UPDATE SET nomination = excluded.nomination";

    /// `commit.rs`: one outbox message.
    pub const INSERT_MESSAGE: &str = "INSERT INTO outbox (id, nomination, doc, available_at) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING";

    /// `commit.rs`: the customer, once consented, among the partner's known ones.
    pub const INSERT_KNOWN: &str = "INSERT INTO known_customers (partner, customer, through) \
     VALUES (?1, ?2, ?3) ON CONFLICT (partner, customer) DO NOTHING";

    /// `queries.rs`: the first arm of the page, stored in tab ?3, not
    /// lapsed at ?5, after cursor ?4, in id order.
    pub const IN_TAB: &str = "SELECT id, doc FROM nominations \
     WHERE partner = ?1 AND engagement = ?2 AND tab = ?3 AND id > ?4 \
     AND (lapse_at IS NULL OR lapse_at > ?5) \
     ORDER BY id LIMIT ?6";

    /// `queries.rs`: what the sweep must look at, earliest first.
    pub const DUE: &str = "SELECT wake_at, id, doc FROM nominations \
     WHERE wake_at <= ?1 ORDER BY wake_at, id LIMIT ?2";
}

/// Creates the file at `path` with the store's schema, by opening a store
/// on it and closing it.
pub fn create(path: &Path, durability: Durability) -> Result<(), BoxError> {
    let store = SqliteStore::open_with(
        path,
        Options {
            durability,
            readers: 1,
            ..Options::default()
        },
    )?;
    drop(store);
    Ok(())
}

/// A nomination as a row, with the columns the store writes.
#[derive(Debug, Clone)]
struct Row {
    id: [u8; 16],
    partner: String,
    engagement: String,
    customer: String,
    customer_order: Vec<u8>,
    state: String,
    version: i64,
    tab: i64,
    lapse_at: Option<i64>,
    tab_after: Option<i64>,
    wake_at: Option<i64>,
    live: bool,
    holds_consent: bool,
    completed: bool,
    asking: bool,
    standing_until: Option<i64>,
    created_at: i64,
    changed_at: i64,
    state_after: Option<String>,
    reviewable: bool,
    attention: Option<i64>,
    consented: bool,
    links: Vec<[u8; 32]>,
    doc: String,
}

fn tab_code(tab: Option<Tab>) -> i64 {
    i64::from(Tab::code(tab))
}

impl Row {
    fn of(nomination: &Nomination) -> Result<Self, BoxError> {
        let Derived {
            placement,
            standing,
        } = Derived::of(nomination);
        let state_name = |state: mci_core::State| match serde_json::to_value(state) {
            Ok(serde_json::Value::String(name)) => Ok(name),
            other => Err(format!("a state serialised as {other:?}")),
        };
        let state = state_name(nomination.state())?;
        let claims = nomination.claims_placement();
        Ok(Self {
            created_at: instant(claims.created_at),
            changed_at: instant(claims.changed_at),
            state_after: claims.state_after_lapse.map(state_name).transpose()?,
            reviewable: claims.reviewable,
            attention: attention(&nomination.attention_placement()),
            id: nomination.id().as_uuid().into_bytes(),
            partner: nomination.partner().as_str().to_owned(),
            engagement: nomination.engagement().as_str().to_owned(),
            customer: nomination.customer().id().to_string(),
            customer_order: customer_order(nomination.customer().id()),
            state,
            version: i64::try_from(nomination.version())?,
            tab: tab_code(placement.tab),
            lapse_at: placement.lapse_at.map(instant),
            tab_after: placement
                .lapse_at
                .map(|_| tab_code(placement.tab_after_lapse)),
            wake_at: placement.wake_at.map(instant),
            live: standing.live,
            holds_consent: standing.holds_consent,
            completed: standing.completed,
            asking: standing.asking,
            standing_until: standing.until.map(instant),
            consented: nomination.consented_at().is_some(),
            links: nomination
                .links()
                .iter()
                .map(|link| *link.hash().as_bytes())
                .collect(),
            doc: serde_json::to_string(nomination)?,
        })
    }
}

/// One write encoded as the store encodes it: its row's columns and
/// document, its expected version, its event's and messages' documents.
#[derive(Debug, Clone)]
pub struct Encoded {
    row: Row,
    expected_version: i64,
    event: String,
    messages: Vec<([u8; 16], i64, String)>,
}

impl Encoded {
    /// `write`, encoded.
    pub fn of(write: &Write) -> Result<Self, BoxError> {
        let mut messages = Vec::with_capacity(write.messages.len());
        for message in &write.messages {
            messages.push((
                message.id.as_uuid().into_bytes(),
                instant(message.queued_at),
                serde_json::to_string(message)?,
            ));
        }
        Ok(Self {
            row: Row::of(&write.nomination)?,
            expected_version: i64::try_from(write.expected_version)?,
            event: serde_json::to_string(&write.event)?,
            messages,
        })
    }
}

/// The statements the store runs for one write, in its order: the row
/// (insert, or update at the expected version), the event, the links, the
/// messages, the known customer.
fn put(conn: &Connection, write: &Encoded) -> Result<(), BoxError> {
    let row = &write.row;
    // The columns an update rewrites, bound by both statements after the
    // ones a nomination keeps.
    let changing: [&dyn ToSql; 16] = [
        &row.state,
        &row.version,
        &row.tab,
        &row.lapse_at,
        &row.tab_after,
        &row.wake_at,
        &row.live,
        &row.holds_consent,
        &row.completed,
        &row.asking,
        &row.standing_until,
        &row.changed_at,
        &row.state_after,
        &row.reviewable,
        &row.attention,
        &row.doc,
    ];
    let changed = if write.expected_version == 0 {
        let kept: [&dyn ToSql; 5] = [
            &row.id,
            &row.partner,
            &row.engagement,
            &row.customer,
            &row.created_at,
        ];
        conn.prepare_cached(sql::INSERT_NOMINATION)?
            .execute(params_from_iter(kept.into_iter().chain(changing)))?
    } else {
        let (id, expected): (&dyn ToSql, &dyn ToSql) = (&row.id, &write.expected_version);
        conn.prepare_cached(sql::UPDATE_NOMINATION)?
            .execute(params_from_iter(
                std::iter::once(id)
                    .chain(changing)
                    .chain(std::iter::once(expected)),
            ))?
    };
    if changed != 1 {
        return Err(format!("{} rows written for one nomination", changed).into());
    }
    conn.prepare_cached(sql::INSERT_EVENT)?
        .execute(params![row.id, row.version, write.event])?;
    if write.expected_version != 0 {
        conn.prepare_cached(sql::DELETE_LINKS)?.execute([row.id])?;
    }
    for hash in &row.links {
        conn.prepare_cached(sql::INSERT_LINK)?
            .execute(params![hash, row.id])?;
    }
    for (id, available_at, doc) in &write.messages {
        conn.prepare_cached(sql::INSERT_MESSAGE)?.execute(params![
            id,
            row.id,
            doc,
            available_at
        ])?;
    }
    if row.consented {
        conn.prepare_cached(sql::INSERT_KNOWN)?.execute(params![
            row.partner,
            row.customer_order,
            row.id
        ])?;
    }
    Ok(())
}

/// A raw connection to a file with the store's schema.
#[derive(Debug)]
pub struct RawDb {
    conn: Connection,
}

impl RawDb {
    /// A read-write connection as the store's writer opens it: WAL,
    /// `synchronous` by `durability`, foreign keys on, a statement cache.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, BoxError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("journal mode {mode}, not WAL").into());
        }
        let synchronous = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Self { conn })
    }

    /// A read-only connection as the store's readers open theirs.
    pub fn open_read_only(path: &Path) -> Result<Self, BoxError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(Self { conn })
    }

    /// The connection.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// How many rows `table` holds.
    pub fn count(&self, table: &str) -> Result<u64, BoxError> {
        let n: i64 = self
            .conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        Ok(u64::try_from(n)?)
    }

    /// Encodes `write` and runs the store's statements for it in one
    /// transaction of its own.
    pub fn write_one(&mut self, write: &Write) -> Result<(), BoxError> {
        let encoded = Encoded::of(write)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        put(&tx, &encoded)?;
        tx.commit()?;
        Ok(())
    }

    /// Encodes `writes` and runs the store's statements for all of them in
    /// one transaction.
    pub fn write_all<'a>(
        &mut self,
        writes: impl IntoIterator<Item = &'a Write>,
    ) -> Result<(), BoxError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for write in writes {
            put(&tx, &Encoded::of(write)?)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Runs the store's statements for every write of `writes`, encoded
    /// beforehand, in one transaction.
    pub fn write_encoded(&mut self, writes: &[Encoded]) -> Result<(), BoxError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for write in writes {
            put(&tx, write)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Sets this connection up to load a large fixture fast: a page cache
    /// of `cache_mib` MiB, no journal and no syncs (a load that fails leaves
    /// a broken file, which a failed fixture is anyway). What the file
    /// holds is the same; only how it gets there changes. Call
    /// [`RawDb::loaded`] when done.
    pub fn for_loading(&self, cache_mib: u32) -> Result<(), BoxError> {
        self.conn
            .pragma_update(None, "cache_size", -1024 * i64::from(cache_mib))?;
        self.conn.pragma_update(None, "synchronous", "OFF")?;
        let mode: String = self
            .conn
            .pragma_update_and_check(None, "journal_mode", "OFF", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("off") {
            return Err(format!("journal mode {mode}, not off").into());
        }
        Ok(())
    }

    /// Ends a load: the file back in WAL mode, as the store keeps it.
    pub fn loaded(self) -> Result<(), BoxError> {
        let mode: String = self
            .conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("journal mode {mode}, not WAL").into());
        }
        self.conn.close().map_err(|(_, e)| e)?;
        Ok(())
    }

    /// The first `limit` rows of a tab as stored at `now`: the store's
    /// keyset query from the start of the tab, each document decoded.
    pub fn page(
        &self,
        partner: &str,
        engagement: &str,
        tab: Tab,
        now: Instant,
        limit: usize,
    ) -> Result<Vec<Nomination>, BoxError> {
        let after: &[u8] = &[];
        let mut stmt = self.conn.prepare_cached(sql::IN_TAB)?;
        let docs = stmt.query_map(
            params![
                partner,
                engagement,
                tab_code(Some(tab)),
                after,
                bound(now),
                i64::try_from(limit)?
            ],
            |r| r.get::<_, String>(1),
        )?;
        let mut rows = Vec::with_capacity(limit);
        for doc in docs {
            rows.push(serde_json::from_str(&doc?)?);
        }
        Ok(rows)
    }

    /// Sweeps at `now` in batches of `batch`: each batch one transaction
    /// that reads the due rows with the store's due query, decodes each,
    /// asks mci-core what waking it does ([`Nomination::wake`]), and runs
    /// the store's statements for that write (the row at its expected
    /// version, its event, its links, its message). How many were written.
    pub fn sweep(&mut self, now: Instant, batch: usize) -> Result<usize, BoxError> {
        let mut written = 0;
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let docs: Vec<String> = tx
                .prepare_cached(sql::DUE)?
                .query_map(params![bound(now), i64::try_from(batch)?], |r| r.get(2))?
                .collect::<Result<_, _>>()?;
            let mut progressed = false;
            for doc in &docs {
                let nomination: Nomination = serde_json::from_str(doc)?;
                let Some(outcome) = nomination.wake(now)? else {
                    continue;
                };
                put(&tx, &Encoded::of(&Write::from(outcome))?)?;
                written += 1;
                progressed = true;
            }
            tx.commit()?;
            if !progressed {
                return Ok(written);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The string constant `name` of a Rust source, with line continuations
    /// resolved as the compiler resolves them.
    fn rust_const(source: &str, name: &str) -> String {
        let start = source
            .find(&format!("const {name}: &str ="))
            .unwrap_or_else(|| panic!("{name} is not in the store's sources"));
        let rest = &source[start..];
        let open = rest.find('"').unwrap_or_default();
        let body = &rest[open + 1..];
        let literal = &body[..body.find("\";").unwrap_or_default()];
        let mut out = String::new();
        let mut chars = literal.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\\' && chars.peek() == Some(&'\n') {
                chars.next();
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn the_statements_are_the_stores_own() {
        let commit = include_str!("../../crates/mci-store-sqlite/src/commit.rs");
        let queries = include_str!("../../crates/mci-store-sqlite/src/queries.rs");
        for (name, ours, source) in [
            ("INSERT_NOMINATION", sql::INSERT_NOMINATION, commit),
            ("UPDATE_NOMINATION", sql::UPDATE_NOMINATION, commit),
            ("INSERT_EVENT", sql::INSERT_EVENT, commit),
            ("DELETE_LINKS", sql::DELETE_LINKS, commit),
            ("INSERT_LINK", sql::INSERT_LINK, commit),
            ("INSERT_MESSAGE", sql::INSERT_MESSAGE, commit),
            ("INSERT_KNOWN", sql::INSERT_KNOWN, commit),
            ("DUE", sql::DUE, queries),
        ] {
            assert_eq!(ours, rust_const(source, name), "{name}");
        }
        // The store's page is the keyset walk of the tab, merged with the
        // rows lapsed into it: its first arm is the baseline's query.
        let page = rust_const(queries, "PAGE");
        let (walk, order) = sql::IN_TAB
            .split_once(" ORDER BY")
            .expect("the keyset query is ordered");
        assert!(page.starts_with(&format!("{walk} UNION ALL ")), "{page}");
        assert!(page.ends_with(&format!(" ORDER BY{order}")), "{page}");
    }
}
