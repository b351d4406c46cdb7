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
//!     # impl taskrec::StorageAdapter for MyAdapter {
//!     #     fn capabilities(&self) -> taskrec::Capabilities { self.0.capabilities() }
//!     #     async fn store(&self, r: &taskrec::TaskRecord) -> taskrec::Result<()> { self.0.store(r).await }
//!     #     async fn find(&self, l: &str, i: &str) -> taskrec::Result<Option<taskrec::TaskRecord>> { self.0.find(l, i).await }
//!     #     async fn delete(&self, l: &str, i: &str) -> taskrec::Result<()> { self.0.delete(l, i).await }
//!     #     async fn page(&self, l: &str, t: Option<&taskrec::PageToken>, n: usize) -> taskrec::Result<taskrec::Page> { self.0.page(l, t, n).await }
//!     #     async fn load_state(&self, l: &str, i: &str) -> taskrec::Result<Option<taskrec::StoredState>> { self.0.load_state(l, i).await }
//!     #     async fn swap_state(&self, l: &str, i: &str, e: &taskrec::StateToken, n: Option<&str>) -> taskrec::Result<Option<taskrec::StateToken>> { self.0.swap_state(l, i, e, n).await }
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
use crate::history::{HistoryEntry, HistoryRetention};
use crate::key::MAX_KEY_BYTES;
use crate::record::TaskRecord;
use crate::state::{StateToken, TaskState, TaskStatus, INITIAL_STATE_JSON};

/// What a [`conformance_tests!`](crate::conformance_tests) constructor
/// returns: the adapter under test, or the adapter with a guard that must
/// live as long as it (dropped at the end of the test).
///
/// ```
/// use taskrec::conformance::UnderTest;
/// use taskrec::{MemoryAdapter, StorageAdapter};
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

/// One test per rule of the [`StorageAdapter`](crate::StorageAdapter)
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
///     use taskrec::{MemoryAdapter, StorageAdapter};
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

/// A stored record is found with every field as it was stored.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_store_and_find(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_store_and_find(adapter: &dyn StorageAdapter) {
    let list = unique_list("store-find");
    let stored = record(&list, "a", r#"{"filename":"file1.txt","retries":2}"#);
    store(adapter, &stored).await;
    assert_found_as_stored(adapter, &stored, "find returns the record as stored").await;
}

/// Finding what was never stored is `Ok(None)`, in a known and an unknown list.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_find_absent(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_find_absent(adapter: &dyn StorageAdapter) {
    let list = unique_list("absent");
    assert_eq!(
        find(adapter, &list, "nothing").await,
        None,
        "absent in an unknown list"
    );
    store(adapter, &record(&list, "present", "{}")).await;
    assert_eq!(
        find(adapter, &list, "nothing").await,
        None,
        "absent in a known list"
    );
}

