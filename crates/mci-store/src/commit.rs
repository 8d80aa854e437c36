//! What one commit writes.

use crate::StoreError;
use mci_core::{
    CustomerId, EngagementId, Event, Guard, Instant, InvalidValue, KeptAnswer, Message, Nomination,
    NominationId, Outcome, PartnerId, PayoutBatch, Problem,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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

/// What a command asked for, as a hash: an idempotency key is bound to the
/// fingerprint of the command it was first used with, so that the same key
/// with another command, nomination or input is refused rather than
/// answered with the first command's result (R-REC-5).
///
/// # Canonical form
///
/// A fingerprint is the SHA-256 of the UTF-8 bytes of one JSON text, the
/// [canonical form](Fingerprint::canonical) of the command:
///
/// ```text
/// {"command":<name>,"input":<input>,"target":<nomination id or null>}
/// ```
///
/// - `command` is the command's stable name: the name of the service
///   method that runs it, such as `"add_comment"` or `"run_payout"`;
/// - `target` is the id of the nomination the command acts on, as its
///   string form, or `null` for a command that acts on none (an add, a
///   claim, a payout run);
/// - `input` is what the caller gave besides the target, as its serde form:
///   not values the service derives (link tokens, ids, instants), so that a
///   retry computes the same fingerprint. A command without input has
///   `null`.
///
/// The text has no whitespace, and the members of every object, at every
/// depth, in ascending order of their keys' bytes; strings and numbers are
/// written as `serde_json` writes them (a string escapes only `"`, `\` and
/// control characters). Any code that computes a fingerprint goes through
/// [`Fingerprint::of`], so that it agrees with the ones already stored.
///
/// ```
/// use mci_store::Fingerprint;
///
/// let text = Fingerprint::canonical("add_comment", None, &"Called the customer.").unwrap();
/// assert_eq!(text, r#"{"command":"add_comment","input":"Called the customer.","target":null}"#);
/// let fingerprint = Fingerprint::of("add_comment", None, &"Called the customer.").unwrap();
/// assert_eq!(fingerprint.to_string().len(), 64);
/// assert_ne!(fingerprint, Fingerprint::of("dispute", None, &"Called the customer.").unwrap());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint([u8; 32]);

/// The members of the canonical form, in key order.
#[derive(Serialize)]
struct Canonical<'a, I: ?Sized> {
    command: &'a str,
    input: &'a I,
    target: Option<&'a NominationId>,
}

impl Fingerprint {
    /// The fingerprint of the command `command` on `target` with `input`.
    /// Fails only when `input` cannot be serialised as JSON (a map whose
    /// keys are not strings, or a `Serialize` that fails).
    pub fn of<I: Serialize + ?Sized>(
        command: &str,
        target: Option<&NominationId>,
        input: &I,
    ) -> Result<Self, serde_json::Error> {
        let text = Self::canonical(command, target, input)?;
        Ok(Self(Sha256::digest(text.as_bytes()).into()))
    }

    /// The canonical form of the command, the text [`Fingerprint::of`]
    /// hashes.
    pub fn canonical<I: Serialize + ?Sized>(
        command: &str,
        target: Option<&NominationId>,
        input: &I,
    ) -> Result<String, serde_json::Error> {
        let mut value = serde_json::to_value(Canonical {
            command,
            input,
            target,
        })?;
        // Sorted already unless serde_json keeps insertion order (its
        // `preserve_order` feature); sorted either way.
        value.sort_all_objects();
        serde_json::to_string(&value)
    }

    /// A fingerprint from its 32 bytes, as a store keeps it.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Its 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    /// The 64 lowercase hex digits of the hash.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// The record of an idempotent command: its key, the fingerprint of the
/// command, and the result to replay (R-REC-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The key.
    pub key: IdempotencyKey,
    /// The command the key is bound to.
    pub fingerprint: Fingerprint,
    /// The result, serialized by the caller; the store keeps it opaque.
    pub result: String,
}

impl Idempotency {
    /// The refusal of a commit carrying this record when its key is stored
    /// already, bound to `first` (R-REC-5): the same command is
    /// [`StoreError::IdempotencyKeyUsed`], another one
    /// [`StoreError::IdempotencyKeyMismatch`]. A record stored without a
    /// fingerprint (before stores kept them) binds its key to no command
    /// known: it answers [`StoreError::IdempotencyKeyUsed`], as before.
    pub fn refusal(&self, first: Option<&Fingerprint>) -> StoreError {
        match first {
            Some(first) if *first != self.fingerprint => StoreError::IdempotencyKeyMismatch {
                key: self.key.clone(),
            },
            _ => StoreError::IdempotencyKeyUsed,
        }
    }
}

/// What a store answers for an idempotency key it holds: the result of the
/// command the key was first used with, and that command's fingerprint
/// (R-REC-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentResult {
    /// The fingerprint of the first command; `None` for a record stored
    /// before stores kept fingerprints, whose command is not known.
    pub fingerprint: Option<Fingerprint>,
    /// The result, as the caller serialized it.
    pub result: String,
}

/// An answer of the customer eligibility port to keep beside a partner's
/// known customer for an engagement (R-PAGE-9). A store keeps it only for a
/// customer known to the partner (one that consented to the partner, with
/// the commit's writes applied), and ignores it otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerWrite {
    /// The partner that knows the customer.
    pub partner: PartnerId,
    /// The engagement asked about.
    pub engagement: EngagementId,
    /// The customer.
    pub customer: CustomerId,
    /// The answer, as the core keeps it.
    pub answer: KeptAnswer,
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
    /// Answers of the eligibility port to keep (R-PAGE-9).
    pub answers: Vec<AnswerWrite>,
}

