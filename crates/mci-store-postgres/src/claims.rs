//! The Claims page (R-LIST-1): the statements of the SQLite store's, in
//! PostgreSQL's dialect.
//!
//! A page is one statement of up to two arms, each a walk of its index
//! newest first with its own limit, merged in order (a `Merge Append`): the
//! list's own index (schema version 8, `claims_*`) from the cursor,
//! passing over the rows lapsed at `now` from the index alone, and, where
//! a lapse changes a row's state or order, the lapses not yet swept (the
//! sweep keeps them few). The counts read the kept counters and correct
//! them by the unswept lapses. The plans are checked in `src/plans.rs`.

use crate::columns;
use crate::db::{Failure, rows};
use deadpool_postgres::GenericClient;
use mci_core::{ClaimsOrder, Nomination, State};
use mci_store::{ClaimCounts, ClaimsCursor, ClaimsPage, ClaimsQuery, ClaimsScope, Unreadable};
use tokio_postgres::types::ToSql;

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

/// The names of a statement's parameters, in the order they are numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    Partner,
    Engagement,
    State,
    Now,
    At,
    Id,
    Limit,
}

impl Param {
    /// The parameter's name, as the benchmarks bind it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Param::Partner => "partner",
            Param::Engagement => "engagement",
            Param::State => "state",
            Param::Now => "now",
            Param::At => "at",
            Param::Id => "id",
            Param::Limit => "limit",
        }
    }
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

    /// Whether a lapse changes a row's place on the list.
    pub(crate) fn lapses_count(&self) -> bool {
        self.state || self.order == ClaimsOrder::Changed
    }

    /// The index the stored arm walks.
    #[cfg(test)]
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

    /// The index the arm of the unswept lapses walks.
    #[cfg(test)]
    pub(crate) fn lapse_index(&self) -> String {
        match (self.reviewer, self.engagement, self.state) {
            (false, false, false) => "nominations_lapsing".to_owned(),
            (false, true, false) => "nominations_lapse".to_owned(),
            _ => format!(
                "claims_{}{}{}lapse",
                if self.reviewer { "reviewer_" } else { "" },
                if self.engagement { "engagement_" } else { "" },
                if self.state { "state_" } else { "" },
            ),
        }
    }

    /// The page's statement and the parameters it numbers, in order.
    ///
    /// Each arm fixes the columns of its index before the order key with
    /// `=`, but the last, which it bounds from both sides and orders by
    /// (a row comparison with the cursor): PostgreSQL drops a column fixed
    /// by `=` from the order, and any index ending in the order key would
    /// then yield it, filtering the rows of other lists (see the module
    /// documentation of `crate::queries`). Each arm selects that column, so
    /// that the two are merged in one order.
    pub(crate) fn sql(&self) -> (String, Vec<Param>) {
        let mut params: Vec<Param> = Vec::new();
        let mut p = |param: Param| -> String {
            let at = match params.iter().position(|p| *p == param) {
                Some(at) => at,
                None => {
                    params.push(param);
                    params.len() - 1
                }
            };
            format!("${}", at + 1)
        };
        let key = match self.order {
            ClaimsOrder::Created => "created_at",
            ClaimsOrder::Changed => "changed_at",
        };
        let limit = p(Param::Limit);
        let mut fixed: Vec<(&str, String)> = Vec::new();
        if !self.reviewer {
            fixed.push(("partner", p(Param::Partner)));
        }
        if self.engagement {
            fixed.push(("engagement", p(Param::Engagement)));
        }
        let state = self.state.then(|| p(Param::State));
        let cursor = self.cursor.then(|| (p(Param::At), p(Param::Id)));
        let now = self.lapses_count().then(|| p(Param::Now));
        let arm = |fixed: &[(&str, String)], key: &str, lapsed: Option<&str>| -> String {
            let mut terms: Vec<String> = Vec::new();
            if self.reviewer {
                terms.push("reviewable".to_owned());
            }
            let (last, rest) = match fixed.split_last() {
                Some((last, rest)) => (Some(last), rest),
                None => (None, fixed),
            };
            for (column, value) in rest {
                terms.push(format!("{column} = {value}"));
            }
            let mut order = String::new();
            let mut lead = "NULL::text".to_owned();
            match (last, &cursor) {
                (Some((column, value)), Some((at, id))) => {
                    // The walk starts at the cursor and stays in the
                    // column's value; PostgreSQL estimates a row comparison
                    // by its first column, so `<=` (which keeps the cursor's
                    // own row) estimates the range as it is, and the second
                    // comparison, on the order key alone, leaves that row out.
                    terms.push(format!("{column} >= {value}"));
                    terms.push(format!("({column}, {key}, id) <= ({value}, {at}, {id})"));
                    terms.push(format!("({key}, id) < ({at}, {id})"));
                    order.push_str(&format!("{column} DESC, "));
                    lead = (*column).to_owned();
                }
                (Some((column, value)), None) => {
                    terms.push(format!("{column} >= {value}"));
                    terms.push(format!("{column} <= {value}"));
                    order.push_str(&format!("{column} DESC, "));
                    lead = (*column).to_owned();
                }
                (None, Some((at, id))) => {
                    terms.push(format!("({key}, id) < ({at}, {id})"));
                    terms.push(format!("{key} <= {at}"));
                }
                (None, None) => {}
            }
            match (lapsed, &now) {
                (Some(_), Some(now)) => {
                    if let Some((column, value)) = last {
                        terms.push(format!("({column}, lapse_at) <= ({value}, {now})"));
                    }
                    terms.push(format!("lapse_at <= {now}"));
                }
                (None, Some(now)) => terms.push(format!("(lapse_at IS NULL OR lapse_at > {now})")),
                _ => {}
            }
            format!(
                "SELECT {lead} AS l, id, {key} AS k, doc FROM nominations WHERE {} \
                 ORDER BY {order}{key} DESC, id DESC LIMIT {limit}",
                terms.join(" AND ")
            )
        };
        let mut stored_fixed = fixed.clone();
        if let Some(state) = &state {
            stored_fixed.push(("state", state.clone()));
        }
        let stored = arm(&stored_fixed, key, None);
        if !self.lapses_count() {
            return (format!("SELECT id, k, doc FROM ({stored}) AS page"), params);
        }
        let lapsed_key = match self.order {
            ClaimsOrder::Created => "created_at",
            ClaimsOrder::Changed => "lapse_at",
        };
        let mut lapsed_fixed = fixed;
        if let Some(state) = &state {
            lapsed_fixed.push(("state_after", state.clone()));
        }
        let lapsed = arm(&lapsed_fixed, lapsed_key, Some(lapsed_key));
        // Without a column before the order key, the arms are in (k, id)
        // order alone.
        let lead = if self.reviewer && !self.engagement && !self.state {
            ""
        } else {
            "l DESC, "
        };
        let sql = format!(
            "SELECT id, k, doc FROM (({stored}) UNION ALL ({lapsed})) AS page \
             ORDER BY {lead}k DESC, id DESC LIMIT {limit}"
        );
        (sql, params)
    }
}

