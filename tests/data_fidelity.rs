//! Data that JSON cannot hold or a read would refuse is refused when it is
//! written, with the field's path: a NaN or an infinity (serde_json would
//! write `null`, the save would succeed and every `find` then fail), and
//! nesting past `taskrec::MAX_DATA_DEPTH`. What is accepted reads back.

use std::collections::BTreeMap;

use taskrec::{Error, MemoryAdapter, Task, TaskData, TaskStore, MAX_DATA_DEPTH};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Reading {
    sensor: String,
    value: f64,
    history: Vec<Sample>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Sample {
    at: u64,
    value: f32,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Tree {
    tree: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Weights {
    by_name: BTreeMap<String, f64>,
}

fn reading(value: f64, sample: f32) -> Reading {
    Reading {
        sensor: "t1".to_owned(),
        value,
        history: vec![
            Sample { at: 1, value: 1.5 },
            Sample {
                at: 2,
                value: sample,
            },
        ],
    }
}

/// The path and message of an `InvalidData`, or a panic saying what came.
fn invalid(result: taskrec::Result<impl std::fmt::Debug>) -> (String, String, Option<String>) {
    match result {
        Err(Error::InvalidData {
            type_name,
            path,
            message,
            task,
        }) => {
            assert!(!type_name.is_empty());
            (path, message, task.map(|k| k.to_string()))
        }
        other => panic!("expected InvalidData, got {other:?}"),
    }
}

#[tokio::test]
async fn a_nan_or_infinity_is_refused_by_save_with_its_path() {
    let store = TaskStore::new(MemoryAdapter::new());
    for (data, path, shown) in [
        (reading(f64::NAN, 2.0), ".value", "NaN"),
        (reading(f64::INFINITY, 2.0), ".value", "inf"),
        (reading(1.0, f32::NEG_INFINITY), ".history[1].value", "-inf"),
        (reading(1.0, f32::NAN), ".history[1].value", "NaN"),
    ] {
        let task = Task::new("sensors", "r1", data).unwrap();
        let (got_path, message, key) = invalid(store.save(&task).await);
        assert_eq!(got_path, path);
        assert_eq!(
            message,
            format!("{shown} cannot be stored: JSON has no NaN or infinity")
        );
        assert_eq!(key.as_deref(), Some(r#""sensors"/"r1""#));
        assert_eq!(store.count("sensors").await.unwrap(), 0, "nothing stored");

        let (json_path, _, _) = invalid(task.to_json());
        assert_eq!(json_path, path, "to_json");
        let (record_path, _, _) = invalid(task.to_record());
        assert_eq!(record_path, path, "to_record");
        // The hash form through any serializer: the error names the field.
        let err = serde_json::to_string(&task.as_hash()).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!("at `{path}`: ")),
            "{err}"
        );
        // taskrec's own writer of the hash: the same error as a save's.
        assert_eq!(
            invalid(task.as_hash().to_json()),
            (path.to_owned(), message, key)
        );
    }
}

#[tokio::test]
async fn a_non_finite_value_in_a_map_names_its_key() {
    let store = TaskStore::new(MemoryAdapter::new());
    let data = Weights {
        by_name: [("a".to_owned(), 1.0), ("b c".to_owned(), f64::NAN)].into(),
    };
    let (path, _, _) = invalid(store.save(&Task::new("w", "1", data).unwrap()).await);
    // As decoding errors name map keys: unquoted.
    assert_eq!(path, ".by_name.b c");
}

#[tokio::test]
async fn finite_extremes_are_stored_and_read_back() {
    let store = TaskStore::new(MemoryAdapter::new());
    for value in [f64::MAX, f64::MIN, f64::MIN_POSITIVE, 5e-324, -0.0, 0.1] {
        let task = Task::new("sensors", "r", reading(value, f32::MAX)).unwrap();
        store.save(&task).await.unwrap();
        let found = store
            .find::<Reading>("sensors", "r")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.data().value.to_bits(), value.to_bits(), "{value}");
        assert_eq!(found.data(), task.data());
    }
}

fn nested(levels: usize) -> serde_json::Value {
    let mut tree = serde_json::json!(1);
    for _ in 0..levels {
        tree = serde_json::json!([tree]);
    }
    tree
}

#[tokio::test]
async fn data_nested_up_to_the_limit_reads_back_and_deeper_is_refused() {
    let store = TaskStore::new(MemoryAdapter::new());
    // The data object is level 1: `tree` may nest MAX_DATA_DEPTH - 1 more.
    let deepest = Tree {
        tree: nested(MAX_DATA_DEPTH - 1),
    };
    let task = Task::new("trees", "ok", deepest).unwrap();
    store.save(&task).await.unwrap();
    let found = store.find::<Tree>("trees", "ok").await.unwrap().unwrap();
    assert_eq!(found.data(), task.data());
    let again: Task<Tree> = Task::from_json(&task.to_json().unwrap()).unwrap();
    assert_eq!(again.data(), task.data());

    let too_deep = Task::new(
        "trees",
        "deep",
        Tree {
            tree: nested(MAX_DATA_DEPTH),
        },
    )
    .unwrap();
    let (path, message, _) = invalid(store.save(&too_deep).await);
    let mut expected_path = ".tree".to_owned();
    for _ in 0..MAX_DATA_DEPTH - 1 {
        expected_path.push_str("[0]");
    }
    assert_eq!(path, expected_path);
    assert_eq!(
        message,
        format!(
            "the data is nested more than {MAX_DATA_DEPTH} levels deep \
             (taskrec::MAX_DATA_DEPTH), more than a read accepts"
        )
    );
    assert_eq!(store.find::<Tree>("trees", "deep").await.unwrap(), None);
    // Deeper than serde_json reads: refused the same way.
    let far = Task::new("trees", "far", Tree { tree: nested(200) }).unwrap();
    invalid(store.save(&far).await);

    // A hash built in code (or read from CBOR) carries its data as a
    // `Value`, whose nesting nothing limited: turned into a record, the
    // same limit holds.
    let hash_of = |levels: usize| taskrec::TaskHash {
        task_list: "trees".to_owned(),
        id: "hashed".to_owned(),
        type_name: "Tree".to_owned(),
        data: serde_json::json!({ "tree": nested(levels) }),
    };
    let record = hash_of(MAX_DATA_DEPTH - 1).into_record().unwrap();
    taskrec::adapter::StorageAdapter::store(store.adapter(), &record)
        .await
        .unwrap();
    store
        .find::<Tree>("trees", "hashed")
        .await
        .unwrap()
        .unwrap();
    hash_of(MAX_DATA_DEPTH - 1).to_json().unwrap();
    invalid(hash_of(MAX_DATA_DEPTH).to_json());
    let (path, message, task) = invalid(hash_of(MAX_DATA_DEPTH).into_record());
    assert_eq!(
        (path.as_str(), task.as_deref()),
        (".", Some(r#""trees"/"hashed""#))
    );
    assert!(
        message.starts_with("the data is nested more than 126 levels"),
        "{message}"
    );
}

// ---- type names: checked on write as keys are ---------------------------

/// Written by hand: the derive refuses such a type name at compile time
/// (derive/tests/ui/empty_type_name.rs), a hand-written `TaskData` can still give it.
#[derive(Debug, Clone, PartialEq)]
struct Spaced {}

impl TaskData for Spaced {
    fn type_name(&self) -> &str {
        "Send Email"
    }

    fn serialize_data<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        serializer.serialize_map(Some(0))?.end()
    }
}

#[tokio::test]
async fn type_names_are_checked_on_every_write_path() {
    use taskrec::{KeyError, TaskHash, TaskRecord, MAX_TYPE_NAME_BYTES};
    let refused = |result: taskrec::Result<TaskRecord>| match result {
        Err(Error::InvalidTypeName { type_name, reason }) => (type_name, reason),
        other => panic!("expected InvalidTypeName, got {other:?}"),
    };
    assert_eq!(
        refused(TaskRecord::new("l", "i", "", "{}")),
        (String::new(), KeyError::Empty)
    );
    assert_eq!(
        refused(TaskRecord::new("l", "i", "Send\tEmail", "{}")).1,
        KeyError::ControlCharacter { at: 4 }
    );
    assert_eq!(
        refused(TaskRecord::new("l", "i", "Send\u{a0}Email", "{}")).1,
        KeyError::Whitespace { at: 4 }
    );
    let long = "T".repeat(MAX_TYPE_NAME_BYTES + 1);
    assert_eq!(
        refused(TaskRecord::new("l", "i", long.as_str(), "{}")).1,
        KeyError::TooLong {
            len: MAX_TYPE_NAME_BYTES + 1,
            max: MAX_TYPE_NAME_BYTES
        }
    );
    assert!(TaskRecord::new("l", "i", "T".repeat(MAX_TYPE_NAME_BYTES), "{}").is_ok());
    assert!(TaskRecord::new("l", "i", "Task::Tasks::CompositeTask", "{}").is_ok());

    // From a hash, and from a Rust type declaring such a name: refused
    // before anything is stored.
    let hash = TaskHash::from_json(r#"{"task_list":"l","id":"1","type":" ","data":{}}"#).unwrap();
    assert_eq!(
        refused(hash.into_record()).1,
        KeyError::Whitespace { at: 0 }
    );
    let store = TaskStore::new(MemoryAdapter::new());
    match store.save(&Task::new("l", "1", Spaced {}).unwrap()).await {
        Err(Error::InvalidTypeName { type_name, reason }) => {
            assert_eq!(type_name, "Send Email");
            assert_eq!(reason, KeyError::Whitespace { at: 4 });
        }
        other => panic!("expected InvalidTypeName, got {other:?}"),
    }
    assert_eq!(store.count("l").await.unwrap(), 0);
    let err = TaskRecord::new("l", "i", "Send Email", "{}").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid task type name "Send Email": it has whitespace at byte 4"#
    );
}

/// What another tool wrote is still read: an adapter builds it with
/// `from_storage`, unchecked, and decoding it names the type.
#[tokio::test]
async fn a_stored_record_with_a_bad_type_name_still_lists() {
    use futures::TryStreamExt;
    use taskrec::adapter::StorageAdapter;
    use taskrec::TaskRecord;
    let adapter = MemoryAdapter::new();
    let now = chrono::Utc::now();
    adapter
        .store(&TaskRecord::from_storage(
            "l",
            "odd",
            "Send Email",
            "{}",
            now,
            now,
        ))
        .await
        .unwrap();
    let listed: Vec<TaskRecord> = adapter.all("l").try_collect().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].type_name(), "Send Email");
    let store = TaskStore::new(adapter);
    assert!(matches!(
        store.find::<Reading>("l", "odd").await,
        Err(Error::TypeMismatch { .. })
    ));
}

#[path = "support/exact.rs"]
mod exact;
#[path = "../examples/custom_adapter/json_file.rs"]
mod json_file;

#[tokio::test]
async fn numbers_beyond_64_bits_round_trip_exactly_through_memory_and_the_hash_form() {
    let store = TaskStore::from_dyn(std::sync::Arc::new(MemoryAdapter::new()));
    exact::check_round_trips("memory", &store, "fidelity").await;
}

/// A third-party adapter (the `custom_adapter` example's, one JSON file per
/// task) keeps the text too.
#[tokio::test]
async fn numbers_beyond_64_bits_round_trip_exactly_through_an_outside_adapter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let adapter = json_file::JsonFileAdapter::new(dir.path());
    let store = TaskStore::from_dyn(std::sync::Arc::new(adapter));
    exact::check_round_trips(json_file::ADAPTER, &store, "fidelity").await;
}

