//! The counts the pages show: each list's kept counts
//! ([`TaskStore::kept_counts`]: one read, whatever the list holds), counted
//! again in the background once they are due ([`KeptCounts::due`]), so a
//! page never waits for a long list to be counted.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use taskrec::{KeptCounts, TaskStore};

use crate::App;

/// How long a page waits for the first count of a list that has none
/// kept; past it the page says the list is being counted, and the count
/// goes on.
const WAIT_FOR_FIRST_COUNT: Duration = Duration::from_secs(2);

/// The lists this dashboard is counting: one count per list at a time.
#[derive(Debug, Default)]
pub(crate) struct Counting {
    lists: Mutex<HashSet<String>>,
}

/// What a page shows of a list's counts.
pub(crate) enum Shown {
    /// The figures, as kept (a count may be under way).
    Counted(KeptCounts),
    /// None kept yet, and the first count is still running.
    Counting,
}

/// The counts of `list` to show now: the kept ones; a count starts in the
/// background when they are due (or none is kept), and a list with none
/// kept is waited for a moment.
pub(crate) async fn shown(app: &Arc<App>, list: &str) -> Result<Shown, String> {
    let kept = app
        .store
        .kept_counts(list)
        .await
        .map_err(|e| crate::error_chain(&e))?;
    let now = app.store.now().await.map_err(|e| crate::error_chain(&e))?;
    if let Some(kept) = &kept {
        if !kept.due(now, app.settings.count_every) {
            return Ok(Shown::Counted(kept.clone()));
        }
    }
    let count = start(app, list);
    match (kept, count) {
        (Some(kept), _) => Ok(Shown::Counted(kept)),
        (None, None) => Ok(Shown::Counting),
        (None, Some(count)) => match tokio::time::timeout(WAIT_FOR_FIRST_COUNT, count).await {
            Ok(Ok(Ok(kept))) => Ok(Shown::Counted(kept)),
            Ok(Ok(Err(error))) => Err(crate::error_chain(&error)),
            Ok(Err(join)) => Err(join.to_string()),
            Err(_) => Ok(Shown::Counting),
        },
    }
}

/// Counts `list` again after an action changed it, and waits a moment for
/// the figures, so that the page the action leads to shows the change
/// (a long list's count goes on in the background).
pub(crate) async fn after_change(app: &Arc<App>, list: &str) {
    if let Some(count) = start(app, list) {
        let _ = tokio::time::timeout(WAIT_FOR_FIRST_COUNT, count).await;
    }
}

/// Starts a count of `list` in the background, unless one is running.
fn start(
    app: &Arc<App>,
    list: &str,
) -> Option<tokio::task::JoinHandle<taskrec::Result<KeptCounts>>> {
    {
        let mut lists = app
            .counting
            .lists
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !lists.insert(list.to_owned()) {
            return None;
        }
    }
    let (app, list) = (Arc::clone(app), list.to_owned());
    Some(tokio::spawn(async move {
        let counted = recount(&app.store, &list).await;
        app.counting
            .lists
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&list);
        counted
    }))
}

async fn recount(store: &TaskStore, list: &str) -> taskrec::Result<KeptCounts> {
    let counted = store.recount(list).await;
    if let Err(error) = &counted {
        tracing::warn!(
            target: "taskrec_web",
            task_list = list,
            error = error as &(dyn std::error::Error + 'static),
            "could not count the list"
        );
    }
    counted
}
