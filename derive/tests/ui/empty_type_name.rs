use taskrec::TaskData;

#[derive(TaskData)]
#[task(type_name = "")]
struct Fetch {
    filename: String,
}

fn main() {}

#[derive(TaskData)]
#[task(type_name = "Send Email")]
struct SendEmail {}

#[derive(TaskData)]
#[task(type_name = "Tab\tName")]
struct Tab {}
