//! The demo world shared by the walkthrough and the command-line tool: a
//! small, realistic catalog of engagements, partners with enrolled and
//! unenrolled locations, a tenant directory (one domain internationalised),
//! and tables to print what the service shows.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use chrono::{TimeDelta, TimeZone, Utc};
use mci_core::{
    AvailabilityWindow, Contacts, CustomerId, Engagement, EngagementKind, EngagementRules, Event,
    Hours, Instant, InvalidValue, LocationId, MessageKind, PartnerId, PartnerUser, PayModel,
    ReviewerId, Role, TenantId, Tpid,
};
use mci_engagements::ports::{
    HmacLinkKey, InMemoryPartnerDirectory, InMemoryTenantDirectory, PermissiveEligibility,
};
use mci_engagements::{CustomerRow, CustomersPage, Delivery, Incentives};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

/// A demo error: any failure, shown to the user as text.
pub type DemoError = Box<dyn std::error::Error + Send + Sync>;

/// The instant run 1 of the demo starts at; run `k` starts `k - 1` years
/// later.
pub fn epoch() -> Instant {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or(chrono::DateTime::UNIX_EPOCH)
}

/// The ids of the demo's engagements.
pub mod ids {
    /// A fixed-fee workshop.
    pub const AI_WORKSHOP: &str = "ai-workshop";
    /// A fixed-fee assessment that takes two live nominations per customer.
    pub const SECURITY_ASSESSMENT: &str = "security-assessment";
    /// A second workshop, to claim known customers into.
    pub const COPILOT_WORKSHOP: &str = "copilot-workshop";
    /// A variable-pay medium project.
    pub const MIGRATION_PROJECT: &str = "migration-project";
    /// A large project that opens later.
    pub const MODERNIZATION: &str = "modernization-project";
}

/// The demo catalog: engagements of several types and both pay models.
pub fn catalog() -> Result<Vec<Engagement>, InvalidValue> {
    let open = AvailabilityWindow::new(
        epoch() - TimeDelta::days(60),
        epoch() + TimeDelta::days(5 * 365),
    )?;
    let later = AvailabilityWindow::new(
        epoch() + TimeDelta::days(5 * 365),
        epoch() + TimeDelta::days(6 * 365),
    )?;
    let fixed = |kind, fee: &str| -> Result<EngagementRules, InvalidValue> {
        EngagementRules::builder(kind, PayModel::fixed(fee.parse()?)).build()
    };
    Ok(vec![
        Engagement::new(
            ids::AI_WORKSHOP.parse()?,
            "AI readiness workshop".parse()?,
            "Data & AI".parse()?,
            open,
            fixed(EngagementKind::Workshop, "7500.00 EUR")?,
        ),
        Engagement::new(
            ids::SECURITY_ASSESSMENT.parse()?,
            "Threat protection assessment".parse()?,
            "Security".parse()?,
            open,
            EngagementRules::builder(
                EngagementKind::Assessment,
                PayModel::fixed("4000.00 EUR".parse()?),
            )
            .active_nomination_limit(2)
            .build()?,
        ),
        Engagement::new(
            ids::COPILOT_WORKSHOP.parse()?,
            "Copilot adoption workshop".parse()?,
            "Modern Work".parse()?,
            open,
            fixed(EngagementKind::Workshop, "6000.00 EUR")?,
        ),
        Engagement::new(
            ids::MIGRATION_PROJECT.parse()?,
            "Datacenter migration project".parse()?,
            "Infrastructure".parse()?,
            open,
            EngagementRules::builder(
                EngagementKind::MediumProject,
                PayModel::variable(
                    "150.00 EUR".parse()?,
                    "30000.00 EUR".parse()?,
                    Hours::new(400)?,
                ),
            )
            .build()?,
        ),
        Engagement::new(
            ids::MODERNIZATION.parse()?,
            "Application modernization project".parse()?,
            "Digital & App Innovation".parse()?,
            later,
            fixed(EngagementKind::LargeProject, "25000.00 EUR")?,
        ),
    ])
}

