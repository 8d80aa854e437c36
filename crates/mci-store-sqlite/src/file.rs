//! Which file the store's path names, so that the writer can tell when the
//! database file is deleted, moved or replaced while the store is open.
//!
//! SQLite keeps writing to the file it opened, whatever its path names
//! later: after `rm` the commits go to a file no directory holds, which is
//! gone when the store closes; after a backup is moved over the path they
//! go to the old file, not the one the path shows. The writer compares the
//! path's device and inode with those taken at open before it acknowledges
//! each group (one `stat`, about a microsecond), and refuses every write
//! from the first difference on ([`BackendError::FileReplaced`]).
//!
//! [`BackendError::FileReplaced`]: crate::BackendError::FileReplaced

use std::path::{Path, PathBuf};

/// The database file as the store opened it.
#[derive(Debug, Clone)]
pub(crate) struct DatabaseFile {
    path: PathBuf,
    identity: Identity,
}

/// What tells one file from another: its device and inode.
#[cfg(unix)]
type Identity = (u64, u64);

/// Elsewhere, only that the path names a file.
#[cfg(not(unix))]
type Identity = ();

#[cfg(unix)]
fn identity(path: &Path) -> std::io::Result<Identity> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path)?;
    Ok((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn identity(path: &Path) -> std::io::Result<Identity> {
    std::fs::metadata(path).map(|_| ())
}

impl DatabaseFile {
    /// The file `path` names now.
    pub(crate) fn at(path: &Path) -> std::io::Result<Self> {
        Ok(DatabaseFile {
            path: path.to_path_buf(),
            identity: identity(path)?,
        })
    }

    /// The path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the path still names the file it named at open.
    pub(crate) fn still_named(&self) -> bool {
        identity(&self.path).is_ok_and(|found| found == self.identity)
    }
}
