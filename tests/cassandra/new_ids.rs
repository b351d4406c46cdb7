//! A save of a task whose id taskrec made reads nothing first (issue 21,
//! item 1): its entry goes to the minute its id was made in, while that
//! minute takes writes, and every save of the id agrees on it.
//!
//! What the server read is the server's own count: the `count` of
//! `system_views.local_read_latency` for a table of this test's own, so no
//! other test's reads are in it.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use futures::TryStreamExt;
use taskrec::cassandra::{CassandraAdapter, TableLayout};
use taskrec::{Task, TaskData, TaskStore};

use crate::utils::{adapter, config, directory_slices, reads_of, run, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Fresh {
    n: u32,
}

/// The tables of the two tests: reads are counted per table.
const COUNTED: &str = "fresh_counted";
const PLACED: &str = "fresh_placed";

async fn store(table: &str) -> TaskStore<CassandraAdapter> {
    let layout = TableLayout::Taskrec { shards: Some(4) };
    TaskStore::new(adapter(config(table, layout)).await)
}

/// A version 7 UUID made at `at`, as `Task::build` makes them.
fn id_made_at(at: chrono::DateTime<Utc>) -> String {
    let millis = at.timestamp_millis() as u64;
    let timestamp = uuid::Timestamp::from_unix(
        uuid::NoContext,
        millis / 1_000,
        (millis % 1_000) as u32 * 1_000_000,
    );
    uuid::Uuid::new_v7(timestamp).to_string()
}

fn minute_of(at: chrono::DateTime<Utc>) -> i64 {
    at.timestamp_millis().div_euclid(60_000)
}

#[test]
fn saves_of_built_tasks_read_nothing_and_saves_of_other_ids_read_where_the_entry_is() {
    run(async {
        let store = store(COUNTED).await;
        let list = unique_list("built");
        let before = reads_of(COUNTED).await;
        let mut ids = Vec::new();
        for n in 0..50 {
            let task = Task::build(&list, Fresh { n }).unwrap();
            store.save(&task).await.unwrap();
            ids.push(task.id().to_owned());
        }
        let tasks: Vec<Task<Fresh>> = (0..300)
            .map(|n| Task::build(&list, Fresh { n }))
            .collect::<taskrec::Result<_>>()
            .unwrap();
        assert_eq!(store.save_all(&tasks, 4).await.unwrap(), 300);
        for _ in 0..20 {
            let created = store.create(&list, Fresh { n: 0 }).await.unwrap();
            ids.push(created.id().to_owned());
        }
        assert_eq!(
            reads_of(COUNTED).await - before,
            0,
            "370 saves of built tasks read the tasks table"
        );

        // The counter counts: a save of an id of the caller's reads it once,
        // and so does a save of a built task with `unread_saves(false)`.
        store
            .save(&Task::new(&list, "chosen", Fresh { n: 1 }).unwrap())
            .await
            .unwrap();
        assert_eq!(reads_of(COUNTED).await - before, 1);
        let layout = TableLayout::Taskrec { shards: Some(4) };
        let reading = TaskStore::new(adapter(config(COUNTED, layout).unread_saves(false)).await);
        for n in 0..10 {
            reading
                .save(&Task::build(&list, Fresh { n }).unwrap())
                .await
                .unwrap();
        }
        assert_eq!(reads_of(COUNTED).await - before, 11);
        assert_eq!(store.count(&list).await.unwrap(), 381);
    });
}

#[test]
fn a_built_task_saved_again_keeps_one_entry_in_its_ids_minute() {
    run(async {
        let store = store(PLACED).await;
        let list = unique_list("again");
        // Made a few seconds ago (the minute may have turned since): the
        // entry goes to that minute, however often it is saved meanwhile.
        let made = Utc::now() - TimeDelta::seconds(3);
        let id = id_made_at(made);
        for n in 0..5 {
            store
                .save(&Task::new(&list, &id, Fresh { n }).unwrap())
                .await
                .unwrap();
        }
        assert_eq!(directory_slices(PLACED, &list).await, [minute_of(made)]);
        let listed: Vec<Task<Fresh>> = store.all(&list).try_collect().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].data().n, 4);
        assert_eq!(store.count(&list).await.unwrap(), 1);

        // An id made three minutes ago: its minute takes no writes, so the
        // save reads, finds nothing, and lists it in the current minute;
        // saved again, it stays there, once.
        let old = id_made_at(Utc::now() - TimeDelta::minutes(3));
        for n in 0..3 {
            store
                .save(&Task::new(&list, &old, Fresh { n }).unwrap())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Its entry is in the minute it was saved in (the same as the
        // first task's, or the next).
        let minutes = directory_slices(PLACED, &list).await;
        let now = minute_of(Utc::now());
        assert!(
            minutes.first() == Some(&minute_of(made))
                && minutes.iter().all(|&m| m >= now - 1 && m <= now),
            "{minutes:?}"
        );
        assert_eq!(store.count(&list).await.unwrap(), 2);
        let completed = store.find::<Fresh>(&list, &old).await.unwrap().unwrap();
        store.complete(&completed).await.unwrap();
        let left: Vec<Task<Fresh>> = store.all(&list).try_collect().await.unwrap();
        assert_eq!(left.len(), 1, "its one entry went with it");
    });
}

/// An id made by a process whose clock runs ahead: its entry waits in the
/// id's own minute, listed and counted at once, so that saves once that
/// minute has come (which read nothing) find it where they put theirs.
#[test]
fn a_task_built_by_a_clock_ahead_is_listed_in_its_ids_minute() {
    run(async {
        let store = store(PLACED).await;
        let list = unique_list("ahead");
        let made = Utc::now() + TimeDelta::minutes(3);
        let id = id_made_at(made);
        for n in 0..3 {
            store
                .save(&Task::new(&list, &id, Fresh { n }).unwrap())
                .await
                .unwrap();
        }
        assert_eq!(directory_slices(PLACED, &list).await, [minute_of(made)]);
        assert_eq!(store.count(&list).await.unwrap(), 1);
        let listed: Vec<Task<Fresh>> = store.all(&list).try_collect().await.unwrap();
        assert_eq!(listed.len(), 1);
        store.complete(&listed[0]).await.unwrap();
        assert_eq!(store.count(&list).await.unwrap(), 0);
    });
}

/// An id made in the minute before, saved while that minute still takes
/// unread saves (up to half a minute after it ends): its entry goes there,
/// by `save` and by `save_all` alike, and the directory names it.
#[test]
fn tasks_built_in_the_last_minute_are_listed_in_it() {
    run(async {
        // Half a minute after a minute ends, unread saves stop going into it:
        // start in the first 20 s of a minute.
        let second = Utc::now().timestamp_millis().rem_euclid(60_000);
        if second > 20_000 {
            tokio::time::sleep(Duration::from_millis((61_000 - second) as u64)).await;
        }
        let store = store(PLACED).await;
        let list = unique_list("last-minute");
        let now = Utc::now();
        let last_minute =
            now - TimeDelta::milliseconds(now.timestamp_millis().rem_euclid(60_000) + 2_000);
        let ahead = now + TimeDelta::minutes(3);
        let mut tasks = Vec::new();
        for (n, made) in [last_minute, ahead].into_iter().enumerate() {
            for k in 0..3 {
                let id = id_made_at(made + TimeDelta::milliseconds(k));
                tasks.push(Task::new(&list, id, Fresh { n: n as u32 }).unwrap());
            }
        }
        store.save(&tasks[0]).await.unwrap();
        assert_eq!(store.save_all(&tasks, 2).await.unwrap(), 6);
        assert_eq!(
            directory_slices(PLACED, &list).await,
            [minute_of(last_minute), minute_of(ahead)]
        );
        assert_eq!(store.count(&list).await.unwrap(), 6);

        // An id made more than a day ahead is refused, saved alone or in a group.
        let far = Task::new(&list, id_made_at(now + TimeDelta::days(2)), Fresh { n: 9 }).unwrap();
        let refused = store.save(&far).await.unwrap_err();
        assert!(
            matches!(
                refused,
                taskrec::Error::InvalidId {
                    reason: taskrec::KeyError::MadeAhead { .. }
                }
            ),
            "{refused:?}"
        );
        let refused = store.save_all([&tasks[1], &far], 4).await.unwrap_err();
        assert!(
            matches!(refused, taskrec::Error::InvalidId { .. }),
            "{refused:?}"
        );
        assert_eq!(store.count(&list).await.unwrap(), 6);
    });
}
