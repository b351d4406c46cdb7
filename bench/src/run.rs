//! `taskrec-bench run`: the whole comparison. Creates the keyspace, seeds
//! the lists to stream, runs every (workload, variant, concurrency) in a
//! child process of its own, and writes `summary.json`, `summary.md` and
//! `meta.json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Serialize;

use crate::args::Args;
use crate::cql;
use crate::measure::Outcome;
use crate::plan::{Table, Variant, Workload};

/// N of the quick run (`--quick`); `scripts/bench --quick` runs a tenth of
/// it at concurrency 1.
const QUICK_N: u64 = 20_000;

/// Claims and drains run N / LWT_SHARE operations (see `Options::n_for`).
const LWT_SHARE: u64 = 10;

/// The list every variant streams, seeded once in each table that a
/// variant of the run streams it from.
const STREAM_LIST: &str = "stream";

/// The concurrency idle and churn rows run at, once each: taskrec's
/// defaults, a worker's 8 tasks at once (`WorkerConfig::new`) and a
/// listing's 8 partitions at once (`CassandraConfig::list_concurrency`).
/// Neither row is about concurrency: an idle worker runs nothing, and a
/// churn's figures are single reads.
const SCALE_CONCURRENCY: usize = 8;

struct Options {
    addr: String,
    keyspace: String,
    n: u64,
    /// N at concurrency 1, where every operation waits for the server alone.
    c1_n: u64,
    concurrencies: Vec<usize>,
    variants: Vec<Variant>,
    workloads: Vec<Workload>,
    /// Runs of the whole plan; each figure is the median over them.
    repeat: usize,
    python: Option<PathBuf>,
    python_script: PathBuf,
    out: PathBuf,
    /// The list-size workloads' sizes are divided by this (smoke runs).
    shrink: u64,
    idle_secs: u64,
    idle_warmup: u64,
    churn_settle: u64,
    flow_secs: u64,
    flow_workers: usize,
    /// Copies of every row: 3 on the cluster run (`scripts/bench --cluster`).
    replicas: u32,
}

impl Options {
    fn from_args(args: &mut Args) -> Result<Self, String> {
        let quick = args.flag("quick");
        // The quick run fits 20 minutes on two cores (docs/BENCHMARKS.md
        // says how long it took): 20,000 operations per row at c >= 32 are
        // still seconds of steady state for every variant.
        let n = args.number("n", if quick { QUICK_N } else { 1_000_000 })?;
        let c1_n = args.number("c1-n", n)?.min(n);
        let concurrencies = match args.value("concurrency") {
            None => vec![1, 32, 256],
            Some(list) => list
                .split(',')
                .map(|c| {
                    c.trim()
                        .parse()
                        .map_err(|_| format!("bad concurrency `{c}`"))
                })
                .collect::<Result<_, _>>()?,
        };
        let python = args.value("python").map(PathBuf::from);
        let variants = match args.value("variants") {
            None => Variant::ALL
                .into_iter()
                .filter(|v| *v != Variant::Python || python.is_some())
                .collect(),
            Some(list) => list
                .split(',')
                .map(|v| v.trim().parse())
                .collect::<Result<_, _>>()?,
        };
        let workloads = match args.value("workloads") {
            None => Workload::DEFAULT.to_vec(),
            Some(list) => {
                let mut workloads: Vec<Workload> = Vec::new();
                for name in list.split(',').map(str::trim) {
                    let group: Vec<Workload> = match name {
                        "default" => Workload::DEFAULT.to_vec(),
                        "scale" => Workload::SCALE.to_vec(),
                        "all" => Workload::ALL.to_vec(),
                        name => vec![name.parse()?],
                    };
                    for w in group {
                        if !workloads.contains(&w) {
                            workloads.push(w);
                        }
                    }
                }
                workloads
            }
        };
        let options = Options {
            addr: args
                .value("addr")
                .unwrap_or_else(|| crate::DEFAULT_ADDR.to_owned()),
            keyspace: args
                .value("keyspace")
                .unwrap_or_else(|| crate::DEFAULT_KEYSPACE.to_owned()),
            n,
            c1_n,
            concurrencies,
            variants,
            workloads,
            repeat: args.number("repeat", 1usize)?.max(1),
            python,
            python_script: args
                .value("python-script")
                .map_or_else(|| PathBuf::from("bench/python/bench.py"), PathBuf::from),
            out: args
                .value("out")
                .map_or_else(|| PathBuf::from("target/bench"), PathBuf::from),
            shrink: args.number("shrink", 1u64)?.max(1),
            idle_secs: args.number("idle-secs", 10u64)?.max(1),
            idle_warmup: args.number("idle-warmup", 5u64)?,
            churn_settle: args.number("churn-settle", 0u64)?,
            flow_secs: args.number("flow-secs", crate::flow::DEFAULT_SECS)?.max(1),
            flow_workers: args
                .number("flow-workers", crate::flow::DEFAULT_WORKERS)?
                .max(1),
            replicas: args.number("replicas", 1u32)?.max(1),
        };
        args.finish()?;
        if options.variants.contains(&Variant::Python) && options.python.is_none() {
            return Err(
                "the python variant needs --python PATH (scripts/bench sets it)".to_owned(),
            );
        }
        Ok(options)
    }

