//! The PostgreSQL comparisons, each ours through the service over a
//! [`PostgresStore`] against raw tokio-postgres running the adapter's own
//! statements ([`crate::raw_pg`]) in the same run, on the same server.
//!
//! | comparison | ours | baseline |
//! | --- | --- | --- |
//! | [`PostgresAdd`] | `Incentives::add_customer`, one call at a time | [`raw_pg::put_commit`] of the add's write, one transaction per call |
//! | [`PostgresAccept`] | `Incentives::accept_consent` from 64 concurrent callers, the store's pool of 16 | [`raw_pg::put_commit`] of each acceptance from 64 callers, a deadpool of 16 |
//! | [`PostgresPage`] | `Incentives::customers_page`, first page of the large tab | [`raw_pg::RawPage`]: the keyset walk and the counts' statements |
//! | [`PostgresClaimsSearch`] | `Incentives::claims` with a search, the big partner's first two pages | the adapter's page and counts statements, each row decoded and tested by `ClaimsSearch::matches` |
//!
//! The server ([`PgServer`]) is the one `MCI_POSTGRES_URL` names, or a
//! throwaway cluster of [`mci_pg_harness`] with `fsync`,
//! `synchronous_commit` and `full_page_writes` on, so that a commit is
//! acknowledged once it is on disk: each side has a database of its own on
//! it.
//!
//! ```no_run
//! use mci_benches::postgres::{PgServer, PostgresAdd};
//!
//! // None, with one line on stderr, where PostgreSQL is not installed.
//! if let Some(server) = PgServer::start_or_skip("an example") {
//!     let mut add = PostgresAdd::new(&server, 100).unwrap();
//!     add.ours(10).unwrap();
//!     add.baseline(10).unwrap();
//! }
//! ```

use crate::BoxError;
use crate::comparison::{self, CALLERS, ServicePage, current_thread, multi_thread};
use crate::raw_pg::{self, AnswerKey, Encoded, RawPage, RawRead};
use crate::service::{self, Add, Ports};
use crate::world::{self, KnownFor, Rng, WorldSpec};
use mci_core::{Engagement, LinkToken, Nomination, NominationId};
use mci_engagements::Incentives;
use mci_pg_harness::{Cluster, URL_VAR};
use mci_store::{Commit, Store, Write};
use mci_store_postgres::{PostgresStore, columns};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// The settings of the throwaway cluster: every commit on disk before it
/// is acknowledged, as `tests/crash.rs` of the adapter runs it.
pub const DURABLE: [(&str, &str); 3] = [
    ("fsync", "on"),
    ("synchronous_commit", "on"),
    ("full_page_writes", "on"),
];

/// The server the PostgreSQL comparisons run on.
#[derive(Debug)]
pub struct PgServer {
    cluster: Cluster,
    databases: AtomicUsize,
}

impl PgServer {
    /// The server `MCI_POSTGRES_URL` names, or else a throwaway cluster
    /// with the [`DURABLE`] settings; `None`, with one line on stderr
    /// naming `what`, where PostgreSQL is not installed.
    ///
    /// # Panics
    ///
    /// Where PostgreSQL is not installed and `MCI_REQUIRE_POSTGRES` is set,
    /// and where it is and cannot start, or the server named does not
    /// answer (see [`Cluster::start_or_skip`]).
    pub fn start_or_skip(what: &str) -> Option<Self> {
        let external = std::env::var(URL_VAR).is_ok_and(|url| !url.is_empty());
        let cluster = if external {
            Cluster::start_or_skip(what)?
        } else {
            Self::settings(&DURABLE).start_or_skip(what)?
        };
        Some(Self::of(cluster))
    }

    /// The server `MCI_POSTGRES_URL` names, or else a throwaway cluster
    /// with the harness's settings (`fsync` off): for tests, which need
    /// no durability.
    ///
    /// # Panics
    ///
    /// As [`PgServer::start_or_skip`].
    pub fn any_or_skip(what: &str) -> Option<Self> {
        Some(Self::of(Cluster::start_or_skip(what)?))
    }

    /// Always a throwaway cluster, with the harness's settings and
    /// `settings`: for tests that read the server's log.
    ///
    /// # Panics
    ///
    /// As [`PgServer::start_or_skip`].
    pub fn own_or_skip(what: &str, settings: &[(&str, &str)]) -> Option<Self> {
        Some(Self::of(Self::settings(settings).start_or_skip(what)?))
    }

