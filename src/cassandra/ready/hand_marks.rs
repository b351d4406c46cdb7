//! Marks that claims by hand leave on their list, so that a process taking
//! a part of it claims plainly at once unless a claim by hand may still
//! land there.
//!
//! A claim by hand (of a task in a part the claiming process does not own,
//! with `owned_parts` or without) looks whether the part has an owner and,
//! finding none, claims with a lightweight transaction, trusted only if it
//! returns within `HAND_WINDOW - FENCE_MARGIN` (4 s) of the look. A process
//! that takes the part just after that look could write a plain claim over
//! the transaction's unseen, and both would run the task. Before marks, a
//! taker therefore claimed by lightweight transactions for [`HAND_WINDOW`]
//! after every take, whether or not anyone claimed by hand: the Paxos
//! rounds a short drain by parts still paid (0.10 per task in a 15 s drain,
//! `docs/BENCHMARKS.md`).
//!
//! Now a claim by hand first writes a mark in its list's partition of
//! `{table}_ready_sweepers` (a row named [`HAND_MARK`] that expires after
//! [`MARK_TTL`]) and looks only after the write returned; a taker reads the
//! mark only after its lightweight transaction took the part. Both write
//! before they read, and both at the write consistency, so one of them sees
//! the other: the look sees the owner (the claim is refused), or the taker
//! sees the mark and claims by lightweight transactions for a
//! [`HAND_WINDOW`] from then, as before. A taker that finds no mark claims
//! plainly at once: a mark outlives every claim trusted on a look made
//! after it, by [`FENCE_MARGIN`] for clocks, as the window does.
//!
//! A process reuses its mark for claims that start within [`MARK_REUSE`]
//! of writing it: one write per list and second, not per claim. A claim
//! with no mark to reuse first looks at the owner without one and is
//! refused there if the part is owned, so a process refused over and over
//! does not keep the list marked (and every owner's next take in its
//! window); the look that lets a claim go ahead always follows the mark.

use std::time::{Duration, Instant};

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;

use crate::cassandra::per_list::PerList;
use crate::cassandra::{first_row, prepare_with, storage};
use crate::error::Result;

use super::{FENCE_MARGIN, HAND_WINDOW};

/// The sweeper name the mark's row has: not a process's (those are
/// "host pid N #id"), and skipped where sweepers are counted.
pub(crate) const HAND_MARK: &str = "(claims by hand)";

/// How long a mark lives after it is written: a claim trusted on a look
/// made after it returned by `HAND_WINDOW - FENCE_MARGIN` after the mark,
/// and a second more for the TTL, which the server counts in whole seconds.
pub const MARK_TTL: Duration = Duration::from_secs(HAND_WINDOW.as_secs() + 1);

/// How long after writing a mark a process still claims by hand on it
/// without writing another: a claim starting then has the rest of the
/// 4 s to land, 3 s at least.
pub const MARK_REUSE: Duration = Duration::from_secs(1);

const _: () = assert!(MARK_REUSE.as_secs() < HAND_WINDOW.as_secs() - FENCE_MARGIN.as_secs());

pub(crate) struct HandMarks {
    write: PreparedStatement,
    read: PreparedStatement,
    /// Per list, the last mark this process wrote: when (local), and when
    /// by the cluster's time (µs).
    written: PerList<Option<(Instant, i64)>>,
}

impl HandMarks {
    pub(crate) async fn prepare(
        session: &Session,
        sweepers_table: &str,
        write: Consistency,
    ) -> Result<Self> {
        let check = "does the ready index's sweepers table exist? create it with \
                     `create_schema(true)` or schema/ready_sweepers.cql";
        let ttl = MARK_TTL.as_secs();
        Ok(HandMarks {
            write: prepare_with(
                session,
                format!(
                    "INSERT INTO {sweepers_table} (task_list, sweeper) VALUES (?, '{HAND_MARK}') \
                     USING TTL {ttl}"
                ),
                write,
                check,
            )
            .await?,
            // At the write consistency: it must see a mark whose write
            // returned before this read began.
            read: prepare_with(
                session,
                format!(
                    "SELECT sweeper FROM {sweepers_table} \
                     WHERE task_list = ? AND sweeper = '{HAND_MARK}'"
                ),
                write,
                check,
            )
            .await?,
            written: PerList::new(),
        })
    }

    /// Before a claim by hand in `task_list` looks for the owner of the
    /// task's part: makes sure a mark is there, written at most
    /// [`MARK_REUSE`] ago. Returns when it was written (µs of the cluster's
    /// time, `now` when written now): the claim is trusted only if it
    /// returns within `HAND_WINDOW - FENCE_MARGIN` of that.
    pub(crate) async fn mark(&self, session: &Session, task_list: &str, now: i64) -> Result<i64> {
        if let Some(since) = self.reusable(task_list) {
            return Ok(since);
        }
        let at = Instant::now();
        session
            .execute_unpaged(&self.write, (task_list,))
            .await
            .map_err(storage)?;
        self.written
            .with(task_list, || None, |written| *written = Some((at, now)));
        Ok(now)
    }

    /// Whether a claim by hand in `task_list` starting now reuses this
    /// process's last mark there, with no write.
    pub(crate) fn marked_lately(&self, task_list: &str) -> bool {
        self.reusable(task_list).is_some()
    }

    /// When (µs) this process's last mark in `task_list` was written, if a
    /// claim starting now may reuse it.
    fn reusable(&self, task_list: &str) -> Option<i64> {
        self.written.with(
            task_list,
            || None,
            |written| {
                written
                    .filter(|(at, _)| at.elapsed() < MARK_REUSE)
                    .map(|(_, since)| since)
            },
        )
    }

    /// After this process took a part of `task_list`: whether a claim by
    /// hand may still land in it (a mark is there).
    pub(crate) async fn seen(&self, session: &Session, task_list: &str) -> Result<bool> {
        Ok(first_row::<(String,)>(session, &self.read, (task_list,))
            .await?
            .is_some())
    }
}
