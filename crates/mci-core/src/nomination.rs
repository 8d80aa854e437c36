//! The nomination: one partner's attachment of one customer to one
//! engagement, and the state machine it moves through.
//!
//! Every transition is a method that takes the current instant and its input
//! and returns a typed [`Refusal`] or an [`Outcome`]: the nomination as it
//! will be, the one [`Event`] the change caused, the [`Message`]s to queue and
//! the [`Guard`]s the store must check when it writes (ARCHITECTURE "The
//! seams"). The nomination itself is never changed in place: a refused
//! command leaves nothing to undo.
//!
//! The transitions live in modules named after what they are about:
//! consent in `consent`, the workshop claim in `claim`, the reviewer's side in
//! `review`, deadlines and lapsing in `lapse`.
//!
//! ```
//! # use mci_testkit::*;
//! use mci_core::{State, Step};
//!
//! let (nomination, now) = fresh_nomination();
//! assert_eq!(nomination.state(), State::CustomerClaimed);
//!
//! let token = mci_core::LinkToken::from_bytes([1; 32]);
//! let link = mci_core::FreshLink::new(mci_core::LinkId::from_bytes([1; 16]), &token);
//! let sent = nomination.send_consent(now, &admin(), Default::default(), &link).unwrap();
//! assert_eq!(sent.nomination.state(), State::AwaitingConsent);
//! assert_eq!(sent.messages.len(), 1);
//!
//! let Step::Changed(accepted) = sent.nomination.accept_consent(now, &token).unwrap() else {
//!     unreachable!()
//! };
//! assert_eq!(accepted.nomination.state(), State::Consented);
//! // One consent per customer, and no other partner's nomination still
//! // asking for it (R-CONSENT-8, R-CONSENT-10).
//! assert_eq!(accepted.guards.len(), 2);
//! ```

use crate::actor::{Actor, PartnerUser};
use crate::claim::ClaimRecord;
use crate::customer::{Contacts, Customer};
use crate::engagement::EngagementRules;
use crate::event::{Event, EventKind};
use crate::guard::{Guard, Standing};
use crate::link::{IssuedLink, LinkPurpose};
use crate::message::{Message, MessageId, MessageKind};
use crate::refusal::{Command, Refusal};
use crate::state::State;
use crate::time::{Instant, check_instant};
use crate::{
    EmailAddress, EngagementId, FriendlyName, Hours, InvalidValue, LinkToken, LocationId, Money,
    NominationId, PartnerId, Sha256Digest,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a nomination came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "origin", rename_all = "snake_case")]
pub enum Origin {
    /// Added with *add customer* (R-ADD).
    Added,
    /// Claimed with *claim customer*, from an earlier consented nomination
    /// of the same partner (R-CLAIM).
    Claimed {
        /// The earlier nomination the customer's identity came from.
        from: NominationId,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Added => f.write_str("customer added"),
            Origin::Claimed { .. } => f.write_str("customer claimed"),
        }
    }
}

/// The consent side of a nomination (R-CONSENT).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// The partner's estimate, frozen once the first request is sent.
    pub estimated_deal_size: Option<Money>,
    /// When the first consent email was queued.
    pub first_requested_at: Option<Instant>,
    /// How many consent emails (first and reminders) were queued.
    pub requests: u32,
    /// When the customer accepted.
    pub accepted_at: Option<Instant>,
    /// When the customer declined.
    pub declined_at: Option<Instant>,
    /// When the customer's consent to another partner for the same
    /// engagement was accepted, while this nomination still asked for it
    /// (R-CONSENT-10): from then on it asks no more, and shows on the
    /// Ineligible tab until it is cancelled or its consent deadline passes.
    /// Absent from documents written before the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_at: Option<Instant>,
}

/// The one partner's attachment of one customer to one engagement.
///
/// Fields are read through methods; only transitions make a changed copy.
/// Serde gives stores one document per nomination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nomination {
    pub(crate) id: NominationId,
    pub(crate) partner: PartnerId,
    pub(crate) engagement: EngagementId,
    pub(crate) location: LocationId,
    pub(crate) friendly_name: FriendlyName,
    pub(crate) customer: Customer,
    pub(crate) customer_contacts: Contacts,
    pub(crate) partner_contacts: Contacts,
    pub(crate) rules: EngagementRules,
    pub(crate) origin: Origin,
    pub(crate) hours: Option<Hours>,
    pub(crate) created_at: Instant,
    pub(crate) updated_at: Instant,
    pub(crate) version: u64,
    pub(crate) state: State,
    pub(crate) consent: ConsentRecord,
    pub(crate) links: Vec<IssuedLink>,
    pub(crate) claim: ClaimRecord,
    pub(crate) reminders_sent: Vec<crate::lapse::ReminderMark>,
    pub(crate) lapsed_at: Option<Instant>,
    /// The hash of the last event of the history (R-LIST-4). Absent only
    /// from documents written before histories were chained, which the
    /// stores' migrations fill in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_hash: Option<Sha256Digest>,
}

