//! `EXPLAIN (FORMAT JSON)` of every statement the store runs that finds
//! rows, on a real server, with tables of tens of thousands of rows and
//! their statistics (R-PAGE-1, R-PAGE-7, R-PAGE-9, R-TIME-4): PostgreSQL
//! plans small tables with sequential scans, so an empty schema proves
//! nothing, and it plans a walk in id order from the statistics of each
//! column alone, so the rows are correlated as a service's are (ids that
//! grow with time, the old nominations ended, the recent ones live).
//!
//! Each statement is prepared (`PREPARE`), as the store's are, and
//! explained twice: with the plan made for representative values
//! (`plan_cache_mode = force_custom_plan`) and with the generic plan
//! PostgreSQL may switch a prepared statement to after its fifth run
//! (`force_generic_plan`), which knows no value, not even the `LIMIT`. In
//! both, every read of a store table walks the index named for it and no
//! other, no store table is read with a `Seq Scan`, and nothing is sorted
//! but the arm of a tab's page that lapsed into it (which the sweep keeps
//! to a few rows), the events of one nomination, and the messages
//! available at once.

use crate::commit::{
    BATCH_EXISTS, DELETE_LINKS, GUARD_COUNTS, KEY_USED, STORED, UPDATE_NOMINATION,
};
use crate::known::{
    CHANGED, FIGURES, KNOWN_AFTER, KNOWN_THROUGH, LOCK_REGISTRY, MOVE_FIGURES, OLDEST_KEPT,
    PAGE_KEPT, PROGRESS, ROW, ROWS_OF_CUSTOMER, SAVE_PROGRESS, SHARE_REGISTRY, STANDINGS, TO_CHECK,
};
use crate::outbox::{ACKNOWLEDGE, PENDING, TAKE};
use crate::queries::*;
use crate::setting::{PUT_EQUALS, SETTING};
use mci_pg_harness::Cluster;
use serde_json::Value;
use std::collections::BTreeSet;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// The tables of the store: none may be read with a `Seq Scan`.
const TABLES: [&str; 13] = [
    "nominations",
    "events",
    "links",
    "outbox",
    "known_customers",
    "idempotency",
    "payout_batches",
    "tab_counts",
    "known_rows",
    "known_figures",
    "known_engagements",
    "customer_locks",
    "settings",
];

/// A statement to explain: its name, its SQL, the values to run it with
/// (SQL expressions, as `EXECUTE` takes them), the indexes its plan must
/// read, those it may read besides, and where it may sort.
#[derive(Debug, Clone, Copy)]
struct Case {
    name: &'static str,
    sql: &'static str,
    values: &'static str,
    indexes: &'static [&'static str],
    also: &'static [&'static str],
    sorts: Sorts,
}

/// Where a plan may sort.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sorts {
    /// Nowhere: the indexes give the order.
    None,
    /// Only under the `Limit` of the arm of a page that lapsed into the
    /// tab, over a walk of one of the lapse indexes: the lapses the sweep
    /// has not written yet, which it keeps few.
    LapsedArm,
    /// Over index walks bounded by the statement's values: the events of
    /// one nomination, or the messages available at `now` (when PostgreSQL
    /// estimates them few enough to sort rather than walk in order).
    Bounded,
}

/// A statement whose plan reads `indexes`, and sorts nothing.
const fn case(
    name: &'static str,
    sql: &'static str,
    values: &'static str,
    indexes: &'static [&'static str],
) -> Case {
    Case {
        name,
        sql,
        values,
        indexes,
        also: &[],
        sorts: Sorts::None,
    }
}

impl Case {
    /// The case, its plan allowed to read `also` besides.
    const fn also(self, also: &'static [&'static str]) -> Case {
        Case { also, ..self }
    }

    /// The case, its plan allowed to sort as `sorts` says.
    const fn sorting(self, sorts: Sorts) -> Case {
        Case { sorts, ..self }
    }
}

