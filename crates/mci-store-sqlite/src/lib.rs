//! The SQLite store of the mci crates: one database file, no server.
//!
//! [`SqliteStore`] implements [`mci_store::Store`] and passes its whole
//! conformance suite on real files. It is the store most applications run
//! on:
//!
//! - **Durable and crash-safe.** WAL journal, foreign keys on, every commit
//!   one transaction (state, event, outbox message, R-REC-1, R-REC-2).
//!   [`Durability`] chooses what a power loss may cost.
//! - **The guards in the database.** Each commit is checked inside the
//!   writer's `BEGIN IMMEDIATE` transaction: expected versions with
//!   `UPDATE ... WHERE id = ? AND version = ?` (R-REC-4), and the guards of
//!   R-CONSENT-8, R-CONSENT-10, R-ADD-7 and R-ENG-5 counted in SQL against the stored
//!   standings, backed by a partial unique index for consents held for
//!   good. A failed check is a typed [`StoreError`], never a partial write.
//! - **Never blocks an executor, on any runtime.** One writer thread owns
//!   the write connection; a few reader threads own read connections;
//!   callers send over bounded queues, awaiting a free slot when one is
//!   full ([`Options::writer_queue`], [`Options::reader_queue`]), and await
//!   a oneshot answer. [`SqliteStore::close`] ends the threads the same way.
//! - **Group commit.** Commits that arrive while the writer is busy are
//!   written together in one transaction, each in its own savepoint, so one
//!   failed check fails only its own commit and the group costs one sync
//!   (see [Group commit](#group-commit)).
//! - **Index walks only.** Every tab page and the sweep's due query is a
//!   bounded walk of an index, in keyset order, with no table scan; the
//!   only sort is of a page's rows that lapsed and are not swept yet, which
//!   the sweep keeps few (R-PAGE-1, R-PAGE-7, R-TIME-4). The Attention
//!   required list is two walks of one index, merged, each as long as the
//!   list (R-LIST-3). The counts of the tabs are kept in a table that
//!   triggers change with every write of a row, corrected at read time by
//!   the lapses the sweep has not written yet: a count never walks a
//!   partner's nominations (R-PAGE-9). The known
//!   customers of a page are kept as rows per engagement, with their
//!   figures, in the transaction of each change, so their pages and counts
//!   are index walks too (R-PAGE-9, see [Storage](#storage)).
//! - **Versioned schema.** Opening a path creates the database or migrates
//!   it forward ([`schema`]); a newer schema, a file that is not SQLite, a
//!   corrupt file or another application's database is refused with an
//!   [`OpenError`] and left as it is.
//!
//! It uses [rusqlite](https://docs.rs/rusqlite): well-kept bindings whose
//! `bundled` feature compiles SQLite into the crate, so the store works
//! out of the box with a known SQLite. The `bundled` feature of this crate
//! (on by default) turns it on; turn it off to link the SQLite the
//! application already uses (3.34.1 or later). The tests use
//! [tempfile](https://docs.rs/tempfile) for database files in directories
//! that are removed when the test ends.
//!
//! # Example
//!
//! ```
//! use mci_core::Candidate;
//! use mci_store::{Commit, Store};
//! use mci_store_sqlite::SqliteStore;
//! use mci_testkit::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(dir.path().join("mci.sqlite"))?;
//!
//! // The core decides: partner 1 adds Contoso to a workshop.
//! let (workshop, _) = workshop();
//! let candidates = [Candidate { engagement: &workshop, facts: eligible_facts() }];
//! let outcome = mci_core::nominate(t0(), &admin(), nomination_request(), &candidates, || nomination_id(1))?
//!     .remove(0);
//! let nomination = outcome.nomination.clone();
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! // The store writes it whole, guards checked, and reads it back.
//! store.commit(Commit::of(t0(), outcome)).await?;
//! assert_eq!(store.nomination(&partner(1), nomination.id()).await?, Some(nomination.clone()));
//! assert_eq!(store.history(nomination.id()).await?.len(), 1);
//! // Another partner does not see it (R-ROLE-2).
//! assert_eq!(store.nomination(&partner(2), nomination.id()).await?, None);
//! # Ok::<_, mci_store::StoreError>(())
//! # })?;
//! # Ok(())
//! # }
//! ```
//!
//! # Group commit
//!
//! The writer takes the first commit waiting in its channel and every
//! commit already waiting behind it (up to [`Options::max_group`]), and
//! writes them in one `BEGIN IMMEDIATE` ... `COMMIT`, each inside its own
//! `SAVEPOINT`. A commit whose check fails is rolled back to its savepoint
//! and answered with its error; the others are written. Each caller is
//! answered only after the `COMMIT` succeeded; if it fails, every caller of
//! the group gets a [`StoreError::Unavailable`](mci_store::StoreError::Unavailable)
//! whose source is a [`BackendError::Group`] ([`BackendError::DiskFull`]
//! when the disk is full): nothing was written, and the same commit may
//! succeed when retried (`is_retryable()`), as the commit that broke the
//! group may have been another caller's. Before
//! it answers, the writer checks that the path still names the file it
//! opened (its device and inode): if the file was deleted or replaced, the
//! group and every later write are refused with
//! [`BackendError::FileReplaced`], which names the path. A
//! commit sees the commits before it in its group, as if each had been a
//! transaction of its own, in the order they arrived. Under load the groups
//! grow by themselves, so the store writes many commits per sync instead of
//! one; alone, a commit is a group of one.
//!
//! # Checkpoints
//!
//! A commit appends to the WAL (the `-wal` file beside the database); a
//! checkpoint copies the WAL's pages into the database file so that the
//! WAL can start over. SQLite's default does that inside the commit that
//! crosses a thousand pages, whose callers then wait for it. This store
//! turns that off and checkpoints on a thread of its own, after commits and
//! at most once per [`Options::checkpoint_pause`], with a passive
//! checkpoint that never blocks the writer or the readers. Readers see
//! every commit whether or not it is checkpointed.
//!
//! Under steady commits the WAL would not start over by itself: some page
//! is always still to copy, some read always under way. So the writer
//! counts the WAL's pages after each group, and when a next group as long
//! as the last would take it past 4096 pages (16 MiB of 4 KiB pages), it
//! starts the WAL over between two groups: it copies the pages the
//! checkpointer has not and waits, up to 100 ms, for the reads that use the
//! WAL, while the next commits wait (about 30 ms each 16 MiB at full load).
//! The WAL so stays at about 4096 pages under any load: a group that writes
//! more pages than the one before takes it past by the difference. A read
//! longer than 100 ms keeps it growing until the read ends, as in SQLite's
//! default; the writer tries again each time it has grown by 4096 pages.
//!
//! On a full disk a commit fails with [`BackendError::DiskFull`] and writes
//! nothing, and the store stays open. Before its next group the writer
//! copies the WAL into the database file and truncates the WAL, which gives
//! its space back as soon as the file can take in its pages, and from then
//! on keeps the WAL to half the length it had when the disk was full: once
//! space is freed, writes succeed again.
//!
//! # What an operator sees
//!
//! The store emits, through the [`metrics`](https://docs.rs/metrics)
//! facade, the latency and size of each commit group, the depth of the
//! writer's and the readers' queues, the WAL's length, the outbox's backlog
//! and the age of its oldest waiting message, `SQLITE_BUSY` answers, and
//! the failures of its background threads: checkpoints that failed, a
//! thread that panicked, a connection that did not close. Each failure is
//! also a `tracing` error event; none is dropped. The names, types, units
//! and labels are listed with the service's in `mci_engagements`'
//! `observability` module; the constants are in [`mci_store::observe`].
//!
//! # Storage
//!
//! A nomination is one row: its JSON document, beside plain columns for
//! what queries filter on, all derived by the core (the placement and the
//! standing, [`mci_store::Derived`]). Instants are integers of
//! microseconds, exact over chrono's whole range ([`columns::instant`]), ids
//! the bytes of their UUID, so SQLite's order is the values' order. Events,
//! live links, the outbox, known customers, idempotency records and payout
//! batches have tables of their own. The schema, a comment on every table
//! and index, is the SQL of [`schema::MIGRATIONS`].
//!
//! The known customers' rows of each engagement's page (`mci_store` "Known
//! customers") are a table keyed by (partner, engagement, customer), with
//! the kept placement as columns (tab, checked, the instant it changes) and
//! the customer, the kept answer and the placement as JSON; the figures of
//! each partner's engagement are a row of their own, moved in the
//! transaction of each change of a row; and the engagements rows are kept
//! for, with how far [`Store::seed_known`](mci_store::Store::seed_known)
//! got, a third table. A known page is the rows of its tab whose placement
//! holds, merged in customer order with the few whose placement stopped
//! holding, placed again at the instant read; counts are the figures
//! corrected by those few. A file migrated from before schema version 7 has
//! no known rows until each engagement is seeded.
//!
//! The derived columns are those of the mci-core version that wrote each
//! row: a change to how the core derives a placement or a standing needs a
//! migration that derives them again.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attention;
mod checkpoint;
mod claims;
pub mod columns;
mod commit;
mod error;
mod file;
mod known;
mod outbox;
mod queries;
mod readers;
pub mod schema;
mod setting;
mod threads;
mod writer;

