//! `export LIST [-o FILE]`: the list's tasks as JSON lines of task hashes,
//! the form task_rb's `as_hash` gives and `import` reads.
//!
//! Streamed from the store's lazy listing: one page of records in memory,
//! whatever the size of the list.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use futures::TryStreamExt;
use taskrec::TaskStore;

use crate::args::ExportArgs;
use crate::{output, progress};

/// Writes every task of the list, one hash a line.
pub async fn run(store: &TaskStore, args: ExportArgs) -> anyhow::Result<()> {
    match &args.output {
        None => {
            let mut out = output::stdout();
            let written = write_all(store, &args.list, &mut out).await;
            out.flush()?;
            report(&args.list, written?)
        }
        Some(path) => {
            // Written beside the target and renamed when whole: a failed
            // export never leaves a file that looks like a complete one.
            let partial = partial_path(path);
            let file = File::create(&partial)
                .with_context(|| format!("creating {}", partial.display()))?;
            let mut out = BufWriter::new(file);
            let written = async {
                let written = write_all(store, &args.list, &mut out).await?;
                let file = out.into_inner().map_err(|e| e.into_error())?;
                file.sync_all()?;
                anyhow::Ok(written)
            }
            .await
            .with_context(|| format!("writing {}", partial.display()));
            let written = match written {
                Ok(n) => n,
                Err(e) => {
                    let _ = fs::remove_file(&partial);
                    return Err(e);
                }
            };
            fs::rename(&partial, path)
                .with_context(|| format!("renaming {} to {}", partial.display(), path.display()))?;
            report(&args.list, written)
        }
    }
}

/// What was written, and what could not be.
struct Written {
    tasks: u64,
    failed: u64,
}

async fn write_all(store: &TaskStore, list: &str, out: &mut impl Write) -> anyhow::Result<Written> {
    let bar = progress::counter("exported");
    let mut written = Written {
        tasks: 0,
        failed: 0,
    };
    let mut records = store.records(list);
    while let Some(record) = records.try_next().await? {
        // A record whose data is not a JSON object has no hash form: it is
        // named and skipped, and the export ends with an error.
        match record.to_hash().and_then(|hash| hash.to_json()) {
            Ok(line) => {
                writeln!(out, "{line}")?;
                written.tasks += 1;
                bar.inc(1);
            }
            Err(e) => {
                bar.suspend(|| eprintln!("{list}/{}: not exported: {e}", record.id()));
                written.failed += 1;
            }
        }
    }
    bar.finish_and_clear();
    Ok(written)
}

fn report(list: &str, written: Written) -> anyhow::Result<()> {
    eprintln!("exported {} tasks of list {list}", written.tasks);
    if written.failed > 0 {
        anyhow::bail!(
            "{} tasks of list {list} could not be exported (named above)",
            written.failed
        );
    }
    Ok(())
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}
