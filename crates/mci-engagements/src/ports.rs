//! The ports: what the library asks of the world outside it (SPEC "Outside
//! the library"), each a trait with an in-memory implementation for tests
//! and demos.
//!
//! ```
//! use mci_engagements::ports::{InMemoryTenantDirectory, TenantDirectory};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let contoso = "0b7d3f6e-1c2a-4e5f-8a9b-0c1d2e3f4a5b".parse().unwrap();
//! let directory = InMemoryTenantDirectory::builder()
//!     .tenant(contoso, ["contoso.example".parse().unwrap()])
//!     .build();
//! let domain = "contoso.example".parse().unwrap();
//! assert_eq!(directory.tenant_of(&domain).await.unwrap(), Some(contoso));
//! # });
//! ```

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use hmac::{Hmac, Mac};
use mci_core::{
    CustomerId, CustomerStanding, Domain, EngagementId, Instant, InvalidValue, LinkId, LinkToken,
    LocationId, LocationStanding, PartnerId, Problem, Sha256Digest, TenantId, Tpid,
};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// A port failed: the directory or source could not answer.
///
/// A port says whether its failure is transient, so that the service's
/// error tells its caller whether to retry: a timeout or a connection
/// refused ([`PortError::new`], [`PortError::transient`]) may succeed
/// later, and makes the call's error [`Unavailable`](crate::ErrorKind::Unavailable)
/// and retryable; an answer the port can never give
/// ([`PortError::permanent`]: a malformed answer, a missing capability) is
/// [`Internal`](crate::ErrorKind::Internal) and not retryable.
///
/// The message names the port only; the port's own error is the
/// [`source()`](std::error::Error::source).
///
/// ```
/// use mci_engagements::ports::PortError;
///
/// let timeout = PortError::transient("tenant directory", std::io::Error::other("timed out"));
/// assert!(timeout.is_transient());
/// assert_eq!(timeout.to_string(), "tenant directory did not answer");
/// let cause = std::error::Error::source(&timeout).map(ToString::to_string);
/// assert_eq!(cause.as_deref(), Some("timed out"));
///
/// let garbled = PortError::permanent("customer eligibility", std::io::Error::other("3 answers to 2 questions"));
/// assert!(!garbled.is_transient());
/// assert_eq!(garbled.to_string(), "customer eligibility failed, and retrying does not help");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{port} {}", if *transient { "did not answer" } else { "failed, and retrying does not help" })]
pub struct PortError {
    /// Which port.
    pub port: &'static str,
    /// Whether the same call may succeed later.
    transient: bool,
    /// Why.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl PortError {
    /// A failure of `port` that may pass: the port did not answer (a
    /// timeout, a connection refused). The same as
    /// [`PortError::transient`].
    pub fn new(port: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::transient(port, source)
    }

    /// A failure of `port` after which the same call may succeed later.
    pub fn transient(
        port: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            port,
            transient: true,
            source: Box::new(source),
        }
    }

    /// A failure of `port` that the same call meets again: retrying does
    /// not help, someone must fix the port or its configuration.
    pub fn permanent(
        port: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            port,
            transient: false,
            source: Box::new(source),
        }
    }

    /// Whether the same call may succeed later.
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

/// Domains, tenants and TPIDs (R-ADD-3, R-ADD-4).
#[async_trait]
pub trait TenantDirectory: Send + Sync {
    /// The tenant a domain belongs to, if any.
    async fn tenant_of(&self, domain: &Domain) -> Result<Option<TenantId>, PortError>;
    /// Whether `domain` belongs to `tenant`.
    async fn tenant_owns(&self, tenant: &TenantId, domain: &Domain) -> Result<bool, PortError>;
    /// Whether `domain` belongs to a tenant under `tpid`.
    async fn tpid_owns(&self, tpid: &Tpid, domain: &Domain) -> Result<bool, PortError>;
    /// The other identifiers of the customer `customer` identifies, as the
    /// directory links them: the TPIDs a tenant is under, the tenants under
    /// a TPID. An add warns when the partner already nominated the customer
    /// for the engagement under one of them (R-LIST-5); eligibility still
    /// does not cascade (R-ADD-5). The default links nothing, so that a
    /// directory written before this question keeps compiling and warns of
    /// nothing.
    async fn linked_ids(&self, customer: &CustomerId) -> Result<Vec<CustomerId>, PortError> {
        let _ = customer;
        Ok(Vec::new())
    }
}

