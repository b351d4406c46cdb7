//! The in-memory adapter: the reference implementation of the adapter
//! contract, for tests and single processes.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;

use crate::adapter::ready::ReadyTasks;
use crate::adapter::{Capabilities, Page, PageToken, StorageAdapter};
use crate::error::{Error, Result};
use crate::history::{HistoryRetention, StoredStateChange};
use crate::observe::Op;
use crate::record::TaskRecord;
use crate::state::{StateToken, StoredState, INITIAL_STATE_JSON};
use chrono::{DateTime, Utc};

/// A record with its processing state.
#[derive(Debug, Clone)]
struct Entry {
    record: TaskRecord,
    /// `None`: the initial state, not yet changed (saves a copy per store).
    state: Option<String>,
    token: StateToken,
    /// From when the task is claimable (its key in [`List::ready`]); `None`
    /// when it never will be.
    ready_from: Option<DateTime<Utc>>,
}

impl Entry {
    /// The state as `load_state` answers it.
    fn stored_state(&self) -> StoredState {
        StoredState {
            json: self
                .state
                .clone()
                .unwrap_or_else(|| INITIAL_STATE_JSON.to_owned()),
            token: self.token,
            record: self.record.clone(),
        }
    }
}

/// One task list, indexed twice.
///
/// `find`, `store`, `delete` and the state calls go through the hash map: one
/// hash and one comparison, where a B-tree compares the id with a dozen or
/// more keys in scattered nodes. Only `page` needs the ids in order (its
/// token is simply the last id returned), so the ordered set serves `page`
/// alone. The price is a second copy of each id and, when listing, a hash
/// lookup per record.
///
/// Both always hold exactly the same ids: every insert and remove touches
/// both, under the one write lock.
#[derive(Debug, Default)]
struct List {
    entries: HashMap<String, Entry>,
    order: BTreeSet<String>,
    /// The open tasks by the time they become claimable, for claim-next:
    /// a worker reads the front of it, never the tasks held by others.
    ready: BTreeSet<(DateTime<Utc>, String)>,
}

impl List {
    /// Removes an id from every index.
    fn remove(&mut self, id: &str) {
        if let Some(entry) = self.entries.remove(id) {
            self.order.remove(id);
            if let Some(at) = entry.ready_from {
                self.ready.remove(&(at, id.to_owned()));
            }
        }
    }

