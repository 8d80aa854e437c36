//! The Attention required list (R-LIST-3): one statement, two index walks.
//!
//! The list of a partner at `now` is the walk of `attention_walk` (schema
//! version 12) over the partner's rows of class 1 from `lapse_at > now`,
//! merged by SQLite (`MERGE (UNION ALL)`) in `(lapse_at, id)` order with
//! the walk of the rows of class 2 from `lapse_at > now` to `lapse_at <=
//! until`. The merge stops at one row past the list's limit, so each walk
//! reads no further than the list; every row a walk meets is on it. The
//! plan is checked by the tests below with `EXPLAIN QUERY PLAN`.

use crate::columns;
use crate::error::sqlite;
use crate::queries::readable;
use mci_store::{AttentionCandidates, AttentionQuery, StoreError};
use rusqlite::{Connection, params};

/// The list of partner ?1 at ?2, its window ending at ?3, at most ?4 rows:
/// class 1 ([`mci_core::AttentionClass::Always`]) from the lapse after
/// ?2, merged with class 2 ([`mci_core::AttentionClass::WithinWindow`])
/// up to ?3, soonest lapse first. Each arm names its index: a planner
/// without statistics, or with misleading ones, must not walk the
/// partner's lapses and filter them.
pub(crate) const ATTENTION: &str = "SELECT id, lapse_at, doc FROM nominations \
     INDEXED BY attention_walk WHERE partner = ?1 AND attention = 1 AND lapse_at > ?2 \
     UNION ALL \
     SELECT id, lapse_at, doc FROM nominations \
     INDEXED BY attention_walk WHERE partner = ?1 AND attention = 2 AND lapse_at > ?2 \
     AND lapse_at <= ?3 \
     ORDER BY 2, 1 LIMIT ?4";

/// What the list asks, as the statement binds it.
pub(crate) struct Query {
    pub(crate) partner: String,
    pub(crate) now: i64,
    pub(crate) until: i64,
    pub(crate) query: AttentionQuery,
}

impl Query {
    pub(crate) fn of(query: &AttentionQuery) -> Self {
        Self {
            partner: query.partner.as_str().to_owned(),
            now: columns::bound(query.now),
            until: columns::bound(query.until),
            query: query.clone(),
        }
    }
}

/// The candidates of the list: one statement, so one snapshot, each
/// document decoded from SQLite's own buffer.
pub(crate) fn candidates(conn: &Connection, q: &Query) -> Result<AttentionCandidates, StoreError> {
    let mut stmt = conn.prepare_cached(ATTENTION).map_err(sqlite)?;
    let mut rows = stmt
        .query(params![
            q.partner,
            q.now,
            q.until,
            columns::limit(q.query.walk_limit()),
        ])
        .map_err(sqlite)?;
    let mut found = Vec::with_capacity(q.query.walk_limit().min(1024));
    while let Some(row) = rows.next().map_err(sqlite)? {
        let id = row
            .get_ref(0)
            .and_then(|v| Ok(v.as_blob()?))
            .map_err(sqlite)?;
        let doc = row
            .get_ref(2)
            .and_then(|v| Ok(v.as_str()?))
            .map_err(sqlite)?;
        found.push((columns::nomination_id(id)?, readable(doc)));
    }
    Ok(AttentionCandidates::walked(&q.query, found))
}

#[cfg(test)]
mod plans {
    //! `EXPLAIN QUERY PLAN` of the list: both arms walk `attention_walk`
    //! in its order, merged without a sort.

    use super::*;
    use crate::queries::plans::plan;
    use crate::schema::{SCHEMA_VERSION, in_memory};

    /// Rows of three partners in every class and none, lapsing at many
    /// instants, then statistics, which are what could make SQLite prefer
    /// another index (the partner's lapses, say) or a scan.
    fn fill_and_analyze(conn: &Connection) {
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
             INSERT INTO nominations (id, partner, engagement, customer, state, version, tab,
                 lapse_at, tab_after, wake_at, live, holds_consent, completed, asking,
                 standing_until, created_at, changed_at, state_after, reviewable, attention,
                 doc)
             SELECT randomblob(16), 'p' || (i % 3), 'e' || (i % 2), 'tpid:' || i,
                 CASE i % 4 WHEN 0 THEN 'submitted' WHEN 1 THEN 'rejected'
                     ELSE 'awaiting_consent' END,
                 1, 1, i, 3, i, 1, 0, 0, 0, i, i, i + 7,
                 CASE i % 4 WHEN 0 THEN 'post_submission_expired'
                     WHEN 1 THEN 'rejected_final' ELSE 'consent_expired' END,
                 i % 4 < 2, CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN 1 ELSE 2 END, '{}'
             FROM n;
             ANALYZE;",
        )
        .unwrap();
    }

    /// The statement names each class by its code.
    #[test]
    fn the_classes_are_stored_as_the_statement_names_them() {
        use mci_core::AttentionClass;
        assert_eq!(AttentionClass::Always.code(), 1);
        assert_eq!(AttentionClass::WithinWindow.code(), 2);
    }

    #[test]
    fn r_list_3_both_walks_are_index_walks_of_attention_walk_merged_without_a_sort() {
        let conn = in_memory(SCHEMA_VERSION);
        let expected = [
            "MERGE (UNION ALL)",
            "LEFT",
            "SEARCH nominations USING INDEX attention_walk \
             (partner=? AND attention=? AND lapse_at>?)",
            "RIGHT",
            "SEARCH nominations USING INDEX attention_walk \
             (partner=? AND attention=? AND lapse_at>? AND lapse_at<?)",
        ];
        assert_eq!(plan(&conn, ATTENTION), expected);
        fill_and_analyze(&conn);
        assert_eq!(plan(&conn, ATTENTION), expected);
    }
}

