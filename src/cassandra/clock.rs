//! The cluster's time, as this process reads it.
//!
//! Every time the adapter writes or judges (the minute a save lists a task
//! in, a ready hint's due time, a lease's end, a low mark) is the
//! **cluster's** time, not this process's clock: a process whose clock is
//! six minutes behind would otherwise list its tasks in minutes that
//! listings have stopped reading.
//!
//! The offset between this process's clock and the cluster's is measured
//! as NTP does: [`SAMPLES`] queries of the coordinator's clock
//! (`toUnixTimestamp(now())`), each timed on this process's monotonic
//! clock; the sample with the shortest round trip wins, and half its round
//! trip (plus the server clock's millisecond resolution) is the
//! measurement's **uncertainty**. The adapter measures when it connects and
//! again every [`clock_check_every`](super::CassandraConfig::clock_check_every).
//!
//! Between measurements the cluster's time is the last measurement carried
//! forward on the **monotonic** clock, so a step of this process's wall
//! clock (an NTP step, a person with `date -s`) changes nothing. A step is
//! still noticed (the wall clock and the monotonic clock disagree about the
//! time since the measurement: a suspended machine's monotonic clock stops)
//! and the time is measured again before it is used. The uncertainty grows
//! with the measurement's age by [`MAX_DRIFT`] (what the kernel lets NTP
//! slew a clock by at most).
//!
//! When the time cannot be told within the configured tolerance (never
//! measured, the cluster not answering the time query, samples slower than
//! twice the tolerance, a step not yet measured again), a write that places
//! by time gets [`Error::ClockSkew`] instead of a guess.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::{signed_seconds, ClockReading};
use crate::error::{Error, Result};

use super::ADAPTER;

/// Queries of the cluster's clock per measurement.
pub const SAMPLES: usize = 5;

/// How fast a clock may drift from true time, at most: 500 ppm, the most
/// the Linux kernel lets NTP slew a clock by. The uncertainty of a
/// measurement grows by this much of its age.
pub const MAX_DRIFT: f64 = 500e-6;

/// How long a process waits before measuring again after a measurement
/// failed.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// The times a cluster's clock may read (seconds since the epoch: the years
/// 2000 to 2199): anything else is a broken answer, not a time to carry.
const SANE_FROM: i64 = 946_684_800;
const SANE_UNTIL: i64 = 7_258_118_400;

/// One node's answer to "what time is it?", for the measurement.
#[async_trait]
pub(super) trait TimeQuery: Send + Sync {
    /// The coordinator's clock, in milliseconds since the Unix epoch.
    async fn cluster_millis(&self) -> std::result::Result<i64, String>;
}

/// This process's clocks: the wall clock and the monotonic one.
pub(super) trait LocalClock: Send + Sync {
    fn wall(&self) -> DateTime<Utc>;
    fn mono(&self) -> Instant;
}

/// The operating system's clocks.
pub(super) struct SystemClock;

impl LocalClock for SystemClock {
    fn wall(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn mono(&self) -> Instant {
        Instant::now()
    }
}

/// What the clock is held to, from the configuration.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClockLimits {
    pub(super) tolerance: Duration,
    pub(super) check_every: Duration,
    pub(super) warn_offset: Duration,
}

impl ClockLimits {
    /// The request timeout of a time query: a sample slower than twice the
    /// tolerance is of no use (its uncertainty, half of it, is past the
    /// tolerance), but an answer at all is waited for a second.
    pub(super) fn query_timeout(&self) -> Duration {
        (self.tolerance * 2).max(Duration::from_secs(1))
    }
}

/// One measurement: the cluster's time and this process's clocks at the
/// same instant (the middle of the best sample's round trip).
#[derive(Debug, Clone, Copy)]
struct Measurement {
    cluster: DateTime<Utc>,
    wall: DateTime<Utc>,
    mono: Instant,
    uncertainty: Duration,
    /// The sample's round trip.
    round_trip: Duration,
}

impl Measurement {
    fn offset(&self) -> TimeDelta {
        self.cluster - self.wall
    }
}

#[derive(Default)]
struct State {
    last: Option<Measurement>,
    /// Why the last measurement failed, if it did since the last success.
    failure: Option<String>,
    last_attempt: Option<Instant>,
    /// Counts measurements tried, so a waiting caller can tell whether
    /// another one measured while it waited.
    attempts: u64,
}

