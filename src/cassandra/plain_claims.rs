//! Claims written plainly by the owner of a task's part of its list
//! ([`CassandraConfig::owned_parts`](super::CassandraConfig::owned_parts)):
//! no Paxos round per task.
//!
//! Without parts, a claim is a lightweight transaction (`IF state_token =
//! ?`): four round trips to a quorum, since any process may claim any task
//! at any moment. With parts, one process owns each part of a list under a
//! lease ([`ready::parts`](super::ready)), and the owner is the only writer
//! of claims in it. It writes a claim as a plain update stamped with a
//! timestamp it chooses, reads the row back, and trusts the claim when:
//!
//! - the row still has the task (a completion or delete did not pass it),
//!   its token is the claim's, and its data is the version the claim was
//!   made from (a save that landed between the state read and the claim
//!   would otherwise be run as the old version and deleted with it);
//! - the read-back returned before the part's lease ends, less
//!   [`FENCE_MARGIN`]. A successor takes the part only after the lease
//!   ends, by the cluster's time, and stamps its claims after that: a claim
//!   seen to land before then is seen by the successor's state read, and a
//!   stale owner's claim that lands later loses to the successor's under
//!   last-write-wins, and is not trusted by the stale owner either.
//!
//! A task that was claimed before (its lease ran out) is claimed with a
//! lightweight transaction all the same: its last holder may be renewing,
//! and a renewal is one. So is every claim in the [`HAND_WINDOW`] after a
//! part is taken, when a claim by hand that found the part free may still
//! land, and every claim from a state read made in that window, however
//! late the claim comes: the read may have missed such a claim by hand,
//! which the plain write would then overwrite unseen. So is every claim of
//! a task in a part this process does not own (a claim by hand): refused
//! while another process holds the part, a lightweight transaction
//! otherwise.
//!
//! The claim's timestamp is the cluster's time less the clock's
//! uncertainty: not ahead of the true time, so that a later lightweight
//! transaction on the task (a retry, a failure, a renewal, stamped by its
//! coordinator) lands after it. Knowing it, the completion deletes the row
//! and its listing entry `USING TIMESTAMP` it without reading first: what
//! the claim wrote and the version it claimed go, and a version saved
//! during the run (stamped later) stays.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;

use crate::error::Result;
use crate::state::StateToken;

use super::ready::{FENCE_MARGIN, HAND_WINDOW};
use super::{first_row, prepare_with, storage};

/// Loads and claims remembered of each kind before all are forgotten: a
/// claim forgotten is completed with a read first, a load forgotten is
/// claimed with a lightweight transaction.
const REMEMBERED: usize = 65_536;

/// What a state read saw of a task, for the claim that may follow it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Loaded {
    pub(super) token: uuid::Uuid,
    data_written: Option<i64>,
    was_claimed: bool,
    /// When the version read was last written, any of its cells (µs): what
    /// a completion that writes nothing before it deletes by
    /// (`held_claims`).
    pub(super) version_written: Option<i64>,
    /// The minute of the task's listing entry, as read.
    pub(super) slice: Option<i64>,
    /// Handed out by this process's sweep or walk (`next_ready`), not read
    /// for a claim by hand: a claim from it may be held (`held_claims`).
    pub(super) handed: bool,
    /// When the state read started (µs of the cluster's time). A claim by
    /// hand may land in a part until its owner's [`HAND_WINDOW`] ends; a
    /// read from before then may have missed it, and a plain claim from
    /// that read would overwrite it unseen (the read-back finds the plain
    /// claim's token): both would run the task.
    pub(super) read_at: i64,
}

/// What a state read saw of a task's row ([`PlainClaims::loaded`]).
pub(super) struct Seen {
    pub(super) token: uuid::Uuid,
    pub(super) data_written: Option<i64>,
    pub(super) token_written: Option<i64>,
    pub(super) slice: Option<i64>,
    pub(super) was_claimed: bool,
    /// When the read started (µs of the cluster's time).
    pub(super) read_at: i64,
}

/// A claim this process wrote plainly: what its completion deletes by.
#[derive(Debug, Clone, Copy)]
pub(super) struct Made {
    pub(super) token: uuid::Uuid,
    /// Its timestamp (µs).
    pub(super) written_at: i64,
    /// The minute of the task's listing entry, as read back.
    pub(super) slice: Option<i64>,
}

