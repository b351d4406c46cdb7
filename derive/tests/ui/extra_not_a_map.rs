use taskrec::TaskData;

// An extra field must be a map taskrec can put unknown keys into.
#[derive(Debug, TaskData)]
struct Fetch {
    filename: String,
    #[task(extra)]
    rest: Vec<String>,
}

fn main() {}
