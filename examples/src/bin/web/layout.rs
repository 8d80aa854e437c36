//! The page frame (header with the demo clock and the partner switcher),
//! the stylesheet, and how a refusal is shown: beside the field it names,
//! with its rule.

use crate::hygiene::{CSRF_FIELD, Session};
use crate::state::App;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use mci_core::{AddWarning, Instant, Refusal};
use mci_engagements::Error;
use std::sync::Arc;

/// The stylesheet, served from this program: no page loads anything from
/// another site.
const STYLE: &str = include_str!("style.css");

/// `GET /style.css`.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

/// A refused or failed call as a page shows it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Problem {
    /// The form field it names, if any.
    pub(crate) field: Option<String>,
    /// The SPEC rule, if any.
    pub(crate) rule: Option<String>,
    /// What a person reads.
    pub(crate) message: String,
    /// The HTTP status of the page.
    pub(crate) status: u16,
}

impl Problem {
    /// The problem of a service error: its rule (`Error::rule`) and the
    /// field its refusal or invalid value names.
    pub(crate) fn of(error: &Error) -> Self {
        let field = match error {
            Error::Refused(refusal) => refused_field(refusal),
            Error::Ineligible { .. } => Some("engagements"),
            _ => None,
        };
        // The service's own sorting of what the caller does about it.
        let status = error.kind().http_status();
        Problem {
            field: field.map(str::to_owned),
            rule: error.rule().map(str::to_owned),
            message: mci_examples::explain(error),
            status,
        }
    }

    /// A problem with one form field.
    pub(crate) fn field(field: &str, rule: &str, message: &str) -> Self {
        Problem {
            field: Some(field.to_owned()),
            rule: Some(rule.to_owned()),
            message: message.to_owned(),
            status: 422,
        }
    }

    /// The message beside `field`, if the problem names it.
    pub(crate) fn at(problem: Option<&Problem>, field: &str) -> Markup {
        match problem {
            Some(p) if p.field.as_deref() == Some(field) => p.render(),
            _ => html! {},
        }
    }

    /// The message above a form, if the problem names no field of it.
    pub(crate) fn unplaced(problem: Option<&Problem>, fields: &[&str]) -> Markup {
        match problem {
            Some(p) if !p.field.as_deref().is_some_and(|f| fields.contains(&f)) => p.render(),
            _ => html! {},
        }
    }

    fn render(&self) -> Markup {
        html! {
            p.refusal role="alert" data-field=[self.field.as_deref()] {
                // The rule shows once, as the badge after the message.
                (self.rule.as_deref().and_then(|rule| self.message.strip_suffix(&format!(" ({rule})"))).unwrap_or(&self.message))
                @if let Some(rule) = &self.rule {
                    " " span.rule { (rule) }
                }
            }
        }
    }
}

/// The form field a refusal is about.
fn refused_field(refusal: &Refusal) -> Option<&str> {
    Some(match refusal {
        Refusal::Invalid(invalid) => invalid.field(),
        Refusal::DomainMismatch { .. } => "mismatch_reason",
        Refusal::NoTenantForDomain { .. } => "email",
        Refusal::NotChoosable { .. }
        | Refusal::NoEngagementChosen
        | Refusal::EngagementChosenTwice { .. }
        | Refusal::VariablePayAlone => "engagements",
        Refusal::HoursRequired | Refusal::HoursOverMaximum { .. } | Refusal::HoursNotApplicable => {
            "hours"
        }
        Refusal::MissingProof { .. } => "submit",
        Refusal::AlreadyDisputed => "dispute",
        Refusal::ContactsFrozen => "contacts",
        _ => return None,
    })
}

/// What the frame of a page needs.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// Who acts.
    pub(crate) session: Session,
    /// The demo clock's reading.
    pub(crate) now: Instant,
    /// The page's own path and query, for the header forms to come back to.
    pub(crate) path: String,
    /// How many entries the partner's Attention required list has (at
    /// most the header's limit) and whether there are more (R-LIST-3);
    /// `None` when it could not be read.
    pub(crate) attention: Option<(usize, bool)>,
    /// The warnings of the add or claim that led to this page (R-LIST-5),
    /// rendered with the engagements' names; empty for other pages.
    pub(crate) added: Markup,
}

/// The warnings the session carries from the add or claim that led to
/// this page (R-LIST-5), as the frame shows them.
pub(crate) fn added_warnings(app: &App, session: &Session) -> Markup {
    match &session.added {
        Some(added) => warnings(
            app,
            "added-warnings",
            &format!("“{}” was added. Check:", added.friendly_name),
            &added.warnings,
            added.more,
        ),
        None => html! {},
    }
}

/// The warnings of an add (R-LIST-5) under `lead`, each with its
/// engagement's name and its rule: a note beside what was done or is about
/// to be, never a refusal. Nothing when there are none.
pub(crate) fn warnings(
    app: &App,
    id: &str,
    lead: &str,
    warnings: &[AddWarning],
    more: usize,
) -> Markup {
    html! {
        @if !warnings.is_empty() {
            div.warning id=(id) role="note" {
                p { strong { (lead) } }
                ul {
                    @for warning in warnings {
                        li { (warning_text(app, warning)) " " span.rule { (warning.rule()) } }
                    }
                    @if more > 0 {
                        li { "and " (more) " more of the same kind" }
                    }
                }
            }
        }
    }
}

