//! One configurable adapter for the tests that need the memory adapter with
//! one behaviour changed (a call counted, a call failed, a capability
//! hidden, a write slipped in between two calls), instead of one
//! hand-written adapter per test.
//!
//! [`Wrapped`] writes every method of `StorageAdapter` and forwards each to
//! a [`MemoryAdapter`], so it never runs a trait default by forgetting a
//! method (`tests/wrapper.rs` reads this file and the trait's to check that
//! every method is here). What a test changes it says with a knob:
//!
//! - [`named`](Wrapped::named), [`with_capabilities`](Wrapped::with_capabilities):
//!   what the adapter says it is and can do;
//! - [`trait_defaults`](Wrapped::trait_defaults): methods answered by the
//!   trait's default, built on the wrapper's own methods (so through its
//!   counts, caps and failures), as for an adapter that did not write them;
//! - [`max_page`](Wrapped::max_page), [`max_step`](Wrapped::max_step):
//!   shorter pages and sweep steps than asked for, as the contract allows;
//! - [`fail_when`](Wrapped::fail_when): a call fails with the hook's error,
//!   before it reaches the memory adapter;
//! - [`store_before_next`](Wrapped::store_before_next): a record stored, as
//!   another writer would, just before the next call of a method;
//! - [`after_ready_step`](Wrapped::after_ready_step): what another process
//!   does right after a step of `next_ready` handed tasks out.
//!
//! Every call is counted ([`calls`](Wrapped::calls)), and the records each
//! listing handed out or `store_all` took are kept ([`sizes`](Wrapped::sizes)).
//!
//! Include it with `#[path = "support/wrapper.rs"] mod wrapper;`.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};
use taskrec::adapter::{
    async_trait, walk_pages, Capabilities, Error, HistoryRetention, Page, PageToken, ReadyTasks,
    Result, StateToken, StatusCounts, StorageAdapter, StoredState, StoredStateChange,
    StoredStatusPage, TaskRecord, TaskStatus, DEFAULT_PAGE_SIZE,
};
use taskrec::{ClockReading, MemoryAdapter};

/// A method of `StorageAdapter`, one variant each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Name,
    Capabilities,
    Now,
    ClockReading,
    Store,
    StoreAll,
    Find,
    Delete,
    Page,
    StoreWithTtl,
    StoreScheduled,
    StoreIfAbsent,
    LoadState,
    SwapState,
    NextReady,
    StopSweeping,
    TaskLists,
    PauseState,
    SetPause,
    KeptCounts,
    KeepCounts,
    CountByStatus,
    PageByStatus,
    AppendHistory,
    History,
    All,
    Count,
}

impl Method {
    /// Every method of the trait.
    pub const ALL: [Method; 27] = [
        Method::Name,
        Method::Capabilities,
        Method::Now,
        Method::ClockReading,
        Method::Store,
        Method::StoreAll,
        Method::Find,
        Method::Delete,
        Method::Page,
        Method::StoreWithTtl,
        Method::StoreScheduled,
        Method::StoreIfAbsent,
        Method::LoadState,
        Method::SwapState,
        Method::NextReady,
        Method::StopSweeping,
        Method::TaskLists,
        Method::PauseState,
        Method::SetPause,
        Method::KeptCounts,
        Method::KeepCounts,
        Method::CountByStatus,
        Method::PageByStatus,
        Method::AppendHistory,
        Method::History,
        Method::All,
        Method::Count,
    ];

    /// The methods whose trait default [`Wrapped::trait_defaults`] can run:
    /// all but the four required ones, and `name` and `capabilities`, which
    /// have knobs of their own.
    pub const PROVIDED: [Method; 21] = [
        Method::Now,
        Method::ClockReading,
        Method::StoreAll,
        Method::StoreWithTtl,
        Method::StoreScheduled,
        Method::StoreIfAbsent,
        Method::LoadState,
        Method::SwapState,
        Method::NextReady,
        Method::StopSweeping,
        Method::TaskLists,
        Method::PauseState,
        Method::SetPause,
        Method::KeptCounts,
        Method::KeepCounts,
        Method::CountByStatus,
        Method::PageByStatus,
        Method::AppendHistory,
        Method::History,
        Method::All,
        Method::Count,
    ];

