//! Pausing a list: workers stop taking its tasks within an idle poll and
//! take them again once it is resumed; a drain waits for the resume; bad
//! input is refused by name.

#![cfg(feature = "worker")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use taskrec::{
    Error, KeyError, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig, WorkerEvent,
};

#[derive(Debug, TaskData)]
struct Job {
    sleep_ms: u64,
}

#[async_trait::async_trait]
impl taskrec::Execute for Job {
    async fn execute(&self, _: &()) -> Result<(), taskrec::BoxError> {
        tokio::time::sleep(Duration::from_millis(self.sleep_ms)).await;
        Ok(())
    }
}

async fn fill(store: &TaskStore<MemoryAdapter>, list: &str, n: usize, sleep_ms: u64) {
    let tasks: Vec<Task<Job>> = (0..n)
        .map(|i| Task::new(list, format!("job-{i:04}"), Job { sleep_ms }))
        .collect::<taskrec::Result<_>>()
        .unwrap();
    store.save_all(&tasks, 64).await.unwrap();
}

/// What the worker told its hook, in order: `claimed <list>`,
/// `succeeded <list>`, `paused <list> by <who>`, `resumed <list>`.
type Seen = Arc<Mutex<Vec<String>>>;

fn worker(store: &TaskStore<MemoryAdapter>, concurrency: usize) -> (Worker<MemoryAdapter>, Seen) {
    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    let config = WorkerConfig::new("w")
        .concurrency(concurrency)
        .idle_poll(Duration::from_millis(20))
        .on_event(move |event| {
            let line = match event {
                WorkerEvent::Claimed { task, .. } => format!("claimed {}", task.task_list),
                WorkerEvent::Succeeded { task, .. } => format!("succeeded {}", task.task_list),
                WorkerEvent::Paused {
                    task_list, pause, ..
                } => format!("paused {task_list} by {}", pause.by),
                WorkerEvent::Resumed { task_list, .. } => format!("resumed {task_list}"),
                _ => return,
            };
            sink.lock().unwrap().push(line);
        });
    (Worker::new(store.clone(), config), seen)
}

fn lines(seen: &Seen) -> Vec<String> {
    seen.lock().unwrap().clone()
}

fn claims_of(seen: &Seen, list: &str) -> usize {
    let claimed = format!("claimed {list}");
    lines(seen).iter().filter(|l| **l == claimed).count()
}

fn successes_of(seen: &Seen, list: &str) -> usize {
    let succeeded = format!("succeeded {list}");
    lines(seen).iter().filter(|l| **l == succeeded).count()
}

/// Waits (bounded, for the test's sake) until `done` holds.
async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..2_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("waited 10 s for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_list_is_left_alone_until_it_is_resumed() {
    let store = TaskStore::new(MemoryAdapter::new());
    store.pause("emails", "ops").await.unwrap();
    fill(&store, "emails", 10, 0).await;
    fill(&store, "images", 3, 0).await;
    let (worker, seen) = worker(&store, 4);
    let stop = worker.stop_handle();
    let serving =
        tokio::spawn(async move { worker.serve::<Job, _>(&["emails", "images"], &()).await });
    until("the images to run", || successes_of(&seen, "images") == 3).await;
    // Ten idle polls later, the paused list is as it was saved.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(claims_of(&seen, "emails"), 0, "{:?}", lines(&seen));
    assert_eq!(store.count("emails").await.unwrap(), 10);
    assert_eq!(store.count("images").await.unwrap(), 0);
    assert!(lines(&seen).contains(&"paused emails by ops".to_owned()));

    store.resume("emails").await.unwrap();
    // Done, not only claimed: a stop gives back what is still running.
    until("the e-mails to run", || successes_of(&seen, "emails") == 10).await;
    stop.stop();
    let report = serving.await.unwrap().unwrap();
    assert_eq!(report.succeeded, 13);
    assert_eq!(store.count("emails").await.unwrap(), 0);
    let told: Vec<String> = lines(&seen)
        .into_iter()
        .filter(|l| !l.starts_with("claimed") && !l.starts_with("succeeded"))
        .collect();
    assert_eq!(told, ["paused emails by ops", "resumed emails"]);
}

