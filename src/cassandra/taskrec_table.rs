//! Taskrec's own table (schema 3): one partition per task, read and
//! written by key, with the listing entries ([`listing`](super::listing))
//! and the ready index ([`ready`](super::ready)) beside it. The module docs
//! of [`cassandra`](super) have what each operation costs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use scylla::client::session::Session;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;
use scylla::value::CqlTimestamp;

use crate::adapter::inspect::{load_states, status_of, StoredStatusPage};
use crate::adapter::ready::ReadyTasks;
use crate::adapter::{Capabilities, Page, PageToken};
use crate::error::Result;
use crate::key::built_at_millis;
use crate::record::TaskRecord;
use crate::state::{StateToken, StoredState, TaskState, TaskStatus, INITIAL_STATE_JSON};

use super::bulk::{self, BoxedRow, Write};
use super::clock::ClusterClock;
use super::config::CassandraConfig;
use super::held_claims::{
    ChangeEnded, Held, HeldClaims, HoldOutcome, Phase, Superseded, ToHold, Unwritten,
};
use super::lease_hints::{self, DeferredHints};
use super::list_counts::ListCounts;
use super::list_settings::ListSettings;
use super::listing::Listing;
use super::owners_watch::{Look, OwnersWatch};
use super::plain_claims::{self, PlainClaims};
use super::ready::{ClaimMode, Parts};
use super::ready::{ReadyIndex, ReadyReads};
use super::rows::record;
use super::table::Table;
use super::{
    first_row, lwt, prepare_with, report_warnings, storage, ttl_seconds, CassandraAdapter,
};

/// Ids whose entries one read locates, for a save of many tasks: one
/// request reads this many partitions by key (`id IN ?`).
const LOCATED_AT_ONCE: usize = 100;

/// A row read with its state: type, data, timestamps, state, token, when
/// its data and its token were written (µs), and its entry's minute.
type StateRow = (
    Option<String>,
    Option<String>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
    Option<String>,
    Option<uuid::Uuid>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

pub(super) struct TaskrecTable {
    session: Arc<Session>,
    buckets: u32,
    write_consistency: Consistency,
    /// The record with the initial state and a fresh token, `USING TTL ?`.
    insert_row: PreparedStatement,
    find_row: PreparedStatement,
    delete_row: PreparedStatement,
    /// The row, if no row has the key (a lightweight transaction).
    insert_if_absent: PreparedStatement,
    /// The slice of the task's listing entry (null: no task).
    read_slice: PreparedStatement,
    /// The ids and slices of many tasks of one list: `id IN ?`.
    read_slices: PreparedStatement,
    /// The record with its state and token.
    load: PreparedStatement,
    /// Gives a row written without a token (by another tool) its first one.
    adopt: PreparedStatement,
    /// The conditional state change (claims, renewals, retries).
    swap: PreparedStatement,
    /// The current token, the time it was written and the entry's slice,
    /// for a fenced delete.
    fence_read: PreparedStatement,
    /// A plain delete `USING TIMESTAMP` the current token's write time.
    fenced_delete_row: PreparedStatement,
    listing: Listing,
    /// The index of failed tasks: entries holding the id and the token of
    /// the change that failed it, in the minute the task failed, under
    /// `{table}_failed_*` (see [`page_failed`](Self::page_failed)).
    failed: Listing,
    /// Hints for claim-next; `None` when the configuration turns them off.
    ready: Option<ReadyIndex>,
    /// Lease-end hints of this process's claims, written only if the claim
    /// outlives a moment.
    deferred_hints: DeferredHints,
    /// Bulk requests in flight ([`bulk::BULK_REQUESTS_IN_FLIGHT`]).
    bulk_limit: tokio::sync::Semaphore,
    /// The cluster's time: what places an entry in its minute and a hint
    /// at its due time.
    clock: Arc<ClusterClock>,
    /// Whether a save of a task whose id taskrec made skips the read
    /// ([`CassandraConfig::unread_saves`]).
    unread_saves: bool,
    /// With [`CassandraConfig::owned_parts`]: claims in the parts this
    /// process owns, written without a lightweight transaction.
    plain_claims: Option<PlainClaims>,
    /// With [`CassandraConfig::owned_parts`]: claims of tasks this process
    /// handed out, held in memory for their first moments and written only
    /// if they outlive them (`held_claims`).
    held_claims: Option<HeldClaims>,
    /// Without [`CassandraConfig::owned_parts`]: the lists whose parts
    /// other processes own, where this one claims nothing.
    owners: Option<OwnersWatch>,
    /// Per-list settings a person changes: the pause flag.
    list_settings: ListSettings,
    /// Each list's kept counts.
    list_counts: ListCounts,
    /// `SELECT DISTINCT task_list FROM {table}_days`: the lists that wrote
    /// an entry.
    distinct_lists: PreparedStatement,
}

/// How a claim is written ([`TaskrecTable::claim_route`]).
enum ClaimRoute {
    /// Plainly, by the owner of the task's `part`, trusted until then (µs).
    Plain {
        part: u32,
        valid_until: i64,
        from: super::plain_claims::Loaded,
    },
    /// A lightweight transaction; by hand (`Some(µs)`: when the list's
    /// mark was written, before the look that found the task's part free)
    /// when this process does not own the task's part; by the part's owner
    /// (`owned_until: Some(µs)`), trusted only if seen to land before its
    /// lease ends less the margin, as its plain claims: a successor that
    /// took the part after that may have claimed the task plainly, over
    /// this claim unseen.
    Transaction {
        by_hand_since: Option<i64>,
        owned_until: Option<i64>,
    },
    /// Not at all: another process owns the task's part.
    Refused,
}

/// What a save writes of a task, bound as its row's values (with a fresh
/// token) and as its listing entry's.
struct Written<'a> {
    list: &'a str,
    id: &'a str,
    type_name: &'a str,
    data: &'a str,
    created: CqlTimestamp,
    updated: CqlTimestamp,
}

impl<'a> Written<'a> {
    fn of(record: &'a TaskRecord) -> Self {
        Written {
            list: record.task_list(),
            id: record.id(),
            type_name: record.type_name(),
            data: record.data(),
            created: CqlTimestamp(record.created_at().timestamp_millis()),
            updated: CqlTimestamp(record.updated_at().timestamp_millis()),
        }
    }

    /// The row's values: list, id, type, data, created_at, updated_at,
    /// `state`, a fresh token, `slice`.
    #[allow(clippy::type_complexity)]
    fn row(
        &self,
        state: &'a str,
        slice: i64,
    ) -> (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        CqlTimestamp,
        CqlTimestamp,
        &'a str,
        uuid::Uuid,
        i64,
    ) {
        let w = self;
        let token = uuid::Uuid::new_v4();
        (
            w.list,
            w.id,
            w.type_name,
            w.data,
            w.created,
            w.updated,
            state,
            token,
            slice,
        )
    }

