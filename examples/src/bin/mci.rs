//! `mci`: a command-line tool over a database of the demo world (a SQLite
//! file, or a PostgreSQL database): read the engagements and the Customers
//! page, add and claim customers, ask for and answer consent, submit and
//! review claims, sweep, and deliver the outbox.
//!
//! ```text
//! cargo run -p mci-examples --bin mci -- --help
//! cargo run -p mci-examples --bin mci -- page ai-workshop --tab eligible
//! cargo run -p mci-examples --bin mci -- --database postgres://mci@db.internal/mci engagements
//! ```

use chrono::{DateTime, TimeDelta, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use mci_core::{
    Comment, Contacts, CustomerIdInput, EngagementId, Hours, LinkToken, NominationId, PartnerUser,
    Refusal, SendConsent, Tab,
};
use mci_engagements::ports::ManualClock;
use mci_engagements::{AddCustomer, ClaimCustomer, Error, Incentives, PageCursor};
use mci_examples::{
    Database, DemoError, DemoPartner, admin, explain, message_line, page_table, partners, reviewer,
};
use std::process::ExitCode;
use std::sync::Arc;

/// Runs the MCI Customers page of the demo world over a database: a SQLite
/// file, or a PostgreSQL database.
///
/// Exit codes: 0 done; 2 bad usage; 3 refused by a program rule (the
/// message names the rule); 4 not found; 1 any other failure.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The database: a SQLite file (the walkthrough's by default), or a
    /// PostgreSQL database as a postgres:// or postgresql:// URL or libpq
    /// pairs ("host=/var/run/postgresql dbname=mci").
    #[arg(long, global = true, default_value = "mci-demo.sqlite")]
    database: Database,
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
    /// The customer accepts through a consent link's token (R-CONSENT-5).
    Accept {
        /// The token of the link.
        token: LinkToken,
    },
    /// The customer declines through a consent link's token (R-CONSENT-6).
    Decline {
        /// The token of the link.
        token: LinkToken,
    },
    /// Submits a workshop claim (R-CLAIM-W-6).
    Submit {
        /// The nomination.
        nomination: NominationId,
    },
    /// The reviewer's commands (R-CLAIM-W-7..9).
    Review {
        #[command(subcommand)]
        action: Review,
    },
    /// Persists due lapses and queues due reminders (R-TIME-4, R-REC-6).
    Sweep,
    /// Shows the pending emails; with --deliver, marks them delivered.
    Outbox {
        /// Mark the shown messages delivered.
        #[arg(long)]
        deliver: bool,
    },
    /// A nomination's history (R-REC-1).
    History {
        /// The nomination.
        nomination: NominationId,
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
    },
    /// Asks the partner for more.
    Ask {
        /// The claim's nomination.
        nomination: NominationId,
        /// What is needed.
        note: String,
    },
    /// Approves a claim under review.
    Approve {
        /// The claim's nomination.
        nomination: NominationId,
    },
    /// Rejects a claim under review.
    Reject {
        /// The claim's nomination.
        nomination: NominationId,
        /// Why.
        reason: String,
    },
    /// Runs a payout batch.
    Payout,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Service(error)) => {
            eprintln!("error: {}", explain(&error));
            ExitCode::from(match &error {
                Error::Refused(Refusal::NotFound | Refusal::InvalidLink)
                | Error::UnknownEngagement(_) => 4,
                Error::Refused(_) | Error::Ineligible { .. } => 3,
                _ => 1,
            })
        }
        Err(Failure::Other(error)) => {
            eprintln!("error: {}", mci_examples::with_causes(&*error));
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Service(Error),
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
    if let Database::Sqlite(path) = &cli.database
        && !path.exists()
    {
        return Err(Failure::Other(
            format!(
                "{} does not exist: run the walkthrough first, or name a database with --database",
                path.display()
            )
            .into(),
        ));
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
                (Some(t), ..) => CustomerIdInput::TenantId(t.parse()?),
                (_, Some(t), ..) => CustomerIdInput::Tpid(t.parse()?),
                (_, _, Some(s), _) => CustomerIdInput::AzureSubscriptionId(s.parse()?),
                (.., Some(m)) => CustomerIdInput::MsxOpportunityId(m.parse()?),
                _ => CustomerIdInput::EmailOnly,
            };
            let email: mci_core::EmailAddress = email
                .parse::<mci_core::EmailAddress>()
                .map_err(|e| e.for_field("email"))?;
            let form = AddCustomer {
                friendly_name: name.parse()?,
                location: partner.location.clone(),
                customer_id,
                customer_email: email.clone(),
                mismatch_reason: mismatch_reason.map(|r| r.parse::<Comment>()).transpose()?,
                engagements,
                customer_contacts: Contacts::one("Customer contact".parse()?, email),
                partner_contacts: Contacts::one(
                    "Engagement Lead".parse()?,
                    format!("lead@{}.example", partner.id).parse()?,
                ),
                hours: hours.map(Hours::new).transpose()?,
            };
            for n in service.add_customer(user, &form).await?.nominations {
                println!(
                    "added {} to {}: {}",
                    n.friendly_name(),
                    n.engagement(),
                    n.id()
                );
            }
        }
        Command::Claim {
            through,
            name,
            engagements,
        } => {
            let form = ClaimCustomer {
                known_through: through,
                friendly_name: name.parse()?,
                location: partner.location.clone(),
                engagements,
                customer_contacts: None,
                partner_contacts: None,
                hours: None,
            };
            for n in service.claim_customer(user, &form).await?.nominations {
                println!(
                    "claimed {} for {}: {}",
                    n.friendly_name(),
                    n.engagement(),
                    n.id()
                );
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
        Command::Accept { token } => {
            let n = service.accept_consent(&token).await?;
            println!("{}: {}", n.friendly_name(), n.state());
        }
        Command::Decline { token } => {
            let n = service.decline_consent(&token).await?;
            println!("{}: {}", n.friendly_name(), n.state());
        }
        Command::Submit { nomination } => {
            let n = service.submit(user, &nomination).await?;
            println!("{}: {}", n.friendly_name(), n.state());
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
            Review::Start { nomination } => {
                print_state(&service.start_review(&reviewer, &nomination).await?)
            }
            Review::Ask { nomination, note } => print_state(
                &service
                    .request_partner_action(&reviewer, &nomination, note.parse()?)
                    .await?,
            ),
            Review::Approve { nomination } => {
                print_state(&service.approve(&reviewer, &nomination).await?)
            }
            Review::Reject { nomination, reason } => print_state(
                &service
                    .reject(&reviewer, &nomination, reason.parse()?)
                    .await?,
            ),
            Review::Payout => {
                let run = service.run_payout(&reviewer, 1000).await?;
                println!("batch {}: {} claims", run.batch.id, run.batch.entries.len());
            }
        },
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
        Command::History { nomination } => {
            for event in service.history(user, &nomination).await? {
                println!("{}", mci_examples::event_line(&event));
            }
        }
    }
    Ok(())
}

fn print_state(n: &mci_core::Nomination) {
    println!("{} {}: {}", n.id(), n.friendly_name(), n.state());
}
