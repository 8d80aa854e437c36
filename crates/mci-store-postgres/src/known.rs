//! The known rows: one per partner, engagement and known customer, with the
//! kept answer of the eligibility port and the placement the core derives
//! from it, and the figures of each partner's engagement (`mci_store`
//! "Known customers", R-PAGE-2, R-PAGE-4, R-PAGE-9), as the SQLite store
//! keeps them.
//!
//! Commits keep them in their transaction ([`crate::commit`]), under the
//! customer locks of the rows they change: a row is placed with
//! [`known_placement`] from its answer and the standings of the nominations
//! of its engagement and customer, read from the standing columns the
//! guards count; each change of a row adds the difference between its old
//! contribution to the figures and its new one to [`Figures`], which the
//! commit writes last, in key order. Reads compare instants only, each in
//! one snapshot (REPEATABLE READ, read only):
//!
//! - a tab at `now` is the rows kept in it whose placement holds at `now`
//!   (`known_rows_tab`, from the cursor, at most a page), merged in
//!   customer order with the rows of the partner's engagement whose
//!   placement stopped holding (`changes_at <= now`, `known_rows_changing`),
//!   placed again at `now`, that land on the tab;
//! - the counts are the figures corrected by those same rows, and the age
//!   of the answers the first entry of `known_rows_oldest_answer` whose
//!   placement holds, or a row placed again, whichever is older;
//! - what to ask again is two walks of `known_rows_to_check`: never asked,
//!   then the oldest answer.
//!
//! Taking an engagement on ([`seed`]) locks the registry row (engagement
//! `''` of `known_engagements`) for update; a commit that may make a
//! customer known takes its key share first, then reads the engagements in
//! a statement of its own, so it sees every engagement taken on before it,
//! and the seeding walk sees every customer made known before the
//! engagement was.

