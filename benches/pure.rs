//! Criterion benches of taskrec's pure code, each beside the hand-written
//! serde or std code it must stay close to:
//!
//! - `hash`: a task to hash JSON text and back (`as_hash`, `from_hash`)
//!   against a plain `#[derive(Serialize, Deserialize)]` struct with the same
//!   four keys;
//! - `data_json`: a task's data to the stored record's JSON text and back
//!   (`to_record`, `from_record`) against serde_json on the struct alone;
//! - `derive`: the code `#[derive(TaskData)]` generates against serde's own
//!   derive on the same struct;
//! - `memory`: the memory adapter against a bare `RwLock<HashMap>` holding
//!   the same records.
//!
//! `cargo bench --bench pure` (a run takes about a minute);
//! `bench/criterion_ratios.py` prints the ratios from criterion's estimates.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::RwLock;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use taskrec::adapter::StorageAdapter;
use taskrec::{DataRef, MemoryAdapter, Task, TaskData, TaskDecode, TaskHash, TaskRecord};

/// The harness's task type (bench/src/payload.rs): about 240 bytes of JSON.
/// Both derives on one struct: the two encodings write the same text.
#[derive(Debug, Clone, PartialEq, TaskData, Serialize, Deserialize)]
#[task(ignore_serde)]
struct FetchFile {
    external_host: String,
    filename: String,
    size: u64,
    retries: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checksum: Option<String>,
    tags: Vec<String>,
}

fn data() -> FetchFile {
    FetchFile {
        external_host: "files.example.com".to_owned(),
        filename: "exports/2024/11/customer-4711/backup-0001.tar.zst".to_owned(),
        size: 7_340_032,
        retries: 0,
        checksum: Some(
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_owned(),
        ),
        tags: vec!["nightly".to_owned(), "eu-west".to_owned()],
    }
}

fn task() -> Task<FetchFile> {
    Task::new("datto.com", "task-000000042", data()).expect("a valid key")
}

/// What a user without taskrec would hand to another process: the same
/// four keys task_rb's `as_hash` has, in a plain serde struct.
#[derive(Debug, Serialize, Deserialize)]
struct PlainHash {
    task_list: String,
    id: String,
    #[serde(rename = "type")]
    type_name: String,
    data: FetchFile,
}

fn plain_hash() -> PlainHash {
    PlainHash {
        task_list: "datto.com".to_owned(),
        id: "task-000000042".to_owned(),
        type_name: "FetchFile".to_owned(),
        data: data(),
    }
}

fn hash(c: &mut Criterion) {
    let mut group = c.benchmark_group("hash");
    let task = task();
    let plain = plain_hash();
    let json = task.to_json().expect("encodes");
    assert_eq!(json, serde_json::to_string(&plain).expect("encodes"));

    group.bench_function("taskrec/to_json", |b| {
        b.iter(|| serde_json::to_string(&black_box(&task).as_hash()).expect("encodes"))
    });
    // Task::to_json: the one call a sender makes, without as_hash's copies.
    group.bench_function("taskrec/to_json_direct", |b| {
        b.iter(|| black_box(&task).to_json().expect("encodes"))
    });
    group.bench_function("serde/to_json", |b| {
        b.iter(|| serde_json::to_string(black_box(&plain)).expect("encodes"))
    });
    group.bench_function("taskrec/from_json", |b| {
        b.iter(|| {
            let hash = TaskHash::from_json(black_box(&json)).expect("a hash");
            Task::<FetchFile>::from_hash(hash).expect("a task")
        })
    });
    // Task::from_json: the one call a receiver makes; one pass when `type`
    // comes before `data`, as every encoder here writes it.
    group.bench_function("taskrec/from_json_direct", |b| {
        b.iter(|| Task::<FetchFile>::from_json(black_box(&json)).expect("a task"))
    });
    group.bench_function("serde/from_json", |b| {
        b.iter(|| serde_json::from_str::<PlainHash>(black_box(&json)).expect("a hash"))
    });
    group.bench_function("taskrec/round_trip", |b| {
        b.iter(|| {
            let json = serde_json::to_string(&black_box(&task).as_hash()).expect("encodes");
            Task::<FetchFile>::from_hash(TaskHash::from_json(&json).expect("a hash"))
                .expect("a task")
        })
    });
    // The same through the one-call JSON API a sender and receiver use.
    group.bench_function("taskrec/round_trip_json", |b| {
        b.iter(|| {
            let json = black_box(&task).to_json().expect("encodes");
            Task::<FetchFile>::from_json(&json).expect("a task")
        })
    });
    group.bench_function("serde/round_trip", |b| {
        b.iter(|| {
            let json = serde_json::to_string(black_box(&plain)).expect("encodes");
            serde_json::from_str::<PlainHash>(&json).expect("a hash")
        })
    });
    group.finish();
}