    fn settings(settings: &[(&str, &str)]) -> mci_pg_harness::Builder {
        settings
            .iter()
            .fold(Cluster::builder(), |b, (name, value)| {
                b.setting(name, value)
            })
    }

    fn of(cluster: Cluster) -> Self {
        Self {
            cluster,
            databases: AtomicUsize::new(0),
        }
    }

    /// The cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// A new database named after `name`: its connection string.
    pub fn database(&self, name: &str) -> Result<String, BoxError> {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("{name}_{n}");
        self.cluster.create_database(&name)?;
        Ok(self.cluster.connection_string(&name))
    }

    /// What the server is, for the report: its version and durability
    /// settings.
    pub fn describe(&self) -> Result<String, BoxError> {
        let name = format!(
            "describe_{}",
            self.databases.fetch_add(1, Ordering::Relaxed)
        );
        self.cluster.create_database(&name)?;
        let show = |setting: &str| self.cluster.psql(&name, &format!("SHOW {setting}"));
        Ok(format!(
            "{} PostgreSQL {}: fsync {}, synchronous_commit {}, full_page_writes {}, \
             shared_buffers {}, work_mem {}",
            if self.cluster.is_external() {
                format!("the server {URL_VAR} names,")
            } else {
                "a throwaway cluster of".to_owned()
            },
            show("server_version")?,
            show("fsync")?,
            show("synchronous_commit")?,
            show("full_page_writes")?,
            show("shared_buffers")?,
            show("work_mem")?,
        ))
    }
}

/// A store on a new database of `server` named after `name`, connected on
/// `rt`, with the default options.
fn store_on(rt: &Runtime, server: &PgServer, name: &str) -> Result<Arc<PostgresStore>, BoxError> {
    connect(rt, &server.database(name)?)
}

/// A store on the database `url` names, connected on `rt`, with the
/// default options.
fn connect(rt: &Runtime, url: &str) -> Result<Arc<PostgresStore>, BoxError> {
    Ok(Arc::new(rt.block_on(PostgresStore::connect(url))?))
}

/// A new database of `server` named after `name`, with the store's schema:
/// its connection string.
fn raw_database(rt: &Runtime, server: &PgServer, name: &str) -> Result<String, BoxError> {
    let url = server.database(name)?;
    rt.block_on(raw_pg::create(&url))?;
    Ok(url)
}

/// (k) PostgreSQL: one durable *add customer* per call, against raw
/// tokio-postgres running the same statements in one transaction per call.
///
/// Ours calls [`Incentives::add_customer`] over a [`PostgresStore`], one
/// call at a time: the service's reads (the customer's other nominations,
/// one statement on a connection of the store's pool), mci-core, the
/// commit prepared, then one READ COMMITTED transaction with the
/// adapter's statements (the customer lock, the stored rows, the guard
/// counts, the row, its event, the known rows of the customer, the
/// known row and known customer of the answer it keeps, the tab counter)
/// and `COMMIT`, which waits for the WAL's flush. The baseline
/// takes the same write, made beforehand by mci-core from the same form,
/// and per call encodes it and runs the same statements
/// ([`raw_pg::put_commit`]) on one raw connection. Each side writes its
/// own database; both start over with a new one after every `pool` adds.
pub struct PostgresAdd<'s> {
    server: &'s PgServer,
    rt: Runtime,
    adds: Vec<Add>,
    ports: Ports,
    service: Incentives,
    done: usize,
    writes: Vec<Write>,
    raw: deadpool_postgres::Object,
    raw_done: usize,
    urls: [String; 2],
}

