//! Three nodes, replication factor 3, QUORUM reads and writes, the driver's
//! default retry policy, on a cluster of the test's own (`own_node`):
//!
//! - one node killed (kill -9) during 20,000 saves: no call fails, nothing
//!   is lost;
//! - a second node killed: saves fail with the server's Unavailable error
//!   (or a write timeout until the last node notices), each within the
//!   request timeout;
//! - both restarted: every acknowledged save reads back at QUORUM.
//!
//! Minutes, and three JVMs: ignored, run on demand (docs/RELIABILITY.md):
//!
//! ```sh
//! cargo test --release --all-features --test cassandra cluster:: -- --ignored --nocapture
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use taskrec::cassandra::{CassandraAdapter, CassandraConfig, Consistency, Replication, Retry};
use taskrec::{Error, Task, TaskData, TaskStore};

use crate::own_node::OwnNode;
use crate::utils::{chain, run};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Unit {
    n: u32,
}

const SAVES: u32 = 20_000;
const CONCURRENCY: u32 = 64;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const LIST: &str = "quorum";

fn id(n: u32) -> String {
    format!("q{n:05}")
}

/// What the server answered, in short, for the report.
fn kind(err: &Error) -> String {
    let Error::Storage { source, .. } = err else {
        return format!("{err}");
    };
    match source.downcast_ref::<ExecutionError>() {
        Some(ExecutionError::LastAttemptError(RequestAttemptError::DbError(db, _))) => match db {
            DbError::Unavailable {
                consistency,
                required,
                alive,
            } => format!("Unavailable {{ consistency: {consistency:?}, required: {required}, alive: {alive} }}"),
            other => format!("{other:?}"),
        },
        Some(other) => other.to_string().chars().take(120).collect(),
        None => chain(err).chars().take(120).collect(),
    }
}

