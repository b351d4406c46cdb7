//! Rows read from the server, made into records: one way for every table
//! of both layouts.
//!
//! Columns a foreign writer may have left null are optional: such a record
//! still lists, and fails only when decoded. Keys are taken as they are,
//! even where taskrec would refuse them on write: an error here would fail
//! a whole page for one row.

use chrono::{DateTime, TimeZone, Utc};
use scylla::value::CqlTimestamp;

use crate::record::TaskRecord;

/// A row's record columns: type, data, created, updated.
pub(super) type RecordColumns = (
    Option<String>,
    Option<String>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);

/// A task_rb row's columns: type, data, and the write time of data (µs).
pub(super) type TaskRbColumns = (String, Option<String>, Option<i64>);

/// A stored timestamp (null: 1970). Cassandra holds any 64-bit count of
/// milliseconds, chrono only about ±262,000 years: a value beyond that, which
/// only another writer can leave, is clamped, so the record still reads and
/// lists.
pub(super) fn timestamp(value: Option<CqlTimestamp>) -> DateTime<Utc> {
    let millis = value.map_or(0, |t| t.0);
    Utc.timestamp_millis_opt(millis)
        .single()
        .unwrap_or(if millis < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

/// The record a row of taskrec's tables holds; `None` for a row with
/// neither type nor data: what is left of a record saved with a TTL once it
/// expired (a claim's state cells carry no TTL), or a bare row marker.
pub(super) fn record(task_list: &str, id: String, columns: RecordColumns) -> Option<TaskRecord> {
    let (type_name, data, created, updated) = columns;
    if type_name.is_none() && data.is_none() {
        return None;
    }
    Some(TaskRecord::from_storage(
        task_list,
        id,
        type_name.unwrap_or_default(),
        data.unwrap_or_default(),
        timestamp(created),
        timestamp(updated),
    ))
}

/// The record a row of task_rb's table holds: it has no timestamp columns,
/// so both are the write time of its data.
pub(super) fn task_rb_record(task_list: &str, id: String, columns: TaskRbColumns) -> TaskRecord {
    let (type_name, data, written_micros) = columns;
    let written = timestamp(written_micros.map(|us| CqlTimestamp(us.div_euclid(1000))));
    TaskRecord::from_storage(
        task_list,
        id,
        type_name,
        data.unwrap_or_default(),
        written,
        written,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_timestamps_beyond_chronos_range_are_clamped_not_errors() {
        assert_eq!(timestamp(None).timestamp_millis(), 0);
        assert_eq!(
            timestamp(Some(CqlTimestamp(-86_400_000))).timestamp_millis(),
            -86_400_000
        );
        assert_eq!(
            timestamp(Some(CqlTimestamp(i64::MAX))),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            timestamp(Some(CqlTimestamp(i64::MIN))),
            DateTime::<Utc>::MIN_UTC
        );
        let columns = (
            Some("T".to_owned()),
            Some("{}".to_owned()),
            Some(CqlTimestamp(i64::MAX)),
            None,
        );
        let record = record("l", "i".to_owned(), columns).unwrap();
        // The latest time chrono holds, at the millisecond precision records keep.
        assert_eq!(
            record.created_at().timestamp_millis(),
            DateTime::<Utc>::MAX_UTC.timestamp_millis()
        );
        assert_eq!(record.updated_at().timestamp_millis(), 0);
    }

    #[test]
    fn stored_keys_are_read_as_they_are_even_where_taskrec_refuses_them() {
        let long = "x".repeat(crate::MAX_KEY_BYTES + 1);
        for id in ["", long.as_str()] {
            let columns = (None, Some("{}".to_owned()), None, None);
            assert_eq!(record("l", id.to_owned(), columns).unwrap().id(), id);
            let columns = ("T".to_owned(), None, None);
            assert_eq!(task_rb_record("l", id.to_owned(), columns).id(), id);
        }
    }

    #[test]
    fn a_row_without_type_and_data_holds_no_record() {
        assert!(record("l", "i".to_owned(), (None, None, None, None)).is_none());
        let type_only = (Some("T".to_owned()), None, None, None);
        assert_eq!(record("l", "i".to_owned(), type_only).unwrap().data(), "");
    }
}
