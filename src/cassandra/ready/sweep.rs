//! A sweep's steps: where it starts (its own last end, or the list's low
//! mark), the slices of hints it reads, the states of the hinted tasks,
//! and how it ends (where the next starts, and the low mark moved on).

use super::*;

impl ReadyIndex {
    /// Where a new sweep starts, and whether at the low mark.
    pub(super) async fn start(&self, session: &Session, task_list: &str, now: i64) -> Result<Step> {
        // Parts taken since the last sweep began are swept from where their
        // last owner left off.
        let gained = self
            .parts
            .as_ref()
            .is_some_and(|parts| parts.take_gained(task_list));
        let (end, recent) = self.memory(task_list, |m| {
            let recent = m.low_swept_at.is_some_and(|at| at.elapsed() < LOW_EVERY);
            (m.end.map(|end| end - micros(MARGIN)), recent && !gained)
        });
        if let (Some(end), true) = (end, recent) {
            return Ok(Step::Hints {
                after: (end, String::new()),
                from_low: false,
            });
        }
        let low = match &self.parts {
            // The lowest mark of the parts held: each is its owners' own.
            Some(parts) => parts.low(task_list),
            None => {
                crate::cassandra::first_row::<(Option<i64>,)>(session, &self.read_low, (task_list,))
                    .await?
                    .and_then(|(low,)| low)
            }
        };
        Ok(match low {
            // Never past where this process's own last sweep ended: hints
            // others read and left (another type's tasks) are this one's.
            Some(low) => Step::Hints {
                after: (end.map_or(low, |end| end.min(low)), String::new()),
                from_low: true,
            },
            // No sweep has marked the list yet: only a walk finds what is
            // there, and it marks the list when it ends.
            None => Step::Walk {
                token: None,
                started: now,
                sets_low: true,
                clean: true,
            },
        })
    }

