//! Task histories in a table of their own (`schema/history.cql`): one
//! partition per task, newest first, every entry with the retention's TTL.
//!
//! Why this shape: a history read is `LIMIT keep_last` from the newest end
//! of one task's partition, so it reads at most what it returns, whatever
//! the task's list has done; entries past `keep_last` are never read, and
//! the TTL drops them. Nothing is ever deleted by hand, so there are no
//! tombstones but expired entries, at the old end where reads stop before.
//!
//! The statements are prepared on first use, not at connect: a store that
//! keeps no history needs no history table.

use chrono::{DateTime, TimeZone, Utc};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;
use tokio::sync::OnceCell;

use crate::error::Result;
use crate::history::{HistoryRetention, StoredStateChange};

use super::{storage, ttl_seconds};

pub(super) struct HistoryTable {
    /// `keyspace.table`.
    name: String,
    read: Consistency,
    write: Consistency,
    statements: OnceCell<Statements>,
    /// The cluster's time, for what has expired.
    clock: std::sync::Arc<super::clock::ClusterClock>,
}

struct Statements {
    insert: PreparedStatement,
    /// The newest entries first, `LIMIT ?`.
    newest: PreparedStatement,
}

impl HistoryTable {
    pub(super) fn new(
        name: String,
        read: Consistency,
        write: Consistency,
        clock: std::sync::Arc<super::clock::ClusterClock>,
    ) -> Self {
        HistoryTable {
            name,
            read,
            write,
            statements: OnceCell::new(),
            clock,
        }
    }

    async fn statements(&self, session: &Session) -> Result<&Statements> {
        self.statements
            .get_or_try_init(|| async {
                let prepare = |cql: String, consistency| {
                    let check = "does the history table exist? create it with \
                                 `create_schema(true)` or schema/history.cql";
                    super::prepare_with(session, cql, consistency, check)
                };
                let table = &self.name;
                Ok(Statements {
                    insert: prepare(
                        format!(
                            "INSERT INTO {table} (task_list, id, at, entry, state) \
                             VALUES (?, ?, ?, ?, ?) USING TTL ?"
                        ),
                        self.write,
                    )
                    .await?,
                    newest: prepare(
                        format!(
                            "SELECT at, state FROM {table} WHERE task_list = ? AND id = ? LIMIT ?"
                        ),
                        self.read,
                    )
                    .await?,
                })
            })
            .await
    }

    pub(super) async fn append(
        &self,
        session: &Session,
        task_list: &str,
        id: &str,
        entry: &StoredStateChange,
        retention: &HistoryRetention,
    ) -> Result<()> {
        let statements = self.statements(session).await?;
        let values = (
            task_list,
            id,
            entry.at.timestamp_micros(),
            uuid::Uuid::new_v4(),
            entry.state.as_str(),
            ttl_seconds(retention.time_to_live())?,
        );
        session
            .execute_unpaged(&statements.insert, values)
            .await
            .map_err(storage)?;
        Ok(())
    }

    pub(super) async fn read(
        &self,
        session: &Session,
        task_list: &str,
        id: &str,
        retention: &HistoryRetention,
    ) -> Result<Vec<StoredStateChange>> {
        let statements = self.statements(session).await?;
        let limit = i32::try_from(retention.kept()).unwrap_or(i32::MAX);
        let result = session
            .execute_unpaged(&statements.newest, (task_list, id, limit))
            .await
            .map_err(storage)?;
        let rows = result.into_rows_result().map_err(storage)?;
        let mut entries = rows
            .rows::<(i64, Option<String>)>()
            .map_err(storage)?
            .map(|row| {
                let (at, state) = row.map_err(storage)?;
                Ok(StoredStateChange {
                    at: micros(at),
                    // A null state (another writer's row) reads as JSON
                    // null, which decoding the change then names.
                    state: state.unwrap_or_else(|| "null".to_owned()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // Written under a longer retention, an entry may outlive this one's.
        let now = self.clock.estimate();
        entries.retain(|entry| !retention.expired(entry.at, now));
        entries.reverse();
        Ok(entries)
    }
}

/// Microseconds since the epoch, clamped to what chrono holds (only another
/// writer can leave a value beyond it).
fn micros(at: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(at).single().unwrap_or(if at < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}
