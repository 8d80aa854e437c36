//! Connecting to a database, on a real throwaway PostgreSQL cluster: a new
//! database is migrated once, servers starting at once take turns, and a
//! database that is another application's, or newer, is refused with a
//! typed error and left as it was.
#![allow(clippy::unwrap_used, clippy::panic)]

use mci_pg_harness::Cluster;
use mci_store_postgres::schema::{MARK, MIGRATIONS, SCHEMA_VERSION};
use mci_store_postgres::tokio_postgres::{self, NoTls};
use mci_store_postgres::{ConnectError, Options, PostgresStore};
use std::sync::Arc;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// A plain connection to `url`, beside the store's.
async fn client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// The steps the database records: version, name, when.
async fn records(url: &str) -> Vec<(i32, String, String)> {
    client(url)
        .await
        .query(
            "SELECT version, name, applied_at::text FROM mci_schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// The relations of the public schema, with their kinds, and the columns
/// of its tables: what a refusal must leave as it was.
fn catalog(cluster: &Cluster, database: &str) -> String {
    cluster
        .psql(
            database,
            "SELECT c.relname::text || ':' || c.relkind::text || ':' || coalesce(
                        (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                         FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0), '')
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' ORDER BY c.relname",
        )
        .unwrap()
}

/// What each step is named, after the mark.
fn expected_steps() -> Vec<(i32, String)> {
    let mut steps = vec![(0, MARK.to_owned())];
    steps.extend(
        MIGRATIONS
            .iter()
            .map(|m| (i32::try_from(m.version).unwrap(), m.name.to_owned())),
    );
    steps
}

fn without_times(records: &[(i32, String, String)]) -> Vec<(i32, String)> {
    records.iter().map(|(v, n, _)| (*v, n.clone())).collect()
}

#[test]
fn a_new_database_is_migrated_once_and_reconnecting_changes_nothing() {
    let Some(cluster) = Cluster::start_or_skip("a_new_database_is_migrated_once") else {
        return;
    };
    cluster.create_database("mci").unwrap();
    let url = cluster.connection_string("mci");
    runtime().block_on(async {
        let store = PostgresStore::connect(url.as_str()).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
        assert_eq!(store.pool_size(), Options::default().pool_size);
        let first = records(&url).await;
        assert_eq!(without_times(&first), expected_steps());
        let tables = cluster
            .psql(
                "mci",
                "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'",
            )
            .unwrap();
        assert_eq!(
            tables,
            "claim_counts customer_locks events idempotency known_customers known_engagements \
             known_figures known_rows links mci_schema_migrations nominations outbox \
             payout_batches tab_counts"
        );
        let catalog_before = catalog(&cluster, "mci");
        drop(store);
        // Nothing is missing: no step runs, and not even the lock is taken.
        let again = PostgresStore::connect(url.clone()).await.unwrap();
        assert_eq!(again.schema_version().await.unwrap(), SCHEMA_VERSION);
        assert_eq!(records(&url).await, first);
        assert_eq!(catalog(&cluster, "mci"), catalog_before);
    });
}

#[test]
fn eight_servers_connecting_at_once_to_a_new_database_all_succeed_and_apply_each_step_once() {
    let Some(cluster) = Cluster::start_or_skip("eight_servers_connecting_at_once") else {
        return;
    };
    let rt = runtime();
    for round in 0..4 {
        let database = format!("race{round}");
        cluster.create_database(&database).unwrap();
        let url = cluster.connection_string(&database);
        rt.block_on(async {
            let start = Arc::new(tokio::sync::Barrier::new(8));
            let servers: Vec<_> = (0..8)
                .map(|_| {
                    let (url, start) = (url.clone(), start.clone());
                    tokio::spawn(async move {
                        // Each server has its own pool, as on its own machine.
                        start.wait().await;
                        PostgresStore::connect(url.as_str()).await
                    })
                })
                .collect();
            for server in servers {
                let store = server.await.unwrap().unwrap();
                assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
            }
            assert_eq!(without_times(&records(&url).await), expected_steps());
        });
    }
}

#[test]
fn a_database_at_version_1_is_brought_to_the_latest_keeping_its_rows() {
    let Some(cluster) = Cluster::start_or_skip("a_database_at_version_1") else {
        return;
    };
    cluster.create_database("old").unwrap();
    cluster
        .psql(
            "old",
            &format!(
                "CREATE TABLE mci_schema_migrations (
                     version integer PRIMARY KEY CHECK (version >= 0),
                     name text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now());
                 INSERT INTO mci_schema_migrations (version, name) VALUES (0, '{MARK}');
                 {}
                 INSERT INTO mci_schema_migrations (version, name) VALUES (1, '{}');
                 INSERT INTO payout_batches (id, doc) VALUES ('0190a000-0000-7000-8000-000000000001', '{{}}');",
                MIGRATIONS[0].sql, MIGRATIONS[0].name
            ),
        )
        .unwrap();
    let url = cluster.connection_string("old");
    runtime().block_on(async {
        let before = records(&url).await;
        let store = PostgresStore::connect(url.as_str()).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
        let after = records(&url).await;
        assert_eq!(without_times(&after), expected_steps());
        // Step 1 was not applied again.
        assert_eq!(after[1], before[1]);
    });
    assert_eq!(
        cluster
            .psql("old", "SELECT count(*) FROM payout_batches")
            .unwrap(),
        "1"
    );
    assert_eq!(
        cluster
            .psql(
                "old",
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'nominations_one_completed_consent'"
            )
            .unwrap(),
        "1"
    );
}

