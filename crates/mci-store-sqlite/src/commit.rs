//! Writing one [`Commit`] inside the writer's transaction: versions, guards,
//! then the rows (the [`Store::commit`](mci_store::Store::commit) contract).
//!
//! A commit is prepared on the caller's side (documents serialised, derived
//! columns computed) and applied by the writer inside its own savepoint:
//!
//! 1. an idempotency key already used is refused (R-REC-5), whatever the
//!    commit's writes would meet: [`StoreError::IdempotencyKeyUsed`] for the
//!    same fingerprint or a record without one (written before the schema
//!    kept fingerprints), [`StoreError::IdempotencyKeyMismatch`] for another
//!    fingerprint ([`Idempotency::refusal`]);
//! 2. every write's expected version is compared with the stored one
//!    ([`StoreError::Conflict`], R-REC-4), and a write that would move a
//!    nomination to another partner, engagement or customer is
//!    [`StoreError::InvalidCommit`];
//! 3. write by write, its guards are counted in SQL against the other
//!    nominations of the guard's engagement and customer, as they stand with
//!    the commit's earlier writes applied, at `commit.now`
//!    ([`StoreError::GuardViolated`]), then the write is applied: the row
//!    (an update is `WHERE id = ? AND version = ?`), its event, its links,
//!    its messages and, once consented, its customer among the known ones;
//! 4. the known rows follow (`mci_store` "Known customers", R-PAGE-9): a
//!    customer the writes made known to a partner gets a row on every
//!    engagement rows are kept for; every row of an engagement and customer
//!    one of whose nominations was written new or with a changed standing is
//!    placed again at `commit.now`; and each answer the commit keeps is
//!    written on its row, placed again, if its customer is known to its
//!    partner (and ignored otherwise); the figures move with every row
//!    ([`crate::known`]);
//! 5. a payout batch already stored is [`StoreError::InvalidCommit`];
//! 6. the batch and the idempotency record are written.
//!
//! Any refusal rolls the savepoint back: nothing of the commit stays.
//!
//! The guard counts implement [`Guard::admits`] on the standing columns:
//! `live`, `holds_consent` and `asking` hold while `standing_until` is after
//! `now` (or has no value); `completed` holds for good. The partial unique index
//! `nominations_one_completed_consent` backs the consent guard in the
//! schema itself.

use crate::columns::{self, NominationRow};
use crate::error::{BackendError, sqlite};
use crate::known::{self, AnswerRow};
use mci_core::{Guard, Instant, KnownCustomer, PartnerId, PayoutBatchId};
use mci_store::{Commit, Fingerprint, Idempotency, StoreError};
use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};

/// A message as written to the outbox.
#[derive(Debug, Clone)]
pub(crate) struct OutboxRow {
    id: [u8; 16],
    available_at: i64,
    doc: String,
}

/// One write, ready for the writer.
#[derive(Debug, Clone)]
pub(crate) struct PreparedWrite {
    row: NominationRow,
    expected_version: i64,
    event: String,
    messages: Vec<OutboxRow>,
    guards: Vec<Guard>,
    /// The partner and the customer as it knows it, once consented.
    known: Option<(PartnerId, KnownCustomer)>,
}

/// A commit, ready for the writer: validated, serialised, its derived
/// columns computed.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    now: i64,
    /// `now` as the core takes it, to place known rows.
    at: Instant,
    writes: Vec<PreparedWrite>,
    batch: Option<(PayoutBatchId, String)>,
    idempotency: Option<Idempotency>,
    answers: Vec<AnswerRow>,
}

