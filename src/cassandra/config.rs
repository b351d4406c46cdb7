//! How a [`CassandraAdapter`](super::CassandraAdapter) connects and which
//! table it uses.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use scylla::errors::{DbError, RequestAttemptError};
use scylla::policies::retry::{
    DefaultRetryPolicy, DowngradingConsistencyRetryPolicy, FallthroughRetryPolicy, RequestInfo,
    RetryDecision, RetryPolicy, RetrySession,
};
pub use scylla::statement::{Consistency, SerialConsistency};

use crate::error::{Error, Result};

use super::ADAPTER;

/// The longest keyspace or table name Cassandra accepts.
const MAX_IDENTIFIER_LEN: usize = 48;

/// The table layout an adapter reads and writes.
///
/// ```
/// use taskrec::cassandra::{schema_statements, CassandraConfig, TableLayout};
/// let ours = CassandraConfig::new(["127.0.0.1:9042"], "jobs"); // taskrec's table by default
/// assert!(schema_statements(&ours)?[1].contains("PRIMARY KEY ((task_list, id))"));
/// let theirs = ours.layout(TableLayout::TaskRb);
/// assert!(schema_statements(&theirs)?[1].contains("PRIMARY KEY ((task_list), id, type)"));
/// # Ok::<(), taskrec::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableLayout {
    /// taskrec's own table, `PRIMARY KEY ((task_list, id))` with `type`,
    /// `data`, `created_at`, `updated_at` and the task's state: one
    /// partition per task, read and written by key. Listings read a copy of
    /// each record in the entries table beside it, in partitions of one
    /// minute of a list's new tasks and one of `buckets` shards, so no read
    /// scans what the list completed before (see
    /// [`listing`](super::listing) and `docs/SCALE.md`).
    ///
    /// `shards` is used when creating the table; an existing table's own
    /// count (kept in its comment, as `buckets=N`) always wins, and a
    /// different explicit count is an error. Choose it for the list's peak
    /// rate of new tasks: an entries partition holds what one list creates
    /// in a minute, over `shards`, and that is what a read of it can meet
    /// in tombstones (Cassandra warns past 1,000): 16 keeps it under 1,000
    /// up to about 260 new tasks a second per list, 256 up to about 4,000.
    ///
    /// (Named `Bucketed { buckets }` before 0.3.)
    Taskrec {
        /// Shards of a minute of a list's listing entries, when creating the
        /// table (`None`: 16, or whatever the existing table records).
        shards: Option<u32>,
    },
    /// task_rb's table as that gem creates it,
    /// `PRIMARY KEY ((task_list), id, type)` with a `data` text column. It
    /// has no timestamp columns: a record's `created_at` and `updated_at`
    /// are both the write time of its `data` cell.
    ///
    /// A save is a plain `INSERT`, as task_rb writes. Saving an id under a
    /// new type therefore leaves the id's row of the old type, as task_rb
    /// leaves it; taskrec reads the newest row of an id (by the write time
    /// of `data`) wherever it finds one: `find`, each listing and `count`
    /// give the id once, as its newest row. A delete removes all of an
    /// id's rows.
    ///
    /// **Its limit**: a list is one partition, and a completed task leaves
    /// a tombstone in it that every listing and count of the list scans
    /// until `gc_grace_seconds` (10 days by default) has passed and
    /// compaction has dropped it. Past `tombstone_failure_threshold`
    /// (100,000) the server aborts the read: measured on Cassandra 5.0.9,
    /// a list's reads fail once 50,000 to 60,000 tasks of it have been
    /// completed within `gc_grace_seconds` (`docs/SCALE.md`). Keep busy
    /// lists in taskrec's own table.
    TaskRb,
}

/// The shard count of a new taskrec table when none is given.
///
/// ```
/// use taskrec::cassandra::{schema_statements, CassandraConfig, DEFAULT_SHARDS};
/// let table = schema_statements(&CassandraConfig::new(["127.0.0.1:9042"], "jobs"))?.remove(1);
/// assert!(table.contains(&format!("buckets={DEFAULT_SHARDS};"))); // recorded in its comment
/// # Ok::<(), taskrec::Error>(())
/// ```
pub const DEFAULT_SHARDS: u32 = 16;

/// The largest shard count accepted.
///
/// ```
/// use taskrec::cassandra::{schema_statements, CassandraConfig, TableLayout, MAX_SHARDS};
/// let config = |n| CassandraConfig::new(["127.0.0.1:9042"], "jobs")
///     .layout(TableLayout::Taskrec { shards: Some(n) });
/// assert!(schema_statements(&config(MAX_SHARDS)).is_ok());
/// assert!(matches!(schema_statements(&config(MAX_SHARDS + 1)), Err(taskrec::Error::InvalidConfig { .. })));
/// ```
pub const MAX_SHARDS: u32 = 1024;

/// How uncertain the cluster's time may be, by default, before writes that
/// place a task by time are refused ([`CassandraConfig::clock_tolerance`]).
///
/// ```
/// assert_eq!(taskrec::cassandra::DEFAULT_CLOCK_TOLERANCE.as_millis(), 250);
/// ```
pub const DEFAULT_CLOCK_TOLERANCE: Duration = Duration::from_millis(250);

