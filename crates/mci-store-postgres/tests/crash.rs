//! A crash of the server (R-REC-1, R-REC-2, R-PAGE-9): PostgreSQL, with
//! `fsync` and `synchronous_commit` on, is killed (`SIGKILL` of the
//! postmaster and of every backend) while eight tasks commit through one
//! store, and started again on its data directory. Every commit the store
//! acknowledged is there, with its events and messages; every commit it
//! did not acknowledge is there whole or not at all; and the kept counts of
//! the tabs are the rows' own.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use mci_core::{Nomination, NominationId, Tab};
use mci_pg_harness::Cluster;
use mci_store::{Commit, PageQuery, Store};
use mci_store_postgres::tokio_postgres::{self, NoTls};
use mci_store_postgres::{Options, PostgresStore};
use mci_testkit::{nomination_id, partner, t0};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

/// The tasks committing at once.
const TASKS: u32 = 8;

/// How long they commit before the kill, at most.
const BEFORE_KILL: Duration = Duration::from_secs(3);

/// How many acknowledged commits are enough to kill the server earlier.
const ENOUGH: usize = 1_500;

/// What one commit wrote: each nomination at its version, and the messages.
#[derive(Debug, Clone)]
struct Written {
    versions: Vec<(NominationId, u64)>,
    messages: Vec<uuid::Uuid>,
}

impl Written {
    fn of(commit: &Commit) -> Self {
        Written {
            versions: commit
                .writes
                .iter()
                .map(|w| (*w.nomination.id(), w.nomination.version()))
                .collect(),
            messages: commit
                .writes
                .iter()
                .flat_map(|w| w.messages.iter().map(|m| m.id.as_uuid()))
                .collect(),
        }
    }
}

/// What the tasks did: the commits acknowledged, the ones whose answer was
/// an error (after the kill: in doubt), and errors before the kill.
#[derive(Debug, Default)]
struct Record {
    acknowledged: Vec<Written>,
    in_doubt: Vec<Written>,
    early_errors: Vec<String>,
}

/// Commits `commit`, recording its answer.
async fn commit(
    store: &PostgresStore,
    record: &Mutex<Record>,
    killed: &AtomicBool,
    commit: Commit,
) -> bool {
    let written = Written::of(&commit);
    let answer = store.commit(commit).await;
    let mut record = record.lock().unwrap();
    match answer {
        Ok(()) => {
            record.acknowledged.push(written);
            true
        }
        Err(error) => {
            if !killed.load(Ordering::SeqCst) {
                record.early_errors.push(error.to_string());
            }
            record.in_doubt.push(written);
            false
        }
    }
}

/// Task `task` commits until a commit fails: partner `task + 1` adds two
/// customers in one commit, then sends the first one's consent email in
/// another (a second version, a link and a message).
async fn committer(
    store: PostgresStore,
    task: u32,
    record: Arc<Mutex<Record>>,
    killed: Arc<AtomicBool>,
) {
    let engagement = workshop("crash-workshop", 4);
    let p = task + 1;
    for k in 0u64.. {
        let n = u64::from(task) * 1_000_000 + 2 * k + 1;
        let now = t0() + chrono::TimeDelta::seconds(i64::try_from(k).unwrap());
        let first = add(nomination_id(n), p, n, &engagement, now);
        let second = add(nomination_id(n + 1), p, n + 1, &engagement, now);
        let added: Nomination = first.nomination.clone();
        if !commit(
            &store,
            &record,
            &killed,
            Commit::of_all(now, [first, second]),
        )
        .await
        {
            return;
        }
        let sent = send_consent(&added, p, n, now);
        if !commit(&store, &record, &killed, Commit::of(now, sent)).await {
            return;
        }
    }
}

/// A plain connection to `url`.
async fn client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// What the database holds after the restart: each nomination's version,
/// the versions of its events, and the messages.
struct Held {
    versions: BTreeMap<uuid::Uuid, i64>,
    events: BTreeMap<uuid::Uuid, BTreeSet<i64>>,
    messages: BTreeSet<uuid::Uuid>,
}

async fn held(client: &tokio_postgres::Client) -> Held {
    let mut held = Held {
        versions: BTreeMap::new(),
        events: BTreeMap::new(),
        messages: BTreeSet::new(),
    };
    for row in client
        .query("SELECT id, version FROM nominations", &[])
        .await
        .unwrap()
    {
        held.versions.insert(row.get(0), row.get(1));
    }
    for row in client
        .query("SELECT nomination, version FROM events", &[])
        .await
        .unwrap()
    {
        held.events
            .entry(row.get(0))
            .or_default()
            .insert(row.get(1));
    }
    for row in client.query("SELECT id FROM outbox", &[]).await.unwrap() {
        held.messages.insert(row.get(0));
    }
    held
}

impl Held {
    /// Whether the version `version` of `id` was written: its event is
    /// there (a later commit may have written more).
    fn has(&self, id: &NominationId, version: u64) -> bool {
        self.events
            .get(&id.as_uuid())
            .is_some_and(|v| v.contains(&i64::try_from(version).unwrap()))
    }

    /// How much of `written` is there: every write and message, none of
    /// them, or some (half-written).
    fn share(&self, written: &Written) -> (usize, usize) {
        let found = written
            .versions
            .iter()
            .filter(|(id, v)| self.has(id, *v))
            .count()
            + written
                .messages
                .iter()
                .filter(|m| self.messages.contains(m))
                .count();
        (found, written.versions.len() + written.messages.len())
    }
}

