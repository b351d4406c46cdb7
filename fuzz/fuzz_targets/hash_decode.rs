//! Hash decoding: arbitrary text through `TaskHash::from_json`, then into a
//! typed task (a single type, an enum, the registry), and as a
//! `serde_json::Value` hash. Nothing may panic, and whatever decodes must
//! survive its own round trip: to JSON and back gives the same data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskrec::{DataRef, Task, TaskData, TaskDecode, TaskHash};

#[path = "types.rs"]
mod types;
use types::{Ball, Doc, Note, Ping};

fn round_trip<T: TaskDecode + PartialEq + std::fmt::Debug>(hash: TaskHash) {
    if let Ok(task) = Task::<T>::from_hash(hash) {
        let json = task.to_json().expect("a decoded task encodes");
        let back = Task::<T>::from_json(&json).expect("an encoded task decodes");
        assert_eq!(back.data(), task.data());
        assert_eq!((back.task_list(), back.id()), (task.task_list(), task.id()));
    }
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(hash) = TaskHash::from_json(text) {
        round_trip::<Ping>(hash.clone());
        round_trip::<Note>(hash.clone());
        round_trip::<Doc>(hash.clone());
        round_trip::<Ball>(hash.clone());
        let registry = types::registry();
        if let Ok(task) = registry.from_hash(hash.clone()) {
            let json = serde_json::to_string(&DataRef(task.data())).unwrap();
            let again = registry
                .decode_json(task.type_name(), &json)
                .expect("what the registry decoded, it decodes again");
            assert_eq!(again.dyn_type_name(), task.type_name());
        }
        if let Ok(record) = hash.into_record() {
            let _ = record.to_hash();
        }
    }
    // The same text as a tree, the form other serde formats give.
    if let Ok(hash) = serde_json::from_str::<TaskHash<serde_json::Value>>(text) {
        let _ = Task::<Ball>::from_hash(hash.clone());
        let _ = types::registry().from_hash(hash);
    }
});