    /// Moves an id in the ready index from `old` to `new`.
    fn reindex(&mut self, id: &str, old: Option<DateTime<Utc>>, new: Option<DateTime<Utc>>) {
        if old == new {
            return;
        }
        if let Some(at) = old {
            self.ready.remove(&(at, id.to_owned()));
        }
        if let Some(at) = new {
            self.ready.insert((at, id.to_owned()));
        }
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Task lists by name.
type Lists = HashMap<String, List>;

/// From when a task in `state` is claimable, as the ready index keeps it:
/// never before the write (`now`), so tasks come out in the order they
/// opened; a state that cannot be read counts as ready, so that a worker's
/// claim reports the error for that task.
fn ready_from(state: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match crate::state::TaskState::from_json(state) {
        Ok(state) => state.claimable_from().map(|at| at.max(now)),
        Err(_) => Some(now),
    }
}

/// The span of one adapter call, entered for the call's whole body (the
/// bodies never await, so the guard is never held across a suspension).
/// No durations are recorded here: a call takes microseconds, and reading
/// the clock would cost a good part of that.
fn span(op: Op, task_list: &str, id: Option<&str>) -> tracing::Span {
    tracing::debug_span!(
        "taskrec.memory",
        db.system.name = "memory",
        db.operation.name = op.name(),
        task_list,
        task.id = id,
    )
}

const READY_TOKEN_TAG: &[u8] = b"ready:";

/// A claim-next token: the ready-index key of the last task handed out.
fn encode_ready_token(key: &(DateTime<Utc>, String)) -> PageToken {
    let mut bytes = READY_TOKEN_TAG.to_vec();
    // Seconds and nanoseconds: the key's exact time, so that the next
    // step starts right after this key, not at a rounded neighbour.
    bytes.extend_from_slice(&key.0.timestamp().to_be_bytes());
    bytes.extend_from_slice(&key.0.timestamp_subsec_nanos().to_be_bytes());
    bytes.extend_from_slice(key.1.as_bytes());
    PageToken::from_bytes(bytes)
}

fn decode_ready_token(token: &PageToken) -> Result<(DateTime<Utc>, String)> {
    let invalid = || Error::InvalidPageToken {
        reason: "not a memory adapter claim-next token".to_owned(),
    };
    let rest = token
        .as_bytes()
        .strip_prefix(READY_TOKEN_TAG)
        .ok_or_else(invalid)?;
    let (secs, rest) = rest.split_first_chunk::<8>().ok_or_else(invalid)?;
    let (nanos, id) = rest.split_first_chunk::<4>().ok_or_else(invalid)?;
    let at = DateTime::from_timestamp(i64::from_be_bytes(*secs), u32::from_be_bytes(*nanos))
        .ok_or_else(invalid)?;
    let id = std::str::from_utf8(id).map_err(|_| invalid())?;
    Ok((at, id.to_owned()))
}

/// A token unique within this process, without the cost of a random UUID
/// per store: a random prefix chosen once and a counter.
fn next_token() -> StateToken {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    StateToken::from_uuid(uuid::Uuid::from_u64_pair(
        prefix,
        COUNTER.fetch_add(1, Ordering::Relaxed),
    ))
}

/// Keeps task records in process memory. Clones share the same storage, so
/// one adapter can be handed to many tasks and threads.
///
/// Nothing survives the process: use it for tests, for single-process tools,
/// or as the model for a backend of your own.
///
/// It keeps time by this process's clock ([`StorageAdapter::now`]'s
/// default, and no [`clock_reading`](StorageAdapter::clock_reading)): one
/// process, one clock, so every time it writes and judges agrees with every
/// other, whatever that clock says.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use taskrec::{MemoryAdapter, TaskRecord};
/// use taskrec::adapter::StorageAdapter;
/// let adapter = MemoryAdapter::new();
/// adapter.store(&TaskRecord::new("l", "1", "T", "{}")?).await?;
/// assert_eq!(adapter.count("l").await?, 1);
/// assert!(adapter.find("l", "2").await?.is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryAdapter {
    lists: Arc<RwLock<Lists>>,
    /// Each task's history, oldest first, apart from the lists: it outlives
    /// the task and no listing sees it.
    histories: Arc<RwLock<Histories>>,
    /// The paused lists, apart from the lists: a list with no task can be
    /// paused too.
    pauses: Arc<RwLock<HashMap<String, crate::ListPause>>>,
    /// Each list's kept counts ([`KeptCounts`](crate::KeptCounts)).
    kept_counts: Arc<RwLock<HashMap<String, KeptRow>>>,
}

/// A list's kept counts as the adapter contract orders them
/// ([`StorageAdapter::keep_counts`]): the figures of the count that began
/// last, and the latest mark of a count begun, unless figures ended after it.
#[derive(Debug, Default)]
struct KeptRow {
    figures: Option<crate::KeptCounts>,
    mark: Option<(DateTime<Utc>, String)>,
}

impl KeptRow {
    fn keep(&mut self, counts: &crate::KeptCounts) {
        match counts.recount_since {
            Some(since) => {
                if self.mark.as_ref().is_none_or(|(at, _)| *at <= since) {
                    self.mark = Some((since, counts.counted_by.clone()));
                }
            }
            None => {
                if self
                    .figures
                    .as_ref()
                    .is_none_or(|kept| kept.counted_at <= counts.counted_at)
                {
                    self.figures = Some(counts.clone());
                }
                if self
                    .mark
                    .as_ref()
                    .is_some_and(|(at, _)| *at <= counts.counted_until())
                {
                    self.mark = None;
                }
            }
        }
    }