/// What the state says of the time now.
enum Verdict {
    /// Known within the tolerance, measured lately.
    Fresh(DateTime<Utc>),
    /// Known within the tolerance, but due for a measurement.
    Due(DateTime<Utc>),
    /// Not known within the tolerance.
    Unknown(Error),
}

/// The cluster's time for one adapter.
pub(super) struct ClusterClock {
    query: Box<dyn TimeQuery>,
    local: Box<dyn LocalClock>,
    limits: ClockLimits,
    state: Mutex<State>,
    /// Held while measuring: one measurement at a time.
    measuring: tokio::sync::Mutex<()>,
    /// Set while a measurement that came due runs in the background.
    refreshing: std::sync::atomic::AtomicBool,
    /// Whether measurements set the gauge and warn: the adapter's clock
    /// does, a one-off probe of one node does not.
    reports: bool,
}

impl ClusterClock {
    pub(super) fn new(
        query: Box<dyn TimeQuery>,
        local: Box<dyn LocalClock>,
        limits: ClockLimits,
    ) -> Self {
        ClusterClock {
            query,
            local,
            limits,
            state: Mutex::new(State::default()),
            measuring: tokio::sync::Mutex::new(()),
            refreshing: std::sync::atomic::AtomicBool::new(false),
            reports: true,
        }
    }

    /// A clock for one measurement that reports nothing (a node's, for
    /// [`check_deployment`](super::CassandraAdapter::check_deployment)).
    pub(super) fn probe(
        query: Box<dyn TimeQuery>,
        local: Box<dyn LocalClock>,
        limits: ClockLimits,
    ) -> Self {
        ClusterClock {
            reports: false,
            ..ClusterClock::new(query, local, limits)
        }
    }

    pub(super) fn limits(&self) -> ClockLimits {
        self.limits
    }

    fn state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The cluster's time now, or [`Error::ClockSkew`] when it cannot be
    /// told within the tolerance: for everything that places or judges by
    /// time. A measurement that came due is taken in the background (the
    /// last one holds meanwhile: nobody waits for it); a write that finds
    /// the time unknown waits for a measurement (one at a time, and after a
    /// failed one not again for [`RETRY_PAUSE`]).
    pub(super) async fn now(self: &Arc<Self>) -> Result<DateTime<Utc>> {
        match self.verdict() {
            Verdict::Fresh(now) => Ok(now),
            Verdict::Due(now) => {
                if !self.failed_lately() {
                    self.refresh();
                }
                Ok(now)
            }
            Verdict::Unknown(_) => {
                let attempts = self.state(|s| s.attempts);
                let _measuring = self.measuring.lock().await;
                let measured_meanwhile = self.state(|s| s.attempts != attempts);
                if !measured_meanwhile && !self.failed_lately() {
                    self.measure().await;
                }
                self.settled()
            }
        }
    }

    /// The cluster's time when it is known within the tolerance, without
    /// waiting for a measurement: for what may be put off (marking minutes
    /// drained, moving a low mark), which a read should not wait for.
    pub(super) fn now_if_known(&self) -> Result<DateTime<Utc>> {
        self.settled()
    }

    /// The cluster's time as [`now`](Self::now) tells it, or, when it
    /// cannot, the last measurement carried forward if there is one: for
    /// the few writes a task's completion or failure needs (a delete's
    /// timestamp on task_rb's table, the failed index), which are better
    /// placed by the best guess than refused, since a refused completion
    /// runs the task again.
    pub(super) async fn now_or_last(self: &Arc<Self>) -> Result<DateTime<Utc>> {
        match self.now().await {
            Ok(now) => Ok(now),
            Err(e) => self.carried().ok_or(e),
        }
    }

    /// Whether the last measurement failed less than [`RETRY_PAUSE`] ago.
    fn failed_lately(&self) -> bool {
        let now = self.local.mono();
        self.state(|s| {
            s.failure.is_some()
                && s.last_attempt
                    .is_some_and(|at| now.saturating_duration_since(at) < RETRY_PAUSE)
        })
    }