/// The SQL the store runs, as its modules make it: for the benchmarks,
/// whose raw baselines run the very same statements on a plain rusqlite
/// connection. Not part of the store's API: the statements change with the
/// store's schema and its plans.
#[doc(hidden)]
pub mod statements {
    /// The Claims page (`claims.rs`, R-LIST-1).
    pub mod claims {
        pub use crate::claims::{PARTNER_COUNTS, PARTNER_LAPSES};

        /// The one statement of the page `query` asks for, its parameters
        /// named (`:partner`, `:engagement`, `:state`, `:now`, `:at`,
        /// `:id`, `:limit`; each only where the list needs it).
        pub fn page(query: &mci_store::ClaimsQuery) -> String {
            crate::claims::Shape::of(query).sql()
        }
    }
}

pub use error::{BackendError, BoxError, OpenError};

use async_trait::async_trait;
use futures_channel::oneshot;
use mci_core::{
    CustomerId, EngagementId, Event, Instant, KnownCustomer, Message, MessageId, Nomination,
    NominationId, PartnerId, PayoutBatch, PayoutBatchId, Standing, TokenHash,
};
use mci_store::observe::{SQLITE_READER_QUEUE_DEPTH, SQLITE_WRITER_QUEUE_DEPTH};
use mci_store::{
    AttentionCandidates, AttentionQuery, ClaimCounts, ClaimsPage, ClaimsQuery, ClaimsScope, Commit,
    Due, DueCursor, IdempotencyKey, IdempotentResult, KnownCounts, KnownPage, KnownQuery,
    KnownToCheck, Leased, Page, PageQuery, SettingCondition, SettingKey, SettingValue, StateQuery,
    Store, StoreError, TabCounts,
};
use readers::ReadJob;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use threads::{Sent, Worker};
use tokio::sync::mpsc::Sender;
use writer::Job;