impl Prepared {
    /// Validates `commit` ([`Commit::validate`]) and prepares its rows.
    pub(crate) fn of(commit: &Commit) -> Result<Self, StoreError> {
        commit.validate()?;
        let mut writes = Vec::with_capacity(commit.writes.len());
        for write in &commit.writes {
            let mut messages = Vec::with_capacity(write.messages.len());
            for message in &write.messages {
                messages.push(OutboxRow {
                    id: message.id.as_uuid().into_bytes(),
                    available_at: columns::instant(message.queued_at),
                    doc: serde_json::to_string(message).map_err(BackendError::Document)?,
                });
            }
            writes.push(PreparedWrite {
                row: NominationRow::of(&write.nomination)?,
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
            answers: commit.answers.iter().map(AnswerRow::of).collect(),
        })
    }
}

pub(crate) const VERSION_OF: &str = "SELECT version, partner, engagement, customer, \
     live, holds_consent, completed, standing_until FROM nominations WHERE id = ?1";

/// Another nomination of (engagement, customer) holds the consent at now.
pub(crate) const OTHER_CONSENT: &str = "SELECT EXISTS (SELECT 1 FROM nominations \
     WHERE engagement = ?1 AND customer = ?2 AND id <> ?3 \
     AND (completed = 1 OR (holds_consent = 1 AND (standing_until IS NULL OR standing_until > ?4))))";

/// The partner has another live nomination of (engagement, customer) at now.
pub(crate) const OTHER_LIVE_OF_PARTNER: &str = "SELECT EXISTS (SELECT 1 FROM nominations \
     WHERE engagement = ?1 AND customer = ?2 AND partner = ?5 AND id <> ?3 \
     AND live = 1 AND (standing_until IS NULL OR standing_until > ?4))";

/// How many other nominations of (engagement, customer) are live at now.
pub(crate) const OTHER_LIVE: &str = "SELECT count(*) FROM nominations \
     WHERE engagement = ?1 AND customer = ?2 AND id <> ?3 \
     AND live = 1 AND (standing_until IS NULL OR standing_until > ?4)";

/// Another partner's nomination of (engagement, customer) still asks for
/// consent at now.
pub(crate) const RIVAL_ASKING: &str = "SELECT EXISTS (SELECT 1 FROM nominations \
     WHERE engagement = ?1 AND customer = ?2 AND partner <> ?5 AND id <> ?3 \
     AND asking = 1 AND (standing_until IS NULL OR standing_until > ?4))";

const INSERT_NOMINATION: &str = "INSERT INTO nominations \
     (id, partner, engagement, customer, created_at, state, version, tab, lapse_at, tab_after, \
      wake_at, live, holds_consent, completed, asking, standing_until, changed_at, state_after, \
      reviewable, attention, doc) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
      ?19, ?20, ?21)";

/// A nomination's partner, engagement and customer never change (the
/// version check refuses a write that would change them), so an update
/// leaves those columns, and SQLite leaves the index on them alone.
const UPDATE_NOMINATION: &str = "UPDATE nominations SET \
     state = ?2, version = ?3, tab = ?4, lapse_at = ?5, tab_after = ?6, wake_at = ?7, \
     live = ?8, holds_consent = ?9, completed = ?10, asking = ?11, standing_until = ?12, \
     changed_at = ?13, state_after = ?14, reviewable = ?15, attention = ?16, doc = ?17 \
     WHERE id = ?1 AND version = ?18";

const INSERT_EVENT: &str = "INSERT INTO events (nomination, version, doc) VALUES (?1, ?2, ?3)";
const DELETE_LINKS: &str = "DELETE FROM links WHERE nomination = ?1";
const INSERT_LINK: &str = "INSERT INTO links (hash, nomination) VALUES (?1, ?2) \
     ON CONFLICT (hash) DO UPDATE SET nomination = excluded.nomination";
const INSERT_MESSAGE: &str = "INSERT INTO outbox (id, nomination, doc, available_at) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING";
const INSERT_KNOWN: &str = "INSERT INTO known_customers (partner, customer, through) \
     VALUES (?1, ?2, ?3) ON CONFLICT (partner, customer) DO NOTHING";
/// The fingerprint a used key is bound to: no row if the key is unused, a
/// row with `NULL` if it was used before the schema kept fingerprints.
const KEY_USED: &str = "SELECT fingerprint FROM idempotency WHERE scope = ?1 AND idem_key = ?2";
const INSERT_KEY: &str =
    "INSERT INTO idempotency (scope, idem_key, result, fingerprint) VALUES (?1, ?2, ?3, ?4)";
const BATCH_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM payout_batches WHERE id = ?1)";
const INSERT_BATCH: &str = "INSERT INTO payout_batches (id, doc) VALUES (?1, ?2)";

/// A standing as stored: live, holds_consent, completed, standing_until.
type StandingColumns = (bool, bool, bool, Option<i64>);

/// What a stored nomination's row says of it: its version, what a write
/// may not change (partner, engagement, customer), and its standing.
struct Stored {
    version: Option<u64>,
    identity: (String, String, String),
    standing: StandingColumns,
}

/// The stored row of `id`, if there is one.
fn stored(conn: &Connection, id: &[u8; 16]) -> Result<Option<Stored>, StoreError> {
    conn.prepare_cached(VERSION_OF)
        .and_then(|mut stmt| {
            stmt.query_row([id], |r| {
                Ok(Stored {
                    version: u64::try_from(r.get::<_, i64>(0)?).ok(),
                    identity: (r.get(1)?, r.get(2)?, r.get(3)?),
                    standing: (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?),
                })
            })
            .optional()
        })
        .map_err(sqlite)
}

