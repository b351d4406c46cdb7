//! The traits that make a Rust type a task's data, and the generic decoding
//! helpers built on them.
//!
//! `#[derive(TaskData)]` implements these; hand-written impls are possible but
//! rarely needed.

use serde::{Deserializer, Serializer};

use crate::data_check::{self, Unchecked};
use crate::error::{Error, Result};
use crate::json_text::{self, Origin};

/// A value that can be stored as a task's data: it knows its type name and
/// serializes its attributes as a map.
///
/// Implemented by `#[derive(TaskData)]` for structs and for enums of task
/// types, and by [`DynTaskData`](crate::DynTaskData) for tasks decoded through
/// a [`TaskRegistry`](crate::TaskRegistry).
///
/// ```
/// use taskrec::TaskData;
/// #[derive(Debug, TaskData)]
/// #[task(type_name = "Task::Tasks::CompositeTask")]
/// struct Composite { child_task_list: String }
///
/// let c = Composite { child_task_list: "children".into() };
/// assert_eq!(c.type_name(), "Task::Tasks::CompositeTask");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not task data",
    label = "derive `TaskData` on a struct with named fields, or on an enum of task types"
)]
pub trait TaskData: Send + Sync + 'static {
    /// The stable name of this value's type in storage and on the wire.
    fn type_name(&self) -> &str;

    /// Serializes the task's attributes (a map: JSON object) with any serde
    /// serializer.
    fn serialize_data<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
}

/// Task data that can be decoded from a type name and its attributes without
/// outside help: a single task type, or an enum of task types.
///
/// ```
/// use taskrec::{TaskData, TaskDecode};
/// #[derive(Debug, TaskData)] struct FetchFile { filename: String }
/// #[derive(Debug, TaskData)] struct DeleteFile { filename: String }
/// #[derive(Debug, TaskData)]
/// enum FileJob { Fetch(FetchFile), Delete(DeleteFile) }
///
/// assert_eq!(FileJob::TYPE_NAMES, &["FetchFile", "DeleteFile"]);
/// ```
pub trait TaskDecode: TaskData + Sized {
    /// Every type name this type decodes, in declaration order.
    const TYPE_NAMES: &'static [&'static str];

    /// Decodes attributes stored under `type_name`, or answers `None` when
    /// this type does not know `type_name` (the deserializer is then unused).
    fn deserialize_data<'de, D: Deserializer<'de>>(
        type_name: &str,
        deserializer: D,
    ) -> Option<Result<Self, D::Error>>;
}

/// A single task type: one Rust struct under one type name.
///
/// ```
/// use taskrec::TaskType;
/// #[derive(Debug, taskrec::TaskData)]
/// struct FetchFile { filename: String }
/// assert_eq!(FetchFile::TYPE_NAME, "FetchFile");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a task type",
    label = "derive `TaskData` on a struct with named fields to make it one"
)]
pub trait TaskType: TaskDecode {
    /// The stable name of this type in storage and on the wire.
    const TYPE_NAME: &'static str;
}

/// Serializes a task's data through [`TaskData::serialize_data`], so that
/// task data can be handed to any serde serializer.
///
/// ```
/// #[derive(Debug, taskrec::TaskData)]
/// struct FetchFile { filename: String }
/// let file = FetchFile { filename: "a.txt".into() };
/// let json = serde_json::to_string(&taskrec::DataRef(&file)).unwrap();
/// assert_eq!(json, r#"{"filename":"a.txt"}"#);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DataRef<'a, T: ?Sized>(pub &'a T);

/// Data that cannot be stored (a NaN or an infinity, nesting past
/// [`MAX_DATA_DEPTH`](crate::MAX_DATA_DEPTH)) fails to serialize, with an
/// error naming the field: JSON would otherwise write `null` for a NaN,
/// and the task would not decode again.
impl<T: TaskData + ?Sized> serde::Serialize for DataRef<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Err(Error::InvalidData { path, message, .. }) = data_check::check(self.0) {
            return Err(serde::ser::Error::custom(refusal_message(&path, &message)));
        }
        self.0.serialize_data(serializer)
    }
}

/// How [`DataRef`] reports a refusal of the data check through a serde
/// error, which carries only a message: [`refusal_of`] reads it back.
fn refusal_message(path: &str, message: &str) -> String {
    format!("{REFUSAL_PREFIX}{path}`: {message}")
}

const REFUSAL_PREFIX: &str = "at `";

/// The path and message of a refusal [`DataRef`] reported through a serde
/// error; `None` for any other error.
pub(crate) fn refusal_of(error: &str) -> Option<(&str, &str)> {
    let rest = error.strip_prefix(REFUSAL_PREFIX)?;
    // The path may hold "`: " (a key can hold anything); the check's own
    // messages never do.
    let (path, message) = rest.rsplit_once("`: ")?;
    path.starts_with('.').then_some((path, message))
}