/// Storing under the same key again replaces the record, type included.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_overwrite(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_overwrite(adapter: &dyn StorageAdapter) {
    let list = unique_list("overwrite");
    store(adapter, &record(&list, "a", r#"{"v":1}"#)).await;
    let second = TaskRecord::new(&list, "a", "OtherType", r#"{"v":2}"#).unwrap();
    store(adapter, &second).await;
    assert_found_as_stored(adapter, &second, "the second store wins").await;
    assert_eq!(
        ids_of_all(adapter, &list).await,
        ["a"],
        "one record remains"
    );
}

/// `store_all` stores every record as `store` would: each is found as
/// stored, listed once, overwrites what was there (state included, where
/// the adapter keeps state), and of a key given twice the later record wins.
/// Storing nothing is a no-op.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_store_all(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_store_all(adapter: &dyn StorageAdapter) {
    let (one, two) = (unique_list("store-all"), unique_list("store-all"));
    adapter
        .store_all(&[])
        .await
        .unwrap_or_else(|e| panic!("store_all of no records failed: {e}"));

    // One record there before, claimed where the adapter keeps state.
    let before = record(&one, "task-00000", r#"{"v":0}"#);
    store(adapter, &before).await;
    let states = adapter.capabilities().conditional_writes();
    if states {
        let token = adapter
            .load_state(&one, "task-00000")
            .await
            .unwrap_or_else(|e| panic!("load_state: {e}"))
            .expect("a stored record has a state")
            .token;
        let claimed = claimed_state("w");
        adapter
            .swap_state(&one, "task-00000", &token, Some(&claimed))
            .await
            .unwrap_or_else(|e| panic!("swap_state: {e}"))
            .expect("the claim lands");
    }

    // 250 records over two lists, interleaved; the first id comes twice.
    let mut records: Vec<TaskRecord> = (0..250)
        .map(|i| {
            let list = if i % 2 == 0 { &one } else { &two };
            record(list, &format!("task-{i:05}"), &format!(r#"{{"v":{i}}}"#))
        })
        .collect();
    let again = TaskRecord::new(&one, "task-00000", "OtherType", r#"{"v":"again"}"#).unwrap();
    records.push(again.clone());
    adapter
        .store_all(&records)
        .await
        .unwrap_or_else(|e| panic!("store_all of {} records failed: {e}", records.len()));

    for expected in records.iter().skip(1) {
        assert_found_as_stored(adapter, expected, "store_all stores each record").await;
    }
    let expected_ids = |list: &str| -> Vec<String> {
        records[..250]
            .iter()
            .filter(|r| r.task_list() == list)
            .map(|r| r.id().to_owned())
            .collect()
    };
    for list in [&one, &two] {
        let mut ids = ids_of_all(adapter, list).await;
        ids.sort();
        assert_eq!(ids, expected_ids(list), "store_all lists each record once");
    }
    if states {
        let state = adapter
            .load_state(&one, "task-00000")
            .await
            .unwrap_or_else(|e| panic!("load_state: {e}"))
            .expect("a stored record has a state");
        assert_eq!(
            state.json, INITIAL_STATE_JSON,
            "store_all over a claimed record writes the initial state, as store does"
        );
    }
}

/// Delete removes one record, leaves the others, and is a no-op when absent.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_delete(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_delete(adapter: &dyn StorageAdapter) {
    let list = unique_list("delete");
    store(adapter, &record(&list, "a", "{}")).await;
    store(adapter, &record(&list, "b", "{}")).await;
    adapter
        .delete(&list, "a")
        .await
        .expect("delete a present record");
    assert_eq!(
        find(adapter, &list, "a").await,
        None,
        "deleted record is gone"
    );
    assert!(
        find(adapter, &list, "b").await.is_some(),
        "other record stays"
    );
    adapter
        .delete(&list, "a")
        .await
        .expect("deleting again is a no-op");
    adapter
        .delete(&unique_list("delete-unknown"), "x")
        .await
        .expect("deleting from an unknown list is a no-op");
    assert_eq!(ids_of_all(adapter, &list).await, ["b"]);
}

/// A list's records never show up in another list, even one whose name is a prefix.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_lists_are_separate(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_lists_are_separate(adapter: &dyn StorageAdapter) {
    let list = unique_list("separate");
    let longer = format!("{list}x");
    store(adapter, &record(&list, "same-id", r#"{"in":"list"}"#)).await;
    store(adapter, &record(&longer, "same-id", r#"{"in":"longer"}"#)).await;
    store(adapter, &record(&longer, "other", "{}")).await;
    assert_eq!(ids_of_all(adapter, &list).await, ["same-id"]);
    assert_eq!(
        find(adapter, &list, "same-id").await.unwrap().data(),
        r#"{"in":"list"}"#
    );
    assert_eq!(find(adapter, &list, "other").await, None);
}

/// `all` yields exactly the list's records, each once; nothing for an empty list.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_all(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_all(adapter: &dyn StorageAdapter) {
    let empty = unique_list("all-empty");
    assert!(
        ids_of_all(adapter, &empty).await.is_empty(),
        "an unknown list is empty"
    );

    let list = unique_list("all");
    let ids = store_many(adapter, &list, 2_500).await;
    let mut seen = ids_of_all(adapter, &list).await;
    let yielded = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(yielded, seen.len(), "all yields no record twice");
    assert_eq!(
        seen.into_iter().collect::<BTreeSet<_>>(),
        ids,
        "all yields every record"
    );
}

/// `count` matches what was stored and deleted.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_count(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_count(adapter: &dyn StorageAdapter) {
    let list = unique_list("count");
    assert_eq!(adapter.count(&list).await.unwrap(), 0);
    store_many(adapter, &list, 150).await;
    adapter.delete(&list, "task-00007").await.unwrap();
    assert_eq!(adapter.count(&list).await.unwrap(), 149);
}

async fn walk(adapter: &dyn StorageAdapter, list: &str, page_size: usize) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut token) = (Vec::new(), 0, None::<PageToken>);
    loop {
        let page = adapter
            .page(list, token.as_ref(), page_size)
            .await
            .unwrap_or_else(|e| panic!("page of {list} failed: {e}"));
        pages += 1;
        assert!(
            page.records.len() <= page_size.max(1),
            "a page holds at most page_size records"
        );
        assert!(
            page.records.iter().all(|r| r.task_list() == list),
            "a page holds only its list"
        );
        ids.extend(page.records.into_iter().map(|r| r.id().to_owned()));
        match page.next {
            Some(next) => token = Some(next),
            None => return (ids, pages),
        }
        assert!(pages <= 10_000, "the page walk ends");
    }
}

/// Walking pages yields every record exactly once, at most `page_size` at a time.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_paging(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_paging(adapter: &dyn StorageAdapter) {
    let list = unique_list("paging");
    let ids = store_many(adapter, &list, 257).await;
    for page_size in [1, 10, 256, 257, 1000] {
        let (seen, pages) = walk(adapter, &list, page_size).await;
        assert_eq!(
            seen.len(),
            ids.len(),
            "page size {page_size}: every record once"
        );
        assert_eq!(
            seen.into_iter().collect::<BTreeSet<_>>(),
            ids,
            "page size {page_size}"
        );
        assert!(
            pages >= ids.len().div_ceil(page_size),
            "page size {page_size}: pages are not oversized"
        );
    }
    let (seen, _) = walk(adapter, &list, 0).await;
    assert_eq!(seen.len(), ids.len(), "page size 0 counts as 1");
    let (seen, _) = walk(adapter, &unique_list("paging-empty"), 10).await;
    assert!(seen.is_empty(), "an unknown list has one empty last page");
}

/// A token kept as text resumes the walk where it stopped, on another call.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_resume_from_token(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_resume_from_token(adapter: &dyn StorageAdapter) {
    let list = unique_list("resume");
    let ids = store_many(adapter, &list, 120).await;
    let mut seen = Vec::new();
    let mut saved: Option<String> = None;
    loop {
        let token: Option<PageToken> = saved
            .as_deref()
            .map(|t| t.parse().expect("a token's text parses"));
        let page = adapter.page(&list, token.as_ref(), 50).await.expect("page");
        seen.extend(page.records.into_iter().map(|r| r.id().to_owned()));
        match page.next {
            Some(next) => saved = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        ids.len(),
        "resuming from text tokens yields every record once"
    );
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), ids);
}

/// A page token that the adapter never handed out and cannot read is an
/// [`Error::InvalidPageToken`], never a panic, another error or a page: from
/// `page`, and, with conditional writes, from `next_ready` and
/// `page_by_status` (bytes `ff 00 fe 01`: not UTF-8, and no built-in
/// adapter's token begins with `ff`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_invalid_token(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_invalid_token(adapter: &dyn StorageAdapter) {
    let list = unique_list("bad-token");
    store_many(adapter, &list, 3).await;
    let garbage = PageToken::from_bytes(vec![0xff, 0x00, 0xfe, 0x01]);
    match adapter.page(&list, Some(&garbage), 10).await {
        Err(Error::InvalidPageToken { .. }) => {}
        other => panic!("page: a garbage token must be InvalidPageToken, got {other:?}"),
    }
    if !adapter.capabilities().conditional_writes() {
        return; // next_ready and page_by_status are Unsupported: check_next_ready
    }
    match adapter
        .next_ready(&list, Some(&garbage), 10, Utc::now())
        .await
    {
        Err(Error::InvalidPageToken { .. }) => {}
        other => panic!("next_ready: a garbage token must be InvalidPageToken, got {other:?}"),
    }
    for status in [TaskStatus::Pending, TaskStatus::Failed] {
        match adapter
            .page_by_status(&list, status, Some(&garbage), 10)
            .await
        {
            Err(Error::InvalidPageToken { .. }) => {}
            other => panic!(
                "page_by_status({status:?}): a garbage token must be InvalidPageToken, got {other:?}"
            ),
        }
    }
}

