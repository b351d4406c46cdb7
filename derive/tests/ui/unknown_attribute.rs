use taskrec::{TaskData, TaskType};

#[derive(TaskData)]
#[task(typename = "Fetch")]
struct Fetch {
    #[task(renam = "name")]
    filename: String,
    #[task(rename = "n", skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

// The stub impls keep uses of the type free of follow-on errors.
fn uses() -> &'static str {
    Fetch::TYPE_NAME
}

fn main() {
    let _ = uses;
}
