//! The worker loop: drain a task list with bounded concurrency, each task
//! claimed under a lease before it runs, so that one worker at a time runs
//! a task, and a dead worker's tasks come back when its leases run out.
//!
//! # What the lease guarantees, and what it needs
//!
//! A worker renews a claim every third of the lease and cancels the task's
//! work as soon as the claim may have run out: when a renewal answers that
//! it was lost, or when no renewal has succeeded for nine tenths of a
//! lease. Another worker claims the task only after the lease ran out by
//! its own clock. So one worker at a time runs a task, given that:
//!
//! - handlers are async and yield: a handler that blocks its thread (a
//!   CPU-bound loop, a synchronous client) stops renewals and cancellation
//!   alike; run such work with `tokio::task::spawn_blocking` and keep the
//!   lease longer than it takes;
//! - the workers' clocks agree to well within a tenth of the lease (NTP);
//! - the work itself tolerates being cut off at an await point, since a
//!   lost claim cancels it there.
//!
//! Execution is at least once: a task whose worker dies, or whose claim is
//! lost after its side effects, runs again. Make side effects idempotent.
//!
//! # How a worker finds work
//!
//! A pass is one sweep of [`StorageAdapter::next_ready`]: the adapter hands
//! out the tasks claimable now, with the token to claim each one with, a
//! few times the concurrency per step, and says when the first task held by
//! another worker or backing off opens up; the worker sleeps until then (at
//! most [`idle_poll`](WorkerConfig::idle_poll)) when a pass claimed nothing.
//! On the memory adapter a sweep reads only the tasks it hands out; on an
//! adapter with the provided `next_ready` (the Cassandra adapter among
//! them, for now) it reads every task of the list and its state.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::stream::{BoxStream, StreamExt};
use tokio::sync::watch;
use tracing::Instrument;

use crate::adapter::{PageToken, StorageAdapter};
use crate::claim::{Claim, ClaimAttempt};
use crate::data::TaskDecode;
use crate::error::{BoxError, Result};
use crate::execute::Execute;
use crate::observe::{TaskLabels, CLAIMS_TOTAL};
use crate::state::{StoredState, TaskState};
use crate::store::TaskStore;
use crate::task::Task;
use crate::worker_events::{error_chain, AttemptReport, EventHook, WorkerEvent};

/// How long a failed task waits before its next attempt: `initial`, then
/// multiplied by `factor` per attempt, at most `max`.
///
/// ```
/// use std::time::Duration;
/// let backoff = taskrec::Backoff::default();
/// assert_eq!(backoff.delay(1), Duration::from_secs(1));
/// assert_eq!(backoff.delay(3), Duration::from_secs(4));
/// assert_eq!(backoff.delay(30), Duration::from_secs(300));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The wait after the first failed attempt.
    pub initial: Duration,
    /// The growth per further attempt.
    pub factor: f64,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The wait after failed attempt number `attempt` (1 for the first).
    ///
    /// ```
    /// use std::time::Duration;
    /// let ms = Duration::from_millis;
    /// let backoff = taskrec::Backoff { initial: ms(250), factor: 2.0, max: ms(750) };
    /// assert_eq!(backoff.delay(1), ms(250));
    /// assert_eq!(backoff.delay(2), ms(500));
    /// assert_eq!(backoff.delay(3), ms(750)); // 1 s, capped at `max`
    /// ```
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let secs = self.initial.as_secs_f64() * self.factor.max(1.0).powi(exponent);
        Duration::try_from_secs_f64(secs).map_or(self.max, |d| d.min(self.max))
    }
}

/// How a [`Worker`] runs tasks.
///
/// ```
/// use std::time::Duration;
/// let config = taskrec::WorkerConfig::new("worker-1")
///     .concurrency(16)
///     .lease(Duration::from_secs(60))
///     .max_attempts(3)
///     .timeout(Duration::from_secs(30));
/// assert_eq!(config.owner(), "worker-1");
/// ```
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    owner: String,
    concurrency: usize,
    lease: Duration,
    max_attempts: u32,
    backoff: Backoff,
    timeout: Option<Duration>,
    keep_succeeded: bool,
    idle_poll: Duration,
    error_limit: u32,
    events: Option<EventHook>,
}

impl WorkerConfig {
    /// A worker named `owner` (the name claims carry: make it unique per
    /// process), running 8 tasks at once under 30 s leases, at most 5
    /// attempts per task with the default [`Backoff`], no time limit, and
    /// succeeded tasks completed (deleted).
    ///
    /// ```
    /// let config = taskrec::WorkerConfig::new(format!("resizer-{}", std::process::id()));
    /// assert!(config.owner().starts_with("resizer-"));
    /// ```
    pub fn new(owner: impl Into<String>) -> Self {
        WorkerConfig {
            owner: owner.into(),
            concurrency: 8,
            lease: Duration::from_secs(30),
            max_attempts: 5,
            backoff: Backoff::default(),
            timeout: None,
            keep_succeeded: false,
            idle_poll: Duration::from_secs(1),
            error_limit: 100,
            events: None,
        }
    }

