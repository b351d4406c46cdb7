//! Executing tasks: the `Execute` trait, and running a whole list with
//! at-least-once semantics (task_rb's `CompositeTask`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures::stream::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::adapter::StorageAdapter;
use crate::data::{TaskData, TaskDecode, TaskType};
use crate::error::{BoxError, Error, Result};
use crate::key::TaskKey;
use crate::raw_json::RawJson;
use crate::store::TaskStore;
use crate::task::Task;

/// Work a task knows how to do.
///
/// `C` is whatever the work needs from its caller (an HTTP client, a
/// connection pool); `()` when nothing. An error leaves the task's record in
/// place when run through [`execute_list`], so a later run tries again.
///
/// ```
/// use taskrec::{BoxError, Execute, TaskData};
///
/// #[derive(Debug, TaskData)]
/// struct Greet { name: String }
///
/// #[async_trait::async_trait]
/// impl Execute for Greet {
///     async fn execute(&self, _: &()) -> Result<(), BoxError> {
///         if self.name.is_empty() {
///             return Err("nobody to greet".into());
///         }
///         println!("hello, {}", self.name);
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Execute<C: ?Sized + Sync = ()>: TaskData {
    /// Does the task's work.
    async fn execute(&self, ctx: &C) -> Result<(), BoxError>;
}

/// What happened to one task of a list run by [`execute_list`]. (A
/// [`Worker`](crate::Worker) tells what happened to each of its attempts
/// as a [`WorkerEvent`](crate::WorkerEvent) instead.)
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore};
/// # #[derive(Debug, TaskData)] struct Divide { by: u32 }
/// # #[async_trait::async_trait] impl Execute for Divide {
/// #     async fn execute(&self, _: &()) -> Result<(), BoxError> {
/// #         100u32.checked_div(self.by).map(drop).ok_or_else(|| "division by zero".into())
/// #     }
/// # }
/// // `Divide` fails on a zero divisor (see `execute_list`).
/// use taskrec::{ExecuteOutcome, TaskRecord};
/// use taskrec::adapter::StorageAdapter;
/// let store = TaskStore::new(MemoryAdapter::new());
/// store.save(&Task::new("math", "bad", Divide { by: 0 })?).await?;
/// store.adapter().store(&TaskRecord::new("math", "odd", "Divide", r#"{"by":"two"}"#)?).await?;
/// for done in taskrec::execute_list::<Divide, _, _>(&store, "math", &(), 4).await? {
///     match (done.key.id.as_str(), done.outcome) {
///         ("bad", ExecuteOutcome::Failed(e)) => assert_eq!(e.to_string(), "division by zero"),
///         ("odd", ExecuteOutcome::Undecodable(e)) => assert!(e.to_string().contains("at `.by`")),
///         other => panic!("unexpected {other:?}"),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ExecuteOutcome {
    /// It ran without error and its record was deleted.
    Completed,
    /// It returned this error; its record is left in place to be found again.
    Failed(BoxError),
    /// Its record could not be decoded; the record is left in place.
    Undecodable(Error),
    /// It ran without error but deleting its record failed, so it will run
    /// again: the price of at-least-once.
    NotCompleted(Error),
}

impl ExecuteOutcome {
    /// Whether the task ran and its record is gone.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore};
    /// # #[derive(Debug, TaskData)] struct Divide { by: u32 }
    /// # #[async_trait::async_trait] impl Execute for Divide {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> {
    /// #         100u32.checked_div(self.by).map(drop).ok_or_else(|| "division by zero".into())
    /// #     }
    /// # }
    /// // `Divide` fails on a zero divisor (see `execute_list`).
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.save(&Task::new("math", "ok", Divide { by: 5 })?).await?;
    /// store.save(&Task::new("math", "bad", Divide { by: 0 })?).await?;
    /// let outcomes = taskrec::execute_list::<Divide, _, _>(&store, "math", &(), 4).await?;
    /// assert_eq!(outcomes.iter().filter(|o| o.outcome.is_completed()).count(), 1);
    /// # Ok(()) }
    /// ```
    pub fn is_completed(&self) -> bool {
        matches!(self, ExecuteOutcome::Completed)
    }
}

