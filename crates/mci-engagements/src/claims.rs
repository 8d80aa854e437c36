//! The Claims page (R-LIST-1): a partner's nominations across all
//! engagements, and the reviewer's view of every partner's submitted
//! claims.

use crate::call::Call;
use crate::error::Result;
use crate::observability::{self, call_span, traced};
use crate::page::CursorText;
use crate::service::Incentives;
use mci_core::{
    ClaimsOrder, ClaimsSearch, ClaimsSearchInput, CustomerId, DeadlineKind, EngagementId,
    FriendlyName, Head, Instant, InvalidValue, LocationId, Nomination, NominationId, PartnerId,
    PartnerUser, Problem, State,
};
use mci_store::{ClaimCounts, ClaimsQuery, ClaimsScope};

/// Where the next page of the Claims page starts: an opaque, URL-safe
/// string, like [`PageCursor`](crate::PageCursor), to give back as it is.
/// It holds the order it was made for: given with the other order, or
/// changed since it was given, it is refused with a typed error naming the
/// field `cursor` (R-INPUT), and the call changes nothing.
///
/// ```
/// use mci_engagements::{ClaimsOrder, ClaimsPageCursor};
///
/// let at = "2026-02-02T09:00:00Z".parse().unwrap();
/// let id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".parse().unwrap();
/// let cursor = ClaimsPageCursor::new(ClaimsOrder::Changed, at, id);
/// let text = cursor.to_string();
/// assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
/// assert_eq!(text.parse::<ClaimsPageCursor>().unwrap(), cursor);
/// assert_eq!(serde_json::to_value(&cursor).unwrap(), serde_json::Value::String(text.clone()));
///
/// let mut changed = text.into_bytes();
/// changed[6] = if changed[6] == b'A' { b'B' } else { b'A' };
/// let refused = String::from_utf8(changed).unwrap().parse::<ClaimsPageCursor>().unwrap_err();
/// assert_eq!(refused.field(), "cursor");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimsPageCursor {
    order: ClaimsOrder,
    at: Instant,
    id: NominationId,
}

impl ClaimsPageCursor {
    /// The version of the binary form written.
    const VERSION: u8 = 1;
    /// Its text form.
    const TEXT: CursorText = CursorText {
        label: b"mci claims cursor",
        name: "claims page cursor",
        max_chars: 128,
    };

    /// The cursor after the row keyed `(at, id)` in `order`.
    pub fn new(order: ClaimsOrder, at: Instant, id: NominationId) -> Self {
        Self { order, at, id }
    }

    /// The order it was made for.
    pub fn order(&self) -> ClaimsOrder {
        self.order
    }

    /// The store's cursor.
    fn store_cursor(&self) -> mci_store::ClaimsCursor {
        mci_store::ClaimsCursor {
            at: self.at,
            id: self.id,
        }
    }

    /// The binary form: version, order, instant, id.
    fn to_body(self) -> Vec<u8> {
        let mut bytes = vec![
            Self::VERSION,
            match self.order {
                ClaimsOrder::Created => 0,
                ClaimsOrder::Changed => 1,
            },
        ];
        bytes.extend_from_slice(&self.at.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(self.id.as_uuid().as_bytes());
        bytes
    }

    fn from_body(body: &[u8]) -> Result<Self, &'static str> {
        let [Self::VERSION, order, rest @ ..] = body else {
            return Err("of an unknown version");
        };
        let order = match order {
            0 => ClaimsOrder::Created,
            1 => ClaimsOrder::Changed,
            _ => return Err("of an unknown order"),
        };
        let (micros, id) = rest.split_at_checked(8).ok_or("too short")?;
        let micros: [u8; 8] = micros.try_into().map_err(|_| "too short")?;
        let at =
            Instant::from_timestamp_micros(i64::from_be_bytes(micros)).ok_or("not an instant")?;
        let id = uuid::Uuid::from_slice(id).map_err(|_| "not a nomination id")?;
        let id = NominationId::from_uuid(id).map_err(|_| "not a nomination id")?;
        Ok(Self { order, at, id })
    }
}

impl std::fmt::Display for ClaimsPageCursor {
    /// The base64url form, without padding, of the binary form.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&Self::TEXT.encode(self.to_body()))
    }
}

