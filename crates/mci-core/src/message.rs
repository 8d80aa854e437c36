//! The emails a change asks to send, for the outbox (R-REC-2).
//!
//! A transition returns its [`Message`]s; the store writes them in the same
//! transaction as the change, and the embedding application delivers them at
//! least once. A message's id is derived from the nomination, the version
//! the change produced and the message's place in it, so it is stable across
//! retries and serves to de-duplicate deliveries.
//!
//! A consent or survey message carries its link's [`LinkId`], never its
//! token: whoever delivers it derives the token from the id with the link
//! key the application keeps outside the database, each time it delivers
//! (R-TOKEN-4, R-REC-2). The nomination keeps only the token's hash
//! (R-TOKEN-2), so nothing a store holds opens a link.
//!
//! ```
//! use mci_core::MessageId;
//!
//! let nomination = "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap();
//! assert_eq!(MessageId::derive(&nomination, 3, 0), MessageId::derive(&nomination, 3, 0));
//! assert_ne!(MessageId::derive(&nomination, 3, 0), MessageId::derive(&nomination, 3, 1));
//! ```

use crate::state::State;
use crate::time::{Days, Instant};
use crate::{
    Comment, EmailAddress, EngagementId, LinkId, Money, NominationId, PayoutBatchId, SurveyKind,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

/// The stable id of an outbox message (R-REC-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(Uuid);

impl MessageId {
    /// The id of message `index` of the change that produced `version` of
    /// `nomination`: the same inputs always give the same id.
    pub fn derive(nomination: &NominationId, version: u64, index: u16) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(nomination.as_uuid().as_bytes());
        hasher.update(version.to_be_bytes());
        hasher.update(index.to_be_bytes());
        let digest = hasher.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(Uuid::new_v8(bytes))
    }

    /// The id as a UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// An id read back from storage.
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An email to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Its stable id, for de-duplication.
    pub id: MessageId,
    /// The nomination it is about.
    pub nomination: NominationId,
    /// The engagement of the nomination.
    pub engagement: EngagementId,
    /// When it was queued.
    pub queued_at: Instant,
    /// Who it goes to.
    pub to: Vec<EmailAddress>,
    /// What it says.
    pub kind: MessageKind,
    /// The head of the nomination's history after the change that queued
    /// it, for the partner to keep (R-LIST-4). Absent from messages queued
    /// before histories were chained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<crate::Head>,
}

/// What an email says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "message", rename_all = "snake_case")]
pub enum MessageKind {
    /// To the customer: accept or decline, by this link, before the deadline
    /// (R-CONSENT-2).
    ConsentRequest {
        /// The link, whose token the sender derives with the link key.
        link: LinkId,
        /// The consent deadline.
        deadline: Instant,
    },
    /// To the customer: a reminder with a link (R-CONSENT-3).
    ConsentReminder {
        /// The link, whose token the sender derives with the link key.
        link: LinkId,
        /// The consent deadline.
        deadline: Instant,
    },
    /// To the partner: the customer answered (R-CONSENT-5, -6).
    ConsentAnswered {
        /// Accepted or declined.
        accepted: bool,
    },
    /// To the partner: the customer consented to another partner for the
    /// engagement (R-CONSENT-10). The nomination asks for consent no more:
    /// it can only be cancelled, and it ends at `deadline`. It carries no
    /// link, and never names the other partner (R-ROLE-3).
    ConsentedToAnotherPartner {
        /// The consent deadline, at which the nomination ends.
        deadline: Instant,
    },
    /// To the partner's or the customer's contacts: a survey to complete
    /// (R-CLAIM-W-3).
    Survey {
        /// Which survey.
        survey: SurveyKind,
        /// The link, whose token the sender derives with the link key.
        link: LinkId,
    },
    /// To the partner: the reviewer needs more (R-CLAIM-W-7).
    PartnerActionRequested {
        /// What the reviewer asks for.
        note: Comment,
    },
    /// To the partner: the claim was approved (R-CLAIM-W-7).
    Approved {
        /// The payout.
        payout: Money,
    },
    /// To the partner: the claim was rejected (R-CLAIM-W-7, -8).
    Rejected {
        /// Why.
        reason: Comment,
        /// Whether a dispute is still possible.
        disputable: bool,
    },
    /// To the partner: the claim was paid (R-CLAIM-W-9).
    Paid {
        /// The batch.
        batch: PayoutBatchId,
        /// The amount.
        amount: Money,
    },
    /// To the partner: a deadline is near (R-REC-6).
    DeadlineApproaching {
        /// The deadline.
        deadline: Instant,
        /// How long before it this reminder was due.
        before: Days,
    },
    /// To the partner: a deadline passed and the nomination lapsed (R-TIME-4).
    Lapsed {
        /// The state it lapsed into.
        state: State,
    },
}

impl MessageKind {
    /// The link the message carries, if it is a consent request, a
    /// reminder or a survey: the sender derives its token with the link key
    /// (R-TOKEN-4).
    pub fn link(&self) -> Option<&LinkId> {
        match self {
            MessageKind::ConsentRequest { link, .. }
            | MessageKind::ConsentReminder { link, .. }
            | MessageKind::Survey { link, .. } => Some(link),
            _ => None,
        }
    }
}