impl Commit {
    /// An empty commit at `now`.
    pub fn at(now: Instant) -> Self {
        Self {
            now,
            writes: Vec::new(),
            payout_batch: None,
            idempotency: None,
            answers: Vec::new(),
        }
    }

    /// A commit of one outcome.
    pub fn of(now: Instant, outcome: Outcome) -> Self {
        Self::at(now).with(outcome)
    }

    /// A commit of several outcomes, written in the order given: each
    /// write's guards are checked with the earlier ones applied (as an
    /// acceptance's losers come before it, R-CONSENT-10).
    pub fn of_all(now: Instant, outcomes: impl IntoIterator<Item = Outcome>) -> Self {
        Self {
            writes: outcomes.into_iter().map(Write::from).collect(),
            ..Self::at(now)
        }
    }

    /// This commit with one more write.
    #[must_use]
    pub fn with(mut self, write: impl Into<Write>) -> Self {
        self.writes.push(write.into());
        self
    }

    /// This commit keeping one more answer of the eligibility port.
    #[must_use]
    pub fn keeping(mut self, answer: AnswerWrite) -> Self {
        self.answers.push(answer);
        self
    }

    /// This commit with an idempotency record: `key`, bound to the command
    /// of `fingerprint`, and its `result`.
    #[must_use]
    pub fn idempotent(
        mut self,
        key: IdempotencyKey,
        fingerprint: Fingerprint,
        result: String,
    ) -> Self {
        self.idempotency = Some(Idempotency {
            key,
            fingerprint,
            result,
        });
        self
    }

    /// Checks what a store cannot write as given: two writes of one
    /// nomination, an event or message that belongs to another nomination
    /// or version, or two answers about one known customer and engagement.
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
        // A set, not a pairwise scan: bulk commits keep thousands.
        let mut seen = std::collections::HashSet::with_capacity(self.answers.len());
        for a in &self.answers {
            if !seen.insert((&a.partner, &a.engagement, &a.customer)) {
                return invalid(format!(
                    "two answers about {} for {} of {}",
                    a.customer, a.engagement, a.partner
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// An input whose fields are declared out of key order, with a nested
    /// object.
    #[derive(Serialize)]
    struct Input {
        zeta: u32,
        alpha: Option<&'static str>,
        nested: Nested,
    }

    #[derive(Serialize)]
    struct Nested {
        b: bool,
        a: &'static str,
    }

    fn input() -> Input {
        Input {
            zeta: 7,
            alpha: None,
            nested: Nested {
                b: true,
                a: "é \"q\"",
            },
        }
    }

    #[test]
    fn r_rec_5_the_canonical_form_sorts_keys_at_every_depth_without_whitespace() {
        let target = mci_testkit::nomination_id(1);
        let text = Fingerprint::canonical("attach_document", Some(&target), &input()).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"command":"attach_document","input":{{"alpha":null,"nested":{{"a":"é \"q\"","b":true}},"zeta":7}},"target":"{target}"}}"#
            )
        );
    }

    #[test]
    fn r_rec_5_a_fingerprint_is_the_sha256_of_the_canonical_form() {
        // Pinned: stored fingerprints must keep matching the commands that
        // made them; `sha256sum` of the canonical text gives the same digest.
        let fingerprint = Fingerprint::of("add_comment", None, "Called the customer.").unwrap();
        assert_eq!(
            fingerprint.to_string(),
            "588b7ee3ad36e446fd2381aec359e494466dc275929f4bfacdb7c4786e9cdf54"
        );
        assert_eq!(
            Fingerprint::from_bytes(*fingerprint.as_bytes()),
            fingerprint
        );
    }

    #[test]
    fn r_rec_5_another_command_target_or_input_is_another_fingerprint() {
        let (n1, n2) = (mci_testkit::nomination_id(1), mci_testkit::nomination_id(2));
        let of = |command, target, input: &str| Fingerprint::of(command, target, input).unwrap();
        let first = of("add_comment", Some(&n1), "text");
        assert_eq!(first, of("add_comment", Some(&n1), "text"));
        assert_ne!(first, of("dispute", Some(&n1), "text"));
        assert_ne!(first, of("add_comment", Some(&n2), "text"));
        assert_ne!(first, of("add_comment", None, "text"));
        assert_ne!(first, of("add_comment", Some(&n1), "other text"));
        assert_ne!(
            Fingerprint::of("cancel", Some(&n1), &()).unwrap(),
            Fingerprint::of("submit", Some(&n1), &()).unwrap()
        );
    }

    #[test]
    fn r_page_9_two_answers_about_one_known_customer_are_an_invalid_commit() {
        let (engagement, now) = mci_testkit::workshop();
        let answer = |c: u64| AnswerWrite {
            partner: mci_testkit::partner(1),
            engagement: engagement.id().clone(),
            customer: format!("tpid:{c}").parse().unwrap(),
            answer: KeptAnswer::eligible(&engagement, now, now),
        };
        let mut commit = Commit::at(now);
        commit.answers = (1..=3).map(answer).collect();
        assert!(commit.validate().is_ok());
        commit.answers.push(answer(2));
        assert!(matches!(
            commit.validate(),
            Err(StoreError::InvalidCommit(why)) if why.contains("two answers")
        ));
    }
}
