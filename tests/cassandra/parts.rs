//! Workers that split a list into parts (`CassandraConfig::owned_parts`):
//! shares follow the processes sweeping the list (1 → 3 → 1), three workers
//! drain one list running each task once, three serving a list that tasks
//! flow into lose under 1 % of their claims, and the parts of a worker
//! killed with SIGKILL are taken over when their lease runs out, logged and
//! counted.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{ready, CassandraAdapter, CassandraConfig, TableLayout};
use taskrec::{Task, TaskStore, Worker, WorkerConfig};

use crate::claim_next::sweep;
use crate::utils::{adapter, address, config, run, unique_list};
use crate::worker::{kill_a_worker_mid_run, Ledger, Resize, Unit};

/// An adapter whose sweeps go by parts (`owned_parts`).
pub(crate) async fn by_parts() -> CassandraAdapter {
    adapter(
        config("tasks", TableLayout::Taskrec { shards: Some(16) })
            .page_size(100)
            .owned_parts(true),
    )
    .await
}

fn held(adapters: &[&CassandraAdapter], list: &str) -> Vec<Vec<u32>> {
    adapters.iter().map(|a| a.parts_held(list)).collect()
}

/// Every part is held by exactly one of them.
fn assert_split(shares: &[Vec<u32>]) {
    let all: Vec<u32> = shares.iter().flatten().copied().collect();
    let distinct: BTreeSet<u32> = all.iter().copied().collect();
    assert_eq!(all.len(), distinct.len(), "a part held twice: {shares:?}");
    assert_eq!(
        distinct,
        (0..ready::SHARDS).collect::<BTreeSet<u32>>(),
        "every part held: {shares:?}"
    );
}

#[test]
fn shares_follow_the_processes_sweeping_a_list_one_three_one() {
    run(async {
        let list = unique_list("parts-131");
        let (a, b, c) = (by_parts().await, by_parts().await, by_parts().await);
        sweep(&a, &list).await;
        assert_eq!(
            a.parts_held(&list).len(),
            ready::SHARDS as usize,
            "alone: all"
        );

        // Two join: nothing is free yet, but they say they sweep.
        sweep(&b, &list).await;
        sweep(&c, &list).await;
        assert!(b.parts_held(&list).is_empty() && c.parts_held(&list).is_empty());

        // At the next renewal the first keeps its share (3 of 8) and hands
        // the rest back; the others take theirs.
        tokio::time::sleep(ready::RENEW_EVERY).await;
        sweep(&a, &list).await;
        sweep(&b, &list).await;
        sweep(&c, &list).await;
        let shares = held(&[&a, &b, &c], &list);
        assert_split(&shares);
        assert_eq!(shares[0].len(), 3, "{shares:?}");
        assert!(shares.iter().all(|s| s.len() >= 2), "{shares:?}");

        // Two stop: theirs go back at once (no lease to wait for), and the
        // one left takes every part at its next renewal.
        b.stop_sweeping(&list).await.unwrap();
        c.stop_sweeping(&list).await.unwrap();
        assert!(b.parts_held(&list).is_empty() && c.parts_held(&list).is_empty());
        tokio::time::sleep(ready::RENEW_EVERY).await;
        sweep(&a, &list).await;
        assert_eq!(a.parts_held(&list).len(), ready::SHARDS as usize);
        // Handed back, not taken over: nobody's lease ran out.
        assert_eq!(a.ready_reads().part_takeovers, 0);
        a.stop_sweeping(&list).await.unwrap();
    });
}

