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
//! A closed slice found still holding a few tasks (at most
//! [`KEPT_AT_MOST`]: tasks failed for good and kept for a person, tasks
//! under long leases) gets their ids written into its directory row
//! (`kept`), and is from then on read by those ids, by key: the point reads
//! meet none of the tombstones the tasks that left it wrote. So a list
//! whose every minute keeps one task in a hundred reads what it holds, not
//! what flowed through it. A closed slice takes no new entries, so the ids
//! named are a superset of what it holds for ever after; a look that finds
//! fewer names fewer, and one that finds none marks it drained.
//!
//! A save of a task that already has an entry rewrites it in place while its
//! slice still takes writes ([`WRITES_UNTIL`] after the slice's end), and
//! otherwise moves it to the current slice (a tombstone in the old slice,
//! which that slice's bound already counts). `docs/SCALE.md` has the bounds
//! and the measurements.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
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

use super::clock::ClusterClock;
use super::config::CassandraConfig;
use super::per_list::{slice_index, PerList};
use super::rows::record;
use super::shard::shard_of;
use super::storage;

/// The length of a listing slice: entries of the tasks a list first saved
/// in the same minute share partitions (one per shard). (Named `SLICE`
/// before 0.3, like the ready index's, which is half as long.)
pub const ENTRY_SLICE: Duration = Duration::from_secs(60);

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

/// How many tasks a closed slice may still hold for the directory to name
/// them (`kept` in `schema/slices.cql`). Such a slice is then read by
/// those ids, by key, and not scanned: the tombstones of the tasks that
/// left it cost no read, so tasks kept for long (failed for good, held by
/// long leases) do not make every listing pay for the tasks that flowed
/// past them. A closed slice takes no new entries, so the set only shrinks.
pub const KEPT_AT_MOST: usize = 256;

/// How many bytes those ids may take in all: the set is one cell.
const KEPT_BYTES_AT_MOST: usize = 16 * 1024;

/// How many shards of a named slice are read at once: a named slice is one
/// unit of a listing's concurrency, whose reads stay within a few requests.
const NAMED_SHARDS_AT_ONCE: usize = 4;

/// Whether this configuration may name the tasks of a closed slice: only if
/// a read sees every write acknowledged before it (read and write
/// consistencies that overlap, no retry that lowers them). A look that
/// missed one entry would name a set without it, and that task would not be
/// listed again; marking a slice drained relies on the same, for a look
/// that misses every entry. Otherwise slices are scanned, as before naming.
fn names_slices(config: &CassandraConfig) -> bool {
    use scylla::statement::Consistency::{All, EachQuorum, LocalQuorum, Quorum};
    let majority = |c| matches!(c, Quorum | LocalQuorum | EachQuorum | All);
    let (read, write) = (config.read_consistency, config.write_consistency);
    let overlap = (majority(read) && majority(write)) || read == All || write == All;
    let keeps_levels = matches!(
        config.retry,
        super::config::Retry::Default | super::config::Retry::Never
    );
    overlap && keeps_levels
}

const SLICE_MILLIS: i64 = ENTRY_SLICE.as_millis() as i64;
const SLICES_PER_DAY: i64 = 24 * 60 * 60 * 1_000 / SLICE_MILLIS;

/// The slice of an instant: minutes since the Unix epoch.
pub(super) fn slice_of(at: DateTime<Utc>) -> i64 {
    slice_index(at.timestamp_millis(), SLICE_MILLIS)
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

/// The named slices a page reads at once: `first` and the named slices
/// right after it, as many as may hold the `wanted` entries (at least one
/// each), stopping at the first slice that is scanned.
fn named_run(
    first: (i64, &[String]),
    upcoming: &VecDeque<Slice>,
    wanted: usize,
) -> Vec<(i64, Vec<String>)> {
    let mut run = vec![(first.0, first.1.to_vec())];
    let mut ids = first.1.len().max(1);
    for slice in upcoming {
        let Some(kept) = &slice.kept else { break };
        ids += kept.len().max(1);
        if ids > wanted {
            break;
        }
        run.push((slice.at, kept.clone()));
    }
    run
}

/// What this process remembers of one list.
#[derive(Default)]
struct DirectoryMemory {
    /// The last few slices and the last day whose directory rows it wrote
    /// (a few: saves of tasks built in the last minute, or by a clock
    /// ahead, write into their ids' minutes while others write into the
    /// current one).
    written_slices: VecDeque<i64>,
    written_day: Option<i64>,
    /// Closed slices found holding tasks, and when.
    live: BTreeMap<i64, Instant>,
}

/// A slice the directory names and does not mark drained.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slice {
    at: i64,
    /// The ids of the tasks it held when a listing last looked, once it was
    /// closed and held few (at most [`KEPT_AT_MOST`]): read by those ids,
    /// by key, instead of by scanning its partitions. Sorted by shard, then
    /// id: the order of a scan.
    kept: Option<Vec<String>>,
}