    /// The entry's values: list, `slice`, `shard`, id, type, data,
    /// created_at, updated_at, `ttl` (seconds, 0 for none).
    #[allow(clippy::type_complexity)]
    fn entry(
        &self,
        slice: i64,
        shard: i32,
        ttl: i32,
    ) -> (
        &'a str,
        i64,
        i32,
        &'a str,
        &'a str,
        &'a str,
        CqlTimestamp,
        CqlTimestamp,
        i32,
    ) {
        let w = self;
        (
            w.list,
            slice,
            shard,
            w.id,
            w.type_name,
            w.data,
            w.created,
            w.updated,
            ttl,
        )
    }
}

/// How a save leaves its task: pending and claimable at once, or
/// scheduled (the state's JSON, and the time it opens).
#[derive(Clone, Copy)]
enum Opens<'a> {
    Now,
    At(&'a str, DateTime<Utc>),
}

impl TaskrecTable {
    pub(super) async fn prepare(
        session: Arc<Session>,
        config: &CassandraConfig,
        buckets: u32,
        clock: Arc<ClusterClock>,
    ) -> Result<Self> {
        let table = format!("{}.{}", config.keyspace, config.table);
        let (read, write) = (config.read_consistency, config.write_consistency);
        let prepare = |cql: String, consistency| {
            prepare_with(
                &session,
                cql,
                consistency,
                "does the table exist and have taskrec's layout?",
            )
        };
        let serial = config.serial_consistency;
        let listing =
            Listing::prepare(&session, &table, buckets, config, Arc::clone(&clock)).await?;
        let failed = Listing::prepare(
            &session,
            &format!("{table}_failed"),
            buckets,
            config,
            Arc::clone(&clock),
        )
        .await?;
        let plain_claims = match config.owned_parts && config.keeps_ready_index() {
            true => Some(PlainClaims::prepare(&session, &table, write).await?),
            false => None,
        };
        let list_settings = ListSettings::prepare(
            &session,
            &format!("{table}_lists"),
            read,
            write,
            Arc::clone(&clock),
        )
        .await;
        let list_counts =
            ListCounts::prepare(&session, &format!("{table}_counts"), read, write).await;
        // Without the ready index a process has no parts of its own, even
        // with `owned_parts`: it watches other processes' as one without.
        let owners = match config.owned_parts && config.keeps_ready_index() {
            false => {
                OwnersWatch::prepare(
                    &session,
                    &format!("{table}_ready_parts"),
                    &format!("{table}_ready_sweepers"),
                    write,
                )
                .await?
            }
            true => None,
        };
        let ready = if config.keeps_ready_index() {
            let parts = match config.owned_parts {
                true => Some(
                    Parts::prepare(
                        &session,
                        &format!("{table}_ready_parts"),
                        &format!("{table}_ready_sweepers"),
                        read,
                        write,
                        serial,
                    )
                    .await?,
                ),
                false => None,
            };
            Some(
                ReadyIndex::prepare(
                    &session,
                    &format!("{table}_ready"),
                    &format!("{table}_ready_low"),
                    read,
                    write,
                    config.ready_walk_every,
                    Arc::clone(&clock),
                    // A table made before hints carried tokens: hints as before.
                    super::schema::has_column(
                        &session,
                        config,
                        &format!("{}_ready", config.table),
                        "state_token",
                    )
                    .await?,
                )
                .await?
                .with_parts(parts),
            )
        } else {
            None
        };
        // A held claim is made from a state read: that read must see what
        // the last write did, as a plain claim's read-back does.
        let holds_claims = plain_claims.is_some()
            && (read == write
                || matches!(
                    read,
                    Consistency::Quorum
                        | Consistency::LocalQuorum
                        | Consistency::EachQuorum
                        | Consistency::All
                ));
        let mut taskrec_table = TaskrecTable {
            buckets,
            write_consistency: write,
            insert_row: prepare(
                format!(
                    "INSERT INTO {table} (task_list, id, type, data, created_at, updated_at, state, state_token, slice) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?"
                ),
                write,
            )
            .await?,
            find_row: prepare(
                format!("SELECT type, data, created_at, updated_at FROM {table} WHERE task_list = ? AND id = ?"),
                read,
            )
            .await?,
            insert_if_absent: lwt(
                serial,
                prepare(
                    format!(
                        "INSERT INTO {table} (task_list, id, type, data, created_at, updated_at, state, state_token, slice) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
                    ),
                    write,
                )
                .await?,
            ),
            delete_row: prepare(format!("DELETE FROM {table} WHERE task_list = ? AND id = ?"), write).await?,
            read_slice: prepare(
                format!("SELECT slice FROM {table} WHERE task_list = ? AND id = ?"),
                write,
            )
            .await?,
            read_slices: prepare(
                format!("SELECT id, slice FROM {table} WHERE task_list = ? AND id IN ?"),
                write,
            )
            .await?,
            load: prepare(
                format!(
                    "SELECT type, data, created_at, updated_at, state, state_token, WRITETIME(data), \
                     WRITETIME(state_token), slice FROM {table} WHERE task_list = ? AND id = ?"
                ),
                read,
            )
            .await?,
            // `type = ?` keeps a deleted row from being recreated: a missing
            // row's cells all count as null.
            adopt: lwt(
                serial,
                prepare(
                    format!(
                        "UPDATE {table} SET state_token = ? \
                         WHERE task_list = ? AND id = ? IF state_token = null AND type = ?"
                    ),
                    write,
                )
                .await?,
            ),
            swap: lwt(
                serial,
                prepare(
                    format!(
                        "UPDATE {table} SET state = ?, state_token = ? \
                         WHERE task_list = ? AND id = ? IF state_token = ?"
                    ),
                    write,
                )
                .await?,
            ),
            // Read at the write consistency: the level a claim's Paxos
            // round commits at, so the read sees it.
            fence_read: prepare(
                format!(
                    "SELECT state_token, WRITETIME(state_token), slice \
                     FROM {table} WHERE task_list = ? AND id = ?"
                ),
                write,
            )
            .await?,
            fenced_delete_row: prepare(
                format!("DELETE FROM {table} USING TIMESTAMP ? WHERE task_list = ? AND id = ?"),
                write,
            )
            .await?,
            listing,
            failed,
            ready,
            deferred_hints: DeferredHints::new(Arc::clone(&clock)),
            bulk_limit: bulk::limit(),
            clock,
            unread_saves: config.unread_saves,
            plain_claims,
            owners,
            list_settings,
            list_counts,
            distinct_lists: prepare(format!("SELECT DISTINCT task_list FROM {table}_days"), read)
                .await?,
            held_claims: None,
            session,
        };
        if holds_claims {
            taskrec_table.held_claims = taskrec_table.ready.as_ref().and_then(|ready| {
                HeldClaims::new(
                    Arc::clone(&taskrec_table.session),
                    taskrec_table.swap.clone(),
                    ready,
                    Arc::clone(&taskrec_table.clock),
                )
            });
        }
        Ok(taskrec_table)
    }

