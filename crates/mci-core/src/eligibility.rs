//! Who can be nominated for what (R-ADD-2, R-ADD-5, R-ADD-6, R-PAGE-4,
//! R-ROLE-3).
//!
//! The service asks its ports (partner directory, customer eligibility) and
//! its store (the other nominations of the same engagement and customer), and
//! hands the answers to the core as [`EligibilityFacts`]. The core combines
//! them into a list of [`Ineligibility`] reasons, empty when eligible. No
//! reason names or identifies another partner (R-ROLE-3).
//!
//! ```
//! # use mci_testkit::*;
//! use mci_core::{assess, Competitor, CustomerIdType, CustomerStanding, EligibilityFacts, Ineligibility, LocationStanding, Standing};
//!
//! let (workshop, now) = workshop();
//! let rival = Competitor {
//!     same_partner: false,
//!     standing: Standing { live: true, holds_consent: true, completed: false, asking: false, until: None },
//! };
//! let facts = EligibilityFacts {
//!     location: LocationStanding::Eligible,
//!     customer: CustomerStanding::Eligible,
//!     competitors: vec![rival],
//! };
//! let reasons = assess(&workshop, now, CustomerIdType::Domain, &facts);
//! assert!(reasons.contains(&Ineligibility::ConsentedToAnotherPartner));
//! ```

use crate::NominationId;
use crate::customer::Customer;
use crate::engagement::{Availability, CustomerIdType, Engagement};
use crate::guard::Standing;
use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The partner directory's answer about one location for one engagement
/// (R-ADD-2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "standing", content = "reason", rename_all = "snake_case")]
pub enum LocationStanding {
    /// The location is not one of the partner's.
    NotThePartners,
    /// The location is not enrolled in the program.
    NotEnrolled,
    /// Enrolled, but does not meet the engagement's partner criteria.
    Ineligible(String),
    /// Enrolled and eligible.
    Eligible,
}

/// The customer eligibility source's answer for one engagement and one
/// customer identifier (R-ADD-5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "standing", content = "reason", rename_all = "snake_case")]
pub enum CustomerStanding {
    /// Meets the engagement's criteria.
    Eligible,
    /// Does not, with the source's reason.
    Ineligible(String),
}

/// Another nomination of the same engagement and customer, as far as
/// eligibility needs to know: whether it is the same partner's, and its
/// standing. Never which partner (R-ROLE-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Competitor {
    /// Whether it is the acting partner's own.
    pub same_partner: bool,
    /// Its standing.
    pub standing: Standing,
}

/// Everything eligibility is decided from, for one engagement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibilityFacts {
    /// The chosen location.
    pub location: LocationStanding,
    /// The customer.
    pub customer: CustomerStanding,
    /// The other nominations of this engagement and customer.
    pub competitors: Vec<Competitor>,
}

/// Why a customer cannot be nominated for an engagement.
///
/// `#[non_exhaustive]`: later rules add reasons, so a match outside this
/// crate ends with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ineligibility {
    /// The engagement does not take nominations now (R-ENG-1).
    EngagementNotActive {
        /// Its availability.
        availability: Availability,
    },
    /// The engagement does not accept this kind of customer id (R-ENG-3).
    IdTypeNotAccepted {
        /// The kind given.
        id_type: CustomerIdType,
    },
    /// The location is not the partner's (R-ADD-2).
    LocationNotThePartners,
    /// The location is not enrolled in the program (R-ADD-2).
    LocationNotEnrolled,
    /// The location does not meet the engagement's criteria (R-ADD-2).
    LocationIneligible {
        /// The partner directory's reason.
        reason: String,
    },
    /// The customer does not meet the eligibility criteria (R-PAGE-4).
    CustomerIneligible {
        /// The eligibility source's reason.
        reason: String,
    },
    /// The customer consented to another partner for this engagement
    /// (R-PAGE-4, R-CONSENT-8).
    ConsentedToAnotherPartner,
    /// The customer already completed this engagement with another partner
    /// (R-PAGE-4).
    CompletedWithAnotherPartner,
    /// The customer already completed this engagement with this partner.
    AlreadyCompleted,
    /// The customer reached the limit of live nominations for this
    /// engagement (R-PAGE-4, R-ENG-5).
    ActiveLimitReached {
        /// The limit.
        limit: u32,
    },
    /// This partner already has a live nomination of the customer for this
    /// engagement (R-ADD-7).
    AlreadyNominated,
}

