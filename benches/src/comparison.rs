//! The comparisons, each with its fixture, our side and its baseline. The criterion benches and the report binary both drive these:
//! every `ours` and `baseline` method runs a number of operations and
//! answers the time they took, leaving out whatever set-up it had to do
//! on the way (a fresh store when a pool of customers runs out, a fresh
//! copy of the database before a sweep).
//!
//! | comparison | ours | baseline |
//! | --- | --- | --- |
//! | [`MemoryAdd`] | `Incentives::add_customer` over the memory store | the row it writes, moved into a [`PlainMap`] |
//! | [`MemoryPage`] | `MemoryStore::page`, first page of the large tab at 1M | [`PlainTabIndex::page`] |
//! | [`SqliteAdd`] | `add_customer` over SQLite, `Durability::Full` | [`RawDb::write_one`] of the row, `synchronous = FULL` |
//! | [`SqliteAccept`] | `accept_consent` from 64 concurrent callers, `Full` | [`RawDb::write_one`] of each acceptance, one caller |
//! | [`SqlitePage`] | `SqliteStore::page`, first page of the large tab | [`RawDb::page`]: the store's keyset query, decoded |
//! | [`SqlitePage`] twice | the page at 1M | the page at 10k |
//! | [`SqliteSweep`] | `Incentives::sweep` at 1M, 10% due | [`RawDb::sweep`]: batched transactions |
//! | [`ServicePage`] twice | `Incentives::customers_page` at 1M (100k known customers) | the same at 10k (1k known customers) |
//! | [`ServicePage`] | `Incentives::customers_page` | `Store::page` of the same tab |
//! | [`ServicePage`] | `Incentives::customers_page` a day after the last sweep | the same, swept |
//!
//! The PostgreSQL comparisons, (k) to (m), are in [`crate::postgres`].

use crate::BoxError;
use crate::plain::{PlainMap, PlainRow, PlainTabIndex};
use crate::raw::{self, RawDb};
use crate::service::{self, Add, Ports};
use crate::world::{self, BIG_ENGAGEMENT, BIG_PARTNER, PAGE, Rng, WorldSpec};
use mci_core::{Engagement, LinkToken, Nomination, NominationId, PartnerUser, Tab};
use mci_engagements::ports::ManualClock;
use mci_engagements::{CustomersPage, Incentives};
use mci_store::{Commit, KnownQuery, PageQuery, Store, Write};
use mci_store_memory::MemoryStore;
use mci_store_sqlite::{Durability, Options, SqliteStore};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::runtime::Runtime;

/// The timed work of both add comparisons: `adds` through the service, one
/// after the other.
pub(crate) fn add_all(
    rt: &Runtime,
    service: &Incentives,
    adds: &[Add],
) -> Result<(), mci_engagements::Error> {
    rt.block_on(async {
        for add in adds {
            black_box(service.add_customer(&add.admin, &add.form).await?);
        }
        Ok(())
    })
}

/// The first customer number of the add pools: far from the world's.
pub(crate) const ADD_CUSTOMERS: u64 = 100_000_000;
/// The first customer number of the acceptance pool.
const ACCEPT_CUSTOMERS: u64 = 200_000_000;
/// How many customers accept consent at once.
pub const CALLERS: usize = 64;

/// A runtime on this thread: what a sequential caller awaits on.
pub fn current_thread() -> Result<Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// A runtime with one worker per core of this machine.
pub fn multi_thread() -> Result<Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The id of a row a baseline writes: a UUID v7 of the world's now.
fn row_id(rng: &mut Rng) -> NominationId {
    NominationId::new_v7(
        u64::try_from(world::now().timestamp_millis()).unwrap_or(0),
        rng.bytes(),
    )
}

/// Times `ops` operations of `run` taken `chunk(left)` at a time, with
/// `reset` (not timed) between chunks whenever `exhausted` says so.
pub(crate) fn timed_in_chunks<S>(
    state: &mut S,
    ops: u64,
    exhausted: impl Fn(&S) -> usize,
    mut reset: impl FnMut(&mut S) -> Result<(), BoxError>,
    mut run: impl FnMut(&mut S, usize) -> Result<(), BoxError>,
) -> Result<Duration, BoxError> {
    let mut left = ops;
    let mut spent = Duration::ZERO;
    while left > 0 {
        let mut room = exhausted(state);
        if room == 0 {
            reset(state)?;
            room = exhausted(state);
            if room == 0 {
                return Err("the pool is empty after a reset".into());
            }
        }
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(room);
        let start = Instant::now();
        run(state, n)?;
        spent += start.elapsed();
        left -= n as u64;
    }
    Ok(spent)
}

