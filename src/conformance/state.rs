//! Task state (capability `conditional_writes`): swaps only with the current
//! token, deletes through a swap, foreign tokens, races with one winner;
//! and the typed refusal of an adapter without the capability.

use super::*;

/// With conditional writes: a store sets the initial state under a fresh
/// token; a swap applies only with the current token and never creates a
/// record; a swap to `None` deletes. Without: both answer `Unsupported`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_state(&adapter).await; // memory writes conditionally: all of it
/// # }
/// ```
pub async fn check_state(adapter: &dyn StorageAdapter) {
    let list = unique_list("state");
    let rec = record(&list, "s", r#"{"k":1}"#);
    store(adapter, &rec).await;
    if !adapter.capabilities().conditional_writes() {
        assert_lacks_conditional_writes("load_state", adapter.load_state(&list, "s").await);
        let swap = adapter
            .swap_state(&list, "s", &StateToken::random(), Some("{}"))
            .await;
        assert_lacks_conditional_writes("swap_state", swap);
        return;
    }
    let load = |id: &'static str| {
        let list = list.clone();
        async move {
            adapter
                .load_state(&list, id)
                .await
                .unwrap_or_else(|e| panic!("load_state: {e}"))
        }
    };
    let initial = load("s").await.expect("a stored record has a state");
    assert_eq!(
        initial.json, INITIAL_STATE_JSON,
        "a store writes the initial state"
    );
    assert_eq!(load("absent").await, None, "no record, no state");

    let claimed = claimed_state("a");
    let t1 = adapter
        .swap_state(&list, "s", &initial.token, Some(&claimed))
        .await
        .unwrap()
        .expect("a swap with the current token applies");
    assert_ne!(t1, initial.token, "every write makes a new token");
    assert_eq!(
        load("s").await.map(|s| (s.json, s.token)),
        Some((claimed.clone(), t1))
    );

    let stale = adapter
        .swap_state(&list, "s", &initial.token, Some(&claimed_state("b")))
        .await
        .unwrap();
    assert_eq!(stale, None, "a stale token changes nothing");
    assert_eq!(load("s").await.map(|s| s.json), Some(claimed.clone()));

    assert_eq!(
        adapter
            .swap_state(&list, "never-stored", &t1, Some(&claimed))
            .await
            .unwrap(),
        None,
        "a swap never creates a record"
    );
    assert_eq!(find(adapter, &list, "never-stored").await, None);

    // Saving again resets the state: a re-saved task is new work.
    store(adapter, &rec).await;
    let reset = load("s").await.expect("stored");
    assert_eq!(reset.json, INITIAL_STATE_JSON);
    assert_ne!(reset.token, t1);
    assert_eq!(
        adapter.swap_state(&list, "s", &t1, None).await.unwrap(),
        None,
        "the old token is stale"
    );
    assert!(
        find(adapter, &list, "s").await.is_some(),
        "a stale delete deletes nothing"
    );

    assert!(adapter
        .swap_state(&list, "s", &reset.token, None)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        find(adapter, &list, "s").await,
        None,
        "a swap to None deletes"
    );
    assert_eq!(load("s").await, None);
}

/// A swap to `None` with the current token deletes the record and answers
/// `Some` of the token given, both when the state is the initial one and
/// after changes; the token then names nothing: swapping with it again,
/// to `None` or to a state, answers `None` and creates nothing. Without
/// conditional writes: `Unsupported`, naming the capability.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_state_delete(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_state_delete(adapter: &dyn StorageAdapter) {
    let list = unique_list("state-delete");
    let list = list.as_str();
    store(adapter, &record(list, "fresh", "{}")).await;
    store(adapter, &record(list, "changed", "{}")).await;
    store(adapter, &record(list, "other", "{}")).await;
    if !adapter.capabilities().conditional_writes() {
        let swap = adapter
            .swap_state(list, "fresh", &StateToken::random(), None)
            .await;
        assert_lacks_conditional_writes("swap_state to None", swap);
        assert!(
            find(adapter, list, "fresh").await.is_some(),
            "an unsupported delete deletes nothing"
        );
        return;
    }
    let token_of = |id: &'static str| async move {
        adapter
            .load_state(list, id)
            .await
            .unwrap_or_else(|e| panic!("load_state({id}): {e}"))
            .unwrap_or_else(|| panic!("{id} is stored"))
            .token
    };

    let fresh = token_of("fresh").await;
    let deleted = adapter
        .swap_state(list, "fresh", &fresh, None)
        .await
        .unwrap_or_else(|e| panic!("swap_state to None: {e}"));
    assert_eq!(
        deleted,
        Some(fresh),
        "a swap to None that deletes answers the token it was given"
    );
    assert_eq!(
        find(adapter, list, "fresh").await,
        None,
        "the record is gone"
    );
    assert_eq!(
        adapter.load_state(list, "fresh").await.unwrap(),
        None,
        "and its state"
    );

    let initial = token_of("changed").await;
    let claimed = adapter
        .swap_state(list, "changed", &initial, Some(&claimed_state("w")))
        .await
        .unwrap()
        .expect("a claim with the current token applies");
    let deleted = adapter
        .swap_state(list, "changed", &claimed, None)
        .await
        .unwrap();
    assert_eq!(
        deleted,
        Some(claimed),
        "after a change, the delete answers the changed state's token"
    );
    assert_eq!(find(adapter, list, "changed").await, None);

    for (id, token) in [("fresh", fresh), ("changed", claimed)] {
        assert_eq!(
            adapter.swap_state(list, id, &token, None).await.unwrap(),
            None,
            "deleting {id} again with its token answers None"
        );
        assert_eq!(
            adapter
                .swap_state(list, id, &token, Some(&claimed_state("w")))
                .await
                .unwrap(),
            None,
            "a swap with a deleted record's token answers None"
        );
        assert_eq!(find(adapter, list, id).await, None, "and creates nothing");
    }
    assert_eq!(ids_of_all(adapter, list).await, ["other"], "the rest stays");
}

