//! Opening a path: a new file is created, an existing store reopens with its
//! data, and what is not a store of this version is refused with a typed
//! error and left byte for byte as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_core::Candidate;
use mci_store::{Commit, Store};
use mci_store_sqlite::schema::{APPLICATION_ID, SCHEMA_VERSION};
use mci_store_sqlite::{Durability, OpenError, Options, SqliteStore};
use mci_testkit::{
    admin, eligible_facts, nomination_id, nomination_request, partner, t0, workshop,
};
use rusqlite::Connection;
use std::path::Path;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// A store at `path` holding one nomination; closed when this returns.
fn store_with_one_nomination(path: &Path) -> mci_core::Nomination {
    let (engagement, _) = workshop();
    let candidates = [Candidate {
        engagement: &engagement,
        facts: eligible_facts(),
    }];
    let outcome = mci_core::nominate(t0(), &admin(), nomination_request(), &candidates, || {
        nomination_id(1)
    })
    .unwrap()
    .remove(0);
    let nomination = outcome.nomination.clone();
    let store = SqliteStore::open(path).unwrap();
    runtime()
        .block_on(store.commit(Commit::of(t0(), outcome)))
        .unwrap();
    nomination
}

/// Opening `path` fails as `expected` says, and leaves its bytes as they were.
fn refused_untouched(path: &Path, expected: impl Fn(&OpenError) -> bool) -> OpenError {
    let before = std::fs::read(path).unwrap();
    let error = SqliteStore::open(path).unwrap_err();
    assert!(expected(&error), "unexpected {error:?}");
    assert_eq!(std::fs::read(path).unwrap(), before, "the file changed");
    let error = SqliteStore::open_with(
        path,
        Options {
            verify_on_open: true,
            ..Options::default()
        },
    )
    .unwrap_err();
    assert!(expected(&error), "unexpected {error:?}");
    assert_eq!(std::fs::read(path).unwrap(), before, "the file changed");
    error
}

#[test]
fn a_new_path_becomes_a_store_at_the_current_schema_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.sqlite");
    drop(SqliteStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(application_id, APPLICATION_ID);
    assert_eq!(mode, "wal");
}

#[test]
fn an_empty_file_becomes_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.sqlite");
    std::fs::write(&path, b"").unwrap();
    drop(SqliteStore::open(&path).unwrap());
}

#[test]
fn a_store_reopens_with_its_data_and_closing_checkpoints_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reopen.sqlite");
    let nomination = store_with_one_nomination(&path);
    let wal = dir.path().join("reopen.sqlite-wal");
    assert!(
        !wal.exists(),
        "the last connection to close removes the WAL"
    );
    let store = SqliteStore::open_with(
        &path,
        Options {
            durability: Durability::Full,
            readers: 1,
            verify_on_open: true,
            ..Options::default()
        },
    )
    .unwrap();
    let loaded = runtime()
        .block_on(store.nomination(&partner(1), nomination.id()))
        .unwrap();
    assert_eq!(loaded, Some(nomination));
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "Shopping list: milk, eggs, a SQLite database.\n".repeat(200),
    )
    .unwrap();
    refused_untouched(&path, |e| matches!(e, OpenError::NotADatabase { .. }));
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.sqlite");
    store_with_one_nomination(&path);
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let error = refused_untouched(&path, |e| matches!(e, OpenError::NewerSchema { .. }));
    let OpenError::NewerSchema {
        found, supported, ..
    } = error
    else {
        unreachable!()
    };
    assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
}

#[test]
fn another_applications_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.sqlite");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('bread');")
        .unwrap();
    drop(conn);
    refused_untouched(&path, |e| {
        matches!(
            e,
            OpenError::ForeignDatabase {
                application_id: 0,
                user_version: 0,
                ..
            }
        )
    });

    let path = dir.path().join("versioned.sqlite");
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    drop(conn);
    refused_untouched(&path, |e| matches!(e, OpenError::ForeignDatabase { .. }));
}

#[test]
fn a_corrupt_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.sqlite");
    store_with_one_nomination(&path);
    // Page 1 holds the header (first 100 bytes) and the schema's B-tree:
    // garble the B-tree, keep the header.
    let mut bytes = std::fs::read(&path).unwrap();
    for (i, byte) in bytes[100..4096].iter_mut().enumerate() {
        *byte = (i * 7 + 13) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    refused_untouched(&path, |e| matches!(e, OpenError::Corrupt { .. }));
}

#[test]
fn a_corrupt_page_is_refused_when_opening_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.sqlite");
    store_with_one_nomination(&path);
    // Garble every page after the schema's: the tables' and indexes' pages.
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(
        bytes.len() > 2 * page,
        "the file has pages beyond the schema"
    );
    for (i, byte) in bytes[page..].iter_mut().enumerate() {
        *byte = (i * 31 + 5) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    let before = std::fs::read(&path).unwrap();
    let error = SqliteStore::open_with(
        &path,
        Options {
            verify_on_open: true,
            ..Options::default()
        },
    )
    .unwrap_err();
    assert!(matches!(error, OpenError::Corrupt { .. }), "{error:?}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
}

#[test]
fn a_missing_directory_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("store.sqlite");
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(error, OpenError::CannotOpen { .. }), "{error:?}");
    assert!(!path.exists());
}

#[test]
fn memory_is_not_a_file_and_is_refused() {
    let error = SqliteStore::open(":memory:").unwrap_err();
    assert!(
        matches!(error, OpenError::WalUnavailable { ref mode, .. } if mode == "memory"),
        "{error:?}"
    );
}