    fn n_at(&self, concurrency: usize) -> u64 {
        if concurrency == 1 {
            self.c1_n
        } else {
            self.n
        }
    }

    /// N of a workload at a concurrency: claims and drains run a tenth of
    /// it. Each of their operations is a Paxos round or two, several times
    /// slower than a write; a tenth keeps the quick run within minutes and
    /// still gives every figure thousands of operations.
    ///
    /// The list-size workloads hold their own fixed sizes at every
    /// concurrency (divided by `--shrink`): what they measure is the size.
    fn n_for(&self, workload: Workload, concurrency: usize) -> u64 {
        if let Some(size) = workload.fixed_size() {
            return (size / self.shrink).max(1);
        }
        match workload {
            Workload::Claim | Workload::Drain => (self.n_at(concurrency) / LWT_SHARE).max(1),
            _ => self.n_at(concurrency),
        }
    }
}

/// One line of summary.json: the keys the issue asks for, then context.
#[derive(Debug, Clone, Serialize)]
struct Row {
    workload: String,
    variant: String,
    concurrency: usize,
    ops_per_s: f64,
    cpu_us_per_op: f64,
    peak_rss_mb: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    max_ms: f64,
    /// Operations (records, for a stream) the figures are over.
    n: u64,
    layout: String,
    /// `op`: one request and its decoding; `item`: the wait for the next
    /// record of a stream.
    latency: String,
    secs: f64,
    /// Runs the figures are the median of (`--repeat`).
    runs: usize,
    /// Figures of rows that are not a throughput, as top-level keys:
    ///
    /// - `idle-*` (the standard keys: `n` and `ops_per_s` are the rows the
    ///   idle worker's sweeps read in the window and per second, `secs` the
    ///   window, no latencies): `held`, `hints_per_s`, `states_per_s`,
    ///   `walked_per_s`, `cpu_us_per_s` (the client's CPU per second of
    ///   idling), `idle_poll_ms`, `warmup_s`, `set_up_s`;
    /// - `churn-*` (the standard keys are the flow's: one op a save and its
    ///   completion): `completed`, `page_ms`, `count_ms` (the emptied list),
    ///   `never_page_ms`, `never_count_ms` (a list that never had tasks),
    ///   `page_ratio`, `count_ratio`, and with `--churn-settle S` the same
    ///   again prefixed `settled_`, with `settle_s`;
    /// - taskrec's drains: `ready_hints`, `ready_states`, `ready_walked`,
    ///   what the worker's sweeps read over the whole drain.
    #[serde(flatten)]
    figures: BTreeMap<String, f64>,
}

struct Job {
    variant: Variant,
    workload: Workload,
    concurrency: usize,
    n: u64,
    list: String,
}

