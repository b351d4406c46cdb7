//! Each list's kept counts ([`KeptCounts`](crate::KeptCounts)) in
//! `{table}_counts` (`schema/counts.cql`): one row per list, written whole
//! by a count and read in one request by the dashboard, `taskrec count
//! --by-state` and workers' gauges. Nothing here is on a task's path.

use std::time::Duration;

use chrono::{DateTime, Utc};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;
use scylla::value::CqlTimestamp;

use crate::error::{Error, Result};
use crate::kept_counts::KeptCounts;
use crate::state::StatusCounts;

use super::{storage, ADAPTER};

pub(super) struct ListCounts {
    /// `None` when the table does not exist: a schema made before it.
    statements: Option<Statements>,
}

struct Statements {
    read: PreparedStatement,
    write: PreparedStatement,
}

/// A row as read: the six counts, then the oldest pending task, when it
/// was counted, how long it took, by whom, and a recount under way.
type Row = (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
    Option<i64>,
    Option<String>,
    Option<CqlTimestamp>,
);

const COLUMNS: &str = "pending, scheduled, claimed, succeeded, failed, unknown, \
                       oldest_pending, counted_at, took_ms, counted_by, recount_since";

impl ListCounts {
    /// Prepares the statements. A missing table is not an error here: a
    /// deployment made before it connects as before and keeps no counts
    /// (readers count instead).
    pub(super) async fn prepare(
        session: &Session,
        table: &str,
        read: Consistency,
        write: Consistency,
    ) -> Self {
        let statements = async {
            let mut read_stmt = session
                .prepare(format!("SELECT {COLUMNS} FROM {table} WHERE task_list = ?"))
                .await?;
            read_stmt.set_consistency(read);
            let mut write_stmt = session
                .prepare(format!(
                    "INSERT INTO {table} (task_list, {COLUMNS}) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ))
                .await?;
            write_stmt.set_consistency(write);
            write_stmt.set_is_idempotent(true);
            Ok::<_, scylla::errors::PrepareError>(Statements {
                read: read_stmt,
                write: write_stmt,
            })
        }
        .await;
        let statements = match statements {
            Ok(statements) => Some(statements),
            Err(error) => {
                tracing::debug!(%error, table, "no kept counts table: counts are not kept");
                None
            }
        };
        ListCounts { statements }
    }

    pub(super) async fn read(
        &self,
        session: &Session,
        task_list: &str,
    ) -> Result<Option<KeptCounts>> {
        let Some(statements) = &self.statements else {
            return Ok(None);
        };
        let row = session
            .execute_unpaged(&statements.read, (task_list,))
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?
            .maybe_first_row::<Row>()
            .map_err(storage)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (pending, scheduled, claimed, succeeded, failed, unknown) =
            (row.0, row.1, row.2, row.3, row.4, row.5);
        let Some(counted_at) = row.7.and_then(time) else {
            // A row without its time was not written by a count.
            return Ok(None);
        };
        let count = |n: Option<i64>| n.map_or(0, |n| u64::try_from(n).unwrap_or(0));
        let counts = StatusCounts {
            pending: count(pending),
            scheduled: count(scheduled),
            claimed: count(claimed),
            succeeded: count(succeeded),
            failed: count(failed),
            unknown: count(unknown),
        };
        let took = Duration::from_millis(row.8.map_or(0, |ms| u64::try_from(ms).unwrap_or(0)));
        let mut kept = KeptCounts::new(
            counts,
            row.6.and_then(time),
            counted_at,
            took,
            row.9.unwrap_or_default(),
        );
        if let Some(since) = row.10.and_then(time) {
            kept = kept.recounting_since(since);
        }
        Ok(Some(kept))
    }

    pub(super) async fn write(
        &self,
        session: &Session,
        task_list: &str,
        kept: &KeptCounts,
    ) -> Result<()> {
        let Some(statements) = &self.statements else {
            return Err(Error::Unsupported {
                adapter: ADAPTER,
                operation: "keeping a list's counts on a schema made before its counts table \
                            (schema/counts.cql: connect once with `create_schema(true)`)",
            });
        };
        let n = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let counts = &kept.counts;
        let stamp = |at: DateTime<Utc>| CqlTimestamp(at.timestamp_millis());
        let took_ms = i64::try_from(kept.took.as_millis()).unwrap_or(i64::MAX);
        session
            .execute_unpaged(
                &statements.write,
                (
                    task_list,
                    n(counts.pending),
                    n(counts.scheduled),
                    n(counts.claimed),
                    n(counts.succeeded),
                    n(counts.failed),
                    n(counts.unknown),
                    kept.oldest_pending.map(stamp),
                    stamp(kept.counted_at),
                    took_ms,
                    kept.counted_by.as_str(),
                    kept.recount_since.map(stamp),
                ),
            )
            .await
            .map_err(storage)?;
        Ok(())
    }
}

fn time(at: CqlTimestamp) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(at.0)
}
