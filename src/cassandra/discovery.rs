//! The names of the lists a table holds, for the dashboard's overview
//! ([`StorageAdapter::task_lists`](crate::adapter::StorageAdapter::task_lists)):
//! one read of a table's partition keys (`SELECT DISTINCT`), whose
//! partitions are lists, so its cost follows the number of lists, not of
//! tasks.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use crate::adapter::MAX_DISCOVERED_LISTS;
use crate::error::Result;

use super::storage;

/// Adds the first column of every row `statement` reads (paged) to
/// `names`, up to [`MAX_DISCOVERED_LISTS`] names.
pub(super) async fn read_names(
    session: &Session,
    statement: &PreparedStatement,
    names: &mut BTreeSet<String>,
) -> Result<()> {
    let mut rows = session
        .execute_iter(statement.clone(), ())
        .await
        .map_err(storage)?
        .rows_stream::<(String,)>()
        .map_err(storage)?;
    while let Some((name,)) = rows.try_next().await.map_err(storage)? {
        if names.len() >= MAX_DISCOVERED_LISTS {
            break;
        }
        names.insert(name);
    }
    Ok(())
}
