//! The schema, its versioned migrations, and how a database is opened.
//!
//! The schema is a list of steps ([`MIGRATIONS`]). The store's tables live
//! in the connection's current schema (the first schema of its
//! `search_path` that exists, `public` by default), beside the table
//! [`MIGRATIONS_TABLE`], which records each step applied (its version, name
//! and when) and holds the store's mark: a row of version 0 named [`MARK`].
//! That row is also the lock: a server applies a step only inside a
//! transaction that has updated it, so servers starting at once take turns.
//! No advisory lock is used (CockroachDB has none); a row lock is what every
//! engine that speaks PostgreSQL's SQL provides.
//!
//! Connecting to a database:
//!
//! 1. reads the current schema and the relations in it, and, if the
//!    migrations table is there, what it records; refuses, without writing anything, a schema that holds
//!    tables but no migrations table, or a migrations table without the
//!    mark ([`ConnectError::ForeignDatabase`]), or one that records a step
//!    newer than [`SCHEMA_VERSION`] ([`ConnectError::NewerSchema`]);
//! 2. in an empty schema, creates the migrations table with its mark, in
//!    one transaction; when another server does so at the same moment, one
//!    of them fails on the catalog's unique index and starts again at 1,
//!    finding the table made;
//! 3. while a step is missing: in a READ COMMITTED transaction, updates the
//!    mark (waiting for any other server holding it), reads again what is
//!    recorded, applies the next step and records it, and commits. PostgreSQL
//!    changes the schema inside transactions, so a step is applied whole or
//!    not at all, and recorded once. A serialization failure or a deadlock
//!    (SQLSTATE 40001, 40P01, as an engine running every transaction
//!    SERIALIZABLE answers) starts the transaction again.
//!
//! ```
//! use mci_store_postgres::schema::{MIGRATIONS, SCHEMA_VERSION};
//!
//! assert_eq!(MIGRATIONS.len() as u32, SCHEMA_VERSION);
//! assert!(MIGRATIONS.iter().enumerate().all(|(i, m)| m.version == i as u32 + 1));
//! ```

use crate::error::ConnectError;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::{GenericClient, IsolationLevel};

/// One step of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The schema version the step reaches.
    pub version: u32,
    /// What the step does.
    pub name: &'static str,
    /// Its SQL.
    pub sql: &'static str,
}

/// The steps of the schema, in order: step `n` takes a database from
/// version `n - 1` to `n`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "tables",
        sql: include_str!("migrations/0001_tables.sql"),
    },
    Migration {
        version: 2,
        name: "indexes and the consent constraint",
        sql: include_str!("migrations/0002_indexes.sql"),
    },
    Migration {
        version: 3,
        name: "the counts of the tabs",
        sql: include_str!("migrations/0003_tab_counts.sql"),
    },
    Migration {
        version: 4,
        name: "the known rows of the pages",
        sql: include_str!("migrations/0004_known_rows.sql"),
    },
    Migration {
        version: 5,
        name: "the asking standing and the customer locks",
        sql: include_str!("migrations/0005_asking_and_customer_locks.sql"),
    },
    Migration {
        version: 6,
        name: "every history a hash chain",
        sql: include_str!("migrations/0006_chained_histories.sql"),
    },
    Migration {
        version: 7,
        name: "the settings of the embedding application",
        sql: include_str!("migrations/0007_settings.sql"),
    },
    Migration {
        version: 8,
        name: "the Claims page",
        sql: include_str!("migrations/0008_claims_page.sql"),
    },
    Migration {
        version: 9,
        name: "the Attention required list",
        sql: include_str!("migrations/0009_attention.sql"),
    },
];

/// The step that keeps the Attention required list's class beside each
/// nomination (R-LIST-3): [`fill_attention_column`] fills it from the
/// documents in the same transaction.
const ATTENTION: u32 = 9;

/// The step that keeps the Claims page's values beside each nomination
/// (R-LIST-1): [`fill_claims_columns`] fills them from the documents in the
/// same transaction.
const CLAIMS_PAGE: u32 = 8;

/// The step that chains every history (R-LIST-4): its SQL changes nothing,
/// [`chain_histories`] rewrites the documents in the same transaction.
const CHAINED: u32 = 6;

/// The schema version this crate writes: the last step of [`MIGRATIONS`].
pub const SCHEMA_VERSION: u32 = 9;

