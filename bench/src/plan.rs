//! The variants and workloads, by the names summary.json uses.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Raw,
    RawSerde,
    Taskrec,
    TaskrecDyn,
    Memory,
    Python,
}

impl Variant {
    pub const ALL: [Variant; 6] = [
        Variant::Raw,
        Variant::RawSerde,
        Variant::Taskrec,
        Variant::TaskrecDyn,
        Variant::Memory,
        Variant::Python,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Raw => "raw",
            Variant::RawSerde => "raw+serde",
            Variant::Taskrec => "taskrec",
            Variant::TaskrecDyn => "taskrec-dyn",
            Variant::Memory => "memory",
            Variant::Python => "python",
        }
    }

    /// Whether the variant talks to Cassandra (the memory adapter does not).
    pub fn uses_server(self) -> bool {
        self != Variant::Memory
    }

    /// The table the variant saves, finds, claims, completes and streams
    /// in (`stream-task_rb` aside, which every server variant reads from
    /// task_rb's table); none for the memory adapter.
    pub fn table(self) -> Option<Table> {
        match self {
            Variant::Raw | Variant::RawSerde | Variant::Python => Some(Table::Raw),
            Variant::Taskrec | Variant::TaskrecDyn => Some(Table::Taskrec),
            Variant::Memory => None,
        }
    }
}

