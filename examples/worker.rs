//! A worker draining a task list: each task claimed under a lease, run,
//! completed on success, retried with backoff on failure, kept as failed
//! after the last attempt. Start several at once: they share the work and
//! never run one task together; kill one, and the others pick up its tasks
//! once its leases run out.
//!
//! ```sh
//! cargo run --example worker -- --generate 1000                     # in memory
//! cargo run --example worker --features cassandra -- --cassandra --list resize --generate 1000
//! cargo run --example worker --features cassandra -- --cassandra --list resize   # a second worker
//! ```
//!
//! Options: `--list NAME` (default `resize`), `--generate N` (save N new
//! tasks first), `--concurrency N` (8), `--lease-ms N` (5000), `--work-ms N`
//! (time each task takes, 10), `--fail-every N` (every Nth task fails its
//! first attempt, 0: none), `--broken-every N` (every Nth task fails every
//! attempt, so it is kept as failed for the CLI's `ls --status failed` and
//! `retry`; 0: none), `--max-attempts N` (3), `--cassandra` (at
//! `TASKREC_CASSANDRA`, default 127.0.0.1:9042, keyspace `taskrec_worker`;
//! needs `--features cassandra`), `--owned-parts` (with `--cassandra`: the
//! workers on a list split it into parts, `CassandraConfig::owned_parts`),
//! `--metrics-addr HOST:PORT` (serve
//! taskrec's metrics for Prometheus at `http://HOST:PORT/metrics` while it
//! works), `--linger-ms N` (after the drain, keep serving the metrics N ms
//! more, or until Ctrl-C).
//!
//! Logs go to stderr through `tracing-subscriber`, filtered by `RUST_LOG`
//! (default `warn,taskrec=info`: retries, lost leases and failures, each
//! with its task's attempt span). `RUST_LOG=taskrec=debug` adds every
//! storage call's span and each success:
//!
//! ```sh
//! cargo run --example worker -- --generate 100 --fail-every 7 --metrics-addr 127.0.0.1:9000 &
//! curl -s 127.0.0.1:9000/metrics | grep taskrec_
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use tracing_subscriber::EnvFilter;

use taskrec::adapter::StorageAdapter;
use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};

/// The work: pretend to resize an image.
#[derive(Debug, Clone, TaskData)]
struct Resize {
    image: u32,
    work_ms: u64,
    /// Fails its first attempt (to show retries).
    #[task(default)]
    flaky: bool,
    /// Fails every attempt (to show tasks kept as failed).
    #[task(default)]
    broken: bool,
}

/// The images this process has tried once: a flaky task fails its first try here.
type Tried = Mutex<HashSet<u32>>;

#[async_trait::async_trait]
impl Execute<Tried> for Resize {
    async fn execute(&self, tried: &Tried) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_millis(self.work_ms)).await;
        let first_try = tried
            .lock()
            .map(|mut t| t.insert(self.image))
            .unwrap_or(false);
        if self.broken {
            return Err(format!("image {} is corrupt", self.image).into());
        }
        if self.flaky && first_try {
            return Err(format!("image {} was busy", self.image).into());
        }
        Ok(())
    }
}

