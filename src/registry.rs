//! Open-set polymorphism: a registry of type names to decoders, for task
//! types the decoding code does not know at compile time.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;

use serde::Serializer;

use crate::data::{self, DataRef, TaskData, TaskType};
use crate::error::{Error, Result};
use crate::hash::{HashData, TaskHash};
use crate::key::{validate_key, TaskKey};
use crate::record::TaskRecord;
use crate::task::Task;

/// The object-safe twin of [`TaskData`] that [`DynTaskData`] boxes:
/// implemented for every task type (`#[derive(TaskData)]` on a struct) with
/// a `Debug` impl, never by hand.
///
/// Code holds [`DynTaskData`]; this trait is named only in the bounds of
/// its downcasts, and its methods are called on a `DynTaskData` without
/// importing it.
///
/// ```
/// use taskrec::DynTaskData;
/// #[derive(Debug, PartialEq, taskrec::TaskData)]
/// struct Ping { n: u8 }
/// let data: DynTaskData = Box::new(Ping { n: 1 });
/// assert_eq!(data.dyn_type_name(), "Ping");
/// assert_eq!(data.downcast_ref::<Ping>(), Some(&Ping { n: 1 }));
/// ```
pub trait ErasedTaskData: Any + fmt::Debug + Send + Sync {
    /// The stable name of the value's type.
    fn dyn_type_name(&self) -> &str;

    /// The value as a type-erased serializable, for [`TaskData::serialize_data`].
    fn erased_data(&self) -> Box<dyn erased_serde::Serialize + '_>;

    /// The value as [`Any`], to downcast.
    fn as_any(&self) -> &dyn Any;

    /// The boxed value as [`Any`], to downcast by value.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

// Only concrete task types: were `DynTaskData` itself one, a box of a box
// would compile and never downcast, and `as_any` on a `&DynTaskData` would
// pick the box instead of the value in it.
impl<T: TaskType + fmt::Debug> ErasedTaskData for T {
    fn dyn_type_name(&self) -> &str {
        self.type_name()
    }

    fn erased_data(&self) -> Box<dyn erased_serde::Serialize + '_> {
        Box::new(DataRef(self))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Task data whose concrete type is known only at run time: a boxed task
/// type, what a [`TaskRegistry`] decodes into. Every task type
/// (`#[derive(TaskData)]` on a struct) with a `Debug` impl boxes into one,
/// and [`downcast_ref`](ErasedTaskData#method.downcast_ref),
/// [`is`](ErasedTaskData#method.is) and [`Task::downcast`] get it back.
///
/// ```
/// use taskrec::{DynTaskData, Task};
/// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u8 }
/// let data: DynTaskData = Box::new(Ping { n: 1 });
/// let task = Task::new("l", "i", data)?;           // a task like any other
/// assert_eq!(task.to_json()?, r#"{"task_list":"l","id":"i","type":"Ping","data":{"n":1}}"#);
/// # Ok::<(), taskrec::Error>(())
/// ```
pub type DynTaskData = Box<dyn ErasedTaskData>;

impl dyn ErasedTaskData {
    /// The value as a `T`, if it is one.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u8 }
    /// # #[derive(Debug, taskrec::TaskData)] struct Pong { n: u8 }
    /// let mut registry = taskrec::TaskRegistry::new();
    /// registry.register::<Ping>()?;
    /// let data = registry.decode_json("Ping", r#"{"n":4}"#)?;
    /// assert_eq!(data.downcast_ref::<Ping>().map(|ping| ping.n), Some(4));
    /// assert!(data.downcast_ref::<Pong>().is_none());
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn downcast_ref<T: ErasedTaskData>(&self) -> Option<&T> {
        self.as_any().downcast_ref()
    }

    /// Whether the value is a `T`.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # #[derive(Debug, taskrec::TaskData)] struct Pong {}
    /// let data: taskrec::DynTaskData = Box::new(Ping {});
    /// assert!(data.is::<Ping>());
    /// assert!(!data.is::<Pong>());
    /// ```
    pub fn is<T: ErasedTaskData>(&self) -> bool {
        self.as_any().is::<T>()
    }
}

impl TaskData for DynTaskData {
    fn type_name(&self) -> &str {
        (**self).dyn_type_name()
    }