    /// The method's name in the trait.
    pub fn name(self) -> &'static str {
        match self {
            Method::Name => "name",
            Method::Capabilities => "capabilities",
            Method::Now => "now",
            Method::ClockReading => "clock_reading",
            Method::Store => "store",
            Method::StoreAll => "store_all",
            Method::Find => "find",
            Method::Delete => "delete",
            Method::Page => "page",
            Method::StoreWithTtl => "store_with_ttl",
            Method::StoreScheduled => "store_scheduled",
            Method::StoreIfAbsent => "store_if_absent",
            Method::LoadState => "load_state",
            Method::SwapState => "swap_state",
            Method::NextReady => "next_ready",
            Method::StopSweeping => "stop_sweeping",
            Method::TaskLists => "task_lists",
            Method::PauseState => "pause_state",
            Method::SetPause => "set_pause",
            Method::KeptCounts => "kept_counts",
            Method::KeepCounts => "keep_counts",
            Method::CountByStatus => "count_by_status",
            Method::PageByStatus => "page_by_status",
            Method::AppendHistory => "append_history",
            Method::History => "history",
            Method::All => "all",
            Method::Count => "count",
        }
    }
}

/// One call, as a [`fail_when`](Wrapped::fail_when) hook sees it: the method
/// and what it was given, where it takes it (a store's record gives its key
/// too; `store_all`'s records are in `records`).
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub method: Method,
    pub task_list: Option<&'a str>,
    pub id: Option<&'a str>,
    pub record: Option<&'a TaskRecord>,
    pub records: &'a [TaskRecord],
    pub token: Option<&'a PageToken>,
}

impl<'a> Call<'a> {
    fn of(method: Method) -> Self {
        Call {
            method,
            task_list: None,
            id: None,
            record: None,
            records: &[],
            token: None,
        }
    }
    fn list(self, task_list: &'a str) -> Self {
        Call {
            task_list: Some(task_list),
            ..self
        }
    }
    fn key(self, task_list: &'a str, id: &'a str) -> Self {
        Call {
            id: Some(id),
            ..self.list(task_list)
        }
    }
    fn record(self, record: &'a TaskRecord) -> Self {
        Call {
            record: Some(record),
            ..self.key(record.task_list(), record.id())
        }
    }
    fn records(self, records: &'a [TaskRecord]) -> Self {
        Call { records, ..self }
    }
    fn token(self, token: Option<&'a PageToken>) -> Self {
        Call { token, ..self }
    }
}

type FailHook = Box<dyn Fn(&Call<'_>) -> Option<Error> + Send + Sync>;
type ReadyHook =
    Box<dyn Fn(MemoryAdapter, String, ReadyTasks) -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// The memory adapter, every method forwarded, with the knobs above.
pub struct Wrapped {
    inner: MemoryAdapter,
    name: Option<&'static str>,
    capabilities: fn(Capabilities) -> Capabilities,
    defaults: BTreeSet<Method>,
    max_page: Option<usize>,
    max_step: Option<usize>,
    fail_when: Vec<FailHook>,
    after_ready_step: Option<ReadyHook>,
    calls: [AtomicUsize; Method::ALL.len()],
    sizes: Mutex<HashMap<Method, Vec<usize>>>,
    pending: Mutex<Vec<(Method, TaskRecord)>>,
}

impl Default for Wrapped {
    fn default() -> Self {
        Wrapped::new()
    }
}

impl fmt::Debug for Wrapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wrapped")
            .field("inner", &self.inner)
            .field("name", &self.name)
            .field("defaults", &self.defaults)
            .field("max_page", &self.max_page)
            .field("max_step", &self.max_step)
            .field("fail_when", &self.fail_when.len())
            .field("after_ready_step", &self.after_ready_step.is_some())
            .finish_non_exhaustive()
    }
}

impl Wrapped {
    /// A fresh memory adapter, every method forwarded to it unchanged.
    pub fn new() -> Self {
        Wrapped {
            inner: MemoryAdapter::new(),
            name: None,
            capabilities: |memory| memory,
            defaults: BTreeSet::new(),
            max_page: None,
            max_step: None,
            fail_when: Vec::new(),
            after_ready_step: None,
            calls: std::array::from_fn(|_| AtomicUsize::new(0)),
            sizes: Mutex::new(HashMap::new()),
            pending: Mutex::new(Vec::new()),
        }
    }

