//! Plays the life of MCI engagements over simulated days, on the embedded
//! default store (a SQLite file in the current folder), on a PostgreSQL
//! database or in memory, and prints after each step the Customers page,
//! the emails the outbox would send and the events written.
//!
//! ```text
//! cargo run -p mci-examples --bin walkthrough            # mci-demo.sqlite
//! cargo run -p mci-examples --bin walkthrough -- --memory
//! cargo run -p mci-examples --bin walkthrough -- --database postgres://mci@db.internal/mci
//! ```

use chrono::TimeDelta;
use clap::Parser;
use mci_core::{
    Comment, CustomerIdInput, DocumentKind, DocumentRef, EngagementId, Hours, Instant, LinkToken,
    MessageKind, NominationId, PartnerUser, ReviewerId, SendConsent, SurveyKind, Tab,
};
use mci_engagements::ports::{Clock, ManualClock};
use mci_engagements::{AddCustomer, ClaimCustomer, Error, Incentives};
use mci_examples::{
    Database, DemoCustomer, DemoError, DemoPartner, admin, customers, epoch, event_line, ids,
    message_line, page_table, partners, reviewer, woodgrove_tpid,
};
use mci_store::{IdempotencyKey, Store};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

/// Plays a story of MCI engagements over simulated days.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The database file: created if missing, reused if present.
    #[arg(value_name = "FILE", conflicts_with = "database")]
    file: Option<Database>,
    /// The database: a SQLite file (mci-demo.sqlite by default), or a
    /// PostgreSQL database as a postgres:// or postgresql:// URL or libpq
    /// pairs ("host=/var/run/postgresql dbname=mci"), whose tables are
    /// created on first use; reused if it holds earlier runs.
    #[arg(long)]
    database: Option<Database>,
    /// Run on the in-memory store instead of a database.
    #[arg(long, conflicts_with_all = ["file", "database"])]
    memory: bool,
}

impl Args {
    /// The database named, positionally or with --database.
    fn database(&self) -> Database {
        self.database
            .clone()
            .or_else(|| self.file.clone())
            .unwrap_or_else(|| Database::parse("mci-demo.sqlite"))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match play(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", mci_examples::with_causes(&*error));
            ExitCode::FAILURE
        }
    }
}

async fn open(args: &Args) -> Result<Arc<dyn Store>, DemoError> {
    if args.memory {
        return Ok(Arc::new(mci_store_memory::MemoryStore::new()));
    }
    args.database().open().await
}

/// The first run number whose opening step has not been recorded.
async fn next_run(store: &Arc<dyn Store>, northwind: &DemoPartner) -> Result<u32, DemoError> {
    let mut run = 1;
    while store
        .idempotent_result(&run_key(northwind, run)?)
        .await?
        .is_some()
    {
        run += 1;
    }
    Ok(run)
}

fn run_key(northwind: &DemoPartner, run: u32) -> Result<IdempotencyKey, DemoError> {
    Ok(IdempotencyKey::new(
        format!("partner:{}", northwind.id),
        format!("walkthrough-run-{run}"),
    )?)
}

struct Story {
    service: Arc<Incentives>,
    clock: Arc<ManualClock>,
    start: Instant,
    run: u32,
    northwind: DemoPartner,
    fabrikam: DemoPartner,
    customers: Vec<DemoCustomer>,
    reviewer: ReviewerId,
    /// The last version of each nomination whose events were printed.
    printed: HashMap<NominationId, u64>,
    /// Link tokens seen in the outbox, by nomination and purpose.
    consent_links: HashMap<NominationId, LinkToken>,
    survey_links: HashMap<(NominationId, SurveyKind), LinkToken>,
    names: HashMap<NominationId, String>,
}

async fn play(args: &Args) -> Result<(), DemoError> {
    let store = open(args).await?;
    let [northwind, fabrikam] = partners()?;
    let run = next_run(&store, &northwind).await?;
    let start = epoch() + TimeDelta::days(365 * i64::from(run - 1));
    let clock = Arc::new(ManualClock::new(start));
    let service = Arc::new(mci_examples::service(store.clone(), clock.clone(), run)?);
    let mut story = Story {
        service,
        clock,
        start,
        run,
        northwind,
        fabrikam,
        customers: customers(run)?,
        reviewer: reviewer()?,
        printed: HashMap::new(),
        consent_links: HashMap::new(),
        survey_links: HashMap::new(),
        names: HashMap::new(),
    };
    println!(
        "MCI engagements walkthrough, run {run}, starting {}",
        start.format("%Y-%m-%d")
    );
    story.tell().await?;
    if args.memory {
        println!("\nThe story ran in memory; nothing was kept.");
    } else {
        println!(
            "\nThe database is {} (run {run}); run the walkthrough again to add another run to it.",
            args.database().describe()
        );
    }
    Ok(())
}