fn conflict(conn: &Connection, write: &PreparedWrite) -> Result<StoreError, StoreError> {
    Ok(StoreError::Conflict {
        nomination: nomination_id(&write.row.id)?,
        expected: u64::try_from(write.expected_version).unwrap_or_default(),
        found: stored(conn, &write.row.id)?.and_then(|s| s.version),
    })
}

fn nomination_id(bytes: &[u8; 16]) -> Result<mci_core::NominationId, StoreError> {
    crate::columns::nomination_id(bytes)
}

/// Whether `guard` admits the other nominations at `now`, counted in SQL:
/// the SQL form of [`Guard::admits`].
fn admits(conn: &Connection, guard: &Guard, id: &[u8; 16], now: i64) -> Result<bool, StoreError> {
    let engagement = guard.engagement().as_str();
    let customer = guard.customer().to_string();
    let query = |sql: &str, partner: Option<&str>| -> rusqlite::Result<i64> {
        let mut stmt = conn.prepare_cached(sql)?;
        match partner {
            Some(partner) => stmt.query_row(params![engagement, customer, id, now, partner], |r| {
                r.get(0)
            }),
            None => stmt.query_row(params![engagement, customer, id, now], |r| r.get(0)),
        }
    };
    let admitted = match guard {
        Guard::NoOtherConsent { .. } => query(OTHER_CONSENT, None).map(|found| found == 0),
        Guard::NoOtherLiveNomination { partner, .. } => {
            query(OTHER_LIVE_OF_PARTNER, Some(partner.as_str())).map(|found| found == 0)
        }
        Guard::LiveNominationsBelow { limit, .. } => {
            query(OTHER_LIVE, None).map(|live| live < i64::from(*limit))
        }
        Guard::NoRivalAsking { partner, .. } => {
            query(RIVAL_ASKING, Some(partner.as_str())).map(|found| found == 0)
        }
    };
    admitted.map_err(sqlite)
}

