//! A task's key ([`TaskKey`]: its task list and id) and the checks of its
//! two halves, and of the type names stored beside them.

use std::fmt;

use crate::error::{Error, KeyError, Result};

/// A task's key, its task list and id: where in storage a record is.
/// Decoding errors carry it, so that a bad record found in a long listing
/// can be located and repaired; [`execute_list`](crate::execute_list) names
/// each task's outcome with it.
///
/// ```
/// let key = taskrec::TaskKey::new("datto.com", "file1");
/// assert_eq!(key.to_string(), r#""datto.com"/"file1""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskKey {
    /// The task list the record belongs to.
    pub task_list: String,
    /// The record's id within its list.
    pub id: String,
}

impl TaskKey {
    /// A key from a task list and an id (not validated: this is a label).
    ///
    /// ```
    /// let key = taskrec::TaskKey::new("", "a/b"); // no validation
    /// assert_eq!(key.id, "a/b");
    /// assert_eq!(key.to_string(), r#"""/"a/b""#);
    /// ```
    pub fn new(task_list: impl Into<String>, id: impl Into<String>) -> Self {
        TaskKey {
            task_list: task_list.into(),
            id: id.into(),
        }
    }
}

impl fmt::Display for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Quoted and escaped: keys may hold `/` themselves.
        write!(f, "{:?}/{:?}", self.task_list, self.id)
    }
}

/// The longest task list or id accepted, in bytes of UTF-8.
///
/// Cassandra refuses key components over 64 KiB; 4 KiB leaves room for the
/// other key columns and keeps partition keys cheap to hash and compare.
///
/// ```
/// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
/// let long = "x".repeat(taskrec::MAX_KEY_BYTES + 1);
/// assert!(taskrec::Task::build(long, Ping {}).is_err());
/// ```
pub const MAX_KEY_BYTES: usize = 4096;

fn check(value: &str) -> Result<(), KeyError> {
    if value.is_empty() {
        return Err(KeyError::Empty);
    }
    if value.len() > MAX_KEY_BYTES {
        return Err(KeyError::TooLong {
            len: value.len(),
            max: MAX_KEY_BYTES,
        });
    }
    Ok(())
}

/// Checks a task list: non-empty and at most [`MAX_KEY_BYTES`] bytes.
///
/// Any other text is accepted verbatim: quotes, semicolons, NUL and
/// right-to-left characters are data, never syntax, in every adapter.
///
/// ```
/// assert!(taskrec::validate_task_list("datto.com").is_ok());
/// assert!(taskrec::validate_task_list("").is_err());
/// ```
pub fn validate_task_list(task_list: &str) -> Result<()> {
    check(task_list).map_err(|reason| Error::InvalidTaskList { reason })
}

/// Checks who a pause names ([`ListPause::by`](crate::ListPause::by)):
/// non-empty and at most [`MAX_KEY_BYTES`] bytes.
pub(crate) fn validate_paused_by(by: &str) -> Result<()> {
    check(by).map_err(|reason| Error::InvalidPausedBy { reason })
}

/// Checks a task id: non-empty and at most [`MAX_KEY_BYTES`] bytes.
///
/// ```
/// assert!(taskrec::validate_id("file1").is_ok());
/// assert!(taskrec::validate_id("").is_err());
/// ```
pub fn validate_id(id: &str) -> Result<()> {
    check(id).map_err(|reason| Error::InvalidId { reason })
}

/// The longest type name accepted on write, in bytes of UTF-8.
///
/// ```
/// let long = "T".repeat(taskrec::MAX_TYPE_NAME_BYTES + 1);
/// assert!(taskrec::validate_type_name(&long).is_err());
/// ```
pub const MAX_TYPE_NAME_BYTES: usize = 1024;

/// Checks a type name before it is written: non-empty, at most
/// [`MAX_TYPE_NAME_BYTES`] bytes, no whitespace and no control characters
/// (a type name is a Rust path or a Ruby constant path such as
/// `Task::Tasks::CompositeTask`, never free text). Type names read from
/// storage are not checked: a row another tool wrote is decoded, or
/// refused as an unknown type, by name.
///
/// ```
/// use taskrec::{validate_type_name, Error, KeyError};
/// assert!(validate_type_name("Task::Tasks::CompositeTask").is_ok());
/// assert!(matches!(
///     validate_type_name("Send Email"),
///     Err(Error::InvalidTypeName { reason: KeyError::Whitespace { at: 4 }, .. })
/// ));
/// ```
pub fn validate_type_name(type_name: &str) -> Result<()> {
    let refuse = |reason| Error::InvalidTypeName {
        type_name: type_name.to_owned(),
        reason,
    };
    if type_name.is_empty() {
        return Err(refuse(KeyError::Empty));
    }
    if type_name.len() > MAX_TYPE_NAME_BYTES {
        return Err(refuse(KeyError::TooLong {
            len: type_name.len(),
            max: MAX_TYPE_NAME_BYTES,
        }));
    }
    for (at, c) in type_name.char_indices() {
        if c.is_control() {
            return Err(refuse(KeyError::ControlCharacter { at }));
        }
        if c.is_whitespace() {
            return Err(refuse(KeyError::Whitespace { at }));
        }
    }
    Ok(())
}

/// Checks both halves of a key.
pub(crate) fn validate_key(task_list: &str, id: &str) -> Result<()> {
    validate_task_list(task_list)?;
    validate_id(id)
}

/// A new id taskrec makes for a task built at `at`: a version 7 UUID, its
/// first 48 bits the milliseconds since the Unix epoch.
pub(crate) fn time_ordered_id(at: chrono::DateTime<chrono::Utc>) -> String {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let timestamp = uuid::Timestamp::from_unix(
        uuid::NoContext,
        millis / 1_000,
        u32::try_from(millis % 1_000).unwrap_or(0) * 1_000_000,
    );
    uuid::Uuid::new_v7(timestamp).to_string()
}

/// When the task with `id` was built, if taskrec made its id (a version 7
/// UUID in any of its text forms): milliseconds since the Unix epoch.
///
/// Any id that reads as a version 7 UUID counts, whoever made it: what an
/// adapter does with the time must only depend on the id (and the time
/// now), so that every save of one id agrees.
// The Cassandra adapter places a new task's listing entry by it.
#[cfg_attr(not(feature = "cassandra"), allow(dead_code))]
pub(crate) fn built_at_millis(id: &str) -> Option<i64> {
    let uuid = uuid::Uuid::try_parse(id).ok()?;
    if uuid.get_version_num() != 7 {
        return None;
    }
    let (secs, nanos) = uuid.get_timestamp()?.to_unix();
    i64::try_from(secs)
        .ok()?
        .checked_mul(1_000)?
        .checked_add(i64::from(nanos / 1_000_000))
}
