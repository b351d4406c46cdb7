//! What a [`Worker`](crate::Worker) tells the application as it goes: each
//! claim and each attempt's outcome, then its report.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::Span;

use super::DrainReport;
use crate::observe::{
    TaskLabels, ATTEMPTS_TOTAL, ATTEMPT_DURATION_SECONDS, COMPLETED_TOTAL, FAILURES_TOTAL,
    LOST_LEASES_TOTAL, RETRIES_TOTAL, TIME_TO_FIRST_CLAIM_SECONDS,
};
use crate::store::Claim;

/// The task an event is about, and which attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskAttempt {
    /// The task's list.
    pub task_list: String,
    /// The task's id.
    pub id: String,
    /// The stored type name.
    pub type_name: String,
    /// Which attempt this is, 1 for the first (the claim's count).
    pub attempt: u32,
}

/// One step of a [`Worker`](crate::Worker)'s work, handed to the hook set
/// with [`WorkerConfig::on_event`](crate::WorkerConfig::on_event).
///
/// For each task the worker claims: `Claimed`, then one of `Succeeded`,
/// `Retried`, `Failed`, `LeaseLost` or `Released`. Storage errors the worker
/// shrugs off (it tries the task again later) are `StorageError`s. When the
/// drain or serve ends without an error, `Finished` carries its report.
///
/// New kinds of events and new fields may be added: match with `..` and a
/// wildcard arm.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use std::time::Duration;
/// use taskrec::{Backoff, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig, WorkerEvent};
///
/// #[derive(Debug, TaskData)]
/// struct Ping {}
///
/// let store = TaskStore::new(MemoryAdapter::new());
/// store.save(&Task::new("pings", "p1", Ping {})?).await?;
///
/// // The hook runs in the worker: keep it quick, hand slow work to a channel.
/// let (send, mut events) = tokio::sync::mpsc::unbounded_channel();
/// let quick = Backoff::new(Duration::from_millis(5), 1.0, Duration::from_millis(5));
/// let config = WorkerConfig::new("w")
///     .backoff(quick)
///     .on_event(move |event: &WorkerEvent| drop(send.send(event.clone())));
/// let worker = Worker::new(store, config);
/// let tries = std::sync::atomic::AtomicU32::new(0);
/// worker.drain_with::<Ping, _>("pings", |_| {
///     let first = tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
///     Box::pin(async move { if first { Err("busy".into()) } else { Ok(None) } })
/// }).await?;
///
/// let mut seen = Vec::new();
/// while let Ok(event) = events.try_recv() {
///     seen.push(match event {
///         WorkerEvent::Claimed { task, .. } => format!("claimed #{}", task.attempt),
///         WorkerEvent::Retried { error, .. } => format!("retried: {error}"),
///         WorkerEvent::Succeeded { task, .. } => format!("succeeded {}", task.id),
///         WorkerEvent::Finished { report, .. } => format!("finished: {} succeeded", report.succeeded),
///         other => format!("{other:?}"),
///     });
/// }
/// assert_eq!(seen, [
///     "claimed #1", "retried: busy", "claimed #2", "succeeded p1", "finished: 1 succeeded",
/// ]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WorkerEvent {
    /// The worker claimed a task and is about to run it.
    #[non_exhaustive]
    Claimed {
        /// The task and the attempt starting.
        task: TaskAttempt,
    },
    /// The attempt succeeded and the success is recorded (the task is
    /// completed, or kept as succeeded).
    #[non_exhaustive]
    Succeeded {
        /// The task and the attempt.
        task: TaskAttempt,
    },
    /// The attempt failed; the task is pending again, not before
    /// `next_attempt_at`.
    #[non_exhaustive]
    Retried {
        /// The task and the attempt that failed.
        task: TaskAttempt,
        /// The handler's error.
        error: String,
        /// When the task may be claimed again.
        next_attempt_at: DateTime<Utc>,
    },
    /// The task is kept as failed: its last attempt failed, or its record
    /// does not decode, or earlier attempts ended without a result.
    #[non_exhaustive]
    Failed {
        /// The task and the attempt.
        task: TaskAttempt,
        /// Why.
        error: String,
    },
    /// The claim was lost before the attempt's outcome was recorded (its
    /// lease ran out, or the task was saved again or deleted meanwhile):
    /// whoever holds the task now runs it.
    #[non_exhaustive]
    LeaseLost {
        /// The task and the attempt.
        task: TaskAttempt,
    },
    /// The task was given back unfinished: the worker was stopped, or the
    /// record now holds a type this worker does not run.
    #[non_exhaustive]
    Released {
        /// The task and the attempt, which does not count.
        task: TaskAttempt,
    },
    /// A storage error the worker met in `task_list` (a listing, a claim, a
    /// state change); the tasks concerned are tried again in a later pass.
    #[non_exhaustive]
    StorageError {
        /// The list being worked on.
        task_list: String,
        /// The error and its causes, as text (`error: cause: cause`).
        error: String,
    },
    /// The adapter measured this process's clock off its backend's by more
    /// than the adapter's warning threshold. taskrec keeps time by the
    /// backend and corrects for the offset, so no task is affected; the
    /// event says the host's clock (its NTP daemon) needs looking at. Sent
    /// once per measurement past the threshold (the Cassandra adapter
    /// measures every [`clock_check_every`](crate::cassandra::CassandraConfig::clock_check_every)).
    #[non_exhaustive]
    ClockOffset {
        /// The measurement.
        reading: crate::ClockReading,
    },
    /// The worker met a ready task of a type it does not run (a typo, a
    /// type of a newer release, a list shared with other workers): told
    /// once per list and type every 10 minutes per worker, with a WARN
    /// line, and counted each time in
    /// `taskrec_unknown_types_total`. The task is left for a worker that
    /// runs its type, or failed once it has waited
    /// [`fail_unknown_types_after`](crate::WorkerConfig::fail_unknown_types_after).
    #[non_exhaustive]
    UnknownType {
        /// The task met (the first of its type since the last report).
        task_list: String,
        /// Its id.
        id: String,
        /// The type this worker does not run.
        type_name: String,
    },
    /// The worker saw a list paused ([`TaskStore::pause`](crate::TaskStore::pause))
    /// and takes none of its tasks until it is resumed; tasks already
    /// running finish. Told once per pause it sees, with an INFO line.
    #[non_exhaustive]
    Paused {
        /// The list.
        task_list: String,
        /// Who paused it and when.
        pause: crate::ListPause,
    },
    /// The worker saw a list it had seen paused resumed, and takes its
    /// tasks again.
    #[non_exhaustive]
    Resumed {
        /// The list.
        task_list: String,
    },
    /// The drain or serve is over; its report.
    #[non_exhaustive]
    Finished {
        /// What the worker did, as the drain returns it.
        report: DrainReport,
    },
}