impl<'s> PostgresAdd<'s> {
    /// The comparison on `server` with a pool of `pool` customers.
    pub fn new(server: &'s PgServer, pool: usize) -> Result<Self, BoxError> {
        let first = comparison::ADD_CUSTOMERS;
        let adds = service::adds(first, pool)?;
        let ports = Ports::knowing(first..first + pool as u64)?;
        let catalog = world::catalog()?;
        let mut rng = Rng::new(0xe);
        let writes = adds
            .iter()
            .map(|add| Ok(Write::from(add.outcome(&catalog, row_id(&mut rng))?)))
            .collect::<Result<Vec<_>, BoxError>>()?;
        let rt = current_thread()?;
        let ours = server.database("add_ours")?;
        let service = ports.service(connect(&rt, &ours)?)?;
        let url = raw_database(&rt, server, "add_raw")?;
        let raw = rt.block_on(raw_pg::raw_client(&url))?;
        Ok(Self {
            server,
            rt,
            adds,
            ports,
            service,
            done: 0,
            writes,
            raw,
            raw_done: 0,
            urls: [ours, url],
        })
    }

    /// The connection strings of the first databases of ours and of the
    /// baseline.
    pub fn urls(&self) -> [String; 2] {
        self.urls.clone()
    }

    /// `ops` durable adds through the service, one after the other.
    pub fn ours(&mut self, ops: u64) -> Result<Duration, BoxError> {
        comparison::timed_in_chunks(
            self,
            ops,
            |s| s.adds.len() - s.done,
            |s| {
                s.service = s.ports.service(store_on(&s.rt, s.server, "add_ours")?)?;
                s.done = 0;
                Ok(())
            },
            |s, n| {
                comparison::add_all(&s.rt, &s.service, &s.adds[s.done..s.done + n])?;
                s.done += n;
                Ok(())
            },
        )
    }

    /// `ops` durable raw transactions, one after the other.
    pub fn baseline(&mut self, ops: u64) -> Result<Duration, BoxError> {
        comparison::timed_in_chunks(
            self,
            ops,
            |s| s.writes.len() - s.raw_done,
            |s| {
                let url = raw_database(&s.rt, s.server, "add_raw")?;
                s.raw = s.rt.block_on(raw_pg::raw_client(&url))?;
                s.raw_done = 0;
                Ok(())
            },
            |s, n| {
                let now = columns::bound(world::now());
                let (rt, raw) = (&s.rt, &mut s.raw);
                rt.block_on(async {
                    for write in &s.writes[s.raw_done..s.raw_done + n] {
                        let encoded = Encoded::of(write)?;
                        let answer = AnswerKey::about(&write.nomination);
                        raw_pg::put_commit(
                            raw,
                            now,
                            std::slice::from_ref(&encoded),
                            std::slice::from_ref(&answer),
                        )
                        .await?;
                    }
                    Ok::<_, BoxError>(())
                })?;
                s.raw_done += n;
                Ok(())
            },
        )
    }
}

/// The id of a row a baseline writes: a UUID v7 of the world's now.
fn row_id(rng: &mut Rng) -> NominationId {
    NominationId::new_v7(
        u64::try_from(world::now().timestamp_millis()).unwrap_or(0),
        rng.bytes(),
    )
}

/// The first customer number of the acceptance pool.
const ACCEPT_CUSTOMERS: u64 = 300_000_000;

/// (l) PostgreSQL: *accept consent* from [`CALLERS`] concurrent customers,
/// against raw tokio-postgres doing the same from as many callers through
/// a pool of the same size.
///
/// Ours: [`CALLERS`] tasks on a multi-threaded runtime each call
/// [`Incentives::accept_consent`] with their share of the tokens, over a
/// [`PostgresStore`] with the default pool of 16 connections: each call
/// reads the nomination by its link and its rivals (two statements), mci-core
/// accepts, and the commit runs the adapter's statements in one
/// transaction (the registry share, the customer lock, the stored row, the
/// guard counts, the row at its version, its event, its links rewritten,
/// its outbox message, the known customer, the tab counters), each commit
/// waiting for its own WAL flush (PostgreSQL flushes the commits waiting
/// at once together). The baseline: as many tasks, each taking a
/// connection from a deadpool of the same size for each acceptance, made
/// beforehand by mci-core with the same token at the same instant, encoded
/// and written by [`raw_pg::put_commit`]. Both databases hold the same
/// nominations awaiting consent, made in chunks as the calls use them up.
pub struct PostgresAccept {
    rt: Runtime,
    catalog: Vec<Engagement>,
    partners: Vec<world::Partner>,
    rng: Rng,
    store: Arc<PostgresStore>,
    service: Arc<Incentives>,
    raw_store: PostgresStore,
    raw: deadpool_postgres::Pool,
    awaiting: Vec<(Nomination, LinkToken)>,
    next: usize,
    raw_next: usize,
    urls: [String; 2],
}

