//! A list's counts per status as last counted, kept in the store
//! ([`KeptCounts`]), and when they are due to be counted again.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::record::truncate_millis;
use crate::state::StatusCounts;

/// How much longer than it took a count is trusted, at the least: a list
/// whose count takes a minute is counted again after ten, so recounting
/// keeps one reader busy a tenth of the time at most.
pub const RECOUNT_AFTER_TOOK: u32 = 10;

/// A list's counts per status as last counted, kept in the store, with
/// when and by whom: what the dashboard's pages, `taskrec count
/// --by-status` and a worker's per-list gauges read, one row per list, so
/// that a look at a list of a million tasks does not read a million states.
///
/// Counting is the one way to know the figures exactly: a task's status
/// lives in its own record and changes there, with no request to spare for
/// a counter (a save, a claim and a completion send what they sent before).
/// So the figures are a **recount** ([`TaskStore::recount`]), kept with the
/// time it began, and read back ([`TaskStore::kept_counts`]) until the next.
/// Who recounts: a [`Worker`](crate::Worker) serving the list, once the
/// kept figures are older than its
/// [`count_every`](crate::WorkerConfig::count_every) and than ten times as
/// long as the last count took ([`due`](Self::due)), so that counting a long
/// list takes at most a tenth of one reader's time; the dashboard, by the
/// same rule with its own interval; a person, with `taskrec count
/// --by-status --exact`. A count first keeps a
/// [`recount_mark`](Self::recount_mark), so that the others leave the list to
/// it; an adapter keeps the figures of the count that began last, whichever
/// ends last ([`StorageAdapter::keep_counts`](crate::adapter::StorageAdapter::keep_counts)).
///
/// **The bound on their error**: the figures are exact as of
/// [`counted_at`](Self::counted_at) for every task that did not change while
/// the count ran ([`took`](Self::took)); a task that changed meanwhile is
/// counted in its old status or its new one. Since then they miss exactly
/// what changed after: at most the list's changes over
/// [`age`](Self::age). Every reader is shown the age.
///
/// [`TaskStore::recount`]: crate::TaskStore::recount
/// [`TaskStore::kept_counts`]: crate::TaskStore::kept_counts
///
/// ```
/// use std::time::Duration;
/// use taskrec::{KeptCounts, StatusCounts};
/// let at = chrono::Utc::now();
/// let kept = KeptCounts::new(StatusCounts::default(), None, at, Duration::from_secs(6), "host:1");
/// let minute = Duration::from_secs(60);
/// // A count that took 6 s is trusted for 60 s, then due again.
/// assert!(!kept.due(at + chrono::Duration::seconds(59), minute));
/// assert!(kept.due(at + chrono::Duration::seconds(61), minute));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeptCounts {
    /// The tasks of the list in each status.
    pub counts: StatusCounts,
    /// The earliest save (`created_at`) among the first 100 pending tasks
    /// in listing order (on Cassandra, by the minute of their first save,
    /// so the oldest to the minute); `None` when none is pending.
    pub oldest_pending: Option<DateTime<Utc>>,
    /// When the count began, by the store's clock.
    pub counted_at: DateTime<Utc>,
    /// How long the count took.
    pub took: Duration,
    /// Who counted: the process (host and process id) or the person.
    pub counted_by: String,
    /// When a process began counting the list again, if one has and has
    /// not yet kept its figures: other processes leave the list to it for
    /// a while ([`due`](Self::due)).
    pub recount_since: Option<DateTime<Utc>>,
}

impl KeptCounts {
    /// Figures counted from `counted_at`, over `took`, by `counted_by`; times
    /// and the duration to the millisecond, as stores keep them.
    pub fn new(
        counts: StatusCounts,
        oldest_pending: Option<DateTime<Utc>>,
        counted_at: DateTime<Utc>,
        took: Duration,
        counted_by: impl Into<String>,
    ) -> Self {
        // To the millisecond, as stores keep times: what is read back is
        // what was kept.
        KeptCounts {
            counts,
            oldest_pending: oldest_pending.map(truncate_millis),
            counted_at: truncate_millis(counted_at),
            took: Duration::from_millis(u64::try_from(took.as_millis()).unwrap_or(u64::MAX)),
            counted_by: counted_by.into(),
            recount_since: None,
        }
    }

    /// These figures, marked as being counted again from `since`.
    pub fn recounting_since(&self, since: DateTime<Utc>) -> Self {
        KeptCounts {
            recount_since: Some(truncate_millis(since)),
            ..self.clone()
        }
    }

