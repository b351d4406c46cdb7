//! The `taskrec` command end to end, against a real Cassandra at
//! `TASKREC_CASSANDRA` (default 127.0.0.1:9042; `scripts/cassandra-start`).
//! Tests that need the server fail, never skip, when it does not answer.
//!
//! One keyspace per run, named at random and created by `taskrec schema
//! create` itself; each test works in task lists of its own. Every run of
//! the command has its standard streams as pipes, as a script's would be.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use assert_cmd::assert::Assert;
use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::{json, Value};
use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
use taskrec::TaskStore;

fn address() -> String {
    std::env::var("TASKREC_CASSANDRA").unwrap_or_else(|_| "127.0.0.1:9042".to_owned())
}

fn keyspace() -> &'static str {
    static KEYSPACE: OnceLock<String> = OnceLock::new();
    KEYSPACE.get_or_init(|| {
        format!(
            "taskrec_cli_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        )
    })
}

/// The command with only this test's environment: no TASKREC_* setting of
/// the person running the tests leaks in.
fn bare() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskrec"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TASKREC_") {
            command.env_remove(name);
        }
    }
    command
        .env("TERM", "xterm-256color")
        .env("TASKREC_CASSANDRA", address())
        .env("TASKREC_KEYSPACE", keyspace())
        .timeout(Duration::from_secs(120))
        // A pipe, not the terminal the tests may have been started from.
        .write_stdin("");
    command
}

/// The command, once this run's keyspace and table exist (made by the
/// first caller, through `taskrec schema create`).
fn taskrec() -> Command {
    static SCHEMA: OnceLock<()> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let output = bare()
            .args(["schema", "create"])
            .output()
            .expect("running taskrec");
        assert!(
            output.status.success(),
            "`taskrec schema create` against Cassandra at {} failed; start it with \
             scripts/cassandra-start. stderr: {}",
            address(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!("schema ready: {}.tasks\n", keyspace())
        );
    });
    bare()
}

fn unique_list(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

/// A task hash line, in the compact form and key order `export` writes
/// (`json!` would sort the keys).
fn hash_line(list: &str, id: &str, data: Value) -> String {
    format!(
        r#"{{"task_list":{},"id":{},"type":"SendEmail","data":{data}}}"#,
        json!(list),
        json!(id)
    )
}

/// A file of these lines, one a line.
fn file_of(lines: &[String]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    for line in lines {
        writeln!(file, "{line}").expect("writing the temporary file");
    }
    file
}

fn stdout_of(assert: &Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).expect("UTF-8 output")
}

fn counts(list: &str) -> Value {
    let assert = taskrec()
        .args(["count", list, "--by-status", "--exact", "--format", "json"])
        .assert()
        .success();
    let mut counts: Value = serde_json::from_str(&stdout_of(&assert)).expect("count's JSON");
    // When and by whom it was counted: checked in its own test.
    let counted = counts.as_object_mut().expect("an object");
    for key in [
        "oldest_pending",
        "counted_at",
        "counted_age_seconds",
        "counted_by",
        "count_took_ms",
    ] {
        assert!(counted.remove(key).is_some(), "no {key} in {counts:?}");
    }
    counts
}

fn expected_counts(list: &str, pending: u64, failed: u64) -> Value {
    json!({
        "task_list": list, "total": pending + failed, "pending": pending,
        "scheduled": 0, "claimed": 0, "succeeded": 0, "failed": failed, "unknown": 0,
    })
}

/// Imports `n` tasks `t0`.. into a new list and returns the list and lines.
fn imported(name: &str, n: usize) -> (String, Vec<String>) {
    let list = unique_list(name);
    let lines: Vec<String> = (0..n)
        .map(|i| {
            hash_line(
                &list,
                &format!("t{i}"),
                json!({ "to": format!("user{i}@example.com"), "n": i }),
            )
        })
        .collect();
    let file = file_of(&lines);
    taskrec()
        .arg("import")
        .arg(file.path())
        .assert()
        .success()
        .stdout(format!(
            "imported {n} tasks from {}: {n} written, 0 unchanged\n",
            file.path().display()
        ));
    (list, lines)
}

/// Makes tasks failed for good, as a worker does after its last attempt.
fn fail(list: &str, ids: &[&str], error: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let config = CassandraConfig::new([address()], keyspace());
        let store = TaskStore::new(
            CassandraAdapter::connect(config)
                .await
                .unwrap_or_else(|e| panic!("connecting to Cassandra at {}: {e}", address())),
        );
        for id in ids {
            let claim = store
                .claim(list, id, "cli-test", Duration::from_secs(60))
                .await
                .expect("claiming")
                .unwrap_or_else(|| panic!("{id} is claimable"));
            assert!(
                store.fail(claim, error).await.expect("failing"),
                "{id} failed"
            );
        }
    });
}

