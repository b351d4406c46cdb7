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
//! type it does not run) is handed out again.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use crate::adapter::ready::{readiness, Readiness, ReadyTasks};
use crate::adapter::{PageToken, StorageAdapter};
use crate::error::{Error, Result};

use super::bucket::bucket_of;
use super::clock::ClusterClock;
use super::per_list::{slice_index, PerList};
use super::{storage, CassandraAdapter, MAX_TTL};

/// Due time per hint partition. (Named `SLICE` before 0.3, like the
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

/// What a process remembers of its sweeps of one list.
struct ListMemory {
    /// Where the last sweep ended (µs), if one did.
    end: Option<i64>,
    /// Hints already looked at, back to [`REMEMBERED`] before the last sweep:
    /// a sweep that reads them again (the margin, a sweep from the low mark)
    /// does not read their tasks' states again.
    seen: BTreeSet<Key>,
    /// Hints this process knows point at nothing open: a lease's end whose
    /// claim this process completed, failed or renewed, a hint whose state
    /// change did not land. Sweeps skip them, and so does the look for the
    /// next hint, so a list this process drained is known drained at once.
    stale: BTreeSet<Key>,
    /// The latest future hint this process wrote for each task it holds.
    last_hint: HashMap<String, Key>,
    low_swept_at: Option<Instant>,
    /// When this process last finished a walk of the list; a process's
    /// first walk of a list comes [`FIRST_WALK_AFTER`] after its first sweep.
    walked_at: Instant,
    /// Set when a walk handed nothing out: until a hint is read again, the
    /// list is known quiet without walking it on every poll.
    quiet: Option<Quiet>,
    /// The earliest time (µs) a task seen open by the walk under way opens.
    walk_open: Option<i64>,
    /// The last of the stale hints the last look for the next hint passed
    /// over: the next look starts after it. A walk forgets it (a hint of
    /// another process's claim may have landed before it).
    ahead: Option<Key>,
}

/// What the last walk of a list found, when it handed nothing out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quiet {
    /// When the walk began (µs): hints due more than [`MARGIN`] before it
    /// were written for changes the walk saw.
    since: i64,
    /// When the first task the walk saw open opens (µs): claimed under a
    /// lease, or backing off, perhaps beyond the look-ahead; `None` when
    /// nothing was open.
    opens_at: Option<i64>,
}

impl ListMemory {
    /// The task's earlier future hint is stale now; `new`, if any, is its latest.
    fn replace_hint(&mut self, id: &str, new: Option<Key>) {
        let old = match &new {
            Some(key) => self.last_hint.insert(id.to_owned(), key.clone()),
            None => self.last_hint.remove(id),
        };
        self.stale
            .extend(old.filter(|old| Some(old) != new.as_ref()));
        if let Some(key) = &new {
            self.stale.remove(key);
        }
    }

    /// Forgets what is older than [`REMEMBERED`] before `now`: hints that
    /// far back are read again only by a sweep from the low mark, whose
    /// state reads they then cost.
    fn forget_before(&mut self, now: i64) {
        let keep_from = (now - micros(REMEMBERED), String::new());
        self.seen = self.seen.split_off(&keep_from);
        self.stale = self.stale.split_off(&keep_from);
        // A task whose claim another process took over and finished
        // leaves its entry here: drop those whose hint is long past.
        self.last_hint.retain(|_, key| key.0 >= keep_from.0);
    }
}

/// How far back a process remembers the hints it has looked at: as far as
/// a sweep from the low mark can start behind its own sweeps.
const REMEMBERED: Duration =
    Duration::from_secs(LOW_SAFETY.as_secs() + LOW_EVERY.as_secs() + MARGIN.as_secs());
/// Remembered hints per list past which a state change trims them.
const MEMORY_TRIM_AT: usize = 100_000;
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
}

pub(super) struct ReadyIndex {
    insert: PreparedStatement,
    read: PreparedStatement,
    read_low: PreparedStatement,
    write_low: PreparedStatement,
    lists: PerList<ListMemory>,
    reads: Mutex<ReadyReads>,
    /// How often a list is walked whatever its hints say
    /// ([`CassandraConfig::ready_walk_every`](super::CassandraConfig::ready_walk_every)).
    walk_every: Duration,
    /// The cluster's time: hints are due, and sweeps end, by it.
    clock: Arc<ClusterClock>,
}

