//! The reads: each one or two index walks (R-PAGE-1, R-PAGE-7, R-TIME-4).
//!
//! A tab at `now` is "stored in this tab and not lapsed at `now`" merged with
//! "lapsing into this tab and lapsed at `now`" ([`mci_core::Placement::tab_at`]).
//! A page is one statement of two arms, merged by SQLite in id order
//! (`MERGE (UNION ALL)`): the first walks `nominations_tab` in id order from
//! the cursor; the second walks `nominations_lapse_into`, which holds only
//! the rows that lapsed and were not swept yet (the sweep keeps them few),
//! and sorts them. The merge stops at the page's limit, so the first arm
//! reads no further than the page. One statement reads one snapshot. The
//! plans are checked by the tests below with `EXPLAIN QUERY PLAN`.

use crate::columns::{self, document};
use crate::error::sqlite;
use mci_core::{Event, KnownCustomer, Nomination, PayoutBatch, Standing};
use mci_store::{
    Due, DueCursor, Fingerprint, IdempotentResult, Page, StoreError, TabCounts, Unreadable,
};
use rusqlite::{Connection, OptionalExtension, Params, params};

/// A nomination by id.
pub(crate) const BY_ID: &str = "SELECT id, doc FROM nominations WHERE id = ?1";

/// A nomination by id, if it is the partner's.
pub(crate) const BY_ID_OF_PARTNER: &str =
    "SELECT id, doc FROM nominations WHERE id = ?1 AND partner = ?2";

/// The nomination holding a live link.
pub(crate) const BY_LINK: &str = "SELECT n.id, n.doc FROM links AS l \
     JOIN nominations AS n ON n.id = l.nomination WHERE l.hash = ?1";

/// The nominations of (engagement, customer).
pub(crate) const OF_CUSTOMER: &str =
    "SELECT doc FROM nominations WHERE engagement = ?1 AND customer = ?2";

/// A page of tab ?3 at ?5 after cursor ?4, at most ?6 rows in id order:
/// stored in the tab and not lapsed, then lapsed into it and not yet swept.
pub(crate) const PAGE: &str = "SELECT id, doc FROM nominations \
     WHERE partner = ?1 AND engagement = ?2 AND tab = ?3 AND id > ?4 \
     AND (lapse_at IS NULL OR lapse_at > ?5) \
     UNION ALL \
     SELECT id, doc FROM nominations \
     WHERE partner = ?1 AND engagement = ?2 AND tab_after = ?3 AND lapse_at <= ?5 AND id > ?4 \
     ORDER BY id LIMIT ?6";

/// The counts kept per tab as stored (`tab_counts`, kept by triggers in
/// the transaction of every write).
pub(crate) const KEPT_COUNTS: &str =
    "SELECT tab, n FROM tab_counts WHERE partner = ?1 AND engagement = ?2";

/// The tabs each lapse at or before ?3 moves a row between, for the lapses
/// the sweep has not written yet (a lapse within one tab moves nothing).
pub(crate) const UNSWEPT_LAPSES: &str = "SELECT tab, tab_after FROM nominations \
     WHERE partner = ?1 AND engagement = ?2 AND lapse_at <= ?3 AND tab IS NOT tab_after";

/// Known customers of a partner after a customer order key.
pub(crate) const KNOWN: &str = "SELECT n.doc FROM known_customers AS k \
     JOIN nominations AS n ON n.id = k.through \
     WHERE k.partner = ?1 AND k.customer > ?2 ORDER BY k.customer LIMIT ?3";

/// Everyone's nominations in state ?1, not lapsed at ?3, after cursor ?2.
pub(crate) const IN_STATE: &str = "SELECT id, doc FROM nominations \
     WHERE state = ?1 AND id > ?2 AND (lapse_at IS NULL OR lapse_at > ?3) \
     ORDER BY id LIMIT ?4";

