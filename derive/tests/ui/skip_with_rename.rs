use taskrec::TaskData;

#[derive(TaskData)]
struct Fetch {
    filename: String,
    #[task(skip, rename = "cache")]
    cache: Vec<u8>,
}

fn main() {}
