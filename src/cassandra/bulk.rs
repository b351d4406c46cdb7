//! Many writes at once ([`StorageAdapter::store_all`](crate::adapter::StorageAdapter::store_all)):
//! statements packed into unlogged batches by the replicas that own their
//! partitions.
//!
//! An unlogged batch is one request, and it costs the cluster nothing extra
//! when every partition in it lives on the node that receives it: the
//! driver sends a batch to a replica of its first statement's partition, so
//! a batch whose partitions share one replica set is written where it
//! lands, and forwarded only to the other replicas, as each statement on
//! its own would be. A batch that spans replica sets makes its receiver a
//! coordinator for the rest, which is why batches are usually advised
//! against. So statements are grouped by replica set first (on one node, or
//! where every node holds every partition, that is one group), and in each
//! group, by partition: several rows of one partition make one mutation.
//!
//! A batch is also kept under Cassandra's warnings: at most
//! [`MAX_PARTITIONS`] partitions (`unlogged_batch_across_partitions_warn_threshold`,
//! 10) and about [`MAX_BYTES`] (`batch_size_warn_threshold`, 5 KiB). A
//! statement heavier than that goes alone, as a plain request.

use std::collections::{BTreeMap, HashSet};

use futures::future::{BoxFuture, FutureExt};
use futures::{StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::routing::Token;
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::Result;
use crate::record::TaskRecord;

use super::{report_warnings, storage};

/// Most partitions one batch spans: Cassandra warns past 10.
pub(super) const MAX_PARTITIONS: usize = 10;
/// About the most a batch weighs: Cassandra warns past 5 KiB of mutations.
pub(super) const MAX_BYTES: usize = 4 * 1024;
/// Batches of one call in flight at once.
const BATCHES_IN_FLIGHT: usize = 8;
/// Bulk requests (batches and locating reads) in flight at once across
/// every call of one adapter: `save_all` with many groups in flight must
/// not bury the server in mutations and time out other work beside it (a
/// test saving 10,000 tasks with 256 groups in flight did; so did claims
/// beside 64 batches in flight, each of up to ten partitions, on the
/// scripts' fsync-per-mutation server).
pub(super) const BULK_REQUESTS_IN_FLIGHT: usize = 16;

/// The adapter-wide limit of bulk requests in flight.
pub(super) fn limit() -> Semaphore {
    Semaphore::new(BULK_REQUESTS_IN_FLIGHT)
}

/// Waits for a place among the bulk requests in flight.
pub(super) async fn place(limit: &Semaphore) -> SemaphorePermit<'_> {
    // The semaphore is never closed.
    limit
        .acquire()
        .await
        .expect("the bulk limit is never closed")
}

/// One statement's values, for statements of different shapes sent together.
pub(super) type BoxedRow<'a> = Box<dyn SerializeRow + Send + Sync + 'a>;

/// One statement to send, with what it is packed by.
pub(super) struct Write<'a> {
    statement: &'a PreparedStatement,
    values: BoxedRow<'a>,
    /// Its partition's token; `None` when the driver cannot tell (no
    /// partition key in the statement's metadata).
    token: Option<Token>,
    /// About what it adds to a batch: its values' text.
    bytes: usize,
}

impl<'a> Write<'a> {
    /// `values` bound to `statement`; `bytes` what its text weighs, roughly.
    pub(super) fn new(
        statement: &'a PreparedStatement,
        values: BoxedRow<'a>,
        bytes: usize,
    ) -> Result<Self> {
        let token = statement.calculate_token(&values).map_err(storage)?;
        Ok(Write {
            statement,
            values,
            token,
            bytes,
        })
    }
}

/// The records to write for a save of many: the last of each (task list,
/// id), in their order, as saving them one after another would leave.
pub(super) fn last_of_each_key(records: &[TaskRecord]) -> Vec<&TaskRecord> {
    let mut seen = HashSet::with_capacity(records.len());
    let mut kept: Vec<&TaskRecord> = records
        .iter()
        .rev()
        .filter(|r| seen.insert((r.task_list(), r.id())))
        .collect();
    kept.reverse();
    kept
}

