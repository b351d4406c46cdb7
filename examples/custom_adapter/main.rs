//! A storage adapter of your own: one JSON file per task in a directory,
//! small and complete, to copy as the start of a real backend.
//!
//! The adapter is in `json_file.rs`, next to this file: it implements
//! [`StorageAdapter`](taskrec::adapter::StorageAdapter)'s four required
//! methods. This file proves the adapter keeps the whole adapter contract by
//! running taskrec's conformance suite against it, and then uses it as an
//! application would, through a [`TaskStore`]: save, find, list, complete.
//! Everything happens in a temporary directory that is removed at the end.
//!
//! ```sh
//! cargo run --example custom_adapter --features conformance
//! ```
//!
//! It exits non-zero when any rule of the contract or any expectation below
//! breaks. Besides taskrec and what the adapter needs (see `json_file.rs`),
//! the example uses `tempfile` and `futures`.

mod json_file;

use futures::TryStreamExt;
use taskrec::adapter::Error;
use taskrec::{Task, TaskData, TaskStore};

use json_file::{JsonFileAdapter, ADAPTER};

/// A task type, to store through the adapter.
#[derive(Debug, Clone, PartialEq, TaskData)]
struct FetchFile {
    external_host: String,
    filename: String,
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().to_owned();
    println!("adapter: {ADAPTER} in {}", root.display());

    // 1. The contract. Every rule of `StorageAdapter` is checked here; a
    //    broken one panics with its name, and the example exits non-zero.
    //    A backend's own tests run the same rules one test each, on a fresh
    //    adapter per rule, with the directory kept until the test ends:
    //
    //        mod json_file_adapter {
    //            taskrec::conformance_tests!(|| async {
    //                let dir = tempfile::tempdir().unwrap();
    //                (super::JsonFileAdapter::new(dir.path()), dir)
    //            });
    //        }
    let adapter = JsonFileAdapter::new(&root);
    taskrec::conformance::run_all(&adapter).await;
    println!("conformance: every rule of the adapter contract holds");

    // 2. The adapter under a TaskStore, as an application uses it.
    let store = TaskStore::new(adapter);
    let list = "datto.com";
    for (id, filename) in [("file1", "file1.txt"), ("file2", "file2.txt")] {
        let task = Task::new(
            list,
            id,
            FetchFile {
                external_host: "datto.com".into(),
                filename: filename.into(),
            },
        )?;
        store.save(&task).await?;
    }
    println!("saved 2 tasks in `{list}`");

    let found: Option<Task<FetchFile>> = store.find(list, "file1").await?;
    let found = found.ok_or("file1 was saved but is not found")?;
    assert_eq!(found.data().filename, "file1.txt");
    println!("found `file1`: {:?}", found.data());

    // No conditional writes, so no claims and no `Worker`: refused before
    // anything is read, naming the capability the adapter would need.
    let lease = std::time::Duration::from_secs(30);
    match store.claim(list, "file1", "worker-1", lease).await {
        Err(refused @ Error::Unsupported { .. }) => {
            assert_eq!(
                refused.to_string(),
                "the json-file adapter does not support conditional writes \
                 (Capabilities::conditional_writes), which task state, claims and workers need"
            );
            println!("claim refused: {refused}");
        }
        other => return Err(format!("a claim on {ADAPTER} must be refused: {other:?}").into()),
    }

    // The records are files: another handle on the same directory (another
    // process, later) sees them.
    let reopened = TaskStore::new(JsonFileAdapter::new(&root));
    let mut open: Vec<Task<FetchFile>> = reopened.all(list).try_collect().await?;
    open.sort_by(|a, b| a.id().cmp(b.id()));
    let ids: Vec<&str> = open.iter().map(Task::id).collect();
    assert_eq!(ids, ["file1", "file2"]);
    println!("listed through a second handle: {ids:?}");

    for task in &open {
        store.complete(task).await?;
    }
    assert_eq!(store.count(list).await?, 0);
    assert!(store.find::<FetchFile>(list, "file1").await?.is_none());
    println!(
        "completed both; the list holds {}",
        store.count(list).await?
    );

    // 3. Clean up, and say so if the directory could not be removed.
    dir.close()?;
    assert!(!root.exists(), "the temporary directory is left behind");
    println!("removed {}", root.display());
    Ok(())
}