    /// `name` answers this (in errors the trait's defaults make, too).
    pub fn named(self, name: &'static str) -> Self {
        Wrapped {
            name: Some(name),
            ..self
        }
    }

    /// `capabilities` answers this function of the memory adapter's.
    pub fn with_capabilities(self, capabilities: fn(Capabilities) -> Capabilities) -> Self {
        Wrapped {
            capabilities,
            ..self
        }
    }

    /// These methods answer as the trait's default does for an adapter that
    /// did not write them, built on the wrapper's own methods (its counts,
    /// caps and failures apply to the calls the default makes), instead of
    /// forwarding to the memory adapter's. Only [`Method::PROVIDED`] ones.
    pub fn trait_defaults(mut self, methods: &[Method]) -> Self {
        for &method in methods {
            assert!(
                Method::PROVIDED.contains(&method),
                "{} has no trait default the wrapper runs",
                method.name()
            );
            self.defaults.insert(method);
        }
        self
    }

    /// `page` and `page_by_status` hand out at most `max` records a page,
    /// whatever the page size asked for.
    pub fn max_page(self, max: usize) -> Self {
        Wrapped {
            max_page: Some(max),
            ..self
        }
    }

    /// A step of `next_ready` hands out at most `max` tasks, whatever the
    /// limit asked for.
    pub fn max_step(self, max: usize) -> Self {
        Wrapped {
            max_step: Some(max),
            ..self
        }
    }

    /// Before each call that answers a `Result` (all but `name`,
    /// `capabilities` and `clock_reading`), asks `hook`: an error fails the
    /// call with it, without reaching the memory adapter. The call is still
    /// counted.
    pub fn fail_when(
        mut self,
        hook: impl Fn(&Call<'_>) -> Option<Error> + Send + Sync + 'static,
    ) -> Self {
        self.fail_when.push(Box::new(hook));
        self
    }

    /// After each step of `next_ready` that succeeds, before the step is
    /// returned, runs `hook` with the memory adapter, the task list and the
    /// step: another process acting right after this one read the tasks.
    /// An error from it fails the step.
    pub fn after_ready_step<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(MemoryAdapter, String, ReadyTasks) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.after_ready_step = Some(Box::new(move |memory, task_list, ready| {
            Box::pin(hook(memory, task_list, ready))
        }));
        self
    }

    /// Stores `record` in the memory adapter just before the next call of
    /// `method` (once), as another writer would between two calls; an error
    /// storing it fails that call.
    pub fn store_before_next(&self, method: Method, record: TaskRecord) {
        self.pending.lock().unwrap().push((method, record));
    }

    /// How many times `method` was called, failed calls included.
    pub fn calls(&self, method: Method) -> usize {
        self.calls[method as usize].load(SeqCst)
    }

    /// For each call of `store_all`, how many records it was given; for each
    /// successful call of `page`, `next_ready` or `page_by_status`, how many
    /// records or tasks it handed out. Empty for other methods.
    pub fn sizes(&self, method: Method) -> Vec<usize> {
        let sizes = self.sizes.lock().unwrap();
        sizes.get(&method).cloned().unwrap_or_default()
    }

    /// The memory adapter underneath, for reads and writes no knob sees.
    pub fn memory(&self) -> &MemoryAdapter {
        &self.inner
    }

    fn note_call(&self, method: Method) {
        self.calls[method as usize].fetch_add(1, SeqCst);
    }

    fn note_size(&self, method: Method, size: usize) {
        let mut sizes = self.sizes.lock().unwrap();
        sizes.entry(method).or_default().push(size);
    }

    fn default_for(&self, method: Method) -> bool {
        self.defaults.contains(&method)
    }

