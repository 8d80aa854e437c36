//! The world the service tests run in: a memory store, a manual clock,
//! seeded tokens, in-memory ports with a few tenants, partners and
//! locations, and a catalog of engagements; and helpers that keep each test
//! short.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unused_macros,
    unreachable_pub
)]

use async_trait::async_trait;
use chrono::{TimeDelta, TimeZone, Utc};
use mci_core::{
    AvailabilityWindow, Comment, Contacts, CustomerId, CustomerIdInput, CustomerIdType,
    DocumentKind, DocumentRef, Domain, Engagement, EngagementKind, EngagementRules, Hours, Instant,
    KnownCustomerRow, LinkToken, LocationId, Message, MessageKind, Money, Need, Nomination,
    NominationId, PageRow, PartnerId, PartnerUser, PayModel, ProofItem, ProofRequirement,
    ReviewerId, Role, SendConsent, SurveyKind, Tab, TenantId, Tpid,
};
use mci_core::{
    EngagementId, Event, KnownCustomer, MessageId, PayoutBatch, PayoutBatchId, Standing, TokenHash,
};
use mci_engagements::ports::{
    CustomerEligibility, HmacLinkKey, InMemoryPartnerDirectory, InMemoryTenantDirectory, LinkKey,
    ManualClock, OsLinkIds, PermissiveEligibility, PortError, SeededLinkIds, TenantDirectory,
};
use mci_engagements::{AddCustomer, CustomerRow, Incentives, PageCounts, PageCursor, Settings};
use mci_store::{
    AttentionCandidates, AttentionQuery, Commit, IdempotencyKey, IdempotentResult, KnownCounts,
    KnownPage, KnownQuery, KnownToCheck, Leased, Page, PageQuery, StateQuery, Store, StoreError,
    TabCounts,
};
use mci_store_memory::{MemoryStore, Snapshot};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::oneshot;

/// Asserts that a value matches a pattern, showing the value when not.
macro_rules! assert_matches {
    ($value:expr, $pattern:pat $(if $guard:expr)? $(,)?) => {
        match $value {
            $pattern $(if $guard)? => {}
            ref other => panic!(
                "expected {}, got {:?}",
                stringify!($pattern $(if $guard)?),
                other
            ),
        }
    };
}

