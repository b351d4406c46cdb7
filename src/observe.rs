//! What taskrec reports to tracing and metrics, and under which names.
//!
//! taskrec reports through two facades: the [`tracing`] crate for spans and
//! events, and the [`metrics`] crate for counters and histograms. Both are
//! plain dependencies, not cargo features, because both cost next to nothing
//! until the application installs something: with no `tracing` subscriber a
//! span is a check of a flag cached at its call site and no field is
//! formatted, and with no `metrics` recorder every metric is a no-op handle.
//! Install a subscriber (`tracing-subscriber`, `tracing-opentelemetry`) to
//! see spans and events, and a recorder (`metrics-exporter-prometheus`, …)
//! to collect metrics; `examples/worker.rs` does both.
//!
//! # Spans
//!
//! Field names follow the OpenTelemetry semantic conventions for database
//! client spans (`db.*`, `cassandra.*`), plus taskrec's own.
//!
//! | span | level | where | fields |
//! | --- | --- | --- | --- |
//! | `taskrec.save`, `taskrec.find`, `taskrec.page`, `taskrec.delete`, `taskrec.count` | debug | [`TaskStore`](crate::TaskStore) | `task_list`, `task.id`, `task.type` (as far as the call knows them) |
//! | `taskrec.save_all` | debug | [`TaskStore::save_all`](crate::TaskStore::save_all) | `concurrency`, `saved` (at the end) |
//! | `taskrec.cassandra` | debug | every [`StorageAdapter`](crate::adapter::StorageAdapter) call of the Cassandra adapter | `db.system.name = "cassandra"`, `db.namespace` (keyspace), `db.collection.name` (table), `db.operation.name`, `cassandra.consistency.level`, `otel.kind = "client"`, `task_list`, `task.id`, `error.type` (on failure) |
//! | `taskrec.memory` | debug | every `StorageAdapter` call of the [`MemoryAdapter`](crate::MemoryAdapter) | `db.system.name = "memory"`, `db.operation.name`, `task_list`, `task.id` |
//! | `taskrec.claim` | debug | a [`Worker`](crate::Worker) claiming a task | `task_list`, `task.id`, `task.type`, `owner`, `result` (`won`, `lost`, `not_claimable`) |
//! | `taskrec.attempt` | info | a `Worker` running a claimed task, renewals and the outcome included; the handler runs inside it, so its own events carry the task | `task_list`, `task.id`, `task.type`, `attempt`, `owner`, `outcome` (`succeeded`, `retried`, `failed`, `lost`, `released`) |
//!
//! `db.operation.name` is one of [`OPERATIONS`]: the adapter method, with
//! the conditional state write named after what it does (`claim` for a
//! claim or a renewal of one, `complete` for a completion, `change_state`
//! for the rest).
//!
//! # Events
//!
//! | event | level | fields |
//! | --- | --- | --- |
//! | an attempt failed and will be retried | warn | `error`, `next_attempt_at` |
//! | a task failed for good (out of attempts, or its record does not decode) | error | `error` |
//! | a claim was lost while its task ran (the lease ran out, or the task changed) | warn | |
//! | a storage error in a worker's pass (a listing, a claim); the task is tried again later | error | `task_list`, `error` |
//! | this process's clock is off the cluster's by more than [`clock_warn_offset`](crate::cassandra::CassandraConfig::clock_warn_offset) (at each measurement); a measurement of the cluster's clock failed | warn | `offset`, `uncertainty_ms`; `error` |
//! | Cassandra sent a warning with its answer (a batch past its size or partition thresholds, a read over many tombstones), for saves, batched saves and reads by key | warn | `warning` |
//! | a ready task of a type the worker does not run, left for a worker that runs it (once per list and type every 10 minutes per worker) | warn | `task_list`, `task.id`, `task.type` |
//! | such a task failed once it waited [`fail_unknown_types_after`](crate::WorkerConfig::fail_unknown_types_after) | error | `task_list`, `task.id`, `task.type`, `error` |
//! | a task claimed from a holder whose lease had run out | warn | `task_list`, `task.id`, `previous_owner`, `lease_ended`, `owner` |
//! | a list paused or resumed (`taskrec::pause`); a worker saw a list paused or resumed (`taskrec::worker`) | info | `task_list`, `by`, `since` |
//! | an attempt succeeded; a task given back when the worker stopped | debug | |
//!
//! # Metrics
//!
//! | name | kind | labels | what |
//! | --- | --- | --- | --- |
//! | [`taskrec_saved_total`](SAVED_TOTAL) | counter | `task_list`, `task_type` | tasks saved through a `TaskStore` |
//! | [`taskrec_completed_total`](COMPLETED_TOTAL) | counter | `task_list`, `task_type` | tasks completed: by [`TaskStore::complete`](crate::TaskStore::complete) (which takes any `Task<T>`, so its `task_type` is empty), and each attempt a worker records as succeeded |
//! | [`taskrec_claims_total`](CLAIMS_TOTAL) | counter | `task_list`, `task_type`, `result` (`won`, `lost`) | a worker's claims: won, or lost to another writer |
//! | [`taskrec_attempts_total`](ATTEMPTS_TOTAL) | counter | `task_list`, `task_type` | handler runs by workers |
//! | [`taskrec_retries_total`](RETRIES_TOTAL) | counter | `task_list`, `task_type` | failed attempts that will be retried after a backoff |
//! | [`taskrec_failures_total`](FAILURES_TOTAL) | counter | `task_list`, `task_type` | tasks kept as failed |
//! | [`taskrec_lost_leases_total`](LOST_LEASES_TOTAL) | counter | `task_list`, `task_type` | attempts whose claim was lost before their outcome was recorded |
//! | [`taskrec_unknown_types_total`](UNKNOWN_TYPES_TOTAL) | counter | `task_list`, `task_type` | ready tasks a worker passed over because it does not run their type, each time it met one |
//! | [`taskrec_operation_duration_seconds`](OPERATION_DURATION_SECONDS) | histogram | `operation` (one of [`OPERATIONS`]) | the Cassandra adapter's calls, from first request to answer |
//! | [`taskrec_attempt_duration_seconds`](ATTEMPT_DURATION_SECONDS) | histogram | `task_list`, `task_type`, `outcome` (`succeeded`, `failed`, `lost`, `stopped`) | how long handlers ran |
//! | [`taskrec_time_to_first_claim_seconds`](TIME_TO_FIRST_CLAIM_SECONDS) | histogram | `task_list`, `task_type` | from a task's save to its first claim, on adapters that keep timestamps |
//! | [`taskrec_part_takeovers_total`](PART_TAKEOVERS_TOTAL) | counter | `task_list` | parts of lists taken over from a process whose lease on them had run out (Cassandra with [`owned_parts`](crate::cassandra::CassandraConfig::owned_parts)); each is also a warn event naming the previous owner, since when it held the part and when its lease ended |
//! | [`taskrec_task_takeovers_total`](TASK_TAKEOVERS_TOTAL) | counter | `task_list`, `task_type` | tasks claimed from a holder whose lease had run out (a worker that died or hung); each is also a warn event naming the previous holder and when its lease ended |
//! | [`taskrec_list_tasks`](LIST_TASKS) | gauge | `task_list`, `status` (`pending`, `scheduled`, `claimed`, `succeeded`, `failed`, `unknown`) | a list's tasks per status as last counted ([`KeptCounts`](crate::KeptCounts)): the backlog is `pending`, in flight `claimed`; set by each worker serving the list at each look at its kept counts ([`count_every`](crate::WorkerConfig::count_every), a minute), so aggregate across processes with `max`, not `sum` |
//! | [`taskrec_list_oldest_pending_age_seconds`](LIST_OLDEST_PENDING_AGE_SECONDS) | gauge | `task_list` | how long the oldest pending task had waited at that look (0 when none is pending) |
//! | [`taskrec_list_counted_timestamp_seconds`](LIST_COUNTED_TIMESTAMP_SECONDS) | gauge | `task_list` | when those figures were counted (Unix time): `time() - taskrec_list_counted_timestamp_seconds` is their age, and what changed since is the bound on their error |
//! | [`taskrec_clock_offset_seconds`](CLOCK_OFFSET_SECONDS) | gauge | | the cluster's clock minus this process's, as the Cassandra adapter last measured it (it keeps time by the cluster's; see [`clock`](crate::clock)) |
//!
//! Claims made outside a worker ([`TaskStore::claim`](crate::TaskStore::claim))
//! are not counted. Operation durations are not recorded for the memory
//! adapter, whose calls take microseconds: the clock reads would cost more
//! than what they measure.
//!
//! ```
//! // At start-up, after installing a recorder: help texts and units for exporters.
//! taskrec::observe::describe_metrics();
//! assert_eq!(taskrec::observe::SAVED_TOTAL, "taskrec_saved_total");
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{BoxStream, StreamExt};
use metrics::{Label, SharedString};
use tracing::{Instrument, Span};