impl PostgresAccept {
    /// The comparison on `server`, with `initial` nominations awaiting
    /// consent.
    pub fn new(server: &PgServer, initial: usize) -> Result<Self, BoxError> {
        let rt = multi_thread()?;
        let ours = server.database("accept_ours")?;
        let store = connect(&rt, &ours)?;
        let service = Arc::new(Ports::knowing(0..0)?.service(store.clone())?);
        let url = raw_database(&rt, server, "accept_raw")?;
        // Writes the awaiting nominations into the baseline's database.
        let raw_store = rt.block_on(PostgresStore::connect(url.as_str()))?;
        let raw = raw_pg::raw_pool(&url, store.pool_size())?;
        let mut accept = Self {
            rt,
            catalog: world::catalog()?,
            partners: (0..world::PARTNERS)
                .map(world::partner)
                .collect::<Result<_, _>>()?,
            rng: Rng::new(0xf),
            store,
            service,
            raw_store,
            raw,
            awaiting: Vec::new(),
            next: 0,
            raw_next: 0,
            urls: [ours, url],
        };
        accept.grow(initial)?;
        Ok(accept)
    }

    /// The connection strings of the databases of ours and of the
    /// baseline.
    pub fn urls(&self) -> [String; 2] {
        self.urls.clone()
    }

    /// The size of both pools.
    pub fn pool_size(&self) -> usize {
        self.store.pool_size()
    }

    /// Adds `n` nominations awaiting consent to both databases: added two
    /// days before the world's now, consent sent a day later.
    fn grow(&mut self, n: usize) -> Result<(), BoxError> {
        let added_at = world::now() - chrono::TimeDelta::days(2);
        let sent_at = world::now() - chrono::TimeDelta::days(1);
        let mut made = 0;
        while made < n {
            let k = self.awaiting.len();
            let size = (n - made).min(world::COMMIT_WRITES);
            let mut added = Commit::at(added_at);
            let mut sent = Commit::at(sent_at);
            for i in k..k + size {
                let engagement = world::pick_engagement(&mut self.rng);
                let partner = &self.partners[world::pick_partner(&mut self.rng, engagement)];
                let id = NominationId::new_v7(
                    u64::try_from(added_at.timestamp_millis()).unwrap_or(0),
                    self.rng.bytes(),
                );
                let outcome = world::added(
                    &self.catalog[engagement],
                    partner,
                    ACCEPT_CUSTOMERS + i as u64,
                    added_at,
                    id,
                )?;
                let token = LinkToken::from_bytes(self.rng.bytes());
                let asked =
                    world::send_consent(&outcome.nomination, sent_at, &partner.admin, &token)?;
                self.awaiting.push((asked.nomination.clone(), token));
                added.writes.push(Write::from(outcome));
                sent.writes.push(Write::from(asked));
            }
            let (store, raw_store) = (self.store.clone(), &self.raw_store);
            let (raw_added, raw_sent) = (added.clone(), sent.clone());
            let (raw, own) = self.rt.block_on(async move {
                tokio::join!(
                    async {
                        raw_store.commit(raw_added).await?;
                        raw_store.commit(raw_sent).await
                    },
                    async {
                        store.commit(added).await?;
                        store.commit(sent).await
                    }
                )
            });
            raw?;
            own?;
            made += size;
        }
        Ok(())
    }

    /// `ops` acceptances by [`CALLERS`] concurrent callers.
    pub fn ours(&mut self, ops: u64) -> Result<Duration, BoxError> {
        let ops = usize::try_from(ops)?;
        if self.next + ops > self.awaiting.len() {
            let short = self.next + ops - self.awaiting.len();
            self.grow(short)?;
        }
        let mut shares: Vec<Vec<LinkToken>> = vec![Vec::new(); CALLERS];
        for (i, (_, token)) in self.awaiting[self.next..self.next + ops].iter().enumerate() {
            shares[i % CALLERS].push(token.clone());
        }
        self.next += ops;
        let service = &self.service;
        let start = Instant::now();
        self.rt.block_on(async {
            let callers: Vec<_> = shares
                .into_iter()
                .map(|tokens| {
                    let service = service.clone();
                    tokio::spawn(async move {
                        for token in tokens {
                            black_box(service.accept_consent(&token).await?);
                        }
                        Ok::<_, mci_engagements::Error>(())
                    })
                })
                .collect();
            for caller in callers {
                caller.await??;
            }
            Ok::<_, BoxError>(())
        })?;
        Ok(start.elapsed())
    }