/// (a) Memory store: *add customer* through the service, against the rows
/// it writes moved into a plain `Mutex<HashMap>`.
///
/// Ours calls [`Incentives::add_customer`] over a [`MemoryStore`] with the
/// in-memory ports of [`Ports`], one new customer and one engagement per
/// call: the tenant directory and partner directory are asked, eligibility
/// and the customer's other nominations are read, mci-core decides, the id
/// is drawn, and the commit (with its three guards) is written and indexed.
/// The baseline takes the same rows, made beforehand by mci-core from the
/// same forms (the nomination, its event and its messages, which for an add
/// are none), and inserts each under its id into a [`PlainMap`]. Both start
/// over with an empty store after every `pool` adds.
pub struct MemoryAdd {
    rt: Runtime,
    adds: Vec<Add>,
    ports: Ports,
    service: Incentives,
    done: usize,
    plain: PlainMap,
    rows: Vec<PlainRow>,
}

impl MemoryAdd {
    /// The comparison with a pool of `pool` customers.
    pub fn new(pool: usize) -> Result<Self, BoxError> {
        let adds = service::adds(ADD_CUSTOMERS, pool)?;
        let ports = Ports::knowing(ADD_CUSTOMERS..ADD_CUSTOMERS + pool as u64)?;
        let catalog = world::catalog()?;
        let mut rng = Rng::new(0xa);
        let mut rows = Vec::with_capacity(pool);
        for add in &adds {
            let outcome = add.outcome(&catalog, row_id(&mut rng))?;
            rows.push(PlainRow {
                nomination: outcome.nomination,
                event: outcome.event,
                messages: outcome.messages,
            });
        }
        Ok(Self {
            rt: current_thread()?,
            service: ports.service(Arc::new(MemoryStore::new()))?,
            adds,
            ports,
            done: 0,
            plain: PlainMap::default(),
            rows,
        })
    }

    /// `ops` adds through the service.
    pub fn ours(&mut self, ops: u64) -> Result<Duration, BoxError> {
        timed_in_chunks(
            self,
            ops,
            |s| s.adds.len() - s.done,
            |s| {
                s.service = s.ports.service(Arc::new(MemoryStore::new()))?;
                s.done = 0;
                Ok(())
            },
            |s, n| {
                add_all(&s.rt, &s.service, &s.adds[s.done..s.done + n])?;
                s.done += n;
                Ok(())
            },
        )
    }

    /// `ops` rows into the plain map.
    pub fn baseline(&mut self, ops: u64) -> Result<Duration, BoxError> {
        timed_in_chunks(
            self,
            ops,
            |s| s.rows.len(),
            |s| {
                s.rows = std::mem::take(&mut s.plain).drain();
                Ok(())
            },
            |s, n| {
                for _ in 0..n {
                    let row = s.rows.pop().ok_or("no row left")?;
                    s.plain.insert(row);
                }
                Ok(())
            },
        )
    }
}

/// A world of nominations in a memory store, and the same nominations in a
/// [`PlainTabIndex`].
pub struct MemoryWorld {
    /// The store.
    pub store: Arc<MemoryStore>,
    /// The baseline's index of the same nominations.
    pub plain: PlainTabIndex,
    /// How many nominations.
    pub nominations: usize,
    /// How many of them a sweep at [`world::now`] writes: none once swept.
    pub due: usize,
}

impl MemoryWorld {
    /// Sweeps the world at [`world::now`]: the service's sweep over the
    /// store, and the same transitions applied to the plain index. How many
    /// nominations each changed, which must agree.
    pub fn sweep(&mut self) -> Result<usize, BoxError> {
        let service = Ports::knowing(0..0)?.sweeper(self.store.clone())?;
        let report = current_thread()?.block_on(service.sweep())?;
        let swept = report.lapsed + report.reminded;
        let woken = self.plain.wake_all(world::now());
        if swept != woken || swept != self.due {
            return Err(format!(
                "the store swept {swept}, the plain index {woken}, of {} due",
                self.due
            )
            .into());
        }
        self.due = 0;
        Ok(swept)
    }
}

/// A world of nominations in a SQLite file, closed: open it, or copy it.
pub struct SqliteWorld {
    _dir: TempDir,
    path: PathBuf,
    /// How many nominations.
    pub nominations: usize,
    /// How many of them a sweep at [`world::now`] writes.
    pub due: usize,
}

impl SqliteWorld {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its size in bytes.
    pub fn bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }

    /// A copy of the world in a directory of its own, swept: the world as
    /// it stands once the sweep has run.
    pub fn swept_copy(&self) -> Result<SqliteWorld, BoxError> {
        let dir = tempfile::Builder::new()
            .prefix("mci-bench-swept")
            .tempdir()?;
        let path = dir.path().join("world.sqlite");
        std::fs::copy(&self.path, &path)?;
        let mut copy = SqliteWorld {
            _dir: dir,
            path,
            nominations: self.nominations,
            due: self.due,
        };
        copy.sweep()?;
        Ok(copy)
    }

    /// A copy of the world in a directory of its own whose known customers
    /// have their rows and answers for `which` ([`know_file`]).
    pub fn known_copy(&self, which: world::KnownFor) -> Result<SqliteWorld, BoxError> {
        let dir = tempfile::Builder::new()
            .prefix("mci-bench-known")
            .tempdir()?;
        let path = dir.path().join("world.sqlite");
        std::fs::copy(&self.path, &path)?;
        know_file(&path, which)?;
        Ok(SqliteWorld {
            _dir: dir,
            path,
            nominations: self.nominations,
            due: self.due,
        })
    }

    /// Sweeps the file in place at [`world::now`] with the service over a
    /// store; how many nominations it wrote, which must be the due ones.
    pub fn sweep(&mut self) -> Result<usize, BoxError> {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&self.path)?);
        let service = Ports::knowing(0..0)?.sweeper(store)?;
        let report = current_thread()?.block_on(service.sweep())?;
        let swept = report.lapsed + report.reminded;
        if swept != self.due {
            return Err(format!("swept {swept}, but {} were due", self.due).into());
        }
        self.due = 0;
        Ok(swept)
    }
}

