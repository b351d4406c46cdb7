use taskrec::TaskData;

#[derive(TaskData)]
struct Fetch {
    #[task(rename = "name")]
    filename: String,
    #[task(rename = "name")]
    path: String,
    // Renamed onto another field's own name.
    #[task(rename = "host")]
    server: String,
    host: String,
}

fn main() {}
