//! The reviewer's side of a workshop claim (R-CLAIM-W-7..9).
//!
//! A submitted claim is taken into review; the reviewer approves it with its
//! payout, rejects it with a reason, or asks the partner for more, any number
//! of times. A rejection after a dispute is final (R-CLAIM-W-8).
//!
//! Every decision cites `seen`, the hash of the last event the reviewer
//! read ([`Nomination::head`]); a decision on a claim that has changed
//! since is refused ([`Refusal::StaleHead`]), and a decision taken records
//! the hash it cites in its event ([`Event::seen`](crate::Event::seen),
//! R-LIST-4).
//!
//! ```
//! # use mci_testkit::*;
//! use mci_core::{Refusal, State};
//!
//! let (consented, now) = consented_nomination();
//! // The reviewer cannot act before the partner submits (R-CLAIM-W-6).
//! assert_eq!(consented.start_review(now, &reviewer(), seen(&consented)).unwrap_err(), Refusal::NotSubmitted);
//!
//! let (submitted, now) = submitted_nomination();
//! let started = submitted.start_review(now, &reviewer(), seen(&submitted)).unwrap();
//! assert_eq!(started.event.seen, Some(seen(&submitted)));
//! let review = started.nomination;
//! // A decision citing the head before the review started is stale (R-LIST-4).
//! assert_eq!(
//!     review.approve(now, &reviewer(), seen(&submitted)).unwrap_err(),
//!     Refusal::StaleHead { seen: seen(&submitted), version: review.version() },
//! );
//! let approved = review.approve(now, &reviewer(), seen(&review)).unwrap().nomination;
//! assert_eq!(approved.state(), State::Approved);
//! assert_eq!(approved.claim().payout, approved.proposed_payout());
//! ```

use crate::actor::Actor;
use crate::event::EventKind;
use crate::message::MessageKind;
use crate::nomination::{Nomination, Outcome};
use crate::refusal::{Command, Refusal};
use crate::state::State;
use crate::time::Instant;
use crate::{Comment, InvalidValue, PayoutBatchId, Problem, ReviewerId, Sha256Digest};

impl Nomination {
    /// Refuses a reviewer's `command` at `now` unless the claim was
    /// submitted, is in an `allowed` state, and its last event is `seen`
    /// (R-CLAIM-W-6, -7, R-LIST-4).
    fn reviewing(
        &self,
        now: Instant,
        command: Command,
        allowed: &[State],
        seen: Sha256Digest,
    ) -> Result<(), Refusal> {
        if self.claim.first_submitted_at.is_none() && self.state.is_live() {
            return Err(Refusal::NotSubmitted);
        }
        self.require(now, command, allowed)?;
        self.require_seen(seen)
    }

    /// Takes a submitted (or disputed) claim into review (R-CLAIM-W-7),
    /// citing `seen`, the hash of the last event the reviewer read
    /// (R-LIST-4).
    pub fn start_review(
        &self,
        now: Instant,
        reviewer: &ReviewerId,
        seen: Sha256Digest,
    ) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        self.reviewing(
            now,
            Command::StartReview,
            &[State::Submitted, State::Disputed],
            seen,
        )?;
        Ok(self
            .change(
                now,
                reviewer_actor(reviewer),
                State::UnderReview,
                EventKind::ReviewStarted,
                |_| {},
            )
            .citing(seen))
    }

    /// Asks the partner for more information; the partner answers by
    /// resubmitting, inside the same deadline (R-CLAIM-W-7); cites `seen`
    /// (R-LIST-4).
    pub fn request_partner_action(
        &self,
        now: Instant,
        reviewer: &ReviewerId,
        seen: Sha256Digest,
        note: Comment,
    ) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        self.reviewing(
            now,
            Command::RequestPartnerAction,
            &[State::UnderReview],
            seen,
        )?;
        Ok(self
            .change(
                now,
                reviewer_actor(reviewer),
                State::PartnerActionRequired,
                EventKind::PartnerActionRequested { note: note.clone() },
                |_| {},
            )
            .citing(seen)
            .message(
                self.partner_contacts.emails(),
                MessageKind::PartnerActionRequested { note },
            ))
    }

    /// Approves the claim with the payout its pinned rules give: the fixed
    /// fee, or the proposed variable amount (R-CLAIM-W-7, R-ENG-8); cites
    /// `seen` (R-LIST-4).
    pub fn approve(
        &self,
        now: Instant,
        reviewer: &ReviewerId,
        seen: Sha256Digest,
    ) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        self.reviewing(now, Command::Approve, &[State::UnderReview], seen)?;
        let payout = self
            .proposed_payout()
            .ok_or_else(|| InvalidValue::under("R-ADD-8", "hours", Problem::Empty))?;
        Ok(self
            .change(
                now,
                reviewer_actor(reviewer),
                State::Approved,
                EventKind::Approved { payout },
                |next| {
                    next.claim.approved_at = Some(now);
                    next.claim.payout = Some(payout);
                },
            )
            .citing(seen)
            .message(
                self.partner_contacts.emails(),
                MessageKind::Approved { payout },
            ))
    }

    /// Rejects the claim with a reason. The partner may dispute once inside
    /// the dispute window; a rejection after a dispute is final
    /// (R-CLAIM-W-8); cites `seen` (R-LIST-4).
    pub fn reject(
        &self,
        now: Instant,
        reviewer: &ReviewerId,
        seen: Sha256Digest,
        reason: Comment,
    ) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        self.reviewing(now, Command::Reject, &[State::UnderReview], seen)?;
        let disputable = self.claim.disputed_at.is_none();
        let to = if disputable {
            State::Rejected
        } else {
            State::RejectedFinal
        };
        Ok(self
            .change(
                now,
                reviewer_actor(reviewer),
                to,
                EventKind::Rejected {
                    reason: reason.clone(),
                },
                |next| {
                    next.claim.rejected_at = Some(now);
                    next.claim.rejection_reason = Some(reason.clone());
                },
            )
            .citing(seen)
            .message(
                self.partner_contacts.emails(),
                MessageKind::Rejected { reason, disputable },
            ))
    }

    /// Marks an approved claim paid by `batch` (R-CLAIM-W-9).
    pub fn mark_paid(&self, now: Instant, batch: PayoutBatchId) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        self.require(now, Command::MarkPaid, &[State::Approved])?;
        let amount = self.claim.payout.ok_or(Refusal::NotAllowedNow {
            command: Command::MarkPaid,
            state: self.state,
        })?;
        Ok(self
            .change(
                now,
                Actor::System,
                State::Paid,
                EventKind::Paid { batch, amount },
                |next| next.claim.paid_in = Some(batch),
            )
            .message(
                self.partner_contacts.emails(),
                MessageKind::Paid { batch, amount },
            ))
    }
}

fn reviewer_actor(reviewer: &ReviewerId) -> Actor {
    Actor::Reviewer {
        reviewer: reviewer.clone(),
    }
}
