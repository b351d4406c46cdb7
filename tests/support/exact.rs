//! Numbers survive exactly: data holding integers beyond 64 bits and
//! decimals beyond an `f64`, in typed `u128`/`i128` fields, in an
//! `#[task(extra)]` map of `RawJson` and in `CompositeTask`'s extra keys,
//! comes back byte for byte through a store (save, find, the registry,
//! save_all, listing) and through the hash form. Run on every backend.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use taskrec::{CompositeTask, RawJson, Task, TaskData, TaskHash, TaskRegistry, TaskStore};

#[derive(Debug, Clone, PartialEq, TaskData)]
pub struct Measure {
    pub big: u128,
    pub small: i128,
    #[task(extra)]
    pub rest: BTreeMap<String, RawJson>,
}

/// The data of each case, written in the order taskrec writes it (declared
/// fields first, then the extra keys sorted), so that byte-identical is the
/// right expectation. Inside a value, spacing is the arrival's own.
pub const MEASURE_DATA: &str = concat!(
    r#"{"big":340282366920938463463374607431768211455,"#,
    r#""small":-170141183460469231731687303715884105728,"#,
    r#""amount":123456789012345678901234567890,"#,
    r#""list":[1e400, -0.0, 1.50, 0.30000000000000000000000000001],"#,
    r#""nested":{"n":18446744073709551616,"m":-9223372036854775809},"#,
    r#""ratio":0.1000000000000000000000000001}"#
);

pub const COMPOSITE_DATA: &str = concat!(
    r#"{"child_task_list":"children","#,
    r#""owner":"backup","#,
    r#""run":123456789012345678901234567890,"#,
    r#""weight":2.50000000000000000000000001}"#
);

fn hash_text(task_list: &str, id: &str, type_name: &str, data: &str) -> String {
    format!(r#"{{"task_list":"{task_list}","id":"{id}","type":"{type_name}","data":{data}}}"#)
}

/// Runs every exact round trip against `store`, in lists named after
/// `prefix`; panics naming the backend and the path that changed the data.
pub async fn check_round_trips(backend: &str, store: &TaskStore, prefix: &str) {
    let list = format!("{prefix}_exact");
    let measure = hash_text(&list, "m1", "Measure", MEASURE_DATA);
    let composite = hash_text(&list, "c1", "Task::Tasks::CompositeTask", COMPOSITE_DATA);

    // The hash form, in memory: text in, text out.
    let task: Task<Measure> = Task::from_json(&measure).expect("the measure hash decodes");
    assert_eq!(task.data().big, u128::MAX);
    assert_eq!(task.data().small, i128::MIN);
    assert_eq!(
        task.data().rest["amount"].get(),
        "123456789012345678901234567890"
    );
    assert_eq!(task.to_json().unwrap(), measure, "to_json of Measure");
    let from_hash: Task<Measure> =
        Task::from_hash(TaskHash::from_json(&measure).unwrap()).expect("from_hash");
    assert_eq!(
        serde_json::to_string(&from_hash.as_hash()).unwrap(),
        measure,
        "as_hash of Measure"
    );
    let composite_task: Task<CompositeTask> =
        Task::from_json(&composite).expect("the composite hash decodes");
    assert_eq!(
        composite_task.to_json().unwrap(),
        composite,
        "to_json of CompositeTask"
    );

    // Through the store: save, find, the record, the registry, a listing.
    store.save(&task).await.unwrap();
    store.save(&composite_task).await.unwrap();
    let found: Task<Measure> = store
        .find(&list, "m1")
        .await
        .unwrap()
        .expect("m1 is stored");
    assert_eq!(
        found.to_json().unwrap(),
        measure,
        "{backend}: find of Measure"
    );
    let record = store.find_record(&list, "m1").await.unwrap().unwrap();
    assert_eq!(
        record.data(),
        MEASURE_DATA,
        "{backend}: the stored data text"
    );
    let found: Task<CompositeTask> = store.find(&list, "c1").await.unwrap().unwrap();
    assert_eq!(
        found.to_json().unwrap(),
        composite,
        "{backend}: find of CompositeTask"
    );

    let mut registry = TaskRegistry::new();
    registry.register::<Measure>().unwrap();
    registry.register::<CompositeTask>().unwrap();
    let dynamic = store
        .find_registered(&registry, &list, "m1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        dynamic.to_json().unwrap(),
        measure,
        "{backend}: find_registered of Measure"
    );
    let mut listed: Vec<String> = store
        .all_registered(&registry, &list)
        .map_ok(|task| task.to_json().unwrap())
        .try_collect()
        .await
        .unwrap();
    listed.sort();
    assert_eq!(
        listed,
        vec![composite.clone(), measure.clone()],
        "{backend}: all_registered"
    );

    // save_all writes by partition: the same text.
    let many: Vec<Task<Measure>> = (0..3)
        .map(|n| task.clone().with_id(format!("many{n}")).unwrap())
        .collect();
    assert_eq!(store.save_all(&many, 4).await.unwrap(), 3);
    for n in 0..3 {
        let id = format!("many{n}");
        let record = store.find_record(&list, &id).await.unwrap().unwrap();
        assert_eq!(record.data(), MEASURE_DATA, "{backend}: save_all of {id}");
    }
}
