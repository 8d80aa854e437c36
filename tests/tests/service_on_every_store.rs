//! The service end to end on every store adapter: the same stories must
//! give the same answers on the memory store, on a SQLite file and on a
//! PostgreSQL database (a fresh database of a throwaway cluster for each
//! story, skipped on one line where PostgreSQL is not installed and
//! `MCI_REQUIRE_POSTGRES` is unset).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod shared_cluster;

use chrono::TimeDelta;
use mci_core::*;
use mci_engagements::ports::{
    HmacLinkKey, InMemoryPartnerDirectory, InMemoryTenantDirectory, ManualClock,
    PermissiveEligibility, SeededLinkIds,
};
use mci_engagements::{AddCustomer, ClaimsRequest, CustomerRow, Error, Incentives, MessageKind};
use mci_store::Store;
use mci_testkit::{comment, engagement, t0};
use shared_cluster::Database;
use std::sync::Arc;

/// A store of each kind: in memory, a new SQLite file, or a fresh database
/// of the shared PostgreSQL cluster.
enum Adapter {
    Memory,
    Sqlite,
    Postgres(Database),
}

/// Which store a test runs on.
#[derive(Clone, Copy)]
enum AdapterKind {
    Memory,
    Sqlite,
    Postgres,
}

impl Adapter {
    /// A store of `kind` for the test `test`; `None` where the test is
    /// skipped (PostgreSQL not installed nor required: one line on stderr
    /// says so).
    async fn new(kind: AdapterKind, test: &str) -> Option<Adapter> {
        Some(match kind {
            AdapterKind::Memory => Adapter::Memory,
            AdapterKind::Sqlite => Adapter::Sqlite,
            AdapterKind::Postgres => Adapter::Postgres(Database::fresh(test).await?),
        })
    }
}

/// What holds a world's data, and keeps it alive while the world lives.
enum Backing {
    Memory,
    /// The folder of the SQLite file `mci.sqlite`.
    Sqlite(tempfile::TempDir),
    /// The database, which keeps the cluster running.
    Postgres(Database),
}

/// How [`World::corrupt`] breaks a stored nomination.
#[derive(Clone, Copy)]
enum Corruption {
    /// Its document is no JSON at all.
    NotJson,
    /// Its document's version is its friendly name: JSON, but not a
    /// nomination, and the decoder would quote the name.
    VersionIsTheFriendlyName,
}

struct World {
    service: Arc<Incentives>,
    clock: Arc<ManualClock>,
    store: Arc<dyn Store>,
    // Dropped last: the store closes before its file or database goes.
    backing: Backing,
}

fn tenant(n: u32) -> TenantId {
    format!("00000000-0000-4000-8000-{n:012}").parse().unwrap()
}

/// The TPID grouping the tenants of customers 1 and 2.
fn group_tpid() -> Tpid {
    "9001".parse().unwrap()
}

async fn world(adapter: Adapter) -> World {
    world_with(adapter, mci_engagements::Settings::default()).await
}

async fn world_with(adapter: Adapter, settings: mci_engagements::Settings) -> World {
    let (store, backing): (Arc<dyn Store>, _) = match adapter {
        Adapter::Memory => (
            Arc::new(mci_store_memory::MemoryStore::new()),
            Backing::Memory,
        ),
        Adapter::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let store = mci_store_sqlite::SqliteStore::open(dir.path().join("mci.sqlite")).unwrap();
            (Arc::new(store), Backing::Sqlite(dir))
        }
        Adapter::Postgres(database) => {
            let store = mci_store_postgres::PostgresStore::connect(database.url())
                .await
                .unwrap();
            (Arc::new(store), Backing::Postgres(database))
        }
    };
    let clock = Arc::new(ManualClock::new(t0()));
    let mut tenants = InMemoryTenantDirectory::builder();
    for n in 1..=40 {
        tenants = tenants.tenant(tenant(n), [format!("customer{n}.example").parse().unwrap()]);
    }
    // Customers 1 and 2 are two tenants of one organisation (R-LIST-5).
    tenants = tenants.tpid(group_tpid(), [tenant(1), tenant(2)]);
    let mut partners = InMemoryPartnerDirectory::builder();
    for p in 1..=3 {
        partners = partners.enrolled(format!("p{p}").parse().unwrap(), "1234567".parse().unwrap());
    }
    let service = Incentives::builder(store.clone(), HmacLinkKey::demo())
        .customer_eligibility(PermissiveEligibility::new())
        .tenant_directory(tenants.build())
        .partner_directory(partners.build())
        .clock(clock.clone())
        .link_ids(SeededLinkIds::new(11))
        .engagement(engagement("workshop", EngagementKind::Workshop, 2))
        .engagement(engagement("assessment", EngagementKind::Assessment, 1))
        .settings(settings)
        .build();
    World {
        service: Arc::new(service),
        clock,
        store,
        backing,
    }
}

fn admin(p: u32) -> PartnerUser {
    mci_testkit::admin_of(p)
}

fn form(customer: u32, engagements: &[&str]) -> AddCustomer {
    let email: EmailAddress = format!("it@customer{customer}.example").parse().unwrap();
    AddCustomer {
        friendly_name: format!("Customer {customer}").parse().unwrap(),
        location: "1234567".parse().unwrap(),
        customer_id: CustomerIdInput::EmailOnly,
        customer_email: email.clone(),
        mismatch_reason: None,
        engagements: engagements.iter().map(|e| e.parse().unwrap()).collect(),
        customer_contacts: Contacts::one("IT".parse().unwrap(), email),
        partner_contacts: mci_testkit::contacts("Lead", "lead@partner.example"),
        hours: None,
    }
}

impl World {
    async fn add(&self, p: u32, customer: u32, engagements: &[&str]) -> Vec<Nomination> {
        self.service
            .add_customer(&admin(p), &form(customer, engagements))
            .await
            .unwrap()
            .nominations
    }

    /// Sends consent and returns the link's token from the outbox.
    async fn ask_consent(&self, p: u32, id: &NominationId) -> LinkToken {
        self.service
            .send_consent(&admin(p), id, SendConsent::default())
            .await
            .unwrap();
        let messages = self
            .service
            .take_messages(TimeDelta::seconds(1), 1000)
            .await
            .unwrap();
        let ids: Vec<MessageId> = messages.iter().map(|m| m.message.id).collect();
        self.service.acknowledge(&ids).await.unwrap();
        messages
            .into_iter()
            .find_map(|m| match (m.message.kind, m.token) {
                (MessageKind::ConsentRequest { .. }, token) if m.message.nomination == *id => token,
                _ => None,
            })
            .expect("a consent request was queued")
    }

    async fn tokens(&self, id: &NominationId) -> Vec<(SurveyKind, LinkToken)> {
        let messages = self
            .service
            .take_messages(TimeDelta::seconds(1), 1000)
            .await
            .unwrap();
        let ids: Vec<MessageId> = messages.iter().map(|m| m.message.id).collect();
        self.service.acknowledge(&ids).await.unwrap();
        messages
            .into_iter()
            .filter(|m| m.message.nomination == *id)
            .filter_map(|m| match (m.message.kind, m.token) {
                (MessageKind::Survey { survey, .. }, Some(token)) => Some((survey, token)),
                _ => None,
            })
            .collect()
    }

    /// Every nomination and its history, read through the store: what a
    /// refused call must leave as it was.
    async fn content(&self) -> Vec<(Nomination, Vec<Event>)> {
        let page = self
            .store
            .by_state(&mci_store::StateQuery {
                states: State::ALL.to_vec(),
                partner: None,
                now: chrono::DateTime::<chrono::Utc>::MIN_UTC,
                after: None,
                limit: 10_000,
            })
            .await
            .unwrap();
        let mut out = Vec::new();
        for n in page.rows {
            let history = self.store.history(n.id()).await.unwrap();
            out.push((n, history));
        }
        out
    }

