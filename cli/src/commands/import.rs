//! `import FILE [--list L] [--keep-going]`: saves tasks from JSON lines of
//! task hashes, the form `export` writes. `-` reads standard input.
//!
//! By default the whole file is checked before anything is written, so a
//! file with one bad line changes nothing; `--keep-going` writes the good
//! lines in one pass. Either way the file is read as a stream, never held
//! whole: memory stays flat for a file of millions of lines.
//!
//! A task already stored with the same type and data is left alone, state
//! and timestamps included (a save would make it pending again): importing
//! the same file twice changes nothing the second time.
//!
//! With `--at TIME` or `--in DELAY` the tasks written are scheduled
//! ([`StorageAdapter::store_scheduled`](taskrec::adapter::StorageAdapter::store_scheduled)):
//! no worker runs them before that time (one time for the whole file, a
//! delay counted from when the import connects, by the store's clock).
//!
//! Lines are imported in groups of [`SAVE_ALL_GROUP`]: each task of a group
//! looked up by key, then the changed ones saved together with
//! [`TaskStore::save_records`] (stamped by the store's clock, with a
//! history line and a count each, as any save; one
//! [`store_all`](taskrec::adapter::StorageAdapter::store_all) call, which Cassandra
//! turns into a few batches grouped by partition); `--concurrency` groups
//! at once.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use taskrec::{validate_task_list, TaskHash, TaskRecord, TaskStore, SAVE_ALL_GROUP};

use crate::args::{Connection, ImportArgs};
use crate::exit::usage;
use crate::{connect, progress};

/// Imports the file.
pub async fn run(options: &Connection, args: ImportArgs) -> anyhow::Result<()> {
    if let Some(list) = &args.list {
        validate_task_list(list).map_err(|e| usage(format!("--list {list:?}: {e}")))?;
    }
    if args.concurrency == 0 {
        return Err(usage("--concurrency must be at least 1"));
    }
    let source = Source::new(&args.file, !args.keep_going)?;
    let file = source.name.clone();
    // Checked before connecting: a bad file needs no cluster to say so.
    let total = if args.keep_going {
        None
    } else {
        let checked = check(&source, args.list.as_deref())?;
        if checked.bad > 0 {
            anyhow::bail!(
                "{} bad lines in {file} (named above); nothing written \
                 (--keep-going writes the good lines)",
                checked.bad
            );
        }
        Some(checked.good)
    };
    let store = connect::store(options).await?;
    let schedule = match (args.at, args.delay) {
        (Some(at), _) => Some(at),
        (None, Some(delay)) => {
            let now = store.now().await?;
            Some(
                chrono::TimeDelta::from_std(delay)
                    .ok()
                    .and_then(|delay| now.checked_add_signed(delay))
                    .ok_or_else(|| usage("--in: too long a delay"))?,
            )
        }
        (None, None) => None,
    };
    if schedule.is_some() && !store.keeps_state() {
        return Err(usage(
            "--at and --in need task state, which task_rb's table does not keep",
        ));
    }
    let bar = match total {
        Some(total) => progress::bar(total, "imported"),
        None => progress::counter("imported"),
    };
    let bad = Cell::new(0u64);
    // Bad lines are reported here, as they are read, so that they come out
    // in the file's order whatever the writes do.
    let good = lines(&source, args.list.as_deref())?.filter_map(|line| match line {
        Err(e) => Some(Err(e)),
        Ok(Line {
            number,
            parsed: Err(reason),
        }) => {
            bad.set(bad.get() + 1);
            bar.suspend(|| eprintln!("{file}:{number}: {reason}"));
            None
        }
        Ok(Line {
            number,
            parsed: Ok(record),
        }) => Some(Ok((number, record))),
    });
    let tally = futures::stream::iter(good)
        .chunks(SAVE_ALL_GROUP)
        .map(|group| {
            let (store, file, bar) = (&store, &file, &bar);
            async move {
                let group = group.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
                let tally = import_group(store, file, &group, schedule).await?;
                bar.inc(group.len() as u64);
                anyhow::Ok(tally)
            }
        })
        .buffer_unordered(args.concurrency)
        .try_fold(Tally::default(), |sum, one| async move { Ok(sum + one) })
        .await?;
    let bad = bad.get();
    bar.finish_and_clear();
    println!(
        "imported {} tasks from {file}: {} written, {} unchanged",
        tally.written + tally.unchanged,
        tally.written,
        tally.unchanged
    );
    if bad > 0 {
        anyhow::bail!("{bad} bad lines in {file} (named above) not imported");
    }
    Ok(())
}

/// What was done with the tasks of a file.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    written: u64,
    unchanged: u64,
}

