//! The engagements overview and the Customers page of an engagement
//! (R-ENG-7, R-PAGE).

use crate::call::Call;
use crate::error::Result;
use crate::observability::{self, call_span, traced};
use crate::service::Incentives;
use mci_core::{
    Availability, CustomerId, Deadline, DeadlineKind, Engagement, EngagementId, FriendlyName,
    Instant, InvalidValue, KnownCustomerRow, LocationId, LocationStanding, NominationId, PageRow,
    PartnerUser, Problem, SolutionArea, State, Tab,
};
use mci_store::{KnownQuery, PageQuery, StateQuery};

/// Where the next page of a tab starts: an opaque, URL-safe string, so it
/// travels in a query string as it is (`?cursor=…`). Give back the one a
/// page answered ([`CustomersPage::next`]); the constructors serve callers
/// that keep a position of their own.
///
/// The string is the base64url form, without padding, of a versioned
/// binary form with a checksum. A string that is not a cursor, or one
/// changed since it was given, is refused with a typed error naming the
/// field `cursor` (R-INPUT), never a panic; the call it was for is not
/// made and changes nothing. The checksum finds changes, but is no
/// secret: a cursor forged with care only moves where a page of the
/// partner's own rows starts, since every page is of the caller's partner
/// (R-ROLE-2).
///
/// ```
/// use mci_engagements::PageCursor;
///
/// let cursor = PageCursor::after_nomination("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".parse().unwrap());
/// let text = cursor.to_string();
/// assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
/// assert_eq!(text.parse::<PageCursor>().unwrap(), cursor);
/// // Its JSON form is the same string.
/// assert_eq!(serde_json::to_value(&cursor).unwrap(), serde_json::Value::String(text.clone()));
///
/// // A changed cursor is refused, naming the field.
/// let mut changed = text.into_bytes();
/// changed[4] = if changed[4] == b'A' { b'B' } else { b'A' };
/// let refused = String::from_utf8(changed).unwrap().parse::<PageCursor>().unwrap_err();
/// assert_eq!(refused.field(), "cursor");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageCursor(Position);

/// Where a page starts, inside a [`PageCursor`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Position {
    /// After this nomination.
    Nomination(NominationId),
    /// Among the known customers, after this one (`None`: from the first).
    KnownCustomer(Option<CustomerId>),
}

/// The text form the service's cursors share: a versioned binary body
/// sealed with a checksum under a label of its own, in base64url without
/// padding. A string that is not one, or one changed since it was given,
/// is refused naming the field `cursor` (R-INPUT), in words that do not
/// quote it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CursorText {
    /// What the checksum is taken under: one label per kind of cursor, so
    /// that one kind never reads as another.
    pub(crate) label: &'static [u8],
    /// What the refusals call it ("page cursor").
    pub(crate) name: &'static str,
    /// The longest string read: far above any cursor written, so that a
    /// long string is refused before it is decoded.
    pub(crate) max_chars: usize,
}

impl CursorText {
    /// The bytes of the checksum that ends the binary form.
    const CHECKSUM: usize = 4;

    fn checksum(&self, body: &[u8]) -> [u8; Self::CHECKSUM] {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(self.label)
            .chain_update(body)
            .finalize();
        let mut checksum = [0; Self::CHECKSUM];
        checksum.copy_from_slice(&digest[..Self::CHECKSUM]);
        checksum
    }

    /// The text of `body`, sealed.
    pub(crate) fn encode(&self, mut body: Vec<u8>) -> String {
        use base64::Engine;
        let checksum = self.checksum(&body);
        body.extend_from_slice(&checksum);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body)
    }

    /// The refusal of a string that is no cursor, saying `what` is wrong.
    pub(crate) fn refused(&self, what: &str) -> InvalidValue {
        InvalidValue::new(
            "cursor",
            Problem::Syntax(format!("not a {}: {what}", self.name)),
        )
    }

    /// The body a cursor's text holds, once its checksum is found right.
    pub(crate) fn decode(&self, s: &str) -> Result<Vec<u8>, InvalidValue> {
        use base64::Engine;
        if s.is_empty() {
            return Err(InvalidValue::new("cursor", Problem::Empty));
        }
        if s.len() > self.max_chars {
            return Err(InvalidValue::new(
                "cursor",
                Problem::TooLong {
                    max: self.max_chars,
                    actual: s.len(),
                },
            ));
        }
        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| self.refused("not base64url without padding"))?;
        let split = bytes
            .len()
            .checked_sub(Self::CHECKSUM)
            .ok_or_else(|| self.refused("too short"))?;
        let checksum = bytes.split_off(split);
        if self.checksum(&bytes) != checksum.as_slice() {
            return Err(self.refused("changed since it was given"));
        }
        Ok(bytes)
    }
}