    /// Partner `p` adds `customer` to the workshop, the customer consents
    /// two days later, the partner completes and submits the claim, and
    /// the reviewer approves it.
    async fn approved_claim(&self, p: u32, customer: u32) -> NominationId {
        let id = self.submitted_claim(p, customer).await;
        let reviewer = mci_testkit::reviewer();
        self.service
            .start_review(&reviewer, &id, self.seen(&id).await)
            .await
            .unwrap();
        self.service
            .approve(&reviewer, &id, self.seen(&id).await)
            .await
            .unwrap();
        id
    }

    /// Partner `p` adds `customer` to the workshop, the customer consents
    /// two days later, and the partner completes and submits the claim.
    async fn submitted_claim(&self, p: u32, customer: u32) -> NominationId {
        let n = self.add(p, customer, &["workshop"]).await.remove(0);
        let id = *n.id();
        self.submit_claim(p, &id).await;
        id
    }

    /// Partner `p` asks consent for `id`, the customer consents two days
    /// later, and the partner completes and submits the claim.
    async fn submit_claim(&self, p: u32, id: &NominationId) {
        let id = *id;
        let token = self.ask_consent(p, &id).await;
        self.clock.advance(TimeDelta::days(2)).unwrap();
        assert_eq!(
            self.service.accept_consent(&token).await.unwrap().state(),
            State::Consented
        );
        let user = admin(p);
        for kind in [DocumentKind::ProofOfExecution, DocumentKind::Invoice] {
            self.service
                .attach_document(&user, &id, kind, mci_testkit::document("proof.pdf"))
                .await
                .unwrap();
        }
        for survey in [SurveyKind::Partner, SurveyKind::Customer] {
            self.service.send_survey(&user, &id, survey).await.unwrap();
        }
        for (_, token) in self.tokens(&id).await {
            self.service.complete_survey(&token).await.unwrap();
        }
        self.service.submit(&user, &id).await.unwrap();
    }

    /// The hash of `id`'s last event as the reviewer reads it now: what a
    /// reviewer's decision cites (R-LIST-4).
    async fn seen(&self, id: &NominationId) -> mci_core::Sha256Digest {
        let claim = self.service.claim_for_review(id).await.unwrap();
        claim.head().expect("a chained history").hash
    }

    /// Breaks the stored row of `id` behind the store's back, as a bad disk
    /// or a bad hand would, with the database's own SQL. Not in memory.
    async fn corrupt(&self, id: &NominationId, how: Corruption) {
        match &self.backing {
            Backing::Memory => panic!("the memory store cannot be corrupted"),
            Backing::Sqlite(dir) => {
                let doc = match how {
                    Corruption::NotJson => "'{'",
                    Corruption::VersionIsTheFriendlyName => {
                        "json_set(doc, '$.version', json_extract(doc, '$.friendly_name'))"
                    }
                };
                let changed = rusqlite::Connection::open(dir.path().join("mci.sqlite"))
                    .unwrap()
                    .execute(
                        &format!("UPDATE nominations SET doc = {doc} WHERE id = ?1"),
                        [id.as_uuid().into_bytes()],
                    )
                    .unwrap();
                assert_eq!(changed, 1);
            }
            Backing::Postgres(database) => {
                let doc = match how {
                    Corruption::NotJson => "'{'",
                    Corruption::VersionIsTheFriendlyName => {
                        "jsonb_set(doc::jsonb, '{version}', doc::jsonb -> 'friendly_name')::text"
                    }
                };
                let changed = database
                    .psql(&format!(
                        "WITH changed AS (UPDATE nominations SET doc = {doc} WHERE id = '{id}' RETURNING 1) SELECT count(*) FROM changed",
                        id = id.as_uuid()
                    ))
                    .await
                    .unwrap();
                assert_eq!(changed, "1");
            }
        }
    }
}

async fn full_lifecycle_from_add_to_payout(adapter: Adapter) {
    let w = world(adapter).await;
    let id = w.approved_claim(1, 1).await;
    let user = admin(1);
    let reviewer = mci_testkit::reviewer();
    let run = w.service.run_payout(&reviewer, 100).await.unwrap();
    assert_eq!(run.paid.len(), 1);
    assert_eq!(
        w.store.payout_batch(&run.batch.id).await.unwrap(),
        Some(run.batch.clone())
    );
    let paid = w.service.nomination(&user, &id).await.unwrap();
    assert_eq!(paid.state(), State::Paid);
    let history = w.service.history(&user, &id).await.unwrap();
    assert_eq!(
        history.len() as u64,
        paid.version(),
        "one event per change (R-REC-1)"
    );
    let page = w
        .service
        .customers_page(&user, &"workshop".parse().unwrap(), Tab::Complete, None, 10)
        .await
        .unwrap();
    assert!(
        matches!(&page.rows[..], [CustomerRow::Nomination(row)] if row.status.state == State::Paid)
    );
}

async fn r_consent_8_two_partners_race_and_one_wins(adapter: Adapter) {
    let w = world(adapter).await;
    let a = w.add(1, 2, &["workshop"]).await.remove(0);
    let b = w.add(2, 2, &["workshop"]).await.remove(0);
    let ta = w.ask_consent(1, a.id()).await;
    let tb = w.ask_consent(2, b.id()).await;
    let (sa, sb) = (w.service.clone(), w.service.clone());
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move { sa.accept_consent(&ta).await }),
        tokio::spawn(async move { sb.accept_consent(&tb).await })
    );
    let results = [ra.unwrap(), rb.unwrap()];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    // Decided before the winner was written, the loser learns the customer
    // consented to another partner; read after it, its link was void
    // already (R-CONSENT-10, R-TOKEN-3).
    assert!(
        matches!(
            loser,
            Error::Ineligible {
                reason: Ineligibility::ConsentedToAnotherPartner,
                ..
            } | Error::Refused(Refusal::InvalidLink)
        ),
        "{loser:?}"
    );
    assert!(
        !loser.to_string().contains("p1") && !loser.to_string().contains("p2"),
        "R-ROLE-3"
    );
    let mut lost = 0;
    for id in [a.id(), b.id()] {
        let stored = w.store.nomination_by_id(id).await.unwrap().unwrap();
        lost += usize::from(stored.lost_at().is_some());
    }
    assert_eq!(lost, 1, "the other one lost");
}

/// The partner that lost (R-CONSENT-10), on every store: partner 2's
/// nomination shows on its Ineligible tab with the reason and only Cancel,
/// re-sending is refused, the sweep reminds it of nothing, the outbox tells
/// its partner, its link answers as a voided one, and once its partner
/// cancels it, a new nomination can be made (after the winner's ends).
async fn r_consent_10_the_partner_that_lost(adapter: Adapter) {
    let w = world(adapter).await;
    let engagement: EngagementId = "workshop".parse().unwrap();
    let winner = w.add(1, 30, &["workshop"]).await.remove(0);
    let loser = w.add(2, 30, &["workshop"]).await.remove(0);
    let tw = w.ask_consent(1, winner.id()).await;
    let tl = w.ask_consent(2, loser.id()).await;
    w.clock.advance(TimeDelta::days(1)).unwrap();
    w.service.accept_consent(&tw).await.unwrap();

    let page = w
        .service
        .customers_page(&admin(2), &engagement, Tab::Ineligible, None, 10)
        .await
        .unwrap();
    let [CustomerRow::Nomination(row)] = page.rows.as_slice() else {
        panic!("{page:?}")
    };
    assert_eq!(row.nomination, *loser.id());
    assert_eq!(row.status.state, State::AwaitingConsent);
    assert_eq!(row.reason, Some(Ineligibility::ConsentedToAnotherPartner));
    assert_eq!(row.actions, vec![Action::Cancel]);
    assert_eq!((page.counts.eligible, page.counts.ineligible), (0, 1));
    let error = w
        .service
        .resend_consent(&admin(2), loser.id())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Refused(Refusal::ConsentedToAnotherPartner { .. })
        ),
        "{error:?}"
    );
    let delivered = w
        .service
        .take_messages(TimeDelta::seconds(1), 100)
        .await
        .unwrap();
    assert!(delivered.iter().any(|d| d.message.nomination == *loser.id()
        && matches!(
            d.message.kind,
            MessageKind::ConsentedToAnotherPartner { .. }
        )
        && d.token.is_none()));
    assert!(matches!(
        w.service.accept_consent(&tl).await,
        Err(Error::Refused(Refusal::InvalidLink))
    ));
    for days in [23, 29] {
        w.clock.set(t0() + TimeDelta::days(days));
        assert_eq!(w.service.sweep().await.unwrap().reminded, 0);
    }
    // The winner ends, the loser still asks no more; cancelled, it leaves
    // the page and its partner nominates anew.
    w.service.cancel(&admin(1), winner.id()).await.unwrap();
    let after = w.service.nomination(&admin(2), loser.id()).await.unwrap();
    assert_eq!(
        after.actions(w.service.now().unwrap()),
        vec![Action::Cancel]
    );
    w.service.cancel(&admin(2), loser.id()).await.unwrap();
    let renewed = w.add(2, 30, &["workshop"]).await.remove(0);
    assert_ne!(renewed.id(), loser.id());
    w.ask_consent(2, renewed.id()).await;
}

