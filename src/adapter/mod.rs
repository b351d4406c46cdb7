//! The storage adapter trait, the one seam between taskrec and a backend,
//! and everything a backend's author uses, in one place.
//!
//! A backend implements [`StorageAdapter`]: four methods required (store,
//! find, delete, page), the rest provided on top of them and overridden
//! where the backend does better. This module gathers the types those
//! methods take and return, and re-exports [`async_trait`](macro@async_trait), which the trait
//! is written with; a backend checks itself with the conformance suite
//! (`taskrec::conformance`, cargo feature `conformance`).
//!
//! ```
//! use taskrec::adapter::{async_trait, Page, PageToken, Result, StorageAdapter, TaskRecord};
//!
//! /// A backend that forwards to the memory adapter.
//! #[derive(Debug, Default)]
//! struct Forwarding(taskrec::MemoryAdapter);
//!
//! #[async_trait]
//! impl StorageAdapter for Forwarding {
//!     async fn store(&self, record: &TaskRecord) -> Result<()> {
//!         self.0.store(record).await
//!     }
//!     async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
//!         self.0.find(task_list, id).await
//!     }
//!     async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
//!         self.0.delete(task_list, id).await
//!     }
//!     async fn page(&self, task_list: &str, token: Option<&PageToken>, size: usize) -> Result<Page> {
//!         self.0.page(task_list, token, size).await
//!     }
//! }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<()> {
//! let adapter = Forwarding::default();
//! adapter.store(&TaskRecord::new("l", "i", "T", "{}")?).await?;
//! // A row read back from a backend is built unchecked: another tool may
//! // have written what taskrec would refuse.
//! let now = chrono::Utc::now();
//! let foreign = TaskRecord::from_storage("l", "", "T", "{}", now, now);
//! assert_eq!(foreign.id(), "");
//! # Ok(()) }
//! ```

mod capabilities;
mod forward;
pub(crate) mod history;
pub(crate) mod inspect;
mod page;
pub(crate) mod ready;

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, TryStreamExt};

pub use async_trait::async_trait;

pub use crate::error::{BoxError, Error, Result};
pub use crate::history::{HistoryRetention, StoredStateChange};
pub use crate::record::TaskRecord;
pub use crate::state::{
    StateToken, StatusCounts, StoredState, TaskState, TaskStatus, INITIAL_STATE_JSON,
};
pub(crate) use capabilities::lacks_conditional_writes;
pub use capabilities::Capabilities;
pub use inspect::StoredStatusPage;
pub use page::{walk_pages, Page, PageToken, DEFAULT_PAGE_SIZE};
pub use ready::ReadyTasks;

/// The most list names [`StorageAdapter::task_lists`] answers: an overview
/// of more lists than this is not an overview.
pub const MAX_DISCOVERED_LISTS: usize = 10_000;

