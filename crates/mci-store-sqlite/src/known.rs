//! The known rows: one per partner, engagement and known customer, with the
//! kept answer of the eligibility port and the placement the core derives
//! from it, and the figures of each partner's engagement (`mci_store`
//! "Known customers", R-PAGE-2, R-PAGE-4, R-PAGE-9).
//!
//! The writer keeps them in the transaction of each change
//! ([`crate::commit`]): a row is placed with [`known_placement`] from its
//! answer and the standings of the nominations of its engagement and
//! customer, read from the standing columns the guards count; and each
//! change of a row moves the figures by the difference between the row's
//! old contribution and its new one. Reads compare instants only:
//!
//! - a tab at `now` is the rows kept in it whose placement holds at `now`
//!   (`known_rows_tab`, in customer order from the cursor, at most a page),
//!   merged in customer order with the rows of the partner's engagement
//!   whose placement stopped holding (`changes_at <= now`,
//!   `known_rows_changing`), placed again at `now`, that land on the tab;
//! - the counts are the figures corrected by those same rows, and the age
//!   of the answers the first entry of `known_rows_oldest_answer` whose
//!   placement holds, or a row placed again, whichever is older;
//! - what to ask again is a walk of `known_rows_to_check`: never asked
//!   (`checked_at IS NULL`) first, then the oldest answer.
//!
//! The rows whose placement stopped holding are the ones the sweep has not
//! caught up with (a lapse not written, an answer not asked again), which
//! it keeps few; no read walks a partner's known customers. The plans are
//! checked by the tests below with `EXPLAIN QUERY PLAN`.

use crate::columns::{self, document};
use crate::error::{BackendError, sqlite};
use mci_core::{
    EngagementId, Instant, KeptAnswer, KnownCustomer, KnownPlacement, Nomination, PartnerId,
    Standing, Tab, known_placement,
};
use mci_store::{KnownCounts, KnownEntry, KnownPage, KnownToCheck, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// The partner and standing columns of the nominations of (engagement,
/// customer): what the guards count, and what places a known row.
pub(crate) const STANDINGS: &str = "SELECT partner, live, holds_consent, completed, \
     asking, standing_until FROM nominations WHERE engagement = ?1 AND customer = ?2";

/// Every partner's row of (engagement, customer).
pub(crate) const ROWS_OF_CUSTOMER: &str = "SELECT partner, tab, checked, doc FROM known_rows \
     WHERE engagement = ?1 AND customer = ?2";

/// One row.
pub(crate) const ROW: &str = "SELECT tab, checked, doc FROM known_rows \
     WHERE partner = ?1 AND engagement = ?2 AND customer = ?3";

/// Whether a row exists.
pub(crate) const ROW_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM known_rows \
     WHERE partner = ?1 AND engagement = ?2 AND customer = ?3)";

const PUT_ROW: &str = "INSERT INTO known_rows \
     (partner, engagement, customer, tab, checked, changes_at, checked_at, doc) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
     ON CONFLICT (partner, engagement, customer) DO UPDATE SET \
     tab = excluded.tab, checked = excluded.checked, changes_at = excluded.changes_at, \
     checked_at = excluded.checked_at, doc = excluded.doc";

/// The figures moved by a row's change. An update first: an upsert would
/// check the insert's values (a negative step) before finding the row.
const MOVE_FIGURES: &str = "UPDATE known_figures SET eligible = eligible + ?3, \
     not_checked = not_checked + ?4, ineligible = ineligible + ?5 \
     WHERE partner = ?1 AND engagement = ?2";

const INSERT_FIGURES: &str = "INSERT INTO known_figures \
     (partner, engagement, eligible, not_checked, ineligible) VALUES (?1, ?2, ?3, ?4, ?5)";

/// The figures of a partner's engagement.
pub(crate) const FIGURES: &str = "SELECT eligible, not_checked, ineligible FROM known_figures \
     WHERE partner = ?1 AND engagement = ?2";

/// At most ?6 rows kept in tab ?3 after customer ?4 whose placement holds
/// at ?5, in customer order. The index is named: without statistics SQLite
/// would rather walk the primary key in customer order and pass over the
/// rows of the other tabs, which on a partner's Ineligible tab could be
/// nearly all of them.
pub(crate) const PAGE_KEPT: &str = "SELECT customer, doc FROM known_rows INDEXED BY known_rows_tab \
     WHERE partner = ?1 AND engagement = ?2 AND tab = ?3 AND customer > ?4 \
     AND (changes_at IS NULL OR changes_at > ?5) ORDER BY customer LIMIT ?6";

