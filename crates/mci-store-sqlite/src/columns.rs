//! How values are kept in columns: instants as integers, ids as bytes, and
//! the values the core derives for each nomination.
//!
//! Every column a query compares is encoded so that SQLite's order is the
//! order of the value: instants are microseconds since the Unix epoch, ids
//! the 16 bytes of their UUID (a UUID v7's bytes are in creation order), and
//! a customer's order key sorts as [`CustomerId`] does.
//!
//! ```
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use mci_store_sqlite::columns::{bound, instant, instant_at};
//!
//! let t = Utc.with_ymd_and_hms(2026, 2, 2, 9, 0, 0).unwrap();
//! assert!(instant(t) < instant(t + TimeDelta::microseconds(1)));
//! assert_eq!(instant_at(instant(t)).unwrap(), t);
//! // Past 2262 too, where nanoseconds would not fit an i64.
//! let late = Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap();
//! assert_eq!(instant_at(instant(late)).unwrap(), late);
//! assert_eq!(bound(t), instant(t));
//! ```

use crate::error::BackendError;
use mci_core::{AttentionPlacement, CustomerId, Instant, Nomination, NominationId, State, Tab};
use mci_store::{Derived, StoreError};

/// An instant as stored: microseconds since the Unix epoch, UTC, rounded up
/// to a whole microsecond.
///
/// Total and exact over the whole of chrono's range (about ±262,000 years
/// fit an `i64` of microseconds 35 times over), so nothing is clamped and
/// order is kept. Instants are to the microsecond (R-INPUT) and then kept
/// exactly; one with a finer fraction (from a caller other than the
/// service, or a file of schema version 2) is stored as the next whole
/// microsecond, which, compared with a [`bound`], still answers exactly
/// "has it come?" for every `now` to the microsecond.
pub fn instant(at: Instant) -> i64 {
    let micros = at.timestamp_micros();
    if at.timestamp_subsec_nanos().is_multiple_of(1_000) {
        micros
    } else {
        // At most 8.3 * 10^18 within chrono's range: one more fits.
        micros + 1
    }
}

/// An instant a query compares stored instants with (its `now`, the end of
/// a range): microseconds since the Unix epoch, rounded down. For a stored
/// instant `s` of whole microseconds and any `now`, `instant(s) <=
/// bound(now)` exactly when `s <= now`; and so for any stored instant when
/// `now` is of whole microseconds.
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

/// A nomination id as stored: the 16 bytes of its UUID, in id order.
pub(crate) fn id(id: &NominationId) -> [u8; 16] {
    id.as_uuid().into_bytes()
}

/// A nomination id read back from its 16 stored bytes.
pub(crate) fn nomination_id(bytes: &[u8]) -> Result<NominationId, StoreError> {
    let encoding = |what: String| StoreError::from(BackendError::Encoding(what));
    let bytes: [u8; 16] = bytes
        .try_into()
        .map_err(|_| encoding(format!("a nomination id of {} bytes, not 16", bytes.len())))?;
    NominationId::from_uuid(uuid::Uuid::from_bytes(bytes)).map_err(|e| encoding(e.to_string()))
}

/// The lower bound of a keyset cursor: every stored id sorts after the
/// empty blob, so "after nothing" is "after `x''`".
pub(crate) fn after(cursor: Option<&NominationId>) -> Vec<u8> {
    cursor.map(|c| id(c).to_vec()).unwrap_or_default()
}

/// The order key of a customer: the variant's rank, then the identifier's
/// bytes, so that byte order is [`CustomerId`]'s order (R-CLAIM-1 lists
/// known customers in that order).
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
pub(crate) fn tab(tab: Option<Tab>) -> i64 {
    i64::from(Tab::code(tab))
}

