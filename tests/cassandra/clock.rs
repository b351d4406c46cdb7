//! A client's clock cannot hide, delay or double-run a task: taskrec keeps
//! time by the cluster (issue 20), tried against the real server with
//! clocks that are wrong.
//!
//! The wrong clocks are real ones. This test binary runs again as a child
//! process (the ignored test `clock::child`, which plays one role and
//! prints what it saw) with libfaketime preloaded (`LD_PRELOAD`,
//! `FAKETIME=-6m`): every read of the wall clock in that process is
//! shifted (std's, chrono's, the driver's, taskrec's), so no code path can
//! read the true time by accident, which a clock handed to the adapter in
//! its configuration could not show. The monotonic clock is left alone
//! (`FAKETIME_DONT_FAKE_MONOTONIC=1`), as an NTP step leaves it.
//! `scripts/test` installs libfaketime (Debian's package) with
//! `scripts/faketime-install`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{CassandraAdapter, CassandraConfig, TableLayout};
use taskrec::{Error, Task, TaskData, TaskStore, Worker, WorkerConfig, WorkerEvent};

use crate::utils::{adapter, address, bucketed, config, keyspace, run, unique_list, KEYSPACE_VAR};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Probe {
    n: u32,
}

/// The variable naming a child's role; unset, `clock::child` does nothing.
const ROLE: &str = "TASKREC_CLOCK_CHILD";
/// The prefix of the lines a child prints for its parent.
const SAYS: &str = "CHILD ";

fn layout() -> TableLayout {
    TableLayout::Taskrec { shards: Some(16) }
}

/// Debian's libfaketime (its thread-safe build, under `/usr/lib/<arch>/`),
/// or the file `TASKREC_LIBFAKETIME` names.
fn libfaketime() -> PathBuf {
    if let Some(path) = std::env::var_os("TASKREC_LIBFAKETIME") {
        return PathBuf::from(path);
    }
    std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|dir| dir.path().join("faketime/libfaketimeMT.so.1"))
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "libfaketime is missing: install it with scripts/faketime-install \
                 (scripts/test does), or name it in TASKREC_LIBFAKETIME"
            )
        })
}

