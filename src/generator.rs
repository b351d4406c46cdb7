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
    pub fn new(tasks: impl Stream<Item = Result<Task<T>>> + Send + 'a) -> Self {
        TaskGenerator {
            tasks: tasks.boxed(),
        }
    }

    /// A generator over an iterator of tasks (or of `Result`s of tasks, as
    /// [`Task::build`] returns them), pulled one at a time.
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
    pub fn empty() -> Self {
        Self::new(stream::empty())
    }

    /// The tasks already stored in a list (task_rb's `ExistingTasks`).
    pub fn existing<A>(store: &'a TaskStore<A>, task_list: &'a str) -> Self
    where
        A: StorageAdapter + ?Sized,
        T: TaskDecode,
    {
        Self::new(store.all(task_list))
    }

    /// This generator's tasks, then `other`'s (task_rb's `append`).
    pub fn append(self, other: TaskGenerator<'a, T>) -> Self {
        Self::new(self.tasks.chain(other.tasks))
    }

    /// The generators' tasks one generator after another (task_rb's
    /// `CombinedGenerator`).
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
