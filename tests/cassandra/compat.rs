//! task_rb's table read and written as task_rb does, and the adapter's own
//! checks of keyspace, table and bucket count.

use taskrec::cassandra::{CassandraAdapter, CassandraConfig, TableLayout};
use taskrec::{CompositeTask, Error, Task, TaskData, TaskStore};

use crate::utils::{
    adapter, address, config, keyspace, raw_session, run, task_rb, traced_read, unique_list,
};

#[derive(Debug, Clone, PartialEq, TaskData)]
#[task(type_name = "Tasks::FetchFile")]
struct FetchFile {
    external_host: String,
    filename: String,
}

#[test]
fn rows_written_the_way_task_rb_writes_them_are_read() {
    run(async {
        let store = TaskStore::new(task_rb().await);
        let session = raw_session().await;
        let list = unique_list("from-ruby");
        // What task_rb's Cassandra writer sends: the four columns, data as
        // JSON with string keys, type the Ruby class name.
        let cql = format!(
            "INSERT INTO {}.task_rb_tasks (task_list, id, type, data) VALUES (?, ?, ?, ?)",
            keyspace()
        );
        session
            .query_unpaged(
                cql.as_str(),
                (
                    &list,
                    "c1",
                    "Task::Tasks::CompositeTask",
                    r#"{"child_task_list":"kids"}"#,
                ),
            )
            .await
            .unwrap();
        session
            .query_unpaged(
                cql.as_str(),
                (
                    &list,
                    "f1",
                    "Tasks::FetchFile",
                    r#"{"external_host":"datto.com","filename":"file1.txt"}"#,
                ),
            )
            .await
            .unwrap();

        let composite = store
            .find::<CompositeTask>(&list, "c1")
            .await
            .unwrap()
            .expect("found");
        assert_eq!(composite.data(), &CompositeTask::new("kids"));
        let fetch = store
            .find::<FetchFile>(&list, "f1")
            .await
            .unwrap()
            .expect("found");
        assert_eq!(fetch.data().filename, "file1.txt");
        assert_eq!(
            fetch.created_at(),
            fetch.updated_at(),
            "both are the cell's write time"
        );
        assert_eq!(store.count(&list).await.unwrap(), 2);
        // The wrong type for a row is an error that names both, not a silent None.
        let err = store.find::<FetchFile>(&list, "c1").await.unwrap_err();
        assert!(
            matches!(err, Error::TypeMismatch { ref found, .. } if found == "Task::Tasks::CompositeTask"),
            "{err}"
        );
    });
}

#[test]
fn rows_taskrec_writes_are_what_task_rb_reads() {
    run(async {
        let store = TaskStore::new(task_rb().await);
        let list = unique_list("to-ruby");
        let task = Task::new(
            &list,
            "f1",
            FetchFile {
                external_host: "datto.com".into(),
                filename: "a.txt".into(),
            },
        )
        .unwrap();
        store.save(&task).await.unwrap();

        let cql = format!(
            "SELECT task_list, id, type, data FROM {}.task_rb_tasks WHERE task_list = ?",
            keyspace()
        );
        let rows: Vec<(String, String, String, String)> = raw_session()
            .await
            .query_unpaged(cql.as_str(), (&list,))
            .await
            .unwrap()
            .into_rows_result()
            .unwrap()
            .rows()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [(
                list.clone(),
                "f1".to_owned(),
                "Tasks::FetchFile".to_owned(),
                r#"{"external_host":"datto.com","filename":"a.txt"}"#.to_owned()
            )]
        );
    });
}

#[test]
fn cql_in_keys_is_data_and_the_table_survives() {
    run(async {
        for store in [
            TaskStore::new(crate::utils::bucketed().await),
            TaskStore::new(task_rb().await),
        ] {
            let list = format!("{}'; DROP TABLE tasks; --", unique_list("inject"));
            let id = "x'); DELETE FROM tasks; --";
            let task = Task::new(&list, id, CompositeTask::new("'; TRUNCATE tasks; --")).unwrap();
            store.save(&task).await.unwrap();
            let found = store
                .find::<CompositeTask>(&list, id)
                .await
                .unwrap()
                .expect("stored verbatim");
            assert_eq!((found.task_list(), found.id()), (list.as_str(), id));
            assert_eq!(found.data().child_task_list, "'; TRUNCATE tasks; --");
        }
        // The tables still answer.
        crate::utils::bucketed().await;
        task_rb().await;
    });
}

