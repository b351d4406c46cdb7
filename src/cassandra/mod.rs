//! The Apache Cassandra / ScyllaDB adapter, on the `scylla` driver (cargo
//! feature `cassandra`).
//!
//! Every statement is prepared once when the adapter connects, and every
//! value is bound: task lists, ids and data never become CQL text. Only the
//! keyspace and table names are part of the statements, and those are
//! checked to be plain identifiers first.
//!
//! Two table layouts sit behind the one adapter ([`TableLayout`]):
//! taskrec's own, one partition per task, listed from entries that no
//! completed task's tombstone can pile up in ([`listing`]), and task_rb's,
//! read and written as that gem does, so a deployment can move over without
//! a migration.
//!
//! # Taskrec's table: what each operation costs
//!
//! | operation | requests | partitions |
//! | --- | --- | --- |
//! | `find`, `load_state` | one read | the task's |
//! | `save` | one read (where its entry is), then one unlogged batch (row, entry, ready hint); once a minute per list and process, the directory rows first | the task's, its entry's, a hint's |
//! | claim, renewal, retry (`swap_state`) | the hint, then one lightweight transaction | the task's, a hint's |
//! | completion (`swap_state` to `None`) | one read, one batch of two deletes | the task's, its entry's |
//! | `delete` | one read, one batch of two deletes | the task's, its entry's |
//! | `page`, `all`, `count` | the directory (a partition per day with live tasks), then the entries of each minute not drained, `buckets` partitions each | entries |
//!
//! ```no_run
//! # async fn run() -> taskrec::Result<()> {
//! use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
//! use taskrec::TaskStore;
//!
//! let config = CassandraConfig::new(["127.0.0.1:9042"], "my_tasks").create_schema(true);
//! let store = TaskStore::new(CassandraAdapter::connect(config).await?);
//! # Ok(()) }
//! ```
//!
//! # Durability
//!
//! A save that returned `Ok` was acknowledged by as many replicas as the
//! write consistency asks for. Whether an acknowledged write survives a
//! crash of those replicas depends on the server's `commitlog_sync`: with
//! `batch` or `group` the write is on disk before the acknowledgement; with
//! `periodic` (Cassandra's default, every 10 s) a crash can lose the last
//! seconds of acknowledged writes on that node.
//!
//! # Claims and clocks
//!
//! Claims are lightweight transactions on the task's row (`IF state_token
//! = ?`, at SERIAL unless [`CassandraConfig::serial_consistency`] says
//! otherwise); saves and deletes are plain writes. Completing a claimed
//! task (`swap_state` to `None`, what [`TaskStore::succeed`](crate::TaskStore::succeed)
//! does) is no second Paxos round: it reads the token and the time the
//! claim (or its last renewal) wrote it, at the write consistency, and
//! deletes the row `USING TIMESTAMP` that time. So one drained task costs
//! one Paxos round, and a save that lands after the claim's last write
//! survives the delete whole. Cassandra orders the two
//! kinds by timestamp: Paxos ballots for the first, the coordinator's (or
//! the driver's) clock for the second. Keep the clocks of Cassandra nodes
//! and clients in sync (NTP): a save whose timestamp falls behind a claim's
//! on the same row by clock skew can be shadowed by it.
//!
//! # Claim-next: the ready index
//!
//! On taskrec's table, a worker does not read the list to find work:
//! [`next_ready`](crate::StorageAdapter::next_ready) reads the **ready
//! index** (`schema/ready.cql`), hints written beside every save (due now),
//! claim and renewal (due at the lease's end) and retry (due at the
//! backoff's end). A sweep reads the hints due by now from where this
//! process's last sweep of the list ended, loads the hinted tasks' states
//! and hands out the claimable ones, so it reads in proportion to what
//! became due, not to the list: tasks held by a live worker are read once
//! per lease, when their hint comes due. What it costs and what it
//! guarantees: one more small write per save, claim and renewal; every
//! [`LOW_EVERY`](ready::LOW_EVERY) a sweep starts at the list's low mark
//! instead; a sweep that finds nothing ready and no hint due within
//! [`LOOK_AHEAD_SLICES`](ready::LOOK_AHEAD_SLICES) slices walks the list
//! (the only way to know it is drained), and each process walks each list
//! it sweeps every [`WALK_EVERY`](ready::WALK_EVERY), which finds any task
//! whose hint was lost. `docs/SCALE.md` has the reasoning and the figures.
//!
//! A task saved with a time-to-live and then claimed: the claim's state
//! cells carry no TTL and outlive the record; the adapter treats such a row
//! (no type, no data) as absent when finding, so the task is gone as
//! expected (its listing entry expires with the record, so listings and
//! `count` no longer see it either); the row's few state cells stay until
//! deleted.

mod bucket;
mod config;
mod history;
pub mod listing;
pub mod ready;
mod schema;
#[cfg(feature = "cassandra-tls")]
mod tls;

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::response::{PagingState, PagingStateResponse};
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;

use crate::adapter::{Capabilities, Page, PageToken, StorageAdapter};
use crate::error::{Error, Result};
use crate::history::{HistoryEntry, HistoryRetention};
use crate::ready::ReadyTasks;
use crate::record::TaskRecord;
use crate::state::{StateToken, StoredState, INITIAL_STATE_JSON};

pub use bucket::bucket_of;
use bucket::Position;
pub use config::{
    CassandraConfig, Consistency, Replication, Retry, SerialConsistency, TableLayout,
    DEFAULT_BUCKETS, MAX_BUCKETS,
};
pub use ready::ReadyReads;
pub use schema::{schema_statements, SCHEMA_VERSION};
#[cfg(feature = "cassandra-tls")]
pub use tls::TlsConfig;

