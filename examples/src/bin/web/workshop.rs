//! The workshop claim of a nomination: its facts, consent actions, proof
//! by reference, surveys, comments, submit and dispute, and its history
//! (R-CLAIM-W, R-REC-1).

use crate::hygiene::{CSRF_FIELD, Session};
use crate::layout::{Ctx, Page, Problem, when};
use crate::partner::{action, capitalised, ctx, engagement_name, or_problem, user};
use crate::state::App;
use axum::extract::{Multipart, Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{Markup, html};
use mci_core::{
    Action, Comment, Contacts, ContactsUpdate, DocumentKind, DocumentRef, InvalidValue, MediaType,
    Need, Nomination, NominationId, Sha256Digest, SurveyKind, SurveyStatus,
};
use mci_engagements::{Error, SendConsent};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The workshop claim page of a nomination, with `problem` beside the
/// part it is about.
async fn nomination_page(
    app: &Arc<App>,
    session: &Session,
    ctx: &Ctx,
    id: &NominationId,
    problem: Option<&Problem>,
) -> Result<Response, Error> {
    let n = app.service.nomination(&user(session)?, id).await?;
    let title = format!(
        "{} · {}",
        n.friendly_name(),
        engagement_name(app, n.engagement())
    );
    let body = claim_body(ctx, &n, problem);
    Ok(Page::with_status(problem, Page::frame(ctx, &title, body)))
}

fn document_kinds() -> [DocumentKind; 2] {
    [DocumentKind::ProofOfExecution, DocumentKind::Invoice]
}

fn document_code(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::ProofOfExecution => "proof_of_execution",
        DocumentKind::Invoice => "invoice",
    }
}

fn survey_code(kind: SurveyKind) -> &'static str {
    match kind {
        SurveyKind::Partner => "partner",
        SurveyKind::Customer => "customer",
    }
}

