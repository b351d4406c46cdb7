//! The commands that change tasks by hand: `retry`, `complete` and `purge`.
//!
//! Each acts through the store's conditional operations, so a task a worker
//! holds under a live lease is never taken from it, and a failed task that
//! someone retried since it was listed is not purged. Changes of many tasks
//! ask first (`confirm`); `--dry-run` lists what would change.

use std::io::Write;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use taskrec::{TaskState, TaskStatus, TaskStore};

use crate::args::{CompleteArgs, Confirm, PurgeArgs, PurgeStatus, RetryArgs};
use crate::confirm::{confirm, Go};
use crate::exit::usage;
use crate::output::{self, status_name};
use crate::progress;

/// Failed tasks read a page at a time.
const PAGE: usize = 100;

/// Changes in flight at once within a page.
const IN_FLIGHT: usize = 16;

/// `retry LIST ID...` and `retry LIST --failed`.
pub async fn retry(store: &TaskStore, args: RetryArgs) -> anyhow::Result<()> {
    needs_state(store, "retry")?;
    if args.failed {
        return each_failed(store, &args.list, &args.confirm, Bulk::Retry).await;
    }
    // Whether a lease still holds is the store's time to say (on Cassandra,
    // the cluster's), not this host's.
    let now = store.now().await?;
    let mut out = output::stdout();
    let mut missed = 0;
    for id in &args.ids {
        let done = if args.confirm.dry_run {
            let state = store.state(&args.list, id).await?;
            if let Some(state) = state.as_ref().filter(|s| !held(s, now)) {
                writeln!(out, "would retry {id} ({})", summary(state))?;
                true
            } else {
                explain_not_done(&args.list, id, state.as_ref(), "retried", now);
                false
            }
        } else if store.reset(&args.list, id).await? {
            writeln!(out, "retried {id}")?;
            true
        } else {
            let state = store.state(&args.list, id).await?;
            explain_not_done(&args.list, id, state.as_ref(), "retried", now);
            false
        };
        missed += u64::from(!done);
    }
    out.flush()?;
    if missed > 0 {
        anyhow::bail!("{missed} of {} tasks not retried", args.ids.len());
    }
    Ok(())
}

/// `complete LIST ID...`: deletes the records, as a worker does when a task
/// is done.
pub async fn complete(store: &TaskStore, args: CompleteArgs) -> anyhow::Result<()> {
    let go = if args.ids.len() > 1 {
        let change = format!(
            "complete {} tasks of list {} (their records are deleted)",
            args.ids.len(),
            args.list
        );
        confirm(&args.confirm, &change)?
    } else if args.confirm.dry_run {
        Go::DryRun
    } else {
        Go::Ahead
    };
    let mut out = output::stdout();
    let mut missing = 0;
    for id in &args.ids {
        // Read first, so that an id with a typo is reported rather than
        // "completed" as the no-op a delete of nothing is.
        let Some(record) = store.find_record(&args.list, id).await? else {
            eprintln!("no task {id:?} in list {:?}", args.list);
            missing += 1;
            continue;
        };
        match go {
            Go::DryRun => writeln!(out, "would complete {id} ({})", record.type_name())?,
            Go::Ahead => {
                store.delete(&args.list, id).await?;
                writeln!(out, "completed {id}")?;
            }
        }
    }
    out.flush()?;
    if missing > 0 {
        anyhow::bail!("{missing} of {} tasks not found", args.ids.len());
    }
    Ok(())
}

/// `purge LIST --status failed`.
pub async fn purge(store: &TaskStore, args: PurgeArgs) -> anyhow::Result<()> {
    needs_state(store, "purge")?;
    match args.status {
        PurgeStatus::Failed => each_failed(store, &args.list, &args.confirm, Bulk::Purge).await,
    }
}

/// What `each_failed` does to each failed task.
#[derive(Debug, Clone, Copy)]
enum Bulk {
    Retry,
    Purge,
}

