//! How a worker learns that a list is paused ([`TaskStore::pause`]): it
//! asks the adapter before each step of a sweep, at most once per half an
//! idle poll per list, and takes none of a paused list's tasks.
//!
//! [`TaskStore::pause`]: crate::TaskStore::pause

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::events::WorkerEvent;
use super::{Worker, TRACING_TARGET};
use crate::adapter::StorageAdapter;
use crate::pause::ListPause;

/// The shortest time between two reads of one list's flag: a worker with
/// a tiny idle poll (tests) should not read it per task.
const MIN_RECHECK: Duration = Duration::from_millis(10);

/// What a worker last read of each list's flag, and when.
#[derive(Debug, Default)]
pub(super) struct PauseWatch {
    seen: Mutex<HashMap<String, Seen>>,
}

#[derive(Debug)]
struct Seen {
    read_at: Instant,
    pause: Option<ListPause>,
}

impl<A: StorageAdapter + ?Sized> Worker<A> {
    /// How long a read of a list's flag is trusted: half an idle poll, so
    /// that a pause is honoured within one.
    pub(super) fn pause_recheck(&self) -> Duration {
        (self.config.idle_poll / 2).max(MIN_RECHECK)
    }

    /// Whether `task_list` is paused, read again when the last read is
    /// older than [`pause_recheck`](Self::pause_recheck). A change is told
    /// (an INFO line and [`WorkerEvent::Paused`] or
    /// [`WorkerEvent::Resumed`]); when a list is paused, what this process
    /// holds of it goes back to the other processes at once
    /// ([`StorageAdapter::stop_sweeping`]).
    ///
    /// A read that fails keeps what was last read (not paused, before the
    /// first): a pause is an operator's convenience, and a storage error
    /// must not stop a list's work. The error is logged.
    pub(super) async fn paused(&self, task_list: &str) -> bool {
        let recheck = self.pause_recheck();
        let last = {
            let seen = self
                .pauses
                .seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match seen.get(task_list) {
                Some(seen) if seen.read_at.elapsed() < recheck => return seen.pause.is_some(),
                Some(seen) => seen.pause.clone(),
                None => None,
            }
        };
        let pause = match self.store.adapter().pause_state(task_list).await {
            Ok(pause) => pause,
            Err(error) => {
                tracing::warn!(
                    target: TRACING_TARGET,
                    task_list,
                    error = &error as &(dyn std::error::Error + 'static),
                    "could not read whether the list is paused; going on as last read"
                );
                last.clone()
            }
        };
        self.pauses
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                task_list.to_owned(),
                Seen {
                    read_at: Instant::now(),
                    pause: pause.clone(),
                },
            );
        match (&last, &pause) {
            (None, Some(pause)) => self.tell_paused(task_list, pause).await,
            (Some(_), None) => {
                tracing::info!(target: TRACING_TARGET, task_list, "list resumed: taking its tasks again");
                if let Some(hook) = &self.config.events {
                    hook.emit(&WorkerEvent::Resumed {
                        task_list: task_list.to_owned(),
                    });
                }
            }
            _ => {}
        }
        pause.is_some()
    }

    async fn tell_paused(&self, task_list: &str, pause: &ListPause) {
        tracing::info!(
            target: TRACING_TARGET,
            task_list,
            by = %pause.by,
            since = %pause.since,
            "list paused: taking none of its tasks until it is resumed"
        );
        if let Some(hook) = &self.config.events {
            hook.emit(&WorkerEvent::Paused {
                task_list: task_list.to_owned(),
                pause: pause.clone(),
            });
        }
        if let Err(error) = self.store.adapter().stop_sweeping(task_list).await {
            tracing::warn!(target: TRACING_TARGET, task_list, %error, "could not hand back this worker's share of a paused list");
        }
    }
}
