//! `#[derive(TaskData)]` on an enum of task types: a closed set of task
//! types decoded by dispatching on the type name.

use serde_json::{json, Value};
use taskrec::{DataRef, TaskData, TaskDecode, TaskType};

#[derive(Debug, PartialEq, TaskData)]
struct FetchFile {
    filename: String,
}

#[derive(Debug, PartialEq, TaskData)]
struct DeleteFile {
    filename: String,
    #[task(default)]
    force: bool,
}

#[derive(Debug, PartialEq, TaskData)]
#[task(type_name = "Task::Tasks::CompositeTask")]
struct Composite {
    child_task_list: String,
}

#[derive(Debug, PartialEq, TaskData)]
enum Jobs {
    Fetch(FetchFile),
    Delete(DeleteFile),
    Composite(Composite),
}

/// Variant names need not match the types' names.
#[derive(Debug, PartialEq, TaskData)]
enum Single {
    Only(DeleteFile),
}

fn encode<T: TaskData>(value: &T) -> Value {
    serde_json::from_str(&serde_json::to_string(&DataRef(value)).unwrap()).unwrap()
}

fn decode<T: TaskDecode>(type_name: &str, json: &Value) -> Option<Result<T, serde_json::Error>> {
    let text = json.to_string();
    T::deserialize_data(type_name, &mut serde_json::Deserializer::from_str(&text))
}

#[test]
fn type_names_are_the_variant_types_names_in_declaration_order() {
    assert_eq!(
        Jobs::TYPE_NAMES,
        &["FetchFile", "DeleteFile", "Task::Tasks::CompositeTask"]
    );
    assert_eq!(Single::TYPE_NAMES, &[DeleteFile::TYPE_NAME]);
}

#[test]
fn type_name_is_the_wrapped_values() {
    let fetch = Jobs::Fetch(FetchFile {
        filename: "a".into(),
    });
    let delete = Jobs::Delete(DeleteFile {
        filename: "a".into(),
        force: true,
    });
    let composite = Jobs::Composite(Composite {
        child_task_list: "c".into(),
    });
    assert_eq!(fetch.type_name(), "FetchFile");
    assert_eq!(delete.type_name(), "DeleteFile");
    assert_eq!(composite.type_name(), "Task::Tasks::CompositeTask");
}

#[test]
fn encodes_the_wrapped_value_untagged() {
    let delete = DeleteFile {
        filename: "a".into(),
        force: true,
    };
    let expected = json!({"filename": "a", "force": true});
    assert_eq!(encode(&delete), expected);
    assert_eq!(encode(&Jobs::Delete(delete)), expected);
}

#[test]
fn decodes_each_type_name_into_its_variant() {
    let data = json!({"filename": "a"});
    assert_eq!(
        decode::<Jobs>("FetchFile", &data).unwrap().unwrap(),
        Jobs::Fetch(FetchFile {
            filename: "a".into()
        })
    );
    // The variant type's own attributes apply (`default` here).
    assert_eq!(
        decode::<Jobs>("DeleteFile", &data).unwrap().unwrap(),
        Jobs::Delete(DeleteFile {
            filename: "a".into(),
            force: false,
        })
    );
    assert_eq!(
        decode::<Jobs>(
            "Task::Tasks::CompositeTask",
            &json!({"child_task_list": "c"})
        )
        .unwrap()
        .unwrap(),
        Jobs::Composite(Composite {
            child_task_list: "c".into()
        })
    );
}

#[test]
fn round_trips_every_variant() {
    let jobs = [
        Jobs::Fetch(FetchFile {
            filename: "a".into(),
        }),
        Jobs::Delete(DeleteFile {
            filename: "b".into(),
            force: true,
        }),
        Jobs::Composite(Composite {
            child_task_list: "c".into(),
        }),
    ];
    for job in jobs {
        let back = decode::<Jobs>(job.type_name(), &encode(&job))
            .unwrap()
            .unwrap();
        assert_eq!(back, job);
    }
}

#[test]
fn an_unknown_type_name_is_not_decoded() {
    let data = json!({"filename": "a"});
    assert!(decode::<Jobs>("UploadFile", &data).is_none());
    assert!(decode::<Jobs>("Composite", &data).is_none());
    assert!(decode::<Jobs>("", &data).is_none());
    assert!(decode::<Single>("FetchFile", &data).is_none());
}

#[test]
fn bad_data_under_a_known_name_is_an_error() {
    let error = decode::<Jobs>("FetchFile", &json!({"filename": 1}))
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("invalid type: integer `1`, expected a string"),
        "{error}"
    );
}

/// Enums and structs may live in other modules and be named by path.
mod elsewhere {
    #[derive(Debug, PartialEq, taskrec::TaskData)]
    pub struct Ping {}

    pub mod deeper {
        #[derive(Debug, PartialEq, taskrec::TaskData)]
        pub struct Pong {}
    }
}

#[derive(Debug, PartialEq, TaskData)]
enum ByPath {
    Ping(elsewhere::Ping),
    Pong(self::elsewhere::deeper::Pong),
}

#[test]
fn variant_types_may_be_paths() {
    assert_eq!(ByPath::TYPE_NAMES, &["Ping", "Pong"]);
    assert_eq!(
        decode::<ByPath>("Pong", &json!({})).unwrap().unwrap(),
        ByPath::Pong(elsewhere::deeper::Pong {})
    );
}
