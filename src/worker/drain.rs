//! The loop of `drain` and `serve`: passes over the lists, one sweep of
//! [`StorageAdapter::next_ready`] each, and the waits between them.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, StreamExt};

use super::attempt::Visit;
use super::events::{error_chain, WorkerEvent};
use super::report::{Counters, DrainReport};
use super::{HandlerFuture, Worker, TRACING_TARGET};
use crate::adapter::{PageToken, StorageAdapter};
use crate::data::TaskDecode;
use crate::error::Result;
use crate::state::StoredState;
use crate::task::Task;

/// How many tasks, in windows of the worker's concurrency, a pass over one
/// of several lists hands out at most before the next list's turn: a list
/// that never runs dry (tasks saved as fast as they run) would otherwise
/// keep the others waiting until it does.
const SHARE_PER_PASS: usize = 8;

impl<A: StorageAdapter + ?Sized> Worker<A> {
    /// The loop of `drain` and `serve`: a pass (one sweep) per list, again
    /// at once while passes claim tasks, after a wait while none does. Over
    /// several lists, a pass ends after its share ([`SHARE_PER_PASS`]) and
    /// the next list takes its turn, round and round.
    pub(super) async fn work<'h, T, H>(
        &self,
        task_lists: &[&str],
        handler: &H,
        until: Until,
    ) -> Result<DrainReport>
    where
        T: TaskDecode,
        H: Fn(Task<T>) -> HandlerFuture<'h> + Sync,
    {
        let work = self.work_until(task_lists, handler, until);
        let result = match self.config.count_every {
            // Counting goes on beside the passes and ends with them.
            Some(every) => tokio::select! {
                result = work => result,
                () = self.keep_lists_counted(task_lists, every) => unreachable!("counting never ends"),
            },
            None => work.await,
        };
        // Whatever ended it: what this process held of each list goes back
        // to the others now, not when a lease runs out.
        for task_list in task_lists {
            if let Err(error) = self.store.adapter().stop_sweeping(task_list).await {
                tracing::warn!(task_list, %error, "could not hand back this worker's share of a list");
            }
        }
        result
    }

    async fn work_until<'h, T, H>(
        &self,
        task_lists: &[&str],
        handler: &H,
        until: Until,
    ) -> Result<DrainReport>
    where
        T: TaskDecode,
        H: Fn(Task<T>) -> HandlerFuture<'h> + Sync,
    {
        // Said at once, whatever the lists hold, in the words the adapter
        // contract uses for it.
        let adapter = self.store.adapter();
        if !adapter.capabilities().conditional_writes() {
            return Err(crate::adapter::lacks_conditional_writes(adapter.name()));
        }
        // Every counter this worker adds to, present from the start.
        for task_list in task_lists {
            for type_name in T::TYPE_NAMES {
                crate::observe::TaskLabels::owned(task_list, type_name).zero_worker_counters();
            }
        }
        let counters = Counters::default();
        let mut stopped = self.stop.subscribe();
        let first_idle_wait = (self.config.idle_poll / 16).max(Duration::from_millis(1));
        let mut idle_wait = first_idle_wait;
        let mut clock_reported = None;
        let share =
            (task_lists.len() > 1).then(|| self.config.concurrency.saturating_mul(SHARE_PER_PASS));
        loop {
            if *stopped.borrow_and_update() {
                break;
            }
            self.report_clock(&mut clock_reported);
            let mut all = Pass::default();
            for task_list in task_lists {
                // A paused list is not drained: it is looked at again after
                // the flag's next read, until it is resumed.
                if self.paused(task_list).await {
                    all.again_after(self.pause_recheck());
                    continue;
                }
                let pass = self.pass(task_list, share, handler, &counters).await?;
                if let Some(error) = counters.too_many_errors(self.config.error_limit) {
                    return Err(error);
                }
                all.add(pass);
            }
            if all.claimed > 0 || all.cut_short {
                idle_wait = first_idle_wait;
                continue;
            }
            let longest = match until {
                Until::Drained => self.config.idle_poll,
                Until::Stopped => idle_wait,
            };
            let until_wake = match all.next_wake {
                // Wake times are the store's: so is the clock they are read by.
                Some(wake) => match self.store.now().await {
                    Ok(now) => (wake - now).to_std().unwrap_or_default(),
                    Err(_) => longest,
                },
                None => longest,
            };
            let wait = match (all.next_wake, all.again_after) {
                (None, None) if until == Until::Drained => break, // nothing open: drained
                (None, None) => longest,
                // Not sooner than a sixteenth of `idle_poll`: on Cassandra the
                // next hint may come due every millisecond while others work,
                // and a pass per hint would re-read the recent hints each time.
                (_, again) => until_wake
                    .min(again.unwrap_or(longest))
                    .clamp(first_idle_wait, longest),
            };
            idle_wait = (idle_wait * 2).min(self.config.idle_poll);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stopped.changed() => {}
            }
        }
        let report = counters.report(*self.stop.borrow());
        if let Some(hook) = &self.config.events {
            hook.emit(&WorkerEvent::Finished {
                report: report.clone(),
            });
        }
        Ok(report)
    }

    /// One sweep over the list's ready tasks ([`StorageAdapter::next_ready`]),
    /// or over the first `share` of them: claims and runs what it can; says
    /// how many it claimed, and when the earliest task it could not claim
    /// opens up.
    ///
    /// Errors do not cut a pass short: a visit or listing error is counted
    /// and the tasks already running finish (a cancelled task would keep its
    /// claim until the lease ran out). Only `Unsupported`, which no retry
    /// cures, is returned, after the running tasks are done.
    async fn pass<'h, T, H>(
        &self,
        task_list: &str,
        share: Option<usize>,
        handler: &H,
        counters: &Counters,
    ) -> Result<Pass>
    where
        T: TaskDecode,
        H: Fn(Task<T>) -> HandlerFuture<'h> + Sync,
    {
        // The ids handed out in this pass and not visited to the end yet: a
        // sweep may hand a task out twice (a walk at its end finds one its
        // hints handed out, still waiting for a free slot), and claiming it
        // twice would lose one claim, a Paxos round, to this worker itself.
        let waiting: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
        let waiting = &waiting;
        let steps = self.sweep(task_list, share, waiting);
        // The list's name for the metrics' labels, shared by the pass's tasks.
        let list_label: Arc<str> = Arc::from(task_list);
        let list_label = &list_label;
        // Set by the pass's first lost claim (see `visit`).
        let contended = AtomicBool::new(false);
        let contended = &contended;
        let visits = steps
            .map(|step| async move {
                match step {
                    Step::Ready(stored) => {
                        let id = stored.record.id().to_owned();
                        let visit = self
                            .visit(stored, handler, counters, list_label, contended)
                            .await;
                        waiting
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .remove(&id);
                        visit
                    }
                    Step::OpensAt(at) => Ok(Visit::Open(at)),
                    Step::Paused => Ok(Visit::Again(self.pause_recheck())),
                    Step::CutShort => Ok(Visit::CutShort),
                    Step::Failed(e) => Err(e),
                }
            })
            .buffer_unordered(self.config.concurrency);
        tokio::pin!(visits);
        let (mut pass, mut fatal) = (Pass::default(), None);
        while let Some(visit) = visits.next().await {
            match visit {
                Ok(visit) => {
                    counters.progress();
                    match visit {
                        Visit::Ran => pass.claimed += 1,
                        Visit::Open(at) => pass.wake_at(at),
                        Visit::Again(after) => pass.again_after(after),
                        Visit::CutShort => pass.cut_short = true,
                        Visit::Closed => {}
                    }
                }
                Err(e @ crate::error::Error::Unsupported { .. }) => fatal = Some(e),
                Err(e) => {
                    tracing::error!(
                        target: TRACING_TARGET,
                        task_list,
                        error = &e as &(dyn std::error::Error + 'static),
                        "storage error; the tasks concerned are tried again later"
                    );
                    if let Some(hook) = &self.config.events {
                        hook.emit(&WorkerEvent::StorageError {
                            task_list: task_list.to_owned(),
                            error: error_chain(&e),
                        });
                    }
                    counters.error(e);
                    // Tried again in a later pass, after a short pause.
                    pass.again_after(Duration::from_millis(100));
                }
            }
        }
        match fatal {
            Some(e) => Err(e),
            None => Ok(pass),
        }
    }

    /// The steps of one sweep over the list's ready tasks, as a stream that
    /// asks the adapter for the next step when the visits need more.
    ///
    /// A plain function returning a boxed stream: built inside `pass`, the
    /// closures' futures defeat the compiler's proof that a drain is `Send`
    /// (rust-lang/rust#64552).
    ///
    /// With a `share`, the sweep ends once it has handed out that many
    /// tasks, with [`Step::CutShort`].
    fn sweep<'a>(
        &'a self,
        task_list: &'a str,
        share: Option<usize>,
        waiting: &'a Mutex<HashSet<String>>,
    ) -> BoxStream<'a, Step> {
        // A step asks for a few times the concurrency: enough to keep every
        // slot busy, few enough that tasks handed out are claimed soon.
        let window = self.config.concurrency.saturating_mul(4);
        let seed = uuid::Uuid::new_v4().as_u64_pair().0 | 1;
        let stop = &self.stop;
        let worker = self;
        let adapter = self.store.adapter();
        // State: the token to go on from (`Some(None)`: the start), `None`
        // once the sweep is over; the shuffle's seed; tasks handed out.
        futures::stream::unfold(
            (Some(None::<PageToken>), seed, 0usize),
            move |(token, mut seed, handed)| async move {
                let token = token?;
                if *stop.borrow() {
                    return None;
                }
                // Paused during the pass: nothing more of the list is
                // handed out (what is handed out already is claimed).
                if worker.paused(task_list).await {
                    return Some((vec![Step::Paused], (None, seed, handed)));
                }
                // Readiness is judged by the adapter's clock, as the leases
                // and backoffs it compares were written by it.
                let step = match adapter.now().await {
                    Ok(now) => {
                        adapter
                            .next_ready(task_list, token.as_ref(), window, now)
                            .await
                    }
                    Err(e) => Err(e),
                };
                match step {
                    Ok(ready) => {
                        let mut items: Vec<Step> = {
                            let mut waiting =
                                waiting.lock().unwrap_or_else(PoisonError::into_inner);
                            ready
                                .tasks
                                .into_iter()
                                .filter(|task| waiting.insert(task.record.id().to_owned()))
                                .map(Step::Ready)
                                .collect()
                        };
                        // Workers sweeping one list in the same order would
                        // all try the same tasks at the same moment; shuffling
                        // each step spreads them out (on Cassandra, contended
                        // claims are slow Paxos rounds).
                        shuffle(&mut items, &mut seed);
                        let handed = handed + items.len();
                        items.extend(ready.next_open.map(Step::OpensAt));
                        let next = match ready.next {
                            Some(_) if share.is_some_and(|share| handed >= share) => {
                                items.push(Step::CutShort);
                                None
                            }
                            next => next.map(Some),
                        };
                        Some((items, (next, seed, handed)))
                    }
                    Err(e) => Some((vec![Step::Failed(e)], (None, seed, handed))),
                }
            },
        )
        .flat_map(futures::stream::iter)
        .boxed()
    }
}