use crate::error::{Error, Result};

/// Gauge: a list's tasks per status as last counted.
pub const LIST_TASKS: &str = "taskrec_list_tasks";
/// Gauge: how long a list's oldest pending task has waited, as last counted.
pub const LIST_OLDEST_PENDING_AGE_SECONDS: &str = "taskrec_list_oldest_pending_age_seconds";
/// Gauge (Unix time, seconds): when a list's kept counts were counted.
pub const LIST_COUNTED_TIMESTAMP_SECONDS: &str = "taskrec_list_counted_timestamp_seconds";
/// Counter: tasks saved through a [`TaskStore`](crate::TaskStore).
pub const SAVED_TOTAL: &str = "taskrec_saved_total";
/// Counter: tasks completed, by [`TaskStore::complete`](crate::TaskStore::complete)
/// or by a worker recording success.
pub const COMPLETED_TOTAL: &str = "taskrec_completed_total";
/// Counter: a worker's claims, labelled `result` = `won` or `lost`.
pub const CLAIMS_TOTAL: &str = "taskrec_claims_total";
/// Counter: handler runs by workers.
pub const ATTEMPTS_TOTAL: &str = "taskrec_attempts_total";
/// Counter: failed attempts that will be retried.
pub const RETRIES_TOTAL: &str = "taskrec_retries_total";
/// Counter: tasks kept as failed.
pub const FAILURES_TOTAL: &str = "taskrec_failures_total";
/// Counter: attempts whose claim was lost before their outcome was recorded.
pub const LOST_LEASES_TOTAL: &str = "taskrec_lost_leases_total";
/// Counter: ready tasks a worker passed over because it does not run their
/// type (each time it met one), labelled `task_list` and `task_type`.
pub const UNKNOWN_TYPES_TOTAL: &str = "taskrec_unknown_types_total";
/// Histogram (seconds): storage adapter calls, labelled `operation`.
pub const OPERATION_DURATION_SECONDS: &str = "taskrec_operation_duration_seconds";
/// Histogram (seconds): handler runs, labelled `outcome`.
pub const ATTEMPT_DURATION_SECONDS: &str = "taskrec_attempt_duration_seconds";
/// Histogram (seconds): from a task's save to its first claim.
pub const TIME_TO_FIRST_CLAIM_SECONDS: &str = "taskrec_time_to_first_claim_seconds";
/// Gauge (seconds): the cluster's clock minus this process's, as the
/// Cassandra adapter last measured it.
pub const CLOCK_OFFSET_SECONDS: &str = "taskrec_clock_offset_seconds";
/// Counter: parts of lists this process took over from an owner whose lease
/// had run out (Cassandra, [`owned_parts`](crate::cassandra::CassandraConfig::owned_parts)),
/// labelled `task_list`.
pub const PART_TAKEOVERS_TOTAL: &str = "taskrec_part_takeovers_total";
/// Counter: tasks claimed from a holder whose lease had run out (a worker
/// that died, hung, or lost its connection), labelled `task_list` and
/// `task_type`.
pub const TASK_TAKEOVERS_TOTAL: &str = "taskrec_task_takeovers_total";

