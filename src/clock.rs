//! Whose clock a task's times come from.
//!
//! A task's times are compared across processes: one worker writes when
//! its lease ends and another judges whether it has ended; a save places a
//! task in the minute that listings read; a retry says when the task may run
//! again. If each process read its own clock, a process whose clock is
//! behind would write times that others have already passed (tasks listed
//! nowhere, hints no sweep reads), and one whose clock is ahead would take
//! over tasks whose leases still hold.
//!
//! So every time taskrec writes or judges is the **adapter's** time,
//! [`StorageAdapter::now`](crate::adapter::StorageAdapter::now):
//! [`TaskStore::now`](crate::TaskStore::now) for code of your own (a
//! retry's `not_before`, say). The memory adapter lives in one process
//! and uses that process's clock. The Cassandra adapter measures the
//! offset between this process's clock and the cluster's and corrects
//! for it, and refuses writes that place a task by time when it cannot
//! tell the cluster's time within its tolerance
//! ([`Error::ClockSkew`](crate::Error::ClockSkew)); `docs/SCALE.md` has
//! the table of every mechanism, the clock it reads and the bound.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// The offset (the cluster's clock minus this process's, in milliseconds)
/// the Cassandra adapter last measured in this process; 0 before any.
static PROCESS_OFFSET_MILLIS: AtomicI64 = AtomicI64::new(0);

/// Remembers a measured offset for [`process_now`].
#[cfg_attr(not(feature = "cassandra"), allow(dead_code))]
pub(crate) fn record_process_offset(offset: TimeDelta) {
    PROCESS_OFFSET_MILLIS.store(offset.num_milliseconds(), Ordering::Relaxed);
}

/// This process's clock corrected by the offset a Cassandra adapter in it
/// last measured (none: this process's clock): the time
/// [`Task::build`](crate::Task::build) makes ids from, which has no store to
/// ask. Where the id's time places the task (the minute its listing entry
/// goes to, on Cassandra), a process whose clock is off still makes ids of
/// the cluster's time once it has connected.
pub(crate) fn process_now() -> DateTime<Utc> {
    let offset = TimeDelta::milliseconds(PROCESS_OFFSET_MILLIS.load(Ordering::Relaxed));
    let local = Utc::now();
    local.checked_add_signed(offset).unwrap_or(local)
}

/// What an adapter last measured of this process's clock against its
/// backend's ([`StorageAdapter::clock_reading`](crate::adapter::StorageAdapter::clock_reading)).
///
/// ```
/// use std::time::Duration;
/// use chrono::{TimeDelta, Utc};
/// use taskrec::ClockReading;
/// // This process's clock is 6 minutes behind the cluster's:
/// let reading = ClockReading::new(TimeDelta::minutes(6), Duration::from_millis(2), Utc::now(), true);
/// assert_eq!(reading.to_string(), "+360.000 s ± 2.0 ms");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClockReading {
    /// The backend's clock minus this process's: positive when this
    /// process's clock is behind.
    pub offset: TimeDelta,
    /// How far the true offset may be from `offset`: half the round trip
    /// of the sample it was read from, plus the backend clock's resolution.
    pub uncertainty: Duration,
    /// When it was measured, by the backend's clock.
    pub measured_at: DateTime<Utc>,
    /// Whether `offset` is past the adapter's warning threshold.
    pub past_warning: bool,
}

impl ClockReading {
    /// A reading, for adapters of your own.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let reading = taskrec::ClockReading::new(chrono::TimeDelta::zero(), Duration::ZERO, chrono::Utc::now(), false);
    /// assert!(!reading.past_warning);
    /// ```
    pub fn new(
        offset: TimeDelta,
        uncertainty: Duration,
        measured_at: DateTime<Utc>,
        past_warning: bool,
    ) -> Self {
        ClockReading {
            offset,
            uncertainty,
            measured_at,
            past_warning,
        }
    }
}

impl fmt::Display for ClockReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ± {:.1} ms",
            signed_seconds(self.offset),
            self.uncertainty.as_secs_f64() * 1_000.0
        )
    }
}

/// An offset as signed seconds with milliseconds: `+360.000 s`, `-0.250 s`.
///
/// ```
/// use chrono::TimeDelta;
/// assert_eq!(taskrec::clock::signed_seconds(TimeDelta::milliseconds(-250)), "-0.250 s");
/// assert_eq!(taskrec::clock::signed_seconds(TimeDelta::hours(1)), "+3600.000 s");
/// ```
pub fn signed_seconds(offset: TimeDelta) -> String {
    let millis = offset.num_milliseconds();
    let sign = if millis < 0 { '-' } else { '+' };
    let millis = millis.unsigned_abs();
    format!("{sign}{}.{:03} s", millis / 1_000, millis % 1_000)
}

/// Where a clock is against another, given the other's minus this one's:
/// `360.000 s behind`, `2.500 s ahead of`, for sentences such as
/// "this client's clock is 360.000 s behind the cluster's".
///
/// ```
/// use chrono::TimeDelta;
/// use taskrec::clock::behind_or_ahead;
/// assert_eq!(behind_or_ahead(TimeDelta::minutes(6)), "360.000 s behind");
/// assert_eq!(behind_or_ahead(TimeDelta::milliseconds(-2_500)), "2.500 s ahead of");
/// ```
pub fn behind_or_ahead(offset: TimeDelta) -> String {
    let millis = offset.num_milliseconds();
    let side = if millis >= 0 { "behind" } else { "ahead of" };
    let millis = millis.unsigned_abs();
    format!("{}.{:03} s {side}", millis / 1_000, millis % 1_000)
}
