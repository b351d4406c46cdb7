//! task_rb's table, read and written as that gem does:
//! `PRIMARY KEY ((task_list), id, type)`, a list in one partition, no task
//! state. A save is a plain `INSERT ... USING TIMESTAMP`; an id saved under
//! two types keeps both rows, and every read takes the newest
//! ([`CassandraAdapter::rows_of`](super::CassandraAdapter::rows_of) reads them
//! all, in task_rb's order).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::response::{PagingState, PagingStateResponse};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;

use crate::adapter::{Capabilities, Page, PageToken};
use crate::error::{Error, Result};
use crate::record::TaskRecord;

use super::bulk::{self, Write};
use super::config::CassandraConfig;
use super::rows::{task_rb_record, TaskRbColumns};
use super::shard::Position;
use super::table::Table;
use super::{prepare_with, storage, ttl_seconds};

/// A listed row: id, type, data, the write time of data (µs).
type TaskRbListRow = (String, String, Option<String>, Option<i64>);

pub(super) struct TaskRbTable {
    session: Arc<Session>,
    write_consistency: Consistency,
    /// Bulk requests in flight ([`bulk::BULK_REQUESTS_IN_FLIGHT`]).
    bulk_limit: tokio::sync::Semaphore,
    /// A plain insert `USING TIMESTAMP ? AND TTL ?`, as task_rb writes.
    insert: PreparedStatement,
    find: PreparedStatement,
    /// Every row of an id, `USING TIMESTAMP ?`.
    delete: PreparedStatement,
    list: PreparedStatement,
    /// The list's ids (an id may have a row per type).
    count: PreparedStatement,
    /// `SELECT DISTINCT task_list`: the table's partitions, its lists.
    distinct_lists: PreparedStatement,
    /// The cluster's time: write timestamps order an id's rows, so they
    /// are never this process's clock.
    clock: Arc<super::clock::ClusterClock>,
}

impl TaskRbTable {
    pub(super) async fn prepare(
        session: Arc<Session>,
        config: &CassandraConfig,
        clock: Arc<super::clock::ClusterClock>,
    ) -> Result<Self> {
        let table = format!("{}.{}", config.keyspace, config.table);
        let (read, write) = (config.read_consistency, config.write_consistency);
        let prepare = |cql: String, consistency| {
            prepare_with(
                &session,
                cql,
                consistency,
                "does the table exist and have task_rb's layout?",
            )
        };
        let mut list = prepare(
            format!("SELECT id, type, data, WRITETIME(data) FROM {table} WHERE task_list = ?"),
            read,
        )
        .await?;
        list.set_page_size(i32::try_from(config.page_size).unwrap_or(i32::MAX));
        Ok(TaskRbTable {
            write_consistency: write,
            bulk_limit: bulk::limit(),
            // A plain insert, as task_rb writes: a save under a new type
            // leaves the id's older row, which reads skip (newest wins).
            // Clearing it with a delete per save would write a range
            // tombstone on every save, which listings then scan.
            insert: prepare(
                format!(
                    "INSERT INTO {table} (task_list, id, type, data) VALUES (?, ?, ?, ?) \
                     USING TIMESTAMP ? AND TTL ?"
                ),
                write,
            )
            .await?,
            find: prepare(
                format!("SELECT type, data, WRITETIME(data) FROM {table} WHERE task_list = ? AND id = ?"),
                read,
            )
            .await?,
            delete: prepare(
                format!("DELETE FROM {table} USING TIMESTAMP ? WHERE task_list = ? AND id = ?"),
                write,
            )
            .await?,
            list,
            count: prepare(format!("SELECT id FROM {table} WHERE task_list = ?"), read).await?,
            distinct_lists: prepare(format!("SELECT DISTINCT task_list FROM {table}"), read).await?,
            session,
            clock,
        })
    }

    /// An id's rows in clustering order, that is by type name (task_rb
    /// itself may have left one row per type under an id).
    async fn id_rows(&self, task_list: &str, id: &str) -> Result<Vec<TaskRbColumns>> {
        let rows = self
            .session
            .execute_unpaged(&self.find, (task_list, id))
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?;
        rows.rows::<TaskRbColumns>()
            .map_err(storage)?
            .map(|row| row.map_err(storage))
            .collect()
    }

    /// The newest of an id's rows: the newest write is the task.
    async fn newest_row(&self, task_list: &str, id: &str) -> Result<Option<TaskRbColumns>> {
        let mut newest: Option<TaskRbColumns> = None;
        for row in self.id_rows(task_list, id).await? {
            if newest.as_ref().is_none_or(|n| row.2 > n.2) {
                newest = Some(row);
            }
        }
        Ok(newest)
    }