/// Keys with quotes, CQL syntax, NUL, right-to-left and other non-ASCII
/// text, and keys of the maximum length, are stored and found verbatim.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_keys_verbatim(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_keys_verbatim(adapter: &dyn StorageAdapter) {
    let base = unique_list("keys");
    let awkward = [
        "it's \"quoted\"",
        "'; DROP TABLE tasks; --",
        "semi;colon",
        "SELECT * FROM tasks WHERE id = ?",
        "nul\0byte",
        "\u{202e}right-to-left\u{202c}",
        "ünïcödé ключ 鍵 🔑",
        "slash/and\\backslash",
        "  spaces  ",
        ".",
        "..",
    ];
    for (n, text) in awkward.iter().enumerate() {
        let list = format!("{base}{text}");
        let id = (*text).to_owned();
        let rec = record(&list, &id, &format!(r#"{{"n":{n}}}"#));
        store(adapter, &rec).await;
        assert_found_as_stored(adapter, &rec, &format!("key {text:?} round trips")).await;
        assert_eq!(
            ids_of_all(adapter, &list).await,
            vec![id.clone()],
            "key {text:?} lists"
        );
        adapter.delete(&list, &id).await.unwrap();
        assert_eq!(
            find(adapter, &list, &id).await,
            None,
            "key {text:?} deletes"
        );
    }
    let long_id = "i".repeat(MAX_KEY_BYTES);
    let long_list = format!("{base}{}", "l".repeat(MAX_KEY_BYTES - base.len()));
    let rec = record(&long_list, &long_id, "{}");
    store(adapter, &rec).await;
    assert_found_as_stored(adapter, &rec, "maximum-length keys").await;
}

/// Data text comes back byte for byte: escapes, whitespace, big values.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_data_verbatim(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_data_verbatim(adapter: &dyn StorageAdapter) {
    let list = unique_list("data");
    let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(200_000));
    let samples = [
        "{}",
        r#"{"a":1,"b":[true,null,2.5e-3],"c":{"d":"e"}}"#,
        "{ \"spaced\" : \"out\" ,\n \"tab\":\t1 }",
        r#"{"escaped":"quote \" backslash \\ unicode \u00e9 \ud83d\ude00"}"#,
        r#"{"raw":"é 😀 \u0000"}"#,
        big.as_str(),
    ];
    for (n, data) in samples.iter().enumerate() {
        let rec = record(&list, &format!("d{n}"), data);
        store(adapter, &rec).await;
        let found = find(adapter, &list, &format!("d{n}"))
            .await
            .expect("stored");
        assert_eq!(
            found.data(),
            *data,
            "data sample {n} comes back byte for byte"
        );
    }
}

/// Timestamps come back to the millisecond; an adapter that cannot keep
/// them returns both as the time of the write.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_timestamps(&adapter).await; // to the millisecond: memory keeps them
/// # }
/// ```
pub async fn check_timestamps(adapter: &dyn StorageAdapter) {
    let list = unique_list("time");
    let created = Utc.timestamp_millis_opt(1_600_000_000_123).unwrap();
    let updated = created + TimeDelta::milliseconds(86_400_001);
    let rec = TaskRecord::with_timestamps(&list, "t", "T", "{}", created, updated).unwrap();
    let before = Utc::now() - TimeDelta::seconds(1);
    store(adapter, &rec).await;
    let after = Utc::now() + TimeDelta::seconds(1);
    let found = find(adapter, &list, "t").await.expect("stored");
    let listed = adapter.all(&list).try_collect::<Vec<_>>().await.unwrap();
    assert_eq!(
        listed,
        std::slice::from_ref(&found),
        "all returns what find returns"
    );
    if adapter.capabilities().keeps_timestamps() {
        assert_eq!((found.created_at(), found.updated_at()), (created, updated));
    } else {
        assert_eq!(
            found.created_at(),
            found.updated_at(),
            "both are the write time"
        );
        assert!(
            (before..=after).contains(&found.updated_at()),
            "the write time {} lies around the store ({before} to {after})",
            found.updated_at()
        );
    }
}

