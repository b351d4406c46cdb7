//! Generators: lazy sources of tasks that can be appended one after another.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{self, BoxStream, Stream, StreamExt};

use crate::adapter::StorageAdapter;
use crate::data::{TaskData, TaskDecode};
use crate::error::Result;
use crate::store::TaskStore;
use crate::task::Task;

/// A lazy source of tasks: a stream of `Result<Task<T>>` that produces each
/// task only when asked for the next one.
///
/// Generators are built from iterators, streams or the tasks already stored
/// in a list ([`existing`](TaskGenerator::existing)), and appended one after
/// another ([`append`](TaskGenerator::append),
/// [`combined`](TaskGenerator::combined)). A typical run first picks up what
/// an earlier, interrupted run left behind, then generates new work, saving
/// each new task before handing it out so that its record exists from the
/// moment it is generated:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use futures::TryStreamExt;
/// use taskrec::{MemoryAdapter, Task, TaskData, TaskGenerator, TaskStore};
///
/// #[derive(Debug, Clone, TaskData)]
/// struct Resize { image: u32 }
///
/// let store = TaskStore::new(MemoryAdapter::new());
/// store.save(&Task::new("resize", "left-over", Resize { image: 0 })?).await?;
///
/// let new_work = TaskGenerator::from_iter((1..=3).map(|image| Task::build("resize", Resize { image })))
///     .saving(&store);
/// let all: Vec<Task<Resize>> = TaskGenerator::existing(&store, "resize")
///     .append(new_work)
///     .try_collect()
///     .await?;
///
/// assert_eq!(all.iter().map(|t| t.data().image).collect::<Vec<_>>(), [0, 1, 2, 3]);
/// assert_eq!(store.count("resize").await?, 4);
/// # Ok(()) }
/// ```
pub struct TaskGenerator<'a, T> {
    tasks: BoxStream<'a, Result<Task<T>>>,
}

