//! A task's processing state: pending, claimed by a worker until a lease
//! runs out, succeeded or failed, with its attempts, last error and result.
//!
//! The state lives beside the record in adapters that can write
//! conditionally ([`Capabilities::conditional_writes`](crate::adapter::Capabilities::conditional_writes)).
//! Adapters keep it as opaque JSON text with a [`StateToken`] that changes on
//! every write, and change it only when the caller presents the current
//! token: a compare-and-set on which claims, renewals and releases are built
//! ([`TaskStore::claim`](crate::TaskStore::claim)).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a task is in its life.
///
/// Statuses may be added (a newer taskrec's are [`Unknown`](Self::Unknown)
/// to this one): match with a wildcard arm.
///
/// ```
/// use taskrec::TaskStatus;
/// // Stored in the state's JSON in snake case:
/// assert_eq!(serde_json::to_string(&TaskStatus::Claimed).unwrap(), r#""claimed""#);
/// let status: TaskStatus = serde_json::from_str(r#""failed""#).unwrap();
/// assert_eq!(status, TaskStatus::Failed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskStatus {
    /// Waiting for a worker (also after a failed attempt that will be retried).
    Pending,
    /// Held by a worker until its lease runs out.
    Claimed,
    /// Done, and kept because the worker was asked to keep finished tasks.
    Succeeded,
    /// Failed as many times as allowed; kept for a person to look at.
    Failed,
    /// Saved to run no earlier than a time that has not come yet
    /// ([`TaskStore::save_scheduled`](crate::TaskStore::save_scheduled)).
    ///
    /// A status listings and counts show, never one that is stored: the
    /// stored state is [`Pending`](Self::Pending) with
    /// [`not_before`](TaskState::not_before) set and no attempt made, which
    /// every reader (taskrec 0.2 included) already leaves alone until then.
    /// [`TaskState::status_at`] tells it apart.
    Scheduled,
    /// A status this version of taskrec does not know (written by a newer
    /// one): never claimed, never counted as open.
    #[serde(other)]
    Unknown,
}

/// A task's processing state.
///
/// ```
/// use taskrec::{TaskState, TaskStatus};
/// let state = TaskState::pending();
/// assert_eq!(state.status, TaskStatus::Pending);
/// assert_eq!(state.attempts, 0);
/// assert!(state.is_claimable(chrono::Utc::now()));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskState {
    /// Where the task is.
    pub status: TaskStatus,
    /// The worker holding the claim, while claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When the claim runs out, while claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
    /// A pending task is not claimed before this time: a retry's backoff,
    /// or the time a scheduled task was saved to run at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    /// How many times a worker has claimed the task.
    #[serde(default)]
    pub attempts: u32,
    /// The error of the last failed attempt, while the task is pending,
    /// claimed or failed; a task that succeeds keeps none (its history,
    /// [`TaskStore::with_history`](crate::TaskStore::with_history), does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// What a succeeded task produced, when it produced something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// When the state last changed (absent in the initial state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<DateTime<Utc>>,
}

/// The state every adapter writes with a record when it stores it: a task
/// that is saved (again) is pending and has not been tried.
///
/// ```
/// use taskrec::TaskState;
/// use taskrec::adapter::INITIAL_STATE_JSON;
/// assert_eq!(TaskState::from_json(INITIAL_STATE_JSON)?, TaskState::pending());
/// # Ok::<(), taskrec::Error>(())
/// ```
pub const INITIAL_STATE_JSON: &str = r#"{"status":"pending"}"#;

impl TaskState {
    /// The state of a freshly saved task.
    ///
    /// ```
    /// let state = taskrec::TaskState::pending();
    /// assert!(state.is_open() && state.is_claimable(chrono::Utc::now()));
    /// assert_eq!((state.attempts, state.owner), (0, None));
    /// ```
    pub fn pending() -> Self {
        TaskState {
            status: TaskStatus::Pending,
            owner: None,
            lease_until: None,
            not_before: None,
            attempts: 0,
            last_error: None,
            result: None,
            changed_at: None,
        }
    }