pub(crate) const ADAPTER: &str = "cassandra";

/// The longest time-to-live Cassandra accepts: 20 years.
///
/// ```
/// use std::time::Duration;
/// let years = taskrec::cassandra::MAX_TTL.as_secs() / (365 * 24 * 60 * 60);
/// assert_eq!(years, 20);
/// ```
pub const MAX_TTL: Duration = Duration::from_secs(630_720_000);

/// A save below this goes to the server as one batch of its row and its
/// hint (Cassandra's `batch_size_warn_threshold` is 5 KiB).
const BATCHED_BYTES: usize = 4 * 1024;

/// About what a save's batch weighs: the row's and the entry's text and the
/// hint's keys.
fn batched_bytes(record: &TaskRecord) -> usize {
    3 * (record.task_list().len() + record.id().len())
        + 2 * (record.type_name().len() + record.data().len())
}

/// One statement's values, for statements of different shapes sent together.
type BoxedRow<'a> = Box<dyn scylla::serialize::row::SerializeRow + Send + Sync + 'a>;

fn storage(e: impl Into<crate::error::BoxError>) -> Error {
    Error::storage(ADAPTER, e)
}

/// The layout with its bucket count settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Bucketed { buckets: u32 },
    TaskRb,
}

impl Layout {
    /// Partitions per list: task_rb's table keeps a list in one.
    fn buckets(self) -> u32 {
        match self {
            Layout::Bucketed { buckets } => buckets,
            Layout::TaskRb => 1,
        }
    }
}

/// The prepared statements of one layout's tasks table. Their bind markers
/// are in the same order for both layouts.
struct Statements {
    /// Bucketed: insert with `USING TTL ?`. task_rb: a plain insert
    /// `USING TIMESTAMP ? AND TTL ?`, as task_rb writes (no clearing delete).
    insert: PreparedStatement,
    find: PreparedStatement,
    delete: PreparedStatement,
    /// task_rb's table only: listing and counting its one partition per list
    /// (taskrec's table lists its entries: see [`listing`]).
    task_rb: Option<TaskRbStatements>,
    /// Bucketed only: the state and its token, and the two conditional writes.
    state: Option<StateStatements>,
}

struct TaskRbStatements {
    list: PreparedStatement,
    count: PreparedStatement,
}

struct StateStatements {
    /// The slice a task's listing entry is in (null: no task).
    locate: PreparedStatement,
    load: PreparedStatement,
    /// Gives a row written without a token (by another tool) its first one.
    adopt: PreparedStatement,
    swap: PreparedStatement,
    /// The current token, the time it was written and the entry's slice,
    /// for a fenced delete.
    fence_read: PreparedStatement,
    /// A plain delete `USING TIMESTAMP` the current token's write time.
    fenced_delete: PreparedStatement,
}

/// Task records in a Cassandra or ScyllaDB table.
///
/// Cheap to share: wrap it in a [`TaskStore`](crate::TaskStore) or an `Arc`
/// and use it from many tasks at once; the driver multiplexes requests over
/// its connections.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use std::sync::Arc;
/// use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
/// use taskrec::{StorageAdapter, TaskStore};
/// let config = CassandraConfig::new(["127.0.0.1:9042"], "my_tasks");
/// let adapter = Arc::new(CassandraAdapter::connect(config).await?);
/// let (orders, invoices) = (TaskStore::from_arc(Arc::clone(&adapter)), TaskStore::from_arc(adapter));
/// assert_eq!(orders.adapter().name(), invoices.adapter().name()); // one session, shared
/// # Ok(()) }
/// ```
pub struct CassandraAdapter {
    session: Arc<Session>,
    layout: Layout,
    statements: Statements,
    table: String,
    history: history::HistoryTable,
    /// Taskrec's table only: the entries that listings read.
    listing: Option<listing::Listing>,
    /// Taskrec's table only: hints for claim-next.
    ready: Option<ready::ReadyIndex>,
    write_consistency: Consistency,
}

impl fmt::Debug for CassandraAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CassandraAdapter")
            .field("table", &self.table)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

