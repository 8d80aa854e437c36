//! Several processes may open one file at once, even a file that does not
//! exist yet: each creates, migrates or finds the schema, and every open
//! succeeds.
//!
//! The processes are this test binary run again with `--exact open_child`:
//! each child reads a path per line from its standard input, opens the
//! store there, commits one nomination, closes it and answers with one line.
//! The parent sends each round's fresh path to every child at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_core::{Candidate, EngagementKind};
use mci_store::{Commit, Store};
use mci_store_sqlite::{Options, SqliteStore};
use mci_testkit::{admin_of, eligible_facts, engagement, nomination_id, nomination_request, t0};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = "MCI_SQLITE_OPEN_CHILD";
const PROCESSES: u32 = 8;
const ROUNDS: u32 = 50;
const ANSWER: &str = "answer: ";

/// The child: opens each path it is sent, commits one nomination as
/// partner `MCI_SQLITE_OPEN_CHILD` and answers `ok` or `failed <error>`.
#[test]
fn open_child() {
    let Ok(partner) = std::env::var(CHILD) else {
        return; // Not the child: nothing to do.
    };
    let partner: u32 = partner.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let workshop = engagement("open-workshop", EngagementKind::Workshop, 50);
    let mut out = std::io::stdout().lock();
    for (round, path) in std::io::stdin().lines().enumerate() {
        let path = path.unwrap();
        let answer = match SqliteStore::open_with(
            &path,
            Options {
                readers: 1,
                ..Options::default()
            },
        ) {
            Ok(store) => {
                let candidates = [Candidate {
                    engagement: &workshop,
                    facts: eligible_facts(),
                }];
                let n = u64::from(partner) * 1000 + round as u64;
                let added = mci_core::nominate(
                    t0(),
                    &admin_of(partner),
                    nomination_request(),
                    &candidates,
                    || nomination_id(n),
                )
                .unwrap()
                .remove(0);
                match runtime.block_on(store.commit(Commit::of(t0(), added))) {
                    Ok(()) => "ok".to_owned(),
                    Err(error) => format!("failed commit {error}"),
                }
            }
            Err(error) => format!("failed open {error:?}"),
        };
        // The harness may have printed on the line already: the answer
        // is what follows its marker.
        writeln!(out, "{ANSWER}{}", answer.replace('\n', " ")).unwrap();
        out.flush().unwrap();
    }
}

/// A child process waiting for paths.
struct Opener {
    child: Child,
    paths: ChildStdin,
    answers: BufReader<ChildStdout>,
}

impl Opener {
    fn spawn(partner: u32) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "open_child", "--nocapture", "--test-threads=1"])
            .env(CHILD, partner.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let paths = child.stdin.take().unwrap();
        let answers = BufReader::new(child.stdout.take().unwrap());
        Opener {
            child,
            paths,
            answers,
        }
    }

    /// The child's next answer, skipping what the test harness prints.
    fn answer(&mut self) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                self.answers.read_line(&mut line).unwrap() > 0,
                "the child ended"
            );
            if let Some((_, answer)) = line.trim_end().split_once(ANSWER) {
                return answer.to_owned();
            }
        }
    }
}

/// The kind of a failure: its first words and the error's variant.
fn kind(answer: &str) -> String {
    answer
        .split(['{', '(', ':'])
        .next()
        .unwrap_or(answer)
        .trim()
        .to_owned()
}

#[test]
fn open_a_new_file_from_eight_processes_at_once_never_fails() {
    if std::env::var(CHILD).is_ok() {
        return; // The child runs only open_child.
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut openers: Vec<Opener> = (1..=PROCESSES).map(Opener::spawn).collect();
    let mut failures: BTreeMap<String, u32> = BTreeMap::new();
    let mut first_failure = None;
    for round in 0..ROUNDS {
        let path = dir.path().join(format!("round-{round}.sqlite"));
        let line = format!("{}\n", path.display());
        // Every child gets the path within microseconds of the others.
        for opener in &mut openers {
            opener.paths.write_all(line.as_bytes()).unwrap();
        }
        for opener in &mut openers {
            opener.paths.flush().unwrap();
        }
        for opener in &mut openers {
            let answer = opener.answer();
            if answer != "ok" {
                *failures.entry(kind(&answer)).or_default() += 1;
                first_failure.get_or_insert(format!("round {round}: {answer}"));
            }
        }
        if failures.is_empty() {
            let conn = Connection::open(&path).unwrap();
            let stored: u32 = conn
                .query_row("SELECT count(*) FROM nominations", [], |r| r.get(0))
                .unwrap();
            assert_eq!(stored, PROCESSES, "round {round}: every child's commit");
        }
    }
    for mut opener in openers {
        drop(opener.paths);
        opener.child.wait().unwrap();
    }
    let failed: u32 = failures.values().sum();
    assert_eq!(
        failed,
        0,
        "{failed} of {} opens failed: {failures:?}; first: {}",
        PROCESSES * ROUNDS,
        first_failure.unwrap_or_default()
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}
