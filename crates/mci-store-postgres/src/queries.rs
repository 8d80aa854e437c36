//! The reads: each one or two index walks (R-PAGE-1, R-PAGE-7, R-TIME-4),
//! the same statements as the SQLite store's in PostgreSQL's dialect.
//!
//! A tab at `now` is "stored in this tab and not lapsed at `now`" merged
//! with "lapsing into this tab and lapsed at `now`"
//! ([`mci_core::Placement::tab_at`]): one statement of two arms, each a
//! walk of its index with its own limit, merged in order (a `Merge
//! Append`), so that the first arm reads no further than the page.
//!
//! # Keyset walks order by their index's key
//!
//! A walk from a cursor orders by every column of its index after the ones
//! fixed by `=`, and fixes the column before the cursor with a row
//! comparison, not `=`: `(tab, id) >= ($3, $4) AND tab <= $3 AND id > $4`
//! means `tab = $3 AND id > $4`, but ordered by `(tab, id)` only
//! `nominations_tab` yields the order. With `tab = $3` PostgreSQL drops
//! `tab` from the order (a column fixed by `=` sorts nothing), and any
//! index of `id` then yields it: it chose to walk the primary key from the
//! cursor, filtering every nomination of every partner, for the page's
//! generic plan (which a prepared statement switches to after five runs,
//! the limit unknown), and for a state whose nominations are all recent
//! (its estimate spreads them evenly over ids that grow with time). The row
//! comparison places the walk at the cursor; it is `>=` rather than `>`
//! because PostgreSQL estimates a row comparison by its first column, and
//! `tab > $3` would estimate the last tab empty. The plans are checked by
//! the tests with `EXPLAIN`, custom and generic, on analysed tables of
//! tens of thousands of rows (`src/plans.rs`).

use crate::columns::{self, document};
use crate::db::{Failure, opt, rows};
use deadpool_postgres::GenericClient;
use mci_core::{Event, KnownCustomer, Nomination, PartnerId, PayoutBatch, Standing};
use mci_store::{
    AttentionCandidates, AttentionQuery, Due, DueCursor, Fingerprint, IdempotentResult, Page,
    StoreError, TabCounts, Unreadable,
};
use tokio_postgres::Row;
use uuid::Uuid;

/// A nomination by id.
pub const BY_ID: &str = "SELECT id, doc FROM nominations WHERE id = $1";

/// The stored version of a nomination, read after a commit gave up.
pub const VERSION_OF: &str = "SELECT version FROM nominations WHERE id = $1";

/// A nomination by id, if it is the partner's.
pub const BY_ID_OF_PARTNER: &str = "SELECT id, doc FROM nominations WHERE id = $1 AND partner = $2";

/// The nomination holding a live link.
pub const BY_LINK: &str = "SELECT n.id, n.doc FROM links AS l \
     JOIN nominations AS n ON n.id = l.nomination WHERE l.hash = $1";

/// The nominations of (engagement, customer).
pub const OF_CUSTOMER: &str = "SELECT doc FROM nominations WHERE engagement = $1 AND customer = $2";

/// A page of tab $3 at $5 after cursor $4, at most $6 rows in id order:
/// stored in the tab and not lapsed, then lapsed into it and not yet swept.
/// Each arm orders by its index's key (the module's documentation says
/// why); in both, the tab is $3, so that order is id order.
pub const PAGE: &str = "SELECT id, doc FROM ( \
     (SELECT id, doc, tab FROM nominations \
     WHERE partner = $1 AND engagement = $2 AND (tab, id) >= ($3, $4) AND tab <= $3 \
     AND id > $4 AND (lapse_at IS NULL OR lapse_at > $5) ORDER BY tab, id LIMIT $6) \
     UNION ALL \
     (SELECT id, doc, tab_after FROM nominations \
     WHERE partner = $1 AND engagement = $2 AND tab_after >= $3 \
     AND (tab_after, lapse_at) <= ($3, $5) AND lapse_at <= $5 AND id > $4 \
     ORDER BY tab_after, id LIMIT $6)) AS page \
     ORDER BY tab, id LIMIT $6";

/// The counts kept per tab as stored.
pub const KEPT_COUNTS: &str =
    "SELECT tab, n FROM tab_counts WHERE partner = $1 AND engagement = $2";

/// The tabs each lapse at or before $3 moves a row between, for the lapses
/// the sweep has not written yet (a lapse within one tab moves nothing).
pub const UNSWEPT_LAPSES: &str = "SELECT tab, tab_after FROM nominations \
     WHERE partner = $1 AND engagement = $2 AND lapse_at <= $3 \
     AND tab IS DISTINCT FROM tab_after";

