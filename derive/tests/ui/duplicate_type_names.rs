use taskrec::TaskData;

#[derive(TaskData)]
struct FetchFile {
    filename: String,
}

#[derive(TaskData)]
struct Ping {}

#[derive(TaskData)]
#[task(type_name = "FetchFile")]
struct FetchFileV2 {
    filename: String,
    checksum: String,
}

#[derive(TaskData)]
enum Jobs {
    Fetch(FetchFile),
    Ping(Ping),
    FetchV2(FetchFileV2),
}

fn main() {}
