// The task types the fuzz targets decode into: the bad-input corpus's own
// (tests/support/corpus.rs), so findings carry over to it.

use serde_json::{Map, Value};
use taskrec::{TaskData, TaskRegistry};

#[derive(Debug, Clone, PartialEq, TaskData)]
pub struct Ping {
    pub n: u32,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
#[task(type_name = "Task::Tasks::Note")]
pub struct Note {
    pub text: String,
    #[task(default)]
    pub tags: Vec<String>,
    pub at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
pub struct Doc {
    #[task(extra)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, TaskData)]
pub enum Ball {
    Ping(Ping),
    Note(Note),
    Doc(Doc),
}

pub fn registry() -> TaskRegistry {
    let mut registry = TaskRegistry::new();
    registry
        .register::<Ping>()
        .unwrap()
        .register::<Note>()
        .unwrap()
        .register::<Doc>()
        .unwrap();
    registry
}