/// Every statement that finds rows, but the list of engagements known rows
/// are kept for, which reads the few engagements the service serves.
const CASES: &[Case] = &[
    case("page", PAGE, "'p3', 'e1', 1, '00000000-0000-0000-0000-000000000000', 1000000000000, 50", &["nominations_tab"])
        .also(&["nominations_lapse_into", "nominations_lapse"])
        .sorting(Sorts::LapsedArm),
    case("page after a cursor", PAGE, "'p3', 'e1', 3, '00000000-0000-0000-0000-000000004e20', 1000000000000, 50", &["nominations_tab"])
        .also(&["nominations_lapse_into", "nominations_lapse"])
        .sorting(Sorts::LapsedArm),
    case("kept counts", KEPT_COUNTS, "'p3', 'e1'", &["tab_counts_pkey"]),
    case("unswept lapses", UNSWEPT_LAPSES, "'p3', 'e1', 1000000000000", &["nominations_lapse"]),
    case("due", DUE, "1000000000000, 50", &["nominations_due"]),
    case("due after a cursor", DUE_AFTER, "1000000000000, 50, 999999999000, '00000000-0000-0000-0000-000000000003'", &["nominations_due"]),
    case("by id", BY_ID, "'00000000-0000-0000-0000-000000000007'", &["nominations_pkey"]),
    case("by id of partner", BY_ID_OF_PARTNER, "'00000000-0000-0000-0000-000000000007', 'p7'", &["nominations_pkey"]),
    case("version of", VERSION_OF, "'00000000-0000-0000-0000-000000000007'", &["nominations_pkey"]),
    case("by link", BY_LINK, "sha256('l40008'::bytea)", &["links_pkey", "nominations_pkey"]),
    case("of customer", OF_CUSTOMER, "'e1', 'tpid:7'", &["nominations_customer"]),
    case("known customers", KNOWN, "'p3', '\\x'::bytea, 50", &["known_customers_pkey", "nominations_pkey"]),
    case("known customers after a cursor", KNOWN, "'p3', '\\x01000000000000ff'::bytea, 50", &["known_customers_pkey", "nominations_pkey"]),
    case("in state", IN_STATE, "'consented', '00000000-0000-0000-0000-000000000000', 1000000000000, 50", &["nominations_state"]),
    case("in state, an old one", IN_STATE, "'paid', '00000000-0000-0000-0000-000000000000', 1000000000000, 50", &["nominations_state"]),
    case("in state of partner", IN_STATE_OF_PARTNER, "'consented', '00000000-0000-0000-0000-000000000000', 1000000000000, 50, 'p3'", &["nominations_partner_state"]),
    case("lapsing", LAPSING, "'p3', 1000000000000, 1604800000000, 50", &["nominations_lapsing"]),
    case("history", HISTORY, "'00000000-0000-0000-0000-000000000007'", &["events_pkey"])
        .sorting(Sorts::Bounded),
    case("idempotent result", IDEMPOTENT_RESULT, "'scope3', 'key7'", &["idempotency_pkey"]),
    case("payout batch", PAYOUT_BATCH, "'00000000-0000-0000-0002-000000000007'", &["payout_batches_pkey"]),
    case("payout batches", PAYOUT_BATCHES, "'00000000-0000-0000-0000-000000000000', 50", &["payout_batches_pkey"]),
    case("payout batches after a cursor", PAYOUT_BATCHES, "'00000000-0000-0000-0002-000000000fff', 50", &["payout_batches_pkey"]),
    case("setting", SETTING, "'app.setting-7'", &["settings_pkey"]),
    case("setting compared and set", PUT_EQUALS, "'app.setting-7', 'b', 'a'", &["settings_pkey"]),
    case("outbox take", TAKE, "1000000000000, 1000000060000, 50", &["outbox_pending", "outbox_pkey"])
        .sorting(Sorts::Bounded),
    case("outbox pending", PENDING, "", &["outbox_pending"]),
    case("outbox acknowledge", ACKNOWLEDGE, "ARRAY['00000000-0000-0000-0001-000000000007', '00000000-0000-0000-0001-000000000008']::uuid[]", &["outbox_id_key"])
        .also(&["outbox_pending"]),
    case("stored rows", STORED, "ARRAY['00000000-0000-0000-0000-000000000007', '00000000-0000-0000-0000-000000000008']::uuid[]", &["nominations_pkey"]),
    case("guard counts", GUARD_COUNTS, "'e1', 'tpid:7', '00000000-0000-0000-0000-000000000007', 1000000000000, 'p7'", &["nominations_customer"]),
    case("update of a nomination", UPDATE_NOMINATION, "'00000000-0000-0000-0000-000000000007', 'consented', 2, 1, NULL, NULL, NULL, true, true, false, false, NULL, '{}', 1, 0, NULL, false, 2", &["nominations_pkey"]),
    case("links replaced", DELETE_LINKS, "'00000000-0000-0000-0000-000000000008'", &["links_nomination"]),
    case("key used", KEY_USED, "'scope3', 'key7'", &["idempotency_pkey"]),
    case("batch exists", BATCH_EXISTS, "'00000000-0000-0000-0002-000000000007'", &["payout_batches_pkey"]),
    case("standings", STANDINGS, "'e1', 'tpid:7'", &["nominations_customer"]),
    case("rows of a customer", ROWS_OF_CUSTOMER, "'e1', '\\x010000000000000007'::bytea", &["known_rows_customer"]),
    case("one row", ROW, "'p3', 'e1', '\\x010000000000000007'::bytea", &["known_rows_pkey"]),
    case("figures", FIGURES, "'p3', 'e1'", &["known_figures_pkey"]),
    case("figures moved", MOVE_FIGURES, "'p3', 'e1', 1, 1, 0", &["known_figures_pkey"]),
    case("known page: kept rows", PAGE_KEPT, "'p3', 'e1', 1, '\\x'::bytea, 1000000000000, 50", &["known_rows_tab"]),
    case("known page: kept rows after a cursor", PAGE_KEPT, "'p3', 'e1', 2, '\\x0100000000000000ff'::bytea, 1000000000000, 50", &["known_rows_tab"]),
    case("known rows changed", CHANGED, "'p3', 'e1', 1000000000000", &["known_rows_changing"]),
    case("oldest kept answer", OLDEST_KEPT, "'p3', 'e1', 1000000000000", &["known_rows_oldest_answer"]),
    case("to check", TO_CHECK, "1000000000000, 50", &["known_rows_to_check"]),
    case("registry shared", SHARE_REGISTRY, "", &["known_engagements_pkey"]),
    case("registry locked", LOCK_REGISTRY, "", &["known_engagements_pkey"]),
    case("seeding progress", PROGRESS, "'e1'", &["known_engagements_pkey"]),
    case("seeding progress saved", SAVE_PROGRESS, "'e1', 'p3', '\\x0100000000000000ff'::bytea, false", &["known_engagements_pkey"]),
    case("known after", KNOWN_AFTER, "'p3', '\\x0100000000000000ff'::bytea, 50", &["known_customers_pkey", "nominations_pkey"]),
    case("known through", KNOWN_THROUGH, "'p3', '\\x010000000000000007'::bytea", &["known_customers_pkey", "nominations_pkey"]),
];

