//! Claims the owner of a part holds without writing them, for their first
//! moments: a task that finishes within them costs its state read and its
//! completion, and nothing in between.
//!
//! With [`CassandraConfig::owned_parts`](super::CassandraConfig::owned_parts)
//! one process owns each part of a list under a lease, and no other process
//! claims in it while the lease holds (`plain_claims`, `owners_watch`). A
//! claim written there protects the task against nobody else for as long as
//! the part's lease holds: it only tells what the owner already knows. So
//! when the owner's own sweep or walk hands a task out (`next_ready`) and a
//! worker claims it under a lease of [`lease_hints::MIN_LEASE`] or more, the
//! claim is *held*: kept in this process, with the pending version's token
//! and the time that version was written, and written to the row only if
//! the task is still running [`lease_hints::delay_for`] later (2 s at most):
//!
//! - **A completion within the delay** deletes the row `USING TIMESTAMP`
//!   the version's last write, and its listing entry `USING TIMESTAMP` the
//!   moment the claim was held (as a plain claim's completion does), with
//!   no read first: the version run goes, a version saved since (stamped
//!   later) stays and is handed out again.
//! - **Any other change within the delay** (a failure, a retry, a release,
//!   a renewal) is the lightweight transaction it always was, conditional
//!   on the pending version's token.
//! - **After the delay** the claim is written: the lightweight transaction
//!   a claim without parts would have been (`IF state_token =` the pending
//!   token), then its lease-end hint. From then on the task is claimed as
//!   any other, under its own lease, seen by every process. One Paxos round
//!   per task that outlives the delay; none for those that do not.
//!
//! Who could claim a held task while it runs: no other process while this
//! one holds the part (claims there are refused); in this process, a second
//! claim is refused and a state read sees the held claim. So until the
//! claim is written, **the task's lease is its part's**, renewed every few
//! seconds while this process lives, and a claim is only held while the
//! part's lease has more than [`FENCE_MARGIN`](super::ready::FENCE_MARGIN)
//! to run by the cluster's time. The write after the delay happens only if
//! the part is still this process's; otherwise the claim is lost (the
//! worker's completion says so) and the task is the part's next owner's.
//!
//! What this trades: other processes see a held task as pending (the
//! dashboard's and `count --by-status`'s "claimed" leave out tasks in their
//! first 2 s); a process killed within the delay leaves a pending task
//! whose hint its sweep has read, which comes back through the list's
//! walk, as a task whose lease-end hint was not written yet did before.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use super::clock::ClusterClock;
use super::ready::{Parts, ReadyIndex};
use super::{applied, first_row};

/// Claims held at once before new ones are written as plain claims: each
/// is a task a worker of this process runs, so only a process with more
/// tasks in flight than this gets there.
const MAX_HELD: usize = 65_536;

/// Pauses before the second and third try of a lease-end hint's write.
const HINT_RETRY_PAUSES: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(1000)];

/// The claims held, by (list, id), shared with their writers.
type HeldMap = Arc<Mutex<HashMap<(String, String), Arc<Held>>>>;

/// What became of a version a held claim was made from, once this process
/// changed the task ([`HeldClaims::take`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Superseded {
    /// A change is on its way (or landed): the version is not the row's.
    Changed,
    /// The task was completed: the version is deleted.
    Completed,
}

/// The versions superseded, by (list, id), in two generations: the older
/// is dropped whole when the newer fills, so a mark lives at least
/// [`MAX_HELD`] changes (far longer than a read in flight).
#[derive(Default)]
struct Marks {
    new: HashMap<(String, String), (uuid::Uuid, Superseded)>,
    old: HashMap<(String, String), (uuid::Uuid, Superseded)>,
}

impl Marks {
    fn get(&self, key: &(String, String), token: uuid::Uuid) -> Option<Superseded> {
        let found = self.new.get(key).or_else(|| self.old.get(key))?;
        (found.0 == token).then_some(found.1)
    }

