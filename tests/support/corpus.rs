//! The bad-input corpus runner: reads the cases in `tests/bad_inputs/*.json`
//! and runs each against a [`Backend`] (the memory adapter in
//! `tests/bad_inputs.rs`, the real server in `tests/cassandra/bad_inputs.rs`),
//! asserting each case's exact outcome. The format is described in
//! `tests/bad_inputs/README.md`.
//!
//! Every failing case is collected and reported at once; a panic anywhere
//! (in taskrec, the driver or here) fails the test.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value};
use taskrec::{
    DataRef, DynTaskData, Error, KeyError, PageToken, Task, TaskData, TaskHash, TaskRecord,
    TaskRegistry, TaskStore,
};

// ---- the task types the corpus decodes into ---------------------------------

/// A task type with one number.
#[derive(Debug, Clone, PartialEq, TaskData)]
pub struct Ping {
    pub n: u32,
}

/// A task type under a Ruby class name, with a defaulted and an optional field.
#[derive(Debug, Clone, PartialEq, TaskData)]
#[task(type_name = "Task::Tasks::Note")]
pub struct Note {
    pub text: String,
    #[task(default)]
    pub tags: Vec<String>,
    pub at: Option<String>,
}

/// A task type that takes any object: every key lands in `rest`.
#[derive(Debug, Clone, PartialEq, TaskData)]
pub struct Doc {
    #[task(extra)]
    pub rest: Map<String, Value>,
}

/// The closed set of the three.
#[derive(Debug, Clone, PartialEq, TaskData)]
pub enum Ball {
    Ping(Ping),
    Note(Note),
    Doc(Doc),
}

fn registry() -> TaskRegistry {
    let mut registry = TaskRegistry::new();
    registry
        .register::<Ping>()
        .unwrap()
        .register::<Note>()
        .unwrap()
        .register::<Doc>()
        .unwrap();
    registry
}

// ---- the corpus format ----------------------------------------------------------

/// Text in a case: a plain string, or built from parts so that megabytes
/// and deep nesting need not be spelled out in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Text {
    Plain(String),
    Built { concat: Vec<Part> },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Part {
    Plain(String),
    Repeat { repeat: String, times: usize },
}

impl Text {
    pub fn build(&self) -> String {
        match self {
            Text::Plain(s) => s.clone(),
            Text::Built { concat } => {
                let mut out = String::new();
                for part in concat {
                    match part {
                        Part::Plain(s) => out.push_str(s),
                        Part::Repeat { repeat, times } => out.push_str(&repeat.repeat(*times)),
                    }
                }
                out
            }
        }
    }
}

/// What a case must give: one error variant (with the fields named), or
/// success with the input stored and read back byte for byte.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The `taskrec::Error` variant, e.g. `InvalidHash`.
    pub error: Option<String>,
    /// InvalidData: the JSON path.
    pub path: Option<String>,
    /// TypeMismatch: the type asked for and the type found.
    pub expected: Option<String>,
    pub found: Option<String>,
    /// UnknownType: the type name found.
    pub type_name: Option<String>,
    /// InvalidTaskList / InvalidId: `Empty` or `TooLong`.
    pub reason: Option<String>,
    /// A substring of the error's message or of one of its sources'.
    pub contains: Option<String>,
    /// Success: decoded, and stored and read back byte for byte.
    pub stored_verbatim: Option<bool>,
    /// Success: the decoded data, as JSON.
    pub data: Option<Value>,
    /// Success, stored rows: the created_at read back, in ms since 1970
    /// (checked where the backend keeps timestamps).
    pub created_at_ms: Option<i64>,
}

impl Expect {
    fn validate(&self, case: &str) {
        let ok = self.stored_verbatim == Some(true);
        assert!(
            ok != self.error.is_some(),
            "case {case}: `expect` needs exactly one of `error` and `stored_verbatim: true`"
        );
        if ok {
            assert!(
                self.path.is_none()
                    && self.expected.is_none()
                    && self.found.is_none()
                    && self.type_name.is_none()
                    && self.reason.is_none()
                    && self.contains.is_none(),
                "case {case}: error fields on a success"
            );
        } else {
            assert!(
                self.data.is_none() && self.created_at_ms.is_none(),
                "case {case}: success fields on an error"
            );
        }
    }