    fn serialize_data<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        erased_serde::serialize(&*(**self).erased_data(), serializer)
    }
}

impl Task<DynTaskData> {
    /// The task with its data as the concrete type `T`, or the task unchanged
    /// when it holds another type.
    ///
    /// ```
    /// # use taskrec::{Task, TaskRegistry, TaskRecord};
    /// #[derive(Debug, taskrec::TaskData)] struct Ping { n: u8 }
    /// let mut registry = TaskRegistry::new();
    /// registry.register::<Ping>()?;
    /// let task = registry.decode_record(TaskRecord::new("l", "i", "Ping", r#"{"n":4}"#)?)?;
    /// let ping: Task<Ping> = task.downcast().unwrap();
    /// assert_eq!(ping.data().n, 4);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn downcast<T: ErasedTaskData>(self) -> Result<Task<T>, Self> {
        if !self.data().is::<T>() {
            return Err(self);
        }
        Ok(self.map_data(|data| match data.into_any().downcast::<T>() {
            Ok(value) => *value,
            Err(_) => unreachable!("the type was checked just above"),
        }))
    }
}

type DecodeFn = fn(&str, &str) -> Result<DynTaskData>;

fn decode_as<T: TaskType + fmt::Debug>(type_name: &str, json: &str) -> Result<DynTaskData> {
    data::from_json::<T>(type_name, json).map(|value| Box::new(value) as DynTaskData)
}

/// A map from type names to decoders, built at run time: tasks of any
/// registered type decode into [`Task<DynTaskData>`](DynTaskData).
///
/// Use it where the set of task types is open (plugins, types from crates
/// the decoding code does not depend on); for a closed set an enum with
/// `#[derive(TaskData)]` is simpler and faster.
///
/// ```
/// use taskrec::{Error, TaskHash, TaskRegistry};
/// #[derive(Debug, taskrec::TaskData)] struct FetchFile { filename: String }
/// #[derive(Debug, taskrec::TaskData)] struct DeleteFile { filename: String }
///
/// let mut registry = TaskRegistry::new();
/// registry.register::<FetchFile>()?.register::<DeleteFile>()?;
///
/// let hash = TaskHash::from_json(r#"{"task_list":"l","id":"1","type":"DeleteFile","data":{"filename":"x"}}"#)?;
/// let task = registry.from_hash(hash)?;
/// assert_eq!(task.type_name(), "DeleteFile");
///
/// assert!(matches!(registry.register::<FetchFile>(), Err(Error::DuplicateType { .. })));
/// # Ok::<(), taskrec::Error>(())
/// ```
#[derive(Default, Clone)]
pub struct TaskRegistry {
    decoders: BTreeMap<&'static str, DecodeFn>,
}

impl fmt::Debug for TaskRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRegistry")
            .field("type_names", &self.type_names())
            .finish()
    }
}

impl TaskRegistry {
    /// An empty registry.
    ///
    /// ```
    /// let registry = taskrec::TaskRegistry::new();
    /// assert!(registry.type_names().is_empty());
    /// let err = registry.decode_json("Ping", "{}").unwrap_err();
    /// assert_eq!(err.to_string(), "unknown task type `Ping`; known types: none");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `T` under its type name.
    ///
    /// Fails with [`Error::DuplicateType`] when the name is taken: a second
    /// registration never silently replaces the first.
    ///
    /// ```
    /// use taskrec::{Error, TaskRegistry};
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// # #[derive(Debug, taskrec::TaskData)] struct Pong {}
    /// let mut registry = TaskRegistry::new();
    /// registry.register::<Ping>()?.register::<Pong>()?;
    /// let again = registry.register::<Ping>().unwrap_err();
    /// assert!(matches!(again, Error::DuplicateType { type_name } if type_name == "Ping"));
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn register<T: TaskType + fmt::Debug>(&mut self) -> Result<&mut Self> {
        use std::collections::btree_map::Entry;
        match self.decoders.entry(T::TYPE_NAME) {
            Entry::Occupied(_) => Err(Error::DuplicateType {
                type_name: T::TYPE_NAME.to_owned(),
            }),
            Entry::Vacant(slot) => {
                slot.insert(decode_as::<T>);
                Ok(self)
            }
        }
    }