struct Options {
    list: String,
    generate: u32,
    concurrency: usize,
    lease: Duration,
    work_ms: u64,
    fail_every: u32,
    broken_every: u32,
    max_attempts: u32,
    cassandra: bool,
    owned_parts: bool,
    metrics_addr: Option<std::net::SocketAddr>,
    linger: Duration,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        list: "resize".to_owned(),
        generate: 0,
        concurrency: 8,
        lease: Duration::from_millis(5000),
        work_ms: 10,
        fail_every: 0,
        broken_every: 0,
        max_attempts: 3,
        cassandra: false,
        owned_parts: false,
        metrics_addr: None,
        linger: Duration::ZERO,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let number = |text: String, name: &str| {
            text.parse::<u64>()
                .map_err(|_| format!("{name}: not a number: {text}"))
        };
        match arg.as_str() {
            "--list" => options.list = value("--list")?,
            "--generate" => options.generate = number(value("--generate")?, "--generate")? as u32,
            "--concurrency" => {
                options.concurrency = number(value("--concurrency")?, "--concurrency")? as usize
            }
            "--lease-ms" => {
                options.lease = Duration::from_millis(number(value("--lease-ms")?, "--lease-ms")?)
            }
            "--work-ms" => options.work_ms = number(value("--work-ms")?, "--work-ms")?,
            "--fail-every" => {
                options.fail_every = number(value("--fail-every")?, "--fail-every")? as u32
            }
            "--broken-every" => {
                options.broken_every = number(value("--broken-every")?, "--broken-every")? as u32
            }
            "--max-attempts" => {
                options.max_attempts = number(value("--max-attempts")?, "--max-attempts")? as u32
            }
            "--linger-ms" => {
                options.linger =
                    Duration::from_millis(number(value("--linger-ms")?, "--linger-ms")?)
            }
            "--cassandra" => options.cassandra = true,
            "--owned-parts" => options.owned_parts = true,
            "--metrics-addr" => {
                let text = value("--metrics-addr")?;
                let addr = text
                    .parse()
                    .map_err(|_| format!("--metrics-addr: not HOST:PORT: {text}"))?;
                options.metrics_addr = Some(addr);
            }
            other => {
                return Err(format!(
                    "unknown option {other} (see the top of examples/worker.rs)"
                ))
            }
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    // Info for taskrec: attempts are info spans, so each warning of a
    // retry or a lost lease names its task; colours only on a terminal.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn,taskrec=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Some(addr) = options.metrics_addr {
        // Serves `/metrics` on the runtime until the process ends.
        // Histograms with buckets, not per-process summaries: buckets add
        // up across workers (`sum by (le)`), quantiles do not.
        PrometheusBuilder::new()
            .with_http_listener(addr)
            .set_buckets(&[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                60.0, 300.0,
            ])?
            .install()?;
        taskrec::observe::describe_metrics();
        println!("metrics at http://{addr}/metrics");
    }
    let store = TaskStore::from_dyn(adapter(options.cassandra, options.owned_parts).await?);
    let owner = format!("worker-{}", std::process::id());

    if options.generate > 0 {
        let tasks: Vec<Task<Resize>> = (0..options.generate)
            .map(|image| {
                let every = |n: u32| n > 0 && image % n == 0;
                Task::new(
                    &options.list,
                    format!("image-{image:06}"),
                    Resize {
                        image,
                        work_ms: options.work_ms,
                        flaky: every(options.fail_every),
                        broken: every(options.broken_every),
                    },
                )
            })
            .collect::<taskrec::Result<_>>()?;
        store.save_all(&tasks, 64).await?;
        println!("{owner}: saved {} tasks in `{}`", tasks.len(), options.list);
    }

    let config = WorkerConfig::new(&owner)
        .concurrency(options.concurrency)
        .lease(options.lease)
        .max_attempts(options.max_attempts);
    let worker = Worker::new(store.clone(), config);
    let stop = worker.stop_handle();
    let (interrupted_tx, mut interrupted) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping: giving back the tasks in hand");
            stop.stop();
            let _ = interrupted_tx.send(true);
        }
    });
    println!(
        "{owner}: draining `{}` ({} at once, {:?} leases)",
        options.list, options.concurrency, options.lease
    );
    let started = std::time::Instant::now();
    let report = worker
        .drain::<Resize, _>(&options.list, &Tried::default())
        .await?;
    println!(
        "{owner}: done in {:.1?}: {} succeeded, {} retried, {} failed, {} lost to other workers, {} given back; {} left in the list",
        started.elapsed(),
        report.succeeded,
        report.retried,
        report.failed,
        report.lost,
        report.released,
        store.count(&options.list).await?,
    );
    if options.metrics_addr.is_some() && !options.linger.is_zero() {
        // Metrics stay up for a scrape after the work (Ctrl-C ends it).
        let _ = tokio::time::timeout(options.linger, interrupted.wait_for(|stop| *stop)).await;
    }
    Ok(())
}

#[cfg(feature = "cassandra")]
async fn adapter(cassandra: bool, owned_parts: bool) -> taskrec::Result<Arc<dyn StorageAdapter>> {
    use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
    if !cassandra {
        return Ok(Arc::new(MemoryAdapter::new()));
    }
    let address =
        std::env::var("TASKREC_CASSANDRA").unwrap_or_else(|_| "127.0.0.1:9042".to_owned());
    let config = CassandraConfig::new([address], "taskrec_worker")
        .create_schema(true)
        .owned_parts(owned_parts);
    Ok(Arc::new(CassandraAdapter::connect(config).await?))
}

#[cfg(not(feature = "cassandra"))]
async fn adapter(cassandra: bool, _owned_parts: bool) -> taskrec::Result<Arc<dyn StorageAdapter>> {
    if cassandra {
        eprintln!("--cassandra needs the `cassandra` feature: cargo run --example worker --features cassandra -- --cassandra");
        std::process::exit(2);
    }
    Ok(Arc::new(MemoryAdapter::new()))
}
