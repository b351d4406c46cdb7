//! `show LIST ID`: one task whole.

use std::io::Write;

use taskrec::{StateChange, TaskRecord, TaskState, TaskStore};

use crate::args::{Format, ShowArgs};
use crate::output::{self, DetailsView, TaskView};

/// Prints the task's record, state and history; an error when it is absent.
pub async fn run(store: &TaskStore, args: ShowArgs) -> anyhow::Result<()> {
    let (record, state, history) = if store.keeps_state() {
        match store.show(&args.list, &args.id).await? {
            Some(details) => {
                // Listed as `ls` lists it: a task waiting for its time is scheduled.
                let now = store.now().await?;
                let state = TaskState {
                    status: details.state.status_at(now),
                    ..details.state
                };
                (details.record, Some(state), details.history)
            }
            None => absent(&args)?,
        }
    } else {
        // task_rb's table: a record, no state, no changes to remember.
        match store.find_record(&args.list, &args.id).await? {
            Some(record) => (record, None, Vec::new()),
            None => absent(&args)?,
        }
    };
    let mut out = output::stdout();
    match args.format {
        Format::Json => {
            let view = DetailsView::new(TaskView::new(&record, state.as_ref()), &history);
            serde_json::to_writer(&mut out, &view)?;
            writeln!(out)?;
        }
        Format::Text => write_text(&mut out, &record, state.as_ref(), &history)?,
    }
    out.flush()?;
    Ok(())
}

fn absent<T>(args: &ShowArgs) -> anyhow::Result<T> {
    anyhow::bail!("no task {:?} in list {:?}", args.id, args.list)
}

fn write_text(
    out: &mut impl Write,
    record: &TaskRecord,
    state: Option<&TaskState>,
    history: &[StateChange],
) -> std::io::Result<()> {
    let mut fields = vec![
        ("task_list", record.task_list().to_owned()),
        ("id", record.id().to_owned()),
        ("type", record.type_name().to_owned()),
        ("created_at", output::time(record.created_at())),
        ("updated_at", output::time(record.updated_at())),
    ];
    if let Some(state) = state {
        fields.push(("status", output::status_name(state.status).to_owned()));
        fields.push(("attempts", state.attempts.to_string()));
        let optional = [
            ("owner", state.owner.clone()),
            ("lease_until", state.lease_until.map(output::time)),
            ("not_before", state.not_before.map(output::time)),
            ("last_error", state.last_error.clone()),
            ("result", state.result.as_ref().map(|r| r.to_string())),
            ("changed_at", state.changed_at.map(output::time)),
        ];
        fields.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
    }
    fields.push(("data", record.data().to_owned()));
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in &fields {
        // Multi-line values (an error's backtrace) stay readable: later
        // lines are indented under the first.
        let value = value.replace('\n', &format!("\n{:width$}  ", ""));
        writeln!(out, "{key:width$}  {value}")?;
    }
    if !history.is_empty() {
        writeln!(out, "\nhistory (oldest first):")?;
        for change in history {
            let state = &change.state;
            let mut line = format!(
                "  {}  {:<9}  attempts {}",
                output::time(change.at),
                output::status_name(state.status),
                state.attempts
            );
            if let Some(owner) = &state.owner {
                line.push_str(&format!("  owner {owner}"));
            }
            if let Some(error) = &state.last_error {
                line.push_str(&format!("  error: {}", output::cell(error, 100)));
            }
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}
