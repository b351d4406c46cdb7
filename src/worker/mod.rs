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
//! the store's clock ([`TaskStore::now`](crate::TaskStore::now): on
//! Cassandra the cluster's, measured by each process, so a worker whose
//! own clock runs ahead does not take over). So one worker at a time runs
//! a task, given that:
//!
//! - handlers are async and yield: a handler that blocks its thread (a
//!   CPU-bound loop, a synchronous client) stops renewals and cancellation
//!   alike; run such work with `tokio::task::spawn_blocking` and keep the
//!   lease longer than it takes;
//! - the store's clock, as each worker reads it, agrees to well within a
//!   tenth of the lease: in memory one process, one clock; on Cassandra
//!   two workers' readings of the cluster's time differ by their
//!   measurements' uncertainties (a millisecond or so on a LAN), twice the
//!   adapter's clock tolerance at worst (250 ms by default), whatever the
//!   workers' own clocks say (the holder times its nine tenths on its
//!   monotonic clock);
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
//! On the memory adapter a sweep reads only the tasks it hands out; on
//! taskrec's Cassandra table it reads the hints that came due and their
//! tasks' states (its ready index: see the `cassandra` module), walking
//! the list now and then to catch a missed hint; on an adapter with the
//! provided `next_ready` (and on that table without its ready index) it
//! reads every task of the list and its state.
//!
//! Several workers on one list are handed the same tasks. Each claims them
//! in an order of its own; once a claim of a pass is lost to another
//! worker, the pass reads each task's state again before claiming it, so a
//! task another worker took costs a read rather than a lost claim (on
//! Cassandra, a Paxos round).
//!
//! # Where things are
//!
//! - `config`: [`WorkerConfig`] and [`Backoff`], how a worker is set up;
//! - `drain`: the loop of [`Worker::drain`] and [`Worker::serve`], a pass
//!   (one sweep of `next_ready`) per list, and the waits between passes;
//! - `attempt`: one task, from its claim to its recorded outcome, run
//!   under a renewed lease and the time limit;
//! - `report`: [`DrainReport`] and the counters the attempts add to;
//! - `events`: [`WorkerEvent`], and how an attempt is reported to tracing,
//!   metrics and the application's hook;
//! - `stop`: [`StopHandle`], for a graceful stop.

mod attempt;
mod config;
mod counts;
mod drain;
mod events;
mod pause;
mod report;
mod stop;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::watch;

use crate::adapter::StorageAdapter;
use crate::data::TaskDecode;
use crate::error::{BoxError, Result};
use crate::execute::Execute;
use crate::store::TaskStore;
use crate::task::Task;

pub use config::{Backoff, WorkerConfig, DEFAULT_COUNT_EVERY};
use drain::Until;
pub use events::{TaskAttempt, WorkerEvent};
pub use report::DrainReport;
pub use stop::StopHandle;

/// The target of the worker's spans and events. Pinned, rather than each
/// file's module path, so that the split into files changed no target a
/// subscriber's filter or output names.
pub(crate) const TRACING_TARGET: &str = "taskrec::worker";

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
    /// When each (list, type) this worker does not run was last reported.
    unknown_reported:
        std::sync::Mutex<std::collections::HashMap<(String, String), std::time::Instant>>,
    /// What this worker last read of each list's pause flag.
    pauses: pause::PauseWatch,
}

/// How often a worker reports, per list and type, the ready tasks of a
/// type it does not run ([`WorkerEvent::UnknownType`]).
const UNKNOWN_TYPE_REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

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
            unknown_reported: std::sync::Mutex::default(),
            pauses: pause::PauseWatch::default(),
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
    /// tasks or tasks wait out a backoff or their scheduled time
    /// ([`TaskStore::save_scheduled`](crate::TaskStore::save_scheduled)), it
    /// waits for them; it returns when
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
    /// Several lists take turns: a pass over one of them hands out at most
    /// eight times [`concurrency`](WorkerConfig::concurrency) tasks before
    /// the next list's pass, so a list that never runs dry does not keep the
    /// others waiting (each pass waits for its last tasks to finish, so a
    /// turn costs a little of the concurrency at its end).
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
}
