//! The one error type every fallible taskrec operation returns.

use crate::key::TaskKey;

/// A boxed error from a storage driver or a task's own code, kept as the
/// [`source`](std::error::Error::source) of the error that wraps it.
///
/// ```
/// use taskrec::BoxError;
/// fn parse(text: &str) -> Result<u32, BoxError> {
///     Ok(text.parse::<u32>()?)
/// }
/// assert_eq!(parse("7").unwrap(), 7);
/// assert_eq!(parse("x").unwrap_err().to_string(), "invalid digit found in string");
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result<T, taskrec::Error>`.
///
/// ```
/// fn key_of(json: &str) -> taskrec::Result<String> {
///     let hash = taskrec::TaskHash::from_json(json)?;
///     Ok(format!("{}/{}", hash.task_list, hash.id))
/// }
/// assert_eq!(key_of(r#"{"task_list":"a","id":"1","type":"T","data":{}}"#)?, "a/1");
/// assert!(key_of("[]").is_err());
/// # Ok::<(), taskrec::Error>(())
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a task list, an id or a type name was refused.
///
/// ```
/// use taskrec::{Error, KeyError, Task};
/// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
/// let err = Task::build("", Ping {}).unwrap_err();
/// assert!(matches!(err, Error::InvalidTaskList { reason: KeyError::Empty }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The value is the empty string.
    #[error("it is empty")]
    Empty,
    /// The value is longer than [`MAX_KEY_BYTES`](crate::MAX_KEY_BYTES) bytes of UTF-8.
    #[error("it is {len} bytes long, over the limit of {max} bytes")]
    TooLong {
        /// The value's length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// An id made as a version 7 UUID (a time, then random bits) whose time
    /// is more than a day ahead of the cluster's: the Cassandra adapter
    /// lists such a task in the minute its id was made, and a minute that
    /// far ahead would be read by every listing until it came.
    #[error(
        "it is a version 7 UUID made {ahead_secs} s ahead of the cluster's time (more than a day)"
    )]
    MadeAhead {
        /// How far ahead, in seconds.
        ahead_secs: u64,
    },
    /// A type name holds whitespace (type names only).
    #[error("it has whitespace at byte {at}")]
    Whitespace {
        /// Where, in bytes from the start.
        at: usize,
    },
    /// A type name holds a control character (type names only).
    #[error("it has a control character at byte {at}")]
    ControlCharacter {
        /// Where, in bytes from the start.
        at: usize,
    },
}