    /// The slice of the task's listing entry, read at the
    /// write consistency (so a save or delete sees the last save's).
    async fn locate(&self, task_list: &str, id: &str) -> Result<Option<i64>> {
        let row: Option<(Option<i64>,)> =
            first_row(&self.session, &self.read_slice, (task_list, id)).await?;
        Ok(row.and_then(|(slice,)| slice))
    }

    /// Sends statements that belong together, of one or several partitions:
    /// as one unlogged batch while they are small (one request), else as
    /// separate requests at once. Either way a failure is the caller's error,
    /// and doing it all again is safe (every statement is idempotent).
    async fn send_together(
        &self,
        parts: Vec<(&PreparedStatement, BoxedRow<'_>)>,
        bytes: usize,
    ) -> Result<()> {
        if bytes < bulk::MAX_BYTES {
            let mut batch = Batch::new(BatchType::Unlogged);
            let mut values = Vec::with_capacity(parts.len());
            for (statement, row) in parts {
                batch.append_statement(statement.clone());
                values.push(row);
            }
            batch.set_consistency(self.write_consistency);
            batch.set_is_idempotent(true);
            let result = self.session.batch(&batch, values).await.map_err(storage)?;
            report_warnings(&result);
        } else {
            futures::future::try_join_all(
                parts
                    .into_iter()
                    .map(|(statement, row)| self.session.execute_unpaged(statement, row)),
            )
            .await
            .map_err(storage)?;
        }
        Ok(())
    }

    /// Deletes the record if `expected` is still its token, without a
    /// lightweight transaction: one read of the token and the time it was
    /// written, then a plain delete `USING TIMESTAMP` that time.
    ///
    /// The delete removes exactly what was written up to the token's write
    /// (the claimed version and every state change of the claim), and
    /// nothing written after it: a save that lands between the read and the
    /// delete carries a later timestamp and survives whole. That ordering
    /// holds while the clocks of clients and Cassandra nodes agree (NTP),
    /// the same assumption plain saves beside claims already make.
    async fn fenced_delete(
        &self,
        task_list: &str,
        id: &str,
        expected: &StateToken,
    ) -> Result<Option<StateToken>> {
        let current = first_row::<(Option<uuid::Uuid>, Option<i64>, Option<i64>)>(
            &self.session,
            &self.fence_read,
            (task_list, id),
        )
        .await?;
        let (written_at, slice) = match current {
            Some((Some(token), Some(written_at), slice)) if token == expected.as_uuid() => {
                (written_at, slice)
            }
            _ => return Ok(None), // absent, or changed since the caller's token
        };
        let mut parts: Vec<(&PreparedStatement, BoxedRow<'_>)> = vec![(
            &self.fenced_delete_row,
            Box::new((written_at, task_list, id)),
        )];
        if let Some(slice) = slice {
            let listing = &self.listing;
            parts.push((
                listing.fenced_delete_statement(),
                Box::new((written_at, task_list, slice, listing.shard(id), id)),
            ));
        }
        self.send_together(parts, 0).await?;
        Ok(Some(*expected))
    }

