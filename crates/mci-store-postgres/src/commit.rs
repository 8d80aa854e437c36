//! Writing one [`Commit`] in one READ COMMITTED transaction: locks, versions,
//! guards, then the rows (the [`Store::commit`](mci_store::Store::commit)
//! contract), so that two servers racing for one customer behave as two
//! tasks of one server do.
//!
//! # How the guards hold across servers
//!
//! Every commit first locks, with one `INSERT ... ON CONFLICT DO UPDATE`
//! in `(engagement, customer)` order, the row of `customer_locks` of each
//! engagement and customer it writes a nomination of, names in a guard, or
//! keeps an answer about (and, when it may make a customer known, the rows
//! of that customer on every engagement known rows are kept for). Until the
//! transaction ends, no other commit writes a nomination of those customers
//! or counts their guards, so the guards, counted in SQL after the locks
//! (R-CONSENT-8, R-CONSENT-10, R-ADD-7, R-ENG-5), see every commit before
//! and none after. In order:
//!
//! 1. the key share of the seeding registry row, when a write holds a
//!    consent (see [`crate::known`]), then the customer locks;
//! 2. an idempotency key already used is refused (R-REC-5); two commits
//!    racing with one key both find it unused, and the second one's insert
//!    fails on the key's primary key (23505): the commit starts again and
//!    finds the key;
//! 3. the stored version of every write (R-REC-4), and that no write moves
//!    a nomination to another partner, engagement or customer;
//! 4. write by write, its guards, then its row (an update is `WHERE id = $1
//!    AND version = $2`), its event, links, messages and known customer;
//!    the unique index of completed consents backs R-CONSENT-8 in the
//!    schema (23505 on it is the consent guard);
//! 5. the known rows, placed again ([`crate::known`]);
//! 6. the payout batch and the idempotency record;
//! 7. last, the counters (`tab_counts`, `claim_counts`, then
//!    `known_figures`), each in key
//!    order, so that commits that move several partners' counters, as an
//!    acceptance and its losers do (R-CONSENT-10), lock them in one order,
//!    and hold them only until the commit that follows at once.
//!
//! Rows are always locked in that order (registry, customers, nominations,
//! counters), each kind in key order, so PostgreSQL never needs to break a
//! deadlock between two commits. A serialization failure or a deadlock
//! (40001, 40P01, as CockroachDB or YugabyteDB answer) starts the
//! transaction again, a few times, and then is answered as the retryable
//! [`StoreError::Conflict`].

use crate::columns::{self, NominationRow};
use crate::db::{Failure, exec, one, opt, rows};
use crate::error::{BackendError, unique_violation};
use crate::known::{self, AnswerRow, Figures};
use deadpool_postgres::Transaction;
use mci_core::{Guard, Instant, KnownCustomer, PartnerId, PayoutBatchId, Standing};
use mci_store::{Commit, Fingerprint, Idempotency, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// A message as written to the outbox.
#[derive(Debug, Clone)]
pub(crate) struct OutboxRow {
    id: Uuid,
    available_at: i64,
    doc: String,
}

/// One write, ready for the transaction.
#[derive(Debug, Clone)]
pub(crate) struct PreparedWrite {
    pub(crate) row: NominationRow,
    expected_version: i64,
    event: String,
    messages: Vec<OutboxRow>,
    guards: Vec<Guard>,
    /// The partner and the customer as it knows it, once consented.
    known: Option<(PartnerId, KnownCustomer)>,
}

/// A commit, ready for the transaction: validated, serialised, its derived
/// columns computed.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    now: i64,
    /// `now` as the core takes it, to place known rows.
    at: Instant,
    pub(crate) writes: Vec<PreparedWrite>,
    batch: Option<(PayoutBatchId, String)>,
    idempotency: Option<Idempotency>,
    answers: Vec<AnswerRow>,
    /// The customer locks to take, in order: (engagement, customer).
    locks: BTreeSet<(String, String)>,
}

