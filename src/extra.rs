//! The maps an `#[task(extra)]` field can be: where a task keeps the keys
//! its type does not declare.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// A map that can be a task type's `#[task(extra)]` field: decoding puts
/// every key no other field takes into it, one entry at a time, and
/// encoding writes its entries back after the other fields.
///
/// Implemented for `BTreeMap<String, V>`, `HashMap<String, V, S>` and
/// `serde_json::Map<String, serde_json::Value>`. Choose
/// [`RawJson`](crate::RawJson) as the value type to keep each value as the
/// text it arrived as: a map of `serde_json::Value` (any of the three)
/// refuses, when read, a number a `Value` cannot hold exactly (an integer
/// beyond 64 bits, even one an `f64` holds, or a decimal with more digits
/// than an `f64` keeps), naming the key, rather than round it.
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

    /// Reads the value of the unknown key `key` (the derive's decoding
    /// calls it); by default as `Self::Value` deserializes.
    #[doc(hidden)]
    fn read_value<'de, A>(map: &mut A, key: &str) -> Result<Self::Value, A::Error>
    where
        A: serde::de::MapAccess<'de>,
        Self::Value: serde::Deserialize<'de>,
    {
        let _ = key;
        map.next_value()
    }
}

impl<V: 'static> ExtraMap for BTreeMap<String, V> {
    type Value = V;

    fn insert_extra(&mut self, key: String, value: V) {
        self.insert(key, value);
    }

    fn extra_entries(&self) -> impl Iterator<Item = (&str, &V)> {
        self.iter().map(|(key, value)| (key.as_str(), value))
    }

    fn read_value<'de, A>(map: &mut A, key: &str) -> Result<V, A::Error>
    where
        A: serde::de::MapAccess<'de>,
        V: serde::Deserialize<'de>,
    {
        read_extra(map, key)
    }
}

impl<V: 'static, S: BuildHasher + Default> ExtraMap for HashMap<String, V, S> {
    type Value = V;

    fn insert_extra(&mut self, key: String, value: V) {
        self.insert(key, value);
    }

    fn extra_entries(&self) -> impl Iterator<Item = (&str, &V)> {
        self.iter().map(|(key, value)| (key.as_str(), value))
    }

    fn read_value<'de, A>(map: &mut A, key: &str) -> Result<V, A::Error>
    where
        A: serde::de::MapAccess<'de>,
        V: serde::Deserialize<'de>,
    {
        read_extra(map, key)
    }
}

/// A `serde_json::Value` holds a number as a 64-bit integer or an `f64`:
/// a value with a number that neither holds exactly (an integer beyond 64
/// bits, a decimal with more digits than an `f64` keeps) is refused when
/// read, naming the key, rather than quietly rounded; such keys belong in
/// a map of [`RawJson`](crate::RawJson).
///
/// ```
/// use taskrec::{Error, Task, TaskData};
///
/// #[derive(Debug, TaskData)]
/// struct Loose {
///     #[task(extra)]
///     rest: serde_json::Map<String, serde_json::Value>,
/// }
///
/// let fits = r#"{"task_list":"l","id":"1","type":"Loose","data":{"n":12345678901234567,"x":0.1}}"#;
/// assert_eq!(Task::<Loose>::from_json(fits)?.to_json()?, fits);
///
/// let big = r#"{"task_list":"l","id":"1","type":"Loose","data":{"n":123456789012345678901234567890}}"#;
/// let Err(Error::InvalidData { path, message, .. }) = Task::<Loose>::from_json(big) else { panic!() };
/// assert_eq!(path, ".n");
/// assert!(message.contains("taskrec::RawJson"), "{message}");
/// # Ok::<(), taskrec::Error>(())
/// ```
impl ExtraMap for serde_json::Map<String, serde_json::Value> {
    type Value = serde_json::Value;

    fn insert_extra(&mut self, key: String, value: serde_json::Value) {
        self.insert(key, value);
    }

    fn extra_entries(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        self.iter().map(|(key, value)| (key.as_str(), value))
    }

