//! The walkthrough and the command-line tool on a PostgreSQL database of a
//! throwaway cluster, named by `--database` as a `postgres://` URL, a
//! `postgresql://` URL and libpq `key=value` pairs: the walkthrough tells
//! the story it tells on a SQLite file, a second run continues the same
//! database, and the tool's commands work on it. Skipped on one line where
//! PostgreSQL is not installed and `MCI_REQUIRE_POSTGRES` is unset.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_pg_harness::{Cluster, SUPERUSER};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

const WALKTHROUGH: &str = env!("CARGO_BIN_EXE_walkthrough");
const MCI: &str = env!("CARGO_BIN_EXE_mci");

/// Runs `program` with `args` in `dir` and answers its output.
fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_remove("MCI_LINK_KEY")
        .output()
        .unwrap()
}

/// Runs `program`, which must succeed, and answers what it printed.
fn succeed(program: &str, args: &[&str], dir: &Path) -> String {
    let out = run(program, args, dir);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Whether `word` is a run of hex digits, dashes included, as long as
/// `len` and shaped as `dashes` says.
fn hex_shaped(word: &str, dashes: &[usize], len: usize) -> bool {
    word.len() == len
        && word.char_indices().all(|(i, c)| {
            if dashes.contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// The walkthrough's output with what differs from run to run of one
/// story made plain: link tokens (random link ids) and UUID v7 ids (a
/// random tail) as placeholders, the loser of Day 4's race (told that the
/// customer consented to another partner, or that its link is void, as
/// the race fell) as one line, and the last line naming the database left
/// out; and each block of emails in sorted order, since the sweep commits
/// its reminders at once, so that messages queued at one instant reach the
/// outbox, and leave it oldest first, in the order their commits happened
/// to take (a pool of connections lets them race). Who wins the race
/// differs too, and is answered beside.
fn normalised(output: &str) -> (String, Option<&'static str>) {
    let (masked, winner) = masked(output);
    let mut out = String::new();
    let mut emails: Vec<&str> = Vec::new();
    for line in masked.lines() {
        if line.starts_with("  -> ") {
            emails.push(line);
            continue;
        }
        emails.sort_unstable();
        for email in emails.drain(..) {
            out.push_str(email);
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
    }
    emails.sort_unstable();
    for email in emails {
        out.push_str(email);
        out.push('\n');
    }
    (out, winner)
}

/// [`normalised`] but for the order of the emails.
fn masked(output: &str) -> (String, Option<&'static str>) {
    let mut out = String::new();
    let mut winner = None;
    let mut racing = false;
    for line in output.lines() {
        if line.starts_with("=== Day ") {
            racing = line.starts_with("=== Day 4 ");
        }
        if line.starts_with("The database is ") || line.starts_with("The story ran in memory") {
            continue;
        }
        if racing && let Some((partner, said)) = line.trim_start().split_once(": ") {
            let partner = match partner {
                "Northwind" => "Northwind",
                "Fabrikam" => "Fabrikam",
                _ => "",
            };
            if !partner.is_empty() && line.starts_with("  ") {
                if said == "consent received" {
                    winner = Some(partner);
                    out.push_str(&format!("  {partner}: consent received\n"));
                } else {
                    out.push_str(&format!("  {partner}: lost\n"));
                }
                continue;
            }
        }
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            if hex_shaped(word, &[], 64) {
                out.push_str("<token>");
            } else if hex_shaped(word, &[8, 13, 18, 23], 36) && word[14..15] == *"7" {
                out.push_str("<id>");
            } else {
                out.push_str(word);
            }
            word.clear();
        };
        for c in line.chars() {
            if c.is_ascii_hexdigit() || c == '-' {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out.push('\n');
    }
    (out, winner)
}

/// The walkthrough on PostgreSQL tells what it tells on a SQLite file (and
/// in memory), where the race of Day 4 fell the same way; it runs again on
/// the same database as run 2; and the command-line tool reads and writes
/// it.
#[test]
fn the_walkthrough_and_the_cli_run_on_postgres() {
    let test = "the_walkthrough_and_the_cli_run_on_postgres";
    let Some(cluster) = Cluster::start_or_skip(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path();
    cluster.create_database("demo").unwrap();
    let url = format!("postgres://{SUPERUSER}@127.0.0.1:{}/demo", cluster.port());

    let started = Instant::now();
    let first = succeed(WALKTHROUGH, &["--database", &url], here);
    let on_postgres = started.elapsed();
    assert!(
        first.starts_with("MCI engagements walkthrough, run 1, starting 2026-03-02"),
        "{first}"
    );
    assert!(
        first.ends_with(
            "The database is the PostgreSQL database demo on 127.0.0.1 (run 1); run the walkthrough again to add another run to it.\n"
        ),
        "{first}"
    );
    let (told, winner) = normalised(&first);
    let winner = winner.expect("one partner won the race of Day 4");
    // The same story on SQLite and in memory, until the race falls the
    // same way (either store lets either partner win).
    let mut reference = None;
    for attempt in 0..40 {
        let args: Vec<String> = if attempt % 2 == 0 {
            vec!["--database".into(), format!("ref-{attempt}.sqlite")]
        } else {
            vec!["--memory".into()]
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (other, won) = normalised(&succeed(WALKTHROUGH, &args, here));
        if won == Some(winner) {
            reference = Some((args.join(" "), other));
            break;
        }
    }
    let (store, other) = reference.expect("the race fell both ways within 40 runs");
    if told != other {
        let first_difference = told
            .lines()
            .zip(other.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(told.lines().count().min(other.lines().count()));
        panic!(
            "the walkthrough on PostgreSQL and with {store} differ from line {}:\n{}\n---\n{}",
            first_difference + 1,
            told.lines()
                .skip(first_difference)
                .take(5)
                .collect::<Vec<_>>()
                .join("\n"),
            other
                .lines()
                .skip(first_difference)
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    // Run 2 reconnects, through the Unix socket with libpq pairs, to the
    // database that holds run 1.
    let pairs = cluster.connection_string("demo");
    let started_again = Instant::now();
    let second = succeed(WALKTHROUGH, &["--database", &pairs], here);
    let again_on_postgres = started_again.elapsed();
    assert!(
        second.starts_with("MCI engagements walkthrough, run 2, starting 2027-03-02"),
        "{second}"
    );

    // The tool, with a postgresql:// URL, after run 2.
    let url = format!("postgresql://{SUPERUSER}@127.0.0.1:{}/demo", cluster.port());
    let cli = |args: &[&str]| -> Output {
        let mut all = vec![
            "--database",
            url.as_str(),
            "--run",
            "2",
            "--now",
            "2027-04-20T09:00:00Z",
        ];
        all.extend_from_slice(args);
        run(MCI, &all, here)
    };
    let ok = |args: &[&str]| -> String {
        let out = cli(args);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "mci {args:?}: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let overview = ok(&["engagements"]);
    assert!(
        overview.contains("| ai-workshop ") && overview.contains("| copilot-workshop "),
        "{overview}"
    );
    // Both runs' Contoso and Tailspin claims are paid, and run 1's three
    // unsubmitted claims expired a year ago, as on a SQLite file.
    let complete = ok(&["page", "ai-workshop", "--tab", "complete"]);
    assert!(
        complete.starts_with("ai-workshop / Complete: 10 eligible, 0 ineligible, 7 complete\n"),
        "{complete}"
    );
    assert_eq!(complete.matches("| paid ").count(), 4, "{complete}");
    assert_eq!(
        complete.matches("| not submitted, expired ").count(),
        3,
        "{complete}"
    );

    // A new nomination, asked for consent, which the customer gives.
    let added = ok(&[
        "add",
        "--name",
        "Fourth Coffee Copilot",
        "--email",
        "it@fourthcoffee-2.example",
        "--engagement",
        "copilot-workshop",
    ]);
    let id = added
        .strip_prefix("added Fourth Coffee Copilot to copilot-workshop: ")
        .map(str::trim)
        .unwrap_or_else(|| panic!("{added}"))
        .to_owned();
    let again = cli(&[
        "add",
        "--name",
        "Fourth Coffee Copilot",
        "--email",
        "it@fourthcoffee-2.example",
        "--engagement",
        "copilot-workshop",
    ]);
    assert_eq!(
        again.status.code(),
        Some(3),
        "a duplicate is refused (R-ADD-7)"
    );
    ok(&["send-consent", &id]);
    let outbox = ok(&["outbox", "--deliver"]);
    let token = outbox
        .lines()
        .find_map(|line| line.split("link /consent/").nth(1))
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no consent link in {outbox}"))
        .to_owned();
    assert!(outbox.ends_with(" delivered\n"), "{outbox}");
    let accepted = ok(&["accept", &token]);
    assert_eq!(accepted, "Fourth Coffee Copilot: consented\n");
    let history = ok(&["history", &id]);
    assert_eq!(history.lines().count(), 3, "{history}");
    let pending = ok(&["outbox"]);
    assert!(
        pending.contains("lead@northwind.example: the customer accepted"),
        "{pending}"
    );
    let swept = ok(&["sweep"]);
    assert!(swept.ends_with(" skipped\n"), "{swept}");
    eprintln!(
        "{test}: the walkthrough took {on_postgres:.2?} on a new PostgreSQL database (tables created), \
         {again_on_postgres:.2?} on it again; {:.2?} in all",
        started.elapsed()
    );
}
