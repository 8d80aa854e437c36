//! The known rows: one per partner, engagement and known customer, with the
//! kept answer of the eligibility port and the placement the core derives
//! from it (`mci_store` "Known customers", R-PAGE-9).

use mci_core::{
    CustomerId, EngagementId, Instant, KeptAnswer, KnownCustomer, KnownPlacement, PartnerId,
    Standing, Tab, known_placement,
};
use mci_store::{KnownCounts, KnownEntry, KnownPage, KnownToCheck};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

/// The partner and standing of every nomination of an engagement and
/// customer, as the store reads them.
pub(crate) type Standings<'a> =
    dyn Fn(&EngagementId, &CustomerId) -> Vec<(PartnerId, Standing)> + 'a;

/// (partner, engagement, customer): a known row.
pub(crate) type RowKey = (PartnerId, EngagementId, CustomerId);

#[derive(Debug, Clone)]
struct Row {
    known: KnownCustomer,
    answer: Option<KeptAnswer>,
    placement: KnownPlacement,
}

/// How far [`Store::seed_known`](mci_store::Store::seed_known) got for one
/// engagement.
#[derive(Debug, Default)]
struct Seeding {
    after: Option<(PartnerId, CustomerId)>,
    done: bool,
}

/// The figures of one partner's engagement.
#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    eligible: u64,
    not_checked: u64,
    ineligible: u64,
}

impl Figures {
    fn add(&mut self, placement: &KnownPlacement, sign: i8) {
        let step = |n: &mut u64| {
            *n = if sign > 0 {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            }
        };
        match placement.tab {
            Some(Tab::Eligible) => {
                step(&mut self.eligible);
                if !placement.checked {
                    step(&mut self.not_checked);
                }
            }
            Some(Tab::Ineligible) => step(&mut self.ineligible),
            _ => {}
        }
    }
}

/// The indexes of one partner's engagement.
#[derive(Debug, Default)]
struct Shelf {
    /// Tab code as kept → customers.
    tab: BTreeMap<u8, BTreeSet<CustomerId>>,
    /// `changes_at` → customers.
    change: BTreeMap<Instant, BTreeSet<CustomerId>>,
    /// Answer instant → customers, of the rows kept shown and checked.
    answer: BTreeMap<Instant, BTreeSet<CustomerId>>,
    figures: Figures,
}

fn put_in<K: Ord>(map: &mut BTreeMap<K, BTreeSet<CustomerId>>, key: K, customer: CustomerId) {
    map.entry(key).or_default().insert(customer);
}

fn take_from<K: Ord>(map: &mut BTreeMap<K, BTreeSet<CustomerId>>, key: K, customer: &CustomerId) {
    if let Some(set) = map.get_mut(&key) {
        set.remove(customer);
        if set.is_empty() {
            map.remove(&key);
        }
    }
}

/// The known rows and their indexes.
#[derive(Debug, Default)]
pub(crate) struct KnownRows {
    rows: HashMap<RowKey, Row>,
    shelves: HashMap<(PartnerId, EngagementId), Shelf>,
    /// (answer instant or none, partner, engagement, customer): what to
    /// ask again, never asked first.
    to_check: BTreeSet<(Option<Instant>, PartnerId, EngagementId, CustomerId)>,
    /// (engagement, customer) → the partners with a row.
    partners: HashMap<(EngagementId, CustomerId), BTreeSet<PartnerId>>,
    engagements: BTreeMap<EngagementId, Seeding>,
}

fn shown_and_checked(row: &Row) -> Option<Instant> {
    let answer = row.answer.as_ref()?;
    (row.placement.tab.is_some() && row.placement.checked).then_some(answer.checked_at)
}

impl KnownRows {
    fn unindex(&mut self, key: &RowKey, row: &Row) {
        let (p, e, c) = key;
        if let Some(shelf) = self.shelves.get_mut(&(p.clone(), e.clone())) {
            take_from(&mut shelf.tab, Tab::code(row.placement.tab), c);
            if let Some(at) = row.placement.changes_at {
                take_from(&mut shelf.change, at, c);
            }
            if let Some(at) = shown_and_checked(row) {
                take_from(&mut shelf.answer, at, c);
            }
            shelf.figures.add(&row.placement, -1);
        }
        self.to_check.remove(&(
            row.answer.as_ref().map(|a| a.checked_at),
            p.clone(),
            e.clone(),
            *c,
        ));
    }

