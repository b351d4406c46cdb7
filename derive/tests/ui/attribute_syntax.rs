use taskrec::TaskData;

#[derive(TaskData)]
#[task]
struct Fetch {
    #[task = "name"]
    filename: String,
}

fn main() {}
