//! Claims, leases and the worker loop on the memory adapter: two workers
//! racing over one list, a worker that dies mid-run, retries with backoff,
//! final failure, time limits, graceful stop and history.

#![cfg(feature = "worker")]

#[path = "support/wrapper.rs"]
mod wrapper;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use taskrec::adapter::Capabilities;
use taskrec::{
    Backoff, BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStatus, TaskStore, Worker,
    WorkerConfig,
};
use wrapper::{Method, Wrapped};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Job {
    n: u32,
    /// Attempts that fail before one succeeds (u32::MAX: always fails).
    #[task(default)]
    fail_first: u32,
    #[task(default)]
    sleep_ms: u64,
}

/// What the workers saw: executions per task, and how many ran each task
/// at the same moment (never more than one).
#[derive(Default)]
struct Ledger {
    runs: Mutex<HashMap<u32, u32>>,
    in_flight: Mutex<HashMap<u32, u32>>,
    max_in_flight: AtomicU32,
    executions: AtomicUsize,
}

#[async_trait::async_trait]
impl Execute<Ledger> for Job {
    async fn execute(&self, ledger: &Ledger) -> Result<(), BoxError> {
        let attempt = {
            let mut in_flight = ledger.in_flight.lock().unwrap();
            let now = in_flight.entry(self.n).or_default();
            *now += 1;
            ledger.max_in_flight.fetch_max(*now, Ordering::SeqCst);
            let mut runs = ledger.runs.lock().unwrap();
            let runs = runs.entry(self.n).or_default();
            *runs += 1;
            *runs
        };
        ledger.executions.fetch_add(1, Ordering::SeqCst);
        if self.sleep_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.sleep_ms)).await;
        } else {
            tokio::task::yield_now().await;
        }
        *ledger.in_flight.lock().unwrap().get_mut(&self.n).unwrap() -= 1;
        if attempt <= self.fail_first {
            return Err(format!("attempt {attempt} of task {} failed", self.n).into());
        }
        Ok(())
    }
}

fn job(n: u32) -> Job {
    Job {
        n,
        fail_first: 0,
        sleep_ms: 0,
    }
}

async fn fill(
    store: &TaskStore<MemoryAdapter>,
    list: &str,
    jobs: impl IntoIterator<Item = Job>,
) -> usize {
    let tasks: Vec<Task<Job>> = jobs
        .into_iter()
        .map(|job| Task::new(list, format!("job-{:05}", job.n), job))
        .collect::<taskrec::Result<_>>()
        .unwrap();
    store.save_all(&tasks, 64).await.unwrap() as usize
}