pub(crate) use crate::error::error_chain;

/// The application's event hook, shared by clones of the configuration.
#[derive(Clone)]
pub(crate) struct EventHook(Arc<dyn Fn(&WorkerEvent) + Send + Sync>);

impl EventHook {
    pub(crate) fn new(hook: impl Fn(&WorkerEvent) + Send + Sync + 'static) -> Self {
        EventHook(Arc::new(hook))
    }

    pub(crate) fn emit(&self, event: &WorkerEvent) {
        (self.0)(event);
    }
}

impl fmt::Debug for EventHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventHook")
    }
}

impl TaskAttempt {
    pub(crate) fn new(task_list: &str, id: &str, type_name: &str, attempt: u32) -> Self {
        TaskAttempt {
            task_list: task_list.to_owned(),
            id: id.to_owned(),
            type_name: type_name.to_owned(),
            attempt,
        }
    }
}

/// The target of the attempts' events: the worker's, where their spans are.
const TARGET: &str = super::TRACING_TARGET;

/// Tells tracing, metrics and the event hook what happens in one claimed
/// task's attempt, in one place, so the worker's loop says only what
/// happened. (A reporter, not a report: [`DrainReport`] is the value a
/// drain returns.)
///
/// Its methods are called inside the attempt's span, so their events are
/// the span's children.
pub(crate) struct AttemptReporter<'a> {
    hook: Option<&'a EventHook>,
    /// Built only when there is a hook to hand it to.
    task: Option<TaskAttempt>,
    labels: TaskLabels,
    span: Span,
}

