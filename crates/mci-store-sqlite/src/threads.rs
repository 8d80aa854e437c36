//! The store's background threads: how they start, how they tell that they
//! ended, and how their failures are reported.
//!
//! Each thread holds, for as long as it runs, an [`Exit`] guard: dropped
//! when the thread's work returns or unwinds, it reports a panic (a
//! `tracing` error event and the counter
//! [`SQLITE_THREAD_FAILURES_TOTAL`]) and then fires a oneshot that
//! [`Worker::ended`] awaits. So [`SqliteStore::close`](crate::SqliteStore::close)
//! waits for the threads without blocking an executor: by the time the
//! oneshot fires, the thread has done all its work, closed its connection,
//! and only returns, so joining it takes no longer than the thread's own
//! teardown.
//!
//! Failures that do not end a thread (a checkpoint that failed, a connection
//! that did not close cleanly) are reported the same way by
//! [`thread_failed`] and [`checkpoint_failed`], never dropped. The events
//! carry SQLite's error message, which names no value of any row.

use futures_channel::oneshot;
use mci_store::observe::{SQLITE_CHECKPOINT_FAILURES_TOTAL, SQLITE_THREAD_FAILURES_TOTAL};
use std::thread::JoinHandle;
use tokio::sync::mpsc::Receiver;

/// A running background thread.
#[derive(Debug)]
pub(crate) struct Worker {
    /// The thread's name, such as `mci-sqlite-reader-2`.
    name: String,
    handle: JoinHandle<()>,
    exited: oneshot::Receiver<()>,
}

/// What a thread's channel carries: a job, or the store's word that it is
/// closing.
pub(crate) enum Sent<J> {
    /// A job to do.
    Job(J),
    /// The store is closing: no job is taken after those already sent.
    Close,
}

/// The next job in `jobs`, waiting for one when `wait`; `None` once the
/// channel is closed and drained (or, without waiting, empty). A
/// [`Sent::Close`] closes the channel: the jobs already in it are still
/// taken, callers still waiting for a slot are refused, and no job is sent
/// after.
pub(crate) fn next<J>(jobs: &mut Receiver<Sent<J>>, wait: bool) -> Option<J> {
    loop {
        let sent = match wait {
            true => jobs.blocking_recv()?,
            false => jobs.try_recv().ok()?,
        };
        match sent {
            Sent::Job(job) => return Some(job),
            Sent::Close => jobs.close(),
        }
    }
}

/// How a thread ended that did not end well.
#[derive(Debug)]
pub(crate) struct Panicked {
    /// The thread's name.
    pub(crate) name: String,
}

/// Starts `work` on a thread named `name`, whose failures are reported as
/// those of `role` (`writer`, `reader`, `checkpointer`).
pub(crate) fn spawn(
    name: String,
    role: &'static str,
    work: impl FnOnce() + Send + 'static,
) -> std::io::Result<Worker> {
    let (signal, exited) = oneshot::channel();
    let handle = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let _exit = Exit {
                role,
                signal: Some(signal),
            };
            work();
        })?;
    Ok(Worker {
        name,
        handle,
        exited,
    })
}

impl Worker {
    /// Waits, without blocking, until the thread has ended; `Err` if it
    /// panicked.
    pub(crate) async fn ended(self) -> Result<(), Panicked> {
        // Fired by the thread's `Exit` guard, or dropped with it: either
        // way the thread's work is over.
        let Worker {
            name,
            handle,
            exited,
        } = self;
        let _ = exited.await;
        Worker::joined(name, handle)
    }

    /// Waits, blocking, until the thread has ended; `Err` if it panicked.
    pub(crate) fn join(self) -> Result<(), Panicked> {
        Worker::joined(self.name, self.handle)
    }

    fn joined(name: String, handle: JoinHandle<()>) -> Result<(), Panicked> {
        handle.join().map_err(|_| Panicked { name })
    }
}

/// Held by a thread while it runs: reports a panic and tells that the
/// thread ended.
struct Exit {
    role: &'static str,
    signal: Option<oneshot::Sender<()>>,
}

impl Drop for Exit {
    fn drop(&mut self) {
        if std::thread::panicking() {
            thread_failed(self.role, "panicked", None);
        }
        if let Some(signal) = self.signal.take() {
            // Nobody awaits the end of a thread of a store being dropped:
            // the drop joins the thread instead.
            let _ = signal.send(());
        }
    }
}

/// Reports that the thread of `role` met `failure` (a fixed phrase), with
/// SQLite's `error` if there is one.
pub(crate) fn thread_failed(
    role: &'static str,
    failure: &'static str,
    error: Option<&rusqlite::Error>,
) {
    match error {
        Some(error) => tracing::error!(
            thread = role,
            failure,
            error = %error,
            "a background thread of the SQLite store failed"
        ),
        None => tracing::error!(
            thread = role,
            failure,
            "a background thread of the SQLite store failed"
        ),
    }
    metrics::counter!(SQLITE_THREAD_FAILURES_TOTAL, "thread" => role).increment(1);
}

/// Reports that a checkpoint of `mode` (`passive`, `restart`, `truncate`,
/// `close`) failed with `error`: its pages stay in the WAL, where readers
/// find them and the next checkpoint copies them.
pub(crate) fn checkpoint_failed(mode: &'static str, error: &rusqlite::Error) {
    tracing::error!(
        mode,
        error = %error,
        "a checkpoint of the SQLite store failed; its pages stay in the WAL"
    );
    metrics::counter!(SQLITE_CHECKPOINT_FAILURES_TOTAL, "mode" => mode).increment(1);
}

/// Closes `conn`, the connection of the thread of `role`, reporting a
/// failure to close.
pub(crate) fn close(role: &'static str, conn: rusqlite::Connection) {
    if let Err((_, error)) = conn.close() {
        thread_failed(role, "its connection did not close", Some(&error));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    #[test]
    fn a_panicked_thread_is_reported_and_its_end_still_told() {
        // The only test of this binary that installs a recorder: the
        // thread records into the global one.
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder.install().unwrap();

        let worker = spawn("mci-sqlite-test".into(), "test", || panic!("a bug")).unwrap();
        let ended = block_on(worker.ended());
        assert_eq!(ended.unwrap_err().name, "mci-sqlite-test");
        let failures: Vec<_> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| {
                key.key().name() == SQLITE_THREAD_FAILURES_TOTAL
                    && key
                        .key()
                        .labels()
                        .any(|l| l.key() == "thread" && l.value() == "test")
            })
            .map(|(.., value)| value)
            .collect();
        assert_eq!(failures, vec![DebugValue::Counter(1)]);

        let quiet = spawn("mci-sqlite-test".into(), "test", || {}).unwrap();
        assert!(block_on(quiet.ended()).is_ok());
    }

    /// Polls `future` on this thread until it is ready.
    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        let mut future = std::pin::pin!(future);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
            std::thread::yield_now();
        }
    }
}
