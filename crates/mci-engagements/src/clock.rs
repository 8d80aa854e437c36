//! A manual clock whose reading is kept in the store: a demo's clock that
//! a restart does not move back and that every server on one database
//! reads alike.

use crate::error::{Error, Result};
use crate::ports::Clock;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use mci_core::{Instant, InvalidValue, Problem};
use mci_store::observe::Observed;
use mci_store::{SettingCondition, SettingKey, SettingValue, Store, StoreError};
use std::sync::{Arc, Mutex};

/// How many times [`StoredClock::advance`] reads again after another
/// writer moved the clock first, before it answers [`Error::Busy`].
const ATTEMPTS: u32 = 16;

/// A clock that moves only when told, like
/// [`ManualClock`](crate::ports::ManualClock), whose reading is kept in the
/// store as the setting `key` ([`Store::put_setting`]), so that:
///
/// - a restart reads it back: time never moves back, so no command is
///   dated before the last change of a nomination written before the
///   restart (the core takes such a command at that change, R-REC-1), and
///   days left keep counting down from where they were (R-TIME-3);
/// - every server on one database moves one clock: a move is read, added
///   to and written with a compare-and-set ([`SettingCondition::Equals`]),
///   so two servers moving it at once both count, and neither moves it
///   back;
/// - it only moves forward: [`advance`](Self::advance) refuses a negative
///   move, and [`refresh`](Self::refresh) keeps the later of its reading
///   and the stored one.
///
/// [`Clock::now`] answers the reading as of the last [`open`](Self::open),
/// [`advance`](Self::advance) or [`refresh`](Self::refresh) of this handle:
/// a server that shares the clock with others refreshes it before each
/// request it serves. The reading is kept as RFC 3339 text to the
/// microsecond (`2026-03-02T09:00:00.000000Z`). For tests and demos;
/// production reads the [`SystemClock`](crate::ports::SystemClock).
///
/// ```
/// use std::sync::Arc;
/// use mci_engagements::chrono::{TimeDelta, TimeZone, Utc};
/// use mci_engagements::ports::{Clock, StoredClock};
/// use mci_engagements::store::{SettingKey, Store};
/// use mci_store_memory::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
/// let key: SettingKey = "demo.clock".parse()?;
/// let start = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
/// let clock = StoredClock::open(store.clone(), key.clone(), start).await?;
/// clock.advance(TimeDelta::days(7)).await?;
///
/// // A restart on the same database reads the clock back: time never moves back.
/// let again = StoredClock::open(store, key, start).await?;
/// assert_eq!(again.now(), start + TimeDelta::days(7));
/// assert!(again.advance(TimeDelta::days(-1)).await.is_err());
/// # Ok(())
/// # }
/// ```
pub struct StoredClock {
    store: Arc<dyn Store>,
    key: SettingKey,
    now: Mutex<Instant>,
}

impl std::fmt::Debug for StoredClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredClock")
            .field("key", &self.key)
            .field("now", &self.now())
            .finish_non_exhaustive()
    }
}

/// The stored reading of a clock is not an RFC 3339 instant: written by
/// something else than a [`StoredClock`].
#[derive(Debug, thiserror::Error)]
#[error("the setting {key} does not hold a clock's reading (an RFC 3339 instant)")]
struct NotAReading {
    key: SettingKey,
}

impl StoredClock {
    /// The clock kept as setting `key` of `store`, standing where it was
    /// left, or at `start` when the key holds nothing yet (then written, so
    /// that every server starts from one reading). Its operations on the
    /// store are observed as the service's are ([`Observed`]).
    pub async fn open(store: Arc<dyn Store>, key: SettingKey, start: Instant) -> Result<Self> {
        let store: Arc<dyn Store> = Arc::new(Observed::new(store));
        let start = mci_core::truncate_to_micros(start);
        let now = match store.setting(&key).await? {
            Some(stored) => Self::parse(&key, &stored)?,
            None => {
                let put = store
                    .put_setting(&key, &Self::encode(start)?, &SettingCondition::Absent)
                    .await;
                match put {
                    Ok(()) => start,
                    // Another server wrote it first: its reading holds.
                    Err(StoreError::SettingChanged {
                        found: Some(found), ..
                    }) => Self::parse(&key, &found)?,
                    Err(error) => return Err(error.into()),
                }
            }
        };
        Ok(Self {
            store,
            key,
            now: Mutex::new(now),
        })
    }

    /// The setting the reading is kept as.
    pub fn key(&self) -> &SettingKey {
        &self.key
    }

    /// Reads the stored reading again, and keeps the later of it and this
    /// handle's: what another server moved the clock to. The reading after.
    pub async fn refresh(&self) -> Result<Instant> {
        if let Some(stored) = self.store.setting(&self.key).await? {
            let stored = Self::parse(&self.key, &stored)?;
            return Ok(self.keep_later(stored));
        }
        Ok(self.now())
    }

