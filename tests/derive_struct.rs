//! `#[derive(TaskData)]` on a plain struct: type names, encoding, decoding.

use taskrec::{DataRef, TaskData, TaskDecode, TaskType};

#[derive(Debug, PartialEq, TaskData)]
struct FetchFile {
    /// Doc comments and foreign attributes on fields are left alone.
    external_host: String,
    filename: String,
    retries: u32,
}

#[derive(Debug, PartialEq, TaskData)]
#[task(type_name = "Task::Tasks::CompositeTask")]
struct Composite {
    child_task_list: String,
}

#[derive(Debug, PartialEq, TaskData)]
struct Ping {}

fn encode<T: TaskData>(value: &T) -> String {
    serde_json::to_string(&DataRef(value)).unwrap()
}

fn decode<T: TaskDecode>(type_name: &str, json: &str) -> Option<Result<T, serde_json::Error>> {
    T::deserialize_data(type_name, &mut serde_json::Deserializer::from_str(json))
}

fn fetch() -> FetchFile {
    FetchFile {
        external_host: "example.com".into(),
        filename: "a.txt".into(),
        retries: 3,
    }
}

#[test]
fn type_name_defaults_to_the_struct_name() {
    assert_eq!(FetchFile::TYPE_NAME, "FetchFile");
    assert_eq!(FetchFile::TYPE_NAMES, &["FetchFile"]);
    assert_eq!(fetch().type_name(), "FetchFile");
}

#[test]
fn type_name_can_be_a_ruby_class_name() {
    let composite = Composite {
        child_task_list: "children".into(),
    };
    assert_eq!(Composite::TYPE_NAME, "Task::Tasks::CompositeTask");
    assert_eq!(Composite::TYPE_NAMES, &["Task::Tasks::CompositeTask"]);
    assert_eq!(composite.type_name(), "Task::Tasks::CompositeTask");
    let json = r#"{"child_task_list":"children"}"#;
    assert_eq!(encode(&composite), json);
    let decoded = decode::<Composite>("Task::Tasks::CompositeTask", json);
    assert_eq!(decoded.unwrap().unwrap(), composite);
    assert!(decode::<Composite>("Composite", json).is_none());
}

#[test]
fn encodes_fields_as_a_map_in_declaration_order() {
    assert_eq!(
        encode(&fetch()),
        r#"{"external_host":"example.com","filename":"a.txt","retries":3}"#
    );
}

#[test]
fn decodes_what_it_encodes() {
    let json = encode(&fetch());
    assert_eq!(
        decode::<FetchFile>("FetchFile", &json).unwrap().unwrap(),
        fetch()
    );
}

#[test]
fn decoding_ignores_key_order_and_unknown_keys() {
    let json = r#"{"retries":3,"unknown":[1,2],"filename":"a.txt","external_host":"example.com"}"#;
    assert_eq!(
        decode::<FetchFile>("FetchFile", json).unwrap().unwrap(),
        fetch()
    );
}

#[test]
fn a_missing_field_is_an_error() {
    let json = r#"{"external_host":"example.com","filename":"a.txt"}"#;
    let error = decode::<FetchFile>("FetchFile", json)
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("missing field `retries`"), "{error}");
}

#[test]
fn a_field_of_the_wrong_type_is_an_error() {
    let json = r#"{"external_host":"example.com","filename":"a.txt","retries":"three"}"#;
    let error = decode::<FetchFile>("FetchFile", json)
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("invalid type: string \"three\", expected"),
        "{error}"
    );
}

#[test]
fn another_type_name_is_not_decoded() {
    let json = encode(&fetch());
    assert!(decode::<FetchFile>("DeleteFile", &json).is_none());
    assert!(decode::<FetchFile>("", &json).is_none());
    assert!(decode::<FetchFile>("fetchfile", &json).is_none());
}

#[test]
fn another_type_name_leaves_the_input_unread() {
    // `None` means the deserializer was not touched: even bad input is fine.
    assert!(decode::<FetchFile>("DeleteFile", "not json").is_none());
}

