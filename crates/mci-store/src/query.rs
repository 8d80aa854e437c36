//! Query and answer types of the store.

use mci_core::{EngagementId, Instant, Message, Nomination, NominationId, PartnerId, State, Tab};

/// One page of one tab (R-PAGE-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Whose nominations.
    pub partner: PartnerId,
    /// Of which engagement.
    pub engagement: EngagementId,
    /// Which tab.
    pub tab: Tab,
    /// The instant the tab is read at.
    pub now: Instant,
    /// The keyset cursor: the last id of the previous page.
    pub after: Option<NominationId>,
    /// The most rows.
    pub limit: usize,
}

/// Nominations by stored state, not lapsed at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateQuery {
    /// The states wanted.
    pub states: Vec<State>,
    /// Only this partner's, or everyone's.
    pub partner: Option<PartnerId>,
    /// The instant read at: nominations whose lapse has come are left out.
    pub now: Instant,
    /// The keyset cursor.
    pub after: Option<NominationId>,
    /// The most rows.
    pub limit: usize,
}

/// A page of nominations in id order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    /// The rows.
    pub rows: Vec<Nomination>,
    /// The cursor for the next page, `None` on the last page.
    pub next: Option<NominationId>,
}

impl Page {
    /// A page of `rows` read with `limit`: a full page has a next cursor.
    pub fn new(rows: Vec<Nomination>, limit: usize) -> Self {
        let next = if rows.len() >= limit && limit > 0 {
            rows.last().map(|n| *n.id())
        } else {
            None
        };
        Self { rows, next }
    }
}

/// How many nominations each tab holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TabCounts {
    /// In the Eligible tab.
    pub eligible: u64,
    /// In the Complete tab.
    pub complete: u64,
}

/// An outbox message taken for delivery, and how often it has been taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    /// The message; its id is stable across deliveries.
    pub message: Message,
    /// 1 the first time it is taken, more when a lease expired.
    pub attempt: u32,
}
