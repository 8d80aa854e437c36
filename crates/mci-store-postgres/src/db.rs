//! Statements through the connection's statement cache, and what a failed
//! transaction may do next.

use crate::error::{BackendError, is_retryable};
use deadpool_postgres::GenericClient;
use mci_store::StoreError;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// The parameters of a statement.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Why an operation's transaction failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// PostgreSQL refused a statement: a serialization failure or a
    /// deadlock may succeed when the transaction is started again.
    Postgres(tokio_postgres::Error),
    /// The store refuses the operation.
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Self {
        Failure::Postgres(error)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::Store(error)
    }
}

impl From<BackendError> for Failure {
    fn from(error: BackendError) -> Self {
        Failure::Store(error.into())
    }
}

impl Failure {
    /// Whether starting the transaction again may succeed.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(self, Failure::Postgres(error) if is_retryable(error))
    }

    /// The store error this is.
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            Failure::Postgres(error) => crate::error::postgres(error),
            Failure::Store(error) => error,
        }
    }
}

/// Every row `sql` answers.
pub(crate) async fn rows(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>, tokio_postgres::Error> {
    let statement = client.prepare_cached(sql).await?;
    client.query(&statement, params).await
}

/// The row `sql` answers, if any.
pub(crate) async fn opt(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>, tokio_postgres::Error> {
    let statement = client.prepare_cached(sql).await?;
    client.query_opt(&statement, params).await
}

/// The one row `sql` answers.
pub(crate) async fn one(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Row, tokio_postgres::Error> {
    let statement = client.prepare_cached(sql).await?;
    client.query_one(&statement, params).await
}

/// Runs `sql`; how many rows it wrote.
pub(crate) async fn exec(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, tokio_postgres::Error> {
    let statement = client.prepare_cached(sql).await?;
    client.execute(&statement, params).await
}