fn data_json(c: &mut Criterion) {
    let mut group = c.benchmark_group("data_json");
    let task = task();
    let value = data();
    let record = task.to_record().expect("encodes");
    let text = record.data().to_owned();

    group.bench_function("taskrec/to_record", |b| {
        b.iter(|| black_box(&task).to_record().expect("encodes"))
    });
    group.bench_function("serde/to_string", |b| {
        b.iter(|| serde_json::to_string(black_box(&value)).expect("encodes"))
    });
    // from_record consumes its record: the clone is made outside the timing.
    group.bench_function("taskrec/from_record", |b| {
        b.iter_batched(
            || record.clone(),
            |record| Task::<FetchFile>::from_record(record).expect("decodes"),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("serde/from_str", |b| {
        b.iter(|| serde_json::from_str::<FetchFile>(black_box(&text)).expect("decodes"))
    });
    group.finish();
}

fn derive(c: &mut Criterion) {
    let mut group = c.benchmark_group("derive");
    let value = data();
    let text = serde_json::to_string(&value).expect("encodes");

    group.bench_function("task_data/serialize", |b| {
        b.iter(|| serde_json::to_string(&DataRef(black_box(&value))).expect("encodes"))
    });
    group.bench_function("serde/serialize", |b| {
        b.iter(|| serde_json::to_string(black_box(&value)).expect("encodes"))
    });
    group.bench_function("task_data/deserialize", |b| {
        b.iter(|| {
            let mut de = serde_json::Deserializer::from_str(black_box(&text));
            let value = FetchFile::deserialize_data("FetchFile", &mut de)
                .expect("the type name matches")
                .expect("decodes");
            de.end().expect("nothing after the object");
            value
        })
    });
    group.bench_function("serde/deserialize", |b| {
        b.iter(|| serde_json::from_str::<FetchFile>(black_box(&text)).expect("decodes"))
    });
    group.finish();
}

/// How many records each store holds while it is measured.
const RECORDS: usize = 10_000;

/// The baseline: one lock around one map from key to the same record.
#[derive(Default)]
struct BareMap {
    records: RwLock<HashMap<(String, String), TaskRecord>>,
}

impl BareMap {
    fn store(&self, record: &TaskRecord) {
        let key = (record.task_list().to_owned(), record.id().to_owned());
        let record = record.clone();
        self.records
            .write()
            .expect("not poisoned")
            .insert(key, record);
    }

    fn find(&self, task_list: &str, id: &str) -> Option<TaskRecord> {
        // A tuple of Strings is looked up with a tuple of Strings: the key is
        // built per call, as a caller holding two &str must.
        let key = (task_list.to_owned(), id.to_owned());
        self.records
            .read()
            .expect("not poisoned")
            .get(&key)
            .cloned()
    }
}

fn memory(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory");
    let json = serde_json::to_string(&data()).expect("encodes");
    let records: Vec<TaskRecord> = (0..RECORDS)
        .map(|i| {
            TaskRecord::new(
                "datto.com",
                format!("task-{i:09}"),
                "FetchFile",
                json.as_str(),
            )
        })
        .collect::<Result<_, _>>()
        .expect("valid records");
    let adapter = MemoryAdapter::new();
    let bare = BareMap::default();
    for record in &records {
        adapter
            .store(record)
            .now_or_never()
            .expect("ready")
            .expect("stored");
        bare.store(record);
    }
    // The adapter's futures never wait: now_or_never polls each once.
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 7919) % RECORDS;
        i
    };

    group.bench_function("adapter/store", |b| {
        b.iter(|| {
            let record = &records[next()];
            adapter
                .store(black_box(record))
                .now_or_never()
                .expect("ready")
                .expect("stored")
        })
    });
    group.bench_function("bare_map/store", |b| {
        b.iter(|| bare.store(black_box(&records[next()])))
    });
    group.bench_function("adapter/find", |b| {
        b.iter(|| {
            let record = &records[next()];
            adapter
                .find(black_box(record.task_list()), black_box(record.id()))
                .now_or_never()
                .expect("ready")
                .expect("found")
                .expect("present")
        })
    });
    group.bench_function("bare_map/find", |b| {
        b.iter(|| {
            let record = &records[next()];
            bare.find(black_box(record.task_list()), black_box(record.id()))
                .expect("present")
        })
    });
    group.finish();
}

fn config() -> Criterion {
    // Two cores shared with other work: short, fixed runs.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = hash, data_json, derive, memory
}
criterion_main!(benches);
