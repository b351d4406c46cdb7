//! How taskrec's table lists a task list without scanning what it completed.
//!
//! The tasks table holds one task per partition and is only ever read by
//! key. Listings, pages and counts read a copy of each record in the
//! **entries** table (`schema/entries.cql`), in the partition of the minute
//! (the **slice**) its task was first saved in and of its shard (the bucket
//! hash of its id). A completion deletes the task's row and its entry: the
//! entry's tombstone stays in that slice's partition, which no save writes
//! into once the minute is over. So a read of an entries partition meets at
//! most the tasks its list created in one minute in that shard, whatever the
//! list completed before.
//!
//! To skip the slices whose tasks are all done, a directory says which
//! slices a list wrote entries in: **slices** (`schema/slices.cql`, one
//! partition per list and day) and **days** (`schema/days.cql`, the days and
//! the list's **low mark**). A listing reads the directory from the low mark;
//! a slice that has been closed for [`CLOSED_AFTER`] and is found empty is
//! marked `drained` and never read again, and the low mark moves past the
//! drained slices at the start. All three tables only ever receive inserts
//! and updates: their reads meet no tombstones at all.
//!
//! A save of a task that already has an entry rewrites it in place while its
//! slice still takes writes ([`WRITES_UNTIL`] after the slice's end), and
//! otherwise moves it to the current slice (a tombstone in the old slice,
//! which that slice's bound already counts). `docs/SCALE.md` has the bounds
//! and the measurements.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::response::{PagingState, PagingStateResponse};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;

use crate::adapter::{Page, PageToken};
use crate::error::{Error, Result};
use crate::record::TaskRecord;

use super::bucket::bucket_of;
use super::clock::ClusterClock;
use super::config::CassandraConfig;
use super::rows::record;
use super::storage;

/// The length of a slice: entries of the tasks a list first saved in the
/// same minute share partitions (one per shard).
pub const SLICE: Duration = Duration::from_secs(60);

/// How long after a slice's end a save of one of its tasks still rewrites
/// the task's entry there; later saves move the entry to the current slice.
pub const WRITES_UNTIL: Duration = Duration::from_secs(60);

/// How much of [`WRITES_UNTIL`] a save of a new task leaves unused when it
/// puts the task's entry in the minute its id was made in without reading
/// first: half of it. Room for two processes' times to be apart (twice the
/// largest clock tolerance) and for such a save to be in flight (the
/// request timeout, 10 s by default), so that it lands before any save that
/// reads can take the minute as closed and move the entry out of it.
pub const NEW_MARGIN: Duration = Duration::from_secs(30);

/// How far ahead of the cluster's time the time of an id taskrec made may
/// be: its task is listed in that minute, which every listing reads until
/// it has come and gone. An id made further ahead is refused
/// ([`KeyError::MadeAhead`](crate::KeyError::MadeAhead)).
pub const MADE_AHEAD_AT_MOST: Duration = Duration::from_secs(24 * 60 * 60);

/// How long after a slice's end a listing that finds it empty may mark it
/// drained. Longer than [`WRITES_UNTIL`] by a margin for a save in flight and
/// for clients whose clocks run behind (keep them in sync with NTP).
pub const CLOSED_AFTER: Duration = Duration::from_secs(300);

/// How many slices a process remembers having named in a list's directory.
const WRITTEN_SLICES_KEPT: usize = 8;

/// How many closed slices one listing start checks for emptiness at most:
/// a list whose low mark fell far behind catches up over a few listings.
const PRUNE_AT_ONCE: usize = 64;

/// How long a closed slice found still holding tasks is not checked again
/// by this process.
const LIVE_RECHECK: Duration = Duration::from_secs(600);

const SLICE_MILLIS: i64 = SLICE.as_millis() as i64;
const SLICES_PER_DAY: i64 = 24 * 60 * 60 * 1_000 / SLICE_MILLIS;

/// The slice of an instant: minutes since the Unix epoch.
pub(super) fn slice_of(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis().div_euclid(SLICE_MILLIS)
}