impl<A: StorageAdapter + ?Sized> Worker<A> {
    /// Tells the event hook, once per measurement, that the adapter found
    /// this process's clock off its backend's by more than its threshold.
    fn report_clock(&self, reported: &mut Option<DateTime<Utc>>) {
        let Some(hook) = &self.config.events else {
            return;
        };
        let Some(reading) = self.store.adapter().clock_reading() else {
            return;
        };
        if reading.past_warning && *reported != Some(reading.measured_at) {
            *reported = Some(reading.measured_at);
            hook.emit(&WorkerEvent::ClockOffset { reading });
        }
    }
}

/// Fisher-Yates with xorshift64: no cryptographic quality needed, only a
/// different order per worker.
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let j = (*seed % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// When `work` returns (besides being stopped).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Until {
    /// When no list has an open task.
    Drained,
    /// Only when stopped.
    Stopped,
}

/// What a sweep yields to the visits.
enum Step {
    /// A task to claim, as `next_ready` read it.
    Ready(StoredState),
    /// A task seen open but not ready opens then.
    OpensAt(DateTime<Utc>),
    /// The sweep handed out its share and ends before the list's end.
    CutShort,
    /// The list was paused during the sweep, which ends here.
    Paused,
    /// The sweep failed here (and ends).
    Failed(crate::error::Error),
}

#[derive(Default)]
struct Pass {
    claimed: u64,
    /// The earliest time a task seen open opens, by the store's clock.
    next_wake: Option<DateTime<Utc>>,
    /// The shortest pause after which something is worth a look again
    /// (a lost claim, a storage error).
    again_after: Option<Duration>,
    /// The sweep ended after its share, before the list's end: the list
    /// has more for the next round.
    cut_short: bool,
}

impl Pass {
    fn wake_at(&mut self, at: DateTime<Utc>) {
        self.next_wake = Some(self.next_wake.map_or(at, |w| w.min(at)));
    }

    fn again_after(&mut self, after: Duration) {
        self.again_after = Some(self.again_after.map_or(after, |a| a.min(after)));
    }

    fn add(&mut self, other: Pass) {
        self.claimed += other.claimed;
        if let Some(at) = other.next_wake {
            self.wake_at(at);
        }
        if let Some(after) = other.again_after {
            self.again_after(after);
        }
        self.cut_short |= other.cut_short;
    }
}
