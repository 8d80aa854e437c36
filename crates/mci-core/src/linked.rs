//! One customer, two identifiers (R-LIST-5).
//!
//! Eligibility does not cascade across a customer's identifiers (R-ADD-5),
//! so a partner could nominate one customer twice for an engagement: once
//! under a tenant id and once under the TPID that tenant is under, say.
//! When the tenant directory links the identifier of an add to another one
//! under which the partner already nominated the customer for the
//! engagement, the review step (R-ADD-10) and the add's answer say so. It
//! is a warning, never a refusal.
//!
//! ```
//! use mci_core::{AddWarning, CustomerId, Standing, linked_nomination_warnings};
//! use chrono::{TimeZone, Utc};
//!
//! let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
//! let tpid = CustomerId::Tpid("7001".parse().unwrap());
//! let live = Standing { live: true, holds_consent: false, completed: false, asking: true, until: None };
//! let warnings = linked_nomination_warnings(now, [("ai-workshop".parse().unwrap(), tpid, live)]);
//! assert_eq!(
//!     warnings,
//!     vec![AddWarning::NominatedUnderAnotherId { engagement: "ai-workshop".parse().unwrap(), customer: tpid }],
//! );
//! assert_eq!(
//!     warnings[0].to_string(),
//!     "ai-workshop: the tenant directory links this customer to tpid:7001, under which you already nominated it for this engagement (R-LIST-5)",
//! );
//!
//! // A nomination that ended without consent or completion is no double.
//! let ended = Standing { live: false, asking: false, ..live };
//! assert!(linked_nomination_warnings(now, [("ai-workshop".parse().unwrap(), tpid, ended)]).is_empty());
//! ```

use crate::EngagementId;
use crate::customer::CustomerId;
use crate::guard::Standing;
use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an add warns of without refusing it.
///
/// Its JSON form names the warning in snake case under `"warning"`, beside
/// its fields: `{"warning": "nominated_under_another_id", "engagement":
/// "ai-workshop", "customer": "tpid:7001"}`. `#[non_exhaustive]`:
/// later rules may warn of more.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum AddWarning {
    /// The tenant directory links the customer of the add to `customer`,
    /// another identifier under which the partner already nominated it for
    /// `engagement`, and that nomination is live or completed (R-LIST-5).
    NominatedUnderAnotherId {
        /// The engagement.
        engagement: EngagementId,
        /// The other identifier, as the earlier nomination has it.
        customer: CustomerId,
    },
}

impl AddWarning {
    /// The SPEC rule the warning comes from.
    pub fn rule(&self) -> &'static str {
        match self {
            AddWarning::NominatedUnderAnotherId { .. } => "R-LIST-5",
        }
    }

    /// The engagement the warning is about.
    pub fn engagement(&self) -> &EngagementId {
        match self {
            AddWarning::NominatedUnderAnotherId { engagement, .. } => engagement,
        }
    }
}

impl fmt::Display for AddWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddWarning::NominatedUnderAnotherId {
                engagement,
                customer,
            } => write!(
                f,
                "{engagement}: the tenant directory links this customer to {customer}, under which you already nominated it for this engagement ({})",
                self.rule()
            ),
        }
    }
}

/// The warnings of an add (R-LIST-5), from the standings of the partner's
/// own nominations of the identifiers the tenant directory links to the
/// add's customer, each with its engagement and identifier. A nomination
/// counts while it is live at `now` or once it completed (approved or
/// paid): one that was declined, lapsed, cancelled or finally rejected is
/// no double. One warning per engagement and identifier, in the order
/// first found.
pub fn linked_nomination_warnings(
    now: Instant,
    findings: impl IntoIterator<Item = (EngagementId, CustomerId, Standing)>,
) -> Vec<AddWarning> {
    let mut warnings: Vec<AddWarning> = Vec::new();
    for (engagement, customer, standing) in findings {
        if !(standing.live_at(now) || standing.completed) {
            continue;
        }
        let warning = AddWarning::NominatedUnderAnotherId {
            engagement,
            customer,
        };
        if !warnings.contains(&warning) {
            warnings.push(warning);
        }
    }
    warnings
}