/// How a child's wall clock is shifted.
enum Shift<'a> {
    /// By a fixed amount, in faketime's words (`-6m`, `+1h`).
    By(&'a str),
    /// By what a file says, read again at every clock read.
    File(&'a std::path::Path),
}

/// This binary's `clock::child` test, as a child process playing `role`
/// with `vars`, under a wall clock shifted by `shift`.
fn as_child(shift: Shift<'_>, role: &str, vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the test binary's path"));
    command
        .args(["clock::child", "--exact", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(ROLE, role)
        .env(KEYSPACE_VAR, keyspace())
        .env("TASKREC_CASSANDRA", address())
        .env("LD_PRELOAD", libfaketime())
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env_remove("FAKETIME")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match shift {
        Shift::By(by) => {
            command.env("FAKETIME", by);
        }
        Shift::File(path) => {
            command
                .env("FAKETIME_TIMESTAMP_FILE", path)
                .env("FAKETIME_NO_CACHE", "1");
        }
    }
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

/// What a child said (its `CHILD ` lines, by their first word) and logged.
struct Said {
    lines: Vec<Vec<String>>,
    stderr: String,
}

impl Said {
    fn of(output: std::process::Output) -> Said {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            output.status.success(),
            "the child failed ({}):\n{stdout}\n{stderr}",
            output.status
        );
        Said::from_lines(stdout.lines(), stderr)
    }

    fn from_lines<'a>(lines: impl Iterator<Item = &'a str>, stderr: String) -> Said {
        Said {
            lines: lines
                // The harness prints the test's name before it runs, on
                // the line the child's first words then go on.
                .filter_map(|line| line.find(SAYS).map(|at| &line[at + SAYS.len()..]))
                .map(|line| line.split_whitespace().map(str::to_owned).collect())
                .collect(),
            stderr,
        }
    }

    /// The words after `what` of each line that starts with it.
    fn all(&self, what: &str) -> Vec<&[String]> {
        self.lines
            .iter()
            .filter(|words| words.first().map(String::as_str) == Some(what))
            .map(|words| &words[1..])
            .collect()
    }

    /// The number after `what` on its last line.
    fn number(&self, what: &str) -> i64 {
        let lines = self.all(what);
        let words = lines
            .last()
            .unwrap_or_else(|| panic!("the child never said `{what}`: {:?}", self.lines));
        words[0].parse().unwrap()
    }
}

/// The machine's uptime in milliseconds (`/proc/uptime`, to 10 ms): the same
/// clock in every process, which faketime leaves alone.
fn uptime_ms() -> i64 {
    let text = std::fs::read_to_string("/proc/uptime").expect("/proc/uptime");
    let seconds: f64 = text.split_whitespace().next().unwrap().parse().unwrap();
    (seconds * 1_000.0) as i64
}

async fn output(mut command: Command) -> Said {
    let output = tokio::task::spawn_blocking(move || command.output().expect("the child starts"))
        .await
        .unwrap();
    Said::of(output)
}

/// Waits for `done`, checking every 20 ms, failing after `deadline` with
/// what `state` says then.
async fn wait_for(deadline: Duration, done: impl Fn() -> bool, state: impl Fn() -> String) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < deadline, "{}", state());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const SAVED: u32 = 20;

/// The offsets of item 3 of issue 20: faketime's shift, and the cluster's
/// clock minus the child's, in seconds, which its adapter must measure.
const OFFSETS: [(&str, i64); 7] = [
    ("-1h", 3_600),
    ("-10m", 600),
    ("-6m", 360),
    ("-3m", 180),
    ("-30s", 30),
    ("+10m", -600),
    ("+1h", -3_600),
];

#[test]
fn tasks_saved_by_a_process_whose_clock_is_off_are_listed_counted_and_run_at_once() {
    run(async {
        let mut rows = Vec::new();
        for (shift, offset) in OFFSETS {
            rows.push(one_offset(shift, offset).await);
        }
        println!("saving clock | measured offset | found, listed, counted | all {SAVED} run after the save");
        for row in rows {
            println!("{row}");
        }
    });
}

/// A list with a past and a worker serving it on the true clock; a child
/// whose clock is off by `shift` saves 20 tasks into it. Right after, every
/// task is found, counted and listed, and the worker runs them all in a
/// few of its polls. The worker walks the list only every hour here (and
/// first a minute after its first sweep), so only the tasks' ready hints
/// can bring them to it in time.
async fn one_offset(shift: &str, offset: i64) -> String {
    let list = unique_list(&format!("skew{shift}"));
    let served =
        adapter(config("tasks", layout()).ready_walk_every(Duration::from_secs(3600))).await;
    let store = TaskStore::new(served);
    let runs: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let worker = Worker::new(store.clone(), WorkerConfig::new(format!("server{shift}")));
    let stop = worker.stop_handle();
    let ran = Arc::clone(&runs);
    // A task runs, then waits for the gate before it is completed: the
    // checks below see every task stored, however soon it runs.
    let (gate, gate_open) = tokio::sync::watch::channel(true);
    let lists = [list.as_str()];
    let serving = worker.serve_with::<Probe, _>(&lists, move |task| {
        *ran.lock().unwrap().entry(task.id().to_owned()).or_default() += 1;
        let mut gate_open = gate_open.clone();
        Box::pin(async move {
            drop(gate_open.wait_for(|open| *open).await);
            Ok(None)
        })
    });
    let test = async {
        // The list's past: a task saved and run, and a count, which moves
        // the list's low mark up to the minutes that may still be written.
        store
            .save(&Task::new(&list, "warm-up", Probe { n: 0 }).unwrap())
            .await
            .unwrap();
        wait_for(
            Duration::from_secs(60),
            || runs.lock().unwrap().contains_key("warm-up"),
            || format!("{shift}: the warm-up task never ran"),
        )
        .await;
        // Completed once its handler returned: wait for that.
        let started = Instant::now();
        while store.count(&list).await.unwrap() != 0 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{shift}: warm-up not completed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        gate.send_replace(false);
        let said = output(as_child(
            Shift::By(shift),
            "save",
            &[("LIST", &list), ("COUNT", &SAVED.to_string())],
        ))
        .await;
        let saved_at = Instant::now();
        let ids: BTreeSet<String> = (0..SAVED).map(|n| format!("t{n:03}")).collect();

        // The child measured its clock's offset, corrected for it, said so
        // in the gauge, and warned.
        let measured = said.number("offset_ms");
        assert!(
            (measured - offset * 1_000).abs() < 1_000,
            "{shift}: measured {measured} ms, the clock is off by {offset} s"
        );
        assert!(
            (said.number("gauge_ms") - measured).abs() <= 1,
            "{shift}: the gauge"
        );
        let local_minus_cluster = said.number("local_minus_store_ms");
        assert!(
            (local_minus_cluster + offset * 1_000).abs() < 1_000,
            "{shift}: the child's store kept time by its own clock ({local_minus_cluster} ms)"
        );
        assert!(
            said.stderr
                .contains("this process's clock is off the cluster's"),
            "{shift}: no warning logged:\n{}",
            said.stderr
        );

        // At once: counted, listed, found.
        assert_eq!(
            store.count(&list).await.unwrap(),
            u64::from(SAVED),
            "{shift}: counted"
        );
        let listed: BTreeSet<String> = store
            .all::<Probe>(&list)
            .map_ok(|task| task.id().to_owned())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed, ids, "{shift}: listed");
        for id in &ids {
            assert!(
                store.find::<Probe>(&list, id).await.unwrap().is_some(),
                "{shift}: {id} found"
            );
        }
        gate.send_replace(true);
        // Run within a few idle polls (1 s each): a deadline of 30 s, half
        // the time to the worker's first walk of the list.
        wait_for(
            Duration::from_secs(30),
            || ids.iter().all(|id| runs.lock().unwrap().contains_key(id)),
            || {
                let runs = runs.lock().unwrap();
                let missing: Vec<&String> =
                    ids.iter().filter(|id| !runs.contains_key(*id)).collect();
                format!(
                    "{shift}: {} of {SAVED} tasks not run after 30 s: {missing:?}",
                    missing.len()
                )
            },
        )
        .await;
        let took = saved_at.elapsed();
        stop.stop();
        format!(
            "{shift} | {:+.3} s | yes | {:.2} s",
            measured as f64 / 1_000.0,
            took.as_secs_f64()
        )
    };
    let (row, report) = tokio::join!(test, serving);
    let report = report.unwrap();
    let runs = runs.lock().unwrap();
    assert!(
        runs.values().all(|&n| n == 1),
        "{shift}: a task ran twice: {runs:?}"
    );
    assert_eq!(
        report.succeeded,
        u64::from(SAVED) + 1,
        "{shift}: {report:?}"
    );
    row
}