/// Known customers of a partner after a customer order key.
pub const KNOWN: &str = "SELECT n.doc FROM known_customers AS k \
     JOIN nominations AS n ON n.id = k.through \
     WHERE k.partner = $1 AND k.customer > $2 ORDER BY k.customer LIMIT $3";

/// Everyone's nominations in state $1, not lapsed at $3, after cursor $2,
/// in id order: the state is $1, ordered by the key of `nominations_state`.
pub const IN_STATE: &str = "SELECT id, doc FROM nominations \
     WHERE (state, id) >= ($1, $2) AND state <= $1 AND id > $2 \
     AND (lapse_at IS NULL OR lapse_at > $3) ORDER BY state, id LIMIT $4";

/// A partner's nominations in state $1, not lapsed at $3, after cursor $2,
/// in id order: ordered by the key of `nominations_partner_state`.
pub const IN_STATE_OF_PARTNER: &str = "SELECT id, doc FROM nominations \
     WHERE partner = $5 AND (state, id) >= ($1, $2) AND state <= $1 AND id > $2 \
     AND (lapse_at IS NULL OR lapse_at > $3) ORDER BY state, id LIMIT $4";

/// A partner's nominations lapsing in ($2, $3], in lapse order.
pub const LAPSING: &str = "SELECT doc FROM nominations \
     WHERE partner = $1 AND lapse_at > $2 AND lapse_at <= $3 \
     ORDER BY lapse_at, id LIMIT $4";

/// The Attention required list of partner $1 at $2, its window ending at
/// $3, at most $4 rows (R-LIST-3): the walk of `attention_walk` over the
/// partner's rows of class 1 ([`mci_core::AttentionClass::Always`]) from
/// the lapse after $2, merged in (lapse_at, id) order with its walk over
/// class 2 ([`mci_core::AttentionClass::WithinWindow`]) up to $3. Each arm
/// orders by the index's key after the columns it fixes, and stops at the
/// list's limit.
pub const ATTENTION: &str = "SELECT id, doc FROM ( \
     (SELECT id, lapse_at, doc FROM nominations \
     WHERE partner = $1 AND attention = 1 AND lapse_at > $2 \
     ORDER BY lapse_at, id LIMIT $4) \
     UNION ALL \
     (SELECT id, lapse_at, doc FROM nominations \
     WHERE partner = $1 AND attention = 2 AND lapse_at > $2 AND lapse_at <= $3 \
     ORDER BY lapse_at, id LIMIT $4)) AS list \
     ORDER BY lapse_at, id LIMIT $4";

/// A nomination's events in version order.
pub const HISTORY: &str = "SELECT doc FROM events WHERE nomination = $1 ORDER BY version";

/// What the sweep must look at: woken at $1, earliest first.
pub const DUE: &str = "SELECT wake_at, id, doc FROM nominations \
     WHERE wake_at <= $1 ORDER BY wake_at, id LIMIT $2";

/// The same after the cursor ($3, $4) in (wake_at, id) order.
pub const DUE_AFTER: &str = "SELECT wake_at, id, doc FROM nominations \
     WHERE wake_at <= $1 AND (wake_at, id) > ($3, $4) ORDER BY wake_at, id LIMIT $2";

/// The result of an idempotency key and the fingerprint of its command.
pub const IDEMPOTENT_RESULT: &str =
    "SELECT result, fingerprint FROM idempotency WHERE scope = $1 AND idem_key = $2";

/// A payout batch.
pub const PAYOUT_BATCH: &str = "SELECT doc FROM payout_batches WHERE id = $1";

/// Up to $2 payout batches in id order after $1 (the nil UUID: from the
/// first), a walk of the primary key.
pub const PAYOUT_BATCHES: &str =
    "SELECT doc FROM payout_batches WHERE id > $1 ORDER BY id LIMIT $2";

/// A stored nomination read back, or why it cannot be, in words that hold
/// none of the document ([`Unreadable::json_reason`]).
fn readable(doc: &str) -> Result<Nomination, String> {
    serde_json::from_str(doc).map_err(|e| Unreadable::json_reason(&e))
}

/// The one nomination a row of (id, document) holds: a row that does not
/// read back is [`StoreError::Unreadable`] naming it.
fn one_nomination(row: Option<Row>) -> Result<Option<Nomination>, Failure> {
    let Some(row) = row else {
        return Ok(None);
    };
    let id = columns::nomination_id(row.try_get(0)?)?;
    let doc: &str = row.try_get(1)?;
    readable(doc)
        .map(Some)
        .map_err(|reason| StoreError::unreadable(Unreadable { id, reason }).into())
}

