//! What a drain did: the counts the attempts add to as they end, and the
//! report they make when the drain is over.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a [`Worker::drain`](crate::Worker::drain) or [`Worker::serve`](crate::Worker::serve) did.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use taskrec::{BoxError, DrainReport, Execute, MemoryAdapter, TaskData, TaskStore, Worker, WorkerConfig};
/// #[derive(Debug, TaskData)]
/// struct Invert { x: i32 }
/// #[async_trait::async_trait]
/// impl Execute for Invert {
///     async fn execute(&self, _: &()) -> Result<(), BoxError> {
///         1i32.checked_div(self.x).map(drop).ok_or_else(|| "zero".into())
///     }
/// }
/// let store = TaskStore::new(MemoryAdapter::new());
/// for x in [-1, 0, 1] { store.create("inverts", Invert { x }).await?; }
/// let worker = Worker::new(store, WorkerConfig::new("w").max_attempts(1));
/// let report = worker.drain::<Invert, _>("inverts", &()).await?;
/// let mut expected = DrainReport::default(); // new counters may be added
/// (expected.succeeded, expected.failed) = (2, 1);
/// assert_eq!(report, expected);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainReport {
    /// Attempts that succeeded.
    pub succeeded: u64,
    /// Attempts that failed and will be retried after a backoff.
    pub retried: u64,
    /// Tasks kept as failed: out of attempts, or their record does not decode.
    pub failed: u64,
    /// Attempts cut short because the claim was lost (the lease ran out and
    /// another worker took the task): that worker runs it.
    pub lost: u64,
    /// Tasks given back unfinished when the worker was stopped.
    pub released: u64,
    /// Storage errors met on the way; each task concerned was tried again.
    pub errors: u64,
    /// Whether the drain ended because the worker was stopped.
    pub stopped: bool,
}

/// What the attempts of one drain add up to so far, shared by the attempts
/// running at once.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) succeeded: AtomicU64,
    pub(super) retried: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) lost: AtomicU64,
    pub(super) released: AtomicU64,
    pub(super) errors: AtomicU64,
    /// Errors since the last task that finished one way or another.
    errors_in_a_row: AtomicU64,
    last_error: std::sync::Mutex<Option<crate::error::Error>>,
}

impl Counters {
    pub(super) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn error(&self, error: crate::error::Error) {
        Self::add(&self.errors);
        // A store that cannot tell the time refuses claims until it can
        // again: the worker waits for that rather than giving up.
        if !matches!(error, crate::error::Error::ClockSkew { .. }) {
            Self::add(&self.errors_in_a_row);
        }
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error);
        }
    }

    pub(super) fn progress(&self) {
        self.errors_in_a_row.store(0, Ordering::Relaxed);
    }

    /// The error to give up with: the last one, once `limit` storage errors
    /// came in a row with no task finished in between.
    pub(super) fn too_many_errors(&self, limit: u32) -> Option<crate::error::Error> {
        if self.errors_in_a_row.load(Ordering::Relaxed) < u64::from(limit) {
            return None;
        }
        self.last_error.lock().ok().and_then(|mut e| e.take())
    }

    /// What the drain did so far, as it returns it.
    pub(super) fn report(&self, stopped: bool) -> DrainReport {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DrainReport {
            succeeded: read(&self.succeeded),
            retried: read(&self.retried),
            failed: read(&self.failed),
            lost: read(&self.lost),
            released: read(&self.released),
            errors: read(&self.errors),
            stopped,
        }
    }
}
