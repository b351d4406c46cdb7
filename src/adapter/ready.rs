//! Claim-next: the tasks of a list a worker may claim now, handed out in
//! sweeps ([`StorageAdapter::next_ready`]), so a worker asks for ready work
//! instead of reading every task of the list and its state.
//!
//! A sweep starts without a token and follows [`ReadyTasks::next`] until
//! it is `None`. An adapter that keeps tasks ordered by when they become
//! claimable (the memory adapter) reads only the tasks it hands out; the
//! default, for any adapter with task state, walks the list's pages and
//! reads each task's state, as a worker had to before.

use chrono::{DateTime, Utc};

use crate::adapter::{PageToken, StorageAdapter};
use crate::error::Result;
use crate::state::{StoredState, TaskState};

/// One step of a sweep over a list's ready tasks.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use taskrec::{MemoryAdapter, TaskRecord};
/// use taskrec::adapter::StorageAdapter;
/// let adapter = MemoryAdapter::new();
/// adapter.store(&TaskRecord::new("l", "a", "T", "{}")?).await?;
/// let ready = adapter.next_ready("l", None, 10, chrono::Utc::now()).await?;
/// assert_eq!(ready.tasks.len(), 1); // pending: ready, with the token to claim it with
/// assert!(ready.next.is_none() && ready.next_open.is_none()); // the sweep is over; nothing else open
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadyTasks {
    /// Tasks claimable at the time asked for (pending and past any backoff,
    /// or claimed under a lease that has run out), each with its state and
    /// the token to claim it with, read together with its record; at most
    /// the `limit` asked for. A task whose stored state cannot be read is
    /// handed out too, so that the claim reports the error for that task.
    pub tasks: Vec<StoredState>,
    /// Where the sweep goes on; `None` when it is over.
    pub next: Option<PageToken>,
    /// The earliest time a task that this step saw open but not ready
    /// (claimed under a running lease, or backing off) may become ready.
    /// Over a whole sweep, the earliest of the steps' times is when to look
    /// again; `None` in every step means the list holds no open task but
    /// those handed out. (An adapter that cannot tell exactly says earlier:
    /// the Cassandra adapter says when the next hint is due.)
    pub next_open: Option<DateTime<Utc>>,
}

/// Whether a stored state can be claimed at `now`, and if not, from when.
pub(crate) enum Readiness {
    /// Claimable now (or unreadable: the claim will say why).
    Ready,
    /// Open, claimable from then.
    OpenAt(DateTime<Utc>),
    /// Never claimable again.
    Closed,
}

pub(crate) fn readiness(json: &str, now: DateTime<Utc>) -> Readiness {
    match TaskState::from_json(json) {
        Err(_) => Readiness::Ready,
        Ok(state) => match state.claimable_from() {
            Some(at) if at <= now => Readiness::Ready,
            Some(at) => Readiness::OpenAt(at),
            None => Readiness::Closed,
        },
    }
}

/// The default [`StorageAdapter::next_ready`]: reads pages of `limit`
/// records from `token` and the state of each, until a page holds a ready
/// task or the list ends; hands out the ready tasks of the pages read, and
/// says how many records it read.
pub(crate) async fn ready_by_walking<A: StorageAdapter + ?Sized>(
    adapter: &A,
    task_list: &str,
    token: Option<&PageToken>,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<(ReadyTasks, u64)> {
    let mut records_read = 0u64;
    let limit = limit.max(1);
    let mut ready = ReadyTasks {
        next: token.cloned(),
        ..ReadyTasks::default()
    };
    loop {
        let page = adapter.page(task_list, ready.next.as_ref(), limit).await?;
        records_read += page.records.len() as u64;
        let ids = page.records.iter().map(|r| r.id().to_owned()).collect();
        for stored in crate::adapter::inspect::states_of(adapter, task_list, ids).await? {
            match readiness(&stored.json, now) {
                Readiness::Ready => ready.tasks.push(stored),
                Readiness::OpenAt(at) => {
                    ready.next_open = Some(ready.next_open.map_or(at, |t| t.min(at)));
                }
                Readiness::Closed => {}
            }
        }
        ready.next = page.next;
        if !ready.tasks.is_empty() || ready.next.is_none() {
            return Ok((ready, records_read));
        }
    }
}
