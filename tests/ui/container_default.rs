// `#[task(default)]` on a struct needs `Default` of every field's type: a
// type without it is reported at the field.
use taskrec::TaskData;

#[derive(serde::Serialize, serde::Deserialize)]
struct Checksum(u64);

#[derive(TaskData)]
#[task(default)]
struct FetchFile {
    filename: String,
    checksum: Checksum,
}

#[derive(TaskData)]
#[task(default, default)]
struct Twice {}

#[derive(TaskData)]
enum Jobs {
    Fetch(FetchFile),
}

#[derive(TaskData)]
#[task(default)]
enum NotOnEnums {
    Fetch(FetchFile),
}

fn main() {}