/// What an acknowledged commit survives.
///
/// Either way a commit is atomic, and a crash of the process (even
/// `SIGKILL`) loses no acknowledged commit: it is in the WAL before the
/// caller is answered. The two differ on a power loss or an operating
/// system crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `PRAGMA synchronous = NORMAL`: the WAL is synced at checkpoints, not
    /// at each commit. A power loss can lose the last commits acknowledged
    /// before it, but never corrupts the database: it opens at a consistent
    /// earlier state. The default: commits cost no sync.
    #[default]
    Normal,
    /// `PRAGMA synchronous = FULL`: the WAL is synced at each commit, so
    /// every acknowledged commit survives a power loss. Costs one sync per
    /// transaction, which group commit shares among the commits of a group.
    Full,
}

/// How to open a store. `Options::default()` is what [`SqliteStore::open`]
/// uses.
///
/// ```
/// use mci_store_sqlite::{Durability, Options};
///
/// let options = Options { durability: Durability::Full, readers: 2, ..Options::default() };
/// assert_eq!(options.max_group, 256);
/// assert_eq!(options.writer_queue, 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// What an acknowledged commit survives; [`Durability::Normal`] by
    /// default.
    pub durability: Durability,
    /// How many reader threads, each with its own connection; at least one.
    /// 4 by default.
    pub readers: usize,
    /// How long a connection waits for a lock held by another process
    /// (`PRAGMA busy_timeout`); 5 seconds by default.
    pub busy_timeout: Duration,
    /// The most commits written in one transaction; 256 by default.
    pub max_group: usize,
    /// The most writes (commits, outbox takes and acknowledgements) that
    /// wait for the writer thread; 1024 by default, at least 1. A write
    /// finding the queue full awaits a free slot: its future waits, its
    /// executor does not. Keep it at least `max_group`, so that groups can
    /// grow to it; the gauge `mci_sqlite_writer_queue_depth` shows how full
    /// it runs.
    pub writer_queue: usize,
    /// The most reads that wait for a reader thread; 1024 by default, at
    /// least 1. A read finding the queue full awaits a free slot, as a
    /// write does; the gauge `mci_sqlite_reader_queue_depth` shows how
    /// full it runs.
    pub reader_queue: usize,
    /// The page cache of the writer's connection, in MiB; 64 by default
    /// (SQLite's own default is 2). Each commit reads the pages of the
    /// rows and index entries it changes; those not in the cache are read
    /// from the file. Readers keep SQLite's default.
    pub writer_cache_mib: u32,
    /// How long the checkpointer rests after each checkpoint before the
    /// next; 20 ms by default. Commits never wait for a checkpoint: a thread
    /// of the store copies the WAL into the database file after commits, at
    /// most once per pause (see [Checkpoints](#checkpoints)). A longer pause
    /// checkpoints less often, with a longer WAL between checkpoints.
    pub checkpoint_pause: Duration,
    /// Whether opening runs `PRAGMA quick_check` over the whole file and
    /// refuses a corrupt one ([`OpenError::Corrupt`]). Off by default: it
    /// reads every page. Without it, opening refuses a file whose header or
    /// schema is damaged, and damage elsewhere is reported by the reads
    /// that meet it.
    pub verify_on_open: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            durability: Durability::Normal,
            readers: 4,
            busy_timeout: Duration::from_secs(5),
            max_group: 256,
            writer_queue: 1024,
            reader_queue: 1024,
            writer_cache_mib: 64,
            checkpoint_pause: Duration::from_millis(20),
            verify_on_open: false,
        }
    }
}