impl std::str::FromStr for ClaimsPageCursor {
    type Err = InvalidValue;

    /// Reads a cursor a page gave; anything else is refused under the
    /// field `cursor`, with words that do not quote the input.
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let body = Self::TEXT.decode(s)?;
        Self::from_body(&body).map_err(|what| Self::TEXT.refused(what))
    }
}

impl serde::Serialize for ClaimsPageCursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ClaimsPageCursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a Claims page asks for (R-LIST-1). In JSON every member may be
/// left out; an unknown member is refused.
///
/// ```
/// use mci_engagements::{ClaimsOrder, ClaimsRequest, State};
///
/// let request: ClaimsRequest =
///     serde_json::from_str(r#"{"state": "submitted", "order": "changed"}"#).unwrap();
/// assert_eq!(request.state, Some(State::Submitted));
/// assert_eq!(request.order, ClaimsOrder::Changed);
/// assert_eq!(request.limit, ClaimsRequest::default().limit);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimsRequest {
    /// Only this engagement's nominations.
    pub engagement: Option<EngagementId>,
    /// Only those in this state now.
    pub state: Option<State>,
    /// Newest first, by creation or by last change.
    pub order: ClaimsOrder,
    /// A search narrowing the list, checked by [`ClaimsSearch::new`].
    pub search: Option<ClaimsSearchInput>,
    /// Where the page starts: the cursor the previous page gave.
    pub cursor: Option<ClaimsPageCursor>,
    /// The most rows (at least 1).
    pub limit: usize,
}

impl Default for ClaimsRequest {
    fn default() -> Self {
        Self {
            engagement: None,
            state: None,
            order: ClaimsOrder::default(),
            search: None,
            cursor: None,
            limit: 50,
        }
    }
}

/// One row of the Claims page: a nomination as it stands at the instant
/// read (a lapse the sweep has not written reads as written).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClaimRow {
    /// The nomination; also the claim id that opens the claim.
    pub nomination: NominationId,
    /// Whose (the reviewer's page shows every partner's).
    pub partner: PartnerId,
    /// The engagement.
    pub engagement: EngagementId,
    /// The partner's name for it.
    pub friendly_name: FriendlyName,
    /// The customer.
    pub customer: CustomerId,
    /// The partner's location delivering it.
    pub location: LocationId,
    /// The state now.
    pub state: State,
    /// When it was added or claimed.
    pub created_at: Instant,
    /// When it last changed.
    pub changed_at: Instant,
    /// The window still running, if any.
    pub deadline: Option<DeadlineKind>,
    /// Days left in it, rounded up (R-TIME-3).
    pub days_left: Option<u32>,
    /// The head of its history (R-LIST-4).
    pub head: Option<Head>,
}

impl ClaimRow {
    /// The row of `nomination` at `now`.
    fn of(nomination: &Nomination, now: Instant) -> Self {
        let current = nomination.at(now);
        let deadline = current.deadline();
        Self {
            nomination: *current.id(),
            partner: current.partner().clone(),
            engagement: current.engagement().clone(),
            friendly_name: current.friendly_name().clone(),
            customer: *current.customer().id(),
            location: current.location().clone(),
            state: current.state(),
            created_at: current.created_at(),
            changed_at: current.updated_at(),
            deadline: deadline.map(|d| d.kind),
            days_left: deadline.map(|d| d.days_left(now.max(current.updated_at()))),
            head: current.head(),
        }
    }
}

/// One page of the Claims page. Its JSON form:
///
/// ```json
/// {"rows": [{"nomination": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "state": "submitted", "…": "…"}],
///  "next": "AQEABkv…",
///  "counts": {"awaiting_consent": 2, "submitted": 1},
///  "scanned": 3,
///  "unreadable": []}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClaimsPage {
    /// The rows, newest first in the order asked.
    pub rows: Vec<ClaimRow>,
    /// Where the next page starts, `None` at the end of the list. A search
    /// that looked at its bound of rows answers one even when it found
    /// none: the search goes on from there.
    pub next: Option<ClaimsPageCursor>,
    /// How many nominations of the list's scope and engagement are in each
    /// state now (a state with none is left out), whatever the state
    /// filter and the search.
    pub counts: ClaimCounts,
    /// How many rows of the list the page looked at.
    pub scanned: usize,
    /// Nominations of the page whose stored rows cannot be read back:
    /// passed over; they need an operator.
    pub unreadable: Vec<NominationId>,
}