/// The rows of a partner's engagement whose placement stopped holding at
/// ?3: the ones a read places again.
pub(crate) const CHANGED: &str = "SELECT customer, tab, checked, doc FROM known_rows \
     WHERE partner = ?1 AND engagement = ?2 AND changes_at <= ?3";

/// The oldest answer behind a shown and checked row whose placement holds
/// at ?3: the first entry of the index that holds. Named, as SQLite would
/// otherwise walk the tabs' index and sort.
pub(crate) const OLDEST_KEPT: &str = "SELECT checked_at \
     FROM known_rows INDEXED BY known_rows_oldest_answer \
     WHERE partner = ?1 AND engagement = ?2 AND tab > 0 AND checked = 1 \
     AND (changes_at IS NULL OR changes_at > ?3) ORDER BY checked_at LIMIT 1";

/// At most ?2 rows never asked about or asked before ?1: never asked
/// first, then the oldest answer, each arm a walk of `known_rows_to_check`.
pub(crate) const TO_CHECK: &str = "SELECT checked_at, partner, engagement, customer, doc \
     FROM known_rows WHERE checked_at IS NULL \
     UNION ALL \
     SELECT checked_at, partner, engagement, customer, doc \
     FROM known_rows WHERE checked_at < ?1 \
     ORDER BY checked_at, partner, engagement, customer LIMIT ?2";

/// The engagements known rows are kept for: a few, one per engagement the
/// service serves.
pub(crate) const ENGAGEMENTS: &str = "SELECT engagement FROM known_engagements";

/// Takes an engagement on.
const REGISTER: &str = "INSERT INTO known_engagements (engagement) VALUES (?1) \
     ON CONFLICT (engagement) DO NOTHING";

/// How far the seeding of an engagement got.
pub(crate) const PROGRESS: &str = "SELECT after_partner, after_customer, done \
     FROM known_engagements WHERE engagement = ?1";

const SAVE_PROGRESS: &str = "UPDATE known_engagements \
     SET after_partner = ?2, after_customer = ?3, done = ?4 WHERE engagement = ?1";

/// At most ?3 known customers after (?1, ?2) in (partner, customer) order,
/// with the nomination each is known through. Every partner id is longer
/// than `''`, so `('', x'')` is before them all.
pub(crate) const KNOWN_AFTER: &str = "SELECT k.partner, k.customer, n.customer, n.doc \
     FROM known_customers AS k JOIN nominations AS n ON n.id = k.through \
     WHERE (k.partner, k.customer) > (?1, ?2) ORDER BY k.partner, k.customer LIMIT ?3";

/// The nomination a customer is known to a partner through.
pub(crate) const KNOWN_THROUGH: &str = "SELECT n.doc FROM known_customers AS k \
     JOIN nominations AS n ON n.id = k.through WHERE k.partner = ?1 AND k.customer = ?2";

/// What a row's document holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kept {
    known: KnownCustomer,
    answer: Option<KeptAnswer>,
    placement: KnownPlacement,
}

/// A row's key: partner, engagement, customer order key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key<'a> {
    pub(crate) partner: &'a str,
    pub(crate) engagement: &'a str,
    pub(crate) customer: &'a [u8],
}

/// A placement as its row's columns keep it: the tab's code, and checked.
type Placed = (i64, bool);

/// What a row adds to its figures: (eligible, not checked, ineligible).
fn contribution(tab: i64, checked: bool) -> [i64; 3] {
    match Tab::from_code(u8::try_from(tab).unwrap_or_default()) {
        Some(Tab::Eligible) => [1, i64::from(!checked), 0],
        Some(Tab::Ineligible) => [0, 0, 1],
        _ => [0; 3],
    }
}

fn placed(placement: &KnownPlacement) -> Placed {
    (columns::tab(placement.tab), placement.checked)
}

fn partner_id(text: &str) -> Result<PartnerId, StoreError> {
    text.parse()
        .map_err(|e: mci_core::InvalidValue| BackendError::Encoding(e.to_string()).into())
}