    fn is_ok(&self) -> bool {
        self.stored_verbatim == Some(true)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashCase {
    pub name: String,
    pub note: Option<String>,
    pub input: Text,
    /// `Ping`, `Note`, `Doc`, `Ball` (the default) or `registry`.
    #[serde(rename = "as", default = "ball")]
    pub decode_as: String,
    pub expect: Expect,
    /// Where the real server's answer differs (its limits), on it.
    pub expect_cassandra: Option<Expect>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowCase {
    pub name: String,
    pub note: Option<String>,
    /// The id of the row (default `row`); the task list is the runner's own.
    pub id: Option<Text>,
    /// The columns: `type`, `data` (text or null), `created_at` and
    /// `updated_at` (ms since 1970, or null). A key left out gets a
    /// default (`Ping`, `{"n":1}`, a fixed time); null stands for a
    /// column the writer left out.
    pub row: Map<String, Value>,
    #[serde(rename = "as", default = "ball")]
    pub decode_as: String,
    pub expect: Expect,
    pub expect_cassandra: Option<Expect>,
    /// What listing (all, page) gives, where it differs from finding by key.
    pub expect_listed: Option<Expect>,
    /// Only on backends that can hold such a row (the real server).
    #[serde(default)]
    pub cassandra_only: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyCase {
    pub name: String,
    pub note: Option<String>,
    /// Left out: a list of the runner's own.
    pub task_list: Option<Text>,
    /// Left out: `id`.
    pub id: Option<Text>,
    pub expect: Expect,
    pub expect_cassandra: Option<Expect>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenCase {
    pub name: String,
    pub note: Option<String>,
    /// The token as text, as a caller would keep it.
    pub text: Text,
    /// `parse`: parsing the text fails with this; `page`: parsed, a page
    /// request with it gives this (`stored_verbatim: true` = a page comes back).
    pub expect: Expect,
    pub expect_cassandra: Option<Expect>,
    /// On taskrec's own table, whose tokens differ from task_rb's table's.
    pub expect_taskrec_table: Option<Expect>,
}

fn ball() -> String {
    "Ball".to_owned()
}

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

fn load<T: serde::de::DeserializeOwned>(file: &str) -> Vec<T> {
    let path = corpus_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

pub fn hash_cases() -> Vec<HashCase> {
    let cases: Vec<HashCase> = load("hashes.json");
    check_names(
        cases
            .iter()
            .map(|c| (&c.name, &c.expect, &c.expect_cassandra)),
    );
    cases
}

pub fn row_cases() -> Vec<RowCase> {
    let cases: Vec<RowCase> = load("rows.json");
    check_names(
        cases
            .iter()
            .map(|c| (&c.name, &c.expect, &c.expect_cassandra)),
    );
    for case in &cases {
        if let Some(e) = &case.expect_listed {
            e.validate(&case.name);
        }
    }
    cases
}

pub fn key_cases() -> Vec<KeyCase> {
    let cases: Vec<KeyCase> = load("keys.json");
    check_names(
        cases
            .iter()
            .map(|c| (&c.name, &c.expect, &c.expect_cassandra)),
    );
    cases
}

pub fn token_cases() -> Vec<TokenCase> {
    let cases: Vec<TokenCase> = load("page_tokens.json");
    check_names(
        cases
            .iter()
            .map(|c| (&c.name, &c.expect, &c.expect_cassandra)),
    );
    cases
}

fn check_names<'a>(cases: impl Iterator<Item = (&'a String, &'a Expect, &'a Option<Expect>)>) {
    let mut seen = BTreeSet::new();
    for (name, expect, cassandra) in cases {
        assert!(seen.insert(name.clone()), "case name {name} used twice");
        expect.validate(name);
        if let Some(e) = cassandra {
            e.validate(name);
        }
    }
}

// ---- backends ---------------------------------------------------------------------

/// Where the corpus runs: a store over an adapter, and a way to put rows
/// into storage past the adapter, as another program (or corruption) would.
#[async_trait]
pub trait Backend: Send + Sync {
    /// For messages.
    fn name(&self) -> String;
    fn store(&self) -> &TaskStore;
    /// The real server: `expect_cassandra` applies, `cassandra_only` cases run.
    fn is_cassandra(&self) -> bool;
    /// Taskrec's own table on the real server: `expect_taskrec_table` applies
    /// to page tokens.
    fn is_taskrec_table(&self) -> bool {
        false
    }
    /// Whether `created_at` comes back as written (not on task_rb's table).
    fn keeps_timestamps(&self) -> bool;
    /// Whether a row can lack its type (task_rb's table: type is a key column).
    fn type_may_be_null(&self) -> bool;
    /// Writes a row as it is. `None` columns are left out (null).
    async fn insert_row(&self, task_list: &str, id: &str, row: &RawRow) -> Result<(), String>;
    /// The key columns of the row under (task list, id), read behind the
    /// adapter's back, to show that what was stored is the text given.
    async fn raw_key(&self, task_list: &str, id: &str) -> Result<Option<(String, String)>, String>;
}

/// A row's columns as written by `insert_row`.
#[derive(Debug, Clone)]
pub struct RawRow {
    pub type_name: Option<String>,
    pub data: Option<String>,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
}

/// The memory adapter. A column left out reads back as the Cassandra
/// adapter reads a null: empty type or data text, time 0.
pub struct Memory {
    store: TaskStore,
}

impl Memory {
    pub fn new() -> Self {
        Memory {
            store: TaskStore::from_dyn(Arc::new(taskrec::MemoryAdapter::new())),
        }
    }
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

fn at_ms(ms: i64) -> Result<DateTime<Utc>, String> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| format!("{ms} ms is out of chrono's range"))
}

#[async_trait]
impl Backend for Memory {
    fn name(&self) -> String {
        "memory".to_owned()
    }
    fn store(&self) -> &TaskStore {
        &self.store
    }
    fn is_cassandra(&self) -> bool {
        false
    }
    fn keeps_timestamps(&self) -> bool {
        true
    }
    fn type_may_be_null(&self) -> bool {
        true
    }
    async fn insert_row(&self, task_list: &str, id: &str, row: &RawRow) -> Result<(), String> {
        // A row another tool wrote: as an adapter reads it, unchecked.
        let record = TaskRecord::from_storage(
            task_list,
            id,
            row.type_name.clone().unwrap_or_default(),
            row.data.clone().unwrap_or_default(),
            at_ms(row.created_at.unwrap_or(0))?,
            at_ms(row.updated_at.unwrap_or(0))?,
        );
        self.store
            .adapter()
            .store(&record)
            .await
            .map_err(|e| e.to_string())
    }
    async fn raw_key(&self, task_list: &str, id: &str) -> Result<Option<(String, String)>, String> {
        Ok(self
            .store
            .adapter()
            .find(task_list, id)
            .await
            .map_err(|e| e.to_string())?
            .map(|r| (r.task_list().to_owned(), r.id().to_owned())))
    }
}

// ---- outcomes ---------------------------------------------------------------------

/// The name of an error's variant, as the corpus spells it.
pub fn variant(err: &Error) -> &'static str {
    match err {
        Error::UnknownType { .. } => "UnknownType",
        Error::TypeMismatch { .. } => "TypeMismatch",
        Error::InvalidData { .. } => "InvalidData",
        Error::InvalidHash { .. } => "InvalidHash",
        Error::InvalidTaskList { .. } => "InvalidTaskList",
        Error::InvalidId { .. } => "InvalidId",
        Error::DuplicateType { .. } => "DuplicateType",
        Error::InvalidPageToken { .. } => "InvalidPageToken",
        Error::InvalidConfig { .. } => "InvalidConfig",
        Error::Unsupported { .. } => "Unsupported",
        Error::Storage { .. } => "Storage",
        _ => "(a variant this runner does not know)",
    }
}

fn key_reason(reason: &KeyError) -> &'static str {
    match reason {
        KeyError::Empty => "Empty",
        KeyError::TooLong { .. } => "TooLong",
        _ => "(unknown)",
    }
}

/// The error's record key, for decoding errors.
fn error_task(err: &Error) -> Option<Option<&taskrec::TaskKey>> {
    match err {
        Error::UnknownType { task, .. }
        | Error::TypeMismatch { task, .. }
        | Error::InvalidData { task, .. }
        | Error::InvalidHash { task, .. } => Some(task.as_ref()),
        _ => None,
    }
}

/// An error with every cause in its chain, shortened for a report.
pub fn describe(err: &Error) -> String {
    short(&chain_text(err))
}

/// The error's message and its sources', unshortened.
fn chain_text(err: &Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn short(text: &str) -> String {
    if text.len() <= 300 {
        return text.to_owned();
    }
    let mut end = 300;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &text[..end], text.len())
}

/// Compares an error with the expectation; `None` when it matches.
fn error_mismatch(expect: &Expect, err: &Error) -> Option<String> {
    let want = expect.error.as_deref()?;
    let got = variant(err);
    if want != got {
        return Some(format!("expected {want}, got {got}: {}", describe(err)));
    }
    let field = |name: &str, want: &Option<String>, got: &str| -> Option<String> {
        match want {
            Some(w) if w != got => Some(format!(
                "{name}: expected {w:?}, got {:?} ({})",
                short(got),
                describe(err)
            )),
            _ => None,
        }
    };
    let mismatch = match err {
        Error::InvalidData { path, .. } => field("path", &expect.path, path),
        Error::TypeMismatch {
            expected, found, ..
        } => field("expected", &expect.expected, expected)
            .or_else(|| field("found", &expect.found, found)),
        Error::UnknownType { type_name, .. } => field("type_name", &expect.type_name, type_name),
        Error::InvalidTaskList { reason } | Error::InvalidId { reason } => {
            field("reason", &expect.reason, key_reason(reason))
        }
        _ => None,
    };
    if mismatch.is_some() {
        return mismatch;
    }
    if let Some(part) = &expect.contains
        && !chain_text(err).contains(part.as_str())
    {
        return Some(format!(
            "message should contain {part:?}: {}",
            describe(err)
        ));
    }
    None
}

/// A decoded task's data as JSON, whatever its type.
fn data_json<T: TaskData>(data: &T) -> Value {
    serde_json::to_value(DataRef(data)).expect("decoded data encodes")
}

/// Decodes a hash as the case asks.
fn decode_hash(decode_as: &str, hash: TaskHash) -> taskrec::Result<Value> {
    fn typed<T: taskrec::TaskDecode>(hash: TaskHash) -> taskrec::Result<Value> {
        Task::<T>::from_hash(hash).map(|t| data_json(t.data()))
    }
    match decode_as {
        "Ping" => typed::<Ping>(hash),
        "Note" => typed::<Note>(hash),
        "Doc" => typed::<Doc>(hash),
        "Ball" => typed::<Ball>(hash),
        "registry" => registry().from_hash(hash).map(|t| data_json(t.data())),
        other => panic!("unknown `as`: {other}"),
    }
}

/// Decodes hash text straight through `Task::from_json` (registry: through
/// `TaskHash::from_json`): must agree with the two-step decode.
fn decode_text(decode_as: &str, json: &str) -> taskrec::Result<Value> {
    fn typed<T: taskrec::TaskDecode>(json: &str) -> taskrec::Result<Value> {
        Task::<T>::from_json(json).map(|t| data_json(t.data()))
    }
    match decode_as {
        "Ping" => typed::<Ping>(json),
        "Note" => typed::<Note>(json),
        "Doc" => typed::<Doc>(json),
        "Ball" => typed::<Ball>(json),
        "registry" => registry()
            .from_hash(TaskHash::from_json(json)?)
            .map(|t| data_json(t.data())),
        other => panic!("unknown `as`: {other}"),
    }
}

/// Finds a stored task as the case asks, through the store.
async fn find_as(
    store: &TaskStore,
    decode_as: &str,
    list: &str,
    id: &str,
) -> taskrec::Result<Option<(Value, DateTime<Utc>)>> {
    async fn typed<T: taskrec::TaskDecode>(
        store: &TaskStore,
        list: &str,
        id: &str,
    ) -> taskrec::Result<Option<(Value, DateTime<Utc>)>> {
        Ok(store
            .find::<T>(list, id)
            .await?
            .map(|t| (data_json(t.data()), t.created_at())))
    }
    match decode_as {
        "Ping" => typed::<Ping>(store, list, id).await,
        "Note" => typed::<Note>(store, list, id).await,
        "Doc" => typed::<Doc>(store, list, id).await,
        "Ball" => typed::<Ball>(store, list, id).await,
        "registry" => Ok(store
            .find_registered(&registry(), list, id)
            .await?
            .map(|t: Task<DynTaskData>| (data_json(t.data()), t.created_at()))),
        other => panic!("unknown `as`: {other}"),
    }
}

/// Every task of a list through the store's lazy listing, as the case asks.
async fn list_as(store: &TaskStore, decode_as: &str, list: &str) -> Vec<taskrec::Result<Value>> {
    async fn typed<T: taskrec::TaskDecode>(
        store: &TaskStore,
        list: &str,
    ) -> Vec<taskrec::Result<Value>> {
        store
            .all::<T>(list)
            .map(|r| r.map(|t| data_json(t.data())))
            .collect()
            .await
    }
    match decode_as {
        "Ping" => typed::<Ping>(store, list).await,
        "Note" => typed::<Note>(store, list).await,
        "Doc" => typed::<Doc>(store, list).await,
        "Ball" => typed::<Ball>(store, list).await,
        "registry" => {
            let registry = registry();
            store
                .all_registered(&registry, list)
                .map(|r| r.map(|t| data_json(t.data())))
                .collect()
                .await
        }
        other => panic!("unknown `as`: {other}"),
    }
}

/// A page walk of a list through the store, as the case asks: every page
/// until `next` is `None` (a page may be empty before the last).
async fn page_as(
    store: &TaskStore,
    decode_as: &str,
    list: &str,
) -> taskrec::Result<Vec<taskrec::Result<Value>>> {
    async fn typed<T: taskrec::TaskDecode>(
        store: &TaskStore,
        list: &str,
    ) -> taskrec::Result<Vec<taskrec::Result<Value>>> {
        let mut out = Vec::new();
        let mut token = None;
        for _ in 0..MAX_PAGES {
            let (tasks, next) = store.page::<T>(list, token.as_ref(), 10).await?;
            out.extend(tasks.into_iter().map(|r| r.map(|t| data_json(t.data()))));
            match next {
                None => return Ok(out),
                next => token = next,
            }
        }
        panic!("the page walk of {list} did not end after {MAX_PAGES} pages")
    }
    match decode_as {
        "Ping" => typed::<Ping>(store, list).await,
        "Note" => typed::<Note>(store, list).await,
        "Doc" => typed::<Doc>(store, list).await,
        "Ball" => typed::<Ball>(store, list).await,
        // The registry has no page of its own: decode the page's records.
        "registry" => {
            let registry = registry();
            let mut out = Vec::new();
            let mut token = None;
            for _ in 0..MAX_PAGES {
                let page = store.adapter().page(list, token.as_ref(), 10).await?;
                out.extend(
                    page.records
                        .into_iter()
                        .map(|r| registry.decode_record(r).map(|t| data_json(t.data()))),
                );
                match page.next {
                    None => return Ok(out),
                    next => token = next,
                }
            }
            panic!("the page walk of {list} did not end after {MAX_PAGES} pages")
        }
        other => panic!("unknown `as`: {other}"),
    }
}

/// More pages than any walk here needs (16 buckets, a task or two).
const MAX_PAGES: usize = 64;

/// Collects failures and counts cases.
#[derive(Default)]
pub struct Report {
    pub cases: usize,
    pub failures: Vec<String>,
}

impl Report {
    fn fail(&mut self, case: &str, what: String) {
        self.failures.push(format!("{case}: {what}"));
    }

