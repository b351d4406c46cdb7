//! The command line: the connection options every command shares, and one
//! subcommand per operation, each with an example in its `--help`.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "taskrec",
    version,
    about = "Look at, count, retry, purge, export and import taskrec task lists in Cassandra or ScyllaDB",
    long_about = "Look at, count, retry, purge, export and import taskrec task lists in Cassandra or \
ScyllaDB, on taskrec's table or task_rb's.\n\n\
Credentials come from the environment only, so that they never show in a process list: \
TASKREC_USERNAME and TASKREC_PASSWORD (PasswordAuthenticator).\n\n\
Exit codes: 0 done, 1 an error (connection, storage, a missing task, bad import lines), \
2 bad usage.",
    after_help = "Examples:\n  \
export TASKREC_CASSANDRA=10.0.0.1:9042,10.0.0.2:9042 TASKREC_KEYSPACE=jobs\n  \
taskrec count emails --by-status\n  \
taskrec ls emails --status failed\n  \
taskrec retry emails --failed --yes"
)]
pub struct Cli {
    /// Where the tasks are.
    #[command(flatten)]
    pub connection: Connection,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How to reach the cluster and which table to use: every command takes them.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
pub struct Connection {
    /// A node to connect to; repeat the option or separate nodes with commas
    #[arg(
        long = "cassandra",
        value_name = "HOST:PORT",
        env = "TASKREC_CASSANDRA",
        value_delimiter = ',',
        default_value = "127.0.0.1:9042",
        global = true
    )]
    pub nodes: Vec<String>,

    /// The keyspace of the tasks table (required)
    #[arg(long, env = "TASKREC_KEYSPACE", global = true)]
    pub keyspace: Option<String>,

    /// The tasks table
    #[arg(long, env = "TASKREC_TABLE", default_value = "tasks", global = true)]
    pub table: String,

    /// The table's layout: taskrec's own, or the Ruby gem task_rb's
    #[arg(
        long,
        value_enum,
        env = "TASKREC_LAYOUT",
        default_value_t = Layout::Taskrec,
        global = true
    )]
    pub layout: Layout,

    /// Listing shards of a new taskrec table (`schema`); an existing table's own count wins
    /// (`--buckets` is the 0.2 spelling, still accepted)
    #[arg(long, value_name = "N", global = true, alias = "buckets")]
    pub shards: Option<u32>,

    /// The consistency of reads and writes
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        env = "TASKREC_CONSISTENCY",
        default_value_t = ConsistencyLevel::LocalQuorum,
        global = true
    )]
    pub consistency: ConsistencyLevel,

    /// The consistency of the Paxos phase of conditional writes (retry, purge)
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        default_value_t = SerialLevel::Serial,
        global = true
    )]
    pub serial_consistency: SerialLevel,

    /// The history table [default: the table's name and `_history`]
    #[arg(
        long,
        value_name = "TABLE",
        env = "TASKREC_HISTORY_TABLE",
        global = true
    )]
    pub history_table: Option<String>,

    /// The table's clients keep no ready index (CassandraConfig::ready_index(false))
    #[arg(long, global = true)]
    pub no_ready_index: bool,

    /// How long one request may take, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10, global = true)]
    pub timeout: u64,

    /// Encrypt connections with TLS, verifying servers against this CA's PEM file
    /// (and it alone); through rustls, or the system's OpenSSL in a `taskrec` built
    /// with `--features openssl`
    #[arg(long, value_name = "FILE", env = "TASKREC_TLS_CA", global = true)]
    pub tls_ca: Option<PathBuf>,

    /// A client certificate (PEM) to present, with --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key", global = true)]
    pub tls_cert: Option<PathBuf>,

    /// The client certificate's private key (PEM), with --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert", global = true)]
    pub tls_key: Option<PathBuf>,
}

/// A table layout, as `TableLayout` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// taskrec's table: one partition per task, with task state
    Taskrec,
    /// task_rb's table, `PRIMARY KEY ((task_list), id, type)`: no task state
    TaskRb,
}