/// What a transition decided: the nomination as it will be, the event, the
/// messages to queue, and the guards the store checks as it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Outcome {
    /// The nomination after the change, its version one higher.
    pub nomination: Nomination,
    /// The record of the change (R-REC-1).
    pub event: Event,
    /// The emails the change queues (R-REC-2).
    pub messages: Vec<Message>,
    /// What must hold among the other nominations when this is written.
    pub guards: Vec<Guard>,
}

impl Outcome {
    /// The version the store must find before writing this outcome (0 for a
    /// nomination being created).
    pub fn expected_version(&self) -> u64 {
        self.nomination.version.saturating_sub(1)
    }

    pub(crate) fn message(mut self, to: Vec<EmailAddress>, kind: MessageKind) -> Self {
        let index = u16::try_from(self.messages.len()).unwrap_or(u16::MAX);
        self.messages.push(Message {
            id: MessageId::derive(&self.nomination.id, self.nomination.version, index),
            nomination: self.nomination.id,
            engagement: self.nomination.engagement.clone(),
            queued_at: self.event.at,
            to,
            kind,
            head: Some(self.event.head()),
        });
        self
    }

    /// The outcome with its event citing `seen`, the hash of the last event
    /// the actor saw (R-LIST-4): the event is sealed again, and the
    /// nomination's last hash and the heads its messages carry follow.
    pub(crate) fn citing(mut self, seen: Sha256Digest) -> Self {
        self.event.seen = Some(seen);
        let previous = self.event.previous;
        self.event = self.event.sealed(previous);
        self.nomination.last_hash = Some(self.event.hash);
        for message in &mut self.messages {
            message.head = Some(self.event.head());
        }
        self
    }

    pub(crate) fn guard(mut self, guard: Guard) -> Self {
        self.guards.push(guard);
        self
    }
}

/// The answer to a command that may repeat: a link clicked twice answers the
/// same and writes nothing the second time (R-CONSENT-9).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Step {
    /// The command changed the nomination.
    Changed(Box<Outcome>),
    /// The command had already been carried out; nothing to write.
    Unchanged,
}

/// What a new nomination is made of; the engagement's rules are pinned from
/// the engagement at creation (R-ENG-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Draft {
    /// The new nomination's id, a UUID v7 from the service.
    pub(crate) id: NominationId,
    /// Its friendly name.
    pub(crate) friendly_name: FriendlyName,
    /// The partner's location delivering it.
    pub(crate) location: LocationId,
    /// The customer.
    pub(crate) customer: Customer,
    /// The customer's contacts.
    pub(crate) customer_contacts: Contacts,
    /// The partner's contacts.
    pub(crate) partner_contacts: Contacts,
    /// Hours, for variable pay (R-ADD-8).
    pub(crate) hours: Option<Hours>,
    /// Added or claimed.
    pub(crate) origin: Origin,
}

