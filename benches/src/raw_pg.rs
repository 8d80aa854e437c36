//! The PostgreSQL baselines: raw tokio-postgres running the adapter's own
//! statements ([`mci_store_postgres::statements`]), with none of the store
//! around it (no `Store` trait, no commit preparation, no retry loop, no
//! decision on what the guard counts answer, no refusal mapping).
//!
//! A database is given its schema by connecting a [`PostgresStore`] to it
//! once ([`create`]); the baselines then take connections from a
//! deadpool of their own ([`raw_pool`]), whose statement cache prepares each
//! statement once per connection, as the store's pool does.
//!
//! [`put_commit`] runs, for a commit of writes (no answers, payout batch or
//! idempotency key: what *add customer* and *accept consent* write while
//! no known rows are kept), the statements the adapter's commit runs, in
//! its order and with the same parameters: the registry share and the
//! engagements whose known rows are kept (when a write holds a consent),
//! the customer locks, the stored rows, the guard counts, each row, its
//! event, links, messages and known customer, the engagements again for a
//! customer newly known, the known rows of every (engagement, customer)
//! whose standing moved, the known rows and known customer an answer of
//! the commit is about ([`AnswerKey`]), and the tab counters. The rows are encoded as the
//! adapter encodes them: the columns mci-core derives
//! ([`mci_store::Derived`]), the adapter's [`columns`] functions, the same
//! JSON documents. `benches/tests/postgres.rs` compares the statements
//! each side sends, from the server's log, and every table they leave.
//!
//! [`load_world`] writes a whole world with `COPY` (binary), the rows a
//! store would hold once the world's commits and a sweep at
//! [`world::now`] had run; [`RawPage`] reads the first page of a tab and
//! its counts with the adapter's statements.

use crate::BoxError;
use crate::world::{self, WorldSpec};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use mci_core::{Nomination, Tab};
use mci_store::{Derived, Write};
use mci_store_postgres::columns;
use mci_store_postgres::statements::{commit as sql, known, queries};
use mci_store_postgres::tokio_postgres::binary_copy::BinaryCopyInWriter;
use mci_store_postgres::tokio_postgres::types::{ToSql, Type};
use mci_store_postgres::tokio_postgres::{self, Config, IsolationLevel, NoTls};
use mci_store_postgres::{Options, PostgresStore};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use uuid::Uuid;

/// Gives the database `url` names the store's schema, by connecting a
/// store to it (which migrates it) and dropping the store.
pub async fn create(url: &str) -> Result<(), BoxError> {
    let store = PostgresStore::connect_with(
        url,
        Options {
            pool_size: 1,
            ..Options::default()
        },
    )
    .await?;
    drop(store);
    Ok(())
}

/// A deadpool of at most `size` connections to `url`, without TLS,
/// recycled as the store's pool recycles them.
pub fn raw_pool(url: &str, size: usize) -> Result<Pool, BoxError> {
    let mut config: Config = url.parse()?;
    config.application_name("mci-bench-raw");
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager)
        .max_size(size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()?)
}

/// One connection of a pool of its own, held for as long as the baseline
/// runs.
pub async fn raw_client(url: &str) -> Result<Object, BoxError> {
    Ok(raw_pool(url, 1)?.get().await?)
}

/// A nomination as the adapter's row: the columns it writes.
#[derive(Debug, Clone)]
struct Row {
    id: Uuid,
    partner: String,
    engagement: String,
    customer: String,
    customer_order: Vec<u8>,
    state: String,
    version: i64,
    tab: i16,
    lapse_at: Option<i64>,
    tab_after: Option<i16>,
    wake_at: Option<i64>,
    live: bool,
    holds_consent: bool,
    completed: bool,
    asking: bool,
    standing_until: Option<i64>,
    created_at: i64,
    changed_at: i64,
    state_after: Option<String>,
    reviewable: bool,
    consented: bool,
    links: Vec<Vec<u8>>,
    doc: String,
}