/// What a look at a closed slice found in it.
#[derive(Debug)]
enum Found {
    /// No entry: it is marked drained.
    Empty,
    /// These few entries, sorted by shard then id: the directory names them.
    Few(Vec<String>),
    /// More than the directory names: it stays a slice that is scanned.
    Many,
}

/// The statements of the entries, slices and days tables.
pub(super) struct Listing {
    shards: u32,
    concurrency: usize,
    /// Whether closed slices holding few tasks get them named (see
    /// [`names_slices`]).
    names_slices: bool,
    insert: PreparedStatement,
    delete: PreparedStatement,
    fenced_delete: PreparedStatement,
    insert_slice: PreparedStatement,
    insert_day: PreparedStatement,
    read_days: PreparedStatement,
    read_slices: PreparedStatement,
    read_slice: PreparedStatement,
    mark_drained: PreparedStatement,
    write_kept: PreparedStatement,
    write_low: PreparedStatement,
    list: PreparedStatement,
    list_ids: PreparedStatement,
    read_by_ids: PreparedStatement,
    count: PreparedStatement,
    memory: PerList<DirectoryMemory>,
    /// The cluster's time: which minutes are closed.
    clock: Arc<ClusterClock>,
}

/// Where a page of a listing goes on: a slice, a shard, and where in that
/// shard's partition.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Position {
    slice: i64,
    shard: u32,
    resume: Resume,
}

/// Where in a partition a page goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resume {
    /// The driver's paging state of a scan of the partition (empty: from
    /// its start).
    Scan(Vec<u8>),
    /// After this id, in a slice read by the ids the directory names: the
    /// slice's tasks left in the shard, by key.
    After(String),
}

impl Position {
    fn start_of(slice: i64) -> Self {
        Position {
            slice,
            shard: 0,
            resume: Resume::Scan(Vec::new()),
        }
    }
}

/// The first byte of a token that goes on with a scan, and of one that goes
/// on after an id.
const TOKEN_MAGIC: u8 = 0x7c;
const TOKEN_MAGIC_AFTER: u8 = 0x7d;

impl Position {
    fn encode(&self) -> PageToken {
        let rest: &[u8] = match &self.resume {
            Resume::Scan(paging_state) => paging_state,
            Resume::After(id) => id.as_bytes(),
        };
        let mut bytes = Vec::with_capacity(13 + rest.len());
        bytes.push(match self.resume {
            Resume::Scan(_) => TOKEN_MAGIC,
            Resume::After(_) => TOKEN_MAGIC_AFTER,
        });
        bytes.extend_from_slice(&self.slice.to_be_bytes());
        bytes.extend_from_slice(&self.shard.to_be_bytes());
        bytes.extend_from_slice(rest);
        PageToken::from_bytes(bytes)
    }

