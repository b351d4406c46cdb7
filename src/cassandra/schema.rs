//! Creating the keyspace and tables from the CQL in `schema/`, and reading
//! a table's shard count back from its comment (kept as `buckets=N`).

use scylla::client::session::Session;
use scylla::statement::{Consistency, Statement};

use crate::error::Result;

use super::config::{invalid, CassandraConfig, TableLayout, DEFAULT_SHARDS, MAX_SHARDS};
use super::storage;

const KEYSPACE_CQL: &str = include_str!("../../schema/keyspace.cql");
const TASKS_CQL: &str = include_str!("../../schema/tasks.cql");
const TASK_RB_TASKS_CQL: &str = include_str!("../../schema/task_rb_tasks.cql");
const HISTORY_CQL: &str = include_str!("../../schema/history.cql");
const READY_CQL: &str = include_str!("../../schema/ready.cql");
const READY_LOW_CQL: &str = include_str!("../../schema/ready_low.cql");
const READY_PARTS_CQL: &str = include_str!("../../schema/ready_parts.cql");
const READY_SWEEPERS_CQL: &str = include_str!("../../schema/ready_sweepers.cql");
const LISTS_CQL: &str = include_str!("../../schema/lists.cql");
const COUNTS_CQL: &str = include_str!("../../schema/counts.cql");
const ENTRIES_CQL: &str = include_str!("../../schema/entries.cql");
const SLICES_CQL: &str = include_str!("../../schema/slices.cql");
const DAYS_CQL: &str = include_str!("../../schema/days.cql");

/// The version of taskrec's table layout this client reads and writes,
/// recorded in the table's comment (`schema=3`).
///
/// - 1 (no mark: tables made before versions were recorded): tasks in
///   `((task_list, bucket), id)`, no ready index;
/// - 2: the same with the ready index beside it;
/// - 3: one partition per task, `((task_list, id))`, listings read the
///   entries, slices and days tables (`docs/SCALE.md` says why): a table of
///   version 1 or 2 cannot be altered into it, its tasks are copied into a
///   new table.
pub const SCHEMA_VERSION: u32 = 3;

/// What precedes the schema version in a taskrec table's comment.
const SCHEMA_MARK: &str = "schema=";

/// What precedes the bucket count in a taskrec table's comment.
const BUCKETS_MARK: &str = "buckets=";

/// The CQL statements that create the configured keyspace, table and history
/// table and, for taskrec's table, what its listings read (the entries,
/// slices and days tables, and the same three for its index of failed
/// tasks) and its ready index (hints and their low mark): the placeholders
/// of the files in `schema/` filled in, in the order to run them.
///
/// ```
/// use taskrec::cassandra::{schema_statements, CassandraConfig, TableLayout};
/// let config = CassandraConfig::new(["127.0.0.1:9042"], "jobs").layout(TableLayout::TaskRb);
/// let cql = schema_statements(&config)?;
/// assert!(cql[0].starts_with("CREATE KEYSPACE IF NOT EXISTS jobs"));
/// assert!(cql[1].contains("PRIMARY KEY ((task_list), id, type)"));
/// assert!(cql[2].starts_with("CREATE TABLE IF NOT EXISTS jobs.tasks_history"));
/// # Ok::<(), taskrec::Error>(())
/// ```
pub fn schema_statements(config: &CassandraConfig) -> Result<Vec<String>> {
    config.validate()?;
    let fill_for = |template: &str, table: &str, shards: u32| -> Result<String> {
        Ok(strip_comments(template)
            .replace("{keyspace}", &config.keyspace)
            .replace("{table}", table)
            .replace("{history_table}", &config.history_table_name())
            .replace("{shards}", &shards.to_string())
            .replace("{replication}", &config.replication.to_cql()?))
    };
    let fill = |template: &str, shards: u32| fill_for(template, &config.table, shards);
    let table = match config.layout {
        TableLayout::Taskrec { shards } => fill(TASKS_CQL, shards.unwrap_or(DEFAULT_SHARDS))?,
        TableLayout::TaskRb => fill(TASK_RB_TASKS_CQL, 0)?,
    };
    let mut statements = vec![fill(KEYSPACE_CQL, 0)?, table, fill(HISTORY_CQL, 0)?];
    if let TableLayout::Taskrec { .. } = config.layout {
        // What listings of taskrec's table read, and the same three for the
        // index of its failed tasks.
        let failed = format!("{}_failed", config.table);
        for table in [config.table.as_str(), failed.as_str()] {
            for cql in [ENTRIES_CQL, SLICES_CQL, DAYS_CQL] {
                statements.push(fill_for(cql, table, 0)?);
            }
        }
        // Per-list settings: the pause flag.
        statements.push(fill(LISTS_CQL, 0)?);
        // Each list's kept counts.
        statements.push(fill(COUNTS_CQL, 0)?);
    }
    if config.keeps_ready_index() {
        // Claim-next needs task state, which only taskrec's table keeps.
        statements.push(fill(READY_CQL, 0)?);
        statements.push(fill(READY_LOW_CQL, 0)?);
        // Made whether or not `owned_parts` is on, so that turning it on
        // later needs no schema change.
        statements.push(fill(READY_PARTS_CQL, 0)?);
        statements.push(fill(READY_SWEEPERS_CQL, 0)?);
    }
    Ok(statements)
}

