//! A full disk: commits fail with a typed error and write nothing, the
//! store stays open, and once space is freed writes succeed again, the WAL
//! giving back the space it held.
//!
//! The disk is a real file system of 4 MiB (tmpfs), which needs root to
//! mount: without it the test says so in one line and passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{adding, file_len};
use mci_store::{Store, StoreError};
use mci_store_sqlite::{BackendError, SqliteStore};
use mci_testkit::nomination_id;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A tmpfs of `size` mounted at a directory of its own, unmounted when
/// dropped.
struct SmallDisk {
    mount: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts it, or says why it cannot.
    fn mount(size: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mount = dir.path().join("disk");
        std::fs::create_dir(&mount).map_err(|e| e.to_string())?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount)
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !mounted.status.success() {
            return Err(String::from_utf8_lossy(&mounted.stderr).trim().to_owned());
        }
        Ok(SmallDisk { mount, _dir: dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount).status();
    }
}

/// The error is the store's typed full disk, naming `path`: the store is
/// unavailable until space is freed, so the write may be retried.
fn is_disk_full(error: &StoreError, path: &Path) -> bool {
    let StoreError::Unavailable(source) = error else {
        return false;
    };
    matches!(
        source.downcast_ref::<BackendError>(),
        Some(BackendError::DiskFull { path: p, .. }) if p == path
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_with_a_typed_error_and_they_succeed_once_space_is_freed() {
    let disk = match SmallDisk::mount("4m") {
        Ok(disk) => disk,
        Err(why) => {
            println!("skipped: cannot mount a 4 MiB tmpfs ({why})");
            return;
        }
    };
    let path = disk.mount.join("store.sqlite");
    let wal = disk.mount.join("store.sqlite-wal");
    let filler = disk.mount.join("filler");
    std::fs::write(&filler, vec![0u8; 1024 * 1024]).unwrap();
    let store = SqliteStore::open(&path).unwrap();

    // Fill the disk.
    let mut n = 0u64;
    let mut acknowledged = Vec::new();
    let full = loop {
        n += 1;
        assert!(n < 20_000, "4 MiB never filled up");
        match store.commit(adding(n)).await {
            Ok(()) => acknowledged.push(n),
            Err(error) => break error,
        }
    };
    assert!(is_disk_full(&full, &path), "{full}");
    assert!(full.is_retryable(), "{full}");
    let cause = std::error::Error::source(&full).map(ToString::to_string);
    assert!(
        cause.is_some_and(|cause| cause.contains(&path.display().to_string())),
        "{full}"
    );
    // The store stays open, and refuses while the disk is full.
    for _ in 0..20 {
        n += 1;
        if let Err(error) = store.commit(adding(n)).await {
            assert!(is_disk_full(&error, &path), "{error}");
        } else {
            acknowledged.push(n);
        }
    }
    let before = acknowledged.len();
    println!(
        "full after {before} adds: the WAL holds {} KiB, the database file {} KiB",
        file_len(&wal) / 1024,
        file_len(&path) / 1024
    );

    // Free 1 MiB: every add succeeds again.
    std::fs::remove_file(&filler).unwrap();
    let mut failed = Vec::new();
    for _ in 0..500 {
        n += 1;
        match store.commit(adding(n)).await {
            Ok(()) => acknowledged.push(n),
            Err(error) => failed.push(error.to_string()),
        }
    }
    println!(
        "after freeing 1 MiB: {} of 500 adds acknowledged, the WAL holds {} KiB, the database file {} KiB",
        acknowledged.len() - before,
        file_len(&wal) / 1024,
        file_len(&path) / 1024
    );
    assert!(
        failed.is_empty(),
        "{} of 500 adds failed after space was freed; first: {}",
        failed.len(),
        failed[0]
    );
    for id in acknowledged {
        assert!(
            store
                .nomination_by_id(&nomination_id(id))
                .await
                .unwrap()
                .is_some(),
            "acknowledged nomination {id} is missing"
        );
    }
}
