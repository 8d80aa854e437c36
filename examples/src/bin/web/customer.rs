//! The customer's pages: the consent page reached through the emailed
//! link, the survey page, and the demo's mailbox, which delivers the
//! outbox (R-CONSENT, R-CLAIM-W-3, R-REC-2, R-TOKEN).
//!
//! A link's GET only shows: mail scanners follow links, so only a POST
//! from the page's form accepts, declines or completes anything. The
//! token travels in that POST's body, and the access log never shows the
//! link's path (R-TOKEN-5).

use crate::hygiene::{CSRF_FIELD, Session};
use crate::layout::{Ctx, Page, Problem, when};
use crate::partner::{ctx, or_problem};
use crate::state::App;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::{Extension, Form};
use maud::{Markup, html};
use mci_core::{LinkToken, MessageKind, State as NominationState};
use mci_engagements::Error;
use serde::Deserialize;
use std::sync::Arc;

fn token_of(text: &str) -> Result<LinkToken, Error> {
    // A malformed token answers as any wrong one does (R-TOKEN-3).
    text.parse()
        .map_err(|_| Error::Refused(mci_core::Refusal::InvalidLink))
}

/// The partner's name, as the customer reads it.
fn partner_name(partner: &mci_core::PartnerId) -> String {
    mci_examples::partners()
        .ok()
        .and_then(|ps| ps.into_iter().find(|p| &p.id == partner))
        .map_or_else(|| partner.to_string(), |p| p.name.to_owned())
}

fn customer_problem(problem: &Problem) -> Response {
    Page::with_status(
        Some(problem),
        Page::customer_frame(
            "This link cannot be used",
            html! {
                (Problem::unplaced(Some(problem), &[]))
            },
        ),
    )
}

/// `GET /consent/{token}`: the invitation, with the form that answers it.
/// Nothing changes on GET.
pub(crate) async fn consent_page(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path(token): Path<String>,
) -> Response {
    let result = async {
        let token = token_of(&token)?;
        let invitation = app.service.open_consent(&token).await?;
        let engagement = app.service.engagement(&invitation.engagement)?;
        let asking = matches!(
            invitation.state,
            NominationState::AwaitingConsent | NominationState::CustomerClaimed
        );
        let body = html! {
            p { strong { (partner_name(&invitation.partner)) } " asks for your consent to deliver the "
                strong { (engagement.name()) } " (" (engagement.solution_area()) ") with you, under the Microsoft Commerce Incentives program." }
            dl.facts {
                dt { "Engagement" } dd { (invitation.friendly_name) }
                dt { "Partner location" } dd { (invitation.location) }
                dt { "Answer before" } dd { (when(invitation.deadline)) " UTC" }
                dt { "Status" } dd #state { (invitation.state) }
            }
            @if asking {
                form #answer method="post" action="/consent" {
                    input type="hidden" name=(CSRF_FIELD) value=(session.csrf);
                    input type="hidden" name="token" value=(token);
                    button.primary type="submit" name="answer" value="accept" id="accept" { "Accept" }
                    " "
                    button.danger type="submit" name="answer" value="decline" id="decline" { "Decline" }
                }
            } @else {
                p.notice { "You have answered: the nomination is " (invitation.state) "." }
            }
        };
        Ok::<_, Error>(Page::ok(Page::customer_frame("Consent request", body)))
    }
    .await;
    result.unwrap_or_else(|error| customer_problem(&Problem::of(&error)))
}

/// The consent form.
#[derive(Debug, Deserialize)]
pub(crate) struct AnswerForm {
    token: String,
    answer: String,
}