/// The largest clock tolerance accepted. Two processes, each within its
/// tolerance of the cluster's time, may be twice that apart: a hint one of
/// them places behind, and the time its write takes, must still fall
/// inside the 2 s the ready index's sweeps start before where the other's
/// last one ended ([`MARGIN`](super::ready::MARGIN)).
///
/// ```
/// assert_eq!(taskrec::cassandra::MAX_CLOCK_TOLERANCE.as_millis(), 500);
/// ```
pub const MAX_CLOCK_TOLERANCE: Duration = Duration::from_millis(500);

/// How often the cluster's clock is measured again, by default
/// ([`CassandraConfig::clock_check_every`]).
///
/// ```
/// assert_eq!(taskrec::cassandra::DEFAULT_CLOCK_CHECK_EVERY.as_secs(), 60);
/// ```
pub const DEFAULT_CLOCK_CHECK_EVERY: Duration = Duration::from_secs(60);

/// The offset past which the adapter warns, by default
/// ([`CassandraConfig::clock_warn_offset`]).
///
/// ```
/// assert_eq!(taskrec::cassandra::DEFAULT_CLOCK_WARN_OFFSET.as_secs(), 1);
/// ```
pub const DEFAULT_CLOCK_WARN_OFFSET: Duration = Duration::from_secs(1);

/// What the driver does when a request fails.
///
/// ```
/// use std::sync::Arc;
/// use scylla::policies::retry::DefaultRetryPolicy;
/// use taskrec::cassandra::{CassandraConfig, Retry};
/// let policy = Retry::Custom(Arc::new(DefaultRetryPolicy::new())); // any RetryPolicy
/// assert_eq!(format!("{policy:?}"), "Custom(..)");
/// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs").retry(policy);
/// assert!(format!("{config:?}").contains("retry: Custom(..)"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum Retry {
    /// The driver's default: retry where it is safe (idempotent statements
    /// on another node after a broken connection, timeouts where the driver
    /// deems it useful), except that the server's `Unavailable` answer (too
    /// few replicas alive for the consistency) is returned at once. The
    /// driver would try the next node, and when the rest of its plan is the
    /// down nodes themselves, their "no connections in the pool" would
    /// replace the server's answer.
    Default,
    /// Never retry; every failure reaches the caller.
    Never,
    /// Retry at a lower consistency when too few replicas answer. Weakens
    /// the guarantee the configured consistency gives: only for clusters
    /// where availability matters more.
    DowngradingConsistency,
    /// A policy of your own.
    Custom(Arc<dyn RetryPolicy>),
}

impl fmt::Debug for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Retry::Default => "Default",
            Retry::Never => "Never",
            Retry::DowngradingConsistency => "DowngradingConsistency",
            Retry::Custom(_) => "Custom(..)",
        })
    }
}

impl Retry {
    pub(super) fn policy(&self) -> Arc<dyn RetryPolicy> {
        match self {
            Retry::Default => Arc::new(UnavailableIsFinal),
            Retry::Never => Arc::new(FallthroughRetryPolicy::new()),
            Retry::DowngradingConsistency => Arc::new(DowngradingConsistencyRetryPolicy::new()),
            Retry::Custom(policy) => Arc::clone(policy),
        }
    }
}

/// [`Retry::Default`]: the driver's default policy, but `Unavailable` ends
/// the request with that answer.
#[derive(Debug)]
struct UnavailableIsFinal;

impl RetryPolicy for UnavailableIsFinal {
    fn new_session(&self) -> Box<dyn RetrySession> {
        Box::new(UnavailableIsFinalSession(
            DefaultRetryPolicy::new().new_session(),
        ))
    }
}

struct UnavailableIsFinalSession(Box<dyn RetrySession>);

impl RetrySession for UnavailableIsFinalSession {
    fn decide_should_retry(&mut self, request: RequestInfo<'_>) -> RetryDecision {
        match request.error {
            RequestAttemptError::DbError(DbError::Unavailable { .. }, _) => {
                RetryDecision::DontRetry
            }
            _ => self.0.decide_should_retry(request),
        }
    }

    fn reset(&mut self) {
        self.0.reset();
    }
}

/// The replication of a keyspace that [`create_schema`](CassandraConfig::create_schema) creates.
///
/// ```
/// use taskrec::cassandra::{schema_statements, CassandraConfig, Replication};
/// let per_dc = Replication::NetworkTopology(vec![("dc1".into(), 3), ("dc2".into(), 2)]);
/// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs").replication(per_dc);
/// let keyspace = schema_statements(&config)?.remove(0);
/// assert!(keyspace.ends_with("{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}"));
/// # Ok::<(), taskrec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Replication {
    /// `SimpleStrategy` with this many replicas: single data centre clusters.
    Simple(u32),
    /// `NetworkTopologyStrategy` with a replica count per data centre.
    NetworkTopology(Vec<(String, u32)>),
}

impl Replication {
    /// The CQL map literal, data centre names quoted as string literals.
    pub(super) fn to_cql(&self) -> Result<String> {
        match self {
            Replication::Simple(factor) => Ok(format!(
                "{{'class': 'SimpleStrategy', 'replication_factor': {factor}}}"
            )),
            Replication::NetworkTopology(dcs) => {
                let mut cql = String::from("{'class': 'NetworkTopologyStrategy'");
                for (dc, factor) in dcs {
                    if dc.is_empty()
                        || !dc
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                    {
                        return Err(invalid(format!(
                            "data centre name {dc:?} must be ASCII letters, digits, `_`, `-` or `.`"
                        )));
                    }
                    cql.push_str(&format!(", '{dc}': {factor}"));
                }
                cql.push('}');
                Ok(cql)
            }
        }
    }
}

