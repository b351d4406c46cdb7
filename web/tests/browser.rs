//! The dashboard in a real browser: headless Chromium (Debian's package,
//! `scripts/browser-install`) driven over WebDriver (`chromedriver`),
//! against the real Cassandra at `TASKREC_CASSANDRA` (default
//! 127.0.0.1:9042). It fails, never skips, when either is missing.
//!
//! One story, as an operator lives it: a worker filled a list and left
//! failed tasks; the overview shows its counts (and its script updates
//! them); the failed view lists them; one is retried and leaves the view;
//! the list is paused and a running worker stops taking its tasks; it is
//! resumed and the worker takes them again. Each view is saved as a
//! screenshot under `target/tmp/dashboard-screenshots/`.

#![cfg(feature = "browser-tests")]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
use taskrec::{BoxError, Execute, Task, TaskData, TaskStatus, TaskStore, Worker, WorkerConfig};
use taskrec_web::Dashboard;

const TOKEN: &str = "browser-test-token";

#[derive(Debug, TaskData)]
struct Job {
    fail: bool,
}

#[async_trait::async_trait]
impl Execute<Arc<AtomicUsize>> for Job {
    async fn execute(&self, ran: &Arc<AtomicUsize>) -> Result<(), BoxError> {
        ran.fetch_add(1, Ordering::SeqCst);
        match self.fail {
            true => Err("upstream answered 503 <b>Service Unavailable</b>".into()),
            false => Ok(()),
        }
    }
}

fn address() -> String {
    std::env::var("TASKREC_CASSANDRA").unwrap_or_else(|_| "127.0.0.1:9042".to_owned())
}

async fn store() -> TaskStore {
    let config = CassandraConfig::new([address()], "taskrec_web_browser").create_schema(true);
    let adapter = CassandraAdapter::connect(config)
        .await
        .unwrap_or_else(|e| panic!("connecting to Cassandra at {}: {e}", address()));
    TaskStore::from_dyn(Arc::new(adapter)).with_history_everywhere()
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

async fn save(store: &TaskStore, list: &str, ids: impl IntoIterator<Item = String>, fail: bool) {
    for id in ids {
        store
            .save(&Task::new(list, id, Job { fail }).unwrap())
            .await
            .unwrap();
    }
}

async fn pending(store: &TaskStore, list: &str) -> u64 {
    store.count_by_status(list).await.unwrap().pending
}

/// Tasks waiting or running: 0 once every task a worker could take is done.
async fn open(store: &TaskStore, list: &str) -> u64 {
    let counts = store.count_by_status(list).await.unwrap();
    counts.pending + counts.claimed
}

/// `chromedriver` on a free port, stopped when dropped.
async fn chromedriver() -> (tokio::process::Child, u16) {
    let port = free_port();
    let child = tokio::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver (scripts/browser-install installs it)");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver never listened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, port)
}

async fn browser(driver_port: u16) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900"],
        }),
    );
    ClientBuilder::rustls()
        .expect("a TLS setup for the WebDriver client")
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a Chromium session")
}

/// Where the screenshots go.
fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    dir
}

async fn shoot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    let path = shots().join(format!("{name}.png"));
    std::fs::write(&path, png).expect("writing the screenshot");
    eprintln!("screenshot: {}", path.display());
}

/// The element `css` selects, waited for (10 s at most).
async fn element(browser: &Client, css: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
}

/// The text of the element `css` selects. Pages that show counts reload
/// themselves: an element found just before a reload is stale by the time
/// its text is asked for, and is looked for again.
async fn text(browser: &Client, css: &str) -> String {
    let started = Instant::now();
    loop {
        match element(browser, css).await.text().await {
            Ok(text) => return text,
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                    && started.elapsed() < Duration::from_secs(10) => {}
            Err(e) => panic!("the text of {css}: {e}"),
        }
    }
}

/// Clicks the element `css` selects, looked for again if a reload made it
/// stale (see [`text`]).
async fn click(browser: &Client, css: &str) {
    let started = Instant::now();
    loop {
        match element(browser, css).await.click().await {
            Ok(_) => return,
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                    && started.elapsed() < Duration::from_secs(10) => {}
            Err(e) => panic!("clicking {css}: {e}"),
        }
    }
}