    /// `ops` raw acceptances by [`CALLERS`] concurrent callers, one
    /// transaction each.
    pub fn baseline(&mut self, ops: u64) -> Result<Duration, BoxError> {
        let ops = usize::try_from(ops)?;
        if self.raw_next + ops > self.awaiting.len() {
            let short = self.raw_next + ops - self.awaiting.len();
            self.grow(short)?;
        }
        let mut shares: Vec<Vec<Write>> = vec![Vec::new(); CALLERS];
        for (i, (nomination, token)) in self.awaiting[self.raw_next..self.raw_next + ops]
            .iter()
            .enumerate()
        {
            shares[i % CALLERS].push(Write::from(world::accept_consent(
                nomination,
                world::now(),
                token,
            )?));
        }
        self.raw_next += ops;
        let now = columns::bound(world::now());
        let pool = &self.raw;
        let start = Instant::now();
        self.rt.block_on(async {
            let callers: Vec<_> = shares
                .into_iter()
                .map(|writes| {
                    let pool = pool.clone();
                    tokio::spawn(async move {
                        for write in writes {
                            let encoded = Encoded::of(&write)?;
                            let mut client = pool.get().await?;
                            raw_pg::put_commit(
                                &mut client,
                                now,
                                std::slice::from_ref(&encoded),
                                &[],
                            )
                            .await?;
                        }
                        Ok::<_, BoxError>(())
                    })
                })
                .collect();
            for caller in callers {
                caller.await??;
            }
            Ok::<_, BoxError>(())
        })?;
        Ok(start.elapsed())
    }
}

/// A world of nominations in a PostgreSQL database, with its known rows,
/// written with `COPY` ([`raw_pg::load_world`]) as the store would hold it
/// once swept at [`world::now`] and given its known rows and answers by
/// [`world::know`].
pub struct PostgresWorld {
    rt: Runtime,
    url: String,
    /// How many nominations.
    pub nominations: usize,
    /// How many of them the sweep woke.
    pub swept: usize,
    /// The known rows and answers, as [`world::know`] would count them.
    pub known: world::Known,
    /// How many rows the tables got.
    pub rows: u64,
    /// How long the rows took to load, with `ANALYZE`.
    pub loaded_in: Duration,
    /// The database's size in bytes.
    pub bytes: u64,
}

impl PostgresWorld {
    /// The world of `spec` on a new database of `server`, with known rows
    /// for `which`.
    pub fn build(server: &PgServer, spec: &WorldSpec, which: KnownFor) -> Result<Self, BoxError> {
        let rt = multi_thread()?;
        let url = raw_database(&rt, server, "world")?;
        let start = Instant::now();
        let loaded = rt.block_on(raw_pg::load_world(&url, spec, which))?;
        let loaded_in = start.elapsed();
        let client = rt.block_on(raw_pg::raw_client(&url))?;
        let bytes: i64 = rt
            .block_on(client.query_one("SELECT pg_database_size(current_database())", &[]))?
            .try_get(0)?;
        Ok(Self {
            rt,
            url,
            nominations: loaded.nominations,
            swept: loaded.swept,
            known: loaded.known,
            rows: loaded.rows,
            loaded_in,
            bytes: u64::try_from(bytes).unwrap_or_default(),
        })
    }

    /// The database's connection string.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A store on the world, connected on the world's runtime, whose
    /// workers drive its connections.
    pub fn store(&self) -> Result<Arc<PostgresStore>, BoxError> {
        Ok(Arc::new(
            self.rt
                .block_on(PostgresStore::connect(self.url.as_str()))?,
        ))
    }
}

