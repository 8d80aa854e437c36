//! Asking for and answering consent (R-CONSENT).
//!
//! The partner sends the consent email ([`Nomination::send_consent`]) and may
//! re-send it ([`Nomination::resend_consent`]) inside the window counted from
//! the add or claim (R-CONSENT-1). The customer answers through the link
//! ([`Nomination::accept_consent`], [`Nomination::decline_consent`]); a
//! second click answers the same and writes nothing (R-CONSENT-9).
//!
//! An acceptance is decided together with the other partners' nominations
//! of the same customer for the engagement
//! ([`Nomination::accept_consent_among`]): each one that still asks for
//! consent loses, in the acceptance's own commit (R-CONSENT-10). It keeps
//! its state, but its links are void, it asks and is reminded no more, it
//! shows on its partner's Ineligible tab as "consented to another partner"
//! and offers only Cancel, until it is cancelled or its consent deadline
//! passes.
//!
//! ```
//! # use mci_testkit::*;
//! use mci_core::{FreshLink, LinkId, LinkToken, Refusal, State, Step};
//!
//! let (nomination, added) = fresh_nomination();
//! let token = LinkToken::from_bytes([9; 32]);
//! let link = FreshLink::new(LinkId::from_bytes([9; 16]), &token);
//! let sent = nomination.send_consent(added, &admin(), Default::default(), &link).unwrap().nomination;
//!
//! // The window counts from the add, not from the email; at the deadline it is late.
//! let deadline = added + chrono::TimeDelta::days(30);
//! assert!(matches!(sent.accept_consent(deadline, &token), Err(Refusal::Lapsed { state: State::ConsentExpired, .. })));
//! assert!(matches!(sent.accept_consent(deadline - chrono::TimeDelta::days(1), &token), Ok(Step::Changed(_))));
//! ```

use crate::actor::{Actor, PartnerUser};
use crate::customer::Contacts;
use crate::eligibility::Ineligibility;
use crate::event::EventKind;
use crate::guard::Guard;
use crate::link::{IssuedLink, LinkPurpose};
use crate::message::MessageKind;
use crate::nomination::{Nomination, Outcome, Step};
use crate::refusal::{Command, Refusal};
use crate::state::State;
use crate::time::Instant;
use crate::{
    EngagementId, FreshLink, FriendlyName, InvalidValue, LinkToken, Money, NominationId, Problem,
};
use crate::{LocationId, PartnerId};

/// The details the partner gives with a consent email (R-CONSENT-2). Every
/// field is optional: `None` keeps what the nomination has. Serialised as
/// the input an idempotency key is bound to (R-REC-5).
///
/// Its JSON form: a missing member or `null` keeps what the nomination
/// has; every value is validated as it is read, and an unknown member is
/// refused, so a client cannot send what the type would not hold.
///
/// ```
/// use mci_core::SendConsent;
///
/// let details: SendConsent = serde_json::from_str(r#"{
///     "partner_contacts": [{"name": "Ada", "email": "ada@partner.example"}],
///     "estimated_deal_size": "250000.00 EUR"
/// }"#).unwrap();
/// assert_eq!(details.estimated_deal_size, Some("250000.00 EUR".parse().unwrap()));
/// assert!(details.customer_contacts.is_none());
/// // An invalid email is refused as the JSON is read, naming its field.
/// let refused = serde_json::from_str::<SendConsent>(
///     r#"{"partner_contacts": [{"name": "Ada", "email": "ada@"}]}"#,
/// ).unwrap_err();
/// assert!(refused.to_string().contains("email"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendConsent {
    /// New customer contacts; a change voids earlier consent links
    /// (R-CONSENT-4).
    pub customer_contacts: Option<Contacts>,
    /// New partner contacts.
    pub partner_contacts: Option<Contacts>,
    /// The estimated deal size, frozen once the first request is sent.
    pub estimated_deal_size: Option<Money>,
}

