use taskrec::TaskData;

#[derive(TaskData)]
#[task(type_name = Fetch, crate = ::taskrec)]
struct Fetch {
    #[task(rename = 5)]
    filename: String,
    #[task(default = zero)]
    retries: u32,
    #[task(skip = true)]
    cache: Vec<u8>,
    #[task(rename)]
    host: String,
}

fn main() {}