/// One task [`execute_list`] went through: its key and its [`ExecuteOutcome`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore};
/// # #[derive(Debug, TaskData)] struct Divide { by: u32 }
/// # #[async_trait::async_trait] impl Execute for Divide {
/// #     async fn execute(&self, _: &()) -> Result<(), BoxError> {
/// #         100u32.checked_div(self.by).map(drop).ok_or_else(|| "division by zero".into())
/// #     }
/// # }
/// let store = TaskStore::new(MemoryAdapter::new());
/// store.save(&Task::new("math", "ok", Divide { by: 5 })?).await?;
/// let outcomes = taskrec::execute_list::<Divide, _, _>(&store, "math", &(), 4).await?;
/// assert_eq!(outcomes[0].key, taskrec::TaskKey::new("math", "ok"));
/// assert!(outcomes[0].outcome.is_completed());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ExecutedTask {
    /// Which task.
    pub key: TaskKey,
    /// What happened to it.
    pub outcome: ExecuteOutcome,
}

/// Runs every task of a list with up to `concurrency` at once: each one that
/// succeeds is completed (its record deleted), each failure is left in place
/// (at-least-once), and every task's outcome is returned.
///
/// Fails only when the listing itself fails; the tasks run before that keep
/// their outcome in storage (completed ones are gone, the rest remain).
///
/// Completion deletes by key, as task_rb's does: if another process saves a
/// new version of a task while it runs, that version is deleted with it.
/// Where that matters, or where two processes may run one list at once, use
/// a [`Worker`](crate::Worker): it claims each task first, and completes it
/// only while its claim holds.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use taskrec::{BoxError, Execute, ExecuteOutcome, MemoryAdapter, Task, TaskData, TaskStore};
///
/// #[derive(Debug, TaskData)]
/// struct Divide { by: u32 }
///
/// #[async_trait::async_trait]
/// impl Execute for Divide {
///     async fn execute(&self, _: &()) -> Result<(), BoxError> {
///         100u32.checked_div(self.by).map(drop).ok_or_else(|| "division by zero".into())
///     }
/// }
///
/// let store = TaskStore::new(MemoryAdapter::new());
/// store.save(&Task::new("math", "ok", Divide { by: 5 })?).await?;
/// store.save(&Task::new("math", "bad", Divide { by: 0 })?).await?;
///
/// let outcomes = taskrec::execute_list::<Divide, _, _>(&store, "math", &(), 4).await?;
/// assert_eq!(outcomes.len(), 2);
/// assert_eq!(store.count("math").await?, 1);            // the failure stays
/// assert!(store.find::<Divide>("math", "bad").await?.is_some());
/// # Ok(()) }
/// ```
pub async fn execute_list<T, C, A>(
    store: &TaskStore<A>,
    task_list: &str,
    ctx: &C,
    concurrency: usize,
) -> Result<Vec<ExecutedTask>>
where
    T: TaskDecode + Execute<C>,
    C: ?Sized + Sync,
    A: StorageAdapter + ?Sized,
{
    store
        .records(task_list)
        .map_ok(|record| async move {
            let key = record.key();
            let outcome = match Task::<T>::from_record(record) {
                Err(e) => ExecuteOutcome::Undecodable(e),
                Ok(task) => match task.data().execute(ctx).await {
                    Err(e) => ExecuteOutcome::Failed(e),
                    Ok(()) => match store.complete(&task).await {
                        Ok(()) => ExecuteOutcome::Completed,
                        Err(e) => ExecuteOutcome::NotCompleted(e),
                    },
                },
            };
            Ok(ExecutedTask { key, outcome })
        })
        .try_buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}

