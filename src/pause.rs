//! Pausing a list: a stored flag, set by a person (the `taskrec` command,
//! the dashboard, [`TaskStore::pause`](crate::TaskStore::pause)), that
//! keeps every [`Worker`](crate::Worker) from taking the list's tasks until
//! the list is resumed. Tasks can still be saved, found, listed and
//! completed by hand; tasks already running finish.

use chrono::{DateTime, Utc};

/// Who paused a list and when, as stored with the flag.
///
/// ```
/// let pause = taskrec::ListPause::new("alice", chrono::Utc::now());
/// assert_eq!(pause.by, "alice");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPause {
    /// Who paused it, as the pausing call named them (a user, a process).
    pub by: String,
    /// When, by the store's clock.
    pub since: DateTime<Utc>,
}

impl ListPause {
    /// A pause by `by`, from `since`.
    pub fn new(by: impl Into<String>, since: DateTime<Utc>) -> Self {
        ListPause {
            by: by.into(),
            since,
        }
    }
}