    fn read_value<'de, A>(map: &mut A, key: &str) -> Result<serde_json::Value, A::Error>
    where
        A: serde::de::MapAccess<'de>,
    {
        map.next_value_seed(ExactValue { key })
    }
}

/// Reads one extra value as `V`: a `serde_json::Value` through its text,
/// refusing a number it would not hold exactly ([`ExactValue`]); any other
/// `V` as it deserializes.
fn read_extra<'de, V, A>(map: &mut A, key: &str) -> Result<V, A::Error>
where
    V: serde::Deserialize<'de> + 'static,
    A: serde::de::MapAccess<'de>,
{
    if TypeId::of::<V>() != TypeId::of::<serde_json::Value>() {
        return map.next_value();
    }
    let value: Box<dyn Any> = Box::new(map.next_value_seed(ExactValue { key })?);
    match value.downcast::<V>() {
        Ok(value) => Ok(*value),
        // `V` is `serde_json::Value`, checked above.
        Err(_) => Err(serde::de::Error::custom("an extra value of another type")),
    }
}

/// Reads a `serde_json::Value` from its text, refusing a number it would
/// not hold exactly. A seed, so that the error is raised while the key's
/// value is read, and a path-tracking reader names the key.
struct ExactValue<'k> {
    key: &'k str,
}

impl<'de> serde::de::DeserializeSeed<'de> for ExactValue<'_> {
    type Value = serde_json::Value;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        use serde::de::Error as _;
        // The text first: once a `Value` holds the number, what it was is
        // gone. (`RawJson` reads any format: serde_json's raw text, or
        // another format's value as JSON would hold it.)
        let raw: crate::RawJson = serde::Deserialize::deserialize(deserializer)?;
        if let Some(number) = inexact_number(raw.get()) {
            // A literal is ASCII: cut anywhere.
            let shown = match number.get(..40) {
                Some(start) if number.len() > 40 => format!("{start}…"),
                _ => number.to_owned(),
            };
            return Err(D::Error::custom(format!(
                "the number {shown} of key `{}` does not fit a serde_json::Value exactly \
                 (beyond 64-bit integers and f64); keep such keys in a map of taskrec::RawJson",
                self.key
            )));
        }
        serde_json::from_str(raw.get()).map_err(D::Error::custom)
    }
}

/// The first number in the JSON text `json` that a `serde_json::Value`
/// would not hold exactly, if any.
fn inexact_number(json: &str) -> Option<&str> {
    let bytes = json.as_bytes();
    let (mut at, mut in_string) = (0, false);
    while at < bytes.len() {
        let byte = bytes[at];
        if in_string {
            match byte {
                b'\\' => at += 1,
                b'"' => in_string = false,
                _ => {}
            }
            at += 1;
        } else if byte == b'"' {
            in_string = true;
            at += 1;
        } else if byte == b'-' || byte.is_ascii_digit() {
            let start = at;
            while at < bytes.len()
                && matches!(bytes[at], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
            {
                at += 1;
            }
            let number = &json[start..at];
            if !number_is_exact(number) {
                return Some(number);
            }
        } else {
            at += 1;
        }
    }
    None
}

/// Whether a JSON number literal reads into a `serde_json::Value` as the
/// same number: an integer that fits 64 bits, or a decimal that an `f64`
/// writes back with the same digits.
fn number_is_exact(number: &str) -> bool {
    if !number.contains(['.', 'e', 'E']) {
        return number.parse::<i64>().is_ok() || number.parse::<u64>().is_ok();
    }
    match number.parse::<f64>() {
        Ok(float) if float.is_finite() => decimal(number) == decimal(&float.to_string()),
        _ => false,
    }
}

/// A decimal literal as (negative, significant digits, exponent), the value
/// being `0.digits × 10^exponent`: equal for equal numbers however written.
fn decimal(text: &str) -> (bool, String, i64) {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().unwrap_or(0)),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_matches('0').to_owned();
    if significant.is_empty() {
        return (false, String::new(), 0);
    }
    // Saturating: a valid literal may carry any exponent (`0.01e-9223372036854775808`).
    let exponent = exponent
        .saturating_add(whole.len() as i64)
        .saturating_sub(leading as i64);
    (negative, significant, exponent)
}
