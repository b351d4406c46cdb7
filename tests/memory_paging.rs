//! What the memory adapter promises beyond the adapter contract, pinned so
//! that its indexes can change underneath: pages list ids in byte order, a
//! page token is the last id returned (so any id, stored or not, resumes
//! after itself), and every write keeps find, page and count in agreement.

use futures::FutureExt;
use taskrec::adapter::{StorageAdapter, INITIAL_STATE_JSON};
use taskrec::{Error, MemoryAdapter, PageToken, TaskRecord};

/// The adapter's futures never wait: each is polled once.
fn now<T>(future: impl std::future::Future<Output = T>) -> T {
    future
        .now_or_never()
        .expect("the memory adapter never waits")
}

fn record(list: &str, id: &str, data: &str) -> TaskRecord {
    TaskRecord::new(list, id, "T", data).expect("a valid record")
}

fn store(adapter: &MemoryAdapter, list: &str, id: &str) {
    now(adapter.store(&record(list, id, "{}"))).expect("stored");
}

/// Every page of a list: its ids and the token it handed on.
fn pages(
    adapter: &MemoryAdapter,
    list: &str,
    start: Option<PageToken>,
    size: usize,
) -> Vec<(Vec<String>, Option<Vec<u8>>)> {
    let (mut out, mut token) = (Vec::new(), start);
    loop {
        let page = now(adapter.page(list, token.as_ref(), size)).expect("a page");
        let ids = page.records.iter().map(|r| r.id().to_owned()).collect();
        let next = page.next.as_ref().map(|t| t.as_bytes().to_vec());
        out.push((ids, next));
        match page.next {
            Some(next) => token = Some(next),
            None => return out,
        }
    }
}

fn ids(adapter: &MemoryAdapter, list: &str) -> Vec<String> {
    pages(adapter, list, None, 1000)
        .into_iter()
        .flat_map(|(ids, _)| ids)
        .collect()
}

const UNORDERED: [&str; 9] = ["b", "a", "a\0", "é", "Z", "10", "9", "a b", "~"];

fn sorted_ids() -> Vec<String> {
    let mut ids: Vec<String> = UNORDERED.iter().map(|s| (*s).to_owned()).collect();
    ids.sort(); // `str` orders by bytes
    ids
}

#[test]
fn pages_list_ids_in_byte_order_and_hand_on_the_last_id() {
    let adapter = MemoryAdapter::new();
    for id in UNORDERED {
        store(&adapter, "l", id);
    }
    let all = sorted_ids();
    for size in [1, 2, 3, 4, 9, 10] {
        let walked = pages(&adapter, "l", None, size);
        let chunks: Vec<Vec<String>> = all.chunks(size).map(<[String]>::to_vec).collect();
        assert_eq!(walked.len(), chunks.len(), "page size {size}");
        for (i, ((ids, next), chunk)) in walked.iter().zip(&chunks).enumerate() {
            assert_eq!(ids, chunk, "page size {size}, page {i}");
            // The token is the last id of its page; a page that ends the
            // list, even exactly full, hands none on.
            let expected =
                (i + 1 < chunks.len()).then(|| chunk.last().unwrap().as_bytes().to_vec());
            assert_eq!(next, &expected, "page size {size}, page {i}");
        }
    }
    // Page size 0 counts as 1.
    let first = now(adapter.page("l", None, 0)).expect("a page");
    assert_eq!(first.records.len(), 1);
    assert_eq!(first.next.unwrap().as_bytes(), all[0].as_bytes());
}

#[test]
fn any_id_as_a_token_resumes_after_itself() {
    let adapter = MemoryAdapter::new();
    for id in ["a", "c", "e"] {
        store(&adapter, "l", id);
    }
    let after = |token: &str| -> Vec<String> {
        pages(&adapter, "l", Some(PageToken::from_bytes(token)), 10)
            .into_iter()
            .flat_map(|(ids, _)| ids)
            .collect()
    };
    assert_eq!(after("a"), ["c", "e"]);
    assert_eq!(after("b"), ["c", "e"], "an id never stored");
    assert_eq!(after(""), ["a", "c", "e"]);
    assert_eq!(after("e"), Vec::<String>::new());
    assert_eq!(after("z"), Vec::<String>::new());

    // A token outlives its id: deleted, the walk still resumes after it.
    now(adapter.delete("l", "c")).unwrap();
    assert_eq!(after("c"), ["e"]);
    // And sees ids stored after it since the token was handed out.
    store(&adapter, "l", "d");
    assert_eq!(after("c"), ["d", "e"]);
}

