//! The memory baselines: what storing and paging cost with nothing but a
//! standard map.
//!
//! - [`PlainMap`]: a `Mutex<HashMap>` from nomination id to the row the
//!   service writes for an add (the nomination, its event, its messages).
//! - [`PlainTabIndex`]: the memory store's tab index as it is keyed
//!   (`(partner, engagement, tab code)` to a `BTreeSet` of ids) beside a
//!   `HashMap` of the rows; a page is a range scan of one set, the first
//!   `limit` ids, each row cloned.
//!
//! ```
//! use mci_benches::plain::{PlainMap, PlainRow};
//! use mci_testkit::*;
//!
//! let scenario = Scenario::added();
//! let map = PlainMap::default();
//! map.insert(PlainRow {
//!     nomination: scenario.nomination.clone(),
//!     event: scenario.last_event().clone(),
//!     messages: scenario.messages.clone(),
//! });
//! assert_eq!(map.len(), 1);
//! ```

use mci_core::{EngagementId, Event, Message, Nomination, NominationId, PartnerId, Tab};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

/// What the service writes for one add: the nomination, its event and the
/// messages it queues (an add queues none).
#[derive(Debug, Clone)]
pub struct PlainRow {
    /// The nomination.
    pub nomination: Nomination,
    /// Its event.
    pub event: Event,
    /// Its messages.
    pub messages: Vec<Message>,
}

/// Rows in a plain map behind a mutex.
#[derive(Debug, Default)]
pub struct PlainMap {
    rows: Mutex<HashMap<NominationId, PlainRow>>,
}

impl PlainMap {
    fn rows(&self) -> MutexGuard<'_, HashMap<NominationId, PlainRow>> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Inserts `row` under its nomination's id.
    pub fn insert(&self, row: PlainRow) {
        self.rows().insert(*row.nomination.id(), row);
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes every row out, leaving the map empty.
    pub fn drain(&self) -> Vec<PlainRow> {
        self.rows().drain().map(|(_, row)| row).collect()
    }
}

/// The memory store's tab key: partner, engagement, tab code.
type Shelf = (PartnerId, EngagementId, u8);

/// A tab index keyed as the memory store keys its own, and the rows.
#[derive(Debug, Default)]
pub struct PlainTabIndex {
    tab: HashMap<Shelf, BTreeSet<NominationId>>,
    rows: HashMap<NominationId, Nomination>,
}

impl PlainTabIndex {
    /// The index of `nominations`, each under the tab it is stored in.
    pub fn of(nominations: Vec<Nomination>) -> Self {
        let mut index = Self::default();
        for nomination in nominations {
            let shelf = (
                nomination.partner().clone(),
                nomination.engagement().clone(),
                Tab::code(nomination.placement().tab),
            );
            index.tab.entry(shelf).or_default().insert(*nomination.id());
            index.rows.insert(*nomination.id(), nomination);
        }
        index
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Applies to every row what a sweep at `now` writes
    /// ([`Nomination::wake`]), moving it to the tab it is then stored in;
    /// how many rows changed. A `now` the core refuses wakes nothing.
    pub fn wake_all(&mut self, now: mci_core::Instant) -> usize {
        let mut woken = 0;
        for nomination in self.rows.values_mut() {
            let Ok(Some(outcome)) = nomination.wake(now) else {
                continue;
            };
            let shelf = |n: &Nomination| {
                (
                    n.partner().clone(),
                    n.engagement().clone(),
                    Tab::code(n.placement().tab),
                )
            };
            let (before, after) = (shelf(nomination), shelf(&outcome.nomination));
            if before != after {
                if let Some(ids) = self.tab.get_mut(&before) {
                    ids.remove(nomination.id());
                }
                self.tab.entry(after).or_default().insert(*nomination.id());
            }
            *nomination = outcome.nomination;
            woken += 1;
        }
        woken
    }

    /// The first `limit` rows of a tab as stored, in id order, cloned.
    pub fn page(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        tab: Tab,
        limit: usize,
    ) -> Vec<Nomination> {
        let key = (partner.clone(), engagement.clone(), Tab::code(Some(tab)));
        self.tab
            .get(&key)
            .into_iter()
            .flat_map(|ids| ids.iter().take(limit))
            .filter_map(|id| self.rows.get(id).cloned())
            .collect()
    }
}