/// Whether a customer meets an engagement's criteria (R-ADD-5, R-PAGE-4).
#[async_trait]
pub trait CustomerEligibility: Send + Sync {
    /// The answer for one engagement and one customer identifier; it does
    /// not cascade to other identifiers of the customer (R-ADD-5).
    async fn standing(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<CustomerStanding, PortError>;

    /// The answers for many customers of one engagement, one per customer
    /// in the order asked: what a page asks, once per batch of rows it may
    /// show (SPEC "Outside the library", R-PAGE-9). The default asks
    /// [`CustomerEligibility::standing`] about each in turn; a source that
    /// can answer many at once should override it.
    async fn standings(
        &self,
        engagement: &EngagementId,
        customers: &[CustomerId],
    ) -> Result<Vec<CustomerStanding>, PortError> {
        let mut answers = Vec::with_capacity(customers.len());
        for customer in customers {
            answers.push(self.standing(engagement, customer).await?);
        }
        Ok(answers)
    }
}

/// A partner's locations, their enrolment and their eligibility per
/// engagement (R-ADD-2).
#[async_trait]
pub trait PartnerDirectory: Send + Sync {
    /// The partner's locations and whether each is enrolled in MCI.
    async fn locations(&self, partner: &PartnerId) -> Result<Vec<(LocationId, bool)>, PortError>;
    /// Where one location stands for one engagement.
    async fn location_standing(
        &self,
        partner: &PartnerId,
        location: &LocationId,
        engagement: &EngagementId,
    ) -> Result<LocationStanding, PortError>;
}

/// The current instant: only the service reads it (R-TIME-1). The service
/// truncates each reading to the microsecond and refuses one outside
/// 1970-01-01 to 2200-12-31 with a typed error (R-INPUT,
/// [`Incentives::now`](crate::Incentives::now)).
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> Instant;
}

/// Where link ids come from (R-TOKEN-1): each link sent gets a fresh random
/// id, from which the [`LinkKey`] derives its token.
pub trait LinkIdSource: Send + Sync {
    /// A fresh link id of 128 random bits.
    fn link_id(&self) -> Result<LinkId, PortError>;
}

/// The key that turns a link id into the link's token (R-TOKEN-1,
/// R-TOKEN-4), kept by the application outside the database: in a secret
/// manager, a key management service, or a file only the application reads.
///
/// Stores keep a link's id (in the pending message) and the hash of its
/// token (in the nomination), never the token; without this key, neither
/// opens a link. The same id must always give the same token, so that a
/// message delivered again still carries a working link (R-REC-2), and a
/// link sent before a restart still opens afterwards: keep the key as long
/// as links made with it may be answered (the longest consent or claim
/// window of the catalogue).
///
/// ```
/// use mci_engagements::ports::{HmacLinkKey, LinkKey};
/// use mci_core::LinkId;
///
/// let key = HmacLinkKey::from_hex(&"5a".repeat(32)).unwrap(); // from your secret store
/// let id = LinkId::from_bytes([1; 16]);
/// let token = key.token(&id).unwrap();
/// assert_eq!(token, key.token(&id).unwrap()); // the same id, the same token
/// assert_ne!(token, HmacLinkKey::demo().token(&id).unwrap());
/// assert_eq!(format!("{key:?}"), "HmacLinkKey(..)"); // Debug never shows the key
/// ```
pub trait LinkKey: Send + Sync {
    /// The token of link `id`.
    fn token(&self, link: &LinkId) -> Result<LinkToken, PortError>;
}

