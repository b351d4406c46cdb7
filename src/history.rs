//! The history of a task's state changes: what the store records
//! ([`TaskStore::with_history`](crate::TaskStore::with_history)), how much of
//! it is kept ([`HistoryRetention`]), and the form adapters store it in
//! ([`HistoryEntry`]).
//!
//! History is keyed by the task (list, id), apart from the tasks: it
//! outlives a completed task, and no listing of the task's list ever reads
//! it. Adapters keep it where they like; the default, for adapters that do
//! not, is a small task list of its own per task (see
//! [`StorageAdapter::append_history`]).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::adapter::StorageAdapter;
use crate::error::{Error, Result};
use crate::record::{self, TaskRecord};
use crate::state::TaskState;

/// One recorded state change of a task (see [`TaskStore::with_history`](crate::TaskStore::with_history)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
/// use std::time::Duration;
/// use taskrec::{MemoryAdapter, StateChange, Task, TaskStatus, TaskStore};
/// let store = TaskStore::new(MemoryAdapter::new()).with_history(["pings"]);
/// store.save(&Task::new("pings", "p1", Ping {})?).await?;
/// store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?;
/// let changes: Vec<StateChange> = store.history("pings", "p1").await?;
/// let last = changes.last().unwrap();
/// assert_eq!((last.state.status, last.state.owner.as_deref()), (TaskStatus::Claimed, Some("worker-a")));
/// assert!(changes[0].at <= last.at);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateChange {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The state after the change.
    pub state: TaskState,
}

/// One state change as an adapter stores it: when, and the state after it
/// as JSON (the text [`TaskState::to_json`] writes, kept verbatim).
///
/// ```
/// use taskrec::{HistoryEntry, TaskState};
/// let entry = HistoryEntry { at: chrono::Utc::now(), state: TaskState::pending().to_json()? };
/// assert!(entry.state.contains("pending"));
/// # Ok::<(), taskrec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When the change happened; entries are ordered by it.
    pub at: DateTime<Utc>,
    /// The state after the change, as JSON.
    pub state: String,
}

/// How much history is kept per task: at most the last
/// [`keep_last`](Self::keep_last) changes, each for at most
/// [`ttl`](Self::ttl).
///
/// The defaults, [`DEFAULT_KEEP_LAST`](Self::DEFAULT_KEEP_LAST) changes and
/// [`DEFAULT_TTL`](Self::DEFAULT_TTL), keep every change of a task that is
/// retried a few times, long enough to look into it after a weekend; a
/// task whose lease is renewed for hours keeps its last renewals.
///
/// ```
/// use std::time::Duration;
/// use taskrec::HistoryRetention;
/// let retention = HistoryRetention::default().keep_last(20).ttl(Some(Duration::from_secs(86_400)));
/// assert_eq!((retention.kept(), retention.time_to_live()), (20, Some(Duration::from_secs(86_400))));
/// assert_eq!(HistoryRetention::default().kept(), HistoryRetention::DEFAULT_KEEP_LAST);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRetention {
    keep_last: usize,
    ttl: Option<Duration>,
}

impl HistoryRetention {
    /// Changes kept per task by default.
    pub const DEFAULT_KEEP_LAST: usize = 100;
    /// How long a change is kept by default: 14 days.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(14 * 24 * 3600);

    /// Keeps the last `n` changes of each task (at least 1). What a read of
    /// a task's history returns and scans is bounded by it.
    pub fn keep_last(mut self, n: usize) -> Self {
        self.keep_last = n.max(1);
        self
    }

    /// Keeps each change for `ttl` (`None`: until it is among the oldest
    /// past [`keep_last`](Self::keep_last); on Cassandra, where older entries
    /// are skipped by reads but not deleted, for ever). Bounds what is stored.
    pub fn ttl(mut self, ttl: Option<Duration>) -> Self {
        self.ttl = ttl;
        self
    }

    /// The number of changes kept per task.
    pub fn kept(&self) -> usize {
        self.keep_last
    }

    /// How long a change is kept, if bounded.
    pub fn time_to_live(&self) -> Option<Duration> {
        self.ttl
    }

    /// Whether an entry from `at` has outlived the time-to-live by `now`.
    pub(crate) fn expired(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.ttl
            .and_then(|ttl| TimeDelta::from_std(ttl).ok())
            .is_some_and(|ttl| at + ttl <= now)
    }
}

impl Default for HistoryRetention {
    fn default() -> Self {
        HistoryRetention {
            keep_last: Self::DEFAULT_KEEP_LAST,
            ttl: Some(Self::DEFAULT_TTL),
        }
    }
}

/// Which task lists keep a history, and how much of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct HistoryPolicy {
    pub(crate) lists: HistoryLists,
    pub(crate) retention: HistoryRetention,
}

#[derive(Debug, Clone, Default)]
pub(crate) enum HistoryLists {
    #[default]
    None,
    All,
    Some(std::sync::Arc<std::collections::BTreeSet<String>>),
}

impl HistoryPolicy {
    pub(crate) fn covers(&self, task_list: &str) -> bool {
        match &self.lists {
            HistoryLists::None => false,
            HistoryLists::All => true,
            HistoryLists::Some(lists) => lists.contains(task_list),
        }
    }
}

