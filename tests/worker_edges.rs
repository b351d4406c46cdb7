#![cfg(feature = "worker")]

//! The worker's edges, each once a defect found in review and now pinned:
//! a task saved again between listing and claim, a listing error mid-pass,
//! lists that mix types, resetting a live claim, states from a newer
//! version, panicking tasks, absurd durations.

#[path = "support/wrapper.rs"]
mod wrapper;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use taskrec::adapter::StorageAdapter;
use taskrec::{Error, MemoryAdapter, Task, TaskData, TaskStatus, TaskStore, Worker, WorkerConfig};
use wrapper::{Method, Wrapped};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Job {
    version: u32,
    #[task(default)]
    sleep_ms: u64,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Other {
    x: u32,
}

fn config(owner: &str) -> WorkerConfig {
    WorkerConfig::new(owner)
        .lease(Duration::from_secs(30))
        .idle_poll(Duration::from_millis(20))
}

#[tokio::test]
async fn a_task_saved_again_between_read_and_claim_runs_as_saved() {
    let store = TaskStore::new(Wrapped::new());
    store
        .save(
            &Task::new(
                "l",
                "t",
                Job {
                    version: 1,
                    sleep_ms: 0,
                },
            )
            .unwrap(),
        )
        .await
        .unwrap();
    // A producer saves version 2 after the worker read version 1 as ready, before it claims.
    let v2 = Task::new(
        "l",
        "t",
        Job {
            version: 2,
            sleep_ms: 0,
        },
    )
    .unwrap()
    .to_record()
    .unwrap();
    store.adapter().store_before_next(Method::SwapState, v2);

    let seen = Mutex::new(Vec::new());
    let worker = Worker::new(store.clone(), config("w"));
    let report = worker
        .drain_with::<Job, _>("l", |task| {
            seen.lock().unwrap().push(task.data().version);
            Box::pin(async { Ok(None) })
        })
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![2],
        "the claimed version ran, once"
    );
    assert_eq!(report.succeeded, 1);
    assert_eq!(store.count("l").await.unwrap(), 0);
}

#[tokio::test]
async fn a_listing_error_lets_running_tasks_finish_and_the_drain_goes_on() {
    // Steps of three tasks, so a sweep of eight takes three steps; the
    // second step of the first sweep fails once.
    let failed = AtomicBool::new(false);
    let adapter = Wrapped::new().max_step(3).fail_when(move |call| {
        let second_step = call.method == Method::NextReady && call.token.is_some();
        (second_step && !failed.swap(true, SeqCst))
            .then(|| Error::storage("hooked", "read timeout on step 2"))
    });
    let store = TaskStore::new(adapter);
    for n in 0..8u64 {
        let sleep_ms = if n == 3 { 300 } else { 10 };
        store
            .save(
                &Task::new(
                    "l",
                    format!("t{n}"),
                    Job {
                        version: 1,
                        sleep_ms,
                    },
                )
                .unwrap(),
            )
            .await
            .unwrap();
    }
    let finished = Arc::new(Mutex::new(Vec::<String>::new()));
    let worker = Worker::new(store.clone(), config("w").concurrency(2));
    let report = worker
        .drain_with::<Job, _>("l", |task| {
            let finished = Arc::clone(&finished);
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(task.data().sleep_ms)).await;
                finished.lock().unwrap().push(task.id().to_owned());
                Ok(None)
            })
        })
        .await
        .unwrap();
    assert_eq!(report.errors, 1, "{report:?}");
    assert_eq!(report.succeeded, 8, "{report:?}");
    assert!(
        finished.lock().unwrap().contains(&"t3".to_owned()),
        "t3 was not cut off"
    );
    assert_eq!(store.count("l").await.unwrap(), 0, "no claim left behind");
}

#[tokio::test]
async fn a_worker_leaves_other_types_in_its_list_alone() {
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(
            &Task::new(
                "mixed",
                "j",
                Job {
                    version: 1,
                    sleep_ms: 0,
                },
            )
            .unwrap(),
        )
        .await
        .unwrap();
    store
        .save(&Task::new("mixed", "o", Other { x: 1 }).unwrap())
        .await
        .unwrap();
    let worker = Worker::new(store.clone(), config("w"));
    let report = worker
        .drain_with::<Job, _>("mixed", |_| Box::pin(async { Ok(None) }))
        .await
        .unwrap();
    assert_eq!((report.succeeded, report.failed), (1, 0), "{report:?}");
    let other = store.state("mixed", "o").await.unwrap().unwrap();
    assert_eq!(
        (other.status, other.attempts),
        (TaskStatus::Pending, 0),
        "untouched"
    );
}

