//! Task types known only at run time: a [`TaskRegistry`] of several types,
//! records of any of them decoded into [`DynTaskData`], each dispatched to
//! the code for its concrete type, and what a record of a type the registry
//! does not know gives (a typed [`Error::UnknownType`], naming the record).
//!
//! Use a registry when the set of task types is open (plugins, types from
//! crates the reading code does not depend on); for a closed set, an enum
//! with `#[derive(TaskData)]` does the same at compile time (see the
//! quickstart example).
//!
//! ```sh
//! cargo run --example registry
//! ```
//!
//! It exits non-zero when any expectation below breaks.

use futures::StreamExt;
use taskrec::adapter::StorageAdapter;
use taskrec::{
    DynTaskData, Error, MemoryAdapter, Task, TaskData, TaskHash, TaskRecord, TaskRegistry,
    TaskStore,
};

/// The application's own task types.
#[derive(Debug, Clone, PartialEq, TaskData)]
struct SendEmail {
    to: String,
    subject: String,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct ResizeImage {
    image: String,
    width: u32,
}

/// A type from "a plugin", stored under a Ruby class name as task_rb wrote it.
#[derive(Debug, Clone, PartialEq, TaskData)]
#[task(type_name = "Billing::ChargeCard")]
struct ChargeCard {
    customer: String,
    cents: u64,
}

/// How a plugin adds its types: it gets the registry and registers them.
fn register_billing_plugin(registry: &mut TaskRegistry) -> taskrec::Result<()> {
    registry.register::<ChargeCard>()?;
    Ok(())
}

/// What running a task of any known type did.
fn run(task: Task<DynTaskData>) -> Result<String, String> {
    // By reference: look at the data as a concrete type, if it is one.
    if let Some(email) = task.data().downcast_ref::<SendEmail>() {
        return Ok(format!("emailed {} about {:?}", email.to, email.subject));
    }
    if let Some(resize) = task.data().downcast_ref::<ResizeImage>() {
        return Ok(format!("resized {} to {} px", resize.image, resize.width));
    }
    // By value: the typed task back, or the task unchanged to try the next type.
    match task.downcast::<ChargeCard>() {
        Ok(charge) => Ok(format!(
            "charged {} {} cents (task `{}`)",
            charge.data().customer,
            charge.data().cents,
            charge.id()
        )),
        // Registered, but this code has no handler for it: say so, do not panic.
        Err(other) => Err(format!("no handler for `{}`", other.type_name())),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The registry: the application's types, then the plugin's.
    let mut registry = TaskRegistry::new();
    registry
        .register::<SendEmail>()?
        .register::<ResizeImage>()?;
    register_billing_plugin(&mut registry)?;
    println!("registered: {:?}", registry.type_names());
    assert_eq!(
        registry.type_names(),
        ["Billing::ChargeCard", "ResizeImage", "SendEmail"]
    );

    // A name is registered once; a second registration is refused, never a
    // silent replacement.
    match registry.register::<SendEmail>() {
        Err(Error::DuplicateType { type_name }) => {
            println!("registering SendEmail again: refused (`{type_name}` is taken)");
        }
        other => return Err(format!("a duplicate registration gave {other:?}").into()),
    }

    // 2. A list holding tasks of every type, and one record of a type this
    //    process does not know (written by a newer version, or another tool).
    let store = TaskStore::new(MemoryAdapter::new());
    let list = "jobs";
    store
        .save(&Task::new(
            list,
            "1-email",
            SendEmail {
                to: "ops@example.com".into(),
                subject: "nightly report".into(),
            },
        )?)
        .await?;
    store
        .save(&Task::new(
            list,
            "2-resize",
            ResizeImage {
                image: "cat.png".into(),
                width: 640,
            },
        )?)
        .await?;
    store
        .save(&Task::new(
            list,
            "3-charge",
            ChargeCard {
                customer: "acme".into(),
                cents: 1999,
            },
        )?)
        .await?;
    store
        .adapter()
        .store(&TaskRecord::new(
            list,
            "4-archive",
            "Tasks::ArchiveMailbox",
            r#"{"mailbox":"old@example.com"}"#,
        )?)
        .await?;

    // 3. Every record, decoded through the registry into its concrete type and
    //    dispatched. A record of an unknown type is an error item in the
    //    listing, naming the record; the listing goes on past it.
    let mut items: Vec<taskrec::Result<Task<DynTaskData>>> =
        store.all_registered(&registry, list).collect().await;
    items.sort_by_key(|item| match item {
        Ok(task) => task.id().to_owned(),
        Err(Error::UnknownType {
            task: Some(key), ..
        }) => key.id.clone(),
        Err(_) => String::new(),
    });
    let mut done = Vec::new();
    let mut unknown = Vec::new();
    for item in items {
        match item {
            Ok(task) => {
                let id = task.id().to_owned();
                let did = run(task)?;
                println!("{id}: {did}");
                done.push(id);
            }
            Err(Error::UnknownType {
                type_name,
                known,
                task: Some(key),
            }) => {
                // Left in place for a process that knows the type.
                println!(
                    "{}: skipped, unknown type `{type_name}` (known: {known:?})",
                    key.id
                );
                unknown.push((key.id, type_name));
            }
            Err(e) => return Err(e.into()),
        }
    }
    assert_eq!(done, ["1-email", "2-resize", "3-charge"]);
    assert_eq!(
        unknown,
        [("4-archive".to_owned(), "Tasks::ArchiveMailbox".to_owned())]
    );

    // One task by key, of whatever type it holds.
    let charge = store
        .find_registered(&registry, list, "3-charge")
        .await?
        .ok_or("3-charge was saved but is not found")?;
    assert_eq!(charge.type_name(), "Billing::ChargeCard");
    assert!(charge.data().is::<ChargeCard>());

    // The unknown record, by key: the same typed error, as the `Err` of the
    // call, with its message.
    let err = match store.find_registered(&registry, list, "4-archive").await {
        Err(e) => e,
        Ok(task) => return Err(format!("an unknown type decoded: {task:?}").into()),
    };
    println!("find_registered 4-archive: {err}");
    assert!(
        matches!(&err, Error::UnknownType { type_name, .. } if type_name == "Tasks::ArchiveMailbox")
    );
    assert_eq!(
        err.to_string(),
        "unknown task type `Tasks::ArchiveMailbox` in task \"jobs\"/\"4-archive\"; \
         known types: `Billing::ChargeCard`, `ResizeImage`, `SendEmail`"
    );

    // 4. A hash from another process goes through the registry the same way.
    let json = r#"{"task_list":"jobs","id":"5","type":"ResizeImage","data":{"image":"dog.png","width":320}}"#;
    let resize: Task<ResizeImage> = registry
        .from_hash(TaskHash::from_json(json)?)?
        .downcast()
        .map_err(|task| format!("`{}` is not a ResizeImage", task.type_name()))?;
    assert_eq!(resize.data().width, 320);
    println!("from a hash: {:?}", resize.data());

    let json = r#"{"task_list":"jobs","id":"6","type":"Tasks::Unheard","data":{}}"#;
    match registry.from_hash(TaskHash::from_json(json)?) {
        Err(Error::UnknownType { type_name, .. }) => {
            println!("from a hash of type `{type_name}`: unknown type, refused");
        }
        other => return Err(format!("an unknown type in a hash gave {other:?}").into()),
    }

    // A decoded task saves like any other: the record keeps its type name.
    let copy = charge.with_task_list("jobs-archive")?;
    store.save(&copy).await?;
    let record = store
        .find_record("jobs-archive", "3-charge")
        .await?
        .ok_or("the copy was saved but is not found")?;
    assert_eq!(record.type_name(), "Billing::ChargeCard");
    println!("saved a copy to `jobs-archive` as {}", record.type_name());
    Ok(())
}
