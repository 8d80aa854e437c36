//! (o) SQLite: a search of the Claims page (R-LIST-1) of one partner's
//! claims, a whole world of them, against the raw indexed walk with the
//! same filter.
//!
//! Ours calls [`Incentives::claims`] over a [`SqliteStore`] on a swept
//! [`ExportWorld`] (every nomination [`world::BIG_PARTNER`]'s), newest
//! first by creation, with a search: the service checks the search
//! ([`ClaimsSearch::new`]); the store's reader runs the page's one
//! statement, the walk of the list's own index (`claims_created`) after
//! the cursor, limited to the search's bound of rows
//! ([`ClaimsSearch::scan`]), decodes the documents and keeps those the
//! search matches, at most the page's limit; another read, in one read
//! transaction, gives the counts of each state (the kept counters and the
//! lapses not swept); the service makes the rows and the cursor. Each
//! operation is one search of two pages: the first, and the one after the
//! cursor the first answered.
//!
//! The baseline runs the same statements (the store's own SQL, from
//! [`mci_store_sqlite::statements::claims`]) on a raw read-only
//! connection to the same file: the walk row by row, each document decoded
//! and kept when [`ClaimsSearch::matches`] (mci-core's rule) says so,
//! stopping at the page's limit or the search's bound, the same cursor
//! after the last row looked at; then the same counts in one read
//! transaction. `benches/tests/same_work.rs` walks every page of each
//! search on both sides and finds the same rows, cursors, rows looked at
//! and counts; [`PostgresClaimsSearch`](crate::postgres::PostgresClaimsSearch)
//! is the same comparison on PostgreSQL, and `benches/tests/postgres.rs`
//! finds its pages to be SQLite's for the same world.
//!
//! ```
//! use mci_benches::export::ExportWorld;
//! use mci_benches::search::{Search, SqliteClaimsSearch};
//!
//! let mut world = ExportWorld::build(1_200).unwrap();
//! world.sweep().unwrap();
//! let mut search = SqliteClaimsSearch::new(world.path(), Search::NamePrefix).unwrap();
//! assert_eq!(search.walk_ours().unwrap(), search.walk_baseline().unwrap());
//! search.ours(1).unwrap();
//! search.baseline(1).unwrap();
//! ```

use crate::BoxError;
use crate::comparison::current_thread;
use crate::raw::RawDb;
use crate::service::Ports;
use crate::world::{self, BIG_PARTNER};
use mci_core::{
    ClaimsOrder, ClaimsSearch, ClaimsSearchInput, Nomination, NominationId, PartnerUser, State,
};
use mci_engagements::{ClaimCounts, ClaimsPage, ClaimsPageCursor, ClaimsRequest, Incentives};
use mci_store::{ClaimsCursor, ClaimsQuery, ClaimsScope, Store};
use mci_store_sqlite::SqliteStore;
use mci_store_sqlite::columns::{bound, instant_at};
use mci_store_sqlite::statements::claims::{PARTNER_COUNTS, PARTNER_LAPSES, page};
use rusqlite::named_params;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// The searches compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Friendly names starting with `c12`, in any case (`C12 …`,
    /// `C120 …`, `C12000 …`): about one claim in twenty, looked for in
    /// the default bound of [`ClaimsSearch::SCAN`] rows a page.
    NamePrefix,
    /// The customers of the email domain `c12.example`: the few claims
    /// of one customer, looked for in [`ClaimsSearch::MAX_SCAN`] rows a
    /// page; in a large world, none of the newest rows.
    EmailDomain,
    /// The claims created in the last 14 days: every one of the newest,
    /// so that a page is full long before the default bound of rows.
    CreatedRecently,
}

impl Search {
    /// Every search, in the report's order.
    pub const ALL: [Search; 3] = [
        Search::NamePrefix,
        Search::EmailDomain,
        Search::CreatedRecently,
    ];