/// What a plain claim came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Outcome {
    /// The claim is the row's state now (it needs its lease-end hint).
    pub(super) landed: bool,
    /// The caller may run the task.
    pub(super) trusted: bool,
}

pub(super) struct PlainClaims {
    write: PreparedStatement,
    read_back: PreparedStatement,
    clear: PreparedStatement,
    loaded: Remembered<(String, String), Loaded>,
    made: Remembered<(String, String), Made>,
    /// Tasks this process is claiming plainly right now: a second claim of
    /// one of them in this process (by hand, beside its worker) waits for
    /// nothing and is refused.
    in_flight: Mutex<HashSet<(String, String)>>,
}

impl PlainClaims {
    pub(super) async fn prepare(
        session: &Session,
        table: &str,
        write: Consistency,
    ) -> Result<Self> {
        let prepare = |cql: String| {
            prepare_with(
                session,
                cql,
                write,
                "does the table exist and have taskrec's layout?",
            )
        };
        Ok(PlainClaims {
            write: prepare(format!(
                "UPDATE {table} USING TIMESTAMP ? SET state = ?, state_token = ? \
                 WHERE task_list = ? AND id = ?"
            ))
            .await?,
            // At the write consistency, as the claim: a quorum that overlaps
            // the claim's and any other write acknowledged before it.
            read_back: prepare(format!(
                "SELECT type, state_token, WRITETIME(data), slice FROM {table} \
                 WHERE task_list = ? AND id = ?"
            ))
            .await?,
            clear: prepare(format!(
                "DELETE state, state_token FROM {table} USING TIMESTAMP ? \
                 WHERE task_list = ? AND id = ?"
            ))
            .await?,
            loaded: Remembered::default(),
            made: Remembered::default(),
            in_flight: Mutex::new(HashSet::new()),
        })
    }

    /// A state read of (list, id) saw `seen`.
    pub(super) fn loaded(&self, task_list: &str, id: &str, seen: Seen) {
        let loaded = Loaded {
            token: seen.token,
            data_written: seen.data_written,
            was_claimed: seen.was_claimed,
            version_written: seen.data_written.max(seen.token_written),
            slice: seen.slice,
            handed: false,
            read_at: seen.read_at,
        };
        self.loaded
            .insert((task_list.to_owned(), id.to_owned()), loaded);
    }

    /// The task (list, id), read with `token`, was handed out by this
    /// process's `next_ready`.
    pub(super) fn handed(&self, task_list: &str, id: &str, token: uuid::Uuid) {
        let key = (task_list.to_owned(), id.to_owned());
        if let Some(mut loaded) = self.loaded.get(&key).filter(|l| l.token == token) {
            loaded.handed = true;
            self.loaded.insert(key, loaded);
        }
    }

    /// What the last state read of (list, id) saw, if it saw `expected`,
    /// the task was not claimed then, and the read started at `read_from`
    /// (µs) or later: a claim from it may be plain.
    pub(super) fn claimable_plainly(
        &self,
        task_list: &str,
        id: &str,
        expected: &StateToken,
        read_from: i64,
    ) -> Option<Loaded> {
        self.loaded
            .get(&(task_list.to_owned(), id.to_owned()))
            .filter(|l| l.token == expected.as_uuid() && !l.was_claimed && l.read_at >= read_from)
    }

    /// The plain claim of (list, id) this process made and still holds, if
    /// any, forgotten: every state change of the task ends what it knew.
    pub(super) fn forget(&self, task_list: &str, id: &str) -> Option<Made> {
        self.made.remove(&(task_list.to_owned(), id.to_owned()))
    }