/// What the `extra` map of `serde_json::Value` does with numbers it cannot
/// hold exactly: refuses them when read, naming the key and `RawJson`, never
/// a quiet rounding; numbers it holds exactly go back as they came.
#[test]
fn a_value_extra_map_refuses_numbers_it_would_round() {
    #[derive(Debug, TaskData)]
    struct Loose {
        #[task(extra)]
        rest: serde_json::Map<String, serde_json::Value>,
    }
    let hash = |data: &str| format!(r#"{{"task_list":"l","id":"1","type":"Loose","data":{data}}}"#);
    for inexact in [
        r#"{"n":123456789012345678901234567890}"#,
        r#"{"n":-99999999999999999999}"#,
        r#"{"ok":1,"deep":{"list":[1,2,0.10000000000000000001]}}"#,
        r#"{"n":1e400}"#,
    ] {
        let (path, message, _) = invalid(Task::<Loose>::from_json(&hash(inexact)));
        let key = if inexact.contains("deep") {
            ".deep"
        } else {
            ".n"
        };
        assert_eq!(path, key, "{inexact}");
        assert!(
            message.contains("does not fit a serde_json::Value exactly")
                && message.contains("taskrec::RawJson"),
            "{inexact}: {message}"
        );
    }
    // A BTreeMap of `Value` refuses the same, and so does every map of
    // `Value` decoded from another format's value (here a `Value` itself,
    // whose numbers are already 64-bit: what it holds goes through).
    #[derive(Debug, TaskData)]
    struct Sorted {
        #[task(extra)]
        rest: BTreeMap<String, serde_json::Value>,
    }
    let sorted =
        r#"{"task_list":"l","id":"1","type":"Sorted","data":{"n":123456789012345678901234567890}}"#;
    let (path, message, _) = invalid(Task::<Sorted>::from_json(sorted));
    assert_eq!(path, ".n");
    assert!(message.contains("taskrec::RawJson"), "{message}");
    let from_value: taskrec::TaskHash<serde_json::Value> = serde_json::from_str(
        r#"{"task_list":"l","id":"1","type":"Sorted","data":{"n":12345678901234567,"x":0.5}}"#,
    )
    .unwrap();
    let task = Task::<Sorted>::from_hash(from_value).unwrap();
    assert_eq!(
        task.data().rest["n"],
        serde_json::json!(12345678901234567u64)
    );
    assert_eq!(task.data().rest["x"], serde_json::json!(0.5));
    // An exponent at the edge of what a literal may carry: a number that
    // is not zero, which an `f64` would make zero, refused (not a panic).
    let (path, _, _) = invalid(Task::<Loose>::from_json(&hash(
        r#"{"z":0.01e-9223372036854775808}"#,
    )));
    assert_eq!(path, ".z");

    for exact in [
        r#"{"n":18446744073709551615,"m":-9223372036854775808}"#,
        r#"{"x":0.1,"y":1.2345678901234568e+29,"z":-2.5e-8,"s":"123456789012345678901234567890"}"#,
        r#"{"nested":{"a":[1,2.5,{"b":3}]},"zero":0,"neg":-0.5}"#,
    ] {
        let task: Task<Loose> = Task::from_json(&hash(exact)).unwrap();
        let back: serde_json::Value = serde_json::from_str(&task.to_json().unwrap()).unwrap();
        let given: serde_json::Value = serde_json::from_str(&hash(exact)).unwrap();
        assert_eq!(back, given, "{exact}");
    }
}

#[test]
fn raw_json_nesting_counts_toward_the_depth_limit() {
    #[derive(Debug, TaskData)]
    struct Holder {
        #[task(extra)]
        rest: BTreeMap<String, taskrec::RawJson>,
    }
    // The data object is level 1; a raw array nested `levels` deep inside it
    // reaches 1 + levels.
    let raw = |levels: usize| {
        let text = format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        taskrec::RawJson::from_text(text).unwrap()
    };
    let holder = |levels: usize| Holder {
        rest: BTreeMap::from([("deep".to_owned(), raw(levels))]),
    };
    let fits = Task::new("l", "1", holder(MAX_DATA_DEPTH - 1)).unwrap();
    let json = fits.to_json().expect("exactly at the limit");
    let back: Task<Holder> = Task::from_json(&json).expect("what to_json writes reads back");
    assert_eq!(back.data().rest["deep"], fits.data().rest["deep"]);

    let (path, message, _) = invalid(
        Task::new("l", "1", holder(MAX_DATA_DEPTH))
            .unwrap()
            .to_json(),
    );
    assert_eq!(path, ".deep");
    assert_eq!(
        message,
        "the data is nested more than 126 levels deep (taskrec::MAX_DATA_DEPTH), more than a read accepts"
    );
    // Brackets inside strings are text, not nesting.
    let strings = Holder {
        rest: BTreeMap::from([(
            "s".to_owned(),
            taskrec::RawJson::from_value(&"[".repeat(500)).unwrap(),
        )]),
    };
    Task::new("l", "1", strings).unwrap().to_json().unwrap();
}

/// A struct with an `extra` map decodes with serde's derive's rules:
/// duplicate named keys are refused, missing ones reported, `Option`s may be
/// missing, an unknown key met twice keeps its last value, and an error in a
/// value names its key and its place in the text.
#[test]
fn a_struct_with_an_extra_map_decodes_by_serdes_rules() {
    #[derive(Debug, TaskData)]
    struct Job {
        name: String,
        note: Option<String>,
        #[task(extra)]
        rest: BTreeMap<String, taskrec::RawJson>,
    }
    let decode = |data: &str| {
        Task::<Job>::from_json(&format!(
            r#"{{"task_list":"l","id":"1","type":"Job","data":{data}}}"#
        ))
    };
    let job = decode(r#"{"name":"a","x":1,"x":2}"#).unwrap();
    assert_eq!(
        (job.data().note.as_deref(), job.data().rest["x"].get()),
        (None, "2")
    );

    // The same errors as a twin without an `extra` field, which serde's
    // own derive decodes.
    #[derive(Debug, TaskData)]
    #[task(type_name = "Job")]
    struct Twin {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        note: Option<String>,
    }
    let twin = |data: &str| {
        Task::<Twin>::from_json(&format!(
            r#"{{"task_list":"l","id":"1","type":"Job","data":{data}}}"#
        ))
    };
    for data in [
        r#"{"name":"a","name":"b"}"#,
        r#"{"x":1}"#,
        r#"{"note":null}"#,
    ] {
        assert_eq!(invalid(decode(data)), invalid(twin(data)), "{data}");
    }
    let (path, message, task) = invalid(decode(r#"{"name":"a","name":"b"}"#));
    assert_eq!((path.as_str(), task.as_deref()), (".", Some(r#""l"/"1""#)));
    assert_eq!(message, "duplicate field `name` at line 1 column 64");

    let (_, message, _) = invalid(decode(r#"{"x":1}"#));
    assert_eq!(message, "missing field `name` at line 1 column 53");

    let (path, message, _) = invalid(decode(r#"{"name":7}"#));
    assert_eq!(path, ".name");
    assert_eq!(
        message,
        "invalid type: integer `7`, expected a string at line 1 column 55"
    );
}

/// A hash read from a self-describing format other than JSON text arrives
/// as a `serde_json::Value`: its extra keys still decode into `RawJson`
/// (the numbers are then what the `Value` held).
#[test]
fn raw_json_extras_decode_from_a_value_hash() {
    #[derive(Debug, TaskData)]
    struct Holder {
        name: String,
        #[task(extra)]
        rest: BTreeMap<String, taskrec::RawJson>,
    }
    let hash: taskrec::TaskHash<serde_json::Value> = serde_json::from_value(serde_json::json!({
        "task_list": "l", "id": "1", "type": "Holder",
        "data": {"name": "a", "n": 18446744073709551615u64, "list": [1.5, "x"]},
    }))
    .unwrap();
    let task: Task<Holder> = Task::from_hash(hash).unwrap();
    assert_eq!(task.data().rest["n"].get(), "18446744073709551615");
    assert_eq!(task.data().rest["list"].get(), r#"[1.5,"x"]"#);
}
