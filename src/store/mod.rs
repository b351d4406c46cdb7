//! The store: the typed facade over any storage adapter, one file per
//! concern of its methods:
//!
//! | file | what |
//! | --- | --- |
//! | `mod.rs` | `TaskStore` itself: building one, its adapter, its clock |
//! | `records.rs` | saving, finding, listing and completing tasks |
//! | `claims.rs` | a worker's claim on a task and every step after it |
//! | `inspection.rs` | reading states: one task's, counts and pages by status, one task whole |
//! | `repair.rs` | an operator's changes: reset, retry and purge failed tasks |
//! | `pause.rs` | an operator's stop sign for a list's workers: pause and resume |
//! | `history.rs` | which lists keep a history, and the line each change writes |

mod claims;
mod counts;
mod history;
mod inspection;
mod pause;
mod records;
mod repair;

use std::fmt;
use std::sync::Arc;

use crate::adapter::StorageAdapter;
use crate::error::Result;
use crate::history::HistoryRetention;

use history::{HistoryLists, HistoryPolicy};

pub use claims::Claim;
// Used by the worker, and by the Cassandra adapter's tests.
#[cfg_attr(not(feature = "worker"), allow(unused_imports))]
pub(crate) use claims::{lease_end, ClaimAttempt};
pub use inspection::{StatusPage, TaskDetails, TaskWithState};
pub use records::Unique;

/// A reasonable `concurrency` for [`TaskStore::save_all`] (groups of tasks
/// in flight) and for other bulk work (saves in flight) when you have no
/// better number. `save_all` has no default
/// of its own: pass this, or a number that suits your backend.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
/// use taskrec::{MemoryAdapter, Task, TaskStore, DEFAULT_CONCURRENCY};
/// let store = TaskStore::new(MemoryAdapter::new());
/// let tasks = (0..100).map(|n| Task::build("pings", Ping { n })).collect::<taskrec::Result<Vec<_>>>()?;
/// assert_eq!(store.save_all(&tasks, DEFAULT_CONCURRENCY).await?, 100);
/// # Ok(()) }
/// ```
pub const DEFAULT_CONCURRENCY: usize = 32;

/// How many tasks [`TaskStore::save_all`] hands its adapter at once, in one
/// [`store_all`](StorageAdapter::store_all) call.
pub const SAVE_ALL_GROUP: usize = 100;

/// Saves, finds, lists and completes typed tasks through a storage adapter.
///
/// Cheap to clone: clones share the adapter. `A` is the adapter's type, or
/// `dyn StorageAdapter` (the default) to choose the backend at run time.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use futures::TryStreamExt;
/// use taskrec::{MemoryAdapter, Task, TaskData, TaskStore};
///
/// #[derive(Debug, Clone, PartialEq, TaskData)]
/// struct FetchFile { external_host: String, filename: String }
///
/// let store = TaskStore::new(MemoryAdapter::new());
/// let task = Task::build("datto.com", FetchFile {
///     external_host: "datto.com".into(),
///     filename: "file1.txt".into(),
/// })?
/// .with_id("file1")?;
/// store.save(&task).await?;
///
/// let found: Option<Task<FetchFile>> = store.find("datto.com", "file1").await?;
/// assert_eq!(found.unwrap().data(), task.data());
///
/// let open: Vec<Task<FetchFile>> = store.all("datto.com").try_collect().await?;
/// assert_eq!(open.len(), 1);
///
/// store.complete(&task).await?;
/// assert_eq!(store.count("datto.com").await?, 0);
/// # Ok(()) }
/// ```
// Methods call `(*self.adapter)`: the adapter itself, not the forwarding
// impl for `Arc<A>`, which would box a second future around its own.
pub struct TaskStore<A: ?Sized = dyn StorageAdapter> {
    history: HistoryPolicy,
    adapter: Arc<A>,
}

impl<A: ?Sized> Clone for TaskStore<A> {
    fn clone(&self) -> Self {
        TaskStore {
            history: self.history.clone(),
            adapter: Arc::clone(&self.adapter),
        }
    }
}

