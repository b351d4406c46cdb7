//! The pages: the overview of the lists, a list's tasks, its failed tasks,
//! one task, the search, and the overview's figures as JSON for the live
//! script.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use taskrec::{ListPause, PageToken, TaskRecord, TaskState, TaskStatus};

use tokio::time::Instant;

use crate::counts::{self, Shown};
use crate::html::{self, age, none, page, pretty_json, query, status_name, time, STATUSES};
use crate::{App, Failure, Settings};

/// What a list's row of the overview shows.
struct ListFigures {
    name: String,
    counts: Result<Shown, String>,
    pause: Option<ListPause>,
}

async fn figures(app: &Arc<App>, name: &str, deadline: Instant) -> ListFigures {
    let counts = counts::shown(app, name, deadline).await;
    let pause = app.store.pause_state(name).await.ok().flatten();
    ListFigures {
        name: name.to_owned(),
        counts,
        pause,
    }
}

/// When, by whom and how fast a list was counted, for a tooltip.
fn counted_title(kept: &taskrec::KeptCounts) -> String {
    format!(
        "counted at {} by {} in {} ms",
        time(kept.counted_at),
        kept.counted_by,
        kept.took.as_millis()
    )
}

/// The lists the overview shows: the configured ones, then the ones the
/// adapter names (a failure to name them is logged, not shown as an error:
/// the configured lists still render).
async fn shown_lists(app: &App) -> Vec<String> {
    let mut names = app.settings.lists.clone();
    if app.settings.discover {
        match app.store.task_lists().await {
            Ok(Some(found)) => {
                for name in found {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(
                target: "taskrec_web",
                error = &error as &(dyn std::error::Error + 'static),
                "could not read the names of the lists"
            ),
        }
    }
    names
}

/// `?done=…`: what the last action did, shown once.
#[derive(Debug, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

/// `GET /`: the lists, their counts per status, the age of their oldest
/// pending task and whether they are paused; a chart of what changes while
/// the page is open.
pub(crate) async fn overview(
    State(app): State<Arc<App>>,
    Query(done): Query<Done>,
) -> Result<Markup, Failure> {
    let settings = &app.settings;
    let now = app.store.now().await?;
    let names = shown_lists(&app).await;
    // One wait for the first counts of every list the page shows.
    let deadline = Instant::now() + counts::WAIT_FOR_COUNTS;
    let mut rows = Vec::with_capacity(names.len());
    for name in &names {
        rows.push(figures(&app, name, deadline).await);
    }
    let live = format!("{}/live.json", settings.base_path);
    let body = html! {
        @if rows.is_empty() {
            p { "No lists yet: none is configured (" code { "Dashboard::lists" } ", or "
                code { "taskrec web --list NAME" } ") and the store names none. Open one by name with the search above." }
        } @else {
            table data-live=(live) {
                thead { tr {
                    th { "list" }
                    @for (_, name) in STATUSES { th.n { (name) } }
                    th.n { "total" }
                    th { "oldest pending" }
                    th { "counted" }
                    th { "workers" }
                } }
                tbody {
                    @for row in &rows {
                        tr {
                            td { a href=(html::list_url(settings, &row.name)) { (row.name) } }
                            @match &row.counts {
                                Ok(Shown::Counted(kept)) => {
                                    @let counts = &kept.counts;
                                    @for (status, name) in STATUSES {
                                        td.n data-list=(row.name) data-field=(name) {
                                            @if status == TaskStatus::Failed && counts.failed > 0 {
                                                a href={ (html::list_url(settings, &row.name)) "/failed" } { (counts.failed) }
                                            } @else { (counts.get(status)) }
                                        }
                                    }
                                    td.n data-list=(row.name) data-field="total" { (counts.total()) }
                                    td { @match kept.oldest_pending { Some(at) => { (age(at, now)) }, None => { (none()) } } }
                                    td data-list=(row.name) data-field="counted" title=(counted_title(kept)) { (age(kept.counted_at, now)) " ago" }
                                }
                                Ok(Shown::Counting) => { td.counting colspan=(STATUSES.len() + 3) { "being counted…" } }
                                Err(error) => { td.error colspan=(STATUSES.len() + 3) { (error) } }
                            }
                            td { @match &row.pause {
                                Some(pause) => { span.paused title={ "since " (time(pause.since)) } { "paused by " (pause.by) } }
                                None => { "running" }
                            } }
                        }
                    }
                }
            }
            h2 { "While this page is open" }
            svg.chart viewBox="0 0 600 120" preserveAspectRatio="none" role="img"
                aria-label="pending, claimed and failed tasks of all lists over time" {}
            p.legend {
                span style="color:#2f6fdb" { "■ pending" }
                span style="color:#2f9e44" { "■ claimed" }
                span style="color:#c92a2a" { "■ failed" }
                span { "(all lists, every 3 s; with scripts on)" }
            }
        }
    };
    Ok(page(
        settings,
        "Task lists",
        done.done.as_deref(),
        Some(10),
        body,
    ))
}

/// `GET /live.json`: the overview's figures, for the live script.
pub(crate) async fn live(State(app): State<Arc<App>>) -> Result<Json<serde_json::Value>, Failure> {
    let now = app.store.now().await?;
    let mut lists = Vec::new();
    let deadline = Instant::now() + counts::WAIT_FOR_COUNTS;
    for name in &shown_lists(&app).await {
        let row = figures(&app, name, deadline).await;
        let mut entry = serde_json::json!({
            "name": row.name,
            "paused": row.pause.as_ref().map(|p| serde_json::json!({ "by": p.by, "since": p.since })),
        });
        match row.counts {
            Ok(Shown::Counted(kept)) => {
                for (status, name) in STATUSES {
                    entry[name] = kept.counts.get(status).into();
                }
                entry["total"] = kept.counts.total().into();
                entry["oldest_pending_age_seconds"] = kept
                    .oldest_pending
                    .map(|at| (now - at).num_seconds())
                    .into();
                entry["counted_at"] = serde_json::json!(kept.counted_at);
                entry["counted_age_seconds"] = kept.age(now).as_secs().into();
                entry["counted"] = format!("{} ago", age(kept.counted_at, now)).into();
            }
            Ok(Shown::Counting) => entry["counting"] = true.into(),
            Err(error) => entry["error"] = error.into(),
        }
        lists.push(entry);
    }
    Ok(Json(serde_json::json!({ "at": now, "lists": lists })))
}

/// `GET /search?list=…&id=…`.
#[derive(Debug, Deserialize)]
pub(crate) struct Search {
    list: Option<String>,
    id: Option<String>,
}

pub(crate) async fn search(State(app): State<Arc<App>>, Query(search): Query<Search>) -> Redirect {
    let settings = &app.settings;
    let list = search.list.filter(|l| !l.is_empty());
    let id = search.id.filter(|i| !i.is_empty());
    match (list, id) {
        (Some(list), Some(id)) => Redirect::to(&html::task_url(settings, &list, &id)),
        (Some(list), None) => Redirect::to(&html::list_url(settings, &list)),
        _ => Redirect::to(&settings.home()),
    }
}

/// A view's filters and page, from its query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filters {
    pub(crate) status: Option<String>,
    #[serde(rename = "type")]
    pub(crate) type_name: Option<String>,
    /// Text the last error must hold (failed tasks).
    pub(crate) q: Option<String>,
    pub(crate) page: Option<String>,
    pub(crate) done: Option<String>,
}

impl Filters {
    pub(crate) fn type_name(&self) -> Option<&str> {
        self.type_name.as_deref().filter(|t| !t.is_empty())
    }

    pub(crate) fn text(&self) -> Option<&str> {
        self.q.as_deref().filter(|q| !q.is_empty())
    }

    /// Whether a failed task is one the filters select.
    pub(crate) fn selects(&self, record: &TaskRecord, state: Option<&TaskState>) -> bool {
        let type_ok = self.type_name().is_none_or(|t| record.type_name() == t);
        let text_ok = self.text().is_none_or(|q| {
            let error = state.and_then(|s| s.last_error.as_deref()).unwrap_or("");
            error.to_lowercase().contains(&q.to_lowercase())
        });
        type_ok && text_ok
    }
}

/// A page token as it travels in a link: hex.
pub(crate) fn token_text(token: &PageToken) -> String {
    token
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn parse_token(text: Option<&str>) -> Result<Option<PageToken>, Failure> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let bad = || {
        Failure(taskrec::Error::InvalidPageToken {
            reason: "the page in the address is not one this dashboard linked to".to_owned(),
        })
    };
    if text.len() % 2 != 0 {
        return Err(bad());
    }
    let bytes = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    Ok(Some(PageToken::from_bytes(bytes)))
}

/// One row of a table of tasks.
struct Row {
    record: TaskRecord,
    state: Option<Result<TaskState, String>>,
}

/// `GET /lists/{list}?status=…&type=…&page=…`: a list's tasks, all or in
/// one status, of one type or all, a page at a time.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    Path(list): Path<String>,
    Query(filters): Query<Filters>,
) -> Result<Response, Failure> {
    let settings = &app.settings;
    let store = &app.store;
    let status = match filters.status.as_deref().filter(|s| !s.is_empty()) {
        Some(name) => match html::parse_status(name) {
            Some(status) => Some(status),
            None => return Ok(bad_request(&format!("no status {name:?}"))),
        },
        None => None,
    };
    let token = parse_token(filters.page.as_deref())?;
    let (rows, next) = match status {
        Some(status) => {
            let page = store
                .page_by_status(&list, status, token.as_ref(), settings.page_size)
                .await?;
            let rows = page
                .tasks
                .into_iter()
                .map(|t| Row {
                    record: t.record,
                    state: Some(t.state.map_err(|e| e.to_string())),
                })
                .collect();
            (rows, page.next)
        }
        None => {
            taskrec::validate_task_list(&list)?;
            let page = store
                .adapter()
                .page(&list, token.as_ref(), settings.page_size)
                .await?;
            let mut rows = Vec::with_capacity(page.records.len());
            for record in page.records {
                let state = match store.keeps_state() {
                    true => store
                        .state(&list, record.id())
                        .await
                        .map_err(|e| e.to_string())
                        .transpose(),
                    false => None,
                };
                rows.push(Row { record, state });
            }
            (rows, page.next)
        }
    };
    let rows: Vec<Row> = rows
        .into_iter()
        .filter(|row| {
            filters
                .type_name()
                .is_none_or(|t| row.record.type_name() == t)
        })
        .collect();
    let deadline = Instant::now() + counts::WAIT_FOR_COUNTS;
    let counts = match counts::shown(&app, &list, deadline).await {
        Ok(Shown::Counted(kept)) => Some(kept.counts),
        _ => None,
    };
    let pause = store.pause_state(&list).await?;
    let now = store.now().await?;
    let here = html::list_url(settings, &list);
    let status_name_now = status.map(status_name).unwrap_or("");
    let back = format!(
        "{here}{}",
        query([
            ("status", status_name_now),
            ("type", filters.type_name().unwrap_or(""))
        ])
    );
    let body = html! {
        (pause_bar(settings, &list, pause.as_ref(), &back))
        nav.tabs {
            a.current[status.is_none()] href=(here) { "all" }
            @for (s, name) in STATUSES {
                a.current[status == Some(s)] href={ (here) (query([("status", name)])) } {
                    (name) @if let Some(counts) = &counts { " (" (counts.get(s)) ")" }
                }
            }
        }
        form.filters method="get" action=(here) {
            input type="hidden" name="status" value=(status_name_now);
            label { "type " input type="text" name="type" value=[filters.type_name()]; }
            button type="submit" { "Filter" }
            @if status == Some(TaskStatus::Failed) {
                a href={ (here) "/failed" } { "failed tasks with their errors →" }
            }
        }
        (task_table(settings, &list, &rows, now))
        @if let Some(next) = &next {
            p { a href={ (here) (query([("status", status_name_now), ("type", filters.type_name().unwrap_or("")), ("page", &token_text(next))])) } { "next page →" } }
        }
    };
    Ok(page(settings, &list, filters.done.as_deref(), Some(10), body).into_response())
}

fn task_table(settings: &Settings, list: &str, rows: &[Row], now: DateTime<Utc>) -> Markup {
    html! {
        @if rows.is_empty() {
            p { "No tasks here." }
        } @else {
            table {
                thead { tr { th { "id" } th { "type" } th { "status" } th.n { "attempts" } th { "saved" } th { "last error" } } }
                tbody {
                    @for row in rows {
                        @let state = row.state.as_ref().and_then(|s| s.as_ref().ok());
                        tr {
                            td { a href=(html::task_url(settings, list, row.record.id())) { (row.record.id()) } }
                            td { (row.record.type_name()) }
                            td { @match &row.state {
                                Some(Ok(state)) => { (status_name(state.status_at(now))) }
                                Some(Err(error)) => { span.error title=(error) { "unreadable" } }
                                None => { (none()) }
                            } }
                            td.n { @match state { Some(s) => { (s.attempts) }, None => { (none()) } } }
                            td title=(time(row.record.created_at())) { (age(row.record.created_at(), now)) " ago" }
                            td.error { @match state.and_then(|s| s.last_error.as_deref()) { Some(e) => { (e) }, None => { "" } } }
                        }
                    }
                }
            }
        }
    }
}

/// The list's pause state, and the button that changes it.
fn pause_bar(settings: &Settings, list: &str, pause: Option<&ListPause>, back: &str) -> Markup {
    let action = html::list_url(settings, list);
    html! {
        div.actions {
            @match pause {
                Some(pause) => {
                    span.paused { "Paused since " (time(pause.since)) " by " (pause.by) ": workers take none of its tasks." }
                    @if !settings.read_only() {
                        form method="post" action={ (action) "/resume" } {
                            (html::form_guard(settings, back))
                            button type="submit" { "Resume" }
                        }
                    }
                }
                None => {
                    @if !settings.read_only() {
                        form method="post" action={ (action) "/pause" } {
                            (html::form_guard(settings, back))
                            button type="submit" { "Pause this list" }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /lists/{list}/failed?type=…&q=…&page=…`: the failed tasks with
/// their attempts, last error and when it happened; retry or purge the
/// selected ones, or every one the filters select.
pub(crate) async fn failed(
    State(app): State<Arc<App>>,
    Path(list): Path<String>,
    Query(filters): Query<Filters>,
) -> Result<Markup, Failure> {
    let settings = &app.settings;
    let store = &app.store;
    let token = parse_token(filters.page.as_deref())?;
    let page_of = store
        .page_by_status(
            &list,
            TaskStatus::Failed,
            token.as_ref(),
            settings.page_size,
        )
        .await?;
    let now = store.now().await?;
    let here = format!("{}/failed", html::list_url(settings, &list));
    let type_name = filters.type_name().unwrap_or("");
    let text = filters.text().unwrap_or("");
    let back = format!("{here}{}", query([("type", type_name), ("q", text)]));
    let tasks: Vec<_> = page_of
        .tasks
        .iter()
        .filter(|t| filters.selects(&t.record, t.state.as_ref().ok()))
        .collect();
    let changes = !settings.read_only();
    let body = html! {
        p { a href=(html::list_url(settings, &list)) { "← all of " (list) } }
        form.filters method="get" action=(here) {
            label { "type " input type="text" name="type" value=(type_name); }
            label { "error contains " input type="text" name="q" value=(text); }
            button type="submit" { "Filter" }
        }
        @if tasks.is_empty() {
            p { "No failed tasks here." }
        } @else {
            form method="post" action=(here) id="selected" {
                (html::form_guard(settings, &back))
                table {
                    thead { tr {
                        @if changes { th { "" } }
                        th { "id" } th { "type" } th.n { "attempts" } th { "failed" } th { "last error" }
                    } }
                    tbody {
                        @for t in &tasks {
                            @let state = t.state.as_ref().ok();
                            tr {
                                @if changes { td { input type="checkbox" name="id" value=(t.record.id()) aria-label={ "select " (t.record.id()) }; } }
                                td { a href=(html::task_url(settings, &list, t.record.id())) { (t.record.id()) } }
                                td { (t.record.type_name()) }
                                td.n { @match state { Some(s) => { (s.attempts) }, None => { (none()) } } }
                                td { @match state.and_then(|s| s.changed_at) { Some(at) => { span title=(time(at)) { (age(at, now)) " ago" } }, None => { (none()) } } }
                                td.error { @match state.and_then(|s| s.last_error.as_deref()) { Some(e) => { (e) }, None => { "" } } }
                            }
                        }
                    }
                }
                @if changes {
                    div.actions {
                        button type="submit" formaction={ (here) "/retry" } { "Retry selected" }
                        button.danger type="submit" formaction={ (here) "/purge" } { "Purge selected" }
                    }
                }
            }
        }
        @if changes {
            div.actions {
                @for (action, label) in [("retry", "Retry every failed task matching the filter"), ("purge", "Purge every failed task matching the filter")] {
                    form method="post" action={ (here) "/" (action) } {
                        (html::form_guard(settings, &back))
                        input type="hidden" name="all" value="yes";
                        input type="hidden" name="type" value=(type_name);
                        input type="hidden" name="q" value=(text);
                        button.danger[action == "purge"] type="submit" { (label) }
                    }
                }
            }
        }
        @if let Some(next) = &page_of.next {
            p { a href={ (here) (query([("type", type_name), ("q", text), ("page", &token_text(next))])) } { "next page →" } }
        }
    };
    Ok(page(
        settings,
        &format!("Failed tasks of {list}"),
        filters.done.as_deref(),
        Some(10),
        body,
    ))
}

/// `GET /lists/{list}/tasks/{id}`: one task whole.
pub(crate) async fn task(
    State(app): State<Arc<App>>,
    Path((list, id)): Path<(String, String)>,
    Query(filters): Query<Filters>,
) -> Result<Response, Failure> {
    let settings = &app.settings;
    let store = &app.store;
    let now = store.now().await?;
    let (record, state, history) = match store.keeps_state() {
        true => match store.show(&list, &id).await? {
            Some(details) => (details.record, Some(details.state), details.history),
            None => return Ok(not_found(settings, &list, &id)),
        },
        false => match store.find_record(&list, &id).await? {
            Some(record) => (record, None, Vec::new()),
            None => return Ok(not_found(settings, &list, &id)),
        },
    };
    let here = html::task_url(settings, &list, &id);
    let held = state
        .as_ref()
        .is_some_and(|s| s.status == TaskStatus::Claimed && !s.is_claimable(now));
    let body = html! {
        p { a href=(html::list_url(settings, &list)) { "← " (list) } }
        table {
            tbody {
                tr { th { "type" } td { (record.type_name()) } }
                @if let Some(state) = &state {
                    tr { th { "status" } td { (status_name(state.status_at(now))) } }
                    tr { th { "attempts" } td { (state.attempts) } }
                    tr { th { "owner" } td { @match &state.owner { Some(o) => { (o) }, None => { (none()) } } } }
                    tr { th { "lease until" } td { @match state.lease_until { Some(at) => { (time(at)) " (" (age(at, now)) ")" }, None => { (none()) } } } }
                    tr { th { "not before" } td { @match state.not_before { Some(at) => { (time(at)) }, None => { (none()) } } } }
                    tr { th { "last error" } td.error { @match &state.last_error { Some(e) => { (e) }, None => { (none()) } } } }
                    @if let Some(result) = &state.result {
                        tr { th { "result" } td { code { (result.to_string()) } } }
                    }
                }
                tr { th { "saved" } td { (time(record.created_at())) } }
                tr { th { "updated" } td { (time(record.updated_at())) } }
            }
        }
        h2 { "Data" }
        pre.data { (pretty_json(record.data())) }
        @if !settings.read_only() && state.is_some() {
            h2 { "Change it" }
            div.actions {
                @if !held {
                    form method="post" action={ (here) "/retry" } {
                        (html::form_guard(settings, &here))
                        button type="submit" { "Retry (pending now, attempts reset)" }
                    }
                }
                form method="post" action={ (here) "/complete" } {
                    (html::form_guard(settings, &here))
                    button.danger type="submit" { "Complete (delete its record)" }
                }
                @if state.as_ref().is_some_and(|s| s.status == TaskStatus::Failed) {
                    form method="post" action={ (here) "/purge" } {
                        (html::form_guard(settings, &here))
                        button.danger type="submit" { "Purge (it is failed)" }
                    }
                }
            }
        }
        h2 { "History" }
        @if history.is_empty() {
            p { "No history kept for this task (the store keeps history only for the lists it is told to)." }
        } @else {
            ol.timeline {
                @for change in &history {
                    li {
                        strong { (time(change.at)) } " · " (status_name(change.state.status))
                        @if change.state.attempts > 0 { " · attempt " (change.state.attempts) }
                        @if let Some(owner) = &change.state.owner { " · " (owner) }
                        @if let Some(error) = &change.state.last_error { br; span.error { (error) } }
                    }
                }
            }
        }
    };
    Ok(page(settings, &id, filters.done.as_deref(), None, body).into_response())
}

fn not_found(settings: &Settings, list: &str, id: &str) -> Response {
    let body = html! {
        p { "There is no task " code { (id) } " in " a href=(html::list_url(settings, list)) { (list) } "." }
        p { "A completed task's record is gone; a purged one too." }
    };
    (
        StatusCode::NOT_FOUND,
        page(settings, "No such task", None, None, body),
    )
        .into_response()
}

pub(crate) fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        crate::plain_page("Bad request", message),
    )
        .into_response()
}
