//! How values are kept in columns: instants as microseconds, ids as
//! `uuid`, and the values the core derives for each nomination, as the
//! SQLite store keeps them, so that both stores answer every comparison
//! alike.
//!
//! ```
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use mci_store_postgres::columns::{bound, instant, instant_at};
//!
//! let t = Utc.with_ymd_and_hms(2026, 2, 2, 9, 0, 0).unwrap();
//! assert!(instant(t) < instant(t + TimeDelta::microseconds(1)));
//! assert_eq!(instant_at(instant(t)).unwrap(), t);
//! assert_eq!(bound(t), instant(t));
//! ```

use crate::error::BackendError;
use mci_core::{CustomerId, Instant, Nomination, NominationId, State, Tab};
use mci_store::{Derived, StoreError};
use uuid::Uuid;

/// An instant as stored: microseconds since the Unix epoch, UTC, rounded up
/// to a whole microsecond (R-INPUT: instants are to the microsecond), exact
/// over the whole of chrono's range.
pub fn instant(at: Instant) -> i64 {
    let micros = at.timestamp_micros();
    if at.timestamp_subsec_nanos().is_multiple_of(1_000) {
        micros
    } else {
        micros + 1
    }
}

/// An instant a query compares stored instants with: microseconds since
/// the Unix epoch, rounded down, so that `instant(s) <= bound(now)` exactly
/// when `s <= now` for a stored instant `s` of whole microseconds.
pub fn bound(at: Instant) -> i64 {
    at.timestamp_micros()
}

/// A stored instant read back; microseconds outside chrono's range are a
/// typed error, never clamped.
pub fn instant_at(micros: i64) -> Result<Instant, StoreError> {
    Instant::from_timestamp_micros(micros).ok_or_else(|| {
        BackendError::Encoding(format!(
            "{micros} microseconds since the epoch is no instant chrono represents"
        ))
        .into()
    })
}

/// A nomination id as stored.
pub(crate) fn id(id: &NominationId) -> Uuid {
    id.as_uuid()
}

/// A nomination id read back.
pub(crate) fn nomination_id(id: Uuid) -> Result<NominationId, StoreError> {
    NominationId::from_uuid(id).map_err(|e| BackendError::Encoding(e.to_string()).into())
}

/// The lower bound of a keyset cursor: every stored id is after the nil
/// UUID, which no nomination has.
pub(crate) fn after(cursor: Option<&NominationId>) -> Uuid {
    cursor.map(id).unwrap_or(Uuid::nil())
}

/// The order key of a customer: the variant's rank, then the identifier's
/// bytes, so that byte order is [`CustomerId`]'s order (R-CLAIM-1 lists
/// known customers in that order). The same keys as the SQLite store's.
pub fn customer_order(customer: &CustomerId) -> Vec<u8> {
    let mut key = Vec::with_capacity(20);
    match customer {
        CustomerId::Tenant(tenant) => {
            key.push(0);
            key.extend_from_slice(tenant.as_uuid().as_bytes());
        }
        CustomerId::Tpid(tpid) => {
            key.push(1);
            key.extend_from_slice(&tpid.get().to_be_bytes());
        }
        CustomerId::AzureSubscription(subscription) => {
            key.push(2);
            key.extend_from_slice(subscription.as_uuid().as_bytes());
        }
        CustomerId::MsxOpportunity(opportunity) => {
            key.push(3);
            key.extend_from_slice(opportunity.as_str().as_bytes());
        }
    }
    key
}

/// A state as stored: its serialised name, the same as in the documents.
pub(crate) fn state(state: State) -> Result<String, StoreError> {
    match serde_json::to_value(state).map_err(BackendError::Document)? {
        serde_json::Value::String(name) => Ok(name),
        other => {
            Err(BackendError::Encoding(format!("state {state:?} serialised as {other}")).into())
        }
    }
}

/// A state read back from its stored name.
pub(crate) fn state_of(name: &str) -> Result<State, StoreError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| BackendError::Encoding(format!("{name:?} is no state")).into())
}

/// A tab as stored: [`Tab::code`].
pub(crate) fn tab(tab: Option<Tab>) -> i16 {
    i16::from(Tab::code(tab))
}

