//! `taskrec-bench one`: one workload of one variant, measured in a process
//! of its own, so that its CPU time and peak RSS are its own. Prints an
//! [`Outcome`] as one JSON line.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use taskrec::adapter::StorageAdapter;
use taskrec::cassandra::{ready, CassandraAdapter};
use taskrec::{DynTaskData, MemoryAdapter, Task, TaskRegistry, TaskStore, Worker, WorkerConfig};

use crate::args::Args;
use crate::cql::{self, RawListRow, RawRow, StateRow, TaskRbListRow};
use crate::measure::{drain, histogram, record, run_ops, Meter, Outcome};
use crate::payload::{self, FetchFile, TYPE_NAME};
use crate::plan::{Table, Variant, Workload};

fn err(e: impl std::error::Error + 'static) -> String {
    crate::error_chain(&e)
}

/// The worker name every claim carries.
const OWNER: &str = "taskrec-bench";
/// Long enough that no claim runs out during a run.
const LEASE: Duration = Duration::from_secs(600);

/// The other, live worker that holds an idle list's tasks.
const HOLDER: &str = "taskrec-bench-live";
/// The lease the live worker holds an idle list's tasks under: as long as
/// the claim-next look-ahead (`LOOK_AHEAD_SLICES` slices of `HINT_SLICE`, 10
/// minutes), no longer. A sweep that finds nothing ready looks that far
/// ahead for the next hint; held tasks whose lease-end hints lie beyond it
/// look like "nothing hinted soon", and every idle poll then walks the
/// list, which is not the idle worker this row is about. Claimed before
/// the idle worker starts, every lease ends within its look-ahead, and
/// 10 minutes leave room for the set-up of 100,000 (checked below).
const HELD_LEASE: Duration =
    Duration::from_secs(ready::HINT_SLICE.as_secs() * ready::LOOK_AHEAD_SLICES as u64);
/// The idle worker's `idle_poll`: five polls a second, so that a window of
/// ten seconds holds fifty of them (the default, 1 s, would hold ten).
const IDLE_POLL: Duration = Duration::from_millis(200);
/// Saves and completions in flight while tasks flow through a churned list,
/// as in `tests/cassandra/churn.rs`.
pub const CHURN_IN_FLIGHT: usize = 128;
/// Timed reads of each kind per list: the figures are their medians.
pub const CHURN_READS: usize = 5;

/// What one child is asked to do.
pub struct Job {
    pub variant: Variant,
    pub workload: Workload,
    pub concurrency: usize,
    pub n: u64,
    pub addr: String,
    pub keyspace: String,
    pub list: String,
    /// Idle rows: seconds measured, after `idle_warmup` seconds of idling.
    pub idle_secs: u64,
    pub idle_warmup: u64,
    /// Churn rows: when not 0, the reads are timed again this many seconds
    /// after the first timing, once the emptied list's minutes have closed.
    pub churn_settle: u64,
    /// Flow rows: the measured window, and how many worker processes.
    pub flow_secs: u64,
    pub flow_workers: usize,
}

impl Job {
    pub fn from_args(args: &mut Args) -> Result<Self, String> {
        let job = Job {
            variant: args.required("variant")?.parse()?,
            workload: args.required("workload")?.parse()?,
            concurrency: args.number("concurrency", 1)?,
            n: args.number("n", 1000)?,
            addr: args
                .value("addr")
                .unwrap_or_else(|| crate::DEFAULT_ADDR.to_owned()),
            keyspace: args
                .value("keyspace")
                .unwrap_or_else(|| crate::DEFAULT_KEYSPACE.to_owned()),
            list: args.required("list")?,
            idle_secs: args.number("idle-secs", 10)?.max(1),
            idle_warmup: args.number("idle-warmup", 5)?,
            churn_settle: args.number("churn-settle", 0)?,
            flow_secs: args.number("flow-secs", crate::flow::DEFAULT_SECS)?,
            flow_workers: args.number("flow-workers", crate::flow::DEFAULT_WORKERS)?,
        };
        args.finish()?;
        Ok(job)
    }
}

