//! Shared set-up: one tokio runtime for the whole binary (a driver session
//! lives on the runtime that made it), one keyspace per run, and adapters.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use taskrec::cassandra::{CassandraAdapter, CassandraConfig, TableLayout};

/// An error with every cause in its chain, for test failure messages.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub fn address() -> String {
    std::env::var("TASKREC_CASSANDRA").unwrap_or_else(|_| "127.0.0.1:9042".to_owned())
}

/// Runs a test body on the shared runtime.
pub fn run<F: Future>(body: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime")
        })
        .block_on(body)
}

/// This run's keyspace: fresh, so no earlier run's rows are seen. A child
/// process this binary starts for a test of its own (`clock.rs`) is given
/// its parent's in `TASKREC_TEST_KEYSPACE`.
pub fn keyspace() -> &'static str {
    static KEYSPACE: OnceLock<String> = OnceLock::new();
    KEYSPACE.get_or_init(|| {
        std::env::var(KEYSPACE_VAR).unwrap_or_else(|_| {
            format!(
                "taskrec_it_{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            )
        })
    })
}

/// The variable that hands a child process its parent's keyspace.
pub const KEYSPACE_VAR: &str = "TASKREC_TEST_KEYSPACE";

/// A plain driver session, for looking at rows behind the adapter's back.
pub async fn raw_session() -> Arc<Session> {
    static SESSION: tokio::sync::OnceCell<Arc<Session>> = tokio::sync::OnceCell::const_new();
    SESSION
        .get_or_init(|| async {
            let session = SessionBuilder::new()
                .known_node(address())
                .build()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "Cassandra does not answer at {} ({e}); start it with scripts/cassandra-start \
                         or run every test with scripts/test",
                        address()
                    )
                });
            Arc::new(session)
        })
        .await
        .clone()
}

pub fn config(table: &str, layout: TableLayout) -> CassandraConfig {
    CassandraConfig::new([address()], keyspace())
        .table(table)
        .layout(layout)
        .create_schema(true)
}

/// An adapter over `table`, created when missing. Schema changes are made
/// one at a time: concurrent DDL on one table can disagree.
pub async fn adapter(config: CassandraConfig) -> CassandraAdapter {
    static SCHEMA: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = SCHEMA.lock().await;
    CassandraAdapter::connect(config)
        .await
        .unwrap_or_else(|e| panic!("connecting to Cassandra at {}: {}", address(), chain(&e)))
}

pub async fn bucketed() -> CassandraAdapter {
    adapter(config("tasks", TableLayout::Taskrec { shards: Some(16) }).page_size(100)).await
}

pub async fn task_rb() -> CassandraAdapter {
    adapter(config("task_rb_tasks", TableLayout::TaskRb).page_size(100)).await
}

pub fn unique_list(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

/// What the server says a read scanned, from its query trace: the
/// "Read N live rows and M tombstone cells" events, summed.
pub async fn traced_read(
    cql: &str,
    values: impl scylla::serialize::row::SerializeRow,
) -> (u64, u64) {
    let mut statement = scylla::statement::Statement::new(cql);
    statement.set_tracing(true);
    let session = raw_session().await;
    let result = session.query_unpaged(statement, values).await.unwrap();
    let id = result.tracing_id().expect("a traced query has a trace");
    // The server writes a trace's events asynchronously, after the answer:
    // read them until the read's event is there.
    for _ in 0..50 {
        // Under load the trace's session row may not be written yet either
        // (the driver then answers `EmptyResults`): wait and ask again.
        let Ok(info) = session.get_tracing_info(&id).await else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let (mut live, mut tombstones, mut seen) = (0, 0, false);
        for event in info.events {
            let activity = event.activity.unwrap_or_default();
            let words: Vec<&str> = activity.split_whitespace().collect();
            if let ["Read", n, "live", "rows", "and", m, "tombstone", "cells"] = words[..] {
                live += n.parse::<u64>().unwrap();
                tombstones += m.parse::<u64>().unwrap();
                seen = true;
            }
        }
        if seen {
            return (live, tombstones);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the trace of `{cql}` has no \"Read N live rows and M tombstone cells\" event after 5 s"
    );
}

/// The minutes (slices) the listing directory of `table` names for `list`,
/// every day's, in order: where the list's entries are. `table` is the
/// tasks table's name, or its failed index's (`tasks_failed`).
pub async fn directory_slices(table: &str, list: &str) -> Vec<i64> {
    let ks = keyspace();
    let days_cql = format!("SELECT day FROM {ks}.{table}_days WHERE task_list = ?");
    let slices_cql =
        format!("SELECT slice FROM {ks}.{table}_slices WHERE task_list = ? AND day = ?");
    let mut slices = Vec::new();
    for day in bigints(&days_cql, (list,)).await {
        slices.extend(bigints(&slices_cql, (list, day)).await);
    }
    slices
}

/// The one `bigint` column of the rows a query reads.
async fn bigints(cql: &str, values: impl scylla::serialize::row::SerializeRow) -> Vec<i64> {
    raw_session()
        .await
        .query_unpaged(cql, values)
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .rows::<(i64,)>()
        .unwrap()
        .map(|row| row.unwrap().0)
        .collect()
}

/// Held by the tests that load this two-core machine for minutes (100,000
/// saves on the shared server, a history of 100,000 writes on a node of
/// its own): run together, each starves the other's server of CPU, and
/// requests time out for reasons that are not the test's.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Reads the node has served of `table` (in this run's keyspace) since it
/// started: the server's own count, `system_views.local_read_latency`.
pub async fn reads_of(table: &str) -> i64 {
    let row: (i64,) = raw_session()
        .await
        .query_unpaged(
            "SELECT count FROM system_views.local_read_latency \
             WHERE keyspace_name = ? AND table_name = ?",
            (keyspace(), table),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .single_row()
        .unwrap();
    row.0
}

/// Saves `tasks` for a test's setup, again (up to 5 times) when the save
/// fails on this shared node, busiest at the start of a run (a write
/// timeout was seen in CI: its outcome is unknown). Saving the same new
/// tasks again is harmless while nothing else works on their list. A save's
/// own errors under load are load.rs's to assert, without retries.
pub(crate) async fn save_all_for_setup<A, T>(
    store: &taskrec::TaskStore<A>,
    tasks: &[taskrec::Task<T>],
    in_flight: usize,
) -> u64
where
    A: taskrec::adapter::StorageAdapter,
    T: taskrec::TaskData,
{
    for attempt in 1..=5 {
        match store.save_all(tasks, in_flight).await {
            Ok(saved) => return saved,
            Err(e) if attempt < 5 => {
                eprintln!("the setup's save_all, attempt {attempt}: {e}; trying again");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => panic!("the setup's save_all failed 5 times: {e}"),
        }
    }
    unreachable!("the last attempt returns or panics")
}
