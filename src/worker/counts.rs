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

/// How much less often a worker counts a list whose adapter keeps no
/// counts: its own count is then the only reader's, and each worker makes
/// its own.
const UNKEPT_SLOWER: u32 = 10;

/// What a worker knows of one list's counts.
#[derive(Debug, Default)]
struct Watch {
    /// What this process counted last.
    own: Option<KeptCounts>,
    /// The adapter keeps no counts (an adapter without them, or a schema
    /// made before their table).
    unkept: bool,
}

impl<A: StorageAdapter + ?Sized> Worker<A> {
    /// Looks at each list's counts every `every` (give or take a quarter,
    /// so that the processes serving a list do not all look at once), for
    /// as long as the worker works: never returns.
    pub(super) async fn keep_lists_counted(&self, task_lists: &[&str], every: Duration) {
        let mut watches: HashMap<&str, Watch> = HashMap::new();
        let mut first = true;
        loop {
            for task_list in task_lists {
                let watch = watches.entry(task_list).or_default();
                self.look_at_counts(task_list, watch, every, first).await;
            }
            first = false;
            tokio::time::sleep_until(Instant::now() + jittered(every)).await;
        }
    }

    /// One look at a list's counts: a read, which sets the list's gauges,
    /// and a count when one is due (never at the `first` look). Errors are
    /// logged: counts are for people, and must not stop work.
    async fn look_at_counts(
        &self,
        task_list: &str,
        watch: &mut Watch,
        every: Duration,
        first: bool,
    ) {
        let kept = match self.store.adapter().kept_counts(task_list).await {
            Ok(kept) => kept,
            Err(error) => {
                tracing::warn!(target: TRACING_TARGET, task_list, %error, "could not read the list's kept counts");
                return;
            }
        };
        let Ok(now) = self.store.now().await else {
            return;
        };
        // The newest figures known: kept by any process, or counted here.
        let figures = match (kept.as_ref().filter(|k| k.counted()), &watch.own) {
            (Some(kept), Some(own)) if own.counted_at > kept.counted_at => Some(own),
            (Some(kept), _) => Some(kept),
            (None, own) => own.as_ref(),
        };
        if let Some(figures) = figures {
            crate::observe::publish_kept_counts(task_list, figures, now);
        }
        if first {
            return;
        }
        // Whether a count is due: by what is kept (a mark of a count under
        // way included), else by this process's own last count.
        let (latest, every) = match watch.unkept {
            false => (kept.as_ref().or(watch.own.as_ref()), every),
            true => (watch.own.as_ref(), every.saturating_mul(UNKEPT_SLOWER)),
        };
        if latest.is_some_and(|latest| !latest.due(now, every)) {
            return;
        }
        match self.store.recount_and_keep(task_list).await {
            Ok((counted, kept)) => {
                if !kept && !watch.unkept {
                    tracing::info!(
                        target: TRACING_TARGET,
                        task_list,
                        "the store keeps no counts (on Cassandra: no counts table, schema/counts.cql): \
                         this worker counts the list for its own gauges, ten times less often"
                    );
                    watch.unkept = true;
                }
                if let Ok(now) = self.store.now().await {
                    crate::observe::publish_kept_counts(task_list, &counted, now);
                }
                watch.own = Some(counted);
            }
            Err(error) => {
                tracing::warn!(target: TRACING_TARGET, task_list, %error, "could not count the list");
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
