//! taskrec: typed task records for at-least-once execution.
//!
//! (The user guide is being written; see the README.)

mod data;
mod error;
mod key;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use data::{DataRef, TaskData, TaskDecode, TaskType};
pub use error::{BoxError, Error, KeyError, Result, TaskKey};
pub use key::{validate_id, validate_task_list, MAX_KEY_BYTES};
pub use taskrec_derive::TaskData;