impl Nomination {
    /// A new nomination in [`State::CustomerClaimed`], pinning `rules`
    /// (R-ENG-8). Callers go through `nominate` (R-ADD, R-CLAIM), which
    /// checks eligibility first; this only builds the outcome.
    pub(crate) fn create(
        now: Instant,
        user: &PartnerUser,
        engagement: EngagementId,
        rules: EngagementRules,
        draft: Draft,
    ) -> Outcome {
        let nomination = Nomination {
            id: draft.id,
            partner: user.partner().clone(),
            engagement,
            location: draft.location,
            friendly_name: draft.friendly_name,
            customer: draft.customer,
            customer_contacts: draft.customer_contacts,
            partner_contacts: draft.partner_contacts,
            rules,
            origin: draft.origin,
            hours: draft.hours,
            created_at: now,
            updated_at: now,
            version: 1,
            state: State::CustomerClaimed,
            consent: ConsentRecord::default(),
            links: Vec::new(),
            claim: ClaimRecord::default(),
            reminders_sent: Vec::new(),
            lapsed_at: None,
            last_hash: None,
        };
        let mut nomination = nomination;
        let event = Event {
            nomination: nomination.id,
            version: 1,
            at: now,
            actor: user.actor(),
            from: None,
            to: State::CustomerClaimed,
            kind: EventKind::Created {
                origin: draft.origin,
            },
            previous: None,
            seen: None,
            hash: Sha256Digest::from_bytes([0; 32]),
        }
        .sealed(None);
        nomination.last_hash = Some(event.hash);
        let (engagement, customer) = (nomination.engagement.clone(), *nomination.customer.id());
        let limit = nomination.rules.active_nomination_limit();
        let partner = nomination.partner.clone();
        Outcome {
            nomination,
            event,
            messages: Vec::new(),
            guards: Vec::new(),
        }
        .guard(Guard::NoOtherLiveNomination {
            partner,
            engagement: engagement.clone(),
            customer,
        })
        .guard(Guard::LiveNominationsBelow {
            engagement: engagement.clone(),
            customer,
            limit,
        })
        .guard(Guard::NoOtherConsent {
            engagement,
            customer,
        })
    }

    /// The change to `to`, made by `actor` at `now`, with `edit` applied to
    /// the copy: version one higher, one event.
    pub(crate) fn change(
        &self,
        now: Instant,
        actor: Actor,
        to: State,
        kind: EventKind,
        edit: impl FnOnce(&mut Nomination),
    ) -> Outcome {
        let mut next = self.clone();
        edit(&mut next);
        next.state = to;
        next.version = self.version.saturating_add(1);
        next.updated_at = now;
        let event = Event {
            nomination: self.id,
            version: next.version,
            at: now,
            actor,
            from: Some(self.state),
            to,
            kind,
            previous: None,
            seen: None,
            hash: Sha256Digest::from_bytes([0; 32]),
        }
        .sealed(self.last_hash);
        next.last_hash = Some(event.hash);
        Outcome {
            nomination: next,
            event,
            messages: Vec::new(),
            guards: Vec::new(),
        }
    }

    /// The instant a command or read at `now` takes effect: never before the
    /// nomination's last change, so its history stays in order and days left
    /// never exceed the window, even when clocks disagree (R-REC-1, R-TIME-3).
    pub(crate) fn not_before_last_change(&self, now: Instant) -> Instant {
        now.max(self.updated_at)
    }

    /// The instant a command at `now` takes effect, as
    /// [`not_before_last_change`](Self::not_before_last_change), once `now`
    /// is found in the accepted range; outside it the command is refused
    /// and nothing changes (R-INPUT). Every deadline a command starts is
    /// then representable.
    pub(crate) fn command_at(&self, now: Instant) -> Result<Instant, InvalidValue> {
        check_instant("now", now).map(|now| self.not_before_last_change(now))
    }

    /// Checks that `user` may act on this nomination: an incentives role
    /// (R-ROLE-1) and this nomination's partner, else not found (R-ROLE-2).
    pub(crate) fn acting(&self, user: &PartnerUser) -> Result<Actor, Refusal> {
        user.may_act()?;
        if user.partner() != &self.partner {
            return Err(Refusal::NotFound);
        }
        Ok(user.actor())
    }

    /// Refuses when a deadline has passed at `now` (whether or not the sweep
    /// has persisted it), then when `command` is not allowed in the state.
    pub(crate) fn require(
        &self,
        now: Instant,
        command: Command,
        allowed: &[State],
    ) -> Result<(), Refusal> {
        if let Some(refusal) = self.lapse_refusal(now) {
            return Err(refusal);
        }
        if allowed.contains(&self.state) {
            Ok(())
        } else {
            Err(Refusal::NotAllowedNow {
                command,
                state: self.state,
            })
        }
    }

    /// The link of `purpose` that `token` opens, if any (R-TOKEN-2).
    pub(crate) fn link_opened_by(&self, token: &LinkToken, purpose: LinkPurpose) -> bool {
        // Every link is compared, so the time taken does not tell which matched.
        self.links
            .iter()
            .fold(false, |found, link| found | link.opens(token, purpose))
    }

    pub(crate) fn void_links(&mut self, purpose: LinkPurpose) -> bool {
        let before = self.links.len();
        self.links.retain(|link| link.purpose() != purpose);
        self.links.len() != before
    }

