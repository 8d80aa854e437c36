//! The store's error.

use crate::{IdempotencyKey, SettingKey, SettingValue};
use mci_core::{Guard, NominationId};

/// What can go wrong in a store. Each variant is a case a caller acts on.
///
/// The enum is `#[non_exhaustive]`, its variants are not: an adapter in
/// any crate builds them as it finds them, and a caller matching them ends
/// with a wildcard arm for the cases later versions add.
///
/// No variant repeats its source's words: the backend's error is
/// [`source()`](std::error::Error::source), to be shown with the rest of
/// the chain (a log's error reporter walks it).
///
/// ```
/// use mci_store::StoreError;
///
/// let broken = std::io::Error::other("connection reset");
/// let transient = StoreError::unavailable(broken);
/// assert!(transient.is_retryable()); // later, with backoff
/// assert!(!transient.is_conflict()); // not by reading again at once
/// assert_eq!(transient.to_string(), "the store is unavailable; nothing was written, retry later");
/// let cause = std::error::Error::source(&transient).map(ToString::to_string);
/// assert_eq!(cause.as_deref(), Some("connection reset"));
///
/// let failed = StoreError::backend(std::io::Error::other("no such table"));
/// assert!(!failed.is_retryable());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The nomination was changed since it was read, or created twice: read
    /// it again and retry (R-REC-4).
    #[error(
        "nomination {nomination} is at version {found:?}, not {expected}: read it again and retry (R-REC-4)"
    )]
    Conflict {
        /// The nomination.
        nomination: NominationId,
        /// The version the write expected (0: that it did not exist).
        expected: u64,
        /// The version found (`None`: it does not exist).
        found: Option<u64>,
    },
    /// A guard failed: the change would break the rule it names.
    #[error("the change would break: {guard}")]
    GuardViolated {
        /// The guard that failed.
        guard: Guard,
    },
    /// The idempotency key was already used; read its result with
    /// [`Store::idempotent_result`](crate::Store::idempotent_result)
    /// (R-REC-5).
    #[error("the idempotency key was already used (R-REC-5)")]
    IdempotencyKeyUsed,
    /// The idempotency key was already used with another command, another
    /// nomination or another input: a key is bound to the command it was
    /// first used with, and this one is refused (R-REC-5).
    #[error(
        "the idempotency key {key} was first used with another command, nomination or input (R-REC-5)"
    )]
    IdempotencyKeyMismatch {
        /// The key.
        key: IdempotencyKey,
    },
    /// The stored row of a nomination cannot be read back: it was
    /// corrupted, or written by a newer version of the crates. Retrying
    /// does not help; it needs an operator. `reason` is the decoder's
    /// words without any content of the row (no friendly name, contact or
    /// comment can reach a log through it), as
    /// [`Unreadable::json_reason`](crate::Unreadable::json_reason) gives
    /// them.
    #[error("the stored row of nomination {nomination} cannot be read back: {reason}")]
    Unreadable {
        /// The nomination.
        nomination: NominationId,
        /// Why, without any content of the row.
        reason: String,
    },
    /// A commit that cannot be written as given (for example two writes of
    /// one nomination): a caller error.
    #[error("invalid commit: {0}")]
    InvalidCommit(String),
    /// A setting was not written because the key no longer holds what
    /// the [`SettingCondition`](crate::SettingCondition) expected: another
    /// writer changed it since it was read, or created it first. Read it
    /// again (`found` is what it held when the write was refused) and
    /// decide again.
    #[error("setting {key} was changed since it was read: read it again and retry")]
    SettingChanged {
        /// The setting.
        key: SettingKey,
        /// What it held when the write was refused.
        found: Option<SettingValue>,
    },
    /// The backend failed for a while: a lock held by another process, a
    /// broken or busy connection, a transaction refused by concurrent ones
    /// on every try, a full disk. Nothing of the operation was written, and
    /// the same operation may succeed when retried later, with backoff.
    /// The source is the backend's error.
    #[error("the store is unavailable; nothing was written, retry later")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The backend failed, and retrying is not known to help (a statement
    /// the schema refuses, a document that does not read back, a store
    /// that was closed). The source is the backend's error.
    #[error("the store failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Whether reading again and deciding again may succeed at once: a
    /// conflict (R-REC-4), or a guard that failed only because the decision
    /// read too early ([`Guard::is_retryable`]: a rival appeared while an
    /// acceptance was decided, R-CONSENT-10), or a setting changed since it
    /// was read ([`StoreError::SettingChanged`]). This is what a caller that
    /// loads, decides and commits loops on.
    pub fn is_conflict(&self) -> bool {
        match self {
            StoreError::Conflict { .. } | StoreError::SettingChanged { .. } => true,
            StoreError::GuardViolated { guard } => guard.is_retryable(),
            _ => false,
        }
    }

    /// Whether the same operation may succeed when retried: a conflict
    /// ([`StoreError::is_conflict`], at once after reading again), or a
    /// backend that was unavailable for a while ([`StoreError::Unavailable`],
    /// later, with backoff). Every other variant fails again the same way:
    /// a guard of a rule, a used idempotency key, an unreadable row, an
    /// invalid commit, a backend failure not known to be transient.
    pub fn is_retryable(&self) -> bool {
        self.is_conflict() || matches!(self, StoreError::Unavailable(_))
    }

    /// The rule a failed guard enforces, if this is one.
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            StoreError::GuardViolated { guard } => Some(guard.rule()),
            StoreError::Conflict { .. } => Some("R-REC-4"),
            StoreError::IdempotencyKeyUsed | StoreError::IdempotencyKeyMismatch { .. } => {
                Some("R-REC-5")
            }
            _ => None,
        }
    }

    /// A nomination whose stored row cannot be read back, as a single read
    /// answers it.
    pub fn unreadable(row: crate::Unreadable) -> Self {
        StoreError::Unreadable {
            nomination: row.id,
            reason: row.reason,
        }
    }

    /// A backend error from any error type, not known to be transient.
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(error))
    }

    /// A backend error from any error type after which the same operation
    /// may succeed later ([`StoreError::Unavailable`]).
    pub fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Unavailable(Box::new(error))
    }
}
