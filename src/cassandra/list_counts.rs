//! Each list's kept counts ([`KeptCounts`](crate::KeptCounts)) in
//! `{table}_counts` (`schema/counts.cql`): one row per list, written by a
//! count and read in one request by the dashboard, `taskrec count
//! --by-status` and workers' gauges. Nothing here is on a task's path.
//!
//! The figures are written `USING TIMESTAMP` the time their count began, so
//! that of two counts the one that began last wins whichever ends last; a
//! mark of a count under way is written `USING TIMESTAMP` its own time and
//! deleted `USING TIMESTAMP` the time the next figures' count ended.

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
    /// The figures, `USING TIMESTAMP` their count's start.
    write: PreparedStatement,
    /// A count under way, `USING TIMESTAMP` its start.
    mark: PreparedStatement,
    /// No count under way, as of the end of the figures just written.
    unmark: PreparedStatement,
}

/// A row as read: the six counts, then the oldest pending task, when it
/// was counted, how long it took, by whom, and a recount under way and by
/// whom.
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
    Option<String>,
);

/// What a count writes.
const FIGURES: &str = "pending, scheduled, claimed, succeeded, failed, unknown, \
                       oldest_pending, counted_at, took_ms, counted_by";

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
                .prepare(format!(
                    "SELECT {FIGURES}, recount_since, recount_by FROM {table} WHERE task_list = ?"
                ))
                .await?;
            read_stmt.set_consistency(read);
            let writes = [
                format!(
                    "INSERT INTO {table} (task_list, {FIGURES}) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?"
                ),
                format!(
                    "UPDATE {table} USING TIMESTAMP ? SET recount_since = ?, recount_by = ? \
                     WHERE task_list = ?"
                ),
                format!(
                    "DELETE recount_since, recount_by FROM {table} USING TIMESTAMP ? \
                     WHERE task_list = ?"
                ),
            ];
            let mut prepared = Vec::with_capacity(writes.len());
            for cql in writes {
                let mut statement = session.prepare(cql).await?;
                statement.set_consistency(write);
                statement.set_is_idempotent(true);
                prepared.push(statement);
            }
            let [write_stmt, mark, unmark]: [PreparedStatement; 3] =
                prepared.try_into().expect("three statements");
            Ok::<_, scylla::errors::PrepareError>(Statements {
                read: read_stmt,
                write: write_stmt,
                mark,
                unmark,
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
        let mark = row.10.and_then(time);
        let Some(counted_at) = row.7.and_then(time) else {
            // No figures yet: a first count under way, or nothing.
            return Ok(
                mark.map(|since| KeptCounts::recount_mark(since, row.11.unwrap_or_default()))
            );
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
        if let Some(since) = mark {
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
        let micros = |at: DateTime<Utc>| at.timestamp_micros();
        if let Some(since) = kept.recount_since {
            session
                .execute_unpaged(
                    &statements.mark,
                    (
                        micros(since),
                        stamp(since),
                        kept.counted_by.as_str(),
                        task_list,
                    ),
                )
                .await
                .map_err(storage)?;
            return Ok(());
        }
        let n = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let counts = &kept.counts;
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
                    micros(kept.counted_at),
                ),
            )
            .await
            .map_err(storage)?;
        session
            .execute_unpaged(
                &statements.unmark,
                (micros(kept.counted_until()), task_list),
            )
            .await
            .map_err(storage)?;
        Ok(())
    }
}

fn stamp(at: DateTime<Utc>) -> CqlTimestamp {
    CqlTimestamp(at.timestamp_millis())
}

fn time(at: CqlTimestamp) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(at.0)
}