/// Item 2c: a worker whose clock runs 10 minutes ahead judges leases by the
/// cluster's time, so it never takes over a task another worker holds.
#[test]
fn two_workers_whose_clocks_are_ten_minutes_apart_never_run_a_task_together() {
    two_workers_ten_minutes_apart(false);
}

/// The same with `owned_parts`: the parts' leases, the plain claims of their
/// owners (trusted only up to the part's lease end) and the claims held in
/// memory (written after 2 s: each task here runs 3 s) are judged and
/// stamped by the cluster's time too.
#[test]
fn two_workers_ten_minutes_apart_by_owned_parts_never_run_a_task_together() {
    two_workers_ten_minutes_apart(true);
}

fn two_workers_ten_minutes_apart(owned_parts: bool) {
    run(async {
        const TASKS: u32 = 40;
        let list = unique_list("apart");
        let store = if owned_parts {
            TaskStore::new(crate::parts::by_parts().await)
        } else {
            TaskStore::new(bucketed().await)
        };
        let tasks: Vec<Task<Probe>> = (0..TASKS)
            .map(|n| Task::new(&list, format!("t{n:03}"), Probe { n }))
            .collect::<taskrec::Result<_>>()
            .unwrap();
        store.save_all(&tasks, 4).await.unwrap();

        // Each run with when it started, by the machine's uptime: one clock
        // for both processes, which faketime does not shift and taskrec
        // does not read.
        let here: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
        let ran = Arc::clone(&here);
        let lease = Duration::from_secs(20);
        let worker = Worker::new(
            store.clone(),
            WorkerConfig::new("true-clock").concurrency(4).lease(lease),
        );
        let draining = worker.drain_with::<Probe, _>(&list, move |task| {
            ran.lock()
                .unwrap()
                .push((task.id().to_owned(), uptime_ms()));
            Box::pin(async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                Ok(None)
            })
        });

        // The worker ahead first; this one once the other says it is ready
        // (connected, its clock measured), so that both take part.
        let mut process = as_child(
            Shift::By("+10m"),
            "work",
            &[
                ("LIST", &list),
                ("WORK_MS", "3000"),
                ("LEASE_MS", "20000"),
                ("OWNED_PARTS", if owned_parts { "1" } else { "0" }),
            ],
        )
        .spawn()
        .expect("the child starts");
        let (stdout, stderr) = (
            process.stdout.take().unwrap(),
            process.stderr.take().unwrap(),
        );
        let (ready, is_ready) = tokio::sync::oneshot::channel();
        let reader = tokio::task::spawn_blocking(move || {
            let (mut lines, mut ready) = (Vec::new(), Some(ready));
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                if line.contains(&format!("{SAYS}ready"))
                    && let Some(ready) = ready.take()
                {
                    // The parent may have stopped waiting: nothing to tell.
                    let _ = ready.send(());
                }
                lines.push(line);
            }
            let mut text = String::new();
            std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text).unwrap();
            (lines, text)
        });
        tokio::time::timeout(Duration::from_secs(120), is_ready)
            .await
            .expect("the child never said it was ready")
            .expect("the child ended before it was ready");
        let report = draining.await.unwrap();
        let (lines, stderr) = reader.await.unwrap();
        let status = process.wait().unwrap();
        assert!(status.success(), "{status}: {lines:?}\n{stderr}");
        let ahead = Said::from_lines(lines.iter().map(String::as_str), stderr);

        let mut runs: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let there: Vec<(String, i64)> = ahead
            .all("ran")
            .iter()
            .map(|w| (w[0].clone(), w[1].parse().unwrap()))
            .collect();
        for (id, at) in here.lock().unwrap().iter().chain(&there) {
            runs.entry(id.clone()).or_default().push(*at);
        }
        assert_eq!(runs.len() as u32, TASKS, "every task ran: {runs:?}");
        // At least once: a task may run again, but only once the lease of
        // the run before has run out (a completion whose outcome a timeout
        // hid leaves its claim until then). Never while it holds.
        for (id, starts) in &mut runs {
            starts.sort_unstable();
            for pair in starts.windows(2) {
                assert!(
                    pair[1] - pair[0] >= lease.as_millis() as i64 - 1_000,
                    "{id} ran again {} ms after it started, under a {lease:?} lease \
                     (true-clock: {report:?}; ahead: {:?})",
                    pair[1] - pair[0],
                    ahead.lines
                );
            }
        }
        let twice = runs.values().filter(|starts| starts.len() > 1).count();
        let errors = report.errors + ahead.number("errors") as u64;
        assert!(
            twice as u64 <= errors,
            "{twice} ran twice with {errors} errors"
        );
        assert!(
            !here.lock().unwrap().is_empty() && !there.is_empty(),
            "both worked: {} here, {} there",
            here.lock().unwrap().len(),
            there.len()
        );
        // The worker ahead was told its clock is off, once per measurement.
        let offsets = ahead.all("clock_offset");
        assert!(
            !offsets.is_empty(),
            "no ClockOffset event: {:?}",
            ahead.lines
        );
        let offset: i64 = offsets[0][0].parse().unwrap();
        assert!((offset + 600_000).abs() < 1_000, "{offset} ms");
        assert_eq!(store.count(&list).await.unwrap(), 0);
        if owned_parts {
            // Claims were held in memory here, and written once their tasks
            // outlived the hold: the path under test was taken.
            let reads = store.adapter().ready_reads();
            assert!(
                reads.held_claims > 0 && reads.held_claims_written > 0,
                "no claim held and written: {reads:?}"
            );
        }
    });
}

