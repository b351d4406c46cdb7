//! Records: store, find, overwrite, delete, keys, data and timestamps kept as
//! they were given, and concurrent writes.

use super::*;

/// A stored record is found with every field as it was stored.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_store_and_find(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_store_and_find(adapter: &dyn StorageAdapter) {
    let list = unique_list("store-find");
    let stored = record(&list, "a", r#"{"filename":"file1.txt","retries":2}"#);
    store(adapter, &stored).await;
    assert_found_as_stored(adapter, &stored, "find returns the record as stored").await;
}

/// Finding what was never stored is `Ok(None)`, in a known and an unknown list.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_find_absent(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_find_absent(adapter: &dyn StorageAdapter) {
    let list = unique_list("absent");
    assert_eq!(
        find(adapter, &list, "nothing").await,
        None,
        "absent in an unknown list"
    );
    store(adapter, &record(&list, "present", "{}")).await;
    assert_eq!(
        find(adapter, &list, "nothing").await,
        None,
        "absent in a known list"
    );
}

/// Storing under the same key again replaces the record, type included.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_overwrite(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_overwrite(adapter: &dyn StorageAdapter) {
    let list = unique_list("overwrite");
    store(adapter, &record(&list, "a", r#"{"v":1}"#)).await;
    let second = TaskRecord::new(&list, "a", "OtherType", r#"{"v":2}"#).unwrap();
    store(adapter, &second).await;
    assert_found_as_stored(adapter, &second, "the second store wins").await;
    assert_eq!(
        ids_of_all(adapter, &list).await,
        ["a"],
        "one record remains"
    );
}

/// `store_all` stores every record as `store` would: each is found as
/// stored, listed once, overwrites what was there (state included, where
/// the adapter keeps state), and of a key given twice the later record wins.
/// Storing nothing is a no-op.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_store_all(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_store_all(adapter: &dyn StorageAdapter) {
    let (one, two) = (unique_list("store-all"), unique_list("store-all"));
    adapter
        .store_all(&[])
        .await
        .unwrap_or_else(|e| panic!("store_all of no records failed: {e}"));

    // One record there before, claimed where the adapter keeps state.
    let before = record(&one, "task-00000", r#"{"v":0}"#);
    store(adapter, &before).await;
    let states = adapter.capabilities().conditional_writes();
    if states {
        let token = adapter
            .load_state(&one, "task-00000")
            .await
            .unwrap_or_else(|e| panic!("load_state: {e}"))
            .expect("a stored record has a state")
            .token;
        let claimed = claimed_state("w");
        adapter
            .swap_state(&one, "task-00000", &token, Some(&claimed))
            .await
            .unwrap_or_else(|e| panic!("swap_state: {e}"))
            .expect("the claim lands");
    }

    // 250 records over two lists, interleaved; the first id comes twice.
    let mut records: Vec<TaskRecord> = (0..250)
        .map(|i| {
            let list = if i % 2 == 0 { &one } else { &two };
            record(list, &format!("task-{i:05}"), &format!(r#"{{"v":{i}}}"#))
        })
        .collect();
    let again = TaskRecord::new(&one, "task-00000", "OtherType", r#"{"v":"again"}"#).unwrap();
    records.push(again.clone());
    adapter
        .store_all(&records)
        .await
        .unwrap_or_else(|e| panic!("store_all of {} records failed: {e}", records.len()));

    for expected in records.iter().skip(1) {
        assert_found_as_stored(adapter, expected, "store_all stores each record").await;
    }
    let expected_ids = |list: &str| -> Vec<String> {
        records[..250]
            .iter()
            .filter(|r| r.task_list() == list)
            .map(|r| r.id().to_owned())
            .collect()
    };
    for list in [&one, &two] {
        let mut ids = ids_of_all(adapter, list).await;
        ids.sort();
        assert_eq!(ids, expected_ids(list), "store_all lists each record once");
    }
    if states {
        let state = adapter
            .load_state(&one, "task-00000")
            .await
            .unwrap_or_else(|e| panic!("load_state: {e}"))
            .expect("a stored record has a state");
        assert_eq!(
            state.json, INITIAL_STATE_JSON,
            "store_all over a claimed record writes the initial state, as store does"
        );
    }
}

/// Delete removes one record, leaves the others, and is a no-op when absent.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_delete(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_delete(adapter: &dyn StorageAdapter) {
    let list = unique_list("delete");
    store(adapter, &record(&list, "a", "{}")).await;
    store(adapter, &record(&list, "b", "{}")).await;
    adapter
        .delete(&list, "a")
        .await
        .expect("delete a present record");
    assert_eq!(
        find(adapter, &list, "a").await,
        None,
        "deleted record is gone"
    );
    assert!(
        find(adapter, &list, "b").await.is_some(),
        "other record stays"
    );
    adapter
        .delete(&list, "a")
        .await
        .expect("deleting again is a no-op");
    adapter
        .delete(&unique_list("delete-unknown"), "x")
        .await
        .expect("deleting from an unknown list is a no-op");
    assert_eq!(ids_of_all(adapter, &list).await, ["b"]);
}

/// A list's records never show up in another list, even one whose name is a prefix.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_lists_are_separate(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_lists_are_separate(adapter: &dyn StorageAdapter) {
    let list = unique_list("separate");
    let longer = format!("{list}x");
    store(adapter, &record(&list, "same-id", r#"{"in":"list"}"#)).await;
    store(adapter, &record(&longer, "same-id", r#"{"in":"longer"}"#)).await;
    store(adapter, &record(&longer, "other", "{}")).await;
    assert_eq!(ids_of_all(adapter, &list).await, ["same-id"]);
    assert_eq!(
        find(adapter, &list, "same-id").await.unwrap().data(),
        r#"{"in":"list"}"#
    );
    assert_eq!(find(adapter, &list, "other").await, None);
}

/// Keys with quotes, CQL syntax, NUL, right-to-left and other non-ASCII
/// text, and keys of the maximum length, are stored and found verbatim.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_keys_verbatim(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_keys_verbatim(adapter: &dyn StorageAdapter) {
    let base = unique_list("keys");
    let awkward = [
        "it's \"quoted\"",
        "'; DROP TABLE tasks; --",
        "semi;colon",
        "SELECT * FROM tasks WHERE id = ?",
        "nul\0byte",
        "\u{202e}right-to-left\u{202c}",
        "ünïcödé ключ 鍵 🔑",
        "slash/and\\backslash",
        "  spaces  ",
        ".",
        "..",
    ];
    for (n, text) in awkward.iter().enumerate() {
        let list = format!("{base}{text}");
        let id = (*text).to_owned();
        let rec = record(&list, &id, &format!(r#"{{"n":{n}}}"#));
        store(adapter, &rec).await;
        assert_found_as_stored(adapter, &rec, &format!("key {text:?} round trips")).await;
        assert_eq!(
            ids_of_all(adapter, &list).await,
            vec![id.clone()],
            "key {text:?} lists"
        );
        adapter.delete(&list, &id).await.unwrap();
        assert_eq!(
            find(adapter, &list, &id).await,
            None,
            "key {text:?} deletes"
        );
    }
    let long_id = "i".repeat(MAX_KEY_BYTES);
    let long_list = format!("{base}{}", "l".repeat(MAX_KEY_BYTES - base.len()));
    let rec = record(&long_list, &long_id, "{}");
    store(adapter, &rec).await;
    assert_found_as_stored(adapter, &rec, "maximum-length keys").await;
}

/// Data text comes back byte for byte: escapes, whitespace, big values.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_data_verbatim(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_data_verbatim(adapter: &dyn StorageAdapter) {
    let list = unique_list("data");
    let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(200_000));
    let samples = [
        "{}",
        r#"{"a":1,"b":[true,null,2.5e-3],"c":{"d":"e"}}"#,
        "{ \"spaced\" : \"out\" ,\n \"tab\":\t1 }",
        r#"{"escaped":"quote \" backslash \\ unicode \u00e9 \ud83d\ude00"}"#,
        r#"{"raw":"é 😀 \u0000"}"#,
        big.as_str(),
    ];
    for (n, data) in samples.iter().enumerate() {
        let rec = record(&list, &format!("d{n}"), data);
        store(adapter, &rec).await;
        let found = find(adapter, &list, &format!("d{n}"))
            .await
            .expect("stored");
        assert_eq!(
            found.data(),
            *data,
            "data sample {n} comes back byte for byte"
        );
    }
}

/// Timestamps come back to the millisecond; an adapter that cannot keep
/// them returns both as the time of the write.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_timestamps(&adapter).await; // to the millisecond: memory keeps them
/// # }
/// ```
pub async fn check_timestamps(adapter: &dyn StorageAdapter) {
    let list = unique_list("time");
    let created = Utc.timestamp_millis_opt(1_600_000_000_123).unwrap();
    let updated = created + TimeDelta::milliseconds(86_400_001);
    let rec = TaskRecord::with_timestamps(&list, "t", "T", "{}", created, updated).unwrap();
    let before = Utc::now() - TimeDelta::seconds(1);
    store(adapter, &rec).await;
    let after = Utc::now() + TimeDelta::seconds(1);
    let found = find(adapter, &list, "t").await.expect("stored");
    let listed = adapter.all(&list).try_collect::<Vec<_>>().await.unwrap();
    assert_eq!(
        listed,
        std::slice::from_ref(&found),
        "all returns what find returns"
    );
    if adapter.capabilities().keeps_timestamps() {
        assert_eq!((found.created_at(), found.updated_at()), (created, updated));
    } else {
        assert_eq!(
            found.created_at(),
            found.updated_at(),
            "both are the write time"
        );
        assert!(
            (before..=after).contains(&found.updated_at()),
            "the write time {} lies around the store ({before} to {after})",
            found.updated_at()
        );
    }
}

/// Many concurrent writers and readers on one adapter lose nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_concurrent_writes(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_concurrent_writes(adapter: &dyn StorageAdapter) {
    let list = unique_list("concurrent");
    let list = list.as_str();
    let ids: Vec<String> = (0..500).map(|i| format!("c{i}")).collect();
    stream::iter(&ids)
        .for_each_concurrent(128, |id| async move {
            store(adapter, &record(list, id, r#"{"first":true}"#)).await;
            assert!(
                find(adapter, list, id).await.is_some(),
                "read your write of {id}"
            );
            store(adapter, &record(list, id, r#"{"first":false}"#)).await;
        })
        .await;
    assert_eq!(adapter.count(list).await.unwrap(), 500);
    for id in &ids {
        let found = find(adapter, list, id).await.expect("stored");
        assert_eq!(
            found.data(),
            r#"{"first":false}"#,
            "the later write of {id} wins"
        );
    }
}