/// Everything a [`CassandraAdapter`](super::CassandraAdapter) needs: where
/// the cluster is, how to talk to it, and which table to use.
///
/// ```
/// use std::time::Duration;
/// use taskrec::cassandra::{CassandraConfig, Consistency, TableLayout};
///
/// let config = CassandraConfig::new(["127.0.0.1:9042"], "my_tasks")
///     .table("tasks")
///     .layout(TableLayout::Taskrec { shards: Some(32) })
///     .write_consistency(Consistency::Quorum)
///     .read_consistency(Consistency::Quorum)
///     .request_timeout(Duration::from_secs(5))
///     .create_schema(true);
/// assert_eq!(config.keyspace_name(), "my_tasks");
/// ```
#[derive(Clone)]
pub struct CassandraConfig {
    pub(super) contact_points: Vec<String>,
    pub(super) keyspace: String,
    pub(super) table: String,
    /// `None`: the table's name and `_history`.
    pub(super) history_table: Option<String>,
    pub(super) layout: TableLayout,
    pub(super) read_consistency: Consistency,
    pub(super) write_consistency: Consistency,
    pub(super) serial_consistency: SerialConsistency,
    pub(super) request_timeout: Option<Duration>,
    pub(super) connect_timeout: Duration,
    pub(super) retry: Retry,
    pub(super) credentials: Option<(String, String)>,
    pub(super) page_size: u32,
    pub(super) list_concurrency: usize,
    pub(super) create_schema: bool,
    pub(super) ready_index: bool,
    pub(super) ready_walk_every: Duration,
    pub(super) clock_tolerance: Duration,
    pub(super) clock_check_every: Duration,
    pub(super) clock_warn_offset: Duration,
    pub(super) unread_saves: bool,
    pub(super) owned_parts: bool,
    pub(super) replication: Replication,
    #[cfg(any(feature = "cassandra-tls", feature = "cassandra-rustls"))]
    pub(super) tls: Option<super::tls::TlsConfig>,
}

// Written out so the password never reaches a log line.
impl fmt::Debug for CassandraConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials = self
            .credentials
            .as_ref()
            .map(|(user, _)| (user, "<hidden>"));
        let mut debug = f.debug_struct("CassandraConfig");
        debug
            .field("contact_points", &self.contact_points)
            .field("keyspace", &self.keyspace)
            .field("table", &self.table)
            .field("history_table", &self.history_table)
            .field("layout", &self.layout)
            .field("read_consistency", &self.read_consistency)
            .field("write_consistency", &self.write_consistency)
            .field("serial_consistency", &self.serial_consistency)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("credentials", &credentials)
            .field("page_size", &self.page_size)
            .field("list_concurrency", &self.list_concurrency)
            .field("create_schema", &self.create_schema)
            .field("ready_index", &self.ready_index)
            .field("ready_walk_every", &self.ready_walk_every)
            .field("clock_tolerance", &self.clock_tolerance)
            .field("clock_check_every", &self.clock_check_every)
            .field("clock_warn_offset", &self.clock_warn_offset)
            .field("unread_saves", &self.unread_saves)
            .field("owned_parts", &self.owned_parts)
            .field("replication", &self.replication);
        #[cfg(any(feature = "cassandra-tls", feature = "cassandra-rustls"))]
        debug.field("tls", &self.tls);
        debug.finish()
    }
}

impl CassandraConfig {
    /// A configuration for a cluster reached through `contact_points`
    /// (`"host:port"`), using `keyspace` and, by default, taskrec's own
    /// table `tasks`, LOCAL_QUORUM reads and writes, a 10 s request timeout
    /// and the driver's default retry policy. Nothing is checked here:
    /// [`connect`](super::CassandraAdapter::connect) and
    /// [`schema_statements`](super::schema_statements) refuse a bad
    /// configuration.
    ///
    /// ```
    /// use taskrec::cassandra::{schema_statements, CassandraConfig};
    /// let config = CassandraConfig::new(["10.0.0.1:9042", "10.0.0.2:9042"], "jobs");
    /// assert_eq!((config.keyspace_name(), config.table_name()), ("jobs", "tasks"));
    /// let nowhere = CassandraConfig::new(Vec::<String>::new(), "jobs");
    /// assert!(matches!(schema_statements(&nowhere), Err(taskrec::Error::InvalidConfig { .. })));
    /// ```
    pub fn new<I, S>(contact_points: I, keyspace: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CassandraConfig {
            contact_points: contact_points.into_iter().map(Into::into).collect(),
            keyspace: keyspace.into(),
            table: "tasks".to_owned(),
            history_table: None,
            layout: TableLayout::Taskrec { shards: None },
            read_consistency: Consistency::LocalQuorum,
            write_consistency: Consistency::LocalQuorum,
            serial_consistency: SerialConsistency::Serial,
            request_timeout: Some(Duration::from_secs(10)),
            connect_timeout: Duration::from_secs(10),
            retry: Retry::Default,
            credentials: None,
            page_size: 1000,
            list_concurrency: 8,
            create_schema: false,
            ready_index: true,
            ready_walk_every: super::ready::WALK_EVERY,
            clock_tolerance: DEFAULT_CLOCK_TOLERANCE,
            clock_check_every: DEFAULT_CLOCK_CHECK_EVERY,
            clock_warn_offset: DEFAULT_CLOCK_WARN_OFFSET,
            unread_saves: true,
            owned_parts: false,
            replication: Replication::Simple(1),
            #[cfg(any(feature = "cassandra-tls", feature = "cassandra-rustls"))]
            tls: None,
        }
    }