    /// Moves the clock forward by `by` from the stored reading, and keeps
    /// it: read, add, and write only if the stored reading is still the
    /// one read, else read again. The new reading. A negative `by` is
    /// refused (R-TIME-1: a kept clock never moves back), as is a move past
    /// the end of chrono's range, with a typed error naming `delta`; a
    /// clock other writers keep moving first, more than a few times in a
    /// row, answers [`Error::Busy`]. Refused, it stays where it was.
    pub async fn advance(&self, by: TimeDelta) -> Result<Instant> {
        if by < TimeDelta::zero() {
            return Err(InvalidValue::under(
                "R-TIME-1",
                "delta",
                Problem::OutOfRange {
                    min: 0,
                    max: i128::from(i64::MAX),
                    actual: i128::from(by.num_seconds()),
                },
            )
            .into());
        }
        let mut stored = self.store.setting(&self.key).await?;
        for _ in 0..ATTEMPTS {
            let (from, condition) = match &stored {
                Some(value) => (
                    Self::parse(&self.key, value)?.max(self.now()),
                    SettingCondition::Equals(value.clone()),
                ),
                None => (self.now(), SettingCondition::Absent),
            };
            let moved = from
                .checked_add_signed(by)
                .ok_or_else(|| InvalidValue::new("delta", Problem::Overflow))?;
            let moved = mci_core::truncate_to_micros(moved);
            match self
                .store
                .put_setting(&self.key, &Self::encode(moved)?, &condition)
                .await
            {
                Ok(()) => return Ok(self.keep_later(moved)),
                Err(StoreError::SettingChanged { found, .. }) => stored = found,
                Err(error) => return Err(error.into()),
            }
        }
        Err(Error::Busy)
    }

    /// Keeps `at` if it is later than the reading; the reading after.
    fn keep_later(&self, at: Instant) -> Instant {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = (*now).max(at);
        *now
    }

    fn encode(at: Instant) -> Result<SettingValue> {
        Ok(SettingValue::new(
            at.to_rfc3339_opts(SecondsFormat::Micros, true),
        )?)
    }

    fn parse(key: &SettingKey, value: &SettingValue) -> Result<Instant> {
        DateTime::parse_from_rfc3339(value.as_str())
            .map(|at| mci_core::truncate_to_micros(at.with_timezone(&Utc)))
            .map_err(|_| StoreError::backend(NotAReading { key: key.clone() }).into())
    }
}

impl Clock for StoredClock {
    fn now(&self) -> Instant {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;
    use mci_store_memory::MemoryStore;

    fn start() -> Instant {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
    }

    fn key() -> SettingKey {
        "demo.clock".parse().unwrap()
    }

    #[tokio::test]
    async fn r_time_1_a_kept_clock_is_written_at_its_start_and_read_back() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let clock = StoredClock::open(store.clone(), key(), start())
            .await
            .unwrap();
        assert_eq!(clock.now(), start());
        assert_eq!(
            store.setting(&key()).await.unwrap().unwrap().as_str(),
            "2026-03-02T09:00:00.000000Z"
        );
        let later = start() + TimeDelta::days(30);
        let other = StoredClock::open(store, key(), later).await.unwrap();
        assert_eq!(other.now(), start(), "the stored reading holds");
    }

    #[tokio::test]
    async fn r_time_1_two_handles_share_one_clock_that_never_moves_back() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let a = StoredClock::open(store.clone(), key(), start())
            .await
            .unwrap();
        let b = StoredClock::open(store.clone(), key(), start())
            .await
            .unwrap();
        a.advance(TimeDelta::days(1)).await.unwrap();
        // b moves from the stored reading, not from its own: both moves count.
        assert_eq!(
            b.advance(TimeDelta::days(7)).await.unwrap(),
            start() + TimeDelta::days(8)
        );
        assert_eq!(a.now(), start() + TimeDelta::days(1));
        assert_eq!(a.refresh().await.unwrap(), start() + TimeDelta::days(8));

        // A reading written back by something else is not followed back.
        store
            .put_setting(
                &key(),
                &SettingValue::new("2026-03-01T00:00:00Z").unwrap(),
                &SettingCondition::Any,
            )
            .await
            .unwrap();
        assert_eq!(a.refresh().await.unwrap(), start() + TimeDelta::days(8));
        assert_eq!(
            a.advance(TimeDelta::days(1)).await.unwrap(),
            start() + TimeDelta::days(9)
        );
    }

    #[tokio::test]
    async fn r_time_1_a_refused_move_changes_nothing() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let clock = StoredClock::open(store.clone(), key(), start())
            .await
            .unwrap();
        let back = clock.advance(TimeDelta::days(-1)).await.unwrap_err();
        assert_eq!(back.kind(), crate::ErrorKind::InvalidInput);
        let far = clock.advance(TimeDelta::MAX).await.unwrap_err();
        assert_eq!(far.kind(), crate::ErrorKind::InvalidInput);
        assert_eq!(clock.now(), start());
        assert_eq!(clock.refresh().await.unwrap(), start());
    }

    #[tokio::test]
    async fn a_setting_that_is_no_reading_fails_as_the_store() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        store
            .put_setting(
                &key(),
                &SettingValue::new("yesterday").unwrap(),
                &SettingCondition::Any,
            )
            .await
            .unwrap();
        let err = StoredClock::open(store, key(), start()).await.unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Internal);
        let mut causes = String::new();
        let mut cause: Option<&dyn std::error::Error> = Some(&err);
        while let Some(error) = cause {
            causes.push_str(&error.to_string());
            cause = error.source();
        }
        assert!(causes.contains("demo.clock"), "{causes}");
    }
}
