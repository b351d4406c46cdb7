//! `Task::to_json` and `Task::from_json` without the owned `TaskHash` in
//! between.
//!
//! Writing: a `TaskHash` built by `as_hash` copies the list, the id and the
//! type name into new `String`s only to serialize them; `HashRef` writes
//! the same four keys, in the same order, from borrowed fields.
//!
//! Reading: the two-step path (`TaskHash::from_json`, then `from_hash`)
//! scans the data once to keep it as raw text and then parses that text
//! again into `T`. `decode` reads the hash in one pass and, when `type`
//! comes before `data` (as `to_json` and `as_hash` write it), decodes `data`
//! straight into `T`. It only ever answers "here is the task" or "ask the
//! two-step path": errors are not its business, so that every error keeps
//! the exact kind, path and message the two-step path gives. Anything
//! unusual (a repeated or missing key, data that is not an object, a type
//! `T` does not know, a key that fails validation, data nested one level
//! short of serde_json's limit) makes it give up and the two-step path
//! decide.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::value::RawValue;

use crate::data::{self, TaskData, TaskDecode};
use crate::data_check::Unchecked;

/// The hash of a task, borrowed from it: serializes exactly as
/// `TaskHash<DataRef<T>>` does (same keys, same order).
pub(super) struct HashRef<'a, T: ?Sized> {
    pub(super) task_list: &'a str,
    pub(super) id: &'a str,
    pub(super) type_name: &'a str,
    pub(super) data: &'a T,
}

impl<T: TaskData + ?Sized> Serialize for HashRef<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The derived `Serialize` of `TaskHash`, written out for borrowed fields.
        let mut hash = serializer.serialize_struct("TaskHash", 4)?;
        hash.serialize_field("task_list", self.task_list)?;
        hash.serialize_field("id", self.id)?;
        hash.serialize_field("type", self.type_name)?;
        // Checked by `Task::to_json` before it serializes the hash.
        hash.serialize_field("data", &Unchecked(self.data))?;
        hash.end()
    }
}

/// What a hash decodes to, before the key is validated.
pub(super) struct Parts<T> {
    pub(super) task_list: String,
    pub(super) id: String,
    pub(super) data: T,
}

/// Decodes hash text in one pass, or answers `None` for the two-step path
/// to decide (and to give its error, if there is one).
///
/// Whatever this accepts, the two-step path accepts with the same list, id
/// and data: the same parser reads the same bytes into the same `T`, the
/// keys are matched as `TaskHash`'s derive matches them (unknown keys
/// skipped, a repeated one refused), trailing text is refused, and `data`
/// must be a JSON object.
pub(super) fn decode<T: TaskDecode>(json: &str) -> Option<Parts<T>> {
    let mut de = serde_json::Deserializer::from_str(json);
    let parts = de.deserialize_map(HashVisitor(PhantomData)).ok()?;
    de.end().ok()?;
    Some(parts)
}

/// The four keys of a hash, and the rest.
enum Key {
    TaskList,
    Id,
    Type,
    Data,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a task hash key")
            }

            // Matched as the derive on `TaskHash` matches its field names.
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "task_list" => Key::TaskList,
                    "id" => Key::Id,
                    "type" => Key::Type,
                    "data" => Key::Data,
                    _ => Key::Other,
                })
            }
        }

        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// The type name, borrowed from the text unless it holds escapes.
struct TypeName<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for TypeName<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypeNameVisitor;

        impl<'de> Visitor<'de> for TypeNameVisitor {
            type Value = TypeName<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a type name")
            }

            fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Self::Value, E> {
                Ok(TypeName(Cow::Borrowed(name)))
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
                Ok(TypeName(Cow::Owned(name.to_owned())))
            }
        }

        deserializer.deserialize_str(TypeNameVisitor)
    }
}

/// The data as read: decoded already (`type` came first), or its text, to
/// decode once `type` is known.
enum Data<'de, T> {
    Decoded(T),
    Raw(&'de RawValue),
}

struct HashVisitor<T>(PhantomData<fn() -> T>);

/// The error that sends a hash to the two-step path; its text is never shown.
fn give_up<E: de::Error>() -> E {
    E::custom("not for the one-pass decode")
}

impl<'de, T: TaskDecode> Visitor<'de> for HashVisitor<T> {
    type Value = Parts<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a task hash")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parts<T>, A::Error> {
        let mut task_list: Option<String> = None;
        let mut id: Option<String> = None;
        let mut type_name: Option<Cow<'de, str>> = None;
        let mut data: Option<Data<'de, T>> = None;
        while let Some(key) = map.next_key::<Key>()? {
            // A repeated key is an error to the derive on `TaskHash`: give up.
            match key {
                Key::TaskList if task_list.is_none() => task_list = Some(map.next_value()?),
                Key::Id if id.is_none() => id = Some(map.next_value()?),
                Key::Type if type_name.is_none() => {
                    type_name = Some(map.next_value::<TypeName<'de>>()?.0);
                }
                Key::Data if data.is_none() => {
                    data = Some(match &type_name {
                        Some(name) => Data::Decoded(map.next_value_seed(DataSeed {
                            type_name: name,
                            marker: PhantomData,
                        })?),
                        None => Data::Raw(map.next_value()?),
                    });
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
                Key::TaskList | Key::Id | Key::Type | Key::Data => return Err(give_up()),
            }
        }
        let (Some(task_list), Some(id), Some(type_name), Some(data)) =
            (task_list, id, type_name, data)
        else {
            return Err(give_up());
        };
        let data = match data {
            Data::Decoded(data) => data,
            // Exactly what the two-step path does with the raw text (it
            // checks that the text is an object, too).
            Data::Raw(raw) => data::from_json(&type_name, raw.get()).map_err(|_| give_up())?,
        };
        Ok(Parts {
            task_list,
            id,
            data,
        })
    }
}

/// Decodes `data` straight into `T` under a type name read before it.
struct DataSeed<'n, T> {
    type_name: &'n str,
    marker: PhantomData<fn() -> T>,
}

impl<'de, T: TaskDecode> DeserializeSeed<'de> for DataSeed<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        // `None`: a type `T` does not know; the data was left unread.
        T::deserialize_data(self.type_name, ObjectOnly(deserializer))
            .unwrap_or_else(|| Err(give_up()))
    }
}

/// A deserializer that lets `T` decode only a JSON object.
///
/// The two-step path refuses data that is not an object before `T` sees it,
/// but serde would fill a struct from an array, and a hand-written `T` might
/// take anything. serde_json hands a visitor a map only for an object, so
/// this wrapper passes `visit_map` through and turns every other visit into
/// an error: for an object it changes nothing, and for anything else the
/// two-step path decides. (A `T` that asks for an option, a newtype or an
/// enum at the top always ends there too: rare, and still correct.)
struct ObjectOnly<D>(D);

/// A visitor that takes only a map; see [`ObjectOnly`].
struct MapOnly<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for MapOnly<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(map)
    }
}

macro_rules! object_only {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method($($arg,)* MapOnly(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    object_only! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}