#[test]
fn a_missing_table_and_a_contradicting_bucket_count_are_config_errors() {
    run(async {
        let missing = CassandraConfig::new([address()], keyspace()).table("no_such_table");
        let err = CassandraAdapter::connect(missing).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { ref reason, .. } if reason.contains("does not exist")),
            "{err}"
        );

        // The table was made with 16 buckets (recorded in its comment).
        let unspecified = adapter(config("tasks", TableLayout::Taskrec { shards: None })).await;
        assert_eq!(unspecified.shards(), 16, "read from the table, not assumed");
        let wrong = config("tasks", TableLayout::Taskrec { shards: Some(8) }).create_schema(false);
        let err = CassandraAdapter::connect(wrong).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { ref reason, .. } if reason.contains("16")),
            "{err}"
        );

        let bad_name = CassandraConfig::new([address()], "Bad-Keyspace");
        assert!(matches!(
            CassandraAdapter::connect(bad_name).await.unwrap_err(),
            Error::InvalidConfig { .. }
        ));
    });
}

#[test]
fn saves_to_task_rbs_table_are_plain_inserts_that_leave_no_tombstone() {
    run(async {
        let store = TaskStore::new(task_rb().await);
        let list = unique_list("plain-insert");
        for round in 0..2 {
            for n in 0..50 {
                let task = Task::new(
                    &list,
                    format!("t{n}"),
                    FetchFile {
                        external_host: "h".into(),
                        filename: format!("{round}"),
                    },
                )
                .unwrap();
                store.save(&task).await.unwrap(); // the second round overwrites
            }
        }
        let cql = format!(
            "SELECT id, type, data FROM {}.task_rb_tasks WHERE task_list = ?",
            keyspace()
        );
        // Saving once cleared the id's rows first: a range tombstone per save.
        assert_eq!(traced_read(&cql, (&list,)).await, (50, 0));
        assert_eq!(store.count(&list).await.unwrap(), 50);
    });
}

#[derive(Debug, Clone, PartialEq, TaskData)]
#[task(type_name = "Tasks::Other")]
struct Other {
    n: u32,
}

