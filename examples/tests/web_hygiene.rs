//! The web application's hygiene over plain HTTP, no browser: link pages
//! send no referrer, a link's GET changes nothing, forms without the CSRF
//! token or from another site are refused, tokens never reach the access
//! log (R-TOKEN-5), the demo clock survives a restart in the database and
//! is shared by two servers on it, and the payout page lists the batches
//! the database holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod web;

use web::{Client, WebApp, between};

/// Adds Contoso to the AI workshop as Northwind, asks for consent, and
/// returns the nomination and the token the mailbox delivered.
fn consent_requested(client: &mut Client) -> (String, String) {
    assert_eq!(client.get("/").status, 200);
    let added = client.post(
        "/add",
        &[
            ("friendly_name", "Contoso AI readiness"),
            ("location", "1000001"),
            ("contact_name", "Carla Rossi"),
            ("email", "cio@contoso.example"),
            ("id_type", "email"),
            ("engagements", "ai-workshop"),
        ],
    );
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.headers["location"], "/engagements/ai-workshop");
    let page = client.get("/engagements/ai-workshop");
    let nomination = between(&page.body, "href=\"/nominations/", "\"")
        .expect("the new row links to its nomination")
        .to_owned();
    let sent = client.post(&format!("/nominations/{nomination}/send-consent"), &[]);
    assert_eq!(sent.status, 303, "{}", sent.body);
    let mailbox = client.get("/mailbox");
    let token = between(&mailbox.body, "href=\"/consent/", "\"")
        .expect("the mailbox shows the consent link")
        .to_owned();
    (nomination, token)
}

fn state_of(client: &mut Client, nomination: &str) -> String {
    let page = client.get(&format!("/nominations/{nomination}"));
    assert_eq!(page.status, 200, "{}", page.body);
    between(&page.body, "<dd id=\"state\">", "</dd>")
        .expect("the claim page shows the state")
        .to_owned()
}

#[test]
fn r_token_5_the_consent_link_page_sends_no_referrer_and_its_get_changes_nothing() {
    let app = WebApp::in_memory();
    let mut client = Client::new(&app);
    let (nomination, token) = consent_requested(&mut client);
    for _ in 0..2 {
        let page = client.get(&format!("/consent/{token}"));
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.headers["referrer-policy"], "no-referrer");
        assert_eq!(page.headers["cache-control"], "no-store");
        assert!(page.body.contains("id=\"accept\""), "{}", page.body);
    }
    assert_eq!(state_of(&mut client, &nomination), "awaiting consent");
    // Only the page's form answers it.
    let accepted = client.post("/consent", &[("token", &token), ("answer", "accept")]);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(state_of(&mut client, &nomination), "consented");
    let log = app.stop();
    assert!(log.contains("GET /consent/[token] 200"), "{log}");
    assert!(!log.contains(&token), "the access log shows a token: {log}");
}

