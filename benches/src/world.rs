//! The world the benchmarks run in: a catalog of five engagements, a
//! thousand partners, customers named by every kind of id, and nominations
//! in the states a live system holds, written to stores in commits of many
//! writes.
//!
//! Every nomination is made by mci-core, as the service makes them:
//! [`nominate`], then [`Nomination::send_consent`] and
//! [`Nomination::accept_consent`] at later instants. A [`WorldSpec`] of `n`
//! nominations is written as chunks of [`COMMIT_WRITES`] nominations: one
//! commit of their creations, one of the consent requests among them, one
//! of the acceptances, so a nomination's versions arrive in order and a
//! million nominations take a few thousand commits, not millions.
//!
//! At the world's instant [`now`] the nominations stand as follows (each a
//! fraction of all):
//!
//! | share | state | sweep |
//! | --- | --- | --- |
//! | 30% | added in the last 22 days | not due |
//! | 30% | consent sent, added in the last 22 days | not due |
//! | 30% | consented, first-submit deadline more than 7 days ahead | not due |
//! | 4% | added or sent, consent deadline passed | due: lapses |
//! | 3% | consented, first-submit deadline passed | due: lapses |
//! | 3% | added or sent, 7-day reminder mark passed | due: reminded once |
//!
//! so exactly the planned 10% are due, and each is written once by a sweep.
//! The engagement `ai-workshop` takes 40% of the nominations and the
//! partner `northwind` 76% of those: 30% of the world is one
//! (partner, engagement) pair, whose Eligible tab is the large tab the page
//! benchmarks read. A third of a pair's nominations were consented, so
//! `northwind` knows as many customers as a tenth of the world's
//! nominations (R-PAGE-2): 100k at 1M, 1k at 10k. [`know`] gives the
//! known customers their known rows and their kept answers, as a sweep that
//! keeps up leaves them (R-PAGE-9).
//!
//! ```
//! use mci_benches::world::{WorldSpec, chunks};
//!
//! let spec = WorldSpec { nominations: 2_500, seed: 7 };
//! let mut commits = 0;
//! let mut nominations = 0;
//! for chunk in chunks(&spec).unwrap() {
//!     let chunk = chunk.unwrap();
//!     commits += chunk.commits.len();
//!     nominations += chunk.nominations.len();
//! }
//! assert_eq!(nominations, 2_500);
//! assert!(commits <= 9); // three chunks of at most three commits
//! ```

use crate::BoxError;
use chrono::{TimeDelta, TimeZone, Utc};
use mci_core::{
    AvailabilityWindow, AzureSubscriptionId, Candidate, Contacts, Customer, CustomerIdInput,
    CustomerStanding, DirectoryFinding, EligibilityFacts, Engagement, EngagementKind,
    EngagementRules, FreshLink, Hours, Instant, InvalidValue, LinkId, LinkToken, LocationId,
    LocationStanding, Nomination, NominationId, NominationRequest, Origin, Outcome, PartnerId,
    PartnerUser, PayModel, Role, SendConsent, Step, TenantId, Tpid, identify_customer, nominate,
};
use mci_store::{AnswerWrite, Commit, Store, StoreError, Write};
use std::sync::Arc;
use uuid::Uuid;

/// The partner that holds the large tab.
pub const BIG_PARTNER: &str = "northwind";
/// The engagement of the large tab.
pub const BIG_ENGAGEMENT: &str = "ai-workshop";
/// How many nominations a chunk, and so a commit, holds at most.
pub const COMMIT_WRITES: usize = 1000;
/// How many partners the world has; partner 0 is [`BIG_PARTNER`].
pub const PARTNERS: usize = 1000;
/// The rows of a full page.
pub const PAGE: usize = 50;
/// The share of the world a sweep at [`now`] has to write.
pub const DUE_SHARE: f64 = 0.10;

/// The world's present: pages are read and the sweep runs at this instant.
pub fn now() -> Instant {
    Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0)
        .single()
        .unwrap_or(chrono::DateTime::UNIX_EPOCH)
}

/// `days` days, to the millisecond.
fn days(days: f64) -> TimeDelta {
    // Rounded to whole milliseconds; the values are at most a few years.
    TimeDelta::milliseconds((days * 86_400_000.0).round() as i64)
}