/// Microsecond write timestamps that never repeat or go back within this
/// process, for task_rb's table: its reads take the newest row of an id by
/// write time, so two saves from one process must never tie or reorder.
fn next_write_timestamp() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 2);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// A stored timestamp (null: 1970). Cassandra holds any 64-bit count of
/// milliseconds, chrono only about ±262,000 years: a value beyond that, which
/// only another writer can leave, is clamped, so the record still reads and
/// lists (an error here would fail the whole page it is on).
fn timestamp(value: Option<CqlTimestamp>) -> DateTime<Utc> {
    let millis = value.map_or(0, |t| t.0);
    Utc.timestamp_millis_opt(millis)
        .single()
        .unwrap_or(if millis < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

fn ttl_seconds(ttl: Option<Duration>) -> Result<i32> {
    match ttl {
        None => Ok(0),
        Some(ttl) if ttl.is_zero() || ttl > MAX_TTL => Err(config::invalid(format!(
            "time-to-live {ttl:?} is not between 1 s and 20 years"
        ))),
        // Below one second rounds up: a TTL of 0 would mean "no expiry".
        Some(ttl) => Ok(i32::try_from(ttl.as_secs().max(1)).unwrap_or(i32::MAX)),
    }
}

/// A bucketed row. Columns that a foreign writer may have left null are
/// optional: such a record still lists, and fails only when decoded. A row
/// with neither type nor data is no record: only state cells written after
/// a record saved with a TTL expired (they carry no TTL) remain of it.
type BucketedRow = (
    Option<String>,
    Option<String>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);
/// A bucketed row with its state: type, data, timestamps, state, token.
type StateRow = (
    Option<String>,
    Option<String>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
    Option<String>,
    Option<uuid::Uuid>,
);
/// A task_rb row: type, data, and the write time of data in microseconds.
type TaskRbRow = (String, Option<String>, Option<i64>);
type TaskRbListRow = (String, String, Option<String>, Option<i64>);

fn bucketed_record(task_list: &str, id: String, row: BucketedRow) -> Result<TaskRecord> {
    let (type_name, data, created, updated) = row;
    Ok(TaskRecord::stored(
        task_list,
        id,
        type_name.unwrap_or_default(),
        data.unwrap_or_default(),
        timestamp(created),
        timestamp(updated),
    ))
}

fn task_rb_record(task_list: &str, id: String, row: TaskRbRow) -> Result<TaskRecord> {
    let (type_name, data, written_micros) = row;
    let written = timestamp(written_micros.map(|us| CqlTimestamp(us.div_euclid(1000))));
    Ok(TaskRecord::stored(
        task_list,
        id,
        type_name,
        data.unwrap_or_default(),
        written,
        written,
    ))
}

impl CassandraAdapter {
    /// Connects to the cluster, creates the schema if asked to, checks the
    /// table and prepares every statement.
    ///
    /// Fails with [`Error::InvalidConfig`] for a bad keyspace or table name,
    /// a missing table, or a bucket count that contradicts the table's, and
    /// with [`Error::Storage`] when the cluster cannot be reached.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
    /// use taskrec::StorageAdapter;
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "my_tasks").create_schema(true);
    /// let adapter = CassandraAdapter::connect(config).await?;
    /// assert!(adapter.capabilities().conditional_writes()); // taskrec's table keeps task state
    /// # Ok(()) }
    /// ```
    pub async fn connect(config: CassandraConfig) -> Result<Self> {
        config.validate()?;
        let profile = ExecutionProfile::builder()
            .consistency(config.read_consistency)
            .request_timeout(config.request_timeout)
            .retry_policy(config.retry.policy())
            .build();
        let mut builder = SessionBuilder::new()
            .known_nodes(&config.contact_points)
            .connection_timeout(config.connect_timeout)
            .default_execution_profile_handle(profile.into_handle());
        if let Some((user, password)) = &config.credentials {
            builder = builder.user(user, password);
        }
        #[cfg(feature = "cassandra-tls")]
        if let Some(tls) = &config.tls {
            builder = builder.tls_context(Some(tls.tls_context()?));
        }
        let session = builder.build().await.map_err(storage)?;
        Self::with_session(Arc::new(session), config).await
    }

    /// Uses a session the caller already has (its execution profile, retry
    /// policy and timeouts stay as they are; the configured consistencies
    /// are set on every statement).
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use std::sync::Arc;
    /// use scylla::client::session_builder::SessionBuilder;
    /// use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
    /// let session = SessionBuilder::new().known_node("127.0.0.1:9042").build().await
    ///     .map_err(|e| taskrec::Error::storage("cassandra", e))?;
    /// let session = Arc::new(session);
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "my_tasks");
    /// let adapter = CassandraAdapter::with_session(Arc::clone(&session), config).await?;
    /// assert!(Arc::ptr_eq(adapter.session(), &session));
    /// # Ok(()) }
    /// ```
    pub async fn with_session(session: Arc<Session>, config: CassandraConfig) -> Result<Self> {
        config.validate()?;
        if config.create_schema {
            schema::create(&session, &config).await?;
        }
        let layout = match config.layout {
            TableLayout::TaskRb => Layout::TaskRb,
            TableLayout::Bucketed { buckets } => Layout::Bucketed {
                buckets: schema::recorded_buckets(&session, &config, buckets).await?,
            },
        };
        let statements = prepare(&session, &config, layout).await?;
        let ready = match layout {
            Layout::Bucketed { .. } if config.keeps_ready_index() => Some(
                ready::ReadyIndex::prepare(
                    &session,
                    &format!("{}.{}_ready", config.keyspace, config.table),
                    &format!("{}.{}_ready_low", config.keyspace, config.table),
                    config.read_consistency,
                    config.write_consistency,
                )
                .await?,
            ),
            Layout::Bucketed { .. } | Layout::TaskRb => None,
        };
        let listing = match layout {
            Layout::Bucketed { buckets } => Some(
                listing::Listing::prepare(
                    &session,
                    &format!("{}.{}", config.keyspace, config.table),
                    buckets,
                    config.list_concurrency,
                    config.page_size,
                    config.read_consistency,
                    config.write_consistency,
                )
                .await?,
            ),
            Layout::TaskRb => None,
        };
        Ok(CassandraAdapter {
            session,
            layout,
            statements,
            table: format!("{}.{}", config.keyspace, config.table),
            history: history::HistoryTable::new(
                format!("{}.{}", config.keyspace, config.history_table_name()),
                config.read_consistency,
                config.write_consistency,
            ),
            listing,
            ready,
            write_consistency: config.write_consistency,
        })
    }

    /// The driver session, for what the adapter does not cover.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
    /// let adapter = CassandraAdapter::connect(CassandraConfig::new(["127.0.0.1:9042"], "my_tasks")).await?;
    /// fn storage(e: impl Into<taskrec::BoxError>) -> taskrec::Error { taskrec::Error::storage("cassandra", e) }
    /// let result = adapter.session()
    ///     .query_unpaged("SELECT release_version FROM system.local", ()).await.map_err(storage)?;
    /// assert_eq!(result.into_rows_result().map_err(storage)?.rows_num(), 1);
    /// # Ok(()) }
    /// ```
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// The table's bucket count: the shards of each minute of a list's
    /// listing entries (see [`TableLayout::Bucketed`]); 1 for task_rb's
    /// table, which keeps a list in one partition.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::cassandra::{bucket_of, CassandraAdapter, CassandraConfig, TableLayout};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "my_tasks")
    ///     .layout(TableLayout::Bucketed { buckets: None }); // whatever the table records
    /// let adapter = CassandraAdapter::connect(config).await?;
    /// assert!(bucket_of("file1", adapter.buckets()) < adapter.buckets()); // "file1"'s shard
    /// # Ok(()) }
    /// ```
    pub fn buckets(&self) -> u32 {
        self.layout.buckets()
    }

    /// What claim-next sweeps of this adapter have read so far: hint rows,
    /// task states, and records listed by walks (see [`ready`](self#claim-next-the-ready-index)).
    /// Zero on task_rb's table, which has no claims.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
    /// let adapter = CassandraAdapter::connect(CassandraConfig::new(["127.0.0.1:9042"], "my_tasks")).await?;
    /// assert_eq!(adapter.ready_reads().hints, 0); // nothing swept yet
    /// # Ok(()) }
    /// ```
    pub fn ready_reads(&self) -> ReadyReads {
        self.ready
            .as_ref()
            .map(ready::ReadyIndex::reads)
            .unwrap_or_default()
    }

    fn state_statements(&self) -> Result<&StateStatements> {
        self.statements.state.as_ref().ok_or(Error::Unsupported {
            adapter: ADAPTER,
            operation: "task state on task_rb's table (it has no state columns)",
        })
    }

    /// Taskrec's table: its listing entries.
    fn listing(&self) -> Result<&listing::Listing> {
        self.listing.as_ref().ok_or(Error::Unsupported {
            adapter: ADAPTER,
            operation: "listing entries on task_rb's table",
        })
    }

    /// Taskrec's table: the slice of the task's listing entry, read at the
    /// write consistency (so a save or delete sees the last save's).
    async fn locate(&self, task_list: &str, id: &str) -> Result<Option<i64>> {
        let statements = self.state_statements()?;
        let row = self
            .session
            .execute_unpaged(&statements.locate, (task_list, id))
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?
            .maybe_first_row::<(Option<i64>,)>()
            .map_err(storage)?;
        Ok(row.and_then(|(slice,)| slice))
    }

    /// Sends statements that belong together, of one or several partitions:
    /// as one unlogged batch while they are small (one request), else as
    /// separate requests at once. Either way a failure is the caller's error,
    /// and doing it all again is safe (every statement is idempotent).
    async fn send_together(
        &self,
        parts: Vec<(&PreparedStatement, BoxedRow<'_>)>,
        bytes: usize,
    ) -> Result<()> {
        if bytes < BATCHED_BYTES {
            let mut batch = Batch::new(BatchType::Unlogged);
            let mut values = Vec::with_capacity(parts.len());
            for (statement, row) in parts {
                batch.append_statement(statement.clone());
                values.push(row);
            }
            batch.set_consistency(self.write_consistency);
            batch.set_is_idempotent(true);
            self.session.batch(&batch, values).await.map_err(storage)?;
        } else {
            futures::future::try_join_all(
                parts
                    .into_iter()
                    .map(|(statement, row)| self.session.execute_unpaged(statement, row)),
            )
            .await
            .map_err(storage)?;
        }
        Ok(())
    }

    /// task_rb's table: the newest of an id's rows (task_rb itself may
    /// have left one row per type under an id; the newest write is the task).
    async fn newest_task_rb_row(&self, task_list: &str, id: &str) -> Result<Option<TaskRbRow>> {
        let rows = self
            .session
            .execute_unpaged(&self.statements.find, (task_list, id))
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?;
        let mut newest: Option<TaskRbRow> = None;
        for row in rows.rows::<TaskRbRow>().map_err(storage)? {
            let row = row.map_err(storage)?;
            if newest.as_ref().is_none_or(|n| row.2 > n.2) {
                newest = Some(row);
            }
        }
        Ok(newest)
    }

    /// task_rb's table: the list's distinct ids, read as a stream of ids
    /// (an id saved under two types has two rows, and counts once, as it
    /// lists once).
    async fn count_task_rb_ids(&self, task_list: &str) -> Result<u64> {
        let ids = self
            .session
            .execute_iter(self.task_rb_statements()?.count.clone(), (task_list,))
            .await
            .map_err(storage)?
            .rows_stream::<(String,)>()
            .map_err(storage)?;
        let (count, _) = ids
            .map_err(storage)
            .try_fold((0u64, None::<String>), |(count, last), (id,)| async move {
                Ok(if last.as_deref() == Some(id.as_str()) {
                    (count, last)
                } else {
                    (count + 1, Some(id))
                })
            })
            .await?;
        Ok(count)
    }

    /// Deletes the record if `expected` is still its token, without a
    /// lightweight transaction: one read of the token and the time it was
    /// written, then a plain delete `USING TIMESTAMP` that time.
    ///
    /// The delete removes exactly what was written up to the token's write
    /// (the claimed version and every state change of the claim), and
    /// nothing written after it: a save that lands between the read and the
    /// delete carries a later timestamp and survives whole. That ordering
    /// holds while the clocks of clients and Cassandra nodes agree (NTP),
    /// the same assumption plain saves beside claims already make.
    async fn fenced_delete(
        &self,
        statements: &StateStatements,
        task_list: &str,
        id: &str,
        expected: &StateToken,
    ) -> Result<Option<StateToken>> {
        let current = self
            .session
            .execute_unpaged(&statements.fence_read, (task_list, id))
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?
            .maybe_first_row::<(Option<uuid::Uuid>, Option<i64>, Option<i64>)>()
            .map_err(storage)?;
        let (written_at, slice) = match current {
            Some((Some(token), Some(written_at), slice)) if token == expected.as_uuid() => {
                (written_at, slice)
            }
            _ => return Ok(None), // absent, or changed since the caller's token
        };
        let mut parts: Vec<(&PreparedStatement, BoxedRow<'_>)> = vec![(
            &statements.fenced_delete,
            Box::new((written_at, task_list, id)),
        )];
        if let Some(slice) = slice {
            let listing = self.listing()?;
            parts.push((
                listing.fenced_delete_statement(),
                Box::new((written_at, task_list, slice, listing.shard(id), id)),
            ));
        }
        self.send_together(parts, 0).await?;
        Ok(Some(*expected))
    }

    async fn write(&self, record: &TaskRecord, ttl: Option<Duration>) -> Result<()> {
        let ttl_given = ttl;
        let ttl = ttl_seconds(ttl)?;
        let (list, id) = (record.task_list(), record.id());
        match self.layout {
            Layout::TaskRb => {
                let values = (
                    list,
                    id,
                    record.type_name(),
                    record.data(),
                    next_write_timestamp(),
                    ttl,
                );
                self.session
                    .execute_unpaged(&self.statements.insert, values)
                    .await
                    .map_err(storage)?;
            }
            Layout::Bucketed { .. } => self.write_bucketed(record, ttl, ttl_given).await?,
        }
        Ok(())
    }

    /// A save to taskrec's table: where the task's entry is (one read by
    /// key), then its row, its entry and its ready hint together (and the
    /// removal of the entry it moves out of, if it moves).
    async fn write_bucketed(
        &self,
        record: &TaskRecord,
        ttl: i32,
        ttl_given: Option<Duration>,
    ) -> Result<()> {
        let (list, id) = (record.task_list(), record.id());
        let listing = self.listing()?;
        let now = Utc::now();
        let (slice, moved_from) = listing::Listing::place(self.locate(list, id).await?, now);
        listing.register(&self.session, list, slice).await?;
        let shard = listing.shard(id);
        let (created, updated) = (
            CqlTimestamp(record.created_at().timestamp_millis()),
            CqlTimestamp(record.updated_at().timestamp_millis()),
        );
        let (type_name, data) = (record.type_name(), record.data());
        let row = (
            list,
            id,
            type_name,
            data,
            created,
            updated,
            INITIAL_STATE_JSON,
            uuid::Uuid::new_v4(),
            slice,
            ttl,
        );
        let entry = (
            list, slice, shard, id, type_name, data, created, updated, ttl,
        );
        let mut parts: Vec<(&PreparedStatement, BoxedRow<'_>)> = vec![
            (&self.statements.insert, Box::new(row)),
            (listing.insert_statement(), Box::new(entry)),
        ];
        // Should the hint fail where the row did not, the save answers the
        // error (a save again writes both), and a walk finds the task
        // meanwhile.
        if let Some(ready) = &self.ready {
            parts.push((
                ready.insert_statement(),
                Box::new(ready::ReadyIndex::hint_values(list, id, now, ttl_given)),
            ));
        }
        if let Some(old) = moved_from {
            parts.push((listing.delete_statement(), Box::new((list, old, shard, id))));
        }
        // Past a few kilobytes the server warns about a batch, and fails it
        // at 50: a large record goes as separate requests at once instead.
        self.send_together(parts, batched_bytes(record)).await
    }

    /// task_rb's table: a page of its one partition per list, one record per id.
    async fn task_rb_page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        let mut at = match token {
            None => Position::start(),
            Some(token) => Position::decode(token, 1)?,
        };
        let mut statement = self.task_rb_statements()?.list.clone();
        statement.set_page_size(i32::try_from(page_size.max(1)).unwrap_or(i32::MAX));
        // Empty buckets (and pages emptied by tombstones) are skipped here,
        // so a caller sees an empty page only at the very end.
        loop {
            let paging = if at.paging_state.is_empty() {
                PagingState::start()
            } else {
                PagingState::new_from_raw_bytes(at.paging_state.as_slice())
            };
            let (result, more) = self
                .session
                .execute_single_page(&statement, (task_list,), paging)
                .await
                .map_err(storage)?;
            let rows = result.into_rows_result().map_err(storage)?;
            let records = {
                let rows = rows
                    .rows::<TaskRbListRow>()
                    .map_err(storage)?
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(storage)?;
                // The rows of an id that the previous page ended on were
                // listed there; the next page skips this one's last id.
                let continued = at.after_id.take();
                if let Some(last) = rows.last() {
                    at.after_id = Some(last.0.clone());
                } else {
                    at.after_id = continued.clone();
                }
                let mut rows: Vec<TaskRbListRow> = newest_per_id(
                    rows.into_iter()
                        .filter(|row| continued.as_deref() != Some(row.0.as_str())),
                )
                .collect();
                // The page's last id may have more rows on the next page,
                // which will skip them: read all of its rows now, so the
                // newest is the one listed.
                if let (Some(last), PagingStateResponse::HasMorePages { .. }) =
                    (rows.last_mut(), &more)
                {
                    if let Some(newest) = self.newest_task_rb_row(task_list, &last.0).await? {
                        (last.1, last.2, last.3) = newest;
                    }
                }
                rows.into_iter()
                    .map(|(id, t, d, w)| task_rb_record(task_list, id, (t, d, w)))
                    .collect::<Result<Vec<_>>>()?
            };
            let next = match more {
                PagingStateResponse::HasMorePages { state } => Some(Position {
                    bucket: at.bucket,
                    paging_state: state
                        .as_bytes_slice()
                        .map(|b| b.to_vec())
                        .unwrap_or_default(),
                    after_id: at.after_id.clone(),
                }),
                PagingStateResponse::NoMorePages => None,
            };
            match next {
                Some(next) if records.is_empty() => at = next,
                next => {
                    return Ok(Page {
                        records,
                        next: next.map(|p| p.encode()),
                    })
                }
            }
        }
    }

    /// task_rb's table: a list's records as a stream, through the driver's
    /// pager, one record per id (the newest row).
    fn task_rb_stream<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Result<TaskRecord>> {
        stream::once(async move {
            let list = &self.task_rb_statements()?.list;
            let rows = self
                .session
                .execute_iter(list.clone(), (task_list,))
                .await
                .map_err(storage)?
                .rows_stream::<TaskRbListRow>()
                .map_err(storage)?
                .map_err(storage)
                .boxed();
            Ok::<_, Error>(newest_per_id_stream(rows).and_then(move |(id, t, d, w)| {
                futures::future::ready(task_rb_record(task_list, id, (t, d, w)))
            }))
        })
        .try_flatten()
        .boxed()
    }

    fn task_rb_statements(&self) -> Result<&TaskRbStatements> {
        self.statements.task_rb.as_ref().ok_or(Error::Unsupported {
            adapter: ADAPTER,
            operation: "task_rb's listing on taskrec's table",
        })
    }
}

