//! A task's life beyond save and complete, in memory: unique and scheduled
//! saves, a worker's events, the history of a task that failed, and an
//! operator's reset of it.
//!
//! ```sh
//! cargo run --example lifecycle
//! ```
//!
//! It checks its own outcomes and exits non-zero when one breaks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use taskrec::{
    BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStatus, TaskStore, Unique, Worker,
    WorkerConfig, WorkerEvent,
};

/// An invoice to send; order 7's customer has no address, so it fails.
#[derive(Debug, Clone, TaskData)]
struct Invoice {
    order: u32,
}

#[async_trait::async_trait]
impl Execute for Invoice {
    async fn execute(&self, _: &()) -> Result<(), BoxError> {
        if self.order == 7 {
            return Err("customer 7 has no billing address".into());
        }
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // History kept for this list: every state change of its tasks.
    let store = TaskStore::new(MemoryAdapter::new()).with_history(["invoices"]);

    // Unique: two producers of the same order make one task.
    let invoice = |order| Task::new("invoices", format!("order-{order}"), Invoice { order });
    for order in [5, 7] {
        check(
            store.save_unique(&invoice(order)?).await? == Unique::Saved,
            "first producer saves",
        )?;
        check(
            store.save_unique(&invoice(order)?).await? == Unique::Taken,
            "second finds it taken",
        )?;
    }
    // Scheduled: a reminder no worker runs before tomorrow.
    store
        .save_delayed(&invoice(9)?, Duration::from_secs(24 * 3600))
        .await?;
    let counts = store.count_by_status("invoices").await?;
    println!("before the worker: {counts:?}");
    check(
        (counts.pending, counts.scheduled) == (2, 1),
        "two pending, one scheduled",
    )?;

    // A worker, its events as they come.
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let config = WorkerConfig::new("invoicer")
        .max_attempts(1)
        .on_event(move |event| {
            let line = match event {
                WorkerEvent::Succeeded { task, .. } => format!("succeeded {}", task.id),
                WorkerEvent::Failed { task, error, .. } => format!("failed {}: {error}", task.id),
                _ => return,
            };
            seen.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        });
    let worker = Worker::new(store.clone(), config);
    let stop = worker.stop_handle();
    let serving = tokio::spawn(async move { worker.serve::<Invoice, _>(&["invoices"], &()).await });
    // `serve`, not `drain`: a drain would wait for tomorrow's reminder.
    // Stopped once both tasks of today have an outcome.
    let waiting = std::time::Instant::now();
    while events.lock().unwrap_or_else(|e| e.into_inner()).len() < 2 {
        check(
            waiting.elapsed() < Duration::from_secs(60),
            "the worker ran today's tasks",
        )?;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.stop();
    let report = serving.await??;
    let mut events = events.lock().unwrap_or_else(|e| e.into_inner()).clone();
    events.sort();
    println!("worker events: {events:?}");
    check(
        events
            == [
                "failed order-7: customer 7 has no billing address",
                "succeeded order-5",
            ],
        "order 5 sent, order 7 failed, the reminder not run",
    )?;
    check(
        (report.succeeded, report.failed) == (1, 1),
        "the report agrees",
    )?;

    // The failed task's history, then an operator's reset once the address is fixed.
    let history = store.history("invoices", "order-7").await?;
    let steps: Vec<TaskStatus> = history.iter().map(|change| change.state.status).collect();
    println!("order-7's history: {steps:?}");
    check(
        steps == [TaskStatus::Pending, TaskStatus::Claimed, TaskStatus::Failed],
        "saved, claimed, failed",
    )?;
    check(store.reset("invoices", "order-7").await?, "the reset lands")?;
    let state = store
        .state("invoices", "order-7")
        .await?
        .ok_or("order-7 is kept")?;
    let last = store
        .history("invoices", "order-7")
        .await?
        .pop()
        .ok_or("a history line")?;
    println!(
        "after the reset: {:?}, attempts {}; its history line keeps why: {:?}",
        state.status, state.attempts, last.state.last_error
    );
    check(
        state.status == TaskStatus::Pending
            && last.state.last_error.as_deref() == Some("customer 7 has no billing address"),
        "pending again, the error kept in the history",
    )?;
    Ok(())
}

fn check(holds: bool, what: &str) -> Result<(), Box<dyn std::error::Error>> {
    if holds {
        Ok(())
    } else {
        Err(format!("broken: {what}").into())
    }
}
