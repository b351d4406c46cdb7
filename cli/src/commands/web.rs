//! `web`: the dashboard (`taskrec-web`) over the configured table, served
//! until Ctrl-C.

use anyhow::Context;
use taskrec_web::Dashboard;

use crate::args::{Connection, WebArgs};
use crate::connect;

/// The environment variable holding the token changes need: never a
/// flag, which other users of the machine could read in the process list.
const TOKEN_VARIABLE: &str = "TASKREC_WEB_TOKEN";

pub async fn run(options: &Connection, args: WebArgs) -> anyhow::Result<()> {
    // The dashboard's audit lines (who changed what) and warnings, on
    // standard error; RUST_LOG overrides.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("taskrec_web=info,taskrec=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let store = connect::store(options).await?;
    let token = std::env::var(TOKEN_VARIABLE).ok().filter(|t| !t.is_empty());
    let changes = token.is_some() && !args.read_only;
    let mut dashboard = Dashboard::new(store)
        .lists(args.lists.iter().cloned())
        .read_only(args.read_only);
    if let Some(token) = token {
        dashboard = dashboard.token(token);
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr().context("the address listened on")?;
    if !address.ip().is_loopback() {
        tracing::warn!(%address, "the dashboard listens beyond this machine: anyone who reaches it reads the task lists");
    }
    let mode = match changes {
        true => "changes need the token in TASKREC_WEB_TOKEN",
        false => "read-only: set TASKREC_WEB_TOKEN to allow changes",
    };
    eprintln!("taskrec dashboard at http://{address}/ ({mode}); Ctrl-C stops it");
    axum::serve(listener, dashboard.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving the dashboard")
}
