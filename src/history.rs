//! The history of a task's state changes: what the store records
//! ([`TaskStore::with_history`](crate::TaskStore::with_history)), how much of
//! it is kept ([`HistoryRetention`]), and the form adapters store it in
//! ([`StoredStateChange`]).
//!
//! History is keyed by the task (list, id), apart from the tasks: it
//! outlives a completed task, and no listing of the task's list ever reads
//! it. Adapters keep it where they like; the default, for adapters that do
//! not, is a small task list of its own per task (see
//! [`StorageAdapter::append_history`](crate::adapter::StorageAdapter::append_history)).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
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
/// use taskrec::TaskState;
/// use taskrec::adapter::StoredStateChange;
/// let entry = StoredStateChange { at: chrono::Utc::now(), state: TaskState::pending().to_json()? };
/// assert!(entry.state.contains("pending"));
/// # Ok::<(), taskrec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStateChange {
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

impl StateChange {
    /// The change an adapter's entry holds. The state's own `changed_at`
    /// (to the microsecond) is preferred to the entry's time, which a
    /// backend may keep to the millisecond only.
    pub(crate) fn from_entry(task_list: &str, id: &str, entry: &StoredStateChange) -> Result<Self> {
        let state = TaskState::from_json(&entry.state)
            .map_err(|e| e.at_task(|| crate::TaskKey::new(task_list, id)))?;
        Ok(StateChange {
            at: state.changed_at.unwrap_or(entry.at),
            state,
        })
    }
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