/// A consistency level, named as in cqlsh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ConsistencyLevel {
    Any,
    One,
    Two,
    Three,
    Quorum,
    All,
    LocalQuorum,
    EachQuorum,
    LocalOne,
}

/// A serial consistency level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum SerialLevel {
    Serial,
    LocalSerial,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print or create the keyspace and tables
    #[command(
        subcommand,
        after_help = "Examples:\n  \
taskrec --keyspace jobs schema print\n  \
taskrec --keyspace jobs schema create --replication 3"
    )]
    Schema(SchemaCommand),
    /// Count a list's tasks, in all or by status
    #[command(after_help = "Examples:\n  \
taskrec count emails\n  \
taskrec count emails --by-status --format json\n\n\
JSON: {\"task_list\": L, \"total\": N} and, with --by-status, \"pending\", \"scheduled\" \
(saved to run at a time still ahead), \"claimed\", \"succeeded\", \"failed\", \"unknown\" (unreadable or newer states).")]
    Count(CountArgs),
    /// List a list's tasks, or those in one status
    #[command(after_help = "Examples:\n  \
taskrec ls emails --limit 20\n  \
taskrec ls emails --status failed --format jsonl | jq -r .state.last_error\n\n\
JSON (an array) and JSON lines give one object a task: task_list, id, type, data (the task's \
JSON object; a string when the stored data is not JSON), created_at, updated_at (RFC 3339, \
UTC), state (null on task_rb's table): {status (scheduled: a pending task whose not_before \
is ahead and that was never tried), attempts, last_error, owner, lease_until, \
not_before, changed_at, result}, absent values null.")]
    Ls(LsArgs),
    /// Show one task: its record, state and history
    #[command(after_help = "Examples:\n  \
taskrec show emails welcome-42\n  \
taskrec show emails welcome-42 --format json\n\n\
JSON: the object `ls` gives, and history: [{at, state}], oldest first (empty unless the \
list's store keeps history). A task that does not exist is an error (exit 1).")]
    Show(ShowArgs),
    /// Make tasks pending again, attempts reset: some by id, or every failed one
    #[command(after_help = "Examples:\n  \
taskrec retry emails welcome-42 welcome-43\n  \
taskrec retry emails --failed --dry-run\n  \
taskrec retry emails --failed --yes\n\n\
A task a worker holds under a live lease is left alone. Exit 1 when an id was not \
retried (absent, or held).")]
    Retry(RetryArgs),
    /// Complete tasks by hand: their records are deleted
    #[command(after_help = "Examples:\n  \
taskrec complete emails welcome-42\n  \
taskrec complete emails welcome-42 welcome-43 --yes\n\n\
Asks first when given more than one id. Exit 1 when an id does not exist (the others are \
completed).")]
    Complete(CompleteArgs),
    /// Remove a list's failed tasks
    #[command(after_help = "Examples:\n  \
taskrec purge emails --status failed --dry-run\n  \
taskrec purge emails --status failed --yes\n\n\
A task retried or saved again since it was listed is left alone.")]
    Purge(PurgeArgs),
    /// Write a list's tasks as JSON lines of task hashes
    #[command(after_help = "Examples:\n  \
taskrec export emails -o emails.jsonl\n  \
taskrec export emails | gzip > emails.jsonl.gz\n\n\
Each line is a task_rb hash: {\"task_list\", \"id\", \"type\", \"data\"}. Streamed: memory \
stays flat whatever the list's size.")]
    Export(ExportArgs),
    /// Save tasks from JSON lines of task hashes (what `export` writes)
    #[command(after_help = "Examples:\n  \
taskrec import emails.jsonl\n  \
taskrec import emails.jsonl --list emails-replay --keep-going\n  \
taskrec export emails | taskrec import - --list emails-copy\n  \
taskrec import reminders.jsonl --in 15m\n\n\
Every line is checked first, and nothing is written when one is bad; each bad line is \
reported as FILE:LINE: reason (exit 1). A task already stored with the same type and data \
is left as it is (its state too), so importing a file twice changes nothing the second \
time. With --at or --in, the tasks written are scheduled: listed as scheduled, and run by no \
worker before that time.")]
    Import(ImportArgs),
    /// Check the deployment: nodes, versions, schema, and this client's clock
    #[command(after_help = "Examples:\n  \