#[tokio::test]
async fn reset_leaves_a_live_claim_alone() {
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(
            &Task::new(
                "l",
                "t",
                Job {
                    version: 1,
                    sleep_ms: 0,
                },
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    let mut a = store.claim("l", "t", "a", lease).await.unwrap().unwrap();
    assert!(
        !store.reset("l", "t").await.unwrap(),
        "a running worker keeps its task"
    );
    assert!(store.claim("l", "t", "b", lease).await.unwrap().is_none());
    assert!(
        store.renew(&mut a, lease).await.unwrap(),
        "a still holds it"
    );
}

#[tokio::test]
async fn a_status_from_a_newer_version_is_left_alone_and_the_drain_ends() {
    let store = TaskStore::new(MemoryAdapter::new());
    for id in ["good", "paused"] {
        store
            .save(
                &Task::new(
                    "l",
                    id,
                    Job {
                        version: 1,
                        sleep_ms: 0,
                    },
                )
                .unwrap(),
            )
            .await
            .unwrap();
    }
    let token = store
        .adapter()
        .load_state("l", "paused")
        .await
        .unwrap()
        .unwrap()
        .token;
    store
        .adapter()
        .swap_state("l", "paused", &token, Some(r#"{"status":"paused"}"#))
        .await
        .unwrap()
        .unwrap();
    let worker = Worker::new(store.clone(), config("w").error_limit(5));
    let report = worker
        .drain_with::<Job, _>("l", |_| Box::pin(async { Ok(None) }))
        .await
        .unwrap();
    assert_eq!((report.succeeded, report.errors), (1, 0), "{report:?}");
    let paused = store.state("l", "paused").await.unwrap().unwrap();
    assert_eq!(paused.status, TaskStatus::Unknown);
}

#[tokio::test]
async fn a_panicking_task_is_a_failed_attempt_and_ends_failed() {
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(
            &Task::new(
                "l",
                "poison",
                Job {
                    version: 0,
                    sleep_ms: 0,
                },
            )
            .unwrap(),
        )
        .await
        .unwrap();
    store
        .save(
            &Task::new(
                "l",
                "innocent",
                Job {
                    version: 1,
                    sleep_ms: 20,
                },
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let worker = Worker::new(
        store.clone(),
        config("w").max_attempts(2).backoff(taskrec::Backoff::new(
            Duration::from_millis(1),
            1.0,
            Duration::from_millis(1),
        )),
    );
    let report = worker
        .drain_with::<Job, _>("l", |task| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(task.data().sleep_ms)).await;
                if task.data().version == 0 {
                    panic!("poison pill");
                }
                Ok(None)
            })
        })
        .await
        .unwrap();
    assert_eq!(
        (report.succeeded, report.retried, report.failed),
        (1, 1, 1),
        "{report:?}"
    );
    let poison = store.state("l", "poison").await.unwrap().unwrap();
    assert_eq!((poison.status, poison.attempts), (TaskStatus::Failed, 2));
    assert_eq!(
        poison.last_error.as_deref(),
        Some("the task panicked: poison pill")
    );
}

#[tokio::test]
async fn a_task_whose_attempts_died_with_their_worker_is_failed_not_retried_for_ever() {
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(
            &Task::new(
                "l",
                "t",
                Job {
                    version: 1,
                    sleep_ms: 0,
                },
            )
            .unwrap(),
        )
        .await
        .unwrap();
    // Three workers claimed it and died (their claims ran out unfinished).
    for _ in 0..3 {
        store
            .claim("l", "t", "dead", Duration::from_millis(1))
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ran = AtomicBool::new(false);
    let worker = Worker::new(store.clone(), config("w").max_attempts(2));
    let report = worker
        .drain_with::<Job, _>("l", |_| {
            ran.store(true, SeqCst);
            Box::pin(async { Ok(None) })
        })
        .await
        .unwrap();
    assert!(!ran.load(SeqCst), "not run a fourth time");
    assert_eq!(report.failed, 1);
    let state = store.state("l", "t").await.unwrap().unwrap();
    assert_eq!(state.status, TaskStatus::Failed);
    assert!(state
        .last_error
        .unwrap()
        .starts_with("gave up after 3 attempts"));
}

#[tokio::test]
async fn absurd_durations_saturate_instead_of_panicking() {
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(
            &Task::new(
                "l",
                "t",
                Job {
                    version: 1,
                    sleep_ms: 0,
                },
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let claim = store
        .claim("l", "t", "w", Duration::MAX)
        .await
        .unwrap()
        .expect("claimed");
    assert!(claim.lease_until().is_some());
    assert!(store
        .retry_later(claim, "later", chrono::DateTime::<chrono::Utc>::MAX_UTC)
        .await
        .unwrap());
}

/// The memory adapter where another worker takes every task of the first
/// sweep step right after this worker read it as ready: finishes it, or
/// (with `claim_instead`) claims it and holds it. This worker's state
/// changes (its claims, lost or won) and state reads are counted.
fn raced(claim_instead: bool) -> Wrapped {
    let raced = AtomicBool::new(false);
    Wrapped::new().after_ready_step(move |memory, task_list, ready| {
        let first = !raced.swap(true, SeqCst);
        async move {
            if !first {
                return Ok(());
            }
            for stored in &ready.tasks {
                if claim_instead {
                    let other = TaskStore::new(memory.clone());
                    let claim = other
                        .claim(
                            &task_list,
                            stored.record.id(),
                            "other",
                            Duration::from_secs(3600),
                        )
                        .await?;
                    assert!(claim.is_some(), "the other worker claims it");
                } else {
                    memory.delete(&task_list, stored.record.id()).await?;
                }
            }
            Ok(())
        }
    })
}

/// Saves the tasks t0..t3 into list "l".
async fn save_four(store: &TaskStore<Wrapped>) {
    for i in 0..4 {
        let job = Job {
            version: i,
            sleep_ms: 0,
        };
        store
            .save(&Task::new("l", format!("t{i}"), job).unwrap())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn once_a_claim_is_lost_the_pass_reads_states_again_instead_of_racing_for_each() {
    let store = TaskStore::new(raced(false));
    save_four(&store).await;
    // One task at a time, so the visits of the step come one after another.
    let worker = Worker::new(store.clone(), config("w").concurrency(1));
    let report = worker
        .drain_with::<Job, _>("l", |_| Box::pin(async { Ok(None) }))
        .await
        .unwrap();
    assert_eq!((report.succeeded, report.errors), (0, 0));
    let adapter = store.adapter();
    // The first claim is lost to the other worker (a Paxos round on
    // Cassandra); the other three tasks are read again and found gone, with
    // no claim attempted. Racing for each would have made four claims.
    assert_eq!(adapter.calls(Method::SwapState), 1);
    assert_eq!(adapter.calls(Method::LoadState), 3);
}

#[tokio::test]
async fn a_task_another_worker_holds_is_read_again_and_left_to_it() {
    let store = TaskStore::new(raced(true));
    save_four(&store).await;
    let worker = Worker::new(store.clone(), config("w").concurrency(1));
    let stop = worker.stop_handle();
    let serving = tokio::spawn(async move {
        worker
            .serve_with::<Job, _>(&["l"], |_| Box::pin(async { Ok(None) }))
            .await
    });
    // Every task is held for an hour by the other worker: nothing to run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.stop();
    let report = serving.await.unwrap().unwrap();
    assert_eq!((report.succeeded, report.errors), (0, 0));
    let adapter = store.adapter();
    // One claim lost, three states read again and found held: no claim.
    assert_eq!(adapter.calls(Method::SwapState), 1);
    assert_eq!(adapter.calls(Method::LoadState), 3);
    for i in 0..4 {
        let state = store.state("l", &format!("t{i}")).await.unwrap().unwrap();
        assert_eq!(state.owner.as_deref(), Some("other"));
    }
}

#[tokio::test]
async fn a_pass_that_loses_no_claim_reads_no_state_again() {
    // Nobody takes the tasks.
    let store = TaskStore::new(Wrapped::new());
    save_four(&store).await;
    let worker = Worker::new(store.clone(), config("w").concurrency(1));
    let report = worker
        .drain_with::<Job, _>("l", |_| Box::pin(async { Ok(None) }))
        .await
        .unwrap();
    assert_eq!(report.succeeded, 4);
    let adapter = store.adapter();
    assert_eq!(adapter.calls(Method::SwapState), 8); // a claim and a completion each
    assert_eq!(adapter.calls(Method::LoadState), 0);
}
