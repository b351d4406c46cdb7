//! `count LIST [--by-status [--max-age AGE | --exact]]`.

use std::io::Write;
use std::time::Duration;

use serde_json::json;
use taskrec::{StatusCounts, TaskStore, DEFAULT_COUNT_EVERY};

use crate::args::{CountArgs, Format};
use crate::output;

/// Prints how many tasks the list holds, in all or by state.
pub async fn run(store: &TaskStore, args: CountArgs) -> anyhow::Result<()> {
    let mut out = output::stdout();
    if args.by_status {
        let kept = match (args.exact, args.max_age) {
            (true, _) => store.recount(&args.list).await?,
            (false, Some(max_age)) => store.counts(&args.list, max_age).await?,
            // As a worker judges them: a long list's count is not
            // repeated more than every ten times as long as it takes.
            (false, None) => match store.kept_counts(&args.list).await? {
                Some(kept) if !kept.due(store.now().await?, DEFAULT_COUNT_EVERY) => kept,
                _ => store.recount(&args.list).await?,
            },
        };
        let counts = &kept.counts;
        let age = kept.age(store.now().await?);
        match args.format {
            Format::Text => {
                write_counts(&mut out, counts)?;
                // Apart from the figures, for a person: how old they are.
                eprintln!(
                    "counted {} ago by {}, in {} ms",
                    seconds(age),
                    kept.counted_by,
                    kept.took.as_millis()
                );
            }
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
                    "oldest_pending": kept.oldest_pending.map(|at| at.to_rfc3339()),
                    "counted_at": kept.counted_at.to_rfc3339(),
                    "counted_age_seconds": age.as_secs_f64(),
                    "counted_by": kept.counted_by,
                    "count_took_ms": kept.took.as_millis() as u64,
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

/// `1.2 s`.
fn seconds(age: Duration) -> String {
    format!("{:.1} s", age.as_secs_f64())
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
