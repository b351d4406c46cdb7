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
    Find,
    /// A whole list of taskrec's bucketed table.
    Stream,
    /// A whole list of task_rb's table (one partition).
    StreamTaskRb,
    Complete,
}

impl Workload {
    pub const ALL: [Workload; 5] = [
        Workload::Save,
        Workload::Find,
        Workload::Stream,
        Workload::StreamTaskRb,
        Workload::Complete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Save => "save",
            Workload::Find => "find",
            Workload::Stream => "stream",
            Workload::StreamTaskRb => "stream-task_rb",
            Workload::Complete => "complete",
        }
    }

    /// The table layout the workload reads or writes.
    pub fn layout(self, variant: Variant) -> &'static str {
        match (self, variant) {
            (_, Variant::Memory) => "memory",
            (Workload::StreamTaskRb, _) => "task_rb",
            _ => "bucketed",
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