/// A lightweight transaction: not idempotent, since a retry after an
/// unknown outcome would see its own write and report a conflict.
fn lwt(serial: SerialConsistency, mut statement: PreparedStatement) -> PreparedStatement {
    statement.set_is_idempotent(false);
    statement.set_serial_consistency(Some(serial));
    statement
}

async fn prepare(
    session: &Session,
    config: &CassandraConfig,
    layout: Layout,
) -> Result<Statements> {
    let table = format!("{}.{}", config.keyspace, config.table);
    let (read, write) = (config.read_consistency, config.write_consistency);
    let prepare = |cql: String, consistency: Consistency| async move {
        let mut statement = session.prepare(cql.as_str()).await.map_err(|e| {
            config::invalid(format!(
                "preparing `{cql}` failed (does the table exist and have the {layout:?} layout?): {e}"
            ))
        })?;
        statement.set_consistency(consistency);
        statement.set_is_idempotent(true);
        Ok::<_, Error>(statement)
    };
    let statements = match layout {
        Layout::Bucketed { .. } => Statements {
            insert: prepare(
                format!(
                    "INSERT INTO {table} (task_list, id, type, data, created_at, updated_at, state, state_token, slice) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?"
                ),
                write,
            )
            .await?,
            find: prepare(
                format!("SELECT type, data, created_at, updated_at FROM {table} WHERE task_list = ? AND id = ?"),
                read,
            )
            .await?,
            delete: prepare(format!("DELETE FROM {table} WHERE task_list = ? AND id = ?"), write).await?,
            task_rb: None,
            state: Some(StateStatements {
                locate: prepare(
                    format!("SELECT slice FROM {table} WHERE task_list = ? AND id = ?"),
                    write,
                )
                .await?,
                load: prepare(
                    format!(
                        "SELECT type, data, created_at, updated_at, state, state_token \
                         FROM {table} WHERE task_list = ? AND id = ?"
                    ),
                    read,
                )
                .await?,
                // `type = ?` keeps a deleted row from being recreated:
                // a missing row's cells all count as null.
                adopt: lwt(config.serial_consistency, prepare(
                    format!(
                        "UPDATE {table} SET state_token = ? \
                         WHERE task_list = ? AND id = ? IF state_token = null AND type = ?"
                    ),
                    write,
                )
                .await?),
                swap: lwt(config.serial_consistency, prepare(
                    format!(
                        "UPDATE {table} SET state = ?, state_token = ? \
                         WHERE task_list = ? AND id = ? IF state_token = ?"
                    ),
                    write,
                )
                .await?),
                // Read at the write consistency: the level a claim's
                // Paxos round commits at, so the read sees it.
                fence_read: prepare(
                    format!(
                        "SELECT state_token, WRITETIME(state_token), slice \
                         FROM {table} WHERE task_list = ? AND id = ?"
                    ),
                    write,
                )
                .await?,
                fenced_delete: prepare(
                    format!("DELETE FROM {table} USING TIMESTAMP ? WHERE task_list = ? AND id = ?"),
                    write,
                )
                .await?,
            }),
        },
        Layout::TaskRb => {
            let mut list = prepare(
                format!("SELECT id, type, data, WRITETIME(data) FROM {table} WHERE task_list = ?"),
                read,
            )
            .await?;
            list.set_page_size(i32::try_from(config.page_size).unwrap_or(i32::MAX));
            let clear = prepare(
                format!("DELETE FROM {table} USING TIMESTAMP ? WHERE task_list = ? AND id = ?"),
                write,
            )
            .await?;
            // A plain insert, as task_rb writes: a save under a new type
            // leaves the id's older row, which reads skip (newest wins).
            // Clearing it with a delete per save would write a range
            // tombstone on every save, which listings then scan.
            let insert = prepare(
                format!("INSERT INTO {table} (task_list, id, type, data) VALUES (?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?"),
                write,
            )
            .await?;
            Statements {
                insert,
                find: prepare(format!("SELECT type, data, WRITETIME(data) FROM {table} WHERE task_list = ? AND id = ?"), read).await?,
                delete: clear,
                task_rb: Some(TaskRbStatements {
                    list,
                    // Ids, not COUNT(*): an id may have a row per type.
                    count: prepare(format!("SELECT id FROM {table} WHERE task_list = ?"), read).await?,
                }),
                state: None,
            }
        }
    };
    Ok(statements)
}