fn engagement_id(text: &str) -> Result<EngagementId, StoreError> {
    text.parse()
        .map_err(|e: mci_core::InvalidValue| BackendError::Encoding(e.to_string()).into())
}

/// The partner and standing of every nomination of (engagement,
/// customer), from the standing columns.
fn standings(
    conn: &Connection,
    engagement: &str,
    customer: &str,
) -> Result<Vec<(PartnerId, Standing)>, StoreError> {
    type Columns = (String, bool, bool, bool, bool, Option<i64>);
    let rows: Vec<Columns> = conn
        .prepare_cached(STANDINGS)
        .and_then(|mut stmt| {
            stmt.query_map(params![engagement, customer], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect()
        })
        .map_err(sqlite)?;
    rows.into_iter()
        .map(|(partner, live, holds_consent, completed, asking, until)| {
            Ok((
                partner_id(&partner)?,
                Standing {
                    live,
                    holds_consent,
                    completed,
                    asking,
                    until: until.map(columns::instant_at).transpose()?,
                },
            ))
        })
        .collect()
}

/// Moves the figures of a partner's engagement by `step`.
fn move_figures(conn: &Connection, key: Key<'_>, step: [i64; 3]) -> Result<(), StoreError> {
    if step == [0; 3] {
        return Ok(());
    }
    let [eligible, not_checked, ineligible] = step;
    let run = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| {
                stmt.execute(params![
                    key.partner,
                    key.engagement,
                    eligible,
                    not_checked,
                    ineligible
                ])
            })
            .map_err(sqlite)
    };
    if run(MOVE_FIGURES)? == 0 {
        run(INSERT_FIGURES)?;
    }
    Ok(())
}

/// Writes `kept` as the row of `key`, which was placed `old` (none when
/// it is new), and moves the figures by the difference.
fn put(
    conn: &Connection,
    key: Key<'_>,
    kept: &Kept,
    old: Option<Placed>,
) -> Result<(), StoreError> {
    let (tab, checked) = placed(&kept.placement);
    let doc = serde_json::to_string(kept).map_err(BackendError::Document)?;
    conn.prepare_cached(PUT_ROW)
        .and_then(|mut stmt| {
            stmt.execute(params![
                key.partner,
                key.engagement,
                key.customer,
                tab,
                checked,
                kept.placement.changes_at.map(columns::instant),
                kept.answer.as_ref().map(|a| columns::instant(a.checked_at)),
                doc
            ])
        })
        .map_err(sqlite)?;
    let new = contribution(tab, checked);
    let old = old.map_or([0; 3], |(tab, checked)| contribution(tab, checked));
    move_figures(
        conn,
        key,
        [new[0] - old[0], new[1] - old[1], new[2] - old[2]],
    )
}