impl Prepared {
    /// Validates `commit` ([`Commit::validate`]) and prepares its rows.
    pub(crate) fn of(commit: &Commit) -> Result<Self, StoreError> {
        commit.validate()?;
        let mut writes = Vec::with_capacity(commit.writes.len());
        let mut locks = BTreeSet::new();
        for write in &commit.writes {
            let mut messages = Vec::with_capacity(write.messages.len());
            for message in &write.messages {
                messages.push(OutboxRow {
                    id: message.id.as_uuid(),
                    available_at: columns::instant(message.queued_at),
                    doc: serde_json::to_string(message).map_err(BackendError::Document)?,
                });
            }
            let row = NominationRow::of(&write.nomination)?;
            locks.insert((row.engagement.clone(), row.customer.clone()));
            for guard in &write.guards {
                locks.insert((
                    guard.engagement().as_str().to_owned(),
                    guard.customer().to_string(),
                ));
            }
            writes.push(PreparedWrite {
                row,
                expected_version: columns::integer(write.expected_version, "expected version")?,
                event: serde_json::to_string(&write.event).map_err(BackendError::Document)?,
                messages,
                guards: write.guards.clone(),
                known: write.nomination.consented_at().map(|_| {
                    let known = KnownCustomer {
                        customer: write.nomination.customer().clone(),
                        through: *write.nomination.id(),
                    };
                    (write.nomination.partner().clone(), known)
                }),
            });
        }
        let answers: Vec<AnswerRow> = commit.answers.iter().map(AnswerRow::of).collect();
        for answer in &answers {
            locks.insert((answer.engagement.clone(), answer.customer_text.clone()));
        }
        let batch = match &commit.payout_batch {
            Some(batch) => Some((
                batch.id,
                serde_json::to_string(batch).map_err(BackendError::Document)?,
            )),
            None => None,
        };
        Ok(Self {
            now: columns::bound(commit.now),
            at: commit.now,
            writes,
            batch,
            idempotency: commit.idempotency.clone(),
            answers,
            locks,
        })
    }

    /// Whether a write holds a consent, and so may make its customer known
    /// to its partner.
    fn may_make_known(&self) -> bool {
        self.writes.iter().any(|w| w.row.consented)
    }
}

/// Locks the rows of `customer_locks` of `keys`, in key order, creating
/// the ones that do not exist yet. `DO UPDATE` (of nothing) locks a row
/// that exists; the `ORDER BY` makes the insert take them in order.
pub const LOCK_CUSTOMERS: &str = "INSERT INTO customer_locks (engagement, customer) \
     SELECT e, c FROM unnest($1::text[], $2::text[]) AS k (e, c) ORDER BY e, c \
     ON CONFLICT (engagement, customer) DO UPDATE SET engagement = excluded.engagement";

/// The stored rows of the writes: version, what a write may not change,
/// standing, and the tab counted.
pub const STORED: &str = "SELECT id, version, partner, engagement, customer, \
     live, holds_consent, completed, asking, standing_until, tab, state \
     FROM nominations WHERE id = ANY($1::uuid[])";

/// What the guards count among the other nominations of (engagement,
/// customer) at now: consents held, the partner's live ones, all live
/// ones, and other partners' still asking for consent.
pub const GUARD_COUNTS: &str = "SELECT \
     count(*) FILTER (WHERE completed \
         OR (holds_consent AND (standing_until IS NULL OR standing_until > $4))), \
     count(*) FILTER (WHERE partner = $5 AND live \
         AND (standing_until IS NULL OR standing_until > $4)), \
     count(*) FILTER (WHERE live AND (standing_until IS NULL OR standing_until > $4)), \
     count(*) FILTER (WHERE partner <> $5 AND asking \
         AND (standing_until IS NULL OR standing_until > $4)) \
     FROM nominations WHERE engagement = $1 AND customer = $2 AND id <> $3";