/// Item 2: the wall clock of a process steps 10 minutes back between two
/// measurements (an NTP step, a VM resumed): the adapter notices, measures
/// again, and the tasks saved after the step are listed, counted and run
/// like the ones before.
#[test]
fn a_step_of_the_local_clock_between_measurements_is_measured_again() {
    run(async {
        let list = unique_list("step");
        let store = TaskStore::new(bucketed().await); // the table, before the child
                                                      // A list with a past: a count moves its low mark up to the minutes
                                                      // that may still be written, past where a save 10 minutes behind
                                                      // would put its tasks.
        store
            .save(&Task::new(&list, "warm-up", Probe { n: 0 }).unwrap())
            .await
            .unwrap();
        assert_eq!(store.count(&list).await.unwrap(), 1);
        store.delete(&list, "warm-up").await.unwrap();
        assert_eq!(store.count(&list).await.unwrap(), 0);
        let dir = tempfile::tempdir().unwrap();
        let time_file = dir.path().join("faketime");
        std::fs::write(&time_file, "+0\n").unwrap();
        let mut command = as_child(Shift::File(&time_file), "step", &[("LIST", &list)]);
        command.stdin(Stdio::piped());
        let mut process = command.spawn().expect("the child starts");
        let mut stdin = process.stdin.take().unwrap();
        let stdout = process.stdout.take().unwrap();
        let stderr = process.stderr.take().unwrap();
        let (said, stderr) = tokio::task::spawn_blocking(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                if line.ends_with(&format!("{SAYS}waiting")) {
                    // The step, while the child waits between its saves.
                    std::fs::write(&time_file, "-10m\n").unwrap();
                    writeln!(stdin, "go").unwrap();
                }
                lines.push(line);
            }
            let mut stderr_text = String::new();
            std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut stderr_text).unwrap();
            (lines, stderr_text)
        })
        .await
        .unwrap();
        let status = process.wait().unwrap();
        assert!(status.success(), "{status}: {said:?}\n{stderr}");
        let said = Said::from_lines(said.iter().map(String::as_str), stderr);

        let before = said.all("local_minus_store_ms");
        assert_eq!(before.len(), 2, "{:?}", said.lines);
        let (before, after): (i64, i64) =
            (before[0][0].parse().unwrap(), before[1][0].parse().unwrap());
        assert!(before.abs() < 1_000, "before the step: {before} ms");
        assert!(
            (after + 600_000).abs() < 2_000,
            "the child's clock stepped back: {after} ms"
        );
        let offsets = said.all("offset_ms");
        let measured_after: i64 = offsets[1][0].parse().unwrap();
        assert!(
            (measured_after - 600_000).abs() < 1_000,
            "measured again after the step: {measured_after} ms"
        );

        assert_eq!(store.count(&list).await.unwrap(), 10);
        let listed: Vec<Task<Probe>> = store.all(&list).try_collect().await.unwrap();
        assert_eq!(listed.len(), 10);
        let worker = Worker::new(store.clone(), WorkerConfig::new("after-the-step"));
        let report = worker
            .drain_with::<Probe, _>(&list, |_| Box::pin(async { Ok(None) }))
            .await
            .unwrap();
        assert_eq!(report.succeeded, 10, "{report:?}");
    });
}

