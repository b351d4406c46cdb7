//! Reading what a store holds beyond records: a task's state, counts and
//! pages of a list by status, one task whole with its history.

use crate::adapter::{PageToken, StorageAdapter};
use crate::error::Result;
use crate::history::StateChange;
use crate::key::validate_key;
use crate::record::TaskRecord;
use crate::state::{TaskState, TaskStatus};

use super::TaskStore;

/// A page of the tasks of a list in one status
/// ([`TaskStore::page_by_status`]), and where the listing goes on.
#[derive(Debug)]
#[non_exhaustive]
pub struct StatusPage {
    /// The tasks, at most the page size asked for; empty only at the end.
    pub tasks: Vec<TaskWithState>,
    /// Where the next page starts; `None` at the end.
    pub next: Option<PageToken>,
}

/// A task's record and its processing state, as a page by status lists it.
#[derive(Debug)]
#[non_exhaustive]
pub struct TaskWithState {
    /// The record as stored (type, data, times).
    pub record: TaskRecord,
    /// Its processing state, or the error naming the task when the stored
    /// state does not read (such a task is listed as
    /// [`TaskStatus::Unknown`]).
    pub state: Result<TaskState>,
}

/// One task whole: its record, its state and its recorded history.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskDetails {
    /// The record as stored (type, data, times).
    pub record: TaskRecord,
    /// Its processing state.
    pub state: TaskState,
    /// Its state changes the store keeps, oldest first (empty unless the
    /// store keeps history for the list).
    pub history: Vec<StateChange>,
}

impl<A: StorageAdapter + ?Sized> TaskStore<A> {
    /// The names of the lists the store holds, sorted, or `None` when its
    /// adapter cannot tell ([`StorageAdapter::task_lists`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.save(&Task::new("pings", "p1", Ping {})?).await?;
    /// store.save(&Task::new("emails", "e1", Ping {})?).await?;
    /// assert_eq!(store.task_lists().await?, Some(vec!["emails".to_owned(), "pings".to_owned()]));
    /// # Ok(()) }
    /// ```
    pub async fn task_lists(&self) -> Result<Option<Vec<String>>> {
        self.adapter().task_lists().await
    }