/// The order of the run: each workload's variants one after another, so
/// that raw and taskrec are measured minutes apart, not a whole run apart,
/// under whatever else the machine is doing. Repeat `r` starts the variants
/// at the `r`-th one, so that no variant always goes first.
fn plan(options: &Options, r: usize) -> Vec<Job> {
    let mut jobs = Vec::new();
    let job = |variant, workload, concurrency, n, list: &str| Job {
        variant,
        workload,
        concurrency,
        n,
        list: list.to_owned(),
    };
    let mut variants = options.variants.clone();
    let first = r % variants.len().max(1);
    variants.rotate_left(first);
    for &c in &options.concurrencies {
        // save, find, claim and complete share a list per variant,
        // concurrency and repeat, in the variant's own table: find reads
        // what save wrote, claim claims it, complete deletes it.
        for workload in [
            Workload::Save,
            Workload::Find,
            Workload::Claim,
            Workload::Complete,
        ] {
            if !options.workloads.contains(&workload) {
                continue;
            }
            for &v in &variants {
                if workload.runs_on(v) {
                    let n = options.n_for(workload, c);
                    jobs.push(job(v, workload, c, n, &shared_list(v, c, r)));
                }
            }
        }
    }
    // New tasks saved into a list of their own per variant, concurrency
    // and repeat: nothing reads it after.
    for &c in &options.concurrencies {
        if !options.workloads.contains(&Workload::SaveNew) {
            break;
        }
        for &v in &variants {
            if Workload::SaveNew.runs_on(v) {
                let n = options.n_for(Workload::SaveNew, c);
                let list = format!("{}-new", shared_list(v, c, r));
                jobs.push(job(v, Workload::SaveNew, c, n, &list));
            }
        }
    }
    // Groups saved into a list of their own per variant, concurrency and
    // repeat: nothing reads it after.
    for &c in &options.concurrencies {
        if !options.workloads.contains(&Workload::SaveAll) {
            break;
        }
        for &v in &variants {
            if Workload::SaveAll.runs_on(v) {
                let n = options.n_for(Workload::SaveAll, c);
                let list = format!("{}-all", shared_list(v, c, r));
                jobs.push(job(v, Workload::SaveAll, c, n, &list));
            }
        }
    }
    // A stream's concurrency is how many partitions are read at once: of
    // the raw table's 16 buckets (32 and 256 both mean all of them), or of
    // taskrec's listing entries (its `list_concurrency`), which are 16 per
    // minute the list was seeded in. task_rb's table keeps a list in one
    // partition and the memory adapter walks one map, so there only
    // concurrency 1 means anything.
    for &c in &options.concurrencies {
        if !options.workloads.contains(&Workload::Stream) {
            break;
        }
        for &v in &variants {
            if v != Variant::Memory || c == 1 {
                jobs.push(job(v, Workload::Stream, c, options.n, STREAM_LIST));
            }
        }
    }
    for &v in &variants {
        if v.uses_server() && options.workloads.contains(&Workload::StreamTaskRb) {
            jobs.push(job(v, Workload::StreamTaskRb, 1, options.n, STREAM_LIST));
        }
    }
    // A drain's concurrency is the worker's: how many tasks it runs at once.
    for workload in [Workload::Drain, Workload::Drain10k, Workload::Drain100k] {
        if !options.workloads.contains(&workload) {
            continue;
        }
        for &c in &options.concurrencies {
            for &v in &variants {
                if workload.runs_on(v) {
                    let n = options.n_for(workload, c);
                    jobs.push(job(v, workload, c, n, &drain_list(workload, v, c, r)));
                }
            }
        }
    }
    // A flow's concurrency is both sides': saves in flight, and tasks each
    // worker process runs at once. Its list starts empty.
    for &c in &options.concurrencies {
        if !options.workloads.contains(&Workload::Flow) {
            break;
        }
        for &v in &variants {
            if Workload::Flow.runs_on(v) {
                let list = format!("flow-{}-c{c}-r{r}", v.name());
                jobs.push(job(v, Workload::Flow, c, options.flow_secs, &list));
            }
        }
    }
    // Idle and churn lists are set up by their child, just before it
    // measures: an idle list's leases must not run out before, and a
    // churn is its own set-up.
    for workload in [Workload::Idle10k, Workload::Idle100k, Workload::Churn100k] {
        if !options.workloads.contains(&workload) {
            continue;
        }
        for &v in &variants {
            if workload.runs_on(v) {
                let c = SCALE_CONCURRENCY;
                let n = options.n_for(workload, c);
                jobs.push(job(v, workload, c, n, &work_list(workload, v, c, r)));
            }
        }
    }
    jobs
}

/// The lists of the server variants' drains, each with the N it holds and
/// its variant's table: seeded before the run, since a drain empties its list.
fn drain_lists(options: &Options) -> Vec<(String, u64, Table)> {
    let mut lists = Vec::new();
    for workload in [Workload::Drain, Workload::Drain10k, Workload::Drain100k] {
        if !options.workloads.contains(&workload) {
            continue;
        }
        for r in 0..options.repeat {
            for &c in &options.concurrencies {
                for &v in &options.variants {
                    if let (Some(table), true) = (v.table(), workload.runs_on(v)) {
                        let n = options.n_for(workload, c);
                        lists.push((drain_list(workload, v, c, r), n, table));
                    }
                }
            }
        }
    }
    lists
}

