//! Claim-next on taskrec's table, counted: a worker takes 100 free tasks
//! from a list where 20,000 are held by another live worker reading a few
//! hundred rows, not the list; and an idle worker's polls read no task.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{ready, CassandraAdapter, ReadyReads};
use taskrec::{Task, TaskData, TaskStore, Worker, WorkerConfig};

use crate::utils::{bucketed, run, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Held {
    n: u32,
}

/// How long a claim under a lease of 8 s or more holds its lease-end hint
/// back (2 s), and a margin.
const HINTS_HELD_BACK: Duration = Duration::from_secs(3);

/// One whole claim-next sweep of `list` by `adapter`: how many tasks it
/// handed out, and when it says the first held task opens.
pub(crate) async fn sweep(
    adapter: &CassandraAdapter,
    list: &str,
) -> (usize, Option<chrono::DateTime<chrono::Utc>>) {
    let (mut token, mut open, mut handed) = (None, None, 0);
    loop {
        let step = adapter
            .next_ready(list, token.as_ref(), 64, chrono::Utc::now())
            .await
            .unwrap();
        handed += step.tasks.len();
        open = open.or(step.next_open);
        token = step.next;
        if token.is_none() {
            return (handed, open);
        }
    }
}

/// Claims `id` for the worker "other": the setup of the held tasks. 20,000
/// Paxos rounds beside the other tests can meet a server-side CAS timeout on
/// this shared node (seen in CI), whose outcome is unknown: such a claim is
/// tried again, and a task found held by "other" is one that took.
async fn hold_for_other(store: &TaskStore<CassandraAdapter>, list: &str, id: &str) {
    for attempt in 1..=5 {
        match store
            .claim(list, id, "other", Duration::from_secs(540))
            .await
        {
            Ok(Some(_)) => return,
            Ok(None) => {
                let state = store.state(list, id).await.unwrap().unwrap();
                assert_eq!(state.owner.as_deref(), Some("other"), "{id}: {state:?}");
                return;
            }
            Err(e) if attempt < 5 => {
                eprintln!("claim of {id} for the setup, attempt {attempt}: {e}; trying again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("claim of {id} for the setup failed 5 times: {e}"),
        }
    }
}

/// Tasks held by another worker in the test below. What it asserts does not
/// grow with this count (no walk, a state per free task, hint rows bounded by
/// time), so the count only has to dwarf those bounds. It was 50,000 until
/// 2026-12-07, when claiming them (a Paxos round each) was 7.5 minutes of
/// every CI run; the figures measured at 50,000 are in docs/SCALE.md.
const HELD: u32 = 20_000;

fn minus(a: ReadyReads, b: ReadyReads) -> ReadyReads {
    let mut diff = ReadyReads::default();
    diff.hints = a.hints - b.hints;
    diff.states = a.states - b.states;
    diff.walked = a.walked - b.walked;
    diff.hints_of_own_claims = a.hints_of_own_claims - b.hints_of_own_claims;
    diff
}

#[test]
fn free_tasks_among_20k_held_ones_are_taken_without_reading_the_list() {
    run(async {
        let list = unique_list("held");
        let producer = TaskStore::new(bucketed().await);
        let held: Vec<Task<Held>> = (0..HELD)
            .map(|n| Task::new(&list, format!("held-{n:05}"), Held { n }).unwrap())
            .collect();
        crate::utils::save_all_for_setup(&producer, &held, 256).await;
        // Held by another worker, under leases longer than the test can
        // take on a loaded machine (claiming 50,000 took minutes in a debug
        // build beside other tests, and 5-minute leases ran out), and short
        // enough that their ends are hinted within a sweep's 10-minute
        // look-ahead (so that a worker need not walk to know they are held).
        futures::stream::iter(&held)
            .map(|task| hold_for_other(&producer, &list, task.id()))
            .buffer_unordered(32)
            .collect::<()>()
            .await;

        // That worker's process sweeps the list, as a live worker does: its
        // first sweep walks the list (no low mark yet) and marks it. The
        // mark lags LOW_SAFETY behind, so the sweep comes that long after.
        tokio::time::sleep(ready::LOW_SAFETY + Duration::from_secs(1)).await;
        let other = bucketed().await;
        let (mut token, mut handed) = (None, 0);
        loop {
            let step = other
                .next_ready(&list, token.as_ref(), 1000, chrono::Utc::now())
                .await
                .unwrap();
            handed += step.tasks.len();
            token = step.next;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(handed, 0, "every task is held");
        assert_eq!(
            other.ready_reads().walked,
            u64::from(HELD),
            "the first sweep walked the list"
        );

        let free: Vec<Task<Held>> = (0..100)
            .map(|n| Task::new(&list, format!("free-{n:03}"), Held { n }).unwrap())
            .collect();
        producer.save_all(&free, 64).await.unwrap();

        // A second worker, in a process of its own.
        let adapter = Arc::new(bucketed().await);
        let worker = Worker::new(
            TaskStore::from_arc(Arc::clone(&adapter)),
            WorkerConfig::new("second").concurrency(16),
        );
        let stop = worker.stop_handle();
        let ran = AtomicU64::new(0);
        let report = worker
            .drain_with::<Held, _>(&list, |task| {
                assert!(task.id().starts_with("free-"), "{} is held", task.id());
                if ran.fetch_add(1, SeqCst) + 1 == 100 {
                    stop.stop();
                }
                Box::pin(async { Ok(None) })
            })
            .await
            .unwrap();
        assert_eq!(report.succeeded, 100, "{report:?}");
        let taken = adapter.ready_reads();
        println!("taking 100 free tasks among {HELD} held read {taken:?}");
        // docs/SCALE.md's figures: no walk, one state per task taken, a few
        // hundred hint rows (215-331 measured), not the list's HELD + 100.
        assert_eq!(
            (taken.walked, taken.states),
            (0, 100),
            "no walk, a state a task: {taken:?}"
        );
        assert!(taken.hints <= 1_000, "a few hundred hint rows: {taken:?}");

        // Idle: only held tasks are left. After a first second (which may
        // read the hints of the 100 just run once more, finding them gone),
        // a second of polls reads no task state and walks nothing.
        let worker = Worker::new(
            TaskStore::from_arc(Arc::clone(&adapter)),
            WorkerConfig::new("second").idle_poll(Duration::from_millis(100)),
        );
        let stop = worker.stop_handle();
        let idle = tokio::spawn(async move {
            worker
                .drain_with::<Held, _>(&list, |_| Box::pin(async { Ok(None) }))
                .await
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        let settled = adapter.ready_reads();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let idle_reads = minus(adapter.ready_reads(), settled);
        stop.stop();
        let report = idle.await.unwrap().unwrap();
        assert_eq!((report.succeeded, report.errors), (0, 0), "{report:?}");
        println!("a second of idle polls read {idle_reads:?}");
        assert_eq!(
            (idle_reads.states, idle_reads.walked),
            (0, 0),
            "idle polls read no task: {idle_reads:?}"
        );
        // Hint rows only (718-3,300 measured), never the held tasks'.
        assert!(
            (1..=5_000).contains(&idle_reads.hints),
            "the worker polled, reading hints only: {idle_reads:?}"
        );
    });
}

/// `CassandraConfig::ready_walk_every` is what an idle worker pays on a
/// long list: with tasks held by another live worker, a worker of the
/// default config (first walk a minute after its first sweep) idles for
/// seconds walking nothing, while one set to walk every second walks the
/// whole list about once a second.
#[test]
fn the_walk_interval_sets_what_an_idle_worker_reads() {
    run(async {
        let list = unique_list("walk-every");
        let holder = TaskStore::new(bucketed().await);
        for n in 0..50 {
            let task = Task::new(&list, format!("t-{n:03}"), Held { n }).unwrap();
            holder.save(&task).await.unwrap();
            hold_for_other(&holder, &list, task.id()).await;
        }
        for (walk_every, walks) in [(None, false), (Some(Duration::from_secs(1)), true)] {
            let mut config = crate::utils::config(
                "tasks",
                taskrec::cassandra::TableLayout::Taskrec { shards: Some(16) },
            )
            .page_size(100);
            if let Some(every) = walk_every {
                config = config.ready_walk_every(every);
            }
            let adapter = Arc::new(crate::utils::adapter(config).await);
            let worker = Worker::new(
                TaskStore::from_arc(Arc::clone(&adapter)),
                WorkerConfig::new("idle").idle_poll(Duration::from_millis(100)),
            );
            let stop = worker.stop_handle();
            let list = list.clone();
            let idle = tokio::spawn(async move {
                worker
                    .drain_with::<Held, _>(&list, |_| Box::pin(async { Ok(None) }))
                    .await
            });
            // The first sweeps may walk once (no hint due soon); then idle.
            // On a slow machine that walk may take a while: wait until the
            // walked count stops moving (the one-second interval never
            // stops: a second is its settling).
            let mut settled = adapter.ready_reads();
            for _ in 0..60 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let now = adapter.ready_reads();
                let still = now.walked == settled.walked;
                settled = now;
                if walks || still {
                    break;
                }
            }
            // Six seconds: at one second, a walk of the 50 held tasks may
            // take most of a second here under the other tests' load.
            tokio::time::sleep(Duration::from_secs(6)).await;
            let idle_reads = minus(adapter.ready_reads(), settled);
            stop.stop();
            let report = idle.await.unwrap().unwrap();
            assert_eq!((report.succeeded, report.errors), (0, 0), "{report:?}");
            println!("walk every {walk_every:?}: 6 s of idle polls read {idle_reads:?}");
            if walks {
                assert!(
                    idle_reads.walked >= 100,
                    "walked the 50 held tasks at least twice in 6 s: {idle_reads:?}"
                );
            } else {
                assert_eq!(idle_reads.walked, 0, "no walk: {idle_reads:?}");
            }
        }
    });
}

#[test]
fn a_list_drained_by_this_process_is_known_drained_without_waiting_out_leases() {
    run(async {
        let list = unique_list("drained");
        let adapter = Arc::new(bucketed().await);
        let store = TaskStore::from_arc(Arc::clone(&adapter));
        let tasks: Vec<Task<Held>> = (0..100)
            .map(|n| Task::new(&list, format!("t-{n:03}"), Held { n }).unwrap())
            .collect();
        store.save_all(&tasks, 16).await.unwrap();
        // Every claim hints its lease's end, ten minutes out (written two
        // seconds after the claim, so before the tasks complete here);
        // every task is then completed, by the same process.
        let mut claims = Vec::new();
        for task in &tasks {
            let lease = Duration::from_secs(600);
            let claim = store.claim(&list, task.id(), "w", lease).await.unwrap();
            claims.push(claim.unwrap());
        }
        tokio::time::sleep(HINTS_HELD_BACK).await;
        for claim in claims {
            assert!(store.succeed(claim, None, false).await.unwrap());
        }
        // This process knows the lease hints point at finished tasks: the
        // list is drained now, not in ten minutes (a drain returns).
        let (handed, open) = sweep(&adapter, &list).await;
        assert_eq!((handed, open), (0, None), "drained, nothing open");

        // Another process does not know: it says when to look again (a
        // drain there ends once those hints come due and are read).
        let (handed, open) = sweep(&bucketed().await, &list).await;
        assert_eq!(handed, 0);
        let open = open.expect("another process waits for the hints");
        assert!(
            open > chrono::Utc::now() + chrono::TimeDelta::minutes(5),
            "{open}"
        );
    });
}

#[test]
fn tasks_completed_soon_after_their_claim_leave_no_lease_end_hint() {
    run(async {
        let list = unique_list("quick");
        let store = TaskStore::new(bucketed().await);
        let tasks: Vec<Task<Held>> = (0..100)
            .map(|n| Task::new(&list, format!("t-{n:03}"), Held { n }).unwrap())
            .collect();
        store.save_all(&tasks, 16).await.unwrap();
        for task in &tasks {
            let lease = Duration::from_secs(600);
            let claim = store.claim(&list, task.id(), "w", lease).await.unwrap();
            assert!(store.succeed(claim.unwrap(), None, false).await.unwrap());
        }
        tokio::time::sleep(HINTS_HELD_BACK).await;
        // Another process, which knows nothing of these claims, finds the
        // list drained at once: no hint says "look again in ten minutes".
        let (handed, open) = sweep(&bucketed().await, &list).await;
        assert_eq!((handed, open), (0, None), "no lease-end hint was written");
    });
}

/// A task a worker's process handed out and claimed costs that process no
/// second state read: when a sweep comes by the task's save hint after a
/// walk handed the task out (or again, from the margin or the low mark),
/// the hint carries the version's token, which this process claimed, and
/// is passed over unread. Before, the 500 hints here cost 500 state reads
/// after the walk had read and handed out all 500.
#[test]
fn a_drained_task_costs_its_process_no_second_state_read() {
    run(async {
        let list = unique_list("one-read");
        let producer = TaskStore::new(bucketed().await);
        let tasks: Vec<Task<Held>> = (0..500)
            .map(|n| Task::new(&list, format!("t{n:03}"), Held { n }).unwrap())
            .collect();
        producer.save_all(&tasks, 64).await.unwrap();

        let adapter = Arc::new(bucketed().await);
        let worker = Worker::new(
            TaskStore::from_arc(Arc::clone(&adapter)),
            WorkerConfig::new("one-read").concurrency(16),
        );
        let report = worker
            .drain_with::<Held, _>(&list, |_| Box::pin(async { Ok(None) }))
            .await
            .unwrap();
        assert_eq!((report.succeeded, report.errors), (500, 0), "{report:?}");
        assert_eq!(producer.count(&list).await.unwrap(), 0);
        let reads = adapter.ready_reads();
        println!("a drain of 500 tasks a walk handed out read {reads:?}");
        // The walk hands every task out; the hints that follow find them
        // claimed by this process. A few handed out last may not be claimed
        // yet when their hints are read: those cost a state read still.
        assert!(reads.walked >= 500, "{reads:?}");
        assert!(reads.states <= 100, "second state reads: {reads:?}");
        assert!(reads.hints_of_own_claims >= 400, "{reads:?}");
    });
}

/// The same by the owner of a list's parts, in rounds: tasks saved after
/// the list was swept are handed out from their hints, one state read each,
/// and when a sweep starts again from the parts' marks (a process takes its
/// parts over a few renewals) their hints are passed over. Before, each
/// task of the later rounds cost two state reads (4,000 for 2,000).
#[test]
fn a_list_drained_by_parts_in_rounds_reads_each_tasks_state_once() {
    run(async {
        let list = unique_list("rounds");
        let config = crate::utils::config(
            "tasks",
            taskrec::cassandra::TableLayout::Taskrec { shards: Some(16) },
        )
        .page_size(100)
        .owned_parts(true);
        let adapter = Arc::new(crate::utils::adapter(config).await);
        let store = TaskStore::from_arc(Arc::clone(&adapter));
        for round in 0..3u32 {
            let tasks: Vec<Task<Held>> = (round * 2_000..(round + 1) * 2_000)
                .map(|n| Task::new(&list, format!("t{n:05}"), Held { n }).unwrap())
                .collect();
            store.save_all(&tasks, 64).await.unwrap();
            let before = adapter.ready_reads();
            let worker = Worker::new(store.clone(), WorkerConfig::new("rounds").concurrency(32));
            let report = worker
                .drain_with::<Held, _>(&list, |_| Box::pin(async { Ok(None) }))
                .await
                .unwrap();
            assert_eq!((report.succeeded, report.errors), (2_000, 0), "{report:?}");
            let reads = minus(adapter.ready_reads(), before);
            println!("round {round}: {reads:?}");
            // The first round is walked; the others come from hints.
            assert!(
                reads.states + reads.walked <= 2_200,
                "round {round}: {reads:?}"
            );
        }
        assert_eq!(store.count(&list).await.unwrap(), 0);
    });
}

#[test]
fn leases_beyond_the_look_ahead_cost_an_idle_worker_no_walk_per_poll() {
    run(async {
        // Claimed for 20 minutes: their lease-end hints are due past the
        // 10 minutes a sweep looks ahead, so only a walk sees them open.
        let list = unique_list("long-leases");
        let producer = TaskStore::new(bucketed().await);
        let held: Vec<Task<Held>> = (0..300)
            .map(|n| Task::new(&list, format!("held-{n:03}"), Held { n }).unwrap())
            .collect();
        producer.save_all(&held, 64).await.unwrap();
        for task in &held {
            let claim = producer
                .claim(&list, task.id(), "other", Duration::from_secs(1200))
                .await
                .unwrap();
            assert!(claim.is_some());
        }
        // The saves' hints must be older than the walk's start less the
        // margin: a hint due after that may be of a change the walk did not
        // see, and the next poll walks again (as it should). On a fast
        // machine the 300 claims take less than the margin.
        tokio::time::sleep(ready::MARGIN + Duration::from_millis(500)).await;

        let adapter = Arc::new(bucketed().await);
        let worker = Worker::new(
            TaskStore::from_arc(Arc::clone(&adapter)),
            WorkerConfig::new("idle").idle_poll(Duration::from_millis(100)),
        );
        let stop = worker.stop_handle();
        let idle = tokio::spawn(async move {
            worker
                .drain_with::<Held, _>(&list, |_| Box::pin(async { Ok(None) }))
                .await
        });
        // The first sweep walks (the worker's process has not seen the list
        // and the hints say nothing within the look-ahead); then it knows
        // when the first lease ends, and its polls walk no more. How long
        // the walk takes depends on the server's load: wait for it.
        let waiting = std::time::Instant::now();
        while adapter.ready_reads().walked < 300 {
            assert!(
                waiting.elapsed() < Duration::from_secs(60),
                "no walk within a minute: {:?}",
                adapter.ready_reads()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let settled = adapter.ready_reads();
        assert_eq!(settled.walked, 300, "one walk: {settled:?}");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle_reads = minus(adapter.ready_reads(), settled);
        stop.stop();
        let report = idle.await.unwrap().unwrap();
        assert_eq!((report.succeeded, report.errors), (0, 0), "{report:?}");
        println!("two seconds of idle polls over 20-minute leases read {idle_reads:?}");
        assert_eq!(
            (idle_reads.states, idle_reads.walked),
            (0, 0),
            "idle polls read no task: {idle_reads:?}"
        );
    });
}