/// Rows for every table, in numbers that make a sequential scan costly,
/// their columns skewed and correlated as a service's are: ids in creation
/// order (a UUID v7 grows with time), 20 partners over 3 engagements, the
/// older two thirds of the nominations ended and complete, the recent third
/// live with deadlines ahead of the instant the reads are made at (10^12
/// µs), but for the few the sweep has not written yet; most messages
/// delivered; most known rows placed for good. Foreign keys are not checked
/// while filling (`session_replication_role`).
const FILL: &str = "
SET session_replication_role = replica;

INSERT INTO nominations (id, partner, engagement, customer, state, version, tab, lapse_at,
    tab_after, wake_at, live, holds_consent, completed, asking, standing_until, doc)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid,
    'p' || (i % 20), 'e' || ((i / 20) % 3), 'tpid:' || (i / 2),
    CASE WHEN old THEN (ARRAY['paid', 'lapsed', 'withdrawn', 'approved'])[1 + (i / 60) % 4]
        ELSE (ARRAY['customer_claimed', 'awaiting_consent', 'consented', 'submitted'])
            [1 + (i / 60) % 4] END,
    1 + i % 3,
    CASE WHEN i % 10 = 0 THEN 0 WHEN old THEN 3 ELSE 1 + (i / 60) % 2 END,
    lapse_at, CASE WHEN NOT old THEN 2 + i % 2 END, lapse_at,
    NOT old, (i / 60) % 4 >= 2, old AND (i / 60) % 4 IN (0, 3) AND i % 2 = 0,
    NOT old AND (i / 60) % 4 < 2, lapse_at, '{}'
