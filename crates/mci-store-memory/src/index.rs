//! The secondary indexes of the memory store. Every query walks one of
//! these in key order; none filters over every row.
//!
//! Keys name partners and engagements by small numbers the index gives them
//! the first time it sees them ([`Names`]), not by their text: every write
//! touches half a dozen of these maps, and a number is hashed and compared
//! in a few instructions where the text had to be cloned into each key,
//! hashed and compared byte by byte.

use mci_core::{
    AttentionClass, CustomerId, EngagementId, Instant, Nomination, NominationId, PartnerId, State,
    Tab, TokenHash,
};
use mci_store::Derived;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hash;
use std::ops::Bound;

/// The hash maps of the store: foldhash, randomly seeded per map. SipHash
/// (the standard default) is several times slower on these short keys, and
/// its stronger resistance to chosen collisions buys little here: the keys
/// are ids the service makes, numbers the index gives, or values the
/// directories vouched for.
pub(crate) type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A nomination with the values the core derived for it.
#[derive(Debug, Clone)]
pub(crate) struct Indexed {
    pub(crate) nomination: Nomination,
    pub(crate) derived: Derived,
}

/// The number [`Names`] gave a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PartnerNo(usize);

/// The number [`Names`] gave an engagement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct EngagementNo(usize);

/// Numbers for names: each name gets the next number the first time it is
/// seen and keeps it, so a key holds a number, not a copy of the name. A
/// name the index never saw has no number, and so no entries: a query for
/// it answers nothing.
#[derive(Debug)]
struct Names<K> {
    numbers: Map<K, usize>,
    names: Vec<K>,
}

