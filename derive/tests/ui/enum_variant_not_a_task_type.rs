use taskrec::TaskData;

#[derive(TaskData)]
enum Jobs {
    Name(String),
}

fn main() {}
