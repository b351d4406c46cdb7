//! Asking before a change of many tasks, and what `--yes` and `--dry-run`
//! do to that.

use std::io::{self, BufRead, IsTerminal, Write};

use crate::args::Confirm;
use crate::exit::usage;

/// What to do after asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Go {
    /// Make the change.
    Ahead,
    /// Only say what would change.
    DryRun,
}

/// Whether to go ahead with `change` (such as "retry 12 failed tasks of
/// list emails"): `--dry-run` and `--yes` answer without asking; otherwise
/// the person at the terminal is asked. With no terminal to ask on, it is
/// bad usage (exit 2): a script must say `--yes` to change many tasks.
/// A "no" is an error: nothing was done of what the command line asked.
pub fn confirm(flags: &Confirm, change: &str) -> anyhow::Result<Go> {
    if flags.dry_run {
        return Ok(Go::DryRun);
    }
    if flags.yes {
        return Ok(Go::Ahead);
    }
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        return Err(usage(format!(
            "not asking whether to {change}: standard input is not a terminal; \
             pass --yes to go ahead, or --dry-run to see what would change"
        )));
    }
    eprint!("{change}? [y/N] ");
    io::stderr().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(Go::Ahead)
    } else {
        anyhow::bail!("not confirmed; nothing changed")
    }
}
