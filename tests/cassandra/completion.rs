//! Completing a claimed task without a second lightweight transaction: a
//! read of the claim's token and a plain delete `USING TIMESTAMP` its write
//! time. What it deletes, and what it must leave.

use std::time::Duration;

use taskrec::{Task, TaskData, TaskStatus, TaskStore};

use crate::utils::{bucketed, keyspace, raw_session, run, unique_list};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Unit {
    n: u32,
}

const LEASE: Duration = Duration::from_secs(30);

/// Every cell of the row, type and state included: `None` when no cell is
/// left (a leftover of state cells would show as `Some((None, None, Some(_)))`).
async fn raw_row(
    list: &str,
    id: &str,
) -> Option<(Option<String>, Option<String>, Option<uuid::Uuid>)> {
    let cql = format!(
        "SELECT type, data, state_token FROM {}.tasks WHERE task_list = ? AND id = ?",
        keyspace()
    );
    raw_session()
        .await
        .query_unpaged(cql.as_str(), (list, id))
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .maybe_first_row()
        .unwrap()
}

#[test]
fn a_claimed_task_completes_without_leaving_a_cell_behind() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("complete");
        store
            .save(&Task::new(&list, "t", Unit { n: 1 }).unwrap())
            .await
            .unwrap();
        let mut claim = store.claim(&list, "t", "w", LEASE).await.unwrap().unwrap();
        // A renewal is a later Paxos round: the delete must cover its cells too.
        assert!(store.renew(&mut claim, LEASE).await.unwrap());
        assert!(
            store.succeed(claim, None, false).await.unwrap(),
            "completed"
        );
        assert_eq!(raw_row(&list, "t").await, None, "the whole row is gone");
        assert_eq!(store.find::<Unit>(&list, "t").await.unwrap(), None);
    });
}

#[test]
fn a_task_saved_again_while_it_ran_is_not_completed() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("resaved");
        store
            .save(&Task::new(&list, "t", Unit { n: 1 }).unwrap())
            .await
            .unwrap();
        let claim = store.claim(&list, "t", "w", LEASE).await.unwrap().unwrap();
        let newer = Task::new(&list, "t", Unit { n: 2 }).unwrap();
        store.save(&newer).await.unwrap();

        assert!(
            !store.succeed(claim, None, false).await.unwrap(),
            "the claim no longer holds"
        );
        let found: Task<Unit> = store.find(&list, "t").await.unwrap().expect("kept");
        assert_eq!(found.data(), &Unit { n: 2 });
        let state = store.state(&list, "t").await.unwrap().unwrap();
        assert_eq!(state.status, TaskStatus::Pending, "new work, not yet tried");
    });
}

/// The race the token read cannot see: a save that lands after the read
/// and before the delete. Simulated by a write that leaves the claim's
/// token in place (as the read saw it) but carries a later timestamp, as
/// every write after the claim's Paxos round does: it must survive whole.
#[test]
fn a_save_landing_between_the_token_read_and_the_delete_survives() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("fence");
        store
            .save(&Task::new(&list, "t", Unit { n: 1 }).unwrap())
            .await
            .unwrap();
        let claim = store.claim(&list, "t", "w", LEASE).await.unwrap().unwrap();

        let cql = format!(
            "UPDATE {}.tasks SET type = 'Unit', data = '{{\"n\":3}}', state = ? \
             WHERE task_list = ? AND id = 't'",
            keyspace()
        );
        raw_session()
            .await
            .query_unpaged(cql.as_str(), (taskrec::adapter::INITIAL_STATE_JSON, &list))
            .await
            .unwrap();

        // The token is still the claim's, so the completion goes ahead...
        assert!(store.succeed(claim, None, false).await.unwrap());
        // ...and deletes only what was written up to the claim.
        let (type_name, data, left_token) =
            raw_row(&list, "t").await.expect("the newer write survives");
        assert_eq!(type_name.as_deref(), Some("Unit"));
        assert_eq!(data.as_deref(), Some(r#"{"n":3}"#));
        assert_eq!(left_token, None, "the claim's token was deleted with it");
    });
}

/// A save made while the completion's token read and delete are in flight,
/// over and over: whichever comes first, a save that returned `Ok` after
/// the claim is never lost.
#[test]
fn saves_racing_completions_are_never_lost() {
    run(async {
        let store = TaskStore::new(bucketed().await);
        let list = unique_list("race");
        let rounds = 200u32;
        for n in 0..rounds {
            let id = format!("t{n}");
            store
                .save(&Task::new(&list, &id, Unit { n }).unwrap())
                .await
                .unwrap();
            let claim = store.claim(&list, &id, "w", LEASE).await.unwrap().unwrap();
            let newer = Task::new(&list, &id, Unit { n: n + 1_000 }).unwrap();
            let (completed, saved) =
                tokio::join!(store.succeed(claim, None, false), store.save(&newer));
            saved.unwrap();
            let completed = completed.unwrap();
            let found: Option<Task<Unit>> = store.find(&list, &id).await.unwrap();
            let found = found.unwrap_or_else(|| {
                panic!("round {n}: the save that returned Ok was lost (completed: {completed})")
            });
            assert_eq!(found.data(), &Unit { n: n + 1_000 }, "round {n}");
        }
    });
}
