//! The comparison harness behind `scripts/bench`.
//!
//! ```text
//! taskrec-bench run [--quick] [--n N] [--c1-n N] [--concurrency 1,32,256]
//!                   [--variants raw,raw+serde,...] [--workloads save,find,...]
//!                   [--shrink D] [--idle-secs S] [--idle-warmup S] [--churn-settle S]
//!                   [--python PATH] [--python-script PATH]
//!                   [--addr HOST:PORT] [--keyspace NAME] [--out DIR] [--repeat R]
//! taskrec-bench one --variant V --workload W --concurrency C --n N --list L [--addr ..] [--keyspace ..]
//! taskrec-bench flow-worker --list L --owner NAME --concurrency C [--addr ..] [--keyspace ..]
//! taskrec-bench dashboard [--tasks N] [--repeat R] [--addr ..] [--keyspace ..] [--out DIR]
//! taskrec-bench help
//! ```
//!
//! `run` drives everything and writes `summary.json`; `one` is the child
//! process it starts for each (workload, variant, concurrency), so that each
//! measurement has a process, a CPU clock and a peak RSS of its own.
//! `flow-worker` is a worker process of the `flow` workload (`flow.rs`).
//! `dashboard` times the dashboard's pages over a list of `N` tasks
//! (`dashboard.rs`; `scripts/bench --dashboard`).
//! `help` prints [`USAGE`].

mod args;
mod child;
mod cql;
mod dashboard;
mod flow;
mod measure;
mod payload;
mod plan;
mod run;

use std::process::ExitCode;

/// An error and every cause under it, `: `-separated: taskrec's storage
/// errors say what failed, their sources what the server answered.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The benchmark's own Cassandra: `CASSANDRA_IP_OFFSET=20 scripts/cassandra-start`.
pub const DEFAULT_ADDR: &str = "127.0.0.21:9042";
pub const DEFAULT_KEYSPACE: &str = "taskrec_bench";

/// What `taskrec-bench help` prints: the options of `run`, and the
/// workloads a run without `--workloads` leaves out.
pub const USAGE: &str = "\
usage: taskrec-bench run [options]   the whole comparison (scripts/bench runs it)
       taskrec-bench one --variant V --workload W --concurrency C --n N --list L [--addr ..] [--keyspace ..]
                                     one measurement, in a process of its own (run starts these)
       taskrec-bench dashboard [--tasks N] [--repeat R] [--addr ..] [--keyspace ..] [--out DIR]
                                     the dashboard's pages over one list of N live tasks (default
                                     1,000,000; filled up to N first: a list that holds N is measured as it is), R requests
                                     each (default 20), against one count of every task's state
       taskrec-bench help

run's options:
  --quick                 N = 20,000 (default 1,000,000)
  --n N, --c1-n N         N, and N at concurrency 1 (save/find/complete)
  --concurrency LIST      default 1,32,256
  --variants LIST         raw, raw+serde, taskrec, taskrec-dyn, memory, python (default: all;
                          python only with --python PATH)
  --workloads LIST        names or groups, comma-separated:
                            default  save, save-all, find, claim, stream, stream-task_rb,
                                     complete, drain, flow (what a run without --workloads
                                     measures; N-sized; save-all: groups of 100 through
                                     save_all, raw: one batch per bucket partition)
                            scale    drain-10k, drain-100k, idle-10k, idle-100k, churn-100k
                                     (list sizes, fixed whatever N; opt-in: 10-20 more minutes)
                            all      both
  --flow-secs S           the flow's measured window (default 60)
  --flow-workers W        the flow's worker processes (default 2)
  --replicas R            the keyspace's replication factor (default 1; 3 on the cluster run)
  --repeat R              every figure the median of R runs
  --addr HOST:PORT, --keyspace NAME, --out DIR, --python PATH, --python-script PATH

the list-size workloads (taskrec; drains and churn also memory):
  drain-10k, drain-100k   a Worker drains a list of 10,000 / 100,000 tasks, at every
                          concurrency, each its own list seeded before the run (drain keeps N/10)
  idle-10k, idle-100k     a worker (concurrency 8, idle_poll 200 ms) serves a list whose
                          10,000 / 100,000 tasks another live worker holds: hint rows, task
                          states and walked records its sweeps read per second of idling
  churn-100k              100,000 tasks saved and completed through one list; then page(100)
                          and count() of it, timed against a list that never had tasks
  --shrink D              divide those sizes by D (smoke runs; n in summary.json is what ran)
  --idle-secs S           seconds measured (default 10), after
  --idle-warmup S         seconds of idling first (default 5); a worker walks its list 60 s
                          after its first sweep: --idle-warmup 0 --idle-secs 70 shows that walk
  --churn-settle S        also time the churn's reads S seconds later (default 0: not),
                          once the emptied list's minutes have closed (about 400 s)
";

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if matches!(
        raw.first().map(String::as_str),
        Some("help" | "--help" | "-h")
    ) {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = match raw.split_first() {
        Some((command, rest))
            if matches!(command.as_str(), "run" | "one" | "flow-worker" | "dashboard") =>
        {
            args::Args::parse(rest).and_then(|mut args| match command.as_str() {
                "run" => run::main(&mut args),
                "one" => child::main(&mut args),
                "dashboard" => dashboard::main(&mut args),
                _ => flow::worker_main(&mut args),
            })
        }
        _ => Err("usage: taskrec-bench run [--quick] ... | taskrec-bench one --variant V --workload W ... | taskrec-bench help".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("taskrec-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