    fn set(&mut self, key: (String, String), token: uuid::Uuid, what: Superseded) {
        if self.new.len() >= MAX_HELD {
            self.old = std::mem::take(&mut self.new);
        }
        self.old.remove(&key);
        self.new.insert(key, (token, what));
    }

    fn unset(&mut self, key: &(String, String), token: uuid::Uuid) {
        for map in [&mut self.new, &mut self.old] {
            if map.get(key).is_some_and(|(t, _)| *t == token) {
                map.remove(key);
            }
        }
    }
}

/// What [`HeldClaims::hold`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HoldOutcome {
    /// Held: the caller answers with the claim's token.
    Held,
    /// This process holds a claim of the task already: refused.
    AlreadyHeld,
    /// Not held (the part's lease too near its end, too many held, or no
    /// runtime to write it later): the caller writes the claim itself.
    NotHeld,
}

/// Tries of a held claim's write, and the pauses between them: a write
/// whose outcome is unknown is sent again (it is conditional, and finds its
/// own claim if the first landed), so the part is not handed back with the
/// claim unwritten.
const WRITE_RETRY_PAUSES: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(1000)];

/// One held claim.
pub(super) struct Held {
    /// The token of the pending version the claim was made from: the row's
    /// until the claim is written.
    pub(super) pending_token: uuid::Uuid,
    /// The token the worker was given, the row's once the claim is written.
    pub(super) claim_token: uuid::Uuid,
    /// When the version run was last written (µs): what a completion
    /// within the delay deletes its row by.
    pub(super) version_written: i64,
    /// The minute of the task's listing entry.
    pub(super) slice: Option<i64>,
    /// What a completion within the delay deletes the listing entry by:
    /// the cluster's time when the state read it was handed out from
    /// started, less the clock's uncertainty (a save writes its row and its
    /// entry in batches of their own when it saves many, so the entry's
    /// write time may be later than the row's). Not the time of the hold: a
    /// version saved between the read and the hold rewrites the entry where
    /// it was, and a delete stamped later would take that version's entry
    /// with it, its row kept but neither listed nor counted.
    pub(super) entry_deleted_at: i64,
    /// The claimed state's JSON, as the worker made it.
    state: String,
    /// The task's part of its list.
    part: u32,
    /// The claim's lease end: its lease-end hint's due time.
    lease_end: DateTime<Utc>,
    phase: tokio::sync::Mutex<Phase>,
    /// Keeps the part from being handed back while the claim is neither
    /// written nor ended; taken by whichever comes first.
    unwritten: Mutex<Option<Unwritten>>,
}

/// A claim held in a part and not written yet, as the part sees it
/// ([`Parts::start_hold`]): ended when dropped, after the write that ends
/// it (the claim's, or the change that replaces it) was sent.
pub(super) struct Unwritten {
    parts: Arc<Parts>,
    task_list: String,
    part: u32,
}

impl Drop for Unwritten {
    fn drop(&mut self) {
        self.parts.end_hold(&self.task_list, self.part);
    }
}

/// Where a held claim is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Held in memory: the row is the pending version.
    Held,
    /// Written: the row holds the claim, with `claim_token`.
    Written,
    /// Lost before it was written: the part went to another process, or
    /// the task changed (saved again, deleted).
    Lost,
    /// Ended by a change this process made (`take`).
    Ended,
}

/// Counts of held claims, for [`ReadyReads`](super::ReadyReads).
#[derive(Debug, Default)]
struct Counts {
    held: AtomicU64,
    written: AtomicU64,
    lost: AtomicU64,
}

pub(super) struct HeldClaims {
    held: HeldMap,
    /// The versions held claims were made from, once this process changed
    /// their tasks: a state read that saw one of them was on its way
    /// before the change, and what it saw is not the row's any more.
    superseded: Mutex<Marks>,
    /// What writes each claim after its delay, shared with the tasks that
    /// wait for it.
    writer: Arc<Writer>,
}