    /// Writes the claim (`state` with token `token`) stamped `written_at`,
    /// reads it back and says whether it may be trusted until
    /// `valid_until` (µs), by `now` (the cluster's time, read after the
    /// read-back).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn claim(
        &self,
        session: &Session,
        task_list: &str,
        id: &str,
        from: Loaded,
        state: &str,
        token: uuid::Uuid,
        written_at: i64,
        valid_until: impl Fn() -> Option<i64>,
        now: impl Fn() -> i64,
    ) -> Result<Outcome> {
        let key = (task_list.to_owned(), id.to_owned());
        if !self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone())
        {
            return Ok(Outcome {
                landed: false,
                trusted: false,
            });
        }
        let outcome = self
            .write_and_read_back(session, &key, from, state, token, written_at)
            .await;
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key);
        let slice = match outcome? {
            ReadBack::Ours { slice } => slice,
            ReadBack::OursOverAnotherVersion => {
                return Ok(Outcome {
                    landed: true,
                    trusted: false,
                })
            }
            ReadBack::NotOurs => {
                return Ok(Outcome {
                    landed: false,
                    trusted: false,
                })
            }
        };
        // Seen to land before the lease's end, less the margin, by this
        // process's clock: before the end by any other's.
        let trusted = valid_until().is_some_and(|until| now() < until);
        if trusted {
            let made = Made {
                token,
                written_at,
                slice,
            };
            self.made.insert(key, made);
        } else {
            tracing::debug!(
                task_list,
                id,
                "a plain claim landed too late in its part's lease to be trusted; \
                 the task opens again when the claim's lease ends"
            );
        }
        Ok(Outcome {
            landed: true,
            trusted,
        })
    }

    /// The claim written and read back.
    async fn write_and_read_back(
        &self,
        session: &Session,
        (task_list, id): &(String, String),
        from: Loaded,
        state: &str,
        token: uuid::Uuid,
        written_at: i64,
    ) -> Result<ReadBack> {
        let (task_list, id) = (task_list.as_str(), id.as_str());
        session
            .execute_unpaged(&self.write, (written_at, state, token, task_list, id))
            .await
            .map_err(storage)?;
        type Row = (Option<String>, Option<uuid::Uuid>, Option<i64>, Option<i64>);
        let row = first_row::<Row>(session, &self.read_back, (task_list, id)).await?;
        let Some((Some(_type), current, data_written, slice)) = row else {
            // Completed or deleted before the claim landed: what the claim
            // wrote is all that is left of the row, and goes too.
            session
                .execute_unpaged(&self.clear, (written_at, task_list, id))
                .await
                .map_err(storage)?;
            return Ok(ReadBack::NotOurs);
        };
        if current != Some(token) {
            return Ok(ReadBack::NotOurs); // another write won
        }
        if data_written != from.data_written {
            // Saved again between the state read and the claim: the claim
            // holds the new version, which this caller would run as the old
            // one. It opens again when the claim's lease ends.
            tracing::debug!(
                task_list,
                id,
                "a task was saved again while it was being claimed; \
                 it opens again when the claim's lease ends"
            );
            return Ok(ReadBack::OursOverAnotherVersion);
        }
        Ok(ReadBack::Ours { slice })
    }
}

/// What a claim's read-back saw.
enum ReadBack {
    /// The claim is the row's state, over the version it was made from
    /// (its listing entry in `slice`).
    Ours { slice: Option<i64> },
    /// The claim is the row's state, over a version saved since.
    OursOverAnotherVersion,
    /// Another write won, or the row is gone.
    NotOurs,
}

/// A map forgotten whole past [`REMEMBERED`] entries: what it holds saves a
/// request, and what it forgets costs one.
struct Remembered<K, V> {
    map: Mutex<HashMap<K, V>>,
}

impl<K, V> Default for Remembered<K, V> {
    fn default() -> Self {
        Remembered {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Copy> Remembered<K, V> {
    fn insert(&self, key: K, value: V) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= REMEMBERED {
            map.clear();
        }
        map.insert(key, value);
    }

    fn get(&self, key: &K) -> Option<V> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(key).copied()
    }

    fn remove(&self, key: &K) -> Option<V> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(key)
    }
}

/// Whether a claim by hand that started at `started` (µs) and returned at
/// `now` landed early enough to be trusted: an owner that took the part
/// after `started` claims plainly only [`HAND_WINDOW`] after taking it.
pub(super) fn by_hand_in_time(started: i64, now: i64) -> bool {
    let window = i64::try_from((HAND_WINDOW - FENCE_MARGIN).as_micros()).unwrap_or(i64::MAX);
    now - started < window
}