impl PageCursor {
    /// The version of the binary form written.
    const VERSION: u8 = 1;
    /// Its text form.
    const TEXT: CursorText = CursorText {
        label: b"mci page cursor",
        name: "page cursor",
        max_chars: 256,
    };

    /// The cursor of the page after nomination `id`: the nominations after
    /// it, then the known customers.
    pub fn after_nomination(id: NominationId) -> Self {
        Self(Position::Nomination(id))
    }

    /// The cursor of the page of known customers after `customer`, or from
    /// the first with `None` (the nominations are all behind it).
    pub fn after_known_customer(customer: Option<CustomerId>) -> Self {
        Self(Position::KnownCustomer(customer))
    }

    /// The nomination the next page starts after, if it starts among the
    /// nominations.
    pub fn nomination(&self) -> Option<NominationId> {
        match self.0 {
            Position::Nomination(id) => Some(id),
            Position::KnownCustomer(_) => None,
        }
    }

    /// The binary form: version, kind, position.
    fn to_body(&self) -> Vec<u8> {
        let mut bytes = vec![Self::VERSION];
        match &self.0 {
            Position::Nomination(id) => {
                bytes.push(0);
                bytes.extend_from_slice(id.as_uuid().as_bytes());
            }
            Position::KnownCustomer(None) => bytes.push(1),
            Position::KnownCustomer(Some(customer)) => {
                bytes.push(2);
                bytes.extend_from_slice(customer.to_string().as_bytes());
            }
        }
        bytes
    }

    fn from_body(body: &[u8]) -> Result<Self, &'static str> {
        let position = match body {
            [Self::VERSION, 0, id @ ..] => {
                let id = uuid::Uuid::from_slice(id).map_err(|_| "not a nomination id")?;
                Position::Nomination(
                    NominationId::from_uuid(id).map_err(|_| "not a nomination id")?,
                )
            }
            [Self::VERSION, 1] => Position::KnownCustomer(None),
            [Self::VERSION, 2, customer @ ..] => {
                let customer = std::str::from_utf8(customer).map_err(|_| "not a customer id")?;
                Position::KnownCustomer(Some(customer.parse().map_err(|_| "not a customer id")?))
            }
            [Self::VERSION, ..] => return Err("of an unknown kind"),
            _ => return Err("of an unknown version"),
        };
        Ok(Self(position))
    }
}

impl std::fmt::Display for PageCursor {
    /// The base64url form, without padding, of the binary form.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&Self::TEXT.encode(self.to_body()))
    }
}

impl std::str::FromStr for PageCursor {
    type Err = InvalidValue;

    /// Reads a cursor a page gave; anything else is refused under the
    /// field `cursor`, with words that do not quote the input.
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let body = Self::TEXT.decode(s)?;
        Self::from_body(&body).map_err(|what| Self::TEXT.refused(what))
    }
}

impl From<PageCursor> for String {
    fn from(cursor: PageCursor) -> String {
        cursor.to_string()
    }
}

impl TryFrom<String> for PageCursor {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        s.parse()
    }
}

impl serde::Serialize for PageCursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PageCursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One row of the Customers page. Its JSON form is the row's own, with
/// `"row"` saying which: `"nomination"` ([`PageRow`]) or `"known"`
/// ([`KnownCustomerRow`]).
///
/// ```json
/// {"row": "nomination", "nomination": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
///  "friendly_name": "Contoso AI readiness", "customer": "tenant:0b7d3f6e-1c2a-4e5f-8a9b-0c1d2e3f4a5b",
///  "tab": "eligible", "row_type": "active",
///  "status": {"state": "consented", "deadline": "first_submit", "days_left": 90},
///  "actions": ["submit_workshop_claim", "cancel", "view_workshop_claim"]}
/// {"row": "known",
///  "known": {"customer": {"id": "subscription:00000000-0000-4000-8000-000000000001",
///                         "id_type": "azure_subscription_id", "email": "it@customer1.example",
///                         "mismatch_reason": null},
///            "through": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},
///  "reasons": [], "checked": false}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "row", rename_all = "snake_case")]
pub enum CustomerRow {
    /// A nomination of the partner (R-PAGE-2, -3, -5).
    Nomination(PageRow),
    /// A known customer not nominated for this engagement: claimable, or
    /// ineligible with its reasons (R-PAGE-2, -4).
    Known(KnownCustomerRow),
}

