//! The Claims page (R-LIST-1): a partner's nominations across all
//! engagements, or the reviewer's view of every partner's submitted
//! claims, in order of creation or of last change, filtered by state and
//! engagement, searched by customer, location and date.
//!
//! As with the tabs of the Customers page, what a row shows depends on
//! time: a claim whose deadline passed is in the state it lapsed into, and
//! last changed at its deadline, whether or not the sweep has written the
//! lapse. So each nomination gives stores a [`ClaimsPlacement`]: its state
//! and last change as stored, the instant of its next lapse and the state
//! after it. A store keeps them as plain columns and answers "which rows
//! are in this state at `now`" and "in which order" by comparing instants
//! ([`ClaimsPlacement::state_at`], [`ClaimsPlacement::sort_key`]), without
//! knowing a rule; the page read at `now` is then the same whether or not
//! the sweep has run (as R-PAGE-7 says of the tabs).
//!
//! ```
//! # use mci_testkit::*;
//! use mci_core::{ClaimsOrder, State};
//!
//! let (nomination, added) = fresh_nomination();
//! let placement = nomination.claims_placement();
//! assert_eq!(placement.state_at(added), State::CustomerClaimed);
//! assert!(!placement.reviewable, "not submitted: not the reviewer's");
//!
//! // At its consent deadline it lapses, and that is its last change.
//! let deadline = nomination.deadline().unwrap().at;
//! assert_eq!(placement.state_at(deadline), State::ConsentExpired);
//! assert_eq!(placement.sort_key(ClaimsOrder::Changed, deadline), deadline);
//! assert_eq!(placement.sort_key(ClaimsOrder::Created, deadline), added);
//! assert_eq!(nomination.at(deadline).updated_at(), deadline);
//! ```
//!
//! A search ([`ClaimsSearch`]) narrows a list; it is a predicate on a
//! nomination ([`ClaimsSearch::matches`]) that a store applies to the rows
//! of a list's index walk, looking at no more than
//! [`ClaimsSearch::scan`] rows per call and answering a cursor after the
//! last one it looked at, so that no search walks everything.

use crate::invalid::{InvalidValue, Problem};
use crate::nomination::Nomination;
use crate::state::State;
use crate::time::{Instant, check_instant};
use crate::{CustomerId, Domain, FriendlyName, LocationId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The order of the Claims page, newest first (R-LIST-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimsOrder {
    /// By the instant the nomination was added or claimed.
    #[default]
    Created,
    /// By the instant of its last change at the instant read: a lapse the
    /// sweep has not written yet counts as a change at its deadline.
    Changed,
}

impl ClaimsOrder {
    /// Both orders.
    pub const ALL: [ClaimsOrder; 2] = [ClaimsOrder::Created, ClaimsOrder::Changed];
}

impl fmt::Display for ClaimsOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClaimsOrder::Created => "created",
            ClaimsOrder::Changed => "changed",
        })
    }
}

impl FromStr for ClaimsOrder {
    type Err = InvalidValue;

    /// `created` or `changed`.
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "created" => Ok(ClaimsOrder::Created),
            "changed" => Ok(ClaimsOrder::Changed),
            _ => Err(InvalidValue::under(
                "R-LIST-1",
                "order",
                Problem::Syntax("expected created or changed".into()),
            )),
        }
    }
}

/// The values a store keeps to answer the Claims page by comparing
/// instants (R-LIST-1, ARCHITECTURE "Stores compare instants").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClaimsPlacement {
    /// The state as stored.
    pub state: State,
    /// The instant of the next lapse, if any (the same as
    /// [`Placement::lapse_at`](crate::Placement::lapse_at)).
    pub lapse_at: Option<Instant>,
    /// The state that lapse leads to.
    pub state_after_lapse: Option<State>,
    /// When it was added or claimed.
    pub created_at: Instant,
    /// When it last changed, as stored.
    pub changed_at: Instant,
    /// Whether it is on the reviewer's Claims page: its claim was submitted
    /// at least once. A lapse never changes it: every state after a
    /// submission lapses into a state after a submission.
    pub reviewable: bool,
}

impl ClaimsPlacement {
    /// Whether its lapse has come at `now` (R-TIME-2: at the deadline is
    /// late).
    pub fn lapsed_at(&self, now: Instant) -> bool {
        self.lapse_at.is_some_and(|lapse| now >= lapse)
    }

