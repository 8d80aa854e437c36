//! `web`: the demo world as a web application — the partner's engagements
//! and Customers pages, the add-customer wizard, the workshop claim, the
//! customer's consent and survey links, a mailbox that delivers the
//! outbox, and the reviewer's queue and payout runs.
//!
//! ```text
//! cargo run -p mci-examples --bin web                     # mci-demo.sqlite
//! cargo run -p mci-examples --bin web -- --memory
//! cargo run -p mci-examples --bin web -- --database postgres://mci@db.internal/mci
//! ```
//!
//! Every page works without JavaScript: plain links and forms, each form
//! going through the service. The demo clock moves only when told (the
//! header's "+1 day" buttons) and is kept in the database, as a setting of
//! the store, so a restart does not move time back and several servers on
//! one database share it.

mod add;
mod customer;
mod hygiene;
mod layout;
mod partner;
mod reviewer;
mod state;
mod workshop;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use clap::Parser;
use mci_examples::{Database, DemoError};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// Serves the demo world of the MCI engagements as a web application.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The database: a SQLite file, or a PostgreSQL database as a
    /// postgres:// or postgresql:// URL or libpq pairs.
    #[arg(long, default_value = "mci-demo.sqlite", conflicts_with = "memory")]
    database: Database,
    /// Keep everything in memory, gone when the program stops.
    #[arg(long)]
    memory: bool,
    /// The address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Which walkthrough run's customers the tenant directory knows.
    #[arg(long, default_value_t = 1)]
    run: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    match serve(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", mci_examples::with_causes(&*error));
            ExitCode::FAILURE
        }
    }
}

async fn serve(cli: Cli) -> Result<(), DemoError> {
    let store: Arc<dyn mci_store::Store> = if cli.memory {
        Arc::new(mci_store_memory::MemoryStore::new())
    } else {
        cli.database.open().await?
    };
    let app = state::App::start(store, cli.run).await?;
    let listener = tokio::net::TcpListener::bind(cli.listen).await?;
    let address = listener.local_addr()?;
    println!(
        "listening on http://{address} ({})",
        if cli.memory {
            String::from("in memory")
        } else {
            cli.database.describe()
        }
    );
    axum::serve(listener, router(Arc::new(app))).await?;
    Ok(())
}

/// Every page and form of the application.
fn router(app: Arc<state::App>) -> Router {
    Router::new()
        .route("/", get(partner::overview))
        .route("/style.css", get(layout::stylesheet))
        .route("/engagements/{engagement}", get(partner::customers))
        .route(
            "/engagements/{engagement}/claim",
            get(partner::claim_form).post(partner::claim),
        )
        .route("/attention", get(partner::attention))
        .route("/add", get(add::add_start).post(add::add))
        .route("/add/engagements", post(add::add_engagements))
        .route("/add/review", post(add::add_review))
        .route("/nominations/{nomination}", get(workshop::nomination))
        .route("/nominations/{nomination}/history", get(workshop::history))
        .route(
            "/nominations/{nomination}/documents",
            post(workshop::attach_document),
        )
        .route(
            "/nominations/{nomination}/{command}",
            post(workshop::command),
        )
        .route("/consent/{token}", get(customer::consent_page))
        .route("/consent", post(customer::answer_consent))
        .route("/survey/{token}", get(customer::survey_page))
        .route("/survey", post(customer::complete_survey))
        .route("/mailbox", get(customer::mailbox))
        .route("/review", get(reviewer::queue))
        .route("/review/{nomination}", get(reviewer::claim))
        .route("/review/{nomination}/{decision}", post(reviewer::decide))
        .route(
            "/payouts",
            get(reviewer::payouts).post(reviewer::run_payout),
        )
        .route("/clock", post(state::move_clock))
        .route("/sweep", post(state::sweep))
        .route("/partner", post(state::switch_partner))
        .layer(DefaultBodyLimit::max(
            usize::try_from(mci_core::DocumentRef::MAX_SIZE_BYTES).unwrap_or(usize::MAX) + 65_536,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            state::refresh_clock,
        ))
        .layer(axum::middleware::from_fn(hygiene::guard))
        .with_state(app)
}
