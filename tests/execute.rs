//! Executing a list: successes are completed and gone, failures and
//! undecodable records stay for the next run, the concurrency bound holds,
//! the caller's context reaches each task; `CompositeTask` runs a child
//! list, and a task_rb CompositeTask record decodes as one.

#[path = "support/wrapper.rs"]
mod wrapper;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use taskrec::adapter::StorageAdapter;
use taskrec::{
    execute_list, BoxError, CompositeTask, Error, Execute, ExecuteOutcome, ExecutedTask, KeyError,
    MemoryAdapter, Task, TaskData, TaskHash, TaskKey, TaskRecord, TaskStore, TaskType,
};
use wrapper::{Call, Method, Wrapped};

/// What the tasks need from their caller, and what they report back.
#[derive(Debug, Default)]
struct Ctx {
    greeting: String,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    runs: Mutex<BTreeMap<u32, usize>>,
    heard: Mutex<Vec<String>>,
}

#[derive(Debug, PartialEq, Eq)]
struct WorkFailed {
    n: u32,
}

impl std::fmt::Display for WorkFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "work {} failed", self.n)
    }
}

impl std::error::Error for WorkFailed {}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Work {
    n: u32,
    #[task(default)]
    fail: bool,
    #[task(default)]
    sleep_ms: u64,
}

#[async_trait]
impl Execute<Ctx> for Work {
    async fn execute(&self, ctx: &Ctx) -> Result<(), BoxError> {
        let now = ctx.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        ctx.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if self.sleep_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.sleep_ms)).await;
        }
        *ctx.runs.lock().unwrap().entry(self.n).or_default() += 1;
        ctx.heard
            .lock()
            .unwrap()
            .push(format!("{} {}", ctx.greeting, self.n));
        ctx.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.fail {
            return Err(Box::new(WorkFailed { n: self.n }));
        }
        Ok(())
    }
}

/// A task run with the default context, `()`.
#[derive(Debug, Clone, PartialEq, TaskData)]
struct Noop {}

#[async_trait]
impl Execute for Noop {
    async fn execute(&self, _: &()) -> Result<(), BoxError> {
        Ok(())
    }
}

fn work(n: u32, fail: bool) -> Work {
    Work {
        n,
        fail,
        sleep_ms: 0,
    }
}

async fn save_work(store: &TaskStore<impl StorageAdapter>, list: &str, data: Work) {
    let id = format!("w{:03}", data.n);
    store
        .save(&Task::new(list, id, data).unwrap())
        .await
        .unwrap();
}

fn by_id(mut outcomes: Vec<ExecutedTask>) -> Vec<ExecutedTask> {
    outcomes.sort_by(|a, b| a.key.id.cmp(&b.key.id));
    outcomes
}

#[tokio::test]
async fn successes_are_completed_and_failures_stay() {
    let store = TaskStore::new(MemoryAdapter::new());
    save_work(&store, "jobs", work(1, false)).await;
    save_work(&store, "jobs", work(2, true)).await;
    save_work(&store, "jobs", work(3, false)).await;
    save_work(&store, "other", work(4, false)).await;
    let ctx = Ctx::default();

    let outcomes = by_id(
        execute_list::<Work, _, _>(&store, "jobs", &ctx, 4)
            .await
            .unwrap(),
    );
    assert_eq!(outcomes.len(), 3);
    assert_eq!(outcomes[0].key, TaskKey::new("jobs", "w001"));
    assert!(matches!(outcomes[0].outcome, ExecuteOutcome::Completed));
    assert!(outcomes[0].outcome.is_completed());
    match &outcomes[1].outcome {
        ExecuteOutcome::Failed(e) => {
            assert_eq!(outcomes[1].key, TaskKey::new("jobs", "w002"));
            assert_eq!(e.downcast_ref::<WorkFailed>(), Some(&WorkFailed { n: 2 }));
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(!outcomes[1].outcome.is_completed());
    assert!(matches!(outcomes[2].outcome, ExecuteOutcome::Completed));

    // The completed ones are gone; the failure is left for the next run.
    assert_eq!(store.count("jobs").await.unwrap(), 1);
    assert_eq!(
        store
            .find::<Work>("jobs", "w002")
            .await
            .unwrap()
            .unwrap()
            .data(),
        &work(2, true)
    );
    // Another list is untouched.
    assert_eq!(store.count("other").await.unwrap(), 1);
    assert_eq!(
        *ctx.runs.lock().unwrap(),
        BTreeMap::from([(1, 1), (2, 1), (3, 1)])
    );

    // The next run finds exactly the failure again: at least once.
    let again = execute_list::<Work, _, _>(&store, "jobs", &ctx, 4)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].key, TaskKey::new("jobs", "w002"));
    assert!(matches!(again[0].outcome, ExecuteOutcome::Failed(_)));
    assert_eq!(ctx.runs.lock().unwrap()[&2], 2);
}