    /// The list's distinct ids, read as a stream of ids
    /// (an id saved under two types has two rows, and counts once, as it
    /// lists once).
    async fn count_ids(&self, task_list: &str) -> Result<u64> {
        let ids = self
            .session
            .execute_iter(self.count.clone(), (task_list,))
            .await
            .map_err(storage)?
            .rows_stream::<(String,)>()
            .map_err(storage)?;
        let (count, _) = ids
            .map_err(storage)
            .try_fold((0u64, None::<String>), |(count, last), (id,)| async move {
                Ok(if last.as_deref() == Some(id.as_str()) {
                    (count, last)
                } else {
                    (count + 1, Some(id))
                })
            })
            .await?;
        Ok(count)
    }

    async fn page_of(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        let mut at = match token {
            None => Position::start(),
            Some(token) => Position::decode(token, 1)?,
        };
        let mut statement = self.list.clone();
        statement.set_page_size(i32::try_from(page_size.max(1)).unwrap_or(i32::MAX));
        // Pages emptied by tombstones are skipped here,
        // so a caller sees an empty page only at the very end.
        loop {
            let paging = if at.paging_state.is_empty() {
                PagingState::start()
            } else {
                PagingState::new_from_raw_bytes(at.paging_state.as_slice())
            };
            let (result, more) = self
                .session
                .execute_single_page(&statement, (task_list,), paging)
                .await
                .map_err(storage)?;
            let rows = result.into_rows_result().map_err(storage)?;
            let records = {
                let rows = rows
                    .rows::<TaskRbListRow>()
                    .map_err(storage)?
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(storage)?;
                // The rows of an id that the previous page ended on were
                // listed there; the next page skips this one's last id.
                let continued = at.after_id.take();
                if let Some(last) = rows.last() {
                    at.after_id = Some(last.0.clone());
                } else {
                    at.after_id = continued.clone();
                }
                let mut rows: Vec<TaskRbListRow> = newest_per_id(
                    rows.into_iter()
                        .filter(|row| continued.as_deref() != Some(row.0.as_str())),
                )
                .collect();
                // The page's last id may have more rows on the next page,
                // which will skip them: read all of its rows now, so the
                // newest is the one listed.
                if let (Some(last), PagingStateResponse::HasMorePages { .. }) =
                    (rows.last_mut(), &more)
                    && let Some(newest) = self.newest_row(task_list, &last.0).await?
                {
                    (last.1, last.2, last.3) = newest;
                }
                rows.into_iter()
                    .map(|(id, t, d, w)| task_rb_record(task_list, id, (t, d, w)))
                    .collect::<Vec<_>>()
            };
            let next = match more {
                PagingStateResponse::HasMorePages { state } => Some(Position {
                    bucket: at.bucket,
                    paging_state: state
                        .as_bytes_slice()
                        .map(|b| b.to_vec())
                        .unwrap_or_default(),
                    after_id: at.after_id.clone(),
                }),
                PagingStateResponse::NoMorePages => None,
            };
            match next {
                Some(next) if records.is_empty() => at = next,
                next => {
                    return Ok(Page {
                        records,
                        next: next.map(|p| p.encode()),
                    })
                }
            }
        }
    }

    /// A list's records as a stream, through the driver's
    /// pager, one record per id (the newest row).
    fn stream<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Result<TaskRecord>> {
        stream::once(async move {
            let rows = self
                .session
                .execute_iter(self.list.clone(), (task_list,))
                .await
                .map_err(storage)?
                .rows_stream::<TaskRbListRow>()
                .map_err(storage)?
                .map_err(storage)
                .boxed();
            Ok::<_, Error>(newest_per_id_stream(rows).and_then(move |(id, t, d, w)| {
                futures::future::ready(Ok(task_rb_record(task_list, id, (t, d, w))))
            }))
        })
        .try_flatten()
        .boxed()
    }
}

#[async_trait]
impl Table for TaskRbTable {
    async fn task_lists(&self, session: &Session) -> Result<Option<Vec<String>>> {
        let mut names = std::collections::BTreeSet::new();
        super::discovery::read_names(session, &self.distinct_lists, &mut names).await?;
        Ok(Some(names.into_iter().collect()))
    }

