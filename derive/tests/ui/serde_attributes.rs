// `#[serde(...)]` does not change what is stored: refused unless the type
// says its serde attributes are for its own serde derives.
use taskrec::TaskData;

#[derive(serde::Serialize, serde::Deserialize, TaskData)]
#[serde(rename_all = "camelCase")]
struct Upload {
    #[serde(rename = "dest")]
    target_path: String,
}

#[derive(serde::Serialize, TaskData)]
enum Jobs {
    #[serde(rename = "up")]
    Upload(Upload),
}

// Said on purpose: accepted.
#[derive(serde::Serialize, serde::Deserialize, TaskData)]
#[task(ignore_serde)]
#[serde(rename_all = "camelCase")]
struct Download {
    #[serde(rename = "src")]
    source_path: String,
}

fn main() {}
