//! The adapter conformance suite: plain async functions that check a
//! [`StorageAdapter`] against every rule of its contract, and a macro that
//! makes each rule a test of its own.
//!
//! Enabled by the `conformance` cargo feature (a backend adds
//! `taskrec = { version = "0.2", features = ["conformance"] }` to its
//! dev-dependencies). Failures panic with a message that names the broken
//! rule, as a test assertion does. Every check works in task lists of its
//! own, named `conformance-<check>-` and a random UUID, so the checks can
//! share one keyspace, directory or server with other data.
//!
//! # One test per rule
//!
//! [`conformance_tests!`](crate::conformance_tests) expands, where it is
//! called, to one `#[test]` function per rule, named after the rule
//! (`store_then_find`, `delete_is_idempotent`, …; the list is on the
//! macro), so `cargo test` reports each rule on its own line and a broken
//! one by name. Give it a constructor: anything that, called with no
//! arguments, returns a future of the adapter (an `async fn`, `|| async {
//! … }`, `async || …`). Each test calls it for a fresh adapter, so the
//! adapter need not be `Clone`, and may be built asynchronously (connect to
//! a server, create a schema). Call the macro once per module:
//!
//! ```
//! mod memory_adapter {
//!     taskrec::conformance_tests!(async || taskrec::MemoryAdapter::new());
//! }
//!
//! mod adapter_in_a_temporary_directory {
//!     # #[derive(Debug)] pub struct MyAdapter(taskrec::MemoryAdapter);
//!     # impl MyAdapter {
//!     #     pub async fn open(_dir: &std::path::Path) -> Self { MyAdapter(Default::default()) }
//!     # }
//!     # #[taskrec::adapter::async_trait]
//!     # impl taskrec::adapter::StorageAdapter for MyAdapter {
//!     #     fn capabilities(&self) -> taskrec::adapter::Capabilities { self.0.capabilities() }
//!     #     async fn store(&self, r: &taskrec::TaskRecord) -> taskrec::Result<()> { self.0.store(r).await }
//!     #     async fn find(&self, l: &str, i: &str) -> taskrec::Result<Option<taskrec::TaskRecord>> { self.0.find(l, i).await }
//!     #     async fn delete(&self, l: &str, i: &str) -> taskrec::Result<()> { self.0.delete(l, i).await }
//!     #     async fn page(&self, l: &str, t: Option<&taskrec::PageToken>, n: usize) -> taskrec::Result<taskrec::adapter::Page> { self.0.page(l, t, n).await }
//!     #     async fn load_state(&self, l: &str, i: &str) -> taskrec::Result<Option<taskrec::adapter::StoredState>> { self.0.load_state(l, i).await }
//!     #     async fn swap_state(&self, l: &str, i: &str, e: &taskrec::adapter::StateToken, n: Option<&str>) -> taskrec::Result<Option<taskrec::adapter::StateToken>> { self.0.swap_state(l, i, e, n).await }
//!     # }
//!     /// The adapter, and what must outlive it: the directory is removed
//!     /// when the test drops the pair.
//!     async fn adapter() -> (MyAdapter, tempfile::TempDir) {
//!         let dir = tempfile::tempdir().expect("a temporary directory");
//!         (MyAdapter::open(dir.path()).await, dir)
//!     }
//!
//!     taskrec::conformance_tests!(adapter);
//! }
//! # fn main() {}
//! ```
//!
//! The constructor returns anything [`UnderTest`]: the adapter itself
//! (`Box<dyn StorageAdapter>` and `Arc<dyn StorageAdapter>` too), or a pair
//! of the adapter and a guard kept alive for the test (a temporary
//! directory, a server handle). Each test runs on a tokio runtime of its
//! own, multi-threaded with two worker threads, that taskrec builds: the
//! backend's crate needs no tokio dependency or feature for it. The
//! constructor runs on that runtime, so an adapter tied to the runtime that
//! made it (a driver session) is made fresh there: do not hand every test
//! one adapter from a `static`.
//!
//! # Or all rules in one call
//!
//! [`run_all`] runs every check one after another on one adapter (on the
//! caller's runtime), and each `check_*` function runs one rule:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let adapter = taskrec::MemoryAdapter::new();
//! taskrec::conformance::run_all(&adapter).await;
//! # }
//! ```

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::adapter::{PageToken, StorageAdapter};
use crate::error::Error;
use crate::history::{HistoryRetention, StoredStateChange};
use crate::key::MAX_KEY_BYTES;
use crate::record::TaskRecord;
use crate::state::{StateToken, TaskState, TaskStatus, INITIAL_STATE_JSON};

