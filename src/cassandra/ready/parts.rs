//! Parts of a list: which shards of the ready index this process sweeps,
//! when [`CassandraConfig::owned_parts`](crate::cassandra::CassandraConfig::owned_parts)
//! is on.
//!
//! Without it, every process that sweeps a list reads every hint of it and
//! races the others for the same tasks: two workers on one list lost a
//! fifth to a half of their claims to each other (`docs/BENCHMARKS.md`),
//! each loss a Paxos round and a state read for nothing. With it, the
//! [`SHARDS`] hint shards of a list are its **parts**, and each part has one
//! owner at a time, recorded in `{table}_ready_parts`:
//!
//! - a process that sweeps a list says so every [`RENEW_EVERY`] with a row
//!   in `{table}_ready_sweepers` that expires after [`SWEEPER_TTL`]; its
//!   fair share is the parts over the live sweepers, rounded up;
//! - it takes free parts up to its share (released, never owned, or whose
//!   lease ended) with one lightweight transaction each, renews the parts
//!   it keeps with one for all of them (a conditional batch in the list's
//!   partition) and hands back parts past its share in the same batch;
//! - it sweeps only the hints of its parts; a part's `swept_to`, written by
//!   its owner like the list's low mark, is where the next owner starts;
//! - a part whose owner stopped sweeping without handing it back (killed,
//!   cut off) is free once its [`PART_LEASE`] has run out: taking it over is
//!   logged with who held it and since when, and counted
//!   ([`ReadyReads::part_takeovers`](super::ReadyReads::part_takeovers),
//!   the metric `taskrec_part_takeovers_total`).
//!
//! Ownership also decides who may claim a task without a lightweight
//! transaction: the owner of its part, inside its lease
//! (`src/cassandra/plain_claims.rs` has the rules).
//! For that, this module tells for each part whether this process may
//! write claims plainly now ([`Parts::claim_mode`]): once no claim by hand
//! that found the part free may still land (at once after a take, or
//! [`HAND_WINDOW`] after it if a claim by hand left its mark on the list:
//! `hand_marks`), and [`FENCE_MARGIN`] short of the lease's end. A part
//! handed back stops being claimable in before the hand-back is sent.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use scylla::client::session::Session;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::{Consistency, SerialConsistency};

use crate::cassandra::clock::ClusterClock;
use crate::error::Result;

use super::hand_marks::{HandMarks, HAND_MARK};
use super::{micros, SHARDS};
use crate::cassandra::per_list::PerList;
use crate::cassandra::{applied, first_row, storage};

/// How long a part stays its owner's after the owner's last renewal.
pub const PART_LEASE: Duration = Duration::from_secs(20);
/// How often a sweeping process renews its parts and looks at its share,
/// at the start of a sweep.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How long a process counts as sweeping a list after it last said so.
pub const SWEEPER_TTL: Duration = Duration::from_secs(15);
/// How long before its lease ends an owner stops trusting its plain
/// claims: more than two processes' clocks can disagree (each within
/// [`MAX_CLOCK_TOLERANCE`](crate::cassandra::MAX_CLOCK_TOLERANCE) of the
/// cluster's), so a claim the owner saw land before this point landed
/// before the lease ended by any other process's clock too.
pub const FENCE_MARGIN: Duration = Duration::from_secs(2);
/// How long after taking a part its owner still claims its tasks with
/// lightweight transactions when a claim by hand was made in the list
/// lately (its mark is there: `hand_marks`): a claim by hand that found
/// the part free before it was taken has this long to land (less
/// [`FENCE_MARGIN`]), and is seen by the owner's first plain claim.
///
/// 6 s: a claim by hand is trusted if it lands within 4 s of its mark;
/// with less (4 s, 2 s to land) claims on a loaded node were turned down
/// whose lightweight transaction alone took over a second.
pub const HAND_WINDOW: Duration = Duration::from_secs(6);
/// The longest [`Parts::stop`] waits for the claims held in its parts to
/// be written: they are within 2 s (`lease_hints::MAX_DELAY`), and a write
/// that takes longer is the part's lease's to settle.
const STOP_WAITS_FOR_HELD_CLAIMS: Duration = Duration::from_secs(5);

/// A part's row as read: owner (`""` when handed back), since, lease end
/// and where its owner last swept to (µs of the cluster's time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct PartRow {
    owner: String,
    since: i64,
    lease_end: i64,
    swept_to: Option<i64>,
}

