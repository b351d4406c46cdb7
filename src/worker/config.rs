//! How a worker is set up: its name, how many tasks at once, the lease, how
//! often and how far apart a task is tried, and whom to tell what happens.

use std::time::Duration;

use super::events::{EventHook, WorkerEvent};

/// How long a failed task waits before its next attempt: `initial`, then
/// multiplied by `factor` per attempt, at most `max`.
///
/// Ways to wait may be added (jitter, say): build one with
/// [`Backoff::new`] or [`Backoff::default`]; the fields stay readable and
/// assignable.
///
/// ```
/// use std::time::Duration;
/// let backoff = taskrec::Backoff::default();
/// assert_eq!(backoff.delay(1), Duration::from_secs(1));
/// assert_eq!(backoff.delay(3), Duration::from_secs(4));
/// assert_eq!(backoff.delay(30), Duration::from_secs(300));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
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
    /// Waits `initial` after the first failed attempt, `factor` times
    /// longer after each further one (a factor below 1 counts as 1), and
    /// never longer than `max`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let steady = taskrec::Backoff::new(Duration::from_millis(5), 1.0, Duration::from_millis(5));
    /// assert_eq!(steady.delay(1), steady.delay(9));
    /// assert_eq!(taskrec::Backoff::new(steady.initial, 2.0, steady.max * 4).delay(2), Duration::from_millis(10));
    /// ```
    pub fn new(initial: Duration, factor: f64, max: Duration) -> Self {
        Backoff {
            initial,
            factor,
            max,
        }
    }

    /// The wait after failed attempt number `attempt` (1 for the first).
    ///
    /// ```
    /// use std::time::Duration;
    /// let ms = Duration::from_millis;
    /// let backoff = taskrec::Backoff::new(ms(250), 2.0, ms(750));
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

/// How often a worker looks at the kept counts of its lists by default
/// ([`WorkerConfig::count_every`]).
pub const DEFAULT_COUNT_EVERY: Duration = Duration::from_secs(60);

/// How a [`Worker`](crate::Worker) runs tasks.
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
    pub(super) owner: String,
    pub(super) concurrency: usize,
    pub(super) lease: Duration,
    pub(super) max_attempts: u32,
    pub(super) backoff: Backoff,
    pub(super) timeout: Option<Duration>,
    pub(super) keep_succeeded: bool,
    pub(super) idle_poll: Duration,
    pub(super) error_limit: u32,
    pub(super) events: Option<EventHook>,
    pub(super) fail_unknown_after: Option<Duration>,
    pub(super) count_every: Option<Duration>,
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
            fail_unknown_after: None,
            count_every: Some(DEFAULT_COUNT_EVERY),
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
    /// let quick = Backoff::new(Duration::from_millis(10), 1.0, Duration::from_millis(10));
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
    /// state are still there. [`Error::ClockSkew`](crate::Error::ClockSkew)
    /// (the store cannot tell its time, so it refuses claims) is counted
    /// but not towards the limit: the worker waits until the time can be
    /// told again, reporting each refused pass.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use taskrec::{BoxError, Execute, PageToken, TaskRecord};
    /// # use taskrec::adapter::{Page, StorageAdapter, StoredState};
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # #[derive(Debug, Default)] struct Flaky(taskrec::MemoryAdapter);
    /// # #[async_trait::async_trait] impl StorageAdapter for Flaky {
    /// #     fn capabilities(&self) -> taskrec::adapter::Capabilities { self.0.capabilities() }
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

    /// How often the worker looks at the kept counts of each list it serves
    /// ([`TaskStore::kept_counts`](crate::TaskStore::kept_counts): one read,
    /// which sets the list's gauges `taskrec_list_tasks`,
    /// `taskrec_list_oldest_pending_age_seconds` and
    /// `taskrec_list_counted_timestamp_seconds`), and counts the list again
    /// ([`TaskStore::recount`](crate::TaskStore::recount)) when no process
    /// has for that long and for ten times as long as the last count took
    /// ([`KeptCounts::due`](crate::KeptCounts::due)), and no other process
    /// is counting it. `None` turns it off. Default: a minute; at least
    /// 10 ms.
    ///
    /// The first look is at the start of each `serve` or `drain`, and only
    /// reads; counting starts from the second, so a short drain never
    /// counts. A count reads every task's state once: that is its cost,
    /// spread over this interval and shared by the processes serving the
    /// list (one counts, the others read its figures), not a cost per task's
    /// change. On a store that keeps no counts (an adapter without them, or
    /// a Cassandra schema made before their table) each worker counts for
    /// its own gauges, ten times less often, and says so once at INFO. A
    /// count cut short by a stop leaves its mark: the others take the list
    /// over after twice the last count's time and their interval.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = taskrec::WorkerConfig::new("w").count_every(Duration::from_secs(30));
    /// let quiet = taskrec::WorkerConfig::new("w").count_every(None); // no gauges, no counts
    /// # let _ = (config, quiet);
    /// ```
    pub fn count_every(mut self, every: impl Into<Option<Duration>>) -> Self {
        self.count_every = every
            .into()
            .map(|every| every.max(Duration::from_millis(10)));
        self
    }

    /// Fails a ready task of a type this worker does not run once it has
    /// waited `age` since it was saved (its `updated_at`, by the store's
    /// clock): kept as failed with the decoder's error (the type it found
    /// and the types the worker runs) as its last error, for a person to
    /// look at.
    ///
    /// By default such a task is left pending for a worker that runs its
    /// type (a list may mix types, and a deploy may bring new ones in before
    /// the workers that run them); either way the worker says so, once per
    /// list and type every few minutes, with a WARN line and a
    /// [`WorkerEvent::UnknownType`], and counts each meeting in
    /// `taskrec_unknown_types_total`. Set it where one worker runs every
    /// type of its lists, so that a typo does not wait for ever.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, TaskData, TaskRecord, TaskStore, TaskStatus, Worker, WorkerConfig};
    /// # use taskrec::adapter::StorageAdapter;
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// let typo = TaskRecord::new("pings", "p1", "Pnig", "{}")?;
    /// store.adapter().store(&typo).await?;
    /// let config = WorkerConfig::new("w").fail_unknown_types_after(Duration::ZERO);
    /// let report = Worker::new(store.clone(), config).drain::<Ping, _>("pings", &()).await?;
    /// assert_eq!(report.failed, 1);
    /// let state = store.state("pings", "p1").await?.unwrap();
    /// assert_eq!(state.status, TaskStatus::Failed);
    /// assert!(state.last_error.unwrap().contains("expected `Ping`, found `Pnig`"));
    /// # Ok(()) }
    /// ```
    pub fn fail_unknown_types_after(mut self, age: Duration) -> Self {
        self.fail_unknown_after = Some(age);
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