pub fn main(args: &mut Args) -> Result<(), String> {
    let job = Job::from_args(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(err)?;
    let outcome = runtime.block_on(run(job))?;
    println!("{}", serde_json::to_string(&outcome).map_err(err)?);
    Ok(())
}

async fn run(job: Job) -> Result<Outcome, String> {
    match job.variant {
        Variant::Raw | Variant::RawSerde => raw(job).await,
        Variant::Taskrec | Variant::TaskrecDyn => {
            if job.workload.is_idle() {
                return idle(job).await;
            }
            if job.workload == Workload::Flow {
                return crate::flow::flow(&job).await;
            }
            let task_rb = job.workload == Workload::StreamTaskRb;
            let config = cql::adapter_config(&job.addr, &job.keyspace, task_rb)
                .list_concurrency(job.concurrency);
            let adapter = Arc::new(
                CassandraAdapter::connect(config.clone())
                    .await
                    .map_err(err)?,
            );
            if job.workload == Workload::Churn100k {
                // The reads come from an adapter of their own, as from
                // another process: nothing the flowing one remembers of
                // the list (the minutes it wrote) helps them.
                let reader = CassandraAdapter::connect(config).await.map_err(err)?;
                return churn(&job, TaskStore::from_arc(adapter), TaskStore::new(reader)).await;
            }
            let drain = job.workload.is_drain();
            let n = job.n;
            let mut outcome = typed(job, TaskStore::from_arc(Arc::clone(&adapter))).await?;
            if drain {
                // What the worker's sweeps read, whole drain: with the list's
                // size, this is where a drain's extra reads would show.
                let reads = adapter.ready_reads();
                // Paxos rounds: lightweight transactions on tasks (claims,
                // unless the owner of a part writes them plainly) and on parts.
                let paxos = reads.task_transactions + reads.part_transactions;
                outcome.figures.extend([
                    ("ready_hints".to_owned(), reads.hints as f64),
                    ("ready_states".to_owned(), reads.states as f64),
                    ("ready_walked".to_owned(), reads.walked as f64),
                    ("plain_claims".to_owned(), reads.plain_claims as f64),
                    (
                        "paxos_per_task".to_owned(),
                        (paxos as f64 / n.max(1) as f64 * 100.0).round() / 100.0,
                    ),
                ]);
            }
            Ok(outcome)
        }
        Variant::Memory => {
            let store = TaskStore::new(MemoryAdapter::new());
            if job.workload == Workload::Churn100k {
                // One process, one store: the reads are the same map's.
                return churn(&job, store.clone(), store).await;
            }
            if !matches!(
                job.workload,
                Workload::Save | Workload::SaveNew | Workload::SaveAll
            ) {
                // Set-up, before the meter starts: the records to find, list or complete.
                let template = payload::template();
                for i in 0..job.n {
                    let task = Task::new(job.list.as_str(), payload::id(i), template.clone());
                    store.save(&task.map_err(err)?).await.map_err(err)?;
                }
            }
            let (workload, list) = (job.workload, job.list.clone());
            let outcome = typed(job, store.clone()).await?;
            let emptying = workload == Workload::Complete || workload.is_drain();
            if emptying && store.count(&list).await.map_err(err)? != 0 {
                return Err(format!("{workload} left records behind"));
            }
            Ok(outcome)
        }
        Variant::Python => Err("the python variant runs bench/python/bench.py".to_owned()),
    }
}

// ---- raw and raw+serde: the scylla driver alone -------------------------
//
// On the raw variants' own table (`cql::RAW_TABLE`), the simplest design a
// user of the raw driver would write for the job: a save is one INSERT, a
// claim one read and one lightweight transaction, a listing the list's 16
// bucket partitions. taskrec's table is only ever used through taskrec.

struct Raw {
    session: Arc<Session>,
    statements: cql::RawStatements,
    task_rb_list: PreparedStatement,
    list: String,
    /// Decode into / encode from the typed struct with serde_json.
    serde: bool,
    /// Pre-serialized data: what the raw variant binds.
    data: String,
    template: FetchFile,
    /// The job's N: how many tasks `save-all` saves.
    n: u64,
}

async fn raw(job: Job) -> Result<Outcome, String> {
    let session = cql::session(&job.addr).await?;
    let ctx = Arc::new(Raw {
        statements: cql::RawStatements::prepare(&session, &job.keyspace).await?,
        task_rb_list: cql::task_rb_list(&session, &job.keyspace).await?,
        session,
        list: job.list.clone(),
        serde: job.variant == Variant::RawSerde,
        data: payload::template_json(),
        template: payload::template(),
        n: job.n,
    });
    let (n, c) = (job.n, job.concurrency);
    let meter = Meter::start();
    let (ops, latencies, unit) = match job.workload {
        Workload::Save => (n, run_ops(ctx, n, c, raw_save).await?, "op"),
        Workload::SaveNew => (n, run_ops(ctx, n, c, raw_save_new).await?, "op"),
        Workload::SaveAll => (n, run_ops(ctx, groups(n), c, raw_save_group).await?, "op"),
        Workload::Find => (n, run_ops(ctx, n, c, raw_find).await?, "op"),
        Workload::Complete => (n, run_ops(ctx, n, c, raw_complete).await?, "op"),
        Workload::Claim => (n, run_ops(ctx, n, c, raw_claim).await?, "op"),
        Workload::Drain
        | Workload::Drain10k
        | Workload::Drain100k
        | Workload::Idle10k
        | Workload::Idle100k
        | Workload::Churn100k
        | Workload::Flow => {
            return Err(format!(
                "{} is taskrec's (a Worker, its ready index, its listing); raw has none",
                job.workload
            ))
        }
        Workload::Stream => {
            let (items, latencies) = raw_stream_bucketed(&ctx, c).await?;
            (items, latencies, "item")
        }
        Workload::StreamTaskRb => {
            let (items, latencies) = raw_stream_task_rb(&ctx).await?;
            (items, latencies, "item")
        }
    };
    let outcome = meter.finish(ops, &latencies, unit);
    check_items(&job, outcome.ops)?;
    Ok(outcome)
}

async fn raw_save(ctx: Arc<Raw>, i: u64) -> Result<(), String> {
    raw_insert(&ctx, payload::id(i)).await
}

/// `save` of a task with an id made now, as `save-new` makes them.
async fn raw_save_new(ctx: Arc<Raw>, _: u64) -> Result<(), String> {
    raw_insert(&ctx, uuid::Uuid::now_v7().to_string()).await
}

async fn raw_insert(ctx: &Raw, id: String) -> Result<(), String> {
    let at = cql::now();
    let encoded;
    let data = if ctx.serde {
        let value = ctx.template.clone();
        encoded = serde_json::to_string(&value).map_err(err)?;
        encoded.as_str()
    } else {
        ctx.data.as_str()
    };
    let values = (
        ctx.list.as_str(),
        cql::bucket(&id),
        id.as_str(),
        TYPE_NAME,
        data,
        at,
        at,
        cql::PENDING_STATE,
        uuid::Uuid::new_v4(),
        0i32,
    );
    ctx.session
        .execute_unpaged(&ctx.statements.insert, values)
        .await
        .map_err(err)?;
    Ok(())
}

/// Tasks per group of `save-all`: `taskrec::SAVE_ALL_GROUP`.
const GROUP: u64 = taskrec::SAVE_ALL_GROUP as u64;

/// The groups of `save-all` for N tasks (the last one may be short).
fn groups(n: u64) -> u64 {
    n.div_ceil(GROUP)
}

/// The task indexes of group `g` of N.
fn group(g: u64, n: u64) -> std::ops::Range<u64> {
    g * GROUP..((g + 1) * GROUP).min(n)
}

/// A group of saves as a raw driver user batches them: one unlogged batch
/// per bucket partition of the raw table, sent at once.
async fn raw_save_group(ctx: Arc<Raw>, g: u64) -> Result<(), String> {
    let at = cql::now();
    let mut buckets: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for i in group(g, ctx.n) {
        let id = payload::id(i);
        buckets.entry(cql::bucket(&id)).or_default().push(id);
    }
    let sends = buckets.iter().map(|(&bucket, ids)| {
        let mut batch = Batch::new(BatchType::Unlogged);
        let mut values = Vec::with_capacity(ids.len());
        for id in ids {
            batch.append_statement(ctx.statements.insert.clone());
            values.push((
                ctx.list.as_str(),
                bucket,
                id.as_str(),
                TYPE_NAME,
                ctx.data.as_str(),
                at,
                at,
                cql::PENDING_STATE,
                uuid::Uuid::new_v4(),
                0i32,
            ));
        }
        let session = &ctx.session;
        async move { session.batch(&batch, values).await.map_err(err) }
    });
    futures::future::try_join_all(sends).await?;
    Ok(())
}

async fn raw_find(ctx: Arc<Raw>, i: u64) -> Result<(), String> {
    let id = payload::id(i);
    let result = ctx
        .session
        .execute_unpaged(
            &ctx.statements.find,
            (ctx.list.as_str(), cql::bucket(&id), id.as_str()),
        )
        .await
        .map_err(err)?;
    let rows = result.into_rows_result().map_err(err)?;
    let row = rows
        .maybe_first_row::<RawRow>()
        .map_err(err)?
        .ok_or_else(|| format!("{id} not found"))?;
    if ctx.serde {
        let data: FetchFile = serde_json::from_str(row.1.as_deref().unwrap_or("")).map_err(err)?;
        std::hint::black_box(data);
    } else {
        std::hint::black_box(row);
    }
    Ok(())
}

async fn raw_complete(ctx: Arc<Raw>, i: u64) -> Result<(), String> {
    let id = payload::id(i);
    ctx.session
        .execute_unpaged(
            &ctx.statements.delete,
            (ctx.list.as_str(), cql::bucket(&id), id.as_str()),
        )
        .await
        .map_err(err)?;
    Ok(())
}

/// A claim by hand, as `TaskStore::claim` does it on its own table: read the
/// record with its state and token, check the task is pending, write the
/// claimed state in a lightweight transaction on the token. The new state is
/// formatted text, not a serialized struct: the least a raw client could do.
async fn raw_claim(ctx: Arc<Raw>, i: u64) -> Result<(), String> {
    let id = payload::id(i);
    let bucket = cql::bucket(&id);
    let rows = ctx
        .session
        .execute_unpaged(
            &ctx.statements.load_state,
            (ctx.list.as_str(), bucket, id.as_str()),
        )
        .await
        .map_err(err)?
        .into_rows_result()
        .map_err(err)?;
    let (_type, _data, _created, _updated, state, token) = rows
        .maybe_first_row::<StateRow>()
        .map_err(err)?
        .ok_or_else(|| format!("{id} not found"))?;
    if state.as_deref() != Some(cql::PENDING_STATE) {
        return Err(format!("{id} is not pending: {state:?}"));
    }
    let token = token.ok_or_else(|| format!("{id} has no state token"))?;
    let lease_until = cql::now().0 + LEASE.as_millis() as i64;
    let claimed = format!(
        r#"{{"status":"claimed","owner":"{OWNER}","lease_until":{lease_until},"attempts":1}}"#
    );
    let values = (
        claimed.as_str(),
        uuid::Uuid::new_v4(),
        ctx.list.as_str(),
        bucket,
        id.as_str(),
        token,
    );
    let result = ctx
        .session
        .execute_unpaged(&ctx.statements.swap_state, values)
        .await
        .map_err(err)?
        .into_rows_result()
        .map_err(err)?;
    // The first column of a conditional write's answer is `[applied]`.
    let (applied,) = result
        .maybe_first_row::<(bool,)>()
        .map_err(err)?
        .ok_or_else(|| format!("no [applied] row for {id}"))?;
    if applied {
        Ok(())
    } else {
        Err(format!("the claim of {id} was not applied"))
    }
}

/// The raw table's 16 buckets through the driver's pager, `concurrency`
/// buckets at a time.
async fn raw_stream_bucketed(
    ctx: &Raw,
    concurrency: usize,
) -> Result<(u64, hdrhistogram::Histogram<u64>), String> {
    let list = ctx.list.as_str();
    let rows = stream::iter(0..cql::BUCKETS)
        .map(|bucket| {
            stream::once(async move {
                let pager = ctx
                    .session
                    .execute_iter(ctx.statements.list.clone(), (list, bucket as i32))
                    .await
                    .map_err(err)?;
                Ok::<_, String>(pager.rows_stream::<RawListRow>().map_err(err)?.map_err(err))
            })
            .try_flatten()
            .boxed()
        })
        .flatten_unordered(concurrency.max(1));
    if ctx.serde {
        drain(rows.map(|row| {
            let (_id, _type, data, _created, _updated) = row?;
            serde_json::from_str::<FetchFile>(data.as_deref().unwrap_or("")).map_err(err)
        }))
        .await
    } else {
        drain(rows).await
    }
}

async fn raw_stream_task_rb(ctx: &Raw) -> Result<(u64, hdrhistogram::Histogram<u64>), String> {
    let pager = ctx
        .session
        .execute_iter(ctx.task_rb_list.clone(), (ctx.list.as_str(),))
        .await
        .map_err(err)?;
    let rows = pager
        .rows_stream::<TaskRbListRow>()
        .map_err(err)?
        .map_err(err);
    if ctx.serde {
        drain(rows.map(|row| {
            let (_id, _type, data, _written) = row?;
            serde_json::from_str::<FetchFile>(data.as_deref().unwrap_or("")).map_err(err)
        }))
        .await
    } else {
        drain(rows).await
    }
}

// ---- taskrec, taskrec-dyn and memory: the typed API ----------------------

struct Typed<A: StorageAdapter> {
    store: TaskStore<A>,
    list: String,
    template: FetchFile,
    /// Through the registry and `DynTaskData` instead of the concrete type.
    registry: Option<TaskRegistry>,
    /// The job's N: how many tasks `save-all` saves.
    n: u64,
}

async fn typed<A: StorageAdapter + 'static>(
    job: Job,
    store: TaskStore<A>,
) -> Result<Outcome, String> {
    let ctx = Arc::new(Typed {
        store,
        list: job.list.clone(),
        template: payload::template(),
        registry: (job.variant == Variant::TaskrecDyn).then(payload::registry),
        n: job.n,
    });
    let (n, c) = (job.n, job.concurrency);
    let meter = Meter::start();
    let (ops, latencies, unit) = match job.workload {
        Workload::Save => (n, run_ops(ctx, n, c, typed_save).await?, "op"),
        Workload::SaveNew => (n, run_ops(ctx, n, c, typed_save_new).await?, "op"),
        Workload::SaveAll => {
            let saved = run_ops(ctx, groups(n), c, typed_save_group).await?;
            (n, saved, "op")
        }
        Workload::Find => (n, run_ops(ctx, n, c, typed_find).await?, "op"),
        Workload::Complete => (n, run_ops(ctx, n, c, typed_complete).await?, "op"),
        Workload::Claim => (n, run_ops(ctx, n, c, typed_claim).await?, "op"),
        Workload::Drain | Workload::Drain10k | Workload::Drain100k => {
            let (done, latencies) = worker_drain(&ctx, c).await?;
            (done, latencies, "item")
        }
        Workload::Idle10k | Workload::Idle100k | Workload::Churn100k | Workload::Flow => {
            return Err(format!("{} is set up by its own function", job.workload))
        }
        Workload::Stream | Workload::StreamTaskRb => {
            let (items, latencies) = match &ctx.registry {
                Some(registry) => drain(ctx.store.all_registered(registry, &ctx.list)).await?,
                None => drain(ctx.store.all::<FetchFile>(&ctx.list)).await?,
            };
            (items, latencies, "item")
        }
    };
    let outcome = meter.finish(ops, &latencies, unit);
    check_items(&job, outcome.ops)?;
    Ok(outcome)
}

