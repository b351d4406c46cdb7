//! `Task::from_json` and `Task::to_json` against the two-step path they
//! shortcut: `from_json` must give what `TaskHash::from_json` then
//! `Task::from_hash` gives (the same task, or the same error to the
//! letter), whatever the order of the keys; `to_json` must write what
//! `serde_json::to_string(&task.as_hash())` writes, byte for byte.

use std::fmt::Debug;

use serde::de::{Deserialize, Deserializer, Error as _};
use serde::ser::{Error as _, Serialize, Serializer};
use serde_json::{Map, Value};
use taskrec::{Task, TaskData, TaskDecode, TaskHash, TaskRegistry, TaskType};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Ping {
    n: u32,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
#[task(type_name = "Task::Tasks::Note")]
struct Note {
    text: String,
    #[task(default)]
    tags: Vec<String>,
    at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Doc {
    #[task(extra)]
    rest: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Empty {}

#[derive(Debug, Clone, PartialEq, TaskData)]
enum Ball {
    Ping(Ping),
    Note(Note),
    Doc(Doc),
}

/// A hand-written task type that takes any JSON value: serde would hand it
/// an array or a number as readily as an object.
#[derive(Debug, Clone, PartialEq)]
struct AnyValue(Value);

impl TaskData for AnyValue {
    fn type_name(&self) -> &str {
        "AnyValue"
    }

    fn serialize_data<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl TaskDecode for AnyValue {
    const TYPE_NAMES: &'static [&'static str] = &["AnyValue"];

    fn deserialize_data<'de, D: Deserializer<'de>>(
        type_name: &str,
        deserializer: D,
    ) -> Option<Result<Self, D::Error>> {
        (type_name == "AnyValue").then(|| Value::deserialize(deserializer).map(AnyValue))
    }
}

/// A hand-written task type that asks for an option at the top: never the
/// one-pass decode's case, always the two-step path's.
#[derive(Debug, Clone, PartialEq)]
struct MaybeValue(Option<Value>);

impl TaskData for MaybeValue {
    fn type_name(&self) -> &str {
        "MaybeValue"
    }

    fn serialize_data<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl TaskDecode for MaybeValue {
    const TYPE_NAMES: &'static [&'static str] = &["MaybeValue"];

    fn deserialize_data<'de, D: Deserializer<'de>>(
        type_name: &str,
        deserializer: D,
    ) -> Option<Result<Self, D::Error>> {
        (type_name == "MaybeValue").then(|| Option::deserialize(deserializer).map(MaybeValue))
    }
}

/// A task type whose data cannot be written.
#[derive(Debug)]
struct Unwritable;

impl TaskData for Unwritable {
    fn type_name(&self) -> &str {
        "Unwritable"
    }

    fn serialize_data<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom("cannot be written"))
    }
}

/// A hand-written task type whose decode fails with its own message.
#[derive(Debug, Clone, PartialEq)]
struct Refuses;

impl TaskData for Refuses {
    fn type_name(&self) -> &str {
        "Refuses"
    }

    fn serialize_data<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Map::new().serialize(serializer)
    }
}

impl TaskDecode for Refuses {
    const TYPE_NAMES: &'static [&'static str] = &["Refuses"];

    fn deserialize_data<'de, D: Deserializer<'de>>(
        type_name: &str,
        deserializer: D,
    ) -> Option<Result<Self, D::Error>> {
        (type_name == "Refuses").then(|| {
            Value::deserialize(deserializer)?;
            Err(D::Error::custom("refused on purpose"))
        })
    }
}

/// What decoding gave: the list, id and data, or the error's every field.
#[derive(Debug, PartialEq)]
enum Outcome<T> {
    Task(String, String, T),
    Error(String, String),
}

fn outcome<T: Clone>(result: taskrec::Result<Task<T>>) -> Outcome<T> {
    match result {
        Ok(task) => Outcome::Task(
            task.task_list().to_owned(),
            task.id().to_owned(),
            task.data().clone(),
        ),
        Err(e) => Outcome::Error(
            without_positions(&format!("{e:?}")),
            without_positions(&e.to_string()),
        ),
    }
}

