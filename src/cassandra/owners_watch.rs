//! A process without [`owned_parts`](super::CassandraConfig::owned_parts)
//! keeps its claims off lists that owners of parts serve.
//!
//! The owner of a part claims its tasks with plain writes (`plain_claims`),
//! which a lightweight transaction from a process that does not know about
//! parts cannot see coming: last-write-wins could keep either claim, and the
//! task would run twice at once. So a process without `owned_parts` looks
//! at the list's parts before it claims (one read per list, remembered for
//! [`LOOK_EVERY`]) and refuses the claim while any part has a live owner,
//! with a warning that says why. Before each look it leaves the list's mark
//! (`ready::hand_marks`): an owner that takes a part after the look sees
//! the mark and claims plainly only [`HAND_WINDOW`](super::ready::HAND_WINDOW)
//! later, and a claim made on the look is trusted only if it returns within
//! `HAND_WINDOW - FENCE_MARGIN` of the mark.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;

use crate::error::Result;

use super::ready::HandMarks;
use super::storage;

/// How long a look at a list's parts is trusted.
pub(super) const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How often the refusal is logged per list.
const WARN_EVERY: Duration = Duration::from_secs(60);
/// Lists remembered before all are forgotten (each then costs a read again).
const REMEMBERED: usize = 4_096;

/// What a look at a list's parts found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Look {
    /// A part has a live owner: no claim.
    Owned,
    /// No part has: a claim, trusted if it lands in time after the list's
    /// mark, written at `marked_at` (µs of the cluster's time).
    Free { marked_at: i64 },
}

#[derive(Debug, Clone, Copy)]
struct Remembered {
    at: Instant,
    look: Look,
    warned_at: Option<Instant>,
}

pub(super) struct OwnersWatch {
    read: PreparedStatement,
    marks: HandMarks,
    looks: Mutex<HashMap<String, Remembered>>,
}

impl OwnersWatch {
    /// `None` when the parts table does not exist (a schema from before
    /// parts): then no process can own a part of any list either. With it,
    /// the marks' statements must prepare: an owner that finds no mark
    /// claims plainly at once, so a claim without one is not safe.
    pub(super) async fn prepare(
        session: &Session,
        parts_table: &str,
        sweepers_table: &str,
        write: Consistency,
    ) -> Result<Option<Self>> {
        let cql = format!("SELECT owner, lease_end FROM {parts_table} WHERE task_list = ?");
        match session.prepare(cql).await {
            Ok(mut read) => {
                read.set_consistency(write);
                Ok(Some(OwnersWatch {
                    read,
                    marks: HandMarks::prepare(session, sweepers_table, write).await?,
                    looks: Mutex::new(HashMap::new()),
                }))
            }
            Err(error) => {
                tracing::debug!(%error, "no parts table: claims do not look for owners of parts");
                Ok(None)
            }
        }
    }

    /// Whether a claim in `task_list` may be made now (`now`: the
    /// cluster's time, µs): not while some part of the list has an owner
    /// whose lease holds.
    pub(super) async fn look(
        &self,
        session: &Session,
        task_list: &str,
        now: impl Fn() -> i64,
    ) -> Result<Look> {
        let known = self.with(|looks| {
            looks
                .get(task_list)
                .filter(|seen| seen.at.elapsed() < LOOK_EVERY)
                .map(|seen| seen.look)
        });
        let look = match known {
            Some(look) => look,
            None => {
                let at = Instant::now();
                // The mark first, then the look that decides
                // (`ready::hand_marks`); a first look before the mark spares
                // it while the list is owned, which a process refused over
                // and over would otherwise write every second, putting
                // every owner's next take of a part in its hand window.
                let look = if !self.marks.marked_lately(task_list)
                    && self.owned(session, task_list, now()).await?
                {
                    Look::Owned
                } else {
                    // Its time taken after the first look: the claim's 2 s
                    // to land count from the mark, not from before that read.
                    let marked_at = self.marks.mark(session, task_list, now()).await?;
                    match self.owned(session, task_list, now()).await? {
                        true => Look::Owned,
                        false => Look::Free { marked_at },
                    }
                };
                self.with(|looks| {
                    if looks.len() >= REMEMBERED {
                        looks.clear();
                    }
                    let warned_at = looks.get(task_list).and_then(|seen| seen.warned_at);
                    looks.insert(
                        task_list.to_owned(),
                        Remembered {
                            at,
                            look,
                            warned_at,
                        },
                    );
                });
                look
            }
        };
        if look == Look::Owned {
            self.warn(task_list);
        }
        Ok(look)
    }

    async fn owned(&self, session: &Session, task_list: &str, now: i64) -> Result<bool> {
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

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Remembered>) -> R) -> R {
        f(&mut self.looks.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