#[test]
#[ignore = "three nodes of its own, minutes: run on demand (docs/RELIABILITY.md)"]
fn three_nodes_at_quorum_lose_nothing_and_refuse_clearly() {
    run(async {
        let started = Instant::now();
        let cluster = OwnNode::start_cluster(3, &[]).await;
        println!("cluster: 3 nodes up in {:.1?}", started.elapsed());
        let config = CassandraConfig::new((1..=3).map(|k| cluster.address_of(k)), "taskrec_quorum")
            .create_schema(true)
            .replication(Replication::Simple(3))
            .read_consistency(Consistency::Quorum)
            .write_consistency(Consistency::Quorum)
            .retry(Retry::Default)
            .request_timeout(REQUEST_TIMEOUT);
        let store = Arc::new(TaskStore::new(
            CassandraAdapter::connect(config)
                .await
                .unwrap_or_else(|e| panic!("connecting: {}", chain(&e))),
        ));

        // 20,000 saves; node 3 is killed once 5,000 are acknowledged.
        let next = Arc::new(AtomicU32::new(0));
        let acked = Arc::new(AtomicU32::new(0));
        let failures = Arc::new(Mutex::new(Vec::<(u32, String)>::new()));
        let slowest = Arc::new(Mutex::new(Duration::ZERO));
        let load_started = Instant::now();
        let workers: Vec<_> = (0..CONCURRENCY)
            .map(|_| {
                let (store, next, acked, failures, slowest) = (
                    Arc::clone(&store),
                    Arc::clone(&next),
                    Arc::clone(&acked),
                    Arc::clone(&failures),
                    Arc::clone(&slowest),
                );
                tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        if n >= SAVES {
                            return;
                        }
                        let task = Task::new(LIST, id(n), Unit { n }).unwrap();
                        let at = Instant::now();
                        let result = store.save(&task).await;
                        let took = at.elapsed();
                        {
                            let mut slowest = slowest.lock().unwrap();
                            *slowest = (*slowest).max(took);
                        }
                        match result {
                            Ok(()) => {
                                acked.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) => failures.lock().unwrap().push((n, chain(&e))),
                        }
                    }
                })
            })
            .collect();
        while acked.load(Ordering::SeqCst) < 5_000 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let killed_at_acked = acked.load(Ordering::SeqCst);
        cluster.kill_node(3).await;
        let killed = Instant::now();
        for worker in workers {
            worker.await.unwrap();
        }
        let load_took = load_started.elapsed();
        let one_down_for = killed.elapsed();
        let failures = failures.lock().unwrap().clone();
        let slowest_one_down = *slowest.lock().unwrap();
        println!(
            "one node down: {SAVES} saves in {load_took:.1?}, node 3 killed after {killed_at_acked} \
             acknowledged and down for the last {one_down_for:.1?} of them; {} acknowledged, {} failed, \
             slowest call {slowest_one_down:.0?}",
            acked.load(Ordering::SeqCst),
            failures.len()
        );
        assert!(
            failures.is_empty(),
            "calls failed with one node down: {:?}",
            &failures[..failures.len().min(5)]
        );

        // A second node killed: QUORUM (2 of 3) cannot be met. Saves for 30 s:
        // each fails within the request timeout, and once the last node has
        // noticed, with Unavailable.
        cluster.kill_node(2).await;
        let two_down = Instant::now();
        let mut kinds: BTreeMap<String, u32> = BTreeMap::new();
        let mut read_kinds: BTreeMap<String, u32> = BTreeMap::new();
        let mut slowest_two_down = Duration::ZERO;
        let mut first_unavailable = None;
        let mut attempted = Vec::new();
        let mut n = SAVES;
        while two_down.elapsed() < Duration::from_secs(30) {
            let task = Task::new(LIST, id(n), Unit { n }).unwrap();
            attempted.push(n);
            n += 1;
            let at = Instant::now();
            let result = store.save(&task).await;
            slowest_two_down = slowest_two_down.max(at.elapsed());
            match result {
                Ok(()) => panic!("a QUORUM save succeeded with two of three nodes down"),
                Err(e) => {
                    let kind = kind(&e);
                    if kind.starts_with("Unavailable") && first_unavailable.is_none() {
                        first_unavailable = Some(two_down.elapsed());
                    }
                    *kinds.entry(kind).or_default() += 1;
                }
            }
            let at = Instant::now();
            let read = store.find::<Unit>(LIST, &id(0)).await;
            slowest_two_down = slowest_two_down.max(at.elapsed());
            match read {
                Ok(_) => panic!("a QUORUM read succeeded with two of three nodes down"),
                Err(e) => *read_kinds.entry(kind(&e)).or_default() += 1,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!(
            "two nodes down: {} saves and as many finds over 30 s, all failed: saves {kinds:?}, \
             finds {read_kinds:?}; first Unavailable after {first_unavailable:.1?}; slowest call \
             {slowest_two_down:.0?} (request timeout {REQUEST_TIMEOUT:?})",
            attempted.len()
        );
        // Each failure is the server's own answer (Unavailable once the live
        // node has noticed the others are down; its timeout before that) or,
        // for reads, whose server timeout equals ours, the request timeout.
        let unavailable = "Unavailable { consistency: Quorum, required: 2, alive: 1 }";
        assert!(
            kinds.contains_key(unavailable),
            "no Unavailable error: {kinds:?}"
        );
        assert!(
            read_kinds.contains_key(unavailable),
            "no Unavailable error: {read_kinds:?}"
        );
        for kind in kinds.keys().chain(read_kinds.keys()) {
            assert!(
                kind == unavailable
                    || kind.starts_with("WriteTimeout")
                    || kind.starts_with("ReadTimeout")
                    || kind.starts_with("Request execution exceeded a client timeout"),
                "neither the server's answer nor the request timeout: {kind}"
            );
        }
        assert!(slowest_two_down <= REQUEST_TIMEOUT + Duration::from_secs(1));

        // Both back: everything acknowledged reads back at QUORUM.
        let restart2 = cluster.restart_node(2).await;
        let restart3 = cluster.restart_node(3).await;
        let back = Instant::now();
        let recovered = loop {
            let probe = Task::new(LIST, "probe", Unit { n: 0 }).unwrap();
            match store.save(&probe).await {
                Ok(()) => break back.elapsed(),
                Err(e) if back.elapsed() > Duration::from_secs(60) => {
                    panic!("no recovery within 60 s: {}", chain(&e))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        let found: BTreeSet<String> = store
            .all::<Unit>(LIST)
            .map_ok(|t| t.id().to_owned())
            .try_collect()
            .await
            .unwrap();
        let lost = (0..SAVES).filter(|&n| !found.contains(&id(n))).count();
        let refused_but_written = attempted
            .iter()
            .filter(|&&n| found.contains(&id(n)))
            .count();
        let count = store.count(LIST).await.unwrap();
        println!(
            "restarted: node 2 in {restart2:.1?}, node 3 in {restart3:.1?}; the adapter saved again \
             {recovered:.1?} after; {} found at QUORUM, {lost} of the {SAVES} acknowledged lost, \
             {refused_but_written} of the refused saves written all the same; count {count}",
            found.len()
        );
        assert_eq!(lost, 0);
        assert_eq!(count as usize, found.len());
    });
}