    /// The worker's name, which its claims carry.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// let config = WorkerConfig::new("resizer-1");
    /// assert_eq!(config.owner(), "resizer-1");
    /// let (worker, store) = (Worker::new(store.clone(), config), &store);
    /// worker.drain_with::<Ping, _>("pings", |task| Box::pin(async move {
    ///     let state = store.state(task.task_list(), task.id()).await?.unwrap();
    ///     assert_eq!(state.owner.as_deref(), Some("resizer-1")); // while it runs
    ///     Ok(None)
    /// })).await?;
    /// # Ok(()) }
    /// ```
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// How many tasks run at once (default 8).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    /// for n in 0..20 { store.create("pings", Ping { n }).await?; }
    /// let (running, most) = (&AtomicUsize::new(0), &AtomicUsize::new(0));
    /// let worker = Worker::new(store.clone(), WorkerConfig::new("w").concurrency(4));
    /// worker.drain_with::<Ping, _>("pings", |_task| Box::pin(async move {
    ///     most.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
    ///     tokio::time::sleep(Duration::from_millis(5)).await;
    ///     running.fetch_sub(1, SeqCst);
    ///     Ok(None)
    /// })).await?;
    /// assert!(most.load(SeqCst) <= 4);
    /// # Ok(()) }
    /// ```
    pub fn concurrency(mut self, tasks: usize) -> Self {
        self.concurrency = tasks.max(1);
        self
    }

