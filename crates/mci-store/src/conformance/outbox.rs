//! The outbox: at least once, leases, acknowledgement, stable ids (R-REC-2).

use super::fixtures::*;
use crate::Store;
use chrono::TimeDelta;
use mci_core::*;
use std::sync::Arc;

/// Messages are taken oldest first and leased; a message not acknowledged
/// before its lease ends is taken again; an acknowledged one never returns.
pub async fn outbox_at_least_once(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    for c in 1..=3u64 {
        let n = added(&store, 1, c, &engagement, start()).await;
        consent_sent(&store, &n, start() + TimeDelta::minutes(c as i64), c as u8).await;
    }
    let now = day(1);
    let lease = now + TimeDelta::minutes(5);
    assert!(
        store
            .take_messages(start(), start(), 10)
            .await
            .unwrap()
            .is_empty(),
        "not yet available"
    );
    let first = store.take_messages(now, lease, 2).await.unwrap();
    assert_eq!(first.len(), 2, "the limit bounds the batch");
    assert!(first.iter().all(|l| l.attempt == 1));
    assert!(
        first[0].message.queued_at <= first[1].message.queued_at,
        "oldest first"
    );
    let rest = store.take_messages(now, lease, 10).await.unwrap();
    assert_eq!(
        rest.len(),
        1,
        "leased messages are not taken again during the lease"
    );
    assert!(
        store
            .take_messages(now, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );

    store.acknowledge(&[first[0].message.id]).await.unwrap();
    let again = store
        .take_messages(lease, lease + TimeDelta::minutes(5), 10)
        .await
        .unwrap();
    let ids: Vec<MessageId> = again.iter().map(|l| l.message.id).collect();
    assert_eq!(
        ids.len(),
        2,
        "the unacknowledged messages come back when their lease ends"
    );
    assert!(
        !ids.contains(&first[0].message.id),
        "an acknowledged message never returns"
    );
    assert!(again.iter().all(|l| l.attempt == 2));
    store.acknowledge(&ids).await.unwrap();
    store.acknowledge(&ids).await.unwrap();
    store
        .acknowledge(&[MessageId::derive(&next_id(), 1, 0)])
        .await
        .unwrap();
    assert!(
        store
            .take_messages(day(1000), day(1001), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A message keeps the id the core gave it, and its content, across
/// deliveries.
pub async fn outbox_ids_are_stable(store: Arc<dyn Store>) {
    let engagement = workshop(5);
    let n = added(&store, 1, 1, &engagement, start()).await;
    let outcome = n
        .send_consent(
            start(),
            &mci_testkit::admin_of(1),
            SendConsent::default(),
            &mci_testkit::link(1),
        )
        .unwrap();
    let queued = outcome.messages.clone();
    write(&store, outcome).await;
    let taken = store.take_messages(day(1), day(1), 10).await.unwrap();
    assert_eq!(
        taken.iter().map(|l| l.message.clone()).collect::<Vec<_>>(),
        queued
    );
    let retaken = store.take_messages(day(2), day(2), 10).await.unwrap();
    assert_eq!(
        retaken
            .iter()
            .map(|l| l.message.clone())
            .collect::<Vec<_>>(),
        queued
    );
}
