//! What a process remembers per task list, and the time slices both of
//! its per-list indexes cut time into: one map with one bound, one slice
//! arithmetic, for the listing directory ([`listing`](super::listing)) and
//! the ready index ([`ready`](super::ready)).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Lists a process remembers at most per index. Past it the memory is
/// emptied: a bound, not a cache policy (a process touches few lists, and
/// what is forgotten is only read or written again, never lost).
pub(super) const LISTS_REMEMBERED: usize = 10_000;

/// A process's memory of each task list it has used, bounded by
/// [`LISTS_REMEMBERED`].
pub(super) struct PerList<T> {
    lists: Mutex<HashMap<String, T>>,
}

impl<T> PerList<T> {
    pub(super) fn new() -> Self {
        PerList {
            lists: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `f` on what is remembered of `task_list`, made by `make` when
    /// nothing is.
    pub(super) fn with<R>(
        &self,
        task_list: &str,
        make: impl FnOnce() -> T,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        let mut lists = self.lists.lock().unwrap_or_else(PoisonError::into_inner);
        // The list's name is copied only the first time: this runs on
        // every save, claim and completion.
        if let Some(memory) = lists.get_mut(task_list) {
            return f(memory);
        }
        if lists.len() >= LISTS_REMEMBERED {
            lists.clear();
        }
        f(lists.entry(task_list.to_owned()).or_insert_with(make))
    }

    /// How many lists are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lists
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The slice an instant (in units since the Unix epoch: µs, ms) falls in,
/// for slices `length` such units long: slice `n` covers
/// `[n * length, (n + 1) * length)`, before 1970 too.
pub(super) const fn slice_index(at: i64, length: i64) -> i64 {
    at.div_euclid(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_is_bounded_and_keeps_what_it_was_given() {
        let per_list = PerList::new();
        for n in 0..LISTS_REMEMBERED {
            per_list.with(&format!("l{n}"), || n, |_| ());
        }
        assert_eq!(per_list.len(), LISTS_REMEMBERED);
        assert_eq!(per_list.with("l7", || 0, |n| *n), 7, "remembered");
        per_list.with("one more", || 1, |_| ());
        assert_eq!(per_list.len(), 1, "emptied at the bound, then the new list");
        assert_eq!(
            per_list.with("l7", || 99, |n| *n),
            99,
            "forgotten: made again"
        );
    }

    #[test]
    fn slices_are_half_open_and_floor_before_the_epoch() {
        assert_eq!(slice_index(0, 60), 0);
        assert_eq!(slice_index(59, 60), 0);
        assert_eq!(slice_index(60, 60), 1);
        assert_eq!(slice_index(-1, 60), -1);
        assert_eq!(slice_index(-60, 60), -1);
        assert_eq!(slice_index(-61, 60), -2);
    }
}