FROM generate_series(1, 60000) AS i,
    LATERAL (SELECT i <= 40000 AS old) AS a,
    LATERAL (SELECT CASE WHEN old THEN NULL WHEN i % 200 = 1 THEN 1000000000000 - i
        ELSE 1000000000000 + (i - 40000) * 1000000::bigint END AS lapse_at) AS l;

INSERT INTO events (nomination, version, doc)
SELECT id, v, '{}' FROM nominations, generate_series(1, 2) AS v;

INSERT INTO links (hash, nomination)
SELECT sha256(('l' || i)::bytea), ('00000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid
FROM generate_series(40002, 60000, 2) AS i;

INSERT INTO outbox (id, nomination, doc, available_at, attempts, delivered)
SELECT ('00000000-0000-0000-0001-' || lpad(to_hex(i), 12, '0'))::uuid,
    ('00000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid, '{}',
    1000000000000 + (i - 60000) * 1000, i % 3, i <= 40000 OR i % 50 <> 0
FROM generate_series(1, 60000) AS i;

INSERT INTO known_customers (partner, customer, through)
SELECT 'p' || (i % 20), '\\x01'::bytea || int8send(i / 2),
    ('00000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid
FROM generate_series(1, 60000) AS i WHERE (i / 60) % 4 >= 2
ON CONFLICT DO NOTHING;

INSERT INTO idempotency (scope, idem_key, result, fingerprint)
SELECT 'scope' || (i % 10), 'key' || i, '{}', sha256(('f' || i)::bytea)
FROM generate_series(1, 40000) AS i;

INSERT INTO payout_batches (id, doc)
SELECT ('00000000-0000-0000-0002-' || lpad(to_hex(i), 12, '0'))::uuid, '{}'
FROM generate_series(1, 20000) AS i;

INSERT INTO settings (key, value)
SELECT 'app.setting-' || i, repeat('v', i % 100) FROM generate_series(1, 20000) AS i;

INSERT INTO tab_counts (partner, engagement, tab, n)
SELECT 'q' || p, 'e' || e, t, 10 FROM generate_series(1, 2000) AS p,
    generate_series(0, 2) AS e, generate_series(1, 3) AS t;
INSERT INTO tab_counts (partner, engagement, tab, n)
SELECT partner, engagement, tab, count(*) FROM nominations WHERE tab <> 0
GROUP BY partner, engagement, tab;

INSERT INTO customer_locks (engagement, customer)
SELECT DISTINCT engagement, customer FROM nominations;

INSERT INTO known_engagements (engagement, after_partner, after_customer, done)
SELECT 'x' || i, NULL, NULL, true FROM generate_series(1, 2000) AS i;
INSERT INTO known_engagements (engagement, done) VALUES ('e0', true), ('e1', true), ('e2', false);

INSERT INTO known_rows (partner, engagement, customer, tab, checked, changes_at, checked_at, doc)
SELECT k.partner, e.engagement, k.customer, (i % 3)::smallint, i % 4 <> 0,
    CASE WHEN i % 50 = 0 THEN 1000000000000 - i WHEN i % 3 <> 0 THEN NULL
        ELSE 1000000000000 + i * 1000000::bigint END,
    CASE WHEN i % 20 = 0 THEN NULL ELSE 1000000000000 - i * 1000000::bigint END,
    '{}'
FROM (SELECT k.*, row_number() OVER () AS i FROM known_customers AS k) AS k,
    (VALUES ('e0'), ('e1'), ('e2')) AS e (engagement);

INSERT INTO known_figures (partner, engagement, eligible, not_checked, ineligible)
SELECT 'q' || p, 'e' || e, 10, 5, 3 FROM generate_series(1, 2000) AS p,
    generate_series(0, 2) AS e;
INSERT INTO known_figures (partner, engagement, eligible, not_checked, ineligible)
SELECT 'p' || p, 'e' || e, 10, 5, 3 FROM generate_series(0, 19) AS p,
    generate_series(0, 2) AS e;
";

/// One node of a plan: its type, the relation and index it reads, and
/// what it runs under.
#[derive(Debug)]
struct Node {
    kind: String,
    relation: Option<String>,
    index: Option<String>,
    /// The types of the nodes above it, nearest first.
    above: Vec<String>,
    /// The indexes read below it.
    indexes_below: BTreeSet<String>,
}

/// Every node of `plan`, depth first.
fn nodes(plan: &Value, above: &[String], into: &mut Vec<Node>) -> BTreeSet<String> {
    let kind = plan["Node Type"].as_str().unwrap_or_default().to_owned();
    let mut under = vec![kind.clone()];
    under.extend_from_slice(above);
    let at = into.len();
    into.push(Node {
        kind,
        relation: plan["Relation Name"].as_str().map(str::to_owned),
        index: plan["Index Name"].as_str().map(str::to_owned),
        above: above.to_vec(),
        indexes_below: BTreeSet::new(),
    });
    let mut below = BTreeSet::new();
    for child in plan["Plans"].as_array().into_iter().flatten() {
        below.extend(nodes(child, &under, into));
    }
    into[at].indexes_below = below.clone();
    if let Some(index) = &into[at].index {
        below.insert(index.clone());
    }
    below
}

/// The plan PostgreSQL makes for `case` in the plan cache mode `mode`, as
/// its nodes, and its outline for the messages.
async fn explain(client: &Client, case: &Case, mode: &str) -> (Vec<Node>, String) {
    client
        .batch_execute(&format!(
            "SET plan_cache_mode = {mode}; PREPARE q AS {}",
            case.sql
        ))
        .await
        .unwrap_or_else(|e| panic!("{}: cannot prepare: {e}", case.name));
    let execute = if case.values.is_empty() {
        "EXECUTE q".to_owned()
    } else {
        format!("EXECUTE q ({})", case.values)
    };
    let answer = client
        .simple_query(&format!("EXPLAIN (FORMAT JSON) {execute}"))
        .await
        .unwrap_or_else(|e| panic!("{}: cannot explain: {e}", case.name));
    client.batch_execute("DEALLOCATE q").await.unwrap();
    let text = answer
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let mut found = Vec::new();
    nodes(&json[0]["Plan"], &[], &mut found);
    let mut outline = String::new();
    outline_of(&json[0]["Plan"], 1, &mut outline);
    (found, outline)
}

/// `plan` as an indented outline, one node a line, for the messages.
fn outline_of(plan: &Value, depth: usize, into: &mut String) {
    into.push_str(&"  ".repeat(depth));
    into.push_str(plan["Node Type"].as_str().unwrap_or_default());
    for (key, word) in [
        ("Relation Name", " on "),
        ("Index Name", " using "),
        ("Index Cond", " where "),
        ("Filter", " filter "),
        ("Sort Key", " by "),
        ("Plan Rows", " rows "),
    ] {
        match &plan[key] {
            Value::Null => {}
            Value::String(text) => into.push_str(&format!("{word}{text}")),
            other => into.push_str(&format!("{word}{other}")),
        }
    }
    into.push('\n');
    for child in plan["Plans"].as_array().into_iter().flatten() {
        outline_of(child, depth + 1, into);
    }
}

/// What is wrong with the plan of `case`, if anything.
fn faults(case: &Case, plan: &[Node]) -> Vec<String> {
    let mut faults = Vec::new();
    let mut read = BTreeSet::new();
    for node in plan {
        if let Some(index) = &node.index {
            read.insert(index.as_str());
        }
        if node.kind == "Seq Scan"
            && let Some(table) = &node.relation
            && TABLES.contains(&table.as_str())
        {
            faults.push(format!("reads {table} with a Seq Scan"));
        }
        if node.kind.contains("Sort") {
            let allowed = match case.sorts {
                Sorts::None => false,
                Sorts::LapsedArm => {
                    !node.indexes_below.is_empty()
                        && node
                            .indexes_below
                            .iter()
                            .all(|i| case.also.contains(&i.as_str()))
                        && node.above.first().map(String::as_str) == Some("Limit")
                }
                Sorts::Bounded => true,
            };
            if !allowed {
                faults.push(format!(
                    "sorts ({}) the rows of {:?}",
                    node.kind, node.indexes_below
                ));
            }
        }
    }
    for index in case.indexes {
        if !read.contains(index) {
            faults.push(format!("does not walk {index}"));
        }
    }
    for index in &read {
        if !case.indexes.contains(index) && !case.also.contains(index) {
            faults.push(format!("walks {index}"));
        }
    }
    faults
}

/// A plain connection to `url`.
async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// A database at the schema version this crate knows, filled with
/// [`FILL`] and analysed.
async fn filled(cluster: &Cluster) -> Client {
    cluster.create_database("plans").unwrap();
    let url = cluster.connection_string("plans");
    crate::PostgresStore::connect(url.as_str()).await.unwrap();
    let client = connect(&url).await;
    client.batch_execute(FILL).await.unwrap();
    client.batch_execute("VACUUM ANALYZE").await.unwrap();
    client
}

/// Every case explained in both plan cache modes: what is wrong with
/// each, and the outlines of their plans by name and mode.
async fn explain_all(client: &Client) -> (Vec<String>, Vec<(String, Vec<Node>, String)>) {
    let mut wrong = Vec::new();
    let mut plans = Vec::new();
    for case in CASES {
        for mode in MODES {
            let (plan, outline) = explain(client, case, mode).await;
            let faults = faults(case, &plan);
            if !faults.is_empty() {
                wrong.push(format!(
                    "{} ({mode}): {}\n{outline}",
                    case.name,
                    faults.join("; ")
                ));
            }
            plans.push((format!("{} ({mode})", case.name), plan, outline));
        }
    }
    (wrong, plans)
}

/// The plan cache modes a prepared statement may run in: the plan made for
/// its values, and the generic plan it may switch to after five runs.
const MODES: [&str; 2] = ["force_custom_plan", "force_generic_plan"];

/// The plan named `name` among `plans`.
fn plan_of<'a>(plans: &'a [(String, Vec<Node>, String)], name: &str) -> (&'a [Node], &'a str) {
    let (_, plan, outline) = plans.iter().find(|(n, _, _)| n == name).unwrap();
    (plan, outline)
}

#[test]
fn r_page_9_every_read_walks_its_index_in_order_on_analysed_tables() {
    let Some(cluster) =
        Cluster::start_or_skip("r_page_9_every_read_walks_its_index_in_order_on_analysed_tables")
    else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = filled(&cluster).await;
        let (wrong, plans) = explain_all(&client).await;
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));

        // R-PAGE-1: a page is two walks merged in id order, the stored one
        // reading no further than the page.
        for mode in MODES {
            for name in ["page", "page after a cursor"] {
                let (plan, outline) = plan_of(&plans, &format!("{name} ({mode})"));
                let kinds: Vec<&str> = plan.iter().take(2).map(|n| n.kind.as_str()).collect();
                assert_eq!(
                    kinds,
                    ["Limit", "Merge Append"],
                    "{name}, {mode}:\n{outline}"
                );
                let stored = plan
                    .iter()
                    .find(|n| n.index.as_deref() == Some("nominations_tab"))
                    .unwrap();
                assert_eq!(
                    stored.above.first().map(String::as_str),
                    Some("Limit"),
                    "{name}, {mode}: the stored arm stops at the page\n{outline}"
                );
            }
            // What to ask again: never asked, then the oldest answer, two
            // walks of one index merged in its order.
            let (plan, outline) = plan_of(&plans, &format!("to check ({mode})"));
            assert!(
                plan.iter().any(|n| n.kind == "Merge Append"),
                "{mode}:\n{outline}"
            );
            let walks = plan
                .iter()
                .filter(|n| n.index.as_deref() == Some("known_rows_to_check"))
                .count();
            assert_eq!(walks, 2, "{mode}:\n{outline}");
        }
    });
}