/// Paused while it works: once the worker has seen the pause, it claims at
/// most what its slots had already started claiming (its concurrency), and
/// then nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_stops_a_busy_worker_taking_tasks() {
    let store = TaskStore::new(MemoryAdapter::new());
    fill(&store, "jobs", 200, 10).await;
    let (worker, seen) = worker(&store, 4);
    let stop = worker.stop_handle();
    let serving = tokio::spawn(async move { worker.serve::<Job, _>(&["jobs"], &()).await });
    until("a few tasks to run", || claims_of(&seen, "jobs") >= 8).await;
    store.pause("jobs", "ops").await.unwrap();
    let paused = "paused jobs by ops".to_owned();
    until("the worker to see the pause", || {
        lines(&seen).contains(&paused)
    })
    .await;
    // Twenty idle polls: long enough for any claim to show.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let all = lines(&seen);
    let at = all.iter().position(|l| *l == paused).unwrap();
    let claims_after = all[at..]
        .iter()
        .filter(|l| l.starts_with("claimed"))
        .count();
    assert!(
        claims_after <= 4,
        "{claims_after} claims after the worker saw the pause"
    );
    let ran = claims_of(&seen, "jobs");
    assert!(
        store.count("jobs").await.unwrap() as usize >= 200 - ran && ran < 100,
        "{ran} of 200 ran: the pause did not hold"
    );
    stop.stop();
    serving.await.unwrap().unwrap();
}

/// A drain of a paused list does not end as if the list were empty: it
/// waits for the resume, then drains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_of_a_paused_list_waits_for_the_resume() {
    let store = TaskStore::new(MemoryAdapter::new());
    fill(&store, "jobs", 5, 0).await;
    store.pause("jobs", "ops").await.unwrap();
    let (worker, seen) = worker(&store, 2);
    let draining = tokio::spawn(async move { worker.drain::<Job, _>("jobs", &()).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!draining.is_finished(), "the drain ended on a paused list");
    assert_eq!(claims_of(&seen, "jobs"), 0);
    store.resume("jobs").await.unwrap();
    let report = draining.await.unwrap().unwrap();
    assert_eq!(report.succeeded, 5);
    assert_eq!(store.count("jobs").await.unwrap(), 0);
}

#[tokio::test]
async fn a_pause_names_a_list_and_who() {
    let store = TaskStore::new(MemoryAdapter::new());
    assert!(matches!(
        store.pause("", "ops").await,
        Err(Error::InvalidTaskList {
            reason: KeyError::Empty
        })
    ));
    let err = store.pause("jobs", "").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidPausedBy {
                reason: KeyError::Empty
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "invalid name of who paused the list: it is empty"
    );
    let long = "x".repeat(taskrec::MAX_KEY_BYTES + 1);
    assert!(matches!(
        store.pause("jobs", &long).await,
        Err(Error::InvalidPausedBy {
            reason: KeyError::TooLong { .. }
        })
    ));
    assert_eq!(store.pause_state("jobs").await.unwrap(), None);
    // Who and when are kept; a second pause replaces them.
    store.pause("jobs", "alice").await.unwrap();
    store.pause("jobs", "bob <b@example.com>").await.unwrap();
    let pause = store.pause_state("jobs").await.unwrap().unwrap();
    assert_eq!(pause.by, "bob <b@example.com>");
    assert_eq!(store.pause_state("other").await.unwrap(), None);
    // Resuming twice is fine.
    store.resume("jobs").await.unwrap();
    store.resume("jobs").await.unwrap();
    assert_eq!(store.pause_state("jobs").await.unwrap(), None);
}