    /// Fails the test with every failure, or prints the count.
    pub fn finish(self, what: &str, backend: &str) {
        if !self.failures.is_empty() {
            panic!(
                "{} of {} {what} cases failed on {backend}:\n  {}",
                self.failures.len(),
                self.cases,
                self.failures.join("\n  ")
            );
        }
        println!("{what}: {} cases passed on {backend}", self.cases);
    }
}

/// Checks a decode result against the expectation. `from_storage`: errors
/// must name the record (or the hash's task: `task: Some(key)`), else they
/// must not.
fn check_decoded(
    report: &mut Report,
    case: &str,
    step: &str,
    expect: &Expect,
    got: &taskrec::Result<Value>,
    from_storage: Option<(&str, &str)>,
) {
    match (got, expect.is_ok()) {
        (Ok(data), true) => {
            if let Some(want) = &expect.data
                && want != data
            {
                report.fail(
                    case,
                    format!(
                        "{step}: decoded {}, expected {want}",
                        short(&data.to_string())
                    ),
                );
            }
        }
        (Ok(data), false) => report.fail(
            case,
            format!(
                "{step}: decoded {}, expected {:?}",
                short(&data.to_string()),
                expect.error
            ),
        ),
        (Err(e), _) => {
            if let Some(m) = if expect.is_ok() {
                Some(format!("expected success, got {}", describe(e)))
            } else {
                error_mismatch(expect, e)
            } {
                report.fail(case, format!("{step}: {m}"));
                return;
            }
            if let Some(task) = error_task(e) {
                let want = from_storage.map(|(l, i)| taskrec::TaskKey::new(l, i));
                if task != want.as_ref() {
                    report.fail(
                        case,
                        format!("{step}: error names task {task:?}, expected {want:?}"),
                    );
                }
            }
        }
    }
}

fn pick<'a>(
    backend: &dyn Backend,
    expect: &'a Expect,
    cassandra: &'a Option<Expect>,
) -> &'a Expect {
    match cassandra {
        Some(e) if backend.is_cassandra() => e,
        _ => expect,
    }
}