/// The token of a sweep step: where the hints go on, or where a walk goes
/// on (and, for the walk of a list without a low mark, when it began: the
/// mark it sets when it ends).
enum Step {
    Hints {
        after: Key,
        from_low: bool,
    },
    Walk {
        token: Option<PageToken>,
        /// When the walk began (µs).
        started: i64,
        /// Whether it sets the low mark to its start when it ends.
        sets_low: bool,
        /// Whether it has handed nothing out so far.
        clean: bool,
    },
}

const HINTS_TAG: u8 = 0x52;
const WALK_TAG: u8 = 0x57;

impl Step {
    fn encode(&self) -> PageToken {
        let mut bytes = Vec::new();
        match self {
            Step::Hints { after, from_low } => {
                bytes.push(HINTS_TAG);
                bytes.push(u8::from(*from_low));
                bytes.extend_from_slice(&after.0.to_be_bytes());
                bytes.extend_from_slice(after.1.as_bytes());
            }
            Step::Walk {
                token,
                started,
                sets_low,
                clean,
            } => {
                bytes.push(WALK_TAG);
                bytes.push(u8::from(*sets_low) | (u8::from(*clean) << 1));
                bytes.extend_from_slice(&started.to_be_bytes());
                if let Some(token) = token {
                    bytes.extend_from_slice(token.as_bytes());
                }
            }
        }
        PageToken::from_bytes(bytes)
    }

    fn decode(token: &PageToken) -> Result<Self> {
        let invalid = || Error::InvalidPageToken {
            reason: "not a Cassandra claim-next token".to_owned(),
        };
        match token.as_bytes().split_first() {
            Some((&HINTS_TAG, rest)) => {
                let (&from_low, rest) = rest.split_first().ok_or_else(invalid)?;
                let (due, id) = rest.split_first_chunk::<8>().ok_or_else(invalid)?;
                let id = std::str::from_utf8(id).map_err(|_| invalid())?;
                Ok(Step::Hints {
                    after: (i64::from_be_bytes(*due), id.to_owned()),
                    from_low: from_low != 0,
                })
            }
            Some((&WALK_TAG, rest)) => {
                let (&flags, rest) = rest.split_first().ok_or_else(invalid)?;
                let (started, token) = rest.split_first_chunk::<8>().ok_or_else(invalid)?;
                Ok(Step::Walk {
                    token: (!token.is_empty()).then(|| PageToken::from_bytes(token.to_vec())),
                    started: i64::from_be_bytes(*started),
                    sets_low: flags & 1 != 0,
                    clean: flags & 2 != 0,
                })
            }
            _ => Err(invalid()),
        }
    }
}

impl ReadyIndex {
    pub(super) async fn prepare(
        session: &Session,
        ready_table: &str,
        low_table: &str,
        read: scylla::statement::Consistency,
        write: scylla::statement::Consistency,
        walk_every: Duration,
        clock: Arc<ClusterClock>,
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
            read: prepare(
                format!(
                    "SELECT due, id FROM {ready_table} \
                     WHERE task_list = ? AND slice = ? AND shard = ? AND (due, id) > (?, ?) AND (due) <= (?) LIMIT ?"
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
        })
    }

    pub(super) fn reads(&self) -> ReadyReads {
        *self.reads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, add: impl FnOnce(&mut ReadyReads)) {
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
        let shard = bucket_of(id, SHARDS) as i32;
        (task_list, slice_of(due), shard, due, id, keep)
    }

    /// The statement that writes a hint, for batching with a task's row.
    pub(super) fn insert_statement(&self) -> &PreparedStatement {
        &self.insert
    }