/// A demo partner.
#[derive(Debug, Clone)]
pub struct DemoPartner {
    /// Its display name.
    pub name: &'static str,
    /// Its id.
    pub id: PartnerId,
    /// Its enrolled, eligible location.
    pub location: LocationId,
    /// A location that is not enrolled in MCI.
    pub unenrolled: LocationId,
}

/// The two demo partners.
pub fn partners() -> Result<[DemoPartner; 2], InvalidValue> {
    Ok([
        DemoPartner {
            name: "Northwind Consulting",
            id: "northwind".parse()?,
            location: "1000001".parse()?,
            unenrolled: "1000002".parse()?,
        },
        DemoPartner {
            name: "Fabrikam Partners",
            id: "fabrikam".parse()?,
            location: "2000001".parse()?,
            unenrolled: "2000002".parse()?,
        },
    ])
}

/// The partner directory of the demo.
pub fn partner_directory() -> Result<InMemoryPartnerDirectory, InvalidValue> {
    let mut builder = InMemoryPartnerDirectory::builder();
    for partner in partners()? {
        builder = builder
            .enrolled(partner.id.clone(), partner.location.clone())
            .location(partner.id, partner.unenrolled, false);
    }
    Ok(builder.build())
}

/// A demo customer of run `run`: its name, email domain and tenant.
#[derive(Debug, Clone)]
pub struct DemoCustomer {
    /// Its display name.
    pub name: &'static str,
    /// The domain of its email addresses.
    pub domain: String,
    /// Its tenant.
    pub tenant: TenantId,
}

impl DemoCustomer {
    /// An email address at the customer.
    pub fn email(&self, local: &str) -> Result<mci_core::EmailAddress, InvalidValue> {
        format!("{local}@{}", self.domain).parse()
    }

    /// One contact at the customer.
    pub fn contact(&self, name: &str, local: &str) -> Result<Contacts, InvalidValue> {
        Ok(Contacts::one(name.parse()?, self.email(local)?))
    }
}

/// The demo's customers for run `run`: names stay, domains and tenants are
/// new for every run so that runs over one database never collide.
pub fn customers(run: u32) -> Result<Vec<DemoCustomer>, InvalidValue> {
    let names: [(&str, &str); 9] = [
        ("Contoso", "contoso"),
        ("Tailspin Toys", "tailspin"),
        ("Alpine Ski House", "alpineskihouse"),
        ("Woodgrove Bank", "woodgrove"),
        ("Bücherei Müller", "bücherei-müller"),
        ("Litware", "litware"),
        ("Adatum", "adatum"),
        ("Fourth Coffee", "fourthcoffee"),
        ("Wide World Importers", "wideworldimporters"),
    ];
    names
        .iter()
        .enumerate()
        .map(|(i, (name, stem))| {
            let domain = if run == 1 {
                format!("{stem}.example")
            } else {
                format!("{stem}-{run}.example")
            };
            Ok(DemoCustomer {
                name,
                domain: domain.parse::<mci_core::Domain>()?.to_string(),
                tenant: format!("{run:08x}-0000-4000-8000-{:012x}", i + 1).parse()?,
            })
        })
        .collect()
}

/// The TPID that groups Woodgrove Bank's tenants in run `run`.
pub fn woodgrove_tpid(run: u32) -> Result<Tpid, InvalidValue> {
    Tpid::new(5_551_000 + u64::from(run))
}

/// The tenant directory of run `run`: every customer's domain, and
/// Woodgrove's TPID over its tenant, so that the demos can nominate one
/// customer under two identifiers the directory links (R-LIST-5).
pub fn tenant_directory(run: u32) -> Result<InMemoryTenantDirectory, InvalidValue> {
    let customers = customers(run)?;
    let mut builder = InMemoryTenantDirectory::builder();
    for customer in &customers {
        builder = builder.tenant(customer.tenant, [customer.domain.parse()?]);
    }
    if let Some(woodgrove) = customers.iter().find(|c| c.name == "Woodgrove Bank") {
        builder = builder.tpid(woodgrove_tpid(run)?, [woodgrove.tenant]);
    }
    Ok(builder.build())
}