/// Every document of the first column of `found`, read back as `T`.
fn all<T: serde::de::DeserializeOwned>(found: Vec<Row>) -> Result<Vec<T>, Failure> {
    found
        .iter()
        .map(|row| {
            let doc: &str = row.try_get(0)?;
            Ok(document(doc)?)
        })
        .collect()
}

/// A page from rows of (id, document) a scan of at most `limit` found.
fn page_of(found: &[Row], limit: usize) -> Result<Page, Failure> {
    let mut scanned = Vec::with_capacity(found.len());
    for row in found {
        let doc: &str = row.try_get(1)?;
        scanned.push((columns::nomination_id(row.try_get(0)?)?, readable(doc)));
    }
    Ok(Page::scanned(scanned, limit))
}

/// The nomination `id`, if it is `partner`'s (or anyone's, without one).
pub(crate) async fn nomination(
    client: &impl GenericClient,
    id: Uuid,
    partner: Option<&str>,
) -> Result<Option<Nomination>, Failure> {
    let row = match partner {
        Some(partner) => opt(client, BY_ID_OF_PARTNER, &[&id, &partner]).await?,
        None => opt(client, BY_ID, &[&id]).await?,
    };
    one_nomination(row)
}

/// The nomination holding the live link `hash`.
pub(crate) async fn by_link(
    client: &impl GenericClient,
    hash: &[u8],
) -> Result<Option<Nomination>, Failure> {
    one_nomination(opt(client, BY_LINK, &[&hash]).await?)
}

/// Every nomination of (engagement, customer).
pub(crate) async fn rivals(
    client: &impl GenericClient,
    engagement: &str,
    customer: &str,
) -> Result<Vec<Nomination>, Failure> {
    all(rows(client, OF_CUSTOMER, &[&engagement, &customer]).await?)
}

/// The partner and standing of every nomination of (engagement, customer),
/// as the core derives them from the stored documents.
pub(crate) async fn standings(
    client: &impl GenericClient,
    engagement: &str,
    customer: &str,
) -> Result<Vec<(PartnerId, Standing)>, Failure> {
    Ok(rivals(client, engagement, customer)
        .await?
        .iter()
        .map(|n| (n.partner().clone(), n.standing()))
        .collect())
}

/// What a tab page asks.
pub(crate) struct TabQuery {
    pub(crate) partner: String,
    pub(crate) engagement: String,
    pub(crate) tab: i16,
    pub(crate) now: i64,
    pub(crate) after: Uuid,
    pub(crate) limit: usize,
}

/// One page of a tab at `now`: one statement, so one snapshot.
pub(crate) async fn page(client: &impl GenericClient, q: &TabQuery) -> Result<Page, Failure> {
    let found = rows(
        client,
        PAGE,
        &[
            &q.partner,
            &q.engagement,
            &q.tab,
            &q.after,
            &q.now,
            &columns::limit(q.limit),
        ],
    )
    .await?;
    page_of(&found, q.limit)
}

/// The counts of the tabs at `now` (R-PAGE-9): the kept counts, each
/// unswept lapse moved from its tab to the tab it lapses into. The caller
/// runs it in one snapshot.
pub(crate) async fn counts(
    client: &impl GenericClient,
    partner: &str,
    engagement: &str,
    now: i64,
) -> Result<TabCounts, Failure> {
    let mut counts = TabCounts::default();
    for row in rows(client, KEPT_COUNTS, &[&partner, &engagement]).await? {
        let (tab, n): (i16, i64) = (row.try_get(0)?, row.try_get(1)?);
        counts.add(columns::tab_of(tab), u64::try_from(n).unwrap_or_default());
    }
    for row in rows(client, UNSWEPT_LAPSES, &[&partner, &engagement, &now]).await? {
        let (from, to): (i16, Option<i16>) = (row.try_get(0)?, row.try_get(1)?);
        counts.lapse(columns::tab_of(from), to.and_then(columns::tab_of));
    }
    Ok(counts)
}

/// A partner's known customers after the order key `after`.
pub(crate) async fn known_customers(
    client: &impl GenericClient,
    partner: &str,
    after: &[u8],
    limit: usize,
) -> Result<Vec<KnownCustomer>, Failure> {
    let through: Vec<Nomination> =
        all(rows(client, KNOWN, &[&partner, &after, &columns::limit(limit)]).await?)?;
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
    pub(crate) after: Uuid,
    pub(crate) limit: usize,
}