#[test]
fn an_id_saved_under_a_new_type_lists_once_as_its_newest_row() {
    run(async {
        let adapter = task_rb().await;
        let store = TaskStore::new(adapter);
        let list = unique_list("type-change");
        let fetch = |id: &str| {
            Task::new(
                &list,
                id,
                FetchFile {
                    external_host: "h".into(),
                    filename: id.into(),
                },
            )
            .unwrap()
        };
        // "b" under two types, its rows sorted ("Tasks::FetchFile" <
        // "Tasks::Other") so that the older one comes first.
        store.save(&fetch("a")).await.unwrap();
        store.save(&fetch("b")).await.unwrap();
        store
            .save(&Task::new(&list, "b", Other { n: 2 }).unwrap())
            .await
            .unwrap();
        store.save(&fetch("c")).await.unwrap();
        let raw_rows = format!(
            "SELECT id FROM {}.task_rb_tasks WHERE task_list = ?",
            keyspace()
        );
        assert_eq!(
            traced_read(&raw_rows, (&list,)).await.0,
            4,
            "task_rb's two rows of b"
        );

        let types_of = |records: Vec<taskrec::TaskRecord>| -> Vec<(String, String)> {
            records
                .into_iter()
                .map(|r| (r.id().to_owned(), r.type_name().to_owned()))
                .collect()
        };
        let expected = [
            ("a".to_owned(), "Tasks::FetchFile".to_owned()),
            ("b".to_owned(), "Tasks::Other".to_owned()),
            ("c".to_owned(), "Tasks::FetchFile".to_owned()),
        ];
        use futures::TryStreamExt;
        let listed: Vec<_> = store.records(&list).try_collect().await.unwrap();
        assert_eq!(types_of(listed), expected);
        assert_eq!(store.count(&list).await.unwrap(), 3);
        // Pages of every size, so that b's rows straddle a page boundary.
        for page_size in 1..=4 {
            let walked: Vec<_> = taskrec::adapter::walk_pages(store.adapter(), &list, page_size)
                .try_collect()
                .await
                .unwrap();
            assert_eq!(types_of(walked), expected, "pages of {page_size}");
        }
        let found: Task<Other> = store.find(&list, "b").await.unwrap().unwrap();
        assert_eq!(found.data(), &Other { n: 2 });
        // Both rows, in task_rb's order: its `find` takes the first, the
        // older FetchFile row; taskrec's takes the newest write.
        let rows = store.adapter().rows_of(&list, "b").await.unwrap();
        let row_types: Vec<&str> = rows.iter().map(|r| r.type_name()).collect();
        assert_eq!(row_types, ["Tasks::FetchFile", "Tasks::Other"]);
        assert_eq!(rows[0].data(), r#"{"external_host":"h","filename":"b"}"#);
        assert_eq!(store.adapter().rows_of(&list, "a").await.unwrap().len(), 1);
        assert!(store
            .adapter()
            .rows_of(&list, "nope")
            .await
            .unwrap()
            .is_empty());

        store.delete(&list, "b").await.unwrap();
        assert_eq!(
            traced_read(&raw_rows, (&list,)).await.0,
            2,
            "both rows of b are gone"
        );
        assert_eq!(store.count(&list).await.unwrap(), 2);
    });
}

#[test]
fn a_table_of_another_schema_version_is_refused_with_the_way_forward() {
    run(async {
        let session = raw_session().await;
        let layout = TableLayout::Taskrec { shards: Some(16) };
        // Make sure the keyspace exists, then make tables by hand: one as
        // taskrec 0.1 made it (no version in its comment), one of schema 2
        // (its key and comment), one from a future version.
        let _ = adapter(config("tasks", layout)).await;
        let version_two = "CREATE TABLE IF NOT EXISTS {ks}.{table} (task_list text, bucket int, \
             id text, type text, data text, created_at timestamp, updated_at timestamp, \
             state text, state_token uuid, PRIMARY KEY ((task_list, bucket), id)) \
             WITH comment = '{comment}'";
        for (table, comment) in [
            ("schema_one", "taskrec tasks table; buckets=16"),
            ("schema_two", "taskrec tasks table; buckets=16; schema=2"),
            ("schema_four", "taskrec tasks table; buckets=16; schema=4"),
        ] {
            let cql = version_two
                .replace("{ks}", keyspace())
                .replace("{table}", table)
                .replace("{comment}", comment);
            session.query_unpaged(cql, ()).await.unwrap();
        }
        session.await_schema_agreement().await.unwrap();

        let refused = |table: &'static str| async move {
            let config = config(table, TableLayout::Taskrec { shards: None }).create_schema(false);
            match CassandraAdapter::connect(config).await {
                Err(Error::InvalidConfig { reason, .. }) => reason,
                other => panic!("{table}: {other:?}"),
            }
        };
        for (table, version) in [("schema_one", 1), ("schema_two", 2)] {
            let reason = refused(table).await;
            assert!(
                reason.contains(&format!("has taskrec schema {version}"))
                    && reason.contains("reads and writes schema 3")
                    && reason.contains("cannot be altered")
                    && reason.contains("copy the tasks"),
                "{reason}"
            );
        }
        let four = refused("schema_four").await;
        assert!(
            four.contains("has taskrec schema 4") && four.contains("newer taskrec"),
            "{four}"
        );
    });
}

