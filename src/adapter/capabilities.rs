//! What an adapter can do beyond the four required methods, and the error
//! an adapter without conditional writes answers with.

use crate::error::Error;

/// What an adapter can do beyond the required contract. The conformance
/// suite checks each capability an adapter claims, and checks that it
/// refuses cleanly what it does not claim.
///
/// ```
/// let caps = taskrec::adapter::Capabilities::new().with_time_to_live(true);
/// assert!(caps.keeps_timestamps() && caps.time_to_live());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    keeps_timestamps: bool,
    time_to_live: bool,
    conditional_writes: bool,
}

impl Capabilities {
    /// What a plain adapter has: timestamps kept, no time-to-live, no
    /// conditional writes.
    ///
    /// ```
    /// let caps = taskrec::adapter::Capabilities::new();
    /// assert!(caps.keeps_timestamps());
    /// assert!(!caps.time_to_live() && !caps.conditional_writes());
    /// assert_eq!(caps, taskrec::adapter::Capabilities::default());
    /// ```
    pub const fn new() -> Self {
        Capabilities {
            keeps_timestamps: true,
            time_to_live: false,
            conditional_writes: false,
        }
    }

    /// Whether `created_at` and `updated_at` come back as stored. Without it,
    /// both come back as the time the record was last written.
    ///
    /// ```
    /// use taskrec::MemoryAdapter;
    /// use taskrec::adapter::StorageAdapter;
    /// assert!(MemoryAdapter::new().capabilities().keeps_timestamps());
    /// ```
    pub const fn keeps_timestamps(&self) -> bool {
        self.keeps_timestamps
    }

    /// Whether [`StorageAdapter::store_with_ttl`](crate::adapter::StorageAdapter::store_with_ttl) is supported.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use std::time::Duration;
    /// use taskrec::{Error, MemoryAdapter, TaskRecord};
    /// use taskrec::adapter::StorageAdapter;
    /// let adapter = MemoryAdapter::new();
    /// assert!(!adapter.capabilities().time_to_live());
    /// let record = TaskRecord::new("l", "i", "T", "{}")?;
    /// let stored = adapter.store_with_ttl(&record, Duration::from_secs(60)).await;
    /// assert!(matches!(stored, Err(Error::Unsupported { .. })));
    /// # Ok(()) }
    /// ```
    pub const fn time_to_live(&self) -> bool {
        self.time_to_live
    }

    /// Whether the adapter keeps a task's [state](crate::TaskState) and
    /// changes it only conditionally ([`StorageAdapter::load_state`](crate::adapter::StorageAdapter::load_state),
    /// [`StorageAdapter::swap_state`](crate::adapter::StorageAdapter::swap_state)): what claims and workers need
    /// ([`StorageAdapter`'s docs](crate::adapter::StorageAdapter#what-claims-and-a-worker-need)
    /// list the methods). Without it, a claim, a worker and every state
    /// method answer [`Error::Unsupported`] naming this capability.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::{MemoryAdapter, TaskRecord};
    /// use taskrec::adapter::{StorageAdapter, INITIAL_STATE_JSON};
    /// let adapter = MemoryAdapter::new();
    /// assert!(adapter.capabilities().conditional_writes());
    /// adapter.store(&TaskRecord::new("l", "i", "T", "{}")?).await?;
    /// assert_eq!(adapter.load_state("l", "i").await?.unwrap().json, INITIAL_STATE_JSON);
    /// # Ok(()) }
    /// ```
    pub const fn conditional_writes(&self) -> bool {
        self.conditional_writes
    }

    /// Sets [`conditional_writes`](Self::conditional_writes).
    ///
    /// ```
    /// use taskrec::adapter::Capabilities;
    /// const CAPS: Capabilities = Capabilities::new().with_conditional_writes(true);
    /// assert!(CAPS.conditional_writes());
    /// assert!(CAPS.keeps_timestamps() && !CAPS.time_to_live()); // the rest as `new`
    /// ```
    pub const fn with_conditional_writes(mut self, yes: bool) -> Self {
        self.conditional_writes = yes;
        self
    }

    /// Sets [`keeps_timestamps`](Self::keeps_timestamps).
    ///
    /// ```
    /// // An adapter whose table has no timestamp columns:
    /// let caps = taskrec::adapter::Capabilities::new().with_keeps_timestamps(false);
    /// assert!(!caps.keeps_timestamps());
    /// ```
    pub const fn with_keeps_timestamps(mut self, yes: bool) -> Self {
        self.keeps_timestamps = yes;
        self
    }

    /// Sets [`time_to_live`](Self::time_to_live).
    ///
    /// ```
    /// let caps = taskrec::adapter::Capabilities::new().with_time_to_live(true);
    /// assert!(caps.time_to_live());
    /// assert!(!caps.conditional_writes());
    /// ```
    pub const fn with_time_to_live(mut self, yes: bool) -> Self {
        self.time_to_live = yes;
        self
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::new()
    }
}

/// The operation an [`Error::Unsupported`] names when an adapter without
/// [`conditional_writes`](Capabilities::conditional_writes) is asked for
/// task state, a claim or a worker.
pub(crate) const NO_CONDITIONAL_WRITES: &str =
    "conditional writes (Capabilities::conditional_writes), which task state, claims and workers need";

/// The error of a state method, a claim or a worker on an adapter without
/// [`conditional_writes`](Capabilities::conditional_writes).
pub(crate) fn lacks_conditional_writes(adapter: &'static str) -> Error {
    Error::Unsupported {
        adapter,
        operation: NO_CONDITIONAL_WRITES,
    }
}