/// The columns of the Claims page for the rows of [`FILL`], as the core
/// would derive them (R-LIST-1): created in id order a second apart, last
/// changed a few seconds after, the recent claims submitted (and the paid
/// and approved ones) on the reviewer's page, the lapses into the states
/// they lead to; and the counters of every state.
const FILL_CLAIMS: &str = "
WITH n AS (SELECT id, row_number() OVER (ORDER BY id) AS i FROM nominations)
UPDATE nominations AS m SET
    created_at = 1000000000000 - (60001 - n.i) * 1000000,
    changed_at = 1000000000000 - (60001 - n.i) * 1000000 + (n.i % 7) * 1000000,
    state_after = CASE WHEN m.lapse_at IS NULL THEN NULL
        WHEN m.state = 'submitted' THEN 'post_submission_expired'
        WHEN m.state = 'consented' THEN 'not_submitted_expired'
        ELSE 'consent_expired' END,
    reviewable = m.state IN ('submitted', 'paid', 'approved')
FROM n WHERE m.id = n.id;

INSERT INTO claim_counts (partner, engagement, state, n)
SELECT 'q' || p, 'e' || e, s, 10 FROM generate_series(1, 2000) AS p,
    generate_series(0, 2) AS e, unnest(ARRAY['consented', 'submitted', 'paid']) AS s;
