use taskrec::TaskData;

#[derive(TaskData)]
struct FetchFile {
    filename: String,
}

#[derive(TaskData)]
#[task(type_name = "Jobs")]
enum Jobs {
    Fetch(FetchFile),
}

fn main() {}