#[test]
fn a_form_without_its_csrf_token_or_from_another_site_is_refused_and_changes_nothing() {
    let app = WebApp::in_memory();
    let mut client = Client::new(&app);
    let (nomination, token) = consent_requested(&mut client);
    let origin = app.base.clone();
    // No token at all, though the cookie is there.
    let body = format!("token={token}&answer=accept");
    let refused = client.request("POST", "/consent", Some(&body), &[("Origin", &origin)]);
    assert_eq!(refused.status, 403);
    // A wrong token.
    let body = format!("token={token}&answer=accept&csrf=00000000000000000000000000000000");
    let refused = client.request("POST", "/consent", Some(&body), &[("Origin", &origin)]);
    assert_eq!(refused.status, 403);
    // The right token, from another site.
    let body = format!("csrf={}", client.csrf());
    let refused = client.request(
        "POST",
        &format!("/nominations/{nomination}/cancel"),
        Some(&body),
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(refused.status, 403);
    let refused = client.request(
        "POST",
        &format!("/nominations/{nomination}/cancel"),
        Some(&body),
        &[("Sec-Fetch-Site", "cross-site")],
    );
    assert_eq!(refused.status, 403);
    // A partner form without the token.
    let refused = client.request("POST", "/clock", Some("days=30"), &[("Origin", &origin)]);
    assert_eq!(refused.status, 403);
    assert_eq!(state_of(&mut client, &nomination), "awaiting consent");
    let overview = client.get("/");
    assert!(
        overview.body.contains("2026-03-02 09:00 UTC"),
        "the clock moved"
    );
    // With the token, the same cancel goes through.
    let cancelled = client.post(&format!("/nominations/{nomination}/cancel"), &[]);
    assert_eq!(cancelled.status, 303, "{}", cancelled.body);
    assert_eq!(state_of(&mut client, &nomination), "cancelled");
}

#[test]
fn a_refused_add_names_the_field_and_the_rule_and_adds_nothing() {
    let app = WebApp::in_memory();
    let mut client = Client::new(&app);
    client.get("/");
    // Contoso's tenant, with an email at another domain and no reason.
    let tenant = mci_examples::customers(1).unwrap()[0].tenant.to_string();
    let fields = [
        ("friendly_name", "Contoso AI readiness"),
        ("location", "1000001"),
        ("email", "carla@contoso-consulting.example"),
        ("id_type", "tenant"),
        ("id_value", tenant.as_str()),
        ("engagements", "ai-workshop"),
    ];
    let refused = client.post("/add", &fields);
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("data-field=\"mismatch_reason\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("R-ADD-4"), "{}", refused.body);
    let page = client.get("/engagements/ai-workshop");
    assert!(page.body.contains("id=\"no-rows\""), "{}", page.body);
}

#[test]
fn r_time_1_the_demo_clock_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("web.sqlite");
    let app = WebApp::on_sqlite(&database);
    let mut client = Client::new(&app);
    client.get("/");
    let moved = client.post("/clock", &[("days", "7"), ("back", "/")]);
    assert_eq!(moved.status, 303);
    assert!(client.get("/").body.contains("2026-03-09 09:00 UTC"));
    app.stop();
    let app = WebApp::on_sqlite(&database);
    let mut client = Client::new(&app);
    assert!(client.get("/").body.contains("2026-03-09 09:00 UTC"));
    app.stop();
    // The clock is in the database: no file beside it holds it.
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(
        files.iter().all(|name| name.starts_with("web.sqlite")
            && ["", "-wal", "-shm"].contains(&&name["web.sqlite".len()..])),
        "{files:?}"
    );
}

#[test]
fn r_time_1_two_servers_on_one_database_move_one_clock() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("web.sqlite");
    let a = WebApp::on_sqlite(&database);
    let b = WebApp::on_sqlite(&database);
    let (mut on_a, mut on_b) = (Client::new(&a), Client::new(&b));
    on_a.get("/");
    on_b.get("/");
    let moved = on_a.post("/clock", &[("days", "7"), ("back", "/")]);
    assert_eq!(moved.status, 303, "{}", moved.body);
    // B reads where A moved it, and moves on from there: both moves count.
    assert!(on_b.get("/").body.contains("2026-03-09 09:00 UTC"));
    let moved = on_b.post("/clock", &[("days", "1"), ("back", "/")]);
    assert_eq!(moved.status, 303, "{}", moved.body);
    assert!(on_a.get("/").body.contains("2026-03-10 09:00 UTC"));
    assert!(on_b.get("/").body.contains("2026-03-10 09:00 UTC"));
}

