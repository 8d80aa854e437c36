//! The service: its parts, how it is built, and how one command runs.

use crate::error::{Error, Result};
use crate::ports::{
    Clock, CustomerEligibility, InMemoryPartnerDirectory, InMemoryTenantDirectory, LinkIdSource,
    LinkKey, OsLinkIds, PartnerDirectory, SystemClock, TenantDirectory,
};
use chrono::TimeDelta;
use mci_core::{
    Days, Engagement, EngagementId, FreshLink, Instant, LinkId, LinkToken, Nomination,
    NominationId, PartnerId, PayoutCycle, Refusal, Step, TokenHash, check_instant,
    truncate_to_micros,
};
use mci_store::{Commit, Fingerprint, IdempotencyKey, Store, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};

/// Settings of the service, with defaults that work out of the box.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How many times a command is retried when the nomination changed
    /// under it (R-REC-4), or, for an acceptance of consent, when another
    /// partner's nomination of the customer appeared while it was decided
    /// (R-CONSENT-10). Default 8.
    pub retries: u32,
    /// How many nominations the sweep reads per batch (R-TIME-4). Default 256.
    pub sweep_batch: usize,
    /// How far ahead the "action needed" list looks for deadlines
    /// (R-ENG-7). Default 7 days.
    pub action_horizon: Days,
    /// The first instant of payout cycle 0 (R-CLAIM-W-9).
    pub payout_epoch: Instant,
    /// The length of a payout cycle. Default 45 days.
    pub payout_period: Days,
    /// How long an answer of the customer eligibility source about a known
    /// customer is trusted on the Customers page (R-PAGE-9); after that the
    /// customer shows as "eligibility not checked yet". Default 24 hours.
    pub eligibility_trust: TimeDelta,
    /// How old a kept answer may grow before the sweep asks the source
    /// again (R-PAGE-9). Keep it well under `eligibility_trust`, so that
    /// a sweep that runs at least this often keeps every answer trusted.
    /// Default 12 hours.
    pub eligibility_refresh: TimeDelta,
    /// How many customers the sweep asks the source about at once.
    /// Default 256.
    pub eligibility_batch: usize,
    /// The most answers one sweep asks for, so that a sweep stays short
    /// when many are due (the next sweep goes on). Default 8192.
    pub eligibility_per_sweep: usize,
    /// How many rows an export reads and writes at a time, one store read
    /// each (R-LIST-2): what bounds its memory. Default 1000.
    pub export_chunk: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            retries: 8,
            sweep_batch: 256,
            action_horizon: Days::new(7),
            payout_epoch: chrono::DateTime::UNIX_EPOCH,
            payout_period: PayoutCycle::DEFAULT_PERIOD,
            eligibility_trust: TimeDelta::hours(24),
            eligibility_refresh: TimeDelta::hours(12),
            eligibility_batch: 256,
            eligibility_per_sweep: 8192,
            export_chunk: 1000,
        }
    }
}

/// The service applications embed: it checks who acts, loads what a
/// decision needs, asks `mci-core`, and commits through the store, retrying a
/// retryable conflict a bounded number of times.
pub struct Incentives {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) tenants: Arc<dyn TenantDirectory>,
    pub(crate) eligibility: Arc<dyn CustomerEligibility>,
    pub(crate) partners: Arc<dyn PartnerDirectory>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) link_ids: Arc<dyn LinkIdSource>,
    pub(crate) link_key: Arc<dyn LinkKey>,
    /// The catalog. Shared, so that a command takes an engagement it
    /// decides on without copying its rules.
    pub(crate) engagements: RwLock<BTreeMap<EngagementId, Arc<Engagement>>>,
    pub(crate) settings: Settings,
    /// The engagements this service has seen the store give every known
    /// customer a row for (R-PAGE-9): pages of the others take one
    /// bounded seeding step first.
    pub(crate) seeded: Mutex<BTreeSet<EngagementId>>,
    pub(crate) ids: IdMaker,
}

