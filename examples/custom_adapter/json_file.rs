//! The adapter of the `custom_adapter` example: one JSON file per task in a
//! directory, small and complete, to copy as the start of a real backend.
//! `main.rs`, next to this file, proves it with the conformance suite and
//! uses it through a `TaskStore`.
//!
//! It implements [`StorageAdapter`]'s four required methods and keeps the
//! trait's defaults for the rest. Besides taskrec it needs `tokio` (feature
//! `fs`), `serde`, `serde_json`, `chrono`, `sha2` and `uuid` (feature `v4`).
//!
//! (taskrec's own tests run the conformance suite on this same file, one
//! test a rule, from `tests/conformance.rs`.)

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use serde::{Deserialize, Serialize};
use taskrec::adapter::{async_trait, Error, Page, PageToken, Result, StorageAdapter, TaskRecord};

/// The name errors and logs give the adapter (`Error::Storage { adapter, .. }`).
pub const ADAPTER: &str = "json-file";

/// Stores each task as `<root>/<sha256 of task list>/<sha256 of id>.json`.
///
/// Keys are any text up to 4 KiB (`taskrec::MAX_KEY_BYTES`) with slashes,
/// NUL, `..` or anything else in them: hashing them gives short, safe file
/// names, and the key itself is kept inside the file. A write goes to a
/// temporary file first and is renamed into place, so a reader sees the old
/// record or the new one, never half of one.
#[derive(Debug, Clone)]
pub struct JsonFileAdapter {
    root: PathBuf,
}

/// What one file holds: the record's fields, timestamps to the millisecond
/// (the contract asks for timestamps back to the millisecond).
#[derive(Serialize, Deserialize)]
struct StoredFile {
    task_list: String,
    id: String,
    #[serde(rename = "type")]
    type_name: String,
    /// The task's data as the JSON text taskrec handed over, kept byte for
    /// byte (the contract asks for it verbatim, so it is not re-parsed).
    data: String,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl JsonFileAdapter {
    /// An adapter over `root`, created on the first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        JsonFileAdapter { root: root.into() }
    }

    fn list_dir(&self, task_list: &str) -> PathBuf {
        self.root.join(hashed(task_list))
    }

    fn file(&self, task_list: &str, id: &str) -> PathBuf {
        self.list_dir(task_list)
            .join(format!("{}.json", hashed(id)))
    }

    /// Reads one record; a missing file is `None`, not an error.
    async fn read(&self, path: &Path) -> Result<Option<TaskRecord>> {
        let bytes = match tokio::fs::read(path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        let file: StoredFile = serde_json::from_slice(&bytes).map_err(storage)?;
        let time = |ms| {
            Utc.timestamp_millis_opt(ms)
                .single()
                .ok_or_else(|| storage(format!("bad timestamp {ms} in {}", path.display())))
        };
        // `from_storage` builds a record without validating it: what is in a
        // backend may have been written by another tool, and reading it back
        // must not fail for that.
        Ok(Some(TaskRecord::from_storage(
            file.task_list,
            file.id,
            file.type_name,
            file.data,
            time(file.created_at_ms)?,
            time(file.updated_at_ms)?,
        )))
    }

    /// The hashed names of a list's records, sorted: the listing order.
    async fn names(&self, task_list: &str) -> Result<Vec<String>> {
        let mut entries = match tokio::fs::read_dir(self.list_dir(task_list)).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(storage(e)),
        };
        let mut names = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(storage)? {
            // Only finished records: temporary files end in `.tmp-…`.
            if let Some(stem) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
            {
                names.push(stem.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }
}

#[async_trait]
impl StorageAdapter for JsonFileAdapter {
    fn name(&self) -> &'static str {
        ADAPTER
    }

    // `capabilities` keeps its default: timestamps kept, no time-to-live, no
    // conditional writes (so no claims or workers on this adapter). The
    // conformance suite checks that the unsupported methods say so cleanly.

    async fn store(&self, record: &TaskRecord) -> Result<()> {
        let dir = self.list_dir(record.task_list());
        tokio::fs::create_dir_all(&dir).await.map_err(storage)?;
        let file = StoredFile {
            task_list: record.task_list().to_owned(),
            id: record.id().to_owned(),
            type_name: record.type_name().to_owned(),
            data: record.data().to_owned(),
            created_at_ms: record.created_at().timestamp_millis(),
            updated_at_ms: record.updated_at().timestamp_millis(),
        };
        let bytes = serde_json::to_vec(&file).map_err(storage)?;
        // A temporary name of its own per write: concurrent stores of one key
        // never write into the same file, and the last rename wins whole.
        let tmp = dir.join(format!(
            "{}.tmp-{}",
            hashed(record.id()),
            uuid::Uuid::new_v4().simple()
        ));
        tokio::fs::write(&tmp, bytes).await.map_err(storage)?;
        // (A backend that must survive power loss would also fsync the file
        // and the directory here; left out to keep the example short.)
        tokio::fs::rename(&tmp, self.file(record.task_list(), record.id()))
            .await
            .map_err(storage)
    }

    async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
        let path = self.file(task_list, id);
        let record = self.read(&path).await?;
        match record {
            Some(r) if (r.task_list(), r.id()) != (task_list, id) => Err(collision(&path)),
            _ => Ok(record),
        }
    }

    async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
        // Deleting what is not there is fine: the contract says so.
        match tokio::fs::remove_file(self.file(task_list, id)).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(storage(e)),
            _ => Ok(()),
        }
    }

    /// A page resumes after the hashed name of the previous page's last
    /// file: the token is that name. It stays valid however long the caller
    /// waits, and records deleted meanwhile are simply not listed.
    async fn page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        let after = match token {
            None => None,
            // A token is opaque to callers, so anything may come back:
            // refuse what this adapter did not hand out.
            Some(token) => Some(
                std::str::from_utf8(token.as_bytes())
                    .ok()
                    .filter(|name| is_hashed_name(name))
                    .ok_or_else(|| Error::InvalidPageToken {
                        reason: format!("not a {ADAPTER} token"),
                    })?,
            ),
        };
        let names = self.names(task_list).await?;
        let start = after.map_or(0, |after| {
            names.partition_point(|name| name.as_str() <= after)
        });
        let page_size = page_size.max(1); // the contract: 0 counts as 1
        let mut records = Vec::new();
        let mut last = None;
        for name in names[start..].iter().take(page_size) {
            last = Some(name);
            let path = self.list_dir(task_list).join(format!("{name}.json"));
            // Listed, then deleted before it was read: skipped.
            match self.read(&path).await? {
                Some(r) if r.task_list() != task_list => return Err(collision(&path)),
                Some(record) => records.push(record),
                None => {}
            }
        }
        let next = last
            .filter(|last| names.last() != Some(*last))
            .map(|last| PageToken::from_bytes(last.as_bytes()));
        Ok(Page { records, next })
    }

    // Everything else (`all`, `count`, `store_all`, history, ...) keeps the
    // trait's defaults, built on the four methods above.
}

/// A backend failure as taskrec's error: the adapter's name, and the cause
/// kept as the error's source.
fn storage(cause: impl Into<taskrec::BoxError>) -> Error {
    Error::storage(ADAPTER, cause)
}

/// A file holding another key than the one its name was made from: two keys
/// (or two task lists) with one SHA-256. Never expected, but never hidden:
/// `find` and `page` check the key inside every file they read.
fn collision(path: &Path) -> Error {
    storage(format!("{} holds another key", path.display()))
}

/// SHA-256 of the text, as 64 lowercase hex digits: the names of a list's
/// directory and of a record's file.
pub fn hashed(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_hashed_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
