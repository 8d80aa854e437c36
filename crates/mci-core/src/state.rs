//! The states of a nomination, and the tab each shows in (SPEC "The states").
//!
//! ```
//! use mci_core::State;
//!
//! assert!(!State::AwaitingConsent.is_terminal());
//! assert!(State::ConsentExpired.is_terminal());
//! assert!(State::Approved.is_terminal()); // only a payout moves it on, to Paid
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a nomination stands (SPEC "The states").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Added or claimed; consent not yet asked for (R-CONSENT-2).
    CustomerClaimed,
    /// Consent asked for, no answer yet.
    AwaitingConsent,
    /// The customer declined (R-CONSENT-6).
    ConsentDeclined,
    /// No answer by the consent deadline (R-CONSENT-7).
    ConsentExpired,
    /// Consent given; the claim is in preparation (R-CLAIM-W-1).
    Consented,
    /// Submitted, waiting for the reviewer (R-CLAIM-W-7).
    Submitted,
    /// The reviewer has started the review.
    UnderReview,
    /// The reviewer asked the partner for more.
    PartnerActionRequired,
    /// Rejected; the dispute window is open (R-CLAIM-W-8).
    Rejected,
    /// Disputed; the review runs again in a fresh window.
    Disputed,
    /// Approved, waiting for a payout run (R-CLAIM-W-9).
    Approved,
    /// Paid in a payout batch.
    Paid,
    /// Rejected with no dispute left.
    RejectedFinal,
    /// Not submitted by the first-submit deadline (R-CLAIM-W-1).
    NotSubmittedExpired,
    /// Review not complete by its deadline (R-CLAIM-W-7).
    PostSubmissionExpired,
    /// A dispute's review not complete in its window (R-CLAIM-W-8).
    DisputeExpired,
    /// Cancelled by the partner before the first submission (R-CLAIM-W-10).
    Cancelled,
}

impl State {
    /// Every state.
    pub const ALL: [State; 17] = [
        State::CustomerClaimed,
        State::AwaitingConsent,
        State::ConsentDeclined,
        State::ConsentExpired,
        State::Consented,
        State::Submitted,
        State::UnderReview,
        State::PartnerActionRequired,
        State::Rejected,
        State::Disputed,
        State::Approved,
        State::Paid,
        State::RejectedFinal,
        State::NotSubmittedExpired,
        State::PostSubmissionExpired,
        State::DisputeExpired,
        State::Cancelled,
    ];

    /// Whether nothing but a payout (Approved to Paid) can move it on.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            State::ConsentDeclined
                | State::ConsentExpired
                | State::Approved
                | State::Paid
                | State::RejectedFinal
                | State::NotSubmittedExpired
                | State::PostSubmissionExpired
                | State::DisputeExpired
                | State::Cancelled
        )
    }

    /// Whether the nomination is still in play: neither terminal nor
    /// approved. Live nominations count against the limit of R-ENG-5 and
    /// the duplicate rule of R-ADD-7.
    pub fn is_live(self) -> bool {
        !self.is_terminal()
    }

    /// Whether the engagement was delivered and approved (R-PAGE-4
    /// "completed").
    pub fn is_completed(self) -> bool {
        matches!(self, State::Approved | State::Paid)
    }

    /// Whether consent has not been answered yet.
    pub fn is_before_consent(self) -> bool {
        matches!(self, State::CustomerClaimed | State::AwaitingConsent)
    }

    /// Whether the claim has been submitted at least once (consent states
    /// and [`State::Consented`] are before it).
    pub fn is_after_submission(self) -> bool {
        matches!(
            self,
            State::Submitted
                | State::UnderReview
                | State::PartnerActionRequired
                | State::Rejected
                | State::Disputed
                | State::Approved
                | State::Paid
                | State::RejectedFinal
                | State::PostSubmissionExpired
                | State::DisputeExpired
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::CustomerClaimed => "customer claimed",
            State::AwaitingConsent => "awaiting consent",
            State::ConsentDeclined => "consent declined",
            State::ConsentExpired => "consent expired",
            State::Consented => "consented",
            State::Submitted => "submitted",
            State::UnderReview => "under review",
            State::PartnerActionRequired => "partner action required",
            State::Rejected => "rejected",
            State::Disputed => "disputed",
            State::Approved => "approved",
            State::Paid => "paid",
            State::RejectedFinal => "rejected, final",
            State::NotSubmittedExpired => "not submitted, expired",
            State::PostSubmissionExpired => "post-submission expired",
            State::DisputeExpired => "dispute expired",
            State::Cancelled => "cancelled",
        })
    }
}