    /// Deletes a task this process claimed plainly (`plain_claims`) or
    /// holds a claim of (`held_claims`) `USING TIMESTAMP` `row_at`, and its
    /// listing entry in `slice` `USING TIMESTAMP` `entry_at`: the claim's
    /// timestamp both, or for a held claim the version's last write and the
    /// moment it was held. No read first, since those timestamps are known.
    async fn delete_claimed(
        &self,
        task_list: &str,
        id: &str,
        (row_at, entry_at): (i64, i64),
        slice: Option<i64>,
    ) -> Result<()> {
        let mut parts: Vec<(&PreparedStatement, BoxedRow<'_>)> =
            vec![(&self.fenced_delete_row, Box::new((row_at, task_list, id)))];
        if let Some(slice) = slice {
            let listing = &self.listing;
            parts.push((
                listing.fenced_delete_statement(),
                Box::new((entry_at, task_list, slice, listing.shard(id), id)),
            ));
        }
        self.send_together(parts, 0).await
    }

    /// A change of a task's state (`swap_state`), after what this process
    /// held of the task's claim was taken out (`held`, if any).
    async fn change_state(
        &self,
        task_list: &str,
        id: &str,
        expected: &StateToken,
        new: Option<&str>,
        held: Option<(Phase, Arc<Held>, Option<Unwritten>)>,
    ) -> Result<Option<StateToken>> {
        let mut expected = *expected;
        let mut from_held = false;
        // What keeps a held claim's part from being handed back: kept until
        // the change that ends the claim is sent.
        let mut _unwritten = None;
        if let Some((phase, held, unwritten)) = held {
            _unwritten = unwritten;
            match (phase, new) {
                // Completed while held: the version run goes, no read first.
                (Phase::Held, None) => {
                    let at = (held.version_written, held.entry_deleted_at);
                    self.delete_claimed(task_list, id, at, held.slice).await?;
                    if let Some(ready) = &self.ready {
                        ready.count(|r| r.unread_completions += 1);
                        ready.changed(task_list, id, None, true);
                    }
                    return Ok(Some(expected));
                }
                // Any other change while held: from the version the row
                // still holds, as a lightweight transaction.
                (Phase::Held, Some(_)) => {
                    expected = StateToken::from_uuid(held.pending_token);
                    from_held = true;
                }
                // Written: the row holds the claim, changed as any other.
                (Phase::Written, _) => {}
                (Phase::Lost | Phase::Ended, _) => return Ok(None),
            }
        }
        let expected = &expected;
        // A plain claim of this process's: whatever this change is, what it
        // knew of the claim ends with it.
        let made = self
            .plain_claims
            .as_ref()
            .and_then(|plain| plain.forget(task_list, id))
            .filter(|made| made.token == expected.as_uuid());
        let Some(state) = new else {
            let deleted = match made {
                // The claim's own timestamp fences the delete: no read.
                Some(made) => {
                    let at = (made.written_at, made.written_at);
                    self.delete_claimed(task_list, id, at, made.slice).await?;
                    if let Some(ready) = &self.ready {
                        ready.count(|r| r.unread_completions += 1);
                    }
                    Some(*expected)
                }
                None => self.fenced_delete(task_list, id, expected).await?,
            };
            if let Some(ready) = &self.ready {
                ready.changed(task_list, id, None, deleted.is_some());
            }
            return Ok(deleted);
        };
        let parsed = TaskState::from_json(state).ok();
        let claims = parsed.as_ref().map(|s| s.status) == Some(TaskStatus::Claimed);
        let route = match (claims, made) {
            // A claim of a task this process holds a claim of, or of a
            // version it held a claim of and changed since (read before the
            // change landed): refused, with no request.
            (true, None)
                if !from_held
                    && self.held_claims.as_ref().is_some_and(|held_claims| {
                        held_claims.holds(task_list, id)
                            || held_claims
                                .superseded(task_list, id, expected.as_uuid())
                                .is_some()
                    }) =>
            {
                ClaimRoute::Refused
            }
            // A renewal of a plain or held claim of this process's is a
            // lightweight transaction, as every other change of a claim.
            (true, None) if !from_held => self.claim_route(task_list, id, expected).await?,
            // A claim held unwritten, now written with a new lease: the row
            // still holds the version read before the claim, which a
            // successor in the part could claim plainly once the lease ends.
            (true, None) => ClaimRoute::Transaction {
                by_hand_since: None,
                owned_until: Some(self.held_part_valid_until(task_list, id)),
            },
            _ => ClaimRoute::Transaction {
                by_hand_since: None,
                owned_until: None,
            },
        };
        if let ClaimRoute::Refused = route {
            return Ok(None);
        }
        // The hint first: if the state change lands, its hint is there; a
        // hint whose change did not land only costs a state read. A claim
        // under a long lease holds its hint back instead (`lease_hints`).
        let mut hint = None;
        let mut held_back = None;
        if let Some(ready) = &self.ready
            && let Some(from) = parsed.as_ref().and_then(TaskState::claimable_from)
        {
            let claimed = parsed.as_ref().map(|s| s.status) == Some(TaskStatus::Claimed);
            let now = self.clock.estimate();
            let lease_left = (from - now).to_std().unwrap_or_default();
            match lease_hints::delay_for(lease_left).filter(|_| claimed) {
                Some(delay) => {
                    let values = ReadyIndex::hint_values(task_list, id, from, now, None);
                    hint = Some((values.3, id.to_owned()));
                    held_back = Some((from, delay));
                }
                None => hint = Some(ready.hint(&self.session, task_list, id, from, None).await?),
            }
        }
        let token = uuid::Uuid::new_v4();
        if parsed
            .as_ref()
            .is_some_and(|s| s.status == TaskStatus::Failed)
        {
            self.index_failure(task_list, id, token).await?;
        }
        // `applied`: the change is the row's state now; `trusted`: the
        // caller may act on it (a claim landed too late is neither undone
        // nor run: it opens again when its lease ends).
        let (applied, trusted) = match route {
            ClaimRoute::Plain {
                part,
                valid_until,
                from,
            } => {
                // Handed out by this process, under a lease long enough to
                // hold the claim a moment before writing it.
                if let (Some(held_claims), Some((lease_end, delay)), Some(version_written), true) = (
                    &self.held_claims,
                    held_back,
                    from.version_written,
                    from.handed,
                ) {
                    let uncertainty = self
                        .clock
                        .reading()
                        .map_or(Duration::ZERO, |reading| reading.uncertainty);
                    let read_at_the_earliest = from.read_at
                        - i64::try_from(uncertainty.as_micros()).unwrap_or(i64::MAX / 2)
                        - 1;
                    let to_hold = ToHold {
                        task_list,
                        id,
                        part,
                        pending_token: from.token,
                        claim_token: token,
                        version_written,
                        slice: from.slice,
                        read_at_the_earliest,
                        state,
                        lease_end,
                        valid_until,
                        delay,
                    };
                    match held_claims.hold(to_hold) {
                        HoldOutcome::Held => {
                            if let Some(ready) = &self.ready {
                                ready.claimed_from(task_list, expected.as_uuid());
                                ready.changed(task_list, id, hint, true);
                            }
                            return Ok(Some(StateToken::from_uuid(token)));
                        }
                        HoldOutcome::AlreadyHeld => return Ok(None),
                        HoldOutcome::NotHeld => {}
                    }
                }
                let outcome = self
                    .claim_plainly(task_list, id, part, from, state, token, valid_until)
                    .await?;
                (outcome.landed, outcome.trusted)
            }
            ClaimRoute::Transaction {
                by_hand_since,
                owned_until,
            } => {
                let values = (state, token, task_list, id, expected.as_uuid());
                let row =
                    first_row::<scylla::value::Row>(&self.session, &self.swap, values).await?;
                if let Some(ready) = &self.ready {
                    ready.count(|r| r.task_transactions += 1);
                }
                let applied = super::applied(row.as_ref());
                let now = self.clock.estimate().timestamp_micros();
                let in_time =
                    by_hand_since.is_none_or(|started| plain_claims::by_hand_in_time(started, now));
                let owned = owned_until.is_none_or(|until| now < until);
                if applied && !in_time {
                    tracing::warn!(
                        task_list,
                        id,
                        "a claim by hand took too long to be trusted beside the owners of the \
                         list's parts; the task opens again when the claim's lease ends"
                    );
                }
                if applied && !owned {
                    tracing::warn!(
                        task_list,
                        id,
                        "a claim landed after the lease of its task's part could no longer be \
                         trusted (renewals late); the task opens again when the claim's lease ends"
                    );
                }
                (applied, applied && in_time && owned)
            }
            ClaimRoute::Refused => (false, false),
        };
        if let (Some(ready), Some((due, delay)), true) = (&self.ready, held_back, applied) {
            let insert = ready.insert_statement();
            if !self
                .deferred_hints
                .defer(&self.session, insert, task_list, id, due, delay)
            {
                ready.hint(&self.session, task_list, id, due, None).await?;
            }
        }
        if let Some(ready) = &self.ready {
            if claims && applied {
                ready.claimed_from(task_list, expected.as_uuid());
            }
            ready.changed(task_list, id, hint, applied);
        }
        Ok(trusted.then(|| StateToken::from_uuid(token)))
    }

    /// How a claim of (list, id) from `expected` is written: plainly by
    /// the owner of the task's part, else as a lightweight transaction, or
    /// not at all while another process owns the part (`plain_claims`).
    async fn claim_route(
        &self,
        task_list: &str,
        id: &str,
        expected: &StateToken,
    ) -> Result<ClaimRoute> {
        let (Some(plain), Some(parts)) = (
            &self.plain_claims,
            self.ready.as_ref().and_then(ReadyIndex::parts),
        ) else {
            // Without parts of its own: not in a list whose parts others own.
            let by_hand_since = match &self.owners {
                Some(owners) => {
                    let now = || self.clock.estimate().timestamp_micros();
                    match owners.look(&self.session, task_list, now).await? {
                        Look::Owned => return Ok(ClaimRoute::Refused),
                        Look::Free { marked_at } => Some(marked_at),
                    }
                }
                None => None,
            };
            return Ok(ClaimRoute::Transaction {
                by_hand_since,
                owned_until: None,
            });
        };
        let part = super::shard::shard_of(id, super::ready::SHARDS);
        let now = self.clock.estimate().timestamp_micros();
        match parts.claim_mode(task_list, part, now) {
            ClaimMode::Plain {
                valid_until,
                plain_from,
            } => {
                Ok(
                    match plain.claimable_plainly(task_list, id, expected, plain_from) {
                        Some(from) => ClaimRoute::Plain {
                            part,
                            valid_until,
                            from,
                        },
                        // Claimed before (its last holder may be renewing), or
                        // not read by this process since the part's hand window
                        // ended.
                        None => ClaimRoute::Transaction {
                            by_hand_since: None,
                            owned_until: Some(valid_until),
                        },
                    },
                )
            }
            ClaimMode::Early { valid_until } => Ok(ClaimRoute::Transaction {
                by_hand_since: None,
                owned_until: Some(valid_until),
            }),
            ClaimMode::NotHeld => self.claim_by_hand(parts, task_list, id, part).await,
        }
    }

    /// Until when (µs) a claim held unwritten in `id`'s part of
    /// `task_list` may land: the part's lease less the margin while this
    /// process holds the part or hands it back; never once it is gone.
    fn held_part_valid_until(&self, task_list: &str, id: &str) -> i64 {
        let part = super::shard::shard_of(id, super::ready::SHARDS);
        self.ready
            .as_ref()
            .and_then(ReadyIndex::parts)
            .and_then(|parts| parts.hold_valid_until(task_list, part))
            .unwrap_or(i64::MIN)
    }

    /// A claim of a task in a part this process does not hold: refused
    /// while another process holds it, else a lightweight transaction,
    /// trusted if it lands in time after the list's mark.
    ///
    /// The look that decides comes after the mark (`hand_marks`). A first
    /// look before it spares the mark when the part is owned: a process
    /// refused over and over would otherwise mark the list every second,
    /// and every owner taking a part of it then would claim by lightweight
    /// transactions for its hand window.
    async fn claim_by_hand(
        &self,
        parts: &Parts,
        task_list: &str,
        id: &str,
        part: u32,
    ) -> Result<ClaimRoute> {
        if !parts.marked_lately(task_list) && self.part_owned(parts, task_list, id, part).await? {
            return Ok(ClaimRoute::Refused);
        }
        let now = self.clock.estimate().timestamp_micros();
        let marked_at = parts.mark_hand(&self.session, task_list, now).await?;
        if self.part_owned(parts, task_list, id, part).await? {
            return Ok(ClaimRoute::Refused);
        }
        Ok(ClaimRoute::Transaction {
            by_hand_since: Some(marked_at),
            owned_until: None,
        })
    }

    /// Whether another process's lease on `part` of `task_list` holds, as
    /// the table says now.
    async fn part_owned(
        &self,
        parts: &Parts,
        task_list: &str,
        id: &str,
        part: u32,
    ) -> Result<bool> {
        let now = self.clock.estimate().timestamp_micros();
        Ok(
            match parts.owner_of(&self.session, task_list, part).await? {
                Some(owner) if owner.lease_end >= now => {
                    tracing::debug!(
                        task_list,
                        id,
                        part,
                        owner = %owner.owner,
                        "a claim refused: the task's part of its list is another process's"
                    );
                    true
                }
                _ => false,
            },
        )
    }

    /// Writes a claim plainly (see `plain_claims`), stamped with the
    /// cluster's time less the clock's uncertainty.
    #[allow(clippy::too_many_arguments)]
    async fn claim_plainly(
        &self,
        task_list: &str,
        id: &str,
        part: u32,
        from: plain_claims::Loaded,
        state: &str,
        token: uuid::Uuid,
        valid_until: i64,
    ) -> Result<plain_claims::Outcome> {
        let Some(plain) = &self.plain_claims else {
            unreachable!("a plain route is only chosen with plain claims");
        };
        let now = self.clock.now().await?;
        let uncertainty = self
            .clock
            .reading()
            .map_or(Duration::ZERO, |reading| reading.uncertainty);
        let written_at = now.timestamp_micros()
            - i64::try_from(uncertainty.as_micros()).unwrap_or(i64::MAX / 2)
            - 1;
        if written_at >= valid_until {
            // The lease is about to end unrenewed: no claim now.
            return Ok(plain_claims::Outcome {
                landed: false,
                trusted: false,
            });
        }
        let parts = self.ready.as_ref().and_then(ReadyIndex::parts);
        let outcome = plain
            .claim(
                &self.session,
                task_list,
                id,
                from,
                state,
                token,
                written_at,
                || parts.and_then(|parts| parts.valid_until(task_list, part)),
                || self.clock.estimate().timestamp_micros(),
            )
            .await?;
        if let Some(ready) = &self.ready {
            ready.count(|r| r.plain_claims += 1);
        }
        Ok(outcome)
    }

    /// A save to taskrec's table: where the task's entry is (one read by
    /// key), then its row, its entry and its ready hint together (and the
    /// removal of the entry it moves out of, if it moves). A task whose id
    /// taskrec made lately needs no read: its entry goes to its id's minute
    /// ([`Listing::place_new`]).
    async fn write_record(
        &self,
        record: &TaskRecord,
        ttl_given: Option<Duration>,
        opens: Opens<'_>,
    ) -> Result<()> {
        let (list, id) = (record.task_list(), record.id());
        // The cluster's time, not this process's clock: a clock behind
        // would list the task in a minute listings no longer read.
        let now = self.clock.now().await?;
        let built_at = built_at_millis(id);
        if let Some(at) = built_at {
            Listing::check_made_at(at, now)?;
        }
        let unread = built_at.filter(|_| self.unread_saves);
        let (slice, moved_from) = match unread.and_then(|at| Listing::place_new(at, now)) {
            Some(slice) => (slice, None),
            // Boxed: a save of a new task skips this read, and its
            // future would otherwise make every save's future 4 KiB larger.
            None => Listing::place(Box::pin(self.locate(list, id)).await?, built_at, now),
        };
        self.listing.register(&self.session, list, slice).await?;
        let parts = self.record_writes(record, slice, moved_from, now, ttl_given, opens)?;
        let bytes = parts.iter().map(|(_, _, bytes)| bytes).sum();
        let parts = parts
            .into_iter()
            .map(|(statement, row, _)| (statement, row))
            .collect();
        // Past a few kilobytes the server warns about a batch, and fails it
        // at 50: a large record goes as separate requests at once instead.
        self.send_together(parts, bytes).await
    }

    /// A save of a task only if its key is free (see
    /// `CassandraAdapter::store_if_absent`): whether it saved it.
    async fn write_record_if_absent(&self, record: &TaskRecord) -> Result<bool> {
        let (list, id) = (record.task_list(), record.id());
        let now = self.clock.now().await?;
        let built_at = built_at_millis(id);
        if let Some(at) = built_at {
            Listing::check_made_at(at, now)?;
        }
        // Taken already, as most racing producers find: one read, nothing written.
        if self.locate(list, id).await?.is_some() {
            return Ok(false);
        }
        let slice = match built_at.and_then(|at| Listing::place_new(at, now)) {
            Some(slice) => slice,
            None => Listing::place(None, built_at, now).0,
        };
        self.listing.register(&self.session, list, slice).await?;
        let written = Written::of(record);
        let row = written.row(INITIAL_STATE_JSON, slice);
        if let Some(ready) = &self.ready {
            ready
                .hint(&self.session, list, id, now, Some(row.7))
                .await?;
        }
        let answer =
            first_row::<scylla::value::Row>(&self.session, &self.insert_if_absent, row).await?;
        let applied = super::applied(answer.as_ref());
        if applied {
            let entry = written.entry(slice, self.listing.shard(id), 0);
            self.session
                .execute_unpaged(self.listing.insert_statement(), entry)
                .await
                .map_err(storage)?;
        }
        Ok(applied)
    }

    /// What a save of `record` writes, its entry in `slice`: its row (with
    /// the state `opens` says), its entry, its ready hint (due when the
    /// task opens) and the removal of the entry it moves out of,
    /// each with about what it weighs as Cassandra measures a batch (the
    /// size of its mutation: values, clustering keys, and about 16 bytes of
    /// timestamp and expiry per cell and row).
    fn record_writes<'a>(
        &'a self,
        record: &'a TaskRecord,
        slice: i64,
        moved_from: Option<i64>,
        now: DateTime<Utc>,
        ttl_given: Option<Duration>,
        opens: Opens<'a>,
    ) -> Result<Vec<(&'a PreparedStatement, BoxedRow<'a>, usize)>> {
        let (state, due) = match opens {
            Opens::Now => (INITIAL_STATE_JSON, now),
            Opens::At(state, at) => (state, at),
        };
        let ttl = ttl_seconds(ttl_given)?;
        let listing = &self.listing;
        let written = Written::of(record);
        let shard = listing.shard(written.id);
        let text = written.type_name.len() + written.data.len();
        let (list, id, type_name, data, created, updated, state, token, slice) =
            written.row(state, slice);
        let row = (
            list, id, type_name, data, created, updated, state, token, slice, ttl,
        );
        let entry = written.entry(slice, shard, ttl);
        let mut parts: Vec<(&PreparedStatement, BoxedRow<'a>, usize)> = vec![
            // Seven cells, the state's JSON among them, and the row's own.
            (&self.insert_row, Box::new(row), text + state.len() + 208),
            // Four cells and the id.
            (
                listing.insert_statement(),
                Box::new(entry),
                id.len() + text + 128,
            ),
        ];
        // Should the hint fail where the row did not, the save answers the
        // error (a save again writes both), and a walk finds the task
        // meanwhile.
        if let Some(ready) = &self.ready {
            let hint = ReadyIndex::hint_values(list, id, due, now, ttl_given);
            let (statement, values) = ready.saved_hint(hint, token);
            parts.push((statement, values, id.len() + 80));
        }
        if let Some(old) = moved_from {
            parts.push((
                listing.delete_statement(),
                Box::new((list, old, shard, id)),
                id.len() + 32,
            ));
        }
        Ok(parts)
    }

