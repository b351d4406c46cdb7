//! Unique tasks against the real server: producers racing to save the same
//! ids make exactly one task each, listed once and run once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use futures::TryStreamExt;
use taskrec::cassandra::CassandraAdapter;
use taskrec::{BoxError, Execute, Task, TaskData, TaskStore, Unique, Worker, WorkerConfig};

use crate::utils::{bucketed, run, unique_list};

#[derive(Debug, Clone, TaskData)]
struct Order {
    order: u32,
    producer: u32,
}

#[async_trait::async_trait]
impl Execute<AtomicU32> for Order {
    async fn execute(&self, runs: &AtomicU32) -> Result<(), BoxError> {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

const PRODUCERS: u32 = 16;
const ORDERS: u32 = 200;

/// Saves every order, in an order of its own, and says which it saved.
async fn produce(store: TaskStore<CassandraAdapter>, list: String, producer: u32) -> Vec<u32> {
    let mut saved = Vec::new();
    // Each producer starts at another order, so that most keys are raced
    // by some producers at the same moment and found taken by the others.
    for step in 0..ORDERS {
        let order = (step + producer * 7) % ORDERS;
        let task = Task::new(
            &list,
            format!("order-{order:03}"),
            Order { order, producer },
        )
        .unwrap();
        match store.save_unique(&task).await.unwrap() {
            Unique::Saved => saved.push(order),
            Unique::Taken => {}
        }
    }
    saved
}

#[test]
fn sixteen_producers_racing_on_the_same_ids_make_exactly_one_task_each() {
    run(async {
        let list = unique_list("unique");
        // Four connections, four producers on each.
        let mut adapters = Vec::new();
        for _ in 0..4 {
            adapters.push(Arc::new(bucketed().await));
        }
        let producers = (0..PRODUCERS).map(|producer| {
            let store = TaskStore::from_arc(Arc::clone(&adapters[producer as usize % 4]));
            tokio::spawn(produce(store, list.clone(), producer))
        });
        let mut winner = BTreeMap::new();
        for (producer, saved) in futures::future::try_join_all(producers)
            .await
            .unwrap()
            .into_iter()
            .enumerate()
        {
            for order in saved {
                let first = winner.insert(order, producer as u32);
                assert!(first.is_none(), "order {order} saved by two producers");
            }
        }
        assert_eq!(winner.len(), ORDERS as usize, "every order saved once");

        let store = TaskStore::from_arc(Arc::clone(&adapters[0]));
        assert_eq!(store.count(&list).await.unwrap(), u64::from(ORDERS));
        let listed: Vec<Task<Order>> = store.all(&list).try_collect().await.unwrap();
        let ids: BTreeSet<&str> = listed.iter().map(|t| t.id()).collect();
        assert_eq!(ids.len(), ORDERS as usize, "each listed once");
        for task in &listed {
            assert_eq!(
                task.data().producer,
                winner[&task.data().order],
                "the stored task is the one whose save was answered Saved"
            );
        }

        let runs = AtomicU32::new(0);
        let worker = Worker::new(store.clone(), WorkerConfig::new("orders").concurrency(16));
        let report = worker.drain::<Order, _>(&list, &runs).await.unwrap();
        assert_eq!(
            (report.succeeded, runs.load(Ordering::SeqCst)),
            (u64::from(ORDERS), ORDERS),
            "each run once: {report:?}"
        );
        assert_eq!(store.count(&list).await.unwrap(), 0);
    });
}