    fn index(&mut self, key: &RowKey, row: &Row) {
        let (p, e, c) = key;
        let shelf = self.shelves.entry((p.clone(), e.clone())).or_default();
        put_in(&mut shelf.tab, Tab::code(row.placement.tab), *c);
        if let Some(at) = row.placement.changes_at {
            put_in(&mut shelf.change, at, *c);
        }
        if let Some(at) = shown_and_checked(row) {
            put_in(&mut shelf.answer, at, *c);
        }
        shelf.figures.add(&row.placement, 1);
        self.to_check.insert((
            row.answer.as_ref().map(|a| a.checked_at),
            p.clone(),
            e.clone(),
            *c,
        ));
        self.partners
            .entry((e.clone(), *c))
            .or_default()
            .insert(p.clone());
    }

    fn put(&mut self, key: RowKey, row: Row) {
        if let Some(old) = self.rows.remove(&key) {
            self.unindex(&key, &old);
        }
        self.index(&key, &row);
        self.rows.insert(key, row);
    }

    /// The engagements rows are kept for.
    pub(crate) fn engagements(&self) -> impl Iterator<Item = &EngagementId> {
        self.engagements.keys()
    }

    /// Takes `engagement` on; whether every known customer has its row.
    pub(crate) fn seeding(
        &mut self,
        engagement: &EngagementId,
    ) -> (bool, Option<(PartnerId, CustomerId)>) {
        let seeding = self.engagements.entry(engagement.clone()).or_default();
        (seeding.done, seeding.after.clone())
    }

    /// Records how far the seeding of `engagement` got.
    pub(crate) fn seeded(
        &mut self,
        engagement: &EngagementId,
        after: Option<(PartnerId, CustomerId)>,
        done: bool,
    ) {
        let seeding = self.engagements.entry(engagement.clone()).or_default();
        seeding.after = after;
        seeding.done = done;
    }

    /// Whether the row exists.
    pub(crate) fn has(&self, key: &RowKey) -> bool {
        self.rows.contains_key(key)
    }

    /// Creates the row of `key` if it has none, placed at `now` without an
    /// answer.
    pub(crate) fn seed(
        &mut self,
        key: RowKey,
        known: KnownCustomer,
        standings: &[(PartnerId, Standing)],
        now: Instant,
    ) {
        if self.rows.contains_key(&key) {
            return;
        }
        let placement = known_placement(&key.0, None, standings, now);
        self.put(
            key,
            Row {
                known,
                answer: None,
                placement,
            },
        );
    }

    /// Keeps `answer` on the row of `key`, if the row exists or `known`
    /// says whom it is for, and places it at `now`.
    pub(crate) fn keep(
        &mut self,
        key: RowKey,
        known: Option<KnownCustomer>,
        answer: KeptAnswer,
        standings: &[(PartnerId, Standing)],
        now: Instant,
    ) {
        let Some(known) = self.rows.get(&key).map(|r| r.known.clone()).or(known) else {
            return;
        };
        let placement = known_placement(&key.0, Some(&answer), standings, now);
        self.put(
            key,
            Row {
                known,
                answer: Some(answer),
                placement,
            },
        );
    }

    /// Places again, at `now`, every row of `engagement` and `customer`.
    pub(crate) fn replace(
        &mut self,
        engagement: &EngagementId,
        customer: &CustomerId,
        standings: &[(PartnerId, Standing)],
        now: Instant,
    ) {
        let partners: Vec<PartnerId> = self
            .partners
            .get(&(engagement.clone(), *customer))
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default();
        for partner in partners {
            let key = (partner, engagement.clone(), *customer);
            let Some(row) = self.rows.get(&key) else {
                continue;
            };
            let placement = known_placement(&key.0, row.answer.as_ref(), standings, now);
            if placement != row.placement {
                let row = Row {
                    placement,
                    ..row.clone()
                };
                self.put(key, row);
            }
        }
    }