#[async_trait]
impl StorageAdapter for CassandraAdapter {
    fn name(&self) -> &'static str {
        ADAPTER
    }

    /// Time-to-live always; timestamps on taskrec's table only (task_rb's
    /// has no columns for them: both read as the data cell's write time).
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_time_to_live(true)
            .with_keeps_timestamps(self.layout != Layout::TaskRb)
            .with_conditional_writes(self.statements.state.is_some())
    }

    async fn load_state(&self, task_list: &str, id: &str) -> Result<Option<StoredState>> {
        let statements = self.state_statements()?;
        for _ in 0..2 {
            let row = self
                .session
                .execute_unpaged(&statements.load, (task_list, id))
                .await
                .map_err(storage)?
                .into_rows_result()
                .map_err(storage)?
                .maybe_first_row::<StateRow>()
                .map_err(storage)?;
            let Some((Some(type_name), data, created, updated, state, token)) = row else {
                // No row, or only state cells outliving a record saved with a
                // TTL: no task either way.
                return Ok(None);
            };
            let Some(token) = token else {
                // Written without a token (by another tool): give it one,
                // conditionally, then read again.
                let values = (uuid::Uuid::new_v4(), task_list, id, type_name.as_str());
                self.session
                    .execute_unpaged(&statements.adopt, values)
                    .await
                    .map_err(storage)?;
                continue;
            };
            let record = bucketed_record(
                task_list,
                id.to_owned(),
                (Some(type_name), data, created, updated),
            )?;
            return Ok(Some(StoredState {
                json: state.unwrap_or_else(|| INITIAL_STATE_JSON.to_owned()),
                token: StateToken::from_uuid(token),
                record,
            }));
        }
        Err(storage(format!(
            "the state token of {task_list:?}/{id:?} keeps disappearing"
        )))
    }

    async fn swap_state(
        &self,
        task_list: &str,
        id: &str,
        expected: &StateToken,
        new: Option<&str>,
    ) -> Result<Option<StateToken>> {
        let statements = self.state_statements()?;
        let Some(state) = new else {
            let deleted = self
                .fenced_delete(statements, task_list, id, expected)
                .await?;
            if let Some(ready) = &self.ready {
                ready.changed(task_list, id, None, deleted.is_some());
            }
            return Ok(deleted);
        };
        // The hint first: if the state change lands, its hint is there; a
        // hint whose change did not land only costs a state read.
        let mut hint = None;
        if let Some(ready) = &self.ready {
            if let Some(from) = crate::state::TaskState::from_json(state)
                .ok()
                .and_then(|s| s.claimable_from())
            {
                hint = Some(ready.hint(&self.session, task_list, id, from).await?);
            }
        }
        let token = uuid::Uuid::new_v4();
        let values = (state, token, task_list, id, expected.as_uuid());
        let row = self
            .session
            .execute_unpaged(&statements.swap, values)
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?
            .maybe_first_row::<scylla::value::Row>()
            .map_err(storage)?;
        let applied = matches!(
            row.as_ref().and_then(|r| r.columns.first()),
            Some(Some(scylla::value::CqlValue::Boolean(true)))
        );
        if let Some(ready) = &self.ready {
            ready.changed(task_list, id, hint, applied);
        }
        Ok(applied.then(|| StateToken::from_uuid(token)))
    }

    async fn store(&self, record: &TaskRecord) -> Result<()> {
        self.write(record, None).await
    }

    /// Stores the record with `USING TTL`: Cassandra deletes it by itself
    /// once `ttl` has passed (rounded up to whole seconds, at most 20
    /// years). Saving it again without a TTL makes it permanent.
    async fn store_with_ttl(&self, record: &TaskRecord, ttl: Duration) -> Result<()> {
        self.write(record, Some(ttl)).await
    }

    async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
        if self.layout == Layout::TaskRb {
            return self
                .newest_task_rb_row(task_list, id)
                .await?
                .map(|row| task_rb_record(task_list, id.to_owned(), row))
                .transpose();
        }
        let values = (task_list, id);
        let row = self
            .session
            .execute_unpaged(&self.statements.find, values)
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?
            .maybe_first_row::<BucketedRow>()
            .map_err(storage)?;
        match row {
            Some((None, None, _, _)) | None => Ok(None),
            Some(row) => bucketed_record(task_list, id.to_owned(), row).map(Some),
        }
    }

    async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
        match self.layout {
            Layout::Bucketed { .. } => {
                let mut parts: Vec<(&PreparedStatement, BoxedRow<'_>)> =
                    vec![(&self.statements.delete, Box::new((task_list, id)))];
                if let Some(slice) = self.locate(task_list, id).await? {
                    let listing = self.listing()?;
                    parts.push((
                        listing.delete_statement(),
                        Box::new((task_list, slice, listing.shard(id), id)),
                    ));
                }
                self.send_together(parts, 0).await
            }
            Layout::TaskRb => {
                let values = (next_write_timestamp(), task_list, id);
                self.session
                    .execute_unpaged(&self.statements.delete, values)
                    .await
                    .map_err(storage)?;
                Ok(())
            }
        }
    }

    async fn page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        match &self.listing {
            Some(listing) => {
                listing
                    .page(&self.session, task_list, token, page_size)
                    .await
            }
            None => self.task_rb_page(task_list, token, page_size).await,
        }
    }

    /// Reads the ready index (see the [module docs](self#claim-next-the-ready-index)).
    async fn next_ready(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        match (&self.ready, self.layout) {
            (Some(ready), _) => ready.next_ready(self, task_list, token, limit, now).await,
            (None, Layout::Bucketed { .. }) => {
                // Without the ready index: the list's pages and every state.
                let (ready, _) =
                    crate::ready::ready_by_walking(self, task_list, token, limit, now).await?;
                Ok(ready)
            }
            (None, Layout::TaskRb) => Err(Error::Unsupported {
                adapter: ADAPTER,
                operation: "task state on task_rb's table (it has no state columns)",
            }),
        }
    }

    async fn append_history(
        &self,
        task_list: &str,
        id: &str,
        entry: &HistoryEntry,
        retention: &HistoryRetention,
    ) -> Result<()> {
        self.history
            .append(&self.session, task_list, id, entry, retention)
            .await
    }

    async fn history(
        &self,
        task_list: &str,
        id: &str,
        retention: &HistoryRetention,
    ) -> Result<Vec<HistoryEntry>> {
        self.history
            .read(&self.session, task_list, id, retention)
            .await
    }

    /// Taskrec's table: reads the list's entries partitions concurrently
    /// (`list_concurrency` at a time), each through the driver's paging:
    /// memory holds a few pages, never the list.
    fn all<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Result<TaskRecord>> {
        match &self.listing {
            Some(listing) => listing.all(&self.session, task_list),
            None => self.task_rb_stream(task_list),
        }
    }

    /// Taskrec's table: counts the entries of each partition of the list's
    /// live slices (`COUNT(*)`, `list_concurrency` at a time).
    async fn count(&self, task_list: &str) -> Result<u64> {
        match &self.listing {
            Some(listing) => listing.count(&self.session, task_list).await,
            None => self.count_task_rb_ids(task_list).await,
        }
    }
}