INSERT INTO claim_counts (partner, engagement, state, n)
SELECT partner, engagement, state, count(*) FROM nominations
GROUP BY partner, engagement, state;
";

/// The values of a Claims page statement's parameters, in their order.
fn claims_values(shape: &crate::claims::Shape, params: &[crate::claims::Param]) -> String {
    use crate::claims::Param;
    params
        .iter()
        .map(|p| match p {
            Param::Partner => "'p3'".to_owned(),
            Param::Engagement => "'e1'".to_owned(),
            Param::State if shape.reviewer => "'submitted'".to_owned(),
            Param::State => "'consented'".to_owned(),
            Param::Now => "1000000000000".to_owned(),
            Param::At => "999990000000".to_owned(),
            Param::Id => "'00000000-0000-0000-0000-00000000e000'".to_owned(),
            Param::Limit => "50".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn r_list_1_every_claims_list_and_count_walks_its_index_on_analysed_tables() {
    use crate::claims::*;
    let Some(cluster) = Cluster::start_or_skip(
        "r_list_1_every_claims_list_and_count_walks_its_index_on_analysed_tables",
    ) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = filled(&cluster).await;
        client.batch_execute(FILL_CLAIMS).await.unwrap();
        client.batch_execute("VACUUM ANALYZE").await.unwrap();
        // As the store reads a Claims page (crate::claims::page).
        let session = crate::claims::PAGE_SETTINGS.replace("SET LOCAL", "SET");
        client.batch_execute(&session).await.unwrap();
        let mut cases = Vec::new();
        for shape in Shape::all() {
            let (sql, params) = shape.sql();
            // Leaked: a case holds its text for the whole test.
            let name: &'static str = Box::leak(format!("{shape:?}").into_boxed_str());
            let sql: &'static str = Box::leak(sql.into_boxed_str());
            let values: &'static str = Box::leak(claims_values(&shape, &params).into_boxed_str());
            let index: &'static str = Box::leak(shape.index().into_boxed_str());
            let indexes: &'static [&'static str] = Box::leak(Box::new([index]));
            let mut case = case(name, sql, values, indexes);
            if shape.lapses_count() {
                // The lapsed arm ranges `lapse_at <= now` over a lapse
                // index of its scope: its own, or another that holds the
                // scope's lapses, sorted (they are the lapses the sweep
                // has not written yet).
                let lapse: &'static str = Box::leak(shape.lapse_index().into_boxed_str());
                let also: &'static [&'static str] = if shape.reviewer {
                    Box::leak(Box::new([
                        lapse,
                        "claims_reviewer_lapse",
                        "claims_reviewer_engagement_lapse",
                        "claims_reviewer_state_lapse",
                        "claims_reviewer_engagement_state_lapse",
                    ]))
                } else {
                    Box::leak(Box::new([
                        lapse,
                        "nominations_lapsing",
                        "nominations_lapse",
                        "nominations_lapse_into",
                        "claims_state_lapse",
                        "claims_engagement_state_lapse",
                    ]))
                };
                case = case.also(also).sorting(Sorts::LapsedArm);
            }
            cases.push(case);
        }
        let counts: [(&str, &'static str, &str, &[&str]); 8] = [
            (
                "partner counts",
                PARTNER_COUNTS,
                "'p3'",
                &["claim_counts_pkey"],
            ),
            (
                "partner engagement counts",
                PARTNER_ENGAGEMENT_COUNTS,
                "'p3', 'e1'",
                &["claim_counts_pkey"],
            ),
            (
                "state counts",
                STATE_COUNTS,
                "'submitted'",
                &["claim_counts_state"],
            ),
            (
                "state engagement counts",
                STATE_ENGAGEMENT_COUNTS,
                "'submitted', 'e1'",
                &["claim_counts_state"],
            ),
            ("partner lapses", PARTNER_LAPSES, "'p3', 1000000000000", &[]),
            (
                "partner engagement lapses",
                PARTNER_ENGAGEMENT_LAPSES,
                "'p3', 'e1', 1000000000000",
                &[],
            ),
            (
                "reviewer lapses",
                REVIEWER_LAPSES,
                "1000000000000",
                &["claims_reviewer_lapse"],
            ),
            (
                "reviewer engagement lapses",
                REVIEWER_ENGAGEMENT_LAPSES,
                "'e1', 1000000000000",
                &["claims_reviewer_engagement_lapse"],
            ),
        ];
        // The lapses of one partner's engagement: any of its lapse
        // indexes bounds them by the lapses not yet swept.
        let lapse_indexes: &'static [&'static str] = &[
            "nominations_lapse",
            "nominations_lapsing",
            "nominations_lapse_into",
        ];
        for (name, sql, values, indexes) in counts {
            let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
            let values: &'static str = Box::leak(values.to_owned().into_boxed_str());
            let indexes: &'static [&'static str] = Box::leak(indexes.to_vec().into_boxed_slice());
            let mut case = case(name, sql, values, indexes);
            if indexes.is_empty() {
                case = case.also(lapse_indexes);
            }
            cases.push(case);
        }
        let mut wrong = Vec::new();
        for case in &cases {
            for mode in MODES {
                let (plan, outline) = explain(&client, case, mode).await;
                let faults = faults(case, &plan);
                if !faults.is_empty() {
                    wrong.push(format!(
                        "{} ({mode}): {}\n{outline}",
                        case.name,
                        faults.join("; ")
                    ));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{} plans wrong:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    });
}

/// The attention classes of the rows of [`FILL`], as the core would derive
/// them (R-LIST-3): of the live ones, every seventh asks its partner until
/// its deadline (a rejection, a request for more), the others before
/// consent or consented only within the window, the submitted ones none;
/// the ended ones none.
const FILL_ATTENTION: &str = "
UPDATE nominations SET attention = CASE
    WHEN lapse_at IS NULL OR state NOT IN ('customer_claimed', 'awaiting_consent', 'consented')
        THEN NULL
    WHEN ('x' || substr(md5(id::text), 1, 8))::bit(32)::int % 7 = 0 THEN 1
    ELSE 2 END;
";

#[test]
fn r_list_3_the_attention_list_is_two_walks_of_its_index_merged_on_analysed_tables() {
    let Some(cluster) = Cluster::start_or_skip(
        "r_list_3_the_attention_list_is_two_walks_of_its_index_merged_on_analysed_tables",
    ) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = filled(&cluster).await;
        client.batch_execute(FILL_ATTENTION).await.unwrap();
        client.batch_execute("VACUUM ANALYZE").await.unwrap();
        let list = case(
            "attention",
            ATTENTION,
            "'p3', 1000000000000, 1604800000000, 51",
            &["attention_walk"],
        );
        for mode in MODES {
            let (plan, outline) = explain(&client, &list, mode).await;
            let faults = faults(&list, &plan);
            assert!(
                faults.is_empty(),
                "{mode}: {}\n{outline}",
                faults.join("; ")
            );
            let kinds: Vec<&str> = plan.iter().take(2).map(|n| n.kind.as_str()).collect();
            assert_eq!(kinds, ["Limit", "Merge Append"], "{mode}:\n{outline}");
            let walks: Vec<&Node> = plan
                .iter()
                .filter(|n| n.index.as_deref() == Some("attention_walk"))
                .collect();
            assert_eq!(walks.len(), 2, "{mode}: one walk per class\n{outline}");
            for walk in walks {
                assert_eq!(
                    walk.above.first().map(String::as_str),
                    Some("Limit"),
                    "{mode}: each walk stops at the list's limit\n{outline}"
                );
            }
        }
    });
}