async fn typed_save<A: StorageAdapter>(ctx: Arc<Typed<A>>, i: u64) -> Result<(), String> {
    let (list, id) = (ctx.list.as_str(), payload::id(i));
    if ctx.registry.is_some() {
        let data: DynTaskData = Box::new(ctx.template.clone());
        ctx.store
            .save(&Task::new(list, id, data).map_err(err)?)
            .await
            .map_err(err)
    } else {
        let data = ctx.template.clone();
        ctx.store
            .save(&Task::new(list, id, data).map_err(err)?)
            .await
            .map_err(err)
    }
}

/// A task built (its id made by taskrec) and saved.
async fn typed_save_new<A: StorageAdapter>(ctx: Arc<Typed<A>>, _: u64) -> Result<(), String> {
    let list = ctx.list.as_str();
    if ctx.registry.is_some() {
        let data: DynTaskData = Box::new(ctx.template.clone());
        let task = Task::build(list, data).map_err(err)?;
        ctx.store.save(&task).await.map_err(err)
    } else {
        let task = Task::build(list, ctx.template.clone()).map_err(err)?;
        ctx.store.save(&task).await.map_err(err)
    }
}

/// Group `g` of `save-all`: built, then saved with one `save_all` call.
async fn typed_save_group<A: StorageAdapter>(ctx: Arc<Typed<A>>, g: u64) -> Result<(), String> {
    let tasks = group(g, ctx.n)
        .map(|i| Task::new(ctx.list.as_str(), payload::id(i), ctx.template.clone()))
        .collect::<taskrec::Result<Vec<_>>>()
        .map_err(err)?;
    ctx.store.save_all(&tasks, 1).await.map_err(err)?;
    Ok(())
}

