//! The dashboard's pages and changes, request by request, over the memory
//! adapter: what each page shows, that nothing a task holds is rendered
//! as markup, and that a change needs the token, the form's request token,
//! this host, and a confirmation.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use taskrec::{MemoryAdapter, Task, TaskData, TaskStatus, TaskStore};
use taskrec_web::Dashboard;
use tower::ServiceExt;

#[derive(Debug, TaskData)]
struct SendEmail {
    to: String,
}

#[derive(Debug, TaskData)]
struct Resize {
    image: u32,
}

const TOKEN: &str = "s3cret-token";

fn store() -> TaskStore {
    TaskStore::from_dyn(Arc::new(MemoryAdapter::new())).with_history_everywhere()
}

/// `emails`: e1 and e2 pending, e3 failed ("SMTP timeout"); `images`: i1
/// failed ("decoder: bad header"), i2 pending.
async fn filled() -> TaskStore {
    let store = store();
    for id in ["e1", "e2", "e3"] {
        let to = format!("{id}@example.com");
        store
            .save(&Task::new("emails", id, SendEmail { to }).unwrap())
            .await
            .unwrap();
    }
    store
        .save(&Task::new("images", "i1", Resize { image: 1 }).unwrap())
        .await
        .unwrap();
    store
        .save(&Task::new("images", "i2", Resize { image: 2 }).unwrap())
        .await
        .unwrap();
    fail(&store, "emails", "e3", "SMTP timeout").await;
    fail(&store, "images", "i1", "decoder: bad header").await;
    store
}