impl Ineligibility {
    /// The rule behind the reason.
    pub fn rule(&self) -> &'static str {
        match self {
            Ineligibility::EngagementNotActive { .. } => "R-ENG-1",
            Ineligibility::IdTypeNotAccepted { .. } => "R-ENG-3",
            Ineligibility::LocationNotThePartners
            | Ineligibility::LocationNotEnrolled
            | Ineligibility::LocationIneligible { .. } => "R-ADD-2",
            Ineligibility::CustomerIneligible { .. }
            | Ineligibility::CompletedWithAnotherPartner
            | Ineligibility::AlreadyCompleted => "R-PAGE-4",
            Ineligibility::ConsentedToAnotherPartner => "R-CONSENT-8",
            Ineligibility::ActiveLimitReached { .. } => "R-ENG-5",
            Ineligibility::AlreadyNominated => "R-ADD-7",
        }
    }
}

impl fmt::Display for Ineligibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ineligibility::EngagementNotActive { availability } => {
                write!(f, "the engagement is {availability}")
            }
            Ineligibility::IdTypeNotAccepted { id_type } => {
                write!(f, "the engagement does not accept a {id_type}")
            }
            Ineligibility::LocationNotThePartners => f.write_str("the location is not yours"),
            Ineligibility::LocationNotEnrolled => f.write_str("the location is not enrolled"),
            Ineligibility::LocationIneligible { reason } => {
                write!(f, "the location is not eligible: {reason}")
            }
            Ineligibility::CustomerIneligible { reason } => {
                write!(f, "does not meet the eligibility criteria: {reason}")
            }
            Ineligibility::ConsentedToAnotherPartner => f.write_str("consented to another partner"),
            Ineligibility::CompletedWithAnotherPartner => {
                f.write_str("already completed this engagement with another partner")
            }
            Ineligibility::AlreadyCompleted => f.write_str("already completed this engagement"),
            Ineligibility::ActiveLimitReached { limit } => {
                write!(f, "reached the limit of {limit} active nominations")
            }
            Ineligibility::AlreadyNominated => f.write_str("already nominated for this engagement"),
        }
    }
}

/// The reasons the location rules out (R-ADD-2).
pub fn location_ineligibility(location: &LocationStanding) -> Option<Ineligibility> {
    match location {
        LocationStanding::NotThePartners => Some(Ineligibility::LocationNotThePartners),
        LocationStanding::NotEnrolled => Some(Ineligibility::LocationNotEnrolled),
        LocationStanding::Ineligible(reason) => Some(Ineligibility::LocationIneligible {
            reason: reason.clone(),
        }),
        LocationStanding::Eligible => None,
    }
}

/// The reasons on the customer's side at `now`: the engagement's
/// availability and accepted id types, the eligibility source, and the other
/// nominations (R-PAGE-4, R-ENG-5, R-ADD-7).
pub fn customer_ineligibility(
    engagement: &Engagement,
    now: Instant,
    id_type: CustomerIdType,
    customer: &CustomerStanding,
    competitors: &[Competitor],
) -> Vec<Ineligibility> {
    let mut reasons = Vec::new();
    let availability = engagement.availability(now);
    if availability != Availability::Active {
        reasons.push(Ineligibility::EngagementNotActive { availability });
    }
    let rules = engagement.rules();
    if !rules.accepts(id_type) {
        reasons.push(Ineligibility::IdTypeNotAccepted { id_type });
    }
    if let CustomerStanding::Ineligible(reason) = customer {
        reasons.push(Ineligibility::CustomerIneligible {
            reason: reason.clone(),
        });
    }
    reasons.extend(competition(
        competitors,
        rules.active_nomination_limit(),
        now,
    ));
    reasons
}