    /// Saves of many records (the last of each key), batched by the
    /// replicas of their partitions ([`bulk`]): where their entries are, one
    /// read per list and [`LOCATED_AT_ONCE`] ids, then every row, entry and
    /// hint in as few requests as the layout allows.
    async fn write_records(&self, records: &[TaskRecord]) -> Result<()> {
        let now = self.clock.now().await?;
        let mut lists: BTreeMap<&str, Vec<&TaskRecord>> = BTreeMap::new();
        for record in bulk::last_of_each_key(records) {
            lists.entry(record.task_list()).or_default().push(record);
        }
        let mut writes = Vec::with_capacity(records.len() * 3);
        for (list, records) in lists {
            // Tasks whose ids taskrec made lately go to their ids' minutes
            // unread; the others are located first.
            let mut placed_new: HashMap<&str, i64> = HashMap::new();
            for record in &records {
                let Some(at) = built_at_millis(record.id()) else {
                    continue;
                };
                Listing::check_made_at(at, now)?;
                if let Some(slice) = Listing::place_new(at, now).filter(|_| self.unread_saves) {
                    placed_new.insert(record.id(), slice);
                }
            }
            let ids: Vec<&str> = records
                .iter()
                .map(|r| r.id())
                .filter(|id| !placed_new.contains_key(id))
                .collect();
            let located = if ids.is_empty() {
                HashMap::new()
            } else {
                self.locate_all(list, &ids).await?
            };
            for record in records {
                let id = record.id();
                let (slice, moved_from) = match placed_new.get(id) {
                    Some(&slice) => (slice, None),
                    None => Listing::place(located.get(id).copied(), built_at_millis(id), now),
                };
                // Remembered per list: a write only for a slice not yet known.
                self.listing.register(&self.session, list, slice).await?;
                for (statement, row, bytes) in
                    self.record_writes(record, slice, moved_from, now, None, Opens::Now)?
                {
                    writes.push(Write::new(statement, row, bytes)?);
                }
            }
        }
        bulk::send(
            &self.session,
            self.write_consistency,
            &self.bulk_limit,
            writes,
        )
        .await
    }

