//! Task generators: lazy sources of tasks from iterators (of tasks and of
//! build results), from a stored list, appended and combined in order,
//! saving each task as it is handed out, and pulling nothing ahead.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use taskrec::adapter::StorageAdapter;
use taskrec::{
    Error, KeyError, MemoryAdapter, Task, TaskData, TaskGenerator, TaskKey, TaskRecord, TaskStore,
};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Resize {
    image: u32,
}

fn resize(list: &str, image: u32) -> Task<Resize> {
    Task::new(list, format!("img{image}"), Resize { image }).unwrap()
}

fn images(tasks: &[Task<Resize>]) -> Vec<u32> {
    tasks.iter().map(|t| t.data().image).collect()
}

/// An iterator of tasks that counts how often it is asked for the next one.
struct Counting {
    next: u32,
    end: u32,
    pulls: Arc<AtomicUsize>,
}

impl Counting {
    fn new(range: std::ops::Range<u32>) -> (Self, Arc<AtomicUsize>) {
        let pulls = Arc::new(AtomicUsize::new(0));
        let iter = Counting {
            next: range.start,
            end: range.end,
            pulls: Arc::clone(&pulls),
        };
        (iter, pulls)
    }
}

impl Iterator for Counting {
    type Item = Task<Resize>;

    fn next(&mut self) -> Option<Task<Resize>> {
        self.pulls.fetch_add(1, Ordering::SeqCst);
        if self.next == self.end {
            return None;
        }
        self.next += 1;
        Some(resize("l", self.next - 1))
    }
}

#[tokio::test]
async fn from_iter_of_tasks_yields_them_in_order() {
    let tasks: Vec<Task<Resize>> = TaskGenerator::from_iter((0..4).map(|i| resize("l", i)))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(images(&tasks), [0, 1, 2, 3]);
    assert_eq!(tasks[2].id(), "img2");
}

#[tokio::test]
async fn from_iter_of_results_passes_errors_through_as_items() {
    let built = vec![
        Task::build("l", Resize { image: 1 }),
        Task::build("", Resize { image: 2 }),
        Task::build("l", Resize { image: 3 }),
    ];
    let items: Vec<taskrec::Result<Task<Resize>>> = TaskGenerator::from_iter(built).collect().await;
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().data().image, 1);
    assert!(matches!(
        items[1],
        Err(Error::InvalidTaskList {
            reason: KeyError::Empty
        })
    ));
    assert_eq!(items[2].as_ref().unwrap().data().image, 3);
}

#[tokio::test]
async fn empty_yields_nothing() {
    let tasks: Vec<Task<Resize>> = TaskGenerator::empty().try_collect().await.unwrap();
    assert_eq!(tasks, []);
}

#[tokio::test]
async fn new_wraps_any_stream() {
    let stream = futures::stream::iter((5..7).map(|i| Ok(resize("l", i))));
    let tasks: Vec<Task<Resize>> = TaskGenerator::new(stream).try_collect().await.unwrap();
    assert_eq!(images(&tasks), [5, 6]);
}

#[tokio::test]
async fn existing_yields_the_stored_tasks_of_the_list() {
    let store = TaskStore::new(MemoryAdapter::new());
    for i in [2, 0, 1] {
        store.save(&resize("l", i)).await.unwrap();
    }
    store.save(&resize("other", 9)).await.unwrap();
    let tasks: Vec<Task<Resize>> = TaskGenerator::existing(&store, "l")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(images(&tasks), [0, 1, 2]);
    assert!(tasks.iter().all(|t| t.task_list() == "l"));
}

