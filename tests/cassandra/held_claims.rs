//! Claims the owner of a part holds in memory for their first moments
//! (`held_claims`, with `CassandraConfig::owned_parts`): a held claim costs
//! no request and its completion no read; one whose task outlives the hold
//! is written for every process to see, with its lease-end hint; a version
//! saved while a held claim runs survives its completion, and one saved
//! before the claim is written makes the claim lost; a change other than a
//! completion is a lightweight transaction from the pending version; a task
//! held by a process that died runs again once its part is taken over; and
//! a part goes to a process that joins only once the claims held in it are
//! written.

use std::sync::Arc;
use std::time::{Duration, Instant};

use taskrec::adapter::{StateToken, StorageAdapter, StoredState};
use taskrec::cassandra::{ready, CassandraAdapter, TableLayout};
use taskrec::{Task, TaskState, TaskStatus, TaskStore, Worker, WorkerConfig};

use crate::parts::by_parts;
use crate::plain_claims::{own_every_part, save_u};
use crate::utils::{adapter, config, run, unique_list};
use crate::worker::{fill, Ledger, Unit};

/// Longer than a claim is held before it is written (2 s), with room.
const PAST_THE_HOLD: Duration = Duration::from_millis(3_500);

/// `adapter`'s `next_ready` hands out the task `id` of `list`: its state.
async fn hand_out(adapter: &CassandraAdapter, list: &str, id: &str) -> StoredState {
    let started = Instant::now();
    loop {
        let mut token = None;
        loop {
            let step = adapter
                .next_ready(list, token.as_ref(), 64, chrono::Utc::now())
                .await
                .unwrap();
            if let Some(task) = step.tasks.into_iter().find(|t| t.record.id() == id) {
                return task;
            }
            token = step.next;
            if token.is_none() {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{id} was not handed out in 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The claimed state a worker makes of `stored` under `lease`.
fn claimed(lease: Duration) -> String {
    TaskState {
        status: TaskStatus::Claimed,
        owner: Some("owner".to_owned()),
        lease_until: Some(chrono::Utc::now() + lease),
        attempts: 1,
        ..TaskState::pending()
    }
    .to_json()
    .unwrap()
}

/// Claims `stored` through the adapter, as a worker's claim of a task
/// handed out does: its token.
async fn claim(adapter: &CassandraAdapter, list: &str, stored: &StoredState) -> StateToken {
    adapter
        .swap_state(
            list,
            stored.record.id(),
            &stored.token,
            Some(&claimed(Duration::from_secs(30))),
        )
        .await
        .unwrap()
        .expect("claimed")
}

/// An owner of every part of a fresh list holding "u" (version 1).
async fn owner_of_u(
    name: &str,
) -> (
    String,
    Arc<CassandraAdapter>,
    TaskStore<Arc<CassandraAdapter>>,
) {
    let list = unique_list(name);
    let owner = Arc::new(by_parts().await);
    let store = TaskStore::new(Arc::clone(&owner));
    save_u(&store, &list, 1).await;
    own_every_part(&owner, &list).await;
    (list, owner, store)
}

#[test]
fn a_held_claim_costs_no_request_and_its_completion_no_read() {
    run(async {
        let (list, owner, store) = owner_of_u("held-quick").await;
        // Connected first: what follows the claim fits in its hold (2 s).
        let other = TaskStore::new(by_parts().await);
        let stored = hand_out(&owner, &list, "u").await;
        let before = owner.ready_reads();
        let token = claim(&owner, &list, &stored).await;
        let after = owner.ready_reads();
        assert_eq!(after.held_claims - before.held_claims, 1, "{after:?}");
        assert_eq!(after.plain_claims, before.plain_claims, "{after:?}");
        assert_eq!(after.task_transactions, before.task_transactions);

        // This process sees the claim; another sees the pending version
        // (the claim is not written yet) and may not claim it either.
        let here = store.state(&list, "u").await.unwrap().unwrap();
        assert_eq!(here.status, TaskStatus::Claimed);
        let lease = Duration::from_secs(30);
        assert!(store
            .claim(&list, "u", "again", lease)
            .await
            .unwrap()
            .is_none());
        let there = other.state(&list, "u").await.unwrap().unwrap();
        assert_eq!(there.status, TaskStatus::Pending);
        assert!(
            other
                .claim(&list, "u", "other", lease)
                .await
                .unwrap()
                .is_none(),
            "refused: the part is the owner's"
        );

        // Completed at once: deleted without a read, and never written.
        assert_eq!(
            owner.swap_state(&list, "u", &token, None).await.unwrap(),
            Some(token)
        );
        let done = owner.ready_reads();
        assert_eq!(done.unread_completions - after.unread_completions, 1);
        assert!(store.find::<Unit>(&list, "u").await.unwrap().is_none());
        assert_eq!(store.count(&list).await.unwrap(), 0);
        tokio::time::sleep(PAST_THE_HOLD).await;
        let later = owner.ready_reads();
        assert_eq!(later.held_claims_written, before.held_claims_written);
        assert_eq!(later.task_transactions, before.task_transactions);
        assert!(other.state(&list, "u").await.unwrap().is_none());
    });
}

#[test]
fn a_held_claim_whose_task_outlives_the_hold_is_written_for_every_process_to_see() {
    run(async {
        let (list, owner, store) = owner_of_u("held-long").await;
        let stored = hand_out(&owner, &list, "u").await;
        let before = owner.ready_reads();
        let token = claim(&owner, &list, &stored).await;
        tokio::time::sleep(PAST_THE_HOLD).await;

        let after = owner.ready_reads();
        assert_eq!(after.held_claims_written - before.held_claims_written, 1);
        assert_eq!(after.task_transactions - before.task_transactions, 1);
        let other = TaskStore::new(by_parts().await);
        let there = other.state(&list, "u").await.unwrap().unwrap();
        assert_eq!(there.status, TaskStatus::Claimed);
        assert_eq!(there.owner.as_deref(), Some("owner"));
        // Its lease-end hint is there: another process waits for it.
        let waiting = other
            .adapter()
            .next_ready(&list, None, 64, chrono::Utc::now())
            .await
            .unwrap();
        assert!(waiting.tasks.is_empty());

        // Renewed and completed as any written claim.
        let renewed = owner
            .swap_state(&list, "u", &token, Some(&claimed(Duration::from_secs(60))))
            .await
            .unwrap()
            .expect("renewed");
        assert_eq!(
            owner.swap_state(&list, "u", &renewed, None).await.unwrap(),
            Some(renewed)
        );
        assert_eq!(store.count(&list).await.unwrap(), 0);
        assert!(other.state(&list, "u").await.unwrap().is_none());
    });
}

#[test]
fn a_version_saved_while_a_held_claim_runs_survives_its_completion() {
    run(async {
        let (list, owner, store) = owner_of_u("held-saved-during").await;
        let other = TaskStore::new(by_parts().await);
        let stored = hand_out(&owner, &list, "u").await;
        let token = claim(&owner, &list, &stored).await;
        save_u(&other, &list, 2).await;

        assert_eq!(
            owner.swap_state(&list, "u", &token, None).await.unwrap(),
            Some(token),
            "the version run is done"
        );
        let kept = store.find::<Unit>(&list, "u").await.unwrap().expect("kept");
        assert_eq!(kept.data().n, 2, "the version saved during the run");
        let state = other.state(&list, "u").await.unwrap().unwrap();
        assert_eq!(state.status, TaskStatus::Pending);
        assert_eq!(store.count(&list).await.unwrap(), 1);
        // And it is handed out again.
        let again = hand_out(&owner, &list, "u").await;
        let task = Task::<Unit>::from_record(again.record).unwrap();
        assert_eq!(task.data().n, 2);
    });
}

#[test]
fn a_version_saved_between_the_hand_out_and_a_held_claim_stays_listed_after_its_completion() {
    // The hand-out read version 1; version 2 is saved (its entry rewritten
    // where version 1's was) before the claim is held; the worker runs and
    // completes what it was handed. Version 2 stays, listed and counted.
    run(async {
        let (list, owner, store) = owner_of_u("held-saved-before").await;
        let other = TaskStore::new(by_parts().await);
        let stored = hand_out(&owner, &list, "u").await;
        save_u(&other, &list, 2).await;
        let token = claim(&owner, &list, &stored).await;
        owner.swap_state(&list, "u", &token, None).await.unwrap();

        let kept = store.find::<Unit>(&list, "u").await.unwrap().expect("kept");
        assert_eq!(kept.data().n, 2, "the version saved after the hand-out");
        assert_eq!(store.count(&list).await.unwrap(), 1, "counted");
        let (page, _) = store.page::<Unit>(&list, None, 10).await.unwrap();
        let listed: Vec<_> = page.iter().map(|t| t.as_ref().unwrap().data().n).collect();
        assert_eq!(listed, [2], "listed");
    });
}

#[test]
fn a_held_claim_whose_task_is_saved_again_before_it_is_written_is_lost() {
    run(async {
        let (list, owner, store) = owner_of_u("held-saved-then-written").await;
        let other = TaskStore::new(by_parts().await);
        let stored = hand_out(&owner, &list, "u").await;
        let before = owner.ready_reads();
        let token = claim(&owner, &list, &stored).await;
        save_u(&other, &list, 2).await;
        tokio::time::sleep(PAST_THE_HOLD).await;

        let after = owner.ready_reads();
        assert_eq!(after.held_claims_written - before.held_claims_written, 1);
        assert_eq!(after.held_claims_lost - before.held_claims_lost, 1);
        // The worker is told, and the new version stays pending.
        assert_eq!(
            owner.swap_state(&list, "u", &token, None).await.unwrap(),
            None
        );
        let state = other.state(&list, "u").await.unwrap().unwrap();
        assert_eq!(state.status, TaskStatus::Pending);
        let kept = store.find::<Unit>(&list, "u").await.unwrap().expect("kept");
        assert_eq!(kept.data().n, 2);
    });
}

#[test]
fn a_failure_while_held_is_a_lightweight_transaction_from_the_pending_version() {
    run(async {
        let (list, owner, store) = owner_of_u("held-failed").await;
        let other = TaskStore::new(by_parts().await);
        let stored = hand_out(&owner, &list, "u").await;
        let token = claim(&owner, &list, &stored).await;
        let before = owner.ready_reads();
        let failed = TaskState {
            status: TaskStatus::Failed,
            attempts: 1,
            last_error: Some("no".to_owned()),
            ..TaskState::pending()
        };
        let changed = owner
            .swap_state(&list, "u", &token, Some(&failed.to_json().unwrap()))
            .await
            .unwrap();
        assert!(changed.is_some());
        let after = owner.ready_reads();
        assert_eq!(after.task_transactions - before.task_transactions, 1);
        let state = other.state(&list, "u").await.unwrap().unwrap();
        assert_eq!(
            (state.status, state.last_error.as_deref()),
            (TaskStatus::Failed, Some("no"))
        );
        // The hold ended with the change: nothing is written after it.
        tokio::time::sleep(PAST_THE_HOLD).await;
        assert_eq!(
            owner.ready_reads().held_claims_written,
            before.held_claims_written
        );
        let state = store.state(&list, "u").await.unwrap().unwrap();
        assert_eq!(state.status, TaskStatus::Failed);
    });
}

#[test]
fn a_task_held_by_a_process_that_died_runs_again_once_its_part_is_taken_over() {
    let list = unique_list("held-died");
    // The process that dies: a runtime of its own, dropped with its claim
    // held (never written) and its parts never handed back.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let owner = by_parts().await;
                let store = TaskStore::new(by_parts().await);
                save_u(&store, &list, 1).await;
                own_every_part(&owner, &list).await;
                let stored = hand_out(&owner, &list, "u").await;
                claim(&owner, &list, &stored).await;
                assert_eq!(owner.ready_reads().held_claims, 1);
            });
            runtime.shutdown_background();
        });
    });
    let died_at = Instant::now();
    run(async {
        // The survivor walks its lists often, so its first walk comes soon
        // after it takes the dead process's parts.
        let survivor = adapter(
            config("tasks", TableLayout::Taskrec { shards: Some(16) })
                .page_size(100)
                .owned_parts(true)
                .ready_walk_every(Duration::from_secs(5)),
        )
        .await;
        let stored = hand_out(&survivor, &list, "u").await;
        assert!(
            died_at.elapsed() >= ready::PART_LEASE - ready::RENEW_EVERY,
            "handed out after {:?}, before the dead owner's lease could end",
            died_at.elapsed()
        );
        assert_eq!(
            survivor.ready_reads().part_takeovers,
            u64::from(ready::SHARDS)
        );
        let token = claim(&survivor, &list, &stored).await;
        assert_eq!(
            survivor.swap_state(&list, "u", &token, None).await.unwrap(),
            Some(token)
        );
        let store = TaskStore::new(survivor);
        assert_eq!(store.count(&list).await.unwrap(), 0);
    });
}