/// The reasons the other nominations of the engagement and customer give
/// at `now` (R-ADD-7, R-PAGE-4, R-CONSENT-8, R-ENG-5), with `limit` live
/// nominations allowed per customer.
pub(crate) fn competition(
    competitors: &[Competitor],
    limit: u32,
    now: Instant,
) -> Vec<Ineligibility> {
    let mut reasons = Vec::new();
    let mine = |c: &&Competitor| c.same_partner;
    let theirs = |c: &&Competitor| !c.same_partner;
    if competitors
        .iter()
        .filter(mine)
        .any(|c| c.standing.live_at(now))
    {
        reasons.push(Ineligibility::AlreadyNominated);
    } else if competitors
        .iter()
        .filter(mine)
        .any(|c| c.standing.completed)
    {
        reasons.push(Ineligibility::AlreadyCompleted);
    }
    if competitors
        .iter()
        .filter(theirs)
        .any(|c| c.standing.completed)
    {
        reasons.push(Ineligibility::CompletedWithAnotherPartner);
    } else if competitors
        .iter()
        .filter(theirs)
        .any(|c| c.standing.holds_consent_at(now))
    {
        reasons.push(Ineligibility::ConsentedToAnotherPartner);
    }
    let live = competitors
        .iter()
        .filter(|c| c.standing.live_at(now))
        .count();
    if !u32::try_from(live).is_ok_and(|live| live < limit) {
        reasons.push(Ineligibility::ActiveLimitReached { limit });
    }
    reasons
}

/// Every reason the customer cannot be nominated for `engagement` from the
/// chosen location at `now`; empty when it can (R-ADD-6).
pub fn assess(
    engagement: &Engagement,
    now: Instant,
    id_type: CustomerIdType,
    facts: &EligibilityFacts,
) -> Vec<Ineligibility> {
    let mut reasons: Vec<Ineligibility> = location_ineligibility(&facts.location)
        .into_iter()
        .collect();
    reasons.extend(customer_ineligibility(
        engagement,
        now,
        id_type,
        &facts.customer,
        &facts.competitors,
    ));
    reasons
}

/// A customer known to the partner: it consented to this partner for some
/// engagement (R-CLAIM-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownCustomer {
    /// The customer as the earlier nomination recorded it.
    pub customer: Customer,
    /// The earlier consented nomination it is known through.
    pub through: NominationId,
}

/// A known customer's row on an engagement's page: claimable in the
/// Eligible tab, or in the Ineligible tab with its reasons (R-PAGE-2, -4),
/// as its [`KnownPlacement`](crate::KnownPlacement) puts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownCustomerRow {
    /// The customer.
    pub known: KnownCustomer,
    /// Why it cannot be claimed; empty when it can.
    pub reasons: Vec<Ineligibility>,
    /// Whether a trusted answer of the eligibility source stands behind the
    /// row; `false` reads "eligibility not checked yet" (R-PAGE-9).
    pub checked: bool,
}

impl KnownCustomerRow {
    /// The row of `known` placed by `placement`, or `None` when the partner
    /// has a live nomination of it there (that nomination's own row shows
    /// instead, R-PAGE-2).
    pub fn placed(known: KnownCustomer, placement: &crate::KnownPlacement) -> Option<Self> {
        placement.tab?;
        Some(Self {
            known,
            reasons: placement.reasons.clone(),
            checked: placement.checked,
        })
    }

    /// The tab it shows in.
    pub fn tab(&self) -> crate::Tab {
        if self.reasons.is_empty() {
            crate::Tab::Eligible
        } else {
            crate::Tab::Ineligible
        }
    }

    /// What can be done on it (R-PAGE-8).
    pub fn actions(&self) -> Vec<crate::Action> {
        if self.reasons.is_empty() {
            vec![crate::Action::ClaimCustomer]
        } else {
            Vec::new()
        }
    }
}