fn day_of(slice: i64) -> i64 {
    slice.div_euclid(SLICES_PER_DAY)
}

fn chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// The first slice that can still receive writes at `now`: every slice
/// before it is closed.
fn first_open_slice(now: DateTime<Utc>) -> i64 {
    slice_of(now - chrono(CLOSED_AFTER))
}

/// An entries row: id, type, data, created, updated.
type EntryRow = (
    String,
    Option<String>,
    Option<String>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);

fn entry_record(task_list: &str, row: EntryRow) -> Option<TaskRecord> {
    let (id, type_name, data, created, updated) = row;
    record(task_list, id, (type_name, data, created, updated))
}

/// What this process remembers of one list.
#[derive(Default)]
struct ListMemory {
    /// The last few slices and the last day whose directory rows it wrote
    /// (a few: saves of tasks built in the last minute, or by a clock
    /// ahead, write into their ids' minutes while others write into the
    /// current one).
    written_slices: std::collections::VecDeque<i64>,
    written_day: Option<i64>,
    /// Closed slices found holding tasks, and when.
    live: BTreeMap<i64, Instant>,
}

/// The statements of the entries, slices and days tables.
pub(super) struct Listing {
    shards: u32,
    concurrency: usize,
    insert: PreparedStatement,
    delete: PreparedStatement,
    fenced_delete: PreparedStatement,
    insert_slice: PreparedStatement,
    insert_day: PreparedStatement,
    read_days: PreparedStatement,
    read_slices: PreparedStatement,
    mark_drained: PreparedStatement,
    write_low: PreparedStatement,
    list: PreparedStatement,
    probe: PreparedStatement,
    count: PreparedStatement,
    memory: Mutex<HashMap<String, ListMemory>>,
    /// The cluster's time: which minutes are closed.
    clock: Arc<ClusterClock>,
}

/// Where a page of a listing goes on: a slice, a shard, and the driver's
/// paging state within that partition.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Position {
    slice: i64,
    shard: u32,
    paging_state: Vec<u8>,
}

const TOKEN_MAGIC: u8 = 0x7c;

impl Position {
    fn encode(&self) -> PageToken {
        let mut bytes = Vec::with_capacity(13 + self.paging_state.len());
        bytes.push(TOKEN_MAGIC);
        bytes.extend_from_slice(&self.slice.to_be_bytes());
        bytes.extend_from_slice(&self.shard.to_be_bytes());
        bytes.extend_from_slice(&self.paging_state);
        PageToken::from_bytes(bytes)
    }

    fn decode(token: &PageToken, shards: u32) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidPageToken {
            reason: reason.to_owned(),
        };
        let bytes = token.as_bytes();
        if bytes.first() != Some(&TOKEN_MAGIC) || bytes.len() < 13 {
            return Err(invalid("not a token of taskrec's table"));
        }
        let mut slice = [0u8; 8];
        slice.copy_from_slice(&bytes[1..9]);
        let shard = u32::from_be_bytes([bytes[9], bytes[10], bytes[11], bytes[12]]);
        if shard >= shards {
            return Err(invalid("its shard is beyond this table's bucket count"));
        }
        Ok(Position {
            slice: i64::from_be_bytes(slice),
            shard,
            paging_state: bytes[13..].to_vec(),
        })
    }
}