    /// Measures in the background, once at a time; inline outside a tokio
    /// runtime (where nothing could run it).
    fn refresh(self: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        if self
            .refreshing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        /// Clears the flag however the task ends, dropped unpolled
        /// (its runtime shutting down) included.
        struct Done(Arc<ClusterClock>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.refreshing.store(false, Ordering::Release);
            }
        }
        let done = Done(Arc::clone(self));
        // Outside a tokio runtime nothing can run it: the measurement stays
        // due, and once the time is unknown a write measures itself.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            drop(runtime.spawn(async move {
                let clock = &done.0;
                let _measuring = clock.measuring.lock().await;
                clock.measure().await;
            }));
        }
    }

    /// The verdict after a measurement: a time, or the error.
    fn settled(&self) -> Result<DateTime<Utc>> {
        match self.verdict() {
            Verdict::Fresh(now) | Verdict::Due(now) => Ok(now),
            Verdict::Unknown(e) => Err(e),
        }
    }

    /// The best guess of the cluster's time, for bookkeeping that must not
    /// fail (what this process remembers of its sweeps): the measurement
    /// carried forward, or this process's clock before the first one.
    pub(super) fn estimate(&self) -> DateTime<Utc> {
        self.carried().unwrap_or_else(|| self.local.wall())
    }

    /// The last measurement carried forward on the monotonic clock, if
    /// there is one.
    fn carried(&self) -> Option<DateTime<Utc>> {
        let last = self.state(|s| s.last)?;
        last.cluster.checked_add_signed(delta(
            self.local.mono().saturating_duration_since(last.mono),
        ))
    }

    /// Why the last measurement failed, if it did.
    pub(super) fn failure(&self) -> Option<String> {
        self.state(|s| s.failure.clone())
    }

    /// The last measurement, as the adapter reports it.
    pub(super) fn reading(&self) -> Option<ClockReading> {
        self.state(|s| s.last).map(|m| {
            ClockReading::new(
                m.offset(),
                m.uncertainty,
                m.cluster,
                past(m.offset(), self.limits.warn_offset),
            )
        })
    }

    fn verdict(&self) -> Verdict {
        let (last, failure) = self.state(|s| (s.last, s.failure.clone()));
        let tolerance = self.limits.tolerance;
        let failed = || {
            failure
                .as_deref()
                .map(|f| format!("; the last measurement failed: {f}"))
                .unwrap_or_default()
        };
        let Some(m) = last else {
            return Verdict::Unknown(skew(
                None,
                None,
                tolerance,
                format!("the cluster's clock has not been measured yet{}", failed()),
            ));
        };
        let age = self.local.mono().saturating_duration_since(m.mono);
        let uncertainty = m.uncertainty + age.mul_f64(MAX_DRIFT);
        // The two clocks are read a moment apart: below a millisecond their
        // difference is that moment, not a step.
        let wall_age = self.local.wall() - m.wall;
        let jump = wall_age - delta(age);
        if uncertainty <= tolerance && jump.abs() > delta(tolerance.max(Duration::from_millis(1))) {
            return Verdict::Unknown(skew(
                Some(m.offset()),
                None,
                tolerance,
                format!(
                    "this process's wall clock moved {} against its monotonic clock since the \
                     last measurement, {:.1} s ago (a step, or a suspended machine); measuring again{}",
                    signed_seconds(jump),
                    age.as_secs_f64(),
                    failed()
                ),
            ));
        }
        if uncertainty > tolerance {
            let why = if m.uncertainty > tolerance {
                format!(
                    "the fastest of {SAMPLES} time queries took {:.1} ms there and back",
                    m.round_trip.as_secs_f64() * 1_000.0
                )
            } else {
                format!(
                    "the last measurement is {:.0} s old{}",
                    age.as_secs_f64(),
                    failed()
                )
            };
            return Verdict::Unknown(skew(Some(m.offset()), Some(uncertainty), tolerance, why));
        }
        let Some(now) = m.cluster.checked_add_signed(delta(age)) else {
            return Verdict::Unknown(skew(
                Some(m.offset()),
                None,
                tolerance,
                "the cluster's time is past what a date can hold".to_owned(),
            ));
        };
        if age >= self.limits.check_every {
            Verdict::Due(now)
        } else {
            Verdict::Fresh(now)
        }
    }

    /// Measures the offset ([`SAMPLES`] queries, the fastest wins) and
    /// records it, or records why it failed (keeping the last measurement,
    /// which holds while its uncertainty, growing with its age, stays
    /// within the tolerance).
    pub(super) async fn measure(&self) {
        let mut best: Option<Measurement> = None;
        let mut error = None;
        for _ in 0..SAMPLES {
            let (wall, mono) = (self.local.wall(), self.local.mono());
            match self.query.cluster_millis().await {
                Ok(millis) => {
                    let round_trip = self.local.mono().saturating_duration_since(mono);
                    let half = round_trip / 2;
                    // The server read its clock somewhere within the round
                    // trip, and truncated it to the millisecond: its middle
                    // is half a millisecond on.
                    let Some(cluster) = DateTime::from_timestamp_micros(
                        millis.saturating_mul(1_000).saturating_add(500),
                    )
                    .filter(|at| (SANE_FROM..SANE_UNTIL).contains(&at.timestamp())) else {
                        error = Some(format!(
                            "the cluster's clock read {millis} ms since the epoch, not a time of \
                             this century"
                        ));
                        continue;
                    };
                    let sample = Measurement {
                        cluster,
                        wall: wall + delta(half),
                        mono: mono + half,
                        uncertainty: half + Duration::from_micros(500),
                        round_trip,
                    };
                    if best.is_none_or(|b| sample.uncertainty < b.uncertainty) {
                        best = Some(sample);
                    }
                }
                Err(e) => error = Some(e),
            }
        }
        let tolerance = self.limits.tolerance;
        // A measurement too uncertain to use does not replace one that
        // still holds (its uncertainty grown with its age, no step since).
        let still_good = matches!(self.verdict(), Verdict::Fresh(_) | Verdict::Due(_));
        let (best, error) = match best {
            Some(m) if m.uncertainty > tolerance => {
                let slow = format!(
                    "the fastest of {SAMPLES} time queries took {:.1} ms there and back",
                    m.round_trip.as_secs_f64() * 1_000.0
                );
                if still_good {
                    (None, Some(slow))
                } else {
                    (Some(m), Some(slow))
                }
            }
            Some(m) => (Some(m), None),
            None => (None, Some(error.unwrap_or_else(|| "no answer".to_owned()))),
        };
        let now = self.local.mono();
        self.state(|s| {
            s.attempts += 1;
            s.last_attempt = Some(now);
            if let Some(m) = best {
                s.last = Some(m);
            }
            s.failure = error.clone();
        });
        if !self.reports {
            return;
        }
        if let Some(m) = &best {
            self.report(m);
        }
        if let Some(error) = &error {
            tracing::warn!(
                error = error.as_str(),
                "could not measure the cluster's clock"
            );
        }
    }

    /// The gauge, the process's offset for the ids it makes, and a warning
    /// when the offset is past the threshold.
    fn report(&self, m: &Measurement) {
        let offset = m.offset();
        crate::clock::record_process_offset(offset);
        metrics::gauge!(crate::observe::CLOCK_OFFSET_SECONDS).set(offset.as_seconds_f64());
        if past(offset, self.limits.warn_offset) {
            tracing::warn!(
                offset = %signed_seconds(offset),
                uncertainty_ms = m.uncertainty.as_secs_f64() * 1_000.0,
                "this process's clock is off the cluster's (the cluster's minus this one's); \
                 taskrec keeps time by the cluster, but the host's clock needs fixing (NTP)"
            );
        } else {
            tracing::debug!(
                offset = %signed_seconds(offset),
                uncertainty_ms = m.uncertainty.as_secs_f64() * 1_000.0,
                "measured the cluster's clock"
            );
        }
    }
}