taskrec doctor\n  \
taskrec doctor --format json | jq .clock\n\n\
Reads each node's version and schema version, measures this client's clock against each \
node's and against the cluster (as the adapter keeps time by it), and names what needs \
fixing. Exit 0 when nothing does (warnings, such as a clock taskrec corrects for, are \
printed), 1 when something does.\n\n\
JSON: {table, layout, shards, clock: {offset_ms, uncertainty_ms, measured_at} or null, \
clock_tolerance_ms, nodes: [{address, datacenter, rack, release_version, schema_version, \
clock, error}], problems: [..], warnings: [..]}; offset_ms is the cluster's clock minus \
this client's.")]
    Doctor(DoctorArgs),
    /// Pause a list: workers take none of its tasks until it is resumed
    #[command(after_help = "Examples:\n  \
taskrec pause emails\n  \
taskrec pause emails --by \"alice: mail server down\"\n\n\
Every worker serving or draining the list stops taking its tasks within one idle poll; \
tasks already running finish. Saving, listing and completing by hand go on. The pause is \
stored with who paused it (--by, else the login name) and when.")]
    Pause(PauseArgs),
    /// Resume a paused list: workers take its tasks again
    #[command(after_help = "Examples:\n  \
taskrec resume emails\n\n\
Workers take the list's tasks again within one idle poll. Resuming a list that is not \
paused changes nothing.")]
    Resume(ResumeArgs),
    /// Serve the dashboard: the lists, their tasks, and changes by hand, in a browser
    #[command(after_help = "Examples:\n  \
taskrec web --list emails --list images\n  \
TASKREC_WEB_TOKEN=$(openssl rand -hex 16) taskrec web --listen 127.0.0.1:8080 --list emails\n\n\
Listens on 127.0.0.1:8080 unless told otherwise. Read-only unless TASKREC_WEB_TOKEN holds a \
token: then retries, completions, purges and pauses need it (the browser asks for it as the \
password, any user name, which the audit log on standard error names). Ctrl-C stops it.")]
    Web(WebArgs),
}

/// `web`.
#[derive(Debug, Args)]
pub struct WebArgs {
    /// The address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// A list the overview shows (repeatable); any other opens by name
    #[arg(long = "list", value_name = "LIST")]
    pub lists: Vec<String>,
    /// Change nothing, even with a token
    #[arg(long)]
    pub read_only: bool,
}

/// `pause`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The task list
    pub list: String,
    /// Who pauses it, kept with the pause (default: the login name)
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
}

/// `resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The task list
    pub list: String,
}

/// `schema print` and `schema create`.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Print the CQL of the keyspace and tables
    #[command(after_help = "Examples:\n  \
taskrec --keyspace jobs schema print > jobs.cql\n  \
taskrec --keyspace jobs --layout task-rb schema print --replication dc1:3,dc2:3")]
    Print(ReplicationArgs),
    /// Create the keyspace and tables where missing
    #[command(after_help = "Examples:\n  \
taskrec --keyspace jobs schema create\n  \
taskrec --keyspace jobs --shards 64 schema create --replication 3")]
    Create(ReplicationArgs),
}

/// The replication of a keyspace to create.
#[derive(Debug, Args)]
pub struct ReplicationArgs {
    /// The keyspace's replication: a replica count (SimpleStrategy), or
    /// DC:COUNT pairs separated by commas (NetworkTopologyStrategy)
    #[arg(long, value_name = "SPEC", default_value = "1")]
    pub replication: String,
}