/// The instant every world starts at: Monday 2026-03-02 09:00 UTC.
pub fn t0() -> Instant {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// `n` whole days.
pub fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

/// `n` euro cents.
pub fn eur(minor: i64) -> Money {
    Money::new(minor, "EUR".parse().unwrap())
}

/// Partner A, B and C.
pub const PARTNER_A: &str = "partner-a";
pub const PARTNER_B: &str = "partner-b";
pub const PARTNER_C: &str = "partner-c";

/// Partner A's locations: enrolled and eligible, not enrolled, enrolled but
/// not eligible for the workshop.
pub const LOC_A: &str = "1000001";
pub const LOC_A_UNENROLLED: &str = "1000002";
pub const LOC_A_NO_WORKSHOP: &str = "1000003";
/// Partner B's and C's enrolled locations.
pub const LOC_B: &str = "2000001";
pub const LOC_C: &str = "3000001";

/// Tenants of the directory.
pub const CONTOSO: &str = "0b7d3f6e-1c2a-4e5f-8a9b-0c1d2e3f4a5b";
pub const CONTOSO_EU: &str = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
pub const FABRIKAM: &str = "1c8e4a7f-2d3b-4f60-9bac-1d2e3f4a5b6c";
pub const BUECHER: &str = "2d9f5b80-3e4c-4071-8cbd-2e3f4a5b6c7d";
pub const NORTHWIND: &str = "3ea06c91-4f5d-4182-9dce-3f4a5b6c7d8e";
/// The TPID grouping Contoso's two tenants.
pub const CONTOSO_TPID: u64 = 7001;
/// Why Northwind is not eligible for the workshop.
pub const NORTHWIND_REASON: &str = "fewer than 50 licensed seats";
/// Why location LOC_A_NO_WORKSHOP is not eligible for the workshop.
pub const LOCATION_REASON: &str = "no Data & AI specialization";

pub fn partner(id: &str) -> PartnerId {
    id.parse().unwrap()
}

pub fn location(id: &str) -> LocationId {
    id.parse().unwrap()
}

pub fn tenant(id: &str) -> TenantId {
    id.parse().unwrap()
}

pub fn tpid(n: u64) -> Tpid {
    Tpid::new(n).unwrap()
}

/// An Incentives admin of `partner`.
pub fn admin(partner_id: &str) -> PartnerUser {
    PartnerUser::new(
        partner(partner_id),
        format!("admin@{partner_id}").parse().unwrap(),
        Role::IncentivesAdmin,
    )
}

/// An Incentives user (not admin) of `partner`.
pub fn user(partner_id: &str) -> PartnerUser {
    PartnerUser::new(
        partner(partner_id),
        format!("user@{partner_id}").parse().unwrap(),
        Role::IncentivesUser,
    )
}

/// A user of `partner` whose role may not act for the partner.
pub fn account_admin(partner_id: &str) -> PartnerUser {
    PartnerUser::new(
        partner(partner_id),
        format!("owner@{partner_id}").parse().unwrap(),
        Role::Other("Account admin".into()),
    )
}

pub fn reviewer() -> ReviewerId {
    "reviewer-1".parse().unwrap()
}

pub fn comment(text: &str) -> Comment {
    text.parse().unwrap()
}

pub fn contacts(name: &str, email: &str) -> Contacts {
    Contacts::one(name.parse().unwrap(), email.parse().unwrap())
}

pub fn hours(n: u32) -> Hours {
    Hours::new(n).unwrap()
}

/// A proof document reference.
pub fn document(name: &str) -> DocumentRef {
    DocumentRef::new(
        name.parse().unwrap(),
        "application/pdf".parse().unwrap(),
        48_213,
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
            .parse()
            .unwrap(),
    )
    .unwrap()
}

/// The `n`th Azure subscription: a customer the tenant directory is not
/// asked about.
pub fn subscription(n: u32) -> CustomerIdInput {
    CustomerIdInput::AzureSubscriptionId(
        format!("00000000-0000-4000-8000-{n:012x}").parse().unwrap(),
    )
}

/// The customer id a subscription input is keyed on.
pub fn subscription_id(n: u32) -> CustomerId {
    CustomerId::AzureSubscription(format!("00000000-0000-4000-8000-{n:012x}").parse().unwrap())
}

/// The `n`th MSX opportunity.
pub fn msx(n: u32) -> CustomerIdInput {
    CustomerIdInput::MsxOpportunityId(format!("7-OPP{n:06}").parse().unwrap())
}

/// A customer eligibility source that counts the questions asked of it:
/// one customer at a time, and many at once.
#[derive(Debug)]
pub struct CountingEligibility {
    inner: PermissiveEligibility,
    single: Arc<AtomicUsize>,
    batches: Arc<AtomicUsize>,
}

#[async_trait]
impl CustomerEligibility for CountingEligibility {
    async fn standing(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<mci_core::CustomerStanding, PortError> {
        self.single.fetch_add(1, Ordering::SeqCst);
        self.inner.standing(engagement, customer).await
    }

    async fn standings(
        &self,
        engagement: &EngagementId,
        customers: &[CustomerId],
    ) -> Result<Vec<mci_core::CustomerStanding>, PortError> {
        self.batches.fetch_add(1, Ordering::SeqCst);
        let mut answers = Vec::new();
        for customer in customers {
            answers.push(self.inner.standing(engagement, customer).await?);
        }
        Ok(answers)
    }
}

/// A tenant directory that counts the questions asked of it.
#[derive(Debug)]
pub struct CountingTenants {
    inner: InMemoryTenantDirectory,
    calls: Arc<AtomicUsize>,
}

#[async_trait]
impl TenantDirectory for CountingTenants {
    async fn tenant_of(&self, domain: &Domain) -> Result<Option<TenantId>, PortError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.tenant_of(domain).await
    }

    async fn tenant_owns(&self, tenant: &TenantId, domain: &Domain) -> Result<bool, PortError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.tenant_owns(tenant, domain).await
    }

    async fn tpid_owns(&self, tpid: &Tpid, domain: &Domain) -> Result<bool, PortError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.tpid_owns(tpid, domain).await
    }

    /// Not counted: the count is of the look-ups that resolve a customer
    /// (R-ADD-3, R-CLAIM-2), and this one only warns (R-LIST-5).
    async fn linked_ids(
        &self,
        customer: &mci_core::CustomerId,
    ) -> Result<Vec<mci_core::CustomerId>, PortError> {
        self.inner.linked_ids(customer).await
    }
}

/// Where the gate of a [`GatedStore`] holds a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// Before the next commit is written.
    Commit,
    /// After the next idempotency-key lookup was answered, before the
    /// answer is returned.
    KeyLookup,
}