async fn r_input_a_refused_call_changes_nothing(adapter: Adapter) {
    let w = world(adapter).await;
    let n = w.add(1, 3, &["workshop", "assessment"]).await;
    w.ask_consent(1, n[0].id()).await;
    let before = w.content().await;
    // A duplicate add, a second engagement list that cannot all be chosen,
    // another partner's nomination, a submission without proof.
    assert!(
        w.service
            .add_customer(&admin(1), &form(3, &["workshop"]))
            .await
            .is_err()
    );
    assert!(
        w.service
            .add_customer(&admin(2), &form(3, &["assessment", "workshop"]))
            .await
            .is_err()
    );
    assert!(matches!(
        w.service.cancel(&admin(2), n[0].id()).await,
        Err(Error::Refused(Refusal::NotFound))
    ));
    assert!(w.service.submit(&admin(1), n[0].id()).await.is_err());
    assert_eq!(w.content().await, before);
}

async fn r_page_7_pages_agree_before_and_after_the_sweep(adapter: Adapter) {
    // Answers of the eligibility source trusted throughout: only lapses
    // move rows here.
    let w = world_with(
        adapter,
        mci_engagements::Settings {
            eligibility_trust: TimeDelta::days(3650),
            eligibility_refresh: TimeDelta::days(3650),
            ..mci_engagements::Settings::default()
        },
    )
    .await;
    for c in 10..16 {
        let n = w.add(1, c, &["workshop"]).await.remove(0);
        if c % 2 == 0 {
            let token = w.ask_consent(1, n.id()).await;
            w.service.accept_consent(&token).await.unwrap();
        }
    }
    w.service.sweep().await.unwrap();
    let engagement: EngagementId = "workshop".parse().unwrap();
    for days in [29, 30, 91, 200] {
        w.clock.set(t0() + TimeDelta::days(days));
        let mut before = Vec::new();
        for tab in Tab::ALL {
            before.push(
                w.service
                    .customers_page(&admin(1), &engagement, tab, None, 50)
                    .await
                    .unwrap(),
            );
        }
        w.service.sweep().await.unwrap();
        for (tab, page) in Tab::ALL.into_iter().zip(before) {
            let after = w
                .service
                .customers_page(&admin(1), &engagement, tab, None, 50)
                .await
                .unwrap();
            assert_eq!(after, page, "{tab} at day {days}");
        }
    }
}

async fn r_rec_5_a_retried_add_writes_once(adapter: Adapter) {
    let w = world(adapter).await;
    let call = mci_engagements::Call::new(admin(1)).idempotency_key("add-customer-20");
    let first = w
        .service
        .add_customer(call.clone(), &form(20, &["workshop"]))
        .await
        .unwrap();
    let before = w.content().await;
    let again = w
        .service
        .add_customer(call, &form(20, &["workshop"]))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(w.content().await, before);
}

async fn r_list_5_one_customer_under_two_identifiers_is_warned_of_not_refused(adapter: Adapter) {
    let w = world(adapter).await;
    let tenant_1 = w.add(1, 1, &["workshop"]).await.remove(0);
    // Partner 1 now asks for the TPID customer 1's tenant is under.
    let by_tpid = AddCustomer {
        customer_id: CustomerIdInput::Tpid(group_tpid()),
        ..form(1, &["workshop", "assessment"])
    };
    let warned = vec![AddWarning::NominatedUnderAnotherId {
        engagement: "workshop".parse().unwrap(),
        customer: *tenant_1.customer().id(),
    }];
    let before = w.content().await;
    let review = w.service.review_add(&admin(1), &by_tpid).await.unwrap();
    assert_eq!(review.warnings, warned);
    assert_eq!(review.choosable.len(), 2, "a warning, not a refusal");
    assert_eq!(w.content().await, before, "the review step writes nothing");
    // Another partner's nomination of the tenant is no concern of this
    // partner's, and is not told (R-ROLE-3).
    let other = w.service.review_add(&admin(2), &by_tpid).await.unwrap();
    assert!(other.warnings.is_empty(), "{:?}", other.warnings);

    let added = w.service.add_customer(&admin(1), &by_tpid).await.unwrap();
    assert_eq!(added.nominations.len(), 2);
    assert_eq!(added.warnings, warned);
    // The other way round: the second tenant under the TPID, now
    // nominated for both engagements under the TPID.
    let tenant_2 = w
        .service
        .add_customer(&admin(1), &form(2, &["workshop"]))
        .await
        .unwrap();
    assert_eq!(
        tenant_2.warnings,
        vec![AddWarning::NominatedUnderAnotherId {
            engagement: "workshop".parse().unwrap(),
            customer: CustomerId::Tpid(group_tpid()),
        }]
    );
    // A customer the directory links to nothing the partner nominated.
    let alone = w
        .service
        .add_customer(&admin(1), &form(3, &["workshop"]))
        .await;
    assert!(alone.unwrap().warnings.is_empty());
    // Once the first tenant's nomination is cancelled, it is no double;
    // the second tenant's still is.
    w.service.cancel(&admin(1), tenant_1.id()).await.unwrap();
    let review = w.service.review_add(&admin(1), &by_tpid).await.unwrap();
    assert_eq!(
        review.warnings,
        vec![AddWarning::NominatedUnderAnotherId {
            engagement: "workshop".parse().unwrap(),
            customer: *tenant_2.nominations[0].customer().id(),
        }]
    );
}

async fn r_list_5_a_claim_under_another_identifier_of_a_nominated_customer_is_warned_of(
    adapter: Adapter,
) {
    let w = world(adapter).await;
    // Customer 1's tenant consents to partner 1 for the workshop: partner 1
    // knows it and can claim it for another engagement (R-CLAIM).
    let known = w.add(1, 1, &["workshop"]).await.remove(0);
    let token = w.ask_consent(1, known.id()).await;
    w.service.accept_consent(&token).await.unwrap();
    // Partner 1 nominated the TPID that tenant is under for the assessment.
    let by_tpid = AddCustomer {
        customer_id: CustomerIdInput::Tpid(group_tpid()),
        ..form(1, &["assessment"])
    };
    w.service.add_customer(&admin(1), &by_tpid).await.unwrap();
    let claim = mci_engagements::ClaimCustomer {
        known_through: *known.id(),
        friendly_name: "Customer 1 again".parse().unwrap(),
        location: "1234567".parse().unwrap(),
        engagements: vec!["assessment".parse().unwrap()],
        customer_contacts: None,
        partner_contacts: None,
        hours: None,
    };
    let claimed = w.service.claim_customer(&admin(1), &claim).await.unwrap();
    assert_eq!(claimed.nominations.len(), 1, "a warning, not a refusal");
    assert_eq!(
        claimed.warnings,
        vec![AddWarning::NominatedUnderAnotherId {
            engagement: "assessment".parse().unwrap(),
            customer: CustomerId::Tpid(group_tpid()),
        }]
    );
}

