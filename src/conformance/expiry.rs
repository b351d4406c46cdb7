//! Records that expire (capability `expiring_records`), or an adapter that
//! says it cannot.

use super::*;

/// With a time-to-live capability, a record stored with a TTL is there until
/// it expires (an hour here); without it, `store_with_ttl` is `Unsupported`
/// and stores nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let adapter = taskrec::MemoryAdapter::new();
/// taskrec::conformance::check_time_to_live(&adapter).await; // no TTL in memory: the clean refusal
/// # }
/// ```
pub async fn check_time_to_live(adapter: &dyn StorageAdapter) {
    let list = unique_list("ttl");
    let rec = record(&list, "t", r#"{"ttl":true}"#);
    let outcome = adapter
        .store_with_ttl(&rec, std::time::Duration::from_secs(3600))
        .await;
    if adapter.capabilities().time_to_live() {
        outcome.unwrap_or_else(|e| panic!("store_with_ttl failed: {e}"));
        assert_eq!(
            find(adapter, &list, "t").await.map(|r| r.data().to_owned()),
            Some(rec.data().to_owned())
        );
    } else {
        assert!(
            matches!(outcome, Err(Error::Unsupported { .. })),
            "got {outcome:?}"
        );
        assert_eq!(
            find(adapter, &list, "t").await,
            None,
            "an unsupported TTL stores nothing"
        );
    }
}