    /// Writes the hint that `id` may be claimable from `due`; its key.
    pub(super) async fn hint(
        &self,
        session: &Session,
        task_list: &str,
        id: &str,
        due: DateTime<Utc>,
    ) -> Result<Key> {
        let values = Self::hint_values(task_list, id, due, self.clock.estimate(), None);
        session
            .execute_unpaged(&self.insert, values)
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
            if m.stale.len() + m.last_hint.len() > MEMORY_TRIM_AT {
                m.forget_before(now);
            }
        });
    }

    fn memory<R>(&self, task_list: &str, f: impl FnOnce(&mut ListMemory) -> R) -> R {
        let make = || ListMemory {
            end: None,
            seen: BTreeSet::new(),
            stale: BTreeSet::new(),
            last_hint: HashMap::new(),
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

    /// Where a new sweep starts, and whether at the low mark.
    async fn start(&self, session: &Session, task_list: &str, now: i64) -> Result<Step> {
        let (end, recent) = self.memory(task_list, |m| {
            let recent = m.low_swept_at.is_some_and(|at| at.elapsed() < LOW_EVERY);
            (m.end.map(|end| end - micros(MARGIN)), recent)
        });
        if let (Some(end), true) = (end, recent) {
            return Ok(Step::Hints {
                after: (end, String::new()),
                from_low: false,
            });
        }
        let low = super::first_row::<(Option<i64>,)>(session, &self.read_low, (task_list,))
            .await?
            .and_then(|(low,)| low);
        Ok(match low {
            // Never past where this process's own last sweep ended: hints
            // others read and left (another type's tasks) are this one's.
            Some(low) => Step::Hints {
                after: (end.map_or(low, |end| end.min(low)), String::new()),
                from_low: true,
            },
            // No sweep has marked the list yet: only a walk finds what is
            // there, and it marks the list when it ends.
            None => Step::Walk {
                token: None,
                started: now,
                sets_low: true,
                clean: true,
            },
        })
    }

    /// The hints of one slice after `after` and due by `until`, merged
    /// over its shards: those known complete (every shard's rows up to the
    /// last one returned).
    async fn read_slice(
        &self,
        session: &Session,
        task_list: &str,
        slice: i64,
        after: &Key,
        until: i64,
        limit: usize,
    ) -> Result<Vec<Key>> {
        let limit_i32 = i32::try_from(limit).unwrap_or(i32::MAX);
        let shards: Vec<Vec<Key>> = futures::stream::iter(0..SHARDS)
            .map(|shard| async move {
                let rows = session
                    .execute_unpaged(
                        &self.read,
                        (
                            task_list,
                            slice,
                            shard as i32,
                            after.0,
                            after.1.as_str(),
                            until,
                            limit_i32,
                        ),
                    )
                    .await
                    .map_err(storage)?
                    .into_rows_result()
                    .map_err(storage)?;
                rows.rows::<(i64, String)>()
                    .map_err(storage)?
                    .map(|row| row.map_err(storage))
                    .collect::<Result<Vec<Key>>>()
            })
            .buffered(SHARDS as usize)
            .try_collect()
            .await?;
        // A shard that returned `limit` rows may hold more after its last:
        // only keys up to the smallest such last key are complete.
        let complete_until = shards
            .iter()
            .filter(|rows| rows.len() >= limit)
            .filter_map(|rows| rows.last().cloned())
            .min();
        let mut keys: Vec<Key> = shards.into_iter().flatten().collect();
        self.count(|r| r.hints += keys.len() as u64);
        keys.sort_unstable();
        if let Some(until) = complete_until {
            keys.retain(|key| *key <= until);
        }
        Ok(keys)
    }

    /// The due time of the first hint after `now` within the look-ahead
    /// that this process does not know to be stale.
    async fn next_hint(&self, session: &Session, task_list: &str, now: i64) -> Result<Option<i64>> {
        // Past the stale hints the last look passed over: while others'
        // claims end, this process's completed ones (stale, earlier) would
        // otherwise be read again at the end of every sweep.
        let known_stale = self.memory(task_list, |m| m.ahead.clone());
        let mut after = known_stale
            .filter(|key| key.0 > now)
            .unwrap_or((now, String::new()));
        let mut slice = slice_of(after.0);
        // A few hints per shard, more while all are stale: the first hint
        // is usually good, and a drained list's stale ones come by the hundred.
        let mut batch = 2;
        while slice <= slice_of(now) + LOOK_AHEAD_SLICES {
            let keys = self
                .read_slice(session, task_list, slice, &after, i64::MAX, batch)
                .await?;

            let found = self.memory(task_list, |m| {
                let found = keys.iter().position(|key| !m.stale.contains(key));
                // Every key before the first good one is stale.
                let passed = match found {
                    Some(0) => None,
                    Some(n) => keys.get(n - 1),
                    None => keys.last(),
                };
                if let Some(passed) = passed {
                    m.ahead = Some(passed.clone());
                }
                found.map(|n| keys[n].0)
            });
            if found.is_some() {
                return Ok(found);
            }
            match keys.last() {
                // All stale so far: on in this slice, reading more at a time.
                Some(last) => {
                    after = last.clone();
                    batch = (batch * 4).min(LOOK_AHEAD_BATCH);
                }
                None => {
                    slice += 1;
                    after = (slice * micros(HINT_SLICE) - 1, String::new());
                    batch = 2;
                }
            }
        }
        Ok(None)
    }

    pub(super) async fn next_ready(
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
        let per_shard = limit.div_ceil(SHARDS as usize).max(8);
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
                .read_slice(session, task_list, slice, &after, now_us, per_shard)
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

    /// Loads the states of the hinted tasks and hands out the ready ones.
    async fn states(
        &self,
        adapter: &CassandraAdapter,
        task_list: &str,
        keys: Vec<Key>,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        let mut ids: Vec<String> = keys.iter().map(|(_, id)| id.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        self.count(|r| r.states += ids.len() as u64);
        let wanted = ids.into_iter().map(|id| (id, ())).collect();
        let load = |id: String| async move { adapter.load_state(task_list, &id).await };
        let states = crate::adapter::inspect::load_states(wanted, load).await?;
        let mut ready = ReadyTasks::default();
        // Hints whose tasks are not handed out need no second state read:
        // gone, closed, or open later (when another hint comes due, or a
        // change un-sees this one). Handed-out ones are read again, so a
        // task this process did not claim after all is handed out again.
        let mut settled = Vec::new();
        for (id, (), stored) in states {
            let Some(stored) = stored else {
                settled.push(id);
                continue;
            };
            match readiness(&stored.json, now) {
                Readiness::Ready => ready.tasks.push(stored),
                Readiness::OpenAt(at) => {
                    ready.next_open = Some(ready.next_open.map_or(at, |t| t.min(at)));
                    settled.push(id);
                }
                Readiness::Closed => settled.push(id),
            }
        }
        settled.sort_unstable();
        self.memory(task_list, |m| {
            m.seen.extend(
                keys.into_iter()
                    .filter(|(_, id)| settled.binary_search(id).is_ok()),
            );
        });
        Ok(ready)
    }

    /// The hints due by now are read: remember where, move the low mark,
    /// say when to look again, or walk when the hints cannot say.
    async fn end_sweep(
        &self,
        adapter: &CassandraAdapter,
        task_list: &str,
        now_us: i64,
        from_low: bool,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        let session = adapter.session();
        let (walk_due, quiet) = self.memory(task_list, |m| {
            let end = self.remembered(now_us);
            m.end = Some(end);
            m.forget_before(end);
            if from_low {
                m.low_swept_at = Some(Instant::now());
            }
            // Quiet while nothing the last walk saw has opened yet.
            let quiet = m.quiet.filter(|q| q.opens_at.is_none_or(|at| at > now_us));
            (m.walked_at.elapsed() >= self.walk_every, quiet)
        });
        if from_low {
            self.mark_low(session, task_list, now_us).await?;
        }
        let next_hint = self.next_hint(session, task_list, now_us).await?;
        if let (None, Some(quiet), false) = (next_hint, quiet, walk_due) {
            // Walked and found nothing ready, and no hint read since: still
            // so (every save, release and retry writes a hint), without
            // walking it on every poll, until the first task it saw opens.
            return Ok(ReadyTasks {
                next_open: quiet.opens_at.and_then(DateTime::from_timestamp_micros),
                ..ReadyTasks::default()
            });
        }
        if walk_due || next_hint.is_none() {
            // Nothing hinted soon: only a walk can tell whether the list
            // still holds open tasks (and when they open).
            let walk = Step::Walk {
                token: None,
                started: now_us,
                sets_low: false,
                clean: true,
            };
            let mut ready = self.walk(adapter, task_list, walk, limit, now).await?;
            if let Some(at) = next_hint.and_then(DateTime::from_timestamp_micros) {
                ready.next_open = Some(ready.next_open.map_or(at, |t| t.min(at)));
            }
            return Ok(ready);
        }
        Ok(ReadyTasks {
            tasks: Vec::new(),
            next: None,
            next_open: next_hint.and_then(DateTime::from_timestamp_micros),
        })
    }

    /// Where a sweep that went up to `passed` (µs) is remembered to have
    /// ended: never past the cluster's time. A caller may sweep with a
    /// `now` of its own (a later one, to see what will open); the next
    /// sweep must still read the hints between the cluster's time and that.
    fn remembered(&self, passed: i64) -> i64 {
        passed.min(self.clock.estimate().timestamp_micros())
    }

    /// Moves the list's low mark to [`LOW_SAFETY`] before `passed`, a
    /// position every hint before which has been read by a sweep.
    async fn mark_low(&self, session: &Session, task_list: &str, passed: i64) -> Result<()> {
        // Never ahead of the cluster's time (a forged token's start
        // included): a mark in the future could not be moved back. Not
        // moved at all while that time cannot be told.
        let Ok(now) = self.clock.now_if_known() else {
            return Ok(());
        };
        let low = passed.min(now.timestamp_micros()) - micros(LOW_SAFETY);
        session
            .execute_unpaged(&self.write_low, (low, low, task_list))
            .await
            .map_err(storage)?;
        Ok(())
    }

    /// One step of a walk: the provided claim-next, over the list's pages.
    async fn walk(
        &self,
        adapter: &CassandraAdapter,
        task_list: &str,
        walk: Step,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        let Step::Walk {
            token,
            started,
            sets_low,
            clean,
        } = walk
        else {
            return Ok(ReadyTasks::default());
        };
        let first_step = token.is_none();
        let (mut ready, records) =
            crate::adapter::ready::ready_by_walking(adapter, task_list, token.as_ref(), limit, now)
                .await?;
        self.count(|r| r.walked += records);
        // `clean`: nothing handed out so far in this walk.
        let clean = clean && ready.tasks.is_empty();
        let opens = ready.next_open.map(|at| at.timestamp_micros());
        self.memory(task_list, |m| {
            let earlier = if first_step { None } else { m.walk_open };
            m.walk_open = match (earlier, opens) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        });
        match ready.next.take() {
            Some(next) => {
                let walk = Step::Walk {
                    token: Some(next),
                    started,
                    sets_low,
                    clean,
                };
                ready.next = Some(walk.encode());
            }
            None => {
                self.memory(task_list, |m| {
                    m.walked_at = Instant::now();
                    m.ahead = None;
                    if sets_low {
                        // Every hint before the walk began is behind it.
                        m.end = Some(self.remembered(started));
                        m.low_swept_at = Some(Instant::now());
                    }
                    if clean {
                        m.quiet = Some(Quiet {
                            since: started,
                            opens_at: m.walk_open,
                        });
                    }
                });
                if sets_low {
                    self.mark_low(adapter.session(), task_list, started).await?;
                }
            }
        }
        Ok(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_tokens_read_back_as_written() {
        let hints = Step::Hints {
            after: (-1_234_567, "id with ünïcode".to_owned()),
            from_low: true,
        };
        match Step::decode(&hints.encode()).unwrap() {
            Step::Hints { after, from_low } => {
                assert_eq!(
                    (after.0, after.1.as_str(), from_low),
                    (-1_234_567, "id with ünïcode", true)
                );
            }
            Step::Walk { .. } => panic!("a hints token read back as a walk"),
        }
        let walk = Step::Walk {
            token: Some(PageToken::from_bytes(vec![1, 2, 3])),
            started: 42,
            sets_low: true,
            clean: false,
        };
        match Step::decode(&walk.encode()).unwrap() {
            Step::Walk {
                token,
                started,
                sets_low,
                clean,
            } => {
                assert_eq!(
                    (token.unwrap().as_bytes(), started, sets_low, clean),
                    (&[1u8, 2, 3][..], 42, true, false)
                );
            }
            Step::Hints { .. } => panic!("a walk token read back as hints"),
        }
        for bad in [
            &b""[..],
            b"x",
            &[HINTS_TAG, 1, 0, 0],
            &[WALK_TAG],
            &[WALK_TAG, 3, 0],
        ] {
            assert!(matches!(
                Step::decode(&PageToken::from_bytes(bad.to_vec())),
                Err(Error::InvalidPageToken { .. })
            ));
        }
    }

    #[test]
    fn slices_split_due_times_by_thirty_seconds() {
        assert_eq!(slice_of(0), 0);
        assert_eq!(slice_of(micros(HINT_SLICE) - 1), 0);
        assert_eq!(slice_of(micros(HINT_SLICE)), 1);
        assert_eq!(slice_of(-1), -1);
    }
}
