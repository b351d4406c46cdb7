//! `pause LIST` and `resume LIST`: the stop sign for a list's workers.

use std::io::Write;

use taskrec::TaskStore;

use crate::args::{PauseArgs, ResumeArgs};
use crate::output;

/// Pauses the list: every worker stops taking its tasks within one idle
/// poll; tasks already running finish.
pub async fn pause(store: &TaskStore, args: PauseArgs) -> anyhow::Result<()> {
    let by = match args.by {
        Some(by) => by,
        None => who_runs_this(),
    };
    store.pause(&args.list, &by).await?;
    let mut out = output::stdout();
    writeln!(out, "paused {} (by {by})", args.list)?;
    out.flush()?;
    Ok(())
}

/// Resumes the list: workers take its tasks again within one idle poll.
pub async fn resume(store: &TaskStore, args: ResumeArgs) -> anyhow::Result<()> {
    let was = store.pause_state(&args.list).await?;
    store.resume(&args.list).await?;
    let mut out = output::stdout();
    match was {
        Some(pause) => writeln!(
            out,
            "resumed {} (paused since {} by {})",
            args.list,
            pause
                .since
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            pause.by
        )?,
        None => writeln!(out, "resumed {} (it was not paused)", args.list)?,
    }
    out.flush()?;
    Ok(())
}

/// The name a pause is kept under when `--by` is not given: the login
/// name, as an operator would sign it.
fn who_runs_this() -> String {
    std::env::var("USER")
        .ok()
        .filter(|user| !user.is_empty())
        .map_or_else(|| "taskrec".to_owned(), |user| format!("{user} (taskrec)"))
}