#[test]
fn r_claim_w_9_the_payout_page_lists_the_batches_from_the_database_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("web.sqlite");
    let app = WebApp::on_sqlite(&database);
    let mut client = Client::new(&app);
    assert!(client.get("/payouts").body.contains("id=\"no-batches\""));
    for _ in 0..2 {
        let run = client.post("/payouts", &[]);
        assert_eq!(run.status, 303, "{}", run.body);
        client.post("/clock", &[("days", "1"), ("back", "/")]);
    }
    let before = client.get("/payouts").body;
    assert_eq!(
        before.matches("<section class=\"batch\">").count(),
        2,
        "{before}"
    );
    app.stop();
    let app = WebApp::on_sqlite(&database);
    let mut client = Client::new(&app);
    let after = client.get("/payouts");
    assert_eq!(after.status, 200, "{}", after.body);
    for batch in before.split("<h2>Batch ").skip(1) {
        let id = between(batch, "<span class=\"mono\">", "<").unwrap();
        assert!(
            after.body.contains(id),
            "batch {id} is listed: {}",
            after.body
        );
    }
    assert!(!after.body.contains("id=\"next-batches\""));
    // A page after a batch that is no id is refused under its parameter.
    let refused = client.get("/payouts?after=nonsense");
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("data-field=\"after\""),
        "{}",
        refused.body
    );
}