/// A storage backend for task records.
///
/// Four methods are required; the listing stream and the count have
/// defaults built on [`page`](StorageAdapter::page) that a backend may
/// replace with something faster. Use adapters through
/// [`TaskStore`](crate::TaskStore), which validates keys and converts between
/// typed tasks and records.
///
/// # Methods
///
/// The trait is written with [`async_trait`](macro@async_trait), which keeps
/// it usable as `dyn StorageAdapter`; that is why the method list further
/// down shows each async method as a `fn` with lifetimes `'life0`, … and a
/// `Pin<Box<dyn Future<Output = …> + Send + 'async_trait>>`. Written in an
/// `#[async_trait] impl StorageAdapter for …` block, and called with
/// `.await`, they are these:
///
/// ```
/// # use std::time::Duration;
/// # use chrono::{DateTime, Utc};
/// # use futures::stream::{BoxStream, TryStreamExt};
/// # use taskrec::adapter::*;
/// # trait StorageAdapterAsWritten: std::fmt::Debug + Send + Sync {
/// // Required: the four a backend writes.
/// async fn store(&self, record: &TaskRecord) -> Result<()>; // insert or overwrite
/// async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>>;
/// async fn delete(&self, task_list: &str, id: &str) -> Result<()>; // Ok when absent
/// async fn page(&self, task_list: &str, token: Option<&PageToken>, page_size: usize)
///     -> Result<Page>;
///
/// // Optional: defaults on the four; override to do better.
/// fn name(&self) -> &'static str; // for errors and logs: the type's name
/// fn capabilities(&self) -> Capabilities; // timestamps kept, nothing more
/// async fn now(&self) -> Result<DateTime<Utc>>; // this process's clock
/// fn clock_reading(&self) -> Option<taskrec::ClockReading>; // None: nothing measured
/// fn all<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Result<TaskRecord>>; // pages
/// async fn count(&self, task_list: &str) -> Result<u64>; // walks `all`
/// async fn store_all(&self, records: &[TaskRecord]) -> Result<()>; // `store` each
/// async fn append_history(
///     &self, task_list: &str, id: &str, entry: &StoredStateChange, retention: &HistoryRetention,
/// ) -> Result<()>; // a task list of its own per task
/// async fn history(&self, task_list: &str, id: &str, retention: &HistoryRetention)
///     -> Result<Vec<StoredStateChange>>;
///
/// // Optional: the defaults answer `Error::Unsupported`; override with the capability.
/// async fn store_with_ttl(&self, record: &TaskRecord, ttl: Duration) -> Result<()>; // time_to_live
/// async fn load_state(&self, task_list: &str, id: &str)
///     -> Result<Option<StoredState>>; // conditional_writes
/// async fn swap_state(
///     &self, task_list: &str, id: &str, expected: &StateToken, new: Option<&str>,
/// ) -> Result<Option<StateToken>>; // conditional_writes
/// async fn store_scheduled(&self, record: &TaskRecord, not_before: DateTime<Utc>)
///     -> Result<()>; // conditional_writes, and written for it
/// async fn store_if_absent(&self, record: &TaskRecord) -> Result<bool>; // the same
///
/// // Optional: with `conditional_writes`, the defaults walk the list and its
/// // states; without, they answer `Error::Unsupported`.
/// async fn next_ready(
///     &self, task_list: &str, token: Option<&PageToken>, limit: usize, now: DateTime<Utc>,
/// ) -> Result<ReadyTasks>;
/// async fn stop_sweeping(&self, task_list: &str) -> Result<()>; // nothing to hand back
/// async fn count_by_status(&self, task_list: &str) -> Result<StatusCounts>;
/// async fn page_by_status(
///     &self, task_list: &str, status: TaskStatus, token: Option<&PageToken>, page_size: usize,
/// ) -> Result<StoredStatusPage>;
///
/// // Optional: pausing a list; the defaults answer `None` and `Error::Unsupported`.
/// async fn task_lists(&self) -> Result<Option<Vec<String>>>; // None: cannot tell
/// async fn pause_state(&self, task_list: &str) -> Result<Option<taskrec::ListPause>>;
/// async fn set_pause(&self, task_list: &str, pause: Option<&taskrec::ListPause>) -> Result<()>;
/// async fn kept_counts(&self, task_list: &str) -> Result<Option<taskrec::KeptCounts>>; // None
/// async fn keep_counts(&self, task_list: &str, counts: &taskrec::KeptCounts) -> Result<()>;
/// # }
/// ```
///
/// Every async method's future is `Send`; each method's own docs below say
/// what it does and what its default does.
///
/// # Contract
///
/// A backend author can hold their code against these rules; the
/// `conformance` feature's [`conformance`](crate::conformance) module checks
/// every one of them.
///
/// - **Keys.** Callers pass task lists and ids that are non-empty and at most
///   [`MAX_KEY_BYTES`](crate::MAX_KEY_BYTES) long. Any other text (quotes,
///   semicolons, NUL, non-ASCII) is data and is stored and returned verbatim.
/// - **store** inserts the record, or overwrites the record with the same
///   (task list, id). When it returns `Ok`, every later `find`, `page` and
///   `all` on this or any other handle to the same storage sees the write.
///   The record comes back field for field: type name, data text byte for
///   byte, timestamps to the millisecond.
/// - **find** returns the last record stored under (task list, id), or
///   `Ok(None)` when there is none. Absence is never an error.
/// - **delete** removes the record; deleting an absent record is `Ok(())`.
/// - **page** lists one task list. Starting from no token and following
///   `next` until it is `None` yields every record stored in that list
///   before the walk began and not deleted during it, exactly once, and no
///   record of another list. A page holds at most `page_size` records (a
///   `page_size` of 0 counts as 1) and may hold fewer, even none, before the
///   last. A token stays valid after the walk is interrupted, across handles,
///   so a caller can resume later.
/// - **Page tokens it never handed out** (to `page`, `next_ready`,
///   `page_by_status`): tokens are opaque bytes that any caller can forge
///   or mix up. A token the adapter cannot read as one of its own for that
///   method (garbage, another adapter's, a claim-next token given to
///   `page`) is [`Error::InvalidPageToken`]: never a panic, never another
///   error, never a page. A token that does read as one of the adapter's
///   positions (tokens carry no signature: the memory adapter's page token
///   is the last id listed) may be followed from that position, with the
///   method's rules otherwise intact: only the list asked for, no record
///   twice.
/// - **all** yields the same records as a page walk, lazily: memory use is
///   bounded by a page, not by the list's length.
/// - **count** equals the number of records `all` yields.
/// - **Failures** of the backend are [`Error::Storage`] with the adapter's
///   name and the driver's error as source; nothing panics.
/// - Every method may be called concurrently from many tasks.
/// - **Capabilities** ([`capabilities`](StorageAdapter::capabilities)): an
///   adapter that cannot keep the timestamps returns both as the time of the
///   last write; one without a time-to-live answers
///   [`Error::Unsupported`] to [`store_with_ttl`](StorageAdapter::store_with_ttl).
/// - **State** (with [`conditional_writes`](Capabilities::conditional_writes)):
///   every `store` also sets the record's state to
///   [`INITIAL_STATE_JSON`] under a fresh
///   [`StateToken`]; `load_state` returns the state and token, `None` when
///   the record is absent; `swap_state` replaces the state (or, given `None`,
///   deletes the record) only if the token is still the current one, as one
///   atomic step, and answers the new token, or `None` when the token was
///   stale or the record absent. Of many concurrent swaps from one token,
///   exactly one succeeds. A delete (`None`) may instead be fenced rather
///   than atomic, as the Cassandra adapter's is: it deletes only what was
///   written up to the token, so a store made after the token was issued
///   survives it whole, and it answers `None` when the token is no longer
///   current.
/// - **A delete through `swap_state`** (`new` is `None`) that applies
///   answers `Some(expected)`: the token it was given, now naming nothing
///   (there is no new state to name). The record, its state and its
///   listing entry are gone; a later swap with that token, to a state or to
///   `None`, answers `None` and creates nothing. `None` means nothing was
///   deleted: the token was stale, or the record absent.
/// - **State tokens it never handed out** for the record (made up with
///   [`StateToken::random`], another record's, one from before the record
///   was stored again or deleted) are stale tokens: `swap_state` answers
///   `Ok(None)` and changes nothing, neither the state nor its token.
/// - **Without conditional writes**, `load_state`, `swap_state`,
///   `next_ready`, `count_by_status` and `page_by_status` answer
///   [`Error::Unsupported`] whose `operation` names the capability: the
///   provided defaults answer `Unsupported { adapter: self.name(), operation:
///   "conditional writes (Capabilities::conditional_writes), which task
///   state, claims and workers need" }`.
/// - **Scheduled tasks** (with `conditional_writes`): `store_scheduled`
///   stores as `store` does, with the state of
///   [`TaskState::scheduled`](crate::TaskState::scheduled) (pending, never
///   tried, `not_before` its time), in one write; the Ready tasks rule then
///   keeps it from sweeps before its time.
/// - **Ready tasks** (with `conditional_writes`): a sweep of `next_ready`
///   at a time `now` hands out only tasks claimable at `now` (pending and
///   past its `not_before`, or claimed with `lease_until` passed), with
///   their current tokens, at most `limit` per step: the first sweep of a
///   list all of them, a later one at least those that opened up since the
///   previous one began; the earliest `next_open` of its steps is no later
///   than the earliest time a held or waiting task opens, and `None` only
///   when the list holds no open task.
/// - **History**: `append_history` then `history` of the same (task list,
///   id) returns the entries appended, oldest first, state JSON verbatim,
///   at most the retention's last [`kept`](HistoryRetention::kept); another
///   task's history is never mixed in, and no listing or count of the task
///   list sees history. The provided defaults meet this on top of the four
///   required methods.
///
/// # What claims and a `Worker` need
///
/// [`capabilities`](StorageAdapter::capabilities) answering
/// [`conditional_writes`](Capabilities::conditional_writes) `true`, and with
/// it the **State** rules above kept by [`load_state`](StorageAdapter::load_state)
/// and [`swap_state`](StorageAdapter::swap_state): those two are what an
/// adapter writes to get the capability. On top of them a
/// [`Worker`](crate::Worker) finds work with
/// [`next_ready`](StorageAdapter::next_ready) (provided: it walks the list
/// with `page` and `load_state`; override it to read only ready tasks),
/// claims, renews, releases, retries and fails with `swap_state`, completes
/// with `swap_state` to `None`, and, where the store keeps history, calls
/// `append_history`. [`TaskStore::claim`](crate::TaskStore::claim) reads with
/// `load_state` and claims with `swap_state`.
///
/// Scheduled and unique tasks ([`TaskStore::save_scheduled`](crate::TaskStore::save_scheduled),
/// [`TaskStore::save_unique`](crate::TaskStore::save_unique)) need two more
/// methods, [`store_scheduled`](StorageAdapter::store_scheduled) (a store
/// and a state change in one write: a worker could claim the task between
/// the two) and [`store_if_absent`](StorageAdapter::store_if_absent) (a
/// store conditional on the key being free: two callers could both find it
/// free), which no default can make of the others. Their defaults answer
/// `Unsupported` naming them; the conformance rules
/// `scheduled_tasks_wait_for_their_time` and `store_if_absent_stores_once`
/// fail until an adapter with the capability writes them.
///
/// Without the capability, `Worker::drain`, `Worker::serve` and
/// `TaskStore::claim` read nothing and answer [`Error::Unsupported`], which
/// shows as
///
/// ```text
/// the <name> adapter does not support conditional writes (Capabilities::conditional_writes), which task state, claims and workers need
/// ```
///
/// with the adapter's [`name`](StorageAdapter::name); the state methods'
/// defaults answer the same. They ask the capability, not the methods: an
/// adapter that implements `load_state` and `swap_state` but does not claim
/// the capability gets no claims.
///
/// # Implementing
///
/// ```
/// use async_trait::async_trait;
/// use taskrec::{PageToken, Result, TaskRecord};
/// use taskrec::adapter::{Page, StorageAdapter};
///
/// /// Forwards to an inner adapter, counting writes.
/// #[derive(Debug, Default)]
/// struct Counting {
///     inner: taskrec::MemoryAdapter,
///     writes: std::sync::atomic::AtomicU64,
/// }
///
/// #[async_trait]
/// impl StorageAdapter for Counting {
///     async fn store(&self, record: &TaskRecord) -> Result<()> {
///         self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         self.inner.store(record).await
///     }
///     async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
///         self.inner.find(task_list, id).await
///     }
///     async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
///         self.inner.delete(task_list, id).await
///     }
///     async fn page(&self, task_list: &str, token: Option<&PageToken>, page_size: usize) -> Result<Page> {
///         self.inner.page(task_list, token, page_size).await
///     }
/// }
/// ```
#[async_trait]
pub trait StorageAdapter: fmt::Debug + Send + Sync {
    /// A short name for errors and logs, such as `"memory"` or `"cassandra"`.
    ///
    /// Optional: the default is the type's name (`std::any::type_name`); a
    /// backend overrides it with something short.
    fn name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }

    /// What this adapter can do beyond the required contract.
    ///
    /// Optional: the default is [`Capabilities::new`], timestamps kept and
    /// nothing more.
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
    }

    /// The time by which this adapter's tasks are placed and judged: what
    /// [`TaskStore`](crate::TaskStore) and [`Worker`](crate::Worker) read
    /// for a save's `updated_at`, a claim's lease end, a retry's backoff, a
    /// history entry, and the `now` they hand to [`next_ready`](Self::next_ready).
    /// Every process sharing a backend must read the same clock here, or a
    /// process whose clock is off writes times the others have passed (or
    /// not reached): see [`clock`](crate::clock).
    ///
    /// Optional: the default is this process's clock (`Utc::now()`), right
    /// for a backend that lives in one process (the memory adapter). A
    /// backend shared by processes on several hosts should answer with the
    /// backend's own time (the Cassandra adapter measures the cluster's),
    /// and answer [`Error::ClockSkew`] when it cannot tell it.
    async fn now(&self) -> Result<DateTime<Utc>> {
        Ok(Utc::now())
    }

    /// What the adapter last measured of this process's clock against the
    /// backend's, for warnings and diagnostics (a worker reports an offset
    /// past the adapter's threshold as
    /// [`WorkerEvent::ClockOffset`](crate::WorkerEvent::ClockOffset)).
    ///
    /// Optional: the default, `None`, says the adapter keeps time by this
    /// process's clock and measures nothing.
    fn clock_reading(&self) -> Option<crate::ClockReading> {
        None
    }

    /// Inserts or overwrites the record under its (task list, id).
    ///
    /// Required.
    async fn store(&self, record: &TaskRecord) -> Result<()>;

    /// Stores every record, as [`store`](Self::store) would one after
    /// another: `Ok(())` only once each one is stored. After an error some
    /// may be stored and some not; storing them all again is safe. A key
    /// given twice ends up holding the later of its records.
    ///
    /// Optional: the default calls `store` for each record in turn. An
    /// adapter that can write many records in fewer requests (batches of
    /// one partition, one transaction) overrides it;
    /// [`TaskStore::save_all`](crate::TaskStore::save_all) hands it groups
    /// of up to [`SAVE_ALL_GROUP`](crate::SAVE_ALL_GROUP) records.
    async fn store_all(&self, records: &[TaskRecord]) -> Result<()> {
        for record in records {
            self.store(record).await?;
        }
        Ok(())
    }

    /// The record under (task list, id), or `None`.
    ///
    /// Required.
    async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>>;

    /// Removes the record under (task list, id); a no-op when absent.
    ///
    /// Required.
    async fn delete(&self, task_list: &str, id: &str) -> Result<()>;

    /// One page of a task list's records, from `token` (the start when
    /// `None`). A token it cannot read as one of its own is
    /// [`Error::InvalidPageToken`].
    ///
    /// Required.
    async fn page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page>;

    /// Stores the record so that it expires by itself after `ttl`.
    ///
    /// Optional: the default answers [`Error::Unsupported`].
    async fn store_with_ttl(&self, record: &TaskRecord, ttl: Duration) -> Result<()> {
        let _ = (record, ttl);
        Err(Error::Unsupported {
            adapter: self.name(),
            operation: "a time-to-live",
        })
    }

    /// Inserts or overwrites the record under its (task list, id), as
    /// [`store`](Self::store) does, with the state of a task that no worker
    /// may claim before `not_before` ([`TaskState::scheduled`](crate::TaskState::scheduled)),
    /// in one write: no sweep of [`next_ready`](Self::next_ready) may hand
    /// it out at a `now` before `not_before`, and every sweep at or after it
    /// does, as for any task that became claimable then.
    ///
    /// Optional, for adapters with [`Capabilities::conditional_writes`]:
    /// the default answers [`Error::Unsupported`], naming the capability
    /// when the adapter lacks it and this method when it has it (a
    /// [`store`](Self::store) followed by a state change would leave a
    /// moment in which a worker could run the task early, so there is no
    /// default made of the two). The memory and Cassandra adapters
    /// override it; the conformance rule `scheduled_tasks_wait_for_their_time`
    /// checks it.
    async fn store_scheduled(&self, record: &TaskRecord, not_before: DateTime<Utc>) -> Result<()> {
        let _ = (record, not_before);
        if !self.capabilities().conditional_writes() {
            return Err(lacks_conditional_writes(self.name()));
        }
        Err(Error::Unsupported {
            adapter: self.name(),
            operation: "scheduled saves (StorageAdapter::store_scheduled)",
        })
    }

    /// Stores the record, as [`store`](Self::store) does, only if no record
    /// is stored under its (task list, id), atomically: of calls racing on
    /// one key, exactly one answers `true` and stores its record; the others
    /// answer `false` and change nothing (the stored record and its state
    /// stay as they are).
    ///
    /// Optional, for adapters with [`Capabilities::conditional_writes`]:
    /// the default answers [`Error::Unsupported`], naming the capability
    /// when the adapter lacks it and this method when it has it (a `find`
    /// then a `store` would let two racing callers both store). The memory
    /// and Cassandra adapters override it; the conformance rule
    /// `store_if_absent_stores_once` checks it.
    async fn store_if_absent(&self, record: &TaskRecord) -> Result<bool> {
        let _ = record;
        if !self.capabilities().conditional_writes() {
            return Err(lacks_conditional_writes(self.name()));
        }
        Err(Error::Unsupported {
            adapter: self.name(),
            operation: "saves of new tasks only (StorageAdapter::store_if_absent)",
        })
    }

    /// The record's processing state and its token, or `None` when the
    /// record is absent.
    ///
    /// Optional: see [`Capabilities::conditional_writes`]; without it the
    /// default answers [`Error::Unsupported`] naming the capability.
    async fn load_state(&self, task_list: &str, id: &str) -> Result<Option<StoredState>> {
        let _ = (task_list, id);
        Err(lacks_conditional_writes(self.name()))
    }

    /// Replaces the record's state with `new` (or deletes the record when
    /// `new` is `None`) if its token is still `expected`, atomically.
    /// Answers the new token; for a delete, `expected` itself; `None` when
    /// nothing was written or deleted (a stale token, one never handed out
    /// for this record, an absent record).
    ///
    /// Optional: see [`Capabilities::conditional_writes`]; without it the
    /// default answers [`Error::Unsupported`] naming the capability.
    async fn swap_state(
        &self,
        task_list: &str,
        id: &str,
        expected: &StateToken,
        new: Option<&str>,
    ) -> Result<Option<StateToken>> {
        let _ = (task_list, id, expected, new);
        Err(lacks_conditional_writes(self.name()))
    }

    /// One step of a sweep over the tasks of `task_list` that a worker
    /// may claim at `now`: at most `limit` of them (0 counts as 1), with
    /// their states and tokens, and where the sweep goes on. A sweep starts
    /// with `token` `None` and follows [`ReadyTasks::next`] until it is
    /// `None`. The first sweep of a list by an adapter hands out every task
    /// claimable at `now`; a later one hands out every task that became
    /// claimable since the previous sweep began, and may or may not hand
    /// out again a task handed out before that is still claimable (the
    /// memory adapter and the default do; the Cassandra adapter does at
    /// least every [`LOW_EVERY`](crate::cassandra::ready::LOW_EVERY)), or
    /// one task twice. `now` is the time readiness is judged at: a
    /// [`Worker`](crate::Worker) passes the adapter's own ([`now`](Self::now)),
    /// the clock leases and backoffs were written by; a later one shows
    /// what will have opened by then (an adapter may count a task written
    /// after `now` as not yet ready).
    /// See [`ReadyTasks`] for what a step returns.
    ///
    /// Optional (with [`conditional_writes`](Capabilities::conditional_writes)):
    /// the default walks the list's pages and reads every task's state, so
    /// a sweep reads the whole list, tasks held by other workers included.
    /// An adapter that can find ready tasks directly overrides it, so that
    /// a step reads in proportion to what it hands out; the memory adapter
    /// does. A token from another adapter or method is
    /// [`Error::InvalidPageToken`]. Without the capability it answers
    /// [`Error::Unsupported`] naming it.
    async fn next_ready(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        if !self.capabilities().conditional_writes() {
            return Err(lacks_conditional_writes(self.name()));
        }
        let (ready, _) =
            crate::adapter::ready::ready_by_walking(self, task_list, token, limit, now).await?;
        Ok(ready)
    }

    /// The caller stops sweeping `task_list` with [`next_ready`](Self::next_ready)
    /// for now: a [`Worker`](crate::Worker) says so for each of its lists when
    /// it stops. An adapter that splits a list between the processes
    /// sweeping it hands this process's share back, for the others to take
    /// at once instead of when a lease runs out (the Cassandra adapter with
    /// [`owned_parts`](crate::cassandra::CassandraConfig::owned_parts));
    /// a later sweep takes a share again.
    ///
    /// Optional: the default has nothing to hand back and does nothing.
    async fn stop_sweeping(&self, task_list: &str) -> Result<()> {
        let _ = task_list;
        Ok(())
    }

    /// The names of the lists that hold tasks (or held them, or are
    /// paused), sorted, at most [`MAX_DISCOVERED_LISTS`]: for an overview
    /// such as the dashboard's. `None` when the adapter cannot tell.
    ///
    /// Optional: the default answers `None`. The memory adapter answers
    /// the lists holding a task or paused; the Cassandra adapter the lists
    /// that ever wrote an entry (or task_rb's table's partitions) and the
    /// paused ones, in one read of partition keys, not of tasks.
    async fn task_lists(&self) -> Result<Option<Vec<String>>> {
        Ok(None)
    }

    /// Whether `task_list` is paused ([`ListPause`](crate::ListPause)):
    /// who paused it and when, or `None` while workers may take its tasks.
    /// A [`Worker`](crate::Worker) asks at most a few times per idle poll.
    ///
    /// Optional: the default answers `None`, as nothing can pause a list
    /// on an adapter that cannot store the flag.
    async fn pause_state(&self, task_list: &str) -> Result<Option<crate::ListPause>> {
        let _ = task_list;
        Ok(None)
    }

    /// Pauses `task_list` (`Some`), or resumes it (`None`); both are
    /// idempotent, and the last call wins.
    ///
    /// Optional: the default answers [`Error::Unsupported`]. An adapter that
    /// overrides it overrides [`pause_state`](Self::pause_state) too.
    async fn set_pause(&self, task_list: &str, pause: Option<&crate::ListPause>) -> Result<()> {
        let _ = (task_list, pause);
        Err(Error::Unsupported {
            adapter: self.name(),
            operation: "pausing a list",
        })
    }

    /// The counts of `task_list` as last kept by
    /// [`keep_counts`](Self::keep_counts) ([`KeptCounts`](crate::KeptCounts)):
    /// one read, whatever the list holds, with the mark of a count under
    /// way if any (alone, as a [`KeptCounts::recount_mark`](crate::KeptCounts::recount_mark),
    /// before the first figures). `None` when nothing is kept.
    ///
    /// Optional: the default answers `None`, and readers count the list
    /// instead ([`count_by_status`](Self::count_by_status)).
    async fn kept_counts(&self, task_list: &str) -> Result<Option<crate::KeptCounts>> {
        let _ = task_list;
        Ok(None)
    }

    /// Keeps `counts` as the counts of `task_list`:
    ///
    /// - `counts` with [`recount_since`](crate::KeptCounts::recount_since)
    ///   set is a mark that a count began, and nothing more: keep that time
    ///   (a later mark replaces an earlier one) and leave the figures kept
    ///   as they are. Read back before any figures are kept, a mark is a
    ///   [`KeptCounts::recount_mark`](crate::KeptCounts::recount_mark).
    /// - figures replace the kept ones only when their count began later
    ///   ([`counted_at`](crate::KeptCounts::counted_at)): of two counts
    ///   running at once, the one that began last wins, whichever ends
    ///   last; and they clear a mark made before they ended
    ///   ([`counted_until`](crate::KeptCounts::counted_until)).
    ///
    /// Optional: the default answers [`Error::Unsupported`]. An adapter that
    /// overrides it overrides [`kept_counts`](Self::kept_counts) too.
    async fn keep_counts(&self, task_list: &str, counts: &crate::KeptCounts) -> Result<()> {
        let _ = (task_list, counts);
        Err(Error::Unsupported {
            adapter: self.name(),
            operation: "keeping a list's counts",
        })
    }

    /// How many tasks of `task_list` are in each status
    /// ([`StatusCounts`]).
    ///
    /// Optional (with [`conditional_writes`](Capabilities::conditional_writes)):
    /// the default reads every record of the list and its state. Without the
    /// capability it answers [`Error::Unsupported`] naming it.
    async fn count_by_status(&self, task_list: &str) -> Result<crate::StatusCounts> {
        if !self.capabilities().conditional_writes() {
            return Err(lacks_conditional_writes(self.name()));
        }
        crate::adapter::inspect::count_by_walking(self, task_list).await
    }

    /// A page of the tasks of `task_list` whose status is `status`, each
    /// with its record and state, at most `page_size` (0 counts as 1); start
    /// with `token` `None` and follow [`StoredStatusPage::next`](StoredStatusPage::next)
    /// until it is `None`. Every task in that status when the listing starts
    /// and still in it when its page is read is listed once; a task whose
    /// status changes meanwhile may be listed or not.
    ///
    /// Optional (with [`conditional_writes`](Capabilities::conditional_writes)):
    /// the default pages through the list and reads every task's state, so
    /// a listing of a few failed tasks reads the whole list. An adapter that
    /// can find tasks of a status directly overrides it: the Cassandra
    /// adapter reads only failed tasks for [`TaskStatus::Failed`].
    /// A token from another adapter or method is [`Error::InvalidPageToken`]
    /// (or, from the same adapter's `page`, may resume a listing of another
    /// status). Without the capability it answers [`Error::Unsupported`] naming it.
    async fn page_by_status(
        &self,
        task_list: &str,
        status: crate::TaskStatus,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<StoredStatusPage> {
        if !self.capabilities().conditional_writes() {
            return Err(lacks_conditional_writes(self.name()));
        }
        crate::adapter::inspect::page_by_walking(self, task_list, status, token, page_size).await
    }

    /// Records one state change of the task (list, id), keeping what
    /// `retention` asks for: a read of the task's history returns at most
    /// its last [`kept`](HistoryRetention::kept) entries, none older than
    /// its [`time_to_live`](HistoryRetention::time_to_live).
    ///
    /// History is apart from the tasks: it outlives the task's record, and
    /// no `find`, `page`, `all` or `count` of the task's list ever sees it.
    ///
    /// Optional: the default keeps each task's history as records of a task
    /// list of its own (`taskrec-history-` and a hash of the key), stored
    /// with [`store`](Self::store), and drops the entries past the
    /// retention after each append (one read of that short list). An
    /// adapter with a better place (a table keyed by the task) overrides
    /// both this and [`history`](Self::history).
    async fn append_history(
        &self,
        task_list: &str,
        id: &str,
        entry: &StoredStateChange,
        retention: &HistoryRetention,
    ) -> Result<()> {
        history::append_in_task_list(self, task_list, id, entry, retention).await
    }

    /// The recorded state changes of the task (list, id) that `retention`
    /// keeps, oldest first; empty when there are none. Entries with the
    /// same time come in no particular order.
    ///
    /// Optional: see [`append_history`](Self::append_history).
    async fn history(
        &self,
        task_list: &str,
        id: &str,
        retention: &HistoryRetention,
    ) -> Result<Vec<StoredStateChange>> {
        history::read_in_task_list(self, task_list, id, retention).await
    }

    /// Every record of a task list, as a lazy stream walking the pages.
    ///
    /// Optional: the default is [`walk_pages`] with [`DEFAULT_PAGE_SIZE`].
    fn all<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Result<TaskRecord>> {
        walk_pages(self, task_list, DEFAULT_PAGE_SIZE)
    }

    /// How many records a task list holds.
    ///
    /// Optional: the default counts what [`all`](Self::all) yields.
    async fn count(&self, task_list: &str) -> Result<u64> {
        self.all(task_list)
            .try_fold(0u64, |n, _| async move { Ok(n + 1) })
            .await
    }
}
