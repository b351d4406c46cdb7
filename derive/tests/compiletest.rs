//! Misuse of `#[derive(TaskData)]` fails to compile with a message that
//! points at the offending tokens. One case per file in `tests/ui/`, with
//! the expected compiler output next to it (rustc-version dependent; refresh
//! with `TRYBUILD=overwrite`, then read every changed `.stderr`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