async fn r_list_3_attention_required_lists_what_needs_the_partner_now(adapter: Adapter) {
    let w = world(adapter).await;
    let reviewer = mci_testkit::reviewer();
    // Partner 1: one customer claimed, one awaiting consent, ...
    let claimed = w.add(1, 10, &["workshop"]).await.remove(0);
    let asked = w.add(1, 11, &["workshop"]).await.remove(0);
    w.ask_consent(1, asked.id()).await;
    // ... one lost to partner 2's accepted consent (R-CONSENT-10), ...
    let rival = w.add(2, 14, &["workshop"]).await.remove(0);
    let lost = w.add(1, 14, &["workshop"]).await.remove(0);
    let token = w.ask_consent(2, rival.id()).await;
    w.service.accept_consent(&token).await.unwrap();
    // ... one the reviewer asked more of, and one rejected.
    let more = w.submitted_claim(1, 12).await;
    w.service
        .start_review(&reviewer, &more, w.seen(&more).await)
        .await
        .unwrap();
    w.service
        .request_partner_action(&reviewer, &more, w.seen(&more).await, comment("agenda?"))
        .await
        .unwrap();
    let rejected = w.submitted_claim(1, 13).await;
    w.service
        .start_review(&reviewer, &rejected, w.seen(&rejected).await)
        .await
        .unwrap();
    w.service
        .reject(&reviewer, &rejected, w.seen(&rejected).await, comment("no"))
        .await
        .unwrap();

    let what = |list: &mci_engagements::Attention| -> Vec<(NominationId, AttentionReason, Action)> {
        list.entries
            .iter()
            .map(|e| (e.nomination, e.reason, e.action))
            .collect()
    };
    // The consents are weeks from their deadlines: not yet.
    let now = w.service.attention(&admin(1), 10).await.unwrap();
    assert!(!now.more);
    assert_eq!(
        what(&now),
        vec![
            (
                *lost.id(),
                AttentionReason::ConsentedToAnotherPartner,
                Action::Cancel
            ),
            (rejected, AttentionReason::Disputable, Action::Dispute),
            (
                more,
                AttentionReason::ReviewerAskedForMore,
                Action::AnswerReviewer
            ),
        ]
    );
    for entry in &now.entries {
        let n = w
            .service
            .nomination(&admin(1), &entry.nomination)
            .await
            .unwrap();
        assert_eq!(Some(entry.deadline), n.deadline());
    }
    // Another partner sees only its own: nothing needs partner 2.
    assert!(
        w.service
            .attention(&admin(2), 10)
            .await
            .unwrap()
            .entries
            .is_empty()
    );

    // Six days before the consent deadlines, both consents are due too,
    // soonest first; the lost one ends with its consent deadline.
    w.clock.set(t0() + TimeDelta::days(24));
    let soon = w.service.attention(&admin(1), 10).await.unwrap();
    assert_eq!(
        what(&soon)[..3],
        [
            (
                *claimed.id(),
                AttentionReason::ConsentDue,
                Action::SendConsentEmail
            ),
            (
                *asked.id(),
                AttentionReason::ConsentDue,
                Action::ResendConsentEmail
            ),
            (
                *lost.id(),
                AttentionReason::ConsentedToAnotherPartner,
                Action::Cancel
            ),
        ]
    );
    assert_eq!(soon.entries.len(), 5);
    // Bounded: a limit of 2 gives the two soonest and says there is more.
    let two = w.service.attention(&admin(1), 2).await.unwrap();
    assert_eq!(two.entries, soon.entries[..2]);
    assert!(two.more);
    // Past the deadlines, whether swept or not, the lapsed need nothing.
    w.clock.set(t0() + TimeDelta::days(31));
    let lapsed = w.service.attention(&admin(1), 10).await.unwrap();
    assert_eq!(
        what(&lapsed),
        vec![
            (rejected, AttentionReason::Disputable, Action::Dispute),
            (
                more,
                AttentionReason::ReviewerAskedForMore,
                Action::AnswerReviewer
            ),
        ]
    );
    w.service.sweep().await.unwrap();
    assert_eq!(w.service.attention(&admin(1), 10).await.unwrap(), lapsed);
}

/// Checks partner 1's Attention required list, with each of `limits`, at
/// the clock's instant: exactly the soonest entries the core's rule gives
/// over every nomination the store holds, and whether more need the
/// partner.
async fn attention_is_brute_force(w: &World, limits: &[usize]) -> usize {
    let now = w.service.now().unwrap();
    let all: Vec<Nomination> = w
        .content()
        .await
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.partner() == admin(1).partner())
        .collect();
    let mut most = 0;
    for &limit in limits {
        let (entries, more) = attention_list(now, all.clone(), limit);
        let answer = w.service.attention(&admin(1), limit).await.unwrap();
        assert_eq!(answer.entries, entries, "limit {limit} at {now}");
        assert_eq!(answer.more, more, "limit {limit} at {now}");
        most = most.max(entries.len());
    }
    most
}

async fn r_list_3_attention_required_is_the_soonest_deadlines_of_every_nomination(
    adapter: Adapter,
) {
    let w = world(adapter).await;
    let reviewer = mci_testkit::reviewer();
    let day = |d: i64| t0() + TimeDelta::days(d);
    // Day 0: one consented on day 2, its claim due on day 92.
    let consented = w.add(1, 25, &["workshop"]).await.remove(0);
    let token = w.ask_consent(1, consented.id()).await;
    w.clock.advance(TimeDelta::days(2)).unwrap();
    w.service.accept_consent(&token).await.unwrap();
    // Five claims submitted on days 4 to 12, rejected on days 13 to 17 in
    // the opposite order: the last made is the first to close its dispute
    // window (days 43 to 47).
    let mut rejected = Vec::new();
    for c in 1..=5 {
        rejected.push(w.submitted_claim(1, c).await);
    }
    for id in rejected.iter().rev() {
        w.clock.advance(TimeDelta::days(1)).unwrap();
        w.service
            .start_review(&reviewer, id, w.seen(id).await)
            .await
            .unwrap();
        w.service
            .reject(&reviewer, id, w.seen(id).await, comment("no"))
            .await
            .unwrap();
    }
    // Three added on day 17 and consented in the opposite order (days 19
    // to 23), then sent back for more: their review deadlines (days 139 to
    // 143) in the opposite order of their ids too. One more submitted, with
    // the reviewer; and partner 2's own, rejected.
    let mut sent_back = Vec::new();
    for c in 6..=8 {
        sent_back.push(*w.add(1, c, &["workshop"]).await[0].id());
    }
    for id in sent_back.iter().rev() {
        w.submit_claim(1, id).await;
    }
    for id in &sent_back {
        w.service
            .start_review(&reviewer, id, w.seen(id).await)
            .await
            .unwrap();
        w.service
            .request_partner_action(&reviewer, id, w.seen(id).await, comment("agenda?"))
            .await
            .unwrap();
    }
    w.submitted_claim(1, 9).await;
    let theirs = w.submitted_claim(2, 30).await;
    w.service
        .start_review(&reviewer, &theirs, w.seen(&theirs).await)
        .await
        .unwrap();
    w.service
        .reject(&reviewer, &theirs, w.seen(&theirs).await, comment("no"))
        .await
        .unwrap();
    assert_eq!(w.service.now().unwrap(), day(27));
    // Day 27: two customers claimed and one awaiting consent, all due on
    // day 57; two lost to partner 2's consents (R-CONSENT-10), due then
    // too.
    for c in [20, 21] {
        w.add(1, c, &["workshop"]).await;
    }
    let asked = w.add(1, 22, &["workshop"]).await.remove(0);
    w.ask_consent(1, asked.id()).await;
    for c in [23, 24] {
        let rival = w.add(2, c, &["workshop"]).await.remove(0);
        w.add(1, c, &["workshop"]).await;
        let token = w.ask_consent(2, rival.id()).await;
        w.service.accept_consent(&token).await.unwrap();
    }

    let limits = [1, 3, 4, 6, 100];
    // Now: more rejected claims and requests for more than the limit.
    let mut seen = vec![attention_is_brute_force(&w, &limits).await];
    assert_eq!(seen[0], 10, "five rejected, three sent back, two lost");
    let list = w.service.attention(&admin(1), 4).await.unwrap();
    assert!(list.more);
    let first: Vec<(NominationId, AttentionReason)> = list
        .entries
        .iter()
        .map(|e| (e.nomination, e.reason))
        .collect();
    let disputable = |i: usize| (rejected[i], AttentionReason::Disputable);
    assert_eq!(
        first,
        [disputable(4), disputable(3), disputable(2), disputable(1)],
        "the soonest deadlines, not the lowest ids"
    );
    // The dispute windows close one by one, unswept, then swept; within a
    // week of day 57 the consents are due too, and lapse then; within a
    // week of day 92 the claim is due; then everything has ended.
    for d in [36, 43, 44, 48, 50, 56, 57, 86, 92, 200] {
        w.clock.set(day(d));
        seen.push(attention_is_brute_force(&w, &limits).await);
        w.service.sweep().await.unwrap();
        seen.push(attention_is_brute_force(&w, &limits).await);
    }
    assert_eq!(
        seen,
        [
            10, 10, 10, 9, 9, 8, 8, 5, 5, 8, 8, 8, 8, 3, 3, 4, 4, 3, 3, 0, 0
        ],
        "on each day, unswept and swept"
    );
}