/// `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `count`.
#[derive(Debug, Args)]
pub struct CountArgs {
    /// The task list
    pub list: String,
    /// Count by status: pending, scheduled, claimed, succeeded, failed, unknown
    /// (`--by-state` is the 0.2 spelling, still accepted)
    #[arg(long, alias = "by-state")]
    pub by_status: bool,
    /// With --by-status: the counts kept by the last count when they are at
    /// most this old (a number and s, m, h or d), else count the list now
    /// and keep the figures. Without it, the kept counts unless they are
    /// older than a minute and than ten times as long as their count took,
    /// as a worker judges them. A count reads every task's state.
    #[arg(long, value_name = "AGE", value_parser = parse_delay, requires = "by_status")]
    pub max_age: Option<Duration>,
    /// With --by-status: count the list now, whatever is kept (--max-age 0s)
    #[arg(long, requires = "by_status", conflicts_with = "max_age")]
    pub exact: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// The task list
    pub list: String,
    /// Only the tasks in this status (`--state` is the 0.2 spelling, still accepted)
    #[arg(long, value_enum, alias = "state")]
    pub status: Option<Status>,
    /// At most this many tasks
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The task list
    pub list: String,
    /// The task's id
    pub id: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `retry`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The task list
    pub list: String,
    /// The ids of the tasks to retry
    #[arg(required_unless_present = "failed", conflicts_with = "failed")]
    pub ids: Vec<String>,
    /// Retry every failed task of the list
    #[arg(long)]
    pub failed: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub confirm: Confirm,
}

/// `complete`.
#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The task list
    pub list: String,
    /// The ids of the tasks to complete
    #[arg(required = true)]
    pub ids: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub confirm: Confirm,
}

/// `purge`.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// The task list
    pub list: String,
    /// The status of the tasks to remove (`--state` is the 0.2 spelling, still accepted)
    #[arg(long, value_enum, required = true, alias = "state")]
    pub status: PurgeStatus,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub confirm: Confirm,
}

/// What a change of many tasks needs before it goes ahead.
#[derive(Debug, Args)]
pub struct Confirm {
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Say what would change, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The task list
    pub list: String,
    /// Write to this file (replaced once the export is whole) instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A file of JSON lines, one task hash a line; `-` for standard input
    pub file: PathBuf,
    /// Save every task into this list, whatever its line says
    #[arg(long, value_name = "LIST")]
    pub list: Option<String>,
    /// Write the good lines even when some are bad (still exit 1 if any is)
    #[arg(long)]
    pub keep_going: bool,
    /// Groups of up to 100 tasks imported at once
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Schedule the tasks written: none runs before this time (RFC 3339,
    /// e.g. 2026-12-24T08:00:00Z)
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "delay")]
    pub at: Option<DateTime<Utc>>,
    /// Schedule the tasks written: none runs before this long from now, by
    /// the cluster's clock (a number and s, m, h or d: 90s, 15m, 2h, 7d)
    #[arg(long = "in", value_name = "DELAY", value_parser = parse_delay)]
    pub delay: Option<Duration>,
}

/// A time as `--at` takes it: RFC 3339, any offset.
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| format!("{e}: give a time as RFC 3339, e.g. 2026-12-24T08:00:00Z"))
}

/// A delay as `--in` takes it: a whole number and a unit, `s`, `m`, `h` or `d`.
fn parse_delay(text: &str) -> Result<Duration, String> {
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit: add s, m, h or d (e.g. {text}s)"))?;
    let (number, unit) = text.split_at(unit_at);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number (e.g. 15m)"))?;
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: the unit {unit:?} is not one of s, m, h, d"
            ))
        }
    };
    number
        .checked_mul(seconds_per)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long a delay"))
}

/// A task status to select.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)]
pub enum Status {
    Pending,
    /// Saved to run at a time still ahead
    Scheduled,
    Claimed,
    Succeeded,
    Failed,
}

/// The only status `purge` removes (a pending or claimed task is work still
/// to do, a succeeded one leaves by itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)]
pub enum PurgeStatus {
    Failed,
}

/// The output of `count` and `show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)]
pub enum Format {
    Text,
    Json,
}

/// The output of `ls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns, for people
    Table,
    /// One JSON array
    Json,
    /// One JSON object a line
    Jsonl,
}