/// Every value of `db.operation.name` and of the `operation` label.
///
/// ```
/// assert!(taskrec::observe::OPERATIONS.contains(&"claim"));
/// ```
pub const OPERATIONS: &[&str] = &[
    "save",
    "save_all",
    "find",
    "delete",
    "page",
    "list",
    "count",
    "load_state",
    "claim",
    "change_state",
    "complete",
    "next_ready",
    "page_by_status",
    "append_history",
    "history",
    "pause_state",
    "set_pause",
    "kept_counts",
    "keep_counts",
    "task_lists",
];

/// Describes every taskrec metric (its unit and help text) to the installed
/// recorder. Call it once after installing one; without it metrics are
/// recorded all the same, only undescribed.
///
/// ```
/// taskrec::observe::describe_metrics(); // no recorder: does nothing
/// ```
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_histogram, Unit};
    describe_counter!(SAVED_TOTAL, Unit::Count, "Tasks saved through a TaskStore.");
    describe_counter!(
        COMPLETED_TOTAL,
        Unit::Count,
        "Tasks completed: by TaskStore::complete, or by a worker recording success."
    );
    describe_counter!(
        CLAIMS_TOTAL,
        Unit::Count,
        "Claims by workers: won, or lost to another writer."
    );
    describe_counter!(ATTEMPTS_TOTAL, Unit::Count, "Handler runs by workers.");
    describe_counter!(
        RETRIES_TOTAL,
        Unit::Count,
        "Failed attempts that will be retried after a backoff."
    );
    describe_counter!(FAILURES_TOTAL, Unit::Count, "Tasks kept as failed.");
    describe_counter!(
        UNKNOWN_TYPES_TOTAL,
        Unit::Count,
        "Ready tasks a worker passed over because it does not run their type."
    );
    describe_counter!(
        LOST_LEASES_TOTAL,
        Unit::Count,
        "Attempts whose claim was lost before their outcome was recorded."
    );
    describe_histogram!(
        OPERATION_DURATION_SECONDS,
        Unit::Seconds,
        "Storage adapter calls, by operation."
    );
    describe_histogram!(
        ATTEMPT_DURATION_SECONDS,
        Unit::Seconds,
        "How long handlers ran, by outcome."
    );
    describe_histogram!(
        TIME_TO_FIRST_CLAIM_SECONDS,
        Unit::Seconds,
        "From a task's save to its first claim."
    );
    describe_counter!(
        TASK_TAKEOVERS_TOTAL,
        Unit::Count,
        "Tasks claimed from a holder whose lease had run out (a dead or stuck worker)."
    );
    describe_counter!(
        PART_TAKEOVERS_TOTAL,
        Unit::Count,
        "Parts of lists taken over from a process whose lease on them had run out."
    );
    metrics::describe_gauge!(
        LIST_TASKS,
        Unit::Count,
        "A list's tasks per status, as last counted (aggregate with max across processes)."
    );
    metrics::describe_gauge!(
        LIST_OLDEST_PENDING_AGE_SECONDS,
        Unit::Seconds,
        "How long a list's oldest pending task has waited, as last counted."
    );
    metrics::describe_gauge!(
        LIST_COUNTED_TIMESTAMP_SECONDS,
        Unit::Seconds,
        "When a list's kept counts were counted (Unix time): what changed since is their error."
    );
    metrics::describe_gauge!(
        CLOCK_OFFSET_SECONDS,
        Unit::Seconds,
        "The cluster's clock minus this process's, as last measured (taskrec corrects for it)."
    );
}

