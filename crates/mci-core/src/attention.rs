//! Attention required (R-LIST-3): what needs the partner now, each with
//! its deadline and the action that answers it.
//!
//! A live nomination needs its partner when its consent or its claim is
//! due within [`ATTENTION_WINDOW`] (7 days), when the reviewer asked for
//! more information, when a rejection can still be disputed, and when the
//! customer consented to another partner (R-CONSENT-10: only cancelling is
//! left). The rule lives here; the service only gathers the candidates.
//!
//! ```
//! # use mci_testkit::*;
//! use mci_core::{Action, AttentionReason};
//! use chrono::TimeDelta;
//!
//! let (added, now) = fresh_nomination();
//! // 30 days to obtain consent: nothing needs the partner yet.
//! assert_eq!(added.attention(now), None);
//! // 24 days later, 6 are left: the consent email is due.
//! let later = now + TimeDelta::days(24);
//! let entry = added.attention(later).unwrap();
//! assert_eq!(entry.reason, AttentionReason::ConsentDue);
//! assert_eq!(entry.action, Action::SendConsentEmail);
//! assert_eq!(entry.deadline.at, now + TimeDelta::days(30));
//! ```

use crate::lapse::Deadline;
use crate::nomination::Nomination;
use crate::page::Action;
use crate::state::State;
use crate::time::{Days, Instant};
use crate::{EngagementId, FriendlyName, NominationId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How far ahead a consent or claim deadline needs the partner's
/// attention (R-LIST-3).
pub const ATTENTION_WINDOW: Days = Days::new(7);

/// Why a nomination needs its partner (R-LIST-3). Its JSON form is its
/// name in snake case, such as `"consent_due"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionReason {
    /// The consent must be obtained within the window.
    ConsentDue,
    /// The workshop claim must be submitted within the window.
    ClaimDue,
    /// The reviewer asked for more information (R-CLAIM-W-7).
    ReviewerAskedForMore,
    /// The claim was rejected and can still be disputed (R-CLAIM-W-8).
    Disputable,
    /// The customer consented to another partner; the nomination can only
    /// be cancelled (R-CONSENT-10).
    ConsentedToAnotherPartner,
}

impl fmt::Display for AttentionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttentionReason::ConsentDue => "consent due",
            AttentionReason::ClaimDue => "workshop claim due",
            AttentionReason::ReviewerAskedForMore => "the reviewer asked for more information",
            AttentionReason::Disputable => "rejected, can still be disputed",
            AttentionReason::ConsentedToAnotherPartner => {
                "the customer consented to another partner"
            }
        })
    }
}

/// One entry of the Attention required list (R-LIST-3).
///
/// Its JSON form: `{"nomination": "…", "engagement": "ai-workshop",
/// "friendly_name": "Contoso AI readiness", "reason": "consent_due",
/// "deadline": {"kind": "obtain_consent", "at": "2026-04-01T09:00:00Z"},
/// "action": "send_consent_email"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionEntry {
    /// The nomination.
    pub nomination: NominationId,
    /// Its engagement.
    pub engagement: EngagementId,
    /// Its friendly name.
    pub friendly_name: FriendlyName,
    /// Why it needs the partner.
    pub reason: AttentionReason,
    /// The deadline by which the partner must act.
    pub deadline: Deadline,
    /// What answers it.
    pub action: Action,
}

impl Nomination {
    /// What this nomination needs of its partner at `now`, if anything
    /// (R-LIST-3), as it stands at `now` (R-TIME-4): a lapsed nomination
    /// needs nothing.
    pub fn attention(&self, now: Instant) -> Option<AttentionEntry> {
        let n = self.at(now);
        if !n.state.is_live() {
            return None;
        }
        let deadline = n.deadline()?;
        let soon = ATTENTION_WINDOW
            .checked_after(n.not_before_last_change(now))
            .is_none_or(|until| deadline.at <= until);
        let (reason, action) = match n.state {
            _ if n.lost_at().is_some() => {
                (AttentionReason::ConsentedToAnotherPartner, Action::Cancel)
            }
            State::PartnerActionRequired => (
                AttentionReason::ReviewerAskedForMore,
                Action::AnswerReviewer,
            ),
            State::Rejected => (AttentionReason::Disputable, Action::Dispute),
            State::CustomerClaimed if soon => {
                (AttentionReason::ConsentDue, Action::SendConsentEmail)
            }
            State::AwaitingConsent if soon => {
                (AttentionReason::ConsentDue, Action::ResendConsentEmail)
            }
            State::Consented if soon => (AttentionReason::ClaimDue, Action::SubmitWorkshopClaim),
            _ => return None,
        };
        Some(AttentionEntry {
            nomination: n.id,
            engagement: n.engagement.clone(),
            friendly_name: n.friendly_name.clone(),
            reason,
            deadline,
            action,
        })
    }
}

/// The Attention required list from `candidates` (R-LIST-3): each
/// candidate that needs its partner at `now`, once, soonest deadline first
/// (then by id), at most `limit`. Answers whether entries were left out.
pub fn attention_list(
    now: Instant,
    candidates: impl IntoIterator<Item = Nomination>,
    limit: usize,
) -> (Vec<AttentionEntry>, bool) {
    let mut entries: Vec<AttentionEntry> = Vec::new();
    for candidate in candidates {
        if let Some(entry) = candidate.attention(now)
            && !entries.iter().any(|e| e.nomination == entry.nomination)
        {
            entries.push(entry);
        }
    }
    entries.sort_by_key(|e| (e.deadline.at, e.nomination));
    let more = entries.len() > limit;
    entries.truncate(limit);
    (entries, more)
}
