//! The error type: every variant's message says what went wrong and where,
//! storage errors keep the driver's error as their source, and the key
//! rules (length in bytes, any other text accepted verbatim) hold on every
//! way in.

use std::error::Error as _;
use std::io;

use taskrec::{
    validate_id, validate_task_list, Error, KeyError, MemoryAdapter, PageToken, Task, TaskData,
    TaskKey, TaskRecord, TaskRegistry, TaskStore, MAX_KEY_BYTES,
};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Ping {
    n: u8,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Pong {}

#[derive(Debug, Clone, PartialEq, TaskData)]
enum Ball {
    Ping(Ping),
    Pong(Pong),
}

fn assert_send_sync_static<T: Send + Sync + 'static>() {}

#[test]
fn error_is_a_send_sync_static_std_error() {
    assert_send_sync_static::<Error>();
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Error::InvalidHash {
        reason: "x".into(),
        task: None,
    });
    assert_eq!(boxed.to_string(), "invalid task hash: x");
}

// ---- Display, one variant at a time --------------------------------------

#[test]
fn unknown_type_names_the_type_the_record_and_the_known_types() {
    let record = TaskRecord::new("files", "f1", "Rename", "{}").unwrap();
    let err = Task::<Ball>::from_record(record).unwrap_err();
    assert!(matches!(err, Error::UnknownType { .. }));
    assert_eq!(
        err.to_string(),
        r#"unknown task type `Rename` in task "files"/"f1"; known types: `Ping`, `Pong`"#
    );
}

#[test]
fn type_mismatch_names_both_types_and_the_record() {
    let record = TaskRecord::new("files", "f1", "Pong", "{}").unwrap();
    let err = Task::<Ping>::from_record(record).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::TypeMismatch { .. }));
    assert!(text.contains("expected `Ping`"), "{text}");
    assert!(text.contains("found `Pong`"), "{text}");
    assert!(text.contains(r#"in task "files"/"f1""#), "{text}");

    // From a hash, the hash's list and id name the task.
    let err = Task::<Ping>::from_json(r#"{"task_list":"a","id":"1","type":"Pong","data":{}}"#)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"task type mismatch in task "a"/"1": expected `Ping`, found `Pong`"#
    );
}

#[test]
fn invalid_data_names_the_type_the_record_and_the_field() {
    let record = TaskRecord::new("files", "f1", "Ping", r#"{"n":"x"}"#).unwrap();
    let err = Task::<Ping>::from_record(record).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::InvalidData { .. }));
    assert!(
        text.starts_with(r#"invalid data for task type `Ping` in task "files"/"f1" at `.n`: "#),
        "{text}"
    );
    assert!(text.contains("invalid type"), "{text}");
}

#[test]
fn invalid_hash_says_why() {
    let err = taskrec::TaskHash::from_json(r#"{"task_list":"a","id":"1","type":"T","data":[]}"#)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidHash { .. }));
    assert_eq!(
        err.to_string(),
        r#"invalid task hash in task "a"/"1": `data` is an array, not an object"#
    );
}

#[test]
fn invalid_task_list_and_id_say_which_and_why() {
    let err = Task::new("", "1", Pong {}).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidTaskList {
            reason: KeyError::Empty
        }
    ));
    assert_eq!(err.to_string(), "invalid task list: it is empty");

    let err = Task::new("l", "x".repeat(MAX_KEY_BYTES + 1), Pong {}).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidId {
            reason: KeyError::TooLong { .. }
        }
    ));
    assert_eq!(
        err.to_string(),
        "invalid task id: it is 4097 bytes long, over the limit of 4096 bytes"
    );
}

#[test]
fn duplicate_type_names_the_type() {
    let mut registry = TaskRegistry::new();
    registry.register::<Ping>().unwrap();
    let err = registry.register::<Ping>().unwrap_err();
    assert!(matches!(err, Error::DuplicateType { .. }));
    assert_eq!(err.to_string(), "task type `Ping` is already registered");
}

#[test]
fn invalid_page_token_says_why() {
    let err = "abc".parse::<PageToken>().unwrap_err();
    assert!(matches!(err, Error::InvalidPageToken { .. }));
    assert_eq!(
        err.to_string(),
        "invalid page token: odd number of hex digits"
    );
    let err = "zz".parse::<PageToken>().unwrap_err();
    assert_eq!(err.to_string(), "invalid page token: not hexadecimal text");
}

#[test]
fn invalid_config_names_the_adapter_and_the_problem() {
    let err = Error::InvalidConfig {
        adapter: "cassandra",
        reason: "keyspace `a-b` is not a CQL identifier".into(),
    };
    assert_eq!(
        err.to_string(),
        "invalid cassandra adapter configuration: keyspace `a-b` is not a CQL identifier"
    );
}