#[test]
fn r_rec_1_a_killed_server_keeps_every_acknowledged_commit_and_nothing_half_written() {
    let Some(mut cluster) = Cluster::builder()
        .setting("fsync", "on")
        .setting("synchronous_commit", "on")
        .setting("full_page_writes", "on")
        .start_or_skip(
            "r_rec_1_a_killed_server_keeps_every_acknowledged_commit_and_nothing_half_written",
        )
    else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    cluster.create_database("crash").unwrap();
    let url = cluster.connection_string("crash");
    let options = Options {
        pool_size: TASKS as usize,
        wait_timeout: Some(Duration::from_secs(10)),
        connect_timeout: Some(Duration::from_secs(2)),
    };
    let store = runtime
        .block_on(PostgresStore::connect_with(url.as_str(), options.clone()))
        .unwrap();

    // Eight tasks commit; the server is killed under them.
    let record = Arc::new(Mutex::new(Record::default()));
    let killed = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            runtime.spawn(committer(
                store.clone(),
                task,
                record.clone(),
                killed.clone(),
            ))
        })
        .collect();
    let started = Instant::now();
    while started.elapsed() < BEFORE_KILL && record.lock().unwrap().acknowledged.len() < ENOUGH {
        std::thread::sleep(Duration::from_millis(10));
    }
    killed.store(true, Ordering::SeqCst);
    cluster.kill().unwrap();
    let committing = started.elapsed();
    runtime.block_on(async {
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .expect("a task ends once its commit fails")
                .unwrap();
        }
    });
    drop(store);
    let record = std::mem::take(&mut *record.lock().unwrap());
    assert!(
        record.early_errors.is_empty(),
        "commits failed before the kill: {:?}",
        record.early_errors
    );
    assert!(
        record.acknowledged.len() >= 20,
        "too few commits before the kill to test anything: {}",
        record.acknowledged.len()
    );

    // Started again on the same data directory, after crash recovery.
    let restarting = Instant::now();
    cluster.restart().unwrap();
    let recovery = restarting.elapsed();
    let log = std::fs::read_to_string(cluster.log_path()).unwrap();
    assert!(
        log.contains("automatic recovery in progress"),
        "the server restarted from a crash"
    );
    runtime.block_on(async {
        let store: Arc<dyn Store> = Arc::new(
            PostgresStore::connect_with(url.as_str(), options)
                .await
                .unwrap(),
        );
        let client = client(&url).await;
        let held = held(&client).await;

        // Every acknowledged commit is there, whole.
        for written in &record.acknowledged {
            let (found, all) = held.share(written);
            assert_eq!(found, all, "an acknowledged commit was lost: {written:?}");
        }
        // Every commit in doubt is there whole or not at all.
        let mut landed = 0;
        for written in &record.in_doubt {
            match held.share(written) {
                (0, _) => {}
                (found, all) if found == all => landed += 1,
                _ => panic!("a commit was half-written: {written:?}"),
            }
        }
        // No nomination without the event of each of its versions, and no
        // event or message beyond what the commits wrote.
        for (id, version) in &held.versions {
            let expected: BTreeSet<i64> = (1..=*version).collect();
            assert_eq!(
                held.events.get(id),
                Some(&expected),
                "nomination {id} at version {version} has not its events"
            );
        }
        assert_eq!(
            held.events.keys().collect::<Vec<_>>(),
            held.versions.keys().collect::<Vec<_>>()
        );
        let committed: usize = record
            .acknowledged
            .iter()
            .chain(&record.in_doubt)
            .filter(|w| held.share(w).0 > 0)
            .map(|w| w.messages.len())
            .sum();
        assert_eq!(held.messages.len(), committed);

        // The stored rows read back, and the kept counts of every tab are
        // what a walk of its pages finds (R-PAGE-9).
        let engagement = workshop("crash-workshop", 4);
        let now = t0() + chrono::TimeDelta::hours(1);
        for p in 1..=TASKS {
            let counts = store
                .count(&partner(p), engagement.id(), now)
                .await
                .unwrap();
            for tab in Tab::ALL {
                let mut walked = 0;
                let mut after = None;
                loop {
                    let page = store
                        .page(&PageQuery {
                            partner: partner(p),
                            engagement: engagement.id().clone(),
                            tab,
                            now,
                            after,
                            limit: 200,
                        })
                        .await
                        .unwrap();
                    assert!(page.unreadable.is_empty(), "{:?}", page.unreadable);
                    walked += page.rows.len();
                    match page.next {
                        Some(next) => after = Some(next),
                        None => break,
                    }
                }
                assert_eq!(
                    counts.get(tab),
                    u64::try_from(walked).unwrap(),
                    "partner {p}, {tab:?}: the kept count is not the walk's"
                );
            }
        }
        let drift = client
            .query_one(
                "SELECT count(*) FROM ( \
                 SELECT partner, engagement, tab, count(*) AS n FROM nominations \
                 WHERE tab <> 0 GROUP BY partner, engagement, tab) AS rows \
                 FULL JOIN (SELECT * FROM tab_counts WHERE n <> 0) AS kept \
                 USING (partner, engagement, tab) \
                 WHERE rows.n IS DISTINCT FROM kept.n",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        assert_eq!(drift, 0, "tab_counts disagrees with the rows");
        eprintln!(
            "crash: {} commits acknowledged in {committing:?} by {TASKS} tasks, {} in doubt \
             ({landed} of them landed), {} nominations; recovery took {recovery:?}",
            record.acknowledged.len(),
            record.in_doubt.len(),
            held.versions.len(),
        );
    });
}
