use std::collections::BTreeMap;

use serde_json::Value;
use taskrec::TaskData;

#[derive(TaskData)]
struct Renamed {
    #[task(extra, rename = "rest")]
    rest: BTreeMap<String, Value>,
}

#[derive(TaskData)]
struct Defaulted {
    #[task(extra, default)]
    rest: BTreeMap<String, Value>,
}

#[derive(TaskData)]
struct Skipped {
    #[task(extra, skip)]
    rest: BTreeMap<String, Value>,
}

fn main() {}
