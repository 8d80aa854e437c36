//! `mci`: a command-line tool over a database of the demo world (a SQLite
//! file, or a PostgreSQL database): read the engagements and the Customers
//! page, add and claim customers, ask for and answer consent, submit and
//! review claims, sweep, and deliver the outbox.
//!
//! ```text
//! cargo run -p mci-examples --bin mci -- --help
//! cargo run -p mci-examples --bin mci -- page ai-workshop --tab eligible
//! cargo run -p mci-examples --bin mci -- claims --state awaiting_consent --order changed
//! cargo run -p mci-examples --bin mci -- --database postgres://mci@db.internal/mci engagements
//! ```

use chrono::{DateTime, TimeDelta, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use mci_core::{ChainBreak, ExportLine, Head, history_export, verify_export};
use mci_core::{ClaimsOrder, ClaimsSearchInput, State};
use mci_core::{
    Comment, Contact, Contacts, ContactsUpdate, CustomerIdInput, DocumentKind, DocumentRef,
    EngagementId, Hours, InvalidValue, LinkToken, NominationId, PartnerUser, PayoutBatchId,
    Refusal, SendConsent, Sha256Digest, SurveyKind, Tab,
};
use mci_engagements::ports::ManualClock;
use mci_engagements::{
    AddCustomer, ClaimCustomer, ClaimsPageCursor, ClaimsRequest, Error, ErrorKind, ExportError,
    ExportSummary, Incentives, PageCursor,
};
use mci_examples::{
    Database, DemoError, DemoPartner, admin, explain, message_line, page_table, partners, reviewer,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Runs the MCI Customers page of the demo world over a database: a SQLite
/// file, or a PostgreSQL database.
///
/// Exit codes: 0 done; 2 bad usage or a flag's value refused (the message
/// names the flag and the rule); 3 refused by a program rule (the message
/// names the rule), or a history export that does not verify; 4 not found;
/// 5 busy, try again; 1 any other failure.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The database: a SQLite file (the walkthrough's by default), or a
    /// PostgreSQL database as a postgres:// or postgresql:// URL or libpq
    /// pairs ("host=/var/run/postgresql dbname=mci").
    #[arg(long, global = true, default_value = "mci-demo.sqlite")]
    database: Database,
    /// Create the SQLite file of --database when it does not exist (an
    /// empty database: the walkthrough fills one with the demo world).
    #[arg(long, global = true)]
    create: bool,
    /// The instant the command runs at, in RFC 3339 (e.g.
    /// 2026-03-20T09:00:00Z); now by default. A command never takes effect
    /// before a nomination's last change.
    #[arg(long, global = true)]
    now: Option<DateTime<Utc>>,
    /// Which walkthrough run's customers the tenant directory knows.
    #[arg(long, global = true, default_value_t = 1)]
    run: u32,
    /// The partner acting.
    #[arg(long, global = true, value_enum, default_value = "northwind")]
    partner: PartnerArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PartnerArg {
    /// Northwind Consulting.
    Northwind,
    /// Fabrikam Partners.
    Fabrikam,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TabArg {
    Eligible,
    Ineligible,
    Complete,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The engagements overview and what needs action (R-ENG-7).
    Engagements,
    /// One tab of an engagement's Customers page (R-PAGE).
    Page {
        /// The engagement id, e.g. ai-workshop.
        engagement: EngagementId,
        /// Which tab.
        #[arg(long, value_enum, default_value = "eligible")]
        tab: TabArg,
        /// Rows per page.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Continue where the last page ended: the cursor it printed.
        #[arg(long)]
        cursor: Option<PageCursor>,
    },
    /// The Claims page: the partner's nominations of every engagement,
    /// newest first, or with --reviewer every partner's submitted claims
    /// (R-LIST-1). A search looks at --scan rows a call and prints the
    /// cursor to go on with.
    Claims {
        /// Only this engagement's.
        #[arg(long)]
        engagement: Option<EngagementId>,
        /// Only those in this state now, e.g. awaiting_consent or submitted.
        #[arg(long, value_parser = state_arg)]
        state: Option<State>,
        /// Newest first by creation or by last change.
        #[arg(long, default_value = "created")]
        order: ClaimsOrder,
        /// Search: the friendly name starts with this (any case).
        #[arg(long)]
        name_prefix: Option<String>,
        /// Search: the customer id (tenant:…, tpid:…, subscription:…, msx:…).
        #[arg(long)]
        customer: Option<String>,
        /// Search: the email domain of the customer or its contacts.
        #[arg(long)]
        domain: Option<String>,
        /// Search: the partner's location.
        #[arg(long)]
        location: Option<String>,
        /// Search: created at or after this instant (RFC 3339).
        #[arg(long)]
        created_from: Option<DateTime<Utc>>,
        /// Search: created before this instant (RFC 3339).
        #[arg(long)]
        created_before: Option<DateTime<Utc>>,
        /// Search: the most rows one call looks at.
        #[arg(long)]
        scan: Option<usize>,
        /// Rows per page.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Continue where the last page ended: the cursor it printed.
        #[arg(long)]
        cursor: Option<ClaimsPageCursor>,
        /// The reviewer's page: every partner's submitted claims.
        #[arg(long)]
        reviewer: bool,
    },
    /// Adds a customer to one or more engagements, all or none (R-ADD).
    Add {
        /// The friendly name.
        #[arg(long)]
        name: String,
        /// The customer's email; alone, its domain finds the tenant.
        #[arg(long)]
        email: String,
        /// The customer's tenant id.
        #[arg(long, group = "id")]
        tenant: Option<String>,
        /// The customer's TPID.
        #[arg(long, group = "id")]
        tpid: Option<String>,
        /// The customer's Azure subscription id.
        #[arg(long, group = "id")]
        subscription: Option<String>,
        /// The MSX opportunity id (variable pay).
        #[arg(long, group = "id")]
        msx: Option<String>,
        /// Why the email's domain is not the tenant's (R-ADD-4).
        #[arg(long)]
        mismatch_reason: Option<String>,
        /// An engagement to add to; repeat for several.
        #[arg(long = "engagement", required = true)]
        engagements: Vec<EngagementId>,
        /// Hours, for variable pay (R-ADD-8).
        #[arg(long)]
        hours: Option<u32>,
    },
    /// Claims a known customer for one or more engagements (R-CLAIM).
    Claim {
        /// The earlier consented nomination the customer is known through.
        through: NominationId,
        /// The friendly name.
        #[arg(long)]
        name: String,
        /// An engagement to claim for; repeat for several.
        #[arg(long = "engagement", required = true)]
        engagements: Vec<EngagementId>,
    },
    /// Sends (or re-sends) the consent email (R-CONSENT-2, -3).
    SendConsent {
        /// The nomination.
        nomination: NominationId,
        /// Send a reminder with a new link instead of the first email.
        #[arg(long)]
        reminder: bool,
    },
    /// The customer accepts through a consent link (R-CONSENT-5).
    Accept {
        /// The link as the outbox prints it (/consent/TOKEN), a URL ending
        /// in it, or the token alone.
        link: Link,
    },
    /// The customer declines through a consent link (R-CONSENT-6).
    Decline {
        /// The link as the outbox prints it (/consent/TOKEN), a URL ending
        /// in it, or the token alone.
        link: Link,
    },
    /// Updates the customer's or the partner's contacts (R-CONSENT-4).
    Contacts {
        /// The nomination.
        nomination: NominationId,
        /// A customer contact as "Name <email>"; repeat for several. The
        /// list replaces the customer's contacts.
        #[arg(long = "customer-contact")]
        customer_contacts: Vec<ContactArg>,
        /// A partner contact as "Name <email>"; repeat for several. The
        /// list replaces the partner's contacts.
        #[arg(long = "partner-contact")]
        partner_contacts: Vec<ContactArg>,
    },
    /// Attaches a proof document to a workshop claim by reference: its
    /// name, media type, size and SHA-256, never its bytes (R-CLAIM-W-2).
    Attach {
        /// The nomination.
        nomination: NominationId,
        /// The file to attach.
        file: PathBuf,
        /// What the document proves.
        #[arg(long, value_enum, default_value = "proof-of-execution")]
        kind: DocumentKindArg,
        /// The media type; guessed from the file's extension by default.
        #[arg(long)]
        media_type: Option<String>,
    },
    /// Sends (or re-sends) a survey of the workshop claim (R-CLAIM-W-3).
    Survey {
        /// The nomination.
        nomination: NominationId,
        /// Whose survey.
        #[arg(long, value_enum)]
        to: SurveyArg,
    },
    /// Completes a survey through its link, as its recipient (R-CLAIM-W-3).
    CompleteSurvey {
        /// The link as the outbox prints it (/survey/TOKEN), a URL ending
        /// in it, or the token alone.
        link: Link,
    },
    /// Adds a comment for the reviewer (R-CLAIM-W-5).
    Comment {
        /// The nomination.
        nomination: NominationId,
        /// The comment.
        text: String,
    },
    /// Submits a workshop claim (R-CLAIM-W-6).
    Submit {
        /// The nomination.
        nomination: NominationId,
    },
    /// Answers the reviewer's request for more: an optional comment, then
    /// the claim submitted again (R-CLAIM-W-7).
    Answer {
        /// The nomination.
        nomination: NominationId,
        /// What the partner answers.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Disputes a rejection, once (R-CLAIM-W-8).
    Dispute {
        /// The nomination.
        nomination: NominationId,
        /// Why the rejection is wrong.
        reason: String,
    },
    /// Cancels a claim before its first submission (R-CLAIM-W-10).
    Cancel {
        /// The nomination.
        nomination: NominationId,
    },
    /// The reviewer's commands (R-CLAIM-W-7..9).
    Review {
        #[command(subcommand)]
        action: Review,
    },
    /// What needs the partner now, soonest deadline first, each with its
    /// action (R-LIST-3).
    Attention {
        /// The most entries shown.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Persists due lapses and queues due reminders (R-TIME-4, R-REC-6).
    Sweep,
    /// Shows the pending emails; with --deliver, marks them delivered.
    Outbox {
        /// Mark the shown messages delivered.
        #[arg(long)]
        deliver: bool,
    },
    /// The partner's claims as CSV (RFC 4180, a header row, instants in
    /// RFC 3339 UTC, amounts in minor units beside their currency), read
    /// in chunks so that any number of rows fits in bounded memory
    /// (R-LIST-2). Friendly names that a spreadsheet would run as a
    /// formula start with an apostrophe.
    Export {
        /// Only this engagement's claims.
        #[arg(long)]
        engagement: Option<EngagementId>,
        /// Only the claims in this state now, e.g. consented or
        /// awaiting_consent.
        #[arg(long, value_parser = state_arg)]
        state: Option<State>,
        /// Newest first by creation (every claim once, even while it
        /// changes), or by last change.
        #[arg(long, default_value = "created")]
        order: ClaimsOrder,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// A nomination's history (R-REC-1); with --export, as JSON Lines of
    /// its events and its head, for `verify` (R-LIST-4); with --export
    /// --all, the histories of all the partner's nominations, each with
    /// its head.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["nomination", "all"])))]
    History {
        /// The nomination.
        nomination: Option<NominationId>,
        /// Print the history export instead of the table.
        #[arg(long)]
        export: bool,
        /// Export every nomination of the partner (with --export).
        #[arg(long, requires = "export")]
        all: bool,
        /// Write the export to this file instead of standard output.
        #[arg(long, short, requires = "export")]
        output: Option<PathBuf>,
    },
    /// Checks a history export offline: every event's hash and link, and
    /// the heads kept (R-LIST-4). Needs no database.
    Verify {
        /// The export, as `history --export` printed it.
        file: PathBuf,
        /// Heads kept from earlier answers or messages, one JSON object per
        /// line ({"nomination":…,"version":…,"hash":…}).
        #[arg(long)]
        heads: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum Review {
    /// Claims waiting for review.
    Queue,
    /// Takes a claim into review.
    Start {
        /// The claim's nomination.
        nomination: NominationId,
        /// The hash of the claim's last event as `review show` printed it
        /// (R-LIST-4).
        #[arg(long, value_name = "HASH")]
        seen: Sha256Digest,
    },
    /// Asks the partner for more.
    Ask {
        /// The claim's nomination.
        nomination: NominationId,
        /// What is needed.
        note: String,
        /// The hash of the claim's last event as `review show` printed it
        /// (R-LIST-4).
        #[arg(long, value_name = "HASH")]
        seen: Sha256Digest,
    },
    /// Approves a claim under review.
    Approve {
        /// The claim's nomination.
        nomination: NominationId,
        /// The hash of the claim's last event as `review show` printed it
        /// (R-LIST-4).
        #[arg(long, value_name = "HASH")]
        seen: Sha256Digest,
    },
    /// Rejects a claim under review.
    Reject {
        /// The claim's nomination.
        nomination: NominationId,
        /// Why.
        reason: String,
        /// The hash of the claim's last event as `review show` printed it
        /// (R-LIST-4).
        #[arg(long, value_name = "HASH")]
        seen: Sha256Digest,
    },
    /// A claim as the reviewer sees it: its proof, surveys and comments,
    /// and the head its decisions cite with `--seen` (R-LIST-4).
    Show {
        /// The claim's nomination.
        nomination: NominationId,
    },
    /// Runs a payout batch.
    Payout,
    /// A payout batch's entries.
    Batch {
        /// The batch id a payout printed.
        batch: PayoutBatchId,
    },
    /// Reverses a claim's payment in a batch with a new batch (R-CLAIM-W-9).
    Reverse {
        /// The batch that paid the claim.
        batch: PayoutBatchId,
        /// The claim's nomination.
        nomination: NominationId,
        /// The hash of the claim's last event as `review show` printed it
        /// (R-LIST-4).
        #[arg(long, value_name = "HASH")]
        seen: Sha256Digest,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DocumentKindArg {
    /// The proof of execution (discovery and recommendations).
    ProofOfExecution,
    /// The invoice.
    Invoice,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SurveyArg {
    /// The partner's contacts.
    Partner,
    /// The customer's contacts.
    Customer,
}

/// A link's token from what a person pastes: `/consent/TOKEN`,
/// `https://host/survey/TOKEN`, or `TOKEN`.
#[derive(Debug, Clone)]
struct Link(LinkToken);

impl std::str::FromStr for Link {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let token = text
            .trim()
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        token.parse::<LinkToken>().map(Link).map_err(|_| {
            String::from("not a link's token: paste the link as the outbox printed it")
        })
    }
}

/// A contact as "Name <email>".
#[derive(Debug, Clone)]
struct ContactArg(Contact);

impl std::str::FromStr for ContactArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, email) = text
            .trim()
            .strip_suffix('>')
            .and_then(|rest| rest.rsplit_once('<'))
            .ok_or_else(|| String::from("write a contact as \"Name <email>\""))?;
        let name = name
            .trim()
            .parse()
            .map_err(|e: InvalidValue| e.problem().to_string())?;
        let email = email
            .trim()
            .parse()
            .map_err(|e: InvalidValue| e.problem().to_string())?;
        Ok(ContactArg(Contact { name, email }))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Service(Error::Refused(Refusal::Invalid(invalid)))) => {
            eprintln!(
                "error: {} {} ({})",
                flag_of(invalid.field()),
                invalid.problem(),
                invalid.rule()
            );
            ExitCode::from(2)
        }
        Err(Failure::Service(error)) => {
            eprintln!("error: {}", explain(&error));
            ExitCode::from(match error.kind() {
                ErrorKind::NotFound => 4,
                ErrorKind::Refused | ErrorKind::InvalidInput | ErrorKind::Forbidden => 3,
                ErrorKind::Busy => 5,
                _ => 1,
            })
        }
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Broken(broken)) => {
            eprintln!("error: {broken}");
            ExitCode::from(3)
        }
        Err(Failure::Other(error)) => {
            eprintln!("error: {}", mci_examples::with_causes(&*error));
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Service(Error),
    /// A flag or argument the program cannot use: exit code 2, as clap's.
    Usage(String),
    /// A history export that does not verify (R-LIST-4): exit code 3.
    Broken(ChainBreak),
    Other(DemoError),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Service(error)
    }
}

impl From<mci_core::InvalidValue> for Failure {
    fn from(error: mci_core::InvalidValue) -> Self {
        Failure::Service(error.into())
    }
}

impl From<DemoError> for Failure {
    fn from(error: DemoError) -> Self {
        Failure::Other(error)
    }
}

fn partner(which: PartnerArg) -> Result<DemoPartner, Failure> {
    let [northwind, fabrikam] = partners()?;
    Ok(match which {
        PartnerArg::Northwind => northwind,
        PartnerArg::Fabrikam => fabrikam,
    })
}

async fn run(cli: Cli) -> Result<(), Failure> {
    if let Command::Verify { file, heads } = &cli.command {
        return verify(file, heads.as_deref()).await;
    }
    if let Database::Sqlite(path) = &cli.database
        && !cli.create
        && !path.exists()
    {
        return Err(Failure::Usage(format!(
            "--database {} does not exist: run the walkthrough first, name another file, or add --create",
            path.display()
        )));
    }
    let store = cli.database.open().await?;
    let clock = Arc::new(ManualClock::new(cli.now.unwrap_or_else(Utc::now)));
    let service = mci_examples::service(store, clock, cli.run)?;
    let partner = partner(cli.partner)?;
    let user = admin(&partner)?;
    execute(&service, &partner, &user, cli.command).await
}

async fn execute(
    service: &Incentives,
    partner: &DemoPartner,
    user: &PartnerUser,
    command: Command,
) -> Result<(), Failure> {
    let reviewer = reviewer()?;
    match command {
        Command::Engagements => {
            let overview = service
                .overview(user, &mci_engagements::OverviewFilter::default())
                .await?;
            print!("{}", mci_examples::overview_table(&overview));
            if !overview.action_needed.is_empty() {
                println!("\nAction needed:");
                for action in overview.action_needed {
                    let due = match action.due {
                        mci_engagements::Due::ConsentLapsing(d) => {
                            format!("consent lapses {}", d.at.format("%Y-%m-%d %H:%M"))
                        }
                        mci_engagements::Due::ClaimLapsing(d) => format!(
                            "claim deadline {} {}",
                            d.kind,
                            d.at.format("%Y-%m-%d %H:%M")
                        ),
                        mci_engagements::Due::ReviewerWaiting => {
                            String::from("the reviewer asked for more")
                        }
                    };
                    println!("  {} ({}): {due}", action.friendly_name, action.nomination);
                }
            }
        }
        Command::Page {
            engagement,
            tab,
            limit,
            cursor,
        } => {
            let tab = match tab {
                TabArg::Eligible => Tab::Eligible,
                TabArg::Ineligible => Tab::Ineligible,
                TabArg::Complete => Tab::Complete,
            };
            let page = service
                .customers_page(user, &engagement, tab, cursor, limit)
                .await?;
            println!(
                "{engagement} / {tab}: {} eligible, {} ineligible, {} complete",
                page.counts.eligible, page.counts.ineligible, page.counts.complete
            );
            print!("{}", page_table(&page));
            for row in &page.rows {
                if let mci_engagements::CustomerRow::Nomination(r) = row {
                    println!("  {} = {}", r.friendly_name, r.nomination);
                }
            }
            if let Some(next) = page.next {
                println!("more: --cursor {next}");
            }
        }
        Command::Claims {
            engagement,
            state,
            order,
            name_prefix,
            customer,
            domain,
            location,
            created_from,
            created_before,
            scan,
            limit,
            cursor,
            reviewer: for_reviewer,
        } => {
            let search = ClaimsSearchInput {
                name_prefix,
                customer,
                email_domain: domain,
                location,
                created_from,
                created_before,
                scan,
            };
            let searching = search != ClaimsSearchInput::default();
            let request = ClaimsRequest {
                engagement,
                state,
                order,
                search: searching.then_some(search),
                cursor,
                limit,
            };
            let page = if for_reviewer {
                service.reviewer_claims(&request).await?
            } else {
                service.claims(user, &request).await?
            };
            let counts: Vec<String> = page
                .counts
                .iter()
                .map(|(state, n)| format!("{n} {state}"))
                .collect();
            println!(
                "claims by {order}, newest first: {}",
                if counts.is_empty() {
                    String::from("none")
                } else {
                    counts.join(", ")
                }
            );
            print!("{}", mci_examples::claims_table(&page));
            if searching {
                println!("looked at {} rows", page.scanned);
            }
            for id in &page.unreadable {
                println!("  unreadable: {id}");
            }
            if let Some(next) = page.next {
                println!("more: --cursor {next}");
            }
        }
        Command::Add {
            name,
            email,
            tenant,
            tpid,
            subscription,
            msx,
            mismatch_reason,
            engagements,
            hours,
        } => {
            let customer_id = match (tenant, tpid, subscription, msx) {
                (Some(t), ..) => CustomerIdInput::TenantId(flag(&t, "--tenant")?),
                (_, Some(t), ..) => CustomerIdInput::Tpid(flag(&t, "--tpid")?),
                (_, _, Some(s), _) => {
                    CustomerIdInput::AzureSubscriptionId(flag(&s, "--subscription")?)
                }
                (.., Some(m)) => CustomerIdInput::MsxOpportunityId(flag(&m, "--msx")?),
                _ => CustomerIdInput::EmailOnly,
            };
            let email: mci_core::EmailAddress = flag(&email, "--email")?;
            let form = AddCustomer {
                friendly_name: flag(&name, "--name")?,
                location: partner.location.clone(),
                customer_id,
                customer_email: email.clone(),
                mismatch_reason: mismatch_reason
                    .map(|r| flag::<Comment>(&r, "--mismatch-reason"))
                    .transpose()?,
                engagements,
                customer_contacts: Contacts::one("Customer contact".parse()?, email),
                partner_contacts: Contacts::one(
                    "Engagement Lead".parse()?,
                    format!("lead@{}.example", partner.id).parse()?,
                ),
                hours: hours
                    .map(|h| Hours::new(h).map_err(|e| e.for_field("--hours")))
                    .transpose()?,
            };
            let added = service.add_customer(user, &form).await?;
            for n in &added.nominations {
                println!(
                    "added {} to {}: {}",
                    n.friendly_name(),
                    n.engagement(),
                    n.id()
                );
            }
            // Added all the same: a warning, not a refusal (R-LIST-5).
            for warning in &added.warnings {
                println!("warning: {warning}");
            }
        }
        Command::Claim {
            through,
            name,
            engagements,
        } => {
            let form = ClaimCustomer {
                known_through: through,
                friendly_name: flag(&name, "--name")?,
                location: partner.location.clone(),
                engagements,
                customer_contacts: None,
                partner_contacts: None,
                hours: None,
            };
            let claimed = service.claim_customer(user, &form).await?;
            for n in &claimed.nominations {
                println!(
                    "claimed {} for {}: {}",
                    n.friendly_name(),
                    n.engagement(),
                    n.id()
                );
            }
            // Claimed all the same: a warning, not a refusal (R-LIST-5).
            for warning in &claimed.warnings {
                println!("warning: {warning}");
            }
        }
        Command::SendConsent {
            nomination,
            reminder,
        } => {
            let n = if reminder {
                service.resend_consent(user, &nomination).await?
            } else {
                service
                    .send_consent(user, &nomination, SendConsent::default())
                    .await?
            };
            println!("{}: {}; the email is in the outbox", n.id(), n.state());
        }
        Command::Accept { link } => {
            let n = service.accept_consent(&link.0).await?;
            println!("{}: {}", n.friendly_name(), n.state());
        }
        Command::Decline { link } => {
            let n = service.decline_consent(&link.0).await?;
            println!("{}: {}", n.friendly_name(), n.state());
        }
        Command::Contacts {
            nomination,
            customer_contacts,
            partner_contacts,
        } => {
            let list = |contacts: Vec<ContactArg>, name: &str| {
                if contacts.is_empty() {
                    return Ok(None);
                }
                Contacts::new(contacts.into_iter().map(|c| c.0).collect())
                    .map(Some)
                    .map_err(|e| e.for_field(name))
            };
            let update = ContactsUpdate {
                customer: list(customer_contacts, "--customer-contact")?,
                partner: list(partner_contacts, "--partner-contact")?,
            };
            print_state(&service.update_contacts(user, &nomination, update).await?);
        }
        Command::Attach {
            nomination,
            file,
            kind,
            media_type,
        } => {
            let document = document_of(&file, media_type.as_deref()).await?;
            let kind = match kind {
                DocumentKindArg::ProofOfExecution => DocumentKind::ProofOfExecution,
                DocumentKindArg::Invoice => DocumentKind::Invoice,
            };
            println!(
                "{} ({}, {} bytes, sha256 {})",
                document.name(),
                document.media_type(),
                document.size_bytes(),
                document.sha256()
            );
            print_state(
                &service
                    .attach_document(user, &nomination, kind, document)
                    .await?,
            );
        }
        Command::Survey { nomination, to } => {
            let survey = match to {
                SurveyArg::Partner => SurveyKind::Partner,
                SurveyArg::Customer => SurveyKind::Customer,
            };
            print_state(&service.send_survey(user, &nomination, survey).await?);
            println!("the survey's email is in the outbox");
        }
        Command::CompleteSurvey { link } => {
            print_state(&service.complete_survey(&link.0).await?);
        }
        Command::Comment { nomination, text } => {
            let text = flag(&text, "TEXT")?;
            print_state(&service.add_comment(user, &nomination, text).await?);
        }
        Command::Submit { nomination } => {
            let n = service.submit(user, &nomination).await?;
            println!("{}: {}", n.friendly_name(), n.state());
        }
        Command::Answer {
            nomination,
            comment,
        } => {
            if let Some(comment) = comment {
                let comment = flag(&comment, "--comment")?;
                service.add_comment(user, &nomination, comment).await?;
            }
            print_state(&service.submit(user, &nomination).await?);
        }
        Command::Dispute { nomination, reason } => {
            let reason = flag(&reason, "REASON")?;
            print_state(&service.dispute(user, &nomination, reason).await?);
        }
        Command::Cancel { nomination } => {
            print_state(&service.cancel(user, &nomination).await?);
        }
        Command::Review { action } => match action {
            Review::Queue => {
                let page = service.review_queue(None, 100).await?;
                if page.rows.is_empty() {
                    println!("no claim waits for review");
                }
                for n in page.rows {
                    println!(
                        "{} {} ({}): {}",
                        n.id(),
                        n.friendly_name(),
                        n.engagement(),
                        n.state()
                    );
                }
            }
            Review::Start { nomination, seen } => {
                print_decided(&service.start_review(&reviewer, &nomination, seen).await?)
            }
            Review::Ask {
                nomination,
                note,
                seen,
            } => print_decided(
                &service
                    .request_partner_action(&reviewer, &nomination, seen, flag(&note, "NOTE")?)
                    .await?,
            ),
            Review::Approve { nomination, seen } => {
                print_decided(&service.approve(&reviewer, &nomination, seen).await?)
            }
            Review::Reject {
                nomination,
                reason,
                seen,
            } => print_decided(
                &service
                    .reject(&reviewer, &nomination, seen, flag(&reason, "REASON")?)
                    .await?,
            ),
            Review::Show { nomination } => {
                let n = service.claim_for_review(&nomination).await?;
                print_decided(&n);
                print!("{}", mci_examples::claim_lines(&n));
            }
            Review::Payout => {
                let run = service.run_payout(&reviewer, 1000).await?;
                println!("batch {}: {} claims", run.batch.id, run.batch.entries.len());
            }
            Review::Batch { batch } => match service.payout_batch(&batch).await? {
                Some(batch) => print!("{}", mci_examples::batch_lines(&batch)),
                None => return Err(Failure::Service(Error::Refused(Refusal::NotFound))),
            },
            Review::Reverse {
                batch,
                nomination,
                seen,
            } => {
                let reversal = service
                    .reverse_payment(&reviewer, &batch, &nomination, seen)
                    .await?;
                print!("{}", mci_examples::batch_lines(&reversal));
            }
        },
        Command::Attention { limit } => {
            let attention = service.attention(user, limit).await?;
            if attention.entries.is_empty() {
                println!("nothing needs attention");
            }
            for e in &attention.entries {
                println!(
                    "{} {} ({}): {}, by {}: {}",
                    e.nomination,
                    e.friendly_name,
                    e.engagement,
                    e.reason,
                    e.deadline.at.format("%Y-%m-%d %H:%M UTC"),
                    e.action
                );
            }
            if attention.more {
                println!("more need attention than the {limit} shown");
            }
            for id in &attention.unreadable {
                println!("  unreadable: {id}");
            }
        }
        Command::Sweep => {
            let report = service.sweep().await?;
            println!(
                "{} lapsed, {} reminded, {} skipped",
                report.lapsed, report.reminded, report.skipped
            );
        }
        Command::Outbox { deliver } => {
            // Only showing them leases them for the shortest lease there
            // is, a microsecond, so that they are pending again at once.
            let lease = if deliver {
                TimeDelta::minutes(5)
            } else {
                TimeDelta::microseconds(1)
            };
            let messages = service.take_messages(lease, 100).await?;
            for leased in &messages {
                println!(
                    "{} {}",
                    leased.message.id,
                    message_line(leased).trim_start()
                );
            }
            if deliver {
                let ids: Vec<_> = messages.iter().map(|l| l.message.id).collect();
                service.acknowledge(&ids).await?;
                println!("{} delivered", ids.len());
            } else {
                println!("{} pending", messages.len());
            }
        }
        Command::Export {
            engagement,
            state,
            order,
            output,
        } => {
            let export = ClaimsRequest {
                engagement,
                state,
                order,
                ..ClaimsRequest::default()
            };
            let mut out = Output::open(output.as_deref()).await?;
            let summary = service.export_claims(user, &export, &mut out.writer).await;
            out.finish(summary).await?;
        }
        Command::History {
            nomination: Some(nomination),
            export: false,
            ..
        } => {
            for event in service.history(user, &nomination).await? {
                println!("{}", mci_examples::event_line(&event));
            }
        }
        Command::History {
            nomination: Some(nomination),
            export: true,
            output,
            ..
        } => {
            let events = service.history(user, &nomination).await?;
            let mut out = Output::open(output.as_deref()).await?;
            let written = out.write(history_export(&events).as_bytes()).await;
            out.finish(written.map(|()| ExportSummary::default()))
                .await?;
        }
        Command::History {
            all: true, output, ..
        } => {
            let mut out = Output::open(output.as_deref()).await?;
            let summary = service.export_histories(user, &mut out.writer).await;
            out.finish(summary).await?;
        }
        Command::History { .. } => {
            unreachable!("clap requires a nomination or --all, and --export with --all")
        }
        Command::Verify { .. } => unreachable!("verify runs without a database"),
    }
    Ok(())
}

/// Parses a flag's value; a refusal names the flag, not the field of the
/// service's form.
fn flag<T: std::str::FromStr<Err = InvalidValue>>(value: &str, flag: &str) -> Result<T, Failure> {
    value
        .parse::<T>()
        .map_err(|e| Failure::Service(e.for_field(flag).into()))
}

/// A state as the tool takes it: its serialised name (`awaiting_consent`),
/// or with spaces or dashes for underscores.
fn state_arg(value: &str) -> Result<State, String> {
    let name = value.trim().replace([' ', '-'], "_");
    serde_json::from_value(serde_json::Value::String(name))
        .map_err(|_| format!("{value:?} is no state (e.g. awaiting_consent, submitted)"))
}

/// The flag a field of the service's forms is given by, for the fields a
/// refusal can name after the command line parsed.
fn flag_of(field: &str) -> &str {
    match field {
        "friendly_name" => "--name",
        "customer_email" | "email" => "--email",
        "mismatch_reason" => "--mismatch-reason",
        "hours" => "--hours",
        "tenant_id" => "--tenant",
        "tpid" => "--tpid",
        "azure_subscription_id" => "--subscription",
        "msx_opportunity_id" => "--msx",
        "engagements" => "--engagement",
        "clock" | "now" => "--now",
        "cursor" => "--cursor",
        "search.name_prefix" => "--name-prefix",
        "search.customer" => "--customer",
        "search.email_domain" => "--domain",
        "search.location" => "--location",
        "search.created_from" => "--created-from",
        "search.created_before" => "--created-before",
        "search.scan" => "--scan",
        other => other,
    }
}

/// A document by reference: the file's name, media type, size and
/// SHA-256, read without blocking the runtime (R-CLAIM-W-2).
async fn document_of(path: &Path, media_type: Option<&str>) -> Result<DocumentRef, Failure> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| Failure::Usage(format!("FILE {}: {e}", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let media_type = match media_type {
        Some(given) => flag(given, "--media-type")?,
        None => flag(mci_examples::media_type_of(path), "--media-type")?,
    };
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    Ok(DocumentRef::new(
        flag(&name, "FILE")?,
        media_type,
        size,
        Sha256Digest::of(&bytes),
    )
    .map_err(|e| e.for_field("FILE"))?)
}

/// `verify FILE [--heads FILE]`: a history export checked offline against
/// its chain and the heads kept (R-LIST-4).
async fn verify(file: &Path, heads: Option<&Path>) -> Result<(), Failure> {
    let read = |path: &Path, what: &'static str| {
        let path = path.to_path_buf();
        async move {
            tokio::fs::read_to_string(&path)
                .await
                .map_err(|e| Failure::Usage(format!("{what} {}: {e}", path.display())))
        }
    };
    let export = read(file, "FILE").await?;
    let mut kept = Vec::new();
    if let Some(path) = heads {
        for (i, line) in read(path, "--heads").await?.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let head = serde_json::from_str::<Head>(line)
                .or_else(|_| match serde_json::from_str::<ExportLine>(line) {
                    Ok(ExportLine::Head(head)) => Ok(head),
                    Ok(ExportLine::Event(_)) => Err(String::from("an event, not a head")),
                    Err(e) => Err(e.to_string()),
                })
                .map_err(|e| {
                    Failure::Usage(format!("--heads {} line {}: {e}", path.display(), i + 1))
                })?;
            kept.push(head);
        }
    }
    match verify_export(&export, &kept) {
        Ok(heads) => {
            for head in &heads {
                println!(
                    "{}: {} events, head {}",
                    head.nomination, head.version, head.hash
                );
            }
            println!(
                "verified: {} histories, {} heads kept",
                heads.len(),
                kept.len()
            );
            Ok(())
        }
        Err(broken) => Err(Failure::Broken(broken)),
    }
}

/// Where an export goes: a file, or standard output.
struct Output {
    writer: tokio::io::BufWriter<Box<dyn tokio::io::AsyncWrite + Unpin + Send>>,
    path: Option<PathBuf>,
}

impl Output {
    async fn open(path: Option<&Path>) -> Result<Output, Failure> {
        let target: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = match path {
            Some(path) => Box::new(
                tokio::fs::File::create(path)
                    .await
                    .map_err(|e| Failure::Usage(format!("--output {}: {e}", path.display())))?,
            ),
            None => Box::new(tokio::io::stdout()),
        };
        Ok(Output {
            writer: tokio::io::BufWriter::new(target),
            path: path.map(Path::to_path_buf),
        })
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ExportError> {
        use tokio::io::AsyncWriteExt;
        self.writer.write_all(bytes).await?;
        Ok(self.writer.flush().await?)
    }

    /// Reports how the export ended: on standard error, so that standard
    /// output holds the export alone.
    async fn finish(self, summary: Result<ExportSummary, ExportError>) -> Result<(), Failure> {
        let summary = match summary {
            Ok(summary) => summary,
            Err(ExportError::Service(error)) => return Err(Failure::Service(error)),
            Err(error) => {
                let to = match &self.path {
                    Some(path) => path.display().to_string(),
                    None => String::from("standard output"),
                };
                return Err(Failure::Other(
                    format!("{to}: {}", mci_examples::with_causes(&error)).into(),
                ));
            }
        };
        for id in &summary.unreadable {
            eprintln!(
                "warning: nomination {id} is stored but cannot be read back; it is not in the export"
            );
        }
        if let Some(path) = &self.path {
            eprintln!("{} rows written to {}", summary.rows, path.display());
        }
        Ok(())
    }
}

fn print_state(n: &mci_core::Nomination) {
    println!("{} {}: {}", n.id(), n.friendly_name(), n.state());
}

/// The claim's state and its head, whose hash the reviewer's next decision
/// cites with `--seen` (R-LIST-4).
fn print_decided(n: &mci_core::Nomination) {
    print_state(n);
    if let Some(head) = n.head() {
        println!("head: version {}, seen {}", head.version, head.hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_link_is_its_token_however_it_is_pasted() {
        let token = "ab".repeat(32);
        for pasted in [
            format!("/consent/{token}"),
            format!("https://partner.example/survey/{token}/"),
            format!("  {token}\n"),
        ] {
            let link: Link = pasted.parse().unwrap();
            assert_eq!(link.0.to_string(), token, "{pasted:?}");
        }
        assert!("/consent/".parse::<Link>().is_err());
    }
}