/// A list name of the runner's own for one case.
fn own_list(kind: &str, case: &str) -> String {
    let tag: String = case
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(40)
        .collect();
    format!(
        "bad-{kind}-{tag}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

// ---- hashes ---------------------------------------------------------------------------

/// Each hash is decoded (TaskHash::from_json, then Task::from_hash or the
/// registry, and in one step with Task::from_json); where it makes a valid
/// record, that record is stored, read back byte for byte, and decoded from
/// storage with the same outcome, now naming the record.
pub async fn run_hashes(backend: &dyn Backend) -> Report {
    let mut report = Report::default();
    let store = backend.store();
    for case in hash_cases() {
        report.cases += 1;
        let name = case.name.as_str();
        let expect = pick(backend, &case.expect, &case.expect_cassandra);
        let input = case.input.build();

        // Errors decoding a hash name the task by the hash's list and id,
        // whenever the hash has its shape (whatever its data holds) and
        // those are keys taskrec accepts.
        let hash_key = serde_json::from_str::<TaskHash<Box<serde_json::value::RawValue>>>(&input)
            .ok()
            // serde would also read the hash's fields from an array: that
            // is no hash.
            .filter(|_| input.trim_start().starts_with('{'))
            .filter(|h| {
                taskrec::validate_task_list(&h.task_list).is_ok()
                    && taskrec::validate_id(&h.id).is_ok()
            })
            .map(|h| (h.task_list, h.id));
        let hash_key = hash_key.as_ref().map(|(l, i)| (l.as_str(), i.as_str()));
        let two_step = TaskHash::from_json(&input).and_then(|h| decode_hash(&case.decode_as, h));
        check_decoded(
            &mut report,
            name,
            "from_hash",
            &case.expect,
            &two_step,
            hash_key,
        );
        let one_step = decode_text(&case.decode_as, &input);
        check_decoded(
            &mut report,
            name,
            "from_json",
            &case.expect,
            &one_step,
            hash_key,
        );

        // The storage leg: only for hashes that make a record.
        let Ok(hash) = TaskHash::from_json(&input) else {
            continue;
        };
        let (list, id, type_name) = (
            hash.task_list.clone(),
            hash.id.clone(),
            hash.type_name.clone(),
        );
        let data_text = hash.data.get().to_owned();
        let Ok(record) = hash.into_record() else {
            continue;
        };
        if let Err(e) = store.adapter().store(&record).await {
            check_decoded(&mut report, name, "store", expect, &Err(e), None);
            continue;
        }
        if !expect.is_ok() && expect.error.as_deref() == Some("Storage") {
            report.fail(name, "stored, but a storage error was expected".to_owned());
        }
        match store.find_record(&list, &id).await {
            Ok(Some(found)) => {
                if found.data() != data_text {
                    report.fail(
                        name,
                        format!(
                            "data read back differs: {} bytes stored, {} read",
                            data_text.len(),
                            found.data().len()
                        ),
                    );
                }
                if (found.task_list(), found.id(), found.type_name())
                    != (list.as_str(), id.as_str(), type_name.as_str())
                {
                    report.fail(name, "key or type read back differs".to_owned());
                }
            }
            Ok(None) => report.fail(name, "stored, then not found".to_owned()),
            Err(e) => report.fail(name, format!("find_record: {}", describe(&e))),
        }
        let found = find_as(store, &case.decode_as, &list, &id)
            .await
            .and_then(|t| {
                t.map(|(v, _)| v).ok_or_else(|| Error::InvalidHash {
                    reason: "(runner) not found".to_owned(),
                    task: None,
                })
            });
        check_decoded(
            &mut report,
            name,
            "find",
            &case.expect,
            &found,
            Some((&list, &id)),
        );
        if let Err(e) = store.delete(&list, &id).await {
            report.fail(name, format!("delete: {}", describe(&e)));
        }
    }
    report
}

// ---- stored rows ------------------------------------------------------------------

fn column_text(case: &str, row: &Map<String, Value>, key: &str, default: &str) -> Option<String> {
    match row.get(key) {
        None => Some(default.to_owned()),
        Some(Value::Null) => None,
        Some(v) => {
            let text: Text = serde_json::from_value(v.clone())
                .unwrap_or_else(|e| panic!("case {case}: column {key}: {e}"));
            Some(text.build())
        }
    }
}

fn column_ms(case: &str, row: &Map<String, Value>, key: &str) -> Option<i64> {
    const FIXED: i64 = 1_700_000_000_123;
    match row.get(key) {
        None => Some(FIXED),
        Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .unwrap_or_else(|| panic!("case {case}: {key} is not an integer")),
        ),
    }
}

/// Each row is written past the adapter, then found, listed, paged and
/// counted through the store: each way must give the expected outcome, and
/// the record must come back byte for byte and be deletable.
pub async fn run_rows(backend: &dyn Backend) -> Report {
    let mut report = Report::default();
    let store = backend.store();
    for case in row_cases() {
        let name = case.name.as_str();
        for key in case.row.keys() {
            assert!(
                ["type", "data", "created_at", "updated_at"].contains(&key.as_str()),
                "case {name}: unknown column {key}"
            );
        }
        let row = RawRow {
            type_name: column_text(name, &case.row, "type", "Ping"),
            data: column_text(name, &case.row, "data", r#"{"n":1}"#),
            created_at: column_ms(name, &case.row, "created_at"),
            updated_at: column_ms(name, &case.row, "updated_at"),
        };
        if (case.cassandra_only && !backend.is_cassandra())
            || (row.type_name.is_none() && !backend.type_may_be_null())
        {
            continue;
        }
        report.cases += 1;
        let expect = pick(backend, &case.expect, &case.expect_cassandra);
        let list = own_list("row", name);
        let id = case
            .id
            .as_ref()
            .map_or_else(|| "row".to_owned(), Text::build);
        if let Err(e) = backend.insert_row(&list, &id, &row).await {
            report.fail(name, format!("writing the row: {e}"));
            continue;
        }

        let found = find_as(store, &case.decode_as, &list, &id).await;
        let decoded = found.as_ref().map_err(clone_error).and_then(|t| {
            t.clone().ok_or_else(|| Error::InvalidHash {
                reason: "(runner) not found".to_owned(),
                task: None,
            })
        });
        check_decoded(
            &mut report,
            name,
            "find",
            expect,
            &decoded
                .as_ref()
                .map(|(v, _)| v.clone())
                .map_err(clone_error),
            Some((&list, &id)),
        );
        if let (Ok((_, created)), Some(ms)) = (&decoded, expect.created_at_ms)
            && backend.keeps_timestamps()
            && created.timestamp_millis() != ms
        {
            report.fail(
                name,
                format!(
                    "created_at read back {} ms, expected {ms}",
                    created.timestamp_millis()
                ),
            );
        }

        let listed_expect = case.expect_listed.as_ref().unwrap_or(expect);
        let listed = list_as(store, &case.decode_as, &list).await;
        if listed.len() != 1 {
            report.fail(name, format!("all: {} items, expected 1", listed.len()));
        }
        for item in &listed {
            check_decoded(
                &mut report,
                name,
                "all",
                listed_expect,
                item,
                Some((&list, &id)),
            );
        }
        match page_as(store, &case.decode_as, &list).await {
            Ok(items) => {
                if items.len() != 1 {
                    report.fail(name, format!("page: {} items, expected 1", items.len()));
                }
                for item in &items {
                    check_decoded(
                        &mut report,
                        name,
                        "page",
                        listed_expect,
                        item,
                        Some((&list, &id)),
                    );
                }
            }
            Err(e) => report.fail(name, format!("page failed as a whole: {}", describe(&e))),
        }
        match store.count(&list).await {
            Ok(1) => {}
            other => report.fail(name, format!("count: {other:?}, expected 1")),
        }
        match store.find_record(&list, &id).await {
            Ok(Some(record)) => {
                let want_type = row.type_name.clone().unwrap_or_default();
                let want_data = row.data.clone().unwrap_or_default();
                if record.type_name() != want_type || record.data() != want_data {
                    report.fail(name, "the record read back differs from the row".to_owned());
                }
            }
            Ok(None) => report.fail(name, "find_record: not found".to_owned()),
            Err(e) => {
                // Only a key the store refuses may fail here; that is the expectation then.
                if !matches!(e, Error::InvalidId { .. } | Error::InvalidTaskList { .. }) {
                    report.fail(name, format!("find_record: {}", describe(&e)));
                }
            }
        }
        if taskrec::validate_id(&id).is_ok() {
            if let Err(e) = store.delete(&list, &id).await {
                report.fail(name, format!("delete: {}", describe(&e)));
            }
            match store.count(&list).await {
                Ok(0) => {}
                other => report.fail(name, format!("count after delete: {other:?}")),
            }
        }
    }
    report
}

/// `taskrec::Error` is not `Clone`; the runner needs copies for reports.
fn clone_error(e: &Error) -> Error {
    match e {
        Error::UnknownType {
            type_name,
            known,
            task,
        } => Error::UnknownType {
            type_name: type_name.clone(),
            known: known.clone(),
            task: task.clone(),
        },
        Error::TypeMismatch {
            expected,
            found,
            task,
        } => Error::TypeMismatch {
            expected: expected.clone(),
            found: found.clone(),
            task: task.clone(),
        },
        Error::InvalidData {
            type_name,
            path,
            message,
            task,
        } => Error::InvalidData {
            type_name: type_name.clone(),
            path: path.clone(),
            message: message.clone(),
            task: task.clone(),
        },
        Error::InvalidHash { reason, task } => Error::InvalidHash {
            reason: reason.clone(),
            task: task.clone(),
        },
        Error::InvalidTaskList { reason } => Error::InvalidTaskList {
            reason: reason.clone(),
        },
        Error::InvalidId { reason } => Error::InvalidId {
            reason: reason.clone(),
        },
        Error::InvalidPageToken { reason } => Error::InvalidPageToken {
            reason: reason.clone(),
        },
        other => Error::storage("runner", describe(other)),
    }
}

// ---- task lists and ids -----------------------------------------------------------

/// Each key goes through every entry point that takes one: building a task
/// or a record, a hash, and the store's find, delete, count, page and
/// listing. A bad key is the same error everywhere; a good one is stored,
/// found, listed and deleted, and reads back byte for byte (also behind
/// the adapter's back).
pub async fn run_keys(backend: &dyn Backend) -> Report {
    let mut report = Report::default();
    let store = backend.store();
    for case in key_cases() {
        report.cases += 1;
        let name = case.name.as_str();
        let expect = pick(backend, &case.expect, &case.expect_cassandra);
        let list = case
            .task_list
            .as_ref()
            .map_or_else(|| own_list("key", name), Text::build);
        let id = case
            .id
            .as_ref()
            .map_or_else(|| "id".to_owned(), Text::build);
        let list_error = taskrec::validate_task_list(&list).err();

        let mut check = |step: &str, got: taskrec::Result<()>, expect: &Expect| {
            let got = got.map(|()| Value::Null);
            check_decoded(&mut report, name, step, expect, &got, None);
        };
        let ping = Ping { n: 7 };
        check(
            "Task::new",
            Task::new(list.as_str(), id.as_str(), ping.clone()).map(drop),
            expect,
        );
        check(
            "TaskRecord::new",
            TaskRecord::new(list.as_str(), id.as_str(), "Ping", r#"{"n":7}"#).map(drop),
            expect,
        );
        let hash =
            serde_json::json!({"task_list": list, "id": id, "type": "Ping", "data": {"n": 7}})
                .to_string();
        check(
            "Task::from_json",
            Task::<Ping>::from_json(&hash).map(drop),
            expect,
        );
        check(
            "registry.from_hash",
            TaskHash::from_json(&hash).and_then(|h| registry().from_hash(h).map(drop)),
            expect,
        );
        check(
            "TaskHash::into_record",
            TaskHash::from_json(&hash).and_then(|h| h.into_record().map(drop)),
            expect,
        );
        check(
            "find_record",
            store.find_record(&list, &id).await.map(drop),
            expect,
        );
        check("delete", store.delete(&list, &id).await, expect);
        // The list-only entry points fail only for a bad list.
        let list_expect = if list_error.is_some() {
            expect.clone()
        } else {
            Expect {
                error: None,
                stored_verbatim: Some(true),
                ..empty_expect()
            }
        };
        check("count", store.count(&list).await.map(drop), &list_expect);
        check(
            "page",
            store.page::<Ping>(&list, None, 10).await.map(drop),
            &list_expect,
        );
        let first = store.records(&list).next().await;
        check(
            "records",
            first.map_or(Ok(()), |r| r.map(drop)),
            &list_expect,
        );
        if !expect.is_ok() {
            continue;
        }

        // A good key: the whole life of a task under it.
        let task = Task::new(list.as_str(), id.as_str(), ping.clone()).unwrap();
        if let Err(e) = store.save(&task).await {
            report.fail(name, format!("save: {}", describe(&e)));
            continue;
        }
        match store.find::<Ping>(&list, &id).await {
            Ok(Some(found)) => {
                if found.task_list().as_bytes() != list.as_bytes()
                    || found.id().as_bytes() != id.as_bytes()
                    || found.data() != &ping
                {
                    report.fail(name, "found a different task".to_owned());
                }
            }
            other => report.fail(name, format!("find: {:?}", other.map(|t| t.is_some()))),
        }
        match backend.raw_key(&list, &id).await {
            Ok(Some((l, i))) if l == list && i == id => {}
            other => report.fail(
                name,
                format!("behind the adapter: {}", short(&format!("{other:?}"))),
            ),
        }
        let listed: Vec<taskrec::Result<Task<Ping>>> = store.all::<Ping>(&list).collect().await;
        match listed.as_slice() {
            [Ok(t)] if t.id() == id && t.task_list() == list => {}
            other => report.fail(name, format!("all: {} items", other.len())),
        }
        match page_as(store, "Ping", &list).await {
            Ok(items) if items.len() == 1 && items[0].is_ok() => {}
            Ok(items) => report.fail(name, format!("page walk: {} items", items.len())),
            Err(e) => report.fail(name, format!("page walk: {}", describe(&e))),
        }
        match store.count(&list).await {
            Ok(1) => {}
            other => report.fail(name, format!("count: {other:?}")),
        }
        // Through a hash and back: the key survives JSON text.
        match task
            .to_json()
            .and_then(|json| Task::<Ping>::from_json(&json))
        {
            Ok(back) if back.task_list() == list && back.id() == id => {}
            other => report.fail(
                name,
                format!("hash round trip: {:?}", other.map(|t| t.key())),
            ),
        }
        if let Err(e) = store.complete(&task).await {
            report.fail(name, format!("complete: {}", describe(&e)));
        }
        match (
            store.find::<Ping>(&list, &id).await,
            store.count(&list).await,
        ) {
            (Ok(None), Ok(0)) => {}
            other => report.fail(
                name,
                format!(
                    "after complete: {:?}",
                    (other.0.map(|t| t.is_some()), other.1)
                ),
            ),
        }
    }
    report
}

fn empty_expect() -> Expect {
    Expect {
        error: None,
        path: None,
        expected: None,
        found: None,
        type_name: None,
        reason: None,
        contains: None,
        stored_verbatim: None,
        data: None,
        created_at_ms: None,
    }
}

// ---- page tokens --------------------------------------------------------------------

/// Each token text is parsed; a parsed token is handed to `page` on a list
/// of three tasks. The answer is a page or the expected error, never a panic.
pub async fn run_tokens(backend: &dyn Backend) -> Report {
    let mut report = Report::default();
    let store = backend.store();
    let list = own_list("token", "tokens");
    for n in 0..3 {
        store
            .save(&Task::new(list.as_str(), format!("t{n}"), Ping { n }).unwrap())
            .await
            .unwrap();
    }
    for case in token_cases() {
        report.cases += 1;
        let name = case.name.as_str();
        let expect = match &case.expect_taskrec_table {
            Some(e) if backend.is_taskrec_table() => e,
            _ => pick(backend, &case.expect, &case.expect_cassandra),
        };
        let got = match case.text.build().parse::<PageToken>() {
            Err(e) => Err(e),
            Ok(token) => store
                .page::<Ping>(&list, Some(&token), 10)
                .await
                .map(|(tasks, _)| Value::from(tasks.len())),
        };
        check_decoded(&mut report, name, "page", expect, &got, None);
    }
    report
}
