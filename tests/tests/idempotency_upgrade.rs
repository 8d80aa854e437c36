//! An idempotency key recorded before the SQLite schema kept fingerprints,
//! used again through the service after the upgrade (R-REC-5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_core::*;
use mci_engagements::ports::{
    HmacLinkKey, InMemoryPartnerDirectory, InMemoryTenantDirectory, ManualClock,
    PermissiveEligibility, SeededLinkIds,
};
use mci_engagements::{AddCustomer, Call, Incentives};
use mci_store_sqlite::SqliteStore;
use mci_testkit::{admin_of, engagement, t0};
use std::path::Path;
use std::sync::Arc;

fn service(path: &Path) -> Incentives {
    let store = SqliteStore::open(path).unwrap();
    let customer: TenantId = "00000000-0000-4000-8000-000000000001".parse().unwrap();
    let tenants = InMemoryTenantDirectory::builder()
        .tenant(customer, ["customer1.example".parse().unwrap()])
        .build();
    let partners = InMemoryPartnerDirectory::builder()
        .enrolled("p1".parse().unwrap(), "1234567".parse().unwrap())
        .build();
    Incentives::builder(Arc::new(store), HmacLinkKey::demo())
        .customer_eligibility(PermissiveEligibility::new())
        .tenant_directory(tenants)
        .partner_directory(partners)
        .clock(Arc::new(ManualClock::new(t0())))
        .link_ids(SeededLinkIds::new(3))
        .engagement(engagement("workshop", EngagementKind::Workshop, 2))
        .engagement(engagement("assessment", EngagementKind::Assessment, 1))
        .build()
}

fn form() -> AddCustomer {
    let email: EmailAddress = "it@customer1.example".parse().unwrap();
    AddCustomer {
        friendly_name: "Customer 1".parse().unwrap(),
        location: "1234567".parse().unwrap(),
        customer_id: CustomerIdInput::EmailOnly,
        customer_email: email.clone(),
        mismatch_reason: None,
        engagements: vec!["workshop".parse().unwrap(), "assessment".parse().unwrap()],
        customer_contacts: Contacts::one("IT".parse().unwrap(), email),
        partner_contacts: mci_testkit::contacts("Lead", "lead@partner.example"),
        hours: None,
    }
}

/// A record from before the upgrade keeps no fingerprint, so the command
/// its key was used with is not known: the key is answered as it was
/// before the upgrade, with the first result, whatever the command, and
/// nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_rec_5_a_key_recorded_before_the_upgrade_is_answered_with_its_first_result() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mci.sqlite");
    let user = admin_of(1);
    let call = Call::new(user.clone()).idempotency_key("k-old");
    let text: Comment = "Called the customer.".parse().unwrap();
    let (n1, n2, commented) = {
        let service = service(&path);
        let added = service.add_customer(&user, &form()).await.unwrap();
        let (n1, n2) = (*added.nominations[0].id(), *added.nominations[1].id());
        let commented = service
            .add_comment(call.clone(), &n1, text.clone())
            .await
            .unwrap();
        (n1, n2, commented)
    };
    // As the upgrade leaves a record written before it.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let cleared = conn
        .execute("UPDATE idempotency SET fingerprint = NULL", [])
        .unwrap();
    assert_eq!(cleared, 1);
    drop(conn);

    let service = service(&path);
    let again = service
        .add_comment(call.clone(), &n1, text.clone())
        .await
        .unwrap();
    assert_eq!(again, commented);
    let answered = service.cancel(call, &n2).await.unwrap();
    assert_eq!(answered, commented, "the first result, as before");
    let n2 = service.nomination(&user, &n2).await.unwrap();
    assert_ne!(n2.state(), State::Cancelled);
    assert_eq!(service.history(&user, &n1).await.unwrap().len(), 2);
}
