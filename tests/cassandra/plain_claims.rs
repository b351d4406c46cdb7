//! Claims written plainly by the owner of a task's part
//! (`CassandraConfig::owned_parts`): a drain by an owner runs no Paxos
//! round per task and completes without reads; a version saved during a
//! run survives its completion; a version saved between the state read and
//! the claim is never run as the old one; with no claim by hand an owner
//! claims plainly from its take on, and after one (its mark on the list)
//! by lightweight transactions for the hand window and from state reads
//! made in it; a claim by hand is refused in a part another process owns
//! and is a lightweight transaction in a free one; a process without parts
//! claims nothing in a list whose parts are owned.

use std::sync::Arc;
use std::time::{Duration, Instant};

use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{ready, CassandraAdapter, CassandraConfig, ReadyReads, TableLayout};
use taskrec::{Task, TaskState, TaskStatus, TaskStore, Worker, WorkerConfig};

use crate::claim_next::sweep;
use crate::parts::by_parts;
use crate::utils::{adapter, bucketed, config, run, unique_list};
use crate::worker::{fill, Ledger, Unit};

/// `adapter` takes every part of `list` and waits out the window in which
/// its claims there are still lightweight transactions.
pub(crate) async fn own_every_part(adapter: &CassandraAdapter, list: &str) {
    sweep(adapter, list).await;
    assert_eq!(adapter.parts_held(list).len(), ready::SHARDS as usize);
    tokio::time::sleep(ready::HAND_WINDOW + Duration::from_millis(100)).await;
}

/// Saves version `n` of the unit "u" to `list`.
pub(crate) async fn save_u<A: StorageAdapter>(store: &TaskStore<A>, list: &str, n: u32) {
    store
        .save(&Task::new(list, "u", Unit { n }).unwrap())
        .await
        .unwrap();
}

/// Saves a unit (version 1) under each of `ids` in `list`.
async fn save_units<A: StorageAdapter>(store: &TaskStore<A>, list: &str, ids: &[&str]) {
    for id in ids {
        store
            .save(&Task::new(list, *id, Unit { n: 1 }).unwrap())
            .await
            .unwrap();
    }
}

/// A worker of `owner`'s process drains the 200 units of `list`, every
/// claim held and none a lightweight transaction but held ones written:
/// what the adapter counted before and after.
async fn drain_200_as_owner(owner: &Arc<CassandraAdapter>, list: &str) -> (ReadyReads, ReadyReads) {
    let store = TaskStore::new(Arc::clone(owner));
    let before = owner.ready_reads();
    let ledger = Ledger::default();
    let worker = Worker::new(
        store.clone(),
        WorkerConfig::new("owner")
            .concurrency(16)
            .lease(Duration::from_secs(30)),
    );
    let report = worker.drain::<Unit, _>(list, &ledger).await.unwrap();
    assert_eq!(report.succeeded, 200, "{report:?}");
    assert_eq!(store.count(list).await.unwrap(), 0);
    assert_eq!(ledger.runs.lock().unwrap().len(), 200);

    // Each claim of a task the owner handed out is held (`held_claims`),
    // and written, as a lightweight transaction, only if its task outlives
    // the hold (2 s): none of these no-op tasks does, unless the machine
    // stalls.
    let after = owner.ready_reads();
    let written = after.held_claims_written - before.held_claims_written;
    assert_eq!(after.held_claims - before.held_claims, 200, "{after:?}");
    assert_eq!(
        after.task_transactions - before.task_transactions,
        written,
        "no claim was a lightweight transaction but held ones written: {after:?}"
    );
    (before, after)
}

#[test]
fn an_owner_drains_its_list_without_a_paxos_round_or_a_read_per_completion() {
    run(async {
        let list = unique_list("plain-drain");
        let owner = Arc::new(by_parts().await);
        fill(&TaskStore::new(Arc::clone(&owner)), &list, 200).await;
        own_every_part(&owner, &list).await;

        let (before, after) = drain_200_as_owner(&owner, &list).await;
        let written = after.held_claims_written - before.held_claims_written;
        assert_eq!(after.plain_claims, before.plain_claims, "{after:?}");
        assert_eq!(
            after.unread_completions - before.unread_completions,
            200 - written,
            "{after:?}"
        );
    });
}