    /// What the partner types.
    pub fn input(self) -> ClaimsSearchInput {
        match self {
            Search::NamePrefix => ClaimsSearchInput {
                name_prefix: Some("c12".into()),
                ..ClaimsSearchInput::default()
            },
            Search::EmailDomain => ClaimsSearchInput {
                email_domain: Some("c12.example".into()),
                scan: Some(ClaimsSearch::MAX_SCAN),
                ..ClaimsSearchInput::default()
            },
            Search::CreatedRecently => ClaimsSearchInput {
                created_from: Some(world::now() - chrono::TimeDelta::days(14)),
                ..ClaimsSearchInput::default()
            },
        }
    }

    /// The search, as the report's table names it.
    pub fn name(self) -> &'static str {
        match self {
            Search::NamePrefix => "friendly-name prefix c12",
            Search::EmailDomain => "email domain c12.example",
            Search::CreatedRecently => "created in the last 14 days",
        }
    }
}

/// What a page of a search answers, on either side: the rows' ids, the
/// cursor, how many rows it looked at, the counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The nominations matched, newest first.
    pub rows: Vec<NominationId>,
    /// Where the next page starts.
    pub next: Option<ClaimsPageCursor>,
    /// The rows of the list looked at.
    pub scanned: usize,
    /// The counts of each state.
    pub counts: ClaimCounts,
}

impl Answer {
    /// What the service's `page` answers.
    pub(crate) fn of(page: &ClaimsPage) -> Self {
        Self {
            rows: page.rows.iter().map(|r| r.nomination).collect(),
            next: page.next,
            scanned: page.scanned,
            counts: page.counts.clone(),
        }
    }
}

/// Where a raw page starts: the sort key and the id of the last row looked
/// at, as stored.
type RawCursor = (i64, [u8; 16]);

/// A page of the baseline.
struct RawPage {
    rows: Vec<Nomination>,
    next: Option<RawCursor>,
    scanned: usize,
    counts: ClaimCounts,
}

/// The comparison of one [`Search`] on one file.
pub struct SqliteClaimsSearch {
    rt: Runtime,
    service: Incentives,
    store: Arc<dyn Store>,
    admin: PartnerUser,
    raw: RawDb,
    request: ClaimsRequest,
    search: ClaimsSearch,
    /// The store's statement of the first page, and of a page after a
    /// cursor.
    statements: [String; 2],
    /// How many rows each of the two pages of an operation matched.
    pub matched: [usize; 2],
    /// How many rows each of them looked at.
    pub scanned: [usize; 2],
}