#[test]
fn import_checks_every_line_first_and_names_the_bad_ones() {
    let list = unique_list("import-bad");
    let lines = [
        hash_line(&list, "a", json!({ "to": "a@example.com" })),
        "{not json".to_owned(),
        hash_line(&list, "b", json!({ "to": "b@example.com" })),
        String::new(), // blank: skipped, but counted as a line
        json!({ "task_list": list, "id": "c", "type": "SendEmail", "data": [1] }).to_string(),
        json!({ "task_list": list, "type": "SendEmail", "data": {} }).to_string(),
        hash_line(&list, "d", json!({})),
    ];
    let file = file_of(&lines);
    let path = file.path().display().to_string();

    let assert = taskrec()
        .arg("import")
        .arg(file.path())
        .assert()
        .code(1)
        .stdout("");
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let named: Vec<&str> = stderr.lines().collect();
    assert_eq!(named.len(), 4, "three bad lines and the summary: {stderr}");
    assert!(
        named[0].starts_with(&format!("{path}:2: invalid task hash: ")),
        "{stderr}"
    );
    assert_eq!(
        named[1],
        format!(
            r#"{path}:5: invalid task hash in task "{list}"/"c": `data` is an array, not an object"#
        )
    );
    assert!(
        named[2].starts_with(&format!("{path}:6: invalid task hash: missing field `id`")),
        "{stderr}"
    );
    assert_eq!(
        named[3],
        format!("error: 3 bad lines in {path} (named above); nothing written (--keep-going writes the good lines)")
    );
    taskrec()
        .args(["count", &list])
        .assert()
        .success()
        .stdout("0\n");

    let assert = taskrec()
        .arg("import")
        .arg(file.path())
        .arg("--keep-going")
        .assert()
        .code(1)
        .stdout(format!(
            "imported 3 tasks from {path}: 3 written, 0 unchanged\n"
        ))
        .stderr(contains(format!("{path}:2: ")))
        .stderr(contains(format!("{path}:5: ")))
        .stderr(contains(format!("{path}:6: ")));
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.ends_with(&format!(
            "error: 3 bad lines in {path} (named above) not imported\n"
        )),
        "{stderr}"
    );
    taskrec()
        .args(["count", &list])
        .assert()
        .success()
        .stdout("3\n");
    let assert = taskrec()
        .args(["ls", &list, "--format", "jsonl"])
        .assert()
        .success();
    let ids: BTreeSet<String> = stdout_of(&assert)
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["a".to_owned(), "b".to_owned(), "d".to_owned()])
    );
}

/// `--in` and `--at` schedule what an import writes: listed and counted as
/// scheduled while the time is ahead, pending at once when it is past; a
/// delay the command cannot read is bad usage, naming the units.
#[test]
fn import_with_in_or_at_schedules_the_tasks_written() {
    let list = unique_list("import-scheduled");
    let lines: Vec<String> = ["a", "b"]
        .iter()
        .map(|id| hash_line(&list, id, json!({ "to": id })))
        .collect();
    let file = file_of(&lines);
    taskrec()
        .arg("import")
        .arg(file.path())
        .args(["--in", "1h"])
        .assert()
        .success();
    let mut expected = expected_counts(&list, 0, 0);
    expected["scheduled"] = json!(2);
    expected["total"] = json!(2);
    assert_eq!(counts(&list), expected);
    let listed = taskrec()
        .args(["ls", &list, "--status", "scheduled", "--format", "jsonl"])
        .assert()
        .success();
    let listed: Vec<Value> = stdout_of(&listed)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    for task in &listed {
        assert_eq!(task["state"]["status"], "scheduled", "{task}");
        assert!(task["state"]["not_before"].is_string(), "{task}");
    }

    let past = unique_list("import-past");
    let file = file_of(&[hash_line(&past, "p", json!({}))]);
    taskrec()
        .arg("import")
        .arg(file.path())
        .args(["--at", "2020-01-01T00:00:00Z"])
        .assert()
        .success();
    assert_eq!(counts(&past), expected_counts(&past, 1, 0));

    taskrec()
        .arg("import")
        .arg(file.path())
        .args(["--in", "15x"])
        .assert()
        .code(2)
        .stderr(contains("not one of s, m, h, d"));
}

#[test]
fn import_into_another_list_with_list() {
    let (from, lines) = imported("import-from", 2);
    let to = unique_list("import-to");
    let file = file_of(&lines);
    taskrec()
        .arg("import")
        .arg(file.path())
        .args(["--list", &to])
        .assert()
        .success();
    taskrec()
        .args(["count", &to])
        .assert()
        .success()
        .stdout("2\n");
    taskrec()
        .args(["count", &from])
        .assert()
        .success()
        .stdout("2\n");
}

#[test]
fn export_gives_back_what_was_imported_and_a_second_import_changes_nothing() {
    let (list, mut lines) = imported("roundtrip", 6);
    lines.sort();

    let out = tempfile::tempdir().expect("a temporary directory");
    let path = out.path().join("export.jsonl");
    taskrec()
        .args(["export", &list, "-o"])
        .arg(&path)
        .assert()
        .success()
        .stdout("")
        .stderr(format!("exported 6 tasks of list {list}\n"));
    let exported = std::fs::read_to_string(&path).expect("the export");
    let mut exported: Vec<String> = exported.lines().map(str::to_owned).collect();
    exported.sort();
    assert_eq!(exported, lines, "the same hashes, byte for byte");
    assert!(!out.path().join("export.jsonl.partial").exists());

    // To standard output, the same.
    let assert = taskrec().args(["export", &list]).assert().success();
    let mut to_stdout: Vec<String> = stdout_of(&assert).lines().map(str::to_owned).collect();
    to_stdout.sort();
    assert_eq!(to_stdout, lines);

    // A task failed since keeps its state through a second import.
    fail(&list, &["t3"], "mailbox full");
    taskrec()
        .arg("import")
        .arg(&path)
        .assert()
        .success()
        .stdout(format!(
            "imported 6 tasks from {}: 0 written, 6 unchanged\n",
            path.display()
        ));
    assert_eq!(counts(&list), expected_counts(&list, 5, 1));
    let assert = taskrec().args(["export", &list]).assert().success();
    let mut again: Vec<String> = stdout_of(&assert).lines().map(str::to_owned).collect();
    again.sort();
    assert_eq!(again, lines);
}

