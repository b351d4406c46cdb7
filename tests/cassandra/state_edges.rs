//! Task state on the real server at its edges: rows written without a
//! state token by another tool, and tasks saved with a time-to-live and
//! then claimed.

use std::time::Duration;

use futures::TryStreamExt;
use taskrec::adapter::StorageAdapter;
use taskrec::{Task, TaskData, TaskStatus, TaskStore};

use crate::utils::{bucketed, keyspace, raw_session, run, unique_list};

#[derive(Debug, Clone, TaskData)]
struct Unit {
    n: u32,
}

#[test]
fn a_row_written_without_a_token_gets_one_and_a_deleted_row_is_never_recreated() {
    run(async {
        let adapter = bucketed().await;
        let list = unique_list("tokenless");
        let cql = format!(
            "INSERT INTO {}.tasks (task_list, id, type, data) VALUES (?, 't', 'Unit', '{{\"n\":1}}')",
            keyspace()
        );
        raw_session()
            .await
            .query_unpaged(cql.as_str(), (&list,))
            .await
            .unwrap();

        let stored = adapter
            .load_state(&list, "t")
            .await
            .unwrap()
            .expect("a task");
        assert!(
            !stored.token.as_uuid().is_nil(),
            "loading gave the row a token"
        );
        assert_eq!(stored.record.type_name(), "Unit");
        let store = TaskStore::new(adapter);
        let claim = store
            .claim(&list, "t", "w", Duration::from_secs(30))
            .await
            .unwrap()
            .expect("claimable");

        // Another worker finishes the task meanwhile: the row is deleted.
        store.delete(&list, "t").await.unwrap();
        // The old claim's writes must not bring it back.
        assert!(!store.release(claim).await.unwrap(), "nothing to release");
        assert_eq!(
            store.find_record(&list, "t").await.unwrap(),
            None,
            "no phantom row"
        );
    });
}

#[test]
fn a_claimed_task_saved_with_a_ttl_is_gone_when_it_expires() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("ttl-claimed");
        store
            .save_with_ttl(
                &Task::new(&list, "t", Unit { n: 1 }).unwrap(),
                Duration::from_secs(2),
            )
            .await
            .unwrap();
        let claim = store
            .claim(&list, "t", "w", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claim.state().status, TaskStatus::Claimed);
        store.release(claim).await.unwrap();
        tokio::time::sleep(Duration::from_secs(4)).await;

        assert_eq!(
            store.find_record(&list, "t").await.unwrap(),
            None,
            "expired"
        );
        assert_eq!(
            store.state(&list, "t").await.unwrap(),
            None,
            "no state without a task"
        );
        let listed: Vec<taskrec::TaskRecord> = store.records(&list).try_collect().await.unwrap();
        assert!(listed.is_empty(), "not listed: {listed:?}");
        // COUNT(*) still counts the leftover state cells' row: documented.
        let (page, _) = store.page::<Unit>(&list, None, 10).await.unwrap();
        assert!(page.is_empty());
    });
}
