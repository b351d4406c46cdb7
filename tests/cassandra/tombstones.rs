//! Lists that tasks flow through, in every CI run (the test is
//! `churn::a_list_200k_tasks_flowed_through_reads_under_lowered_tombstone_thresholds`), on a node of the test's
//! own (`own_node`) whose tombstone failure threshold is lowered tenfold:
//! `tombstone_failure_threshold: 10000` (default 100,000), beside
//! `tombstone_warn_threshold: 1000` (the default, set explicitly). A read
//! that scans more than 1,000 tombstones logs a warning; past 10,000 the
//! server aborts it. Alone, printing the rates, the per-minute counts and
//! the log lines found (about 2.5 minutes here):
//!
//! ```sh
//! cargo test --all-features --test cassandra churn::a_list_200k -- --nocapture
//! ```
//!
//! - task_rb's table first, to show the thresholds are in force: after
//!   15,000 tasks saved and completed through one list (a range tombstone
//!   each, two bounds), its count, page and listing are aborted by the
//!   server, and the node's log says so.
//! - taskrec's table: 200,000 tasks saved and completed through one list;
//!   the emptied list's listing, page, count and claim-next sweep answer
//!   nothing, a refill of 1,000 tasks reads back exactly (listing, pages,
//!   count, claim-next, a worker's drain), and none of those reads writes a
//!   tombstone line to the node's log.
//!
//! What bounds the tombstones a read of taskrec's table meets is the layout
//! (schema=3): a listing reads "entries" partitions keyed
//! `((task_list, slice, shard), id)`, slice = the minute of a task's first
//! save, shard = `shard_of(id, buckets)`, so one partition holds the
//! tombstones of what the list created in one minute, over the bucket count.
//! The churn is paced (`MAX_RATE`) so that this stays under the warning
//! threshold however fast the machine is: see `BUCKETS`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{CassandraAdapter, CassandraConfig, TableLayout};
use taskrec::{Task, TaskData, TaskStore, Worker, WorkerConfig};
use tokio::time::Instant;