#[tokio::test]
async fn an_undecodable_record_is_reported_and_left_in_place() {
    let store = TaskStore::new(MemoryAdapter::new());
    save_work(&store, "jobs", work(1, false)).await;
    let bad = TaskRecord::new("jobs", "w002", "Work", r#"{"n":"two"}"#).unwrap();
    let foreign = TaskRecord::new("jobs", "w003", "Rename", "{}").unwrap();
    store.adapter().store(&bad).await.unwrap();
    store.adapter().store(&foreign).await.unwrap();
    let ctx = Ctx::default();

    let outcomes = by_id(
        execute_list::<Work, _, _>(&store, "jobs", &ctx, 2)
            .await
            .unwrap(),
    );
    assert_eq!(outcomes.len(), 3);
    assert!(matches!(outcomes[0].outcome, ExecuteOutcome::Completed));
    match &outcomes[1].outcome {
        ExecuteOutcome::Undecodable(Error::InvalidData {
            type_name,
            path,
            task,
            ..
        }) => {
            assert_eq!(type_name, "Work");
            assert_eq!(path.trim_start_matches('.'), "n");
            assert_eq!(task, &Some(TaskKey::new("jobs", "w002")));
        }
        other => panic!("expected Undecodable(InvalidData), got {other:?}"),
    }
    match &outcomes[2].outcome {
        ExecuteOutcome::Undecodable(Error::TypeMismatch {
            expected,
            found,
            task,
        }) => {
            assert_eq!((expected.as_str(), found.as_str()), ("Work", "Rename"));
            assert_eq!(task, &Some(TaskKey::new("jobs", "w003")));
        }
        other => panic!("expected Undecodable(TypeMismatch), got {other:?}"),
    }

    // Both records are still there, unchanged.
    assert_eq!(store.count("jobs").await.unwrap(), 2);
    assert_eq!(
        store
            .find_record("jobs", "w002")
            .await
            .unwrap()
            .unwrap()
            .data(),
        bad.data()
    );
    assert_eq!(
        store
            .find_record("jobs", "w003")
            .await
            .unwrap()
            .unwrap()
            .type_name(),
        "Rename"
    );
    assert_eq!(*ctx.runs.lock().unwrap(), BTreeMap::from([(1, 1)]));
}

#[tokio::test]
async fn the_concurrency_bound_is_respected() {
    for (bound, expected_max) in [(1, 1), (3, 3), (0, 1)] {
        let store = TaskStore::new(MemoryAdapter::new());
        for n in 0..12 {
            save_work(
                &store,
                "jobs",
                Work {
                    n,
                    fail: false,
                    sleep_ms: 5,
                },
            )
            .await;
        }
        let ctx = Ctx::default();
        let outcomes = execute_list::<Work, _, _>(&store, "jobs", &ctx, bound)
            .await
            .unwrap();
        assert_eq!(outcomes.len(), 12);
        assert!(outcomes.iter().all(|o| o.outcome.is_completed()));
        let max = ctx.max_in_flight.load(Ordering::SeqCst);
        assert!(max <= expected_max, "bound {bound}: {max} in flight");
        // With every task sleeping, the bound is also reached.
        assert_eq!(max, expected_max, "bound {bound}");
        assert_eq!(store.count("jobs").await.unwrap(), 0);
    }
}

#[tokio::test]
async fn the_context_reaches_execute() {
    let store = TaskStore::new(MemoryAdapter::new());
    save_work(&store, "jobs", work(7, false)).await;
    let ctx = Ctx {
        greeting: "hello".into(),
        ..Ctx::default()
    };
    execute_list::<Work, _, _>(&store, "jobs", &ctx, 1)
        .await
        .unwrap();
    assert_eq!(*ctx.heard.lock().unwrap(), ["hello 7"]);
}

#[tokio::test]
async fn unit_context_and_empty_or_invalid_lists() {
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(&Task::new("n", "1", Noop {}).unwrap())
        .await
        .unwrap();
    let outcomes = execute_list::<Noop, _, _>(&store, "n", &(), 2)
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 1);
    assert!(outcomes[0].outcome.is_completed());

    let none = execute_list::<Noop, _, _>(&store, "empty", &(), 2)
        .await
        .unwrap();
    assert_eq!(none.len(), 0);

    assert!(matches!(
        execute_list::<Noop, _, _>(&store, "", &(), 2).await,
        Err(Error::InvalidTaskList {
            reason: KeyError::Empty
        })
    ));
}

