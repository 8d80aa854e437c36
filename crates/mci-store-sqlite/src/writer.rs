//! The writer: one thread that owns the write connection and writes every
//! commit, in groups.
//!
//! Callers send their prepared commits (and outbox leases and
//! acknowledgements, and the seeding of known rows) over a channel and wait on a oneshot for the answer,
//! so no async executor ever blocks on SQLite. The writer takes the first
//! waiting job, then every job already waiting behind it, up to
//! [`Options::max_group`](crate::Options::max_group), and writes the group in one
//! transaction:
//!
//! ```text
//! BEGIN IMMEDIATE
//!   SAVEPOINT job; <commit 1>; RELEASE job          -- written
//!   SAVEPOINT job; <commit 2>; ROLLBACK TO job; RELEASE job  -- refused: its error
//!   SAVEPOINT job; <commit 3>; RELEASE job          -- written
//! COMMIT                                            -- one sync for the group
//! ```
//!
//! A commit refused by its own checks (conflict, guard, idempotency key)
//! rolls back to its savepoint and leaves the others. A group of one needs
//! no savepoint: a refusal rolls the whole transaction back. Every caller is
//! answered only after `COMMIT` has succeeded; if it fails, or the
//! transaction breaks, every caller of the group gets a
//! [`BackendError::Group`] ([`BackendError::DiskFull`] on a full disk) and
//! nothing of the group is written. A commit in
//! the group sees the commits before it, exactly as if they had been
//! written one transaction each, in the order they arrived.
//!
//! The writer leaves copying the WAL back into the database file to the
//! [checkpointer](crate::checkpoint) (`wal_autocheckpoint` is off on its
//! connection), which it wakes after each `COMMIT`: no caller waits for a
//! checkpoint. Only once the WAL is long does the writer start it over
//! itself, between two groups ([`Checkpoints`]); and after a commit failed
//! on a full disk it truncates the WAL before the next group, to give its
//! space back.
//!
//! Before it answers a group, the writer checks that the store's path still
//! names the file it opened ([`DatabaseFile`]): if the file was deleted or
//! replaced, the group's callers and every later write get
//! [`BackendError::FileReplaced`], as what they wrote is in no file at that
//! path.
//!
//! The channel is bounded ([`Options::writer_queue`](crate::Options::writer_queue)):
//! a caller finding it full awaits a slot, without blocking its executor,
//! so a burst of commits waits in the callers' futures instead of growing
//! a queue without end.
//!
//! When the store is closed or dropped the channel closes; the writer
//! writes what is still waiting, closes its connection and ends.

use crate::checkpoint::{self, StartOver};
use crate::commit::{self, Prepared};
use crate::error::BackendError;
use crate::file::DatabaseFile;
use crate::known;
use crate::outbox;
use crate::threads::{self, Sent};
use futures_channel::oneshot;
use mci_store::StoreError;
use mci_store::observe::{
    BUSY_TOTAL, COMMIT_GROUP_SIZE, COMMIT_SECONDS, SQLITE_WAL_BYTES, SQLITE_WRITER_QUEUE_DEPTH,
};
use rusqlite::{Connection, ErrorCode};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;
use tokio::sync::mpsc::Receiver;

