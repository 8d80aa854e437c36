//! What a row of the Claims export holds (R-LIST-2).
//!
//! One [`ClaimsCsvRow`] per nomination: its claim id, engagement, customer,
//! location, friendly name, state, the instant of each step, the deadline
//! open and the payout, as the nomination stands at the instant its rows
//! are read ([`Nomination::at`]). [`ClaimsCsvRow::cells`] gives the row as
//! text cells under [`ClaimsCsvRow::HEADER`]: instants in RFC 3339 UTC
//! (`2026-03-02T09:00:00Z`, with as many fraction digits as the instant
//! needs, at most six), amounts as integer minor units in one cell and
//! their ISO 4217 currency in the next, states and deadlines by their
//! stable snake_case names, an empty cell for what has not happened.
//! Writing the cells as CSV bytes is the service's (`mci-engagements`),
//! since that is IO.
//!
//! # Formula injection
//!
//! A spreadsheet opening a CSV file runs a cell that starts with `=`, `+`,
//! `-` or `@` as a formula (and some treat a leading tab or carriage
//! return the same way), so a friendly name such as
//! `=HYPERLINK("http://evil.example","Open")`, typed by anyone with a
//! partner's role, would run on the machine of whoever opens the export.
//! The one cell of partner input, the friendly name, is therefore written
//! through [`spreadsheet_text`]: a value starting with one of those
//! characters, or with an apostrophe, gets an apostrophe in front (the
//! prefix OWASP recommends, which spreadsheets show the text after and do
//! not display). The apostrophe prefix of a value that starts with one is
//! what keeps it reversible: [`spreadsheet_value`] strips exactly one
//! leading apostrophe and gives the name back as typed. Every other cell
//! is a value the program formats (ids, instants, integers, names of
//! states) and is left as it is: a negative amount such as `-75000` is a
//! number, and must stay one.
//!
//! ```
//! use mci_core::{ClaimsCsvRow, spreadsheet_value};
//! use mci_testkit::Scenario;
//!
//! let approved = Scenario::approved();
//! let row = ClaimsCsvRow::of(&approved.nomination, approved.now);
//! let cells = row.cells();
//! let column = |name: &str| ClaimsCsvRow::HEADER.iter().position(|h| *h == name).unwrap();
//! assert_eq!(cells[column("state")], "approved");
//! assert_eq!(cells[column("payout_minor")], "750000");
//! assert_eq!(cells[column("payout_currency")], "EUR");
//! assert!(cells[column("created_at")].ends_with('Z'));
//! assert_eq!(spreadsheet_value(&cells[column("friendly_name")]), row.friendly_name.as_str());
//! ```

use crate::claim::ClaimRecord;
use crate::lapse::DeadlineKind;
use crate::nomination::Nomination;
use crate::state::State;
use crate::time::Instant;
use crate::{
    CustomerId, EngagementId, FriendlyName, LocationId, Money, NominationId, PayoutBatchId,
    Sha256Digest,
};
use chrono::SecondsFormat;
use serde::Serialize;
use std::borrow::Cow;