impl Listing {
    /// The statements of the listing of `table` (`keyspace.table`), whose
    /// entries spread over `shards` shards a minute.
    pub(super) async fn prepare(
        session: &Session,
        table: &str,
        shards: u32,
        config: &CassandraConfig,
        clock: Arc<ClusterClock>,
    ) -> Result<Self> {
        let (concurrency, page_size) = (config.list_concurrency, config.page_size);
        let (read, write) = (config.read_consistency, config.write_consistency);
        let prepare = |cql: String, consistency| {
            let check = "do the listing tables of schema 3 exist? see schema/README.md";
            super::prepare_with(session, cql, consistency, check)
        };
        let entries = format!("{table}_entries");
        let slices = format!("{table}_slices");
        let days = format!("{table}_days");
        let mut list = prepare(
            format!(
                "SELECT id, type, data, created_at, updated_at FROM {entries} \
                 WHERE task_list = ? AND slice = ? AND shard = ?"
            ),
            read,
        )
        .await?;
        list.set_page_size(i32::try_from(page_size).unwrap_or(i32::MAX));
        Ok(Listing {
            shards,
            concurrency,
            insert: prepare(
                format!(
                    "INSERT INTO {entries} (task_list, slice, shard, id, type, data, created_at, updated_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?"
                ),
                write,
            )
            .await?,
            delete: prepare(
                format!("DELETE FROM {entries} WHERE task_list = ? AND slice = ? AND shard = ? AND id = ?"),
                write,
            )
            .await?,
            fenced_delete: prepare(
                format!(
                    "DELETE FROM {entries} USING TIMESTAMP ? \
                     WHERE task_list = ? AND slice = ? AND shard = ? AND id = ?"
                ),
                write,
            )
            .await?,
            insert_slice: prepare(
                format!("INSERT INTO {slices} (task_list, day, slice) VALUES (?, ?, ?)"),
                write,
            )
            .await?,
            insert_day: prepare(
                format!("INSERT INTO {days} (task_list, day) VALUES (?, ?)"),
                write,
            )
            .await?,
            read_days: prepare(
                format!("SELECT day, low FROM {days} WHERE task_list = ?"),
                read,
            )
            .await?,
            read_slices: prepare(
                format!(
                    "SELECT slice, drained FROM {slices} \
                     WHERE task_list = ? AND day = ? AND slice >= ?"
                ),
                read,
            )
            .await?,
            mark_drained: prepare(
                format!(
                    "UPDATE {slices} SET drained = true WHERE task_list = ? AND day = ? AND slice = ?"
                ),
                write,
            )
            .await?,
            write_low: prepare(
                format!("UPDATE {days} USING TIMESTAMP ? SET low = ? WHERE task_list = ?"),
                write,
            )
            .await?,
            list,
            probe: prepare(
                format!(
                    "SELECT id FROM {entries} WHERE task_list = ? AND slice = ? AND shard IN ? LIMIT 1"
                ),
                read,
            )
            .await?,
            count: prepare(
                format!(
                    "SELECT COUNT(*) FROM {entries} WHERE task_list = ? AND slice = ? AND shard = ?"
                ),
                read,
            )
            .await?,
            memory: Mutex::new(HashMap::new()),
            clock,
        })
    }

    pub(super) fn shard(&self, id: &str) -> i32 {
        // Bucket counts are at most MAX_BUCKETS, so the shard fits an i32.
        bucket_of(id, self.shards) as i32
    }

    /// The slice a save at `now` writes a task's entry into, given the slice
    /// its entry is in (if any); and the slice it moves out of, if it moves.
    ///
    /// A task without an entry whose id taskrec made (`built_at`, ms since
    /// the epoch) goes to its id's minute while that takes writes, as
    /// [`place_new`](Self::place_new) would put it: saves that read and
    /// saves that do not agree on where a new id's entry is.
    pub(super) fn place(
        existing: Option<i64>,
        built_at: Option<i64>,
        now: DateTime<Utc>,
    ) -> (i64, Option<i64>) {
        let current = slice_of(now);
        let open_from = slice_of(now - chrono(WRITES_UNTIL));
        match existing {
            // A minute that has not begun is kept too: an id made a moment
            // ahead of this process's time (another's, or a clock ahead)
            // waits there, where saves that do not read put it.
            Some(slice) if open_from <= slice => (slice, None),
            Some(slice) => (current, Some(slice)),
            // As `place_new` would: the id's minute until it stops taking
            // writes, one that has not begun included.
            None => match built_at.map(|at| at.div_euclid(SLICE_MILLIS)) {
                Some(built) if open_from <= built => (built, None),
                _ => (current, None),
            },
        }
    }