async fn typed_find<A: StorageAdapter>(ctx: Arc<Typed<A>>, i: u64) -> Result<(), String> {
    let (list, id) = (ctx.list.as_str(), payload::id(i));
    let found = match &ctx.registry {
        Some(registry) => ctx
            .store
            .find_registered(registry, list, &id)
            .await
            .map_err(err)?
            .map(|task| std::hint::black_box(task).id().len()),
        None => ctx
            .store
            .find::<FetchFile>(list, &id)
            .await
            .map_err(err)?
            .map(|task| std::hint::black_box(task).id().len()),
    };
    found.map(drop).ok_or_else(|| format!("{id} not found"))
}

/// `complete` takes any `Task<T>`: the key is all it uses. A `Task<()>`
/// keeps the bench from paying for data the call never reads.
async fn typed_complete<A: StorageAdapter>(ctx: Arc<Typed<A>>, i: u64) -> Result<(), String> {
    let task = Task::new(ctx.list.as_str(), payload::id(i), ()).map_err(err)?;
    ctx.store.complete(&task).await.map_err(err)
}

async fn typed_claim<A: StorageAdapter>(ctx: Arc<Typed<A>>, i: u64) -> Result<(), String> {
    let id = payload::id(i);
    let claim = ctx.store.claim(&ctx.list, &id, OWNER, LEASE).await;
    claim
        .map_err(err)?
        .map(|claim| drop(std::hint::black_box(claim)))
        .ok_or_else(|| format!("{id} was not claimable"))
}