/// Item 4: when the adapter cannot tell the cluster's time within its
/// tolerance, writes that place a task by time (saves, claims) refuse,
/// naming the figures; reads, completions, failures and releases go on. A tolerance of a microsecond can
/// never be met (the server's clock reads in milliseconds).
#[test]
fn writes_that_place_by_time_refuse_when_the_time_cannot_be_told() {
    run(async {
        let list = unique_list("refused");
        let strict =
            adapter(config("tasks", layout()).clock_tolerance(Duration::from_micros(1))).await;
        let strict = TaskStore::new(strict);
        let task = Task::new(&list, "t1", Probe { n: 1 }).unwrap();

        let refused = strict.save(&task).await.unwrap_err();
        let text = refused.to_string();
        match refused {
            Error::ClockSkew {
                adapter,
                offset: Some(offset),
                uncertainty: Some(uncertainty),
                tolerance,
                ..
            } => {
                assert_eq!(adapter, "cassandra");
                assert_eq!(tolerance, Duration::from_micros(1));
                assert!(uncertainty >= Duration::from_micros(500), "{uncertainty:?}");
                assert!(offset.abs() < chrono::TimeDelta::seconds(1), "{offset}");
            }
            other => panic!("not a clock error: {other:?}"),
        }
        assert!(text.contains("within its tolerance of 0 ms"), "{text}");
        assert!(text.contains("time queries took"), "{text}");
        // The adapter refuses by itself too, not only through the store.
        let record = task.to_record().unwrap();
        let direct = strict.adapter().store(&record).await;
        assert!(matches!(direct, Err(Error::ClockSkew { .. })), "{direct:?}");
        let direct_all = strict
            .adapter()
            .store_all(std::slice::from_ref(&record))
            .await;
        assert!(
            matches!(direct_all, Err(Error::ClockSkew { .. })),
            "{direct_all:?}"
        );
        assert_eq!(strict.count(&list).await.unwrap(), 0, "nothing was written");
        assert!(strict.find::<Probe>(&list, "t1").await.unwrap().is_none());
        assert!(matches!(strict.now().await, Err(Error::ClockSkew { .. })));

        // Saved by a store that can tell the time: the strict one reads it,
        // refuses to claim it (a lease's end is a time), and completes it.
        let normal = TaskStore::new(bucketed().await);
        normal.save(&task).await.unwrap();
        assert_eq!(strict.count(&list).await.unwrap(), 1);
        assert!(strict.find::<Probe>(&list, "t1").await.unwrap().is_some());
        let claim = strict
            .claim(&list, "t1", "w", Duration::from_secs(30))
            .await;
        assert!(matches!(claim, Err(Error::ClockSkew { .. })), "{claim:?}");
        strict.complete(&task).await.unwrap();
        assert_eq!(normal.count(&list).await.unwrap(), 0);
        // A claim made where the time is known is completed, failed and
        // given back where it is not: refusing would run the task again.
        for (n, how) in ["succeed", "fail", "release"].into_iter().enumerate() {
            let id = format!("claimed-{n}");
            normal
                .save(&Task::new(&list, &id, Probe { n: 2 }).unwrap())
                .await
                .unwrap();
            let claim = normal
                .claim(&list, &id, "w", Duration::from_secs(30))
                .await
                .unwrap()
                .unwrap();
            let done = match how {
                "succeed" => strict.succeed(claim, None, false).await,
                "fail" => strict.fail(claim, "broken").await,
                _ => strict.release(claim).await,
            };
            assert!(done.unwrap(), "{how} by the strict store");
        }
        let failed = normal
            .page_by_status(&list, taskrec::TaskStatus::Failed, None, 10)
            .await
            .unwrap();
        assert_eq!(failed.tasks.len(), 1, "the failure is in the failed index");
        assert_eq!(
            normal.count(&list).await.unwrap(),
            2,
            "failed and released stay"
        );
    });
}

