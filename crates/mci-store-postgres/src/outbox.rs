//! The outbox (R-REC-2), shared by every server: messages are written with
//! the change that queued them, taken with a lease, and acknowledged.
//!
//! Taking is one statement: it picks the pending messages available at
//! `now`, oldest first, with `FOR UPDATE SKIP LOCKED`, and moves their
//! `available_at` to the end of the lease, counting the attempt. A message
//! another server is taking at that moment is locked, so it is skipped, not
//! waited for; once that server's statement commits, the message is
//! available only at the end of its lease. So within one lease no message
//! goes to two servers, and an unacknowledged message comes back when its
//! lease ends (at least once). An acknowledged message leaves the
//! `outbox_pending` index and is never taken again; it stays in the table
//! (R-REC-3).
//!
//! `seq` is an identity: the order messages were given their numbers, not
//! the order their transactions committed, so a batch is "oldest available
//! first", not a total order; nothing relies on more.

use crate::db::{Failure, exec, one, rows};
use mci_store::observe::{OUTBOX_BACKLOG, OUTBOX_OLDEST_PENDING_SECONDS};
use uuid::Uuid;

/// Leases up to $3 pending messages available at $1 until $2: each one's
/// previous availability, seq, document and attempts.
pub const TAKE: &str = "WITH taken AS ( \
         SELECT seq, available_at FROM outbox \
         WHERE NOT delivered AND available_at <= $1 \
         ORDER BY available_at, seq LIMIT $3 \
         FOR UPDATE SKIP LOCKED) \
     UPDATE outbox AS o SET available_at = $2, attempts = o.attempts + 1 \
     FROM taken WHERE o.seq = taken.seq \
     RETURNING taken.available_at, o.seq, o.doc, o.attempts";

/// The pending messages and the earliest instant one of them is available
/// from: a walk of `outbox_pending`.
pub(crate) const PENDING: &str =
    "SELECT count(*), min(available_at) FROM outbox WHERE NOT delivered";

/// Marks messages delivered; unknown or delivered ids are left.
pub const ACKNOWLEDGE: &str =
    "UPDATE outbox SET delivered = true WHERE id = ANY($1::uuid[]) AND NOT delivered";

/// Takes up to `limit` messages available at `now` and leases them until
/// `lease_until`: each message's document and its attempt number, oldest
/// available first.
pub(crate) async fn take(
    client: &impl deadpool_postgres::GenericClient,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<(String, u32)>, Failure> {
    observe_pending(client, now).await?;
    let mut taken = Vec::new();
    for row in rows(client, TAKE, &[&now, &lease_until, &limit]).await? {
        let (was, seq, doc, attempts): (i64, i64, String, i32) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        taken.push(((was, seq), doc, u32::try_from(attempts).unwrap_or(u32::MAX)));
    }
    taken.sort_unstable_by_key(|(order, _, _)| *order);
    Ok(taken
        .into_iter()
        .map(|(_, doc, attempt)| (doc, attempt))
        .collect())
}

/// Marks the messages `ids` delivered, in id order.
pub(crate) async fn acknowledge(
    client: &impl deadpool_postgres::GenericClient,
    mut ids: Vec<Uuid>,
) -> Result<(), Failure> {
    ids.sort_unstable();
    exec(client, ACKNOWLEDGE, &[&ids]).await?;
    Ok(())
}

/// Sets the gauges of the outbox as a take at `now` finds it: the messages
/// not yet acknowledged ([`OUTBOX_BACKLOG`]) and how long the one available
/// the longest has waited to be taken ([`OUTBOX_OLDEST_PENDING_SECONDS`], 0
/// when every pending message is leased). Counting walks the pending
/// messages' index, which a sender that keeps up keeps short.
async fn observe_pending(
    client: &impl deadpool_postgres::GenericClient,
    now: i64,
) -> Result<(), Failure> {
    let row = one(client, PENDING, &[]).await?;
    let (count, earliest): (i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
    let waited = earliest.map_or(0, |at| now.saturating_sub(at).max(0));
    metrics::gauge!(OUTBOX_BACKLOG, "store" => "postgres").set(count as f64);
    metrics::gauge!(OUTBOX_OLDEST_PENDING_SECONDS, "store" => "postgres").set(waited as f64 / 1e6);
    Ok(())
}
