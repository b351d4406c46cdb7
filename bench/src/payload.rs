//! The one task type every variant stores, and its pre-serialized form.
//!
//! Every record of a run carries the same data; the id tells records apart.
//! That keeps the raw variant's input a single pre-serialized text (no
//! per-record text in memory to inflate its peak RSS) while the typed
//! variants build their value per operation, as a caller would.

use serde::{Deserialize, Serialize};
use taskrec::{TaskData, TaskRegistry};

/// A task of a realistic size: about 240 bytes of JSON, six fields, one
/// optional and one a list.
///
/// The serde derives are for the `raw+serde` variant: the same struct, read
/// and written by serde_json alone. `skip_serializing_if` makes both write
/// the same text (`ignore_serde`: the stored form skips `None` on its own).
#[derive(Debug, Clone, PartialEq, TaskData, Serialize, Deserialize)]
#[task(ignore_serde)]
pub struct FetchFile {
    pub external_host: String,
    pub filename: String,
    pub size: u64,
    pub retries: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    pub tags: Vec<String>,
}

/// The type name every record is stored under.
pub const TYPE_NAME: &str = "FetchFile";

/// The data of every record.
pub fn template() -> FetchFile {
    FetchFile {
        external_host: "files.example.com".to_owned(),
        filename: "exports/2024/11/customer-4711/backup-0001.tar.zst".to_owned(),
        size: 7_340_032,
        retries: 0,
        checksum: Some(
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_owned(),
        ),
        tags: vec!["nightly".to_owned(), "eu-west".to_owned()],
    }
}

/// The template as JSON text: what the raw variant binds, pre-serialized.
pub fn template_json() -> String {
    serde_json::to_string(&template()).expect("the template serializes")
}

/// The record id of operation `i`: fixed width, so every variant formats
/// and sends the same number of bytes.
pub fn id(i: u64) -> String {
    format!("task-{i:09}")
}

/// The registry of the `taskrec-dyn` variant.
pub fn registry() -> TaskRegistry {
    let mut registry = TaskRegistry::new();
    registry.register::<FetchFile>().expect("one registration");
    registry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_and_the_derive_write_the_same_text() {
        let data = template();
        let derived = serde_json::to_string(&taskrec::DataRef(&data)).unwrap();
        assert_eq!(derived, template_json());
        assert!((150..250).contains(&derived.len()), "{}", derived.len());
    }
}
