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
use mci_engagements::{AddCustomer, CustomerRow, Error, Incentives, MessageKind};
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
        id
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
            r_list_5_one_customer_under_two_identifiers_is_warned_of_not_refused,
            r_list_3_attention_required_lists_what_needs_the_partner_now,
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