#[test]
fn a_version_saved_while_a_plain_claim_runs_survives_its_completion() {
    run(async {
        let list = unique_list("plain-saved-during");
        let owner = Arc::new(by_parts().await);
        let store = TaskStore::new(Arc::clone(&owner));
        save_u(&store, &list, 1).await;
        own_every_part(&owner, &list).await;

        let claim = store
            .claim(&list, "u", "owner", Duration::from_secs(30))
            .await
            .unwrap()
            .expect("claimable");
        assert_eq!(owner.ready_reads().plain_claims, 1);
        // Saved by another process while the claim runs.
        let other = TaskStore::new(by_parts().await);
        save_u(&other, &list, 2).await;
        // The claimed version is done; the new one stays.
        assert!(store.succeed(claim, None, false).await.unwrap());
        assert_eq!(owner.ready_reads().unread_completions, 1);

        let kept = store.find::<Unit>(&list, "u").await.unwrap().expect("kept");
        assert_eq!(kept.data().n, 2, "the version saved during the run");
        let state = store.state(&list, "u").await.unwrap().unwrap();
        assert_eq!(state.status, TaskStatus::Pending);
        assert_eq!(store.count(&list).await.unwrap(), 1);
    });
}

#[test]
fn a_version_saved_between_the_state_read_and_a_plain_claim_is_not_run_as_the_old_one() {
    run(async {
        let list = unique_list("plain-saved-before");
        let owner = by_parts().await;
        let store = TaskStore::new(by_parts().await);
        save_u(&store, &list, 1).await;
        own_every_part(&owner, &list).await;

        let stored = owner.load_state(&list, "u").await.unwrap().unwrap();
        save_u(&store, &list, 2).await;
        let now = chrono::Utc::now();
        let lease_end = now + Duration::from_secs(1);
        let claimed = TaskState {
            status: TaskStatus::Claimed,
            owner: Some("owner".to_owned()),
            lease_until: Some(lease_end),
            attempts: 1,
            ..TaskState::pending()
        };
        let answer = owner
            .swap_state(&list, "u", &stored.token, Some(&claimed.to_json().unwrap()))
            .await
            .unwrap();
        assert_eq!(answer, None, "the claim was made from the old version");
        assert_eq!(owner.ready_reads().plain_claims, 1, "written plainly");

        // Whatever the claim left, the new version is there, and runs once
        // that claim's lease has run out.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let claim = TaskStore::new(owner)
            .claim(&list, "u", "owner", Duration::from_secs(30))
            .await
            .unwrap()
            .expect("claimable once the lease ran out");
        let task = Task::<Unit>::from_record(claim.record().clone()).unwrap();
        assert_eq!(task.data().n, 2);
    });
}

#[test]
fn with_no_claim_by_hand_an_owner_claims_plainly_from_the_moment_it_takes_its_parts() {
    // No claim by hand marked the list: nothing can land under the owner's
    // plain claims, and it does not wait out the hand window.
    run(async {
        let list = unique_list("plain-at-once");
        let owner = Arc::new(by_parts().await);
        fill(&TaskStore::new(Arc::clone(&owner)), &list, 200).await;
        sweep(&owner, &list).await;
        assert_eq!(owner.parts_held(&list).len(), ready::SHARDS as usize);
        drain_200_as_owner(&owner, &list).await;
    });
}

/// The state of a task claimed by `owner` for `lease` from now, as JSON.
fn claimed_by(owner: &str, lease: Duration) -> String {
    let claimed = TaskState {
        status: TaskStatus::Claimed,
        owner: Some(owner.to_owned()),
        lease_until: Some(chrono::Utc::now() + lease),
        attempts: 1,
        ..TaskState::pending()
    };
    claimed.to_json().unwrap()
}

