//! Typed task records for at-least-once execution.
//!
//! A task's record lives from the moment the task is generated until a
//! worker completes it. A worker that dies leaves the record behind, and a
//! later run finds it and does the work again. taskrec gives the pieces:
//! typed task types, durable records grouped into task lists, lazy listings,
//! and a plain hash form to hand a task to another process, which gets the
//! concrete type back. It reads and writes the tables and hashes of the Ruby
//! gem task_rb as they are.
//!
//! # Defining task types
//!
//! A task type is a struct with `#[derive(TaskData)]`. Its fields are the
//! task's data, stored as a JSON object; its type name (the struct's name
//! unless `type_name` says otherwise) tells readers which type to decode.
//!
//! ```
//! use taskrec::{Task, TaskData};
//!
//! #[derive(Debug, Clone, PartialEq, TaskData)]
//! struct FetchFile {
//!     external_host: String,
//!     filename: String,
//!     #[task(default)]          // missing in older records: 0
//!     retries: u32,
//!     checksum: Option<String>, // optional; omitted when None
//! }
//!
//! let task = Task::build("datto.com", FetchFile {
//!     external_host: "datto.com".into(),
//!     filename: "file1.txt".into(),
//!     retries: 0,
//!     checksum: None,
//! })?
//! .with_id("file1")?;                        // a new UUID without it
//! assert_eq!(task.data().filename, "file1.txt");
//! # Ok::<(), taskrec::Error>(())
//! ```
//!
//! The attributes the derive understands are listed on
//! [`TaskData`](derive@TaskData). Data goes back exactly as it came or is
//! refused when written: NaN, infinities and nesting past
//! [`MAX_DATA_DEPTH`] are errors at save time, and keys a type does not
//! declare are kept, each value as the text it arrived as, in an
//! `#[task(extra)]` map of [`RawJson`].
//!
//! # Saving, finding, listing, completing
//!
//! A [`TaskStore`] does the typed work over a storage adapter: the
//! [`MemoryAdapter`] here; Cassandra or your own backend (see
//! [`adapter`]) the same way.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
//! use futures::TryStreamExt;
//! use taskrec::{MemoryAdapter, Task, TaskData, TaskStore};
//!
//! #[derive(Debug, Clone, PartialEq, TaskData)]
//! struct FetchFile { filename: String }
//!
//! let store = TaskStore::new(MemoryAdapter::new());
//! let task = Task::new("datto.com", "file1", FetchFile { filename: "file1.txt".into() })?;
//! store.save(&task).await?;                                  // overwrites the same id
//!
//! let found: Option<Task<FetchFile>> = store.find("datto.com", "file1").await?;
//! assert_eq!(found.as_ref().map(Task::data), Some(task.data()));
//! assert!(store.find::<FetchFile>("datto.com", "nope").await?.is_none());
//!
//! let open: Vec<Task<FetchFile>> = store.all("datto.com").try_collect().await?; // lazy, paged
//! assert_eq!(open.len(), 1);
//!
//! store.complete(&task).await?;                              // the record is gone
//! assert_eq!(store.count("datto.com").await?, 0);
//! # Ok(()) }
//! ```
//!
//! # Handing a task to another process
//!
//! [`Task::as_hash`] gives the four keys task_rb's `as_hash` gives
//! (`task_list`, `id`, `type`, `data`), for any serde format. The other side
//! restores the typed task, checking the type name.
//!
//! ```
//! use taskrec::{Task, TaskData, TaskHash};
//!
//! #[derive(Debug, PartialEq, TaskData)]
//! #[task(type_name = "Task::Tasks::CompositeTask")]   // a Ruby class name
//! struct Composite { child_task_list: String }
//!
//! let task = Task::new("a", "id", Composite { child_task_list: "kids".into() })?;
//! let json = serde_json::to_string(&task.as_hash()).unwrap();
//!
//! let back: Task<Composite> = Task::from_hash(TaskHash::from_json(&json)?)?;
//! assert_eq!(back.data(), task.data());
//! # Ok::<(), taskrec::Error>(())
//! ```
//!
//! # One of several task types
//!
//! For a closed set of types, derive `TaskData` on an enum whose variants
//! wrap task types: it decodes whichever type a record or hash names.
//!
//! ```
//! use taskrec::{Error, Task, TaskData};
//! #[derive(Debug, TaskData)] struct FetchFile { filename: String }
//! #[derive(Debug, TaskData)] struct DeleteFile { filename: String }
//! #[derive(Debug, TaskData)]
//! enum FileJob { Fetch(FetchFile), Delete(DeleteFile) }
//!
//! let task: Task<FileJob> =
//!     Task::from_json(r#"{"task_list":"l","id":"1","type":"DeleteFile","data":{"filename":"x"}}"#)?;
//! assert!(matches!(task.data(), FileJob::Delete(_)));
//!
//! let err = Task::<FileJob>::from_json(r#"{"task_list":"l","id":"1","type":"Rename","data":{}}"#)
//!     .unwrap_err();
//! assert!(matches!(err, Error::UnknownType { .. }));
//! assert_eq!(
//!     err.to_string(),
//!     r#"unknown task type `Rename` in task "l"/"1"; known types: `DeleteFile`, `FetchFile`"#,
//! );
//! # Ok::<(), taskrec::Error>(())
//! ```
//!
//! For an open set, known only at run time, register types in a
//! [`TaskRegistry`] and decode into [`DynTaskData`].
//!
//! # Generating and executing
//!
//! [`TaskGenerator`] appends lazy sources of tasks (what an earlier run left,
//! then new work); [`execute_list`] runs a list's tasks, completes each one
//! that succeeds and leaves each failure for the next run; [`CompositeTask`]
//! is task_rb's task of tasks.
//!
//! # Claims, leases and workers
//!
//! Adapters with [`conditional_writes`](crate::adapter::Capabilities::conditional_writes)
//! keep a [`TaskState`] beside each record. [`TaskStore::claim`] takes a task
//! for a lease, [`TaskStore::renew`], [`TaskStore::release`],
//! [`TaskStore::retry_later`], [`TaskStore::fail`] and
//! [`TaskStore::succeed`] move it on, each a compare-and-set so two workers
//! never hold one task. [`Worker`] drains a list with all of it: bounded
//! concurrency, backoff, a time limit per attempt, graceful stop; it finds
//! work through [`StorageAdapter::next_ready`](crate::adapter::StorageAdapter::next_ready) rather than by reading the
//! list, and [`Worker::serve`] keeps at it over several lists until
//! stopped; and
//! [`TaskStore::with_history`] keeps the last state changes of each task
//! (how many and how long: [`HistoryRetention`]), apart from the tasks.
//!
//! [`TaskStore::save_scheduled`] and [`TaskStore::save_delayed`] save a task
//! that no worker runs before a time: listed as [`TaskStatus::Scheduled`]
//! until then, handed out by claim-next when it comes.
//! [`TaskStore::save_unique`] saves a task only if its id is free, so that
//! producers racing on the same work make one task ([`Unique`]).
//!
//! # Ending a task: which call when
//!
//! | you are | the task | call | what it does |
//! | --- | --- | --- | --- |
//! | a worker ([`Worker`] does it for you) | ran under your claim and succeeded | [`TaskStore::succeed`] | deletes it (or keeps it as succeeded, with its result), only while your claim holds: a version saved while it ran survives |
//! | a worker | ran under your claim and failed | [`TaskStore::retry_later`] or [`TaskStore::fail`] | pending again after a backoff, or kept as failed for a person |
//! | code without claims ([`execute_list`], task_rb's way) | ran and succeeded | [`TaskStore::complete`] | deletes it by key, whatever its state: a version saved meanwhile goes with it |
//! | an operator | failed for good, and should not run | [`TaskStore::purge`] (one) or [`TaskStore::purge_failed`] (a list's) | deletes it only if it is still failed: a task retried or saved since stays |
//! | an operator | failed, and the cause is fixed | [`TaskStore::reset`] or [`TaskStore::retry_failed`] | pending again, attempts reset; its history keeps why it failed |
//! | anyone | is not wanted any more, whatever its state | [`TaskStore::delete`] | deletes it by key, even from under a worker running it (the worker's completion then finds it gone) |
//!
//! # Whose clock
//!
//! A lease's end, a retry's backoff, the minute a task is listed in: times
//! one process writes and another judges. taskrec reads them all from the
//! adapter ([`TaskStore::now`]), never from each process's own clock. The
//! memory adapter is one process with one clock; the Cassandra adapter
//! measures the cluster's time against this process's clock and corrects
//! for the offset, so a worker whose clock is an hour off saves, claims and
//! runs tasks like any other, and refuses such writes with
//! [`Error::ClockSkew`] when it cannot tell the cluster's time
//! ([`clock`] has the details). Hand the store times you make yourself
//! from [`TaskStore::now`] too.
//!
//! # Tracing, metrics and worker events
//!
//! Every call of the memory and Cassandra adapters is a [`tracing`] span
//! (so every store operation shows as the adapter calls it makes; saves,
//! finds, pages, deletes and counts are spans of their own around them),
//! and so is every worker attempt, with OpenTelemetry's
//! database fields (`db.system.name`, `db.namespace`, `db.collection.name`,
//! `db.operation.name`, …) and the task's (`task_list`, `task.id`,
//! `task.type`, `attempt`); retries, final failures and lost leases are
//! events. Counters and histograms go to the [`metrics`] facade. Neither
//! prints nor costs anything to speak of until the application installs a
//! subscriber or a recorder; the names are in [`observe`].
//! [`WorkerConfig::on_event`] hands the application each claim, attempt
//! outcome and the final report as a [`WorkerEvent`].
//!
//! # Errors
//!
//! Every fallible call returns [`Error`], whose variants say what went wrong
//! and where: the unknown type name and the known ones, the JSON path of a
//! bad field and the record it is in, the driver's error as source.
//!
//! # Writing a storage adapter
//!
//! The crate root holds what applications use; everything a backend's
//! author uses is in [`adapter`] alone: the [`StorageAdapter`](adapter::StorageAdapter)
//! trait (four methods; its docs hold the contract), pages and tokens,
//! stored states, capabilities, the walking helpers and `async_trait`. Run
//! the [`conformance`] suite in your tests (cargo feature `conformance`):
//! [`conformance_tests!`] makes each rule a test of its own.
//!
//! # Feature flags
//!
//! | feature | what it adds |
//! | --- | --- |
//! | `cassandra` | the [`cassandra`] module: the Cassandra / ScyllaDB adapter on the `scylla` driver |
//! | `cassandra-rustls` | TLS for the Cassandra adapter ([`cassandra::TlsConfig`]), through rustls: no system library |
//! | `cassandra-tls` | the same TLS through the system's OpenSSL (with both on, OpenSSL unless [`cassandra::TlsBackend`] says otherwise) |
//! | `conformance` | the [`conformance`] module and [`conformance_tests!`]: the adapter conformance suite |
//! | `worker` (default) | [`Worker`]: the worker loop, on tokio timers |

