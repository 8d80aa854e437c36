//! The partner's pages: the engagements overview, each engagement's
//! Customers page, the add-customer wizard, claiming a known customer, the
//! workshop claim and a nomination's history (R-ENG-7, R-PAGE, R-ADD,
//! R-CLAIM, R-CONSENT, R-CLAIM-W, R-REC-1).

use crate::hygiene::{CSRF_FIELD, Session, percent_encode};
use crate::layout::{Ctx, Page, Problem, when};
use crate::state::App;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{Markup, html};
use mci_core::{
    Action, Availability, Comment, Contacts, CustomerIdInput, DocumentKind, DocumentRef,
    EngagementId, InvalidValue, MediaType, Need, Nomination, NominationId, PartnerUser, RowType,
    Sha256Digest, SurveyKind, SurveyStatus, Tab,
};
use mci_engagements::{
    AddCustomer, ClaimCustomer, CustomerRow, Due, Error, OverviewFilter, PageCursor, SendConsent,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Rows on one page of a tab, unless the link asks for another number.
const PAGE_SIZE: usize = 10;
/// The most rows a link may ask for on one page.
const MAX_PAGE_SIZE: usize = 50;

/// The frame of a partner page at `uri`.
pub(crate) fn ctx(app: &App, session: &Session, uri: &Uri) -> Result<Ctx, Error> {
    Ok(Ctx {
        session: session.clone(),
        now: app.now()?,
        path: uri
            .path_and_query()
            .map_or_else(|| String::from("/"), ToString::to_string),
    })
}

/// The partner admin the demo acts as.
fn user(session: &Session) -> Result<PartnerUser, Error> {
    Ok(mci_examples::admin(&session.partner)?)
}

/// A page of the service's answer, or the page of its refusal.
async fn or_problem(
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
fn engagement_name(app: &App, id: &EngagementId) -> String {
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
        let ctx = ctx(&app, &session, &uri)?;
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

/// A page cursor as a link carries it.
fn cursor_text(cursor: &PageCursor) -> String {
    match cursor {
        PageCursor::Nomination(id) => format!("n{id}"),
        PageCursor::KnownCustomer(None) => String::from("k"),
        PageCursor::KnownCustomer(Some(customer)) => format!("k{customer}"),
    }
}

/// The cursor a link carries.
fn cursor_of(text: &str) -> Result<PageCursor, InvalidValue> {
    let field = |e: InvalidValue| e.for_field("after");
    match text.split_at_checked(1) {
        Some(("n", id)) => Ok(PageCursor::Nomination(id.parse().map_err(field)?)),
        Some(("k", "")) => Ok(PageCursor::KnownCustomer(None)),
        Some(("k", customer)) => Ok(PageCursor::KnownCustomer(Some(
            customer.parse().map_err(field)?,
        ))),
        _ => Err(InvalidValue::new(
            "after",
            mci_core::Problem::Syntax(String::from("not a page cursor")),
        )),
    }
}

/// A partner command on a nomination, as a one-button form.
fn command_button(ctx: &Ctx, id: &NominationId, command: &str, label: &str, back: &str) -> Markup {
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
fn action(ctx: &Ctx, id: &NominationId, action: Action, back: &str) -> Markup {
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

fn capitalised(text: &str) -> String {
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
        let ctx = ctx(&app, &session, &uri)?;
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
                p { a #next-page href={ "/engagements/" (engagement) "?tab=" (tab_code(tab)) "&after=" (percent_encode(&cursor_text(next))) @if limit != PAGE_SIZE { "&limit=" (limit) } } { "Next page →" } }
            }
            p { a href="/add" { "Add a customer" } " · " a href="/" { "All engagements" } }
        };
        Ok(Page::ok(Page::frame(&ctx, &format!("Customers: {}", details.name()), body)))
    }
    .await;
    or_problem(&app, &session, "Customers", result).await
}

/// The fields of the add-customer wizard, carried from step to step in
/// hidden fields.
#[derive(Debug, Clone, Default)]
struct AddFields {
    friendly_name: String,
    location: String,
    contact_name: String,
    email: String,
    id_type: String,
    id_value: String,
    mismatch_reason: String,
    hours: String,
    engagements: Vec<String>,
}

impl AddFields {
    fn from_form(form: &[(String, String)]) -> Self {
        let mut fields = AddFields::default();
        for (key, value) in form {
            let value = value.clone();
            match key.as_str() {
                "friendly_name" => fields.friendly_name = value,
                "location" => fields.location = value,
                "contact_name" => fields.contact_name = value,
                "email" => fields.email = value,
                "id_type" => fields.id_type = value,
                "id_value" => fields.id_value = value,
                "mismatch_reason" => fields.mismatch_reason = value,
                "hours" => fields.hours = value,
                "engagements" => fields.engagements.push(value),
                _ => {}
            }
        }
        fields
    }

    /// The form of the service, for `engagements`.
    fn form(
        &self,
        session: &Session,
        engagements: Vec<EngagementId>,
    ) -> Result<AddCustomer, Error> {
        let email: mci_core::EmailAddress = self
            .email
            .trim()
            .parse()
            .map_err(|e: InvalidValue| e.for_field("email"))?;
        let value = self.id_value.trim();
        let customer_id = match self.id_type.as_str() {
            "tenant" => CustomerIdInput::TenantId(
                value
                    .parse()
                    .map_err(|e: InvalidValue| e.for_field("id_value"))?,
            ),
            "tpid" => CustomerIdInput::Tpid(
                value
                    .parse()
                    .map_err(|e: InvalidValue| e.for_field("id_value"))?,
            ),
            "msx" => CustomerIdInput::MsxOpportunityId(
                value
                    .parse()
                    .map_err(|e: InvalidValue| e.for_field("id_value"))?,
            ),
            _ => CustomerIdInput::EmailOnly,
        };
        let hours = match self.hours.trim() {
            "" => None,
            hours => Some(
                hours
                    .parse::<mci_core::Hours>()
                    .map_err(|e| e.for_field("hours"))?,
            ),
        };
        let reason = self.mismatch_reason.trim();
        let contact = if self.contact_name.trim().is_empty() {
            "Customer contact"
        } else {
            self.contact_name.trim()
        };
        let partner = &session.partner;
        Ok(AddCustomer {
            friendly_name: self
                .friendly_name
                .trim()
                .parse()
                .map_err(|e: InvalidValue| e.for_field("friendly_name"))?,
            location: self
                .location
                .parse()
                .map_err(|e: InvalidValue| e.for_field("location"))?,
            customer_id,
            customer_email: email.clone(),
            mismatch_reason: if reason.is_empty() {
                None
            } else {
                Some(
                    reason
                        .parse()
                        .map_err(|e: InvalidValue| e.for_field("mismatch_reason"))?,
                )
            },
            engagements,
            customer_contacts: Contacts::one(
                contact
                    .parse()
                    .map_err(|e: InvalidValue| e.for_field("contact_name"))?,
                email,
            ),
            partner_contacts: Contacts::one(
                "Engagement Lead".parse()?,
                format!("lead@{}.example", partner.id).parse()?,
            ),
            hours,
        })
    }

    /// The engagements the wizard reviews for these fields: variable pay
    /// for an MSX opportunity id, fixed pay for the others (R-ENG-2,
    /// R-ENG-3); and the rest, shown as not offered.
    fn offered<'c>(
        &self,
        catalogue: &'c [mci_core::Engagement],
    ) -> (Vec<&'c mci_core::Engagement>, Vec<&'c mci_core::Engagement>) {
        let variable = self.id_type == "msx";
        catalogue
            .iter()
            .partition(|e| e.rules().pay().is_variable() == variable)
    }

    /// The chosen engagements.
    fn chosen(&self) -> Result<Vec<EngagementId>, Error> {
        self.engagements
            .iter()
            .map(|e| {
                e.parse()
                    .map_err(|e: InvalidValue| e.for_field("engagements").into())
            })
            .collect()
    }

    /// The step-1 fields as hidden inputs.
    fn hidden(&self) -> Markup {
        html! {
            @for (name, value) in [
                ("friendly_name", &self.friendly_name), ("location", &self.location),
                ("contact_name", &self.contact_name), ("email", &self.email),
                ("id_type", &self.id_type), ("id_value", &self.id_value),
                ("mismatch_reason", &self.mismatch_reason), ("hours", &self.hours),
            ] {
                input type="hidden" name=(name) value=(value);
            }
        }
    }
}

fn steps(current: usize) -> Markup {
    html! {
        ol.steps {
            @for (i, name) in ["1. Customer", "2. Engagements", "3. Review"].iter().enumerate() {
                li class=[(i + 1 == current).then_some("current")] { (name) }
            }
        }
    }
}

/// A text field of a form with its label, hint and any refusal naming it.
fn text_field(
    name: &str,
    label: &str,
    value: &str,
    hint: &str,
    problem: Option<&Problem>,
) -> Markup {
    html! {
        div.field {
            label for=(name) { (label) }
            input type="text" id=(name) name=(name) value=(value);
            @if !hint.is_empty() { div.hint { (hint) } }
            (Problem::at(problem, name))
        }
    }
}

/// Step 1 of the wizard: who the customer is (R-ADD-1, -3, -4).
fn add_step_one(ctx: &Ctx, fields: &AddFields, problem: Option<&Problem>) -> Markup {
    let partner = &ctx.session.partner;
    let names = [
        "friendly_name",
        "location",
        "contact_name",
        "email",
        "id_type",
        "id_value",
        "mismatch_reason",
        "hours",
    ];
    html! {
        (steps(1))
        (Problem::unplaced(problem, &names))
        form #add-customer method="post" action="/add/engagements" {
            (ctx.csrf())
            (text_field("friendly_name", "Friendly name", &fields.friendly_name, "How your team calls this engagement with the customer.", problem))
            div.field {
                label for="location" { "Location" }
                select id="location" name="location" {
                    option value=(partner.location) selected[fields.location == partner.location.to_string()] { (partner.location) " (enrolled)" }
                    option value=(partner.unenrolled) selected[fields.location == partner.unenrolled.to_string()] { (partner.unenrolled) " (not enrolled)" }
                }
                (Problem::at(problem, "location"))
            }
            (text_field("contact_name", "Customer contact", &fields.contact_name, "", problem))
            (text_field("email", "Customer email", &fields.email, "Alone, its domain finds the customer's tenant (R-ADD-3).", problem))
            fieldset {
                legend { "Customer ID (optional)" }
                div.field {
                    label for="id_type" { "ID type" }
                    select id="id_type" name="id_type" {
                        @for (v, name) in [("email", "none: from the email's domain"), ("tenant", "Tenant ID"), ("tpid", "TPID"), ("msx", "MSX opportunity ID (variable pay)")] {
                            option value=(v) selected[fields.id_type == v] { (name) }
                        }
                    }
                    (Problem::at(problem, "id_type"))
                }
                (text_field("id_value", "Tenant ID, TPID or MSX opportunity ID", &fields.id_value, "", problem))
                (text_field("mismatch_reason", "Mismatch reason", &fields.mismatch_reason, "Needed when the email's domain does not belong to that tenant (R-ADD-4).", problem))
                (text_field("hours", "Hours", &fields.hours, "Variable pay only: the hours the payout is computed from, never changed afterwards (R-ADD-8).", problem))
            }
            button.primary type="submit" { "Next: choose engagements" }
        }
    }
}

/// `GET /add`: step 1 of the wizard.
pub(crate) async fn add_start(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    uri: Uri,
) -> Response {
    let result = async {
        let ctx = ctx(&app, &session, &uri)?;
        let fields = AddFields {
            location: session.partner.location.to_string(),
            ..AddFields::default()
        };
        Ok(Page::ok(Page::frame(
            &ctx,
            "Add customer",
            add_step_one(&ctx, &fields, None),
        )))
    }
    .await;
    or_problem(&app, &session, "Add customer", result).await
}

/// `POST /add/engagements`: step 1 checked by the service's review
/// (R-ADD-10), then step 2: the engagements, ineligible ones with their
/// reasons (R-ADD-6).
pub(crate) async fn add_engagements(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    uri: Uri,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let fields = AddFields::from_form(&form);
    let result = async {
        let ctx = ctx(&app, &session, &uri)?;
        let catalogue = app.service.engagements();
        let (offered, others) = fields.offered(&catalogue);
        let review = match async {
            let add = fields.form(&session, offered.iter().map(|e| e.id().clone()).collect())?;
            app.service.review_add(&user(&session)?, &add).await
        }
        .await
        {
            Ok(review) => review,
            Err(error) => {
                let problem = Problem::of(&error);
                return Ok(Page::with_status(
                    Some(&problem),
                    Page::frame(
                        &ctx,
                        "Add customer",
                        add_step_one(&ctx, &fields, Some(&problem)),
                    ),
                ));
            }
        };
        Ok(Page::ok(Page::frame(
            &ctx,
            "Add customer",
            add_step_two(&ctx, &app, &fields, &review, &others, None),
        )))
    }
    .await;
    or_problem(&app, &session, "Add customer", result).await
}

fn add_step_two(
    ctx: &Ctx,
    app: &App,
    fields: &AddFields,
    review: &mci_core::NominationReview,
    others: &[&mci_core::Engagement],
    problem: Option<&Problem>,
) -> Markup {
    html! {
        (steps(2))
        p { "Customer " strong { (fields.email) } " at location " (fields.location) "." }
        (Problem::unplaced(problem, &["engagements"]))
        form #choose-engagements method="post" action="/add/review" {
            (ctx.csrf())
            (fields.hidden())
            fieldset {
                legend { "Engagements" }
                (Problem::at(problem, "engagements"))
                table {
                    thead { tr { th {} th { "Engagement" } th { "Can be chosen?" } } }
                    tbody {
                        @for p in &review.choosable {
                            tr {
                                td { input type="checkbox" id={ "engagement-" (p.engagement) } name="engagements" value=(p.engagement) checked[fields.engagements.contains(&p.engagement.to_string())]; }
                                td { label for={ "engagement-" (p.engagement) } { (engagement_name(app, &p.engagement)) } }
                                td { "yes" }
                            }
                        }
                        @for r in &review.refused {
                            tr.ineligible {
                                td { input type="checkbox" disabled; }
                                td { (engagement_name(app, &r.engagement)) }
                                td { @for (i, reason) in r.reasons.iter().enumerate() { @if i > 0 { "; " } span.reason { (reason) } } }
                            }
                        }
                        @for e in others {
                            tr.ineligible {
                                td { input type="checkbox" disabled; }
                                td { (e.name()) }
                                td { (if e.rules().pay().is_variable() {
                                    "variable pay: nominated by MSX opportunity id with its hours, on its own (R-ENG-2, R-ADD-8)"
                                } else {
                                    "fixed pay: nominated by email domain, tenant ID or TPID, without hours (R-ENG-3, R-ADD-8)"
                                }) }
                            }
                        }
                    }
                }
            }
            button.primary type="submit" { "Next: review" }
        }
    }
}

