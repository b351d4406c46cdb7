//! Settings that must reach the server: consistency levels, and the
//! time-to-live of a save.

use std::time::Duration;

use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{CassandraAdapter, Consistency, Retry, TableLayout};
use taskrec::{Error, Task, TaskData, TaskStore};

use crate::utils::{adapter, bucketed, config, raw_session, run, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Note {
    text: String,
}

/// The server's `Unavailable` answer inside a storage error, if that is what it is.
fn unavailable(err: &Error) -> Option<(Consistency, i32, i32)> {
    let Error::Storage { source, .. } = err else {
        return None;
    };
    match source.downcast_ref::<ExecutionError>()? {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(
            DbError::Unavailable {
                consistency,
                required,
                alive,
            },
            _,
        )) => Some((*consistency, *required, *alive)),
        _ => None,
    }
}

async fn with_consistency(read: Consistency, write: Consistency) -> CassandraAdapter {
    let config = config("tasks", TableLayout::Taskrec { shards: Some(16) })
        .read_consistency(read)
        .write_consistency(write)
        .retry(Retry::Never);
    adapter(config).await
}

#[test]
fn write_consistency_reaches_the_server() {
    run(async {
        // One node: THREE cannot be met, and only the server can say so.
        let store = TaskStore::new(with_consistency(Consistency::One, Consistency::Three).await);
        let task = Task::build(unique_list("consistency"), Note { text: "x".into() }).unwrap();
        let err = store.save(&task).await.unwrap_err();
        assert_eq!(unavailable(&err), Some((Consistency::Three, 3, 1)), "{err}");
        // Reads at ONE still work, and the failed write left nothing.
        assert_eq!(
            store
                .find::<Note>(task.task_list(), task.id())
                .await
                .unwrap(),
            None
        );
    });
}

#[test]
fn read_consistency_reaches_the_server() {
    run(async {
        let writer = TaskStore::new(bucketed().await);
        let task = Task::build(unique_list("consistency"), Note { text: "x".into() }).unwrap();
        writer.save(&task).await.unwrap();

        let store = TaskStore::new(with_consistency(Consistency::Three, Consistency::One).await);
        let err = store
            .find::<Note>(task.task_list(), task.id())
            .await
            .unwrap_err();
        assert_eq!(unavailable(&err), Some((Consistency::Three, 3, 1)), "{err}");
        let listing = store.count(task.task_list()).await.unwrap_err();
        assert_eq!(
            unavailable(&listing),
            Some((Consistency::Three, 3, 1)),
            "{listing}"
        );
    });
}

#[test]
fn a_save_with_a_ttl_expires_and_a_plain_save_does_not() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("ttl");
        let short = Task::new(
            &list,
            "short",
            Note {
                text: "soon gone".into(),
            },
        )
        .unwrap();
        let plain = Task::new(
            &list,
            "plain",
            Note {
                text: "stays".into(),
            },
        )
        .unwrap();
        store
            .save_with_ttl(&short, Duration::from_secs(2))
            .await
            .unwrap();
        store.save(&plain).await.unwrap();
        assert!(
            store.find::<Note>(&list, "short").await.unwrap().is_some(),
            "there before it expires"
        );

        // The server's own view: a TTL on the short task's cells, none on the plain one's.
        let session = raw_session().await;
        let cql = format!(
            "SELECT id, TTL(data) FROM {}.tasks WHERE task_list = ? AND id = ?",
            crate::utils::keyspace()
        );
        for (id, has_ttl) in [("short", true), ("plain", false)] {
            let (_, ttl): (String, Option<i32>) = session
                .query_unpaged(cql.as_str(), (&list, id))
                .await
                .unwrap()
                .into_rows_result()
                .unwrap()
                .single_row()
                .unwrap();
            assert_eq!(ttl.is_some(), has_ttl, "{id}: TTL {ttl:?}");
            if let Some(ttl) = ttl {
                assert!((1..=2).contains(&ttl), "{id}: TTL {ttl}");
            }
        }

        tokio::time::sleep(Duration::from_millis(3500)).await;
        assert_eq!(
            store.find::<Note>(&list, "short").await.unwrap(),
            None,
            "expired"
        );
        assert!(
            store.find::<Note>(&list, "plain").await.unwrap().is_some(),
            "no TTL, no expiry"
        );
        assert_eq!(store.count(&list).await.unwrap(), 1);
    });
}

#[test]
fn out_of_range_ttls_are_refused_before_reaching_the_server() {
    run(async {
        let adapter = bucketed().await;
        let record = taskrec::TaskRecord::new(unique_list("ttl"), "x", "Note", "{}").unwrap();
        for ttl in [Duration::ZERO, Duration::from_secs(630_720_001)] {
            let err = adapter.store_with_ttl(&record, ttl).await.unwrap_err();
            assert!(matches!(err, Error::InvalidConfig { .. }), "{ttl:?}: {err}");
        }
        assert_eq!(adapter.find(record.task_list(), "x").await.unwrap(), None);
    });
}