#[test]
fn a_struct_without_fields_is_an_empty_map() {
    assert_eq!(encode(&Ping {}), "{}");
    assert_eq!(
        decode::<Ping>("Ping", r#"{"a":1}"#).unwrap().unwrap(),
        Ping {}
    );
}

/// A user may derive serde for their own purposes next to `TaskData`: the
/// derive implements no serde trait on the type, so nothing clashes, and the
/// user's `#[serde]` attributes (said to be theirs with `ignore_serde`) do
/// not change the stored form.
mod with_serde {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, TaskData)]
    #[task(ignore_serde)]
    #[serde(rename_all = "camelCase")]
    pub struct Upload {
        #[serde(rename = "dest")]
        #[task(rename = "destination")]
        pub target_path: String,
        pub byte_count: u64,
    }

    #[test]
    fn serde_attributes_do_not_change_the_stored_form() {
        let upload = Upload {
            target_path: "/x".into(),
            byte_count: 7,
        };
        assert_eq!(encode(&upload), r#"{"destination":"/x","byte_count":7}"#);
        assert_eq!(
            serde_json::to_string(&upload).unwrap(),
            r#"{"dest":"/x","byteCount":7}"#
        );
    }
}

/// Raw identifiers are stored without `r#`, like serde does.
#[derive(Debug, PartialEq, TaskData)]
struct Raw {
    r#type: String,
}

#[test]
fn raw_identifiers_are_stored_without_the_prefix() {
    let raw = Raw { r#type: "x".into() };
    assert_eq!(encode(&raw), r#"{"type":"x"}"#);
    assert_eq!(
        decode::<Raw>("Raw", r#"{"type":"x"}"#).unwrap().unwrap(),
        raw
    );
}

/// `Self` in a field type means the task type, not the derive's shadow.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, TaskData)]
struct Tree {
    name: String,
    children: Vec<Self>,
}

#[test]
fn self_in_a_field_type_means_the_task_type() {
    let tree = Tree {
        name: "root".into(),
        children: vec![Tree {
            name: "leaf".into(),
            children: vec![],
        }],
    };
    let json = r#"{"name":"root","children":[{"name":"leaf","children":[]}]}"#;
    assert_eq!(encode(&tree), json);
    assert_eq!(decode::<Tree>("Tree", json).unwrap().unwrap(), tree);
}

/// `#[task(default)]` on the struct: a record missing any key loads, each
/// missing field as its type's default, as task_rb loads it (`nil`); a
/// field's own default still wins, and keys present decode as usual.
mod lenient {
    use super::*;

    fn five() -> u32 {
        5
    }

    #[derive(Debug, PartialEq, TaskData)]
    #[task(default)]
    struct FetchFile {
        external_host: String,
        filename: String,
        tags: Vec<String>,
        #[task(default = "five")]
        retries: u32,
        size: Option<u64>,
    }

    #[test]
    fn missing_keys_load_as_defaults() {
        assert_eq!(
            decode::<FetchFile>("FetchFile", "{}").unwrap().unwrap(),
            FetchFile {
                external_host: String::new(),
                filename: String::new(),
                tags: vec![],
                retries: 5,
                size: None,
            }
        );
        assert_eq!(
            decode::<FetchFile>("FetchFile", r#"{"filename":"a","retries":1,"size":2}"#)
                .unwrap()
                .unwrap(),
            FetchFile {
                external_host: String::new(),
                filename: "a".into(),
                tags: vec![],
                retries: 1,
                size: Some(2),
            }
        );
    }

    #[test]
    fn a_present_key_of_the_wrong_type_is_still_an_error() {
        let error = decode::<FetchFile>("FetchFile", r#"{"filename":7}"#)
            .unwrap()
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid type: integer `7`, expected a string"),
            "{error}"
        );
    }

    #[derive(Debug, PartialEq, TaskData)]
    struct Strict {
        filename: String,
    }

    #[test]
    fn without_it_a_missing_key_is_an_error_naming_the_key() {
        let error = decode::<Strict>("Strict", "{}").unwrap().unwrap_err();
        assert_eq!(
            error.to_string(),
            "missing field `filename` at line 1 column 2"
        );
    }
}

/// `#[task(task_rb)]` takes a Ruby constant path, and changes nothing else.
#[derive(Debug, PartialEq, TaskData)]
#[task(task_rb, type_name = "Backup::Tasks::FetchFile2")]
struct SharedWithTaskRb {
    filename: String,
}

#[test]
fn a_task_rb_type_is_stored_like_any_other() {
    use taskrec::TaskType;
    assert_eq!(SharedWithTaskRb::TYPE_NAME, "Backup::Tasks::FetchFile2");
    let task = SharedWithTaskRb {
        filename: "a".into(),
    };
    assert_eq!(encode(&task), r#"{"filename":"a"}"#);
}
