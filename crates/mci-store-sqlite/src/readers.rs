//! The readers: a few threads, each owning a read-only connection, taking
//! read jobs from one shared channel.
//!
//! In WAL mode readers never wait for the writer nor it for them; each read
//! runs in its own read transaction, so a read of several statements (the
//! counts of two tabs) sees one snapshot. A read sent after a commit was
//! answered sees that commit. Answers go back over a oneshot, which any
//! async runtime can await.

use mci_store::StoreError;
use rusqlite::Connection;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

/// A read to run on one of the reader connections.
pub(crate) type ReadJob = Box<dyn FnOnce(&mut Connection) + Send>;

/// A reader's loop: takes the next job from the shared channel until it is
/// closed.
pub(crate) fn run(mut conn: Connection, jobs: Arc<Mutex<Receiver<ReadJob>>>) {
    loop {
        let next = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            // A reader that panicked while waiting left the receiver as it
            // was.
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match next {
            Ok(job) => job(&mut conn),
            Err(_) => break,
        }
    }
    let _ = conn.close();
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
    // snapshot.
    let _ = tx.rollback();
    result
}
