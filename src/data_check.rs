//! What task data must be to be stored and read back: JSON has no NaN or
//! infinity (serde_json writes them as `null`, so a save would succeed and
//! every later `find` fail on the `null`), and data nested deeper than
//! [`MAX_DATA_DEPTH`] levels is refused before it is written (serde_json
//! refuses to read past 127 levels, so it would be written and never read).
//!
//! The check walks the data through serde once, writing nothing, before it
//! is encoded: a refusal names the field's path, as decoding errors do.

use std::fmt;

use serde::ser::{self, Serialize, Serializer};

use crate::data::{dotted, TaskData};
use crate::error::{Error, Result};
use crate::raw_json::RAW_VALUE_TOKEN;

/// How deeply task data may nest: the data object is level 1, each object
/// or array inside it one level more. Saves, `to_json` and the hash form
/// refuse deeper data; everything they accept reads back. serde_json reads
/// at most 127 levels, and the hash form puts the data one level down.
///
/// ```
/// # #[derive(Debug, taskrec::TaskData)] struct Doc { tree: serde_json::Value }
/// let mut tree = serde_json::json!(1);
/// for _ in 0..taskrec::MAX_DATA_DEPTH {
///     tree = serde_json::json!([tree]);
/// }
/// let err = taskrec::Task::new("l", "i", Doc { tree })?.to_json().unwrap_err();
/// assert!(err.to_string().contains("nested more than 126 levels"), "{err}");
/// # Ok::<(), taskrec::Error>(())
/// ```
pub const MAX_DATA_DEPTH: usize = 126;

/// Checks that `data` can be stored as JSON and read back: finite numbers
/// only, at most [`MAX_DATA_DEPTH`] levels deep. A `Serialize` impl that
/// fails on its own is not this check's business: the encoding that
/// follows reports it, as it always did.
pub(crate) fn check<T: TaskData + ?Sized>(data: &T) -> Result<()> {
    match serde_path_to_error::serialize(
        &Unchecked(data),
        Checker {
            depth: 0,
            raw: false,
        },
    ) {
        Ok(()) => Ok(()),
        Err(e) if !e.inner().refused => Ok(()),
        Err(e) => Err(Error::InvalidData {
            type_name: data.type_name().to_owned(),
            // A refusal inside a raw value is about the raw value.
            path: {
                let path = dotted(e.path());
                match path.strip_suffix(RAW_VALUE_TOKEN) {
                    // `.deep.$serde_json…`: the field is `.deep`.
                    Some(field) => match field.strip_suffix('.') {
                        Some(field) if !field.is_empty() => field.to_owned(),
                        _ => ".".to_owned(),
                    },
                    None => path,
                }
            },
            message: e.into_inner().message,
            task: None,
        }),
    }
}

/// The data serialized as it is, without the check: for callers that ran it.
pub(crate) struct Unchecked<'a, T: ?Sized>(pub &'a T);

impl<T: TaskData + ?Sized> Serialize for Unchecked<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize_data(serializer)
    }
}

/// Why the walk stopped: the check refused the data, or the data's own
/// `Serialize` impl failed.
#[derive(Debug)]
pub(crate) struct Refused {
    message: String,
    /// Whether the check refused it (not the data's own impl).
    refused: bool,
}

