//! The record of every change (R-REC-1).
//!
//! Each transition yields exactly one [`Event`]: who, when, what, the
//! nomination, and its state before and after. The event carries the
//! nomination version it produced, so a history reads back in order by
//! version.
//!
//! ```
//! use mci_core::{EventKind, State};
//!
//! let kind = EventKind::ConsentAccepted;
//! assert_eq!(kind.to_string(), "consent accepted");
//! # let _ = State::Consented;
//! ```

use crate::actor::Actor;
use crate::link::LinkPurpose;
use crate::nomination::Origin;
use crate::state::State;
use crate::time::{Days, Instant};
use crate::{
    Comment, DocumentKind, DocumentRef, Money, NominationId, PayoutBatchId, Sha256Digest,
    SurveyKind,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One change to one nomination (R-REC-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The nomination changed.
    pub nomination: NominationId,
    /// The nomination's version after the change; 1 for its creation.
    pub version: u64,
    /// When the change took effect.
    pub at: Instant,
    /// Who made it.
    pub actor: Actor,
    /// The state before, `None` for the creation.
    pub from: Option<State>,
    /// The state after.
    pub to: State,
    /// What happened.
    pub kind: EventKind,
    /// The hash of the nomination's previous event; `None` for its
    /// creation (R-LIST-4).
    pub previous: Option<Sha256Digest>,
    /// The hash of the last event the actor saw when it decided: a
    /// reviewer's decision cites it, and is refused when the history has
    /// moved on since ([`Refusal::StaleHead`](crate::Refusal::StaleHead),
    /// R-LIST-4). `None` for every other change; absent from the JSON
    /// then, so histories written before it keep their hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<Sha256Digest>,
    /// The SHA-256 of this event's canonical content: every member but
    /// this one (R-LIST-4, [`event_hash`](crate::event_hash)).
    pub hash: Sha256Digest,
}

/// What a change was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// Added or claimed (R-ADD, R-CLAIM).
    Created {
        /// Added, or claimed from an earlier nomination.
        origin: Origin,
    },
    /// A consent email was queued (R-CONSENT-2).
    ConsentRequested {
        /// Whether it was the first request.
        first: bool,
    },
    /// A consent reminder was queued (R-CONSENT-3).
    ConsentReminded,
    /// Contacts changed; the links of these purposes were voided
    /// (R-CONSENT-4, R-CLAIM-W-4).
    ContactsUpdated {
        /// Whether the customer's contacts changed.
        customer: bool,
        /// Whether the partner's contacts changed.
        partner: bool,
        /// The purposes whose links were voided.
        voided: Vec<LinkPurpose>,
    },
    /// The customer accepted (R-CONSENT-5).
    ConsentAccepted,
    /// The customer declined (R-CONSENT-6).
    ConsentDeclined,
    /// The customer's consent to another partner for the engagement was
    /// accepted while this nomination still asked for it: it asks no more,
    /// and its links were voided (R-CONSENT-10). Who won is not recorded
    /// here (R-ROLE-3).
    ConsentedToAnotherPartner,
    /// A deadline passed (R-TIME-4).
    Lapsed {
        /// The deadline that passed.
        deadline: Instant,
    },
    /// A proof document was attached or replaced (R-CLAIM-W-2).
    DocumentAttached {
        /// Which document.
        kind: DocumentKind,
        /// Its reference.
        document: DocumentRef,
    },
    /// A survey was sent or re-sent (R-CLAIM-W-3).
    SurveySent {
        /// Which survey.
        survey: SurveyKind,
    },
    /// A survey was completed (R-CLAIM-W-3).
    SurveyCompleted {
        /// Which survey.
        survey: SurveyKind,
    },
    /// A comment for the reviewer (R-CLAIM-W-5).
    CommentAdded {
        /// The comment.
        comment: Comment,
    },
    /// The claim was submitted, or resubmitted after partner action
    /// (R-CLAIM-W-6, -7).
    Submitted {
        /// Whether it had been submitted before.
        resubmission: bool,
    },
    /// The reviewer started the review (R-CLAIM-W-7).
    ReviewStarted,
    /// The reviewer asked the partner for more (R-CLAIM-W-7).
    PartnerActionRequested {
        /// What the reviewer asks for.
        note: Comment,
    },
    /// Approved with its payout (R-CLAIM-W-7).
    Approved {
        /// The amount to pay.
        payout: Money,
    },
    /// Rejected (R-CLAIM-W-7, -8).
    Rejected {
        /// Why.
        reason: Comment,
    },
    /// The partner disputed the rejection (R-CLAIM-W-8).
    Disputed {
        /// Why.
        reason: Comment,
    },
    /// Cancelled by the partner (R-CLAIM-W-10).
    Cancelled,
    /// Paid in a payout batch (R-CLAIM-W-9).
    Paid {
        /// The batch.
        batch: PayoutBatchId,
        /// The amount.
        amount: Money,
    },
    /// The partner was reminded of a deadline (R-REC-6).
    Reminded {
        /// The deadline.
        deadline: Instant,
        /// How long before it.
        before: Days,
    },
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Created { origin } => write!(f, "{origin}"),
            EventKind::ConsentRequested { first: true } => f.write_str("consent requested"),
            EventKind::ConsentRequested { first: false } => f.write_str("consent requested again"),
            EventKind::ConsentReminded => f.write_str("consent reminder sent"),
            EventKind::ContactsUpdated { .. } => f.write_str("contacts updated"),
            EventKind::ConsentAccepted => f.write_str("consent accepted"),
            EventKind::ConsentDeclined => f.write_str("consent declined"),
            EventKind::ConsentedToAnotherPartner => {
                f.write_str("the customer consented to another partner")
            }
            EventKind::Lapsed { deadline } => write!(f, "lapsed at {deadline}"),
            EventKind::DocumentAttached { kind, .. } => write!(f, "{kind} attached"),
            EventKind::SurveySent { survey } => write!(f, "{survey} sent"),
            EventKind::SurveyCompleted { survey } => write!(f, "{survey} completed"),
            EventKind::CommentAdded { .. } => f.write_str("comment added"),
            EventKind::Submitted {
                resubmission: false,
            } => f.write_str("claim submitted"),
            EventKind::Submitted { resubmission: true } => f.write_str("claim resubmitted"),
            EventKind::ReviewStarted => f.write_str("review started"),
            EventKind::PartnerActionRequested { .. } => f.write_str("partner action requested"),
            EventKind::Approved { payout } => write!(f, "approved for {payout}"),
            EventKind::Rejected { .. } => f.write_str("rejected"),
            EventKind::Disputed { .. } => f.write_str("disputed"),
            EventKind::Cancelled => f.write_str("cancelled"),
            EventKind::Paid { amount, .. } => write!(f, "paid {amount}"),
            EventKind::Reminded { before, .. } => {
                write!(f, "reminded {before} before the deadline")
            }
        }
    }
}