    /// The table's name (default `tasks`): a lowercase letter, then lowercase
    /// letters, digits or `_`, at most 48 in all (33 for taskrec's table,
    /// whose tables beside it add up to 15 characters: `_failed_entries`).
    ///
    /// ```
    /// use taskrec::cassandra::{schema_statements, CassandraConfig};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs").table("tasks_v2");
    /// assert!(schema_statements(&config)?[1].starts_with("CREATE TABLE IF NOT EXISTS jobs.tasks_v2"));
    /// let quoted = CassandraConfig::new(["127.0.0.1:9042"], "jobs").table("Tasks");
    /// assert!(schema_statements(&quoted).is_err()); // Cassandra would lowercase it
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The table of task histories ([`TaskStore::with_history`](crate::TaskStore::with_history)),
    /// by default the table's name and `_history` (`tasks_history`); named
    /// like the table. Only a store that keeps history uses it; it is
    /// created with the table by [`create_schema`](Self::create_schema), or
    /// from `schema/history.cql`.
    ///
    /// ```
    /// use taskrec::cassandra::{schema_statements, CassandraConfig};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs").table("work");
    /// assert_eq!(config.history_table_name(), "work_history");
    /// let config = config.history_table("work_changes");
    /// assert!(schema_statements(&config)?[2].starts_with("CREATE TABLE IF NOT EXISTS jobs.work_changes"));
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn history_table(mut self, table: impl Into<String>) -> Self {
        self.history_table = Some(table.into());
        self
    }

    /// The history table's name: the one set, or the table's and `_history`.
    ///
    /// ```
    /// let config = taskrec::cassandra::CassandraConfig::new(["127.0.0.1:9042"], "jobs");
    /// assert_eq!(config.history_table_name(), "tasks_history");
    /// ```
    pub fn history_table_name(&self) -> String {
        self.history_table
            .clone()
            .unwrap_or_else(|| format!("{}_history", self.table))
    }

    /// The table layout (default: taskrec's own table, `TableLayout::Taskrec`).
    ///
    /// ```
    /// use taskrec::cassandra::{schema_statements, CassandraConfig, TableLayout};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs")
    ///     .layout(TableLayout::Taskrec { shards: Some(64) });
    /// assert!(schema_statements(&config)?[1].contains("buckets=64;"));
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn layout(mut self, layout: TableLayout) -> Self {
        self.layout = layout;
        self
    }

    /// The consistency of finds and listings (default LOCAL_QUORUM).
    ///
    /// ```
    /// use taskrec::cassandra::{CassandraConfig, Consistency};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs").read_consistency(Consistency::One);
    /// assert!(format!("{config:?}").contains("read_consistency: One"));
    /// ```
    pub fn read_consistency(mut self, consistency: Consistency) -> Self {
        self.read_consistency = consistency;
        self
    }

    /// The consistency of saves and deletes (default LOCAL_QUORUM).
    ///
    /// ```
    /// use taskrec::cassandra::{CassandraConfig, Consistency};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs").write_consistency(Consistency::EachQuorum);
    /// assert!(format!("{config:?}").contains("write_consistency: EachQuorum"));
    /// ```
    pub fn write_consistency(mut self, consistency: Consistency) -> Self {
        self.write_consistency = consistency;
        self
    }

    /// The consistency of the Paxos phase of claims (lightweight
    /// transactions). The default, SERIAL, makes a claim exclusive across
    /// every data centre; LOCAL_SERIAL is faster but safe only when all the
    /// workers of a list run in one data centre.
    ///
    /// ```
    /// use taskrec::cassandra::{CassandraConfig, SerialConsistency};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs")
    ///     .serial_consistency(SerialConsistency::LocalSerial);
    /// assert!(format!("{config:?}").contains("serial_consistency: LocalSerial"));
    /// ```
    pub fn serial_consistency(mut self, consistency: SerialConsistency) -> Self {
        self.serial_consistency = consistency;
        self
    }