    /// The state of a task saved to run no earlier than `not_before`:
    /// pending, with no attempt made.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc};
    /// use taskrec::{TaskState, TaskStatus};
    /// let now = Utc::now();
    /// let state = TaskState::scheduled(now + TimeDelta::hours(1));
    /// assert_eq!(state.status, TaskStatus::Pending); // what is stored
    /// assert_eq!(state.status_at(now), TaskStatus::Scheduled); // what is listed
    /// assert!(!state.is_claimable(now));
    /// assert!(state.is_claimable(now + TimeDelta::hours(1)));
    /// ```
    pub fn scheduled(not_before: DateTime<Utc>) -> Self {
        TaskState {
            not_before: Some(not_before),
            ..TaskState::pending()
        }
    }

    /// The status listings and counts show at `now`: the stored
    /// [`status`](Self::status), except that a pending task that has never
    /// been tried and waits for a time still ahead is
    /// [`Scheduled`](TaskStatus::Scheduled). A task backing off after a
    /// failed attempt stays [`Pending`](TaskStatus::Pending).
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc};
    /// use taskrec::{TaskState, TaskStatus};
    /// let now = Utc::now();
    /// let at = now + TimeDelta::minutes(5);
    /// assert_eq!(TaskState::scheduled(at).status_at(now), TaskStatus::Scheduled);
    /// assert_eq!(TaskState::scheduled(at).status_at(at), TaskStatus::Pending); // its time has come
    /// let backing_off = TaskState { attempts: 1, ..TaskState::scheduled(at) };
    /// assert_eq!(backing_off.status_at(now), TaskStatus::Pending);
    /// ```
    pub fn status_at(&self, now: DateTime<Utc>) -> TaskStatus {
        match self.status {
            TaskStatus::Pending | TaskStatus::Scheduled
                if self.attempts == 0 && self.not_before.is_some_and(|t| t > now) =>
            {
                TaskStatus::Scheduled
            }
            TaskStatus::Scheduled => TaskStatus::Pending,
            status => status,
        }
    }

    /// Whether a worker may claim the task at `now`: pending and past any
    /// backoff, or claimed under a lease that has run out.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc};
    /// use taskrec::{TaskState, TaskStatus};
    /// let now = Utc::now();
    /// let mut backing_off = TaskState::pending();
    /// backing_off.not_before = Some(now + TimeDelta::minutes(1));
    /// assert!(!backing_off.is_claimable(now));
    /// assert!(backing_off.is_claimable(now + TimeDelta::minutes(2)));
    /// let expired = TaskState { status: TaskStatus::Claimed, lease_until: Some(now), ..TaskState::pending() };
    /// assert!(expired.is_claimable(now));
    /// ```
    pub fn is_claimable(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            TaskStatus::Pending | TaskStatus::Scheduled => self.not_before.is_none_or(|t| t <= now),
            TaskStatus::Claimed => self.lease_until.is_none_or(|t| t <= now),
            TaskStatus::Succeeded | TaskStatus::Failed | TaskStatus::Unknown => false,
        }
    }

    /// From when a worker may claim the task: the end of its backoff or of
    /// its lease, [`DateTime::<Utc>::MIN_UTC`] when nothing holds it back,
    /// `None` when it never will be claimed (finished, failed, unknown).
    ///
    /// ```
    /// use chrono::{DateTime, TimeDelta, Utc};
    /// use taskrec::{TaskState, TaskStatus};
    /// let later = Utc::now() + TimeDelta::minutes(1);
    /// let held = TaskState { status: TaskStatus::Claimed, lease_until: Some(later), ..TaskState::pending() };
    /// assert_eq!(held.claimable_from(), Some(later));
    /// assert_eq!(TaskState::pending().claimable_from(), Some(DateTime::<Utc>::MIN_UTC));
    /// let failed = TaskState { status: TaskStatus::Failed, ..TaskState::pending() };
    /// assert_eq!(failed.claimable_from(), None);
    /// ```
    pub fn claimable_from(&self) -> Option<DateTime<Utc>> {
        match self.status {
            TaskStatus::Pending | TaskStatus::Scheduled => {
                Some(self.not_before.unwrap_or(DateTime::<Utc>::MIN_UTC))
            }
            TaskStatus::Claimed => Some(self.lease_until.unwrap_or(DateTime::<Utc>::MIN_UTC)),
            TaskStatus::Succeeded | TaskStatus::Failed | TaskStatus::Unknown => None,
        }
    }

    /// Whether the task still has work to do (pending or claimed).
    ///
    /// ```
    /// use taskrec::{TaskState, TaskStatus};
    /// let failed = TaskState { status: TaskStatus::Failed, ..TaskState::pending() };
    /// assert!(!failed.is_open());
    /// assert!(TaskState::pending().is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            TaskStatus::Pending | TaskStatus::Scheduled | TaskStatus::Claimed
        )
    }

    /// The state as the JSON text adapters store.
    ///
    /// ```
    /// let json = taskrec::TaskState::pending().to_json()?;
    /// assert_eq!(json, r#"{"status":"pending","attempts":0}"#); // unset fields left out
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::InvalidData {
            type_name: "taskrec::TaskState".to_owned(),
            path: ".".to_owned(),
            message: e.to_string(),
            task: None,
        })
    }

    /// The state from the JSON text an adapter stored.
    ///
    /// ```
    /// use taskrec::{Error, TaskState, TaskStatus};
    /// let state = TaskState::from_json(r#"{"status":"failed","attempts":5,"last_error":"boom"}"#)?;
    /// assert_eq!((state.status, state.last_error.as_deref()), (TaskStatus::Failed, Some("boom")));
    /// assert!(matches!(TaskState::from_json("{}"), Err(Error::InvalidData { .. })));
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::InvalidData {
            type_name: "taskrec::TaskState".to_owned(),
            path: ".".to_owned(),
            message: e.to_string(),
            task: None,
        })
    }
}