/// A stored tab code read back; `None` for hidden (0) or an unknown code.
pub(crate) fn tab_of(code: i16) -> Option<Tab> {
    u8::try_from(code).ok().and_then(Tab::from_code)
}

/// The Attention required list's class as stored (R-LIST-3):
/// [`AttentionClass::code`](mci_core::AttentionClass::code), `NULL` for a
/// nomination of no class or with no lapse (on no list).
pub fn attention(placement: &mci_core::AttentionPlacement) -> Option<i16> {
    placement
        .class
        .filter(|_| placement.lapse_at.is_some())
        .map(|class| i16::from(class.code()))
}

/// A count or version as stored.
pub(crate) fn integer(value: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| BackendError::Encoding(format!("{what} {value} is too large")).into())
}

/// A limit as a SQL `LIMIT`: larger than any table is the same as no limit.
pub(crate) fn limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A nomination as a row of the `nominations` table, with its links and
/// whether it makes its customer known to its partner.
#[derive(Debug, Clone)]
pub(crate) struct NominationRow {
    pub(crate) id: Uuid,
    pub(crate) partner: String,
    pub(crate) engagement: String,
    pub(crate) customer: String,
    pub(crate) customer_order: Vec<u8>,
    pub(crate) state: String,
    pub(crate) version: i64,
    pub(crate) tab: i16,
    pub(crate) lapse_at: Option<i64>,
    pub(crate) tab_after: Option<i16>,
    pub(crate) wake_at: Option<i64>,
    pub(crate) live: bool,
    pub(crate) holds_consent: bool,
    pub(crate) completed: bool,
    pub(crate) asking: bool,
    pub(crate) standing_until: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) changed_at: i64,
    pub(crate) state_after: Option<String>,
    pub(crate) reviewable: bool,
    pub(crate) attention: Option<i16>,
    pub(crate) consented: bool,
    pub(crate) links: Vec<Vec<u8>>,
    pub(crate) doc: String,
}

impl NominationRow {
    /// The row of `nomination`, with the values the core derives for it.
    pub(crate) fn of(nomination: &Nomination) -> Result<Self, StoreError> {
        let Derived {
            placement,
            standing,
        } = Derived::of(nomination);
        let claims = nomination.claims_placement();
        Ok(Self {
            created_at: instant(claims.created_at),
            changed_at: instant(claims.changed_at),
            state_after: claims.state_after_lapse.map(state).transpose()?,
            reviewable: claims.reviewable,
            attention: attention(&nomination.attention_placement()),
            id: id(nomination.id()),
            partner: nomination.partner().as_str().to_owned(),
            engagement: nomination.engagement().as_str().to_owned(),
            customer: nomination.customer().id().to_string(),
            customer_order: customer_order(nomination.customer().id()),
            state: state(nomination.state())?,
            version: integer(nomination.version(), "version")?,
            tab: tab(placement.tab),
            lapse_at: placement.lapse_at.map(instant),
            tab_after: placement.lapse_at.map(|_| tab(placement.tab_after_lapse)),
            wake_at: placement.wake_at.map(instant),
            live: standing.live,
            holds_consent: standing.holds_consent,
            completed: standing.completed,
            asking: standing.asking,
            standing_until: standing.until.map(instant),
            consented: nomination.consented_at().is_some(),
            links: nomination
                .links()
                .iter()
                .map(|link| link.hash().as_bytes().to_vec())
                .collect(),
            doc: serde_json::to_string(nomination).map_err(BackendError::Document)?,
        })
    }
}

/// A stored document read back.
pub(crate) fn document<T: serde::de::DeserializeOwned>(doc: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|e| BackendError::Document(e).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    #[test]
    fn the_ends_of_chronos_range_are_stored_without_clamping() {
        let latest = mci_core::truncate_to_micros(DateTime::<Utc>::MAX_UTC);
        for at in [DateTime::<Utc>::MIN_UTC, latest] {
            assert_eq!(instant_at(instant(at)).unwrap(), at);
        }
        assert!(instant_at(i64::MAX).is_err());
    }

    #[test]
    fn customer_order_keys_sort_as_customer_ids() {
        let ids: Vec<CustomerId> = ["tpid:2", "tpid:10", "tpid:300"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        for pair in ids.windows(2) {
            assert!(customer_order(&pair[0]) < customer_order(&pair[1]));
        }
    }
}
