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
//! store would hold once the world's commits, a sweep at [`world::now`]
//! and [`world::know`] had run, into the columns of the adapter's insert
//! statements, each row's values in one list that the raw insert and the
//! `COPY` both send; [`RawPage`] reads the first page of a tab and its
//! counts with the adapter's statements.

use crate::BoxError;
use crate::world::{self, KnownFor, WorldSpec};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use mci_core::{KnownCustomer, Nomination, PartnerId, Tab, known_placement};
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
    attention: Option<i16>,
    consented: bool,
    links: Vec<Vec<u8>>,
    doc: String,
}

impl Row {
    /// The values of the columns an insert of the nomination names, in the
    /// order of the adapter's insert statement (and of the COPY into the
    /// same columns).
    fn insert_params(&self) -> [&(dyn ToSql + Sync); 21] {
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
            &self.attention,
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
            attention: columns::attention(&nomination.attention_placement()),
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

/// An event as the adapter writes it.
#[derive(Debug, Clone)]
struct EventRow {
    nomination: Uuid,
    version: i64,
    doc: String,
}

impl EventRow {
    /// The values of the columns of `sql::INSERT_EVENT`, in its order (and
    /// the COPY's).
    fn insert_params(&self) -> [&(dyn ToSql + Sync); 3] {
        [&self.nomination, &self.version, &self.doc]
    }
}

/// An outbox message as the adapter writes it.
#[derive(Debug, Clone)]
struct MessageRow {
    id: Uuid,
    nomination: Uuid,
    doc: String,
    available_at: i64,
}

impl MessageRow {
    fn of(nomination: Uuid, message: &mci_core::Message) -> Result<Self, BoxError> {
        Ok(Self {
            id: message.id.as_uuid(),
            nomination,
            doc: serde_json::to_string(message)?,
            available_at: columns::instant(message.queued_at),
        })
    }

    /// The values of the columns of `sql::INSERT_MESSAGE`, in its order
    /// (and the COPY's).
    fn insert_params(&self) -> [&(dyn ToSql + Sync); 4] {
        [&self.id, &self.nomination, &self.doc, &self.available_at]
    }
}

/// A partner's known customer as the adapter writes it: the customer's
/// order key and the nomination it is known through.
#[derive(Debug, Clone)]
struct KnownCustomerRow {
    partner: String,
    customer: Vec<u8>,
    through: Uuid,
}

impl KnownCustomerRow {
    /// The known customer a consented `row` makes.
    fn of(row: &Row) -> Self {
        Self {
            partner: row.partner.clone(),
            customer: row.customer_order.clone(),
            through: row.id,
        }
    }

    /// The values of the columns of `sql::INSERT_KNOWN`, in its order (and
    /// the COPY's).
    fn insert_params(&self) -> [&(dyn ToSql + Sync); 3] {
        [&self.partner, &self.customer, &self.through]
    }
}

/// A known row as the adapter keeps it (`known::PUT_ROW`).
#[derive(Debug, Clone)]
struct KnownRow {
    partner: String,
    engagement: String,
    customer: Vec<u8>,
    tab: i16,
    checked: bool,
    changes_at: Option<i64>,
    checked_at: Option<i64>,
    doc: String,
}

impl KnownRow {
    /// The values of the columns of `known::PUT_ROW`, in its order (and the
    /// COPY's).
    fn insert_params(&self) -> [&(dyn ToSql + Sync); 8] {
        [
            &self.partner,
            &self.engagement,
            &self.customer,
            &self.tab,
            &self.checked,
            &self.changes_at,
            &self.checked_at,
            &self.doc,
        ]
    }
}

/// A known row's document as the adapter writes it: the known customer,
/// the kept answer and the placement, in that order.
#[derive(serde::Serialize)]
struct KeptDoc<'a> {
    known: &'a mci_core::KnownCustomer,
    answer: Option<&'a mci_core::KeptAnswer>,
    placement: &'a mci_core::KnownPlacement,
}

/// One write encoded as the adapter encodes it.
#[derive(Debug, Clone)]
pub struct Encoded {
    row: Row,
    expected_version: i64,
    event: EventRow,
    messages: Vec<MessageRow>,
    /// The known customer the row makes, once consented.
    known: Option<KnownCustomerRow>,
    /// What each guard counts among: engagement, customer, partner.
    guards: Vec<(String, String, String)>,
}

impl Encoded {
    /// `write`, encoded.
    pub fn of(write: &Write) -> Result<Self, BoxError> {
        let row = Row::of(&write.nomination)?;
        let mut messages = Vec::with_capacity(write.messages.len());
        for message in &write.messages {
            messages.push(MessageRow::of(row.id, message)?);
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
            event: EventRow {
                nomination: row.id,
                version: row.version,
                doc: serde_json::to_string(&write.event)?,
            },
            messages,
            known: row.consented.then(|| KnownCustomerRow::of(&row)),
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
    let mut stored: HashMap<Uuid, (i16, Standing, String)> = HashMap::new();
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
                row.try_get(11)?,
            ),
        );
    }
    let mut restand: Vec<&Row> = Vec::new();
    let mut moves: BTreeMap<(&str, &str, i16), i64> = BTreeMap::new();
    let mut state_moves: BTreeMap<(&str, &str, &str), i64> = BTreeMap::new();
    for write in writes {
        let row = &write.row;
        let before = stored.get(&row.id);
        if before.is_none_or(|(_, standing, _)| *standing != row.standing())
            && !restand
                .iter()
                .any(|r| (&r.engagement, &r.customer) == (&row.engagement, &row.customer))
        {
            restand.push(row);
        }
        if let Some((_, _, state)) = before {
            *state_moves
                .entry((&row.partner, &row.engagement, state))
                .or_default() -= 1;
        }
        *state_moves
            .entry((&row.partner, &row.engagement, &row.state))
            .or_default() += 1;
        if let Some((tab, _, _)) = before
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
                    &r.attention,
                ],
            )
            .await?
        };
        if written != 1 {
            return Err(format!("{written} rows written for nomination {}", r.id).into());
        }
        exec(&tx, sql::INSERT_EVENT, &write.event.insert_params()).await?;
        if write.expected_version != 0 {
            exec(&tx, sql::DELETE_LINKS, &[&r.id]).await?;
        }
        if !r.links.is_empty() {
            exec(&tx, sql::INSERT_LINKS, &[&r.links, &r.id]).await?;
        }
        for message in &write.messages {
            exec(&tx, sql::INSERT_MESSAGE, &message.insert_params()).await?;
        }
        if let Some(known) = &write.known
            && exec(&tx, sql::INSERT_KNOWN, &known.insert_params()).await? == 1
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
    let state_moves: Vec<_> = state_moves.into_iter().filter(|(_, n)| *n != 0).collect();
    if !state_moves.is_empty() {
        let partners: Vec<&str> = state_moves.iter().map(|((p, _, _), _)| *p).collect();
        let engagements: Vec<&str> = state_moves.iter().map(|((_, e, _), _)| *e).collect();
        let states: Vec<&str> = state_moves.iter().map(|((_, _, s), _)| *s).collect();
        let steps: Vec<i64> = state_moves.iter().map(|(_, n)| *n).collect();
        exec(
            &tx,
            sql::MOVE_CLAIM_COUNTS,
            &[&partners, &engagements, &states, &steps],
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
    params: PageParams,
}

/// What the page's statements are asked.
struct PageParams {
    partner: String,
    engagement: String,
    tab: i16,
    /// The first page's cursor: before every id.
    after: Uuid,
    now: i64,
    limit: i64,
}

/// One of the page's statements with its parameters.
type Asked<'a> = (&'static str, Vec<&'a (dyn ToSql + Sync)>);

impl PageParams {
    /// The statements [`RawPage::read`] runs, in its order: the page, the
    /// kept tab counts, the unswept lapses, the known figures, the changed
    /// known rows, the oldest kept answer.
    fn statements(&self) -> [Asked<'_>; 6] {
        let (partner, engagement, now) = (&self.partner, &self.engagement, &self.now);
        [
            (
                queries::PAGE,
                vec![
                    partner,
                    engagement,
                    &self.tab,
                    &self.after,
                    now,
                    &self.limit,
                ],
            ),
            (queries::KEPT_COUNTS, vec![partner, engagement]),
            (queries::UNSWEPT_LAPSES, vec![partner, engagement, now]),
            (known::FIGURES, vec![partner, engagement]),
            (known::CHANGED, vec![partner, engagement, now]),
            (known::OLDEST_KEPT, vec![partner, engagement, now]),
        ]
    }
}

impl RawPage {
    /// The page of `query` from `client`.
    pub fn new(client: Object, query: &mci_store::PageQuery) -> Result<Self, BoxError> {
        Ok(Self {
            client,
            params: PageParams {
                partner: query.partner.as_str().to_owned(),
                engagement: query.engagement.as_str().to_owned(),
                tab: tab_code(Some(query.tab)),
                after: Uuid::nil(),
                now: columns::bound(query.now),
                limit: i64::try_from(query.limit)?,
            },
        })
    }

    /// Reads the page and its counts once.
    pub async fn read(&mut self) -> Result<RawRead, BoxError> {
        let [
            page,
            kept_counts,
            unswept,
            known_figures,
            known_changed,
            oldest_kept,
        ] = self.params.statements();
        let found = query(&self.client, page.0, &page.1).await?;
        let mut rows = Vec::with_capacity(found.len());
        for row in &found {
            rows.push(serde_json::from_str(row.try_get::<_, &str>(1)?)?);
        }
        let tx = snapshot(&mut self.client).await?;
        let mut kept = Vec::new();
        for row in query(&tx, kept_counts.0, &kept_counts.1).await? {
            kept.push((row.try_get(0)?, row.try_get(1)?));
        }
        let mut lapses = Vec::new();
        for row in query(&tx, unswept.0, &unswept.1).await? {
            lapses.push((row.try_get(0)?, row.try_get(1)?));
        }
        tx.commit().await?;
        let tx = snapshot(&mut self.client).await?;
        let figures = match query(&tx, known_figures.0, &known_figures.1).await?.first() {
            Some(row) => Some([row.try_get(0)?, row.try_get(1)?, row.try_get(2)?]),
            None => None,
        };
        let changed = query(&tx, known_changed.0, &known_changed.1).await?.len();
        if changed > 0 {
            return Err("the baseline places no known row again: read a swept world".into());
        }
        let oldest = match query(&tx, oldest_kept.0, &oldest_kept.1).await?.first() {
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

    /// What the server does for each statement [`RawPage::read`] runs:
    /// `EXPLAIN (ANALYZE, BUFFERS)` of it with its parameters (the plan
    /// for those values), each as `(statement, plan)`; then, from the
    /// connection's prepared statements, how many times each of the
    /// read's was planned for its values and how many times it ran a
    /// generic plan (PostgreSQL may switch to one after five runs).
    pub async fn explain(&mut self) -> Result<Vec<(String, String)>, BoxError> {
        let mut out = Vec::new();
        for (statement, params) in self.params.statements() {
            let plan = self
                .client
                .query(&format!("EXPLAIN (ANALYZE, BUFFERS) {statement}"), &params)
                .await?
                .iter()
                .map(|row| row.try_get::<_, String>(0))
                .collect::<Result<Vec<_>, _>>()?
                .join("\n");
            out.push((statement.to_owned(), plan));
        }
        let texts: Vec<&str> = self.params.statements().map(|(s, _)| s).to_vec();
        for row in self
            .client
            .query(
                "SELECT statement, custom_plans, generic_plans FROM pg_prepared_statements \
                 WHERE statement = ANY($1) ORDER BY statement",
                &[&texts],
            )
            .await?
        {
            let (statement, custom, generic): (String, i64, i64) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            out.push((
                statement,
                format!("prepared: {custom} custom plans, {generic} generic plans"),
            ));
        }
        Ok(out)
    }
}

/// A REPEATABLE READ, read-only transaction on `client`, as the store
/// starts its snapshots.
pub(crate) async fn snapshot(
    client: &mut Object,
) -> Result<deadpool_postgres::Transaction<'_>, BoxError> {
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
    /// The known rows and their answers, counted as [`world::know`] counts
    /// what it writes.
    pub known: world::Known,
    /// How many rows all the tables got.
    pub rows: u64,
}

/// The rows of some chunks of the world, or of some of its known rows,
/// ready for `COPY`.
#[derive(Debug, Default)]
struct Batch {
    nominations: Vec<Row>,
    events: Vec<EventRow>,
    links: Vec<(Vec<u8>, Uuid)>,
    outbox: Vec<MessageRow>,
    known_customers: Vec<KnownCustomerRow>,
    known_rows: Vec<KnownRow>,
    nominations_made: usize,
    swept: usize,
    known: world::Known,
}

/// How many chunks of the world one round of `COPY`s takes.
const CHUNKS_PER_COPY: usize = 20;

/// How many known rows one round of `COPY`s takes.
const KNOWN_ROWS_PER_COPY: usize = CHUNKS_PER_COPY * world::COMMIT_WRITES;

/// The standings of the nominations of each (engagement, customer) that
/// gets known rows, every partner's: what places a known row.
type Standings = HashMap<(String, String), Vec<(PartnerId, mci_core::Standing)>>;

/// A row's standing as the adapter reads it back from its standing
/// columns.
fn standing_of(row: &Row) -> Result<mci_core::Standing, BoxError> {
    Ok(mci_core::Standing {
        live: row.live,
        holds_consent: row.holds_consent,
        completed: row.completed,
        asking: row.asking,
        until: row.standing_until.map(columns::instant_at).transpose()?,
    })
}

/// Makes the batches of the world of `spec`: each chunk's writes in
/// order, then the sweep's at [`world::now`] of its due nominations, as
/// the rows they leave; then the known rows of the engagements of `which`.
fn batches(
    spec: &WorldSpec,
    which: KnownFor,
    send: tokio::sync::mpsc::Sender<Result<Batch, BoxError>>,
) -> Result<(), BoxError> {
    let now = world::now();
    let catalog = world::catalog()?;
    let seeded = which.engagements(&catalog);
    let seeded_ids: HashSet<&str> = seeded.iter().map(|e| e.id().as_str()).collect();
    let mut known: HashSet<(String, Vec<u8>)> = HashSet::new();
    // The known customers in the order they became known: partner, order
    // key, customer and the nomination it is known through.
    let mut knowns: Vec<(PartnerId, Vec<u8>, KnownCustomer)> = Vec::new();
    let mut standings = Standings::new();
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
            batch.events.push(EventRow {
                nomination: row.id,
                version: row.version,
                doc: serde_json::to_string(&write.event)?,
            });
            for message in &write.messages {
                batch.outbox.push(MessageRow::of(row.id, message)?);
            }
            if row.consented && known.insert((row.partner.clone(), row.customer_order.clone())) {
                batch.known_customers.push(KnownCustomerRow::of(&row));
                knowns.push((
                    write.nomination.partner().clone(),
                    row.customer_order.clone(),
                    KnownCustomer {
                        customer: write.nomination.customer().clone(),
                        through: *write.nomination.id(),
                    },
                ));
            }
            last.insert(row.id, row);
        }
        let mut rows: Vec<Row> = last.into_values().collect();
        rows.sort_unstable_by_key(|r| r.id);
        for row in &rows {
            for hash in &row.links {
                batch.links.push((hash.clone(), row.id));
            }
            if seeded_ids.contains(row.engagement.as_str()) {
                standings
                    .entry((row.engagement.clone(), row.customer.clone()))
                    .or_default()
                    .push((row.partner.parse()?, standing_of(row)?));
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
    batch.known.big_partner = knowns
        .iter()
        .filter(|(partner, _, _)| partner.as_str() == world::BIG_PARTNER)
        .count();
    for engagement in seeded {
        for (partner, customer, known) in &knowns {
            let key = (
                engagement.id().as_str().to_owned(),
                known.customer.id().to_string(),
            );
            let of_customer = standings.get(&key).map_or(&[][..], Vec::as_slice);
            let (answer, ineligible) = world::kept_answer(engagement, partner, &known.customer);
            let placement = known_placement(partner, Some(&answer), of_customer, now);
            let doc = serde_json::to_string(&KeptDoc {
                known,
                answer: Some(&answer),
                placement: &placement,
            })?;
            batch.known_rows.push(KnownRow {
                partner: partner.as_str().to_owned(),
                engagement: key.0,
                customer: customer.clone(),
                tab: tab_code(placement.tab),
                checked: placement.checked,
                changes_at: placement.changes_at.map(columns::instant),
                checked_at: Some(columns::instant(answer.checked_at)),
                doc,
            });
            batch.known.answered += 1;
            batch.known.ineligible += usize::from(ineligible);
            if batch.known_rows.len() == KNOWN_ROWS_PER_COPY {
                let full = std::mem::take(&mut batch);
                if send.blocking_send(Ok(full)).is_err() {
                    return Ok(());
                }
            }
        }
    }
    let _ = send.blocking_send(Ok(batch));
    Ok(())
}

/// Writes the world of `spec` into the database `url` names (given the
/// store's schema by [`create`]), as the rows a store holds once the
/// world's commits ([`world::chunks`]), a sweep at [`world::now`] and
/// [`world::know`] for `which` have run: every nomination at its last
/// version, woken by the sweep when it was due, its events, its live links,
/// its outbox messages, the known customers (each through the first
/// consented nomination, in commit order), every known customer's row on
/// each engagement of `which` with its [`world::kept_answer`], placed at
/// [`world::now`] by [`known_placement`] from the standings of the
/// nominations of its engagement and customer, then the customer locks,
/// the tab counters and the known figures derived from those rows, the
/// engagements' seeding done, and `ANALYZE`.
///
/// Rows go in with binary `COPY` into the columns of the adapter's insert
/// statement of each table ([`copy_into`]), twenty chunks at a time, from
/// a thread that makes them while the server writes the previous ones.
/// The outbox's `seq` is given in that order, not the order a store's
/// commits would give it; nothing the benchmarks read depends on it.
pub async fn load_world(url: &str, spec: &WorldSpec, which: KnownFor) -> Result<Loaded, BoxError> {
    let mut client = raw_client(url).await?;
    let (send, mut receive) = tokio::sync::mpsc::channel(2);
    let spec = *spec;
    // Detached: it ends once it has sent its last batch, or fails with
    // an error it sends, or panics, which leaves the world short.
    std::thread::spawn(move || {
        let failed = send.clone();
        if let Err(error) = batches(&spec, which, send) {
            let _ = failed.blocking_send(Err(error));
        }
    });
    let mut loaded = Loaded::default();
    let tx = client.transaction().await?;
    while let Some(batch) = receive.recv().await {
        let batch = batch?;
        loaded.nominations += batch.nominations_made;
        loaded.swept += batch.swept;
        loaded.known.answered += batch.known.answered;
        loaded.known.ineligible += batch.known.ineligible;
        loaded.known.big_partner += batch.known.big_partner;
        loaded.rows += copy_batch(&tx, &batch).await?;
    }
    if loaded.nominations != spec.nominations {
        return Err(format!(
            "the world's maker stopped at {} of {} nominations",
            loaded.nominations, spec.nominations
        )
        .into());
    }
    let seeded: Vec<String> = which
        .engagements(&world::catalog()?)
        .iter()
        .map(|e| e.id().as_str().to_owned())
        .collect();
    // Every nomination's (engagement, customer), and every known
    // customer's on each engagement seeded, as the seeding and the kept
    // answers lock them.
    loaded.rows += tx
        .execute(
            "INSERT INTO customer_locks (engagement, customer) \
             SELECT engagement, customer FROM nominations \
             UNION SELECT s.e, n.customer FROM unnest($1::text[]) AS s (e) \
             CROSS JOIN known_customers AS k JOIN nominations AS n ON n.id = k.through \
             ON CONFLICT (engagement, customer) DO NOTHING",
            &[&seeded],
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
    loaded.rows += tx
        .execute(
            "INSERT INTO claim_counts (partner, engagement, state, n) \
             SELECT partner, engagement, state, count(*) FROM nominations \
             GROUP BY partner, engagement, state",
            &[],
        )
        .await?;
    // What each row adds: an Eligible row to eligible, and to not checked
    // unless checked; an Ineligible one to ineligible; a hidden one
    // nothing. A partner's engagement none of whose rows ever added
    // anything has no figures.
    let (eligible, ineligible) = (
        tab_code(Some(Tab::Eligible)),
        tab_code(Some(Tab::Ineligible)),
    );
    loaded.rows += tx
        .execute(
            "INSERT INTO known_figures (partner, engagement, eligible, not_checked, ineligible) \
             SELECT partner, engagement, count(*) FILTER (WHERE tab = $1), \
             count(*) FILTER (WHERE tab = $1 AND NOT checked), count(*) FILTER (WHERE tab = $2) \
             FROM known_rows GROUP BY partner, engagement \
             HAVING count(*) FILTER (WHERE tab IN ($1, $2)) > 0",
            &[&eligible, &ineligible],
        )
        .await?;
    // Seeded to the end: the last known customer in (partner, customer)
    // order given its row.
    loaded.rows += tx
        .execute(
            "INSERT INTO known_engagements (engagement, after_partner, after_customer, done) \
             SELECT s.e, k.partner, k.customer, true FROM unnest($1::text[]) AS s (e) \
             LEFT JOIN (SELECT partner, customer FROM known_customers \
             ORDER BY partner DESC, customer DESC LIMIT 1) AS k ON true",
            &[&seeded],
        )
        .await?;
    tx.commit().await?;
    client.batch_execute("ANALYZE").await?;
    Ok(loaded)
}

/// The table and the column list the adapter's statement `insert`
/// (`INSERT INTO t (c, ...) ...`) names.
fn insert_columns(insert: &str) -> Result<(&str, &str), BoxError> {
    insert
        .strip_prefix("INSERT INTO ")
        .and_then(|rest| rest.split_once(" ("))
        .and_then(|(table, rest)| Some((table, rest.split_once(')')?.0)))
        .ok_or_else(|| format!("no table and columns in {insert:?}").into())
}

/// `COPY`s `rows` (binary) into the table and columns the adapter's
/// statement `insert` names, in its order: each row's values are
/// `params` of it, the list the raw insert of the row sends, and the
/// columns' types are the server's. How many rows.
async fn copy_into<R, const N: usize>(
    tx: &deadpool_postgres::Transaction<'_>,
    insert: &str,
    rows: &[R],
    params: impl Fn(&R) -> [&(dyn ToSql + Sync); N],
) -> Result<u64, BoxError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let (table, columns) = insert_columns(insert)?;
    let named = columns.split(',').count();
    if named != N {
        return Err(format!("{named} columns in {insert:?}, {N} values a row").into());
    }
    let types: Vec<Type> = tx
        .prepare(&format!("SELECT {columns} FROM {table}"))
        .await?
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect();
    let sink = tx
        .copy_in(&format!(
            "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
    for row in rows {
        writer.as_mut().write(&params(row)).await?;
    }
    Ok(writer.finish().await?)
}

/// `COPY`s the rows of `batch`; how many.
async fn copy_batch(
    tx: &deadpool_postgres::Transaction<'_>,
    batch: &Batch,
) -> Result<u64, BoxError> {
    Ok(copy_into(
        tx,
        sql::INSERT_NOMINATION,
        &batch.nominations,
        Row::insert_params,
    )
    .await?
        + copy_into(
            tx,
            sql::INSERT_EVENT,
            &batch.events,
            EventRow::insert_params,
        )
        .await?
        + copy_into(tx, sql::INSERT_LINKS, &batch.links, |(hash, id)| [hash, id]).await?
        + copy_into(
            tx,
            sql::INSERT_MESSAGE,
            &batch.outbox,
            MessageRow::insert_params,
        )
        .await?
        + copy_into(
            tx,
            sql::INSERT_KNOWN,
            &batch.known_customers,
            KnownCustomerRow::insert_params,
        )
        .await?
        + copy_into(
            tx,
            known::PUT_ROW,
            &batch.known_rows,
            KnownRow::insert_params,
        )
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copies_name_the_columns_of_the_adapters_inserts() {
        let (table, columns) = insert_columns(sql::INSERT_NOMINATION).unwrap();
        assert_eq!(table, "nominations");
        assert!(columns.starts_with("id, partner, engagement, customer, state,"));
        assert!(columns.ends_with("created_at, changed_at, state_after, reviewable, attention"));
        assert_eq!(
            insert_columns(sql::INSERT_LINKS).unwrap(),
            ("links", "hash, nomination")
        );
        assert_eq!(
            insert_columns(known::PUT_ROW)
                .unwrap()
                .1
                .split(", ")
                .count(),
            8
        );
        assert!(insert_columns("SELECT 1").is_err());
    }
}
