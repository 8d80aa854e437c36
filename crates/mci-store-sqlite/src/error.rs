//! The errors of the SQLite store: [`OpenError`] when a file cannot be
//! opened as a store, and [`BackendError`], the source of every
//! [`StoreError::Backend`] this store returns.
//!
//! ```
//! use mci_store_sqlite::{OpenError, SqliteStore};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("notes.txt");
//! std::fs::write(&path, b"not a database, just some notes").unwrap();
//! assert!(matches!(SqliteStore::open(&path), Err(OpenError::NotADatabase { .. })));
//! ```

use mci_store::StoreError;
use std::path::PathBuf;
use std::sync::Arc;

/// Any error, as the source of another.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a path cannot be opened as a store. Every variant that refuses a
/// file leaves it as it was: nothing is written to it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The file exists and is not a SQLite database.
    #[error("{path} is not a SQLite database; it was left as it is")]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is a SQLite database whose pages are damaged: restore it
    /// from a backup.
    #[error("{path} is a corrupt SQLite database ({detail}); it was left as it is")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite found.
        detail: String,
    },
    /// The database was written by a newer version of this crate, whose
    /// schema this version does not know: upgrade the crate.
    #[error(
        "{path} has schema version {found}, newer than {supported}, the latest this version of mci-store-sqlite knows; it was left as it is"
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The schema version the file records.
        found: u32,
        /// The latest schema version this crate knows.
        supported: u32,
    },
    /// The file is a SQLite database of another application (it has tables,
    /// or an application id or schema version that is not this store's).
    #[error(
        "{path} is a SQLite database of another application (application id {application_id:#x}, user version {user_version}); it was left as it is"
    )]
    ForeignDatabase {
        /// The file.
        path: PathBuf,
        /// The application id the file records (`PRAGMA application_id`).
        application_id: i32,
        /// The version the file records (`PRAGMA user_version`).
        user_version: u32,
    },
    /// Another connection held the database locked for longer than the busy
    /// timeout: try again later.
    #[error("{path} stayed locked by another connection for longer than the busy timeout")]
    Busy {
        /// The file.
        path: PathBuf,
    },
    /// The file cannot be opened or created: a missing directory, missing
    /// permissions, a full disk.
    #[error("cannot open {path}")]
    CannotOpen {
        /// The file.
        path: PathBuf,
        /// What the system answered.
        #[source]
        source: BoxError,
    },
    /// The file system cannot hold a WAL database (it has no shared memory
    /// for the WAL index, as on some network file systems).
    #[error("{path} cannot be put in WAL mode: the journal mode stays {mode}")]
    WalUnavailable {
        /// The file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// A migration step failed; it was rolled back, and the file keeps the
    /// schema version before it.
    #[error("migrating {path} to schema version {version} failed and was rolled back")]
    Migration {
        /// The file.
        path: PathBuf,
        /// The schema version the step would have reached.
        version: u32,
        /// What SQLite answered.
        #[source]
        source: BoxError,
    },
    /// The threads of the store could not be started.
    #[error("cannot start the store's threads")]
    Threads(#[source] std::io::Error),
    /// SQLite failed otherwise.
    #[error("SQLite failed on {path}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What SQLite answered.
        #[source]
        source: BoxError,
    },
}

impl OpenError {
    /// The error of SQLite `error` met while opening `path`.
    pub(crate) fn sqlite(path: &std::path::Path, error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let path = path.to_path_buf();
        match error.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => OpenError::NotADatabase { path },
            Some(ErrorCode::DatabaseCorrupt) => OpenError::Corrupt {
                path,
                detail: error.to_string(),
            },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => OpenError::Busy { path },
            Some(
                ErrorCode::CannotOpen
                | ErrorCode::PermissionDenied
                | ErrorCode::ReadOnly
                | ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure,
            ) => OpenError::CannotOpen {
                path,
                source: Box::new(error),
            },
            _ => OpenError::Sqlite {
                path,
                source: Box::new(error),
            },
        }
    }
}

/// The source of the [`StoreError::Backend`]s and
/// [`StoreError::Unavailable`]s of this store: downcast the backend error's
/// source to this type to tell them apart. A failure after which the same
/// operation may succeed later ([`BackendError::Group`],
/// [`BackendError::DiskFull`], a statement that met a lock) is
/// [`StoreError::Unavailable`]; the others are [`StoreError::Backend`].
/// Each variant's words are its own; SQLite's are its
/// [`source()`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// A statement failed; the operation wrote nothing.
    #[error("a SQLite statement failed")]
    Sqlite(#[from] rusqlite::Error),
    /// The transaction of the group the commit was written in could not
    /// begin, broke, or failed to commit: nothing of the commit was
    /// written. Retrying may succeed once the cause (a lock held by another
    /// process, an I/O error) is gone. A full disk is
    /// [`BackendError::DiskFull`].
    #[error("the transaction of the commit group failed, nothing of it was written")]
    Group(#[source] Arc<rusqlite::Error>),
    /// The path the store was opened at no longer names the file it opened:
    /// the file was deleted, moved, or replaced by another. A write would go
    /// to a file that no path names, or not the one the path shows, and be
    /// lost; this write and every later one are refused. Reopen the store
    /// once the file is back where it belongs.
    #[error(
        "{path} is no longer the database file the store opened (deleted, moved or replaced): writes are refused until the store is reopened"
    )]
    FileReplaced {
        /// The path the store was opened at.
        path: PathBuf,
    },
    /// The disk holding the database file is full: nothing of the commit
    /// was written. The store stays open, and writes succeed again once
    /// space is freed: the writer gives back the space the WAL holds as
    /// soon as the database file can take in its pages.
    #[error(
        "the disk holding {path} is full, nothing of the commit was written; writes succeed again once space is freed"
    )]
    DiskFull {
        /// The database file.
        path: PathBuf,
        /// What SQLite answered.
        source: Arc<rusqlite::Error>,
    },
    /// A document could not be written or read back as the core's type.
    #[error("a stored document does not read back")]
    Document(#[from] serde_json::Error),
    /// A value does not fit its column.
    #[error("a value does not fit its column: {0}")]
    Encoding(String),
    /// The store's threads have stopped: the store was closed
    /// ([`SqliteStore::close`](crate::SqliteStore::close)) or is being
    /// dropped.
    #[error("the store is closed")]
    Closed,
    /// Threads of the store panicked, which was reported when they did (a
    /// `tracing` error event and the counter
    /// `mci_sqlite_thread_failures_total`); the callers waiting on them
    /// were answered [`BackendError::Closed`]. Answered by
    /// [`SqliteStore::close`](crate::SqliteStore::close) once every other
    /// thread has ended.
    #[error("threads of the store panicked: {}", threads.join(", "))]
    Panicked {
        /// The names of the threads, such as `mci-sqlite-reader-2`.
        threads: Vec<String>,
    },
}

impl BackendError {
    /// Whether the same operation may succeed later: the group's
    /// transaction failed ([`BackendError::Group`]), the disk is full
    /// ([`BackendError::DiskFull`]), or a statement met a lock another
    /// connection held for longer than the busy timeout.
    pub fn is_transient(&self) -> bool {
        use rusqlite::ErrorCode;
        match self {
            BackendError::Group(_) | BackendError::DiskFull { .. } => true,
            BackendError::Sqlite(error) => matches!(
                error.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::DiskFull)
            ),
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

/// A SQLite error as a store error.
pub(crate) fn sqlite(error: rusqlite::Error) -> StoreError {
    BackendError::Sqlite(error).into()
}