#[test]
fn a_part_goes_to_a_process_that_joins_only_with_its_held_claims_written() {
    run(async {
        let list = unique_list("held-hand-back");
        let a = Arc::new(by_parts().await);
        let store = TaskStore::new(Arc::clone(&a));
        fill(&store, &list, 400).await;
        own_every_part(&a, &list).await;

        // While process A hands out and claims a task every 100 ms (under
        // 30 s leases, never completed: held, then written), process B
        // joins the list and runs whatever its parts hand it.
        let b = Arc::new(by_parts().await);
        let ledger = Ledger::default();
        let worker = Worker::new(
            TaskStore::new(Arc::clone(&b)),
            WorkerConfig::new("b").concurrency(8),
        );
        let stop = worker.stop_handle();
        let claims_by_a = async {
            let (mut held, mut token) = (Vec::new(), None);
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(14) {
                let step = a
                    .next_ready(&list, token.as_ref(), 1, chrono::Utc::now())
                    .await
                    .unwrap();
                token = step.next;
                for task in step.tasks {
                    let id = task.record.id().to_owned();
                    let lease = Duration::from_secs(30);
                    let token = a
                        .swap_state(&list, &id, &task.token, Some(&claimed(lease)))
                        .await
                        .unwrap();
                    if token.is_some() {
                        held.push(id);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            stop.stop();
            held
        };
        let lists = [list.as_str()];
        let (claimed, report) = tokio::join!(claims_by_a, worker.serve::<Unit, _>(&lists, &ledger));
        let report = report.unwrap();

        // B got parts (and A kept the rest), and ran none of A's tasks.
        assert!(report.succeeded > 0, "{report:?}");
        assert!(a.parts_held(&list).len() < ready::SHARDS as usize);
        assert!(claimed.len() > 20, "A claimed {} tasks", claimed.len());
        let runs = ledger.runs.lock().unwrap().clone();
        let ran_by_b: Vec<&String> = claimed
            .iter()
            .filter(|id| {
                let n: u32 = id.trim_start_matches("unit-").parse().unwrap();
                runs.contains_key(&n)
            })
            .collect();
        assert!(ran_by_b.is_empty(), "B ran tasks A held: {ran_by_b:?}");
        let reads = a.ready_reads();
        assert_eq!(reads.held_claims_lost, 0, "{reads:?}");
        assert!(reads.held_claims_written > 0, "{reads:?}");
    });
}

#[test]
fn a_hand_out_read_before_a_held_claim_ended_is_not_claimed_again() {
    run(async {
        // A pass's state read on its way while the held claim ends (a
        // failure, a retry, a completion) sees the version the claim was
        // held from; claimed after the change, it would run the task again.
        for (n, completes) in [(1, false), (2, true)] {
            let (list, owner, _store) = owner_of_u(&format!("held-stale-{n}")).await;
            let stored = hand_out(&owner, &list, "u").await;
            let token = claim(&owner, &list, &stored).await;
            let change = if completes {
                None
            } else {
                let retry = TaskState {
                    not_before: Some(chrono::Utc::now() + Duration::from_secs(600)),
                    attempts: 1,
                    ..TaskState::pending()
                };
                Some(retry.to_json().unwrap())
            };
            let changed = owner
                .swap_state(&list, "u", &token, change.as_deref())
                .await
                .unwrap();
            assert!(changed.is_some());
            let before = owner.ready_reads();
            // The read from before the change, claimed after it: refused,
            // with no request.
            let again = owner
                .swap_state(
                    &list,
                    "u",
                    &stored.token,
                    Some(&claimed(Duration::from_secs(30))),
                )
                .await
                .unwrap();
            assert_eq!(again, None, "completes: {completes}");
            let after = owner.ready_reads();
            assert_eq!(after.held_claims, before.held_claims);
            assert_eq!(after.plain_claims, before.plain_claims);
            assert_eq!(after.task_transactions, before.task_transactions);
        }
    });
}