/// The eligibility source: Litware's subscription does not qualify for the
/// Copilot workshop.
pub fn eligibility(run: u32) -> Result<PermissiveEligibility, InvalidValue> {
    Ok(PermissiveEligibility::new().ineligible(
        ids::COPILOT_WORKSHOP.parse()?,
        CustomerId::AzureSubscription(litware_subscription(run)?),
        "the subscription has no eligible Microsoft 365 seats",
    ))
}

/// Litware's Azure subscription in run `run`.
pub fn litware_subscription(run: u32) -> Result<mci_core::AzureSubscriptionId, InvalidValue> {
    format!("{run:08x}-5ab5-4c00-9000-00000000beef").parse()
}

/// A partner user with the Incentives admin role.
pub fn admin(partner: &DemoPartner) -> Result<PartnerUser, InvalidValue> {
    Ok(PartnerUser::new(
        partner.id.clone(),
        "admin".parse()?,
        Role::IncentivesAdmin,
    ))
}

/// The demo reviewer.
pub fn reviewer() -> Result<ReviewerId, InvalidValue> {
    "reviewer@program.example".parse()
}

/// Prints rows as an aligned text table.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::from("  |");
        for (cell, width) in cells.zip(&widths) {
            let pad = width.saturating_sub(cell.chars().count());
            let _ = write!(out, " {cell}{} |", " ".repeat(pad));
        }
        out.push('\n');
        out
    };
    let mut out = line(&mut headers.iter().copied());
    out.push_str("  |");
    for width in &widths {
        out.push_str(&"-".repeat(width + 2));
        out.push('|');
    }
    out.push('\n');
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// The rows of a Customers page as a table: name, customer, Type, status,
/// days left and actions (R-PAGE).
pub fn page_table(page: &CustomersPage) -> String {
    let rows: Vec<Vec<String>> = page
        .rows
        .iter()
        .map(|row| match row {
            CustomerRow::Nomination(r) => vec![
                r.friendly_name.to_string(),
                r.customer.to_string(),
                r.row_type.to_string(),
                match &r.reason {
                    // Lost to another partner (R-CONSENT-10).
                    Some(reason) => format!("{}: {reason}", r.status.state),
                    None => r.status.state.to_string(),
                },
                match (r.status.days_left, r.status.deadline, &r.reason) {
                    (Some(days), Some(_), Some(_)) => format!("ends in {days} days"),
                    (Some(days), Some(what), None) => format!("{days} days {what}"),
                    _ => String::from("-"),
                },
                join(&r.actions),
            ],
            CustomerRow::Known(k) => vec![
                format!("(known) {}", k.known.customer.email().domain().to_unicode()),
                k.known.customer.id().to_string(),
                String::from("-"),
                if !k.checked {
                    String::from("eligibility not checked yet")
                } else if k.reasons.is_empty() {
                    String::from("claimable")
                } else {
                    join(&k.reasons)
                },
                String::from("-"),
                join(&k.actions()),
            ],
        })
        .collect();
    if rows.is_empty() {
        return String::from("  (no rows)\n");
    }
    table(
        &["name", "customer", "type", "status", "days left", "actions"],
        &rows,
    )
}