/// `POST /add/review`: step 3, the review with deadlines and the proposed
/// payout (R-ADD-10); nothing is written.
pub(crate) async fn add_review(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    uri: Uri,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let fields = AddFields::from_form(&form);
    let result = async {
        let ctx = ctx(&app, &session, &uri)?;
        let reviewed = async {
            let add = fields.form(&session, fields.chosen()?)?;
            let review = app.service.review_add(&user(&session)?, &add).await?;
            if review.refused.is_empty() {
                Ok(review)
            } else {
                Err(Error::Refused(mci_core::Refusal::NotChoosable {
                    refused: review.refused,
                }))
            }
        }
        .await;
        let review = match reviewed {
            Ok(review) => review,
            Err(error) => return step_two_again(&app, &ctx, &session, &fields, &error).await,
        };
        let body = html! {
            (steps(3))
            p { "Customer " strong { (fields.email) } " at location " (fields.location) ", as " strong { (fields.friendly_name) } "." }
            @if !fields.mismatch_reason.trim().is_empty() {
                p { "Mismatch reason: " (fields.mismatch_reason) }
            }
            table #review {
                thead { tr { th { "Engagement" } th { "Consent needed by" } th { "Claim to submit" } th { "Review complete" } th { "Proposed payout" } } }
                tbody {
                    @for p in &review.choosable {
                        tr {
                            td { (engagement_name(&app, &p.engagement)) }
                            td { (when(p.consent_deadline)) }
                            td { (p.timelines.first_submit) " after consent" }
                            td { (p.timelines.review_complete) " after consent" }
                            td { @match &p.proposed_payout { Some(m) => { (m) } None => { "–" } } }
                        }
                    }
                }
            }
            form #add method="post" action="/add" {
                (ctx.csrf())
                (fields.hidden())
                @for e in &fields.engagements { input type="hidden" name="engagements" value=(e); }
                button.primary type="submit" { "Add customer" }
            }
            form #back method="post" action="/add/engagements" {
                (ctx.csrf())
                (fields.hidden())
                @for e in &fields.engagements { input type="hidden" name="engagements" value=(e); }
                button type="submit" { "← Change the engagements" }
            }
        };
        Ok(Page::ok(Page::frame(&ctx, "Add customer", body)))
    }
    .await;
    or_problem(&app, &session, "Add customer", result).await
}