/// task_rb's rows with one row per id: the newest write of each run of
/// rows with the same id (they are adjacent, the table clusters by id).
/// Of two rows written at the same microsecond the first is kept, as `find`
/// keeps it.
fn newest_per_id(rows: impl Iterator<Item = TaskRbListRow>) -> impl Iterator<Item = TaskRbListRow> {
    let mut rows = rows.peekable();
    std::iter::from_fn(move || {
        let mut newest = rows.next()?;
        while let Some(row) = rows.next_if(|row| row.0 == newest.0) {
            if row.3 > newest.3 {
                newest = row;
            }
        }
        Some(newest)
    })
}

/// [`newest_per_id`] over a stream of rows.
fn newest_per_id_stream(
    rows: BoxStream<'_, Result<TaskRbListRow>>,
) -> BoxStream<'_, Result<TaskRbListRow>> {
    stream::unfold(Some((rows, None::<TaskRbListRow>)), |state| async move {
        let (mut rows, mut pending) = state?;
        loop {
            match rows.next().await {
                Some(Ok(row)) => match pending.take() {
                    Some(newest) if newest.0 == row.0 => {
                        pending = Some(if row.3 > newest.3 { row } else { newest });
                    }
                    Some(done) => return Some((Ok(done), Some((rows, Some(row))))),
                    None => pending = Some(row),
                },
                Some(Err(e)) => return Some((Err(e), Some((rows, pending)))),
                None => return pending.map(|done| (Ok(done), None)),
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_timestamps_beyond_chronos_range_are_clamped_not_errors() {
        assert_eq!(timestamp(None).timestamp_millis(), 0);
        assert_eq!(
            timestamp(Some(CqlTimestamp(-86_400_000))).timestamp_millis(),
            -86_400_000
        );
        assert_eq!(
            timestamp(Some(CqlTimestamp(i64::MAX))),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            timestamp(Some(CqlTimestamp(i64::MIN))),
            DateTime::<Utc>::MIN_UTC
        );
        let record = bucketed_record(
            "l",
            "i".to_owned(),
            (
                Some("T".to_owned()),
                Some("{}".to_owned()),
                Some(CqlTimestamp(i64::MAX)),
                None,
            ),
        )
        .unwrap();
        // The latest time chrono holds, at the millisecond precision records keep.
        assert_eq!(
            record.created_at().timestamp_millis(),
            DateTime::<Utc>::MAX_UTC.timestamp_millis()
        );
        assert_eq!(record.updated_at().timestamp_millis(), 0);
    }

    #[test]
    fn stored_keys_are_read_as_they_are_even_where_taskrec_refuses_them() {
        let long = "x".repeat(crate::MAX_KEY_BYTES + 1);
        for id in ["", long.as_str()] {
            let record = bucketed_record("l", id.to_owned(), (None, None, None, None)).unwrap();
            assert_eq!(record.id(), id);
            let record = task_rb_record("l", id.to_owned(), ("T".to_owned(), None, None)).unwrap();
            assert_eq!(record.id(), id);
        }
    }
}
