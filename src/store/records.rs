//! Saving, finding, listing and completing tasks: the calls every user of a
//! store makes.

use futures::stream::{self, BoxStream, FuturesUnordered, Stream, StreamExt};
use tracing::Instrument;

use crate::adapter::{PageToken, StorageAdapter};
use crate::data::{TaskData, TaskDecode};
use crate::error::Result;
use crate::key::{validate_key, validate_task_list};
use crate::observe::{TaskLabels, COMPLETED_TOTAL, SAVED_TOTAL};
use crate::record::TaskRecord;
use crate::registry::{DynTaskData, TaskRegistry};
use crate::task::Task;

use super::{TaskStore, SAVE_ALL_GROUP};

/// What [`TaskStore::save_unique`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "a task that was not saved is another producer's: say what to do about it"]
pub enum Unique {
    /// The id was free: this task is stored.
    Saved,
    /// A task of the list has the id already: nothing changed.
    Taken,
}

impl<A: StorageAdapter + ?Sized> TaskStore<A> {
    /// Saves a task: inserts it, or overwrites the task with the same list
    /// and id. The stored record's `updated_at` is the time of saving, by
    /// the store's clock ([`now`](Self::now)).
    ///
    /// An overwrite starts the task afresh, state included: a failed task
    /// comes back pending, its attempts at 0 and its last error gone (its
    /// history, where kept, still has them), and one a worker holds is
    /// pending again (the worker's completion then leaves the new version,
    /// [`Worker`](crate::Worker) says how). To save only a task that is not
    /// stored yet and leave a stored one as it is, use
    /// [`save_unique`](Self::save_unique).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.save(&Task::new("pings", "p1", Ping { n: 1 })?).await?;
    /// store.save(&Task::new("pings", "p1", Ping { n: 2 })?).await?; // same key: overwritten
    /// assert_eq!(store.count("pings").await?, 1);
    /// assert_eq!(store.find::<Ping>("pings", "p1").await?.unwrap().data().n, 2);
    /// # Ok(()) }
    /// ```
    pub async fn save<T: TaskData>(&self, task: &Task<T>) -> Result<()> {
        self.save_opening(task, None).await
    }

