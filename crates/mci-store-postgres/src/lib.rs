//! The PostgreSQL store of the mci crates: many application servers on one
//! database.
//!
//! [`PostgresStore`] implements the whole [`mci_store::Store`] contract and
//! passes its conformance suite on a real server. [`PostgresStore::connect`]
//! makes a pool of connections and brings the database's schema to the
//! version this crate knows ([`schema`]), refusing a database that is
//! another application's or whose schema is newer with a typed
//! [`ConnectError`]. Several application servers may share one database:
//!
//! - **Guards across servers.** Every commit is one READ COMMITTED
//!   transaction that first locks a row per (engagement, customer) it
//!   touches, with `INSERT ... ON CONFLICT DO UPDATE` in key order, then
//!   counts its guards in SQL (R-CONSENT-8, R-CONSENT-10, R-ADD-7, R-ENG-5),
//!   checks versions (R-REC-4) and idempotency keys (R-REC-5), and writes.
//!   Row locks are always taken in one order, so commits wait for each other
//!   rather than deadlock; a serialization failure or a deadlock (SQLSTATE
//!   40001, 40P01) starts the transaction again, a few times, and then
//!   answers the retryable [`StoreError::Conflict`]; a unique violation
//!   (23505) is the rule its index stands for. The commit module's
//!   documentation says it step by step.
//! - **The outbox** is shared with `FOR UPDATE SKIP LOCKED`: within one
//!   lease no message goes to two servers.
//! - **Reads of several statements** (counts, known rows, states) run in one
//!   REPEATABLE READ, read-only snapshot.
//! - **Index walks, also in generic plans.** Every read walks its index,
//!   whichever plan PostgreSQL makes for the prepared statement (the
//!   `queries` module says how; the tests prove it with `EXPLAIN` on
//!   analysed tables).
//! - **tokio-postgres and deadpool-postgres.** Asynchronous from end to
//!   end: no call blocks the executor. It needs a tokio runtime.
//! - **TLS is the caller's.** [`PostgresStore::connect`] speaks without TLS
//!   (a Unix socket, a loopback or a trusted network);
//!   [`PostgresStore::connect_with_tls`] takes any
//!   [`MakeTlsConnect`], such as
//!   `postgres-native-tls` or `tokio-postgres-rustls`, so that the
//!   application chooses the TLS library it already uses.
//! - **A pool of a documented size.** [`Options::pool_size`] connections
//!   per store handle, 16 by default.
//! - **Versioned migrations, safe to race.** Servers that start at once on
//!   one database take turns under a row lock of the migrations table; each
//!   step is applied once, in its own transaction.
//! - **Durable when the server is.** A commit is acknowledged once
//!   PostgreSQL has committed it, so it survives a crash of the server
//!   with `fsync` and `synchronous_commit` on, their defaults
//!   (`tests/crash.rs` kills the server under concurrent commits and finds
//!   every acknowledged one); the store sets neither, and with
//!   `synchronous_commit = off` for its role or database a crash loses the
//!   last commits it acknowledged.
//!
//! # Clocks
//!
//! The store reads no clock: every instant it compares comes from the
//! caller (`commit.now`, a read's `now`, a lease's end), and each server's
//! service passes its own. Servers whose clocks differ by `d` disagree on
//! every deadline by `d`:
//!
//! - a guard at a deadline is decided by the committing server's clock: a
//!   nomination live until its deadline still counts (R-ENG-5, R-ADD-7) on
//!   a server running late up to `d` after a server running early stopped
//!   counting it, so within `d` of the deadline one server admits what
//!   another refuses, and a consent accepted by a server running `d` late
//!   may land up to `d` after the 30-day deadline another server would
//!   enforce (R-CONSENT-6);
//! - a lease ends at an instant of its taker's clock: a message leased by a
//!   server running early comes back to a server running late up to `d`
//!   after its lease, and one leased by a server running late comes back
//!   to a server running early up to `d` before the lease ends on the
//!   holder's clock, so a delivery that outlasts its lease less `d` may be
//!   sent twice (which at-least-once delivery, R-REC-2, allows): keep
//!   leases much longer than the skew;
//! - a nomination's last change may appear up to `d` in the future to
//!   another server.
//!
//! Nothing is corrupted by a skew (guards count what is stored, so racing
//! acceptances on two servers still make one consent, R-CONSENT-8, and
//! versions are integers), but decisions at a deadline are exact only to
//! within the skew: keep the servers on NTP, which holds them to
//! milliseconds; a skew of seconds moves deadlines by seconds.
//! `tests/clocks.rs` runs two handles whose clocks differ by three seconds.
//!
//! # Columns
//!
//! Instants are `bigint` microseconds since the Unix epoch, as the SQLite
//! store keeps them: exact to the microsecond over all of chrono's range,
//! which `timestamptz` (4713 BC to 294276 AD) does not cover, and compared
//! as integers, whatever the session's time zone. Ids are `uuid`, hashes and
//! order keys `bytea`, compared keys `text COLLATE "C"`, documents the
//! core's JSON as `text`, byte for byte. The migration files say why in
//! full.
//!
//! # Example
//!
//! ```
//! use mci_store_postgres::{PostgresStore, schema::SCHEMA_VERSION};
//! # use mci_pg_harness::Cluster;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let Some(cluster) = Cluster::start_or_skip("mci-store-postgres crate example") else {
//! #     return Ok(());
//! # };
//! # cluster.create_database("example")?;
//! // "host=/var/run/postgresql dbname=mci", or "postgres://mci@db.internal/mci"
//! let url = cluster.connection_string("example");
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let store = PostgresStore::connect(url.as_str()).await?;
//! assert_eq!(store.schema_version().await?, SCHEMA_VERSION);
//! # Ok::<_, mci_store_postgres::ConnectError>(())
//! # })?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod claims;
pub mod columns;
mod commit;
mod db;
pub mod error;
mod known;
mod outbox;
#[cfg(test)]
mod plans;
mod queries;
pub mod schema;
mod setting;

