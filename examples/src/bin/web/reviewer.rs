//! The reviewer's pages: the queue, a claim with its proof, the decision,
//! and the payout runs with their batches (R-CLAIM-W-7..9).

use crate::hygiene::Session;
use crate::layout::{Page, Problem, when};
use crate::partner::{ctx, or_problem};
use crate::state::App;
use crate::workshop::{comments, facts, proof_table};
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::html;
use mci_core::{
    Comment, InvalidValue, NominationId, PayoutBatchId, Sha256Digest, State as NominationState,
};
use mci_engagements::Error;
use serde::Deserialize;
use std::sync::Arc;

/// `GET /review`: the claims waiting for the reviewer.
pub(crate) async fn queue(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    uri: Uri,
) -> Response {
    let result = async {
        let ctx = ctx(&app, &session, &uri).await?;
        let page = app.service.review_queue(None, 100).await?;
        let body = html! {
            @if page.rows.is_empty() {
                p.muted #empty { "No claim waits for review." }
            } @else {
                table #queue {
                    thead { tr { th { "Claim" } th { "Partner" } th { "Engagement" } th { "State" } th { "Submitted" } } }
                    tbody {
                        @for n in &page.rows {
                            tr {
                                td { a href={ "/review/" (n.id()) } { (n.friendly_name()) } }
                                td { (n.partner()) }
                                td { (n.engagement()) }
                                td { (n.state()) }
                                td { @if let Some(at) = n.claim().submitted_at { (when(at)) } }
                            }
                        }
                    }
                }
            }
        };
        Ok::<_, Error>(Page::ok(Page::frame(&ctx, "Review queue", body)))
    }
    .await;
    or_problem(&app, &session, "Review queue", result).await
}

async fn claim_page(
    app: &Arc<App>,
    session: &Session,
    uri: &Uri,
    id: &NominationId,
    problem: Option<&Problem>,
) -> Result<Response, Error> {
    let ctx = crate::layout::Ctx {
        path: format!("/review/{id}"),
        ..ctx(app, session, uri).await?
    };
    let n = app.service.claim_for_review(id).await?;
    let state = n.state();
    // Every decision cites the head the reviewer sees on this page: a claim
    // changed since is refused, not decided on (R-LIST-4).
    let head = n.head();
    let decision = |name: &str, label: &str, class: &'static str, reason: bool| {
        html! {
            form method="post" action={ "/review/" (id) "/" (name) } {
                (ctx.csrf())
                @if let Some(head) = head {
                    input type="hidden" name="seen" value=(head.hash);
                }
                @if reason {
                    div.field {
                        label for={ (name) "-text" } { (if name == "reject" { "Reason" } else { "What is needed" }) }
                        textarea id={ (name) "-text" } name="text" {}
                        (Problem::at(problem, name))
                    }
                }
                button type="submit" class=(class) id=(name) { (label) }
            }
        }
    };
    let body = html! {
        (Problem::unplaced(problem, &["reject", "ask"]))
        p { "Partner " strong { (n.partner()) } " · engagement " (n.engagement()) }
        (facts(&n, ctx.now))
        h2 { "Proof of execution" }
        (proof_table(&n))
        h2 { "Comments" }
        (comments(&n))
        h2 { "Decision" }
        @if let Some(head) = head {
            p.muted #head { "You are deciding on version " (head.version) " of this claim's history, last event " span.mono title=(head.hash) { (head.hash) } "." }
        }
        @match state {
            NominationState::Submitted | NominationState::Disputed => { (decision("start", "Start review", "primary", false)) }
            NominationState::UnderReview => {
                div.actions { (decision("approve", "Approve", "primary", false)) }
                (decision("reject", "Reject", "danger", true))
                (decision("ask", "Ask the partner for more", "", true))
            }
            other => { p.muted { "The claim is " (other) "; nothing to decide." } }
        }
        p { a href="/review" { "← Review queue" } }
    };
    let title = format!("Claim: {}", n.friendly_name());
    Ok(Page::with_status(problem, Page::frame(&ctx, &title, body)))
}

/// `GET /review/{id}`: a claim with its proof.
pub(crate) async fn claim(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let result = async {
        let id: NominationId = id.parse()?;
        claim_page(&app, &session, &uri, &id, None).await
    }
    .await;
    or_problem(&app, &session, "Claim", result).await
}

/// A decision's text, and the head of the claim the page showed.
#[derive(Debug, Deserialize)]
pub(crate) struct DecisionForm {
    text: Option<String>,
    /// The hash of the claim's last event as the page showed it (R-LIST-4).
    seen: Option<String>,
}

