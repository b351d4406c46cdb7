use taskrec::TaskData;

#[derive(TaskData)]
struct FetchFile {
    filename: String,
}

#[derive(TaskData)]
enum Jobs {
    Fetch(FetchFile),
    Ping,
    Delete { filename: String },
    Both(FetchFile, FetchFile),
}

fn main() {}