    /// The rows of a partner's engagement whose kept placement no longer
    /// holds at `now`, each placed again at `now`: the corrections reads
    /// make (bounded by what the sweep has not written yet).
    fn changed<'a>(
        &'a self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
        standings: &Standings<'_>,
    ) -> Vec<(CustomerId, &'a Row, KnownPlacement)> {
        let Some(shelf) = self.shelves.get(&(partner.clone(), engagement.clone())) else {
            return Vec::new();
        };
        let mut changed: Vec<(CustomerId, &Row, KnownPlacement)> = shelf
            .change
            .range(..=now)
            .flat_map(|(_, customers)| customers)
            .filter_map(|c| {
                let row = self.rows.get(&(partner.clone(), engagement.clone(), *c))?;
                let placement =
                    known_placement(partner, row.answer.as_ref(), &standings(engagement, c), now);
                Some((*c, row, placement))
            })
            .collect();
        changed.sort_by_key(|(c, _, _)| *c);
        changed
    }

    /// One page of the rows on `tab` at `now` after `after`.
    pub(crate) fn page(
        &self,
        (partner, engagement): (&PartnerId, &EngagementId),
        tab: Tab,
        now: Instant,
        after: Option<&CustomerId>,
        limit: usize,
        standings: &Standings<'_>,
    ) -> KnownPage {
        let code = Tab::code(Some(tab));
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let kept = self
            .shelves
            .get(&(partner.clone(), engagement.clone()))
            .and_then(|shelf| shelf.tab.get(&code))
            .into_iter()
            .flat_map(move |customers| customers.range::<CustomerId, _>((from, Bound::Unbounded)))
            .filter_map(|c| {
                let row = self.rows.get(&(partner.clone(), engagement.clone(), *c))?;
                row.placement
                    .holds_at(now)
                    .then(|| (*c, row, row.placement.clone()))
            });
        let changed = self
            .changed(partner, engagement, now, standings)
            .into_iter()
            .filter(|(c, _, placement)| {
                placement.tab == Some(tab) && after.is_none_or(|after| c > after)
            });
        let mut rows = Vec::new();
        let (mut a, mut b) = (kept.peekable(), changed.peekable());
        while rows.len() < limit {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 <= y.0 => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => None,
            };
            let Some((_, row, placement)) = next else {
                break;
            };
            rows.push(KnownEntry {
                known: row.known.clone(),
                placement,
                answer: row.answer.clone(),
            });
        }
        let next = (rows.len() == limit && limit > 0)
            .then(|| rows.last().map(|r| *r.known.customer.id()))
            .flatten();
        KnownPage { rows, next }
    }

    /// The counts of a partner's engagement at `now`.
    pub(crate) fn counts(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
        standings: &Standings<'_>,
    ) -> KnownCounts {
        let shelf = self.shelves.get(&(partner.clone(), engagement.clone()));
        let mut figures = shelf.map(|s| s.figures).unwrap_or_default();
        let changed = self.changed(partner, engagement, now, standings);
        let mut oldest: Option<Instant> = None;
        for (_, row, placement) in &changed {
            figures.add(&row.placement, -1);
            figures.add(placement, 1);
            if placement.tab.is_some() && placement.checked {
                oldest = min(oldest, row.answer.as_ref().map(|a| a.checked_at));
            }
        }
        let first_kept = shelf
            .into_iter()
            .flat_map(|s| &s.answer)
            .flat_map(|(at, customers)| customers.iter().map(move |c| (*at, c)))
            .find(|(_, c)| {
                self.rows
                    .get(&(partner.clone(), engagement.clone(), **c))
                    .is_some_and(|row| row.placement.holds_at(now))
            })
            .map(|(at, _)| at);
        KnownCounts {
            eligible: figures.eligible,
            not_checked: figures.not_checked,
            ineligible: figures.ineligible,
            oldest_answer: min(oldest, first_kept),
        }
    }

    /// Up to `limit` rows never asked about or last asked before
    /// `older_than`.
    pub(crate) fn to_check(&self, older_than: Instant, limit: usize) -> Vec<KnownToCheck> {
        self.to_check
            .iter()
            .take_while(|(at, _, _, _)| at.is_none_or(|at| at < older_than))
            .take(limit)
            .filter_map(|(at, p, e, c)| {
                let row = self.rows.get(&(p.clone(), e.clone(), *c))?;
                Some(KnownToCheck {
                    partner: p.clone(),
                    engagement: e.clone(),
                    known: row.known.clone(),
                    checked_at: *at,
                })
            })
            .collect()
    }
}

fn min(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}
