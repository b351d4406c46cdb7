//! The spans and events taskrec reports, seen by a subscriber that records
//! them: the store's and the memory adapter's spans with their fields, and
//! a worker's claims and attempts with the events of their outcomes.

#![cfg(feature = "worker")]

#[path = "support/capture.rs"]
mod capture;
#[path = "support/wrapper.rs"]
mod wrapper;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tracing::instrument::WithSubscriber;
use tracing::Level;

use capture::Captured;
use taskrec::{Backoff, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
use wrapper::{Method, Wrapped};

#[derive(Debug, TaskData)]
struct Job {
    n: u32,
}

fn quick_backoff() -> Backoff {
    Backoff::new(Duration::from_millis(1), 1.0, Duration::from_millis(1))
}

#[tokio::test]
async fn save_find_and_claim_spans_carry_the_task_and_the_operation() {
    let captured = Captured::default();
    async {
        let store = TaskStore::new(MemoryAdapter::new());
        store
            .save(&Task::new("traced", "t1", Job { n: 1 }).unwrap())
            .await
            .unwrap();
        store.find::<Job>("traced", "t1").await.unwrap().unwrap();
        let claim = store
            .claim("traced", "t1", "w1", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        store.fail(claim, "broken").await.unwrap();
    }
    .with_subscriber(captured.dispatch())
    .await;

    let save = &captured.named("taskrec.save")[0];
    assert_eq!(save.level, Level::DEBUG);
    assert_eq!(save.field("task_list"), Some("traced"));
    assert_eq!(save.field("task.id"), Some("t1"));
    assert_eq!(save.field("task.type"), Some("Job"));
    let find = &captured.named("taskrec.find")[0];
    assert_eq!(
        (find.field("task_list"), find.field("task.id")),
        (Some("traced"), Some("t1"))
    );

    // The adapter's spans, each inside the store's where the store made the call.
    let memory = captured.named("taskrec.memory");
    let ops: Vec<&str> = memory
        .iter()
        .map(|s| s.field("db.operation.name").unwrap())
        .collect();
    assert_eq!(ops, ["save", "find", "load_state", "claim", "change_state"]);
    for span in &memory {
        assert_eq!(span.field("db.system.name"), Some("memory"), "{span:?}");
        assert_eq!(span.field("task_list"), Some("traced"), "{span:?}");
        assert_eq!(span.field("task.id"), Some("t1"), "{span:?}");
        assert_eq!(span.level, Level::DEBUG);
    }
    assert_eq!(memory[0].parents, ["taskrec.save"]);
    assert_eq!(memory[1].parents, ["taskrec.find"]);
}

#[tokio::test]
async fn each_attempt_is_a_span_and_its_outcome_an_event_in_it() {
    let captured = Captured::default();
    let store = TaskStore::new(MemoryAdapter::new());
    store
        .save(&Task::new("attempts", "flaky", Job { n: 1 }).unwrap())
        .await
        .unwrap();
    store
        .save(&Task::new("attempts", "broken", Job { n: 2 }).unwrap())
        .await
        .unwrap();
    let tries = AtomicU32::new(0);
    let config = WorkerConfig::new("worker-7")
        .concurrency(1)
        .max_attempts(2)
        .backoff(quick_backoff());
    let worker = Worker::new(store, config);
    let report = worker
        .drain_with::<Job, _>("attempts", |task| {
            let n = task.data().n;
            let first = n == 1 && tries.fetch_add(1, Ordering::SeqCst) == 0;
            Box::pin(async move {
                tracing::info!(n, "working");
                if n == 2 || first {
                    Err(format!("job {n} broke").into())
                } else {
                    Ok(None)
                }
            })
        })
        .with_subscriber(captured.dispatch())
        .await
        .unwrap();
    assert_eq!((report.succeeded, report.retried, report.failed), (1, 2, 1));

    let attempts = captured.named("taskrec.attempt");
    let mut seen: Vec<(String, String, String)> = attempts
        .iter()
        .map(|span| {
            assert_eq!(span.level, Level::INFO);
            assert_eq!(span.field("task_list"), Some("attempts"));
            assert_eq!(span.field("task.type"), Some("Job"));
            assert_eq!(span.field("owner"), Some("worker-7"));
            (
                span.field("task.id").unwrap().to_owned(),
                span.field("attempt").unwrap().to_owned(),
                span.field("outcome").unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    let expected = [
        ("broken", "1", "retried"),
        ("broken", "2", "failed"),
        ("flaky", "1", "retried"),
        ("flaky", "2", "succeeded"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(seen, expected);

    let claims = captured.named("taskrec.claim");
    assert_eq!(claims.len(), 4);
    assert!(claims.iter().all(|c| c.field("result") == Some("won")));
    assert!(claims.iter().all(|c| c.field("owner") == Some("worker-7")));

    let events = captured.events();
    // The handler's own events are inside its attempt's span.
    let working: Vec<_> = events
        .iter()
        .filter(|e| e.field("message") == Some("working"))
        .collect();
    assert_eq!(working.len(), 4);
    assert!(working
        .iter()
        .all(|e| e.spans.first() == Some(&"taskrec.attempt")));
    let retries: Vec<_> = events
        .iter()
        .filter(|e| e.level == Level::WARN && e.spans.first() == Some(&"taskrec.attempt"))
        .collect();
    assert_eq!(retries.len(), 2, "{events:#?}");
    assert!(retries.iter().all(|e| e.field("next_attempt_at").is_some()));
    let mut errors: Vec<&str> = retries.iter().map(|e| e.field("error").unwrap()).collect();
    errors.sort();
    assert_eq!(errors, ["job 1 broke", "job 2 broke"]);
    let failures: Vec<_> = events.iter().filter(|e| e.level == Level::ERROR).collect();
    assert_eq!(failures.len(), 1, "{events:#?}");
    assert_eq!(failures[0].field("error"), Some("job 2 broke"));
    assert_eq!(failures[0].field("message"), Some("task failed for good"));
}

#[tokio::test]
async fn a_storage_error_in_a_pass_is_an_error_event() {
    // Keeps records, but every state read fails; the sweep is the trait's
    // default, which reads each task's state.
    let flaky = Wrapped::new()
        .trait_defaults(&[Method::NextReady])
        .fail_when(|call| {
            (call.method == Method::LoadState)
                .then(|| taskrec::Error::storage("flaky", "node down"))
        });

    let captured = Captured::default();
    let store = TaskStore::new(flaky);
    store
        .save(&Task::new("errors", "e1", Job { n: 1 }).unwrap())
        .await
        .unwrap();
    let worker = Worker::new(store, WorkerConfig::new("w").error_limit(2));
    let err = worker
        .drain::<Job, _>("errors", &())
        .with_subscriber(captured.dispatch())
        .await;
    assert!(err.is_err());
    let errors: Vec<_> = captured
        .events()
        .into_iter()
        .filter(|e| e.level == Level::ERROR)
        .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(errors[0].field("task_list"), Some("errors"));
    let error = errors[0].field("error").unwrap();
    assert!(error.contains("node down"), "{error}");
}

#[async_trait::async_trait]
impl taskrec::Execute for Job {
    async fn execute(&self, _: &()) -> Result<(), taskrec::BoxError> {
        Ok(())
    }
}