/// The SQLite store. Open it once per file and share it as
/// `Arc<dyn Store>`.
///
/// [`SqliteStore::close`] closes it from async code: the writer finishes
/// the commits already sent, the threads end and the connections close,
/// and the file is free for another process; later calls fail with
/// [`BackendError::Closed`]. Dropping a store not closed does the same,
/// blocking the dropping thread until the threads have ended.
/// A commit whose future is dropped before its answer may still be written.
pub struct SqliteStore {
    path: PathBuf,
    /// The writer's channel, bounded: a sender awaits a free slot. Taken
    /// by the drop, which so closes it.
    writer: Option<Sender<Sent<Job>>>,
    /// The readers' channel, likewise.
    readers: Option<Sender<Sent<ReadJob>>>,
    /// The threads, until they are waited for.
    threads: tokio::sync::Mutex<Threads>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The threads of an open store.
#[derive(Default)]
struct Threads {
    /// The writer and the readers.
    workers: Vec<Worker>,
    /// Keeps the checkpointer running until the other connections are
    /// closed, so that it closes last (see [`Threads::end`]).
    checkpointer_open: Option<SyncSender<()>>,
    checkpointer: Option<Worker>,
}

impl Threads {
    /// Waits for every thread to end, the checkpointer last: the last
    /// connection to close copies the WAL into the file and removes it,
    /// which a read-only reader closing last could not. `ended` waits for
    /// one thread. The names of the threads that panicked.
    async fn end<F: Future<Output = Result<(), threads::Panicked>>>(
        &mut self,
        ended: impl Fn(Worker) -> F,
    ) -> Vec<String> {
        let mut panicked = Vec::new();
        for worker in self.workers.drain(..) {
            if let Err(failed) = ended(worker).await {
                panicked.push(failed.name);
            }
        }
        self.checkpointer_open = None;
        if let Some(worker) = self.checkpointer.take()
            && let Err(failed) = ended(worker).await
        {
            panicked.push(failed.name);
        }
        panicked
    }
}

impl SqliteStore {
    /// Opens the store in the file at `path` with the default [`Options`]:
    /// creates it if there is none, migrates an older schema forward, and
    /// refuses (leaving the file as it is) a newer schema, a file that is
    /// not SQLite, a corrupt file, or another application's database.
    ///
    /// The store needs a file: `":memory:"` cannot be put in WAL mode and is
    /// refused ([`OpenError::WalUnavailable`]); `mci-store-memory` is the
    /// store without a file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(path, Options::default())
    }