/// A new nomination row.
pub const INSERT_NOMINATION: &str = "INSERT INTO nominations \
     (id, partner, engagement, customer, state, version, tab, lapse_at, tab_after, wake_at, \
      live, holds_consent, completed, asking, standing_until, doc, created_at, changed_at, \
      state_after, reviewable, attention) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
      $19, $20, $21)";

/// A nomination's partner, engagement and customer never change, so an
/// update leaves those columns.
pub const UPDATE_NOMINATION: &str = "UPDATE nominations SET \
     state = $2, version = $3, tab = $4, lapse_at = $5, tab_after = $6, wake_at = $7, \
     live = $8, holds_consent = $9, completed = $10, asking = $11, standing_until = $12, \
     doc = $13, changed_at = $15, state_after = $16, reviewable = $17, attention = $18 \
     WHERE id = $1 AND version = $14";

/// The event of a write.
pub const INSERT_EVENT: &str = "INSERT INTO events (nomination, version, doc) VALUES ($1, $2, $3)";
/// An updated nomination's links, before they are written again.
pub const DELETE_LINKS: &str = "DELETE FROM links WHERE nomination = $1";
/// A nomination's live links.
pub const INSERT_LINKS: &str = "INSERT INTO links (hash, nomination) \
     SELECT h, $2 FROM unnest($1::bytea[]) AS l (h) \
     ON CONFLICT (hash) DO UPDATE SET nomination = excluded.nomination";
/// One outbox message.
pub const INSERT_MESSAGE: &str = "INSERT INTO outbox (id, nomination, doc, available_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING";
/// The customer, once consented, among the partner's known ones.
pub const INSERT_KNOWN: &str = "INSERT INTO known_customers (partner, customer, through) \
     VALUES ($1, $2, $3) ON CONFLICT (partner, customer) DO NOTHING";
/// The fingerprint a used key is bound to: no row if the key is unused.
pub const KEY_USED: &str = "SELECT fingerprint FROM idempotency WHERE scope = $1 AND idem_key = $2";
/// An idempotency key, with its result and fingerprint.
pub const INSERT_KEY: &str = "INSERT INTO idempotency (scope, idem_key, result, fingerprint) \
     VALUES ($1, $2, $3, $4)";
/// Whether a payout batch is stored.
pub const BATCH_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM payout_batches WHERE id = $1)";
/// A payout batch.
pub const INSERT_BATCH: &str = "INSERT INTO payout_batches (id, doc) VALUES ($1, $2)";

/// Moves the counters of the tabs, in key order.
pub const MOVE_TAB_COUNTS: &str = "INSERT INTO tab_counts (partner, engagement, tab, n) \
     SELECT p, e, t, d FROM unnest($1::text[], $2::text[], $3::int2[], $4::int8[]) \
         AS m (p, e, t, d) ORDER BY p, e, t \
     ON CONFLICT (partner, engagement, tab) DO UPDATE SET n = tab_counts.n + excluded.n";

/// Moves the counters of the Claims page's states, in key order.
pub const MOVE_CLAIM_COUNTS: &str = "INSERT INTO claim_counts (partner, engagement, state, n) \
     SELECT p, e, s, d FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[]) \
         AS m (p, e, s, d) ORDER BY p, e, s \
     ON CONFLICT (partner, engagement, state) DO UPDATE SET n = claim_counts.n + excluded.n";

/// A stored nomination's row, as the checks read it.
struct Stored {
    version: u64,
    identity: (String, String, String),
    standing: (bool, bool, bool, bool, Option<i64>),
    tab: i16,
    state: String,
}

