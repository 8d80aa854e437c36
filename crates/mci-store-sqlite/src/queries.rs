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
use mci_store::{Due, DueCursor, Fingerprint, IdempotentResult, Page, StoreError, TabCounts};
use rusqlite::{Connection, OptionalExtension, Params, params};

/// A nomination by id.
pub(crate) const BY_ID: &str = "SELECT doc FROM nominations WHERE id = ?1";

/// A nomination by id, if it is the partner's.
pub(crate) const BY_ID_OF_PARTNER: &str =
    "SELECT doc FROM nominations WHERE id = ?1 AND partner = ?2";

/// The nomination holding a live link.
pub(crate) const BY_LINK: &str = "SELECT n.doc FROM links AS l \
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

/// How many are stored in tab ?3 and not lapsed at ?4.
pub(crate) const COUNT_IN_TAB: &str = "SELECT count(*) FROM nominations \
     WHERE partner = ?1 AND engagement = ?2 AND tab = ?3 \
     AND (lapse_at IS NULL OR lapse_at > ?4)";

/// How many lapsed into tab ?3 at ?4 and are not yet swept.
pub(crate) const COUNT_LAPSED_INTO: &str = "SELECT count(*) FROM nominations \
     WHERE partner = ?1 AND engagement = ?2 AND tab_after = ?3 AND lapse_at <= ?4";

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

fn count(conn: &Connection, sql: &str, params: impl Params) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row(params, |r| r.get(0)))
        .map_err(sqlite)?;
    Ok(u64::try_from(n).unwrap_or_default())
}

fn page_of(rows: Vec<(Vec<u8>, String)>, limit: usize) -> Result<Page, StoreError> {
    let found = rows
        .iter()
        .map(|(id, doc)| Ok((columns::nomination_id(id)?, readable(doc))))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Page::scanned(found, limit))
}

/// A stored nomination read back, or why it cannot be: the row is then
/// passed over and reported, never the reason a whole read fails.
fn readable(doc: &str) -> Result<Nomination, String> {
    document::<Nomination>(doc).map_err(|e| e.to_string())
}

/// The nomination `id`, if it is `partner`'s (or anyone's, without one).
pub(crate) fn nomination(
    conn: &Connection,
    id: &[u8; 16],
    partner: Option<&str>,
) -> Result<Option<Nomination>, StoreError> {
    match partner {
        Some(partner) => one(conn, BY_ID_OF_PARTNER, params![id, partner]),
        None => one(conn, BY_ID, [id]),
    }
}

/// The nomination holding the live link `hash`.
pub(crate) fn by_link(
    conn: &Connection,
    hash: &[u8; 32],
) -> Result<Option<Nomination>, StoreError> {
    one(conn, BY_LINK, [hash])
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

/// The counts of the three tabs at `now`.
pub(crate) fn counts(
    conn: &Connection,
    partner: &str,
    engagement: &str,
    now: i64,
) -> Result<TabCounts, StoreError> {
    let tab = |tab| -> Result<u64, StoreError> {
        let code = columns::tab(Some(tab));
        Ok(
            count(conn, COUNT_IN_TAB, params![partner, engagement, code, now])?
                + count(
                    conn,
                    COUNT_LAPSED_INTO,
                    params![partner, engagement, code, now],
                )?,
        )
    };
    Ok(TabCounts {
        eligible: tab(mci_core::Tab::Eligible)?,
        ineligible: tab(mci_core::Tab::Ineligible)?,
        complete: tab(mci_core::Tab::Complete)?,
    })
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
mod plans {
    //! `EXPLAIN QUERY PLAN` of every query: each one walks an index, none
    //! scans a table, none sorts in a temporary B-tree.

    use super::*;
    use crate::schema::{SCHEMA_VERSION, in_memory};

    /// The counts and the sweep's due query, which must be bounded walks
    /// (the page has a test of its own).
    const PAGES_AND_DUE: [(&str, &str); 4] = [
        ("count in tab", COUNT_IN_TAB),
        ("count lapsed into tab", COUNT_LAPSED_INTO),
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

    fn plan(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn assert_index_walk(conn: &Connection, name: &str, sql: &str) {
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
}
