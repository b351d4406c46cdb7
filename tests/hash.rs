//! The hash: the wire form of a task (`task_list`, `id`, `type`, `data`).
//! JSON text round trips, a non-JSON serde format (CBOR), refusal of
//! malformed hashes, key validation, the JSON path of a bad field, and the
//! `extra` field carrying unknown keys through a round trip.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use taskrec::{Error, KeyError, Task, TaskData, TaskHash, TaskRecord, MAX_KEY_BYTES};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct FetchFile {
    external_host: String,
    filename: String,
    #[task(default)]
    retries: u32,
    checksum: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FileEntry {
    name: String,
    size: u64,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Backup {
    host: String,
    files: Vec<FileEntry>,
    labels: BTreeMap<String, u8>,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Upload {
    filename: String,
    #[task(extra)]
    rest: Map<String, Value>,
}

fn fetch() -> Task<FetchFile> {
    Task::new(
        "datto.com",
        "file1",
        FetchFile {
            external_host: "datto.com".into(),
            filename: "file1.txt".into(),
            retries: 2,
            checksum: None,
        },
    )
    .unwrap()
}

fn hash_value(data: Value) -> TaskHash<Value> {
    TaskHash {
        task_list: "l".to_owned(),
        id: "1".to_owned(),
        type_name: "Backup".to_owned(),
        data,
    }
}

// ---- JSON text -------------------------------------------------------------

#[test]
fn to_json_writes_the_four_keys_in_order() {
    assert_eq!(
        fetch().to_json().unwrap(),
        r#"{"task_list":"datto.com","id":"file1","type":"FetchFile","data":{"external_host":"datto.com","filename":"file1.txt","retries":2}}"#
    );
}

#[test]
fn json_text_round_trip_through_task_hash_from_json() {
    let task = fetch();
    let json = task.to_json().unwrap();
    let hash = TaskHash::from_json(&json).unwrap();
    assert_eq!(
        (
            hash.task_list.as_str(),
            hash.id.as_str(),
            hash.type_name.as_str()
        ),
        ("datto.com", "file1", "FetchFile")
    );
    let back: Task<FetchFile> = Task::from_hash(hash).unwrap();
    assert_eq!(back.data(), task.data());
    assert_eq!((back.task_list(), back.id()), ("datto.com", "file1"));
}

#[test]
fn json_text_round_trip_through_task_from_json() {
    let task = fetch();
    let back = Task::<FetchFile>::from_json(&task.to_json().unwrap()).unwrap();
    assert_eq!(back.data(), task.data());
    assert_eq!(back.to_json().unwrap(), task.to_json().unwrap());
}

#[test]
fn keys_may_come_in_any_order_and_missing_defaults_apply() {
    let json = r#"{"data":{"filename":"f","external_host":"h"},"type":"FetchFile","id":"i","task_list":"l"}"#;
    let task = Task::<FetchFile>::from_json(json).unwrap();
    assert_eq!(
        task.data(),
        &FetchFile {
            external_host: "h".into(),
            filename: "f".into(),
            retries: 0,
            checksum: None,
        }
    );
}

#[test]
fn hash_data_is_kept_as_text_byte_for_byte() {
    // The default data form is JSON text: spacing and number spelling survive.
    let json = r#"{"task_list":"a","id":"1","type":"T","data":{"x": 1.50, "y" : [ ]}}"#;
    let hash = TaskHash::from_json(json).unwrap();
    assert_eq!(hash.data.get(), r#"{"x": 1.50, "y" : [ ]}"#);
    assert_eq!(
        hash.to_json().unwrap(),
        r#"{"task_list":"a","id":"1","type":"T","data":{"x": 1.50, "y" : [ ]}}"#
    );
    let record = hash.into_record().unwrap();
    assert_eq!(
        (
            record.task_list(),
            record.id(),
            record.type_name(),
            record.data()
        ),
        ("a", "1", "T", r#"{"x": 1.50, "y" : [ ]}"#)
    );
}

#[test]
fn record_to_hash_and_back() {
    let record = TaskRecord::new(
        "l",
        "i",
        "FetchFile",
        r#"{"external_host":"h","filename":"f"}"#,
    )
    .unwrap();
    let json = record.to_hash().unwrap().to_json().unwrap();
    assert_eq!(
        json,
        r#"{"task_list":"l","id":"i","type":"FetchFile","data":{"external_host":"h","filename":"f"}}"#
    );
    let task = Task::<FetchFile>::from_json(&json).unwrap();
    assert_eq!(task.data().filename, "f");
}

#[test]
fn record_to_hash_refuses_corrupt_data_naming_the_record() {
    for data in ["not json", "[1,2]", "\"text\""] {
        let record = TaskRecord::new("l", "bad", "FetchFile", data).unwrap();
        match record.to_hash() {
            Err(Error::InvalidData {
                type_name,
                path,
                task,
                ..
            }) => {
                assert_eq!(type_name, "FetchFile", "{data}");
                assert_eq!(path, ".", "{data}");
                assert_eq!(task, Some(taskrec::TaskKey::new("l", "bad")), "{data}");
            }
            other => panic!("{data}: expected InvalidData, got {other:?}"),
        }
    }
}

// ---- a non-JSON serde format ---------------------------------------------

#[test]
fn cbor_round_trip_through_value_data() {
    let task = fetch();
    let mut cbor = Vec::new();
    ciborium::into_writer(&task.as_hash(), &mut cbor).unwrap();
    // CBOR is binary: not JSON text.
    assert!(serde_json::from_slice::<Value>(&cbor).is_err());

    let hash: TaskHash<Value> = ciborium::from_reader(cbor.as_slice()).unwrap();
    assert_eq!(hash.type_name, "FetchFile");
    assert_eq!(
        hash.data,
        json!({"external_host": "datto.com", "filename": "file1.txt", "retries": 2})
    );
    let back: Task<FetchFile> = Task::from_hash(hash).unwrap();
    assert_eq!(back.data(), task.data());
    assert_eq!((back.task_list(), back.id()), ("datto.com", "file1"));
}

#[test]
fn cbor_round_trip_of_nested_data() {
    let task = Task::new(
        "l",
        "1",
        Backup {
            host: "h".into(),
            files: vec![
                FileEntry {
                    name: "a".into(),
                    size: u64::MAX,
                },
                FileEntry {
                    name: "b".into(),
                    size: 0,
                },
            ],
            labels: BTreeMap::from([("k".to_owned(), 7)]),
        },
    )
    .unwrap();
    let mut cbor = Vec::new();
    ciborium::into_writer(&task.as_hash(), &mut cbor).unwrap();
    let hash: TaskHash<Value> = ciborium::from_reader(cbor.as_slice()).unwrap();
    let back: Task<Backup> = Task::from_hash(hash).unwrap();
    assert_eq!(back.data(), task.data());
}

#[test]
fn cbor_hash_with_non_object_data_is_an_invalid_hash() {
    let hash = TaskHash {
        task_list: "l".to_owned(),
        id: "1".to_owned(),
        type_name: "FetchFile".to_owned(),
        data: vec![1u8, 2, 3],
    };
    let mut cbor = Vec::new();
    ciborium::into_writer(&hash, &mut cbor).unwrap();
    let hash: TaskHash<Value> = ciborium::from_reader(cbor.as_slice()).unwrap();
    match Task::<FetchFile>::from_hash(hash) {
        Err(Error::InvalidHash { reason, task }) => {
            assert_eq!(reason, "`data` is an array, not an object");
            assert_eq!(task, Some(taskrec::TaskKey::new("l", "1")));
        }
        other => panic!("expected InvalidHash, got {other:?}"),
    }
}

// ---- malformed hashes ------------------------------------------------------

fn invalid_hash_reason(json: &str) -> String {
    match TaskHash::from_json(json) {
        Err(Error::InvalidHash { reason, .. }) => {
            // Task::from_json reads the hash the same way.
            assert!(
                matches!(
                    Task::<FetchFile>::from_json(json),
                    Err(Error::InvalidHash { .. })
                ),
                "{json}"
            );
            reason
        }
        other => panic!("{json}: expected InvalidHash, got {other:?}"),
    }
}

#[test]
fn missing_keys_are_invalid_hashes_naming_the_key() {
    let cases = [
        (r#"{"id":"1","type":"T","data":{}}"#, "`task_list`"),
        (r#"{"task_list":"a","type":"T","data":{}}"#, "`id`"),
        (r#"{"task_list":"a","id":"1","data":{}}"#, "`type`"),
        (r#"{"task_list":"a","id":"1","type":"T"}"#, "`data`"),
    ];
    for (json, key) in cases {
        let reason = invalid_hash_reason(json);
        assert!(reason.contains(key), "{json}: {reason}");
    }
}

#[test]
fn wrong_json_types_are_invalid_hashes() {
    for json in [
        r#"{"task_list":1,"id":"1","type":"T","data":{}}"#,
        r#"{"task_list":"a","id":null,"type":"T","data":{}}"#,
        r#"{"task_list":"a","id":"1","type":["T"],"data":{}}"#,
        r#"{"task_list":"a","id":"1","type":true,"data":{}}"#,
        r#"{"task_list":{},"id":"1","type":"T","data":{}}"#,
    ] {
        invalid_hash_reason(json);
    }
}

#[test]
fn data_that_is_not_an_object_is_an_invalid_hash() {
    for data in ["[1,2]", "\"text\"", "1", "null", "true", " [ ]"] {
        let json = format!(r#"{{"task_list":"a","id":"1","type":"FetchFile","data":{data}}}"#);
        invalid_hash_reason(&json);

        // The same through serde_json::Value data.
        let hash = TaskHash {
            task_list: "a".to_owned(),
            id: "1".to_owned(),
            type_name: "FetchFile".to_owned(),
            data: serde_json::from_str::<Value>(data).unwrap(),
        };
        assert!(
            matches!(
                Task::<FetchFile>::from_hash(hash),
                Err(Error::InvalidHash { .. })
            ),
            "{data}"
        );
    }
}

#[test]
fn text_that_is_not_a_json_object_is_an_invalid_hash() {
    for json in [
        "",
        "not json",
        "{",
        "[]",
        "null",
        r#"{"task_list":"a","id":"1","type":"T","data":{}} trailing"#,
    ] {
        invalid_hash_reason(json);
    }
}

/// `TaskHash::from_json` promises InvalidHash "when the text is not a JSON
/// object"; the derived `Deserialize` of `TaskHash` also takes a sequence,
/// so a four-element JSON array is read as a hash (and `Task::from_json`
/// builds a task from it).
#[test]
fn a_json_array_is_not_a_hash() {
    let json = r#"["a","1","FetchFile",{"external_host":"h","filename":"f"}]"#;
    assert!(matches!(
        TaskHash::from_json(json),
        Err(Error::InvalidHash { .. })
    ));
    assert!(matches!(
        Task::<FetchFile>::from_json(json),
        Err(Error::InvalidHash { .. })
    ));
}

/// `Task::from_hash` documents TypeMismatch, UnknownType and InvalidData;
/// for non-object data `HashData::check_object` (and `TaskHash::from_json`,
/// and `TaskRegistry::from_hash`) answer InvalidHash. A hash read with plain
/// `serde_json::from_str` (the default `Box<RawValue>` data form, never
/// checked) answers InvalidData instead, unlike the same hash with `Value`
/// data.
#[test]
fn non_object_data_is_an_invalid_hash_in_every_data_form() {
    let json = r#"{"task_list":"a","id":"1","type":"FetchFile","data":[1,2]}"#;
    let raw: TaskHash = serde_json::from_str(json).unwrap();
    let value: TaskHash<Value> = serde_json::from_str(json).unwrap();
    assert!(matches!(
        Task::<FetchFile>::from_hash(value),
        Err(Error::InvalidHash { .. })
    ));
    assert!(matches!(
        Task::<FetchFile>::from_hash(raw),
        Err(Error::InvalidHash { .. })
    ));
}

// ---- keys in a hash --------------------------------------------------------

#[test]
fn empty_task_list_or_id_in_a_hash_is_refused() {
    let json = |list: &str, id: &str| {
        format!(
            r#"{{"task_list":"{list}","id":"{id}","type":"FetchFile","data":{{"external_host":"h","filename":"f"}}}}"#
        )
    };
    assert!(matches!(
        Task::<FetchFile>::from_json(&json("", "1")),
        Err(Error::InvalidTaskList {
            reason: KeyError::Empty
        })
    ));
    assert!(matches!(
        Task::<FetchFile>::from_json(&json("l", "")),
        Err(Error::InvalidId {
            reason: KeyError::Empty
        })
    ));
    // Both bad: the task list is checked first.
    assert!(matches!(
        Task::<FetchFile>::from_json(&json("", "")),
        Err(Error::InvalidTaskList {
            reason: KeyError::Empty
        })
    ));
}

#[test]
fn too_long_task_list_or_id_in_a_hash_is_refused() {
    let long = "x".repeat(MAX_KEY_BYTES + 1);
    let hash = |list: &str, id: &str| TaskHash {
        task_list: list.to_owned(),
        id: id.to_owned(),
        type_name: "FetchFile".to_owned(),
        data: json!({"external_host": "h", "filename": "f"}),
    };
    match Task::<FetchFile>::from_hash(hash(&long, "1")) {
        Err(Error::InvalidTaskList {
            reason: KeyError::TooLong { len, max },
        }) => assert_eq!((len, max), (MAX_KEY_BYTES + 1, MAX_KEY_BYTES)),
        other => panic!("expected InvalidTaskList(TooLong), got {other:?}"),
    }
    match Task::<FetchFile>::from_hash(hash("l", &long)) {
        Err(Error::InvalidId {
            reason: KeyError::TooLong { len, max },
        }) => assert_eq!((len, max), (MAX_KEY_BYTES + 1, MAX_KEY_BYTES)),
        other => panic!("expected InvalidId(TooLong), got {other:?}"),
    }
    // Exactly at the limit is fine.
    let max = "y".repeat(MAX_KEY_BYTES);
    let task = Task::<FetchFile>::from_hash(hash(&max, &max)).unwrap();
    assert_eq!(task.task_list().len(), MAX_KEY_BYTES);
}

// ---- bad fields ------------------------------------------------------------

fn expect_invalid_data(result: taskrec::Result<Task<Backup>>) -> (String, String, String) {
    match result {
        Err(Error::InvalidData {
            type_name,
            path,
            message,
            task,
        }) => {
            assert_eq!(
                task,
                Some(taskrec::TaskKey::new("l", "1")),
                "the hash's list and id name the task"
            );
            (type_name, path, message)
        }
        other => panic!("expected InvalidData, got {other:?}"),
    }
}

fn nested_bad_size() -> Value {
    json!({
        "host": "h",
        "files": [{"name": "a", "size": 1}, {"name": "b", "size": "big"}],
        "labels": {},
    })
}

/// The path names every segment of the bad field. (Whether it starts with
/// `.` is the subject of the ignored test below.)
#[test]
fn bad_nested_field_names_its_path_from_json_text() {
    let json = hash_value(nested_bad_size()).to_json().unwrap();
    let (type_name, path, message) = expect_invalid_data(Task::from_json(&json));
    assert_eq!(type_name, "Backup");
    assert_eq!(path.trim_start_matches('.'), "files[1].size");
    assert!(message.contains("invalid type"), "{message}");
}

#[test]
fn bad_nested_field_names_its_path_from_value_data() {
    let (type_name, path, _) = expect_invalid_data(Task::from_hash(hash_value(nested_bad_size())));
    assert_eq!(type_name, "Backup");
    assert_eq!(path.trim_start_matches('.'), "files[1].size");
}

#[test]
fn bad_field_paths_for_map_values_and_top_level_fields() {
    let cases = [
        (json!({"host": 5, "files": [], "labels": {}}), "host"),
        (
            json!({"host": "h", "files": [], "labels": {"a": 1, "b": 300}}),
            "labels.b",
        ),
        (
            json!({"host": "h", "files": [{"name": "a", "size": 1}], "labels": {}, "x": 1}),
            // unknown keys are ignored: this one decodes
            "",
        ),
        (
            json!({"host": "h", "files": [{"name": 1, "size": 1}], "labels": {}}),
            "files[0].name",
        ),
    ];
    for (data, expected) in cases {
        let from_text = Task::<Backup>::from_json(&hash_value(data.clone()).to_json().unwrap());
        let from_value = Task::<Backup>::from_hash(hash_value(data.clone()));
        if expected.is_empty() {
            assert_eq!(from_text.unwrap().data().files.len(), 1);
            assert_eq!(from_value.unwrap().data().files.len(), 1);
            continue;
        }
        for result in [from_text, from_value] {
            let (type_name, path, _) = expect_invalid_data(result);
            assert_eq!(type_name, "Backup", "{data}");
            assert_eq!(path.trim_start_matches('.'), expected, "{data}");
        }
    }
}

#[test]
fn missing_field_is_invalid_data_at_the_object() {
    let data = json!({"host": "h", "labels": {}});
    for result in [
        Task::<Backup>::from_json(&hash_value(data.clone()).to_json().unwrap()),
        Task::<Backup>::from_hash(hash_value(data)),
    ] {
        let (type_name, path, message) = expect_invalid_data(result);
        assert_eq!(type_name, "Backup");
        assert_eq!(path, ".");
        assert!(message.contains("`files`"), "{message}");
    }
}

/// `Error::InvalidData`'s docs give the path as "such as `.files[2].name`;
/// `.` for the data object itself", but the paths come out without the
/// leading dot (`files[1].size`), as serde_path_to_error writes them. The
/// doc test on `Task::from_record` even expects "at `n`".
#[test]
fn bad_nested_field_path_is_as_documented() {
    let (_, path, _) = expect_invalid_data(Task::from_hash(hash_value(nested_bad_size())));
    assert_eq!(path, ".files[1].size");
}

#[test]
fn typed_struct_refuses_a_json_array_as_data() {
    // serde would fill a struct from a sequence; task data never is one.
    for data in ["[\"h\", [], {}]", "  [\"h\", [], {}]"] {
        let record = TaskRecord::new("l", "arr", "Backup", data).unwrap();
        match Task::<Backup>::from_record(record) {
            Err(Error::InvalidData {
                type_name,
                path,
                task,
                ..
            }) => {
                assert_eq!(type_name, "Backup");
                assert_eq!(path, ".");
                assert_eq!(task, Some(taskrec::TaskKey::new("l", "arr")));
            }
            other => panic!("{data}: expected InvalidData, got {other:?}"),
        }
    }
}

// ---- the extra field -------------------------------------------------------

#[test]
fn extra_field_keeps_unknown_keys_through_from_hash_and_as_hash() {
    let data = json!({
        "filename": "a.txt",
        "newer": true,
        "nested": {"k": [1, 2, {"deep": null}]},
        "n": 1.5,
    });
    let hash = TaskHash {
        task_list: "l".to_owned(),
        id: "1".to_owned(),
        type_name: "Upload".to_owned(),
        data: data.clone(),
    };

    // From Value data.
    let task: Task<Upload> = Task::from_hash(hash.clone()).unwrap();
    assert_eq!(task.data().filename, "a.txt");
    assert_eq!(task.data().rest.len(), 3);
    assert_eq!(task.data().rest["newer"], json!(true));
    let back = serde_json::to_value(task.as_hash()).unwrap();
    assert_eq!(back, serde_json::to_value(&hash).unwrap());

    // From JSON text.
    let task: Task<Upload> = Task::from_json(&hash.to_json().unwrap()).unwrap();
    assert_eq!(serde_json::to_value(task.as_hash()).unwrap()["data"], data);
}

#[test]
fn bad_field_next_to_an_extra_field_still_names_its_path() {
    let hash = TaskHash {
        task_list: "l".to_owned(),
        id: "1".to_owned(),
        type_name: "Upload".to_owned(),
        data: json!({"other": 1, "filename": 5}),
    };
    for result in [
        Task::<Upload>::from_json(&hash.to_json().unwrap()),
        Task::<Upload>::from_hash(hash.clone()),
    ] {
        match result {
            Err(Error::InvalidData {
                type_name, path, ..
            }) => {
                assert_eq!(type_name, "Upload");
                assert_eq!(path.trim_start_matches('.'), "filename");
            }
            other => panic!("expected InvalidData, got {other:?}"),
        }
    }
}

#[test]
fn duplicate_hash_keys_are_invalid_hashes() {
    let reason =
        invalid_hash_reason(r#"{"task_list":"a","task_list":"b","id":"1","type":"T","data":{}}"#);
    assert!(reason.contains("`task_list`"), "{reason}");
}

/// An `extra` map may hold a key that a named field owns. Encoding then
/// writes the key twice (`{"filename":"a","filename":"b"}`): `as_hash`,
/// `to_json` and `TaskStore::save` (through `Task::to_record`, src/task.rs)
/// all accept it, and the result cannot be read back: decoding answers
/// InvalidData "duplicate field `filename`". The serialize shadow in
/// derive/src/expand.rs flattens the map without leaving out the named
/// fields' keys. A task that saves must read back.
#[test]
fn extra_map_with_a_named_fields_key_still_round_trips() {
    let mut rest = Map::new();
    rest.insert("filename".to_owned(), json!("shadowed"));
    rest.insert("newer".to_owned(), json!(1));
    let task = Task::new(
        "l",
        "1",
        Upload {
            filename: "a.txt".into(),
            rest,
        },
    )
    .unwrap();
    let json = task.to_json().unwrap();
    let back = Task::<Upload>::from_json(&json).expect("what was written reads back");
    assert_eq!(back.data().filename, "a.txt");
    assert_eq!(back.data().rest.get("newer"), Some(&json!(1)));
}

#[test]
fn deeply_nested_data_is_invalid_data_not_a_crash() {
    let deep = format!(
        r#"{{"filename":"a","x":{}1{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let record = TaskRecord::new("l", "deep", "Upload", deep.as_str()).unwrap();
    match Task::<Upload>::from_record(record) {
        Err(Error::InvalidData {
            type_name, task, ..
        }) => {
            assert_eq!(type_name, "Upload");
            assert_eq!(task, Some(taskrec::TaskKey::new("l", "deep")));
        }
        other => panic!(
            "expected InvalidData, got {:?}",
            other.map(|t| t.id().to_owned())
        ),
    }
    let json = format!(r#"{{"task_list":"l","id":"1","type":"Upload","data":{deep}}}"#);
    // The hash keeps the data as text without decoding it; decoding the
    // task is where the depth is refused.
    let hash = TaskHash::from_json(&json).unwrap();
    assert_eq!(hash.data.get(), deep);
    assert!(matches!(
        Task::<Upload>::from_hash(hash),
        Err(Error::InvalidData { task: Some(_), .. })
    ));
}

#[test]
fn borrowed_raw_value_data_decodes_without_copying_the_hash() {
    let json = r#"{"task_list":"l","id":"1","type":"Upload","data":{"filename":"a","k":2}}"#;
    let hash: TaskHash<&serde_json::value::RawValue> = serde_json::from_str(json).unwrap();
    assert_eq!(hash.data.get(), r#"{"filename":"a","k":2}"#);
    let task: Task<Upload> = Task::from_hash(hash).unwrap();
    assert_eq!(task.data().filename, "a");
    assert_eq!(task.data().rest.get("k"), Some(&json!(2)));
}

/// `RawJson` extras (`CompositeTask`'s) go through a format other than JSON
/// as the values themselves, not as serde_json's private wrapper: CBOR out
/// and back gives the same task.
#[test]
fn raw_json_extras_survive_a_cbor_hash() {
    let json = r#"{"task_list":"parents","id":"p1","type":"Task::Tasks::CompositeTask","data":{"child_task_list":"kids","meta":{"a":true},"owner":"backup","tries":[1,2.5,null]}}"#;
    let task: Task<taskrec::CompositeTask> = Task::from_json(json).unwrap();
    let mut cbor = Vec::new();
    ciborium::into_writer(&task.as_hash(), &mut cbor).unwrap();
    let hash: TaskHash<Value> = ciborium::from_reader(cbor.as_slice()).unwrap();
    assert_eq!(
        hash.data,
        serde_json::json!({"child_task_list": "kids", "owner": "backup", "tries": [1, 2.5, null], "meta": {"a": true}})
    );
    let back: Task<taskrec::CompositeTask> = Task::from_hash(hash).unwrap();
    assert_eq!(back.to_json().unwrap(), json);
    // Read straight from CBOR (its own deserializer, not a `Value`'s).
    let data: taskrec::CompositeTask = ciborium::from_reader(
        {
            let mut bytes = Vec::new();
            ciborium::into_writer(&task.data(), &mut bytes).unwrap();
            bytes
        }
        .as_slice(),
    )
    .unwrap();
    assert_eq!(&data, task.data());
}
