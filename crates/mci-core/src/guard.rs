//! What must still hold when a change is written (ARCHITECTURE "Guards").
//!
//! Some rules span the nominations of several partners. The core cannot
//! check them alone under concurrency, so a decision carries them as
//! [`Guard`]s and the store checks them in the transaction that writes the
//! change, against the [`Standing`] of the other nominations of the same
//! engagement and customer. A store keeps each nomination's standing as plain
//! columns (four flags and an instant) and never re-derives a rule.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use mci_core::{Guard, Standing};
//!
//! let now = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
//! let guard = Guard::NoOtherConsent {
//!     engagement: "workshop".parse().unwrap(),
//!     customer: "tpid:42".parse().unwrap(),
//! };
//! let partner = "p1".parse().unwrap();
//! let consented = Standing {
//!     live: true,
//!     holds_consent: true,
//!     completed: false,
//!     asking: false,
//!     until: Some(now + chrono::TimeDelta::days(60)),
//! };
//! assert!(!guard.admits([(&partner, &consented)], now));
//! // The same nomination after its deadline no longer holds the consent.
//! assert!(guard.admits([(&partner, &consented)], now + chrono::TimeDelta::days(61)));
//! ```

use crate::customer::CustomerId;
use crate::eligibility::Ineligibility;
use crate::time::Instant;
use crate::{EngagementId, PartnerId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a nomination means to the guards of other nominations of the same
/// engagement and customer. The flags hold until `until` (the nomination's
/// next lapse, after which it is terminal and none of them holds but
/// `completed`, which never lapses).
///
/// A nomination that lost the customer to another partner (R-CONSENT-10)
/// is `live` (it counts for R-ENG-5 and R-ADD-7 until it ends) but not
/// `asking`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Standing {
    /// Not terminal: counts for R-ADD-7 and R-ENG-5.
    pub live: bool,
    /// The customer consented to this nomination's partner and the
    /// nomination is live or completed: counts for R-CONSENT-8.
    pub holds_consent: bool,
    /// Approved or paid (R-PAGE-4 "completed").
    pub completed: bool,
    /// Customer claimed or awaiting consent, and not lost to another
    /// partner's accepted consent: it still asks the customer for consent
    /// (R-CONSENT-10).
    pub asking: bool,
    /// The instant the live flags stop holding, if any.
    pub until: Option<Instant>,
}

impl Standing {
    fn in_force(&self, now: Instant) -> bool {
        self.until.is_none_or(|until| now < until)
    }

    /// Whether the nomination is live at `now`.
    pub fn live_at(&self, now: Instant) -> bool {
        self.live && self.in_force(now)
    }

    /// Whether the nomination holds the customer's consent at `now`.
    pub fn holds_consent_at(&self, now: Instant) -> bool {
        self.completed || (self.holds_consent && self.in_force(now))
    }

    /// Whether the nomination still asks for the customer's consent at
    /// `now` (R-CONSENT-10).
    pub fn asking_at(&self, now: Instant) -> bool {
        self.asking && self.in_force(now)
    }
}

/// A condition on the other nominations of one (engagement, customer),
/// checked by the store when it writes a change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "guard", rename_all = "snake_case")]
pub enum Guard {
    /// No other nomination holds the customer's consent for the engagement
    /// (R-CONSENT-8).
    NoOtherConsent {
        /// The engagement.
        engagement: EngagementId,
        /// The customer.
        customer: CustomerId,
    },
    /// The partner has no other live nomination of the customer for the
    /// engagement (R-ADD-7).
    NoOtherLiveNomination {
        /// The partner.
        partner: PartnerId,
        /// The engagement.
        engagement: EngagementId,
        /// The customer.
        customer: CustomerId,
    },
    /// Fewer than `limit` other live nominations of the customer for the
    /// engagement, across partners (R-ENG-5).
    LiveNominationsBelow {
        /// The engagement.
        engagement: EngagementId,
        /// The customer.
        customer: CustomerId,
        /// The limit, counting the nomination being written.
        limit: u32,
    },
    /// No other partner's nomination of the customer for the engagement
    /// still asks for consent (R-CONSENT-10). An acceptance carries it,
    /// written after the rivals it decided lose: a rival it did not know of
    /// (created while it was decided) fails it, and the acceptance is
    /// decided again ([`Guard::is_retryable`]).
    NoRivalAsking {
        /// The partner the customer consents to.
        partner: PartnerId,
        /// The engagement.
        engagement: EngagementId,
        /// The customer.
        customer: CustomerId,
    },
}

