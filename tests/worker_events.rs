//! The events a worker hands to `WorkerConfig::on_event`, in order, for a
//! task that fails once and then succeeds, one that fails for good, and
//! one whose claim is lost.

#![cfg(feature = "worker")]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use taskrec::{
    Backoff, DrainReport, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig,
    WorkerEvent,
};

#[derive(Debug, TaskData)]
struct Job {
    n: u32,
}

/// The events as short lines: `kind id #attempt [detail]`.
fn line(event: &WorkerEvent) -> String {
    match event {
        WorkerEvent::Claimed { task, .. } => format!("claimed {} #{}", task.id, task.attempt),
        WorkerEvent::Succeeded { task, .. } => format!("succeeded {} #{}", task.id, task.attempt),
        WorkerEvent::Retried { task, error, .. } => {
            format!("retried {} #{}: {error}", task.id, task.attempt)
        }
        WorkerEvent::Failed { task, error, .. } => {
            format!("failed {} #{}: {error}", task.id, task.attempt)
        }
        WorkerEvent::LeaseLost { task, .. } => format!("lost {} #{}", task.id, task.attempt),
        WorkerEvent::Released { task, .. } => format!("released {} #{}", task.id, task.attempt),
        WorkerEvent::StorageError { error, .. } => format!("storage error: {error}"),
        WorkerEvent::UnknownType { id, type_name, .. } => format!("unknown type {id}: {type_name}"),
        WorkerEvent::Finished { report, .. } => format!(
            "finished: {} succeeded, {} retried, {} failed, {} lost",
            report.succeeded, report.retried, report.failed, report.lost
        ),
        other => panic!("an event this test does not know: {other:?}"),
    }
}

/// A worker over one task `job`, failing its first `failures` attempts;
/// the events it reported, as lines.
async fn events_of(failures: u32, max_attempts: u32) -> (Vec<String>, Vec<WorkerEvent>) {
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(&Task::new("events", "job", Job { n: 1 }).unwrap())
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let config = WorkerConfig::new("w")
        .max_attempts(max_attempts)
        .backoff(Backoff::new(
            Duration::from_millis(1),
            1.0,
            Duration::from_millis(1),
        ))
        .on_event(move |event| sink.lock().unwrap().push(event.clone()));
    let tries = AtomicU32::new(0);
    let before = chrono::Utc::now();
    Worker::new(store, config)
        .drain_with::<Job, _>("events", |_| {
            let fails = tries.fetch_add(1, Ordering::SeqCst) < failures;
            Box::pin(async move {
                if fails {
                    Err("busy".into())
                } else {
                    Ok(None)
                }
            })
        })
        .await
        .unwrap();
    let after = chrono::Utc::now();
    let events = seen.lock().unwrap().clone();
    // A retry is due the backoff (1 ms) after the failure it follows, which
    // happened while the drain ran.
    for event in &events {
        if let WorkerEvent::Retried {
            next_attempt_at, ..
        } = event
        {
            let backoff = chrono::TimeDelta::milliseconds(1);
            assert!(
                before + backoff <= *next_attempt_at && *next_attempt_at <= after + backoff,
                "a retry due at {next_attempt_at}, for a failure between {before} and {after}"
            );
        }
    }
    (events.iter().map(line).collect(), events)
}

#[tokio::test]
async fn a_task_that_fails_once_then_succeeds() {
    let (lines, events) = events_of(1, 3).await;
    assert_eq!(
        lines,
        [
            "claimed job #1",
            "retried job #1: busy",
            "claimed job #2",
            "succeeded job #2",
            "finished: 1 succeeded, 1 retried, 0 failed, 0 lost",
        ]
    );
    let WorkerEvent::Claimed { task, .. } = &events[0] else {
        unreachable!()
    };
    assert_eq!(
        (task.task_list.as_str(), task.type_name.as_str()),
        ("events", "Job")
    );
    let WorkerEvent::Finished { report, .. } = &events[4] else {
        unreachable!()
    };
    let mut expected = DrainReport::default();
    (expected.succeeded, expected.retried) = (1, 1);
    assert_eq!(*report, expected);
}

#[tokio::test]
async fn a_task_that_fails_for_good() {
    let (lines, _) = events_of(u32::MAX, 2).await;
    assert_eq!(
        lines,
        [
            "claimed job #1",
            "retried job #1: busy",
            "claimed job #2",
            "failed job #2: busy",
            "finished: 0 succeeded, 1 retried, 1 failed, 0 lost",
        ]
    );
}