    /// Saves a task only if no task of its list has its id: of producers
    /// racing to save the same id, exactly one gets [`Unique::Saved`] and its
    /// task is stored; the others get [`Unique::Taken`] and change nothing.
    /// A task already stored under the id stays as it is, its state
    /// included (a plain [`save`](Self::save) would make it pending again,
    /// a failed one too). Use an id that names the work (an order number, a
    /// file's path) so that two producers of the same work make one task.
    ///
    /// On Cassandra it is a read and, when the id is free, a lightweight
    /// transaction (`INSERT … IF NOT EXISTS`, one Paxos round) before the
    /// task's listing entry; in memory, one step under the lock. After an
    /// error the task may or may not be stored: calling again answers
    /// [`Unique::Taken`] if it was. Needs
    /// [`StorageAdapter::store_if_absent`] (memory and Cassandra's taskrec
    /// table); elsewhere [`Error::Unsupported`](crate::Error::Unsupported),
    /// and nothing is written.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Invoice { order: u32 }
    /// use taskrec::{MemoryAdapter, Task, TaskStore, Unique};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// let task = Task::new("invoices", "order-1042", Invoice { order: 1042 })?;
    /// assert_eq!(store.save_unique(&task).await?, Unique::Saved);
    /// assert_eq!(store.save_unique(&task).await?, Unique::Taken); // a second producer
    /// assert_eq!(store.count("invoices").await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn save_unique<T: TaskData>(&self, task: &Task<T>) -> Result<Unique> {
        let span = tracing::debug_span!(
            "taskrec.save_unique",
            task_list = task.task_list(),
            task.id = task.id(),
            task.type = task.type_name(),
            saved = tracing::field::Empty,
        );
        async {
            let mut record = task.to_record()?;
            record.set_updated_at(self.record_now().await?);
            if !(*self.adapter).store_if_absent(&record).await? {
                tracing::Span::current().record("saved", false);
                return Ok(Unique::Taken);
            }
            tracing::Span::current().record("saved", true);
            self.saved(&record, crate::state::TaskState::pending())
                .await?;
            Ok(Unique::Saved)
        }
        .instrument(span)
        .await
    }

    /// What every save does once its record is stored: the task's history
    /// line, where history is kept, with the state it was saved in; its count.
    async fn saved(&self, record: &TaskRecord, mut state: crate::state::TaskState) -> Result<()> {
        let (task_list, id) = (record.task_list(), record.id());
        if self.keeps_history(task_list) {
            state.changed_at = Some(record.updated_at());
            self.record_history(task_list, id, &state).await?;
        }
        TaskLabels::owned(task_list, record.type_name()).count(SAVED_TOTAL);
        Ok(())
    }

    /// What [`save`](Self::save) and [`save_scheduled`](Self::save_scheduled)
    /// do: the record stamped with the store's time, stored pending (or
    /// scheduled for `at`), then what every save does ([`saved`](Self::saved)).
    async fn save_opening<T: TaskData>(
        &self,
        task: &Task<T>,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<()> {
        let span = tracing::debug_span!(
            "taskrec.save",
            task_list = task.task_list(),
            task.id = task.id(),
            task.type = task.type_name(),
            not_before = tracing::field::Empty,
        );
        if let Some(at) = at {
            span.record("not_before", tracing::field::display(at));
        }
        async {
            let mut record = task.to_record()?;
            record.set_updated_at(self.record_now().await?);
            let state = match at {
                None => {
                    (*self.adapter).store(&record).await?;
                    crate::state::TaskState::pending()
                }
                Some(at) => {
                    (*self.adapter).store_scheduled(&record, at).await?;
                    crate::state::TaskState::scheduled(at)
                }
            };
            self.saved(&record, state).await
        }
        .instrument(span)
        .await
    }

    /// Saves a task that expires by itself after `ttl`, where the adapter
    /// supports it (Cassandra: `USING TTL`); [`Error::Unsupported`](crate::Error::Unsupported)
    /// elsewhere. An expired task is gone as if completed: use it for work
    /// that is worthless after a deadline, never for work that must happen.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use std::time::Duration;
    /// use taskrec::{Error, MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new()); // no time-to-live in memory
    /// let saved = store.save_with_ttl(&Task::build("pings", Ping {})?, Duration::from_secs(3600)).await;
    /// assert!(matches!(saved, Err(Error::Unsupported { .. })));
    /// assert_eq!(store.count("pings").await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn save_with_ttl<T: TaskData>(
        &self,
        task: &Task<T>,
        ttl: std::time::Duration,
    ) -> Result<()> {
        let span = tracing::debug_span!(
            "taskrec.save",
            task_list = task.task_list(),
            task.id = task.id(),
            task.type = task.type_name(),
            ttl_seconds = ttl.as_secs(),
        );
        async {
            let mut record = task.to_record()?;
            record.set_updated_at(self.record_now().await?);
            (*self.adapter).store_with_ttl(&record, ttl).await?;
            TaskLabels::owned(task.task_list(), task.type_name()).count(SAVED_TOTAL);
            Ok(())
        }
        .instrument(span)
        .await
    }

    /// Saves a task to be run no earlier than `at`: inserts it, or
    /// overwrites the task with the same list and id, as [`save`](Self::save)
    /// does, with a state that no worker claims before `at` (by the store's
    /// clock, [`now`](Self::now): on Cassandra, the cluster's).
    ///
    /// Until then the task is listed and counted as
    /// [`TaskStatus::Scheduled`](crate::TaskStatus::Scheduled); at `at` it
    /// is pending like any other, and claim-next hands it out: on Cassandra
    /// from its ready hint, due at `at`, so no worker walks the list to find
    /// it. A time already past saves a task that is ready at once.
    /// [`Worker::drain`](crate::Worker::drain) waits for scheduled tasks
    /// as for any open task; [`Worker::serve`](crate::Worker::serve) runs
    /// them when their time comes.
    ///
    /// Needs an adapter that writes a scheduled task in one write
    /// ([`StorageAdapter::store_scheduled`]: memory and Cassandra's taskrec
    /// table); elsewhere [`Error::Unsupported`](crate::Error::Unsupported),
    /// and nothing is written.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Report { day: u32 }
    /// use std::time::Duration;
    /// use chrono::TimeDelta;
    /// use taskrec::{MemoryAdapter, Task, TaskStatus, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// let at = store.now().await? + TimeDelta::hours(1);
    /// store.save_scheduled(&Task::new("reports", "r1", Report { day: 1 })?, at).await?;
    ///
    /// assert_eq!(store.count_by_status("reports").await?.scheduled, 1);
    /// let state = store.state("reports", "r1").await?.unwrap();
    /// assert_eq!((state.status, state.not_before), (TaskStatus::Pending, Some(at)));
    /// // Not claimed before its time.
    /// assert!(store.claim("reports", "r1", "w", Duration::from_secs(30)).await?.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn save_scheduled<T: TaskData>(
        &self,
        task: &Task<T>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        self.save_opening(task, Some(at)).await
    }

    /// Saves a task to be run no earlier than `delay` from now, by the
    /// store's clock ([`now`](Self::now)): [`save_scheduled`](Self::save_scheduled)
    /// at `now + delay`. (A delay past the end of the calendar chrono
    /// counts, the year 262,143, schedules the task for that end.)
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Reminder {}
    /// use std::time::Duration;
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// let task = Task::build("reminders", Reminder {})?;
    /// store.save_delayed(&task, Duration::from_secs(15 * 60)).await?;
    /// let counts = store.count_by_status("reminders").await?;
    /// assert_eq!((counts.scheduled, counts.pending), (1, 0));
    /// # Ok(()) }
    /// ```
    pub async fn save_delayed<T: TaskData>(
        &self,
        task: &Task<T>,
        delay: std::time::Duration,
    ) -> Result<()> {
        let now = self.now().await?;
        let at = chrono::TimeDelta::from_std(delay)
            .ok()
            .and_then(|delay| now.checked_add_signed(delay))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        self.save_scheduled(task, at).await
    }

    /// Saves many tasks, in groups of up to [`SAVE_ALL_GROUP`] handed to
    /// the adapter's [`store_all`](StorageAdapter::store_all), with up to
    /// `concurrency` groups in flight.
    ///
    /// The Cassandra adapter writes a group in a few batched requests
    /// instead of two requests per task; adapters without a `store_all` of
    /// their own save a group's tasks one after another. The tasks are
    /// taken from `tasks` as groups are sent, so an iterator over millions
    /// of them holds at most `concurrency` groups in memory.
    ///
    /// Returns how many were saved, or the first error. After an error some
    /// of the other tasks may be saved and some not; saving is idempotent, so
    /// saving them all again is safe. A task given twice in one group is
    /// saved as its later version; in two groups, as either.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// let tasks: Vec<_> = (0..1000)
    ///     .map(|n| taskrec::Task::build("pings", Ping { n }))
    ///     .collect::<taskrec::Result<_>>()?;
    /// assert_eq!(store.save_all(&tasks, 4).await?, 1000);
    /// assert_eq!(store.count("pings").await?, 1000);
    /// # Ok(()) }
    /// ```
    pub async fn save_all<'t, T, I>(&self, tasks: I, concurrency: usize) -> Result<u64>
    where
        T: TaskData,
        I: IntoIterator<Item = &'t Task<T>>,
    {
        let span = tracing::debug_span!(
            "taskrec.save_all",
            concurrency,
            saved = tracing::field::Empty,
        );
        // A loop over a set of futures rather than a stream combinator: a
        // closure over the borrowed tasks in the stream's type would make
        // the returned future not `Send` (a limit of the compiler's check
        // of higher-ranked lifetimes), so it could not be spawned.
        let saving = async {
            let mut tasks = tasks.into_iter();
            let mut in_flight = FuturesUnordered::new();
            let mut saved = 0u64;
            loop {
                while in_flight.len() < concurrency.max(1) {
                    let group: Vec<&Task<T>> = tasks.by_ref().take(SAVE_ALL_GROUP).collect();
                    if group.is_empty() {
                        break;
                    }
                    in_flight.push(self.save_group(group));
                }
                match in_flight.next().await {
                    Some(group) => saved += group?,
                    None => return Ok::<_, crate::Error>(saved),
                }
            }
        };
        let saved = saving.instrument(span.clone()).await?;
        span.record("saved", saved);
        Ok(saved)
    }

    /// One group of [`save_all`](Self::save_all): its records in one call
    /// of the adapter, then what [`save`](Self::save) does after a store.
    async fn save_group<T: TaskData>(&self, tasks: Vec<&Task<T>>) -> Result<u64> {
        let records = tasks
            .iter()
            .map(|task| task.to_record())
            .collect::<Result<Vec<_>>>()?;
        let saved = records.len() as u64;
        self.save_records(records, None).await?;
        Ok(saved)
    }

    /// Saves records as they are (untyped: an import, a copy between
    /// lists), each stamped with the store's time as its `updated_at`, as
    /// [`save`](Self::save) stamps a task; with `at`, scheduled to run no
    /// earlier than then, as [`save_scheduled`](Self::save_scheduled) does.
    /// Each saved record gets its history line and its count, as a save
    /// does. Without `at` the records go in one [`store_all`](StorageAdapter::store_all)
    /// call (on Cassandra, a few batches grouped by partition); with it,
    /// each in its own write, all at once.
    ///
    /// After an error some may be saved and some not; saving them again is
    /// safe.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::{MemoryAdapter, TaskRecord, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// let records = vec![
    ///     TaskRecord::new("emails", "a", "SendEmail", r#"{"to":"a@example.com"}"#)?,
    ///     TaskRecord::new("emails", "b", "SendEmail", r#"{"to":"b@example.com"}"#)?,
    /// ];
    /// store.save_records(records.clone(), None).await?;
    /// let later = store.now().await? + chrono::TimeDelta::hours(1);
    /// store.save_records(records[..1].to_vec(), Some(later)).await?; // "a" again, scheduled
    /// let counts = store.count_by_status("emails").await?;
    /// assert_eq!((counts.pending, counts.scheduled), (1, 1));
    /// # Ok(()) }
    /// ```
    pub async fn save_records(
        &self,
        mut records: Vec<TaskRecord>,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let now = self.record_now().await?;
        for record in &mut records {
            record.set_updated_at(now);
        }
        let state = match at {
            None => {
                (*self.adapter).store_all(&records).await?;
                crate::state::TaskState::pending()
            }
            Some(at) => {
                let saves = records
                    .iter()
                    .map(|record| (*self.adapter).store_scheduled(record, at));
                futures::future::try_join_all(saves).await?;
                crate::state::TaskState::scheduled(at)
            }
        };
        // Their history lines at once, as their saves went.
        let saved = records
            .iter()
            .map(|record| self.saved(record, state.clone()));
        futures::future::try_join_all(saved).await?;
        Ok(())
    }

    /// Builds a task with a new id and saves it: [`Task::build`]'s
    /// time-ordered id, made from the store's clock ([`now`](Self::now)),
    /// so that on Cassandra the save is one batch, no read first, even when
    /// this process's own clock is off.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// let task = store.create("pings", Ping {}).await?;
    /// assert!(store.find::<Ping>("pings", task.id()).await?.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn create<T: TaskData>(
        &self,
        task_list: impl Into<String>,
        data: T,
    ) -> Result<Task<T>> {
        let id = crate::key::time_ordered_id(self.now().await?);
        let task = Task::new(task_list, id, data)?;
        self.save(&task).await?;
        Ok(task)
    }

    /// The task under (task list, id) as a `T`, or `None` when there is none.
    ///
    /// `T` is a task type or an enum of task types; a stored type that `T`
    /// does not decode is an error ([`Error::TypeMismatch`](crate::Error::TypeMismatch)
    /// or [`Error::UnknownType`](crate::Error::UnknownType)), not `None`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # #[derive(Debug, taskrec::TaskData)] struct Pong {}
    /// use taskrec::{Error, MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.save(&Task::new("games", "g1", Ping {})?).await?;
    /// assert!(store.find::<Ping>("games", "g1").await?.is_some());
    /// assert!(store.find::<Ping>("games", "g2").await?.is_none());
    /// let wrong = store.find::<Pong>("games", "g1").await;
    /// assert!(matches!(wrong, Err(Error::TypeMismatch { .. })));
    /// # Ok(()) }
    /// ```
    pub async fn find<T: TaskDecode>(&self, task_list: &str, id: &str) -> Result<Option<Task<T>>> {
        self.find_record(task_list, id)
            .await?
            .map(Task::from_record)
            .transpose()
    }

    /// The task under (task list, id), decoded through a registry into
    /// whichever registered type it holds; a type the registry does not
    /// know is [`Error::UnknownType`](crate::Error::UnknownType).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use taskrec::{MemoryAdapter, Task, TaskRegistry, TaskStore};
    /// let mut registry = TaskRegistry::new();
    /// registry.register::<Ping>()?;
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.save(&Task::new("games", "g1", Ping {})?).await?;
    /// let task = store.find_registered(&registry, "games", "g1").await?.unwrap();
    /// assert!(task.data().is::<Ping>());
    /// # Ok(()) }
    /// ```
    pub async fn find_registered(
        &self,
        registry: &TaskRegistry,
        task_list: &str,
        id: &str,
    ) -> Result<Option<Task<DynTaskData>>> {
        self.find_record(task_list, id)
            .await?
            .map(|record| registry.decode_record(record))
            .transpose()
    }

    /// The stored record under (task list, id), undecoded.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.save(&Task::new("pings", "p1", Ping { n: 1 })?).await?;
    /// let record = store.find_record("pings", "p1").await?.unwrap();
    /// assert_eq!((record.type_name(), record.data()), ("Ping", r#"{"n":1}"#));
    /// # Ok(()) }
    /// ```
    pub async fn find_record(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
        validate_key(task_list, id)?;
        let span = tracing::debug_span!("taskrec.find", task_list, task.id = id);
        (*self.adapter).find(task_list, id).instrument(span).await
    }

    /// Every task of a list as a `T`, lazily, a page at a time.
    ///
    /// A record that does not decode is an error item naming it; the stream
    /// goes on after it, so one bad record does not hide the rest.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// use futures::StreamExt;
    /// use taskrec::{MemoryAdapter, Task, TaskRecord, TaskStore};
    /// use taskrec::adapter::StorageAdapter;
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.save(&Task::new("pings", "a", Ping { n: 1 })?).await?;
    /// store.adapter().store(&TaskRecord::new("pings", "b", "Ping", r#"{"n":"x"}"#)?).await?;
    /// store.save(&Task::new("pings", "c", Ping { n: 3 })?).await?;
    /// let items: Vec<taskrec::Result<Task<Ping>>> = store.all("pings").collect().await;
    /// assert_eq!(items.iter().filter(|item| item.is_ok()).count(), 2); // the bad one is an Err
    /// # Ok(()) }
    /// ```
    pub fn all<'a, T: TaskDecode>(
        &'a self,
        task_list: &'a str,
    ) -> impl Stream<Item = Result<Task<T>>> + Send + 'a {
        self.records(task_list)
            .map(|record| record.and_then(Task::from_record))
    }

    /// Every task of a list, decoded through a registry into whichever
    /// registered type each holds, lazily; a record that does not decode is
    /// an error item naming it, and the stream goes on after it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # #[derive(Debug, taskrec::TaskData)] struct Pong {}
    /// use futures::TryStreamExt;
    /// use taskrec::{MemoryAdapter, TaskRegistry, TaskStore};
    /// let mut registry = TaskRegistry::new();
    /// registry.register::<Ping>()?.register::<Pong>()?;
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.create("games", Ping {}).await?;
    /// store.create("games", Pong {}).await?;
    /// let mut names: Vec<String> = store.all_registered(&registry, "games")
    ///     .map_ok(|task| task.type_name().to_owned()).try_collect().await?;
    /// names.sort();
    /// assert_eq!(names, ["Ping", "Pong"]);
    /// # Ok(()) }
    /// ```
    pub fn all_registered<'a>(
        &'a self,
        registry: &'a TaskRegistry,
        task_list: &'a str,
    ) -> impl Stream<Item = Result<Task<DynTaskData>>> + Send + 'a {
        self.records(task_list)
            .map(move |record| record.and_then(|r| registry.decode_record(r)))
    }

    /// Every record of a list, undecoded, lazily.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// use futures::TryStreamExt;
    /// use taskrec::{MemoryAdapter, TaskRecord, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.create("pings", Ping { n: 7 }).await?;
    /// let records: Vec<TaskRecord> = store.records("pings").try_collect().await?;
    /// assert_eq!(records[0].data(), r#"{"n":7}"#);
    /// assert!(store.records("").try_collect::<Vec<_>>().await.is_err()); // not a task list
    /// # Ok(()) }
    /// ```
    pub fn records<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Result<TaskRecord>> {
        match validate_task_list(task_list) {
            Ok(()) => (*self.adapter).all(task_list),
            Err(e) => stream::once(async move { Err(e) }).boxed(),
        }
    }

    /// One page of a list's tasks and the token to continue from, for
    /// walking a long list across requests or restarts. Each task decodes
    /// on its own: a record that does not decode is an error in its place,
    /// and the walk goes on past it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// for n in 0..5 { store.create("pings", Ping { n }).await?; }
    /// let (first, token) = store.page::<Ping>("pings", None, 3).await?;
    /// assert_eq!(first.len(), 3);
    /// assert!(first.iter().all(|task| task.is_ok()));
    /// let saved = token.unwrap().to_string();          // keep it anywhere
    /// let (rest, token) = store.page::<Ping>("pings", Some(&saved.parse()?), 3).await?;
    /// assert_eq!((rest.len(), token), (2, None));
    /// # Ok(()) }
    /// ```
    pub async fn page<T: TaskDecode>(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<(Vec<Result<Task<T>>>, Option<PageToken>)> {
        validate_task_list(task_list)?;
        let span = tracing::debug_span!("taskrec.page", task_list, page_size);
        let page = (*self.adapter)
            .page(task_list, token, page_size)
            .instrument(span)
            .await?;
        let tasks = page.records.into_iter().map(Task::from_record).collect();
        Ok((tasks, page.next))
    }

    /// Completes a task: its record is deleted, so no later run finds it.
    /// Completing a task that is already gone is not an error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// let task = store.create("pings", Ping {}).await?;
    /// store.complete(&task).await?;
    /// assert!(store.find::<Ping>("pings", task.id()).await?.is_none());
    /// store.complete(&task).await?; // already gone: still Ok
    /// # Ok(()) }
    /// ```
    pub async fn complete<T>(&self, task: &Task<T>) -> Result<()> {
        self.delete(task.task_list(), task.id()).await?;
        // Any `Task<T>` will do here, so the type may be unknown: an empty
        // `task_type`, which Prometheus reads as no label.
        TaskLabels::owned(task.task_list(), "").count(COMPLETED_TOTAL);
        Ok(())
    }

    /// Deletes the record under (task list, id); a no-op when absent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.save(&Task::new("pings", "p1", Ping {})?).await?;
    /// store.delete("pings", "p1").await?;
    /// store.delete("pings", "never-saved").await?;
    /// assert_eq!(store.count("pings").await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
        validate_key(task_list, id)?;
        let span = tracing::debug_span!("taskrec.delete", task_list, task.id = id);
        (*self.adapter).delete(task_list, id).instrument(span).await
    }

    /// How many tasks a list holds.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// for _ in 0..3 { store.create("pings", Ping {}).await?; }
    /// assert_eq!(store.count("pings").await?, 3);
    /// assert_eq!(store.count("pongs").await?, 0); // an unknown list is empty
    /// assert!(store.count("").await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn count(&self, task_list: &str) -> Result<u64> {
        validate_task_list(task_list)?;
        let span = tracing::debug_span!("taskrec.count", task_list);
        (*self.adapter).count(task_list).instrument(span).await
    }
}
