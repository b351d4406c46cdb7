//! A worker keeps its lists counted ([`WorkerConfig::count_every`]): it
//! reads each list's kept counts (which sets the list's gauges) and counts
//! the list again when no process has for a while.
//!
//! [`WorkerConfig::count_every`]: crate::WorkerConfig::count_every

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use tokio::time::Instant;

use super::{Worker, TRACING_TARGET};
use crate::adapter::StorageAdapter;
use crate::kept_counts::KeptCounts;

impl<A: StorageAdapter + ?Sized> Worker<A> {
    /// Looks at each list's counts every `every` (give or take a quarter,
    /// so that the processes serving a list do not all look at once), for
    /// as long as the worker works: never returns.
    pub(super) async fn keep_lists_counted(&self, task_lists: &[&str], every: Duration) {
        // What this process counted last, per list: on an adapter that keeps
        // no counts, it is what says whether a count is due.
        let mut counted: HashMap<&str, KeptCounts> = HashMap::new();
        let mut first = true;
        loop {
            for task_list in task_lists {
                let own = counted.get(task_list);
                if let Some(kept) = self.look_at_counts(task_list, own, every, first).await {
                    counted.insert(task_list, kept);
                }
            }
            first = false;
            tokio::time::sleep_until(Instant::now() + jittered(every)).await;
        }
    }

    /// One look at a list's counts: a read, and a count when one is due
    /// (never at the `first` look). Answers what this process counted.
    /// Errors are logged: counts are for people, and must not stop work.
    async fn look_at_counts(
        &self,
        task_list: &str,
        own: Option<&KeptCounts>,
        every: Duration,
        first: bool,
    ) -> Option<KeptCounts> {
        let kept = match self.store.kept_counts(task_list).await {
            Ok(kept) => kept,
            Err(error) => {
                tracing::warn!(target: TRACING_TARGET, task_list, %error, "could not read the list's kept counts");
                return None;
            }
        };
        if first {
            return None;
        }
        let latest = match (kept, own) {
            (Some(kept), Some(own)) if own.counted_at > kept.counted_at => Some(own.clone()),
            (Some(kept), _) => Some(kept),
            (None, own) => own.cloned(),
        };
        let now = self.store.now().await.ok()?;
        if latest.is_some_and(|latest| !latest.due(now, every)) {
            return None;
        }
        match self.store.recount(task_list).await {
            Ok(kept) => Some(kept),
            Err(error) => {
                tracing::warn!(target: TRACING_TARGET, task_list, %error, "could not count the list");
                None
            }
        }
    }
}

/// `every`, give or take a quarter, at random.
fn jittered(every: Duration) -> Duration {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .elapsed()
            .unwrap_or_default()
            .as_nanos(),
    );
    let fraction = (hasher.finish() % 1_000) as f64 / 1_000.0; // [0, 1)
    every.mul_f64(0.75 + fraction / 2.0)
}
