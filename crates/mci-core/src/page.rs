//! The Customers page of an engagement: tabs, rows, days left and actions
//! (R-PAGE).
//!
//! A nomination's tab depends on time: one awaiting consent leaves the page at
//! its deadline. So each nomination gives stores a [`Placement`]: its tab now,
//! the instant of its next lapse, and its tab after that lapse. A store keeps
//! them as plain columns and answers "which rows are in this tab at `now`"
//! with [`Placement::tab_at`]'s comparison, without knowing a rule; the page
//! read at `now` is then the same whether or not the sweep has run (R-PAGE-7).
//!
//! ```
//! # use mci_testkit::*;
//! use mci_core::{Action, RowType, Tab};
//!
//! let (nomination, added) = fresh_nomination();
//! let row = nomination.page_row(added).unwrap();
//! assert_eq!(row.tab, Tab::Eligible);
//! assert_eq!(row.row_type, RowType::NotStarted);
//! assert_eq!(row.status.days_left, Some(30));
//! assert_eq!(row.actions, vec![Action::SendConsentEmail, Action::Cancel]);
//!
//! // At the deadline it lapses and leaves the page (R-CONSENT-7, R-PAGE-6).
//! let deadline = nomination.deadline().unwrap().at;
//! assert_eq!(nomination.page_row(deadline), None);
//! assert_eq!(nomination.placement().tab_at(deadline), None);
//! ```
//!
//! A nomination that lost the customer to another partner's accepted
//! consent keeps its state but shows on the Ineligible tab, with the reason
//! "consented to another partner" and Cancel as its only action, until it
//! is cancelled or its consent deadline passes (R-CONSENT-10, SPEC "The
//! states").

use crate::customer::CustomerId;
use crate::eligibility::Ineligibility;
use crate::lapse::DeadlineKind;
use crate::nomination::Nomination;
use crate::state::State;
use crate::time::Instant;
use crate::{FriendlyName, NominationId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A tab of the Customers page (R-PAGE-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tab {
    /// Live nominations and claimable known customers (R-PAGE-2).
    Eligible,
    /// Nominations that lost the customer to another partner
    /// (R-CONSENT-10), and known customers that cannot be nominated, with
    /// reasons (R-PAGE-4).
    Ineligible,
    /// Terminal nominations after consent (R-PAGE-5).
    Complete,
}

impl Tab {
    /// The three tabs.
    pub const ALL: [Tab; 3] = [Tab::Eligible, Tab::Ineligible, Tab::Complete];

    /// A small stable number for storage: 1, 2, 3 (0 stands for hidden).
    pub fn code(tab: Option<Tab>) -> u8 {
        match tab {
            None => 0,
            Some(Tab::Eligible) => 1,
            Some(Tab::Ineligible) => 2,
            Some(Tab::Complete) => 3,
        }
    }

    /// The tab of a storage code; `None` for hidden or an unknown code.
    pub fn from_code(code: u8) -> Option<Tab> {
        match code {
            1 => Some(Tab::Eligible),
            2 => Some(Tab::Ineligible),
            3 => Some(Tab::Complete),
            _ => None,
        }
    }
}

impl fmt::Display for Tab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tab::Eligible => "Eligible",
            Tab::Ineligible => "Ineligible",
            Tab::Complete => "Complete",
        })
    }
}

/// The Type column: "not started" until consent, "active" after (R-PAGE-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowType {
    /// Consent not yet received.
    NotStarted,
    /// Consent received.
    Active,
}

impl fmt::Display for RowType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RowType::NotStarted => "not started",
            RowType::Active => "active",
        })
    }
}

/// What can be done on a row now (R-PAGE-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Claim a known customer (R-CLAIM).
    ClaimCustomer,
    /// Send the consent email (R-CONSENT-2).
    SendConsentEmail,
    /// Re-send it (R-CONSENT-3).
    ResendConsentEmail,
    /// Prepare and submit the workshop claim (R-CLAIM-W-6).
    SubmitWorkshopClaim,
    /// Answer the reviewer's request (R-CLAIM-W-7).
    AnswerReviewer,
    /// Dispute the rejection (R-CLAIM-W-8).
    Dispute,
    /// Cancel (R-CLAIM-W-10).
    Cancel,
    /// Open the workshop claim.
    ViewWorkshopClaim,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::ClaimCustomer => "claim customer",
            Action::SendConsentEmail => "send consent email",
            Action::ResendConsentEmail => "re-send consent email",
            Action::SubmitWorkshopClaim => "submit workshop claim",
            Action::AnswerReviewer => "answer the reviewer",
            Action::Dispute => "dispute",
            Action::Cancel => "cancel",
            Action::ViewWorkshopClaim => "view workshop claim",
        })
    }
}

/// The three values a store filters tabs and the sweep on (ARCHITECTURE
/// "Stores compare instants"), plus the instant the sweep next has work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Placement {
    /// The tab as stored; `None` when hidden.
    pub tab: Option<Tab>,
    /// The instant of the next lapse, if any.
    pub lapse_at: Option<Instant>,
    /// The tab after that lapse; `None` when hidden.
    pub tab_after_lapse: Option<Tab>,
    /// When the sweep next has something to do: a reminder or the lapse.
    pub wake_at: Option<Instant>,
}