    /// The slices of the entries of `ids` (those that have one), read at the
    /// write consistency as [`locate`](Self::locate) does, [`LOCATED_AT_ONCE`]
    /// ids per request.
    async fn locate_all(&self, task_list: &str, ids: &[&str]) -> Result<HashMap<String, i64>> {
        let reads = ids.chunks(LOCATED_AT_ONCE).map(|ids| async move {
            let _place = bulk::place(&self.bulk_limit).await;
            let rows = self
                .session
                .execute_unpaged(&self.read_slices, (task_list, ids))
                .await
                .map_err(storage)?
                .into_rows_result()
                .map_err(storage)?;
            rows.rows::<(String, Option<i64>)>()
                .map_err(storage)?
                .map(|row| row.map_err(storage))
                .collect::<Result<Vec<_>>>()
        });
        let mut slices = HashMap::with_capacity(ids.len());
        for rows in futures::future::try_join_all(reads).await? {
            slices.extend(
                rows.into_iter()
                    .filter_map(|(id, slice)| Some((id, slice?))),
            );
        }
        Ok(slices)
    }

    /// Puts the task into the failed index, in the current minute, with the
    /// token of the state change that fails it (as the entry's `data`):
    /// before that change, so a failed task is always there. The entry is
    /// the task's only while the task holds that token: one whose change did
    /// not land, or whose task changed since (retried, failed again, reset,
    /// completed, saved again, purged), is stale and removed by the next
    /// listing of failed tasks.
    async fn index_failure(&self, task_list: &str, id: &str, token: uuid::Uuid) -> Result<()> {
        // The last measurement carried forward when the time cannot be told:
        // a failure refused would leave the task to run again.
        let now = self.clock.now_or_last().await?;
        let slice = super::listing::slice_of(now);
        self.failed
            .register(&self.session, task_list, slice)
            .await?;
        let at = CqlTimestamp(now.timestamp_millis());
        let token = token.to_string();
        let values = (
            task_list,
            slice,
            self.failed.shard(id),
            id,
            "",
            &token,
            at,
            at,
            0i32,
        );
        self.session
            .execute_unpaged(self.failed.insert_statement(), values)
            .await
            .map_err(storage)?;
        Ok(())
    }