/// Every file in `dir` (the database, its WAL and its shared memory), read
/// whole: live rows, old row versions in WAL frames, and freed pages alike.
fn files_in(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_token_4_no_sqlite_file_wal_or_freed_page_holds_a_token() {
    let w = world(Adapter::Sqlite).await;
    let mut tokens = Vec::new();
    let ids: Vec<NominationId> = w
        .add(1, 3, &["workshop", "assessment"])
        .await
        .iter()
        .map(|n| *n.id())
        .collect();
    // Consent asked, re-sent, accepted; asked and declined; surveys sent
    // and completed: every message delivered and acknowledged.
    for id in &ids {
        tokens.push(w.ask_consent(1, id).await);
    }
    w.service.resend_consent(&admin(1), &ids[0]).await.unwrap();
    let resent = w
        .service
        .take_messages(TimeDelta::seconds(1), 10)
        .await
        .unwrap();
    w.service
        .acknowledge(&resent.iter().map(|d| d.message.id).collect::<Vec<_>>())
        .await
        .unwrap();
    tokens.extend(resent.into_iter().filter_map(|d| d.token));
    w.service
        .accept_consent(tokens.last().unwrap())
        .await
        .unwrap();
    w.service.decline_consent(&tokens[1]).await.unwrap();
    for survey in [SurveyKind::Partner, SurveyKind::Customer] {
        w.service
            .send_survey(&admin(1), &ids[0], survey)
            .await
            .unwrap();
    }
    for (_, token) in w.tokens(&ids[0]).await {
        w.service.complete_survey(&token).await.unwrap();
        tokens.push(token);
    }
    assert_eq!(tokens.len(), 5);

    let Backing::Sqlite(folder) = &w.backing else {
        unreachable!("a SQLite world")
    };
    let dir = folder.path().to_owned();
    let open = files_in(&dir);
    assert!(
        open.iter().any(|(name, _)| name.ends_with("-wal")),
        "{open:?}"
    );
    let World {
        service,
        store,
        backing,
        ..
    } = w;
    drop((service, store));
    let _folder = backing;
    let closed = files_in(&dir);
    for (name, bytes) in open.iter().chain(&closed) {
        for token in &tokens {
            assert!(
                !mci_testkit::holds_token(bytes, token),
                "{name} holds a link token"
            );
        }
    }
    // The file is the store's own: its link hashes are there to be found.
    let database = &closed
        .iter()
        .find(|(n, _)| n.ends_with(".sqlite"))
        .unwrap()
        .1;
    let hash = tokens[0].hash();
    assert!(
        database.windows(32).any(|w| w == hash.as_bytes())
            || database
                .windows(64)
                .any(|w| w == hash.to_string().as_bytes())
    );
}

async fn r_rec_5_a_key_used_for_one_command_is_refused_for_another(adapter: Adapter) {
    let w = world(adapter).await;
    let added = w.add(1, 21, &["workshop", "assessment"]).await;
    let (n1, n2) = (*added[0].id(), *added[1].id());
    let call = mci_engagements::Call::new(admin(1)).idempotency_key("k-2");
    let commented = w
        .service
        .add_comment(call.clone(), &n1, "Called the customer.".parse().unwrap())
        .await
        .unwrap();
    let before = w.content().await;
    let error = w.service.cancel(call.clone(), &n2).await.unwrap_err();
    assert!(
        matches!(&error, Error::IdempotencyKeyMismatch { key } if key.key() == "k-2"),
        "{error:?}"
    );
    assert_eq!(error.rule(), Some("R-REC-5"));
    assert_eq!(w.content().await, before);
    let again = w
        .service
        .add_comment(call, &n1, "Called the customer.".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(again, commented);
}

/// Every tab of partner `p` on `engagement` walked by pages of `limit`,
/// checked against the counts every page carries (R-PAGE-1, R-PAGE-9).
async fn walked_counts(
    w: &World,
    p: u32,
    engagement: &EngagementId,
    limit: usize,
) -> mci_engagements::PageCounts {
    let mut counts = None;
    let mut walked = mci_engagements::PageCounts::default();
    for tab in Tab::ALL {
        let mut cursor = None;
        loop {
            let page = w
                .service
                .customers_page(&admin(p), engagement, tab, cursor, limit)
                .await
                .unwrap();
            assert_eq!(
                *counts.get_or_insert(page.counts),
                page.counts,
                "one count per read"
            );
            for row in &page.rows {
                match tab {
                    Tab::Eligible => walked.eligible += 1,
                    Tab::Ineligible => walked.ineligible += 1,
                    Tab::Complete => walked.complete += 1,
                }
                if let mci_engagements::CustomerRow::Known(k) = row
                    && !k.checked
                {
                    walked.not_checked += 1;
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    let counts = counts.unwrap_or_default();
    assert_eq!(counts, walked, "counts against the walk, pages of {limit}");
    counts
}

async fn r_page_9_counts_agree_with_a_walk_of_every_tab_at_every_step(adapter: Adapter) {
    let w = world(adapter).await;
    let workshop: EngagementId = "workshop".parse().unwrap();
    let check = |label: &'static str| {
        let w = &w;
        let workshop = workshop.clone();
        async move {
            for limit in [1, 3, 50] {
                walked_counts(w, 1, &workshop, limit).await;
            }
            let counts = walked_counts(w, 1, &workshop, 50).await;
            eprintln!("{label}: {counts:?}");
            counts
        }
    };
    // Partner 1 knows customers 1 to 6 through the assessment.
    for c in 1..=6 {
        let n = w.add(1, c, &["assessment"]).await.remove(0);
        let token = w.ask_consent(1, n.id()).await;
        w.service.accept_consent(&token).await.unwrap();
    }
    let fresh = check("known, never asked").await;
    assert_eq!((fresh.eligible, fresh.not_checked), (6, 6));
    w.service.sweep().await.unwrap();
    let asked = check("asked by the sweep").await;
    assert_eq!(
        (asked.eligible, asked.not_checked, asked.ineligible),
        (6, 0, 0)
    );
    // Partner 1 claims customer 1 for the workshop; partner 2 nominates 2
    // and 3 and gets 3's consent: 3 is ineligible for partner 1.
    w.add(1, 1, &["workshop"]).await;
    w.add(2, 2, &["workshop"]).await;
    let rival = w.add(2, 3, &["workshop"]).await.remove(0);
    let token = w.ask_consent(2, rival.id()).await;
    w.service.accept_consent(&token).await.unwrap();
    let raced = check("after the rivals").await;
    // Eligible: partner 1's own nomination of 1, and 2, 4, 5 and 6.
    assert_eq!((raced.eligible, raced.ineligible), (5, 1));
    // Days pass: nominations lapse, answers age out, the sweep catches up.
    for days in [10, 25, 30, 31, 60, 91, 120] {
        w.clock.set(t0() + TimeDelta::days(days));
        check("lazy").await;
        w.service.sweep().await.unwrap();
        let swept = check("swept").await;
        assert_eq!(swept.not_checked, 0, "day {days}: the sweep asked again");
    }
}

/// R-LIST-1 through the service: the Claims page of two partners on two
/// engagements, walked in pages in both orders, filtered by the state at
/// the clock's now before and after the sweep writes a lapse, counted,
/// searched with a bounded scan; the reviewer's page of submitted claims;
/// a partner never sees another's (R-ROLE-2).
async fn r_list_1_the_claims_page_lists_filters_counts_and_searches(adapter: Adapter) {
    use mci_engagements::{ClaimsPage, ClaimsRequest};
    let w = world(adapter).await;
    let mut mine = Vec::new();
    for customer in 1..=5 {
        let engagement = if customer % 2 == 0 {
            "assessment"
        } else {
            "workshop"
        };
        mine.push(*w.add(1, customer, &[engagement]).await[0].id());
        w.clock.advance(TimeDelta::minutes(1)).unwrap();
    }
    let theirs = *w.add(2, 1, &["workshop"]).await[0].id();
    let submitted = w.approved_claim(3, 9).await;
    let all_pages = |request: ClaimsRequest, user: Option<PartnerUser>| {
        let service = w.service.clone();
        async move {
            let mut request = request;
            let mut rows = Vec::new();
            loop {
                let page: ClaimsPage = match &user {
                    Some(user) => service.claims(user, &request).await.unwrap(),
                    None => service.reviewer_claims(&request).await.unwrap(),
                };
                rows.extend(page.rows.iter().map(|r| r.nomination));
                match page.next {
                    Some(next) => request.cursor = Some(next),
                    None => return rows,
                }
            }
        }
    };
    let newest_first: Vec<NominationId> = mine.iter().rev().copied().collect();
    let created = ClaimsRequest {
        limit: 2,
        ..ClaimsRequest::default()
    };
    assert_eq!(
        all_pages(created.clone(), Some(admin(1))).await,
        newest_first
    );
    assert!(
        !all_pages(created.clone(), Some(admin(1)))
            .await
            .contains(&theirs)
    );
    // The first changes last: it moves to the top of the changed order.
    w.ask_consent(1, &mine[0]).await;
    let changed = ClaimsRequest {
        order: ClaimsOrder::Changed,
        ..created.clone()
    };
    assert_eq!(all_pages(changed, Some(admin(1))).await[0], mine[0]);
    // Past the consent window, before and after the sweep.
    w.clock.advance(TimeDelta::days(31)).unwrap();
    let expired = ClaimsRequest {
        state: Some(State::ConsentExpired),
        engagement: Some("workshop".parse().unwrap()),
        ..created.clone()
    };
    let before = all_pages(expired.clone(), Some(admin(1))).await;
    let workshop_ones: Vec<NominationId> = newest_first
        .iter()
        .copied()
        .filter(|id| mine.iter().position(|m| m == id).unwrap() % 2 == 0)
        .collect();
    assert_eq!(before, workshop_ones);
    let counts = w.service.claim_counts(&admin(1), None).await.unwrap();
    assert_eq!(counts.get(State::ConsentExpired), 5);
    w.service.sweep().await.unwrap();
    assert_eq!(all_pages(expired, Some(admin(1))).await, before);
    assert_eq!(
        w.service.claim_counts(&admin(1), None).await.unwrap(),
        counts
    );
    // A search by the customer's domain, three rows looked at a call.
    let search = ClaimsRequest {
        search: Some(ClaimsSearchInput {
            email_domain: Some("customer3.example".into()),
            scan: Some(3),
            ..ClaimsSearchInput::default()
        }),
        ..created.clone()
    };
    assert_eq!(all_pages(search, Some(admin(1))).await, vec![mine[2]]);
    // The reviewer's page: partner 3's approved claim, and nobody else's.
    assert_eq!(all_pages(created, None).await, vec![submitted]);
    let reviewer_counts = w.service.reviewer_claim_counts(None).await.unwrap();
    assert_eq!(reviewer_counts.get(State::Approved), 1);
    assert_eq!(reviewer_counts.total(), 1);
}

/// One test per story, on the store `$kind` (an [`AdapterKind`]).
macro_rules! tests_on {
    ($kind:ident: $($story:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                let test = concat!(module_path!(), "::", stringify!($story));
                if let Some(adapter) = super::Adapter::new(super::AdapterKind::$kind, test).await {
                    super::$story(adapter).await;
                }
            }
        )*
    };
}

/// The stories every store runs.
macro_rules! every_store {
    ($kind:ident) => {
        tests_on!(
            $kind: full_lifecycle_from_add_to_payout,
            r_consent_8_two_partners_race_and_one_wins,
            r_consent_10_the_partner_that_lost,
            r_input_a_refused_call_changes_nothing,
            r_page_7_pages_agree_before_and_after_the_sweep,
            r_page_9_counts_agree_with_a_walk_of_every_tab_at_every_step,
            r_rec_5_a_retried_add_writes_once,
            r_rec_5_a_key_used_for_one_command_is_refused_for_another,
            r_list_1_the_claims_page_lists_filters_counts_and_searches,
        );
        exports_on!($kind);
    };
}

/// The stories of the exports (R-LIST-2, R-LIST-4), on every store.
macro_rules! exports_on {
    ($kind:ident) => {
        tests_on!(
            $kind: r_list_2_an_export_holds_every_row_once_under_concurrent_writes,
            r_list_2_a_row_changed_during_the_export_appears_as_its_chunk_read_it,
            r_list_2_the_export_has_its_header_and_quotes_what_it_must,
            r_list_4_a_partner_history_export_verifies_against_every_head_the_service_gave,
            r_list_5_one_customer_under_two_identifiers_is_warned_of_not_refused,
            r_list_5_a_claim_under_another_identifier_of_a_nominated_customer_is_warned_of,
            r_list_3_attention_required_lists_what_needs_the_partner_now,
            r_list_3_attention_required_is_the_soonest_deadlines_of_every_nomination,
        );
    };
}

/// The stories of the stores that keep a database, whose rows a test can
/// break behind the store's back.
macro_rules! every_database {
    ($kind:ident) => {
        tests_on!(
            $kind: r_time_4_the_sweep_and_the_page_pass_over_an_unreadable_row,
            r_claim_w_9_a_payout_run_pays_the_claims_behind_unreadable_ones,
            r_list_2_an_export_passes_over_an_unreadable_row_and_names_it,
            r_list_3_attention_names_an_unreadable_row_and_lists_the_others,
        );
    };
}

mod memory {
    every_store!(Memory);
}

mod sqlite {
    every_store!(Sqlite);
    every_database!(Sqlite);
}

/// A fresh database of the binary's shared cluster for each story.
mod postgres {
    every_store!(Postgres);
    every_database!(Postgres);
}

async fn r_time_4_the_sweep_and_the_page_pass_over_an_unreadable_row(adapter: Adapter) {
    let w = world(adapter).await;
    let mut ids = Vec::new();
    for customer in 1..=4 {
        let n = w.add(1, customer, &["workshop"]).await.remove(0);
        w.ask_consent(1, n.id()).await;
        ids.push(*n.id());
    }
    let bad = ids[1];
    w.corrupt(&bad, Corruption::NotJson).await;
    // The Eligible tab shows the three it can read and names the other.
    let page = w
        .service
        .customers_page(
            &admin(1),
            &"workshop".parse().unwrap(),
            Tab::Eligible,
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 3);
    assert_eq!(page.unreadable, vec![bad]);
    // Opening it names it, as a case of its own.
    let error = w.service.nomination(&admin(1), &bad).await.unwrap_err();
    assert!(
        matches!(&error, Error::Unreadable { nomination, .. } if *nomination == bad),
        "{error:?}"
    );
    assert!(error.to_string().contains(&bad.to_string()), "{error}");
    // Past the consent window: every nomination is due to lapse.
    w.clock.advance(TimeDelta::days(31)).unwrap();
    let report = w.service.sweep().await.unwrap();
    assert_eq!(report.lapsed, 3, "{report:?}");
    assert_eq!(report.unreadable, vec![bad]);
    for id in ids.iter().filter(|id| **id != bad) {
        let n = w.service.nomination(&admin(1), id).await.unwrap();
        assert_eq!(n.state(), State::ConsentExpired);
    }
}

async fn r_list_3_attention_names_an_unreadable_row_and_lists_the_others(adapter: Adapter) {
    let w = world(adapter).await;
    let mut ids = Vec::new();
    for customer in 1..=3 {
        let n = w.add(1, customer, &["workshop"]).await.remove(0);
        ids.push(*n.id());
    }
    // 24 days on, 6 are left to obtain each consent: all three need the
    // partner; one of them cannot be read back.
    w.clock.advance(TimeDelta::days(24)).unwrap();
    let bad = ids[1];
    w.corrupt(&bad, Corruption::NotJson).await;
    let list = w.service.attention(&admin(1), 10).await.unwrap();
    let listed: Vec<NominationId> = list.entries.iter().map(|e| e.nomination).collect();
    assert_eq!(listed, vec![ids[0], ids[2]]);
    assert_eq!(list.unreadable, vec![bad]);
    assert!(!list.more);
}

async fn r_claim_w_9_a_payout_run_pays_the_claims_behind_unreadable_ones(adapter: Adapter) {
    let w = world(adapter).await;
    let mut ids = Vec::new();
    for customer in 1..=4 {
        ids.push(w.approved_claim(1, customer).await);
    }
    // The first two approved claims in id order, the order a run reads in,
    // become unreadable; their friendly names move into a field the
    // decoder would quote them from.
    ids.sort();
    let (bad, good) = ids.split_at(2);
    for id in bad {
        w.corrupt(id, Corruption::VersionIsTheFriendlyName).await;
    }
    let reviewer = mci_testkit::reviewer();
    // One claim a run: each run's first page holds only an unreadable claim.
    for expected in good {
        let run = w.service.run_payout(&reviewer, 1).await.unwrap();
        let paid: Vec<NominationId> = run.paid.iter().map(|n| *n.id()).collect();
        assert_eq!(paid, [*expected], "{run:?}");
        assert_eq!(run.unreadable, bad);
        let entries: Vec<NominationId> = run.batch.entries.iter().map(|e| e.nomination).collect();
        assert_eq!(entries, [*expected]);
    }
    let last = w.service.run_payout(&reviewer, 10).await.unwrap();
    assert!(
        last.paid.is_empty() && last.batch.entries.is_empty(),
        "{last:?}"
    );
    assert_eq!(last.unreadable, bad);
    for id in good {
        let n = w.service.nomination(&admin(1), id).await.unwrap();
        assert_eq!(n.state(), State::Paid);
    }
    // A single read names the unreadable claim, and quotes nothing of it.
    for id in bad {
        let error = w.service.claim_for_review(id).await.unwrap_err();
        assert!(
            matches!(&error, Error::Unreadable { nomination, .. } if nomination == id),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(text.contains(&id.to_string()), "{text}");
        assert!(!text.contains("Customer "), "no friendly name: {text}");
        assert!(matches!(
            w.service.nomination(&admin(2), id).await,
            Err(Error::Refused(Refusal::NotFound))
        ));
    }
}

/// A world whose exports read `chunk` rows at a time.
async fn world_exporting(adapter: Adapter, chunk: usize) -> World {
    world_with(
        adapter,
        mci_engagements::Settings {
            export_chunk: chunk,
            ..mci_engagements::Settings::default()
        },
    )
    .await
}

/// The records of a CSV export, header first, as the `csv` crate reads
/// RFC 4180.
fn csv_records(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// The column `name` of the Claims export.
fn csv_column(name: &str) -> usize {
    ClaimsCsvRow::HEADER
        .iter()
        .position(|h| *h == name)
        .unwrap()
}

/// Partner `p` adds `customers` to `engagements`, a minute apart: the
/// order of creation is the order of the calls.
async fn added_in_turn(
    w: &World,
    p: u32,
    customers: std::ops::RangeInclusive<u32>,
    engagements: &[&str],
) -> Vec<Nomination> {
    let mut added = Vec::new();
    for c in customers {
        w.clock.advance(TimeDelta::minutes(1)).unwrap();
        added.extend(w.add(p, c, engagements).await);
    }
    added
}

/// An export of partner 1's claims in `order` that runs while `changes`
/// are made: the export writes into a pipe too small for one chunk, and a
/// change is made after each read of it, so that the changes fall between
/// the export's chunks. The export's bytes and summary.
async fn export_while(
    w: &World,
    order: ClaimsOrder,
    changes: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>>,
) -> (Vec<u8>, mci_engagements::ExportSummary) {
    use tokio::io::AsyncReadExt;
    let (mut reader, mut writer) = tokio::io::duplex(256);
    let service = w.service.clone();
    let export = tokio::spawn(async move {
        let export = ClaimsRequest {
            order,
            ..ClaimsRequest::default()
        };
        service.export_claims(&admin(1), &export, &mut writer).await
    });
    let mut bytes = Vec::new();
    let mut changes = changes.into_iter();
    let mut buffer = [0u8; 256];
    loop {
        let read = reader.read(&mut buffer).await.unwrap();
        if read == 0 {
            break;
        }
        bytes.extend_from_slice(&buffer[..read]);
        if let Some(change) = changes.next() {
            change.await;
        }
    }
    assert!(
        changes.next().is_none(),
        "every change ran during the export"
    );
    (bytes, export.await.unwrap().unwrap())
}

async fn r_list_2_an_export_holds_every_row_once_under_concurrent_writes(adapter: Adapter) {
    let w = world_exporting(adapter, 7).await;
    let before = added_in_turn(&w, 1, 1..=20, &["workshop", "assessment"]).await;
    let others = w.add(2, 40, &["workshop"]).await;
    for order in ClaimsOrder::ALL {
        // Consent asked for on every third nomination of the walk, and
        // new nominations added, while the export runs.
        let asked: Vec<NominationId> = before
            .iter()
            .map(|n| *n.id())
            .filter(|id| {
                let turn = before.iter().position(|n| n.id() == id).unwrap();
                turn % 3 == usize::from(order == ClaimsOrder::Changed)
            })
            .collect();
        let mut changes: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> =
            Vec::new();
        for id in asked.clone() {
            let service = w.service.clone();
            changes.push(Box::pin(async move {
                service
                    .send_consent(&admin(1), &id, SendConsent::default())
                    .await
                    .unwrap();
            }));
        }
        let first_new = if order == ClaimsOrder::Created {
            21
        } else {
            31
        };
        for c in first_new..first_new + 5 {
            let service = w.service.clone();
            changes.insert(
                changes.len() / 2,
                Box::pin(async move {
                    service
                        .add_customer(&admin(1), &form(c, &["workshop"]))
                        .await
                        .unwrap();
                }),
            );
        }
        let (bytes, summary) = export_while(&w, order, changes).await;
        let records = csv_records(&bytes);
        assert_eq!(records[0], ClaimsCsvRow::HEADER.map(String::from).to_vec());
        let ids: Vec<NominationId> = records[1..]
            .iter()
            .map(|r| r[csv_column("claim_id")].parse().unwrap())
            .collect();
        assert_eq!(summary.rows as usize, ids.len());
        assert!(summary.chunks >= 6, "{summary:?}");
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{order}: no row twice");
        assert!(
            others.iter().all(|n| !unique.contains(n.id())),
            "{order}: no other partner's row (R-ROLE-2)"
        );
        for n in &before {
            let changed_during = asked.contains(n.id());
            if order == ClaimsOrder::Created || !changed_during {
                assert!(
                    unique.contains(n.id()),
                    "{order}: {} was there when the export began",
                    n.id()
                );
            }
        }
        // Each row is a state its nomination was in.
        for record in &records[1..] {
            let state = &record[csv_column("state")];
            let version = &record[csv_column("version")];
            assert!(
                matches!(
                    (state.as_str(), version.as_str()),
                    ("customer_claimed", "1")
                        | ("awaiting_consent", "2")
                        | ("awaiting_consent", "3")
                ),
                "{order}: {state} at version {version}"
            );
        }
    }
}

async fn r_list_2_a_row_changed_during_the_export_appears_as_its_chunk_read_it(adapter: Adapter) {
    use tokio::io::AsyncReadExt;
    let w = world_exporting(adapter, 2).await;
    // Newest first: 6 and 5 in the first chunk, 2 and 1 in the last.
    let added = added_in_turn(&w, 1, 1..=6, &["workshop"]).await;
    let (first_chunk, last_chunk) = (*added[5].id(), *added[0].id());
    let header = mci_engagements::ClaimsCsv::new().header().unwrap().len();
    let (mut reader, mut writer) = tokio::io::duplex(64);
    let service = w.service.clone();
    let export = tokio::spawn(async move {
        service
            .export_claims(&admin(1), &ClaimsRequest::default(), &mut writer)
            .await
    });
    // The header and part of the first chunk's rows: that chunk was read,
    // and its bytes do not fit in the pipe, so the export waits there.
    let mut bytes = vec![0u8; header + 100];
    reader.read_exact(&mut bytes).await.unwrap();
    for id in [first_chunk, last_chunk] {
        w.service
            .send_consent(&admin(1), &id, SendConsent::default())
            .await
            .unwrap();
    }
    reader.read_to_end(&mut bytes).await.unwrap();
    let summary = export.await.unwrap().unwrap();
    assert_eq!(
        (summary.rows, summary.chunks),
        (6, 4),
        "three full, then the end"
    );
    let records = csv_records(&bytes);
    let row = |id: NominationId| {
        records
            .iter()
            .find(|r| r[csv_column("claim_id")] == id.to_string())
            .unwrap()
            .clone()
    };
    // The first chunk's row as it was read, before the change ...
    let early = row(first_chunk);
    assert_eq!(early[csv_column("state")], "customer_claimed");
    assert_eq!(early[csv_column("version")], "1");
    assert_eq!(early[csv_column("consent_requested_at")], "");
    // ... and the last chunk's as it was when its chunk was read, after.
    let late = row(last_chunk);
    assert_eq!(late[csv_column("state")], "awaiting_consent");
    assert_eq!(late[csv_column("version")], "2");
    assert!(late[csv_column("consent_requested_at")].ends_with('Z'));
}

async fn r_list_2_the_export_has_its_header_and_quotes_what_it_must(adapter: Adapter) {
    let w = world(adapter).await;
    let name = "=HYPERLINK(\"http://evil.example\"), Zürich 北京";
    let mut add = form(3, &["workshop"]);
    add.friendly_name = name.parse().unwrap();
    let n = w
        .service
        .add_customer(&admin(1), &add)
        .await
        .unwrap()
        .nominations
        .remove(0);
    let id = w.approved_claim(1, 4).await;
    let mut bytes = Vec::new();
    let summary = w
        .service
        .export_claims(&admin(1), &ClaimsRequest::default(), &mut bytes)
        .await
        .unwrap();
    assert_eq!(summary.rows, 2);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("claim_id,engagement,customer,location,friendly_name,state,"));
    assert!(text.ends_with("\r\n"));
    assert!(
        text.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\"), Zürich 北京\","),
        "{text}"
    );
    let records = csv_records(&bytes);
    let named = records
        .iter()
        .find(|r| r[csv_column("claim_id")] == n.id().to_string())
        .unwrap();
    assert_eq!(spreadsheet_value(&named[csv_column("friendly_name")]), name);
    let approved = records
        .iter()
        .find(|r| r[csv_column("claim_id")] == id.to_string())
        .unwrap();
    assert_eq!(approved[csv_column("state")], "approved");
    assert_eq!(approved[csv_column("payout_minor")], "750000");
    assert_eq!(approved[csv_column("payout_currency")], "EUR");
    assert_eq!(approved[csv_column("payout_approved")], "true");
    // One engagement, one state: the list the Claims page filters.
    let only = ClaimsRequest {
        state: Some(State::Approved),
        ..ClaimsRequest::default()
    };
    let mut bytes = Vec::new();
    w.service
        .export_claims(&admin(1), &only, &mut bytes)
        .await
        .unwrap();
    assert_eq!(csv_records(&bytes).len(), 2);
    let unknown = ClaimsRequest {
        engagement: Some("no-such-engagement".parse().unwrap()),
        ..ClaimsRequest::default()
    };
    assert!(matches!(
        w.service
            .export_claims(&admin(1), &unknown, &mut Vec::new())
            .await,
        Err(mci_engagements::ExportError::Service(
            Error::UnknownEngagement(_)
        ))
    ));
}

async fn r_list_4_a_partner_history_export_verifies_against_every_head_the_service_gave(
    adapter: Adapter,
) {
    let w = world_exporting(adapter, 2).await;
    let approved = w.approved_claim(1, 1).await;
    let mut ids = vec![approved];
    for n in added_in_turn(&w, 1, 2..=5, &["workshop"]).await {
        if ids.len() % 2 == 0 {
            w.ask_consent(1, n.id()).await;
        }
        ids.push(*n.id());
    }
    let others = w.add(2, 9, &["workshop"]).await;
    // Past the consent window, before any sweep: those lapses are due,
    // not written; the export ends each history with its lapse.
    w.clock.advance(TimeDelta::days(31)).unwrap();
    let mut kept = Vec::new();
    for id in &ids {
        let n = w.service.nomination(&admin(1), id).await.unwrap();
        kept.push(n.head().unwrap());
    }
    let mut bytes = Vec::new();
    let summary = w
        .service
        .export_histories(&admin(1), &mut bytes)
        .await
        .unwrap();
    assert_eq!(summary.rows, ids.len() as u64);
    assert!(summary.chunks >= 3, "{summary:?}");
    let export = String::from_utf8(bytes).unwrap();
    let heads = verify_export(&export, &kept).unwrap();
    let verified: std::collections::BTreeSet<_> = heads.iter().map(|h| h.nomination).collect();
    assert_eq!(verified, ids.iter().copied().collect());
    assert!(!verified.contains(others[0].id()), "R-ROLE-2");
    for head in &kept {
        assert!(heads.contains(head), "{head:?}: the head the service gave");
    }
    // After the sweep writes the lapses, the same heads.
    w.service.sweep().await.unwrap();
    let mut bytes = Vec::new();
    w.service
        .export_histories(&admin(1), &mut bytes)
        .await
        .unwrap();
    let swept = verify_export(&String::from_utf8(bytes).unwrap(), &kept).unwrap();
    assert_eq!(swept.len(), heads.len());
    for head in &swept {
        assert!(heads.contains(head), "{head:?}: the lapse the sweep wrote");
    }
}

async fn r_list_2_an_export_passes_over_an_unreadable_row_and_names_it(adapter: Adapter) {
    let w = world_exporting(adapter, 2).await;
    let added = added_in_turn(&w, 1, 1..=5, &["workshop"]).await;
    let bad = *added[2].id();
    w.corrupt(&bad, Corruption::NotJson).await;
    let mut bytes = Vec::new();
    let summary = w
        .service
        .export_claims(&admin(1), &ClaimsRequest::default(), &mut bytes)
        .await
        .unwrap();
    assert_eq!(summary.rows, 4);
    assert_eq!(summary.unreadable, [bad]);
    let records = csv_records(&bytes);
    assert_eq!(records.len(), 5);
    assert!(records.iter().all(|r| r[0] != bad.to_string()));
    let mut bytes = Vec::new();
    let summary = w
        .service
        .export_histories(&admin(1), &mut bytes)
        .await
        .unwrap();
    assert_eq!((summary.rows, summary.unreadable), (4, vec![bad]));
}