/// With a time-to-live capability, a record stored with a TTL is there until
/// it expires (an hour here); without it, `store_with_ttl` is `Unsupported`
/// and stores nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_time_to_live(&adapter).await; // no TTL in memory: the clean refusal
/// # }
/// ```
pub async fn check_time_to_live(adapter: &dyn StorageAdapter) {
    let list = unique_list("ttl");
    let rec = record(&list, "t", r#"{"ttl":true}"#);
    let outcome = adapter
        .store_with_ttl(&rec, std::time::Duration::from_secs(3600))
        .await;
    if adapter.capabilities().time_to_live() {
        outcome.unwrap_or_else(|e| panic!("store_with_ttl failed: {e}"));
        assert_eq!(
            find(adapter, &list, "t").await.map(|r| r.data().to_owned()),
            Some(rec.data().to_owned())
        );
    } else {
        assert!(
            matches!(outcome, Err(Error::Unsupported { .. })),
            "got {outcome:?}"
        );
        assert_eq!(
            find(adapter, &list, "t").await,
            None,
            "an unsupported TTL stores nothing"
        );
    }
}

/// Many concurrent writers and readers on one adapter lose nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_concurrent_writes(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_concurrent_writes(adapter: &dyn StorageAdapter) {
    let list = unique_list("concurrent");
    let list = list.as_str();
    let ids: Vec<String> = (0..500).map(|i| format!("c{i}")).collect();
    stream::iter(&ids)
        .for_each_concurrent(128, |id| async move {
            store(adapter, &record(list, id, r#"{"first":true}"#)).await;
            assert!(
                find(adapter, list, id).await.is_some(),
                "read your write of {id}"
            );
            store(adapter, &record(list, id, r#"{"first":false}"#)).await;
        })
        .await;
    assert_eq!(adapter.count(list).await.unwrap(), 500);
    for id in &ids {
        let found = find(adapter, list, id).await.expect("stored");
        assert_eq!(
            found.data(),
            r#"{"first":false}"#,
            "the later write of {id} wins"
        );
    }
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

/// With conditional writes: a store sets the initial state under a fresh
/// token; a swap applies only with the current token and never creates a
/// record; a swap to `None` deletes. Without: both answer `Unsupported`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_state(&adapter).await; // memory writes conditionally: all of it
/// # }
/// ```
pub async fn check_state(adapter: &dyn StorageAdapter) {
    let list = unique_list("state");
    let rec = record(&list, "s", r#"{"k":1}"#);
    store(adapter, &rec).await;
    if !adapter.capabilities().conditional_writes() {
        assert_lacks_conditional_writes("load_state", adapter.load_state(&list, "s").await);
        let swap = adapter
            .swap_state(&list, "s", &StateToken::random(), Some("{}"))
            .await;
        assert_lacks_conditional_writes("swap_state", swap);
        return;
    }
    let load = |id: &'static str| {
        let list = list.clone();
        async move {
            adapter
                .load_state(&list, id)
                .await
                .unwrap_or_else(|e| panic!("load_state: {e}"))
        }
    };
    let initial = load("s").await.expect("a stored record has a state");
    assert_eq!(
        initial.json, INITIAL_STATE_JSON,
        "a store writes the initial state"
    );
    assert_eq!(load("absent").await, None, "no record, no state");

    let claimed = claimed_state("a");
    let t1 = adapter
        .swap_state(&list, "s", &initial.token, Some(&claimed))
        .await
        .unwrap()
        .expect("a swap with the current token applies");
    assert_ne!(t1, initial.token, "every write makes a new token");
    assert_eq!(
        load("s").await.map(|s| (s.json, s.token)),
        Some((claimed.clone(), t1))
    );

    let stale = adapter
        .swap_state(&list, "s", &initial.token, Some(&claimed_state("b")))
        .await
        .unwrap();
    assert_eq!(stale, None, "a stale token changes nothing");
    assert_eq!(load("s").await.map(|s| s.json), Some(claimed.clone()));

    assert_eq!(
        adapter
            .swap_state(&list, "never-stored", &t1, Some(&claimed))
            .await
            .unwrap(),
        None,
        "a swap never creates a record"
    );
    assert_eq!(find(adapter, &list, "never-stored").await, None);

    // Saving again resets the state: a re-saved task is new work.
    store(adapter, &rec).await;
    let reset = load("s").await.expect("stored");
    assert_eq!(reset.json, INITIAL_STATE_JSON);
    assert_ne!(reset.token, t1);
    assert_eq!(
        adapter.swap_state(&list, "s", &t1, None).await.unwrap(),
        None,
        "the old token is stale"
    );
    assert!(
        find(adapter, &list, "s").await.is_some(),
        "a stale delete deletes nothing"
    );

    assert!(adapter
        .swap_state(&list, "s", &reset.token, None)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        find(adapter, &list, "s").await,
        None,
        "a swap to None deletes"
    );
    assert_eq!(load("s").await, None);
}

/// A swap to `None` with the current token deletes the record and answers
/// `Some` of the token given, both when the state is the initial one and
/// after changes; the token then names nothing: swapping with it again,
/// to `None` or to a state, answers `None` and creates nothing. Without
/// conditional writes: `Unsupported`, naming the capability.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_state_delete(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_state_delete(adapter: &dyn StorageAdapter) {
    let list = unique_list("state-delete");
    let list = list.as_str();
    store(adapter, &record(list, "fresh", "{}")).await;
    store(adapter, &record(list, "changed", "{}")).await;
    store(adapter, &record(list, "other", "{}")).await;
    if !adapter.capabilities().conditional_writes() {
        let swap = adapter
            .swap_state(list, "fresh", &StateToken::random(), None)
            .await;
        assert_lacks_conditional_writes("swap_state to None", swap);
        assert!(
            find(adapter, list, "fresh").await.is_some(),
            "an unsupported delete deletes nothing"
        );
        return;
    }
    let token_of = |id: &'static str| async move {
        adapter
            .load_state(list, id)
            .await
            .unwrap_or_else(|e| panic!("load_state({id}): {e}"))
            .unwrap_or_else(|| panic!("{id} is stored"))
            .token
    };

    let fresh = token_of("fresh").await;
    let deleted = adapter
        .swap_state(list, "fresh", &fresh, None)
        .await
        .unwrap_or_else(|e| panic!("swap_state to None: {e}"));
    assert_eq!(
        deleted,
        Some(fresh),
        "a swap to None that deletes answers the token it was given"
    );
    assert_eq!(
        find(adapter, list, "fresh").await,
        None,
        "the record is gone"
    );
    assert_eq!(
        adapter.load_state(list, "fresh").await.unwrap(),
        None,
        "and its state"
    );

    let initial = token_of("changed").await;
    let claimed = adapter
        .swap_state(list, "changed", &initial, Some(&claimed_state("w")))
        .await
        .unwrap()
        .expect("a claim with the current token applies");
    let deleted = adapter
        .swap_state(list, "changed", &claimed, None)
        .await
        .unwrap();
    assert_eq!(
        deleted,
        Some(claimed),
        "after a change, the delete answers the changed state's token"
    );
    assert_eq!(find(adapter, list, "changed").await, None);

    for (id, token) in [("fresh", fresh), ("changed", claimed)] {
        assert_eq!(
            adapter.swap_state(list, id, &token, None).await.unwrap(),
            None,
            "deleting {id} again with its token answers None"
        );
        assert_eq!(
            adapter
                .swap_state(list, id, &token, Some(&claimed_state("w")))
                .await
                .unwrap(),
            None,
            "a swap with a deleted record's token answers None"
        );
        assert_eq!(find(adapter, list, id).await, None, "and creates nothing");
    }
    assert_eq!(ids_of_all(adapter, list).await, ["other"], "the rest stays");
}

/// A state token the adapter never handed out for the record (a random
/// one, another record's) is stale: `swap_state` answers `None`, to a
/// state or to `None`, and changes nothing: the state, its token and the
/// record stay.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_foreign_state_token(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_foreign_state_token(adapter: &dyn StorageAdapter) {
    if !adapter.capabilities().conditional_writes() {
        return; // swap_state is Unsupported: check_state
    }
    let list = unique_list("foreign-state-token");
    let list = list.as_str();
    store(adapter, &record(list, "target", "{}")).await;
    store(adapter, &record(list, "neighbour", "{}")).await;
    let load = |id: &'static str| async move {
        adapter
            .load_state(list, id)
            .await
            .unwrap_or_else(|e| panic!("load_state({id}): {e}"))
            .unwrap_or_else(|| panic!("{id} is stored"))
    };
    let before = load("target").await;
    let neighbours = load("neighbour").await.token;
    for (what, token) in [
        ("a random token", StateToken::random()),
        ("another record's token", neighbours),
    ] {
        for new in [Some(claimed_state("intruder")), None] {
            let outcome = adapter
                .swap_state(list, "target", &token, new.as_deref())
                .await
                .unwrap_or_else(|e| panic!("swap_state with {what}: {e}"));
            assert_eq!(
                outcome,
                None,
                "a swap to {} with {what} answers None",
                if new.is_some() { "a state" } else { "None" }
            );
            let after = load("target").await;
            assert_eq!(
                (&after.json, after.token),
                (&before.json, before.token),
                "a swap with {what} changes nothing"
            );
        }
    }
    assert!(find(adapter, list, "target").await.is_some());
}

/// Of many concurrent swaps from one token, exactly one applies.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_state_race(&adapter).await; // one of 32 racing swaps wins
/// # }
/// ```
pub async fn check_state_race(adapter: &dyn StorageAdapter) {
    if !adapter.capabilities().conditional_writes() {
        return;
    }
    let list = unique_list("state-race");
    let list = list.as_str();
    store(adapter, &record(list, "r", "{}")).await;
    let token = adapter
        .load_state(list, "r")
        .await
        .unwrap()
        .expect("stored")
        .token;
    // A swap that times out (contended Paxos rounds do) has an unknown
    // outcome: at most one applies, and if none is known to, one may have.
    let outcomes: Vec<(usize, Option<bool>)> = stream::iter(0..32)
        .map(|n| async move {
            let state = claimed_state(&format!("worker-{n}"));
            let outcome = adapter.swap_state(list, "r", &token, Some(&state)).await;
            (n, outcome.ok().map(|applied| applied.is_some()))
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let winners: Vec<usize> = outcomes
        .iter()
        .filter(|(_, o)| *o == Some(true))
        .map(|(n, _)| *n)
        .collect();
    let unknown = outcomes.iter().filter(|(_, o)| o.is_none()).count();
    assert!(
        winners.len() <= 1,
        "at most one of 32 racing swaps applies: {winners:?}"
    );
    assert!(winners.len() + unknown >= 1, "one of them applies");
    let state =
        TaskState::from_json(&adapter.load_state(list, "r").await.unwrap().unwrap().json).unwrap();
    if let [winner] = winners[..] {
        assert_eq!(
            state.owner,
            Some(format!("worker-{winner}")),
            "the winner's state is stored"
        );
    }
    assert_ne!(state.status, TaskStatus::Pending, "some swap applied");
}

/// History: appended entries come back oldest first with their state text
/// verbatim, per task, bounded by the retention, outliving the task's
/// record and never seen by a listing or count of its list.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_history(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_history(adapter: &dyn StorageAdapter) {
    let list = unique_list("history");
    let list = list.as_str();
    let retention = HistoryRetention::default();
    let now = Utc::now();
    let state = |status: &str| format!(r#"{{"status":"{status}","attempts":0}}"#);
    let entry = |ago_ms: i64, status: &str| HistoryEntry {
        at: now - TimeDelta::milliseconds(ago_ms),
        state: state(status),
    };
    let append = |id: &'static str, entry: HistoryEntry, retention: HistoryRetention| async move {
        adapter
            .append_history(list, id, &entry, &retention)
            .await
            .unwrap_or_else(|e| panic!("append_history({id}) failed: {e}"));
    };
    let read = |id: &'static str, retention: HistoryRetention| async move {
        adapter
            .history(list, id, &retention)
            .await
            .unwrap_or_else(|e| panic!("history({id}) failed: {e}"))
    };
    let states = |entries: &[HistoryEntry]| -> Vec<String> {
        entries.iter().map(|e| e.state.clone()).collect()
    };

    store(adapter, &record(list, "a", "{}")).await;
    // Appended out of order: a history is ordered by time, not by arrival.
    append("a", entry(30, "pending"), retention).await;
    append("a", entry(10, "failed"), retention).await;
    append("a", entry(20, "claimed"), retention).await;
    append("b", entry(5, "pending"), retention).await;

    let a = read("a", retention).await;
    assert_eq!(
        states(&a),
        [state("pending"), state("claimed"), state("failed")],
        "history comes back oldest first, state text verbatim"
    );
    let first = entry(30, "pending").at;
    assert!(
        (a[0].at - first).num_milliseconds().abs() <= 1,
        "an entry's time comes back (to the millisecond at least): {} for {first}",
        a[0].at
    );
    assert_eq!(
        states(&read("b", retention).await),
        [state("pending")],
        "histories are per task"
    );
    assert!(
        read("never", retention).await.is_empty(),
        "no history is an empty one"
    );

    let last_two = read("a", retention.keep_last(2)).await;
    assert_eq!(
        states(&last_two),
        [state("claimed"), state("failed")],
        "keep_last(2) reads the last two"
    );

    let day = retention.ttl(Some(std::time::Duration::from_secs(86_400)));
    append("c", entry(2 * 86_400_000, "pending"), day).await;
    append("c", entry(0, "claimed"), day).await;
    assert_eq!(
        states(&read("c", day).await),
        [state("claimed")],
        "an entry older than the time-to-live is not read"
    );

    assert_eq!(
        ids_of_all(adapter, list).await,
        ["a"],
        "a listing of the list sees its records, not their history"
    );
    assert_eq!(adapter.count(list).await.unwrap(), 1, "nor does its count");
    adapter.delete(list, "a").await.unwrap();
    assert_eq!(
        read("a", retention).await.len(),
        3,
        "history outlives the record"
    );
}

/// Sets a stored task's state to `status`, as a worker's change would.
async fn set_status(
    adapter: &dyn StorageAdapter,
    list: &str,
    id: String,
    status: TaskStatus,
    error: Option<&str>,
) {
    let token = adapter
        .load_state(list, &id)
        .await
        .unwrap()
        .expect("stored")
        .token;
    let claimed = status == TaskStatus::Claimed;
    let state = TaskState {
        status,
        owner: claimed.then(|| "elsewhere".to_owned()),
        lease_until: claimed.then(|| Utc::now() + TimeDelta::hours(1)),
        attempts: 3,
        last_error: error.map(str::to_owned),
        changed_at: Some(Utc::now()),
        ..TaskState::pending()
    }
    .to_json()
    .expect("a state encodes");
    let swapped = adapter
        .swap_state(list, &id, &token, Some(&state))
        .await
        .unwrap();
    assert!(swapped.is_some(), "setting {id} {status:?}");
}

/// Counts by status and pages of the tasks in one status
/// ([`StorageAdapter::count_by_status`], [`StorageAdapter::page_by_status`]):
/// every task in its status once, failed ones with their last error; a
/// failed task retried leaves the failed listing, and failing it again puts
/// it back once; without task state both are unsupported.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_status_pages(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_status_pages(adapter: &dyn StorageAdapter) {
    let list = unique_list("status");
    let list = list.as_str();
    if !adapter.capabilities().conditional_writes() {
        let counts = adapter.count_by_status(list).await;
        assert_lacks_conditional_writes("count_by_status", counts);
        let page = adapter
            .page_by_status(list, TaskStatus::Failed, None, 10)
            .await;
        assert_lacks_conditional_writes("page_by_status", page);
        return;
    }
    let ids: Vec<String> = store_many(adapter, list, 25).await.into_iter().collect();
    let set = |id: usize, status: TaskStatus, error: Option<&'static str>| {
        set_status(adapter, list, ids[id].clone(), status, error)
    };
    for id in 0..7 {
        set(id, TaskStatus::Failed, Some("it broke")).await;
    }
    for id in 7..10 {
        set(id, TaskStatus::Claimed, None).await;
    }
    set(10, TaskStatus::Succeeded, None).await;

    let counts = adapter.count_by_status(list).await.unwrap();
    assert_eq!(
        (
            counts.pending,
            counts.claimed,
            counts.succeeded,
            counts.failed,
            counts.unknown
        ),
        (14, 3, 1, 7, 0),
        "counts by status"
    );
    assert_eq!(counts.total(), 25);

    let failed_ids = |page_size: usize| async move {
        let (mut seen, mut token) = (Vec::new(), None);
        for _ in 0..100 {
            let page = adapter
                .page_by_status(list, TaskStatus::Failed, token.as_ref(), page_size)
                .await
                .unwrap_or_else(|e| panic!("page_by_status failed: {e}"));
            assert!(
                page.tasks.len() <= page_size.max(1),
                "at most the page size"
            );
            for stored in &page.tasks {
                let state = TaskState::from_json(&stored.json).expect("a state");
                assert_eq!(state.status, TaskStatus::Failed);
                assert_eq!(state.last_error.as_deref(), Some("it broke"));
                assert_eq!(stored.record.task_list(), list);
            }
            seen.extend(page.tasks.into_iter().map(|s| s.record.id().to_owned()));
            token = page.next;
            if token.is_none() {
                seen.sort();
                return seen;
            }
        }
        panic!("a listing of 7 failed tasks did not end in 100 pages");
    };
    let failed: Vec<String> = ids[..7].to_vec();
    for page_size in [1, 3, 100] {
        assert_eq!(
            failed_ids(page_size).await,
            failed,
            "failed, pages of {page_size}"
        );
    }
    let mut claimed = Vec::new();
    let mut token = None;
    loop {
        let page = adapter
            .page_by_status(list, TaskStatus::Claimed, token.as_ref(), 4)
            .await
            .unwrap();
        claimed.extend(page.tasks.into_iter().map(|s| s.record.id().to_owned()));
        token = page.next;
        if token.is_none() {
            break;
        }
    }
    claimed.sort();
    assert_eq!(claimed, ids[7..10], "claimed tasks");

    // A failed task retried (pending again) is no longer listed as failed;
    // one deleted neither; failed again, it is listed once.
    set(0, TaskStatus::Pending, None).await;
    adapter.delete(list, &ids[1]).await.unwrap();
    assert_eq!(
        failed_ids(100).await,
        failed[2..],
        "after a retry and a delete"
    );
    set(0, TaskStatus::Failed, Some("it broke")).await;
    let mut again = failed[2..].to_vec();
    again.insert(0, failed[0].clone());
    assert_eq!(failed_ids(2).await, again, "failed again: listed once");
    let counts = adapter.count_by_status(list).await.unwrap();
    assert_eq!((counts.failed, counts.total()), (6, 24));
}

