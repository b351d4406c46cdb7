//! The adapter conformance suite on both table layouts, against the real server.

use crate::utils::{bucketed, run, task_rb};

#[test]
fn bucketed_layout_keeps_the_adapter_contract() {
    run(async { taskrec::conformance::run_all(&bucketed().await).await });
}

#[test]
fn task_rb_layout_keeps_the_adapter_contract() {
    run(async { taskrec::conformance::run_all(&task_rb().await).await });
}
