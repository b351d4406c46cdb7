//! Claim-next and scheduled tasks: `next_ready` hands out what is claimable
//! now, and a scheduled task waits for its time.

use super::*;

/// Claim-next: the first sweep of a list hands out exactly the tasks
/// claimable at the time asked for, with their current tokens, at most
/// `limit` per step, and says when the first held or waiting task opens;
/// later sweeps hand out what opened up since and nothing that is not
/// claimable; a finished list says nothing is open.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_next_ready(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_next_ready(adapter: &dyn StorageAdapter) {
    let list = unique_list("ready");
    let list = list.as_str();
    if !adapter.capabilities().conditional_writes() {
        let ready = adapter.next_ready(list, None, 10, Utc::now()).await;
        assert_lacks_conditional_writes("next_ready", ready);
        return;
    }
    let now = Utc::now();
    let hour = TimeDelta::hours(1);
    let state_at = |status: TaskStatus, lease_until, not_before| {
        TaskState {
            status,
            owner: (status == TaskStatus::Claimed).then(|| "elsewhere".to_owned()),
            lease_until,
            not_before,
            attempts: 1,
            changed_at: Some(now - TimeDelta::minutes(5)),
            ..TaskState::pending()
        }
        .to_json()
        .expect("a state encodes")
    };
    let states = [
        ("pending-1", None),
        ("pending-2", None),
        ("pending-3", None),
        (
            "lease-ran-out",
            Some(state_at(
                TaskStatus::Claimed,
                Some(now - TimeDelta::minutes(1)),
                None,
            )),
        ),
        (
            "held",
            Some(state_at(TaskStatus::Claimed, Some(now + hour), None)),
        ),
        (
            "backing-off",
            Some(state_at(TaskStatus::Pending, None, Some(now + hour * 2))),
        ),
        (
            "backoff-over",
            Some(state_at(
                TaskStatus::Pending,
                None,
                Some(now - TimeDelta::seconds(1)),
            )),
        ),
        ("failed", Some(state_at(TaskStatus::Failed, None, None))),
        (
            "succeeded",
            Some(state_at(TaskStatus::Succeeded, None, None)),
        ),
    ];
    for (id, state) in &states {
        store(adapter, &record(list, id, "{}")).await;
        if let Some(state) = state {
            let token = adapter
                .load_state(list, id)
                .await
                .unwrap()
                .expect("stored")
                .token;
            let swapped = adapter
                .swap_state(list, id, &token, Some(state))
                .await
                .unwrap();
            assert!(swapped.is_some(), "setting up {id}");
        }
    }

    let sweep = |limit: usize, at: DateTime<Utc>| sweep_all(adapter, list, limit, at);

    // Asked after the set-up, as a worker asks: at its clock's reading.
    let asked = Utc::now();
    let (handed, next_open) = sweep(2, asked).await;
    let handed = distinct(handed);
    let ids: Vec<&str> = handed.iter().map(|s| s.record.id()).collect();
    assert_eq!(
        ids,
        [
            "backoff-over",
            "lease-ran-out",
            "pending-1",
            "pending-2",
            "pending-3"
        ],
        "the first sweep of a list hands out every claimable task, and no other"
    );
    let open = next_open.expect("held and backing-off tasks are open");
    assert!(
        (open - (now + hour)).num_milliseconds().abs() <= 1,
        "the first held task opens when its lease ends: {open} for {}",
        now + hour
    );
    for stored in &handed {
        let id = stored.record.id();
        let current = adapter.load_state(list, id).await.unwrap().expect("stored");
        assert_eq!(
            (&stored.json, stored.token),
            (&current.json, current.token),
            "{id} is handed out with its current state and token"
        );
    }

    // Claiming what a sweep handed out takes it out of the next sweeps.
    let first = &handed[0];
    let claimed = state_at(TaskStatus::Claimed, Some(now + hour * 3), None);
    let won = adapter
        .swap_state(list, first.record.id(), &first.token, Some(&claimed))
        .await
        .unwrap();
    assert!(won.is_some(), "a handed-out token claims the task");
    let (again, _) = sweep(10, Utc::now()).await;
    let again = distinct(again);
    assert!(
        again.iter().all(|s| s.record.id() != first.record.id()),
        "a claimed task is not ready"
    );
    assert!(
        again.iter().all(|s| ids.contains(&s.record.id())),
        "a later sweep hands out only claimable tasks"
    );

    // Later, the backoff and the leases have run out: what opened up since
    // is handed out (an adapter may or may not hand out again what it
    // handed out before and is still claimable).
    let (later, _) = sweep(3, now + hour * 4).await;
    let later: Vec<String> = distinct(later)
        .iter()
        .map(|s| s.record.id().to_owned())
        .collect();
    for opened in ["backing-off", "held", first.record.id()] {
        assert!(
            later.iter().any(|id| id == opened),
            "{opened} opened up and is handed out: {later:?}"
        );
    }
    let open_ids = [ids.clone(), vec!["backing-off", "held"]].concat();
    assert!(
        later.iter().all(|id| open_ids.contains(&id.as_str())),
        "nothing finished is handed out: {later:?}"
    );

    // Finished tasks leave nothing open.
    for stored in adapter.all(list).try_collect::<Vec<_>>().await.unwrap() {
        adapter.delete(list, stored.id()).await.unwrap();
    }
    let (none, open) = sweep(10, Utc::now()).await;
    assert!(
        none.is_empty() && open.is_none(),
        "an emptied list: nothing ready, nothing open"
    );
    let bad = adapter
        .next_ready(
            list,
            Some(&PageToken::from_bytes(b"\xff not a token".to_vec())),
            1,
            now,
        )
        .await;
    assert!(
        matches!(bad, Err(Error::InvalidPageToken { .. })),
        "a token the adapter never handed out is InvalidPageToken: {bad:?}"
    );
}