/// `import -` reads standard input: checked first (a bad line writes
/// nothing), or in one pass with `--keep-going`.
#[test]
fn import_from_standard_input() {
    let (from, lines) = imported("stdin-from", 3);
    let exported = stdout_of(&taskrec().args(["export", &from]).assert().success());

    let to = unique_list("stdin-to");
    taskrec()
        .args(["import", "-", "--list", &to])
        .write_stdin(exported.clone())
        .assert()
        .success()
        .stdout("imported 3 tasks from standard input: 3 written, 0 unchanged\n");
    taskrec()
        .args(["count", &to])
        .assert()
        .success()
        .stdout("3\n");

    let with_bad = format!("{}\nnot json\n", lines[0]);
    let other = unique_list("stdin-bad");
    taskrec()
        .args(["import", "-", "--list", &other])
        .write_stdin(with_bad.clone())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("standard input:2: "));
    taskrec()
        .args(["count", &other])
        .assert()
        .success()
        .stdout("0\n");
    taskrec()
        .args(["import", "-", "--list", &other, "--keep-going"])
        .write_stdin(with_bad)
        .assert()
        .code(1)
        .stdout("imported 1 tasks from standard input: 1 written, 0 unchanged\n");
    taskrec()
        .args(["count", &other])
        .assert()
        .success()
        .stdout("1\n");
}

/// Numbers go through import and export as written, and a line whose only
/// change is a digit past what an `f64` holds is a change.
#[test]
fn numbers_beyond_64_bits_import_and_export_exactly() {
    let list = unique_list("exact");
    let line = |n: &str| {
        format!(
            r#"{{"task_list":"{list}","id":"big","type":"SendEmail","data":{{"n":{n},"r":0.1000000000000000000001}}}}"#
        )
    };
    let first = line("123456789012345678901234567890");
    let file = file_of(std::slice::from_ref(&first));
    taskrec().arg("import").arg(file.path()).assert().success();
    let assert = taskrec().args(["export", &list]).assert().success();
    assert_eq!(stdout_of(&assert), format!("{first}\n"));

    let second = line("123456789012345678901234567891");
    let file = file_of(std::slice::from_ref(&second));
    taskrec()
        .arg("import")
        .arg(file.path())
        .assert()
        .success()
        .stdout(format!(
            "imported 1 tasks from {}: 1 written, 0 unchanged\n",
            file.path().display()
        ));
    let assert = taskrec().args(["export", &list]).assert().success();
    assert_eq!(stdout_of(&assert), format!("{second}\n"));
}

#[test]
fn count_ls_and_retry_of_failed_tasks() {
    let (list, _) = imported("retry", 4);
    fail(&list, &["t1", "t2"], "upstream down");

    taskrec()
        .args(["count", &list])
        .assert()
        .success()
        .stdout("4\n");
    taskrec()
        .args(["count", &list, "--format", "json"])
        .assert()
        .success()
        .stdout(format!("{}\n", json!({ "task_list": list, "total": 4 })));
    assert_eq!(counts(&list), expected_counts(&list, 2, 2));
    // 0.2's spelling of --by-status, still accepted.
    taskrec()
        .args(["count", &list, "--by-state"])
        .assert()
        .success()
        .stdout(
            "STATE      TASKS\npending    2\nscheduled  0\nclaimed    0\nsucceeded  0\nfailed     2\nunknown    0\ntotal      4\n",
        );

    // The failed ones, with their attempts and errors.
    let assert = taskrec()
        .args(["ls", &list, "--status", "failed", "--format", "jsonl"])
        .assert()
        .success();
    let mut failed: Vec<Value> = stdout_of(&assert)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    failed.sort_by_key(|task| task["id"].as_str().unwrap_or_default().to_owned());
    assert_eq!(failed.len(), 2);
    for (task, id, n) in [(&failed[0], "t1", 1), (&failed[1], "t2", 2)] {
        assert_eq!(task["task_list"], list.as_str());
        assert_eq!(task["id"], id);
        assert_eq!(task["type"], "SendEmail");
        assert_eq!(
            task["data"],
            json!({ "to": format!("user{n}@example.com"), "n": n })
        );
        let state = &task["state"];
        assert_eq!(state["status"], "failed");
        assert_eq!(state["attempts"], 1);
        assert_eq!(state["last_error"], "upstream down");
        assert_eq!(state["owner"], Value::Null);
    }
    // 0.2's spelling of --status, still accepted.
    let table = taskrec()
        .args(["ls", &list, "--state", "failed"])
        .assert()
        .success();
    let table = stdout_of(&table);
    let mut rows: Vec<&str> = table.lines().collect();
    assert_eq!(
        rows.remove(0),
        "ID  TYPE       STATUS  ATTEMPTS  LAST_ERROR"
    );
    rows.sort();
    assert_eq!(
        rows,
        [
            "t1  SendEmail  failed  1         upstream down",
            "t2  SendEmail  failed  1         upstream down"
        ]
    );
    let one = taskrec()
        .args(["ls", &list, "--limit", "1", "--format", "json"])
        .assert()
        .success();
    let one: Value = serde_json::from_str(&stdout_of(&one)).expect("a JSON array");
    assert_eq!(one.as_array().map(Vec::len), Some(1));

    // Without a terminal to ask on, a bulk change needs --yes.
    taskrec()
        .args(["retry", &list, "--failed"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "error: not asking whether to retry 2 failed tasks of list {list}: standard input is \
             not a terminal; pass --yes to go ahead, or --dry-run to see what would change\n"
        ));
    let dry = taskrec()
        .args(["retry", &list, "--failed", "--dry-run"])
        .assert()
        .success();
    let dry = stdout_of(&dry);
    let mut said: Vec<&str> = dry.lines().collect();
    assert_eq!(
        said.pop(),
        Some("2 failed tasks would be retried; nothing changed")
    );
    said.sort();
    assert_eq!(
        said,
        [
            "would retry t1 (failed, 1 attempts, last error: upstream down)",
            "would retry t2 (failed, 1 attempts, last error: upstream down)"
        ]
    );
    assert_eq!(counts(&list), expected_counts(&list, 2, 2));

    taskrec()
        .args(["retry", &list, "--failed", "--yes"])
        .assert()
        .success()
        .stdout(format!("retried 2 failed tasks of list {list}\n"));
    assert_eq!(counts(&list), expected_counts(&list, 4, 0));
    taskrec()
        .args(["retry", &list, "--failed", "--yes"])
        .assert()
        .success()
        .stdout(format!("no failed tasks in list {list}\n"));
}