    /// A page of the list's failed tasks from the failed index: each entry's
    /// task is read by key, and an entry whose task is no longer failed (it
    /// was retried, reset, completed, saved again or purged since) is
    /// removed. So the listing reads the failed tasks, plus each stale entry
    /// once.
    async fn page_failed(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<StoredStatusPage> {
        let mut next = token.cloned();
        loop {
            let (entries, page_next) = self
                .failed
                .page_in(&self.session, task_list, next.as_ref(), page_size.max(1))
                .await?;
            // Each id with its slice and the token of the change that failed it.
            let keys = entries
                .into_iter()
                .map(|(slice, r)| (r.id().to_owned(), (slice, r.data().to_owned())))
                .collect();
            let load = |id: String| async move { self.load_state(task_list, &id).await };
            let states = load_states(keys, load).await?;
            let mut tasks = Vec::new();
            for (id, (slice, token), stored) in states {
                // Any time will do: it tells only scheduled tasks from
                // pending ones, never a failed one from another.
                match stored {
                    Some(stored)
                        if stored.token.as_uuid().to_string() == token
                            && status_of(&stored, DateTime::<Utc>::MIN_UTC)
                                == TaskStatus::Failed =>
                    {
                        tasks.push(stored)
                    }
                    _ => {
                        let values = (task_list, slice, self.failed.shard(&id), id.as_str());
                        self.session
                            .execute_unpaged(self.failed.delete_statement(), values)
                            .await
                            .map_err(storage)?;
                    }
                }
            }
            next = page_next;
            if !tasks.is_empty() || next.is_none() {
                return Ok(StoredStatusPage::new(tasks, next));
            }
        }
    }
}

#[async_trait]
impl Table for TaskrecTable {
    /// Time-to-live, timestamps and task state.
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_time_to_live(true)
            .with_keeps_timestamps(true)
            .with_conditional_writes(true)
    }

    fn shards(&self) -> u32 {
        self.buckets
    }

    fn ready_reads(&self) -> ReadyReads {
        let mut reads = self
            .ready
            .as_ref()
            .map(ReadyIndex::reads)
            .unwrap_or_default();
        if let Some(held_claims) = &self.held_claims {
            let (held, written, lost) = held_claims.counts();
            reads.held_claims = held;
            reads.held_claims_written = written;
            reads.held_claims_lost = lost;
            reads.task_transactions += written;
        }
        reads
    }

    async fn write(&self, record: &TaskRecord, ttl: Option<Duration>) -> Result<()> {
        self.write_record(record, ttl, Opens::Now).await
    }

    async fn write_if_absent(&self, record: &TaskRecord) -> Result<bool> {
        self.write_record_if_absent(record).await
    }

    /// One save, as `write`'s: the row holds the scheduled state and the
    /// ready hint is due at `not_before`, so sweeps pass over the task
    /// until then and hand it out from its hint after, with no walk.
    async fn write_scheduled(&self, record: &TaskRecord, not_before: DateTime<Utc>) -> Result<()> {
        let state = TaskState::scheduled(not_before).to_json()?;
        self.write_record(record, None, Opens::At(&state, not_before))
            .await
    }

    async fn write_all(&self, records: &[TaskRecord]) -> Result<()> {
        self.write_records(records).await
    }

    async fn find(&self, task_list: &str, id: &str) -> Result<Option<TaskRecord>> {
        let row = first_row(&self.session, &self.find_row, (task_list, id)).await?;
        Ok(row.and_then(|row| record(task_list, id.to_owned(), row)))
    }

