//! `Arc<A>` and `Box<A>` of an adapter are adapters, by a macro that
//! forwards every method of the trait (a test checks it misses none).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

use super::*;

/// Adapters behind a pointer (`Arc<dyn StorageAdapter>`, `Box<...>`) are
/// adapters: every method forwards, provided ones included, so an adapter's
/// own overrides are kept.
macro_rules! forward_adapter {
    ($pointer:ident) => {
        #[async_trait]
        impl<A: StorageAdapter + ?Sized> StorageAdapter for $pointer<A> {
            fn name(&self) -> &'static str {
                (**self).name()
            }
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            async fn now(&self) -> Result<DateTime<Utc>> {
                (**self).now().await
            }
            fn clock_reading(&self) -> Option<crate::ClockReading> {
                (**self).clock_reading()
            }
            async fn store(&self, record: &TaskRecord) -> Result<()> {
                (**self).store(record).await
            }
            async fn store_all(&self, records: &[TaskRecord]) -> Result<()> {
                (**self).store_all(records).await
            }
            async fn store_with_ttl(&self, record: &TaskRecord, ttl: Duration) -> Result<()> {
                (**self).store_with_ttl(record, ttl).await
            }
            async fn store_scheduled(
                &self,
                record: &TaskRecord,
                not_before: DateTime<Utc>,
            ) -> Result<()> {
                (**self).store_scheduled(record, not_before).await
            }
            async fn store_if_absent(&self, record: &TaskRecord) -> Result<bool> {
                (**self).store_if_absent(record).await
            }
            async fn load_state(&self, task_list: &str, id: &str) -> Result<Option<StoredState>> {
                (**self).load_state(task_list, id).await
            }
            async fn swap_state(
                &self,
                task_list: &str,
                id: &str,
                expected: &StateToken,
                new: Option<&str>,
            ) -> Result<Option<StateToken>> {
                (**self).swap_state(task_list, id, expected, new).await
            }
            async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
                (**self).find(task_list, id).await
            }
            async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
                (**self).delete(task_list, id).await
            }
            async fn page(
                &self,
                task_list: &str,
                token: Option<&PageToken>,
                page_size: usize,
            ) -> Result<Page> {
                (**self).page(task_list, token, page_size).await
            }
            async fn next_ready(
                &self,
                task_list: &str,
                token: Option<&PageToken>,
                limit: usize,
                now: DateTime<Utc>,
            ) -> Result<ReadyTasks> {
                (**self).next_ready(task_list, token, limit, now).await
            }
            async fn stop_sweeping(&self, task_list: &str) -> Result<()> {
                (**self).stop_sweeping(task_list).await
            }
            async fn task_lists(&self) -> Result<Option<Vec<String>>> {
                (**self).task_lists().await
            }
            async fn pause_state(&self, task_list: &str) -> Result<Option<crate::ListPause>> {
                (**self).pause_state(task_list).await
            }
            async fn set_pause(
                &self,
                task_list: &str,
                pause: Option<&crate::ListPause>,
            ) -> Result<()> {
                (**self).set_pause(task_list, pause).await
            }
            async fn kept_counts(&self, task_list: &str) -> Result<Option<crate::KeptCounts>> {
                (**self).kept_counts(task_list).await
            }
            async fn keep_counts(&self, task_list: &str, counts: &crate::KeptCounts) -> Result<()> {
                (**self).keep_counts(task_list, counts).await
            }
            async fn count_by_status(&self, task_list: &str) -> Result<crate::StatusCounts> {
                (**self).count_by_status(task_list).await
            }
            async fn page_by_status(
                &self,
                task_list: &str,
                status: crate::TaskStatus,
                token: Option<&PageToken>,
                page_size: usize,
            ) -> Result<StoredStatusPage> {
                (**self)
                    .page_by_status(task_list, status, token, page_size)
                    .await
            }
            async fn append_history(
                &self,
                task_list: &str,
                id: &str,
                entry: &StoredStateChange,
                retention: &HistoryRetention,
            ) -> Result<()> {
                (**self)
                    .append_history(task_list, id, entry, retention)
                    .await
            }
            async fn history(
                &self,
                task_list: &str,
                id: &str,
                retention: &HistoryRetention,
            ) -> Result<Vec<StoredStateChange>> {
                (**self).history(task_list, id, retention).await
            }
            fn all<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Result<TaskRecord>> {
                (**self).all(task_list)
            }
            async fn count(&self, task_list: &str) -> Result<u64> {
                (**self).count(task_list).await
            }
        }
    };
}

forward_adapter!(Arc);
forward_adapter!(Box);

#[cfg(test)]
mod tests {
    /// The names of the methods a block of this file defines, in order: each
    /// `fn` or `async fn` at the block's own indentation (`indent` spaces).
    fn methods(block: &str, indent: usize) -> Vec<&str> {
        let prefix = " ".repeat(indent);
        block
            .lines()
            .filter_map(|line| line.strip_prefix(prefix.as_str()))
            .filter_map(|line| {
                let line = line.strip_prefix("async ").unwrap_or(line);
                let name = line.strip_prefix("fn ")?;
                name.split(['(', '<']).next()
            })
            .collect()
    }

    /// `forward_adapter!` forwards every method of the trait: a method it
    /// missed would run the trait's default for `Arc<A>` and `Box<A>`,
    /// silently ignoring `A`'s own (a scheduled save answering Unsupported
    /// through an `Arc`, say). Read from the source of both files, so a method
    /// added to the trait and not to the macro fails here.
    #[test]
    fn forward_adapter_forwards_every_method_of_the_trait() {
        let trait_source = include_str!("mod.rs");
        let trait_start = trait_source
            .find("pub trait StorageAdapter")
            .expect("the trait is in adapter/mod.rs");
        let trait_body = &trait_source[trait_start..];
        let trait_body = &trait_body[..trait_body.find("\n}\n").expect("the trait's end")];
        let source = include_str!("forward.rs");
        let macro_start = source
            .find("macro_rules! forward_adapter")
            .expect("the macro is in this file");
        let macro_body = &source[macro_start..];
        let macro_body = &macro_body[..macro_body.find("\n}\n").expect("the macro's end")];

        let mut in_trait = methods(trait_body, 4);
        let mut forwarded = methods(macro_body, 12);
        assert!(
            in_trait.len() >= 20,
            "the trait's methods were found: {in_trait:?}"
        );
        in_trait.sort_unstable();
        forwarded.sort_unstable();
        assert_eq!(
            forwarded, in_trait,
            "forward_adapter! forwards exactly the trait's methods"
        );
    }
}
