//! From the connection options to a [`CassandraConfig`], and to a store.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use taskrec::cassandra::{
    schema_statements, CassandraAdapter, CassandraConfig, Consistency, Replication,
    SerialConsistency, TableLayout,
};
use taskrec::TaskStore;

use crate::args::{Connection, ConsistencyLevel, Layout, SerialLevel};
use crate::exit::usage;

/// The configuration the options describe, checked as far as it can be
/// without a cluster (names, bucket count): what is wrong there is bad
/// usage, not a failure of the cluster.
pub fn config(options: &Connection) -> anyhow::Result<CassandraConfig> {
    let Some(keyspace) = options.keyspace.as_deref() else {
        return Err(usage(
            "no keyspace: pass --keyspace or set TASKREC_KEYSPACE",
        ));
    };
    let nodes: Vec<&str> = options
        .nodes
        .iter()
        .map(|node| node.trim())
        .filter(|node| !node.is_empty())
        .collect();
    let layout = match options.layout {
        Layout::Taskrec => TableLayout::Taskrec {
            shards: options.shards,
        },
        Layout::TaskRb if options.shards.is_some() => {
            return Err(usage(
                "--shards is for taskrec's table; task_rb's keeps a list in one partition",
            ))
        }
        Layout::TaskRb => TableLayout::TaskRb,
    };
    let consistency = consistency(options.consistency);
    let mut config = CassandraConfig::new(nodes, keyspace)
        .table(options.table.as_str())
        .layout(layout)
        .read_consistency(consistency)
        .write_consistency(consistency)
        .serial_consistency(match options.serial_consistency {
            SerialLevel::Serial => SerialConsistency::Serial,
            SerialLevel::LocalSerial => SerialConsistency::LocalSerial,
        })
        .request_timeout(Duration::from_secs(options.timeout.max(1)))
        .ready_index(!options.no_ready_index);
    if let Some(history) = &options.history_table {
        config = config.history_table(history.as_str());
    }
    config = with_credentials(config)?;
    config = with_tls(config, options)?;
    // The statements are built from the names: building them checks every
    // name and the bucket count, without a cluster.
    schema_statements(&config).map_err(|e| usage(e.to_string()))?;
    Ok(config)
}

/// Connects to the table `config` describes (which must exist, unless the
/// config asks for the schema to be created).
pub async fn adapter(
    options: &Connection,
    config: CassandraConfig,
) -> anyhow::Result<CassandraAdapter> {
    CassandraAdapter::connect(config).await.with_context(|| {
        format!(
            "connecting to Cassandra at {} (keyspace {}, table {})",
            options.nodes.join(","),
            options.keyspace.as_deref().unwrap_or_default(),
            options.table
        )
    })
}

/// A store over the configured table. It records the state changes it
/// makes (a retry) in each task's history, whatever the application's own
/// store keeps: `show` then tells what an operator did and when.
pub async fn store(options: &Connection) -> anyhow::Result<TaskStore> {
    let adapter = adapter(options, config(options)?).await?;
    Ok(TaskStore::from_dyn(Arc::new(adapter)).with_history_everywhere())
}

/// The keyspace's replication from `--replication`: `3`, or `dc1:3,dc2:2`.
pub fn replication(spec: &str) -> anyhow::Result<Replication> {
    let spec = spec.trim();
    if let Ok(factor) = spec.parse::<u32>() {
        return Ok(Replication::Simple(factor));
    }
    let mut per_dc = Vec::new();
    for pair in spec.split(',') {
        let parsed = pair
            .split_once(':')
            .and_then(|(dc, n)| Some((dc.trim().to_owned(), n.trim().parse::<u32>().ok()?)));
        match parsed {
            Some((dc, n)) if !dc.is_empty() => per_dc.push((dc, n)),
            _ => {
                return Err(usage(format!(
                    "--replication {spec:?}: expected a replica count such as 3, \
                     or DC:COUNT pairs such as dc1:3,dc2:2 (bad part: {pair:?})"
                )))
            }
        }
    }
    Ok(Replication::NetworkTopology(per_dc))
}

fn consistency(level: ConsistencyLevel) -> Consistency {
    match level {
        ConsistencyLevel::Any => Consistency::Any,
        ConsistencyLevel::One => Consistency::One,
        ConsistencyLevel::Two => Consistency::Two,
        ConsistencyLevel::Three => Consistency::Three,
        ConsistencyLevel::Quorum => Consistency::Quorum,
        ConsistencyLevel::All => Consistency::All,
        ConsistencyLevel::LocalQuorum => Consistency::LocalQuorum,
        ConsistencyLevel::EachQuorum => Consistency::EachQuorum,
        ConsistencyLevel::LocalOne => Consistency::LocalOne,
    }
}

/// Credentials from the environment only: a password given as an option
/// would show in every process listing.
fn with_credentials(config: CassandraConfig) -> anyhow::Result<CassandraConfig> {
    let user = std::env::var("TASKREC_USERNAME")
        .ok()
        .filter(|v| !v.is_empty());
    let password = std::env::var("TASKREC_PASSWORD").ok();
    match (user, password) {
        (Some(user), Some(password)) => Ok(config.credentials(user, password)),
        (None, None) => Ok(config),
        (Some(_), None) => Err(usage("TASKREC_USERNAME is set but TASKREC_PASSWORD is not")),
        (None, Some(_)) => Err(usage("TASKREC_PASSWORD is set but TASKREC_USERNAME is not")),
    }
}

/// TLS through the library's default backend: rustls, or OpenSSL in a build
/// with the `openssl` feature (built in only by someone who asked for it).
#[cfg(any(feature = "rustls", feature = "openssl"))]
fn with_tls(config: CassandraConfig, options: &Connection) -> anyhow::Result<CassandraConfig> {
    use taskrec::cassandra::TlsConfig;
    match (&options.tls_ca, &options.tls_cert, &options.tls_key) {
        (None, None, None) => Ok(config),
        (None, _, _) => Err(usage("--tls-cert and --tls-key need --tls-ca")),
        (Some(ca), Some(cert), Some(key)) => {
            Ok(config.tls(TlsConfig::new(ca).client_certificate(cert, key)))
        }
        (Some(ca), _, _) => Ok(config.tls(TlsConfig::new(ca))),
    }
}

#[cfg(not(any(feature = "rustls", feature = "openssl")))]
fn with_tls(config: CassandraConfig, options: &Connection) -> anyhow::Result<CassandraConfig> {
    if options.tls_ca.is_some() || options.tls_cert.is_some() || options.tls_key.is_some() {
        return Err(usage(
            "this taskrec was built without TLS: install it with its default \
             features, `cargo install --path cli` (rustls), or with `--features openssl`",
        ));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_specs() {
        assert_eq!(replication("3").unwrap(), Replication::Simple(3));
        assert_eq!(
            replication("dc1:3, dc2:2").unwrap(),
            Replication::NetworkTopology(vec![("dc1".into(), 3), ("dc2".into(), 2)])
        );
        for bad in ["", "dc1", "dc1:x", ":3", "dc1:3,"] {
            assert!(replication(bad).is_err(), "{bad:?}");
        }
    }
}