    /// Opens the store in the file at `path` with `options`; see
    /// [`SqliteStore::open`].
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Self, OpenError> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::open_writer(&path, &options)?;
        let file = file::DatabaseFile::at(&path).map_err(|error| OpenError::CannotOpen {
            path: path.clone(),
            source: Box::new(error),
        })?;
        let checkpointer = schema::open_checkpointer(&path, &options)?;
        let mut readers = Vec::with_capacity(options.readers.max(1));
        for _ in 0..options.readers.max(1) {
            readers.push(schema::open_reader(&path, &options)?);
        }
        let (jobs, jobs_inbox) = tokio::sync::mpsc::channel(options.writer_queue.max(1));
        let (reads, reads_inbox) = tokio::sync::mpsc::channel(options.reader_queue.max(1));
        let mut threads = Threads::default();
        let (wake, woken) = mpsc::sync_channel(1);
        let pause = options.checkpoint_pause;
        threads.checkpointer_open = Some(wake.clone());
        let checkpoints = writer::Checkpoints::new(wake, options.busy_timeout);
        let started = |threads: &mut Threads| -> Result<(), OpenError> {
            threads.checkpointer = Some(
                threads::spawn(
                    "mci-sqlite-checkpointer".into(),
                    "checkpointer",
                    move || checkpoint::run(checkpointer, woken, pause),
                )
                .map_err(OpenError::Threads)?,
            );
            let max_group = options.max_group;
            threads.workers.push(
                threads::spawn("mci-sqlite-writer".into(), "writer", move || {
                    writer::run(conn, jobs_inbox, max_group, Some(checkpoints), Some(file))
                })
                .map_err(OpenError::Threads)?,
            );
            let inbox = Arc::new(Mutex::new(reads_inbox));
            for (i, conn) in readers.into_iter().enumerate() {
                let inbox = inbox.clone();
                threads.workers.push(
                    threads::spawn(format!("mci-sqlite-reader-{i}"), "reader", move || {
                        readers::run(conn, inbox)
                    })
                    .map_err(OpenError::Threads)?,
                );
            }
            Ok(())
        };
        let result = started(&mut threads);
        // Made whatever the result: when a thread did not start, dropping
        // the store ends those that did.
        let store = SqliteStore {
            path,
            writer: Some(jobs),
            readers: Some(reads),
            threads: tokio::sync::Mutex::new(threads),
        };
        result.map(|()| store)
    }

    /// The file the store is in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the store: the writer writes every commit already in its
    /// queue (callers still awaiting a slot are refused with
    /// [`BackendError::Closed`]), the readers answer the reads in theirs,
    /// then every thread ends and its connection closes, the checkpointer
    /// last, which copies the WAL into the database file and removes it.
    /// Awaits all that without blocking the executor: the word to close
    /// goes down each queue, and each thread tells its end over a oneshot.
    ///
    /// Once it returns, the file is free: another process or store can
    /// open it at once. Every later call of the store fails with
    /// [`BackendError::Closed`]; closing again returns at once. A thread
    /// that panicked (reported when it did, see [`BackendError::Panicked`])
    /// makes it `Err`, after every other thread has ended.
    ///
    /// ```
    /// use mci_store::Store;
    /// use mci_store_sqlite::{BackendError, SqliteStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let store = SqliteStore::open(dir.path().join("mci.sqlite"))?;
    /// store.close().await?;
    /// let after = store.history(&mci_testkit::nomination_id(1)).await.unwrap_err();
    /// assert!(matches!(
    ///     after,
    ///     mci_store::StoreError::Backend(ref e) if matches!(e.downcast_ref(), Some(BackendError::Closed))
    /// ));
    /// // The file is free: it opens again at once.
    /// let again = SqliteStore::open(dir.path().join("mci.sqlite"))?;
    /// # drop(again);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn close(&self) -> Result<(), BackendError> {
        // The word to close, behind what was sent: the threads end once
        // they have done it. A queue closed already refuses it.
        let mut threads = self.threads.lock().await;
        if let Some(writer) = &self.writer {
            let _ = writer.send(Sent::Close).await;
        }
        if let Some(readers) = &self.readers {
            // One word closes the readers' shared channel.
            let _ = readers.send(Sent::Close).await;
        }
        let panicked = threads.end(Worker::ended).await;
        match panicked.is_empty() {
            true => Ok(()),
            false => Err(BackendError::Panicked { threads: panicked }),
        }
    }

    /// `sender`, and whether sending on it failed: the channel was closed.
    async fn send<J>(sender: Option<&Sender<Sent<J>>>, job: J) -> Result<(), StoreError> {
        sender
            .ok_or(BackendError::Closed)?
            .send(Sent::Job(job))
            .await
            .map_err(|_| BackendError::Closed.into())
    }

    /// Sends `job` to the writer, awaiting a free slot in its queue, and
    /// awaits its `answer`.
    async fn write<T>(
        &self,
        job: Job,
        answer: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        Self::send(self.writer.as_ref(), job).await?;
        if let Some(writer) = &self.writer {
            metrics::gauge!(SQLITE_WRITER_QUEUE_DEPTH)
                .set((writer.max_capacity() - writer.capacity()) as f64);
        }
        answer.await.map_err(|_| BackendError::Closed)?
    }

    /// Runs `read` on a reader thread and awaits its answer.
    async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            // A caller that stopped waiting needs no answer.
            let _ = reply.send(read(conn));
        });
        Self::send(self.readers.as_ref(), job).await?;
        if let Some(readers) = &self.readers {
            metrics::gauge!(SQLITE_READER_QUEUE_DEPTH)
                .set((readers.max_capacity() - readers.capacity()) as f64);
        }
        answer.await.map_err(|_| BackendError::Closed)?
    }
}

