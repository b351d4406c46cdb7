//! Load: many saves with 256 in flight, then count and list the list; the
//! numbers must match exactly, with no error. 100,000 saves against the test
//! server in every run; a million on demand (ignored; docs/RELIABILITY.md):
//!
//! ```sh
//! TASKREC_CASSANDRA=host:9042 cargo test --release --all-features --test cassandra \
//!     load::a_million_saves -- --ignored --nocapture
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use taskrec::cassandra::{CassandraAdapter, TableLayout};
use taskrec::{Task, TaskData, TaskStore};

use crate::utils::{
    adapter, chain, config, directory_slices, keyspace, raw_session, run, unique_list,
};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Item {
    n: u64,
    payload: String,
}

const IN_FLIGHT: usize = 256;

async fn save_count_list(saves: u64) {
    let _alone = crate::utils::HEAVY.lock().await;
    let store: TaskStore<CassandraAdapter> = TaskStore::new(
        adapter(config("load", TableLayout::Taskrec { shards: Some(16) }).page_size(5000)).await,
    );
    let list = unique_list("load");
    let payload = "x".repeat(100);

    let started = Instant::now();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut slowest = Duration::ZERO;
    let mut acked = 0u64;
    let mut results = futures::stream::iter(0..saves)
        .map(|n| {
            let task = Task::new(
                list.as_str(),
                format!("{n:08}"),
                Item {
                    n,
                    payload: payload.clone(),
                },
            )
            .unwrap();
            let store = &store;
            async move {
                let at = Instant::now();
                let result = store.save(&task).await;
                (result, at.elapsed())
            }
        })
        .buffer_unordered(IN_FLIGHT);
    while let Some((result, took)) = results.next().await {
        slowest = slowest.max(took);
        match result {
            Ok(()) => acked += 1,
            Err(e) => {
                let text: String = chain(&e).chars().take(200).collect();
                *errors.entry(text).or_default() += 1;
            }
        }
    }
    drop(results);
    let saving = started.elapsed();

    let at = Instant::now();
    let count = store.count(&list).await.unwrap();
    let counting = at.elapsed();

    // The lazy listing: every id once, nothing else.
    let at = Instant::now();
    let mut seen = vec![false; usize::try_from(saves).unwrap()];
    let (listed, duplicates, strangers) = store
        .all::<Item>(&list)
        .try_fold((0u64, 0u64, 0u64), |(listed, dup, strange), task| {
            let slot = task.id().parse::<usize>().ok().filter(|&i| i < seen.len());
            let (dup, strange) = match slot {
                Some(i) if seen[i] => (dup + 1, strange),
                Some(i) => {
                    seen[i] = true;
                    (dup, strange)
                }
                None => (dup, strange + 1),
            };
            async move { Ok((listed + 1, dup, strange)) }
        })
        .await
        .unwrap();
    let listing = at.elapsed();
    let missing = seen.iter().filter(|s| !**s).count();

    // How the list is spread: the tasks table holds one task per partition
    // (its key is (list, id)); the entries partitions hold a minute of the
    // list's new tasks each, over the 16 shards.
    let rows = entries_partition_rows(&list).await;
    let largest = rows.iter().copied().max().unwrap_or(0);
    println!(
        "load: entries in {} partitions ({} minutes x 16 shards), {} rows in all, at most {largest} in one",
        rows.len(),
        rows.len() / 16,
        rows.iter().sum::<i64>(),
    );
    assert_eq!(rows.iter().sum::<i64>(), i64::try_from(saves).unwrap());
    assert!(largest < 100_000, "an entries partition of {largest} rows");

    println!(
        "load: {saves} saves at {IN_FLIGHT} in flight in {saving:.1?} ({:.0}/s), {acked} acknowledged, \
         {} errors {errors:?}, slowest save {slowest:.0?}; count {count} in {counting:.1?}; \
         listed {listed} in {listing:.1?} ({duplicates} duplicates, {strangers} unknown, {missing} missing)",
        saves as f64 / saving.as_secs_f64(),
        saves - acked,
    );
    assert!(
        errors.is_empty(),
        "{} saves failed: {errors:?}",
        saves - acked
    );
    assert_eq!(count, saves);
    assert_eq!((listed, duplicates, strangers, missing), (saves, 0, 0, 0));
}

#[test]
fn a_hundred_thousand_saves_then_count_and_list_exactly() {
    run(save_count_list(100_000));
}

#[test]
#[ignore = "a million saves: minutes; run on demand (docs/RELIABILITY.md)"]
fn a_million_saves_then_count_and_list_exactly() {
    run(save_count_list(1_000_000));
}

/// The rows of each entries partition of the list: every shard of every
/// minute the directory names.
async fn entries_partition_rows(list: &str) -> Vec<i64> {
    let session = raw_session().await;
    let cql = format!(
        "SELECT COUNT(*) FROM {}.load_entries WHERE task_list = ? AND slice = ? AND shard = ?",
        keyspace()
    );
    let mut rows = Vec::new();
    for slice in directory_slices("load", list).await {
        for shard in 0..16i32 {
            let result = session.query_unpaged(cql.as_str(), (list, slice, shard));
            let (n,): (i64,) = result
                .await
                .unwrap()
                .into_rows_result()
                .unwrap()
                .single_row()
                .unwrap();
            rows.push(n);
        }
    }
    rows
}
