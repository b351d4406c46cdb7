//! Which task lists keep a history of their state changes, and the line
//! each change writes there.

use crate::adapter::StorageAdapter;
use crate::error::Result;
use crate::history::{HistoryRetention, StoredStateChange};
use crate::state::TaskState;

use super::TaskStore;

/// Which task lists keep a history, and how much of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct HistoryPolicy {
    pub(crate) lists: HistoryLists,
    pub(crate) retention: HistoryRetention,
}

#[derive(Debug, Clone, Default)]
pub(crate) enum HistoryLists {
    #[default]
    None,
    All,
    Some(std::sync::Arc<std::collections::BTreeSet<String>>),
}

impl HistoryPolicy {
    pub(crate) fn covers(&self, task_list: &str) -> bool {
        match &self.lists {
            HistoryLists::None => false,
            HistoryLists::All => true,
            HistoryLists::Some(lists) => lists.contains(task_list),
        }
    }
}

impl<A: StorageAdapter + ?Sized> TaskStore<A> {
    pub(crate) async fn record_history(
        &self,
        task_list: &str,
        id: &str,
        state: &TaskState,
    ) -> Result<()> {
        if !self.keeps_history(task_list) {
            return Ok(());
        }
        let at = match state.changed_at {
            Some(at) => at,
            None => self.stamp_now().await,
        };
        let entry = StoredStateChange {
            at,
            state: state.to_json()?,
        };
        self.adapter()
            .append_history(task_list, id, &entry, self.history_retention())
            .await
    }
}