/// What this process holds of one list.
#[derive(Debug, Default)]
struct Held {
    parts: BTreeSet<u32>,
    refreshed_at: Option<Instant>,
    /// When this process should look at the parts again although its own
    /// hold nothing (see [`Parts::again_at`]).
    again_at: Option<i64>,
    /// Where a sweep of the parts held starts: the lowest of their
    /// `swept_to`; `None` when one was never swept (a walk finds its tasks).
    low: Option<i64>,
    /// Parts were taken since the last sweep began.
    gained: bool,
    /// From when this process may claim plainly in each part held (µs of
    /// the cluster's time), and from state reads made then or later: when
    /// no claim by hand that found the part free may still land in it.
    plain_from: BTreeMap<u32, i64>,
    /// Until when (µs) this process may trust its plain claims in the
    /// parts held: [`FENCE_MARGIN`] before their lease ends.
    valid_until: i64,
    /// Parts past this process's share that it renews but claims nothing
    /// in, until the claims it holds there unwritten end: handed back
    /// with one unwritten, the part's next owner could claim its task.
    leaving: BTreeSet<u32>,
    /// Claims held in memory and not written yet (`held_claims`), by part.
    unwritten: BTreeMap<u32, usize>,
}

impl Held {
    fn holds_unwritten(&self, part: u32) -> bool {
        self.unwritten.get(&part).is_some_and(|n| *n > 0)
    }
}

/// How this process may claim a task of a list with owned parts
/// ([`Parts::claim_mode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimMode {
    /// It owns the task's part: a plain write, trusted if it is seen to
    /// land before `valid_until` (µs of the cluster's time), of a task
    /// whose state was read at `plain_from` or later (µs), when no claim by
    /// hand can land in the part any more.
    Plain { valid_until: i64, plain_from: i64 },
    /// It took the task's part less than [`HAND_WINDOW`] ago, and a claim
    /// by hand may still land there: a lightweight transaction, as a claim
    /// by hand would be, trusted only if it is seen to land before
    /// `valid_until` (µs), as a plain claim.
    Early { valid_until: i64 },
    /// Another process's part, or nobody's, or one whose lease this
    /// process can no longer trust (its renewals did not land in time): a
    /// claim by hand.
    NotHeld,
}

/// A part's owner as read from the table: who, and until when (µs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) owner: String,
    pub(crate) lease_end: i64,
}

pub(crate) struct Parts {
    /// This process, as owners and sweepers are named: readable in a log
    /// line, unique per adapter.
    me: String,
    /// For the batch that renews and hands back parts.
    write: Consistency,
    serial: SerialConsistency,
    read: PreparedStatement,
    read_one: PreparedStatement,
    take_new: PreparedStatement,
    take_from: PreparedStatement,
    renew: PreparedStatement,
    release: PreparedStatement,
    mark: PreparedStatement,
    say_sweeping: PreparedStatement,
    stop_sweeping: PreparedStatement,
    read_sweepers: PreparedStatement,
    lists: PerList<Held>,
    /// Claims by hand mark the list before they look at its parts.
    marks: HandMarks,
    takeovers: AtomicU64,
    /// Lightweight transactions on parts, so far.
    transactions: AtomicU64,
}