impl Row {
    /// The values of the columns an insert of the nomination names, in the
    /// order of the adapter's insert statement (and of the COPY into the
    /// same columns).
    fn insert_params(&self) -> [&(dyn ToSql + Sync); 20] {
        [
            &self.id,
            &self.partner,
            &self.engagement,
            &self.customer,
            &self.state,
            &self.version,
            &self.tab,
            &self.lapse_at,
            &self.tab_after,
            &self.wake_at,
            &self.live,
            &self.holds_consent,
            &self.completed,
            &self.asking,
            &self.standing_until,
            &self.doc,
            &self.created_at,
            &self.changed_at,
            &self.state_after,
            &self.reviewable,
        ]
    }
}

fn tab_code(tab: Option<Tab>) -> i16 {
    i16::from(Tab::code(tab))
}

impl Row {
    fn of(nomination: &Nomination) -> Result<Self, BoxError> {
        let Derived {
            placement,
            standing,
        } = Derived::of(nomination);
        let state = match serde_json::to_value(nomination.state())? {
            serde_json::Value::String(name) => name,
            other => return Err(format!("a state serialised as {other}").into()),
        };
        Ok(Self {
            id: nomination.id().as_uuid(),
            partner: nomination.partner().as_str().to_owned(),
            engagement: nomination.engagement().as_str().to_owned(),
            customer: nomination.customer().id().to_string(),
            customer_order: columns::customer_order(nomination.customer().id()),
            state,
            version: i64::try_from(nomination.version())?,
            tab: tab_code(placement.tab),
            lapse_at: placement.lapse_at.map(columns::instant),
            tab_after: placement
                .lapse_at
                .map(|_| tab_code(placement.tab_after_lapse)),
            wake_at: placement.wake_at.map(columns::instant),
            live: standing.live,
            holds_consent: standing.holds_consent,
            completed: standing.completed,
            asking: standing.asking,
            standing_until: standing.until.map(columns::instant),
            created_at: columns::instant(nomination.claims_placement().created_at),
            changed_at: columns::instant(nomination.claims_placement().changed_at),
            state_after: match nomination.claims_placement().state_after_lapse {
                Some(after) => match serde_json::to_value(after)? {
                    serde_json::Value::String(name) => Some(name),
                    other => return Err(format!("a state serialised as {other}").into()),
                },
                None => None,
            },
            reviewable: nomination.claims_placement().reviewable,
            consented: nomination.consented_at().is_some(),
            links: nomination
                .links()
                .iter()
                .map(|link| link.hash().as_bytes().to_vec())
                .collect(),
            doc: serde_json::to_string(nomination)?,
        })
    }

    fn standing(&self) -> Standing {
        (
            self.live,
            self.holds_consent,
            self.completed,
            self.asking,
            self.standing_until,
        )
    }
}

/// The standing columns of a row: live, holds consent, completed, asking,
/// until.
type Standing = (bool, bool, bool, bool, Option<i64>);

/// An outbox message as the adapter writes it: id, availability, document.
type OutboxRow = (Uuid, i64, String);

/// One write encoded as the adapter encodes it.
#[derive(Debug, Clone)]
pub struct Encoded {
    row: Row,
    expected_version: i64,
    event: String,
    messages: Vec<OutboxRow>,
    /// What each guard counts among: engagement, customer, partner.
    guards: Vec<(String, String, String)>,
}

impl Encoded {
    /// `write`, encoded.
    pub fn of(write: &Write) -> Result<Self, BoxError> {
        let row = Row::of(&write.nomination)?;
        let mut messages = Vec::with_capacity(write.messages.len());
        for message in &write.messages {
            messages.push((
                message.id.as_uuid(),
                columns::instant(message.queued_at),
                serde_json::to_string(message)?,
            ));
        }
        let mut guards = Vec::with_capacity(write.guards.len());
        for guard in &write.guards {
            // The partner a guard counts for: its own, or (for the guards
            // that count every partner) the write's, as the adapter has it.
            let partner = match guard {
                mci_core::Guard::NoOtherLiveNomination { partner, .. }
                | mci_core::Guard::NoRivalAsking { partner, .. } => partner.as_str().to_owned(),
                _ => row.partner.clone(),
            };
            let key = (
                guard.engagement().as_str().to_owned(),
                guard.customer().to_string(),
                partner,
            );
            if !guards.contains(&key) {
                guards.push(key);
            }
        }
        Ok(Self {
            expected_version: i64::try_from(write.expected_version)?,
            event: serde_json::to_string(&write.event)?,
            messages,
            guards,
            row,
        })
    }
}