/// Sets a list's gauges from its kept counts, read at `now`. Only a
/// `Worker` keeps counts published.
#[cfg(feature = "worker")]
pub(crate) fn publish_kept_counts(
    task_list: &str,
    kept: &crate::KeptCounts,
    now: chrono::DateTime<chrono::Utc>,
) {
    use crate::state::TaskStatus;
    let list = task_list.to_owned();
    for (status, name) in [
        (TaskStatus::Pending, "pending"),
        (TaskStatus::Scheduled, "scheduled"),
        (TaskStatus::Claimed, "claimed"),
        (TaskStatus::Succeeded, "succeeded"),
        (TaskStatus::Failed, "failed"),
        (TaskStatus::Unknown, "unknown"),
    ] {
        metrics::gauge!(LIST_TASKS, "task_list" => list.clone(), "status" => name)
            .set(kept.counts.get(status) as f64);
    }
    let waited = kept.oldest_pending_age(now).unwrap_or_default();
    metrics::gauge!(LIST_OLDEST_PENDING_AGE_SECONDS, "task_list" => list.clone())
        .set(waited.as_secs_f64());
    let counted_at = kept.counted_at.timestamp_millis() as f64 / 1_000.0;
    metrics::gauge!(LIST_COUNTED_TIMESTAMP_SECONDS, "task_list" => list).set(counted_at);
}

