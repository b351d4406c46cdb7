use taskrec::TaskData;

#[derive(TaskData)]
struct FetchFile {
    filename: String,
}

#[derive(TaskData)]
enum Jobs {
    #[task(rename = "fetch")]
    Fetch(FetchFile),
    Again(#[task(skip)] FetchFile),
}

fn main() {}
