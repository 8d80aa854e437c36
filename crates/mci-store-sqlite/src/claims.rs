//! The Claims page (R-LIST-1): one statement per page, each arm an index
//! walk.
//!
//! A page is the walk of the list's own index (schema version 11,
//! `claims_*`) newest first from the cursor, passing over the rows lapsed
//! at `now` from the index alone where a lapse changes a row's state or
//! order, merged by SQLite (`MERGE (UNION ALL)`) with the rows whose lapse
//! has come and was not swept yet, found by a lapse index and sorted (the
//! sweep keeps them few). The merge stops at the walk's limit: the page's
//! limit, or the search's bound; a search's rows are read one at a time and
//! the walk stops as soon as its page is full. The created order with no state has no
//! second arm: a lapse changes neither. The counts read the kept counters
//! and correct them by the unswept lapses. The plans are checked by the
//! tests below with `EXPLAIN QUERY PLAN`, for every combination.

use crate::columns;
use crate::error::sqlite;
use crate::queries::readable;
use mci_core::{ClaimsOrder, Nomination, State};
use mci_store::{ClaimCounts, ClaimsCursor, ClaimsPage, ClaimsQuery, ClaimsScope, StoreError};
use rusqlite::{Connection, ToSql};

/// What a page's statement depends on: which list, and whether it starts
/// after a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) reviewer: bool,
    pub(crate) engagement: bool,
    pub(crate) state: bool,
    pub(crate) order: ClaimsOrder,
    pub(crate) cursor: bool,
}

impl Shape {
    pub(crate) fn of(query: &ClaimsQuery) -> Self {
        Self {
            reviewer: query.scope == ClaimsScope::Reviewer,
            engagement: query.engagement.is_some(),
            state: query.state.is_some(),
            order: query.order,
            cursor: query.after.is_some(),
        }
    }

    /// Every shape: 32 statements.
    #[cfg(test)]
    pub(crate) fn all() -> Vec<Self> {
        let mut all = Vec::new();
        for reviewer in [false, true] {
            for engagement in [false, true] {
                for state in [false, true] {
                    for order in ClaimsOrder::ALL {
                        for cursor in [false, true] {
                            all.push(Self {
                                reviewer,
                                engagement,
                                state,
                                order,
                                cursor,
                            });
                        }
                    }
                }
            }
        }
        all
    }

    /// Whether a lapse changes a row's place on the list: with a state
    /// (it changes the state) or by last change (it is a change).
    fn lapses_count(&self) -> bool {
        self.state || self.order == ClaimsOrder::Changed
    }

    /// The index the first arm walks.
    pub(crate) fn index(&self) -> String {
        format!(
            "claims_{}{}{}{}",
            if self.reviewer { "reviewer_" } else { "" },
            if self.engagement { "engagement_" } else { "" },
            if self.state { "state_" } else { "" },
            match self.order {
                ClaimsOrder::Created => "created",
                ClaimsOrder::Changed => "changed",
            }
        )
    }

    /// The index the arm of the unswept lapses ranges over.
    pub(crate) fn lapse_index(&self) -> &'static str {
        match (self.reviewer, self.engagement, self.state) {
            (false, false, false) => "nominations_lapsing",
            (false, true, false) => "nominations_lapse",
            (false, false, true) => "claims_state_lapse",
            (false, true, true) => "claims_engagement_state_lapse",
            (true, false, false) => "claims_reviewer_lapse",
            (true, true, false) => "claims_reviewer_engagement_lapse",
            (true, false, true) => "claims_reviewer_state_lapse",
            (true, true, true) => "claims_reviewer_engagement_state_lapse",
        }
    }

    fn scope(&self) -> &'static str {
        if self.reviewer {
            "reviewable = 1"
        } else {
            "partner = :partner"
        }
    }

    /// The page's statement.
    pub(crate) fn sql(&self) -> String {
        let key = match self.order {
            ClaimsOrder::Created => "created_at",
            ClaimsOrder::Changed => "changed_at",
        };
        // Each arm names its index: a planner without statistics, or with
        // misleading ones, must not walk another list and filter it.
        let mut stored = format!(
            "SELECT id, {key} AS k, doc FROM nominations INDEXED BY {} WHERE {}",
            self.index(),
            self.scope()
        );
        if self.engagement {
            stored.push_str(" AND engagement = :engagement");
        }
        if self.state {
            stored.push_str(" AND state = :state");
        }
        if self.cursor {
            stored.push_str(&format!(" AND ({key}, id) < (:at, :id)"));
        }
        if !self.lapses_count() {
            return format!("{stored} ORDER BY {key} DESC, id DESC LIMIT :limit");
        }
        stored.push_str(" AND (lapse_at IS NULL OR lapse_at > :now)");
        // A lapse not swept is a change at its deadline.
        let lapsed_key = match self.order {
            ClaimsOrder::Created => "created_at",
            ClaimsOrder::Changed => "lapse_at",
        };
        let mut lapsed = format!(
            "SELECT id, {lapsed_key} AS k, doc FROM nominations INDEXED BY {} WHERE {}",
            self.lapse_index(),
            self.scope()
        );
        if self.engagement {
            lapsed.push_str(" AND engagement = :engagement");
        }
        if self.state {
            lapsed.push_str(" AND state_after = :state");
        }
        lapsed.push_str(" AND lapse_at <= :now");
        if self.cursor {
            lapsed.push_str(&format!(" AND ({lapsed_key}, id) < (:at, :id)"));
        }
        format!("{stored} UNION ALL {lapsed} ORDER BY 2 DESC, 1 DESC LIMIT :limit")
    }
}