    /// A mark that `counted_by` began counting the list at `since`, and no
    /// figures: what [`TaskStore::recount`](crate::TaskStore::recount) keeps
    /// before it counts, and what an adapter answers for a list being
    /// counted for the first time ([`counted`](Self::counted) is false).
    pub fn recount_mark(since: DateTime<Utc>, counted_by: impl Into<String>) -> Self {
        KeptCounts::new(
            StatusCounts::default(),
            None,
            DateTime::UNIX_EPOCH,
            Duration::ZERO,
            counted_by,
        )
        .recounting_since(since)
    }

    /// Whether these are figures of a count, not only a
    /// [`recount_mark`](Self::recount_mark).
    pub fn counted(&self) -> bool {
        self.counted_at != DateTime::UNIX_EPOCH
    }

    /// When the count ended: when it began, and how long it took.
    pub fn counted_until(&self) -> DateTime<Utc> {
        self.counted_at + chrono::Duration::from_std(self.took).unwrap_or(chrono::Duration::MAX)
    }

    /// How old the figures are at `now` (zero for a time before they began).
    pub fn age(&self, now: DateTime<Utc>) -> Duration {
        (now - self.counted_at).to_std().unwrap_or_default()
    }

    /// How long the figures are trusted: `every`, or
    /// [`RECOUNT_AFTER_TOOK`] times as long as the count took.
    pub fn fresh_for(&self, every: Duration) -> Duration {
        every.max(self.took.saturating_mul(RECOUNT_AFTER_TOOK))
    }

    /// Whether the list is due to be counted again at `now`: its figures
    /// are older than [`fresh_for`](Self::fresh_for) and no process has
    /// begun counting it within twice the last count's time and `every`
    /// (a process that died counting is taken over after that; before the
    /// list's first figures, whose count may take long, within
    /// [`RECOUNT_AFTER_TOOK`] times `every`).
    pub fn due(&self, now: DateTime<Utc>, every: Duration) -> bool {
        if self.age(now) < self.fresh_for(every) {
            return false;
        }
        match self.recount_since {
            Some(since) => {
                let counting_for = (now - since).to_std().unwrap_or_default();
                let grace = match self.counted() {
                    true => self.took.saturating_mul(2) + every,
                    false => every.saturating_mul(RECOUNT_AFTER_TOOK),
                };
                counting_for >= grace
            }
            None => true,
        }
    }

    /// How long the oldest pending task has waited at `now`.
    pub fn oldest_pending_age(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.oldest_pending
            .map(|at| (now - at).to_std().unwrap_or_default())
    }
}

/// Who this process is, for [`KeptCounts::counted_by`]: its host name and
/// process id.
pub(crate) fn this_process() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn a_long_count_is_trusted_ten_times_as_long() {
        let kept = KeptCounts::new(
            StatusCounts::default(),
            None,
            at(0),
            Duration::from_secs(60),
            "p",
        );
        let minute = Duration::from_secs(60);
        assert_eq!(kept.fresh_for(minute), Duration::from_secs(600));
        assert!(!kept.due(at(599), minute));
        assert!(kept.due(at(600), minute));
    }

    #[test]
    fn a_list_being_counted_is_left_to_its_counter_until_it_looks_dead() {
        let kept = KeptCounts::new(
            StatusCounts::default(),
            None,
            at(0),
            Duration::from_secs(5),
            "p",
        )
        .recounting_since(at(100));
        let minute = Duration::from_secs(60);
        // Another process began at 100: left alone for 2 × 5 s + 60 s.
        assert!(!kept.due(at(169), minute));
        assert!(kept.due(at(170), minute));
    }

    #[test]
    fn a_first_count_is_left_to_its_counter_ten_intervals() {
        let mark = KeptCounts::recount_mark(at(0), "p");
        let minute = Duration::from_secs(60);
        assert!(!mark.counted());
        assert!(!mark.due(at(599), minute));
        assert!(mark.due(at(600), minute));
    }

    #[test]
    fn ages_before_the_count_are_zero() {
        let kept = KeptCounts::new(
            StatusCounts::default(),
            Some(at(-30)),
            at(0),
            Duration::ZERO,
            "p",
        );
        assert_eq!(kept.age(at(-5)), Duration::ZERO);
        assert_eq!(
            kept.oldest_pending_age(at(10)),
            Some(Duration::from_secs(40))
        );
    }
}
