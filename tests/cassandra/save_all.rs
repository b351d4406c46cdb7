//! `save_all` on the real server: every task written, in batches the
//! server does not warn about, on both layouts.
//!
//! Cassandra warns about a batch past `batch_size_warn_threshold` (5 KiB)
//! or, unlogged, spanning more than
//! `unlogged_batch_across_partitions_warn_threshold` (10) partitions. It
//! sends the warning with its answer (and logs it, at most once a minute),
//! and the adapter passes it on as a `warn` event: the tests capture those.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{CassandraAdapter, TableLayout};
use taskrec::{Task, TaskData, TaskStore};
use tracing::instrument::WithSubscriber;

use crate::capture::Captured;
use crate::utils::{adapter, bucketed, run, task_rb, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Upload {
    filename: String,
    size: u64,
    note: String,
}

fn uploads(list: &str, n: usize, note: &str) -> Vec<Task<Upload>> {
    (0..n)
        .map(|i| {
            let data = Upload {
                filename: format!("file-{i:05}.txt"),
                size: i as u64 * 1024,
                note: note.to_owned(),
            };
            Task::new(list, format!("u{i:05}"), data).unwrap()
        })
        .collect()
}

async fn ids(store: &TaskStore<CassandraAdapter>, list: &str) -> BTreeSet<String> {
    store
        .all::<Upload>(list)
        .map_ok(|t| t.id().to_owned())
        .try_collect()
        .await
        .unwrap()
}

/// Saves `tasks` with `save_all`, then reads them back: each one found as
/// saved, the listing and the count exact. Answers what the server warned.
async fn saved_and_read_back(
    store: &TaskStore<CassandraAdapter>,
    list: &str,
    tasks: &[Task<Upload>],
) -> Vec<String> {
    let captured = Captured::default();
    let saved = store
        .save_all(tasks, 4)
        .with_subscriber(captured.dispatch())
        .await
        .unwrap();
    assert_eq!(saved, tasks.len() as u64);
    let expected: BTreeSet<String> = tasks.iter().map(|t| t.id().to_owned()).collect();
    assert_eq!(ids(store, list).await, expected, "the listing of {list}");
    assert_eq!(store.count(list).await.unwrap(), tasks.len() as u64);
    for task in tasks {
        let found = store.find::<Upload>(list, task.id()).await.unwrap();
        assert_eq!(
            found.as_ref().map(Task::data),
            Some(task.data()),
            "{}",
            task.id()
        );
    }
    captured
        .events()
        .iter()
        .filter_map(|e| e.field("warning").map(str::to_owned))
        .collect()
}

#[test]
fn save_all_writes_every_task_in_batches_the_server_does_not_warn_about() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let mut warnings = Vec::new();

        // Small tasks, then the same again with heavier data: every entry
        // stays where it is, nothing is listed twice.
        let list = unique_list("save-all");
        warnings.extend(saved_and_read_back(&store, &list, &uploads(&list, 2_000, "first")).await);
        let heavier = "again ".repeat(60);
        warnings.extend(saved_and_read_back(&store, &list, &uploads(&list, 2_000, &heavier)).await);

        // Records past a batch's size go alone, among small ones.
        let mixed = unique_list("save-all-mixed");
        let mut tasks = uploads(&mixed, 300, "small");
        for (i, task) in tasks.iter_mut().enumerate().filter(|(i, _)| i % 50 == 7) {
            let heavy = Upload {
                note: "x".repeat(6_000 + i),
                ..task.data().clone()
            };
            *task = Task::new(&mixed, task.id(), heavy).unwrap();
        }
        warnings.extend(saved_and_read_back(&store, &mixed, &tasks).await);
        assert!(
            warnings.is_empty(),
            "the server warned:\n{}",
            warnings.join("\n")
        );

        // Every task saved is ready for claim-next.
        let mut handed_out = BTreeSet::new();
        let mut token = None;
        loop {
            let step = store
                .adapter()
                .next_ready(&list, token.as_ref(), 500, chrono::Utc::now())
                .await
                .unwrap();
            handed_out.extend(step.tasks.iter().map(|s| s.record.id().to_owned()));
            token = step.next;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(handed_out.len(), 2_000, "tasks handed out by claim-next");
    });
}

#[test]
fn save_all_on_task_rbs_table_batches_one_lists_inserts() {
    run(async {
        let store = TaskStore::new(task_rb().await);
        let list = unique_list("save-all-task-rb");
        let mut warnings =
            saved_and_read_back(&store, &list, &uploads(&list, 2_000, "first")).await;
        warnings.extend(saved_and_read_back(&store, &list, &uploads(&list, 2_000, "second")).await);
        assert!(
            warnings.is_empty(),
            "the server warned:\n{}",
            warnings.join("\n")
        );
    });
}

/// The warnings the tests above look for do arrive: a batch of more than
/// ten partitions, sent past the adapter.
#[test]
fn the_server_warns_about_a_batch_across_many_partitions() {
    run(async {
        let adapter = adapter(crate::utils::config(
            "tasks",
            TableLayout::Taskrec { shards: Some(16) },
        ))
        .await;
        let session = adapter.session().clone();
        let list = unique_list("save-all-warned");
        let insert = session
            .prepare(format!(
                "INSERT INTO {}.tasks (task_list, id, type, data) VALUES (?, ?, 'T', '{{}}')",
                crate::utils::keyspace()
            ))
            .await
            .unwrap();
        let mut batch =
            scylla::statement::batch::Batch::new(scylla::statement::batch::BatchType::Unlogged);
        let mut values = Vec::new();
        for i in 0..12 {
            batch.append_statement(insert.clone());
            values.push((list.clone(), format!("w{i}")));
        }
        let result = session.batch(&batch, values).await.unwrap();
        let warnings: Vec<&str> = result.warnings().collect();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("Unlogged batch covering 12 partitions")),
            "{warnings:?}"
        );
    });
}
