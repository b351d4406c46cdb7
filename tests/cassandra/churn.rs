//! Lists that tasks flow through: how many completions a list's reads
//! survive, on a server with its default tombstone thresholds. On demand
//! (ignored; figures in docs/SCALE.md):
//!
//! ```sh
//! TASKREC_CASSANDRA=host:9042 cargo test --release --all-features --test cassandra \
//!     churn:: -- --ignored --nocapture
//! ```
//!
//! Each round saves and completes a step of tasks through one list, then
//! counts the list and reads its first page; the first round whose reads
//! the server aborts is printed with the error.

use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use taskrec::cassandra::{CassandraAdapter, TableLayout};
use taskrec::{Task, TaskData, TaskStore};

use crate::utils::{adapter, chain, config, run, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Item {
    n: u64,
}

const IN_FLIGHT: usize = 128;

async fn churn_until_reads_fail(store: TaskStore<CassandraAdapter>, step: u64, rounds: u64) {
    let list = unique_list("churn");
    let mut completed = 0u64;
    for _ in 0..rounds {
        let started = Instant::now();
        futures::stream::iter(completed..completed + step)
            .map(|n| {
                let (store, list) = (&store, &list);
                async move {
                    let task = Task::new(list, format!("t{n}"), Item { n })?;
                    store.save(&task).await?;
                    store.complete(&task).await
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<()>()
            .await
            .unwrap();
        completed += step;
        let count = store.count(&list).await;
        let page = store.page::<Item>(&list, None, 100).await;
        println!(
            "{completed:>8} completed ({:.1} s): count {}, page(100) {}",
            started.elapsed().as_secs_f64(),
            count.as_ref().map_or_else(|e| chain(e), |n| n.to_string()),
            page.as_ref()
                .map_or_else(|e| chain(e), |p| format!("{} tasks", p.0.len())),
        );
        if count.is_err() || page.is_err() {
            return;
        }
    }
}

#[test]
#[ignore = "minutes of churn: run on demand (docs/SCALE.md)"]
fn task_rbs_table_reads_until_the_tombstone_limit() {
    run(async {
        let store = TaskStore::new(adapter(config("task_rb_churn", TableLayout::TaskRb)).await);
        churn_until_reads_fail(store, 10_000, 12).await;
    });
}