/// How many rows each tab holds (R-PAGE-1).
///
/// ```
/// use mci_engagements::PageCounts;
///
/// let counts = PageCounts { eligible: 3, not_checked: 1, ineligible: 2, complete: 0 };
/// assert_eq!(
///     serde_json::to_value(counts).unwrap(),
///     serde_json::json!({"eligible": 3, "not_checked": 1, "ineligible": 2, "complete": 0}),
/// );
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PageCounts {
    /// Eligible: live nominations and claimable known customers, checked
    /// or not.
    pub eligible: u64,
    /// Of the Eligible known customers, those with no trusted answer of the
    /// eligibility source yet: "eligibility not checked yet" (R-PAGE-9).
    pub not_checked: u64,
    /// Ineligible: known customers that cannot be nominated, and the
    /// partner's nominations that lost their customer to another partner
    /// (R-CONSENT-10).
    pub ineligible: u64,
    /// Complete: nominations in a terminal state after consent.
    pub complete: u64,
}

/// One page of one tab. Its JSON form holds the rows as [`CustomerRow`]
/// gives them and the next page's cursor as its string, to send back as
/// it is:
///
/// ```json
/// {"tab": "eligible",
///  "rows": [{"row": "nomination", "nomination": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "…": "…"}],
///  "next": "AQABnK3GmoBwAKQMcsE8V8qd3KiM_Q",
///  "counts": {"eligible": 2, "not_checked": 1, "ineligible": 0, "complete": 0},
///  "answers_since": null,
///  "unreadable": []}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CustomersPage {
    /// The tab.
    pub tab: Tab,
    /// The rows, nominations first, then known customers.
    pub rows: Vec<CustomerRow>,
    /// Where the next page starts, `None` on the last page.
    pub next: Option<PageCursor>,
    /// The count of every tab.
    pub counts: PageCounts,
    /// When the oldest answer of the eligibility source behind the known
    /// customers' rows and counts was given; `None` when none stands
    /// behind them (R-PAGE-9). The sweep asks again as answers age.
    pub answers_since: Option<Instant>,
    /// Nominations of this page whose stored rows cannot be read back:
    /// passed over, so the page is short by that many; they need an
    /// operator.
    pub unreadable: Vec<NominationId>,
}

/// One engagement in the overview (R-ENG-7).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EngagementSummary {
    /// The engagement.
    pub engagement: EngagementId,
    /// Its name.
    pub name: FriendlyName,
    /// Its solution area.
    pub solution_area: SolutionArea,
    /// Coming soon, active or expired.
    pub availability: Availability,
    /// How many of the partner's enrolled locations are eligible.
    pub eligible_locations: usize,
    /// How many of the partner's locations are enrolled.
    pub enrolled_locations: usize,
    /// The partner's live nominations for it (its Eligible tab).
    pub active_customers: u64,
}

/// Filters of the overview (R-ENG-7). In JSON every member may be left
/// out (no filter); each value is validated as it is read, and an unknown
/// member is refused.
///
/// ```
/// use mci_engagements::OverviewFilter;
/// use mci_core::Availability;
///
/// let filter: OverviewFilter = serde_json::from_str(r#"{"availability": "active"}"#).unwrap();
/// assert_eq!(filter.availability, Some(Availability::Active));
/// assert_eq!(serde_json::from_str::<OverviewFilter>("{}").unwrap(), OverviewFilter::default());
/// assert!(serde_json::from_str::<OverviewFilter>(r#"{"location": "12a"}"#).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OverviewFilter {
    /// Only engagements this location is eligible for.
    pub location: Option<LocationId>,
    /// Only engagements in this availability.
    pub availability: Option<Availability>,
    /// Only this solution area.
    pub solution_area: Option<SolutionArea>,
}

/// Something due for the partner (R-ENG-7).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActionNeeded {
    /// The nomination.
    pub nomination: NominationId,
    /// Its engagement.
    pub engagement: EngagementId,
    /// Its friendly name.
    pub friendly_name: FriendlyName,
    /// What is due.
    pub due: Due,
}

