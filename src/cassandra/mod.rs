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
//! | `store_all` ([`TaskStore::save_all`](crate::TaskStore::save_all), 100 tasks per call) | one read per 100 tasks (`id IN ?`: where their entries are), then unlogged batches of at most 10 partitions and about 4 KiB whose partitions share their replicas, rows of one partition together | as `save`, each task's |
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
//! kinds by timestamp: Paxos ballots for the first, the coordinator's
//! clock for the second (the adapter's statements carry no client
//! timestamp; a session of your own given to
//! [`with_session`](CassandraAdapter::with_session) should not either).
//! Keep the clocks of the Cassandra nodes in sync (NTP): a save whose
//! timestamp falls behind a claim's on the same row by the nodes' skew can
//! be shadowed by it. `taskrec doctor`
//! ([`check_deployment`](CassandraAdapter::check_deployment)) shows each
//! node's clock.
//!
//! The clients' clocks, on the other hand, play no part: every time the
//! adapter writes or judges (the minute a task is listed in, a hint's due
//! time, a lease's end, a retry's backoff, a history entry) is the
//! **cluster's**. Each adapter measures the offset between this process's
//! clock and the cluster's when it connects and every
//! [`clock_check_every`](CassandraConfig::clock_check_every), corrects for
//! it ([`StorageAdapter::now`]), and refuses writes that place a task by
//! time with [`Error::ClockSkew`] when it cannot tell the cluster's time
//! within [`clock_tolerance`](CassandraConfig::clock_tolerance). It costs
//! five small reads a minute, no request per task. `docs/SCALE.md`
//! ("Clocks") has every mechanism, the clock it reads and the bound.
//!
//! # Claim-next: the ready index
//!
//! On taskrec's table, a worker does not read the list to find work:
//! [`next_ready`](crate::adapter::StorageAdapter::next_ready) reads the **ready
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
//! it sweeps every [`WALK_EVERY`](ready::WALK_EVERY) (or
//! [`CassandraConfig::ready_walk_every`]), which finds any task
//! whose hint was lost. `docs/SCALE.md` has the reasoning and the figures.
//!
//! A task saved with a time-to-live and then claimed: the claim's state
//! cells carry no TTL and outlive the record; the adapter treats such a row
//! (no type, no data) as absent when finding, so the task is gone as
//! expected (its listing entry expires with the record, so listings and
//! `count` no longer see it either); the row's few state cells stay until
//! deleted.

mod bulk;
mod clock;
mod config;
mod discovery;
mod doctor;
mod held_claims;
mod history;
mod lease_hints;
mod list_counts;
mod list_settings;
pub mod listing;
mod owners_watch;
mod per_list;
mod plain_claims;
pub mod ready;
mod rows;
mod schema;
mod shard;
mod table;
mod task_rb_table;
mod taskrec_table;
#[cfg(any(feature = "cassandra-tls", feature = "cassandra-rustls"))]
mod tls;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::prepared::PreparedStatement;

use crate::adapter::ready::ReadyTasks;
use crate::adapter::{Capabilities, Page, PageToken, StorageAdapter};
use crate::error::{Error, Result};
use crate::history::{HistoryRetention, StoredStateChange};
use crate::observe::{self, Op};
use crate::record::TaskRecord;
use crate::state::{StateToken, StoredState};

pub use config::{
    CassandraConfig, Consistency, Replication, Retry, SerialConsistency, TableLayout,
    DEFAULT_CLOCK_CHECK_EVERY, DEFAULT_CLOCK_TOLERANCE, DEFAULT_CLOCK_WARN_OFFSET, DEFAULT_SHARDS,
    MAX_CLOCK_TOLERANCE, MAX_SHARDS,
};
pub use doctor::{DeploymentCheck, NodeCheck};
pub use ready::ReadyReads;
pub use schema::{schema_statements, SCHEMA_VERSION};
pub use shard::shard_of;
#[cfg(any(feature = "cassandra-tls", feature = "cassandra-rustls"))]
pub use tls::{TlsBackend, TlsConfig};