#[test]
fn a_token_that_is_not_utf8_is_refused() {
    let adapter = MemoryAdapter::new();
    store(&adapter, "l", "a");
    let token = PageToken::from_bytes(vec![0xff, 0xfe]);
    match now(adapter.page("l", Some(&token), 10)) {
        Err(Error::InvalidPageToken { reason }) => {
            assert_eq!(reason, "not a memory adapter token")
        }
        other => panic!("expected InvalidPageToken, got {other:?}"),
    }
    // Also for a list that does not exist: the token is read first.
    assert!(matches!(
        now(adapter.page("none", Some(&token), 10)),
        Err(Error::InvalidPageToken { .. })
    ));
}

#[test]
fn storing_an_id_again_replaces_it_in_place() {
    let adapter = MemoryAdapter::new();
    for id in UNORDERED {
        store(&adapter, "l", id);
    }
    // Take the state away from its initial value, then store again.
    let before = now(adapter.load_state("l", "b")).unwrap().expect("stored");
    assert_eq!(before.json, INITIAL_STATE_JSON);
    let changed = now(adapter.swap_state("l", "b", &before.token, Some(r#"{"x":1}"#)))
        .unwrap()
        .expect("swapped");
    now(adapter.store(&record("l", "b", r#"{"v":2}"#))).unwrap();

    assert_eq!(ids(&adapter, "l"), sorted_ids(), "listed once, in place");
    assert_eq!(now(adapter.count("l")).unwrap(), UNORDERED.len() as u64);
    let found = now(adapter.find("l", "b")).unwrap().expect("found");
    assert_eq!(found.data(), r#"{"v":2}"#);
    // A store starts the record's state over, under a new token.
    let after = now(adapter.load_state("l", "b")).unwrap().expect("stored");
    assert_eq!(after.json, INITIAL_STATE_JSON);
    assert_ne!(after.token, changed);
    assert_ne!(after.token, before.token);
    assert_eq!(after.record.data(), r#"{"v":2}"#);
}

#[test]
fn delete_and_completion_remove_from_find_page_and_count() {
    let adapter = MemoryAdapter::new();
    for id in UNORDERED {
        store(&adapter, "l", id);
    }
    store(&adapter, "other", "a");
    let mut expected = sorted_ids();

    now(adapter.delete("l", "a")).unwrap();
    expected.retain(|id| id != "a");
    assert!(now(adapter.find("l", "a")).unwrap().is_none());
    assert_eq!(ids(&adapter, "l"), expected);
    assert_eq!(now(adapter.count("l")).unwrap(), expected.len() as u64);

    // Deleting what is not there changes nothing.
    now(adapter.delete("l", "a")).unwrap();
    now(adapter.delete("nowhere", "a")).unwrap();
    assert_eq!(ids(&adapter, "l"), expected);

    // Completion (a swap to no state) removes the record too; a stale
    // token removes nothing.
    let state = now(adapter.load_state("l", "Z")).unwrap().expect("stored");
    let stale = now(adapter.load_state("l", "9")).unwrap().expect("stored");
    now(adapter.swap_state("l", "9", &stale.token, Some("{}")))
        .unwrap()
        .expect("swapped");
    assert_eq!(
        now(adapter.swap_state("l", "9", &stale.token, None)).unwrap(),
        None
    );
    assert_eq!(
        now(adapter.swap_state("l", "Z", &state.token, None)).unwrap(),
        Some(state.token)
    );
    expected.retain(|id| id != "Z");
    assert!(now(adapter.find("l", "Z")).unwrap().is_none());
    assert!(now(adapter.load_state("l", "Z")).unwrap().is_none());
    assert_eq!(ids(&adapter, "l"), expected);
    assert_eq!(now(adapter.count("l")).unwrap(), expected.len() as u64);

    // Emptied, the list is gone: one empty last page, a count of 0, and
    // stored again it starts afresh.
    for id in expected.clone() {
        now(adapter.delete("l", &id)).unwrap();
    }
    let page = now(adapter.page("l", None, 10)).unwrap();
    assert!(page.records.is_empty() && page.next.is_none());
    assert_eq!(now(adapter.count("l")).unwrap(), 0);
    store(&adapter, "l", "new");
    assert_eq!(ids(&adapter, "l"), ["new"]);
    // The other list was never touched.
    assert_eq!(ids(&adapter, "other"), ["a"]);
}
