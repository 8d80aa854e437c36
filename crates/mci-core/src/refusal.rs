//! Why the core refuses a command: every variant names the rule it enforces.
//!
//! ```
//! use mci_core::{Refusal, State};
//!
//! let refusal = Refusal::Lapsed { state: State::ConsentExpired, at: chrono::DateTime::UNIX_EPOCH };
//! assert_eq!(refusal.rule(), "R-CONSENT-5");
//! assert_eq!(Refusal::InvalidLink.rule(), "R-TOKEN-3");
//! ```

use crate::eligibility::Ineligibility;
use crate::invalid::InvalidValue;
use crate::state::State;
use crate::time::Instant;
use crate::{Domain, EngagementId, Hours, ProofItem, Sha256Digest};
use std::fmt;

/// A command of the nomination state machine, as named in refusals. Its
/// JSON form is its name in snake case, such as `"send_consent"`.
/// `#[non_exhaustive]`: the state machine may learn commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Send the consent email (R-CONSENT-2).
    SendConsent,
    /// Re-send the consent email (R-CONSENT-3).
    ResendConsent,
    /// Change the customer's or the partner's contacts (R-CONSENT-4, R-CLAIM-W-4).
    UpdateContacts,
    /// The customer accepts (R-CONSENT-5).
    AcceptConsent,
    /// The customer declines (R-CONSENT-6).
    DeclineConsent,
    /// Attach a proof document (R-CLAIM-W-2).
    AttachDocument,
    /// Send or re-send a survey (R-CLAIM-W-3).
    SendSurvey,
    /// Complete a survey through its link (R-CLAIM-W-3).
    CompleteSurvey,
    /// Add a comment for the reviewer (R-CLAIM-W-5).
    AddComment,
    /// Submit the claim, or resubmit it after partner action (R-CLAIM-W-6, -7).
    Submit,
    /// The reviewer starts the review (R-CLAIM-W-7).
    StartReview,
    /// The reviewer asks the partner for more (R-CLAIM-W-7).
    RequestPartnerAction,
    /// The reviewer approves (R-CLAIM-W-7).
    Approve,
    /// The reviewer rejects (R-CLAIM-W-7, -8).
    Reject,
    /// The partner disputes a rejection (R-CLAIM-W-8).
    Dispute,
    /// The partner cancels (R-CLAIM-W-10).
    Cancel,
    /// A payout run pays the claim (R-CLAIM-W-9).
    MarkPaid,
}

impl Command {
    /// The rule that says in which states the command is allowed.
    pub fn rule(self) -> &'static str {
        match self {
            Command::SendConsent => "R-CONSENT-2",
            Command::ResendConsent => "R-CONSENT-3",
            Command::UpdateContacts => "R-CONSENT-4",
            Command::AcceptConsent => "R-CONSENT-5",
            Command::DeclineConsent => "R-CONSENT-6",
            Command::AttachDocument => "R-CLAIM-W-2",
            Command::SendSurvey | Command::CompleteSurvey => "R-CLAIM-W-3",
            Command::AddComment => "R-CLAIM-W-5",
            Command::Submit => "R-CLAIM-W-6",
            Command::StartReview
            | Command::RequestPartnerAction
            | Command::Approve
            | Command::Reject => "R-CLAIM-W-7",
            Command::Dispute => "R-CLAIM-W-8",
            Command::MarkPaid => "R-CLAIM-W-9",
            Command::Cancel => "R-CLAIM-W-10",
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Command::SendConsent => "send the consent email",
            Command::ResendConsent => "re-send the consent email",
            Command::UpdateContacts => "update contacts",
            Command::AcceptConsent => "accept consent",
            Command::DeclineConsent => "decline consent",
            Command::AttachDocument => "attach a document",
            Command::SendSurvey => "send a survey",
            Command::CompleteSurvey => "complete a survey",
            Command::AddComment => "add a comment",
            Command::Submit => "submit the workshop claim",
            Command::StartReview => "start the review",
            Command::RequestPartnerAction => "ask for partner action",
            Command::Approve => "approve",
            Command::Reject => "reject",
            Command::Dispute => "dispute",
            Command::Cancel => "cancel",
            Command::MarkPaid => "pay",
        })
    }
}

