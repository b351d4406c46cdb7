//! `taskrec`: look at, count, retry, purge, export and import the task lists
//! of taskrec (and task_rb) in Cassandra or ScyllaDB.
//!
//! `main` parses the command line, runs one command on a tokio runtime and
//! turns its outcome into an exit code: 0 done, 1 an error, 2 bad usage.

mod args;
mod commands;
mod confirm;
mod connect;
mod exit;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Clap prints its own usage errors and exits with 2.
    let cli = args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return exit::report(&anyhow::Error::new(e).context("starting tokio")),
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit::report(&e),
    }
}
