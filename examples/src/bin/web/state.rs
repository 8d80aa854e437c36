//! The application's state: the service over the store, the demo clock
//! kept in a file next to the database (so a restart never moves time
//! back), the payout batches run so far, and the mailbox of delivered
//! messages.

use crate::hygiene::{NOTICE_COOKIE, PARTNER_COOKIE, Session};
use crate::layout::{Page, Problem};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::{DateTime, TimeDelta, Utc};
use mci_core::{Instant, PayoutBatchId};
use mci_engagements::ports::ManualClock;
use mci_engagements::{Delivery, Incentives};
use mci_examples::DemoError;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A delivered message, as the mailbox shows it.
#[derive(Debug, Clone)]
pub(crate) struct Mail {
    /// The delivery, with the token of its link.
    pub(crate) delivery: Delivery,
    /// When the mailbox took it, on the demo clock.
    pub(crate) received: Instant,
}

/// Everything the handlers share.
pub(crate) struct App {
    /// The service.
    pub(crate) service: Incentives,
    /// The demo clock the service reads.
    clock: Arc<ManualClock>,
    /// Where the clock and the payout batches are kept, if anywhere.
    state_file: Option<PathBuf>,
    /// The payout batches run, oldest first.
    batches: Mutex<Vec<PayoutBatchId>>,
    /// The messages the mailbox has delivered, oldest first. Held in
    /// memory only: they carry working links (R-TOKEN-4).
    mail: Mutex<Vec<Mail>>,
}

/// What the state file holds: the clock's reading on its first line, then
/// one payout batch id a line.
fn parse_state(text: &str) -> Result<(Instant, Vec<PayoutBatchId>), DemoError> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let now = match lines.next() {
        Some(line) => DateTime::parse_from_rfc3339(line)?.with_timezone(&Utc),
        None => mci_examples::epoch(),
    };
    let batches = lines
        .map(|l| l.parse::<PayoutBatchId>().map_err(DemoError::from))
        .collect::<Result<_, _>>()?;
    Ok((now, batches))
}

impl App {
    /// The application over `store`, its clock read back from
    /// `state_file` (or at the demo's epoch when there is none yet).
    pub(crate) async fn start(
        store: Arc<dyn mci_store::Store>,
        state_file: Option<PathBuf>,
        run: u32,
    ) -> Result<Self, DemoError> {
        let (now, batches) = match &state_file {
            Some(path) if path.exists() => {
                let path = path.clone();
                let text =
                    tokio::task::spawn_blocking(move || std::fs::read_to_string(path)).await??;
                parse_state(&text)?
            }
            _ => (mci_examples::epoch(), Vec::new()),
        };
        let clock = Arc::new(ManualClock::new(now));
        let service = mci_examples::service(store, clock.clone(), run)?;
        let app = App {
            service,
            clock,
            state_file,
            batches: Mutex::new(batches),
            mail: Mutex::new(Vec::new()),
        };
        app.save().await?;
        Ok(app)
    }

    /// The clock's reading.
    pub(crate) fn now(&self) -> Result<Instant, mci_engagements::Error> {
        self.service.now()
    }

    /// Writes the clock and the batches to the state file, through a
    /// temporary file so that a crash leaves the old one whole.
    async fn save(&self) -> Result<(), DemoError> {
        let Some(path) = self.state_file.clone() else {
            return Ok(());
        };
        let mut text = format!("{}\n", self.now()?.to_rfc3339());
        for batch in self.batches() {
            text.push_str(&format!("{batch}\n"));
        }
        tokio::task::spawn_blocking(move || {
            let mut temporary = path.as_os_str().to_owned();
            temporary.push(".tmp");
            std::fs::write(&temporary, text)?;
            std::fs::rename(&temporary, &path)
        })
        .await??;
        Ok(())
    }