    /// How long a claim holds without renewal (default 30 s). The worker
    /// renews every third of it while a task runs; a worker that dies stops
    /// renewing, and its tasks are claimable once their lease runs out.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// use chrono::{TimeDelta, Utc};
    /// let config = WorkerConfig::new("w").lease(Duration::from_secs(120));
    /// let (worker, store) = (Worker::new(store.clone(), config), &store);
    /// worker.drain_with::<Ping, _>("pings", |task| Box::pin(async move {
    ///     let state = store.state(task.task_list(), task.id()).await?.unwrap();
    ///     assert!(state.lease_until.unwrap() > Utc::now() + TimeDelta::seconds(100));
    ///     Ok(None)
    /// })).await?;
    /// # Ok(()) }
    /// ```
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(10));
        self
    }

    /// Attempts per task before it is kept as failed (default 5).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// use taskrec::TaskStatus;
    /// let worker = Worker::new(store.clone(), WorkerConfig::new("w").max_attempts(1));
    /// let report = worker.drain_with::<Ping, _>("pings", |_| Box::pin(async { Err("broken".into()) })).await?;
    /// assert_eq!((report.failed, report.retried), (1, 0)); // no second try
    /// let state = store.state("pings", "p1").await?.unwrap();
    /// assert_eq!((state.status, state.last_error.as_deref()), (TaskStatus::Failed, Some("broken")));
    /// # Ok(()) }
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait between attempts (default [`Backoff::default`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// use taskrec::Backoff;
    /// let quick = Backoff { initial: Duration::from_millis(10), factor: 1.0, max: Duration::from_millis(10) };
    /// let config = WorkerConfig::new("w").backoff(quick).max_attempts(2);
    /// let worker = Worker::new(store.clone(), config);
    /// let report = worker.drain_with::<Ping, _>("pings", |_| Box::pin(async { Err("broken".into()) })).await?;
    /// assert_eq!((report.retried, report.failed), (1, 1)); // retried after 10 ms, then kept as failed
    /// # Ok(()) }
    /// ```
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// A hard time limit per attempt: a task still running then is
    /// cancelled and the attempt counts as failed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// let config = WorkerConfig::new("w").timeout(Duration::from_millis(10)).max_attempts(1);
    /// let worker = Worker::new(store.clone(), config);
    /// let report = worker.drain_with::<Ping, _>("pings", |_| Box::pin(async {
    ///     tokio::time::sleep(Duration::from_secs(60)).await;
    ///     Ok(None)
    /// })).await?;
    /// assert_eq!(report.failed, 1);
    /// let error = store.state("pings", "p1").await?.unwrap().last_error.unwrap();
    /// assert_eq!(error, "timed out after 10ms");
    /// # Ok(()) }
    /// ```
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Keep succeeded tasks (status `Succeeded`, with their result) instead
    /// of completing (deleting) them.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// use taskrec::TaskStatus;
    /// let worker = Worker::new(store.clone(), WorkerConfig::new("w").keep_succeeded(true));
    /// assert_eq!(worker.drain::<Ping, _>("pings", &()).await?.succeeded, 1);
    /// assert_eq!(store.state("pings", "p1").await?.unwrap().status, TaskStatus::Succeeded);
    /// assert_eq!(store.count("pings").await?, 1); // kept
    /// assert_eq!(worker.drain::<Ping, _>("pings", &()).await?.succeeded, 0); // and not run again
    /// # Ok(()) }
    /// ```
    pub fn keep_succeeded(mut self, keep: bool) -> Self {
        self.keep_succeeded = keep;
        self
    }

    /// How many storage errors in a row, with no task finished in between,
    /// make a drain give up and return the last one (default 100). Single
    /// errors (a timed-out claim under contention, a node restarting) are
    /// counted and the task is tried again in a later pass: its record and
    /// state are still there.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use taskrec::{BoxError, Execute, Page, PageToken, StorageAdapter, StoredState, TaskRecord};
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # #[derive(Debug, Default)] struct Flaky(taskrec::MemoryAdapter);
    /// # #[async_trait::async_trait] impl StorageAdapter for Flaky {
    /// #     fn capabilities(&self) -> taskrec::Capabilities { self.0.capabilities() }
    /// #     async fn store(&self, r: &TaskRecord) -> taskrec::Result<()> { self.0.store(r).await }
    /// #     async fn find(&self, l: &str, i: &str) -> taskrec::Result<Option<TaskRecord>> { self.0.find(l, i).await }
    /// #     async fn delete(&self, l: &str, i: &str) -> taskrec::Result<()> { self.0.delete(l, i).await }
    /// #     async fn page(&self, l: &str, t: Option<&PageToken>, n: usize) -> taskrec::Result<Page> {
    /// #         self.0.page(l, t, n).await
    /// #     }
    /// #     async fn load_state(&self, _: &str, _: &str) -> taskrec::Result<Option<StoredState>> {
    /// #         Err(taskrec::Error::storage("flaky", "node down"))
    /// #     }
    /// # }
    /// use taskrec::{Error, Task, TaskStore, Worker, WorkerConfig};
    /// // `Flaky` keeps records, but every claim fails with a storage error.
    /// let store = TaskStore::new(Flaky::default());
    /// store.save(&Task::new("pings", "p1", Ping {})?).await?;
    /// let worker = Worker::new(store, WorkerConfig::new("w").error_limit(3));
    /// let err = worker.drain::<Ping, _>("pings", &()).await.unwrap_err();
    /// assert!(matches!(err, Error::Storage { adapter: "flaky", .. })); // after 3 tries
    /// # Ok(()) }
    /// ```
    pub fn error_limit(mut self, errors: u32) -> Self {
        self.error_limit = errors.max(1);
        self
    }

    /// The longest wait between passes while other workers hold tasks or
    /// tasks wait out a backoff (default 1 s).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// let held = store.claim("pings", "p1", "other-worker", Duration::from_secs(60)).await?.unwrap();
    /// let other = store.clone();
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(Duration::from_millis(50)).await;
    ///     other.release(held).await // given back long before its lease ends
    /// });
    /// let config = WorkerConfig::new("w").idle_poll(Duration::from_millis(10));
    /// let worker = Worker::new(store.clone(), config);
    /// let report = worker.drain::<Ping, _>("pings", &()).await?; // looks again every 10 ms
    /// assert_eq!(report.succeeded, 1);
    /// # Ok(()) }
    /// ```
    pub fn idle_poll(mut self, wait: Duration) -> Self {
        self.idle_poll = wait.max(Duration::from_millis(1));
        self
    }

    /// Calls `hook` with each [`WorkerEvent`]: every claim and attempt
    /// outcome, storage errors shrugged off, and the final report. It
    /// replaces an earlier hook.
    ///
    /// The hook runs on the worker's own task, between the steps it
    /// reports: keep it quick and non-blocking (send the event to a channel
    /// for anything slower), and do not panic in it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// use std::sync::{Arc, Mutex};
    /// use taskrec::WorkerEvent;
    /// let succeeded = Arc::new(Mutex::new(Vec::new()));
    /// let seen = Arc::clone(&succeeded);
    /// let config = WorkerConfig::new("w").on_event(move |event| {
    ///     if let WorkerEvent::Succeeded { task, .. } = event {
    ///         seen.lock().unwrap().push(task.id.clone());
    ///     }
    /// });
    /// Worker::new(store, config).drain::<Ping, _>("pings", &()).await?;
    /// assert_eq!(*succeeded.lock().unwrap(), ["p1"]);
    /// # Ok(()) }
    /// ```
    pub fn on_event(mut self, hook: impl Fn(&WorkerEvent) + Send + Sync + 'static) -> Self {
        self.events = Some(EventHook::new(hook));
        self
    }
}

/// What a [`Worker::drain`] or [`Worker::serve`] did.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use taskrec::{BoxError, DrainReport, Execute, MemoryAdapter, TaskData, TaskStore, Worker, WorkerConfig};
/// #[derive(Debug, TaskData)]
/// struct Invert { x: i32 }
/// #[async_trait::async_trait]
/// impl Execute for Invert {
///     async fn execute(&self, _: &()) -> Result<(), BoxError> {
///         1i32.checked_div(self.x).map(drop).ok_or_else(|| "zero".into())
///     }
/// }
/// let store = TaskStore::new(MemoryAdapter::new());
/// for x in [-1, 0, 1] { store.create("inverts", Invert { x }).await?; }
/// let worker = Worker::new(store, WorkerConfig::new("w").max_attempts(1));
/// let report = worker.drain::<Invert, _>("inverts", &()).await?;
/// assert_eq!(report, DrainReport { succeeded: 2, failed: 1, ..DrainReport::default() });
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Attempts that succeeded.
    pub succeeded: u64,
    /// Attempts that failed and will be retried after a backoff.
    pub retried: u64,
    /// Tasks kept as failed: out of attempts, or their record does not decode.
    pub failed: u64,
    /// Attempts cut short because the claim was lost (the lease ran out and
    /// another worker took the task): that worker runs it.
    pub lost: u64,
    /// Tasks given back unfinished when the worker was stopped.
    pub released: u64,
    /// Storage errors met on the way; each task concerned was tried again.
    pub errors: u64,
    /// Whether the drain ended because the worker was stopped.
    pub stopped: bool,
}

#[derive(Default)]
struct Counters {
    succeeded: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    lost: AtomicU64,
    released: AtomicU64,
    errors: AtomicU64,
    /// Errors since the last task that finished one way or another.
    errors_in_a_row: AtomicU64,
    last_error: std::sync::Mutex<Option<crate::error::Error>>,
}

impl Counters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn error(&self, error: crate::error::Error) {
        Self::add(&self.errors);
        Self::add(&self.errors_in_a_row);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error);
        }
    }

    fn progress(&self) {
        self.errors_in_a_row.store(0, Ordering::Relaxed);
    }
}

