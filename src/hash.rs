//! The wire form of a task: a plain map with task_rb's four keys.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::data::{self, TaskDecode};
use crate::error::{Error, Result};
use crate::json_text::{self, Origin};
use crate::key::TaskKey;
use crate::record::TaskRecord;

/// A task as a plain hash: `task_list`, `id`, `type` and `data`, the keys of
/// task_rb's `as_hash`, to hand a task to another process in any serde format.
///
/// `D` is the form of the data:
/// - [`Task::as_hash`](crate::Task::as_hash) gives a `TaskHash<DataRef<T>>`
///   that serializes the typed data straight into the output;
/// - the default, `Box<RawValue>`, keeps the data as JSON text when reading
///   JSON, so decoding the typed task later parses it exactly once;
/// - `serde_json::Value` reads the data from any self-describing format
///   (CBOR, MessagePack, ...).
///
/// Any form that implements [`HashData`] goes back into a typed task through
/// [`Task::from_hash`](crate::Task::from_hash).
///
/// ```
/// use taskrec::{Task, TaskData, TaskHash};
/// #[derive(Debug, PartialEq, TaskData)]
/// struct FetchFile { filename: String }
///
/// let task = Task::build("datto.com", FetchFile { filename: "a.txt".into() })?.with_id("file1")?;
/// let json = serde_json::to_string(&task.as_hash()).unwrap();
/// assert_eq!(json, r#"{"task_list":"datto.com","id":"file1","type":"FetchFile","data":{"filename":"a.txt"}}"#);
///
/// let hash = TaskHash::from_json(&json)?;            // in the other process
/// let back: Task<FetchFile> = Task::from_hash(hash)?;
/// assert_eq!(back.data(), task.data());
/// # Ok::<(), taskrec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskHash<D = Box<RawValue>> {
    /// The task list.
    pub task_list: String,
    /// The id within the list.
    pub id: String,
    /// The type name (task_rb: the Ruby class name).
    #[serde(rename = "type")]
    pub type_name: String,
    /// The task's attributes.
    pub data: D,
}

impl TaskHash {
    /// Reads a hash from JSON text, keeping the data as JSON text.
    ///
    /// Fails with [`Error::InvalidHash`] when the text is not a JSON object
    /// with string `task_list`, `id` and `type` and an object `data`.
    ///
    /// ```
    /// let err = taskrec::TaskHash::from_json(r#"{"task_list":"a","id":"1"}"#).unwrap_err();
    /// assert!(matches!(err, taskrec::Error::InvalidHash { .. }));
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        let hash = parse_borrowed(json)?;
        Ok(TaskHash {
            task_list: hash.task_list,
            id: hash.id,
            type_name: hash.type_name,
            data: hash.data.to_owned(),
        })
    }
}

/// Reads a hash from JSON text with its data borrowed from that text, so
/// that errors in the data can be placed in the text the caller gave.
pub(crate) fn parse_borrowed(json: &str) -> Result<TaskHash<&RawValue>> {
    let invalid = |reason: String| Error::InvalidHash { reason, task: None };
    // serde would also fill the struct from a JSON array.
    if !data::is_object_text(json) {
        return Err(invalid(json_text::not_an_object(
            "the hash",
            json,
            Origin::START,
        )));
    }
    let hash: TaskHash<&RawValue> = serde_json::from_str(json).map_err(|e| {
        invalid(json_text::describe_error(
            "the hash",
            &e,
            json,
            Origin::START,
        ))
    })?;
    hash.data
        .check_object()
        .map_err(|e| at_hash_task(e, &hash.task_list, &hash.id))?;
    Ok(hash)
}

impl<D: Serialize> TaskHash<D> {
    /// Writes the hash as JSON text.
    ///
    /// ```
    /// let hash = taskrec::TaskHash {
    ///     task_list: "a".to_owned(),
    ///     id: "1".to_owned(),
    ///     type_name: "T".to_owned(),
    ///     data: serde_json::json!({"x": 1}),
    /// };
    /// assert_eq!(hash.to_json()?, r#"{"task_list":"a","id":"1","type":"T","data":{"x":1}}"#);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn to_json(&self) -> Result<String> {
        let json = serde_json::to_string(self).map_err(|e| {
            let error = match data::refusal_of(&e.to_string()) {
                // The data check's refusal, through `DataRef`: its own path.
                Some((path, message)) => Error::InvalidData {
                    type_name: self.type_name.clone(),
                    path: path.to_owned(),
                    message: message.to_owned(),
                    task: None,
                },
                None => data::encode_error(&self.type_name, &e),
            };
            at_hash_task(error, &self.task_list, &self.id)
        })?;
        // Data given as a `serde_json::Value` was never checked: deeper
        // than a read of the hash accepts, it is refused here.
        crate::data_check::check_hash_text_depth(&self.type_name, &json)
            .map_err(|e| at_hash_task(e, &self.task_list, &self.id))?;
        Ok(json)
    }
}

