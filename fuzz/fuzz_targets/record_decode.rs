//! Record decoding: a stored record with an arbitrary type name and data
//! text, decoded as a single type, an enum and through the registry, and
//! turned into a hash. Nothing may panic; a decoding error names the record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskrec::{Error, Task, TaskDecode, TaskKey, TaskRecord};

#[path = "types.rs"]
mod types;
use types::{Ball, Doc, Note, Ping};

const NAMES: [&str; 4] = ["Ping", "Task::Tasks::Note", "Doc", "Pong"];

fn decode<T: TaskDecode>(record: &TaskRecord) {
    if let Err(e) = Task::<T>::from_record(record.clone()) {
        match e {
            Error::UnknownType { task, .. }
            | Error::TypeMismatch { task, .. }
            | Error::InvalidData { task, .. } => {
                assert_eq!(
                    task,
                    Some(TaskKey::new("l", "i")),
                    "the error names the record"
                );
            }
            other => panic!("unexpected error from a record: {other:?}"),
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    // The first byte picks a known type name (or, from 4 on, takes the text
    // up to the first NUL as the name); the rest is the data column.
    let Some((&pick, rest)) = bytes.split_first() else {
        return;
    };
    let Ok(rest) = std::str::from_utf8(rest) else {
        return;
    };
    let (type_name, data) = match NAMES.get(usize::from(pick)) {
        Some(name) => (*name, rest),
        None => rest.split_once('\0').unwrap_or(("", rest)),
    };
    let record = TaskRecord::new("l", "i", type_name, data).expect("a valid key");
    decode::<Ping>(&record);
    decode::<Note>(&record);
    decode::<Doc>(&record);
    decode::<Ball>(&record);
    let _ = types::registry().decode_record(record.clone());
    if let Ok(hash) = record.to_hash() {
        // As stored, but for JSON whitespace around it, which RawValue trims.
        let trimmed = data.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        assert_eq!(hash.data.get(), trimmed, "the hash keeps the data text");
        let _ = Task::<Ball>::from_hash(hash);
    }
});
