//! The comparison harness behind `scripts/bench`.
//!
//! ```text
//! taskrec-bench run [--quick] [--n N] [--c1-n N] [--concurrency 1,32,256]
//!                   [--variants raw,raw+serde,...] [--workloads save,find,...]
//!                   [--python PATH] [--python-script PATH]
//!                   [--addr HOST:PORT] [--keyspace NAME] [--out DIR]
//! taskrec-bench one --variant V --workload W --concurrency C --n N --list L [--addr ..] [--keyspace ..]
//! ```
//!
//! `run` drives everything and writes `summary.json`; `one` is the child
//! process it starts for each (workload, variant, concurrency), so that each
//! measurement has a process, a CPU clock and a peak RSS of its own.

mod args;
mod child;
mod cql;
mod measure;
mod payload;
mod plan;
mod run;

use std::process::ExitCode;

/// The benchmark's own Cassandra: `CASSANDRA_IP_OFFSET=20 scripts/cassandra-start`.
pub const DEFAULT_ADDR: &str = "127.0.0.21:9042";
pub const DEFAULT_KEYSPACE: &str = "taskrec_bench";

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let result = match raw.split_first() {
        Some((command, rest)) if command == "run" || command == "one" => {
            args::Args::parse(rest).and_then(|mut args| {
                if command == "run" {
                    run::main(&mut args)
                } else {
                    child::main(&mut args)
                }
            })
        }
        _ => Err("usage: taskrec-bench run [--quick] ... | taskrec-bench one --variant V --workload W ... (see the source's header)".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("taskrec-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