    /// The payout batches run, oldest first.
    pub(crate) fn batches(&self) -> Vec<PayoutBatchId> {
        self.batches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Remembers a payout batch.
    pub(crate) async fn remember_batch(&self, batch: PayoutBatchId) -> Result<(), DemoError> {
        self.batches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(batch);
        self.save().await
    }

    /// Takes the pending messages from the outbox, keeps them in the
    /// mailbox and marks them delivered (R-REC-2); returns the mailbox,
    /// newest first.
    pub(crate) async fn deliver(&self) -> Result<Vec<Mail>, mci_engagements::Error> {
        let taken = self
            .service
            .take_messages(TimeDelta::minutes(5), 100)
            .await?;
        let received = self.now()?;
        let ids: Vec<_> = taken.iter().map(|d| d.message.id).collect();
        {
            let mut mail = self.mail.lock().unwrap_or_else(|p| p.into_inner());
            for delivery in taken {
                // At least once: a message delivered again is kept once.
                if !mail
                    .iter()
                    .any(|m| m.delivery.message.id == delivery.message.id)
                {
                    mail.push(Mail { delivery, received });
                }
            }
        }
        self.service.acknowledge(&ids).await?;
        let mut mail = self.mail.lock().unwrap_or_else(|p| p.into_inner()).clone();
        mail.reverse();
        Ok(mail)
    }
}

/// Where a header form sends the browser back to: a page of this site,
/// never a link page (its address holds a token) nor another site.
fn back_to(back: Option<&str>) -> String {
    match back {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/consent")
                && !path.starts_with("/survey")
                && !path.contains('\\') =>
        {
            path.to_owned()
        }
        _ => String::from("/"),
    }
}

/// The header's clock form.
#[derive(Debug, Deserialize)]
pub(crate) struct ClockForm {
    days: i64,
    back: Option<String>,
}

/// Moves the demo clock forward by whole days and keeps its reading.
pub(crate) async fn move_clock(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Form(form): Form<ClockForm>,
) -> Response {
    if !(1..=365).contains(&form.days) {
        return Page::problem(
            &app,
            &session,
            "Demo clock",
            Problem::field("days", "R-TIME-1", "move the clock by 1 to 365 days"),
        )
        .await;
    }
    if let Err(error) = app.clock.advance(TimeDelta::days(form.days)) {
        return Page::problem(&app, &session, "Demo clock", Problem::of(&error.into())).await;
    }
    if let Err(error) = app.save().await {
        return Page::failure(&app, &session, &*error).await;
    }
    Redirect::to(&back_to(form.back.as_deref())).into_response()
}

/// A header form with only where to go back to.
#[derive(Debug, Deserialize)]
pub(crate) struct BackForm {
    back: Option<String>,
}

/// Runs the expiry sweep at the clock's now (R-TIME-4).
pub(crate) async fn sweep(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Form(form): Form<BackForm>,
) -> Response {
    match app.service.sweep().await {
        Ok(report) => {
            let notice = format!(
                "Sweep at {}: {} lapsed, {} reminders queued, {} eligibility answers refreshed",
                app.now()
                    .map_or_else(|_| String::new(), crate::layout::when),
                report.lapsed,
                report.reminded,
                report.answers_kept
            );
            let mut response = Redirect::to(&back_to(form.back.as_deref())).into_response();
            if let Ok(cookie) = HeaderValue::from_str(&format!(
                "{NOTICE_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
                crate::hygiene::percent_encode(&notice)
            )) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(error) => Page::problem(&app, &session, "Sweep", Problem::of(&error)).await,
    }
}

/// The header's partner switcher.
#[derive(Debug, Deserialize)]
pub(crate) struct PartnerForm {
    partner: String,
    back: Option<String>,
}

/// Acts for another demo partner from now on.
pub(crate) async fn switch_partner(Form(form): Form<PartnerForm>) -> Response {
    let partner = if form.partner == "fabrikam" {
        "fabrikam"
    } else {
        "northwind"
    };
    let mut response = Redirect::to(&back_to(form.back.as_deref())).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{PARTNER_COOKIE}={partner}; Path=/; HttpOnly; SameSite=Strict"
    )) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_file_keeps_the_clock_and_the_batches() {
        let text = "2026-04-01T09:00:00+00:00\n";
        let (now, batches) = parse_state(text).unwrap();
        assert_eq!(now.to_rfc3339(), "2026-04-01T09:00:00+00:00");
        assert!(batches.is_empty());
        assert!(parse_state("yesterday\n").is_err());
        assert_eq!(parse_state("").unwrap().0, mci_examples::epoch());
    }

    #[test]
    fn a_header_form_goes_back_only_to_this_sites_pages() {
        assert_eq!(
            back_to(Some("/engagements/ai-workshop?tab=complete")),
            "/engagements/ai-workshop?tab=complete"
        );
        assert_eq!(back_to(Some("//evil.example/")), "/");
        assert_eq!(back_to(Some("https://evil.example/")), "/");
        assert_eq!(back_to(Some("/consent/secret")), "/");
        assert_eq!(back_to(None), "/");
    }
}