/// A change of contacts (R-CONSENT-4, R-CLAIM-W-4). `None` keeps the current
/// list. Serialised as the input an idempotency key is bound to (R-REC-5).
///
/// Its JSON form: a missing member or `null` keeps the current list; the
/// contacts are validated as they are read (R-INPUT), and an unknown
/// member is refused.
///
/// ```
/// use mci_core::ContactsUpdate;
///
/// let update: ContactsUpdate = serde_json::from_str(
///     r#"{"customer": [{"name": "Carla", "email": "cio@contoso.example"}]}"#,
/// ).unwrap();
/// assert!(update.partner.is_none());
/// assert_eq!(
///     serde_json::to_string(&update).unwrap(),
///     r#"{"customer":[{"name":"Carla","email":"cio@contoso.example"}],"partner":null}"#,
/// );
/// assert!(serde_json::from_str::<ContactsUpdate>(r#"{"customers": []}"#).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactsUpdate {
    /// The customer's contacts.
    pub customer: Option<Contacts>,
    /// The partner's contacts.
    pub partner: Option<Contacts>,
}

/// What the customer's acceptance decided (R-CONSENT-5, R-CONSENT-10): the
/// accepted nomination's outcome, and one outcome for each other partner's
/// nomination of the customer for the engagement that still asked for
/// consent, and so loses it. Write them in one commit, in the order of
/// [`Acceptance::into_outcomes`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Acceptance {
    /// The accepted nomination, consented; its guards say that no other
    /// nomination holds the consent (R-CONSENT-8) and that no other
    /// partner's nomination still asks for it (R-CONSENT-10).
    pub winner: Outcome,
    /// The rivals that lose, each written with the version it was decided
    /// on, so that a rival changed meanwhile makes the commit a retryable
    /// conflict (R-REC-4).
    pub losers: Vec<Outcome>,
}

impl Acceptance {
    /// The outcomes in the order one commit writes them: the losers first,
    /// then the winner, whose [`Guard::NoRivalAsking`] the store checks with
    /// the losers' writes applied. A rival the decision did not know of
    /// still asks, and fails the commit.
    pub fn into_outcomes(self) -> Vec<Outcome> {
        let mut outcomes = self.losers;
        outcomes.push(self.winner);
        outcomes
    }
}

/// What the customer sees on opening a consent link (R-ROLE-4).
///
/// Its JSON form, as a page for the customer receives it:
///
/// ```json
/// {
///   "nomination": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
///   "engagement": "ai-workshop",
///   "partner": "4711",
///   "location": "1234567",
///   "friendly_name": "Contoso AI readiness",
///   "state": "awaiting_consent",
///   "deadline": "2026-04-01T09:00:00Z"
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConsentInvitation {
    /// The nomination.
    pub nomination: NominationId,
    /// The engagement asked about.
    pub engagement: EngagementId,
    /// The partner asking.
    pub partner: PartnerId,
    /// The partner's location.
    pub location: LocationId,
    /// The partner's name for the engagement with this customer.
    pub friendly_name: FriendlyName,
    /// The state at the instant the link was opened.
    pub state: State,
    /// Until when the customer can answer.
    pub deadline: Instant,
}