/// A claim to hold ([`HeldClaims::hold`]).
pub(super) struct ToHold<'a> {
    pub(super) task_list: &'a str,
    pub(super) id: &'a str,
    pub(super) part: u32,
    pub(super) pending_token: uuid::Uuid,
    pub(super) claim_token: uuid::Uuid,
    pub(super) version_written: i64,
    pub(super) slice: Option<i64>,
    /// When the state read the task was handed out from started, by the
    /// cluster's time less the clock's uncertainty (µs).
    pub(super) read_at_the_earliest: i64,
    pub(super) state: &'a str,
    pub(super) lease_end: DateTime<Utc>,
    /// Until when (µs, the cluster's time) the part's lease may be trusted.
    pub(super) valid_until: i64,
    /// How long the claim is held before it is written.
    pub(super) delay: Duration,
}

impl HeldClaims {
    pub(super) fn new(
        session: Arc<Session>,
        swap: PreparedStatement,
        ready: &ReadyIndex,
        clock: Arc<ClusterClock>,
    ) -> Option<Self> {
        let held = HeldMap::default();
        let writer = Writer {
            held_claims: Arc::clone(&held),
            session,
            swap,
            hint_insert: ready.insert_statement().clone(),
            parts: ready.shared_parts()?,
            clock,
            counts: Counts::default(),
        };
        Some(HeldClaims {
            held,
            superseded: Mutex::default(),
            writer: Arc::new(writer),
        })
    }

