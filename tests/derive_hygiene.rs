//! The generated code names everything by absolute path, and reaches taskrec
//! by the path given in `#[task(crate = "...")]`: it compiles where no
//! prelude is in scope and where the user's names shadow the usual ones.

/// How a crate that depends on taskrec only through another crate sees it.
mod reexport {
    pub use ::taskrec as tr;
}

mod no_prelude {
    #![no_implicit_prelude]

    pub fn three() -> u32 {
        3
    }

    #[derive(Debug, PartialEq, crate::reexport::tr::TaskData)]
    #[task(crate = "crate::reexport::tr", type_name = "Hygiene::Fetch")]
    pub struct Fetch {
        /// A doc comment.
        pub filename: ::std::string::String,
        #[task(rename = "retryCount", default = "self::three")]
        pub retries: u32,
        #[task(default)]
        pub attempts: u32,
        pub note: ::core::option::Option<::std::string::String>,
        #[task(skip)]
        pub cache: ::std::vec::Vec<u8>,
        #[task(extra)]
        pub rest: ::std::collections::BTreeMap<::std::string::String, ::serde_json::Value>,
    }

    #[derive(Debug, PartialEq, crate::reexport::tr::TaskData)]
    #[task(crate = "crate::reexport::tr")]
    pub struct Ping {}

    #[derive(Debug, PartialEq, crate::reexport::tr::TaskData)]
    #[task(crate = "crate::reexport::tr")]
    pub enum Jobs {
        Fetch(Fetch),
        Ping(Ping),
    }
}

/// User items named like the prelude's and serde's must not be picked up.
#[allow(dead_code, non_camel_case_types)]
mod shadowing {
    pub struct Result;
    pub struct Ok;
    pub struct Err;
    pub struct Some;
    pub struct None;
    pub trait Default {}
    pub trait Serialize {}
    pub trait Deserialize {}
    pub trait Serializer {}
    pub trait Deserializer {}
    pub trait TaskData {}
    pub mod serde {}
    pub mod core {}
    pub mod taskrec {}
    pub mod __private {}
    pub struct __TaskDataSer;
    pub struct __TaskDataDe;
    pub struct __S;
    pub struct __D;
    pub struct __A;
    pub struct __Visitor;
    pub struct FieldKey;
    pub trait ExtraMap {}
    pub trait MapAccess {}

    #[derive(::taskrec::TaskData)]
    pub struct Shadowed {
        pub a: ::std::string::String,
        pub b: ::std::option::Option<u8>,
        #[task(default)]
        pub c: u8,
        #[task(skip)]
        pub d: u8,
    }

    #[derive(::taskrec::TaskData)]
    pub enum ShadowedJobs {
        Shadowed(Shadowed),
    }

    /// Field names like the generated visitor's own names.
    #[derive(::taskrec::TaskData)]
    pub struct ShadowedExtra {
        pub __map: u8,
        pub __key: ::std::option::Option<u8>,
        pub __field0: u8,
        #[task(extra)]
        pub __value: ::std::collections::BTreeMap<::std::string::String, ::taskrec::RawJson>,
    }
}

/// A task type declared by a `macro_rules!` macro, its field types handed
/// in as fragments (which carry the macro's hygiene).
macro_rules! declare_task {
    ($name:ident { $field:ident: $ty:ty, extra: $extra:ty }) => {
        #[derive(Debug, taskrec::TaskData)]
        struct $name {
            $field: $ty,
            #[task(extra)]
            rest: $extra,
        }
    };
}

declare_task!(FromMacro {
    size: u128,
    extra: std::collections::BTreeMap<String, taskrec::RawJson>
});

#[test]
fn a_task_type_declared_by_a_macro_decodes() {
    let value: FromMacro = decode(
        "FromMacro",
        r#"{"size":340282366920938463463374607431768211455,"x":1.50}"#,
    );
    assert_eq!(value.size, u128::MAX);
    assert_eq!(value.rest["x"].get(), "1.50");
}

#[test]
fn visitor_names_do_not_clash_with_field_names() {
    let value: shadowing::ShadowedExtra =
        decode("ShadowedExtra", r#"{"__map":1,"__field0":2,"other":[3]}"#);
    assert_eq!((value.__map, value.__key, value.__field0), (1, None, 2));
    assert_eq!(value.__value["other"].get(), "[3]");
}

use serde_json::json;
use taskrec::{DataRef, TaskData, TaskDecode, TaskType};

fn decode<T: TaskDecode>(type_name: &str, json: &str) -> T {
    T::deserialize_data(type_name, &mut serde_json::Deserializer::from_str(json))
        .expect("the type name is known")
        .expect("the data decodes")
}

#[test]
fn a_reexported_crate_path_works_without_a_prelude() {
    use no_prelude::{Fetch, Jobs, Ping};

    assert_eq!(Fetch::TYPE_NAME, "Hygiene::Fetch");
    assert_eq!(Jobs::TYPE_NAMES, &["Hygiene::Fetch", "Ping"]);

    let stored = json!({"filename": "a", "unknown": [1]});
    let fetch: Fetch = decode("Hygiene::Fetch", &stored.to_string());
    assert_eq!(
        (fetch.retries, fetch.attempts, fetch.note.as_deref()),
        (3, 0, None)
    );
    let encoded: serde_json::Value = serde_json::to_value(DataRef(&fetch)).unwrap();
    assert_eq!(
        encoded,
        json!({"filename": "a", "retryCount": 3, "attempts": 0, "unknown": [1]})
    );

    let job: Jobs = decode("Ping", "{}");
    assert_eq!(job, Jobs::Ping(Ping {}));
    assert_eq!(job.type_name(), "Ping");
}

#[test]
fn user_items_do_not_shadow_generated_names() {
    use shadowing::{Shadowed, ShadowedJobs};

    let value: Shadowed = decode("Shadowed", r#"{"a":"x","d":9}"#);
    assert_eq!(
        (value.a.as_str(), value.b, value.c, value.d),
        ("x", None, 0, 0)
    );
    assert_eq!(
        serde_json::to_string(&DataRef(&value)).unwrap(),
        r#"{"a":"x","c":0}"#
    );
    assert_eq!(ShadowedJobs::TYPE_NAMES, &["Shadowed"]);
}
