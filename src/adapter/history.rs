//! The default history store, for adapters without a place of their own:
//! one task list per task, named from a hash of the task's key, one record
//! per change.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::history::{HistoryRetention, StoredStateChange};
use crate::record::{self, TaskRecord};

use super::StorageAdapter;

/// The type name of the records the default keeps history in.
pub(crate) const HISTORY_TYPE: &str = "taskrec::StateChange";

/// The task list holding one task's history in the default layout.
fn history_list(task_list: &str, id: &str) -> String {
    let mut name = Vec::with_capacity(task_list.len() + id.len() + 1);
    name.extend_from_slice(task_list.as_bytes());
    name.push(0);
    name.extend_from_slice(id.as_bytes());
    format!(
        "taskrec-history-{}",
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, &name).simple()
    )
}

/// The record data of the default layout: `{"at": …, "state": …}`, the
/// state's JSON kept as it is.
#[derive(Serialize, Deserialize)]
struct StoredChange<'a> {
    at: DateTime<Utc>,
    #[serde(borrow)]
    state: &'a RawValue,
}

/// Appends an entry in the default layout, then drops what the retention
/// no longer keeps (a read of the task's history list, which the retention
/// keeps short).
pub(crate) async fn append_in_task_list<A: StorageAdapter + ?Sized>(
    adapter: &A,
    task_list: &str,
    id: &str,
    entry: &StoredStateChange,
    retention: &HistoryRetention,
) -> Result<()> {
    let state = RawValue::from_string(entry.state.clone())
        .map_err(|e| crate::data::encode_error(HISTORY_TYPE, &e))?;
    let data = serde_json::to_string(&StoredChange {
        at: entry.at,
        state: &state,
    })
    .map_err(|e| crate::data::encode_error(HISTORY_TYPE, &e))?;
    // Ids sort by time; the random tail keeps two changes in one
    // microsecond apart.
    let entry_id = format!(
        "{:020}-{}",
        entry.at.timestamp_micros(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let list = history_list(task_list, id);
    let record = TaskRecord::with_timestamps(
        list.as_str(),
        entry_id,
        HISTORY_TYPE,
        data,
        entry.at,
        record::truncate_millis(adapter.now().await.unwrap_or(entry.at)),
    )?;
    adapter.store(&record).await?;
    let (_, dropped) = read_task_list(adapter, &list, retention).await?;
    for id in dropped {
        adapter.delete(&list, &id).await?;
    }
    Ok(())
}

/// The kept entries of the default layout, oldest first.
pub(crate) async fn read_in_task_list<A: StorageAdapter + ?Sized>(
    adapter: &A,
    task_list: &str,
    id: &str,
    retention: &HistoryRetention,
) -> Result<Vec<StoredStateChange>> {
    let (kept, _) = read_task_list(adapter, &history_list(task_list, id), retention).await?;
    Ok(kept)
}

/// The entries of one history list, oldest first, split into those the
/// retention keeps and the ids of those it drops.
async fn read_task_list<A: StorageAdapter + ?Sized>(
    adapter: &A,
    list: &str,
    retention: &HistoryRetention,
) -> Result<(Vec<StoredStateChange>, Vec<String>)> {
    let mut records: Vec<TaskRecord> = adapter.all(list).try_collect().await?;
    records.sort_by(|a, b| a.id().cmp(b.id()));
    // What has expired is no reason to refuse a read: this process's clock
    // when the adapter cannot tell its own.
    let now = adapter.now().await.unwrap_or_else(|_| Utc::now());
    let mut kept = Vec::with_capacity(records.len());
    let mut dropped = Vec::new();
    let surplus = records.len().saturating_sub(retention.kept());
    for (n, record) in records.into_iter().enumerate() {
        let stored: StoredChange<'_> =
            serde_json::from_str(record.data()).map_err(|e| Error::InvalidData {
                type_name: HISTORY_TYPE.to_owned(),
                path: ".".to_owned(),
                message: e.to_string(),
                task: Some(record.key()),
            })?;
        if n < surplus || retention.expired(stored.at, now) {
            dropped.push(record.id().to_owned());
        } else {
            kept.push(StoredStateChange {
                at: stored.at,
                state: stored.state.get().to_owned(),
            });
        }
    }
    Ok((kept, dropped))
}
