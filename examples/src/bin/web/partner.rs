//! The partner's pages: the engagements overview, each engagement's
//! Customers page, and claiming a known customer (R-ENG-7, R-PAGE,
//! R-CLAIM). The wizard is in `add`, the workshop claim in `workshop`.

use crate::hygiene::{Session, percent_encode};
use crate::layout::{Ctx, Page, Problem, text_field, when};
use crate::state::App;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum::{Extension, Form};
use maud::{Markup, html};
use mci_core::{
    Action, Availability, EngagementId, InvalidValue, NominationId, PartnerUser, RowType, Tab,
};
use mci_engagements::{ClaimCustomer, CustomerRow, Due, Error, OverviewFilter, PageCursor};
use serde::Deserialize;
use std::sync::Arc;

/// Rows on one page of a tab, unless the link asks for another number.
const PAGE_SIZE: usize = 10;
/// The most rows a link may ask for on one page.
const MAX_PAGE_SIZE: usize = 50;

/// The frame of a partner page at `uri`.
pub(crate) async fn ctx(app: &App, session: &Session, uri: &Uri) -> Result<Ctx, Error> {
    Ok(Ctx {
        session: session.clone(),
        now: app.now()?,
        path: uri
            .path_and_query()
            .map_or_else(|| String::from("/"), ToString::to_string),
        // The header's count (R-LIST-3); a page still shows without it.
        attention: match app
            .service
            .attention(&user(session)?, HEADER_ATTENTION)
            .await
        {
            Ok(list) => Some((list.entries.len(), list.more)),
            Err(_) => None,
        },
        added: crate::layout::added_warnings(app, session),
    })
}

/// The most entries the header counts and the attention page lists
/// (R-LIST-3).
const HEADER_ATTENTION: usize = 50;

/// `GET /attention`: what needs the partner now, soonest deadline first,
/// each with its deadline and action (R-LIST-3).
pub(crate) async fn attention(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    uri: Uri,
) -> Response {
    let result = async {
        let ctx = ctx(&app, &session, &uri).await?;
        let list = app.service.attention(&user(&session)?, HEADER_ATTENTION).await?;
        let body = html! {
            @if list.entries.is_empty() {
                p.muted #nothing { "Nothing needs your attention now." }
            } @else {
                table #attention-list {
                    thead { tr { th { "Customer" } th { "Engagement" } th { "Why" } th { "Deadline" } th { "Action" } } }
                    tbody {
                        @for e in &list.entries {
                            tr {
                                td { a href={ "/nominations/" (e.nomination) } { (e.friendly_name) } }
                                td { (engagement_name(&app, &e.engagement)) }
                                td { (e.reason) }
                                td.when { (crate::layout::when(e.deadline.at)) ", " (e.deadline.days_left(ctx.now)) " days left" }
                                // As the Customers page offers it (R-PAGE-8).
                                td { (action(&ctx, &e.nomination, e.action, &ctx.path)) }
                            }
                        }
                    }
                }
                @if list.more {
                    p.muted { "More need attention than the " (HEADER_ATTENTION) " shown." }
                }
            }
            @if !list.unreadable.is_empty() {
                p.refusal { (list.unreadable.len()) " nominations cannot be read back and need an operator." }
            }
        };
        Ok::<_, Error>(Page::ok(Page::frame(&ctx, "Attention required", body)))
    }
    .await;
    or_problem(&app, &session, "Attention required", result).await
}

/// The partner admin the demo acts as.
pub(crate) fn user(session: &Session) -> Result<PartnerUser, Error> {
    Ok(mci_examples::admin(&session.partner)?)
}

/// A page of the service's answer, or the page of its refusal.
pub(crate) async fn or_problem(
    app: &Arc<App>,
    session: &Session,
    title: &str,
    result: Result<Response, Error>,
) -> Response {
    match result {
        Ok(response) => response,
        Err(error) => Page::problem(app, session, title, Problem::of(&error)).await,
    }
}

/// The name of an engagement, or its id when it is not in the catalogue.
pub(crate) fn engagement_name(app: &App, id: &EngagementId) -> String {
    app.service
        .engagement(id)
        .map_or_else(|_| id.to_string(), |e| e.name().to_string())
}

/// Filters of the overview, from its form.
#[derive(Debug, Deserialize)]
pub(crate) struct OverviewQuery {
    location: Option<String>,
    availability: Option<String>,
}

fn availability_of(text: &str) -> Option<Availability> {
    match text {
        "coming-soon" => Some(Availability::ComingSoon),
        "active" => Some(Availability::Active),
        "expired" => Some(Availability::Expired),
        _ => None,
    }
}