    /// What a call does before it is answered: the records waiting for its
    /// method are stored, then the failure hooks are asked.
    async fn before(&self, call: Call<'_>) -> Result<()> {
        let waiting: Vec<TaskRecord> = {
            let mut pending = self.pending.lock().unwrap();
            let (now, later) = pending.drain(..).partition(|(m, _)| *m == call.method);
            *pending = later;
            now.into_iter().map(|(_, record)| record).collect()
        };
        for record in &waiting {
            self.inner.store(record).await?;
        }
        match self.fail_when.iter().find_map(|hook| hook(&call)) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Counts the call, then [`before`](Self::before).
    async fn enter(&self, call: Call<'_>) -> Result<()> {
        self.note_call(call.method);
        self.before(call).await
    }
}

// Each method counts its call, runs `before`, then forwards to the memory
// adapter or, for a method in `defaults`, runs the trait's default through
// `Bare` or `Stateful` below.
#[async_trait]
impl StorageAdapter for Wrapped {
    fn name(&self) -> &'static str {
        self.note_call(Method::Name);
        self.name.unwrap_or_else(|| self.inner.name())
    }

    fn capabilities(&self) -> Capabilities {
        self.note_call(Method::Capabilities);
        (self.capabilities)(self.inner.capabilities())
    }

    async fn now(&self) -> Result<DateTime<Utc>> {
        self.enter(Call::of(Method::Now)).await?;
        if self.default_for(Method::Now) {
            Bare(self).now().await
        } else {
            self.inner.now().await
        }
    }

    fn clock_reading(&self) -> Option<ClockReading> {
        self.note_call(Method::ClockReading);
        if self.default_for(Method::ClockReading) {
            Bare(self).clock_reading()
        } else {
            self.inner.clock_reading()
        }
    }

    async fn store(&self, record: &TaskRecord) -> Result<()> {
        self.enter(Call::of(Method::Store).record(record)).await?;
        self.inner.store(record).await
    }

    async fn store_all(&self, records: &[TaskRecord]) -> Result<()> {
        self.note_size(Method::StoreAll, records.len());
        self.enter(Call::of(Method::StoreAll).records(records))
            .await?;
        if self.default_for(Method::StoreAll) {
            Stateful(self).store_all(records).await
        } else {
            self.inner.store_all(records).await
        }
    }

