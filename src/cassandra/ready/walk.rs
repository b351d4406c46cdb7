//! The walk: the list's pages and every state, for the hints a sweep
//! cannot see (a write that failed, a hint that expired).

use super::*;

impl ReadyIndex {
    /// One step of a walk: the provided claim-next, over the list's pages.
    pub(super) async fn walk(
        &self,
        adapter: &CassandraAdapter,
        task_list: &str,
        walk: Step,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ReadyTasks> {
        let Step::Walk {
            token,
            started,
            sets_low,
            clean,
        } = walk
        else {
            return Ok(ReadyTasks::default());
        };
        let first_step = token.is_none();
        let (mut ready, records) =
            crate::adapter::ready::ready_by_walking(adapter, task_list, token.as_ref(), limit, now)
                .await?;
        self.count(|r| r.walked += records);
        if self.parts.is_some() {
            // Only the tasks of the parts this process holds are its own.
            let shards = self.shards(task_list);
            ready
                .tasks
                .retain(|task| shards.contains(&shard_of(task.record.id(), SHARDS)));
        }
        // `clean`: nothing handed out so far in this walk.
        let clean = clean && ready.tasks.is_empty();
        let opens = ready.next_open.map(|at| at.timestamp_micros());
        self.memory(task_list, |m| {
            let earlier = if first_step { None } else { m.walk_open };
            m.walk_open = match (earlier, opens) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        });
        match ready.next.take() {
            Some(next) => {
                let walk = Step::Walk {
                    token: Some(next),
                    started,
                    sets_low,
                    clean,
                };
                ready.next = Some(walk.encode());
            }
            None => {
                self.memory(task_list, |m| {
                    m.walked_at = Instant::now();
                    m.ahead = None;
                    if sets_low {
                        // Every hint before the walk began is behind it.
                        m.end = Some(self.remembered(started));
                        m.low_swept_at = Some(Instant::now());
                    }
                    if clean {
                        m.quiet = Some(Quiet {
                            since: started,
                            opens_at: m.walk_open,
                        });
                    }
                });
                if sets_low {
                    self.mark_low(adapter.session(), task_list, started).await?;
                }
            }
        }
        Ok(ready)
    }
}