/// `count --by-status` prints the kept counts while they are young enough
/// (`--max-age`, a minute by default) and says how old they are; `--exact`
/// counts now and keeps what it counted.
#[test]
fn count_by_status_reads_the_kept_counts_and_says_how_old_they_are() {
    let (list, _) = imported("kept-counts", 3);
    let json = |extra: &[&str]| -> Value {
        let assert = taskrec()
            .args(["count", &list, "--by-status", "--format", "json"])
            .args(extra)
            .assert()
            .success();
        serde_json::from_str(&stdout_of(&assert)).expect("count's JSON")
    };
    let first = json(&[]); // none kept: counted, and kept
    assert_eq!((&first["pending"], &first["total"]), (&json!(3), &json!(3)));
    assert!(
        first["counted_by"].as_str().unwrap().contains(':'),
        "{first}"
    );
    assert!(first["oldest_pending"].is_string(), "{first}");

    // Two more tasks: the kept figures stay until they are too old, or
    // until a count is asked for.
    let more = [
        hash_line(&list, "u1", json!({ "to": "u1@example.com" })),
        hash_line(&list, "u2", json!({ "to": "u2@example.com" })),
    ];
    let file = file_of(&more);
    taskrec().arg("import").arg(file.path()).assert().success();
    let kept = json(&[]);
    assert_eq!(kept["pending"], json!(3), "kept: {kept}");
    assert_eq!(kept["counted_at"], first["counted_at"]);
    let exact = json(&["--exact"]);
    assert_eq!(exact["pending"], json!(5), "{exact}");
    assert_eq!(
        json(&["--max-age", "1h"])["pending"],
        json!(5),
        "the exact count was kept"
    );

    // In text, the table on standard output, its age on standard error.
    let assert = taskrec()
        .args(["count", &list, "--by-status"])
        .assert()
        .success()
        .stdout(
            "STATE      TASKS\npending    5\nscheduled  0\nclaimed    0\nsucceeded  0\nfailed     0\nunknown    0\ntotal      5\n",
        );
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.starts_with("counted ") && stderr.contains(" s ago by "),
        "{stderr}"
    );

    // --exact and --max-age say the same thing two ways: one at a time.
    taskrec()
        .args(["count", &list, "--by-status", "--exact", "--max-age", "5s"])
        .assert()
        .code(2);
}

#[test]
fn retry_by_id_says_which_were_not_retried() {
    let (list, _) = imported("retry-ids", 2);
    fail(&list, &["t0"], "boom");
    taskrec()
        .args(["retry", &list, "t0", "nope"])
        .assert()
        .code(1)
        .stdout("retried t0\n")
        .stderr(format!(
            "no task \"nope\" in list {list:?}\nerror: 1 of 2 tasks not retried\n"
        ));
    assert_eq!(counts(&list), expected_counts(&list, 2, 0));
}

#[test]
fn purge_and_complete() {
    let (list, _) = imported("purge", 3);
    fail(&list, &["t0"], "bad input");
    taskrec()
        .args(["purge", &list, "--status", "failed", "--dry-run"])
        .assert()
        .success()
        .stdout(
            "would purge t0 (failed, 1 attempts, last error: bad input)\n\
             1 failed tasks would be purged; nothing changed\n",
        );
    taskrec()
        .args(["purge", &list, "--status", "failed"])
        .assert()
        .code(2)
        .stderr(contains("pass --yes"));
    taskrec()
        .args(["purge", &list, "--status", "failed", "--yes"])
        .assert()
        .success()
        .stdout(format!("purged 1 failed tasks of list {list}\n"));
    assert_eq!(counts(&list), expected_counts(&list, 2, 0));

    // One id: no question; several: --yes.
    taskrec()
        .args(["complete", &list, "t1"])
        .assert()
        .success()
        .stdout("completed t1\n");
    taskrec()
        .args(["complete", &list, "t2", "nope"])
        .assert()
        .code(2)
        .stderr(contains("pass --yes"));
    taskrec()
        .args(["complete", &list, "t2", "nope", "--yes"])
        .assert()
        .code(1)
        .stdout("completed t2\n")
        .stderr(format!(
            "no task \"nope\" in list {list:?}\nerror: 1 of 2 tasks not found\n"
        ));
    taskrec()
        .args(["count", &list])
        .assert()
        .success()
        .stdout("0\n");
}