/// Forwards to a memory adapter, serving at most `max_page` records a page
/// (`execute_list` lists with `all`, here the trait's default, which walks
/// those short pages), and counting deletes.
fn short_pages(max_page: usize) -> Wrapped {
    Wrapped::new()
        .max_page(max_page)
        .trait_defaults(&[Method::All])
}

/// `method` fails with a storage error of the adapter "flaky".
fn refused(method: Method, message: &'static str) -> impl Fn(&Call<'_>) -> Option<Error> {
    move |call| {
        (call.method == method).then(|| Error::storage("flaky", std::io::Error::other(message)))
    }
}

#[tokio::test]
async fn every_task_of_a_many_page_list_runs_exactly_once_while_completing() {
    let store = TaskStore::new(short_pages(7));
    for n in 0..100 {
        save_work(&store, "jobs", work(n, n % 2 == 1)).await;
    }
    let ctx = Ctx::default();
    let outcomes = execute_list::<Work, _, _>(&store, "jobs", &ctx, 5)
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 100);
    let completed = outcomes.iter().filter(|o| o.outcome.is_completed()).count();
    assert_eq!(completed, 50);
    {
        let runs = ctx.runs.lock().unwrap();
        assert_eq!(runs.len(), 100);
        assert!(runs.values().all(|&n| n == 1), "{runs:?}");
    }
    assert_eq!(store.count("jobs").await.unwrap(), 50);
    assert_eq!(store.adapter().calls(Method::Delete), 50);
}

#[tokio::test]
async fn a_failed_delete_is_not_completed_and_the_record_stays() {
    let store =
        TaskStore::new(short_pages(10).fail_when(refused(Method::Delete, "delete refused")));
    save_work(&store, "jobs", work(1, false)).await;
    let ctx = Ctx::default();
    let outcomes = execute_list::<Work, _, _>(&store, "jobs", &ctx, 1)
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 1);
    match &outcomes[0].outcome {
        ExecuteOutcome::NotCompleted(Error::Storage { adapter, source }) => {
            assert_eq!(*adapter, "flaky");
            assert_eq!(source.to_string(), "delete refused");
        }
        other => panic!("expected NotCompleted(Storage), got {other:?}"),
    }
    assert_eq!(ctx.runs.lock().unwrap()[&1], 1, "the work ran");
    assert_eq!(store.count("jobs").await.unwrap(), 1);
}

#[tokio::test]
async fn a_failed_listing_fails_the_run() {
    let store = TaskStore::new(short_pages(10).fail_when(refused(Method::Page, "listing refused")));
    save_work(&store, "jobs", work(1, false)).await;
    match execute_list::<Work, _, _>(&store, "jobs", &Ctx::default(), 1).await {
        Err(Error::Storage { adapter, .. }) => assert_eq!(adapter, "flaky"),
        other => panic!("expected Storage, got {other:?}"),
    }
}

// ---- CompositeTask ---------------------------------------------------------

