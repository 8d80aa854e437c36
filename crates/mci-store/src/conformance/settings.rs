//! Settings and the list of payout batches: what an embedding application
//! keeps beside its nominations, and the batches of its payout runs
//! (R-CLAIM-W-9).

use super::fixtures::*;
use crate::{Commit, SettingCondition, SettingKey, SettingValue, Store, StoreError};
use mci_core::*;
use std::sync::Arc;

fn key(name: &str) -> SettingKey {
    SettingKey::new(name).unwrap()
}

fn value(text: &str) -> SettingValue {
    SettingValue::new(text).unwrap()
}

/// A setting reads `None` until it is written, then what was written, to
/// the byte (text of the largest size, tabs and line breaks, letters
/// beyond ASCII, the empty text); keys are apart; the last put of
/// [`SettingCondition::Any`] wins.
pub async fn settings_read_back_what_was_put(store: Arc<dyn Store>) {
    let clock = key("demo.clock");
    let other = key("demo.clock-2");
    assert_eq!(store.setting(&clock).await.unwrap(), None);
    for text in [
        "2026-03-02T09:00:00.000000Z",
        "",
        "a\tb\r\nc ü 日本",
        &"x".repeat(SettingValue::MAX_BYTES),
        &"é".repeat(SettingValue::MAX_BYTES / 2),
    ] {
        store
            .put_setting(&clock, &value(text), &SettingCondition::Any)
            .await
            .unwrap();
        assert_eq!(store.setting(&clock).await.unwrap(), Some(value(text)));
        assert_eq!(store.setting(&other).await.unwrap(), None, "keys are apart");
    }
    let longest = key(&"k".repeat(SettingKey::MAX_LEN));
    store
        .put_setting(&longest, &value("1"), &SettingCondition::Any)
        .await
        .unwrap();
    assert_eq!(store.setting(&longest).await.unwrap(), Some(value("1")));
}

/// [`SettingCondition::Absent`] writes only a key that holds nothing, and
/// [`SettingCondition::Equals`] only one that still holds the value read
/// (compare-and-set); a refused put is [`StoreError::SettingChanged`]
/// naming the key and what it held, a conflict to read again on, and
/// writes nothing.
pub async fn settings_conditions_write_only_what_they_admit(store: Arc<dyn Store>) {
    let k = key("demo.counter");
    let refused = |err: StoreError, found: Option<&str>| match err {
        StoreError::SettingChanged { key, found: held } => {
            assert_eq!(key, k);
            assert_eq!(held, found.map(value));
        }
        other => panic!("expected SettingChanged, got {other:?}"),
    };
    let err = store
        .put_setting(&k, &value("2"), &SettingCondition::Equals(value("1")))
        .await
        .unwrap_err();
    assert!(err.is_conflict() && err.is_retryable(), "{err:?}");
    refused(err, None);
    assert_eq!(store.setting(&k).await.unwrap(), None, "nothing written");

    store
        .put_setting(&k, &value("1"), &SettingCondition::Absent)
        .await
        .unwrap();
    let err = store
        .put_setting(&k, &value("9"), &SettingCondition::Absent)
        .await
        .unwrap_err();
    refused(err, Some("1"));
    assert_eq!(store.setting(&k).await.unwrap(), Some(value("1")));

    store
        .put_setting(&k, &value("2"), &SettingCondition::Equals(value("1")))
        .await
        .unwrap();
    assert_eq!(store.setting(&k).await.unwrap(), Some(value("2")));
    // A writer that read "1" before that put is refused.
    let err = store
        .put_setting(&k, &value("2'"), &SettingCondition::Equals(value("1")))
        .await
        .unwrap_err();
    refused(err, Some("2"));
    assert_eq!(store.setting(&k).await.unwrap(), Some(value("2")));
    // Equal means equal to the byte, not alike.
    let err = store
        .put_setting(&k, &value("3"), &SettingCondition::Equals(value("2 ")))
        .await
        .unwrap_err();
    refused(err, Some("2"));
    // Putting the value held is a write like another.
    store
        .put_setting(&k, &value("2"), &SettingCondition::Equals(value("2")))
        .await
        .unwrap();
    assert_eq!(store.setting(&k).await.unwrap(), Some(value("2")));
}

/// The payout batches of five runs, committed out of id order (one empty,
/// as a run that found nothing approved), are listed in id order by
/// keyset pages of two: every batch once, each whole, a page after the
/// last one empty (R-CLAIM-W-9).
pub async fn payout_batches_listed_in_id_order(store: Arc<dyn Store>) {
    assert_eq!(store.payout_batches(None, 10).await.unwrap(), vec![]);
    let cycle = PayoutCycle::containing(start(), PayoutCycle::DEFAULT_PERIOD, day(1)).unwrap();
    let mut batches: Vec<PayoutBatch> = (0..5)
        .map(|_| {
            let id = PayoutBatchId::from_uuid(next_id().as_uuid()).unwrap();
            payout_run(id, cycle, day(1), &[]).unwrap().0
        })
        .collect();
    for i in [3, 0, 4, 1, 2] {
        let mut commit = Commit::at(day(1));
        commit.payout_batch = Some(batches[i].clone());
        store.commit(commit).await.unwrap();
    }
    batches.sort_by_key(|b| b.id);
    let mut listed = Vec::new();
    let mut after: Option<PayoutBatchId> = None;
    loop {
        let page = store.payout_batches(after.as_ref(), 2).await.unwrap();
        assert!(page.len() <= 2, "{page:?}");
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        listed.extend(page);
    }
    assert_eq!(listed, batches);
    assert_eq!(
        store.payout_batches(Some(&batches[4].id), 2).await.unwrap(),
        vec![]
    );
    assert_eq!(
        store.payout_batches(None, 0).await.unwrap(),
        vec![],
        "a limit of 0 lists nothing"
    );
}