/// `POST /consent`: accepts or declines (R-CONSENT-5, -6, -8, -9).
pub(crate) async fn answer_consent(
    State(app): State<Arc<App>>,
    Form(form): Form<AnswerForm>,
) -> Response {
    let result = async {
        let token = token_of(&form.token)?;
        let n = if form.answer == "decline" {
            app.service.decline_consent(&token).await?
        } else {
            app.service.accept_consent(&token).await?
        };
        let body = html! {
            p #answered.notice { "Thank you. You " (if form.answer == "decline" { "declined" } else { "accepted" })
                ": " (n.friendly_name()) " is now " (n.state()) "." }
            p.muted { "You can close this page." }
        };
        Ok::<_, Error>(Page::ok(Page::customer_frame("Consent request", body)))
    }
    .await;
    result.unwrap_or_else(|error| customer_problem(&Problem::of(&error)))
}

/// `GET /survey/{token}`: the survey, with the form that completes it.
pub(crate) async fn survey_page(
    Extension(session): Extension<Session>,
    Path(token): Path<String>,
) -> Response {
    let result = token_of(&token).map(|token| {
        let body = html! {
            p { "Please tell us how the engagement went. (The demo's survey has no questions: completing it is enough.)" }
            form #survey method="post" action="/survey" {
                input type="hidden" name=(CSRF_FIELD) value=(session.csrf);
                input type="hidden" name="token" value=(token);
                button.primary type="submit" id="complete-survey" { "Complete the survey" }
            }
        };
        Page::ok(Page::customer_frame("Survey", body))
    });
    result.unwrap_or_else(|error| customer_problem(&Problem::of(&error)))
}

/// The survey form.
#[derive(Debug, Deserialize)]
pub(crate) struct SurveyForm {
    token: String,
}

/// `POST /survey`: completes the survey (R-CLAIM-W-3).
pub(crate) async fn complete_survey(
    State(app): State<Arc<App>>,
    Form(form): Form<SurveyForm>,
) -> Response {
    let result = async {
        let token = token_of(&form.token)?;
        let n = app.service.complete_survey(&token).await?;
        let body = html! {
            p #answered.notice { "Thank you: the survey about " (n.friendly_name()) " is complete." }
        };
        Ok::<_, Error>(Page::ok(Page::customer_frame("Survey", body)))
    }
    .await;
    result.unwrap_or_else(|error| customer_problem(&Problem::of(&error)))
}

/// The link a message carries, as a path of this site.
fn link(kind: &MessageKind, token: &LinkToken) -> String {
    match kind {
        MessageKind::Survey { .. } => format!("/survey/{token}"),
        _ => format!("/consent/{token}"),
    }
}

fn mail_list(ctx: &Ctx, mail: &[crate::state::Mail]) -> Markup {
    let _ = ctx;
    html! {
        @if mail.is_empty() {
            p.muted #empty { "No mail yet." }
        }
        @for m in mail {
            @let message = &m.delivery.message;
            article.mail data-message=(message.id) {
                div.to { "To " (message.to.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
                    " · queued " (when(message.queued_at)) " · delivered " (when(m.received)) }
                @let line = mci_examples::message_line(&m.delivery);
                @let to = message.to.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                p { (line.trim_start().strip_prefix(&format!("-> {to}: ")).unwrap_or(&line)) }
                @if let Some(token) = &m.delivery.token {
                    p { a.mail-link href=(link(&message.kind, token)) rel="noreferrer" { "Open the link" } }
                }
            }
        }
    }
}

/// `GET /mailbox`: the demo's delivery worker. It takes the pending
/// messages from the outbox, keeps them here, marks them delivered, and
/// shows every message delivered so far, newest first, with the links to
/// click.
pub(crate) async fn mailbox(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    uri: Uri,
) -> Response {
    let result = async {
        let ctx = ctx(&app, &session, &uri).await?;
        let mail = app.deliver().await?;
        let body = html! {
            p.muted { "Every email the program sends, to customers and partners alike. Opening this page delivers what is pending." }
            (mail_list(&ctx, &mail))
        };
        Ok::<_, Error>(Page::ok(Page::frame(&ctx, "Mailbox", body)))
    }
    .await;
    or_problem(&app, &session, "Mailbox", result).await
}