/// One whole sweep of `next_ready` over `list` at `at`, `limit` a step:
/// what it handed out, and the earliest time it said a task opens.
async fn sweep_all(
    adapter: &dyn StorageAdapter,
    list: &str,
    limit: usize,
    at: DateTime<Utc>,
) -> (Vec<crate::state::StoredState>, Option<DateTime<Utc>>) {
    let (mut handed, mut next_open, mut token) = (Vec::new(), None::<DateTime<Utc>>, None);
    for _ in 0..100 {
        let step = adapter
            .next_ready(list, token.as_ref(), limit, at)
            .await
            .unwrap_or_else(|e| panic!("next_ready failed: {e}"));
        assert!(
            step.tasks.len() <= limit.max(1),
            "a step hands out at most `limit` tasks"
        );
        if let Some(open) = step.next_open {
            next_open = Some(next_open.map_or(open, |t: DateTime<Utc>| t.min(open)));
        }
        handed.extend(step.tasks);
        token = step.next;
        if token.is_none() {
            return (handed, next_open);
        }
    }
    panic!("a sweep of a small list did not end in 100 steps");
}

/// Scheduled saves: a task stored with
/// [`store_scheduled`](StorageAdapter::store_scheduled) is stored pending,
/// never tried, with its `not_before`; no sweep before that time hands it
/// out, and the sweep says when it opens; until then it is counted and
/// paged as [`TaskStatus::Scheduled`]; a time already past is ready at
/// once; a plain store of the same key makes it ready at once; a sweep at
/// or after its time hands it out with a token that claims it. Without
/// conditional writes, `store_scheduled` is [`Error::Unsupported`] naming
/// the capability, and stores nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_scheduled(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_scheduled(adapter: &dyn StorageAdapter) {
    let list = unique_list("scheduled");
    let list = list.as_str();
    let now = adapter.now().await.expect("the adapter tells its time");
    let at = now + TimeDelta::hours(1);
    if !adapter.capabilities().conditional_writes() {
        let scheduled = adapter
            .store_scheduled(&record(list, "later", "{}"), at)
            .await;
        assert_lacks_conditional_writes("store_scheduled", scheduled);
        let found = adapter.find(list, "later").await.expect("find");
        assert!(found.is_none(), "a refused scheduled save stores nothing");
        return;
    }
    store(adapter, &record(list, "ready-now", "{}")).await;
    for (id, not_before) in [
        ("in-an-hour", at),
        ("already-due", now - TimeDelta::seconds(1)),
    ] {
        adapter
            .store_scheduled(&record(list, id, r#"{"n":1}"#), not_before)
            .await
            .unwrap_or_else(|e| panic!("store_scheduled of {id}: {e}"));
    }
    let stored = adapter
        .load_state(list, "in-an-hour")
        .await
        .unwrap()
        .expect("a scheduled task is stored");
    assert_eq!(stored.record.data(), r#"{"n":1}"#, "its record is stored");
    let state = TaskState::from_json(&stored.json).expect("its state reads");
    assert_eq!(
        (state.status, state.not_before, state.attempts),
        (TaskStatus::Pending, Some(at), 0),
        "stored pending, not before its time, never tried"
    );
    assert_eq!(state.status_at(now), TaskStatus::Scheduled);

    let ids = |tasks: Vec<crate::state::StoredState>| -> Vec<String> {
        distinct(tasks)
            .iter()
            .map(|s| s.record.id().to_owned())
            .collect()
    };
    let (handed, next_open) = sweep_all(adapter, list, 10, Utc::now()).await;
    assert_eq!(
        ids(handed),
        ["already-due", "ready-now"],
        "before its time a scheduled task is not handed out; one due already is"
    );
    let open = next_open.expect("a scheduled task is open");
    assert!(
        (open - at).num_milliseconds().abs() <= 1,
        "the sweep says the scheduled task opens at its time: {open} for {at}"
    );

    let counts = adapter.count_by_status(list).await.unwrap();
    assert_eq!(
        (counts.scheduled, counts.pending, counts.total()),
        (1, 2, 3),
        "counted as scheduled until its time: {counts:?}"
    );
    let page = adapter
        .page_by_status(list, TaskStatus::Scheduled, None, 10)
        .await
        .unwrap();
    assert_eq!(ids(page.tasks), ["in-an-hour"], "paged as scheduled");
    let page = adapter
        .page_by_status(list, TaskStatus::Pending, None, 10)
        .await
        .unwrap();
    assert_eq!(
        ids(page.tasks),
        ["already-due", "ready-now"],
        "the others are pending"
    );

    adapter
        .store_scheduled(&record(list, "saved-again", "{}"), at)
        .await
        .unwrap();
    store(adapter, &record(list, "saved-again", "{}")).await;
    let state = adapter
        .load_state(list, "saved-again")
        .await
        .unwrap()
        .expect("stored");
    let state = TaskState::from_json(&state.json).unwrap();
    assert!(
        state.is_claimable(Utc::now()),
        "a plain store makes a scheduled task ready at once: {state:?}"
    );
    let (handed, _) = sweep_all(adapter, list, 10, Utc::now()).await;
    assert!(
        ids(handed).iter().any(|id| id == "saved-again"),
        "and a sweep hands it out"
    );

    // A sweep at its time (the last: an adapter may remember how far it
    // swept) hands it out.
    let (later, _) = sweep_all(adapter, list, 10, at + TimeDelta::seconds(1)).await;
    let due = distinct(later)
        .into_iter()
        .find(|s| s.record.id() == "in-an-hour")
        .expect("at its time a scheduled task is handed out");
    let claimed = adapter
        .swap_state(list, "in-an-hour", &due.token, Some(&claimed_state("w")))
        .await
        .unwrap();
    assert!(claimed.is_some(), "its token claims it");
}

/// The tasks of a sweep, each once, in id order: an adapter may hand out a
/// task more than once in a sweep (its second claim then finds it taken).
fn distinct(mut tasks: Vec<crate::state::StoredState>) -> Vec<crate::state::StoredState> {
    tasks.sort_by(|a, b| a.record.id().cmp(b.record.id()));
    tasks.dedup_by(|a, b| a.record.id() == b.record.id());
    tasks
}