/// Stops a running [`Worker`]: it claims nothing more, gives back the tasks
/// it holds (pending again, the attempt not counted) and its drain returns.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// # use std::time::Duration;
/// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
/// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
/// # #[async_trait::async_trait] impl Execute for Ping {
/// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
/// # }
/// # let store = TaskStore::new(MemoryAdapter::new());
/// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
/// let worker = Worker::new(store.clone(), WorkerConfig::new("w"));
/// worker.stop_handle().stop();
/// let report = worker.drain::<Ping, _>("pings", &()).await?;
/// assert!(report.stopped);
/// assert_eq!(store.count("pings").await?, 1); // a stopped worker claims nothing
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<watch::Sender<bool>>);

impl StopHandle {
    /// Asks the worker to stop.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// let worker = Worker::new(store.clone(), WorkerConfig::new("w"));
    /// let stop = worker.stop_handle();
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(Duration::from_millis(20)).await;
    ///     stop.stop(); // say, on SIGTERM
    /// });
    /// let report = worker.drain_with::<Ping, _>("pings", |_| Box::pin(async {
    ///     tokio::time::sleep(Duration::from_secs(60)).await; // long work, cut short
    ///     Ok(None)
    /// })).await?;
    /// assert_eq!((report.released, report.stopped), (1, true));
    /// assert_eq!(store.state("pings", "p1").await?.unwrap().attempts, 0); // given back
    /// # Ok(()) }
    /// ```
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// What a handler gives back: an optional JSON result, or an error.
///
/// ```
/// use serde_json::json;
/// use taskrec::HandlerResult;
/// fn check(size: u64) -> HandlerResult {
///     if size == 0 {
///         return Err("empty file".into());
///     }
///     Ok(Some(json!({ "bytes": size })))
/// }
/// assert_eq!(check(42).unwrap(), Some(json!({ "bytes": 42 })));
/// assert_eq!(check(0).unwrap_err().to_string(), "empty file");
/// ```
pub type HandlerResult = std::result::Result<Option<serde_json::Value>, BoxError>;

/// A boxed handler future, as [`Worker::drain_with`] takes them: it owns
/// its task and may borrow what the handler borrows.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// # use std::time::Duration;
/// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
/// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
/// # #[async_trait::async_trait] impl Execute for Ping {
/// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
/// # }
/// # let store = TaskStore::new(MemoryAdapter::new());
/// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
/// use taskrec::HandlerFuture;
/// fn double(task: Task<Ping>) -> HandlerFuture<'static> {
///     Box::pin(async move { Ok(Some(serde_json::json!(task.data().n * 2))) })
/// }
/// let worker = Worker::new(store.clone(), WorkerConfig::new("w").keep_succeeded(true));
/// worker.drain_with("pings", double).await?;
/// let state = store.state("pings", "p1").await?.unwrap();
/// assert_eq!(state.result, Some(serde_json::json!(42))); // Ping { n: 21 }, doubled
/// # Ok(()) }
/// ```
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = HandlerResult> + Send + 'a>>;

/// Drains task lists: claims each task, runs it, completes it on success,
/// retries it with backoff on failure, keeps it as failed after the last
/// attempt, all under leases.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
///
/// #[derive(Debug, TaskData)]
/// struct Resize { image: u32 }
///
/// #[async_trait::async_trait]
/// impl Execute for Resize {
///     async fn execute(&self, _: &()) -> Result<(), BoxError> {
///         Ok(()) // the work
///     }
/// }
///
/// let store = TaskStore::new(MemoryAdapter::new());
/// for image in 0..10 {
///     store.save(&Task::build("resize", Resize { image })?).await?;
/// }
/// let worker = Worker::new(store.clone(), WorkerConfig::new("worker-1"));
/// let report = worker.drain::<Resize, _>("resize", &()).await?;
/// assert_eq!(report.succeeded, 10);
/// assert_eq!(store.count("resize").await?, 0);
/// # Ok(()) }
/// ```
pub struct Worker<A: ?Sized = dyn StorageAdapter> {
    store: TaskStore<A>,
    config: WorkerConfig,
    stop: Arc<watch::Sender<bool>>,
}

impl<A: ?Sized> std::fmt::Debug for Worker<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<A: StorageAdapter + ?Sized> Worker<A> {
    /// A worker over a store.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// use std::sync::Arc;
    /// let store = TaskStore::from_dyn(Arc::new(MemoryAdapter::new())); // chosen at run time
    /// store.create("pings", Ping { n: 1 }).await?;
    /// let worker: Worker = Worker::new(store, WorkerConfig::new("w"));
    /// assert_eq!(worker.drain::<Ping, _>("pings", &()).await?.succeeded, 1);
    /// # Ok(()) }
    /// ```
    pub fn new(store: TaskStore<A>, config: WorkerConfig) -> Self {
        Worker {
            store,
            config,
            stop: Arc::new(watch::channel(false).0),
        }
    }

    /// A handle that stops this worker, from anywhere: here, from its own
    /// handler.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// # for n in 0..2 { store.create("pings", Ping { n }).await?; }
    /// let worker = Worker::new(store.clone(), WorkerConfig::new("w").concurrency(1));
    /// let stop = worker.stop_handle();
    /// assert_eq!(store.count("pings").await?, 3);
    /// let report = worker.drain_with::<Ping, _>("pings", |_| {
    ///     stop.stop(); // one task is enough for today
    ///     Box::pin(async { Ok(None) })
    /// }).await?;
    /// assert_eq!((report.succeeded, report.stopped), (1, true));
    /// assert_eq!(store.count("pings").await?, 2);
    /// # Ok(()) }
    /// ```
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(Arc::clone(&self.stop))
    }