/// A partner's nominations in state ?1, not lapsed at ?3, after cursor ?2.
pub(crate) const IN_STATE_OF_PARTNER: &str = "SELECT id, doc FROM nominations \
     WHERE partner = ?5 AND state = ?1 AND id > ?2 AND (lapse_at IS NULL OR lapse_at > ?3) \
     ORDER BY id LIMIT ?4";

/// A partner's nominations lapsing in (?2, ?3], in lapse order.
pub(crate) const LAPSING: &str = "SELECT doc FROM nominations \
     WHERE partner = ?1 AND lapse_at > ?2 AND lapse_at <= ?3 \
     ORDER BY lapse_at, id LIMIT ?4";

/// A nomination's events in version order.
pub(crate) const HISTORY: &str = "SELECT doc FROM events WHERE nomination = ?1 ORDER BY version";

/// What the sweep must look at: woken at ?1, earliest first.
pub(crate) const DUE: &str = "SELECT wake_at, id, doc FROM nominations \
     WHERE wake_at <= ?1 ORDER BY wake_at, id LIMIT ?2";

/// The same after the cursor (?3, ?4) in (wake_at, id) order.
pub(crate) const DUE_AFTER: &str = "SELECT wake_at, id, doc FROM nominations \
     WHERE wake_at <= ?1 AND (wake_at, id) > (?3, ?4) ORDER BY wake_at, id LIMIT ?2";

/// The result of an idempotency key and the fingerprint of its command.
pub(crate) const IDEMPOTENT_RESULT: &str =
    "SELECT result, fingerprint FROM idempotency WHERE scope = ?1 AND idem_key = ?2";

/// A payout batch.
pub(crate) const PAYOUT_BATCH: &str = "SELECT doc FROM payout_batches WHERE id = ?1";

/// The one document `sql` finds, read back as `T`.
fn one<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> Result<Option<T>, StoreError> {
    let doc: Option<String> = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row(params, |r| r.get(0)).optional())
        .map_err(sqlite)?;
    doc.as_deref().map(document).transpose()
}

