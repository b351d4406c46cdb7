//! A list's counts per status as kept in the store ([`KeptCounts`]): read
//! in one request, counted again by [`TaskStore::recount`].

use std::time::{Duration, Instant};

use crate::adapter::StorageAdapter;
use crate::error::{Error, Result};
use crate::kept_counts::{this_process, KeptCounts};
use crate::key::validate_task_list;
use crate::state::TaskStatus;

use super::TaskStore;

/// Pending tasks a count reads to find the oldest: the first page in
/// listing order (on Cassandra, by the minute of their first save).
const OLDEST_PENDING_SCAN: usize = 100;

impl<A: StorageAdapter + ?Sized> TaskStore<A> {
    /// The counts of `task_list` as last kept ([`KeptCounts`], with when they
    /// were counted and how long it took): one read, whatever the list
    /// holds. `None` when none are kept (never counted, or an adapter that
    /// keeps none). While a count is under way the figures read are the
    /// last ones, marked ([`KeptCounts::recount_since`]); before the first
    /// figures, `None`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use taskrec::{MemoryAdapter, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.create("pings", Ping {}).await?;
    /// assert!(store.kept_counts("pings").await?.is_none()); // never counted
    /// store.recount("pings").await?;
    /// store.create("pings", Ping {}).await?;
    /// let kept = store.kept_counts("pings").await?.unwrap();
    /// assert_eq!(kept.counts.pending, 1); // as counted: the second came after
    /// # Ok(()) }
    /// ```
    pub async fn kept_counts(&self, task_list: &str) -> Result<Option<KeptCounts>> {
        validate_task_list(task_list)?;
        let kept = self.adapter().kept_counts(task_list).await?;
        Ok(kept.filter(KeptCounts::counted))
    }

    /// Counts `task_list` ([`count_by_status`](Self::count_by_status), which
    /// reads every task's state, and the first pending tasks for the oldest),
    /// keeps the figures for every reader of [`kept_counts`](Self::kept_counts)
    /// and answers them. On an adapter that keeps no counts the figures are
    /// answered all the same.
    ///
    /// It first keeps a [`KeptCounts::recount_mark`], so that workers and
    /// dashboards leave the list to this count ([`KeptCounts::due`]); of two
    /// counts running at once, the figures of the one that began last are
    /// kept.
    pub async fn recount(&self, task_list: &str) -> Result<KeptCounts> {
        Ok(self.recount_and_keep(task_list).await?.0)
    }

    /// [`recount`](Self::recount), and whether the adapter kept the figures.
    pub(crate) async fn recount_and_keep(&self, task_list: &str) -> Result<(KeptCounts, bool)> {
        validate_task_list(task_list)?;
        let adapter = self.adapter();
        let counted_at = self.now().await?;
        let by = this_process();
        let mark = KeptCounts::recount_mark(counted_at, by.as_str());
        let keeps = self.keep(task_list, &mark).await?;
        let started = Instant::now();
        let counts = adapter.count_by_status(task_list).await?;
        let oldest_pending = if counts.pending > 0 {
            let page = adapter
                .page_by_status(task_list, TaskStatus::Pending, None, OLDEST_PENDING_SCAN)
                .await?;
            page.tasks.iter().map(|t| t.record.created_at()).min()
        } else {
            None
        };
        let kept = KeptCounts::new(counts, oldest_pending, counted_at, started.elapsed(), by);
        let keeps = keeps && self.keep(task_list, &kept).await?;
        tracing::debug!(
            target: "taskrec::counts",
            task_list,
            total = kept.counts.total(),
            took_ms = kept.took.as_millis() as u64,
            "list counted"
        );
        Ok((kept, keeps))
    }

    /// The counts of `task_list`: the kept ones when they are at most
    /// `max_age` old, a [`recount`](Self::recount) otherwise (`Duration::ZERO`
    /// always counts), as `taskrec count --by-status --max-age AGE` prints.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use taskrec::{MemoryAdapter, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.create("pings", Ping {}).await?;
    /// let first = store.counts("pings", Duration::from_secs(60)).await?; // none kept: counts
    /// store.create("pings", Ping {}).await?;
    /// let kept = store.counts("pings", Duration::from_secs(60)).await?; // kept, a moment old
    /// let exact = store.counts("pings", Duration::ZERO).await?; // counts again
    /// assert_eq!((first.counts.pending, kept.counts.pending, exact.counts.pending), (1, 1, 2));
    /// # Ok(()) }
    /// ```
    pub async fn counts(&self, task_list: &str, max_age: Duration) -> Result<KeptCounts> {
        if !max_age.is_zero()
            && let Some(kept) = self.kept_counts(task_list).await?
            && kept.age(self.now().await?) <= max_age
        {
            return Ok(kept);
        }
        self.recount(task_list).await
    }

    /// Keeps `counts` (true), or does nothing on an adapter that keeps none
    /// (false).
    async fn keep(&self, task_list: &str, counts: &KeptCounts) -> Result<bool> {
        match self.adapter().keep_counts(task_list, counts).await {
            Ok(()) => Ok(true),
            Err(Error::Unsupported { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }
}