#[cfg(test)]
mod costs {
    //! What the list costs, in SQLite's own unit: the virtual machine
    //! instructions its statement runs (R-LIST-3).

    use super::*;
    use crate::schema::{SCHEMA_VERSION, in_memory};
    use rusqlite::StatementStatus;

    /// The instant the list is read at, and the end of its window.
    const NOW: i64 = 1_000_000_000;
    const UNTIL: i64 = NOW + 604_800_000_000;

    /// A file where partner `p1` has ten nominations on its list (five of
    /// each class, lapsing soon) and `rows` more that a walk of its lapses
    /// would meet: needing it until a deadline far ahead, within the window
    /// only but due later, with the reviewer and lapsing within the
    /// window, and lapsed before `NOW` and not swept; another partner has a
    /// thousand on its list. The documents are no nominations: every row
    /// the list finds is unreadable, and counted as found.
    fn world(rows: i64) -> Connection {
        let conn = in_memory(SCHEMA_VERSION);
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 + 1010),
                 r(i, p, attention, lapse_at) AS (
                     SELECT i, 'p1', CASE i % 2 WHEN 0 THEN 1 ELSE 2 END, ?2 + i
                     FROM n WHERE i <= 10
                     UNION ALL
                     SELECT i, 'p1', CASE i % 4 WHEN 0 THEN 1 WHEN 1 THEN 2 WHEN 2 THEN NULL
                         ELSE 2 END,
                         CASE i % 4 WHEN 0 THEN ?3 + 1000 + i WHEN 1 THEN ?3 + 1 + i
                             WHEN 2 THEN ?2 + 100 + i ELSE ?2 - i END
                     FROM n WHERE i > 10 AND i <= ?1 + 10
                     UNION ALL
                     SELECT i, 'p2', 1, ?2 + i FROM n WHERE i > ?1 + 10)
             INSERT INTO nominations (id, partner, engagement, customer, state, version, tab,
                 lapse_at, tab_after, wake_at, live, holds_consent, completed, asking,
                 standing_until, attention, doc)
             SELECT unhex(printf('0190a000%04x7000%04x%012x', abs(random()) % 65536,
                     32768 + abs(random()) % 16384, i)),
                 p, 'workshop', 'tpid:' || i, 'rejected', 1, 1, lapse_at, 3,
                 lapse_at, 1, 0, 0, 0, lapse_at, attention, '{}'
             FROM r",
            params![rows, NOW, UNTIL],
        )
        .unwrap();
        conn.execute_batch("ANALYZE").unwrap();
        conn
    }

    /// The virtual machine instructions `sql` ran since its counter was
    /// last reset, and resets it.
    fn ran(conn: &Connection, sql: &str) -> i32 {
        let stmt = conn.prepare_cached(sql).unwrap();
        let steps = stmt.get_status(StatementStatus::VmStep);
        stmt.reset_status(StatementStatus::VmStep);
        steps
    }

    /// How many rows the list finds with `limit`, whether more follow,
    /// and how many instructions its statement ran.
    fn read(conn: &Connection, limit: usize) -> (usize, bool, i32) {
        ran(conn, ATTENTION);
        let query = AttentionQuery {
            partner: mci_testkit::partner(1),
            now: columns::instant_at(NOW).unwrap(),
            until: columns::instant_at(UNTIL).unwrap(),
            limit,
        };
        let answer = candidates(conn, &Query::of(&query)).unwrap();
        (
            answer.rows.len() + answer.unreadable.len(),
            answer.more,
            ran(conn, ATTENTION),
        )
    }

    #[test]
    fn r_list_3_the_list_costs_the_same_at_a_thousand_and_a_hundred_thousand_nominations() {
        let (small, large) = (world(1_000), world(100_000));
        let (found, more, small_cost) = read(&small, 10);
        assert_eq!((found, more), (10, true));
        let (found, more, large_cost) = read(&large, 10);
        assert_eq!((found, more), (10, true));
        assert!(small_cost > 0);
        assert_eq!(small_cost, large_cost, "the list reads no more at 100,000");
        // The measure sees a walk: the partner's lapses within the window
        // walked and filtered by class, as a read of its lapses would be,
        // grows with the partner.
        let walk = "SELECT count(*) FROM nominations INDEXED BY nominations_lapsing \
                    WHERE partner = 'p1' AND lapse_at > ?1 AND lapse_at <= ?2 \
                    AND attention IS NOT NULL";
        let walked = |conn: &Connection| {
            ran(conn, walk);
            conn.prepare_cached(walk)
                .unwrap()
                .query_row(params![NOW, UNTIL], |r| r.get::<_, i64>(0))
                .unwrap();
            ran(conn, walk)
        };
        assert!(walked(&large) > 50 * walked(&small));
        // And the list reads as much more as it is long.
        let (found, _, longer) = read(&large, 40);
        assert!(found > 10 && longer > large_cost, "{found} rows, {longer}");
    }
}