impl Parts {
    pub(crate) async fn prepare(
        session: &Session,
        parts_table: &str,
        sweepers_table: &str,
        read: Consistency,
        write: Consistency,
        serial: SerialConsistency,
    ) -> Result<Self> {
        // Parts change hands by lightweight transactions only.
        let lwt = |statement| crate::cassandra::lwt(serial, statement);
        let prepare = |cql: String, consistency| {
            let check = "do the ready index's parts tables exist? create them with \
                         `create_schema(true)` or schema/ready_parts.cql";
            crate::cassandra::prepare_with(session, cql, consistency, check)
        };
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        let me = format!(
            "{host}{}pid {} #{}",
            if host.is_empty() { "" } else { " " },
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Ok(Parts {
            me,
            write,
            serial,
            read: prepare(
                format!(
                    "SELECT part, owner, since, lease_end, swept_to FROM {parts_table} \
                     WHERE task_list = ?"
                ),
                read,
            )
            .await?,
            // At the write consistency: a part's row is written by
            // lightweight transactions, whose commits a quorum read sees.
            read_one: prepare(
                format!(
                    "SELECT owner, lease_end FROM {parts_table} WHERE task_list = ? AND part = ?"
                ),
                write,
            )
            .await?,
            take_new: lwt(prepare(
                format!(
                    "INSERT INTO {parts_table} (task_list, part, owner, since, lease_end) \
                     VALUES (?, ?, ?, ?, ?) IF NOT EXISTS"
                ),
                write,
            )
            .await?),
            take_from: lwt(prepare(
                format!(
                    "UPDATE {parts_table} SET owner = ?, since = ?, lease_end = ? \
                     WHERE task_list = ? AND part = ? IF owner = ? AND lease_end = ?"
                ),
                write,
            )
            .await?),
            renew: lwt(prepare(
                format!(
                    "UPDATE {parts_table} SET lease_end = ? WHERE task_list = ? AND part = ? \
                     IF owner = ?"
                ),
                write,
            )
            .await?),
            release: lwt(prepare(
                format!(
                    "UPDATE {parts_table} SET owner = '', lease_end = 0 \
                     WHERE task_list = ? AND part = ? IF owner = ?"
                ),
                write,
            )
            .await?),
            // Only moves forward: its own value is its timestamp, as the
            // list's low mark.
            mark: prepare(
                format!(
                    "UPDATE {parts_table} USING TIMESTAMP ? SET swept_to = ? \
                     WHERE task_list = ? AND part = ?"
                ),
                write,
            )
            .await?,
            say_sweeping: prepare(
                format!(
                    "INSERT INTO {sweepers_table} (task_list, sweeper) VALUES (?, ?) USING TTL ?"
                ),
                write,
            )
            .await?,
            stop_sweeping: prepare(
                format!("DELETE FROM {sweepers_table} WHERE task_list = ? AND sweeper = ?"),
                write,
            )
            .await?,
            read_sweepers: prepare(
                format!("SELECT sweeper FROM {sweepers_table} WHERE task_list = ?"),
                read,
            )
            .await?,
            lists: PerList::new(),
            marks: HandMarks::prepare(session, sweepers_table, write).await?,
            takeovers: AtomicU64::new(0),
            transactions: AtomicU64::new(0),
        })
    }

    /// Parts taken over from an owner whose lease had run out, so far.
    pub(super) fn takeovers(&self) -> u64 {
        self.takeovers.load(Ordering::Relaxed)
    }

    /// Lightweight transactions (Paxos rounds) this process ran on parts.
    pub(super) fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    /// Runs one lightweight transaction: whether it applied.
    async fn transaction(
        &self,
        session: &Session,
        statement: &PreparedStatement,
        values: impl scylla::serialize::row::SerializeRow,
    ) -> Result<bool> {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        let answer = first_row::<scylla::value::Row>(session, statement, values).await?;
        Ok(applied(answer.as_ref()))
    }

    fn with<R>(&self, task_list: &str, f: impl FnOnce(&mut Held) -> R) -> R {
        // Forgotten past the bound: the next refresh reads which parts are
        // this process's from the table.
        self.lists.with(task_list, Held::default, f)
    }

    /// How this process may claim a task in `part` of `task_list` at
    /// `now` (µs of the cluster's time).
    ///
    /// A part whose lease may have run out (its renewals stalled past
    /// `valid_until`) is claimed in as nobody's: another process may have
    /// taken it, seen no mark and claimed its tasks plainly, and a
    /// lightweight transaction of this process's landing just before such a
    /// plain write would be overwritten unseen, both running the task.
    pub(crate) fn claim_mode(&self, task_list: &str, part: u32, now: i64) -> ClaimMode {
        self.with(task_list, |held| {
            if !held.parts.contains(&part) || now >= held.valid_until {
                return ClaimMode::NotHeld;
            }
            let valid_until = held.valid_until;
            match held.plain_from.get(&part) {
                Some(&plain_from) if now >= plain_from => ClaimMode::Plain {
                    valid_until,
                    plain_from,
                },
                _ => ClaimMode::Early { valid_until },
            }
        })
    }

    /// Until when (µs) this process may trust a plain claim in `part` of
    /// `task_list`, as of now: `None` once it no longer holds the part.
    pub(crate) fn valid_until(&self, task_list: &str, part: u32) -> Option<i64> {
        self.with(task_list, |held| {
            held.parts.contains(&part).then_some(held.valid_until)
        })
    }

    /// A claim held in memory (`held_claims`) starts in `part` of
    /// `task_list`, unless the part is not this process's to claim in (not
    /// held, or on its way back): whether it may.
    pub(crate) fn start_hold(&self, task_list: &str, part: u32) -> bool {
        self.with(task_list, |held| {
            let may = held.parts.contains(&part);
            if may {
                *held.unwritten.entry(part).or_default() += 1;
            }
            may
        })
    }

    /// A claim held in `part` of `task_list` was written, or ended
    /// unwritten.
    pub(crate) fn end_hold(&self, task_list: &str, part: u32) {
        self.with(task_list, |held| {
            if let Some(n) = held.unwritten.get_mut(&part) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    held.unwritten.remove(&part);
                }
            }
        });
    }

    /// Until when (µs) a claim held in `part` of `task_list` may be
    /// written: the part's lease, less the margin, while this process holds
    /// it or is handing it back; `None` once it is gone.
    pub(crate) fn hold_valid_until(&self, task_list: &str, part: u32) -> Option<i64> {
        self.with(task_list, |held| {
            (held.parts.contains(&part) || held.leaving.contains(&part)).then_some(held.valid_until)
        })
    }

    /// Whether this process marked `task_list` so lately that a claim by
    /// hand now reuses the mark (see `hand_marks`).
    pub(crate) fn marked_lately(&self, task_list: &str) -> bool {
        self.marks.marked_lately(task_list)
    }

    /// Before a claim by hand in `task_list` looks at the owner of its
    /// task's part: the list's mark (see `hand_marks`). Returns when it was
    /// written (µs of the cluster's time), what the claim's time to land
    /// counts from.
    pub(crate) async fn mark_hand(
        &self,
        session: &Session,
        task_list: &str,
        now: i64,
    ) -> Result<i64> {
        self.marks.mark(session, task_list, now).await
    }

    /// The owner of `part` of `task_list` as the table says: `None` when
    /// the part was never taken or was handed back.
    pub(crate) async fn owner_of(
        &self,
        session: &Session,
        task_list: &str,
        part: u32,
    ) -> Result<Option<Owner>> {
        let row = first_row::<(Option<String>, Option<i64>)>(
            session,
            &self.read_one,
            (task_list, part as i32),
        )
        .await?;
        Ok(match row {
            Some((Some(owner), lease_end)) if !owner.is_empty() => Some(Owner {
                owner,
                lease_end: lease_end.unwrap_or_default(),
            }),
            _ => None,
        })
    }

    /// The parts this process holds of `task_list`, as of its last look.
    pub(super) fn held(&self, task_list: &str) -> BTreeSet<u32> {
        self.with(task_list, |held| held.parts.clone())
    }

    /// When a sweep that found nothing in this process's parts should look
    /// again all the same (µs), as of the last look: when a part held by a
    /// process that no longer says it sweeps runs out of lease (to take it
    /// over), or at the next renewal while this process has less than its
    /// share and others more (they hand theirs back then). `None` when the
    /// other parts are held by live sweepers, who sweep them: a drain of
    /// this process's parts can end.
    pub(super) fn again_at(&self, task_list: &str) -> Option<i64> {
        self.with(task_list, |held| held.again_at)
    }

    /// Whether parts were taken since the last call (a sweep starting now
    /// starts at their marks).
    pub(super) fn take_gained(&self, task_list: &str) -> bool {
        self.with(task_list, |held| std::mem::take(&mut held.gained))
    }

    /// Where a sweep of the parts held starts (see [`Held::low`]).
    pub(super) fn low(&self, task_list: &str) -> Option<i64> {
        self.with(task_list, |held| held.low)
    }

    /// At a step of a sweep: renews, takes and hands back parts when the
    /// last look is [`RENEW_EVERY`] old (or none was made). Whether it took
    /// parts (a sweep under way then ends: parts taken are swept from their
    /// marks). `now` is the cluster's time (µs).
    pub(super) async fn refresh(
        &self,
        session: &Session,
        task_list: &str,
        now: i64,
        clock: &ClusterClock,
    ) -> Result<bool> {
        let due = self.with(task_list, |held| {
            held.refreshed_at
                .is_none_or(|at| at.elapsed() >= RENEW_EVERY)
        });
        if !due {
            return Ok(false);
        }
        let ttl = i32::try_from(SWEEPER_TTL.as_secs()).unwrap_or(i32::MAX);
        session
            .execute_unpaged(&self.say_sweeping, (task_list, self.me.as_str(), ttl))
            .await
            .map_err(storage)?;
        let (rows, sweepers) = futures::try_join!(
            self.read_parts(session, task_list),
            self.read_sweepers(session, task_list)
        )?;
        let share = (SHARDS as usize).div_ceil(sweepers.len().max(1));
        let lease_end = now + micros(PART_LEASE);

        // Mine, by the table: a part whose lease ran out while this process
        // did not sweep may have been taken since; the batch below tells.
        let mut mine: Vec<u32> = rows
            .iter()
            .filter(|(_, row)| row.owner == self.me)
            .map(|(part, _)| *part)
            .collect();
        // Parts on their way back go first, once their held claims ended.
        let leaving = self.with(task_list, |held| held.leaving.clone());
        mine.sort_by_key(|part| leaving.contains(part));
        let extra = mine.split_off(mine.len().min(share));
        // No plain claim in a part once its hand-back may have landed, and
        // none held; a part whose held claims are not all written yet is
        // renewed, claimed nothing in, and handed back at a later renewal.
        let (release, still_leaving): (Vec<u32>, Vec<u32>) = self.with(task_list, |held| {
            for part in &extra {
                held.parts.remove(part);
                held.plain_from.remove(part);
            }
            let (release, still_leaving): (Vec<u32>, Vec<u32>) =
                extra.iter().partition(|part| !held.holds_unwritten(**part));
            held.leaving = still_leaving.iter().copied().collect();
            (release, still_leaving)
        });
        let renewing: BTreeSet<u32> = mine.iter().copied().collect();
        let renew: Vec<u32> = mine.iter().chain(&still_leaving).copied().collect();
        let mut kept = self
            .renew_and_release(session, task_list, &renew, &release, lease_end)
            .await?;
        // When the renewals landed: a lease that ran out while the refresh
        // was on its way was free to a claim by hand until then.
        let renewed_at = clock.estimate().timestamp_micros();
        // Only those renewed stay on their way back: one taken meanwhile is
        // not this process's to write claims in.
        let leaving: BTreeSet<u32> = still_leaving
            .iter()
            .copied()
            .filter(|part| kept.remove(part))
            .collect();
        self.with(task_list, |held| held.leaving = leaving);

        // Free parts, up to the share: first those never owned or handed
        // back, then those whose owner's lease ran out; in an order of this
        // process's own, so that processes joining together try different ones.
        let start = super::super::shard::shard_of(&self.me, SHARDS);
        let mut free: Vec<(u32, Option<&PartRow>)> = (0..SHARDS)
            .map(|i| (i + start) % SHARDS)
            // Not those just handed back: the rows read say they are still
            // this process's.
            .filter(|part| !kept.contains(part) && !extra.contains(part))
            .filter_map(|part| match rows.get(&part) {
                None => Some((part, None)),
                Some(row) if row.owner.is_empty() || row.lease_end < now => Some((part, Some(row))),
                Some(_) => None,
            })
            .collect();
        free.sort_by_key(|(_, row)| row.is_some_and(|row| !row.owner.is_empty()));
        let mut gained = false;
        let mut lost_race = false;
        for (part, row) in free {
            if kept.len() >= share {
                break;
            }
            let taken = self
                .take(session, task_list, part, row, now, lease_end)
                .await?;
            if !taken {
                // Another process took it first: its share is filling up
                // too; look again at the next renewal.
                lost_race = true;
                break;
            }
            if let Some(row) = row.filter(|row| !row.owner.is_empty() && row.owner != self.me) {
                self.takeovers.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(
                    crate::observe::PART_TAKEOVERS_TOTAL,
                    "task_list" => task_list.to_owned()
                )
                .increment(1);
                tracing::warn!(
                    task_list,
                    part,
                    previous_owner = %row.owner,
                    held_since = %micros_to_text(row.since),
                    lease_ended = %micros_to_text(row.lease_end),
                    owner = %self.me,
                    "took over a part of a list whose owner stopped renewing it"
                );
            }
            kept.insert(part);
            gained = true;
        }

        let held_by_others: Vec<&PartRow> = rows
            .iter()
            .filter(|(part, row)| {
                !kept.contains(part) && !row.owner.is_empty() && row.lease_end >= now
            })
            .map(|(_, row)| row)
            .collect();
        let mut per_owner: HashMap<&str, usize> = HashMap::new();
        for row in &held_by_others {
            *per_owner.entry(row.owner.as_str()).or_default() += 1;
        }
        let orphaned = held_by_others
            .iter()
            .filter(|row| !sweepers.contains(&row.owner))
            .map(|row| row.lease_end + 1)
            .min();
        let handing_back = (kept.len() < share
            && (lost_race || per_owner.values().any(|n| *n > share)))
        .then_some(now + micros(RENEW_EVERY));
        let again_at = match (orphaned, handing_back) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let low = if kept.is_empty() {
            None
        } else {
            kept.iter()
                .map(|part| rows.get(part).and_then(|row| row.swept_to))
                .collect::<Option<Vec<i64>>>()
                .and_then(|lows| lows.into_iter().min())
        };
        // Parts taken now, and parts renewed after their lease had run out
        // or nearly (by another process's clock, a claim by hand may have
        // found them free meanwhile), are claimed in plainly once no claim
        // by hand may still land there: at once if no claim by hand left its
        // mark on the list, read after the take (`hand_marks` says why that
        // is enough), else after HAND_WINDOW.
        // So is a part this process holds by the table but has no start of
        // plain claims for: taken by a refresh that failed after the take,
        // or forgotten (`PerList`'s bound).
        let before = self.with(task_list, |held| held.plain_from.clone());
        let fresh: BTreeSet<u32> = kept
            .iter()
            .copied()
            .filter(|part| {
                !renewing.contains(part)
                    || !before.contains_key(part)
                    || rows
                        .get(part)
                        .is_none_or(|row| row.lease_end - micros(FENCE_MARGIN) < renewed_at)
            })
            .collect();
        let fresh_from = if fresh.is_empty() {
            None
        } else {
            let reading = clock.estimate().timestamp_micros();
            Some(match self.marks.seen(session, task_list).await? {
                true => reading + micros(HAND_WINDOW),
                false => clock.estimate().timestamp_micros(),
            })
        };
        let plain_from: BTreeMap<u32, i64> = kept
            .iter()
            .map(|part| {
                let from = match (fresh_from, fresh.contains(part)) {
                    (Some(from), true) => from,
                    // Kept: as it was (every part kept and not fresh has one).
                    _ => before.get(part).copied().unwrap_or(i64::MAX),
                };
                (*part, from)
            })
            .collect();
        self.with(task_list, |held| {
            gained |= held.parts != kept && !kept.is_subset(&held.parts);
            held.valid_until = lease_end - micros(FENCE_MARGIN);
            held.plain_from = plain_from;
            held.parts = kept;
            held.refreshed_at = Some(Instant::now());
            held.again_at = again_at;
            held.low = low;
            held.gained |= gained;
        });
        Ok(gained)
    }

    async fn read_parts(
        &self,
        session: &Session,
        task_list: &str,
    ) -> Result<BTreeMap<u32, PartRow>> {
        type Row = (i32, Option<String>, Option<i64>, Option<i64>, Option<i64>);
        let result = session
            .execute_unpaged(&self.read, (task_list,))
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?;
        let mut parts = BTreeMap::new();
        for row in result.rows::<Row>().map_err(storage)? {
            let (part, owner, since, lease_end, swept_to) = row.map_err(storage)?;
            // A part outside today's count (a table shared with another
            // version) is not this process's to take.
            let Ok(part) = u32::try_from(part) else {
                continue;
            };
            if part >= SHARDS {
                continue;
            }
            parts.insert(
                part,
                PartRow {
                    owner: owner.unwrap_or_default(),
                    since: since.unwrap_or_default(),
                    lease_end: lease_end.unwrap_or_default(),
                    swept_to,
                },
            );
        }
        Ok(parts)
    }

    async fn read_sweepers(&self, session: &Session, task_list: &str) -> Result<Vec<String>> {
        let result = session
            .execute_unpaged(&self.read_sweepers, (task_list,))
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?;
        let mut sweepers: Vec<String> = result
            .rows::<(String,)>()
            .map_err(storage)?
            .map(|row| row.map(|(s,)| s).map_err(storage))
            .filter(|sweeper| !matches!(sweeper, Ok(name) if name == HAND_MARK))
            .collect::<Result<_>>()?;
        if !sweepers.contains(&self.me) {
            sweepers.push(self.me.clone());
        }
        Ok(sweepers)
    }

    /// Renews `keep` and hands back `release`, in one lightweight
    /// transaction while every part is still this process's; part by part
    /// when one is not. The parts kept.
    async fn renew_and_release(
        &self,
        session: &Session,
        task_list: &str,
        keep: &[u32],
        release: &[u32],
        lease_end: i64,
    ) -> Result<BTreeSet<u32>> {
        if keep.is_empty() && release.is_empty() {
            return Ok(BTreeSet::new());
        }
        let me = self.me.as_str();
        let mut batch = Batch::new(BatchType::Logged);
        batch.set_consistency(self.write);
        batch.set_serial_consistency(Some(self.serial));
        batch.set_is_idempotent(false);
        let mut values: Vec<Box<dyn scylla::serialize::row::SerializeRow + Send + Sync + '_>> =
            Vec::new();
        for part in keep {
            batch.append_statement(self.renew.clone());
            values.push(Box::new((lease_end, task_list, *part as i32, me)));
        }
        for part in release {
            batch.append_statement(self.release.clone());
            values.push(Box::new((task_list, *part as i32, me)));
        }
        self.transactions.fetch_add(1, Ordering::Relaxed);
        let answer = session
            .batch(&batch, values)
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?
            .maybe_first_row::<scylla::value::Row>()
            .map_err(storage)?;
        if applied(answer.as_ref()) {
            return Ok(keep.iter().copied().collect());
        }
        // One of them was taken since: each on its own.
        let mut kept = BTreeSet::new();
        for part in keep {
            let values = (lease_end, task_list, *part as i32, me);
            if self.transaction(session, &self.renew, values).await? {
                kept.insert(*part);
            }
        }
        for part in release {
            let values = (task_list, *part as i32, me);
            self.transaction(session, &self.release, values).await?;
        }
        Ok(kept)
    }

    /// Takes `part`, as it was read (`None`: no row yet); whether it did.
    async fn take(
        &self,
        session: &Session,
        task_list: &str,
        part: u32,
        row: Option<&PartRow>,
        now: i64,
        lease_end: i64,
    ) -> Result<bool> {
        let me = self.me.as_str();
        let part = part as i32;
        match row {
            None => {
                let values = (task_list, part, me, now, lease_end);
                self.transaction(session, &self.take_new, values).await
            }
            Some(row) => {
                let values = (
                    me,
                    now,
                    lease_end,
                    task_list,
                    part,
                    row.owner.as_str(),
                    row.lease_end,
                );
                self.transaction(session, &self.take_from, values).await
            }
        }
    }

    /// Records that this process's sweep of its parts of `task_list` read
    /// every hint before `low` (µs).
    pub(super) async fn mark(&self, session: &Session, task_list: &str, low: i64) -> Result<()> {
        let parts = self.held(task_list);
        futures::future::try_join_all(
            parts.iter().map(|part| {
                session.execute_unpaged(&self.mark, (low, low, task_list, *part as i32))
            }),
        )
        .await
        .map_err(storage)?;
        self.with(task_list, |held| {
            if held.parts == parts {
                held.low = Some(held.low.map_or(low, |l| l.max(low)));
            }
        });
        Ok(())
    }

    /// This process stops sweeping `task_list`: its parts go back at once,
    /// for others to take at their next renewal.
    pub(super) async fn stop(&self, session: &Session, task_list: &str) -> Result<()> {
        let parts: Vec<u32> = self.with(task_list, |held| {
            held.refreshed_at = None;
            held.plain_from.clear();
            let parts = std::mem::take(&mut held.parts);
            held.leaving.extend(parts);
            held.leaving.iter().copied().collect()
        });
        // Claims held there are written (or end) within a moment: wait for
        // them, so the parts' next owners see them.
        let waited = Instant::now();
        while self.with(task_list, |held| !held.unwritten.is_empty())
            && waited.elapsed() < STOP_WAITS_FOR_HELD_CLAIMS
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !parts.is_empty() {
            self.renew_and_release(session, task_list, &[], &parts, 0)
                .await?;
        }
        self.with(task_list, |held| held.leaving.clear());
        session
            .execute_unpaged(&self.stop_sweeping, (task_list, self.me.as_str()))
            .await
            .map_err(storage)?;
        Ok(())
    }
}

fn micros_to_text(at: i64) -> String {
    chrono::DateTime::from_timestamp_micros(at).map_or_else(|| at.to_string(), |at| at.to_rfc3339())
}
