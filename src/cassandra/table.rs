//! What a table layout does for the adapter: one implementation per layout
//! ([`TaskrecTable`](super::taskrec_table::TaskrecTable),
//! [`TaskRbTable`](super::task_rb_table::TaskRbTable)), so the adapter
//! itself never asks which layout it has.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use scylla::client::session::Session;

use crate::adapter::inspect::StoredStatusPage;
use crate::adapter::ready::ReadyTasks;
use crate::adapter::{Capabilities, Page, PageToken};
use crate::error::{Error, Result};
use crate::record::TaskRecord;
use crate::state::{StateToken, StoredState, TaskStatus};

use super::{CassandraAdapter, ReadyReads, ADAPTER};

/// The error of a task state operation on a layout without task state.
pub(super) fn no_state() -> Error {
    Error::Unsupported {
        adapter: ADAPTER,
        operation: "conditional writes (Capabilities::conditional_writes), which task state, \
                    claims and workers need: task_rb's table has no state columns",
    }
}

/// The operations of `StorageAdapter` that depend on the layout, with its
/// prepared statements and the session they run on.
#[async_trait]
pub(super) trait Table: Send + Sync {
    fn capabilities(&self) -> Capabilities;

    /// Partitions a list's listing spreads over (see `CassandraAdapter::shards`).
    fn shards(&self) -> u32;

    /// What claim-next sweeps have read so far.
    fn ready_reads(&self) -> ReadyReads {
        ReadyReads::default()
    }

    async fn write(&self, record: &TaskRecord, ttl: Option<Duration>) -> Result<()>;

    /// Writes a record whose task no worker may claim before `not_before`.
    async fn write_scheduled(
        &self,
        _record: &TaskRecord,
        _not_before: DateTime<Utc>,
    ) -> Result<()> {
        Err(no_state())
    }

    /// Writes a record only if its key is free; whether it did.
    async fn write_if_absent(&self, _record: &TaskRecord) -> Result<bool> {
        Err(no_state())
    }

    /// Writes many records, as `write` would one after another (no TTL).
    async fn write_all(&self, records: &[TaskRecord]) -> Result<()>;

    async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>>;

    /// Every row stored under `(task_list, id)`, in clustering order. One at
    /// most, unless the layout keeps a row per type (task_rb's).
    async fn rows_of(&self, task_list: &str, id: &str) -> Result<Vec<TaskRecord>> {
        Ok(self.find(task_list, id).await?.into_iter().collect())
    }

    async fn delete(&self, task_list: &str, id: &str) -> Result<()>;

    async fn page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page>;

    fn all<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Result<TaskRecord>>;

    async fn count(&self, task_list: &str) -> Result<u64>;

    async fn load_state(&self, _task_list: &str, _id: &str) -> Result<Option<StoredState>> {
        Err(no_state())
    }

    async fn swap_state(
        &self,
        _task_list: &str,
        _id: &str,
        _expected: &StateToken,
        _new: Option<&str>,
    ) -> Result<Option<StateToken>> {
        Err(no_state())
    }

    /// `adapter` is the adapter this table belongs to, for what the sweep
    /// reads through the `StorageAdapter` methods (states, walks).
    async fn next_ready(
        &self,
        _adapter: &CassandraAdapter,
        _task_list: &str,
        _token: Option<&PageToken>,
        _limit: usize,
        _now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        Err(no_state())
    }

    /// This process stops sweeping the list: its parts go back.
    async fn stop_sweeping(&self, _session: &Session, _task_list: &str) -> Result<()> {
        Ok(())
    }

    /// The names of the lists the table holds.
    async fn task_lists(&self, session: &Session) -> Result<Option<Vec<String>>>;

    /// Who paused the list and when (`None`: not paused, or a layout
    /// without the setting).
    async fn pause_state(
        &self,
        _session: &Session,
        _task_list: &str,
    ) -> Result<Option<crate::ListPause>> {
        Ok(None)
    }

    /// Pauses or resumes the list.
    async fn set_pause(
        &self,
        _session: &Session,
        _task_list: &str,
        _pause: Option<&crate::ListPause>,
    ) -> Result<()> {
        Err(Error::Unsupported {
            adapter: ADAPTER,
            operation: "pausing a list on task_rb's table, whose lists have no workers",
        })
    }

    /// The list's kept counts (`None`: none kept, or a layout without them).
    async fn kept_counts(
        &self,
        _session: &Session,
        _task_list: &str,
    ) -> Result<Option<crate::KeptCounts>> {
        Ok(None)
    }

    /// Keeps the list's counts.
    async fn keep_counts(
        &self,
        _session: &Session,
        _task_list: &str,
        _counts: &crate::KeptCounts,
    ) -> Result<()> {
        Err(Error::Unsupported {
            adapter: ADAPTER,
            operation: "keeping counts on task_rb's table, whose tasks have no states to count",
        })
    }

    /// The parts of the list this process sweeps (none without
    /// `owned_parts`).
    fn parts_held(&self, _task_list: &str) -> Vec<u32> {
        Vec::new()
    }

    /// `adapter` as for [`next_ready`](Self::next_ready). The default walks
    /// the list (pages and states).
    async fn page_by_status(
        &self,
        adapter: &CassandraAdapter,
        task_list: &str,
        status: TaskStatus,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<StoredStatusPage> {
        if !self.capabilities().conditional_writes() {
            return Err(no_state());
        }
        crate::adapter::inspect::page_by_walking(adapter, task_list, status, token, page_size).await
    }
}
