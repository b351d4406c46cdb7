//! The ready index of taskrec's table (`schema/ready.cql`): claim-next on
//! Cassandra without reading the list.
//!
//! Every write that leaves a task open also writes a **hint**: "task `id`
//! may be claimable from `due`". A save hints `now`; a claim or renewal the
//! lease's end; a retry the backoff's end. Hints live in partitions
//! `(task_list, slice, shard)`, one per [`HINT_SLICE`] of due time and
//! [`SHARDS`] per slice, ordered by `(due, id)` inside. They are never
//! deleted one by one (no tombstones): they expire after [`RETENTION`].
//!
//! A sweep ([`next_ready`](crate::adapter::StorageAdapter::next_ready)) reads the
//! hints due by now from a start position, loads each hinted task's state
//! and hands out those that are claimable. A hint is a hint: the task may
//! have been claimed, finished or saved again since; its state decides.
//!
//! Where a sweep starts:
//!
//! - each process remembers, per list, where its last sweep ended, and the
//!   next starts [`MARGIN`] before that (a hint computed before a sweep
//!   but written after it lands behind the sweep's end), skipping the hints
//!   it has already looked at;
//! - every [`LOW_EVERY`], and on a process's first sweep of a list, it
//!   starts at the list's **low mark**, a position every sweep has passed,
//!   less [`LOW_SAFETY`], stored in `{table}_ready_low`; the mark only moves
//!   forward (it is written `USING TIMESTAMP` its own value);
//! - a hint that is missed anyway (its write failed after the task's,
//!   or it expired, or others read it before this process started and left
//!   its task, of a type only this process runs) is caught by a **walk**:
//!   the list's pages and every state, as the provided `next_ready` reads
//!   them. A process walks each list it sweeps [`FIRST_WALK_AFTER`] after
//!   its first sweep and then every [`WALK_EVERY`] (or
//!   [`CassandraConfig::ready_walk_every`](super::CassandraConfig::ready_walk_every));
//!   a sweep walks when it
//!   finds nothing ready and no hint due within [`LOOK_AHEAD_SLICES`] slices
//!   (so a drained list is known to be drained), unless a walk already
//!   found nothing ready in the list and no hint has been read since (then
//!   the list is quiet until the first open task the walk saw opens: a
//!   lease or backoff longer than the look-ahead costs no walk per poll);
//!   a sweep that
//!   would start more than [`RETENTION`] back (every hint there expired)
//!   walks instead.
//!
//! Hints whose tasks a sweep found gone, finished or held are remembered
//! for about a minute and not read again; hints whose tasks it handed out
//! are, so that a task handed out and not claimed (a worker stopped, a
//! type it does not run) is handed out again. A save's hint carries the
//! token of the version it saved: once this process has claimed that
//! version, the hint is passed over unread (its version can open again only
//! by a change that hints anew, or at the claim's lease end, which has a
//! hint of its own), so a task handed out from a walk, or read again by a
//! sweep from the margin or the low mark, costs no second state read.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use crate::adapter::ready::{readiness, Readiness, ReadyTasks};
use crate::adapter::{PageToken, StorageAdapter};
use crate::error::Result;

use super::bulk::BoxedRow;
use super::clock::ClusterClock;
use super::per_list::{slice_index, PerList};
use super::shard::shard_of;
use super::{storage, CassandraAdapter, MAX_TTL};

/// Due time per hint partition. (Named `SLICE` before 0.3, like the
mod hand_marks;
mod memory;
mod parts;
mod step;
mod sweep;
mod walk;

pub(crate) use hand_marks::HandMarks;
pub use hand_marks::{MARK_REUSE, MARK_TTL};
use memory::{Quiet, SweepMemory, MEMORY_TRIM_AT};
pub(crate) use parts::{ClaimMode, Parts};
pub use parts::{FENCE_MARGIN, HAND_WINDOW, PART_LEASE, RENEW_EVERY, SWEEPER_TTL};
use step::Step;

