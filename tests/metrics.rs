//! The metrics taskrec records, read back from a recorder: exact counts
//! after a drain with retries and a final failure on the memory adapter.

#![cfg(feature = "worker")]

#[path = "support/wrapper.rs"]
mod wrapper;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;
use taskrec::observe::{
    ATTEMPTS_TOTAL, ATTEMPT_DURATION_SECONDS, CLAIMS_TOTAL, COMPLETED_TOTAL, FAILURES_TOTAL,
    LIST_COUNTED_TIMESTAMP_SECONDS, LIST_OLDEST_PENDING_AGE_SECONDS, LIST_TASKS, LOST_LEASES_TOTAL,
    OPERATION_DURATION_SECONDS, RETRIES_TOTAL, SAVED_TOTAL, TASK_TAKEOVERS_TOTAL,
    TIME_TO_FIRST_CLAIM_SECONDS, UNKNOWN_TYPES_TOTAL,
};
use taskrec::{Backoff, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
use wrapper::{Method, Wrapped};

#[derive(Debug, TaskData)]
struct Job {
    /// Attempts that fail before one succeeds (u32::MAX: always fails).
    fail_first: u32,
}

/// A metric as `name{label=value,…}`, labels sorted, for comparing.
fn id(name: &str, labels: &[(&str, &str)]) -> String {
    let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    format!("{name}{{{}}}", labels.join(","))
}

/// Counters by `id`, and histograms' sample counts by `id`.
fn read(snapshotter: &Snapshotter) -> (BTreeMap<String, u64>, BTreeMap<String, usize>) {
    let (mut counters, mut histograms) = (BTreeMap::new(), BTreeMap::new());
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let labels: Vec<(&str, &str)> = key
            .key()
            .labels()
            .map(|label| (label.key(), label.value()))
            .collect();
        let name = id(key.key().name(), &labels);
        match (key.kind(), value) {
            (MetricKind::Counter, DebugValue::Counter(n)) => {
                counters.insert(name, n);
            }
            (MetricKind::Histogram, DebugValue::Histogram(samples)) => {
                histograms.insert(name, samples.len());
            }
            (kind, value) => panic!("unexpected {kind:?} {name}: {value:?}"),
        }
    }
    (counters, histograms)
}

/// Runs `body` on a runtime of this thread, with `recorder` as this
/// thread's recorder: tests running beside it do not count here.
fn with_recorder<F: std::future::Future>(recorder: &DebuggingRecorder, body: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(recorder, || runtime.block_on(body))
}

#[test]
fn a_drain_counts_claims_attempts_retries_failures_and_completions() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let report = with_recorder(&recorder, async {
        let store = TaskStore::new(MemoryAdapter::new());
        for (id, fail_first) in [("ok", 0), ("flaky", 1), ("broken", u32::MAX)] {
            store
                .save(&Task::new("metered", id, Job { fail_first })?)
                .await?;
        }
        let config = WorkerConfig::new("w").max_attempts(2).backoff(Backoff::new(
            Duration::from_millis(1),
            1.0,
            Duration::from_millis(1),
        ));
        let tries: std::collections::HashMap<String, AtomicU32> = ["ok", "flaky", "broken"]
            .into_iter()
            .map(|id| (id.to_owned(), AtomicU32::new(0)))
            .collect();
        let tries = &tries;
        Worker::new(store, config)
            .drain_with::<Job, _>("metered", |task| {
                let tried = tries[task.id()].fetch_add(1, Ordering::SeqCst);
                let fails = tried < task.data().fail_first;
                Box::pin(async move {
                    if fails {
                        Err("broke".into())
                    } else {
                        Ok(None)
                    }
                })
            })
            .await
    })
    .unwrap();
    assert_eq!((report.succeeded, report.retried, report.failed), (2, 2, 1));

    let (counters, histograms) = read(&snapshotter);
    let task = [("task_list", "metered"), ("task_type", "Job")];
    let with = |key: &'static str, value: &'static str| {
        let mut labels = task.to_vec();
        labels.push((key, value));
        labels
    };
    let expected: BTreeMap<String, u64> = [
        (id(SAVED_TOTAL, &task), 3),
        (id(CLAIMS_TOTAL, &with("result", "won")), 5),
        (id(ATTEMPTS_TOTAL, &task), 5),
        (id(RETRIES_TOTAL, &task), 2),
        (id(FAILURES_TOTAL, &task), 1),
        (id(COMPLETED_TOTAL, &task), 2),
        // Present from the start, at zero: nothing was lost or taken over.
        (id(CLAIMS_TOTAL, &with("result", "lost")), 0),
        (id(LOST_LEASES_TOTAL, &task), 0),
        (id(TASK_TAKEOVERS_TOTAL, &task), 0),
    ]
    .into_iter()
    .collect();
    assert_eq!(counters, expected);

    let expected: BTreeMap<String, usize> = [
        (id(TIME_TO_FIRST_CLAIM_SECONDS, &task), 3),
        (
            id(ATTEMPT_DURATION_SECONDS, &with("outcome", "succeeded")),
            2,
        ),
        (id(ATTEMPT_DURATION_SECONDS, &with("outcome", "failed")), 3),
    ]
    .into_iter()
    .collect();
    assert_eq!(histograms, expected);
    // The memory adapter's calls are not timed.
    assert!(!histograms
        .keys()
        .any(|k| k.starts_with(OPERATION_DURATION_SECONDS)));
}