/// The SQL the store runs, each statement as its modules hold it: for the
/// benchmarks, whose raw baselines run the very same statements on a plain
/// tokio-postgres client. Not part of the store's API: the statements change
/// with the store's schema and its plans.
#[doc(hidden)]
pub mod statements {
    /// The statements of a commit (`commit.rs`).
    pub mod commit {
        pub use crate::commit::{
            BATCH_EXISTS, DELETE_LINKS, GUARD_COUNTS, INSERT_BATCH, INSERT_EVENT, INSERT_KEY,
            INSERT_KNOWN, INSERT_LINKS, INSERT_MESSAGE, INSERT_NOMINATION, KEY_USED,
            LOCK_CUSTOMERS, MOVE_CLAIM_COUNTS, MOVE_TAB_COUNTS, STORED, UPDATE_NOMINATION,
        };
    }
    /// The reads (`queries.rs`).
    pub mod queries {
        pub use crate::queries::{
            ATTENTION, BY_ID, BY_ID_OF_PARTNER, BY_LINK, DUE, DUE_AFTER, HISTORY,
            IDEMPOTENT_RESULT, IN_STATE, IN_STATE_OF_PARTNER, KEPT_COUNTS, KNOWN, LAPSING,
            OF_CUSTOMER, PAGE, PAYOUT_BATCH, PAYOUT_BATCHES, UNSWEPT_LAPSES, VERSION_OF,
        };
    }
    /// The settings (`setting.rs`).
    pub mod setting {
        pub use crate::setting::{PUT_ABSENT, PUT_ANY, PUT_EQUALS, SETTING};
    }
    /// The known rows and their figures (`known.rs`).
    pub mod known {
        pub use crate::known::{
            CHANGED, ENGAGEMENTS, FIGURES, INSERT_FIGURES, KNOWN_AFTER, KNOWN_THROUGH,
            LOCK_REGISTRY, MOVE_FIGURES, OLDEST_KEPT, PAGE_KEPT, PROGRESS, PUT_ROW, REGISTER, ROW,
            ROWS_OF_CUSTOMER, SAVE_PROGRESS, SHARE_REGISTRY, STANDINGS, TO_CHECK,
        };
    }
    /// The Claims page (`claims.rs`, R-LIST-1): run in one snapshot, the
    /// page after [`PAGE_SETTINGS`](claims::PAGE_SETTINGS).
    pub mod claims {
        pub use crate::claims::{PAGE_SETTINGS, PARTNER_COUNTS, PARTNER_LAPSES};

        /// The one statement of the page `query` asks for, and the names
        /// of the parameters it numbers, in order (`partner`,
        /// `engagement`, `state`, `now`, `at`, `id`, `limit`; each only
        /// where the list needs it).
        pub fn page(query: &mci_store::ClaimsQuery) -> (String, Vec<&'static str>) {
            let (sql, params) = crate::claims::Shape::of(query).sql();
            (
                sql,
                params.into_iter().map(crate::claims::Param::name).collect(),
            )
        }
    }
    /// The outbox (`outbox.rs`).
    pub mod outbox {
        pub use crate::outbox::{ACKNOWLEDGE, TAKE};
    }
}