/// listing's [`ENTRY_SLICE`](super::listing::ENTRY_SLICE), twice as long.)
pub const HINT_SLICE: Duration = Duration::from_secs(30);
/// Hint partitions per slice of a list.
pub const SHARDS: u32 = 8;
/// How long a hint is kept after it is due.
pub const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// How far behind its last end a process's next sweep starts.
pub const MARGIN: Duration = Duration::from_secs(2);
/// How far behind the position every sweep has passed the low mark is kept:
/// longer than a hint's write can take (the request timeout) plus clock skew.
pub const LOW_SAFETY: Duration = Duration::from_secs(20);
/// How often a process starts a sweep at the low mark (and moves it).
pub const LOW_EVERY: Duration = Duration::from_secs(30);
/// How often a process walks each list it sweeps, whatever the hints say,
/// unless [`CassandraConfig::ready_walk_every`](super::CassandraConfig::ready_walk_every)
/// says otherwise.
pub const WALK_EVERY: Duration = Duration::from_secs(600);
/// How soon after its first sweep of a list a process walks it.
pub const FIRST_WALK_AFTER: Duration = Duration::from_secs(60);
/// Slices read at most per step, so that a sweep catching up on a long
/// stretch of due time hands control back between them.
const SLICES_PER_STEP: i64 = 64;
/// Slices past now read for the next hint when nothing is ready.
pub const LOOK_AHEAD_SLICES: i64 = 20;

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn slice_of(due: i64) -> i64 {
    slice_index(due, micros(HINT_SLICE))
}

/// A hint's place: due time (µs since the epoch) and id.
pub(super) type Key = (i64, String);

/// The bind values of a hint: list, slice, shard, due, id, TTL (seconds).
pub(super) type HintValues<'a> = (&'a str, i64, i32, i64, &'a str, i32);

/// Hints read per shard while looking for the next one that is not stale.
const LOOK_AHEAD_BATCH: usize = 256;

/// Counts of what sweeps read, for tests and diagnostics. Counters may be
/// added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadyReads {
    /// Hint rows read.
    pub hints: u64,
    /// Task states read because of a hint.
    pub states: u64,
    /// Records listed by walks (each with its state read).
    pub walked: u64,
    /// Parts of lists this process took over from an owner whose lease had
    /// run out ([`CassandraConfig::owned_parts`](super::CassandraConfig::owned_parts)).
    pub part_takeovers: u64,
    /// Lightweight transactions this process ran to take, renew and hand
    /// back parts (with `owned_parts`): Paxos rounds beside the claims'.
    pub part_transactions: u64,
    /// Lightweight transactions this process ran on tasks' rows: claims,
    /// renewals, retries, failures and releases (a Paxos round each).
    pub task_transactions: u64,
    /// Claims this process wrote plainly, as the owner of the task's part
    /// (with `owned_parts`): no Paxos round.
    pub plain_claims: u64,
    /// Completions of such claims, and of held ones, each written without
    /// a read first.
    pub unread_completions: u64,
    /// Claims of tasks this process handed out, held in memory rather than
    /// written (with `owned_parts`; see [`CassandraConfig::owned_parts`](super::CassandraConfig::owned_parts)):
    /// no request at all unless the task outlives the hold.
    pub held_claims: u64,
    /// Held claims written because their task outlived the hold: a
    /// lightweight transaction each, counted in `task_transactions` too.
    pub held_claims_written: u64,
    /// Held claims lost before they were written: the task changed, or the
    /// part went to another process.
    pub held_claims_lost: u64,
    /// Hints passed over without a state read because they point at a
    /// version this process claimed (a save's hint carries its version's
    /// token): each is a read of a task it already handed out, or one
    /// already done, saved.
    pub hints_of_own_claims: u64,
}

pub(super) struct ReadyIndex {
    insert: PreparedStatement,
    /// A save's hint with its version's token, where the table has the
    /// column (`schema/ready.cql`; a table made before it has not, and its
    /// hints carry none).
    insert_saved: Option<PreparedStatement>,
    read: PreparedStatement,
    read_low: PreparedStatement,
    write_low: PreparedStatement,
    lists: PerList<SweepMemory>,
    reads: Mutex<ReadyReads>,
    /// How often a list is walked whatever its hints say
    /// ([`CassandraConfig::ready_walk_every`](super::CassandraConfig::ready_walk_every)).
    walk_every: Duration,
    /// The cluster's time: hints are due, and sweeps end, by it.
    clock: Arc<ClusterClock>,
    /// With [`CassandraConfig::owned_parts`](super::CassandraConfig::owned_parts):
    /// the parts of each list this process sweeps.
    parts: Option<Arc<Parts>>,
}