impl std::fmt::Debug for Incentives {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incentives")
            .field("engagements", &self.engagement_ids())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Incentives`]: the store, the link key and the customer
/// eligibility source are required; each other port defaults to an empty
/// in-memory one, the clock to the system clock and link ids to the
/// operating system's random source.
///
/// The eligibility source has no default, because a permissive one would
/// let every customer be added in production (R-ADD-5): until
/// [`customer_eligibility`](IncentivesBuilder::customer_eligibility) is
/// called the builder's type is `IncentivesBuilder<NoEligibilitySource>`,
/// which has no `build`, so forgetting it is a compile-time error:
///
/// ```compile_fail,E0277
/// # use std::sync::Arc;
/// # use mci_engagements::{Incentives, ports::HmacLinkKey};
/// # use mci_store_memory::MemoryStore;
/// // error: the service needs a customer eligibility source (R-ADD-5)
/// let service = Incentives::builder(Arc::new(MemoryStore::new()), HmacLinkKey::demo()).build();
/// ```
///
/// Tests and demos that want every customer eligible say so with
/// [`PermissiveEligibility`](crate::ports::PermissiveEligibility):
///
/// ```
/// # use std::sync::Arc;
/// # use mci_engagements::{Incentives, ports::{HmacLinkKey, PermissiveEligibility}};
/// # use mci_store_memory::MemoryStore;
/// let service = Incentives::builder(Arc::new(MemoryStore::new()), HmacLinkKey::demo())
///     .customer_eligibility(PermissiveEligibility::new())
///     .build();
/// ```
#[must_use]
pub struct IncentivesBuilder<Eligibility = NoEligibilitySource> {
    store: Arc<dyn Store>,
    tenants: Arc<dyn TenantDirectory>,
    eligibility: Eligibility,
    partners: Arc<dyn PartnerDirectory>,
    clock: Arc<dyn Clock>,
    link_ids: Arc<dyn LinkIdSource>,
    link_key: Arc<dyn LinkKey>,
    engagements: Vec<Engagement>,
    settings: Settings,
}

/// The state of an [`IncentivesBuilder`] not yet given its customer
/// eligibility source: it cannot build (R-ADD-5).
#[derive(Debug, Clone, Copy)]
pub struct NoEligibilitySource;

/// The state of an [`IncentivesBuilder`] given its customer eligibility
/// source: it can build.
#[derive(Clone)]
pub struct WithEligibilitySource(Arc<dyn CustomerEligibility>);

impl std::fmt::Debug for WithEligibilitySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WithEligibilitySource")
    }
}

/// What [`IncentivesBuilder::build`] needs: a customer eligibility source.
#[diagnostic::on_unimplemented(
    message = "the service needs a customer eligibility source (R-ADD-5)",
    label = "call `.customer_eligibility(..)` before `.build()`",
    note = "`PermissiveEligibility` makes every customer eligible: for tests and demos only"
)]
pub trait HasEligibilitySource: sealed::Sealed {
    #[doc(hidden)]
    fn into_port(self) -> Arc<dyn CustomerEligibility>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::WithEligibilitySource {}
}

impl HasEligibilitySource for WithEligibilitySource {
    fn into_port(self) -> Arc<dyn CustomerEligibility> {
        self.0
    }
}

impl<E> IncentivesBuilder<E> {
    /// The tenant directory (R-ADD-3, R-ADD-4).
    pub fn tenant_directory(mut self, port: impl TenantDirectory + 'static) -> Self {
        self.tenants = Arc::new(port);
        self
    }

    /// The customer eligibility source (R-ADD-5): the program's, in
    /// production. Required: the builder cannot build without it.
    pub fn customer_eligibility(
        self,
        port: impl CustomerEligibility + 'static,
    ) -> IncentivesBuilder<WithEligibilitySource> {
        IncentivesBuilder {
            store: self.store,
            tenants: self.tenants,
            eligibility: WithEligibilitySource(Arc::new(port)),
            partners: self.partners,
            clock: self.clock,
            link_ids: self.link_ids,
            link_key: self.link_key,
            engagements: self.engagements,
            settings: self.settings,
        }
    }

    /// The partner directory (R-ADD-2).
    pub fn partner_directory(mut self, port: impl PartnerDirectory + 'static) -> Self {
        self.partners = Arc::new(port);
        self
    }

    /// The clock (R-TIME-1). Share an `Arc<ManualClock>` to move time in
    /// tests.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The source of link ids (R-TOKEN-1): the operating system's secure
    /// random source unless replaced (by seeded ids, in tests).
    pub fn link_ids(mut self, link_ids: impl LinkIdSource + 'static) -> Self {
        self.link_ids = Arc::new(link_ids);
        self
    }