/// `GET /`: the engagements overview and what needs action (R-ENG-7).
pub(crate) async fn overview(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Query(query): Query<OverviewQuery>,
    uri: Uri,
) -> Response {
    let result = async {
        let ctx = ctx(&app, &session, &uri).await?;
        let filter = OverviewFilter {
            location: match query.location.as_deref() {
                None | Some("") => None,
                Some(l) => Some(l.parse().map_err(|e: InvalidValue| e.for_field("location"))?),
            },
            availability: query.availability.as_deref().and_then(availability_of),
            solution_area: None,
        };
        let overview = app.service.overview(&user(&session)?, &filter).await?;
        let partner = &session.partner;
        let body = html! {
            form.filters method="get" action="/" {
                label for="location" { "Location " }
                select id="location" name="location" {
                    option value="" { "all locations" }
                    @for l in [&partner.location, &partner.unenrolled] {
                        option value=(l) selected[filter.location.as_ref() == Some(l)] { (l) }
                    }
                }
                " "
                label for="availability" { "Availability " }
                select id="availability" name="availability" {
                    option value="" { "any" }
                    @for (v, name) in [("active", "active"), ("coming-soon", "coming soon"), ("expired", "expired")] {
                        option value=(v) selected[query.availability.as_deref() == Some(v)] { (name) }
                    }
                }
                " " button type="submit" { "Filter" }
            }
            table #engagements {
                thead { tr { th { "Solution area" } th { "Engagement" } th { "Availability" } th { "Eligible locations" } th { "Active customers" } } }
                tbody {
                    @for e in &overview.engagements {
                        tr {
                            td { (e.solution_area) }
                            td { a href={ "/engagements/" (e.engagement) } { (e.name) } br; span.muted.mono { (e.engagement) } }
                            td { span.badge { (e.availability) } }
                            td.num { (e.eligible_locations) " of " (e.enrolled_locations) }
                            td.num { (e.active_customers) }
                        }
                    }
                }
            }
            h2 { "Action needed" }
            @if overview.action_needed.is_empty() {
                p.muted #action-needed { "Nothing is due." }
            } @else {
                table #action-needed {
                    thead { tr { th { "Customer" } th { "Engagement" } th { "What is due" } } }
                    tbody {
                        @for a in &overview.action_needed {
                            tr {
                                td { a href={ "/nominations/" (a.nomination) } { (a.friendly_name) } }
                                td { (engagement_name(&app, &a.engagement)) }
                                td { (match a.due {
                                    Due::ConsentLapsing(d) => format!("consent lapses {} ({} days left)", when(d.at), d.days_left(ctx.now)),
                                    Due::ClaimLapsing(d) => format!("{} deadline {} ({} days left)", d.kind, when(d.at), d.days_left(ctx.now)),
                                    Due::ReviewerWaiting => String::from("the reviewer asked for more information"),
                                }) }
                            }
                        }
                    }
                }
            }
            p { a href="/add" { "Add a customer" } }
        };
        Ok(Page::ok(Page::frame(&ctx, "Engagements", body)))
    }
    .await;
    or_problem(&app, &session, "Engagements", result).await
}

/// Which tab and page of the Customers page.
#[derive(Debug, Deserialize)]
pub(crate) struct CustomersQuery {
    tab: Option<String>,
    after: Option<String>,
    limit: Option<usize>,
}

fn tab_of(text: Option<&str>) -> Tab {
    match text {
        Some("ineligible") => Tab::Ineligible,
        Some("complete") => Tab::Complete,
        _ => Tab::Eligible,
    }
}

fn tab_code(tab: Tab) -> &'static str {
    match tab {
        Tab::Eligible => "eligible",
        Tab::Ineligible => "ineligible",
        Tab::Complete => "complete",
    }
}

/// The cursor a link carries: the service's opaque, URL-safe string; a
/// malformed one is refused under the link's parameter, `after`.
fn cursor_of(text: &str) -> Result<PageCursor, InvalidValue> {
    text.parse::<PageCursor>().map_err(|e| e.for_field("after"))
}

/// A partner command on a nomination, as a one-button form.
pub(crate) fn command_button(
    ctx: &Ctx,
    id: &NominationId,
    command: &str,
    label: &str,
    back: &str,
) -> Markup {
    html! {
        form.inline method="post" action={ "/nominations/" (id) "/" (command) } {
            (ctx.csrf())
            input type="hidden" name="back" value=(back);
            button type="submit" class=[(command == "cancel").then_some("danger")] { (label) }
        }
    }
}

