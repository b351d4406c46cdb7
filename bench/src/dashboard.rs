//! `taskrec-bench dashboard`: how long the dashboard's pages take over a
//! list of many live tasks (issue 23: a page of a list of 1M tasks in well
//! under a second), against what its overview cost before kept counts (a
//! count of every task's state per look).
//!
//! It fills one list to `--tasks` live tasks (what is already there is
//! kept: against a server that kept its data, such as the benchmark's
//! restarted without `--fresh`, a second run measures without refilling;
//! `scripts/bench` starts its server fresh), fails a few and holds a
//! few, counts the list once as a worker would (the kept counts every page
//! reads), then requests each page `--repeat` times through the router,
//! in this process, as a browser would one after another.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use taskrec::cassandra::{CassandraAdapter, Replication};
use taskrec::{Task, TaskStore};
use tower::ServiceExt;

use crate::args::Args;
use crate::payload::{template, FetchFile};

/// The measured list.
const LIST: &str = "dashboard-scale";
/// Tasks saved at once while filling.
const FILL_IN_FLIGHT: usize = 256;

pub fn main(args: &mut Args) -> Result<(), String> {
    let addr = args
        .value("addr")
        .unwrap_or_else(|| crate::DEFAULT_ADDR.to_owned());
    let keyspace = args
        .value("keyspace")
        .unwrap_or_else(|| "taskrec_dashboard".to_owned());
    let tasks: u64 = args.number("tasks", 1_000_000)?;
    let repeat: usize = args.number("repeat", 20)?;
    let out = args.value("out");
    args.finish()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(measure(&addr, &keyspace, tasks, repeat, out.as_deref()))
}

async fn measure(
    addr: &str,
    keyspace: &str,
    tasks: u64,
    repeat: usize,
    out: Option<&str>,
) -> Result<(), String> {
    let config = crate::cql::adapter_config(addr, keyspace, false)
        .replication(Replication::Simple(1))
        .create_schema(true);
    let adapter = CassandraAdapter::connect(config)
        .await
        .map_err(|e| format!("connecting: {}", crate::error_chain(&e)))?;
    let store = TaskStore::from_dyn(Arc::new(adapter));
    let had = store
        .count(LIST)
        .await
        .map_err(|e| crate::error_chain(&e))?;
    let mut fill_rate = None;
    if had < tasks {
        let started = Instant::now();
        fill(&store, tasks - had).await?;
        fill_rate = Some((tasks - had) as f64 / started.elapsed().as_secs_f64());
        eprintln!(
            "filled {} tasks at {:.0}/s",
            tasks - had,
            fill_rate.unwrap_or_default()
        );
    }
    hold_and_fail_a_few(&store).await?;

    // What the overview did per look before kept counts, and what a
    // worker (or the dashboard) now does every ten times as long.
    let started = Instant::now();
    let kept = store
        .recount(LIST)
        .await
        .map_err(|e| crate::error_chain(&e))?;
    let count_took = started.elapsed();
    eprintln!(
        "counted {} tasks in {:.1} s ({:?})",
        kept.counts.total(),
        count_took.as_secs_f64(),
        kept.counts
    );

    let router = taskrec_web::Dashboard::new(store.clone())
        .lists([LIST])
        .discover(false)
        .router();
    let some_id = store
        .page::<FetchFile>(LIST, None, 1)
        .await
        .map_err(|e| crate::error_chain(&e))?
        .0
        .into_iter()
        .find_map(|t| t.ok().map(|t| t.id().to_owned()))
        .ok_or("the list is empty")?;
    let pages = [
        ("overview", "/".to_owned()),
        ("overview figures (live.json)", "/live.json".to_owned()),
        ("a list's first page (50 tasks)", format!("/lists/{LIST}")),
        ("its pending tasks", format!("/lists/{LIST}?status=pending")),
        ("its failed tasks", format!("/lists/{LIST}/failed")),
        ("one task", format!("/lists/{LIST}/tasks/{some_id}")),
    ];
    let mut rows = Vec::new();
    for (name, uri) in &pages {
        let mut times = Vec::with_capacity(repeat);
        for _ in 0..repeat.max(1) {
            let started = Instant::now();
            let response = router
                .clone()
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            times.push(started.elapsed());
            if status != StatusCode::OK {
                return Err(format!(
                    "{uri} answered {status}: {}",
                    String::from_utf8_lossy(&body)
                ));
            }
        }
        times.sort();
        let (p50, max) = (times[times.len() / 2], times[times.len() - 1]);
        println!("{name:32} p50 {:8.1} ms   max {:8.1} ms", ms(p50), ms(max));
        rows.push(serde_json::json!({
            "page": name, "uri": uri, "p50_ms": ms(p50), "max_ms": ms(max), "requests": times.len(),
        }));
    }
    println!(
        "a count of every task's state (the overview's cost per look before kept counts): {:.1} s",
        count_took.as_secs_f64()
    );
    if let Some(out) = out {
        let summary = serde_json::json!({
            "tasks": kept.counts.total(),
            "counts": {
                "pending": kept.counts.pending, "claimed": kept.counts.claimed,
                "failed": kept.counts.failed,
            },
            "fill_per_second": fill_rate,
            "count_seconds": count_took.as_secs_f64(),
            "pages": rows,
        });
        std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
        let path = format!("{out}/dashboard.json");
        std::fs::write(&path, serde_json::to_string_pretty(&summary).unwrap())
            .map_err(|e| format!("writing {path}: {e}"))?;
        eprintln!("wrote {path}");
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Saves `n` new tasks, [`FILL_IN_FLIGHT`] at once.
async fn fill(store: &TaskStore, n: u64) -> Result<(), String> {
    const GROUP: u64 = 10_000;
    let mut saved = 0;
    while saved < n {
        let group = GROUP.min(n - saved);
        let tasks: Vec<Task<FetchFile>> = (0..group)
            .map(|_| Task::build(LIST, template()))
            .collect::<taskrec::Result<_>>()
            .map_err(|e| e.to_string())?;
        store
            .save_all(&tasks, FILL_IN_FLIGHT)
            .await
            .map_err(|e| crate::error_chain(&e))?;
        saved += group;
        if saved % 100_000 == 0 {
            eprintln!("  {saved} of {n}");
        }
    }
    Ok(())
}

/// Holds ten of the first tasks under a long lease and fails five more,
/// so that the pages have every kind of row to show.
async fn hold_and_fail_a_few(store: &TaskStore) -> Result<(), String> {
    let page = store
        .page::<FetchFile>(LIST, None, 15)
        .await
        .map_err(|e| crate::error_chain(&e))?;
    for (n, task) in page.0.iter().flatten().enumerate() {
        let claim = store
            .claim(LIST, task.id(), "bench", Duration::from_secs(3_600))
            .await
            .map_err(|e| crate::error_chain(&e))?;
        if let (Some(claim), true) = (claim, n >= 10) {
            store
                .fail(claim, "bench: a failure to show")
                .await
                .map_err(|e| crate::error_chain(&e))?;
        }
    }
    Ok(())
}
