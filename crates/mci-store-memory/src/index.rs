//! The secondary indexes of the memory store. Every query walks one of
//! these in key order; none filters over every row.

use mci_core::{
    CustomerId, EngagementId, Instant, Nomination, NominationId, PartnerId, State, Tab, TokenHash,
};
use mci_store::Derived;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;
use std::ops::Bound;

/// A nomination with the values the core derived for it.
#[derive(Debug, Clone)]
pub(crate) struct Indexed {
    pub(crate) nomination: Nomination,
    pub(crate) derived: Derived,
}

type Shelf = (PartnerId, EngagementId, u8);
type InstantIds = BTreeMap<Instant, BTreeSet<NominationId>>;

#[derive(Debug, Default)]
pub(crate) struct Index {
    /// (partner, engagement, tab as stored) → ids.
    tab: HashMap<Shelf, BTreeSet<NominationId>>,
    /// (partner, engagement, tab after the lapse) → lapse instant → ids.
    lapse_into: HashMap<Shelf, InstantIds>,
    /// partner → lapse instant → ids.
    partner_lapse: HashMap<PartnerId, InstantIds>,
    /// wake instant → ids.
    wake: InstantIds,
    /// (engagement, customer) → ids.
    customer: HashMap<(EngagementId, CustomerId), BTreeSet<NominationId>>,
    /// live link hash → id.
    link: HashMap<TokenHash, NominationId>,
    /// state → ids, and (partner, state) → ids.
    state: HashMap<State, BTreeSet<NominationId>>,
    partner_state: HashMap<(PartnerId, State), BTreeSet<NominationId>>,
    /// partner → customer → the first consented nomination.
    known: HashMap<PartnerId, BTreeMap<CustomerId, NominationId>>,
}

fn put<K: Hash + Eq>(map: &mut HashMap<K, BTreeSet<NominationId>>, key: K, id: NominationId) {
    map.entry(key).or_default().insert(id);
}