/// Who paused a list, as the store reads it (`None`: not paused).
fn paused_by(list: &str) -> Option<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let config = CassandraConfig::new([address()], keyspace());
        let store = TaskStore::new(CassandraAdapter::connect(config).await.expect("connecting"));
        store
            .pause_state(list)
            .await
            .expect("reading the pause")
            .map(|pause| pause.by)
    })
}

#[test]
fn pause_and_resume_a_list() {
    let list = unique_list("pause");
    taskrec()
        .args(["pause", &list, "--by", "alice <ops>"])
        .assert()
        .success()
        .stdout(format!("paused {list} (by alice <ops>)\n"));
    assert_eq!(paused_by(&list).as_deref(), Some("alice <ops>"));
    taskrec().args(["resume", &list]).assert().success().stdout(
        contains(format!("resumed {list} (paused since ")).and(contains("by alice <ops>)")),
    );
    assert_eq!(paused_by(&list), None);
    taskrec()
        .args(["resume", &list])
        .assert()
        .success()
        .stdout(format!("resumed {list} (it was not paused)\n"));
    taskrec()
        .args(["pause", &list, "--by", ""])
        .assert()
        .failure()
        .stderr(contains("invalid name of who paused the list: it is empty"));
    assert_eq!(paused_by(&list), None);
}

