//! The application's state: the service over the store, the demo clock
//! kept in the database (so a restart never moves time back, and every
//! server on one database reads one clock), and the mailbox of delivered
//! messages. The payout batches are read from the store.

use crate::hygiene::{PARTNER_COOKIE, Session};
use crate::layout::{Page, Problem};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::TimeDelta;
use mci_core::Instant;
use mci_engagements::ports::StoredClock;
use mci_engagements::store::SettingKey;
use mci_engagements::{Delivery, Incentives};
use mci_examples::DemoError;
use serde::Deserialize;
use std::sync::{Arc, Mutex};

/// The setting the demo clock's reading is kept as.
const CLOCK_SETTING: &str = "mci-examples.web.clock";

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
    /// The demo clock the service reads, kept in the store.
    clock: Arc<StoredClock>,
    /// The messages the mailbox has delivered, oldest first. Held in
    /// memory only: they carry working links (R-TOKEN-4).
    mail: Mutex<Vec<Mail>>,
}

impl App {
    /// The application over `store`, its clock read back from the store
    /// (or at the demo's epoch when it was never moved).
    pub(crate) async fn start(
        store: Arc<dyn mci_store::Store>,
        run: u32,
    ) -> Result<Self, DemoError> {
        let key: SettingKey = CLOCK_SETTING.parse()?;
        let clock = Arc::new(StoredClock::open(store.clone(), key, mci_examples::epoch()).await?);
        let service = mci_examples::service(store, clock.clone(), run)?;
        Ok(App {
            service,
            clock,
            mail: Mutex::new(Vec::new()),
        })
    }

    /// The clock's reading.
    pub(crate) fn now(&self) -> Result<Instant, mci_engagements::Error> {
        self.service.now()
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

/// Reads the demo clock from the store before each request, so that a
/// page and a form see where any server on the database moved it last
/// (the clock only moves forward). A store that cannot be read answers
/// 503, as a page would.
pub(crate) async fn refresh_clock(
    State(app): State<Arc<App>>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(error) = app.clock.refresh().await {
        let status = StatusCode::from_u16(error.kind().http_status())
            .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return (status, format!("the demo clock cannot be read: {error}\n")).into_response();
    }
    next.run(request).await
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

/// Moves the demo clock forward by whole days from its reading in the
/// store, and keeps it there.
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
    if let Err(error) = app.clock.advance(TimeDelta::days(form.days)).await {
        return Page::problem(&app, &session, "Demo clock", Problem::of(&error)).await;
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
            crate::hygiene::with_notice(
                Redirect::to(&back_to(form.back.as_deref())).into_response(),
                &notice,
            )
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
