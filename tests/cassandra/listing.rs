//! How taskrec's table lists (schema 3): entries in partitions of a minute
//! ("slice") and shard, a directory of slices and days, closed slices found
//! empty marked drained and skipped, the low mark moving past them, and
//! saves of a task whose slice has closed moving its entry. The tests put
//! tasks an hour in the past by writing their rows as a foreign writer
//! would, since a slice closes only minutes after it ends.

use chrono::Utc;
use futures::TryStreamExt;
use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{shard_of, CassandraAdapter};
use taskrec::{Task, TaskData, TaskStatus, TaskStore};

use crate::utils::{bucketed, directory_slices, keyspace, raw_session, run, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Item {
    n: u32,
}

fn current_slice() -> i64 {
    Utc::now().timestamp_millis().div_euclid(60_000)
}

fn day(slice: i64) -> i64 {
    slice.div_euclid(1_440)
}

/// Writes a task with its entry in `slice`, and the directory rows, as
/// taskrec's own save would have written them then.
async fn put_in_slice(list: &str, id: &str, n: u32, slice: i64) {
    let session = raw_session().await;
    let ks = keyspace();
    let data = format!("{{\"n\":{n}}}");
    let at = scylla::value::CqlTimestamp(slice * 60_000);
    session
        .query_unpaged(
            format!(
                "INSERT INTO {ks}.tasks (task_list, id, type, data, created_at, updated_at, slice) \
                 VALUES (?, ?, 'Item', ?, ?, ?, ?)"
            ),
            (list, id, &data, at, at, slice),
        )
        .await
        .unwrap();
    session
        .query_unpaged(
            format!(
                "INSERT INTO {ks}.tasks_entries (task_list, slice, shard, id, type, data, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, 'Item', ?, ?, ?)"
            ),
            (list, slice, shard_of(id, 16) as i32, id, &data, at, at),
        )
        .await
        .unwrap();
    session
        .query_unpaged(
            format!("INSERT INTO {ks}.tasks_slices (task_list, day, slice) VALUES (?, ?, ?)"),
            (list, day(slice), slice),
        )
        .await
        .unwrap();
    session
        .query_unpaged(
            format!("INSERT INTO {ks}.tasks_days (task_list, day) VALUES (?, ?)"),
            (list, day(slice)),
        )
        .await
        .unwrap();
}

/// Whether the directory marks `slice` drained.
async fn drained(list: &str, slice: i64) -> Option<bool> {
    raw_session()
        .await
        .query_unpaged(
            format!(
                "SELECT drained FROM {}.tasks_slices WHERE task_list = ? AND day = ? AND slice = ?",
                keyspace()
            ),
            (list, day(slice), slice),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .single_row::<(Option<bool>,)>()
        .unwrap()
        .0
}

async fn low_mark(list: &str) -> Option<i64> {
    raw_session()
        .await
        .query_unpaged(
            format!(
                "SELECT low FROM {}.tasks_days WHERE task_list = ? LIMIT 1",
                keyspace()
            ),
            (list,),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .maybe_first_row::<(Option<i64>,)>()
        .unwrap()
        .and_then(|(low,)| low)
}

/// The ids in the entries partition of `id`'s shard in `slice`.
async fn entry_ids(list: &str, slice: i64, id: &str) -> Vec<String> {
    raw_session()
        .await
        .query_unpaged(
            format!(
                "SELECT id FROM {}.tasks_entries WHERE task_list = ? AND slice = ? AND shard = ?",
                keyspace()
            ),
            (list, slice, shard_of(id, 16) as i32),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .rows::<(String,)>()
        .unwrap()
        .map(|row| row.unwrap().0)
        .collect()
}

async fn listed(store: &TaskStore<CassandraAdapter>, list: &str) -> Vec<(String, u32)> {
    let mut tasks: Vec<(String, u32)> = store
        .all::<Item>(list)
        .map_ok(|task| (task.id().to_owned(), task.data().n))
        .try_collect()
        .await
        .unwrap();
    tasks.sort();
    tasks
}

#[test]
fn closed_slices_found_empty_are_marked_drained_and_the_low_mark_moves_past_them() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("slices");
        let (two_hours_ago, an_hour_ago) = (current_slice() - 120, current_slice() - 60);
        for n in 0..5 {
            put_in_slice(&list, &format!("older-{n}"), n, two_hours_ago).await;
            put_in_slice(&list, &format!("old-{n}"), n, an_hour_ago).await;
        }
        assert_eq!(store.count(&list).await.unwrap(), 10);
        assert_eq!(
            low_mark(&list).await,
            Some(two_hours_ago),
            "the first slice left"
        );

        // The older slice is emptied: the next listing marks it drained and
        // starts the list after it from then on.
        for n in 0..5 {
            store
                .adapter()
                .delete(&list, &format!("older-{n}"))
                .await
                .unwrap();
        }
        assert_eq!(
            entry_ids(&list, two_hours_ago, "older-0").await,
            Vec::<String>::new()
        );
        assert_eq!(store.count(&list).await.unwrap(), 5);
        assert_eq!(drained(&list, two_hours_ago).await, Some(true));
        assert_eq!(drained(&list, an_hour_ago).await, None, "still holds tasks");
        assert_eq!(low_mark(&list).await, Some(an_hour_ago));
        let expected: Vec<(String, u32)> = (0..5).map(|n| (format!("old-{n}"), n)).collect();
        assert_eq!(listed(&store, &list).await, expected);

        // All done: the first listing of another process (which has not
        // seen the slice holding tasks lately) marks it drained, and the low
        // mark moves up to the slices that may still be written.
        for n in 0..5 {
            store
                .adapter()
                .delete(&list, &format!("old-{n}"))
                .await
                .unwrap();
        }
        let page = bucketed().await.page(&list, None, 100).await.unwrap();
        assert!(page.records.is_empty() && page.next.is_none());
        assert_eq!(drained(&list, an_hour_ago).await, Some(true));
        let low = low_mark(&list).await.unwrap();
        assert!(
            low > an_hour_ago && low <= current_slice() - 5,
            "low mark {low}, now {}",
            current_slice()
        );

        // A new task is listed: it is written in the current slice, past the mark.
        store
            .save(&Task::new(&list, "new", Item { n: 7 }).unwrap())
            .await
            .unwrap();
        assert_eq!(listed(&store, &list).await, vec![("new".to_owned(), 7)]);
        assert_eq!(store.count(&list).await.unwrap(), 1);
    });
}

#[test]
fn a_task_saved_again_after_its_slice_closed_moves_to_the_current_slice() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("moves");
        let an_hour_ago = current_slice() - 60;
        put_in_slice(&list, "t", 1, an_hour_ago).await;
        put_in_slice(&list, "stays", 2, an_hour_ago).await;
        assert_eq!(
            entry_ids(&list, an_hour_ago, "t").await,
            vec!["t".to_owned()]
        );

        let mut task: Task<Item> = store.find(&list, "t").await.unwrap().unwrap();
        task.data_mut().n = 10;
        store.save(&task).await.unwrap();

        // Out of the closed slice, into the current one, listed once.
        assert!(!entry_ids(&list, an_hour_ago, "t")
            .await
            .contains(&"t".to_owned()));
        let now = current_slice();
        let moved_to = [now - 1, now, now + 1];
        let mut found = Vec::new();
        for slice in moved_to {
            found.extend(entry_ids(&list, slice, "t").await);
        }
        assert_eq!(found, vec!["t".to_owned()]);
        assert_eq!(
            listed(&store, &list).await,
            vec![("stays".to_owned(), 2), ("t".to_owned(), 10)]
        );
        // Saved again at once: rewritten in place, still listed once.
        task.data_mut().n = 11;
        store.save(&task).await.unwrap();
        assert_eq!(
            listed(&store, &list).await,
            vec![("stays".to_owned(), 2), ("t".to_owned(), 11)]
        );
        assert_eq!(store.count(&list).await.unwrap(), 2);

        // Completed: its row and its entry are gone; the closed slice keeps
        // the task that stays, so it is not drained.
        store.adapter().delete(&list, "t").await.unwrap();
        assert_eq!(listed(&store, &list).await, vec![("stays".to_owned(), 2)]);
        assert_eq!(drained(&list, an_hour_ago).await, None);
        assert_eq!(low_mark(&list).await, Some(an_hour_ago));
    });
}

