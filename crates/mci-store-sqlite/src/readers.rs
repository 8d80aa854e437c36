//! The readers: a few threads, each owning a read-only connection, taking
//! read jobs from one shared, bounded channel
//! ([`Options::reader_queue`](crate::Options::reader_queue)): a caller
//! finding it full awaits a slot, without blocking its executor.
//!
//! In WAL mode readers never wait for the writer nor it for them; each read
//! runs in its own read transaction, so a read of several statements (the
//! counts of two tabs) sees one snapshot. A read sent after a commit was
//! answered sees that commit. Answers go back over a oneshot, which any
//! async runtime can await.

use crate::threads::{self, Sent};
use mci_store::StoreError;
use mci_store::observe::SQLITE_READER_QUEUE_DEPTH;
use rusqlite::Connection;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::Receiver;

/// A read to run on one of the reader connections.
pub(crate) type ReadJob = Box<dyn FnOnce(&mut Connection) + Send>;

/// A reader's loop: takes the next job from the shared channel until it is
/// closed.
pub(crate) fn run(mut conn: Connection, jobs: Arc<Mutex<Receiver<Sent<ReadJob>>>>) {
    loop {
        let next = {
            // A reader that panicked while waiting left the receiver as it
            // was.
            let mut receiver = jobs.lock().unwrap_or_else(|p| p.into_inner());
            let next = threads::next(&mut receiver, true);
            metrics::gauge!(SQLITE_READER_QUEUE_DEPTH).set(receiver.len() as f64);
            next
        };
        match next {
            Some(job) => job(&mut conn),
            None => break,
        }
    }
    threads::close("reader", conn);
}

/// Runs `read` in one read transaction: one snapshot for all its
/// statements.
pub(crate) fn in_snapshot<T>(
    conn: &mut Connection,
    read: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let tx = conn.transaction().map_err(crate::error::sqlite)?;
    let result = read(&tx);
    // A read transaction has nothing to commit; ending it releases the
    // snapshot. A failure to end it leaves the read's answer as it is.
    if let Err(error) = tx.rollback() {
        threads::thread_failed("reader", "a read transaction did not end", Some(&error));
    }
    result
}
