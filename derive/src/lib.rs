//! Implementation detail of taskrec: its `#[derive(TaskData)]`.
//!
//! Use it through `taskrec::TaskData`. The user documentation of the derive
//! and its attributes is `docs/derive.md` in the taskrec crate, which taskrec
//! includes where it re-exports the derive.
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

// No doc comment here: rustdoc would merge it into docs/derive.md where
// taskrec re-exports the derive.
#[proc_macro_derive(TaskData, attributes(task))]
pub fn derive_task_data(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}