async fn fail(store: &TaskStore, list: &str, id: &str, error: &str) {
    let claim = store
        .claim(list, id, "test-worker", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert!(store.fail(claim, error).await.unwrap());
}

fn dashboard(store: &TaskStore) -> Router {
    Dashboard::new(store.clone())
        .lists(["emails", "images"])
        .token(TOKEN)
        .router()
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    challenge: Option<String>,
    body: String,
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let text = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let (location, challenge) = (text(header::LOCATION), text(header::WWW_AUTHENTICATE));
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        location,
        challenge,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn get(router: &Router, uri: &str) -> Answer {
    send(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A form post as a browser on this host sends it, with `auth` (an
/// `Authorization` value) when given.
async fn post(router: &Router, uri: &str, fields: &[(&str, &str)], auth: Option<&str>) -> Answer {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, "http://127.0.0.1:8080");
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, auth);
    }
    send(router, request.body(Body::from(body)).unwrap()).await
}

/// The request token a page's forms carry.
fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with the request token");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn status_of(store: &TaskStore, list: &str, id: &str) -> Option<TaskStatus> {
    store.state(list, id).await.unwrap().map(|s| s.status)
}

#[tokio::test]
async fn the_overview_shows_each_lists_counts_and_the_oldest_pending_task() {
    let store = filled().await;
    let page = get(&dashboard(&store), "/").await;
    assert_eq!(page.status, StatusCode::OK);
    for expected in [
        r#"<a href="/lists/emails">emails</a>"#,
        r#"<td class="n" data-list="emails" data-field="pending">2</td>"#,
        r#"<a href="/lists/emails/failed">1</a>"#,
        r#"<td class="n" data-list="emails" data-field="total">3</td>"#,
        r#"<td class="n" data-list="images" data-field="pending">1</td>"#,
        r#"<meta http-equiv="refresh" content="10">"#,
        r#"<script src="/assets/live.js" defer>"#,
    ] {
        assert!(
            page.body.contains(expected),
            "no {expected} in {}",
            page.body
        );
    }
    assert!(
        page.body.contains(" s</td>"),
        "the oldest pending task's age, in seconds"
    );

    let live = get(&dashboard(&store), "/live.json").await;
    let json: serde_json::Value = serde_json::from_str(&live.body).unwrap();
    assert_eq!(json["lists"][0]["name"], "emails");
    assert_eq!(json["lists"][0]["pending"], 2);
    assert_eq!(json["lists"][0]["failed"], 1);
    assert_eq!(json["lists"][1]["total"], 2);
    assert_eq!(json["lists"][0]["paused"], serde_json::Value::Null);

    // Lists the store names show too, after the configured ones.
    store
        .save(&Task::new("found", "f1", Resize { image: 9 }).unwrap())
        .await
        .unwrap();
    let page = get(&dashboard(&store), "/").await;
    assert!(page.body.contains(r#"<a href="/lists/found">found</a>"#));
    let (emails, found) = (
        page.body.find("/lists/emails\"").unwrap(),
        page.body.find("/lists/found\"").unwrap(),
    );
    assert!(emails < found, "configured lists come first");
    let hidden = Dashboard::new(store.clone())
        .lists(["emails"])
        .discover(false)
        .router();
    assert!(!get(&hidden, "/").await.body.contains("/lists/found"));

    let script = get(&dashboard(&store), "/assets/live.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.body.contains("data-live"));
}

/// The overview reads each list's kept counts (one read), not every task:
/// figures kept a moment ago are shown as they are, with their age; once
/// they are due the page starts a count in the background and shows the
/// kept ones meanwhile; an action counts its list again.
#[tokio::test]
async fn the_overview_shows_kept_counts_and_counts_again_when_they_are_due() {
    let store = filled().await;
    let now = store.now().await.unwrap() - chrono::Duration::seconds(1);
    // Figures no count of this list would give: the page must show these.
    let mut counts = taskrec::StatusCounts::default();
    (counts.pending, counts.failed) = (1_000_000, 7);
    let kept = taskrec::KeptCounts::new(counts, None, now, Duration::from_millis(3), "elsewhere:1");
    store.adapter().keep_counts("emails", &kept).await.unwrap();
    let router = Dashboard::new(store.clone())
        .lists(["emails"])
        .token(TOKEN)
        .count_every(Duration::from_secs(3600))
        .router();
    let page = get(&router, "/").await;
    for expected in [
        r#"data-field="pending">1000000</td>"#,
        r#"<a href="/lists/emails/failed">7</a>"#,
        r#"data-field="total">1000007</td>"#,
        r#"title="counted at "#,
        "by elsewhere:1 in 3 ms",
    ] {
        assert!(
            page.body.contains(expected),
            "no {expected} in {}",
            page.body
        );
    }
    let live = get(&router, "/live.json").await;
    let json: serde_json::Value = serde_json::from_str(&live.body).unwrap();
    assert_eq!(json["lists"][0]["pending"], 1_000_000);
    // Time for a count the pages might have started to run and keep.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(json["lists"][0]["counted_age_seconds"].as_u64().unwrap() < 3600);
    assert_eq!(
        store
            .kept_counts("emails")
            .await
            .unwrap()
            .unwrap()
            .counted_by,
        "elsewhere:1",
        "fresh figures are not counted again"
    );

    // Due (a dashboard that counts every 0 s): the kept figures are shown
    // while a count runs, and the count keeps the true ones.
    let eager = Dashboard::new(store.clone())
        .lists(["emails"])
        .count_every(Duration::ZERO)
        .router();
    let page = get(&eager, "/").await;
    assert!(
        page.body.contains(r#"data-field="pending">1000000</td>"#),
        "{}",
        page.body
    );
    let mut recounted = None;
    for _ in 0..200 {
        let kept = store.kept_counts("emails").await.unwrap().unwrap();
        if kept.counted_by != "elsewhere:1" {
            recounted = Some(kept);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let recounted = recounted.expect("the due list was counted again");
    assert_eq!((recounted.counts.pending, recounted.counts.failed), (2, 1));
    assert!(recounted.oldest_pending.is_some());
    let page = get(&router, "/").await;
    assert!(
        page.body.contains(r#"data-field="pending">2</td>"#),
        "{}",
        page.body
    );

    // An action on the list counts it again before its page shows.
    let form = get(&router, "/lists/emails/failed").await.body;
    let csrf = csrf_of(&form);
    let answer = post(
        &router,
        "/lists/emails/tasks/e3/retry",
        &[("csrf", csrf.as_str()), ("confirm", "yes")],
        Some(&format!("Bearer {TOKEN}")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let kept = store.kept_counts("emails").await.unwrap().unwrap();
    assert_eq!((kept.counts.pending, kept.counts.failed), (3, 0));
}

#[tokio::test]
async fn a_lists_tasks_filter_by_status_and_type_and_page_on() {
    let store = store();
    for n in 0..7 {
        store
            .save(&Task::new("mixed", format!("r{n}"), Resize { image: n }).unwrap())
            .await
            .unwrap();
    }
    store
        .save(&Task::new("mixed", "mail", SendEmail { to: "a@b".into() }).unwrap())
        .await
        .unwrap();
    let router = Dashboard::new(store.clone()).page_size(5).router();
    let first = get(&router, "/lists/mixed").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body.matches("/lists/mixed/tasks/").count(), 5);
    let next = first.body.split("page=").nth(1).expect("a next page link");
    let token = &next[..next.find('"').unwrap()];
    let second = get(&router, &format!("/lists/mixed?page={token}")).await;
    assert_eq!(second.body.matches("/lists/mixed/tasks/").count(), 3);
    assert!(!second.body.contains("next page"));

    let only = get(&router, "/lists/mixed?type=SendEmail").await;
    assert_eq!(
        only.body.matches("/lists/mixed/tasks/").count(),
        1,
        "{}",
        only.body
    );
    let pending = get(&router, "/lists/mixed?status=pending").await;
    assert!(pending.body.contains("pending (8)"));
    assert_eq!(
        get(&router, "/lists/mixed?status=sleeping").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&router, "/lists/mixed?page=zz").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn nothing_a_task_holds_is_rendered_as_markup() {
    let store = store();
    let id = "<b id=x>bold</b>";
    let task = Task::new(
        "xss",
        id,
        SendEmail {
            to: "<script>alert(1)</script>".into(),
        },
    )
    .unwrap();
    store.save(&task).await.unwrap();
    fail(&store, "xss", id, "<img src=x onerror=alert(2)>").await;
    let router = Dashboard::new(store.clone())
        .lists(["xss"])
        .token(TOKEN)
        .router();
    let encoded = "%3Cb%20id%3Dx%3Ebold%3C%2Fb%3E";
    for uri in [
        "/".to_owned(),
        "/lists/xss".to_owned(),
        "/lists/xss/failed".to_owned(),
        format!("/lists/xss/tasks/{encoded}"),
    ] {
        let page = get(&router, &uri).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        for raw in ["<script>alert", "<img src=x", "<b id=x>"] {
            assert!(!page.body.contains(raw), "{uri} renders {raw} as markup");
        }
    }
    let task_page = get(&router, &format!("/lists/xss/tasks/{encoded}")).await;
    assert!(task_page
        .body
        .contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(task_page
        .body
        .contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(task_page
        .body
        .contains("<h1>&lt;b id=x&gt;bold&lt;/b&gt;</h1>"));
}

#[tokio::test]
async fn a_task_page_shows_its_state_data_and_history() {
    let store = filled().await;
    let page = get(&dashboard(&store), "/lists/emails/tasks/e3").await;
    assert_eq!(page.status, StatusCode::OK);
    for expected in [
        "<td>failed</td>",
        "SMTP timeout",
        "&quot;to&quot;: &quot;e3@example.com&quot;",
        "<ol class=\"timeline\">",
        "test-worker",
        "Retry (pending now, attempts reset)",
    ] {
        assert!(
            page.body.contains(expected),
            "no {expected} in {}",
            page.body
        );
    }
    let missing = get(&dashboard(&store), "/lists/emails/tasks/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let found = get(&dashboard(&store), "/search?list=emails&id=e%2F1").await;
    assert_eq!(found.status, StatusCode::SEE_OTHER);
    assert_eq!(found.location.as_deref(), Some("/lists/emails/tasks/e%2F1"));
}

#[tokio::test]
async fn without_a_token_the_dashboard_changes_nothing() {
    let store = filled().await;
    let router = Dashboard::new(store.clone()).lists(["emails"]).router();
    let page = get(&router, "/lists/emails/tasks/e3").await;
    assert!(
        !page.body.contains("<form method=\"post\""),
        "no change offered"
    );
    assert!(page.body.contains("read-only"));
    let answer = post(
        &router,
        "/lists/emails/tasks/e3/retry",
        &[("csrf", "x"), ("confirm", "yes")],
        Some("Bearer anything"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        status_of(&store, "emails", "e3").await,
        Some(TaskStatus::Failed)
    );
    let read_only = Dashboard::new(store.clone())
        .token(TOKEN)
        .read_only(true)
        .router();
    let answer = post(
        &read_only,
        "/lists/emails/pause",
        &[("confirm", "yes")],
        Some(&basic("a", TOKEN)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(store.pause_state("emails").await.unwrap(), None);
}

#[tokio::test]
async fn a_change_needs_the_token_the_request_token_this_host_and_a_yes() {
    let store = filled().await;
    let router = dashboard(&store);
    let page = get(&router, "/lists/emails/tasks/e3").await;
    let csrf = csrf_of(&page.body);
    let uri = "/lists/emails/tasks/e3/retry";
    let back = "/lists/emails/tasks/e3";
    let auth = basic("alice", TOKEN);

    let no_token = post(&router, uri, &[("csrf", &csrf), ("confirm", "yes")], None).await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
    assert!(no_token
        .challenge
        .unwrap()
        .starts_with("Basic realm=\"taskrec\""));
    let wrong = post(
        &router,
        uri,
        &[("csrf", &csrf), ("confirm", "yes")],
        Some(&basic("alice", "guess")),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let forged = post(
        &router,
        uri,
        &[("csrf", "forged"), ("confirm", "yes")],
        Some(&auth),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let cross_site = send(
        &router,
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::ORIGIN, "https://evil.example")
            .header(header::AUTHORIZATION, &auth)
            .body(Body::from(format!("csrf={csrf}&confirm=yes")))
            .unwrap(),
    )
    .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    assert_eq!(
        status_of(&store, "emails", "e3").await,
        Some(TaskStatus::Failed)
    );

    // Signing in asks for the token, and says who.
    let challenge = get(&router, "/sign-in").await;
    assert_eq!(challenge.status, StatusCode::UNAUTHORIZED);
    let signed = send(
        &router,
        Request::get("/sign-in")
            .header(header::AUTHORIZATION, &auth)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert!(signed
        .location
        .unwrap()
        .starts_with("/?done=Signed+in+as+alice"));

    // Asked first, on a page that posts the same form confirmed.
    let asked = post(
        &router,
        uri,
        &[("csrf", &csrf), ("back", back)],
        Some(&auth),
    )
    .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.body.contains("Are you sure?"));
    assert!(asked.body.contains(r#"name="confirm" value="yes""#));
    assert_eq!(
        status_of(&store, "emails", "e3").await,
        Some(TaskStatus::Failed)
    );

    let done = post(
        &router,
        uri,
        &[("csrf", &csrf), ("back", back), ("confirm", "yes")],
        Some(&auth),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let location = done.location.unwrap();
    assert!(
        location.starts_with("/lists/emails/tasks/e3?done="),
        "{location}"
    );
    assert_eq!(
        status_of(&store, "emails", "e3").await,
        Some(TaskStatus::Pending)
    );
    let shown = get(&router, &location).await;
    assert!(shown.body.contains("Task e3 is pending again."));

    // A `back` elsewhere is not followed.
    let elsewhere = post(
        &router,
        "/lists/emails/tasks/e1/complete",
        &[
            ("csrf", &csrf),
            ("back", "https://evil.example/"),
            ("confirm", "yes"),
        ],
        Some(&format!("Bearer {TOKEN}")),
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::SEE_OTHER);
    assert!(elsewhere
        .location
        .unwrap()
        .starts_with("/lists/emails?done="));
    assert_eq!(
        status_of(&store, "emails", "e1").await,
        None,
        "completed: its record is gone"
    );
}

#[tokio::test]
async fn failed_tasks_filter_by_type_and_error_and_are_retried_or_purged_in_bulk() {
    let store = store();
    for (id, error) in [
        ("a", "SMTP timeout"),
        ("b", "smtp TIMEOUT again"),
        ("c", "bad address"),
    ] {
        store
            .save(&Task::new("mail", id, SendEmail { to: id.into() }).unwrap())
            .await
            .unwrap();
        fail(&store, "mail", id, error).await;
    }
    store
        .save(&Task::new("mail", "r", Resize { image: 1 }).unwrap())
        .await
        .unwrap();
    fail(&store, "mail", "r", "timeout while resizing").await;
    let router = dashboard(&store);
    let page = get(&router, "/lists/mail/failed?q=timeout&type=SendEmail").await;
    assert_eq!(page.status, StatusCode::OK);
    for (id, shown) in [("a", true), ("b", true), ("c", false), ("r", false)] {
        let link = format!("/lists/mail/tasks/{id}\"");
        assert_eq!(page.body.contains(&link), shown, "{id} in {}", page.body);
    }
    let csrf = csrf_of(&page.body);
    let auth = basic("bob", TOKEN);
    let fields = [
        ("csrf", csrf.as_str()),
        ("all", "yes"),
        ("type", "SendEmail"),
        ("q", "timeout"),
    ];
    let asked = post(&router, "/lists/mail/failed/retry", &fields, Some(&auth)).await;
    assert!(asked
        .body
        .contains("every failed task of mail of type SendEmail whose error contains"));
    let mut confirmed = fields.to_vec();
    confirmed.push(("confirm", "yes"));
    let done = post(&router, "/lists/mail/failed/retry", &confirmed, Some(&auth)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(done
        .location
        .unwrap()
        .contains("2+failed+task%28s%29+retried"));
    for (id, status) in [
        ("a", TaskStatus::Pending),
        ("b", TaskStatus::Pending),
        ("c", TaskStatus::Failed),
        ("r", TaskStatus::Failed),
    ] {
        assert_eq!(status_of(&store, "mail", id).await, Some(status), "{id}");
    }
    // The selected ones: c purged, r asked for too but a (no longer failed) left.
    let selected = [
        ("csrf", csrf.as_str()),
        ("id", "c"),
        ("id", "a"),
        ("confirm", "yes"),
    ];
    let done = post(&router, "/lists/mail/failed/purge", &selected, Some(&auth)).await;
    assert!(done.location.unwrap().contains("1+left+alone"));
    assert_eq!(status_of(&store, "mail", "c").await, None);
    assert_eq!(
        status_of(&store, "mail", "a").await,
        Some(TaskStatus::Pending)
    );
}

#[tokio::test]
async fn a_list_is_paused_and_resumed_in_the_name_of_who_asked() {
    let store = filled().await;
    let router = dashboard(&store);
    let page = get(&router, "/lists/emails").await;
    assert!(page.body.contains("Pause this list"));
    let csrf = csrf_of(&page.body);
    let auth = basic("carol", TOKEN);
    let done = post(
        &router,
        "/lists/emails/pause",
        &[("csrf", &csrf), ("confirm", "yes")],
        Some(&auth),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        store.pause_state("emails").await.unwrap().unwrap().by,
        "carol"
    );
    let overview = get(&router, "/").await;
    assert!(overview.body.contains("paused by carol"));
    let page = get(&router, "/lists/emails").await;
    assert!(page.body.contains("Resume"));
    post(
        &router,
        "/lists/emails/resume",
        &[("csrf", &csrf), ("confirm", "yes")],
        Some(&auth),
    )
    .await;
    assert_eq!(store.pause_state("emails").await.unwrap(), None);
}

#[tokio::test]
async fn links_and_forms_follow_the_base_path() {
    let store = filled().await;
    let dashboard = Dashboard::new(store.clone())
        .lists(["emails"])
        .token(TOKEN)
        .base_path("/ops/tasks/");
    let app = Router::new().nest("/ops/tasks", dashboard.router());
    let page = get(&app, "/ops/tasks").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"href="/ops/tasks/lists/emails""#));
    assert!(page.body.contains(r#"/ops/tasks/assets/style.css"#));
    assert!(page.body.contains(r#"<a class="brand" href="/ops/tasks">"#));
    let list = get(&app, "/ops/tasks/lists/emails").await;
    assert!(list
        .body
        .contains(r#"action="/ops/tasks/lists/emails/pause""#));
}
