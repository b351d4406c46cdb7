//! Implementation detail of the `taskrec` crate's `#[derive(TaskData)]`.

use proc_macro::TokenStream;

/// See `taskrec::TaskData`.
#[proc_macro_derive(TaskData, attributes(task))]
pub fn derive_task_data(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
