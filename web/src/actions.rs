//! The changes an operator makes: each checks who asks and from where
//! ([`auth::check`]), asks for confirmation on a page of its own (so it
//! works without scripts), goes through [`TaskStore`](taskrec::TaskStore),
//! is logged, and sends the browser back with what it did.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use taskrec::TaskStatus;

use crate::auth::{self, Refusal};
use crate::html::{self, page};
use crate::views::{bad_request, Filters};
use crate::{App, Failure, Settings};

/// Where the audit lines go.
const AUDIT: &str = "taskrec_web::audit";

/// Failed tasks read per page when acting on every one a filter selects.
const PAGE: usize = 100;

/// A form's fields, in order, repeated names kept (`id=a&id=b`).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Self {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn confirmed(&self) -> bool {
        self.get("confirm") == Some("yes")
    }
}

/// The refusal as a response; a missing or wrong token with the challenge
/// that makes a browser ask for it.
fn refused(settings: &Settings, refusal: &Refusal) -> Response {
    let body = page(
        settings,
        "Not changed",
        None,
        None,
        html! { p { (refusal.message()) } },
    );
    let mut response = (refusal.status(), body).into_response();
    if *refusal == Refusal::Unauthorized {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"taskrec\", charset=\"UTF-8\""),
        );
    }
    response
}

/// `GET /sign-in`: asks the browser for the token (a Basic challenge),
/// then goes home. The browser then sends it with every change, so no
/// change is answered with a challenge first.
pub(crate) async fn sign_in(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let settings = &app.settings;
    match auth::signed_in(settings, &headers) {
        Ok(who) => done(
            &settings.home(),
            &format!("Signed in as {who}: changes are allowed."),
        ),
        Err(refusal) => refused(settings, &refusal),
    }
}

/// The form of a change and who asks for it, or why not: every change
/// starts here.
fn authorized(
    settings: &Settings,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Form, String), Refusal> {
    let form = Form::parse(body);
    let who = auth::check(settings, headers, form.get("csrf"))?;
    Ok((form, who))
}

/// The page that asks before a change: the same form again, confirmed.
fn confirm_page(settings: &Settings, form: &Form, question: &str, back: &str) -> Response {
    let body = html! {
        form method="post" {
            @for (name, value) in &form.0 {
                @if name != "confirm" { input type="hidden" name=(name) value=(value); }
            }
            input type="hidden" name="confirm" value="yes";
            p { (question) }
            div.actions {
                button.danger type="submit" { "Yes, do it" }
                a href=(back) { "Cancel" }
            }
        }
    };
    page(settings, "Are you sure?", None, None, body).into_response()
}

/// Where to send the browser after a change: the form's `back` when it
/// is a page of this dashboard, else `fallback`.
fn back_to(settings: &Settings, form: &Form, fallback: String) -> String {
    let prefix = format!("{}/", settings.base_path);
    form.get("back")
        .filter(|b| b.starts_with(&prefix) && !b.starts_with("//") && !b.contains('\\'))
        .map_or(fallback, str::to_owned)
}

/// Back, with what was done as the flash message.
fn done(back: &str, message: &str) -> Response {
    let separator = if back.contains('?') { '&' } else { '?' };
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("done", message)
        .finish();
    Redirect::to(&format!("{back}{separator}{query}")).into_response()
}