fn fast(owner: &str) -> WorkerConfig {
    WorkerConfig::new(owner)
        .concurrency(16)
        .lease(Duration::from_secs(5))
        .backoff(Backoff::new(
            Duration::from_millis(5),
            2.0,
            Duration::from_millis(50),
        ))
        .idle_poll(Duration::from_millis(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_racing_over_ten_thousand_tasks_run_each_and_never_together() {
    let store = TaskStore::new(MemoryAdapter::new());
    let n = fill(&store, "race", (0..10_000).map(job)).await;
    let ledger = Ledger::default();
    let (a, b) = (
        Worker::new(store.clone(), fast("a")),
        Worker::new(store.clone(), fast("b")),
    );
    let (ra, rb) = tokio::join!(
        a.drain::<Job, _>("race", &ledger),
        b.drain::<Job, _>("race", &ledger)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());

    let (ran, ran_each) = {
        let runs = ledger.runs.lock().unwrap();
        (runs.len(), runs.values().all(|&r| r >= 1))
    };
    assert_eq!(ran, n, "every task ran");
    assert!(ran_each);
    assert_eq!(
        ledger.max_in_flight.load(Ordering::SeqCst),
        1,
        "no task ran twice at once"
    );
    assert_eq!(ra.succeeded + rb.succeeded, n as u64, "{ra:?} {rb:?}");
    assert!(
        ra.succeeded > 0 && rb.succeeded > 0,
        "both workers took part: {ra:?} {rb:?}"
    );
    assert_eq!(store.count("race").await.unwrap(), 0, "all completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_tasks_are_finished_by_another_after_the_lease() {
    let store = TaskStore::new(MemoryAdapter::new());
    let slow = (0..200).map(|n| Job {
        sleep_ms: 20,
        ..job(n)
    });
    fill(&store, "crash", slow).await;
    let ledger = Arc::new(Ledger::default());

    // The doomed worker: aborted mid-run, like a process killed with SIGKILL
    // (no code of its runs after that: its claims stay until they expire).
    let doomed = {
        let (store, ledger) = (store.clone(), Arc::clone(&ledger));
        tokio::spawn(async move {
            let worker = Worker::new(
                store,
                fast("doomed")
                    .concurrency(8)
                    .lease(Duration::from_millis(300)),
            );
            worker.drain::<Job, _>("crash", &*ledger).await
        })
    };
    while ledger.executions.load(Ordering::SeqCst) < 40 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    doomed.abort();
    let _ = doomed.await;
    let held = count_status(&store, "crash", TaskStatus::Claimed).await;
    assert!(held > 0, "the dead worker left claims behind");

    let survivor = Worker::new(
        store.clone(),
        fast("survivor").lease(Duration::from_millis(300)),
    );
    let report = survivor.drain::<Job, _>("crash", &*ledger).await.unwrap();
    assert_eq!(
        store.count("crash").await.unwrap(),
        0,
        "every remaining task finished"
    );
    assert!(report.succeeded >= 200 - 40, "{report:?}");
    assert_eq!(
        ledger.runs.lock().unwrap().len(),
        200,
        "every task ran at least once"
    );
}

async fn count_status(store: &TaskStore<MemoryAdapter>, list: &str, status: TaskStatus) -> usize {
    let mut n = 0;
    for i in 0..10_000 {
        match store.state(list, &format!("job-{i:05}")).await.unwrap() {
            Some(state) if state.status == status => n += 1,
            _ => {}
        }
    }
    n
}

#[tokio::test]
async fn a_failing_task_is_retried_with_backoff_then_kept_as_failed() {
    let store = TaskStore::new(MemoryAdapter::new());
    fill(
        &store,
        "retry",
        [
            Job {
                fail_first: 2,
                ..job(1)
            },
            Job {
                fail_first: u32::MAX,
                ..job(2)
            },
        ],
    )
    .await;
    let ledger = Ledger::default();
    let worker = Worker::new(store.clone(), fast("w").max_attempts(4));
    let report = worker.drain::<Job, _>("retry", &ledger).await.unwrap();

    assert_eq!(report.succeeded, 1, "{report:?}");
    assert_eq!(report.failed, 1, "{report:?}");
    assert_eq!(report.retried, 2 + 3, "{report:?}");
    assert_eq!(
        ledger.runs.lock().unwrap().get(&1),
        Some(&3),
        "two failures, then success"
    );
    assert_eq!(
        ledger.runs.lock().unwrap().get(&2),
        Some(&4),
        "max_attempts runs"
    );

    assert!(
        store
            .find::<Job>("retry", "job-00001")
            .await
            .unwrap()
            .is_none(),
        "completed"
    );
    let kept = store
        .state("retry", "job-00002")
        .await
        .unwrap()
        .expect("a failed task is kept");
    assert_eq!(kept.status, TaskStatus::Failed);
    assert_eq!(kept.attempts, 4);
    assert_eq!(
        kept.last_error.as_deref(),
        Some("attempt 4 of task 2 failed")
    );
    assert!(store
        .find::<Job>("retry", "job-00002")
        .await
        .unwrap()
        .is_some());

    // An operator resets it, and it runs again.
    assert!(store.reset("retry", "job-00002").await.unwrap());
    let state = store.state("retry", "job-00002").await.unwrap().unwrap();
    assert_eq!((state.status, state.attempts), (TaskStatus::Pending, 0));
}

#[tokio::test]
async fn an_attempt_over_the_time_limit_is_cut_off_and_counts_as_failed() {
    let store = TaskStore::new(MemoryAdapter::new());
    fill(
        &store,
        "slow",
        [Job {
            sleep_ms: 10_000,
            ..job(1)
        }],
    )
    .await;
    let worker = Worker::new(
        store.clone(),
        fast("w").max_attempts(1).timeout(Duration::from_millis(50)),
    );
    let report = worker
        .drain::<Job, _>("slow", &Ledger::default())
        .await
        .unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let state = store.state("slow", "job-00001").await.unwrap().unwrap();
    assert_eq!(state.status, TaskStatus::Failed);
    assert_eq!(state.last_error.as_deref(), Some("timed out after 50ms"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_worker_gives_back_what_it_holds() {
    let store = TaskStore::new(MemoryAdapter::new());
    fill(
        &store,
        "stop",
        (0..4).map(|n| Job {
            sleep_ms: 10_000,
            ..job(n)
        }),
    )
    .await;
    let ledger = Arc::new(Ledger::default());
    let worker = Arc::new(Worker::new(store.clone(), fast("w").concurrency(4)));
    let stop = worker.stop_handle();
    let running = {
        let (worker, ledger) = (Arc::clone(&worker), Arc::clone(&ledger));
        tokio::spawn(async move { worker.drain::<Job, _>("stop", &*ledger).await })
    };
    while ledger.executions.load(Ordering::SeqCst) < 4 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.stop();
    let report = running.await.unwrap().unwrap();
    assert!(report.stopped);
    assert_eq!(report.released, 4, "{report:?}");
    for n in 0..4 {
        let state = store
            .state("stop", &format!("job-{n:05}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (state.status, state.attempts, state.owner),
            (TaskStatus::Pending, 0, None)
        );
    }
}

#[tokio::test]
async fn a_claim_is_exclusive_until_its_lease_runs_out() {
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(&Task::new("l", "t", job(1)).unwrap())
        .await
        .unwrap();
    let lease = Duration::from_millis(100);
    let mut first = store
        .claim("l", "t", "a", lease)
        .await
        .unwrap()
        .expect("claimable");
    assert!(
        store.claim("l", "t", "b", lease).await.unwrap().is_none(),
        "held"
    );
    assert!(
        store.renew(&mut first, lease).await.unwrap(),
        "the holder renews"
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    let second = store
        .claim("l", "t", "b", lease)
        .await
        .unwrap()
        .expect("expired: claimable again");
    assert_eq!(second.state().attempts, 2);
    assert!(
        !store.renew(&mut first, lease).await.unwrap(),
        "the old holder lost it"
    );
    assert!(
        !store.release(first).await.unwrap(),
        "and cannot give it back"
    );
    assert_eq!(
        store
            .state("l", "t")
            .await
            .unwrap()
            .unwrap()
            .owner
            .as_deref(),
        Some("b")
    );
}

#[tokio::test]
async fn succeeded_tasks_can_be_kept_with_their_result() {
    let store = TaskStore::new(MemoryAdapter::new());
    fill(&store, "keep", [job(7)]).await;
    let worker = Worker::new(store.clone(), fast("w").keep_succeeded(true));
    let report = worker
        .drain_with::<Job, _>("keep", |task| {
            Box::pin(async move { Ok(Some(serde_json::json!({"doubled": task.data().n * 2}))) })
        })
        .await
        .unwrap();
    assert_eq!(report.succeeded, 1);
    let state = store.state("keep", "job-00007").await.unwrap().unwrap();
    assert_eq!(state.status, TaskStatus::Succeeded);
    assert_eq!(state.result, Some(serde_json::json!({"doubled": 14})));
}

#[tokio::test]
async fn a_task_that_succeeds_after_a_failed_attempt_keeps_no_error_but_its_history_does() {
    let store = TaskStore::new(MemoryAdapter::new()).with_history(["retried"]);
    fill(
        &store,
        "retried",
        [Job {
            fail_first: 1,
            ..job(3)
        }],
    )
    .await;
    let worker = Worker::new(store.clone(), fast("w").keep_succeeded(true));
    let report = worker
        .drain::<Job, _>("retried", &Ledger::default())
        .await
        .unwrap();
    assert_eq!((report.succeeded, report.retried), (1, 1), "{report:?}");
    let state = store.state("retried", "job-00003").await.unwrap().unwrap();
    assert_eq!(
        (state.status, state.attempts, state.last_error),
        (TaskStatus::Succeeded, 2, None)
    );
    let errors: Vec<(TaskStatus, bool)> = store
        .history("retried", "job-00003")
        .await
        .unwrap()
        .iter()
        .map(|c| (c.state.status, c.state.last_error.is_some()))
        .collect();
    assert_eq!(
        errors,
        [
            (TaskStatus::Pending, false),
            (TaskStatus::Claimed, false),
            (TaskStatus::Pending, true),
            (TaskStatus::Claimed, true),
            (TaskStatus::Succeeded, false),
        ]
    );
}

#[tokio::test]
async fn history_keeps_every_state_change_in_order() {
    let store = TaskStore::new(MemoryAdapter::new()).with_history(["hist"]);
    fill(
        &store,
        "hist",
        [Job {
            fail_first: 1,
            ..job(1)
        }],
    )
    .await;
    let worker = Worker::new(store.clone(), fast("w").keep_succeeded(true));
    worker
        .drain::<Job, _>("hist", &Ledger::default())
        .await
        .unwrap();
    let steps: Vec<(TaskStatus, u32)> = store
        .history("hist", "job-00001")
        .await
        .unwrap()
        .iter()
        .map(|c| (c.state.status, c.state.attempts))
        .collect();
    assert_eq!(
        steps,
        [
            (TaskStatus::Pending, 0),
            (TaskStatus::Claimed, 1),
            (TaskStatus::Pending, 1),
            (TaskStatus::Claimed, 2),
            (TaskStatus::Succeeded, 2),
        ]
    );
    assert!(store.history("other", "x").await.unwrap().is_empty());
}

/// What a claim, a worker and every state method answer on an adapter
/// without `Capabilities::conditional_writes`: the adapter's name and the
/// capability it lacks.
fn lacks_conditional_writes(adapter: &str) -> String {
    format!(
        "the {adapter} adapter does not support conditional writes \
         (Capabilities::conditional_writes), which task state, claims and workers need"
    )
}

#[tokio::test]
async fn adapters_without_conditional_writes_refuse_claims() {
    // An adapter that keeps only the required contract: the trait's
    // default capabilities, and its defaults for every optional method.
    let plain = Wrapped::new()
        .named("plain")
        .with_capabilities(|_| Capabilities::new())
        .trait_defaults(&Method::PROVIDED);
    let store = TaskStore::new(plain);
    store
        .save(&Task::new("l", "t", job(1)).unwrap())
        .await
        .unwrap();
    let expected = lacks_conditional_writes("plain");
    let err = store
        .claim("l", "t", "w", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(err, taskrec::Error::Unsupported { .. }), "{err}");
    assert_eq!(err.to_string(), expected, "claim");
    // The state methods' defaults say the same.
    let err = store.state("l", "t").await.unwrap_err();
    assert_eq!(err.to_string(), expected, "state");
    let err = store.count_by_status("l").await.unwrap_err();
    assert_eq!(err.to_string(), expected, "count_by_status");
    let worker = Worker::new(store, fast("w"));
    let err = worker
        .drain::<Job, _>("l", &Ledger::default())
        .await
        .unwrap_err();
    assert!(matches!(err, taskrec::Error::Unsupported { .. }), "{err}");
    assert_eq!(err.to_string(), expected, "drain");
}

/// The capability is what counts: an adapter that could answer the state
/// methods (it forwards them to the memory adapter) but does not claim
/// `conditional_writes` gets no claims and no worker, refused before any
/// read, and an empty list is refused as a full one is.
#[tokio::test]
async fn claims_and_workers_ask_the_capability_first() {
    // Every method forwarded, the state methods included; only the
    // capability is off.
    let unclaimed = Wrapped::new()
        .named("unclaimed")
        .with_capabilities(|memory| memory.with_conditional_writes(false));
    let store = TaskStore::new(unclaimed);
    store
        .save(&Task::new("l", "t", job(1)).unwrap())
        .await
        .unwrap();
    let expected = lacks_conditional_writes("unclaimed");
    let err = store
        .claim("l", "t", "w", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), expected, "claim");
    let worker = Worker::new(store.clone(), fast("w"));
    for list in ["l", "empty"] {
        let err = worker
            .drain::<Job, _>(list, &Ledger::default())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), expected, "drain of {list}");
    }
    // Without the check up front, serve would keep at it: bounded here.
    let (server, ledger) = (Worker::new(store.clone(), fast("w")), Ledger::default());
    let serve = server.serve::<Job, _>(&["l"], &ledger);
    let err = tokio::time::timeout(Duration::from_secs(10), serve)
        .await
        .expect("serve refuses at once")
        .unwrap_err();
    assert_eq!(err.to_string(), expected, "serve");
    assert_eq!(
        store.state("l", "t").await.unwrap().map(|s| s.attempts),
        Some(0),
        "nothing was claimed"
    );
}

/// A task whose run saves a newer version of itself, as another process might.
#[derive(Debug, Clone, PartialEq, TaskData)]
struct Versioned {
    version: u32,
}

#[async_trait::async_trait]
impl Execute<TaskStore<MemoryAdapter>> for Versioned {
    async fn execute(&self, store: &TaskStore<MemoryAdapter>) -> Result<(), BoxError> {
        if self.version == 1 {
            store
                .save(&Task::new("v", "t", Versioned { version: 2 })?)
                .await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_version_saved_while_a_worker_ran_the_task_survives_and_runs() {
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(&Task::new("v", "t", Versioned { version: 1 }).unwrap())
        .await
        .unwrap();
    let worker = Worker::new(store.clone(), fast("w"));
    let report = worker.drain::<Versioned, _>("v", &store).await.unwrap();
    // Version 1's completion found a new state token (the save reset it), so
    // it deleted nothing; version 2 then ran and was completed.
    assert_eq!((report.lost, report.succeeded), (1, 1), "{report:?}");
    assert_eq!(store.count("v").await.unwrap(), 0);
}

#[tokio::test]
async fn serve_works_on_several_lists_until_stopped_and_gives_back_what_runs() {
    let store = TaskStore::new(MemoryAdapter::new());
    let config = fast("server").concurrency(4);
    let worker = Worker::new(store.clone(), config);
    let stop = worker.stop_handle();
    let ledger = Arc::new(Ledger::default());
    let serving = {
        let ledger = Arc::clone(&ledger);
        tokio::spawn(async move { worker.serve::<Job, _>(&["first", "second"], &*ledger).await })
    };
    // Both lists are empty: the worker idles instead of returning.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!serving.is_finished(), "an idle serve does not return");
    fill(&store, "first", (1..=3).map(job)).await;
    fill(&store, "second", (4..=5).map(job)).await;
    fill(
        &store,
        "second",
        [Job {
            sleep_ms: 60_000,
            ..job(6)
        }],
    )
    .await;
    // Every task started, and the five short ones completed (gone from
    // their lists): a stop before that could give a short one back.
    while ledger.executions.load(Ordering::SeqCst) < 6
        || store.count("first").await.unwrap() > 0
        || store.count("second").await.unwrap() > 1
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.stop();
    let report = serving.await.unwrap().unwrap();
    assert_eq!(
        (report.succeeded, report.released, report.stopped),
        (5, 1, true),
        "{report:?}"
    );
    assert_eq!(store.count("first").await.unwrap(), 0);
    let left = store.state("second", "job-00006").await.unwrap().unwrap();
    assert_eq!(
        (left.status, left.owner),
        (TaskStatus::Pending, None),
        "the task running at the stop was given back"
    );
}

/// A worker serving two lists takes from each in turn: a list that never
/// runs dry (each task saves the next, as a busy producer would) does not
/// keep the other's task waiting until it empties. The worker runs at
/// concurrency 4, so a pass hands out at most 32 tasks before the other
/// list's turn: the image runs within the first few rounds, not never.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_from_every_list_in_turn_while_one_never_runs_dry() {
    let store = TaskStore::new(MemoryAdapter::new());
    let worker = Worker::new(store.clone(), fast("fair").concurrency(4));
    let stop = worker.stop_handle();
    fill(&store, "emails", (0..64).map(job)).await;
    fill(&store, "images", [job(1_000_000)]).await;
    let emails_before_the_image = Arc::new(AtomicUsize::new(0));
    let image_ran = Arc::new(AtomicUsize::new(0));
    let serving = {
        let (store, emails, image_ran) = (
            store.clone(),
            Arc::clone(&emails_before_the_image),
            Arc::clone(&image_ran),
        );
        tokio::spawn(async move {
            worker
                .serve_with::<Job, _>(&["emails", "images"], move |task: Task<Job>| {
                    let (store, emails, image_ran) =
                        (store.clone(), Arc::clone(&emails), Arc::clone(&image_ran));
                    Box::pin(async move {
                        if task.task_list() == "images" {
                            image_ran.fetch_add(1, Ordering::SeqCst);
                            return Ok(None);
                        }
                        if image_ran.load(Ordering::SeqCst) == 0 {
                            emails.fetch_add(1, Ordering::SeqCst);
                        }
                        // The next e-mail, saved before this one completes.
                        let next = task.data().n + 64;
                        fill(&store, "emails", [job(next)]).await;
                        Ok(None)
                    })
                })
                .await
        })
    };
    // A bound for the test, not the behaviour: without turns the image
    // never runs, and the e-mails would go on for ever.
    while image_ran.load(Ordering::SeqCst) == 0
        && emails_before_the_image.load(Ordering::SeqCst) < 5_000
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.stop();
    serving.await.unwrap().unwrap();
    let before = emails_before_the_image.load(Ordering::SeqCst);
    assert_eq!(
        image_ran.load(Ordering::SeqCst),
        1,
        "{before} e-mails ran, and no image"
    );
    assert!(
        before <= 2 * 4 * 8 + 4,
        "{before} e-mails ran before the image: more than a pass's share"
    );
    assert!(
        store.count("emails").await.unwrap() > 0,
        "the e-mails never ran dry"
    );
}