impl std::ops::Add for Tally {
    type Output = Tally;

    fn add(self, other: Tally) -> Tally {
        Tally {
            written: self.written + other.written,
            unchanged: self.unchanged + other.unchanged,
        }
    }
}

/// Saves the records of one group of lines (line number, record) that the
/// store does not hold already with the same type and data: each looked up
/// by key, then the changed ones saved together ([`TaskStore::save_records`]),
/// scheduled to run no earlier than `schedule` if given.
async fn import_group(
    store: &TaskStore,
    file: &str,
    group: &[(u64, TaskRecord)],
    schedule: Option<DateTime<Utc>>,
) -> anyhow::Result<Tally> {
    let lookups = group.iter().map(|(number, record)| async move {
        let stored = store
            .find_record(record.task_list(), record.id())
            .await
            .with_context(|| {
                format!(
                    "{file}:{number}: reading task {:?} of list {:?}",
                    record.id(),
                    record.task_list()
                )
            })?;
        let unchanged = stored.is_some_and(|stored| {
            stored.type_name() == record.type_name() && same_json(stored.data(), record.data())
        });
        anyhow::Ok((!unchanged).then(|| record.clone()))
    });
    let changed: Vec<TaskRecord> = futures::future::try_join_all(lookups)
        .await?
        .into_iter()
        .flatten()
        .collect();
    // Stamped by the store's clock (the cluster's), not this host's, with
    // the history line and the count of any save.
    let written = changed.len() as u64;
    store
        .save_records(changed, schedule)
        .await
        .with_context(|| {
            let (first, last) = (group[0].0, group[group.len() - 1].0);
            format!("{file}:{first}-{last}: saving {written} tasks")
        })?;
    Ok(Tally {
        written,
        unchanged: group.len() as u64 - written,
    })
}

/// The same JSON, whatever its spacing or key order. Numbers are compared
/// as written: a `serde_json::Value` would hold
/// `123456789012345678901234567890` and `...891` as one `f64`, and the
/// import would then keep the stored number instead of the file's. (`1.0`
/// and `1` count as different: the line is written again, which is safe.)
fn same_json(a: &str, b: &str) -> bool {
    use serde_json::value::RawValue;
    use std::collections::BTreeMap;

    if a == b {
        return true;
    }
    let (a, b) = (a.trim(), b.trim());
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(b'{'), Some(b'{')) => {
            let parse = |text| serde_json::from_str::<BTreeMap<String, &RawValue>>(text);
            match (parse(a), parse(b)) {
                (Ok(a), Ok(b)) => {
                    a.len() == b.len()
                        && a.iter()
                            .zip(&b)
                            .all(|((ka, va), (kb, vb))| ka == kb && same_json(va.get(), vb.get()))
                }
                _ => false,
            }
        }
        (Some(b'['), Some(b'[')) => {
            let parse = |text| serde_json::from_str::<Vec<&RawValue>>(text);
            match (parse(a), parse(b)) {
                (Ok(a), Ok(b)) => {
                    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| same_json(x.get(), y.get()))
                }
                _ => false,
            }
        }
        // Strings may spell a character two ways (`"A"`, `"\u0041"`).
        (Some(b'"'), Some(b'"')) => matches!(
            (serde_json::from_str::<String>(a), serde_json::from_str::<String>(b)),
            (Ok(a), Ok(b)) if a == b
        ),
        // Numbers, `true`, `false`, `null`: as written.
        _ => a == b && serde_json::from_str::<&RawValue>(a).is_ok(),
    }
}

/// How many lines of a file hold tasks, and how many are bad.
struct Checked {
    good: u64,
    bad: u64,
}

/// Reads the whole file, reporting each bad line on standard error.
fn check(source: &Source, list: Option<&str>) -> anyhow::Result<Checked> {
    let mut checked = Checked { good: 0, bad: 0 };
    for line in lines(source, list)? {
        let line = line?;
        match line.parsed {
            Ok(_) => checked.good += 1,
            Err(reason) => {
                eprintln!("{}:{}: {reason}", source.name, line.number);
                checked.bad += 1;
            }
        }
    }
    Ok(checked)
}

/// Where the lines come from: a file, or standard input (`-`).
struct Source {
    /// How messages name it: the path, or "standard input".
    name: String,
    /// The file to read; `None`: standard input, read once as it comes.
    path: Option<PathBuf>,
    /// Standard input copied to a temporary file, for an import that reads
    /// its lines twice (checked first, then written); removed on drop.
    _spooled: Option<tempfile::NamedTempFile>,
}