/// Encodes task data as JSON object text, refusing what could not be read
/// back ([`data_check`]).
pub(crate) fn to_json<T: TaskData + ?Sized>(data: &T) -> Result<String> {
    data_check::check(data)?;
    serde_json::to_string(&Unchecked(data)).map_err(|e| encode_error(data.type_name(), &e))
}

/// The error for data of `type_name` that serde_json could not encode (a
/// map with non-string keys, a failing `Serialize` impl): the encoder gives
/// no path, so it points at the data as a whole.
pub(crate) fn encode_error(type_name: &str, e: &serde_json::Error) -> Error {
    Error::InvalidData {
        type_name: type_name.to_owned(),
        path: ".".to_owned(),
        message: e.to_string(),
        task: None,
    }
}

/// The error for a type name that `T` does not decode.
pub(crate) fn unknown_type<T: TaskDecode>(found: &str) -> Error {
    if let [expected] = T::TYPE_NAMES {
        Error::TypeMismatch {
            expected: (*expected).to_owned(),
            found: found.to_owned(),
            task: None,
        }
    } else {
        let mut known: Vec<String> = T::TYPE_NAMES.iter().map(|n| (*n).to_owned()).collect();
        known.sort();
        Error::UnknownType {
            type_name: found.to_owned(),
            known,
            task: None,
        }
    }
}

/// Decodes JSON text stored under `type_name` into `T`.
///
/// The fast path decodes straight from the text into the struct. Only when
/// that fails is the text decoded a second time with path tracking, so the
/// error can name the offending field without taxing every successful decode.
pub(crate) fn from_json<T: TaskDecode>(type_name: &str, json: &str) -> Result<T> {
    from_json_at(type_name, json, Origin::START)
}

/// [`from_json`] for text that is part of a larger text the caller gave (a
/// hash's `data`), starting at `origin`: error positions are counted there.
pub(crate) fn from_json_at<T: TaskDecode>(
    type_name: &str,
    json: &str,
    origin: Origin,
) -> Result<T> {
    if !is_object_text(json) {
        if !T::TYPE_NAMES.contains(&type_name) {
            return Err(unknown_type::<T>(type_name));
        }
        return Err(Error::InvalidData {
            type_name: type_name.to_owned(),
            path: ".".to_owned(),
            message: if json.trim().is_empty() {
                // task_rb's table stores a task without data as a null cell.
                "the data is empty (a null or empty `data` cell), not a JSON object".to_owned()
            } else {
                json_text::not_an_object("the data", json, origin)
            },
            task: None,
        });
    }
    let mut de = serde_json::Deserializer::from_str(json);
    let decoded = match T::deserialize_data(type_name, &mut de) {
        None => return Err(unknown_type::<T>(type_name)),
        Some(decoded) => decoded.and_then(|value| de.end().map(|()| value)),
    };
    decoded.map_err(|_| json_error_with_path::<T>(type_name, json, origin))
}

fn json_error_with_path<T: TaskDecode>(type_name: &str, json: &str, origin: Origin) -> Error {
    let mut track = serde_path_to_error::Track::new();
    let mut de = serde_json::Deserializer::from_str(json);
    let tracked = serde_path_to_error::Deserializer::new(&mut de, &mut track);
    let error = match T::deserialize_data(type_name, tracked) {
        Some(Err(e)) => e,
        Some(Ok(_)) => match de.end() {
            Err(e) => e,
            Ok(()) => {
                return Error::InvalidData {
                    type_name: type_name.to_owned(),
                    path: dotted(&track.path()),
                    message: "the data decoded on a second try".to_owned(),
                    task: None,
                }
            }
        },
        None => return unknown_type::<T>(type_name),
    };
    Error::InvalidData {
        type_name: type_name.to_owned(),
        path: dotted(&track.path()),
        message: json_text::describe_error("the data", &error, json, origin),
        task: None,
    }
}

/// Decodes attributes from any self-describing deserializer (a
/// `serde_json::Value`, a CBOR value, ...) into `T`, naming the bad field's
/// path on failure.
pub(crate) fn from_deserializer<'de, T, D>(type_name: &str, deserializer: D) -> Result<T>
where
    T: TaskDecode,
    D: Deserializer<'de>,
{
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(deserializer, &mut track);
    match T::deserialize_data(type_name, tracked) {
        None => Err(unknown_type::<T>(type_name)),
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(Error::InvalidData {
            type_name: type_name.to_owned(),
            path: dotted(&track.path()),
            message: e.to_string(),
            task: None,
        }),
    }
}

/// Whether JSON text starts as an object. serde would also fill a struct from
/// a JSON array, which a task's data never is.
pub(crate) fn is_object_text(json: &str) -> bool {
    json.trim_start().starts_with('{')
}

/// A field's path as the docs show it: `.files[2].name`, `.` for the root.
pub(crate) fn dotted(path: &serde_path_to_error::Path) -> String {
    let path = path.to_string();
    if path.starts_with('.') {
        path
    } else {
        format!(".{path}")
    }
}
