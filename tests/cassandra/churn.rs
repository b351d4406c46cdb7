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
//! the server aborts is printed with the error, and the test asserts the
//! figure docs/SCALE.md gives for it.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{CassandraAdapter, TableLayout};
use taskrec::{Task, TaskData, TaskStore, Worker, WorkerConfig};

use crate::own_node::OwnNode;
use crate::tombstones;
use crate::utils::{adapter, chain, config, run, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Item {
    n: u64,
}

const IN_FLIGHT: usize = 128;

/// Rounds of `step` completions until the list's reads fail: how many
/// completions they failed after, or `None` if they never did.
async fn churn_until_reads_fail(
    store: TaskStore<CassandraAdapter>,
    step: u64,
    rounds: u64,
) -> Option<u64> {
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
            return Some(completed);
        }
    }
    None
}

#[test]
#[ignore = "minutes of churn: run on demand (docs/SCALE.md)"]
fn task_rbs_table_reads_until_the_tombstone_limit() {
    run(async {
        let store = TaskStore::new(adapter(config("task_rb_churn", TableLayout::TaskRb)).await);
        // docs/SCALE.md's figure: the reads answer after 50,000 completions
        // and fail after 60,000 (the server's default 100,000 tombstones,
        // a completion's range tombstone counting as two).
        assert_eq!(
            churn_until_reads_fail(store, 10_000, 12).await,
            Some(60_000),
            "the reads of task_rb's table fail between 50,000 and 60,000 completions"
        );
    });
}

/// A list of taskrec's table through which 100,000 tasks have flowed
/// (saved, drained by a worker, completed): a new worker process takes
/// new tasks reading only their hints, and the list's reads still answer.
#[test]
#[ignore = "minutes: 100,000 tasks drained; run on demand (docs/SCALE.md)"]
fn a_list_that_completed_100k_tasks_hands_out_new_ones_by_their_hints() {
    run(flowed_100k(false));
}

/// The same with `owned_parts`: the worker's process owns the list's parts
/// and holds the claims of the tasks it hands out, so each of the 100,000
/// is completed by a delete stamped with the times of its hand-out, with no
/// claim written; what those deletes leave behind must not make the list's
/// reads, or a new owner's hand-outs, grow with them.
#[test]
#[ignore = "minutes: 100,000 tasks drained by held claims; run on demand (docs/SCALE.md)"]
fn a_list_whose_owner_completed_100k_held_claims_hands_out_new_ones_by_their_hints() {
    run(flowed_100k(true));
}

/// 100,000 tasks saved and drained through one list, by processes with or
/// without `owned_parts`, then 100 new ones taken by a new process.
async fn flowed_100k(owned_parts: bool) {
    let layout = TableLayout::Taskrec { shards: Some(16) };
    let list = unique_list("flowed");
    let connect = || adapter(config("churn_bucketed", layout).owned_parts(owned_parts));
    let first = std::sync::Arc::new(connect().await);
    let store = TaskStore::from_arc(std::sync::Arc::clone(&first));
    let started = Instant::now();
    for round in 0..10u64 {
        let tasks: Vec<Task<Item>> = (round * 10_000..(round + 1) * 10_000)
            .map(|n| Task::new(&list, format!("t{n}"), Item { n }).unwrap())
            .collect();
        crate::utils::save_all_for_setup(&store, &tasks, 256).await;
        let worker = Worker::new(store.clone(), WorkerConfig::new("first").concurrency(64));
        let report = worker
            .drain_with::<Item, _>(&list, |_| Box::pin(async { Ok(None) }))
            .await
            .unwrap();
        assert_eq!(report.succeeded, 10_000, "{report:?}");
    }
    let first_reads = first.ready_reads();
    println!(
        "100,000 saved and drained in {:.0} s; the first worker read {first_reads:?}",
        started.elapsed().as_secs_f64(),
    );
    if owned_parts {
        // The premise: most tasks were completed from claims held in
        // memory, never written (a claim by hand would be a transaction).
        assert!(
            first_reads.held_claims >= 90_000 && first_reads.held_claims_written <= 1_000,
            "{first_reads:?}"
        );
    }

    let timed = Instant::now();
    let count = store.count(&list).await.unwrap();
    let page = store.page::<Item>(&list, None, 100).await.unwrap();
    println!(
        "count {count} and page(100) of {} tasks on the emptied list: {:.0} ms",
        page.0.len(),
        timed.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!((count, page.0.len()), (0, 0));

    // A live worker keeps sweeping: after the leases of the last claims
    // and the low mark's lag have passed, its sweep moves the mark past
    // the history, where a new process starts.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let mut token = None;
    loop {
        let step = first
            .next_ready(&list, token.as_ref(), 1000, chrono::Utc::now())
            .await
            .unwrap();
        token = step.next;
        if token.is_none() {
            break;
        }
    }
    if owned_parts {
        // Handed back at once, so the new process need not wait out leases.
        first.stop_sweeping(&list).await.unwrap();
    }

    let fresh: Vec<Task<Item>> = (0..100)
        .map(|n| Task::new(&list, format!("new-{n}"), Item { n }).unwrap())
        .collect();
    store.save_all(&fresh, 64).await.unwrap();
    let second = std::sync::Arc::new(connect().await);
    let worker = Worker::new(
        TaskStore::from_arc(std::sync::Arc::clone(&second)),
        WorkerConfig::new("second").concurrency(16),
    );
    let report = worker
        .drain_with::<Item, _>(&list, |_| Box::pin(async { Ok(None) }))
        .await
        .unwrap();
    assert_eq!(report.succeeded, 100, "{report:?}");
    let reads = second.ready_reads();
    println!("a new process took the 100 new tasks reading {reads:?}");
    // The drain's last sweep walks the emptied list once (only a walk
    // tells a drained list); the tasks themselves came from their hints.
    assert!(reads.walked <= 100, "{reads:?}");
    assert!(reads.hints + reads.states <= 2_000, "{reads:?}");
}

/// What `tombstones.rs` describes. It lives here, not there, for the order
/// libtest starts tests in (by name): the longest test of this binary (its own
/// node, 200,000 tasks paced), started among the first, runs beside the others
/// instead of alone at the end of the run.
#[test]
fn a_list_200k_tasks_flowed_through_reads_under_lowered_tombstone_thresholds() {
    run(async {
        let test = std::time::Instant::now();
        let extra = format!("{}\n{}", tombstones::THRESHOLDS, tombstones::FAST_WRITES);
        let node = OwnNode::start(&[("CASSANDRA_YAML_EXTRA", extra.as_str())]).await;
        let log = node.log_of(1);
        println!(
            "own node at {} with {extra:?}, started in {:.1} s",
            node.address(),
            test.elapsed().as_secs_f64()
        );

        tombstones::task_rbs_table_is_aborted(&node, &log).await;
        tombstones::taskrecs_table_reads_clean(&node, &log).await;
        println!("the whole test took {:.1} s", test.elapsed().as_secs_f64());
    });
}