/// A [`LinkKey`] of 256 bits held in memory: the token of a link is
/// HMAC-SHA-256 (RFC 2104) of the link id under the key, with a label that
/// ties it to this use. The key's bytes are wiped when it is dropped.
#[derive(Clone)]
pub struct HmacLinkKey {
    key: Zeroizing<[u8; 32]>,
}

impl HmacLinkKey {
    /// What the HMAC input starts with, so that the key derives nothing
    /// but link tokens.
    const LABEL: &'static [u8] = b"mci link token v1\0";

    /// A key of 32 bytes from the application's secret store.
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            key: Zeroizing::new(key),
        }
    }

    /// A key from 64 hex digits (any case), as kept in a secret store or an
    /// environment variable.
    pub fn from_hex(hex: &str) -> Result<Self, InvalidValue> {
        let key: Sha256Digest = hex.parse().map_err(|_: InvalidValue| {
            InvalidValue::under(
                "R-TOKEN-4",
                "link_key",
                Problem::Syntax("expected 64 hex digits".to_owned()),
            )
        })?;
        Ok(Self::new(*key.as_bytes()))
    }

    /// A fresh key from the operating system's secure random source, to
    /// keep in the application's secret store.
    pub fn generate() -> Result<Self, PortError> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut key[..])
            .map_err(|e| PortError::permanent("link key", RandomError(e)))?;
        Ok(Self { key })
    }

    /// A key everyone knows, for tests and demos only: links made with it
    /// can be forged by anyone who reads the link ids in the database.
    pub fn demo() -> Self {
        Self::new(*b"mci demo link key: never in prod")
    }
}

impl std::fmt::Debug for HmacLinkKey {
    /// Never the key: `HmacLinkKey(..)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacLinkKey(..)")
    }
}

impl LinkKey for HmacLinkKey {
    fn token(&self, link: &LinkId) -> Result<LinkToken, PortError> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key[..])
            .map_err(|e| PortError::permanent("link key", std::io::Error::other(e.to_string())))?;
        mac.update(Self::LABEL);
        mac.update(link.as_bytes());
        Ok(LinkToken::from_bytes(mac.finalize().into_bytes().into()))
    }
}

pub use crate::clock::StoredClock;

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Utc::now()
    }
}

/// A clock that moves only when told: for tests and demos that play out
/// days in a moment.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Instant>,
}

impl ManualClock {
    /// A clock standing at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: Instant) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }

    /// Moves the clock by `delta` (back when it is negative) and returns
    /// the new reading. A move past either end of chrono's range is refused
    /// with a typed error naming `delta`, and the clock stays where it was:
    /// it never clamps. A reading outside the accepted range (R-INPUT) is
    /// the service's to refuse when it reads the clock.
    pub fn advance(&self, delta: TimeDelta) -> Result<Instant, InvalidValue> {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        let moved = now
            .checked_add_signed(delta)
            .ok_or_else(|| InvalidValue::new("delta", Problem::Overflow))?;
        *now = moved;
        Ok(moved)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Link ids from the operating system's secure random source (R-TOKEN-1).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsLinkIds;

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
struct RandomError(getrandom::Error);

impl LinkIdSource for OsLinkIds {
    fn link_id(&self) -> Result<LinkId, PortError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| PortError::permanent("link ids", RandomError(e)))?;
        Ok(LinkId::from_bytes(bytes))
    }
}

/// Predictable link ids from a seed, for tests and demos only: with a
/// known key (such as [`HmacLinkKey::demo`]) they make guessable links.
#[derive(Debug)]
pub struct SeededLinkIds {
    state: AtomicU64,
}

impl SeededLinkIds {
    /// A source starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: AtomicU64::new(seed),
        }
    }
}