fn take<K: Hash + Eq>(map: &mut HashMap<K, BTreeSet<NominationId>>, key: &K, id: &NominationId) {
    if let Some(set) = map.get_mut(key) {
        set.remove(id);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

fn put_at(map: &mut InstantIds, at: Instant, id: NominationId) {
    map.entry(at).or_default().insert(id);
}

fn take_at(map: &mut InstantIds, at: &Instant, id: &NominationId) {
    if let Some(set) = map.get_mut(at) {
        set.remove(id);
        if set.is_empty() {
            map.remove(at);
        }
    }
}

fn shelf(n: &Nomination, tab: Option<Tab>) -> Shelf {
    (n.partner().clone(), n.engagement().clone(), Tab::code(tab))
}

fn after_bound(after: Option<&NominationId>) -> Bound<&NominationId> {
    after.map_or(Bound::Unbounded, Bound::Excluded)
}

impl Index {
    pub(crate) fn insert(&mut self, row: &Indexed) {
        let n = &row.nomination;
        let id = *n.id();
        let placement = &row.derived.placement;
        put(&mut self.tab, shelf(n, placement.tab), id);
        if let Some(lapse) = placement.lapse_at {
            put_at(
                self.lapse_into
                    .entry(shelf(n, placement.tab_after_lapse))
                    .or_default(),
                lapse,
                id,
            );
            put_at(
                self.partner_lapse.entry(n.partner().clone()).or_default(),
                lapse,
                id,
            );
        }
        if let Some(wake) = placement.wake_at {
            put_at(&mut self.wake, wake, id);
        }
        put(
            &mut self.customer,
            (n.engagement().clone(), *n.customer().id()),
            id,
        );
        for link in n.links() {
            self.link.insert(*link.hash(), id);
        }
        put(&mut self.state, n.state(), id);
        put(
            &mut self.partner_state,
            (n.partner().clone(), n.state()),
            id,
        );
        if n.consented_at().is_some() {
            self.known
                .entry(n.partner().clone())
                .or_default()
                .entry(*n.customer().id())
                .or_insert(id);
        }
    }

    /// Removes a row's entries, except its place among the known customers,
    /// which consent never takes back.
    pub(crate) fn remove(&mut self, row: &Indexed) {
        let n = &row.nomination;
        let id = n.id();
        let placement = &row.derived.placement;
        take(&mut self.tab, &shelf(n, placement.tab), id);
        if let Some(lapse) = placement.lapse_at {
            let key = shelf(n, placement.tab_after_lapse);
            if let Some(map) = self.lapse_into.get_mut(&key) {
                take_at(map, &lapse, id);
                if map.is_empty() {
                    self.lapse_into.remove(&key);
                }
            }
            if let Some(map) = self.partner_lapse.get_mut(n.partner()) {
                take_at(map, &lapse, id);
                if map.is_empty() {
                    self.partner_lapse.remove(n.partner());
                }
            }
        }
        if let Some(wake) = placement.wake_at {
            take_at(&mut self.wake, &wake, id);
        }
        take(
            &mut self.customer,
            &(n.engagement().clone(), *n.customer().id()),
            id,
        );
        for link in n.links() {
            if self.link.get(link.hash()) == Some(id) {
                self.link.remove(link.hash());
            }
        }
        take(&mut self.state, &n.state(), id);
        take(
            &mut self.partner_state,
            &(n.partner().clone(), n.state()),
            id,
        );
    }

    pub(crate) fn in_tab<'a>(
        &'a self,
        partner: &PartnerId,
        engagement: &EngagementId,
        tab: Tab,
        after: Option<&'a NominationId>,
    ) -> impl Iterator<Item = NominationId> + 'a {
        let key = (partner.clone(), engagement.clone(), Tab::code(Some(tab)));
        self.tab
            .get(&key)
            .into_iter()
            .flat_map(move |set| set.range((after_bound(after), Bound::Unbounded)).copied())
    }

    pub(crate) fn lapsed_into<'a>(
        &'a self,
        partner: &PartnerId,
        engagement: &EngagementId,
        tab: Tab,
        now: Instant,
    ) -> impl Iterator<Item = NominationId> + 'a {
        let key = (partner.clone(), engagement.clone(), Tab::code(Some(tab)));
        self.lapse_into
            .get(&key)
            .into_iter()
            .flat_map(move |map| map.range(..=now).flat_map(|(_, ids)| ids.iter().copied()))
    }

    pub(crate) fn lapsing<'a>(
        &'a self,
        partner: &PartnerId,
        now: Instant,
        until: Instant,
    ) -> impl Iterator<Item = NominationId> + 'a {
        self.partner_lapse
            .get(partner)
            .into_iter()
            .flat_map(move |map| {
                map.range((Bound::Excluded(now), Bound::Included(until)))
                    .flat_map(|(_, ids)| ids.iter().copied())
            })
    }

    pub(crate) fn due(&self, now: Instant) -> impl Iterator<Item = NominationId> + '_ {
        self.wake
            .range(..=now)
            .flat_map(|(_, ids)| ids.iter().copied())
    }

    pub(crate) fn same_customer<'a>(
        &'a self,
        key: &(EngagementId, CustomerId),
    ) -> impl Iterator<Item = &'a NominationId> + 'a {
        self.customer.get(key).into_iter().flatten()
    }

    pub(crate) fn by_link(&self, hash: &TokenHash) -> Option<&NominationId> {
        self.link.get(hash)
    }

    pub(crate) fn in_state<'a>(
        &'a self,
        partner: Option<&PartnerId>,
        state: State,
        after: Option<&'a NominationId>,
    ) -> Box<dyn Iterator<Item = NominationId> + 'a> {
        let set = match partner {
            Some(partner) => self.partner_state.get(&(partner.clone(), state)),
            None => self.state.get(&state),
        };
        Box::new(
            set.into_iter()
                .flat_map(move |set| set.range((after_bound(after), Bound::Unbounded)).copied()),
        )
    }

    pub(crate) fn known<'a>(
        &'a self,
        partner: &PartnerId,
        after: Option<&'a CustomerId>,
    ) -> impl Iterator<Item = (&'a CustomerId, &'a NominationId)> + 'a {
        self.known.get(partner).into_iter().flat_map(move |map| {
            map.range::<CustomerId, _>((
                after.map_or(Bound::Unbounded, Bound::Excluded),
                Bound::Unbounded,
            ))
        })
    }
}