    fn read(&self) -> Option<crate::KeptCounts> {
        match (&self.figures, &self.mark) {
            (Some(figures), Some((since, _))) => Some(figures.recounting_since(*since)),
            (Some(figures), None) => Some(figures.clone()),
            (None, Some((since, by))) => Some(crate::KeptCounts::recount_mark(*since, by.clone())),
            (None, None) => None,
        }
    }
}

/// History entries by (task list, id), oldest first.
#[derive(Debug, Default)]
struct Histories {
    tasks: HashMap<(String, String), VecDeque<StoredStateChange>>,
    /// Appends since the last sweep of expired entries.
    appends: usize,
}

/// Appends between sweeps of every task's expired history: the histories
/// of completed tasks are not appended to again, so without a sweep they
/// would stay until the process ends.
const HISTORY_SWEEP_EVERY: usize = 4096;

impl Histories {
    fn sweep(&mut self, retention: &HistoryRetention, now: chrono::DateTime<chrono::Utc>) {
        self.tasks.retain(|_, entries| {
            entries.retain(|e| !retention.expired(e.at, now));
            !entries.is_empty()
        });
        self.appends = 0;
    }
}

impl MemoryAdapter {
    /// An empty store.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::{MemoryAdapter, TaskRecord};
    /// use taskrec::adapter::StorageAdapter;
    /// let adapter = MemoryAdapter::new();
    /// assert_eq!(adapter.count("l").await?, 0);
    /// let clone = adapter.clone(); // shares the storage
    /// clone.store(&TaskRecord::new("l", "i", "T", "{}")?).await?;
    /// assert_eq!(adapter.count("l").await?, 1);
    /// # Ok(()) }
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    // No lock is held across an await, and no code under the lock panics, so
    // a poisoned lock still guards consistent data: take it over.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Lists> {
        self.lists.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Lists> {
        self.lists.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Inserts or replaces the record's entry, state and token included.
/// A scheduled task's state: its JSON, and from when it is claimable.
type Scheduled = (String, DateTime<Utc>);

/// Stores `record` afresh, pending; `scheduled`, not claimable before its
/// time.
fn insert(lists: &mut Lists, record: &TaskRecord, scheduled: Option<Scheduled>) {
    // Pending from its save (the record's own time, no clock read):
    // ready tasks come out in the order they were saved or opened up.
    let (state, ready_from) = match scheduled {
        Some((json, at)) => (Some(json), Some(at)),
        None => (None, Some(record.updated_at())),
    };
    let entry = Entry {
        record: record.clone(),
        state,
        token: next_token(),
        ready_from,
    };
    let list = match lists.get_mut(record.task_list()) {
        Some(list) => list,
        None => lists.entry(record.task_list().to_owned()).or_default(),
    };
    // Only a new id needs the second copy for the ordered set.
    let id = record.id();
    let old = match list.entries.get_mut(id) {
        Some(slot) => std::mem::replace(slot, entry).ready_from,
        None => {
            list.order.insert(id.to_owned());
            list.entries.insert(id.to_owned(), entry);
            None
        }
    };
    list.reindex(id, old, ready_from);
}

#[async_trait]
impl StorageAdapter for MemoryAdapter {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new().with_conditional_writes(true)
    }

    async fn task_lists(&self) -> Result<Option<Vec<String>>> {
        let mut names: std::collections::BTreeSet<String> = self
            .read()
            .iter()
            .filter(|(_, list)| !list.entries.is_empty())
            .map(|(name, _)| name.clone())
            .collect();
        let pauses = self.pauses.read().unwrap_or_else(PoisonError::into_inner);
        names.extend(pauses.keys().cloned());
        Ok(Some(
            names
                .into_iter()
                .take(crate::adapter::MAX_DISCOVERED_LISTS)
                .collect(),
        ))
    }

    async fn pause_state(&self, task_list: &str) -> Result<Option<crate::ListPause>> {
        let pauses = self.pauses.read().unwrap_or_else(PoisonError::into_inner);
        Ok(pauses.get(task_list).cloned())
    }

    async fn set_pause(&self, task_list: &str, pause: Option<&crate::ListPause>) -> Result<()> {
        let mut pauses = self.pauses.write().unwrap_or_else(PoisonError::into_inner);
        match pause {
            Some(pause) => pauses.insert(task_list.to_owned(), pause.clone()),
            None => pauses.remove(task_list),
        };
        Ok(())
    }

    async fn kept_counts(&self, task_list: &str) -> Result<Option<crate::KeptCounts>> {
        let kept = self
            .kept_counts
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(kept.get(task_list).and_then(KeptRow::read))
    }

    async fn keep_counts(&self, task_list: &str, counts: &crate::KeptCounts) -> Result<()> {
        let mut kept = self
            .kept_counts
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        kept.entry(task_list.to_owned()).or_default().keep(counts);
        Ok(())
    }

    async fn store(&self, record: &TaskRecord) -> Result<()> {
        let _span = span(Op::Save, record.task_list(), Some(record.id())).entered();
        insert(&mut self.write(), record, None);
        Ok(())
    }

    /// All under one lock: no other call sees some of them stored and not
    /// the rest.
    async fn store_all(&self, records: &[TaskRecord]) -> Result<()> {
        let first = records.first();
        let _span = span(Op::SaveAll, first.map_or("", |r| r.task_list()), None).entered();
        let mut lists = self.write();
        for record in records {
            insert(&mut lists, record, None);
        }
        Ok(())
    }

    async fn store_scheduled(&self, record: &TaskRecord, not_before: DateTime<Utc>) -> Result<()> {
        let _span = span(Op::Save, record.task_list(), Some(record.id())).entered();
        let json = crate::state::TaskState::scheduled(not_before).to_json()?;
        insert(&mut self.write(), record, Some((json, not_before)));
        Ok(())
    }

    /// The check and the insert under one write lock.
    async fn store_if_absent(&self, record: &TaskRecord) -> Result<bool> {
        let _span = span(Op::Save, record.task_list(), Some(record.id())).entered();
        let mut lists = self.write();
        let taken = lists
            .get(record.task_list())
            .is_some_and(|list| list.entries.contains_key(record.id()));
        if !taken {
            insert(&mut lists, record, None);
        }
        Ok(!taken)
    }

    async fn load_state(&self, task_list: &str, id: &str) -> Result<Option<StoredState>> {
        let _span = span(Op::LoadState, task_list, Some(id)).entered();
        Ok(self
            .read()
            .get(task_list)
            .and_then(|list| list.entries.get(id))
            .map(Entry::stored_state))
    }

    async fn swap_state(
        &self,
        task_list: &str,
        id: &str,
        expected: &StateToken,
        new: Option<&str>,
    ) -> Result<Option<StateToken>> {
        let _span = span(Op::of_swap(new), task_list, Some(id)).entered();
        let mut lists = self.write();
        let Some(list) = lists.get_mut(task_list) else {
            return Ok(None);
        };
        match list.entries.get_mut(id) {
            Some(entry) if entry.token == *expected => match new {
                Some(state) => {
                    let old = entry.ready_from;
                    let new = ready_from(state, Utc::now());
                    entry.state = Some(state.to_owned());
                    entry.token = next_token();
                    entry.ready_from = new;
                    let token = entry.token;
                    list.reindex(id, old, new);
                    Ok(Some(token))
                }
                None => {
                    list.remove(id);
                    if list.is_empty() {
                        lists.remove(task_list);
                    }
                    Ok(Some(*expected))
                }
            },
            _ => Ok(None),
        }
    }

    async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
        let _span = span(Op::Find, task_list, Some(id)).entered();
        Ok(self
            .read()
            .get(task_list)
            .and_then(|list| list.entries.get(id))
            .map(|entry| entry.record.clone()))
    }