#[test]
fn the_state_file_flag_is_gone() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_web"))
        .args(["--memory", "--state-file", "web.state"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--state-file"), "{stderr}");
}

#[test]
fn r_page_1_the_customers_page_pages_by_keyset_and_a_reminder_carries_a_fresh_link() {
    let app = WebApp::in_memory();
    let mut client = Client::new(&app);
    let (nomination, first) = consent_requested(&mut client);
    for (name, email) in [
        ("Tailspin AI readiness", "cto@tailspin.example"),
        ("Litware AI readiness", "it@litware.example"),
    ] {
        let added = client.post(
            "/add",
            &[
                ("friendly_name", name),
                ("location", "1000001"),
                ("email", email),
                ("id_type", "email"),
                ("engagements", "ai-workshop"),
            ],
        );
        assert_eq!(added.status, 303, "{}", added.body);
    }
    let page = client.get("/engagements/ai-workshop?limit=2");
    assert_eq!(page.body.matches("data-nomination=").count(), 2);
    assert!(
        page.body.contains("<span class=\"count\">3</span>"),
        "{}",
        page.body
    );
    let next = between(&page.body, "id=\"next-page\" href=\"", "\"")
        .expect("a next page")
        .replace("&amp;", "&");
    let rest = client.get(&next);
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(rest.body.matches("data-nomination=").count(), 1);
    assert!(!rest.body.contains("id=\"next-page\""));
    // Re-send: a reminder with a new link; the first still works (R-CONSENT-3).
    let resent = client.post(&format!("/nominations/{nomination}/resend-consent"), &[]);
    assert_eq!(resent.status, 303, "{}", resent.body);
    let mailbox = client.get("/mailbox");
    assert!(
        mailbox.body.contains("consent reminder"),
        "{}",
        mailbox.body
    );
    let second = between(&mailbox.body, "href=\"/consent/", "\"").unwrap();
    assert_ne!(second, first);
    assert_eq!(client.get(&format!("/consent/{first}")).status, 200);
}

#[test]
fn the_web_app_keeps_its_customers_and_clock_on_postgres() {
    let test = "the_web_app_keeps_its_customers_and_clock_on_postgres";
    let Some(cluster) = mci_pg_harness::Cluster::start_or_skip(test) else {
        return;
    };
    cluster.create_database("web").unwrap();
    let url = format!(
        "postgres://{}@127.0.0.1:{}/web",
        mci_pg_harness::SUPERUSER,
        cluster.port()
    );
    let args = ["--database", url.as_str()];
    let app = WebApp::start(&args);
    let mut client = Client::new(&app);
    let (nomination, _) = consent_requested(&mut client);
    client.post("/clock", &[("days", "7"), ("back", "/")]);
    app.stop();
    let app = WebApp::start(&args);
    let mut client = Client::new(&app);
    let page = client.get("/engagements/ai-workshop");
    assert!(page.body.contains(&nomination), "{}", page.body);
    assert!(page.body.contains("2026-03-09 09:00 UTC"), "{}", page.body);
    assert!(page.body.contains("23 days"), "{}", page.body);
}

/// Consent accepted, proof attached, both surveys completed and the
/// claim submitted, through the pages' forms.
fn submitted(client: &mut Client) -> String {
    let (nomination, token) = consent_requested(client);
    let accepted = client.post("/consent", &[("token", &token), ("answer", "accept")]);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let documents = format!("/nominations/{nomination}/documents");
    for (kind, name) in [
        ("proof_of_execution", "findings.pdf"),
        ("invoice", "invoice.pdf"),
    ] {
        let attached = client.upload(&documents, kind, name, "%PDF-1.4 demo");
        assert_eq!(attached.status, 303, "{}", attached.body);
    }
    for survey in ["partner", "customer"] {
        let sent = client.post(
            &format!("/nominations/{nomination}/survey"),
            &[("survey", survey)],
        );
        assert_eq!(sent.status, 303, "{}", sent.body);
    }
    let mailbox = client.get("/mailbox");
    let mut rest = mailbox.body.as_str();
    let mut links = Vec::new();
    while let Some(at) = rest.find("href=\"/survey/") {
        let token = between(&rest[at..], "href=\"/survey/", "\"")
            .unwrap()
            .to_owned();
        rest = &rest[at + 1..];
        links.push(token);
    }
    assert_eq!(links.len(), 2, "{}", mailbox.body);
    for token in links {
        assert_eq!(client.get(&format!("/survey/{token}")).status, 200);
        let done = client.post("/survey", &[("token", &token)]);
        assert_eq!(done.status, 200, "{}", done.body);
    }
    let page = client.get(&format!("/nominations/{nomination}"));
    assert!(page.body.contains("findings.pdf"), "{}", page.body);
    assert!(page.body.contains("SHA-256"), "{}", page.body);
    let sent = client.post(&format!("/nominations/{nomination}/submit"), &[]);
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(state_of(client, &nomination), "submitted");
    nomination
}

/// The head the review page at `review` shows in its decision forms'
/// hidden `seen` field (R-LIST-4).
fn seen_on(client: &mut Client, review: &str) -> String {
    let page = client.get(review);
    let at = page
        .body
        .find("name=\"seen\" value=\"")
        .unwrap_or_else(|| panic!("no seen field: {}", page.body));
    page.body[at + 19..at + 83].to_owned()
}

#[test]
fn r_list_4_a_decision_cites_the_head_its_page_showed_and_a_stale_one_is_refused() {
    let app = WebApp::in_memory();
    let mut client = Client::new(&app);
    let nomination = submitted(&mut client);
    let review = format!("/review/{nomination}");
    let page = client.get(&review);
    assert!(page.body.contains("id=\"head\""), "{}", page.body);
    let read = seen_on(&mut client, &review);
    // Without the head, the decision is refused beside nothing it could fix.
    let missing = client.post(&format!("{review}/start"), &[]);
    assert_eq!(missing.status, 422, "{}", missing.body);
    assert_eq!(state_of(&mut client, &nomination), "submitted");
    // The partner comments after the reviewer read the claim.
    let commented = client.post(
        &format!("/nominations/{nomination}/comment"),
        &[("text", "The agenda is on page 2")],
    );
    assert_eq!(commented.status, 303, "{}", commented.body);
    let stale = client.post(&format!("{review}/start"), &[("seen", &read)]);
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(stale.body.contains("R-LIST-4"), "{}", stale.body);
    assert_eq!(state_of(&mut client, &nomination), "submitted");
    // The page shows the head it has now, and that one is accepted.
    let fresh = seen_on(&mut client, &review);
    assert_ne!(fresh, read);
    let started = client.post(&format!("{review}/start"), &[("seen", &fresh)]);
    assert_eq!(started.status, 303, "{}", started.body);
    assert_eq!(state_of(&mut client, &nomination), "under review");
}

#[test]
fn r_claim_w_8_a_rejection_needs_a_reason_and_the_partner_disputes_it() {
    let app = WebApp::in_memory();
    let mut client = Client::new(&app);
    let nomination = submitted(&mut client);
    let queue = client.get("/review");
    assert!(queue.body.contains(&nomination), "{}", queue.body);
    let review = format!("/review/{nomination}");
    let seen = seen_on(&mut client, &review);
    assert_eq!(
        client
            .post(&format!("{review}/start"), &[("seen", &seen)])
            .status,
        303
    );
    let seen = seen_on(&mut client, &review);
    // No reason: refused beside the reason's field, nothing changes.
    let refused = client.post(
        &format!("{review}/reject"),
        &[("text", ""), ("seen", &seen)],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("data-field=\"reject\""),
        "{}",
        refused.body
    );
    assert_eq!(state_of(&mut client, &nomination), "under review");
    let rejected = client.post(
        &format!("{review}/reject"),
        &[("text", "The invoice is not signed"), ("seen", &seen)],
    );
    assert_eq!(rejected.status, 303, "{}", rejected.body);
    let page = client.get(&format!("/nominations/{nomination}"));
    assert!(
        page.body.contains("The invoice is not signed"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"dispute\""), "{}", page.body);
    let disputed = client.post(
        &format!("/nominations/{nomination}/dispute"),
        &[("text", "Signed copy attached on the portal")],
    );
    assert_eq!(disputed.status, 303, "{}", disputed.body);
    assert_eq!(state_of(&mut client, &nomination), "disputed");
    let history = client.get(&format!("/nominations/{nomination}/history"));
    assert!(
        history.body.contains("rejected → disputed"),
        "{}",
        history.body
    );
}

#[test]
fn r_claim_1_a_known_customer_is_claimed_for_another_engagement() {
    let app = WebApp::in_memory();
    let mut client = Client::new(&app);
    let (_, token) = consent_requested(&mut client);
    client.post("/consent", &[("token", &token), ("answer", "accept")]);
    let page = client.get("/engagements/copilot-workshop");
    let claim = between(
        &page.body,
        "href=\"/engagements/copilot-workshop/claim?through=",
        "\"",
    )
    .expect("the known customer can be claimed")
    .to_owned();
    let form = client.get(&format!(
        "/engagements/copilot-workshop/claim?through={claim}"
    ));
    assert_eq!(form.status, 200, "{}", form.body);
    let claimed = client.post(
        "/engagements/copilot-workshop/claim",
        &[
            ("through", &claim),
            ("friendly_name", "Contoso Copilot adoption"),
            ("location", "1000001"),
        ],
    );
    assert_eq!(claimed.status, 303, "{}", claimed.body);
    let page = client.get("/engagements/copilot-workshop");
    assert!(
        page.body.contains("Contoso Copilot adoption"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Send consent email"), "{}", page.body);
    // Claiming it again is refused as a duplicate (R-ADD-7) beside the
    // engagements, and adds nothing.
    let again = client.post(
        "/engagements/copilot-workshop/claim",
        &[
            ("through", &claim),
            ("friendly_name", "Contoso Copilot again"),
            ("location", "1000001"),
        ],
    );
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        !client
            .get("/engagements/copilot-workshop")
            .body
            .contains("Contoso Copilot again")
    );
}

#[test]
fn r_add_8_variable_pay_is_reviewed_with_its_hours_and_capped_payout() {
    let app = WebApp::in_memory();
    let mut client = Client::new(&app);
    client.get("/");
    let step = |hours: &'static str| {
        vec![
            ("friendly_name", "Woodgrove datacenter exit"),
            ("location", "1000001"),
            ("email", "cio@woodgrove.example"),
            ("id_type", "msx"),
            ("id_value", "7-2NPN5SBZXE"),
            ("hours", hours),
        ]
    };
    // Step 2 offers the variable-pay engagement only.
    let two = client.post("/add/engagements", &step("120"));
    assert_eq!(two.status, 200, "{}", two.body);
    assert!(
        two.body.contains("id=\"engagement-migration-project\""),
        "{}",
        two.body
    );
    assert!(
        !two.body.contains("id=\"engagement-ai-workshop\""),
        "{}",
        two.body
    );
    // Step 3: 120 hours at 150.00 EUR.
    let mut chosen = step("120");
    chosen.push(("engagements", "migration-project"));
    let three = client.post("/add/review", &chosen);
    assert!(three.body.contains("18000.00 EUR"), "{}", three.body);
    // 300 hours would be 45000.00 EUR: the cap holds it at 30000.00 EUR.
    let mut capped = step("300");
    capped.push(("engagements", "migration-project"));
    let three = client.post("/add/review", &capped);
    assert!(three.body.contains("30000.00 EUR"), "{}", three.body);
    // More than the engagement's 400 hours: refused beside the hours.
    let refused = client.post("/add/engagements", &step("401"));
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("data-field=\"hours\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("R-ADD-8"), "{}", refused.body);
    let added = client.post("/add", &chosen);
    assert_eq!(added.status, 303, "{}", added.body);
    let page = client.get("/engagements/migration-project");
    assert!(
        page.body.contains("Woodgrove datacenter exit"),
        "{}",
        page.body
    );
}

#[test]
fn r_time_4_the_sweep_says_what_it_did_once() {
    let app = WebApp::in_memory();
    let mut client = Client::new(&app);
    let (nomination, _) = consent_requested(&mut client);
    client.post("/clock", &[("days", "30"), ("back", "/")]);
    let swept = client.post("/sweep", &[("back", "/")]);
    assert_eq!(swept.status, 303);
    let shown = client.get("/");
    assert!(
        shown.body.contains("Sweep at 2026-04-01 09:00: 1 lapsed"),
        "{}",
        shown.body
    );
    assert!(!client.get("/").body.contains("id=\"notice\""));
    assert_eq!(state_of(&mut client, &nomination), "consent expired");
}

#[test]
fn r_consent_4_new_contacts_void_the_sent_link_and_a_half_given_contact_is_refused() {
    let app = WebApp::in_memory();
    let mut client = Client::new(&app);
    let (nomination, token) = consent_requested(&mut client);
    // A name without an email: refused beside the contacts form, nothing
    // changed.
    let half = client.post(
        &format!("/nominations/{nomination}/contacts"),
        &[("customer_name", "Dana Ops")],
    );
    assert_eq!(half.status, 422, "{}", half.body);
    assert!(half.body.contains("contacts"), "{}", half.body);
    assert!(
        client
            .get(&format!("/nominations/{nomination}"))
            .body
            .contains("Carla Rossi")
    );
    let updated = client.post(
        &format!("/nominations/{nomination}/contacts"),
        &[
            ("customer_name", "Dana Ops"),
            ("customer_email", "dana@contoso.example"),
        ],
    );
    assert_eq!(updated.status, 303, "{}", updated.body);
    let page = client.get(&format!("/nominations/{nomination}"));
    assert!(page.body.contains("Dana Ops"), "{}", page.body);
    assert!(!page.body.contains("Carla Rossi"), "{}", page.body);
    // The link sent to the old contact no longer answers (R-TOKEN-3).
    let late = client.post("/consent", &[("token", &token), ("answer", "accept")]);
    assert_eq!(late.status, 404, "{}", late.body);
    assert_eq!(state_of(&mut client, &nomination), "awaiting consent");
}

#[test]
fn r_list_5_the_review_step_warns_of_a_customer_nominated_under_another_identifier() {
    let app = WebApp::in_memory();
    let mut client = Client::new(&app);
    client.get("/");
    let by = |id_type: &'static str, id_value: &'static str| {
        vec![
            ("friendly_name", "Woodgrove AI"),
            ("location", "1000001"),
            ("email", "cio@woodgrove.example"),
            ("id_type", id_type),
            ("id_value", id_value),
            ("engagements", "ai-workshop"),
        ]
    };
    let review = client.post("/add/review", &by("email", ""));
    assert_eq!(review.status, 200, "{}", review.body);
    assert!(!review.body.contains("id=\"warnings\""), "{}", review.body);
    let added = client.post("/add", &by("email", ""));
    assert_eq!(added.status, 303, "{}", added.body);
    // Woodgrove's TPID, which its tenant is under: warned of, still addable.
    let review = client.post("/add/review", &by("tpid", "5551001"));
    assert_eq!(review.status, 200, "{}", review.body);
    assert!(review.body.contains("id=\"warnings\""), "{}", review.body);
    assert!(review.body.contains("R-LIST-5"), "{}", review.body);
    assert!(review.body.contains("id=\"add\""), "{}", review.body);
    // Added all the same; the page it leads to says it again, once.
    let added = client.post("/add", &by("tpid", "5551001"));
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.headers["location"], "/engagements/ai-workshop");
    let after = client.get("/engagements/ai-workshop");
    assert!(
        after.body.contains("id=\"added-warnings\""),
        "{}",
        after.body
    );
    assert!(
        after.body.contains(
            "AI readiness workshop: the tenant directory links this customer to \
             tenant:00000001-0000-4000-8000-000000000004"
        ),
        "{}",
        after.body
    );
    assert!(after.body.contains("R-LIST-5"), "{}", after.body);
    let again = client.get("/engagements/ai-workshop");
    assert!(!again.body.contains("added-warnings"), "{}", again.body);
}

#[test]
fn r_list_3_the_header_counts_what_needs_the_partner_and_its_page_lists_it() {
    let app = WebApp::in_memory();
    let mut client = Client::new(&app);
    let nomination = submitted(&mut client);
    let before = client.get("/attention");
    assert_eq!(before.status, 200, "{}", before.body);
    assert!(before.body.contains("id=\"attention\""), "{}", before.body);
    assert!(
        !before
            .body
            .contains(&format!("/nominations/{nomination}\">Answer")),
        "{}",
        before.body
    );
    // The reviewer asks for more: the claim needs the partner now.
    let review = format!("/review/{nomination}");
    let seen = seen_on(&mut client, &review);
    let started = client.post(&format!("{review}/start"), &[("seen", &seen)]);
    assert_eq!(started.status, 303, "{}", started.body);
    let seen = seen_on(&mut client, &review);
    let asked = client.post(
        &format!("{review}/ask"),
        &[("text", "Attach the agenda"), ("seen", &seen)],
    );
    assert_eq!(asked.status, 303, "{}", asked.body);
    let after = client.get("/attention");
    assert!(
        after.body.contains(&format!(
            "<a href=\"/nominations/{nomination}\">Answer the reviewer</a>"
        )),
        "{}",
        after.body
    );
    assert!(
        after
            .body
            .contains("the reviewer asked for more information"),
        "{}",
        after.body
    );
    assert!(after.body.contains("days left"), "{}", after.body);
    // The header's count, quiet or not.
    let count = |body: &str| {
        let link = between(body, "id=\"attention\"", "</a>")?;
        let span = &link[link.find("<span class=\"count")?..];
        between(span, ">", "<").map(str::to_owned)
    };
    let before_count: usize = count(&before.body).unwrap().parse().unwrap();
    let after_count: usize = count(&after.body).unwrap().parse().unwrap();
    assert_eq!(after_count, before_count + 1, "{}", after.body);
}