/// A storage adapter operation: `db.operation.name` and the `operation` label.
// Some operations, and the timing below, are the Cassandra adapter's only.
#[cfg_attr(not(feature = "cassandra"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Save,
    SaveAll,
    Find,
    Delete,
    Page,
    List,
    Count,
    LoadState,
    Claim,
    ChangeState,
    Complete,
    NextReady,
    PageByStatus,
    AppendHistory,
    History,
    PauseState,
    SetPause,
    KeptCounts,
    KeepCounts,
    TaskLists,
}

/// The operations' names, in one table: `name` and `record_duration` match
/// on it. Each arm of `record_duration` names its label as a literal, so its
/// metric key is a `static`: no allocation per call.
macro_rules! operations {
    ($($variant:ident => $label:literal),* $(,)?) => {
        impl Op {
            /// The name in spans and labels (one of [`OPERATIONS`]).
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Op::$variant => $label,)*
                }
            }

            /// Records how long one call of this operation took.
            #[cfg_attr(not(feature = "cassandra"), allow(dead_code))]
            pub(crate) fn record_duration(self, elapsed: Duration) {
                let seconds = elapsed.as_secs_f64();
                match self {
                    $(Op::$variant => metrics::histogram!(
                        OPERATION_DURATION_SECONDS,
                        "operation" => $label
                    )
                    .record(seconds),)*
                }
            }
        }
    };
}

operations! {
    Save => "save",
    SaveAll => "save_all",
    Find => "find",
    Delete => "delete",
    Page => "page",
    List => "list",
    Count => "count",
    LoadState => "load_state",
    Claim => "claim",
    ChangeState => "change_state",
    Complete => "complete",
    NextReady => "next_ready",
    PageByStatus => "page_by_status",
    AppendHistory => "append_history",
    History => "history",
    PauseState => "pause_state",
    SetPause => "set_pause",
    KeptCounts => "kept_counts",
    KeepCounts => "keep_counts",
    TaskLists => "task_lists",
}

impl Op {
    /// What a conditional state write to `new` is. The state JSON is
    /// written by taskrec (`TaskState::to_json`, status first), so a prefix
    /// check tells a claim (or its renewal) from other changes without
    /// parsing; anything else is a `change_state`.
    pub(crate) fn of_swap(new: Option<&str>) -> Op {
        match new {
            None => Op::Complete,
            Some(json) if json.starts_with(r#"{"status":"claimed""#) => Op::Claim,
            Some(_) => Op::ChangeState,
        }
    }

    /// Whether the operation only reads.
    #[cfg_attr(not(feature = "cassandra"), allow(dead_code))]
    pub(crate) fn reads(self) -> bool {
        matches!(
            self,
            Op::Find
                | Op::Page
                | Op::List
                | Op::Count
                | Op::LoadState
                | Op::NextReady
                | Op::PageByStatus
                | Op::History
        )
    }
}

/// Runs an adapter call inside `span`, records its duration, and marks the
/// span with the error's kind when it fails.
#[cfg_attr(not(feature = "cassandra"), allow(dead_code))]
pub(crate) async fn timed<T>(
    op: Op,
    span: Span,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    let started = Instant::now();
    let result = call.instrument(span.clone()).await;
    op.record_duration(started.elapsed());
    if let Err(e) = &result {
        span.record("error.type", error_type(e));
    }
    result
}

/// `error.type`: a short, stable name for the kind of error.
#[cfg_attr(not(feature = "cassandra"), allow(dead_code))]
pub(crate) fn error_type(error: &Error) -> &'static str {
    match error {
        Error::Storage { .. } => "storage",
        Error::Unsupported { .. } => "unsupported",
        Error::InvalidPageToken { .. } => "invalid_page_token",
        Error::InvalidConfig { .. } => "invalid_config",
        Error::InvalidData { .. } => "invalid_data",
        Error::ClockSkew { .. } => "clock_skew",
        _ => "invalid_input",
    }
}