impl Drop for SqliteStore {
    /// Closes a store that was not: as [`SqliteStore::close`], blocking
    /// this thread while the threads end.
    fn drop(&mut self) {
        // Dropping the senders closes the channels: no caller holds one,
        // as none can call a store being dropped.
        self.writer = None;
        self.readers = None;
        let threads = self.threads.get_mut();
        let panicked = block_on_ready(threads.end(|worker| std::future::ready(worker.join())));
        if !panicked.is_empty() {
            tracing::error!(
                threads = ?panicked,
                "threads of the SQLite store had panicked when it was dropped"
            );
        }
    }
}

/// The output of `future`, which never waits: each of its awaits is ready
/// at once ([`Threads::end`] over blocking joins).
fn block_on_ready<T>(future: impl Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let commit = commit::Prepared::of(&commit)?;
        let (reply, answer) = oneshot::channel();
        let job = Job::Commit {
            commit: Box::new(commit),
            reply,
        };
        self.write(job, answer).await
    }

    async fn nomination(
        &self,
        partner: &PartnerId,
        id: &NominationId,
    ) -> Result<Option<Nomination>, StoreError> {
        let (id, partner) = (columns::id(id), partner.as_str().to_owned());
        self.read(move |conn| queries::nomination(conn, &id, Some(&partner)))
            .await
    }

    async fn nomination_by_id(&self, id: &NominationId) -> Result<Option<Nomination>, StoreError> {
        let id = columns::id(id);
        self.read(move |conn| queries::nomination(conn, &id, None))
            .await
    }

    async fn nomination_by_link(&self, hash: &TokenHash) -> Result<Option<Nomination>, StoreError> {
        let hash = *hash.as_bytes();
        self.read(move |conn| queries::by_link(conn, &hash)).await
    }

    async fn standings(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<Vec<(PartnerId, Standing)>, StoreError> {
        let (engagement, customer) = (engagement.as_str().to_owned(), customer.to_string());
        self.read(move |conn| queries::standings(conn, &engagement, &customer))
            .await
    }

    async fn rivals(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<Vec<Nomination>, StoreError> {
        let (engagement, customer) = (engagement.as_str().to_owned(), customer.to_string());
        self.read(move |conn| queries::rivals(conn, &engagement, &customer))
            .await
    }

    async fn page(&self, query: &PageQuery) -> Result<Page, StoreError> {
        let query = queries::TabQuery {
            partner: query.partner.as_str().to_owned(),
            engagement: query.engagement.as_str().to_owned(),
            tab: columns::tab(Some(query.tab)),
            now: columns::bound(query.now),
            after: columns::after(query.after.as_ref()),
            limit: query.limit,
        };
        self.read(move |conn| queries::page(conn, &query)).await
    }

    async fn count(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> Result<TabCounts, StoreError> {
        let (partner, engagement) = (partner.as_str().to_owned(), engagement.as_str().to_owned());
        let now = columns::bound(now);
        self.read(move |conn| {
            readers::in_snapshot(conn, |c| queries::counts(c, &partner, &engagement, now))
        })
        .await
    }

    async fn claims(&self, query: &ClaimsQuery) -> Result<ClaimsPage, StoreError> {
        let query = query.clone();
        self.read(move |conn| claims::page(conn, &query)).await
    }

    async fn claim_counts(
        &self,
        scope: &ClaimsScope,
        engagement: Option<&EngagementId>,
        now: Instant,
    ) -> Result<ClaimCounts, StoreError> {
        let scope = scope.clone();
        let engagement = engagement.map(|e| e.as_str().to_owned());
        let now = columns::bound(now);
        self.read(move |conn| {
            readers::in_snapshot(conn, |c| {
                claims::counts(c, &scope, engagement.as_deref(), now)
            })
        })
        .await
    }

    async fn known_customers(
        &self,
        partner: &PartnerId,
        after: Option<&CustomerId>,
        limit: usize,
    ) -> Result<Vec<KnownCustomer>, StoreError> {
        let partner = partner.as_str().to_owned();
        let after = after.map(columns::customer_order).unwrap_or_default();
        self.read(move |conn| queries::known_customers(conn, &partner, &after, limit))
            .await
    }

    async fn known_page(&self, query: &KnownQuery) -> Result<KnownPage, StoreError> {
        let query = known::PageQuery {
            partner: query.partner.clone(),
            engagement: query.engagement.as_str().to_owned(),
            tab: query.tab,
            now: query.now,
            after: query
                .after
                .as_ref()
                .map(columns::customer_order)
                .unwrap_or_default(),
            limit: query.limit,
        };
        self.read(move |conn| readers::in_snapshot(conn, |c| known::page(c, &query)))
            .await
    }

    async fn known_counts(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> Result<KnownCounts, StoreError> {
        let (partner, engagement) = (partner.clone(), engagement.as_str().to_owned());
        self.read(move |conn| {
            readers::in_snapshot(conn, |c| known::counts(c, &partner, &engagement, now))
        })
        .await
    }

    async fn seed_known(
        &self,
        engagement: &EngagementId,
        now: Instant,
        limit: usize,
    ) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::SeedKnown {
            engagement: engagement.as_str().to_owned(),
            now,
            limit,
            reply,
        };
        self.write(job, answer).await
    }

    async fn known_to_check(
        &self,
        older_than: Instant,
        limit: usize,
    ) -> Result<Vec<KnownToCheck>, StoreError> {
        self.read(move |conn| known::to_check(conn, older_than, limit))
            .await
    }

    async fn by_state(&self, query: &StateQuery) -> Result<Page, StoreError> {
        let query = queries::StatesQuery {
            states: query
                .states
                .iter()
                .map(|s| columns::state(*s))
                .collect::<Result<_, _>>()?,
            partner: query.partner.as_ref().map(|p| p.as_str().to_owned()),
            now: columns::bound(query.now),
            after: columns::after(query.after.as_ref()),
            limit: query.limit,
        };
        self.read(move |conn| readers::in_snapshot(conn, |c| queries::by_state(c, &query)))
            .await
    }

    async fn lapsing(
        &self,
        partner: &PartnerId,
        now: Instant,
        until: Instant,
        limit: usize,
    ) -> Result<Vec<Nomination>, StoreError> {
        let partner = partner.as_str().to_owned();
        let (now, until) = (columns::bound(now), columns::bound(until));
        self.read(move |conn| queries::lapsing(conn, &partner, now, until, limit))
            .await
    }

    async fn attention(&self, query: &AttentionQuery) -> Result<AttentionCandidates, StoreError> {
        let query = attention::Query::of(query);
        self.read(move |conn| attention::candidates(conn, &query))
            .await
    }

    async fn history(&self, id: &NominationId) -> Result<Vec<Event>, StoreError> {
        let id = columns::id(id);
        self.read(move |conn| queries::history(conn, &id)).await
    }

    async fn due(
        &self,
        now: Instant,
        after: Option<DueCursor>,
        limit: usize,
    ) -> Result<Due, StoreError> {
        let now = columns::bound(now);
        let after = after.map(|c| (columns::instant(c.wake_at), columns::id(&c.id)));
        self.read(move |conn| queries::due(conn, now, after, limit))
            .await
    }

    async fn take_messages(
        &self,
        now: Instant,
        lease_until: Instant,
        limit: usize,
    ) -> Result<Vec<Leased>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Take {
            now: columns::bound(now),
            lease_until: columns::instant(lease_until),
            limit: columns::limit(limit),
            reply,
        };
        let taken = self.write(job, answer).await?;
        taken
            .into_iter()
            .map(|(doc, attempt)| {
                Ok(Leased {
                    message: columns::document::<Message>(&doc)?,
                    attempt,
                })
            })
            .collect()
    }

    async fn acknowledge(&self, ids: &[MessageId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        let job = Job::Acknowledge {
            ids: ids.iter().map(|id| id.as_uuid().into_bytes()).collect(),
            reply,
        };
        self.write(job, answer).await
    }

    async fn idempotent_result(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotentResult>, StoreError> {
        let (scope, key) = (key.scope().to_owned(), key.key().to_owned());
        self.read(move |conn| queries::idempotent_result(conn, &scope, &key))
            .await
    }

    async fn payout_batch(&self, id: &PayoutBatchId) -> Result<Option<PayoutBatch>, StoreError> {
        let id = id.as_uuid().into_bytes();
        self.read(move |conn| queries::payout_batch(conn, &id))
            .await
    }

    async fn payout_batches(
        &self,
        after: Option<&PayoutBatchId>,
        limit: usize,
    ) -> Result<Vec<PayoutBatch>, StoreError> {
        let after = after.map_or_else(Vec::new, |id| id.as_uuid().as_bytes().to_vec());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| queries::payout_batches(conn, &after, limit))
            .await
    }

    async fn setting(&self, key: &SettingKey) -> Result<Option<SettingValue>, StoreError> {
        let key = key.as_str().to_owned();
        self.read(move |conn| setting::setting(conn, &key)).await
    }

    async fn put_setting(
        &self,
        key: &SettingKey,
        value: &SettingValue,
        condition: &SettingCondition,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::PutSetting {
            key: key.clone(),
            value: value.clone(),
            condition: condition.clone(),
            reply,
        };
        self.write(job, answer).await
    }
}