#[test]
fn three_workers_drain_one_list_by_parts_running_each_task_once() {
    run(async {
        let store = TaskStore::new(by_parts().await);
        let list = unique_list("parts-drain");
        let n = 3_000;
        let tasks: Vec<Task<Unit>> = (0..n)
            .map(|n| Task::new(&list, format!("unit-{n:05}"), Unit { n }))
            .collect::<taskrec::Result<_>>()
            .unwrap();
        assert_eq!(
            crate::utils::save_all_for_setup(&store, &tasks, 256).await,
            u64::from(n)
        );

        let ledger = Ledger::default();
        let config = |owner: &str| {
            WorkerConfig::new(owner)
                .concurrency(16)
                .lease(Duration::from_secs(30))
        };
        let adapters = [
            Arc::new(by_parts().await),
            Arc::new(by_parts().await),
            Arc::new(by_parts().await),
        ];
        let workers = [
            Worker::new(TaskStore::new(Arc::clone(&adapters[0])), config("a")),
            Worker::new(TaskStore::new(Arc::clone(&adapters[1])), config("b")),
            Worker::new(TaskStore::new(Arc::clone(&adapters[2])), config("c")),
        ];
        let (ra, rb, rc) = tokio::join!(
            workers[0].drain::<Unit, _>(&list, &ledger),
            workers[1].drain::<Unit, _>(&list, &ledger),
            workers[2].drain::<Unit, _>(&list, &ledger),
        );
        let reports = [ra.unwrap(), rb.unwrap(), rc.unwrap()];

        let runs = ledger.runs.lock().unwrap().clone();
        assert_eq!(runs.len(), n as usize, "every task ran");
        assert_eq!(
            ledger.max_in_flight.load(Ordering::SeqCst),
            1,
            "never two at once"
        );
        let twice = runs.values().filter(|r| **r > 1).count();
        let errors: u64 = reports.iter().map(|r| r.errors).sum();
        assert!(
            twice as u64 <= errors,
            "{twice} tasks ran twice with {errors} errors: {reports:?}"
        );
        assert!(
            reports.iter().filter(|r| r.succeeded > 0).count() >= 2,
            "the list was shared: {reports:?}"
        );
        assert_eq!(store.count(&list).await.unwrap(), 0);
        // Each handed its parts back when its drain ended.
        for adapter in &adapters {
            assert!(adapter.parts_held(&list).is_empty());
        }
        println!("three workers by parts over {n} tasks: {reports:?}");
    });
}

#[test]
fn a_killed_workers_parts_are_taken_over_when_their_lease_ends() {
    run(async {
        // The example's keyspace and table, where the child process works.
        let config = CassandraConfig::new([address()], "taskrec_worker")
            .layout(TableLayout::Taskrec { shards: None })
            .create_schema(true)
            .owned_parts(true);
        let store = TaskStore::new(adapter(config.clone()).await);
        let list = unique_list("parts-killed");
        let lease = Duration::from_secs(3);
        let left = kill_a_worker_mid_run(&store, &list, lease, &["--owned-parts"]).await;
        let killed_at = Instant::now();

        // The survivor starts at once: the child still counts as sweeping
        // (its row lives SWEEPER_TTL) and holds every part under its lease,
        // so the survivor waits for the lease, then takes them all over.
        let survivors_adapter = Arc::new(adapter(config).await);
        let survivor = Worker::new(
            TaskStore::new(Arc::clone(&survivors_adapter)),
            WorkerConfig::new("survivor").concurrency(32).lease(lease),
        );
        let report = survivor.drain::<Resize, _>(&list, &()).await.unwrap();
        assert!(
            report.succeeded > 0 && report.succeeded <= left,
            "{report:?}, {left} left"
        );
        assert_eq!(report.failed, 0, "{report:?}");
        assert_eq!(store.count(&list).await.unwrap(), 0, "every task finished");
        let reads = survivors_adapter.ready_reads();
        assert_eq!(
            reads.part_takeovers,
            u64::from(ready::SHARDS),
            "the child held every part, and each was taken over: {reads:?}"
        );
        // Not before the dead worker's lease could have run out.
        assert!(
            killed_at.elapsed() >= ready::PART_LEASE - ready::RENEW_EVERY,
            "taken over after {:?}",
            killed_at.elapsed()
        );
    });
}