/// An engagement that cannot be chosen, with every reason (R-ADD-6).
///
/// Shown as the engagement, then each reason with its rule:
///
/// ```
/// use mci_core::{EngagementRefusal, Ineligibility};
///
/// let refused = EngagementRefusal {
///     engagement: "ai-workshop".parse().unwrap(),
///     reasons: vec![Ineligibility::AlreadyNominated, Ineligibility::ActiveLimitReached { limit: 1 }],
/// };
/// assert_eq!(
///     refused.to_string(),
///     "ai-workshop: already nominated for this engagement (R-ADD-7), reached the limit of 1 active nominations (R-ENG-5)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EngagementRefusal {
    /// The engagement.
    pub engagement: EngagementId,
    /// Why it cannot be chosen; never naming another partner (R-ROLE-3).
    pub reasons: Vec<Ineligibility>,
}

impl fmt::Display for EngagementRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.engagement)?;
        for (n, reason) in self.reasons.iter().enumerate() {
            let sep = if n == 0 { " " } else { ", " };
            write!(f, "{sep}{reason} ({})", reason.rule())?;
        }
        Ok(())
    }
}

/// A command the rules do not allow. Nothing is written for a refusal.
///
/// The enum is `#[non_exhaustive]`: later rules add refusals, so a match
/// outside this crate ends with a wildcard arm. Its variants are not: they
/// can be built and matched field by field anywhere.
///
/// Its JSON form names the refusal in snake case under `"refusal"`, beside
/// the variant's fields; a refused value ([`Refusal::Invalid`]) carries the
/// field, the rule and the problem of its [`InvalidValue`]. The rule of
/// every refusal is [`Refusal::rule`]; the words for a person are its
/// `Display`.
///
/// ```
/// use mci_core::{Command, Refusal, State};
///
/// let refusal = Refusal::NotAllowedNow { command: Command::Submit, state: State::AwaitingConsent };
/// assert_eq!(
///     serde_json::to_value(&refusal).unwrap(),
///     serde_json::json!({"refusal": "not_allowed_now", "command": "submit", "state": "awaiting_consent"}),
/// );
/// let invalid = Refusal::from("a@".parse::<mci_core::EmailAddress>().unwrap_err());
/// assert_eq!(serde_json::to_value(&invalid).unwrap()["refusal"], "invalid");
/// assert_eq!(serde_json::to_value(&invalid).unwrap()["field"], "email");
/// assert_eq!(serde_json::to_value(Refusal::InvalidLink).unwrap(), serde_json::json!({"refusal": "invalid_link"}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[non_exhaustive]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Refusal {
    /// The user's role may not make partner-side calls (R-ROLE-1).
    #[error(
        "the role {role} may not act for a partner: Incentives admin or Incentives user is needed (R-ROLE-1)"
    )]
    RoleNotAllowed {
        /// The role the user has.
        role: String,
    },
    /// No such nomination for this partner; another partner's nomination
    /// answers the same (R-ROLE-2).
    #[error("no such nomination (R-ROLE-2)")]
    NotFound,
    /// An input value was refused (R-INPUT and the rule it names).
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// The command is not allowed in the nomination's state.
    #[error("cannot {command} while the nomination is {state} ({})", command.rule())]
    NotAllowedNow {
        /// The command refused.
        command: Command,
        /// The state the nomination is in at the instant of the call.
        state: State,
    },
    /// A deadline has passed: the consent lapsed (R-CONSENT-5), or the claim
    /// expired (R-CLAIM-W-1, -7, -8).
    #[error("{} at {at}: the deadline has passed ({})", lapse_message(*state), self.rule())]
    Lapsed {
        /// The state the nomination lapsed into.
        state: State,
        /// The deadline that passed.
        at: Instant,
    },
    /// The link is wrong, voided or expired; which of these is not told
    /// (R-TOKEN-3).
    #[error("this link is not valid (R-TOKEN-3)")]
    InvalidLink,
    /// The customer consented to another partner for the engagement, and
    /// this nomination asks for consent no more: only cancelling it is left
    /// (R-CONSENT-10). The other partner is not named (R-ROLE-3).
    #[error(
        "cannot {command}: the customer consented to another partner for this engagement; the nomination can only be cancelled (R-CONSENT-10)"
    )]
    ConsentedToAnotherPartner {
        /// The command refused.
        command: Command,
    },
    /// The consent was already answered the other way (R-CONSENT-9).
    #[error("the customer has already answered: the nomination is {state} (R-CONSENT-9)")]
    AlreadyAnswered {
        /// The state the earlier answer led to.
        state: State,
    },
    /// The estimated deal size is frozen once the first consent request is
    /// sent (R-CONSENT-2).
    #[error("the estimated deal size cannot change after the first consent request (R-CONSENT-2)")]
    DealSizeFrozen,
    /// The customer's contacts are frozen once the customer survey is
    /// completed (R-CLAIM-W-4).
    #[error(
        "the customer's contacts cannot change after the customer survey is completed (R-CLAIM-W-4)"
    )]
    ContactsFrozen,
    /// Required proof items are missing (R-CLAIM-W-6).
    #[error(
        "the claim cannot be submitted without: {} (R-CLAIM-W-6)",
        list(missing)
    )]
    MissingProof {
        /// The required items not yet provided.
        missing: Vec<ProofItem>,
    },
    /// A claim can be disputed once (R-CLAIM-W-8).
    #[error("the claim was already disputed once (R-CLAIM-W-8)")]
    AlreadyDisputed,
    /// The reviewer cannot act on a claim not yet submitted (R-CLAIM-W-6).
    #[error("the claim has not been submitted (R-CLAIM-W-6)")]
    NotSubmitted,
    /// The survey was already completed (R-CLAIM-W-3).
    #[error("the survey was already completed (R-CLAIM-W-3)")]
    SurveyCompleted,
    /// No tenant is known for the email's domain: give another email, or a
    /// tenant id or TPID (R-ADD-3).
    #[error(
        "no tenant is known for {domain}: give another email, or a tenant id or TPID (R-ADD-3)"
    )]
    NoTenantForDomain {
        /// The email's domain.
        domain: Domain,
    },
    /// The email's domain does not belong to the given tenant or TPID, and
    /// no mismatch reason was given (R-ADD-4).
    #[error("{domain} does not belong to the given tenant: give a mismatch reason (R-ADD-4)")]
    DomainMismatch {
        /// The email's domain.
        domain: Domain,
    },
    /// The tenant directory's answer does not fit the question the input
    /// needs (a caller error, R-ADD-3/4).
    #[error("the tenant directory's answer does not fit the customer id given (R-ADD-3)")]
    DirectoryAnswerMismatch,
    /// No engagement was chosen (R-ADD-1).
    #[error("choose at least one engagement (R-ADD-1)")]
    NoEngagementChosen,
    /// The same engagement was chosen twice in one call (R-ADD-1).
    #[error("engagement {engagement} is chosen twice (R-ADD-1)")]
    EngagementChosenTwice {
        /// The engagement.
        engagement: EngagementId,
    },
    /// Some chosen engagements cannot be chosen; nothing was added (R-ADD-6).
    /// The message says why, per engagement: "1 of the chosen engagements
    /// cannot be chosen, so none was added (R-ADD-6): ai-workshop: already
    /// nominated for this engagement (R-ADD-7)".
    #[error(
        "{} of the chosen engagements cannot be chosen, so none was added (R-ADD-6): {}",
        refused.len(),
        each_refused(refused)
    )]
    NotChoosable {
        /// Each engagement refused, with its reasons.
        refused: Vec<EngagementRefusal>,
    },
    /// A variable-pay engagement must be added on its own (R-ADD-8).
    #[error("a variable-pay engagement must be the only one in the call (R-ADD-8)")]
    VariablePayAlone,
    /// Variable pay needs the hours (R-ADD-8).
    #[error("hours are required for variable pay (R-ADD-8)")]
    HoursRequired,
    /// Hours above the engagement's maximum (R-ADD-8).
    #[error("{hours} hours is more than the engagement's maximum of {max} (R-ADD-8)")]
    HoursOverMaximum {
        /// What was given.
        hours: Hours,
        /// The maximum.
        max: Hours,
    },
    /// Hours were given for a fixed-pay engagement (R-ADD-8).
    #[error("hours apply to variable pay only (R-ADD-8)")]
    HoursNotApplicable,
    /// The customer to claim is not known to the partner: it never
    /// consented to this partner (R-CLAIM-1).
    #[error("the customer is not known to this partner (R-CLAIM-1)")]
    CustomerNotKnown,
    /// A reviewer's decision cites, in `seen`, an event that is not the
    /// nomination's last: the claim changed after the reviewer read it (or
    /// `seen` names no event of it), so the decision is not taken. Read
    /// the claim again and decide on what it is now (R-LIST-4).
    #[error(
        "seen: the claim changed after the event cited was read (it is at version {version} now): read it again and decide on what it is (R-LIST-4)"
    )]
    StaleHead {
        /// The hash the decision cited.
        seen: Sha256Digest,
        /// The nomination's version now.
        version: u64,
    },
}