/// The one nomination `sql` finds as (id, document), read back: a row
/// that does not read back is [`StoreError::Unreadable`] naming it, with a
/// reason that holds none of its content.
fn one_nomination(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> Result<Option<Nomination>, StoreError> {
    let found: Option<(Vec<u8>, String)> = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| {
            stmt.query_row(params, |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(sqlite)?;
    let Some((id, doc)) = found else {
        return Ok(None);
    };
    let id = columns::nomination_id(&id)?;
    readable(&doc)
        .map(Some)
        .map_err(|reason| StoreError::unreadable(Unreadable { id, reason }))
}

/// Every document `sql` finds, read back as `T`, in the order found.
fn all<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> Result<Vec<T>, StoreError> {
    let docs: Vec<String> = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_map(params, |r| r.get(0))?.collect())
        .map_err(sqlite)?;
    docs.iter().map(|doc| document(doc)).collect()
}

/// Every (id, document) `sql` finds, in the order found.
fn keyed(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> Result<Vec<(Vec<u8>, String)>, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| {
            stmt.query_map(params, |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(sqlite)
}

/// Every pair of integers `sql` finds, in the order found.
fn pairs(conn: &Connection, sql: &str, params: impl Params) -> Result<Vec<(i64, i64)>, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| {
            stmt.query_map(params, |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(sqlite)
}

fn page_of(rows: Vec<(Vec<u8>, String)>, limit: usize) -> Result<Page, StoreError> {
    let found = rows
        .iter()
        .map(|(id, doc)| Ok((columns::nomination_id(id)?, readable(doc))))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Page::scanned(found, limit))
}

/// A stored nomination read back, or why it cannot be, in words that hold
/// none of the document ([`Unreadable::json_reason`]): a page or a due
/// batch passes the row over and names it, a single read answers
/// [`StoreError::Unreadable`].
pub(crate) fn readable(doc: &str) -> Result<Nomination, String> {
    serde_json::from_str(doc).map_err(|e| Unreadable::json_reason(&e))
}

/// The nomination `id`, if it is `partner`'s (or anyone's, without one).
pub(crate) fn nomination(
    conn: &Connection,
    id: &[u8; 16],
    partner: Option<&str>,
) -> Result<Option<Nomination>, StoreError> {
    match partner {
        Some(partner) => one_nomination(conn, BY_ID_OF_PARTNER, params![id, partner]),
        None => one_nomination(conn, BY_ID, [id]),
    }
}

/// The nomination holding the live link `hash`.
pub(crate) fn by_link(
    conn: &Connection,
    hash: &[u8; 32],
) -> Result<Option<Nomination>, StoreError> {
    one_nomination(conn, BY_LINK, [hash])
}

/// Every nomination of (engagement, customer): the rivals of an acceptance
/// (R-CONSENT-10).
pub(crate) fn rivals(
    conn: &Connection,
    engagement: &str,
    customer: &str,
) -> Result<Vec<Nomination>, StoreError> {
    all(conn, OF_CUSTOMER, params![engagement, customer])
}

/// The partner and standing of every nomination of (engagement, customer),
/// as the core derives them from the stored documents.
pub(crate) fn standings(
    conn: &Connection,
    engagement: &str,
    customer: &str,
) -> Result<Vec<(mci_core::PartnerId, Standing)>, StoreError> {
    Ok(rivals(conn, engagement, customer)?
        .iter()
        .map(|n| (n.partner().clone(), n.standing()))
        .collect())
}

/// What a tab page asks.
pub(crate) struct TabQuery {
    pub(crate) partner: String,
    pub(crate) engagement: String,
    pub(crate) tab: i64,
    pub(crate) now: i64,
    pub(crate) after: Vec<u8>,
    pub(crate) limit: usize,
}

/// One page of a tab at `now`: one statement, so one snapshot. Each
/// document is decoded from SQLite's own buffer.
pub(crate) fn page(conn: &Connection, q: &TabQuery) -> Result<Page, StoreError> {
    let mut stmt = conn.prepare_cached(PAGE).map_err(sqlite)?;
    let mut rows = stmt
        .query(params![
            q.partner,
            q.engagement,
            q.tab,
            q.after,
            q.now,
            columns::limit(q.limit)
        ])
        .map_err(sqlite)?;
    let mut found = Vec::with_capacity(q.limit.min(1024));
    while let Some(row) = rows.next().map_err(sqlite)? {
        let id = row
            .get_ref(0)
            .and_then(|v| Ok(v.as_blob()?))
            .map_err(sqlite)?;
        let doc = row
            .get_ref(1)
            .and_then(|v| Ok(v.as_str()?))
            .map_err(sqlite)?;
        found.push((columns::nomination_id(id)?, readable(doc)));
    }
    Ok(Page::scanned(found, q.limit))
}

/// The counts of the tabs at `now` (R-PAGE-9): the kept counts, each
/// unswept lapse moved from its tab to the tab it lapses into. Two index
/// walks: the partner's engagement in `tab_counts` (a row per tab), and
/// its rows whose lapse has come in `nominations_lapse`, which the sweep
/// keeps few. Run in one read transaction, so both see one snapshot.
pub(crate) fn counts(
    conn: &Connection,
    partner: &str,
    engagement: &str,
    now: i64,
) -> Result<TabCounts, StoreError> {
    let tab_of = |code: i64| u8::try_from(code).ok().and_then(mci_core::Tab::from_code);
    let mut counts = TabCounts::default();
    for (tab, n) in pairs(conn, KEPT_COUNTS, params![partner, engagement])? {
        counts.add(tab_of(tab), u64::try_from(n).unwrap_or_default());
    }
    for (from, to) in pairs(conn, UNSWEPT_LAPSES, params![partner, engagement, now])? {
        counts.lapse(tab_of(from), tab_of(to));
    }
    Ok(counts)
}

/// A partner's known customers after the order key `after`.
pub(crate) fn known_customers(
    conn: &Connection,
    partner: &str,
    after: &[u8],
    limit: usize,
) -> Result<Vec<KnownCustomer>, StoreError> {
    let through: Vec<Nomination> =
        all(conn, KNOWN, params![partner, after, columns::limit(limit)])?;
    Ok(through
        .into_iter()
        .map(|n| KnownCustomer {
            customer: n.customer().clone(),
            through: *n.id(),
        })
        .collect())
}

/// What a state query asks.
pub(crate) struct StatesQuery {
    pub(crate) states: Vec<String>,
    pub(crate) partner: Option<String>,
    pub(crate) now: i64,
    pub(crate) after: Vec<u8>,
    pub(crate) limit: usize,
}

/// Nominations in one of the states as stored, not lapsed at `now`: one walk
/// per state, merged in id order.
pub(crate) fn by_state(conn: &Connection, q: &StatesQuery) -> Result<Page, StoreError> {
    let limit = columns::limit(q.limit);
    let mut rows = Vec::new();
    for state in &q.states {
        rows.extend(match &q.partner {
            Some(partner) => keyed(
                conn,
                IN_STATE_OF_PARTNER,
                params![state, q.after, q.now, limit, partner],
            )?,
            None => keyed(conn, IN_STATE, params![state, q.after, q.now, limit])?,
        });
    }
    rows.sort_unstable_by(|x, y| x.0.cmp(&y.0));
    rows.dedup_by(|x, y| x.0 == y.0);
    rows.truncate(q.limit);
    page_of(rows, q.limit)
}

/// A partner's nominations lapsing in `(now, until]`, in lapse order.
pub(crate) fn lapsing(
    conn: &Connection,
    partner: &str,
    now: i64,
    until: i64,
    limit: usize,
) -> Result<Vec<Nomination>, StoreError> {
    all(
        conn,
        LAPSING,
        params![partner, now, until, columns::limit(limit)],
    )
}

/// A nomination's events in version order.
pub(crate) fn history(conn: &Connection, id: &[u8; 16]) -> Result<Vec<Event>, StoreError> {
    all(conn, HISTORY, [id])
}

/// Up to `limit` nominations woken at `now`, earliest first.
pub(crate) fn due(
    conn: &Connection,
    now: i64,
    after: Option<(i64, [u8; 16])>,
    limit: usize,
) -> Result<Due, StoreError> {
    let limit_param = columns::limit(limit);
    let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(i64, Vec<u8>, String)> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    };
    let found: Vec<(i64, Vec<u8>, String)> = match after {
        None => conn
            .prepare_cached(DUE)
            .and_then(|mut stmt| stmt.query_map(params![now, limit_param], row)?.collect()),
        Some((wake_at, id)) => conn.prepare_cached(DUE_AFTER).and_then(|mut stmt| {
            stmt.query_map(params![now, limit_param, wake_at, id], row)?
                .collect()
        }),
    }
    .map_err(sqlite)?;
    let found = found
        .iter()
        .map(|(wake_at, id, doc)| {
            let cursor = DueCursor {
                wake_at: columns::instant_at(*wake_at)?,
                id: columns::nomination_id(id)?,
            };
            Ok((cursor, readable(doc)))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Due::scanned(found, limit))
}

/// The result recorded with an idempotency key, with the fingerprint of
/// its command (none for a record written before the schema kept
/// fingerprints).
pub(crate) fn idempotent_result(
    conn: &Connection,
    scope: &str,
    key: &str,
) -> Result<Option<IdempotentResult>, StoreError> {
    conn.prepare_cached(IDEMPOTENT_RESULT)
        .and_then(|mut stmt| {
            stmt.query_row(params![scope, key], |r| {
                Ok(IdempotentResult {
                    result: r.get(0)?,
                    fingerprint: r
                        .get::<_, Option<[u8; 32]>>(1)?
                        .map(Fingerprint::from_bytes),
                })
            })
            .optional()
        })
        .map_err(sqlite)
}

/// A payout batch.
pub(crate) fn payout_batch(
    conn: &Connection,
    id: &[u8; 16],
) -> Result<Option<PayoutBatch>, StoreError> {
    one(conn, PAYOUT_BATCH, [id])
}

#[cfg(test)]
pub(crate) mod plans {
    //! `EXPLAIN QUERY PLAN` of every query: each one walks an index, none
    //! scans a table, none sorts in a temporary B-tree.

    use super::*;
    use crate::schema::{SCHEMA_VERSION, in_memory};

    /// The counts and the sweep's due query, which must be bounded walks
    /// (the page has a test of its own).
    const PAGES_AND_DUE: [(&str, &str); 4] = [
        ("kept counts", KEPT_COUNTS),
        ("unswept lapses", UNSWEPT_LAPSES),
        ("due", DUE),
        ("due after a cursor", DUE_AFTER),
    ];

    /// Every other query of the store.
    const OTHERS: [(&str, &str); 17] = [
        ("by id", BY_ID),
        ("by id of partner", BY_ID_OF_PARTNER),
        ("by link", BY_LINK),
        ("of customer", OF_CUSTOMER),
        ("known customers", KNOWN),
        ("in state", IN_STATE),
        ("in state of partner", IN_STATE_OF_PARTNER),
        ("lapsing", LAPSING),
        ("history", HISTORY),
        ("idempotent result", IDEMPOTENT_RESULT),
        ("payout batch", PAYOUT_BATCH),
        ("outbox take", crate::outbox::TAKE),
        ("version of", crate::commit::VERSION_OF),
        ("guard: other consent", crate::commit::OTHER_CONSENT),
        (
            "guard: other live of partner",
            crate::commit::OTHER_LIVE_OF_PARTNER,
        ),
        ("guard: other live", crate::commit::OTHER_LIVE),
        ("guard: rival asking", crate::commit::RIVAL_ASKING),
    ];

    /// The steps of `sql`'s query plan.
    pub(crate) fn plan(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Asserts that every read of `sql` walks an index and none sorts in
    /// a temporary B-tree.
    pub(crate) fn assert_index_walk(conn: &Connection, name: &str, sql: &str) {
        let plan = plan(conn, sql);
        let reads_a_table: Vec<&String> = plan
            .iter()
            .filter(|step| step.starts_with("SEARCH") || step.starts_with("SCAN"))
            .filter(|step| !step.starts_with("SCAN CONSTANT ROW"))
            .collect();
        assert!(!reads_a_table.is_empty(), "{name} reads nothing: {plan:?}");
        for step in reads_a_table {
            assert!(
                step.starts_with("SEARCH")
                    && (step.contains(" USING INDEX ")
                        || step.contains(" USING COVERING INDEX ")
                        || step.contains(" USING PRIMARY KEY ")),
                "{name} does not walk an index: {plan:?}"
            );
        }
        assert!(
            plan.iter().all(|step| !step.contains("TEMP B-TREE")),
            "{name} sorts in a temporary B-tree: {plan:?}"
        );
    }

    /// Fills the tables with rows whose columns repeat a lot, and has SQLite
    /// gather statistics, which are what could make it prefer a scan.
    fn fill_and_analyze(conn: &Connection) {
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
             INSERT INTO nominations (id, partner, engagement, customer, state, version, tab,
                 lapse_at, tab_after, wake_at, live, holds_consent, completed, asking,
                 standing_until, doc)
             SELECT randomblob(16), 'p' || (i % 3), 'workshop', 'tpid:' || i,
                 CASE i % 4 WHEN 0 THEN 'paid' ELSE 'awaiting_consent' END, 1, 1 + (i % 2),
                 CASE i % 4 WHEN 0 THEN NULL ELSE i END, CASE i % 4 WHEN 0 THEN NULL ELSE 0 END,
                 CASE i % 4 WHEN 0 THEN NULL ELSE i END, 1, 0, i % 4 = 0, i % 4 <> 0,
                 CASE i % 4 WHEN 0 THEN NULL ELSE i END, '{}'
             FROM n;
             INSERT INTO events (nomination, version, doc) SELECT id, 1, '{}' FROM nominations;
             INSERT INTO outbox (id, nomination, doc, available_at, delivered)
                 SELECT randomblob(16), id, '{}', rowid, rowid % 2 FROM nominations;
             INSERT INTO links (hash, nomination) SELECT randomblob(32), id FROM nominations;
             INSERT INTO known_customers (partner, customer, through)
                 SELECT partner, randomblob(9), id FROM nominations;
             ANALYZE;",
        )
        .unwrap();
    }

    #[test]
    fn tab_pages_and_the_due_query_walk_an_index_without_sorting() {
        let conn = in_memory(SCHEMA_VERSION);
        for (name, sql) in PAGES_AND_DUE {
            assert_index_walk(&conn, name, sql);
        }
        fill_and_analyze(&conn);
        for (name, sql) in PAGES_AND_DUE {
            assert_index_walk(&conn, name, sql);
        }
    }

    #[test]
    fn every_other_query_walks_an_index_without_sorting() {
        let conn = in_memory(SCHEMA_VERSION);
        for (name, sql) in OTHERS {
            assert_index_walk(&conn, name, sql);
        }
        fill_and_analyze(&conn);
        for (name, sql) in OTHERS {
            assert_index_walk(&conn, name, sql);
        }
    }

    #[test]
    fn the_page_walks_the_tab_index_in_id_order_and_sorts_only_the_lapsed() {
        let conn = in_memory(SCHEMA_VERSION);
        let expected = [
            "MERGE (UNION ALL)",
            "LEFT",
            "SEARCH nominations USING INDEX nominations_tab \
             (partner=? AND engagement=? AND tab=? AND id>?)",
            "RIGHT",
            "SEARCH nominations USING INDEX nominations_lapse_into \
             (partner=? AND engagement=? AND tab_after=? AND lapse_at<?)",
            "USE TEMP B-TREE FOR ORDER BY",
        ];
        assert_eq!(plan(&conn, PAGE), expected);
        fill_and_analyze(&conn);
        assert_eq!(plan(&conn, PAGE), expected);
        assert_eq!(
            plan(&conn, DUE),
            ["SEARCH nominations USING INDEX nominations_due (wake_at<?)"]
        );
    }

    #[test]
    fn r_page_9_the_counts_read_their_counters_and_the_unswept_lapses_by_index() {
        let conn = in_memory(SCHEMA_VERSION);
        let kept = ["SEARCH tab_counts USING PRIMARY KEY (partner=? AND engagement=?)"];
        let lapses = ["SEARCH nominations USING COVERING INDEX nominations_lapse \
             (partner=? AND engagement=? AND lapse_at<?)"];
        assert_eq!(plan(&conn, KEPT_COUNTS), kept);
        assert_eq!(plan(&conn, UNSWEPT_LAPSES), lapses);
        fill_and_analyze(&conn);
        assert_eq!(plan(&conn, KEPT_COUNTS), kept);
        assert_eq!(plan(&conn, UNSWEPT_LAPSES), lapses);
    }
}

#[cfg(test)]
mod costs {
    //! What the counts cost, in SQLite's own unit: the virtual machine
    //! instructions it runs (R-PAGE-9).

    use super::*;
    use crate::schema::{SCHEMA_VERSION, in_memory};
    use mci_core::Tab;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// The instant the counts are read at.
    const NOW: i64 = 1_000_000;

    /// A file where partner `p1` has `rows` nominations of `workshop`, a
    /// quarter stored in each tab (those in Eligible lapsing out of the
    /// page after `NOW`) and a quarter hidden, and `unswept` more
    /// whose lapse from Eligible into Complete came before `NOW` and was not
    /// swept; another partner and another engagement have a thousand each.
    fn world(rows: i64, unswept: i64) -> Connection {
        let conn = in_memory(SCHEMA_VERSION);
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 + ?2),
                 o(p, e, most) AS (VALUES ('p1', 'workshop', ?1 + ?2),
                     ('p2', 'workshop', 1000), ('p1', 'elsewhere', 1000))
             INSERT INTO nominations (id, partner, engagement, customer, state, version, tab,
                 lapse_at, tab_after, wake_at, live, holds_consent, completed, standing_until, doc)
             SELECT randomblob(16), p, e, 'tpid:' || i, 'awaiting_consent', 1,
                 CASE WHEN i > ?1 THEN 1 ELSE i % 4 END,
                 CASE WHEN i > ?1 THEN ?3 - i WHEN i % 4 = 1 THEN ?3 + i END,
                 CASE WHEN i > ?1 THEN 3 WHEN i % 4 = 1 THEN 0 END,
                 NULL, 1, 0, 0, NULL, '{}'
             FROM n, o WHERE i <= most",
            params![rows, unswept, NOW],
        )
        .unwrap();
        conn.execute_batch("ANALYZE").unwrap();
        conn
    }

    /// The counts of `p1`'s `workshop` as a walk of every row finds them.
    fn walked(conn: &Connection) -> TabCounts {
        let mut counts = TabCounts::default();
        let found = pairs(
            conn,
            "SELECT CASE WHEN lapse_at <= ?1 THEN tab_after ELSE tab END, count(*)
             FROM nominations WHERE partner = 'p1' AND engagement = 'workshop' GROUP BY 1",
            [NOW],
        )
        .unwrap();
        for (tab, n) in found {
            let tab = u8::try_from(tab).ok().and_then(Tab::from_code);
            counts.add(tab, u64::try_from(n).unwrap());
        }
        counts
    }

    /// What `read` answers, and how many instructions it ran.
    fn instructions<T>(conn: &Connection, read: impl FnOnce(&Connection) -> T) -> (T, u64) {
        let ran = Arc::new(AtomicU64::new(0));
        let counter = ran.clone();
        conn.progress_handler(
            1,
            Some(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                false
            }),
        )
        .unwrap();
        let answer = read(conn);
        conn.progress_handler(1, None::<fn() -> bool>).unwrap();
        (answer, ran.load(Ordering::Relaxed))
    }

    fn counted(conn: &Connection) -> (TabCounts, u64) {
        instructions(conn, |conn| counts(conn, "p1", "workshop", NOW).unwrap())
    }

    #[test]
    fn r_page_9_counts_cost_the_same_at_a_thousand_and_a_hundred_thousand_nominations() {
        let (small, large) = (world(1_000, 20), world(100_000, 20));
        let (small_counts, small_cost) = counted(&small);
        let (large_counts, large_cost) = counted(&large);
        assert_eq!(small_counts, walked(&small));
        assert_eq!(large_counts, walked(&large));
        let quarter = 100_000 / 4;
        assert_eq!(
            Tab::ALL.map(|tab| large_counts.get(tab)),
            [quarter, quarter, quarter + 20]
        );
        assert_eq!(small_cost, large_cost, "the counts read no more at 100,000");

        // The measure sees a walk: counting the tab's rows, as the counts
        // did before the store kept them, grows with the partner.
        let walk = |conn: &Connection| {
            let sql = "SELECT count(*) FROM nominations \
                       WHERE partner = 'p1' AND engagement = 'workshop' AND tab = 1";
            let count = |conn: &Connection| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
            instructions(conn, count).1
        };
        assert!(walk(&large) > 50 * walk(&small));

        // And the counts read as much more as there are lapses unswept.
        let (behind_counts, behind_cost) = counted(&world(1_000, 200));
        assert_eq!(behind_counts.complete, 1_000 / 4 + 200);
        assert!(behind_cost > small_cost);
    }
}