/// A small, fast, seeded random source (SplitMix64): the world is the same
/// for the same seed on every run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A source starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in `[0, n)`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A number in `[low, high)`.
    pub fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// `N` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let bits = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bits[..chunk.len()]);
        }
        out
    }
}

/// The catalog: five engagements of four kinds and both pay models, open
/// from 400 days before [`now`] to a year after it. The first is
/// [`BIG_ENGAGEMENT`].
pub fn catalog() -> Result<Vec<Engagement>, InvalidValue> {
    let open = AvailabilityWindow::new(now() - days(400.0), now() + days(365.0))?;
    let fixed = |kind, fee: &str| -> Result<EngagementRules, InvalidValue> {
        EngagementRules::builder(kind, PayModel::fixed(fee.parse()?)).build()
    };
    Ok(vec![
        Engagement::new(
            BIG_ENGAGEMENT.parse()?,
            "AI readiness workshop".parse()?,
            "Data & AI".parse()?,
            open,
            fixed(EngagementKind::Workshop, "7500.00 EUR")?,
        ),
        Engagement::new(
            "security-assessment".parse()?,
            "Threat protection assessment".parse()?,
            "Security".parse()?,
            open,
            EngagementRules::builder(
                EngagementKind::Assessment,
                PayModel::fixed("4000.00 EUR".parse()?),
            )
            .active_nomination_limit(2)
            .build()?,
        ),
        Engagement::new(
            "copilot-workshop".parse()?,
            "Copilot adoption workshop".parse()?,
            "Modern Work".parse()?,
            open,
            fixed(EngagementKind::Workshop, "6000.00 EUR")?,
        ),
        Engagement::new(
            "migration-project".parse()?,
            "Datacenter migration project".parse()?,
            "Infrastructure".parse()?,
            open,
            EngagementRules::builder(
                EngagementKind::MediumProject,
                PayModel::variable(
                    "150.00 EUR".parse()?,
                    "30000.00 EUR".parse()?,
                    Hours::new(400)?,
                ),
            )
            .build()?,
        ),
        Engagement::new(
            "data-foundations".parse()?,
            "Data foundations small project".parse()?,
            "Data & AI".parse()?,
            open,
            fixed(EngagementKind::SmallProject, "12000.00 EUR")?,
        ),
    ])
}

/// How the nominations spread over the catalog, in percent.
pub const ENGAGEMENT_WEIGHTS: [u32; 5] = [40, 15, 15, 15, 15];

/// A catalog index, drawn by [`ENGAGEMENT_WEIGHTS`].
pub fn pick_engagement(rng: &mut Rng) -> usize {
    let mut roll = rng.below(100);
    for (i, weight) in ENGAGEMENT_WEIGHTS.iter().enumerate() {
        let weight = u64::from(*weight);
        if roll < weight {
            return i;
        }
        roll -= weight;
    }
    0
}

/// The share of the big engagement's nominations that partner 0 makes:
/// with a third of them consented, it knows a tenth of the world's
/// nominations as customers.
pub const BIG_PARTNER_SHARE: f64 = 0.76;

/// A partner index for a nomination to catalog entry `engagement`: partner
/// 0 takes [`BIG_PARTNER_SHARE`] of the big engagement; the others share
/// the rest, a few large ones and many small ones.
pub fn pick_partner(rng: &mut Rng, engagement: usize) -> usize {
    if engagement == 0 && rng.unit() < BIG_PARTNER_SHARE {
        return 0;
    }
    let skew = rng.unit().powi(2);
    1 + ((PARTNERS - 1) as f64 * skew) as usize
}

/// A partner of the world: its admin, its enrolled location and its
/// contacts.
#[derive(Debug, Clone)]
pub struct Partner {
    /// An Incentives admin of the partner.
    pub admin: PartnerUser,
    /// Its enrolled location.
    pub location: LocationId,
    /// The partner's contacts on its nominations.
    pub contacts: Contacts,
}

