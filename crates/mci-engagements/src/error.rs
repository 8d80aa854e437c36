//! The service's error: every case a caller can act on.

use crate::ports::PortError;
use mci_core::{EngagementId, Ineligibility, InvalidValue, NominationId, Refusal};
use mci_store::{IdempotencyKey, StoreError};

/// Why a call of the service failed. A failed call changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rules refuse the command; the variant names the rule.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Another nomination stood in the way when the change was written: the
    /// customer consented to another partner (R-CONSENT-8), the partner
    /// already has a live nomination (R-ADD-7), or the limit of live
    /// nominations was reached (R-ENG-5). The reason never names the other
    /// partner (R-ROLE-3).
    #[error("{reason} ({})", reason.rule())]
    Ineligible {
        /// The engagement.
        engagement: EngagementId,
        /// Why.
        reason: Ineligibility,
    },
    /// No engagement has this id.
    #[error("no engagement {0}")]
    UnknownEngagement(EngagementId),
    /// The nomination kept changing under the call: retry later (R-REC-4).
    #[error("the nomination kept changing; try again (R-REC-4)")]
    Busy,
    /// A port (directory, eligibility source, random source) failed.
    #[error(transparent)]
    Port(#[from] PortError),
    /// The stored row of the nomination cannot be read back (corrupted,
    /// or written by a newer version): retrying does not help, an operator
    /// must repair or restore it. The reason is the decoder's words without
    /// any content of the row.
    #[error(
        "nomination {nomination} is stored but cannot be read back ({reason}); it needs an operator"
    )]
    Unreadable {
        /// The nomination.
        nomination: NominationId,
        /// Why, without any content of the row.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// A stored idempotent result could not be read back, or a result or
    /// command could not be serialised for its idempotency key.
    #[error("the result stored for this idempotency key cannot be read: {0}")]
    Replay(#[source] serde_json::Error),
    /// The idempotency key was first used with another command, another
    /// nomination or another input. A key is bound to the command it was
    /// first used with: this call is refused, not answered with that
    /// command's result, and wrote nothing; give it a new key (R-REC-5).
    #[error(
        "the idempotency key {key} was first used with another command, nomination or input; use a new key (R-REC-5)"
    )]
    IdempotencyKeyMismatch {
        /// The key, within its scope.
        key: IdempotencyKey,
    },
}

impl From<InvalidValue> for Error {
    fn from(invalid: InvalidValue) -> Self {
        Error::Refused(Refusal::Invalid(invalid))
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::IdempotencyKeyMismatch { key } => Error::IdempotencyKeyMismatch { key },
            StoreError::Unreadable { nomination, reason } => {
                Error::Unreadable { nomination, reason }
            }
            error => Error::Store(error),
        }
    }
}

impl Error {
    /// The SPEC rule behind the error, where there is one.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Error::Refused(refusal) => Some(refusal.rule()),
            Error::Ineligible { reason, .. } => Some(reason.rule()),
            Error::Busy => Some("R-REC-4"),
            Error::IdempotencyKeyMismatch { .. } => Some("R-REC-5"),
            Error::Store(error) => error.rule(),
            _ => None,
        }
    }

    /// Whether the caller may retry the same call later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Busy | Error::Port(_))
            || matches!(self, Error::Store(e) if e.is_retryable())
    }
}

/// The result of a call of the service.
pub type Result<T, E = Error> = std::result::Result<T, E>;
