//! The Cassandra adapter's spans against the real server: each call a
//! `taskrec.cassandra` span with OpenTelemetry's database fields, inside the
//! store's span or the worker's claim and attempt.

use std::time::Duration;

use tracing::instrument::WithSubscriber;

use crate::capture::{Captured, SpanData};
use crate::utils::{bucketed, keyspace, run, unique_list};
use taskrec::{Task, TaskData, TaskStore, Worker, WorkerConfig};

#[derive(Debug, TaskData)]
struct Traced {
    n: u32,
}

/// The adapter's spans for `db.operation.name` `op`.
fn calls<'a>(spans: &'a [SpanData], op: &str) -> Vec<&'a SpanData> {
    spans
        .iter()
        .filter(|s| s.name == "taskrec.cassandra" && s.field("db.operation.name") == Some(op))
        .collect()
}

#[test]
fn every_call_is_a_span_with_the_database_fields() {
    run(async {
        let captured = Captured::default();
        let list = unique_list("traced");
        async {
            let store = TaskStore::new(bucketed().await);
            store
                .save(&Task::new(&list, "t1", Traced { n: 1 }).unwrap())
                .await
                .unwrap();
            store.find::<Traced>(&list, "t1").await.unwrap().unwrap();
            assert_eq!(store.count(&list).await.unwrap(), 1);
            let claim = store
                .claim(&list, "t1", "w1", Duration::from_secs(30))
                .await
                .unwrap()
                .unwrap();
            assert!(store.succeed(claim, None, false).await.unwrap());
            store
                .save(&Task::new(&list, "t2", Traced { n: 2 }).unwrap())
                .await
                .unwrap();
            let worker = Worker::new(store.clone(), WorkerConfig::new("w2"));
            let report = worker
                .drain_with::<Traced, _>(&list, |_| Box::pin(async { Ok(None) }))
                .await
                .unwrap();
            assert_eq!(report.succeeded, 1);
        }
        .with_subscriber(captured.dispatch())
        .await;

        let spans = captured.spans();
        for op in [
            "save",
            "find",
            "count",
            "load_state",
            "claim",
            "complete",
            "next_ready",
        ] {
            let found = calls(&spans, op);
            assert!(!found.is_empty(), "no `{op}` span in {spans:#?}");
            for span in found {
                assert_eq!(span.field("db.system.name"), Some("cassandra"), "{span:?}");
                assert_eq!(span.field("db.namespace"), Some(keyspace()), "{span:?}");
                assert_eq!(span.field("db.collection.name"), Some("tasks"), "{span:?}");
                assert_eq!(span.field("otel.kind"), Some("client"), "{span:?}");
                assert_eq!(
                    span.field("cassandra.consistency.level"),
                    Some("local_quorum"),
                    "{span:?}"
                );
                assert_eq!(span.field("task_list"), Some(list.as_str()), "{span:?}");
                assert_eq!(span.field("error.type"), None, "{span:?}");
            }
        }
        let saves = calls(&spans, "save");
        assert_eq!(saves.len(), 2);
        assert_eq!(saves[0].field("task.id"), Some("t1"));
        assert_eq!(saves[0].parents.first(), Some(&"taskrec.save"));
        assert_eq!(
            calls(&spans, "find")[0].parents.first(),
            Some(&"taskrec.find")
        );

        // The worker's claim of t2 is inside its claim span; its completion
        // inside the attempt.
        let claims = calls(&spans, "claim");
        let by_worker: Vec<_> = claims
            .iter()
            .filter(|s| s.field("task.id") == Some("t2"))
            .collect();
        assert_eq!(by_worker.len(), 1, "{claims:#?}");
        assert_eq!(by_worker[0].parents.first(), Some(&"taskrec.claim"));
        let completions: Vec<_> = calls(&spans, "complete")
            .into_iter()
            .filter(|s| s.field("task.id") == Some("t2"))
            .collect();
        assert_eq!(completions[0].parents.first(), Some(&"taskrec.attempt"));
        let attempt = &captured.named("taskrec.attempt")[0];
        assert_eq!(attempt.field("task.id"), Some("t2"));
        assert_eq!(attempt.field("attempt"), Some("1"));
        assert_eq!(attempt.field("owner"), Some("w2"));
        assert_eq!(attempt.field("outcome"), Some("succeeded"));
    });
}

/// Each Cassandra call is timed in `taskrec_operation_duration_seconds`,
/// labelled by its operation: one sample per call, read back from a
/// recorder (on a runtime of this thread, so that tests beside it do not
/// count here).
#[test]
fn every_call_is_timed_by_operation() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use taskrec::observe::OPERATION_DURATION_SECONDS;

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let list = unique_list("timed");
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let store = TaskStore::new(bucketed().await);
            store
                .save(&Task::new(&list, "t1", Traced { n: 1 }).unwrap())
                .await
                .unwrap();
            store.find::<Traced>(&list, "t1").await.unwrap().unwrap();
            store.find::<Traced>(&list, "t2").await.unwrap();
            assert_eq!(store.count(&list).await.unwrap(), 1);
        })
    });
    let mut samples = std::collections::BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        if key.key().name() != OPERATION_DURATION_SECONDS {
            continue;
        }
        let operation = key
            .key()
            .labels()
            .find(|label| label.key() == "operation")
            .map(|label| label.value().to_owned())
            .expect("an operation label");
        let DebugValue::Histogram(values) = value else {
            panic!("{operation}: not a histogram");
        };
        assert!(
            values.iter().all(|v| v.into_inner() >= 0.0),
            "{operation}: {values:?}"
        );
        samples.insert(operation, values.len());
    }
    let expected: std::collections::BTreeMap<String, usize> =
        [("save", 1), ("find", 2), ("count", 1)]
            .into_iter()
            .map(|(op, n)| (op.to_owned(), n))
            .collect();
    assert_eq!(samples, expected);
}
