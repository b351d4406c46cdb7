//! The maps an `#[task(extra)]` field can be: where a task keeps the keys
//! its type does not declare.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// A map that can be a task type's `#[task(extra)]` field: decoding puts
/// every key no other field takes into it, one entry at a time, and
/// encoding writes its entries back after the other fields.
///
/// Implemented for `BTreeMap<String, V>`, `HashMap<String, V, S>` and
/// `serde_json::Map<String, serde_json::Value>`. Choose
/// [`RawJson`](crate::RawJson) as the value type to keep each value as the
/// text it arrived as: `serde_json::Value` turns numbers beyond 64 bits, and
/// decimals with more digits than an `f64` holds, into the nearest `f64`.
///
/// ```
/// use std::collections::BTreeMap;
/// use taskrec::{RawJson, TaskData};
///
/// #[derive(Debug, TaskData)]
/// struct Upload {
///     path: String,
///     #[task(extra)]
///     rest: BTreeMap<String, RawJson>,
/// }
///
/// let json = r#"{"path":"/x","id":123456789012345678901234567890}"#;
/// let upload: Upload = taskrec::TaskDecode::deserialize_data(
///     "Upload",
///     &mut serde_json::Deserializer::from_str(json),
/// )
/// .unwrap()
/// .unwrap();
/// assert_eq!(upload.rest["id"].get(), "123456789012345678901234567890");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a task's `#[task(extra)]` field",
    label = "not a map taskrec can put unknown keys into",
    note = "use `BTreeMap<String, taskrec::RawJson>` (or `HashMap`, or \
            `serde_json::Map<String, serde_json::Value>`), or implement `taskrec::ExtraMap`"
)]
pub trait ExtraMap: Default {
    /// The type each unknown key's value decodes into.
    type Value;

    /// Adds one unknown key; a key met twice keeps its last value, as
    /// serde_json's own maps do.
    fn insert_extra(&mut self, key: String, value: Self::Value);

    /// The entries encoding writes, in the map's own order.
    fn extra_entries(&self) -> impl Iterator<Item = (&str, &Self::Value)>;
}

impl<V> ExtraMap for BTreeMap<String, V> {
    type Value = V;

    fn insert_extra(&mut self, key: String, value: V) {
        self.insert(key, value);
    }

    fn extra_entries(&self) -> impl Iterator<Item = (&str, &V)> {
        self.iter().map(|(key, value)| (key.as_str(), value))
    }
}

impl<V, S: BuildHasher + Default> ExtraMap for HashMap<String, V, S> {
    type Value = V;

    fn insert_extra(&mut self, key: String, value: V) {
        self.insert(key, value);
    }

    fn extra_entries(&self) -> impl Iterator<Item = (&str, &V)> {
        self.iter().map(|(key, value)| (key.as_str(), value))
    }
}

impl ExtraMap for serde_json::Map<String, serde_json::Value> {
    type Value = serde_json::Value;

    fn insert_extra(&mut self, key: String, value: serde_json::Value) {
        self.insert(key, value);
    }

    fn extra_entries(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        self.iter().map(|(key, value)| (key.as_str(), value))
    }
}