/// The server's tables (`cql.rs` has their layouts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// The raw variants' own bucketed table, created with plain CQL.
    Raw,
    /// taskrec's table, only ever used through taskrec's adapter.
    Taskrec,
    /// task_rb's table, which `stream-task_rb` lists.
    TaskRb,
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Table::Raw => "raw",
            Table::Taskrec => "taskrec",
            Table::TaskRb => "task_rb",
        })
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variant {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name() == name)
            .ok_or_else(|| format!("unknown variant `{name}`"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Save,
    /// N tasks whose ids taskrec made (`Task::build`), each saved once:
    /// known to be new, so taskrec's table takes them without a read. The
    /// raw variants make the same kind of id (a version 7 UUID) and write
    /// the same INSERT as `save`.
    SaveNew,
    /// N tasks saved in groups of 100 (`TaskStore::save_all`, one group per
    /// call; the concurrency is groups in flight), against the raw driver
    /// writing each group as one unlogged batch per bucket partition.
    SaveAll,
    Find,
    /// A whole list of the variant's own table: the raw table's 16 bucket
    /// partitions, or taskrec's listing entries.
    Stream,
    /// A whole list of task_rb's table (one partition).
    StreamTaskRb,
    Complete,
    /// Claim each saved task (taskrec's `TaskStore::claim`: a read and a
    /// lightweight transaction), next to `save`'s plain writes.
    Claim,
    /// A `Worker` draining a seeded list with a handler that does nothing:
    /// per task a claim and a conditional delete, plus the listing passes.
    Drain,
    /// `Drain` of a list holding 10,000 tasks, whatever N is: whether a
    /// worker's rate depends on the size of the list it drains.
    Drain10k,
    /// `Drain` of a list holding 100,000 tasks.
    Drain100k,
    /// A worker idling over a list of 10,000 tasks another live worker
    /// holds: what its polls read per second (not a throughput).
    Idle10k,
    /// The same over 100,000 held tasks: an idle worker's reads must not
    /// grow with the list.
    Idle100k,
    /// Producers saving new tasks and worker processes (two by default)
    /// running them, on one list at the same time for a window of seconds
    /// (`flow.rs`): tasks through the list per second, tasks run twice, and
    /// the wait from save to run.
    Flow,
    /// 100,000 tasks saved and completed through one list, then `page(100)`
    /// and `count()` of the emptied list timed against a list that never
    /// had tasks (not a throughput: the flow's rate is context).
    Churn100k,
}

impl Workload {
    /// Every workload, in the order of the run and of summary.md.
    pub const ALL: [Workload; 15] = [
        Workload::Save,
        Workload::SaveNew,
        Workload::SaveAll,
        Workload::Find,
        Workload::Claim,
        Workload::Stream,
        Workload::StreamTaskRb,
        Workload::Complete,
        Workload::Drain,
        Workload::Flow,
        Workload::Drain10k,
        Workload::Drain100k,
        Workload::Idle10k,
        Workload::Idle100k,
        Workload::Churn100k,
    ];

    /// What a run without `--workloads` measures: N-sized workloads only.
    /// The list-size rows below are opt-in: at their full sizes they take
    /// 10–20 minutes more here (the drains of 100,000 tasks, the 100,000
    /// claims an idle list is held with, the 200,000 writes of a churn),
    /// which would double the quick run.
    pub const DEFAULT: [Workload; 10] = [
        Workload::Save,
        Workload::SaveNew,
        Workload::SaveAll,
        Workload::Find,
        Workload::Claim,
        Workload::Stream,
        Workload::StreamTaskRb,
        Workload::Complete,
        Workload::Drain,
        Workload::Flow,
    ];

    /// The rows about list sizes (`--workloads scale`): fixed sizes, not N.
    pub const SCALE: [Workload; 5] = [
        Workload::Drain10k,
        Workload::Drain100k,
        Workload::Idle10k,
        Workload::Idle100k,
        Workload::Churn100k,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Save => "save",
            Workload::SaveNew => "save-new",
            Workload::SaveAll => "save-all",
            Workload::Find => "find",
            Workload::Stream => "stream",
            Workload::StreamTaskRb => "stream-task_rb",
            Workload::Complete => "complete",
            Workload::Claim => "claim",
            Workload::Drain => "drain",
            Workload::Flow => "flow",
            Workload::Drain10k => "drain-10k",
            Workload::Drain100k => "drain-100k",
            Workload::Idle10k => "idle-10k",
            Workload::Idle100k => "idle-100k",
            Workload::Churn100k => "churn-100k",
        }
    }

    /// The tasks the list of a list-size workload holds (before `--shrink`);
    /// `None` for the workloads whose size is N.
    pub fn fixed_size(self) -> Option<u64> {
        match self {
            Workload::Drain10k | Workload::Idle10k => Some(10_000),
            Workload::Drain100k | Workload::Idle100k | Workload::Churn100k => Some(100_000),
            _ => None,
        }
    }

    /// A `Worker` draining a seeded list.
    pub fn is_drain(self) -> bool {
        matches!(
            self,
            Workload::Drain | Workload::Drain10k | Workload::Drain100k
        )
    }

    pub fn is_idle(self) -> bool {
        matches!(self, Workload::Idle10k | Workload::Idle100k)
    }

    /// Whether the row's `ops_per_s` is the figure to compare (summary.md's
    /// main table); idle and churn rows get tables of their own.
    pub fn is_throughput(self) -> bool {
        !self.is_idle() && self != Workload::Churn100k
    }

    /// Whether `variant` has this workload. Claims are measured for the
    /// typed API against a raw client doing the same read and lightweight
    /// transaction by hand; a worker's drain exists only in taskrec. The
    /// dynamic path and the Python driver add nothing to either: the server's
    /// Paxos rounds set their pace. An idle worker's reads are the Cassandra
    /// ready index's (`ready_reads()`); the memory adapter's index is in
    /// process and reads nothing from a server (`tests/claim_next.rs` counts
    /// it). A churn is timed on memory too: its page and count after 100,000
    /// completions are the baseline of a store that forgets at once.
    pub fn runs_on(self, variant: Variant) -> bool {
        match self {
            Workload::Claim | Workload::SaveAll => {
                matches!(variant, Variant::Raw | Variant::Taskrec | Variant::Memory)
            }
            Workload::Drain | Workload::Drain10k | Workload::Drain100k | Workload::Churn100k => {
                matches!(variant, Variant::Taskrec | Variant::Memory)
            }
            // Worker processes of taskrec's own: nothing to compare within
            // the workload; its row is read against raw's `save`.
            Workload::Idle10k | Workload::Idle100k | Workload::Flow => variant == Variant::Taskrec,
            _ => true,
        }
    }

    /// The table layout the workload reads or writes: `bucketed` is the
    /// raw table (`((task_list, bucket), id)`), `taskrec` taskrec's table
    /// with its listing entries.
    pub fn layout(self, variant: Variant) -> &'static str {
        match (self, variant.table()) {
            (_, None) => "memory",
            (Workload::StreamTaskRb, _) | (_, Some(Table::TaskRb)) => "task_rb",
            (_, Some(Table::Raw)) => "bucketed",
            (_, Some(Table::Taskrec)) => "taskrec",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == name)
            .ok_or_else(|| format!("unknown workload `{name}`"))
    }
}