/// How many chunks of the world the SQLite loader writes per transaction.
const CHUNKS_PER_LOAD: usize = 20;
/// The page cache of the SQLite loader, in MiB: most of a 1M world's file.
const LOAD_CACHE_MIB: u32 = 3072;

/// Builds the world of `spec` in a memory store, in a SQLite file, or in
/// both at once: this thread makes the chunks (and encodes the SQLite rows),
/// one thread commits them to the memory store, another writes them to the
/// file.
///
/// The memory store takes the world's commits, a thousand writes each.
/// The file is created with the store's schema and written with the
/// store's own statements through [`RawDb`] (see [`crate::raw`]), the same
/// writes in the same order, twenty chunks to a transaction, with a large
/// page cache, no journal and no syncs, then put back in WAL mode: it holds the rows the store's commits would
/// leave (the tests compare every table), in a fraction of the time the
/// store's writer takes with its 2 MB page cache.
pub fn build_worlds(
    spec: &WorldSpec,
    memory: bool,
    sqlite: bool,
) -> Result<(Option<MemoryWorld>, Option<SqliteWorld>), BoxError> {
    build_worlds_of(spec, world::Owners::Spread, memory, sqlite)
}

/// [`build_worlds`], with the nominations of `owners`.
pub fn build_worlds_of(
    spec: &WorldSpec,
    owners: world::Owners,
    memory: bool,
    sqlite: bool,
) -> Result<(Option<MemoryWorld>, Option<SqliteWorld>), BoxError> {
    let file = if sqlite {
        let dir = tempfile::Builder::new()
            .prefix("mci-bench-world")
            .tempdir()?;
        let path = dir.path().join("world.sqlite");
        raw::create(&path, Durability::Normal)?;
        Some((dir, path))
    } else {
        None
    };
    let (filled, store) = std::thread::scope(|scope| -> Result<_, BoxError> {
        let (to_memory, commits) = std::sync::mpsc::sync_channel::<Commit>(8);
        let memory = memory.then(|| {
            scope.spawn(move || -> Result<MemoryStore, BoxError> {
                let rt = current_thread()?;
                let store = MemoryStore::new();
                for commit in commits {
                    rt.block_on(store.commit(commit))?;
                }
                Ok(store)
            })
        });
        let (to_file, loads) = std::sync::mpsc::sync_channel::<Vec<raw::Encoded>>(2);
        let loader = file.as_ref().map(|(_, path)| {
            scope.spawn(move || -> Result<(), BoxError> {
                let mut db = RawDb::open(path, Durability::Normal)?;
                db.for_loading(LOAD_CACHE_MIB)?;
                for load in loads {
                    db.write_encoded(&load)?;
                }
                db.loaded()
            })
        });
        let mut filled = world::Filled::default();
        let mut load = Vec::new();
        let mut loaded = 0;
        for chunk in world::chunks_of(spec, owners)? {
            let chunk = chunk?;
            filled.nominations += chunk.nominations.len();
            filled.due += chunk.due;
            filled.commits += chunk.commits.len();
            if loader.is_some() {
                for commit in &chunk.commits {
                    for write in &commit.writes {
                        load.push(raw::Encoded::of(write)?);
                    }
                }
                loaded += 1;
                if loaded % CHUNKS_PER_LOAD == 0 && to_file.send(std::mem::take(&mut load)).is_err()
                {
                    break;
                }
            }
            if memory.is_some() {
                for commit in chunk.commits {
                    if to_memory.send(commit).is_err() {
                        break;
                    }
                }
                filled.kept.extend(chunk.nominations);
            }
        }
        if !load.is_empty() {
            let _ = to_file.send(load);
        }
        drop((to_memory, to_file));
        if let Some(loader) = loader {
            loader.join().map_err(|_| "the SQLite loader panicked")??;
        }
        let store = match memory {
            Some(memory) => Some(memory.join().map_err(|_| "the memory loader panicked")??),
            None => None,
        };
        Ok((filled, store))
    })?;
    let memory = store.map(|store| MemoryWorld {
        store: Arc::new(store),
        plain: PlainTabIndex::of(filled.kept),
        nominations: filled.nominations,
        due: filled.due,
    });
    let sqlite = file.map(|(dir, path)| SqliteWorld {
        _dir: dir,
        path,
        nominations: filled.nominations,
        due: filled.due,
    });
    Ok((memory, sqlite))
}