type Gate = (Point, oneshot::Sender<()>, oneshot::Receiver<()>);

/// The memory store, with a gate that can hold one call until the test
/// releases it: a way to interleave two calls exactly.
pub struct GatedStore {
    inner: Arc<MemoryStore>,
    gate: std::sync::Mutex<Option<Gate>>,
    /// Every commit the service handed over and every message handed back,
    /// as `Debug` and JSON text: what a store ever sees (R-TOKEN-4).
    traffic: std::sync::Mutex<Vec<String>>,
}

impl GatedStore {
    fn record(&self, text: String) {
        self.traffic.lock().unwrap().push(text);
    }
    async fn pass(&self, point: Point) {
        let held = {
            let mut gate = self.gate.lock().unwrap();
            match gate.take() {
                Some(g) if g.0 == point => Some(g),
                other => {
                    *gate = other;
                    None
                }
            }
        };
        if let Some((_, arrived, release)) = held {
            arrived.send(()).expect("nobody waits for the gate");
            release.await.expect("the gate was never opened");
        }
    }
}

/// A commit held at the gate.
pub struct Held {
    arrived: oneshot::Receiver<()>,
    release: oneshot::Sender<()>,
}

impl Held {
    /// Waits until the held commit has reached the gate, then lets it
    /// through once `meanwhile` has run.
    pub async fn release_after<T>(self, meanwhile: impl Future<Output = T>) -> T {
        self.arrived.await.expect("no commit reached the gate");
        let value = meanwhile.await;
        self.release.send(()).expect("the held commit is gone");
        value
    }
}

