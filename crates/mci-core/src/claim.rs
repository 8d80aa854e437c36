//! The workshop claim: proof, surveys, comments, submission, dispute and
//! cancel (R-CLAIM-W-1..6, -8, -10).
//!
//! ```
//! # use mci_testkit::*;
//! use mci_core::{ProofItem, Refusal};
//!
//! let (consented, now) = consented_nomination();
//! // Nothing attached yet: submission lists every required item (R-CLAIM-W-6).
//! let Err(Refusal::MissingProof { missing }) = consented.submit(now, &admin()) else { unreachable!() };
//! assert_eq!(missing.len(), 4);
//! assert!(missing.contains(&ProofItem::Invoice));
//! ```

use crate::actor::{Actor, PartnerUser};
use crate::engagement::ProofItem;
use crate::event::EventKind;
use crate::link::{IssuedLink, LinkPurpose};
use crate::message::MessageKind;
use crate::nomination::{Nomination, Outcome, Step};
use crate::refusal::{Command, Refusal};
use crate::state::State;
use crate::time::Instant;
use crate::{Comment, DocumentRef, FreshLink, LinkToken, Money, PayoutBatchId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A proof document kind (R-CLAIM-W-2): stored as a reference, never bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// The proof-of-execution document (discovery and recommendations).
    ProofOfExecution,
    /// The invoice.
    Invoice,
}

impl DocumentKind {
    /// The proof item this document provides.
    pub fn proof_item(self) -> ProofItem {
        match self {
            DocumentKind::ProofOfExecution => ProofItem::ProofOfExecution,
            DocumentKind::Invoice => ProofItem::Invoice,
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.proof_item().fmt(f)
    }
}

/// A survey of the claim (R-CLAIM-W-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyKind {
    /// Sent to the partner's contacts.
    Partner,
    /// Sent to the customer's contacts.
    Customer,
}

impl SurveyKind {
    /// The purpose of its links.
    pub fn link_purpose(self) -> LinkPurpose {
        match self {
            SurveyKind::Partner => LinkPurpose::PartnerSurvey,
            SurveyKind::Customer => LinkPurpose::CustomerSurvey,
        }
    }

    /// The proof item it provides.
    pub fn proof_item(self) -> ProofItem {
        match self {
            SurveyKind::Partner => ProofItem::PartnerSurvey,
            SurveyKind::Customer => ProofItem::CustomerSurvey,
        }
    }
}

impl fmt::Display for SurveyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.proof_item().fmt(f)
    }
}

/// Where a survey stands, as the page shows it (R-CLAIM-W-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyStatus {
    /// Not sent, or its link was voided by a contact change.
    NotSent,
    /// Sent, not completed.
    Sent,
    /// Completed.
    Completed,
}

/// One survey's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Survey {
    /// Its status.
    pub status: SurveyStatus,
    /// When it was last sent.
    pub sent_at: Option<Instant>,
    /// When it was completed.
    pub completed_at: Option<Instant>,
}

impl Default for Survey {
    fn default() -> Self {
        Self {
            status: SurveyStatus::NotSent,
            sent_at: None,
            completed_at: None,
        }
    }
}

impl Survey {
    /// Whether it is completed.
    pub fn is_completed(&self) -> bool {
        self.status == SurveyStatus::Completed
    }

    pub(crate) fn unsend(&mut self) {
        if self.status == SurveyStatus::Sent {
            self.status = SurveyStatus::NotSent;
        }
    }
}

/// A comment for the reviewer (R-CLAIM-W-5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClaimComment {
    /// When.
    pub at: Instant,
    /// Who.
    pub by: Actor,
    /// What.
    pub text: Comment,
}

