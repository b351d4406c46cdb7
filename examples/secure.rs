//! Connecting to a cluster that requires a password and TLS: the
//! credentials, the CA that signed the nodes' certificates, and optionally a
//! client certificate, then a save and a find to show the connection works.
//!
//! ```sh
//! TASKREC_CASSANDRA=10.0.0.1:9142 TASKREC_TLS_CA=certs/ca.pem \
//! TASKREC_USER=app TASKREC_PASSWORD=secret \
//!   cargo run --example secure --features cassandra-rustls
//! # with a client certificate as well:
//! TASKREC_TLS_CERT=certs/client.pem TASKREC_TLS_KEY=certs/client.key ...
//! ```
//!
//! `cassandra-rustls` needs no system library; build with `cassandra-tls`
//! instead to go through the system's OpenSSL. `tests/cassandra/secure.rs`
//! runs the same configuration against a node of its own, through each.
//!
//! Without `TASKREC_TLS_CA` the example says what it needs and exits.

use std::env;
use std::time::Duration;

use taskrec::cassandra::{CassandraAdapter, CassandraConfig, TlsConfig};
use taskrec::{Error, Task, TaskData, TaskStore};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Report {
    month: String,
}

/// The configuration from the environment; `None` without a CA file.
fn config() -> Option<CassandraConfig> {
    let ca = env::var("TASKREC_TLS_CA").ok()?;
    let address = env::var("TASKREC_CASSANDRA").unwrap_or_else(|_| "127.0.0.1:9142".into());
    let mut tls = TlsConfig::new(ca);
    if let (Ok(cert), Ok(key)) = (env::var("TASKREC_TLS_CERT"), env::var("TASKREC_TLS_KEY")) {
        tls = tls.client_certificate(cert, key);
    }
    let mut config = CassandraConfig::new([address], "taskrec_examples")
        .tls(tls)
        .connect_timeout(Duration::from_secs(10))
        .create_schema(true);
    if let (Ok(user), Ok(password)) = (env::var("TASKREC_USER"), env::var("TASKREC_PASSWORD")) {
        config = config.credentials(user, password);
    }
    Some(config)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let Some(config) = config() else {
        eprintln!(
            "set TASKREC_TLS_CA (and TASKREC_CASSANDRA, TASKREC_USER, TASKREC_PASSWORD) \
             to connect to a cluster that requires TLS and a password"
        );
        return Ok(());
    };
    // A wrong CA, password or certificate fails here, before any task is
    // written, with the driver's error as the source.
    let adapter = CassandraAdapter::connect(config).await?;
    let store = TaskStore::new(adapter);

    let task = store
        .create(
            "reports",
            Report {
                month: "2026-11".into(),
            },
        )
        .await?;
    let found: Option<Task<Report>> = store.find("reports", task.id()).await?;
    assert_eq!(found.as_ref().map(Task::data), Some(task.data()));
    println!("saved and found {} over TLS", task.key());
    store.complete(&task).await?;
    Ok(())
}