/// The query of the first full page of the large tab at [`world::now`].
pub fn big_page() -> Result<PageQuery, BoxError> {
    Ok(PageQuery {
        partner: BIG_PARTNER.parse()?,
        engagement: BIG_ENGAGEMENT.parse()?,
        tab: Tab::Eligible,
        now: world::now(),
        after: None,
        limit: PAGE,
    })
}

/// The time of `ops` reads of `query`'s page from `store`, one after the
/// other on `rt`.
fn store_pages(
    rt: &Runtime,
    store: &dyn Store,
    query: &PageQuery,
    ops: u64,
) -> Result<Duration, BoxError> {
    let start = Instant::now();
    rt.block_on(async {
        for _ in 0..ops {
            black_box(store.page(query).await?);
        }
        Ok::<_, mci_store::StoreError>(())
    })?;
    Ok(start.elapsed())
}

/// (b) Memory store: the first page of the large tab, against a range scan
/// of the same index.
///
/// Ours calls [`MemoryStore::page`] (through the `Store` trait): under the
/// store's lock it walks the tab's id set from the start, skips the rows
/// whose lapse has come, merges the rows that lapsed into the tab, and
/// clones the first [`PAGE`] rows. The baseline takes the first [`PAGE`]
/// ids of the same set in a [`PlainTabIndex`] and clones their rows.
pub struct MemoryPage<'w> {
    rt: Runtime,
    world: &'w MemoryWorld,
    query: PageQuery,
}

impl<'w> MemoryPage<'w> {
    /// The comparison on `world`; checks both sides answer a full page.
    pub fn new(world: &'w MemoryWorld) -> Result<Self, BoxError> {
        let page = Self {
            rt: current_thread()?,
            world,
            query: big_page()?,
        };
        let ours = page.rt.block_on(page.world.store.page(&page.query))?;
        let plain = page.plain_page();
        if ours.rows.len() != PAGE || plain.len() != PAGE {
            return Err(format!(
                "not a full page: ours {}, baseline {}",
                ours.rows.len(),
                plain.len()
            )
            .into());
        }
        Ok(page)
    }

    fn plain_page(&self) -> Vec<Nomination> {
        self.world.plain.page(
            &self.query.partner,
            &self.query.engagement,
            self.query.tab,
            self.query.limit,
        )
    }

    /// `ops` pages from the store.
    pub fn ours(&mut self, ops: u64) -> Result<Duration, BoxError> {
        store_pages(&self.rt, self.world.store.as_ref(), &self.query, ops)
    }

    /// `ops` pages from the plain index.
    pub fn baseline(&mut self, ops: u64) -> Result<Duration, BoxError> {
        let start = Instant::now();
        for _ in 0..ops {
            black_box(self.plain_page());
        }
        Ok(start.elapsed())
    }
}

/// (c) SQLite: one durable *add customer* per call, against raw rusqlite
/// running the same statements in one transaction per call.
///
/// Ours calls [`Incentives::add_customer`] over a [`SqliteStore`] opened
/// with [`Durability::Full`], one call at a time: the service's reads
/// (the customer's standings on a reader thread), mci-core, the commit
/// prepared (columns and JSON) on the caller's side, then on the writer
/// thread `BEGIN IMMEDIATE`, a savepoint, the version check, the three
/// guard queries, the row, the event, `COMMIT` (a WAL sync). The baseline
/// takes the same write, made beforehand by mci-core from the same form,
/// and per call encodes it (same columns, same JSON) and runs the store's
/// statements for it (the nomination row, its event, an outbox row per
/// message: none for an add) in one `BEGIN IMMEDIATE` ... `COMMIT` on a
/// raw connection with `synchronous = FULL`. Each side writes its own file;
/// both start over with a new file after every `pool` adds.
pub struct SqliteAdd {
    rt: Runtime,
    dir: TempDir,
    files: usize,
    adds: Vec<Add>,
    ports: Ports,
    service: Incentives,
    done: usize,
    writes: Vec<Write>,
    raw: RawDb,
    raw_done: usize,
}

impl SqliteAdd {
    /// The comparison with a pool of `pool` customers.
    pub fn new(pool: usize) -> Result<Self, BoxError> {
        let adds = service::adds(ADD_CUSTOMERS, pool)?;
        let ports = Ports::knowing(ADD_CUSTOMERS..ADD_CUSTOMERS + pool as u64)?;
        let catalog = world::catalog()?;
        let mut rng = Rng::new(0xc);
        let writes = adds
            .iter()
            .map(|add| Ok(Write::from(add.outcome(&catalog, row_id(&mut rng))?)))
            .collect::<Result<Vec<_>, BoxError>>()?;
        let dir = tempfile::Builder::new().prefix("mci-bench-add").tempdir()?;
        let service = ports.service(durable_store(&dir.path().join("ours-0.sqlite"))?)?;
        let raw = durable_raw(&dir.path().join("raw-0.sqlite"))?;
        Ok(Self {
            rt: current_thread()?,
            dir,
            files: 1,
            adds,
            ports,
            service,
            done: 0,
            writes,
            raw,
            raw_done: 0,
        })
    }