/// The tables the list to stream is seeded in: the own table of each
/// variant that streams it, and task_rb's for `stream-task_rb`.
fn stream_tables(options: &Options) -> Vec<Table> {
    let mut tables = Vec::new();
    let has = |w| options.workloads.contains(&w);
    if has(Workload::Stream) {
        for table in [Table::Raw, Table::Taskrec] {
            if options.variants.iter().any(|v| v.table() == Some(table)) {
                tables.push(table);
            }
        }
    }
    if has(Workload::StreamTaskRb) && options.variants.iter().any(|v| v.uses_server()) {
        tables.push(Table::TaskRb);
    }
    tables
}

/// The list one drain empties: its own per workload (`drain`, `drain-10k`,
/// `drain-100k`), variant, concurrency and repeat.
fn drain_list(workload: Workload, variant: Variant, concurrency: usize, repeat: usize) -> String {
    format!("{workload}-{variant}-c{concurrency}-r{repeat}")
}

/// The list of one idle or churn job: fresh per repeat, like every list.
fn work_list(workload: Workload, variant: Variant, concurrency: usize, repeat: usize) -> String {
    format!("{workload}-{variant}-c{concurrency}-r{repeat}")
}

/// The list save, find and complete of one variant use: fresh per repeat,
/// so no run reads past an earlier run's tombstones.
fn shared_list(variant: Variant, concurrency: usize, repeat: usize) -> String {
    format!("{variant}-c{concurrency}-r{repeat}")
}

/// The median of each figure over the repeats of one cell.
fn medians(runs: &[Row]) -> Vec<Row> {
    let mut cells: Vec<(&str, &str, usize)> = Vec::new();
    for r in runs {
        let cell = (r.workload.as_str(), r.variant.as_str(), r.concurrency);
        if !cells.contains(&cell) {
            cells.push(cell);
        }
    }
    // In the plan's order, whatever the variant order of the last repeat.
    cells.sort_by_key(|&(w, v, c)| {
        let w = Workload::ALL.iter().position(|x| x.name() == w);
        let v = Variant::ALL.iter().position(|x| x.name() == v);
        (w, c, v)
    });
    cells
        .into_iter()
        .map(|(w, v, c)| {
            let same: Vec<Row> = runs
                .iter()
                .filter(|r| r.workload == w && r.variant == v && r.concurrency == c)
                .cloned()
                .collect();
            median_row(&same)
        })
        .collect()
}

fn median_row(runs: &[Row]) -> Row {
    let median = |f: fn(&Row) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(f).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    // Each figure's median over the runs that have it.
    let mut figures = BTreeMap::new();
    for name in runs.iter().flat_map(|r| r.figures.keys()) {
        if figures.contains_key(name) {
            continue;
        }
        let mut values: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.figures.get(name))
            .copied()
            .collect();
        values.sort_by(f64::total_cmp);
        figures.insert(name.clone(), values[values.len() / 2]);
    }
    Row {
        figures,
        ops_per_s: median(|r| r.ops_per_s),
        cpu_us_per_op: median(|r| r.cpu_us_per_op),
        peak_rss_mb: median(|r| r.peak_rss_mb),
        p50_ms: median(|r| r.p50_ms),
        p99_ms: median(|r| r.p99_ms),
        p999_ms: median(|r| r.p999_ms),
        max_ms: median(|r| r.max_ms),
        secs: median(|r| r.secs),
        runs: runs.len(),
        ..runs[0].clone()
    }
}

