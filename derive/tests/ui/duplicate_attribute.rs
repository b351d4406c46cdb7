use taskrec::TaskData;

#[derive(TaskData)]
#[task(type_name = "A")]
#[task(type_name = "B")]
struct Fetch {
    #[task(rename = "a", rename = "b")]
    filename: String,
    #[task(default)]
    #[task(default = "zero")]
    retries: u32,
    #[task(skip, skip)]
    cache: Vec<u8>,
}

fn zero() -> u32 {
    0
}

fn main() {}