    /// Time-to-live; no timestamps (both read as the data cell's write
    /// time) and no task state.
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_time_to_live(true)
            .with_keeps_timestamps(false)
            .with_conditional_writes(false)
    }

    fn shards(&self) -> u32 {
        1
    }

    async fn write(&self, record: &TaskRecord, ttl: Option<Duration>) -> Result<()> {
        let now = self.clock.now().await?;
        let values = (
            record.task_list(),
            record.id(),
            record.type_name(),
            record.data(),
            next_write_timestamp(now),
            ttl_seconds(ttl)?,
        );
        self.session
            .execute_unpaged(&self.insert, values)
            .await
            .map_err(storage)?;
        Ok(())
    }

    /// A list is one partition of task_rb's table: its inserts go in
    /// batches of about [`bulk::MAX_BYTES`] each.
    async fn write_all(&self, records: &[TaskRecord]) -> Result<()> {
        let ttl = ttl_seconds(None)?;
        let now = self.clock.now().await?;
        let writes = bulk::last_of_each_key(records)
            .into_iter()
            .map(|record| {
                let (list, id) = (record.task_list(), record.id());
                let (type_name, data) = (record.type_name(), record.data());
                let values = (list, id, type_name, data, next_write_timestamp(now), ttl);
                // As Cassandra weighs a batch: clustering keys, one cell and
                // about 16 bytes of timestamp and expiry for it and the row.
                let bytes = id.len() + 2 * type_name.len() + data.len() + 48;
                Write::new(&self.insert, Box::new(values), bytes)
            })
            .collect::<Result<Vec<_>>>()?;
        bulk::send(
            &self.session,
            self.write_consistency,
            &self.bulk_limit,
            writes,
        )
        .await
    }

    async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
        Ok(self
            .newest_row(task_list, id)
            .await?
            .map(|row| task_rb_record(task_list, id.to_owned(), row)))
    }

    async fn rows_of(&self, task_list: &str, id: &str) -> Result<Vec<TaskRecord>> {
        Ok(self
            .id_rows(task_list, id)
            .await?
            .into_iter()
            .map(|row| task_rb_record(task_list, id.to_owned(), row))
            .collect())
    }

    async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
        // A delete timestamped behind a row's write would leave the row:
        // the cluster's time, or the last measurement carried forward when
        // it cannot be told (a refused completion would run the task again).
        let values = (
            next_write_timestamp(self.clock.now_or_last().await?),
            task_list,
            id,
        );
        self.session
            .execute_unpaged(&self.delete, values)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        self.page_of(task_list, token, page_size).await
    }

    fn all<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Result<TaskRecord>> {
        self.stream(task_list)
    }

    async fn count(&self, task_list: &str) -> Result<u64> {
        self.count_ids(task_list).await
    }
}

/// Microsecond write timestamps from the cluster's time `now` that never
/// repeat or go back within this process, for task_rb's table: its reads
/// take the newest row of an id by write time, so two saves from one
/// process must never tie or reorder.
fn next_write_timestamp(now: chrono::DateTime<chrono::Utc>) -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = now.timestamp_micros();
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 2);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// task_rb's rows with one row per id: the newest write of each run of
/// rows with the same id (they are adjacent, the table clusters by id).
/// Of two rows written at the same microsecond the first is kept, as `find`
/// keeps it.
fn newest_per_id(rows: impl Iterator<Item = TaskRbListRow>) -> impl Iterator<Item = TaskRbListRow> {
    let mut rows = rows.peekable();
    std::iter::from_fn(move || {
        let mut newest = rows.next()?;
        while let Some(row) = rows.next_if(|row| row.0 == newest.0) {
            if row.3 > newest.3 {
                newest = row;
            }
        }
        Some(newest)
    })
}

/// [`newest_per_id`] over a stream of rows.
fn newest_per_id_stream(
    rows: BoxStream<'_, Result<TaskRbListRow>>,
) -> BoxStream<'_, Result<TaskRbListRow>> {
    stream::unfold(Some((rows, None::<TaskRbListRow>)), |state| async move {
        let (mut rows, mut pending) = state?;
        loop {
            match rows.next().await {
                Some(Ok(row)) => match pending.take() {
                    Some(newest) if newest.0 == row.0 => {
                        pending = Some(if row.3 > newest.3 { row } else { newest });
                    }
                    Some(done) => return Some((Ok(done), Some((rows, Some(row))))),
                    None => pending = Some(row),
                },
                Some(Err(e)) => return Some((Err(e), Some((rows, pending)))),
                None => return pending.map(|done| (Ok(done), None)),
            }
        }
    })
    .boxed()
}