/// The stored rows of the writes, by id.
async fn stored(
    tx: &Transaction<'_>,
    commit: &Prepared,
) -> Result<BTreeMap<Uuid, Stored>, Failure> {
    let ids: Vec<Uuid> = commit.writes.iter().map(|w| w.row.id).collect();
    let mut found = BTreeMap::new();
    for row in rows(tx, STORED, &[&ids]).await? {
        let version: i64 = row.try_get(1)?;
        found.insert(
            row.try_get(0)?,
            Stored {
                version: u64::try_from(version).unwrap_or_default(),
                identity: (row.try_get(2)?, row.try_get(3)?, row.try_get(4)?),
                standing: (
                    row.try_get(5)?,
                    row.try_get(6)?,
                    row.try_get(7)?,
                    row.try_get(8)?,
                    row.try_get(9)?,
                ),
                tab: row.try_get(10)?,
                state: row.try_get(11)?,
            },
        );
    }
    Ok(found)
}

/// The counts a guard is decided from, as [`GUARD_COUNTS`] answers them.
type GuardCounts = [i64; 4];

/// Whether `guard` admits the other nominations, given their counts: the
/// SQL form of [`Guard::admits`].
fn admits(guard: &Guard, counts: GuardCounts) -> bool {
    let [consents, own_live, live, rivals_asking] = counts;
    match guard {
        Guard::NoOtherConsent { .. } => consents == 0,
        Guard::NoOtherLiveNomination { .. } => own_live == 0,
        Guard::LiveNominationsBelow { limit, .. } => live < i64::from(*limit),
        Guard::NoRivalAsking { .. } => rivals_asking == 0,
    }
}

/// The partner a guard counts for: its own, or (for the guards that count
/// every partner) the write's.
fn guard_partner<'a>(guard: &'a Guard, write: &'a PreparedWrite) -> &'a str {
    match guard {
        Guard::NoOtherLiveNomination { partner, .. } | Guard::NoRivalAsking { partner, .. } => {
            partner.as_str()
        }
        Guard::NoOtherConsent { .. } | Guard::LiveNominationsBelow { .. } => &write.row.partner,
    }
}

/// Checks the guards of `write` at `now`: one count per engagement,
/// customer and partner the guards name.
async fn check_guards(
    tx: &Transaction<'_>,
    write: &PreparedWrite,
    now: i64,
) -> Result<(), Failure> {
    let mut counted: Vec<((String, String, &str), GuardCounts)> = Vec::new();
    for guard in &write.guards {
        let key = (
            guard.engagement().as_str().to_owned(),
            guard.customer().to_string(),
            guard_partner(guard, write),
        );
        let counts = match counted.iter().find(|(k, _)| *k == key) {
            Some((_, counts)) => *counts,
            None => {
                let row = one(
                    tx,
                    GUARD_COUNTS,
                    &[&key.0, &key.1, &write.row.id, &now, &key.2],
                )
                .await?;
                let counts = [
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    row.try_get(3)?,
                ];
                counted.push((key, counts));
                counts
            }
        };
        if !admits(guard, counts) {
            return Err(StoreError::GuardViolated {
                guard: guard.clone(),
            }
            .into());
        }
    }
    Ok(())
}

/// The rows a failed statement of `write` stands for: the unique index of
/// completed consents is the consent guard (reachable only by a commit that
/// skips the guard). A nomination created twice at once fails on the
/// primary key and starts again, finding the other ([`starts_again`]).
fn refused_write(
    error: tokio_postgres::Error,
    write: &PreparedWrite,
) -> Result<Failure, StoreError> {
    match unique_violation(&error) {
        Some("nominations_one_completed_consent") => {
            let nomination: mci_core::Nomination = columns::document(&write.row.doc)?;
            Ok(StoreError::GuardViolated {
                guard: Guard::NoOtherConsent {
                    engagement: nomination.engagement().clone(),
                    customer: *nomination.customer().id(),
                },
            }
            .into())
        }
        _ => Ok(error.into()),
    }
}