impl StateChange {
    /// The change an adapter's entry holds. The state's own `changed_at`
    /// (to the microsecond) is preferred to the entry's time, which a
    /// backend may keep to the millisecond only.
    pub(crate) fn from_entry(task_list: &str, id: &str, entry: &HistoryEntry) -> Result<Self> {
        let state = TaskState::from_json(&entry.state)
            .map_err(|e| e.at_task(|| crate::TaskKey::new(task_list, id)))?;
        Ok(StateChange {
            at: state.changed_at.unwrap_or(entry.at),
            state,
        })
    }
}

// ---------------------------------------------------------------------------
// The default, for adapters without a place of their own: one task list per
// task, named from a hash of the task's key, one record per change.
// ---------------------------------------------------------------------------

/// The type name of the records the default keeps history in.
pub(crate) const HISTORY_TYPE: &str = "taskrec::StateChange";

/// The task list holding one task's history in the default layout.
fn history_list(task_list: &str, id: &str) -> String {
    let mut name = Vec::with_capacity(task_list.len() + id.len() + 1);
    name.extend_from_slice(task_list.as_bytes());
    name.push(0);
    name.extend_from_slice(id.as_bytes());
    format!(
        "taskrec-history-{}",
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, &name).simple()
    )
}

/// The record data of the default layout: `{"at": …, "state": …}`, the
/// state's JSON kept as it is.
#[derive(Serialize, Deserialize)]
struct StoredChange<'a> {
    at: DateTime<Utc>,
    #[serde(borrow)]
    state: &'a RawValue,
}

/// Appends an entry in the default layout, then drops what the retention
/// no longer keeps (a read of the task's history list, which the retention
/// keeps short).
pub(crate) async fn append_in_task_list<A: StorageAdapter + ?Sized>(
    adapter: &A,
    task_list: &str,
    id: &str,
    entry: &HistoryEntry,
    retention: &HistoryRetention,
) -> Result<()> {
    let state = RawValue::from_string(entry.state.clone())
        .map_err(|e| crate::data::encode_error(HISTORY_TYPE, &e))?;
    let data = serde_json::to_string(&StoredChange {
        at: entry.at,
        state: &state,
    })
    .map_err(|e| crate::data::encode_error(HISTORY_TYPE, &e))?;
    // Ids sort by time; the random tail keeps two changes in one
    // microsecond apart.
    let entry_id = format!(
        "{:020}-{}",
        entry.at.timestamp_micros(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let list = history_list(task_list, id);
    let record = TaskRecord::with_timestamps(
        list.as_str(),
        entry_id,
        HISTORY_TYPE,
        data,
        entry.at,
        record::truncate_millis(adapter.now().await.unwrap_or(entry.at)),
    )?;
    adapter.store(&record).await?;
    let (_, dropped) = read_task_list(adapter, &list, retention).await?;
    for id in dropped {
        adapter.delete(&list, &id).await?;
    }
    Ok(())
}

/// The kept entries of the default layout, oldest first.
pub(crate) async fn read_in_task_list<A: StorageAdapter + ?Sized>(
    adapter: &A,
    task_list: &str,
    id: &str,
    retention: &HistoryRetention,
) -> Result<Vec<HistoryEntry>> {
    let (kept, _) = read_task_list(adapter, &history_list(task_list, id), retention).await?;
    Ok(kept)
}

/// The entries of one history list, oldest first, split into those the
/// retention keeps and the ids of those it drops.
async fn read_task_list<A: StorageAdapter + ?Sized>(
    adapter: &A,
    list: &str,
    retention: &HistoryRetention,
) -> Result<(Vec<HistoryEntry>, Vec<String>)> {
    let mut records: Vec<TaskRecord> = adapter.all(list).try_collect().await?;
    records.sort_by(|a, b| a.id().cmp(b.id()));
    // What has expired is no reason to refuse a read: this process's clock
    // when the adapter cannot tell its own.
    let now = adapter.now().await.unwrap_or_else(|_| Utc::now());
    let mut kept = Vec::with_capacity(records.len());
    let mut dropped = Vec::new();
    let surplus = records.len().saturating_sub(retention.kept());
    for (n, record) in records.into_iter().enumerate() {
        let stored: StoredChange<'_> =
            serde_json::from_str(record.data()).map_err(|e| Error::InvalidData {
                type_name: HISTORY_TYPE.to_owned(),
                path: ".".to_owned(),
                message: e.to_string(),
                task: Some(record.key()),
            })?;
        if n < surplus || retention.expired(stored.at, now) {
            dropped.push(record.id().to_owned());
        } else {
            kept.push(HistoryEntry {
                at: stored.at,
                state: stored.state.get().to_owned(),
            });
        }
    }
    Ok((kept, dropped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_follows_the_ttl() {
        let now = Utc::now();
        let day = HistoryRetention::default().ttl(Some(Duration::from_secs(86_400)));
        assert!(!day.expired(now - TimeDelta::hours(23), now));
        assert!(day.expired(now - TimeDelta::hours(25), now));
        let forever = HistoryRetention::default().ttl(None);
        assert!(!forever.expired(now - TimeDelta::days(10_000), now));
    }

    #[test]
    fn keep_last_is_at_least_one() {
        assert_eq!(HistoryRetention::default().keep_last(0).kept(), 1);
    }
}