impl<K> Default for Names<K> {
    fn default() -> Self {
        Self {
            numbers: Map::default(),
            names: Vec::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> Names<K> {
    /// The number of `name`, given now if it has none yet.
    fn number(&mut self, name: &K) -> usize {
        if let Some(&number) = self.numbers.get(name) {
            return number;
        }
        let number = self.numbers.len();
        self.numbers.insert(name.clone(), number);
        self.names.push(name.clone());
        number
    }

    /// The name of `number`.
    fn name(&self, number: usize) -> Option<&K> {
        self.names.get(number)
    }

    /// The number of `name`, if it was ever given one.
    fn find(&self, name: &K) -> Option<usize> {
        self.numbers.get(name).copied()
    }
}

/// (partner, engagement, tab code): where a tab's ids are kept.
type Shelf = (PartnerNo, EngagementNo, u8);
type InstantIds = BTreeMap<Instant, BTreeSet<NominationId>>;

#[derive(Debug, Default)]
pub(crate) struct Index {
    partners: Names<PartnerId>,
    engagements: Names<EngagementId>,
    /// (partner, engagement, tab as stored) → ids. A set knows its length,
    /// so it is also the counter of its tab, changed under the same lock as
    /// every write (R-PAGE-9).
    tab: Map<Shelf, BTreeSet<NominationId>>,
    /// (partner, engagement, tab after the lapse) → lapse instant → ids.
    /// The shelves of one partner and engagement, the hidden one (code 0)
    /// included, hold every row of theirs that has a lapse, by lapse
    /// instant: their ranges up to `now` are the lapses not yet swept.
    lapse_into: Map<Shelf, InstantIds>,
    /// partner → lapse instant → ids.
    partner_lapse: Map<PartnerNo, InstantIds>,
    /// (partner, attention class code) → lapse instant → ids: the walks of
    /// the Attention required list (R-LIST-3). A row of no class is on
    /// none.
    attention: Map<(PartnerNo, u8), InstantIds>,
    /// wake instant → ids.
    wake: InstantIds,
    /// (engagement, customer) → ids, ascending. A customer has a handful of
    /// nominations per engagement at most, so a sorted vector (one small
    /// allocation, usually of one id) serves where a B-tree set would
    /// allocate a whole node per customer.
    customer: Map<(EngagementNo, CustomerId), Vec<NominationId>>,
    /// live link hash → id.
    link: Map<TokenHash, NominationId>,
    /// state → ids, and (partner, state) → ids.
    state: Map<State, BTreeSet<NominationId>>,
    partner_state: Map<(PartnerNo, State), BTreeSet<NominationId>>,
    /// partner → customer → the first consented nomination.
    known: Map<PartnerNo, BTreeMap<CustomerId, NominationId>>,
    /// The lists of the Claims page (R-LIST-1), one per (scope,
    /// engagement or any, stored state or any), each by created instant,
    /// by changed instant and (the rows with a lapse, under the state
    /// after it) by lapse instant. The set of a (scope, engagement or any,
    /// state) shelf by created instant is also the counter of that state.
    claims: Map<ClaimsShelf, ClaimsLists>,
}

/// A list of the Claims page: the scope (a partner, or `None` for the
/// reviewer), the engagement or any, the state or any.
type ClaimsShelf = (Option<PartnerNo>, Option<EngagementNo>, Option<State>);

/// The rows of one shelf of the Claims page, by each of its keys.
#[derive(Debug, Default)]
pub(crate) struct ClaimsLists {
    /// Stored here, by created instant.
    pub(crate) created: BTreeSet<(Instant, NominationId)>,
    /// Stored here, by changed instant.
    pub(crate) changed: BTreeSet<(Instant, NominationId)>,
    /// With a lapse into this shelf's state (or any), by lapse instant.
    pub(crate) lapse: BTreeSet<(Instant, NominationId)>,
}

impl ClaimsLists {
    fn is_empty(&self) -> bool {
        self.created.is_empty() && self.changed.is_empty() && self.lapse.is_empty()
    }
}

/// The shelves a row with this scope, engagement and state is on: its own
/// and the "any" ones.
fn claims_shelves(
    scope: Option<PartnerNo>,
    engagement: EngagementNo,
    state: State,
) -> [ClaimsShelf; 4] {
    [
        (scope, None, None),
        (scope, Some(engagement), None),
        (scope, None, Some(state)),
        (scope, Some(engagement), Some(state)),
    ]
}

fn put<K: Hash + Eq>(map: &mut Map<K, BTreeSet<NominationId>>, key: K, id: NominationId) {
    map.entry(key).or_default().insert(id);
}

fn take<K: Hash + Eq>(map: &mut Map<K, BTreeSet<NominationId>>, key: &K, id: &NominationId) {
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

fn after_bound(after: Option<&NominationId>) -> Bound<&NominationId> {
    after.map_or(Bound::Unbounded, Bound::Excluded)
}

impl Index {
    /// The numbers of a nomination's partner and engagement, given now if
    /// the index has not seen them yet.
    fn numbers_of(&mut self, n: &Nomination) -> (PartnerNo, EngagementNo) {
        (
            PartnerNo(self.partners.number(n.partner())),
            EngagementNo(self.engagements.number(n.engagement())),
        )
    }

    fn find_partner(&self, partner: &PartnerId) -> Option<PartnerNo> {
        self.partners.find(partner).map(PartnerNo)
    }

    /// The shelf of a tab of a partner's engagement, if the index has seen
    /// both.
    fn find_shelf(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        tab: Tab,
    ) -> Option<Shelf> {
        Some((
            self.find_partner(partner)?,
            EngagementNo(self.engagements.find(engagement)?),
            Tab::code(Some(tab)),
        ))
    }

    pub(crate) fn insert(&mut self, row: &Indexed) {
        let n = &row.nomination;
        let id = *n.id();
        let (partner, engagement) = self.numbers_of(n);
        let placement = &row.derived.placement;
        put(
            &mut self.tab,
            (partner, engagement, Tab::code(placement.tab)),
            id,
        );
        if let Some(lapse) = placement.lapse_at {
            put_at(
                self.lapse_into
                    .entry((partner, engagement, Tab::code(placement.tab_after_lapse)))
                    .or_default(),
                lapse,
                id,
            );
            put_at(self.partner_lapse.entry(partner).or_default(), lapse, id);
        }
        let attention = n.attention_placement();
        if let (Some(class), Some(lapse)) = (attention.class, attention.lapse_at) {
            put_at(
                self.attention.entry((partner, class.code())).or_default(),
                lapse,
                id,
            );
        }
        if let Some(wake) = placement.wake_at {
            put_at(&mut self.wake, wake, id);
        }
        let same_customer = self
            .customer
            .entry((engagement, *n.customer().id()))
            .or_insert_with(|| Vec::with_capacity(1));
        if let Err(at) = same_customer.binary_search(&id) {
            same_customer.insert(at, id);
        }
        for link in n.links() {
            self.link.insert(*link.hash(), id);
        }
        put(&mut self.state, n.state(), id);
        put(&mut self.partner_state, (partner, n.state()), id);
        if n.consented_at().is_some() {
            self.known
                .entry(partner)
                .or_default()
                .entry(*n.customer().id())
                .or_insert(id);
        }
        self.claims_rows(n, partner, engagement, true);
    }

    /// Puts (`put`) or takes a row on or off the lists of the Claims page.
    fn claims_rows(
        &mut self,
        n: &Nomination,
        partner: PartnerNo,
        engagement: EngagementNo,
        put: bool,
    ) {
        let id = *n.id();
        let placement = n.claims_placement();
        let scopes = [Some(Some(partner)), placement.reviewable.then_some(None)];
        for scope in scopes.into_iter().flatten() {
            for shelf in claims_shelves(scope, engagement, placement.state) {
                let lists = self.claims.entry(shelf).or_default();
                if put {
                    lists.created.insert((placement.created_at, id));
                    lists.changed.insert((placement.changed_at, id));
                } else {
                    lists.created.remove(&(placement.created_at, id));
                    lists.changed.remove(&(placement.changed_at, id));
                }
            }
            if let (Some(lapse), Some(after)) = (placement.lapse_at, placement.state_after_lapse) {
                for shelf in claims_shelves(scope, engagement, after) {
                    // The "any state" shelves are the stored state's too.
                    let lists = self.claims.entry(shelf).or_default();
                    if put {
                        lists.lapse.insert((lapse, id));
                    } else {
                        lists.lapse.remove(&(lapse, id));
                    }
                }
            }
            if !put {
                let shelves = claims_shelves(scope, engagement, placement.state).into_iter();
                let after = placement
                    .state_after_lapse
                    .map(|after| claims_shelves(scope, engagement, after))
                    .into_iter()
                    .flatten();
                for shelf in shelves.chain(after) {
                    if self.claims.get(&shelf).is_some_and(ClaimsLists::is_empty) {
                        self.claims.remove(&shelf);
                    }
                }
            }
        }
    }

    /// The lists of a shelf of the Claims page: `partner`'s (or the
    /// reviewer's, for `None`), of `engagement` or any, of `state` or any.
    /// `None` when the shelf holds nothing.
    pub(crate) fn claims_lists(
        &self,
        partner: Option<&PartnerId>,
        engagement: Option<&EngagementId>,
        state: Option<State>,
    ) -> Option<&ClaimsLists> {
        let scope = match partner {
            Some(partner) => Some(self.find_partner(partner)?),
            None => None,
        };
        let engagement = match engagement {
            Some(engagement) => Some(EngagementNo(self.engagements.find(engagement)?)),
            None => None,
        };
        self.claims.get(&(scope, engagement, state))
    }

    /// Removes a row's entries, except its place among the known customers,
    /// which consent never takes back.
    pub(crate) fn remove(&mut self, row: &Indexed) {
        let n = &row.nomination;
        let id = n.id();
        let (partner, engagement) = self.numbers_of(n);
        let placement = &row.derived.placement;
        take(
            &mut self.tab,
            &(partner, engagement, Tab::code(placement.tab)),
            id,
        );
        if let Some(lapse) = placement.lapse_at {
            let key = (partner, engagement, Tab::code(placement.tab_after_lapse));
            if let Some(map) = self.lapse_into.get_mut(&key) {
                take_at(map, &lapse, id);
                if map.is_empty() {
                    self.lapse_into.remove(&key);
                }
            }
            if let Some(map) = self.partner_lapse.get_mut(&partner) {
                take_at(map, &lapse, id);
                if map.is_empty() {
                    self.partner_lapse.remove(&partner);
                }
            }
        }
        let attention = n.attention_placement();
        if let (Some(class), Some(lapse)) = (attention.class, attention.lapse_at) {
            let key = (partner, class.code());
            if let Some(map) = self.attention.get_mut(&key) {
                take_at(map, &lapse, id);
                if map.is_empty() {
                    self.attention.remove(&key);
                }
            }
        }
        if let Some(wake) = placement.wake_at {
            take_at(&mut self.wake, &wake, id);
        }
        let key = (engagement, *n.customer().id());
        if let Some(same_customer) = self.customer.get_mut(&key) {
            if let Ok(at) = same_customer.binary_search(id) {
                same_customer.remove(at);
            }
            if same_customer.is_empty() {
                self.customer.remove(&key);
            }
        }
        for link in n.links() {
            if self.link.get(link.hash()) == Some(id) {
                self.link.remove(link.hash());
            }
        }
        take(&mut self.state, &n.state(), id);
        take(&mut self.partner_state, &(partner, n.state()), id);
        self.claims_rows(n, partner, engagement, false);
    }

    pub(crate) fn in_tab<'a>(
        &'a self,
        partner: &PartnerId,
        engagement: &EngagementId,
        tab: Tab,
        after: Option<&'a NominationId>,
    ) -> impl Iterator<Item = NominationId> + 'a {
        self.find_shelf(partner, engagement, tab)
            .and_then(|shelf| self.tab.get(&shelf))
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
        self.find_shelf(partner, engagement, tab)
            .and_then(|shelf| self.lapse_into.get(&shelf))
            .into_iter()
            .flat_map(move |map| map.range(..=now).flat_map(|(_, ids)| ids.iter().copied()))
    }

    /// How many rows are stored in `tab` for the partner's engagement, the
    /// rows whose lapse has come included: the counter of the tab.
    pub(crate) fn stored_in_tab(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        tab: Tab,
    ) -> usize {
        self.find_shelf(partner, engagement, tab)
            .and_then(|shelf| self.tab.get(&shelf))
            .map_or(0, BTreeSet::len)
    }

    /// The rows of the partner's engagement whose lapse is at or before
    /// `now`, whatever tab they lapse into: the lapses the sweep has not
    /// written yet, found without walking the partner's other rows.
    pub(crate) fn unswept_lapses<'a>(
        &'a self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> impl Iterator<Item = NominationId> + 'a {
        let found = self
            .find_partner(partner)
            .zip(self.engagements.find(engagement).map(EngagementNo));
        let into = std::iter::once(None).chain(Tab::ALL.map(Some));
        found
            .into_iter()
            .flat_map(move |(partner, engagement)| {
                into.clone().filter_map(move |tab| {
                    self.lapse_into.get(&(partner, engagement, Tab::code(tab)))
                })
            })
            .flat_map(move |map| map.range(..=now).flat_map(|(_, ids)| ids.iter().copied()))
    }

    pub(crate) fn lapsing<'a>(
        &'a self,
        partner: &PartnerId,
        now: Instant,
        until: Instant,
    ) -> impl Iterator<Item = NominationId> + 'a {
        self.find_partner(partner)
            .and_then(|partner| self.partner_lapse.get(&partner))
            .into_iter()
            .flat_map(move |map| {
                map.range((Bound::Excluded(now), Bound::Included(until)))
                    .flat_map(|(_, ids)| ids.iter().copied())
            })
    }

