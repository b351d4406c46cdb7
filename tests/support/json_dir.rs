//! A storage adapter written the way a user would write one, outside the
//! crate: one JSON file per task in a directory. It exists to prove that the
//! adapter trait can be implemented from outside and that the conformance
//! suite holds such an adapter to the same contract as the built-in ones.
//!
//! Layout: `<root>/<sha256 of task list>/<sha256 of id>.json`, the key itself
//! kept inside the file. Hashed names make any key text (slashes, NUL, `..`,
//! 4 KiB of it) a safe, short file name. Files are written to a temporary
//! name and renamed, so a reader never sees half a record.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use serde::{Deserialize, Serialize};
use taskrec::adapter::{Page, StorageAdapter};
use taskrec::{Error, PageToken, Result, TaskRecord};

const ADAPTER: &str = "json-dir";

#[derive(Debug, Clone)]
pub struct JsonDirAdapter {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct StoredFile {
    task_list: String,
    id: String,
    #[serde(rename = "type")]
    type_name: String,
    data: String,
    created_at_ms: i64,
    updated_at_ms: i64,
}

fn hashed(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_hashed_name(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn storage(e: impl Into<taskrec::BoxError>) -> Error {
    Error::storage(ADAPTER, e)
}

impl JsonDirAdapter {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        JsonDirAdapter { root: root.into() }
    }

    fn list_dir(&self, task_list: &str) -> PathBuf {
        self.root.join(hashed(task_list))
    }

    fn file(&self, task_list: &str, id: &str) -> PathBuf {
        self.list_dir(task_list)
            .join(format!("{}.json", hashed(id)))
    }

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
        Ok(Some(TaskRecord::from_storage(
            file.task_list,
            file.id,
            file.type_name,
            file.data,
            time(file.created_at_ms)?,
            time(file.updated_at_ms)?,
        )))
    }

    /// The sorted hashed names of a list's records.
    async fn names(&self, task_list: &str) -> Result<Vec<String>> {
        let mut entries = match tokio::fs::read_dir(self.list_dir(task_list)).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(storage(e)),
        };
        let mut names = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(storage)? {
            let name = entry.file_name();
            // Skips the temporary files of writes in progress.
            if let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) {
                names.push(stem.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }
}

#[async_trait]
impl StorageAdapter for JsonDirAdapter {
    fn name(&self) -> &'static str {
        ADAPTER
    }

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
        let tmp = dir.join(format!(
            "{}.tmp-{}",
            hashed(record.id()),
            uuid::Uuid::new_v4().simple()
        ));
        tokio::fs::write(&tmp, bytes).await.map_err(storage)?;
        tokio::fs::rename(&tmp, self.file(record.task_list(), record.id()))
            .await
            .map_err(storage)
    }

    async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
        self.read(&self.file(task_list, id)).await
    }

    async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
        match tokio::fs::remove_file(self.file(task_list, id)).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(storage(e)),
            _ => Ok(()),
        }
    }

    async fn page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        let after = match token {
            None => None,
            Some(token) => {
                let name = std::str::from_utf8(token.as_bytes())
                    .ok()
                    .filter(|name| is_hashed_name(name))
                    .ok_or_else(|| Error::InvalidPageToken {
                        reason: "not a json-dir token".to_owned(),
                    })?;
                Some(name.to_owned())
            }
        };
        let names = self.names(task_list).await?;
        let start = match &after {
            None => 0,
            Some(after) => names.partition_point(|name| name <= after),
        };
        let page_size = page_size.max(1);
        let mut records = Vec::new();
        let mut last = None;
        for name in &names[start..] {
            if records.len() == page_size {
                break;
            }
            last = Some(name);
            // A record deleted since the directory was read is simply skipped.
            let path = self.list_dir(task_list).join(format!("{name}.json"));
            if let Some(record) = self.read(&path).await? {
                records.push(record);
            }
        }
        let more = last.is_some_and(|last| names.last() != Some(last));
        let next = if more {
            last.map(|name| PageToken::from_bytes(name.as_bytes()))
        } else {
            None
        };
        Ok(Page { records, next })
    }
}