mod expiry;
mod history;
mod listing;
mod pause;
mod ready;
mod records;
mod state;
mod status;
mod unique;

pub use expiry::*;
pub use history::*;
pub use listing::*;
pub use pause::*;
pub use ready::*;
pub use records::*;
pub use state::*;
pub use status::*;
pub use unique::*;

/// What a [`conformance_tests!`](crate::conformance_tests) constructor
/// returns: the adapter under test, or the adapter with a guard that must
/// live as long as it (dropped at the end of the test).
///
/// ```
/// use taskrec::conformance::UnderTest;
/// use taskrec::MemoryAdapter;
/// use taskrec::adapter::StorageAdapter;
/// let alone = MemoryAdapter::new();
/// let boxed: Box<dyn StorageAdapter> = Box::new(MemoryAdapter::new());
/// let with_guard = (MemoryAdapter::new(), "a temporary directory, say");
/// assert_eq!(alone.adapter().name(), "memory");
/// assert_eq!(boxed.adapter().name(), "memory");
/// assert_eq!(with_guard.adapter().name(), "memory");
/// ```
pub trait UnderTest {
    /// The adapter the checks run on.
    fn adapter(&self) -> &dyn StorageAdapter;
}

impl<A: StorageAdapter> UnderTest for A {
    fn adapter(&self) -> &dyn StorageAdapter {
        self
    }
}

impl<A: StorageAdapter, G> UnderTest for (A, G) {
    fn adapter(&self) -> &dyn StorageAdapter {
        &self.0
    }
}

/// The rules, in the order [`run_all`] checks them: each test name of
/// [`conformance_tests!`](crate::conformance_tests) and the check it runs.
/// One list, so that the macro and `run_all` never cover different rules:
/// it calls `callback! { [args] name => check, … }`.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_rules {
    ([$($callback:tt)*] [$($args:tt)*]) => {
        $($callback)*! {
            [$($args)*]
            store_then_find => check_store_and_find,
            find_absent_is_none => check_find_absent,
            store_overwrites => check_overwrite,
            store_all_stores_each_record => check_store_all,
            delete_is_idempotent => check_delete,
            lists_are_separate => check_lists_are_separate,
            all_yields_each_record_once => check_all,
            count_matches_the_records => check_count,
            pages_yield_each_record_once => check_paging,
            page_token_resumes_from_its_text => check_resume_from_token,
            foreign_page_token_is_invalid => check_invalid_token,
            keys_are_verbatim => check_keys_verbatim,
            data_is_verbatim => check_data_verbatim,
            timestamps_are_kept => check_timestamps,
            time_to_live_or_unsupported => check_time_to_live,
            state_swaps_only_with_the_current_token => check_state,
            swap_to_none_deletes_and_answers_the_token => check_state_delete,
            foreign_state_token_changes_nothing => check_foreign_state_token,
            racing_swaps_have_one_winner => check_state_race,
            next_ready_hands_out_claimable_tasks => check_next_ready,
            scheduled_tasks_wait_for_their_time => check_scheduled,
            store_if_absent_stores_once => check_store_if_absent,
            status_counts_and_pages => check_status_pages,
            history_per_task_oldest_first => check_history,
            concurrent_writes_lose_nothing => check_concurrent_writes,
            pause_is_kept_or_unsupported => check_pause,
            counts_are_kept_or_unsupported => check_kept_counts,
            task_lists_are_named_or_unknown => check_task_lists,
        }
    };
}

/// The test functions of [`conformance_tests!`](crate::conformance_tests).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    ([$make:expr] $($rule:ident => $check:ident,)*) => {
        $(
            #[test]
            fn $rule() {
                $crate::__private::conformance::run(async {
                    let under_test = ($make)().await;
                    $crate::conformance::$check(
                        $crate::conformance::UnderTest::adapter(&under_test),
                    )
                    .await;
                });
            }
        )*
    };
}

