use taskrec::TaskData;

#[derive(TaskData)]
struct Ping;

fn main() {}