    /// Runs every task of `task_list` through [`Execute`] until none is left
    /// to do: all completed, or kept as failed. While other workers hold
    /// tasks or tasks wait out a backoff, it waits for them; it returns when
    /// the list has nothing open, or when stopped.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// #[derive(Debug, TaskData)]
    /// struct Add { n: u32 }
    /// #[async_trait::async_trait]
    /// impl Execute<AtomicU32> for Add {
    ///     async fn execute(&self, total: &AtomicU32) -> Result<(), BoxError> {
    ///         total.fetch_add(self.n, Ordering::Relaxed);
    ///         Ok(())
    ///     }
    /// }
    /// for n in 1..=4 { store.create("sums", Add { n }).await?; }
    /// let (worker, total) = (Worker::new(store.clone(), WorkerConfig::new("w")), AtomicU32::new(0));
    /// let report = worker.drain::<Add, _>("sums", &total).await?;  // `&total`: the context
    /// assert_eq!((report.succeeded, total.into_inner()), (4, 10));
    /// # Ok(()) }
    /// ```
    pub async fn drain<T, C>(&self, task_list: &str, ctx: &C) -> Result<DrainReport>
    where
        T: TaskDecode + Execute<C>,
        C: ?Sized + Sync,
    {
        self.drain_with::<T, _>(task_list, |task: Task<T>| {
            Box::pin(async move { task.data().execute(ctx).await.map(|()| None) })
        })
        .await
    }

    /// Like [`drain`](Self::drain), with a handler instead of [`Execute`];
    /// the handler's JSON result is kept on succeeded tasks when the worker
    /// keeps them.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// # for n in [1, 2] { store.create("pings", Ping { n }).await?; }
    /// let seen = std::sync::Mutex::new(Vec::new());
    /// let worker = Worker::new(store.clone(), WorkerConfig::new("w"));
    /// let report = worker.drain_with::<Ping, _>("pings", |task| {
    ///     seen.lock().unwrap().push(task.data().n); // the handler may borrow
    ///     Box::pin(async { Ok(None) })
    /// }).await?;
    /// assert_eq!(report.succeeded, 3);
    /// let mut seen = seen.into_inner().unwrap();
    /// seen.sort();
    /// assert_eq!(seen, [1, 2, 21]);
    /// # Ok(()) }
    /// ```
    pub async fn drain_with<'h, T, H>(&self, task_list: &str, handler: H) -> Result<DrainReport>
    where
        T: TaskDecode,
        H: Fn(Task<T>) -> HandlerFuture<'h> + Sync,
    {
        self.work(&[task_list], &handler, Until::Drained).await
    }

    /// Works on `task_lists` until stopped, for a long-running worker
    /// process: like [`drain`](Self::drain), but lists with nothing open do
    /// not end it. While every list is idle it looks again after a wait that
    /// starts at a sixteenth of [`idle_poll`](WorkerConfig::idle_poll) and
    /// doubles up to it (sooner when a held task's lease or a backoff runs
    /// out first), so an idle worker costs one sweep per list per
    /// `idle_poll`: on the memory adapter and on Cassandra's ready index, a
    /// few reads, not the list. When stopped ([`StopHandle::stop`], wired to
    /// a signal by the application), the tasks running are given back for
    /// other workers and the report says so.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use std::time::Duration;
    /// use taskrec::{BoxError, Execute, MemoryAdapter, TaskData, TaskStore, Worker, WorkerConfig};
    /// #[derive(Debug, TaskData)]
    /// struct Ping { n: u32 }
    /// #[async_trait::async_trait]
    /// impl Execute for Ping {
    ///     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// }
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// let worker = Worker::new(store.clone(), WorkerConfig::new("w").idle_poll(Duration::from_millis(20)));
    /// let stop = worker.stop_handle();
    /// let serving = tokio::spawn(async move { worker.serve::<Ping, _>(&["pings", "pongs"], &()).await });
    /// store.create("pongs", Ping { n: 1 }).await?; // arrives while the worker idles
    /// tokio::time::sleep(Duration::from_millis(200)).await;
    /// stop.stop(); // in a service: on SIGTERM, e.g. `tokio::signal::ctrl_c().await`
    /// let report = serving.await.unwrap()?;
    /// assert_eq!((report.succeeded, report.stopped), (1, true));
    /// # Ok(()) }
    /// ```
    pub async fn serve<T, C>(&self, task_lists: &[&str], ctx: &C) -> Result<DrainReport>
    where
        T: TaskDecode + Execute<C>,
        C: ?Sized + Sync,
    {
        self.serve_with::<T, _>(task_lists, |task: Task<T>| {
            Box::pin(async move { task.data().execute(ctx).await.map(|()| None) })
        })
        .await
    }

    /// Like [`serve`](Self::serve), with a handler instead of [`Execute`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use std::time::Duration;
    /// use taskrec::{MemoryAdapter, TaskData, TaskStore, Worker, WorkerConfig};
    /// #[derive(Debug, TaskData)]
    /// struct Ping { n: u32 }
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.create("pings", Ping { n: 1 }).await?;
    /// let worker = Worker::new(store, WorkerConfig::new("w"));
    /// let stop = worker.stop_handle();
    /// let report = worker
    ///     .serve_with::<Ping, _>(&["pings"], |_| {
    ///         stop.stop(); // one task, then stop
    ///         Box::pin(async { Ok(None) })
    ///     })
    ///     .await?;
    /// assert_eq!((report.succeeded, report.stopped), (1, true));
    /// # Ok(()) }
    /// ```
    pub async fn serve_with<'h, T, H>(&self, task_lists: &[&str], handler: H) -> Result<DrainReport>
    where
        T: TaskDecode,
        H: Fn(Task<T>) -> HandlerFuture<'h> + Sync,
    {
        self.work(task_lists, &handler, Until::Stopped).await
    }

