//! A list's kept counts: a recount keeps exact figures that every reader
//! gets in one read until the next; a worker keeps the lists it serves
//! counted, leaves a list to another process counting it, and never counts
//! at its first look.

#![cfg(feature = "worker")]

use std::time::Duration;

use taskrec::adapter::StorageAdapter;
use taskrec::{
    KeptCounts, MemoryAdapter, StatusCounts, Task, TaskData, TaskStore, Worker, WorkerConfig,
};

#[derive(Debug, TaskData)]
struct Job {
    n: u32,
}

#[async_trait::async_trait]
impl taskrec::Execute for Job {
    async fn execute(&self, _: &()) -> Result<(), taskrec::BoxError> {
        Ok(())
    }
}

async fn save(store: &TaskStore<MemoryAdapter>, list: &str, ids: std::ops::Range<u32>) {
    for n in ids {
        store
            .save(&Task::new(list, format!("job-{n:03}"), Job { n }).unwrap())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_recount_keeps_exact_figures_that_readers_get_until_the_next() {
    let store = TaskStore::new(MemoryAdapter::new());
    save(&store, "jobs", 0..5).await;
    let claim = store
        .claim("jobs", "job-001", "w", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    store.fail(claim, "broken").await.unwrap();
    store
        .claim("jobs", "job-002", "w", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let at = store.now().await.unwrap();
    store
        .save_scheduled(
            &Task::new("jobs", "later", Job { n: 9 }).unwrap(),
            at + chrono::Duration::hours(1),
        )
        .await
        .unwrap();

    assert_eq!(
        store.kept_counts("jobs").await.unwrap(),
        None,
        "never counted"
    );
    let kept = store.recount("jobs").await.unwrap();
    let c = kept.counts;
    assert_eq!(
        (c.pending, c.claimed, c.failed, c.scheduled, c.total()),
        (3, 1, 1, 1, 6)
    );
    // Kept to the millisecond, as stores keep times.
    assert!(kept.counted_at > at - chrono::Duration::milliseconds(1));
    assert!(kept
        .counted_by
        .ends_with(&format!(":{}", std::process::id())));
    let first_saved = store.find_record("jobs", "job-000").await.unwrap().unwrap();
    assert_eq!(kept.oldest_pending, Some(first_saved.created_at()));
    assert_eq!(store.kept_counts("jobs").await.unwrap(), Some(kept.clone()));

    // What changes after the count is not in the kept figures until the
    // next: their age says how much may have.
    save(&store, "jobs", 10..12).await;
    let minute = Duration::from_secs(60);
    assert_eq!(store.counts("jobs", minute).await.unwrap(), kept);
    let exact = store.counts("jobs", Duration::ZERO).await.unwrap();
    assert_eq!(exact.counts.pending, 5);
    assert_eq!(store.kept_counts("jobs").await.unwrap(), Some(exact));

    // A first count under way elsewhere: no figures to read yet.
    store
        .adapter()
        .keep_counts("marked", &KeptCounts::recount_mark(at, "elsewhere:1"))
        .await
        .unwrap();
    assert_eq!(store.kept_counts("marked").await.unwrap(), None);

    // Another list keeps its own; a bad name is refused by name.
    assert_eq!(store.kept_counts("other").await.unwrap(), None);
    assert!(matches!(
        store.recount("").await,
        Err(taskrec::Error::InvalidTaskList { .. })
    ));
}

fn counting_worker(store: &TaskStore<MemoryAdapter>, every: Duration) -> Worker<MemoryAdapter> {
    let config = WorkerConfig::new("counter")
        .idle_poll(Duration::from_millis(5))
        .count_every(every);
    Worker::new(store.clone(), config)
}

/// Serves `list` for `serving`, then stops.
async fn serve_for(worker: &Worker<MemoryAdapter>, list: &str, serving: Duration) {
    let stop = worker.stop_handle();
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(serving).await;
        stop.stop();
    });
    worker.serve::<Job, _>(&[list], &()).await.unwrap();
    stopper.await.unwrap();
}

#[tokio::test]
async fn a_worker_keeps_the_lists_it_serves_counted() {
    let store = TaskStore::new(MemoryAdapter::new());
    let at = store.now().await.unwrap();
    for n in 0..3 {
        let task = Task::new("jobs", format!("later-{n}"), Job { n }).unwrap();
        store
            .save_scheduled(&task, at + chrono::Duration::hours(1))
            .await
            .unwrap();
    }
    save(&store, "jobs", 0..4).await;
    let worker = counting_worker(&store, Duration::from_millis(20));
    serve_for(&worker, "jobs", Duration::from_millis(400)).await;
    let kept = store
        .kept_counts("jobs")
        .await
        .unwrap()
        .expect("the served list was counted");
    // Counted after the first look, by which time the four had run.
    assert_eq!((kept.counts.scheduled, kept.counts.total()), (3, 3));
    assert!(kept.counted_at > at);

    // Turned off, nothing is counted.
    let store = TaskStore::new(MemoryAdapter::new());
    save(&store, "jobs", 0..2).await;
    let quiet = Worker::new(
        store.clone(),
        WorkerConfig::new("quiet")
            .idle_poll(Duration::from_millis(5))
            .count_every(None),
    );
    serve_for(&quiet, "jobs", Duration::from_millis(200)).await;
    assert_eq!(store.kept_counts("jobs").await.unwrap(), None);
}

#[tokio::test]
async fn a_short_drain_counts_nothing_and_a_list_being_counted_is_left_alone() {
    let store = TaskStore::new(MemoryAdapter::new());
    save(&store, "jobs", 0..3).await;
    // An interval no drain of three tasks outlasts, however loaded the
    // machine: the first look (which only reads) is the only one.
    let drainer = counting_worker(&store, Duration::from_secs(60));
    let report = drainer.drain::<Job, _>("jobs", &()).await.unwrap();
    assert_eq!(report.succeeded, 3);
    assert_eq!(
        store.kept_counts("jobs").await.unwrap(),
        None,
        "the first look only reads"
    );

    // Figures an hour old, of a count that took 10 s; another process
    // began counting again a moment ago: left to it for 2 × 10 s + the
    // interval.
    let now = store.now().await.unwrap();
    let mut counts = StatusCounts::default();
    counts.pending = 42;
    let figures = KeptCounts::new(
        counts,
        None,
        now - chrono::Duration::hours(1),
        Duration::from_secs(10),
        "elsewhere:7",
    );
    let adapter = store.adapter();
    adapter.keep_counts("jobs", &figures).await.unwrap();
    adapter
        .keep_counts("jobs", &figures.recounting_since(now))
        .await
        .unwrap();
    let worker = counting_worker(&store, Duration::from_millis(20));
    serve_for(&worker, "jobs", Duration::from_millis(300)).await;
    assert_eq!(
        store.kept_counts("jobs").await.unwrap(),
        Some(figures.recounting_since(now))
    );

    // Once that count looks dead (its mark older than that), the worker
    // counts the list itself, and its figures clear the mark.
    let store = TaskStore::new(MemoryAdapter::new());
    let adapter = store.adapter();
    adapter.keep_counts("jobs", &figures).await.unwrap();
    let long_ago = now - chrono::Duration::seconds(30);
    adapter
        .keep_counts("jobs", &figures.recounting_since(long_ago))
        .await
        .unwrap();
    let worker = counting_worker(&store, Duration::from_millis(20));
    serve_for(&worker, "jobs", Duration::from_millis(300)).await;
    let kept = store.kept_counts("jobs").await.unwrap().unwrap();
    assert_eq!(
        (kept.counts.total(), kept.recount_since),
        (0, None),
        "{kept:?}"
    );
}