/// What a row's action offers: a button for what the page can do at once,
/// a link for what needs its own page (R-PAGE-8).
pub(crate) fn action(ctx: &Ctx, id: &NominationId, action: Action, back: &str) -> Markup {
    match action {
        Action::SendConsentEmail => {
            command_button(ctx, id, "send-consent", "Send consent email", back)
        }
        Action::ResendConsentEmail => {
            command_button(ctx, id, "resend-consent", "Re-send consent email", back)
        }
        Action::Cancel => command_button(ctx, id, "cancel", "Cancel", back),
        other => html! { a href={ "/nominations/" (id) } { (capitalised(&other.to_string())) } },
    }
}

pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// `GET /engagements/{id}`: one tab of the Customers page (R-PAGE).
pub(crate) async fn customers(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path(engagement): Path<String>,
    Query(query): Query<CustomersQuery>,
    uri: Uri,
) -> Response {
    let result = async {
        let ctx = ctx(&app, &session, &uri).await?;
        let engagement: EngagementId = engagement.parse()?;
        let details = app.service.engagement(&engagement)?;
        let tab = tab_of(query.tab.as_deref());
        let cursor = query.after.as_deref().map(cursor_of).transpose()?;
        let limit = query.limit.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        let page = app
            .service
            .customers_page(&user(&session)?, &engagement, tab, cursor, limit)
            .await?;
        let back = ctx.path.clone();
        let counts = [
            (Tab::Eligible, page.counts.eligible),
            (Tab::Ineligible, page.counts.ineligible),
            (Tab::Complete, page.counts.complete),
        ];
        let body = html! {
            p.muted { (details.solution_area()) " · " (details.rules().kind()) " · " (details.availability(ctx.now)) }
            nav.tabs {
                @for (t, count) in counts {
                    a href={ "/engagements/" (engagement) "?tab=" (tab_code(t)) } class=[(t == tab).then_some("current")] id={ "tab-" (tab_code(t)) } {
                        (capitalised(&t.to_string())) span.count { (count) }
                    }
                }
            }
            @if page.counts.not_checked > 0 {
                p.notice { (page.counts.not_checked) " known customers: eligibility not checked yet." }
            }
            @if let Some(since) = page.answers_since {
                p.muted { "Eligibility answers as of " (when(since)) "." }
            }
            @if page.rows.is_empty() {
                p.muted #no-rows { "No customers on this tab." }
            } @else {
                table #customers {
                    thead { tr { th { "Name" } th { "Customer" } th { "Type" } th { "Status" } th { "Days left" } th { "Actions" } } }
                    tbody {
                        @for row in &page.rows {
                            @match row {
                                CustomerRow::Nomination(r) => {
                                    tr data-nomination=(r.nomination) {
                                        td { a href={ "/nominations/" (r.nomination) } { (r.friendly_name) } }
                                        td.mono { (r.customer) }
                                        td { span.badge class=(match r.row_type { RowType::Active => "active", RowType::NotStarted => "not-started" }) { (r.row_type) } }
                                        td { (r.status.state) @if let Some(reason) = &r.reason { ": " strong.reason { (reason) } } }
                                        td.num.days {
                                            @match (r.status.days_left, r.status.deadline) {
                                                // Lost to another partner: it only ends (R-CONSENT-10).
                                                (Some(days), Some(_)) if r.reason.is_some() => { "ends in " (days) " days" }
                                                (Some(days), Some(kind)) => { (days) " days " span.muted { (kind) } }
                                                _ => { "–" }
                                            }
                                        }
                                        td { div.actions { @for a in &r.actions { (action(&ctx, &r.nomination, *a, &back)) } } }
                                    }
                                }
                                CustomerRow::Known(k) => {
                                    tr.known {
                                        td { "Known: " (k.known.customer.email().domain().to_unicode()) }
                                        td.mono { (k.known.customer.id()) }
                                        td { "–" }
                                        td {
                                            @if !k.checked { "eligibility not checked yet" }
                                            @else if k.reasons.is_empty() { "claimable" }
                                            @else { @for (i, reason) in k.reasons.iter().enumerate() { @if i > 0 { ", " } strong.reason { (reason) } } }
                                        }
                                        td { "–" }
                                        td { div.actions { @for a in &k.actions() {
                                            @if *a == Action::ClaimCustomer {
                                                a href={ "/engagements/" (engagement) "/claim?through=" (k.known.through) } { "Claim customer" }
                                            } @else { span { (a) } }
                                        } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !page.unreadable.is_empty() {
                p.refusal { (page.unreadable.len()) " nominations cannot be read back and need an operator." }
            }
            @if let Some(next) = &page.next {
                p { a #next-page href={ "/engagements/" (engagement) "?tab=" (tab_code(tab)) "&after=" (percent_encode(&next.to_string())) @if limit != PAGE_SIZE { "&limit=" (limit) } } { "Next page →" } }
            }
            p { a href="/add" { "Add a customer" } " · " a href="/" { "All engagements" } }
        };
        Ok(Page::ok(Page::frame(&ctx, &format!("Customers: {}", details.name()), body)))
    }
    .await;
    or_problem(&app, &session, "Customers", result).await
}

/// Which known customer to claim.
#[derive(Debug, Deserialize)]
pub(crate) struct ClaimQuery {
    through: String,
}

fn claim_page(
    ctx: &Ctx,
    engagement: &mci_core::Engagement,
    through: &str,
    name: &str,
    problem: Option<&Problem>,
) -> Markup {
    let partner = &ctx.session.partner;
    html! {
        p { "The customer consented to " (partner.name) " before, through nomination " span.mono { (through) } "; its identity and contacts come from there (R-CLAIM-2)." }
        (Problem::unplaced(problem, &["friendly_name", "location", "engagements"]))
        form #claim method="post" action={ "/engagements/" (engagement.id()) "/claim" } {
            (ctx.csrf())
            input type="hidden" name="through" value=(through);
            (text_field("friendly_name", "Friendly name", name, "", problem))
            div.field {
                label for="location" { "Location" }
                select id="location" name="location" {
                    option value=(partner.location) { (partner.location) " (enrolled)" }
                    option value=(partner.unenrolled) { (partner.unenrolled) " (not enrolled)" }
                }
                (Problem::at(problem, "location"))
            }
            (Problem::at(problem, "engagements"))
            button.primary type="submit" { "Claim customer" }
        }
    }
}

/// `GET /engagements/{id}/claim?through=`: the claim form (R-CLAIM).
pub(crate) async fn claim_form(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path(engagement): Path<String>,
    Query(query): Query<ClaimQuery>,
    uri: Uri,
) -> Response {
    let result = async {
        let ctx = ctx(&app, &session, &uri).await?;
        let engagement = app.service.engagement(&engagement.parse()?)?;
        let title = format!("Claim customer: {}", engagement.name());
        Ok(Page::ok(Page::frame(
            &ctx,
            &title,
            claim_page(&ctx, &engagement, &query.through, "", None),
        )))
    }
    .await;
    or_problem(&app, &session, "Claim customer", result).await
}

/// The claim form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct ClaimForm {
    through: String,
    friendly_name: String,
    location: String,
}

/// `POST /engagements/{id}/claim`: claims the known customer (R-CLAIM).
pub(crate) async fn claim(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path(engagement): Path<String>,
    uri: Uri,
    Form(form): Form<ClaimForm>,
) -> Response {
    let result = async {
        let ctx = ctx(&app, &session, &uri).await?;
        let engagement = app.service.engagement(&engagement.parse()?)?;
        let claimed = async {
            let claim = ClaimCustomer {
                known_through: form
                    .through
                    .parse()
                    .map_err(|e: InvalidValue| e.for_field("through"))?,
                friendly_name: form
                    .friendly_name
                    .trim()
                    .parse()
                    .map_err(|e: InvalidValue| e.for_field("friendly_name"))?,
                location: form
                    .location
                    .parse()
                    .map_err(|e: InvalidValue| e.for_field("location"))?,
                engagements: vec![engagement.id().clone()],
                customer_contacts: None,
                partner_contacts: None,
                hours: None,
            };
            app.service.claim_customer(&user(&session)?, &claim).await
        }
        .await;
        Ok(match claimed {
            Ok(claimed) => {
                crate::add::answered(&claimed, &format!("/engagements/{}", engagement.id()))
            }
            Err(error) => {
                let problem = Problem::of(&error);
                let title = format!("Claim customer: {}", engagement.name());
                Page::with_status(
                    Some(&problem),
                    Page::frame(
                        &ctx,
                        &title,
                        claim_page(
                            &ctx,
                            &engagement,
                            &form.through,
                            &form.friendly_name,
                            Some(&problem),
                        ),
                    ),
                )
            }
        })
    }
    .await;
    or_problem(&app, &session, "Claim customer", result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_page_1_a_page_cursor_survives_its_link() {
        let id: NominationId = "0190c0de-0000-7000-8000-000000000001".parse().unwrap();
        for cursor in [
            PageCursor::after_nomination(id),
            PageCursor::after_known_customer(None),
            PageCursor::after_known_customer(Some(
                "tenant:0b7d3f6e-1c2a-4e5f-8a9b-0c1d2e3f4a5b"
                    .parse()
                    .unwrap(),
            )),
        ] {
            assert_eq!(cursor_of(&cursor.to_string()).unwrap(), cursor);
        }
        assert_eq!(cursor_of("x").unwrap_err().field(), "after");
    }
}