// The transitions of a task's state. Each builds the next state from the
// current one, so that the rules (what a claim counts, what a release gives
// back, what a success forgets) are written once, here, whoever makes the
// change; the caller writes the result conditionally on the token it read
// the current state with (`TaskStore::claim` and the steps after it).
impl TaskState {
    /// Claimed by `owner` until `lease_until`, counting an attempt; any
    /// backoff is over. The last error stays, for the attempt to see.
    pub(crate) fn claimed(
        self,
        owner: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        TaskState {
            status: TaskStatus::Claimed,
            owner: Some(owner.to_owned()),
            lease_until: Some(lease_until),
            not_before: None,
            attempts: self.attempts.saturating_add(1),
            changed_at: Some(now),
            ..self
        }
    }

    /// Given back unworked: pending again at once, and the attempt the
    /// claim counted does not count.
    pub(crate) fn released(self, now: DateTime<Utc>) -> Self {
        let mut state = self.let_go(TaskStatus::Pending, now);
        state.attempts = state.attempts.saturating_sub(1);
        state
    }

    /// A failed attempt that will be tried again: pending, not claimable
    /// before `not_before`, with the error kept.
    pub(crate) fn retried(
        self,
        error: &str,
        not_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut state = self.let_go(TaskStatus::Pending, now);
        state.not_before = Some(not_before);
        state.last_error = Some(error.to_owned());
        state
    }

    /// Failed for good, with its error, kept for a person to look at.
    pub(crate) fn failed(self, error: &str, now: DateTime<Utc>) -> Self {
        let mut state = self.let_go(TaskStatus::Failed, now);
        state.last_error = Some(error.to_owned());
        state
    }

    /// Succeeded, with what it produced.
    pub(crate) fn succeeded(self, result: Option<serde_json::Value>, now: DateTime<Utc>) -> Self {
        let mut state = self.let_go(TaskStatus::Succeeded, now);
        // An earlier attempt's error is not the succeeded task's: it stays
        // in the task's history (`with_history`), not in its state.
        state.last_error = None;
        state.result = result;
        state
    }

    /// Pending again from scratch, as an operator's reset leaves a task:
    /// attempts, backoff, error and result all forgotten.
    pub(crate) fn reset(now: DateTime<Utc>) -> Self {
        TaskState {
            changed_at: Some(now),
            ..TaskState::pending()
        }
    }

    /// What every end of a claim shares: the new status, no owner, no
    /// lease, and the time of the change. Attempts, backoff, error and
    /// result carry over unless the transition says otherwise.
    fn let_go(self, status: TaskStatus, now: DateTime<Utc>) -> Self {
        TaskState {
            status,
            owner: None,
            lease_until: None,
            changed_at: Some(now),
            ..self
        }
    }
}

