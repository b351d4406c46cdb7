#![cfg(feature = "worker")]

//! The worker's edges, each once a defect found in review and now pinned:
//! a task saved again between listing and claim, a listing error mid-pass,
//! lists that mix types, resetting a live claim, states from a newer
//! version, panicking tasks, absurd durations.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use taskrec::adapter::{Capabilities, Page, ReadyTasks, StateToken, StorageAdapter, StoredState};
use taskrec::{
    Error, MemoryAdapter, PageToken, Result, Task, TaskData, TaskRecord, TaskStatus, TaskStore,
    Worker, WorkerConfig,
};

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

/// The memory adapter with two fault hooks.
#[derive(Debug, Default)]
struct Hooked {
    inner: MemoryAdapter,
    /// Stored (as a producer re-saving the task would) just before the next
    /// swap_state: after the worker read the task as ready, before its claim.
    resave_before_swap: Mutex<Option<TaskRecord>>,
    /// The next sweep of ready tasks ends with one storage error at its second step.
    fail_listing_once: AtomicBool,
}

#[async_trait]
impl StorageAdapter for Hooked {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn store(&self, r: &TaskRecord) -> Result<()> {
        self.inner.store(r).await
    }
    async fn find(&self, l: &str, i: &str) -> Result<Option<TaskRecord>> {
        self.inner.find(l, i).await
    }
    async fn delete(&self, l: &str, i: &str) -> Result<()> {
        self.inner.delete(l, i).await
    }
    async fn page(&self, l: &str, t: Option<&PageToken>, n: usize) -> Result<Page> {
        self.inner.page(l, t, n).await
    }
    async fn load_state(&self, l: &str, i: &str) -> Result<Option<StoredState>> {
        self.inner.load_state(l, i).await
    }
    async fn swap_state(
        &self,
        l: &str,
        i: &str,
        e: &StateToken,
        n: Option<&str>,
    ) -> Result<Option<StateToken>> {
        let resave = self.resave_before_swap.lock().unwrap().take();
        if let Some(record) = resave {
            self.inner.store(&record).await?;
        }
        self.inner.swap_state(l, i, e, n).await
    }
    /// Steps of three tasks, so a sweep of eight takes three steps; the
    /// second step of the next sweep fails once.
    async fn next_ready(
        &self,
        l: &str,
        t: Option<&PageToken>,
        _limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        if t.is_some() && self.fail_listing_once.swap(false, SeqCst) {
            return Err(Error::storage("hooked", "read timeout on step 2"));
        }
        self.inner.next_ready(l, t, 3, now).await
    }
}

fn config(owner: &str) -> WorkerConfig {
    WorkerConfig::new(owner)
        .lease(Duration::from_secs(30))
        .idle_poll(Duration::from_millis(20))
}

#[tokio::test]
async fn a_task_saved_again_between_read_and_claim_runs_as_saved() {
    let store = TaskStore::new(Hooked::default());
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
    *store.adapter().resave_before_swap.lock().unwrap() = Some(v2);

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
    let store = TaskStore::new(Hooked::default());
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
    store.adapter().fail_listing_once.store(true, SeqCst);
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
/// (with `claim_instead`) claims it and holds it.
#[derive(Debug, Default)]
struct Raced {
    inner: MemoryAdapter,
    raced: AtomicBool,
    claim_instead: bool,
    /// This worker's state changes (its claims, lost or won) and state reads.
    swaps: std::sync::atomic::AtomicUsize,
    loads: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl StorageAdapter for Raced {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn store(&self, r: &TaskRecord) -> Result<()> {
        self.inner.store(r).await
    }
    async fn find(&self, l: &str, i: &str) -> Result<Option<TaskRecord>> {
        self.inner.find(l, i).await
    }
    async fn delete(&self, l: &str, i: &str) -> Result<()> {
        self.inner.delete(l, i).await
    }
    async fn page(&self, l: &str, t: Option<&PageToken>, n: usize) -> Result<Page> {
        self.inner.page(l, t, n).await
    }
    async fn load_state(&self, l: &str, i: &str) -> Result<Option<StoredState>> {
        self.loads.fetch_add(1, SeqCst);
        self.inner.load_state(l, i).await
    }
    async fn swap_state(
        &self,
        l: &str,
        i: &str,
        e: &StateToken,
        n: Option<&str>,
    ) -> Result<Option<StateToken>> {
        self.swaps.fetch_add(1, SeqCst);
        self.inner.swap_state(l, i, e, n).await
    }
    async fn next_ready(
        &self,
        l: &str,
        t: Option<&PageToken>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        let ready = self.inner.next_ready(l, t, limit, now).await?;
        if !self.raced.swap(true, SeqCst) {
            for stored in &ready.tasks {
                if self.claim_instead {
                    let other = TaskStore::new(self.inner.clone());
                    let claim = other
                        .claim(l, stored.record.id(), "other", Duration::from_secs(3600))
                        .await?;
                    assert!(claim.is_some(), "the other worker claims it");
                } else {
                    self.inner.delete(l, stored.record.id()).await?;
                }
            }
        }
        Ok(ready)
    }
}

/// Saves the tasks t0..t3 into list "l".
async fn save_four(store: &TaskStore<Raced>) {
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
    let store = TaskStore::new(Raced::default());
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
    assert_eq!(adapter.swaps.load(SeqCst), 1);
    assert_eq!(adapter.loads.load(SeqCst), 3);
}

#[tokio::test]
async fn a_task_another_worker_holds_is_read_again_and_left_to_it() {
    let store = TaskStore::new(Raced {
        claim_instead: true,
        ..Raced::default()
    });
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
    assert_eq!(adapter.swaps.load(SeqCst), 1);
    assert_eq!(adapter.loads.load(SeqCst), 3);
    for i in 0..4 {
        let state = store.state("l", &format!("t{i}")).await.unwrap().unwrap();
        assert_eq!(state.owner.as_deref(), Some("other"));
    }
}

#[tokio::test]
async fn a_pass_that_loses_no_claim_reads_no_state_again() {
    // Raced already: nobody takes the tasks.
    let store = TaskStore::new(Raced {
        raced: AtomicBool::new(true),
        ..Raced::default()
    });
    save_four(&store).await;
    let worker = Worker::new(store.clone(), config("w").concurrency(1));
    let report = worker
        .drain_with::<Job, _>("l", |_| Box::pin(async { Ok(None) }))
        .await
        .unwrap();
    assert_eq!(report.succeeded, 4);
    let adapter = store.adapter();
    assert_eq!(adapter.swaps.load(SeqCst), 8); // a claim and a completion each
    assert_eq!(adapter.loads.load(SeqCst), 0);
}