use table::Table;

pub(crate) const ADAPTER: &str = "cassandra";

/// The longest time-to-live Cassandra accepts: 20 years.
///
/// ```
/// use std::time::Duration;
/// let years = taskrec::cassandra::MAX_TTL.as_secs() / (365 * 24 * 60 * 60);
/// assert_eq!(years, 20);
/// ```
pub const MAX_TTL: Duration = Duration::from_secs(630_720_000);

fn storage(e: impl Into<crate::error::BoxError>) -> Error {
    Error::storage(ADAPTER, e)
}

/// Passes on what the server warned about a request (a batch past its size
/// or partition thresholds, a read that met many tombstones): a `warn`
/// event per warning, in the span of the adapter call that made it.
fn report_warnings(result: &scylla::response::query_result::QueryResult) {
    for warning in result.warnings() {
        tracing::warn!(warning, "Cassandra warned about a request");
    }
}

/// The first row `statement` reads with `values`, as `R`; `None` when it
/// reads none.
async fn first_row<R>(
    session: &Session,
    statement: &PreparedStatement,
    values: impl scylla::serialize::row::SerializeRow,
) -> Result<Option<R>>
where
    R: for<'frame> scylla::deserialize::row::DeserializeRow<'frame, 'frame>,
{
    let result = session
        .execute_unpaged(statement, values)
        .await
        .map_err(storage)?;
    report_warnings(&result);
    result
        .into_rows_result()
        .map_err(storage)?
        .maybe_first_row::<R>()
        .map_err(storage)
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
/// use taskrec::TaskStore;
/// use taskrec::adapter::StorageAdapter;
/// let config = CassandraConfig::new(["127.0.0.1:9042"], "my_tasks");
/// let adapter = Arc::new(CassandraAdapter::connect(config).await?);
/// let (orders, invoices) = (TaskStore::from_arc(Arc::clone(&adapter)), TaskStore::from_arc(adapter));
/// assert_eq!(orders.adapter().name(), invoices.adapter().name()); // one session, shared
/// # Ok(()) }
/// ```
pub struct CassandraAdapter {
    session: Arc<Session>,
    /// `keyspace.table`, for messages.
    name: String,
    /// The layout's own statements and operations.
    table: Box<dyn Table>,
    history: history::HistoryTable,
    /// The cluster's time, measured against this process's clock.
    clock: Arc<clock::ClusterClock>,
    /// What the spans of its calls say about where they go.
    names: SpanNames,
}

/// The adapter's part of its spans' fields, as OpenTelemetry's database
/// conventions name them.
struct SpanNames {
    keyspace: String,
    table: String,
    history_table: String,
    read_consistency: &'static str,
    write_consistency: &'static str,
}

/// `cassandra.consistency.level`, in the conventions' spelling.
fn consistency_name(consistency: Consistency) -> &'static str {
    match consistency {
        Consistency::Any => "any",
        Consistency::One => "one",
        Consistency::Two => "two",
        Consistency::Three => "three",
        Consistency::Quorum => "quorum",
        Consistency::All => "all",
        Consistency::LocalQuorum => "local_quorum",
        Consistency::EachQuorum => "each_quorum",
        Consistency::LocalOne => "local_one",
        Consistency::Serial => "serial",
        Consistency::LocalSerial => "local_serial",
    }
}

impl fmt::Debug for CassandraAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CassandraAdapter")
            .field("table", &self.name)
            .field("shards", &self.table.shards())
            .finish_non_exhaustive()
    }
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

/// Whether a conditional write applied, from the first row of its answer
/// (`[applied]` comes first).
fn applied(answer: Option<&scylla::value::Row>) -> bool {
    matches!(
        answer.and_then(|row| row.columns.first()),
        Some(Some(scylla::value::CqlValue::Boolean(true)))
    )
}

