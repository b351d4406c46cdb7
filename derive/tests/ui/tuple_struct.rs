use taskrec::TaskData;

#[derive(TaskData)]
struct Fetch(String, u32);

fn main() {}
