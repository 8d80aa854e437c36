//! Settings (`Store::setting`, `Store::put_setting`): one row a key in
//! `settings`. Each condition is one statement, atomic on its own: under
//! READ COMMITTED, an `UPDATE` waiting for a concurrent writer's row
//! evaluates its `WHERE` again on the row that writer committed, and an
//! `INSERT ... ON CONFLICT` waits for a concurrent insert of the key, so
//! of two writers racing from one read exactly one writes.

use crate::db::{Failure, exec, opt};
use deadpool_postgres::GenericClient;
use mci_store::{SettingCondition, SettingKey, SettingValue, StoreError};

/// The value of a setting.
pub const SETTING: &str = "SELECT value FROM settings WHERE key = $1";

/// Writes a setting, whatever it held.
pub const PUT_ANY: &str = "INSERT INTO settings (key, value) VALUES ($1, $2) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

/// Writes a setting that holds nothing yet.
pub const PUT_ABSENT: &str =
    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";

/// Writes a setting that still holds $3.
pub const PUT_EQUALS: &str = "UPDATE settings SET value = $2 WHERE key = $1 AND value = $3";

/// The value of setting `key`, if it was written.
pub(crate) async fn setting(
    client: &impl GenericClient,
    key: &str,
) -> Result<Option<SettingValue>, Failure> {
    let Some(row) = opt(client, SETTING, &[&key]).await? else {
        return Ok(None);
    };
    let value: String = row.try_get(0)?;
    Ok(Some(SettingValue::new(value).map_err(StoreError::backend)?))
}

/// Writes `value` to `key` if what it holds admits `condition`; else
/// [`StoreError::SettingChanged`] with what it held when refused.
pub(crate) async fn put(
    client: &impl GenericClient,
    key: &SettingKey,
    value: &SettingValue,
    condition: &SettingCondition,
) -> Result<(), Failure> {
    let (k, v) = (key.as_str(), value.as_str());
    let written = match condition {
        SettingCondition::Any => exec(client, PUT_ANY, &[&k, &v]).await?,
        SettingCondition::Absent => exec(client, PUT_ABSENT, &[&k, &v]).await?,
        SettingCondition::Equals(expected) => {
            exec(client, PUT_EQUALS, &[&k, &v, &expected.as_str()]).await?
        }
    };
    if written == 1 {
        return Ok(());
    }
    Err(StoreError::SettingChanged {
        key: key.clone(),
        found: setting(client, k).await?,
    }
    .into())
}