/// The time query over CQL: the coordinator's clock, as `toUnixTimestamp(now())`
/// of `system.local` (a read of a local table, no replica involved).
pub(super) struct CqlTimeQuery {
    session: std::sync::Arc<scylla::client::session::Session>,
    statement: scylla::statement::prepared::PreparedStatement,
}

impl CqlTimeQuery {
    pub(super) async fn prepare(
        session: std::sync::Arc<scylla::client::session::Session>,
        timeout: Duration,
    ) -> Result<Self> {
        let mut statement = super::prepare_with(
            &session,
            "SELECT toUnixTimestamp(now()) FROM system.local".to_owned(),
            scylla::statement::Consistency::LocalOne,
            "the cluster's clock is read from system.local",
        )
        .await?;
        statement.set_request_timeout(Some(timeout));
        Ok(CqlTimeQuery { session, statement })
    }

    /// Sends the query to one node only.
    pub(super) fn target(
        &mut self,
        policy: std::sync::Arc<dyn scylla::policies::load_balancing::LoadBalancingPolicy>,
    ) {
        self.statement.set_load_balancing_policy(Some(policy));
    }
}

#[async_trait]
impl TimeQuery for CqlTimeQuery {
    async fn cluster_millis(&self) -> std::result::Result<i64, String> {
        let row: Option<(i64,)> = super::first_row(&self.session, &self.statement, ())
            .await
            .map_err(|e| crate::error::error_chain(&e))?;
        row.map(|(millis,)| millis)
            .ok_or_else(|| "system.local returned no row".to_owned())
    }
}