/// What a caller asks of the writer.
pub(crate) enum Job {
    /// Write a commit.
    Commit {
        commit: Box<Prepared>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Take and lease outbox messages.
    Take {
        now: i64,
        lease_until: i64,
        limit: i64,
        reply: oneshot::Sender<Result<Vec<(String, u32)>, StoreError>>,
    },
    /// Mark outbox messages delivered.
    Acknowledge {
        ids: Vec<[u8; 16]>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Write a setting under its condition
    /// ([`Store::put_setting`](mci_store::Store::put_setting)).
    PutSetting {
        key: mci_store::SettingKey,
        value: mci_store::SettingValue,
        condition: mci_store::SettingCondition,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Give known customers rows on an engagement
    /// ([`Store::seed_known`](mci_store::Store::seed_known)).
    SeedKnown {
        engagement: String,
        now: mci_core::Instant,
        limit: usize,
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
}

/// A job done inside the group's transaction, whose answer waits for the
/// `COMMIT`.
enum Done {
    Commit(
        oneshot::Sender<Result<(), StoreError>>,
        Result<(), StoreError>,
    ),
    Take(
        oneshot::Sender<Result<Vec<(String, u32)>, StoreError>>,
        Result<Vec<(String, u32)>, StoreError>,
    ),
    Acknowledge(
        oneshot::Sender<Result<(), StoreError>>,
        Result<(), StoreError>,
    ),
    SeedKnown(
        oneshot::Sender<Result<bool, StoreError>>,
        Result<bool, StoreError>,
    ),
}

impl Done {
    /// Whether the job's own answer is a refusal or an error.
    fn refused(&self) -> bool {
        match self {
            Done::Commit(_, result) | Done::Acknowledge(_, result) => result.is_err(),
            Done::Take(_, result) => result.is_err(),
            Done::SeedKnown(_, result) => result.is_err(),
        }
    }

    /// Answers the caller. A caller that stopped waiting is not an error:
    /// what it asked for was written all the same.
    fn answer(self) {
        match self {
            Done::Commit(reply, result) | Done::Acknowledge(reply, result) => {
                let _ = reply.send(result);
            }
            Done::Take(reply, result) => {
                let _ = reply.send(result);
            }
            Done::SeedKnown(reply, result) => {
                let _ = reply.send(result);
            }
        }
    }

    /// Answers the caller with the error `failed` makes.
    fn fail(self, failed: &dyn Fn() -> StoreError) {
        match self {
            Done::Commit(reply, _) | Done::Acknowledge(reply, _) => {
                let _ = reply.send(Err(failed()));
            }
            Done::Take(reply, _) => {
                let _ = reply.send(Err(failed()));
            }
            Done::SeedKnown(reply, _) => {
                let _ = reply.send(Err(failed()));
            }
        }
    }
}

impl Job {
    /// Does the job on `conn`, inside the group's transaction (in a
    /// savepoint of its own when `shared`): its answer, and the error that
    /// broke the transaction, if one did.
    fn run(self, conn: &Connection, shared: bool) -> (Done, Option<rusqlite::Error>) {
        match self {
            Job::Commit { commit, reply } => {
                let (result, broken) =
                    split(in_savepoint(conn, shared, |c| commit::apply(c, &commit)));
                (Done::Commit(reply, result), broken)
            }
            Job::Take {
                now,
                lease_until,
                limit,
                reply,
            } => {
                outbox::observe_pending(conn, now);
                let (result, broken) = split(in_savepoint(conn, shared, |c| {
                    outbox::take(c, now, lease_until, limit)
                }));
                (Done::Take(reply, result), broken)
            }
            Job::Acknowledge { ids, reply } => {
                let (result, broken) =
                    split(in_savepoint(conn, shared, |c| outbox::acknowledge(c, &ids)));
                (Done::Acknowledge(reply, result), broken)
            }
            Job::PutSetting {
                key,
                value,
                condition,
                reply,
            } => {
                let (result, broken) = split(in_savepoint(conn, shared, |c| {
                    crate::setting::put(c, &key, &value, &condition)
                }));
                // A unit answer sent after the COMMIT, as an acknowledgement's.
                (Done::Acknowledge(reply, result), broken)
            }
            Job::SeedKnown {
                engagement,
                now,
                limit,
                reply,
            } => {
                let (result, broken) = split(in_savepoint(conn, shared, |c| {
                    known::seed(c, &engagement, now, limit)
                }));
                (Done::SeedKnown(reply, result), broken)
            }
        }
    }

    /// The job undone: its answer is to be a failure.
    fn undone(self) -> Done {
        let unanswered = || StoreError::from(BackendError::Closed);
        match self {
            Job::Commit { reply, .. } => Done::Commit(reply, Err(unanswered())),
            Job::Take { reply, .. } => Done::Take(reply, Err(unanswered())),
            Job::Acknowledge { reply, .. } | Job::PutSetting { reply, .. } => {
                Done::Acknowledge(reply, Err(unanswered()))
            }
            Job::SeedKnown { reply, .. } => Done::SeedKnown(reply, Err(unanswered())),
        }
    }
}

/// A job's own result, apart from a broken transaction.
fn split<T>(
    outcome: Result<Result<T, StoreError>, rusqlite::Error>,
) -> (Result<T, StoreError>, Option<rusqlite::Error>) {
    match outcome {
        Ok(result) => (result, None),
        Err(broken) => (Err(BackendError::Closed.into()), Some(broken)),
    }
}

/// Runs a statement without parameters from the connection's cache of
/// prepared statements, so the writer parses each only once.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `f` in a savepoint when the transaction is `shared`: released when
/// `f` succeeds, rolled back when it refuses. Alone in its transaction, `f`
/// runs as it is and a refusal rolls back the transaction. The outer error
/// is a transaction that broke: SQLite rolled it back (a full disk, an I/O
/// error) or the savepoint could not be undone.
fn in_savepoint<T>(
    conn: &Connection,
    shared: bool,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<Result<T, StoreError>, rusqlite::Error> {
    if !shared {
        return Ok(f(conn));
    }
    run_cached(conn, "SAVEPOINT job")?;
    let result = f(conn);
    if result.is_err() {
        run_cached(conn, "ROLLBACK TO job")?;
    }
    run_cached(conn, "RELEASE job")?;
    Ok(result)
}

/// Who the writer wakes to checkpoint the WAL, and when it starts the WAL
/// over itself.
pub(crate) struct Checkpoints {
    /// The checkpointer's wake-up channel.
    wake: SyncSender<()>,
    /// The writer connection's busy timeout.
    busy_timeout: Duration,
    /// The frames the writer keeps the WAL to:
    /// [`RESTART_FRAMES`](checkpoint::RESTART_FRAMES), or half of what the
    /// WAL held when the disk was found full.
    limit: u32,
    /// The frames the WAL may reach before the writer starts it over: the
    /// limit, or more after a long read kept the WAL from starting over.
    restart_at: u32,
    /// The frames in the WAL after the last group.
    frames: u32,
    /// A commit failed on a full disk: the WAL is to be truncated before
    /// the next group.
    truncate: bool,
}

/// The fewest frames the writer keeps the WAL to after a full disk.
const LEAST_LIMIT: u32 = 64;

impl Checkpoints {
    /// Wakes the checkpointer over `wake`; `busy_timeout` is the writer
    /// connection's.
    pub(crate) fn new(wake: SyncSender<()>, busy_timeout: Duration) -> Self {
        Checkpoints {
            wake,
            busy_timeout,
            limit: checkpoint::RESTART_FRAMES,
            restart_at: checkpoint::RESTART_FRAMES,
            frames: 0,
            truncate: false,
        }
    }

    /// Starts the WAL over as `how` says; whether it did.
    fn start_over(&mut self, conn: &Connection, how: StartOver) -> bool {
        let done =
            match checkpoint::start_over(conn, how, checkpoint::READERS_WAIT, self.busy_timeout) {
                Ok(done) => done,
                Err(error) => {
                    let mode = match how {
                        StartOver::Restart => "restart",
                        StartOver::Truncate => "truncate",
                    };
                    threads::checkpoint_failed(mode, &error);
                    false
                }
            };
        if done {
            self.frames = 0;
            self.restart_at = self.limit;
        }
        done
    }

    /// Before a group, after a commit failed on a full disk: copies the
    /// WAL into the database file and truncates it, which gives its space
    /// back, so that the group finds the space freed since. Until that
    /// succeeds, it is tried again before each group.
    fn before_group(&mut self, conn: &Connection) {
        if self.truncate {
            self.truncate = !self.start_over(conn, StartOver::Truncate);
        }
    }

    /// After a group: wakes the checkpointer (without waiting: a wake-up
    /// already pending is enough), and starts the WAL over when a next
    /// group as long as this one would take it past the limit. If a long
    /// read keeps it from that, tries again once the WAL has grown by the
    /// limit again.
    ///
    /// After a group failed on a full disk, the limit becomes half of what
    /// the WAL held then, and stays so while the store is open: the WAL
    /// then starts over in the space its file already has, and leaves the
    /// rest to the database file.
    fn after_group(&mut self, conn: &Connection, ended: Ended) {
        // Full: a wake-up is already pending. Disconnected: the
        // checkpointer ended, and reported why.
        if let Err(TrySendError::Disconnected(())) = self.wake.try_send(()) {
            tracing::debug!(
                "the checkpointer has ended; the WAL is not copied back until reopened"
            );
        }
        let frames = checkpoint::wal_frames();
        if ended == Ended::DiskFull {
            self.limit = self.limit.min(frames / 2).max(LEAST_LIMIT);
            self.truncate = true;
            return;
        }
        let group = frames.saturating_sub(self.frames);
        self.frames = frames;
        if frames.saturating_add(group) > self.restart_at
            && !self.start_over(conn, StartOver::Restart)
        {
            self.restart_at = frames.saturating_add(self.limit);
        }
    }
}

/// How a group ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Its callers have their answers.
    Answered,
    /// The path no longer names the database file: the group was refused,
    /// and so is every later write.
    FileReplaced,
    /// The disk is full: nothing of the group was written.
    DiskFull,
}

/// The writer's loop: one group at a time, until the channel is closed and
/// drained, each group followed by [`Checkpoints::after_group`]. `file` is
/// the database file at its path, checked before each group is
/// acknowledged; once the path names another file or none, every write is
/// refused.
pub(crate) fn run(
    conn: Connection,
    mut jobs: Receiver<Sent<Job>>,
    max_group: usize,
    mut checkpoints: Option<Checkpoints>,
    file: Option<DatabaseFile>,
) {
    if checkpoints.is_some() {
        checkpoint::count_wal_frames(&conn);
    }
    let page_size = conn
        .query_row("PRAGMA page_size", [], |r| r.get::<_, u32>(0))
        .unwrap_or(4096);
    let max_group = max_group.max(1);
    let mut replaced = None;
    while let Some(first) = threads::next(&mut jobs, true) {
        let mut group = Vec::with_capacity(max_group.min(64));
        group.push(first);
        while group.len() < max_group {
            match threads::next(&mut jobs, false) {
                Some(job) => group.push(job),
                None => break,
            }
        }
        metrics::gauge!(SQLITE_WRITER_QUEUE_DEPTH).set(jobs.len() as f64);
        if let Some(file) = &replaced {
            let refused = || file_replaced(file);
            group
                .into_iter()
                .for_each(|job| job.undone().fail(&refused));
            continue;
        }
        if let Some(checkpoints) = &mut checkpoints {
            checkpoints.before_group(&conn);
        }
        let ended = write_group(&conn, group, file.as_ref());
        if ended == Ended::FileReplaced {
            replaced = file.clone();
        }
        if let Some(checkpoints) = &mut checkpoints {
            checkpoints.after_group(&conn, ended);
            let wal = u64::from(checkpoint::wal_frames()) * u64::from(page_size);
            metrics::gauge!(SQLITE_WAL_BYTES).set(wal as f64);
        }
    }
    // The last connection to close checkpoints the WAL into the file.
    threads::close("writer", conn);
}

/// The refusal of a write once `file` is no longer at its path.
fn file_replaced(file: &DatabaseFile) -> StoreError {
    BackendError::FileReplaced {
        path: file.path().to_path_buf(),
    }
    .into()
}

/// Why a group's transaction failed, for each of its callers.
struct GroupFailed {
    error: Arc<rusqlite::Error>,
    /// The database file's path, when the disk holding it is full.
    disk_full: Option<std::path::PathBuf>,
}

impl GroupFailed {
    fn of(error: rusqlite::Error, file: Option<&DatabaseFile>) -> Self {
        let full = error.sqlite_error_code() == Some(ErrorCode::DiskFull);
        GroupFailed {
            error: Arc::new(error),
            disk_full: file.filter(|_| full).map(|f| f.path().to_path_buf()),
        }
    }

    /// A caller's answer: [`BackendError::DiskFull`] on a full disk,
    /// [`BackendError::Group`] otherwise.
    fn answer(&self) -> StoreError {
        match &self.disk_full {
            Some(path) => BackendError::DiskFull {
                path: path.clone(),
                source: self.error.clone(),
            },
            None => BackendError::Group(self.error.clone()),
        }
        .into()
    }

    fn ended(&self) -> Ended {
        if self.disk_full.is_some() {
            Ended::DiskFull
        } else {
            Ended::Answered
        }
    }
}

/// Writes one group in one transaction, then answers its callers, unless
/// the path no longer names `file`.
fn write_group(conn: &Connection, group: Vec<Job>, file: Option<&DatabaseFile>) -> Ended {
    let started = std::time::Instant::now();
    metrics::histogram!(COMMIT_GROUP_SIZE, "store" => "sqlite").record(group.len() as f64);
    let ended = write_transaction(conn, group, file);
    metrics::histogram!(COMMIT_SECONDS, "store" => "sqlite").record(started.elapsed());
    ended
}

/// Whether `error` is SQLite's answer that the database stayed locked past
/// the busy timeout, which the counter [`BUSY_TOTAL`] counts.
fn note_busy(error: &rusqlite::Error) {
    if matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    ) {
        metrics::counter!(BUSY_TOTAL, "store" => "sqlite").increment(1);
    }
}

/// [`write_group`]'s transaction.
fn write_transaction(conn: &Connection, group: Vec<Job>, file: Option<&DatabaseFile>) -> Ended {
    let shared = group.len() > 1;
    if let Err(error) = run_cached(conn, "BEGIN IMMEDIATE") {
        note_busy(&error);
        let failed = GroupFailed::of(error, file);
        for job in group {
            job.undone().fail(&|| failed.answer());
        }
        return failed.ended();
    }
    let mut done = Vec::with_capacity(group.len());
    let mut jobs = group.into_iter();
    let mut broken = None;
    for job in jobs.by_ref() {
        let (answer, failure) = job.run(conn, shared);
        done.push(answer);
        if failure.is_some() {
            broken = failure;
            break;
        }
    }
    // A job alone in its transaction, refused: its writes are undone with
    // the transaction, and its answer is its refusal.
    let refused_alone = !shared && done.iter().any(Done::refused);
    let committed = match broken {
        Some(error) => Err(error),
        None if refused_alone => run_cached(conn, "ROLLBACK"),
        None => run_cached(conn, "COMMIT"),
    };
    match committed {
        Ok(()) => match file {
            // Written to a file no longer at its path: as good as lost.
            Some(file) if !file.still_named() => {
                let refused = || file_replaced(file);
                done.into_iter().for_each(|answer| answer.fail(&refused));
                return Ended::FileReplaced;
            }
            _ => done.into_iter().for_each(Done::answer),
        },
        Err(error) => {
            note_busy(&error);
            if !conn.is_autocommit()
                && let Err(rollback) = conn.execute_batch("ROLLBACK")
            {
                threads::thread_failed(
                    "writer",
                    "a failed group did not roll back",
                    Some(&rollback),
                );
            }
            let failed = GroupFailed::of(error, file);
            for answer in done {
                answer.fail(&|| failed.answer());
            }
            for job in jobs {
                job.undone().fail(&|| failed.answer());
            }
            return failed.ended();
        }
    }
    Ended::Answered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{SCHEMA_VERSION, in_memory};
    use mci_core::{Candidate, Engagement, EngagementKind, Outcome};
    use mci_store::Commit;
    use mci_testkit::{
        admin_of, eligible_facts, engagement, nomination_id, nomination_request, t0,
    };

    fn added(p: u32, id: u64, workshop: &Engagement) -> Outcome {
        let candidates = [Candidate {
            engagement: workshop,
            facts: eligible_facts(),
        }];
        mci_core::nominate(
            t0(),
            &admin_of(p),
            nomination_request(),
            &candidates,
            || nomination_id(id),
        )
        .unwrap()
        .remove(0)
    }

    fn commit(outcome: Outcome) -> (Job, oneshot::Receiver<Result<(), StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let prepared = Prepared::of(&Commit::of(t0(), outcome)).unwrap();
        (
            Job::Commit {
                commit: Box::new(prepared),
                reply,
            },
            answer,
        )
    }

    fn answer(mut answer: oneshot::Receiver<Result<(), StoreError>>) -> Result<(), StoreError> {
        answer.try_recv().unwrap().expect("answered")
    }

    fn stored(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM nominations", [], |r| r.get(0))
            .unwrap()
    }

    fn connection() -> Connection {
        let conn = in_memory(SCHEMA_VERSION);
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        conn
    }

    #[test]
    fn a_refused_commit_fails_alone_and_the_rest_of_its_group_is_written() {
        let conn = connection();
        let workshop = engagement("group-workshop", EngagementKind::Workshop, 5);
        let (first, first_answer) = commit(added(1, 1, &workshop));
        // Partner 1 again, same customer: the duplicate guard refuses it
        // because the first commit of the group is already written.
        let (duplicate, duplicate_answer) = commit(added(1, 2, &workshop));
        let (third, third_answer) = commit(added(2, 3, &workshop));
        write_group(&conn, vec![first, duplicate, third], None);
        assert!(answer(first_answer).is_ok());
        let refused = answer(duplicate_answer).unwrap_err();
        assert_eq!(refused.rule(), Some("R-ADD-7"), "{refused:?}");
        assert!(answer(third_answer).is_ok());
        assert_eq!(stored(&conn), 2);
        let events: i64 = conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(events, 2, "the refused commit left no event");
        assert!(conn.is_autocommit(), "the group's transaction is over");
    }

    #[test]
    fn when_the_group_fails_to_commit_every_caller_is_told_and_nothing_is_written() {
        let conn = connection();
        // A trap that only COMMIT finds: a deferred foreign key left
        // dangling by the second commit's partner.
        conn.execute_batch(
            "CREATE TABLE trap (nomination BLOB REFERENCES nominations (id) DEFERRABLE INITIALLY DEFERRED);
             CREATE TRIGGER spring AFTER INSERT ON nominations WHEN NEW.partner = 'p2'
             BEGIN INSERT INTO trap VALUES (x'00'); END;",
        )
        .unwrap();
        let workshop = engagement("group-workshop", EngagementKind::Workshop, 5);
        let (first, first_answer) = commit(added(1, 1, &workshop));
        let (second, second_answer) = commit(added(2, 2, &workshop));
        let (refused, refused_answer) = commit(added(1, 3, &workshop));
        write_group(&conn, vec![first, second, refused], None);
        for answer in [
            answer(first_answer),
            answer(second_answer),
            answer(refused_answer),
        ] {
            let Err(StoreError::Unavailable(source)) = answer else {
                panic!("expected a backend error, got {answer:?}");
            };
            assert!(
                matches!(
                    source.downcast_ref::<BackendError>(),
                    Some(BackendError::Group(_))
                ),
                "{source}"
            );
        }
        assert_eq!(stored(&conn), 0);
        assert!(
            conn.is_autocommit(),
            "the failed transaction was rolled back"
        );

        // The writer goes on with the next group.
        let (next, next_answer) = commit(added(1, 4, &workshop));
        write_group(&conn, vec![next], None);
        assert!(answer(next_answer).is_ok());
        assert_eq!(stored(&conn), 1);
    }

    #[test]
    fn the_writer_drains_its_channel_before_it_ends() {
        let conn = connection();
        let workshop = engagement("group-workshop", EngagementKind::Workshop, 50);
        let (jobs, inbox) = tokio::sync::mpsc::channel(32);
        let mut answers = Vec::new();
        for p in 1..=20 {
            let (job, answer) = commit(added(p, u64::from(p), &workshop));
            jobs.try_send(Sent::Job(job)).unwrap();
            answers.push(answer);
        }
        drop(jobs);
        // Groups of at most 8: the channel is read in three groups.
        run(conn, inbox, 8, None, None);
        for answer in answers {
            assert!(self::answer(answer).is_ok());
        }
    }
}