/// The row of `key` as kept: its placement columns and its document.
fn row(conn: &Connection, key: Key<'_>) -> Result<Option<(Placed, Kept)>, StoreError> {
    let found: Option<(i64, bool, String)> = conn
        .prepare_cached(ROW)
        .and_then(|mut stmt| {
            stmt.query_row(params![key.partner, key.engagement, key.customer], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(sqlite)?;
    found
        .map(|(tab, checked, doc)| Ok(((tab, checked), document(&doc)?)))
        .transpose()
}

fn exists(conn: &Connection, key: Key<'_>) -> Result<bool, StoreError> {
    conn.prepare_cached(ROW_EXISTS)
        .and_then(|mut stmt| {
            stmt.query_row(params![key.partner, key.engagement, key.customer], |r| {
                r.get(0)
            })
        })
        .map_err(sqlite)
}

/// Places again at `now` every partner's row of `engagement` and the
/// customer of order key `customer` (displayed `customer_text`), after a
/// nomination of theirs was written with a new or changed standing.
pub(crate) fn restand(
    conn: &Connection,
    engagement: &str,
    customer: &[u8],
    customer_text: &str,
    now: Instant,
) -> Result<(), StoreError> {
    let rows: Vec<(String, i64, bool, String)> = conn
        .prepare_cached(ROWS_OF_CUSTOMER)
        .and_then(|mut stmt| {
            stmt.query_map(params![engagement, customer], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect()
        })
        .map_err(sqlite)?;
    if rows.is_empty() {
        return Ok(());
    }
    let standings = standings(conn, engagement, customer_text)?;
    for (partner, tab, checked, doc) in rows {
        let mut kept: Kept = document(&doc)?;
        let placement = known_placement(
            &partner_id(&partner)?,
            kept.answer.as_ref(),
            &standings,
            now,
        );
        if placement != kept.placement {
            kept.placement = placement;
            let key = Key {
                partner: &partner,
                engagement,
                customer,
            };
            put(conn, key, &kept, Some((tab, checked)))?;
        }
    }
    Ok(())
}

/// The engagements known rows are kept for.
fn engagements(conn: &Connection) -> Result<Vec<String>, StoreError> {
    conn.prepare_cached(ENGAGEMENTS)
        .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite)
}

/// Gives `known`, which just became known to `partner`, a row placed at
/// `now` without an answer on every engagement rows are kept for, where
/// it has none.
pub(crate) fn newly_known(
    conn: &Connection,
    partner: &PartnerId,
    customer: &[u8],
    known: &KnownCustomer,
    now: Instant,
) -> Result<(), StoreError> {
    let customer_text = known.customer.id().to_string();
    for engagement in engagements(conn)? {
        let key = Key {
            partner: partner.as_str(),
            engagement: &engagement,
            customer,
        };
        seed_row(conn, key, partner, &customer_text, known, now)?;
    }
    Ok(())
}

/// Creates the row of `key` placed at `now` without an answer, unless it
/// exists.
fn seed_row(
    conn: &Connection,
    key: Key<'_>,
    partner: &PartnerId,
    customer_text: &str,
    known: &KnownCustomer,
    now: Instant,
) -> Result<(), StoreError> {
    if exists(conn, key)? {
        return Ok(());
    }
    let standings = standings(conn, key.engagement, customer_text)?;
    let kept = Kept {
        known: known.clone(),
        answer: None,
        placement: known_placement(partner, None, &standings, now),
    };
    put(conn, key, &kept, None)
}

/// An answer of the eligibility port to keep, ready for the writer.
#[derive(Debug, Clone)]
pub(crate) struct AnswerRow {
    pub(crate) partner: PartnerId,
    pub(crate) engagement: String,
    pub(crate) customer: Vec<u8>,
    pub(crate) customer_text: String,
    pub(crate) answer: KeptAnswer,
}

impl AnswerRow {
    /// The row of `write`.
    pub(crate) fn of(write: &mci_store::AnswerWrite) -> Self {
        Self {
            partner: write.partner.clone(),
            engagement: write.engagement.as_str().to_owned(),
            customer: columns::customer_order(&write.customer),
            customer_text: write.customer.to_string(),
            answer: write.answer.clone(),
        }
    }
}

/// Keeps `answer` on its row, placed again at `now`, if its customer is
/// known to its partner; otherwise leaves everything as it is.
pub(crate) fn keep(conn: &Connection, answer: &AnswerRow, now: Instant) -> Result<(), StoreError> {
    let key = Key {
        partner: answer.partner.as_str(),
        engagement: &answer.engagement,
        customer: &answer.customer,
    };
    let (old, known) = match row(conn, key)? {
        Some((old, kept)) => (Some(old), kept.known),
        None => {
            let through: Option<String> = conn
                .prepare_cached(KNOWN_THROUGH)
                .and_then(|mut stmt| {
                    stmt.query_row(params![key.partner, key.customer], |r| r.get(0))
                        .optional()
                })
                .map_err(sqlite)?;
            let Some(doc) = through else {
                return Ok(());
            };
            let through: Nomination = document(&doc)?;
            (
                None,
                KnownCustomer {
                    customer: through.customer().clone(),
                    through: *through.id(),
                },
            )
        }
    };
    let standings = standings(conn, key.engagement, &answer.customer_text)?;
    let kept = Kept {
        known,
        placement: known_placement(&answer.partner, Some(&answer.answer), &standings, now),
        answer: Some(answer.answer.clone()),
    };
    put(conn, key, &kept, old)
}

/// Takes `engagement` on and gives up to `limit` more of the customers
/// known already a row placed at `now`, from where the last call stopped
/// ([`Store::seed_known`](mci_store::Store::seed_known)). A customer whose
/// nomination does not read back is passed over.
pub(crate) fn seed(
    conn: &Connection,
    engagement: &str,
    now: Instant,
    limit: usize,
) -> Result<bool, StoreError> {
    conn.prepare_cached(REGISTER)
        .and_then(|mut stmt| stmt.execute([engagement]))
        .map_err(sqlite)?;
    let (after_partner, after_customer, done): (Option<String>, Option<Vec<u8>>, bool) = conn
        .prepare_cached(PROGRESS)
        .and_then(|mut stmt| {
            stmt.query_row([engagement], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        })
        .map_err(sqlite)?;
    if done {
        return Ok(true);
    }
    let batch: Vec<(String, Vec<u8>, String, String)> = conn
        .prepare_cached(KNOWN_AFTER)
        .and_then(|mut stmt| {
            stmt.query_map(
                params![
                    after_partner.as_deref().unwrap_or_default(),
                    after_customer.as_deref().unwrap_or_default(),
                    columns::limit(limit)
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?
            .collect()
        })
        .map_err(sqlite)?;
    let done = batch.len() < limit;
    for (partner, customer, customer_text, doc) in &batch {
        let Ok(through) = document::<Nomination>(doc) else {
            continue;
        };
        let known = KnownCustomer {
            customer: through.customer().clone(),
            through: *through.id(),
        };
        let key = Key {
            partner,
            engagement,
            customer,
        };
        seed_row(conn, key, &partner_id(partner)?, customer_text, &known, now)?;
    }
    let (after_partner, after_customer) = match batch.last() {
        Some((partner, customer, _, _)) => (Some(partner.clone()), Some(customer.clone())),
        None => (after_partner, after_customer),
    };
    conn.prepare_cached(SAVE_PROGRESS)
        .and_then(|mut stmt| stmt.execute(params![engagement, after_partner, after_customer, done]))
        .map_err(sqlite)?;
    Ok(done)
}

/// What a page of known rows asks.
#[derive(Debug, Clone)]
pub(crate) struct PageQuery {
    pub(crate) partner: PartnerId,
    pub(crate) engagement: String,
    pub(crate) tab: Tab,
    pub(crate) now: Instant,
    /// The cursor's order key; empty for the first page.
    pub(crate) after: Vec<u8>,
    pub(crate) limit: usize,
}

/// A row whose placement stopped holding, placed again at `now`.
struct Changed {
    customer: Vec<u8>,
    old: Placed,
    kept: Kept,
    placement: KnownPlacement,
}

/// The rows of a partner's engagement whose placement no longer holds at
/// `now`, each placed again at `now`, in customer order.
fn changed(
    conn: &Connection,
    partner: &PartnerId,
    engagement: &str,
    now: Instant,
) -> Result<Vec<Changed>, StoreError> {
    let rows: Vec<(Vec<u8>, i64, bool, String)> = conn
        .prepare_cached(CHANGED)
        .and_then(|mut stmt| {
            stmt.query_map(
                params![partner.as_str(), engagement, columns::bound(now)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?
            .collect()
        })
        .map_err(sqlite)?;
    let mut changed = rows
        .into_iter()
        .map(|(customer, tab, checked, doc)| {
            let kept: Kept = document(&doc)?;
            let standings = standings(conn, engagement, &kept.known.customer.id().to_string())?;
            let placement = known_placement(partner, kept.answer.as_ref(), &standings, now);
            Ok(Changed {
                customer,
                old: (tab, checked),
                kept,
                placement,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    changed.sort_unstable_by(|a, b| a.customer.cmp(&b.customer));
    Ok(changed)
}

/// One page of known rows: the kept ones of the tab merged with the ones
/// placed again, in customer order. Run in one snapshot.
pub(crate) fn page(conn: &Connection, q: &PageQuery) -> Result<KnownPage, StoreError> {
    let kept: Vec<(Vec<u8>, String)> = conn
        .prepare_cached(PAGE_KEPT)
        .and_then(|mut stmt| {
            stmt.query_map(
                params![
                    q.partner.as_str(),
                    q.engagement,
                    columns::tab(Some(q.tab)),
                    q.after,
                    columns::bound(q.now),
                    columns::limit(q.limit)
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .collect()
        })
        .map_err(sqlite)?;
    let kept = kept
        .into_iter()
        .map(|(customer, doc)| {
            let kept: Kept = document(&doc)?;
            Ok((customer, kept.placement.clone(), kept))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let again = changed(conn, &q.partner, &q.engagement, q.now)?
        .into_iter()
        .filter(|c| c.placement.tab == Some(q.tab) && c.customer > q.after)
        .map(|c| (c.customer, c.placement, c.kept));
    let (mut a, mut b) = (kept.into_iter().peekable(), again.peekable());
    let mut rows = Vec::new();
    while rows.len() < q.limit {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.0 > y.0 => b.next(),
            (Some(_), _) => a.next(),
            (None, _) => b.next(),
        };
        let Some((_, placement, kept)) = next else {
            break;
        };
        rows.push(KnownEntry {
            known: kept.known,
            placement,
            answer: kept.answer,
        });
    }
    let next = (rows.len() == q.limit && q.limit > 0)
        .then(|| rows.last().map(|r| *r.known.customer.id()))
        .flatten();
    Ok(KnownPage { rows, next })
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The counts of a partner's engagement at `now`: the figures, corrected
/// by the rows placed again. Run in one snapshot.
pub(crate) fn counts(
    conn: &Connection,
    partner: &PartnerId,
    engagement: &str,
    now: Instant,
) -> Result<KnownCounts, StoreError> {
    let figures: Option<[i64; 3]> = conn
        .prepare_cached(FIGURES)
        .and_then(|mut stmt| {
            stmt.query_row(params![partner.as_str(), engagement], |r| {
                Ok([r.get(0)?, r.get(1)?, r.get(2)?])
            })
            .optional()
        })
        .map_err(sqlite)?;
    let mut figures = figures.unwrap_or_default();
    let mut oldest = None;
    for c in changed(conn, partner, engagement, now)? {
        let old = contribution(c.old.0, c.old.1);
        let (tab, checked) = placed(&c.placement);
        let new = contribution(tab, checked);
        for i in 0..3 {
            figures[i] += new[i] - old[i];
        }
        if c.placement.tab.is_some() && c.placement.checked {
            oldest = earliest(oldest, c.kept.answer.as_ref().map(|a| a.checked_at));
        }
    }
    let kept: Option<i64> = conn
        .prepare_cached(OLDEST_KEPT)
        .and_then(|mut stmt| {
            stmt.query_row(
                params![partner.as_str(), engagement, columns::bound(now)],
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(sqlite)?;
    let kept = kept.map(columns::instant_at).transpose()?;
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    Ok(KnownCounts {
        eligible: count(figures[0]),
        not_checked: count(figures[1]),
        ineligible: count(figures[2]),
        oldest_answer: earliest(oldest, kept),
    })
}

/// Up to `limit` rows never asked about or asked before `older_than`,
/// never asked first, then the oldest answer.
pub(crate) fn to_check(
    conn: &Connection,
    older_than: Instant,
    limit: usize,
) -> Result<Vec<KnownToCheck>, StoreError> {
    type Columns = (Option<i64>, String, String, String);
    let rows: Vec<Columns> = conn
        .prepare_cached(TO_CHECK)
        .and_then(|mut stmt| {
            // A stored instant of whole microseconds is before `older_than`
            // exactly when it is before `older_than` rounded up.
            stmt.query_map(
                params![columns::instant(older_than), columns::limit(limit)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(4)?)),
            )?
            .collect()
        })
        .map_err(sqlite)?;
    rows.into_iter()
        .map(|(checked_at, partner, engagement, doc)| {
            let kept: Kept = document(&doc)?;
            Ok(KnownToCheck {
                partner: partner_id(&partner)?,
                engagement: engagement_id(&engagement)?,
                known: kept.known,
                checked_at: checked_at.map(columns::instant_at).transpose()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod plans {
    //! `EXPLAIN QUERY PLAN` of every query of the known rows: each walks an
    //! index, none scans `known_rows`, none sorts in a temporary B-tree.

    use super::*;
    use crate::queries::plans::{assert_index_walk, plan};
    use crate::schema::{SCHEMA_VERSION, in_memory};

    /// Every query of the known rows but the list of engagements, which
    /// reads the few engagements the service serves.
    const QUERIES: [(&str, &str); 12] = [
        ("standings", STANDINGS),
        ("rows of a customer", ROWS_OF_CUSTOMER),
        ("one row", ROW),
        ("row exists", ROW_EXISTS),
        ("figures", FIGURES),
        ("page: kept rows", PAGE_KEPT),
        ("counts: changed rows", CHANGED),
        ("counts: oldest answer", OLDEST_KEPT),
        ("to check", TO_CHECK),
        ("seeding progress", PROGRESS),
        ("seeding walk", KNOWN_AFTER),
        ("known through", KNOWN_THROUGH),
    ];

    /// Many known rows over few partners and engagements, most placements
    /// holding for good, and statistics, which could make SQLite prefer a
    /// scan.
    fn fill_and_analyze(conn: &Connection) {
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
             INSERT INTO nominations (id, partner, engagement, customer, state, version, tab,
                 lapse_at, tab_after, wake_at, live, holds_consent, completed, standing_until, doc)
             SELECT randomblob(16), 'p' || (i % 3), 'workshop', 'tpid:' || i,
                 'consented', 1, 1, i, 3, i, 1, 1, 0, i, '{}'
             FROM n;
             INSERT INTO known_customers (partner, customer, through)
                 SELECT partner, randomblob(9), id FROM nominations;
             INSERT INTO known_engagements (engagement, done) VALUES ('workshop', 1), ('other', 0);
             INSERT INTO known_rows (partner, engagement, customer, tab, checked, changes_at,
                 checked_at, doc)
                 SELECT k.partner, e.engagement, k.customer, 1 + (abs(random()) % 2),
                     abs(random()) % 2, CASE abs(random()) % 10 WHEN 0 THEN 5 END,
                     CASE abs(random()) % 3 WHEN 0 THEN NULL ELSE abs(random()) % 1000 END, '{}'
                 FROM known_customers AS k, known_engagements AS e;
             INSERT INTO known_figures VALUES ('p0', 'workshop', 10, 5, 3);
             ANALYZE;",
        )
        .unwrap();
    }

    #[test]
    fn r_page_9_known_rows_queries_walk_an_index_without_sorting() {
        let conn = in_memory(SCHEMA_VERSION);
        for (name, sql) in QUERIES {
            assert_index_walk(&conn, name, sql);
        }
        fill_and_analyze(&conn);
        for (name, sql) in QUERIES {
            assert_index_walk(&conn, name, sql);
        }
    }

    #[test]
    fn r_page_9_a_known_page_walks_its_tab_in_customer_order_from_the_cursor() {
        let conn = in_memory(SCHEMA_VERSION);
        let expected = ["SEARCH known_rows USING INDEX known_rows_tab \
             (partner=? AND engagement=? AND tab=? AND customer>?)"];
        assert_eq!(plan(&conn, PAGE_KEPT), expected);
        fill_and_analyze(&conn);
        assert_eq!(plan(&conn, PAGE_KEPT), expected);
    }

    #[test]
    fn r_page_9_counts_read_the_figures_and_only_the_changed_rows() {
        let conn = in_memory(SCHEMA_VERSION);
        fill_and_analyze(&conn);
        assert_eq!(
            plan(&conn, FIGURES),
            ["SEARCH known_figures USING PRIMARY KEY (partner=? AND engagement=?)"]
        );
        assert_eq!(
            plan(&conn, CHANGED),
            ["SEARCH known_rows USING INDEX known_rows_changing \
              (partner=? AND engagement=? AND changes_at<?)"]
        );
        assert_eq!(
            plan(&conn, OLDEST_KEPT),
            ["SEARCH known_rows USING INDEX known_rows_oldest_answer \
              (partner=? AND engagement=?)"]
        );
    }

    #[test]
    fn r_page_9_what_to_check_walks_never_asked_then_oldest() {
        let conn = in_memory(SCHEMA_VERSION);
        fill_and_analyze(&conn);
        let plan = plan(&conn, TO_CHECK);
        assert_eq!(plan[0], "MERGE (UNION ALL)", "{plan:?}");
        let walks: Vec<&String> = plan.iter().filter(|s| s.starts_with("SEARCH")).collect();
        assert_eq!(
            walks,
            [
                "SEARCH known_rows USING INDEX known_rows_to_check (checked_at=?)",
                "SEARCH known_rows USING INDEX known_rows_to_check (checked_at<?)",
            ],
            "{plan:?}"
        );
    }
}
