//! History: each task's state changes, oldest first, as retention keeps them.

use super::*;

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
    let entry = |ago_ms: i64, status: &str| StoredStateChange {
        at: now - TimeDelta::milliseconds(ago_ms),
        state: state(status),
    };
    let append = |id: &'static str, entry: StoredStateChange, retention: HistoryRetention| async move {
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
    let states = |entries: &[StoredStateChange]| -> Vec<String> {
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