#[test]
fn show_one_task() {
    let (list, _) = imported("show", 1);
    fail(&list, &["t0"], "smtp 550\nmailbox unavailable");
    let assert = taskrec()
        .args(["show", &list, "t0", "--format", "json"])
        .assert()
        .success();
    let task: Value = serde_json::from_str(&stdout_of(&assert)).expect("show's JSON");
    assert_eq!(task["task_list"], list.as_str());
    assert_eq!(task["id"], "t0");
    assert_eq!(task["type"], "SendEmail");
    assert_eq!(task["data"], json!({ "to": "user0@example.com", "n": 0 }));
    assert_eq!(task["state"]["status"], "failed");
    assert_eq!(task["state"]["last_error"], "smtp 550\nmailbox unavailable");
    assert!(task["created_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    // The import's save is in the history; the claim and the failure,
    // made through the test's own store, which keeps none, are not.
    let history = task["history"].as_array().expect("history is an array");
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(
        (
            &history[0]["state"]["status"],
            &history[0]["state"]["attempts"]
        ),
        (&json!("pending"), &json!(0)),
        "the import's line"
    );

    let text = taskrec().args(["show", &list, "t0"]).assert().success();
    let text = stdout_of(&text);
    assert!(text.contains("\nstatus      failed\n"), "{text}");
    assert!(
        text.contains("\nlast_error  smtp 550\n            mailbox unavailable\n"),
        "{text}"
    );
    assert!(
        text.contains(r#"data        {"n":0,"to":"user0@example.com"}"#),
        "{text}"
    );

    // A retry through the command is in the task's history.
    taskrec().args(["retry", &list, "t0"]).assert().success();
    let assert = taskrec()
        .args(["show", &list, "t0", "--format", "json"])
        .assert()
        .success();
    let task: Value = serde_json::from_str(&stdout_of(&assert)).expect("show's JSON");
    let history = task["history"].as_array().expect("history is an array");
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[1]["state"]["status"], "pending");
    assert_eq!(history[1]["state"]["attempts"], 0);
    assert_eq!(
        history[1]["state"]["last_error"], "smtp 550\nmailbox unavailable",
        "the retry's line keeps why the task had failed"
    );

    taskrec()
        .args(["show", &list, "nope"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!("error: no task \"nope\" in list {list:?}\n"));
}

#[test]
fn no_escape_codes_reach_pipes() {
    let (list, lines) = imported("pipes", 3);
    fail(&list, &["t0"], "x");
    let file = file_of(&lines);
    let runs: Vec<Vec<String>> = vec![
        vec![
            "import".into(),
            file.path().display().to_string(),
            "--keep-going".into(),
        ],
        vec!["export".into(), list.clone()],
        vec![
            "retry".into(),
            list.clone(),
            "--failed".into(),
            "--yes".into(),
        ],
        vec![
            "purge".into(),
            list.clone(),
            "--status".into(),
            "failed".into(),
            "--yes".into(),
        ],
        vec!["ls".into(), list.clone()],
        vec!["count".into(), list.clone(), "--by-status".into()],
        vec!["ls".into(), list.clone(), "--status".into(), "bogus".into()],
        vec!["--help".into()],
    ];
    for args in runs {
        let output = taskrec().args(&args).output().expect("running taskrec");
        for (name, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            assert!(
                !bytes.contains(&0x1b) && !bytes.contains(&b'\r'),
                "`taskrec {}` wrote terminal control codes to {name}: {:?}",
                args.join(" "),
                String::from_utf8_lossy(bytes)
            );
        }
    }
}

#[test]
fn bad_usage_exits_with_2_and_says_why() {
    // No server needed: each is refused before connecting.
    bare().assert().code(2).stderr(contains("Usage: taskrec"));
    bare()
        .args(["ls"])
        .assert()
        .code(2)
        .stderr(contains(
            "the following required arguments were not provided",
        ))
        .stderr(contains("<LIST>"));
    bare()
        .args(["ls", "l", "--status", "bogus"])
        .assert()
        .code(2)
        .stderr(contains("invalid value 'bogus' for '--status <STATUS>'"));
    bare()
        .args(["retry", "l"])
        .assert()
        .code(2)
        .stderr(contains("<IDS>"));
    bare()
        .args(["retry", "l", "a", "--failed"])
        .assert()
        .code(2)
        .stderr(contains("cannot be used with"));
    bare()
        .args(["purge", "l", "--status", "pending"])
        .assert()
        .code(2)
        .stderr(contains("invalid value 'pending' for '--status <STATUS>'"));
    bare()
        .args(["count", "l"])
        .env_remove("TASKREC_KEYSPACE")
        .assert()
        .code(2)
        .stdout("")
        .stderr("error: no keyspace: pass --keyspace or set TASKREC_KEYSPACE\n");
    bare()
        .args(["--keyspace", "Bad-Name", "count", "l"])
        .assert()
        .code(2)
        .stderr(contains(
            "keyspace name \"Bad-Name\" must be a lowercase letter",
        ));
    // --shards, and its 0.2 spelling --buckets, are for taskrec's table.
    for flag in ["--shards", "--buckets"] {
        bare()
            .args(["--layout", "task-rb", flag, "4", "schema", "print"])
            .assert()
            .code(2)
            .stderr(contains("--shards is for taskrec's table"));
    }
    bare()
        .args(["--shards", "64", "schema", "print"])
        .assert()
        .success()
        .stdout(contains("buckets=64; schema=3"));
    bare()
        .args(["schema", "print", "--replication", "dc1=3"])
        .assert()
        .code(2)
        .stderr(contains("--replication \"dc1=3\""));
}

#[test]
fn schema_print_needs_no_server() {
    let ks = keyspace();
    let assert = bare()
        .env("TASKREC_CASSANDRA", "192.0.2.1:9042") // nothing answers there
        .args(["schema", "print", "--replication", "dc1:3,dc2:2"])
        .assert()
        .success();
    let cql = stdout_of(&assert);
    assert!(
        cql.starts_with(&format!("CREATE KEYSPACE IF NOT EXISTS {ks}")),
        "{cql}"
    );
    assert!(cql.contains("'dc1': 3, 'dc2': 2"), "{cql}");
    assert!(
        cql.contains(&format!("CREATE TABLE IF NOT EXISTS {ks}.tasks ")),
        "{cql}"
    );
    assert!(cql.contains("PRIMARY KEY ((task_list, id))"), "{cql}");

    let assert = bare()
        .args([
            "--layout",
            "task-rb",
            "--table",
            "old_tasks",
            "schema",
            "print",
        ])
        .assert()
        .success();
    let cql = stdout_of(&assert);
    assert!(
        cql.contains(&format!("CREATE TABLE IF NOT EXISTS {ks}.old_tasks ")),
        "{cql}"
    );
    assert!(cql.contains("PRIMARY KEY ((task_list), id, type)"), "{cql}");
    assert_eq!(
        cql.matches(";\n").count(),
        3,
        "keyspace, table, history: {cql}"
    );
}

#[test]
fn every_help_shows_an_example() {
    let commands: &[&[&str]] = &[
        &[],
        &["schema"],
        &["schema", "print"],
        &["schema", "create"],
        &["count"],
        &["ls"],
        &["show"],
        &["retry"],
        &["complete"],
        &["purge"],
        &["export"],
        &["import"],
    ];
    for command in commands {
        bare()
            .args(*command)
            .arg("--help")
            .assert()
            .success()
            .stdout(contains("Examples:\n  taskrec").or(contains("Examples:\n  export")));
    }
}

#[test]
fn an_unreachable_server_is_an_error() {
    bare()
        .env("TASKREC_CASSANDRA", "127.0.0.1:1")
        .args(["--timeout", "2", "count", "l"])
        .assert()
        .code(1)
        .stderr(contains("error: connecting to Cassandra at 127.0.0.1:1"));
}

#[test]
fn a_tls_ca_file_that_is_no_ca_is_an_error_naming_it() {
    // No server needed: the file is read before any node is asked.
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate\n").unwrap();
    let run = || {
        bare()
            .env("TASKREC_CASSANDRA", "127.0.0.1:1")
            .args(["--tls-ca", ca.to_str().unwrap(), "count", "l"])
            .assert()
    };
    #[cfg(any(feature = "rustls", feature = "openssl"))]
    {
        let refused = format!(
            "error: connecting to Cassandra at 127.0.0.1:1 (keyspace {}, table tasks): \
             invalid cassandra adapter configuration: reading CA file {}: ",
            keyspace(),
            ca.display()
        );
        let assert = run().code(1).stdout("");
        if cfg!(feature = "openssl") {
            // OpenSSL (used when built in) says why among its error codes.
            assert.stderr(contains(refused.as_str()));
        } else {
            assert.stderr(format!("{refused}no certificate in it\n"));
        }
    }
    #[cfg(not(any(feature = "rustls", feature = "openssl")))]
    run()
        .code(2)
        .stderr(contains("this taskrec was built without TLS"));
}

/// Debian's libfaketime (thread-safe build), which `scripts/test` installs
/// (`scripts/faketime-install`), or the file `TASKREC_LIBFAKETIME` names.
fn libfaketime() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("TASKREC_LIBFAKETIME") {
        return path.into();
    }
    std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|dir| dir.path().join("faketime/libfaketimeMT.so.1"))
        .find(|path| path.exists())
        .expect("libfaketime is missing: install it with scripts/faketime-install")
}

#[test]
fn doctor_shows_the_nodes_and_a_client_clock_that_is_off() {
    let assert = taskrec().args(["doctor"]).assert().success();
    let text = stdout_of(&assert);
    assert!(
        text.contains("taskrec's table, schema 3, 16 shards"),
        "{text}"
    );
    assert!(text.contains("the cluster's (±"), "{text}");
    assert!(text.ends_with("no problems found\n"), "{text}");

    let json = |assert: Assert| -> Value {
        serde_json::from_str(&stdout_of(&assert)).expect("doctor's JSON")
    };
    let check = json(
        taskrec()
            .args(["doctor", "--format", "json"])
            .assert()
            .success(),
    );
    assert_eq!(check["problems"], json!([]));
    assert_eq!(check["layout"], "taskrec");
    let nodes = check["nodes"].as_array().unwrap();
    assert!(!nodes.is_empty());
    for node in nodes {
        assert!(node["release_version"].is_string(), "{node}");
        assert!(node["schema_version"].is_string(), "{node}");
        assert!(
            node["clock"]["offset_ms"].as_i64().unwrap().abs() < 1_000,
            "{node}"
        );
    }

    // This client's clock 6 minutes behind: measured, warned about, and
    // no problem (taskrec corrects for it).
    let behind = json(
        taskrec()
            .env("LD_PRELOAD", libfaketime())
            .env("FAKETIME", "-6m")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .args(["doctor", "--format", "json"])
            .assert()
            .success(),
    );
    let offset = behind["clock"]["offset_ms"].as_i64().unwrap();
    assert!((offset - 360_000).abs() < 1_000, "{behind}");
    assert_eq!(behind["problems"], json!([]));
    let warnings = behind["warnings"].to_string();
    assert!(warnings.contains("s behind the cluster's"), "{warnings}");
}

/// One HTTP/1.0 exchange with the dashboard: the status line, the
/// headers and the body, as one string.
fn http(port: u16, request: &str) -> String {
    use std::io::Read;
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("the dashboard answers");
    stream
        .write_all(request.as_bytes())
        .expect("sending the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("reading the answer");
    response
}

#[test]
fn web_serves_the_dashboard_and_pauses_a_list_with_the_token() {
    let (list, _) = imported("web", 3);
    fail(&list, &["t1"], "<script>alert(1)</script>");
    let port = free_port();
    let server = std::process::Command::new(env!("CARGO_BIN_EXE_taskrec"))
        .args(["--cassandra", &address(), "--keyspace", keyspace()])
        .args([
            "web",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--list",
            &list,
        ])
        .env("TASKREC_WEB_TOKEN", "t0ken")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting taskrec web");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut guard = Kill(server);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the dashboard never listened"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let overview = http(port, "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    assert!(overview.starts_with("HTTP/1.0 200"), "{overview}");
    assert!(
        overview.contains(&format!("data-list=\"{list}\" data-field=\"pending\">2<")),
        "{overview}"
    );
    assert!(overview.contains(&format!("data-list=\"{list}\" data-field=\"failed\">")));
    let failed = http(
        port,
        &format!("GET /lists/{list}/failed HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"),
    );
    assert!(
        failed.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{failed}"
    );
    assert!(!failed.contains("<script>alert(1)"));
    let at = failed.find("name=\"csrf\" value=\"").expect("a form");
    let csrf = &failed[at + 19..at + 19 + 32];
    let body = format!("csrf={csrf}&confirm=yes");
    let pause = |auth: &str| {
        http(
            port,
            &format!(
                "POST /lists/{list}/pause HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{auth}\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let refused = pause("");
    assert!(refused.starts_with("HTTP/1.0 401"), "{refused}");
    assert_eq!(paused_by(&list), None);
    // dave:t0ken
    let done = pause("Authorization: Basic ZGF2ZTp0MGtlbg==\r\n");
    assert!(done.starts_with("HTTP/1.0 303"), "{done}");
    assert_eq!(paused_by(&list).as_deref(), Some("dave"));
    guard.0.kill().expect("stopping the dashboard");
    let mut log = String::new();
    std::io::Read::read_to_string(guard.0.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(
        log.contains("dashboard change")
            && (log.contains("who=\"dave\"") || log.contains("who=dave")),
        "{log}"
    );
    assert!(!log.contains("t0ken"), "the token reached the log: {log}");
    assert!(
        !log.contains('\u{1b}'),
        "escape codes reached a pipe: {log}"
    );
}

/// The worker example (`examples/worker.rs`), which `scripts/test` builds
/// with every feature before the tests run.
fn worker_example() -> std::path::PathBuf {
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_taskrec"))
        .parent()
        .expect("target/<profile>")
        .join("examples/worker");
    assert!(
        exe.exists(),
        "{} is missing: build it first (cargo build --workspace --all-features --examples)",
        exe.display()
    );
    exe
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// `GET /metrics` over plain HTTP/1.0: the body.
fn scrape(port: u16) -> String {
    use std::io::Read;
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("the metrics endpoint answers");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .expect("sending the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("reading the response");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{head}"
    );
    body.to_owned()
}

/// The README's walk-through, as a newcomer would run it: a worker on the
/// server keeps the tasks that fail every attempt as failed, shows its
/// metrics while it lingers and logs each failure with its task; the
/// command then counts the list by state, lists the failed tasks with
/// their errors and retries them.
#[test]
fn a_workers_failed_tasks_are_seen_and_retried_as_the_readme_shows() {
    use std::io::BufRead;
    use std::process::Stdio;

    let list = unique_list("resize");
    let port = free_port();
    let worker = std::process::Command::new(worker_example())
        .args(["--cassandra", "--list", &list, "--generate", "40"])
        .args([
            "--broken-every",
            "10",
            "--fail-every",
            "7",
            "--max-attempts",
            "2",
        ])
        .args(["--work-ms", "1", "--linger-ms", "120000"])
        .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
        .env("TASKREC_CASSANDRA", address())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the worker example starts");
    // Killed however the test ends: it would linger two minutes.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut worker = KillOnDrop(worker);
    let stdout = std::io::BufReader::new(worker.0.stdout.take().expect("its stdout"));
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let done = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(180))
            .expect("the worker reports its drain within 3 minutes");
        if line.contains(": done in ") {
            break line;
        }
    };
    // Images 0, 10, 20, 30 fail both attempts; 7, 14, 21, 28, 35 their first.
    assert!(
        done.ends_with(
            "36 succeeded, 9 retried, 4 failed, 0 lost to other workers, 0 given back; 4 left in the list"
        ),
        "{done}"
    );

    // Its metrics, scraped while it lingers.
    let metrics = scrape(port);
    let labels = format!(r#"{{task_list="{list}",task_type="Resize"}}"#);
    for (name, value) in [
        ("taskrec_saved_total", 40),
        ("taskrec_attempts_total", 49),
        ("taskrec_retries_total", 9),
        ("taskrec_failures_total", 4),
    ] {
        let line = format!("{name}{labels} {value}");
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in the metrics:\n{metrics}"
        );
    }
    // Timings as histograms with buckets (they add up across workers), and
    // counters of what has not happened yet present at zero.
    assert!(
        metrics.lines().any(
            |l| l.starts_with("taskrec_attempt_duration_seconds_bucket{")
                && l.contains(r#"le="0.005""#)
        ),
        "no histogram buckets in the metrics:\n{metrics}"
    );
    assert!(
        !metrics.contains("quantile="),
        "summaries in the metrics:\n{metrics}"
    );
    for name in ["taskrec_lost_leases_total", "taskrec_task_takeovers_total"] {
        let line = format!("{name}{labels} 0");
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in the metrics:\n{metrics}"
        );
    }
    worker.0.kill().expect("stopping the worker");
    worker.0.wait().expect("the worker ends");
    let mut log = String::new();
    std::io::Read::read_to_string(&mut worker.0.stderr.take().expect("its stderr"), &mut log)
        .expect("the worker's log");
    // Each failure for good is an error naming its task and its cause.
    for image in [0, 10, 20, 30] {
        assert!(
            log.lines().any(|l| l.contains("ERROR")
                && l.contains(&format!("image-{image:06}"))
                && l.contains(&format!("image {image} is corrupt"))),
            "no error line for image {image} in the log:\n{log}"
        );
    }

    // The command, on the example's keyspace.
    let cli = || {
        let mut command = bare();
        command.args(["--keyspace", "taskrec_worker"]);
        command
    };
    let counts: Value = serde_json::from_str(&stdout_of(
        &cli()
            .args(["count", &list, "--by-status", "--exact", "--format", "json"])
            .assert()
            .success(),
    ))
    .expect("count's JSON");
    assert_eq!(
        (&counts["total"], &counts["failed"]),
        (&json!(4), &json!(4)),
        "{counts}"
    );

    let listed = stdout_of(
        &cli()
            .args(["ls", &list, "--status", "failed", "--format", "jsonl"])
            .assert()
            .success(),
    );
    let mut failed: Vec<(String, String)> = listed
        .lines()
        .map(|line| {
            let task: Value = serde_json::from_str(line).expect("a JSON line");
            (
                task["id"].as_str().unwrap_or_default().to_owned(),
                task["state"]["last_error"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    failed.sort();
    let expected: Vec<(String, String)> = [0, 10, 20, 30]
        .iter()
        .map(|image| {
            (
                format!("image-{image:06}"),
                format!("image {image} is corrupt"),
            )
        })
        .collect();
    assert_eq!(failed, expected);

    cli()
        .args(["retry", &list, "--failed", "--yes"])
        .assert()
        .success();
    let counts: Value = serde_json::from_str(&stdout_of(
        &cli()
            .args(["count", &list, "--by-status", "--exact", "--format", "json"])
            .assert()
            .success(),
    ))
    .expect("count's JSON");
    assert_eq!(
        (&counts["pending"], &counts["failed"]),
        (&json!(4), &json!(0)),
        "{counts}"
    );
}