/// A task whose work is the tasks of another list: task_rb's
/// `Task::Tasks::CompositeTask`, stored under that type name with the same
/// `child_task_list` attribute, so records written by either side run on the
/// other.
///
/// Keys of its data other than `child_task_list` are kept in
/// [`extra`](Self::extra), each value as the JSON text it was stored as, and
/// written back on save, so a record task_rb (or a newer taskrec) wrote with
/// more data loses none of it on a round trip, not even a digit of a number
/// too large for 64 bits.
///
/// Its serde impls are its stored form, so a `CompositeTask` embedded in
/// another serde type reads and writes what a record holds.
///
/// ```
/// use taskrec::{CompositeTask, Task, TaskType};
/// assert_eq!(CompositeTask::TYPE_NAME, "Task::Tasks::CompositeTask");
/// let task = Task::build("parents", CompositeTask::new("children"))?;
/// assert_eq!(
///     serde_json::to_value(task.as_hash()).unwrap()["data"],
///     serde_json::json!({"child_task_list": "children"}),
/// );
///
/// let hash = r#"{"task_list":"parents","id":"p1","type":"Task::Tasks::CompositeTask",
///                "data":{"child_task_list":"children","owner":"backup","run":123456789012345678901234567890}}"#;
/// let task: Task<CompositeTask> = Task::from_json(hash)?;
/// assert_eq!(task.data().extra["owner"].get(), r#""backup""#);
/// assert_eq!(
///     task.to_json()?,
///     r#"{"task_list":"parents","id":"p1","type":"Task::Tasks::CompositeTask","data":{"child_task_list":"children","owner":"backup","run":123456789012345678901234567890}}"#,
/// );
/// # Ok::<(), taskrec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, taskrec_derive::TaskData)]
#[task(crate = "crate", type_name = "Task::Tasks::CompositeTask", task_rb)]
pub struct CompositeTask {
    /// The list whose tasks this task runs.
    pub child_task_list: String,
    /// The keys of the stored data other than `child_task_list`, each value
    /// as the JSON text it was stored as.
    #[task(extra)]
    pub extra: BTreeMap<String, RawJson>,
}

/// The stored form: `{"child_task_list": ..., ...extra}`.
impl Serialize for CompositeTask {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.serialize_data(serializer)
    }
}

/// The stored form: `{"child_task_list": ..., ...extra}`.
impl<'de> Deserialize<'de> for CompositeTask {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        match Self::deserialize_data(Self::TYPE_NAME, deserializer) {
            Some(decoded) => decoded,
            None => unreachable!("a task type decodes its own type name"),
        }
    }
}

impl CompositeTask {
    /// A composite task over a child list.
    ///
    /// ```
    /// let composite = taskrec::CompositeTask::new("children");
    /// assert_eq!(composite.child_task_list, "children");
    /// ```
    pub fn new(child_task_list: impl Into<String>) -> Self {
        CompositeTask {
            child_task_list: child_task_list.into(),
            extra: BTreeMap::new(),
        }
    }

    /// Runs every task of the child list through [`execute_list`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore};
    /// # #[derive(Debug, TaskData)] struct Divide { by: u32 }
    /// # #[async_trait::async_trait] impl Execute for Divide {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> {
    /// #         100u32.checked_div(self.by).map(drop).ok_or_else(|| "division by zero".into())
    /// #     }
    /// # }
    /// use taskrec::CompositeTask;
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.save(&Task::new("children", "c1", Divide { by: 2 })?).await?;
    /// store.save(&Task::new("parents", "p1", CompositeTask::new("children"))?).await?;
    /// let parent: Task<CompositeTask> = store.find("parents", "p1").await?.unwrap();
    /// let outcomes = parent.data().run_children::<Divide, _, _>(&store, &(), 4).await?;
    /// assert!(outcomes.iter().all(|o| o.outcome.is_completed()));
    /// assert_eq!(store.count("children").await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn run_children<T, C, A>(
        &self,
        store: &TaskStore<A>,
        ctx: &C,
        concurrency: usize,
    ) -> Result<Vec<ExecutedTask>>
    where
        T: TaskDecode + Execute<C>,
        C: ?Sized + Sync,
        A: StorageAdapter + ?Sized,
    {
        execute_list::<T, C, A>(store, &self.child_task_list, ctx, concurrency).await
    }
}