/// Claim-next: the first sweep of a list hands out exactly the tasks
/// claimable at the time asked for, with their current tokens, at most
/// `limit` per step, and says when the first held or waiting task opens;
/// later sweeps hand out what opened up since and nothing that is not
/// claimable; a finished list says nothing is open.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_next_ready(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_next_ready(adapter: &dyn StorageAdapter) {
    let list = unique_list("ready");
    let list = list.as_str();
    if !adapter.capabilities().conditional_writes() {
        let ready = adapter.next_ready(list, None, 10, Utc::now()).await;
        assert_lacks_conditional_writes("next_ready", ready);
        return;
    }
    let now = Utc::now();
    let hour = TimeDelta::hours(1);
    let state_at = |status: TaskStatus, lease_until, not_before| {
        TaskState {
            status,
            owner: (status == TaskStatus::Claimed).then(|| "elsewhere".to_owned()),
            lease_until,
            not_before,
            attempts: 1,
            changed_at: Some(now - TimeDelta::minutes(5)),
            ..TaskState::pending()
        }
        .to_json()
        .expect("a state encodes")
    };
    let states = [
        ("pending-1", None),
        ("pending-2", None),
        ("pending-3", None),
        (
            "lease-ran-out",
            Some(state_at(
                TaskStatus::Claimed,
                Some(now - TimeDelta::minutes(1)),
                None,
            )),
        ),
        (
            "held",
            Some(state_at(TaskStatus::Claimed, Some(now + hour), None)),
        ),
        (
            "backing-off",
            Some(state_at(TaskStatus::Pending, None, Some(now + hour * 2))),
        ),
        (
            "backoff-over",
            Some(state_at(
                TaskStatus::Pending,
                None,
                Some(now - TimeDelta::seconds(1)),
            )),
        ),
        ("failed", Some(state_at(TaskStatus::Failed, None, None))),
        (
            "succeeded",
            Some(state_at(TaskStatus::Succeeded, None, None)),
        ),
    ];
    for (id, state) in &states {
        store(adapter, &record(list, id, "{}")).await;
        if let Some(state) = state {
            let token = adapter
                .load_state(list, id)
                .await
                .unwrap()
                .expect("stored")
                .token;
            let swapped = adapter
                .swap_state(list, id, &token, Some(state))
                .await
                .unwrap();
            assert!(swapped.is_some(), "setting up {id}");
        }
    }

    let sweep = |limit: usize, at: DateTime<Utc>| sweep_all(adapter, list, limit, at);

    // Asked after the set-up, as a worker asks: at its clock's reading.
    let asked = Utc::now();
    let (handed, next_open) = sweep(2, asked).await;
    let handed = distinct(handed);
    let ids: Vec<&str> = handed.iter().map(|s| s.record.id()).collect();
    assert_eq!(
        ids,
        [
            "backoff-over",
            "lease-ran-out",
            "pending-1",
            "pending-2",
            "pending-3"
        ],
        "the first sweep of a list hands out every claimable task, and no other"
    );
    let open = next_open.expect("held and backing-off tasks are open");
    assert!(
        (open - (now + hour)).num_milliseconds().abs() <= 1,
        "the first held task opens when its lease ends: {open} for {}",
        now + hour
    );
    for stored in &handed {
        let id = stored.record.id();
        let current = adapter.load_state(list, id).await.unwrap().expect("stored");
        assert_eq!(
            (&stored.json, stored.token),
            (&current.json, current.token),
            "{id} is handed out with its current state and token"
        );
    }

    // Claiming what a sweep handed out takes it out of the next sweeps.
    let first = &handed[0];
    let claimed = state_at(TaskStatus::Claimed, Some(now + hour * 3), None);
    let won = adapter
        .swap_state(list, first.record.id(), &first.token, Some(&claimed))
        .await
        .unwrap();
    assert!(won.is_some(), "a handed-out token claims the task");
    let (again, _) = sweep(10, Utc::now()).await;
    let again = distinct(again);
    assert!(
        again.iter().all(|s| s.record.id() != first.record.id()),
        "a claimed task is not ready"
    );
    assert!(
        again.iter().all(|s| ids.contains(&s.record.id())),
        "a later sweep hands out only claimable tasks"
    );

    // Later, the backoff and the leases have run out: what opened up since
    // is handed out (an adapter may or may not hand out again what it
    // handed out before and is still claimable).
    let (later, _) = sweep(3, now + hour * 4).await;
    let later: Vec<String> = distinct(later)
        .iter()
        .map(|s| s.record.id().to_owned())
        .collect();
    for opened in ["backing-off", "held", first.record.id()] {
        assert!(
            later.iter().any(|id| id == opened),
            "{opened} opened up and is handed out: {later:?}"
        );
    }
    let open_ids = [ids.clone(), vec!["backing-off", "held"]].concat();
    assert!(
        later.iter().all(|id| open_ids.contains(&id.as_str())),
        "nothing finished is handed out: {later:?}"
    );

    // Finished tasks leave nothing open.
    for stored in adapter.all(list).try_collect::<Vec<_>>().await.unwrap() {
        adapter.delete(list, stored.id()).await.unwrap();
    }
    let (none, open) = sweep(10, Utc::now()).await;
    assert!(
        none.is_empty() && open.is_none(),
        "an emptied list: nothing ready, nothing open"
    );
    let bad = adapter
        .next_ready(
            list,
            Some(&PageToken::from_bytes(b"\xff not a token".to_vec())),
            1,
            now,
        )
        .await;
    assert!(
        matches!(bad, Err(Error::InvalidPageToken { .. })),
        "a token the adapter never handed out is InvalidPageToken: {bad:?}"
    );
}