impl Guard {
    /// The engagement whose nominations the guard looks at.
    pub fn engagement(&self) -> &EngagementId {
        match self {
            Guard::NoOtherConsent { engagement, .. }
            | Guard::NoOtherLiveNomination { engagement, .. }
            | Guard::LiveNominationsBelow { engagement, .. }
            | Guard::NoRivalAsking { engagement, .. } => engagement,
        }
    }

    /// The customer whose nominations the guard looks at.
    pub fn customer(&self) -> &CustomerId {
        match self {
            Guard::NoOtherConsent { customer, .. }
            | Guard::NoOtherLiveNomination { customer, .. }
            | Guard::LiveNominationsBelow { customer, .. }
            | Guard::NoRivalAsking { customer, .. } => customer,
        }
    }

    /// The rule the guard enforces.
    pub fn rule(&self) -> &'static str {
        match self {
            Guard::NoOtherConsent { .. } => "R-CONSENT-8",
            Guard::NoOtherLiveNomination { .. } => "R-ADD-7",
            Guard::LiveNominationsBelow { .. } => "R-ENG-5",
            Guard::NoRivalAsking { .. } => "R-CONSENT-10",
        }
    }

    /// Whether a failure of the guard means only that the decision read
    /// too early: read again, decide again, and the new decision may be
    /// written. True of [`Guard::NoRivalAsking`] alone: the acceptance is
    /// decided again with the rival that appeared, which then loses
    /// (R-CONSENT-10). The other guards refuse the change for good.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Guard::NoRivalAsking { .. })
    }

    /// Whether the guard holds at `now`, given the partner and standing of
    /// every *other* nomination of the same engagement and customer (the
    /// nomination being written excluded). This is the whole predicate a
    /// store implements.
    pub fn admits<'a>(
        &self,
        others: impl IntoIterator<Item = (&'a PartnerId, &'a Standing)>,
        now: Instant,
    ) -> bool {
        let mut others = others.into_iter();
        match self {
            Guard::NoOtherConsent { .. } => !others.any(|(_, s)| s.holds_consent_at(now)),
            Guard::NoOtherLiveNomination { partner, .. } => {
                !others.any(|(p, s)| p == partner && s.live_at(now))
            }
            Guard::LiveNominationsBelow { limit, .. } => {
                let live = others.filter(|(_, s)| s.live_at(now)).count();
                u32::try_from(live).is_ok_and(|live| live < *limit)
            }
            Guard::NoRivalAsking { partner, .. } => {
                !others.any(|(p, s)| p != partner && s.asking_at(now))
            }
        }
    }

    /// The reason the customer is ineligible when this guard fails, phrased
    /// so that it never names the other partner (R-ROLE-3); `None` for a
    /// guard whose failure makes nobody ineligible
    /// ([`Guard::NoRivalAsking`]: decide again, [`Guard::is_retryable`]).
    pub fn ineligibility(&self) -> Option<Ineligibility> {
        match self {
            Guard::NoOtherConsent { .. } => Some(Ineligibility::ConsentedToAnotherPartner),
            Guard::NoOtherLiveNomination { .. } => Some(Ineligibility::AlreadyNominated),
            Guard::LiveNominationsBelow { limit, .. } => {
                Some(Ineligibility::ActiveLimitReached { limit: *limit })
            }
            Guard::NoRivalAsking { .. } => None,
        }
    }
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Guard::NoOtherConsent {
                engagement,
                customer,
            } => write!(
                f,
                "no other consent of {customer} for {engagement} ({})",
                self.rule()
            ),
            Guard::NoOtherLiveNomination {
                engagement,
                customer,
                ..
            } => write!(
                f,
                "no second live nomination of {customer} for {engagement} ({})",
                self.rule()
            ),
            Guard::LiveNominationsBelow {
                engagement,
                customer,
                limit,
            } => write!(
                f,
                "fewer than {limit} live nominations of {customer} for {engagement} ({})",
                self.rule()
            ),
            Guard::NoRivalAsking {
                engagement,
                customer,
                ..
            } => write!(
                f,
                "no other partner's nomination of {customer} for {engagement} still asks for consent ({})",
                self.rule()
            ),
        }
    }
}
