//! Claims and the worker loop against the real server: the lightweight
//! transactions keep two workers off one task, and a worker process killed
//! with SIGKILL leaves claims that another worker finishes after the lease.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{CassandraAdapter, CassandraConfig, TableLayout};
use taskrec::{BoxError, Execute, Task, TaskData, TaskStatus, TaskStore, Worker, WorkerConfig};

use crate::utils::{adapter, address, bucketed, run, unique_list};

/// A task that records its runs in a [`Ledger`].
#[derive(Debug, Clone, TaskData)]
pub(crate) struct Unit {
    pub(crate) n: u32,
}

/// Runs per task, and the most runs of one task at once.
#[derive(Default)]
pub(crate) struct Ledger {
    in_flight: Mutex<HashMap<u32, u32>>,
    pub(crate) runs: Mutex<HashMap<u32, u32>>,
    pub(crate) max_in_flight: AtomicU32,
}

#[async_trait::async_trait]
impl Execute<Ledger> for Unit {
    async fn execute(&self, ledger: &Ledger) -> Result<(), BoxError> {
        {
            let mut in_flight = ledger.in_flight.lock().unwrap();
            let now = in_flight.entry(self.n).or_default();
            *now += 1;
            ledger.max_in_flight.fetch_max(*now, Ordering::SeqCst);
            *ledger.runs.lock().unwrap().entry(self.n).or_default() += 1;
        }
        tokio::task::yield_now().await;
        *ledger.in_flight.lock().unwrap().get_mut(&self.n).unwrap() -= 1;
        Ok(())
    }
}

/// The worker example's task type, as it stores it.
#[derive(Debug, Clone, TaskData)]
#[task(type_name = "Resize")]
pub(crate) struct Resize {
    pub(crate) image: u32,
    pub(crate) work_ms: u64,
}

#[async_trait::async_trait]
impl Execute for Resize {
    async fn execute(&self, _: &()) -> Result<(), BoxError> {
        Ok(())
    }
}

/// Saves `n` units (`unit-00000`, ...) to `list`.
pub(crate) async fn fill<A: StorageAdapter>(store: &TaskStore<A>, list: &str, n: u32) {
    let tasks: Vec<Task<Unit>> = (0..n)
        .map(|n| Task::new(list, format!("unit-{n:05}"), Unit { n }))
        .collect::<taskrec::Result<_>>()
        .unwrap();
    assert_eq!(
        crate::utils::save_all_for_setup(store, &tasks, 256).await,
        u64::from(n)
    );
}

#[test]
fn two_workers_racing_over_ten_thousand_tasks_never_run_one_together() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("race");
        fill(&store, &list, 10_000).await;
        let ledger = Ledger::default();
        let config = |owner: &str| {
            WorkerConfig::new(owner)
                .concurrency(32)
                .lease(Duration::from_secs(30))
        };
        let a = Worker::new(TaskStore::new(bucketed().await), config("a"));
        let b = Worker::new(TaskStore::new(bucketed().await), config("b"));
        let (ra, rb) = tokio::join!(
            a.drain::<Unit, _>(&list, &ledger),
            b.drain::<Unit, _>(&list, &ledger)
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());

        let ran = ledger.runs.lock().unwrap().len();
        assert_eq!(ran, 10_000, "every task ran");
        assert_eq!(
            ledger.max_in_flight.load(Ordering::SeqCst),
            1,
            "never two at once"
        );
        // A claim or completion whose Paxos round timed out has an unknown
        // outcome: it is counted as an error, and the task runs again or was done.
        let errors = ra.errors + rb.errors;
        assert!(
            ra.succeeded + rb.succeeded + errors >= 10_000,
            "{ra:?} {rb:?}"
        );
        assert!(
            ra.succeeded > 0 && rb.succeeded > 0,
            "both took part: {ra:?} {rb:?}"
        );
        assert_eq!(store.count(&list).await.unwrap(), 0);
    });
}

/// The worker example, built by `cargo test` beside this test binary.
fn worker_example() -> std::path::PathBuf {
    let deps = std::env::current_exe().expect("the test binary's path");
    let exe = deps
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .join("examples/worker");
    assert!(
        exe.exists(),
        "{} is missing: run the tests with `cargo test --all-features`",
        exe.display()
    );
    exe
}