/// The planner settings a Claims page is read with, in its own
/// transaction: no incremental sort. A list's index and the index of the
/// same scope in the other order share the columns before the order key,
/// and with an incremental sort PostgreSQL may walk the other one from the
/// cursor and sort each of its groups, reading the rest of the scope's
/// rows; without it, only the list's own index gives the order, and a sort
/// of a whole range costs what it does.
pub const PAGE_SETTINGS: &str = "SET LOCAL enable_incremental_sort = off";

/// One page of the Claims page: one statement, so one snapshot.
pub(crate) async fn page(
    client: &impl GenericClient,
    query: &ClaimsQuery,
) -> Result<ClaimsPage, Failure> {
    let (sql, names) = Shape::of(query).sql();
    let partner = query.scope.partner().map(|p| p.as_str().to_owned());
    let engagement = query.engagement.as_ref().map(|e| e.as_str().to_owned());
    let state = query.state.map(columns::state).transpose()?;
    let now = columns::bound(query.now);
    let at = query.after.map_or(0, |c| columns::instant(c.at));
    let id = query.after.map(|c| columns::id(&c.id)).unwrap_or_default();
    let limit = columns::limit(query.walk_limit());
    let params: Vec<&(dyn ToSql + Sync)> = names
        .iter()
        .map(|name| -> &(dyn ToSql + Sync) {
            match name {
                Param::Partner => &partner,
                Param::Engagement => &engagement,
                Param::State => &state,
                Param::Now => &now,
                Param::At => &at,
                Param::Id => &id,
                Param::Limit => &limit,
            }
        })
        .collect();
    let found = rows(client, &sql, &params).await?;
    // Each document is decoded as the page asks for its row: a search whose
    // page is full decodes no more of its bound.
    let mut failed = None;
    let walked = found.iter().map_while(|row| match walked_row(row) {
        Ok(walked) => Some(walked),
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
fn walked_row(
    row: &tokio_postgres::Row,
) -> Result<(ClaimsCursor, Result<Nomination, String>), Failure> {
    let cursor = ClaimsCursor {
        at: columns::instant_at(row.try_get(1)?)?,
        id: columns::nomination_id(row.try_get(0)?)?,
    };
    let doc: &str = row.try_get(2)?;
    Ok((cursor, readable(doc)))
}

/// A stored nomination read back, or why it cannot be.
fn readable(doc: &str) -> Result<Nomination, String> {
    serde_json::from_str(doc).map_err(|e| Unreadable::json_reason(&e))
}

/// A partner's kept counts, per engagement and stored state.
pub const PARTNER_COUNTS: &str = "SELECT state, n FROM claim_counts WHERE partner = $1";
/// The same, of one engagement.
pub(crate) const PARTNER_ENGAGEMENT_COUNTS: &str =
    "SELECT state, n FROM claim_counts WHERE partner = $1 AND engagement = $2";
/// Every partner's kept counts of one stored state.
pub(crate) const STATE_COUNTS: &str = "SELECT state, n FROM claim_counts WHERE state = $1";
/// The same, of one engagement.
pub(crate) const STATE_ENGAGEMENT_COUNTS: &str =
    "SELECT state, n FROM claim_counts WHERE state = $1 AND engagement = $2";
/// A partner's lapses at or before $2 not yet swept.
pub const PARTNER_LAPSES: &str =
    "SELECT state, state_after FROM nominations WHERE partner = $1 AND lapse_at <= $2";
/// The same, of engagement $2, at or before $3.
pub(crate) const PARTNER_ENGAGEMENT_LAPSES: &str = "SELECT state, state_after FROM nominations \
     WHERE partner = $1 AND engagement = $2 AND lapse_at <= $3";
/// The submitted claims' lapses at or before $1 not yet swept.
pub(crate) const REVIEWER_LAPSES: &str =
    "SELECT state, state_after FROM nominations WHERE reviewable AND lapse_at <= $1";
/// The same, of engagement $1, at or before $2.
pub(crate) const REVIEWER_ENGAGEMENT_LAPSES: &str = "SELECT state, state_after FROM nominations \
     WHERE reviewable AND engagement = $1 AND lapse_at <= $2";

/// The counts of each state of a Claims page at `now` (R-LIST-1): the kept
/// counters (a partner's, or for the reviewer every partner's of each
/// submitted state), each unswept lapse moved from its state to the state
/// it lapses into. The caller runs it in one snapshot.
pub(crate) async fn counts(
    client: &impl GenericClient,
    scope: &ClaimsScope,
    engagement: Option<&str>,
    now: i64,
) -> Result<ClaimCounts, Failure> {
    let mut counts = ClaimCounts::default();
    let partner = scope.partner().map(|p| p.as_str().to_owned());
    let mut kept = Vec::new();
    match (&partner, engagement) {
        (Some(partner), None) => kept.extend(rows(client, PARTNER_COUNTS, &[partner]).await?),
        (Some(partner), Some(engagement)) => {
            kept.extend(rows(client, PARTNER_ENGAGEMENT_COUNTS, &[partner, &engagement]).await?)
        }
        (None, engagement) => {
            for state in State::ALL.into_iter().filter(|s| s.is_reviewable()) {
                let state = columns::state(state)?;
                kept.extend(match engagement {
                    None => rows(client, STATE_COUNTS, &[&state]).await?,
                    Some(engagement) => {
                        rows(client, STATE_ENGAGEMENT_COUNTS, &[&state, &engagement]).await?
                    }
                });
            }
        }
    }
    for row in kept {
        let (state, n): (&str, i64) = (row.try_get(0)?, row.try_get(1)?);
        counts.add(columns::state_of(state)?, u64::try_from(n).unwrap_or(0));
    }
    let lapses = match (&partner, engagement) {
        (Some(partner), None) => rows(client, PARTNER_LAPSES, &[partner, &now]).await?,
        (Some(partner), Some(engagement)) => {
            rows(
                client,
                PARTNER_ENGAGEMENT_LAPSES,
                &[partner, &engagement, &now],
            )
            .await?
        }
        (None, None) => rows(client, REVIEWER_LAPSES, &[&now]).await?,
        (None, Some(engagement)) => {
            rows(client, REVIEWER_ENGAGEMENT_LAPSES, &[&engagement, &now]).await?
        }
    };
    for row in lapses {
        let (from, to): (&str, Option<&str>) = (row.try_get(0)?, row.try_get(1)?);
        if let Some(to) = to {
            counts.lapse(columns::state_of(from)?, columns::state_of(to)?);
        }
    }
    Ok(counts)
}