/// The ids in the failed index of `list`: every shard of every minute its
/// directory names.
async fn failed_index(list: &str) -> Vec<String> {
    let session = raw_session().await;
    let cql = format!(
        "SELECT id FROM {}.tasks_failed_entries WHERE task_list = ? AND slice = ? AND shard IN ?",
        keyspace()
    );
    let shards: Vec<i32> = (0..16).collect();
    let mut ids = Vec::new();
    for slice in directory_slices("tasks_failed", list).await {
        let result = session.query_unpaged(cql.as_str(), (list, slice, &shards));
        let rows = result.await.unwrap().into_rows_result().unwrap();
        ids.extend(rows.rows::<(String,)>().unwrap().map(|r| r.unwrap().0));
    }
    ids.sort();
    ids
}

#[test]
fn failed_tasks_are_listed_from_an_index_of_their_own() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("failed");
        let tasks: Vec<Task<Item>> = (0..500)
            .map(|n| Task::new(&list, format!("t{n:03}"), Item { n }).unwrap())
            .collect();
        store.save_all(&tasks, 64).await.unwrap();
        for id in ["t007", "t123", "t499"] {
            let claim = store
                .claim(&list, id, "w", std::time::Duration::from_secs(60))
                .await
                .unwrap()
                .unwrap();
            assert!(store.fail(claim, &format!("{id} broke")).await.unwrap());
        }

        // The index holds the three, and a listing of failed tasks reads it:
        // the failed tasks with their errors, none of the 497 others.
        let failed = ["t007", "t123", "t499"].map(str::to_owned).to_vec();
        assert_eq!(failed_index(&list).await, failed);
        let failed_page = |size| {
            let (store, list) = (&store, &list);
            async move {
                let page = store
                    .page_by_status(list, TaskStatus::Failed, None, size)
                    .await
                    .unwrap();
                page.tasks
                    .into_iter()
                    .map(|task| {
                        let state = task.state.unwrap();
                        (
                            task.record.id().to_owned(),
                            state.attempts,
                            state.last_error,
                        )
                    })
                    .collect::<Vec<_>>()
            }
        };
        let mut listed = failed_page(100).await;
        listed.sort();
        let expected: Vec<(String, u32, Option<String>)> = failed
            .iter()
            .map(|id| (id.clone(), 1, Some(format!("{id} broke"))))
            .collect();
        assert_eq!(listed, expected);
        let counts = store.count_by_status(&list).await.unwrap();
        assert_eq!(
            (counts.pending, counts.failed, counts.total()),
            (497, 3, 500)
        );

        // Reset (retried) and purged: the next listing finds their entries
        // stale and removes them.
        assert!(store.reset(&list, "t123").await.unwrap());
        store.delete(&list, "t499").await.unwrap();
        assert_eq!(failed_page(100).await.len(), 1);
        assert_eq!(failed_index(&list).await, vec!["t007".to_owned()]);
        let counts = store.count_by_status(&list).await.unwrap();
        assert_eq!(
            (counts.pending, counts.failed, counts.total()),
            (498, 1, 499)
        );
    });
}