/// An error's text with its positions blanked: `from_json` counts them in
/// the hash text, the two-step path in the data's own text.
fn without_positions(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(" at line ") {
        out.push_str(&rest[..at]);
        out.push_str(" at line _ column _");
        let after = &rest[at + " at line ".len()..];
        let after = after.trim_start_matches(|c: char| c.is_ascii_digit());
        let after = after.strip_prefix(" column ").unwrap_or(after);
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// Decodes `json` both ways, asserts they agree, and returns the outcome.
fn both<T: TaskDecode + Clone + PartialEq + Debug>(json: &str) -> Outcome<T> {
    let one = outcome(Task::<T>::from_json(json));
    let two = outcome(TaskHash::from_json(json).and_then(Task::<T>::from_hash));
    assert_eq!(one, two, "from_json and the two-step path differ on {json}");
    one
}

fn is_ok<T>(outcome: &Outcome<T>) -> bool {
    matches!(outcome, Outcome::Task(..))
}

fn error_kind<T>(outcome: &Outcome<T>) -> &str {
    match outcome {
        Outcome::Task(..) => "Ok",
        Outcome::Error(debug, _) => debug.split([' ', '(', '{']).next().unwrap(),
    }
}

fn ok<T: Debug>(outcome: &Outcome<T>) {
    assert!(is_ok(outcome), "{outcome:?}");
}

fn kind<T: Debug>(outcome: Outcome<T>, expected: &str) {
    assert_eq!(error_kind(&outcome), expected, "{outcome:?}");
}

/// The hash text of four values (JSON text each), in several key orders:
/// `type` before `data` (as taskrec writes it) and after it.
fn in_orders(task_list: &str, id: &str, type_name: &str, data: &str) -> Vec<String> {
    let (l, i, t, d) = (
        format!(r#""task_list":{task_list}"#),
        format!(r#""id":{id}"#),
        format!(r#""type":{type_name}"#),
        format!(r#""data":{data}"#),
    );
    [
        [&l, &i, &t, &d],
        [&t, &d, &l, &i],
        [&d, &t, &i, &l],
        [&l, &d, &i, &t],
        [&d, &l, &i, &t],
    ]
    .iter()
    .map(|keys| format!("{{{}}}", keys.map(String::as_str).join(",")))
    .collect()
}

/// Every order decodes the same, both ways; returns that one outcome.
fn all_orders<T: TaskDecode + Clone + PartialEq + Debug>(
    task_list: &str,
    id: &str,
    type_name: &str,
    data: &str,
) -> Outcome<T> {
    let mut outcomes = in_orders(task_list, id, type_name, data)
        .into_iter()
        .map(|json| both::<T>(&json));
    let first = outcomes.next().unwrap();
    for other in outcomes {
        // Errors found while reading the hash (say, a duplicate key) may
        // name another position; the kind is the same.
        match (&first, &other) {
            (Outcome::Task(..), _) | (_, Outcome::Task(..)) => assert_eq!(first, other),
            _ => assert_eq!(error_kind(&first), error_kind(&other)),
        }
    }
    first
}

#[test]
fn type_before_and_after_data_give_the_same_task() {
    let orders = in_orders(r#""l""#, r#""1""#, r#""Ping""#, r#"{"n":7}"#);
    let tasks: Vec<Task<Ping>> = orders
        .iter()
        .map(|json| Task::from_json(json).unwrap())
        .collect();
    for task in &tasks {
        assert_eq!(
            (task.task_list(), task.id(), task.data()),
            ("l", "1", &Ping { n: 7 })
        );
    }
    let note = all_orders::<Ball>(
        r#""l""#,
        r#""1""#,
        r#""Task::Tasks::Note""#,
        r#"{"text":"\u00e9\ud83d\ude00\n","at":null}"#,
    );
    assert_eq!(
        note,
        Outcome::Task(
            "l".into(),
            "1".into(),
            Ball::Note(Note {
                text: "é😀\n".into(),
                tags: vec![],
                at: None
            })
        )
    );
}

#[test]
fn decoded_tasks_agree_with_the_two_step_path() {
    ok(&all_orders::<Ping>(
        r#""l""#,
        r#""1""#,
        r#""Ping""#,
        r#"{"n":1}"#,
    ));
    ok(&all_orders::<Ball>(
        r#""l""#,
        r#""1""#,
        r#""Ping""#,
        r#"{"n":1}"#,
    ));
    // Escapes in the type name, the list and the id.
    ok(&all_orders::<Ball>(
        r#""l\n""#,
        r#""\u0031""#,
        r#""P\u0069ng""#,
        r#"{"n":1}"#,
    ));
    // Unknown keys in the data are skipped, even deeply nested ones.
    let deep = format!(r#"{{"n":1,"x":{}{}}}"#, "[".repeat(5000), "]".repeat(5000));
    ok(&all_orders::<Ping>(r#""l""#, r#""1""#, r#""Ping""#, &deep));
    ok(&all_orders::<Doc>(
        r#""l""#,
        r#""1""#,
        r#""Doc""#,
        r#"{"a":[1,{"b":null}],"":"e","n":-12.5e27,"type":"Ping"}"#,
    ));
    ok(&all_orders::<Empty>(r#""l""#, r#""1""#, r#""Empty""#, "{}"));
    ok(&all_orders::<AnyValue>(
        r#""l""#,
        r#""1""#,
        r#""AnyValue""#,
        r#"{"a":1}"#,
    ));
    // Not for the one-pass decode (an option at the top), decoded all the same.
    ok(&all_orders::<MaybeValue>(
        r#""l""#,
        r#""1""#,
        r#""MaybeValue""#,
        r#"{"a":1}"#,
    ));
    // Whitespace and unknown top-level keys anywhere.
    for json in [
        " \n{ \"type\" : \"Ping\" ,\t\"data\" : { \"n\" :\n 3 }, \"task_list\":\"l\",\"id\":\"1\"\r\n} \n",
        r#"{"x":[1,{"y":2}],"task_list":"l","x":null,"id":"1","type":"Ping","z":"","data":{"n":1},"w":{}}"#,
        r#"{"t\u0061sk_list":"l","id":"1","typ\u0065":"Ping","d\u0061ta":{"n":1}}"#,
    ] {
        ok(&both::<Ping>(json));
    }
}

#[test]
fn errors_agree_with_the_two_step_path() {
    let (l, i) = (r#""l""#, r#""1""#);
    // A bad field inside the data, in either order.
    kind(
        all_orders::<Ping>(l, i, r#""Ping""#, r#"{"n":"x"}"#),
        "InvalidData",
    );
    kind(
        all_orders::<Ping>(l, i, r#""Ping""#, r#"{"n":1,"n":2}"#),
        "InvalidData",
    );
    kind(all_orders::<Ping>(l, i, r#""Ping""#, "{}"), "InvalidData");
    kind(
        all_orders::<Ball>(l, i, r#""Ping""#, r#"{"n":-1}"#),
        "InvalidData",
    );
    kind(
        all_orders::<Note>(l, i, r#""Task::Tasks::Note""#, r#"{"text":"\udc00"}"#),
        "InvalidData",
    );
    kind(
        all_orders::<Refuses>(l, i, r#""Refuses""#, "{}"),
        "InvalidData",
    );
    // A type the decoding type does not know.
    kind(
        all_orders::<Ball>(l, i, r#""Pong""#, r#"{"n":1}"#),
        "UnknownType",
    );
    kind(
        all_orders::<Ping>(l, i, r#""Pong""#, r#"{"n":1}"#),
        "TypeMismatch",
    );
    kind(
        all_orders::<Ping>(l, i, r#""Doc""#, r#"{"n":"x"}"#),
        "TypeMismatch",
    );
    // Data that is not an object, even to a type serde would fill from it.
    for data in ["[1]", "[]", "null", "1", r#""{\"n\":1}""#, "true"] {
        kind(all_orders::<Ping>(l, i, r#""Ping""#, data), "InvalidHash");
        kind(all_orders::<Empty>(l, i, r#""Empty""#, data), "InvalidHash");
        kind(
            all_orders::<AnyValue>(l, i, r#""AnyValue""#, data),
            "InvalidHash",
        );
        kind(
            all_orders::<MaybeValue>(l, i, r#""MaybeValue""#, data),
            "InvalidHash",
        );
    }
    // Bad keys.
    kind(
        all_orders::<Ping>(r#""""#, i, r#""Ping""#, r#"{"n":1}"#),
        "InvalidTaskList",
    );
    kind(
        all_orders::<Ping>(l, r#""""#, r#""Ping""#, r#"{"n":1}"#),
        "InvalidId",
    );
    let long = format!(r#""{}""#, "x".repeat(4097));
    kind(
        all_orders::<Ping>(l, &long, r#""Ping""#, r#"{"n":1}"#),
        "InvalidId",
    );
    // The key is checked before the data and the type.
    kind(
        all_orders::<Ping>(l, r#""""#, r#""Pong""#, r#"{"n":"x"}"#),
        "InvalidId",
    );
    // Values of the wrong kind.
    kind(
        all_orders::<Ping>("1", i, r#""Ping""#, r#"{"n":1}"#),
        "InvalidHash",
    );
    kind(
        all_orders::<Ping>(l, "1", r#""Ping""#, r#"{"n":1}"#),
        "InvalidHash",
    );
    kind(
        all_orders::<Ping>(l, i, "null", r#"{"n":1}"#),
        "InvalidHash",
    );
    kind(
        all_orders::<Ping>(l, r#""\ud800""#, r#""Ping""#, r#"{"n":1}"#),
        "InvalidHash",
    );
    // Whole-text errors, some after a hash that would decode.
    for json in [
        "",
        "[]",
        r#"[{"task_list":"l","id":"1","type":"Ping","data":{"n":1}}]"#,
        r#"{"task_list":"l","id":"1","type":"Ping","data":{"n":1}} x"#,
        r#"{"task_list":"l","id":"1","type":"Ping","data":{"n":1},}"#,
        r#"{"task_list":"l","id":"1","type":"Ping","data":{"n":1}"#,
        r#"{"task_list":"l","id":"1","type":"Ping","data":{"n":1}}{}"#,
        r#"{"task_list":"l","id":"1","type":"Ping","data":{"n":1},"x":[}"#,
        "\u{feff}{\"task_list\":\"l\",\"id\":\"1\",\"type\":\"Ping\",\"data\":{\"n\":1}}",
    ] {
        kind(both::<Ping>(json), "InvalidHash");
    }
    // Missing and repeated keys, wherever they are.
    for json in [
        r#"{"id":"1","type":"Ping","data":{"n":1}}"#,
        r#"{"task_list":"l","type":"Ping","data":{"n":1}}"#,
        r#"{"task_list":"l","id":"1","data":{"n":1}}"#,
        r#"{"task_list":"l","id":"1","type":"Ping"}"#,
        r#"{"task_list":"l","task_list":"l","id":"1","type":"Ping","data":{"n":1}}"#,
        r#"{"task_list":"l","id":"1","id":"2","type":"Ping","data":{"n":1}}"#,
        r#"{"task_list":"l","id":"1","type":"Ping","type":"Ping","data":{"n":1}}"#,
        r#"{"task_list":"l","id":"1","type":"Ping","data":{"n":1},"type":"Ping"}"#,
        r#"{"task_list":"l","id":"1","type":"Ping","data":{"n":1},"data":{"n":2}}"#,
        r#"{"data":{"n":1},"task_list":"l","id":"1","data":{"n":2},"type":"Ping"}"#,
        // A repeated key after a bad value: the hash's error comes first.
        r#"{"task_list":"l","id":"1","type":"Ping","data":{"n":"x"},"id":"2"}"#,
        r#"{"task_list":"l","id":"1","type":"Pong","data":{"n":1},"id":"2"}"#,
    ] {
        kind(both::<Ping>(json), "InvalidHash");
    }
}

/// serde_json stops at 128 levels of nesting, counted from the start of the
/// text. Decoded in one pass, the data sits a level deeper than when the
/// two-step path decodes its text alone: at the limit, the one-pass decode
/// gives up and the two-step path decides.
#[test]
fn nesting_at_the_limit_agrees_with_the_two_step_path() {
    let mut outcomes = Vec::new();
    for depth in 120..132 {
        let data = format!(r#"{{"x":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        outcomes.push(all_orders::<Doc>(r#""l""#, r#""1""#, r#""Doc""#, &data));
    }
    let decoded = outcomes.iter().filter(|o| is_ok(o)).count();
    assert!(
        0 < decoded && decoded < outcomes.len(),
        "the depths tried cross the limit"
    );
}

// ---- to_json ----------------------------------------------------------------------------

/// `to_json` writes exactly what `as_hash` serializes to, and fails as its
/// `to_json` fails.
fn same_text<T: TaskData>(task: &Task<T>) -> String {
    let old = serde_json::to_string(&task.as_hash()).unwrap();
    assert_eq!(task.to_json().unwrap(), old);
    assert_eq!(task.as_hash().to_json().unwrap(), old);
    old
}

#[test]
fn to_json_writes_what_as_hash_writes() {
    let ping = Task::new("l", "i", Ping { n: 1 }).unwrap();
    assert_eq!(
        same_text(&ping),
        r#"{"task_list":"l","id":"i","type":"Ping","data":{"n":1}}"#
    );
    let note = Task::new(
        "a \"list\"\\\u{0}\u{1b}\u{2028}é",
        "id/😀\n",
        Ball::Note(Note {
            text: "\"quoted\"\t\u{7f}".into(),
            tags: vec!["a".into(), "".into()],
            at: Some("2020-01-01".into()),
        }),
    )
    .unwrap();
    same_text(&note);
    let mut rest = Map::new();
    rest.insert("type".into(), Value::from("Ping"));
    rest.insert("n".into(), Value::from(-12.5e27));
    rest.insert("nested".into(), serde_json::json!([1, {"b": null}]));
    same_text(&Task::new("l", "i", Doc { rest }).unwrap());
    same_text(&Task::new("l", "i", Empty {}).unwrap());
    same_text(&Task::new("l", "i", AnyValue(serde_json::json!([1, "x"]))).unwrap());

    // A task decoded through a registry writes its own type name.
    let mut registry = TaskRegistry::new();
    registry.register::<Ping>().unwrap();
    let json = ping.to_json().unwrap();
    let dynamic = registry
        .from_hash(TaskHash::from_json(&json).unwrap())
        .unwrap();
    assert_eq!(same_text(&dynamic), json);
    assert_eq!(Ping::TYPE_NAME, "Ping");
}

#[test]
fn to_json_fails_as_as_hash_fails() {
    let task = Task::new("l", "i", Unwritable).unwrap();
    let new = task.to_json().unwrap_err();
    let old = task.as_hash().to_json().unwrap_err();
    assert_eq!(format!("{new:?}"), format!("{old:?}"));
    assert_eq!(new.to_string(), old.to_string());
}

#[test]
fn to_json_round_trips_through_from_json() {
    let task = Task::new(
        "l",
        "i",
        Ball::Note(Note {
            text: "t".into(),
            tags: vec!["x".into()],
            at: None,
        }),
    )
    .unwrap();
    let back = Task::<Ball>::from_json(&task.to_json().unwrap()).unwrap();
    assert_eq!(
        (back.task_list(), back.id(), back.data()),
        (task.task_list(), task.id(), task.data())
    );
}
