//! Two processes handing tasks over: a parent writes tasks to a child's
//! standard input as JSON lines of the hash form ([`Task::to_json`], the
//! four keys `task_list`, `id`, `type`, `data` that task_rb's `as_hash`
//! gives); the child decodes each line into the concrete task type, runs the
//! task, and answers one JSON line per task on its standard output; the
//! parent checks every answer.
//!
//! ```sh
//! cargo run --example handover                # the parent; it starts the child itself
//! echo '{"task_list":"jobs","id":"1","type":"Greet","data":{"name":"Ada"}}' \
//!   | cargo run --example handover -- --child  # the child alone
//! ```
//!
//! Run with no argument, the example starts itself again with `--child`
//! (any program that reads and writes these lines would do, in any
//! language: the tasks are plain hashes). A line that is not a task the
//! child knows is answered with taskrec's typed error (invalid hash, unknown
//! type, invalid data, invalid key), never a crash, and the child goes on
//! with the next line. The parent exits non-zero when any answer is not the
//! one expected or the child fails.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use taskrec::{Error, Task, TaskData};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// A task type: divides, and fails on a zero divisor.
#[derive(Debug, Clone, PartialEq, TaskData)]
struct Divide {
    a: i64,
    b: i64,
}

/// Another task type.
#[derive(Debug, Clone, PartialEq, TaskData)]
struct Greet {
    name: String,
}

/// What the child accepts: either type, decoded by the type name in the hash.
#[derive(Debug, TaskData)]
enum Job {
    Divide(Divide),
    Greet(Greet),
}

/// One answer line from the child.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Reply {
    /// The task ran and succeeded.
    Done { id: String, output: String },
    /// The task ran and failed: the sender keeps it, to retry or give up.
    Failed { id: String, error: String },
    /// The line was not a task the child can run: taskrec's error, by kind.
    Refused { kind: String, error: String },
}

fn main() -> BoxResult<()> {
    match std::env::args().nth(1).as_deref() {
        None => parent(),
        Some("--child") => child(),
        Some(other) => Err(format!("unknown argument {other:?}; run with none, or --child").into()),
    }
}

// ---------------------------------------------------------------------------
// The child: tasks in on stdin, one answer out on stdout per line
// ---------------------------------------------------------------------------

fn child() -> BoxResult<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let reply = match Task::<Job>::from_json(&line) {
            Ok(task) => run(&task),
            // Whatever the line held, the answer is a typed error, not a panic.
            Err(e) => Reply::Refused {
                kind: kind(&e).to_owned(),
                error: e.to_string(),
            },
        };
        writeln!(out, "{}", serde_json::to_string(&reply)?)?;
        out.flush()?; // the parent waits for this line before it sends the next
    }
    Ok(())
}

/// "Runs" a task: dispatches on its concrete type.
fn run(task: &Task<Job>) -> Reply {
    let id = task.id().to_owned();
    match task.data() {
        Job::Divide(Divide { a, b }) => match a.checked_div(*b) {
            Some(quotient) => Reply::Done {
                id,
                output: quotient.to_string(),
            },
            None => Reply::Failed {
                id,
                error: format!("cannot divide {a} by {b}"),
            },
        },
        Job::Greet(Greet { name }) => Reply::Done {
            id,
            output: format!("hello, {name}"),
        },
    }
}

/// The kind of a decoding error, for the parent to check without parsing
/// messages. `Error` is `#[non_exhaustive]`: new kinds may come.
fn kind(error: &Error) -> &'static str {
    match error {
        Error::InvalidHash { .. } => "invalid_hash",
        Error::UnknownType { .. } => "unknown_type",
        Error::InvalidData { .. } => "invalid_data",
        Error::InvalidTaskList { .. } | Error::InvalidId { .. } => "invalid_key",
        _ => "other",
    }
}

// ---------------------------------------------------------------------------
// The parent: starts the child, hands it tasks, checks the answers
// ---------------------------------------------------------------------------