impl ReadyIndex {
    /// `tokens`: whether the hints' table has `state_token` (a table made
    /// before it has not; its hints then carry none).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn prepare(
        session: &Session,
        ready_table: &str,
        low_table: &str,
        read: scylla::statement::Consistency,
        write: scylla::statement::Consistency,
        walk_every: Duration,
        clock: Arc<ClusterClock>,
        tokens: bool,
    ) -> Result<Self> {
        let prepare = |cql: String, consistency| {
            let check = "does the ready index exist? create it with `create_schema(true)` \
                         or schema/ready.cql";
            super::prepare_with(session, cql, consistency, check)
        };
        Ok(ReadyIndex {
            insert: prepare(
                format!(
                    "INSERT INTO {ready_table} (task_list, slice, shard, due, id) \
                     VALUES (?, ?, ?, ?, ?) USING TTL ?"
                ),
                write,
            )
            .await?,
            insert_saved: match tokens {
                true => Some(
                    prepare(
                        format!(
                            "INSERT INTO {ready_table} (task_list, slice, shard, due, id, state_token) \
                             VALUES (?, ?, ?, ?, ?, ?) USING TTL ?"
                        ),
                        write,
                    )
                    .await?,
                ),
                false => None,
            },
            read: prepare(
                format!(
                    "SELECT due, id{} FROM {ready_table} \
                     WHERE task_list = ? AND slice = ? AND shard = ? AND (due, id) > (?, ?) AND (due) <= (?) LIMIT ?",
                    if tokens { ", state_token" } else { "" }
                ),
                read,
            )
            .await?,
            read_low: prepare(
                format!("SELECT low FROM {low_table} WHERE task_list = ?"),
                read,
            )
            .await?,
            // The mark only moves forward: a write carries its own value as
            // its timestamp, so the highest mark wins whatever the order.
            write_low: prepare(
                format!("UPDATE {low_table} USING TIMESTAMP ? SET low = ? WHERE task_list = ?"),
                write,
            )
            .await?,
            lists: PerList::new(),
            reads: Mutex::new(ReadyReads::default()),
            walk_every,
            clock,
            parts: None,
        })
    }

    /// With [`CassandraConfig::owned_parts`](super::CassandraConfig::owned_parts):
    /// sweeps by the parts this process holds.
    pub(super) fn with_parts(mut self, parts: Option<Parts>) -> Self {
        self.parts = parts.map(Arc::new);
        self
    }

    pub(super) fn reads(&self) -> ReadyReads {
        let mut reads = *self.reads.lock().unwrap_or_else(PoisonError::into_inner);
        reads.part_takeovers = self.parts.as_deref().map_or(0, Parts::takeovers);
        reads.part_transactions = self.parts.as_deref().map_or(0, Parts::transactions);
        reads
    }

    /// The hint shards of `task_list` this process sweeps: all of them, or
    /// the parts it holds.
    pub(super) fn shards(&self, task_list: &str) -> Vec<u32> {
        match &self.parts {
            Some(parts) => parts.held(task_list).into_iter().collect(),
            None => (0..SHARDS).collect(),
        }
    }

    /// The parts of `task_list` this process holds (none without
    /// `owned_parts`), as of its last look.
    pub(super) fn parts_held(&self, task_list: &str) -> Vec<u32> {
        self.parts
            .as_ref()
            .map(|parts| parts.held(task_list).into_iter().collect())
            .unwrap_or_default()
    }

    /// This process stops sweeping `task_list`: its parts go back at once.
    pub(super) async fn stop_sweeping(&self, session: &Session, task_list: &str) -> Result<()> {
        match &self.parts {
            Some(parts) => parts.stop(session, task_list).await,
            None => Ok(()),
        }
    }

    /// The parts of lists this process holds, with `owned_parts`.
    pub(super) fn parts(&self) -> Option<&Parts> {
        self.parts.as_deref()
    }

    /// The same, shared with work that outlives a call (a held claim's
    /// write, `held_claims`).
    pub(super) fn shared_parts(&self) -> Option<Arc<Parts>> {
        self.parts.clone()
    }

    pub(super) fn count(&self, add: impl FnOnce(&mut ReadyReads)) {
        add(&mut self.reads.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// The values of the hint that `id` may be claimable from `due`
    /// (`now` at the earliest, both the cluster's time), kept for
    /// [`RETENTION`] after it (or `ttl`, when the task itself expires
    /// sooner), for [`insert`](Self::insert_statement).
    pub(super) fn hint_values<'a>(
        task_list: &'a str,
        id: &'a str,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
        ttl: Option<Duration>,
    ) -> HintValues<'a> {
        let due = due.max(now).timestamp_micros();
        let wait = Duration::from_micros(u64::try_from(due - now.timestamp_micros()).unwrap_or(0));
        // Kept RETENTION past its due time (a backoff of days included),
        // never past the task's own expiry.
        let keep = ttl
            .unwrap_or(MAX_TTL)
            .min(wait.saturating_add(RETENTION))
            .min(MAX_TTL);
        let keep = i32::try_from(keep.as_secs().max(1)).unwrap_or(i32::MAX);
        let shard = shard_of(id, SHARDS) as i32;
        (task_list, slice_of(due), shard, due, id, keep)
    }

    /// The statement that writes a hint, for batching with a task's row.
    pub(super) fn insert_statement(&self) -> &PreparedStatement {
        &self.insert
    }

    /// The hint a save writes beside its row, for batching with it: as
    /// [`hint_values`](Self::hint_values), with the `state_token` of the version
    /// saved where the table has the column.
    pub(super) fn saved_hint<'a>(
        &'a self,
        values: HintValues<'a>,
        token: uuid::Uuid,
    ) -> (&'a PreparedStatement, BoxedRow<'a>) {
        match &self.insert_saved {
            Some(insert) => {
                let (list, slice, shard, due, id, ttl) = values;
                (insert, Box::new((list, slice, shard, due, id, token, ttl)))
            }
            None => (&self.insert, Box::new(values)),
        }
    }

    /// This process claimed the version `token` of a task of `task_list`:
    /// the hints of that version point at nothing it need read again (the
    /// version can open again only by a change of this process's, which
    /// hints anew, or when the claim's lease ends, which its lease-end hint
    /// is for).
    pub(super) fn claimed_from(&self, task_list: &str, token: uuid::Uuid) {
        let now = self.clock.estimate().timestamp_micros();
        self.memory(task_list, |m| {
            m.claimed.insert(token, now);
        });
    }

    /// Writes the hint that `id` may be claimable from `due`; its key.
    /// `saved`: the token of the version a save wrote, which its hint
    /// carries (see [`saved_hint`](Self::saved_hint)).
    pub(super) async fn hint(
        &self,
        session: &Session,
        task_list: &str,
        id: &str,
        due: DateTime<Utc>,
        saved: Option<uuid::Uuid>,
    ) -> Result<Key> {
        let values = Self::hint_values(task_list, id, due, self.clock.estimate(), None);
        let (statement, row) = match saved {
            Some(token) => self.saved_hint(values, token),
            None => (&self.insert, Box::new(values) as BoxedRow<'_>),
        };
        session
            .execute_unpaged(statement, row)
            .await
            .map_err(storage)?;
        Ok((values.3, id.to_owned()))
    }

    /// After a state change of (list, id) by this process: `applied` says
    /// whether it landed, `hint` is the hint written for it (none when the
    /// task is closed now).
    pub(super) fn changed(&self, task_list: &str, id: &str, hint: Option<Key>, applied: bool) {
        let now = self.clock.estimate().timestamp_micros();
        self.memory(task_list, |m| {
            if applied {
                // A sweep may have read this hint before the change landed
                // (and seen the state before it): let the next one read it.
                if let Some(key) = &hint {
                    m.seen.remove(key);
                }
                // A hint due now is read by the next sweep anyway; only a
                // future one (a lease's end, a backoff's) is worth tracking.
                m.replace_hint(id, hint.filter(|key| key.0 > now));
            } else {
                m.stale.extend(hint);
            }
            // A process that changes states without sweeping the list
            // would otherwise keep every stale hint.
            if m.stale.len() + m.last_hint.len() + m.claimed.len() > MEMORY_TRIM_AT {
                m.forget_before(now);
            }
        });
    }

    fn memory<R>(&self, task_list: &str, f: impl FnOnce(&mut SweepMemory) -> R) -> R {
        let make = || SweepMemory {
            end: None,
            seen: BTreeSet::new(),
            stale: BTreeSet::new(),
            last_hint: HashMap::new(),
            claimed: HashMap::new(),
            low_swept_at: None,
            // The first walk soon after the process's first sweep: a
            // process that starts at the low mark misses the tasks whose
            // hints others read before it and left (another type's).
            walked_at: Instant::now()
                .checked_sub(self.walk_every.saturating_sub(FIRST_WALK_AFTER))
                .unwrap_or_else(Instant::now),
            quiet: None,
            walk_open: None,
            ahead: None,
        };
        self.lists.with(task_list, make, f)
    }

    pub(super) async fn next_ready(
        &self,
        adapter: &CassandraAdapter,
        task_list: &str,
        token: Option<&PageToken>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        let Some(parts) = &self.parts else {
            return self
                .next_ready_of(adapter, task_list, token, limit, now)
                .await;
        };
        // Renewed at any step once due, not only when a sweep starts: under
        // a steady flow one sweep can go on for longer than a lease. The
        // parts' leases and owners are the cluster's time.
        let at = self.clock.estimate().timestamp_micros();
        let gained = parts
            .refresh(adapter.session(), task_list, at, &self.clock)
            .await?;
        if let (Some(token), true) = (token, gained) {
            // A part taken mid-sweep is swept from where its last owner left
            // off: this sweep ends here, and the next starts there.
            Step::decode(token)?;
            return Ok(ReadyTasks {
                next_open: Some(now),
                ..ReadyTasks::default()
            });
        }
        let mut ready = if self.shards(task_list).is_empty() {
            // Nothing to sweep, but a token that is not a sweep's is still
            // refused.
            if let Some(token) = token {
                Step::decode(token)?;
            }
            ReadyTasks::default()
        } else {
            self.next_ready_of(adapter, task_list, token, limit, now)
                .await?
        };
        if let (None, Some(again)) = (&ready.next, parts.again_at(task_list)) {
            // A part to take over or to be handed: look again then, even if
            // this process's own parts hold nothing (so a drain goes on).
            let again = DateTime::from_timestamp_micros(again)
                .unwrap_or(now)
                .max(now + Duration::from_millis(100));
            ready.next_open = Some(ready.next_open.map_or(again, |at| at.min(again)));
        }
        Ok(ready)
    }

    async fn next_ready_of(
        &self,
        adapter: &CassandraAdapter,
        task_list: &str,
        token: Option<&PageToken>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        let session = adapter.session();
        let limit = limit.max(1);
        let now_us = now.timestamp_micros();
        let step = match token {
            Some(token) => Step::decode(token)?,
            None => self.start(session, task_list, now_us).await?,
        };
        let (mut after, from_low) = match step {
            walk @ Step::Walk { .. } => {
                return self.walk(adapter, task_list, walk, limit, now).await;
            }
            Step::Hints { after, from_low } => (after, from_low),
        };
        if after.0 < now_us - micros(RETENTION) {
            // Every hint from that far back has expired: only a walk can
            // find what they pointed at (and a forged token lands here too).
            let walk = Step::Walk {
                token: None,
                started: now_us,
                sets_low: true,
                clean: true,
            };
            return self.walk(adapter, task_list, walk, limit, now).await;
        }
        // Hints spread evenly over the shards (by a hash of the id): about
        // `limit` in all, not `limit` from each and most of them dropped.
        let shards = self.shards(task_list);
        let per_shard = limit.div_ceil(shards.len().max(1)).max(8);
        let mut slice = slice_of(after.0);
        let first_slice = slice;
        while slice <= slice_of(now_us) {
            if slice - first_slice >= SLICES_PER_STEP {
                // A long stretch of empty slices: hand control back.
                let after = (slice * micros(HINT_SLICE) - 1, String::new());
                return Ok(ReadyTasks {
                    next: Some(Step::Hints { after, from_low }.encode()),
                    ..ReadyTasks::default()
                });
            }
            let keys = self
                .read_slice(
                    session, task_list, &shards, slice, &after, now_us, per_shard,
                )
                .await?;
            // At most `limit` per step: the shards together may return more.
            let due: Vec<Key> = keys
                .into_iter()
                .take_while(|key| key.0 <= now_us)
                .take(limit)
                .collect();
            let Some(last) = due.last().cloned() else {
                // Nothing more due in this slice: on to the next.
                slice += 1;
                after = (slice * micros(HINT_SLICE) - 1, String::new());
                continue;
            };
            let fresh: Vec<Key> = self.memory(task_list, |m| {
                let fresh: Vec<Key> = due
                    .iter()
                    .filter(|key| !m.seen.contains(*key) && !m.stale.contains(*key))
                    .cloned()
                    .collect();
                // A hint of a change the last walk may not have seen: the
                // list is no longer known quiet.
                if m.quiet
                    .is_some_and(|q| fresh.iter().any(|key| key.0 > q.since - micros(MARGIN)))
                {
                    m.quiet = None;
                }
                fresh
            });
            let mut ready = self.states(adapter, task_list, fresh, now).await?;
            ready.next = Some(
                Step::Hints {
                    after: last,
                    from_low,
                }
                .encode(),
            );
            return Ok(ready);
        }
        self.end_sweep(adapter, task_list, now_us, from_low, limit, now)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_split_due_times_by_thirty_seconds() {
        assert_eq!(slice_of(0), 0);
        assert_eq!(slice_of(micros(HINT_SLICE) - 1), 0);
        assert_eq!(slice_of(micros(HINT_SLICE)), 1);
        assert_eq!(slice_of(-1), -1);
    }
}