/// Saves 400 quick tasks of the worker example's to `list`, then 8 that
/// take ten minutes each (saved last, so handed out last), starts the
/// example (`--cassandra`, 8 at once, `lease`, and `extra` options) on
/// them, and kills it with SIGKILL once it holds one of the long ones: how
/// many tasks were left, the dead worker's claims (1 to 8) among them.
///
/// Killed on a claim seen, not after some count of finished tasks: a
/// worker holds no claim at all between two passes (or while a request of
/// its own is slow), and a kill there would leave nothing to take over.
pub(crate) async fn kill_a_worker_mid_run(
    store: &TaskStore<CassandraAdapter>,
    list: &str,
    lease: Duration,
    extra: &[&str],
) -> u64 {
    let resize = |image: u32, work_ms: u64| {
        Task::new(list, format!("image-{image:06}"), Resize { image, work_ms })
    };
    let quick: Vec<Task<Resize>> = (0..400)
        .map(|image| resize(image, 20))
        .collect::<taskrec::Result<_>>()
        .unwrap();
    store.save_all(&quick, 256).await.unwrap();
    let long: Vec<Task<Resize>> = (400..408)
        .map(|image| resize(image, 600_000))
        .collect::<taskrec::Result<_>>()
        .unwrap();
    store.save_all(&long, 256).await.unwrap();

    let mut child = Command::new(worker_example())
        .args(["--cassandra", "--list", list, "--concurrency", "8"])
        .args(["--lease-ms", &lease.as_millis().to_string()])
        .args(extra)
        .env("TASKREC_CASSANDRA", address())
        .stdout(Stdio::null())
        .spawn()
        .expect("the worker example starts");
    let started = Instant::now();
    'running: loop {
        for task in &long {
            if let Some(state) = store.state(list, task.id()).await.unwrap()
                && state.status == TaskStatus::Claimed
            {
                break 'running;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the child claimed no long task in 120 s: {} left",
            store.count(list).await.unwrap()
        );
        assert!(child.try_wait().unwrap().is_none(), "the child ended early");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished: {status}");

    let left = store.count(list).await.unwrap();
    let mut held = 0;
    for task in quick.iter().chain(&long) {
        if let Some(state) = store.state(list, task.id()).await.unwrap() {
            held += usize::from(state.status == TaskStatus::Claimed);
        }
    }
    // A long task runs for ten minutes and its lease is renewed while it
    // runs: the one seen claimed is still held by the dead worker.
    assert!(
        (1..=8).contains(&held),
        "the dead worker left its claims ({held}) behind"
    );
    left
}

#[test]
fn a_worker_killed_with_sigkill_is_finished_by_another_after_its_lease() {
    run(async {
        // The example's keyspace and table, where the child process works.
        let config = CassandraConfig::new([address()], "taskrec_worker")
            .layout(TableLayout::Taskrec { shards: None })
            .create_schema(true);
        let store = TaskStore::new(adapter(config).await);
        let list = unique_list("killed");
        let lease = Duration::from_secs(3);
        let left = kill_a_worker_mid_run(&store, &list, lease, &[]).await;

        let survivor = Worker::new(
            store.clone(),
            WorkerConfig::new("survivor").concurrency(32).lease(lease),
        );
        let report = survivor.drain::<Resize, _>(&list, &()).await.unwrap();
        // Requests the child sent before it died may still land after the
        // count above: the survivor finishes at most what was left.
        assert!(
            report.succeeded > 0 && report.succeeded <= left,
            "{report:?}, {left} left"
        );
        assert_eq!(report.failed, 0, "{report:?}");
        assert_eq!(
            store.count(&list).await.unwrap(),
            0,
            "every remaining task finished"
        );
    });
}

/// A list paused through one store is left alone by a worker on another
/// connection until it is resumed; a second pause replaces the first's
/// name; the resume lets the worker drain the list.
#[test]
fn a_paused_list_is_left_alone_until_it_is_resumed() {
    run(async {
        let operator = TaskStore::new(bucketed().await);
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("paused");
        operator.pause(&list, "alice").await.unwrap();
        fill(&store, &list, 50).await;
        let ledger = std::sync::Arc::new(Ledger::default());
        let worker = Worker::new(
            store.clone(),
            WorkerConfig::new("paused-worker")
                .concurrency(8)
                .idle_poll(Duration::from_millis(100)),
        );
        let stop = worker.stop_handle();
        let serving = {
            let (ledger, list) = (std::sync::Arc::clone(&ledger), list.clone());
            tokio::spawn(async move { worker.serve::<Unit, _>(&[list.as_str()], &*ledger).await })
        };
        // Twenty idle polls: the list is as it was saved.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            ledger.runs.lock().unwrap().len(),
            0,
            "a paused list's task ran"
        );
        assert_eq!(store.count(&list).await.unwrap(), 50);
        store.pause(&list, "bob").await.unwrap();
        assert_eq!(
            operator.pause_state(&list).await.unwrap().unwrap().by,
            "bob"
        );

        operator.resume(&list).await.unwrap();
        // Done, not only started: a stop gives back what is still running.
        let deadline = Instant::now() + Duration::from_secs(60);
        while store.count(&list).await.unwrap() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.stop();
        serving.await.unwrap().unwrap();
        assert_eq!(
            store.count(&list).await.unwrap(),
            0,
            "the resumed list was drained"
        );
        assert_eq!(ledger.runs.lock().unwrap().len(), 50);
    });
}