impl<D: HashData> TaskHash<D> {
    /// The untyped record this hash describes, created and updated now.
    ///
    /// Fails with [`Error::InvalidHash`] when the data is not a JSON
    /// object, [`Error::InvalidData`] when it is nested deeper than
    /// [`MAX_DATA_DEPTH`](crate::MAX_DATA_DEPTH), and the key and type name
    /// errors of [`TaskRecord::new`].
    ///
    /// ```
    /// let hash = taskrec::TaskHash::from_json(r#"{"task_list":"a","id":"1","type":"T","data":{"x":1}}"#)?;
    /// let record = hash.into_record()?;
    /// assert_eq!(record.data(), r#"{"x":1}"#);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn into_record(self) -> Result<TaskRecord> {
        self.data
            .check_object()
            .map_err(|e| at_hash_task(e, &self.task_list, &self.id))?;
        let data = self.data.into_json()?;
        // Data a hash carried may be nested deeper than a record's hash can
        // be read back (the hash puts it one level down).
        crate::data_check::check_text_depth(&self.type_name, &data)
            .map_err(|e| at_hash_task(e, &self.task_list, &self.id))?;
        TaskRecord::new(self.task_list, self.id, self.type_name, data)
    }
}

impl TaskRecord {
    /// The hash of this record, its data kept as JSON text.
    ///
    /// Fails with [`Error::InvalidData`] when the stored data is not a JSON object.
    ///
    /// ```
    /// let record = taskrec::TaskRecord::new("a", "1", "T", r#"{"x":1}"#)?;
    /// let json = record.to_hash()?.to_json()?;
    /// assert_eq!(json, r#"{"task_list":"a","id":"1","type":"T","data":{"x":1}}"#);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn to_hash(&self) -> Result<TaskHash> {
        let invalid = |message: String| Error::InvalidData {
            type_name: self.type_name().to_owned(),
            path: ".".to_owned(),
            message,
            task: Some(self.key()),
        };
        let not_an_object = || {
            invalid(json_text::not_an_object(
                "the data",
                self.data(),
                Origin::START,
            ))
        };
        if !data::is_object_text(self.data()) {
            return Err(not_an_object());
        }
        let data = RawValue::from_string(self.data().to_owned()).map_err(|_| not_an_object())?;
        Ok(TaskHash {
            task_list: self.task_list().to_owned(),
            id: self.id().to_owned(),
            type_name: self.type_name().to_owned(),
            data,
        })
    }
}

/// A form of a hash's data that a typed task can be decoded from.
///
/// Implemented for JSON text kept by serde_json (`Box<RawValue>`,
/// `&RawValue`) and for `serde_json::Value`, which any self-describing serde
/// format can produce.
///
/// ```
/// use taskrec::HashData;
/// #[derive(Debug, taskrec::TaskData)]
/// struct Ping { n: u32 }
/// let ping: Ping = serde_json::json!({"n": 3}).decode("Ping")?;
/// assert_eq!(ping.n, 3);
/// # Ok::<(), taskrec::Error>(())
/// ```
pub trait HashData: Sized {
    /// Decodes the data stored under `type_name` into `T`.
    fn decode<T: TaskDecode>(self, type_name: &str) -> Result<T>;

    /// The data as JSON text.
    fn into_json(self) -> Result<String>;

    /// Fails with [`Error::InvalidHash`] unless the data is a JSON object.
    fn check_object(&self) -> Result<()>;
}

/// `data` of a hash that is valid JSON, but not an object.
fn not_an_object(data: &serde_json::Value) -> Error {
    Error::InvalidHash {
        reason: format!("`data` is {}, not an object", json_text::kind(data)),
        task: None,
    }
}

/// `error` naming the task a hash describes, when its key is one taskrec
/// accepts (a refused key has its own error, and may be 60 KiB long).
pub(crate) fn at_hash_task(error: Error, task_list: &str, id: &str) -> Error {
    if crate::key::validate_key(task_list, id).is_ok() {
        error.at_task(|| TaskKey::new(task_list, id))
    } else {
        error
    }
}

impl HashData for Box<RawValue> {
    fn decode<T: TaskDecode>(self, type_name: &str) -> Result<T> {
        data::from_json(type_name, self.get())
    }

    fn into_json(self) -> Result<String> {
        Ok(Box::<str>::from(self).into_string())
    }

    fn check_object(&self) -> Result<()> {
        (&**self).check_object()
    }
}

impl HashData for &RawValue {
    fn decode<T: TaskDecode>(self, type_name: &str) -> Result<T> {
        data::from_json(type_name, self.get())
    }

    fn into_json(self) -> Result<String> {
        Ok(self.get().to_owned())
    }

    fn check_object(&self) -> Result<()> {
        if data::is_object_text(self.get()) {
            return Ok(());
        }
        // serde_json made the RawValue: its text is JSON.
        match serde_json::from_str(self.get()) {
            Ok(value) => Err(not_an_object(&value)),
            Err(e) => Err(Error::InvalidHash {
                reason: format!("`data` is not JSON: {e}"),
                task: None,
            }),
        }
    }
}

impl HashData for serde_json::Value {
    fn decode<T: TaskDecode>(self, type_name: &str) -> Result<T> {
        self.check_object()?;
        data::from_deserializer(type_name, self)
    }

    fn into_json(self) -> Result<String> {
        Ok(self.to_string())
    }

    fn check_object(&self) -> Result<()> {
        if self.is_object() {
            Ok(())
        } else {
            Err(not_an_object(self))
        }
    }
}