use crate::own_node::OwnNode;
use crate::utils::{chain, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Item {
    n: u64,
}

/// For `CASSANDRA_YAML_EXTRA` (scripts/cassandra-start).
pub(crate) const THRESHOLDS: &str =
    "tombstone_warn_threshold: 1000\ntombstone_failure_threshold: 10000";
/// Also for `CASSANDRA_YAML_EXTRA`, after the scripts' own settings (a key
/// given again wins): this node is wiped when the test ends, so it need not
/// fsync each write before acknowledging it (the scripts' `batch`), and
/// more threads than the scripts' 2 serve the churn's reads and writes.
///
/// The request timeouts are raised from 2 s (writes) and 5 s (reads) to
/// 30 s: this test is about what reads scan, and on a loaded CI machine a
/// stall of a few seconds among 192 writes in flight failed the churn with
/// a server-side write timeout (CI, 2026-12-03), which says nothing about
/// tombstones. The client waits longer still (`CLIENT_TIMEOUT`).
pub(crate) const FAST_WRITES: &str = "commitlog_sync: periodic\ncommitlog_sync_period: 10000ms\n\
                           concurrent_writes: 32\nconcurrent_reads: 32\n\
                           write_request_timeout: 30000ms\nread_request_timeout: 30000ms\n\
                           range_request_timeout: 30000ms";
/// The driver's request timeout: past the server's own (`FAST_WRITES`), so
/// a slow request fails, if at all, with the server's answer.
pub(crate) const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
pub(crate) const KEYSPACE: &str = "taskrec_thresholds";

/// Tasks saved and completed through one list of taskrec's table.
const CHURN: u64 = 200_000;
/// Save-and-complete pairs in flight.
pub(crate) const IN_FLIGHT: usize = 192;
/// The table's bucket count: entries partitions per list and minute.
///
/// Measured here (2026-12-02, debug build, 2 cores, the own node beside the
/// idle shared test server), saves and completes through one list with 192
/// in flight: 1,605 tasks/s with `FAST_WRITES` (60,000 tasks, uncapped);
/// 1,080/s without them, 262–732/s without them while other builds ran.
/// So at most 1,600 × 60 = 96,000 tasks per list and minute (measured:
/// 96,010 in the busiest minute), over 160 shards: 600 tombstones per
/// entries partition on average (~680 in the fullest shard, the hash's
/// spread), well under the warning threshold's 1,000. `MAX_RATE` holds the
/// churn there on a faster machine.
///
/// And not more buckets: 200,000 / 160 = 1,250 > 1,000, so a layout whose
/// listings read a list's B buckets (schema=2: `((task_list, bucket), id)`)
/// meets more than the warning threshold in every bucket and fails here.
const BUCKETS: u32 = 160;
/// Tasks a second the churn is held to, at most: 1,600 × 60 / 160 = 600
/// tombstones per shard and minute, whatever the machine.
const MAX_RATE: f64 = 1_600.0;
/// Tasks saved into the emptied list, then read back.
const REFILL: u64 = 1_000;
/// Tasks saved and completed through one list of task_rb's table: 15,000
/// range tombstones, 30,000 bounds, three times the failure threshold.
const TASK_RB_CHURN: u64 = 15_000;

pub(crate) async fn connect(node: &OwnNode, table: &str, layout: TableLayout) -> CassandraAdapter {
    let config = CassandraConfig::new([node.address()], KEYSPACE)
        .table(table)
        .layout(layout)
        .request_timeout(CLIENT_TIMEOUT)
        .create_schema(true);
    CassandraAdapter::connect(config)
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {}", node.address(), chain(&e)))
}

/// Saves and completes `n` tasks through `list`, `IN_FLIGHT` at a time and
/// at most `max_rate` a second; prints the rate and answers how many tasks
/// were first saved in each minute since the epoch (by this client's clock).
async fn churn(
    store: &TaskStore<CassandraAdapter>,
    list: &str,
    n: u64,
    max_rate: Option<f64>,
) -> BTreeMap<i64, u64> {
    let started = Instant::now();
    // Each task starts at least 1 / rate after the one before, counted from
    // when that one started: a churn that fell behind does not catch up in
    // a burst (which would crowd one minute past the test's premise).
    let next_start = Mutex::new(started);
    let next_start = &next_start;
    let minutes = futures::stream::iter(0..n)
        .map(|k| async move {
            if let Some(rate) = max_rate {
                let at = {
                    let mut next = next_start.lock().unwrap();
                    let at = (*next).max(Instant::now());
                    *next = at + Duration::from_secs_f64(1.0 / rate);
                    at
                };
                tokio::time::sleep_until(at).await;
            }
            let task = Task::new(list, format!("c{k:06}"), Item { n: k })?;
            let minute = Utc::now().timestamp().div_euclid(60);
            store.save(&task).await?;
            store.complete(&task).await?;
            Ok::<_, taskrec::Error>(minute)
        })
        .buffer_unordered(IN_FLIGHT)
        .try_fold(BTreeMap::new(), |mut minutes, minute| async move {
            *minutes.entry(minute).or_insert(0u64) += 1;
            Ok(minutes)
        })
        .await
        .unwrap_or_else(|e| panic!("saving and completing through {list}: {}", chain(&e)));
    let took = started.elapsed().as_secs_f64();
    println!(
        "{n} tasks saved and completed through {list} in {took:.1} s: {:.0} tasks/s \
         ({IN_FLIGHT} in flight{})",
        n as f64 / took,
        max_rate.map_or_else(String::new, |r| format!(", at most {r:.0}/s")),
    );
    minutes
}

pub(crate) fn log_len(log: &Path) -> u64 {
    std::fs::metadata(log).map_or(0, |m| m.len())
}

/// The lines of the node's log written since `from` (a length of it) that
/// speak of tombstones: Cassandra's warning ("Read N live rows and M
/// tombstone cells for query ... (see tombstone_warn_threshold)") and its
/// abort ("Scanned over N tombstones during query ...; query aborted",
/// `TombstoneOverwhelmingException`). Printed as found.
pub(crate) fn tombstone_lines(log: &Path, from: u64) -> Vec<String> {
    let bytes = std::fs::read(log).unwrap_or_else(|e| panic!("reading {}: {e}", log.display()));
    let start = usize::try_from(from).unwrap().min(bytes.len());
    let lines: Vec<String> = String::from_utf8_lossy(&bytes[start..])
        .lines()
        .filter(|line| line.to_ascii_lowercase().contains("tombstone"))
        .map(str::to_owned)
        .collect();
    println!(
        "{} tombstone line(s) in {} since byte {from}:",
        lines.len(),
        log.display()
    );
    for line in &lines {
        println!("  {line}");
    }
    lines
}

/// One claim-next sweep of `list` at one `now`: the ids handed out.
pub(crate) async fn sweep(adapter: &CassandraAdapter, list: &str) -> taskrec::Result<Vec<String>> {
    let now = Utc::now();
    let (mut token, mut ids) = (None, Vec::new());
    loop {
        let step = adapter.next_ready(list, token.as_ref(), 100, now).await?;
        ids.extend(step.tasks.iter().map(|s| s.record.id().to_owned()));
        token = step.next;
        if token.is_none() {
            return Ok(ids);
        }
    }
}

pub(crate) fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Asserts that `got` is `expected` (sorted) exactly, each id once; on a
/// mismatch says how, without printing a thousand ids.
pub(crate) fn assert_ids(what: &str, got: Vec<String>, expected: &[String]) {
    let got = sorted(got);
    if got == expected {
        return;
    }
    let mut distinct = got.clone();
    distinct.dedup();
    let missing: Vec<&String> = expected
        .iter()
        .filter(|id| distinct.binary_search(id).is_err())
        .collect();
    let extra: Vec<&String> = distinct
        .iter()
        .filter(|id| expected.binary_search(id).is_err())
        .collect();
    panic!(
        "{what}: {} ids, {} distinct, of {} expected; {} missing (first {:?}), {} unexpected \
         (first {:?})",
        got.len(),
        distinct.len(),
        expected.len(),
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>(),
        extra.len(),
        extra.iter().take(5).collect::<Vec<_>>(),
    );
}

pub(crate) fn ok<T>(what: &str, result: taskrec::Result<T>) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {}", chain(&e)))
}