pub fn main(args: &mut Args) -> Result<(), String> {
    let options = Options::from_args(args)?;
    std::fs::create_dir_all(&options.out).map_err(|e| format!("{}: {e}", options.out.display()))?;
    let started = Instant::now();
    let mut meta = serde_json::json!({
        "n": options.n,
        "c1_n": options.c1_n,
        "concurrencies": options.concurrencies,
        "variants": options.variants.iter().map(|v| v.name()).collect::<Vec<_>>(),
        "workloads": options.workloads.iter().map(|w| w.name()).collect::<Vec<_>>(),
        "repeat": options.repeat,
        "shrink": options.shrink,
        "idle_secs": options.idle_secs,
        "idle_warmup": options.idle_warmup,
        "churn_settle": options.churn_settle,
        "flow_secs": options.flow_secs,
        "flow_workers": options.flow_workers,
        "replicas": options.replicas,
        "addr": options.addr,
        "loadavg_at_start": loadavg(),
        "cpu_model": cpu_model(),
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
    });
    if let Some(python) = &options.python {
        meta["python"] = python_info(python, &options.python_script)?;
        eprintln!("python driver: {}", meta["python"]);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let uses_server = options.variants.iter().any(|v| v.uses_server());
    if uses_server {
        let seeded = Instant::now();
        runtime.block_on(async {
            let session = cql::session(&options.addr).await?;
            cql::create_schema(&session, &options.addr, &options.keyspace, options.replicas)
                .await?;
            let lists = cql::Lists::open(&session, &options.addr, &options.keyspace).await?;
            let tables = stream_tables(&options);
            if !tables.is_empty() {
                lists.seed(STREAM_LIST, options.n, &tables).await?;
                // One untimed read of each seeded list: the first variant to
                // stream it must not be the one that pays for a cold server.
                lists.read_seeded(STREAM_LIST, options.n, &tables).await?;
            }
            for (list, n, table) in drain_lists(&options) {
                lists.seed(&list, n, &[table]).await?;
            }
            Ok::<(), String>(())
        })?;
        eprintln!(
            "schema created, lists to stream and drain seeded in {:.1} s",
            seeded.elapsed().as_secs_f64()
        );
    }
    if options.c1_n < options.n {
        eprintln!(
            "note: at concurrency 1, save/find/complete run N = {} (not {}): one request at a \
             time waits for the server alone, and the full N would not fit the time budget",
            options.c1_n, options.n
        );
    }

    let mut runs: Vec<Row> = Vec::new();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for r in 0..options.repeat {
        let jobs = plan(&options, r);
        for (k, job) in jobs.iter().enumerate() {
            let at = Instant::now();
            let outcome = match run_child(&options, job) {
                Ok(outcome) => outcome,
                Err(e) => {
                    let what = format!("{} {} c={}", job.workload, job.variant, job.concurrency);
                    eprintln!("[{}/{}] {what} FAILED: {e}", k + 1, jobs.len());
                    failures.push(format!("{what} (run {}): {e}", r + 1));
                    continue;
                }
            };
            let row = row(job, &outcome);
            eprintln!(
                "[{}{}/{}] {:<14} {:<11} c={:<3} n={:<7} {:>9.0} ops/s {:>7.1} µs cpu/op {:>6.1} MB p50 {:.3} ms p99 {:.3} ms ({:.1} s; {} in all)",
                if options.repeat > 1 { format!("run {} ", r + 1) } else { String::new() },
                k + 1,
                jobs.len(),
                row.workload,
                row.variant,
                row.concurrency,
                row.n,
                row.ops_per_s,
                row.cpu_us_per_op,
                row.peak_rss_mb,
                row.p50_ms,
                row.p99_ms,
                at.elapsed().as_secs_f64(),
                minutes(started.elapsed().as_secs_f64())
            );
            if !row.figures.is_empty() {
                let figures: Vec<String> = row
                    .figures
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                eprintln!("      {}", figures.join(", "));
            }
            runs.push(row);
            rows = medians(&runs);
            write_json(&options.out.join("summary.json"), &rows)?;
            if options.repeat > 1 {
                write_json(&options.out.join("runs.json"), &runs)?;
            }
        }
    }
    if uses_server {
        runtime.block_on(check_emptied(&options))?;
    }

    meta["loadavg_at_end"] = loadavg().into();
    meta["secs"] = started.elapsed().as_secs_f64().into();
    meta["failures"] = failures.clone().into();
    write_json(&options.out.join("meta.json"), &meta)?;
    write_json(&options.out.join("summary.json"), &rows)?;
    let table = table(&rows, &options);
    std::fs::write(options.out.join("summary.md"), &table).map_err(|e| e.to_string())?;
    println!("{table}");
    eprintln!(
        "wrote {}/summary.json ({} rows); the run took {}",
        options.out.display(),
        rows.len(),
        minutes(started.elapsed().as_secs_f64())
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} workloads failed:\n  {}",
            failures.len(),
            failures.join("\n  ")
        ))
    }
}

fn row(job: &Job, outcome: &Outcome) -> Row {
    let ops = outcome.ops.max(1) as f64;
    Row {
        workload: job.workload.name().to_owned(),
        variant: job.variant.name().to_owned(),
        concurrency: job.concurrency,
        ops_per_s: round(outcome.ops as f64 / outcome.secs.max(1e-9), 1),
        cpu_us_per_op: round(outcome.cpu_us as f64 / ops, 2),
        peak_rss_mb: round(outcome.peak_rss_kib as f64 / 1024.0, 1),
        p50_ms: round(outcome.p50_ns as f64 / 1e6, 4),
        p99_ms: round(outcome.p99_ns as f64 / 1e6, 4),
        p999_ms: round(outcome.p999_ns as f64 / 1e6, 4),
        max_ms: round(outcome.max_ns as f64 / 1e6, 4),
        n: outcome.ops,
        layout: job.workload.layout(job.variant).to_owned(),
        latency: outcome.latency.clone(),
        secs: round(outcome.secs, 2),
        runs: 1,
        figures: outcome.figures.clone(),
    }
}