    /// The processing state of a task, or `None` when there is no such task.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use taskrec::{MemoryAdapter, Task, TaskStatus, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.save(&Task::new("pings", "p1", Ping {})?).await?;
    /// assert_eq!(store.state("pings", "p1").await?.unwrap().status, TaskStatus::Pending);
    /// assert!(store.state("pings", "nope").await?.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn state(&self, task_list: &str, id: &str) -> Result<Option<TaskState>> {
        validate_key(task_list, id)?;
        match self.adapter().load_state(task_list, id).await? {
            Some(stored) => TaskState::from_json(&stored.json)
                .map(Some)
                .map_err(|e| e.at_task(|| crate::TaskKey::new(task_list, id))),
            None => Ok(None),
        }
    }

    /// How many tasks of a list are in each status.
    ///
    /// On Cassandra this reads the list's listing and each task's state by
    /// key: no completed task's tombstone is scanned (`docs/SCALE.md`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// for id in ["a", "b", "c"] { store.save(&Task::new("pings", id, Ping {})?).await?; }
    /// let claim = store.claim("pings", "a", "w", Duration::from_secs(30)).await?.unwrap();
    /// store.fail(claim, "bad input").await?;
    /// let counts = store.count_by_status("pings").await?;
    /// assert_eq!((counts.pending, counts.failed, counts.total()), (2, 1, 3));
    /// # Ok(()) }
    /// ```
    pub async fn count_by_status(&self, task_list: &str) -> Result<crate::StatusCounts> {
        crate::validate_task_list(task_list)?;
        self.adapter().count_by_status(task_list).await
    }

    /// A page of the tasks of a list in `status`, each with its record and
    /// state (for failed tasks: their attempts and last error); follow
    /// [`StatusPage::next`] for the rest. On Cassandra, failed tasks are
    /// read from an index of their own, so a listing of them reads only
    /// failed tasks.
    ///
    /// A task whose stored state does not read (written by another tool,
    /// say) is listed under [`TaskStatus::Unknown`] with its record and the
    /// error naming it in place of its state; the page goes on past it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use taskrec::{MemoryAdapter, Task, TaskStatus, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// for id in ["a", "b"] { store.save(&Task::new("pings", id, Ping {})?).await?; }
    /// let claim = store.claim("pings", "b", "w", Duration::from_secs(30)).await?.unwrap();
    /// store.fail(claim, "bad input").await?;
    ///
    /// let page = store.page_by_status("pings", TaskStatus::Failed, None, 100).await?;
    /// assert_eq!(page.tasks.len(), 1);
    /// let failed = &page.tasks[0];
    /// let state = failed.state.as_ref().unwrap();
    /// assert_eq!((failed.record.id(), state.attempts), ("b", 1));
    /// assert_eq!(state.last_error.as_deref(), Some("bad input"));
    /// assert!(page.next.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn page_by_status(
        &self,
        task_list: &str,
        status: TaskStatus,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<StatusPage> {
        crate::validate_task_list(task_list)?;
        let page = self
            .adapter()
            .page_by_status(task_list, status, token, page_size)
            .await?;
        let tasks = page
            .tasks
            .into_iter()
            .map(|stored| {
                let state = TaskState::from_json(&stored.json).map_err(|e| {
                    e.at_task(|| crate::TaskKey::new(stored.record.task_list(), stored.record.id()))
                });
                TaskWithState {
                    record: stored.record,
                    state,
                }
            })
            .collect();
        Ok(StatusPage {
            tasks,
            next: page.next,
        })
    }

    /// The recorded state changes of a task that the store's
    /// [retention](Self::with_history_retention) keeps, oldest first (empty
    /// unless the store keeps history for its list). Changes are ordered by their
    /// time to the microsecond; two within the same microsecond come in no
    /// particular order.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use taskrec::{MemoryAdapter, Task, TaskStatus, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new()).with_history(["pings"]);
    /// store.save(&Task::new("pings", "p1", Ping {})?).await?;
    /// let claim = store.claim("pings", "p1", "w", Duration::from_secs(30)).await?.unwrap();
    /// store.succeed(claim, None, false).await?; // completed: the record is gone, its history stays
    /// let steps: Vec<TaskStatus> = store.history("pings", "p1").await?.iter().map(|c| c.state.status).collect();
    /// assert_eq!(steps, [TaskStatus::Pending, TaskStatus::Claimed, TaskStatus::Succeeded]);
    /// # Ok(()) }
    /// ```
    pub async fn history(&self, task_list: &str, id: &str) -> Result<Vec<StateChange>> {
        validate_key(task_list, id)?;
        self.adapter()
            .history(task_list, id, self.history_retention())
            .await?
            .iter()
            .map(|entry| StateChange::from_entry(task_list, id, entry))
            .collect()
    }

    /// One task with its record, state and history; `None` when absent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use taskrec::{MemoryAdapter, Task, TaskStatus, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new()).with_history(["pings"]);
    /// store.save(&Task::new("pings", "p1", Ping {})?).await?;
    /// let claim = store.claim("pings", "p1", "w", Duration::from_secs(30)).await?.unwrap();
    /// store.fail(claim, "bad input").await?;
    ///
    /// let task = store.show("pings", "p1").await?.unwrap();
    /// assert_eq!((task.record.type_name(), task.state.status), ("Ping", TaskStatus::Failed));
    /// assert_eq!(task.state.last_error.as_deref(), Some("bad input"));
    /// assert_eq!(task.history.len(), 3); // saved, claimed, failed
    /// assert!(store.show("pings", "never-saved").await?.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn show(&self, task_list: &str, id: &str) -> Result<Option<TaskDetails>> {
        validate_key(task_list, id)?;
        let Some(stored) = self.adapter().load_state(task_list, id).await? else {
            return Ok(None);
        };
        let state = TaskState::from_json(&stored.json)
            .map_err(|e| e.at_task(|| crate::TaskKey::new(task_list, id)))?;
        let history = self.history(task_list, id).await?;
        Ok(Some(TaskDetails {
            record: stored.record,
            state,
            history,
        }))
    }
}
