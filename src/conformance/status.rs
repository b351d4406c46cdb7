//! Counts and pages by status.

use super::*;

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