/// Whether `error` is the partial unique index of completed consents.
fn is_completed_consent_clash(error: &rusqlite::Error) -> bool {
    error
        .sqlite_error()
        .is_some_and(|e| e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
        && error.to_string().contains("nominations.engagement")
}

/// The columns an update rewrites, in the order both statements bind them
/// after the ones a nomination keeps for good.
fn changing(row: &NominationRow) -> [&dyn ToSql; 16] {
    [
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
    ]
}

fn write_row(conn: &Connection, write: &PreparedWrite) -> Result<(), StoreError> {
    let row = &write.row;
    let written = if write.expected_version == 0 {
        let kept: [&dyn ToSql; 5] = [
            &row.id,
            &row.partner,
            &row.engagement,
            &row.customer,
            &row.created_at,
        ];
        conn.prepare_cached(INSERT_NOMINATION).and_then(|mut stmt| {
            stmt.execute(params_from_iter(kept.into_iter().chain(changing(row))))
        })
    } else {
        let id: &dyn ToSql = &row.id;
        let expected: &dyn ToSql = &write.expected_version;
        conn.prepare_cached(UPDATE_NOMINATION).and_then(|mut stmt| {
            stmt.execute(params_from_iter(
                std::iter::once(id)
                    .chain(changing(row))
                    .chain(std::iter::once(expected)),
            ))
        })
    };
    match written {
        Ok(1) => Ok(()),
        Ok(_) => Err(conflict(conn, write)?),
        Err(error) if is_completed_consent_clash(&error) => {
            // Only reachable by a commit that skips the consent guard: the
            // schema refuses what the guard would have (R-CONSENT-8).
            let nomination: mci_core::Nomination = columns::document(&row.doc)?;
            Err(StoreError::GuardViolated {
                guard: Guard::NoOtherConsent {
                    engagement: nomination.engagement().clone(),
                    customer: *nomination.customer().id(),
                },
            })
        }
        Err(error) => Err(sqlite(error)),
    }
}

/// Writes the rest of `write` beside its row; whether it made its customer
/// newly known to its partner.
fn write_rest(conn: &Connection, write: &PreparedWrite) -> rusqlite::Result<bool> {
    let row = &write.row;
    conn.prepare_cached(INSERT_EVENT)?
        .execute(params![row.id, row.version, write.event])?;
    if write.expected_version != 0 {
        conn.prepare_cached(DELETE_LINKS)?.execute([row.id])?;
    }
    for hash in &row.links {
        conn.prepare_cached(INSERT_LINK)?
            .execute(params![hash, row.id])?;
    }
    for message in &write.messages {
        conn.prepare_cached(INSERT_MESSAGE)?.execute(params![
            message.id,
            row.id,
            message.doc,
            message.available_at
        ])?;
    }
    let mut newly_known = false;
    if row.consented {
        newly_known = conn.prepare_cached(INSERT_KNOWN)?.execute(params![
            row.partner,
            row.customer_order,
            row.id
        ])? == 1;
    }
    Ok(newly_known)
}

/// Applies `commit` on `conn`, inside the caller's savepoint: on an error
/// the caller rolls the savepoint back.
pub(crate) fn apply(conn: &Connection, commit: &Prepared) -> Result<(), StoreError> {
    if let Some(idempotency) = &commit.idempotency {
        let key = &idempotency.key;
        let used: Option<Option<[u8; 32]>> = conn
            .prepare_cached(KEY_USED)
            .and_then(|mut stmt| {
                stmt.query_row(params![key.scope(), key.key()], |r| r.get(0))
                    .optional()
            })
            .map_err(sqlite)?;
        if let Some(first) = used {
            let first = first.map(Fingerprint::from_bytes);
            return Err(idempotency.refusal(first.as_ref()));
        }
    }
    // The writes whose nomination is new or whose standing changes: every
    // known row of their engagement and customer is placed again.
    let mut restand: Vec<&NominationRow> = Vec::new();
    for write in &commit.writes {
        let found = stored(conn, &write.row.id)?;
        let expected = u64::try_from(write.expected_version).unwrap_or_default();
        let version = found.as_ref().and_then(|s| s.version);
        if version != (expected > 0).then_some(expected) {
            return Err(StoreError::Conflict {
                nomination: nomination_id(&write.row.id)?,
                expected,
                found: version,
            });
        }
        let row = &write.row;
        if let Some(stored) = &found
            && (&stored.identity.0, &stored.identity.1, &stored.identity.2)
                != (&row.partner, &row.engagement, &row.customer)
        {
            return Err(StoreError::InvalidCommit(format!(
                "nomination {} cannot move to another partner, engagement or customer",
                nomination_id(&row.id)?
            )));
        }
        let standing = (
            row.live,
            row.holds_consent,
            row.completed,
            row.standing_until,
        );
        if found.as_ref().is_none_or(|s| s.standing != standing)
            && !restand
                .iter()
                .any(|r| (&r.engagement, &r.customer) == (&row.engagement, &row.customer))
        {
            restand.push(row);
        }
    }
    let mut newly_known = Vec::new();
    for write in &commit.writes {
        for guard in &write.guards {
            if !admits(conn, guard, &write.row.id, commit.now)? {
                return Err(StoreError::GuardViolated {
                    guard: guard.clone(),
                });
            }
        }
        write_row(conn, write)?;
        if write_rest(conn, write).map_err(sqlite)? {
            newly_known.push(write);
        }
    }
    for write in newly_known {
        if let Some((partner, known)) = &write.known {
            known::newly_known(conn, partner, &write.row.customer_order, known, commit.at)?;
        }
    }
    for row in restand {
        known::restand(
            conn,
            &row.engagement,
            &row.customer_order,
            &row.customer,
            commit.at,
        )?;
    }
    for answer in &commit.answers {
        known::keep(conn, answer, commit.at)?;
    }
    if let Some((id, doc)) = &commit.batch {
        let bytes = id.as_uuid().into_bytes();
        let exists: bool = conn
            .prepare_cached(BATCH_EXISTS)
            .and_then(|mut stmt| stmt.query_row([bytes], |r| r.get(0)))
            .map_err(sqlite)?;
        if exists {
            return Err(StoreError::InvalidCommit(format!(
                "payout batch {id} exists"
            )));
        }
        conn.prepare_cached(INSERT_BATCH)
            .and_then(|mut stmt| stmt.execute(params![bytes, doc]))
            .map_err(sqlite)?;
    }
    if let Some(Idempotency {
        key,
        fingerprint,
        result,
    }) = &commit.idempotency
    {
        conn.prepare_cached(INSERT_KEY)
            .and_then(|mut stmt| {
                stmt.execute(params![
                    key.scope(),
                    key.key(),
                    result,
                    fingerprint.as_bytes()
                ])
            })
            .map_err(sqlite)?;
    }
    Ok(())
}