/// A lightweight transaction: not idempotent, since a retry after an
/// unknown outcome would see its own write and report a conflict.
fn lwt(serial: SerialConsistency, mut statement: PreparedStatement) -> PreparedStatement {
    statement.set_is_idempotent(false);
    statement.set_serial_consistency(Some(serial));
    statement
}

/// Prepares one of the adapter's statements at `consistency`, idempotent
/// (the lightweight transactions are marked otherwise by [`lwt`]). A failure
/// is an [`Error::InvalidConfig`] with `check`, what to look at: the usual
/// cause is a missing table, or one of another layout.
async fn prepare_with(
    session: &Session,
    cql: String,
    consistency: Consistency,
    check: &str,
) -> Result<PreparedStatement> {
    let mut statement = session
        .prepare(cql.as_str())
        .await
        .map_err(|e| config::invalid(format!("preparing `{cql}` failed ({check}): {e}")))?;
    statement.set_consistency(consistency);
    statement.set_is_idempotent(true);
    Ok(statement)
}

impl CassandraAdapter {
    /// Connects to the cluster, creates the schema if asked to, checks the
    /// table and prepares every statement.
    ///
    /// Fails with [`Error::InvalidConfig`] for a bad keyspace or table name,
    /// a missing table, or a shard count that contradicts the table's, and
    /// with [`Error::Storage`] when the cluster cannot be reached.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
    /// use taskrec::adapter::StorageAdapter;
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
        #[cfg(any(feature = "cassandra-tls", feature = "cassandra-rustls"))]
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
        let query = clock::CqlTimeQuery::prepare(
            Arc::clone(&session),
            config.clock_limits().query_timeout(),
        )
        .await?;
        let clock = Arc::new(clock::ClusterClock::new(
            Box::new(query),
            Box::new(clock::SystemClock),
            config.clock_limits(),
        ));
        // Measured before any write; should it fail, writes that place by
        // time measure again, and refuse until a measurement succeeds.
        clock.measure().await;
        let table: Box<dyn Table> = match config.layout {
            TableLayout::TaskRb => Box::new(
                task_rb_table::TaskRbTable::prepare(
                    Arc::clone(&session),
                    &config,
                    Arc::clone(&clock),
                )
                .await?,
            ),
            TableLayout::Taskrec { shards } => {
                let buckets = schema::recorded_buckets(&session, &config, shards).await?;
                Box::new(
                    taskrec_table::TaskrecTable::prepare(
                        Arc::clone(&session),
                        &config,
                        buckets,
                        Arc::clone(&clock),
                    )
                    .await?,
                )
            }
        };
        Ok(CassandraAdapter {
            names: SpanNames {
                keyspace: config.keyspace.clone(),
                table: config.table.clone(),
                history_table: config.history_table_name(),
                read_consistency: consistency_name(config.read_consistency),
                write_consistency: consistency_name(config.write_consistency),
            },
            name: format!("{}.{}", config.keyspace, config.table),
            table,
            history: history::HistoryTable::new(
                format!("{}.{}", config.keyspace, config.history_table_name()),
                config.read_consistency,
                config.write_consistency,
                Arc::clone(&clock),
            ),
            clock,
            session,
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

    /// The table's shard count: the shards of each minute of a list's
    /// listing entries (see [`TableLayout::Taskrec`]); 1 for task_rb's
    /// table, which keeps a list in one partition. (Named `buckets` before
    /// 0.3.)
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::cassandra::{shard_of, CassandraAdapter, CassandraConfig, TableLayout};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "my_tasks")
    ///     .layout(TableLayout::Taskrec { shards: None }); // whatever the table records
    /// let adapter = CassandraAdapter::connect(config).await?;
    /// assert!(shard_of("file1", adapter.shards()) < adapter.shards()); // "file1"'s shard
    /// # Ok(()) }
    /// ```
    pub fn shards(&self) -> u32 {
        self.table.shards()
    }

    /// Every row stored under `(task_list, id)`, in the table's clustering
    /// order; empty when there is none.
    ///
    /// On taskrec's table that is the task's one row. On task_rb's table an
    /// id saved under two types keeps a row per type (a save is a plain
    /// insert, as task_rb writes), ordered by type name. The two tools then
    /// answer differently: task_rb's `find` takes the **first** of these rows,
    /// taskrec's [`find`](StorageAdapter::find) (and its listings and
    /// counts) the **newest write**, which is the task as last saved
    /// whichever tool saved it. Take the first element here for task_rb's
    /// answer.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::cassandra::{CassandraAdapter, CassandraConfig, TableLayout};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "my_tasks")
    ///     .table("tasks")
    ///     .layout(TableLayout::TaskRb);
    /// let adapter = CassandraAdapter::connect(config).await?;
    /// let rows = adapter.rows_of("datto.com", "file1").await?;
    /// if let Some(as_task_rb_finds_it) = rows.first() {
    ///     println!("task_rb reads file1 as a {}", as_task_rb_finds_it.type_name());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn rows_of(&self, task_list: &str, id: &str) -> Result<Vec<TaskRecord>> {
        let span = self.span(Op::Find, task_list, Some(id));
        observe::timed(Op::Find, span, self.table.rows_of(task_list, id)).await
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
        self.table.ready_reads()
    }