/// The other end of the tests above: one role, in a child process whose
/// clock faketime shifts. Does nothing unless `TASKREC_CLOCK_CHILD` is set.
#[test]
#[ignore = "a child process of the clock tests, started by them"]
fn child() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let list = std::env::var("LIST").expect("LIST");
    // The gauge and the warning come with the measurement of connecting:
    // the recorder and the subscriber are there first.
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).unwrap();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .init();
    run(async {
        let config = CassandraConfig::new([address()], keyspace())
            .table("tasks")
            .layout(layout())
            .owned_parts(std::env::var("OWNED_PARTS").is_ok_and(|v| v == "1"));
        let store = TaskStore::new(
            CassandraAdapter::connect(config)
                .await
                .unwrap_or_else(|e| panic!("{}", crate::utils::chain(&e))),
        );
        match role.as_str() {
            "save" => save_role(&store, &list, &snapshotter).await,
            "work" => work_role(store, &list).await,
            "step" => step_role(&store, &list).await,
            other => panic!("no such role: {other}"),
        }
    });
}

/// What the child's clock and its store's say, for the parent.
async fn tell_clock(store: &TaskStore<CassandraAdapter>) {
    let reading = store.adapter().clock_reading().expect("a measurement");
    println!("{SAYS}offset_ms {}", reading.offset.num_milliseconds());
    let store_now = store.now().await.unwrap();
    let local_minus_store = chrono::Utc::now() - store_now;
    println!(
        "{SAYS}local_minus_store_ms {}",
        local_minus_store.num_milliseconds()
    );
}

