//! The raw variants' side of the server: a plain scylla session and the
//! statements taskrec's adapter prepares, word for word, with the same
//! consistency, idempotence, timeout and page size.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::{Consistency, SerialConsistency};
use scylla::value::CqlTimestamp;
use taskrec::cassandra::{CassandraAdapter, CassandraConfig, TableLayout};

/// The bucketed table (taskrec's layout) and task_rb's table.
pub const BUCKETED_TABLE: &str = "tasks";
pub const TASK_RB_TABLE: &str = "task_rb_tasks";
/// taskrec's default bucket count, which the bucketed table is created with.
pub const BUCKETS: u32 = 16;
/// taskrec's default listing page size.
pub const PAGE_SIZE: i32 = 1000;

/// A bucketed listing row, decoded into owned values as the adapter does.
pub type BucketedListRow = (
    String,
    Option<String>,
    Option<String>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);
/// A bucketed row found by key.
pub type BucketedRow = (
    Option<String>,
    Option<String>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);
/// A bucketed row read for a claim: the record, its state and state token.
pub type StateRow = (
    Option<String>,
    Option<String>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
    Option<String>,
    Option<uuid::Uuid>,
);
/// The state every save writes (taskrec's `INITIAL_STATE_JSON`).
pub const PENDING_STATE: &str = taskrec::INITIAL_STATE_JSON;
/// A task_rb listing row: id, type, data, write time of data.
pub type TaskRbListRow = (String, String, Option<String>, Option<i64>);

/// A session set up like the adapter's: LOCAL_QUORUM, 10 s request timeout,
/// the driver's default retry policy.
pub async fn session(addr: &str) -> Result<Arc<Session>, String> {
    let profile = ExecutionProfile::builder()
        .consistency(Consistency::LocalQuorum)
        .request_timeout(Some(Duration::from_secs(10)))
        .build();
    let session = SessionBuilder::new()
        .known_node(addr)
        .connection_timeout(Duration::from_secs(10))
        .default_execution_profile_handle(profile.into_handle())
        .build()
        .await
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    Ok(Arc::new(session))
}

/// The bucketed layout's statements, as `src/cassandra/mod.rs` prepares them.
pub struct Bucketed {
    pub insert: PreparedStatement,
    pub find: PreparedStatement,
    pub delete: PreparedStatement,
    pub list: PreparedStatement,
    /// A claim's read: the record with its state and token.
    pub load_state: PreparedStatement,
    /// A claim's write: a lightweight transaction on the state token.
    pub swap_state: PreparedStatement,
}

async fn prepare(session: &Session, cql: String) -> Result<PreparedStatement, String> {
    let mut statement = session
        .prepare(cql.as_str())
        .await
        .map_err(|e| format!("preparing `{cql}`: {e}"))?;
    statement.set_consistency(Consistency::LocalQuorum);
    statement.set_is_idempotent(true);
    Ok(statement)
}

/// A conditional write, as the adapter marks it: not idempotent (a retry
/// could apply it twice), Paxos at SERIAL.
async fn prepare_lwt(session: &Session, cql: String) -> Result<PreparedStatement, String> {
    let mut statement = prepare(session, cql).await?;
    statement.set_is_idempotent(false);
    statement.set_serial_consistency(Some(SerialConsistency::Serial));
    Ok(statement)
}

impl Bucketed {
    pub async fn prepare(session: &Session, keyspace: &str) -> Result<Self, String> {
        let table = format!("{keyspace}.{BUCKETED_TABLE}");
        let mut list = prepare(
            session,
            format!("SELECT id, type, data, created_at, updated_at FROM {table} WHERE task_list = ? AND bucket = ?"),
        )
        .await?;
        list.set_page_size(PAGE_SIZE);
        Ok(Bucketed {
            insert: prepare(
                session,
                format!(
                    "INSERT INTO {table} (task_list, bucket, id, type, data, created_at, updated_at, state, state_token) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?"
                ),
            )
            .await?,
            find: prepare(
                session,
                format!("SELECT type, data, created_at, updated_at FROM {table} WHERE task_list = ? AND bucket = ? AND id = ?"),
            )
            .await?,
            delete: prepare(
                session,
                format!("DELETE FROM {table} WHERE task_list = ? AND bucket = ? AND id = ?"),
            )
            .await?,
            list,
            load_state: prepare(
                session,
                format!(
                    "SELECT type, data, created_at, updated_at, state, state_token \
                     FROM {table} WHERE task_list = ? AND bucket = ? AND id = ?"
                ),
            )
            .await?,
            swap_state: prepare_lwt(
                session,
                format!(
                    "UPDATE {table} SET state = ?, state_token = ? \
                     WHERE task_list = ? AND bucket = ? AND id = ? IF state_token = ?"
                ),
            )
            .await?,
        })
    }
}