#[tokio::test]
async fn existing_names_a_corrupt_record_and_goes_on() {
    let store = TaskStore::new(MemoryAdapter::new());
    store.save(&resize("l", 0)).await.unwrap();
    store
        .adapter()
        .store(&TaskRecord::new("l", "img1", "Resize", r#"{"image":"one"}"#).unwrap())
        .await
        .unwrap();
    store.save(&resize("l", 2)).await.unwrap();
    let items: Vec<taskrec::Result<Task<Resize>>> =
        TaskGenerator::existing(&store, "l").collect().await;
    assert_eq!(items.len(), 3);
    match &items[1] {
        Err(Error::InvalidData { path, task, .. }) => {
            assert_eq!(path.trim_start_matches('.'), "image");
            assert_eq!(task, &Some(TaskKey::new("l", "img1")));
        }
        other => panic!("expected InvalidData, got {other:?}"),
    }
    assert_eq!(items[2].as_ref().unwrap().data().image, 2);
}

#[tokio::test]
async fn existing_with_an_invalid_list_yields_the_key_error() {
    let store = TaskStore::new(MemoryAdapter::new());
    let items: Vec<taskrec::Result<Task<Resize>>> =
        TaskGenerator::existing(&store, "").collect().await;
    assert_eq!(items.len(), 1);
    assert!(matches!(
        items[0],
        Err(Error::InvalidTaskList {
            reason: KeyError::Empty
        })
    ));
}

#[tokio::test]
async fn append_yields_this_then_that() {
    let first = TaskGenerator::from_iter((0..2).map(|i| resize("l", i)));
    let second = TaskGenerator::from_iter((10..13).map(|i| resize("l", i)));
    let tasks: Vec<Task<Resize>> = first.append(second).try_collect().await.unwrap();
    assert_eq!(images(&tasks), [0, 1, 10, 11, 12]);
}

#[tokio::test]
async fn combined_preserves_the_order_of_generators_and_tasks() {
    let generators = vec![
        TaskGenerator::from_iter((0..3).map(|i| resize("l", i))),
        TaskGenerator::empty(),
        TaskGenerator::from_iter((20..22).map(|i| resize("l", i))),
        TaskGenerator::from_iter((10..12).map(|i| resize("l", i))),
    ];
    let tasks: Vec<Task<Resize>> = TaskGenerator::combined(generators)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(images(&tasks), [0, 1, 2, 20, 21, 10, 11]);

    let none: Vec<Task<Resize>> = TaskGenerator::combined(Vec::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(none, []);
}

#[tokio::test]
async fn saving_stores_each_task_as_it_is_handed_out() {
    let store = TaskStore::new(MemoryAdapter::new());
    let mut generator = TaskGenerator::from_iter((0..3).map(|i| resize("l", i))).saving(&store);
    assert_eq!(
        store.count("l").await.unwrap(),
        0,
        "nothing saved before asked"
    );

    let first = generator.next().await.unwrap().unwrap();
    assert_eq!(first.data().image, 0);
    assert_eq!(store.count("l").await.unwrap(), 1);
    assert_eq!(
        store
            .find::<Resize>("l", "img0")
            .await
            .unwrap()
            .unwrap()
            .data(),
        &Resize { image: 0 }
    );

    let rest: Vec<Task<Resize>> = generator.try_collect().await.unwrap();
    assert_eq!(images(&rest), [1, 2]);
    assert_eq!(store.count("l").await.unwrap(), 3);
    for i in 0..3 {
        assert!(
            store
                .find::<Resize>("l", &format!("img{i}"))
                .await
                .unwrap()
                .is_some(),
            "img{i}"
        );
    }
}

#[tokio::test]
async fn saving_a_failed_build_is_an_error_item_and_saves_nothing() {
    let store = TaskStore::new(MemoryAdapter::new());
    let long = "x".repeat(taskrec::MAX_KEY_BYTES + 1);
    let built = vec![
        Task::new("l", "a", Resize { image: 1 }),
        Task::new("l", long, Resize { image: 2 }),
        Task::new("l", "c", Resize { image: 3 }),
    ];
    let items: Vec<taskrec::Result<Task<Resize>>> = TaskGenerator::from_iter(built)
        .saving(&store)
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().id(), "a");
    match &items[1] {
        Err(Error::InvalidId {
            reason: KeyError::TooLong { len, max },
        }) => assert_eq!(
            (*len, *max),
            (taskrec::MAX_KEY_BYTES + 1, taskrec::MAX_KEY_BYTES)
        ),
        other => panic!("expected InvalidId(TooLong), got {other:?}"),
    }
    assert_eq!(items[2].as_ref().unwrap().id(), "c");

    let records: Vec<TaskRecord> = store.records("l").try_collect().await.unwrap();
    let ids: Vec<&str> = records.iter().map(TaskRecord::id).collect();
    assert_eq!(ids, ["a", "c"]);
}

#[tokio::test]
async fn existing_then_new_work_picks_up_what_a_run_left() {
    let store = TaskStore::new(MemoryAdapter::new());
    store.save(&resize("resize", 100)).await.unwrap();
    let new_work = TaskGenerator::from_iter((1..=3).map(|i| resize("resize", i))).saving(&store);
    let all: Vec<Task<Resize>> = TaskGenerator::existing(&store, "resize")
        .append(new_work)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(images(&all), [100, 1, 2, 3]);
    assert_eq!(store.count("resize").await.unwrap(), 4);
}

#[tokio::test]
async fn from_iter_pulls_nothing_ahead() {
    let (iter, pulls) = Counting::new(0..100);
    let mut generator = TaskGenerator::from_iter(iter);
    assert_eq!(pulls.load(Ordering::SeqCst), 0, "building pulls nothing");

    let first = generator.next().await.unwrap().unwrap();
    assert_eq!(first.data().image, 0);
    assert_eq!(pulls.load(Ordering::SeqCst), 1);

    let two: Vec<Task<Resize>> = generator.by_ref().take(2).try_collect().await.unwrap();
    assert_eq!(images(&two), [1, 2]);
    assert_eq!(pulls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn append_and_combined_pull_the_next_source_only_when_the_first_is_done() {
    let (a, pulls_a) = Counting::new(0..2);
    let (b, pulls_b) = Counting::new(10..12);
    let mut appended = TaskGenerator::from_iter(a).append(TaskGenerator::from_iter(b));
    let two: Vec<Task<Resize>> = appended.by_ref().take(2).try_collect().await.unwrap();
    assert_eq!(images(&two), [0, 1]);
    assert_eq!(pulls_a.load(Ordering::SeqCst), 2);
    assert_eq!(
        pulls_b.load(Ordering::SeqCst),
        0,
        "the second source is untouched"
    );
    let next = appended.next().await.unwrap().unwrap();
    assert_eq!(next.data().image, 10);
    assert_eq!(
        (
            pulls_a.load(Ordering::SeqCst),
            pulls_b.load(Ordering::SeqCst)
        ),
        (3, 1)
    );

    let (a, pulls_a) = Counting::new(0..3);
    let (b, pulls_b) = Counting::new(10..13);
    let mut combined = TaskGenerator::combined(vec![
        TaskGenerator::from_iter(a),
        TaskGenerator::from_iter(b),
    ]);
    let one = combined.next().await.unwrap().unwrap();
    assert_eq!(one.data().image, 0);
    assert_eq!(
        (
            pulls_a.load(Ordering::SeqCst),
            pulls_b.load(Ordering::SeqCst)
        ),
        (1, 0)
    );
}

#[tokio::test]
async fn saving_pulls_nothing_ahead() {
    let store = TaskStore::new(MemoryAdapter::new());
    let (iter, pulls) = Counting::new(0..10);
    let mut generator = TaskGenerator::from_iter(iter).saving(&store);
    let first = generator.next().await.unwrap().unwrap();
    assert_eq!(first.data().image, 0);
    assert_eq!(pulls.load(Ordering::SeqCst), 1);
    assert_eq!(store.count("l").await.unwrap(), 1);
}