impl Incentives {
    /// The partner's Claims page (R-LIST-1): its nominations of every
    /// engagement (or of `request.engagement`), in every state (or in
    /// `request.state` now), newest first by creation or last change, one
    /// keyset page after `request.cursor`, narrowed by `request.search`
    /// (which looks at no more than its bound of rows per call and answers
    /// a cursor to go on), with the counts of each state. Never another
    /// partner's nominations (R-ROLE-2).
    pub async fn claims(
        &self,
        call: impl Into<Call<PartnerUser>>,
        request: &ClaimsRequest,
    ) -> Result<ClaimsPage> {
        traced("claims", call_span!("claims"), async move {
            let call = call.into();
            observability::partner(call.actor().partner());
            let user = call.actor().clone().authorize()?;
            self.claims_page(ClaimsScope::Partner(user.partner().clone()), request)
                .await
        })
        .await
    }

    /// How many of the partner's nominations (of `engagement`, when given)
    /// are in each state now (R-LIST-1): what walking the Claims page of
    /// each state finds.
    pub async fn claim_counts(
        &self,
        call: impl Into<Call<PartnerUser>>,
        engagement: Option<&EngagementId>,
    ) -> Result<ClaimCounts> {
        traced("claim_counts", call_span!("claim_counts"), async move {
            let call = call.into();
            observability::partner(call.actor().partner());
            let user = call.actor().clone().authorize()?;
            let scope = ClaimsScope::Partner(user.partner().clone());
            Ok(self
                .store
                .claim_counts(&scope, engagement, self.now()?)
                .await?)
        })
        .await
    }

    /// The reviewer's Claims page (R-LIST-1): every partner's submitted
    /// claims, as [`Incentives::claims`] lists a partner's.
    pub async fn reviewer_claims(&self, request: &ClaimsRequest) -> Result<ClaimsPage> {
        traced(
            "reviewer_claims",
            call_span!("reviewer_claims"),
            async move { self.claims_page(ClaimsScope::Reviewer, request).await },
        )
        .await
    }

    /// How many of every partner's submitted claims (of `engagement`, when
    /// given) are in each state now (R-LIST-1).
    pub async fn reviewer_claim_counts(
        &self,
        engagement: Option<&EngagementId>,
    ) -> Result<ClaimCounts> {
        traced(
            "reviewer_claim_counts",
            call_span!("reviewer_claim_counts"),
            async move {
                Ok(self
                    .store
                    .claim_counts(&ClaimsScope::Reviewer, engagement, self.now()?)
                    .await?)
            },
        )
        .await
    }

    /// One page of `scope`'s Claims page as `request` asks, with its counts.
    async fn claims_page(&self, scope: ClaimsScope, request: &ClaimsRequest) -> Result<ClaimsPage> {
        let search = request.search.clone().map(ClaimsSearch::new).transpose()?;
        if let Some(cursor) = &request.cursor
            && cursor.order() != request.order
        {
            return Err(InvalidValue::under(
                "R-LIST-1",
                "cursor",
                Problem::Mismatch(format!(
                    "a cursor of the {} order, for a page in the {} order",
                    cursor.order(),
                    request.order
                )),
            )
            .into());
        }
        let now = self.now()?;
        let query = ClaimsQuery {
            scope,
            engagement: request.engagement.clone(),
            state: request.state,
            order: request.order,
            now,
            after: request.cursor.map(|c| c.store_cursor()),
            limit: request.limit.max(1),
            search,
        };
        let page = self.store.claims(&query).await?;
        let counts = self
            .store
            .claim_counts(&query.scope, query.engagement.as_ref(), now)
            .await?;
        Ok(ClaimsPage {
            rows: page.rows.iter().map(|n| ClaimRow::of(n, now)).collect(),
            next: page
                .next
                .map(|c| ClaimsPageCursor::new(query.order, c.at, c.id)),
            counts,
            scanned: page.scanned,
            unreadable: page.unreadable.iter().map(|u| u.id).collect(),
        })
    }
}