/// The values a page's statement binds, by name.
struct Bound {
    partner: Option<String>,
    engagement: Option<String>,
    state: Option<String>,
    now: i64,
    at: i64,
    id: [u8; 16],
    limit: i64,
}

impl Bound {
    fn of(query: &ClaimsQuery) -> Result<Self, StoreError> {
        Ok(Self {
            partner: query.scope.partner().map(|p| p.as_str().to_owned()),
            engagement: query.engagement.as_ref().map(|e| e.as_str().to_owned()),
            state: query.state.map(columns::state).transpose()?,
            now: columns::bound(query.now),
            at: query.after.map_or(0, |c| columns::instant(c.at)),
            id: query.after.map(|c| columns::id(&c.id)).unwrap_or_default(),
            limit: columns::limit(query.walk_limit()),
        })
    }

    /// The parameters of `sql`, each once, by name.
    fn params<'a>(&'a self, sql: &str) -> Vec<(&'static str, &'a dyn ToSql)> {
        let mut params: Vec<(&'static str, &'a dyn ToSql)> = Vec::new();
        let mut bind = |name: &'static str, value: &'a dyn ToSql| {
            if sql.contains(name) {
                params.push((name, value));
            }
        };
        if let Some(partner) = &self.partner {
            bind(":partner", partner);
        }
        if let Some(engagement) = &self.engagement {
            bind(":engagement", engagement);
        }
        if let Some(state) = &self.state {
            bind(":state", state);
        }
        bind(":now", &self.now);
        bind(":at", &self.at);
        bind(":id", &self.id);
        bind(":limit", &self.limit);
        params
    }
}

/// One page of the Claims page: one statement, so one snapshot, each
/// document decoded from SQLite's own buffer as the page asks for its row,
/// so that a search whose page is full stops the walk there instead of
/// reading and decoding the rest of its bound.
pub(crate) fn page(conn: &Connection, query: &ClaimsQuery) -> Result<ClaimsPage, StoreError> {
    let sql = Shape::of(query).sql();
    let bound = Bound::of(query)?;
    let params = bound.params(&sql);
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite)?;
    let mut rows = stmt.query(params.as_slice()).map_err(sqlite)?;
    let mut failed = None;
    let walked = std::iter::from_fn(|| match walked_row(&mut rows) {
        Ok(row) => row,
        Err(error) => {
            failed = Some(error);
            None
        }
    });
    let page = ClaimsPage::scanned(query, walked);
    match failed {
        Some(error) => Err(error),
        None => Ok(page),
    }
}

/// A row of a page's walk: its cursor, and its document read back or why
/// it cannot be.
type Walked = (ClaimsCursor, Result<Nomination, String>);

/// The next row of a page's walk, or `None` at its end.
fn walked_row(rows: &mut rusqlite::Rows<'_>) -> Result<Option<Walked>, StoreError> {
    let Some(row) = rows.next().map_err(sqlite)? else {
        return Ok(None);
    };
    let id = row
        .get_ref(0)
        .and_then(|v| Ok(v.as_blob()?))
        .map_err(sqlite)?;
    let at: i64 = row.get(1).map_err(sqlite)?;
    let doc = row
        .get_ref(2)
        .and_then(|v| Ok(v.as_str()?))
        .map_err(sqlite)?;
    let cursor = ClaimsCursor {
        at: columns::instant_at(at)?,
        id: columns::nomination_id(id)?,
    };
    Ok(Some((cursor, readable(doc))))
}