fn past(offset: TimeDelta, threshold: Duration) -> bool {
    offset.abs() > delta(threshold)
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

fn skew(
    offset: Option<TimeDelta>,
    uncertainty: Option<Duration>,
    tolerance: Duration,
    reason: String,
) -> Error {
    Error::ClockSkew {
        adapter: ADAPTER,
        offset,
        uncertainty,
        tolerance,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Arc;

    use super::*;

    /// Clocks a test moves by hand: the monotonic one from a base, the
    /// wall clock with an offset of its own.
    #[derive(Clone)]
    struct Hands(Arc<Mutex<(Instant, Duration, DateTime<Utc>)>>);

    impl Hands {
        fn new(wall: DateTime<Utc>) -> Self {
            Hands(Arc::new(Mutex::new((Instant::now(), Duration::ZERO, wall))))
        }
        /// Both clocks move on by `d`.
        fn pass(&self, d: Duration) {
            let mut h = self.0.lock().unwrap();
            h.1 += d;
            h.2 += delta(d);
        }
        /// Only the wall clock jumps.
        fn step_wall(&self, by: TimeDelta) {
            self.0.lock().unwrap().2 += by;
        }
    }

    impl LocalClock for Hands {
        fn wall(&self) -> DateTime<Utc> {
            self.0.lock().unwrap().2
        }
        fn mono(&self) -> Instant {
            let h = self.0.lock().unwrap();
            h.0 + h.1
        }
    }

    /// A cluster whose clock is `offset` from the hands' wall clock at the
    /// start, each answer taking `rtt` (moved on the hands), or failing.
    struct Cluster {
        hands: Hands,
        start_wall: DateTime<Utc>,
        start_mono: Instant,
        offset: TimeDelta,
        rtts: Mutex<VecDeque<Option<Duration>>>,
    }

    #[async_trait]
    impl TimeQuery for Arc<Cluster> {
        async fn cluster_millis(&self) -> std::result::Result<i64, String> {
            let rtt = self.rtts.lock().unwrap().pop_front().unwrap_or(None);
            let Some(rtt) = rtt else {
                return Err("no answer".to_owned());
            };
            self.hands.pass(rtt / 2);
            let true_now = self.start_wall + delta(self.hands.mono() - self.start_mono);
            let answer = (true_now + self.offset).timestamp_millis();
            self.hands.pass(rtt / 2);
            Ok(answer)
        }
    }

    fn limits() -> ClockLimits {
        ClockLimits {
            tolerance: Duration::from_millis(500),
            check_every: Duration::from_secs(60),
            warn_offset: Duration::from_secs(1),
        }
    }

    fn setup(offset: TimeDelta, rtts: &[Option<u64>]) -> (Arc<ClusterClock>, Hands, Arc<Cluster>) {
        let start = DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let hands = Hands::new(start);
        let cluster = Arc::new(Cluster {
            hands: hands.clone(),
            start_wall: start,
            start_mono: hands.mono(),
            offset,
            rtts: Mutex::new(rtts.iter().map(|r| r.map(Duration::from_millis)).collect()),
        });
        let clock = ClusterClock::new(
            Box::new(Arc::clone(&cluster)),
            Box::new(hands.clone()),
            limits(),
        );
        (Arc::new(clock), hands, cluster)
    }

    fn feed(cluster: &Cluster, rtts: &[Option<u64>]) {
        cluster
            .rtts
            .lock()
            .unwrap()
            .extend(rtts.iter().map(|r| r.map(Duration::from_millis)));
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// How far the clock's answer is from the cluster's true time.
    fn error_of(clock: &Arc<ClusterClock>, cluster: &Cluster) -> TimeDelta {
        let now = block_on(clock.now()).unwrap();
        let true_cluster =
            cluster.start_wall + delta(cluster.hands.mono() - cluster.start_mono) + cluster.offset;
        now - true_cluster
    }

    #[test]
    fn the_fastest_sample_wins_and_sets_the_uncertainty() {
        let (clock, _, cluster) = setup(
            TimeDelta::hours(-1),
            &[Some(40), Some(8), Some(30), None, Some(20)],
        );
        block_on(clock.measure());
        let reading = clock.reading().unwrap();
        // Offset -1 h, within a millisecond (the server's resolution).
        assert!((reading.offset - TimeDelta::hours(-1)).abs() <= TimeDelta::milliseconds(1));
        assert_eq!(reading.uncertainty, Duration::from_micros(4_500));
        assert!(reading.past_warning);
        assert!(error_of(&clock, &cluster).abs() <= TimeDelta::milliseconds(1));
    }

    #[test]
    fn time_is_never_guessed_before_a_measurement() {
        let (clock, _, _) = setup(TimeDelta::zero(), &[None, None, None, None, None]);
        let err = block_on(clock.now()).unwrap_err();
        match &err {
            Error::ClockSkew {
                offset, tolerance, ..
            } => assert_eq!((*offset, *tolerance), (None, Duration::from_millis(500))),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("never measured"), "{err}");
        assert!(err.to_string().contains("no answer"), "{err}");
        assert!(clock.reading().is_none());
    }

    #[test]
    fn samples_slower_than_twice_the_tolerance_are_refused() {
        let (clock, _, _) = setup(TimeDelta::minutes(6), &[Some(1_200); 5]);
        let err = block_on(clock.now()).unwrap_err();
        let Error::ClockSkew {
            offset,
            uncertainty,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert!(offset.is_some() && uncertainty.unwrap() > Duration::from_millis(500));
        assert!(
            err.to_string().contains("1200.0 ms there and back"),
            "{err}"
        );
    }

    #[test]
    fn a_step_of_the_wall_clock_is_measured_again_and_changes_nothing() {
        // This process's clock is 6 minutes behind the cluster's.
        let (clock, hands, cluster) = setup(TimeDelta::minutes(6), &[Some(2); 5]);
        block_on(clock.measure());
        assert!(clock.reading().unwrap().past_warning);
        hands.pass(Duration::from_secs(10));
        // NTP steps this process's clock 6 minutes forward, fixing it.
        hands.step_wall(TimeDelta::minutes(6));
        feed(&cluster, &[Some(2); 5]);
        assert!(error_of(&clock, &cluster).abs() <= TimeDelta::milliseconds(2));
        let reading = clock.reading().unwrap();
        assert!(
            reading.offset.abs() <= TimeDelta::milliseconds(2),
            "{reading}"
        );
        assert!(!reading.past_warning);
    }

    #[test]
    fn a_step_with_the_cluster_out_of_reach_refuses() {
        let (clock, hands, cluster) = setup(TimeDelta::zero(), &[Some(2); 5]);
        block_on(clock.measure());
        hands.pass(Duration::from_secs(5));
        hands.step_wall(TimeDelta::seconds(-30));
        feed(&cluster, &[None; 5]);
        let err = block_on(clock.now()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::ClockSkew {
                    offset: Some(_),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("-30.000 s"), "{err}");
        assert!(err.to_string().contains("no answer"), "{err}");
        // Once the cluster answers again, and a second has passed:
        hands.pass(RETRY_PAUSE);
        feed(&cluster, &[Some(3); 5]);
        assert!(error_of(&clock, &cluster).abs() <= TimeDelta::milliseconds(2));
    }

    #[test]
    fn a_failed_check_keeps_the_last_measurement_until_it_is_too_old() {
        let (clock, hands, cluster) = setup(TimeDelta::seconds(90), &[Some(2); 5]);
        block_on(clock.measure());
        // Due after a minute; the cluster does not answer; the old
        // measurement holds, its uncertainty growing by 500 ppm.
        hands.pass(Duration::from_secs(61));
        feed(&cluster, &[None; 5]);
        assert!(error_of(&clock, &cluster).abs() <= TimeDelta::milliseconds(2));
        // 996 s: 1.5 ms + 498 ms, within 500 ms.
        hands.pass(Duration::from_secs(996 - 61));
        feed(&cluster, &[None; 5]);
        assert!(block_on(clock.now()).is_ok());
        hands.pass(Duration::from_secs(2));
        feed(&cluster, &[None; 5]);
        let err = block_on(clock.now()).unwrap_err();
        assert!(err.to_string().contains("s old"), "{err}");
    }

    /// Runs `f` and then lets what it spawned run, on one runtime.
    fn block_on_and_settle<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let out = f.await;
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                out
            })
    }

    #[test]
    fn a_due_measurement_is_taken_in_the_background_and_nobody_waits_for_it() {
        let (clock, hands, cluster) = setup(TimeDelta::zero(), &[Some(2); 5]);
        block_on(clock.measure());
        let first = clock.reading().unwrap().measured_at;
        hands.pass(Duration::from_secs(59));
        assert!(block_on_and_settle(clock.now()).is_ok());
        assert_eq!(clock.reading().unwrap().measured_at, first, "not due yet");
        hands.pass(Duration::from_secs(2));
        feed(&cluster, &[Some(2); 5]);
        assert!(block_on_and_settle(clock.now()).is_ok());
        assert!(
            clock.reading().unwrap().measured_at > first,
            "measured again"
        );
        assert!(
            cluster.rtts.lock().unwrap().is_empty(),
            "five samples taken"
        );
    }

    #[test]
    fn a_failed_due_measurement_is_not_tried_again_at_once() {
        let (clock, hands, cluster) = setup(TimeDelta::zero(), &[Some(2); 5]);
        block_on(clock.measure());
        hands.pass(Duration::from_secs(61));
        feed(&cluster, &[None; 5]);
        assert!(block_on_and_settle(clock.now()).is_ok());
        assert!(clock.failure().is_some());
        // Within the pause, writes go on with the old measurement and ask
        // nothing of the cluster.
        feed(&cluster, &[Some(2); 5]);
        hands.pass(RETRY_PAUSE / 2);
        assert!(block_on_and_settle(clock.now()).is_ok());
        assert_eq!(cluster.rtts.lock().unwrap().len(), 5, "not asked again yet");
        hands.pass(RETRY_PAUSE);
        assert!(block_on_and_settle(clock.now()).is_ok());
        assert!(
            cluster.rtts.lock().unwrap().is_empty(),
            "asked after the pause"
        );
        assert!(clock.failure().is_none());
    }

    #[test]
    fn slow_time_queries_do_not_replace_a_measurement_that_still_holds() {
        let (clock, hands, cluster) = setup(TimeDelta::seconds(30), &[Some(2); 5]);
        block_on(clock.measure());
        let good = clock.reading().unwrap();
        hands.pass(Duration::from_secs(61));
        feed(&cluster, &[Some(1_500); 5]);
        assert!(block_on_and_settle(clock.now()).is_ok());
        assert_eq!(clock.reading().unwrap(), good, "the good one is kept");
        let failure = clock.failure().unwrap();
        assert!(failure.contains("1500.0 ms there and back"), "{failure}");
        assert!(error_of(&clock, &cluster).abs() <= TimeDelta::milliseconds(2));
    }

    #[test]
    fn a_broken_answer_is_not_a_time() {
        struct Broken;
        #[async_trait]
        impl TimeQuery for Broken {
            async fn cluster_millis(&self) -> std::result::Result<i64, String> {
                Ok(i64::MAX / 1_000)
            }
        }
        let broken = Arc::new(ClusterClock::new(
            Box::new(Broken),
            Box::new(Hands::new(Utc::now())),
            limits(),
        ));
        let err = block_on(broken.now()).unwrap_err();
        assert!(
            err.to_string().contains("not a time of this century"),
            "{err}"
        );
    }
}
