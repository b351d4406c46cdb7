//! A list's kept counts on Cassandra (`{table}_counts`): a recount keeps
//! exact figures; reading them from another connection reads neither the
//! tasks nor their entries, whatever the list holds; a worker keeps the
//! list it serves counted.
//!
//! What the server read is its own count (`system_views.local_read_latency`)
//! for tables of this test's own.

use std::time::Duration;

use taskrec::cassandra::{CassandraAdapter, TableLayout};
use taskrec::{Task, TaskData, TaskStore, Worker, WorkerConfig};

use crate::utils::{adapter, bucketed, config, reads_of, run, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Tally {
    n: u32,
}

#[async_trait::async_trait]
impl taskrec::Execute for Tally {
    async fn execute(&self, _: &()) -> Result<(), taskrec::BoxError> {
        Ok(())
    }
}

/// The table of the read-count test: reads are counted per table.
const COUNTED: &str = "tally_counted";

async fn store(table: &str) -> TaskStore<CassandraAdapter> {
    let layout = TableLayout::Taskrec { shards: Some(4) };
    TaskStore::new(adapter(config(table, layout)).await)
}

#[test]
fn kept_counts_are_exact_as_counted_and_read_without_reading_the_list() {
    run(async {
        let store = store(COUNTED).await;
        let list = unique_list("tally");
        let tasks: Vec<Task<Tally>> = (0..2_000)
            .map(|n| Task::build(&list, Tally { n }))
            .collect::<taskrec::Result<_>>()
            .unwrap();
        store.save_all(&tasks, 32).await.unwrap();
        for task in &tasks[..5] {
            let claim = store
                .claim(&list, task.id(), "w", Duration::from_secs(60))
                .await
                .unwrap()
                .unwrap();
            if task.data().n < 2 {
                store.fail(claim, "broken").await.unwrap();
            }
        }

        let kept = store.recount(&list).await.unwrap();
        let c = kept.counts;
        assert_eq!(
            (c.pending, c.claimed, c.failed, c.total()),
            (1_995, 3, 2, 2_000)
        );
        // The earliest save among the first pending tasks in listing order:
        // one of these saves, to the millisecond.
        let saved: Vec<_> = tasks[5..].iter().map(|t| t.created_at()).collect();
        let oldest = kept.oldest_pending.expect("pending tasks");
        let (first, last) = (saved.iter().min().unwrap(), saved.iter().max().unwrap());
        assert!(
            *first - chrono::Duration::milliseconds(1) <= oldest && oldest <= *last,
            "{oldest} is not among the saves ({first} to {last})"
        );

        // Another process reads them: one row of the counts table, no task,
        // no entry, however many times.
        let elsewhere = store_elsewhere().await;
        let before = (
            reads_of(COUNTED).await,
            reads_of(&format!("{COUNTED}_entries")).await,
            reads_of(&format!("{COUNTED}_counts")).await,
        );
        for _ in 0..20 {
            let read = elsewhere.kept_counts(&list).await.unwrap();
            assert_eq!(read.as_ref(), Some(&kept));
            let counts = elsewhere
                .counts(&list, Duration::from_secs(3600))
                .await
                .unwrap();
            assert_eq!(counts, kept);
        }
        let after = (
            reads_of(COUNTED).await,
            reads_of(&format!("{COUNTED}_entries")).await,
            reads_of(&format!("{COUNTED}_counts")).await,
        );
        assert_eq!(after.0 - before.0, 0, "reads of the tasks table");
        assert_eq!(after.1 - before.1, 0, "reads of the entries table");
        assert_eq!(after.2 - before.2, 40, "one read of the counts table each");

        // What changed after the count shows at the next.
        let more: Vec<Task<Tally>> = (0..10)
            .map(|n| Task::build(&list, Tally { n }))
            .collect::<taskrec::Result<_>>()
            .unwrap();
        store.save_all(&more, 8).await.unwrap();
        assert_eq!(
            elsewhere
                .kept_counts(&list)
                .await
                .unwrap()
                .unwrap()
                .counts
                .pending,
            1_995
        );
        let exact = elsewhere.counts(&list, Duration::ZERO).await.unwrap();
        assert_eq!(exact.counts.pending, 2_005);
        assert_eq!(store.kept_counts(&list).await.unwrap(), Some(exact));
    });
}

async fn store_elsewhere() -> TaskStore<CassandraAdapter> {
    store(COUNTED).await
}

#[test]
fn a_worker_keeps_the_list_it_serves_counted() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("tally-worker");
        let at = store.now().await.unwrap();
        for n in 0..4 {
            let task = Task::build(&list, Tally { n }).unwrap();
            store
                .save_scheduled(&task, at + chrono::Duration::hours(1))
                .await
                .unwrap();
        }
        let now: Vec<Task<Tally>> = (0..20)
            .map(|n| Task::build(&list, Tally { n }))
            .collect::<taskrec::Result<_>>()
            .unwrap();
        store.save_all(&now, 8).await.unwrap();
        let config = WorkerConfig::new("tally-worker")
            .idle_poll(Duration::from_millis(50))
            .count_every(Duration::from_millis(300));
        let worker = Worker::new(store.clone(), config);
        let stop = worker.stop_handle();
        let watcher = store.clone();
        let watched = list.clone();
        let stopper = tokio::spawn(async move {
            // Until a count after the 20 ran: 4 scheduled, nothing else.
            for _ in 0..300 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let kept = watcher.kept_counts(&watched).await.unwrap();
                if kept.is_some_and(|k| k.counts.total() == 4) {
                    break;
                }
            }
            stop.stop();
        });
        let report = worker.serve::<Tally, _>(&[&list], &()).await.unwrap();
        stopper.await.unwrap();
        assert_eq!(report.succeeded, 20);
        let kept = store.kept_counts(&list).await.unwrap().expect("counted");
        assert_eq!((kept.counts.scheduled, kept.counts.total()), (4, 4));
        assert!(kept
            .counted_by
            .ends_with(&format!(":{}", std::process::id())));
        assert!(kept.counted_at > at);
    });
}