/// (m) PostgreSQL: the service's Customers page, first page of the large
/// tab with its counts, against the adapter's statements for it on a raw
/// connection.
///
/// Ours is [`ServicePage::ours`] over a [`PostgresStore`] on the world:
/// [`Incentives::customers_page`] for the big partner's admin, which asks
/// the store for the tab's page (one statement), its tab counts (a
/// snapshot of two) and its known customers' counts (a snapshot of
/// three), and derives the rows. The baseline runs the same six
/// statements in the same transactions ([`RawPage`]) and decodes the
/// page's documents. Both connections are driven by the world's runtime,
/// and so are both sides' calls (`block_on` on the measuring thread).
pub struct PostgresPage<'w> {
    world: &'w PostgresWorld,
    page: ServicePage,
    raw: RawPage,
}

impl<'w> PostgresPage<'w> {
    /// The comparison on `world`; checks both sides read the same page
    /// and counts.
    pub fn new(world: &'w PostgresWorld) -> Result<Self, BoxError> {
        let mut page = ServicePage::new(world.store()?)?;
        let client = world.rt.block_on(raw_pg::raw_client(&world.url))?;
        let mut raw = RawPage::new(client, &comparison::big_page()?)?;
        let ours = page.read()?;
        let theirs = world.rt.block_on(raw.read())?;
        Self::check(&ours, &theirs)?;
        Ok(Self { world, page, raw })
    }

    fn check(ours: &mci_engagements::CustomersPage, theirs: &RawRead) -> Result<(), BoxError> {
        let ids: Vec<_> = ours
            .rows
            .iter()
            .filter_map(|row| match row {
                mci_engagements::CustomerRow::Nomination(row) => Some(row.nomination),
                mci_engagements::CustomerRow::Known(_) => None,
            })
            .collect();
        let raw_ids: Vec<_> = theirs.rows.iter().map(|n| *n.id()).collect();
        let kept: i64 = theirs.kept.iter().map(|(_, n)| n).sum();
        let counts = &ours.counts;
        let shown = counts.eligible + counts.ineligible + counts.complete;
        let figures = theirs.figures.unwrap_or_default();
        let known = figures[0] + figures[2];
        if ids.len() != world::PAGE
            || ids != raw_ids
            || !theirs.lapses.is_empty()
            || u64::try_from(kept + known).ok() != Some(shown)
        {
            return Err(format!(
                "the pages differ: ours {} rows, counts {counts:?}; the baseline's {} rows, \
                 kept {kept}, known {known}, {} unswept lapses",
                ids.len(),
                raw_ids.len(),
                theirs.lapses.len()
            )
            .into());
        }
        Ok(())
    }

    /// `ops` Customers pages through the service, driven by the world's
    /// runtime as the baseline's reads are: a current-thread runtime's
    /// `block_on` waits on its I/O driver, woken through an eventfd at
    /// every reply, the multi-threaded runtime's on a futex.
    pub fn ours(&mut self, ops: u64) -> Result<Duration, BoxError> {
        self.page.ours_on(&self.world.rt, ops)
    }

    /// `EXPLAIN (ANALYZE, BUFFERS)` of each of the page's statements on
    /// the raw connection, and how it planned them ([`RawPage::explain`]).
    pub fn explain(&mut self) -> Result<Vec<(String, String)>, BoxError> {
        self.world.rt.block_on(self.raw.explain())
    }

    /// `ops` pages and counts from the raw connection.
    pub fn baseline(&mut self, ops: u64) -> Result<Duration, BoxError> {
        let raw = &mut self.raw;
        let start = Instant::now();
        self.world.rt.block_on(async {
            for _ in 0..ops {
                black_box(raw.read().await?);
            }
            Ok::<_, BoxError>(())
        })?;
        Ok(start.elapsed())
    }
}