fn splitmix64(state: u64) -> u64 {
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl LinkIdSource for SeededLinkIds {
    fn link_id(&self) -> Result<LinkId, PortError> {
        let mut bytes = [0u8; 16];
        for chunk in bytes.chunks_mut(8) {
            let state = self
                .state
                .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
                .wrapping_add(0x9e37_79b9_7f4a_7c15);
            chunk.copy_from_slice(&splitmix64(state).to_le_bytes());
        }
        Ok(LinkId::from_bytes(bytes))
    }
}

/// The hash maps of the in-memory ports: foldhash, randomly seeded per map,
/// several times faster than the standard SipHash on these short keys. The
/// ports are test and demo doubles whose contents the application chose.
type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A tenant directory held in memory.
#[derive(Debug, Default, Clone)]
pub struct InMemoryTenantDirectory {
    tenant_of: Map<Domain, TenantId>,
    domains: Map<TenantId, BTreeSet<Domain>>,
    tpids: Map<Tpid, BTreeSet<TenantId>>,
}

impl InMemoryTenantDirectory {
    /// An empty directory to fill.
    pub fn builder() -> TenantDirectoryBuilder {
        TenantDirectoryBuilder::default()
    }
}

/// Builds an [`InMemoryTenantDirectory`].
#[derive(Debug, Default)]
#[must_use]
pub struct TenantDirectoryBuilder {
    directory: InMemoryTenantDirectory,
}

impl TenantDirectoryBuilder {
    /// A tenant and the domains it owns.
    pub fn tenant(mut self, tenant: TenantId, domains: impl IntoIterator<Item = Domain>) -> Self {
        for domain in domains {
            self.directory.tenant_of.insert(domain.clone(), tenant);
            self.directory
                .domains
                .entry(tenant)
                .or_default()
                .insert(domain);
        }
        self
    }

    /// A TPID and the tenants under it.
    pub fn tpid(mut self, tpid: Tpid, tenants: impl IntoIterator<Item = TenantId>) -> Self {
        self.directory
            .tpids
            .entry(tpid)
            .or_default()
            .extend(tenants);
        self
    }

    /// The directory.
    pub fn build(self) -> InMemoryTenantDirectory {
        self.directory
    }
}

#[async_trait]
impl TenantDirectory for InMemoryTenantDirectory {
    async fn tenant_of(&self, domain: &Domain) -> Result<Option<TenantId>, PortError> {
        Ok(self.tenant_of.get(domain).copied())
    }

    async fn tenant_owns(&self, tenant: &TenantId, domain: &Domain) -> Result<bool, PortError> {
        Ok(self.domains.get(tenant).is_some_and(|d| d.contains(domain)))
    }

    async fn tpid_owns(&self, tpid: &Tpid, domain: &Domain) -> Result<bool, PortError> {
        Ok(self.tpids.get(tpid).is_some_and(|tenants| {
            tenants
                .iter()
                .any(|t| self.domains.get(t).is_some_and(|d| d.contains(domain)))
        }))
    }

    /// A tenant's TPIDs (in TPID order), or a TPID's tenants (in tenant
    /// order); nothing for other identifiers (R-LIST-5).
    async fn linked_ids(&self, customer: &CustomerId) -> Result<Vec<CustomerId>, PortError> {
        Ok(match customer {
            CustomerId::Tenant(tenant) => {
                let mut tpids: Vec<Tpid> = self
                    .tpids
                    .iter()
                    .filter(|(_, tenants)| tenants.contains(tenant))
                    .map(|(tpid, _)| *tpid)
                    .collect();
                tpids.sort();
                tpids.into_iter().map(CustomerId::Tpid).collect()
            }
            CustomerId::Tpid(tpid) => self
                .tpids
                .get(tpid)
                .into_iter()
                .flatten()
                .map(|tenant| CustomerId::Tenant(*tenant))
                .collect(),
            _ => Vec::new(),
        })
    }
}

/// A permissive customer eligibility source held in memory, for tests and
/// demos: every customer is eligible unless marked otherwise
/// ([`ineligible`](Self::ineligible)). Never the program's source in
/// production (R-ADD-5).
#[derive(Debug, Default, Clone)]
pub struct PermissiveEligibility {
    /// engagement → customer → why not. Nested, so that a look-up borrows
    /// the engagement rather than copying it into a key.
    ineligible: Map<EngagementId, Map<CustomerId, String>>,
}

impl PermissiveEligibility {
    /// Every customer eligible.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks `customer` ineligible for `engagement`, with the reason.
    #[must_use]
    pub fn ineligible(
        mut self,
        engagement: EngagementId,
        customer: CustomerId,
        reason: impl Into<String>,
    ) -> Self {
        self.ineligible
            .entry(engagement)
            .or_default()
            .insert(customer, reason.into());
        self
    }
}

#[async_trait]
impl CustomerEligibility for PermissiveEligibility {
    async fn standing(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<CustomerStanding, PortError> {
        let reason = self
            .ineligible
            .get(engagement)
            .and_then(|customers| customers.get(customer));
        Ok(match reason {
            Some(reason) => CustomerStanding::Ineligible(reason.clone()),
            None => CustomerStanding::Eligible,
        })
    }
}

/// A partner directory held in memory: a location is eligible for every
/// engagement unless marked otherwise.
#[derive(Debug, Default, Clone)]
pub struct InMemoryPartnerDirectory {
    /// partner → location → enrolled; each partner's locations in order.
    locations: Map<PartnerId, BTreeMap<LocationId, bool>>,
    /// location → engagement → why not. Nested, so that a look-up borrows
    /// the location and the engagement rather than copying them into a key.
    ineligible: Map<LocationId, Map<EngagementId, String>>,
}

impl InMemoryPartnerDirectory {
    /// An empty directory to fill.
    pub fn builder() -> PartnerDirectoryBuilder {
        PartnerDirectoryBuilder::default()
    }
}

/// Builds an [`InMemoryPartnerDirectory`].
#[derive(Debug, Default)]
#[must_use]
pub struct PartnerDirectoryBuilder {
    directory: InMemoryPartnerDirectory,
}

impl PartnerDirectoryBuilder {
    /// A location of `partner`, enrolled in MCI.
    pub fn enrolled(self, partner: PartnerId, location: LocationId) -> Self {
        self.location(partner, location, true)
    }

    /// A location of `partner`, enrolled or not.
    pub fn location(mut self, partner: PartnerId, location: LocationId, enrolled: bool) -> Self {
        self.directory
            .locations
            .entry(partner)
            .or_default()
            .insert(location, enrolled);
        self
    }

    /// A location that does not meet an engagement's partner criteria.
    pub fn ineligible(
        mut self,
        location: LocationId,
        engagement: EngagementId,
        reason: impl Into<String>,
    ) -> Self {
        self.directory
            .ineligible
            .entry(location)
            .or_default()
            .insert(engagement, reason.into());
        self
    }

    /// The directory.
    pub fn build(self) -> InMemoryPartnerDirectory {
        self.directory
    }
}

#[async_trait]
impl PartnerDirectory for InMemoryPartnerDirectory {
    async fn locations(&self, partner: &PartnerId) -> Result<Vec<(LocationId, bool)>, PortError> {
        Ok(self
            .locations
            .get(partner)
            .map(|l| {
                l.iter()
                    .map(|(id, enrolled)| (id.clone(), *enrolled))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn location_standing(
        &self,
        partner: &PartnerId,
        location: &LocationId,
        engagement: &EngagementId,
    ) -> Result<LocationStanding, PortError> {
        let enrolled = self.locations.get(partner).and_then(|l| l.get(location));
        Ok(match enrolled {
            None => LocationStanding::NotThePartners,
            Some(false) => LocationStanding::NotEnrolled,
            Some(true) => match self
                .ineligible
                .get(location)
                .and_then(|engagements| engagements.get(engagement))
            {
                Some(reason) => LocationStanding::Ineligible(reason.clone()),
                None => LocationStanding::Eligible,
            },
        })
    }
}

/// A port shared or boxed is the same port: `Arc<T>` and `Box<T>` of any
/// port are ports, so an application can hand the service a port it also
/// keeps (a directory it refreshes, a clock it moves).
macro_rules! forward_ports {
    ($($wrapper:ident),*) => {$(
        #[async_trait]
        impl<T: TenantDirectory + ?Sized> TenantDirectory for $wrapper<T> {
            async fn tenant_of(&self, domain: &Domain) -> Result<Option<TenantId>, PortError> {
                (**self).tenant_of(domain).await
            }
            async fn tenant_owns(&self, tenant: &TenantId, domain: &Domain) -> Result<bool, PortError> {
                (**self).tenant_owns(tenant, domain).await
            }
            async fn tpid_owns(&self, tpid: &Tpid, domain: &Domain) -> Result<bool, PortError> {
                (**self).tpid_owns(tpid, domain).await
            }
        }

        #[async_trait]
        impl<T: CustomerEligibility + ?Sized> CustomerEligibility for $wrapper<T> {
            async fn standing(
                &self,
                engagement: &EngagementId,
                customer: &CustomerId,
            ) -> Result<CustomerStanding, PortError> {
                (**self).standing(engagement, customer).await
            }
            async fn standings(
                &self,
                engagement: &EngagementId,
                customers: &[CustomerId],
            ) -> Result<Vec<CustomerStanding>, PortError> {
                (**self).standings(engagement, customers).await
            }
        }

        #[async_trait]
        impl<T: PartnerDirectory + ?Sized> PartnerDirectory for $wrapper<T> {
            async fn locations(&self, partner: &PartnerId) -> Result<Vec<(LocationId, bool)>, PortError> {
                (**self).locations(partner).await
            }
            async fn location_standing(
                &self,
                partner: &PartnerId,
                location: &LocationId,
                engagement: &EngagementId,
            ) -> Result<LocationStanding, PortError> {
                (**self).location_standing(partner, location, engagement).await
            }
        }

        impl<T: LinkIdSource + ?Sized> LinkIdSource for $wrapper<T> {
            fn link_id(&self) -> Result<LinkId, PortError> {
                (**self).link_id()
            }
        }

        impl<T: LinkKey + ?Sized> LinkKey for $wrapper<T> {
            fn token(&self, link: &LinkId) -> Result<LinkToken, PortError> {
                (**self).token(link)
            }
        }
    )*};
}

forward_ports!(Arc, Box);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_shared_or_boxed_port_answers_as_the_port() {
        let contoso: TenantId = "0b7d3f6e-1c2a-4e5f-8a9b-0c1d2e3f4a5b".parse().unwrap();
        let domain: Domain = "contoso.example".parse().unwrap();
        let shared = Arc::new(
            InMemoryTenantDirectory::builder()
                .tenant(contoso, [domain.clone()])
                .build(),
        );
        let kept = shared.clone();
        let boxed: Box<dyn TenantDirectory> = Box::new(kept);
        assert_eq!(boxed.tenant_of(&domain).await.unwrap(), Some(contoso));
        let key: Arc<dyn LinkKey> = Arc::new(HmacLinkKey::demo());
        let id = LinkId::from_bytes([5; 16]);
        assert_eq!(
            Box::new(key.clone()).token(&id).unwrap(),
            HmacLinkKey::demo().token(&id).unwrap()
        );
        let ids = Arc::new(SeededLinkIds::new(1));
        assert_ne!(ids.link_id().unwrap(), ids.link_id().unwrap());
    }
}
