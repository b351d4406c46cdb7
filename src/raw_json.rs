//! One JSON value kept as the text it arrived as.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// One JSON value kept as the exact text it arrived as, and written back as
/// that text.
///
/// `serde_json::Value` holds numbers as `i64`, `u64` or `f64`, so an integer
/// beyond 64 bits (`123456789012345678901234567890`) or a decimal with more
/// digits than an `f64` keeps cannot be held exactly: a declared `Value`
/// field rounds it (`1.2345678901234568e+29`), an `#[task(extra)]` map of
/// `Value` refuses it when read. A `RawJson` never parses the value into numbers at all:
/// use it where a task holds JSON it does not interpret, above all in an
/// [`#[task(extra)]`](crate::ExtraMap) map (`BTreeMap<String, RawJson>`), so
/// that keys written by task_rb or a newer version of the task come back
/// byte for byte.
///
/// The text is kept where serde_json reads and writes it: JSON text, and a
/// `serde_json::Value` (whose numbers are 64-bit already). Binary formats
/// (CBOR, MessagePack, bincode: serde's `is_human_readable` is false) read
/// and write the value itself, as a `serde_json::Value` would hold it, so a
/// task's hash handed over in one keeps its structure, and its numbers as
/// far as 64 bits go. A human-readable format other than JSON (YAML, RON)
/// would be handed serde_json's raw value as it is: use JSON there.
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
        // serde_json (and taskrec's check of data before it is written)
        // takes the text as it is, through serde_json's raw value.
        if serializer.is_human_readable() {
            return self.0.serialize(serializer);
        }
        // A binary format (CBOR, MessagePack, bincode): the value itself,
        // not serde_json's wrapper of it.
        let value: serde_json::Value =
            serde_json::from_str(self.get()).map_err(serde::ser::Error::custom)?;
        value.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // serde_json answers this name with the value's text (as a map of
        // one private key, which `Box<RawValue>` reads); other formats
        // hand over the value itself.
        deserializer.deserialize_newtype_struct(RAW_VALUE_TOKEN, RawJsonVisitor)
    }
}

/// The name serde_json's raw value goes by, in serializers and
/// deserializers alike (`tests/data_fidelity.rs` fails should serde_json
/// ever rename it).
pub(crate) const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

struct RawJsonVisitor;

impl<'de> Visitor<'de> for RawJsonVisitor {
    type Value = RawJson;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    /// serde_json: its raw value.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawJson, A::Error> {
        Box::<RawValue>::deserialize(MapAccessDeserializer::new(map)).map(RawJson)
    }

    /// Any other format: the value, as JSON would hold it.
    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<RawJson, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        RawJson::from_value(&value).map_err(serde::de::Error::custom)
    }
}
