//! The tests' configurable adapter (`tests/support/wrapper.rs`) misses no
//! method of the trait, and its knobs do what the tests using it rely on.

#[path = "support/wrapper.rs"]
mod wrapper;

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use taskrec::adapter::{Capabilities, Error, StorageAdapter, TaskRecord};
use taskrec::TaskStore;
use wrapper::{Method, Wrapped};

/// The methods a block defines, each `fn` or `async fn` at the block's own
/// indentation (`indent` spaces), with whether a body follows (`{`) or not
/// (`;`) the signature.
fn methods(block: &str, indent: usize) -> Vec<(&str, bool)> {
    let prefix = " ".repeat(indent);
    let mut found = Vec::new();
    let mut offset = 0;
    for line in block.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let Some(line) = line.strip_prefix(prefix.as_str()) else {
            continue;
        };
        let line = line.strip_prefix("async ").unwrap_or(line);
        let Some(name) = line.strip_prefix("fn ") else {
            continue;
        };
        let name = name.split(['(', '<']).next().unwrap();
        let rest = &block[start..];
        let end = rest.find(['{', ';']).expect("a signature ends");
        found.push((name, rest.as_bytes()[end] == b'{'));
    }
    found
}

/// The text of the block that starts at `start` and ends at the first line
/// holding only `}`.
fn block<'a>(source: &'a str, start: &str) -> &'a str {
    let from = source.find(start).unwrap_or_else(|| panic!("{start}"));
    let block = &source[from..];
    &block[..block.find("\n}\n").expect("the block's end")]
}

/// `Wrapped` writes every method of `StorageAdapter`: a method it missed
/// would silently run the trait's default instead of the memory adapter's.
/// `Method` names every method, and `Method::PROVIDED` is every method with
/// a default but `name` and `capabilities`. Read from the source of both
/// files, so a method added to the trait and not to the wrapper fails here.
#[test]
fn the_wrapper_forwards_every_method_of_the_trait() {
    let trait_body = block(
        include_str!("../src/adapter/mod.rs"),
        "pub trait StorageAdapter",
    );
    let in_trait = methods(trait_body, 4);
    assert!(in_trait.len() >= 20, "the trait's methods: {in_trait:?}");
    let all: BTreeSet<&str> = in_trait.iter().map(|(name, _)| *name).collect();
    let with_default: BTreeSet<&str> = in_trait
        .iter()
        .filter(|(_, has_body)| *has_body)
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(all.len(), in_trait.len(), "no method twice: {in_trait:?}");

    let source = include_str!("support/wrapper.rs");
    let wrapped = methods(block(source, "impl StorageAdapter for Wrapped"), 4);
    let forwarded: BTreeSet<&str> = wrapped.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        forwarded.len(),
        wrapped.len(),
        "no method twice: {wrapped:?}"
    );
    assert_eq!(forwarded, all, "Wrapped writes exactly the trait's methods");

    let named: BTreeSet<&str> = Method::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(named, all, "Method names each method once");
    let mut provided: BTreeSet<&str> = Method::PROVIDED.iter().map(|m| m.name()).collect();
    provided.extend(["name", "capabilities"]);
    assert_eq!(provided, with_default, "Method::PROVIDED");
}

fn record(id: &str) -> TaskRecord {
    TaskRecord::new("l", id, "T", "{}").unwrap()
}

/// By default every method is the memory adapter's: its name, its
/// capabilities, its scheduled and unique saves (which the trait's defaults
/// refuse).
#[tokio::test]
async fn by_default_the_memory_adapter_answers_every_method() {
    let adapter = Wrapped::new();
    assert_eq!(adapter.name(), "memory");
    assert_eq!(
        adapter.capabilities(),
        taskrec::MemoryAdapter::new().capabilities()
    );
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    adapter.store_scheduled(&record("s"), later).await.unwrap();
    assert!(adapter.store_if_absent(&record("u")).await.unwrap());
    assert_eq!(adapter.count("l").await.unwrap(), 2);
    assert_eq!(
        (
            adapter.calls(Method::StoreScheduled),
            adapter.calls(Method::Count)
        ),
        (1, 1)
    );
}

