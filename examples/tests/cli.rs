//! The command-line tool on a SQLite file it creates: every partner and
//! reviewer action of a workshop claim, from the add to the reversal of a
//! payment, the links pasted as the outbox prints them, and the errors and
//! exit codes a person meets, naming the flag rather than the service's
//! field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

const MCI: &str = env!("CARGO_BIN_EXE_mci");

/// The tool over `db`, at `now`.
struct Tool<'a> {
    dir: &'a Path,
    db: String,
}

impl Tool<'_> {
    fn run(&self, now: &str, args: &[&str]) -> Output {
        Command::new(MCI)
            .args(["--database", &self.db, "--now", now])
            .args(args)
            .current_dir(self.dir)
            .env_remove("MCI_LINK_KEY")
            .output()
            .unwrap()
    }

    fn ok(&self, now: &str, args: &[&str]) -> String {
        let out = self.run(now, args);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "mci {args:?}: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs a command that must fail with `code`; answers its stderr.
    fn fails(&self, now: &str, args: &[&str], code: i32) -> String {
        let out = self.run(now, args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "mci {args:?}: {stderr}\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }

    /// The link of the first pending email whose line contains `what`, as
    /// the outbox prints it, delivering every pending email.
    fn link(&self, now: &str, what: &str) -> String {
        let outbox = self.ok(now, &["outbox", "--deliver"]);
        outbox
            .lines()
            .filter(|line| line.contains(what))
            .find_map(|line| line.split(" link ").nth(1))
            .map(|rest| rest.split(',').next().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no {what} link in {outbox}"))
    }
}

/// The nomination id an `add` printed.
/// The hash a reviewer's decision cites with `--seen`: the head that
/// `review show` and every decision print (R-LIST-4).
fn seen_in(out: &str) -> String {
    out.lines()
        .find_map(|line| line.strip_prefix("head: version ")?.split(", seen ").nth(1))
        .unwrap_or_else(|| panic!("no head in {out}"))
        .to_owned()
}

impl Tool<'_> {
    /// The claim's head as `review show` prints it at `now`.
    fn seen(&self, now: &str, id: &str) -> String {
        seen_in(&self.ok(now, &["review", "show", id]))
    }
}

fn added_id(out: &str) -> String {
    out.rsplit(": ").next().unwrap().trim().to_owned()
}

#[test]
fn a_workshop_claim_from_add_to_reversal_through_the_tool_on_a_file_it_creates() {
    let dir = tempfile::tempdir().unwrap();
    let tool = Tool {
        dir: dir.path(),
        db: String::from("new.sqlite"),
    };

    // Without --create, a missing file is a usage error naming the flag.
    let missing = tool.fails("2026-03-03T09:00:00Z", &["engagements"], 2);
    assert!(
        missing.contains("--database new.sqlite does not exist"),
        "{missing}"
    );
    assert!(missing.contains("--create"), "{missing}");
    assert!(!dir.path().join("new.sqlite").exists());

    let day = |d: u32, h: u32| format!("2026-03-{d:02}T{h:02}:00:00Z");
    let created = tool.ok(&day(3, 9), &["--create", "engagements"]);
    assert!(created.contains("| ai-workshop "), "{created}");

    // A refused value names the flag and the rule; exit code 2.
    let empty_name = tool.fails(
        &day(3, 9),
        &[
            "add",
            "--name",
            " ",
            "--email",
            "it@contoso.example",
            "--engagement",
            "ai-workshop",
        ],
        2,
    );
    assert!(empty_name.starts_with("error: --name "), "{empty_name}");
    assert!(empty_name.contains("(R-INPUT)"), "{empty_name}");
    let bad_email = tool.fails(
        &day(3, 9),
        &[
            "add",
            "--name",
            "Contoso",
            "--email",
            "not an email",
            "--engagement",
            "ai-workshop",
        ],
        2,
    );
    assert!(bad_email.starts_with("error: --email "), "{bad_email}");

    // R-ADD: added by email alone; consent asked and given through the
    // link pasted as the outbox printed it (R-CONSENT-5).
    let added = tool.ok(
        &day(3, 9),
        &[
            "add",
            "--name",
            "Contoso AI",
            "--email",
            "it@contoso.example",
            "--engagement",
            "ai-workshop",
        ],
    );
    let id = added_id(&added);
    tool.ok(&day(3, 10), &["send-consent", &id]);
    let consent = tool.link(&day(3, 11), "consent request");
    assert!(consent.starts_with("/consent/"), "{consent}");
    assert_eq!(
        tool.ok(&day(4, 9), &["accept", &consent]),
        "Contoso AI: consented\n"
    );
    // The same link again, pasted as a whole URL: accepting twice answers
    // the same (R-CONSENT-9); a token no link has is not found.
    assert_eq!(
        tool.ok(
            &day(4, 10),
            &["accept", &format!("https://partner.example{consent}/")]
        ),
        "Contoso AI: consented\n"
    );
    let unknown = "A".repeat(consent.len() - "/consent/".len());
    tool.fails(&day(4, 10), &["decline", &format!("/consent/{unknown}")], 4);
    tool.fails(&day(4, 10), &["decline", "/consent/!!"], 2);

    // R-CONSENT-4: contacts replaced, each given as "Name <email>".
    tool.ok(
        &day(5, 9),
        &[
            "contacts",
            &id,
            "--customer-contact",
            "Carla Customer <carla@contoso.example>",
            "--partner-contact",
            "Ada Lead <ada@northwind.example>",
        ],
    );
    let bad_contact = tool.fails(
        &day(5, 9),
        &["contacts", &id, "--customer-contact", "Carla"],
        2,
    );
    assert!(bad_contact.contains("--customer-contact"), "{bad_contact}");

    // R-CLAIM-W-2: proof by reference, never the bytes.
    let proof = dir.path().join("proof.pdf");
    std::fs::write(&proof, b"%PDF-1.7 workshop report").unwrap();
    let invoice = dir.path().join("invoice.pdf");
    std::fs::write(&invoice, b"%PDF-1.7 invoice 7500 EUR").unwrap();
    let attached = tool.ok(
        &day(10, 9),
        &[
            "attach",
            &id,
            proof.to_str().unwrap(),
            "--kind",
            "proof-of-execution",
        ],
    );
    assert!(
        attached.starts_with("proof.pdf (application/pdf, 24 bytes, sha256 "),
        "{attached}"
    );
    tool.ok(
        &day(10, 10),
        &[
            "attach",
            &id,
            invoice.to_str().unwrap(),
            "--kind",
            "invoice",
        ],
    );
    let missing_file = tool.fails(&day(10, 10), &["attach", &id, "nowhere.pdf"], 2);
    assert!(
        missing_file.starts_with("error: FILE nowhere.pdf"),
        "{missing_file}"
    );

    // R-CLAIM-W-3: both surveys sent and completed through their links.
    tool.ok(&day(11, 9), &["survey", &id, "--to", "partner"]);
    tool.ok(&day(11, 9), &["survey", &id, "--to", "customer"]);
    let outbox = tool.ok(&day(11, 10), &["outbox", "--deliver"]);
    let surveys: Vec<String> = outbox
        .lines()
        .filter_map(|line| line.split(" link /survey/").nth(1))
        .map(|token| format!("/survey/{}", token.trim()))
        .collect();
    assert_eq!(surveys.len(), 2, "{outbox}");
    for (hour, link) in surveys.iter().enumerate() {
        tool.ok(&day(12, 9 + hour as u32), &["complete-survey", link]);
    }

    // R-CLAIM-W-5..7: a comment, the submission, the reviewer asks for
    // more, the partner answers with a comment and submits again.
    tool.ok(&day(13, 9), &["comment", &id, "Workshop held on site"]);
    tool.ok(&day(13, 10), &["submit", &id]);
    let queue = tool.ok(&day(14, 9), &["review", "queue"]);
    assert!(queue.contains(&id), "{queue}");
    let seen = tool.seen(&day(14, 9), &id);
    let started = tool.ok(&day(14, 9), &["review", "start", &id, "--seen", &seen]);
    // R-LIST-4: a decision cites the head it saw; the one before is stale.
    let stale = tool.fails(
        &day(14, 10),
        &[
            "review",
            "ask",
            &id,
            "Attendee list, please",
            "--seen",
            &seen,
        ],
        3,
    );
    assert!(
        stale.contains("R-LIST-4") && stale.contains("seen"),
        "{stale}"
    );
    tool.ok(
        &day(14, 10),
        &[
            "review",
            "ask",
            &id,
            "Attendee list, please",
            "--seen",
            &seen_in(&started),
        ],
    );
    // R-LIST-3: the reviewer's request needs the partner, shown with its
    // deadline and action.
    let attention = tool.ok(&day(14, 11), &["attention"]);
    assert!(
        attention.contains(&format!(
            "{id} Contoso AI (ai-workshop): the reviewer asked for more information, by "
        )) && attention.contains(": answer the reviewer"),
        "{attention}"
    );
    let answered = tool.ok(
        &day(15, 9),
        &[
            "answer",
            &id,
            "--comment",
            "Attendee list attached to the report",
        ],
    );
    assert!(answered.contains("submitted"), "{answered}");
    let seen = tool.seen(&day(16, 9), &id);
    tool.ok(&day(16, 9), &["review", "start", &id, "--seen", &seen]);
    let shown = tool.ok(&day(16, 9), &["review", "show", &id]);
    assert!(
        shown.contains("proof.pdf (application/pdf, 24 bytes"),
        "{shown}"
    );
    assert!(
        shown.contains("Attendee list attached to the report"),
        "{shown}"
    );

    // R-CLAIM-W-8: rejected, disputed once, then approved and paid.
    tool.ok(
        &day(16, 10),
        &[
            "review",
            "reject",
            &id,
            "No attendee list",
            "--seen",
            &seen_in(&shown),
        ],
    );
    tool.ok(
        &day(17, 9),
        &["dispute", &id, "The list is page 3 of the report"],
    );
    let twice = tool.fails(&day(17, 10), &["dispute", &id, "Again"], 3);
    assert!(twice.contains("R-CLAIM-W-8"), "{twice}");
    let seen = tool.seen(&day(18, 9), &id);
    let started = tool.ok(&day(18, 9), &["review", "start", &id, "--seen", &seen]);
    tool.ok(
        &day(18, 10),
        &["review", "approve", &id, "--seen", &seen_in(&started)],
    );

    // R-CLAIM-W-9: the payout batch, shown, and a payment reversed by a
    // new batch.
    let paid = tool.ok("2026-05-01T09:00:00Z", &["review", "payout"]);
    let batch = paid
        .strip_prefix("batch ")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("{paid}"))
        .to_owned();
    assert!(paid.ends_with(": 1 claims\n"), "{paid}");
    let shown = tool.ok("2026-05-01T10:00:00Z", &["review", "batch", &batch]);
    assert!(
        shown.contains(&id) && shown.contains("7500.00 EUR"),
        "{shown}"
    );
    let seen = tool.seen("2026-05-02T09:00:00Z", &id);
    let reversed = tool.ok(
        "2026-05-02T09:00:00Z",
        &["review", "reverse", &batch, &id, "--seen", &seen],
    );
    assert!(
        reversed.contains(&id) && reversed.contains("Reversal"),
        "{reversed}"
    );

    // R-CLAIM-W-10: another nomination cancelled before submission.
    let other = added_id(&tool.ok(
        "2026-05-03T09:00:00Z",
        &[
            "add",
            "--name",
            "Tailspin AI",
            "--email",
            "it@tailspin.example",
            "--engagement",
            "ai-workshop",
        ],
    ));
    let cancelled = tool.ok("2026-05-03T10:00:00Z", &["cancel", &other]);
    assert!(cancelled.contains("cancelled"), "{cancelled}");
    tool.fails("2026-05-03T11:00:00Z", &["submit", "not-an-id"], 2);

    // R-LIST-4: the claim's history exported, verified offline, and every
    // kind of tampering found.
    let export = tool.ok("2026-05-04T09:00:00Z", &["history", &id, "--export"]);
    let lines: Vec<&str> = export.lines().collect();
    assert!(lines.len() > 15, "{export}");
    assert!(lines.last().unwrap().starts_with("{\"head\":"), "{export}");
    let file = dir.path().join("history.jsonl");
    std::fs::write(&file, &export).unwrap();
    let file = file.to_str().unwrap();
    let verified = tool.ok("2026-05-04T09:00:00Z", &["verify", file]);
    assert!(
        verified.ends_with("verified: 1 histories, 0 heads kept\n"),
        "{verified}"
    );
    // The head a partner kept from the export.
    let heads = dir.path().join("heads.jsonl");
    std::fs::write(&heads, format!("{}\n", lines.last().unwrap())).unwrap();
    let heads = heads.to_str().unwrap();
    let tampered = dir.path().join("tampered.jsonl");
    let tampered_path = tampered.to_str().unwrap();
    let check = |text: String| -> String {
        std::fs::write(&tampered, text).unwrap();
        tool.fails(
            "2026-05-04T09:00:00Z",
            &["verify", tampered_path, "--heads", heads],
            3,
        )
    };
    let edited = check(export.replacen("Workshop held on site", "Workshop held online", 1));
    assert!(edited.contains("was changed"), "{edited}");
    let mut without: Vec<&str> = lines.clone();
    without.remove(3);
    let removed = check(without.join("\n"));
    assert!(
        removed.contains("event 4 of nomination") && removed.contains("was removed"),
        "{removed}"
    );
    let cut = check(lines[..lines.len() - 3].join("\n"));
    assert!(cut.contains("was cut at version"), "{cut}");
    tool.fails("2026-05-04T09:00:00Z", &["verify", "missing.jsonl"], 2);
}

#[test]
fn r_list_2_and_4_the_partner_exports_its_claims_as_csv_and_every_history_for_verify() {
    let dir = tempfile::tempdir().unwrap();
    let tool = Tool {
        dir: dir.path(),
        db: String::from("export.sqlite"),
    };
    let now = "2026-03-03T09:00:00Z";
    tool.ok(now, &["--create", "engagements"]);
    let mut ids = Vec::new();
    for (name, email) in [
        ("Contoso AI", "it@contoso.example"),
        ("=1+2, \"Woodgrove\"", "it@woodgrove.example"),
        ("Tailspin Zürich", "it@tailspin.example"),
    ] {
        let out = tool.ok(
            now,
            &[
                "add",
                "--name",
                name,
                "--email",
                email,
                "--engagement",
                "ai-workshop",
            ],
        );
        ids.push(added_id(&out));
    }
    tool.ok("2026-03-03T10:00:00Z", &["send-consent", &ids[2]]);

    // R-LIST-2: CSV on standard output, a header and a row per claim.
    let later = "2026-03-04T09:00:00Z";
    let csv = tool.ok(later, &["export"]);
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[0].starts_with("claim_id,engagement,customer,location,friendly_name,state,"),
        "{}",
        lines[0]
    );
    for id in &ids {
        let rows = lines.iter().filter(|l| l.starts_with(id.as_str())).count();
        assert_eq!(rows, 1, "{csv}");
    }
    assert!(csv.contains(",Tailspin Zürich,awaiting_consent,"), "{csv}");
    // A name a spreadsheet would run is written as text, quoted for its
    // comma and quotes.
    assert!(
        csv.contains(",\"'=1+2, \"\"Woodgrove\"\"\",customer_claimed,"),
        "{csv}"
    );

    // Filtered and to a file; what was written is said on standard error.
    let file = dir.path().join("asked.csv");
    let out = tool.run(
        later,
        &[
            "export",
            "--state",
            "awaiting consent",
            "--order",
            "changed",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 rows written to"));
    let asked = std::fs::read_to_string(&file).unwrap();
    assert_eq!(asked.split_terminator("\r\n").count(), 2, "{asked}");
    let bad_state = tool.fails(later, &["export", "--state", "pending"], 2);
    assert!(bad_state.contains("is no state"), "{bad_state}");
    tool.fails(later, &["export", "--engagement", "no-such-engagement"], 4);

    // R-LIST-4: every history of the partner, each with its head, verified
    // offline; a change to the second nomination's history is named.
    let all = tool.ok(later, &["history", "--export", "--all"]);
    let histories = dir.path().join("histories.jsonl");
    std::fs::write(&histories, &all).unwrap();
    let verified = tool.ok(later, &["verify", histories.to_str().unwrap()]);
    assert!(
        verified.ends_with("verified: 3 histories, 0 heads kept\n"),
        "{verified}"
    );
    let forged: Vec<String> = all
        .lines()
        .map(|line| {
            if line.starts_with("{\"event\"") && line.contains(&ids[1]) {
                line.replacen(":00:00Z", ":00:01Z", 1)
            } else {
                line.to_owned()
            }
        })
        .collect();
    std::fs::write(&histories, forged.join("\n")).unwrap();
    let broken = tool.fails(later, &["verify", histories.to_str().unwrap()], 3);
    assert!(
        broken.contains(&format!("event 1 of nomination {} was changed", ids[1])),
        "{broken}"
    );
    tool.fails(later, &["history", "--all"], 2);
    tool.fails(later, &["history"], 2);
}

/// R-LIST-1: the tool's Claims page lists the partner's nominations of
/// every engagement newest first, filters them by state, searches them a
/// few rows at a time with a cursor to go on, and names a refused search
/// flag; the reviewer's page holds none until a claim is submitted.
#[test]
fn r_list_1_the_claims_page_through_the_tool() {
    let dir = tempfile::tempdir().unwrap();
    let tool = Tool {
        dir: dir.path(),
        db: String::from("claims.sqlite"),
    };
    let at = "2026-03-03T09:00:00Z";
    tool.ok(at, &["--create", "engagements"]);
    let mut ids = Vec::new();
    // A minute apart: ids made in one millisecond need not sort by order made.
    for (name, email, added_at) in [
        ("Contoso readiness", "it@contoso.example", at),
        (
            "Tailspin pilot",
            "it@tailspin.example",
            "2026-03-03T09:01:00Z",
        ),
    ] {
        let added = tool.ok(
            added_at,
            &[
                "add",
                "--name",
                name,
                "--email",
                email,
                "--engagement",
                "ai-workshop",
            ],
        );
        ids.push(added_id(&added));
    }
    let at = "2026-03-03T09:01:00Z";
    let page = tool.ok(at, &["claims"]);
    assert!(page.contains("2 customer claimed"), "{page}");
    let contoso = page.find("Contoso readiness").unwrap();
    let tailspin = page.find("Tailspin pilot").unwrap();
    assert!(tailspin < contoso, "newest first: {page}");
    for id in &ids {
        assert!(page.contains(id.as_str()), "{page}");
    }
    // Consent asked for the first an hour later: it changed last, and its
    // state shows.
    let later = "2026-03-03T10:00:00Z";
    tool.ok(later, &["send-consent", &ids[0]]);
    let changed = tool.ok(later, &["claims", "--order", "changed"]);
    assert!(
        changed.find("Contoso readiness").unwrap() < changed.find("Tailspin pilot").unwrap(),
        "{changed}"
    );
    let waiting = tool.ok(at, &["claims", "--state", "awaiting consent"]);
    assert!(waiting.contains("Contoso readiness"), "{waiting}");
    assert!(!waiting.contains("Tailspin pilot"), "{waiting}");
    // A search by domain, one row looked at a call: the first call looks
    // at Tailspin's and goes on with a cursor that finds Contoso's.
    let first = tool.ok(
        at,
        &["claims", "--domain", "contoso.example", "--scan", "1"],
    );
    assert!(first.contains("(no rows)"), "{first}");
    assert!(first.contains("looked at 1 rows"), "{first}");
    let cursor = first
        .lines()
        .find_map(|line| line.strip_prefix("more: --cursor "))
        .unwrap()
        .to_owned();
    let next = tool.ok(
        at,
        &[
            "claims",
            "--domain",
            "contoso.example",
            "--scan",
            "1",
            "--cursor",
            &cursor,
        ],
    );
    assert!(next.contains("Contoso readiness"), "{next}");
    // A refused search value names its flag; exit code 2.
    let refused = tool.fails(at, &["claims", "--domain", "not a domain"], 2);
    assert!(refused.starts_with("error: --domain "), "{refused}");
    let refused = tool.fails(at, &["claims", "--cursor", "AAAA"], 2);
    assert!(refused.contains("--cursor"), "{refused}");
    // Nothing submitted yet: the reviewer's page is empty.
    let reviewer = tool.ok(at, &["claims", "--reviewer"]);
    assert!(reviewer.contains("none"), "{reviewer}");
    assert!(reviewer.contains("(no rows)"), "{reviewer}");
}

#[test]
fn r_list_5_an_add_under_another_identifier_of_a_nominated_customer_warns_and_adds() {
    let dir = tempfile::tempdir().unwrap();
    let tool = Tool {
        dir: dir.path(),
        db: String::from("new.sqlite"),
    };
    let now = "2026-03-03T09:00:00Z";
    tool.ok(now, &["--create", "engagements"]);
    let add = |name: &str, id: &[&str]| {
        let mut args = vec![
            "add",
            "--name",
            name,
            "--email",
            "it@woodgrove.example",
            "--engagement",
            "ai-workshop",
        ];
        args.extend_from_slice(id);
        tool.ok(now, &args)
    };
    let by_tenant = add("Woodgrove AI", &[]);
    assert!(!by_tenant.contains("warning"), "{by_tenant}");
    // Woodgrove's TPID, under which its tenant is: added, with a warning.
    let by_tpid = add("Woodgrove group AI", &["--tpid", "5551001"]);
    assert!(by_tpid.contains("added Woodgrove group AI"), "{by_tpid}");
    assert!(
        by_tpid
            .contains("warning: ai-workshop: the tenant directory links this customer to tenant:")
            && by_tpid.contains("(R-LIST-5)"),
        "{by_tpid}"
    );
}
