//! Listings: every record once, by `all`, by count and page by page, and
//! page tokens that resume from their text and refuse what is not theirs.

use super::*;

/// `all` yields exactly the list's records, each once; nothing for an empty list.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_all(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_all(adapter: &dyn StorageAdapter) {
    let empty = unique_list("all-empty");
    assert!(
        ids_of_all(adapter, &empty).await.is_empty(),
        "an unknown list is empty"
    );

    let list = unique_list("all");
    let ids = store_many(adapter, &list, 2_500).await;
    let mut seen = ids_of_all(adapter, &list).await;
    let yielded = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(yielded, seen.len(), "all yields no record twice");
    assert_eq!(
        seen.into_iter().collect::<BTreeSet<_>>(),
        ids,
        "all yields every record"
    );
}

/// `count` matches what was stored and deleted.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_count(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_count(adapter: &dyn StorageAdapter) {
    let list = unique_list("count");
    assert_eq!(adapter.count(&list).await.unwrap(), 0);
    store_many(adapter, &list, 150).await;
    adapter.delete(&list, "task-00007").await.unwrap();
    assert_eq!(adapter.count(&list).await.unwrap(), 149);
}

async fn walk(adapter: &dyn StorageAdapter, list: &str, page_size: usize) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut token) = (Vec::new(), 0, None::<PageToken>);
    loop {
        let page = adapter
            .page(list, token.as_ref(), page_size)
            .await
            .unwrap_or_else(|e| panic!("page of {list} failed: {e}"));
        pages += 1;
        assert!(
            page.records.len() <= page_size.max(1),
            "a page holds at most page_size records"
        );
        assert!(
            page.records.iter().all(|r| r.task_list() == list),
            "a page holds only its list"
        );
        ids.extend(page.records.into_iter().map(|r| r.id().to_owned()));
        match page.next {
            Some(next) => token = Some(next),
            None => return (ids, pages),
        }
        assert!(pages <= 10_000, "the page walk ends");
    }
}

/// Walking pages yields every record exactly once, at most `page_size` at a time.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_paging(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_paging(adapter: &dyn StorageAdapter) {
    let list = unique_list("paging");
    let ids = store_many(adapter, &list, 257).await;
    for page_size in [1, 10, 256, 257, 1000] {
        let (seen, pages) = walk(adapter, &list, page_size).await;
        assert_eq!(
            seen.len(),
            ids.len(),
            "page size {page_size}: every record once"
        );
        assert_eq!(
            seen.into_iter().collect::<BTreeSet<_>>(),
            ids,
            "page size {page_size}"
        );
        assert!(
            pages >= ids.len().div_ceil(page_size),
            "page size {page_size}: pages are not oversized"
        );
    }
    let (seen, _) = walk(adapter, &list, 0).await;
    assert_eq!(seen.len(), ids.len(), "page size 0 counts as 1");
    let (seen, _) = walk(adapter, &unique_list("paging-empty"), 10).await;
    assert!(seen.is_empty(), "an unknown list has one empty last page");
}

/// A token kept as text resumes the walk where it stopped, on another call.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_resume_from_token(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_resume_from_token(adapter: &dyn StorageAdapter) {
    let list = unique_list("resume");
    let ids = store_many(adapter, &list, 120).await;
    let mut seen = Vec::new();
    let mut saved: Option<String> = None;
    loop {
        let token: Option<PageToken> = saved
            .as_deref()
            .map(|t| t.parse().expect("a token's text parses"));
        let page = adapter.page(&list, token.as_ref(), 50).await.expect("page");
        seen.extend(page.records.into_iter().map(|r| r.id().to_owned()));
        match page.next {
            Some(next) => saved = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        ids.len(),
        "resuming from text tokens yields every record once"
    );
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), ids);
}

/// A page token that the adapter never handed out and cannot read is an
/// [`Error::InvalidPageToken`], never a panic, another error or a page: from
/// `page`, and, with conditional writes, from `next_ready` and
/// `page_by_status` (bytes `ff 00 fe 01`: not UTF-8, and no built-in
/// adapter's token begins with `ff`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_invalid_token(&adapter).await; // panics if it breaks the rule
/// # }
/// ```
pub async fn check_invalid_token(adapter: &dyn StorageAdapter) {
    let list = unique_list("bad-token");
    store_many(adapter, &list, 3).await;
    let garbage = PageToken::from_bytes(vec![0xff, 0x00, 0xfe, 0x01]);
    match adapter.page(&list, Some(&garbage), 10).await {
        Err(Error::InvalidPageToken { .. }) => {}
        other => panic!("page: a garbage token must be InvalidPageToken, got {other:?}"),
    }
    if !adapter.capabilities().conditional_writes() {
        return; // next_ready and page_by_status are Unsupported: check_next_ready
    }
    match adapter
        .next_ready(&list, Some(&garbage), 10, Utc::now())
        .await
    {
        Err(Error::InvalidPageToken { .. }) => {}
        other => panic!("next_ready: a garbage token must be InvalidPageToken, got {other:?}"),
    }
    for status in [TaskStatus::Pending, TaskStatus::Failed] {
        match adapter
            .page_by_status(&list, status, Some(&garbage), 10)
            .await
        {
            Err(Error::InvalidPageToken { .. }) => {}
            other => panic!(
                "page_by_status({status:?}): a garbage token must be InvalidPageToken, got {other:?}"
            ),
        }
    }
}