impl Source {
    fn new(path: &Path, read_twice: bool) -> anyhow::Result<Source> {
        if path != Path::new("-") {
            return Ok(Source {
                name: path.display().to_string(),
                path: Some(path.to_owned()),
                _spooled: None,
            });
        }
        let name = "standard input".to_owned();
        if !read_twice {
            return Ok(Source {
                name,
                path: None,
                _spooled: None,
            });
        }
        let mut spooled = tempfile::NamedTempFile::new()
            .context("creating a temporary file for standard input")?;
        std::io::copy(&mut std::io::stdin().lock(), &mut spooled)
            .context("copying standard input to a temporary file")?;
        Ok(Source {
            name,
            path: Some(spooled.path().to_owned()),
            _spooled: Some(spooled),
        })
    }

    fn open(&self) -> anyhow::Result<Box<dyn BufRead>> {
        match &self.path {
            Some(path) => {
                let file = File::open(path).with_context(|| format!("opening {}", self.name))?;
                Ok(Box::new(BufReader::new(file)))
            }
            None => Ok(Box::new(BufReader::new(std::io::stdin()))),
        }
    }
}

/// One line of a file that holds something (blank lines are skipped).
struct Line {
    /// Counted from 1, blank lines included, as editors count.
    number: u64,
    /// The task, or why the line is not one.
    parsed: Result<TaskRecord, String>,
}

/// The file's lines, parsed one at a time as they are read.
fn lines(
    source: &Source,
    list: Option<&str>,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<Line>> + use<>> {
    let mut reader = source.open()?;
    let mut number = 0u64;
    let mut bytes = Vec::new();
    let list = list.map(str::to_owned);
    let display = source.name.clone();
    let iter = std::iter::from_fn(move || loop {
        bytes.clear();
        match reader.read_until(b'\n', &mut bytes) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => {
                return Some(Err(
                    anyhow::Error::new(e).context(format!("reading {display}"))
                ))
            }
        }
        number += 1;
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text.trim_end_matches(['\n', '\r']),
            Err(e) => {
                return Some(Ok(Line {
                    number,
                    parsed: Err(format!("not UTF-8 text ({e})")),
                }))
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        return Some(Ok(Line {
            number,
            parsed: parse(text, list.as_deref()),
        }));
    });
    Ok(iter)
}

/// A task from one line: a task hash, in `list` when one is given.
fn parse(text: &str, list: Option<&str>) -> Result<TaskRecord, String> {
    let mut hash = TaskHash::from_json(text).map_err(|e| e.to_string())?;
    if hash.type_name.trim().is_empty() {
        return Err("invalid task hash: `type` is empty".to_owned());
    }
    if let Some(list) = list {
        hash.task_list = list.to_owned();
    }
    hash.into_record().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_a_task_hash() {
        let record = parse(
            r#"{"task_list":"l","id":"1","type":"T","data":{"a":1}}"#,
            None,
        )
        .unwrap();
        assert_eq!(
            (
                record.task_list(),
                record.id(),
                record.type_name(),
                record.data()
            ),
            ("l", "1", "T", r#"{"a":1}"#)
        );
        let moved = parse(
            r#"{"task_list":"l","id":"1","type":"T","data":{}}"#,
            Some("m"),
        )
        .unwrap();
        assert_eq!(moved.task_list(), "m");
    }

    #[test]
    fn bad_lines_say_why() {
        let reason = |line: &str| parse(line, None).unwrap_err();
        assert_eq!(
            reason("[]"),
            "invalid task hash: the hash is an array, not a JSON object"
        );
        assert_eq!(
            reason(r#"{"task_list":"l","id":"1","type":" ","data":{}}"#),
            "invalid task hash: `type` is empty"
        );
        assert!(reason(r#"{"task_list":"","id":"1","type":"T","data":{}}"#)
            .starts_with("invalid task list"));
        assert!(reason(r#"{"task_list":"l","id":"1","type":"T"}"#).contains("missing field `data`"));
    }

    #[test]
    fn json_is_compared_by_value() {
        assert!(same_json(r#"{"a":1,"b":[2]}"#, r#"{ "b": [2], "a": 1 }"#));
        assert!(!same_json(r#"{"a":1}"#, r#"{"a":2}"#));
        assert!(!same_json("not json", "not json "));
        assert!(same_json(
            r#"{"s":"A","n":[1, null]}"#,
            r#"{"n":[1,null],"s":"\u0041"}"#
        ));
        // One f64, two numbers: the file's must be written.
        assert!(!same_json(
            r#"{"n":123456789012345678901234567890}"#,
            r#"{"n":123456789012345678901234567891}"#
        ));
        assert!(!same_json(r#"{"a":{"b":1}}"#, r#"{"a":{"b":1,"c":2}}"#));
    }
}