/// The proof items, documents and surveys of a claim, as the partner and
/// the reviewer see them (R-CLAIM-W-2, -3).
pub(crate) fn proof_table(n: &Nomination) -> Markup {
    let claim = n.claim();
    html! {
        table #proof {
            thead { tr { th { "Proof item" } th { "Need" } th { "Status" } } }
            tbody {
                @for req in n.rules().proof() {
                    tr {
                        td { (capitalised(&req.item.to_string())) }
                        td { (match req.need { Need::Required => "required", Need::IfApplicable => "if applicable" }) }
                        td {
                            @for kind in document_kinds() {
                                @if kind.proof_item() == req.item {
                                    @match claim.documents.get(&kind) {
                                        Some(d) => { (document(d)) }
                                        None => { span.muted { "not attached" } }
                                    }
                                }
                            }
                            @for kind in [SurveyKind::Partner, SurveyKind::Customer] {
                                @if kind.proof_item() == req.item {
                                    @let survey = claim.survey(kind);
                                    span.badge.survey data-survey=(survey_code(kind)) { (match survey.status { SurveyStatus::NotSent => "not sent", SurveyStatus::Sent => "sent", SurveyStatus::Completed => "completed" }) }
                                    @if let Some(at) = survey.completed_at.or(survey.sent_at) { " " span.muted { (when(at)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A document reference: name, type, size and SHA-256; never the bytes.
fn document(d: &DocumentRef) -> Markup {
    html! {
        span.document {
            strong { (d.name()) } " · " (d.media_type()) " · " (d.size_bytes()) " bytes"
            br; span.mono { "SHA-256 " (d.sha256()) }
        }
    }
}

/// The comments of a claim (R-CLAIM-W-5).
pub(crate) fn comments(n: &Nomination) -> Markup {
    html! {
        @if n.claim().comments.is_empty() {
            p.muted { "No comments yet." }
        } @else {
            ul #comments {
                @for c in &n.claim().comments {
                    li { span.muted { (when(c.at)) " · " (c.by) ": " } (c.text) }
                }
            }
        }
    }
}

/// The facts of a nomination.
pub(crate) fn facts(n: &Nomination, now: mci_core::Instant) -> Markup {
    html! {
        dl.facts {
            dt { "State" } dd #state { (n.state()) }
            dt { "Customer" } dd.mono { (n.customer().id()) }
            dt { "Customer email" } dd { (n.customer().email()) }
            @if let Some(reason) = n.customer().mismatch_reason() { dt { "Mismatch reason" } dd { (reason) } }
            dt { "Location" } dd { (n.location()) }
            dt { "Created" } dd { (when(n.created_at())) }
            @if let Some(at) = n.consented_at() { dt { "Consented" } dd { (when(at)) } }
            @if let Some(d) = n.deadline() {
                dt { "Deadline" } dd #deadline { (d.kind) " " (when(d.at)) ", " (d.days_left(now)) " days left" }
            }
            @if let Some(payout) = n.claim().payout.or(n.proposed_payout()) { dt { "Payout" } dd { (payout) } }
            @if let Some(reason) = &n.claim().rejection_reason { dt { "Rejected because" } dd { (reason) } }
            @if let Some(batch) = &n.claim().paid_in { dt { "Paid in batch" } dd.mono { (batch) } }
            dt { "Version" } dd { (n.version()) }
        }
    }
}

fn claim_body(ctx: &Ctx, n: &Nomination, problem: Option<&Problem>) -> Markup {
    let id = n.id();
    let actions = n.actions(ctx.now);
    let open = n.consented_at().is_some() && !n.state().is_terminal();
    let back = format!("/nominations/{id}");
    let placed = [
        "submit",
        "comment",
        "dispute",
        "document",
        "survey",
        "name",
        "media_type",
        "size_bytes",
        "contacts",
    ];
    html! {
        (Problem::unplaced(problem, &placed))
        (facts(n, ctx.now))
        div.actions {
            @for a in &actions {
                @match a {
                    Action::SendConsentEmail | Action::ResendConsentEmail | Action::Cancel => { (action(ctx, id, *a, &back)) }
                    _ => {}
                }
            }
            a href={ "/nominations/" (id) "/history" } { "History" }
            a href={ "/engagements/" (n.engagement()) } { "Customers page" }
        }
        h2 { "Contacts" }
        table {
            tr { th { "Customer" } td { @for c in n.customer_contacts().as_slice() { (c.name) " <" (c.email) "> " } } }
            tr { th { "Partner" } td { @for c in n.partner_contacts().as_slice() { (c.name) " <" (c.email) "> " } } }
        }
        @if !n.state().is_terminal() {
            form #contacts method="post" action={ "/nominations/" (id) "/contacts" } {
                (ctx.csrf())
                p.muted { "A new customer contact voids the links sent so far; a new partner contact, the partner survey's (R-CONSENT-4, R-CLAIM-W-4). Leave a side empty to keep it." }
                div.field {
                    label for="customer_name" { "Customer contact" }
                    input type="text" id="customer_name" name="customer_name";
                    label for="customer_email" { "Customer email" }
                    input type="email" id="customer_email" name="customer_email";
                }
                div.field {
                    label for="partner_name" { "Partner contact" }
                    input type="text" id="partner_name" name="partner_name";
                    label for="partner_email" { "Partner email" }
                    input type="email" id="partner_email" name="partner_email";
                }
                (Problem::at(problem, "contacts"))
                button type="submit" { "Update contacts" }
            }
        }
        @if n.consented_at().is_some() {
            h2 { "Workshop claim" }
            (proof_table(n))
            @if open {
                h2 { "Attach a document" }
                p.muted { "The page keeps the file's name, type, size and SHA-256; the file itself is not stored." }
                form #upload method="post" enctype="multipart/form-data" action={ "/nominations/" (id) "/documents?" (CSRF_FIELD) "=" (ctx.session.csrf) } {
                    div.field {
                        label for="kind" { "Document" }
                        select id="kind" name="kind" {
                            @for kind in document_kinds() { option value=(document_code(kind)) { (capitalised(&kind.to_string())) } }
                        }
                    }
                    div.field {
                        label for="file" { "File" }
                        input type="file" id="file" name="file";
                    }
                    @for f in ["document", "name", "media_type", "size_bytes"] { (Problem::at(problem, f)) }
                    button type="submit" { "Attach" }
                }
                h2 { "Surveys" }
                div.actions {
                    @for kind in [SurveyKind::Partner, SurveyKind::Customer] {
                        form.inline method="post" action={ "/nominations/" (id) "/survey" } {
                            (ctx.csrf())
                            input type="hidden" name="survey" value=(survey_code(kind));
                            button type="submit" id={ "send-" (survey_code(kind)) "-survey" } {
                                (if n.claim().survey(kind).status == SurveyStatus::NotSent { "Send " } else { "Re-send " }) (kind)
                            }
                        }
                    }
                }
                (Problem::at(problem, "survey"))
            }
            h2 { "Comments for the reviewer" }
            (comments(n))
            @if !n.state().is_terminal() {
                form #comment method="post" action={ "/nominations/" (id) "/comment" } {
                    (ctx.csrf())
                    div.field {
                        label for="text" { "Comment" }
                        textarea id="text" name="text" {}
                        (Problem::at(problem, "comment"))
                    }
                    button type="submit" { "Add comment" }
                }
            }
            @if actions.contains(&Action::SubmitWorkshopClaim) || actions.contains(&Action::AnswerReviewer) {
                h2 { "Submit" }
                form #submit method="post" action={ "/nominations/" (id) "/submit" } {
                    (ctx.csrf())
                    (Problem::at(problem, "submit"))
                    button.primary type="submit" { (if actions.contains(&Action::AnswerReviewer) { "Resubmit to the reviewer" } else { "Submit workshop claim" }) }
                }
            }
            @if actions.contains(&Action::Dispute) {
                h2 { "Dispute the rejection" }
                form #dispute method="post" action={ "/nominations/" (id) "/dispute" } {
                    (ctx.csrf())
                    div.field {
                        label for="reason" { "Why" }
                        textarea id="reason" name="text" {}
                        (Problem::at(problem, "dispute"))
                    }
                    button type="submit" { "Dispute" }
                }
            }
        }
    }
}

/// `GET /nominations/{id}`: the workshop claim page.
pub(crate) async fn nomination(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let result = async {
        let ctx = ctx(&app, &session, &uri).await?;
        let id: NominationId = id.parse()?;
        nomination_page(&app, &session, &ctx, &id, None).await
    }
    .await;
    or_problem(&app, &session, "Nomination", result).await
}

/// `GET /nominations/{id}/history`: its events, in order (R-REC-1).
pub(crate) async fn history(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let result = async {
        let ctx = ctx(&app, &session, &uri).await?;
        let id: NominationId = id.parse()?;
        let n = app.service.nomination(&user(&session)?, &id).await?;
        let events = app.service.history(&user(&session)?, &id).await?;
        let body = html! {
            p { a href={ "/nominations/" (id) } { "← " (n.friendly_name()) } }
            table #history {
                thead { tr { th { "#" } th { "When" } th { "What" } th { "Who" } th { "State" } } }
                tbody {
                    @for e in &events {
                        tr {
                            td.num { (e.version) }
                            td.when { (when(e.at)) }
                            td { (e.kind) }
                            td { (e.actor) }
                            td { @match e.from { Some(from) => { (from) " → " } None => { "new → " } } (e.to) }
                        }
                    }
                }
            }
        };
        Ok(Page::ok(Page::frame(&ctx, &format!("History: {}", n.friendly_name()), body)))
    }
    .await;
    or_problem(&app, &session, "History", result).await
}

/// The fields a partner command may carry.
#[derive(Debug, Deserialize)]
pub(crate) struct CommandForm {
    text: Option<String>,
    survey: Option<String>,
    back: Option<String>,
    customer_name: Option<String>,
    customer_email: Option<String>,
    partner_name: Option<String>,
    partner_email: Option<String>,
}

/// One side's contact from the contacts form: none when both fields are
/// empty, refused under `contacts` when only one is given or either is
/// invalid.
fn contact_of(name: Option<&str>, email: Option<&str>) -> Result<Option<Contacts>, Error> {
    let (name, email) = (name.unwrap_or("").trim(), email.unwrap_or("").trim());
    if name.is_empty() && email.is_empty() {
        return Ok(None);
    }
    let field = |e: InvalidValue| e.for_field("contacts");
    Ok(Some(Contacts::one(
        name.parse().map_err(field)?,
        email.parse().map_err(field)?,
    )))
}

/// `POST /nominations/{id}/{command}`: a partner command through the
/// service; a refusal shows on the claim page beside its part and changes
/// nothing.
pub(crate) async fn command(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path((id, command)): Path<(String, String)>,
    uri: Uri,
    Form(form): Form<CommandForm>,
) -> Response {
    let result = async {
        let id: NominationId = id.parse()?;
        let ctx = Ctx {
            path: format!("/nominations/{id}"),
            ..ctx(&app, &session, &uri).await?
        };
        let user = user(&session)?;
        let text = |field: &str| -> Result<Comment, Error> {
            Ok(form
                .text
                .as_deref()
                .unwrap_or("")
                .trim()
                .parse::<Comment>()
                .map_err(|e| e.for_field(field))?)
        };
        let done = match command.as_str() {
            "send-consent" => {
                app.service
                    .send_consent(&user, &id, SendConsent::default())
                    .await
            }
            "resend-consent" => app.service.resend_consent(&user, &id).await,
            "cancel" => app.service.cancel(&user, &id).await,
            "submit" => app.service.submit(&user, &id).await,
            "contacts" => {
                let update = contact_of(
                    form.customer_name.as_deref(),
                    form.customer_email.as_deref(),
                )
                .and_then(|customer| {
                    Ok(ContactsUpdate {
                        customer,
                        partner: contact_of(
                            form.partner_name.as_deref(),
                            form.partner_email.as_deref(),
                        )?,
                    })
                });
                match update {
                    Ok(update) => app.service.update_contacts(&user, &id, update).await,
                    Err(e) => Err(e),
                }
            }
            "comment" => match text("comment") {
                Ok(text) => app.service.add_comment(&user, &id, text).await,
                Err(e) => Err(e),
            },
            "dispute" => match text("dispute") {
                Ok(text) => app.service.dispute(&user, &id, text).await,
                Err(e) => Err(e),
            },
            "survey" => {
                let kind = match form.survey.as_deref() {
                    Some("partner") => SurveyKind::Partner,
                    _ => SurveyKind::Customer,
                };
                app.service.send_survey(&user, &id, kind).await
            }
            _ => Err(Error::Refused(mci_core::Refusal::NotFound)),
        };
        match done {
            Ok(_) => {
                let back = match form.back.as_deref() {
                    Some(back) if back.starts_with('/') && !back.starts_with("//") => {
                        back.to_owned()
                    }
                    _ => format!("/nominations/{id}"),
                };
                Ok(Redirect::to(&back).into_response())
            }
            Err(error) => {
                let mut problem = Problem::of(&error);
                if problem.field.is_none() && matches!(command.as_str(), "submit" | "survey") {
                    problem.field = Some(command.clone());
                }
                nomination_page(&app, &session, &ctx, &id, Some(&problem)).await
            }
        }
    }
    .await;
    or_problem(&app, &session, "Nomination", result).await
}

/// `POST /nominations/{id}/documents`: attaches a proof document by
/// reference (R-CLAIM-W-2). The upload is read through once for its size
/// and SHA-256; its bytes are dropped as they arrive, never stored.
pub(crate) async fn attach_document(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    uri: Uri,
    mut multipart: Multipart,
) -> Response {
    let result = async {
        let id: NominationId = id.parse()?;
        let ctx = Ctx {
            path: format!("/nominations/{id}"),
            ..ctx(&app, &session, &uri).await?
        };
        let mut kind = None;
        let mut reference = None;
        let upload = async {
            while let Some(mut field) = multipart
                .next_field()
                .await
                .map_err(|e| invalid("document", &e.to_string()))?
            {
                match field.name() {
                    Some("kind") => {
                        let text = field
                            .text()
                            .await
                            .map_err(|e| invalid("document", &e.to_string()))?;
                        kind = Some(match text.as_str() {
                            "invoice" => DocumentKind::Invoice,
                            _ => DocumentKind::ProofOfExecution,
                        });
                    }
                    Some("file") => {
                        let name = field.file_name().unwrap_or("").to_owned();
                        // The browser's type, else the one the extension
                        // names, as the command-line tool takes it.
                        let media = field
                            .content_type()
                            .filter(|c| !c.is_empty() && *c != "application/octet-stream")
                            .unwrap_or_else(|| {
                                mci_examples::media_type_of(std::path::Path::new(&name))
                            })
                            .to_owned();
                        let mut hash = Sha256::new();
                        let mut size: u64 = 0;
                        while let Some(chunk) = field
                            .chunk()
                            .await
                            .map_err(|e| invalid("document", &e.to_string()))?
                        {
                            hash.update(&chunk);
                            size += u64::try_from(chunk.len()).unwrap_or(u64::MAX);
                        }
                        if name.is_empty() {
                            return Err(invalid("document", "choose a file to attach"));
                        }
                        let name: mci_core::DocumentName = name
                            .parse()
                            .map_err(|e: InvalidValue| e.for_field("name"))?;
                        let media: MediaType = media
                            .parse()
                            .map_err(|e: InvalidValue| e.for_field("media_type"))?;
                        let digest = Sha256Digest::from_bytes(hash.finalize().into());
                        reference = Some(DocumentRef::new(name, media, size, digest)?);
                    }
                    _ => {}
                }
            }
            let Some(reference) = reference.take() else {
                return Err(invalid("document", "choose a file to attach"));
            };
            app.service
                .attach_document(
                    &user(&session)?,
                    &id,
                    kind.unwrap_or(DocumentKind::ProofOfExecution),
                    reference,
                )
                .await
        }
        .await;
        match upload {
            Ok(_) => Ok(Redirect::to(&format!("/nominations/{id}")).into_response()),
            Err(error) => {
                let mut problem = Problem::of(&error);
                if problem.field.is_none() {
                    problem.field = Some(String::from("document"));
                }
                nomination_page(&app, &session, &ctx, &id, Some(&problem)).await
            }
        }
    }
    .await;
    or_problem(&app, &session, "Attach a document", result).await
}

/// A refused upload: the form field and what is wrong (R-CLAIM-W-2).
fn invalid(field: &str, why: &str) -> Error {
    InvalidValue::under(
        "R-CLAIM-W-2",
        field,
        mci_core::Problem::Syntax(why.to_owned()),
    )
    .into()
}
