//! `ls LIST [--state S] [--limit N] [--format table|json|jsonl]`.
//!
//! Streamed a page at a time whatever the format: a listing of a million
//! tasks holds one page in memory.

use std::io::Write;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use taskrec::{TaskRecord, TaskState, TaskStatus, TaskStore};

use crate::args::{ListFormat, LsArgs, Status};
use crate::exit::usage;
use crate::output::{self, TaskView};

/// Tasks read (and table rows aligned) at a time.
const PAGE: usize = 200;

/// State reads in flight when listing every task with its state.
const STATE_READS: usize = 32;

/// Prints the list's tasks, or those in one state.
pub async fn run(store: &TaskStore, args: LsArgs) -> anyhow::Result<()> {
    let has_state = store.keeps_state();
    let mut out = output::stdout();
    let mut printer = Printer::new(args.format, has_state);
    let limit = args.limit.unwrap_or(u64::MAX);
    // Whether a task is still scheduled, by the store's clock.
    let now = if has_state {
        store.now().await?
    } else {
        DateTime::<Utc>::MIN_UTC
    };
    match args.status {
        Some(_) if !has_state => {
            return Err(usage(
                "--status needs task state, which task_rb's table does not keep",
            ))
        }
        Some(wanted) => {
            let status = status(wanted);
            let mut left = limit;
            let mut token = None;
            while left > 0 {
                let size = usize::try_from(left).unwrap_or(PAGE).min(PAGE);
                let page = store
                    .page_by_status(&args.list, status, token.as_ref(), size)
                    .await?;
                for task in page.tasks.into_iter().take(size) {
                    let state = listed(task.state, now);
                    printer.task(&mut out, &task.record, Some(&state))?;
                    left -= 1;
                }
                match page.next {
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
        }
        None => {
            let mut pages = store
                .records(&args.list)
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .try_chunks(PAGE);
            while let Some(records) = pages.try_next().await.map_err(|e| e.1)? {
                if has_state {
                    for (record, state) in states(store, &args.list, records).await? {
                        printer.task(&mut out, &record, Some(&listed(state, now)))?;
                    }
                } else {
                    for record in &records {
                        printer.task(&mut out, record, None)?;
                    }
                }
            }
        }
    }
    printer.finish(&mut out)?;
    out.flush()?;
    Ok(())
}

fn status(wanted: Status) -> TaskStatus {
    match wanted {
        Status::Pending => TaskStatus::Pending,
        Status::Scheduled => TaskStatus::Scheduled,
        Status::Claimed => TaskStatus::Claimed,
        Status::Succeeded => TaskStatus::Succeeded,
        Status::Failed => TaskStatus::Failed,
    }
}

/// The state of a listed task, its status as listed at `now` (a task
/// waiting for its scheduled time is `scheduled`); one that cannot be read
/// (written by a newer taskrec, or damaged) shows as unknown rather than
/// ending the listing.
fn listed(state: taskrec::Result<TaskState>, now: DateTime<Utc>) -> TaskState {
    match state {
        Ok(state) => TaskState {
            status: state.status_at(now),
            ..state
        },
        Err(_) => TaskState {
            status: TaskStatus::Unknown,
            ..TaskState::pending()
        },
    }
}

/// Each record of a page with its state (one that cannot be read as an
/// error), in its order; a task completed since the page was read is left
/// out.
async fn states(
    store: &TaskStore,
    list: &str,
    records: Vec<TaskRecord>,
) -> anyhow::Result<Vec<(TaskRecord, taskrec::Result<TaskState>)>> {
    let states: Vec<Option<(TaskRecord, taskrec::Result<TaskState>)>> =
        futures::stream::iter(records)
            .map(|record| async move {
                match store.state(list, record.id()).await {
                    Ok(Some(state)) => Ok(Some((record, Ok(state)))),
                    Ok(None) => Ok(None),
                    Err(e @ taskrec::Error::InvalidData { .. }) => Ok(Some((record, Err(e)))),
                    Err(e) => Err(e),
                }
            })
            .buffered(STATE_READS)
            .try_collect()
            .await?;
    Ok(states.into_iter().flatten().collect())
}

/// Writes tasks in the chosen format as they come.
struct Printer {
    format: ListFormat,
    table: output::Table,
    with_state: bool,
    printed: u64,
    header_done: bool,
}

impl Printer {
    fn new(format: ListFormat, with_state: bool) -> Self {
        let header = if with_state {
            vec!["ID", "TYPE", "STATUS", "ATTEMPTS", "LAST_ERROR"]
        } else {
            vec!["ID", "TYPE", "CREATED_AT", "UPDATED_AT"]
        };
        Printer {
            format,
            table: output::Table::new(header),
            with_state,
            printed: 0,
            header_done: false,
        }
    }

    fn task(
        &mut self,
        out: &mut impl Write,
        record: &TaskRecord,
        state: Option<&TaskState>,
    ) -> anyhow::Result<()> {
        match self.format {
            ListFormat::Table => {
                let row = match (self.with_state, state) {
                    (true, Some(state)) => vec![
                        record.id().to_owned(),
                        record.type_name().to_owned(),
                        output::status_name(state.status).to_owned(),
                        state.attempts.to_string(),
                        output::cell(state.last_error.as_deref().unwrap_or_default(), 80),
                    ],
                    _ => vec![
                        record.id().to_owned(),
                        record.type_name().to_owned(),
                        output::time(record.created_at()),
                        output::time(record.updated_at()),
                    ],
                };
                self.table.push(row);
                if self.printed % PAGE as u64 == PAGE as u64 - 1 {
                    self.flush_table(out)?;
                }
            }
            ListFormat::Json => {
                let separator = if self.printed == 0 { "[\n" } else { ",\n" };
                write!(out, "{separator}")?;
                serde_json::to_writer(&mut *out, &TaskView::new(record, state))?;
            }
            ListFormat::Jsonl => {
                serde_json::to_writer(&mut *out, &TaskView::new(record, state))?;
                writeln!(out)?;
            }
        }
        self.printed += 1;
        Ok(())
    }

    fn flush_table(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        self.table.flush(out, !self.header_done)?;
        self.header_done = true;
        Ok(())
    }

    /// Closes the output: the table's last rows (or its header alone, for
    /// an empty listing), the JSON array's bracket.
    fn finish(&mut self, out: &mut impl Write) -> anyhow::Result<()> {
        match self.format {
            ListFormat::Table if !self.table.is_empty() || !self.header_done => {
                self.flush_table(out)?
            }
            ListFormat::Json if self.printed == 0 => writeln!(out, "[]")?,
            ListFormat::Json => writeln!(out, "\n]")?,
            ListFormat::Table | ListFormat::Jsonl => {}
        }
        Ok(())
    }
}
