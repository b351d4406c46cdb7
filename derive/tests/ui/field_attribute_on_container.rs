use taskrec::TaskData;

#[derive(TaskData)]
#[task(rename = "Fetch", default)]
struct Fetch {
    filename: String,
}

#[derive(TaskData)]
#[task(skip)]
enum Jobs {
    Fetch(Fetch),
}

fn main() {}
