//! The bad-input corpus (`tests/bad_inputs/*.json`) on the memory adapter:
//! every case gives its exact error, or is stored and read back byte for
//! byte, and nothing panics. `tests/cassandra/bad_inputs.rs` runs the same
//! cases against the real server.

#[path = "support/corpus.rs"]
mod corpus;

use corpus::Memory;

#[tokio::test]
async fn hashes() {
    corpus::run_hashes(&Memory::new())
        .await
        .finish("hash", "memory");
}

#[tokio::test]
async fn stored_rows() {
    corpus::run_rows(&Memory::new())
        .await
        .finish("stored row", "memory");
}

#[tokio::test]
async fn task_lists_and_ids() {
    corpus::run_keys(&Memory::new())
        .await
        .finish("key", "memory");
}

#[tokio::test]
async fn page_tokens() {
    corpus::run_tokens(&Memory::new())
        .await
        .finish("page token", "memory");
}

/// The corpus holds what the issue asks for: at least 100 cases.
#[test]
fn the_corpus_has_at_least_100_cases() {
    let total = corpus::hash_cases().len()
        + corpus::row_cases().len()
        + corpus::key_cases().len()
        + corpus::token_cases().len();
    assert!(total >= 100, "{total} cases");
}
