//! One task, from its claim to its recorded outcome: the claim, the decode,
//! the handler run under a lease renewed every third of it and within the
//! time limit, then success, a retry after a backoff, a final failure, a
//! release or a lost claim.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::Instrument;

use super::events::AttemptReporter;
use super::report::Counters;
use super::{HandlerFuture, HandlerResult, Worker, TRACING_TARGET};
use crate::adapter::StorageAdapter;
use crate::data::TaskDecode;
use crate::error::Result;
use crate::observe::{TaskLabels, CLAIMS_TOTAL, FAILURES_TOTAL, UNKNOWN_TYPES_TOTAL};
use crate::state::{StoredState, TaskState};
use crate::store::{Claim, ClaimAttempt};
use crate::task::Task;

impl<A: StorageAdapter + ?Sized> Worker<A> {
    pub(super) async fn visit<'h, T, H>(
        &self,
        ready: StoredState,
        handler: &H,
        counters: &Counters,
        list_label: &Arc<str>,
        contended: &AtomicBool,
    ) -> Result<Visit>
    where
        T: TaskDecode,
        H: Fn(Task<T>) -> HandlerFuture<'h> + Sync,
    {
        if *self.stop.borrow() {
            return Ok(Visit::Closed);
        }
        // Paused since the sweep handed it out: left unclaimed (the flag's
        // read is shared by the pass, at most one per half idle poll).
        if self.paused(ready.record.task_list()).await {
            return Ok(Visit::Again(self.pause_recheck()));
        }
        // Tasks of types this worker does not run are left to the workers
        // that do (a list may mix types; a deploy may add new ones), unless
        // they have waited too long; either way, said and counted.
        let Some(type_name) = run_type::<T>(&ready) else {
            return self.unknown_type::<T>(ready, counters, list_label).await;
        };
        // Once a claim of this pass was lost (most often to another worker
        // sweeping the same list; also to a save of the task), the states
        // this sweep read may have changed since: read the task's state
        // again first. A task another worker took then costs a plain read
        // instead of a lost Paxos round (two workers racing for every task
        // lost half their claims). A pass with no lost claim reads nothing
        // more.
        let (ready, type_name) = if contended.load(Ordering::Relaxed) {
            let (task_list, id) = (ready.record.task_list(), ready.record.id());
            let fresh = self.store.adapter().load_state(task_list, id).await?;
            match fresh.and_then(|fresh| Some((run_type::<T>(&fresh)?, fresh))) {
                Some((name, fresh)) => (fresh, name),
                None => return Ok(Visit::Closed), // gone, or saved as another type
            }
        } else {
            (ready, type_name)
        };
        let labels = TaskLabels::new(Arc::clone(list_label), type_name);
        let owner = self.config.owner.as_str();
        let span = tracing::debug_span!(
            target: TRACING_TARGET,
            "taskrec.claim",
            task_list = ready.record.task_list(),
            task.id = ready.record.id(),
            task.type = type_name,
            owner,
            result = tracing::field::Empty,
        );
        let claim = match self
            .store
            .claim_stored(ready, owner, self.config.lease)
            .instrument(span.clone())
            .await?
        {
            ClaimAttempt::Claimed(claim) => {
                span.record("result", "won");
                labels.count_with(CLAIMS_TOTAL, "result", "won");
                claim
            }
            // Someone else got it first: it is theirs to run.
            ClaimAttempt::Lost => {
                span.record("result", "lost");
                labels.count_with(CLAIMS_TOTAL, "result", "lost");
                contended.store(true, Ordering::Relaxed);
                return Ok(Visit::Again(Duration::from_millis(10)));
            }
            ClaimAttempt::NotClaimable(state) => {
                span.record("result", "not_claimable");
                return Ok(open_at(state.as_ref()));
            }
        };
        let span = tracing::info_span!(
            target: TRACING_TARGET,
            "taskrec.attempt",
            task_list = claim.task_list(),
            task.id = claim.id(),
            task.type = type_name,
            attempt = claim.state().attempts,
            owner,
            outcome = tracing::field::Empty,
        );
        let reporter = AttemptReporter::new(
            self.config.events.as_ref(),
            &claim,
            type_name,
            labels,
            span.clone(),
        );
        reporter.claimed(
            &claim,
            self.store.adapter().capabilities().keeps_timestamps(),
        );
        self.attempt(claim, handler, counters, &reporter)
            .instrument(span)
            .await
    }

    /// A ready task of a type this worker does not run: counted, reported
    /// now and then, and failed with its decoding error if it has waited
    /// [`fail_unknown_types_after`](crate::WorkerConfig::fail_unknown_types_after).
    async fn unknown_type<T: TaskDecode>(
        &self,
        ready: StoredState,
        counters: &Counters,
        list_label: &Arc<str>,
    ) -> Result<Visit> {
        let record = &ready.record;
        let (task_list, id, type_name) = (record.task_list(), record.id(), record.type_name());
        let labels = TaskLabels::new(Arc::clone(list_label), type_name.to_owned());
        labels.count(UNKNOWN_TYPES_TOTAL);
        self.report_unknown_type(task_list, id, type_name);
        let Some(age) = self.config.fail_unknown_after else {
            return Ok(Visit::Closed);
        };
        let now = self.store.stamp_now().await;
        let waited = (now - record.updated_at()).to_std().unwrap_or_default();
        if waited < age {
            // Looked at again when it has waited long enough.
            let at = record.updated_at() + chrono::TimeDelta::from_std(age).unwrap_or_default();
            return Ok(Visit::Open(at));
        }
        // The decoder's own error says what it found and what it runs.
        let error = match Task::<T>::from_record(record.clone()) {
            Err(e) => format!("no worker ran it for {waited:?}: {e}"),
            Ok(_) => return Ok(Visit::Closed), // decodes after all: not ours to fail
        };
        let owner = self.config.owner.as_str();
        let claim = match self
            .store
            .claim_stored(ready, owner, self.config.lease)
            .await?
        {
            ClaimAttempt::Claimed(claim) => claim,
            ClaimAttempt::Lost => return Ok(Visit::Again(Duration::from_millis(10))),
            ClaimAttempt::NotClaimable(state) => return Ok(open_at(state.as_ref())),
        };
        let (task_list, id, type_name) = (
            claim.task_list().to_owned(),
            claim.id().to_owned(),
            claim.record().type_name().to_owned(),
        );
        if self.store.fail(claim, &error).await? {
            Counters::add(&counters.failed);
            labels.count(FAILURES_TOTAL);
            tracing::error!(
                target: TRACING_TARGET,
                task_list,
                task.id = id,
                task.type = type_name,
                error,
                "failed: no worker runs its type"
            );
        }
        Ok(Visit::Ran)
    }

    /// A WARN line and a [`WorkerEvent::UnknownType`](crate::WorkerEvent::UnknownType),
    /// at most once per list and type every `UNKNOWN_TYPE_REPORT_EVERY`.
    fn report_unknown_type(&self, task_list: &str, id: &str, type_name: &str) {
        {
            let mut reported = self
                .unknown_reported
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let key = (task_list.to_owned(), type_name.to_owned());
            let now = std::time::Instant::now();
            match reported.get(&key) {
                Some(at) if now.duration_since(*at) < super::UNKNOWN_TYPE_REPORT_EVERY => return,
                _ => {
                    reported.insert(key, now);
                }
            }
        }
        tracing::warn!(
            target: TRACING_TARGET,
            task_list,
            task.id = id,
            task.type = type_name,
            "a ready task of a type this worker does not run: left for a worker that runs it"
        );
        if let Some(hook) = &self.config.events {
            hook.emit(&crate::WorkerEvent::UnknownType {
                task_list: task_list.to_owned(),
                id: id.to_owned(),
                type_name: type_name.to_owned(),
            });
        }
    }

    /// Runs a claimed task and records its outcome.
    async fn attempt<'h, T, H>(
        &self,
        claim: Claim,
        handler: &H,
        counters: &Counters,
        reporter: &AttemptReporter<'_>,
    ) -> Result<Visit>
    where
        T: TaskDecode,
        H: Fn(Task<T>) -> HandlerFuture<'h> + Sync,
    {
        let attempt = claim.state().attempts;
        if attempt > self.config.max_attempts {
            // Earlier attempts ended without a result: the process running
            // them died (a crash, an out-of-memory kill). Do not try forever.
            let error = format!(
                "gave up after {} attempts; the last ones ended without a result (did the worker die?)",
                attempt - 1
            );
            self.fail(claim, &error, counters, reporter).await?;
            return Ok(Visit::Ran);
        }
        // The claimed version, read with the claim's token: a task saved
        // again after it was read is not claimed (the token changed).
        let task = match Task::<T>::from_record(claim.record().clone()) {
            Ok(task) => task,
            Err(
                crate::error::Error::TypeMismatch { .. } | crate::error::Error::UnknownType { .. },
            ) => {
                // Saved again under a type this worker does not run.
                if self.store.release(claim).await? {
                    reporter.released();
                }
                return Ok(Visit::Closed);
            }
            Err(e) => {
                // Data no code of this type can read will not get better by retrying.
                self.fail(claim, &e.to_string(), counters, reporter).await?;
                return Ok(Visit::Ran);
            }
        };
        reporter.running();
        let started = std::time::Instant::now();
        let run = self.run(claim, task, handler).await?;
        let outcome = match &run {
            Run::Done(_, Ok(_)) => "succeeded",
            Run::Done(_, Err(_)) => "failed",
            Run::Lost => "lost",
            Run::Stopped(_) => "stopped",
        };
        reporter.ran(outcome, started.elapsed());
        match run {
            Run::Done(claim, Ok(result)) => {
                if self
                    .store
                    .succeed(claim, result, self.config.keep_succeeded)
                    .await?
                {
                    Counters::add(&counters.succeeded);
                    reporter.succeeded();
                } else {
                    Counters::add(&counters.lost);
                    reporter.lost();
                }
            }
            Run::Done(claim, Err(error)) => {
                let error = error.to_string();
                if attempt >= self.config.max_attempts {
                    self.fail(claim, &error, counters, reporter).await?;
                } else {
                    // The failure is recorded even when the store cannot
                    // tell its time: a refused retry would leave the task
                    // to run again when its lease runs out.
                    let not_before = crate::store::lease_end(
                        self.store.stamp_now().await,
                        self.config.backoff.delay(attempt),
                    );
                    if self.store.retry_later(claim, &error, not_before).await? {
                        Counters::add(&counters.retried);
                        reporter.retried(&error, not_before);
                    } else {
                        Counters::add(&counters.lost);
                        reporter.lost();
                    }
                }
            }
            Run::Lost => {
                Counters::add(&counters.lost);
                reporter.lost();
            }
            Run::Stopped(claim) => {
                if self.store.release(claim).await? {
                    Counters::add(&counters.released);
                    reporter.released();
                }
            }
        }
        Ok(Visit::Ran)
    }

    /// Keeps a claimed task as failed with `error`; a claim lost meanwhile
    /// counts as lost.
    async fn fail(
        &self,
        claim: Claim,
        error: &str,
        counters: &Counters,
        reporter: &AttemptReporter<'_>,
    ) -> Result<()> {
        if self.store.fail(claim, error).await? {
            Counters::add(&counters.failed);
            reporter.failed(error);
        } else {
            Counters::add(&counters.lost);
            reporter.lost();
        }
        Ok(())
    }

    /// Runs one claimed task, renewing its lease every third of it, within
    /// the time limit, until it ends, the claim is lost, or the worker stops.
    ///
    /// The work is cancelled as soon as the claim may have run out: when a
    /// renewal says it was lost, or when no renewal has succeeded for a
    /// lease (less a tenth, for clock drift) since the last one that did.
    /// A renewal that fails with an error is tried again at the next tick.
    async fn run<'h, T, H>(&self, mut claim: Claim, task: Task<T>, handler: &H) -> Result<Run>
    where
        H: Fn(Task<T>) -> HandlerFuture<'h>,
    {
        use futures::FutureExt;
        let lease = self.config.lease;
        let limit = self.config.timeout;
        let work = async move {
            // A panic is a failed attempt, not a dead worker holding claims.
            let attempt = std::panic::AssertUnwindSafe(handler(task)).catch_unwind();
            let attempt = async move {
                attempt.await.unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".to_owned());
                    Err(format!("the task panicked: {what}").into())
                })
            };
            match limit {
                Some(limit) => match tokio::time::timeout(limit, attempt).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("timed out after {limit:?}").into()),
                },
                None => attempt.await,
            }
        };
        tokio::pin!(work);
        let safe_for = lease - lease / 10;
        let mut held_until = tokio::time::Instant::now() + safe_for;
        let mut stopped = self.stop.subscribe();
        // The first renewal a third of a lease from now. (`interval`'s
        // immediate first tick is not free: it waits for the timer's next
        // millisecond, which capped a worker at about a thousand tasks per
        // second per slot.)
        let every = lease / 3;
        let mut renewals = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                result = &mut work => return Ok(Run::Done(claim, result)),
                _ = renewals.tick() => {
                    let asked = tokio::time::Instant::now();
                    match self.store.renew(&mut claim, lease).await {
                        Ok(true) => held_until = asked + safe_for,
                        Ok(false) => return Ok(Run::Lost), // dropping `work` cancels it
                        Err(_) => {} // the deadline below decides
                    }
                }
                () = tokio::time::sleep_until(held_until) => return Ok(Run::Lost),
                // The guard `wait_for` returns is not Send: drop it inside.
                () = async { drop(stopped.wait_for(|stop| *stop).await) } => {
                    return Ok(Run::Stopped(claim));
                }
            }
        }
    }
}