/// Step 2 again, with the refusal of the choice beside the engagements;
/// step 1 when the refusal is about its fields.
async fn step_two_again(
    app: &Arc<App>,
    ctx: &Ctx,
    session: &Session,
    fields: &AddFields,
    error: &Error,
) -> Result<Response, Error> {
    let problem = Problem::of(error);
    let catalogue = app.service.engagements();
    let (offered, others) = fields.offered(&catalogue);
    let add = fields.form(session, offered.iter().map(|e| e.id().clone()).collect());
    let review = match add {
        Ok(add) => app.service.review_add(&user(session)?, &add).await,
        Err(error) => Err(error),
    };
    let markup = match review {
        Ok(review) => add_step_two(ctx, app, fields, &review, &others, Some(&problem)),
        Err(first) => add_step_one(ctx, fields, Some(&Problem::of(&first))),
    };
    Ok(Page::with_status(
        Some(&problem),
        Page::frame(ctx, "Add customer", markup),
    ))
}

/// `POST /add`: adds the customer to the chosen engagements, all or none
/// (R-ADD-6), then shows the first engagement's Customers page.
pub(crate) async fn add(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    uri: Uri,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let fields = AddFields::from_form(&form);
    let result = async {
        let ctx = ctx(&app, &session, &uri)?;
        let added = async {
            let add = fields.form(&session, fields.chosen()?)?;
            app.service.add_customer(&user(&session)?, &add).await
        }
        .await;
        match added {
            Ok(added) => Ok(match added.nominations.first() {
                Some(first) => {
                    Redirect::to(&format!("/engagements/{}", first.engagement())).into_response()
                }
                None => Redirect::to("/").into_response(),
            }),
            Err(error) => step_two_again(&app, &ctx, &session, &fields, &error).await,
        }
    }
    .await;
    or_problem(&app, &session, "Add customer", result).await
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
        let ctx = ctx(&app, &session, &uri)?;
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
        let ctx = ctx(&app, &session, &uri)?;
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
            Ok(_) => Redirect::to(&format!("/engagements/{}", engagement.id())).into_response(),
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
        let ctx = ctx(&app, &session, &uri)?;
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
        let ctx = ctx(&app, &session, &uri)?;
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
            ..ctx(&app, &session, &uri)?
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
            ..ctx(&app, &session, &uri)?
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
                        let media = field
                            .content_type()
                            .filter(|c| !c.is_empty())
                            .unwrap_or("application/octet-stream")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_page_1_a_page_cursor_survives_its_link() {
        let id: NominationId = "0190c0de-0000-7000-8000-000000000001".parse().unwrap();
        for cursor in [
            PageCursor::Nomination(id),
            PageCursor::KnownCustomer(None),
            PageCursor::KnownCustomer(Some(
                "tenant:0b7d3f6e-1c2a-4e5f-8a9b-0c1d2e3f4a5b"
                    .parse()
                    .unwrap(),
            )),
        ] {
            assert_eq!(cursor_of(&cursor_text(&cursor)).unwrap(), cursor);
        }
        assert_eq!(cursor_of("x").unwrap_err().field(), "after");
    }
}