/// Writes the row of `write`.
async fn write_row(tx: &Transaction<'_>, write: &PreparedWrite) -> Result<(), Failure> {
    let r = &write.row;
    let written = if write.expected_version == 0 {
        exec(
            tx,
            INSERT_NOMINATION,
            &[
                &r.id,
                &r.partner,
                &r.engagement,
                &r.customer,
                &r.state,
                &r.version,
                &r.tab,
                &r.lapse_at,
                &r.tab_after,
                &r.wake_at,
                &r.live,
                &r.holds_consent,
                &r.completed,
                &r.asking,
                &r.standing_until,
                &r.doc,
                &r.created_at,
                &r.changed_at,
                &r.state_after,
                &r.reviewable,
                &r.attention,
            ],
        )
        .await
    } else {
        exec(
            tx,
            UPDATE_NOMINATION,
            &[
                &r.id,
                &r.state,
                &r.version,
                &r.tab,
                &r.lapse_at,
                &r.tab_after,
                &r.wake_at,
                &r.live,
                &r.holds_consent,
                &r.completed,
                &r.asking,
                &r.standing_until,
                &r.doc,
                &write.expected_version,
                &r.changed_at,
                &r.state_after,
                &r.reviewable,
                &r.attention,
            ],
        )
        .await
    };
    match written {
        Ok(1) => Ok(()),
        // The row was locked and its version read under the lock: an
        // update that finds no row at its version cannot happen; answer it
        // as the conflict it would be.
        Ok(_) => Err(StoreError::Conflict {
            nomination: columns::nomination_id(r.id)?,
            expected: u64::try_from(write.expected_version).unwrap_or_default(),
            found: None,
        }
        .into()),
        Err(error) => Err(refused_write(error, write)?),
    }
}

/// Writes the rest of `write` beside its row; whether it made its customer
/// newly known to its partner.
async fn write_rest(tx: &Transaction<'_>, write: &PreparedWrite) -> Result<bool, Failure> {
    let r = &write.row;
    exec(tx, INSERT_EVENT, &[&r.id, &r.version, &write.event]).await?;
    if write.expected_version != 0 {
        exec(tx, DELETE_LINKS, &[&r.id]).await?;
    }
    if !r.links.is_empty() {
        exec(tx, INSERT_LINKS, &[&r.links, &r.id]).await?;
    }
    for m in &write.messages {
        exec(tx, INSERT_MESSAGE, &[&m.id, &r.id, &m.doc, &m.available_at]).await?;
    }
    if r.consented {
        let inserted = exec(tx, INSERT_KNOWN, &[&r.partner, &r.customer_order, &r.id]).await?;
        return Ok(inserted == 1);
    }
    Ok(false)
}

/// Moves the counters of the tabs by `moves`, in key order.
async fn move_tab_counts(
    tx: &Transaction<'_>,
    moves: &BTreeMap<(String, String, i16), i64>,
) -> Result<(), Failure> {
    let moves: Vec<_> = moves.iter().filter(|(_, n)| **n != 0).collect();
    if moves.is_empty() {
        return Ok(());
    }
    let partners: Vec<&str> = moves.iter().map(|((p, _, _), _)| p.as_str()).collect();
    let engagements: Vec<&str> = moves.iter().map(|((_, e, _), _)| e.as_str()).collect();
    let tabs: Vec<i16> = moves.iter().map(|((_, _, t), _)| *t).collect();
    let steps: Vec<i64> = moves.iter().map(|(_, n)| **n).collect();
    exec(
        tx,
        MOVE_TAB_COUNTS,
        &[&partners, &engagements, &tabs, &steps],
    )
    .await?;
    Ok(())
}