impl Placement {
    /// The tab at `now`: the stored tab until the lapse, then the tab after
    /// it. A store's tab query is this comparison: "in this tab and not yet
    /// lapsed, or lapsing into this tab and lapsed".
    pub fn tab_at(&self, now: Instant) -> Option<Tab> {
        match self.lapse_at {
            Some(lapse) if now >= lapse => self.tab_after_lapse,
            _ => self.tab,
        }
    }
}

/// Days left, and to what (R-PAGE-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Status {
    /// The state at the instant read.
    pub state: State,
    /// The window still running, if any.
    pub deadline: Option<DeadlineKind>,
    /// Days left in it, rounded up (R-TIME-3).
    pub days_left: Option<u32>,
}

/// One nomination's row of the Customers page (R-PAGE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRow {
    /// The nomination; also the claim id that opens the claim (R-PAGE-5).
    pub nomination: NominationId,
    /// The partner's name for it.
    pub friendly_name: FriendlyName,
    /// The customer.
    pub customer: CustomerId,
    /// The tab it shows in.
    pub tab: Tab,
    /// The Type column.
    pub row_type: RowType,
    /// The status column.
    pub status: Status,
    /// Why it is on the Ineligible tab, if it is: the customer consented to
    /// another partner, never named (R-CONSENT-10, R-ROLE-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Ineligibility>,
    /// What can be done now (R-PAGE-8).
    pub actions: Vec<Action>,
}

/// The tab a nomination in `state` shows in; `None` when hidden (SPEC "The
/// states"). A cancelled one shows in Complete only if consent was given;
/// one that lost the customer to another partner shows in Ineligible until
/// it ends (R-CONSENT-10).
fn tab_of(state: State, consented: bool, lost: bool) -> Option<Tab> {
    match state {
        State::CustomerClaimed | State::AwaitingConsent if lost => Some(Tab::Ineligible),
        State::CustomerClaimed
        | State::AwaitingConsent
        | State::Consented
        | State::Submitted
        | State::UnderReview
        | State::PartnerActionRequired
        | State::Rejected
        | State::Disputed => Some(Tab::Eligible),
        State::ConsentDeclined | State::ConsentExpired => None,
        State::Approved
        | State::Paid
        | State::RejectedFinal
        | State::NotSubmittedExpired
        | State::PostSubmissionExpired
        | State::DisputeExpired => Some(Tab::Complete),
        State::Cancelled => consented.then_some(Tab::Complete),
    }
}

impl Nomination {
    /// The tab it shows in as stored; `None` when hidden (R-PAGE-2, -5, -6).
    pub fn tab(&self) -> Option<Tab> {
        tab_of(self.state, self.consented(), self.consent.lost_at.is_some())
    }

    /// Why it shows on the Ineligible tab, if it does: the customer
    /// consented to another partner while it asked (R-CONSENT-10), a reason
    /// that never names that partner (R-ROLE-3).
    pub fn ineligibility(&self) -> Option<Ineligibility> {
        (self.tab() == Some(Tab::Ineligible)).then_some(Ineligibility::ConsentedToAnotherPartner)
    }

    fn consented(&self) -> bool {
        self.consent.accepted_at.is_some()
    }

    /// The values a store keeps to answer tab and sweep queries by comparing
    /// instants (R-PAGE-7).
    pub fn placement(&self) -> Placement {
        let deadline = self.deadline();
        Placement {
            tab: self.tab(),
            lapse_at: deadline.map(|d| d.at),
            tab_after_lapse: deadline.and_then(|d| {
                tab_of(
                    d.kind.lapses_into(),
                    self.consented(),
                    self.consent.lost_at.is_some(),
                )
            }),
            wake_at: self.wake_at(),
        }
    }

    /// The actions allowed at `now` (R-PAGE-8), computed here so that no
    /// caller re-derives them.
    pub fn actions(&self, now: Instant) -> Vec<Action> {
        let now = self.not_before_last_change(now);
        let current = self.at(now);
        let consented = current.consented();
        let mut actions = match current.state {
            // Lost to another partner: it asks no more (R-CONSENT-10).
            _ if current.ineligibility().is_some() => vec![Action::Cancel],
            State::CustomerClaimed => vec![Action::SendConsentEmail, Action::Cancel],
            State::AwaitingConsent => vec![Action::ResendConsentEmail, Action::Cancel],
            State::Consented => vec![Action::SubmitWorkshopClaim, Action::Cancel],
            State::PartnerActionRequired => vec![Action::AnswerReviewer],
            State::Rejected if current.claim.disputed_at.is_none() => vec![Action::Dispute],
            _ => Vec::new(),
        };
        if consented && current.tab().is_some() {
            actions.push(Action::ViewWorkshopClaim);
        }
        actions
    }

    /// Its row at `now`, or `None` when it is not on the page (R-PAGE-6).
    pub fn page_row(&self, now: Instant) -> Option<PageRow> {
        let now = self.not_before_last_change(now);
        let current = self.at(now);
        let tab = current.tab()?;
        let deadline = current.deadline();
        Some(PageRow {
            nomination: current.id,
            friendly_name: current.friendly_name.clone(),
            customer: *current.customer.id(),
            tab,
            row_type: if current.consented() {
                RowType::Active
            } else {
                RowType::NotStarted
            },
            status: Status {
                state: current.state,
                deadline: deadline.map(|d| d.kind),
                days_left: deadline.map(|d| d.days_left(now)),
            },
            reason: current.ineligibility(),
            actions: self.actions(now),
        })
    }
}
