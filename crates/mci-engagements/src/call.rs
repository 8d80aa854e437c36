//! Who makes a call, with its optional idempotency key (R-REC-5).

use mci_core::{PartnerUser, ReviewerId};

/// A call made by an actor, optionally carrying an idempotency key: a
/// retried call with the same key returns the first result and writes
/// nothing new (R-REC-5).
///
/// ```
/// use mci_engagements::Call;
/// use mci_core::{PartnerUser, Role};
///
/// let user = PartnerUser::new("4711".parse().unwrap(), "ada".parse().unwrap(), Role::IncentivesAdmin);
/// let call = Call::new(user).idempotency_key("add-contoso-2026-03-02");
/// assert_eq!(call.key(), Some("add-contoso-2026-03-02"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call<A> {
    actor: A,
    key: Option<String>,
}

impl<A> Call<A> {
    /// A call by `actor`, without a key.
    pub fn new(actor: A) -> Self {
        Self { actor, key: None }
    }

    /// The same call, carrying `key`.
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Who calls.
    pub fn actor(&self) -> &A {
        &self.actor
    }

    /// The idempotency key, if any.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The actor and the key, taken out of the call: for commands that own
    /// the call and would otherwise copy the actor.
    pub(crate) fn into_parts(self) -> (A, Option<String>) {
        (self.actor, self.key)
    }
}

impl<A: Clone> From<&A> for Call<A> {
    fn from(actor: &A) -> Self {
        Call::new(actor.clone())
    }
}

impl From<PartnerUser> for Call<PartnerUser> {
    fn from(actor: PartnerUser) -> Self {
        Call::new(actor)
    }
}

impl From<ReviewerId> for Call<ReviewerId> {
    fn from(actor: ReviewerId) -> Self {
        Call::new(actor)
    }
}