/// A page of the Claims page as a table (R-LIST-1): one row per
/// nomination, newest first, with its claim id.
pub fn claims_table(page: &mci_engagements::ClaimsPage) -> String {
    let rows: Vec<Vec<String>> = page
        .rows
        .iter()
        .map(|r| {
            vec![
                r.nomination.to_string(),
                r.engagement.to_string(),
                r.friendly_name.to_string(),
                r.state.to_string(),
                r.created_at.format("%Y-%m-%d %H:%M").to_string(),
                r.changed_at.format("%Y-%m-%d %H:%M").to_string(),
                match (r.days_left, r.deadline) {
                    (Some(days), Some(what)) => format!("{days} days {what}"),
                    _ => String::from("-"),
                },
            ]
        })
        .collect();
    if rows.is_empty() {
        return String::from("  (no rows)\n");
    }
    table(
        &[
            "claim id",
            "engagement",
            "name",
            "state",
            "created",
            "changed",
            "days left",
        ],
        &rows,
    )
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return String::from("-");
    }
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line describing an outbox message as it is delivered, with the
/// token of its link (R-TOKEN-4).
pub fn message_line(delivery: &Delivery) -> String {
    let message = &delivery.message;
    let token = delivery
        .token
        .as_ref()
        .map_or_else(String::new, ToString::to_string);
    let to = message
        .to
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let what = match &message.kind {
        MessageKind::ConsentRequest { deadline, .. } => {
            format!(
                "consent request, link /consent/{token}, answer before {}",
                deadline.format("%Y-%m-%d %H:%M")
            )
        }
        MessageKind::ConsentReminder { .. } => {
            format!("consent reminder, link /consent/{token}")
        }
        MessageKind::ConsentAnswered { accepted: true } => String::from("the customer accepted"),
        MessageKind::ConsentAnswered { accepted: false } => String::from("the customer declined"),
        MessageKind::ConsentedToAnotherPartner { deadline } => format!(
            "the customer consented to another partner; cancel, or it ends on {}",
            deadline.format("%Y-%m-%d")
        ),
        MessageKind::Survey { survey, .. } => format!("{survey}, link /survey/{token}"),
        MessageKind::PartnerActionRequested { note } => format!("the reviewer asks: {note}"),
        MessageKind::Approved { payout } => format!("claim approved for {payout}"),
        MessageKind::Rejected { reason, disputable } => format!(
            "claim rejected: {reason}{}",
            if *disputable {
                " (may be disputed)"
            } else {
                " (final)"
            }
        ),
        MessageKind::Paid { amount, .. } => format!("paid {amount}"),
        MessageKind::DeadlineApproaching { deadline, before } => {
            format!(
                "reminder: deadline {} in {before}",
                deadline.format("%Y-%m-%d")
            )
        }
        MessageKind::Lapsed { state } => format!("lapsed: {state}"),
    };
    format!("  -> {to}: {what}")
}

/// One line describing an event.
pub fn event_line(event: &Event) -> String {
    let from = event
        .from
        .map_or_else(|| String::from("new"), |s| s.to_string());
    format!(
        "  {} v{} {} by {}: {} -> {}",
        event.at.format("%Y-%m-%d"),
        event.version,
        event.kind,
        event.actor,
        from,
        event.to
    )
}

/// The key link tokens are derived with (R-TOKEN-4): 64 hex digits from the
/// `MCI_LINK_KEY` environment variable, as an application would take it
/// from its secret store, or else the demo key everyone knows.
pub fn link_key() -> Result<HmacLinkKey, DemoError> {
    match std::env::var("MCI_LINK_KEY") {
        Ok(hex) => Ok(HmacLinkKey::from_hex(hex.trim())?),
        Err(_) => Ok(HmacLinkKey::demo()),
    }
}

/// Builds the demo service of run `run` over `store` with `clock`.
pub fn service(
    store: std::sync::Arc<dyn mci_store::Store>,
    clock: std::sync::Arc<dyn mci_engagements::ports::Clock>,
    run: u32,
) -> Result<Incentives, DemoError> {
    let mut builder = Incentives::builder(store, link_key()?)
        .tenant_directory(tenant_directory(run)?)
        .partner_directory(partner_directory()?)
        .customer_eligibility(eligibility(run)?)
        .clock(clock)
        .settings(mci_engagements::Settings {
            payout_epoch: epoch(),
            ..mci_engagements::Settings::default()
        });
    for engagement in catalog()? {
        builder = builder.engagement(engagement);
    }
    Ok(builder.build())
}