/// The statement without its `--` comment lines and trailing `;`: the driver
/// takes one statement per request.
fn strip_comments(template: &str) -> String {
    template
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .trim_end_matches(';')
        .to_owned()
}

/// Creates the keyspace and tables when missing, and waits until every node
/// agrees on the schema.
pub(super) async fn create(session: &Session, config: &CassandraConfig) -> Result<()> {
    for cql in schema_statements(config)? {
        session
            .query_unpaged(cql.as_str(), ())
            .await
            .map_err(storage)?;
    }
    if let TableLayout::Taskrec { .. } = config.layout {
        let failed = format!("{}_failed", config.table);
        for table in [config.table.as_str(), failed.as_str()] {
            let slices = format!("{table}_slices");
            add_column(session, config, &slices, "kept", "frozen<set<text>>").await?;
        }
    }
    if config.keeps_ready_index() {
        let ready = format!("{}_ready", config.table);
        add_column(session, config, &ready, "state_token", "uuid").await?;
    }
    session.await_schema_agreement().await.map_err(storage)?;
    Ok(())
}

/// Whether `table` of the configured keyspace has `column`, as the
/// schema says.
pub(super) async fn has_column(
    session: &Session,
    config: &CassandraConfig,
    table: &str,
    column: &str,
) -> Result<bool> {
    let mut query = Statement::new(
        "SELECT column_name FROM system_schema.columns \
         WHERE keyspace_name = ? AND table_name = ? AND column_name = ?",
    );
    query.set_consistency(Consistency::One);
    Ok(session
        .query_unpaged(query, (&config.keyspace, table, column))
        .await
        .map_err(storage)?
        .into_rows_result()
        .map_err(storage)?
        .rows_num()
        > 0)
}

/// Adds a column to a table made before it (the slices' `kept`, the ready
/// hints' `state_token`): `CREATE TABLE IF NOT EXISTS` leaves an existing table
/// as it is. Asked of the schema first, as `ADD IF NOT EXISTS` is not
/// understood by every server taskrec supports.
async fn add_column(
    session: &Session,
    config: &CassandraConfig,
    table: &str,
    column: &str,
    cql_type: &str,
) -> Result<()> {
    if has_column(session, config, table, column).await? {
        return Ok(());
    }
    let alter = format!(
        "ALTER TABLE {}.{table} ADD {column} {cql_type}",
        config.keyspace
    );
    match session.query_unpaged(alter.as_str(), ()).await {
        Ok(_) => Ok(()),
        // Another client connecting at the same time added it first.
        Err(_) if has_column(session, config, table, column).await? => Ok(()),
        Err(e) => Err(storage(e)),
    }
}