    fn next_file(&mut self, side: &str) -> PathBuf {
        self.files += 1;
        self.dir
            .path()
            .join(format!("{side}-{}.sqlite", self.files))
    }

    /// `ops` durable adds through the service, one after the other.
    pub fn ours(&mut self, ops: u64) -> Result<Duration, BoxError> {
        timed_in_chunks(
            self,
            ops,
            |s| s.adds.len() - s.done,
            |s| {
                let path = s.next_file("ours");
                s.service = s.ports.service(durable_store(&path)?)?;
                s.done = 0;
                Ok(())
            },
            |s, n| {
                add_all(&s.rt, &s.service, &s.adds[s.done..s.done + n])?;
                s.done += n;
                Ok(())
            },
        )
    }

    /// `ops` durable raw transactions, one after the other.
    pub fn baseline(&mut self, ops: u64) -> Result<Duration, BoxError> {
        timed_in_chunks(
            self,
            ops,
            |s| s.writes.len() - s.raw_done,
            |s| {
                let path = s.next_file("raw");
                s.raw = durable_raw(&path)?;
                s.raw_done = 0;
                Ok(())
            },
            |s, n| {
                for write in &s.writes[s.raw_done..s.raw_done + n] {
                    s.raw.write_one(write)?;
                }
                s.raw_done += n;
                Ok(())
            },
        )
    }
}

/// A new store in `path`, every commit synced.
fn durable_store(path: &Path) -> Result<Arc<dyn Store>, BoxError> {
    Ok(Arc::new(SqliteStore::open_with(
        path,
        Options {
            durability: Durability::Full,
            ..Options::default()
        },
    )?))
}

/// A new file in `path` with the store's schema, and a raw connection to it
/// with `synchronous = FULL`.
fn durable_raw(path: &Path) -> Result<RawDb, BoxError> {
    raw::create(path, Durability::Full)?;
    RawDb::open(path, Durability::Full)
}

/// (d) SQLite: *accept consent* from [`CALLERS`] concurrent customers
/// (group commit), against the raw single-transaction ceiling.
///
/// Ours: [`CALLERS`] tasks on a multi-threaded runtime each call
/// [`Incentives::accept_consent`] with their share of the tokens, over a
/// [`SqliteStore`] with [`Durability::Full`]: each call reads the
/// nomination by its link on a reader thread, mci-core accepts, and the
/// commit (with its consent guard) joins whatever group the writer is
/// writing, one WAL sync per group. The baseline is (c)'s raw transaction
/// for the same work, one caller: each acceptance, made beforehand by
/// mci-core with the same token at the same instant, is encoded and written
/// (the row updated at its expected version, its event, its links, its
/// outbox message, the known customer) in one `BEGIN IMMEDIATE` ...
/// `COMMIT` with `synchronous = FULL`. Both files hold the same nominations
/// awaiting consent, made in chunks as the calls use them up.
pub struct SqliteAccept {
    rt: Runtime,
    _dir: TempDir,
    catalog: Vec<Engagement>,
    partners: Vec<world::Partner>,
    rng: Rng,
    store: Arc<dyn Store>,
    service: Arc<Incentives>,
    raw: RawDb,
    awaiting: Vec<(Nomination, LinkToken)>,
    next: usize,
    raw_next: usize,
}

impl SqliteAccept {
    /// The comparison, with `initial` nominations awaiting consent.
    pub fn new(initial: usize) -> Result<Self, BoxError> {
        let dir = tempfile::Builder::new()
            .prefix("mci-bench-accept")
            .tempdir()?;
        let store = durable_store(&dir.path().join("ours.sqlite"))?;
        let service = Arc::new(Ports::knowing(0..0)?.service(store.clone())?);
        let raw = durable_raw(&dir.path().join("raw.sqlite"))?;
        let mut accept = Self {
            rt: multi_thread()?,
            _dir: dir,
            catalog: world::catalog()?,
            partners: (0..world::PARTNERS)
                .map(world::partner)
                .collect::<Result<_, _>>()?,
            rng: Rng::new(0xd),
            store,
            service,
            raw,
            awaiting: Vec::new(),
            next: 0,
            raw_next: 0,
        };
        accept.grow(initial)?;
        Ok(accept)
    }

    /// Adds `n` nominations awaiting consent to both files: added two days
    /// before the world's now, consent sent a day later.
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
            self.raw.write_all(&added.writes)?;
            self.raw.write_all(&sent.writes)?;
            let store = self.store.clone();
            self.rt.block_on(async move {
                store.commit(added).await?;
                store.commit(sent).await
            })?;
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

