#![cfg(feature = "worker")]

//! Claim-next on the memory adapter, counted: a worker takes the free tasks
//! of a list whose other tasks are held by a live worker without reading
//! one held task, and polls an idle list without reading its tasks.

#[path = "support/wrapper.rs"]
mod wrapper;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use taskrec::{Task, TaskData, TaskStore, Worker, WorkerConfig};
use wrapper::{Method, Wrapped};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Job {
    n: u32,
}

/// The memory adapter, counting the tasks each kind of read returns. Every
/// other listing (`all`, `count`, the status listings, history) runs on the
/// trait's default, which lists through `page`: whatever the worker listed,
/// it would be counted.
fn counted() -> Wrapped {
    Wrapped::new().trait_defaults(&[
        Method::All,
        Method::Count,
        Method::CountByStatus,
        Method::PageByStatus,
        Method::AppendHistory,
        Method::History,
    ])
}

/// Tasks listed by `page`, states loaded, tasks handed out by `next_ready`.
fn reads(adapter: &Wrapped) -> (usize, usize, usize) {
    (
        adapter.sizes(Method::Page).iter().sum(),
        adapter.calls(Method::LoadState),
        adapter.sizes(Method::NextReady).iter().sum(),
    )
}

#[tokio::test]
async fn free_tasks_among_50k_held_ones_are_taken_without_reading_a_held_one() {
    let store = TaskStore::new(counted());
    let held: Vec<Task<Job>> = (0..50_000)
        .map(|n| Task::new("busy", format!("held-{n:05}"), Job { n }).unwrap())
        .collect();
    store.save_all(&held, 64).await.unwrap();
    for task in &held {
        let claim = store.claim("busy", task.id(), "other-worker", Duration::from_secs(600));
        assert!(claim.await.unwrap().is_some());
    }
    let free: Vec<Task<Job>> = (0..100)
        .map(|n| Task::new("busy", format!("free-{n:03}"), Job { n }).unwrap())
        .collect();
    store.save_all(&free, 64).await.unwrap();
    let before = reads(store.adapter());

    let config = WorkerConfig::new("second-worker")
        .concurrency(8)
        .idle_poll(Duration::from_millis(10));
    let worker = Worker::new(store.clone(), config);
    let stop = worker.stop_handle();
    let ran = AtomicU64::new(0);
    let report = worker
        .drain_with::<Job, _>("busy", |_| {
            if ran.fetch_add(1, SeqCst) + 1 == 100 {
                stop.stop();
            }
            Box::pin(async { Ok(None) })
        })
        .await
        .unwrap();
    assert_eq!(report.succeeded, 100, "{report:?}");
    let (listed, loaded, handed) = reads(store.adapter());
    assert_eq!(
        (listed - before.0, loaded - before.1, handed - before.2),
        (0, 0, 100),
        "no task listed, no state loaded, the 100 free tasks handed out"
    );

    // Idle: the list holds only tasks held elsewhere. Polls read no task.
    let worker = Worker::new(
        store.clone(),
        WorkerConfig::new("idle").idle_poll(Duration::from_millis(5)),
    );
    let stop = worker.stop_handle();
    let steps_before = store.adapter().calls(Method::NextReady);
    let idle = tokio::spawn(async move {
        worker
            .drain_with::<Job, _>("busy", |_| Box::pin(async { Ok(None) }))
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.stop();
    let report = idle.await.unwrap().unwrap();
    assert_eq!((report.succeeded, report.errors), (0, 0), "{report:?}");
    let polls = store.adapter().calls(Method::NextReady) - steps_before;
    assert!(polls >= 2, "the idle worker polled ({polls} steps)");
    assert_eq!(
        reads(store.adapter()),
        (listed, loaded, handed),
        "{polls} idle polls read no task"
    );
}
