//! Reading a list by task state: how many tasks of a list are in each
//! status ([`StorageAdapter::count_by_status`]), and the tasks in one
//! status, paged ([`StorageAdapter::page_by_status`]), such as the failed
//! ones with their attempts and last error.
//!
//! The defaults, for any adapter with task state, read the list and each
//! task's state. An adapter with a faster way for some status overrides
//! them: the Cassandra adapter keeps an index of failed tasks, so a page of
//! failed tasks reads only failed tasks.

use std::future::Future;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};

use crate::error::Result;
use crate::state::{StatusCounts, StoredState, TaskState, TaskStatus};

use super::{PageToken, StorageAdapter};

/// A page of the tasks of a list in one status, each with its record and
/// state, and where the listing goes on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredStatusPage {
    /// The tasks, at most the page size asked for; empty only at the end.
    pub tasks: Vec<StoredState>,
    /// Where the next page starts; `None` at the end.
    pub next: Option<PageToken>,
}

impl StoredStatusPage {
    /// A page of `tasks`, and where the next starts.
    pub fn new(tasks: Vec<StoredState>, next: Option<PageToken>) -> Self {
        StoredStatusPage { tasks, next }
    }
}

/// The status a stored state is counted and listed under at `now`
/// ([`TaskState::status_at`]; unreadable: unknown).
pub(crate) fn status_of(stored: &StoredState, now: DateTime<Utc>) -> TaskStatus {
    TaskState::from_json(&stored.json).map_or(TaskStatus::Unknown, |state| state.status_at(now))
}

/// States read at once, by the defaults here and in claim-next.
pub(crate) const STATE_READS_IN_FLIGHT: usize = 32;

/// The one loop that reads many tasks' states: `load` for each id,
/// [`STATE_READS_IN_FLIGHT`] at once, answered in the order of `keys`, each
/// id with what its caller attached to it and its state (`None`: gone).
/// Owned ids: a stream of futures borrowing the caller's page trips the
/// compiler's `Send` check of the trait's boxed future.
pub(crate) async fn load_states<K, L, F>(
    keys: Vec<(String, K)>,
    load: L,
) -> Result<Vec<(String, K, Option<StoredState>)>>
where
    L: Fn(String) -> F,
    F: Future<Output = Result<Option<StoredState>>>,
{
    let load = &load;
    futures::stream::iter(keys)
        .map(|(id, attached)| async move {
            let stored = load(id.clone()).await?;
            Ok((id, attached, stored))
        })
        .buffered(STATE_READS_IN_FLIGHT)
        .try_collect()
        .await
}

/// The states of the records of a page, in its order (tasks gone since are
/// left out).
pub(crate) async fn states_of<A: StorageAdapter + ?Sized>(
    adapter: &A,
    task_list: &str,
    ids: Vec<String>,
) -> Result<Vec<StoredState>> {
    let keys = ids.into_iter().map(|id| (id, ())).collect();
    let load = |id: String| async move { adapter.load_state(task_list, &id).await };
    let states = load_states(keys, load).await?;
    Ok(states
        .into_iter()
        .filter_map(|(_, (), stored)| stored)
        .collect())
}

/// The default [`StorageAdapter::count_by_status`]: every record of the
/// list and its state.
pub(crate) async fn count_by_walking<A: StorageAdapter + ?Sized>(
    adapter: &A,
    task_list: &str,
) -> Result<StatusCounts> {
    let mut counts = StatusCounts::default();
    let mut token = None;
    // Whether a task is still scheduled is judged by the adapter's clock,
    // the one its `not_before` was written by.
    let now = adapter.now().await?;
    loop {
        let page = adapter
            .page(task_list, token.as_ref(), crate::adapter::DEFAULT_PAGE_SIZE)
            .await?;
        let ids = page.records.iter().map(|r| r.id().to_owned()).collect();
        for stored in states_of(adapter, task_list, ids).await? {
            counts.add(status_of(&stored, now));
        }
        match page.next {
            Some(next) => token = Some(next),
            None => return Ok(counts),
        }
    }
}

/// The default [`StorageAdapter::page_by_status`]: pages of the list and
/// the state of each record, until a page holds a task in `status` or the
/// list ends.
pub(crate) async fn page_by_walking<A: StorageAdapter + ?Sized>(
    adapter: &A,
    task_list: &str,
    status: TaskStatus,
    token: Option<&PageToken>,
    page_size: usize,
) -> Result<StoredStatusPage> {
    let mut next = token.cloned();
    let now = adapter.now().await?;
    loop {
        let page = adapter
            .page(task_list, next.as_ref(), page_size.max(1))
            .await?;
        let ids = page.records.iter().map(|r| r.id().to_owned()).collect();
        let tasks: Vec<StoredState> = states_of(adapter, task_list, ids)
            .await?
            .into_iter()
            .filter(|stored| status_of(stored, now) == status)
            .collect();
        next = page.next;
        if !tasks.is_empty() || next.is_none() {
            return Ok(StoredStatusPage { tasks, next });
        }
    }
}
