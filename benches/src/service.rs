//! The service as applications embed it, over any store, with in-memory
//! ports that know the world's partners and a range of customers; and the
//! *add customer* forms the add benchmarks submit.
//!
//! ```
//! use std::sync::Arc;
//! use mci_benches::service::{adds, Ports};
//! use mci_store_memory::MemoryStore;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let forms = adds(1_000, 3).unwrap();
//! let ports = Ports::knowing(1_000..1_003).unwrap();
//! let service = ports.service(Arc::new(MemoryStore::new())).unwrap();
//! for add in &forms {
//!     let added = service.add_customer(&add.admin, &add.form).await.unwrap();
//!     assert_eq!(added.nominations.len(), 1);
//! }
//! # });
//! ```

use crate::BoxError;
use crate::world::{self, PARTNERS, Rng};
use mci_core::{
    Candidate, Engagement, NominationId, NominationRequest, Origin, Outcome, PartnerUser,
    identify_customer, nominate,
};
use mci_engagements::ports::{
    HmacLinkKey, InMemoryPartnerDirectory, InMemoryTenantDirectory, ManualClock,
    PermissiveEligibility, SeededLinkIds,
};
use mci_engagements::{AddCustomer, Incentives, Settings};
use mci_store::Store;
use std::ops::Range;
use std::sync::Arc;

/// The ports of the service, held in memory: the tenant directory knows a
/// range of customers, the partner directory every partner of the world
/// with its location enrolled; every customer is eligible; the clock stands
/// at [`world::now`].
#[derive(Debug, Clone)]
pub struct Ports {
    tenants: InMemoryTenantDirectory,
    partners: InMemoryPartnerDirectory,
    clock: Arc<ManualClock>,
}

impl Ports {
    /// Ports that know customers `customers` (see [`world::customer_facts`]).
    pub fn knowing(customers: Range<u64>) -> Result<Self, BoxError> {
        let mut tenants = InMemoryTenantDirectory::builder();
        for k in customers {
            let tenant = world::tenant(k)?;
            tenants = tenants.tenant(tenant, [world::domain(k).parse()?]);
            if matches!(k % 10, 6 | 7) {
                tenants = tenants.tpid(world::tpid(k)?, [tenant]);
            }
        }
        let mut partners = InMemoryPartnerDirectory::builder();
        for i in 0..PARTNERS {
            let partner = world::partner(i)?;
            partners = partners.enrolled(partner.admin.partner().clone(), partner.location);
        }
        Ok(Self {
            tenants: tenants.build(),
            partners: partners.build(),
            clock: Arc::new(ManualClock::new(world::now())),
        })
    }

    /// The clock the services of these ports share.
    pub fn clock(&self) -> &Arc<ManualClock> {
        &self.clock
    }

    /// The service over `store`, with the world's catalog.
    pub fn service(&self, store: Arc<dyn Store>) -> Result<Incentives, BoxError> {
        self.service_with(store, Settings::default())
    }

    /// The service over `store` that the worlds are swept with and the
    /// sweep comparison times: [`sweep_settings`].
    pub fn sweeper(&self, store: Arc<dyn Store>) -> Result<Incentives, BoxError> {
        self.service_with(store, sweep_settings())
    }

    fn service_with(
        &self,
        store: Arc<dyn Store>,
        settings: Settings,
    ) -> Result<Incentives, BoxError> {
        let mut builder = Incentives::builder(store, HmacLinkKey::demo())
            .settings(settings)
            .tenant_directory(self.tenants.clone())
            .partner_directory(self.partners.clone())
            .customer_eligibility(PermissiveEligibility::new())
            .clock(self.clock.clone())
            .link_ids(SeededLinkIds::new(0x5eed));
        for engagement in world::catalog()? {
            builder = builder.engagement(engagement);
        }
        Ok(builder.build())
    }
}

/// The settings of the sweeps of the benchmarks: the service's defaults
/// without the refresh of the known customers' answers
/// (`eligibility_per_sweep` 0), so that a sweep writes what the raw
/// baseline's writes, the lapses and reminders due; [`world::know`] keeps
/// the known rows and their answers in bulk instead.
pub fn sweep_settings() -> Settings {
    Settings {
        eligibility_per_sweep: 0,
        ..Settings::default()
    }
}

/// One *add customer* call: who submits which form.
#[derive(Debug, Clone)]
pub struct Add {
    /// The partner's admin.
    pub admin: PartnerUser,
    /// The form: one new customer, one engagement.
    pub form: AddCustomer,
    /// The catalog index of the engagement.
    pub engagement: usize,
    /// The customer's number.
    pub customer: u64,
}

impl Add {
    /// What the service writes for this add, made by mci-core as the
    /// service makes it (the same request, the directory's answer, the
    /// clock's now), with `id` for the nomination: the row a baseline
    /// stores.
    pub fn outcome(&self, catalog: &[Engagement], id: NominationId) -> Result<Outcome, BoxError> {
        let engagement = catalog
            .get(self.engagement)
            .ok_or("no such engagement in the catalog")?;
        let facts = world::customer_facts(self.customer, engagement.rules().pay().is_variable())?;
        let request = NominationRequest {
            friendly_name: self.form.friendly_name.clone(),
            location: self.form.location.clone(),
            customer: identify_customer(self.form.customer_id, facts.email, None, facts.finding)?,
            customer_contacts: self.form.customer_contacts.clone(),
            partner_contacts: self.form.partner_contacts.clone(),
            hours: self.form.hours,
            origin: Origin::Added,
        };
        let candidates = [Candidate {
            engagement,
            facts: world::eligible(),
        }];
        let mut made = nominate(world::now(), &self.admin, request, &candidates, || id)?;
        made.pop().ok_or_else(|| "nominate made nothing".into())
    }
}

/// `n` add calls of customers `first..first + n`, each new to every
/// engagement: spread over the catalog and the partners as the world is.
pub fn adds(first: u64, n: usize) -> Result<Vec<Add>, BoxError> {
    let catalog = world::catalog()?;
    let partners: Vec<world::Partner> = (0..PARTNERS)
        .map(world::partner)
        .collect::<Result<_, _>>()?;
    let mut rng = Rng::new(first ^ 0xadd5);
    let mut out = Vec::with_capacity(n);
    for customer in first..first + n as u64 {
        let engagement = world::pick_engagement(&mut rng);
        let partner = &partners[world::pick_partner(&mut rng, engagement)];
        let e = &catalog[engagement];
        let variable = e.rules().pay().is_variable();
        let facts = world::customer_facts(customer, variable)?;
        out.push(Add {
            admin: partner.admin.clone(),
            form: AddCustomer {
                friendly_name: world::friendly_name(customer, e)?,
                location: partner.location.clone(),
                customer_id: facts.input,
                customer_email: facts.email,
                mismatch_reason: None,
                engagements: vec![e.id().clone()],
                customer_contacts: world::customer_contacts(customer)?,
                partner_contacts: partner.contacts.clone(),
                hours: variable.then(|| world::hours(customer)).transpose()?,
            },
            engagement,
            customer,
        });
    }
    Ok(out)
}