/// Moves the counters of the Claims page's states by `moves`, in key
/// order (R-LIST-1).
async fn move_claim_counts(
    tx: &Transaction<'_>,
    moves: &BTreeMap<(String, String, String), i64>,
) -> Result<(), Failure> {
    let moves: Vec<_> = moves.iter().filter(|(_, n)| **n != 0).collect();
    if moves.is_empty() {
        return Ok(());
    }
    let partners: Vec<&str> = moves.iter().map(|((p, _, _), _)| p.as_str()).collect();
    let engagements: Vec<&str> = moves.iter().map(|((_, e, _), _)| e.as_str()).collect();
    let states: Vec<&str> = moves.iter().map(|((_, _, s), _)| s.as_str()).collect();
    let steps: Vec<i64> = moves.iter().map(|(_, n)| **n).collect();
    exec(
        tx,
        MOVE_CLAIM_COUNTS,
        &[&partners, &engagements, &states, &steps],
    )
    .await?;
    Ok(())
}

/// Locks the customer rows of `keys`, in key order.
pub(crate) async fn lock_customers(
    tx: &Transaction<'_>,
    keys: &BTreeSet<(String, String)>,
) -> Result<(), Failure> {
    if keys.is_empty() {
        return Ok(());
    }
    let engagements: Vec<&str> = keys.iter().map(|(e, _)| e.as_str()).collect();
    let customers: Vec<&str> = keys.iter().map(|(_, c)| c.as_str()).collect();
    exec(tx, LOCK_CUSTOMERS, &[&engagements, &customers]).await?;
    Ok(())
}

/// Applies `commit` in `tx`; the caller commits it, or rolls it back on an
/// error.
pub(crate) async fn apply(tx: &Transaction<'_>, commit: &Prepared) -> Result<(), Failure> {
    let mut locks = commit.locks.clone();
    if commit.may_make_known() {
        // A customer made known gets a row on every engagement rows are
        // kept for: lock it there too, after holding the registry so that
        // no engagement is taken on meanwhile.
        for engagement in known::registered_sharing(tx).await? {
            for write in commit.writes.iter().filter(|w| w.row.consented) {
                locks.insert((engagement.clone(), write.row.customer.clone()));
            }
        }
    }
    lock_customers(tx, &locks).await?;
    if let Some(idempotency) = &commit.idempotency {
        let key = &idempotency.key;
        if let Some(row) = opt(tx, KEY_USED, &[&key.scope(), &key.key()]).await? {
            let first: Option<Vec<u8>> = row.try_get(0)?;
            let first = first
                .and_then(|f| <[u8; 32]>::try_from(f).ok())
                .map(Fingerprint::from_bytes);
            return Err(idempotency.refusal(first.as_ref()).into());
        }
    }
    let found = stored(tx, commit).await?;
    let mut restand: Vec<&NominationRow> = Vec::new();
    let mut tab_moves: BTreeMap<(String, String, i16), i64> = BTreeMap::new();
    let mut state_moves: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for write in &commit.writes {
        let row = &write.row;
        let stored = found.get(&row.id);
        let expected = u64::try_from(write.expected_version).unwrap_or_default();
        let version = stored.map(|s| s.version);
        if version != (expected > 0).then_some(expected) {
            return Err(StoreError::Conflict {
                nomination: columns::nomination_id(row.id)?,
                expected,
                found: version,
            }
            .into());
        }
        if let Some(stored) = stored
            && (&stored.identity.0, &stored.identity.1, &stored.identity.2)
                != (&row.partner, &row.engagement, &row.customer)
        {
            return Err(StoreError::InvalidCommit(format!(
                "nomination {} cannot move to another partner, engagement or customer",
                columns::nomination_id(row.id)?
            ))
            .into());
        }
        let standing = (
            row.live,
            row.holds_consent,
            row.completed,
            row.asking,
            row.standing_until,
        );
        if stored.is_none_or(|s| s.standing != standing)
            && !restand
                .iter()
                .any(|r| (&r.engagement, &r.customer) == (&row.engagement, &row.customer))
        {
            restand.push(row);
        }
        let key = |tab: i16| (row.partner.clone(), row.engagement.clone(), tab);
        if let Some(stored) = stored
            && stored.tab != 0
        {
            *tab_moves.entry(key(stored.tab)).or_default() -= 1;
        }
        if row.tab != 0 {
            *tab_moves.entry(key(row.tab)).or_default() += 1;
        }
        let key = |state: &str| {
            (
                row.partner.clone(),
                row.engagement.clone(),
                state.to_owned(),
            )
        };
        if let Some(stored) = stored {
            *state_moves.entry(key(&stored.state)).or_default() -= 1;
        }
        *state_moves.entry(key(&row.state)).or_default() += 1;
    }
    let mut figures = Figures::default();
    let mut newly_known = Vec::new();
    for write in &commit.writes {
        check_guards(tx, write, commit.now).await?;
        write_row(tx, write).await?;
        if write_rest(tx, write).await? {
            newly_known.push(write);
        }
    }
    for write in newly_known {
        if let Some((partner, known)) = &write.known {
            known::newly_known(
                tx,
                &mut figures,
                partner,
                &write.row.customer_order,
                known,
                commit.at,
            )
            .await?;
        }
    }
    for row in restand {
        known::restand(
            tx,
            &mut figures,
            &row.engagement,
            &row.customer_order,
            &row.customer,
            commit.at,
        )
        .await?;
    }
    for answer in &commit.answers {
        known::keep(tx, &mut figures, answer, commit.at).await?;
    }
    if let Some((id, doc)) = &commit.batch {
        let id = id.as_uuid();
        let exists: bool = one(tx, BATCH_EXISTS, &[&id]).await?.try_get(0)?;
        if exists {
            return Err(StoreError::InvalidCommit(format!("payout batch {id} exists")).into());
        }
        exec(tx, INSERT_BATCH, &[&id, doc]).await?;
    }
    if let Some(Idempotency {
        key,
        fingerprint,
        result,
    }) = &commit.idempotency
    {
        let fingerprint = fingerprint.as_bytes().as_slice();
        exec(
            tx,
            INSERT_KEY,
            &[&key.scope(), &key.key(), result, &fingerprint],
        )
        .await?;
    }
    move_tab_counts(tx, &tab_moves).await?;
    move_claim_counts(tx, &state_moves).await?;
    figures.apply(tx).await?;
    Ok(())
}

