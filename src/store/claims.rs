//! Claims with leases: a worker takes a task for a while, renews its hold,
//! and gives it back, succeeds or fails it, each step a compare-and-set of
//! the task's [state](crate::TaskState) so two workers never hold one task.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::adapter::StorageAdapter;
use crate::error::Result;
use crate::key::validate_key;
use crate::record::TaskRecord;
use crate::state::{StateToken, StoredState, TaskState};

use super::TaskStore;

/// A worker's hold on one task, until its lease runs out.
///
/// Only the holder of the current claim can renew, release, succeed or fail
/// the task: every such step is conditional on the state being unchanged
/// since the claim (or the last renewal).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
/// use std::time::Duration;
/// use taskrec::{MemoryAdapter, Task, TaskStore};
/// let store = TaskStore::new(MemoryAdapter::new());
/// let task = Task::new("pings", "p1", Ping {})?;
/// store.save(&task).await?;
/// let mut claim = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
/// store.save(&task).await?; // saved again: new work, and this claim no longer holds
/// assert!(!store.renew(&mut claim, Duration::from_secs(30)).await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Claim {
    // Built here and by `repair.rs`'s reset, which takes a task back from
    // a dead holder as if it held it.
    pub(super) task_list: String,
    pub(super) id: String,
    pub(super) token: StateToken,
    pub(super) state: TaskState,
    pub(super) record: TaskRecord,
}

impl Claim {
    /// The record as it was when claimed: the version of the task this
    /// claim is for. Run this, not a copy listed earlier: a task saved again
    /// since then is a new version with a new claim.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// # use std::time::Duration;
    /// # let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// store.save(&taskrec::Task::new("pings", "p1", Ping { n: 1 })?).await?;
    /// let claim = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// assert_eq!(claim.record().data(), r#"{"n":1}"#);
    /// # Ok(()) }
    /// ```
    pub fn record(&self) -> &TaskRecord {
        &self.record
    }

    /// The claimed task's list.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # use std::time::Duration;
    /// # let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// # store.save(&taskrec::Task::new("pings", "p1", Ping {})?).await?;
    /// let claim = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// assert_eq!(claim.task_list(), "pings");
    /// # Ok(()) }
    /// ```
    pub fn task_list(&self) -> &str {
        &self.task_list
    }

    /// The claimed task's id.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # use std::time::Duration;
    /// # let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// # store.save(&taskrec::Task::new("pings", "p1", Ping {})?).await?;
    /// let claim = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// assert_eq!(claim.id(), "p1");
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The state as this claim wrote it: owner, lease, attempts (this one included).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # use std::time::Duration;
    /// # let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// # store.save(&taskrec::Task::new("pings", "p1", Ping {})?).await?;
    /// use taskrec::TaskStatus;
    /// let claim = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// assert_eq!(claim.state().status, TaskStatus::Claimed);
    /// assert_eq!(claim.state().owner.as_deref(), Some("worker-a"));
    /// assert_eq!(claim.state().attempts, 1);
    /// # Ok(()) }
    /// ```
    pub fn state(&self) -> &TaskState {
        &self.state
    }

    /// When the lease runs out unless renewed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # use std::time::Duration;
    /// # let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// # store.save(&taskrec::Task::new("pings", "p1", Ping {})?).await?;
    /// use chrono::{TimeDelta, Utc};
    /// let claim = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// let until = claim.lease_until().unwrap();
    /// assert!(until > Utc::now() + TimeDelta::seconds(25) && until <= Utc::now() + TimeDelta::seconds(30));
    /// # Ok(()) }
    /// ```
    pub fn lease_until(&self) -> Option<DateTime<Utc>> {
        self.state.lease_until
    }
}