/// task_rb's listing statement, as the adapter prepares it.
pub async fn task_rb_list(session: &Session, keyspace: &str) -> Result<PreparedStatement, String> {
    let mut list = prepare(
        session,
        format!("SELECT id, type, data, WRITETIME(data) FROM {keyspace}.{TASK_RB_TABLE} WHERE task_list = ?"),
    )
    .await?;
    list.set_page_size(PAGE_SIZE);
    Ok(list)
}

/// The bucket of an id in the bucketed table: taskrec's formula, which is
/// part of the stored format (a raw client must use it too).
pub fn bucket(id: &str) -> i32 {
    taskrec::cassandra::bucket_of(id, BUCKETS) as i32
}

/// Now, to the millisecond, as the timestamp columns store it.
pub fn now() -> CqlTimestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    CqlTimestamp(millis)
}

/// The adapter configuration for one of the two tables.
pub fn adapter_config(addr: &str, keyspace: &str, task_rb: bool) -> CassandraConfig {
    let config = CassandraConfig::new([addr], keyspace);
    if task_rb {
        config.table(TASK_RB_TABLE).layout(TableLayout::TaskRb)
    } else {
        config.table(BUCKETED_TABLE).layout(TableLayout::Bucketed {
            buckets: Some(BUCKETS),
        })
    }
}

/// A fresh keyspace with both tables, created through taskrec's own schema
/// code (so the bucketed table records its bucket count).
pub async fn create_schema(session: &Session, addr: &str, keyspace: &str) -> Result<(), String> {
    session
        .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
        .await
        .map_err(|e| format!("dropping keyspace {keyspace}: {e}"))?;
    for task_rb in [false, true] {
        CassandraAdapter::connect(adapter_config(addr, keyspace, task_rb).create_schema(true))
            .await
            .map_err(|e| format!("creating the schema: {e}"))?;
    }
    Ok(())
}

/// Writes `n` records into `list` of the bucketed table, of task_rb's, or of
/// both, 256 at a time, with plain inserts: the lists every variant streams,
/// and the lists the workers drain.
pub async fn seed_lists(
    session: &Arc<Session>,
    keyspace: &str,
    list: &str,
    n: u64,
    (into_bucketed, into_task_rb): (bool, bool),
) -> Result<(), String> {
    let bucketed = Bucketed::prepare(session, keyspace).await?;
    let task_rb = prepare(
        session,
        format!("INSERT INTO {keyspace}.{TASK_RB_TABLE} (task_list, id, type, data) VALUES (?, ?, ?, ?)"),
    )
    .await?;
    let data = crate::payload::template_json();
    let (bucketed, task_rb, data) = (&bucketed, &task_rb, data.as_str());
    futures::stream::iter(0..n)
        .map(|i| async move {
            let id = crate::payload::id(i);
            let at = now();
            let type_name = crate::payload::TYPE_NAME;
            if into_bucketed {
                let values = (
                    list,
                    bucket(&id),
                    &id,
                    type_name,
                    data,
                    at,
                    at,
                    PENDING_STATE,
                    uuid::Uuid::new_v4(),
                    0i32,
                );
                session
                    .execute_unpaged(&bucketed.insert, values)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            if into_task_rb {
                session
                    .execute_unpaged(task_rb, (list, &id, type_name, data))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        })
        .buffer_unordered(256)
        .fold(Ok(()), |all, one| async move { all.and(one) })
        .await
}

/// Reads the seeded lists once, untimed, and checks they hold `n` records.
pub async fn read_stream_lists(
    session: &Session,
    keyspace: &str,
    list: &str,
    n: u64,
    (in_bucketed, in_task_rb): (bool, bool),
) -> Result<(), String> {
    if in_bucketed {
        let cql = format!(
            "SELECT id FROM {keyspace}.{BUCKETED_TABLE} WHERE task_list = ? AND bucket = ?"
        );
        let statement = prepare(session, cql).await?;
        let mut total = 0;
        for bucket in 0..BUCKETS as i32 {
            total += count_rows(session, &statement, (list, bucket)).await?;
        }
        check_count("the bucketed table", total, n)?;
    }
    if in_task_rb {
        let cql = format!("SELECT id FROM {keyspace}.{TASK_RB_TABLE} WHERE task_list = ?");
        let statement = prepare(session, cql).await?;
        check_count(
            "task_rb's table",
            count_rows(session, &statement, (list,)).await?,
            n,
        )?;
    }
    Ok(())
}

async fn count_rows(
    session: &Session,
    statement: &PreparedStatement,
    values: impl scylla::serialize::row::SerializeRow,
) -> Result<u64, String> {
    let pager = session
        .execute_iter(statement.clone(), values)
        .await
        .map_err(|e| e.to_string())?;
    let rows = pager
        .rows_stream::<(String,)>()
        .map_err(|e| e.to_string())?;
    Ok(rows.fold(0u64, |n, _| async move { n + 1 }).await)
}

fn check_count(table: &str, found: u64, n: u64) -> Result<(), String> {
    if found == n {
        Ok(())
    } else {
        Err(format!(
            "{table} holds {found} records of the list to stream, not {n}"
        ))
    }
}
