//! Pausing and resuming a list ([`TaskStore::pause`], [`TaskStore::resume`]):
//! an operator's stop sign for the workers of one list.

use crate::adapter::StorageAdapter;
use crate::error::Result;
use crate::key::{validate_paused_by, validate_task_list};
use crate::pause::ListPause;

use super::TaskStore;

/// Where the pause and resume lines are logged.
const TRACING_TARGET: &str = "taskrec::pause";

impl<A: StorageAdapter + ?Sized> TaskStore<A> {
    /// Pauses `task_list`: every [`Worker`](crate::Worker) serving or
    /// draining it stops taking its tasks within one idle poll
    /// ([`WorkerConfig::idle_poll`](crate::WorkerConfig::idle_poll)) and
    /// waits until it is resumed; tasks already running finish. Saving,
    /// finding, listing and completing go on as before. `by` names who
    /// paused it (a user, a process), kept with the flag and logged.
    /// Pausing a paused list keeps it paused, under the new name and time.
    ///
    /// Errors: [`Error::Unsupported`](crate::Error::Unsupported) from an
    /// adapter that cannot store the flag (task_rb's table among them).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::{MemoryAdapter, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.pause("emails", "alice").await?;
    /// assert_eq!(store.pause_state("emails").await?.unwrap().by, "alice");
    /// store.resume("emails").await?;
    /// assert!(store.pause_state("emails").await?.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn pause(&self, task_list: &str, by: &str) -> Result<()> {
        validate_task_list(task_list)?;
        validate_paused_by(by)?;
        let pause = ListPause::new(by, self.now().await?);
        self.adapter().set_pause(task_list, Some(&pause)).await?;
        tracing::info!(target: TRACING_TARGET, task_list, by, "list paused");
        Ok(())
    }

    /// Resumes `task_list`: workers take its tasks again within one idle
    /// poll. Resuming a list that is not paused does nothing.
    pub async fn resume(&self, task_list: &str) -> Result<()> {
        validate_task_list(task_list)?;
        self.adapter().set_pause(task_list, None).await?;
        tracing::info!(target: TRACING_TARGET, task_list, "list resumed");
        Ok(())
    }

    /// Who paused `task_list` and when, or `None` while it is not paused.
    pub async fn pause_state(&self, task_list: &str) -> Result<Option<ListPause>> {
        validate_task_list(task_list)?;
        self.adapter().pause_state(task_list).await
    }
}
