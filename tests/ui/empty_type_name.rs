use taskrec::TaskData;

#[derive(TaskData)]
#[task(type_name = "")]
struct Fetch {
    filename: String,
}

fn main() {}
