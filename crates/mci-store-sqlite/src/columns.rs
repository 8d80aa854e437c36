//! How values are kept in columns: instants as integers, ids as bytes, and
//! the values the core derives for each nomination.
//!
//! Every column a query compares is encoded so that SQLite's order is the
//! order of the value: instants are nanoseconds since the Unix epoch, ids the
//! 16 bytes of their UUID (a UUID v7's bytes are in creation order), and a
//! customer's order key sorts as [`CustomerId`] does.
//!
//! ```
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use mci_store_sqlite::columns::instant;
//!
//! let t = Utc.with_ymd_and_hms(2026, 2, 2, 9, 0, 0).unwrap();
//! assert!(instant(t) < instant(t + TimeDelta::nanoseconds(1)));
//! assert_eq!(instant(chrono::DateTime::<Utc>::MAX_UTC), i64::MAX);
//! ```

use crate::error::BackendError;
use mci_core::{CustomerId, Instant, Nomination, NominationId, State, Tab};
use mci_store::{Derived, StoreError};

/// An instant as stored: nanoseconds since the Unix epoch, UTC.
///
/// Exact, and so exactly ordered, from 1677-09-21 to 2262-04-11; instants
/// outside that range (only a deadline saturated at the end of time is) are
/// clamped to `i64::MIN` or `i64::MAX`, which keeps them before or after
/// every instant in the range.
pub fn instant(at: Instant) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// A nomination id as stored: the 16 bytes of its UUID, in id order.
pub(crate) fn id(id: &NominationId) -> [u8; 16] {
    id.as_uuid().into_bytes()
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

/// A tab as stored: [`Tab::code`].
pub(crate) fn tab(tab: Option<Tab>) -> i64 {
    i64::from(Tab::code(tab))
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
    pub(crate) standing_until: Option<i64>,
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
        Ok(Self {
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
        fn instants_in_range_keep_their_order_to_the_nanosecond(
            a in -9_000_000_000_000_000_000i64..9_000_000_000_000_000_000,
            b in -9_000_000_000_000_000_000i64..9_000_000_000_000_000_000,
        ) {
            let (x, y) = (DateTime::<Utc>::from_timestamp_nanos(a), DateTime::<Utc>::from_timestamp_nanos(b));
            prop_assert_eq!(instant(x).cmp(&instant(y)), x.cmp(&y));
            prop_assert_eq!(instant(x), a);
        }
    }

    #[test]
    fn instants_out_of_range_clamp_to_the_ends() {
        assert_eq!(instant(DateTime::<Utc>::MIN_UTC), i64::MIN);
        assert_eq!(instant(DateTime::<Utc>::MAX_UTC), i64::MAX);
        let latest = DateTime::<Utc>::from_timestamp_nanos(i64::MAX);
        assert_eq!(instant(latest + TimeDelta::days(1)), i64::MAX);
    }

    #[test]
    fn every_state_is_stored_by_its_name() {
        assert_eq!(state(State::AwaitingConsent).unwrap(), "awaiting_consent");
    }
}