pub use error::{BackendError, ConnectError};
pub use tokio_postgres;

use async_trait::async_trait;
use db::Failure;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use mci_core::{
    CustomerId, EngagementId, Event, Instant, KnownCustomer, Message, MessageId, Nomination,
    NominationId, PartnerId, PayoutBatch, PayoutBatchId, Standing, TokenHash,
};
use mci_store::{
    AttentionCandidates, AttentionQuery, ClaimCounts, ClaimsPage, ClaimsQuery, ClaimsScope, Commit,
    Due, DueCursor, IdempotencyKey, IdempotentResult, KnownCounts, KnownPage, KnownQuery,
    KnownToCheck, Leased, Page, PageQuery, SettingCondition, SettingKey, SettingValue, StateQuery,
    Store, StoreError, TabCounts,
};
use std::time::Duration;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Config, IsolationLevel, NoTls, Socket};

/// How many times an operation's transaction is started again after a
/// serialization failure or a deadlock before it gives up.
const TRIES: u32 = 8;

/// Runs `$body` (an expression using the transaction `$tx`) in a
/// transaction at `$level`, starting it again while `$again` says a
/// failure may pass; answers the last result as `Result<_, Failure>`.
macro_rules! transaction {
    ($store:expr, $level:expr, $read_only:expr, $again:expr, |$tx:ident| $body:expr) => {{
        let mut tries = 0u32;
        loop {
            let result: Result<_, Failure> = async {
                let mut client = $store.pool.get().await.map_err(BackendError::from)?;
                let $tx = client
                    .build_transaction()
                    .isolation_level($level)
                    .read_only($read_only)
                    .start()
                    .await?;
                let value = $body.await?;
                $tx.commit().await?;
                Ok(value)
            }
            .await;
            match result {
                Err(failure) if tries + 1 < TRIES && $again(&failure) => {
                    tries += 1;
                    metrics::counter!(
                        mci_store::observe::TRANSACTION_RETRIES_TOTAL,
                        "store" => "postgres"
                    )
                    .increment(1);
                    schema::pause(tries).await;
                }
                result => break (result, tries + 1),
            }
        }
    }};
}

/// The answer of an operation that failed as `failure` after `tries`.
fn failed(failure: Failure, tries: u32) -> StoreError {
    match failure {
        Failure::Postgres(error) if error::is_retryable(&error) => {
            metrics::counter!(mci_store::observe::BUSY_TOTAL, "store" => "postgres").increment(1);
            BackendError::Contended {
                tries,
                code: error
                    .code()
                    .map(|c| c.code().to_owned())
                    .unwrap_or_default(),
            }
            .into()
        }
        failure => failure.into_store(),
    }
}

/// How a store handle uses its connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The most connections the handle holds open at once; 16 by default.
    /// Each operation holds one for the length of its transaction, so this
    /// bounds the operations of one handle that run at once. Every handle
    /// (every application server) has its own pool: keep the number of
    /// servers times `pool_size` below the server's `max_connections` (100
    /// by default, a few of them reserved for superusers).
    pub pool_size: usize,
    /// How long an operation waits for a connection of the pool, making it
    /// included, before failing; 30 seconds by default, `None` for ever.
    pub wait_timeout: Option<Duration>,
    /// How long making one connection may take; 10 seconds by default,
    /// `None` for as long as the system's own timeouts allow.
    pub connect_timeout: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            pool_size: 16,
            wait_timeout: Some(Duration::from_secs(30)),
            connect_timeout: Some(Duration::from_secs(10)),
        }
    }
}

/// What names a database to connect to: a connection string (`key=value`
/// pairs as libpq takes them, or a `postgres://` URL) or a
/// [`tokio_postgres::Config`].
pub trait IntoConfig {
    /// The configuration, or why the string does not parse.
    fn into_config(self) -> Result<Config, ConnectError>;
}

impl IntoConfig for Config {
    fn into_config(self) -> Result<Config, ConnectError> {
        Ok(self)
    }
}

impl IntoConfig for &Config {
    fn into_config(self) -> Result<Config, ConnectError> {
        Ok(self.clone())
    }
}