/// `12m05s`: how long a run has taken, as a person reads it.
fn minutes(secs: f64) -> String {
    let secs = secs.round() as u64;
    format!("{}m{:02}s", secs / 60, secs % 60)
}

fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

fn child_args(options: &Options, job: &Job) -> Vec<String> {
    let mut args = vec![
        ("--variant", job.variant.name().to_owned()),
        ("--workload", job.workload.name().to_owned()),
        ("--concurrency", job.concurrency.to_string()),
        ("--n", job.n.to_string()),
        ("--addr", options.addr.clone()),
        ("--keyspace", options.keyspace.clone()),
        ("--list", job.list.clone()),
    ];
    // Only to the children that take them (the Python script takes none).
    if job.workload.is_idle() {
        args.push(("--idle-secs", options.idle_secs.to_string()));
        args.push(("--idle-warmup", options.idle_warmup.to_string()));
    }
    if job.workload == Workload::Churn100k {
        args.push(("--churn-settle", options.churn_settle.to_string()));
    }
    if job.workload == Workload::Flow {
        args.push(("--flow-secs", options.flow_secs.to_string()));
        args.push(("--flow-workers", options.flow_workers.to_string()));
    }
    args.into_iter()
        .flat_map(|(name, value)| [name.to_owned(), value])
        .collect()
}