    /// `ops` raw acceptances, one transaction each, one after the other.
    pub fn baseline(&mut self, ops: u64) -> Result<Duration, BoxError> {
        let ops = usize::try_from(ops)?;
        if self.raw_next + ops > self.awaiting.len() {
            let short = self.raw_next + ops - self.awaiting.len();
            self.grow(short)?;
        }
        let writes = self.awaiting[self.raw_next..self.raw_next + ops]
            .iter()
            .map(|(nomination, token)| {
                Ok(Write::from(world::accept_consent(
                    nomination,
                    world::now(),
                    token,
                )?))
            })
            .collect::<Result<Vec<_>, BoxError>>()?;
        self.raw_next += ops;
        let start = Instant::now();
        for write in &writes {
            self.raw.write_one(write)?;
        }
        Ok(start.elapsed())
    }
}

/// (e) SQLite: the first full page of the large tab, against the store's
/// keyset query on a raw connection; (f) uses two of these, at 1M and at
/// 10k, ours against ours.
///
/// Ours calls [`SqliteStore::page`] (through the `Store` trait): the query
/// goes to a reader thread, which in one read transaction runs the keyset
/// walk of the tab and the walk of the rows lapsed into it, merges them and
/// decodes the documents. The baseline runs the same keyset walk (the
/// store's SQL) on a raw read-only connection to the same file and decodes
/// the same documents.
pub struct SqlitePage {
    rt: Runtime,
    store: SqliteStore,
    raw: RawDb,
    query: PageQuery,
}

impl SqlitePage {
    /// The comparison on the file at `path`; checks both sides answer the
    /// same full page.
    pub fn new(path: &Path) -> Result<Self, BoxError> {
        let page = Self {
            rt: current_thread()?,
            store: SqliteStore::open(path)?,
            raw: RawDb::open_read_only(path)?,
            query: big_page()?,
        };
        let ours = page.rt.block_on(page.store.page(&page.query))?;
        let raw = page.raw_page()?;
        if ours.rows.len() != PAGE || ours.rows != raw {
            return Err(format!(
                "the pages differ or are not full: ours {} rows, baseline {}",
                ours.rows.len(),
                raw.len()
            )
            .into());
        }
        Ok(page)
    }

    fn raw_page(&self) -> Result<Vec<Nomination>, BoxError> {
        self.raw.page(
            self.query.partner.as_str(),
            self.query.engagement.as_str(),
            self.query.tab,
            self.query.now,
            self.query.limit,
        )
    }

    /// `ops` pages from the store.
    pub fn ours(&mut self, ops: u64) -> Result<Duration, BoxError> {
        store_pages(&self.rt, &self.store, &self.query, ops)
    }

    /// `ops` pages from the raw connection.
    pub fn baseline(&mut self, ops: u64) -> Result<Duration, BoxError> {
        let start = Instant::now();
        for _ in 0..ops {
            black_box(self.raw_page()?);
        }
        Ok(start.elapsed())
    }
}

/// (g) SQLite: the sweep of a world with 10% due, against raw batched
/// transactions doing the same writes.
///
/// Each run copies the world's file first (not timed). Ours opens a
/// [`SqliteStore`] ([`Durability::Normal`]) on the copy and calls
/// [`Incentives::sweep`] at the world's now, as an application's timer
/// would, with [`service::sweep_settings`] (no refresh of the known
/// customers' answers, which the baseline does not do): batches of 256 from the store's due query, and for each
/// nomination mci-core's `wake` and one commit of its own, awaited before
/// the next. The baseline opens a raw connection (`synchronous = NORMAL`)
/// on its copy and runs [`RawDb::sweep`]: batches of the same size, each
/// one transaction that runs the same due query, decodes, asks mci-core's
/// `wake`, and runs the store's statements for each write (the row at its
/// expected version, the event, the links rewritten, the outbox message,
/// the known customer). Both write the same rows; each run answers how
/// many it wrote, which must be the world's due count.
pub struct SqliteSweep<'w> {
    world: &'w SqliteWorld,
    rt: Runtime,
    scratch: TempDir,
}

impl<'w> SqliteSweep<'w> {
    /// The comparison on `world`.
    pub fn new(world: &'w SqliteWorld) -> Result<Self, BoxError> {
        Ok(Self {
            world,
            rt: current_thread()?,
            scratch: tempfile::Builder::new()
                .prefix("mci-bench-sweep")
                .tempdir()?,
        })
    }

    /// A fresh copy of the world's file, named for `side`.
    fn copy(&self, side: &str) -> Result<PathBuf, BoxError> {
        self.remove(side)?;
        let path = self.scratch.path().join(format!("{side}.sqlite"));
        std::fs::copy(self.world.path(), &path)?;
        Ok(path)
    }

    /// Removes the copy named for `side`, if any.
    fn remove(&self, side: &str) -> Result<(), BoxError> {
        for suffix in ["", "-wal", "-shm"] {
            let stale = self.scratch.path().join(format!("{side}.sqlite{suffix}"));
            if stale.exists() {
                std::fs::remove_file(stale)?;
            }
        }
        Ok(())
    }

