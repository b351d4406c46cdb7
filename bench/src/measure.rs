//! What a workload costs the client: wall time, CPU time from getrusage,
//! peak resident memory from /proc, and per-operation latencies in an
//! HdrHistogram.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies are kept in nanoseconds from 1 ns to 60 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

pub fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
    histogram.saturating_record(nanos.max(1));
}

/// User + system CPU time of this whole process (every thread), in µs.
pub fn cpu_micros() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a complete `rusage` into the pointer, which
    // is valid and properly aligned for that type; RUSAGE_SELF cannot fail.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    micros(usage.ru_utime) + micros(usage.ru_stime)
}

/// Resets the peak resident set size (VmHWM) to the current RSS, so that
/// the peak read after a workload is the workload's own, not the set-up's.
/// Linux's `clear_refs` value 5 does exactly that (since 4.0).
pub fn reset_peak_rss() -> std::io::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5")
}

/// The peak resident set size (VmHWM) in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// What one workload of one variant measured: the line a child process
/// prints for the orchestrator (the Python variant prints the same keys).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Outcome {
    /// Operations done (records, for a stream).
    pub ops: u64,
    pub secs: f64,
    /// User + system CPU of the client process during the workload.
    pub cpu_us: u64,
    pub peak_rss_kib: u64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    /// The tail a stream's page fetches show in: one item in a page of 1000.
    pub p999_ns: u64,
    pub max_ns: u64,
    /// What one latency sample is: `op` (one request and its decoding) or
    /// `item` (the wait for the next record of a stream).
    pub latency: String,
    /// The figures of a row that are not a throughput (an idle worker's
    /// reads per second, a churned list's read times), by their names in
    /// summary.json; none for most rows, and never from the Python variant.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<String, f64>,
}

/// A workload being measured: started after the set-up, finished with the
/// histogram of its latencies.
pub struct Meter {
    started: Instant,
    cpu_at_start: u64,
}

impl Meter {
    pub fn start() -> Self {
        if let Err(e) = reset_peak_rss() {
            eprintln!("taskrec-bench: cannot reset the peak RSS ({e}); it includes the set-up");
        }
        Meter {
            cpu_at_start: cpu_micros(),
            started: Instant::now(),
        }
    }

    pub fn finish(self, ops: u64, latencies: &Histogram<u64>, latency: &str) -> Outcome {
        let secs = self.started.elapsed().as_secs_f64();
        let cpu_us = cpu_micros().saturating_sub(self.cpu_at_start);
        Outcome {
            ops,
            secs,
            cpu_us,
            peak_rss_kib: peak_rss_kib(),
            p50_ns: latencies.value_at_quantile(0.50),
            p99_ns: latencies.value_at_quantile(0.99),
            p999_ns: latencies.value_at_quantile(0.999),
            max_ns: latencies.max(),
            latency: latency.to_owned(),
            figures: BTreeMap::new(),
        }
    }
}

/// Runs `op(0)` .. `op(n - 1)` with `concurrency` operations in flight:
/// that many tokio tasks, each taking the next index until none is left.
///
/// The tasks share one histogram behind a mutex: a histogram of this range
/// is about 220 KiB, and one per task would put 56 MiB of the bench's own
/// memory (and its page faults) into the figures at 256 in flight. The lock
/// is held for one counter increment, a few thousand times a second.
pub async fn run_ops<C, F, Fut>(
    ctx: Arc<C>,
    n: u64,
    concurrency: usize,
    op: F,
) -> Result<Histogram<u64>, String>
where
    C: Send + Sync + 'static,
    F: Fn(Arc<C>, u64) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(histogram()));
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (ctx, next, latencies) =
                (Arc::clone(&ctx), Arc::clone(&next), Arc::clone(&latencies));
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<_, String>(());
                    }
                    let started = Instant::now();
                    op(Arc::clone(&ctx), i).await?;
                    let elapsed = started.elapsed();
                    record(
                        &mut latencies.lock().unwrap_or_else(PoisonError::into_inner),
                        elapsed,
                    );
                }
            })
        })
        .collect();
    for worker in workers {
        worker
            .await
            .map_err(|e| format!("a worker panicked: {e}"))??;
    }
    let latencies = latencies.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(latencies.clone())
}

/// Drains a stream of records, timing the wait for each item (from the
/// previous item, or from the start for the first): page fetches show up in
/// the tail, decoding in the median. Returns how many items came and their
/// latencies.
pub async fn drain<S, T, E>(stream: S) -> Result<(u64, Histogram<u64>), String>
where
    S: Stream<Item = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut latencies = histogram();
    let mut items = 0u64;
    let mut stream = std::pin::pin!(stream);
    let mut last = Instant::now();
    while let Some(item) = stream.next().await {
        let value = item.map_err(|e| e.to_string())?;
        std::hint::black_box(&value);
        drop(value);
        let now = Instant::now();
        record(&mut latencies, now - last);
        last = now;
        items += 1;
    }
    Ok((items, latencies))
}
