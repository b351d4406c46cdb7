//! The adapter conformance suite on both table layouts, against the real server
//! (taskrec's also without the ready index, and sweeping by owned parts).

use taskrec::cassandra::TableLayout;

use crate::utils::{adapter, bucketed, config, run, task_rb};

#[test]
fn bucketed_layout_keeps_the_adapter_contract() {
    run(async { taskrec::conformance::run_all(&bucketed().await).await });
}

#[test]
fn task_rb_layout_keeps_the_adapter_contract() {
    run(async { taskrec::conformance::run_all(&task_rb().await).await });
}

#[test]
fn bucketed_layout_without_the_ready_index_keeps_the_adapter_contract() {
    run(async {
        let config = config("tasks_unindexed", TableLayout::Taskrec { shards: Some(4) })
            .ready_index(false)
            .page_size(100);
        taskrec::conformance::run_all(&adapter(config).await).await;
    });
}

/// One process alone holds every part of a list, so claim-next by parts
/// answers as claim-next without them.
#[test]
fn bucketed_layout_by_owned_parts_keeps_the_adapter_contract() {
    run(async {
        let config = config("tasks", TableLayout::Taskrec { shards: Some(16) })
            .owned_parts(true)
            .page_size(100);
        taskrec::conformance::run_all(&adapter(config).await).await;
    });
}
