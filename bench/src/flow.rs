//! The `flow` workload: tasks flowing through one list, as in production.
//! Producers in the measuring process save new tasks (`Task::build`, then
//! `TaskStore::save`) while worker processes of their own (`taskrec-bench
//! flow-worker`, [`DEFAULT_WORKERS`] of them) serve the list with a handler
//! that does nothing. What is measured is the pace of the whole path a task
//! takes: its save, its hand-out, its claim and its completion.
//!
//! The producers keep the backlog bounded ([`backlog_bound`]): a flow is a
//! steady state, and saving faster than the workers run would only fill the
//! list and leave the rest of the run to drain it. So the rate is what the
//! list sustains with both sides at work, and the latency from save to run
//! is a queue's, not an ever-growing backlog's.
//!
//! Every worker reports each task it ran (its id and when the run started),
//! so the row also says how many tasks ran twice (none, without failures)
//! and fails if a saved task never ran.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use taskrec::cassandra::CassandraAdapter;
use taskrec::{Task, TaskStore, Worker, WorkerConfig};

use crate::args::Args;
use crate::child::Job;
use crate::cql;
use crate::measure::{cpu_micros, histogram, peak_rss_kib, record, Outcome};
use crate::payload::{self, FetchFile};

/// Worker processes serving the list (`--flow-workers`).
pub const DEFAULT_WORKERS: usize = 2;
/// Seconds of the measured window (`--flow-secs`).
pub const DEFAULT_SECS: u64 = 60;
/// How long the workers get to run what is left after the window, and the
/// last completions to clear the list: with the backlog bounded, seconds.
const TAIL_LIMIT: Duration = Duration::from_secs(180);
/// How long a worker told to stop gets to finish and report.
const STOP_LIMIT: Duration = Duration::from_secs(60);
/// How often a worker says how many tasks it has run so far.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A taskrec error with its causes.
fn chain(e: taskrec::Error) -> String {
    crate::error_chain(&e)
}

/// About the most tasks saved and not yet run the producers allow (each
/// may be one save past it): twice what the workers run at once, and at
/// least 100 (more than the workers' runs in one progress report), so that
/// no worker waits for work.
///
/// The producers keep the list that full, so the wait from save to run is
/// about this bound over the rate (Little's law): it says how long the
/// bench's own queue takes to pass, not what a task waits on a list that
/// keeps up. The row's figure to compare is its rate.
pub fn backlog_bound(concurrency: usize, workers: usize) -> u64 {
    (2 * concurrency * workers).max(100) as u64
}

/// Milliseconds since the Unix epoch, by this machine's clock: the
/// producers' and the workers' (processes on one machine).
fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One run of a task, as a worker saw it.
#[derive(Debug, Serialize, Deserialize)]
struct Run {
    id: String,
    /// When the handler started, ms since the Unix epoch.
    started_ms: u64,
}

/// What a worker process prints last.
#[derive(Debug, Serialize, Deserialize)]
struct WorkerReport {
    runs: Vec<Run>,
    /// Its claims (`taskrec_claims_total`): each one lightweight
    /// transaction, a Paxos round, won or lost to another worker.
    claims_won: u64,
    claims_lost: u64,
    /// Lightweight transactions on parts of the list (`owned_parts`).
    #[serde(default)]
    part_transactions: u64,
    /// Lightweight transactions on tasks: claims (unless written plainly
    /// by a part's owner), renewals, retries.
    #[serde(default)]
    task_transactions: u64,
    /// Claims written plainly by a part's owner: no Paxos round.
    #[serde(default)]
    plain_claims: u64,
    cpu_us: u64,
    peak_rss_kib: u64,
    succeeded: u64,
    retried: u64,
    failed: u64,
    lost: u64,
    released: u64,
    errors: u64,
}

// ---- the worker process ---------------------------------------------------

/// A metrics recorder that counts a worker's claims by result and drops
/// every other figure: counting must not add to what is measured.
#[derive(Default)]
struct ClaimCounter {
    won: Arc<AtomicU64>,
    lost: Arc<AtomicU64>,
}