/// What is due. Its JSON form says which under `"due"`, beside the
/// deadline's `kind` and `at` where there is one:
/// `{"due": "consent_lapsing", "kind": "obtain_consent", "at": "2026-04-01T09:00:00Z"}`
/// or `{"due": "reviewer_waiting"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "due", rename_all = "snake_case")]
pub enum Due {
    /// The consent lapses at this deadline.
    ConsentLapsing(Deadline),
    /// The claim lapses at this deadline.
    ClaimLapsing(Deadline),
    /// The reviewer asked for more information.
    ReviewerWaiting,
}

/// The engagements overview of a partner (R-ENG-7).
///
/// ```
/// use mci_engagements::Overview;
///
/// let empty = Overview { engagements: vec![], action_needed: vec![] };
/// assert_eq!(
///     serde_json::to_value(&empty).unwrap(),
///     serde_json::json!({"engagements": [], "action_needed": []}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Overview {
    /// The engagements, by solution area then id.
    pub engagements: Vec<EngagementSummary>,
    /// What is due soon, soonest first; then the reviewer's requests.
    pub action_needed: Vec<ActionNeeded>,
}

impl Incentives {
    /// One page of a tab of an engagement's Customers page at the clock's
    /// now: rows with Type, days left and actions, and every tab's count
    /// (R-PAGE). Nominations come first in id order, then the known
    /// customers in customer order; pages are keyset, not offsets.
    ///
    /// A page costs the same for every partner (R-PAGE-9): it is two index
    /// walks of the store and the figures the store keeps, and it asks no
    /// port. Known customers show as the answers the store keeps of the
    /// eligibility source place them, which the sweep refreshes
    /// ([`Settings::eligibility_refresh`](crate::Settings)); one without
    /// a trusted answer shows on Eligible, not checked. An engagement that
    /// takes no nominations now (coming soon or expired, R-ENG-1) lists no
    /// known customers: none can be claimed for it.
    pub async fn customers_page(
        &self,
        call: impl Into<Call<PartnerUser>>,
        engagement: &EngagementId,
        tab: Tab,
        cursor: Option<PageCursor>,
        limit: usize,
    ) -> Result<CustomersPage> {
        traced("customers_page", call_span!("customers_page"), async move {
            let call = call.into();
            observability::partner(call.actor().partner());
            let user = call.actor().clone().authorize()?;
            // Shared with the catalog: a page copies no rules.
            let engagement = self.shared_engagement(engagement)?;
            let now = self.now()?;
            let limit = limit.max(1);
            let knows =
                tab != Tab::Complete && engagement.availability(now) == Availability::Active;
            self.seed_step(engagement.id(), now).await?;
            let mut rows = Vec::new();
            let mut next = None;
            let mut unreadable = Vec::new();
            let known_from = match cursor {
                Some(PageCursor(Position::KnownCustomer(after))) => Some(after),
                cursor => {
                    let after = cursor.and_then(|c| c.nomination());
                    let page = self
                        .store
                        .page(&PageQuery {
                            partner: user.partner().clone(),
                            engagement: engagement.id().clone(),
                            tab,
                            now,
                            after,
                            limit,
                        })
                        .await?;
                    unreadable.extend(page.unreadable.iter().map(|u| u.id));
                    rows.extend(
                        page.rows
                            .iter()
                            .filter_map(|n| n.page_row(now))
                            .map(CustomerRow::Nomination),
                    );
                    match page.next {
                        Some(id) => {
                            next = Some(PageCursor::after_nomination(id));
                            None
                        }
                        None => Some(None),
                    }
                }
            };
            if knows
                && let Some(after) = known_from
                && rows.len() < limit
            {
                let page = self
                    .store
                    .known_page(&KnownQuery {
                        partner: user.partner().clone(),
                        engagement: engagement.id().clone(),
                        tab,
                        now,
                        after,
                        limit: limit - rows.len(),
                    })
                    .await?;
                rows.extend(
                    page.rows
                        .into_iter()
                        .filter_map(|entry| KnownCustomerRow::placed(entry.known, &entry.placement))
                        .map(CustomerRow::Known),
                );
                next = page.next.map(|c| PageCursor::after_known_customer(Some(c)));
            } else if knows && known_from.is_some() {
                // The page is full of nominations and the known customers are
                // still to come.
                next = Some(PageCursor::after_known_customer(None));
            }
            let (counts, answers_since) = self.page_counts(&user, &engagement, now).await?;
            Ok(CustomersPage {
                tab,
                rows,
                next,
                counts,
                answers_since,
                unreadable,
            })
        })
        .await
    }

