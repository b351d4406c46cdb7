use taskrec::TaskData;

#[derive(TaskData)]
struct Fetch {
    #[task(type_name = "Fetch")]
    filename: String,
    #[task(crate = "::taskrec")]
    host: String,
}

fn main() {}
