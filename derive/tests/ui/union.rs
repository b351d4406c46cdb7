use taskrec::TaskData;

#[derive(TaskData)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