/// The version of a stored state: a fresh value on every write, never used
/// before (random, or from a per-process counter in the memory adapter), so
/// a write conditioned on it succeeds only if nothing changed in between
/// (and a state that was overwritten and written back is still told apart).
///
/// ```
/// let a = taskrec::adapter::StateToken::random();
/// assert_ne!(a, taskrec::adapter::StateToken::random());
/// assert_eq!(a.as_uuid().to_string().len(), 36);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateToken(uuid::Uuid);

impl StateToken {
    /// A new token: a random (version 4) UUID.
    ///
    /// ```
    /// let token = taskrec::adapter::StateToken::random();
    /// assert_eq!(token.as_uuid().get_version_num(), 4);
    /// ```
    pub fn random() -> Self {
        StateToken(uuid::Uuid::new_v4())
    }

    /// The token from its UUID, as an adapter stored it.
    ///
    /// ```
    /// let stored = uuid::Uuid::parse_str("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap();
    /// let token = taskrec::adapter::StateToken::from_uuid(stored);
    /// assert_eq!(token.as_uuid(), stored);
    /// ```
    pub fn from_uuid(uuid: uuid::Uuid) -> Self {
        StateToken(uuid)
    }

    /// The token as a UUID, for storing.
    ///
    /// ```
    /// use taskrec::adapter::StateToken;
    /// let token = StateToken::random();
    /// let column = token.as_uuid().to_string(); // written and read back
    /// assert_eq!(StateToken::from_uuid(column.parse().unwrap()), token);
    /// ```
    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

impl fmt::Debug for StateToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateToken({})", self.0)
    }
}

/// A stored state as an adapter returns it: the state's JSON text, its
/// token, and the record as it was in the same read, so that a claim made
/// with this token is a claim on exactly this version of the task.
///
/// ```
/// let stored = taskrec::adapter::StoredState {
///     json: taskrec::adapter::INITIAL_STATE_JSON.to_owned(),
///     token: taskrec::adapter::StateToken::random(),
///     record: taskrec::TaskRecord::new("l", "i", "T", "{}")?,
/// };
/// assert_eq!(stored.record.id(), "i");
/// # Ok::<(), taskrec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredState {
    /// The state as JSON text (see [`TaskState::from_json`]).
    pub json: String,
    /// Its current version.
    pub token: StateToken,
    /// The record, read together with the state.
    pub record: crate::record::TaskRecord,
}

/// How many tasks of a list are in each status.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use taskrec::{MemoryAdapter, TaskRecord, TaskStatus};
/// use taskrec::adapter::StorageAdapter;
/// let adapter = MemoryAdapter::new();
/// adapter.store(&TaskRecord::new("l", "a", "T", "{}")?).await?;
/// let counts = adapter.count_by_status("l").await?;
/// assert_eq!((counts.get(TaskStatus::Pending), counts.total()), (1, 1));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusCounts {
    /// Waiting for a worker, backing off after a failed attempt included.
    pub pending: u64,
    /// Saved to run at a time still ahead, never tried yet
    /// ([`TaskStatus::Scheduled`]).
    pub scheduled: u64,
    /// Held by a worker (whether or not its lease has run out).
    pub claimed: u64,
    /// Done and kept.
    pub succeeded: u64,
    /// Failed for good.
    pub failed: u64,
    /// In a status this version does not know, or whose state cannot be
    /// read.
    pub unknown: u64,
}

impl StatusCounts {
    /// The count of one status.
    pub fn get(&self, status: TaskStatus) -> u64 {
        match status {
            TaskStatus::Pending => self.pending,
            TaskStatus::Scheduled => self.scheduled,
            TaskStatus::Claimed => self.claimed,
            TaskStatus::Succeeded => self.succeeded,
            TaskStatus::Failed => self.failed,
            TaskStatus::Unknown => self.unknown,
        }
    }

    /// Every task counted.
    pub fn total(&self) -> u64 {
        self.pending + self.scheduled + self.claimed + self.succeeded + self.failed + self.unknown
    }

    pub(crate) fn add(&mut self, status: TaskStatus) {
        let slot = match status {
            TaskStatus::Pending => &mut self.pending,
            TaskStatus::Scheduled => &mut self.scheduled,
            TaskStatus::Claimed => &mut self.claimed,
            TaskStatus::Succeeded => &mut self.succeeded,
            TaskStatus::Failed => &mut self.failed,
            TaskStatus::Unknown => &mut self.unknown,
        };
        *slot += 1;
    }
}
