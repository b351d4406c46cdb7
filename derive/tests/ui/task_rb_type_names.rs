// `#[task(task_rb)]`: the type name must be a Ruby constant path task_rb can load.
use taskrec::TaskData;

#[derive(TaskData)]
#[task(task_rb, type_name = "Task::Tasks::CompositeTask")]
struct Fine {}

#[derive(TaskData)]
#[task(task_rb)]
struct AlsoFine {}

#[derive(TaskData)]
#[task(task_rb, type_name = "fetch_file")]
struct Lowercase {}

#[derive(TaskData)]
#[task(task_rb, type_name = "Jobs::")]
struct EmptyPart {}

#[derive(TaskData)]
#[task(type_name = "Jobs::Fetch-File", task_rb)]
struct Dash {}

#[derive(TaskData)]
#[task(task_rb)]
#[allow(non_camel_case_types)]
struct lower_struct {}

// Without the attribute any name is taken.
#[derive(TaskData)]
#[task(type_name = "fetch-file")]
struct Free {}

fn main() {}
