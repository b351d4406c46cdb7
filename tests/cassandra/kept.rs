//! Tasks kept for long do not make a list's reads pay for the tasks that
//! flowed past them (issue 21, item 7), on a node of the test's own with
//! the tombstone thresholds of `tombstones.rs` (a read that scans more than
//! 1,000 tombstones logs a warning). Alone (about a minute):
//!
//! ```sh
//! cargo test --all-features --test cassandra kept:: -- --nocapture
//! ```
//!
//! A history of 100,800 tasks through one list over 84 past minutes, 12 of
//! every 1,200 kept (1 %, as failed tasks are kept for a person), in one
//! shard a minute so that a scan of a minute meets its 1,188 tombstones and
//! the server warns. The first count scans each minute (and the log says
//! so: the test's control) and names its 12 tasks in the directory; from
//! then on count, pages, all() and a claim-next sweep read the 1,008 kept
//! tasks by key and the log gains no tombstone line; tasks completed out of
//! a named minute leave it (named fewer, or drained).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use scylla::client::session::Session;
use taskrec::cassandra::{shard_of, TableLayout};
use taskrec::{Task, TaskData, TaskStore, TaskType};
use tokio::time::Instant;

use crate::own_node::OwnNode;
use crate::tombstones::{
    assert_ids, connect, log_len, ok, sweep, tombstone_lines, FAST_WRITES, KEYSPACE, THRESHOLDS,
};
use crate::utils::{chain, run, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Item {
    n: u64,
}

#[test]
fn kept_tasks_do_not_pin_what_flowed_past_them() {
    run(async {
        let _alone = crate::utils::HEAVY.lock().await;
        let extra = format!("{THRESHOLDS}\n{FAST_WRITES}");
        let node = OwnNode::start(&[("CASSANDRA_YAML_EXTRA", extra.as_str())]).await;
        let log = node.log_of(1);
        kept_tasks_are_read_by_key(&node, &log).await;
    });
}

/// Writes of a history in flight: few enough that the tests beside this one
/// keep some of the machine.
const HISTORY_IN_FLIGHT: usize = 48;

/// Minutes of history, tasks through each, and tasks of each kept.
const KEPT_MINUTES: i64 = 84;
const KEPT_FLOWED: u64 = 1_200;
const KEPT_EACH: u64 = 12;

/// Kept tasks do not make reads pay for the tasks that flowed past them.
///
/// The history is written as taskrec writes it, in past minutes, which a
/// save (always the current minute) cannot reach: each kept task's row and
/// entry, the directory rows, and a delete of each other task's entry
/// (what a completion leaves in the minute's partition: a tombstone).
async fn kept_tasks_are_read_by_key(node: &OwnNode, log: &Path) {
    let layout = TableLayout::Taskrec { shards: Some(1) };
    let adapter = Arc::new(connect(node, "kept", layout).await);
    let session = Arc::clone(adapter.session());
    let store = TaskStore::from_arc(Arc::clone(&adapter));
    let list = unique_list("kept");
    let now_minute = Utc::now().timestamp().div_euclid(60);
    let minutes: Vec<i64> = (0..KEPT_MINUTES).map(|i| now_minute - 10 - i).collect();
    let ks = KEYSPACE;
    let history = History {
        session: &session,
        table: format!("{ks}.kept"),
        list: &list,
        shards: 1,
    };
    let expected = history.write(&minutes, KEPT_FLOWED, KEPT_EACH).await;

    // Minutes are settled only while the cluster's time is known: after
    // the history's load, wait for a measurement rather than find none.
    ok("the cluster's time", store.now().await);
    // The first count scans each minute: the server warns, once a minute
    // at least (the control: without it, this test could not fail).
    let mark = log_len(log);
    assert_eq!(
        ok("the first count", store.count(&list).await),
        expected.len() as u64
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let scans = tombstone_lines(log, mark);
    assert!(
        scans.len() >= KEPT_MINUTES as usize,
        "the first count scans {KEPT_MINUTES} minutes of 1,188 tombstones each, \
         but the node logged {} tombstone warnings",
        scans.len()
    );

    // From then on the kept tasks are read by key.
    let mark = log_len(log);
    let timed = Instant::now();
    assert_eq!(ok("count", store.count(&list).await), expected.len() as u64);
    let mut walked = Vec::new();
    let mut token = None;
    loop {
        let (page, next) = ok(
            "page(100)",
            store.page::<Item>(&list, token.as_ref(), 100).await,
        );
        if next.is_some() {
            assert_eq!(page.len(), 100, "a page before the last is full");
        }
        walked.extend(page.into_iter().map(|t| ok("page(100)", t).id().to_owned()));
        token = next;
        if token.is_none() {
            break;
        }
    }
    assert_ids("paging through the kept tasks", walked, &expected);
    let all: Vec<Task<Item>> = ok("all()", store.all(&list).try_collect().await);
    assert_ids(
        "all() of the kept tasks",
        all.iter().map(|t| t.id().to_owned()).collect(),
        &expected,
    );
    let mut handed = ok("claim-next sweep", sweep(&adapter, &list).await);
    handed.sort();
    handed.dedup();
    assert_ids("claim-next on the kept tasks", handed, &expected);
    println!(
        "count, pages, all() and a claim-next sweep of the kept tasks: {:.0} ms",
        timed.elapsed().as_secs_f64() * 1000.0
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        tombstone_lines(log, mark),
        Vec::<String>::new(),
        "reads of a list whose kept tasks the directory names logged tombstones"
    );

    // Tasks that leave a named minute leave its name: all of the oldest
    // minute's (it is drained), half of the next one's.
    let (oldest, next) = (minutes[minutes.len() - 1], minutes[minutes.len() - 2]);
    let leaving: Vec<String> = (0..KEPT_EACH)
        .map(|k| format!("m{oldest}-{k:05}"))
        .chain((0..KEPT_EACH / 2).map(|k| format!("m{next}-{k:05}")))
        .collect();
    // A page that stopped in the oldest minute, after its sixth task.
    let (first, kept_token) = ok("page(6)", store.page::<Item>(&list, None, 6).await);
    let first: Vec<String> = first
        .into_iter()
        .map(|t| ok("page(6)", t).id().to_owned())
        .collect();
    assert_eq!(
        first,
        expected[..6],
        "the oldest minute's first six, in order"
    );
    for id in &leaving {
        let task = ok("find", store.find::<Item>(&list, id).await).expect("a kept task");
        ok("complete", store.complete(&task).await);
    }
    let left = expected.len() - leaving.len();
    assert_eq!(
        ok("count after completions", store.count(&list).await),
        left as u64
    );
    // That page goes on from the minute drained since: with the rest of the
    // list, each task once.
    let mut token = kept_token;
    let mut rest = Vec::new();
    while let Some(at) = token {
        let (page, next) = ok("page(100)", store.page::<Item>(&list, Some(&at), 100).await);
        rest.extend(page.into_iter().map(|t| ok("page(100)", t).id().to_owned()));
        token = next;
    }
    let remaining: Vec<String> = expected
        .iter()
        .filter(|id| !leaving.contains(id))
        .cloned()
        .collect();
    assert_ids(
        "the rest of a page begun before a minute drained",
        rest,
        &remaining,
    );
    let directory: Vec<(i64, Option<bool>, Option<Vec<String>>)> = session
        .query_unpaged(
            format!("SELECT slice, drained, kept FROM {ks}.kept_slices WHERE task_list = ? AND day IN ?"),
            (&list, days_of(&minutes)),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .rows()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let of = |minute: i64| directory.iter().find(|d| d.0 == minute).unwrap();
    assert_eq!(of(oldest).1, Some(true), "the emptied minute is drained");
    let named = of(next).2.clone().unwrap_or_default();
    assert_eq!(
        named.len(),
        (KEPT_EACH - KEPT_EACH / 2) as usize,
        "{named:?}"
    );
    let others = directory
        .iter()
        .filter(|d| d.0 != oldest && d.0 != next)
        .map(|d| d.2.as_ref().map_or(0, Vec::len))
        .collect::<Vec<_>>();
    assert_eq!(others, vec![KEPT_EACH as usize; KEPT_MINUTES as usize - 2]);
}

/// A list's history, written as taskrec writes it, in past minutes, which a
/// save (always the current minute) cannot reach: each kept task's row and
/// entry, the directory rows, and a delete of each other task's entry
/// (what a completion leaves in the minute's partition: a tombstone).
struct History<'a> {
    session: &'a Arc<Session>,
    /// `keyspace.table` of the tasks table.
    table: String,
    list: &'a str,
    shards: u32,
}

/// One write of a history.
enum Write {
    /// A kept task's row and entry: its id and number.
    Kept(String, u64),
    /// What a completed task left in its minute.
    Gone(String),
    /// The directory's row of the minute, and of its day.
    Directory,
}

impl History<'_> {
    /// `flowed` tasks through each of `minutes`, the first `kept` of each
    /// kept: their ids, sorted.
    async fn write(&self, minutes: &[i64], flowed: u64, kept: u64) -> Vec<String> {
        let table = &self.table;
        let prepare = |cql: String| async move { self.session.prepare(cql).await.unwrap() };
        let row = prepare(format!(
            "INSERT INTO {table} (task_list, id, type, data, created_at, updated_at, state, \
             state_token, slice) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .await;
        let entry = prepare(format!(
            "INSERT INTO {table}_entries (task_list, slice, shard, id, type, data, created_at, \
             updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .await;
        let gone = prepare(format!(
            "DELETE FROM {table}_entries WHERE task_list = ? AND slice = ? AND shard = ? AND id = ?"
        ))
        .await;
        let slice_row = prepare(format!(
            "INSERT INTO {table}_slices (task_list, day, slice) VALUES (?, ?, ?)"
        ))
        .await;
        let day_row = prepare(format!(
            "INSERT INTO {table}_days (task_list, day) VALUES (?, ?)"
        ))
        .await;

        let mut expected = Vec::new();
        let mut writes = Vec::new();
        for &minute in minutes {
            writes.push((minute, Write::Directory));
            for k in 0..flowed {
                let id = format!("m{minute}-{k:05}");
                if k < kept {
                    expected.push(id.clone());
                    writes.push((minute, Write::Kept(id, k)));
                } else {
                    writes.push((minute, Write::Gone(id)));
                }
            }
        }
        let timed = Instant::now();
        let (list, session) = (self.list, self.session);
        let (row, entry, gone, slice_row, day_row) = (&row, &entry, &gone, &slice_row, &day_row);
        let shard = |id: &str| shard_of(id, self.shards) as i32;
        futures::stream::iter(writes)
            .map(|(minute, write)| async move {
                let at = scylla::value::CqlTimestamp(minute * 60_000);
                let day = minute.div_euclid(1_440);
                let result = match write {
                    Write::Kept(id, n) => {
                        let data = format!("{{\"n\":{n}}}");
                        let (token, state) =
                            (uuid::Uuid::new_v4(), taskrec::adapter::INITIAL_STATE_JSON);
                        let type_name = Item::TYPE_NAME;
                        let values = (list, &id, type_name, &data, at, at, state, token, minute);
                        let entry_values =
                            (list, minute, shard(&id), &id, type_name, &data, at, at);
                        session
                            .execute_unpaged(row, values)
                            .await
                            .and(session.execute_unpaged(entry, entry_values).await)
                    }
                    Write::Gone(id) => {
                        let values = (list, minute, shard(&id), &id);
                        session.execute_unpaged(gone, values).await
                    }
                    Write::Directory => session
                        .execute_unpaged(slice_row, (list, day, minute))
                        .await
                        .and(session.execute_unpaged(day_row, (list, day)).await),
                };
                result.unwrap_or_else(|e| panic!("writing the history: {}", chain(&e)));
            })
            .buffer_unordered(HISTORY_IN_FLIGHT)
            .collect::<Vec<()>>()
            .await;
        expected.sort();
        println!(
            "history of {} tasks over {} minutes, {} kept, written in {:.1} s",
            minutes.len() as u64 * flowed,
            minutes.len(),
            expected.len(),
            timed.elapsed().as_secs_f64()
        );
        expected
    }
}

/// On demand, on the test server (default thresholds, 16 buckets): what a
/// count and a page of a list cost after 600 minutes of history with one
/// task of each minute kept, by how many tasks flowed through each minute
/// (`TASKREC_KEPT_FLOWED`, default 100: 60,000 tasks; 1,667: a million).
/// The first count scans every minute and names its kept task; the reads
/// after it are timed (three of each, the median printed). Figures in
/// docs/SCALE.md.
///
/// ```sh
/// TASKREC_KEPT_FLOWED=1667 cargo test --release --all-features --test cassandra \
///     kept::reads_by_how_many -- --ignored --nocapture
/// ```
#[test]
#[ignore = "minutes of history written: run on demand (docs/SCALE.md)"]
fn reads_by_how_many_tasks_flowed_past_the_kept_ones() {
    run(async {
        let flowed: u64 = std::env::var("TASKREC_KEPT_FLOWED")
            .map(|v| v.parse().expect("TASKREC_KEPT_FLOWED is a number"))
            .unwrap_or(100);
        let layout = TableLayout::Taskrec { shards: Some(16) };
        let adapter =
            Arc::new(crate::utils::adapter(crate::utils::config("kept_timed", layout)).await);
        let session = Arc::clone(adapter.session());
        let store = TaskStore::from_arc(Arc::clone(&adapter));
        let list = unique_list("kept-timed");
        let now_minute = Utc::now().timestamp().div_euclid(60);
        let minutes: Vec<i64> = (0..600).map(|i| now_minute - 10 - i).collect();
        let history = History {
            session: &session,
            table: format!("{}.kept_timed", crate::utils::keyspace()),
            list: &list,
            shards: 16,
        };
        let expected = history.write(&minutes, flowed, 1).await;
        let median_ms = |mut times: Vec<f64>| {
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        };
        // Minutes are settled only while the cluster's time is known: after
        // the history's load, wait for a measurement rather than find none.
        ok("the cluster's time", store.now().await);
        let timed = Instant::now();
        assert_eq!(ok("the first count", store.count(&list).await), 600);
        println!(
            "the first count (scans 600 minutes, names their kept tasks): {:.0} ms",
            timed.elapsed().as_secs_f64() * 1000.0
        );
        let named = session
            .query_unpaged(
                format!(
                    "SELECT kept FROM {}.kept_timed_slices WHERE task_list = ? AND day IN ?",
                    crate::utils::keyspace()
                ),
                (&list, days_of(&minutes)),
            )
            .await
            .unwrap()
            .into_rows_result()
            .unwrap()
            .rows::<(Option<Vec<String>>,)>()
            .unwrap()
            .filter(|row| {
                row.as_ref()
                    .unwrap()
                    .0
                    .as_ref()
                    .is_some_and(|k| k.len() == 1)
            })
            .count();
        assert_eq!(named, 600, "minutes whose kept task the directory names");
        let (mut counts, mut pages) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            let timed = Instant::now();
            assert_eq!(ok("count", store.count(&list).await), 600);
            counts.push(timed.elapsed().as_secs_f64() * 1000.0);
            let timed = Instant::now();
            let (page, _) = ok("page(100)", store.page::<Item>(&list, None, 100).await);
            pages.push(timed.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(page.len(), 100);
        }
        let all: Vec<Task<Item>> = ok("all()", store.all(&list).try_collect().await);
        assert_ids(
            "all() of the kept tasks",
            all.iter().map(|t| t.id().to_owned()).collect(),
            &expected,
        );
        let fresh = unique_list("never-used");
        let timed = Instant::now();
        assert_eq!(
            ok("count of a list never used", store.count(&fresh).await),
            0
        );
        println!(
            "{} tasks flowed, 600 kept: count {:.1} ms, page(100) {:.1} ms (medians of 3); \
             a list never used counts in {:.1} ms",
            600 * flowed,
            median_ms(counts),
            median_ms(pages),
            timed.elapsed().as_secs_f64() * 1000.0
        );
    });
}

/// The days of `minutes`, each once.
fn days_of(minutes: &[i64]) -> Vec<i64> {
    let days: std::collections::BTreeSet<i64> =
        minutes.iter().map(|m| m.div_euclid(1_440)).collect();
    days.into_iter().collect()
}