/// What a failed commit answers, once it may not be started again: a
/// unique violation is the rule its index stands for.
pub(crate) fn refusal(failure: Failure, commit: &Prepared) -> StoreError {
    if let Failure::Postgres(error) = &failure
        && let Some(constraint) = unique_violation(error)
    {
        match constraint {
            "payout_batches_pkey" => {
                if let Some((id, _)) = &commit.batch {
                    return StoreError::InvalidCommit(format!("payout batch {id} exists"));
                }
            }
            "idempotency_pkey" => return StoreError::IdempotencyKeyUsed,
            _ => {}
        }
    }
    failure.into_store()
}

/// Whether a failed commit may succeed when started again: a serialization
/// failure or a deadlock, or a race to insert the same key (an idempotency
/// key, a counter's first row), which the next try finds.
pub(crate) fn starts_again(failure: &Failure) -> bool {
    if failure.is_retryable() {
        return true;
    }
    matches!(
        failure,
        Failure::Postgres(error) if matches!(
            unique_violation(error),
            Some(
                "idempotency_pkey"
                    | "known_figures_pkey"
                    | "known_rows_pkey"
                    | "nominations_pkey"
                    | "payout_batches_pkey"
            )
        )
    )
}

/// The standing a stored row's columns say.
pub(crate) fn standing_of(
    live: bool,
    holds_consent: bool,
    completed: bool,
    asking: bool,
    until: Option<i64>,
) -> Result<Standing, StoreError> {
    Ok(Standing {
        live,
        holds_consent,
        completed,
        asking,
        until: until.map(columns::instant_at).transpose()?,
    })
}