#[test]
fn a_failing_step_is_rolled_back_and_the_database_stays_at_the_version_before() {
    let Some(cluster) = Cluster::start_or_skip("a_failing_step_is_rolled_back") else {
        return;
    };
    cluster.create_database("mci").unwrap();
    let url = cluster.connection_string("mci");
    runtime().block_on(async {
        drop(PostgresStore::connect(url.as_str()).await.unwrap());
    });
    // Back to the version before the step that adds `asking` and
    // `customer_locks`, with an object in the way of the step's table,
    // after its column would have been added.
    let last = 5;
    cluster
        .psql(
            "mci",
            &format!(
                "ALTER TABLE nominations DROP COLUMN asking;
                 DROP TABLE customer_locks;
                 DELETE FROM known_engagements WHERE engagement = '';
                 DELETE FROM mci_schema_migrations WHERE version >= {last};
                 CREATE VIEW customer_locks AS SELECT 1 AS x;"
            ),
        )
        .unwrap();
    runtime().block_on(async {
        let error = PostgresStore::connect(url.as_str()).await.unwrap_err();
        assert!(
            matches!(error, ConnectError::Migration { version, .. } if version == last),
            "{error:?}"
        );
        assert_eq!(
            without_times(&records(&url).await),
            expected_steps()[..last as usize].to_vec()
        );
    });
    assert_eq!(
        cluster
            .psql(
                "mci",
                "SELECT count(*) FROM information_schema.columns \
                 WHERE table_name = 'nominations' AND column_name = 'asking'"
            )
            .unwrap(),
        "0",
        "a column added before the failure stayed"
    );
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let Some(cluster) = Cluster::start_or_skip("a_newer_schema_is_refused_untouched") else {
        return;
    };
    cluster.create_database("mci").unwrap();
    let url = cluster.connection_string("mci");
    runtime().block_on(async {
        drop(PostgresStore::connect(url.as_str()).await.unwrap());
    });
    let newer = SCHEMA_VERSION + 1;
    cluster
        .psql(
            "mci",
            &format!(
                "INSERT INTO mci_schema_migrations (version, name) VALUES ({newer}, 'from the future')"
            ),
        )
        .unwrap();
    let catalog_before = catalog(&cluster, "mci");
    runtime().block_on(async {
        let before = records(&url).await;
        let error = PostgresStore::connect(url.as_str()).await.unwrap_err();
        assert!(
            matches!(
                &error,
                ConnectError::NewerSchema { database, schema, found, supported }
                    if *database == cluster.name_of("mci") && schema == "public" && *found == newer && *supported == SCHEMA_VERSION
            ),
            "{error:?}"
        );
        assert_eq!(records(&url).await, before);
    });
    assert_eq!(catalog(&cluster, "mci"), catalog_before);
}