    /// The partner's rows of attention class `class` whose lapse is after
    /// `from` and, when given, at or before `until`, in `(lapse_at, id)`
    /// order: one walk of the Attention required list (R-LIST-3).
    pub(crate) fn attention<'a>(
        &'a self,
        partner: &PartnerId,
        class: AttentionClass,
        (from, until): (Instant, Option<Instant>),
    ) -> impl Iterator<Item = (Instant, NominationId)> + 'a {
        let to = until.map_or(Bound::Unbounded, Bound::Included);
        self.find_partner(partner)
            .and_then(|partner| self.attention.get(&(partner, class.code())))
            .into_iter()
            .flat_map(move |map| {
                map.range((Bound::Excluded(from), to))
                    .flat_map(|(at, ids)| ids.iter().map(move |id| (*at, *id)))
            })
    }

    /// The due nominations at `now` in `(wake_at, id)` order, after
    /// `after`.
    pub(crate) fn due(
        &self,
        now: Instant,
        after: Option<(Instant, NominationId)>,
    ) -> impl Iterator<Item = (Instant, NominationId)> + '_ {
        let start = after.map_or(Bound::Unbounded, |(at, _)| Bound::Included(at));
        self.wake
            .range((start, Bound::Included(now)))
            .flat_map(|(at, ids)| ids.iter().map(move |id| (*at, *id)))
            .filter(move |key| after.is_none_or(|after| *key > after))
    }

    /// The ids of the nominations of `customer` for `engagement`, ascending.
    pub(crate) fn same_customer<'a>(
        &'a self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> impl Iterator<Item = &'a NominationId> + 'a {
        self.engagements
            .find(engagement)
            .and_then(|engagement| self.customer.get(&(EngagementNo(engagement), *customer)))
            .into_iter()
            .flatten()
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
            Some(partner) => self
                .find_partner(partner)
                .and_then(|partner| self.partner_state.get(&(partner, state))),
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
        self.find_partner(partner)
            .and_then(|partner| self.known.get(&partner))
            .into_iter()
            .flat_map(move |map| {
                map.range::<CustomerId, _>((
                    after.map_or(Bound::Unbounded, Bound::Excluded),
                    Bound::Unbounded,
                ))
            })
    }
}