/// Partner `i` of the world: partner 0 is [`BIG_PARTNER`], the others
/// `partner-0001` and on.
pub fn partner(i: usize) -> Result<Partner, InvalidValue> {
    let id: PartnerId = if i == 0 {
        BIG_PARTNER.parse()?
    } else {
        format!("partner-{i:04}").parse()?
    };
    let contacts = Contacts::one("Ada Admin".parse()?, format!("admin@{id}.example").parse()?);
    Ok(Partner {
        admin: PartnerUser::new(id, "admin".parse()?, Role::IncentivesAdmin),
        location: (1_000_000 + i).to_string().parse()?,
        contacts,
    })
}

/// The tenant of customer `k`.
pub fn tenant(k: u64) -> Result<TenantId, InvalidValue> {
    TenantId::from_uuid(Uuid::from_u64_pair(
        0x7e4a_11c0_0000_4000,
        0x8000_0000_0000_0000 | k,
    ))
}

/// The email domain of customer `k`.
pub fn domain(k: u64) -> String {
    format!("c{k}.example")
}

/// How customer `k` is named on a form, and what the tenant directory
/// answers about it.
#[derive(Debug, Clone)]
pub struct CustomerFacts {
    /// The id the partner types.
    pub input: CustomerIdInput,
    /// The customer's email.
    pub email: mci_core::EmailAddress,
    /// What the tenant directory of [`crate::service`] answers for it.
    pub finding: DirectoryFinding,
}

/// Customer `k` as a fixed-pay engagement names it: six in ten by email
/// domain alone (a tenant), two by TPID, two by Azure subscription; a
/// variable-pay engagement names it by an MSX opportunity.
pub fn customer_facts(k: u64, variable_pay: bool) -> Result<CustomerFacts, BoxError> {
    let email: mci_core::EmailAddress = format!("it@{}", domain(k)).parse()?;
    let (input, finding) = if variable_pay {
        (
            CustomerIdInput::MsxOpportunityId(format!("7-K{k:010}").parse()?),
            DirectoryFinding::NotAsked,
        )
    } else {
        match k % 10 {
            0..=5 => (
                CustomerIdInput::EmailOnly,
                DirectoryFinding::TenantOfDomain(Some(tenant(k)?)),
            ),
            6 | 7 => (
                CustomerIdInput::Tpid(tpid(k)?),
                DirectoryFinding::OwnsDomain(true),
            ),
            _ => (
                CustomerIdInput::AzureSubscriptionId(AzureSubscriptionId::from_uuid(
                    Uuid::from_u64_pair(0x5ab5_0000_0000_4000, 0x9000_0000_0000_0000 | k),
                )?),
                DirectoryFinding::NotAsked,
            ),
        }
    };
    Ok(CustomerFacts {
        input,
        email,
        finding,
    })
}

/// The TPID of customer `k`.
pub fn tpid(k: u64) -> Result<Tpid, InvalidValue> {
    Tpid::new(k + 1)
}

/// The contacts at customer `k`.
pub fn customer_contacts(k: u64) -> Result<Contacts, BoxError> {
    Ok(Contacts::one(
        "Carla Cio".parse()?,
        format!("it@{}", domain(k)).parse()?,
    ))
}

/// Customer `k`, identified as [`customer_facts`] names it.
pub fn customer(k: u64, variable_pay: bool) -> Result<Customer, BoxError> {
    let facts = customer_facts(k, variable_pay)?;
    Ok(identify_customer(
        facts.input,
        facts.email,
        None,
        facts.finding,
    )?)
}

/// The hours a variable-pay nomination of customer `k` declares.
pub fn hours(k: u64) -> Result<Hours, InvalidValue> {
    Hours::new(40 + (k % 9) as u32 * 40)
}

/// The partner's name for its nomination of customer `k` to `engagement`.
pub fn friendly_name(
    k: u64,
    engagement: &Engagement,
) -> Result<mci_core::FriendlyName, InvalidValue> {
    format!("C{k} {}", engagement.name()).parse()
}

/// Facts under which a new customer is eligible: nothing else stands in
/// its way.
pub fn eligible() -> EligibilityFacts {
    EligibilityFacts {
        location: LocationStanding::Eligible,
        customer: CustomerStanding::Eligible,
        competitors: Vec::new(),
    }
}

/// How many nominations, and the seed of their randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorldSpec {
    /// How many nominations.
    pub nominations: usize,
    /// The seed.
    pub seed: u64,
}

