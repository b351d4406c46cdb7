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

/// The corpus holds every case its files hold, 228 in all: a file cut
/// short or a case lost to a bad merge shows here (a case added: update the
/// count, and docs/RELIABILITY.md's).
#[test]
fn the_corpus_holds_its_228_cases() {
    let sizes = [
        ("hashes", corpus::hash_cases().len()),
        ("rows", corpus::row_cases().len()),
        ("keys", corpus::key_cases().len()),
        ("page tokens", corpus::token_cases().len()),
    ];
    assert_eq!(
        sizes,
        [
            ("hashes", 107),
            ("rows", 49),
            ("keys", 49),
            ("page tokens", 23)
        ]
    );
}

// ---- what the fuzzers found (fuzz/, docs/RELIABILITY.md) ----------------------

/// hash_decode: a float written as `-12.5e27` decoded 1 ULP off, so the task
/// handed on (encoded again and decoded on the other side) held another
/// number than the one it was decoded with. taskrec now builds serde_json
/// with `float_roundtrip`: every float decodes to the nearest double.
#[test]
fn a_float_survives_hash_round_trips_unchanged() {
    use taskrec::{Task, TaskHash};
    for text in [
        "-12.5e27",
        "0.1",
        "1.7976931348623157e308",
        "5e-324",
        "2.2250738585072014e-308",
    ] {
        let json = format!(r#"{{"task_list":"l","id":"1","type":"Doc","data":{{"x":{text}}}}}"#);
        let task: Task<corpus::Doc> = Task::from_hash(TaskHash::from_json(&json).unwrap()).unwrap();
        let parsed: f64 = text.parse().unwrap();
        assert_eq!(task.data().rest["x"].as_f64(), Some(parsed), "{text}");
        let again: Task<corpus::Doc> = Task::from_json(&task.to_json().unwrap()).unwrap();
        assert_eq!(again.data(), task.data(), "{text}");
    }
}