impl Nomination {
    /// Queues the consent email with a new link, after applying any contact
    /// and deal-size changes (R-CONSENT-2, R-CONSENT-4). Allowed before the
    /// consent deadline, while consent is not yet answered.
    pub fn send_consent(
        &self,
        now: Instant,
        user: &PartnerUser,
        details: SendConsent,
        link: &FreshLink,
    ) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        let actor = self.acting(user)?;
        self.require(
            now,
            Command::SendConsent,
            &[State::CustomerClaimed, State::AwaitingConsent],
        )?;
        self.require_asking(Command::SendConsent)?;
        let deal_size = match (self.consent.first_requested_at, details.estimated_deal_size) {
            (Some(_), Some(given)) if Some(given) != self.consent.estimated_deal_size => {
                return Err(Refusal::DealSizeFrozen);
            }
            (None, Some(given)) if !given.is_positive() => {
                return Err(InvalidValue::under(
                    "R-CONSENT-2",
                    "estimated_deal_size",
                    Problem::OutOfRange {
                        min: 1,
                        max: i128::from(i64::MAX),
                        actual: i128::from(given.minor()),
                    },
                )
                .into());
            }
            (None, given) => given,
            (Some(_), _) => self.consent.estimated_deal_size,
        };
        let first = self.consent.first_requested_at.is_none();
        let customer_changed = details
            .customer_contacts
            .as_ref()
            .is_some_and(|c| c != &self.customer_contacts);
        let to = details
            .customer_contacts
            .clone()
            .unwrap_or_else(|| self.customer_contacts.clone())
            .emails();
        let deadline = self.consent_deadline()?;
        Ok(self
            .change(
                now,
                actor,
                State::AwaitingConsent,
                EventKind::ConsentRequested { first },
                |next| {
                    if customer_changed {
                        next.void_links(LinkPurpose::Consent);
                    }
                    if let Some(contacts) = details.customer_contacts {
                        next.customer_contacts = contacts;
                    }
                    if let Some(contacts) = details.partner_contacts {
                        next.partner_contacts = contacts;
                    }
                    next.consent.estimated_deal_size = deal_size;
                    next.consent.first_requested_at.get_or_insert(now);
                    next.consent.requests = next.consent.requests.saturating_add(1);
                    next.links
                        .push(IssuedLink::new(link, LinkPurpose::Consent, now));
                },
            )
            .message(
                to,
                MessageKind::ConsentRequest {
                    link: *link.id(),
                    deadline,
                },
            ))
    }

    /// Queues a reminder to the customer with a link, any number of times
    /// inside the window; it does not extend the window (R-CONSENT-1,
    /// R-CONSENT-3).
    pub fn resend_consent(
        &self,
        now: Instant,
        user: &PartnerUser,
        link: &FreshLink,
    ) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        let actor = self.acting(user)?;
        self.require(now, Command::ResendConsent, &[State::AwaitingConsent])?;
        self.require_asking(Command::ResendConsent)?;
        let deadline = self.consent_deadline()?;
        Ok(self
            .change(now, actor, self.state, EventKind::ConsentReminded, |next| {
                next.consent.requests = next.consent.requests.saturating_add(1);
                next.links
                    .push(IssuedLink::new(link, LinkPurpose::Consent, now));
            })
            .message(
                self.customer_contacts.emails(),
                MessageKind::ConsentReminder {
                    link: *link.id(),
                    deadline,
                },
            ))
    }

    /// Changes the customer's or the partner's contacts. Before consent, a
    /// change of the customer's contacts voids the consent links; a new one
    /// goes out with the next send (R-CONSENT-4). After consent, it voids the
    /// matching survey's links and the survey must be sent again; once the
    /// customer survey is completed, the customer's contacts are frozen
    /// (R-CLAIM-W-4). A nomination that lost the customer to another
    /// partner changes no more contacts (R-CONSENT-10).
    pub fn update_contacts(
        &self,
        now: Instant,
        user: &PartnerUser,
        update: ContactsUpdate,
    ) -> Result<Outcome, Refusal> {
        let now = self.command_at(now)?;
        let actor = self.acting(user)?;
        if let Some(refusal) = self.lapse_refusal(now) {
            return Err(refusal);
        }
        // Contacts change while the partner prepares or answers the claim,
        // not while the reviewer holds it (R-CLAIM-W-4).
        let preparing =
            !self.state.is_after_submission() || self.state == State::PartnerActionRequired;
        if !self.state.is_live() || !preparing {
            return Err(Refusal::NotAllowedNow {
                command: Command::UpdateContacts,
                state: self.state,
            });
        }
        // The contacts of a nomination that lost serve no further request.
        self.require_asking(Command::UpdateContacts)?;
        if update.customer.is_none() && update.partner.is_none() {
            return Err(InvalidValue::new("contacts", Problem::Empty).into());
        }
        let customer_changed = update
            .customer
            .as_ref()
            .is_some_and(|c| c != &self.customer_contacts);
        let partner_changed = update
            .partner
            .as_ref()
            .is_some_and(|c| c != &self.partner_contacts);
        if customer_changed && self.claim.customer_survey.is_completed() {
            return Err(Refusal::ContactsFrozen);
        }
        let before_consent = self.state.is_before_consent();
        let mut voided = Vec::new();
        let mut next_state = self.clone();
        if customer_changed {
            let purpose = if before_consent {
                LinkPurpose::Consent
            } else {
                LinkPurpose::CustomerSurvey
            };
            if next_state.void_links(purpose) {
                voided.push(purpose);
            }
            if !before_consent {
                next_state.claim.customer_survey.unsend();
            }
        }
        if partner_changed && !before_consent && !self.claim.partner_survey.is_completed() {
            if next_state.void_links(LinkPurpose::PartnerSurvey) {
                voided.push(LinkPurpose::PartnerSurvey);
            }
            next_state.claim.partner_survey.unsend();
        }
        Ok(self.change(
            now,
            actor,
            self.state,
            EventKind::ContactsUpdated {
                customer: customer_changed,
                partner: partner_changed,
                voided,
            },
            |next| {
                next.links = next_state.links;
                next.claim = next_state.claim;
                if let Some(contacts) = update.customer {
                    next.customer_contacts = contacts;
                }
                if let Some(contacts) = update.partner {
                    next.partner_contacts = contacts;
                }
            },
        ))
    }

    /// What the customer sees on opening the consent link at `now`
    /// (R-ROLE-4). A wrong or voided token is refused (R-TOKEN-3).
    pub fn consent_invitation(
        &self,
        now: Instant,
        token: &LinkToken,
    ) -> Result<ConsentInvitation, Refusal> {
        let now = self.not_before_last_change(now);
        if !self.link_opened_by(token, LinkPurpose::Consent) {
            return Err(Refusal::InvalidLink);
        }
        Ok(ConsentInvitation {
            nomination: self.id,
            engagement: self.engagement.clone(),
            partner: self.partner.clone(),
            location: self.location.clone(),
            friendly_name: self.friendly_name.clone(),
            state: self.at(now).state,
            deadline: self.consent_deadline()?,
        })
    }

    /// The customer accepts through the link before the deadline: the
    /// nomination is consented and the claim's windows start (R-CONSENT-5).
    /// The store must find no other consent of this customer for the
    /// engagement (R-CONSENT-8). Accepting again answers the same and writes
    /// nothing (R-CONSENT-9).
    ///
    /// This is the acceptance that knows of no rival: should another
    /// partner's nomination of the customer still ask for consent, the
    /// store refuses the commit ([`Guard::NoRivalAsking`]). Where the limit
    /// of live nominations allows rivals, decide with
    /// [`Nomination::accept_consent_among`].
    pub fn accept_consent(&self, now: Instant, token: &LinkToken) -> Result<Step, Refusal> {
        Ok(match self.accept_consent_among(now, token, &[])? {
            Some(acceptance) => Step::Changed(Box::new(acceptance.winner)),
            None => Step::Unchanged,
        })
    }

    /// The customer accepts, as [`Nomination::accept_consent`], decided
    /// together with `rivals`: the nominations of the same customer for the
    /// same engagement, as the store holds them (any others, this one and
    /// the same partner's are passed over). Each other partner's nomination
    /// that still asks for consent at the acceptance's instant loses it
    /// (R-CONSENT-10); the answer holds the acceptance and each loss, to be
    /// written in one commit. `None` when the consent was already accepted
    /// through this link: nothing to write (R-CONSENT-9).
    ///
    /// ```
    /// # use mci_testkit::*;
    /// use mci_core::{Action, EngagementKind, Ineligibility, SendConsent, State, Tab};
    ///
    /// // Two partners nominated Contoso for a workshop allowing two live
    /// // nominations per customer, and both asked for consent.
    /// let shared = engagement("shared-workshop", EngagementKind::Workshop, 2);
    /// let ours = Scenario::added_by(&admin_of(1), &shared, nomination_id(1))
    ///     .then(|n, now| n.send_consent(now, &admin_of(1), SendConsent::default(), &link(1)));
    /// let theirs = Scenario::added_by(&admin_of(2), &shared, nomination_id(2))
    ///     .then(|n, now| n.send_consent(now, &admin_of(2), SendConsent::default(), &link(2)));
    ///
    /// let acceptance = ours
    ///     .nomination
    ///     .accept_consent_among(ours.now, &token(1), &[theirs.nomination.clone()])
    ///     .unwrap()
    ///     .expect("a first acceptance");
    /// assert_eq!(acceptance.winner.nomination.state(), State::Consented);
    /// let lost = &acceptance.losers[0].nomination;
    /// assert_eq!(lost.state(), State::AwaitingConsent, "its state stays");
    /// assert!(lost.links().is_empty(), "its links are void");
    /// let row = lost.page_row(ours.now).unwrap();
    /// assert_eq!(row.tab, Tab::Ineligible);
    /// assert_eq!(row.reason, Some(Ineligibility::ConsentedToAnotherPartner));
    /// assert_eq!(row.actions, vec![Action::Cancel]);
    /// ```
    pub fn accept_consent_among(
        &self,
        now: Instant,
        token: &LinkToken,
        rivals: &[Nomination],
    ) -> Result<Option<Acceptance>, Refusal> {
        let Step::Changed(winner) = self.answer_consent(now, token, true)? else {
            return Ok(None);
        };
        let at = winner.event.at;
        let losers = rivals
            .iter()
            .filter(|rival| {
                rival.id != self.id
                    && rival.partner != self.partner
                    && rival.engagement == self.engagement
                    && rival.customer.id() == self.customer.id()
            })
            .filter_map(|rival| rival.lose(at))
            .collect();
        Ok(Some(Acceptance {
            winner: *winner,
            losers,
        }))
    }

    /// The loss of this nomination to another partner's acceptance at `now`
    /// (R-CONSENT-10), or `None` when it no longer asks for consent then
    /// (lost before, answered, ended, or past its consent deadline). Its
    /// state stays; its links are voided; its partner is told, without a
    /// word of who won (R-ROLE-3).
    fn lose(&self, now: Instant) -> Option<Outcome> {
        let now = self.not_before_last_change(now);
        if !self.is_asking() || self.due_lapse(now).is_some() {
            return None;
        }
        let deadline = self.deadline()?.at;
        Some(
            self.change(
                now,
                Actor::System,
                self.state,
                EventKind::ConsentedToAnotherPartner,
                |next| {
                    next.consent.lost_at = Some(now);
                    next.links.clear();
                },
            )
            .message(
                self.partner_contacts.emails(),
                MessageKind::ConsentedToAnotherPartner { deadline },
            ),
        )
    }

    /// Refuses `command`, one of those that ask for consent, on a
    /// nomination that lost the customer to another partner
    /// (R-CONSENT-10).
    fn require_asking(&self, command: Command) -> Result<(), Refusal> {
        match self.ineligibility() {
            Some(Ineligibility::ConsentedToAnotherPartner) => {
                Err(Refusal::ConsentedToAnotherPartner { command })
            }
            _ => Ok(()),
        }
    }

    /// The customer declines through the link before the deadline: terminal,
    /// and the nomination leaves the page (R-CONSENT-6, R-PAGE-6). Declining
    /// again answers the same and writes nothing (R-CONSENT-9).
    pub fn decline_consent(&self, now: Instant, token: &LinkToken) -> Result<Step, Refusal> {
        self.answer_consent(now, token, false)
    }

    fn answer_consent(
        &self,
        now: Instant,
        token: &LinkToken,
        accept: bool,
    ) -> Result<Step, Refusal> {
        let now = self.command_at(now)?;
        if !self.link_opened_by(token, LinkPurpose::Consent) {
            return Err(Refusal::InvalidLink);
        }
        let accepted = self.consent.accepted_at.is_some();
        let declined = self.consent.declined_at.is_some();
        match (accept, accepted, declined) {
            (true, true, _) | (false, _, true) => return Ok(Step::Unchanged),
            (true, _, true) | (false, true, _) => {
                return Err(Refusal::AlreadyAnswered { state: self.state });
            }
            _ => {}
        }
        let command = if accept {
            Command::AcceptConsent
        } else {
            Command::DeclineConsent
        };
        if self.state == State::Cancelled {
            // The partner withdrew; its links are void.
            return Err(Refusal::InvalidLink);
        }
        self.require(now, command, &[State::AwaitingConsent])?;
        let partner = self.partner_contacts.emails();
        let outcome = if accept {
            self.change(
                now,
                Actor::Customer,
                State::Consented,
                EventKind::ConsentAccepted,
                |next| {
                    next.consent.accepted_at = Some(now);
                },
            )
            .guard(Guard::NoOtherConsent {
                engagement: self.engagement.clone(),
                customer: *self.customer.id(),
            })
            .guard(Guard::NoRivalAsking {
                partner: self.partner.clone(),
                engagement: self.engagement.clone(),
                customer: *self.customer.id(),
            })
        } else {
            self.change(
                now,
                Actor::Customer,
                State::ConsentDeclined,
                EventKind::ConsentDeclined,
                |next| {
                    next.consent.declined_at = Some(now);
                },
            )
        };
        Ok(Step::Changed(Box::new(outcome.message(
            partner,
            MessageKind::ConsentAnswered { accepted: accept },
        ))))
    }
}
