//! The settings a person changes per list, in `{table}_lists`
//! (`schema/lists.cql`): for now, whether the list is paused
//! ([`TaskStore::pause`](crate::TaskStore::pause)).
//!
//! A worker reads a list's row at most twice per idle poll, whatever the
//! list holds: a pause adds nothing to a task's cost.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;
use scylla::value::CqlTimestamp;

use crate::error::{Error, Result};
use crate::pause::ListPause;

use super::clock::ClusterClock;
use super::{storage, ADAPTER};

pub(super) struct ListSettings {
    table: String,
    /// `None` when the table does not exist: a schema made before it.
    statements: Option<Statements>,
    clock: Arc<ClusterClock>,
}

struct Statements {
    /// Every row's list: the paused lists (resumed ones keep a row with
    /// no pause, which is skipped).
    all: PreparedStatement,
    read: PreparedStatement,
    pause: PreparedStatement,
    resume: PreparedStatement,
}

impl ListSettings {
    /// Prepares the statements. A missing table is not an error here: a
    /// deployment made before it connects as before, reads every list as
    /// not paused, and is told what to run when it tries to pause one.
    pub(super) async fn prepare(
        session: &Session,
        table: &str,
        read: Consistency,
        write: Consistency,
        clock: Arc<ClusterClock>,
    ) -> Self {
        let statements = async {
            let mut read_stmt = session
                .prepare(format!(
                    "SELECT paused_at, paused_by FROM {table} WHERE task_list = ?"
                ))
                .await?;
            read_stmt.set_consistency(read);
            let mut all = session
                .prepare(format!("SELECT task_list, paused_at FROM {table}"))
                .await?;
            all.set_consistency(read);
            let mut pause = session
                .prepare(format!(
                    "UPDATE {table} USING TIMESTAMP ? SET paused_at = ?, paused_by = ? \
                     WHERE task_list = ?"
                ))
                .await?;
            pause.set_consistency(write);
            pause.set_is_idempotent(true);
            let mut resume = session
                .prepare(format!(
                    "DELETE paused_at, paused_by FROM {table} USING TIMESTAMP ? WHERE task_list = ?"
                ))
                .await?;
            resume.set_consistency(write);
            resume.set_is_idempotent(true);
            Ok::<_, scylla::errors::PrepareError>(Statements {
                all,
                read: read_stmt,
                pause,
                resume,
            })
        }
        .await;
        let statements = match statements {
            Ok(statements) => Some(statements),
            Err(error) => {
                tracing::debug!(%error, table, "no list settings table: no list reads as paused");
                None
            }
        };
        ListSettings {
            table: table.to_owned(),
            statements,
            clock,
        }
    }

    pub(super) async fn pause_state(
        &self,
        session: &Session,
        task_list: &str,
    ) -> Result<Option<ListPause>> {
        let Some(statements) = &self.statements else {
            return Ok(None);
        };
        let row = session
            .execute_unpaged(&statements.read, (task_list,))
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?
            .maybe_first_row::<(Option<CqlTimestamp>, Option<String>)>()
            .map_err(storage)?;
        Ok(match row {
            Some((Some(at), by)) => Some(ListPause::new(
                by.unwrap_or_default(),
                DateTime::<Utc>::from_timestamp_millis(at.0).unwrap_or_default(),
            )),
            _ => None,
        })
    }

    /// Adds the paused lists to `names`.
    pub(super) async fn add_paused_lists(
        &self,
        session: &Session,
        names: &mut std::collections::BTreeSet<String>,
    ) -> Result<()> {
        let Some(statements) = &self.statements else {
            return Ok(());
        };
        let mut rows = session
            .execute_iter(statements.all.clone(), ())
            .await
            .map_err(storage)?
            .rows_stream::<(String, Option<CqlTimestamp>)>()
            .map_err(storage)?;
        while let Some((name, paused_at)) = futures::TryStreamExt::try_next(&mut rows)
            .await
            .map_err(storage)?
        {
            if paused_at.is_some() && names.len() < crate::adapter::MAX_DISCOVERED_LISTS {
                names.insert(name);
            }
        }
        Ok(())
    }

    pub(super) async fn set_pause(
        &self,
        session: &Session,
        task_list: &str,
        pause: Option<&ListPause>,
    ) -> Result<()> {
        let Some(statements) = &self.statements else {
            return Err(Error::InvalidConfig {
                adapter: ADAPTER,
                reason: format!(
                    "pausing a list needs the table `{}` (schema/lists.cql), made after this \
                     schema: connect once with `create_schema(true)`, or run \
                     `taskrec schema print` and apply it",
                    self.table
                ),
            });
        };
        // The cluster's time orders a pause and a resume from two clients.
        let at = self.clock.now().await?.timestamp_micros();
        match pause {
            Some(pause) => {
                let paused_at = CqlTimestamp(pause.since.timestamp_millis());
                session
                    .execute_unpaged(
                        &statements.pause,
                        (at, paused_at, pause.by.as_str(), task_list),
                    )
                    .await
                    .map_err(storage)?;
            }
            None => {
                session
                    .execute_unpaged(&statements.resume, (at, task_list))
                    .await
                    .map_err(storage)?;
            }
        }
        Ok(())
    }
}