    /// An engagement of the catalog.
    pub fn engagement(mut self, engagement: Engagement) -> Self {
        self.engagements.push(engagement);
        self
    }

    /// Settings other than the defaults.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// The service, once the customer eligibility source is given.
    pub fn build(self) -> Incentives
    where
        E: HasEligibilitySource,
    {
        Incentives {
            store: Arc::new(mci_store::observe::Observed::new(self.store)),
            tenants: self.tenants,
            eligibility: self.eligibility.into_port(),
            partners: self.partners,
            clock: self.clock,
            link_ids: self.link_ids,
            link_key: self.link_key,
            engagements: RwLock::new(
                self.engagements
                    .into_iter()
                    .map(|e| (e.id().clone(), Arc::new(e)))
                    .collect(),
            ),
            settings: self.settings,
            seeded: Mutex::new(BTreeSet::new()),
            ids: IdMaker::default(),
        }
    }
}

/// Where a command finds its nomination.
pub(crate) enum Target<'a> {
    /// A partner's own nomination (R-ROLE-2).
    Partner(&'a PartnerId, &'a NominationId),
    /// Any nomination: reviewers and the system.
    Any(&'a NominationId),
    /// The nomination holding a live link (R-TOKEN-2).
    Link(TokenHash),
}

impl Incentives {
    /// A builder over `store`, with the key that derives link tokens from
    /// link ids (R-TOKEN-4): keep it outside the database, as
    /// [`LinkKey`] says. Until replaced, the other ports are:
    ///
    /// - tenant directory: empty, so every email-only add is refused as
    ///   having no tenant (R-ADD-3);
    /// - partner directory: empty, so every location is refused as not the
    ///   partner's (R-ADD-2);
    /// - customer eligibility: none, and the builder cannot build until
    ///   it is given one (R-ADD-5; see [`IncentivesBuilder`]);
    /// - clock: the system clock; link ids: the operating system's secure
    ///   random source (R-TOKEN-1);
    /// - no engagement in the catalog.
    pub fn builder(store: Arc<dyn Store>, link_key: impl LinkKey + 'static) -> IncentivesBuilder {
        IncentivesBuilder {
            store,
            tenants: Arc::new(InMemoryTenantDirectory::default()),
            eligibility: NoEligibilitySource,
            partners: Arc::new(InMemoryPartnerDirectory::default()),
            clock: Arc::new(SystemClock),
            link_ids: Arc::new(OsLinkIds),
            link_key: Arc::new(link_key),
            engagements: Vec::new(),
            settings: Settings::default(),
        }
    }

    /// The store the service writes to, as it observes it: each operation
    /// a `store.<method>` span, measured
    /// ([`Observed`](mci_store::observe::Observed)).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The current instant: the clock port's reading, truncated to the
    /// microsecond so that every store keeps exactly the instant decided at
    /// (R-INPUT). A reading outside the accepted range (1970 to 2200) is a
    /// typed error naming the field `clock`, never clamped: the call that
    /// asked changes nothing.
    pub fn now(&self) -> Result<Instant> {
        Ok(check_instant(
            "clock",
            truncate_to_micros(self.clock.now()),
        )?)
    }

    /// Adds an engagement to the catalog, or replaces its rules. Existing
    /// nominations keep the rules they pinned (R-ENG-8).
    pub fn publish_engagement(&self, engagement: Engagement) {
        let mut catalog = self.engagements.write().unwrap_or_else(|p| p.into_inner());
        catalog.insert(engagement.id().clone(), Arc::new(engagement));
    }

    /// An engagement of the catalog.
    pub fn engagement(&self, id: &EngagementId) -> Result<Engagement> {
        self.shared_engagement(id).map(Arc::unwrap_or_clone)
    }