/// A stream polled inside `span`, so that what its polls log or trace is
/// the span's. A disabled span costs nothing: the stream is returned as is.
#[cfg_attr(not(feature = "cassandra"), allow(dead_code))]
pub(crate) fn in_span<'a, T: 'a>(span: Span, stream: BoxStream<'a, T>) -> BoxStream<'a, T> {
    if span.is_disabled() {
        return stream;
    }
    let mut stream = stream;
    futures::stream::poll_fn(move |cx| {
        let _entered = span.enter();
        stream.poll_next_unpin(cx)
    })
    .boxed()
}

/// The `task_list` and `task_type` labels of one task list and type,
/// built once and shared by the metrics of a pass or an attempt: the list's
/// name is behind an `Arc`, so each metric clones a pointer, not the text.
#[derive(Debug, Clone)]
pub(crate) struct TaskLabels([Label; 2]);

// All but `owned` and `count` serve the worker only.
#[cfg_attr(not(feature = "worker"), allow(dead_code))]
impl TaskLabels {
    pub(crate) fn new(task_list: Arc<str>, task_type: impl Into<SharedString>) -> Self {
        TaskLabels([
            Label::new("task_list", task_list),
            Label::new("task_type", task_type.into()),
        ])
    }

    /// Labels for a task whose names are only borrowed (copied).
    pub(crate) fn owned(task_list: &str, task_type: &str) -> Self {
        TaskLabels([
            Label::new("task_list", task_list.to_owned()),
            Label::new("task_type", task_type.to_owned()),
        ])
    }

    /// Adds one to the counter `name`.
    pub(crate) fn count(&self, name: &'static str) {
        metrics::counter!(name, self.0.iter()).increment(1);
    }

    /// Registers the counters a worker adds to for this list and type, at
    /// zero: a dashboard's rate of failures reads 0 from the start instead
    /// of nothing until the first one.
    pub(crate) fn zero_worker_counters(&self) {
        for name in [
            ATTEMPTS_TOTAL,
            COMPLETED_TOTAL,
            RETRIES_TOTAL,
            FAILURES_TOTAL,
            LOST_LEASES_TOTAL,
            TASK_TAKEOVERS_TOTAL,
        ] {
            metrics::counter!(name, self.0.iter()).increment(0);
        }
        for result in ["won", "lost"] {
            let labels = [
                self.0[0].clone(),
                self.0[1].clone(),
                Label::from_static_parts("result", result),
            ];
            metrics::counter!(CLAIMS_TOTAL, labels.iter()).increment(0);
        }
    }

    /// Adds one to the counter `name`, with one more label.
    pub(crate) fn count_with(&self, name: &'static str, key: &'static str, value: &'static str) {
        let labels = [
            self.0[0].clone(),
            self.0[1].clone(),
            Label::from_static_parts(key, value),
        ];
        metrics::counter!(name, labels.iter()).increment(1);
    }

    /// Records `value` in the histogram `name`.
    pub(crate) fn record(&self, name: &'static str, value: f64) {
        metrics::histogram!(name, self.0.iter()).record(value);
    }

    /// Records `value` in the histogram `name`, with one more label.
    pub(crate) fn record_with(
        &self,
        name: &'static str,
        key: &'static str,
        label: &'static str,
        value: f64,
    ) {
        let labels = [
            self.0[0].clone(),
            self.0[1].clone(),
            Label::from_static_parts(key, label),
        ];
        metrics::histogram!(name, labels.iter()).record(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_listed_under_its_name() {
        let ops = [
            Op::Save,
            Op::SaveAll,
            Op::Find,
            Op::Delete,
            Op::Page,
            Op::List,
            Op::Count,
            Op::LoadState,
            Op::Claim,
            Op::ChangeState,
            Op::Complete,
            Op::NextReady,
            Op::PageByStatus,
            Op::AppendHistory,
            Op::History,
            Op::PauseState,
            Op::SetPause,
            Op::KeptCounts,
            Op::KeepCounts,
            Op::TaskLists,
        ];
        let names: Vec<&str> = ops.iter().map(|op| op.name()).collect();
        assert_eq!(names, OPERATIONS);
    }

    #[test]
    fn a_state_write_is_named_by_what_it_writes() {
        let claimed = crate::TaskState {
            status: crate::TaskStatus::Claimed,
            owner: Some("w".into()),
            ..crate::TaskState::pending()
        };
        let json = claimed.to_json().unwrap();
        assert_eq!(Op::of_swap(Some(&json)), Op::Claim);
        let pending = crate::TaskState::pending().to_json().unwrap();
        assert_eq!(Op::of_swap(Some(&pending)), Op::ChangeState);
        assert_eq!(Op::of_swap(None), Op::Complete);
    }
}
