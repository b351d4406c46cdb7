//! The untyped stored form of a task: what storage adapters read and write.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::key::{validate_key, validate_type_name, TaskKey};

/// One task as storage sees it: its key, its type name, its data as JSON
/// object text, and when it was created and last written.
///
/// Adapters store and return records; [`Task`](crate::Task) converts between
/// records and typed tasks. The data is JSON text from end to end, so a typed
/// task is encoded once and decoded once, never through a `serde_json::Value`.
/// It is not parsed when a record is built: decoding a task from a record is
/// where bad data is found, and is reported as
/// [`Error::InvalidData`](crate::Error::InvalidData) naming the record.
///
/// Timestamps are kept to the millisecond, the precision Cassandra's
/// `timestamp` type stores, so every adapter gives back what it was given.
///
/// ```
/// use taskrec::TaskRecord;
/// let record = TaskRecord::new("datto.com", "file1", "FetchFile", r#"{"filename":"a.txt"}"#)?;
/// assert_eq!(record.task_list(), "datto.com");
/// assert_eq!(record.data(), r#"{"filename":"a.txt"}"#);
/// # Ok::<(), taskrec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    task_list: String,
    id: String,
    type_name: String,
    data: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TaskRecord {
    /// A record created and updated now.
    ///
    /// Fails with [`Error::InvalidTaskList`](crate::Error::InvalidTaskList) or
    /// [`Error::InvalidId`](crate::Error::InvalidId) for a bad key, and
    /// [`Error::InvalidTypeName`](crate::Error::InvalidTypeName) for a type
    /// name [`validate_type_name`](crate::validate_type_name) refuses.
    ///
    /// ```
    /// use taskrec::TaskRecord;
    /// let record = TaskRecord::new("l", "i", "T", "not JSON yet")?; // the data is not parsed here
    /// assert_eq!(record.created_at(), record.updated_at());
    /// assert!(TaskRecord::new("", "i", "T", "{}").is_err());
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn new(
        task_list: impl Into<String>,
        id: impl Into<String>,
        type_name: impl Into<String>,
        data: impl Into<String>,
    ) -> Result<Self> {
        let now = now();
        Self::with_timestamps(task_list, id, type_name, data, now, now)
    }

    /// A record to write with the given timestamps (truncated to
    /// milliseconds), checked as [`new`](Self::new) checks. A record read
    /// from storage is built with [`from_storage`](Self::from_storage).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// let at = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
    /// let record = taskrec::TaskRecord::with_timestamps("l", "i", "T", "{}", at, at)?;
    /// assert_eq!(record.created_at(), at);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn with_timestamps(
        task_list: impl Into<String>,
        id: impl Into<String>,
        type_name: impl Into<String>,
        data: impl Into<String>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<Self> {
        let (task_list, id, type_name) = (task_list.into(), id.into(), type_name.into());
        validate_key(&task_list, &id)?;
        validate_type_name(&type_name)?;
        Ok(TaskRecord {
            task_list,
            id,
            type_name,
            data: data.into(),
            created_at: truncate_millis(created_at),
            updated_at: truncate_millis(updated_at),
        })
    }

    /// A record as an adapter read it from storage: key and type name taken
    /// as stored, unchecked. Another program may have written what taskrec
    /// would refuse (Cassandra holds an empty id, one of 60 KiB, a type name
    /// with a space); such a record must still list, naming its key, rather
    /// than fail the page it is on, and decoding it says what is wrong with
    /// it. Looking it up or deleting it by that key is still refused.
    ///
    /// Adapters build what they read with this, and what they are given to
    /// write is already checked: [`new`](Self::new) and
    /// [`with_timestamps`](Self::with_timestamps) are for records to write.
    ///
    /// ```
    /// use chrono::Utc;
    /// let foreign = taskrec::TaskRecord::from_storage("l", "", " ", "{}", Utc::now(), Utc::now());
    /// assert_eq!((foreign.id(), foreign.type_name()), ("", " "));
    /// ```
    pub fn from_storage(
        task_list: impl Into<String>,
        id: impl Into<String>,
        type_name: impl Into<String>,
        data: impl Into<String>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Self {
        TaskRecord {
            task_list: task_list.into(),
            id: id.into(),
            type_name: type_name.into(),
            data: data.into(),
            created_at: truncate_millis(created_at),
            updated_at: truncate_millis(updated_at),
        }
    }

    /// The task list (the Cassandra partition key).
    ///
    /// ```
    /// let record = taskrec::TaskRecord::new("datto.com", "file1", "FetchFile", "{}")?;
    /// assert_eq!(record.task_list(), "datto.com");
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn task_list(&self) -> &str {
        &self.task_list
    }

    /// The id, unique within the task list.
    ///
    /// ```
    /// let record = taskrec::TaskRecord::new("datto.com", "file1", "FetchFile", "{}")?;
    /// assert_eq!(record.id(), "file1");
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The type name the data was written under.
    ///
    /// ```
    /// # #[derive(Debug, taskrec::TaskData)] struct FetchFile { filename: String }
    /// let task = taskrec::Task::new("l", "i", FetchFile { filename: "a".into() })?;
    /// assert_eq!(task.to_record()?.type_name(), "FetchFile");
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The data: JSON object text, as stored.
    ///
    /// ```
    /// let record = taskrec::TaskRecord::new("l", "i", "T", r#"{ "n" : 1 }"#)?;
    /// assert_eq!(record.data(), r#"{ "n" : 1 }"#); // byte for byte, spaces kept
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn data(&self) -> &str {
        &self.data
    }

    /// When the task was built.
    ///
    /// ```
    /// let record = taskrec::TaskRecord::new("l", "i", "T", "{}")?;
    /// assert!(record.created_at() <= chrono::Utc::now());
    /// assert_eq!(record.created_at().timestamp_subsec_nanos() % 1_000_000, 0); // whole milliseconds
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// When the record was last written.
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// let created = Utc.timestamp_millis_opt(1_700_000_000_000).unwrap();
    /// let updated = created + TimeDelta::minutes(5);
    /// let record = taskrec::TaskRecord::with_timestamps("l", "i", "T", "{}", created, updated)?;
    /// assert_eq!(record.updated_at() - record.created_at(), TimeDelta::minutes(5));
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    /// The record's key, for error messages and logs.
    ///
    /// ```
    /// let record = taskrec::TaskRecord::new("l", "i", "T", "{}")?;
    /// assert_eq!(record.key().to_string(), r#""l"/"i""#);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn key(&self) -> TaskKey {
        TaskKey::new(self.task_list.clone(), self.id.clone())
    }

    /// Sets the time of the last write (truncated to milliseconds).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// let mut record = taskrec::TaskRecord::new("l", "i", "T", "{}")?;
    /// record.set_updated_at(Utc.timestamp_nanos(1_700_000_000_123_456_789));
    /// assert_eq!(record.updated_at(), Utc.timestamp_millis_opt(1_700_000_000_123).unwrap());
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn set_updated_at(&mut self, at: DateTime<Utc>) {
        self.updated_at = truncate_millis(at);
    }

    /// Takes the record apart: `(task_list, id, type_name, data)`.
    ///
    /// ```
    /// let record = taskrec::TaskRecord::new("l", "i", "T", "{}")?;
    /// let (list, id, type_name, data) = record.into_parts();
    /// assert_eq!((list.as_str(), id.as_str(), type_name.as_str(), data.as_str()), ("l", "i", "T", "{}"));
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn into_parts(self) -> (String, String, String, String) {
        (self.task_list, self.id, self.type_name, self.data)
    }
}

/// The current time at the millisecond precision records keep.
pub(crate) fn now() -> DateTime<Utc> {
    truncate_millis(Utc::now())
}

pub(crate) fn truncate_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    // Hot on every save and every row read: values already in whole
    // milliseconds (all that storage returns) come back untouched.
    let nanos = at.nanosecond();
    if nanos.is_multiple_of(1_000_000) {
        return at;
    }
    at.with_nanosecond(nanos - nanos % 1_000_000).unwrap_or(at)
}