impl IntoConfig for &str {
    fn into_config(self) -> Result<Config, ConnectError> {
        self.parse().map_err(ConnectError::Config)
    }
}

impl IntoConfig for String {
    fn into_config(self) -> Result<Config, ConnectError> {
        self.as_str().into_config()
    }
}

impl IntoConfig for &String {
    fn into_config(self) -> Result<Config, ConnectError> {
        self.as_str().into_config()
    }
}

/// A handle on a PostgreSQL database holding the store, with its pool of
/// connections. Cheap to share behind an `Arc`; several handles (on several
/// servers) may use one database at once.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PostgresStore {
    /// Connects without TLS, with the default [`Options`], and brings the
    /// database's schema to [`schema::SCHEMA_VERSION`].
    pub async fn connect(config: impl IntoConfig) -> Result<Self, ConnectError> {
        Self::connect_with(config, Options::default()).await
    }

    /// [`PostgresStore::connect`] with `options`.
    pub async fn connect_with(
        config: impl IntoConfig,
        options: Options,
    ) -> Result<Self, ConnectError> {
        Self::connect_with_tls(config, options, NoTls).await
    }

    /// [`PostgresStore::connect_with`] through `tls`, any TLS connector
    /// for tokio-postgres (from `postgres-native-tls`, `postgres-openssl`,
    /// `tokio-postgres-rustls`...). Whether TLS is required is the
    /// configuration's `sslmode`.
    pub async fn connect_with_tls<T>(
        config: impl IntoConfig,
        options: Options,
        tls: T,
    ) -> Result<Self, ConnectError>
    where
        T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
        T::Stream: Sync + Send,
        T::TlsConnect: Sync + Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let mut config = config.into_config()?;
        if config.get_application_name().is_none() {
            config.application_name("mci-store-postgres");
        }
        if options.pool_size == 0 {
            return Err(ConnectError::Options(
                "a pool of 0 connections can run nothing".into(),
            ));
        }
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .wait_timeout(options.wait_timeout)
            .create_timeout(options.connect_timeout)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| ConnectError::Pool(e.to_string()))?;
        let mut client = pool.get().await?;
        schema::migrate(&mut client).await?;
        Ok(PostgresStore { pool })
    }

    /// The schema version the database records.
    pub async fn schema_version(&self) -> Result<u32, ConnectError> {
        let client = self.pool.get().await?;
        schema::version(&**client).await
    }

    /// The most connections this handle holds open at once.
    pub fn pool_size(&self) -> usize {
        self.pool.status().max_size
    }
}

impl PostgresStore {
    /// Runs a read of several statements in one snapshot: REPEATABLE READ,
    /// read only.
    async fn snapshot<T>(
        &self,
        read: impl AsyncFnOnce(&deadpool_postgres::Transaction<'_>) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let result: Result<T, Failure> = async {
            let mut client = self.pool.get().await.map_err(BackendError::from)?;
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let value = read(&tx).await?;
            tx.commit().await?;
            Ok(value)
        }
        .await;
        result.map_err(Failure::into_store)
    }

    /// Runs a read of one statement on a connection of the pool.
    async fn single<T>(
        &self,
        read: impl AsyncFnOnce(&deadpool_postgres::Client) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let result: Result<T, Failure> = async {
            let client = self.pool.get().await.map_err(BackendError::from)?;
            read(&client).await
        }
        .await;
        result.map_err(Failure::into_store)
    }

    /// The version stored for `id`, read after a commit gave up.
    async fn version_of(&self, id: uuid::Uuid) -> Option<u64> {
        let client = self.pool.get().await.ok()?;
        let row = client.query_opt(queries::VERSION_OF, &[&id]).await.ok()??;
        let version: i64 = row.try_get(0).ok()?;
        u64::try_from(version).ok()
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let prepared = commit::Prepared::of(&commit)?;
        let started = std::time::Instant::now();
        let (result, tries) = transaction!(
            self,
            IsolationLevel::ReadCommitted,
            false,
            commit::starts_again,
            |tx| commit::apply(&tx, &prepared)
        );
        metrics::histogram!(mci_store::observe::COMMIT_SECONDS, "store" => "postgres")
            .record(started.elapsed());
        match result {
            Ok(()) => Ok(()),
            // Refused by concurrent commits on every try: as a conflict on
            // the first write, which the caller reads again and retries.
            Err(failure) if failure.is_retryable() => match prepared.writes.first() {
                Some(write) => Err(StoreError::Conflict {
                    nomination: columns::nomination_id(write.row.id)?,
                    expected: commit
                        .writes
                        .first()
                        .map(|w| w.expected_version)
                        .unwrap_or_default(),
                    found: self.version_of(write.row.id).await,
                }),
                None => Err(failed(failure, tries)),
            },
            Err(failure) => Err(commit::refusal(failure, &prepared)),
        }
    }

