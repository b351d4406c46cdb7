//! Listings: many pages, resuming from a kept token, and how a large list
//! spreads over the buckets.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{CassandraAdapter, TableLayout};
use taskrec::{PageToken, Task, TaskData, TaskStore};

use crate::utils::{adapter, bucketed, config, raw_session, run, task_rb, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Item {
    n: u32,
}

async fn fill(store: &TaskStore<CassandraAdapter>, list: &str, n: u32) -> BTreeSet<String> {
    let tasks: Vec<Task<Item>> = (0..n)
        .map(|n| Task::new(list, format!("item-{n:05}"), Item { n }))
        .collect::<taskrec::Result<_>>()
        .unwrap();
    assert_eq!(
        crate::utils::save_all_for_setup(store, &tasks, 256).await,
        u64::from(n)
    );
    tasks.iter().map(|t| t.id().to_owned()).collect()
}

async fn walk_in_pages(
    store: &TaskStore<CassandraAdapter>,
    list: &str,
    size: usize,
) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut token) = (Vec::new(), 0, None::<PageToken>);
    loop {
        let (tasks, next) = store
            .page::<Item>(list, token.as_ref(), size)
            .await
            .unwrap();
        pages += 1;
        assert!(tasks.len() <= size);
        ids.extend(tasks.iter().map(|t| t.as_ref().unwrap().id().to_owned()));
        match next {
            Some(next) => token = Some(next),
            None => return (ids, pages),
        }
    }
}

#[test]
fn a_list_walks_across_many_pages_on_both_layouts() {
    run(async {
        for store in [
            TaskStore::new(bucketed().await),
            TaskStore::new(task_rb().await),
        ] {
            let list = unique_list("many-pages");
            let ids = fill(&store, &list, 1000).await;
            let (seen, pages) = walk_in_pages(&store, &list, 7).await;
            assert_eq!(seen.len(), 1000, "every task once");
            assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), ids);
            assert!(pages >= 1000 / 7, "{pages} pages of at most 7");
            let streamed: Vec<Task<Item>> = store.all(&list).try_collect().await.unwrap();
            assert_eq!(
                streamed.len(),
                1000,
                "the stream crosses the driver's pages (100 rows each)"
            );
        }
    });
}

#[test]
fn a_kept_token_resumes_in_another_adapter() {
    run(async {
        for layout in [
            TableLayout::Taskrec { shards: Some(16) },
            TableLayout::TaskRb,
        ] {
            let table = match layout {
                TableLayout::TaskRb => "task_rb_tasks",
                _ => "tasks",
            };
            let list = unique_list("resume");
            let first = TaskStore::new(adapter(config(table, layout)).await);
            let ids = fill(&first, &list, 300).await;

            let (page1, token) = first.page::<Item>(&list, None, 120).await.unwrap();
            let kept = token.expect("more pages").to_string();
            drop(first); // the session is gone; only the text survives

            let second = TaskStore::new(adapter(config(table, layout)).await);
            let (rest, _) = {
                let mut seen: Vec<String> = Vec::new();
                let mut token: Option<PageToken> = Some(kept.parse().unwrap());
                while let Some(at) = token {
                    let (tasks, next) = second.page::<Item>(&list, Some(&at), 120).await.unwrap();
                    seen.extend(tasks.iter().map(|t| t.as_ref().unwrap().id().to_owned()));
                    token = next;
                }
                (seen, ())
            };
            let mut all: Vec<String> = page1
                .iter()
                .map(|t| t.as_ref().unwrap().id().to_owned())
                .collect();
            all.extend(rest);
            assert_eq!(all.len(), 300, "{layout:?}: no task twice, none missed");
            assert_eq!(all.into_iter().collect::<BTreeSet<_>>(), ids, "{layout:?}");
        }
    });
}

#[test]
fn ten_thousand_tasks_spread_evenly_over_sixteen_buckets() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        assert_eq!(store.adapter().shards(), 16);
        let list = unique_list("spread");
        fill(&store, &list, 10_000).await;

        // Listings read the entries table: partitions (list, minute, shard),
        // the minutes named by the days and slices tables.
        let session = raw_session().await;
        let ks = crate::utils::keyspace();
        let slices = crate::utils::directory_slices("tasks", &list).await;
        assert!(!slices.is_empty() && slices.len() <= 3, "{slices:?}");
        let cql = format!(
            "SELECT COUNT(*) FROM {ks}.tasks_entries WHERE task_list = ? AND slice = ? AND shard = ?"
        );
        let mut counts = vec![0i64; 16];
        for &slice in &slices {
            for shard in 0..16i32 {
                let (n,): (i64,) = session
                    .query_unpaged(cql.as_str(), (&list, slice, shard))
                    .await
                    .unwrap()
                    .into_rows_result()
                    .unwrap()
                    .single_row()
                    .unwrap();
                counts[shard as usize] += n;
            }
        }
        let share = 10_000 / 16;
        assert_eq!(counts.iter().sum::<i64>(), 10_000, "{counts:?}");
        assert!(
            counts.iter().all(|&n| n <= 2 * share),
            "no shard over twice its share: {counts:?}"
        );
        assert_eq!(store.count(&list).await.unwrap(), 10_000);
        let distinct: BTreeSet<String> = store
            .adapter()
            .all(&list)
            .map_ok(|r| r.id().to_owned())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(distinct.len(), 10_000);
    });
}