impl Index {
    /// Whether `customer` consented to `partner` for some engagement.
    pub(crate) fn is_known(&self, partner: &PartnerId, customer: &CustomerId) -> bool {
        self.known_through(partner, customer).is_some()
    }

    /// The nomination through which `customer` is known to `partner`.
    pub(crate) fn known_through(
        &self,
        partner: &PartnerId,
        customer: &CustomerId,
    ) -> Option<&NominationId> {
        self.find_partner(partner)
            .and_then(|partner| self.known.get(&partner))
            .and_then(|map| map.get(customer))
    }

    /// Up to `limit` of every partner's known customers in (partner,
    /// customer) order after `after`, with the nomination each is known
    /// through.
    pub(crate) fn known_after_limited(
        &self,
        after: Option<&(PartnerId, CustomerId)>,
        limit: usize,
    ) -> Vec<(PartnerId, CustomerId, NominationId)> {
        let mut partners: Vec<(&PartnerId, PartnerNo)> = self
            .known
            .keys()
            .filter_map(|no| Some((self.partners.name(no.0)?, *no)))
            .filter(|(id, _)| after.is_none_or(|(p, _)| *id >= p))
            .collect();
        partners.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut out = Vec::new();
        for (partner, no) in partners {
            let Some(map) = self.known.get(&no) else {
                continue;
            };
            let from = match after {
                Some((p, c)) if p == partner => Bound::Excluded(c),
                _ => Bound::Unbounded,
            };
            for (customer, through) in map.range::<CustomerId, _>((from, Bound::Unbounded)) {
                if out.len() == limit {
                    return out;
                }
                out.push((partner.clone(), *customer, *through));
            }
        }
        out
    }
}