impl Story {
    fn customer(&self, name: &str) -> Result<&DemoCustomer, DemoError> {
        self.customers
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| format!("no demo customer {name}").into())
    }

    fn user(&self, partner: &DemoPartner) -> Result<PartnerUser, DemoError> {
        Ok(admin(partner)?)
    }

    fn at_day(&self, day: i64) {
        self.clock.set(self.start + TimeDelta::days(day));
    }

    fn heading(&self, day: i64, title: &str) {
        self.at_day(day);
        println!(
            "\n=== Day {day} ({}): {title}",
            self.clock_now().format("%Y-%m-%d")
        );
    }

    fn clock_now(&self) -> Instant {
        self.clock.now()
    }

    fn form(
        &self,
        partner: &DemoPartner,
        customer: &DemoCustomer,
        id: CustomerIdInput,
        engagements: &[&str],
    ) -> Result<AddCustomer, DemoError> {
        Ok(AddCustomer {
            friendly_name: format!("{} {}", customer.name, engagement_label(engagements))
                .trim()
                .parse()?,
            location: partner.location.clone(),
            customer_id: id,
            customer_email: customer.email("it")?,
            mismatch_reason: None,
            engagements: engagements
                .iter()
                .map(|e| e.parse())
                .collect::<Result<_, _>>()?,
            customer_contacts: customer.contact("IT Director", "it")?,
            partner_contacts: mci_core::Contacts::one(
                "Engagement Lead".parse()?,
                format!("lead@{}.example", partner.id).parse()?,
            ),
            hours: None,
        })
    }

    /// Adds a customer and says so; returns the new nominations' ids.
    async fn add(
        &mut self,
        partner: &DemoPartner,
        form: AddCustomer,
        key: Option<IdempotencyKey>,
    ) -> Result<Vec<NominationId>, DemoError> {
        let user = self.user(partner)?;
        let call = match key {
            Some(key) => mci_engagements::Call::new(user).idempotency_key(key.key()),
            None => mci_engagements::Call::new(user),
        };
        let added = self.service.add_customer(call, &form).await?;
        let mut out = Vec::new();
        for n in &added.nominations {
            println!(
                "  {} added {} to {} ({} days to obtain consent)",
                partner.name,
                n.friendly_name(),
                n.engagement(),
                n.deadline().map_or(0, |d| d.days_left(self.clock_now()))
            );
            self.names.insert(*n.id(), n.friendly_name().to_string());
            out.push(*n.id());
        }
        Ok(out)
    }

    async fn send_consent(
        &mut self,
        partner: &DemoPartner,
        id: NominationId,
    ) -> Result<(), DemoError> {
        self.service
            .send_consent(&self.user(partner)?, &id, SendConsent::default())
            .await?;
        Ok(())
    }

    /// The hash of the claim's last event as the reviewer reads it now,
    /// which the reviewer's decision cites (R-LIST-4).
    async fn seen(&self, id: &NominationId) -> Result<mci_core::Sha256Digest, DemoError> {
        let claim = self.service.claim_for_review(id).await?;
        Ok(claim.head().ok_or("the claim's history has no head")?.hash)
    }

    fn consent_link(&self, id: &NominationId) -> Result<LinkToken, DemoError> {
        self.consent_links
            .get(id)
            .cloned()
            .ok_or_else(|| "no consent link was sent".into())
    }

    /// Prints the three tabs of an engagement's Customers page for a partner.
    async fn show(&self, partner: &DemoPartner, engagement: &str) -> Result<(), DemoError> {
        let engagement: EngagementId = engagement.parse()?;
        let user = self.user(partner)?;
        for tab in Tab::ALL {
            let page = self
                .service
                .customers_page(&user, &engagement, tab, None, 50)
                .await?;
            let count = match tab {
                Tab::Eligible => page.counts.eligible,
                Tab::Ineligible => page.counts.ineligible,
                Tab::Complete => page.counts.complete,
            };
            if count == 0 && tab != Tab::Eligible {
                continue;
            }
            println!("\n  {} / {engagement} / {tab} ({count})", partner.name);
            print!("{}", page_table(&page));
        }
        Ok(())
    }

    /// Delivers the outbox (printing each email) and prints the events
    /// written since the last time.
    async fn flush(&mut self) -> Result<(), DemoError> {
        let messages = self
            .service
            .take_messages(TimeDelta::minutes(5), 500)
            .await?;
        if !messages.is_empty() {
            println!("\n  Outbox:");
        }
        let mut delivered = Vec::new();
        for delivery in &messages {
            let message = &delivery.message;
            match (&message.kind, &delivery.token) {
                (
                    MessageKind::ConsentRequest { .. } | MessageKind::ConsentReminder { .. },
                    Some(token),
                ) => {
                    self.consent_links.insert(message.nomination, token.clone());
                }
                (MessageKind::Survey { survey, .. }, Some(token)) => {
                    self.survey_links
                        .insert((message.nomination, *survey), token.clone());
                }
                _ => {}
            }
            let name = self
                .names
                .get(&message.nomination)
                .map_or_else(|| message.nomination.to_string(), Clone::clone);
            println!("{} [{name}]", message_line(delivery));
            delivered.push(message.id);
        }
        self.service.acknowledge(&delivered).await?;
        let mut ids: Vec<NominationId> = self.names.keys().copied().collect();
        ids.sort();
        let mut lines = Vec::new();
        for id in ids {
            let events = self.service.store().history(&id).await?;
            let seen = self.printed.get(&id).copied().unwrap_or(0);
            for event in events.iter().filter(|e| e.version > seen) {
                lines.push((
                    event.at,
                    format!("{} [{}]", event_line(event), self.names[&id]),
                ));
            }
            if let Some(last) = events.last() {
                self.printed.insert(id, last.version);
            }
        }
        if !lines.is_empty() {
            println!("\n  Events:");
            lines.sort_by_key(|line| line.0);
            for (_, line) in lines {
                println!("{line}");
            }
        }
        Ok(())
    }

    async fn tell(&mut self) -> Result<(), DemoError> {
        let northwind = self.northwind.clone();
        let fabrikam = self.fabrikam.clone();
        let nw = self.user(&northwind)?;
        let contoso = self.customer("Contoso")?.clone();
        let tailspin = self.customer("Tailspin Toys")?.clone();
        let alpine = self.customer("Alpine Ski House")?.clone();
        let woodgrove = self.customer("Woodgrove Bank")?.clone();
        let buecherei = self.customer("Bücherei Müller")?.clone();
        let litware = self.customer("Litware")?.clone();
        let adatum = self.customer("Adatum")?.clone();
        let fourth = self.customer("Fourth Coffee")?.clone();
        let wide = self.customer("Wide World Importers")?.clone();

        // Day 0: customers added by every kind of id.
        self.heading(0, "Northwind adds customers by every kind of customer id");
        let form = self.form(
            &northwind,
            &contoso,
            CustomerIdInput::EmailOnly,
            &[ids::AI_WORKSHOP, ids::SECURITY_ASSESSMENT],
        )?;
        let contoso_ids = self
            .add(&northwind, form, Some(run_key(&northwind, self.run)?))
            .await?;
        let (contoso_ai, contoso_sec) = (contoso_ids[0], contoso_ids[1]);
        let form = self.form(
            &northwind,
            &tailspin,
            CustomerIdInput::TenantId(tailspin.tenant),
            &[ids::AI_WORKSHOP],
        )?;
        let tailspin_ai = self.add(&northwind, form, None).await?[0];

        let mut mismatched = self.form(
            &northwind,
            &alpine,
            CustomerIdInput::TenantId(alpine.tenant),
            &[ids::AI_WORKSHOP],
        )?;
        mismatched.customer_email = format!("it@mail.{}", alpine.domain).parse()?;
        match self.service.add_customer(&nw, &mismatched).await {
            Err(Error::Refused(refusal)) => println!("  refused: {refusal}"),
            other => {
                return Err(format!(
                    "a domain mismatch without a reason was not refused: {other:?}"
                )
                .into());
            }
        }
        mismatched.mismatch_reason = Some("The ski school mails from its parent's domain".parse()?);
        let alpine_ai = self.add(&northwind, mismatched, None).await?[0];
        println!("  ... accepted with the mismatch reason, which the nomination keeps");

        let form = self.form(
            &northwind,
            &woodgrove,
            CustomerIdInput::Tpid(woodgrove_tpid(self.run)?),
            &[ids::AI_WORKSHOP],
        )?;
        let woodgrove_ai = self.add(&northwind, form, None).await?[0];
        let form = self.form(
            &northwind,
            &buecherei,
            CustomerIdInput::EmailOnly,
            &[ids::AI_WORKSHOP],
        )?;
        let buecherei_ai = self.add(&northwind, form, None).await?[0];
        let form = self.form(
            &northwind,
            &litware,
            CustomerIdInput::AzureSubscriptionId(mci_examples::litware_subscription(self.run)?),
            &[ids::SECURITY_ASSESSMENT],
        )?;
        self.add(&northwind, form, None).await?;

        let msx = format!("7-ADATUM{:04}", self.run).parse()?;
        let mut variable = self.form(
            &northwind,
            &adatum,
            CustomerIdInput::MsxOpportunityId(msx),
            &[ids::MIGRATION_PROJECT],
        )?;
        variable.hours = Some(Hours::new(120)?);
        let review = self.service.review_add(&nw, &variable).await?;
        for proposal in &review.choosable {
            println!(
                "  review before adding Adatum: {} can be chosen, consent by {}, proposed payout {}",
                proposal.engagement,
                proposal.consent_deadline.format("%Y-%m-%d"),
                proposal
                    .proposed_payout
                    .map_or_else(|| String::from("-"), |p| p.to_string())
            );
        }
        self.add(&northwind, variable, None).await?;

        let form = self.form(
            &northwind,
            &fourth,
            CustomerIdInput::EmailOnly,
            &[ids::AI_WORKSHOP],
        )?;
        let fourth_ai = self.add(&northwind, form, None).await?[0];
        let form = self.form(
            &northwind,
            &wide,
            CustomerIdInput::EmailOnly,
            &[ids::AI_WORKSHOP],
        )?;
        let wide_ai = self.add(&northwind, form, None).await?[0];

        let mut unenrolled = self.form(
            &northwind,
            &wide,
            CustomerIdInput::EmailOnly,
            &[ids::COPILOT_WORKSHOP],
        )?;
        unenrolled.location = northwind.unenrolled.clone();
        match self.service.add_customer(&nw, &unenrolled).await {
            Err(error) => println!("  refused: {}", mci_examples::explain(&error)),
            Ok(_) => return Err("an unenrolled location was accepted".into()),
        }

        let form = self.form(
            &fabrikam,
            &contoso,
            CustomerIdInput::EmailOnly,
            &[ids::SECURITY_ASSESSMENT],
        )?;
        let fabrikam_sec = self.add(&fabrikam, form, None).await?[0];
        self.flush().await?;
        self.show(&northwind, ids::AI_WORKSHOP).await?;

        // Day 1: consent asked for.
        self.heading(1, "Consent emails go out");
        for id in [
            contoso_ai,
            contoso_sec,
            tailspin_ai,
            alpine_ai,
            woodgrove_ai,
            buecherei_ai,
            fourth_ai,
            wide_ai,
        ] {
            self.send_consent(&northwind, id).await?;
        }
        self.send_consent(&fabrikam, fabrikam_sec).await?;
        self.flush().await?;

        // Day 3: answers.
        self.heading(3, "Customers answer");
        for id in [
            contoso_ai,
            tailspin_ai,
            alpine_ai,
            woodgrove_ai,
            buecherei_ai,
        ] {
            let token = self.consent_link(&id)?;
            let invitation = self.service.open_consent(&token).await?;
            self.service.accept_consent(&token).await?;
            println!(
                "  {} accepted (link valid until {})",
                invitation.friendly_name,
                invitation.deadline.format("%Y-%m-%d")
            );
        }
        let token = self.consent_link(&wide_ai)?;
        self.service.decline_consent(&token).await?;
        println!("  Wide World Importers declined; the nomination leaves the page but is kept");
        let again = self
            .service
            .accept_consent(&self.consent_link(&contoso_ai)?)
            .await?;
        println!(
            "  Contoso clicked its link twice: still {} (no second event)",
            again.state()
        );
        self.flush().await?;
        self.show(&northwind, ids::AI_WORKSHOP).await?;

        // Day 4: two partners race for one customer.
        self.heading(
            4,
            "Contoso's two consent links for the assessment are clicked at once",
        );
        let links = [
            self.consent_link(&contoso_sec)?,
            self.consent_link(&fabrikam_sec)?,
        ];
        let racers: Vec<_> = links
            .into_iter()
            .map(|token| {
                let service = self.service.clone();
                tokio::spawn(async move { service.accept_consent(&token).await })
            })
            .collect();
        for (name, racer) in ["Northwind", "Fabrikam"].into_iter().zip(racers) {
            match racer.await? {
                Ok(_) => println!("  {name}: consent received"),
                Err(error) => println!("  {name}: {error}"),
            }
        }
        self.flush().await?;
        self.show(&fabrikam, ids::SECURITY_ASSESSMENT).await?;

        // Day 5: a known customer is claimed for another engagement.
        self.heading(
            5,
            "Northwind claims Contoso, known from the AI workshop, for the Copilot workshop",
        );
        self.show(&northwind, ids::COPILOT_WORKSHOP).await?;
        let claimed = self
            .service
            .claim_customer(
                &nw,
                &ClaimCustomer {
                    known_through: contoso_ai,
                    friendly_name: "Contoso Copilot adoption".parse()?,
                    location: northwind.location.clone(),
                    engagements: vec![ids::COPILOT_WORKSHOP.parse()?],
                    customer_contacts: None,
                    partner_contacts: None,
                    hours: None,
                },
            )
            .await?;
        for n in &claimed.nominations {
            self.names.insert(*n.id(), n.friendly_name().to_string());
            println!("  claimed {} for {}", n.friendly_name(), n.engagement());
        }
        self.flush().await?;
        self.show(&northwind, ids::COPILOT_WORKSHOP).await?;

        // Day 10: the workshop is delivered and claimed.
        self.heading(
            10,
            "Contoso's workshop is delivered: proof, surveys, submission",
        );
        self.prove(&northwind, contoso_ai).await?;
        let missing = self.service.submit(&nw, &contoso_ai).await;
        if let Err(error) = missing {
            println!("  submit before the surveys are back: {error}");
        }
        self.complete_surveys(contoso_ai).await?;
        self.service.submit(&nw, &contoso_ai).await?;
        println!("  submitted");
        self.flush().await?;

        // Day 12-15: review with a request for more.
        self.heading(12, "The reviewer asks for more");
        let reviewer = self.reviewer.clone();
        self.service
            .start_review(&reviewer, &contoso_ai, self.seen(&contoso_ai).await?)
            .await?;
        self.service
            .request_partner_action(
                &reviewer,
                &contoso_ai,
                self.seen(&contoso_ai).await?,
                comment("The invoice must show the purchase order number.")?,
            )
            .await?;
        self.flush().await?;
        self.show(&northwind, ids::AI_WORKSHOP).await?;
        self.heading(13, "Northwind answers and resubmits");
        self.service
            .attach_document(
                &nw,
                &contoso_ai,
                DocumentKind::Invoice,
                document("invoice-with-po.pdf", 0x42)?,
            )
            .await?;
        self.service
            .add_comment(
                &nw,
                &contoso_ai,
                comment("Invoice replaced; PO 4500123 is on page 1.")?,
            )
            .await?;
        self.service.submit(&nw, &contoso_ai).await?;
        self.flush().await?;
        self.heading(15, "The reviewer approves");
        self.service
            .start_review(&reviewer, &contoso_ai, self.seen(&contoso_ai).await?)
            .await?;
        self.service
            .approve(&reviewer, &contoso_ai, self.seen(&contoso_ai).await?)
            .await?;
        self.flush().await?;

        // Day 20-32: a rejection and a dispute.
        self.heading(20, "Tailspin's claim is submitted and rejected");
        self.prove(&northwind, tailspin_ai).await?;
        self.complete_surveys(tailspin_ai).await?;
        self.service.submit(&nw, &tailspin_ai).await?;
        self.service
            .start_review(&reviewer, &tailspin_ai, self.seen(&tailspin_ai).await?)
            .await?;
        self.service
            .reject(
                &reviewer,
                &tailspin_ai,
                self.seen(&tailspin_ai).await?,
                comment("The attendee list is missing.")?,
            )
            .await?;
        self.flush().await?;
        // Reminders a week before the consent deadlines.
        self.heading(
            23,
            "The sweep queues reminders a week before consent deadlines",
        );
        let report = self.service.sweep().await?;
        println!(
            "  sweep: {} reminded, {} lapsed",
            report.reminded, report.lapsed
        );
        self.flush().await?;
        self.heading(24, "Northwind disputes the rejection");
        self.service
            .dispute(
                &nw,
                &tailspin_ai,
                comment("The attendee list is in the report, appendix B.")?,
            )
            .await?;
        let twice = self
            .service
            .dispute(&nw, &tailspin_ai, comment("Again.")?)
            .await;
        if let Err(error) = twice {
            println!("  a second dispute: {error}");
        }
        self.flush().await?;
        self.heading(26, "The dispute is reviewed and approved");
        self.service
            .start_review(&reviewer, &tailspin_ai, self.seen(&tailspin_ai).await?)
            .await?;
        self.service
            .approve(&reviewer, &tailspin_ai, self.seen(&tailspin_ai).await?)
            .await?;
        self.flush().await?;

        // The lapse of an unanswered consent.
        self.heading(
            30,
            "Fourth Coffee never answered: its consent lapses at day 30",
        );
        let token = self.consent_link(&fourth_ai)?;
        if let Err(error) = self.service.accept_consent(&token).await {
            println!("  Fourth Coffee clicks its link at the deadline: {error}");
        }
        let report = self.service.sweep().await?;
        println!(
            "  sweep: {} reminded, {} lapsed",
            report.reminded, report.lapsed
        );
        self.flush().await?;
        self.show(&northwind, ids::AI_WORKSHOP).await?;

        // Day 46: the payout run.
        self.heading(46, "The payout run pays the approved claims");
        let run = self.service.run_payout(&reviewer, 1000).await?;
        println!(
            "  batch {} for cycle {}: {} claims",
            run.batch.id,
            run.batch.cycle.number,
            run.batch.entries.len()
        );
        for (currency, total) in run.batch.totals().unwrap_or_default() {
            println!("  total in {currency}: {total}");
        }
        self.flush().await?;
        self.show(&northwind, ids::AI_WORKSHOP).await?;

        let overview = self
            .service
            .overview(&nw, &mci_engagements::OverviewFilter::default())
            .await?;
        println!("\n  Northwind's engagements:");
        print!("{}", mci_examples::overview_table(&overview));
        Ok(())
    }

    async fn prove(&mut self, partner: &DemoPartner, id: NominationId) -> Result<(), DemoError> {
        let user = self.user(partner)?;
        self.service
            .attach_document(
                &user,
                &id,
                DocumentKind::ProofOfExecution,
                document("discovery-and-recommendations.pdf", 0x17)?,
            )
            .await?;
        self.service
            .attach_document(
                &user,
                &id,
                DocumentKind::Invoice,
                document("invoice.pdf", 0x23)?,
            )
            .await?;
        for survey in [SurveyKind::Partner, SurveyKind::Customer] {
            self.service.send_survey(&user, &id, survey).await?;
        }
        self.flush().await
    }

    async fn complete_surveys(&mut self, id: NominationId) -> Result<(), DemoError> {
        for survey in [SurveyKind::Partner, SurveyKind::Customer] {
            let token = self
                .survey_links
                .get(&(id, survey))
                .cloned()
                .ok_or("no survey link was sent")?;
            self.service.complete_survey(&token).await?;
            println!("  {survey} completed");
        }
        Ok(())
    }
}

fn engagement_label(engagements: &[&str]) -> &'static str {
    match engagements {
        [ids::AI_WORKSHOP] => "AI readiness",
        [ids::MIGRATION_PROJECT] => "migration",
        [ids::SECURITY_ASSESSMENT] => "threat protection",
        [ids::COPILOT_WORKSHOP] => "Copilot adoption",
        _ => "",
    }
}

fn comment(text: &str) -> Result<Comment, DemoError> {
    Ok(text.parse()?)
}

fn document(name: &str, seed: u8) -> Result<DocumentRef, DemoError> {
    let digest = mci_core::Sha256Digest::of(&[seed; 64]);
    Ok(DocumentRef::new(
        name.parse()?,
        "application/pdf".parse()?,
        180_000 + u64::from(seed),
        digest,
    )?)
}
