//! The server side of the harness: a plain scylla session for the raw
//! variants, the raw variants' own table and statements, the schema, and
//! the seeding of the lists that are streamed and drained.
//!
//! Three tables share the keyspace:
//!
//! - `tasks`: taskrec's own table (schema 3: one partition per task, with
//!   the entries, slices and days tables beside it that listings read),
//!   created by taskrec and only ever read or written through its adapter;
//! - `task_rb_tasks`: task_rb's table, created by taskrec, which the raw
//!   variants also list directly (its layout is task_rb's, not taskrec's);
//! - `raw_tasks`: the raw variants' own table, created here with plain CQL.
//!
//! The raw variants stand for what a user would write with the raw driver
//! for the same job: the simplest design that does it, not a copy of
//! taskrec's. So they keep a table of their own in the classic bucketed
//! layout, `PRIMARY KEY ((task_list, bucket), id)` over 16 buckets: a save
//! is one INSERT, a claim one read and one lightweight transaction, a
//! listing one pass over 16 partitions. The statements keep the adapter's
//! consistency, idempotence, timeout and page size.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::{Consistency, SerialConsistency};
use scylla::value::CqlTimestamp;
use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{CassandraAdapter, CassandraConfig, Replication, TableLayout};
use taskrec::{Task, TaskStore};

use crate::plan::Table;

/// taskrec's table, read and written by the taskrec variants.
pub const TASKREC_TABLE: &str = "tasks";
/// task_rb's table (`stream-task_rb`, every server variant).
pub const TASK_RB_TABLE: &str = "task_rb_tasks";
/// The raw variants' own bucketed table (raw, raw+serde and python).
pub const RAW_TABLE: &str = "raw_tasks";
/// Partitions per list of the raw table; also the shard count taskrec's
/// table is created with (its default), so both spread a list as widely.
pub const BUCKETS: u32 = 16;
/// taskrec's default listing page size, which the raw variants page by too.
pub const PAGE_SIZE: i32 = 1000;
/// Saves in flight while seeding a list.
const SEED_CONCURRENCY: usize = 256;
/// Claims in flight while a list's tasks are being held: each is a Paxos
/// round, several times a save's server time.
const HOLD_CONCURRENCY: usize = 64;
/// Tasks a sweep step asks for (`next_ready`'s limit).
const SWEEP_LIMIT: usize = 1000;

/// A raw listing row, decoded into owned values as the adapter does.
pub type RawListRow = (
    String,
    Option<String>,
    Option<String>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);
/// A raw row found by key.
pub type RawRow = (
    Option<String>,
    Option<String>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);
/// A raw row read for a claim: the record, its state and state token.
pub type StateRow = (
    Option<String>,
    Option<String>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
    Option<String>,
    Option<uuid::Uuid>,
);
/// The state every save writes (taskrec's `INITIAL_STATE_JSON`).
pub const PENDING_STATE: &str = taskrec::adapter::INITIAL_STATE_JSON;
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

/// The raw table, as a raw client would create it: the columns of taskrec's
/// old bucketed table (the record, its state and state token), 16
/// partitions per list, nothing beside it.
const RAW_TABLE_CQL: &str = "CREATE TABLE IF NOT EXISTS {keyspace}.{table} (
  task_list text,
  bucket int,
  id text,
  type text,
  data text,
  created_at timestamp,
  updated_at timestamp,
  state text,
  state_token uuid,
  PRIMARY KEY ((task_list, bucket), id)
)";

