//! The counts the pages show: each list's kept counts (one read, whatever
//! the list holds), counted again in the background once they are due
//! ([`KeptCounts::due`]) by this dashboard's interval, so a page never waits
//! for a long list to be counted.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use taskrec::KeptCounts;
use tokio::time::Instant;

use crate::App;

/// How long a page waits, in all, for the first counts of the lists it
/// shows that have none; past it the page says they are being counted,
/// and the counts go on.
pub(crate) const WAIT_FOR_COUNTS: Duration = Duration::from_secs(2);

/// The counts this dashboard makes.
#[derive(Debug, Default)]
pub(crate) struct Counting {
    /// The lists being counted: one count per list at a time.
    running: Mutex<HashSet<String>>,
    /// What this dashboard counted last, per list: what it shows on a
    /// store that keeps no counts.
    last: Mutex<HashMap<String, KeptCounts>>,
}

impl Counting {
    fn last(&self, list: &str) -> Option<KeptCounts> {
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        last.get(list).cloned()
    }
}

/// What a page shows of a list's counts.
pub(crate) enum Shown {
    /// The figures, as kept (a count may be under way).
    Counted(KeptCounts),
    /// None kept yet, and the first count is still running.
    Counting,
}

/// The counts of `list` to show now: the kept ones (or this dashboard's
/// own last, on a store that keeps none); a count starts in the background
/// when they are due, and a list with none is waited for until `deadline`.
pub(crate) async fn shown(app: &Arc<App>, list: &str, deadline: Instant) -> Result<Shown, String> {
    let kept = app
        .store
        .adapter()
        .kept_counts(list)
        .await
        .map_err(|e| crate::error_chain(&e))?;
    let now = app.store.now().await.map_err(|e| crate::error_chain(&e))?;
    let last = app.counting.last(list);
    let figures = newest(kept.clone().filter(KeptCounts::counted), last.clone());
    // Due by what is kept (a mark of a count under way included), else by
    // this dashboard's own last count.
    let due = kept
        .as_ref()
        .or(last.as_ref())
        .is_none_or(|latest| latest.due(now, app.settings.count_every));
    let count = if due { start(app, list) } else { None };
    match (figures, count) {
        (Some(figures), _) => Ok(Shown::Counted(figures)),
        (None, None) => Ok(Shown::Counting),
        (None, Some(count)) => match tokio::time::timeout_at(deadline, count).await {
            Ok(Ok(Ok(counted))) => Ok(Shown::Counted(counted)),
            Ok(Ok(Err(error))) => Err(crate::error_chain(&error)),
            Ok(Err(join)) => Err(join.to_string()),
            Err(_) => Ok(Shown::Counting),
        },
    }
}

/// Counts `list` again after an action changed it, and waits a moment for
/// the figures, so that the page the action leads to shows the change. A
/// list whose last count took longer than that is left to its schedule:
/// one action must not cost a long list a count.
pub(crate) async fn after_change(app: &Arc<App>, list: &str) {
    let kept = app.store.kept_counts(list).await.ok().flatten();
    let took = newest(kept, app.counting.last(list)).map(|k| k.took);
    if took.is_some_and(|took| took > WAIT_FOR_COUNTS) {
        return;
    }
    if let Some(count) = start(app, list) {
        let _ = tokio::time::timeout(WAIT_FOR_COUNTS, count).await;
    }
}

fn newest(a: Option<KeptCounts>, b: Option<KeptCounts>) -> Option<KeptCounts> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.counted_at > a.counted_at { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Takes `list` off the running counts however its count ends (a panic
/// included), so that the next page can count it again.
struct Running {
    app: Arc<App>,
    list: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = self
            .app
            .counting
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        running.remove(&self.list);
    }
}

/// Starts a count of `list` in the background, unless one is running.
fn start(
    app: &Arc<App>,
    list: &str,
) -> Option<tokio::task::JoinHandle<taskrec::Result<KeptCounts>>> {
    {
        let mut running = app
            .counting
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !running.insert(list.to_owned()) {
            return None;
        }
    }
    let running = Running {
        app: Arc::clone(app),
        list: list.to_owned(),
    };
    Some(tokio::spawn(async move {
        let (app, list) = (&running.app, &running.list);
        let counted = app.store.recount(list).await;
        match &counted {
            Ok(counted) => {
                let mut last = app
                    .counting
                    .last
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                last.insert(list.clone(), counted.clone());
            }
            Err(error) => tracing::warn!(
                target: "taskrec_web",
                task_list = list.as_str(),
                error = error as &(dyn std::error::Error + 'static),
                "could not count the list"
            ),
        }
        counted
    }))
}
