//! The page frame every view shares, and the small helpers views render
//! with. Every value goes through maud's `(…)`, which escapes it: task
//! data, ids, list names and errors are text, never markup.

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use taskrec::TaskStatus;

use crate::Settings;

/// A page: the frame (title, navigation, search, the flash message of the
/// last action) around `body`. `refresh`: pages that show counts reload
/// themselves every so many seconds when scripts are off.
pub(crate) fn page(
    settings: &Settings,
    title: &str,
    flash: Option<&str>,
    refresh: Option<u32>,
    body: Markup,
) -> Markup {
    let base = &settings.base_path;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · taskrec" }
                link rel="stylesheet" href={ (base) "/assets/style.css" };
                @if let Some(seconds) = refresh {
                    noscript { meta http-equiv="refresh" content=(seconds); }
                }
                script src={ (base) "/assets/live.js" } defer {}
            }
            body {
                header {
                    a.brand href=(settings.home()) { "taskrec" }
                    form.search method="get" action={ (base) "/search" } {
                        input type="text" name="list" placeholder="list" aria-label="task list"
                            value=[settings.lists.first()];
                        input type="text" name="id" placeholder="task id" aria-label="task id";
                        button type="submit" { "Find" }
                    }
                    @if settings.read_only() {
                        span.mode title="this dashboard changes nothing" { "read-only" }
                    } @else {
                        a.mode href={ (base) "/sign-in" } title="the browser asks for the dashboard's token once" { "sign in to change things" }
                    }
                }
                main {
                    @if let Some(flash) = flash {
                        p.flash role="status" { (flash) }
                    }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A path segment, percent-encoded: list names and ids may hold any
/// character, `/`, `?` and `#` included.
pub(crate) fn seg(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A query string from pairs, each value encoded.
pub(crate) fn query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if !value.is_empty() {
            serializer.append_pair(key, value);
        }
    }
    let query = serializer.finish();
    match query.is_empty() {
        true => query,
        false => format!("?{query}"),
    }
}

/// The link to a list's view.
pub(crate) fn list_url(settings: &Settings, list: &str) -> String {
    format!("{}/lists/{}", settings.base_path, seg(list))
}

/// The link to one task's view.
pub(crate) fn task_url(settings: &Settings, list: &str, id: &str) -> String {
    format!("{}/tasks/{}", list_url(settings, list), seg(id))
}

/// The statuses, in the order the views show them, with their names.
pub(crate) const STATUSES: [(TaskStatus, &str); 6] = [
    (TaskStatus::Pending, "pending"),
    (TaskStatus::Scheduled, "scheduled"),
    (TaskStatus::Claimed, "claimed"),
    (TaskStatus::Succeeded, "succeeded"),
    (TaskStatus::Failed, "failed"),
    (TaskStatus::Unknown, "unknown"),
];

/// A status's name (`unknown` for one this version does not know).
pub(crate) fn status_name(status: TaskStatus) -> &'static str {
    STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("unknown", |(_, name)| name)
}

/// The status a name names.
pub(crate) fn parse_status(name: &str) -> Option<TaskStatus> {
    STATUSES.iter().find(|(_, n)| *n == name).map(|(s, _)| *s)
}

/// A time as people read it in a log: UTC, to the second.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How long ago (or ahead) `at` is from `now`, in the largest whole unit.
pub(crate) fn age(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - at).num_seconds();
    let (n, ahead) = (seconds.unsigned_abs(), seconds < 0);
    let text = match n {
        0..=119 => format!("{n} s"),
        120..=7_199 => format!("{} min", n / 60),
        7_200..=172_799 => format!("{} h", n / 3_600),
        _ => format!("{} d", n / 86_400),
    };
    match ahead {
        true => format!("in {text}"),
        false => text,
    }
}

/// Task data as indented JSON; as stored when it is not JSON.
pub(crate) fn pretty_json(data: &str) -> String {
    serde_json::from_str::<serde_json::Value>(data)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| data.to_owned())
}

/// The hidden fields every form that changes something carries: the
/// dashboard's cross-site request token, and where to go back to.
pub(crate) fn form_guard(settings: &Settings, back: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(settings.csrf);
        input type="hidden" name="back" value=(back);
    }
}

/// A stylesheet and a script, this crate's own, served from the binary.
pub(crate) const STYLE: &str = include_str!("../assets/style.css");
pub(crate) const SCRIPT: &str = include_str!("../assets/live.js");

/// An empty cell's mark.
pub(crate) fn none() -> Markup {
    PreEscaped("&mdash;".to_owned())
}
