use std::collections::BTreeMap;

use serde_json::Value;
use taskrec::TaskData;

#[derive(TaskData)]
struct Fetch {
    filename: String,
    #[task(extra)]
    rest: BTreeMap<String, Value>,
    #[task(extra)]
    more: BTreeMap<String, Value>,
}

fn main() {}