/// A worker running `concurrency` tasks at once drains the list with a
/// handler that does nothing but note the time: what is measured is the
/// worker's own cost per task (listing, claiming, completing). A latency
/// sample is the wait from one handled task to the next, as for a stream.
async fn worker_drain<A: StorageAdapter + 'static>(
    ctx: &Typed<A>,
    concurrency: usize,
) -> Result<(u64, hdrhistogram::Histogram<u64>), String> {
    let config = WorkerConfig::new(OWNER)
        .concurrency(concurrency.max(1))
        .lease(LEASE);
    let worker = Worker::new(ctx.store.clone(), config);
    let clock = Mutex::new((Instant::now(), histogram()));
    let report = worker
        .drain_with::<FetchFile, _>(&ctx.list, |task| {
            std::hint::black_box(task);
            let mut clock = clock.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let since = now - clock.0;
            clock.0 = now;
            record(&mut clock.1, since);
            Box::pin(async { Ok(None) })
        })
        .await
        .map_err(err)?;
    let expected = (report.retried, report.failed, report.lost, report.errors);
    if expected != (0, 0, 0, 0) {
        return Err(format!("the drain did not run cleanly: {report:?}"));
    }
    let (_, latencies) = clock.into_inner().unwrap_or_else(PoisonError::into_inner);
    Ok((report.succeeded, latencies))
}