/// The claim side of a nomination (R-CLAIM-W).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRecord {
    /// The proof documents attached, by kind.
    pub documents: BTreeMap<DocumentKind, DocumentRef>,
    /// The partner survey.
    pub partner_survey: Survey,
    /// The customer survey.
    pub customer_survey: Survey,
    /// Comments for the reviewer, in order.
    pub comments: Vec<ClaimComment>,
    /// When it was first submitted.
    pub first_submitted_at: Option<Instant>,
    /// When it was last submitted.
    pub submitted_at: Option<Instant>,
    /// When it was rejected (the last time).
    pub rejected_at: Option<Instant>,
    /// Why it was rejected.
    pub rejection_reason: Option<Comment>,
    /// When the rejection was disputed.
    pub disputed_at: Option<Instant>,
    /// When it was approved.
    pub approved_at: Option<Instant>,
    /// The approved payout.
    pub payout: Option<Money>,
    /// The batch that paid it.
    pub paid_in: Option<PayoutBatchId>,
}

impl ClaimRecord {
    /// A survey's record.
    pub fn survey(&self, kind: SurveyKind) -> &Survey {
        match kind {
            SurveyKind::Partner => &self.partner_survey,
            SurveyKind::Customer => &self.customer_survey,
        }
    }

    fn survey_mut(&mut self, kind: SurveyKind) -> &mut Survey {
        match kind {
            SurveyKind::Partner => &mut self.partner_survey,
            SurveyKind::Customer => &mut self.customer_survey,
        }
    }

    /// Whether a proof item is provided: its document attached or its
    /// survey completed.
    pub fn provides(&self, item: ProofItem) -> bool {
        match item {
            ProofItem::ProofOfExecution => {
                self.documents.contains_key(&DocumentKind::ProofOfExecution)
            }
            ProofItem::Invoice => self.documents.contains_key(&DocumentKind::Invoice),
            ProofItem::PartnerSurvey => self.partner_survey.is_completed(),
            ProofItem::CustomerSurvey => self.customer_survey.is_completed(),
        }
    }
}

/// States in which the partner prepares the claim.
const PREPARING: [State; 2] = [State::Consented, State::PartnerActionRequired];