/// `now + wait`, saturating instead of overflowing on absurd durations.
pub(crate) fn lease_end(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(wait)
        .ok()
        .and_then(|wait| now.checked_add_signed(wait))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The outcome of trying to claim a task.
pub(crate) enum ClaimAttempt {
    Claimed(Claim),
    /// Not claimable now; the state says why (`None`: no such task). Only
    /// the worker reads the reason (when to look again).
    NotClaimable(#[cfg_attr(not(feature = "worker"), allow(dead_code))] Option<TaskState>),
    /// Claimable, but another worker changed it first.
    Lost,
}

impl<A: StorageAdapter + ?Sized> TaskStore<A> {
    /// Claims a task for `owner` until `lease` has passed, counting an
    /// attempt. `None` when the task is absent, finished, held under a live
    /// lease, waiting out a retry backoff, or claimed by someone else first.
    ///
    /// Needs an adapter with [`conditional_writes`](crate::adapter::Capabilities::conditional_writes):
    /// on another, it reads nothing and answers
    /// [`Error::Unsupported`](crate::Error::Unsupported) naming the
    /// capability (`the … adapter does not support conditional writes
    /// (Capabilities::conditional_writes), which task state, claims and
    /// workers need`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.save(&Task::new("pings", "p1", Ping {})?).await?;
    ///
    /// let claim = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// assert_eq!(claim.state().attempts, 1);
    /// // Held: nobody else gets it until the lease runs out or it is released.
    /// assert!(store.claim("pings", "p1", "worker-b", Duration::from_secs(30)).await?.is_none());
    /// store.release(claim).await?;
    /// assert!(store.claim("pings", "p1", "worker-b", Duration::from_secs(30)).await?.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn claim(
        &self,
        task_list: &str,
        id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<Claim>> {
        match self.try_claim(task_list, id, owner, lease).await? {
            ClaimAttempt::Claimed(claim) => Ok(Some(claim)),
            ClaimAttempt::NotClaimable(_) | ClaimAttempt::Lost => Ok(None),
        }
    }

    /// A claim, or why not: the state that stopped it (`None` when absent),
    /// or `Lost` when another writer changed the state first.
    pub(crate) async fn try_claim(
        &self,
        task_list: &str,
        id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<ClaimAttempt> {
        validate_key(task_list, id)?;
        let adapter = self.adapter();
        if !adapter.capabilities().conditional_writes() {
            return Err(crate::adapter::lacks_conditional_writes(adapter.name()));
        }
        let Some(stored) = adapter.load_state(task_list, id).await? else {
            return Ok(ClaimAttempt::NotClaimable(None));
        };
        self.claim_stored(stored, owner, lease).await
    }

    /// Claims a task as `stored` read it (from `load_state` or
    /// `next_ready`): one conditional write with the token read, no read.
    pub(crate) async fn claim_stored(
        &self,
        stored: StoredState,
        owner: &str,
        lease: Duration,
    ) -> Result<ClaimAttempt> {
        let (task_list, id) = (stored.record.task_list(), stored.record.id());
        let current = TaskState::from_json(&stored.json)
            .map_err(|e| e.at_task(|| crate::TaskKey::new(task_list, id)))?;
        let now = self.now().await?;
        if !current.is_claimable(now) {
            return Ok(ClaimAttempt::NotClaimable(Some(current)));
        }
        // Claimable while claimed: its holder's lease ran out (a worker
        // that died or hung). Said once the claim is won.
        let taken_from = (current.status == crate::TaskStatus::Claimed)
            .then(|| (current.owner.clone(), current.lease_until));
        let state = current.claimed(owner, lease_end(now, lease), now);
        let claim = Claim {
            task_list: task_list.to_owned(),
            id: id.to_owned(),
            token: stored.token,
            state,
            record: stored.record,
        };
        Ok(match self.swap(claim).await? {
            Some(claim) => {
                if let Some((previous, lease_ended)) = taken_from {
                    report_takeover(&claim, previous.as_deref(), lease_ended);
                }
                ClaimAttempt::Claimed(claim)
            }
            None => ClaimAttempt::Lost,
        })
    }

    /// Extends a held claim's lease to `lease` from now. `false` when the
    /// claim was lost (its lease ran out and another worker took the task,
    /// or the task was saved again or deleted): stop working on it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # use std::time::Duration;
    /// # let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// # store.save(&taskrec::Task::new("pings", "p1", Ping {})?).await?;
    /// let mut claim = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// let before = claim.lease_until();
    /// assert!(store.renew(&mut claim, Duration::from_secs(600)).await?);
    /// assert!(claim.lease_until() > before);
    /// # Ok(()) }
    /// ```
    pub async fn renew(&self, claim: &mut Claim, lease: Duration) -> Result<bool> {
        let mut renewed = claim.clone();
        renewed.state.lease_until = Some(lease_end(self.now().await?, lease));
        match self.swap_quiet(renewed).await? {
            Some(renewed) => {
                *claim = renewed;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Gives a claimed task back unworked: pending again at once, and the
    /// attempt does not count. `false` when the claim was already lost.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # use std::time::Duration;
    /// # let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// # store.save(&taskrec::Task::new("pings", "p1", Ping {})?).await?;
    /// use taskrec::TaskStatus;
    /// let claim = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// assert!(store.release(claim).await?);
    /// let state = store.state("pings", "p1").await?.unwrap();
    /// assert_eq!((state.status, state.attempts), (TaskStatus::Pending, 0));
    /// # Ok(()) }
    /// ```
    pub async fn release(&self, claim: Claim) -> Result<bool> {
        let state = claim.state.clone().released(self.stamp_now().await);
        self.change(claim, Some(state)).await
    }

    /// Records a failed attempt: pending again, not claimable before
    /// `not_before`, with the error kept. `false` when the claim was lost.
    /// `not_before` is read by the store's clock: build it from
    /// [`now`](Self::now), not from this process's clock, which may be off.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # use std::time::Duration;
    /// # let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// # store.save(&taskrec::Task::new("pings", "p1", Ping {})?).await?;
    /// use chrono::TimeDelta;
    /// let claim = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// let in_five_minutes = store.now().await? + TimeDelta::minutes(5);
    /// assert!(store.retry_later(claim, "timed out", in_five_minutes).await?);
    /// assert_eq!(store.state("pings", "p1").await?.unwrap().last_error.as_deref(), Some("timed out"));
    /// // Backing off: nobody claims it for five minutes.
    /// assert!(store.claim("pings", "p1", "worker-b", Duration::from_secs(30)).await?.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn retry_later(
        &self,
        claim: Claim,
        error: &str,
        not_before: DateTime<Utc>,
    ) -> Result<bool> {
        let state = claim
            .state
            .clone()
            .retried(error, not_before, self.stamp_now().await);
        self.change(claim, Some(state)).await
    }

    /// Records a final failure: the task stays, failed, with its error, and
    /// no worker claims it again (until [`reset`](Self::reset)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # use std::time::Duration;
    /// # let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// # store.save(&taskrec::Task::new("pings", "p1", Ping {})?).await?;
    /// use taskrec::TaskStatus;
    /// let claim = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// assert!(store.fail(claim, "bad input").await?);
    /// assert_eq!(store.state("pings", "p1").await?.unwrap().status, TaskStatus::Failed);
    /// assert!(store.claim("pings", "p1", "worker-b", Duration::from_secs(30)).await?.is_none());
    /// assert_eq!(store.count("pings").await?, 1); // kept for a person to look at
    /// # Ok(()) }
    /// ```
    pub async fn fail(&self, claim: Claim, error: &str) -> Result<bool> {
        let state = claim.state.clone().failed(error, self.stamp_now().await);
        self.change(claim, Some(state)).await
    }

    /// Records success. With `keep`, the task stays, succeeded, with its
    /// result, readable by (list, id); otherwise it is completed (deleted),
    /// as [`complete`](Self::complete) does, but only while the claim holds.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # use std::time::Duration;
    /// # let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// # store.save(&taskrec::Task::new("pings", "p1", Ping {})?).await?;
    /// # store.save(&taskrec::Task::new("pings", "p2", Ping {})?).await?;
    /// use serde_json::json;
    /// use taskrec::TaskStatus;
    /// let kept = store.claim("pings", "p1", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// assert!(store.succeed(kept, Some(json!({"pong": true})), true).await?);
    /// let state = store.state("pings", "p1").await?.unwrap();
    /// assert_eq!((state.status, state.result), (TaskStatus::Succeeded, Some(json!({"pong": true}))));
    ///
    /// let done = store.claim("pings", "p2", "worker-a", Duration::from_secs(30)).await?.unwrap();
    /// assert!(store.succeed(done, None, false).await?);
    /// assert!(store.find::<Ping>("pings", "p2").await?.is_none()); // completed
    /// # Ok(()) }
    /// ```
    pub async fn succeed(
        &self,
        claim: Claim,
        result: Option<serde_json::Value>,
        keep: bool,
    ) -> Result<bool> {
        let state = claim
            .state
            .clone()
            .succeeded(result, self.stamp_now().await);
        if keep {
            self.change(claim, Some(state)).await
        } else {
            let deleted = self
                .adapter()
                .swap_state(&claim.task_list, &claim.id, &claim.token, None)
                .await?
                .is_some();
            if deleted {
                self.record_history_best_effort(claim.task_list(), claim.id(), &state)
                    .await;
            }
            Ok(deleted)
        }
    }

    /// Writes `claim.state` conditionally, recording history; the claim as
    /// written, or `None` when its token was stale.
    async fn swap(&self, claim: Claim) -> Result<Option<Claim>> {
        let swapped = self.swap_quiet(claim).await?;
        if let Some(claim) = &swapped {
            self.record_history_best_effort(claim.task_list(), claim.id(), &claim.state)
                .await;
        }
        Ok(swapped)
    }

    /// History is an account of state changes, written after each one: a
    /// history write that fails must not report the change itself as failed
    /// (the caller would then give up a claim it holds).
    pub(super) async fn record_history_best_effort(
        &self,
        task_list: &str,
        id: &str,
        state: &TaskState,
    ) {
        let _ = self.record_history(task_list, id, state).await;
    }

    pub(super) async fn swap_quiet(&self, mut claim: Claim) -> Result<Option<Claim>> {
        let json = claim.state.to_json()?;
        match self
            .adapter()
            .swap_state(&claim.task_list, &claim.id, &claim.token, Some(&json))
            .await?
        {
            Some(token) => {
                claim.token = token;
                Ok(Some(claim))
            }
            None => Ok(None),
        }
    }

    async fn change(&self, mut claim: Claim, state: Option<TaskState>) -> Result<bool> {
        if let Some(state) = state {
            claim.state = state;
        }
        Ok(self.swap(claim).await?.is_some())
    }
}

/// A task taken from a holder whose lease had run out: a warning naming
/// the holder and when its lease ended, and a count.
fn report_takeover(claim: &Claim, previous: Option<&str>, lease_ended: Option<DateTime<Utc>>) {
    let previous = previous.unwrap_or("(unknown)");
    let lease_ended = lease_ended.map(|at| at.to_rfc3339());
    tracing::warn!(
        target: "taskrec::claims",
        task_list = claim.task_list(),
        task.id = claim.id(),
        previous_owner = previous,
        lease_ended = lease_ended.as_deref().unwrap_or("(unknown)"),
        owner = claim.state().owner.as_deref().unwrap_or_default(),
        "took over a task whose holder's lease had run out"
    );
    crate::observe::TaskLabels::owned(claim.task_list(), claim.record().type_name())
        .count(crate::observe::TASK_TAKEOVERS_TOTAL);
}
