//! What the commands print: the JSON objects scripts read (their fields
//! are the stable interface `--help` documents), aligned tables for people,
//! and standard output itself.

use std::io::{self, BufWriter, Stdout, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use taskrec::{StateChange, TaskRecord, TaskState, TaskStatus};

/// Standard output, buffered: listings write many small lines.
pub fn stdout() -> BufWriter<Stdout> {
    BufWriter::new(io::stdout())
}

/// A time as every output gives it: RFC 3339, UTC, milliseconds.
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A status as stored and as `--status` takes it.
pub fn status_name(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Pending => "pending",
        TaskStatus::Scheduled => "scheduled",
        TaskStatus::Claimed => "claimed",
        TaskStatus::Succeeded => "succeeded",
        TaskStatus::Failed => "failed",
        // `TaskStatus` may gain statuses; whatever this build cannot name
        // is unknown to it.
        _ => "unknown",
    }
}

/// One task as `ls` and `show` give it in JSON.
#[derive(Debug, Serialize)]
pub struct TaskView<'a> {
    task_list: &'a str,
    id: &'a str,
    #[serde(rename = "type")]
    type_name: &'a str,
    data: Data<'a>,
    created_at: String,
    updated_at: String,
    /// `None` where the table keeps no state (task_rb's).
    state: Option<StateView<'a>>,
}

impl<'a> TaskView<'a> {
    /// The view of a record and, where the table keeps one, its state.
    pub fn new(record: &'a TaskRecord, state: Option<&'a TaskState>) -> Self {
        TaskView {
            task_list: record.task_list(),
            id: record.id(),
            type_name: record.type_name(),
            data: Data::of(record.data()),
            created_at: time(record.created_at()),
            updated_at: time(record.updated_at()),
            state: state.map(StateView::new),
        }
    }
}

/// A task's data: its JSON as stored, key order kept; the text itself when
/// what is stored is not JSON (a record another program wrote badly), so
/// that it can still be looked at.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Data<'a> {
    Json(&'a RawValue),
    Text(&'a str),
}

impl<'a> Data<'a> {
    fn of(text: &'a str) -> Self {
        serde_json::from_str(text).map_or(Data::Text(text), Data::Json)
    }
}

/// A task state with every field present (null when unset), so scripts
/// need not guess which keys exist.
#[derive(Debug, Serialize)]
pub struct StateView<'a> {
    status: &'static str,
    attempts: u32,
    last_error: Option<&'a str>,
    owner: Option<&'a str>,
    lease_until: Option<String>,
    not_before: Option<String>,
    changed_at: Option<String>,
    result: Option<&'a serde_json::Value>,
}

impl<'a> StateView<'a> {
    /// The view of a state.
    pub fn new(state: &'a TaskState) -> Self {
        StateView {
            status: status_name(state.status),
            attempts: state.attempts,
            last_error: state.last_error.as_deref(),
            owner: state.owner.as_deref(),
            lease_until: state.lease_until.map(time),
            not_before: state.not_before.map(time),
            changed_at: state.changed_at.map(time),
            result: state.result.as_ref(),
        }
    }
}

/// One task with its history, as `show --format json` gives it.
#[derive(Debug, Serialize)]
pub struct DetailsView<'a> {
    #[serde(flatten)]
    task: TaskView<'a>,
    history: Vec<ChangeView<'a>>,
}

impl<'a> DetailsView<'a> {
    /// The view of a task and its history, oldest first.
    pub fn new(task: TaskView<'a>, history: &'a [StateChange]) -> Self {
        DetailsView {
            task,
            history: history
                .iter()
                .map(|change| ChangeView {
                    at: time(change.at),
                    state: StateView::new(&change.state),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
struct ChangeView<'a> {
    at: String,
    state: StateView<'a>,
}

/// Text cut to one line of at most `max` characters, for a table cell.
pub fn cell(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    let cut = line.chars().count() > max || line.len() < text.trim_end().len();
    if !cut {
        return line.to_owned();
    }
    let mut short: String = line.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// Rows printed in aligned columns, each as wide as its widest cell.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column names.
    pub fn new(header: Vec<&'static str>) -> Self {
        Table {
            header,
            rows: Vec::new(),
        }
    }

    /// Adds a row (as many cells as columns).
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the header (when asked) and the rows, and empties the table,
    /// so that a long listing goes out a block at a time.
    pub fn flush(&mut self, out: &mut impl Write, with_header: bool) -> io::Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (width, value) in widths.iter_mut().zip(row) {
                *width = (*width).max(value.chars().count());
            }
        }
        if with_header {
            let header: Vec<String> = self.header.iter().map(|h| (*h).to_owned()).collect();
            write_row(out, &widths, &header)?;
        }
        for row in self.rows.drain(..) {
            write_row(out, &widths, &row)?;
        }
        Ok(())
    }
}

fn write_row(out: &mut impl Write, widths: &[usize], row: &[String]) -> io::Result<()> {
    let last = row.len().saturating_sub(1);
    let mut line = String::new();
    for (i, (value, width)) in row.iter().zip(widths).enumerate() {
        line.push_str(value);
        if i < last {
            let pad = width.saturating_sub(value.chars().count()) + 2;
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    // An empty last cell leaves the padding of the one before it.
    writeln!(out, "{}", line.trim_end())
}
