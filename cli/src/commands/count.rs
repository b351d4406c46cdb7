//! `count LIST [--by-status]`.

use std::io::Write;

use serde_json::json;
use taskrec::{StatusCounts, TaskStore};

use crate::args::{CountArgs, Format};
use crate::output;

/// Prints how many tasks the list holds, in all or by state.
pub async fn run(store: &TaskStore, args: CountArgs) -> anyhow::Result<()> {
    let mut out = output::stdout();
    if args.by_status {
        let counts = store.count_by_status(&args.list).await?;
        match args.format {
            Format::Text => write_counts(&mut out, &counts)?,
            Format::Json => writeln!(
                out,
                "{}",
                json!({
                    "task_list": args.list,
                    "total": counts.total(),
                    "pending": counts.pending,
                    "scheduled": counts.scheduled,
                    "claimed": counts.claimed,
                    "succeeded": counts.succeeded,
                    "failed": counts.failed,
                    "unknown": counts.unknown,
                })
            )?,
        }
    } else {
        let total = store.count(&args.list).await?;
        match args.format {
            Format::Text => writeln!(out, "{total}")?,
            Format::Json => writeln!(out, "{}", json!({ "task_list": args.list, "total": total }))?,
        }
    }
    out.flush()?;
    Ok(())
}

fn write_counts(out: &mut impl Write, counts: &StatusCounts) -> std::io::Result<()> {
    let mut table = output::Table::new(vec!["STATE", "TASKS"]);
    for (name, n) in [
        ("pending", counts.pending),
        ("scheduled", counts.scheduled),
        ("claimed", counts.claimed),
        ("succeeded", counts.succeeded),
        ("failed", counts.failed),
        ("unknown", counts.unknown),
        ("total", counts.total()),
    ] {
        table.push(vec![name.to_owned(), n.to_string()]);
    }
    table.flush(out, true)
}