impl Nomination {
    /// Attaches (or replaces) a proof document, by reference (R-CLAIM-W-2).
    pub fn attach_document(
        &self,
        now: Instant,
        user: &PartnerUser,
        kind: DocumentKind,
        document: DocumentRef,
    ) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        let actor = self.acting(user)?;
        self.require(now, Command::AttachDocument, &PREPARING)?;
        Ok(self.change(
            now,
            actor,
            self.state,
            EventKind::DocumentAttached {
                kind,
                document: document.clone(),
            },
            |next| {
                next.claim.documents.insert(kind, document);
            },
        ))
    }

    /// Sends or re-sends a survey with a new link, any number of times
    /// until it is completed or the claim's deadline passes (R-CLAIM-W-3).
    pub fn send_survey(
        &self,
        now: Instant,
        user: &PartnerUser,
        survey: SurveyKind,
        link: &FreshLink,
    ) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        let actor = self.acting(user)?;
        self.require(now, Command::SendSurvey, &PREPARING)?;
        if self.claim.survey(survey).is_completed() {
            return Err(Refusal::SurveyCompleted);
        }
        let to = match survey {
            SurveyKind::Partner => self.partner_contacts.emails(),
            SurveyKind::Customer => self.customer_contacts.emails(),
        };
        Ok(self
            .change(
                now,
                actor,
                self.state,
                EventKind::SurveySent { survey },
                |next| {
                    let record = next.claim.survey_mut(survey);
                    record.status = SurveyStatus::Sent;
                    record.sent_at = Some(now);
                    next.links
                        .push(IssuedLink::new(link, survey.link_purpose(), now));
                },
            )
            .message(
                to,
                MessageKind::Survey {
                    survey,
                    link: *link.id(),
                },
            ))
    }

    /// The survey a token opens, if any (R-TOKEN-2).
    pub fn survey_opened_by(&self, token: &LinkToken) -> Option<SurveyKind> {
        [SurveyKind::Partner, SurveyKind::Customer]
            .into_iter()
            .find(|survey| self.link_opened_by(token, survey.link_purpose()))
    }

    /// Completes a survey through its link. A second completion answers the
    /// same and writes nothing; a link of a claim that has ended is expired
    /// (R-CLAIM-W-3, R-TOKEN-3).
    pub fn complete_survey(&self, now: Instant, token: &LinkToken) -> Result<Step, Refusal> {
        let now = self.command_at(now)?;
        let survey = self.survey_opened_by(token).ok_or(Refusal::InvalidLink)?;
        if self.claim.survey(survey).is_completed() {
            return Ok(Step::Unchanged);
        }
        if !self.at(now).state.is_live() {
            return Err(Refusal::InvalidLink);
        }
        let actor = match survey {
            SurveyKind::Partner => Actor::PartnerContact,
            SurveyKind::Customer => Actor::Customer,
        };
        Ok(Step::Changed(Box::new(self.change(
            now,
            actor,
            self.state,
            EventKind::SurveyCompleted { survey },
            |next| {
                let record = next.claim.survey_mut(survey);
                record.status = SurveyStatus::Completed;
                record.completed_at = Some(now);
            },
        ))))
    }

    /// Adds a comment for the reviewer, at any time before a final state
    /// (R-CLAIM-W-5).
    pub fn add_comment(
        &self,
        now: Instant,
        user: &PartnerUser,
        text: Comment,
    ) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        let actor = self.acting(user)?;
        if let Some(refusal) = self.lapse_refusal(now) {
            return Err(refusal);
        }
        if !self.state.is_live() {
            return Err(Refusal::NotAllowedNow {
                command: Command::AddComment,
                state: self.state,
            });
        }
        Ok(self.change(
            now,
            actor.clone(),
            self.state,
            EventKind::CommentAdded {
                comment: text.clone(),
            },
            |next| {
                next.claim.comments.push(ClaimComment {
                    at: now,
                    by: actor,
                    text,
                });
            },
        ))
    }

    /// The required proof items not yet provided (R-CLAIM-W-6).
    pub fn missing_proof(&self) -> Vec<ProofItem> {
        self.rules
            .required_proof()
            .filter(|item| !self.claim.provides(*item))
            .collect()
    }

    /// Submits the claim, or resubmits it after the reviewer asked for
    /// partner action, with every required proof item (R-CLAIM-W-6, -7).
    /// The first submission must come before the first-submit deadline
    /// (R-CLAIM-W-1).
    pub fn submit(&self, now: Instant, user: &PartnerUser) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        let actor = self.acting(user)?;
        self.require(now, Command::Submit, &PREPARING)?;
        let missing = self.missing_proof();
        if !missing.is_empty() {
            return Err(Refusal::MissingProof { missing });
        }
        let resubmission = self.claim.first_submitted_at.is_some();
        Ok(self.change(
            now,
            actor,
            State::Submitted,
            EventKind::Submitted { resubmission },
            |next| {
                next.claim.first_submitted_at.get_or_insert(now);
                next.claim.submitted_at = Some(now);
            },
        ))
    }

    /// Disputes a rejection, once, inside the dispute window; the review
    /// then has one fresh window (R-CLAIM-W-8).
    pub fn dispute(
        &self,
        now: Instant,
        user: &PartnerUser,
        reason: Comment,
    ) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        let actor = self.acting(user)?;
        if self.claim.disputed_at.is_some() {
            return Err(Refusal::AlreadyDisputed);
        }
        self.require(now, Command::Dispute, &[State::Rejected])?;
        Ok(self.change(
            now,
            actor,
            State::Disputed,
            EventKind::Disputed { reason },
            |next| next.claim.disputed_at = Some(now),
        ))
    }

    /// Cancels the nomination before its first submission; its links are
    /// voided (R-CLAIM-W-10).
    pub fn cancel(&self, now: Instant, user: &PartnerUser) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        let actor = self.acting(user)?;
        self.require(
            now,
            Command::Cancel,
            &[
                State::CustomerClaimed,
                State::AwaitingConsent,
                State::Consented,
            ],
        )?;
        Ok(
            self.change(now, actor, State::Cancelled, EventKind::Cancelled, |next| {
                next.links.clear();
            }),
        )
    }
}