fn lapse_message(state: State) -> &'static str {
    match state {
        State::ConsentExpired => "the consent has lapsed",
        State::NotSubmittedExpired => "the claim was not submitted in time",
        State::PostSubmissionExpired => "the review did not complete in time",
        State::DisputeExpired => "the dispute did not complete in time",
        State::RejectedFinal => "the dispute window has closed",
        _ => "the nomination has lapsed",
    }
}

fn each_refused(refused: &[EngagementRefusal]) -> String {
    refused
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn list(items: &[ProofItem]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Refusal {
    /// The SPEC rule the refusal enforces.
    pub fn rule(&self) -> &str {
        match self {
            Refusal::RoleNotAllowed { .. } => "R-ROLE-1",
            Refusal::NotFound => "R-ROLE-2",
            Refusal::Invalid(invalid) => invalid.rule(),
            Refusal::NotAllowedNow { command, .. } => command.rule(),
            Refusal::Lapsed { state, .. } => match state {
                State::ConsentExpired => "R-CONSENT-5",
                State::NotSubmittedExpired => "R-CLAIM-W-1",
                State::PostSubmissionExpired => "R-CLAIM-W-7",
                _ => "R-CLAIM-W-8",
            },
            Refusal::InvalidLink => "R-TOKEN-3",
            Refusal::ConsentedToAnotherPartner { .. } => "R-CONSENT-10",
            Refusal::AlreadyAnswered { .. } => "R-CONSENT-9",
            Refusal::DealSizeFrozen => "R-CONSENT-2",
            Refusal::ContactsFrozen => "R-CLAIM-W-4",
            Refusal::MissingProof { .. } | Refusal::NotSubmitted => "R-CLAIM-W-6",
            Refusal::AlreadyDisputed => "R-CLAIM-W-8",
            Refusal::SurveyCompleted => "R-CLAIM-W-3",
            Refusal::NoTenantForDomain { .. } | Refusal::DirectoryAnswerMismatch => "R-ADD-3",
            Refusal::DomainMismatch { .. } => "R-ADD-4",
            Refusal::NoEngagementChosen | Refusal::EngagementChosenTwice { .. } => "R-ADD-1",
            Refusal::NotChoosable { .. } => "R-ADD-6",
            Refusal::VariablePayAlone
            | Refusal::HoursRequired
            | Refusal::HoursOverMaximum { .. }
            | Refusal::HoursNotApplicable => "R-ADD-8",
            Refusal::CustomerNotKnown => "R-CLAIM-1",
            Refusal::StaleHead { .. } => "R-LIST-4",
        }
    }
}