impl Refused {
    fn because(message: String) -> Self {
        Refused {
            message,
            refused: true,
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

impl ser::Error for Refused {
    fn custom<M: fmt::Display>(message: M) -> Self {
        Refused {
            message: message.to_string(),
            refused: false,
        }
    }
}

/// A serializer that writes nothing: it refuses non-finite floats and
/// nesting past the limit, and walks into everything else.
#[derive(Debug, Clone, Copy)]
struct Checker {
    /// Objects and arrays around the value being walked.
    depth: usize,
    /// Inside serde_json's raw value ([`RawJson`](crate::RawJson), a
    /// `Box<RawValue>`): the string that follows is JSON text written out
    /// as it is, whose own nesting counts.
    raw: bool,
}

fn too_deep() -> String {
    format!(
        "the data is nested more than {MAX_DATA_DEPTH} levels deep (taskrec::MAX_DATA_DEPTH), \
         more than a read accepts"
    )
}

/// Checks the nesting of data already encoded as JSON text (a hash's data
/// turned into a record): the same limit as [`check`], the whole data at
/// `.`.
pub(crate) fn check_text_depth(type_name: &str, json: &str) -> Result<()> {
    check_depth_below(type_name, json, 0)
}

/// [`check_text_depth`] for the text of a whole hash, whose data is one
/// level down.
pub(crate) fn check_hash_text_depth(type_name: &str, json: &str) -> Result<()> {
    check_depth_below(type_name, json, 1)
}

fn check_depth_below(type_name: &str, json: &str, levels_above: usize) -> Result<()> {
    if text_depth(json) > MAX_DATA_DEPTH + levels_above {
        return Err(Error::InvalidData {
            type_name: type_name.to_owned(),
            path: ".".to_owned(),
            message: too_deep(),
            task: None,
        });
    }
    Ok(())
}

/// How deeply JSON text nests: each object or array one level.
fn text_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

impl Checker {
    /// The checker inside one more object or array.
    fn deeper(self) -> std::result::Result<Checker, Refused> {
        self.levels_deeper(1)
    }

    fn levels_deeper(self, levels: usize) -> std::result::Result<Checker, Refused> {
        let depth = self.depth + levels;
        if depth > MAX_DATA_DEPTH {
            return Err(Refused::because(too_deep()));
        }
        Ok(Checker { depth, raw: false })
    }

    fn finite(self, value: f64) -> std::result::Result<(), Refused> {
        if value.is_finite() {
            Ok(())
        } else {
            Err(Refused::because(format!(
                "{value} cannot be stored: JSON has no NaN or infinity"
            )))
        }
    }
}

type Checked = std::result::Result<(), Refused>;

impl Serializer for Checker {
    type Ok = ();
    type Error = Refused;
    type SerializeSeq = Checker;
    type SerializeTuple = Checker;
    type SerializeTupleStruct = Checker;
    type SerializeTupleVariant = Checker;
    type SerializeMap = Checker;
    type SerializeStruct = Checker;
    type SerializeStructVariant = Checker;

    fn serialize_bool(self, _: bool) -> Checked {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Checked {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Checked {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Checked {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Checked {
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> Checked {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Checked {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Checked {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Checked {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Checked {
        Ok(())
    }
    fn serialize_u128(self, _: u128) -> Checked {
        Ok(())
    }
    fn serialize_f32(self, value: f32) -> Checked {
        self.finite(f64::from(value))
    }
    fn serialize_f64(self, value: f64) -> Checked {
        self.finite(value)
    }
    fn serialize_char(self, _: char) -> Checked {
        Ok(())
    }
    fn serialize_str(self, text: &str) -> Checked {
        if self.raw {
            self.levels_deeper(text_depth(text))?;
        }
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Checked {
        // serde_json writes bytes as an array of numbers.
        self.deeper().map(|_| ())
    }
    fn serialize_none(self) -> Checked {
        Ok(())
    }
    fn serialize_some<V: Serialize + ?Sized>(self, value: &V) -> Checked {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Checked {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Checked {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Checked {
        Ok(())
    }
    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &V,
    ) -> Checked {
        value.serialize(self)
    }
    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &V,
    ) -> Checked {
        // `{"Variant": value}`
        value.serialize(self.deeper()?)
    }
    fn serialize_seq(self, _: Option<usize>) -> std::result::Result<Checker, Refused> {
        self.deeper()
    }
    fn serialize_tuple(self, _: usize) -> std::result::Result<Checker, Refused> {
        self.deeper()
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Checker, Refused> {
        self.deeper()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Checker, Refused> {
        // `{"Variant": [...]}`
        self.deeper()?.deeper()
    }
    fn serialize_map(self, _: Option<usize>) -> std::result::Result<Checker, Refused> {
        self.deeper()
    }
    fn serialize_struct(
        self,
        name: &'static str,
        _: usize,
    ) -> std::result::Result<Checker, Refused> {
        if name == RAW_VALUE_TOKEN {
            // Not a level of its own: its text is.
            return Ok(Checker { raw: true, ..self });
        }
        self.deeper()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Checker, Refused> {
        // `{"Variant": {...}}`
        self.deeper()?.deeper()
    }
}

impl ser::SerializeSeq for Checker {
    type Ok = ();
    type Error = Refused;
    fn serialize_element<V: Serialize + ?Sized>(&mut self, value: &V) -> Checked {
        value.serialize(*self)
    }
    fn end(self) -> Checked {
        Ok(())
    }
}

impl ser::SerializeTuple for Checker {
    type Ok = ();
    type Error = Refused;
    fn serialize_element<V: Serialize + ?Sized>(&mut self, value: &V) -> Checked {
        value.serialize(*self)
    }
    fn end(self) -> Checked {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Checker {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<V: Serialize + ?Sized>(&mut self, value: &V) -> Checked {
        value.serialize(*self)
    }
    fn end(self) -> Checked {
        Ok(())
    }
}

impl ser::SerializeTupleVariant for Checker {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<V: Serialize + ?Sized>(&mut self, value: &V) -> Checked {
        value.serialize(*self)
    }
    fn end(self) -> Checked {
        Ok(())
    }
}

impl ser::SerializeMap for Checker {
    type Ok = ();
    type Error = Refused;
    fn serialize_key<K: Serialize + ?Sized>(&mut self, key: &K) -> Checked {
        key.serialize(*self)
    }
    fn serialize_value<V: Serialize + ?Sized>(&mut self, value: &V) -> Checked {
        value.serialize(*self)
    }
    fn end(self) -> Checked {
        Ok(())
    }
}

impl ser::SerializeStruct for Checker {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<V: Serialize + ?Sized>(&mut self, _: &'static str, value: &V) -> Checked {
        value.serialize(*self)
    }
    fn end(self) -> Checked {
        Ok(())
    }
}

impl ser::SerializeStructVariant for Checker {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<V: Serialize + ?Sized>(&mut self, _: &'static str, value: &V) -> Checked {
        value.serialize(*self)
    }
    fn end(self) -> Checked {
        Ok(())
    }
}
