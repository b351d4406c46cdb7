//! An operator's actions on the real server: show one task whole, retry the
//! failed tasks of a list, purge them, and leave alone what is no longer
//! failed, on taskrec's table; task_rb's table, which keeps no state, says so.

use std::time::Duration;

use taskrec::cassandra::CassandraAdapter;
use taskrec::{Error, Task, TaskData, TaskStatus, TaskStore};

use crate::utils::{bucketed, run, task_rb, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Job {
    n: u32,
}

/// Saves `t0`..`t9` and fails `t2`, `t5`, `t7` with "tN broke".
async fn list_with_three_failed(store: &TaskStore<CassandraAdapter>) -> String {
    let list = unique_list("operate");
    let tasks: Vec<Task<Job>> = (0..10)
        .map(|n| Task::new(&list, format!("t{n}"), Job { n }).unwrap())
        .collect();
    store.save_all(&tasks, 10).await.unwrap();
    for id in ["t2", "t5", "t7"] {
        let claim = store.claim(&list, id, "w", Duration::from_secs(60)).await;
        let claim = claim.unwrap().expect("a saved task is claimable");
        assert!(store.fail(claim, &format!("{id} broke")).await.unwrap());
    }
    list
}

async fn retry_and_purge(store: TaskStore<CassandraAdapter>) {
    let list = list_with_three_failed(&store).await;

    let shown = store.show(&list, "t5").await.unwrap().expect("t5 is there");
    assert_eq!(shown.record.data(), r#"{"n":5}"#);
    assert_eq!(
        (
            shown.state.status,
            shown.state.attempts,
            shown.state.last_error.as_deref()
        ),
        (TaskStatus::Failed, 1, Some("t5 broke"))
    );
    assert!(store.show(&list, "t99").await.unwrap().is_none());

    // One retried by hand; the other two by `retry_failed`.
    assert!(store.reset(&list, "t2").await.unwrap());
    assert_eq!(store.retry_failed(&list).await.unwrap(), 2);
    let counts = store.count_by_status(&list).await.unwrap();
    assert_eq!((counts.pending, counts.failed), (10, 0));

    // Failed again; purge removes exactly those, and nothing else.
    for id in ["t5", "t7"] {
        let claim = store.claim(&list, id, "w", Duration::from_secs(60)).await;
        assert!(store.fail(claim.unwrap().unwrap(), "again").await.unwrap());
    }
    assert!(!store.purge(&list, "t0").await.unwrap(), "t0 is pending");
    assert_eq!(store.purge_failed(&list).await.unwrap(), 2);
    assert_eq!(store.purge_failed(&list).await.unwrap(), 0);
    let counts = store.count_by_status(&list).await.unwrap();
    assert_eq!((counts.pending, counts.failed, counts.total()), (8, 0, 8));
    assert!(store.show(&list, "t7").await.unwrap().is_none());
}

#[test]
fn retry_and_purge_on_taskrecs_table() {
    run(async { retry_and_purge(TaskStore::new(bucketed().await)).await });
}

#[test]
fn task_rbs_table_keeps_no_state_and_says_so() {
    run(async {
        // task_rb's table has no state columns: nothing failed to retry or
        // purge, and the store says which operation it cannot do.
        let store = TaskStore::new(task_rb().await);
        let list = unique_list("operate");
        store
            .save(&Task::new(&list, "t0", Job { n: 0 }).unwrap())
            .await
            .unwrap();
        for outcome in [
            store.purge(&list, "t0").await.map(|_| ()),
            store.show(&list, "t0").await.map(|_| ()),
        ] {
            match outcome {
                Err(Error::Unsupported { adapter, operation }) => {
                    assert_eq!(adapter, "cassandra");
                    assert_eq!(
                        operation,
                        "conditional writes (Capabilities::conditional_writes), which task \
                         state, claims and workers need: task_rb's table has no state columns"
                    );
                }
                other => panic!("expected Unsupported, got {other:?}"),
            }
        }
        assert_eq!(store.count(&list).await.unwrap(), 1, "nothing removed");
    });
}
