//! One module per command; `run` picks it.

mod change;
mod count;
mod doctor;
mod export;
mod import;
mod ls;
mod pause;
mod schema;
mod show;
mod web;

use crate::args::{Cli, Command};
use crate::connect;

/// Runs the command the command line names.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let options = &cli.connection;
    match cli.command {
        // Schema commands build their own configuration: printing needs
        // no cluster, creating connects with `create_schema`.
        Command::Schema(command) => schema::run(options, command).await,
        Command::Count(args) => count::run(&connect::store(options).await?, args).await,
        Command::Ls(args) => ls::run(&connect::store(options).await?, args).await,
        Command::Show(args) => show::run(&connect::store(options).await?, args).await,
        Command::Retry(args) => change::retry(&connect::store(options).await?, args).await,
        Command::Complete(args) => change::complete(&connect::store(options).await?, args).await,
        Command::Purge(args) => change::purge(&connect::store(options).await?, args).await,
        Command::Export(args) => export::run(&connect::store(options).await?, args).await,
        Command::Import(args) => import::run(options, args).await,
        Command::Doctor(args) => doctor::run(options, args).await,
        Command::Pause(args) => pause::pause(&connect::store(options).await?, args).await,
        Command::Resume(args) => pause::resume(&connect::store(options).await?, args).await,
        Command::Web(args) => web::run(options, args).await,
    }
}