#[test]
fn another_applications_database_is_refused_untouched() {
    let Some(cluster) = Cluster::start_or_skip("another_applications_database_is_refused") else {
        return;
    };
    let foreign = [
        // Tables, and no migrations table.
        ("shop", "CREATE TABLE customers (id int PRIMARY KEY, name text)"),
        // A migrations table of the same name, with other columns.
        (
            "migrator",
            "CREATE TABLE mci_schema_migrations (id serial PRIMARY KEY, script text)",
        ),
        // The same columns, without the mark.
        (
            "unmarked",
            "CREATE TABLE mci_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
             INSERT INTO mci_schema_migrations (version, name) VALUES (1, 'init')",
        ),
        // Only a sequence.
        ("counter", "CREATE SEQUENCE tickets"),
    ];
    let rt = runtime();
    for (database, sql) in foreign {
        cluster.create_database(database).unwrap();
        cluster.psql(database, sql).unwrap();
        let before = catalog(&cluster, database);
        let url = cluster.connection_string(database);
        let error = rt
            .block_on(PostgresStore::connect(url.as_str()))
            .unwrap_err();
        assert!(
            matches!(&error, ConnectError::ForeignDatabase { database: d, schema, .. } if *d == cluster.name_of(database) && schema == "public"),
            "{database}: {error:?}"
        );
        assert_eq!(catalog(&cluster, database), before, "{database} changed");
    }
}

#[test]
fn a_store_takes_a_schema_of_its_own_beside_another_application() {
    let Some(cluster) = Cluster::start_or_skip("a_store_takes_a_schema_of_its_own") else {
        return;
    };
    cluster.create_database("shared").unwrap();
    cluster
        .psql(
            "shared",
            "CREATE TABLE customers (id int PRIMARY KEY); CREATE SCHEMA mci;",
        )
        .unwrap();
    let mut config: tokio_postgres::Config = cluster.connection_string("shared").parse().unwrap();
    config.options("-c search_path=mci");
    runtime().block_on(async {
        let store = PostgresStore::connect(&config).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    });
    assert_eq!(
        cluster
            .psql(
                "shared",
                "SELECT string_agg(schemaname, ' ' ORDER BY schemaname) FROM pg_tables WHERE tablename IN ('customers', 'nominations')"
            )
            .unwrap(),
        "mci public"
    );
    // A search_path naming no schema that exists leaves nowhere to go.
    config.options("-c search_path=nowhere");
    let error = runtime()
        .block_on(PostgresStore::connect(&config))
        .unwrap_err();
    assert!(
        matches!(&error, ConnectError::NoSchema { search_path, .. } if search_path == "nowhere"),
        "{error:?}"
    );
}

#[test]
fn a_server_that_does_not_answer_is_unreachable_and_a_bad_string_does_not_parse() {
    let Some(cluster) = Cluster::start_or_skip("a_server_that_does_not_answer") else {
        return;
    };
    let rt = runtime();
    let error = rt
        .block_on(PostgresStore::connect(
            cluster.connection_string("no_such_database"),
        ))
        .unwrap_err();
    assert!(matches!(error, ConnectError::Unreachable(_)), "{error:?}");
    let error = rt
        .block_on(PostgresStore::connect("port=not-a-number"))
        .unwrap_err();
    assert!(matches!(error, ConnectError::Config(_)), "{error:?}");
    let error = rt
        .block_on(PostgresStore::connect_with(
            cluster.connection_string("postgres"),
            Options {
                pool_size: 0,
                ..Options::default()
            },
        ))
        .unwrap_err();
    assert!(matches!(error, ConnectError::Options(_)), "{error:?}");
}
