//! Validation of task lists and ids, the two halves of a task's key.

use crate::error::{Error, KeyError, Result};

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

/// Checks a task id: non-empty and at most [`MAX_KEY_BYTES`] bytes.
///
/// ```
/// assert!(taskrec::validate_id("file1").is_ok());
/// assert!(taskrec::validate_id("").is_err());
/// ```
pub fn validate_id(id: &str) -> Result<()> {
    check(id).map_err(|reason| Error::InvalidId { reason })
}

/// Checks both halves of a key.
pub(crate) fn validate_key(task_list: &str, id: &str) -> Result<()> {
    validate_task_list(task_list)?;
    validate_id(id)
}
