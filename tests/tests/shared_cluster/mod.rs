//! One throwaway PostgreSQL cluster shared by the PostgreSQL stories of a
//! test binary, and a fresh database of it for each story.
//!
//! A cluster's server is killed when the thread that started it ends
//! (`mci-pg-harness` sets a parent-death signal), and libtest runs every
//! test on a thread of its own: so a keeper thread starts the cluster, owns
//! it, and runs what the stories ask of it (create a database, run SQL).
//! Every story holds a [`Database`]; when the last one is dropped, the
//! keeper stops the cluster and removes its directory before that story
//! returns, so that no cluster outlives the process. Stories that run at
//! once share one cluster (a database takes about 0.2 s to create, a
//! cluster about 2 s to start); a story that starts when no other holds
//! the cluster starts a new one.

use mci_pg_harness::Cluster;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::JoinHandle;

/// Work for the keeper thread, done with the cluster it owns.
type Job = Box<dyn FnOnce(&Cluster) + Send>;

/// The keeper thread of the running cluster, and how many databases are
/// held.
struct Keeper {
    jobs: mpsc::Sender<Job>,
    thread: JoinHandle<()>,
    users: usize,
}

static KEEPER: Mutex<Option<Keeper>> = Mutex::new(None);

/// Databases made so far, for unique names.
static MADE: AtomicUsize = AtomicUsize::new(0);

fn keeper() -> MutexGuard<'static, Option<Keeper>> {
    KEEPER.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Holds the running cluster for one more user, starting it first when
/// none runs; `false` when PostgreSQL is not installed and not required
/// (the harness printed the line saying `test` was skipped).
///
/// # Panics
///
/// When the cluster cannot start as the harness requires: the keeper
/// thread's panic, printed above, says why.
fn hold(test: &str) -> bool {
    let mut keeper = keeper();
    if let Some(running) = keeper.as_mut() {
        running.users += 1;
        return true;
    }
    let (jobs, queue) = mpsc::channel::<Job>();
    let (started, start) = mpsc::channel();
    let name = test.to_owned();
    let thread = std::thread::Builder::new()
        .name("postgres-keeper".into())
        .spawn(move || {
            let cluster = Cluster::start_or_skip(&name);
            let _ = started.send(cluster.is_some());
            if let Some(cluster) = cluster {
                // Until the last sender, the keeper's, is dropped.
                for job in queue {
                    job(&cluster);
                }
            }
        })
        .expect("the keeper thread starts");
    match start.recv() {
        Ok(true) => {
            *keeper = Some(Keeper {
                jobs,
                thread,
                users: 1,
            });
            true
        }
        Ok(false) => {
            let _ = thread.join();
            false
        }
        Err(_) => {
            let _ = thread.join();
            panic!("{test}: the PostgreSQL cluster did not start (see the panic above)");
        }
    }
}

/// A fresh database of the shared cluster, held for one story: the
/// cluster runs while a database is held.
pub(crate) struct Database {
    name: String,
    url: String,
}

impl Database {
    /// A new database for the story `test`, or `None` (with one line on
    /// stderr saying why) where PostgreSQL is not installed and
    /// `MCI_REQUIRE_POSTGRES` is unset.
    pub(crate) async fn fresh(test: &str) -> Option<Database> {
        let owned = test.to_owned();
        // Starting a cluster waits for its server: off the runtime.
        let held = match tokio::task::spawn_blocking(move || hold(&owned)).await {
            Ok(held) => held,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => panic!("{test}: holding the cluster: {error}"),
        };
        if !held {
            return None;
        }
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let short: String = test
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(48)
            .collect();
        let mut database = Database {
            name: format!("s{n}_{short}"),
            url: String::new(),
        };
        let name = database.name.clone();
        database.url = database
            .with_cluster(move |cluster| {
                cluster
                    .create_database(&name)
                    .map(|()| cluster.connection_string(&name))
            })
            .await
            .unwrap_or_else(|e| panic!("{test}: creating its database: {e}"));
        Some(database)
    }

    /// The database's connection string (libpq `key=value` pairs).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Runs `sql` in the database with `psql`, as its superuser, behind
    /// the store's back; answers what it printed.
    pub(crate) async fn psql(&self, sql: &str) -> Result<String, String> {
        let (name, sql) = (self.name.clone(), sql.to_owned());
        self.with_cluster(move |cluster| cluster.psql(&name, &sql).map_err(|e| e.to_string()))
            .await
    }

    /// Runs `job` on the keeper thread with the cluster, and answers what
    /// it answered.
    async fn with_cluster<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Cluster) -> T + Send + 'static,
    ) -> T {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let jobs = keeper()
            .as_ref()
            .expect("a held database keeps the cluster running")
            .jobs
            .clone();
        jobs.send(Box::new(move |cluster: &Cluster| {
            let _ = answer.send(job(cluster));
        }))
        .expect("the keeper thread takes jobs");
        answered.await.expect("the keeper thread answers")
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let mut keeper = keeper();
        let last = keeper.as_mut().is_some_and(|running| {
            running.users -= 1;
            running.users == 0
        });
        if last && let Some(running) = keeper.take() {
            // The keeper ends its loop, and drops the cluster: its server
            // stopped, its directory removed.
            drop(running.jobs);
            let _ = running.thread.join();
        }
    }
}