impl<'a> AttemptReporter<'a> {
    pub(crate) fn new(
        hook: Option<&'a EventHook>,
        claim: &Claim,
        type_name: &str,
        labels: TaskLabels,
        span: Span,
    ) -> Self {
        let task = hook.map(|_| {
            TaskAttempt::new(
                claim.task_list(),
                claim.id(),
                type_name,
                claim.state().attempts,
            )
        });
        AttemptReporter {
            hook,
            task,
            labels,
            span,
        }
    }

    fn emit(&self, event: impl FnOnce(TaskAttempt) -> WorkerEvent) {
        if let (Some(hook), Some(task)) = (self.hook, &self.task) {
            hook.emit(&event(task.clone()));
        }
    }

    /// The task was claimed. At its first attempt, on an adapter that
    /// keeps timestamps, records how long it waited since it was saved.
    pub(crate) fn claimed(&self, claim: &Claim, keeps_timestamps: bool) {
        if keeps_timestamps && claim.state().attempts == 1 {
            // Both times are the store's (the claim's and the save's), so a
            // clock of this process's that is off does not skew the figure.
            let claimed_at = claim.state().changed_at.unwrap_or_else(Utc::now);
            if let Ok(waited) = (claimed_at - claim.record().updated_at()).to_std() {
                self.labels
                    .record(TIME_TO_FIRST_CLAIM_SECONDS, waited.as_secs_f64());
            }
        }
        self.emit(|task| WorkerEvent::Claimed { task });
    }

    /// The handler is about to run.
    pub(crate) fn running(&self) {
        self.labels.count(ATTEMPTS_TOTAL);
    }

    /// The handler ran for `elapsed`, ending as `outcome`.
    pub(crate) fn ran(&self, outcome: &'static str, elapsed: std::time::Duration) {
        self.labels.record_with(
            ATTEMPT_DURATION_SECONDS,
            "outcome",
            outcome,
            elapsed.as_secs_f64(),
        );
    }

    pub(crate) fn succeeded(&self) {
        self.span.record("outcome", "succeeded");
        self.labels.count(COMPLETED_TOTAL);
        tracing::debug!(target: TARGET, "attempt succeeded");
        self.emit(|task| WorkerEvent::Succeeded { task });
    }

    pub(crate) fn retried(&self, error: &str, next_attempt_at: DateTime<Utc>) {
        self.span.record("outcome", "retried");
        self.labels.count(RETRIES_TOTAL);
        tracing::warn!(
            target: TARGET,
            error,
            next_attempt_at = %next_attempt_at,
            "attempt failed; retrying later"
        );
        self.emit(|task| WorkerEvent::Retried {
            task,
            error: error.to_owned(),
            next_attempt_at,
        });
    }

    pub(crate) fn failed(&self, error: &str) {
        self.span.record("outcome", "failed");
        self.labels.count(FAILURES_TOTAL);
        tracing::error!(target: TARGET, error, "task failed for good");
        self.emit(|task| WorkerEvent::Failed {
            task,
            error: error.to_owned(),
        });
    }

    pub(crate) fn lost(&self) {
        self.span.record("outcome", "lost");
        self.labels.count(LOST_LEASES_TOTAL);
        tracing::warn!(
            target: TARGET,
            "claim lost before the attempt's outcome was recorded; another worker runs the task"
        );
        self.emit(|task| WorkerEvent::LeaseLost { task });
    }

    pub(crate) fn released(&self) {
        self.span.record("outcome", "released");
        tracing::debug!(target: TARGET, "task given back unfinished");
        self.emit(|task| WorkerEvent::Released { task });
    }
}
