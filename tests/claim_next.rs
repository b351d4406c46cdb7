#![cfg(feature = "worker")]

//! Claim-next on the memory adapter, counted: a worker takes the free tasks
//! of a list whose other tasks are held by a live worker without reading
//! one held task, and polls an idle list without reading its tasks.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use taskrec::adapter::{Capabilities, Page, ReadyTasks, StateToken, StorageAdapter, StoredState};
use taskrec::{
    MemoryAdapter, PageToken, Result, Task, TaskData, TaskRecord, TaskStore, Worker, WorkerConfig,
};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Job {
    n: u32,
}

/// The memory adapter, counting the tasks each kind of read returns.
#[derive(Debug, Default)]
struct Counted {
    inner: MemoryAdapter,
    listed: AtomicU64,
    states_loaded: AtomicU64,
    handed_out: AtomicU64,
    steps: AtomicU64,
}

impl Counted {
    fn reads(&self) -> (u64, u64, u64) {
        (
            self.listed.load(SeqCst),
            self.states_loaded.load(SeqCst),
            self.handed_out.load(SeqCst),
        )
    }
}

#[async_trait]
impl StorageAdapter for Counted {
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
        let page = self.inner.page(l, t, n).await?;
        self.listed.fetch_add(page.records.len() as u64, SeqCst);
        Ok(page)
    }
    async fn load_state(&self, l: &str, i: &str) -> Result<Option<StoredState>> {
        self.states_loaded.fetch_add(1, SeqCst);
        self.inner.load_state(l, i).await
    }
    async fn swap_state(
        &self,
        l: &str,
        i: &str,
        e: &StateToken,
        n: Option<&str>,
    ) -> Result<Option<StateToken>> {
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
        self.handed_out.fetch_add(ready.tasks.len() as u64, SeqCst);
        self.steps.fetch_add(1, SeqCst);
        Ok(ready)
    }
}

#[tokio::test]
async fn free_tasks_among_50k_held_ones_are_taken_without_reading_a_held_one() {
    let store = TaskStore::new(Counted::default());
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
    let before = store.adapter().reads();

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
    let (listed, loaded, handed) = store.adapter().reads();
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
    let steps_before = store.adapter().steps.load(SeqCst);
    let idle = tokio::spawn(async move {
        worker
            .drain_with::<Job, _>("busy", |_| Box::pin(async { Ok(None) }))
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.stop();
    let report = idle.await.unwrap().unwrap();
    assert_eq!((report.succeeded, report.errors), (0, 0), "{report:?}");
    let polls = store.adapter().steps.load(SeqCst) - steps_before;
    assert!(polls >= 2, "the idle worker polled ({polls} steps)");
    assert_eq!(
        store.adapter().reads(),
        (listed, loaded, handed),
        "{polls} idle polls read no task"
    );
}