    /// The slice a save at `now` of a task whose id was made at
    /// `built_at` (ms since the epoch; [`built_at_millis`](crate::key::built_at_millis))
    /// writes its entry into **without reading** where an earlier save put
    /// it: that minute, until it stops taking writes, with [`NEW_MARGIN`]
    /// to spare. Every save of such an id until then writes the same entry;
    /// a save after it reads and moves the entry as any other
    /// ([`place`](Self::place)). `None` once the id's minute is over.
    ///
    /// A minute that has not begun counts too (an id made by a process
    /// whose clock runs ahead): its entry waits there, listed like any
    /// other. Were it put in the current minute instead, a save once the
    /// id's minute had come would put it in that one as well, unread.
    pub(super) fn place_new(built_at: i64, now: DateTime<Utc>) -> Option<i64> {
        let slice = built_at.div_euclid(SLICE_MILLIS);
        let open_from = slice_of(now - chrono(WRITES_UNTIL) + chrono(NEW_MARGIN));
        (open_from <= slice).then_some(slice)
    }

    /// Refuses an id taskrec made whose time (`built_at`, ms) is more than
    /// [`MADE_AHEAD_AT_MOST`] ahead of `now`.
    pub(super) fn check_made_at(built_at: i64, now: DateTime<Utc>) -> Result<()> {
        let ahead = built_at.saturating_sub(now.timestamp_millis());
        if ahead > MADE_AHEAD_AT_MOST.as_millis() as i64 {
            return Err(Error::InvalidId {
                reason: crate::KeyError::MadeAhead {
                    ahead_secs: u64::try_from(ahead / 1_000).unwrap_or(u64::MAX),
                },
            });
        }
        Ok(())
    }

    pub(super) fn insert_statement(&self) -> &PreparedStatement {
        &self.insert
    }

    pub(super) fn delete_statement(&self) -> &PreparedStatement {
        &self.delete
    }

    pub(super) fn fenced_delete_statement(&self) -> &PreparedStatement {
        &self.fenced_delete
    }

    fn with_memory<T>(&self, task_list: &str, f: impl FnOnce(&mut ListMemory) -> T) -> T {
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        // The list's name is copied only the first time: this runs on every
        // save.
        if let Some(list) = memory.get_mut(task_list) {
            return f(list);
        }
        if memory.len() > 10_000 {
            memory.clear(); // a bound, not a cache policy: lists are few
        }
        f(memory.entry(task_list.to_owned()).or_default())
    }

    /// Makes sure the directory names `slice` before an entry is written
    /// there: once per slice and process, and before the entry, so an entry
    /// is never in a slice a listing cannot find.
    pub(super) async fn register(
        &self,
        session: &Session,
        task_list: &str,
        slice: i64,
    ) -> Result<()> {
        let day = day_of(slice);
        let (slice_known, day_known) = self.with_memory(task_list, |m| {
            (
                m.written_slices.contains(&slice),
                m.written_day == Some(day),
            )
        });
        if slice_known {
            return Ok(());
        }
        let slice_row = session.execute_unpaged(&self.insert_slice, (task_list, day, slice));
        if day_known {
            slice_row.await.map_err(storage)?;
        } else {
            let day_row = session.execute_unpaged(&self.insert_day, (task_list, day));
            futures::try_join!(slice_row, day_row).map_err(storage)?;
        }
        self.with_memory(task_list, |m| {
            if !m.written_slices.contains(&slice) {
                if m.written_slices.len() == WRITTEN_SLICES_KEPT {
                    m.written_slices.pop_back();
                }
                m.written_slices.push_front(slice);
            }
            m.written_day = Some(day);
        });
        Ok(())
    }

    /// The days the list wrote entries in, and its low mark.
    async fn days(&self, session: &Session, task_list: &str) -> Result<(Vec<i64>, Option<i64>)> {
        let rows = session
            .execute_unpaged(&self.read_days, (task_list,))
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?;
        let (mut days, mut low) = (Vec::new(), None);
        for row in rows.rows::<(Option<i64>, Option<i64>)>().map_err(storage)? {
            let (day, mark) = row.map_err(storage)?;
            days.extend(day);
            low = low.or(mark);
        }
        Ok((days, low))
    }