#[tokio::test]
async fn a_task_saved_again_while_it_runs_loses_its_claim() {
    let store = TaskStore::new(MemoryAdapter::new());
    let task = Task::new("events", "resaved", Job { n: 1 }).unwrap();
    store.save(&task).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let config =
        WorkerConfig::new("w").on_event(move |event| sink.lock().unwrap().push(line(event)));
    let runs = AtomicU32::new(0);
    let (store_ref, task_ref, runs_ref) = (&store, &task, &runs);
    Worker::new(store.clone(), config)
        .drain_with::<Job, _>("events", |_| {
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
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "claimed resaved #1",
            "lost resaved #1",
            "claimed resaved #1",
            "succeeded resaved #1",
            "finished: 1 succeeded, 0 retried, 0 failed, 1 lost",
        ]
    );
}

/// A ready task of a type the worker does not run is said once per list
/// and type (not on every pass), and left pending, untried, for a worker
/// that runs it; a task of a type it runs beside it runs as usual.
#[tokio::test]
async fn a_task_of_a_type_the_worker_does_not_run_is_reported_once_and_left() {
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(&Task::new("mixed", "job", Job { n: 1 }).unwrap())
        .await
        .unwrap();
    for id in ["typo-1", "typo-2"] {
        let record = taskrec::TaskRecord::new("mixed", id, "Jbo", "{}").unwrap();
        taskrec::adapter::StorageAdapter::store(store.adapter(), &record)
            .await
            .unwrap();
    }
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let config = WorkerConfig::new("w").on_event(move |event| {
        if !matches!(event, WorkerEvent::Claimed { .. }) {
            seen.lock().unwrap().push(line(event));
        }
    });
    let worker = Worker::new(store.clone(), config);
    let ran = |_| -> taskrec::HandlerFuture<'static> { Box::pin(async { Ok(None) }) };
    worker.drain_with::<Job, _>("mixed", ran).await.unwrap();
    worker.drain_with::<Job, _>("mixed", ran).await.unwrap();
    let events = events.lock().unwrap().clone();
    let unknown: Vec<&String> = events.iter().filter(|l| l.starts_with("unknown")).collect();
    assert_eq!(
        unknown.len(),
        1,
        "said once for the list and type: {events:?}"
    );
    assert!(unknown[0].ends_with(": Jbo"), "{unknown:?}");
    assert!(
        events.contains(&"succeeded job #1".to_owned()),
        "{events:?}"
    );
    for id in ["typo-1", "typo-2"] {
        let state = store.state("mixed", id).await.unwrap().unwrap();
        assert_eq!(
            (state.status, state.attempts),
            (taskrec::TaskStatus::Pending, 0),
            "{id} is left for a worker that runs its type"
        );
    }
}

/// With `fail_unknown_types_after`, a task of a type no worker runs is
/// failed once it has waited that long, with the decoder's error; not before.
#[tokio::test]
async fn a_task_of_an_unknown_type_is_failed_once_it_has_waited() {
    let store = TaskStore::new(MemoryAdapter::new());
    let record = taskrec::TaskRecord::new("typos", "t", "Jbo", "{}").unwrap();
    taskrec::adapter::StorageAdapter::store(store.adapter(), &record)
        .await
        .unwrap();
    let ran = |_| -> taskrec::HandlerFuture<'static> { Box::pin(async { Ok(None) }) };
    let patient = WorkerConfig::new("w").fail_unknown_types_after(Duration::from_secs(3600));
    let worker = Worker::new(store.clone(), patient);
    let stop = worker.stop_handle();
    let serving = tokio::spawn(async move { worker.serve_with::<Job, _>(&["typos"], ran).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.stop();
    let report = serving.await.unwrap().unwrap();
    assert_eq!(
        report.failed, 0,
        "not failed before it has waited: {report:?}"
    );
    let state = store.state("typos", "t").await.unwrap().unwrap();
    assert_eq!(state.status, taskrec::TaskStatus::Pending);

    let eager = WorkerConfig::new("w").fail_unknown_types_after(Duration::ZERO);
    let report = Worker::new(store.clone(), eager)
        .drain_with::<Job, _>("typos", ran)
        .await
        .unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let state = store.state("typos", "t").await.unwrap().unwrap();
    assert_eq!(state.status, taskrec::TaskStatus::Failed);
    let error = state.last_error.unwrap();
    assert!(
        error.starts_with("no worker ran it for ") && error.contains("expected `Job`, found `Jbo`"),
        "{error}"
    );
}