#[async_trait]
impl Store for GatedStore {
    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        self.pass(Point::Commit).await;
        let mut seen = format!("{commit:?}");
        for write in &commit.writes {
            seen.push_str(&serde_json::to_string(&write.nomination).unwrap());
            seen.push_str(&serde_json::to_string(&write.event).unwrap());
            seen.push_str(&serde_json::to_string(&write.messages).unwrap());
        }
        if let Some(idempotency) = &commit.idempotency {
            seen.push_str(&idempotency.result);
        }
        self.record(seen);
        self.inner.commit(commit).await
    }
    async fn nomination(
        &self,
        partner: &PartnerId,
        id: &NominationId,
    ) -> Result<Option<Nomination>, StoreError> {
        self.inner.nomination(partner, id).await
    }
    async fn nomination_by_id(&self, id: &NominationId) -> Result<Option<Nomination>, StoreError> {
        self.inner.nomination_by_id(id).await
    }
    async fn nomination_by_link(&self, hash: &TokenHash) -> Result<Option<Nomination>, StoreError> {
        self.inner.nomination_by_link(hash).await
    }
    async fn standings(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<Vec<(PartnerId, Standing)>, StoreError> {
        self.inner.standings(engagement, customer).await
    }
    async fn rivals(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<Vec<Nomination>, StoreError> {
        self.inner.rivals(engagement, customer).await
    }
    async fn page(&self, query: &PageQuery) -> Result<Page, StoreError> {
        self.inner.page(query).await
    }
    async fn count(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> Result<TabCounts, StoreError> {
        self.inner.count(partner, engagement, now).await
    }
    async fn claims(
        &self,
        query: &mci_store::ClaimsQuery,
    ) -> Result<mci_store::ClaimsPage, StoreError> {
        self.inner.claims(query).await
    }
    async fn claim_counts(
        &self,
        scope: &mci_store::ClaimsScope,
        engagement: Option<&EngagementId>,
        now: Instant,
    ) -> Result<mci_store::ClaimCounts, StoreError> {
        self.inner.claim_counts(scope, engagement, now).await
    }
    async fn known_customers(
        &self,
        partner: &PartnerId,
        after: Option<&CustomerId>,
        limit: usize,
    ) -> Result<Vec<KnownCustomer>, StoreError> {
        self.inner.known_customers(partner, after, limit).await
    }
    async fn known_page(&self, query: &KnownQuery) -> Result<KnownPage, StoreError> {
        let page = self.inner.known_page(query).await?;
        self.record(format!("{page:?}"));
        Ok(page)
    }
    async fn known_counts(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> Result<KnownCounts, StoreError> {
        self.inner.known_counts(partner, engagement, now).await
    }
    async fn seed_known(
        &self,
        engagement: &EngagementId,
        now: Instant,
        limit: usize,
    ) -> Result<bool, StoreError> {
        self.inner.seed_known(engagement, now, limit).await
    }
    async fn known_to_check(
        &self,
        older_than: Instant,
        limit: usize,
    ) -> Result<Vec<KnownToCheck>, StoreError> {
        self.inner.known_to_check(older_than, limit).await
    }
    async fn by_state(&self, query: &StateQuery) -> Result<Page, StoreError> {
        self.inner.by_state(query).await
    }
    async fn lapsing(
        &self,
        partner: &PartnerId,
        now: Instant,
        until: Instant,
        limit: usize,
    ) -> Result<Vec<Nomination>, StoreError> {
        self.inner.lapsing(partner, now, until, limit).await
    }
    async fn attention(&self, query: &AttentionQuery) -> Result<AttentionCandidates, StoreError> {
        self.inner.attention(query).await
    }
    async fn history(&self, id: &NominationId) -> Result<Vec<Event>, StoreError> {
        self.inner.history(id).await
    }
    async fn due(
        &self,
        now: Instant,
        after: Option<mci_store::DueCursor>,
        limit: usize,
    ) -> Result<mci_store::Due, StoreError> {
        self.inner.due(now, after, limit).await
    }
    async fn take_messages(
        &self,
        now: Instant,
        lease_until: Instant,
        limit: usize,
    ) -> Result<Vec<Leased>, StoreError> {
        let leased = self.inner.take_messages(now, lease_until, limit).await?;
        for l in &leased {
            self.record(format!("{l:?}"));
            self.record(serde_json::to_string(&l.message).unwrap());
        }
        Ok(leased)
    }
    async fn acknowledge(&self, ids: &[MessageId]) -> Result<(), StoreError> {
        self.inner.acknowledge(ids).await
    }
    async fn idempotent_result(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotentResult>, StoreError> {
        let answer = self.inner.idempotent_result(key).await;
        self.pass(Point::KeyLookup).await;
        answer
    }
    async fn payout_batch(&self, id: &PayoutBatchId) -> Result<Option<PayoutBatch>, StoreError> {
        self.inner.payout_batch(id).await
    }
    async fn payout_batches(
        &self,
        after: Option<&PayoutBatchId>,
        limit: usize,
    ) -> Result<Vec<PayoutBatch>, StoreError> {
        self.inner.payout_batches(after, limit).await
    }
    async fn setting(
        &self,
        key: &mci_store::SettingKey,
    ) -> Result<Option<mci_store::SettingValue>, StoreError> {
        self.inner.setting(key).await
    }
    async fn put_setting(
        &self,
        key: &mci_store::SettingKey,
        value: &mci_store::SettingValue,
        condition: &mci_store::SettingCondition,
    ) -> Result<(), StoreError> {
        self.inner.put_setting(key, value, condition).await
    }
}

fn window(from: Instant, to: Instant) -> AvailabilityWindow {
    AvailabilityWindow::new(from, to).unwrap()
}

fn engagement(
    id: &str,
    name: &str,
    area: &str,
    window: AvailabilityWindow,
    rules: EngagementRules,
) -> Engagement {
    Engagement::new(
        id.parse().unwrap(),
        name.parse().unwrap(),
        area.parse().unwrap(),
        window,
        rules,
    )
}

/// The service, its store, its clock, and the catalog.
pub struct World {
    pub service: Arc<Incentives>,
    pub store: Arc<MemoryStore>,
    gated: Arc<GatedStore>,
    pub clock: Arc<ManualClock>,
    /// The key the service derives link tokens with (the demo key).
    pub link_key: HmacLinkKey,
    tenant_lookups: Arc<AtomicUsize>,
    eligibility_questions: (Arc<AtomicUsize>, Arc<AtomicUsize>),
    /// A workshop (90/120 days), fixed 7,500.00 EUR, two live nominations
    /// per customer, so that two partners can race for one consent.
    pub workshop: Engagement,
    /// An assessment (60/90 days), fixed 3,000.00 EUR, the default limit
    /// of one live nomination per customer.
    pub assessment: Engagement,
    /// A variable-pay medium project: 150.00 EUR an hour, capped at
    /// 30,000.00 EUR, at most 400 hours.
    pub variable: Engagement,
    /// A security workshop in another solution area: no domain ids, and
    /// the surveys only "if applicable".
    pub security: Engagement,
    /// A workshop that starts in ten days.
    pub coming_soon: Engagement,
    /// A workshop that ended yesterday.
    pub expired: Engagement,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// The world with default settings and seeded tokens.
    pub fn new() -> Self {
        Self::build(Settings::default(), false)
    }

    /// The world with `settings`.
    pub fn with_settings(settings: Settings) -> Self {
        Self::build(settings, false)
    }

    /// The world drawing tokens from the operating system.
    pub fn with_os_tokens() -> Self {
        Self::build(Settings::default(), true)
    }

    fn build(settings: Settings, os_tokens: bool) -> Self {
        let start = t0();
        let open = window(start - days(30), start + days(400));
        let workshop = engagement(
            "ai-workshop",
            "AI workshop",
            "Data & AI",
            open,
            EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(750_000)))
                .active_nomination_limit(2)
                .build()
                .unwrap(),
        );
        let assessment = engagement(
            "ai-assessment",
            "AI assessment",
            "Data & AI",
            open,
            EngagementRules::builder(EngagementKind::Assessment, PayModel::fixed(eur(300_000)))
                .build()
                .unwrap(),
        );
        let variable = engagement(
            "migration-project",
            "Migration project",
            "Infrastructure",
            open,
            EngagementRules::builder(
                EngagementKind::MediumProject,
                PayModel::variable(eur(15_000), eur(3_000_000), hours(400)),
            )
            .build()
            .unwrap(),
        );
        let security = engagement(
            "security-workshop",
            "Security workshop",
            "Security",
            open,
            EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(500_000)))
                .accepted_id_types([
                    CustomerIdType::TenantId,
                    CustomerIdType::Tpid,
                    CustomerIdType::AzureSubscriptionId,
                ])
                .proof([
                    ProofRequirement {
                        item: ProofItem::ProofOfExecution,
                        need: Need::Required,
                    },
                    ProofRequirement {
                        item: ProofItem::Invoice,
                        need: Need::Required,
                    },
                    ProofRequirement {
                        item: ProofItem::PartnerSurvey,
                        need: Need::IfApplicable,
                    },
                    ProofRequirement {
                        item: ProofItem::CustomerSurvey,
                        need: Need::IfApplicable,
                    },
                ])
                .build()
                .unwrap(),
        );
        let fixed_workshop = || {
            EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(750_000)))
                .build()
                .unwrap()
        };
        let coming_soon = engagement(
            "future-workshop",
            "Future workshop",
            "Data & AI",
            window(start + days(10), start + days(400)),
            fixed_workshop(),
        );
        let expired = engagement(
            "past-workshop",
            "Past workshop",
            "Data & AI",
            window(start - days(400), start - days(1)),
            fixed_workshop(),
        );

        let tenants = InMemoryTenantDirectory::builder()
            .tenant(
                tenant(CONTOSO),
                [
                    "contoso.example".parse().unwrap(),
                    "contoso-mail.example".parse().unwrap(),
                ],
            )
            .tenant(tenant(CONTOSO_EU), ["contoso.eu.example".parse().unwrap()])
            .tenant(tenant(FABRIKAM), ["fabrikam.example".parse().unwrap()])
            .tenant(tenant(BUECHER), ["bücher.example".parse().unwrap()])
            .tenant(tenant(NORTHWIND), ["northwind.example".parse().unwrap()])
            .tpid(tpid(CONTOSO_TPID), [tenant(CONTOSO), tenant(CONTOSO_EU)])
            .build();
        let tenant_lookups = Arc::new(AtomicUsize::new(0));
        let eligibility_questions = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let eligibility = PermissiveEligibility::new().ineligible(
            workshop.id().clone(),
            CustomerId::Tenant(tenant(NORTHWIND)),
            NORTHWIND_REASON,
        );
        let partners = InMemoryPartnerDirectory::builder()
            .enrolled(partner(PARTNER_A), location(LOC_A))
            .location(partner(PARTNER_A), location(LOC_A_UNENROLLED), false)
            .enrolled(partner(PARTNER_A), location(LOC_A_NO_WORKSHOP))
            .ineligible(
                location(LOC_A_NO_WORKSHOP),
                workshop.id().clone(),
                LOCATION_REASON,
            )
            .enrolled(partner(PARTNER_B), location(LOC_B))
            .enrolled(partner(PARTNER_C), location(LOC_C))
            .build();
        let store = Arc::new(MemoryStore::new());
        let gated = Arc::new(GatedStore {
            inner: store.clone(),
            gate: std::sync::Mutex::new(None),
            traffic: std::sync::Mutex::new(Vec::new()),
        });
        let clock = Arc::new(ManualClock::new(start));
        let link_key = HmacLinkKey::demo();
        let mut builder = Incentives::builder(gated.clone(), link_key.clone())
            .tenant_directory(CountingTenants {
                inner: tenants,
                calls: tenant_lookups.clone(),
            })
            .customer_eligibility(CountingEligibility {
                inner: eligibility,
                single: eligibility_questions.0.clone(),
                batches: eligibility_questions.1.clone(),
            })
            .partner_directory(partners)
            .clock(clock.clone())
            .settings(settings);
        builder = if os_tokens {
            builder.link_ids(OsLinkIds)
        } else {
            builder.link_ids(SeededLinkIds::new(2026))
        };
        for e in [
            &workshop,
            &assessment,
            &variable,
            &security,
            &coming_soon,
            &expired,
        ] {
            builder = builder.engagement(e.clone());
        }
        Self {
            service: Arc::new(builder.build()),
            store,
            gated,
            clock,
            link_key,
            tenant_lookups,
            eligibility_questions,
            workshop,
            assessment,
            variable,
            security,
            coming_soon,
            expired,
        }
    }

    // --- time -----------------------------------------------------------

    pub fn now(&self) -> Instant {
        self.service.now().unwrap()
    }

    pub fn advance(&self, delta: TimeDelta) {
        self.clock.advance(delta).unwrap();
    }

    pub fn advance_days(&self, n: i64) {
        self.clock.advance(days(n)).unwrap();
    }

    pub fn set(&self, now: Instant) {
        self.clock.set(now);
    }

    // --- the store ------------------------------------------------------

    pub fn snapshot(&self) -> Snapshot {
        self.store.snapshot()
    }

    /// Holds the next commit at the gate: it waits there until the
    /// returned [`Held`] lets it through.
    pub fn hold_next_commit(&self) -> Held {
        self.hold_next(Point::Commit)
    }

    /// Holds the next call that reaches `point`.
    pub fn hold_next(&self, point: Point) -> Held {
        let (arrived_tx, arrived_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        *self.gated.gate.lock().unwrap() = Some((point, arrived_tx, release_rx));
        Held {
            arrived: arrived_rx,
            release: release_tx,
        }
    }

    /// Everything the service handed to the store in commits and the store
    /// handed back as outbox messages, as text (`Debug` and JSON).
    pub fn store_traffic(&self) -> Vec<String> {
        self.gated.traffic.lock().unwrap().clone()
    }

    /// How many times the eligibility source was asked about one customer,
    /// and about many at once, since the world was made.
    pub fn eligibility_questions(&self) -> (usize, usize) {
        (
            self.eligibility_questions.0.load(Ordering::SeqCst),
            self.eligibility_questions.1.load(Ordering::SeqCst),
        )
    }

    /// How many questions the tenant directory was asked.
    pub fn tenant_lookups(&self) -> usize {
        self.tenant_lookups.load(Ordering::SeqCst)
    }

    /// Runs a call that must be refused, and checks that it left the store
    /// exactly as it was. Returns the error.
    pub async fn refused<T: std::fmt::Debug>(
        &self,
        call: impl Future<Output = mci_engagements::Result<T>>,
    ) -> mci_engagements::Error {
        let before = self.snapshot();
        let result = call.await;
        let after = self.snapshot();
        let error = match result {
            Ok(value) => panic!("expected a refusal, got {value:?}"),
            Err(error) => error,
        };
        assert!(
            before == after,
            "the refused call ({error}) changed the store"
        );
        error
    }

    /// Runs a call that must succeed without writing anything.
    pub async fn unchanged<T>(&self, call: impl Future<Output = mci_engagements::Result<T>>) -> T {
        let before = self.snapshot();
        let result = call.await;
        let after = self.snapshot();
        let value = match result {
            Ok(value) => value,
            Err(error) => panic!("expected success, got {error:?}"),
        };
        assert!(before == after, "the call changed the store");
        value
    }

    /// The stored nomination, as the store holds it (not lapsed lazily).
    pub fn stored(&self, id: &NominationId) -> Nomination {
        self.snapshot()
            .nominations
            .into_iter()
            .find(|n| n.id() == id)
            .expect("no such nomination in the store")
    }

    /// The nomination as the service reads it now.
    pub async fn read(&self, id: &NominationId) -> Nomination {
        self.service.claim_for_review(id).await.unwrap()
    }

    /// The reviewer takes the submitted claim `id` into review and approves
    /// it, each decision citing the head it read (R-LIST-4).
    pub async fn review_and_approve(&self, id: &NominationId) {
        self.service
            .start_review(reviewer(), id, self.seen(id).await)
            .await
            .unwrap();
        self.service
            .approve(reviewer(), id, self.seen(id).await)
            .await
            .unwrap();
    }

    /// The hash of the nomination's last event as the reviewer reads it
    /// now: what a reviewer's decision cites (R-LIST-4).
    pub async fn seen(&self, id: &NominationId) -> mci_core::Sha256Digest {
        self.read(id).await.head().expect("a chained history").hash
    }

    // --- the outbox -----------------------------------------------------

    /// Every message queued for `id`, in queue order.
    pub fn messages(&self, id: &NominationId) -> Vec<Message> {
        self.snapshot()
            .outbox
            .into_iter()
            .map(|(message, _, _)| message)
            .filter(|m| &m.nomination == id)
            .collect()
    }

    /// The token of the latest consent email or reminder queued for `id`,
    /// derived from its link id with the link key as a sender would.
    pub fn consent_token(&self, id: &NominationId) -> LinkToken {
        let link = self
            .messages(id)
            .into_iter()
            .rev()
            .find_map(|m| match m.kind {
                MessageKind::ConsentRequest { link, .. }
                | MessageKind::ConsentReminder { link, .. } => Some(link),
                _ => None,
            })
            .expect("no consent email queued");
        self.link_key.token(&link).unwrap()
    }

    /// The token of the latest `survey` email queued for `id`.
    pub fn survey_token(&self, id: &NominationId, survey: SurveyKind) -> LinkToken {
        let link = self
            .messages(id)
            .into_iter()
            .rev()
            .find_map(|m| match m.kind {
                MessageKind::Survey { survey: s, link } if s == survey => Some(link),
                _ => None,
            })
            .expect("no survey email queued");
        self.link_key.token(&link).unwrap()
    }

    // --- forms ----------------------------------------------------------

    /// An add form for `user`'s partner from its eligible location.
    pub fn form(
        &self,
        user: &PartnerUser,
        email: &str,
        customer: CustomerIdInput,
        engagements: &[&Engagement],
    ) -> AddCustomer {
        let location = match user.partner().as_str() {
            PARTNER_A => LOC_A,
            PARTNER_B => LOC_B,
            _ => LOC_C,
        };
        AddCustomer {
            friendly_name: format!("{} with {email}", user.partner()).parse().unwrap(),
            location: location.parse().unwrap(),
            customer_id: customer,
            customer_email: email.parse().unwrap(),
            mismatch_reason: None,
            engagements: engagements.iter().map(|e| e.id().clone()).collect(),
            customer_contacts: contacts("Carla Customer", email),
            partner_contacts: contacts("Ada Partner", &format!("ada@{}.example", user.partner())),
            hours: None,
        }
    }

    // --- steps ----------------------------------------------------------

    /// Adds the customer to one engagement; the new nomination's id.
    pub async fn add(
        &self,
        user: &PartnerUser,
        email: &str,
        customer: CustomerIdInput,
        engagement: &Engagement,
    ) -> NominationId {
        let form = self.form(user, email, customer, &[engagement]);
        let added = self.service.add_customer(user, &form).await.unwrap();
        *added.nominations[0].id()
    }

    /// Adds the `n`th subscription customer to one engagement.
    pub async fn add_subscription(
        &self,
        user: &PartnerUser,
        n: u32,
        engagement: &Engagement,
    ) -> NominationId {
        self.add(
            user,
            &format!("it@customer{n}.example"),
            subscription(n),
            engagement,
        )
        .await
    }

    /// Sends the consent email; the token of its link.
    pub async fn send_consent(&self, user: &PartnerUser, id: &NominationId) -> LinkToken {
        self.service
            .send_consent(user, id, SendConsent::default())
            .await
            .unwrap();
        self.consent_token(id)
    }

    /// Adds the customer, asks for consent and has it accepted now.
    pub async fn consented(
        &self,
        user: &PartnerUser,
        email: &str,
        customer: CustomerIdInput,
        engagement: &Engagement,
    ) -> NominationId {
        let id = self.add(user, email, customer, engagement).await;
        let token = self.send_consent(user, &id).await;
        self.service.accept_consent(&token).await.unwrap();
        id
    }

    /// The `n`th subscription customer, consented now.
    pub async fn consented_subscription(
        &self,
        user: &PartnerUser,
        n: u32,
        engagement: &Engagement,
    ) -> NominationId {
        self.consented(
            user,
            &format!("it@customer{n}.example"),
            subscription(n),
            engagement,
        )
        .await
    }

    /// Sends `survey` and has it completed through its link.
    pub async fn complete_survey(&self, user: &PartnerUser, id: &NominationId, survey: SurveyKind) {
        self.service.send_survey(user, id, survey).await.unwrap();
        let token = self.survey_token(id, survey);
        self.service.complete_survey(&token).await.unwrap();
    }

    /// Provides every proof item of the default list.
    pub async fn prove(&self, user: &PartnerUser, id: &NominationId) {
        self.service
            .attach_document(
                user,
                id,
                DocumentKind::ProofOfExecution,
                document("discovery.pdf"),
            )
            .await
            .unwrap();
        self.service
            .attach_document(user, id, DocumentKind::Invoice, document("invoice.pdf"))
            .await
            .unwrap();
        self.complete_survey(user, id, SurveyKind::Partner).await;
        self.complete_survey(user, id, SurveyKind::Customer).await;
    }

    /// The `n`th subscription customer, consented, proved and submitted now.
    pub async fn submitted_subscription(
        &self,
        user: &PartnerUser,
        n: u32,
        engagement: &Engagement,
    ) -> NominationId {
        let id = self.consented_subscription(user, n, engagement).await;
        self.prove(user, &id).await;
        self.service.submit(user, &id).await.unwrap();
        id
    }

    /// The same, taken into review and approved.
    pub async fn approved_subscription(
        &self,
        user: &PartnerUser,
        n: u32,
        engagement: &Engagement,
    ) -> NominationId {
        let id = self.submitted_subscription(user, n, engagement).await;
        self.review_and_approve(&id).await;
        id
    }

    /// The same, taken into review and rejected.
    pub async fn rejected_subscription(
        &self,
        user: &PartnerUser,
        n: u32,
        engagement: &Engagement,
    ) -> NominationId {
        let id = self.submitted_subscription(user, n, engagement).await;
        self.service
            .start_review(reviewer(), &id, self.seen(&id).await)
            .await
            .unwrap();
        self.service
            .reject(
                reviewer(),
                &id,
                self.seen(&id).await,
                comment("the invoice does not match"),
            )
            .await
            .unwrap();
        id
    }

    // --- the page -------------------------------------------------------

    /// Every row of a tab, walked page by page with `limit`, and the
    /// counts of the first page.
    pub async fn walk(
        &self,
        user: &PartnerUser,
        engagement: &Engagement,
        tab: Tab,
        limit: usize,
    ) -> (Vec<CustomerRow>, PageCounts) {
        let mut rows = Vec::new();
        let mut cursor: Option<PageCursor> = None;
        let mut counts = None;
        for _ in 0..1000 {
            let page = self
                .service
                .customers_page(user, engagement.id(), tab, cursor.clone(), limit)
                .await
                .unwrap();
            assert_eq!(page.tab, tab);
            assert!(page.rows.len() <= limit, "a page holds at most its limit");
            counts.get_or_insert(page.counts);
            rows.extend(page.rows);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return (rows, counts.unwrap_or_default()),
            }
        }
        panic!("the pages never ended");
    }

    /// The nomination rows of a tab.
    pub async fn nomination_rows(
        &self,
        user: &PartnerUser,
        engagement: &Engagement,
        tab: Tab,
    ) -> Vec<PageRow> {
        self.walk(user, engagement, tab, 50)
            .await
            .0
            .into_iter()
            .filter_map(|row| match row {
                CustomerRow::Nomination(row) => Some(row),
                CustomerRow::Known(_) => None,
            })
            .collect()
    }

    /// The known-customer rows of a tab.
    pub async fn known_rows(
        &self,
        user: &PartnerUser,
        engagement: &Engagement,
        tab: Tab,
    ) -> Vec<KnownCustomerRow> {
        self.walk(user, engagement, tab, 50)
            .await
            .0
            .into_iter()
            .filter_map(|row| match row {
                CustomerRow::Known(row) => Some(row),
                CustomerRow::Nomination(_) => None,
            })
            .collect()
    }

    /// The row of nomination `id` and the tab it is in, if it is on the
    /// page.
    pub async fn row(
        &self,
        user: &PartnerUser,
        engagement: &Engagement,
        id: &NominationId,
    ) -> Option<PageRow> {
        for tab in Tab::ALL {
            if let Some(row) = self
                .nomination_rows(user, engagement, tab)
                .await
                .into_iter()
                .find(|row| &row.nomination == id)
            {
                assert_eq!(row.tab, tab);
                return Some(row);
            }
        }
        None
    }
}

/// The whole story of the observability tests; after the macros it uses.
pub mod story;