impl metrics::Recorder for ClaimCounter {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        if key.name() != taskrec::observe::CLAIMS_TOTAL {
            return metrics::Counter::noop();
        }
        match key
            .labels()
            .find(|l| l.key() == "result")
            .map(|l| l.value())
        {
            Some("won") => metrics::Counter::from_arc(Arc::clone(&self.won)),
            Some("lost") => metrics::Counter::from_arc(Arc::clone(&self.lost)),
            _ => metrics::Counter::noop(),
        }
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// `taskrec-bench flow-worker --addr A --keyspace K --list L --concurrency C
/// --owner NAME`: serves the list until its standard input closes. Prints
/// `ready` once connected, `ran N` as it goes, and a [`WorkerReport`] as
/// the last line.
pub fn worker_main(args: &mut Args) -> Result<(), String> {
    let addr = args
        .value("addr")
        .unwrap_or_else(|| crate::DEFAULT_ADDR.to_owned());
    let keyspace = args
        .value("keyspace")
        .unwrap_or_else(|| crate::DEFAULT_KEYSPACE.to_owned());
    let list = args.required("list")?;
    let concurrency: usize = args.number("concurrency", 1)?;
    let owner = args.required("owner")?;
    args.finish()?;
    let claims = ClaimCounter::default();
    let (won, lost) = (Arc::clone(&claims.won), Arc::clone(&claims.lost));
    metrics::set_global_recorder(claims).map_err(err)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(err)?;
    let mut report = runtime.block_on(serve(addr, keyspace, list, concurrency, owner))?;
    report.claims_won = won.load(Ordering::Relaxed);
    report.claims_lost = lost.load(Ordering::Relaxed);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&report).map_err(err)?).map_err(err)?;
    out.flush().map_err(err)
}

async fn serve(
    addr: String,
    keyspace: String,
    list: String,
    concurrency: usize,
    owner: String,
) -> Result<WorkerReport, String> {
    let config = cql::adapter_config(&addr, &keyspace, false);
    let adapter = Arc::new(CassandraAdapter::connect(config).await.map_err(chain)?);
    let store = TaskStore::new(Arc::clone(&adapter));
    // Everything else as a user gets it: the default lease, idle poll,
    // retries and backoff.
    let worker = Worker::new(
        store,
        WorkerConfig::new(owner).concurrency(concurrency.max(1)),
    );
    let stop = worker.stop_handle();
    std::thread::spawn(move || {
        // The measuring process closes our input when the flow is over.
        let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
        stop.stop();
    });
    let runs: Mutex<Vec<Run>> = Mutex::new(Vec::new());
    let ran = Arc::new(AtomicU64::new(0));
    let serving = Arc::new(AtomicBool::new(true));
    let progress = {
        let (ran, serving) = (Arc::clone(&ran), Arc::clone(&serving));
        std::thread::spawn(move || {
            let mut said = u64::MAX;
            while serving.load(Ordering::Relaxed) {
                let now = ran.load(Ordering::Relaxed);
                if now != said {
                    println!("ran {now}");
                    said = now;
                }
                std::thread::sleep(PROGRESS_EVERY);
            }
        })
    };
    println!("ready");
    let cpu_at_start = cpu_micros();
    let report = worker
        .serve_with::<FetchFile, _>(&[list.as_str()], |task| {
            let run = Run {
                id: task.id().to_owned(),
                started_ms: unix_millis(),
            };
            runs.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(run);
            ran.fetch_add(1, Ordering::Relaxed);
            Box::pin(async { Ok(None) })
        })
        .await
        .map_err(chain)?;
    serving.store(false, Ordering::Relaxed);
    let _ = progress.join();
    Ok(WorkerReport {
        runs: runs.into_inner().unwrap_or_else(PoisonError::into_inner),
        claims_won: 0,
        claims_lost: 0,
        part_transactions: adapter.ready_reads().part_transactions,
        task_transactions: adapter.ready_reads().task_transactions,
        plain_claims: adapter.ready_reads().plain_claims,
        cpu_us: cpu_micros().saturating_sub(cpu_at_start),
        peak_rss_kib: peak_rss_kib(),
        succeeded: report.succeeded,
        retried: report.retried,
        failed: report.failed,
        lost: report.lost,
        released: report.released,
        errors: report.errors,
    })
}