    /// An engagement of the catalog, shared with it: what commands decide
    /// on, without a copy.
    pub(crate) fn shared_engagement(&self, id: &EngagementId) -> Result<Arc<Engagement>> {
        self.engagements
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| Error::UnknownEngagement(id.clone()))
    }

    /// The kept form of the eligibility source's `answer` about a customer
    /// identified by `id_type` for `engagement`, asked at `now` (R-PAGE-9).
    pub(crate) fn kept_answer(
        &self,
        engagement: &Engagement,
        id_type: mci_core::CustomerIdType,
        answer: &mci_core::CustomerStanding,
        now: Instant,
    ) -> Result<mci_core::KeptAnswer> {
        Ok(mci_core::KeptAnswer::new(
            engagement,
            id_type,
            answer,
            now,
            self.trusted_until(now)?,
        ))
    }

    /// Until when an answer given at `now` is trusted.
    pub(crate) fn trusted_until(&self, now: Instant) -> Result<Instant> {
        Ok(now
            .checked_add_signed(self.settings.eligibility_trust)
            .map(truncate_to_micros)
            .ok_or_else(|| {
                mci_core::InvalidValue::new("eligibility_trust", mci_core::Problem::Overflow)
            })?)
    }

    /// The eligibility source's answers about `customers` for
    /// `engagement`, one per customer in order, asked at once.
    pub(crate) async fn eligibility_of(
        &self,
        engagement: &EngagementId,
        customers: &[mci_core::CustomerId],
    ) -> Result<Vec<mci_core::CustomerStanding>> {
        let answers = self.eligibility.standings(engagement, customers).await?;
        if answers.len() != customers.len() {
            return Err(crate::ports::PortError::permanent(
                "customer eligibility",
                std::io::Error::other(format!(
                    "{} answers to {} questions",
                    answers.len(),
                    customers.len()
                )),
            )
            .into());
        }
        Ok(answers)
    }

    /// One bounded step of giving every known customer of every partner a
    /// row on `engagement`'s pages, unless the store said it is done
    /// (R-PAGE-9): the sweep takes the rest.
    pub(crate) async fn seed_step(&self, engagement: &EngagementId, now: Instant) -> Result<()> {
        let done = |seeded: &Mutex<BTreeSet<EngagementId>>| {
            seeded
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(engagement)
        };
        if done(&self.seeded) {
            return Ok(());
        }
        let batch = self.settings.eligibility_batch.max(1);
        if self.store.seed_known(engagement, now, batch).await? {
            self.seeded
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(engagement.clone());
        }
        Ok(())
    }

    /// Every engagement of the catalog, in id order.
    pub fn engagements(&self) -> Vec<Engagement> {
        self.engagements
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|e| Engagement::clone(e))
            .collect()
    }

    fn engagement_ids(&self) -> Vec<EngagementId> {
        self.engagements
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// A new link to send: a fresh id and the hash of the token the link
    /// key derives from it (R-TOKEN-1, R-TOKEN-4). The token is dropped
    /// here; the sender derives it again from the message's link id.
    pub(crate) fn fresh_link(&self) -> Result<FreshLink> {
        let id = self.link_ids.link_id()?;
        Ok(FreshLink::new(id, &self.link_token(&id)?))
    }

    /// The token of link `id`, derived with the link key (R-TOKEN-4).
    pub(crate) fn link_token(&self, id: &LinkId) -> Result<LinkToken> {
        Ok(self.link_key.token(id)?)
    }

    pub(crate) async fn load(&self, target: &Target<'_>) -> Result<Nomination> {
        let found = match target {
            Target::Partner(partner, id) => self.store.nomination(partner, id).await?,
            Target::Any(id) => self.store.nomination_by_id(id).await?,
            Target::Link(hash) => self.store.nomination_by_link(hash).await?,
        };
        found.ok_or(match target {
            Target::Link(_) => Error::Refused(Refusal::InvalidLink),
            _ => Error::Refused(Refusal::NotFound),
        })
    }

    /// The result recorded for `keyed`'s key, if the command already ran
    /// (R-REC-5). A key first used with another command (another
    /// fingerprint) is [`Error::IdempotencyKeyMismatch`], whatever the
    /// result's type. A record stored before stores kept fingerprints binds
    /// its key to no known command: its result is answered as before.
    pub(crate) async fn replay<R: DeserializeOwned>(
        &self,
        keyed: Option<&Keyed>,
    ) -> Result<Option<R>> {
        let Some(keyed) = keyed else { return Ok(None) };
        let Some(first) = self.store.idempotent_result(&keyed.key).await? else {
            return Ok(None);
        };
        if first.fingerprint.is_some_and(|f| f != keyed.fingerprint) {
            return Err(Error::IdempotencyKeyMismatch {
                key: keyed.key.clone(),
            });
        }
        Ok(Some(
            serde_json::from_str(&first.result).map_err(Error::Replay)?,
        ))
    }

    /// `error`, unless another attempt of the same command (same key) has
    /// been carried out since this one read: then that attempt's result
    /// (R-REC-5). A retry that overtakes the first attempt makes the first
    /// one see its own change as a conflict, a duplicate or a state that no
    /// longer allows it; it must still answer the first result. Another
    /// command carried out under the key meanwhile is
    /// [`Error::IdempotencyKeyMismatch`].
    pub(crate) async fn unless_done<R: DeserializeOwned>(
        &self,
        keyed: Option<&Keyed>,
        error: Error,
    ) -> Result<R> {
        match self.replay(keyed).await? {
            Some(first) => Ok(first),
            None => Err(error),
        }
    }

    /// Commits `commit` with the idempotency record of `result`, bound to
    /// `keyed`'s command. `Ok(None)` means a retryable conflict: read again
    /// and decide again.
    pub(crate) async fn write<R: Serialize + DeserializeOwned>(
        &self,
        mut commit: Commit,
        keyed: Option<&Keyed>,
        result: R,
    ) -> Result<Option<R>> {
        if let Some(keyed) = keyed {
            let stored = serde_json::to_string(&result).map_err(Error::Replay)?;
            commit = commit.idempotent(keyed.key.clone(), keyed.fingerprint, stored);
        }
        let error = match self.store.commit(commit).await {
            Ok(()) => return Ok(Some(result)),
            Err(error) => error,
        };
        if let Some(first) = self.replay(keyed).await? {
            return Ok(Some(first));
        }
        match error {
            error if error.is_conflict() => Ok(None),
            StoreError::GuardViolated { guard } => match guard.ineligibility() {
                Some(reason) => Err(Error::Ineligible {
                    engagement: guard.engagement().clone(),
                    reason,
                }),
                None => Err(StoreError::GuardViolated { guard }.into()),
            },
            error => Err(error.into()),
        }
    }

    /// Runs one command on one nomination: load, decide at now, commit;
    /// again from a fresh read on a retryable conflict, a bounded number of
    /// times (R-REC-4). A command already run with the same key returns its
    /// first result (R-REC-5); an unchanged step writes nothing and answers
    /// the nomination as it stands now (R-CONSENT-9, R-TIME-4).
    pub(crate) async fn change(
        &self,
        target: Target<'_>,
        keyed: Option<Keyed>,
        decide: impl Fn(&Nomination, Instant) -> std::result::Result<Step, Refusal> + Send + Sync,
    ) -> Result<Nomination> {
        if let Some(first) = self.replay(keyed.as_ref()).await? {
            return Ok(first);
        }
        for attempt in 0..=self.settings.retries {
            crate::observability::attempt(attempt);
            let nomination = self.load(&target).await?;
            crate::observability::nomination(nomination.id());
            let now = self.now()?;
            let outcome = match decide(&nomination, now) {
                Ok(Step::Changed(outcome)) => *outcome,
                Ok(Step::Unchanged) => return Ok(nomination.at(now)),
                Err(refusal) => return self.unless_done(keyed.as_ref(), refusal.into()).await,
            };
            let result = outcome.nomination.clone();
            if let Some(written) = self
                .write(Commit::of(now, outcome), keyed.as_ref(), result)
                .await?
            {
                return Ok(written);
            }
        }
        Err(Error::Busy)
    }
}