/// One nomination as a row of the Claims export (R-LIST-2), as it stands
/// at the instant the row was read. See [the module](self) for its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimsCsvRow {
    /// The claim's id: the nomination's.
    pub claim_id: NominationId,
    /// The engagement.
    pub engagement: EngagementId,
    /// The customer, by the identifier it is keyed on (`tenant:…`,
    /// `tpid:…`, `subscription:…`, `msx:…`).
    pub customer: CustomerId,
    /// The partner's location delivering it.
    pub location: LocationId,
    /// The partner's name for it: partner input, written through
    /// [`spreadsheet_text`].
    pub friendly_name: FriendlyName,
    /// The state at the instant read (a deadline passed reads as lapsed,
    /// R-TIME-4).
    pub state: State,
    /// The version of its history, and the hash of its last event: the
    /// head the history export ends with (R-LIST-4).
    pub version: u64,
    /// The hash of its history's last event, when it has one.
    pub head: Option<Sha256Digest>,
    /// When it was added or claimed.
    pub created_at: Instant,
    /// When it last changed.
    pub updated_at: Instant,
    /// When consent was first asked for (R-CONSENT-2).
    pub consent_requested_at: Option<Instant>,
    /// When the customer consented (R-CONSENT-5).
    pub consented_at: Option<Instant>,
    /// When the customer declined (R-CONSENT-6).
    pub consent_declined_at: Option<Instant>,
    /// When the customer's consent went to another partner (R-CONSENT-10).
    pub lost_at: Option<Instant>,
    /// When the claim was first submitted (R-CLAIM-W-6).
    pub first_submitted_at: Option<Instant>,
    /// When it was last submitted (R-CLAIM-W-7).
    pub submitted_at: Option<Instant>,
    /// When it was rejected (R-CLAIM-W-7).
    pub rejected_at: Option<Instant>,
    /// When the rejection was disputed (R-CLAIM-W-8).
    pub disputed_at: Option<Instant>,
    /// When it was approved (R-CLAIM-W-7).
    pub approved_at: Option<Instant>,
    /// When a deadline ended it (R-TIME-4).
    pub lapsed_at: Option<Instant>,
    /// The window open at the instant read, if any (R-TIME-2).
    pub deadline: Option<DeadlineKind>,
    /// The first instant that is late for it.
    pub deadline_at: Option<Instant>,
    /// The payout: the approved amount once approved, else what the
    /// pinned rules give (R-ENG-2, R-ADD-8), if they give one.
    pub payout: Option<Money>,
    /// Whether `payout` is the approved amount.
    pub payout_approved: bool,
    /// The payout batch that paid it (R-CLAIM-W-9).
    pub paid_in: Option<PayoutBatchId>,
}

impl ClaimsCsvRow {
    /// The header row: the names of [`ClaimsCsvRow::cells`], in order.
    pub const HEADER: [&'static str; 26] = [
        "claim_id",
        "engagement",
        "customer",
        "location",
        "friendly_name",
        "state",
        "version",
        "head",
        "created_at",
        "updated_at",
        "consent_requested_at",
        "consented_at",
        "consent_declined_at",
        "lost_at",
        "first_submitted_at",
        "submitted_at",
        "rejected_at",
        "disputed_at",
        "approved_at",
        "lapsed_at",
        "deadline",
        "deadline_at",
        "payout_minor",
        "payout_currency",
        "payout_approved",
        "paid_in",
    ];

    /// The row of `nomination` as it stands at `now`: a deadline that has
    /// passed reads as lapsed whether or not the sweep has written it
    /// (R-TIME-4).
    pub fn of(nomination: &Nomination, now: Instant) -> ClaimsCsvRow {
        // As `Nomination::at`, without a copy of a nomination that stands.
        let lapsed = nomination.due_lapse(now).and_then(|_| nomination.lapse());
        let n = lapsed.as_ref().map_or(nomination, |l| &l.nomination);
        let claim: &ClaimRecord = n.claim();
        let deadline = n.deadline();
        let (payout, payout_approved) = match claim.payout {
            Some(approved) => (Some(approved), true),
            None => (n.proposed_payout(), false),
        };
        ClaimsCsvRow {
            claim_id: *n.id(),
            engagement: n.engagement().clone(),
            customer: *n.customer().id(),
            location: n.location().clone(),
            friendly_name: n.friendly_name().clone(),
            state: n.state(),
            version: n.version(),
            head: n.head().map(|h| h.hash),
            created_at: n.created_at(),
            updated_at: n.updated_at(),
            consent_requested_at: n.consent().first_requested_at,
            consented_at: n.consent().accepted_at,
            consent_declined_at: n.consent().declined_at,
            lost_at: n.lost_at(),
            first_submitted_at: claim.first_submitted_at,
            submitted_at: claim.submitted_at,
            rejected_at: claim.rejected_at,
            disputed_at: claim.disputed_at,
            approved_at: claim.approved_at,
            lapsed_at: n.lapsed_at(),
            deadline: deadline.map(|d| d.kind),
            deadline_at: deadline.map(|d| d.at),
            payout,
            payout_approved,
            paid_in: claim.paid_in,
        }
    }