impl Bulk {
    fn verb(self) -> &'static str {
        match self {
            Bulk::Retry => "retry",
            Bulk::Purge => "purge",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Bulk::Retry => "retried",
            Bulk::Purge => "purged",
        }
    }

    async fn apply(self, store: &TaskStore, list: &str, id: &str) -> taskrec::Result<bool> {
        match self {
            Bulk::Retry => store.reset(list, id).await,
            Bulk::Purge => store.purge(list, id).await,
        }
    }
}

/// Retries or purges every failed task of a list, page by page, after
/// asking; with `--dry-run`, lists them.
async fn each_failed(
    store: &TaskStore,
    list: &str,
    flags: &Confirm,
    bulk: Bulk,
) -> anyhow::Result<()> {
    let failed = store.count_by_status(list).await?.failed;
    let mut out = output::stdout();
    if failed == 0 {
        writeln!(out, "no failed tasks in list {list}")?;
        out.flush()?;
        return Ok(());
    }
    let go = confirm(
        flags,
        &format!("{} {failed} failed tasks of list {list}", bulk.verb()),
    )?;
    let bar = progress::bar(failed, bulk.done());
    let (mut seen, mut done) = (0u64, 0u64);
    let mut token = None;
    loop {
        let page = store
            .page_by_status(list, TaskStatus::Failed, token.as_ref(), PAGE)
            .await?;
        seen += page.tasks.len() as u64;
        match go {
            Go::DryRun => {
                for task in &page.tasks {
                    let what = task
                        .state
                        .as_ref()
                        .map_or("state unreadable".to_owned(), summary);
                    writeln!(out, "would {} {} ({what})", bulk.verb(), task.record.id())?;
                }
            }
            Go::Ahead => {
                done += futures::stream::iter(&page.tasks)
                    .map(|task| bulk.apply(store, list, task.record.id()))
                    .buffer_unordered(IN_FLIGHT)
                    .inspect_ok(|_| bar.inc(1))
                    .try_fold(0u64, |n, changed| async move { Ok(n + u64::from(changed)) })
                    .await?;
            }
        }
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    bar.finish_and_clear();
    match go {
        Go::DryRun => writeln!(
            out,
            "{seen} failed tasks would be {}; nothing changed",
            bulk.done()
        )?,
        Go::Ahead => {
            writeln!(out, "{} {done} failed tasks of list {list}", bulk.done())?;
            if done < seen {
                // Retried, saved again or completed by someone else between
                // the listing and the change: theirs stands.
                writeln!(out, "{} left alone: changed since listed", seen - done)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Retry and purge work on task state, which task_rb's table does not keep.
fn needs_state(store: &TaskStore, command: &str) -> anyhow::Result<()> {
    if store.keeps_state() {
        Ok(())
    } else {
        Err(usage(format!(
            "{command} needs task state, which task_rb's table does not keep"
        )))
    }
}

/// Whether a worker holds the task under a lease that has not run out.
/// `now` is the store's time (the cluster's), which leases are written in.
fn held(state: &TaskState, now: DateTime<Utc>) -> bool {
    state.status == TaskStatus::Claimed && !state.is_claimable(now)
}

fn summary(state: &TaskState) -> String {
    let mut text = format!("{}, {} attempts", status_name(state.status), state.attempts);
    if let Some(error) = &state.last_error {
        text.push_str(&format!(", last error: {}", output::cell(error, 80)));
    }
    text
}

/// Says on standard error why an id was not changed.
fn explain_not_done(
    list: &str,
    id: &str,
    state: Option<&TaskState>,
    done: &str,
    now: DateTime<Utc>,
) {
    match state {
        None => eprintln!("no task {id:?} in list {list:?}"),
        Some(state) if held(state, now) => eprintln!(
            "{id}: not {done}: claimed by {} until {} (a worker is running it)",
            state.owner.as_deref().unwrap_or("a worker"),
            state.lease_until.map(output::time).unwrap_or_default()
        ),
        Some(state) => eprintln!(
            "{id}: not {done}: it changed meanwhile ({})",
            summary(state)
        ),
    }
}