    /// Holds a claim, and writes it after `to_hold.delay` if nothing this
    /// process does to the task comes first.
    pub(super) fn hold(&self, to_hold: ToHold<'_>) -> HoldOutcome {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return HoldOutcome::NotHeld;
        };
        if self.holds(to_hold.task_list, to_hold.id) {
            return HoldOutcome::AlreadyHeld;
        }
        // The claim is written `delay` from now: the part's lease must
        // still hold then.
        let delay = i64::try_from(to_hold.delay.as_micros()).unwrap_or(i64::MAX / 2);
        if self.writer.clock.estimate().timestamp_micros() + delay >= to_hold.valid_until
            || !self
                .writer
                .parts
                .start_hold(to_hold.task_list, to_hold.part)
        {
            return HoldOutcome::NotHeld;
        }
        let unwritten = Unwritten {
            parts: Arc::clone(&self.writer.parts),
            task_list: to_hold.task_list.to_owned(),
            part: to_hold.part,
        };
        let key = (to_hold.task_list.to_owned(), to_hold.id.to_owned());
        let held = Arc::new(Held {
            pending_token: to_hold.pending_token,
            claim_token: to_hold.claim_token,
            version_written: to_hold.version_written,
            slice: to_hold.slice,
            entry_deleted_at: to_hold.read_at_the_earliest.max(to_hold.version_written),
            state: to_hold.state.to_owned(),
            part: to_hold.part,
            lease_end: to_hold.lease_end,
            phase: tokio::sync::Mutex::new(Phase::Held),
            unwritten: Mutex::new(Some(unwritten)),
        });
        {
            let mut map = lock(&self.held);
            if map.contains_key(&key) {
                return HoldOutcome::AlreadyHeld;
            }
            if map.len() >= MAX_HELD {
                return HoldOutcome::NotHeld;
            }
            map.insert(key.clone(), Arc::clone(&held));
        }
        self.writer.counts.held.fetch_add(1, Ordering::Relaxed);
        let writer = Arc::clone(&self.writer);
        let delay = to_hold.delay;
        runtime.spawn(async move {
            tokio::time::sleep(delay).await;
            writer.write(key, held).await;
        });
        HoldOutcome::Held
    }

    /// Whether a state read of (list, id) that saw `token` saw a version
    /// this process held a claim of and changed since (a read made before
    /// the change landed), and what became of it.
    pub(super) fn superseded(
        &self,
        task_list: &str,
        id: &str,
        token: uuid::Uuid,
    ) -> Option<Superseded> {
        let marks = lock(&self.superseded);
        if marks.new.is_empty() && marks.old.is_empty() {
            return None;
        }
        marks.get(&(task_list.to_owned(), id.to_owned()), token)
    }

    /// The change of the task whose claim was held from `pending_token`
    /// ended: completed (the version is gone), or failed to be sent (the
    /// version may still be the row's: the mark goes).
    pub(super) fn change_ended(
        &self,
        task_list: &str,
        id: &str,
        pending_token: uuid::Uuid,
        outcome: ChangeEnded,
    ) {
        let key = (task_list.to_owned(), id.to_owned());
        let mut marks = lock(&self.superseded);
        match outcome {
            ChangeEnded::Completed => marks.set(key, pending_token, Superseded::Completed),
            ChangeEnded::Changed => {}
            ChangeEnded::NotSent => marks.unset(&key, pending_token),
        }
    }

    /// Whether this process holds a claim of (list, id) not yet ended.
    pub(super) fn holds(&self, task_list: &str, id: &str) -> bool {
        let map = lock(&self.held);
        !map.is_empty() && map.contains_key(&(task_list.to_owned(), id.to_owned()))
    }

    /// The held claim of (list, id) that `token` names, taken out: the
    /// caller changes the task, and the claim's write (if not done yet)
    /// will not happen. Its phase before, with the claim and, if it was not
    /// written, what keeps its part: the caller drops it once its change is
    /// sent.
    pub(super) async fn take(
        &self,
        task_list: &str,
        id: &str,
        token: uuid::Uuid,
    ) -> Option<(Phase, Arc<Held>, Option<Unwritten>)> {
        let held = {
            let mut map = lock(&self.held);
            if map.is_empty() {
                return None;
            }
            let key = (task_list.to_owned(), id.to_owned());
            let held = match map.get(&key) {
                Some(held) if held.claim_token == token => map.remove(&key)?,
                _ => return None,
            };
            // From now on the version is being changed: a read of it on its
            // way is not handed out (`superseded`).
            lock(&self.superseded).set(key, held.pending_token, Superseded::Changed);
            held
        };
        // Waits for a write under way: its outcome decides the change's.
        let mut phase = held.phase.lock().await;
        let was = std::mem::replace(&mut *phase, Phase::Ended);
        let unwritten = lock(&held.unwritten).take();
        drop(phase);
        Some((was, held, unwritten))
    }

    /// What a state read of (list, id) that saw `token` shows in this
    /// process: the held claim's state and token while it is held from
    /// that version, so a second claim here sees the task claimed.
    pub(super) fn as_seen_here(
        &self,
        task_list: &str,
        id: &str,
        token: uuid::Uuid,
    ) -> Option<(String, uuid::Uuid)> {
        let held = {
            let map = lock(&self.held);
            if map.is_empty() {
                return None;
            }
            map.get(&(task_list.to_owned(), id.to_owned()))?.clone()
        };
        if held.pending_token != token {
            return None;
        }
        // Being written right now: the row shows what it shows.
        let phase = held.phase.try_lock().ok()?;
        (*phase == Phase::Held).then(|| (held.state.clone(), held.claim_token))
    }

    /// Claims held so far, claims written after their delay (a lightweight
    /// transaction each), and claims lost before they were written.
    pub(super) fn counts(&self) -> (u64, u64, u64) {
        (
            self.writer.counts.held.load(Ordering::Relaxed),
            self.writer.counts.written.load(Ordering::Relaxed),
            self.writer.counts.lost.load(Ordering::Relaxed),
        )
    }
}

/// How the change that ended a held claim went ([`HeldClaims::change_ended`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChangeEnded {
    Completed,
    Changed,
    NotSent,
}

/// What writes a held claim after its delay, apart from the adapter.
struct Writer {
    held_claims: HeldMap,
    session: Arc<Session>,
    swap: PreparedStatement,
    hint_insert: PreparedStatement,
    parts: Arc<Parts>,
    clock: Arc<ClusterClock>,
    counts: Counts,
}

