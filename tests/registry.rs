//! The task registry, the open set of task types: registering, refusing a
//! name twice, unknown names, decoding records (keeping timestamps, naming
//! the record on error) and hashes, downcasting to the concrete type, and
//! storing a `DynTaskData` task and reading it back typed.

use chrono::{DateTime, TimeZone, Utc};
use futures::TryStreamExt;
use serde_json::{json, Value};
use taskrec::adapter::StorageAdapter;
use taskrec::{
    CompositeTask, DynTaskData, Error, KeyError, MemoryAdapter, Task, TaskData, TaskHash, TaskKey,
    TaskRecord, TaskRegistry, TaskStore,
};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct FetchFile {
    filename: String,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct DeleteFile {
    filename: String,
    #[task(default)]
    force: bool,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
#[task(type_name = "Archive")]
struct Zip {
    level: u8,
}

/// Another Rust type under a name already taken by `FetchFile`.
#[derive(Debug, Clone, PartialEq, TaskData)]
#[task(type_name = "FetchFile")]
struct FetchFileV2 {
    url: String,
}

fn registry() -> TaskRegistry {
    let mut registry = TaskRegistry::new();
    registry
        .register::<FetchFile>()
        .unwrap()
        .register::<Zip>()
        .unwrap()
        .register::<DeleteFile>()
        .unwrap();
    registry
}

fn at(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(millis).unwrap()
}

#[test]
fn register_lists_the_names_sorted() {
    let registry = registry();
    assert_eq!(
        registry.type_names(),
        ["Archive", "DeleteFile", "FetchFile"]
    );
    assert!(registry.contains("Archive"));
    assert!(!registry.contains("Zip"), "registered under its type name");
    assert_eq!(
        format!("{registry:?}"),
        r#"TaskRegistry { type_names: ["Archive", "DeleteFile", "FetchFile"] }"#
    );
    assert_eq!(TaskRegistry::new().type_names(), Vec::<&str>::new());
}

#[test]
fn register_a_hand_written_task_type() {
    let mut registry = TaskRegistry::new();
    registry.register::<CompositeTask>().unwrap();
    let task = registry
        .decode_record(
            TaskRecord::new(
                "parents",
                "p",
                "Task::Tasks::CompositeTask",
                r#"{"child_task_list":"kids"}"#,
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(
        task.data().downcast_ref::<CompositeTask>(),
        Some(&CompositeTask::new("kids"))
    );
}

#[test]
fn duplicate_registration_is_refused_and_keeps_the_first() {
    let mut registry = registry();
    match registry.register::<FetchFile>() {
        Err(Error::DuplicateType { type_name }) => assert_eq!(type_name, "FetchFile"),
        other => panic!("expected DuplicateType, got {other:?}"),
    }
    // Another Rust type under the same name is refused the same way.
    match registry.register::<FetchFileV2>() {
        Err(Error::DuplicateType { type_name }) => assert_eq!(type_name, "FetchFile"),
        other => panic!("expected DuplicateType, got {other:?}"),
    }
    assert_eq!(
        registry.type_names(),
        ["Archive", "DeleteFile", "FetchFile"]
    );

    // The first registration still decides how the name decodes.
    let data = registry
        .decode_json("FetchFile", r#"{"filename":"a"}"#)
        .unwrap();
    assert!(data.is::<FetchFile>());
    assert!(!data.is::<FetchFileV2>());
}

#[test]
fn unknown_type_lists_the_registered_names_sorted() {
    match registry().decode_json("Rename", "{}") {
        Err(Error::UnknownType {
            type_name,
            known,
            task,
        }) => {
            assert_eq!(type_name, "Rename");
            assert_eq!(known, ["Archive", "DeleteFile", "FetchFile"]);
            assert_eq!(task, None);
        }
        other => panic!("expected UnknownType, got {other:?}"),
    }
}

#[test]
fn unknown_type_message_lists_the_known_names_sorted() {
    let err = registry().decode_json("Rename", "{}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown task type `Rename`; known types: `Archive`, `DeleteFile`, `FetchFile`"
    );
    let err = TaskRegistry::new().decode_json("Rename", "{}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown task type `Rename`; known types: none"
    );
}

#[test]
fn decode_record_keeps_the_key_and_timestamps() {
    let record = TaskRecord::with_timestamps(
        "files",
        "f1",
        "DeleteFile",
        r#"{"filename":"a.txt"}"#,
        at(1_700_000_000_123),
        at(1_700_000_555_456),
    )
    .unwrap();
    let task = registry().decode_record(record).unwrap();
    assert_eq!((task.task_list(), task.id()), ("files", "f1"));
    assert_eq!(task.type_name(), "DeleteFile");
    assert_eq!(task.created_at(), at(1_700_000_000_123));
    assert_eq!(task.updated_at(), at(1_700_000_555_456));
    assert_eq!(
        task.data().downcast_ref::<DeleteFile>(),
        Some(&DeleteFile {
            filename: "a.txt".into(),
            force: false
        })
    );
}

#[test]
fn decode_record_names_the_record_on_error() {
    let registry = registry();

    let unknown = TaskRecord::new("files", "u1", "Rename", "{}").unwrap();
    match registry.decode_record(unknown) {
        Err(Error::UnknownType {
            type_name,
            known,
            task,
        }) => {
            assert_eq!(type_name, "Rename");
            assert_eq!(known, ["Archive", "DeleteFile", "FetchFile"]);
            assert_eq!(task, Some(TaskKey::new("files", "u1")));
        }
        other => panic!("expected UnknownType, got {other:?}"),
    }

    for (id, data, path) in [
        ("b1", r#"{"level":"max"}"#, "level"),
        ("b2", r#"{"level":300}"#, "level"),
        ("b3", "not json", "."),
        ("b4", "[9]", "."),
    ] {
        let record = TaskRecord::new("files", id, "Archive", data).unwrap();
        match registry.decode_record(record) {
            Err(Error::InvalidData {
                type_name,
                path: found_path,
                task,
                ..
            }) => {
                assert_eq!(type_name, "Archive", "{data}");
                assert_eq!(
                    found_path.trim_start_matches('.'),
                    path.trim_start_matches('.'),
                    "{data}"
                );
                assert_eq!(task, Some(TaskKey::new("files", id)), "{data}");
            }
            other => panic!("{data}: expected InvalidData, got {other:?}"),
        }
    }
}

#[test]
fn from_hash_with_value_data() {
    let hash = TaskHash {
        task_list: "files".to_owned(),
        id: "f1".to_owned(),
        type_name: "Archive".to_owned(),
        data: json!({"level": 9}),
    };
    let task = registry().from_hash(hash).unwrap();
    assert_eq!((task.task_list(), task.id()), ("files", "f1"));
    assert_eq!(task.type_name(), "Archive");
    assert_eq!(task.data().downcast_ref::<Zip>(), Some(&Zip { level: 9 }));
    assert_eq!(
        serde_json::to_value(task.as_hash()).unwrap(),
        json!({"task_list": "files", "id": "f1", "type": "Archive", "data": {"level": 9}})
    );
}

#[test]
fn from_hash_with_json_text_data() {
    let hash = TaskHash::from_json(
        r#"{"task_list":"files","id":"f2","type":"FetchFile","data":{"filename":"x"}}"#,
    )
    .unwrap();
    let task = registry().from_hash(hash).unwrap();
    assert_eq!(
        task.data().downcast_ref::<FetchFile>(),
        Some(&FetchFile {
            filename: "x".into()
        })
    );
}

#[test]
fn from_hash_errors() {
    let registry = registry();
    let hash = |list: &str, type_name: &str, data: Value| TaskHash {
        task_list: list.to_owned(),
        id: "1".to_owned(),
        type_name: type_name.to_owned(),
        data,
    };

    assert!(matches!(
        registry.from_hash(hash("", "Archive", json!({"level": 1}))),
        Err(Error::InvalidTaskList {
            reason: KeyError::Empty
        })
    ));
    assert!(matches!(
        registry.from_hash(hash("l", "Archive", json!([1]))),
        Err(Error::InvalidHash { .. })
    ));
    match registry.from_hash(hash("l", "Nope", json!({}))) {
        Err(Error::UnknownType {
            type_name, task, ..
        }) => {
            assert_eq!(type_name, "Nope");
            assert_eq!(task, Some(taskrec::TaskKey::new("l", "1")));
        }
        other => panic!("expected UnknownType, got {other:?}"),
    }
    match registry.from_hash(hash("l", "Archive", json!({"level": -1}))) {
        Err(Error::InvalidData {
            type_name,
            path,
            task,
            ..
        }) => {
            assert_eq!(type_name, "Archive");
            assert_eq!(path.trim_start_matches('.'), "level");
            assert_eq!(task, Some(taskrec::TaskKey::new("l", "1")));
        }
        other => panic!("expected InvalidData, got {other:?}"),
    }
}

#[test]
fn downcast_to_the_concrete_type() {
    let record =
        TaskRecord::with_timestamps("l", "z", "Archive", r#"{"level":3}"#, at(1_000), at(2_000))
            .unwrap();
    let task = registry().decode_record(record).unwrap();
    let zip: Task<Zip> = task.downcast().unwrap();
    assert_eq!(zip.data(), &Zip { level: 3 });
    assert_eq!((zip.task_list(), zip.id()), ("l", "z"));
    assert_eq!((zip.created_at(), zip.updated_at()), (at(1_000), at(2_000)));
}

#[test]
fn failed_downcast_returns_the_task_unchanged() {
    let record =
        TaskRecord::with_timestamps("l", "z", "Archive", r#"{"level":3}"#, at(1_000), at(2_000))
            .unwrap();
    let task = registry().decode_record(record).unwrap();
    let same: Task<DynTaskData> = task.downcast::<FetchFile>().unwrap_err();
    assert_eq!((same.task_list(), same.id()), ("l", "z"));
    assert_eq!(same.type_name(), "Archive");
    assert_eq!(
        (same.created_at(), same.updated_at()),
        (at(1_000), at(2_000))
    );
    assert_eq!(same.data().downcast_ref::<Zip>(), Some(&Zip { level: 3 }));
    // And it can still be downcast to what it is.
    assert_eq!(
        same.downcast::<Zip>().unwrap().into_data(),
        Zip { level: 3 }
    );
}

#[tokio::test]
async fn dyn_task_saved_through_the_store_is_found_typed() {
    let store = TaskStore::new(MemoryAdapter::new());
    let registry = registry();

    let dyn_task: Task<DynTaskData> = Task::new(
        "files",
        "d1",
        Box::new(DeleteFile {
            filename: "old.txt".into(),
            force: true,
        }) as DynTaskData,
    )
    .unwrap();
    assert_eq!(dyn_task.type_name(), "DeleteFile");
    store.save(&dyn_task).await.unwrap();

    let record = store.find_record("files", "d1").await.unwrap().unwrap();
    assert_eq!(record.type_name(), "DeleteFile");
    assert_eq!(record.data(), r#"{"filename":"old.txt","force":true}"#);

    let typed = store
        .find::<DeleteFile>("files", "d1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        typed.data(),
        &DeleteFile {
            filename: "old.txt".into(),
            force: true
        }
    );

    let any = store
        .find_registered(&registry, "files", "d1")
        .await
        .unwrap()
        .unwrap();
    assert!(any.data().is::<DeleteFile>());
    assert_eq!(
        store
            .find_registered(&registry, "files", "nope")
            .await
            .unwrap()
            .map(|t| t.id().to_owned()),
        None
    );

    // A typed task saved normally lists back through the registry too.
    store
        .save(
            &Task::new(
                "files",
                "f1",
                FetchFile {
                    filename: "a".into(),
                },
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let mut listed: Vec<(String, String)> = store
        .all_registered(&registry, "files")
        .map_ok(|t| (t.id().to_owned(), t.type_name().to_owned()))
        .try_collect()
        .await
        .unwrap();
    listed.sort();
    assert_eq!(
        listed,
        [
            ("d1".to_owned(), "DeleteFile".to_owned()),
            ("f1".to_owned(), "FetchFile".to_owned())
        ]
    );
}

#[tokio::test]
async fn all_registered_names_an_unregistered_record_and_goes_on() {
    let store = TaskStore::new(MemoryAdapter::new());
    for (id, type_name, data) in [
        ("1", "Archive", r#"{"level":1}"#),
        ("2", "Rename", "{}"),
        ("3", "Archive", r#"{"level":3}"#),
    ] {
        store
            .adapter()
            .store(&TaskRecord::new("l", id, type_name, data).unwrap())
            .await
            .unwrap();
    }
    let registry = registry();
    let items: Vec<taskrec::Result<Task<DynTaskData>>> =
        futures::StreamExt::collect(store.all_registered(&registry, "l")).await;
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().id(), "1");
    match &items[1] {
        Err(Error::UnknownType {
            type_name, task, ..
        }) => {
            assert_eq!(type_name, "Rename");
            assert_eq!(task, &Some(TaskKey::new("l", "2")));
        }
        other => panic!("expected UnknownType, got {other:?}"),
    }
    assert_eq!(items[2].as_ref().unwrap().id(), "3");
}

/// `ErasedTaskData` covers concrete task types only, so `as_any` on a
/// `&DynTaskData` reaches the value in the box, and boxing a box does not
/// compile (it would never downcast).
#[test]
fn dyn_task_data_downcasts_however_it_is_reached() {
    let data: DynTaskData = Box::new(FetchFile {
        filename: "a".into(),
    });
    assert!(data.is::<FetchFile>());
    assert!(
        data.as_any().is::<FetchFile>(),
        "as_any on &DynTaskData reaches the value"
    );
    assert_eq!(
        data.downcast_ref::<FetchFile>()
            .map(|f| f.filename.as_str()),
        Some("a")
    );
}

#[test]
fn dyn_task_travels_as_cbor_and_back_through_the_registry() {
    let task: Task<DynTaskData> =
        Task::new("files", "z1", Box::new(Zip { level: 4 }) as DynTaskData).unwrap();
    let mut cbor = Vec::new();
    ciborium::into_writer(&task.as_hash(), &mut cbor).unwrap();
    let hash: TaskHash<Value> = ciborium::from_reader(cbor.as_slice()).unwrap();
    assert_eq!(hash.type_name, "Archive");
    let back = registry().from_hash(hash).unwrap();
    assert_eq!((back.task_list(), back.id()), ("files", "z1"));
    assert_eq!(
        back.downcast::<Zip>().unwrap().into_data(),
        Zip { level: 4 }
    );
}