impl<A: fmt::Debug + ?Sized> fmt::Debug for TaskStore<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskStore")
            .field("adapter", &self.adapter)
            .finish()
    }
}

impl<A: StorageAdapter> TaskStore<A> {
    /// A store over an adapter.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use taskrec::{MemoryAdapter, TaskStore};
    /// let store: TaskStore<MemoryAdapter> = TaskStore::new(MemoryAdapter::new());
    /// let clone = store.clone(); // shares the adapter
    /// clone.create("pings", Ping {}).await?;
    /// assert_eq!(store.count("pings").await?, 1);
    /// # Ok(()) }
    /// ```
    pub fn new(adapter: A) -> Self {
        TaskStore {
            history: HistoryPolicy::default(),
            adapter: Arc::new(adapter),
        }
    }
}

impl TaskStore {
    /// A store over an adapter chosen at run time.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use taskrec::{MemoryAdapter, TaskStore};
    /// use taskrec::adapter::StorageAdapter;
    /// let adapter: Arc<dyn StorageAdapter> = Arc::new(MemoryAdapter::new());
    /// let store: TaskStore = TaskStore::from_dyn(adapter);
    /// ```
    pub fn from_dyn(adapter: Arc<dyn StorageAdapter>) -> Self {
        TaskStore {
            history: HistoryPolicy::default(),
            adapter,
        }
    }
}

impl<A: StorageAdapter + ?Sized> TaskStore<A> {
    /// A store over an adapter that is already shared.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::sync::Arc;
    /// use taskrec::{MemoryAdapter, TaskStore};
    /// use taskrec::adapter::StorageAdapter;
    /// let adapter = Arc::new(MemoryAdapter::new());
    /// let store = TaskStore::from_arc(Arc::clone(&adapter));
    /// store.create("pings", Ping {}).await?;
    /// assert_eq!(adapter.count("pings").await?, 1); // the same records
    /// # Ok(()) }
    /// ```
    pub fn from_arc(adapter: Arc<A>) -> Self {
        TaskStore {
            history: HistoryPolicy::default(),
            adapter,
        }
    }

    /// The same store, keeping the state changes of the tasks in
    /// `task_lists`, readable in order with [`history`](Self::history).
    /// Each change is one more write. An empty set keeps none (use
    /// [`with_history_everywhere`](Self::with_history_everywhere) for every
    /// list); how much is kept per task is set by
    /// [`with_history_retention`](Self::with_history_retention).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use taskrec::{MemoryAdapter, Task, TaskStatus, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new()).with_history(["pings"]);
    /// store.save(&Task::new("pings", "p1", Ping {})?).await?;
    /// let claim = store.claim("pings", "p1", "w", Duration::from_secs(30)).await?.unwrap();
    /// store.fail(claim, "broken").await?;
    /// let steps: Vec<TaskStatus> = store.history("pings", "p1").await?.iter().map(|c| c.state.status).collect();
    /// assert_eq!(steps, [TaskStatus::Pending, TaskStatus::Claimed, TaskStatus::Failed]);
    /// # Ok(()) }
    /// ```
    pub fn with_history<I, S>(mut self, task_lists: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let lists: std::collections::BTreeSet<String> =
            task_lists.into_iter().map(Into::into).collect();
        self.history.lists = if lists.is_empty() {
            HistoryLists::None
        } else {
            HistoryLists::Some(Arc::new(lists))
        };
        self
    }

    /// The same store, keeping the state changes of the tasks of every list.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new()).with_history_everywhere();
    /// store.save(&Task::new("any-list", "p1", Ping {})?).await?;
    /// assert_eq!(store.history("any-list", "p1").await?.len(), 1);
    /// assert_eq!(store.count("any-list").await?, 1); // history is not a task
    /// # Ok(()) }
    /// ```
    pub fn with_history_everywhere(mut self) -> Self {
        self.history.lists = HistoryLists::All;
        self
    }