    async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
        self.enter(Call::of(Method::Find).key(task_list, id))
            .await?;
        self.inner.find(task_list, id).await
    }

    async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
        self.enter(Call::of(Method::Delete).key(task_list, id))
            .await?;
        self.inner.delete(task_list, id).await
    }

    async fn page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        let call = Call::of(Method::Page).list(task_list).token(token);
        self.enter(call).await?;
        let page_size = self.max_page.map_or(page_size, |max| page_size.min(max));
        let page = self.inner.page(task_list, token, page_size).await?;
        self.note_size(Method::Page, page.records.len());
        Ok(page)
    }

    async fn store_with_ttl(&self, record: &TaskRecord, ttl: Duration) -> Result<()> {
        self.enter(Call::of(Method::StoreWithTtl).record(record))
            .await?;
        if self.default_for(Method::StoreWithTtl) {
            Bare(self).store_with_ttl(record, ttl).await
        } else {
            self.inner.store_with_ttl(record, ttl).await
        }
    }

    async fn store_scheduled(&self, record: &TaskRecord, not_before: DateTime<Utc>) -> Result<()> {
        self.enter(Call::of(Method::StoreScheduled).record(record))
            .await?;
        if self.default_for(Method::StoreScheduled) {
            Bare(self).store_scheduled(record, not_before).await
        } else {
            self.inner.store_scheduled(record, not_before).await
        }
    }

    async fn store_if_absent(&self, record: &TaskRecord) -> Result<bool> {
        self.enter(Call::of(Method::StoreIfAbsent).record(record))
            .await?;
        if self.default_for(Method::StoreIfAbsent) {
            Bare(self).store_if_absent(record).await
        } else {
            self.inner.store_if_absent(record).await
        }
    }

    async fn load_state(&self, task_list: &str, id: &str) -> Result<Option<StoredState>> {
        self.enter(Call::of(Method::LoadState).key(task_list, id))
            .await?;
        if self.default_for(Method::LoadState) {
            Bare(self).load_state(task_list, id).await
        } else {
            self.inner.load_state(task_list, id).await
        }
    }

    async fn swap_state(
        &self,
        task_list: &str,
        id: &str,
        expected: &StateToken,
        new: Option<&str>,
    ) -> Result<Option<StateToken>> {
        self.enter(Call::of(Method::SwapState).key(task_list, id))
            .await?;
        if self.default_for(Method::SwapState) {
            Bare(self).swap_state(task_list, id, expected, new).await
        } else {
            self.inner.swap_state(task_list, id, expected, new).await
        }
    }

    async fn next_ready(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        let call = Call::of(Method::NextReady).list(task_list).token(token);
        self.enter(call).await?;
        let limit = self.max_step.map_or(limit, |max| limit.min(max));
        let ready = if self.default_for(Method::NextReady) {
            Stateful(self)
                .next_ready(task_list, token, limit, now)
                .await?
        } else {
            self.inner.next_ready(task_list, token, limit, now).await?
        };
        self.note_size(Method::NextReady, ready.tasks.len());
        if let Some(hook) = &self.after_ready_step {
            hook(self.inner.clone(), task_list.to_owned(), ready.clone()).await?;
        }
        Ok(ready)
    }

    async fn stop_sweeping(&self, task_list: &str) -> Result<()> {
        self.enter(Call::of(Method::StopSweeping).list(task_list))
            .await?;
        if self.default_for(Method::StopSweeping) {
            Stateful(self).stop_sweeping(task_list).await
        } else {
            self.inner.stop_sweeping(task_list).await
        }
    }

    async fn task_lists(&self) -> Result<Option<Vec<String>>> {
        self.enter(Call::of(Method::TaskLists)).await?;
        if self.default_for(Method::TaskLists) {
            Stateful(self).task_lists().await
        } else {
            self.inner.task_lists().await
        }
    }

    async fn pause_state(&self, task_list: &str) -> Result<Option<taskrec::ListPause>> {
        self.enter(Call::of(Method::PauseState).list(task_list))
            .await?;
        if self.default_for(Method::PauseState) {
            Stateful(self).pause_state(task_list).await
        } else {
            self.inner.pause_state(task_list).await
        }
    }

    async fn set_pause(&self, task_list: &str, pause: Option<&taskrec::ListPause>) -> Result<()> {
        self.enter(Call::of(Method::SetPause).list(task_list))
            .await?;
        if self.default_for(Method::SetPause) {
            Stateful(self).set_pause(task_list, pause).await
        } else {
            self.inner.set_pause(task_list, pause).await
        }
    }

    async fn kept_counts(&self, task_list: &str) -> Result<Option<taskrec::KeptCounts>> {
        self.enter(Call::of(Method::KeptCounts).list(task_list))
            .await?;
        if self.default_for(Method::KeptCounts) {
            Stateful(self).kept_counts(task_list).await
        } else {
            self.inner.kept_counts(task_list).await
        }
    }

    async fn keep_counts(&self, task_list: &str, counts: &taskrec::KeptCounts) -> Result<()> {
        self.enter(Call::of(Method::KeepCounts).list(task_list))
            .await?;
        if self.default_for(Method::KeepCounts) {
            Stateful(self).keep_counts(task_list, counts).await
        } else {
            self.inner.keep_counts(task_list, counts).await
        }
    }

    async fn count_by_status(&self, task_list: &str) -> Result<StatusCounts> {
        self.enter(Call::of(Method::CountByStatus).list(task_list))
            .await?;
        if self.default_for(Method::CountByStatus) {
            Stateful(self).count_by_status(task_list).await
        } else {
            self.inner.count_by_status(task_list).await
        }
    }

    async fn page_by_status(
        &self,
        task_list: &str,
        status: TaskStatus,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<StoredStatusPage> {
        let call = Call::of(Method::PageByStatus).list(task_list).token(token);
        self.enter(call).await?;
        let page_size = self.max_page.map_or(page_size, |max| page_size.min(max));
        let page = if self.default_for(Method::PageByStatus) {
            Stateful(self)
                .page_by_status(task_list, status, token, page_size)
                .await?
        } else {
            self.inner
                .page_by_status(task_list, status, token, page_size)
                .await?
        };
        self.note_size(Method::PageByStatus, page.tasks.len());
        Ok(page)
    }

    async fn append_history(
        &self,
        task_list: &str,
        id: &str,
        entry: &StoredStateChange,
        retention: &HistoryRetention,
    ) -> Result<()> {
        self.enter(Call::of(Method::AppendHistory).key(task_list, id))
            .await?;
        if self.default_for(Method::AppendHistory) {
            Stateful(self)
                .append_history(task_list, id, entry, retention)
                .await
        } else {
            self.inner
                .append_history(task_list, id, entry, retention)
                .await
        }
    }

    async fn history(
        &self,
        task_list: &str,
        id: &str,
        retention: &HistoryRetention,
    ) -> Result<Vec<StoredStateChange>> {
        self.enter(Call::of(Method::History).key(task_list, id))
            .await?;
        if self.default_for(Method::History) {
            Stateful(self).history(task_list, id, retention).await
        } else {
            self.inner.history(task_list, id, retention).await
        }
    }

    /// Counted when called; `before` runs when the stream is first polled
    /// (a listing reads nothing until then).
    fn all<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Result<TaskRecord>> {
        self.note_call(Method::All);
        let records = if self.default_for(Method::All) {
            // The trait's default, spelled out: it cannot be reached through
            // `Stateful`, whose stream could not outlive it.
            walk_pages(self, task_list, DEFAULT_PAGE_SIZE)
        } else {
            self.inner.all(task_list)
        };
        futures::stream::once(async move {
            match self.before(Call::of(Method::All).list(task_list)).await {
                Ok(()) => records,
                Err(error) => futures::stream::once(async { Err(error) }).boxed(),
            }
        })
        .flatten()
        .boxed()
    }

    async fn count(&self, task_list: &str) -> Result<u64> {
        self.enter(Call::of(Method::Count).list(task_list)).await?;
        if self.default_for(Method::Count) {
            Stateful(self).count(task_list).await
        } else {
            self.inner.count(task_list).await
        }
    }
}

