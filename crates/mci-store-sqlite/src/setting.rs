//! Settings (`Store::setting`, `Store::put_setting`): one row a key in
//! `settings`. A put runs on the writer thread, inside its group's
//! transaction, so reading the stored value, comparing it with the
//! condition and writing are one atomic step.

use crate::error::sqlite;
use mci_store::{SettingCondition, SettingKey, SettingValue, StoreError};
use rusqlite::{Connection, OptionalExtension};

/// The value of a setting.
pub(crate) const SETTING: &str = "SELECT value FROM settings WHERE key = ?1";

/// Writes a setting, whatever it held.
const PUT: &str = "INSERT INTO settings (key, value) VALUES (?1, ?2) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

/// The value of setting `key`, if it was written. A stored value the
/// store's own checks would refuse fails as a backend error.
pub(crate) fn setting(conn: &Connection, key: &str) -> Result<Option<SettingValue>, StoreError> {
    let value: Option<String> = conn
        .prepare_cached(SETTING)
        .and_then(|mut stmt| stmt.query_row([key], |r| r.get(0)).optional())
        .map_err(sqlite)?;
    value
        .map(|v| SettingValue::new(v).map_err(StoreError::backend))
        .transpose()
}

/// Writes `value` to `key` if what it holds admits `condition`; else
/// [`StoreError::SettingChanged`] with what it holds, and nothing written.
pub(crate) fn put(
    conn: &Connection,
    key: &SettingKey,
    value: &SettingValue,
    condition: &SettingCondition,
) -> Result<(), StoreError> {
    let stored = setting(conn, key.as_str())?;
    if !condition.admits(stored.as_ref()) {
        return Err(StoreError::SettingChanged {
            key: key.clone(),
            found: stored,
        });
    }
    conn.prepare_cached(PUT)
        .and_then(|mut stmt| stmt.execute([key.as_str(), value.as_str()]))
        .map_err(sqlite)?;
    Ok(())
}