/// `POST /review/{id}/{decision}`: start, approve, reject or ask.
pub(crate) async fn decide(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path((id, decision)): Path<(String, String)>,
    uri: Uri,
    Form(form): Form<DecisionForm>,
) -> Response {
    let result = async {
        let id: NominationId = id.parse()?;
        let reviewer = mci_examples::reviewer()?;
        let text = || -> Result<Comment, Error> {
            Ok(form
                .text
                .as_deref()
                .unwrap_or("")
                .trim()
                .parse()
                .map_err(|e: InvalidValue| e.for_field(decision.as_str()))?)
        };
        let seen = form
            .seen
            .as_deref()
            .unwrap_or("")
            .parse::<Sha256Digest>()
            .map_err(|e| e.for_field("seen"));
        let known = ["start", "approve", "reject", "ask"].contains(&decision.as_str());
        let done = match (decision.as_str(), seen) {
            (_, Err(e)) if known => Err(e.into()),
            ("start", Ok(seen)) => app.service.start_review(&reviewer, &id, seen).await,
            ("approve", Ok(seen)) => app.service.approve(&reviewer, &id, seen).await,
            ("reject", Ok(seen)) => match text() {
                Ok(t) => app.service.reject(&reviewer, &id, seen, t).await,
                Err(e) => Err(e),
            },
            ("ask", Ok(seen)) => match text() {
                Ok(t) => {
                    app.service
                        .request_partner_action(&reviewer, &id, seen, t)
                        .await
                }
                Err(e) => Err(e),
            },
            _ => Err(Error::Refused(mci_core::Refusal::NotFound)),
        };
        match done {
            Ok(_) => Ok(Redirect::to(&format!("/review/{id}")).into_response()),
            Err(error) => claim_page(&app, &session, &uri, &id, Some(&Problem::of(&error))).await,
        }
    }
    .await;
    or_problem(&app, &session, "Claim", result).await
}

/// How many payout batches a page of `/payouts` shows.
const BATCHES_PER_PAGE: usize = 20;

/// The query of `GET /payouts`: the batch the page starts after.
#[derive(Debug, Deserialize)]
pub(crate) struct PayoutsQuery {
    after: Option<String>,
}

/// `GET /payouts`: the payout runs and their batches, as the store lists
/// them: in id order, by keyset pages (R-CLAIM-W-9).
pub(crate) async fn payouts(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Query(query): Query<PayoutsQuery>,
    uri: Uri,
) -> Response {
    let result = async {
        let ctx = ctx(&app, &session, &uri).await?;
        let after = query
            .after
            .as_deref()
            .map(|text| {
                text.parse::<PayoutBatchId>()
                    .map_err(|e| e.for_field("after"))
            })
            .transpose()?;
        // One more than shown, to know whether a next page exists.
        let mut batches = app
            .service
            .payout_batches(after.as_ref(), BATCHES_PER_PAGE + 1)
            .await?;
        let next = (batches.len() > BATCHES_PER_PAGE).then(|| {
            batches.truncate(BATCHES_PER_PAGE);
            batches.last().map(|b| b.id)
        });
        let body = html! {
            form #run-payout method="post" action="/payouts" {
                (ctx.csrf())
                button.primary type="submit" { "Run the payout" }
                span.muted { " Collects every approved, unpaid claim into one immutable batch." }
            }
            @if batches.is_empty() {
                p.muted #no-batches { "No payout has been run yet." }
            }
            @for batch in &batches {
                section.batch {
                    h2 { "Batch " span.mono { (batch.id) } }
                    p.muted { "Cycle " (batch.cycle.number) " (" (when(batch.cycle.starts)) " – " (when(batch.cycle.ends)) "), run " (when(batch.created_at)) }
                    @if batch.entries.is_empty() {
                        p.muted { "Nothing was approved and unpaid." }
                    } @else {
                        table.entries {
                            thead { tr { th { "Claim" } th { "Amount" } th { "Kind" } } }
                            tbody {
                                @for e in &batch.entries {
                                    tr {
                                        td { a.mono href={ "/review/" (e.nomination) } { (e.nomination) } }
                                        td.num { (e.amount) }
                                        td { (match e.kind { mci_core::EntryKind::Payment => "payment", mci_core::EntryKind::Reversal { .. } => "reversal" }) }
                                    }
                                }
                            }
                        }
                        @if let Some(totals) = batch.totals() {
                            p { "Total: " @for (i, total) in totals.values().enumerate() { @if i > 0 { ", " } strong { (total) } } }
                        }
                    }
                }
            }
            @if let Some(Some(last)) = next {
                p { a #next-batches href={ "/payouts?after=" (last) } { "Next batches →" } }
            }
        };
        Ok::<_, Error>(Page::ok(Page::frame(&ctx, "Payouts", body)))
    }
    .await;
    or_problem(&app, &session, "Payouts", result).await
}

/// `POST /payouts`: runs a payout batch (R-CLAIM-W-9).
pub(crate) async fn run_payout(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
) -> Response {
    let run = async {
        let reviewer = mci_examples::reviewer()?;
        let run = app.service.run_payout(&reviewer, 1000).await?;
        Ok::<_, Error>(run)
    }
    .await;
    match run {
        Ok(_) => Redirect::to("/payouts").into_response(),
        Err(error) => Page::problem(&app, &session, "Payouts", Problem::of(&error)).await,
    }
}