    /// The loop of `drain` and `serve`: a pass (one sweep) per list, again
    /// at once while passes claim tasks, after a wait while none does.
    async fn work<'h, T, H>(
        &self,
        task_lists: &[&str],
        handler: &H,
        until: Until,
    ) -> Result<DrainReport>
    where
        T: TaskDecode,
        H: Fn(Task<T>) -> HandlerFuture<'h> + Sync,
    {
        let counters = Counters::default();
        let mut stopped = self.stop.subscribe();
        let first_idle_wait = (self.config.idle_poll / 16).max(Duration::from_millis(1));
        let mut idle_wait = first_idle_wait;
        loop {
            if *stopped.borrow_and_update() {
                break;
            }
            let (mut claimed, mut next_wake) = (0, None);
            for task_list in task_lists {
                let pass = self.pass(task_list, handler, &counters).await?;
                if counters.errors_in_a_row.load(Ordering::Relaxed)
                    >= u64::from(self.config.error_limit)
                {
                    let last = counters.last_error.lock().ok().and_then(|mut e| e.take());
                    if let Some(error) = last {
                        return Err(error);
                    }
                }
                claimed += pass.claimed;
                next_wake = match (next_wake, pass.next_wake) {
                    (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
                    (a, b) => a.or(b),
                };
            }
            if claimed > 0 {
                idle_wait = first_idle_wait;
                continue;
            }
            let longest = match until {
                Until::Drained => self.config.idle_poll,
                Until::Stopped => idle_wait,
            };
            let wait = match next_wake {
                None if until == Until::Drained => break, // nothing open: drained
                None => longest,
                // Not sooner than a sixteenth of `idle_poll`: on Cassandra the
                // next hint may come due every millisecond while others work,
                // and a pass per hint would re-read the recent hints each time.
                Some(wake) => (wake - Utc::now())
                    .to_std()
                    .unwrap_or_default()
                    .clamp(first_idle_wait, longest),
            };
            idle_wait = (idle_wait * 2).min(self.config.idle_poll);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stopped.changed() => {}
            }
        }
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let report = DrainReport {
            succeeded: read(&counters.succeeded),
            retried: read(&counters.retried),
            failed: read(&counters.failed),
            lost: read(&counters.lost),
            released: read(&counters.released),
            errors: read(&counters.errors),
            stopped: *self.stop.borrow(),
        };
        if let Some(hook) = &self.config.events {
            hook.emit(&WorkerEvent::Finished {
                report: report.clone(),
            });
        }
        Ok(report)
    }

    /// One sweep over the list's ready tasks ([`StorageAdapter::next_ready`]):
    /// claims and runs what it can; says how many it claimed, and when the
    /// earliest task it could not claim opens up.
    ///
    /// Errors do not cut a pass short: a visit or listing error is counted
    /// and the tasks already running finish (a cancelled task would keep its
    /// claim until the lease ran out). Only `Unsupported`, which no retry
    /// cures, is returned, after the running tasks are done.
    async fn pass<'h, T, H>(
        &self,
        task_list: &str,
        handler: &H,
        counters: &Counters,
    ) -> Result<Pass>
    where
        T: TaskDecode,
        H: Fn(Task<T>) -> HandlerFuture<'h> + Sync,
    {
        let steps = self.sweep(task_list);
        // The list's name for the metrics' labels, shared by the pass's tasks.
        let list_label: Arc<str> = Arc::from(task_list);
        let list_label = &list_label;
        let visits = steps
            .map(|step| async move {
                match step {
                    Step::Ready(stored) => self.visit(stored, handler, counters, list_label).await,
                    Step::OpensAt(at) => Ok(Visit::Open(at)),
                    Step::Failed(e) => Err(e),
                }
            })
            .buffer_unordered(self.config.concurrency);
        tokio::pin!(visits);
        let (mut pass, mut fatal) = (Pass::default(), None);
        while let Some(visit) = visits.next().await {
            match visit {
                Ok(visit) => {
                    counters.progress();
                    match visit {
                        Visit::Ran => pass.claimed += 1,
                        Visit::Open(at) => pass.wake_at(at),
                        Visit::Closed => {}
                    }
                }
                Err(e @ crate::error::Error::Unsupported { .. }) => fatal = Some(e),
                Err(e) => {
                    tracing::error!(
                        task_list,
                        error = &e as &(dyn std::error::Error + 'static),
                        "storage error; the tasks concerned are tried again later"
                    );
                    if let Some(hook) = &self.config.events {
                        hook.emit(&WorkerEvent::StorageError {
                            task_list: task_list.to_owned(),
                            error: error_chain(&e),
                        });
                    }
                    counters.error(e);
                    // Tried again in a later pass, after a short pause.
                    pass.wake_at(Utc::now() + TimeDelta::milliseconds(100));
                }
            }
        }
        match fatal {
            Some(e) => Err(e),
            None => Ok(pass),
        }
    }

    /// The steps of one sweep over the list's ready tasks, as a stream that
    /// asks the adapter for the next step when the visits need more.
    ///
    /// A plain function returning a boxed stream: built inside `pass`, the
    /// closures' futures defeat the compiler's proof that a drain is `Send`
    /// (rust-lang/rust#64552).
    fn sweep<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Step> {
        // A step asks for a few times the concurrency: enough to keep every
        // slot busy, few enough that tasks handed out are claimed soon.
        let window = self.config.concurrency.saturating_mul(4);
        let seed = uuid::Uuid::new_v4().as_u64_pair().0 | 1;
        let stop = &self.stop;
        let adapter = self.store.adapter();
        // State: the token to go on from (`Some(None)`: the start), `None`
        // once the sweep is over; and the shuffle's seed.
        futures::stream::unfold(
            (Some(None::<PageToken>), seed),
            move |(token, mut seed)| async move {
                let token = token?;
                if *stop.borrow() {
                    return None;
                }
                match adapter
                    .next_ready(task_list, token.as_ref(), window, Utc::now())
                    .await
                {
                    Ok(ready) => {
                        let mut items: Vec<Step> =
                            ready.tasks.into_iter().map(Step::Ready).collect();
                        // Workers sweeping one list in the same order would
                        // all try the same tasks at the same moment; shuffling
                        // each step spreads them out (on Cassandra, contended
                        // claims are slow Paxos rounds).
                        shuffle(&mut items, &mut seed);
                        items.extend(ready.next_open.map(Step::OpensAt));
                        Some((items, (ready.next.map(Some), seed)))
                    }
                    Err(e) => Some((vec![Step::Failed(e)], (None, seed))),
                }
            },
        )
        .flat_map(futures::stream::iter)
        .boxed()
    }

    async fn visit<'h, T, H>(
        &self,
        ready: StoredState,
        handler: &H,
        counters: &Counters,
        list_label: &Arc<str>,
    ) -> Result<Visit>
    where
        T: TaskDecode,
        H: Fn(Task<T>) -> HandlerFuture<'h> + Sync,
    {
        // Tasks of types this worker does not run are left to the workers
        // that do (a list may mix types; a deploy may add new ones).
        let type_name = match T::TYPE_NAMES
            .iter()
            .find(|name| **name == ready.record.type_name())
        {
            Some(name) if !*self.stop.borrow() => *name,
            _ => return Ok(Visit::Closed),
        };
        let labels = TaskLabels::new(Arc::clone(list_label), type_name);
        let owner = self.config.owner.as_str();
        let span = tracing::debug_span!(
            "taskrec.claim",
            task_list = ready.record.task_list(),
            task.id = ready.record.id(),
            task.type = type_name,
            owner,
            result = tracing::field::Empty,
        );
        let claim = match self
            .store
            .claim_stored(ready, owner, self.config.lease)
            .instrument(span.clone())
            .await?
        {
            ClaimAttempt::Claimed(claim) => {
                span.record("result", "won");
                labels.count_with(CLAIMS_TOTAL, "result", "won");
                claim
            }
            // Someone else got it first: it is theirs to run.
            ClaimAttempt::Lost => {
                span.record("result", "lost");
                labels.count_with(CLAIMS_TOTAL, "result", "lost");
                return Ok(Visit::Open(Utc::now() + TimeDelta::milliseconds(10)));
            }
            ClaimAttempt::NotClaimable(state) => {
                span.record("result", "not_claimable");
                return Ok(open_at(state.as_ref()));
            }
        };
        let span = tracing::info_span!(
            "taskrec.attempt",
            task_list = claim.task_list(),
            task.id = claim.id(),
            task.type = type_name,
            attempt = claim.state().attempts,
            owner,
            outcome = tracing::field::Empty,
        );
        let report = AttemptReport::new(
            self.config.events.as_ref(),
            &claim,
            type_name,
            labels,
            span.clone(),
        );
        report.claimed(
            &claim,
            self.store.adapter().capabilities().keeps_timestamps(),
        );
        self.attempt(claim, handler, counters, &report)
            .instrument(span)
            .await
    }

    /// Runs a claimed task and records its outcome.
    async fn attempt<'h, T, H>(
        &self,
        claim: Claim,
        handler: &H,
        counters: &Counters,
        report: &AttemptReport<'_>,
    ) -> Result<Visit>
    where
        T: TaskDecode,
        H: Fn(Task<T>) -> HandlerFuture<'h> + Sync,
    {
        let attempt = claim.state().attempts;
        if attempt > self.config.max_attempts {
            // Earlier attempts ended without a result: the process running
            // them died (a crash, an out-of-memory kill). Do not try forever.
            let error = format!(
                "gave up after {} attempts; the last ones ended without a result (did the worker die?)",
                attempt - 1
            );
            self.fail(claim, &error, counters, report).await?;
            return Ok(Visit::Ran);
        }
        // The claimed version, read with the claim's token: a task saved
        // again after it was read is not claimed (the token changed).
        let task = match Task::<T>::from_record(claim.record().clone()) {
            Ok(task) => task,
            Err(
                crate::error::Error::TypeMismatch { .. } | crate::error::Error::UnknownType { .. },
            ) => {
                // Saved again under a type this worker does not run.
                if self.store.release(claim).await? {
                    report.released();
                }
                return Ok(Visit::Closed);
            }
            Err(e) => {
                // Data no code of this type can read will not get better by retrying.
                self.fail(claim, &e.to_string(), counters, report).await?;
                return Ok(Visit::Ran);
            }
        };
        report.running();
        let started = std::time::Instant::now();
        let run = self.run(claim, task, handler).await?;
        let outcome = match &run {
            Run::Done(_, Ok(_)) => "succeeded",
            Run::Done(_, Err(_)) => "failed",
            Run::Lost => "lost",
            Run::Stopped(_) => "stopped",
        };
        report.ran(outcome, started.elapsed());
        match run {
            Run::Done(claim, Ok(result)) => {
                if self
                    .store
                    .succeed(claim, result, self.config.keep_succeeded)
                    .await?
                {
                    Counters::add(&counters.succeeded);
                    report.succeeded();
                } else {
                    Counters::add(&counters.lost);
                    report.lost();
                }
            }
            Run::Done(claim, Err(error)) => {
                let error = error.to_string();
                if attempt >= self.config.max_attempts {
                    self.fail(claim, &error, counters, report).await?;
                } else {
                    let not_before =
                        crate::claim::lease_end(Utc::now(), self.config.backoff.delay(attempt));
                    if self.store.retry_later(claim, &error, not_before).await? {
                        Counters::add(&counters.retried);
                        report.retried(&error, not_before);
                    } else {
                        Counters::add(&counters.lost);
                        report.lost();
                    }
                }
            }
            Run::Lost => {
                Counters::add(&counters.lost);
                report.lost();
            }
            Run::Stopped(claim) => {
                if self.store.release(claim).await? {
                    Counters::add(&counters.released);
                    report.released();
                }
            }
        }
        Ok(Visit::Ran)
    }

    /// Keeps a claimed task as failed with `error`; a claim lost meanwhile
    /// counts as lost.
    async fn fail(
        &self,
        claim: Claim,
        error: &str,
        counters: &Counters,
        report: &AttemptReport<'_>,
    ) -> Result<()> {
        if self.store.fail(claim, error).await? {
            Counters::add(&counters.failed);
            report.failed(error);
        } else {
            Counters::add(&counters.lost);
            report.lost();
        }
        Ok(())
    }

    /// Runs one claimed task, renewing its lease every third of it, within
    /// the time limit, until it ends, the claim is lost, or the worker stops.
    ///
    /// The work is cancelled as soon as the claim may have run out: when a
    /// renewal says it was lost, or when no renewal has succeeded for a
    /// lease (less a tenth, for clock drift) since the last one that did.
    /// A renewal that fails with an error is tried again at the next tick.
    async fn run<'h, T, H>(&self, mut claim: Claim, task: Task<T>, handler: &H) -> Result<Run>
    where
        H: Fn(Task<T>) -> HandlerFuture<'h>,
    {
        use futures::FutureExt;
        let lease = self.config.lease;
        let limit = self.config.timeout;
        let work = async move {
            // A panic is a failed attempt, not a dead worker holding claims.
            let attempt = std::panic::AssertUnwindSafe(handler(task)).catch_unwind();
            let attempt = async move {
                attempt.await.unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".to_owned());
                    Err(format!("the task panicked: {what}").into())
                })
            };
            match limit {
                Some(limit) => match tokio::time::timeout(limit, attempt).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("timed out after {limit:?}").into()),
                },
                None => attempt.await,
            }
        };
        tokio::pin!(work);
        let safe_for = lease - lease / 10;
        let mut held_until = tokio::time::Instant::now() + safe_for;
        let mut stopped = self.stop.subscribe();
        // The first renewal a third of a lease from now. (`interval`'s
        // immediate first tick is not free: it waits for the timer's next
        // millisecond, which capped a worker at about a thousand tasks per
        // second per slot.)
        let every = lease / 3;
        let mut renewals = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                result = &mut work => return Ok(Run::Done(claim, result)),
                _ = renewals.tick() => {
                    let asked = tokio::time::Instant::now();
                    match self.store.renew(&mut claim, lease).await {
                        Ok(true) => held_until = asked + safe_for,
                        Ok(false) => return Ok(Run::Lost), // dropping `work` cancels it
                        Err(_) => {} // the deadline below decides
                    }
                }
                () = tokio::time::sleep_until(held_until) => return Ok(Run::Lost),
                // The guard `wait_for` returns is not Send: drop it inside.
                () = async { drop(stopped.wait_for(|stop| *stop).await) } => {
                    return Ok(Run::Stopped(claim));
                }
            }
        }
    }
}