    /// The file our last sweep left, closed: the world as it stands once
    /// the sweep has run.
    pub fn swept(&self) -> Option<PathBuf> {
        let path = self.scratch.path().join("ours.sqlite");
        path.exists().then_some(path)
    }

    fn check(&self, written: usize) -> Result<(), BoxError> {
        if written == self.world.due {
            Ok(())
        } else {
            Err(format!("swept {written}, but {} were due", self.world.due).into())
        }
    }

    /// Our sweep of a fresh copy: its time and how many it wrote.
    pub fn ours(&mut self) -> Result<(Duration, usize), BoxError> {
        let path = self.copy("ours")?;
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path)?);
        let service = Ports::knowing(0..0)?.sweeper(store)?;
        let start = Instant::now();
        let report = self.rt.block_on(service.sweep())?;
        let elapsed = start.elapsed();
        drop(service);
        let written = report.lapsed + report.reminded;
        self.check(written)?;
        Ok((elapsed, written))
    }

    /// The raw sweep of a fresh copy: its time and how many it wrote.
    pub fn baseline(&mut self) -> Result<(Duration, usize), BoxError> {
        let path = self.copy("raw")?;
        let mut raw = RawDb::open(&path, Durability::Normal)?;
        let start = Instant::now();
        let written = raw.sweep(
            world::now(),
            mci_engagements::Settings::default().sweep_batch,
        )?;
        let elapsed = start.elapsed();
        drop(raw);
        // Nothing reads the baseline's copy again: a 1M world's file is
        // gigabytes.
        self.remove("raw")?;
        self.check(written)?;
        Ok((elapsed, written))
    }
}

impl MemoryWorld {
    /// Gives the world's known customers their rows and kept answers for
    /// `which`, as a sweep that keeps up leaves them ([`world::know`]).
    pub fn know(&self, which: world::KnownFor) -> Result<world::Known, BoxError> {
        let store: Arc<dyn Store> = self.store.clone();
        current_thread()?.block_on(world::know(store.as_ref(), which))
    }
}

/// The writer's page cache while [`know_file`] writes known rows, in MiB.
const KNOW_CACHE_MIB: u32 = 1024;

/// Gives the known customers of the world in the file at `path` their rows
/// and kept answers for `which` ([`world::know`]), through a
/// [`SqliteStore`] opened for it with a large writer cache and closed
/// after.
pub fn know_file(path: &Path, which: world::KnownFor) -> Result<world::Known, BoxError> {
    let store = SqliteStore::open_with(
        path,
        Options {
            writer_cache_mib: KNOW_CACHE_MIB,
            ..Options::default()
        },
    )?;
    let known = current_thread()?.block_on(world::know(&store, which))?;
    drop(store);
    Ok(known)
}

/// How far behind its sweep a [`ServicePage`] reads with
/// [`ServicePage::behind`].
pub fn behind_by() -> chrono::TimeDelta {
    chrono::TimeDelta::days(1)
}

/// What a page read [`behind_by`] after the last sweep has to make up for
/// in the large pair, as the world stands when the fixture is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Behind {
    /// The pair's nominations whose next lapse falls in the day: lapses not
    /// written yet, which the page's walk skips or merges and its counts
    /// correct for.
    pub lapses: usize,
    /// The pair's known rows shown at [`world::now`] whose placement stops
    /// holding within the day (their answer ages out, or a nomination of
    /// theirs lapses): derived again by every read of the counts.
    pub known_rows: usize,
    /// The pair's known rows shown at [`world::now`].
    pub shown: usize,
}

/// (h) to (j): the service's Customers page, [`PAGE`] rows of the large
/// tab with the counts of all three tabs, through the public API
/// ([`Incentives::customers_page`], the big partner's admin, Eligible,
/// first page), over a store whose known customers have their rows and
/// answers ([`world::know`]). Compared with the same page at another world
/// (h: 1M against 10k, ours both), with the store's own
/// [`Store::page`] for the same tab (i: what the service adds to the
/// store's page: its counts, the known customers' counts, the rows'
/// derivation), and read [`behind_by`] a day after the last sweep (j).
///
/// Each page asks the store for the tab's page, the tab counts and the
/// known customers' counts (the first page of Eligible is full of
/// nominations, so no known row is read); the known counts are the kept
/// figures corrected by the rows whose placement stopped holding, none
/// while the sweep keeps up, [`Behind::known_rows`] a day behind.
pub struct ServicePage {
    rt: Runtime,
    store: Arc<dyn Store>,
    service: Incentives,
    clock: Arc<ManualClock>,
    admin: PartnerUser,
    query: PageQuery,
    /// How many customers the big partner knows.
    pub known: usize,
    /// What a read a day behind makes up for.
    pub behind: Behind,
}