/// The Attention required list's class as stored (R-LIST-3):
/// [`AttentionClass::code`](mci_core::AttentionClass::code), `NULL` for a
/// nomination of no class or with no lapse (on no list).
pub fn attention(placement: &AttentionPlacement) -> Option<i64> {
    placement
        .class
        .filter(|_| placement.lapse_at.is_some())
        .map(|class| i64::from(class.code()))
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
    pub(crate) id: [u8; 16],
    pub(crate) partner: String,
    pub(crate) engagement: String,
    pub(crate) customer: String,
    pub(crate) customer_order: Vec<u8>,
    pub(crate) state: String,
    pub(crate) version: i64,
    pub(crate) tab: i64,
    pub(crate) lapse_at: Option<i64>,
    pub(crate) tab_after: Option<i64>,
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
    pub(crate) attention: Option<i64>,
    pub(crate) consented: bool,
    pub(crate) links: Vec<[u8; 32]>,
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
                .map(|link| *link.hash().as_bytes())
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
    use chrono::{DateTime, TimeDelta, Utc};
    use proptest::prelude::*;

    fn customer_id() -> impl Strategy<Value = CustomerId> {
        prop_oneof![
            any::<[u8; 16]>().prop_filter_map("nil", |b| {
                mci_core::TenantId::from_uuid(uuid::Uuid::from_bytes(b))
                    .ok()
                    .map(CustomerId::Tenant)
            }),
            (1..u64::MAX).prop_map(|n| CustomerId::Tpid(mci_core::Tpid::new(n).unwrap())),
            (0..40u64).prop_map(|n| CustomerId::Tpid(mci_core::Tpid::new(n + 1).unwrap())),
            any::<[u8; 16]>().prop_filter_map("nil", |b| {
                mci_core::AzureSubscriptionId::from_uuid(uuid::Uuid::from_bytes(b))
                    .ok()
                    .map(CustomerId::AzureSubscription)
            }),
            "[0-9]-[A-Z0-9]{6,16}".prop_map(|s| CustomerId::MsxOpportunity(s.parse().unwrap())),
        ]
    }

    proptest! {
        #[test]
        fn customer_order_keys_sort_as_customer_ids(a in customer_id(), b in customer_id()) {
            prop_assert_eq!(customer_order(&a).cmp(&customer_order(&b)), a.cmp(&b));
        }

        #[test]
        fn instants_keep_their_order_and_read_back_to_the_microsecond(
            a in instant_strategy(),
            b in instant_strategy(),
        ) {
            prop_assert_eq!(instant(a).cmp(&instant(b)), a.cmp(&b));
            prop_assert_eq!(instant_at(instant(a)).unwrap(), a);
            prop_assert_eq!(bound(a), instant(a));
        }

        #[test]
        fn a_finer_instant_against_a_bound_answers_as_the_instant_does(
            stored in instant_strategy(),
            nanos in 1i64..1_000,
            now in instant_strategy(),
        ) {
            let finer = stored + TimeDelta::nanoseconds(nanos);
            prop_assert_eq!(instant(finer) <= bound(now), finer <= now);
            prop_assert_eq!(instant(stored) <= bound(finer), stored <= finer);
        }
    }

    /// Instants of whole microseconds over the whole of chrono's range.
    fn instant_strategy() -> impl Strategy<Value = Instant> {
        let (min, max) = (
            DateTime::<Utc>::MIN_UTC.timestamp_micros(),
            DateTime::<Utc>::MAX_UTC.timestamp_micros(),
        );
        prop_oneof![
            min..=max,
            // The accepted range, and the edges of the old nanosecond one.
            0i64..7_289_654_400_000_000,
            -9_223_372_036_854_775i64..-9_223_372_036_854_000,
            9_223_372_036_854_000i64..9_223_372_036_854_776,
        ]
        .prop_map(|micros| DateTime::<Utc>::from_timestamp_micros(micros).unwrap())
    }

    #[test]
    fn the_ends_of_chronos_range_are_stored_without_clamping() {
        let latest = mci_core::truncate_to_micros(DateTime::<Utc>::MAX_UTC);
        for at in [DateTime::<Utc>::MIN_UTC, latest] {
            assert_eq!(instant_at(instant(at)).unwrap(), at);
            assert!(instant(at) > i64::MIN && instant(at) < i64::MAX);
        }
        assert!(instant_at(i64::MAX).is_err());
        assert!(instant_at(i64::MIN).is_err());
    }

    #[test]
    fn every_state_is_stored_by_its_name() {
        assert_eq!(state(State::AwaitingConsent).unwrap(), "awaiting_consent");
    }
}