impl WorldSpec {
    /// `nominations` nominations from the default seed.
    pub fn of(nominations: usize) -> Self {
        Self {
            nominations,
            seed: 0x6d63_6931,
        }
    }
}

/// What happens to one nomination, and when.
#[derive(Debug, Clone)]
struct Plan {
    engagement: usize,
    partner: usize,
    customer: u64,
    created: Instant,
    sent: Option<Instant>,
    accepted: Option<Instant>,
    due: bool,
}

/// One chunk of the world: the commits that write it, in order, and the
/// nominations as they stand after them.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Creations, then consent requests, then acceptances.
    pub commits: Vec<Commit>,
    /// Every nomination of the chunk, at its last version.
    pub nominations: Vec<Nomination>,
    /// How many of them a sweep at [`now`] writes.
    pub due: usize,
}

/// Whose nominations a world holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Owners {
    /// The thousand partners, as [`pick_partner`] spreads them.
    #[default]
    Spread,
    /// [`BIG_PARTNER`]'s alone: the world of the export benchmark, whose
    /// one partner's claims are every nomination (R-LIST-2).
    BigPartner,
}

/// The chunks of the world of `spec`, made lazily: only one chunk's
/// nominations are held at a time.
pub fn chunks(spec: &WorldSpec) -> Result<impl Iterator<Item = Result<Chunk, BoxError>>, BoxError> {
    chunks_of(spec, Owners::Spread)
}

/// [`chunks`], with the nominations of `owners`.
pub fn chunks_of(
    spec: &WorldSpec,
    owners: Owners,
) -> Result<impl Iterator<Item = Result<Chunk, BoxError>>, BoxError> {
    let mut maker = Maker::new(spec)?;
    maker.owners = owners;
    let mut left = spec.nominations;
    Ok(std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = left.min(COMMIT_WRITES);
        left -= n;
        Some(maker.chunk(n))
    }))
}

/// Makes the plans and the outcomes of the world.
struct Maker {
    rng: Rng,
    catalog: Vec<Engagement>,
    partners: Vec<Partner>,
    /// The next customer number of each engagement: customer `k` of one
    /// engagement is customer `k` of the others, so customers have
    /// nominations for several engagements, each by its own partner.
    next_customer: Vec<u64>,
    /// Whose nominations they are.
    owners: Owners,
}

impl Maker {
    fn new(spec: &WorldSpec) -> Result<Self, BoxError> {
        let catalog = catalog()?;
        let partners = (0..PARTNERS).map(partner).collect::<Result<_, _>>()?;
        Ok(Self {
            rng: Rng::new(spec.seed),
            next_customer: vec![1; catalog.len()],
            catalog,
            partners,
            owners: Owners::Spread,
        })
    }

    fn plan(&mut self) -> Plan {
        let engagement = pick_engagement(&mut self.rng);
        let partner = match self.owners {
            Owners::Spread => pick_partner(&mut self.rng, engagement),
            Owners::BigPartner => 0,
        };
        let customer = self.next_customer[engagement];
        self.next_customer[engagement] += 1;
        let first_submit = f64::from(
            self.catalog[engagement]
                .rules()
                .timelines()
                .first_submit
                .get(),
        );
        let t = now();
        let roll = self.rng.unit();
        let mut plan = Plan {
            engagement,
            partner,
            customer,
            created: t,
            sent: None,
            accepted: None,
            due: false,
        };
        // Consent requested some time after creation, before `until`.
        let send = |rng: &mut Rng, created: Instant, until: Instant| {
            let span = (until - created).num_milliseconds() as f64 / 86_400_000.0;
            created + days(rng.between(0.0, span.max(0.0)))
        };
        match roll {
            // Added recently: the first reminder (day 23) is still ahead.
            r if r < 0.30 => plan.created = t - days(self.rng.between(0.0, 22.0)),
            // Consent sent, added recently.
            r if r < 0.60 => {
                plan.created = t - days(self.rng.between(0.01, 22.0));
                plan.sent = Some(send(&mut self.rng, plan.created, t));
            }
            // Consented, the first-submit reminder (7 days before) still ahead.
            r if r < 0.90 => {
                let accepted = t - days(self.rng.between(0.0, first_submit - 8.0));
                plan.created = accepted - days(self.rng.between(1.0, 20.0));
                plan.sent = Some(send(&mut self.rng, plan.created, accepted));
                plan.accepted = Some(accepted);
            }
            // Consent deadline (day 30) passed: the sweep lapses it.
            r if r < 0.94 => {
                plan.created = t - days(self.rng.between(31.0, 60.0));
                if self.rng.unit() < 0.5 {
                    plan.sent = Some(send(&mut self.rng, plan.created, plan.created + days(29.0)));
                }
                plan.due = true;
            }
            // First-submit deadline passed: the sweep lapses it.
            r if r < 0.97 => {
                let accepted = t - days(first_submit + self.rng.between(1.0, 20.0));
                plan.created = accepted - days(self.rng.between(1.0, 20.0));
                plan.sent = Some(send(&mut self.rng, plan.created, accepted));
                plan.accepted = Some(accepted);
                plan.due = true;
            }
            // The 7-day reminder mark passed, the 1-day one still ahead: the
            // sweep queues one reminder.
            _ => {
                plan.created = t - days(self.rng.between(23.5, 28.5));
                if self.rng.unit() < 0.5 {
                    plan.sent = Some(send(&mut self.rng, plan.created, t));
                }
                plan.due = true;
            }
        }
        plan
    }

