//! `taskrec-bench one`: one workload of one variant, measured in a process
//! of its own, so that its CPU time and peak RSS are its own. Prints an
//! [`Outcome`] as one JSON line.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use taskrec::cassandra::CassandraAdapter;
use taskrec::{
    DynTaskData, MemoryAdapter, StorageAdapter, Task, TaskRegistry, TaskStore, Worker, WorkerConfig,
};

use crate::args::Args;
use crate::cql::{self, RawListRow, RawRow, StateRow, TaskRbListRow};
use crate::measure::{drain, histogram, record, run_ops, Meter, Outcome};
use crate::payload::{self, FetchFile, TYPE_NAME};
use crate::plan::{Variant, Workload};

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The worker name every claim carries.
const OWNER: &str = "taskrec-bench";
/// Long enough that no claim runs out during a run.
const LEASE: Duration = Duration::from_secs(600);

/// What one child is asked to do.
pub struct Job {
    pub variant: Variant,
    pub workload: Workload,
    pub concurrency: usize,
    pub n: u64,
    pub addr: String,
    pub keyspace: String,
    pub list: String,
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
            let task_rb = job.workload == Workload::StreamTaskRb;
            let config = cql::adapter_config(&job.addr, &job.keyspace, task_rb)
                .list_concurrency(job.concurrency);
            let adapter = CassandraAdapter::connect(config).await.map_err(err)?;
            typed(job, TaskStore::new(adapter)).await
        }
        Variant::Memory => {
            let store = TaskStore::new(MemoryAdapter::new());
            if job.workload != Workload::Save {
                // Set-up, before the meter starts: the records to find, list or complete.
                let template = payload::template();
                for i in 0..job.n {
                    let task = Task::new(job.list.as_str(), payload::id(i), template.clone());
                    store.save(&task.map_err(err)?).await.map_err(err)?;
                }
            }
            let (workload, list) = (job.workload, job.list.clone());
            let outcome = typed(job, store.clone()).await?;
            let emptying = matches!(workload, Workload::Complete | Workload::Drain);
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
    });
    let (n, c) = (job.n, job.concurrency);
    let meter = Meter::start();
    let (ops, latencies, unit) = match job.workload {
        Workload::Save => (n, run_ops(ctx, n, c, raw_save).await?, "op"),
        Workload::Find => (n, run_ops(ctx, n, c, raw_find).await?, "op"),
        Workload::Complete => (n, run_ops(ctx, n, c, raw_complete).await?, "op"),
        Workload::Claim => (n, run_ops(ctx, n, c, raw_claim).await?, "op"),
        Workload::Drain => return Err("a drain is taskrec's Worker; raw has none".to_owned()),
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
    let id = payload::id(i);
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
    });
    let (n, c) = (job.n, job.concurrency);
    let meter = Meter::start();
    let (ops, latencies, unit) = match job.workload {
        Workload::Save => (n, run_ops(ctx, n, c, typed_save).await?, "op"),
        Workload::Find => (n, run_ops(ctx, n, c, typed_find).await?, "op"),
        Workload::Complete => (n, run_ops(ctx, n, c, typed_complete).await?, "op"),
        Workload::Claim => (n, run_ops(ctx, n, c, typed_claim).await?, "op"),
        Workload::Drain => {
            let (done, latencies) = worker_drain(&ctx, c).await?;
            (done, latencies, "item")
        }
        Workload::Stream | Workload::StreamTaskRb => {
            let (items, latencies) = match &ctx.registry {
                Some(registry) => drain(ctx.store.all_any(registry, &ctx.list)).await?,
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

async fn typed_find<A: StorageAdapter>(ctx: Arc<Typed<A>>, i: u64) -> Result<(), String> {
    let (list, id) = (ctx.list.as_str(), payload::id(i));
    let found = match &ctx.registry {
        Some(registry) => ctx
            .store
            .find_any(registry, list, &id)
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
