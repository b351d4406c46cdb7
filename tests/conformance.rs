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

/// Keeps task state (through the memory adapter) but none of the optional
/// methods with defaults: claim-next and history run on the defaults an
/// adapter author gets.
#[derive(Debug, Default)]
struct StateOnly(MemoryAdapter);

#[async_trait::async_trait]
impl StorageAdapter for StateOnly {
    fn capabilities(&self) -> taskrec::Capabilities {
        self.0.capabilities()
    }
    async fn store(&self, record: &taskrec::TaskRecord) -> taskrec::Result<()> {
        self.0.store(record).await
    }
    async fn find(&self, list: &str, id: &str) -> taskrec::Result<Option<taskrec::TaskRecord>> {
        self.0.find(list, id).await
    }
    async fn delete(&self, list: &str, id: &str) -> taskrec::Result<()> {
        self.0.delete(list, id).await
    }
    async fn page(
        &self,
        list: &str,
        token: Option<&taskrec::PageToken>,
        page_size: usize,
    ) -> taskrec::Result<taskrec::Page> {
        self.0.page(list, token, page_size).await
    }
    async fn load_state(
        &self,
        list: &str,
        id: &str,
    ) -> taskrec::Result<Option<taskrec::StoredState>> {
        self.0.load_state(list, id).await
    }
    async fn swap_state(
        &self,
        list: &str,
        id: &str,
        expected: &taskrec::StateToken,
        new: Option<&str>,
    ) -> taskrec::Result<Option<taskrec::StateToken>> {
        self.0.swap_state(list, id, expected, new).await
    }
}

#[tokio::test]
async fn the_provided_claim_next_and_history_keep_the_contract() {
    conformance::run_all(&StateOnly::default()).await;
}