    /// The slices from `from` on that are not drained, in order; with
    /// `first_only`, at most the first.
    async fn slices_from(
        &self,
        session: &Session,
        task_list: &str,
        days: &[i64],
        from: i64,
        first_only: bool,
    ) -> Result<Vec<i64>> {
        let mut slices = Vec::new();
        for &day in days.iter().filter(|&&day| day >= day_of(from)) {
            let mut pager = session
                .execute_iter(self.read_slices.clone(), (task_list, day, from))
                .await
                .map_err(storage)?
                .rows_stream::<(i64, Option<bool>)>()
                .map_err(storage)?;
            while let Some((slice, drained)) = pager.try_next().await.map_err(storage)? {
                if drained != Some(true) {
                    slices.push(slice);
                    if first_only {
                        return Ok(slices);
                    }
                }
            }
        }
        Ok(slices)
    }

    /// The slices of the list from its low mark on that are not marked
    /// drained, in order, and the low mark.
    async fn directory(
        &self,
        session: &Session,
        task_list: &str,
    ) -> Result<(Vec<i64>, Option<i64>)> {
        let (days, low) = self.days(session, task_list).await?;
        let slices = self
            .slices_from(session, task_list, &days, low.unwrap_or(i64::MIN), false)
            .await?;
        Ok((slices, low))
    }

    /// Marks the closed slices found empty drained, takes them out of
    /// `slices`, remembers the closed ones found holding tasks, and moves the
    /// low mark up to the first slice left (never past a slice that may
    /// still be written).
    async fn settle(
        &self,
        session: &Session,
        task_list: &str,
        slices: &mut Vec<i64>,
        low: Option<i64>,
        checked: &[(i64, bool)],
        open: i64,
    ) -> Result<()> {
        let empty: Vec<i64> = checked.iter().filter(|c| c.1).map(|c| c.0).collect();
        stream::iter(empty.iter().copied())
            .map(|slice| async move {
                session
                    .execute_unpaged(&self.mark_drained, (task_list, day_of(slice), slice))
                    .await
                    .map_err(storage)
            })
            .buffer_unordered(self.concurrency)
            .try_collect::<Vec<_>>()
            .await?;
        self.with_memory(task_list, |m| {
            let at = Instant::now();
            for &(slice, is_empty) in checked {
                if is_empty {
                    m.live.remove(&slice);
                } else {
                    m.live.insert(slice, at);
                }
            }
        });
        slices.retain(|slice| !empty.contains(slice));
        // Every slice before the first one left is drained, and every slice
        // before the first open one is closed: the mark may move up to the
        // lower of the two.
        let new_low = slices.first().map_or(open, |&first| first.min(open));
        if low.is_none_or(|low| new_low > low) {
            // The mark's write time is its value (µs): a later write of a
            // lower mark, from a process that read an older directory, loses.
            let written_at = new_low.saturating_mul(SLICE_MILLIS * 1_000);
            session
                .execute_unpaged(&self.write_low, (written_at, new_low, task_list))
                .await
                .map_err(storage)?;
        }
        Ok(())
    }

