use taskrec::TaskData;

#[derive(TaskData)]
struct Fetch {
    filename: &'static str,
    // Not stored, so it may borrow.
    #[task(skip)]
    label: &'static str,
}

fn main() {}
