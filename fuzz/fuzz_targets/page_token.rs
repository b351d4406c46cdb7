//! Page token text: parsing arbitrary text, and handing whatever parses to
//! the memory adapter's page. A token that parses prints back as the same
//! hex (in lower case); nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskrec::{MemoryAdapter, PageToken, TaskRecord};
use taskrec::adapter::StorageAdapter;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(token) = text.parse::<PageToken>() else {
        return;
    };
    assert_eq!(token.to_string(), text.to_ascii_lowercase());
    assert_eq!(token.as_bytes().len() * 2, text.len());
    let adapter = MemoryAdapter::new();
    futures::executor::block_on(async {
        for id in ["a", "b", "c"] {
            adapter
                .store(&TaskRecord::new("l", id, "T", "{}").unwrap())
                .await
                .unwrap();
        }
        if let Ok(page) = adapter.page("l", Some(&token), 2).await {
            assert!(page.records.len() <= 2);
        }
    });
});
