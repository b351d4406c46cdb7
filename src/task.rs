//! The typed task: a key, typed data and timestamps.

use chrono::{DateTime, Utc};

use crate::data::{self, DataRef, TaskData, TaskDecode};
use crate::data_check;
use crate::error::Result;
use crate::hash::{self, HashData, TaskHash};
use crate::json_text::Origin;
use crate::key::{validate_id, validate_key, validate_task_list, TaskKey};
use crate::record::{self, TaskRecord};

mod hash_json;

/// A task: which list it belongs to, its id in that list, its typed data,
/// and when it was built and last written.
///
/// `T` is a task type (`#[derive(TaskData)]` on a struct), an enum of task
/// types (the derive on an enum), or [`DynTaskData`](crate::DynTaskData) for
/// tasks decoded through a [`TaskRegistry`](crate::TaskRegistry).
///
/// ```
/// use taskrec::{Task, TaskData};
/// #[derive(Debug, Clone, PartialEq, TaskData)]
/// struct FetchFile { external_host: String, filename: String }
///
/// let task = Task::build("datto.com", FetchFile {
///     external_host: "datto.com".into(),
///     filename: "file1.txt".into(),
/// })?
/// .with_id("file1")?;
/// assert_eq!(task.task_list(), "datto.com");
/// assert_eq!(task.id(), "file1");
/// assert_eq!(task.data().filename, "file1.txt");   // typed attribute access
/// assert_eq!(task.type_name(), "FetchFile");
/// # Ok::<(), taskrec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Task<T> {
    task_list: String,
    id: String,
    data: T,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl<T> Task<T> {
    /// A task with an id of its own choosing.
    ///
    /// Fails with [`Error::InvalidTaskList`](crate::Error::InvalidTaskList) or
    /// [`Error::InvalidId`](crate::Error::InvalidId) for an empty or too long key.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// let task = taskrec::Task::new("pings", "p-1", Ping {})?;
    /// assert_eq!(task.id(), "p-1");
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn new(task_list: impl Into<String>, id: impl Into<String>, data: T) -> Result<Self> {
        let (task_list, id) = (task_list.into(), id.into());
        validate_key(&task_list, &id)?;
        let now = record::now();
        Ok(Task {
            task_list,
            id,
            data,
            created_at: now,
            updated_at: now,
        })
    }

    /// A task with a new, time-ordered (version 7) UUID as its id: the
    /// time it was built, to the millisecond, then 74 random bits.
    ///
    /// An id taskrec made is known to be new, and its time says where the
    /// task's listing entry goes, so on Cassandra a save of a task built
    /// within the last half minute or so is one batch, with no read of where
    /// an earlier save put it. The time is this process's clock corrected
    /// by the offset a Cassandra adapter in this process last measured (see
    /// [`clock`](crate::clock)); [`TaskStore::create`](crate::TaskStore::create)
    /// asks its store.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// let a = taskrec::Task::build("pings", Ping {})?;
    /// let b = taskrec::Task::build("pings", Ping {})?;
    /// assert_eq!(a.id().len(), 36);
    /// assert_ne!(a.id(), b.id());
    /// assert_eq!(uuid::Uuid::parse_str(a.id()).unwrap().get_version_num(), 7);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn build(task_list: impl Into<String>, data: T) -> Result<Self> {
        Self::new(
            task_list,
            crate::key::time_ordered_id(crate::clock::process_now()),
            data,
        )
    }

    /// The same task under another id.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// let task = taskrec::Task::build("pings", Ping {})?.with_id("p-7")?;
    /// assert_eq!(task.id(), "p-7");
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn with_id(mut self, id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        validate_id(&id)?;
        self.id = id;
        Ok(self)
    }

    /// The same task in another task list.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// let task = taskrec::Task::build("a", Ping {})?.with_task_list("b")?;
    /// assert_eq!(task.task_list(), "b");
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn with_task_list(mut self, task_list: impl Into<String>) -> Result<Self> {
        let task_list = task_list.into();
        validate_task_list(&task_list)?;
        self.task_list = task_list;
        Ok(self)
    }

    /// The task list this task belongs to.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// let task = taskrec::Task::build("pings", Ping {})?;
    /// assert_eq!(task.task_list(), "pings");
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn task_list(&self) -> &str {
        &self.task_list
    }

    /// The id, unique within the task list.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// let task = taskrec::Task::build("pings", Ping {})?;
    /// assert!(uuid::Uuid::parse_str(task.id()).is_ok()); // `build` chose a UUID
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The task's key, for logs and error messages.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// let task = taskrec::Task::new("pings", "p-1", Ping {})?;
    /// assert_eq!(task.key(), taskrec::TaskKey::new("pings", "p-1"));
    /// assert_eq!(task.key().to_string(), r#""pings"/"p-1""#);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn key(&self) -> TaskKey {
        TaskKey::new(self.task_list.clone(), self.id.clone())
    }

    /// The typed data.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// let task = taskrec::Task::build("pings", Ping { n: 3 })?;
    /// assert_eq!(task.data().n, 3);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The typed data, to change before saving again.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Retry { attempts: u32 }
    /// let mut task = taskrec::Task::build("l", Retry { attempts: 0 })?;
    /// task.data_mut().attempts += 1;
    /// assert_eq!(task.data().attempts, 1);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.data
    }

    /// The typed data, taking the task apart.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// let task = taskrec::Task::build("pings", Ping { n: 3 })?;
    /// let ping: Ping = task.into_data();
    /// assert_eq!(ping.n, 3);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn into_data(self) -> T {
        self.data
    }

    /// When the task was built (or, for a task read from storage, when the
    /// task that was saved was built).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// use taskrec::{MemoryAdapter, Task, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// let task = Task::new("pings", "p1", Ping {})?;
    /// store.save(&task).await?;
    /// let found = store.find::<Ping>("pings", "p1").await?.unwrap();
    /// assert_eq!(found.created_at(), task.created_at());
    /// # Ok(()) }
    /// ```
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// For a task read from storage, when its record was last written; for
    /// a task built in this process, its build time. Saving does not change
    /// the task in hand: read it back to see the time of the save.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # let store = taskrec::TaskStore::new(taskrec::MemoryAdapter::new());
    /// let task = taskrec::Task::new("pings", "p1", Ping {})?;
    /// assert_eq!(task.updated_at(), task.created_at());
    /// store.save(&task).await?;
    /// let found = store.find::<Ping>("pings", "p1").await?.unwrap();
    /// assert!(found.updated_at() >= task.updated_at()); // the time of the save
    /// # Ok(()) }
    /// ```
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    /// The same task with its data changed into another type, such as a
    /// variant wrapped into an enum of task types.
    ///
    /// ```
    /// # use taskrec::{Task, TaskData};
    /// # #[derive(Debug, TaskData)] struct Fetch {}
    /// # #[derive(Debug, TaskData)] enum Job { Fetch(Fetch) }
    /// let task: Task<Job> = Task::build("l", Fetch {})?.map_data(Job::Fetch);
    /// assert_eq!(task.type_name(), "Fetch");
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn map_data<U>(self, f: impl FnOnce(T) -> U) -> Task<U> {
        Task {
            task_list: self.task_list,
            id: self.id,
            data: f(self.data),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// Assembles a task from a record's key and timestamps and decoded data.
    pub(crate) fn from_parts(record: TaskRecord, data: T) -> Self {
        let (created_at, updated_at) = (record.created_at(), record.updated_at());
        let (task_list, id, _, _) = record.into_parts();
        Task {
            task_list,
            id,
            data,
            created_at,
            updated_at,
        }
    }
}

impl<T: TaskData> Task<T> {
    /// The stable name of the data's type; for an enum of task types, the
    /// name of the type its variant holds.
    ///
    /// ```
    /// # use taskrec::{Task, TaskData};
    /// #[derive(Debug, TaskData)] struct FetchFile {}
    /// #[derive(Debug, TaskData)] enum Job { Fetch(FetchFile) }
    /// let task = Task::build("l", Job::Fetch(FetchFile {}))?;
    /// assert_eq!(task.type_name(), "FetchFile");
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn type_name(&self) -> &str {
        self.data.type_name()
    }

    /// The task as a hash with task_rb's keys, ready for any serde serializer.
    ///
    /// The data is serialized straight from the typed value: no intermediate
    /// JSON tree is built.
    ///
    /// ```
    /// # use taskrec::{Task, TaskData};
    /// #[derive(Debug, TaskData)]
    /// #[task(type_name = "Task::Tasks::CompositeTask")]
    /// struct Composite { child_task_list: String }
    /// let task = Task::new("a", "id", Composite { child_task_list: "kids".into() })?;
    /// let value = serde_json::to_value(task.as_hash()).unwrap();
    /// assert_eq!(value, serde_json::json!({
    ///     "task_list": "a", "id": "id",
    ///     "type": "Task::Tasks::CompositeTask",
    ///     "data": {"child_task_list": "kids"},
    /// }));
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn as_hash(&self) -> TaskHash<DataRef<'_, T>> {
        TaskHash {
            task_list: self.task_list.clone(),
            id: self.id.clone(),
            type_name: self.data.type_name().to_owned(),
            data: DataRef(&self.data),
        }
    }

    /// The task as JSON hash text: `serde_json::to_string(&task.as_hash())`
    /// with taskrec's error type.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u8 }
    /// let task = taskrec::Task::new("l", "i", Ping { n: 1 })?;
    /// assert_eq!(task.to_json()?, r#"{"task_list":"l","id":"i","type":"Ping","data":{"n":1}}"#);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn to_json(&self) -> Result<String> {
        // What `self.as_hash().to_json()` writes, and its error, without
        // copying the list, the id and the type name into a `TaskHash`.
        let type_name = self.data.type_name();
        data_check::check(&self.data).map_err(|e| e.at_task(|| self.key()))?;
        let hash = hash_json::HashRef {
            task_list: &self.task_list,
            id: &self.id,
            type_name,
            data: &self.data,
        };
        serde_json::to_string(&hash)
            .map_err(|e| data::encode_error(type_name, &e).at_task(|| self.key()))
    }

    /// The untyped record to store, its data encoded as JSON once.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u8 }
    /// let record = taskrec::Task::new("l", "i", Ping { n: 1 })?.to_record()?;
    /// assert_eq!((record.type_name(), record.data()), ("Ping", r#"{"n":1}"#));
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn to_record(&self) -> Result<TaskRecord> {
        let json = data::to_json(&self.data).map_err(|e| e.at_task(|| self.key()))?;
        TaskRecord::with_timestamps(
            self.task_list.clone(),
            self.id.clone(),
            self.data.type_name(),
            json,
            self.created_at,
            self.updated_at,
        )
    }
}

