//! The checkpointer: one thread that copies the WAL back into the database
//! file, so that no commit waits for it.
//!
//! In WAL mode a commit appends its pages to the `-wal` file; a checkpoint
//! later copies them into the database file and lets the WAL start over.
//! SQLite's default runs that checkpoint inside the commit that crosses a
//! thousand WAL pages, which then takes several times as long as the
//! others, and its callers with it. Here the writer's connection has
//! `wal_autocheckpoint` off, and after each group it wakes this thread,
//! which runs `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own:
//! a passive checkpoint copies what no reader still needs and never blocks
//! the writer or the readers.
//!
//! After a checkpoint the thread rests for
//! [`Options::checkpoint_pause`](crate::Options::checkpoint_pause) before it
//! looks for the next wake-up, so under a steady stream of commits it
//! checkpoints about once per pause, and the WAL holds what was written in
//! about one pause. When the writer ends, the checkpointer does a last
//! checkpoint and ends too.
//!
//! A checkpoint that fails (another process holding the checkpoint lock, an
//! I/O error) leaves the pages in the WAL, where readers find them and the
//! next checkpoint copies them: nothing is lost, the WAL is only longer.

use rusqlite::Connection;
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// The checkpointer's loop: a passive checkpoint per wake-up, then a pause,
/// until the writer's end closes the channel.
pub(crate) fn run(conn: Connection, written: Receiver<()>, pause: Duration) {
    while written.recv().is_ok() {
        let _ = checkpoint(&conn);
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    let _ = checkpoint(&conn);
    let _ = conn.close();
}

/// One passive checkpoint: how many WAL frames there were and how many are
/// now in the database file.
pub(crate) fn checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}