/// A slices table made before its column `kept` (taskrec 0.2.0): a client
/// that may not change the schema says which statement adds it; one that
/// may adds it, and from then on every client lists the table's tasks.
#[test]
fn a_slices_table_made_before_its_kept_column_is_altered_or_refused_with_the_statement() {
    run(async {
        let session = raw_session().await;
        let layout = TableLayout::Taskrec { shards: Some(4) };
        let before = config("before_kept", layout).create_schema(false);
        // The keyspace first, then the tables as 0.2.0 made them.
        for cql in taskrec::cassandra::schema_statements(&before).unwrap() {
            let made_by_0_2_0 = cql.replace("  kept frozen<set<text>>,\n", "");
            session.query_unpaged(made_by_0_2_0, ()).await.unwrap();
        }
        session.await_schema_agreement().await.unwrap();

        let slices = format!("{}.before_kept_slices", keyspace());
        match CassandraAdapter::connect(before.clone()).await {
            Err(Error::InvalidConfig { reason, .. }) => assert!(
                reason.contains(&format!("ALTER TABLE {slices} ADD kept frozen<set<text>>"))
                    && reason.contains("create_schema(true)"),
                "{reason}"
            ),
            other => panic!("a slices table without `kept`: {other:?}"),
        }

        let store = TaskStore::new(adapter(before.clone().create_schema(true)).await);
        let list = unique_list("before-kept");
        let task = Task::new(
            &list,
            "t1",
            FetchFile {
                external_host: "h".into(),
                filename: "f".into(),
            },
        )
        .unwrap();
        store.save(&task).await.unwrap();
        assert_eq!(store.count(&list).await.unwrap(), 1);
        // Connecting again, as any client after the change, finds it there.
        let again = TaskStore::new(adapter(before.create_schema(false)).await);
        assert_eq!(again.count(&list).await.unwrap(), 1);
    });
}

/// A ready index made before its hints carried their versions' tokens
/// (`state_token`, in this release): a client that may not change the
/// schema saves and drains as before, its hints without tokens (so a task
/// a walk handed out costs a second state read when its hint comes by);
/// one that may adds the column, and its drains read no second state.
#[test]
fn a_ready_table_made_before_state_tokens_works_as_before_and_is_altered_when_allowed() {
    run(async {
        let session = raw_session().await;
        let layout = TableLayout::Taskrec { shards: Some(4) };
        let before = config("before_tokens", layout).create_schema(false);
        for cql in taskrec::cassandra::schema_statements(&before).unwrap() {
            // The hints' table without the column (the tasks' own has one
            // of the same name).
            let made_before = match cql.contains("before_tokens_ready (") {
                true => cql.replace("  state_token uuid,\n", ""),
                false => cql,
            };
            session.query_unpaged(made_before, ()).await.unwrap();
        }
        session.await_schema_agreement().await.unwrap();

        // Saved and drained by processes of the same configuration each.
        async fn drain_50(config: CassandraConfig) -> taskrec::cassandra::ReadyReads {
            let list = unique_list("before-tokens");
            let producer = TaskStore::new(adapter(config.clone()).await);
            let tasks: Vec<Task<FetchFile>> = (0..50)
                .map(|n| {
                    let file = FetchFile {
                        external_host: "h".into(),
                        filename: format!("f{n}"),
                    };
                    Task::new(&list, format!("t{n:02}"), file).unwrap()
                })
                .collect();
            producer.save_all(&tasks, 16).await.unwrap();
            let worker_adapter = std::sync::Arc::new(adapter(config).await);
            let worker = taskrec::Worker::new(
                TaskStore::from_arc(std::sync::Arc::clone(&worker_adapter)),
                taskrec::WorkerConfig::new("before-tokens").concurrency(8),
            );
            let report = worker
                .drain_with::<FetchFile, _>(&list, |_| Box::pin(async { Ok(None) }))
                .await
                .unwrap();
            assert_eq!((report.succeeded, report.errors), (50, 0), "{report:?}");
            assert_eq!(producer.count(&list).await.unwrap(), 0);
            worker_adapter.ready_reads()
        }

        let without = drain_50(before.clone()).await;
        println!("without the column: {without:?}");
        assert_eq!(without.hints_of_own_claims, 0, "{without:?}");
        assert!(without.walked >= 50 && without.states >= 40, "{without:?}");

        let with = drain_50(before.create_schema(true)).await;
        println!("with the column added: {with:?}");
        assert!(with.walked >= 50, "{with:?}");
        assert!(
            with.states <= 10 && with.hints_of_own_claims >= 40,
            "{with:?}"
        );
    });
}