/// One test per rule of the [`StorageAdapter`](crate::adapter::StorageAdapter)
/// contract, for a backend's own tests (cargo feature `conformance`).
///
/// `conformance_tests!(constructor)` expands, in the module where it is
/// called, to one `#[test]` function per rule; each calls `constructor()`,
/// awaits it for a fresh adapter (anything
/// [`UnderTest`](crate::conformance::UnderTest): the adapter, or the adapter
/// and a guard), and runs that rule's check on it, on a multi-threaded
/// tokio runtime of its own that taskrec builds (two worker threads). The
/// constructor is an `async fn` path, `|| async { … }` or `async || …`. Call
/// it once per module, one module per adapter (the test names would clash).
/// More in [`conformance`](crate::conformance#one-test-per-rule).
///
/// ```
/// mod memory {
///     taskrec::conformance_tests!(async || taskrec::MemoryAdapter::new());
/// }
/// mod boxed {
///     use taskrec::adapter::StorageAdapter;
///     use taskrec::MemoryAdapter;
///     async fn adapter() -> Box<dyn StorageAdapter> {
///         Box::new(MemoryAdapter::new())
///     }
///     taskrec::conformance_tests!(adapter);
/// }
/// # fn main() {}
/// ```
///
/// The tests, named after their rules, in the order
/// [`run_all`](crate::conformance::run_all) checks them:
///
/// | test | check |
/// | --- | --- |
/// | `store_then_find` | [`check_store_and_find`](crate::conformance::check_store_and_find) |
/// | `find_absent_is_none` | [`check_find_absent`](crate::conformance::check_find_absent) |
/// | `store_overwrites` | [`check_overwrite`](crate::conformance::check_overwrite) |
/// | `store_all_stores_each_record` | [`check_store_all`](crate::conformance::check_store_all) |
/// | `delete_is_idempotent` | [`check_delete`](crate::conformance::check_delete) |
/// | `lists_are_separate` | [`check_lists_are_separate`](crate::conformance::check_lists_are_separate) |
/// | `all_yields_each_record_once` | [`check_all`](crate::conformance::check_all) |
/// | `count_matches_the_records` | [`check_count`](crate::conformance::check_count) |
/// | `pages_yield_each_record_once` | [`check_paging`](crate::conformance::check_paging) |
/// | `page_token_resumes_from_its_text` | [`check_resume_from_token`](crate::conformance::check_resume_from_token) |
/// | `foreign_page_token_is_invalid` | [`check_invalid_token`](crate::conformance::check_invalid_token) |
/// | `keys_are_verbatim` | [`check_keys_verbatim`](crate::conformance::check_keys_verbatim) |
/// | `data_is_verbatim` | [`check_data_verbatim`](crate::conformance::check_data_verbatim) |
/// | `timestamps_are_kept` | [`check_timestamps`](crate::conformance::check_timestamps) |
/// | `time_to_live_or_unsupported` | [`check_time_to_live`](crate::conformance::check_time_to_live) |
/// | `state_swaps_only_with_the_current_token` | [`check_state`](crate::conformance::check_state) |
/// | `swap_to_none_deletes_and_answers_the_token` | [`check_state_delete`](crate::conformance::check_state_delete) |
/// | `foreign_state_token_changes_nothing` | [`check_foreign_state_token`](crate::conformance::check_foreign_state_token) |
/// | `racing_swaps_have_one_winner` | [`check_state_race`](crate::conformance::check_state_race) |
/// | `next_ready_hands_out_claimable_tasks` | [`check_next_ready`](crate::conformance::check_next_ready) |
/// | `scheduled_tasks_wait_for_their_time` | [`check_scheduled`](crate::conformance::check_scheduled) |
/// | `store_if_absent_stores_once` | [`check_store_if_absent`](crate::conformance::check_store_if_absent) |
/// | `status_counts_and_pages` | [`check_status_pages`](crate::conformance::check_status_pages) |
/// | `history_per_task_oldest_first` | [`check_history`](crate::conformance::check_history) |
/// | `concurrent_writes_lose_nothing` | [`check_concurrent_writes`](crate::conformance::check_concurrent_writes) |
/// | `pause_is_kept_or_unsupported` | [`check_pause`](crate::conformance::check_pause) |
/// | `counts_are_kept_or_unsupported` | [`check_kept_counts`](crate::conformance::check_kept_counts) |
/// | `task_lists_are_named_or_unknown` | [`check_task_lists`](crate::conformance::check_task_lists) |
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr $(,)?) => {
        $crate::__conformance_rules! { [$crate::__conformance_test_fns] [$make] }
    };
}

