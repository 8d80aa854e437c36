//! The outbox (R-REC-2): messages are written with the change that queued
//! them, taken with a lease, and acknowledged. Taking and acknowledging
//! write, so they run on the writer, in its commit groups.
//!
//! A pending message is available from its queue instant; taking it moves
//! its `available_at` to the end of the lease and counts the attempt, so an
//! unacknowledged message comes back when its lease ends (at least once). An
//! acknowledged message leaves the `outbox_pending` index and is never taken
//! again; it stays in the table (R-REC-3).

use crate::error::sqlite;
use mci_store::StoreError;
use mci_store::observe::{OUTBOX_BACKLOG, OUTBOX_OLDEST_PENDING_SECONDS};
use rusqlite::{Connection, params};

/// The pending messages available at `?1`, oldest first: a walk of
/// `outbox_pending`.
pub(crate) const TAKE: &str = "SELECT seq, doc, attempts FROM outbox \
     WHERE delivered = 0 AND available_at <= ?1 \
     ORDER BY available_at, seq LIMIT ?2";

const LEASE: &str = "UPDATE outbox SET available_at = ?1, attempts = attempts + 1 WHERE seq = ?2";

const ACKNOWLEDGE: &str = "UPDATE outbox SET delivered = 1 WHERE id = ?1 AND delivered = 0";

/// Takes up to `limit` messages available at `now` and leases them until
/// `lease_until`: each message's document and its attempt number.
pub(crate) fn take(
    conn: &Connection,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<(String, u32)>, StoreError> {
    let taken: Vec<(i64, String, i64)> = conn
        .prepare_cached(TAKE)
        .and_then(|mut stmt| {
            stmt.query_map(params![now, limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })
        .map_err(sqlite)?;
    let mut leased = Vec::with_capacity(taken.len());
    for (seq, doc, attempts) in taken {
        conn.prepare_cached(LEASE)
            .and_then(|mut stmt| stmt.execute(params![lease_until, seq]))
            .map_err(sqlite)?;
        let attempt = u32::try_from(attempts.saturating_add(1)).unwrap_or(u32::MAX);
        leased.push((doc, attempt));
    }
    Ok(leased)
}

/// Marks the messages `ids` delivered; unknown or delivered ids are ignored.
pub(crate) fn acknowledge(conn: &Connection, ids: &[[u8; 16]]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(ACKNOWLEDGE).map_err(sqlite)?;
    for id in ids {
        stmt.execute([id]).map_err(sqlite)?;
    }
    Ok(())
}

/// The pending messages and the earliest instant one of them is available
/// from: a walk of `outbox_pending`.
const PENDING: &str = "SELECT count(*), min(available_at) FROM outbox WHERE delivered = 0";

/// Sets the gauges of the outbox as a take at `now` finds it: the messages
/// not yet acknowledged ([`OUTBOX_BACKLOG`]), and how long the one
/// available the longest has waited to be taken
/// ([`OUTBOX_OLDEST_PENDING_SECONDS`], 0 when every pending message is
/// leased). Counting walks the pending messages' index, which a sender
/// that keeps up keeps short. A failure to count is reported, and the
/// take goes on.
pub(crate) fn observe_pending(conn: &Connection, now: i64) {
    let pending = conn.prepare_cached(PENDING).and_then(|mut stmt| {
        stmt.query_row([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
        })
    });
    match pending {
        Ok((count, earliest)) => {
            let waited = earliest.map_or(0, |at| now.saturating_sub(at).max(0));
            metrics::gauge!(OUTBOX_BACKLOG, "store" => "sqlite").set(count as f64);
            metrics::gauge!(OUTBOX_OLDEST_PENDING_SECONDS, "store" => "sqlite")
                .set(waited as f64 / 1e6);
        }
        Err(error) => {
            crate::threads::thread_failed("writer", "the outbox could not be counted", Some(&error))
        }
    }
}