    /// How long one request may take before it fails (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = taskrec::cassandra::CassandraConfig::new(["127.0.0.1:9042"], "jobs")
    ///     .request_timeout(Duration::from_secs(2));
    /// assert!(format!("{config:?}").contains("request_timeout: Some(2s)"));
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// How long connecting to a node may take (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = taskrec::cassandra::CassandraConfig::new(["127.0.0.1:9042"], "jobs")
    ///     .connect_timeout(Duration::from_millis(1500));
    /// assert!(format!("{config:?}").contains("connect_timeout: 1.5s"));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// What the driver does when a request fails (default [`Retry::Default`]).
    ///
    /// ```
    /// use taskrec::cassandra::{CassandraConfig, Retry};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs").retry(Retry::Never);
    /// assert!(format!("{config:?}").contains("retry: Never"));
    /// ```
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Username and password for `PasswordAuthenticator`.
    ///
    /// ```
    /// let config = taskrec::cassandra::CassandraConfig::new(["127.0.0.1:9042"], "jobs")
    ///     .credentials("tasks_service", "s3cret");
    /// let shown = format!("{config:?}");
    /// assert!(shown.contains(r#"credentials: Some(("tasks_service", "<hidden>"))"#));
    /// assert!(!shown.contains("s3cret"), "the password never reaches a log");
    /// ```
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((username.into(), password.into()));
        self
    }

    /// Rows per page when listing (default 1000; 0 counts as 1).
    ///
    /// ```
    /// let config = taskrec::cassandra::CassandraConfig::new(["127.0.0.1:9042"], "jobs").page_size(0);
    /// assert!(format!("{config:?}").contains("page_size: 1,"));
    /// ```
    pub fn page_size(mut self, rows: u32) -> Self {
        self.page_size = rows.max(1);
        self
    }

    /// How many partitions a listing or a count reads at once (default 8;
    /// 0 counts as 1).
    ///
    /// ```
    /// let config = taskrec::cassandra::CassandraConfig::new(["127.0.0.1:9042"], "jobs").list_concurrency(16);
    /// assert!(format!("{config:?}").contains("list_concurrency: 16"));
    /// ```
    pub fn list_concurrency(mut self, partitions: usize) -> Self {
        self.list_concurrency = partitions.max(1);
        self
    }

    /// Whether connecting creates the keyspace, table, history table and
    /// (for taskrec's table) the listing, list settings, kept counts and ready index tables when missing (default false:
    /// they must exist; the history table only for a store that keeps
    /// history). The statements it runs are
    /// [`schema_statements`](super::schema_statements).
    ///
    /// ```
    /// use taskrec::cassandra::{schema_statements, CassandraConfig};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs").create_schema(true);
    /// assert!(format!("{config:?}").contains("create_schema: true"));
    /// // the keyspace, the table, the history table, the listing's entries, slices
    /// // and days, the same three for failed tasks, the lists' settings (pauses),
    /// // their kept counts, the ready index, its low marks, and the parts of
    /// // lists and their sweepers (for `owned_parts`)
    /// assert_eq!(schema_statements(&config)?.len(), 15);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn create_schema(mut self, create: bool) -> Self {
        self.create_schema = create;
        self
    }

    /// Whether taskrec's table keeps its ready index (default true): every
    /// save, claim and renewal also writes a hint row, so that workers find
    /// ready tasks without reading the list ([`next_ready`](crate::adapter::StorageAdapter::next_ready);
    /// see the [module docs](super#claim-next-the-ready-index)). It costs a
    /// third write in a save's batch (`docs/BENCHMARKS.md`). Without it, saves write the row and its listing entry and a
    /// worker's every pass reads the whole list and every state. Every
    /// client of a table must agree: tasks saved by a client without the
    /// index are found by the others' walks only (every 10 minutes).
    ///
    /// ```
    /// use taskrec::cassandra::{schema_statements, CassandraConfig};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs").ready_index(false);
    /// assert_eq!(schema_statements(&config)?.len(), 11); // no ready index tables
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn ready_index(mut self, keep: bool) -> Self {
        self.ready_index = keep;
        self
    }

    /// How often each process walks every list it sweeps for ready tasks
    /// (default [`WALK_EVERY`](super::ready::WALK_EVERY), 10 minutes; at
    /// least a second). A walk reads the list's pages and every state, as
    /// a worker without the index does on every pass: it is what finds a
    /// task whose hint was lost (its hint write failed after its row's, or
    /// a client without the index saved it). Between walks an idle
    /// worker's polls read only the hint partitions due, so this interval
    /// sets what an idle worker costs on a long list: one walk of it per
    /// interval per process (`docs/SCALE.md`, "Idle workers"). A longer
    /// interval is cheaper; such a task then waits up to that long.
    ///
    /// ```
    /// use std::time::Duration;
    /// use taskrec::cassandra::CassandraConfig;
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs")
    ///     .ready_walk_every(Duration::from_secs(3600)); // a list of millions, hints trusted
    /// assert!(format!("{config:?}").contains("ready_walk_every: 3600s"));
    /// ```
    pub fn ready_walk_every(mut self, every: Duration) -> Self {
        self.ready_walk_every = every.max(Duration::from_secs(1));
        self
    }

    /// Whether the processes sweeping a list for ready tasks split it into
    /// parts, each swept by one of them (default off).
    ///
    /// The ready index of a list has [`SHARDS`](super::ready::SHARDS) hint
    /// shards. With this on, each is a **part** owned by one sweeping process
    /// at a time, under a lease of [`PART_LEASE`](super::ready::PART_LEASE)
    /// renewed every [`RENEW_EVERY`](super::ready::RENEW_EVERY); each process
    /// takes its fair share (the parts over the processes sweeping the list,
    /// rounded up) and sweeps only its parts' hints, so workers on one list no
    /// longer race for the same tasks. A process that stops sweeping (a
    /// [`Worker`](crate::Worker) that stops) hands its parts back at once;
    /// one that dies leaves them until their lease runs out, and the
    /// takeover is logged and counted (`taskrec_part_takeovers_total`).
    ///
    /// The owner of a part claims its tasks without a lightweight
    /// transaction: a plain write stamped inside its lease, read back, and
    /// trusted only if it is seen to land [`FENCE_MARGIN`](super::ready::FENCE_MARGIN)
    /// before the lease ends; the completion of such a claim deletes by the
    /// claim's timestamp without reading first. A task run and completed
    /// costs no Paxos round then. Lightweight transactions remain for what
    /// may race a claim: a task claimed before whose lease ran out, the
    /// first [`HAND_WINDOW`](super::ready::HAND_WINDOW) after a part is
    /// taken if a claim by hand was made in the list just before, renewals,
    /// retries and failures. A claim by hand
    /// ([`TaskStore::claim`](crate::TaskStore::claim)) of a task in a part
    /// that another process owns answers `None`; in a part nobody owns it
    /// is a lightweight transaction, after a mark on the list that a
    /// process taking a part reads (one write per list and second). See
    /// `docs/SCALE.md`, "Plain claims".
    ///
    /// A worker's claim of a task its own process handed out, under a lease
    /// of 8 s or more, is not even written at first: the process holds it,
    /// a completion within 2 s deletes the task with no read, and only a
    /// task still running then has its claim written (one lightweight
    /// transaction). Other processes see such a task as pending for those
    /// 2 s. See `docs/SCALE.md`, "Held claims".
    ///
    /// It costs a few requests per list every 5 s and process (a row saying
    /// it sweeps, a read of the parts, one lightweight transaction renewing
    /// its parts), whatever the list holds; the tasks of a part whose owner
    /// died wait up to the lease for their next sweep. **Use the same
    /// setting in every process that claims tasks of a list**, hand claims
    /// included: a process without it refuses its claims (`None`, and a
    /// warning once a minute) in a list whose parts another process owns,
    /// since its lightweight transaction could not see an owner's plain
    /// claim coming and the task could run twice at once; it looks at the
    /// list's parts for that once a second while it claims. A process
    /// without it also sweeps every shard and reads the list's low mark,
    /// which those with it do not move. The tables it uses (`{table}_ready_parts`,
    /// `{table}_ready_sweepers`) are made with the ready index
    /// (`schema/ready_parts.cql`, `schema/ready_sweepers.cql`); parts are
    /// the ready index's shards, so with [`ready_index(false)`](Self::ready_index)
    /// a process holds none and claims as a process without this setting.
    /// See `docs/SCALE.md`, "Parts of a list".
    ///
    /// It needs a [`write_consistency`](Self::write_consistency) whose writes a
    /// read at the same consistency sees (QUORUM, LOCAL_QUORUM, EACH_QUORUM or
    /// ALL; connecting with another, or with
    /// [`Retry::DowngradingConsistency`], fails), and, at LOCAL_QUORUM, every
    /// process that claims in a list in one data centre, as for
    /// LOCAL_SERIAL.
    ///
    /// ```
    /// use taskrec::cassandra::CassandraConfig;
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs").owned_parts(true);
    /// assert!(format!("{config:?}").contains("owned_parts: true"));
    /// ```
    pub fn owned_parts(mut self, on: bool) -> Self {
        self.owned_parts = on;
        self
    }

    /// How uncertain the cluster's time may be before writes that place a
    /// task by time are refused (default [`DEFAULT_CLOCK_TOLERANCE`],
    /// 250 ms; at most [`MAX_CLOCK_TOLERANCE`], 500 ms).
    ///
    /// The adapter keeps time by the cluster, not by this process's clock
    /// (see [`clock`](crate::clock)): it measures the offset between the two
    /// when it connects and every [`clock_check_every`](Self::clock_check_every),
    /// from the fastest of five time queries, whose half round trip is the
    /// measurement's uncertainty. When the time cannot be told within this
    /// tolerance (no measurement yet, the cluster not answering the time
    /// query, time queries slower than twice the tolerance, a measurement
    /// grown old, or a step of this process's clock not yet measured
    /// again), saves, claims and renewals answer
    /// [`Error::ClockSkew`](crate::Error::ClockSkew) rather than place a
    /// task by a guess. Reads go on without waiting for a measurement
    /// (listings then mark no minute drained); completions, deletes,
    /// failures, retries and releases go on too, stamped by the last
    /// measurement carried forward, since refusing them would run their
    /// tasks again. Two processes may disagree by twice their tolerance;
    /// the bound of 500 ms keeps that inside the margins the listing and
    /// the ready index leave (`docs/SCALE.md`). The server's clock reads in
    /// milliseconds, so below about a millisecond no measurement meets it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use taskrec::cassandra::{schema_statements, CassandraConfig};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs")
    ///     .clock_tolerance(Duration::from_millis(100));
    /// assert!(format!("{config:?}").contains("clock_tolerance: 100ms"));
    /// let loose = CassandraConfig::new(["127.0.0.1:9042"], "jobs").clock_tolerance(Duration::from_secs(1));
    /// assert!(matches!(schema_statements(&loose), Err(taskrec::Error::InvalidConfig { .. })));
    /// ```
    pub fn clock_tolerance(mut self, tolerance: Duration) -> Self {
        self.clock_tolerance = tolerance;
        self
    }

    /// How often the adapter measures the cluster's clock again (default
    /// [`DEFAULT_CLOCK_CHECK_EVERY`], a minute; at least a second). The
    /// first call that finds the measurement due takes it (five small
    /// reads of `system.local`); calls meanwhile go on with the last one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use taskrec::cassandra::CassandraConfig;
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs")
    ///     .clock_check_every(Duration::from_secs(10));
    /// assert!(format!("{config:?}").contains("clock_check_every: 10s"));
    /// ```
    pub fn clock_check_every(mut self, every: Duration) -> Self {
        self.clock_check_every = every.max(Duration::from_secs(1));
        self
    }

    /// The offset between this process's clock and the cluster's past
    /// which the adapter warns (default [`DEFAULT_CLOCK_WARN_OFFSET`],
    /// 1 s): a `warn` event per measurement, the gauge
    /// `taskrec_clock_offset_seconds` (always set), and a
    /// [`WorkerEvent::ClockOffset`](crate::WorkerEvent::ClockOffset) in a
    /// worker. taskrec corrects for any offset it measures; the warning is
    /// for the host's clock, which other software on it trusts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use taskrec::cassandra::CassandraConfig;
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs")
    ///     .clock_warn_offset(Duration::from_millis(250));
    /// assert!(format!("{config:?}").contains("clock_warn_offset: 250ms"));
    /// ```
    pub fn clock_warn_offset(mut self, offset: Duration) -> Self {
        self.clock_warn_offset = offset;
        self
    }

    /// Whether a save of a task whose id taskrec made (a version 7 UUID,
    /// [`Task::build`](crate::Task::build), [`TaskStore::create`](crate::TaskStore::create))
    /// skips the read of where an earlier save put its listing entry
    /// (default true): it puts the entry in the minute the id was made in,
    /// for half a minute after that minute ends, so a save is one request
    /// instead of two (`docs/SCALE.md`).
    ///
    /// Turn it off while processes of taskrec 0.2, which read first and
    /// put a new id's entry in the current minute, save the same ids as
    /// this one: an id made in one minute and saved by both in the next
    /// would get an entry in each.
    ///
    /// ```
    /// let config = taskrec::cassandra::CassandraConfig::new(["127.0.0.1:9042"], "jobs")
    ///     .unread_saves(false); // during a rolling upgrade from 0.2
    /// assert!(format!("{config:?}").contains("unread_saves: false"));
    /// ```
    pub fn unread_saves(mut self, skip_the_read: bool) -> Self {
        self.unread_saves = skip_the_read;
        self
    }

    /// The replication of a keyspace created by [`create_schema`](Self::create_schema)
    /// (default `SimpleStrategy` with one replica, for development).
    ///
    /// ```
    /// use taskrec::cassandra::{schema_statements, CassandraConfig, Replication};
    /// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs").replication(Replication::Simple(3));
    /// assert!(schema_statements(&config)?[0].contains("'replication_factor': 3"));
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn replication(mut self, replication: Replication) -> Self {
        self.replication = replication;
        self
    }

    /// Encrypts connections with TLS (cargo feature `cassandra-rustls`, or
    /// `cassandra-tls` for OpenSSL: [`TlsBackend`](super::TlsBackend)).
    ///
    /// ```
    /// use taskrec::cassandra::{CassandraConfig, TlsConfig};
    /// let config = CassandraConfig::new(["127.0.0.1:9142"], "jobs").tls(TlsConfig::new("certs/ca.pem"));
    /// assert!(format!("{config:?}").contains(r#"tls: Some(TlsConfig { ca_file: "certs/ca.pem""#));
    /// ```
    #[cfg(any(feature = "cassandra-tls", feature = "cassandra-rustls"))]
    pub fn tls(mut self, tls: super::tls::TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The keyspace's name.
    ///
    /// ```
    /// let config = taskrec::cassandra::CassandraConfig::new(["127.0.0.1:9042"], "jobs");
    /// assert_eq!(config.keyspace_name(), "jobs");
    /// ```
    pub fn keyspace_name(&self) -> &str {
        &self.keyspace
    }

    /// The table's name.
    ///
    /// ```
    /// let config = taskrec::cassandra::CassandraConfig::new(["127.0.0.1:9042"], "jobs").table("work");
    /// assert_eq!(config.table_name(), "work");
    /// ```
    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub(super) fn clock_limits(&self) -> super::clock::ClockLimits {
        super::clock::ClockLimits {
            tolerance: self.clock_tolerance,
            check_every: self.clock_check_every,
            warn_offset: self.clock_warn_offset,
        }
    }

    /// Whether the ready index is kept: asked for, on taskrec's table
    /// (task_rb's keeps no task state to index).
    pub(super) fn keeps_ready_index(&self) -> bool {
        self.ready_index && matches!(self.layout, TableLayout::Taskrec { .. })
    }

    /// Checks what can be checked without a cluster.
    pub(super) fn validate(&self) -> Result<()> {
        if self.contact_points.is_empty() {
            return Err(invalid("no contact points".to_owned()));
        }
        validate_identifier("keyspace", &self.keyspace)?;
        validate_identifier("table", &self.table)?;
        // Taskrec's table has tables beside it, named after it.
        let mut suffixes = Vec::new();
        if matches!(self.layout, TableLayout::Taskrec { .. }) {
            suffixes.extend(["_entries", "_slices", "_days"]);
            suffixes.extend(["_failed_entries", "_failed_slices", "_failed_days"]);
            suffixes.extend(["_lists", "_counts"]);
        }
        if self.keeps_ready_index() {
            suffixes.extend(["_ready", "_ready_low", "_ready_parts", "_ready_sweepers"]);
        }
        let longest = suffixes.iter().map(|s| s.len()).max().unwrap_or(0);
        for suffix in &suffixes {
            let name = format!("{}{suffix}", self.table);
            validate_identifier("table beside the tasks table", &name).map_err(|e| match e {
                Error::InvalidConfig { adapter, reason } => Error::InvalidConfig {
                    adapter,
                    reason: format!(
                        "{reason} (taskrec's table keeps `{name}` beside it: \
                         use a table name of at most {} characters)",
                        MAX_IDENTIFIER_LEN - longest
                    ),
                },
                other => other,
            })?;
        }
        validate_identifier("history table", &self.history_table_name()).map_err(|e| {
            match (&self.history_table, e) {
                (None, Error::InvalidConfig { adapter, reason }) => Error::InvalidConfig {
                    adapter,
                    reason: format!("{reason} (it is the table's name and `_history`: name it with `history_table`)"),
                },
                (_, e) => e,
            }
        })?;
        if self.clock_tolerance.is_zero() || self.clock_tolerance > MAX_CLOCK_TOLERANCE {
            return Err(invalid(format!(
                "clock tolerance {:?} is not above zero and at most {MAX_CLOCK_TOLERANCE:?}",
                self.clock_tolerance
            )));
        }
        // Parts rest on writes that a later read at the same consistency
        // must see (a take and a claim by hand's mark; a plain claim and
        // its read-back): quorums that overlap.
        let overlapping = matches!(
            self.write_consistency,
            Consistency::Quorum
                | Consistency::LocalQuorum
                | Consistency::EachQuorum
                | Consistency::All
        );
        if self.owned_parts
            && self.keeps_ready_index()
            && matches!(self.retry, Retry::DowngradingConsistency)
        {
            return Err(invalid(
                "owned_parts cannot retry at a lower consistency (Retry::DowngradingConsistency): \
                 a write downgraded to fewer replicas than a quorum could be missed by the read \
                 that must see it, and a task could run twice at once"
                    .to_owned(),
            ));
        }
        if self.owned_parts && self.keeps_ready_index() && !overlapping {
            return Err(invalid(format!(
                "owned_parts needs a write consistency whose writes a read at the same \
                 consistency sees (QUORUM, LOCAL_QUORUM, EACH_QUORUM or ALL), not {:?}: \
                 with less, a claim by hand and a process taking the task's part could \
                 each miss the other and both run the task",
                self.write_consistency
            )));
        }
        if let TableLayout::Taskrec { shards: Some(n) } = self.layout
            && (n == 0 || n > MAX_SHARDS)
        {
            return Err(invalid(format!(
                "shard count {n} is not between 1 and {MAX_SHARDS}"
            )));
        }
        Ok(())
    }
}