/// The thresholds are in force: task_rb's table keeps a list in one
/// partition, so its reads meet every completion's tombstone and fail.
pub(crate) async fn task_rbs_table_is_aborted(node: &OwnNode, log: &Path) {
    let store = TaskStore::new(connect(node, "task_rb_tasks", TableLayout::TaskRb).await);
    let list = unique_list("task-rb");
    churn(&store, &list, TASK_RB_CHURN, None).await;

    let mark = log_len(log);
    let count = store.count(&list).await;
    let page = store.page::<Item>(&list, None, 100).await;
    let all = store.all::<Item>(&list).try_collect::<Vec<_>>().await;
    for (what, result) in [
        ("count", count.map(|n| format!("{n} tasks"))),
        ("page(100)", page.map(|(p, _)| format!("{} tasks", p.len()))),
        ("all()", all.map(|a| format!("{} tasks", a.len()))),
    ] {
        let e = result.expect_err(&format!(
            "{what} of a task_rb list with {TASK_RB_CHURN} completions must be aborted"
        ));
        let text = chain(&e);
        println!("task_rb's table, {what} after {TASK_RB_CHURN} completions: {text}");
        assert!(
            text.contains("READ_TOO_MANY_TOMBSTONES"),
            "{what} failed, but not on the tombstone threshold: {text}"
        );
    }
    // The replica logs the abort as it fails the read; the answer may be
    // sent first: give the log a moment.
    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = tombstone_lines(log, mark);
        if lines.iter().any(|l| l.contains("Scanned over")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Cassandra 5.0.9 logs, for each aborted read:
    //   WARN  [ReadStage-4] ... ReadCommand.java:644 - Read 0 live rows and 10001 tombstone
    //     cells for query SELECT data FROM ks.task_rb_tasks WHERE task_list = '...' LIMIT 100
    //     ALLOW FILTERING; token ... (see tombstone_warn_threshold)
    //   ERROR [ReadStage-4] ... StorageProxy.java:2248 - Scanned over 10001 tombstones during
    //     query 'SELECT data FROM ...' (last scanned row token was ... and partion key was
    //     ((...), c005000)); query aborted
    let ours = |l: &&String| l.contains(&format!("task_list = '{list}'"));
    assert!(
        lines.iter().filter(ours).any(|l| l.starts_with("WARN")
            && l.contains("Read 0 live rows and 10001 tombstone cells for query")
            && l.contains("(see tombstone_warn_threshold)")),
        "no tombstone warning for the reads of {list} in {}",
        log.display()
    );
    assert!(
        lines.iter().filter(ours).any(|l| l.starts_with("ERROR")
            && l.contains("Scanned over 10001 tombstones during query")
            && l.ends_with("query aborted")),
        "no tombstone abort of the reads of {list} in {}",
        log.display()
    );
}

/// taskrec's table: 200,000 completions through one list, and its reads
/// stay under the thresholds, silent in the log.
pub(crate) async fn taskrecs_table_reads_clean(node: &OwnNode, log: &Path) {
    let layout = TableLayout::Taskrec {
        shards: Some(BUCKETS),
    };
    let adapter = Arc::new(connect(node, "tasks", layout).await);
    assert_eq!(adapter.shards(), BUCKETS);
    let store = TaskStore::from_arc(Arc::clone(&adapter));
    let list = unique_list("flowed");

    let minutes = churn(&store, &list, CHURN, Some(MAX_RATE)).await;
    for (minute, n) in &minutes {
        let at = chrono::DateTime::from_timestamp(minute * 60, 0).unwrap();
        println!(
            "  first saved in the minute {}: {n:>6} tasks, {:.0} per shard",
            at.format("%H:%M"),
            *n as f64 / f64::from(BUCKETS)
        );
    }
    assert_eq!(minutes.values().sum::<u64>(), CHURN);
    let busiest = minutes.values().copied().max().unwrap_or(0);
    assert!(
        busiest as f64 / f64::from(BUCKETS) < 700.0,
        "the test's premise: at most ~600 tombstones per shard and minute, \
         but a minute saw {busiest} tasks over {BUCKETS} shards"
    );

    // The emptied list.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mark = log_len(log);
    let timed = Instant::now();
    let all = store.all::<Item>(&list).try_collect::<Vec<_>>().await;
    let page = store.page::<Item>(&list, None, 100).await;
    let count = store.count(&list).await;
    let swept = sweep(&adapter, &list).await;
    println!(
        "the emptied list's all(), page(100), count and claim-next sweep: {:.0} ms",
        timed.elapsed().as_secs_f64() * 1000.0
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let warnings = tombstone_lines(log, mark);
    let all = ok("all() of the emptied list", all);
    assert_eq!(all.len(), 0, "all() of the emptied list");
    let (page, next) = ok("page(100) of the emptied list", page);
    assert_eq!(
        (page.len(), next),
        (0, None),
        "page(100) of the emptied list"
    );
    assert_eq!(ok("count of the emptied list", count), 0);
    let swept = ok("claim-next sweep of the emptied list", swept);
    assert_eq!(
        swept,
        Vec::<String>::new(),
        "claim-next on the emptied list"
    );
    assert_eq!(
        warnings,
        Vec::<String>::new(),
        "reads of the emptied list logged tombstones"
    );

    // Refilled with 1,000 tasks.
    let fresh: Vec<Task<Item>> = (0..REFILL)
        .map(|n| Task::new(&list, format!("r{n:04}"), Item { n }).unwrap())
        .collect();
    ok("saving the refill", store.save_all(&fresh, 64).await);
    let expected = sorted(fresh.iter().map(|t| t.id().to_owned()).collect());
    let mark = log_len(log);
    let timed = Instant::now();

    let all: Vec<Task<Item>> = ok("all()", store.all(&list).try_collect().await);
    assert_ids(
        "all() of the refilled list",
        all.iter().map(|t| t.id().to_owned()).collect(),
        &expected,
    );
    for task in &all {
        let n: u64 = task.id()[1..].parse().unwrap();
        assert_eq!(task.data(), &Item { n }, "{}", task.id());
    }

    // Exactly 100: more than the adapter contract promises (a page "may
    // hold fewer, even none, before the last"), what taskrec's table does.
    let (first, mut token) = ok("page(100)", store.page::<Item>(&list, None, 100).await);
    assert_eq!(first.len(), 100, "the first page(100) of the refilled list");
    assert!(token.is_some(), "page(100) of 1,000 tasks has a next token");
    let mut walked: Vec<String> = first
        .into_iter()
        .map(|t| ok("page(100)", t).id().to_owned())
        .collect();
    let mut pages = 1;
    while let Some(at) = token {
        let (page, next) = ok("page(100)", store.page::<Item>(&list, Some(&at), 100).await);
        assert!(page.len() <= 100, "a page of {} tasks", page.len());
        walked.extend(page.into_iter().map(|t| ok("page(100)", t).id().to_owned()));
        token = next;
        pages += 1;
    }
    assert_ids("paging through the refilled list", walked, &expected);

    assert_eq!(ok("count", store.count(&list).await), REFILL);
    // Every task handed out; an adapter may hand a task out more than once
    // in a sweep (its second claim finds it taken: `conformance`).
    let handed = ok("claim-next sweep", sweep(&adapter, &list).await);
    let handouts = handed.len();
    let mut distinct = sorted(handed);
    distinct.dedup();
    println!(
        "a claim-next sweep of the refilled list: {handouts} handouts of {} distinct tasks",
        distinct.len()
    );
    assert_ids("claim-next on the refilled list", distinct, &expected);

    let ran = Mutex::new(Vec::new());
    let worker = Worker::new(
        store.clone(),
        WorkerConfig::new("tombstones").concurrency(32),
    );
    let report = ok(
        "draining the refilled list",
        worker
            .drain_with::<Item, _>(&list, |task| {
                ran.lock().unwrap().push(task.id().to_owned());
                Box::pin(async { Ok(None) })
            })
            .await,
    );
    assert_eq!(
        (report.succeeded, report.failed, report.errors),
        (REFILL, 0, 0),
        "{report:?}"
    );
    assert_ids(
        "the tasks the worker ran",
        ran.into_inner().unwrap(),
        &expected,
    );
    assert_eq!(ok("count after the drain", store.count(&list).await), 0);
    println!(
        "the refilled list's all(), {pages} pages, count, \
         claim-next sweep and drain: {:.0} ms",
        timed.elapsed().as_secs_f64() * 1000.0
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        tombstone_lines(log, mark),
        Vec::<String>::new(),
        "reads of the refilled list logged tombstones"
    );
}