/// A claim by `hand` (a process that owns no part of the list) marks the
/// list; a process that takes the list's parts just after claims by
/// lightweight transactions for the hand window, and from state reads made
/// in it, however late; plainly from reads after it.
async fn a_taker_after_a_claim_by(hand: CassandraAdapter) {
    let hand = TaskStore::new(hand);
    for _attempt in 0..3 {
        let list = unique_list("plain-marked");
        let owner = by_parts().await;
        save_units(&hand, &list, &["h", "u", "w"]).await;
        let lease = Duration::from_secs(30);
        let by_hand = hand.claim(&list, "h", "hand", lease).await.unwrap();
        assert!(by_hand.is_some(), "claimed by hand in a part nobody owns");

        let taking = Instant::now();
        sweep(&owner, &list).await;
        assert_eq!(owner.parts_held(&list).len(), ready::SHARDS as usize);
        let early = owner.load_state(&list, "u").await.unwrap().unwrap();
        if taking.elapsed() >= ready::HAND_WINDOW - Duration::from_millis(500) {
            continue; // the machine stalled past the window: again, on a new list
        }
        tokio::time::sleep(ready::HAND_WINDOW + Duration::from_millis(100)).await;

        let claimed = claimed_by("owner", lease);
        let before = owner.ready_reads();
        let answer = owner
            .swap_state(&list, "u", &early.token, Some(&claimed))
            .await
            .unwrap();
        assert!(answer.is_some(), "claimed");
        let after = owner.ready_reads();
        assert_eq!(after.plain_claims, before.plain_claims, "{after:?}");
        assert_eq!(
            after.task_transactions - before.task_transactions,
            1,
            "a claim from a read made in the window: a lightweight transaction: {after:?}"
        );

        let late = owner.load_state(&list, "w").await.unwrap().unwrap();
        let answer = owner
            .swap_state(&list, "w", &late.token, Some(&claimed))
            .await
            .unwrap();
        assert!(answer.is_some(), "claimed");
        let last = owner.ready_reads();
        assert_eq!(last.plain_claims, after.plain_claims + 1, "{last:?}");
        assert_eq!(last.task_transactions, after.task_transactions, "{last:?}");
        for id in ["u", "w"] {
            let state = hand.state(&list, id).await.unwrap().unwrap();
            assert_eq!(state.status, TaskStatus::Claimed, "{id}");
        }
        return;
    }
    panic!("three times, the state read came after the part's hand window");
}

#[test]
fn after_a_claim_by_hand_by_a_process_with_parts_a_taker_waits_out_the_hand_window() {
    run(async { a_taker_after_a_claim_by(by_parts().await).await });
}

#[test]
fn after_a_claim_by_hand_by_a_process_without_parts_a_taker_waits_out_the_hand_window() {
    run(async {
        let plain = bucketed().await;
        a_taker_after_a_claim_by(plain).await;
    });
}

#[test]
fn an_owner_whose_lease_ran_out_unrenewed_claims_nothing_in_its_parts_taken_over() {
    // Its renewals stalled past its lease (here: it swept nothing for that
    // long) while it still believes it holds its parts. Another process
    // took them, saw no mark and claims their tasks plainly: a lightweight
    // transaction of the stale owner's landing just before such a plain
    // claim would be overwritten unseen, and both would run the task.
    run(async {
        let hand = TaskStore::new(bucketed().await);
        let lease = Duration::from_secs(30);
        for _attempt in 0..3 {
            let list = unique_list("plain-stale");
            save_units(&hand, &list, &["h", "u"]).await;
            // A claim by hand marks the list: the stale owner's take sees
            // it, and its claims from reads made in the hand window are
            // lightweight transactions, however late they are sent.
            assert!(hand
                .claim(&list, "h", "hand", lease)
                .await
                .unwrap()
                .is_some());
            let stale = by_parts().await;
            let taking = Instant::now();
            sweep(&stale, &list).await;
            assert_eq!(stale.parts_held(&list).len(), ready::SHARDS as usize);
            let read = stale.load_state(&list, "u").await.unwrap().unwrap();
            if taking.elapsed() >= ready::HAND_WINDOW - Duration::from_millis(500) {
                continue; // the machine stalled past the window: again, on a new list
            }

            tokio::time::sleep(ready::PART_LEASE + Duration::from_millis(500)).await;
            let successor = by_parts().await;
            sweep(&successor, &list).await;
            assert_eq!(successor.parts_held(&list).len(), ready::SHARDS as usize);
            assert_eq!(
                stale.parts_held(&list).len(),
                ready::SHARDS as usize,
                "the stale owner has not looked at its parts since"
            );

            let before = stale.ready_reads();
            let answer = stale
                .swap_state(&list, "u", &read.token, Some(&claimed_by("stale", lease)))
                .await
                .unwrap();
            assert!(answer.is_none(), "the part is the successor's now");
            let after = stale.ready_reads();
            assert_eq!(
                after.task_transactions, before.task_transactions,
                "nothing sent"
            );
            assert_eq!(after.plain_claims, before.plain_claims, "nothing written");
            let state = successor.load_state(&list, "u").await.unwrap().unwrap();
            let status = TaskState::from_json(&state.json).unwrap().status;
            assert_eq!(status, TaskStatus::Pending, "{state:?}");

            // The successor claims it plainly.
            let answer = successor
                .swap_state(
                    &list,
                    "u",
                    &state.token,
                    Some(&claimed_by("successor", lease)),
                )
                .await
                .unwrap();
            assert!(answer.is_some(), "claimed by the part's owner");
            assert_eq!(successor.ready_reads().plain_claims, 1);
            assert_eq!(successor.ready_reads().task_transactions, 0);
            return;
        }
        panic!("three times, the state read came after the part's hand window");
    });
}