impl<'a, T: Send + 'a> TaskGenerator<'a, T> {
    /// A generator over any stream of tasks.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// use futures::{stream, TryStreamExt};
    /// use taskrec::{Task, TaskGenerator};
    /// let tasks = stream::iter((0..3).map(|n| Task::build("pings", Ping { n })));
    /// let all: Vec<Task<Ping>> = TaskGenerator::new(tasks).try_collect().await?;
    /// assert_eq!(all.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn new(tasks: impl Stream<Item = Result<Task<T>>> + Send + 'a) -> Self {
        TaskGenerator {
            tasks: tasks.boxed(),
        }
    }

    /// A generator over an iterator of tasks (or of `Result`s of tasks, as
    /// [`Task::build`] returns them), pulled one at a time.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// use futures::TryStreamExt;
    /// use taskrec::{Error, Task, TaskGenerator};
    /// let lists = ["pings", "", "pongs"]; // "" is not a task list
    /// let mut tasks = TaskGenerator::from_iter(lists.map(|list| Task::build(list, Ping { n: 0 })));
    /// assert_eq!(tasks.try_next().await?.unwrap().task_list(), "pings");
    /// assert!(matches!(tasks.try_next().await, Err(Error::InvalidTaskList { .. })));
    /// # Ok(()) }
    /// ```
    #[allow(clippy::should_implement_trait)] // it yields Results, unlike FromIterator
    pub fn from_iter<I, R>(tasks: I) -> Self
    where
        I: IntoIterator<Item = R>,
        I::IntoIter: Send + 'a,
        R: IntoGenerated<T> + 'a,
    {
        Self::new(stream::iter(
            tasks.into_iter().map(IntoGenerated::into_generated),
        ))
    }

    /// A generator of nothing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// use futures::TryStreamExt;
    /// use taskrec::{Task, TaskGenerator};
    /// let nothing: Vec<Task<Ping>> = TaskGenerator::empty().try_collect().await?;
    /// assert!(nothing.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn empty() -> Self {
        Self::new(stream::empty())
    }

    /// The tasks already stored in a list (task_rb's `ExistingTasks`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// use futures::TryStreamExt;
    /// use taskrec::{MemoryAdapter, Task, TaskGenerator, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// store.create("pings", Ping { n: 1 }).await?;
    /// let left_over: Vec<Task<Ping>> = TaskGenerator::existing(&store, "pings").try_collect().await?;
    /// assert_eq!(left_over[0].data().n, 1);
    /// # Ok(()) }
    /// ```
    pub fn existing<A>(store: &'a TaskStore<A>, task_list: &'a str) -> Self
    where
        A: StorageAdapter + ?Sized,
        T: TaskDecode,
    {
        Self::new(store.all(task_list))
    }

    /// This generator's tasks, then `other`'s (task_rb's `append`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// use futures::TryStreamExt;
    /// use taskrec::{Task, TaskGenerator};
    /// let first = TaskGenerator::from_iter([Task::build("l", Ping { n: 1 })]);
    /// let then = TaskGenerator::from_iter([Task::build("l", Ping { n: 2 })]);
    /// let all: Vec<Task<Ping>> = first.append(then).try_collect().await?;
    /// assert_eq!(all.iter().map(|t| t.data().n).collect::<Vec<_>>(), [1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn append(self, other: TaskGenerator<'a, T>) -> Self {
        Self::new(self.tasks.chain(other.tasks))
    }

    /// The generators' tasks one generator after another (task_rb's
    /// `CombinedGenerator`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// use futures::TryStreamExt;
    /// use taskrec::{Task, TaskGenerator};
    /// let parts = (0..3).map(|n| TaskGenerator::from_iter([Task::build("l", Ping { n })]));
    /// let all: Vec<Task<Ping>> = TaskGenerator::combined(parts).try_collect().await?;
    /// assert_eq!(all.iter().map(|t| t.data().n).collect::<Vec<_>>(), [0, 1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn combined<I>(generators: I) -> Self
    where
        I: IntoIterator<Item = TaskGenerator<'a, T>>,
        I::IntoIter: Send + 'a,
    {
        Self::new(stream::iter(generators).flatten())
    }

    /// Saves each task before handing it out, so that its record exists
    /// from the moment it is generated; a failed save is an error item and
    /// the task is not handed out.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// # #[derive(Debug, taskrec::TaskData)] struct Ping { n: u32 }
    /// use futures::TryStreamExt;
    /// use taskrec::{MemoryAdapter, Task, TaskGenerator, TaskStore};
    /// let store = TaskStore::new(MemoryAdapter::new());
    /// let mut tasks = TaskGenerator::from_iter((0..3).map(|n| Task::build("pings", Ping { n })))
    ///     .saving(&store);
    /// assert_eq!(store.count("pings").await?, 0); // lazy: nothing generated yet
    /// tasks.try_next().await?;
    /// assert_eq!(store.count("pings").await?, 1); // saved before it was handed out
    /// # Ok(()) }
    /// ```
    pub fn saving<A>(self, store: &'a TaskStore<A>) -> Self
    where
        A: StorageAdapter + ?Sized,
        T: TaskData,
    {
        Self::new(self.tasks.then(move |task| async move {
            let task = task?;
            store.save(&task).await?;
            Ok(task)
        }))
    }
}

impl<T> Stream for TaskGenerator<'_, T> {
    type Item = Result<Task<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.tasks.poll_next_unpin(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.tasks.size_hint()
    }
}

impl<T> std::fmt::Debug for TaskGenerator<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskGenerator").finish_non_exhaustive()
    }
}

/// What [`TaskGenerator::from_iter`] accepts as items: tasks, or the
/// `Result`s of building them.
///
/// ```
/// # #[derive(Debug, taskrec::TaskData)] struct Ping {}
/// use taskrec::{IntoGenerated, Task};
/// let built: Task<Ping> = Task::new("l", "i", Ping {})?;
/// assert!(built.into_generated().is_ok());
/// let failed: taskrec::Result<Task<Ping>> = Task::new("", "i", Ping {});
/// assert!(failed.into_generated().is_err()); // an error item of the generator
/// # Ok::<(), taskrec::Error>(())
/// ```
pub trait IntoGenerated<T> {
    /// The item as a generator item.
    fn into_generated(self) -> Result<Task<T>>;
}

impl<T> IntoGenerated<T> for Task<T> {
    fn into_generated(self) -> Result<Task<T>> {
        Ok(self)
    }
}

impl<T> IntoGenerated<T> for Result<Task<T>> {
    fn into_generated(self) -> Result<Task<T>> {
        self
    }
}