    /// The same store, keeping as much history per task as `retention`
    /// says (default: [`HistoryRetention::default`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use taskrec::{HistoryRetention, MemoryAdapter, Task, TaskStatus, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new())
    ///     .with_history(["pings"])
    ///     .with_history_retention(HistoryRetention::default().keep_last(2));
    /// store.save(&Task::new("pings", "p1", Ping {})?).await?;
    /// let claim = store.claim("pings", "p1", "w", Duration::from_secs(30)).await?.unwrap();
    /// store.fail(claim, "broken").await?;
    /// let steps: Vec<TaskStatus> = store.history("pings", "p1").await?.iter().map(|c| c.state.status).collect();
    /// assert_eq!(steps, [TaskStatus::Claimed, TaskStatus::Failed]); // the last two
    /// # Ok(()) }
    /// ```
    pub fn with_history_retention(mut self, retention: HistoryRetention) -> Self {
        self.history.retention = retention;
        self
    }

    /// Whether state changes in `task_list` are recorded.
    pub(crate) fn keeps_history(&self, task_list: &str) -> bool {
        self.history.covers(task_list)
    }

    /// How much history is kept per task.
    pub(crate) fn history_retention(&self) -> &HistoryRetention {
        &self.history.retention
    }

    /// The adapter, for what the store does not cover.
    ///
    /// ```
    /// use taskrec::{MemoryAdapter, TaskStore};
    /// use taskrec::adapter::StorageAdapter;
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// assert_eq!(store.adapter().name(), "memory");
    /// assert!(store.adapter().capabilities().conditional_writes());
    /// ```
    pub fn adapter(&self) -> &A {
        &self.adapter
    }

    /// The time the store's tasks are placed and judged by: its adapter's
    /// ([`StorageAdapter::now`]). On Cassandra that is the cluster's time,
    /// measured and corrected for this process's clock; in memory, this
    /// process's clock. Use it for times you hand the store yourself (a
    /// retry's `not_before`), so that they mean the same to every process.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use chrono::TimeDelta;
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.save(&Task::new("pings", "p1", Ping {})?).await?;
    /// let claim = store.claim("pings", "p1", "w", Duration::from_secs(30)).await?.unwrap();
    /// let in_five_minutes = store.now().await? + TimeDelta::minutes(5);
    /// assert!(store.retry_later(claim, "busy", in_five_minutes).await?);
    /// # Ok(()) }
    /// ```
    pub async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>> {
        self.adapter.now().await
    }

    /// The store's time at the millisecond precision records keep.
    pub(crate) async fn record_now(&self) -> Result<chrono::DateTime<chrono::Utc>> {
        Ok(crate::record::truncate_millis(self.now().await?))
    }

    /// The store's time for a stamp that places nothing (when a state
    /// changed, a history entry of a completion): [`now`](Self::now), or,
    /// when the adapter cannot tell its time, this process's clock
    /// corrected by the adapter's last measured offset. Completing, failing
    /// or giving back a task must not be refused for want of a timestamp:
    /// the task would run again.
    pub(crate) async fn stamp_now(&self) -> chrono::DateTime<chrono::Utc> {
        match self.now().await {
            Ok(now) => now,
            Err(_) => {
                let offset = self
                    .adapter
                    .clock_reading()
                    .map_or(chrono::TimeDelta::zero(), |r| r.offset);
                let local = chrono::Utc::now();
                local.checked_add_signed(offset).unwrap_or(local)
            }
        }
    }

    /// Whether the store keeps a state beside each task (its adapter has
    /// [`conditional_writes`](crate::adapter::Capabilities::conditional_writes)):
    /// what claims, workers, statuses and scheduled and unique saves need.
    ///
    /// ```
    /// let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// assert!(store.keeps_state());
    /// ```
    pub fn keeps_state(&self) -> bool {
        self.adapter.capabilities().conditional_writes()
    }
}
