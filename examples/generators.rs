//! Generators and `execute_list`, in memory: a run that picks up what an
//! interrupted run left behind, then generates and saves new work, runs
//! the list, and leaves each failure for the next run.
//!
//! ```sh
//! cargo run --example generators
//! ```
//!
//! It checks its own outcomes and exits non-zero when one breaks.

use futures::TryStreamExt;
use taskrec::{
    execute_list, BoxError, Execute, ExecuteOutcome, MemoryAdapter, Task, TaskData, TaskGenerator,
    TaskStore,
};

/// Thumbnails to make; image 13 is broken and fails every time.
#[derive(Debug, Clone, TaskData)]
struct Thumbnail {
    image: u32,
}

#[async_trait::async_trait]
impl Execute for Thumbnail {
    async fn execute(&self, _: &()) -> Result<(), BoxError> {
        if self.image == 13 {
            return Err(format!("image {} is not a picture", self.image).into());
        }
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = TaskStore::new(MemoryAdapter::new());
    // What an earlier run left: its process died before running these.
    for image in [1, 2] {
        store
            .save(&Task::new(
                "thumbnails",
                format!("left-{image}"),
                Thumbnail { image },
            )?)
            .await?;
    }

    // This run: the left-over tasks first, then new work, each new task
    // saved before it is handed out (its record exists from then on).
    let new_work = TaskGenerator::from_iter(
        (10..15).map(|image| Task::build("thumbnails", Thumbnail { image })),
    )
    .saving(&store);
    let planned: Vec<Task<Thumbnail>> = TaskGenerator::existing(&store, "thumbnails")
        .append(new_work)
        .try_collect()
        .await?;
    let images: Vec<u32> = planned.iter().map(|t| t.data().image).collect();
    println!("planned: {images:?}");
    check(
        images == [1, 2, 10, 11, 12, 13, 14],
        "left-overs first, then new work",
    )?;

    // Run the list: successes are completed, failures stay for the next run.
    let outcomes = execute_list::<Thumbnail, _, _>(&store, "thumbnails", &(), 4).await?;
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|done| !matches!(done.outcome, ExecuteOutcome::Completed))
        .map(|done| format!("{}: {:?}", done.key, done.outcome))
        .collect();
    println!("ran {} tasks; not completed: {failed:?}", outcomes.len());
    check(
        outcomes.len() == 7 && failed.len() == 1,
        "seven ran, one failed",
    )?;
    let left: Vec<Task<Thumbnail>> = store.all("thumbnails").try_collect().await?;
    check(
        left.len() == 1 && left[0].data().image == 13,
        "only the failure is left, for the next run",
    )?;
    println!("left for the next run: image {}", left[0].data().image);
    Ok(())
}

fn check(holds: bool, what: &str) -> Result<(), Box<dyn std::error::Error>> {
    if holds {
        Ok(())
    } else {
        Err(format!("broken: {what}").into())
    }
}
