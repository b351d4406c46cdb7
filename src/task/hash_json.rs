//! `Task::to_json` without the owned `TaskHash` in between.
//!
//! A `TaskHash` built by `as_hash` copies the list, the id and the
//! type name into new `String`s only to serialize them; [`HashRef`] writes
//! the same four keys, in the same order, from borrowed fields.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::data::{DataRef, TaskData};

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
        hash.serialize_field("data", &DataRef(self.data))?;
        hash.end()
    }
}
