use taskrec::TaskData;

#[derive(TaskData)]
enum Jobs {}

fn main() {}
