//! What an operator does to a list's tasks by hand: run failed tasks again
//! ([`TaskStore::retry_failed`], or [`TaskStore::reset`] for one) and
//! remove them ([`TaskStore::purge`], [`TaskStore::purge_failed`]).
//!
//! Each acts on a task only while it is in the state the operator saw:
//! purging a failed task that a worker has since been given back (retried
//! by someone else) leaves it alone, and nothing here takes a task from a
//! worker that holds it under a live lease.

use crate::adapter::StorageAdapter;
use crate::error::Result;
use crate::key::validate_key;
use crate::state::{TaskState, TaskStatus};

use super::{Claim, TaskStore};

/// Failed tasks read per page by the bulk operations here.
const PAGE: usize = 100;

impl<A: StorageAdapter + ?Sized> TaskStore<A> {
    /// Makes a failed (or succeeded, or waiting) task pending again at
    /// once, attempts, backoff and last error reset, for an operator who
    /// fixed the cause. `false` when the task is absent, held under a live
    /// claim (a running worker keeps it), or changed meanwhile. Where the
    /// store keeps history, the reset's line keeps the error the task was
    /// reset from as its `last_error`, so the history says why it failed
    /// even when its failure's own line was not kept.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # use std::time::Duration;
    /// # let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// # store.save(&taskrec::Task::new("pings", "p1", Ping {})?).await?;
    /// use taskrec::TaskStatus;
    /// let claim = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// store.fail(claim, "bad input").await?;
    /// assert!(store.reset("pings", "p1").await?); // the input was fixed
    /// let state = store.state("pings", "p1").await?.unwrap();
    /// assert_eq!((state.status, state.attempts), (TaskStatus::Pending, 0));
    /// assert!(!store.reset("pings", "never-saved").await?);
    /// # Ok(()) }
    /// ```
    pub async fn reset(&self, task_list: &str, id: &str) -> Result<bool> {
        validate_key(task_list, id)?;
        let Some(stored) = self.adapter().load_state(task_list, id).await? else {
            return Ok(false);
        };
        let current = TaskState::from_json(&stored.json)
            .map_err(|e| e.at_task(|| crate::TaskKey::new(task_list, id)))?;
        let now = self.now().await?;
        // A live claim is left alone: taking the task from a running worker
        // would let a second one start beside it.
        if current.status == TaskStatus::Claimed && !current.is_claimable(now) {
            return Ok(false);
        }
        let state = TaskState::reset(now);
        // The task's history keeps why it had failed: the line of the reset
        // carries the error it was reset from (the state itself forgets it).
        let recorded = TaskState {
            last_error: current.last_error,
            ..state.clone()
        };
        let claim = Claim {
            task_list: task_list.to_owned(),
            id: id.to_owned(),
            token: stored.token,
            state,
            record: stored.record,
        };
        if self.swap_quiet(claim).await?.is_none() {
            return Ok(false);
        }
        self.record_history_best_effort(task_list, id, &recorded)
            .await;
        Ok(true)
    }

    /// Removes a task that failed for good; `false` (and nothing removed)
    /// when it is absent or not failed, including when it was retried or
    /// saved again since the caller looked.
    ///
    /// Needs an adapter with [`conditional_writes`](crate::adapter::Capabilities::conditional_writes).
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
            // The adapter's page: only the ids are wanted, and each act
            // reads the state it judges afresh.
            let page = self
                .adapter()
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