/// What a kept answer of the eligibility port is about, as a commit
/// names it: the partner, the engagement and the customer. The service's
/// *add customer* keeps the answer it was given about the customer in the
/// add's commit (R-PAGE-9).
#[derive(Debug, Clone)]
pub struct AnswerKey {
    partner: String,
    engagement: String,
    customer: Vec<u8>,
    customer_text: String,
}

impl AnswerKey {
    /// The answer about `nomination`'s customer, for its partner and
    /// engagement.
    pub fn about(nomination: &Nomination) -> Self {
        Self {
            partner: nomination.partner().as_str().to_owned(),
            engagement: nomination.engagement().as_str().to_owned(),
            customer: columns::customer_order(nomination.customer().id()),
            customer_text: nomination.customer().id().to_string(),
        }
    }
}

async fn exec(
    client: &impl GenericClient,
    statement: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, tokio_postgres::Error> {
    let prepared = client.prepare_cached(statement).await?;
    client.execute(&prepared, params).await
}

async fn query(
    client: &impl GenericClient,
    statement: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    let prepared = client.prepare_cached(statement).await?;
    client.query(&prepared, params).await
}

/// Runs the adapter's statements for the commit of `writes` and of kept
/// answers about `answers` at `now` (in microseconds, [`columns::bound`])
/// in one READ COMMITTED transaction on `client`, as the module's
/// documentation lists them. The answers' statements are the reads that
/// find no known row and no known customer for them: a customer known
/// already is an error, the baseline keeps no known rows.
pub async fn put_commit(
    client: &mut Object,
    now: i64,
    writes: &[Encoded],
    answers: &[AnswerKey],
) -> Result<(), BoxError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .read_only(false)
        .start()
        .await?;
    let mut locks: BTreeSet<(&str, &str)> = BTreeSet::new();
    for write in writes {
        locks.insert((&write.row.engagement, &write.row.customer));
        for (engagement, customer, _) in &write.guards {
            locks.insert((engagement, customer));
        }
    }
    for answer in answers {
        locks.insert((&answer.engagement, &answer.customer_text));
    }
    let mut kept_for = Vec::new();
    if writes.iter().any(|w| w.row.consented) {
        query(&tx, known::SHARE_REGISTRY, &[]).await?;
        for row in query(&tx, known::ENGAGEMENTS, &[]).await? {
            kept_for.push(row.try_get::<_, String>(0)?);
        }
    }
    for engagement in &kept_for {
        for write in writes.iter().filter(|w| w.row.consented) {
            locks.insert((engagement, &write.row.customer));
        }
    }
    if !locks.is_empty() {
        let engagements: Vec<&str> = locks.iter().map(|(e, _)| *e).collect();
        let customers: Vec<&str> = locks.iter().map(|(_, c)| *c).collect();
        exec(&tx, sql::LOCK_CUSTOMERS, &[&engagements, &customers]).await?;
    }
    let ids: Vec<Uuid> = writes.iter().map(|w| w.row.id).collect();
    let mut stored: HashMap<Uuid, (i16, Standing)> = HashMap::new();
    for row in query(&tx, sql::STORED, &[&ids]).await? {
        stored.insert(
            row.try_get(0)?,
            (
                row.try_get(10)?,
                (
                    row.try_get(5)?,
                    row.try_get(6)?,
                    row.try_get(7)?,
                    row.try_get(8)?,
                    row.try_get(9)?,
                ),
            ),
        );
    }
    let mut restand: Vec<&Row> = Vec::new();
    let mut moves: BTreeMap<(&str, &str, i16), i64> = BTreeMap::new();
    for write in writes {
        let row = &write.row;
        let before = stored.get(&row.id);
        if before.is_none_or(|(_, standing)| *standing != row.standing())
            && !restand
                .iter()
                .any(|r| (&r.engagement, &r.customer) == (&row.engagement, &row.customer))
        {
            restand.push(row);
        }
        if let Some((tab, _)) = before
            && *tab != 0
        {
            *moves
                .entry((&row.partner, &row.engagement, *tab))
                .or_default() -= 1;
        }
        if row.tab != 0 {
            *moves
                .entry((&row.partner, &row.engagement, row.tab))
                .or_default() += 1;
        }
    }
    let mut newly_known = 0;
    for write in writes {
        let r = &write.row;
        for (engagement, customer, partner) in &write.guards {
            query(
                &tx,
                sql::GUARD_COUNTS,
                &[engagement, customer, &r.id, &now, partner],
            )
            .await?;
        }
        let written = if write.expected_version == 0 {
            exec(&tx, sql::INSERT_NOMINATION, &r.insert_params()).await?
        } else {
            exec(
                &tx,
                sql::UPDATE_NOMINATION,
                &[
                    &r.id,
                    &r.state,
                    &r.version,
                    &r.tab,
                    &r.lapse_at,
                    &r.tab_after,
                    &r.wake_at,
                    &r.live,
                    &r.holds_consent,
                    &r.completed,
                    &r.asking,
                    &r.standing_until,
                    &r.doc,
                    &write.expected_version,
                    &r.changed_at,
                    &r.state_after,
                    &r.reviewable,
                ],
            )
            .await?
        };
        if written != 1 {
            return Err(format!("{written} rows written for nomination {}", r.id).into());
        }
        exec(&tx, sql::INSERT_EVENT, &[&r.id, &r.version, &write.event]).await?;
        if write.expected_version != 0 {
            exec(&tx, sql::DELETE_LINKS, &[&r.id]).await?;
        }
        if !r.links.is_empty() {
            exec(&tx, sql::INSERT_LINKS, &[&r.links, &r.id]).await?;
        }
        for (id, available_at, doc) in &write.messages {
            exec(&tx, sql::INSERT_MESSAGE, &[id, &r.id, doc, available_at]).await?;
        }
        if r.consented
            && exec(
                &tx,
                sql::INSERT_KNOWN,
                &[&r.partner, &r.customer_order, &r.id],
            )
            .await?
                == 1
        {
            newly_known += 1;
        }
    }
    for _ in 0..newly_known {
        if !query(&tx, known::ENGAGEMENTS, &[]).await?.is_empty() {
            return Err("the baseline keeps no known rows: an engagement has them".into());
        }
    }
    for row in restand {
        let found = query(
            &tx,
            known::ROWS_OF_CUSTOMER,
            &[&row.engagement, &row.customer_order],
        )
        .await?;
        if !found.is_empty() {
            return Err("the baseline keeps no known rows: a customer has them".into());
        }
    }
    for answer in answers {
        let key: [&(dyn ToSql + Sync); 3] = [&answer.partner, &answer.engagement, &answer.customer];
        let through: [&(dyn ToSql + Sync); 2] = [&answer.partner, &answer.customer];
        if !query(&tx, known::ROW, &key).await?.is_empty()
            || !query(&tx, known::KNOWN_THROUGH, &through).await?.is_empty()
        {
            return Err("the baseline keeps no known rows: an answer's customer is known".into());
        }
    }
    let moves: Vec<_> = moves.into_iter().filter(|(_, n)| *n != 0).collect();
    if !moves.is_empty() {
        let partners: Vec<&str> = moves.iter().map(|((p, _, _), _)| *p).collect();
        let engagements: Vec<&str> = moves.iter().map(|((_, e, _), _)| *e).collect();
        let tabs: Vec<i16> = moves.iter().map(|((_, _, t), _)| *t).collect();
        let steps: Vec<i64> = moves.iter().map(|(_, n)| *n).collect();
        exec(
            &tx,
            sql::MOVE_TAB_COUNTS,
            &[&partners, &engagements, &tabs, &steps],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What [`RawPage::read`] answers: the page's nominations and the tab and
/// known counts' raw figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRead {
    /// The nominations of the page, decoded.
    pub rows: Vec<Nomination>,
    /// The kept count of each tab, `(tab code, n)`.
    pub kept: Vec<(i16, i64)>,
    /// The lapses not yet swept, `(from, to)`.
    pub lapses: Vec<(i16, Option<i16>)>,
    /// The known figures: eligible, not checked, ineligible.
    pub figures: Option<[i64; 3]>,
    /// How many known rows stopped holding.
    pub changed: usize,
    /// The oldest answer kept, in microseconds.
    pub oldest: Option<i64>,
}

/// The first page of a tab and its counts, with the adapter's statements
/// on a raw connection: the page's keyset walk (`queries::PAGE`, its
/// documents decoded), then in one REPEATABLE READ read-only transaction
/// the kept tab counts and the unswept lapses, then in another the known
/// figures, the known rows whose placement stopped holding and the oldest
/// kept answer: the statements `Store::page`, `Store::count` and
/// `Store::known_counts` run for the service's Customers page.
pub struct RawPage {
    client: Object,
    partner: String,
    engagement: String,
    tab: i16,
    now: i64,
    limit: i64,
}

impl RawPage {
    /// The page of `query` from `client`.
    pub fn new(client: Object, query: &mci_store::PageQuery) -> Result<Self, BoxError> {
        Ok(Self {
            client,
            partner: query.partner.as_str().to_owned(),
            engagement: query.engagement.as_str().to_owned(),
            tab: tab_code(Some(query.tab)),
            now: columns::bound(query.now),
            limit: i64::try_from(query.limit)?,
        })
    }

    /// Reads the page and its counts once.
    pub async fn read(&mut self) -> Result<RawRead, BoxError> {
        let (partner, engagement, now) = (&self.partner, &self.engagement, &self.now);
        let found = query(
            &self.client,
            queries::PAGE,
            &[
                partner,
                engagement,
                &self.tab,
                &Uuid::nil(),
                now,
                &self.limit,
            ],
        )
        .await?;
        let mut rows = Vec::with_capacity(found.len());
        for row in &found {
            rows.push(serde_json::from_str(row.try_get::<_, &str>(1)?)?);
        }
        let tx = snapshot(&mut self.client).await?;
        let mut kept = Vec::new();
        for row in query(&tx, queries::KEPT_COUNTS, &[partner, engagement]).await? {
            kept.push((row.try_get(0)?, row.try_get(1)?));
        }
        let mut lapses = Vec::new();
        for row in query(&tx, queries::UNSWEPT_LAPSES, &[partner, engagement, now]).await? {
            lapses.push((row.try_get(0)?, row.try_get(1)?));
        }
        tx.commit().await?;
        let tx = snapshot(&mut self.client).await?;
        let figures = match query(&tx, known::FIGURES, &[partner, engagement])
            .await?
            .first()
        {
            Some(row) => Some([row.try_get(0)?, row.try_get(1)?, row.try_get(2)?]),
            None => None,
        };
        let changed = query(&tx, known::CHANGED, &[partner, engagement, now])
            .await?
            .len();
        if changed > 0 {
            return Err("the baseline places no known row again: read a swept world".into());
        }
        let oldest = match query(&tx, known::OLDEST_KEPT, &[partner, engagement, now])
            .await?
            .first()
        {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        };
        tx.commit().await?;
        Ok(RawRead {
            rows,
            kept,
            lapses,
            figures,
            changed,
            oldest,
        })
    }
}

/// A REPEATABLE READ, read-only transaction on `client`, as the store
/// starts its snapshots.
async fn snapshot(client: &mut Object) -> Result<deadpool_postgres::Transaction<'_>, BoxError> {
    Ok(client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

/// What [`load_world`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// How many nominations.
    pub nominations: usize,
    /// How many of them the sweep at [`world::now`] woke (written woken).
    pub swept: usize,
    /// How many rows all the tables got.
    pub rows: u64,
}

/// The rows of some chunks of the world, ready for `COPY`.
#[derive(Debug, Default)]
struct Batch {
    nominations: Vec<Row>,
    events: Vec<(Uuid, i64, String)>,
    links: Vec<(Vec<u8>, Uuid)>,
    outbox: Vec<(Uuid, Uuid, String, i64)>,
    known: Vec<(String, Vec<u8>, Uuid)>,
    nominations_made: usize,
    swept: usize,
}

/// How many chunks of the world one round of `COPY`s takes.
const CHUNKS_PER_COPY: usize = 20;

/// Makes the batches of the world of `spec`: each chunk's writes in
/// order, then the sweep's at [`world::now`] of its due nominations, as
/// the rows they leave.
fn batches(
    spec: &WorldSpec,
    send: tokio::sync::mpsc::Sender<Result<Batch, BoxError>>,
) -> Result<(), BoxError> {
    let now = world::now();
    let mut known: HashSet<(String, Vec<u8>)> = HashSet::new();
    let mut batch = Batch::default();
    let mut chunks = 0;
    for chunk in world::chunks(spec)? {
        let chunk = chunk?;
        let mut writes: Vec<Write> = chunk.commits.into_iter().flat_map(|c| c.writes).collect();
        for nomination in &chunk.nominations {
            // A sweep wakes a due nomination until it has nothing due at
            // `now`: once, in the world as planned.
            let mut last = nomination.clone();
            let mut woken = 0;
            while let Some(outcome) = last.wake(now)? {
                last = outcome.nomination.clone();
                writes.push(Write::from(outcome));
                woken += 1;
                if woken > 3 {
                    return Err(format!("nomination {} keeps waking", last.id()).into());
                }
            }
            batch.swept += usize::from(woken > 0);
        }
        let mut last: HashMap<Uuid, Row> = HashMap::with_capacity(chunk.nominations.len());
        for write in &writes {
            let row = Row::of(&write.nomination)?;
            batch
                .events
                .push((row.id, row.version, serde_json::to_string(&write.event)?));
            for message in &write.messages {
                batch.outbox.push((
                    message.id.as_uuid(),
                    row.id,
                    serde_json::to_string(message)?,
                    columns::instant(message.queued_at),
                ));
            }
            if row.consented && known.insert((row.partner.clone(), row.customer_order.clone())) {
                batch
                    .known
                    .push((row.partner.clone(), row.customer_order.clone(), row.id));
            }
            last.insert(row.id, row);
        }
        let mut rows: Vec<Row> = last.into_values().collect();
        rows.sort_unstable_by_key(|r| r.id);
        for row in &rows {
            for hash in &row.links {
                batch.links.push((hash.clone(), row.id));
            }
        }
        batch.nominations_made += rows.len();
        batch.nominations.extend(rows);
        chunks += 1;
        if chunks % CHUNKS_PER_COPY == 0 {
            let full = std::mem::take(&mut batch);
            if send.blocking_send(Ok(full)).is_err() {
                return Ok(());
            }
        }
    }
    let _ = send.blocking_send(Ok(batch));
    Ok(())
}

/// Writes the world of `spec` into the database `url` names (given the
/// store's schema by [`create`]), as the rows a store holds once the
/// world's commits ([`world::chunks`]) and a sweep at [`world::now`] have
/// run: every nomination at its last version, woken by the sweep when it
/// was due, its events, its live links, its outbox messages, the known
/// customers (each through the first consented nomination, in commit
/// order), then the customer locks and the tab counters derived from the
/// nominations, and `ANALYZE`.
///
/// Rows go in with binary `COPY`, twenty chunks at a time, from a thread
/// that makes them while the server writes the previous ones. The
/// outbox's `seq` is given in that order, not the order a store's commits
/// would give it; nothing the benchmarks read depends on it.
pub async fn load_world(url: &str, spec: &WorldSpec) -> Result<Loaded, BoxError> {
    let mut client = raw_client(url).await?;
    let (send, mut receive) = tokio::sync::mpsc::channel(2);
    let spec = *spec;
    // Detached: it ends once it has sent its last batch, or fails with
    // an error it sends, or panics, which leaves the world short.
    std::thread::spawn(move || {
        let failed = send.clone();
        if let Err(error) = batches(&spec, send) {
            let _ = failed.blocking_send(Err(error));
        }
    });
    let mut loaded = Loaded::default();
    let tx = client.transaction().await?;
    while let Some(batch) = receive.recv().await {
        let batch = batch?;
        loaded.nominations += batch.nominations_made;
        loaded.swept += batch.swept;
        loaded.rows += copy_batch(&tx, &batch).await?;
    }
    if loaded.nominations != spec.nominations {
        return Err(format!(
            "the world's maker stopped at {} of {} nominations",
            loaded.nominations, spec.nominations
        )
        .into());
    }
    loaded.rows += tx
        .execute(
            "INSERT INTO customer_locks (engagement, customer) \
             SELECT DISTINCT engagement, customer FROM nominations \
             ON CONFLICT (engagement, customer) DO NOTHING",
            &[],
        )
        .await?;
    loaded.rows += tx
        .execute(
            "INSERT INTO tab_counts (partner, engagement, tab, n) \
             SELECT partner, engagement, tab, count(*) FROM nominations WHERE tab <> 0 \
             GROUP BY partner, engagement, tab",
            &[],
        )
        .await?;
    tx.commit().await?;
    client.batch_execute("ANALYZE").await?;
    Ok(loaded)
}

/// `COPY`s the rows of `batch`; how many.
async fn copy_batch(
    tx: &deadpool_postgres::Transaction<'_>,
    batch: &Batch,
) -> Result<u64, BoxError> {
    let mut rows = 0;
    let sink = tx
        .copy_in(
            "COPY nominations (id, partner, engagement, customer, state, version, tab, \
             lapse_at, tab_after, wake_at, live, holds_consent, completed, asking, \
             standing_until, doc, created_at, changed_at, state_after, reviewable) \
             FROM STDIN (FORMAT binary)",
        )
        .await?;
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(
        sink,
        &[
            Type::UUID,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::INT2,
            Type::INT8,
            Type::INT2,
            Type::INT8,
            Type::BOOL,
            Type::BOOL,
            Type::BOOL,
            Type::BOOL,
            Type::INT8,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::BOOL,
        ],
    ));
    for r in &batch.nominations {
        writer.as_mut().write(&r.insert_params()).await?;
    }
    rows += writer.finish().await?;

    let sink = tx
        .copy_in("COPY events (nomination, version, doc) FROM STDIN (FORMAT binary)")
        .await?;
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(
        sink,
        &[Type::UUID, Type::INT8, Type::TEXT]
    ));
    for (id, version, doc) in &batch.events {
        writer.as_mut().write(&[id, version, doc]).await?;
    }
    rows += writer.finish().await?;

    let sink = tx
        .copy_in("COPY links (hash, nomination) FROM STDIN (FORMAT binary)")
        .await?;
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &[Type::BYTEA, Type::UUID]));
    for (hash, id) in &batch.links {
        writer.as_mut().write(&[hash, id]).await?;
    }
    rows += writer.finish().await?;

    let sink = tx
        .copy_in("COPY outbox (id, nomination, doc, available_at) FROM STDIN (FORMAT binary)")
        .await?;
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(
        sink,
        &[Type::UUID, Type::UUID, Type::TEXT, Type::INT8]
    ));
    for (id, nomination, doc, available_at) in &batch.outbox {
        writer
            .as_mut()
            .write(&[id, nomination, doc, available_at])
            .await?;
    }
    rows += writer.finish().await?;

    let sink = tx
        .copy_in("COPY known_customers (partner, customer, through) FROM STDIN (FORMAT binary)")
        .await?;
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(
        sink,
        &[Type::TEXT, Type::BYTEA, Type::UUID]
    ));
    for (partner, customer, through) in &batch.known {
        writer.as_mut().write(&[partner, customer, through]).await?;
    }
    rows += writer.finish().await?;
    Ok(rows)
}
