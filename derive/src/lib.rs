//! Implementation detail of the `taskrec` crate: `#[derive(TaskData)]`.
//!
//! Use it through `taskrec::TaskData`, where the attributes are documented
//! (from `DERIVE_DOCS.md` in this crate's directory).
//!
//! The input goes through four steps, one module each: `ast` gives a typed
//! view of it, `attr` parses the `#[task(...)]` attributes one by one,
//! `valid` checks the rules between them, and `expand` generates the impls.
//! All errors are collected before any is reported; with errors, `fallback`
//! emits stub impls next to them so they are the only errors the user sees.

mod ast;
mod attr;
mod errors;
mod expand;
mod fallback;
mod valid;

use proc_macro::TokenStream;

/// Implements `TaskData` and `TaskDecode` (and `TaskType` for a struct).
/// See `taskrec::TaskData` for the attributes.
#[proc_macro_derive(TaskData, attributes(task))]
pub fn derive_task_data(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}