    fn chunk(&mut self, n: usize) -> Result<Chunk, BoxError> {
        let plans: Vec<Plan> = (0..n).map(|_| self.plan()).collect();
        let latest = |instants: Vec<Instant>| instants.into_iter().max().unwrap_or(now());
        let mut created = Commit::at(latest(plans.iter().map(|p| p.created).collect()));
        let mut sent = Commit::at(latest(plans.iter().filter_map(|p| p.sent).collect()));
        let mut accepted = Commit::at(latest(plans.iter().filter_map(|p| p.accepted).collect()));
        let mut nominations = Vec::with_capacity(n);
        let mut due = 0;
        for plan in &plans {
            due += usize::from(plan.due);
            let mut last = self.create(plan)?;
            let token = LinkToken::from_bytes(self.rng.bytes());
            if let Some(at) = plan.sent {
                let next = send_consent(
                    &last.nomination,
                    at,
                    &self.partners[plan.partner].admin,
                    &token,
                )?;
                created
                    .writes
                    .push(Write::from(std::mem::replace(&mut last, next)));
                if let Some(at) = plan.accepted {
                    let next = accept_consent(&last.nomination, at, &token)?;
                    sent.writes
                        .push(Write::from(std::mem::replace(&mut last, next)));
                    nominations.push(last.nomination.clone());
                    accepted.writes.push(Write::from(last));
                } else {
                    nominations.push(last.nomination.clone());
                    sent.writes.push(Write::from(last));
                }
            } else {
                nominations.push(last.nomination.clone());
                created.writes.push(Write::from(last));
            }
        }
        let commits = [created, sent, accepted]
            .into_iter()
            .filter(|c| !c.writes.is_empty())
            .collect();
        Ok(Chunk {
            commits,
            nominations,
            due,
        })
    }

    fn create(&mut self, plan: &Plan) -> Result<Outcome, BoxError> {
        let id = NominationId::new_v7(
            u64::try_from(plan.created.timestamp_millis()).unwrap_or(0),
            self.rng.bytes(),
        );
        added(
            &self.catalog[plan.engagement],
            &self.partners[plan.partner],
            plan.customer,
            plan.created,
            id,
        )
    }
}

/// The nomination `id` of customer `k` to `engagement` by `partner`, added
/// at `at` with the *add customer* form, as mci-core makes it.
pub fn added(
    engagement: &Engagement,
    partner: &Partner,
    k: u64,
    at: Instant,
    id: NominationId,
) -> Result<Outcome, BoxError> {
    let variable = engagement.rules().pay().is_variable();
    let request = NominationRequest {
        friendly_name: friendly_name(k, engagement)?,
        location: partner.location.clone(),
        customer: customer(k, variable)?,
        customer_contacts: customer_contacts(k)?,
        partner_contacts: partner.contacts.clone(),
        hours: variable.then(|| hours(k)).transpose()?,
        origin: Origin::Added,
    };
    let candidates = [Candidate {
        engagement,
        facts: eligible(),
    }];
    let mut made = nominate(at, &partner.admin, request, &candidates, || id)?;
    made.pop().ok_or_else(|| "nominate made nothing".into())
}