// ---- list sizes: an idle worker, and a churned list ----------------------

/// A worker idling over a list whose every task another live worker holds,
/// as in `tests/cassandra/claim_next.rs`: what its claim-next sweeps read
/// per second, from `ready_reads()` deltas. The figures to compare between
/// `idle-10k` and `idle-100k` are hints/s and states/s: an idle worker reads
/// the hints that came due and the next one, not the list.
///
/// Not in the window, by design: 60 s after a process's first sweep of a
/// list, and every 10 minutes after, it walks the list once (its pages and
/// every state) to find tasks whose hints were lost. That read grows with
/// the list; `--idle-warmup 0 --idle-secs 70` puts the first walk in the
/// window (`walked_per_s`).
async fn idle(job: Job) -> Result<Outcome, String> {
    let c = job.concurrency;
    let set_up = Instant::now();
    // The live worker's process: seeds the list, holds every task, waits
    // out the low mark's lag and sweeps the list once, as a live worker
    // does; that first sweep walks the list and sets its low mark, where a
    // new process starts. (Sooner, the new process's first sweep would
    // start behind the saves and read every one of their hints.)
    let session = cql::session(&job.addr).await?;
    let lists = cql::Lists::open(&session, &job.addr, &job.keyspace).await?;
    lists.seed(&job.list, job.n, &[Table::Taskrec]).await?;
    let held_at = Instant::now();
    lists.hold(&job.list, job.n, HOLDER, HELD_LEASE).await?;
    tokio::time::sleep(ready::LOW_SAFETY + Duration::from_secs(1)).await;
    let handed = lists.sweep(&job.list).await?;
    if handed != 0 {
        return Err(format!("{handed} tasks of the held list were ready"));
    }
    drop(lists);
    drop(session);
    let set_up_secs = set_up.elapsed().as_secs_f64();
    let (warmup, window) = (
        Duration::from_secs(job.idle_warmup),
        Duration::from_secs(job.idle_secs),
    );
    // The first leases (claimed first) must outlast the window, or the
    // idle worker would take their tasks and stop being idle.
    if held_at.elapsed() + warmup + window + Duration::from_secs(10) > HELD_LEASE {
        return Err(format!(
            "seeding and holding {} tasks took {set_up_secs:.0} s: the first leases ({} s) would run out during the measurement",
            job.n,
            HELD_LEASE.as_secs()
        ));
    }
    eprintln!(
        "{}: {} tasks seeded, held by {HOLDER} and swept in {set_up_secs:.1} s",
        job.list, job.n
    );

    // The idle worker, in a process of its own (a new adapter: nothing of
    // the list in its memory), serving the list until stopped.
    let config = cql::adapter_config(&job.addr, &job.keyspace, false).list_concurrency(c);
    let adapter = Arc::new(CassandraAdapter::connect(config).await.map_err(err)?);
    let worker = Worker::new(
        TaskStore::from_arc(Arc::clone(&adapter)),
        WorkerConfig::new(OWNER).concurrency(c).idle_poll(IDLE_POLL),
    );
    let stop = worker.stop_handle();
    let ran = AtomicU64::new(0);
    let lists = [job.list.as_str()];
    let serving = worker.serve_with::<FetchFile, _>(&lists, |task| {
        std::hint::black_box(task);
        ran.fetch_add(1, Ordering::Relaxed);
        Box::pin(async { Ok(None) })
    });
    let measuring = async {
        // The warm-up: the first sweep from the low mark, and `serve`'s
        // idle wait growing from a sixteenth of `idle_poll` to all of it.
        tokio::time::sleep(warmup).await;
        let before = adapter.ready_reads();
        let meter = Meter::start();
        tokio::time::sleep(window).await;
        let after = adapter.ready_reads();
        let read = (
            after.hints - before.hints,
            after.states - before.states,
            after.walked - before.walked,
        );
        let outcome = meter.finish(read.0 + read.1 + read.2, &histogram(), "none");
        stop.stop();
        (read, outcome)
    };
    let (report, ((hints, states, walked), mut outcome)) = futures::join!(serving, measuring);
    let report = report.map_err(err)?;
    let ran = ran.into_inner();
    if ran != 0 || report.errors != 0 {
        return Err(format!(
            "the idle worker was not idle: it ran {ran} tasks ({report:?})"
        ));
    }
    let secs = outcome.secs.max(1e-9);
    let per_s = |x: u64| (x as f64 / secs * 10.0).round() / 10.0;
    outcome.figures = BTreeMap::from([
        ("held".to_owned(), job.n as f64),
        ("idle_poll_ms".to_owned(), IDLE_POLL.as_millis() as f64),
        ("warmup_s".to_owned(), job.idle_warmup as f64),
        ("hints_per_s".to_owned(), per_s(hints)),
        ("states_per_s".to_owned(), per_s(states)),
        ("walked_per_s".to_owned(), per_s(walked)),
        ("cpu_us_per_s".to_owned(), per_s(outcome.cpu_us)),
        ("set_up_s".to_owned(), (set_up_secs * 10.0).round() / 10.0),
    ]);
    Ok(outcome)
}