/// Confirms the change the page asks about, and waits for the page it
/// goes back to.
async fn confirm(browser: &Client, name: &str) {
    // The click that asked for it submitted a form: until the browser has
    // the answer, the page it was on is still the one shown.
    let started = Instant::now();
    let mut question = text(browser, "main h1").await;
    while question != "Are you sure?" && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        question = text(browser, "main h1").await;
    }
    assert_eq!(question, "Are you sure?");
    shoot(browser, name).await;
    click(browser, "main form button.danger").await;
    text(browser, "p.flash").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sees_retries_pauses_and_resumes_in_a_real_browser() {
    let store = store().await;
    let list = format!("browser-{}", uuid::Uuid::new_v4().simple());
    // A worker's run left 3 failed tasks; 5 more wait.
    save(&store, &list, (0..6).map(|n| format!("ok-{n}")), false).await;
    save(&store, &list, (0..3).map(|n| format!("bad-{n}")), true).await;
    let ran = Arc::new(AtomicUsize::new(0));
    let worker = |owner: &str| {
        Worker::new(
            store.clone(),
            WorkerConfig::new(owner)
                .max_attempts(1)
                .concurrency(4)
                .idle_poll(Duration::from_millis(200)),
        )
    };
    let report = worker("filler").drain::<Job, _>(&list, &ran).await.unwrap();
    assert_eq!((report.succeeded, report.failed), (6, 3));
    save(&store, &list, (0..5).map(|n| format!("waiting-{n}")), false).await;

    let dashboard = Dashboard::new(store.clone())
        .lists([list.clone()])
        .token(TOKEN);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, dashboard.router()).await });
    let site = format!("http://127.0.0.1:{port}");

    let (_driver, driver_port) = chromedriver().await;
    let browser = browser(driver_port).await;

    // The overview: the list's counts, updated by its script.
    browser.goto(&format!("{site}/")).await.unwrap();
    let cell = |field: &str| format!(r#"td[data-list="{list}"][data-field="{field}"]"#);
    assert_eq!(text(&browser, &cell("pending")).await, "5");
    assert_eq!(text(&browser, &cell("failed")).await, "3");
    browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("table[data-updated]"))
        .await
        .expect("the live script updated the overview");
    shoot(&browser, "overview").await;

    // Sign in: the browser keeps the token for the changes to come.
    browser
        .goto(&format!("http://ops:{TOKEN}@127.0.0.1:{port}/sign-in"))
        .await
        .unwrap();
    assert_eq!(
        text(&browser, "p.flash").await,
        "Signed in as ops: changes are allowed."
    );

    // The failed tasks, with their errors as text; one retried leaves the view.
    browser
        .goto(&format!("{site}/lists/{list}/failed"))
        .await
        .unwrap();
    let rows = browser
        .find_all(Locator::Css("main table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let error = text(&browser, "main table tbody tr td.error").await;
    assert_eq!(error, "upstream answered 503 <b>Service Unavailable</b>");
    shoot(&browser, "failed").await;
    click(&browser, r#"input[name="id"][value="bad-1"]"#).await;
    click(&browser, r#"button[formaction$="/retry"]"#).await;
    confirm(&browser, "confirm").await;
    assert_eq!(text(&browser, "p.flash").await, "1 failed task(s) retried.");
    let rows = browser
        .find_all(Locator::Css("main table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "the retried task left the failed view");
    assert!(browser
        .find_all(Locator::Css(r#"a[href$="/tasks/bad-1"]"#))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.state(&list, "bad-1").await.unwrap().unwrap().status,
        TaskStatus::Pending
    );

    // One task whole.
    browser
        .goto(&format!("{site}/lists/{list}/tasks/bad-0"))
        .await
        .unwrap();
    assert_eq!(text(&browser, "main h1").await, "bad-0");
    assert!(text(&browser, "ol.timeline").await.contains("failed"));
    shoot(&browser, "task").await;

    // A worker serving the list takes the waiting tasks (and the retried one).
    let serving_worker = worker("server");
    let stop = serving_worker.stop_handle();
    let serving = {
        let (list, ran) = (list.clone(), Arc::clone(&ran));
        tokio::spawn(async move { serving_worker.serve::<Job, _>(&[list.as_str()], &ran).await })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while open(&store, &list).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the worker never drained the list"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Paused in the browser: the running worker stops taking the list's tasks.
    browser.goto(&format!("{site}/lists/{list}")).await.unwrap();
    click(&browser, r#"form[action$="/pause"] button"#).await;
    confirm(&browser, "confirm-pause").await;
    assert!(text(&browser, "span.paused")
        .await
        .starts_with("Paused since"));
    assert_eq!(store.pause_state(&list).await.unwrap().unwrap().by, "ops");
    shoot(&browser, "list-paused").await;
    // The worker reads the flag at most every half idle poll (100 ms).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ran_before = ran.load(Ordering::SeqCst);
    save(&store, &list, (0..4).map(|n| format!("late-{n}")), false).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        ran.load(Ordering::SeqCst),
        ran_before,
        "a paused list's task ran"
    );
    assert_eq!(pending(&store, &list).await, 4);

    // Resumed: the worker takes them.
    click(&browser, r#"form[action$="/resume"] button"#).await;
    confirm(&browser, "confirm-resume").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while open(&store, &list).await > 0 {
        assert!(Instant::now() < deadline, "the resumed list was not served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ran.load(Ordering::SeqCst), ran_before + 4);
    browser.goto(&format!("{site}/lists/{list}")).await.unwrap();
    shoot(&browser, "list").await;

    stop.stop();
    serving.await.unwrap().unwrap();
    browser.close().await.unwrap();
}