/// The statements of one batch.
type Batched<'a> = Vec<Write<'a>>;

/// Sends every write: grouped by replica set, then packed into batches of
/// at most [`MAX_PARTITIONS`] partitions and about [`MAX_BYTES`], a few
/// batches at a time. `Ok` once all of them are written. Every statement
/// must be idempotent: after an error, some were written and some not.
pub(super) async fn send<'a>(
    session: &'a Session,
    consistency: Consistency,
    limit: &'a Semaphore,
    writes: Vec<Write<'a>>,
) -> Result<()> {
    // Boxed before they are streamed: a stream holding a closure over the
    // batches' lifetime is not `Send` as the adapter's futures must be.
    let sends: Vec<BoxFuture<'a, Result<()>>> = pack(session, writes)
        .into_iter()
        .map(|batch| {
            async move {
                let _place = place(limit).await;
                send_batch(session, consistency, batch).await
            }
            .boxed()
        })
        .collect();
    futures::stream::iter(sends)
        .buffer_unordered(BATCHES_IN_FLIGHT)
        .try_collect::<()>()
        .await
}

/// The writes in batches: by replica set, by token inside one (so a
/// partition's rows sit together), cut by partitions and bytes.
fn pack<'a>(session: &Session, writes: Vec<Write<'a>>) -> Vec<Batched<'a>> {
    let cluster = session.get_cluster_state();
    let mut groups: BTreeMap<Vec<uuid::Uuid>, Vec<Write<'a>>> = BTreeMap::new();
    for write in writes {
        let replicas = match (write.token, write.statement.get_table_spec()) {
            (Some(token), Some(table)) => {
                let mut hosts: Vec<uuid::Uuid> = cluster
                    .get_token_endpoints(table.ks_name(), table.table_name(), token)
                    .iter()
                    .map(|(node, _shard)| node.host_id)
                    .collect();
                hosts.sort_unstable();
                hosts
            }
            // Where the replicas are unknown, the write goes alone.
            _ => Vec::new(),
        };
        groups.entry(replicas).or_default().push(write);
    }
    let mut batches = Vec::new();
    for (replicas, mut group) in groups {
        if replicas.is_empty() {
            batches.extend(group.into_iter().map(|write| vec![write]));
            continue;
        }
        group.sort_by_key(|write| write.token.map(|t| t.value()));
        let (mut batch, mut bytes, mut partitions): (Batched<'a>, usize, usize) =
            (Vec::new(), 0, 0);
        for write in group {
            let new_partition = batch.last().is_none_or(|last| last.token != write.token);
            let full = partitions + usize::from(new_partition) > MAX_PARTITIONS
                || bytes + write.bytes > MAX_BYTES;
            if full && !batch.is_empty() {
                batches.push(std::mem::take(&mut batch));
                (bytes, partitions) = (0, 0);
            }
            if batch.last().is_none_or(|last| last.token != write.token) {
                partitions += 1;
            }
            bytes += write.bytes;
            batch.push(write);
        }
        if !batch.is_empty() {
            batches.push(batch);
        }
    }
    batches
}

/// One request: a plain statement when alone, else an unlogged batch.
async fn send_batch<'a>(
    session: &'a Session,
    consistency: Consistency,
    mut writes: Batched<'a>,
) -> Result<()> {
    if writes.len() == 1 {
        let write = writes.pop().expect("one write");
        let result = session
            .execute_unpaged(write.statement, write.values)
            .await
            .map_err(storage)?;
        report_warnings(&result);
        return Ok(());
    }
    let mut batch = Batch::new(BatchType::Unlogged);
    let mut values = Vec::with_capacity(writes.len());
    for write in writes {
        batch.append_statement(write.statement.clone());
        values.push(write.values);
    }
    batch.set_consistency(consistency);
    batch.set_is_idempotent(true);
    let result = session.batch(&batch, values).await.map_err(storage)?;
    report_warnings(&result);
    Ok(())
}