#[tokio::test]
async fn composite_task_runs_its_child_list() {
    let store = TaskStore::new(MemoryAdapter::new());
    let parent = Task::new("parents", "p1", CompositeTask::new("kids")).unwrap();
    store.save(&parent).await.unwrap();
    for n in 0..4 {
        save_work(&store, "kids", work(n, n == 3)).await;
    }
    save_work(&store, "not-kids", work(9, false)).await;

    let found = store
        .find::<CompositeTask>("parents", "p1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.data(), &CompositeTask::new("kids"));
    let ctx = Ctx::default();
    let outcomes = by_id(
        found
            .data()
            .run_children::<Work, _, _>(&store, &ctx, 2)
            .await
            .unwrap(),
    );
    assert_eq!(outcomes.len(), 4);
    let keys: Vec<String> = outcomes.iter().map(|o| o.key.id.clone()).collect();
    assert_eq!(keys, ["w000", "w001", "w002", "w003"]);
    assert!(outcomes.iter().all(|o| o.key.task_list == "kids"));
    assert_eq!(
        outcomes.iter().filter(|o| o.outcome.is_completed()).count(),
        3
    );
    assert!(matches!(outcomes[3].outcome, ExecuteOutcome::Failed(_)));
    assert_eq!(store.count("kids").await.unwrap(), 1);
    assert_eq!(store.count("not-kids").await.unwrap(), 1);
    assert_eq!(store.count("parents").await.unwrap(), 1, "the parent stays");
}

#[test]
fn composite_task_is_stored_in_task_rbs_shape() {
    assert_eq!(CompositeTask::TYPE_NAME, "Task::Tasks::CompositeTask");
    let task = Task::new("parents", "p1", CompositeTask::new("kids")).unwrap();
    assert_eq!(
        serde_json::to_value(task.as_hash()).unwrap(),
        serde_json::json!({
            "task_list": "parents",
            "id": "p1",
            "type": "Task::Tasks::CompositeTask",
            "data": {"child_task_list": "kids"},
        })
    );
}

#[tokio::test]
async fn a_task_rb_composite_task_record_decodes_as_composite_task() {
    let store = TaskStore::new(MemoryAdapter::new());
    let record = TaskRecord::new(
        "parents",
        "from-ruby",
        "Task::Tasks::CompositeTask",
        r#"{"child_task_list":"kids"}"#,
    )
    .unwrap();
    store.adapter().store(&record).await.unwrap();

    let task = store
        .find::<CompositeTask>("parents", "from-ruby")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.data(), &CompositeTask::new("kids"));
    assert_eq!(task.data().child_task_list, "kids");

    // The same as a hash handed over by task_rb.
    let hash = TaskHash::from_json(
        r#"{"task_list":"parents","id":"from-ruby","data":{"child_task_list":"kids"},"type":"Task::Tasks::CompositeTask"}"#,
    )
    .unwrap();
    let task: Task<CompositeTask> = Task::from_hash(hash).unwrap();
    assert_eq!(task.data(), &CompositeTask::new("kids"));

    // And a record of a bad child list value names the field.
    let bad = TaskRecord::new(
        "parents",
        "bad",
        "Task::Tasks::CompositeTask",
        r#"{"child_task_list":42}"#,
    )
    .unwrap();
    store.adapter().store(&bad).await.unwrap();
    match store.find::<CompositeTask>("parents", "bad").await {
        Err(Error::InvalidData {
            type_name,
            path,
            task,
            ..
        }) => {
            assert_eq!(type_name, "Task::Tasks::CompositeTask");
            assert_eq!(path.trim_start_matches('.'), "child_task_list");
            assert_eq!(task, Some(TaskKey::new("parents", "bad")));
        }
        other => panic!("expected InvalidData, got {other:?}"),
    }
}

#[tokio::test]
async fn composite_run_shares_one_store_across_clones() {
    // A store is cheap to clone: a run through a clone completes in the same storage.
    let store = TaskStore::new(MemoryAdapter::new());
    for n in 0..3 {
        save_work(&store, "kids", work(n, false)).await;
    }
    let clone = store.clone();
    let ctx = Arc::new(Ctx::default());
    let outcomes = CompositeTask::new("kids")
        .run_children::<Work, _, _>(&clone, &*ctx, 3)
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 3);
    assert_eq!(store.count("kids").await.unwrap(), 0);
}

/// What another process does while a task runs: saves a newer version of
/// the same task (same list and id, new data).
#[derive(Debug, Clone, PartialEq, TaskData)]
struct Versioned {
    version: u32,
}

#[async_trait]
impl Execute<TaskStore<MemoryAdapter>> for Versioned {
    async fn execute(&self, store: &TaskStore<MemoryAdapter>) -> Result<(), BoxError> {
        if self.version == 1 {
            store
                .save(&Task::new("jobs", "v", Versioned { version: 2 })?)
                .await?;
        }
        Ok(())
    }
}

/// `execute_list` completes by key, as task_rb does and as its docs say: a
/// version saved while the task ran is deleted with it. The worker is the
/// safe path (tests/worker.rs: a_version_saved_while_a_worker_ran_the_task_survives).
#[tokio::test]
async fn execute_list_completes_by_key_as_documented() {
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(&Task::new("jobs", "v", Versioned { version: 1 }).unwrap())
        .await
        .unwrap();
    let outcomes = execute_list::<Versioned, _, _>(&store, "jobs", &store, 1)
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 1);
    assert!(outcomes[0].outcome.is_completed());
    assert_eq!(store.find::<Versioned>("jobs", "v").await.unwrap(), None);
}
