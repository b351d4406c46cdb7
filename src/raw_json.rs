//! One JSON value kept as the text it arrived as.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// One JSON value kept as the exact text it arrived as, and written back as
/// that text.
///
/// `serde_json::Value` holds numbers as `i64`, `u64` or `f64`, so an integer
/// beyond 64 bits (`123456789012345678901234567890`) or a decimal with more
/// digits than an `f64` keeps comes back changed (`1.2345678901234568e29`),
/// without an error. A `RawJson` never parses the value into numbers at all:
/// use it where a task holds JSON it does not interpret, above all in an
/// [`#[task(extra)]`](crate::ExtraMap) map (`BTreeMap<String, RawJson>`), so
/// that keys written by task_rb or a newer version of the task come back
/// byte for byte.
///
/// A `RawJson` is read by serde_json, from JSON text or from a
/// `serde_json::Value` (whose numbers are then already 64-bit); other
/// formats cannot hand over raw JSON text.
///
/// ```
/// use std::collections::BTreeMap;
/// use taskrec::{RawJson, Task, TaskData};
///
/// #[derive(Debug, TaskData)]
/// struct Upload {
///     path: String,
///     #[task(extra)]
///     rest: BTreeMap<String, RawJson>,
/// }
///
/// let json = r#"{"path":"/x","ratio":0.1000000000000000000001,"size":123456789012345678901234567890}"#;
/// let task: Task<Upload> = Task::from_json(
///     &format!(r#"{{"task_list":"l","id":"1","type":"Upload","data":{json}}}"#),
/// )?;
/// assert_eq!(task.data().rest["size"].get(), "123456789012345678901234567890");
/// assert_eq!(task.to_json()?.contains(json), true);
/// # Ok::<(), taskrec::Error>(())
/// ```
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// Checks that `text` is one JSON value and keeps it as it is.
    ///
    /// ```
    /// let raw = taskrec::RawJson::from_text("[1, 2.50]").unwrap();
    /// assert_eq!(raw.get(), "[1, 2.50]");
    /// assert!(taskrec::RawJson::from_text("[1,").is_err());
    /// ```
    pub fn from_text(text: impl Into<String>) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text.into()).map(RawJson)
    }

    /// The JSON text serde_json writes for `value`.
    ///
    /// ```
    /// let raw = taskrec::RawJson::from_value(&vec![1, 2]).unwrap();
    /// assert_eq!(raw.get(), "[1,2]");
    /// ```
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(RawJson)
    }

    /// The JSON text, exactly as it arrived.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Parses the text into `T`.
    ///
    /// ```
    /// let raw = taskrec::RawJson::from_text("123456789012345678901234567890").unwrap();
    /// assert_eq!(raw.parse::<u128>().unwrap(), 123456789012345678901234567890);
    /// ```
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.get())
    }
}

/// Two values are equal when their texts are: `1.0` and `1` differ, as they
/// would once written.
impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson {}

impl Hash for RawJson {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.get().hash(state);
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawJson").field(&self.get()).finish()
    }
}

/// The JSON text.
impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl From<Box<RawValue>> for RawJson {
    fn from(raw: Box<RawValue>) -> Self {
        RawJson(raw)
    }
}

impl From<RawJson> for Box<RawValue> {
    fn from(raw: RawJson) -> Self {
        raw.0
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(RawJson)
    }
}
