//! Unique saves: `store_if_absent` stores a record once, whoever races.

use super::*;

/// Saves of new tasks only: [`store_if_absent`](StorageAdapter::store_if_absent)
/// of a free key stores the record, pending, and answers `true`; of a taken
/// key it answers `false` and changes nothing, neither the record nor its
/// state and token (a claimed task stays claimed); of 16 calls racing on
/// one free key, exactly one answers `true`, and its record is the one
/// stored. Without conditional writes it is [`Error::Unsupported`] naming
/// the capability, and stores nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_store_if_absent(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_store_if_absent(adapter: &dyn StorageAdapter) {
    let list = unique_list("absent");
    let list = list.as_str();
    if !adapter.capabilities().conditional_writes() {
        let stored = adapter.store_if_absent(&record(list, "a", "{}")).await;
        assert_lacks_conditional_writes("store_if_absent", stored);
        let found = adapter.find(list, "a").await.expect("find");
        assert!(found.is_none(), "a refused save stores nothing");
        return;
    }
    let first = record(list, "a", r#"{"v":1}"#);
    let stored = adapter.store_if_absent(&first).await;
    assert!(
        matches!(stored, Ok(true)),
        "a free key is stored: {stored:?}"
    );
    let state = adapter
        .load_state(list, "a")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        (state.record.data(), state.json.as_str()),
        (r#"{"v":1}"#, INITIAL_STATE_JSON),
        "stored as `store` stores it, pending"
    );
    let claimed = claimed_state("w");
    let token = adapter
        .swap_state(list, "a", &state.token, Some(&claimed))
        .await
        .unwrap()
        .expect("the claim lands");

    let again = adapter
        .store_if_absent(&record(list, "a", r#"{"v":2}"#))
        .await;
    assert!(
        matches!(again, Ok(false)),
        "a taken key answers false: {again:?}"
    );
    let state = adapter
        .load_state(list, "a")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        (state.record.data(), state.json.as_str(), state.token),
        (r#"{"v":1}"#, claimed.as_str(), token),
        "a taken key's record, state and token are left as they are"
    );

    let racers: Vec<TaskRecord> = (0..16)
        .map(|n| record(list, "raced", &format!(r#"{{"n":{n}}}"#)))
        .collect();
    let outcomes: Vec<bool> =
        futures::future::join_all(racers.iter().map(|r| adapter.store_if_absent(r)))
            .await
            .into_iter()
            .map(|outcome| outcome.unwrap_or_else(|e| panic!("a racing store_if_absent: {e}")))
            .collect();
    let winners: Vec<usize> = (0..16).filter(|&n| outcomes[n]).collect();
    assert_eq!(
        winners.len(),
        1,
        "one of 16 racing calls wins: {outcomes:?}"
    );
    let stored = adapter.find(list, "raced").await.unwrap().expect("stored");
    assert_eq!(
        stored.data(),
        racers[winners[0]].data(),
        "the winner's record is the one stored"
    );
    assert_eq!(adapter.count(list).await.unwrap(), 2);
}