/// (p) PostgreSQL: a search of the Claims page of the big partner, the
/// first page and the one after its cursor, against the adapter's
/// statements for it on a raw connection ([`crate::search`] says what
/// each side does on SQLite).
///
/// Ours calls [`Incentives::claims`] over a [`PostgresStore`] on the
/// world: for each page the store runs, in one REPEATABLE READ read-only
/// transaction, the page's settings and its one statement (the walk of
/// `claims_created` limited to the search's bound), decodes the documents
/// and keeps those the search matches up to the page's limit; then the
/// counts in another (the kept counters and the unswept lapses). The
/// baseline runs the same statements
/// ([`mci_store_postgres::statements::claims`]) in the same transactions
/// on a raw connection, decodes each document and keeps it when
/// [`ClaimsSearch::matches`](mci_core::ClaimsSearch::matches) says so,
/// up to the same limit and bound. Both are driven by the world's runtime.
pub struct PostgresClaimsSearch<'w> {
    world: &'w PostgresWorld,
    service: Incentives,
    admin: mci_core::PartnerUser,
    client: deadpool_postgres::Object,
    request: mci_engagements::ClaimsRequest,
    search: mci_core::ClaimsSearch,
    /// The adapter's statement of the first page, and of a page after a
    /// cursor, with the names of their parameters.
    statements: [(String, Vec<&'static str>); 2],
    /// How many rows each of the two pages of an operation matched.
    pub matched: [usize; 2],
    /// How many rows each of them looked at.
    pub scanned: [usize; 2],
}

/// Where a raw PostgreSQL page starts: the sort key and the id of the last
/// row looked at.
type PgCursor = (i64, uuid::Uuid);

/// A page of the PostgreSQL baseline.
struct PgPage {
    rows: Vec<Nomination>,
    next: Option<PgCursor>,
    scanned: usize,
    counts: mci_store::ClaimCounts,
}

impl<'w> PostgresClaimsSearch<'w> {
    /// The comparison of `which` on `world`; checks that both sides answer
    /// the same two pages, and that the first answers a cursor.
    pub fn new(world: &'w PostgresWorld, which: crate::search::Search) -> Result<Self, BoxError> {
        let request = crate::search::request_of(which);
        let search = mci_core::ClaimsSearch::new(which.input())?;
        let statements = crate::search::queries(&request, &search)?
            .map(|q| mci_store_postgres::statements::claims::page(&q));
        let mut fixture = Self {
            world,
            service: Ports::knowing(0..0)?.service(world.store()?)?,
            admin: world::partner(0)?.admin,
            client: world.rt.block_on(raw_pg::raw_client(&world.url))?,
            request,
            search,
            statements,
            matched: [0; 2],
            scanned: [0; 2],
        };
        let ours = fixture.rt().block_on(fixture.ours_search())?;
        let ours: Vec<crate::search::Answer> = ours.iter().map(crate::search::Answer::of).collect();
        let baseline = {
            let pages = fixture.rt().block_on(fixture.raw_search())?;
            pages
                .iter()
                .map(|page| fixture.answer(page))
                .collect::<Result<Vec<_>, _>>()?
        };
        if ours != baseline || ours.len() != 2 {
            return Err(format!(
                "the two pages of the {} search differ or stop short: ours {ours:?}, \
                 baseline {baseline:?}",
                which.name()
            )
            .into());
        }
        for (i, answer) in ours.iter().enumerate() {
            fixture.matched[i] = answer.rows.len();
            fixture.scanned[i] = answer.scanned;
        }
        Ok(fixture)
    }

    fn rt(&self) -> &'w Runtime {
        &self.world.rt
    }

    /// `ops` searches of two pages through the service.
    pub fn ours(&mut self, ops: u64) -> Result<Duration, BoxError> {
        let start = Instant::now();
        self.rt().block_on(async {
            for _ in 0..ops {
                black_box(self.ours_search().await?);
            }
            Ok::<_, mci_engagements::Error>(())
        })?;
        Ok(start.elapsed())
    }

    /// `ops` searches of two pages on the raw connection.
    pub fn baseline(&mut self, ops: u64) -> Result<Duration, BoxError> {
        let rt = self.rt();
        let start = Instant::now();
        rt.block_on(async {
            for _ in 0..ops {
                black_box(self.raw_search().await?);
            }
            Ok::<_, BoxError>(())
        })?;
        Ok(start.elapsed())
    }

    /// Every page of the search through the service, from the first to
    /// the end of the list.
    pub fn walk_ours(&mut self) -> Result<Vec<crate::search::Answer>, BoxError> {
        let mut request = self.request.clone();
        let mut answers = Vec::new();
        loop {
            let page = self
                .rt()
                .block_on(self.service.claims(&self.admin, &request))?;
            answers.push(crate::search::Answer::of(&page));
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => return Ok(answers),
            }
        }
    }

    /// Every page of the search on the raw connection.
    pub fn walk_baseline(&mut self) -> Result<Vec<crate::search::Answer>, BoxError> {
        let mut after = None;
        let mut answers = Vec::new();
        loop {
            let page = self.rt().block_on(self.raw_page(after))?;
            answers.push(self.answer(&page)?);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(answers),
            }
        }
    }

    /// The two pages of one search through the service.
    async fn ours_search(
        &self,
    ) -> Result<Vec<mci_engagements::ClaimsPage>, mci_engagements::Error> {
        let first = self.service.claims(&self.admin, &self.request).await?;
        let Some(next) = first.next else {
            return Ok(vec![first]);
        };
        let request = mci_engagements::ClaimsRequest {
            cursor: Some(next),
            ..self.request.clone()
        };
        let second = self.service.claims(&self.admin, &request).await?;
        Ok(vec![first, second])
    }

    /// The two pages of one search on the raw connection.
    async fn raw_search(&mut self) -> Result<Vec<PgPage>, BoxError> {
        let first = self.raw_page(None).await?;
        let Some(next) = first.next else {
            return Ok(vec![first]);
        };
        let second = self.raw_page(Some(next)).await?;
        Ok(vec![first, second])
    }

    /// The baseline's page after `after`: the adapter's walk in its
    /// snapshot, each row decoded and tested in turn, then the counts in
    /// another.
    async fn raw_page(&mut self, after: Option<PgCursor>) -> Result<PgPage, BoxError> {
        use mci_store_postgres::statements::claims::{
            PAGE_SETTINGS, PARTNER_COUNTS, PARTNER_LAPSES,
        };
        use mci_store_postgres::tokio_postgres::types::ToSql;
        let (sql, names) = &self.statements[usize::from(after.is_some())];
        let scan = self.search.scan();
        let limit = self.request.limit.max(1);
        let partner = world::BIG_PARTNER.to_owned();
        let bound_rows = i64::try_from(scan)?;
        let (at, id) = after.unwrap_or((0, uuid::Uuid::nil()));
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(names.len());
        for name in names {
            params.push(match *name {
                "partner" => &partner,
                "at" => &at,
                "id" => &id,
                "limit" => &bound_rows,
                other => return Err(format!("the baseline binds no {other}").into()),
            });
        }
        let tx = raw_pg::snapshot(&mut self.client).await?;
        tx.batch_execute(PAGE_SETTINGS).await?;
        let statement = tx.prepare_cached(sql).await?;
        let found = tx.query(&statement, &params).await?;
        let mut rows = Vec::new();
        let mut scanned = 0;
        let mut last = None;
        let mut full = false;
        for row in &found {
            let id: uuid::Uuid = row.try_get(0)?;
            let at: i64 = row.try_get(1)?;
            let nomination: Nomination = serde_json::from_str(row.try_get::<_, &str>(2)?)?;
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
        tx.commit().await?;
        let next = if full || scanned >= scan { last } else { None };
        let tx = raw_pg::snapshot(&mut self.client).await?;
        let mut counts = mci_store::ClaimCounts::default();
        let kept = tx.prepare_cached(PARTNER_COUNTS).await?;
        for row in tx.query(&kept, &[&partner]).await? {
            let n: i64 = row.try_get(1)?;
            counts.add(crate::search::state_of(row.try_get(0)?)?, u64::try_from(n)?);
        }
        let lapses = tx.prepare_cached(PARTNER_LAPSES).await?;
        let now = columns::bound(world::now());
        for row in tx.query(&lapses, &[&partner, &now]).await? {
            if let Some(to) = row.try_get::<_, Option<&str>>(1)? {
                counts.lapse(
                    crate::search::state_of(row.try_get(0)?)?,
                    crate::search::state_of(to)?,
                );
            }
        }
        tx.commit().await?;
        Ok(PgPage {
            rows,
            next,
            scanned,
            counts,
        })
    }

    /// A raw page as the service answers it.
    fn answer(&self, page: &PgPage) -> Result<crate::search::Answer, BoxError> {
        let next = match page.next {
            Some((at, id)) => Some(mci_engagements::ClaimsPageCursor::new(
                self.request.order,
                columns::instant_at(at)?,
                NominationId::from_uuid(id)?,
            )),
            None => None,
        };
        Ok(crate::search::Answer {
            rows: page.rows.iter().map(|n| *n.id()).collect(),
            next,
            scanned: page.scanned,
            counts: page.counts.clone(),
        })
    }
}