/// `POST /lists/{list}/tasks/{id}/{retry|complete|purge}`.
pub(crate) async fn task(
    State(app): State<Arc<App>>,
    Path((list, id, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let settings = &app.settings;
    let store = &app.store;
    let (form, who) = match authorized(settings, &headers, &body) {
        Ok(allowed) => allowed,
        Err(refusal) => return Ok(refused(settings, &refusal)),
    };
    let back = back_to(settings, &form, html::task_url(settings, &list, &id));
    let question = match action.as_str() {
        "retry" => format!("Make task {id} of {list} pending again, attempts and error reset?"),
        "complete" => {
            format!("Complete task {id} of {list}? Its record is deleted: no worker runs it again.")
        }
        "purge" => format!("Purge the failed task {id} of {list}? Its record is deleted."),
        _ => return Ok(bad_request(&format!("no action {action:?} on a task"))),
    };
    if !form.confirmed() {
        return Ok(confirm_page(settings, &form, &question, &back));
    }
    let (changed, message) = match action.as_str() {
        "retry" => match store.reset(&list, &id).await? {
            true => (true, format!("Task {id} is pending again.")),
            false => (
                false,
                format!("Task {id} was not retried: it is gone, or a worker holds it."),
            ),
        },
        "complete" => match store.find_record(&list, &id).await? {
            Some(_) => {
                store.delete(&list, &id).await?;
                (
                    true,
                    format!("Task {id} is completed: its record is deleted."),
                )
            }
            None => (false, format!("There is no task {id} to complete.")),
        },
        _ => match store.purge(&list, &id).await? {
            true => (true, format!("Task {id} is purged.")),
            false => (
                false,
                format!("Task {id} was not purged: it is no longer failed."),
            ),
        },
    };
    tracing::info!(target: AUDIT, who, action, task_list = list, task.id = id, changed, "dashboard change");
    if changed {
        crate::counts::after_change(&app, &list).await;
    }
    // A completed or purged task's page is gone: back to its list.
    let back = match changed && action != "retry" && back == html::task_url(settings, &list, &id) {
        true => html::list_url(settings, &list),
        false => back,
    };
    Ok(done(&back, &message))
}

/// `POST /lists/{list}/{pause|resume}`.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    Path((list, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let settings = &app.settings;
    let (form, who) = match authorized(settings, &headers, &body) {
        Ok(allowed) => allowed,
        Err(refusal) => return Ok(refused(settings, &refusal)),
    };
    let back = back_to(settings, &form, html::list_url(settings, &list));
    let question = match action.as_str() {
        "pause" => format!("Pause {list}? Workers take none of its tasks until it is resumed; tasks running now finish."),
        "resume" => format!("Resume {list}? Workers take its tasks again."),
        _ => return Ok(bad_request(&format!("no action {action:?} on a list"))),
    };
    if !form.confirmed() {
        return Ok(confirm_page(settings, &form, &question, &back));
    }
    let message = match action.as_str() {
        "pause" => {
            app.store.pause(&list, &who).await?;
            format!("{list} is paused.")
        }
        _ => {
            app.store.resume(&list).await?;
            format!("{list} is resumed.")
        }
    };
    tracing::info!(target: AUDIT, who, action, task_list = list, "dashboard change");
    Ok(done(&back, &message))
}

/// `POST /lists/{list}/failed/{retry|purge}`: the selected failed tasks
/// (`id` fields), or with `all=yes` every failed task the form's filters
/// (`type`, `q`) select.
pub(crate) async fn failed(
    State(app): State<Arc<App>>,
    Path((list, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let settings = &app.settings;
    let store = &app.store;
    let (form, who) = match authorized(settings, &headers, &body) {
        Ok(allowed) => allowed,
        Err(refusal) => return Ok(refused(settings, &refusal)),
    };
    if action != "retry" && action != "purge" {
        return Ok(bad_request(&format!(
            "no action {action:?} on failed tasks"
        )));
    }
    let back = back_to(
        settings,
        &form,
        format!("{}/failed", html::list_url(settings, &list)),
    );
    let every = form.get("all") == Some("yes");
    let filters = Filters {
        type_name: form.get("type").map(str::to_owned),
        q: form.get("q").map(str::to_owned),
        ..Filters::default()
    };
    let selected = form.all("id");
    if !every && selected.is_empty() {
        return Ok(done(&back, "Nothing was selected."));
    }
    if !form.confirmed() {
        let what = match every {
            true => {
                let mut what = format!("every failed task of {list}");
                if let Some(t) = filters.type_name() {
                    what.push_str(&format!(" of type {t}"));
                }
                if let Some(q) = filters.text() {
                    what.push_str(&format!(" whose error contains {q:?}"));
                }
                what
            }
            false => format!("{} selected failed task(s) of {list}", selected.len()),
        };
        let question = match action.as_str() {
            "retry" => format!("Retry {what}? They become pending again, attempts reset."),
            _ => format!("Purge {what}? Their records are deleted."),
        };
        return Ok(confirm_page(settings, &form, &question, &back));
    }
    let ids = match every {
        true => matching_failed(&app, &list, &filters).await?,
        false => selected,
    };
    let mut changed = 0u64;
    for id in &ids {
        let did = match action.as_str() {
            // Only while still failed: a task retried since it was listed
            // is someone else's now.
            "retry" => match store.state(&list, id).await? {
                Some(state) if state.status == TaskStatus::Failed => store.reset(&list, id).await?,
                _ => false,
            },
            _ => store.purge(&list, id).await?,
        };
        changed += u64::from(did);
    }
    tracing::info!(
        target: AUDIT,
        who,
        action,
        task_list = list,
        every,
        asked = ids.len(),
        changed,
        "dashboard change"
    );
    if changed > 0 {
        crate::counts::after_change(&app, &list).await;
    }
    let verb = match action.as_str() {
        "retry" => "retried",
        _ => "purged",
    };
    let message = match ids.len() as u64 - changed {
        0 => format!("{changed} failed task(s) {verb}."),
        left => format!("{changed} failed task(s) {verb}; {left} left alone (no longer failed)."),
    };
    Ok(done(&back, &message))
}

/// The ids of every failed task of the list the filters select, read a
/// page at a time (only failed tasks are read on Cassandra: their index).
async fn matching_failed(app: &App, list: &str, filters: &Filters) -> Result<Vec<String>, Failure> {
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let page = app
            .store
            .page_by_status(list, TaskStatus::Failed, token.as_ref(), PAGE)
            .await?;
        ids.extend(
            page.tasks
                .iter()
                .filter(|t| filters.selects(&t.record, t.state.as_ref().ok()))
                .map(|t| t.record.id().to_owned()),
        );
        match page.next {
            Some(next) => token = Some(next),
            None => return Ok(ids),
        }
    }
}