    /// The slices a listing of the list reads, in order: those not drained
    /// from the low mark on. The first closed slices not found holding tasks
    /// lately are checked (one request each), and settled.
    async fn live_slices(&self, session: &Session, task_list: &str) -> Result<Vec<i64>> {
        let (mut slices, low) = self.directory(session, task_list).await?;
        // Which minutes are closed is the cluster's time to say: while it
        // cannot be told, nothing is marked drained (the listing reads all,
        // and does not wait for a measurement).
        let Ok(now) = self.clock.now_if_known() else {
            return Ok(slices);
        };
        let open = first_open_slice(now);
        let candidates: Vec<i64> = self.with_memory(task_list, |m| {
            m.live.retain(|_, at| at.elapsed() < LIVE_RECHECK);
            slices
                .iter()
                .copied()
                .take_while(|&slice| slice < open)
                .filter(|slice| !m.live.contains_key(slice))
                .take(PRUNE_AT_ONCE)
                .collect()
        });
        let shards: Vec<i32> = (0..self.shards).map(|s| s as i32).collect();
        let checked: Vec<(i64, bool)> = stream::iter(candidates)
            .map(|slice| {
                let shards = &shards;
                async move {
                    let found = session
                        .execute_unpaged(&self.probe, (task_list, slice, shards))
                        .await
                        .map_err(storage)?
                        .into_rows_result()
                        .map_err(storage)?
                        .rows_num();
                    Ok::<_, Error>((slice, found == 0))
                }
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        self.settle(session, task_list, &mut slices, low, &checked, open)
            .await?;
        Ok(slices)
    }

    /// One page of the list's entries (see `StorageAdapter::page`).
    pub(super) async fn page(
        &self,
        session: &Session,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        let (entries, next) = self.page_in(session, task_list, token, page_size).await?;
        Ok(Page {
            records: entries.into_iter().map(|(_, record)| record).collect(),
            next,
        })
    }

    /// One page of the list's entries, each with the slice it is in, and
    /// where the next page starts. A page fills up across partitions (a
    /// minute's shard may hold a handful of entries), so it is short only
    /// at the end of the list.
    pub(super) async fn page_in(
        &self,
        session: &Session,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<(Vec<(i64, TaskRecord)>, Option<PageToken>)> {
        let page_size = page_size.max(1);
        let mut at = match token {
            Some(token) => Position::decode(token, self.shards)?,
            None => match self.live_slices(session, task_list).await?.first() {
                Some(&slice) => Position {
                    slice,
                    shard: 0,
                    paging_state: Vec::new(),
                },
                None => return Ok((Vec::new(), None)),
            },
        };
        let mut entries: Vec<(i64, TaskRecord)> = Vec::new();
        loop {
            let mut statement = self.list.clone();
            let wanted = page_size - entries.len();
            statement.set_page_size(i32::try_from(wanted).unwrap_or(i32::MAX));
            let paging = if at.paging_state.is_empty() {
                PagingState::start()
            } else {
                PagingState::new_from_raw_bytes(at.paging_state.as_slice())
            };
            let shard = i32::try_from(at.shard).map_err(storage)?;
            let (result, more) = session
                .execute_single_page(&statement, (task_list, at.slice, shard), paging)
                .await
                .map_err(storage)?;
            for row in result
                .into_rows_result()
                .map_err(storage)?
                .rows::<EntryRow>()
                .map_err(storage)?
            {
                if let Some(record) = entry_record(task_list, row.map_err(storage)?) {
                    entries.push((at.slice, record));
                }
            }
            let next = match more {
                PagingStateResponse::HasMorePages { state } => Some(Position {
                    paging_state: state
                        .as_bytes_slice()
                        .map(|b| b.to_vec())
                        .unwrap_or_default(),
                    ..at
                }),
                PagingStateResponse::NoMorePages if at.shard + 1 < self.shards => Some(Position {
                    slice: at.slice,
                    shard: at.shard + 1,
                    paging_state: Vec::new(),
                }),
                PagingStateResponse::NoMorePages => {
                    let (days, _) = self.days(session, task_list).await?;
                    let after = at.slice.saturating_add(1);
                    self.slices_from(session, task_list, &days, after, true)
                        .await?
                        .first()
                        .map(|&slice| Position {
                            slice,
                            shard: 0,
                            paging_state: Vec::new(),
                        })
                }
            };
            match next {
                Some(next) if entries.len() < page_size => at = next,
                next => return Ok((entries, next.map(|p| p.encode()))),
            }
        }
    }

    /// Every entry of the list, partitions read `concurrency` at a time,
    /// each through the driver's paging.
    pub(super) fn all<'a>(
        &'a self,
        session: &'a Session,
        task_list: &'a str,
    ) -> BoxStream<'a, Result<TaskRecord>> {
        stream::once(async move {
            let slices = self.live_slices(session, task_list).await?;
            let shards = self.shards;
            let partitions = stream::iter(
                slices
                    .into_iter()
                    .flat_map(move |slice| (0..shards).map(move |shard| (slice, shard))),
            );
            Ok::<_, Error>(
                partitions
                    .map(move |(slice, shard)| self.partition(session, task_list, slice, shard))
                    .flatten_unordered(self.concurrency),
            )
        })
        .try_flatten()
        .boxed()
    }

    fn partition<'a>(
        &'a self,
        session: &'a Session,
        task_list: &'a str,
        slice: i64,
        shard: u32,
    ) -> BoxStream<'a, Result<TaskRecord>> {
        stream::once(async move {
            let shard = i32::try_from(shard).map_err(storage)?;
            let rows = session
                .execute_iter(self.list.clone(), (task_list, slice, shard))
                .await
                .map_err(storage)?
                .rows_stream::<EntryRow>()
                .map_err(storage)?
                .filter_map(move |row| {
                    futures::future::ready(match row.map_err(storage) {
                        Ok(row) => entry_record(task_list, row).map(Ok),
                        Err(e) => Some(Err(e)),
                    })
                });
            Ok::<_, Error>(rows)
        })
        .try_flatten()
        .boxed()
    }

    /// The number of entries of the list. Every partition of every slice
    /// not drained is counted, so the closed slices found empty are settled
    /// here without a further request.
    pub(super) async fn count(&self, session: &Session, task_list: &str) -> Result<u64> {
        let (mut slices, low) = self.directory(session, task_list).await?;
        let shards = self.shards;
        let counts: Vec<(i64, u64)> = stream::iter(
            slices
                .clone()
                .into_iter()
                .flat_map(move |slice| (0..shards).map(move |shard| (slice, shard))),
        )
        .map(|(slice, shard)| async move {
            let shard = i32::try_from(shard).map_err(storage)?;
            let (n,): (i64,) = session
                .execute_unpaged(&self.count, (task_list, slice, shard))
                .await
                .map_err(storage)?
                .into_rows_result()
                .map_err(storage)?
                .single_row()
                .map_err(storage)?;
            Ok::<_, Error>((slice, u64::try_from(n).unwrap_or(0)))
        })
        .buffer_unordered(self.concurrency)
        .try_collect()
        .await?;
        let mut per_slice: BTreeMap<i64, u64> = BTreeMap::new();
        for (slice, n) in counts {
            *per_slice.entry(slice).or_default() += n;
        }
        // Settled only while the cluster's time can be told.
        if let Ok(now) = self.clock.now_if_known() {
            let open = first_open_slice(now);
            let checked: Vec<(i64, bool)> = per_slice
                .iter()
                .filter(|(&slice, _)| slice < open)
                .map(|(&slice, &n)| (slice, n == 0))
                .collect();
            self.settle(session, task_list, &mut slices, low, &checked, open)
                .await?;
        }
        Ok(per_slice.values().sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bad_ones_are_refused() {
        let at = Position {
            slice: 29_000_000,
            shard: 3,
            paging_state: vec![1, 2, 3],
        };
        assert_eq!(Position::decode(&at.encode(), 4).unwrap(), at);
        for bad in ["7c00", "7a0000000000", "7c000000000000000100000004"] {
            let token: PageToken = bad.parse().unwrap();
            assert!(
                matches!(
                    Position::decode(&token, 4),
                    Err(Error::InvalidPageToken { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_save_rewrites_an_entry_in_place_only_while_its_slice_takes_writes() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T12:00:30Z")
            .unwrap()
            .with_timezone(&Utc);
        let current = slice_of(now);
        assert_eq!(Listing::place(None, None, now), (current, None));
        assert_eq!(Listing::place(Some(current), None, now), (current, None));
        assert_eq!(
            Listing::place(Some(current - 1), None, now),
            (current - 1, None)
        );
        // A new id taskrec made goes to its minute while that takes writes.
        let minute_ago = (current - 1) * SLICE_MILLIS + 5;
        assert_eq!(
            Listing::place(None, Some(minute_ago), now),
            (current - 1, None)
        );
        let long_ago = (current - 3) * SLICE_MILLIS;
        assert_eq!(Listing::place(None, Some(long_ago), now), (current, None));
        // An entry that exists wins over the id's minute.
        assert_eq!(
            Listing::place(Some(current), Some(minute_ago), now),
            (current, None)
        );
        assert_eq!(
            Listing::place(Some(current - 2), None, now),
            (current, Some(current - 2))
        );
        // A slice that has not begun (an id made a moment ahead) is kept.
        assert_eq!(
            Listing::place(Some(current + 5), None, now),
            (current + 5, None)
        );
        // Closed slices are those no save writes into any more.
        assert!(first_open_slice(now) < current - 2);
    }

    #[test]
    fn a_new_tasks_entry_goes_to_its_ids_minute_while_that_takes_writes_with_room_to_spare() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T12:00:20Z")
            .unwrap()
            .with_timezone(&Utc);
        let millis = |at: &str| DateTime::parse_from_rfc3339(at).unwrap().timestamp_millis();
        let current = slice_of(now);
        assert_eq!(
            Listing::place_new(millis("2026-12-02T12:00:19Z"), now),
            Some(current)
        );
        // Built in the last minute: that minute takes writes until 12:01:00;
        // unread saves go into it until 12:00:30 (half of that: the margin).
        let last_minute = millis("2026-12-02T11:59:01Z");
        assert_eq!(Listing::place_new(last_minute, now), Some(current - 1));
        let late = now + chrono::Duration::seconds(9);
        assert_eq!(Listing::place_new(last_minute, late), Some(current - 1));
        let too_late = now + chrono::Duration::seconds(10);
        assert_eq!(Listing::place_new(last_minute, too_late), None);
        // Two minutes ago: read first.
        assert_eq!(
            Listing::place_new(millis("2026-12-02T11:58:59Z"), now),
            None
        );
        // Made by a clock ahead: its own minute, before it begins, so that
        // every save until that minute is over agrees; up to a day ahead.
        assert_eq!(
            Listing::place_new(millis("2026-12-02T13:00:00Z"), now),
            Some(current + 60)
        );
        assert!(Listing::check_made_at(millis("2026-12-03T12:00:00Z"), now).is_ok());
        assert!(matches!(
            Listing::check_made_at(millis("2026-12-03T12:00:21Z"), now),
            Err(Error::InvalidId {
                reason: crate::KeyError::MadeAhead { ahead_secs: 86_401 }
            })
        ));
    }

    /// Whatever the id's time and the time of the save: a save that reads
    /// and finds no entry puts it where one that does not read would, and
    /// an entry put there unread is kept in place by every save that reads
    /// while it may still be in flight, from a process up to a second
    /// behind or ahead.
    #[test]
    fn saves_that_read_and_saves_that_do_not_agree() {
        let start = DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let second = chrono::Duration::seconds(1);
        for made in (-180..180).step_by(7) {
            let built = (start + second * made).timestamp_millis();
            for at in (0..120).step_by(3) {
                let now = start + second * at;
                let Some(slice) = Listing::place_new(built, now) else {
                    continue;
                };
                assert_eq!(
                    Listing::place(None, Some(built), now),
                    (slice, None),
                    "made {made} s, saved at {at} s"
                );
                // In flight up to 20 s, decided by a clock 1 s ahead.
                for later in -1..=21 {
                    let then = now + second * later;
                    assert_eq!(
                        Listing::place(Some(slice), Some(built), then),
                        (slice, None),
                        "made {made} s, saved unread at {at} s, read at {} s",
                        at + later
                    );
                }
            }
        }
    }

    #[test]
    fn slices_are_minutes_and_days_hold_1440() {
        let at = DateTime::parse_from_rfc3339("1970-01-02T00:01:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(slice_of(at), 1_441);
        assert_eq!(day_of(1_441), 1);
        assert_eq!(day_of(1_439), 0);
        assert_eq!(day_of(-1), -1);
    }
}