/// Runs one job in a child process and reads the JSON line it prints last.
fn run_child(options: &Options, job: &Job) -> Result<Outcome, String> {
    let mut command = match (job.variant, &options.python) {
        (Variant::Python, Some(python)) => {
            let mut command = Command::new(python);
            command.arg(&options.python_script);
            command
        }
        _ => {
            let mut command = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
            command.arg("one");
            command
        }
    };
    let output = command
        .args(child_args(options, job))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("starting the child: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("child exited with {}", output.status));
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .ok_or("the child printed nothing")?;
    serde_json::from_str(line).map_err(|e| format!("reading the child's `{line}`: {e}"))
}

/// After every complete and every drain, sampled ids of the lists they
/// emptied are gone from their variant's table (and, in taskrec's, from its
/// listing too): a complete or a drain that did nothing would otherwise
/// look fast.
async fn check_emptied(options: &Options) -> Result<(), String> {
    let mut emptied = drain_lists(options);
    if options.workloads.contains(&Workload::Complete) {
        for &c in &options.concurrencies {
            for &v in &options.variants {
                let Some(table) = v.table() else { continue };
                for r in 0..options.repeat {
                    emptied.push((shared_list(v, c, r), options.n_at(c), table));
                }
            }
        }
    }
    if emptied.is_empty() {
        return Ok(());
    }
    let session = cql::session(&options.addr).await?;
    let lists = cql::Lists::open(&session, &options.addr, &options.keyspace).await?;
    for (list, n, table) in emptied {
        for i in [0, n / 2, n - 1] {
            let id = crate::payload::id(i);
            if lists.holds(table, &list, &id).await? {
                return Err(format!(
                    "{list}/{id} is still in the {table} table after the run emptied it"
                ));
            }
        }
        if table == Table::Taskrec {
            let left = lists.taskrec_count(&list).await?;
            if left != 0 {
                return Err(format!(
                    "taskrec's listing of {list} still finds {left} records after the run emptied it"
                ));
            }
        }
    }
    Ok(())
}

fn python_info(python: &Path, script: &Path) -> Result<serde_json::Value, String> {
    let output = Command::new(python)
        .arg(script)
        .arg("--info")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !output.status.success() {
        return Err(format!("{} --info failed", script.display()));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("python --info: {e}"))
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default()
}

/// The ratio table: for each workload and concurrency, every variant's
/// throughput and CPU per operation against raw's.
fn table(rows: &[Row], options: &Options) -> String {
    let mut out = String::new();
    let sized_by_n = options.workloads.iter().any(|w| w.fixed_size().is_none());
    let _ = writeln!(
        out,
        "{}x raw = ratio to the raw variant of the same workload and concurrency (drain and flow: to raw's `save`, one INSERT per task){}\n",
        if sized_by_n {
            format!(
                "N = {} (save/find/complete at concurrency 1: N = {}; claim and drain: a tenth of those); ",
                options.n, options.c1_n
            )
        } else {
            String::new()
        },
        if options.repeat > 1 {
            format!("; every figure is the median of {} runs", options.repeat)
        } else {
            String::new()
        }
    );
    if options.workloads.iter().any(|w| w.fixed_size().is_some()) {
        let _ = writeln!(
            out,
            "drain-10k and drain-100k drain lists of 10,000 and 100,000 tasks at every concurrency; idle and churn rows, in tables of their own below, run once at c = {SCALE_CONCURRENCY}{}\n",
            if options.shrink > 1 {
                format!(" (every list-size workload shrunk by {}: n is what ran)", options.shrink)
            } else {
                String::new()
            }
        );
    }
    if options.replicas > 1 {
        let _ = writeln!(
            out,
            "On a cluster: replication factor {}, every request at LOCAL_QUORUM.\n",
            options.replicas
        );
    }
    main_table(&mut out, rows, options);
    flow_table(&mut out, rows, options);
    idle_table(&mut out, rows, options);
    churn_table(&mut out, rows, options);
    out
}

/// The throughput rows: every variant's ops/s and CPU per op against raw's.
fn main_table(out: &mut String, rows: &[Row], options: &Options) {
    let throughput = |name: &str| {
        Workload::ALL
            .iter()
            .any(|w| w.name() == name && w.is_throughput())
    };
    if !rows.iter().any(|r| throughput(&r.workload)) {
        return;
    }
    let _ = writeln!(
        out,
        "| workload | c | variant | ops/s | x raw | cpu µs/op | x raw | peak RSS MB | p50 ms | p99 ms |"
    );
    let _ = writeln!(out, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for workload in Workload::ALL.into_iter().filter(|w| w.is_throughput()) {
        for &c in &options.concurrencies {
            // A drain or a flow has no raw counterpart: it is read against
            // the raw driver's single INSERT (`save`) of the same run.
            let base = if workload.is_drain() || workload == Workload::Flow {
                Workload::Save
            } else {
                workload
            };
            let raw = rows
                .iter()
                .find(|r| r.workload == base.name() && r.concurrency == c && r.variant == "raw");
            for r in rows
                .iter()
                .filter(|r| r.workload == workload.name() && r.concurrency == c)
            {
                let ratio = |x: f64, base: Option<f64>| match base {
                    Some(base) if base > 0.0 && r.layout != "memory" => format!("{:.2}", x / base),
                    _ => "–".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.0} | {} | {:.1} | {} | {:.1} | {:.4} | {:.4} |",
                    r.workload,
                    r.concurrency,
                    r.variant,
                    r.ops_per_s,
                    ratio(r.ops_per_s, raw.map(|b| b.ops_per_s)),
                    r.cpu_us_per_op,
                    ratio(r.cpu_us_per_op, raw.map(|b| b.cpu_us_per_op)),
                    r.peak_rss_mb,
                    r.p50_ms,
                    r.p99_ms
                );
            }
        }
    }
}

/// One figure of a row, or "–" when the row lacks it.
fn figure(row: &Row, name: &str, decimals: usize) -> String {
    row.figures
        .get(name)
        .map_or_else(|| "–".to_owned(), |x| format!("{x:.decimals$}"))
}

/// A time in ms to about four significant digits: a memory read takes a
/// ten-thousandth of a Cassandra one, and both belong in one column.
fn millis(row: &Row, name: &str) -> String {
    match row.figures.get(name) {
        None => "–".to_owned(),
        Some(&x) if x <= 0.0 => "0".to_owned(),
        Some(&x) => {
            let decimals = (3 - x.log10().floor() as i32).clamp(0, 7) as usize;
            format!("{x:.decimals$}")
        }
    }
}

/// The idle rows: what an idle worker's sweeps read per second. The two
/// sizes side by side are the point: the reads must not grow with the list.
fn idle_table(out: &mut String, rows: &[Row], options: &Options) {
    let idle: Vec<&Row> = rows
        .iter()
        .filter(|r| r.workload.starts_with("idle-"))
        .collect();
    if idle.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nIdle worker: a `Worker` serving a list whose every task another live worker holds (10-minute leases), polling every {} ms; per second of idling, over {} s after {} s of warm-up (`ready_reads()` deltas). Not in the window: its walk of the list 60 s after its first sweep and every 10 minutes after.\n",
        idle.first().map_or(0.0, |r| r.figures.get("idle_poll_ms").copied().unwrap_or(0.0)),
        options.idle_secs,
        options.idle_warmup
    );
    let _ = writeln!(
        out,
        "| workload | c | variant | held tasks | hint rows/s | task states/s | walked records/s | client CPU µs/s | peak RSS MB |"
    );
    let _ = writeln!(out, "|---|---:|---|---:|---:|---:|---:|---:|---:|");
    for r in idle {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            r.workload,
            r.concurrency,
            r.variant,
            figure(r, "held", 0),
            figure(r, "hints_per_s", 1),
            figure(r, "states_per_s", 1),
            figure(r, "walked_per_s", 1),
            figure(r, "cpu_us_per_s", 0),
            r.peak_rss_mb
        );
    }
}