    /// The parts of `task_list` this process sweeps, as of its last look
    /// (see [`CassandraConfig::owned_parts`]): empty without it, or before
    /// a first sweep of the list, or while others hold every part.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "my_tasks").owned_parts(true);
    /// let adapter = CassandraAdapter::connect(config).await?;
    /// assert!(adapter.parts_held("emails").is_empty()); // nothing swept yet
    /// # Ok(()) }
    /// ```
    pub fn parts_held(&self, task_list: &str) -> Vec<u32> {
        self.table.parts_held(task_list)
    }

    /// The span of one call: `taskrec.cassandra`, with the database fields
    /// of OpenTelemetry's conventions (see [`observe`](crate::observe)).
    fn span(&self, op: Op, task_list: &str, id: Option<&str>) -> tracing::Span {
        let names = &self.names;
        let table = match op {
            Op::AppendHistory | Op::History => names.history_table.as_str(),
            _ => names.table.as_str(),
        };
        let consistency = if op.reads() {
            names.read_consistency
        } else {
            names.write_consistency
        };
        tracing::debug_span!(
            "taskrec.cassandra",
            otel.kind = "client",
            db.system.name = "cassandra",
            db.namespace = names.keyspace.as_str(),
            db.collection.name = table,
            db.operation.name = op.name(),
            cassandra.consistency.level = consistency,
            task_list,
            task.id = id,
            error.type = tracing::field::Empty,
        )
    }
}