    fn decode(token: &PageToken, shards: u32) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidPageToken {
            reason: reason.to_owned(),
        };
        let bytes = token.as_bytes();
        let magic = bytes.first().copied();
        if !matches!(magic, Some(TOKEN_MAGIC | TOKEN_MAGIC_AFTER)) || bytes.len() < 13 {
            return Err(invalid("not a token of taskrec's table"));
        }
        let mut slice = [0u8; 8];
        slice.copy_from_slice(&bytes[1..9]);
        let shard = u32::from_be_bytes([bytes[9], bytes[10], bytes[11], bytes[12]]);
        if shard >= shards {
            return Err(invalid("its shard is beyond this table's bucket count"));
        }
        let resume = if magic == Some(TOKEN_MAGIC) {
            Resume::Scan(bytes[13..].to_vec())
        } else {
            let id = std::str::from_utf8(&bytes[13..])
                .map_err(|_| invalid("the id it goes on after is not UTF-8"))?;
            Resume::After(id.to_owned())
        };
        Ok(Position {
            slice: i64::from_be_bytes(slice),
            shard,
            resume,
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
        // The column `kept` came after the table: say how to add it.
        let prepare_kept = |cql: String, consistency| {
            let check = format!(
                "a slices table made before its column `kept` needs `ALTER TABLE {slices} ADD \
                 kept frozen<set<text>>`, which `create_schema(true)` runs: see schema/README.md"
            );
            async move { super::prepare_with(session, cql, consistency, &check).await }
        };
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
            names_slices: names_slices(config),
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
            read_slices: prepare_kept(
                format!(
                    "SELECT slice, drained, kept FROM {slices} \
                     WHERE task_list = ? AND day = ? AND slice >= ?"
                ),
                read,
            )
            .await?,
            read_slice: prepare_kept(
                format!(
                    "SELECT drained, kept FROM {slices} \
                     WHERE task_list = ? AND day = ? AND slice = ?"
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
            write_kept: prepare_kept(
                format!(
                    "UPDATE {slices} SET kept = ? WHERE task_list = ? AND day = ? AND slice = ?"
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
            // One more than the directory names: whether a slice holds few.
            list_ids: prepare(
                format!(
                    "SELECT id FROM {entries} WHERE task_list = ? AND slice = ? AND shard IN ? \
                     LIMIT {}",
                    KEPT_AT_MOST + 1
                ),
                read,
            )
            .await?,
            read_by_ids: prepare(
                format!(
                    "SELECT id, type, data, created_at, updated_at FROM {entries} \
                     WHERE task_list = ? AND slice = ? AND shard = ? AND id IN ?"
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
            memory: PerList::new(),
            clock,
        })
    }

    pub(super) fn shard(&self, id: &str) -> i32 {
        // Bucket counts are at most MAX_SHARDS, so the shard fits an i32.
        shard_of(id, self.shards) as i32
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

    fn with_memory<T>(&self, task_list: &str, f: impl FnOnce(&mut DirectoryMemory) -> T) -> T {
        self.memory.with(task_list, DirectoryMemory::default, f)
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
        if self.with_memory(task_list, |m| m.written_slices.contains(&slice)) {
            return Ok(());
        }
        // Boxed: a list writes these rows once a minute, and every save
        // awaits this future, which would otherwise carry room for two
        // requests' futures (some 8 KiB, copied on each save).
        Box::pin(self.write_slice(session, task_list, slice)).await
    }

    /// Writes the directory rows of a slice this process has not written
    /// yet (and of its day, if that is new too), then remembers them.
    async fn write_slice(&self, session: &Session, task_list: &str, slice: i64) -> Result<()> {
        let day = day_of(slice);
        let day_known = self.with_memory(task_list, |m| m.written_day == Some(day));
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

    /// The slices from `from` on that are not drained, in order; at most
    /// `at_most` of them.
    async fn slices_from(
        &self,
        session: &Session,
        task_list: &str,
        days: &[i64],
        from: i64,
        at_most: usize,
    ) -> Result<Vec<Slice>> {
        let mut slices = Vec::new();
        for &day in days.iter().filter(|&&day| day >= day_of(from)) {
            let mut pager = session
                .execute_iter(self.read_slices.clone(), (task_list, day, from))
                .await
                .map_err(storage)?
                .rows_stream::<(i64, Option<bool>, Option<Vec<String>>)>()
                .map_err(storage)?;
            while let Some((at, drained, kept)) = pager.try_next().await.map_err(storage)? {
                if drained != Some(true) {
                    slices.push(Slice {
                        at,
                        kept: kept.map(|ids| self.in_scan_order(ids)),
                    });
                    if slices.len() == at_most {
                        return Ok(slices);
                    }
                }
            }
        }
        Ok(slices)
    }

    /// The ids the directory names for `slice`, for a page that goes on in
    /// it: none once it is drained (nothing is left to read), `None` if it
    /// names none (the slice is scanned).
    async fn kept_of(
        &self,
        session: &Session,
        task_list: &str,
        slice: i64,
    ) -> Result<Option<Vec<String>>> {
        let row = session
            .execute_unpaged(&self.read_slice, (task_list, day_of(slice), slice))
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?
            .maybe_first_row::<(Option<bool>, Option<Vec<String>>)>()
            .map_err(storage)?;
        Ok(match row {
            Some((Some(true), _)) => Some(Vec::new()),
            Some((_, kept)) => kept.map(|ids| self.in_scan_order(ids)),
            None => None,
        })
    }

    /// `ids` sorted as a scan of a slice meets them: by shard, then id.
    fn in_scan_order(&self, mut ids: Vec<String>) -> Vec<String> {
        ids.sort_by_cached_key(|id| (self.shard(id), id.clone()));
        ids
    }

    /// The slices of the list from its low mark on that are not marked
    /// drained, in order, and the low mark.
    async fn directory(
        &self,
        session: &Session,
        task_list: &str,
    ) -> Result<(Vec<Slice>, Option<i64>)> {
        let (days, low) = self.days(session, task_list).await?;
        let slices = self
            .slices_from(
                session,
                task_list,
                &days,
                low.unwrap_or(i64::MIN),
                usize::MAX,
            )
            .await?;
        Ok((slices, low))
    }

    /// The entries of `slice` among `ids` (sorted by shard, then id), read
    /// by key: the point reads meet no other row of the partition, so none
    /// of the tombstones of the tasks that left it. Only those after
    /// `after` (a shard and an id), in the same order.
    async fn entries_by_ids(
        &self,
        session: &Session,
        task_list: &str,
        slice: i64,
        ids: &[String],
        after: Option<(u32, &str)>,
    ) -> Result<Vec<(u32, EntryRow)>> {
        let later = |id: &&String| {
            let shard = self.shard(id) as u32;
            after.is_none_or(|(at, last)| (shard, id.as_str()) > (at, last))
        };
        let by_shard = self.by_shard(ids.iter().filter(later));
        let per_shard: Vec<Vec<(u32, EntryRow)>> = stream::iter(by_shard)
            .map(|(shard, ids)| self.read_shard(session, task_list, slice, shard, ids))
            .buffered(NAMED_SHARDS_AT_ONCE)
            .try_collect()
            .await?;
        Ok(per_shard.into_iter().flatten().collect())
    }

    /// `ids` grouped by their shard, in shard order.
    fn by_shard<'i>(&self, ids: impl Iterator<Item = &'i String>) -> BTreeMap<u32, Vec<String>> {
        let mut by_shard: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for id in ids {
            by_shard
                .entry(self.shard(id) as u32)
                .or_default()
                .push(id.clone());
        }
        by_shard
    }

    /// The entries among `ids` of one shard of `slice`, by key, in id order.
    async fn read_shard(
        &self,
        session: &Session,
        task_list: &str,
        slice: i64,
        shard: u32,
        ids: Vec<String>,
    ) -> Result<Vec<(u32, EntryRow)>> {
        let shard_i32 = i32::try_from(shard).map_err(storage)?;
        let mut rows: Vec<(u32, EntryRow)> = session
            .execute_unpaged(&self.read_by_ids, (task_list, slice, shard_i32, ids))
            .await
            .map_err(storage)?
            .into_rows_result()
            .map_err(storage)?
            .rows::<EntryRow>()
            .map_err(storage)?
            .map(|row| row.map(|row| (shard, row)).map_err(storage))
            .collect::<Result<_>>()?;
        rows.sort_by(|a, b| a.1 .0.cmp(&b.1 .0));
        Ok(rows)
    }

    /// The entries of several named slices (each with the ids named), by
    /// key: one request per slice and shard holding a named task,
    /// `concurrency` at once. Per slice, in the order given, each in scan
    /// order.
    async fn named_entries(
        &self,
        session: &Session,
        task_list: &str,
        slices: Vec<(i64, Vec<String>)>,
    ) -> Result<Vec<(i64, Vec<(u32, EntryRow)>)>> {
        let mut units: Vec<(usize, i64, u32, Vec<String>)> = Vec::new();
        for (n, (slice, ids)) in slices.iter().enumerate() {
            units.extend(
                self.by_shard(ids.iter())
                    .into_iter()
                    .map(|(shard, ids)| (n, *slice, shard, ids)),
            );
        }
        let read: Vec<(usize, Vec<(u32, EntryRow)>)> = stream::iter(units)
            .map(|(n, slice, shard, ids)| async move {
                Ok::<_, Error>((
                    n,
                    self.read_shard(session, task_list, slice, shard, ids)
                        .await?,
                ))
            })
            .buffered(self.concurrency)
            .try_collect()
            .await?;
        let mut per_slice: Vec<(i64, Vec<(u32, EntryRow)>)> = slices
            .iter()
            .map(|(slice, _)| (*slice, Vec::new()))
            .collect();
        for (n, rows) in read {
            per_slice[n].1.extend(rows);
        }
        Ok(per_slice)
    }

    /// What a closed slice holds: `kept`, the ids the directory names for
    /// it, read by key; otherwise up to one more than the directory names,
    /// scanned.
    async fn look_at(&self, session: &Session, task_list: &str, slice: &Slice) -> Result<Found> {
        let ids: Vec<String> = match &slice.kept {
            Some(kept) => self
                .entries_by_ids(session, task_list, slice.at, kept, None)
                .await?
                .into_iter()
                .map(|(_, row)| row.0)
                .collect(),
            None => {
                let shards: Vec<i32> = (0..self.shards).map(|s| s as i32).collect();
                session
                    .execute_unpaged(&self.list_ids, (task_list, slice.at, shards))
                    .await
                    .map_err(storage)?
                    .into_rows_result()
                    .map_err(storage)?
                    .rows::<(String,)>()
                    .map_err(storage)?
                    .map(|row| row.map(|(id,)| id).map_err(storage))
                    .collect::<Result<_>>()?
            }
        };
        Ok(Self::found(self.in_scan_order(ids)))
    }

    /// What `ids`, every task a closed slice holds, make of it.
    fn found(ids: Vec<String>) -> Found {
        let bytes: usize = ids.iter().map(String::len).sum();
        if ids.is_empty() {
            Found::Empty
        } else if ids.len() <= KEPT_AT_MOST && bytes <= KEPT_BYTES_AT_MOST {
            Found::Few(ids)
        } else {
            Found::Many
        }
    }

    /// Marks the closed slices found empty drained and takes them out of
    /// `slices`, names in the directory the tasks of those found holding
    /// few (when that changed), remembers the closed ones found holding
    /// tasks, and moves the low mark up to the first slice left (never past
    /// a slice that may still be written).
    async fn settle(
        &self,
        session: &Session,
        task_list: &str,
        slices: &mut Vec<Slice>,
        low: Option<i64>,
        checked: Vec<(i64, Found)>,
        open: i64,
    ) -> Result<()> {
        let recorded: HashMap<i64, &Option<Vec<String>>> =
            slices.iter().map(|s| (s.at, &s.kept)).collect();
        let mut empty = Vec::new();
        let mut named: Vec<(i64, Vec<String>)> = Vec::new();
        for (slice, found) in &checked {
            match found {
                Found::Empty => empty.push(*slice),
                Found::Few(ids) => match recorded.get(slice) {
                    // Named before: named again only if fewer are left.
                    Some(Some(before)) if before != ids => named.push((*slice, ids.clone())),
                    Some(None) if self.names_slices => named.push((*slice, ids.clone())),
                    _ => {}
                },
                Found::Many => {}
            }
        }
        // Each write: a slice to mark drained, or to name the tasks of.
        let writes: Vec<(i64, Option<Vec<String>>)> = empty
            .iter()
            .map(|&slice| (slice, None))
            .chain(named.iter().map(|(slice, ids)| (*slice, Some(ids.clone()))))
            .collect();
        stream::iter(writes)
            .map(|(slice, ids)| async move {
                let key = (task_list, day_of(slice), slice);
                match ids {
                    None => session.execute_unpaged(&self.mark_drained, key).await,
                    Some(ids) => {
                        let (list, day, slice) = key;
                        let values = (ids, list, day, slice);
                        session.execute_unpaged(&self.write_kept, values).await
                    }
                }
                .map_err(storage)
            })
            .buffer_unordered(self.concurrency)
            .try_collect::<Vec<_>>()
            .await?;
        self.with_memory(task_list, |m| {
            let at = Instant::now();
            for (slice, found) in &checked {
                match found {
                    Found::Empty => m.live.remove(slice),
                    Found::Few(_) | Found::Many => m.live.insert(*slice, at),
                };
            }
        });
        slices.retain(|slice| !empty.contains(&slice.at));
        for (slice, ids) in named {
            if let Some(entry) = slices.iter_mut().find(|s| s.at == slice) {
                entry.kept = Some(ids);
            }
        }
        // Every slice before the first one left is drained, and every slice
        // before the first open one is closed: the mark may move up to the
        // lower of the two.
        let new_low = slices.first().map_or(open, |first| first.at.min(open));
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
    /// lately are looked at (one request each, or one per shard holding a
    /// task the directory names), and settled.
    async fn live_slices(&self, session: &Session, task_list: &str) -> Result<Vec<Slice>> {
        let (mut slices, low) = self.directory(session, task_list).await?;
        // Which minutes are closed is the cluster's time to say: while it
        // cannot be told, nothing is marked drained (the listing reads all,
        // and does not wait for a measurement).
        let Ok(now) = self.clock.now_if_known() else {
            return Ok(slices);
        };
        let open = first_open_slice(now);
        let candidates: Vec<Slice> = self.with_memory(task_list, |m| {
            m.live.retain(|_, at| at.elapsed() < LIVE_RECHECK);
            slices
                .iter()
                .take_while(|slice| slice.at < open)
                .filter(|slice| !m.live.contains_key(&slice.at))
                .take(PRUNE_AT_ONCE)
                .cloned()
                .collect()
        });
        let checked: Vec<(i64, Found)> = stream::iter(candidates)
            .map(|slice| async move {
                Ok::<_, Error>((slice.at, self.look_at(session, task_list, &slice).await?))
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        self.settle(session, task_list, &mut slices, low, checked, open)
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
        // Where the page starts, and the ids the directory names for that
        // slice: a token that goes on after an id reads them again (the
        // slice was read by them), and so does one at the start of a shard
        // of a slice named since; one in the middle of a scan scans on.
        let (mut at, mut kept) = match token {
            Some(token) => {
                let mut at = Position::decode(token, self.shards)?;
                let kept = match &at.resume {
                    Resume::Scan(state) if !state.is_empty() => None,
                    Resume::Scan(_) => {
                        let kept = self.kept_of(session, task_list, at.slice).await?;
                        if kept.is_some() {
                            // Ids are never empty: after "" is the shard's start.
                            at.resume = Resume::After(String::new());
                        }
                        kept
                    }
                    // Named once, named for ever (or drained): a slice
                    // without a directory row has nothing to read.
                    Resume::After(_) => Some(
                        self.kept_of(session, task_list, at.slice)
                            .await?
                            .unwrap_or_default(),
                    ),
                };
                (at, kept)
            }
            None => match self
                .live_slices(session, task_list)
                .await?
                .into_iter()
                .next()
            {
                Some(slice) => (Position::start_of(slice.at), slice.kept),
                None => return Ok((Vec::new(), None)),
            },
        };
        let mut entries: Vec<(i64, TaskRecord)> = Vec::new();
        // The slices after the one being read, from the directory, a page's
        // worth at a time; and the entries of named slices read ahead.
        let mut upcoming: VecDeque<Slice> = VecDeque::new();
        let mut read_ahead: HashMap<i64, Vec<(u32, EntryRow)>> = HashMap::new();
        loop {
            let wanted = page_size.saturating_sub(entries.len()).max(1);
            let next = match &kept {
                Some(ids) => {
                    let after = match &at.resume {
                        Resume::After(id) if !id.is_empty() => Some((at.shard, id.as_str())),
                        Resume::After(_) if at.shard > 0 => Some((at.shard, "")),
                        _ => None,
                    };
                    let rows = match read_ahead.remove(&at.slice) {
                        Some(rows) if after.is_none() => rows,
                        _ if after.is_none() => {
                            let run = named_run((at.slice, ids), &upcoming, wanted);
                            let mut read = self.named_entries(session, task_list, run).await?;
                            let (_, rows) = read.remove(0);
                            read_ahead.extend(read);
                            rows
                        }
                        _ => {
                            self.entries_by_ids(session, task_list, at.slice, ids, after)
                                .await?
                        }
                    };
                    let more = rows.len() > wanted;
                    let mut last = None;
                    for (shard, row) in rows.into_iter().take(wanted) {
                        last = Some((shard, row.0.clone()));
                        if let Some(record) = entry_record(task_list, row) {
                            entries.push((at.slice, record));
                        }
                    }
                    match last {
                        Some((shard, id)) if more => Some(Position {
                            slice: at.slice,
                            shard,
                            resume: Resume::After(id),
                        }),
                        _ => None,
                    }
                }
                None => {
                    self.scan_page(session, task_list, &at, wanted, &mut entries)
                        .await?
                }
            };
            let next = match next {
                Some(next) => Some((next, kept.clone())),
                None => {
                    if upcoming.is_empty() {
                        let (days, _) = self.days(session, task_list).await?;
                        let after = at.slice.saturating_add(1);
                        upcoming = self
                            .slices_from(session, task_list, &days, after, page_size)
                            .await?
                            .into();
                    }
                    upcoming
                        .pop_front()
                        .map(|slice| (Position::start_of(slice.at), slice.kept))
                }
            };
            match next {
                Some((next, next_kept)) if entries.len() < page_size => {
                    at = next;
                    kept = next_kept;
                }
                next => return Ok((entries, next.map(|(p, _)| p.encode()))),
            }
        }
    }

    /// Up to `wanted` entries of the partition at `at`, scanned with the
    /// driver's paging, into `entries`; where the scan goes on (the next
    /// shard of the slice), or `None` past the slice's last shard.
    async fn scan_page(
        &self,
        session: &Session,
        task_list: &str,
        at: &Position,
        wanted: usize,
        entries: &mut Vec<(i64, TaskRecord)>,
    ) -> Result<Option<Position>> {
        let mut statement = self.list.clone();
        statement.set_page_size(i32::try_from(wanted).unwrap_or(i32::MAX));
        let paging = match &at.resume {
            Resume::Scan(state) if !state.is_empty() => {
                PagingState::new_from_raw_bytes(state.as_slice())
            }
            _ => PagingState::start(),
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
        Ok(match more {
            PagingStateResponse::HasMorePages { state } => Some(Position {
                slice: at.slice,
                shard: at.shard,
                resume: Resume::Scan(
                    state
                        .as_bytes_slice()
                        .map(|b| b.to_vec())
                        .unwrap_or_default(),
                ),
            }),
            PagingStateResponse::NoMorePages if at.shard + 1 < self.shards => Some(Position {
                slice: at.slice,
                shard: at.shard + 1,
                resume: Resume::Scan(Vec::new()),
            }),
            PagingStateResponse::NoMorePages => None,
        })
    }

    /// Every entry of the list, partitions read `concurrency` at a time,
    /// each through the driver's paging; a slice whose tasks the directory
    /// names, by those ids (a few of its shards at once: up to
    /// [`NAMED_SHARDS_AT_ONCE`] × `concurrency` requests in flight).
    pub(super) fn all<'a>(
        &'a self,
        session: &'a Session,
        task_list: &'a str,
    ) -> BoxStream<'a, Result<TaskRecord>> {
        stream::once(async move {
            let slices = self.live_slices(session, task_list).await?;
            let shards = self.shards;
            let parts = stream::iter(slices.into_iter().flat_map(move |slice| {
                let whole: Vec<(i64, Option<u32>, Option<Vec<String>>)> = match slice.kept {
                    Some(kept) => vec![(slice.at, None, Some(kept))],
                    None => (0..shards)
                        .map(|shard| (slice.at, Some(shard), None))
                        .collect(),
                };
                whole
            }));
            Ok::<_, Error>(
                parts
                    .map(move |(slice, shard, kept)| match (shard, kept) {
                        (_, Some(kept)) => self.kept_part(session, task_list, slice, kept),
                        (Some(shard), None) => self.partition(session, task_list, slice, shard),
                        (None, None) => stream::empty().boxed(),
                    })
                    .flatten_unordered(self.concurrency),
            )
        })
        .try_flatten()
        .boxed()
    }

    /// The entries of a slice whose tasks the directory names, by key.
    fn kept_part<'a>(
        &'a self,
        session: &'a Session,
        task_list: &'a str,
        slice: i64,
        kept: Vec<String>,
    ) -> BoxStream<'a, Result<TaskRecord>> {
        stream::once(async move {
            let rows = self
                .entries_by_ids(session, task_list, slice, &kept, None)
                .await?;
            Ok::<_, Error>(stream::iter(
                rows.into_iter()
                    .filter_map(move |(_, row)| entry_record(task_list, row).map(Ok)),
            ))
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
    /// not drained is counted (a slice whose tasks the directory names, by
    /// those ids), so the closed slices are settled here: those found empty
    /// marked drained, those found holding few named.
    pub(super) async fn count(&self, session: &Session, task_list: &str) -> Result<u64> {
        let (mut slices, low) = self.directory(session, task_list).await?;
        let open = self.clock.now_if_known().ok().map(first_open_slice);
        // A named slice is one request per shard holding a named task, a
        // scanned one a request per shard (and one more for a closed one
        // found holding few): `concurrency` requests in flight.
        let (named, scanned): (Vec<Slice>, Vec<Slice>) = slices
            .iter()
            .cloned()
            .partition(|slice| slice.kept.is_some());
        let closed = |slice: i64| open.is_some_and(|open| slice < open);
        // Read by key: counting them is seeing which are left.
        let named = named
            .into_iter()
            .map(|slice| (slice.at, slice.kept.unwrap_or_default()))
            .collect();
        let mut counted: Vec<(i64, u64, Option<Found>)> = self
            .named_entries(session, task_list, named)
            .await?
            .into_iter()
            .map(|(slice, rows)| {
                let ids: Vec<String> = rows.into_iter().map(|(_, row)| row.0).collect();
                let n = ids.len() as u64;
                (slice, n, closed(slice).then(|| Self::found(ids)))
            })
            .collect();
        let count_one = |slice: Slice| async move {
            let slice = &slice;
            let n = self.count_scanned(session, task_list, slice.at).await?;
            // A closed slice found holding few is looked at once more,
            // for their ids: the last scan of it.
            let found = match n {
                _ if !closed(slice.at) => None,
                0 => Some(Found::Empty),
                n if n <= KEPT_AT_MOST as u64 => {
                    Some(self.look_at(session, task_list, slice).await?)
                }
                _ => Some(Found::Many),
            };
            Ok::<_, Error>((slice.at, n, found))
        };
        let per_slice = self.concurrency.div_ceil(self.shards as usize).max(1);
        counted.extend(
            stream::iter(scanned)
                .map(count_one)
                .buffer_unordered(per_slice)
                .try_collect::<Vec<_>>()
                .await?,
        );
        let total = counted.iter().map(|(_, n, _)| n).sum();
        // Settled only while the cluster's time can be told.
        if let Some(open) = open {
            let checked = counted
                .into_iter()
                .filter_map(|(slice, _, found)| found.map(|found| (slice, found)))
                .collect();
            self.settle(session, task_list, &mut slices, low, checked, open)
                .await?;
        }
        Ok(total)
    }

    /// The entries of a slice, counted in each of its shards' partitions.
    async fn count_scanned(&self, session: &Session, task_list: &str, slice: i64) -> Result<u64> {
        let counts: Vec<u64> = stream::iter(0..self.shards)
            .map(|shard| async move {
                let shard = i32::try_from(shard).map_err(storage)?;
                let (n,): (i64,) = session
                    .execute_unpaged(&self.count, (task_list, slice, shard))
                    .await
                    .map_err(storage)?
                    .into_rows_result()
                    .map_err(storage)?
                    .single_row()
                    .map_err(storage)?;
                Ok::<_, Error>(u64::try_from(n).unwrap_or(0))
            })
            .buffer_unordered(self.concurrency.min(self.shards as usize).max(1))
            .try_collect()
            .await?;
        Ok(counts.into_iter().sum())
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
            resume: Resume::Scan(vec![1, 2, 3]),
        };
        assert_eq!(Position::decode(&at.encode(), 4).unwrap(), at);
        let after = Position {
            slice: 29_000_000,
            shard: 2,
            resume: Resume::After("täsk-7".to_owned()),
        };
        assert_eq!(Position::decode(&after.encode(), 4).unwrap(), after);
        // Tokens of 0.2 (a scan's paging state) read as they did.
        let old: PageToken = "7c0000000001ba81400000000301".parse().unwrap();
        assert_eq!(
            Position::decode(&old, 4).unwrap(),
            Position {
                slice: 29_000_000,
                shard: 3,
                resume: Resume::Scan(vec![1]),
            }
        );
        for bad in [
            "7c00",
            "7a0000000000",
            "7c000000000000000100000004",
            "7d0000000001ba814000000001ff",
        ] {
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
    fn a_closed_slice_holding_few_tasks_is_named_by_their_ids() {
        let ids = |n: usize, len: usize| -> Vec<String> {
            (0..n).map(|k| format!("{k:0len$}")).collect()
        };
        assert!(matches!(Listing::found(Vec::new()), Found::Empty));
        assert!(matches!(Listing::found(ids(1, 36)), Found::Few(found) if found.len() == 1));
        assert!(matches!(
            Listing::found(ids(KEPT_AT_MOST, 36)),
            Found::Few(_)
        ));
        assert!(matches!(
            Listing::found(ids(KEPT_AT_MOST + 1, 36)),
            Found::Many
        ));
        // The set is one cell: long ids make fewer of them fit.
        assert!(matches!(Listing::found(ids(100, 200)), Found::Many));
    }

    #[test]
    fn slices_are_named_only_where_reads_see_every_acknowledged_write() {
        use super::super::config::Retry;
        use scylla::statement::Consistency;
        let config = || CassandraConfig::new(["127.0.0.1:9042"], "jobs");
        assert!(
            names_slices(&config()),
            "LOCAL_QUORUM both ways: the default"
        );
        assert!(!names_slices(&config().read_consistency(Consistency::One)));
        assert!(!names_slices(
            &config().write_consistency(Consistency::LocalOne)
        ));
        assert!(names_slices(
            &config()
                .read_consistency(Consistency::One)
                .write_consistency(Consistency::All)
        ));
        assert!(!names_slices(
            &config().retry(Retry::DowngradingConsistency)
        ));
        assert!(names_slices(&config().retry(Retry::Never)));
    }

    #[test]
    fn a_page_reads_ahead_the_named_slices_that_may_fill_it() {
        let named = |at: i64, n: usize| Slice {
            at,
            kept: Some((0..n).map(|k| format!("{at}-{k}")).collect()),
        };
        let scanned = |at: i64| Slice { at, kept: None };
        let upcoming: VecDeque<Slice> = [
            named(2, 3),
            named(3, 0),
            named(4, 5),
            scanned(5),
            named(6, 1),
        ]
        .into();
        let first = vec!["1-0".to_owned()];
        let slices = |run: Vec<(i64, Vec<String>)>| run.iter().map(|r| r.0).collect::<Vec<_>>();
        // 1 + 3 + 1 (an empty set counts as one) + 5 = 10: all up to the scanned one.
        assert_eq!(slices(named_run((1, &first), &upcoming, 100)), [1, 2, 3, 4]);
        assert_eq!(slices(named_run((1, &first), &upcoming, 9)), [1, 2, 3]);
        // The first is read whatever it holds.
        assert_eq!(slices(named_run((1, &first), &upcoming, 1)), [1]);
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
