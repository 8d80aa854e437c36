//! What one commit writes.

use mci_core::{
    Event, Guard, Instant, InvalidValue, Message, Nomination, Outcome, PayoutBatch, Problem,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One nomination to create or update, with its event, messages and guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The nomination as it will be.
    pub nomination: Nomination,
    /// The version the store must find; 0 to create.
    pub expected_version: u64,
    /// The event of the change (R-REC-1).
    pub event: Event,
    /// The messages it queues (R-REC-2).
    pub messages: Vec<Message>,
    /// What must hold among the other nominations.
    pub guards: Vec<Guard>,
}

impl From<Outcome> for Write {
    fn from(outcome: Outcome) -> Self {
        Self {
            expected_version: outcome.expected_version(),
            nomination: outcome.nomination,
            event: outcome.event,
            messages: outcome.messages,
            guards: outcome.guards,
        }
    }
}

/// A key that makes a command safe to retry: the same key gives the first
/// result and writes nothing new (R-REC-5). Keys are scoped by the caller
/// (for example to a partner), so two partners' keys never collide.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IdempotencyKey {
    scope: String,
    key: String,
}

impl IdempotencyKey {
    /// The most characters a key or scope may have.
    pub const MAX_LEN: usize = 128;

    /// `key` within `scope`: each 1 to 128 visible ASCII characters.
    pub fn new(scope: impl Into<String>, key: impl Into<String>) -> Result<Self, InvalidValue> {
        let (scope, key) = (scope.into(), key.into());
        for (field, value) in [("idempotency_scope", &scope), ("idempotency_key", &key)] {
            if value.is_empty() {
                return Err(InvalidValue::under("R-REC-5", field, Problem::Empty));
            }
            if value.len() > Self::MAX_LEN {
                return Err(InvalidValue::under(
                    "R-REC-5",
                    field,
                    Problem::TooLong {
                        max: Self::MAX_LEN,
                        actual: value.len(),
                    },
                ));
            }
            if !value.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(InvalidValue::under(
                    "R-REC-5",
                    field,
                    Problem::Syntax("visible ASCII characters only".into()),
                ));
            }
        }
        Ok(Self { scope, key })
    }

    /// The scope.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The key within it.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.scope, self.key)
    }
}

/// The record of an idempotent command: its key and the result to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The key.
    pub key: IdempotencyKey,
    /// The result, serialized by the caller; the store keeps it opaque.
    pub result: String,
}

/// Everything one change writes, atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The instant guards are checked at.
    pub now: Instant,
    /// The nominations to write.
    pub writes: Vec<Write>,
    /// A payout batch to store with the payments it makes (R-CLAIM-W-9).
    pub payout_batch: Option<PayoutBatch>,
    /// The idempotency record, if the command carried a key (R-REC-5).
    pub idempotency: Option<Idempotency>,
}

impl Commit {
    /// An empty commit at `now`.
    pub fn at(now: Instant) -> Self {
        Self {
            now,
            writes: Vec::new(),
            payout_batch: None,
            idempotency: None,
        }
    }

    /// A commit of one outcome.
    pub fn of(now: Instant, outcome: Outcome) -> Self {
        Self::at(now).with(outcome)
    }

    /// This commit with one more write.
    #[must_use]
    pub fn with(mut self, write: impl Into<Write>) -> Self {
        self.writes.push(write.into());
        self
    }

    /// This commit with an idempotency record.
    #[must_use]
    pub fn idempotent(mut self, key: IdempotencyKey, result: String) -> Self {
        self.idempotency = Some(Idempotency { key, result });
        self
    }

    /// Checks what a store cannot write as given: two writes of one
    /// nomination, or an event or message that belongs to another
    /// nomination or version.
    pub fn validate(&self) -> Result<(), crate::StoreError> {
        let invalid = |what: String| Err(crate::StoreError::InvalidCommit(what));
        for (i, write) in self.writes.iter().enumerate() {
            let id = write.nomination.id();
            if self.writes[..i].iter().any(|w| w.nomination.id() == id) {
                return invalid(format!("nomination {id} is written twice"));
            }
            if write.event.nomination != *id || write.event.version != write.nomination.version() {
                return invalid(format!("the event of {id} is not for its version"));
            }
            if write.expected_version.saturating_add(1) != write.nomination.version() {
                return invalid(format!("{id} must move one version at a time"));
            }
            if write.messages.iter().any(|m| m.nomination != *id) {
                return invalid(format!("a message of {id} names another nomination"));
            }
        }
        Ok(())
    }
}