/// Fisher-Yates with xorshift64: no cryptographic quality needed, only a
/// different order per worker.
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let j = (*seed % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// When a task that could not be claimed may open up; `Closed` when it
/// never will (finished, failed or gone).
fn open_at(state: Option<&TaskState>) -> Visit {
    match state {
        Some(state) if state.is_open() => {
            let at = state
                .not_before
                .or(state.lease_until)
                .unwrap_or_else(Utc::now);
            Visit::Open(at)
        }
        _ => Visit::Closed,
    }
}

/// When `work` returns (besides being stopped).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    /// When no list has an open task.
    Drained,
    /// Only when stopped.
    Stopped,
}

/// What a sweep yields to the visits.
enum Step {
    /// A task to claim, as `next_ready` read it.
    Ready(StoredState),
    /// A task seen open but not ready opens then.
    OpensAt(DateTime<Utc>),
    /// The sweep failed here (and ends).
    Failed(crate::error::Error),
}

enum Visit {
    /// The worker claimed the task and ran it (or failed it).
    Ran,
    /// Held by another worker or waiting out a backoff, until about then.
    Open(DateTime<Utc>),
    /// Nothing to do, now or later.
    Closed,
}

#[derive(Default)]
struct Pass {
    claimed: u64,
    next_wake: Option<DateTime<Utc>>,
}

impl Pass {
    fn wake_at(&mut self, at: DateTime<Utc>) {
        self.next_wake = Some(self.next_wake.map_or(at, |w| w.min(at)));
    }
}

enum Run {
    Done(Claim, HandlerResult),
    Lost,
    Stopped(Claim),
}