pub(super) fn invalid(reason: String) -> Error {
    Error::InvalidConfig {
        adapter: ADAPTER,
        reason,
    }
}

/// Keyspace and table names are spliced into CQL text (CQL cannot bind
/// them), so only plain lowercase identifiers are accepted: nothing that
/// could quote, comment or end a statement, and nothing that Cassandra
/// would silently lowercase into another name.
fn validate_identifier(what: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= MAX_IDENTIFIER_LEN;
    if valid {
        Ok(())
    } else {
        Err(invalid(format!(
            "{what} name {name:?} must be a lowercase letter followed by at most {} lowercase letters, digits or `_`",
            MAX_IDENTIFIER_LEN - 1
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_that_could_change_cql_are_refused() {
        for bad in [
            "",
            "Tasks",
            "1tasks",
            "tasks;drop",
            "t\"x",
            "a b",
            "ks.t",
            &"x".repeat(49),
        ] {
            let config = CassandraConfig::new(["127.0.0.1:9042"], bad);
            assert!(
                matches!(config.validate(), Err(Error::InvalidConfig { .. })),
                "keyspace {bad:?} must be refused"
            );
        }
        let config = CassandraConfig::new(["127.0.0.1:9042"], "ok_ks1").table("tasks_v2");
        assert!(config.validate().is_ok());
    }

    #[test]
    fn bucket_counts_out_of_range_are_refused() {
        for n in [0, MAX_SHARDS + 1] {
            let config = CassandraConfig::new(["h:1"], "ks")
                .layout(TableLayout::Taskrec { shards: Some(n) });
            assert!(matches!(
                config.validate(),
                Err(Error::InvalidConfig { .. })
            ));
        }
    }

    #[test]
    fn owned_parts_refuse_a_write_consistency_reads_may_miss() {
        let owned = || CassandraConfig::new(["h:1"], "ks").owned_parts(true);
        for weak in [
            Consistency::One,
            Consistency::LocalOne,
            Consistency::Two,
            Consistency::Any,
        ] {
            let error = owned().write_consistency(weak).validate().unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("owned_parts needs a write consistency"),
                "{weak:?}: {error}"
            );
            // Without parts, or without the ready index they are parts of,
            // nothing rests on it.
            let config = CassandraConfig::new(["h:1"], "ks").write_consistency(weak);
            assert!(config.validate().is_ok(), "{weak:?}");
            assert!(owned()
                .ready_index(false)
                .write_consistency(weak)
                .validate()
                .is_ok());
        }
        for quorum in [
            Consistency::Quorum,
            Consistency::LocalQuorum,
            Consistency::EachQuorum,
            Consistency::All,
        ] {
            assert!(
                owned().write_consistency(quorum).validate().is_ok(),
                "{quorum:?}"
            );
        }
        let error = owned()
            .retry(Retry::DowngradingConsistency)
            .validate()
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("owned_parts cannot retry at a lower consistency"),
            "{error}"
        );
        assert!(CassandraConfig::new(["h:1"], "ks")
            .retry(Retry::DowngradingConsistency)
            .validate()
            .is_ok());
    }

    #[test]
    fn replication_literals() {
        assert_eq!(
            Replication::Simple(3).to_cql().unwrap(),
            "{'class': 'SimpleStrategy', 'replication_factor': 3}"
        );
        assert_eq!(
            Replication::NetworkTopology(vec![("dc1".into(), 3)])
                .to_cql()
                .unwrap(),
            "{'class': 'NetworkTopologyStrategy', 'dc1': 3}"
        );
        assert!(Replication::NetworkTopology(vec![("dc'1".into(), 3)])
            .to_cql()
            .is_err());
    }
}