/// When a task that could not be claimed may open up; `Closed` when it
/// never will (finished, failed or gone).
fn open_at(state: Option<&TaskState>) -> Visit {
    match state {
        Some(state) if state.is_open() => match state.not_before.or(state.lease_until) {
            Some(at) => Visit::Open(at),
            None => Visit::Again(Duration::ZERO),
        },
        _ => Visit::Closed,
    }
}

/// What a visit of one ready task comes to, for the pass.
pub(super) enum Visit {
    /// The worker claimed the task and ran it (or failed it).
    Ran,
    /// Held by another worker or waiting out a backoff, until about then
    /// (by the store's clock).
    Open(DateTime<Utc>),
    /// Worth a look again after this long (a claim lost to another worker).
    Again(Duration),
    /// Not a task: the sweep ended after its share of a list, which has
    /// more (`drain.rs`).
    CutShort,
    /// Nothing to do, now or later.
    Closed,
}

enum Run {
    Done(Claim, HandlerResult),
    Lost,
    Stopped(Claim),
}

/// The name under which this worker runs a stored task: one of `T`'s type
/// names, or `None` for a type it does not run.
fn run_type<T: TaskDecode>(stored: &StoredState) -> Option<&'static str> {
    T::TYPE_NAMES
        .iter()
        .copied()
        .find(|name| *name == stored.record.type_name())
}