    async fn nomination(
        &self,
        partner: &PartnerId,
        id: &NominationId,
    ) -> Result<Option<Nomination>, StoreError> {
        let (id, partner) = (columns::id(id), partner.as_str());
        self.single(async |c| queries::nomination(c, id, Some(partner)).await)
            .await
    }

    async fn nomination_by_id(&self, id: &NominationId) -> Result<Option<Nomination>, StoreError> {
        let id = columns::id(id);
        self.single(async |c| queries::nomination(c, id, None).await)
            .await
    }

    async fn nomination_by_link(&self, hash: &TokenHash) -> Result<Option<Nomination>, StoreError> {
        let hash = hash.as_bytes().as_slice();
        self.single(async |c| queries::by_link(c, hash).await).await
    }

    async fn standings(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<Vec<(PartnerId, Standing)>, StoreError> {
        let (engagement, customer) = (engagement.as_str(), customer.to_string());
        self.single(async |c| queries::standings(c, engagement, &customer).await)
            .await
    }

    async fn rivals(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<Vec<Nomination>, StoreError> {
        let (engagement, customer) = (engagement.as_str(), customer.to_string());
        self.single(async |c| queries::rivals(c, engagement, &customer).await)
            .await
    }

    async fn page(&self, query: &PageQuery) -> Result<Page, StoreError> {
        let query = queries::TabQuery {
            partner: query.partner.as_str().to_owned(),
            engagement: query.engagement.as_str().to_owned(),
            tab: columns::tab(Some(query.tab)),
            now: columns::bound(query.now),
            after: columns::after(query.after.as_ref()),
            limit: query.limit,
        };
        self.single(async |c| queries::page(c, &query).await).await
    }

    async fn count(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> Result<TabCounts, StoreError> {
        let (partner, engagement, now) =
            (partner.as_str(), engagement.as_str(), columns::bound(now));
        self.snapshot(async |tx| queries::counts(tx, partner, engagement, now).await)
            .await
    }

    async fn claims(&self, query: &ClaimsQuery) -> Result<ClaimsPage, StoreError> {
        self.snapshot(async |tx| {
            tx.batch_execute(claims::PAGE_SETTINGS).await?;
            claims::page(tx, query).await
        })
        .await
    }

    async fn claim_counts(
        &self,
        scope: &ClaimsScope,
        engagement: Option<&EngagementId>,
        now: Instant,
    ) -> Result<ClaimCounts, StoreError> {
        let engagement = engagement.map(EngagementId::as_str);
        let now = columns::bound(now);
        self.snapshot(async |tx| claims::counts(tx, scope, engagement, now).await)
            .await
    }

    async fn known_customers(
        &self,
        partner: &PartnerId,
        after: Option<&CustomerId>,
        limit: usize,
    ) -> Result<Vec<KnownCustomer>, StoreError> {
        let partner = partner.as_str();
        let after = after.map(columns::customer_order).unwrap_or_default();
        self.single(async |c| queries::known_customers(c, partner, &after, limit).await)
            .await
    }

    async fn known_page(&self, query: &KnownQuery) -> Result<KnownPage, StoreError> {
        let query = known::PageQuery {
            partner: query.partner.clone(),
            engagement: query.engagement.as_str().to_owned(),
            tab: query.tab,
            now: query.now,
            after: query
                .after
                .as_ref()
                .map(columns::customer_order)
                .unwrap_or_default(),
            limit: query.limit,
        };
        self.snapshot(async |tx| known::page(tx, &query).await)
            .await
    }

    async fn known_counts(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> Result<KnownCounts, StoreError> {
        let engagement = engagement.as_str();
        self.snapshot(async |tx| known::counts(tx, partner, engagement, now).await)
            .await
    }

    async fn seed_known(
        &self,
        engagement: &EngagementId,
        now: Instant,
        limit: usize,
    ) -> Result<bool, StoreError> {
        let engagement = engagement.as_str();
        let (result, tries) = transaction!(
            self,
            IsolationLevel::ReadCommitted,
            false,
            commit::starts_again,
            |tx| known::seed(&tx, engagement, now, limit)
        );
        result.map_err(|failure| failed(failure, tries))
    }

    async fn known_to_check(
        &self,
        older_than: Instant,
        limit: usize,
    ) -> Result<Vec<KnownToCheck>, StoreError> {
        self.single(async |c| known::to_check(c, older_than, limit).await)
            .await
    }

    async fn by_state(&self, query: &StateQuery) -> Result<Page, StoreError> {
        let query = queries::StatesQuery {
            states: query
                .states
                .iter()
                .map(|s| columns::state(*s))
                .collect::<Result<_, _>>()?,
            partner: query.partner.as_ref().map(|p| p.as_str().to_owned()),
            now: columns::bound(query.now),
            after: columns::after(query.after.as_ref()),
            limit: query.limit,
        };
        self.snapshot(async |tx| queries::by_state(tx, &query).await)
            .await
    }

    async fn lapsing(
        &self,
        partner: &PartnerId,
        now: Instant,
        until: Instant,
        limit: usize,
    ) -> Result<Vec<Nomination>, StoreError> {
        let partner = partner.as_str();
        let (now, until) = (columns::bound(now), columns::bound(until));
        self.single(async |c| queries::lapsing(c, partner, now, until, limit).await)
            .await
    }

    async fn attention(&self, query: &AttentionQuery) -> Result<AttentionCandidates, StoreError> {
        self.single(async |c| queries::attention(c, query).await)
            .await
    }

    async fn history(&self, id: &NominationId) -> Result<Vec<Event>, StoreError> {
        let id = columns::id(id);
        self.single(async |c| queries::history(c, id).await).await
    }

    async fn due(
        &self,
        now: Instant,
        after: Option<DueCursor>,
        limit: usize,
    ) -> Result<Due, StoreError> {
        let now = columns::bound(now);
        let after = after.map(|c| (columns::instant(c.wake_at), columns::id(&c.id)));
        self.single(async |c| queries::due(c, now, after, limit).await)
            .await
    }

    async fn take_messages(
        &self,
        now: Instant,
        lease_until: Instant,
        limit: usize,
    ) -> Result<Vec<Leased>, StoreError> {
        let (now, lease_until) = (columns::bound(now), columns::instant(lease_until));
        let limit = columns::limit(limit);
        let (result, tries) = transaction!(
            self,
            IsolationLevel::ReadCommitted,
            false,
            Failure::is_retryable,
            |tx| outbox::take(&tx, now, lease_until, limit)
        );
        let taken = result.map_err(|failure| failed(failure, tries))?;
        taken
            .into_iter()
            .map(|(doc, attempt)| {
                Ok(Leased {
                    message: columns::document::<Message>(&doc)?,
                    attempt,
                })
            })
            .collect()
    }

    async fn acknowledge(&self, ids: &[MessageId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let (result, tries) = transaction!(
            self,
            IsolationLevel::ReadCommitted,
            false,
            Failure::is_retryable,
            |tx| outbox::acknowledge(&tx, ids.clone())
        );
        result.map_err(|failure| failed(failure, tries))
    }

    async fn idempotent_result(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotentResult>, StoreError> {
        let (scope, key) = (key.scope(), key.key());
        self.single(async |c| queries::idempotent_result(c, scope, key).await)
            .await
    }

    async fn payout_batch(&self, id: &PayoutBatchId) -> Result<Option<PayoutBatch>, StoreError> {
        let id = id.as_uuid();
        self.single(async |c| queries::payout_batch(c, id).await)
            .await
    }

    async fn payout_batches(
        &self,
        after: Option<&PayoutBatchId>,
        limit: usize,
    ) -> Result<Vec<PayoutBatch>, StoreError> {
        // No batch has the nil id: a UUID v7's version bits are never 0.
        let after = after.map_or_else(uuid::Uuid::nil, PayoutBatchId::as_uuid);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.single(async |c| queries::payout_batches(c, after, limit).await)
            .await
    }

    async fn setting(&self, key: &SettingKey) -> Result<Option<SettingValue>, StoreError> {
        self.single(async |c| setting::setting(c, key.as_str()).await)
            .await
    }

    async fn put_setting(
        &self,
        key: &SettingKey,
        value: &SettingValue,
        condition: &SettingCondition,
    ) -> Result<(), StoreError> {
        self.single(async |c| setting::put(c, key, value, condition).await)
            .await
    }
}
