//! The PostgreSQL store of the mci crates: many application servers on one
//! database.
//!
//! This is the crate's base: [`PostgresStore::connect`] makes a pool of
//! connections and brings the database's schema to the version this crate
//! knows ([`schema`]), refusing a database that is another application's
//! or whose schema is newer with a typed [`ConnectError`]. The
//! implementation of [`mci_store::Store`](https://docs.rs/mci-store) is not
//! here yet.
//!
//! - **tokio-postgres and deadpool-postgres.** Asynchronous from end to
//!   end: no call blocks the executor. It needs a tokio runtime.
//! - **TLS is the caller's.** [`PostgresStore::connect`] speaks without TLS
//!   (a Unix socket, a loopback or a trusted network);
//!   [`PostgresStore::connect_with_tls`] takes any
//!   [`MakeTlsConnect`](tokio_postgres::tls::MakeTlsConnect), such as
//!   `postgres-native-tls` or `tokio-postgres-rustls`, so that the
//!   application chooses the TLS library it already uses.
//! - **A pool of a documented size.** [`Options::pool_size`] connections
//!   per store handle, 16 by default.
//! - **Versioned migrations, safe to race.** Servers that start at once on
//!   one database take turns under a row lock of the migrations table; each
//!   step is applied once, in its own transaction.
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
//! // "host=/var/run/postgresql dbname=mci", or "postgres://mci@db.internal/mci"
//! let url = cluster.connection_string("postgres");
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

pub mod error;
pub mod schema;

pub use error::ConnectError;
pub use tokio_postgres;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::time::Duration;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Config, NoTls, Socket};

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