/// The consent request of `nomination` at `at` with `token`.
pub fn send_consent(
    nomination: &Nomination,
    at: Instant,
    admin: &PartnerUser,
    token: &LinkToken,
) -> Result<Outcome, BoxError> {
    // The link's id only needs to be unique here: the worlds are written
    // through the store, and the token is what the customer presents.
    let mut id = [0u8; 16];
    id.copy_from_slice(&token.hash().as_bytes()[..16]);
    let link = FreshLink::new(LinkId::from_bytes(id), token);
    Ok(nomination.send_consent(at, admin, SendConsent::default(), &link)?)
}

/// The customer's acceptance of `nomination` at `at` through `token`.
pub fn accept_consent(
    nomination: &Nomination,
    at: Instant,
    token: &LinkToken,
) -> Result<Outcome, BoxError> {
    match nomination.accept_consent(at, token)? {
        Step::Changed(outcome) => Ok(*outcome),
        Step::Unchanged => Err("the consent was accepted already".into()),
    }
}

/// What [`fill`] wrote.
#[derive(Debug, Default)]
pub struct Filled {
    /// How many nominations.
    pub nominations: usize,
    /// How many of them a sweep at [`now`] writes.
    pub due: usize,
    /// How many commits each store took.
    pub commits: usize,
    /// The nominations at their last version, if asked to keep them.
    pub kept: Vec<Nomination>,
}

/// Writes the world of `spec` to each of `stores`, in commits of up to
/// [`COMMIT_WRITES`] writes. Each store takes its commits in order from a
/// task of its own, so on a multi-threaded runtime the stores write while
/// the next chunk is made. Keeps the nominations when `keep` is set.
pub async fn fill(
    spec: &WorldSpec,
    stores: &[Arc<dyn Store>],
    keep: bool,
) -> Result<Filled, BoxError> {
    let mut senders = Vec::with_capacity(stores.len());
    let mut writers = Vec::with_capacity(stores.len());
    for store in stores {
        let (sender, mut commits) = tokio::sync::mpsc::channel::<Commit>(4);
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            while let Some(commit) = commits.recv().await {
                store.commit(commit).await?;
            }
            Ok::<(), StoreError>(())
        }));
        senders.push(sender);
    }
    let mut filled = Filled::default();
    'chunks: for chunk in chunks(spec)? {
        let chunk = chunk?;
        filled.nominations += chunk.nominations.len();
        filled.due += chunk.due;
        for commit in chunk.commits {
            filled.commits += 1;
            let mut commit = Some(commit);
            for (i, sender) in senders.iter().enumerate() {
                let next = if i + 1 == senders.len() {
                    commit.take()
                } else {
                    commit.clone()
                };
                let Some(next) = next else { continue };
                if sender.send(next).await.is_err() {
                    // That store's task failed: its error is reported below.
                    break 'chunks;
                }
            }
        }
        if keep {
            filled.kept.extend(chunk.nominations);
        }
    }
    drop(senders);
    for writer in writers {
        writer.await??;
    }
    Ok(filled)
}

/// How many known customers one [`Store::seed_known`] call of [`know`]
/// gives a row, and how many answers one of its commits keeps.
pub const KNOWN_BATCH: usize = 1000;

/// What [`know`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Known {
    /// How many answers of the eligibility port it kept: one per known row
    /// that had none.
    pub answered: usize,
    /// Of them, how many say the customer does not meet the criteria.
    pub ineligible: usize,
    /// How many customers [`BIG_PARTNER`] knows.
    pub big_partner: usize,
}

/// A number drawn from `key`, the same on every run (FNV-1a).
fn hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Which engagements [`know`] gives known rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownFor {
    /// Every engagement of the catalog, as the service's sweep seeds them:
    /// five rows per known customer, 1.6M at 1M nominations, which take
    /// SQLite's writer about four minutes.
    Catalog,
    /// Only [`BIG_ENGAGEMENT`], whose page the benchmarks read: 330k rows
    /// at 1M nominations. The other engagements' rows are other keys of
    /// the same indexes, which that page's reads do not walk.
    BigEngagement,
}

