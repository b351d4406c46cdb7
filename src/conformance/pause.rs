//! The pause flag of a list, or an adapter that says it cannot keep one;
//! a list's kept counts, or an adapter that says it cannot keep them;
//! the names of the lists, or an adapter that says it cannot tell.

use super::*;

/// An adapter that keeps the pause flag answers a pause with who and when
/// (to the millisecond), for that list only, until a resume; resuming twice
/// is fine. One that does not answers `set_pause` with `Unsupported`, and
/// every list reads as not paused.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_pause(&adapter).await;
/// # }
/// ```
pub async fn check_pause(adapter: &dyn StorageAdapter) {
    let list = unique_list("pause");
    let other = unique_list("pause-other");
    let since = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
    let pause = crate::ListPause::new("conformance <operator>", since);
    let state = |list: String| async move {
        adapter
            .pause_state(&list)
            .await
            .unwrap_or_else(|e| panic!("pause_state({list}) failed: {e}"))
    };
    match adapter.set_pause(&list, Some(&pause)).await {
        Ok(()) => {
            let read = state(list.clone())
                .await
                .expect("a paused list reads as paused");
            assert_eq!(read.by, pause.by, "who paused the list");
            assert_eq!(
                read.since.timestamp_millis(),
                since.timestamp_millis(),
                "when the list was paused"
            );
            assert_eq!(
                state(other.clone()).await,
                None,
                "another list is not paused"
            );
            adapter
                .set_pause(&list, None)
                .await
                .unwrap_or_else(|e| panic!("resume failed: {e}"));
            assert_eq!(
                state(list.clone()).await,
                None,
                "a resumed list is not paused"
            );
            adapter
                .set_pause(&list, None)
                .await
                .unwrap_or_else(|e| panic!("a second resume failed: {e}"));
        }
        Err(Error::Unsupported { .. }) => {
            assert_eq!(state(list).await, None, "no list reads as paused");
        }
        Err(e) => panic!("set_pause failed: {e}"),
    }
}

/// An adapter that keeps counts answers them for that list only (times to
/// the millisecond, durations too): the figures of the count that began
/// last, whatever order they were kept in; a mark of a count under way
/// beside them (or alone, as a `recount_mark`, before any figures), cleared
/// by figures whose count ended after it. One that does not keep counts
/// answers `keep_counts` with `Unsupported` and keeps none.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_kept_counts(&adapter).await;
/// # }
/// ```
pub async fn check_kept_counts(adapter: &dyn StorageAdapter) {
    let list = unique_list("counts");
    let other = unique_list("counts-other");
    let at = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
    let mut counts = crate::StatusCounts::default();
    (counts.pending, counts.scheduled, counts.claimed) = (1_000_001, 2, 3);
    (counts.succeeded, counts.failed, counts.unknown) = (4, 5, 6);
    let first = crate::KeptCounts::new(
        counts,
        Some(at - chrono::Duration::milliseconds(90_061)),
        at,
        std::time::Duration::from_millis(1_234),
        "conformance <counter>",
    );
    let kept = |list: String| async move {
        adapter
            .kept_counts(&list)
            .await
            .unwrap_or_else(|e| panic!("kept_counts({list}) failed: {e}"))
    };
    match adapter.keep_counts(&list, &first).await {
        Ok(()) => {
            assert_eq!(
                kept(list.clone()).await,
                Some(first.clone()),
                "the counts kept"
            );
            assert_eq!(kept(other.clone()).await, None, "another list keeps none");
            let marked = first.recounting_since(at + chrono::Duration::seconds(60));
            adapter
                .keep_counts(&list, &marked)
                .await
                .unwrap_or_else(|e| panic!("a second keep_counts failed: {e}"));
            assert_eq!(
                kept(list.clone()).await,
                Some(marked),
                "the last counts kept win"
            );
            let mut none_pending = crate::KeptCounts::new(
                crate::StatusCounts::default(),
                None,
                at + chrono::Duration::seconds(120),
                std::time::Duration::ZERO,
                "conformance <counter>",
            );
            none_pending.counts.failed = 1;
            adapter
                .keep_counts(&list, &none_pending)
                .await
                .unwrap_or_else(|e| panic!("a third keep_counts failed: {e}"));
            assert_eq!(
                kept(list.clone()).await,
                Some(none_pending.clone()),
                "no oldest pending task and no recount under way are kept as such"
            );
            // A count that began earlier and ended later does not win.
            adapter
                .keep_counts(&list, &first)
                .await
                .unwrap_or_else(|e| panic!("keeping older figures failed: {e}"));
            assert_eq!(
                kept(list).await,
                Some(none_pending),
                "the figures of the count that began last are kept"
            );

            // A first count under way, before any figures.
            let fresh = unique_list("counts-first");
            let mark = crate::KeptCounts::recount_mark(at, "conformance <first>");
            adapter
                .keep_counts(&fresh, &mark)
                .await
                .unwrap_or_else(|e| panic!("keeping a mark failed: {e}"));
            assert_eq!(kept(fresh.clone()).await, Some(mark), "a mark alone");
            assert!(!kept(fresh).await.unwrap().counted());
        }
        Err(Error::Unsupported { .. }) => {
            assert_eq!(kept(list).await, None, "no counts are kept");
        }
        Err(e) => panic!("keep_counts failed: {e}"),
    }
}

/// An adapter that names its lists names one it stored a task in, sorted,
/// without duplicates; one that cannot answers `None`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_task_lists(&adapter).await;
/// # }
/// ```
pub async fn check_task_lists(adapter: &dyn StorageAdapter) {
    let list = unique_list("lists");
    store(adapter, &record(&list, "a", "{}")).await;
    store(adapter, &record(&list, "b", "{}")).await;
    let names = adapter
        .task_lists()
        .await
        .unwrap_or_else(|e| panic!("task_lists failed: {e}"));
    if let Some(names) = names {
        assert!(names.contains(&list), "{list} is not among the lists named");
        assert!(
            names.windows(2).all(|w| w[0] < w[1]),
            "the lists are not sorted and distinct"
        );
        assert!(names.len() <= crate::adapter::MAX_DISCOVERED_LISTS);
    }
}