/// A state token the adapter never handed out for the record (a random
/// one, another record's) is stale: `swap_state` answers `None`, to a
/// state or to `None`, and changes nothing: the state, its token and the
/// record stay.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_foreign_state_token(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_foreign_state_token(adapter: &dyn StorageAdapter) {
    if !adapter.capabilities().conditional_writes() {
        return; // swap_state is Unsupported: check_state
    }
    let list = unique_list("foreign-state-token");
    let list = list.as_str();
    store(adapter, &record(list, "target", "{}")).await;
    store(adapter, &record(list, "neighbour", "{}")).await;
    let load = |id: &'static str| async move {
        adapter
            .load_state(list, id)
            .await
            .unwrap_or_else(|e| panic!("load_state({id}): {e}"))
            .unwrap_or_else(|| panic!("{id} is stored"))
    };
    let before = load("target").await;
    let neighbours = load("neighbour").await.token;
    for (what, token) in [
        ("a random token", StateToken::random()),
        ("another record's token", neighbours),
    ] {
        for new in [Some(claimed_state("intruder")), None] {
            let outcome = adapter
                .swap_state(list, "target", &token, new.as_deref())
                .await
                .unwrap_or_else(|e| panic!("swap_state with {what}: {e}"));
            assert_eq!(
                outcome,
                None,
                "a swap to {} with {what} answers None",
                if new.is_some() { "a state" } else { "None" }
            );
            let after = load("target").await;
            assert_eq!(
                (&after.json, after.token),
                (&before.json, before.token),
                "a swap with {what} changes nothing"
            );
        }
    }
    assert!(find(adapter, list, "target").await.is_some());
}

/// Of many concurrent swaps from one token, exactly one applies.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_state_race(&adapter).await; // one of 32 racing swaps wins
/// # }
/// ```
pub async fn check_state_race(adapter: &dyn StorageAdapter) {
    if !adapter.capabilities().conditional_writes() {
        return;
    }
    let list = unique_list("state-race");
    let list = list.as_str();
    store(adapter, &record(list, "r", "{}")).await;
    let token = adapter
        .load_state(list, "r")
        .await
        .unwrap()
        .expect("stored")
        .token;
    // A swap that times out (contended Paxos rounds do) has an unknown
    // outcome: at most one applies, and if none is known to, one may have.
    let outcomes: Vec<(usize, Option<bool>)> = stream::iter(0..32)
        .map(|n| async move {
            let state = claimed_state(&format!("worker-{n}"));
            let outcome = adapter.swap_state(list, "r", &token, Some(&state)).await;
            (n, outcome.ok().map(|applied| applied.is_some()))
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let winners: Vec<usize> = outcomes
        .iter()
        .filter(|(_, o)| *o == Some(true))
        .map(|(n, _)| *n)
        .collect();
    let unknown = outcomes.iter().filter(|(_, o)| o.is_none()).count();
    assert!(
        winners.len() <= 1,
        "at most one of 32 racing swaps applies: {winners:?}"
    );
    assert!(winners.len() + unknown >= 1, "one of them applies");
    let state =
        TaskState::from_json(&adapter.load_state(list, "r").await.unwrap().unwrap().json).unwrap();
    if let [winner] = winners[..] {
        assert_eq!(
            state.owner,
            Some(format!("worker-{winner}")),
            "the winner's state is stored"
        );
    }
    assert_ne!(state.status, TaskStatus::Pending, "some swap applied");
}