/// The table recording the steps applied, and holding the mark and the lock.
pub const MIGRATIONS_TABLE: &str = "mci_schema_migrations";

/// The name of the row of version 0 in [`MIGRATIONS_TABLE`] that marks a
/// schema as this store's.
pub const MARK: &str = "mci-store-postgres";

/// How many times a transaction of the migrations is started again after a
/// serialization failure, a deadlock, or a race to create the table.
const TRIES: u32 = 32;

/// What the database looked like, read in one statement.
#[derive(Debug)]
struct Found {
    database: String,
    search_path: String,
    schema: Option<String>,
    /// A few of the relations of the schema, by name.
    relations: Vec<String>,
    has_migrations_table: bool,
}

/// Reads what [`Found`] holds.
async fn inspect(client: &impl GenericClient) -> Result<Found, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT current_database()::text,
                    current_setting('search_path'),
                    current_schema()::text,
                    ARRAY(SELECT c.relname::text
                          FROM pg_catalog.pg_class c
                          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                          WHERE n.nspname = current_schema()
                            AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                          ORDER BY c.relname
                          LIMIT 5),
                    EXISTS (SELECT 1
                            FROM pg_catalog.pg_class c
                            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                            WHERE n.nspname = current_schema()
                              AND c.relname = $1)",
            &[&MIGRATIONS_TABLE],
        )
        .await?;
    Ok(Found {
        database: row.try_get(0)?,
        search_path: row.try_get(1)?,
        schema: row.try_get(2)?,
        relations: row.try_get(3)?,
        has_migrations_table: row.try_get(4)?,
    })
}

/// The steps recorded in the migrations table, with the mark; `None` when
/// the table does not have this store's columns.
async fn recorded(
    client: &impl GenericClient,
) -> Result<Option<Vec<(i64, String)>>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT version::bigint, name::text FROM mci_schema_migrations ORDER BY version",
            &[],
        )
        .await;
    match rows {
        Ok(rows) => rows
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, _>>()
            .map(Some),
        Err(error)
            if matches!(
                error.code(),
                Some(&SqlState::UNDEFINED_COLUMN)
                    | Some(&SqlState::CANNOT_COERCE)
                    | Some(&SqlState::DATATYPE_MISMATCH)
            ) =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Where a database stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// An empty schema: the store may take it.
    Empty,
    /// This store's, at this schema version.
    At(u32),
}

impl Found {
    fn schema(&self) -> Result<&str, ConnectError> {
        self.schema
            .as_deref()
            .ok_or_else(|| ConnectError::NoSchema {
                database: self.database.clone(),
                search_path: self.search_path.clone(),
            })
    }

    fn foreign(&self, detail: String) -> ConnectError {
        ConnectError::ForeignDatabase {
            database: self.database.clone(),
            schema: self.schema.clone().unwrap_or_default(),
            detail,
        }
    }

    /// Where the database stands, given what its migrations table records
    /// (`None` when it has no such table, or not this store's columns).
    fn standing(&self, records: Option<&[(i64, String)]>) -> Result<Standing, ConnectError> {
        self.schema()?;
        if !self.has_migrations_table {
            if self.relations.is_empty() {
                return Ok(Standing::Empty);
            }
            return Err(self.foreign(format!(
                "it holds {} and no {MIGRATIONS_TABLE}",
                self.relations.join(", ")
            )));
        }
        self.recorded_version(records).map(Standing::At)
    }

    /// The schema version the migrations table records (`None` when it
    /// does not have this store's columns), refusing a table without the
    /// mark and a version newer than this crate's.
    fn recorded_version(&self, records: Option<&[(i64, String)]>) -> Result<u32, ConnectError> {
        let schema = self.schema()?;
        let Some(records) = records else {
            return Err(self.foreign(format!(
                "its {MIGRATIONS_TABLE} is not this store's: other columns"
            )));
        };
        if !records.iter().any(|(v, name)| *v == 0 && name == MARK) {
            return Err(self.foreign(format!(
                "its {MIGRATIONS_TABLE} has no row of version 0 named {MARK}"
            )));
        }
        let found = records.iter().map(|(v, _)| *v).max().unwrap_or(0);
        if found > i64::from(SCHEMA_VERSION) {
            return Err(ConnectError::NewerSchema {
                database: self.database.clone(),
                schema: schema.to_owned(),
                found: u32::try_from(found).unwrap_or(u32::MAX),
                supported: SCHEMA_VERSION,
            });
        }
        // At most SCHEMA_VERSION, so it fits.
        Ok(u32::try_from(found).unwrap_or(0))
    }
}

