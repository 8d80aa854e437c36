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
//!
//! What needs the partner depends on time, and a partner may have far
//! more nominations than a list shows; so each nomination gives stores an
//! [`AttentionPlacement`]: its [`AttentionClass`] (on the list until its
//! deadline, or only in the window before it, or never) and the instant of
//! its deadline, which is also its next lapse. A store keeps them as plain
//! columns and finds a partner's list at `now` by comparing instants,
//! without knowing a rule ([`AttentionPlacement::is_listed`]): the rows of
//! class [`Always`](AttentionClass::Always) whose lapse is after `now`,
//! and those of class [`WithinWindow`](AttentionClass::WithinWindow)
//! whose lapse is after `now` and at most [`ATTENTION_WINDOW`] after it,
//! each walked soonest first. [`Nomination::attention`] at `now` needs the
//! partner exactly when its placement says so (a lapse that came turns a
//! nomination terminal, which needs nothing), so the soonest entries of
//! those two walks are the soonest entries of all the partner's
//! nominations.
//!
//! ```
//! # use mci_testkit::*;
//! use mci_core::AttentionClass;
//! use chrono::TimeDelta;
//!
//! let (added, now) = fresh_nomination();
//! let placement = added.attention_placement();
//! assert_eq!(placement.class, Some(AttentionClass::WithinWindow));
//! assert_eq!(placement.lapse_at, Some(now + TimeDelta::days(30)));
//! for days in [0, 23, 24, 29, 30, 31] {
//!     let at = now + TimeDelta::days(days);
//!     assert_eq!(placement.needs_at(at), added.attention(at).is_some(), "day {days}");
//! }
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

/// The end of the window of the Attention required list read at `now`
/// (R-LIST-3): [`ATTENTION_WINDOW`] after it; `None` past the last instant
/// chrono represents (never for an accepted `now`), where every deadline
/// is within it.
pub fn attention_until(now: Instant) -> Option<Instant> {
    ATTENTION_WINDOW.checked_after(now)
}

/// When a live nomination is on its partner's Attention required list
/// (R-LIST-3), until its deadline: the part of the rule a store keeps as a
/// column. Its JSON form is its name in snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionClass {
    /// Always, until its deadline: the reviewer asked for more
    /// information, a rejection can be disputed, or the customer consented
    /// to another partner (R-CONSENT-10).
    Always,
    /// Only once its deadline is within [`ATTENTION_WINDOW`]: a consent to
    /// obtain, or a workshop claim to submit.
    WithinWindow,
}

impl AttentionClass {
    /// Both classes.
    pub const ALL: [AttentionClass; 2] = [AttentionClass::Always, AttentionClass::WithinWindow];

    /// A small stable number for storage: 1 for always, 2 within the
    /// window (a nomination of no class is stored without one).
    pub fn code(self) -> u8 {
        match self {
            AttentionClass::Always => 1,
            AttentionClass::WithinWindow => 2,
        }
    }

    /// The class of a storage code; `None` for an unknown code.
    pub fn from_code(code: u8) -> Option<AttentionClass> {
        AttentionClass::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// The values a store keeps to answer the Attention required list by
/// comparing instants (R-LIST-3, ARCHITECTURE "Stores compare instants").
///
/// Between two changes of its nomination a placement holds: the class is
/// that of the stored state, and the lapse that ends it leads to a
/// terminal state, which is on no list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AttentionPlacement {
    /// Its class, `None` when the nomination needs nothing of its partner
    /// until it changes (a terminal state, or a claim with the reviewer).
    pub class: Option<AttentionClass>,
    /// The instant of its deadline, which is its next lapse (the same as
    /// [`Placement::lapse_at`](crate::Placement::lapse_at)); always `Some`
    /// when the class is.
    pub lapse_at: Option<Instant>,
}

impl AttentionPlacement {
    /// Whether the nomination is on the list read at `now` whose window
    /// ends at `until` (`None`: a window without end): of a class, its
    /// lapse after `now` (R-TIME-2: at the deadline is late), and, within
    /// the window only, its lapse at or before `until`. A store's walks are
    /// these comparisons.
    pub fn is_listed(&self, now: Instant, until: Option<Instant>) -> bool {
        let Some(lapse) = self.lapse_at.filter(|lapse| *lapse > now) else {
            return false;
        };
        match self.class {
            None => false,
            Some(AttentionClass::Always) => true,
            Some(AttentionClass::WithinWindow) => until.is_none_or(|until| lapse <= until),
        }
    }

    /// Whether the nomination needs its partner at `now` (R-LIST-3): on
    /// the list whose window ends [`ATTENTION_WINDOW`] after `now`
    /// ([`attention_until`]). For a nomination as the core made it, the
    /// same as [`Nomination::attention`] at `now` being `Some`.
    pub fn needs_at(&self, now: Instant) -> bool {
        self.is_listed(now, attention_until(now))
    }
}

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
    /// needs nothing. A deadline is due when it is at most
    /// [`ATTENTION_WINDOW`] after `now`, the instant the list is read at,
    /// the same for every nomination of the list; the entry is `Some`
    /// exactly when [`AttentionPlacement::needs_at`] says so of the
    /// nomination as it stands at `now`.
    pub fn attention(&self, now: Instant) -> Option<AttentionEntry> {
        let n = self.at(now);
        if !n.attention_placement().needs_at(now) {
            return None;
        }
        let (_, reason, action) = n.attention_rule()?;
        Some(AttentionEntry {
            nomination: n.id,
            engagement: n.engagement.clone(),
            friendly_name: n.friendly_name.clone(),
            reason,
            deadline: n.deadline()?,
            action,
        })
    }

    /// When this nomination, as stored, is on its partner's Attention
    /// required list (R-LIST-3): its class and its deadline. A store keeps
    /// them beside it.
    pub fn attention_placement(&self) -> AttentionPlacement {
        let lapse_at = self.deadline().map(|d| d.at);
        AttentionPlacement {
            class: lapse_at.and(self.attention_rule().map(|(class, _, _)| class)),
            lapse_at,
        }
    }

    /// The class, reason and action of the stored state, if it can need
    /// the partner at all: the one place the rule of R-LIST-3 is written.
    fn attention_rule(&self) -> Option<(AttentionClass, AttentionReason, Action)> {
        use AttentionClass::{Always, WithinWindow};
        if !self.state.is_live() {
            return None;
        }
        Some(match self.state {
            _ if self.consent.lost_at.is_some() => (
                Always,
                AttentionReason::ConsentedToAnotherPartner,
                Action::Cancel,
            ),
            State::PartnerActionRequired => (
                Always,
                AttentionReason::ReviewerAskedForMore,
                Action::AnswerReviewer,
            ),
            State::Rejected => (Always, AttentionReason::Disputable, Action::Dispute),
            State::CustomerClaimed => (
                WithinWindow,
                AttentionReason::ConsentDue,
                Action::SendConsentEmail,
            ),
            State::AwaitingConsent => (
                WithinWindow,
                AttentionReason::ConsentDue,
                Action::ResendConsentEmail,
            ),
            State::Consented => (
                WithinWindow,
                AttentionReason::ClaimDue,
                Action::SubmitWorkshopClaim,
            ),
            _ => return None,
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