// ---- the measuring process --------------------------------------------------

/// A worker process seen from the measuring one.
struct WorkerProcess {
    child: Child,
    /// Closed to stop the worker.
    stdin: Option<ChildStdin>,
    /// Tasks it has run so far, from its `ran N` lines.
    ran: Arc<AtomicU64>,
    /// Its last line, once it has exited.
    last_line: std::thread::JoinHandle<Result<String, String>>,
}

impl WorkerProcess {
    fn start(job: &Job, k: usize, ready: mpsc::Sender<()>) -> Result<Self, String> {
        let mut child = Command::new(std::env::current_exe().map_err(err)?)
            .args([
                "flow-worker",
                "--addr",
                &job.addr,
                "--keyspace",
                &job.keyspace,
            ])
            .args(["--list", &job.list, "--owner", &format!("flow-worker-{k}")])
            .args(["--concurrency", &job.concurrency.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting flow worker {k}: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no worker stdout")?;
        let ran = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&ran);
        let last_line = std::thread::spawn(move || {
            let mut last = String::new();
            for line in BufReader::new(stdout).lines() {
                let line = line.map_err(err)?;
                if line == "ready" {
                    let _ = ready.send(());
                } else if let Some(n) = line.strip_prefix("ran ") {
                    // Read on whatever a line says: a reader that stopped
                    // would leave the worker blocked on a full pipe.
                    if let Ok(n) = n.parse() {
                        counter.store(n, Ordering::Relaxed);
                    }
                } else if !line.trim().is_empty() {
                    last = line;
                }
            }
            Ok(last)
        });
        Ok(WorkerProcess {
            child,
            stdin,
            ran,
            last_line,
        })
    }

    /// Waits for it to exit (its input closed) and reads its report.
    fn finish(self) -> Result<WorkerReport, String> {
        let WorkerProcess {
            mut child,
            last_line,
            ..
        } = self;
        let deadline = Instant::now() + STOP_LIMIT;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(err)? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "a flow worker did not stop within {} s of being told to",
                    STOP_LIMIT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let line = last_line
            .join()
            .map_err(|_| "a worker's reader panicked".to_owned())??;
        if !status.success() {
            return Err(format!("a flow worker exited with {status}"));
        }
        serde_json::from_str(&line).map_err(|e| format!("reading a worker's `{line}`: {e}"))
    }
}

/// The worker processes: every one is killed if the flow fails half-way.
struct Workers(Vec<WorkerProcess>);

impl Workers {
    /// Tells every worker to stop (closes its input), then waits for each
    /// and reads its report; one that fails leaves the others to `Drop`.
    fn finish(&mut self) -> Result<Vec<WorkerReport>, String> {
        for worker in &mut self.0 {
            drop(worker.stdin.take());
        }
        let mut reports = Vec::new();
        while let Some(worker) = self.0.pop() {
            reports.push(worker.finish()?);
        }
        Ok(reports)
    }
}

/// Tasks run so far, by every worker.
fn ran(counters: &[Arc<AtomicU64>]) -> u64 {
    counters.iter().map(|c| c.load(Ordering::Relaxed)).sum()
}

impl Drop for Workers {
    fn drop(&mut self) {
        for worker in &mut self.0 {
            let _ = worker.child.kill();
            let _ = worker.child.wait();
        }
    }
}

/// The flow row: producers and worker processes on one list for
/// `job.flow_secs` seconds.
pub async fn flow(job: &Job) -> Result<Outcome, String> {
    let config = cql::adapter_config(&job.addr, &job.keyspace, false);
    let store = TaskStore::new(CassandraAdapter::connect(config).await.map_err(chain)?);
    let workers_n = job.flow_workers.max(1);
    let (ready_tx, ready_rx) = mpsc::channel();
    let mut workers = Workers(Vec::new());
    for k in 0..workers_n {
        workers
            .0
            .push(WorkerProcess::start(job, k, ready_tx.clone())?);
    }
    drop(ready_tx);
    tokio::task::block_in_place(|| {
        for _ in 0..workers_n {
            ready_rx
                .recv_timeout(Duration::from_secs(60))
                .map_err(|_| "a flow worker did not get ready within 60 s".to_owned())?;
        }
        Ok::<(), String>(())
    })?;
    let counters: Arc<Vec<Arc<AtomicU64>>> =
        Arc::new(workers.0.iter().map(|w| Arc::clone(&w.ran)).collect());

    let window = Duration::from_secs(job.flow_secs.max(1));
    let bound = backlog_bound(job.concurrency, workers_n);
    let cpu_at_start = cpu_micros();
    let started = Instant::now();
    let started_ms = unix_millis();
    // Each saved task's id and when it was built (ms, this machine's clock,
    // as the workers' run starts are).
    let saved = Arc::new(Mutex::new(Vec::<(String, u64)>::new()));
    let saved_n = Arc::new(AtomicU64::new(0));
    let waits = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = (0..job.concurrency.max(1))
        .map(|_| {
            let (store, list, saved, saved_n, waits, counters) = (
                store.clone(),
                job.list.clone(),
                Arc::clone(&saved),
                Arc::clone(&saved_n),
                Arc::clone(&waits),
                Arc::clone(&counters),
            );
            tokio::spawn(async move {
                let template = payload::template();
                while started.elapsed() < window {
                    let backlog = saved_n
                        .load(Ordering::Relaxed)
                        .saturating_sub(ran(&counters));
                    if backlog >= bound {
                        waits.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    let built_ms = unix_millis();
                    let task = Task::build(list.as_str(), template.clone()).map_err(chain)?;
                    store.save(&task).await.map_err(chain)?;
                    saved_n.fetch_add(1, Ordering::Relaxed);
                    let id = task.id().to_owned();
                    saved
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((id, built_ms));
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    // The first producer's error ends the row (the others stop with the window).
    futures::future::try_join_all(producers.into_iter().map(|producer| async move {
        producer
            .await
            .map_err(|e| format!("a producer panicked: {e}"))?
    }))
    .await?;
    let window_ms = started_ms + window.as_millis() as u64;
    let saved: Vec<(String, u64)> =
        std::mem::take(&mut *saved.lock().unwrap_or_else(PoisonError::into_inner));
    let total = saved.len() as u64;

    // The tail: every saved task runs, and its completion clears the list.
    let tail = Instant::now();
    while ran(&counters) < total {
        if tail.elapsed() > TAIL_LIMIT {
            return Err(format!(
                "{} of {total} saved tasks ran within {} s of the window's end",
                ran(&counters),
                TAIL_LIMIT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while store.count(&job.list).await.map_err(chain)? != 0 {
        if tail.elapsed() > TAIL_LIMIT {
            return Err("the flow's list did not empty after every task ran".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let tail_secs = tail.elapsed().as_secs_f64();
    let parent_cpu = cpu_micros().saturating_sub(cpu_at_start);

    let reports = workers.finish()?;
    summarize(
        &reports,
        &saved,
        started_ms,
        window_ms,
        window,
        tail_secs,
        parent_cpu,
        bound,
        waits.load(Ordering::Relaxed),
    )
}

/// The row from what the workers ran and the producers saved.
#[allow(clippy::too_many_arguments)]
fn summarize(
    reports: &[WorkerReport],
    saved: &[(String, u64)],
    started_ms: u64,
    window_ms: u64,
    window: Duration,
    tail_secs: f64,
    parent_cpu: u64,
    bound: u64,
    waits: u64,
) -> Result<Outcome, String> {
    let built: HashMap<&str, u64> = saved.iter().map(|(id, ms)| (id.as_str(), *ms)).collect();
    let mut runs_of: HashMap<&str, u64> = HashMap::with_capacity(saved.len());
    let mut latencies = histogram();
    let mut in_window = 0u64;
    for run in reports.iter().flat_map(|r| &r.runs) {
        *runs_of.entry(run.id.as_str()).or_default() += 1;
        if (started_ms..window_ms).contains(&run.started_ms) {
            in_window += 1;
        }
        if let Some(&built_ms) = built.get(run.id.as_str()) {
            let wait = run.started_ms.saturating_sub(built_ms);
            record(&mut latencies, Duration::from_millis(wait));
        }
    }
    let never_ran = saved
        .iter()
        .filter(|(id, _)| !runs_of.contains_key(id.as_str()))
        .count();
    if never_ran > 0 {
        return Err(format!(
            "{never_ran} of {} saved tasks never ran",
            saved.len()
        ));
    }
    let runs: u64 = runs_of.values().sum();
    let ran_twice = runs_of.values().filter(|&&n| n > 1).count() as u64;
    let sum = |f: fn(&WorkerReport) -> u64| reports.iter().map(f).sum::<u64>();
    // The handler never fails: a retry or a failure is the bench's defect.
    // Storage errors (timeouts of an overloaded server) are the list's own:
    // the worker tries the task again, and the row says how many there were.
    let unclean = (sum(|r| r.retried), sum(|r| r.failed));
    if unclean != (0, 0) {
        return Err(format!(
            "the flow did not run cleanly: retried, failed = {unclean:?}"
        ));
    }
    let secs = window.as_secs_f64();
    let cpu_us = parent_cpu + sum(|r| r.cpu_us);
    let figures = BTreeMap::from([
        ("workers".to_owned(), reports.len() as f64),
        ("saved".to_owned(), saved.len() as f64),
        (
            "saved_per_s".to_owned(),
            (saved.len() as f64 / secs).round(),
        ),
        ("runs".to_owned(), runs as f64),
        ("ran_twice".to_owned(), ran_twice as f64),
        ("leases_lost".to_owned(), sum(|r| r.lost) as f64),
        ("storage_errors".to_owned(), sum(|r| r.errors) as f64),
        ("claims_won".to_owned(), sum(|r| r.claims_won) as f64),
        ("claims_lost".to_owned(), sum(|r| r.claims_lost) as f64),
        (
            "part_transactions".to_owned(),
            sum(|r| r.part_transactions) as f64,
        ),
        ("plain_claims".to_owned(), sum(|r| r.plain_claims) as f64),
        (
            "claims_lost_pct".to_owned(),
            (1000.0 * sum(|r| r.claims_lost) as f64
                / (sum(|r| r.claims_won) + sum(|r| r.claims_lost)).max(1) as f64)
                .round()
                / 10.0,
        ),
        (
            "paxos_per_task".to_owned(),
            ((sum(|r| r.task_transactions) + sum(|r| r.part_transactions)) as f64
                / runs.max(1) as f64
                * 100.0)
                .round()
                / 100.0,
        ),
        ("backlog_bound".to_owned(), bound as f64),
        ("producer_waits".to_owned(), waits as f64),
        ("tail_s".to_owned(), (tail_secs * 10.0).round() / 10.0),
        (
            "cpu_us_per_task_all".to_owned(),
            (cpu_us as f64 / runs.max(1) as f64).round(),
        ),
    ]);
    Ok(Outcome {
        // Tasks whose run started within the window: the list's pace.
        ops: in_window,
        secs,
        // The whole client side: the producers and every worker process.
        cpu_us: cpu_us * in_window / runs.max(1),
        peak_rss_kib: reports
            .iter()
            .map(|r| r.peak_rss_kib)
            .max()
            .unwrap_or(0)
            .max(peak_rss_kib()),
        p50_ns: latencies.value_at_quantile(0.50),
        p99_ns: latencies.value_at_quantile(0.99),
        p999_ns: latencies.value_at_quantile(0.999),
        max_ns: latencies.max(),
        latency: "save→run".to_owned(),
        figures,
    })
}