fn parent() -> BoxResult<()> {
    // The tasks, each as the line the child reads, with the answer expected.
    let mut sends: Vec<(String, Reply)> = Vec::new();
    let divide = Task::new("jobs", "div-1", Divide { a: 84, b: 2 })?;
    sends.push((divide.to_json()?, done("div-1", "42")));
    let greet = Task::new("jobs", "greet-1", Greet { name: "Ada".into() })?;
    // `to_json` is the hash form as JSON text; the same through serde:
    sends.push((
        serde_json::to_string(&greet.as_hash())?,
        done("greet-1", "hello, Ada"),
    ));
    let by_zero = Task::new("jobs", "div-0", Divide { a: 1, b: 0 })?;
    sends.push((
        by_zero.to_json()?,
        Reply::Failed {
            id: "div-0".into(),
            error: "cannot divide 1 by 0".into(),
        },
    ));
    // Lines that are not tasks the child can run: each gets a typed error.
    sends.push((
        "this is not JSON".into(),
        refused(
            "invalid_hash",
            "invalid task hash: the hash is not JSON: expected ident at line 1 column 2",
        ),
    ));
    sends.push((
        r#"{"task_list":"jobs","id":"r1","type":"Rename","data":{}}"#.into(),
        refused(
            "unknown_type",
            r#"unknown task type `Rename` in task "jobs"/"r1"; known types: `Divide`, `Greet`"#,
        ),
    ));
    sends.push((
        r#"{"task_list":"jobs","id":"d2","type":"Divide","data":{"a":"six","b":2}}"#.into(),
        // serde's own words follow; the check stops before them.
        refused(
            "invalid_data",
            r#"invalid data for task type `Divide` in task "jobs"/"d2" at `.a`: "#,
        ),
    ));
    sends.push((
        r#"{"task_list":"","id":"g2","type":"Greet","data":{"name":"Bo"}}"#.into(),
        refused("invalid_key", "invalid task list: it is empty"),
    ));
    // And a good task after the bad lines: the child went on.
    let last = Task::new("jobs", "div-2", Divide { a: -9, b: 3 })?;
    sends.push((last.to_json()?, done("div-2", "-3")));

    let mut child = Command::new(std::env::current_exe()?)
        .arg("--child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit()) // a child's crash report shows up as is
        .spawn()?;
    let mut to_child = child.stdin.take().ok_or("the child has no stdin pipe")?;
    let mut from_child = BufReader::new(child.stdout.take().ok_or("the child has no stdout pipe")?);

    // One line in flight at a time: write a task, read its answer. (A parent
    // that streams many tasks ahead of the answers writes from another
    // thread, so that neither pipe fills up while the other side waits.)
    let mut wrong = Vec::new();
    for (line, expected) in &sends {
        writeln!(to_child, "{line}")?;
        to_child.flush()?;
        let mut answer = String::new();
        if from_child.read_line(&mut answer)? == 0 {
            wrong.push(format!("no answer to {line}: the child's output ended"));
            break;
        }
        println!("> {line}\n< {}", answer.trim_end());
        match serde_json::from_str::<Reply>(&answer) {
            Ok(reply) if is_expected(&reply, expected) => {}
            Ok(reply) => wrong.push(format!(
                "{line}\n  answered {reply:?}\n  expected {expected:?}"
            )),
            Err(e) => wrong.push(format!("{line}\n  answered {answer:?}, not a reply: {e}")),
        }
    }

    // Closing its stdin tells the child there is no more work.
    drop(to_child);
    let mut rest = String::new();
    if from_child.read_line(&mut rest)? != 0 {
        wrong.push(format!("an answer to nothing: {rest:?}"));
    }
    let status = child.wait()?;
    if !status.success() {
        wrong.push(format!("the child exited with {status}"));
    }

    if !wrong.is_empty() {
        for problem in &wrong {
            eprintln!("wrong: {problem}");
        }
        return Err(format!("{} of {} answers wrong", wrong.len(), sends.len()).into());
    }
    println!(
        "{} lines handed over, every answer as expected",
        sends.len()
    );
    Ok(())
}

/// Whether a reply is the one expected; a refusal's message only has to
/// start with the expected text.
fn is_expected(reply: &Reply, expected: &Reply) -> bool {
    match (reply, expected) {
        (
            Reply::Refused { kind, error },
            Reply::Refused {
                kind: want_kind,
                error: want_error,
            },
        ) => kind == want_kind && error.starts_with(want_error.as_str()),
        _ => reply == expected,
    }
}

fn done(id: &str, output: &str) -> Reply {
    Reply::Done {
        id: id.into(),
        output: output.into(),
    }
}

fn refused(kind: &str, error: &str) -> Reply {
    Reply::Refused {
        kind: kind.into(),
        error: error.into(),
    }
}
