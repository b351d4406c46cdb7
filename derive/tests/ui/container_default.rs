// `#[task(default)]` belongs on a struct, once. (A field type without
// `Default` is reported at the field too, but rustc names the trait
// differently from one build to another, so that case is not pinned here.)
use taskrec::TaskData;

#[derive(TaskData)]
#[task(default)]
struct FetchFile {
    filename: String,
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