/// A claim by `hand` refused in a part another process owns leaves no
/// mark on the list: a process taking the list's parts just after claims
/// plainly at once.
async fn a_taker_after_a_refused_claim_by(hand: CassandraAdapter) {
    let hand = TaskStore::new(hand);
    let lease = Duration::from_secs(30);
    for _attempt in 0..3 {
        let list = unique_list("plain-refused");
        save_units(&hand, &list, &["u", "w"]).await;
        let owner = by_parts().await;
        sweep(&owner, &list).await;
        assert_eq!(owner.parts_held(&list).len(), ready::SHARDS as usize);
        let refused = Instant::now();
        let claim = hand.claim(&list, "u", "hand", lease).await.unwrap();
        assert!(claim.is_none(), "the owner's part");
        owner.stop_sweeping(&list).await.unwrap();

        let taker = by_parts().await;
        sweep(&taker, &list).await;
        assert_eq!(taker.parts_held(&list).len(), ready::SHARDS as usize);
        let read = taker.load_state(&list, "w").await.unwrap().unwrap();
        if refused.elapsed() >= ready::HAND_WINDOW - Duration::from_millis(500) {
            continue; // a mark would have been read by now: again, on a new list
        }
        let answer = taker
            .swap_state(&list, "w", &read.token, Some(&claimed_by("taker", lease)))
            .await
            .unwrap();
        assert!(answer.is_some(), "claimed");
        let reads = taker.ready_reads();
        assert_eq!(reads.plain_claims, 1, "no mark, a plain claim: {reads:?}");
        assert_eq!(reads.task_transactions, 0, "{reads:?}");
        return;
    }
    panic!("three times, the take came a hand window after the refused claim");
}

#[test]
fn a_claim_by_hand_refused_by_a_process_with_parts_leaves_no_mark() {
    run(async { a_taker_after_a_refused_claim_by(by_parts().await).await });
}

#[test]
fn a_claim_by_hand_refused_by_a_process_without_parts_leaves_no_mark() {
    run(async {
        let plain = bucketed().await;
        a_taker_after_a_refused_claim_by(plain).await;
    });
}

