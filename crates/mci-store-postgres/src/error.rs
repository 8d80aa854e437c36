//! The errors of the PostgreSQL store: [`ConnectError`], when a database
//! cannot be connected to or opened as a store, and [`BackendError`], the
//! source of every [`StoreError::Backend`] this store returns.
//!
//! ```
//! use mci_store_postgres::ConnectError;
//!
//! let refused = ConnectError::NewerSchema {
//!     database: "mci".into(),
//!     schema: "public".into(),
//!     found: 9,
//!     supported: 2,
//! };
//! assert!(refused.to_string().contains("upgrade"));
//! ```

use mci_store::StoreError;
use tokio_postgres::error::SqlState;

/// Why a database cannot be opened as a store. Every variant that refuses a
/// database (`ForeignDatabase`, `NewerSchema`, `NoSchema`) leaves it as it
/// was: nothing is written to it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The connection string does not parse.
    #[error("the connection string does not parse")]
    Config(#[source] tokio_postgres::Error),
    /// The [`Options`](crate::Options) cannot make a pool (a pool of no
    /// connections).
    #[error("invalid options: {0}")]
    Options(String),
    /// The server cannot be reached, or refused the connection (no such
    /// database, wrong credentials, TLS required).
    #[error("cannot connect to PostgreSQL")]
    Unreachable(#[source] tokio_postgres::Error),
    /// The connection pool failed otherwise.
    #[error("the connection pool failed: {0}")]
    Pool(String),
    /// No connection was made within the pool's timeouts.
    #[error("no connection to PostgreSQL within the pool's timeouts")]
    Timeout,
    /// The connection's `search_path` names no schema that exists, so there
    /// is nowhere to create the tables.
    #[error(
        "the search_path of the connection to {database} ({search_path}) names no schema that exists"
    )]
    NoSchema {
        /// The database connected to.
        database: String,
        /// The connection's `search_path`.
        search_path: String,
    },
    /// The schema holds tables of another application: tables without this
    /// store's migrations table, or a migrations table without this store's
    /// mark. Use another database, or another schema (`search_path`).
    #[error(
        "schema {schema} of database {database} belongs to another application ({detail}); it was left as it is"
    )]
    ForeignDatabase {
        /// The database connected to.
        database: String,
        /// The schema the tables would be in (the first of `search_path`).
        schema: String,
        /// What was found.
        detail: String,
    },
    /// The schema was written by a newer version of this crate, whose
    /// migrations this version does not know: upgrade the crate.
    #[error(
        "schema {schema} of database {database} has schema version {found}, newer than {supported}, the latest this version of mci-store-postgres knows: upgrade it; the database was left as it is"
    )]
    NewerSchema {
        /// The database connected to.
        database: String,
        /// The schema holding the store's tables.
        schema: String,
        /// The schema version the database records.
        found: u32,
        /// The latest schema version this crate knows.
        supported: u32,
    },
    /// A migration step failed; it was rolled back, and the database keeps
    /// the schema version before it.
    #[error("migrating to schema version {version} failed and was rolled back")]
    Migration {
        /// The schema version the step would have reached.
        version: u32,
        /// What PostgreSQL answered.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A statement failed otherwise.
    #[error("a PostgreSQL statement failed")]
    Postgres(#[from] tokio_postgres::Error),
}

impl From<deadpool_postgres::PoolError> for ConnectError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError;
        match error {
            PoolError::Backend(error) => ConnectError::Unreachable(error),
            PoolError::Timeout(_) => ConnectError::Timeout,
            other => ConnectError::Pool(other.to_string()),
        }
    }
}

/// The source of the [`StoreError::Backend`]s and
/// [`StoreError::Unavailable`]s of this store: downcast the backend error's
/// source to this type to tell them apart. Whatever the variant, the
/// operation wrote nothing. A failure after which the same operation may
/// succeed later ([`BackendError::is_transient`]) is
/// [`StoreError::Unavailable`]; the others are [`StoreError::Backend`].
/// Each variant's words are its own; PostgreSQL's are its
/// [`source()`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// A statement failed, or the connection broke.
    #[error("a PostgreSQL statement failed")]
    Postgres(#[from] tokio_postgres::Error),
    /// The transaction met a serialization failure or a deadlock (SQLSTATE
    /// 40001, 40P01) on every one of its tries: the database is too busy
    /// with the same rows. Retrying later may succeed.
    #[error("the transaction was refused {tries} times by concurrent ones ({code}); retry later")]
    Contended {
        /// How many times it was tried.
        tries: u32,
        /// The last SQLSTATE.
        code: String,
    },
    /// No connection of the pool became free, or could be made, in time.
    #[error("no connection to PostgreSQL within the pool's timeouts")]
    Timeout,
    /// The connection pool failed otherwise.
    #[error("the connection pool failed: {0}")]
    Pool(String),
    /// A document could not be written or read back as the core's type.
    #[error("a stored document does not read back")]
    Document(#[from] serde_json::Error),
    /// A value does not fit its column.
    #[error("a value does not fit its column: {0}")]
    Encoding(String),
}

impl BackendError {
    /// Whether the same operation may succeed later: refused by concurrent
    /// transactions on every try ([`BackendError::Contended`]), no
    /// connection in time ([`BackendError::Timeout`]), or a connection that
    /// closed or a server that is shutting down or refuses connections for
    /// now (SQLSTATE classes 08 and 57P, 53300 too many connections).
    pub fn is_transient(&self) -> bool {
        match self {
            BackendError::Contended { .. } | BackendError::Timeout => true,
            BackendError::Postgres(error) => {
                error.is_closed()
                    || error.code().is_some_and(|code| {
                        let code = code.code();
                        code.starts_with("08") || code.starts_with("57P") || code == "53300"
                    })
            }
            _ => false,
        }
    }
}

impl From<BackendError> for StoreError {
    /// [`StoreError::Unavailable`] when the error is transient
    /// ([`BackendError::is_transient`]), else [`StoreError::Backend`].
    fn from(error: BackendError) -> Self {
        if error.is_transient() {
            StoreError::unavailable(error)
        } else {
            StoreError::backend(error)
        }
    }
}

impl From<deadpool_postgres::PoolError> for BackendError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError;
        match error {
            PoolError::Backend(error) => BackendError::Postgres(error),
            PoolError::Timeout(_) => BackendError::Timeout,
            other => BackendError::Pool(other.to_string()),
        }
    }
}

/// A PostgreSQL error as a store error.
pub(crate) fn postgres(error: tokio_postgres::Error) -> StoreError {
    BackendError::Postgres(error).into()
}

/// Whether starting the transaction again may succeed: a serialization
/// failure or a deadlock.
pub(crate) fn is_retryable(error: &tokio_postgres::Error) -> bool {
    matches!(
        error.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
    )
}

/// The constraint a unique violation (SQLSTATE 23505) names, if `error`
/// is one.
pub(crate) fn unique_violation(error: &tokio_postgres::Error) -> Option<&str> {
    let db = error.as_db_error()?;
    (db.code() == &SqlState::UNIQUE_VIOLATION)
        .then(|| db.constraint())
        .flatten()
}
