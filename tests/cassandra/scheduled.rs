//! Scheduled tasks against the real server: a task saved to run an hour
//! ahead is listed and counted as scheduled and not run while a worker
//! serves its list; one saved to run seconds ahead is run after its time,
//! within a few of the worker's idle polls; each save wrote its ready hint
//! due at its time, which sweeps read when it comes (no walk needed).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use taskrec::cassandra::CassandraAdapter;
use taskrec::{BoxError, Execute, Task, TaskData, TaskStatus, TaskStore, Worker, WorkerConfig};

use crate::utils::{bucketed, keyspace, raw_session, run, unique_list};

#[derive(Debug, Clone, TaskData)]
struct Alarm {
    name: String,
}

/// What the worker saw: each alarm's name and the cluster's time when it
/// started.
struct Ledger {
    store: TaskStore<CassandraAdapter>,
    started: Mutex<Vec<(String, DateTime<Utc>)>>,
}

#[async_trait::async_trait]
impl Execute<Ledger> for Alarm {
    async fn execute(&self, ledger: &Ledger) -> Result<(), BoxError> {
        let now = ledger.store.now().await?;
        ledger
            .started
            .lock()
            .unwrap()
            .push((self.name.clone(), now));
        Ok(())
    }
}

/// The due times (µs) of the ready hints of `id` in the slice of `at`.
async fn hints_of(list: &str, id: &str, at: DateTime<Utc>) -> Vec<i64> {
    let due = at.timestamp_micros();
    let slice_micros = i64::try_from(taskrec::cassandra::ready::HINT_SLICE.as_micros()).unwrap();
    let shard = taskrec::cassandra::shard_of(id, taskrec::cassandra::ready::SHARDS) as i32;
    let cql = format!(
        "SELECT due, id FROM {}.tasks_ready WHERE task_list = ? AND slice = ? AND shard = ?",
        keyspace()
    );
    let rows = raw_session()
        .await
        .query_unpaged(cql, (list, due.div_euclid(slice_micros), shard))
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    rows.rows::<(i64, String)>()
        .unwrap()
        .map(Result::unwrap)
        .filter(|(_, hinted)| hinted == id)
        .map(|(due, _)| due)
        .collect()
}

fn alarm(list: &str, name: &str) -> Task<Alarm> {
    Task::build(
        list,
        Alarm {
            name: name.to_owned(),
        },
    )
    .unwrap()
}

#[test]
fn a_task_scheduled_ahead_waits_for_its_time_and_runs_within_a_few_polls_of_it() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("scheduled");
        let now = store.now().await.unwrap();
        let in_an_hour = alarm(&list, "in an hour");
        store
            .save_scheduled(&in_an_hour, now + TimeDelta::hours(1))
            .await
            .unwrap();
        let soon = alarm(&list, "soon");
        store
            .save_delayed(&soon, Duration::from_secs(6))
            .await
            .unwrap();
        store.save(&alarm(&list, "now")).await.unwrap();
        let soon_at = store
            .state(&list, soon.id())
            .await
            .unwrap()
            .unwrap()
            .not_before
            .expect("a delayed save sets not_before");
        let counts = store.count_by_status(&list).await.unwrap();
        assert_eq!(
            (counts.scheduled, counts.pending, counts.total()),
            (2, 1, 3),
            "{counts:?}"
        );
        // What makes it cheap: each scheduled save wrote its ready hint due
        // at its time, where a sweep reaching that time reads it (no walk
        // of the list needed to find it).
        for (task, at) in [(&soon, soon_at), (&in_an_hour, now + TimeDelta::hours(1))] {
            assert_eq!(
                hints_of(&list, task.id(), at).await,
                [at.timestamp_micros()],
                "{}'s hint is due at its time",
                task.data().name
            );
        }

        let idle_poll = Duration::from_secs(1);
        let worker = Worker::new(
            store.clone(),
            WorkerConfig::new("alarms").idle_poll(idle_poll),
        );
        let stop = worker.stop_handle();
        let ledger = std::sync::Arc::new(Ledger {
            store: store.clone(),
            started: Mutex::new(Vec::new()),
        });
        let serving = {
            let (ledger, list) = (ledger.clone(), list.clone());
            tokio::spawn(async move { worker.serve::<Alarm, _>(&[&list], &*ledger).await })
        };
        let ran = |name: &str| {
            ledger
                .started
                .lock()
                .unwrap()
                .iter()
                .find(|(n, _)| n == name)
                .cloned()
        };
        let waiting = Instant::now();
        while ran("soon").is_none() {
            assert!(
                waiting.elapsed() < Duration::from_secs(120),
                "the task scheduled 6 s ahead did not run in 120 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // A few polls more: the task an hour ahead must still wait.
        tokio::time::sleep(idle_poll * 3).await;
        stop.stop();
        let report = serving.await.unwrap().unwrap();
        assert_eq!(report.succeeded, 2, "{report:?}");

        let (_, started) = ran("soon").unwrap();
        assert!(
            started >= soon_at,
            "run at {started}, before its time {soon_at}"
        );
        let late = (started - soon_at).to_std().unwrap();
        assert!(
            late < idle_poll * 15,
            "run {late:?} after its time; the worker polls every {idle_poll:?}"
        );
        assert!(ran("now").is_some(), "the task saved plainly ran");
        assert!(
            ran("in an hour").is_none(),
            "the task an hour ahead ran early"
        );

        let state = store.state(&list, in_an_hour.id()).await.unwrap().unwrap();
        assert_eq!((state.status, state.attempts), (TaskStatus::Pending, 0));
        let counts = store.count_by_status(&list).await.unwrap();
        assert_eq!(
            (counts.scheduled, counts.total()),
            (1, 1),
            "the one left is still scheduled: {counts:?}"
        );
        let page = store
            .page_by_status(&list, TaskStatus::Scheduled, None, 10)
            .await
            .unwrap();
        let ids: Vec<&str> = page.tasks.iter().map(|t| t.record.id()).collect();
        assert_eq!(ids, [in_an_hour.id()]);
    });
}