/// A partner's kept counts, per (engagement and) stored state.
pub const PARTNER_COUNTS: &str = "SELECT state, n FROM claim_counts WHERE partner = ?1";
/// The same, of one engagement.
pub(crate) const PARTNER_ENGAGEMENT_COUNTS: &str =
    "SELECT state, n FROM claim_counts WHERE partner = ?1 AND engagement = ?2";
/// Every partner's kept counts of one stored state.
pub(crate) const STATE_COUNTS: &str = "SELECT state, n FROM claim_counts WHERE state = ?1";
/// The same, of one engagement.
pub(crate) const STATE_ENGAGEMENT_COUNTS: &str =
    "SELECT state, n FROM claim_counts WHERE state = ?1 AND engagement = ?2";
/// A partner's lapses at or before ?2 not yet swept.
pub const PARTNER_LAPSES: &str = "SELECT state, state_after FROM nominations \
     WHERE partner = ?1 AND lapse_at <= ?2";
/// The same, of engagement ?2, at or before ?3.
pub(crate) const PARTNER_ENGAGEMENT_LAPSES: &str = "SELECT state, state_after FROM nominations \
     WHERE partner = ?1 AND engagement = ?2 AND lapse_at <= ?3";
/// The submitted claims' lapses at or before ?1 not yet swept.
pub(crate) const REVIEWER_LAPSES: &str = "SELECT state, state_after FROM nominations \
     WHERE reviewable = 1 AND lapse_at <= ?1";
/// The same, of engagement ?1, at or before ?2.
pub(crate) const REVIEWER_ENGAGEMENT_LAPSES: &str = "SELECT state, state_after FROM nominations \
     WHERE reviewable = 1 AND engagement = ?1 AND lapse_at <= ?2";

