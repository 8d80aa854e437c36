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
//! transaction with every frame of the WAL copied and no read still using
//! the WAL. Under a steady stream of commits that seldom happens by itself:
//! the checkpointer never quite catches up (the writer has always written a
//! little more), and some read is nearly always under way. So the writer
//! counts the WAL's frames after each commit ([`count_wal_frames`]), and
//! once they reach [`RESTART_FRAMES`] it starts the WAL over itself,
//! between two groups ([`start_over`]): it copies the frames the
//! checkpointer has not and waits, up to [`READERS_WAIT`], for the reads
//! that began before to end. The WAL then holds at most [`RESTART_FRAMES`]
//! pages plus those of the group that crossed it. A read that lasts longer
//! than [`READERS_WAIT`] keeps the WAL growing until it ends; the writer
//! tries again each time the WAL has grown by another [`RESTART_FRAMES`].
//!
//! On a full disk the WAL holds the space the database file would need to
//! take in its frames. After a commit fails for want of space, the writer
//! copies the WAL into the database file and truncates it to nothing before
//! its next group ([`StartOver::Truncate`]), until that succeeds: once space
//! is freed, the WAL gives its own back and writes succeed again.
//!
//! When the writer ends, the checkpointer stops resting, does a last
//! checkpoint and ends too. A checkpoint that fails (an I/O error, a
//! connection that cannot read the WAL) leaves the pages in the WAL, where
//! readers find them and the next checkpoint copies them: nothing is lost,
//! the WAL is only longer. Each failure is reported, as a `tracing` error
//! event and on the counter `mci_sqlite_checkpoint_failures_total`
//! ([`crate::threads`]).

use rusqlite::Connection;
use rusqlite::hooks::Wal;
use std::cell::Cell;
use std::ffi::c_int;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How many WAL frames (pages) make the writer start the WAL over: 4096,
/// 16 MiB of 4 KiB pages.
pub(crate) const RESTART_FRAMES: u32 = 4096;

/// How long the writer, starting the WAL over, waits for the reads that
/// still use it: 100 ms, many times a read of the store's own.
pub(crate) const READERS_WAIT: Duration = Duration::from_millis(100);

thread_local! {
    /// The frames in the WAL after the last commit of the connection that
    /// counts them on this thread: the writer's.
    static WAL_FRAMES: Cell<u32> = const { Cell::new(0) };
}

/// SQLite's WAL hook: called after each commit with the frames now in the
/// WAL.
fn note_wal_frames(_: &Wal, frames: c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.with(|f| f.set(u32::try_from(frames).unwrap_or(0)));
    Ok(())
}

/// Counts the WAL's frames after each commit of `conn`, which commits on
/// this thread; [`wal_frames`] answers. Replaces SQLite's automatic
/// checkpoint, which is off on the writer's connection.
pub(crate) fn count_wal_frames(conn: &Connection) {
    conn.wal_hook(Some(note_wal_frames));
}

/// The frames in the WAL after this thread's last commit, or 0 since the
/// WAL started over.
pub(crate) fn wal_frames() -> u32 {
    WAL_FRAMES.with(Cell::get)
}

/// How [`start_over`] leaves the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartOver {
    /// The next transaction writes the WAL from its start, over the frames
    /// of the file (`wal_checkpoint(RESTART)`).
    Restart,
    /// The WAL file is also truncated to nothing, which gives its space
    /// back to the file system (`wal_checkpoint(TRUNCATE)`).
    Truncate,
}

/// Copies every frame of the WAL into the database file and waits up to
/// `readers_wait` for the reads that still use the WAL, so that the WAL
/// starts over as `how` says. A checkpoint another connection is running
/// is waited out, up to `busy_timeout`, which `conn` gets back afterwards.
/// `Ok(true)` when the WAL starts over, `Ok(false)` when a read or a
/// checkpoint kept it from it.
pub(crate) fn start_over(
    conn: &Connection,
    how: StartOver,
    readers_wait: Duration,
    busy_timeout: Duration,
) -> rusqlite::Result<bool> {
    let sql = match how {
        StartOver::Restart => "PRAGMA wal_checkpoint(RESTART)",
        StartOver::Truncate => "PRAGMA wal_checkpoint(TRUNCATE)",
    };
    conn.busy_timeout(readers_wait)?;
    let until = Instant::now().checked_add(busy_timeout);
    let outcome = loop {
        match copy(conn, sql) {
            Ok(copied) if !copied.busy => {
                WAL_FRAMES.with(|f| f.set(0));
                break Ok(true);
            }
            // Another connection holds the checkpoint lock (it reports no
            // frames): its checkpoint never waits, so it ends soon.
            Ok(copied) if copied.frames < 0 && until.is_none_or(|u| Instant::now() < u) => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(_) => break Ok(false),
            Err(error) => break Err(error),
        }
    };
    conn.busy_timeout(busy_timeout)?;
    outcome
}

/// The checkpointer's loop: a passive checkpoint when woken, then a rest of
/// `pause`, until the writer's end closes the channel.
pub(crate) fn run(conn: Connection, wake: Receiver<()>, pause: Duration) {
    let mut woken = wake.recv().is_ok();
    while woken {
        passive(&conn, "passive");
        woken = match rest(&wake, pause) {
            Rest::Woken => true,
            Rest::Idle => wake.recv().is_ok(),
            Rest::Ended => false,
        };
    }
    passive(&conn, "close");
    crate::threads::close("checkpointer", conn);
}

/// One passive checkpoint, its failure reported as one of `mode`.
fn passive(conn: &Connection, mode: &'static str) {
    if let Err(error) = checkpoint(conn) {
        crate::threads::checkpoint_failed(mode, &error);
    }
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

/// What one checkpoint found and did.
#[derive(Debug, Clone, Copy)]
struct Copied {
    /// The frames in the WAL.
    frames: i64,
    /// The checkpoint could not do all it was asked: another connection
    /// was checkpointing (`frames` is then -1), or a read kept it from
    /// copying every frame or from starting the WAL over.
    busy: bool,
}

/// One passive checkpoint on `conn`.
fn checkpoint(conn: &Connection) -> rusqlite::Result<Copied> {
    copy(conn, "PRAGMA wal_checkpoint(PASSIVE)")
}

/// Runs the checkpoint `sql` on `conn`.
fn copy(conn: &Connection, sql: &str) -> rusqlite::Result<Copied> {
    conn.query_row(sql, [], |r| {
        Ok(Copied {
            busy: r.get::<_, i64>(0)? != 0,
            frames: r.get(1)?,
        })
    })
}
