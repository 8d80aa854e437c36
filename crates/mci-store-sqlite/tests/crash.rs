//! Acknowledged commits survive the process being killed: a child process
//! commits in a loop on a database file with `Durability::Full` and prints
//! each acknowledged commit; it is killed with SIGKILL at a random moment,
//! several times; after each kill the file reopens with every acknowledged
//! commit, nothing half-written, and `PRAGMA integrity_check` answers ok.
//!
//! The child is this test binary run again with `--exact crash_child` and
//! the database path in an environment variable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_core::{
    Candidate, Engagement, EngagementKind, FreshLink, LinkId, LinkToken, NominationId, SendConsent,
};
use mci_store::{Commit, Store};
use mci_store_sqlite::{Durability, Options, SqliteStore};
use mci_testkit::{admin_of, contacts, eligible_facts, engagement, nomination_id, t0};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DATABASE: &str = "MCI_SQLITE_CRASH_DATABASE";
const ROUND: &str = "MCI_SQLITE_CRASH_ROUND";
const ROUNDS: u64 = 5;
const WRITERS: u64 = 4;

/// The child: commits until killed (or, if nobody kills it, for a while).
#[test]
fn crash_child() {
    let (Ok(path), Ok(round)) = (std::env::var(DATABASE), std::env::var(ROUND)) else {
        return; // Not the child: nothing to do.
    };
    let round: u64 = round.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = Arc::new(
            SqliteStore::open_with(
                &path,
                Options {
                    durability: Durability::Full,
                    readers: 1,
                    ..Options::default()
                },
            )
            .unwrap(),
        );
        let workshop = engagement("crash-workshop", EngagementKind::Workshop, 1);
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let (store, workshop) = (store.clone(), workshop.clone());
            writers.push(tokio::spawn(async move {
                let stop = Instant::now() + Duration::from_secs(20);
                let mut i = 0;
                while Instant::now() < stop {
                    let n = (round * WRITERS + w) * 1_000_000 + i;
                    i += 1;
                    commit_one(&store, &workshop, n, w as u32 + 1).await;
                }
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
    });
}

/// Adds a nomination, then sends its consent email (an update with an
/// outbox message), printing each commit once it is acknowledged.
async fn commit_one(store: &Arc<SqliteStore>, workshop: &Engagement, n: u64, p: u32) {
    let mut request = mci_testkit::nomination_request();
    request.customer = mci_core::identify_customer(
        mci_core::CustomerIdInput::Tpid(mci_core::Tpid::new(n + 1).unwrap()),
        "it@customer.example".parse().unwrap(),
        None,
        mci_core::DirectoryFinding::OwnsDomain(true),
    )
    .unwrap();
    request.customer_contacts = contacts("Carla", "it@customer.example");
    let candidates = [Candidate {
        engagement: workshop,
        facts: eligible_facts(),
    }];
    let added = mci_core::nominate(t0(), &admin_of(p), request, &candidates, || {
        nomination_id(n)
    })
    .unwrap()
    .remove(0);
    let nomination = added.nomination.clone();
    store.commit(Commit::of(t0(), added)).await.unwrap();
    acknowledged(nomination.id(), 1);
    // A link of its own, so that each nomination holds one live link.
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    let link = FreshLink::new(LinkId::from_bytes(id), &LinkToken::from_bytes(bytes));
    let sent = nomination
        .send_consent(t0(), &admin_of(p), SendConsent::default(), &link)
        .unwrap();
    store.commit(Commit::of(t0(), sent)).await.unwrap();
    acknowledged(nomination.id(), 2);
}

fn acknowledged(id: &NominationId, version: u64) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "acked {id} {version}").unwrap();
    out.flush().unwrap();
}

/// A random number below `bound`.
fn random_below(bound: u64) -> u64 {
    RandomState::new().hash_one(Instant::now()) % bound
}

/// Runs the child on `path` for `round`, kills it at a random moment after
/// its first acknowledged commit, and returns what it acknowledged.
fn run_and_kill(path: &Path, round: u64) -> Vec<(NominationId, u64)> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(DATABASE, path)
        .env(ROUND, round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        // Only whole lines count: a line cut by the kill was not printed.
        while stdout.read_line(&mut line).unwrap_or(0) > 0 && line.ends_with('\n') {
            if let Some(ack) = line.strip_prefix("acked ") {
                let (id, version) = ack.trim_end().split_once(' ').unwrap();
                let ack = (
                    id.parse::<NominationId>().unwrap(),
                    version.parse::<u64>().unwrap(),
                );
                if lines.send(ack).is_err() {
                    break;
                }
            }
            line.clear();
        }
    });
    let first = received
        .recv_timeout(Duration::from_secs(20))
        .expect("the child acknowledged a commit");
    std::thread::sleep(Duration::from_millis(random_below(400)));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    let mut acked = vec![first];
    acked.extend(received.try_iter());
    acked
}

/// Checks the file row by row: every nomination has exactly its events and
/// messages, every event and message its nomination, and SQLite finds the
/// file sound.
fn assert_whole(path: &Path) {
    let conn = Connection::open(path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let dangling: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        dangling, 0,
        "an event, link or message without its nomination"
    );
    let half_written: i64 = conn
        .query_row(
            "SELECT count(*) FROM nominations AS n WHERE
                 (SELECT count(*) FROM events AS e WHERE e.nomination = n.id) <> n.version
              OR (SELECT max(version) FROM events AS e WHERE e.nomination = n.id) <> n.version
              OR (SELECT count(*) FROM outbox AS o WHERE o.nomination = n.id) <> n.version - 1
              OR (SELECT count(*) FROM links AS l WHERE l.nomination = n.id) <> n.version - 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        half_written, 0,
        "a nomination without its events, messages or links"
    );
}

#[test]
fn acknowledged_commits_survive_sigkill() {
    if std::env::var(DATABASE).is_ok() {
        return; // The child runs only crash_child.
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.sqlite");
    let mut acked: BTreeMap<NominationId, u64> = BTreeMap::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for round in 0..ROUNDS {
        for (id, version) in run_and_kill(&path, round) {
            let v = acked.entry(id).or_default();
            *v = (*v).max(version);
        }
        assert_whole(&path);
        let store = SqliteStore::open(&path).unwrap();
        for (id, version) in &acked {
            let stored = runtime
                .block_on(store.nomination_by_id(id))
                .unwrap()
                .unwrap_or_else(|| {
                    panic!("acknowledged nomination {id} is missing after round {round}")
                });
            assert!(
                stored.version() >= *version,
                "{id} acknowledged at version {version}, found {}",
                stored.version()
            );
        }
    }
    assert!(
        acked.len() >= ROUNDS as usize,
        "every round acknowledged commits"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}