#[test]
fn completing_a_task_counts_it() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    with_recorder(&recorder, async {
        let store = TaskStore::new(MemoryAdapter::new());
        let task = store.create("done", Job { fail_first: 0 }).await?;
        store.complete(&task).await?;
        store.delete("done", "never-saved").await // not a completion
    })
    .unwrap();
    let (counters, _) = read(&snapshotter);
    let saved = [("task_list", "done"), ("task_type", "Job")];
    assert_eq!(counters.get(&id(SAVED_TOTAL, &saved)), Some(&1));
    // `complete` takes any `Task<T>`: the type is not known there.
    let completed = [("task_list", "done"), ("task_type", "")];
    assert_eq!(counters.get(&id(COMPLETED_TOTAL, &completed)), Some(&1));
}

/// A task claimed from a holder whose lease ran out is counted as a
/// takeover; one claimed while pending is not.
#[test]
fn a_task_taken_from_a_dead_holder_is_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    with_recorder(&recorder, async {
        let store = TaskStore::new(MemoryAdapter::new());
        store
            .save(&Task::new("taken", "t1", Job { fail_first: 0 })?)
            .await?;
        store
            .save(&Task::new("taken", "t2", Job { fail_first: 0 })?)
            .await?;
        // The dead holder's lease: a millisecond.
        let dead = store
            .claim("taken", "t1", "dead-worker", Duration::from_millis(1))
            .await?;
        assert!(dead.is_some());
        tokio::time::sleep(Duration::from_millis(20)).await;
        let lease = Duration::from_secs(30);
        assert!(store.claim("taken", "t1", "heir", lease).await?.is_some());
        assert!(store.claim("taken", "t2", "heir", lease).await?.is_some());
        Ok::<_, taskrec::Error>(())
    })
    .unwrap();
    let (counters, _) = read(&snapshotter);
    let labels = [("task_list", "taken"), ("task_type", "Job")];
    assert_eq!(counters.get(&id(TASK_TAKEOVERS_TOTAL, &labels)), Some(&1));
}

/// A ready task of a type the worker does not run is counted each time the
/// worker meets it, by list and type; failed once it has waited, it counts
/// as a failure too.
#[test]
fn a_task_of_a_type_the_worker_does_not_run_is_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    with_recorder(&recorder, async {
        let store = TaskStore::new(MemoryAdapter::new());
        let typo = taskrec::TaskRecord::new("typos", "t1", "Jbo", "{}")?;
        taskrec::adapter::StorageAdapter::store(store.adapter(), &typo).await?;
        let never_runs = |_| -> taskrec::HandlerFuture<'static> { Box::pin(async { Ok(None) }) };
        let worker = Worker::new(store.clone(), WorkerConfig::new("w"));
        worker.drain_with::<Job, _>("typos", never_runs).await?; // left: met once
        worker.drain_with::<Job, _>("typos", never_runs).await?; // and again
        let failing = WorkerConfig::new("w").fail_unknown_types_after(Duration::ZERO);
        Worker::new(store, failing)
            .drain_with::<Job, _>("typos", never_runs)
            .await
    })
    .unwrap();
    let (counters, _) = read(&snapshotter);
    let labels = [("task_list", "typos"), ("task_type", "Jbo")];
    assert_eq!(counters.get(&id(UNKNOWN_TYPES_TOTAL, &labels)), Some(&3));
    assert_eq!(counters.get(&id(FAILURES_TOTAL, &labels)), Some(&1));
}

#[test]
fn with_no_recorder_nothing_is_recorded_and_nothing_fails() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = TaskStore::new(MemoryAdapter::new());
        store.create("quiet", Job { fail_first: 0 }).await.unwrap();
        let worker = Worker::new(store, WorkerConfig::new("w"));
        let report = worker
            .drain_with::<Job, _>("quiet", |_| Box::pin(async { Ok(None) }))
            .await
            .unwrap();
        assert_eq!(report.succeeded, 1);
    });
}