    async fn delete(&self, task_list: &str, id: &str) -> Result<()> {
        let mut parts: Vec<(&PreparedStatement, BoxedRow<'_>)> =
            vec![(&self.delete_row, Box::new((task_list, id)))];
        if let Some(slice) = self.locate(task_list, id).await? {
            parts.push((
                self.listing.delete_statement(),
                Box::new((task_list, slice, self.listing.shard(id), id)),
            ));
        }
        self.send_together(parts, 0).await
    }

    async fn page(
        &self,
        task_list: &str,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<Page> {
        self.listing
            .page(&self.session, task_list, token, page_size)
            .await
    }

    /// Reads the list's entries partitions concurrently (`list_concurrency`
    /// at a time), each through the driver's paging: memory holds a few
    /// pages, never the list.
    fn all<'a>(&'a self, task_list: &'a str) -> BoxStream<'a, Result<TaskRecord>> {
        self.listing.all(&self.session, task_list)
    }

    async fn count(&self, task_list: &str) -> Result<u64> {
        self.listing.count(&self.session, task_list).await
    }

    async fn load_state(&self, task_list: &str, id: &str) -> Result<Option<StoredState>> {
        for _ in 0..2 {
            let read_at = self.clock.estimate().timestamp_micros();
            let row = first_row::<StateRow>(&self.session, &self.load, (task_list, id)).await?;
            let Some((
                Some(type_name),
                data,
                created,
                updated,
                state,
                token,
                data_written,
                token_written,
                slice,
            )) = row
            else {
                // No row, or only state cells outliving a record saved with a
                // TTL: no task either way.
                return Ok(None);
            };
            let Some(token) = token else {
                // Written without a token (by another tool): give it one,
                // conditionally, then read again.
                let values = (uuid::Uuid::new_v4(), task_list, id, type_name.as_str());
                self.session
                    .execute_unpaged(&self.adopt, values)
                    .await
                    .map_err(storage)?;
                continue;
            };
            let Some(record) = record(
                task_list,
                id.to_owned(),
                (Some(type_name), data, created, updated),
            ) else {
                return Ok(None); // unreachable: the type is there
            };
            if self
                .held_claims
                .as_ref()
                .and_then(|held| held.superseded(task_list, id, token))
                == Some(Superseded::Completed)
            {
                // A version this process held a claim of and completed
                // while this read was on its way: gone by now.
                return Ok(None);
            }
            let mut json = state.unwrap_or_else(|| INITIAL_STATE_JSON.to_owned());
            let mut token = token;
            // A claim this process holds from this version is what this
            // process sees of the task.
            if let Some((held_state, held_token)) = self
                .held_claims
                .as_ref()
                .and_then(|held| held.as_seen_here(task_list, id, token))
            {
                (json, token) = (held_state, held_token);
            }
            if let Some(plain) = &self.plain_claims {
                let was_claimed = TaskState::from_json(&json)
                    .map_or(true, |state| state.status == TaskStatus::Claimed);
                let seen = plain_claims::Seen {
                    token,
                    data_written,
                    token_written,
                    slice,
                    was_claimed,
                    read_at,
                };
                plain.loaded(task_list, id, seen);
            }
            return Ok(Some(StoredState {
                json,
                token: StateToken::from_uuid(token),
                record,
            }));
        }
        Err(storage(format!(
            "the state token of {task_list:?}/{id:?} keeps disappearing"
        )))
    }

    async fn swap_state(
        &self,
        task_list: &str,
        id: &str,
        expected: &StateToken,
        new: Option<&str>,
    ) -> Result<Option<StateToken>> {
        // Whatever this change is, a lease-end hint this process still
        // holds back for the task's last claim is not needed any more.
        self.deferred_hints.cancel(task_list, id);
        // A claim this process holds in memory (`held_claims`) ends with
        // this change, written or not; the version it was held from is
        // marked superseded until the change is known not to have been sent.
        let held = match &self.held_claims {
            Some(held_claims) => held_claims.take(task_list, id, expected.as_uuid()).await,
            None => None,
        };
        let Some(held) = held else {
            return self.change_state(task_list, id, expected, new, None).await;
        };
        let (phase, pending) = (held.0, held.1.pending_token);
        let result = self
            .change_state(task_list, id, expected, new, Some(held))
            .await;
        if let Some(held_claims) = &self.held_claims {
            let ended = match (&result, new) {
                // Lost before this change: nothing was sent, and the row may
                // still hold the version (a part gone to another process).
                _ if matches!(phase, Phase::Lost | Phase::Ended) => ChangeEnded::NotSent,
                (Ok(Some(_)), None) => ChangeEnded::Completed,
                (Ok(_), _) => ChangeEnded::Changed,
                (Err(_), _) => ChangeEnded::NotSent,
            };
            held_claims.change_ended(task_list, id, pending, ended);
        }
        result
    }

    async fn page_by_status(
        &self,
        adapter: &CassandraAdapter,
        task_list: &str,
        status: TaskStatus,
        token: Option<&PageToken>,
        page_size: usize,
    ) -> Result<StoredStatusPage> {
        match status {
            TaskStatus::Failed => self.page_failed(task_list, token, page_size).await,
            _ => {
                crate::adapter::inspect::page_by_walking(
                    adapter, task_list, status, token, page_size,
                )
                .await
            }
        }
    }

    async fn task_lists(&self, session: &Session) -> Result<Option<Vec<String>>> {
        let mut names = std::collections::BTreeSet::new();
        super::discovery::read_names(session, &self.distinct_lists, &mut names).await?;
        self.list_settings
            .add_paused_lists(session, &mut names)
            .await?;
        Ok(Some(names.into_iter().collect()))
    }

    async fn pause_state(
        &self,
        session: &Session,
        task_list: &str,
    ) -> Result<Option<crate::ListPause>> {
        self.list_settings.pause_state(session, task_list).await
    }

    async fn set_pause(
        &self,
        session: &Session,
        task_list: &str,
        pause: Option<&crate::ListPause>,
    ) -> Result<()> {
        self.list_settings
            .set_pause(session, task_list, pause)
            .await
    }

    async fn kept_counts(
        &self,
        session: &Session,
        task_list: &str,
    ) -> Result<Option<crate::KeptCounts>> {
        self.list_counts.read(session, task_list).await
    }

    async fn keep_counts(
        &self,
        session: &Session,
        task_list: &str,
        counts: &crate::KeptCounts,
    ) -> Result<()> {
        self.list_counts.write(session, task_list, counts).await
    }

    async fn stop_sweeping(&self, session: &Session, task_list: &str) -> Result<()> {
        match &self.ready {
            Some(ready) => ready.stop_sweeping(session, task_list).await,
            None => Ok(()),
        }
    }

    fn parts_held(&self, task_list: &str) -> Vec<u32> {
        self.ready
            .as_ref()
            .map(|ready| ready.parts_held(task_list))
            .unwrap_or_default()
    }

    async fn next_ready(
        &self,
        adapter: &CassandraAdapter,
        task_list: &str,
        token: Option<&PageToken>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        match &self.ready {
            Some(ready) => {
                let handed = ready
                    .next_ready(adapter, task_list, token, limit, now)
                    .await?;
                let mut handed = handed;
                if let Some(held_claims) = &self.held_claims {
                    // Read before a change of this process's landed: not
                    // the task's state any more.
                    handed.tasks.retain(|task| {
                        held_claims
                            .superseded(task_list, task.record.id(), task.token.as_uuid())
                            .is_none()
                    });
                }
                if let Some(plain) = &self.plain_claims {
                    for task in &handed.tasks {
                        plain.handed(task_list, task.record.id(), task.token.as_uuid());
                    }
                }
                Ok(handed)
            }
            None => {
                // Without the ready index: the list's pages and every state.
                let (ready, _) =
                    crate::adapter::ready::ready_by_walking(adapter, task_list, token, limit, now)
                        .await?;
                Ok(ready)
            }
        }
    }
}