impl Writer {
    async fn write(&self, key: (String, String), held: Arc<Held>) {
        let (task_list, id) = (key.0.as_str(), key.1.as_str());
        let mut phase = held.phase.lock().await;
        if *phase != Phase::Held {
            return; // completed or changed by this process meanwhile
        }
        // Dropped once the write below is sent (or not made).
        let unwritten = lock(&held.unwritten).take();
        let now = self.clock.estimate().timestamp_micros();
        if !self.part_still_mine(task_list, held.part, now) {
            *phase = Phase::Lost;
            drop(phase);
            self.counts.lost.fetch_add(1, Ordering::Relaxed);
            self.forget(&key, &held);
            tracing::warn!(
                task_list,
                id,
                part = held.part,
                "a claim held in memory lost its part before it was written; \
                 the part's next owner runs the task"
            );
            return;
        }
        let values = (
            held.state.as_str(),
            held.claim_token,
            task_list,
            id,
            held.pending_token,
        );
        let mut outcome = Phase::Lost;
        for pause in std::iter::once(None).chain(WRITE_RETRY_PAUSES.map(Some)) {
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
                // A retry is a new claim in the part: only while it is still
                // this process's, as the first try.
                let now = self.clock.estimate().timestamp_micros();
                if !self.part_still_mine(task_list, held.part, now) {
                    break;
                }
            }
            let answer = first_row::<scylla::value::Row>(&self.session, &self.swap, values).await;
            self.counts.written.fetch_add(1, Ordering::Relaxed);
            match answer {
                Ok(row) => {
                    // Applied; or not, but the row holds this claim already (an
                    // earlier try whose answer was lost had landed).
                    let ours = applied(row.as_ref())
                        || row
                            .as_ref()
                            .and_then(|row| row.columns.get(1))
                            .is_some_and(|token| {
                                *token == Some(scylla::value::CqlValue::Uuid(held.claim_token))
                            });
                    // Not ours: saved again or deleted while it ran.
                    outcome = if ours { Phase::Written } else { Phase::Lost };
                    let now = self.clock.estimate().timestamp_micros();
                    if ours && !self.part_still_mine(task_list, held.part, now) {
                        // Sent in time, seen to land late: the part's next
                        // owner may have read the task pending meanwhile.
                        tracing::warn!(
                            task_list,
                            id,
                            part = held.part,
                            "a held claim's write landed after this process's lease on the \
                             task's part could be trusted; the part's next owner may run the \
                             task too"
                        );
                    }
                    break;
                }
                Err(error) => {
                    tracing::debug!(task_list, id, %error, "a held claim's write failed");
                }
            }
        }
        *phase = outcome;
        let written = *phase == Phase::Written;
        drop(phase);
        drop(unwritten);
        if !written {
            self.counts.lost.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                task_list,
                id,
                "a held claim could not be written (its task changed while it ran, or three \
                 writes failed); the claim is lost"
            );
            self.forget(&key, &held);
            return;
        }
        for pause in std::iter::once(None).chain(HINT_RETRY_PAUSES.map(Some)) {
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
            }
            let values =
                ReadyIndex::hint_values(task_list, id, held.lease_end, self.clock.estimate(), None);
            if self
                .session
                .execute_unpaged(&self.hint_insert, values)
                .await
                .is_ok()
            {
                return;
            }
        }
        // Left to the list's walk, as a lease-end hint that fails (`lease_hints`).
    }

    /// Whether this process may still write a claim in `part` of
    /// `task_list` at `now` (µs): its lease there, less the margin, has not
    /// run out.
    fn part_still_mine(&self, task_list: &str, part: u32, now: i64) -> bool {
        self.parts
            .hold_valid_until(task_list, part)
            .is_some_and(|until| now < until)
    }

    /// Drops the held claim from the map, if it is still this one: the
    /// worker's next change finds no claim and is told it was lost.
    fn forget(&self, key: &(String, String), held: &Arc<Held>) {
        let mut map = lock(&self.held_claims);
        if map.get(key).is_some_and(|h| Arc::ptr_eq(h, held)) {
            map.remove(key);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
