//! Who performs a call, and the roles a partner user needs (R-ROLE).
//!
//! ```
//! use mci_core::{PartnerUser, Refusal, Role};
//!
//! let admin = PartnerUser::new("4711".parse().unwrap(), "ada".parse().unwrap(), Role::IncentivesAdmin);
//! assert!(admin.authorize().is_ok());
//!
//! let viewer = PartnerUser::new("4711".parse().unwrap(), "bob".parse().unwrap(), Role::Other("Account admin".into()));
//! assert!(matches!(viewer.authorize(), Err(Refusal::RoleNotAllowed { .. })));
//! ```

use crate::refusal::Refusal;
use crate::{PartnerId, ReviewerId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A partner user's role in Partner Center.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Incentives admin: may act for the partner (R-ROLE-1).
    IncentivesAdmin,
    /// Incentives user: may act for the partner (R-ROLE-1).
    IncentivesUser,
    /// Any other role, by name: refused for partner-side calls.
    Other(String),
}

impl Role {
    /// Whether the role may make partner-side calls (R-ROLE-1).
    pub fn may_act_for_partner(&self) -> bool {
        matches!(self, Role::IncentivesAdmin | Role::IncentivesUser)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::IncentivesAdmin => f.write_str("Incentives admin"),
            Role::IncentivesUser => f.write_str("Incentives user"),
            Role::Other(name) => f.write_str(name),
        }
    }
}

/// A partner user making a call for exactly one partner.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartnerUser {
    partner: PartnerId,
    user: UserId,
    role: Role,
}

impl PartnerUser {
    /// A user of `partner` with `role`. Check it with [`PartnerUser::authorize`].
    pub fn new(partner: PartnerId, user: UserId, role: Role) -> Self {
        Self {
            partner,
            user,
            role,
        }
    }

    /// The partner the user acts for.
    pub fn partner(&self) -> &PartnerId {
        &self.partner
    }

    /// The user.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The user's role.
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// The user, if the role may act for the partner (R-ROLE-1).
    pub fn authorize(self) -> Result<Self, Refusal> {
        self.may_act()?;
        Ok(self)
    }

    /// [`PartnerUser::authorize`] for callers that only borrow the user:
    /// refuses the same way, without a copy of the user to give back.
    pub(crate) fn may_act(&self) -> Result<(), Refusal> {
        if self.role.may_act_for_partner() {
            Ok(())
        } else {
            Err(Refusal::RoleNotAllowed {
                role: self.role.to_string(),
            })
        }
    }

    /// This user as the actor of an event.
    pub fn actor(&self) -> Actor {
        Actor::Partner {
            partner: self.partner.clone(),
            user: self.user.clone(),
        }
    }
}

/// Who performed a change, as events record it (R-REC-1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A partner user.
    Partner {
        /// The partner.
        partner: PartnerId,
        /// The user.
        user: UserId,
    },
    /// A program reviewer (R-ROLE-4).
    Reviewer {
        /// The reviewer.
        reviewer: ReviewerId,
    },
    /// The customer, through a link (R-ROLE-4).
    Customer,
    /// The partner's survey respondent, through a survey link.
    PartnerContact,
    /// The system: expiry and reminders (R-TIME-4).
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Partner { partner, user } => write!(f, "partner {partner} user {user}"),
            Actor::Reviewer { reviewer } => write!(f, "reviewer {reviewer}"),
            Actor::Customer => f.write_str("customer"),
            Actor::PartnerContact => f.write_str("partner contact"),
            Actor::System => f.write_str("system"),
        }
    }
}
