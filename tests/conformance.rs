//! The adapter conformance suite on every adapter that needs no server:
//! the memory adapter (directly and behind `Box<dyn>` and `Arc<dyn>`), and a
//! JSON-file-per-task adapter written outside the crate, as a user would.

#![cfg(feature = "conformance")]

mod support;

use std::sync::Arc;

use support::json_dir::JsonDirAdapter;
use taskrec::{conformance, MemoryAdapter, StorageAdapter};

#[tokio::test]
async fn memory_adapter_keeps_the_contract() {
    conformance::run_all(&MemoryAdapter::new()).await;
}

#[tokio::test]
async fn boxed_dyn_adapter_keeps_the_contract() {
    let adapter: Box<dyn StorageAdapter> = Box::new(MemoryAdapter::new());
    conformance::run_all(&adapter).await;
}

#[tokio::test]
async fn arc_dyn_adapter_keeps_the_contract() {
    let adapter: Arc<dyn StorageAdapter> = Arc::new(MemoryAdapter::new());
    conformance::run_all(&adapter).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_dir_adapter_from_outside_the_crate_keeps_the_contract() {
    let dir = tempfile::tempdir().expect("temp dir");
    conformance::run_all(&JsonDirAdapter::new(dir.path())).await;
}