/// A method on the trait's default runs through the wrapper's own methods:
/// `all` walks its short pages, counted; `store_all` fails where `store` does.
#[tokio::test]
async fn trait_defaults_run_through_the_wrappers_own_methods() {
    let adapter = Wrapped::new()
        .max_page(2)
        .trait_defaults(&[Method::All, Method::StoreAll])
        .fail_when(|call| {
            (call.method == Method::Store && call.id == Some("bad"))
                .then(|| Error::storage("wrapped", "refused"))
        });
    let err = adapter
        .store_all(&[
            record("a"),
            record("b"),
            record("c"),
            record("bad"),
            record("d"),
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Storage {
                adapter: "wrapped",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        adapter.calls(Method::Store),
        4,
        "one store each, to the failure"
    );
    assert_eq!(adapter.sizes(Method::StoreAll), [5]);

    let listed: Vec<TaskRecord> = adapter.all("l").try_collect().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(adapter.sizes(Method::Page), [2, 1]);
    let without = Wrapped::new().max_page(2);
    without
        .store_all(&[record("a"), record("b")])
        .await
        .unwrap();
    let _: Vec<TaskRecord> = without.all("l").try_collect().await.unwrap();
    assert_eq!(without.calls(Method::Page), 0, "the memory adapter's own");
}

/// `next_ready` on the trait's default sweeps by walking the list and
/// reading each state, both through the wrapper.
#[tokio::test]
async fn a_default_sweep_reads_through_the_wrapper() {
    let adapter = Wrapped::new().trait_defaults(&[Method::NextReady]);
    for id in ["a", "b"] {
        adapter.store(&record(id)).await.unwrap();
    }
    let ready = adapter
        .next_ready("l", None, 10, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(ready.tasks.len(), 2);
    assert_eq!(adapter.sizes(Method::Page), [2]);
    assert_eq!(adapter.calls(Method::LoadState), 2);
    let forwarded = Wrapped::new();
    forwarded.store(&record("a")).await.unwrap();
    forwarded
        .next_ready("l", None, 10, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(
        (
            forwarded.calls(Method::Page),
            forwarded.calls(Method::LoadState)
        ),
        (0, 0),
        "the memory adapter's own sweep"
    );
}

/// Without `conditional_writes`, the state methods on the trait's defaults
/// refuse, naming the wrapper by its name.
#[tokio::test]
async fn name_capabilities_and_the_defaults_of_the_state_methods() {
    let adapter = Wrapped::new()
        .named("plain")
        .with_capabilities(|_| Capabilities::new())
        .trait_defaults(&Method::PROVIDED);
    assert_eq!(adapter.name(), "plain");
    assert!(!adapter.capabilities().conditional_writes());
    adapter.store(&record("a")).await.unwrap();
    match adapter.load_state("l", "a").await {
        Err(Error::Unsupported { adapter, .. }) => assert_eq!(adapter, "plain"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
    let err = adapter.count_by_status("l").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unsupported {
                adapter: "plain",
                ..
            }
        ),
        "{err}"
    );
    // The memory adapter underneath keeps state all the same.
    assert!(adapter
        .memory()
        .load_state("l", "a")
        .await
        .unwrap()
        .is_some());
}

/// A record waiting for a method is stored just before its next call, once;
/// a failed call is counted; `all` fails when polled, not when called.
#[tokio::test]
async fn writes_between_calls_and_failures() {
    let adapter = Wrapped::new().fail_when(|call| {
        (call.method == Method::All).then(|| Error::storage("wrapped", "no listing"))
    });
    adapter.store_before_next(Method::Find, record("x"));
    assert_eq!(adapter.memory().count("l").await.unwrap(), 0);
    assert!(adapter.find("l", "x").await.unwrap().is_some());
    adapter.delete("l", "x").await.unwrap();
    assert!(adapter.find("l", "x").await.unwrap().is_none(), "once");

    let stream = adapter.all("l");
    assert_eq!(adapter.calls(Method::All), 1);
    let items: Vec<_> = stream.collect().await;
    assert!(
        matches!(items[..], [Err(Error::Storage { .. })]),
        "{items:?}"
    );
}

/// A step of `next_ready` is cut to `max_step`, and the hook after it sees
/// the step and can act on the memory adapter before the step is returned.
#[tokio::test]
async fn ready_steps_are_cut_and_seen() {
    let adapter =
        Wrapped::new()
            .max_step(2)
            .after_ready_step(|memory, task_list, ready| async move {
                for stored in &ready.tasks {
                    memory.delete(&task_list, stored.record.id()).await?;
                }
                Ok(())
            });
    let store = TaskStore::new(adapter);
    for id in ["a", "b", "c"] {
        store.adapter().store(&record(id)).await.unwrap();
    }
    let ready = store
        .adapter()
        .next_ready("l", None, 10, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(ready.tasks.len(), 2);
    assert_eq!(store.adapter().sizes(Method::NextReady), [2]);
    assert_eq!(store.adapter().count("l").await.unwrap(), 1, "taken");
}

/// The wrapper as the tests use it by default keeps the adapter contract.
#[cfg(feature = "conformance")]
mod forwarding {
    taskrec::conformance_tests!(|| async { super::Wrapped::new() });
}