use crate::columns::{self, document};
use crate::commit::{lock_customers, standing_of};
use crate::db::{Failure, exec, one, opt, rows};
use crate::error::BackendError;
use deadpool_postgres::{GenericClient, Transaction};
use mci_core::{
    EngagementId, Instant, KeptAnswer, KnownCustomer, KnownPlacement, Nomination, PartnerId,
    Standing, Tab, known_placement,
};
use mci_store::{KnownCounts, KnownEntry, KnownPage, KnownToCheck, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The partner and standing columns of the nominations of (engagement,
/// customer): what the guards count, and what places a known row.
pub const STANDINGS: &str = "SELECT partner, live, holds_consent, completed, \
     asking, standing_until FROM nominations WHERE engagement = $1 AND customer = $2";

/// Every partner's row of (engagement, customer).
pub const ROWS_OF_CUSTOMER: &str = "SELECT partner, tab, checked, doc FROM known_rows \
     WHERE engagement = $1 AND customer = $2";

/// One row.
pub const ROW: &str = "SELECT tab, checked, doc FROM known_rows \
     WHERE partner = $1 AND engagement = $2 AND customer = $3";

/// A known row, placed.
pub const PUT_ROW: &str = "INSERT INTO known_rows \
     (partner, engagement, customer, tab, checked, changes_at, checked_at, doc) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (partner, engagement, customer) DO UPDATE SET \
     tab = excluded.tab, checked = excluded.checked, changes_at = excluded.changes_at, \
     checked_at = excluded.checked_at, doc = excluded.doc";

/// The figures moved by a row's change. An update first: an insert checks
/// its values (a negative step) before it would find the row.
pub const MOVE_FIGURES: &str = "UPDATE known_figures SET eligible = eligible + $3, \
     not_checked = not_checked + $4, ineligible = ineligible + $5 \
     WHERE partner = $1 AND engagement = $2";

/// The figures of a partner's engagement, the first time they move.
pub const INSERT_FIGURES: &str = "INSERT INTO known_figures \
     (partner, engagement, eligible, not_checked, ineligible) VALUES ($1, $2, $3, $4, $5)";

/// The figures of a partner's engagement.
pub const FIGURES: &str = "SELECT eligible, not_checked, ineligible FROM known_figures \
     WHERE partner = $1 AND engagement = $2";

/// At most $6 rows kept in tab $3 after customer $4 whose placement holds
/// at $5, in customer order: ordered by the key of `known_rows_tab`, the
/// tab fixed with a row comparison, so that the primary key, in customer
/// order too, is no walk to choose (the documentation of `queries` says
/// why).
pub const PAGE_KEPT: &str = "SELECT customer, doc FROM known_rows \
     WHERE partner = $1 AND engagement = $2 AND (tab, customer) >= ($3, $4) AND tab <= $3 \
     AND customer > $4 AND (changes_at IS NULL OR changes_at > $5) \
     ORDER BY tab, customer LIMIT $6";

/// The rows of a partner's engagement whose placement stopped holding at
/// $3: the ones a read places again.
pub const CHANGED: &str = "SELECT customer, tab, checked, doc FROM known_rows \
     WHERE partner = $1 AND engagement = $2 AND changes_at <= $3";

/// The oldest answer behind a shown and checked row whose placement holds
/// at $3: the first entry of the index that holds.
pub const OLDEST_KEPT: &str = "SELECT checked_at FROM known_rows \
     WHERE partner = $1 AND engagement = $2 AND tab > 0 AND checked \
     AND (changes_at IS NULL OR changes_at > $3) ORDER BY checked_at LIMIT 1";

/// At most $2 rows never asked about or asked before $1: never asked
/// first, then the oldest answer, two walks of `known_rows_to_check`
/// merged in its order.
pub const TO_CHECK: &str = "SELECT checked_at, partner, engagement, doc FROM ( \
     (SELECT checked_at, partner, engagement, customer, doc FROM known_rows \
      WHERE checked_at IS NULL \
      ORDER BY checked_at NULLS FIRST, partner, engagement, customer LIMIT $2) \
     UNION ALL \
     (SELECT checked_at, partner, engagement, customer, doc FROM known_rows \
      WHERE checked_at < $1 \
      ORDER BY checked_at NULLS FIRST, partner, engagement, customer LIMIT $2)) AS due \
     ORDER BY checked_at NULLS FIRST, partner, engagement, customer LIMIT $2";

/// Holds the registry against an engagement being taken on.
pub const SHARE_REGISTRY: &str =
    "SELECT 1 FROM known_engagements WHERE engagement = '' FOR KEY SHARE";

/// Holds the registry while an engagement is taken on.
pub const LOCK_REGISTRY: &str = "SELECT 1 FROM known_engagements WHERE engagement = '' FOR UPDATE";

/// The engagements known rows are kept for: a few, one per engagement the
/// service serves.
pub const ENGAGEMENTS: &str = "SELECT engagement FROM known_engagements WHERE engagement <> ''";

/// Takes an engagement on.
pub const REGISTER: &str = "INSERT INTO known_engagements (engagement) VALUES ($1) \
     ON CONFLICT (engagement) DO NOTHING";

/// How far the seeding of an engagement got, locked: two servers seeding
/// one engagement take turns.
pub const PROGRESS: &str = "SELECT after_partner, after_customer, done \
     FROM known_engagements WHERE engagement = $1 FOR UPDATE";

/// How far the seeding of an engagement got.
pub const SAVE_PROGRESS: &str = "UPDATE known_engagements \
     SET after_partner = $2, after_customer = $3, done = $4 WHERE engagement = $1";

/// At most $3 known customers after ($1, $2) in (partner, customer) order,
/// with the nomination each is known through. Every partner id is longer
/// than `''`, so `('', '\x')` is before them all.
pub const KNOWN_AFTER: &str = "SELECT k.partner, k.customer, n.customer, n.doc \
     FROM known_customers AS k JOIN nominations AS n ON n.id = k.through \
     WHERE (k.partner, k.customer) > ($1, $2) ORDER BY k.partner, k.customer LIMIT $3";

/// The nomination a customer is known to a partner through.
pub const KNOWN_THROUGH: &str = "SELECT n.doc FROM known_customers AS k \
     JOIN nominations AS n ON n.id = k.through WHERE k.partner = $1 AND k.customer = $2";

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
type Placed = (i16, bool);

/// What a row adds to its figures: (eligible, not checked, ineligible).
fn contribution(tab: i16, checked: bool) -> [i64; 3] {
    match columns::tab_of(tab) {
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

/// How a commit moves the figures of each partner's engagement, written
/// last, in key order ([`Figures::apply`]).
#[derive(Debug, Default)]
pub(crate) struct Figures(BTreeMap<(String, String), [i64; 3]>);

impl Figures {
    fn add(&mut self, key: Key<'_>, old: Option<Placed>, new: Placed) {
        let new = contribution(new.0, new.1);
        let old = old.map_or([0; 3], |(tab, checked)| contribution(tab, checked));
        let step = self
            .0
            .entry((key.partner.to_owned(), key.engagement.to_owned()))
            .or_default();
        for i in 0..3 {
            step[i] += new[i] - old[i];
        }
    }

    /// Writes the moves, in (partner, engagement) order.
    pub(crate) async fn apply(&self, tx: &Transaction<'_>) -> Result<(), Failure> {
        for ((partner, engagement), step) in &self.0 {
            if *step == [0; 3] {
                continue;
            }
            let [eligible, not_checked, ineligible] = step;
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                [partner, engagement, eligible, not_checked, ineligible];
            if exec(tx, MOVE_FIGURES, &params).await? == 0 {
                exec(tx, INSERT_FIGURES, &params).await?;
            }
        }
        Ok(())
    }
}

/// The partner and standing of every nomination of (engagement,
/// customer), from the standing columns.
async fn standings(
    client: &impl GenericClient,
    engagement: &str,
    customer: &str,
) -> Result<Vec<(PartnerId, Standing)>, Failure> {
    let mut found = Vec::new();
    for row in rows(client, STANDINGS, &[&engagement, &customer]).await? {
        let partner: String = row.try_get(0)?;
        found.push((
            partner_id(&partner)?,
            standing_of(
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
                row.try_get(4)?,
                row.try_get(5)?,
            )?,
        ));
    }
    Ok(found)
}

/// Writes `kept` as the row of `key`, which was placed `old` (none when
/// it is new), and moves the figures by the difference.
async fn put(
    tx: &Transaction<'_>,
    figures: &mut Figures,
    key: Key<'_>,
    kept: &Kept,
    old: Option<Placed>,
) -> Result<(), Failure> {
    let (tab, checked) = placed(&kept.placement);
    let doc = serde_json::to_string(kept).map_err(BackendError::Document)?;
    let changes_at = kept.placement.changes_at.map(columns::instant);
    let checked_at = kept.answer.as_ref().map(|a| columns::instant(a.checked_at));
    exec(
        tx,
        PUT_ROW,
        &[
            &key.partner,
            &key.engagement,
            &key.customer,
            &tab,
            &checked,
            &changes_at,
            &checked_at,
            &doc,
        ],
    )
    .await?;
    figures.add(key, old, (tab, checked));
    Ok(())
}

/// The row of `key` as kept: its placement columns and its document.
async fn row(tx: &Transaction<'_>, key: Key<'_>) -> Result<Option<(Placed, Kept)>, Failure> {
    let Some(row) = opt(tx, ROW, &[&key.partner, &key.engagement, &key.customer]).await? else {
        return Ok(None);
    };
    let doc: String = row.try_get(2)?;
    Ok(Some(((row.try_get(0)?, row.try_get(1)?), document(&doc)?)))
}

/// Places again at `now` every partner's row of `engagement` and the
/// customer of order key `customer` (displayed `customer_text`), after a
/// nomination of theirs was written with a new or changed standing.
pub(crate) async fn restand(
    tx: &Transaction<'_>,
    figures: &mut Figures,
    engagement: &str,
    customer: &[u8],
    customer_text: &str,
    now: Instant,
) -> Result<(), Failure> {
    let found = rows(tx, ROWS_OF_CUSTOMER, &[&engagement, &customer]).await?;
    if found.is_empty() {
        return Ok(());
    }
    let standings = standings(tx, engagement, customer_text).await?;
    for row in found {
        let partner: String = row.try_get(0)?;
        let doc: String = row.try_get(3)?;
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
            let old = (row.try_get(1)?, row.try_get(2)?);
            put(tx, figures, key, &kept, Some(old)).await?;
        }
    }
    Ok(())
}

/// Takes the key share of the registry, then reads the engagements known
/// rows are kept for, in a statement of its own so that it sees every
/// engagement taken on before the share was granted.
pub(crate) async fn registered_sharing(tx: &Transaction<'_>) -> Result<Vec<String>, Failure> {
    rows(tx, SHARE_REGISTRY, &[]).await?;
    engagements(tx).await
}

async fn engagements(tx: &Transaction<'_>) -> Result<Vec<String>, Failure> {
    rows(tx, ENGAGEMENTS, &[])
        .await?
        .iter()
        .map(|row| Ok(row.try_get(0)?))
        .collect()
}

/// Gives `known`, which just became known to `partner`, a row placed at
/// `now` without an answer on every engagement rows are kept for, where
/// it has none. The commit holds the customer's locks on all of them.
pub(crate) async fn newly_known(
    tx: &Transaction<'_>,
    figures: &mut Figures,
    partner: &PartnerId,
    customer: &[u8],
    known: &KnownCustomer,
    now: Instant,
) -> Result<(), Failure> {
    let customer_text = known.customer.id().to_string();
    for engagement in engagements(tx).await? {
        let key = Key {
            partner: partner.as_str(),
            engagement: &engagement,
            customer,
        };
        seed_row(tx, figures, key, partner, &customer_text, known, now).await?;
    }
    Ok(())
}

/// Creates the row of `key` placed at `now` without an answer, unless it
/// exists.
async fn seed_row(
    tx: &Transaction<'_>,
    figures: &mut Figures,
    key: Key<'_>,
    partner: &PartnerId,
    customer_text: &str,
    known: &KnownCustomer,
    now: Instant,
) -> Result<(), Failure> {
    if row(tx, key).await?.is_some() {
        return Ok(());
    }
    let standings = standings(tx, key.engagement, customer_text).await?;
    let kept = Kept {
        known: known.clone(),
        answer: None,
        placement: known_placement(partner, None, &standings, now),
    };
    put(tx, figures, key, &kept, None).await
}

/// An answer of the eligibility port to keep, ready for the transaction.
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
pub(crate) async fn keep(
    tx: &Transaction<'_>,
    figures: &mut Figures,
    answer: &AnswerRow,
    now: Instant,
) -> Result<(), Failure> {
    let key = Key {
        partner: answer.partner.as_str(),
        engagement: &answer.engagement,
        customer: &answer.customer,
    };
    let (old, known) = match row(tx, key).await? {
        Some((old, kept)) => (Some(old), kept.known),
        None => {
            let Some(found) = opt(tx, KNOWN_THROUGH, &[&key.partner, &key.customer]).await? else {
                return Ok(());
            };
            let doc: String = found.try_get(0)?;
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
    let standings = standings(tx, key.engagement, &answer.customer_text).await?;
    let kept = Kept {
        known,
        placement: known_placement(&answer.partner, Some(&answer.answer), &standings, now),
        answer: Some(answer.answer.clone()),
    };
    put(tx, figures, key, &kept, old).await
}

/// Takes `engagement` on and gives up to `limit` more of the customers
/// known already a row placed at `now`, from where the last call stopped
/// ([`Store::seed_known`](mci_store::Store::seed_known)), in `tx`. A
/// customer whose nomination does not read back is passed over.
pub(crate) async fn seed(
    tx: &Transaction<'_>,
    engagement: &str,
    now: Instant,
    limit: usize,
) -> Result<bool, Failure> {
    let progress = match opt(tx, PROGRESS, &[&engagement]).await? {
        Some(progress) => progress,
        None => {
            // Taken on now: once the registry is held, every commit that
            // read the engagements without this one has ended, and the walk
            // below, in statements of their own, sees its customers.
            rows(tx, LOCK_REGISTRY, &[]).await?;
            exec(tx, REGISTER, &[&engagement]).await?;
            one(tx, PROGRESS, &[&engagement]).await?
        }
    };
    let (after_partner, after_customer, done): (Option<String>, Option<Vec<u8>>, bool) = (
        progress.try_get(0)?,
        progress.try_get(1)?,
        progress.try_get(2)?,
    );
    if done {
        return Ok(true);
    }
    let batch = rows(
        tx,
        KNOWN_AFTER,
        &[
            &after_partner.as_deref().unwrap_or_default(),
            &after_customer.as_deref().unwrap_or_default(),
            &columns::limit(limit),
        ],
    )
    .await?;
    let done = batch.len() < limit;
    let mut found = Vec::with_capacity(batch.len());
    for row in &batch {
        let (partner, customer, customer_text, doc): (String, Vec<u8>, String, String) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        found.push((partner, customer, customer_text, doc));
    }
    let locks: BTreeSet<(String, String)> = found
        .iter()
        .map(|(_, _, customer_text, _)| (engagement.to_owned(), customer_text.clone()))
        .collect();
    lock_customers(tx, &locks).await?;
    let mut figures = Figures::default();
    for (partner, customer, customer_text, doc) in &found {
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
        let partner = partner_id(partner)?;
        seed_row(tx, &mut figures, key, &partner, customer_text, &known, now).await?;
    }
    let (after_partner, after_customer) = match found.last() {
        Some((partner, customer, _, _)) => (Some(partner.clone()), Some(customer.clone())),
        None => (after_partner, after_customer),
    };
    exec(
        tx,
        SAVE_PROGRESS,
        &[&engagement, &after_partner, &after_customer, &done],
    )
    .await?;
    figures.apply(tx).await?;
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
async fn changed(
    client: &impl GenericClient,
    partner: &PartnerId,
    engagement: &str,
    now: Instant,
) -> Result<Vec<Changed>, Failure> {
    let found = rows(
        client,
        CHANGED,
        &[&partner.as_str(), &engagement, &columns::bound(now)],
    )
    .await?;
    let mut changed = Vec::with_capacity(found.len());
    for row in found {
        let doc: String = row.try_get(3)?;
        let kept: Kept = document(&doc)?;
        let customer_text = kept.known.customer.id().to_string();
        let standings = standings(client, engagement, &customer_text).await?;
        let placement = known_placement(partner, kept.answer.as_ref(), &standings, now);
        changed.push(Changed {
            customer: row.try_get(0)?,
            old: (row.try_get(1)?, row.try_get(2)?),
            kept,
            placement,
        });
    }
    changed.sort_unstable_by(|a, b| a.customer.cmp(&b.customer));
    Ok(changed)
}

/// One page of known rows: the kept ones of the tab merged with the ones
/// placed again, in customer order. The caller runs it in one snapshot.
pub(crate) async fn page(client: &impl GenericClient, q: &PageQuery) -> Result<KnownPage, Failure> {
    let found = rows(
        client,
        PAGE_KEPT,
        &[
            &q.partner.as_str(),
            &q.engagement,
            &columns::tab(Some(q.tab)),
            &q.after,
            &columns::bound(q.now),
            &columns::limit(q.limit),
        ],
    )
    .await?;
    let mut kept = Vec::with_capacity(found.len());
    for row in found {
        let customer: Vec<u8> = row.try_get(0)?;
        let doc: String = row.try_get(1)?;
        let row: Kept = document(&doc)?;
        kept.push((customer, row.placement.clone(), row));
    }
    let again = changed(client, &q.partner, &q.engagement, q.now)
        .await?
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
/// by the rows placed again. The caller runs it in one snapshot.
pub(crate) async fn counts(
    client: &impl GenericClient,
    partner: &PartnerId,
    engagement: &str,
    now: Instant,
) -> Result<KnownCounts, Failure> {
    let mut figures = [0i64; 3];
    if let Some(row) = opt(client, FIGURES, &[&partner.as_str(), &engagement]).await? {
        figures = [row.try_get(0)?, row.try_get(1)?, row.try_get(2)?];
    }
    let mut oldest = None;
    for c in changed(client, partner, engagement, now).await? {
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
    let kept = match opt(
        client,
        OLDEST_KEPT,
        &[&partner.as_str(), &engagement, &columns::bound(now)],
    )
    .await?
    {
        Some(row) => Some(columns::instant_at(row.try_get(0)?)?),
        None => None,
    };
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
pub(crate) async fn to_check(
    client: &impl GenericClient,
    older_than: Instant,
    limit: usize,
) -> Result<Vec<KnownToCheck>, Failure> {
    // A stored instant of whole microseconds is before `older_than`
    // exactly when it is before `older_than` rounded up.
    let found = rows(
        client,
        TO_CHECK,
        &[&columns::instant(older_than), &columns::limit(limit)],
    )
    .await?;
    let mut due = Vec::with_capacity(found.len());
    for row in found {
        let checked_at: Option<i64> = row.try_get(0)?;
        let (partner, engagement, doc): (String, String, String) =
            (row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
        let kept: Kept = document(&doc)?;
        due.push(KnownToCheck {
            partner: partner_id(&partner)?,
            engagement: engagement_id(&engagement)?,
            known: kept.known,
            checked_at: checked_at.map(columns::instant_at).transpose()?,
        });
    }
    Ok(due)
}
