//! Lease-end hints written only for claims that outlive a moment.
//!
//! A claim's hint in the ready index says "this task may be claimable again
//! when the lease runs out": it is what brings a dead worker's task back at
//! its lease's end. Most tasks finish long before that, and their completion
//! makes the hint stale at once; writing it is then a request spent on
//! nothing, one of the few that separate a drained task from a claimed one
//! (`docs/SCALE.md`).
//!
//! So a claim under a lease of [`MIN_LEASE`] or more writes its hint
//! [`delay_for`] after the claim, and only if this process has not changed
//! the task's state since (completed, failed, retried, released or renewed
//! it). The hint is due at the lease's end as before; it is written well
//! before that (a quarter of the lease at most), so sweeps read it as they
//! would have.
//!
//! What this trades: a process that dies (or drops its runtime) within that
//! delay of a claim leaves no hint for it, and the task comes back through
//! the list's walk (at most the walk interval, `WALK_EVERY` by default,
//! after its lease ends) rather than at
//! the lease's end. A failed write is tried again twice, then left to the
//! walk the same way. Shorter leases keep the hint written with the claim.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use super::clock::ClusterClock;
use super::ready::ReadyIndex;

/// Leases shorter than this write their hint with the claim: a quarter of
/// them leaves too little room before the lease's end.
pub const MIN_LEASE: Duration = Duration::from_secs(8);
/// The longest a claim's hint waits.
pub const MAX_DELAY: Duration = Duration::from_secs(2);
/// Pauses before the second and third try of a failed hint write.
const RETRY_PAUSES: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(1000)];

/// How long the hint of a claim whose lease has `lease_left` to run waits,
/// or `None` when it is written with the claim.
pub fn delay_for(lease_left: Duration) -> Option<Duration> {
    (lease_left >= MIN_LEASE).then(|| MAX_DELAY.min(lease_left / 4))
}

/// The hints of this process's claims not written yet, by (list, id), each
/// with the generation of the claim it belongs to: a later change of the
/// task by this process removes it, a later claim replaces it.
pub(super) struct DeferredHints {
    pending: Arc<Mutex<HashMap<(String, String), u64>>>,
    generation: AtomicU64,
    /// The cluster's time, when a hint is written.
    clock: Arc<ClusterClock>,
}

impl DeferredHints {
    pub(super) fn new(clock: Arc<ClusterClock>) -> Self {
        DeferredHints {
            pending: Arc::default(),
            generation: AtomicU64::new(0),
            clock,
        }
    }

    /// Writes the hint that `id` may be claimable from `due` after `delay`,
    /// unless [`cancel`](Self::cancel) or another `defer` for the task comes
    /// first. Outside a tokio runtime (where nothing could wait) it returns
    /// `false` and writes nothing: the caller writes the hint itself.
    pub(super) fn defer(
        &self,
        session: &Arc<Session>,
        insert: &PreparedStatement,
        task_list: &str,
        id: &str,
        due: DateTime<Utc>,
        delay: Duration,
    ) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let key = (task_list.to_owned(), id.to_owned());
        lock(&self.pending).insert(key.clone(), generation);
        let (pending, session, insert, clock) = (
            Arc::clone(&self.pending),
            Arc::clone(session),
            insert.clone(),
            Arc::clone(&self.clock),
        );
        runtime.spawn(async move {
            tokio::time::sleep(delay).await;
            {
                let mut pending = lock(&pending);
                if pending.get(&key) != Some(&generation) {
                    return; // changed since, or claimed again
                }
                pending.remove(&key);
            }
            let (task_list, id) = (key.0.as_str(), key.1.as_str());
            for pause in std::iter::once(None).chain(RETRY_PAUSES.map(Some)) {
                if let Some(pause) = pause {
                    tokio::time::sleep(pause).await;
                }
                let values = ReadyIndex::hint_values(task_list, id, due, clock.estimate(), None);
                if session.execute_unpaged(&insert, values).await.is_ok() {
                    return;
                }
            }
            // Left to the list's walk (see the module docs).
        });
        true
    }

    /// Forgets the waiting hint of (list, id), if any: this process changed
    /// the task's state since its claim.
    pub(super) fn cancel(&self, task_list: &str, id: &str) {
        let mut pending = lock(&self.pending);
        if !pending.is_empty() {
            pending.remove(&(task_list.to_owned(), id.to_owned()));
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_leases_hint_with_the_claim_and_long_ones_wait_a_quarter_or_two_seconds() {
        assert_eq!(delay_for(Duration::from_secs(3)), None);
        assert_eq!(delay_for(Duration::from_millis(7_999)), None);
        assert_eq!(delay_for(MIN_LEASE), Some(Duration::from_secs(2)));
        assert_eq!(delay_for(Duration::from_secs(6 * 60)), Some(MAX_DELAY));
    }
}