/// Nominations in one of the states as stored, not lapsed at `now`: one
/// walk per state, merged in id order. The caller runs it in one snapshot.
pub(crate) async fn by_state(
    client: &impl GenericClient,
    q: &StatesQuery,
) -> Result<Page, Failure> {
    let limit = columns::limit(q.limit);
    let mut found = Vec::new();
    for state in &q.states {
        found.extend(match &q.partner {
            Some(partner) => {
                rows(
                    client,
                    IN_STATE_OF_PARTNER,
                    &[state, &q.after, &q.now, &limit, partner],
                )
                .await?
            }
            None => rows(client, IN_STATE, &[state, &q.after, &q.now, &limit]).await?,
        });
    }
    let mut keyed = Vec::with_capacity(found.len());
    for row in found {
        let id: Uuid = row.try_get(0)?;
        keyed.push((id, row));
    }
    keyed.sort_unstable_by_key(|(id, _)| *id);
    keyed.dedup_by_key(|(id, _)| *id);
    keyed.truncate(q.limit);
    let found: Vec<Row> = keyed.into_iter().map(|(_, row)| row).collect();
    page_of(&found, q.limit)
}

/// A partner's nominations lapsing in `(now, until]`, in lapse order.
pub(crate) async fn lapsing(
    client: &impl GenericClient,
    partner: &str,
    now: i64,
    until: i64,
    limit: usize,
) -> Result<Vec<Nomination>, Failure> {
    all(rows(
        client,
        LAPSING,
        &[&partner, &now, &until, &columns::limit(limit)],
    )
    .await?)
}

/// The candidates of a partner's Attention required list (R-LIST-3): one
/// statement, so one snapshot.
pub(crate) async fn attention(
    client: &impl GenericClient,
    query: &AttentionQuery,
) -> Result<AttentionCandidates, Failure> {
    let found = rows(
        client,
        ATTENTION,
        &[
            &query.partner.as_str(),
            &columns::bound(query.now),
            &columns::bound(query.until),
            &columns::limit(query.walk_limit()),
        ],
    )
    .await?;
    let mut walked = Vec::with_capacity(found.len());
    for row in &found {
        let id: Uuid = row.try_get(0)?;
        let doc: &str = row.try_get(1)?;
        walked.push((columns::nomination_id(id)?, readable(doc)));
    }
    Ok(AttentionCandidates::walked(query, walked))
}

/// A nomination's events in version order.
pub(crate) async fn history(client: &impl GenericClient, id: Uuid) -> Result<Vec<Event>, Failure> {
    all(rows(client, HISTORY, &[&id]).await?)
}

/// Up to `limit` nominations woken at `now`, earliest first.
pub(crate) async fn due(
    client: &impl GenericClient,
    now: i64,
    after: Option<(i64, Uuid)>,
    limit: usize,
) -> Result<Due, Failure> {
    let limit_param = columns::limit(limit);
    let found = match after {
        None => rows(client, DUE, &[&now, &limit_param]).await?,
        Some((wake_at, id)) => {
            rows(client, DUE_AFTER, &[&now, &limit_param, &wake_at, &id]).await?
        }
    };
    let mut scanned = Vec::with_capacity(found.len());
    for row in &found {
        let cursor = DueCursor {
            wake_at: columns::instant_at(row.try_get(0)?)?,
            id: columns::nomination_id(row.try_get(1)?)?,
        };
        let doc: &str = row.try_get(2)?;
        scanned.push((cursor, readable(doc)));
    }
    Ok(Due::scanned(scanned, limit))
}

/// The result recorded with an idempotency key, with the fingerprint of
/// its command.
pub(crate) async fn idempotent_result(
    client: &impl GenericClient,
    scope: &str,
    key: &str,
) -> Result<Option<IdempotentResult>, Failure> {
    let Some(row) = opt(client, IDEMPOTENT_RESULT, &[&scope, &key]).await? else {
        return Ok(None);
    };
    let fingerprint: Option<Vec<u8>> = row.try_get(1)?;
    Ok(Some(IdempotentResult {
        result: row.try_get(0)?,
        fingerprint: fingerprint
            .and_then(|f| <[u8; 32]>::try_from(f).ok())
            .map(Fingerprint::from_bytes),
    }))
}

/// A payout batch.
pub(crate) async fn payout_batch(
    client: &impl GenericClient,
    id: Uuid,
) -> Result<Option<PayoutBatch>, Failure> {
    let Some(row) = opt(client, PAYOUT_BATCH, &[&id]).await? else {
        return Ok(None);
    };
    let doc: &str = row.try_get(0)?;
    Ok(Some(document(doc)?))
}

/// Up to `limit` payout batches in id order after `after`.
pub(crate) async fn payout_batches(
    client: &impl GenericClient,
    after: Uuid,
    limit: i64,
) -> Result<Vec<PayoutBatch>, Failure> {
    rows(client, PAYOUT_BATCHES, &[&after, &limit])
        .await?
        .iter()
        .map(|row| {
            let doc: &str = row.try_get(0)?;
            Ok(document(doc)?)
        })
        .collect()
}
