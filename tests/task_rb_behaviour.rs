//! The behaviours of the Ruby reference task_rb, one test each, named after
//! the behaviour: building tasks (with and without an id), typed data
//! readers, the `as_hash` / `from_hash` wire form, and the data interface
//! (`save`, `find`, `all`, `delete`/complete) on the memory adapter. Also a
//! hash written by task_rb itself decoding into a Rust type.

#[path = "support/wrapper.rs"]
mod wrapper;

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use taskrec::{Error, MemoryAdapter, Task, TaskData, TaskHash, TaskStore};
use wrapper::{Method, Wrapped};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct FetchFile {
    external_host: String,
    filename: String,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct DeleteFile {
    filename: String,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
enum FileJob {
    Fetch(FetchFile),
    Delete(DeleteFile),
}

#[derive(Debug, Clone, PartialEq, TaskData)]
#[task(type_name = "Task::Tasks::CompositeTask")]
struct RubyComposite {
    x: u32,
}

fn fetch(filename: &str) -> FetchFile {
    FetchFile {
        external_host: "datto.com".into(),
        filename: filename.into(),
    }
}

/// Whether `id` is the canonical text of an RFC 9562 UUID of version 7
/// (time-ordered, then random): `xxxxxxxx-xxxx-7xxx-[89ab]xxx-xxxxxxxxxxxx`
/// in lowercase hex. task_rb says only that a task built without an id gets
/// a UUID; taskrec makes version 7 ones, whose time lets a save of a new
/// task skip a read (`docs/SCALE.md`).
fn is_uuid_v7(id: &str) -> bool {
    let bytes = id.as_bytes();
    if bytes.len() != 36 {
        return false;
    }
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    bytes.iter().enumerate().all(|(i, &b)| match i {
        8 | 13 | 18 | 23 => b == b'-',
        14 => b == b'7',
        19 => matches!(b, b'8' | b'9' | b'a' | b'b'),
        _ => hex(b),
    })
}

#[test]
fn build_sets_task_list_id_and_data() {
    let task = Task::build("datto.com", fetch("file1.txt"))
        .unwrap()
        .with_id("file1")
        .unwrap();
    assert_eq!(task.task_list(), "datto.com");
    assert_eq!(task.id(), "file1");
    assert_eq!(task.data(), &fetch("file1.txt"));
    assert_eq!(task.type_name(), "FetchFile");

    let same = Task::new("datto.com", "file1", fetch("file1.txt")).unwrap();
    assert_eq!(
        (same.task_list(), same.id(), same.data()),
        (task.task_list(), task.id(), task.data())
    );
}

#[test]
fn build_without_id_gives_a_uuid() {
    let ids: Vec<String> = (0..1000)
        .map(|_| Task::build("l", fetch("f")).unwrap().id().to_owned())
        .collect();
    for id in &ids {
        assert!(is_uuid_v7(id), "not a v7 UUID: {id:?}");
    }
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 1000);
}

#[test]
fn data_attr_readers_give_typed_fields() {
    let task = Task::new("datto.com", "file1", fetch("file1.txt")).unwrap();
    let host: &String = &task.data().external_host;
    let filename: &String = &task.data().filename;
    assert_eq!(host, "datto.com");
    assert_eq!(filename, "file1.txt");
    assert_eq!(task.into_data(), fetch("file1.txt"));
}

#[test]
fn as_hash_has_exactly_the_keys_task_list_id_type_data() {
    let task = Task::new("datto.com", "file1", fetch("file1.txt")).unwrap();
    let value = serde_json::to_value(task.as_hash()).unwrap();
    let object = value.as_object().expect("a JSON object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["data", "id", "task_list", "type"]);
    assert_eq!(
        value,
        json!({
            "task_list": "datto.com",
            "id": "file1",
            "type": "FetchFile",
            "data": {"external_host": "datto.com", "filename": "file1.txt"},
        })
    );
}

#[test]
fn as_hash_from_hash_round_trip_keeps_the_class_and_data() {
    let task: Task<FileJob> = Task::new(
        "datto.com",
        "file1",
        DeleteFile {
            filename: "gone.txt".into(),
        },
    )
    .unwrap()
    .map_data(FileJob::Delete);
    let json = serde_json::to_string(&task.as_hash()).unwrap();

    let back: Task<FileJob> = Task::from_hash(TaskHash::from_json(&json).unwrap()).unwrap();
    assert_eq!(back.type_name(), "DeleteFile");
    assert_eq!(back.task_list(), "datto.com");
    assert_eq!(back.id(), "file1");
    assert_eq!(
        back.data(),
        &FileJob::Delete(DeleteFile {
            filename: "gone.txt".into()
        })
    );
}

#[test]
fn from_hash_with_an_unknown_class_errors() {
    let hash = |type_name: &str| TaskHash {
        task_list: "l".to_owned(),
        id: "1".to_owned(),
        type_name: type_name.to_owned(),
        data: json!({"filename": "x"}),
    };

    // A closed set of types: the error names the type and lists the known ones.
    match Task::<FileJob>::from_hash(hash("Rename")) {
        Err(Error::UnknownType {
            type_name,
            known,
            task,
        }) => {
            assert_eq!(type_name, "Rename");
            assert_eq!(known, ["DeleteFile", "FetchFile"]);
            assert_eq!(task, Some(taskrec::TaskKey::new("l", "1")));
        }
        other => panic!("expected UnknownType, got {other:?}"),
    }

    // A single type: the error names both the expected and the found type.
    match Task::<DeleteFile>::from_hash(hash("Rename")) {
        Err(Error::TypeMismatch {
            expected,
            found,
            task,
        }) => {
            assert_eq!(expected, "DeleteFile");
            assert_eq!(found, "Rename");
            assert_eq!(task, Some(taskrec::TaskKey::new("l", "1")));
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn create_saves() {
    let store = TaskStore::new(MemoryAdapter::new());
    let task = store.create("datto.com", fetch("file1.txt")).await.unwrap();
    assert!(is_uuid_v7(task.id()), "{}", task.id());
    assert_eq!(store.count("datto.com").await.unwrap(), 1);
    let found = store
        .find::<FetchFile>("datto.com", task.id())
        .await
        .unwrap()
        .expect("the created task is stored");
    assert_eq!(found.data(), &fetch("file1.txt"));
    assert_eq!(found.id(), task.id());
}

#[tokio::test]
async fn all_is_lazy() {
    // The memory adapter serving at most 2 records a page (the contract
    // allows shorter pages), `all` the trait's default walk of those pages.
    let store = TaskStore::new(Wrapped::new().max_page(2).trait_defaults(&[Method::All]));
    let pages = || store.adapter().calls(Method::Page);
    for n in 0..6 {
        store
            .save(&Task::new("l", format!("t{n}"), fetch(&format!("f{n}"))).unwrap())
            .await
            .unwrap();
    }

    // Building the stream reads nothing.
    let stream = store.all::<FetchFile>("l");
    assert_eq!(pages(), 0);

    // Taking the first task of a three-page list reads one page.
    let first: Vec<Task<FetchFile>> = stream.take(1).try_collect().await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].id(), "t0");
    assert_eq!(pages(), 1);

    // Reading everything walks the three pages, once each.
    let before = pages();
    let all: Vec<Task<FetchFile>> = store.all("l").try_collect().await.unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(pages() - before, 3);
}

#[tokio::test]
async fn all_returns_exactly_the_lists_tasks() {
    let store = TaskStore::new(MemoryAdapter::new());
    for id in ["a1", "a2", "a3"] {
        store
            .save(&Task::new("list-a", id, fetch(id)).unwrap())
            .await
            .unwrap();
    }
    for id in ["a1", "b1"] {
        store
            .save(&Task::new("list-b", id, fetch("other")).unwrap())
            .await
            .unwrap();
    }

    let mut found: Vec<(String, String, String)> = store
        .all::<FetchFile>("list-a")
        .map_ok(|t| {
            (
                t.task_list().to_owned(),
                t.id().to_owned(),
                t.into_data().filename,
            )
        })
        .try_collect()
        .await
        .unwrap();
    found.sort();
    let expected: Vec<(String, String, String)> = ["a1", "a2", "a3"]
        .iter()
        .map(|id| ("list-a".to_owned(), (*id).to_owned(), (*id).to_owned()))
        .collect();
    assert_eq!(found, expected);

    let empty: Vec<Task<FetchFile>> = store.all("list-c").try_collect().await.unwrap();
    assert_eq!(empty, []);
}

#[tokio::test]
async fn find_present_and_absent() {
    let store = TaskStore::new(MemoryAdapter::new());
    let task = Task::new("datto.com", "file1", fetch("file1.txt")).unwrap();
    store.save(&task).await.unwrap();

    let found = store
        .find::<FetchFile>("datto.com", "file1")
        .await
        .unwrap()
        .expect("present");
    assert_eq!(found.data(), task.data());
    assert_eq!((found.task_list(), found.id()), ("datto.com", "file1"));

    assert_eq!(
        store.find::<FetchFile>("datto.com", "file2").await.unwrap(),
        None
    );
    assert_eq!(
        store.find::<FetchFile>("other.com", "file1").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn delete_and_complete_remove_and_are_no_ops_when_absent() {
    let store = TaskStore::new(MemoryAdapter::new());
    let one = Task::new("l", "one", fetch("1")).unwrap();
    let two = Task::new("l", "two", fetch("2")).unwrap();
    store.save(&one).await.unwrap();
    store.save(&two).await.unwrap();

    store.complete(&one).await.unwrap();
    assert_eq!(store.find::<FetchFile>("l", "one").await.unwrap(), None);
    assert_eq!(store.count("l").await.unwrap(), 1);

    store.delete("l", "two").await.unwrap();
    assert_eq!(store.find::<FetchFile>("l", "two").await.unwrap(), None);
    assert_eq!(store.count("l").await.unwrap(), 0);

    // Again, now that they are gone: still Ok, still nothing.
    store.complete(&one).await.unwrap();
    store.delete("l", "two").await.unwrap();
    store.delete("never-was", "x").await.unwrap();
    assert_eq!(store.count("l").await.unwrap(), 0);
}

#[tokio::test]
async fn save_overwrites_the_same_id() {
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(&Task::new("l", "same", fetch("old.txt")).unwrap())
        .await
        .unwrap();
    store
        .save(&Task::new("l", "same", fetch("new.txt")).unwrap())
        .await
        .unwrap();

    assert_eq!(store.count("l").await.unwrap(), 1);
    let found = store.find::<FetchFile>("l", "same").await.unwrap().unwrap();
    assert_eq!(found.data(), &fetch("new.txt"));
}

#[test]
fn task_rb_hash_decodes_into_a_rust_type_and_encodes_back_equal() {
    let ruby = r#"{"task_list":"a","id":"id","data":{"x":1},"type":"Task::Tasks::CompositeTask"}"#;
    let task: Task<RubyComposite> = Task::from_hash(TaskHash::from_json(ruby).unwrap()).unwrap();
    assert_eq!(task.task_list(), "a");
    assert_eq!(task.id(), "id");
    assert_eq!(task.data(), &RubyComposite { x: 1 });
    assert_eq!(task.type_name(), "Task::Tasks::CompositeTask");

    let back: Value = serde_json::to_value(task.as_hash()).unwrap();
    let original: Value = serde_json::from_str(ruby).unwrap();
    assert_eq!(back, original);
}