/// Saves of new tasks only: [`store_if_absent`](StorageAdapter::store_if_absent)
/// of a free key stores the record, pending, and answers `true`; of a taken
/// key it answers `false` and changes nothing, neither the record nor its
/// state and token (a claimed task stays claimed); of 16 calls racing on
/// one free key, exactly one answers `true`, and its record is the one
/// stored. Without conditional writes it is [`Error::Unsupported`] naming
/// the capability, and stores nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_store_if_absent(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_store_if_absent(adapter: &dyn StorageAdapter) {
    let list = unique_list("absent");
    let list = list.as_str();
    if !adapter.capabilities().conditional_writes() {
        let stored = adapter.store_if_absent(&record(list, "a", "{}")).await;
        assert_lacks_conditional_writes("store_if_absent", stored);
        let found = adapter.find(list, "a").await.expect("find");
        assert!(found.is_none(), "a refused save stores nothing");
        return;
    }
    let first = record(list, "a", r#"{"v":1}"#);
    let stored = adapter.store_if_absent(&first).await;
    assert!(
        matches!(stored, Ok(true)),
        "a free key is stored: {stored:?}"
    );
    let state = adapter
        .load_state(list, "a")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        (state.record.data(), state.json.as_str()),
        (r#"{"v":1}"#, INITIAL_STATE_JSON),
        "stored as `store` stores it, pending"
    );
    let claimed = claimed_state("w");
    let token = adapter
        .swap_state(list, "a", &state.token, Some(&claimed))
        .await
        .unwrap()
        .expect("the claim lands");

    let again = adapter
        .store_if_absent(&record(list, "a", r#"{"v":2}"#))
        .await;
    assert!(
        matches!(again, Ok(false)),
        "a taken key answers false: {again:?}"
    );
    let state = adapter
        .load_state(list, "a")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        (state.record.data(), state.json.as_str(), state.token),
        (r#"{"v":1}"#, claimed.as_str(), token),
        "a taken key's record, state and token are left as they are"
    );

    let racers: Vec<TaskRecord> = (0..16)
        .map(|n| record(list, "raced", &format!(r#"{{"n":{n}}}"#)))
        .collect();
    let outcomes: Vec<bool> =
        futures::future::join_all(racers.iter().map(|r| adapter.store_if_absent(r)))
            .await
            .into_iter()
            .map(|outcome| outcome.unwrap_or_else(|e| panic!("a racing store_if_absent: {e}")))
            .collect();
    let winners: Vec<usize> = (0..16).filter(|&n| outcomes[n]).collect();
    assert_eq!(
        winners.len(),
        1,
        "one of 16 racing calls wins: {outcomes:?}"
    );
    let stored = adapter.find(list, "raced").await.unwrap().expect("stored");
    assert_eq!(
        stored.data(),
        racers[winners[0]].data(),
        "the winner's record is the one stored"
    );
    assert_eq!(adapter.count(list).await.unwrap(), 2);
}

/// One whole sweep of `next_ready` over `list` at `at`, `limit` a step:
/// what it handed out, and the earliest time it said a task opens.
async fn sweep_all(
    adapter: &dyn StorageAdapter,
    list: &str,
    limit: usize,
    at: DateTime<Utc>,
) -> (Vec<crate::state::StoredState>, Option<DateTime<Utc>>) {
    let (mut handed, mut next_open, mut token) = (Vec::new(), None::<DateTime<Utc>>, None);
    for _ in 0..100 {
        let step = adapter
            .next_ready(list, token.as_ref(), limit, at)
            .await
            .unwrap_or_else(|e| panic!("next_ready failed: {e}"));
        assert!(
            step.tasks.len() <= limit.max(1),
            "a step hands out at most `limit` tasks"
        );
        if let Some(open) = step.next_open {
            next_open = Some(next_open.map_or(open, |t: DateTime<Utc>| t.min(open)));
        }
        handed.extend(step.tasks);
        token = step.next;
        if token.is_none() {
            return (handed, next_open);
        }
    }
    panic!("a sweep of a small list did not end in 100 steps");
}

/// Scheduled saves: a task stored with
/// [`store_scheduled`](StorageAdapter::store_scheduled) is stored pending,
/// never tried, with its `not_before`; no sweep before that time hands it
/// out, and the sweep says when it opens; until then it is counted and
/// paged as [`TaskStatus::Scheduled`]; a time already past is ready at
/// once; a plain store of the same key makes it ready at once; a sweep at
/// or after its time hands it out with a token that claims it. Without
/// conditional writes, `store_scheduled` is [`Error::Unsupported`] naming
/// the capability, and stores nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_scheduled(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_scheduled(adapter: &dyn StorageAdapter) {
    let list = unique_list("scheduled");
    let list = list.as_str();
    let now = adapter.now().await.expect("the adapter tells its time");
    let at = now + TimeDelta::hours(1);
    if !adapter.capabilities().conditional_writes() {
        let scheduled = adapter
            .store_scheduled(&record(list, "later", "{}"), at)
            .await;
        assert_lacks_conditional_writes("store_scheduled", scheduled);
        let found = adapter.find(list, "later").await.expect("find");
        assert!(found.is_none(), "a refused scheduled save stores nothing");
        return;
    }
    store(adapter, &record(list, "ready-now", "{}")).await;
    for (id, not_before) in [
        ("in-an-hour", at),
        ("already-due", now - TimeDelta::seconds(1)),
    ] {
        adapter
            .store_scheduled(&record(list, id, r#"{"n":1}"#), not_before)
            .await
            .unwrap_or_else(|e| panic!("store_scheduled of {id}: {e}"));
    }
    let stored = adapter
        .load_state(list, "in-an-hour")
        .await
        .unwrap()
        .expect("a scheduled task is stored");
    assert_eq!(stored.record.data(), r#"{"n":1}"#, "its record is stored");
    let state = TaskState::from_json(&stored.json).expect("its state reads");
    assert_eq!(
        (state.status, state.not_before, state.attempts),
        (TaskStatus::Pending, Some(at), 0),
        "stored pending, not before its time, never tried"
    );
    assert_eq!(state.status_at(now), TaskStatus::Scheduled);

    let ids = |tasks: Vec<crate::state::StoredState>| -> Vec<String> {
        distinct(tasks)
            .iter()
            .map(|s| s.record.id().to_owned())
            .collect()
    };
    let (handed, next_open) = sweep_all(adapter, list, 10, Utc::now()).await;
    assert_eq!(
        ids(handed),
        ["already-due", "ready-now"],
        "before its time a scheduled task is not handed out; one due already is"
    );
    let open = next_open.expect("a scheduled task is open");
    assert!(
        (open - at).num_milliseconds().abs() <= 1,
        "the sweep says the scheduled task opens at its time: {open} for {at}"
    );

    let counts = adapter.count_by_status(list).await.unwrap();
    assert_eq!(
        (counts.scheduled, counts.pending, counts.total()),
        (1, 2, 3),
        "counted as scheduled until its time: {counts:?}"
    );
    let page = adapter
        .page_by_status(list, TaskStatus::Scheduled, None, 10)
        .await
        .unwrap();
    assert_eq!(ids(page.tasks), ["in-an-hour"], "paged as scheduled");
    let page = adapter
        .page_by_status(list, TaskStatus::Pending, None, 10)
        .await
        .unwrap();
    assert_eq!(
        ids(page.tasks),
        ["already-due", "ready-now"],
        "the others are pending"
    );

    adapter
        .store_scheduled(&record(list, "saved-again", "{}"), at)
        .await
        .unwrap();
    store(adapter, &record(list, "saved-again", "{}")).await;
    let state = adapter
        .load_state(list, "saved-again")
        .await
        .unwrap()
        .expect("stored");
    let state = TaskState::from_json(&state.json).unwrap();
    assert!(
        state.is_claimable(Utc::now()),
        "a plain store makes a scheduled task ready at once: {state:?}"
    );
    let (handed, _) = sweep_all(adapter, list, 10, Utc::now()).await;
    assert!(
        ids(handed).iter().any(|id| id == "saved-again"),
        "and a sweep hands it out"
    );

    // A sweep at its time (the last: an adapter may remember how far it
    // swept) hands it out.
    let (later, _) = sweep_all(adapter, list, 10, at + TimeDelta::seconds(1)).await;
    let due = distinct(later)
        .into_iter()
        .find(|s| s.record.id() == "in-an-hour")
        .expect("at its time a scheduled task is handed out");
    let claimed = adapter
        .swap_state(list, "in-an-hour", &due.token, Some(&claimed_state("w")))
        .await
        .unwrap();
    assert!(claimed.is_some(), "its token claims it");
}

/// The tasks of a sweep, each once, in id order: an adapter may hand out a
/// task more than once in a sweep (its second claim then finds it taken).
fn distinct(mut tasks: Vec<crate::state::StoredState>) -> Vec<crate::state::StoredState> {
    tasks.sort_by(|a, b| a.record.id().cmp(b.record.id()));
    tasks.dedup_by(|a, b| a.record.id() == b.record.id());
    tasks
}
