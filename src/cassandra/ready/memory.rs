//! What a process remembers of its sweeps of one list: where the last
//! ended, the hints it has looked at, and whether the list is quiet.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::{micros, Key, LOW_EVERY, LOW_SAFETY, MARGIN};

/// What a process remembers of its sweeps of one list.
pub(super) struct SweepMemory {
    /// Where the last sweep ended (µs), if one did.
    pub(super) end: Option<i64>,
    /// Hints already looked at, back to [`REMEMBERED`] before the last sweep:
    /// a sweep that reads them again (the margin, a sweep from the low mark)
    /// does not read their tasks' states again.
    pub(super) seen: BTreeSet<Key>,
    /// Hints this process knows point at nothing open: a lease's end whose
    /// claim this process completed, failed or renewed, a hint whose state
    /// change did not land. Sweeps skip them, and so does the look for the
    /// next hint, so a list this process drained is known drained at once.
    pub(super) stale: BTreeSet<Key>,
    /// The latest future hint this process wrote for each task it holds.
    pub(super) last_hint: HashMap<String, Key>,
    /// The versions (tokens) of tasks this process claimed, with when
    /// (µs): a save's hint that carries one of them is stale as soon as it
    /// is read, with no state read. Without it, every task handed out from
    /// a walk, and every one handed out from a hint that a later sweep
    /// passes again (the margin, a sweep from the low mark), cost a second
    /// state read to find it claimed or gone.
    pub(super) claimed: HashMap<uuid::Uuid, i64>,
    pub(super) low_swept_at: Option<Instant>,
    /// When this process last finished a walk of the list; a process's
    /// first walk of a list comes [`FIRST_WALK_AFTER`] after its first sweep.
    pub(super) walked_at: Instant,
    /// Set when a walk handed nothing out: until a hint is read again, the
    /// list is known quiet without walking it on every poll.
    pub(super) quiet: Option<Quiet>,
    /// The earliest time (µs) a task seen open by the walk under way opens.
    pub(super) walk_open: Option<i64>,
    /// The last of the stale hints the last look for the next hint passed
    /// over: the next look starts after it. A walk forgets it (a hint of
    /// another process's claim may have landed before it).
    pub(super) ahead: Option<Key>,
}

/// What the last walk of a list found, when it handed nothing out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Quiet {
    /// When the walk began (µs): hints due more than [`MARGIN`] before it
    /// were written for changes the walk saw.
    pub(super) since: i64,
    /// When the first task the walk saw open opens (µs): claimed under a
    /// lease, or backing off, perhaps beyond the look-ahead; `None` when
    /// nothing was open.
    pub(super) opens_at: Option<i64>,
}

impl SweepMemory {
    /// The task's earlier future hint is stale now; `new`, if any, is its latest.
    pub(super) fn replace_hint(&mut self, id: &str, new: Option<Key>) {
        let old = match &new {
            Some(key) => self.last_hint.insert(id.to_owned(), key.clone()),
            None => self.last_hint.remove(id),
        };
        self.stale
            .extend(old.filter(|old| Some(old) != new.as_ref()));
        if let Some(key) = &new {
            self.stale.remove(key);
        }
    }

    /// Forgets what is older than [`REMEMBERED`] before `now`: hints that
    /// far back are read again only by a sweep from the low mark, whose
    /// state reads they then cost.
    pub(super) fn forget_before(&mut self, now: i64) {
        let keep_from = (now - micros(REMEMBERED), String::new());
        self.seen = self.seen.split_off(&keep_from);
        self.stale = self.stale.split_off(&keep_from);
        self.claimed.retain(|_, at| *at >= keep_from.0);
        // A task whose claim another process took over and finished
        // leaves its entry here: drop those whose hint is long past.
        self.last_hint.retain(|_, key| key.0 >= keep_from.0);
    }
}

/// How far back a process remembers the hints it has looked at: as far as
/// a sweep from the low mark can start behind its own sweeps.
pub(super) const REMEMBERED: Duration =
    Duration::from_secs(LOW_SAFETY.as_secs() + LOW_EVERY.as_secs() + MARGIN.as_secs());

/// Remembered hints per list past which a state change trims them.
pub(super) const MEMORY_TRIM_AT: usize = 100_000;
