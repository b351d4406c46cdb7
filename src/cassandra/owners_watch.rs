//! A process without [`owned_parts`](super::CassandraConfig::owned_parts)
//! keeps its claims off lists that owners of parts serve.
//!
//! The owner of a part claims its tasks with plain writes (`plain_claims`),
//! which a lightweight transaction from a process that does not know about
//! parts cannot see coming: last-write-wins could keep either claim, and the
//! task would run twice at once. So a process without `owned_parts` looks
//! at the list's parts before it claims (one read per list, remembered for
//! [`LOOK_EVERY`]) and refuses the claim while any part has a live owner,
//! with a warning that says why. An owner claims plainly only
//! [`HAND_WINDOW`](super::ready::HAND_WINDOW) after taking a part, longer
//! than a look is remembered, so a claim made on a look that found no
//! owner lands before an owner's first plain claim unless the claim itself
//! takes seconds.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;

use crate::error::Result;

use super::storage;

/// How long a look at a list's parts is trusted.
pub(super) const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How often the refusal is logged per list.
const WARN_EVERY: Duration = Duration::from_secs(60);
/// Lists remembered before all are forgotten (each then costs a read again).
const REMEMBERED: usize = 4_096;

#[derive(Debug, Clone, Copy)]
struct Look {
    at: Instant,
    owned: bool,
    warned_at: Option<Instant>,
}

pub(super) struct OwnersWatch {
    read: PreparedStatement,
    looks: Mutex<HashMap<String, Look>>,
}

impl OwnersWatch {
    /// `None` when the parts table does not exist (a schema from before
    /// parts): then no process can own a part of any list either.
    pub(super) async fn prepare(
        session: &Session,
        parts_table: &str,
        write: Consistency,
    ) -> Option<Self> {
        let cql = format!("SELECT owner, lease_end FROM {parts_table} WHERE task_list = ?");
        match session.prepare(cql).await {
            Ok(mut read) => {
                read.set_consistency(write);
                Some(OwnersWatch {
                    read,
                    looks: Mutex::new(HashMap::new()),
                })
            }
            Err(error) => {
                tracing::debug!(%error, "no parts table: claims do not look for owners of parts");
                None
            }
        }
    }

    /// Whether a claim in `task_list` must be refused at `now` (µs of the
    /// cluster's time): some part of it has an owner whose lease holds.
    pub(super) async fn refuses(
        &self,
        session: &Session,
        task_list: &str,
        now: i64,
    ) -> Result<bool> {
        let known = self.with(|looks| {
            looks
                .get(task_list)
                .filter(|look| look.at.elapsed() < LOOK_EVERY)
                .map(|look| look.owned)
        });
        let owned = match known {
            Some(owned) => owned,
            None => {
                let owned = self.look(session, task_list, now).await?;
                self.with(|looks| {
                    if looks.len() >= REMEMBERED {
                        looks.clear();
                    }
                    let warned_at = looks.get(task_list).and_then(|look| look.warned_at);
                    looks.insert(
                        task_list.to_owned(),
                        Look {
                            at: Instant::now(),
                            owned,
                            warned_at,
                        },
                    );
                });
                owned
            }
        };
        if owned {
            self.warn(task_list);
        }
        Ok(owned)
    }

    async fn look(&self, session: &Session, task_list: &str, now: i64) -> Result<bool> {
        let rows = session
            .execute_unpaged(&self.read, (task_list,))
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?;
        let mut owned = false;
        for row in rows
            .rows::<(Option<String>, Option<i64>)>()
            .map_err(storage)?
        {
            let (owner, lease_end) = row.map_err(storage)?;
            owned |= owner.is_some_and(|o| !o.is_empty()) && lease_end.unwrap_or(0) >= now;
        }
        Ok(owned)
    }

    fn warn(&self, task_list: &str) {
        let due = self.with(|looks| {
            let look = looks.get_mut(task_list)?;
            let due = look.warned_at.is_none_or(|at| at.elapsed() >= WARN_EVERY);
            if due {
                look.warned_at = Some(Instant::now());
            }
            Some(due)
        });
        if due == Some(true) {
            tracing::warn!(
                task_list,
                "claims refused: processes with `owned_parts` serve this list, and this one \
                 does not use it; set `CassandraConfig::owned_parts(true)` in every process \
                 that claims tasks of the list"
            );
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Look>) -> R) -> R {
        f(&mut self.looks.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
