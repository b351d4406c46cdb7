//! The whole life of a task, on the in-memory adapter, or on a real
//! Cassandra with `--cassandra` (address from `TASKREC_CASSANDRA`, default
//! 127.0.0.1:9042; needs `--features cassandra`).
//!
//! ```sh
//! cargo run --example quickstart
//! cargo run --example quickstart --features cassandra -- --cassandra
//! ```

use futures::TryStreamExt;
use taskrec::adapter::StorageAdapter;
use taskrec::{MemoryAdapter, Task, TaskData, TaskHash, TaskStore};

/// A task type: its fields are the task's data.
#[derive(Debug, Clone, PartialEq, TaskData)]
struct FetchFile {
    external_host: String,
    filename: String,
    #[task(default)]
    retries: u32,
}

/// Another task type, stored under a Ruby class name as task_rb would write it.
#[derive(Debug, Clone, PartialEq, TaskData)]
#[task(type_name = "Tasks::DeleteFile")]
struct DeleteFile {
    filename: String,
}

/// Either kind: decodes whichever type a record names.
#[derive(Debug, Clone, PartialEq, TaskData)]
enum FileJob {
    Fetch(FetchFile),
    Delete(DeleteFile),
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let adapter = adapter().await?;
    let store = TaskStore::from_dyn(adapter);
    let list = format!("datto.com-{}", uuid_suffix());

    // 1. Build tasks: a given id, or a new (time-ordered) UUID.
    let fetch = Task::build(
        &list,
        FetchFile {
            external_host: "datto.com".into(),
            filename: "file1.txt".into(),
            retries: 0,
        },
    )?
    .with_id("file1")?;
    let delete = Task::build(
        &list,
        DeleteFile {
            filename: "old.txt".into(),
        },
    )?;
    println!(
        "built {} `{}` and {} `{}`",
        fetch.type_name(),
        fetch.id(),
        delete.type_name(),
        delete.id()
    );

    // 2. Save them: each record now exists until a worker completes it.
    store.save(&fetch).await?;
    store.save(&delete).await?;
    println!(
        "saved 2 tasks in list `{list}`; the list holds {}",
        store.count(&list).await?
    );

    // 3. List what is open, lazily, as either kind.
    let open: Vec<Task<FileJob>> = store.all(&list).try_collect().await?;
    for task in &open {
        match task.data() {
            FileJob::Fetch(f) => println!("open: fetch {} from {}", f.filename, f.external_host),
            FileJob::Delete(d) => println!("open: delete {}", d.filename),
        }
    }

    // 4. Hand a task to another process as a plain hash, and get the type back.
    let json = serde_json::to_string(&fetch.as_hash())?;
    println!("as a hash: {json}");
    let received: Task<FetchFile> = Task::from_hash(TaskHash::from_json(&json)?)?;
    assert_eq!(received.data(), fetch.data());
    println!(
        "restored {} `{}`: {:?}",
        received.type_name(),
        received.id(),
        received.data()
    );

    // 5. The worker did the work: complete the task, and its record is gone.
    store.complete(&received).await?;
    let gone: Option<Task<FetchFile>> = store.find(&list, "file1").await?;
    println!("completed `file1`; find now gives {gone:?}");
    store.complete(&delete).await?;
    println!(
        "completed the rest; the list holds {}",
        store.count(&list).await?
    );
    Ok(())
}

/// A short random suffix, so runs against a shared server do not meet.
fn uuid_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

#[cfg(feature = "cassandra")]
async fn adapter() -> taskrec::Result<std::sync::Arc<dyn StorageAdapter>> {
    use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
    if !std::env::args().any(|a| a == "--cassandra") {
        println!("adapter: in memory");
        return Ok(std::sync::Arc::new(MemoryAdapter::new()));
    }
    let address =
        std::env::var("TASKREC_CASSANDRA").unwrap_or_else(|_| "127.0.0.1:9042".to_owned());
    println!("adapter: Cassandra at {address}, keyspace taskrec_quickstart");
    let config = CassandraConfig::new([address], "taskrec_quickstart").create_schema(true);
    Ok(std::sync::Arc::new(
        CassandraAdapter::connect(config).await?,
    ))
}

#[cfg(not(feature = "cassandra"))]
async fn adapter() -> taskrec::Result<std::sync::Arc<dyn StorageAdapter>> {
    if std::env::args().any(|a| a == "--cassandra") {
        eprintln!("--cassandra needs the `cassandra` feature: cargo run --example quickstart --features cassandra -- --cassandra");
        std::process::exit(2);
    }
    println!("adapter: in memory");
    Ok(std::sync::Arc::new(MemoryAdapter::new()))
}