impl SqliteClaimsSearch {
    /// The comparison of `search` on the swept one-partner world at `path`;
    /// checks that both sides answer the same two pages, and that the
    /// first answers a cursor.
    pub fn new(path: &Path, search: Search) -> Result<Self, BoxError> {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path)?);
        let request = request_of(search);
        let checked = ClaimsSearch::new(search.input())?;
        let [first, after] = queries(&request, &checked)?.map(|q| page(&q));
        let mut fixture = Self {
            rt: current_thread()?,
            service: Ports::knowing(0..0)?.service(store.clone())?,
            store,
            admin: world::partner(0)?.admin,
            raw: RawDb::open_read_only(path)?,
            request,
            search: checked,
            statements: [first, after],
            matched: [0; 2],
            scanned: [0; 2],
        };
        let ours = fixture.rt.block_on(fixture.ours_search())?;
        let ours: Vec<Answer> = ours.iter().map(Answer::of).collect();
        let baseline = fixture.baseline_search()?;
        if ours != baseline || ours.len() != 2 {
            return Err(format!(
                "the two pages of the {} search differ or stop short: ours {ours:?}, \
                 baseline {baseline:?}",
                search.name()
            )
            .into());
        }
        for (i, answer) in ours.iter().enumerate() {
            fixture.matched[i] = answer.rows.len();
            fixture.scanned[i] = answer.scanned;
        }
        Ok(fixture)
    }

    /// `ops` searches of two pages through the service.
    pub fn ours(&mut self, ops: u64) -> Result<Duration, BoxError> {
        let start = Instant::now();
        self.rt.block_on(async {
            for _ in 0..ops {
                black_box(self.ours_search().await?);
            }
            Ok::<_, mci_engagements::Error>(())
        })?;
        Ok(start.elapsed())
    }

    /// `ops` searches of two pages on the raw connection.
    pub fn baseline(&mut self, ops: u64) -> Result<Duration, BoxError> {
        let start = Instant::now();
        for _ in 0..ops {
            black_box(self.raw_search()?);
        }
        Ok(start.elapsed())
    }

    /// `ops` searches of two pages from the store itself: for each page
    /// [`Store::claims`] and [`Store::claim_counts`], as the service asks
    /// them, without the service around them.
    pub fn store_pages(&mut self, ops: u64) -> Result<Duration, BoxError> {
        let [mut query, _] = queries(&self.request, &self.search)?;
        let scope = query.scope.clone();
        let start = Instant::now();
        self.rt.block_on(async {
            for _ in 0..ops {
                query.after = None;
                for _ in 0..2 {
                    let page = self.store.claims(&query).await?;
                    let counts = self.store.claim_counts(&scope, None, query.now).await?;
                    query.after = page.next;
                    black_box((page, counts));
                    if query.after.is_none() {
                        break;
                    }
                }
            }
            Ok::<_, mci_store::StoreError>(())
        })?;
        Ok(start.elapsed())
    }

    /// Every page of the search through the service, from the first to
    /// the end of the list.
    pub fn walk_ours(&mut self) -> Result<Vec<Answer>, BoxError> {
        let mut request = self.request.clone();
        let mut answers = Vec::new();
        loop {
            let page = self
                .rt
                .block_on(self.service.claims(&self.admin, &request))?;
            answers.push(Answer::of(&page));
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => return Ok(answers),
            }
        }
    }

    /// Every page of the search on the raw connection.
    pub fn walk_baseline(&mut self) -> Result<Vec<Answer>, BoxError> {
        let mut after = None;
        let mut answers = Vec::new();
        loop {
            let page = self.raw_page(after)?;
            answers.push(self.answer(&page)?);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(answers),
            }
        }
    }

    /// The two pages of one search through the service: the first, and the
    /// one after its cursor (none when the first reached the end).
    async fn ours_search(&self) -> Result<Vec<ClaimsPage>, mci_engagements::Error> {
        let first = self.service.claims(&self.admin, &self.request).await?;
        let Some(next) = first.next else {
            return Ok(vec![first]);
        };
        let request = ClaimsRequest {
            cursor: Some(next),
            ..self.request.clone()
        };
        let second = self.service.claims(&self.admin, &request).await?;
        Ok(vec![first, second])
    }

    fn baseline_search(&self) -> Result<Vec<Answer>, BoxError> {
        self.raw_search()?
            .iter()
            .map(|page| self.answer(page))
            .collect()
    }

    /// The two pages of one search on the raw connection.
    fn raw_search(&self) -> Result<Vec<RawPage>, BoxError> {
        let first = self.raw_page(None)?;
        let Some(next) = first.next else {
            return Ok(vec![first]);
        };
        let second = self.raw_page(Some(next))?;
        Ok(vec![first, second])
    }

    /// The baseline's page after `after`: the store's walk, each row
    /// decoded and tested as it comes, then the counts.
    fn raw_page(&self, after: Option<RawCursor>) -> Result<RawPage, BoxError> {
        let conn = self.raw.conn();
        let scan = self.search.scan();
        let limit = self.request.limit.max(1);
        let bound_rows = i64::try_from(scan)?;
        let mut statement;
        let mut walked = match &after {
            None => {
                statement = conn.prepare_cached(&self.statements[0])?;
                statement.query(named_params! {":partner": BIG_PARTNER, ":limit": bound_rows})?
            }
            Some((at, id)) => {
                statement = conn.prepare_cached(&self.statements[1])?;
                statement.query(named_params! {
                    ":partner": BIG_PARTNER,
                    ":at": at,
                    ":id": id,
                    ":limit": bound_rows,
                })?
            }
        };
        let mut rows = Vec::new();
        let mut scanned = 0;
        let mut last = None;
        let mut full = false;
        while let Some(row) = walked.next()? {
            let id: [u8; 16] = row.get_ref(0)?.as_blob()?.try_into()?;
            let at: i64 = row.get(1)?;
            let nomination: Nomination = serde_json::from_str(row.get_ref(2)?.as_str()?)?;
            scanned += 1;
            last = Some((at, id));
            if self.search.matches(&nomination) {
                rows.push(nomination);
            }
            if rows.len() >= limit {
                full = true;
                break;
            }
        }
        drop(walked);
        let next = if full || scanned >= scan { last } else { None };
        Ok(RawPage {
            rows,
            next,
            scanned,
            counts: self.raw_counts()?,
        })
    }

    /// The partner's counts of each state, in one read transaction: the
    /// kept counters, each lapse not swept moved to the state it lapses
    /// into.
    fn raw_counts(&self) -> Result<ClaimCounts, BoxError> {
        let tx = self.raw.conn().unchecked_transaction()?;
        let mut counts = ClaimCounts::default();
        {
            let mut kept = tx.prepare_cached(PARTNER_COUNTS)?;
            let mut rows = kept.query([BIG_PARTNER])?;
            while let Some(row) = rows.next()? {
                let n: i64 = row.get(1)?;
                counts.add(state_of(row.get_ref(0)?.as_str()?)?, u64::try_from(n)?);
            }
            let mut lapses = tx.prepare_cached(PARTNER_LAPSES)?;
            let mut rows = lapses.query(rusqlite::params![BIG_PARTNER, bound(world::now())])?;
            while let Some(row) = rows.next()? {
                if let Some(to) = row.get_ref(1)?.as_str_or_null()? {
                    counts.lapse(state_of(row.get_ref(0)?.as_str()?)?, state_of(to)?);
                }
            }
        }
        tx.rollback()?;
        Ok(counts)
    }

    /// A raw page as the service answers it.
    fn answer(&self, page: &RawPage) -> Result<Answer, BoxError> {
        let order: ClaimsOrder = self.request.order;
        let next = match page.next {
            Some((at, id)) => Some(ClaimsPageCursor::new(
                order,
                instant_at(at)?,
                NominationId::from_uuid(uuid::Uuid::from_bytes(id))?,
            )),
            None => None,
        };
        Ok(Answer {
            rows: page.rows.iter().map(|n| *n.id()).collect(),
            next,
            scanned: page.scanned,
            counts: page.counts.clone(),
        })
    }
}