/// A warning as a sentence: its engagement by name, its rule left to the
/// badge after it.
fn warning_text(app: &App, warning: &AddWarning) -> String {
    let text = warning.to_string();
    let text = text
        .strip_suffix(&format!(" ({})", warning.rule()))
        .unwrap_or(&text);
    match text.strip_prefix(&format!("{}: ", warning.engagement())) {
        Some(rest) => format!(
            "{}: {rest}",
            crate::partner::engagement_name(app, warning.engagement())
        ),
        None => text.to_owned(),
    }
}

impl Ctx {
    /// The hidden CSRF field every form carries.
    pub(crate) fn csrf(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.session.csrf); }
    }
}

/// The head of every page: no referrer leaves it (its address may hold a
/// link's token), and its only stylesheet is this program's.
fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="no-referrer";
            title { (title) }
            link rel="stylesheet" href="/style.css";
        }
    }
}

/// A rendered page with its status.
pub(crate) struct Page;

impl Page {
    /// The page `body` in the partner's frame.
    pub(crate) fn frame(ctx: &Ctx, title: &str, body: Markup) -> Markup {
        let partner = &ctx.session.partner;
        let partners =
            mci_examples::partners().unwrap_or_else(|_| [partner.clone(), partner.clone()]);
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(&format!("{title} · MCI engagements")))
                body {
                    header.top {
                        a.brand href="/" { "MCI engagements" }
                        nav {
                            a href="/" { "Engagements" }
                            a href="/add" { "Add customer" }
                            a href="/mailbox" { "Mailbox" }
                            a href="/review" { "Reviewer" }
                            a href="/payouts" { "Payouts" }
                            a #attention href="/attention" title="What needs you now (R-LIST-3)" {
                                "Attention"
                                @if let Some((count, more)) = ctx.attention {
                                    // Nothing to do reads as a quiet 0.
                                    " " span.count.none[count == 0] { (count) @if more { "+" } }
                                }
                            }
                        }
                        div.controls {
                            form.inline method="post" action="/partner" {
                                (ctx.csrf())
                                input type="hidden" name="back" value=(ctx.path);
                                label for="partner" { "Partner" }
                                select id="partner" name="partner" {
                                    @for p in &partners {
                                        option value=(p.id) selected[p.id == partner.id] { (p.name) }
                                    }
                                }
                                button type="submit" { "Switch" }
                            }
                            span.clock title="The demo clock" {
                                "Demo clock: " time datetime=(ctx.now.to_rfc3339()) { (ctx.now.format("%Y-%m-%d %H:%M UTC")) }
                            }
                            @for days in [1, 7, 30] {
                                form.inline method="post" action="/clock" {
                                    (ctx.csrf())
                                    input type="hidden" name="back" value=(ctx.path);
                                    input type="hidden" name="days" value=(days);
                                    button type="submit" id={ "clock-" (days) } { "+" (days) (if days == 1 { " day" } else { " days" }) }
                                }
                            }
                            form.inline method="post" action="/sweep" {
                                (ctx.csrf())
                                input type="hidden" name="back" value=(ctx.path);
                                button type="submit" id="sweep" { "Run sweep" }
                            }
                        }
                    }
                    main {
                        @if ctx.path.starts_with("/review") || ctx.path.starts_with("/payouts") {
                            p.acting { "Signed in as the program's reviewer, " strong { (mci_examples::reviewer().map_or_else(|_| String::new(), |r| r.to_string())) } }
                        } @else {
                            p.acting { "Acting for " strong { (partner.name) } " (" (partner.id) ")" }
                        }
                        @if let Some(notice) = &ctx.session.notice {
                            p.notice #notice role="status" { (notice) }
                        }
                        (ctx.added)
                        h1 { (title) }
                        (body)
                    }
                }
            }
        }
    }

    /// The customer's frame: no header, no partner, nothing but the page.
    pub(crate) fn customer_frame(title: &str, body: Markup) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body.customer {
                    main {
                        h1 { (title) }
                        (body)
                    }
                }
            }
        }
    }

    /// A page with status 200.
    pub(crate) fn ok(markup: Markup) -> Response {
        (StatusCode::OK, markup).into_response()
    }

    /// A page whose status is the problem's.
    pub(crate) fn with_status(problem: Option<&Problem>, markup: Markup) -> Response {
        let status = problem
            .and_then(|p| StatusCode::from_u16(p.status).ok())
            .unwrap_or(StatusCode::OK);
        (status, markup).into_response()
    }

    /// A page showing only `problem`.
    pub(crate) async fn problem(
        app: &Arc<App>,
        session: &Session,
        title: &str,
        problem: Problem,
    ) -> Response {
        let ctx = Ctx {
            session: session.clone(),
            now: app.now().unwrap_or_else(|_| mci_examples::epoch()),
            path: String::from("/"),
            attention: None,
            added: added_warnings(app, session),
        };
        let body = html! {
            (Problem::at(Some(&problem), problem.field.as_deref().unwrap_or("")))
            @if problem.field.is_none() { (Problem::unplaced(Some(&problem), &[])) }
            p { a href="/" { "Back to the engagements" } }
        };
        Self::with_status(Some(&problem), Self::frame(&ctx, title, body))
    }
}

/// A text field of a form with its label, hint and any refusal naming it.
pub(crate) fn text_field(
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

/// An instant as pages show it.
pub(crate) fn when(at: Instant) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}