/// The wrapper as an adapter that wrote only the four required methods,
/// `name` and `capabilities`: each of its other methods is the trait's
/// default, calling back into the wrapper. Runs the defaults of `now`,
/// `clock_reading` and the store and state methods, which use nothing but
/// `name` and `capabilities`.
#[derive(Debug)]
struct Bare<'a>(&'a Wrapped);

#[async_trait]
impl<'a> StorageAdapter for Bare<'a> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    async fn store(&self, record: &TaskRecord) -> Result<()> {
        self.0.store(record).await
    }
    async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
        self.0.find(task_list, id).await
    }
    async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
        self.0.delete(task_list, id).await
    }
    async fn page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        self.0.page(task_list, token, page_size).await
    }
}

/// The wrapper as an adapter that wrote every method but those the trait
/// builds on others (`store_all`, `next_ready`, `count_by_status`,
/// `page_by_status`, `append_history`, `history`, `count`): it runs their
/// defaults, which call back into the wrapper for the rest.
#[derive(Debug)]
struct Stateful<'a>(&'a Wrapped);

#[async_trait]
impl<'a> StorageAdapter for Stateful<'a> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    async fn now(&self) -> Result<DateTime<Utc>> {
        self.0.now().await
    }
    fn clock_reading(&self) -> Option<ClockReading> {
        self.0.clock_reading()
    }
    async fn store(&self, record: &TaskRecord) -> Result<()> {
        self.0.store(record).await
    }
    async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
        self.0.find(task_list, id).await
    }
    async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
        self.0.delete(task_list, id).await
    }
    async fn page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        self.0.page(task_list, token, page_size).await
    }
    async fn store_with_ttl(&self, record: &TaskRecord, ttl: Duration) -> Result<()> {
        self.0.store_with_ttl(record, ttl).await
    }
    async fn store_scheduled(&self, record: &TaskRecord, not_before: DateTime<Utc>) -> Result<()> {
        self.0.store_scheduled(record, not_before).await
    }
    async fn store_if_absent(&self, record: &TaskRecord) -> Result<bool> {
        self.0.store_if_absent(record).await
    }
    async fn load_state(&self, task_list: &str, id: &str) -> Result<Option<StoredState>> {
        self.0.load_state(task_list, id).await
    }
    async fn swap_state(
        &self,
        task_list: &str,
        id: &str,
        expected: &StateToken,
        new: Option<&str>,
    ) -> Result<Option<StateToken>> {
        self.0.swap_state(task_list, id, expected, new).await
    }
    fn all<'b>(&'b self, task_list: &'b str) -> BoxStream<'b, Result<TaskRecord>> {
        self.0.all(task_list)
    }
}