/// A command's idempotency key and the fingerprint of the command it comes
/// with: a key is bound to the command it was first used with (R-REC-5).
#[derive(Debug, Clone)]
pub(crate) struct Keyed {
    key: IdempotencyKey,
    fingerprint: Fingerprint,
}

/// A command as its idempotency key is bound to it: its name, the
/// nomination it acts on, and the input the caller gave
/// ([`Fingerprint`]'s canonical form).
pub(crate) struct Command<'a, I: ?Sized> {
    /// The name of the service method that runs it, such as `"cancel"`.
    pub(crate) name: &'static str,
    /// The nomination it acts on, if any.
    pub(crate) target: Option<&'a NominationId>,
    /// What the caller gave besides the target; `&()` for nothing.
    pub(crate) input: &'a I,
}

impl Keyed {
    /// `key` within `scope`, bound to `command`; `None` without a key. The
    /// fingerprint is computed only for a call that carries a key.
    pub(crate) fn new<I: Serialize + ?Sized>(
        scope: impl FnOnce() -> String,
        key: Option<&str>,
        command: Command<'_, I>,
    ) -> Result<Option<Self>> {
        let Some(key) = key else { return Ok(None) };
        let key = IdempotencyKey::new(scope(), key)?;
        let fingerprint =
            Fingerprint::of(command.name, command.target, command.input).map_err(Error::Replay)?;
        Ok(Some(Self { key, fingerprint }))
    }
}

