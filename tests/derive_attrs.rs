//! The field attributes of `#[derive(TaskData)]`: `rename`, `default`,
//! `default = "..."`, `skip`, `extra`, and optional `Option` fields.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use taskrec::{DataRef, TaskData, TaskDecode};

fn encode<T: TaskData>(value: &T) -> Value {
    serde_json::from_str(&serde_json::to_string(&DataRef(value)).unwrap()).unwrap()
}

/// The message of a decode's error, without the position serde_json adds.
fn error_of<T: std::fmt::Debug>(decoded: Result<T, serde_json::Error>) -> String {
    let message = decoded.unwrap_err().to_string();
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

fn decode<T: TaskDecode>(type_name: &str, json: &Value) -> Result<T, serde_json::Error> {
    let text = json.to_string();
    T::deserialize_data(type_name, &mut serde_json::Deserializer::from_str(&text))
        .expect("the type name is known")
}

mod rename {
    use super::*;

    #[derive(Debug, PartialEq, TaskData)]
    struct Upload {
        #[task(rename = "targetPath")]
        target_path: String,
        // A key need not be an identifier.
        #[task(rename = "size in bytes")]
        size: u64,
    }

    #[test]
    fn stores_under_the_new_key() {
        let upload = Upload {
            target_path: "/x".into(),
            size: 7,
        };
        let stored = json!({"targetPath": "/x", "size in bytes": 7});
        assert_eq!(encode(&upload), stored);
        assert_eq!(decode::<Upload>("Upload", &stored).unwrap(), upload);
    }

    #[test]
    fn the_field_name_is_no_longer_a_key() {
        let stored = json!({"target_path": "/x", "size": 7});
        assert_eq!(
            error_of(decode::<Upload>("Upload", &stored)),
            "missing field `targetPath`"
        );
    }

    /// Swapping two keys is allowed: each key still has one field.
    #[derive(Debug, PartialEq, TaskData)]
    struct Swapped {
        #[task(rename = "b")]
        a: u8,
        #[task(rename = "a")]
        b: u8,
    }

    #[test]
    fn keys_may_be_swapped() {
        let swapped = Swapped { a: 1, b: 2 };
        assert_eq!(encode(&swapped), json!({"b": 1, "a": 2}));
        assert_eq!(
            decode::<Swapped>("Swapped", &json!({"b": 1, "a": 2})).unwrap(),
            swapped
        );
    }
}

mod default {
    use super::*;

    fn three() -> u32 {
        3
    }

    mod defaults {
        pub fn host() -> String {
            "localhost".to_owned()
        }
    }

    #[derive(Debug, PartialEq, TaskData)]
    struct Fetch {
        filename: String,
        #[task(default)]
        attempts: u32,
        #[task(default = "three")]
        retries: u32,
        #[task(default = "defaults::host")]
        host: String,
    }

    #[test]
    fn missing_keys_take_their_defaults() {
        let fetch = decode::<Fetch>("Fetch", &json!({"filename": "a"})).unwrap();
        assert_eq!(
            fetch,
            Fetch {
                filename: "a".into(),
                attempts: 0,
                retries: 3,
                host: "localhost".into(),
            }
        );
    }

    #[test]
    fn present_keys_win_over_defaults() {
        let stored = json!({"filename": "a", "attempts": 5, "retries": 6, "host": "h"});
        let fetch = decode::<Fetch>("Fetch", &stored).unwrap();
        assert_eq!(
            (fetch.attempts, fetch.retries, fetch.host.as_str()),
            (5, 6, "h")
        );
    }

    #[test]
    fn defaulted_fields_are_still_stored() {
        let fetch = decode::<Fetch>("Fetch", &json!({"filename": "a"})).unwrap();
        assert_eq!(
            encode(&fetch),
            json!({"filename": "a", "attempts": 0, "retries": 3, "host": "localhost"})
        );
    }

    #[test]
    fn a_field_without_default_is_still_required() {
        assert_eq!(
            error_of(decode::<Fetch>("Fetch", &json!({"attempts": 1}))),
            "missing field `filename`"
        );
    }
}

mod skip {
    use super::*;

    fn ready() -> bool {
        true
    }

    #[derive(Debug, PartialEq, TaskData)]
    struct Job {
        name: String,
        #[task(skip)]
        cache: Vec<u8>,
        #[task(skip, default = "ready")]
        ready: bool,
    }

    #[test]
    fn skipped_fields_are_not_stored() {
        let job = Job {
            name: "j".into(),
            cache: vec![1, 2],
            ready: false,
        };
        assert_eq!(encode(&job), json!({"name": "j"}));
    }

    #[test]
    fn skipped_fields_are_filled_with_their_default_on_decode() {
        let stored = json!({"name": "j", "cache": [9], "ready": false});
        let job = decode::<Job>("Job", &stored).unwrap();
        assert_eq!(
            job,
            Job {
                name: "j".into(),
                cache: vec![],
                ready: true,
            }
        );
    }

    /// A skipped field's type needs no serde impls at all.
    struct NotSerde;

    #[derive(TaskData)]
    struct WithHandle {
        id: u32,
        #[task(skip)]
        handle: Option<std::sync::Arc<NotSerde>>,
    }

    #[test]
    fn skipped_types_need_no_serde() {
        let value = WithHandle {
            id: 1,
            handle: None,
        };
        assert_eq!(encode(&value), json!({"id": 1}));
        let back = decode::<WithHandle>("WithHandle", &json!({"id": 2})).unwrap();
        assert_eq!(back.id, 2);
        assert!(back.handle.is_none());
    }
}

mod option {
    use super::*;

    #[derive(Debug, PartialEq, TaskData)]
    struct Notify {
        to: String,
        cc: Option<String>,
        #[task(rename = "replyTo")]
        reply_to: std::option::Option<String>,
        #[task(default = "some_priority")]
        priority: Option<u8>,
    }

    fn some_priority() -> Option<u8> {
        Some(5)
    }

    #[test]
    fn none_is_omitted_on_encode() {
        let notify = Notify {
            to: "a".into(),
            cc: None,
            reply_to: None,
            priority: None,
        };
        assert_eq!(encode(&notify), json!({"to": "a"}));
    }

    #[test]
    fn some_is_stored() {
        let notify = Notify {
            to: "a".into(),
            cc: Some("b".into()),
            reply_to: Some("c".into()),
            priority: Some(1),
        };
        assert_eq!(
            encode(&notify),
            json!({"to": "a", "cc": "b", "replyTo": "c", "priority": 1})
        );
    }

    #[test]
    fn a_missing_key_is_none() {
        let notify = decode::<Notify>("Notify", &json!({"to": "a"})).unwrap();
        assert_eq!(notify.cc, None);
        assert_eq!(notify.reply_to, None);
    }

    #[test]
    fn null_is_none() {
        let stored = json!({"to": "a", "cc": null, "replyTo": null, "priority": null});
        let notify = decode::<Notify>("Notify", &stored).unwrap();
        assert_eq!(
            (notify.cc, notify.reply_to, notify.priority),
            (None, None, None)
        );
    }

    #[test]
    fn default_fn_wins_over_none_for_a_missing_key() {
        let notify = decode::<Notify>("Notify", &json!({"to": "a"})).unwrap();
        assert_eq!(notify.priority, Some(5));
    }
}

mod extra {
    use super::*;

    /// An older version of a task that a newer process has added keys to.
    #[derive(Debug, PartialEq, TaskData)]
    struct Fetch {
        filename: String,
        #[task(rename = "retryCount")]
        retries: u32,
        note: Option<String>,
        #[task(extra)]
        rest: Map<String, Value>,
    }

    /// The same, with a `BTreeMap` and without `Option` fields.
    #[derive(Debug, PartialEq, TaskData)]
    #[task(type_name = "Fetch")]
    struct FetchTree {
        filename: String,
        #[task(extra)]
        rest: BTreeMap<String, Value>,
    }

    /// Without `extra`, unknown keys are dropped.
    #[derive(Debug, PartialEq, TaskData)]
    #[task(type_name = "Fetch")]
    struct FetchPlain {
        filename: String,
    }

    fn newer() -> Value {
        json!({
            "filename": "a",
            "retryCount": 2,
            "checksum": "abc",
            "options": {"deep": [1, 2, {"x": null}]},
            "empty": null,
        })
    }

    #[test]
    fn unknown_keys_are_kept() {
        let fetch = decode::<Fetch>("Fetch", &newer()).unwrap();
        assert_eq!(fetch.filename, "a");
        assert_eq!(fetch.retries, 2);
        assert_eq!(fetch.note, None);
        let expected =
            json!({"checksum": "abc", "options": {"deep": [1, 2, {"x": null}]}, "empty": null});
        assert_eq!(Value::Object(fetch.rest), expected);
    }

    #[test]
    fn a_round_trip_loses_nothing() {
        let fetch = decode::<Fetch>("Fetch", &newer()).unwrap();
        assert_eq!(encode(&fetch), newer());
        let tree = decode::<FetchTree>("Fetch", &newer()).unwrap();
        assert_eq!(encode(&tree), newer());
    }

    #[test]
    fn known_keys_do_not_land_in_extra() {
        let fetch = decode::<Fetch>(
            "Fetch",
            &json!({"filename": "a", "retryCount": 1, "note": "n"}),
        )
        .unwrap();
        assert!(fetch.rest.is_empty());
        assert_eq!(fetch.note.as_deref(), Some("n"));
        assert_eq!(
            encode(&fetch),
            json!({"filename": "a", "retryCount": 1, "note": "n"})
        );
    }

    #[test]
    fn known_fields_are_still_checked() {
        assert_eq!(
            error_of(decode::<Fetch>(
                "Fetch",
                &json!({"filename": 1, "retryCount": 1})
            )),
            "invalid type: integer `1`, expected a string"
        );
        assert_eq!(
            error_of(decode::<Fetch>("Fetch", &json!({"retryCount": 1}))),
            "missing field `filename`"
        );
    }

    #[test]
    fn without_extra_unknown_keys_are_dropped() {
        let plain = decode::<FetchPlain>("Fetch", &newer()).unwrap();
        assert_eq!(encode(&plain), json!({"filename": "a"}));
    }
}