impl KnownFor {
    /// The engagements of `catalog` ([`catalog`]) that get known rows.
    pub fn engagements(self, catalog: &[Engagement]) -> &[Engagement] {
        match self {
            Self::Catalog => catalog,
            Self::BigEngagement => &catalog[..catalog.len().min(1)],
        }
    }
}

/// The answer of the eligibility port [`know`] keeps for `partner`'s known
/// `customer` on `engagement` at [`now`], drawn from their names: given
/// within the last [`eligibility_refresh`](mci_engagements::Settings) (so
/// the sweep would not ask again at [`now`]), trusted for the service's
/// default [`eligibility_trust`](mci_engagements::Settings), made by
/// [`KeptAnswer::new`](mci_core::KeptAnswer::new) as the service makes
/// them; one in ten says the customer does not meet the criteria (then
/// `true`).
pub fn kept_answer(
    engagement: &Engagement,
    partner: &PartnerId,
    customer: &Customer,
) -> (mci_core::KeptAnswer, bool) {
    let settings = mci_engagements::Settings::default();
    let at = now();
    let spread = settings.eligibility_refresh.num_minutes().max(1);
    let draw = hash(&format!("{partner}/{}/{}", engagement.id(), customer.id()));
    // Within (at - refresh, at]: none is due to be asked again.
    let checked_at = at - TimeDelta::minutes(((draw >> 32) % spread as u64) as i64);
    let ineligible = draw.is_multiple_of(10);
    let standing = if ineligible {
        CustomerStanding::Ineligible("below the size threshold".into())
    } else {
        CustomerStanding::Eligible
    };
    let answer = mci_core::KeptAnswer::new(
        engagement,
        customer.id_type(),
        &standing,
        checked_at,
        checked_at + settings.eligibility_trust,
    );
    (answer, ineligible)
}

/// Gives the known customers of `store`'s world their rows and answers, as
/// a service whose sweep keeps up leaves them at [`now`] (R-PAGE-9), in
/// bulk: [`Store::seed_known`] for the engagements of `which`, then
/// commits of [`KNOWN_BATCH`] answers of the eligibility port for every row
/// without one, each [`kept_answer`].
pub async fn know(store: &dyn Store, which: KnownFor) -> Result<Known, BoxError> {
    let catalog = catalog()?;
    let settings = mci_engagements::Settings::default();
    let at = now();
    for engagement in which.engagements(&catalog) {
        while !store.seed_known(engagement.id(), at, KNOWN_BATCH).await? {}
    }
    let older_than = at - settings.eligibility_refresh;
    let mut known = Known::default();
    loop {
        let due = store.known_to_check(older_than, KNOWN_BATCH).await?;
        if due.is_empty() {
            break;
        }
        let mut commit = Commit::at(at);
        for row in due {
            let engagement = catalog
                .iter()
                .find(|e| *e.id() == row.engagement)
                .ok_or("a known row of an engagement not in the catalog")?;
            let (answer, ineligible) = kept_answer(engagement, &row.partner, &row.known.customer);
            known.ineligible += usize::from(ineligible);
            commit.answers.push(AnswerWrite {
                partner: row.partner,
                engagement: row.engagement,
                customer: *row.known.customer.id(),
                answer,
            });
        }
        known.answered += commit.answers.len();
        store.commit(commit).await?;
    }
    known.big_partner = known_customers(store, &BIG_PARTNER.parse()?).await?;
    Ok(known)
}

/// How many customers `partner` knows: a walk of
/// [`Store::known_customers`].
pub async fn known_customers(store: &dyn Store, partner: &PartnerId) -> Result<usize, BoxError> {
    let mut count = 0;
    let mut after = None;
    loop {
        let batch = store
            .known_customers(partner, after.as_ref(), KNOWN_BATCH)
            .await?;
        count += batch.len();
        match batch.last() {
            Some(last) if batch.len() == KNOWN_BATCH => after = Some(*last.customer.id()),
            _ => return Ok(count),
        }
    }
}
