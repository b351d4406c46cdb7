//! The pause flag of a list, or an adapter that says it cannot keep one;
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