/// Saves `COUNT` tasks `t000`...; says the measured offset, the gauge and
/// how far this process's clock is from its store's; warnings go to stderr.
async fn save_role(
    store: &TaskStore<CassandraAdapter>,
    list: &str,
    snapshotter: &metrics_util::debugging::Snapshotter,
) {
    let count: u32 = std::env::var("COUNT").unwrap().parse().unwrap();
    let tasks: Vec<Task<Probe>> = (0..count)
        .map(|n| Task::new(list, format!("t{n:03}"), Probe { n }))
        .collect::<taskrec::Result<_>>()
        .unwrap();
    store.save_all(&tasks, 4).await.unwrap();
    tell_clock(store).await;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        if key.key().name() == taskrec::observe::CLOCK_OFFSET_SECONDS {
            let metrics_util::debugging::DebugValue::Gauge(seconds) = value else {
                panic!("not a gauge");
            };
            println!(
                "{SAYS}gauge_ms {}",
                (seconds.into_inner() * 1_000.0).round() as i64
            );
        }
    }
}

/// Drains the list, each task taking `WORK_MS`, under leases of
/// `LEASE_MS`; says each task it runs, each clock event and its errors.
async fn work_role(store: TaskStore<CassandraAdapter>, list: &str) {
    let ms = |name: &str| Duration::from_millis(std::env::var(name).unwrap().parse().unwrap());
    let work = ms("WORK_MS");
    let config = WorkerConfig::new("ten-minutes-ahead")
        .concurrency(4)
        .lease(ms("LEASE_MS"))
        .on_event(|event: &WorkerEvent| {
            if let WorkerEvent::ClockOffset { reading, .. } = event {
                println!("{SAYS}clock_offset {}", reading.offset.num_milliseconds());
            }
        });
    let worker = Worker::new(store, config);
    println!("{SAYS}ready");
    let report = worker
        .drain_with::<Probe, _>(list, move |task| {
            println!("{SAYS}ran {} {}", task.id(), uptime_ms());
            Box::pin(async move {
                tokio::time::sleep(work).await;
                Ok(None)
            })
        })
        .await
        .unwrap();
    println!("{SAYS}errors {}", report.errors);
}

/// Saves five tasks, says its clock, waits for a line on stdin (the parent
/// steps this process's clock meanwhile), saves five more and says its
/// clock again.
async fn step_role(store: &TaskStore<CassandraAdapter>, list: &str) {
    let save = |prefix: &'static str| async move {
        let tasks: Vec<Task<Probe>> = (0..5)
            .map(|n| Task::new(list, format!("{prefix}-{n}"), Probe { n }))
            .collect::<taskrec::Result<_>>()
            .unwrap();
        store.save_all(&tasks, 1).await.unwrap();
    };
    save("before").await;
    tell_clock(store).await;
    println!("{SAYS}waiting");
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).unwrap();
    })
    .await
    .unwrap();
    save("after").await;
    tell_clock(store).await;
}