/// `run_all`'s body: each check in turn.
macro_rules! run_in_order {
    ([$adapter:ident] $($rule:ident => $check:ident,)*) => {
        $($check($adapter).await;)*
    };
}

/// Runs every check, one after another, on one adapter: the same rules as
/// [`conformance_tests!`](crate::conformance_tests), in one call.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::run_all(&adapter).await; // returns only if every rule holds
/// # }
/// ```
pub async fn run_all(adapter: &dyn StorageAdapter) {
    crate::__conformance_rules! { [run_in_order] [adapter] }
}

fn unique_list(check: &str) -> String {
    format!("conformance-{check}-{}", uuid::Uuid::new_v4().simple())
}

fn record(task_list: &str, id: &str, data: &str) -> TaskRecord {
    TaskRecord::new(task_list, id, "ConformanceTask", data).expect("conformance keys are valid")
}

async fn store(adapter: &dyn StorageAdapter, record: &TaskRecord) {
    adapter
        .store(record)
        .await
        .unwrap_or_else(|e| panic!("store {} failed: {e}", record.key()));
}

async fn find(adapter: &dyn StorageAdapter, task_list: &str, id: &str) -> Option<TaskRecord> {
    adapter
        .find(task_list, id)
        .await
        .unwrap_or_else(|e| panic!("find {task_list}/{id} failed: {e}"))
}

/// Finds `expected`'s key and checks every field came back as stored (the
/// timestamps only where the adapter keeps them).
async fn assert_found_as_stored(adapter: &dyn StorageAdapter, expected: &TaskRecord, what: &str) {
    let found = find(adapter, expected.task_list(), expected.id())
        .await
        .unwrap_or_else(|| panic!("{what}: {} not found", expected.key()));
    let fields = |r: &TaskRecord| {
        (
            r.task_list().to_owned(),
            r.id().to_owned(),
            r.type_name().to_owned(),
            r.data().to_owned(),
        )
    };
    assert_eq!(fields(&found), fields(expected), "{what}");
    if adapter.capabilities().keeps_timestamps() {
        assert_eq!(
            (found.created_at(), found.updated_at()),
            (expected.created_at(), expected.updated_at()),
            "{what}: timestamps"
        );
    }
}

async fn ids_of_all(adapter: &dyn StorageAdapter, task_list: &str) -> Vec<String> {
    adapter
        .all(task_list)
        .map_ok(|r| r.id().to_owned())
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("all({task_list}) failed: {e}"))
}

async fn store_many(adapter: &dyn StorageAdapter, task_list: &str, n: usize) -> BTreeSet<String> {
    let ids: BTreeSet<String> = (0..n).map(|i| format!("task-{i:05}")).collect();
    stream::iter(&ids)
        .for_each_concurrent(32, |id| async move {
            store(adapter, &record(task_list, id, r#"{"n":1}"#)).await;
        })
        .await;
    ids
}

/// Without conditional writes, a state method answers
/// [`Error::Unsupported`] naming the capability it lacks.
#[track_caller]
fn assert_lacks_conditional_writes<T: std::fmt::Debug>(what: &str, outcome: crate::Result<T>) {
    match outcome {
        Err(Error::Unsupported { operation, .. })
            if operation.contains("Capabilities::conditional_writes") => {}
        other => panic!(
            "{what} without conditional writes must be Unsupported naming \
             `Capabilities::conditional_writes`, got {other:?}"
        ),
    }
}

fn claimed_state(owner: &str) -> String {
    let mut state = TaskState::pending();
    state.status = TaskStatus::Claimed;
    state.owner = Some(owner.to_owned());
    state.attempts = 1;
    state.to_json().expect("a state encodes")
}
