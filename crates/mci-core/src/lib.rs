//! The pure domain of MCI engagements: everything behind the Partner Center
//! Customers page that can be decided without IO.
//!
//! - Validated values (R-INPUT): ids, emails, domains, money, hours, names,
//!   document references, link tokens. A value that exists is valid.
//! - [`Engagement`]s and the [`EngagementRules`] a nomination pins (R-ENG).
//! - The [`Nomination`] state machine (R-ADD, R-CLAIM, R-CONSENT, R-CLAIM-W):
//!   each transition takes `now` and its input and returns a [`Refusal`] or
//!   an [`Outcome`] (the new nomination, its [`Event`], its [`Message`]s and
//!   the [`Guard`]s the store checks when it writes).
//! - The partner that lost (R-CONSENT-10): an acceptance is decided among
//!   the other partners' nominations of the customer
//!   ([`Nomination::accept_consent_among`]), and each one still asking for
//!   consent loses it in the same commit ([`Acceptance`]).
//! - Deadlines, lapsing and reminders (R-TIME, R-REC-6), the Customers page
//!   ([`PageRow`], [`Placement`], R-PAGE), the Claims page
//!   ([`ClaimsPlacement`], R-LIST-1), the Attention required list
//!   ([`AttentionEntry`], [`AttentionPlacement`], R-LIST-3), eligibility
//!   (R-ADD-6, R-PAGE-4) and payout runs (R-CLAIM-W-9).
//!
//! Nothing here reads a clock, touches IO or runs async: time is an argument
//! (R-TIME-1), randomness comes in as [`LinkToken`]s and [`NominationId`]s.
//!
//! # Example
//!
//! A customer is added to a workshop, consents, and the claim is submitted:
//!
//! ```
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use mci_core::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = Utc.with_ymd_and_hms(2026, 2, 2, 9, 0, 0).unwrap();
//! let eur: Currency = "EUR".parse()?;
//! let workshop = Engagement::new(
//!     "ai-workshop".parse()?,
//!     "AI workshop".parse()?,
//!     "Data & AI".parse()?,
//!     AvailabilityWindow::new(now - TimeDelta::days(10), now + TimeDelta::days(300))?,
//!     EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(Money::new(750_000, eur))).build()?,
//! );
//! let admin = PartnerUser::new("4711".parse()?, "ada".parse()?, Role::IncentivesAdmin);
//!
//! // The tenant directory (a port of the service) found the email's tenant.
//! let customer = identify_customer(
//!     CustomerIdInput::EmailOnly,
//!     "cio@contoso.example".parse()?,
//!     None,
//!     DirectoryFinding::TenantOfDomain(Some("0b7d3f6e-1c2a-4e5f-8a9b-0c1d2e3f4a5b".parse()?)),
//! )?;
//! let request = NominationRequest {
//!     friendly_name: "Contoso AI readiness".parse()?,
//!     location: "1234567".parse()?,
//!     customer,
//!     customer_contacts: Contacts::one("Carla".parse()?, "cio@contoso.example".parse()?),
//!     partner_contacts: Contacts::one("Ada".parse()?, "ada@partner.example".parse()?),
//!     hours: None,
//!     origin: Origin::Added,
//! };
//! let facts = EligibilityFacts {
//!     location: LocationStanding::Eligible,
//!     customer: CustomerStanding::Eligible,
//!     competitors: vec![],
//! };
//! let id = NominationId::new_v7(1_772_442_000_000, [7; 10]); // the service makes these
//! let created = nominate(now, &admin, request, &[Candidate { engagement: &workshop, facts }], || id)?;
//! let nomination = created.into_iter().next().unwrap().nomination;
//!
//! // The service draws a random link id and derives its token with its link key.
//! let token = LinkToken::from_bytes([42; 32]);
//! let link = FreshLink::new(LinkId::from_bytes([42; 16]), &token);
//! let asked = nomination.send_consent(now, &admin, SendConsent::default(), &link)?;
//! let Step::Changed(consented) = asked.nomination.accept_consent(now + TimeDelta::days(3), &token)? else {
//!     unreachable!("first acceptance")
//! };
//! let row = consented.nomination.page_row(now + TimeDelta::days(3)).unwrap();
//! assert_eq!(row.row_type, RowType::Active);
//! assert_eq!(row.status.days_left, Some(90)); // to submit the workshop claim
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod actor;
mod add;
mod attention;
mod chain;
mod claim;
mod claims;
mod consent;
mod customer;
mod document;
mod eligibility;
mod email;
mod engagement;
mod event;
mod export;
mod guard;
mod hours;
mod id;
mod invalid;
mod known;
mod lapse;
mod link;
mod linked;
mod message;
mod money;
mod nomination;
mod page;
mod payout;
mod refusal;
mod review;
mod state;
mod text;
mod time;
mod token;

pub use actor::{Actor, PartnerUser, Role};
pub use add::{
    Candidate, NominationRequest, NominationReview, Proposal, nominate, review_nomination,
};
pub use attention::{
    ATTENTION_WINDOW, AttentionClass, AttentionEntry, AttentionPlacement, AttentionReason,
    attention_list, attention_until,
};
pub use chain::{
    ChainBreak, ExportLine, Head, chain_stored_history, event_hash, history_export, verify_export,
    with_last_hash,
};
pub use claim::{ClaimComment, ClaimRecord, DocumentKind, Survey, SurveyKind, SurveyStatus};
pub use claims::{ClaimsOrder, ClaimsPlacement, ClaimsSearch, ClaimsSearchInput};
pub use consent::{Acceptance, ConsentInvitation, ContactsUpdate, SendConsent};
pub use customer::{
    Contact, Contacts, Customer, CustomerId, CustomerIdInput, DirectoryFinding, DirectoryQuestion,
    identify_customer,
};
pub use document::*;
pub use eligibility::{
    Competitor, CustomerStanding, EligibilityFacts, Ineligibility, KnownCustomer, KnownCustomerRow,
    LocationStanding, assess, customer_ineligibility, location_ineligibility,
};
pub use email::*;
pub use engagement::{
    Availability, AvailabilityWindow, CustomerIdType, Engagement, EngagementKind, EngagementRules,
    Need, PayModel, ProofItem, ProofRequirement, RuleVersion, RulesBuilder, Timelines,
};
pub use event::{Event, EventKind};
pub use export::{ClaimsCsvRow, spreadsheet_text, spreadsheet_value};
pub use guard::{Guard, Standing};
pub use hours::*;
pub use id::*;
pub use invalid::{InvalidValue, Problem};
pub use known::{KeptAnswer, KnownPlacement, known_placement};
pub use lapse::{Deadline, DeadlineKind, ReminderMark};
pub use link::{IssuedLink, LinkPurpose};
pub use linked::{AddWarning, linked_nomination_warnings};
pub use message::{Message, MessageId, MessageKind};
pub use money::*;
pub use nomination::{ConsentRecord, Nomination, Origin, Outcome, Step};
pub use page::{Action, PageRow, Placement, RowType, Status, Tab};
pub use payout::{EntryKind, PayoutBatch, PayoutCycle, PayoutEntry, payout_run};
pub use refusal::{Command, EngagementRefusal, Refusal};
pub use state::State;
pub use text::*;
pub use time::{
    Days, EARLIEST_INSTANT, Instant, LATEST_INSTANT, check_instant, days_left, is_past,
    truncate_to_micros,
};
pub use token::*;