    /// The hints of one slice after `after` and due by `until`, merged
    /// over its shards: those known complete (every shard's rows up to the
    /// last one returned).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn read_slice(
        &self,
        session: &Session,
        task_list: &str,
        shards: &[u32],
        slice: i64,
        after: &Key,
        until: i64,
        limit: usize,
    ) -> Result<Vec<Key>> {
        let limit_i32 = i32::try_from(limit).unwrap_or(i32::MAX);
        let tokens = self.insert_saved.is_some();
        let shards: Vec<Vec<(Key, Option<uuid::Uuid>)>> =
            futures::stream::iter(shards.iter().copied())
                .map(|shard| async move {
                    let rows = session
                        .execute_unpaged(
                            &self.read,
                            (
                                task_list,
                                slice,
                                shard as i32,
                                after.0,
                                after.1.as_str(),
                                until,
                                limit_i32,
                            ),
                        )
                        .await
                        .map_err(storage)?
                        .into_rows_result()
                        .map_err(storage)?;
                    if tokens {
                        rows.rows::<(i64, String, Option<uuid::Uuid>)>()
                            .map_err(storage)?
                            .map(|row| {
                                row.map(|(due, id, token)| ((due, id), token))
                                    .map_err(storage)
                            })
                            .collect::<Result<Vec<_>>>()
                    } else {
                        rows.rows::<(i64, String)>()
                            .map_err(storage)?
                            .map(|row| row.map(|key| (key, None)).map_err(storage))
                            .collect::<Result<Vec<_>>>()
                    }
                })
                .buffered(SHARDS as usize)
                .try_collect()
                .await?;
        // A shard that returned `limit` rows may hold more after its last:
        // only keys up to the smallest such last key are complete.
        let complete_until = shards
            .iter()
            .filter(|rows| rows.len() >= limit)
            .filter_map(|rows| rows.last().map(|(key, _)| key.clone()))
            .min();
        let rows: Vec<(Key, Option<uuid::Uuid>)> = shards.into_iter().flatten().collect();
        // Hints of versions this process claimed are stale at once: the
        // sweeps and the look for the next hint pass over them unread.
        let own = self.memory(task_list, |m| {
            let mut own = 0u64;
            for (key, token) in &rows {
                if token.is_some_and(|token| m.claimed.contains_key(&token))
                    && m.stale.insert(key.clone())
                {
                    own += 1;
                }
            }
            own
        });
        let mut keys: Vec<Key> = rows.into_iter().map(|(key, _)| key).collect();
        self.count(|r| {
            r.hints += keys.len() as u64;
            r.hints_of_own_claims += own;
        });
        keys.sort_unstable();
        if let Some(until) = complete_until {
            keys.retain(|key| *key <= until);
        }
        Ok(keys)
    }

    /// The due time of the first hint after `now` within the look-ahead
    /// that this process does not know to be stale.
    pub(super) async fn next_hint(
        &self,
        session: &Session,
        task_list: &str,
        now: i64,
    ) -> Result<Option<i64>> {
        // Past the stale hints the last look passed over: while others'
        // claims end, this process's completed ones (stale, earlier) would
        // otherwise be read again at the end of every sweep.
        let known_stale = self.memory(task_list, |m| m.ahead.clone());
        let mut after = known_stale
            .filter(|key| key.0 > now)
            .unwrap_or((now, String::new()));
        let mut slice = slice_of(after.0);
        let shards = self.shards(task_list);
        // A few hints per shard, more while all are stale: the first hint
        // is usually good, and a drained list's stale ones come by the hundred.
        let mut batch = 2;
        while slice <= slice_of(now) + LOOK_AHEAD_SLICES {
            let keys = self
                .read_slice(session, task_list, &shards, slice, &after, i64::MAX, batch)
                .await?;

            let found = self.memory(task_list, |m| {
                let found = keys.iter().position(|key| !m.stale.contains(key));
                // Every key before the first good one is stale.
                let passed = match found {
                    Some(0) => None,
                    Some(n) => keys.get(n - 1),
                    None => keys.last(),
                };
                if let Some(passed) = passed {
                    m.ahead = Some(passed.clone());
                }
                found.map(|n| keys[n].0)
            });
            if found.is_some() {
                return Ok(found);
            }
            match keys.last() {
                // All stale so far: on in this slice, reading more at a time.
                Some(last) => {
                    after = last.clone();
                    batch = (batch * 4).min(LOOK_AHEAD_BATCH);
                }
                None => {
                    slice += 1;
                    after = (slice * micros(HINT_SLICE) - 1, String::new());
                    batch = 2;
                }
            }
        }
        Ok(None)
    }

    /// Loads the states of the hinted tasks and hands out the ready ones.
    pub(super) async fn states(
        &self,
        adapter: &CassandraAdapter,
        task_list: &str,
        keys: Vec<Key>,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        let mut ids: Vec<String> = keys.iter().map(|(_, id)| id.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        self.count(|r| r.states += ids.len() as u64);
        let wanted = ids.into_iter().map(|id| (id, ())).collect();
        let load = |id: String| async move { adapter.load_state(task_list, &id).await };
        let states = crate::adapter::inspect::load_states(wanted, load).await?;
        let mut ready = ReadyTasks::default();
        // Hints whose tasks are not handed out need no second state read:
        // gone, closed, or open later (when another hint comes due, or a
        // change un-sees this one). Handed-out ones are read again, so a
        // task this process did not claim after all is handed out again.
        let mut settled = Vec::new();
        for (id, (), stored) in states {
            let Some(stored) = stored else {
                settled.push(id);
                continue;
            };
            match readiness(&stored.json, now) {
                Readiness::Ready => ready.tasks.push(stored),
                Readiness::OpenAt(at) => {
                    ready.next_open = Some(ready.next_open.map_or(at, |t| t.min(at)));
                    settled.push(id);
                }
                Readiness::Closed => settled.push(id),
            }
        }
        settled.sort_unstable();
        self.memory(task_list, |m| {
            m.seen.extend(
                keys.into_iter()
                    .filter(|(_, id)| settled.binary_search(id).is_ok()),
            );
        });
        Ok(ready)
    }

    /// The hints due by now are read: remember where, move the low mark,
    /// say when to look again, or walk when the hints cannot say.
    pub(super) async fn end_sweep(
        &self,
        adapter: &CassandraAdapter,
        task_list: &str,
        now_us: i64,
        from_low: bool,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        let session = adapter.session();
        let (walk_due, quiet) = self.memory(task_list, |m| {
            let end = self.remembered(now_us);
            m.end = Some(end);
            m.forget_before(end);
            if from_low {
                m.low_swept_at = Some(Instant::now());
            }
            // Quiet while nothing the last walk saw has opened yet.
            let quiet = m.quiet.filter(|q| q.opens_at.is_none_or(|at| at > now_us));
            (m.walked_at.elapsed() >= self.walk_every, quiet)
        });
        if from_low {
            self.mark_low(session, task_list, now_us).await?;
        }
        let next_hint = self.next_hint(session, task_list, now_us).await?;
        if let (None, Some(quiet), false) = (next_hint, quiet, walk_due) {
            // Walked and found nothing ready, and no hint read since: still
            // so (every save, release and retry writes a hint), without
            // walking it on every poll, until the first task it saw opens.
            return Ok(ReadyTasks {
                next_open: quiet.opens_at.and_then(DateTime::from_timestamp_micros),
                ..ReadyTasks::default()
            });
        }
        if walk_due || next_hint.is_none() {
            // Nothing hinted soon: only a walk can tell whether the list
            // still holds open tasks (and when they open).
            let walk = Step::Walk {
                token: None,
                started: now_us,
                sets_low: false,
                clean: true,
            };
            let mut ready = self.walk(adapter, task_list, walk, limit, now).await?;
            if let Some(at) = next_hint.and_then(DateTime::from_timestamp_micros) {
                ready.next_open = Some(ready.next_open.map_or(at, |t| t.min(at)));
            }
            return Ok(ready);
        }
        Ok(ReadyTasks {
            tasks: Vec::new(),
            next: None,
            next_open: next_hint.and_then(DateTime::from_timestamp_micros),
        })
    }

    /// Where a sweep that went up to `passed` (µs) is remembered to have
    /// ended: never past the cluster's time. A caller may sweep with a
    /// `now` of its own (a later one, to see what will open); the next
    /// sweep must still read the hints between the cluster's time and that.
    pub(super) fn remembered(&self, passed: i64) -> i64 {
        passed.min(self.clock.estimate().timestamp_micros())
    }

    /// Moves the list's low mark to [`LOW_SAFETY`] before `passed`, a
    /// position every hint before which has been read by a sweep.
    pub(super) async fn mark_low(
        &self,
        session: &Session,
        task_list: &str,
        passed: i64,
    ) -> Result<()> {
        // Never ahead of the cluster's time (a forged token's start
        // included): a mark in the future could not be moved back. Not
        // moved at all while that time cannot be told.
        let Ok(now) = self.clock.now_if_known() else {
            return Ok(());
        };
        let low = passed.min(now.timestamp_micros()) - micros(LOW_SAFETY);
        if let Some(parts) = &self.parts {
            // The marks of the parts swept: the list's own is for processes
            // that sweep it whole.
            return parts.mark(session, task_list, low).await;
        }
        session
            .execute_unpaged(&self.write_low, (low, low, task_list))
            .await
            .map_err(storage)?;
        Ok(())
    }
}