#[async_trait]
impl StorageAdapter for CassandraAdapter {
    fn name(&self) -> &'static str {
        ADAPTER
    }

    /// Time-to-live always; timestamps and task state on taskrec's table
    /// only (task_rb's has no columns for them: both timestamps read as the
    /// data cell's write time).
    fn capabilities(&self) -> Capabilities {
        self.table.capabilities()
    }

    /// The cluster's time: this process's monotonic clock carried forward
    /// from the last measurement of the cluster's (see
    /// [`CassandraConfig::clock_tolerance`]); [`Error::ClockSkew`] when it
    /// cannot be told within the tolerance.
    async fn now(&self) -> Result<DateTime<Utc>> {
        self.clock.now().await
    }

    fn clock_reading(&self) -> Option<crate::ClockReading> {
        self.clock.reading()
    }

    async fn load_state(&self, task_list: &str, id: &str) -> Result<Option<StoredState>> {
        let span = self.span(Op::LoadState, task_list, Some(id));
        observe::timed(Op::LoadState, span, self.table.load_state(task_list, id)).await
    }

    async fn swap_state(
        &self,
        task_list: &str,
        id: &str,
        expected: &StateToken,
        new: Option<&str>,
    ) -> Result<Option<StateToken>> {
        let op = Op::of_swap(new);
        let span = self.span(op, task_list, Some(id));
        let swap = self.table.swap_state(task_list, id, expected, new);
        observe::timed(op, span, swap).await
    }

    async fn store(&self, record: &TaskRecord) -> Result<()> {
        let span = self.span(Op::Save, record.task_list(), Some(record.id()));
        observe::timed(Op::Save, span, self.table.write(record, None)).await
    }

    /// Stores the records in as few requests as the layout allows: unlogged
    /// batches of statements whose partitions share their replicas, grouped
    /// by partition inside (taskrec's table: one read locates up to 100
    /// tasks' listing entries first; task_rb's table: a list is one
    /// partition). A batch stays under Cassandra's batch warnings (10
    /// partitions, 5 KiB); a larger record goes as its own request.
    async fn store_all(&self, records: &[TaskRecord]) -> Result<()> {
        let list = records.first().map_or("", |r| r.task_list());
        let span = self.span(Op::SaveAll, list, None);
        observe::timed(Op::SaveAll, span, self.table.write_all(records)).await
    }

    /// Stores the record with `USING TTL`: Cassandra deletes it by itself
    /// once `ttl` has passed (rounded up to whole seconds, at most 20
    /// years). Saving it again without a TTL makes it permanent.
    async fn store_with_ttl(&self, record: &TaskRecord, ttl: Duration) -> Result<()> {
        let span = self.span(Op::Save, record.task_list(), Some(record.id()));
        observe::timed(Op::Save, span, self.table.write(record, Some(ttl))).await
    }

    /// Stores the record as `store` does (one batch of its row, its
    /// listing entry and its ready hint), its state scheduled and its hint
    /// due at `not_before`: sweeps hand it out from the hint once the
    /// cluster's time reaches it, without walking the list.
    async fn store_scheduled(&self, record: &TaskRecord, not_before: DateTime<Utc>) -> Result<()> {
        let span = self.span(Op::Save, record.task_list(), Some(record.id()));
        observe::timed(
            Op::Save,
            span,
            self.table.write_scheduled(record, not_before),
        )
        .await
    }

    /// On taskrec's table: one read (is the key taken?); if it is free, the
    /// task's ready hint, then its row in a lightweight transaction (`INSERT
    /// … IF NOT EXISTS`, which decides a race), then its listing entry. The
    /// hint comes first so that a process dying between the transaction and
    /// the entry leaves a task that workers still find and run (listed once
    /// it is saved again or gone); a call that lost wrote only a hint, which
    /// costs a sweep one state read.
    async fn store_if_absent(&self, record: &TaskRecord) -> Result<bool> {
        let span = self.span(Op::Save, record.task_list(), Some(record.id()));
        observe::timed(Op::Save, span, self.table.write_if_absent(record)).await
    }

    async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
        let span = self.span(Op::Find, task_list, Some(id));
        observe::timed(Op::Find, span, self.table.find(task_list, id)).await
    }

    async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
        let span = self.span(Op::Delete, task_list, Some(id));
        observe::timed(Op::Delete, span, self.table.delete(task_list, id)).await
    }

    async fn page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        let span = self.span(Op::Page, task_list, None);
        observe::timed(Op::Page, span, self.table.page(task_list, token, page_size)).await
    }

    /// On taskrec's table, reads the ready index (see the
    /// [module docs](self#claim-next-the-ready-index)).
    async fn next_ready(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        let span = self.span(Op::NextReady, task_list, None);
        let sweep = self.table.next_ready(self, task_list, token, limit, now);
        observe::timed(Op::NextReady, span, sweep).await
    }

    /// With [`CassandraConfig::owned_parts`], hands this process's parts of
    /// the list back at once.
    async fn stop_sweeping(&self, task_list: &str) -> Result<()> {
        self.table.stop_sweeping(&self.session, task_list).await
    }

    /// The lists that wrote an entry (`{table}_days`' partitions) and the
    /// paused ones; on task_rb's table, its partitions.
    async fn task_lists(&self) -> Result<Option<Vec<String>>> {
        let span = self.span(Op::TaskLists, "", None);
        let read = self.table.task_lists(&self.session);
        observe::timed(Op::TaskLists, span, read).await
    }

    /// On taskrec's table, from `{table}_lists` (`schema/lists.cql`); a
    /// schema made before that table reads every list as not paused.
    async fn pause_state(&self, task_list: &str) -> Result<Option<crate::ListPause>> {
        let span = self.span(Op::PauseState, task_list, None);
        let read = self.table.pause_state(&self.session, task_list);
        observe::timed(Op::PauseState, span, read).await
    }

    /// On taskrec's table; task_rb's answers [`Error::Unsupported`], as its
    /// lists have no workers to pause.
    async fn set_pause(&self, task_list: &str, pause: Option<&crate::ListPause>) -> Result<()> {
        let span = self.span(Op::SetPause, task_list, None);
        let write = self.table.set_pause(&self.session, task_list, pause);
        observe::timed(Op::SetPause, span, write).await
    }

    /// On taskrec's table, from `{table}_counts` (`schema/counts.cql`): one
    /// read; a schema made before that table keeps none.
    async fn kept_counts(&self, task_list: &str) -> Result<Option<crate::KeptCounts>> {
        let span = self.span(Op::KeptCounts, task_list, None);
        let read = self.table.kept_counts(&self.session, task_list);
        observe::timed(Op::KeptCounts, span, read).await
    }

    /// On taskrec's table, one write of the list's row; task_rb's answers
    /// [`Error::Unsupported`].
    async fn keep_counts(&self, task_list: &str, counts: &crate::KeptCounts) -> Result<()> {
        let span = self.span(Op::KeepCounts, task_list, None);
        let write = self.table.keep_counts(&self.session, task_list, counts);
        observe::timed(Op::KeepCounts, span, write).await
    }

    async fn append_history(
        &self,
        task_list: &str,
        id: &str,
        entry: &StoredStateChange,
        retention: &HistoryRetention,
    ) -> Result<()> {
        let span = self.span(Op::AppendHistory, task_list, Some(id));
        let append = self
            .history
            .append(&self.session, task_list, id, entry, retention);
        observe::timed(Op::AppendHistory, span, append).await
    }

    async fn history(
        &self,
        task_list: &str,
        id: &str,
        retention: &HistoryRetention,
    ) -> Result<Vec<StoredStateChange>> {
        let span = self.span(Op::History, task_list, Some(id));
        let read = self.history.read(&self.session, task_list, id, retention);
        observe::timed(Op::History, span, read).await
    }

    /// Taskrec's table: reads the list's entries partitions concurrently
    /// (`list_concurrency` at a time), each through the driver's paging:
    /// memory holds a few pages, never the list.
    /// On taskrec's table, failed tasks are read from their own index
    /// (`{table}_failed_entries`): a page of them reads only failed tasks.
    async fn page_by_status(
        &self,
        task_list: &str,
        status: crate::TaskStatus,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<crate::adapter::StoredStatusPage> {
        let span = self.span(Op::PageByStatus, task_list, None);
        let page = self
            .table
            .page_by_status(self, task_list, status, token, page_size);
        observe::timed(Op::PageByStatus, span, page).await
    }

    fn all<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Result<TaskRecord>> {
        observe::in_span(
            self.span(Op::List, task_list, None),
            self.table.all(task_list),
        )
    }

    async fn count(&self, task_list: &str) -> Result<u64> {
        let span = self.span(Op::Count, task_list, None);
        observe::timed(Op::Count, span, self.table.count(task_list)).await
    }
}