/// Every pair of texts `sql` finds with `params`.
fn texts(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
) -> Result<Vec<(String, Option<String>)>, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| {
            stmt.query_map(params, |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(sqlite)
}

/// The counts of each state of a Claims page at `now` (R-LIST-1): the kept
/// counters (a partner's, or for the reviewer every partner's of each
/// submitted state), each unswept lapse moved from its state to the state it
/// lapses into. Index walks only; run in one read transaction.
pub(crate) fn counts(
    conn: &Connection,
    scope: &ClaimsScope,
    engagement: Option<&str>,
    now: i64,
) -> Result<ClaimCounts, StoreError> {
    let mut counts = ClaimCounts::default();
    let mut add = |rows: Vec<(String, i64)>| -> Result<(), StoreError> {
        for (state, n) in rows {
            counts.add(columns::state_of(&state)?, u64::try_from(n).unwrap_or(0));
        }
        Ok(())
    };
    let numbers = |sql: &str, params: &[&dyn ToSql]| -> Result<Vec<(String, i64)>, StoreError> {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| {
                stmt.query_map(params, |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(sqlite)
    };
    let partner = scope.partner().map(|p| p.as_str().to_owned());
    match (&partner, engagement) {
        (Some(partner), None) => add(numbers(PARTNER_COUNTS, &[partner])?)?,
        (Some(partner), Some(engagement)) => {
            add(numbers(PARTNER_ENGAGEMENT_COUNTS, &[partner, &engagement])?)?;
        }
        (None, engagement) => {
            for state in State::ALL.into_iter().filter(|s| s.is_reviewable()) {
                let state = columns::state(state)?;
                match engagement {
                    None => add(numbers(STATE_COUNTS, &[&state])?)?,
                    Some(engagement) => {
                        add(numbers(STATE_ENGAGEMENT_COUNTS, &[&state, &engagement])?)?;
                    }
                }
            }
        }
    }
    let lapses = match (&partner, engagement) {
        (Some(partner), None) => texts(conn, PARTNER_LAPSES, &[partner, &now])?,
        (Some(partner), Some(engagement)) => texts(
            conn,
            PARTNER_ENGAGEMENT_LAPSES,
            &[partner, &engagement, &now],
        )?,
        (None, None) => texts(conn, REVIEWER_LAPSES, &[&now])?,
        (None, Some(engagement)) => texts(conn, REVIEWER_ENGAGEMENT_LAPSES, &[&engagement, &now])?,
    };
    for (from, to) in lapses {
        if let Some(to) = to {
            counts.lapse(columns::state_of(&from)?, columns::state_of(&to)?);
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod plans {
    //! `EXPLAIN QUERY PLAN` of every list of the Claims page and of its
    //! counts: each walks its own index newest first with no sort; only
    //! the arm of the unswept lapses sorts, and it holds no more rows than
    //! there are lapses the sweep has not written.

    use super::*;
    use crate::queries::plans::plan;
    use crate::schema::{SCHEMA_VERSION, in_memory};

    /// Rows of three partners, two engagements and several states, a
    /// quarter of them submitted, then statistics, which are what could
    /// make SQLite prefer another index or a scan.
    fn fill_and_analyze(conn: &Connection) {
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
             INSERT INTO nominations (id, partner, engagement, customer, state, version, tab,
                 lapse_at, tab_after, wake_at, live, holds_consent, completed, asking,
                 standing_until, created_at, changed_at, state_after, reviewable, doc)
             SELECT randomblob(16), 'p' || (i % 3), 'e' || (i % 2), 'tpid:' || i,
                 CASE i % 4 WHEN 0 THEN 'submitted' WHEN 1 THEN 'consented'
                     ELSE 'awaiting_consent' END,
                 1, 1, i, 3, i, 1, 0, 0, 0, i, i, i + 7,
                 CASE i % 4 WHEN 0 THEN 'post_submission_expired'
                     WHEN 1 THEN 'not_submitted_expired' ELSE 'consent_expired' END,
                 i % 4 = 0, '{}'
             FROM n;
             ANALYZE;",
        )
        .unwrap();
    }

    /// Asserts that the plan of `shape` walks its own index in its first
    /// arm, and that nothing else scans a table or sorts but the arm of
    /// the unswept lapses.
    fn assert_walks_its_index(conn: &Connection, shape: Shape) {
        let plan = plan(conn, &shape.sql());
        let index = shape.index();
        let walks = |step: &str| {
            (step.starts_with("SEARCH nominations USING INDEX ")
                || step.starts_with("SCAN nominations USING INDEX "))
                && step
                    .split(' ')
                    .nth(4)
                    .is_some_and(|name| name == index.as_str())
        };
        if shape.lapses_count() {
            assert_eq!(plan.len().min(4), 4, "{shape:?}: {plan:?}");
            assert_eq!(plan[0], "MERGE (UNION ALL)", "{shape:?}: {plan:?}");
            assert_eq!(plan[1], "LEFT", "{shape:?}: {plan:?}");
            assert!(walks(&plan[2]), "{shape:?} walks {index}: {plan:?}");
            assert_eq!(plan[3], "RIGHT", "{shape:?}: {plan:?}");
            let lapsed = &plan[4..];
            let lapse_index = format!("SEARCH nominations USING INDEX {} (", shape.lapse_index());
            assert!(
                lapsed.first().is_some_and(
                    |step| step.starts_with(&lapse_index) && step.contains("lapse_at<?")
                ),
                "{shape:?}: the lapsed arm ranges a lapse index: {plan:?}"
            );
            assert!(lapsed.len() <= 2, "{shape:?}: {plan:?}");
        } else {
            assert_eq!(plan.len(), 1, "{shape:?}: {plan:?}");
            assert!(walks(&plan[0]), "{shape:?} walks {index}: {plan:?}");
        }
    }

    #[test]
    fn r_list_1_every_list_walks_its_own_index_newest_first() {
        let conn = in_memory(SCHEMA_VERSION);
        for shape in Shape::all() {
            assert_walks_its_index(&conn, shape);
        }
        fill_and_analyze(&conn);
        for shape in Shape::all() {
            assert_walks_its_index(&conn, shape);
        }
    }

    #[test]
    fn r_list_1_the_counts_read_counters_and_unswept_lapses_by_index() {
        let conn = in_memory(SCHEMA_VERSION);
        let all = [
            PARTNER_COUNTS,
            PARTNER_ENGAGEMENT_COUNTS,
            STATE_COUNTS,
            STATE_ENGAGEMENT_COUNTS,
            PARTNER_LAPSES,
            PARTNER_ENGAGEMENT_LAPSES,
            REVIEWER_LAPSES,
            REVIEWER_ENGAGEMENT_LAPSES,
        ];
        for round in 0..2 {
            if round == 1 {
                fill_and_analyze(&conn);
            }
            for sql in all {
                crate::queries::plans::assert_index_walk(&conn, sql, sql);
            }
        }
    }
}
