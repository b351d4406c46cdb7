//! The store facade on the memory adapter: save, find, all, page, complete,
//! count, create, save_all, find_record and records; timestamps at save;
//! typed key errors on every entry point; records of another type and
//! corrupt records; page tokens as text; TTL refused; concurrent saves.

#[path = "support/wrapper.rs"]
mod wrapper;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DurationRound, TimeDelta, Utc};
use futures::{StreamExt, TryStreamExt};
use taskrec::adapter::StorageAdapter;
use taskrec::{
    Error, KeyError, MemoryAdapter, PageToken, Task, TaskData, TaskKey, TaskRecord, TaskStore,
    MAX_KEY_BYTES,
};
use wrapper::{Method, Wrapped};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Ping {
    n: u32,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Pong {
    text: String,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
enum Ball {
    Ping(Ping),
    Pong(Pong),
}

fn store() -> TaskStore<MemoryAdapter> {
    TaskStore::new(MemoryAdapter::new())
}

fn ping(list: &str, id: &str, n: u32) -> Task<Ping> {
    Task::new(list, id, Ping { n }).unwrap()
}

/// Writes a record as it is, past the typed API: how a record of another
/// program, or a corrupt one, gets into storage.
async fn put_raw(
    store: &TaskStore<MemoryAdapter>,
    list: &str,
    id: &str,
    type_name: &str,
    data: &str,
) {
    store
        .adapter()
        .store(&TaskRecord::new(list, id, type_name, data).unwrap())
        .await
        .unwrap();
}

fn millis_now() -> chrono::DateTime<Utc> {
    Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap()
}

// ---- the basic operations -------------------------------------------------

#[tokio::test]
async fn save_then_find_gives_the_task_back() {
    let store = store();
    let task = ping("l", "p1", 7);
    store.save(&task).await.unwrap();
    let found = store.find::<Ping>("l", "p1").await.unwrap().unwrap();
    assert_eq!(found.data(), &Ping { n: 7 });
    assert_eq!((found.task_list(), found.id()), ("l", "p1"));
    assert_eq!(found.created_at(), task.created_at());
    assert_eq!(store.find::<Ping>("l", "p2").await.unwrap(), None);
}

#[tokio::test]
async fn updated_at_is_set_at_save() {
    let store = store();
    let task = ping("l", "p1", 1);
    tokio::time::sleep(Duration::from_millis(15)).await;

    let before = millis_now();
    store.save(&task).await.unwrap();
    let after = millis_now();

    let found = store.find::<Ping>("l", "p1").await.unwrap().unwrap();
    assert_eq!(found.created_at(), task.created_at());
    assert!(found.updated_at() >= found.created_at());
    assert!(found.updated_at() > task.created_at(), "15 ms later");
    assert!(
        before <= found.updated_at() && found.updated_at() <= after,
        "{before} <= {} <= {after}",
        found.updated_at()
    );
    // Saving does not change the task in hand.
    assert_eq!(task.updated_at(), task.created_at());

    // Saving again moves updated_at on and keeps created_at.
    tokio::time::sleep(Duration::from_millis(15)).await;
    store.save(&found).await.unwrap();
    let again = store.find::<Ping>("l", "p1").await.unwrap().unwrap();
    assert_eq!(again.created_at(), task.created_at());
    assert!(again.updated_at() > found.updated_at());
}

#[tokio::test]
async fn create_builds_with_a_random_id_and_saves() {
    let store = store();
    let a = store.create("l", Ping { n: 1 }).await.unwrap();
    let b = store.create("l", Ping { n: 2 }).await.unwrap();
    assert_ne!(a.id(), b.id());
    assert_eq!(store.count("l").await.unwrap(), 2);
    assert_eq!(
        store
            .find::<Ping>("l", b.id())
            .await
            .unwrap()
            .unwrap()
            .data(),
        &Ping { n: 2 }
    );
    assert!(matches!(
        store.create("", Ping { n: 3 }).await,
        Err(Error::InvalidTaskList {
            reason: KeyError::Empty
        })
    ));
    assert_eq!(store.count("l").await.unwrap(), 2);
}

#[tokio::test]
async fn all_lists_every_task_of_the_list_in_id_order() {
    let store = store();
    for n in [3, 1, 2] {
        store.save(&ping("l", &format!("p{n}"), n)).await.unwrap();
    }
    store.save(&ping("other", "p9", 9)).await.unwrap();
    let all: Vec<Task<Ping>> = store.all("l").try_collect().await.unwrap();
    let ns: Vec<u32> = all.iter().map(|t| t.data().n).collect();
    assert_eq!(ns, [1, 2, 3]);
}

#[tokio::test]
async fn all_decodes_an_enum_of_task_types() {
    let store = store();
    store.save(&ping("l", "a", 1)).await.unwrap();
    store
        .save(&Task::new("l", "b", Pong { text: "x".into() }).unwrap())
        .await
        .unwrap();
    let all: Vec<Task<Ball>> = store.all("l").try_collect().await.unwrap();
    let data: Vec<Ball> = all.into_iter().map(Task::into_data).collect();
    assert_eq!(
        data,
        [
            Ball::Ping(Ping { n: 1 }),
            Ball::Pong(Pong { text: "x".into() })
        ]
    );
}

#[tokio::test]
async fn complete_removes_and_count_follows() {
    let store = store();
    let tasks: Vec<Task<Ping>> = (0..5).map(|n| ping("l", &format!("{n}"), n)).collect();
    assert_eq!(store.save_all(&tasks, 4).await.unwrap(), 5);
    assert_eq!(store.count("l").await.unwrap(), 5);
    store.complete(&tasks[2]).await.unwrap();
    store.complete(&tasks[2]).await.unwrap();
    assert_eq!(store.count("l").await.unwrap(), 4);
    assert_eq!(store.find::<Ping>("l", "2").await.unwrap(), None);
    assert_eq!(store.count("empty").await.unwrap(), 0);
}

#[tokio::test]
async fn save_all_saves_every_task() {
    let store = store();
    let tasks: Vec<Task<Ping>> = (0..100).map(|n| ping("l", &format!("{n:03}"), n)).collect();
    assert_eq!(store.save_all(&tasks, 16).await.unwrap(), 100);
    assert_eq!(store.count("l").await.unwrap(), 100);
    // A concurrency of 0 counts as 1, and saving again overwrites.
    assert_eq!(store.save_all(&tasks, 0).await.unwrap(), 100);
    assert_eq!(store.count("l").await.unwrap(), 100);
    assert_eq!(
        store.save_all(&Vec::<Task<Ping>>::new(), 4).await.unwrap(),
        0
    );
}

/// Groups of `SAVE_ALL_GROUP` go to the adapter's `store_all`, up to
/// `concurrency` at once, from a future that can be spawned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_all_hands_groups_to_store_all_and_can_be_spawned() {
    let adapter = Arc::new(Wrapped::new());
    let store = TaskStore::from_arc(Arc::clone(&adapter));
    let tasks: Vec<Task<Ping>> = (0..250).map(|n| ping("l", &format!("{n:03}"), n)).collect();
    let saved = tokio::spawn({
        let store = store.clone();
        async move { store.save_all(&tasks, 2).await }
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(saved, 250);
    let mut sizes = adapter.sizes(Method::StoreAll);
    sizes.sort_unstable();
    assert_eq!(
        sizes,
        [50, taskrec::SAVE_ALL_GROUP, taskrec::SAVE_ALL_GROUP]
    );
    assert_eq!(store.count("l").await.unwrap(), 250);
}

#[tokio::test]
async fn find_record_and_records_give_the_stored_form() {
    let store = store();
    store.save(&ping("l", "p1", 5)).await.unwrap();
    let record = store.find_record("l", "p1").await.unwrap().unwrap();
    assert_eq!(
        (
            record.task_list(),
            record.id(),
            record.type_name(),
            record.data()
        ),
        ("l", "p1", "Ping", r#"{"n":5}"#)
    );
    assert_eq!(store.find_record("l", "p2").await.unwrap(), None);

    put_raw(&store, "l", "p2", "Whatever", "not json").await;
    let records: Vec<TaskRecord> = store.records("l").try_collect().await.unwrap();
    let ids: Vec<&str> = records.iter().map(TaskRecord::id).collect();
    assert_eq!(ids, ["p1", "p2"]);
    assert_eq!(records[1].data(), "not json");
}

#[tokio::test]
async fn store_from_dyn_and_from_arc_share_the_adapter() {
    let adapter = Arc::new(MemoryAdapter::new());
    let typed = TaskStore::from_arc(Arc::clone(&adapter));
    let dynamic: TaskStore = TaskStore::from_dyn(adapter.clone());
    typed.save(&ping("l", "a", 1)).await.unwrap();
    assert_eq!(
        dynamic
            .find::<Ping>("l", "a")
            .await
            .unwrap()
            .unwrap()
            .data(),
        &Ping { n: 1 }
    );
    let clone = dynamic.clone();
    clone.delete("l", "a").await.unwrap();
    assert_eq!(adapter.count("l").await.unwrap(), 0);
}

// ---- pages ----------------------------------------------------------------

#[tokio::test]
async fn page_walks_the_list_with_tokens() {
    let store = store();
    for n in 0..7 {
        store.save(&ping("l", &format!("p{n}"), n)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let (tasks, next) = store.page::<Ping>("l", token.as_ref(), 3).await.unwrap();
        sizes.push(tasks.len());
        seen.extend(tasks.into_iter().map(|t| t.unwrap().data().n));
        match next {
            None => break,
            Some(next) => token = Some(next),
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(seen, [0, 1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn page_tokens_survive_a_text_round_trip() {
    let store = store();
    for n in 0..5 {
        store.save(&ping("l", &format!("p{n}"), n)).await.unwrap();
    }
    let (first, token) = store.page::<Ping>("l", None, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let text = token.unwrap().to_string();
    assert!(text.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");

    // Kept as text, read back in another store over the same storage.
    let other = TaskStore::new(store.adapter().clone());
    let token: PageToken = text.parse().unwrap();
    assert_eq!(token.to_string(), text);
    let (second, token) = other.page::<Ping>("l", Some(&token), 2).await.unwrap();
    assert_eq!(
        second
            .iter()
            .map(|t| t.as_ref().unwrap().data().n)
            .collect::<Vec<_>>(),
        [2, 3]
    );
    let token = PageToken::from_bytes(token.unwrap().into_bytes());
    let (third, token) = store.page::<Ping>("l", Some(&token), 2).await.unwrap();
    assert_eq!(
        third
            .iter()
            .map(|t| t.as_ref().unwrap().data().n)
            .collect::<Vec<_>>(),
        [4]
    );
    assert_eq!(token, None);
}

#[tokio::test]
async fn page_size_zero_counts_as_one_and_empty_lists_have_one_empty_page() {
    let store = store();
    store.save(&ping("l", "a", 1)).await.unwrap();
    store.save(&ping("l", "b", 2)).await.unwrap();
    let (tasks, next) = store.page::<Ping>("l", None, 0).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert!(next.is_some());

    let (tasks, next) = store.page::<Ping>("nothing", None, 10).await.unwrap();
    assert_eq!((tasks.len(), next), (0, None));
}

#[tokio::test]
async fn bad_page_tokens_are_refused() {
    for text in ["abc", "zz", "not hex", "éé", "0x"] {
        assert!(
            matches!(
                text.parse::<PageToken>(),
                Err(Error::InvalidPageToken { .. })
            ),
            "{text}"
        );
    }
    let store = store();
    store.save(&ping("l", "a", 1)).await.unwrap();
    // The memory adapter's tokens are ids: bytes that are not UTF-8 are not one.
    let token = PageToken::from_bytes(vec![0xff, 0xfe]);
    assert!(matches!(
        store.page::<Ping>("l", Some(&token), 10).await,
        Err(Error::InvalidPageToken { .. })
    ));
}

// ---- key errors -----------------------------------------------------------

#[tokio::test]
async fn invalid_keys_are_typed_errors_on_every_entry_point() {
    let store = store();
    let long = "x".repeat(MAX_KEY_BYTES + 1);
    let too_long = KeyError::TooLong {
        len: MAX_KEY_BYTES + 1,
        max: MAX_KEY_BYTES,
    };

    let list_err = |e: Error| match e {
        Error::InvalidTaskList { reason } => reason,
        other => panic!("expected InvalidTaskList, got {other:?}"),
    };
    let id_err = |e: Error| match e {
        Error::InvalidId { reason } => reason,
        other => panic!("expected InvalidId, got {other:?}"),
    };

    // find
    assert_eq!(
        list_err(store.find::<Ping>("", "a").await.unwrap_err()),
        KeyError::Empty
    );
    assert_eq!(
        list_err(store.find::<Ping>(&long, "a").await.unwrap_err()),
        too_long
    );
    assert_eq!(
        id_err(store.find::<Ping>("l", "").await.unwrap_err()),
        KeyError::Empty
    );
    assert_eq!(
        id_err(store.find::<Ping>("l", &long).await.unwrap_err()),
        too_long
    );
    // find_record
    assert_eq!(
        list_err(store.find_record("", "a").await.unwrap_err()),
        KeyError::Empty
    );
    assert_eq!(
        id_err(store.find_record("l", &long).await.unwrap_err()),
        too_long
    );
    // delete
    assert_eq!(
        list_err(store.delete("", "a").await.unwrap_err()),
        KeyError::Empty
    );
    assert_eq!(
        list_err(store.delete(&long, "a").await.unwrap_err()),
        too_long
    );
    assert_eq!(
        id_err(store.delete("l", "").await.unwrap_err()),
        KeyError::Empty
    );
    assert_eq!(
        id_err(store.delete("l", &long).await.unwrap_err()),
        too_long
    );
    // count
    assert_eq!(
        list_err(store.count("").await.unwrap_err()),
        KeyError::Empty
    );
    assert_eq!(list_err(store.count(&long).await.unwrap_err()), too_long);
    // page
    assert_eq!(
        list_err(store.page::<Ping>("", None, 10).await.unwrap_err()),
        KeyError::Empty
    );
    assert_eq!(
        list_err(store.page::<Ping>(&long, None, 10).await.unwrap_err()),
        too_long
    );
}

#[tokio::test]
async fn all_with_an_invalid_list_yields_the_error_as_its_only_item() {
    let store = store();
    let long = "x".repeat(MAX_KEY_BYTES + 1);

    let items: Vec<taskrec::Result<Task<Ping>>> = store.all("").collect().await;
    assert_eq!(items.len(), 1);
    assert!(matches!(
        &items[0],
        Err(Error::InvalidTaskList {
            reason: KeyError::Empty
        })
    ));

    let items: Vec<taskrec::Result<Task<Ping>>> = store.all(&long).collect().await;
    assert_eq!(items.len(), 1);
    match &items[0] {
        Err(Error::InvalidTaskList {
            reason: KeyError::TooLong { len, max },
        }) => assert_eq!((*len, *max), (MAX_KEY_BYTES + 1, MAX_KEY_BYTES)),
        other => panic!("expected InvalidTaskList(TooLong), got {other:?}"),
    }

    let items: Vec<taskrec::Result<TaskRecord>> = store.records("").collect().await;
    assert_eq!(items.len(), 1);
    assert!(matches!(&items[0], Err(Error::InvalidTaskList { .. })));
}

// ---- records of another type, corrupt records -----------------------------

#[tokio::test]
async fn a_record_of_another_type_is_a_type_mismatch_not_none() {
    let store = store();
    store
        .save(&Task::new("l", "x", Pong { text: "t".into() }).unwrap())
        .await
        .unwrap();
    match store.find::<Ping>("l", "x").await {
        Err(Error::TypeMismatch {
            expected,
            found,
            task,
        }) => {
            assert_eq!(expected, "Ping");
            assert_eq!(found, "Pong");
            assert_eq!(task, Some(TaskKey::new("l", "x")));
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }

    // An enum that does not know the stored type: UnknownType naming the record.
    put_raw(&store, "l", "y", "Rename", "{}").await;
    match store.find::<Ball>("l", "y").await {
        Err(Error::UnknownType {
            type_name,
            known,
            task,
        }) => {
            assert_eq!(type_name, "Rename");
            assert_eq!(known, ["Ping", "Pong"]);
            assert_eq!(task, Some(TaskKey::new("l", "y")));
        }
        other => panic!("expected UnknownType, got {other:?}"),
    }
}

#[tokio::test]
async fn a_corrupt_record_is_invalid_data_naming_it() {
    let store = store();
    for (id, data, path) in [
        ("c1", "not json", "."),
        ("c2", "[1,2]", "."),
        ("c3", r#"{"n":1} trailing"#, "."),
        ("c4", r#"{"n":-1}"#, "n"),
        ("c5", "", "."),
    ] {
        put_raw(&store, "l", id, "Ping", data).await;
        match store.find::<Ping>("l", id).await {
            Err(Error::InvalidData {
                type_name,
                path: found,
                task,
                ..
            }) => {
                assert_eq!(type_name, "Ping", "{data:?}");
                assert_eq!(
                    found.trim_start_matches('.'),
                    path.trim_start_matches('.'),
                    "{data:?}"
                );
                assert_eq!(task, Some(TaskKey::new("l", id)), "{data:?}");
            }
            other => panic!("{data:?}: expected InvalidData, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn all_goes_on_past_corrupt_records() {
    let store = store();
    store.save(&ping("l", "a", 1)).await.unwrap();
    put_raw(&store, "l", "b", "Ping", "not json").await;
    store.save(&ping("l", "c", 3)).await.unwrap();
    put_raw(&store, "l", "d", "Ping", "[1,2]").await;
    store.save(&ping("l", "e", 5)).await.unwrap();

    let items: Vec<taskrec::Result<Task<Ping>>> = store.all("l").collect().await;
    assert_eq!(items.len(), 5);
    let good: Vec<u32> = items
        .iter()
        .filter_map(|item| item.as_ref().ok().map(|t| t.data().n))
        .collect();
    assert_eq!(good, [1, 3, 5]);
    let bad: Vec<TaskKey> = items
        .iter()
        .filter_map(|item| match item {
            Err(Error::InvalidData {
                task: Some(key), ..
            }) => Some(key.clone()),
            Err(other) => panic!("unexpected {other:?}"),
            Ok(_) => None,
        })
        .collect();
    assert_eq!(bad, [TaskKey::new("l", "b"), TaskKey::new("l", "d")]);
    assert!(items[1].is_err() && items[3].is_err(), "in list order");
}

/// `all` goes on past a corrupt record, but `page` decodes the page with
/// `collect::<Result<Vec<_>>>()` (src/store/records.rs, `TaskStore::page`): one bad
/// record fails the whole page and drops its `next` token, so a caller
/// walking with `page` can never get past it to the good records after it.
#[tokio::test]
async fn page_walk_can_get_past_a_corrupt_record() {
    let store = store();
    store.save(&ping("l", "a", 1)).await.unwrap();
    put_raw(&store, "l", "b", "Ping", "not json").await;
    store.save(&ping("l", "c", 3)).await.unwrap();
    store.save(&ping("l", "d", 4)).await.unwrap();

    let first = store.page::<Ping>("l", None, 2).await;
    let (_, next) = first.expect("a corrupt record should not lose the page's token");
    let (rest, _) = store.page::<Ping>("l", next.as_ref(), 2).await.unwrap();
    assert_eq!(
        rest.iter()
            .map(|t| t.as_ref().unwrap().data().n)
            .collect::<Vec<_>>(),
        [3, 4]
    );
}

// ---- TTL ------------------------------------------------------------------

#[tokio::test]
async fn save_with_ttl_is_unsupported_on_memory() {
    let store = store();
    match store
        .save_with_ttl(&ping("l", "t", 1), Duration::from_secs(60))
        .await
    {
        Err(Error::Unsupported { operation, .. }) => assert_eq!(operation, "a time-to-live"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert_eq!(store.count("l").await.unwrap(), 0, "nothing was stored");
}

/// Every other error names an adapter by its short name (`"memory"`,
/// `"cassandra"`, `"json-file"`, as `Error::Storage`'s docs say), but the
/// default `StorageAdapter::store_with_ttl` (src/adapter/mod.rs) names it with
/// `std::any::type_name::<Self>()`: `"taskrec::memory::MemoryAdapter"`, a
/// private module path, and the message reads "the
/// taskrec::memory::MemoryAdapter adapter does not support a time-to-live".
#[tokio::test]
async fn save_with_ttl_names_the_memory_adapter_by_name() {
    let store = store();
    match store
        .save_with_ttl(&ping("l", "t", 1), Duration::from_secs(60))
        .await
    {
        Err(Error::Unsupported { adapter, .. }) => assert_eq!(adapter, "memory"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

// ---- failures from the adapter -------------------------------------------

/// Forwards to a memory adapter but fails to store ids starting with "bad";
/// `store_all` is the trait's default, storing one record after another
/// through the failing `store`.
fn failing_stores() -> Wrapped {
    Wrapped::new()
        .trait_defaults(&[Method::StoreAll])
        .fail_when(|call| match call.record {
            Some(record) if call.method == Method::Store && record.id().starts_with("bad") => {
                Some(Error::storage(
                    "failing",
                    std::io::Error::other(format!("cannot write {}", record.id())),
                ))
            }
            _ => None,
        })
}

#[tokio::test]
async fn save_all_returns_the_first_storage_error() {
    let store = TaskStore::new(failing_stores());
    let tasks = [
        ping("l", "ok1", 1),
        ping("l", "bad", 2),
        ping("l", "ok2", 3),
    ];
    match store.save_all(&tasks, 1).await {
        Err(Error::Storage { adapter, source }) => {
            assert_eq!(adapter, "failing");
            assert_eq!(source.to_string(), "cannot write bad");
        }
        other => panic!("expected Storage, got {other:?}"),
    }
    // With one save in flight, the ones before the failure were saved.
    assert!(store.find::<Ping>("l", "ok1").await.unwrap().is_some());
    assert_eq!(store.find::<Ping>("l", "bad").await.unwrap(), None);
}

// ---- concurrency ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_saves_from_spawned_tasks_are_all_kept() {
    const WRITERS: u32 = 8;
    const EACH: u32 = 500;
    let store = store();
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    store
                        .save(&ping("shared", &format!("w{w}-{i}"), w * EACH + i))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(
        store.count("shared").await.unwrap(),
        u64::from(WRITERS * EACH)
    );
    let mut ns: Vec<u32> = store
        .all::<Ping>("shared")
        .map_ok(|t| t.data().n)
        .try_collect()
        .await
        .unwrap();
    ns.sort_unstable();
    assert_eq!(ns, (0..WRITERS * EACH).collect::<Vec<_>>());
}

/// `PageToken::from_str` (src/adapter/page.rs) reads each pair of characters
/// with `u8::from_str_radix(.., 16)`, which accepts a leading `+`: "+f+f"
/// is taken as the token `0f0f`, though it is not hexadecimal text and no
/// token ever displays that way.
#[test]
fn page_token_text_with_a_plus_sign_is_refused() {
    for text in ["+f+f", "+0", "0+"] {
        assert!(
            matches!(
                text.parse::<PageToken>(),
                Err(Error::InvalidPageToken { .. })
            ),
            "{text} was accepted"
        );
    }
}

#[tokio::test]
async fn history_is_kept_for_the_named_lists_everywhere_or_nowhere() {
    let task = |list: &str| Task::new(list, "p1", Ping { n: 1 }).unwrap();
    let none = TaskStore::new(MemoryAdapter::new()).with_history(Vec::<String>::new());
    none.save(&task("a")).await.unwrap();
    assert!(
        none.history("a", "p1").await.unwrap().is_empty(),
        "an empty set of lists keeps no history"
    );

    let named = TaskStore::new(MemoryAdapter::new()).with_history(["a"]);
    named.save(&task("a")).await.unwrap();
    named.save(&task("b")).await.unwrap();
    assert_eq!(named.history("a", "p1").await.unwrap().len(), 1);
    assert!(named.history("b", "p1").await.unwrap().is_empty());

    let everywhere = TaskStore::new(MemoryAdapter::new()).with_history_everywhere();
    everywhere.save(&task("a")).await.unwrap();
    everywhere.save(&task("b")).await.unwrap();
    assert_eq!(everywhere.history("b", "p1").await.unwrap().len(), 1);
    assert_eq!(
        everywhere.count("b").await.unwrap(),
        1,
        "history is no task"
    );

    let err = everywhere.history("", "p1").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidTaskList {
                reason: KeyError::Empty
            }
        ),
        "{err:?}"
    );
}

/// A reset of a failed task forgets its error in the state, and its history
/// line keeps it: the history says why the task was reset, even where the
/// failure's own line was not written (the history kept only from here on).
#[tokio::test]
async fn a_reset_keeps_the_error_it_reset_from_in_the_history() {
    let adapter = Arc::new(MemoryAdapter::new());
    let plain = TaskStore::from_arc(Arc::clone(&adapter));
    plain.save(&ping("resets", "p", 1)).await.unwrap();
    let claim = plain
        .claim("resets", "p", "w", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert!(plain.fail(claim, "bad input").await.unwrap());

    // An operator's store keeps history; the application's did not.
    let operator = TaskStore::from_arc(adapter).with_history(["resets"]);
    assert!(operator.reset("resets", "p").await.unwrap());
    let state = operator.state("resets", "p").await.unwrap().unwrap();
    assert_eq!(
        (state.status, state.attempts, state.last_error),
        (taskrec::TaskStatus::Pending, 0, None)
    );
    let history = operator.history("resets", "p").await.unwrap();
    let lines: Vec<(taskrec::TaskStatus, Option<&str>)> = history
        .iter()
        .map(|change| (change.state.status, change.state.last_error.as_deref()))
        .collect();
    assert_eq!(
        lines,
        [(taskrec::TaskStatus::Pending, Some("bad input"))],
        "the reset's line says what it was reset from"
    );
}
