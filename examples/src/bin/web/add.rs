//! The add-customer wizard in three steps: who the customer is, which
//! engagements (the ineligible ones with their reasons), and the review
//! with deadlines and the proposed payout before anything is written
//! (R-ADD-1..10).

use crate::hygiene::Session;
use crate::layout::{Ctx, Page, Problem, text_field, warnings, when};
use crate::partner::{ctx, engagement_name, or_problem, user};
use crate::state::App;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{Markup, html};
use mci_core::{Contacts, CustomerIdInput, EngagementId, InvalidValue};
use mci_engagements::{AddCustomer, Added, Error};
use std::sync::Arc;

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
        let ctx = ctx(&app, &session, &uri).await?;
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
        let ctx = ctx(&app, &session, &uri).await?;
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
        let ctx = ctx(&app, &session, &uri).await?;
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
            // Warned of, not refused: the partner may still add (R-LIST-5).
            (warnings(&app, "warnings", "Check before adding:", &review.warnings, 0))
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

/// Where an add or a claim goes once done: to `to`, with the warnings of
/// its answer (R-LIST-5), which the page there shows once.
pub(crate) fn answered(added: &Added, to: &str) -> Response {
    let response = Redirect::to(to).into_response();
    match added.nominations.first() {
        Some(first) if !added.warnings.is_empty() => crate::hygiene::with_added_warnings(
            response,
            first.friendly_name().as_ref(),
            &added.warnings,
        ),
        _ => response,
    }
}

/// `POST /add`: adds the customer to the chosen engagements, all or none
/// (R-ADD-6), then shows the first engagement's Customers page with the
/// answer's warnings (R-LIST-5).
pub(crate) async fn add(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    uri: Uri,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let fields = AddFields::from_form(&form);
    let result = async {
        let ctx = ctx(&app, &session, &uri).await?;
        let added = async {
            let add = fields.form(&session, fields.chosen()?)?;
            app.service.add_customer(&user(&session)?, &add).await
        }
        .await;
        match added {
            Ok(added) => Ok(answered(
                &added,
                &added.nominations.first().map_or_else(
                    || String::from("/"),
                    |first| format!("/engagements/{}", first.engagement()),
                ),
            )),
            Err(error) => step_two_again(&app, &ctx, &session, &fields, &error).await,
        }
    }
    .await;
    or_problem(&app, &session, "Add customer", result).await
}