impl<T: TaskDecode> Task<T> {
    /// Restores a typed task from its hash, in any [`HashData`] form.
    ///
    /// Fails with [`Error::TypeMismatch`](crate::Error::TypeMismatch) when `T`
    /// is a single type and the hash holds another,
    /// [`Error::UnknownType`](crate::Error::UnknownType) when `T` is an enum
    /// that does not know the hash's type, and
    /// [`Error::InvalidData`](crate::Error::InvalidData) naming the bad field
    /// when the data does not fit. The hash carries no timestamps: the
    /// restored task's are the time of restoring.
    ///
    /// ```
    /// use taskrec::{Task, TaskData, TaskHash};
    /// #[derive(Debug, TaskData)]
    /// #[task(type_name = "Task::Tasks::CompositeTask")]
    /// struct Composite { x: u32 }
    ///
    /// let json = r#"{"task_list":"a","id":"id","data":{"x":1},"type":"Task::Tasks::CompositeTask"}"#;
    /// let task: Task<Composite> = Task::from_hash(TaskHash::from_json(json)?)?;
    /// assert_eq!(task.data().x, 1);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn from_hash<D: HashData>(hash: TaskHash<D>) -> Result<Self> {
        validate_key(&hash.task_list, &hash.id)?;
        hash.data
            .check_object()
            .map_err(|e| e.at_task(|| TaskKey::new(&hash.task_list, &hash.id)))?;
        let data = match hash.data.decode::<T>(&hash.type_name) {
            Ok(data) => data,
            Err(e) => return Err(e.at_task(|| TaskKey::new(hash.task_list, hash.id))),
        };
        Task::new(hash.task_list, hash.id, data)
    }

    /// Restores a typed task from JSON hash text.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u8 }
    /// let task: taskrec::Task<Ping> =
    ///     taskrec::Task::from_json(r#"{"task_list":"l","id":"i","type":"Ping","data":{"n":2}}"#)?;
    /// assert_eq!(task.data().n, 2);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        // One pass for a well-formed hash. Anything it does not take, valid
        // or not, goes the two-step way, which also gives every error its
        // documented kind, path and message.
        if let Some(parts) = hash_json::decode::<T>(json)
            && let Ok(task) = Task::new(parts.task_list, parts.id, parts.data)
        {
            return Ok(task);
        }
        // The data borrowed from `json`, so that an error in it is placed
        // in `json`, not in the data alone.
        let hash = hash::parse_borrowed(json)?;
        validate_key(&hash.task_list, &hash.id)?;
        let origin = Origin::of(json, hash.data.get());
        let data = match data::from_json_at::<T>(&hash.type_name, hash.data.get(), origin) {
            Ok(data) => data,
            Err(e) => return Err(e.at_task(|| TaskKey::new(hash.task_list, hash.id))),
        };
        Task::new(hash.task_list, hash.id, data)
    }

    /// Restores a typed task from a stored record, keeping its timestamps.
    /// Decoding errors name the record.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u8 }
    /// let record = taskrec::TaskRecord::new("l", "i", "Ping", r#"{"n":"x"}"#)?;
    /// let err = taskrec::Task::<Ping>::from_record(record).unwrap_err();
    /// assert!(err.to_string().contains(r#"in task "l"/"i" at `.n`"#), "{err}");
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn from_record(record: TaskRecord) -> Result<Self> {
        let data = match data::from_json::<T>(record.type_name(), record.data()) {
            Ok(data) => data,
            Err(e) => return Err(e.at_task(|| record.key())),
        };
        Ok(Self::from_parts(record, data))
    }
}