/// A claim lost while its handler ran (the task saved again under it) is a
/// lost lease, counted with its list and type; the task's second claim
/// then runs it.
#[test]
fn a_lost_lease_is_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let report = with_recorder(&recorder, async {
        let store = TaskStore::new(MemoryAdapter::new());
        let task = Task::new("leases", "resaved", Job { fail_first: 0 })?;
        store.save(&task).await?;
        let runs = AtomicU32::new(0);
        let (store_ref, task_ref, runs_ref) = (&store, &task, &runs);
        Worker::new(store.clone(), WorkerConfig::new("w"))
            .drain_with::<Job, _>("leases", |_| {
                let first = runs_ref.fetch_add(1, Ordering::SeqCst) == 0;
                Box::pin(async move {
                    if first {
                        // New work under the same key: this claim no longer holds.
                        store_ref.save(task_ref).await?;
                    }
                    Ok(None)
                })
            })
            .await
    })
    .unwrap();
    assert_eq!((report.succeeded, report.lost), (1, 1), "{report:?}");

    let (counters, histograms) = read(&snapshotter);
    let task = [("task_list", "leases"), ("task_type", "Job")];
    assert_eq!(counters.get(&id(LOST_LEASES_TOTAL, &task)), Some(&1));
    assert_eq!(counters.get(&id(ATTEMPTS_TOTAL, &task)), Some(&2));
    assert_eq!(counters.get(&id(COMPLETED_TOTAL, &task)), Some(&1));
    // The handler succeeded both times; the first outcome could not be
    // recorded (the claim was gone): a lost lease, not a lost run.
    let succeeded = [
        ("task_list", "leases"),
        ("task_type", "Job"),
        ("outcome", "succeeded"),
    ];
    assert_eq!(
        histograms.get(&id(ATTEMPT_DURATION_SECONDS, &succeeded)),
        Some(&2)
    );
}

/// A claim lost to another writer is counted as `result="lost"`, the
/// claim that follows as won.
#[test]
fn a_lost_claim_is_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let report = with_recorder(&recorder, async {
        let store = TaskStore::new(Wrapped::new());
        let task = Task::new("claims", "raced", Job { fail_first: 0 })?;
        store.save(&task).await?;
        // A producer's new version lands between the worker's read of the
        // task and its claim, which the claim then loses.
        store
            .adapter()
            .store_before_next(Method::SwapState, task.to_record()?);
        Worker::new(store, WorkerConfig::new("w"))
            .drain_with::<Job, _>("claims", |_| Box::pin(async { Ok(None) }))
            .await
    })
    .unwrap();
    assert_eq!(report.succeeded, 1, "{report:?}");
    let (counters, _) = read(&snapshotter);
    let claims = |result| {
        counters.get(&id(
            CLAIMS_TOTAL,
            &[
                ("task_list", "claims"),
                ("task_type", "Job"),
                ("result", result),
            ],
        ))
    };
    assert_eq!((claims("lost"), claims("won")), (Some(&1), Some(&1)));
}

/// A worker's look at a list's kept counts sets the list's gauges: tasks
/// per status (the backlog is `pending`, in flight `claimed`), the oldest
/// pending task's wait, and when the figures were counted.
#[test]
fn a_workers_look_at_the_kept_counts_sets_the_lists_gauges() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let counted_at = with_recorder(&recorder, async {
        let store = TaskStore::new(MemoryAdapter::new());
        let later = store.now().await.unwrap() + chrono::Duration::hours(1);
        for n in 0..3 {
            let task = Task::new("gauged", format!("later-{n}"), Job { fail_first: 0 }).unwrap();
            store.save_scheduled(&task, later).await.unwrap();
        }
        let held = store.create("gauged", Job { fail_first: 0 }).await.unwrap();
        store
            .claim("gauged", held.id(), "w", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        let kept = store.recount("gauged").await.unwrap();
        // Counting alone sets nothing: the gauges are the workers'.
        assert!(snapshotter
            .snapshot()
            .into_vec()
            .iter()
            .all(|(key, ..)| key.kind() != MetricKind::Gauge));
        let config = WorkerConfig::new("gauger").idle_poll(Duration::from_millis(5));
        let worker = Worker::new(store.clone(), config);
        let stop = worker.stop_handle();
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            stop.stop();
        });
        worker
            .serve_with::<Job, _>(&["gauged"], |_| Box::pin(async { Ok(None) }))
            .await
            .unwrap();
        stopper.await.unwrap();
        kept.counted_at
    });
    let mut gauges = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        if let (MetricKind::Gauge, DebugValue::Gauge(v)) = (key.kind(), value) {
            let labels: Vec<(&str, &str)> = key
                .key()
                .labels()
                .map(|label| (label.key(), label.value()))
                .collect();
            gauges.insert(id(key.key().name(), &labels), v.into_inner());
        }
    }
    let list = [("task_list", "gauged")];
    let tasks = |status| id(LIST_TASKS, &[("task_list", "gauged"), ("status", status)]);
    assert_eq!(gauges[&tasks("scheduled")], 3.0, "{gauges:?}");
    assert_eq!(gauges[&tasks("claimed")], 1.0);
    assert_eq!(gauges[&tasks("pending")], 0.0, "present at zero");
    assert_eq!(
        gauges[&id(LIST_OLDEST_PENDING_AGE_SECONDS, &list)],
        0.0,
        "none pending"
    );
    assert_eq!(
        gauges[&id(LIST_COUNTED_TIMESTAMP_SECONDS, &list)],
        counted_at.timestamp_millis() as f64 / 1_000.0
    );
    assert_eq!(gauges.len(), 8, "{gauges:?}");
}
