//! A Cassandra node (or cluster) of a test's own, for tests that kill,
//! restart or reconfigure their server: started with the project's scripts
//! beside the shared test server, one at a time, and stopped when the test
//! ends (also when it fails).
//!
//! Where: node K on `127.0.0.(K + TASKREC_OWN_NODE_OFFSET)` (default offset
//! 30: 127.0.0.31, .32, ...), state in `TASKREC_OWN_NODE_DIR` (default
//! `<repo>/.cassandra/own-node`), heap `TASKREC_OWN_NODE_HEAP` (default
//! 512M). The CQL port is 9042, as for every node of the scripts.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, MutexGuard};

/// One own node at a time: they share an address.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

pub struct OwnNode {
    nodes: u32,
    dir: PathBuf,
    offset: u32,
    env: Vec<(String, String)>,
    _turn: MutexGuard<'static, ()>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl OwnNode {
    /// Starts a fresh one-node cluster with extra environment for the
    /// scripts (`CASSANDRA_AUTH`, `CASSANDRA_TLS_DIR`, ...), waiting for it.
    pub async fn start(env: &[(&str, &str)]) -> OwnNode {
        Self::start_cluster(1, env).await
    }

    /// Starts a fresh cluster of `nodes` nodes, waiting until every node
    /// answers and sees the others.
    pub async fn start_cluster(nodes: u32, env: &[(&str, &str)]) -> OwnNode {
        let turn = ONE_AT_A_TIME.lock().await;
        let offset = std::env::var("TASKREC_OWN_NODE_OFFSET")
            .ok()
            .map(|v| v.parse().expect("TASKREC_OWN_NODE_OFFSET is a number"))
            .unwrap_or(30);
        let dir = std::env::var_os("TASKREC_OWN_NODE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join(".cassandra/own-node"));
        let node = OwnNode {
            nodes,
            dir,
            offset,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            _turn: turn,
        };
        let n = nodes.to_string();
        node.script("cassandra-start", &["--nodes", &n, "--fresh"])
            .await;
        node
    }

    /// `host:port` of node 1.
    pub fn address(&self) -> String {
        self.address_of(1)
    }

    /// `host:port` of node `k`.
    pub fn address_of(&self, k: u32) -> String {
        assert!((1..=self.nodes).contains(&k));
        format!("127.0.0.{}:9042", k + self.offset)
    }

    /// Node `k`'s log (INFO and up), as the scripts write it.
    pub fn log_of(&self, k: u32) -> PathBuf {
        assert!((1..=self.nodes).contains(&k));
        self.dir.join(format!("node{k}/logs/system.log"))
    }

    /// kill -9 of every node: no flush, no goodbye to clients.
    pub async fn kill(&self) {
        self.script("cassandra-stop", &["--kill"]).await;
    }

    /// kill -9 of node `k` only.
    pub async fn kill_node(&self, k: u32) {
        self.script("cassandra-stop", &["--kill", "--node", &k.to_string()])
            .await;
    }

    /// Starts node 1 again on its data, waiting until it answers.
    pub async fn restart(&self) -> Duration {
        self.restart_node(1).await
    }

    /// Starts node `k` again on its data, waiting until it answers and its
    /// peers see it up.
    pub async fn restart_node(&self, k: u32) -> Duration {
        let started = Instant::now();
        self.script("cassandra-start", &["--node", &k.to_string()])
            .await;
        started.elapsed()
    }

    fn command(&self, script: &str, args: &[&str]) -> Command {
        let mut command = Command::new(repo().join("scripts").join(script));
        command
            .args(args)
            .arg("--dir")
            .arg(&self.dir)
            .env("CASSANDRA_IP_OFFSET", self.offset.to_string())
            .env(
                "CASSANDRA_HEAP",
                std::env::var("TASKREC_OWN_NODE_HEAP").unwrap_or_else(|_| "512M".to_owned()),
            );
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command
    }

    async fn script(&self, script: &str, args: &[&str]) {
        let mut command = self.command(script, args);
        let what = format!("{script} {}", args.join(" "));
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the script's thread")
            .unwrap_or_else(|e| panic!("running scripts/{what}: {e}"));
        assert!(
            output.status.success(),
            "scripts/{what} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for OwnNode {
    fn drop(&mut self) {
        // A hard stop: the data is thrown away by the next --fresh start.
        let _ = self
            .command("cassandra-stop", &["--kill"])
            .stdout(std::process::Stdio::null())
            .status();
    }
}