/// Whether starting a transaction again may succeed: a serialization
/// failure or a deadlock.
fn retryable(error: &tokio_postgres::Error) -> bool {
    matches!(
        error.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
    )
}

/// Whether creating the migrations table may succeed if started again: as
/// [`retryable`], or another server created it meanwhile: PostgreSQL
/// answers a `CREATE TABLE IF NOT EXISTS` racing another with a unique
/// violation of its catalog, or with the table's row type already there.
fn lost_race_to_create(error: &tokio_postgres::Error) -> bool {
    retryable(error)
        || matches!(
            error.code(),
            Some(&SqlState::UNIQUE_VIOLATION)
                | Some(&SqlState::DUPLICATE_TABLE)
                | Some(&SqlState::DUPLICATE_OBJECT)
        )
}

/// A short pause before trying again, longer after each try.
pub(crate) async fn pause(tries: u32) {
    let millis = 2u64.saturating_pow(tries.min(7));
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// What one transaction of the migrations did.
enum Step {
    /// Nothing is missing.
    Done,
    /// It applied a step; look again.
    Applied,
}

/// Brings the database the client is connected to to [`SCHEMA_VERSION`],
/// as the module documentation says, and answers the schema version it
/// was at (0 for an empty schema).
pub(crate) async fn migrate(client: &mut tokio_postgres::Client) -> Result<u32, ConnectError> {
    let mut tries = 0;
    // 1 and 2: see what is there; create the migrations table if nothing.
    let (found, from) = loop {
        let found = inspect(client).await?;
        let records = if found.has_migrations_table {
            recorded(client).await?
        } else {
            None
        };
        match found.standing(records.as_deref())? {
            Standing::At(version) => break (found, version),
            Standing::Empty => match create_migrations_table(client).await {
                Ok(()) => break (found, 0),
                Err(error) if lost_race_to_create(&error) && tries < TRIES => {
                    tries += 1;
                    pause(tries).await;
                }
                Err(error) => return Err(error.into()),
            },
        }
    };
    if from == SCHEMA_VERSION {
        return Ok(from);
    }
    // 3: the missing steps, one transaction each, under the lock.
    let mut tries = 0;
    loop {
        match apply_next(client, &found).await {
            Ok(Step::Done) => return Ok(from),
            Ok(Step::Applied) => {}
            Err(Failure::Retry(_)) if tries < TRIES => {
                tries += 1;
                pause(tries).await;
            }
            Err(Failure::Retry(error)) => return Err(error.into()),
            Err(Failure::Refused(error)) => return Err(error),
        }
    }
}

/// Creates the migrations table with the mark, in one transaction.
async fn create_migrations_table(
    client: &mut tokio_postgres::Client,
) -> Result<(), tokio_postgres::Error> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS mci_schema_migrations (
             version    integer     PRIMARY KEY CHECK (version >= 0),
             name       text        NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    tx.execute(
        "INSERT INTO mci_schema_migrations (version, name) VALUES (0, $1)
         ON CONFLICT (version) DO NOTHING",
        &[&MARK],
    )
    .await?;
    tx.commit().await
}

/// Why a transaction of the migrations failed.
enum Failure {
    /// It may succeed if started again.
    Retry(tokio_postgres::Error),
    /// It cannot.
    Refused(ConnectError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Self {
        if retryable(&error) {
            Failure::Retry(error)
        } else {
            Failure::Refused(error.into())
        }
    }
}

/// Takes the lock, and applies and records the next missing step, if any.
async fn apply_next(client: &mut tokio_postgres::Client, found: &Found) -> Result<Step, Failure> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await?;
    // The lock: held until the transaction ends. An engine that runs this
    // transaction SERIALIZABLE answers a concurrent update with 40001.
    let locked = tx
        .execute(
            "UPDATE mci_schema_migrations SET applied_at = now()
             WHERE version = 0 AND name = $1",
            &[&MARK],
        )
        .await?;
    if locked == 0 {
        return Err(Failure::Refused(found.foreign(format!(
            "its {MIGRATIONS_TABLE} lost the row of version 0 named {MARK}"
        ))));
    }
    // Read after the lock, so what the server before recorded is seen.
    let records = recorded(&tx).await?;
    let at = found
        .recorded_version(records.as_deref())
        .map_err(Failure::Refused)?;
    let Some(step) = MIGRATIONS.iter().find(|m| m.version == at + 1) else {
        // Nothing missing: give the lock back, having written nothing.
        tx.rollback().await?;
        return Ok(Step::Done);
    };
    let failed = |error: tokio_postgres::Error| {
        if retryable(&error) {
            Failure::Retry(error)
        } else {
            Failure::Refused(ConnectError::Migration {
                version: step.version,
                source: error,
            })
        }
    };
    tx.batch_execute(step.sql).await.map_err(failed)?;
    if step.version == CHAINED {
        chain_histories(&tx).await.map_err(failed)?;
    }
    if step.version == CLAIMS_PAGE {
        fill_claims_columns(&tx).await.map_err(failed)?;
    }
    if step.version == ATTENTION {
        fill_attention_column(&tx).await.map_err(failed)?;
    }
    let version = i32::try_from(step.version).unwrap_or(i32::MAX);
    tx.execute(
        "INSERT INTO mci_schema_migrations (version, name) VALUES ($1, $2)",
        &[&version, &step.name],
    )
    .await
    .map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(Step::Applied)
}

/// Chains the history of every nomination written before histories were
/// chained (R-LIST-4): each event document gains `previous` and `hash`, each
/// nomination document `last_hash`. One nomination at a time, so memory
/// stays bounded whatever the database holds. A history with a document
/// that does not read back is left as it is: reading it already fails as
/// unreadable (R-TIME-4), and an operator restores it.
async fn chain_histories(
    tx: &tokio_postgres::Transaction<'_>,
) -> Result<(), tokio_postgres::Error> {
    let ids: Vec<uuid::Uuid> = tx
        .query("SELECT id FROM nominations ORDER BY id", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let events = tx
        .prepare("SELECT doc FROM events WHERE nomination = $1 ORDER BY version")
        .await?;
    let update_event = tx
        .prepare("UPDATE events SET doc = $3 WHERE nomination = $1 AND version = $2")
        .await?;
    let nomination = tx
        .prepare("SELECT doc FROM nominations WHERE id = $1")
        .await?;
    let update_nomination = tx
        .prepare("UPDATE nominations SET doc = $2 WHERE id = $1")
        .await?;
    for id in ids {
        let docs: Vec<String> = tx
            .query(&events, &[&id])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let Some(chained) = mci_core::chain_stored_history(&docs) else {
            continue;
        };
        let doc: String = tx.query_one(&nomination, &[&id]).await?.get(0);
        let Some(doc) = chained
            .last()
            .and_then(|last| mci_core::with_last_hash(&doc, last))
        else {
            continue;
        };
        for event in &chained {
            let Ok(json) = serde_json::to_string(event) else {
                continue;
            };
            let version = i64::try_from(event.version).unwrap_or(i64::MAX);
            tx.execute(&update_event, &[&id, &version, &json]).await?;
        }
        tx.execute(&update_nomination, &[&id, &doc]).await?;
    }
    Ok(())
}

/// Fills the Claims page's columns of every nomination written before the
/// store kept them (R-LIST-1), from its document, with the values the core
/// derives ([`mci_core::Nomination::claims_placement`]). One row at a time,
/// so memory stays bounded whatever the database holds. A row whose
/// document does not read back keeps the defaults: reading it already fails
/// as unreadable, and a page passes it over.
async fn fill_claims_columns(
    tx: &tokio_postgres::Transaction<'_>,
) -> Result<(), tokio_postgres::Error> {
    let ids: Vec<uuid::Uuid> = tx
        .query("SELECT id FROM nominations ORDER BY id", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let read = tx
        .prepare("SELECT doc FROM nominations WHERE id = $1")
        .await?;
    let update = tx
        .prepare(
            "UPDATE nominations SET created_at = $2, changed_at = $3, state_after = $4, \
             reviewable = $5 WHERE id = $1",
        )
        .await?;
    for id in ids {
        let doc: String = tx.query_one(&read, &[&id]).await?.get(0);
        let Ok(nomination) = serde_json::from_str::<mci_core::Nomination>(&doc) else {
            continue;
        };
        let placement = nomination.claims_placement();
        let Ok(state_after) = placement
            .state_after_lapse
            .map(crate::columns::state)
            .transpose()
        else {
            continue;
        };
        tx.execute(
            &update,
            &[
                &id,
                &crate::columns::instant(placement.created_at),
                &crate::columns::instant(placement.changed_at),
                &state_after,
                &placement.reviewable,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Fills the Attention required list's class of every nomination written
/// before the store kept it (R-LIST-3), from its document, with the class
/// the core derives ([`mci_core::Nomination::attention_placement`]). One
/// row at a time, so memory stays bounded whatever the database holds;
/// only the rows of a class are written. A row whose document does not
/// read back keeps none: reading it already fails as unreadable.
async fn fill_attention_column(
    tx: &tokio_postgres::Transaction<'_>,
) -> Result<(), tokio_postgres::Error> {
    let ids: Vec<uuid::Uuid> = tx
        .query("SELECT id FROM nominations ORDER BY id", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let read = tx
        .prepare("SELECT doc FROM nominations WHERE id = $1")
        .await?;
    let update = tx
        .prepare("UPDATE nominations SET attention = $2 WHERE id = $1")
        .await?;
    for id in ids {
        let doc: String = tx.query_one(&read, &[&id]).await?.get(0);
        let Ok(nomination) = serde_json::from_str::<mci_core::Nomination>(&doc) else {
            continue;
        };
        if let Some(class) = crate::columns::attention(&nomination.attention_placement()) {
            tx.execute(&update, &[&id, &class]).await?;
        }
    }
    Ok(())
}

/// The schema version the database records.
pub(crate) async fn version(client: &impl GenericClient) -> Result<u32, ConnectError> {
    let row = client
        .query_one(
            "SELECT max(version)::bigint FROM mci_schema_migrations",
            &[],
        )
        .await?;
    let found: Option<i64> = row.try_get(0)?;
    Ok(found.and_then(|v| u32::try_from(v).ok()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(relations: &[&str], has_migrations_table: bool) -> Found {
        Found {
            database: "mci".into(),
            search_path: "\"$user\", public".into(),
            schema: Some("public".into()),
            relations: relations.iter().map(|r| r.to_string()).collect(),
            has_migrations_table,
        }
    }

    fn marked(versions: &[i64]) -> Vec<(i64, String)> {
        let mut records = vec![(0, MARK.to_owned())];
        records.extend(versions.iter().map(|v| (*v, format!("step {v}"))));
        records
    }

    #[test]
    fn the_last_step_is_the_schema_version() {
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }

    #[test]
    fn an_empty_schema_is_taken_and_a_marked_one_is_at_its_last_step() {
        assert_eq!(found(&[], false).standing(None).unwrap(), Standing::Empty);
        let records = marked(&[1]);
        assert_eq!(
            found(&["mci_schema_migrations"], true)
                .standing(Some(&records))
                .unwrap(),
            Standing::At(1)
        );
    }

    #[test]
    fn tables_without_the_migrations_table_are_foreign() {
        let error = found(&["customers", "orders"], false)
            .standing(None)
            .unwrap_err();
        assert!(
            matches!(&error, ConnectError::ForeignDatabase { detail, .. } if detail.contains("customers, orders")),
            "{error:?}"
        );
    }

    #[test]
    fn a_migrations_table_without_the_mark_or_with_other_columns_is_foreign() {
        let unmarked = vec![(1, "init".to_owned())];
        let found = found(&["mci_schema_migrations"], true);
        assert!(matches!(
            found.standing(Some(&unmarked)),
            Err(ConnectError::ForeignDatabase { .. })
        ));
        assert!(matches!(
            found.standing(None),
            Err(ConnectError::ForeignDatabase { .. })
        ));
    }

    #[test]
    fn a_step_past_the_schema_version_is_a_newer_schema() {
        let newer: Vec<i64> = (1..=i64::from(SCHEMA_VERSION) + 1).collect();
        let records = marked(&newer);
        let error = found(&["mci_schema_migrations"], true)
            .standing(Some(&records))
            .unwrap_err();
        assert!(matches!(
            error,
            ConnectError::NewerSchema {
                found,
                supported: SCHEMA_VERSION,
                ..
            } if found == SCHEMA_VERSION + 1
        ));
    }

    #[test]
    fn no_schema_on_the_search_path_is_refused() {
        let mut nowhere = found(&[], false);
        nowhere.schema = None;
        assert!(matches!(
            nowhere.standing(None),
            Err(ConnectError::NoSchema { .. })
        ));
    }
}
