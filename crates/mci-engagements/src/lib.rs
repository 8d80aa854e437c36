//! The service applications embed to run MCI engagements: the Customers
//! page of each engagement, the customer's consent, the workshop claim, its
//! review and its payout.
//!
//! [`Incentives`] holds a store (`Arc<dyn Store>`: the SQLite store, the
//! memory store, or yours) and the ports of [`ports`]; it checks who acts
//! (R-ROLE), loads what a decision needs, asks `mci-core`, and commits the
//! outcome with its guards, retrying a conflict a bounded number of times.
//! It owns no rule: those live in `mci-core`.
//!
//! # Errors
//!
//! Every call fails with an [`Error`] that changed nothing.
//! [`Error::kind`] says what the caller does about it (an [`ErrorKind`]:
//! not found, forbidden, invalid input naming the field and the rule,
//! refused by a rule, busy, unavailable, internal) and
//! [`ErrorKind::http_status`] the status to answer with; the error
//! serialises as an RFC 9457 problem object with a stable `code`. The
//! table and an HTTP handler's mapping are on [`Error`].
//!
//! # Embedding
//!
//! ```
//! use std::sync::Arc;
//! use mci_engagements::chrono::{TimeDelta, TimeZone, Utc};
//! use mci_engagements::ports::{
//!     HmacLinkKey, InMemoryPartnerDirectory, InMemoryTenantDirectory, ManualClock,
//!     PermissiveEligibility, SeededLinkIds,
//! };
//! // The service and every mci-core type it speaks in: one dependency.
//! use mci_engagements::*;
//! use mci_store_memory::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let start = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
//! let clock = Arc::new(ManualClock::new(start));
//! let partner: PartnerId = "4711".parse()?;
//! let location: LocationId = "1234567".parse()?;
//! let workshop = Engagement::new(
//!     "ai-workshop".parse()?,
//!     "AI workshop".parse()?,
//!     "Data & AI".parse()?,
//!     AvailabilityWindow::new(start - TimeDelta::days(1), start + TimeDelta::days(365))?,
//!     EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed("7500.00 EUR".parse()?)).build()?,
//! );
//! let service = Incentives::builder(Arc::new(MemoryStore::new()), HmacLinkKey::demo())
//!     .tenant_directory(
//!         InMemoryTenantDirectory::builder()
//!             .tenant("0b7d3f6e-1c2a-4e5f-8a9b-0c1d2e3f4a5b".parse()?, ["contoso.example".parse()?])
//!             .build(),
//!     )
//!     .partner_directory(InMemoryPartnerDirectory::builder().enrolled(partner.clone(), location.clone()).build())
//!     // Every customer eligible: a demo's source, never production's (R-ADD-5).
//!     .customer_eligibility(PermissiveEligibility::new())
//!     .clock(clock.clone())
//!     .link_ids(SeededLinkIds::new(7))
//!     .engagement(workshop.clone())
//!     .build();
//!
//! // A partner admin adds Contoso by its email alone (R-ADD-3).
//! let admin = PartnerUser::new(partner, "ada".parse()?, Role::IncentivesAdmin);
//! let added = service
//!     .add_customer(&admin, &AddCustomer {
//!         friendly_name: "Contoso AI readiness".parse()?,
//!         location,
//!         customer_id: CustomerIdInput::EmailOnly,
//!         customer_email: "cio@contoso.example".parse()?,
//!         mismatch_reason: None,
//!         engagements: vec![workshop.id().clone()],
//!         customer_contacts: Contacts::one("Carla".parse()?, "cio@contoso.example".parse()?),
//!         partner_contacts: Contacts::one("Ada".parse()?, "ada@partner.example".parse()?),
//!         hours: None,
//!     })
//!     .await?;
//! let id = *added.nominations[0].id();
//!
//! // Consent is asked for; the email waits in the outbox with its link's id,
//! // and the token is derived with the link key as it is delivered.
//! service.send_consent(&admin, &id, SendConsent::default()).await?;
//! let outbox = service.take_messages(TimeDelta::minutes(5), 10).await?;
//! assert!(matches!(outbox[0].message.kind, MessageKind::ConsentRequest { .. }));
//! let token = outbox[0].token.clone().expect("a consent request carries a link");
//!
//! // Three days later the customer accepts through the link.
//! clock.advance(TimeDelta::days(3))?;
//! service.accept_consent(&token).await?;
//!
//! // The Eligible tab shows the customer as active, 90 days left to claim.
//! let page = service.customers_page(&admin, workshop.id(), Tab::Eligible, None, 20).await?;
//! let CustomerRow::Nomination(row) = &page.rows[0] else { unreachable!() };
//! assert_eq!(row.row_type, RowType::Active);
//! assert_eq!(row.status.days_left, Some(90));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attention;
mod call;
mod claims;
mod clock;
mod command;
mod customer;
mod error;
mod export;
pub mod observability;
mod page;
mod partner;
pub mod ports;
mod reviewer;
mod service;
mod system;

pub use attention::Attention;
pub use call::Call;
pub use claims::{ClaimRow, ClaimsPage, ClaimsPageCursor, ClaimsRequest};
pub use command::{PartnerAnswer, PartnerCommand, ReviewerAnswer, ReviewerCommand};
pub use error::{Error, ErrorKind, Result};
pub use export::{ClaimsCsv, ExportError, ExportSummary};
pub use mci_core::MessageKind;
pub use mci_store::{ClaimCounts, ClaimsScope};
pub use page::{
    ActionNeeded, CustomerRow, CustomersPage, Due, EngagementSummary, Overview, OverviewFilter,
    PageCounts, PageCursor,
};
pub use partner::{AddCustomer, Added, ClaimCustomer};
pub use reviewer::PayoutRun;
pub use service::{
    HasEligibilitySource, Incentives, IncentivesBuilder, NoEligibilitySource, Settings,
    WithEligibilitySource,
};

/// Every value, engagement and rule type of `mci-core` the service speaks
/// in, so that an application depends on this crate and one store only.
/// The service's own types of the same name (none today) would take
/// precedence.
pub use mci_core::*;

/// The store contract: the [`Store`] trait an adapter implements, its
/// error and its query types.
pub use mci_store::{self as store, Store, StoreError};

/// The date and time crate of the service's signatures (`Instant` is a
/// `chrono::DateTime<Utc>`), re-exported so that its version always matches.
pub use chrono;
pub use system::{Delivery, SweepReport};
/// The uuid crate of the service's signatures, re-exported so that its
/// version always matches.
pub use uuid;