    /// The row's cells, in the order of [`ClaimsCsvRow::HEADER`]; the friendly
    /// name guarded against formula injection ([`spreadsheet_text`]).
    pub fn cells(&self) -> [Cow<'_, str>; 26] {
        let instant = |at: Option<Instant>| -> Cow<'_, str> {
            at.map_or(Cow::Borrowed(""), |at| Cow::Owned(rfc3339(at)))
        };
        let shown =
            |value: Option<String>| -> Cow<'_, str> { value.map_or(Cow::Borrowed(""), Cow::Owned) };
        [
            Cow::Owned(self.claim_id.to_string()),
            Cow::Borrowed(self.engagement.as_str()),
            Cow::Owned(self.customer.to_string()),
            Cow::Borrowed(self.location.as_str()),
            spreadsheet_text(self.friendly_name.as_str()),
            Cow::Owned(snake_case(&self.state)),
            Cow::Owned(self.version.to_string()),
            shown(self.head.map(|h| h.to_string())),
            instant(Some(self.created_at)),
            instant(Some(self.updated_at)),
            instant(self.consent_requested_at),
            instant(self.consented_at),
            instant(self.consent_declined_at),
            instant(self.lost_at),
            instant(self.first_submitted_at),
            instant(self.submitted_at),
            instant(self.rejected_at),
            instant(self.disputed_at),
            instant(self.approved_at),
            instant(self.lapsed_at),
            shown(self.deadline.map(|d| snake_case(&d))),
            instant(self.deadline_at),
            shown(self.payout.map(|p| p.minor().to_string())),
            shown(self.payout.map(|p| p.currency().code().to_owned())),
            Cow::Borrowed(if self.payout_approved {
                "true"
            } else {
                "false"
            }),
            shown(self.paid_in.map(|b| b.to_string())),
        ]
    }
}

/// `at` in RFC 3339, UTC, `Z`, with the fraction digits it needs (none,
/// three or six: instants are kept to the microsecond, R-INPUT).
fn rfc3339(at: Instant) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The snake_case name a unit variant serialises as: the stable machine
/// name of a state or a deadline's window.
fn snake_case<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// Whether a spreadsheet may take a cell starting with `c` for a formula
/// (OWASP's list: `=`, `+`, `-`, `@`, tab, carriage return), or `c` is
/// the apostrophe that marks a cell as text.
fn needs_guard(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r' | '\'')
}

/// `text` as a cell a spreadsheet shows as text and never runs (R-LIST-2):
/// with an apostrophe in front when it starts with `=`, `+`, `-`, `@`, a
/// tab, a carriage return or an apostrophe; unchanged otherwise.
/// [`spreadsheet_value`] undoes it.
///
/// ```
/// use mci_core::{spreadsheet_text, spreadsheet_value};
///
/// assert_eq!(spreadsheet_text("=1+2"), "'=1+2");
/// assert_eq!(spreadsheet_text("Contoso, \"AI\""), "Contoso, \"AI\"");
/// assert_eq!(spreadsheet_text("'quoted"), "''quoted");
/// for name in ["=1+2", "-5% off", "@handle", "'quoted", "Contoso"] {
///     assert_eq!(spreadsheet_value(&spreadsheet_text(name)), name);
/// }
/// ```
pub fn spreadsheet_text(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some(c) if needs_guard(c) => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

/// The text a cell written by [`spreadsheet_text`] holds: without the one
/// apostrophe that guard put in front.
pub fn spreadsheet_value(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.chars().next().is_some_and(needs_guard) => rest,
        _ => cell,
    }
}