/// The store's queries of the big partner's pages of `request` with
/// `search`: the first page, and a page after a cursor (any: a page's
/// statement depends on whether there is one).
pub(crate) fn queries(
    request: &ClaimsRequest,
    search: &ClaimsSearch,
) -> Result<[ClaimsQuery; 2], BoxError> {
    let first = ClaimsQuery {
        scope: ClaimsScope::Partner(BIG_PARTNER.parse()?),
        engagement: request.engagement.clone(),
        state: request.state,
        order: request.order,
        now: world::now(),
        after: None,
        limit: request.limit,
        search: Some(search.clone()),
    };
    let after = ClaimsQuery {
        after: Some(ClaimsCursor {
            at: world::now(),
            id: NominationId::new_v7(0, [0; 10]),
        }),
        ..first.clone()
    };
    Ok([first, after])
}

/// The request of the first page of `search`.
pub(crate) fn request_of(search: Search) -> ClaimsRequest {
    ClaimsRequest {
        search: Some(search.input()),
        ..ClaimsRequest::default()
    }
}

/// A state read back from its stored name, as the stores read it.
pub(crate) fn state_of(name: &str) -> Result<State, BoxError> {
    Ok(serde_json::from_value(serde_json::Value::String(
        name.to_owned(),
    ))?)
}