/// An error of the service as a user reads it: the rule it names, for an
/// add that was refused every engagement's reasons on a line of its own
/// (R-ADD-6), and for a failed port or store the causes its message leaves
/// to its sources.
pub fn explain(error: &mci_engagements::Error) -> String {
    match error {
        mci_engagements::Error::Refused(mci_core::Refusal::NotChoosable { refused }) => {
            let mut out = format!(
                "{} of the chosen engagements cannot be chosen, so none was added (R-ADD-6):",
                refused.len()
            );
            for engagement in refused {
                let _ = write!(out, "\n     {engagement}");
            }
            out
        }
        other => with_causes(other),
    }
}

/// A workshop claim as its reviewer reads it: the proof documents by
/// reference, the surveys, the comments and the decisions so far.
pub fn claim_lines(nomination: &mci_core::Nomination) -> String {
    let claim = nomination.claim();
    let mut out = String::new();
    for (kind, document) in &claim.documents {
        let _ = writeln!(
            out,
            "  {kind}: {} ({}, {} bytes, sha256 {})",
            document.name(),
            document.media_type(),
            document.size_bytes(),
            document.sha256()
        );
    }
    for (whose, survey) in [
        ("partner survey", &claim.partner_survey),
        ("customer survey", &claim.customer_survey),
    ] {
        let _ = writeln!(out, "  {whose}: {:?}", survey.status);
    }
    for comment in &claim.comments {
        let _ = writeln!(
            out,
            "  {} {}: {}",
            comment.at.format("%Y-%m-%d %H:%M"),
            comment.by,
            comment.text
        );
    }
    if let Some(reason) = &claim.rejection_reason {
        let _ = writeln!(out, "  rejected: {reason}");
    }
    if let Some(payout) = &claim.payout {
        let _ = writeln!(out, "  payout: {payout}");
    }
    out
}

/// A payout batch: its id and cycle, then one line per entry.
pub fn batch_lines(batch: &mci_core::PayoutBatch) -> String {
    let mut out = format!(
        "batch {} (cycle {:?}, {}): {} entries\n",
        batch.id,
        batch.cycle,
        batch.created_at.format("%Y-%m-%d %H:%M"),
        batch.entries.len()
    );
    for entry in &batch.entries {
        let _ = writeln!(
            out,
            "  {} {:?} {}",
            entry.nomination, entry.kind, entry.amount
        );
    }
    out
}

/// The media type of a proof file, from its extension; the generic binary
/// type when the extension says nothing.
pub fn media_type_of(path: &std::path::Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("pdf") => "application/pdf",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("pptx") => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("txt") => "text/plain",
        Some("csv") => "text/csv",
        _ => "application/octet-stream",
    }
}

/// The engagements of an overview as a table (R-ENG-7).
pub fn overview_table(overview: &mci_engagements::Overview) -> String {
    let rows: Vec<Vec<String>> = overview
        .engagements
        .iter()
        .map(|e| {
            vec![
                e.solution_area.to_string(),
                e.engagement.to_string(),
                e.name.to_string(),
                e.availability.to_string(),
                format!("{} of {}", e.eligible_locations, e.enrolled_locations),
                e.active_customers.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "solution area",
            "id",
            "engagement",
            "availability",
            "eligible locations",
            "active customers",
        ],
        &rows,
    )
}

/// `error` and the errors behind it, as one line: "cannot connect to
/// PostgreSQL: error connecting to server: Connection refused".
pub fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            let _ = write!(text, ": {said}");
        }
        source = cause.source();
    }
    text
}

/// Where the demo programs keep their data, as `--database` names it: a
/// SQLite file (the default), or a PostgreSQL database named by a
/// `postgres://` or `postgresql://` URL or by libpq `key=value` pairs
/// (`host=/var/run/postgresql dbname=mci`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string, as `--database` gave it.
    Postgres(String),
}

/// The keywords of libpq connection strings that tokio-postgres takes: a
/// `--database` whose first word is `keyword=...` names PostgreSQL.
const LIBPQ_KEYWORDS: &[&str] = &[
    "application_name",
    "channel_binding",
    "connect_timeout",
    "dbname",
    "host",
    "hostaddr",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "load_balance_hosts",
    "options",
    "password",
    "port",
    "sslmode",
    "target_session_attrs",
    "tcp_user_timeout",
    "user",
];