#[tokio::test]
async fn unsupported_names_the_operation() {
    let store = TaskStore::new(MemoryAdapter::new());
    let err = store
        .save_with_ttl(
            &Task::new("l", "1", Pong {}).unwrap(),
            std::time::Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    match err {
        Error::Unsupported { adapter, operation } => {
            assert_eq!(operation, "a time-to-live");
            assert_eq!(
                text,
                format!("the {adapter} adapter does not support a time-to-live")
            );
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn storage_names_the_adapter_and_shows_the_driver_error() {
    let err = Error::storage("json-file", io::Error::other("disk full"));
    assert!(matches!(
        err,
        Error::Storage {
            adapter: "json-file",
            ..
        }
    ));
    // The driver's error is the source, not repeated in the message.
    assert_eq!(err.to_string(), "storage error in the json-file adapter");
}

// ---- Error::storage keeps the source -------------------------------------

#[derive(Debug)]
struct DriverError {
    code: u32,
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "driver error {}", self.code)
    }
}

impl std::error::Error for DriverError {}

#[test]
fn storage_keeps_the_source_to_downcast() {
    let err = Error::storage(
        "memory",
        io::Error::new(io::ErrorKind::PermissionDenied, "no"),
    );
    let source = err.source().expect("a source");
    let io = source.downcast_ref::<io::Error>().expect("the io::Error");
    assert_eq!(io.kind(), io::ErrorKind::PermissionDenied);
    assert_eq!(io.to_string(), "no");

    let err = Error::storage("cassandra", DriverError { code: 8704 });
    let driver = err
        .source()
        .and_then(|s| s.downcast_ref::<DriverError>())
        .expect("the DriverError");
    assert_eq!(driver.code, 8704);
    match err {
        Error::Storage { adapter, source } => {
            assert_eq!(adapter, "cassandra");
            assert_eq!(source.downcast::<DriverError>().unwrap().code, 8704);
        }
        other => panic!("expected Storage, got {other:?}"),
    }

    // A plain message becomes a source too.
    let err = Error::storage("x", "timed out");
    assert_eq!(err.source().unwrap().to_string(), "timed out");
}

#[test]
fn errors_without_a_cause_have_no_source() {
    let errors = [
        Error::InvalidHash {
            reason: "r".into(),
            task: None,
        },
        Error::InvalidTaskList {
            reason: KeyError::Empty,
        },
        Error::DuplicateType {
            type_name: "T".into(),
        },
    ];
    for err in errors {
        assert!(err.source().is_none(), "{err:?}");
    }
}

/// The Rust API guidelines (and thiserror's docs) say an error should either
/// show its cause in its own message or return it from `source()`, not
/// both: `Error::Storage` returns it, so a report that walks the chain
/// (anyhow's `{:#}`, tracing, eyre) prints the driver's message once.
#[test]
fn a_chained_report_shows_the_driver_error_once() {
    let err = Error::storage("json-file", io::Error::other("disk full"));
    let mut report = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        report.push_str(": ");
        report.push_str(&cause.to_string());
        next = cause.source();
    }
    assert_eq!(report.matches("disk full").count(), 1, "{report}");
}

// ---- key limits -------------------------------------------------------------

#[test]
fn exactly_max_key_bytes_is_accepted_and_one_more_is_too_long() {
    let max = "k".repeat(MAX_KEY_BYTES);
    let over = "k".repeat(MAX_KEY_BYTES + 1);
    assert_eq!(MAX_KEY_BYTES, 4096);

    validate_task_list(&max).unwrap();
    validate_id(&max).unwrap();
    let task = Task::new(max.clone(), max.clone(), Pong {}).unwrap();
    assert_eq!((task.task_list().len(), task.id().len()), (4096, 4096));
    TaskRecord::new(max.clone(), max.clone(), "Pong", "{}").unwrap();

    let too_long = KeyError::TooLong {
        len: MAX_KEY_BYTES + 1,
        max: MAX_KEY_BYTES,
    };
    match validate_task_list(&over) {
        Err(Error::InvalidTaskList { reason }) => assert_eq!(reason, too_long),
        other => panic!("expected InvalidTaskList, got {other:?}"),
    }
    match validate_id(&over) {
        Err(Error::InvalidId { reason }) => assert_eq!(reason, too_long),
        other => panic!("expected InvalidId, got {other:?}"),
    }
    match TaskRecord::new("l", over.clone(), "Pong", "{}") {
        Err(Error::InvalidId { reason }) => assert_eq!(reason, too_long),
        other => panic!("expected InvalidId, got {other:?}"),
    }
    match Task::build(over.clone(), Pong {}) {
        Err(Error::InvalidTaskList { reason }) => assert_eq!(reason, too_long),
        other => panic!("expected InvalidTaskList, got {other:?}"),
    }
    match Task::build("l", Pong {}).unwrap().with_id(over.clone()) {
        Err(Error::InvalidId { reason }) => assert_eq!(reason, too_long),
        other => panic!("expected InvalidId, got {other:?}"),
    }
    match Task::build("l", Pong {}).unwrap().with_task_list(over) {
        Err(Error::InvalidTaskList { reason }) => assert_eq!(reason, too_long),
        other => panic!("expected InvalidTaskList, got {other:?}"),
    }
}

#[test]
fn multi_byte_characters_count_in_bytes() {
    // "é" is 2 bytes: 2048 of them are exactly the limit.
    let e = "é".repeat(MAX_KEY_BYTES / 2);
    assert_eq!((e.chars().count(), e.len()), (2048, 4096));
    validate_task_list(&e).unwrap();

    let over = format!("{e}x");
    match validate_task_list(&over) {
        Err(Error::InvalidTaskList {
            reason: KeyError::TooLong { len, max },
        }) => assert_eq!((len, max), (4097, 4096)),
        other => panic!("expected TooLong, got {other:?}"),
    }

    // 1025 four-byte characters: far fewer characters than the limit, yet
    // 4100 bytes.
    let emoji = "😀".repeat(MAX_KEY_BYTES / 4 + 1);
    assert_eq!(emoji.chars().count(), 1025);
    match validate_id(&emoji) {
        Err(Error::InvalidId {
            reason: KeyError::TooLong { len, max },
        }) => assert_eq!((len, max), (4100, 4096)),
        other => panic!("expected TooLong, got {other:?}"),
    }
    validate_id(&"😀".repeat(MAX_KEY_BYTES / 4)).unwrap();
}

#[test]
fn empty_keys_are_refused_on_every_way_in() {
    assert!(matches!(
        validate_task_list(""),
        Err(Error::InvalidTaskList {
            reason: KeyError::Empty
        })
    ));
    assert!(matches!(
        validate_id(""),
        Err(Error::InvalidId {
            reason: KeyError::Empty
        })
    ));
    assert!(matches!(
        TaskRecord::new("", "1", "T", "{}"),
        Err(Error::InvalidTaskList {
            reason: KeyError::Empty
        })
    ));
    assert!(matches!(
        Task::build("l", Pong {}).unwrap().with_id(""),
        Err(Error::InvalidId {
            reason: KeyError::Empty
        })
    ));
    assert!(matches!(
        Task::build("l", Pong {}).unwrap().with_task_list(""),
        Err(Error::InvalidTaskList {
            reason: KeyError::Empty
        })
    ));
}

#[tokio::test]
async fn nul_quotes_and_rtl_text_are_keys_verbatim() {
    let keys = [
        "a\0b",
        "\0",
        "'; DROP TABLE tasks; --",
        r#"say "hi""#,
        "back`tick",
        "\u{202E}txt.exe",
        "שלום עולם",
        "a/b\\c",
        " ",
        "..",
        "\n\t",
    ];
    let store = TaskStore::new(MemoryAdapter::new());
    for (i, key) in keys.iter().enumerate() {
        validate_task_list(key).unwrap();
        validate_id(key).unwrap();
        let n = u8::try_from(i).unwrap();
        let task = Task::new(*key, *key, Ping { n }).unwrap();
        assert_eq!((task.task_list(), task.id()), (*key, *key));
        store.save(&task).await.unwrap();

        let found = store.find::<Ping>(key, key).await.unwrap().unwrap();
        assert_eq!((found.task_list(), found.id()), (*key, *key));
        assert_eq!(found.data(), &Ping { n });

        // And through the hash form.
        let back = Task::<Ping>::from_json(&task.to_json().unwrap()).unwrap();
        assert_eq!((back.task_list(), back.id()), (*key, *key));
    }
    for key in keys {
        assert_eq!(store.count(key).await.unwrap(), 1, "{key:?}");
    }
}

#[test]
fn task_key_displays_list_slash_id() {
    assert_eq!(
        TaskKey::new("datto.com", "file1").to_string(),
        r#""datto.com"/"file1""#
    );
}

/// Decoding errors name the record as `"list"/"id"` (`TaskKey`'s Display):
/// quoted, so that keys which hold `/` themselves (`("a/b", "c")` and
/// `("a", "b/c")`) still print apart.
#[test]
fn task_keys_with_slashes_display_distinctly() {
    assert_ne!(
        TaskKey::new("a/b", "c").to_string(),
        TaskKey::new("a", "b/c").to_string()
    );
}

// ---- what is wrong with JSON text, said plainly ---------------------------

#[derive(Debug, TaskData)]
struct FetchFile {
    filename: String,
    size: u32,
}

fn from_json_error(json: &str) -> String {
    Task::<FetchFile>::from_json(json).unwrap_err().to_string()
}

fn record_error(data: &str) -> String {
    let now = chrono::Utc::now();
    let record = TaskRecord::from_storage("l", "i", "FetchFile", data, now, now);
    Task::<FetchFile>::from_record(record)
        .unwrap_err()
        .to_string()
}

#[test]
fn not_json_and_not_an_object_are_told_apart() {
    assert_eq!(
        from_json_error("nope"),
        "invalid task hash: the hash is not JSON: expected ident at line 1 column 2"
    );
    assert_eq!(
        from_json_error("[1, 2]"),
        "invalid task hash: the hash is an array, not a JSON object"
    );
    assert_eq!(
        from_json_error(r#"{"task_list":"l","id":"i","type":"FetchFile","data":"x"}"#),
        r#"invalid task hash in task "l"/"i": `data` is a string, not an object"#
    );
    let prefix = r#"invalid data for task type `FetchFile` in task "l"/"i" at `.`: the data"#;
    assert_eq!(
        record_error("nope"),
        format!("{prefix} is not JSON: expected ident at line 1 column 2")
    );
    assert_eq!(
        record_error(r#"{"filename":"a","size":1"#),
        // The path tracker knows a key was due, not which.
        prefix.replace("`.`", "`.?`")
            + " is not JSON: EOF while parsing an object at line 1 column 24"
    );
    assert_eq!(
        record_error("[1]"),
        format!("{prefix} is an array, not a JSON object")
    );
    assert_eq!(
        record_error("null"),
        format!("{prefix} is null, not a JSON object")
    );
}

#[test]
fn a_null_data_cell_says_so() {
    // task_rb's table reads a null `data` cell as no text at all.
    assert_eq!(
        record_error(""),
        r#"invalid data for task type `FetchFile` in task "l"/"i" at `.`: the data is empty (a null or empty `data` cell), not a JSON object"#
    );
    assert_eq!(
        from_json_error(r#"{"task_list":"l","id":"i","type":"FetchFile","data":null}"#),
        r#"invalid task hash in task "l"/"i": `data` is null, not an object"#
    );
}

#[test]
fn a_lone_surrogate_says_so_at_its_escape() {
    assert_eq!(
        record_error(r#"{"filename":"a\udc00","size":1}"#),
        r#"invalid data for task type `FetchFile` in task "l"/"i" at `.filename`: the data holds a lone UTF-16 surrogate `\udc00` at line 1 column 15, which is no character: a JSON string may hold one only as half of a pair"#
    );
    // A pair is a character.
    let task =
        Task::<FetchFile>::from_json(r#"{"task_list":"l","id":"i","type":"FetchFile","data":{"filename":"\ud83d\ude00","size":1}}"#)
            .unwrap();
    assert_eq!(task.data().filename, "\u{1f600}");
}

#[test]
fn positions_in_data_errors_count_in_the_text_the_caller_gave() {
    // Column 80 of the hash is the end of "big"; column 28 of the data alone.
    let hash =
        r#"{"task_list":"l","id":"i","type":"FetchFile","data":{"filename":"a","size":"big"}}"#;
    assert_eq!(
        from_json_error(hash),
        r#"invalid data for task type `FetchFile` in task "l"/"i" at `.size`: invalid type: string "big", expected u32 at line 1 column 80"#
    );
    let lines = "{\n  \"task_list\": \"l\",\n  \"id\": \"i\",\n  \"type\": \"FetchFile\",\n  \"data\": {\"filename\": \"a\", \"size\": \"big\"}\n}";
    assert!(
        from_json_error(lines).ends_with("expected u32 at line 5 column 41"),
        "{}",
        from_json_error(lines)
    );
    // A hash given as a value has no text of the caller's: the data's own.
    let parsed = taskrec::TaskHash::from_json(hash).unwrap();
    assert!(Task::<FetchFile>::from_hash(parsed)
        .unwrap_err()
        .to_string()
        .ends_with("expected u32 at line 1 column 28"));
}

#[test]
fn hash_errors_name_the_task_when_the_hash_has_it() {
    let hash = r#"{"task_list":"l","id":"i","type":"Other","data":{}}"#;
    assert_eq!(
        from_json_error(hash),
        r#"task type mismatch in task "l"/"i": expected `FetchFile`, found `Other`"#
    );
    let mut registry = TaskRegistry::new();
    registry.register::<Ping>().unwrap();
    let hash: taskrec::TaskHash =
        serde_json::from_str(r#"{"task_list":"l","id":"i","type":"Ping","data":{"n":300}}"#)
            .unwrap();
    match registry.from_hash(hash) {
        Err(Error::InvalidData { task, path, .. }) => {
            assert_eq!(task, Some(TaskKey::new("l", "i")));
            assert_eq!(path, ".n");
        }
        other => panic!("expected InvalidData, got {other:?}"),
    }
}