    /// Every tab's count, from the figures the store keeps (R-PAGE-9), and
    /// the instant of the oldest answer behind them.
    async fn page_counts(
        &self,
        user: &PartnerUser,
        engagement: &Engagement,
        now: Instant,
    ) -> Result<(PageCounts, Option<Instant>)> {
        let stored = self
            .store
            .count(user.partner(), engagement.id(), now)
            .await?;
        let mut counts = PageCounts {
            eligible: stored.eligible,
            not_checked: 0,
            ineligible: stored.ineligible,
            complete: stored.complete,
        };
        if engagement.availability(now) != Availability::Active {
            return Ok((counts, None));
        }
        let known = self
            .store
            .known_counts(user.partner(), engagement.id(), now)
            .await?;
        counts.eligible += known.eligible;
        counts.not_checked = known.not_checked;
        counts.ineligible += known.ineligible;
        Ok((counts, known.oldest_answer))
    }

    /// The engagements overview: each engagement with its availability, how
    /// many of the partner's enrolled locations are eligible, and its live
    /// nominations; and what needs action soon (R-ENG-7).
    pub async fn overview(
        &self,
        call: impl Into<Call<PartnerUser>>,
        filter: &OverviewFilter,
    ) -> Result<Overview> {
        traced("overview", call_span!("overview"), async move {
            let call = call.into();
            observability::partner(call.actor().partner());
            let user = call.actor().clone().authorize()?;
            let now = self.now()?;
            let locations = self.partners.locations(user.partner()).await?;
            let enrolled: Vec<&LocationId> = locations
                .iter()
                .filter(|(_, e)| *e)
                .map(|(l, _)| l)
                .collect();
            let mut engagements = Vec::new();
            for engagement in self.engagements() {
                let availability = engagement.availability(now);
                if filter.availability.is_some_and(|a| a != availability)
                    || filter
                        .solution_area
                        .as_ref()
                        .is_some_and(|a| a != engagement.solution_area())
                {
                    continue;
                }
                let mut eligible_locations = 0;
                let mut location_matches = filter.location.is_none();
                for location in &enrolled {
                    let standing = self
                        .partners
                        .location_standing(user.partner(), location, engagement.id())
                        .await?;
                    if standing == LocationStanding::Eligible {
                        eligible_locations += 1;
                        location_matches |= filter.location.as_ref() == Some(*location);
                    }
                }
                if !location_matches {
                    continue;
                }
                let counts = self
                    .store
                    .count(user.partner(), engagement.id(), now)
                    .await?;
                engagements.push(EngagementSummary {
                    engagement: engagement.id().clone(),
                    name: engagement.name().clone(),
                    solution_area: engagement.solution_area().clone(),
                    availability,
                    eligible_locations,
                    enrolled_locations: enrolled.len(),
                    active_customers: counts.eligible,
                });
            }
            engagements.sort_by(|a, b| {
                a.solution_area
                    .cmp(&b.solution_area)
                    .then_with(|| a.engagement.cmp(&b.engagement))
            });
            let horizon = self
                .settings
                .action_horizon
                .checked_after(now)
                .ok_or_else(|| InvalidValue::new("action_horizon", Problem::Overflow))?;
            let mut action_needed = Vec::new();
            for n in self
                .store
                .lapsing(user.partner(), now, horizon, 200)
                .await?
            {
                let Some(deadline) = n.deadline() else {
                    continue;
                };
                // A nomination that lost its customer to another partner can no
                // longer obtain the consent whose deadline comes: nothing is due
                // but to cancel it or let it end (R-CONSENT-10).
                if n.lost_at().is_some() {
                    continue;
                }
                let due = if deadline.kind == DeadlineKind::ObtainConsent {
                    Due::ConsentLapsing(deadline)
                } else {
                    Due::ClaimLapsing(deadline)
                };
                action_needed.push(ActionNeeded {
                    nomination: *n.id(),
                    engagement: n.engagement().clone(),
                    friendly_name: n.friendly_name().clone(),
                    due,
                });
            }
            let waiting = self
                .store
                .by_state(&StateQuery {
                    states: vec![State::PartnerActionRequired],
                    partner: Some(user.partner().clone()),
                    now,
                    after: None,
                    limit: 200,
                })
                .await?;
            for n in waiting.rows {
                action_needed.push(ActionNeeded {
                    nomination: *n.id(),
                    engagement: n.engagement().clone(),
                    friendly_name: n.friendly_name().clone(),
                    due: Due::ReviewerWaiting,
                });
            }
            Ok(Overview {
                engagements,
                action_needed,
            })
        })
        .await
    }
}