/// The bucket count recorded in the table's comment, once its schema
/// version is checked to be this client's. An explicitly configured count
/// must match it: rows written under one count cannot be found under another.
pub(super) async fn recorded_buckets(
    session: &Session,
    config: &CassandraConfig,
    configured: Option<u32>,
) -> Result<u32> {
    // The schema tables are local to every node: ONE, whatever the
    // configured read consistency asks of task reads.
    let mut query = Statement::new(
        "SELECT comment FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?",
    );
    query.set_consistency(Consistency::One);
    let result = session
        .query_unpaged(query, (&config.keyspace, &config.table))
        .await
        .map_err(storage)?;
    let comment = result
        .into_rows_result()
        .map_err(storage)?
        .maybe_first_row::<(Option<String>,)>()
        .map_err(storage)?;
    let table = format!("{}.{}", config.keyspace, config.table);
    let Some((comment,)) = comment else {
        return Err(invalid(format!(
            "table {table} does not exist: create it with `create_schema(true)` or schema/tasks.cql"
        )));
    };
    let comment = comment.unwrap_or_default();
    let version = parse_number(&comment, SCHEMA_MARK).unwrap_or(1);
    if version != SCHEMA_VERSION {
        let how = if version < SCHEMA_VERSION {
            format!(
                "schema {SCHEMA_VERSION} keeps one partition per task, so a table of schema \
                 {version} cannot be altered into it: create a new table (`create_schema(true)` \
                 with another table name) and copy the tasks over with a client of this \
                 table's version (`TaskStore::all` there, `save` into the new table)"
            )
        } else {
            "a newer schema needs a newer taskrec".to_owned()
        };
        return Err(invalid(format!(
            "table {table} has taskrec schema {version} (its comment records `{SCHEMA_MARK}N`; \
             none means 1), and this client reads and writes schema {SCHEMA_VERSION}: {how}"
        )));
    }
    let recorded = parse_buckets(&comment).ok_or_else(|| {
        invalid(format!(
            "table {table} records no shard count in its comment (`{BUCKETS_MARK}N`): \
             is it a taskrec table? task_rb's table needs `TableLayout::TaskRb`"
        ))
    })?;
    match configured {
        Some(configured) if configured != recorded => Err(invalid(format!(
            "{configured} shards configured, but table {table} was created with {recorded}"
        ))),
        _ => Ok(recorded),
    }
}

fn parse_buckets(comment: &str) -> Option<u32> {
    parse_number(comment, BUCKETS_MARK).filter(|n| (1..=MAX_SHARDS).contains(n))
}

/// The number after `mark` in a table's comment.
fn parse_number(comment: &str, mark: &str) -> Option<u32> {
    let rest = &comment[comment.find(mark)? + mark.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
/// The comment of a taskrec table of this schema, as `schema/tasks.cql` writes it.
fn comment_for(buckets: u32) -> String {
    format!("taskrec tasks table; buckets={buckets}; {SCHEMA_MARK}{SCHEMA_VERSION}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_counts_are_read_from_comments() {
        assert_eq!(parse_buckets("taskrec tasks table; buckets=16"), Some(16));
        assert_eq!(parse_buckets("buckets=7 and more"), Some(7));
        assert_eq!(parse_buckets("no count"), None);
        assert_eq!(parse_buckets("buckets=0"), None);
        assert_eq!(parse_buckets("buckets=99999"), None);
    }

    #[test]
    fn schema_versions_are_read_from_comments() {
        assert_eq!(
            parse_number(&comment_for(16), SCHEMA_MARK),
            Some(SCHEMA_VERSION)
        );
        assert_eq!(
            parse_number("taskrec tasks table; buckets=16", SCHEMA_MARK),
            None
        );
        assert_eq!(parse_buckets(&comment_for(7)), Some(7));
    }

    #[test]
    fn schema_text_is_the_files_text_filled_in() {
        let config = CassandraConfig::new(["h:1"], "ks").table("jobs");
        let cql = schema_statements(&config).unwrap();
        assert_eq!(
            cql[0],
            "CREATE KEYSPACE IF NOT EXISTS ks\n  WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
        );
        assert!(cql[1].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs ("));
        assert!(cql[1].ends_with(&format!("WITH comment = '{}'", comment_for(16))));
        assert!(cql[2].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_history ("));
        assert!(cql[3].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_entries ("));
        assert!(cql[4].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_slices ("));
        assert!(cql[5].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_days ("));
        assert!(cql[6].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_failed_entries ("));
        assert!(cql[7].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_failed_slices ("));
        assert!(cql[8].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_failed_days ("));
        assert!(cql[9].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_lists ("));
        assert!(cql[10].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_counts ("));
        assert!(cql[11].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_ready ("));
        assert!(cql[12].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_ready_low ("));
        assert!(cql[13].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_ready_parts ("));
        assert!(cql[14].starts_with("CREATE TABLE IF NOT EXISTS ks.jobs_ready_sweepers ("));
        assert_eq!(cql.len(), 15);
        assert!(!cql
            .iter()
            .any(|s| s.contains("{table}") || s.contains("{history_table}")));
    }
}