    /// The state at `now`: the stored state until the lapse, then the state
    /// after it. A store's state filter is this comparison: "in this state
    /// and not lapsed, or lapsing into this state and lapsed".
    pub fn state_at(&self, now: Instant) -> State {
        match self.state_after_lapse {
            Some(after) if self.lapsed_at(now) => after,
            _ => self.state,
        }
    }

    /// The instant of the last change at `now`: the lapse, once it has
    /// come, else the stored one.
    pub fn changed_at(&self, now: Instant) -> Instant {
        match self.lapse_at {
            Some(lapse) if now >= lapse => lapse,
            _ => self.changed_at,
        }
    }

    /// The instant the page is ordered by at `now` (newest first, then
    /// the greater id first).
    pub fn sort_key(&self, order: ClaimsOrder, now: Instant) -> Instant {
        match order {
            ClaimsOrder::Created => self.created_at,
            ClaimsOrder::Changed => self.changed_at(now),
        }
    }
}

impl State {
    /// Whether a nomination in this state is on the reviewer's Claims page
    /// (R-LIST-1): its claim was submitted at least once.
    ///
    /// ```
    /// use mci_core::State;
    ///
    /// assert!(State::Submitted.is_reviewable());
    /// assert!(State::PostSubmissionExpired.is_reviewable());
    /// assert!(!State::Consented.is_reviewable());
    /// ```
    pub fn is_reviewable(self) -> bool {
        self.is_after_submission()
    }
}

impl Nomination {
    /// The values a store keeps to answer the Claims page (R-LIST-1).
    pub fn claims_placement(&self) -> ClaimsPlacement {
        let deadline = self.deadline();
        ClaimsPlacement {
            state: self.state,
            lapse_at: deadline.map(|d| d.at),
            state_after_lapse: deadline.map(|d| d.kind.lapses_into()),
            created_at: self.created_at,
            changed_at: self.updated_at,
            reviewable: self.state.is_reviewable(),
        }
    }
}

/// What a partner or reviewer types to search the Claims page, unchecked:
/// [`ClaimsSearch::new`] checks it (R-INPUT).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimsSearchInput {
    /// The start of the friendly name, compared without regard to case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// The customer id, in its canonical form (`tenant:<guid>`,
    /// `tpid:<n>`, `subscription:<guid>`, `msx:<id>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// The email domain of the customer or of one of its contacts; its
    /// subdomains match too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_domain: Option<String>,
    /// The partner's location delivering it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Created at or after this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_from: Option<Instant>,
    /// Created before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_before: Option<Instant>,
    /// The most rows of the list one call looks at; [`ClaimsSearch::SCAN`]
    /// when not given, at most [`ClaimsSearch::MAX_SCAN`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<usize>,
}

/// A checked search of the Claims page (R-LIST-1): every criterion given
/// must hold. A store looks at no more than [`ClaimsSearch::scan`] rows of
/// the list per call, so a search never walks everything; the page it
/// answers has a cursor after the last row looked at.
///
/// ```
/// # use mci_testkit::*;
/// use mci_core::{ClaimsSearch, ClaimsSearchInput};
///
/// let (nomination, _) = fresh_nomination();
/// let name = nomination.friendly_name().as_str();
/// let prefix = name[..4].to_uppercase();
/// let search = ClaimsSearch::new(ClaimsSearchInput {
///     name_prefix: Some(prefix),
///     ..Default::default()
/// })
/// .unwrap();
/// assert!(search.matches(&nomination));
///
/// let refused = ClaimsSearch::new(ClaimsSearchInput {
///     email_domain: Some("not a domain".into()),
///     ..Default::default()
/// })
/// .unwrap_err();
/// assert_eq!(refused.field(), "search.email_domain");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimsSearch {
    name_prefix: Option<String>,
    customer: Option<CustomerId>,
    email_domain: Option<Domain>,
    location: Option<LocationId>,
    created_from: Option<Instant>,
    created_before: Option<Instant>,
    scan: usize,
}

impl ClaimsSearch {
    /// The rows of the list a call looks at when the search does not say.
    pub const SCAN: usize = 200;
    /// The most rows of the list a call looks at.
    pub const MAX_SCAN: usize = 2_000;