    async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
        let _span = span(Op::Delete, task_list, Some(id)).entered();
        let mut lists = self.write();
        if let Some(list) = lists.get_mut(task_list) {
            list.remove(id);
            if list.is_empty() {
                lists.remove(task_list);
            }
        }
        Ok(())
    }

    async fn page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        let _span = span(Op::Page, task_list, None).entered();
        let after = match token {
            None => Bound::Unbounded,
            Some(token) => {
                Bound::Excluded(std::str::from_utf8(token.as_bytes()).map_err(|_| {
                    Error::InvalidPageToken {
                        reason: "not a memory adapter token".to_owned(),
                    }
                })?)
            }
        };
        let page_size = page_size.max(1);
        let lists = self.read();
        let Some(list) = lists.get(task_list) else {
            return Ok(Page {
                records: Vec::new(),
                next: None,
            });
        };
        // `get` never misses (both indexes hold the same ids); it is `get`
        // rather than indexing so that no code under the lock can panic.
        let mut rest = list
            .order
            .range::<str, _>((after, Bound::Unbounded))
            .filter_map(|id| list.entries.get(id));
        let records: Vec<TaskRecord> = rest
            .by_ref()
            .take(page_size)
            .map(|entry| entry.record.clone())
            .collect();
        let next = match (rest.next(), records.last()) {
            (Some(_), Some(last)) => Some(PageToken::from_bytes(last.id().as_bytes())),
            _ => None,
        };
        Ok(Page { records, next })
    }

    /// Reads the front of the list's ready index: only the tasks it hands
    /// out, and one more entry to say when the next one opens.
    async fn next_ready(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        let _span = span(Op::NextReady, task_list, None).entered();
        let after = token.map(decode_ready_token).transpose()?;
        let limit = limit.max(1);
        let lists = self.read();
        let Some(list) = lists.get(task_list) else {
            return Ok(ReadyTasks::default());
        };
        let from = after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
        let mut ready = ReadyTasks::default();
        let mut last = None;
        for key in list.ready.range((from, Bound::Unbounded)) {
            if key.0 > now {
                break;
            }
            if ready.tasks.len() == limit {
                ready.next = last.map(encode_ready_token);
                return Ok(ready);
            }
            if let Some(entry) = list.entries.get(&key.1) {
                ready.tasks.push(entry.stored_state());
            }
            last = Some(key);
        }
        // The sweep is over: the first task not yet ready says when to look again.
        ready.next_open = list
            .ready
            .range((Bound::Excluded((now, String::new())), Bound::Unbounded))
            .find(|key| key.0 > now)
            .map(|key| key.0);
        Ok(ready)
    }

    async fn append_history(
        &self,
        task_list: &str,
        id: &str,
        entry: &StoredStateChange,
        retention: &HistoryRetention,
    ) -> Result<()> {
        let _span = span(Op::AppendHistory, task_list, Some(id)).entered();
        let mut histories = self
            .histories
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        histories.appends += 1;
        if histories.appends >= HISTORY_SWEEP_EVERY {
            histories.sweep(retention, chrono::Utc::now());
        }
        let entries = histories
            .tasks
            .entry((task_list.to_owned(), id.to_owned()))
            .or_default();
        // Appends come in time order but for clock ties and races: keep
        // the order by time, a later append last among equals.
        let at = entries.partition_point(|e| e.at <= entry.at);
        entries.insert(at, entry.clone());
        let surplus = entries.len().saturating_sub(retention.kept());
        entries.drain(..surplus);
        Ok(())
    }

    async fn history(
        &self,
        task_list: &str,
        id: &str,
        retention: &HistoryRetention,
    ) -> Result<Vec<StoredStateChange>> {
        let _span = span(Op::History, task_list, Some(id)).entered();
        let now = chrono::Utc::now();
        let histories = self
            .histories
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(entries) = histories.tasks.get(&(task_list.to_owned(), id.to_owned())) else {
            return Ok(Vec::new());
        };
        let skip = entries.len().saturating_sub(retention.kept());
        Ok(entries
            .iter()
            .skip(skip)
            .filter(|e| !retention.expired(e.at, now))
            .cloned()
            .collect())
    }

    async fn count(&self, task_list: &str) -> Result<u64> {
        let _span = span(Op::Count, task_list, None).entered();
        Ok(self
            .read()
            .get(task_list)
            .map_or(0, |list| list.entries.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn expired_histories_of_tasks_no_longer_written_are_swept() {
        let adapter = MemoryAdapter::new();
        let day = HistoryRetention::default().ttl(Some(std::time::Duration::from_secs(86_400)));
        let old = StoredStateChange {
            at: chrono::Utc::now() - chrono::TimeDelta::days(2),
            state: "{}".to_owned(),
        };
        for n in 0..HISTORY_SWEEP_EVERY - 1 {
            let id = format!("done-{n}");
            adapter.append_history("l", &id, &old, &day).await.unwrap();
        }
        let tasks = |adapter: &MemoryAdapter| adapter.histories.read().unwrap().tasks.len();
        assert_eq!(
            tasks(&adapter),
            HISTORY_SWEEP_EVERY - 1,
            "kept until the sweep"
        );
        let fresh = StoredStateChange {
            at: chrono::Utc::now(),
            state: "{}".to_owned(),
        };
        adapter
            .append_history("l", "live", &fresh, &day)
            .await
            .unwrap();
        assert_eq!(
            tasks(&adapter),
            1,
            "the sweep kept only the live task's history"
        );
    }
}