/// Everything that can go wrong in taskrec, as variants a caller can match on.
///
/// A task that is not there is not an error: lookups answer `Ok(None)`.
///
/// ```
/// use taskrec::{Error, Task, TaskHash};
/// # #[derive(Debug, taskrec::TaskData)] struct FetchFile {}
/// let hash: TaskHash = serde_json::from_str(
///     r#"{"task_list":"a","id":"1","type":"DeleteFile","data":{}}"#,
/// ).unwrap();
/// match Task::<FetchFile>::from_hash(hash) {
///     Err(Error::TypeMismatch { expected, found, .. }) => {
///         assert_eq!((expected.as_str(), found.as_str()), ("FetchFile", "DeleteFile"));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A record or hash names a type that the decoding type (an enum of task
    /// types or a [`TaskRegistry`](crate::TaskRegistry)) does not know.
    #[error(
        "unknown task type `{type_name}`{}; known types: {}",
        at(task),
        list(known)
    )]
    UnknownType {
        /// The type name found.
        type_name: String,
        /// The type names the decoder knows, sorted.
        known: Vec<String>,
        /// The record it was found in, when it came from storage.
        task: Option<TaskKey>,
    },
    /// A record or hash holds a different type than the single type asked for.
    #[error(
        "task type mismatch{}: expected `{expected}`, found `{found}`",
        at(task)
    )]
    TypeMismatch {
        /// The type name the caller asked for.
        expected: String,
        /// The type name found.
        found: String,
        /// The record it was found in, when it came from storage.
        task: Option<TaskKey>,
    },
    /// A task's data does not fit its type (or is not JSON at all).
    #[error(
        "invalid data for task type `{type_name}`{} at `{path}`: {message}",
        at(task)
    )]
    InvalidData {
        /// The type the data was decoded as.
        type_name: String,
        /// The JSON path of the offending value, such as `.files[2].name`;
        /// `.` for the data object itself.
        path: String,
        /// What serde said.
        message: String,
        /// The record it was found in, when it came from storage.
        task: Option<TaskKey>,
    },
    /// A hash is not of the task hash shape (`task_list`, `id`, `type`, `data`).
    #[error("invalid task hash{}: {reason}", at(task))]
    InvalidHash {
        /// What is wrong with it.
        reason: String,
        /// The task the hash names, when its list and id are valid keys
        /// (a hash whose `data` is not an object still says whose it is).
        task: Option<TaskKey>,
    },
    /// A task list was refused.
    #[error("invalid task list: {reason}")]
    InvalidTaskList {
        /// Why.
        reason: KeyError,
    },
    /// A task id was refused.
    #[error("invalid task id: {reason}")]
    InvalidId {
        /// Why.
        reason: KeyError,
    },
    /// The name of who paused a list was refused
    /// ([`TaskStore::pause`](crate::TaskStore::pause)).
    #[error("invalid name of who paused the list: {reason}")]
    InvalidPausedBy {
        /// Why.
        reason: KeyError,
    },
    /// A type name was refused on write
    /// ([`validate_type_name`](crate::validate_type_name)).
    #[error("invalid task type name {type_name:?}: {reason}")]
    InvalidTypeName {
        /// The name, as given.
        type_name: String,
        /// Why.
        reason: KeyError,
    },
    /// A type name was registered twice in one [`TaskRegistry`](crate::TaskRegistry).
    #[error("task type `{type_name}` is already registered")]
    DuplicateType {
        /// The name registered twice.
        type_name: String,
    },
    /// A page token was not one the adapter handed out.
    #[error("invalid page token: {reason}")]
    InvalidPageToken {
        /// What is wrong with it.
        reason: String,
    },
    /// An adapter was configured wrongly (a bad keyspace name, a table that
    /// does not exist, a shard count that contradicts the table's own).
    #[error("invalid {adapter} adapter configuration: {reason}")]
    InvalidConfig {
        /// The adapter's name.
        adapter: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The adapter does not support an operation (such as a time-to-live).
    #[error("the {adapter} adapter does not support {operation}")]
    Unsupported {
        /// The adapter's name.
        adapter: &'static str,
        /// The operation asked for.
        operation: &'static str,
    },
    /// The adapter cannot tell its backend's time within its tolerance, so
    /// a write that places a task by time (a save's listing minute and
    /// ready hint, a claim's lease end, a retry's backoff, a history entry)
    /// is refused rather than placed by a guess. Reads go on, and so do
    /// completions, failures, retries and releases (stamped by the last
    /// measurement carried forward: refusing them would run their tasks
    /// again). It clears by itself once a measurement of the clock
    /// succeeds (see [`clock`](crate::clock)).
    ///
    /// ```
    /// use std::time::Duration;
    /// let err = taskrec::Error::ClockSkew {
    ///     adapter: "cassandra",
    ///     offset: Some(chrono::TimeDelta::minutes(-6)),
    ///     uncertainty: None,
    ///     tolerance: Duration::from_millis(500),
    ///     reason: "the cluster did not answer the time query".into(),
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "the cassandra adapter cannot tell the cluster's time within its tolerance of 500 ms \
    ///      (last measured offset -360.000 s): the cluster did not answer the time query",
    /// );
    /// ```
    #[error(
        "the {adapter} adapter cannot tell the cluster's time within its tolerance of {} ms ({}): {reason}",
        tolerance.as_millis(),
        measured(offset, uncertainty)
    )]
    ClockSkew {
        /// The adapter's name.
        adapter: &'static str,
        /// The offset last measured (the cluster's clock minus this
        /// process's), if one ever was.
        offset: Option<chrono::TimeDelta>,
        /// How uncertain the time is now, when it is known but too
        /// uncertain; `None` when it cannot be told at all.
        uncertainty: Option<std::time::Duration>,
        /// The uncertainty the adapter accepts.
        tolerance: std::time::Duration,
        /// Why the time cannot be told.
        reason: String,
    },
    /// The storage behind an adapter failed; the driver's error is the source.
    #[error("storage error in the {adapter} adapter")]
    Storage {
        /// The adapter's name, such as `"memory"` or `"cassandra"`.
        adapter: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// A [`Error::Storage`] from an adapter's name and its driver's error.
    ///
    /// ```
    /// let io = std::io::Error::other("disk full");
    /// let err = taskrec::Error::storage("json-file", io);
    /// assert_eq!(err.to_string(), "storage error in the json-file adapter");
    /// // The driver's error is the source, for reports that walk the chain:
    /// let source = std::error::Error::source(&err).unwrap();
    /// assert_eq!(source.to_string(), "disk full");
    /// ```
    pub fn storage(adapter: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Storage {
            adapter,
            source: source.into(),
        }
    }

    /// Attaches the record a decoding error came from, where it has none yet.
    pub(crate) fn at_task(mut self, key: impl FnOnce() -> TaskKey) -> Self {
        match &mut self {
            Error::UnknownType { task, .. }
            | Error::TypeMismatch { task, .. }
            | Error::InvalidData { task, .. }
            | Error::InvalidHash { task, .. }
                if task.is_none() =>
            {
                *task = Some(key());
            }
            _ => {}
        }
        self
    }
}

/// An error and each of its causes, `: `-separated.
// The worker's events and the Cassandra adapter's clock use it.
#[cfg_attr(not(any(feature = "worker", feature = "cassandra")), allow(dead_code))]
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn measured(
    offset: &Option<chrono::TimeDelta>,
    uncertainty: &Option<std::time::Duration>,
) -> String {
    match (offset, uncertainty) {
        (None, _) => "never measured".to_owned(),
        (Some(offset), None) => format!(
            "last measured offset {}",
            crate::clock::signed_seconds(*offset)
        ),
        (Some(offset), Some(uncertainty)) => format!(
            "offset {} ± {} ms",
            crate::clock::signed_seconds(*offset),
            uncertainty.as_millis()
        ),
    }
}

fn at(task: &Option<TaskKey>) -> String {
    match task {
        Some(key) => format!(" in task {key}"),
        None => String::new(),
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