impl ServicePage {
    /// The comparison over `store`; checks the page is full, that its
    /// counts are the store's and that known customers stand behind them.
    pub fn new(store: Arc<dyn Store>) -> Result<Self, BoxError> {
        let ports = Ports::knowing(0..0)?;
        let clock = ports.clock().clone();
        let page = Self {
            rt: current_thread()?,
            service: ports.service(store.clone())?,
            store,
            clock,
            admin: world::partner(0)?.admin,
            query: big_page()?,
            known: 0,
            behind: Behind::default(),
        };
        let ours = page.rt.block_on(page.page())?;
        let (tab, known) = page.rt.block_on(async {
            let q = &page.query;
            let tab = page.store.count(&q.partner, &q.engagement, q.now).await?;
            let known = page
                .store
                .known_counts(&q.partner, &q.engagement, q.now)
                .await?;
            Ok::<_, mci_store::StoreError>((tab, known))
        })?;
        let counts = ours.counts;
        if ours.rows.len() != PAGE
            || counts.eligible != tab.eligible + known.eligible
            || counts.ineligible != known.ineligible
            || counts.complete != tab.complete
            || known.eligible == 0
            || ours.answers_since.is_none()
        {
            return Err(format!(
                "not the page of a world with known rows: {} rows, counts {counts:?}, \
                 the store's {tab:?} and {known:?}",
                ours.rows.len()
            )
            .into());
        }
        let mut page = page;
        page.known = page.rt.block_on(world::known_customers(
            page.store.as_ref(),
            &page.query.partner,
        ))?;
        page.behind = page.rt.block_on(page.behind_figures())?;
        Ok(page)
    }

    /// The service over a memory store's world.
    pub fn memory(world: &MemoryWorld) -> Result<Self, BoxError> {
        Self::new(world.store.clone())
    }

    /// The service over a SQLite store opened on the file at `path`.
    pub fn sqlite(path: &Path) -> Result<Self, BoxError> {
        Self::new(Arc::new(SqliteStore::open(path)?))
    }

    async fn page(&self) -> Result<CustomersPage, mci_engagements::Error> {
        self.service
            .customers_page(
                &self.admin,
                &self.query.engagement,
                Tab::Eligible,
                None,
                PAGE,
            )
            .await
    }

    async fn behind_figures(&self) -> Result<Behind, BoxError> {
        let q = &self.query;
        let until = q.now + behind_by();
        let lapses = self
            .store
            .lapsing(&q.partner, q.now, until, usize::MAX)
            .await?
            .iter()
            .filter(|n| *n.engagement() == q.engagement)
            .count();
        let mut behind = Behind {
            lapses,
            ..Behind::default()
        };
        for tab in [Tab::Eligible, Tab::Ineligible] {
            let mut after = None;
            loop {
                let page = self
                    .store
                    .known_page(&KnownQuery {
                        partner: q.partner.clone(),
                        engagement: q.engagement.clone(),
                        tab,
                        now: q.now,
                        after,
                        limit: world::KNOWN_BATCH,
                    })
                    .await?;
                behind.shown += page.rows.len();
                behind.known_rows += page
                    .rows
                    .iter()
                    .filter(|e| !e.placement.holds_at(until))
                    .count();
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(behind)
    }

    fn pages(&self, ops: u64) -> Result<Duration, BoxError> {
        self.pages_on(&self.rt, ops)
    }

    fn pages_on(&self, rt: &Runtime, ops: u64) -> Result<Duration, BoxError> {
        let start = Instant::now();
        rt.block_on(async {
            for _ in 0..ops {
                black_box(self.page().await?);
            }
            Ok::<_, mci_engagements::Error>(())
        })?;
        Ok(start.elapsed())
    }

    /// The Customers page the comparisons read, at [`world::now`].
    pub fn read(&mut self) -> Result<CustomersPage, BoxError> {
        self.clock.set(world::now());
        Ok(self.rt.block_on(self.page())?)
    }

    /// `ops` Customers pages through the service at [`world::now`], the
    /// world swept.
    pub fn ours(&mut self, ops: u64) -> Result<Duration, BoxError> {
        self.clock.set(world::now());
        self.pages(ops)
    }

    /// [`ServicePage::ours`], the calls driven by `rt` instead of the
    /// comparison's own runtime: where a baseline's calls run on `rt`, so
    /// that both sides wait for the server the same way.
    pub fn ours_on(&mut self, rt: &Runtime, ops: u64) -> Result<Duration, BoxError> {
        self.clock.set(world::now());
        self.pages_on(rt, ops)
    }

    /// `ops` pages of the same tab from the store itself.
    pub fn store_page(&mut self, ops: u64) -> Result<Duration, BoxError> {
        store_pages(&self.rt, self.store.as_ref(), &self.query, ops)
    }

    /// `ops` Customers pages through the service [`behind_by`] after the
    /// world's now, the sweep not run since: the lapses of the day not
    /// written, every answer aged past its trust.
    pub fn behind(&mut self, ops: u64) -> Result<Duration, BoxError> {
        self.clock.set(world::now() + behind_by());
        let took = self.pages(ops);
        self.clock.set(world::now());
        took
    }
}