#[test]
fn a_claim_by_hand_is_refused_in_a_part_another_process_owns() {
    run(async {
        let list = unique_list("plain-by-hand");
        let owner = by_parts().await;
        let hand = Arc::new(by_parts().await);
        let store = TaskStore::new(Arc::clone(&hand));
        save_u(&store, &list, 1).await;
        sweep(&owner, &list).await;
        assert_eq!(owner.parts_held(&list).len(), ready::SHARDS as usize);

        let lease = Duration::from_secs(30);
        assert!(
            store
                .claim(&list, "u", "hand", lease)
                .await
                .unwrap()
                .is_none(),
            "the owner's part"
        );
        let state = store.state(&list, "u").await.unwrap().unwrap();
        assert_eq!(state.status, TaskStatus::Pending, "nothing written");
        assert_eq!(hand.ready_reads().task_transactions, 0);

        // Handed back: the part is nobody's, and a claim by hand is a
        // lightweight transaction. One that takes longer than the window an
        // owner leaves it is not trusted (and holds the task for its lease):
        // on a busy node, try again with a short lease.
        owner.stop_sweeping(&list).await.unwrap();
        let short = Duration::from_secs(1);
        let mut claim = None;
        for _ in 0..5 {
            claim = store.claim(&list, "u", "hand", short).await.unwrap();
            if claim.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1200)).await;
        }
        assert!(claim.is_some(), "claimed by hand");
        let reads = hand.ready_reads();
        assert_eq!(reads.plain_claims, 0, "{reads:?}");
        assert!(reads.task_transactions >= 1, "{reads:?}");
    });
}

#[test]
fn a_process_without_owned_parts_claims_nothing_in_a_list_whose_parts_are_owned() {
    let layout = TableLayout::Taskrec { shards: Some(16) };
    run(a_process_without_parts_beside_owners(config(
        "tasks", layout,
    )));
}

#[test]
fn a_process_with_owned_parts_but_no_ready_index_claims_nothing_in_a_list_whose_parts_are_owned() {
    // It has no parts of its own (they are parts of the ready index), so it
    // claims by hand, as a process without `owned_parts`.
    let layout = TableLayout::Taskrec { shards: Some(16) };
    let config = config("tasks", layout).owned_parts(true).ready_index(false);
    run(a_process_without_parts_beside_owners(config));
}

/// A process of `config`, which holds no part, claims a task of a list
/// whose parts another process owns: refused, nothing written; a
/// lightweight transaction once the owner hands its parts back.
async fn a_process_without_parts_beside_owners(config: CassandraConfig) {
    let list = unique_list("plain-mixed");
    let owner = by_parts().await;
    let plain = Arc::new(adapter(config).await);
    let store = TaskStore::new(Arc::clone(&plain));
    save_u(&store, &list, 1).await;
    sweep(&owner, &list).await;
    assert_eq!(owner.parts_held(&list).len(), ready::SHARDS as usize);

    // Its lightweight transaction could lose to an owner's plain claim
    // and both would run the task: refused, nothing written.
    let lease = Duration::from_secs(30);
    assert!(store
        .claim(&list, "u", "plain", lease)
        .await
        .unwrap()
        .is_none());
    // (A transaction sent would have applied: the row is the version read.)
    let state = store.state(&list, "u").await.unwrap().unwrap();
    assert_eq!(state.status, TaskStatus::Pending);

    // Once the owner hands its parts back (and the refusing process's
    // look at them, remembered for a second, is old), it claims again.
    owner.stop_sweeping(&list).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(store
        .claim(&list, "u", "plain", lease)
        .await
        .unwrap()
        .is_some());
    let state = store.state(&list, "u").await.unwrap().unwrap();
    assert_eq!(state.status, TaskStatus::Claimed);
    assert_eq!(state.owner.as_deref(), Some("plain"));
}

/// Parts are off by default: claims are lightweight transactions, and a
/// completion reads before it deletes.
#[test]
fn without_owned_parts_every_claim_is_a_lightweight_transaction() {
    run(async {
        let list = unique_list("plain-off");
        let adapter = Arc::new(bucketed().await);
        let store = TaskStore::new(Arc::clone(&adapter));
        fill(&store, &list, 20).await;
        let worker = Worker::new(store.clone(), WorkerConfig::new("w").concurrency(4));
        let report = worker
            .drain::<Unit, _>(&list, &Ledger::default())
            .await
            .unwrap();
        assert_eq!(report.succeeded, 20);
        let reads = adapter.ready_reads();
        assert_eq!(
            (reads.plain_claims, reads.unread_completions),
            (0, 0),
            "{reads:?}"
        );
        assert!(reads.task_transactions >= 20, "{reads:?}");
    });
}
