//! What an operator does to a list's tasks by hand: look at one task whole
//! ([`TaskStore::show`]), run failed tasks again ([`TaskStore::retry_failed`],
//! or [`TaskStore::reset`] for one) and remove them
//! ([`TaskStore::purge`], [`TaskStore::purge_failed`]).
//!
//! Each acts on a task only while it is in the state the operator saw:
//! purging a failed task that a worker has since been given back (retried
//! by someone else) leaves it alone, and nothing here takes a task from a
//! worker that holds it under a live lease.

use crate::adapter::StorageAdapter;
use crate::error::Result;
use crate::history::StateChange;
use crate::key::validate_key;
use crate::record::TaskRecord;
use crate::state::{TaskState, TaskStatus};
use crate::store::TaskStore;

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

/// Failed tasks read per page by the bulk operations here.
const PAGE: usize = 100;

impl<A: StorageAdapter + ?Sized> TaskStore<A> {
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

    /// Removes a task that failed for good; `false` (and nothing removed)
    /// when it is absent or not failed, including when it was retried or
    /// saved again since the caller looked.
    ///
    /// Needs an adapter with [`conditional_writes`](crate::Capabilities::conditional_writes).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// for id in ["p1", "p2"] { store.save(&Task::new("pings", id, Ping {})?).await?; }
    /// let claim = store.claim("pings", "p1", "w", Duration::from_secs(30)).await?.unwrap();
    /// store.fail(claim, "bad input").await?;
    ///
    /// assert!(store.purge("pings", "p1").await?);
    /// assert!(!store.purge("pings", "p2").await?); // pending: left alone
    /// assert_eq!(store.count("pings").await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn purge(&self, task_list: &str, id: &str) -> Result<bool> {
        validate_key(task_list, id)?;
        let Some(stored) = self.adapter().load_state(task_list, id).await? else {
            return Ok(false);
        };
        let failed = TaskState::from_json(&stored.json)
            .is_ok_and(|state| state.status == TaskStatus::Failed);
        if !failed {
            return Ok(false);
        }
        // Conditional on the token read with the state: a retry or save
        // that lands in between changes it, and the task stays.
        Ok(self
            .adapter()
            .swap_state(task_list, id, &stored.token, None)
            .await?
            .is_some())
    }

    /// Makes every failed task of a list pending again (attempts reset), as
    /// [`reset`](Self::reset) does for one; how many it made pending.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// for id in ["p1", "p2", "p3"] {
    ///     store.save(&Task::new("pings", id, Ping {})?).await?;
    /// }
    /// for id in ["p1", "p2"] {
    ///     let claim = store.claim("pings", id, "w", Duration::from_secs(30)).await?.unwrap();
    ///     store.fail(claim, "upstream down").await?;
    /// }
    /// assert_eq!(store.retry_failed("pings").await?, 2);
    /// assert_eq!(store.count_by_status("pings").await?.pending, 3);
    /// # Ok(()) }
    /// ```
    pub async fn retry_failed(&self, task_list: &str) -> Result<u64> {
        self.each_failed(
            task_list,
            |id| async move { self.reset(task_list, &id).await },
        )
        .await
    }

    /// Removes every failed task of a list, as [`purge`](Self::purge) does
    /// for one; how many it removed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// for id in ["p1", "p2"] { store.save(&Task::new("pings", id, Ping {})?).await?; }
    /// let claim = store.claim("pings", "p1", "w", Duration::from_secs(30)).await?.unwrap();
    /// store.fail(claim, "bad input").await?;
    /// assert_eq!(store.purge_failed("pings").await?, 1);
    /// assert_eq!(store.count("pings").await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn purge_failed(&self, task_list: &str) -> Result<u64> {
        self.each_failed(
            task_list,
            |id| async move { self.purge(task_list, &id).await },
        )
        .await
    }

    /// Runs `act` on the id of every failed task of the list, page by page;
    /// how many times it answered `true`.
    async fn each_failed<F, Fut>(&self, task_list: &str, act: F) -> Result<u64>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<bool>>,
    {
        let mut done = 0;
        let mut token = None;
        loop {
            let page = self
                .page_by_status(task_list, TaskStatus::Failed, token.as_ref(), PAGE)
                .await?;
            for stored in page.tasks {
                done += u64::from(act(stored.record.id().to_owned()).await?);
            }
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(done),
            }
        }
    }
}