pub mod adapter;
pub mod clock;
mod data;
mod data_check;
mod error;
mod execute;
mod extra;
mod generator;
mod hash;
mod history;
mod json_text;
mod kept_counts;
mod key;
mod memory;
mod pause;
mod raw_json;
mod record;
mod registry;
mod state;
mod store;
mod task;
#[cfg(feature = "worker")]
mod worker;

#[cfg(feature = "cassandra")]
pub mod cassandra;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod observe;

/// The README's code blocks, compiled and run as doctests so they stay true.
#[cfg(all(doctest, feature = "cassandra"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use adapter::PageToken;
pub use clock::ClockReading;
pub use data::{DataRef, TaskData, TaskDecode, TaskType};
pub use data_check::MAX_DATA_DEPTH;
pub use error::{BoxError, Error, KeyError, Result};
pub use execute::{execute_list, CompositeTask, Execute, ExecuteOutcome, ExecutedTask};
pub use extra::ExtraMap;
pub use generator::{IntoGenerated, TaskGenerator};
pub use hash::{HashData, TaskHash};
pub use history::{HistoryRetention, StateChange};
pub use kept_counts::{KeptCounts, RECOUNT_AFTER_TOOK};
pub use key::{
    validate_id, validate_task_list, validate_type_name, TaskKey, MAX_KEY_BYTES,
    MAX_TYPE_NAME_BYTES,
};
pub use memory::MemoryAdapter;
pub use pause::ListPause;
pub use raw_json::RawJson;
pub use record::TaskRecord;
pub use registry::{DynTaskData, ErasedTaskData, TaskRegistry};
pub use state::{StatusCounts, TaskState, TaskStatus};
pub use store::{
    Claim, StatusPage, TaskDetails, TaskStore, TaskWithState, Unique, DEFAULT_CONCURRENCY,
    SAVE_ALL_GROUP,
};
pub use task::Task;
#[doc = include_str!("../docs/derive.md")]
pub use taskrec_derive::TaskData;
#[cfg(feature = "worker")]
pub use worker::{
    Backoff, DrainReport, HandlerFuture, HandlerResult, StopHandle, TaskAttempt, Worker,
    WorkerConfig, WorkerEvent, DEFAULT_COUNT_EVERY,
};
