//! The bad-input corpus (`tests/bad_inputs/*.json`, run on the memory
//! adapter by `tests/bad_inputs.rs`) against the real server, on both table
//! layouts. Stored rows are written with raw CQL, as another program (or
//! corruption) would leave them: null columns, unknown types, corrupt data,
//! keys taskrec itself would refuse.

use std::sync::Arc;

use async_trait::async_trait;
use scylla::client::session::Session;
use scylla::value::CqlTimestamp;
use taskrec::cassandra::{shard_of, CassandraAdapter, TableLayout};
use taskrec::TaskStore;

use crate::corpus::{self, Backend, RawRow};
use crate::utils::{adapter, config, keyspace, raw_session, run};

struct Cassandra {
    store: TaskStore,
    session: Arc<Session>,
    table: String,
    /// `None`: task_rb's table; else the bucket count.
    buckets: Option<u32>,
}

async fn backend(table: &str, layout: TableLayout) -> Cassandra {
    let adapter: CassandraAdapter = adapter(config(table, layout).page_size(100)).await;
    let buckets = (layout != TableLayout::TaskRb).then(|| adapter.shards());
    Cassandra {
        store: TaskStore::from_dyn(Arc::new(adapter)),
        session: raw_session().await,
        table: format!("{}.{table}", keyspace()),
        buckets,
    }
}

async fn bucketed(table: &str) -> Cassandra {
    backend(table, TableLayout::Taskrec { shards: Some(16) }).await
}

async fn task_rb(table: &str) -> Cassandra {
    backend(table, TableLayout::TaskRb).await
}

#[async_trait]
impl Backend for Cassandra {
    fn name(&self) -> String {
        format!("cassandra ({})", self.table)
    }
    fn store(&self) -> &TaskStore {
        &self.store
    }
    fn is_cassandra(&self) -> bool {
        true
    }
    fn keeps_timestamps(&self) -> bool {
        self.buckets.is_some()
    }
    fn is_taskrec_table(&self) -> bool {
        self.buckets.is_some()
    }
    fn type_may_be_null(&self) -> bool {
        self.buckets.is_some()
    }

    async fn insert_row(&self, task_list: &str, id: &str, row: &RawRow) -> Result<(), String> {
        let result = match self.buckets {
            Some(buckets) => {
                // As a foreign writer of schema 3 writes a task: its row, its
                // listing entry in the current minute's slice, and the
                // directory rows naming that slice and day.
                let slice = chrono::Utc::now().timestamp_millis().div_euclid(60_000);
                let day = slice.div_euclid(1_440);
                let (type_name, data) = (row.type_name.as_deref(), row.data.as_deref());
                let (created, updated) = (
                    row.created_at.map(CqlTimestamp),
                    row.updated_at.map(CqlTimestamp),
                );
                let task = self.session.query_unpaged(
                    format!(
                        "INSERT INTO {} (task_list, id, type, data, created_at, updated_at, slice) \
                         VALUES (?, ?, ?, ?, ?, ?, ?)",
                        self.table
                    ),
                    (task_list, id, type_name, data, created, updated, slice),
                );
                let entry = self.session.query_unpaged(
                    format!(
                        "INSERT INTO {}_entries (task_list, slice, shard, id, type, data, created_at, updated_at) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        self.table
                    ),
                    (task_list, slice, shard_of(id, buckets) as i32, id, type_name, data, created, updated),
                );
                let slice_row = self.session.query_unpaged(
                    format!(
                        "INSERT INTO {}_slices (task_list, day, slice) VALUES (?, ?, ?)",
                        self.table
                    ),
                    (task_list, day, slice),
                );
                let day_row = self.session.query_unpaged(
                    format!(
                        "INSERT INTO {}_days (task_list, day) VALUES (?, ?)",
                        self.table
                    ),
                    (task_list, day),
                );
                futures::try_join!(task, entry, slice_row, day_row).map(|(task, ..)| task)
            }
            None => {
                let cql = format!(
                    "INSERT INTO {} (task_list, id, type, data) VALUES (?, ?, ?, ?)",
                    self.table
                );
                let values = (task_list, id, row.type_name.as_deref(), row.data.as_deref());
                self.session.query_unpaged(cql, values).await
            }
        };
        result.map(drop).map_err(|e| crate::utils::chain(&e))
    }

    async fn raw_key(&self, task_list: &str, id: &str) -> Result<Option<(String, String)>, String> {
        // Both tables are keyed by (list, id), task_rb's with the type after.
        let cql = format!(
            "SELECT task_list, id FROM {} WHERE task_list = ? AND id = ?",
            self.table
        );
        let result = self
            .session
            .query_unpaged(cql, (task_list, id))
            .await
            .map_err(|e| crate::utils::chain(&e))?;
        result
            .into_rows_result()
            .map_err(|e| e.to_string())?
            .maybe_first_row::<(String, String)>()
            .map_err(|e| e.to_string())
    }
}

/// Integers beyond 64 bits and long decimals, in typed fields, a `RawJson`
/// extra map and `CompositeTask`, stored and read back byte for byte.
#[test]
fn numbers_round_trip_exactly_on_both_layouts() {
    run(async {
        for backend in [bucketed("exact").await, task_rb("exact_rb").await] {
            crate::exact::check_round_trips(&backend.name(), &backend.store, "bad_inputs").await;
        }
    });
}

#[test]
fn hashes() {
    run(async {
        let backend = bucketed("bad_hashes").await;
        corpus::run_hashes(&backend)
            .await
            .finish("hash", &backend.name());
    });
}

#[test]
fn stored_rows_in_the_bucketed_table() {
    run(async {
        let backend = bucketed("bad_rows").await;
        corpus::run_rows(&backend)
            .await
            .finish("stored row", &backend.name());
    });
}

#[test]
fn stored_rows_in_task_rbs_table() {
    run(async {
        let backend = task_rb("bad_rows_rb").await;
        corpus::run_rows(&backend)
            .await
            .finish("stored row", &backend.name());
    });
}

#[test]
fn task_lists_and_ids_in_the_bucketed_table() {
    run(async {
        let backend = bucketed("bad_keys").await;
        corpus::run_keys(&backend)
            .await
            .finish("key", &backend.name());
    });
}

#[test]
fn task_lists_and_ids_in_task_rbs_table() {
    run(async {
        let backend = task_rb("bad_keys_rb").await;
        corpus::run_keys(&backend)
            .await
            .finish("key", &backend.name());
    });
}

#[test]
fn page_tokens() {
    run(async {
        for backend in [bucketed("bad_tokens").await, task_rb("bad_tokens_rb").await] {
            corpus::run_tokens(&backend)
                .await
                .finish("page token", &backend.name());
        }
    });
}