    /// Its id.
    pub fn id(&self) -> &NominationId {
        &self.id
    }

    /// The partner that nominated.
    pub fn partner(&self) -> &PartnerId {
        &self.partner
    }

    /// The engagement.
    pub fn engagement(&self) -> &EngagementId {
        &self.engagement
    }

    /// The partner's location delivering it.
    pub fn location(&self) -> &LocationId {
        &self.location
    }

    /// The partner's name for it.
    pub fn friendly_name(&self) -> &FriendlyName {
        &self.friendly_name
    }

    /// The customer.
    pub fn customer(&self) -> &Customer {
        &self.customer
    }

    /// The customer's contacts.
    pub fn customer_contacts(&self) -> &Contacts {
        &self.customer_contacts
    }

    /// The partner's contacts.
    pub fn partner_contacts(&self) -> &Contacts {
        &self.partner_contacts
    }

    /// The engagement rules pinned at creation (R-ENG-8).
    pub fn rules(&self) -> &EngagementRules {
        &self.rules
    }

    /// Added or claimed.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The hours declared for variable pay, fixed at creation (R-ADD-8).
    pub fn hours(&self) -> Option<Hours> {
        self.hours
    }

    /// The payout the pinned rules give: the fee, or rate times hours capped
    /// (R-ENG-2, R-ADD-8).
    pub fn proposed_payout(&self) -> Option<Money> {
        self.rules.pay().payout(self.hours)
    }

    /// When it was added or claimed; the consent window counts from here
    /// (R-CONSENT-1).
    pub fn created_at(&self) -> Instant {
        self.created_at
    }

    /// When it last changed.
    pub fn updated_at(&self) -> Instant {
        self.updated_at
    }

    /// The head of its history, to hand to the partner with every answer
    /// (R-LIST-4): its version and the hash of its last event. `None` only
    /// for a document written before histories were chained and not yet
    /// migrated.
    pub fn head(&self) -> Option<crate::Head> {
        Some(crate::Head {
            nomination: self.id,
            version: self.version,
            hash: self.last_hash?,
        })
    }

    /// Refuses a decision that cites `seen` as the last event of the
    /// history when the history has moved on since, or when `seen` is not
    /// its last event at all (R-LIST-4). Nothing is written for the
    /// refusal: the decider reads the nomination again.
    pub(crate) fn require_seen(&self, seen: Sha256Digest) -> Result<(), Refusal> {
        if self.last_hash == Some(seen) {
            Ok(())
        } else {
            Err(Refusal::StaleHead {
                seen,
                version: self.version,
            })
        }
    }

    /// Its version: 1 at creation, one more for each change (R-REC-4).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The state as stored. A deadline may have passed since; read
    /// [`Nomination::at`] for the state at an instant.
    pub fn state(&self) -> State {
        self.state
    }

    /// The consent side.
    pub fn consent(&self) -> &ConsentRecord {
        &self.consent
    }

    /// When the customer consented, which starts the claim's windows.
    pub fn consented_at(&self) -> Option<Instant> {
        self.consent.accepted_at
    }

    /// The workshop claim.
    pub fn claim(&self) -> &ClaimRecord {
        &self.claim
    }

    /// The links sent and not voided, as hashes (R-TOKEN-2).
    pub fn links(&self) -> &[IssuedLink] {
        &self.links
    }

    /// When it lapsed, if a deadline ended it.
    pub fn lapsed_at(&self) -> Option<Instant> {
        self.lapsed_at
    }

    /// When it lost the customer to another partner's accepted consent
    /// (R-CONSENT-10), if it did.
    pub fn lost_at(&self) -> Option<Instant> {
        self.consent.lost_at
    }

    /// Whether it still asks for the customer's consent, as stored: customer
    /// claimed or awaiting consent, and not lost to another partner
    /// (R-CONSENT-10). Its consent deadline may have passed since.
    pub fn is_asking(&self) -> bool {
        self.state.is_before_consent() && self.consent.lost_at.is_none()
    }

    /// What this nomination means to the guards of the others (R-CONSENT-8,
    /// R-CONSENT-10, R-ADD-7, R-ENG-5).
    pub fn standing(&self) -> Standing {
        let live = self.state.is_live();
        let completed = self.state.is_completed();
        Standing {
            live,
            holds_consent: self.consent.accepted_at.is_some() && (live || completed),
            completed,
            asking: self.is_asking(),
            until: self.deadline().map(|d| d.at),
        }
    }
}