/// Tasks flow through one list (each saved, then completed, `CHURN_IN_FLIGHT`
/// at a time) until `n` have been completed; then `page(100)` and `count()`
/// of the emptied list are timed against the same reads of a list that
/// never had tasks, through `reader`. The row's own figures (ops/s, CPU,
/// latencies) are the flow's, one op a save and its completion; the reads
/// are in its figures, medians of `CHURN_READS` each.
async fn churn<A, B>(
    job: &Job,
    store: TaskStore<A>,
    reader: TaskStore<B>,
) -> Result<Outcome, String>
where
    A: StorageAdapter + 'static,
    B: StorageAdapter + 'static,
{
    let ctx = Arc::new(Typed {
        store,
        list: job.list.clone(),
        template: payload::template(),
        registry: None,
        n: job.n,
    });
    let meter = Meter::start();
    let latencies = run_ops(ctx, job.n, CHURN_IN_FLIGHT, churn_flow).await?;
    let mut outcome = meter.finish(job.n, &latencies, "op");

    let never = format!("{}-never", job.list);
    // One untimed read of a third list: the reader's first statements and
    // connections are not the emptied list's cost.
    time_reads(&reader, &format!("{}-warm", job.list), &never, 1).await?;
    let reads = time_reads(&reader, &job.list, &never, CHURN_READS).await?;
    let mut figures = BTreeMap::from([("completed".to_owned(), job.n as f64)]);
    reads.put(&mut figures, "");
    if job.churn_settle > 0 {
        // Once the emptied list's minutes have closed, a listing may mark
        // them drained and stop reading them: the same reads, again.
        tokio::time::sleep(Duration::from_secs(job.churn_settle)).await;
        let settled = time_reads(&reader, &job.list, &never, CHURN_READS).await?;
        settled.put(&mut figures, "settled_");
        figures.insert("settle_s".to_owned(), job.churn_settle as f64);
    }
    outcome.figures = figures;
    Ok(outcome)
}