    /// Checks `input`: each criterion by the rules of its value (R-INPUT),
    /// refused naming the field under `search.`; at least one criterion; a
    /// date range that is not empty; a scan of 1 to [`Self::MAX_SCAN`] rows.
    pub fn new(input: ClaimsSearchInput) -> Result<Self, InvalidValue> {
        let field = |name: &str| format!("search.{name}");
        let name_prefix = input
            .name_prefix
            .map(|prefix| {
                FriendlyName::from_str(&prefix)
                    .map(|name| name.as_str().to_lowercase())
                    .map_err(|e| e.for_field(field("name_prefix")))
            })
            .transpose()?;
        let customer = input
            .customer
            .map(|id| CustomerId::from_str(id.trim()).map_err(|e| e.for_field(field("customer"))))
            .transpose()?;
        let email_domain = input
            .email_domain
            .map(|domain| {
                Domain::from_str(domain.trim()).map_err(|e| e.for_field(field("email_domain")))
            })
            .transpose()?;
        let location = input
            .location
            .map(|location| {
                LocationId::from_str(location.trim()).map_err(|e| e.for_field(field("location")))
            })
            .transpose()?;
        let created_from = input
            .created_from
            .map(|at| check_instant(&field("created_from"), at))
            .transpose()?;
        let created_before = input
            .created_before
            .map(|at| check_instant(&field("created_before"), at))
            .transpose()?;
        if let (Some(from), Some(before)) = (created_from, created_before)
            && from >= before
        {
            return Err(InvalidValue::under(
                "R-LIST-1",
                field("created_before"),
                Problem::Mismatch("the range ends at or before it starts".into()),
            ));
        }
        let scan = input.scan.unwrap_or(Self::SCAN);
        if !(1..=Self::MAX_SCAN).contains(&scan) {
            return Err(InvalidValue::under(
                "R-LIST-1",
                field("scan"),
                Problem::OutOfRange {
                    min: 1,
                    max: Self::MAX_SCAN as i128,
                    actual: scan as i128,
                },
            ));
        }
        let search = Self {
            name_prefix,
            customer,
            email_domain,
            location,
            created_from,
            created_before,
            scan,
        };
        if search.name_prefix.is_none()
            && search.customer.is_none()
            && search.email_domain.is_none()
            && search.location.is_none()
            && search.created_from.is_none()
            && search.created_before.is_none()
        {
            return Err(InvalidValue::under("R-LIST-1", "search", Problem::Empty));
        }
        Ok(search)
    }

    /// The most rows of the list one call looks at.
    pub fn scan(&self) -> usize {
        self.scan
    }

    /// The input this search was checked from, in its checked form.
    pub fn input(&self) -> ClaimsSearchInput {
        ClaimsSearchInput {
            name_prefix: self.name_prefix.clone(),
            customer: self.customer.map(|c| c.to_string()),
            email_domain: self.email_domain.as_ref().map(|d| d.as_str().to_owned()),
            location: self.location.as_ref().map(|l| l.as_str().to_owned()),
            created_from: self.created_from,
            created_before: self.created_before,
            scan: Some(self.scan),
        }
    }

    /// Whether `nomination` meets every criterion: its friendly name starts
    /// with the prefix (without regard to case), its customer is the one
    /// given, the customer's email or one of its contacts' is in the domain
    /// (or a subdomain of it), its location is the one given, and it was
    /// created in the range.
    pub fn matches(&self, nomination: &Nomination) -> bool {
        let name = self.name_prefix.as_ref().is_none_or(|prefix| {
            nomination
                .friendly_name()
                .as_str()
                .to_lowercase()
                .starts_with(prefix.as_str())
        });
        let customer = self
            .customer
            .is_none_or(|id| nomination.customer().id() == &id);
        let domain = self.email_domain.as_ref().is_none_or(|domain| {
            nomination.customer().email().domain().is_within(domain)
                || nomination
                    .customer_contacts()
                    .as_slice()
                    .iter()
                    .any(|contact| contact.email.domain().is_within(domain))
        });
        let location = self
            .location
            .as_ref()
            .is_none_or(|location| nomination.location() == location);
        let created = nomination.created_at();
        let from = self.created_from.is_none_or(|from| created >= from);
        let before = self.created_before.is_none_or(|before| created < before);
        name && customer && domain && location && from && before
    }
}