/// The raw table's statements: one per operation, as the simplest bucketed
/// design needs them.
pub struct RawStatements {
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

impl RawStatements {
    pub async fn prepare(session: &Session, keyspace: &str) -> Result<Self, String> {
        let table = format!("{keyspace}.{RAW_TABLE}");
        let mut list = prepare(
            session,
            format!("SELECT id, type, data, created_at, updated_at FROM {table} WHERE task_list = ? AND bucket = ?"),
        )
        .await?;
        list.set_page_size(PAGE_SIZE);
        Ok(RawStatements {
            // The initial state and a fresh token, as taskrec's save writes
            // them: a saved task is claimable, in either table.
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

/// The bucket of an id in the raw table. Any stable hash would do for a
/// table of the raw variants' own; taskrec's (`shard_of`) is at hand, and
/// the Python variant computes the same one, so both raw clients write and
/// read the same partitions.
pub fn bucket(id: &str) -> i32 {
    taskrec::cassandra::shard_of(id, BUCKETS) as i32
}

/// Now, to the millisecond, as the timestamp columns store it.
pub fn now() -> CqlTimestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    CqlTimestamp(millis)
}

/// Set (to anything) to run the taskrec variants with
/// `CassandraConfig::owned_parts`: worker processes split each list.
pub const OWNED_PARTS_VAR: &str = "TASKREC_BENCH_OWNED_PARTS";

/// The adapter configuration for taskrec's table or task_rb's.
pub fn adapter_config(addr: &str, keyspace: &str, task_rb: bool) -> CassandraConfig {
    let config = CassandraConfig::new([addr], keyspace)
        .owned_parts(std::env::var_os(OWNED_PARTS_VAR).is_some());
    if task_rb {
        config.table(TASK_RB_TABLE).layout(TableLayout::TaskRb)
    } else {
        config.table(TASKREC_TABLE).layout(TableLayout::Taskrec {
            shards: Some(BUCKETS),
        })
    }
}

/// A fresh keyspace with `replicas` copies of every row (`SimpleStrategy`:
/// 1 on one node, 3 on the cluster run) and the three tables: taskrec's and
/// task_rb's through taskrec's own schema code (so they are exactly what the
/// adapter expects), the raw table with plain CQL. Every variant reads and
/// writes at LOCAL_QUORUM: on three replicas, two answer each request.
pub async fn create_schema(
    session: &Session,
    addr: &str,
    keyspace: &str,
    replicas: u32,
) -> Result<(), String> {
    session
        .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
        .await
        .map_err(|e| format!("dropping keyspace {keyspace}: {e}"))?;
    for task_rb in [false, true] {
        let config = adapter_config(addr, keyspace, task_rb)
            .replication(Replication::Simple(replicas))
            .create_schema(true);
        CassandraAdapter::connect(config)
            .await
            .map_err(|e| format!("creating the schema: {e}"))?;
    }
    let raw = RAW_TABLE_CQL
        .replace("{keyspace}", keyspace)
        .replace("{table}", RAW_TABLE);
    session
        .query_unpaged(raw, ())
        .await
        .map_err(|e| format!("creating {keyspace}.{RAW_TABLE}: {e}"))?;
    Ok(())
}

/// The lists of a run outside any measurement: seeding them before, reading
/// them once untimed, and checking after the run that emptied lists are empty.
/// Each table is written the way its readers expect: the raw and task_rb
/// tables with plain inserts (their layouts are one row per record), taskrec's
/// through `TaskStore::save`, which also writes the listing entries, the
/// directory rows and the ready hints that a plain insert into its table
/// would leave out.
pub struct Lists {
    session: Arc<Session>,
    raw: RawStatements,
    task_rb_insert: PreparedStatement,
    task_rb_list: PreparedStatement,
    taskrec: TaskStore<CassandraAdapter>,
}

impl Lists {
    /// Prepares the raw statements and opens taskrec's table on `session`.
    pub async fn open(session: &Arc<Session>, addr: &str, keyspace: &str) -> Result<Self, String> {
        let task_rb_insert = prepare(
            session,
            format!("INSERT INTO {keyspace}.{TASK_RB_TABLE} (task_list, id, type, data) VALUES (?, ?, ?, ?)"),
        )
        .await?;
        let adapter = CassandraAdapter::with_session(
            Arc::clone(session),
            adapter_config(addr, keyspace, false),
        )
        .await
        .map_err(|e| format!("opening taskrec's table: {e}"))?;
        Ok(Lists {
            session: Arc::clone(session),
            raw: RawStatements::prepare(session, keyspace).await?,
            task_rb_insert,
            task_rb_list: task_rb_list(session, keyspace).await?,
            taskrec: TaskStore::new(adapter),
        })
    }

    /// Writes records `0..n` into `list` of each of `tables`,
    /// [`SEED_CONCURRENCY`] at a time: the lists every variant streams, and
    /// the lists the workers drain.
    pub async fn seed(&self, list: &str, n: u64, tables: &[Table]) -> Result<(), String> {
        for &table in tables {
            self.seed_table(list, n, table).await?;
        }
        Ok(())
    }

    async fn seed_table(&self, list: &str, n: u64, table: Table) -> Result<(), String> {
        let data = crate::payload::template_json();
        let template = crate::payload::template();
        let (data, template) = (data.as_str(), &template);
        futures::stream::iter(0..n)
            .map(|i| async move {
                let id = crate::payload::id(i);
                let type_name = crate::payload::TYPE_NAME;
                match table {
                    Table::Raw => {
                        let at = now();
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
                        self.session
                            .execute_unpaged(&self.raw.insert, values)
                            .await
                            .map(drop)
                            .map_err(|e| e.to_string())
                    }
                    Table::TaskRb => self
                        .session
                        .execute_unpaged(&self.task_rb_insert, (list, &id, type_name, data))
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string()),
                    Table::Taskrec => {
                        let task = Task::new(list, id, template.clone())
                            .map_err(|e| crate::error_chain(&e))?;
                        self.taskrec
                            .save(&task)
                            .await
                            .map_err(|e| crate::error_chain(&e))
                    }
                }
            })
            .buffer_unordered(SEED_CONCURRENCY)
            .try_fold((), |(), ()| async { Ok(()) })
            .await
            .map_err(|e| format!("seeding {list} in the {table} table: {e}"))
    }

    /// Claims records `0..n` of `list` in taskrec's table for `owner` under
    /// `lease`: the tasks another live worker holds, as
    /// `tests/cassandra/claim_next.rs` holds them.
    pub async fn hold(
        &self,
        list: &str,
        n: u64,
        owner: &str,
        lease: Duration,
    ) -> Result<(), String> {
        futures::stream::iter(0..n)
            .map(|i| async move {
                let id = crate::payload::id(i);
                let claim = self.taskrec.claim(list, &id, owner, lease).await;
                match claim.map_err(|e| e.to_string())? {
                    Some(_) => Ok(()),
                    None => Err(format!("{list}/{id} was not claimable")),
                }
            })
            .buffer_unordered(HOLD_CONCURRENCY)
            .try_fold((), |(), ()| async { Ok(()) })
            .await
            .map_err(|e| format!("holding {list}: {e}"))
    }

    /// One claim-next sweep of `list` in taskrec's table, as a live
    /// worker's process sweeps it (on a list without a low mark, a walk that
    /// sets one); how many tasks it handed out.
    pub async fn sweep(&self, list: &str) -> Result<usize, String> {
        let adapter = self.taskrec.adapter();
        let (mut token, mut handed) = (None, 0);
        loop {
            let step = adapter
                .next_ready(list, token.as_ref(), SWEEP_LIMIT, SystemTime::now().into())
                .await
                .map_err(|e| format!("sweeping {list}: {e}"))?;
            handed += step.tasks.len();
            token = step.next;
            if token.is_none() {
                return Ok(handed);
            }
        }
    }

    /// Reads a seeded list of each of `tables` once, untimed, the way its
    /// variants read it, and checks it holds `n` records: the first variant
    /// to stream it must not be the one that pays for a cold server.
    pub async fn read_seeded(&self, list: &str, n: u64, tables: &[Table]) -> Result<(), String> {
        for &table in tables {
            let found = match table {
                Table::Raw => {
                    let mut total = 0;
                    for bucket in 0..BUCKETS as i32 {
                        total +=
                            count_rows::<RawListRow>(&self.session, &self.raw.list, (list, bucket))
                                .await?;
                    }
                    total
                }
                Table::TaskRb => {
                    count_rows::<TaskRbListRow>(&self.session, &self.task_rb_list, (list,)).await?
                }
                Table::Taskrec => self
                    .taskrec
                    .adapter()
                    .all(list)
                    .try_fold(0u64, |n, _| async move { Ok(n + 1) })
                    .await
                    .map_err(|e| e.to_string())?,
            };
            if found != n {
                return Err(format!(
                    "the {table} table holds {found} records of {list}, not {n}"
                ));
            }
        }
        Ok(())
    }

    /// Whether `list` of `table` still holds record `id`, read by key.
    pub async fn holds(&self, table: Table, list: &str, id: &str) -> Result<bool, String> {
        match table {
            Table::Raw => {
                let rows = self
                    .session
                    .execute_unpaged(&self.raw.find, (list, bucket(id), id))
                    .await
                    .map_err(|e| e.to_string())?
                    .into_rows_result()
                    .map_err(|e| e.to_string())?;
                Ok(rows.rows_num() != 0)
            }
            Table::Taskrec => Ok(self
                .taskrec
                .adapter()
                .find(list, id)
                .await
                .map_err(|e| e.to_string())?
                .is_some()),
            Table::TaskRb => Err("no workload empties task_rb's table".to_owned()),
        }
    }

    /// How many records a listing of `list` in taskrec's table still finds:
    /// a completion must remove the task's listing entry with its row.
    pub async fn taskrec_count(&self, list: &str) -> Result<u64, String> {
        self.taskrec.count(list).await.map_err(|e| e.to_string())
    }
}

/// Reads every row of one partition through the driver's pager, decoded as
/// the variants decode them, and counts them.
async fn count_rows<R>(
    session: &Session,
    statement: &PreparedStatement,
    values: impl scylla::serialize::row::SerializeRow,
) -> Result<u64, String>
where
    R: for<'frame, 'metadata> scylla::deserialize::row::DeserializeRow<'frame, 'metadata>,
{
    let pager = session
        .execute_iter(statement.clone(), values)
        .await
        .map_err(|e| e.to_string())?;
    pager
        .rows_stream::<R>()
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
        .try_fold(0u64, |n, _| async move { Ok(n + 1) })
        .await
}
