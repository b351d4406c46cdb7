use taskrec::TaskData;

#[derive(TaskData)]
#[task(crate = "not a path")]
struct Fetch {
    #[task(default = "zero()")]
    retries: u32,
}

fn main() {}
