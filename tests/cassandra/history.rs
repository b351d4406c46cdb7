//! Task histories in their own table: written beside the tasks, never as
//! task lists, bounded per task, read without scanning past what is kept.

use std::time::Duration;

use taskrec::adapter::{StorageAdapter, StoredStateChange};
use taskrec::cassandra::TableLayout;
use taskrec::{Error, HistoryRetention, Task, TaskData, TaskStatus, TaskStore};

use crate::utils::{adapter, chain, config, keyspace, raw_session, run, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Job {
    n: u32,
}

/// Every task list of a table, from a scan of the (small, test-only) table.
async fn lists_in_table(table: &str) -> Vec<String> {
    let cql = format!("SELECT task_list FROM {}.{table}", keyspace());
    let rows = raw_session()
        .await
        .query_unpaged(cql, ())
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    let mut lists: Vec<String> = rows
        .rows::<(String,)>()
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect();
    lists.dedup();
    lists
}

#[test]
fn history_is_written_to_its_own_table_with_the_retention_ttl() {
    run(async {
        let adapter = adapter(config(
            "hist_bucketed",
            TableLayout::Taskrec { shards: Some(4) },
        ))
        .await;
        let store = TaskStore::new(adapter).with_history_everywhere();
        let list = unique_list("hist");
        store
            .save(&Task::new(&list, "j1", Job { n: 1 }).unwrap())
            .await
            .unwrap();
        let claim = store
            .claim(&list, "j1", "w", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        store.fail(claim, "broken").await.unwrap();

        let steps: Vec<TaskStatus> = store
            .history(&list, "j1")
            .await
            .unwrap()
            .iter()
            .map(|c| c.state.status)
            .collect();
        assert_eq!(
            steps,
            [TaskStatus::Pending, TaskStatus::Claimed, TaskStatus::Failed]
        );
        assert_eq!(
            lists_in_table("hist_bucketed").await,
            std::slice::from_ref(&list),
            "no history task lists"
        );

        let cql = format!(
            "SELECT TTL(state) FROM {}.hist_bucketed_history WHERE task_list = ? AND id = ?",
            keyspace()
        );
        let rows = raw_session()
            .await
            .query_unpaged(cql, (&list, "j1"))
            .await
            .unwrap()
            .into_rows_result()
            .unwrap();
        let ttls: Vec<i32> = rows
            .rows::<(Option<i32>,)>()
            .unwrap()
            .map(|r| r.unwrap().0.unwrap())
            .collect();
        assert_eq!(ttls.len(), 3);
        let default_ttl = HistoryRetention::DEFAULT_TTL.as_secs() as i32;
        assert!(
            ttls.iter()
                .all(|&ttl| ttl > default_ttl - 600 && ttl <= default_ttl),
            "every entry carries the retention's TTL: {ttls:?}"
        );
    });
}

#[test]
fn history_of_task_rbs_table_stays_out_of_task_rbs_table() {
    run(async {
        let adapter = adapter(config("hist_task_rb", TableLayout::TaskRb)).await;
        let store = TaskStore::new(adapter).with_history_everywhere();
        let list = unique_list("hist-rb");
        store
            .save(&Task::new(&list, "j1", Job { n: 1 }).unwrap())
            .await
            .unwrap();
        store
            .save(&Task::new(&list, "j1", Job { n: 2 }).unwrap())
            .await
            .unwrap();
        assert_eq!(store.history(&list, "j1").await.unwrap().len(), 2);
        // task_rb lists every task list it finds in its table: history
        // written there would show up in task_rb as lists of its own.
        assert_eq!(lists_in_table("hist_task_rb").await, [list]);
    });
}

#[test]
fn a_history_read_scans_only_the_entries_it_keeps() {
    run(async {
        let adapter = adapter(config(
            "hist_bounded",
            TableLayout::Taskrec { shards: Some(4) },
        ))
        .await;
        let list = unique_list("hist-bounded");
        let retention = HistoryRetention::default();
        let start = chrono::Utc::now() - chrono::TimeDelta::hours(1);
        for n in 0..250i64 {
            let entry = StoredStateChange {
                at: start + chrono::TimeDelta::seconds(n),
                state: format!(r#"{{"status":"claimed","attempts":{n}}}"#),
            };
            adapter
                .append_history(&list, "busy", &entry, &retention)
                .await
                .unwrap();
        }
        let kept = adapter.history(&list, "busy", &retention).await.unwrap();
        assert_eq!(kept.len(), HistoryRetention::DEFAULT_KEEP_LAST);
        assert_eq!(
            kept[0].state, r#"{"status":"claimed","attempts":150}"#,
            "the last 100, oldest first"
        );
        assert_eq!(kept[99].state, r#"{"status":"claimed","attempts":249}"#);

        // The adapter's own read, as the server counted it: the rows and
        // tombstones each read of this table (this test's alone) touched, in
        // the server's histograms, whose buckets hold 100 at 103 and 250 at
        // 258. The read stops after the kept entries, whatever the task
        // wrote before them.
        let per_read = |view: &'static str| {
            let list = list.clone();
            async move {
                let cql = format!(
                    "SELECT count, max FROM system_views.{view} \
                     WHERE keyspace_name = ? AND table_name = 'hist_bounded_history'"
                );
                let rows = raw_session()
                    .await
                    .query_unpaged(cql, (keyspace(),))
                    .await
                    .unwrap()
                    .into_rows_result()
                    .unwrap();
                let (count, max) = rows.single_row::<(i64, f64)>().unwrap();
                assert!(count >= 1, "{view}: the table was read ({list})");
                max
            }
        };
        assert_eq!(
            per_read("rows_per_read").await,
            103.0,
            "at most 100 rows a read"
        );
        assert_eq!(
            per_read("tombstones_per_read").await,
            1.0,
            "no tombstone (bucket 0-1)"
        );
    });
}

#[test]
fn a_missing_history_table_is_named_only_when_history_is_kept() {
    run(async {
        // The tasks table exists (made by another test's adapter or here);
        // its history table is named to one that does not.
        let _ = adapter(config(
            "hist_missing",
            TableLayout::Taskrec { shards: Some(4) },
        ))
        .await;
        let config = config("hist_missing", TableLayout::Taskrec { shards: Some(4) })
            .create_schema(false)
            .history_table("no_such_history");
        let store = TaskStore::new(adapter(config).await);
        let list = unique_list("hist-missing");
        let task = Task::new(&list, "j1", Job { n: 1 }).unwrap();
        store.save(&task).await.unwrap(); // no history kept: no history table needed

        let err = store
            .with_history_everywhere()
            .save(&task)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { .. }),
            "{}",
            chain(&err)
        );
        let text = chain(&err);
        assert!(
            text.contains("no_such_history") && text.contains("does the history table exist?"),
            "{text}"
        );
    });
}