impl Database {
    /// What `arg` names: PostgreSQL for a `postgres://` or `postgresql://`
    /// URL or a string whose first word is a libpq `keyword=value` pair,
    /// else a SQLite file (write `./host=x` for a file of such a name).
    pub fn parse(arg: &str) -> Database {
        let trimmed = arg.trim_start();
        let url = ["postgres://", "postgresql://"]
            .iter()
            .any(|scheme| trimmed.starts_with(scheme));
        let pairs = trimmed.split_once('=').is_some_and(|(key, _)| {
            let key = key.trim_end();
            !key.contains(char::is_whitespace) && LIBPQ_KEYWORDS.contains(&key)
        });
        if url || pairs {
            Database::Postgres(arg.to_owned())
        } else {
            Database::Sqlite(PathBuf::from(arg))
        }
    }

    /// Opens the store: the SQLite file (created if missing), or a pool of
    /// connections to the PostgreSQL database, whose tables are created on
    /// first use. Neither blocks the runtime's threads.
    pub async fn open(&self) -> Result<Arc<dyn mci_store::Store>, DemoError> {
        match self {
            Database::Sqlite(path) => {
                let path = path.clone();
                let store =
                    tokio::task::spawn_blocking(move || mci_store_sqlite::SqliteStore::open(path))
                        .await??;
                Ok(Arc::new(store))
            }
            Database::Postgres(config) => Ok(Arc::new(
                mci_store_postgres::PostgresStore::connect(config.as_str()).await?,
            )),
        }
    }

    /// The database for a person to read: the SQLite file's path, or the
    /// PostgreSQL database's name and server (never its password).
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string(),
            Database::Postgres(config) => {
                match config.parse::<mci_store_postgres::tokio_postgres::Config>() {
                    Ok(config) => {
                        use mci_store_postgres::tokio_postgres::config::Host;
                        let hosts: Vec<String> = config
                            .get_hosts()
                            .iter()
                            .map(|host| match host {
                                Host::Tcp(name) => name.clone(),
                                Host::Unix(path) => path.display().to_string(),
                            })
                            .collect();
                        format!(
                            "the PostgreSQL database {} on {}",
                            config.get_dbname().unwrap_or("(the user's)"),
                            if hosts.is_empty() {
                                String::from("localhost")
                            } else {
                                hosts.join(", ")
                            }
                        )
                    }
                    Err(_) => String::from("a PostgreSQL database"),
                }
            }
        }
    }
}

impl std::str::FromStr for Database {
    type Err = std::convert::Infallible;

    fn from_str(arg: &str) -> Result<Self, Self::Err> {
        Ok(Database::parse(arg))
    }
}

#[cfg(test)]
mod tests {
    use super::Database;

    #[test]
    fn urls_and_libpq_pairs_name_postgres_and_anything_else_a_sqlite_file() {
        for postgres in [
            "postgres://mci@db.internal/mci",
            "postgresql://localhost/mci?sslmode=require",
            "host=/var/run/postgresql dbname=mci",
            "dbname = mci",
            "user=mci password=secret host=db",
        ] {
            assert_eq!(
                Database::parse(postgres),
                Database::Postgres(postgres.into()),
                "{postgres}"
            );
        }
        for sqlite in [
            "mci-demo.sqlite",
            "/tmp/a=b.sqlite",
            "./host=x",
            "my file=1.sqlite",
            "postgres.sqlite",
        ] {
            assert_eq!(
                Database::parse(sqlite),
                Database::Sqlite(sqlite.into()),
                "{sqlite}"
            );
        }
    }

    #[test]
    fn a_postgres_database_is_described_without_its_password() {
        let described =
            Database::parse("postgres://mci:secret@db.internal:5433/incentives").describe();
        assert_eq!(
            described,
            "the PostgreSQL database incentives on db.internal"
        );
        assert!(!described.contains("secret"));
    }
}