/// An idempotency key scoped to a partner, so partners never collide, bound
/// to `command`.
pub(crate) fn partner_key<I: Serialize + ?Sized>(
    partner: &PartnerId,
    key: Option<&str>,
    command: Command<'_, I>,
) -> Result<Option<Keyed>> {
    Keyed::new(|| format!("partner:{partner}"), key, command)
}

/// The outcome of a command that always changes, as a step.
pub(crate) fn changed(
    outcome: std::result::Result<mci_core::Outcome, Refusal>,
) -> std::result::Result<Step, Refusal> {
    outcome.map(|o| Step::Changed(Box::new(o)))
}

/// Makes nomination and batch ids: UUID v7, time-ordered by the clock's
/// now, with a counter so that ids made within one millisecond (as a manual
/// clock makes them) still sort in the order they were made.
#[derive(Debug, Default)]
pub(crate) struct IdMaker {
    state: std::sync::Mutex<IdState>,
}

/// What [`IdMaker`] keeps between ids: the last millisecond and counter
/// used, and random bytes drawn from the operating system ahead of need.
///
/// Asking the operating system for 8 bytes per id cost a system call per
/// id, a good share of an add on the memory store; one call now fills
/// [`RANDOM_POOL`] bytes, enough for 512 ids. The bytes are used once each
/// and never leave this struct but as parts of ids, which are not secrets:
/// they make ids unique, not unguessable (link tokens, which must be, come
/// from the token source). A process that forks while it holds a pool
/// hands the same unused bytes to the child: fork before building the
/// service, as servers do.
#[derive(Debug)]
struct IdState {
    last: (u64, u16),
    pool: Box<[u8; RANDOM_POOL]>,
    /// How many bytes of `pool` are used; the pool is refilled when too
    /// few are left for an id.
    used: usize,
}

/// The bytes drawn from the operating system at a time.
const RANDOM_POOL: usize = 4096;

/// The random bytes of one id: all of its 10 but the 2 that hold the
/// counter.
const RANDOM_PER_ID: usize = 8;

impl Default for IdState {
    fn default() -> Self {
        Self {
            last: (0, 0),
            pool: Box::new([0; RANDOM_POOL]),
            // Empty: the first id fills it.
            used: RANDOM_POOL,
        }
    }
}

impl IdState {
    /// The next [`RANDOM_PER_ID`] unused random bytes, refilling the pool
    /// from the operating system when it runs out.
    fn random(&mut self) -> Result<[u8; RANDOM_PER_ID]> {
        if self.used + RANDOM_PER_ID > RANDOM_POOL {
            getrandom::fill(&mut self.pool[..]).map_err(|e| {
                crate::ports::PortError::permanent(
                    "random source",
                    std::io::Error::other(e.to_string()),
                )
            })?;
            self.used = 0;
        }
        let mut random = [0u8; RANDOM_PER_ID];
        random.copy_from_slice(&self.pool[self.used..self.used + RANDOM_PER_ID]);
        self.used += RANDOM_PER_ID;
        Ok(random)
    }
}

impl IdMaker {
    pub(crate) fn next(&self, now: Instant) -> Result<NominationId> {
        let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let drawn = state.random()?;
        let (millis, counter) = match state.last {
            (ms, counter) if ms >= millis && counter < 0x0fff => (ms, counter + 1),
            (ms, _) if ms >= millis => (ms + 1, 0),
            _ => (millis, 0),
        };
        state.last = (millis, counter);
        // The 12 bits after the version hold the counter (RFC 9562 method 1).
        let mut random = [0u8; 10];
        random[..2].copy_from_slice(&counter.to_be_bytes());
        random[2..].copy_from_slice(&drawn);
        Ok(NominationId::new_v7(millis, random))
    }
}
