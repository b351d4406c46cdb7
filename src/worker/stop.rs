//! Graceful stop: a handle the application keeps (on SIGTERM, say) to tell
//! a running worker to claim nothing more and give back what it holds.

use std::sync::Arc;

use tokio::sync::watch;

/// Stops a running [`Worker`](crate::Worker): it claims nothing more, gives back the tasks
/// it holds (pending again, the attempt not counted) and its drain returns.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// # use std::time::Duration;
/// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
/// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
/// # #[async_trait::async_trait] impl Execute for Ping {
/// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
/// # }
/// # let store = TaskStore::new(MemoryAdapter::new());
/// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
/// let worker = Worker::new(store.clone(), WorkerConfig::new("w"));
/// worker.stop_handle().stop();
/// let report = worker.drain::<Ping, _>("pings", &()).await?;
/// assert!(report.stopped);
/// assert_eq!(store.count("pings").await?, 1); // a stopped worker claims nothing
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct StopHandle(pub(super) Arc<watch::Sender<bool>>);

impl StopHandle {
    /// Asks the worker to stop.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # use std::time::Duration;
    /// # use taskrec::{BoxError, Execute, MemoryAdapter, Task, TaskData, TaskStore, Worker, WorkerConfig};
    /// # #[derive(Debug, TaskData)] struct Ping { n: u32 }
    /// # #[async_trait::async_trait] impl Execute for Ping {
    /// #     async fn execute(&self, _: &()) -> Result<(), BoxError> { Ok(()) }
    /// # }
    /// # let store = TaskStore::new(MemoryAdapter::new());
    /// # store.save(&Task::new("pings", "p1", Ping { n: 21 })?).await?;
    /// let worker = Worker::new(store.clone(), WorkerConfig::new("w"));
    /// let stop = worker.stop_handle();
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(Duration::from_millis(20)).await;
    ///     stop.stop(); // say, on SIGTERM
    /// });
    /// let report = worker.drain_with::<Ping, _>("pings", |_| Box::pin(async {
    ///     tokio::time::sleep(Duration::from_secs(60)).await; // long work, cut short
    ///     Ok(None)
    /// })).await?;
    /// assert_eq!((report.released, report.stopped), (1, true));
    /// assert_eq!(store.state("pings", "p1").await?.unwrap().attempts, 0); // given back
    /// # Ok(()) }
    /// ```
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}