/// The flow rows: tasks through one list while producers save and worker
/// processes run, against the raw driver's INSERT of the same run.
fn flow_table(out: &mut String, rows: &[Row], options: &Options) {
    let flows: Vec<&Row> = rows.iter().filter(|r| r.workload == "flow").collect();
    if flows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nFlow: producers save new tasks while {} worker processes run them, on one list, for {} s; tasks/s are runs started in that window; the producers keep the backlog at a bound of max(2 × c × workers, 100) tasks, so the wait from a task's build to the start of its run is about that bound over the rate (the bench's queue, not the list's); claims lost counted by the workers' `taskrec_claims_total`; Paxos rounds by their adapters (`ReadyReads::task_transactions` and `part_transactions`: claims, unless the owner of a part writes them plainly with `owned_parts`, renewals, retries, and the parts' own).\n",
        options.flow_workers, options.flow_secs
    );
    let _ = writeln!(
        out,
        "| c | tasks/s | x raw INSERT | saved/s | ran twice | claims lost to each other | Paxos rounds / task | storage errors | p50 save→run ms | p99 save→run ms | client CPU µs/task | tail s |"
    );
    let _ = writeln!(
        out,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in flows {
        let raw = rows
            .iter()
            .find(|b| b.workload == "save" && b.variant == "raw" && b.concurrency == r.concurrency);
        let ratio = raw.filter(|b| b.ops_per_s > 0.0).map_or_else(
            || "–".to_owned(),
            |b| format!("{:.2}", r.ops_per_s / b.ops_per_s),
        );
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {} | {} | {} % | {} | {} | {:.1} | {:.1} | {:.0} | {} |",
            r.concurrency,
            r.ops_per_s,
            ratio,
            figure(r, "saved_per_s", 0),
            figure(r, "ran_twice", 0),
            figure(r, "claims_lost_pct", 1),
            figure(r, "paxos_per_task", 2),
            figure(r, "storage_errors", 0),
            r.p50_ms,
            r.p99_ms,
            r.cpu_us_per_op,
            figure(r, "tail_s", 1)
        );
    }
}

/// The churn rows: reads of a list emptied by many completions against the
/// same reads of a list that never had tasks.
fn churn_table(out: &mut String, rows: &[Row], options: &Options) {
    let churn: Vec<&Row> = rows
        .iter()
        .filter(|r| r.workload.starts_with("churn-"))
        .collect();
    if churn.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nChurn: tasks saved and completed through one list ({} in flight, each saved then completed), then `page(100)` and `count()` of the emptied list against a list that never had tasks (taskrec: read from another adapter, as by another process); medians of {} reads each, in ms. Right after the flow the list's last minutes are still open (a minute closes 5 minutes after it ends){}.\n",
        crate::child::CHURN_IN_FLIGHT,
        crate::child::CHURN_READS,
        if options.churn_settle > 0 {
            format!("; `settled`: the same reads {} s later", options.churn_settle)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "| workload | c | variant | completed | flow tasks/s | page emptied | page never | x | count emptied | count never | x |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let settled = churn
        .iter()
        .any(|r| r.figures.contains_key("settled_page_ms"));
    for prefix in if settled {
        &["", "settled_"][..]
    } else {
        &[""][..]
    } {
        for r in &churn {
            let f = |name: &str| millis(r, &format!("{prefix}{name}"));
            let x = |name: &str| figure(r, &format!("{prefix}{name}"), 2);
            let _ = writeln!(
                out,
                "| {}{} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
                r.workload,
                if prefix.is_empty() { "" } else { " settled" },
                r.concurrency,
                r.variant,
                figure(r, "completed", 0),
                r.ops_per_s,
                f("page_ms"),
                f("never_page_ms"),
                x("page_ratio"),
                f("count_ms"),
                f("never_count_ms"),
                x("count_ratio")
            );
        }
    }
}
