//! The checkpointer: one thread that copies the WAL back into the database
//! file, so that commits do not wait for it.
//!
//! In WAL mode a commit appends its pages to the `-wal` file; a checkpoint
//! later copies them into the database file. SQLite's default runs that
//! checkpoint inside the commit that brings the WAL to a thousand pages,
//! which then takes several times as long as the others, and its callers
//! with it. Here the writer's connection has `wal_autocheckpoint` off, and
//! after each group it wakes this thread, which runs
//! `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own: a passive
//! checkpoint copies what no reader still needs and never blocks the
//! writer or the readers. After a checkpoint the thread rests for
//! [`Options::checkpoint_pause`](crate::Options::checkpoint_pause), so
//! under a steady stream of commits it checkpoints about once per pause.
//!
//! The WAL only starts over from its beginning when the writer begins a
//! transaction with every frame of the WAL copied. Under a steady stream of
//! commits the checkpointer never quite catches up (the writer has always
//! written a little more), so it tells the writer how long the WAL is
//! ([`WalLength`]), and once that passes [`RESTART_FRAMES`] the writer
//! copies the last few frames itself, between two groups: its next
//! transaction then starts the WAL over. That bounds the WAL to about
//! [`RESTART_FRAMES`] pages plus what is written in one pause.
//!
//! When the writer ends, the checkpointer stops resting, does a last
//! checkpoint and ends too. A checkpoint that fails (another process
//! holding the checkpoint lock, an I/O error) leaves the pages in the WAL,
//! where readers find them and the next checkpoint copies them: nothing is
//! lost, the WAL is only longer.

use rusqlite::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How many WAL frames (pages) make the writer close the gap the
/// checkpointer leaves so that the WAL starts over: 4096, 16 MiB of 4 KiB
/// pages.
pub(crate) const RESTART_FRAMES: u32 = 4096;

/// How many frames the WAL held at the last checkpoint, as the checkpointer
/// found it; shared with the writer.
#[derive(Debug, Clone, Default)]
pub(crate) struct WalLength(Arc<AtomicU32>);

impl WalLength {
    fn set(&self, frames: i64) {
        self.0
            .store(u32::try_from(frames).unwrap_or(0), Ordering::Relaxed);
    }

    /// Whether the WAL is long enough for the writer to start it over.
    pub(crate) fn calls_for_restart(&self) -> bool {
        self.0.load(Ordering::Relaxed) >= RESTART_FRAMES
    }

    /// The writer copied every frame: the WAL starts over at its next
    /// transaction.
    pub(crate) fn restarting(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// The checkpointer's loop: a passive checkpoint when woken, then a rest of
/// `pause`, until the writer's end closes the channel.
pub(crate) fn run(conn: Connection, wake: Receiver<()>, pause: Duration, length: WalLength) {
    let mut woken = wake.recv().is_ok();
    while woken {
        if let Ok(Copied { frames, .. }) = checkpoint(&conn) {
            length.set(frames);
        }
        woken = match rest(&wake, pause) {
            Rest::Woken => true,
            Rest::Idle => wake.recv().is_ok(),
            Rest::Ended => false,
        };
    }
    let _ = checkpoint(&conn);
    let _ = conn.close();
}

/// How a rest ended.
enum Rest {
    /// Commits came during the rest.
    Woken,
    /// No commit came.
    Idle,
    /// The writer ended.
    Ended,
}

/// Rests for `pause`, noting whether commits came meanwhile; the writer's
/// end ends the rest at once.
fn rest(wake: &Receiver<()>, pause: Duration) -> Rest {
    let until = Instant::now().checked_add(pause);
    let mut woken = false;
    loop {
        let left = until.map_or(Duration::MAX, |u| {
            u.saturating_duration_since(Instant::now())
        });
        if left.is_zero() {
            return if woken { Rest::Woken } else { Rest::Idle };
        }
        match wake.recv_timeout(left) {
            Ok(()) => woken = true,
            Err(RecvTimeoutError::Timeout) => {
                return if woken { Rest::Woken } else { Rest::Idle };
            }
            Err(RecvTimeoutError::Disconnected) => return Rest::Ended,
        }
    }
}

/// What one passive checkpoint found and did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Copied {
    /// The frames in the WAL.
    pub(crate) frames: i64,
    /// How many of them are now in the database file.
    pub(crate) copied: i64,
    /// Another connection was checkpointing: nothing was done.
    pub(crate) busy: bool,
}

impl Copied {
    /// Every frame of the WAL is in the database file.
    pub(crate) fn all(&self) -> bool {
        !self.busy && self.frames >= 0 && self.copied == self.frames
    }
}

/// One passive checkpoint on `conn`.
pub(crate) fn checkpoint(conn: &Connection) -> rusqlite::Result<Copied> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok(Copied {
            busy: r.get::<_, i64>(0)? != 0,
            frames: r.get(1)?,
            copied: r.get(2)?,
        })
    })
}
