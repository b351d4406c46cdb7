//! The adapter conformance suite on every adapter that needs no server,
//! one test per rule (`taskrec::conformance_tests!`), one module per
//! adapter: the memory adapter (directly and behind `Box<dyn>` and
//! `Arc<dyn>`), the `custom_adapter` example's JSON-file-per-task adapter,
//! written outside the crate as a user would, and an adapter on the provided
//! claim-next and history. Each test builds its adapter afresh;
//! `cargo test --test conformance json_file` runs one adapter's rules,
//! `-- delete_is_idempotent` one rule on each.

#![cfg(feature = "conformance")]

/// The example's adapter itself, not a copy: what the example shows is what
/// these rules hold.
#[path = "../examples/custom_adapter/json_file.rs"]
mod custom_adapter;
#[path = "support/wrapper.rs"]
mod wrapper;

use std::sync::Arc;

use custom_adapter::JsonFileAdapter;
use taskrec::adapter::StorageAdapter;
use taskrec::{conformance, MemoryAdapter};
use wrapper::{Method, Wrapped};

mod memory {
    taskrec::conformance_tests!(async || taskrec::MemoryAdapter::new());
}

mod boxed_dyn {
    use taskrec::adapter::StorageAdapter;
    use taskrec::MemoryAdapter;

    async fn adapter() -> Box<dyn StorageAdapter> {
        Box::new(MemoryAdapter::new())
    }

    taskrec::conformance_tests!(adapter);
}

mod arc_dyn {
    taskrec::conformance_tests!(|| async {
        std::sync::Arc::new(taskrec::MemoryAdapter::new())
            as std::sync::Arc<dyn taskrec::adapter::StorageAdapter>
    });
}

mod json_file {
    use super::JsonFileAdapter;

    /// The adapter over a fresh directory, kept until the test ends.
    async fn adapter() -> (JsonFileAdapter, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        (JsonFileAdapter::new(dir.path()), dir)
    }

    taskrec::conformance_tests!(adapter);

    /// A storage error of the adapter's saying a file holds another key.
    fn assert_holds_another_key<T: std::fmt::Debug>(answer: taskrec::Result<T>) {
        match answer {
            Err(taskrec::Error::Storage { adapter, source }) => {
                assert_eq!(adapter, "json-file");
                assert!(
                    source.to_string().ends_with("holds another key"),
                    "{source}"
                );
            }
            other => panic!("expected Storage, got {other:?}"),
        }
    }

    /// Two keys with one SHA-256 would share a file, two task lists a
    /// directory. No such pair is known, so the test makes one the way it
    /// would look: a file (a directory) moved to the name of another key.
    /// `find` and `page` answer a storage error naming the file, never the
    /// other key's record.
    #[tokio::test]
    async fn a_file_holding_another_key_is_an_error_not_a_record() {
        use crate::custom_adapter::hashed;
        use taskrec::adapter::{StorageAdapter, TaskRecord};

        let (adapter, dir) = adapter().await;
        adapter
            .store(&TaskRecord::new("l", "a", "T", "{}").unwrap())
            .await
            .unwrap();
        let list_dir = dir.path().join(hashed("l"));
        std::fs::copy(
            list_dir.join(format!("{}.json", hashed("a"))),
            list_dir.join(format!("{}.json", hashed("b"))),
        )
        .unwrap();
        assert_holds_another_key(adapter.find("l", "b").await);
        assert!(adapter.find("l", "a").await.unwrap().is_some());

        std::fs::rename(&list_dir, dir.path().join(hashed("m"))).unwrap();
        assert_holds_another_key(adapter.page("m", None, 10).await);
    }
}

mod provided_claim_next_and_history {
    taskrec::conformance_tests!(|| async { super::state_only() });
}

/// `run_all` still runs every rule in one call (the custom_adapter example
/// and the Cassandra tests use it), on any of the pointer forms.
#[tokio::test]
async fn run_all_checks_every_rule_in_one_call() {
    conformance::run_all(&MemoryAdapter::new()).await;
    let boxed: Box<dyn StorageAdapter> = Box::new(MemoryAdapter::new());
    conformance::run_all(&boxed).await;
    let shared: Arc<dyn StorageAdapter> = Arc::new(MemoryAdapter::new());
    conformance::run_all(&shared).await;
}

/// Keeps task state (through the memory adapter) but none of the optional
/// methods with defaults: claim-next and history run on the defaults an
/// adapter author gets.
fn state_only() -> Wrapped {
    // The state, and the two methods the capability asks for beyond it: no
    // default can store a task scheduled, or only if absent, in one write.
    let written = [
        Method::LoadState,
        Method::SwapState,
        Method::StoreScheduled,
        Method::StoreIfAbsent,
    ];
    let defaults: Vec<Method> = Method::PROVIDED
        .into_iter()
        .filter(|method| !written.contains(method))
        .collect();
    Wrapped::new().named("state-only").trait_defaults(&defaults)
}