async fn churn_flow<A: StorageAdapter>(ctx: Arc<Typed<A>>, i: u64) -> Result<(), String> {
    let task = Task::new(ctx.list.as_str(), payload::id(i), ctx.template.clone()).map_err(err)?;
    ctx.store.save(&task).await.map_err(err)?;
    ctx.store.complete(&task).await.map_err(err)
}

/// Medians of the timed reads of a churn, in ms.
struct ChurnReads {
    page: f64,
    count: f64,
    never_page: f64,
    never_count: f64,
}

impl ChurnReads {
    fn put(&self, figures: &mut BTreeMap<String, f64>, prefix: &str) {
        // To the nanosecond: a memory adapter's read takes a fraction of a µs.
        let ms = |x: f64| (x * 1e6).round() / 1e6;
        let ratio = |a: f64, b: f64| ((a / b.max(1e-9)) * 100.0).round() / 100.0;
        for (name, value) in [
            ("page_ms", ms(self.page)),
            ("count_ms", ms(self.count)),
            ("never_page_ms", ms(self.never_page)),
            ("never_count_ms", ms(self.never_count)),
            ("page_ratio", ratio(self.page, self.never_page)),
            ("count_ratio", ratio(self.count, self.never_count)),
        ] {
            figures.insert(format!("{prefix}{name}"), value);
        }
    }
}

/// `rounds` times, one after another: `page(100)` and `count()` of
/// `emptied`, then of `never`; both must find nothing.
async fn time_reads<B: StorageAdapter>(
    reader: &TaskStore<B>,
    emptied: &str,
    never: &str,
    rounds: usize,
) -> Result<ChurnReads, String> {
    let mut times: [Vec<f64>; 4] = Default::default();
    for _ in 0..rounds {
        for (k, list) in [emptied, never].into_iter().enumerate() {
            let at = Instant::now();
            let (page, _) = reader
                .page::<FetchFile>(list, None, 100)
                .await
                .map_err(err)?;
            times[2 * k].push(at.elapsed().as_secs_f64() * 1e3);
            let at = Instant::now();
            let count = reader.count(list).await.map_err(err)?;
            times[2 * k + 1].push(at.elapsed().as_secs_f64() * 1e3);
            if !page.is_empty() || count != 0 {
                return Err(format!(
                    "{list} should be empty: page(100) found {}, count() {count}",
                    page.len()
                ));
            }
        }
    }
    let [page, count, never_page, never_count] = times.map(|mut t| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    });
    Ok(ChurnReads {
        page,
        count,
        never_page,
        never_count,
    })
}

/// A find or stream that saw fewer records than were stored measured the
/// wrong thing: fail loudly instead of reporting it.
fn check_items(job: &Job, items: u64) -> Result<(), String> {
    if items == job.n {
        Ok(())
    } else {
        Err(format!(
            "{} {} saw {items} records, expected {}",
            job.workload, job.variant, job.n
        ))
    }
}