/// Lost claims of `list` in what `snapshotter` saw.
fn claims(snapshotter: &metrics_util::debugging::Snapshotter, list: &str) -> (u64, u64) {
    use metrics_util::debugging::DebugValue;
    let (mut won, mut lost) = (0, 0);
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let label = |name: &str| {
            key.labels()
                .find(|l| l.key() == name)
                .map(|l| l.value().to_owned())
        };
        if key.name() != taskrec::observe::CLAIMS_TOTAL
            || label("task_list").as_deref() != Some(list)
        {
            continue;
        }
        let DebugValue::Counter(n) = value else {
            continue;
        };
        match label("result").as_deref() {
            Some("won") => won += n,
            Some("lost") => lost += n,
            _ => {}
        }
    }
    (won, lost)
}

#[test]
fn three_workers_serving_one_list_by_parts_lose_under_one_claim_in_a_hundred() {
    // On a runtime of this thread, so that the recorder counts this test's
    // claims only (each labelled with its list, too).
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let list = unique_list("parts-flow");
    let n = 3_000;
    let ledger = Ledger::default();
    let (reports, reads) = metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let store = TaskStore::new(by_parts().await);
            let config = |owner: &str| WorkerConfig::new(owner).concurrency(32);
            let adapters = [
                Arc::new(by_parts().await),
                Arc::new(by_parts().await),
                Arc::new(by_parts().await),
            ];
            let worker = |i: usize, owner: &str| {
                Worker::new(TaskStore::new(Arc::clone(&adapters[i])), config(owner))
            };
            let workers = [worker(0, "a"), worker(1, "b"), worker(2, "c")];
            let stops: Vec<_> = workers.iter().map(Worker::stop_handle).collect();
            // Tasks flow in while the workers serve: saved one by one, and
            // the workers stopped once every one has run.
            let produce = async {
                for n in 0..n {
                    store
                        .save(&Task::build(&list, Unit { n }).unwrap())
                        .await
                        .unwrap();
                }
                while ledger.runs.lock().unwrap().len() < n as usize {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                for stop in &stops {
                    stop.stop();
                }
            };
            let lists = [list.as_str()];
            let (_, a, b, c) = tokio::join!(
                produce,
                workers[0].serve::<Unit, _>(&lists, &ledger),
                workers[1].serve::<Unit, _>(&lists, &ledger),
                workers[2].serve::<Unit, _>(&lists, &ledger),
            );
            let reads: Vec<_> = adapters.iter().map(|a| a.ready_reads()).collect();
            ([a.unwrap(), b.unwrap(), c.unwrap()], reads)
        })
    });
    let runs = ledger.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), n as usize, "every task ran");
    assert_eq!(
        ledger.max_in_flight.load(Ordering::SeqCst),
        1,
        "never two at once"
    );
    // Nothing failed, no lease ran out: each ran once, not again after it
    // completed (a hand-out read before a completion, claimed after it).
    let again: Vec<_> = runs.iter().filter(|(_, ran)| **ran > 1).collect();
    assert!(again.is_empty(), "tasks run more than once: {again:?}");
    let (won, lost) = claims(&snapshotter, &list);
    assert!(won >= u64::from(n), "{won} claims won for {n} tasks");
    // Before parts, three workers lost half their claims to each other.
    assert!(
        lost * 100 < won + lost,
        "{lost} claims lost against {won} won: {reports:?}"
    );
    // Owners hold the claims of the tasks they hand out (and claim by hand
    // plainly) once they have held a part for HAND_WINDOW.
    let held: u64 = reads.iter().map(|r| r.held_claims).sum();
    let transactions: u64 = reads.iter().map(|r| r.task_transactions).sum();
    assert!(held > 0, "{reads:?}");
    println!(
        "three workers by parts, {n} tasks flowing: {won} claims won, {lost} lost, \
         {held} held, {transactions} lightweight transactions on tasks; {reports:?}"
    );
}
