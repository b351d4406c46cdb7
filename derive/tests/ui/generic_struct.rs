use taskrec::{TaskData, TaskDecode};

#[derive(TaskData)]
struct Generic<T> {
    value: T,
}

#[derive(TaskData)]
struct Borrowed<'a> {
    name: &'a str,
}

// No follow-on errors from the stub impls, bounds or not.
fn uses() -> &'static [&'static str] {
    Generic::<String>::TYPE_NAMES
}

fn main() {
    let _ = uses;
}