    /// The registered type names, sorted.
    ///
    /// ```
    /// #[derive(Debug, taskrec::TaskData)] struct B {}
    /// #[derive(Debug, taskrec::TaskData)] struct A {}
    /// let mut registry = taskrec::TaskRegistry::new();
    /// registry.register::<B>()?.register::<A>()?;
    /// assert_eq!(registry.type_names(), ["A", "B"]);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn type_names(&self) -> Vec<&'static str> {
        self.decoders.keys().copied().collect()
    }

    /// Whether a type name is registered.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
    /// let mut registry = taskrec::TaskRegistry::new();
    /// registry.register::<Ping>()?;
    /// assert!(registry.contains("Ping"));
    /// assert!(!registry.contains("Pong"));
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn contains(&self, type_name: &str) -> bool {
        self.decoders.contains_key(type_name)
    }

    /// Decodes JSON object text stored under `type_name`.
    ///
    /// Fails with [`Error::UnknownType`] listing the registered names, or
    /// [`Error::InvalidData`] naming the bad field.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u8 }
    /// # #[derive(Debug, taskrec::TaskData)] struct Pong { n: u8 }
    /// let mut registry = taskrec::TaskRegistry::new();
    /// registry.register::<Ping>()?.register::<Pong>()?;
    /// assert_eq!(registry.decode_json("Pong", r#"{"n":2}"#)?.dyn_type_name(), "Pong");
    /// let err = registry.decode_json("Pang", "{}").unwrap_err();
    /// assert_eq!(err.to_string(), "unknown task type `Pang`; known types: `Ping`, `Pong`");
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn decode_json(&self, type_name: &str, json: &str) -> Result<DynTaskData> {
        match self.decoders.get(type_name) {
            Some(decode) => decode(type_name, json),
            None => Err(Error::UnknownType {
                type_name: type_name.to_owned(),
                known: self.type_names().into_iter().map(str::to_owned).collect(),
                task: None,
            }),
        }
    }

    /// Decodes a stored record, keeping its timestamps; errors name the record.
    ///
    /// ```
    /// use taskrec::{TaskRecord, TaskRegistry};
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u8 }
    /// let mut registry = TaskRegistry::new();
    /// registry.register::<Ping>()?;
    /// let record = TaskRecord::new("l", "i", "Ping", r#"{"n":1}"#)?;
    /// let task = registry.decode_record(record.clone())?;
    /// assert_eq!(task.created_at(), record.created_at());
    /// let bad = TaskRecord::new("l", "j", "Ping", r#"{"n":-1}"#)?;
    /// assert!(registry.decode_record(bad).unwrap_err().to_string().contains(r#"in task "l"/"j""#));
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn decode_record(&self, record: TaskRecord) -> Result<Task<DynTaskData>> {
        match self.decode_json(record.type_name(), record.data()) {
            Ok(data) => Ok(Task::from_parts(record, data)),
            Err(e) => Err(e.at_task(|| record.key())),
        }
    }

    /// Restores a task of any registered type from its hash, in any
    /// [`HashData`] form.
    ///
    /// ```
    /// use taskrec::{Task, TaskHash, TaskRegistry};
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u8 }
    /// let mut registry = TaskRegistry::new();
    /// registry.register::<Ping>()?;
    /// let hash: TaskHash<serde_json::Value> = serde_json::from_value(serde_json::json!(
    ///     {"task_list": "l", "id": "i", "type": "Ping", "data": {"n": 5}}
    /// )).unwrap();
    /// let task: Task<Ping> = registry.from_hash(hash)?.downcast().unwrap();
    /// assert_eq!(task.data().n, 5);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn from_hash<D: HashData>(&self, hash: TaskHash<D>) -> Result<Task<DynTaskData>> {
        validate_key(&hash.task_list, &hash.id)?;
        hash.data
            .check_object()
            .map_err(|e| e.at_task(|| TaskKey::new(&hash.task_list, &hash.id)))?;
        let json = hash.data.into_json()?;
        let data = match self.decode_json(&hash.type_name, &json) {
            Ok(data) => data,
            Err(e) => return Err(e.at_task(|| TaskKey::new(hash.task_list, hash.id))),
        };
        Task::new(hash.task_list, hash.id, data)
    }
}
