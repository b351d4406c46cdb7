// A field type serde cannot decode is reported at the field's type.
use taskrec::TaskData;

#[derive(serde::Serialize)]
struct Checksum(u64);

#[derive(TaskData)]
struct FetchFile {
    filename: String,
    checksum: Checksum,
}

fn main() {}
