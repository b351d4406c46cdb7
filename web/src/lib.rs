//! A dashboard for taskrec's task lists, to mount in your own axum server:
//! the lists with their counts per status and the age of their oldest
//! pending task, each list's tasks by status and type, the failed ones with
//! their errors, one task whole with its history, and the changes an
//! operator makes (retry, complete, purge, pause and resume a list), all
//! through [`TaskStore`], so history and metrics see them as any change.
//!
//! Server-rendered HTML: every page works with scripts off (pages with
//! counts reload themselves); one small script of this crate's own, served
//! from the binary like its stylesheet, updates the overview in place and
//! draws what changed while it is open. No CDN, no Node, no WASM.
//!
//! # Safe by default
//!
//! - A dashboard **changes nothing until it is given a token**
//!   ([`Dashboard::token`]); [`Dashboard::read_only`] keeps it so even then.
//! - A change needs the token (`Authorization: Bearer TOKEN`, or as the
//!   password of Basic authentication, which a browser asks for), the
//!   dashboard's own request token in the form (so another site's page
//!   cannot post one), and, when the browser sends an `Origin`, this host.
//!   The token is never logged; every change is logged (who, what, which
//!   tasks, the outcome) at INFO under the target `taskrec_web::audit`.
//! - Task data, ids and errors are always rendered as text.
//! - Binding is the application's choice; the `taskrec web` command binds
//!   to loopback unless told otherwise.
//!
//! Reading pages needs no token: mount the router behind your own
//! authentication layer (any tower middleware) where the data is private.
//!
//! # Mounting it
//!
//! ```no_run
//! use std::sync::Arc;
//! use taskrec::{MemoryAdapter, TaskStore};
//! use taskrec_web::Dashboard;
//!
//! # async fn run() -> std::io::Result<()> {
//! let store = TaskStore::from_dyn(Arc::new(MemoryAdapter::new())); // or a CassandraAdapter
//! let dashboard = Dashboard::new(store)
//!     .lists(["emails", "images"])
//!     .token(std::env::var("TASKREC_WEB_TOKEN").expect("a token"))
//!     .base_path("/tasks");
//! let app = axum::Router::new().nest("/tasks", dashboard.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! # Lists and counts
//!
//! The overview shows the lists it is given, then those the adapter names
//! ([`TaskStore::task_lists`]: on Cassandra one read of partition keys).
//! The counts shown are each list's **kept counts**
//! ([`TaskStore::kept_counts`]: one read per list, whatever the list holds),
//! with how old they are. Once they are older than
//! [`Dashboard::count_every`] and than ten times as long as the last count
//! took, and no other process is counting the list, the dashboard counts it
//! again in the background ([`TaskStore::recount`], which reads every
//! task's state) while the page shows the kept figures; workers serving the
//! list count it too (`WorkerConfig::count_every`). A page waits two
//! seconds in all for lists never counted, then shows them as being
//! counted. An action on a list counts it again before its page is shown,
//! unless its last count took longer than that. On a store that keeps no
//! counts, the dashboard shows its own last count.

mod actions;
mod auth;
mod counts;
mod html;
mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use taskrec::TaskStore;

/// What the views and actions share: the store and the settings.
pub(crate) struct App {
    pub(crate) store: TaskStore,
    pub(crate) settings: Settings,
    /// The lists being counted in the background.
    pub(crate) counting: counts::Counting,
}

/// The dashboard's settings, as the builder set them.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The lists the overview shows, in this order.
    pub(crate) lists: Vec<String>,
    /// The token changes need; `None`: read-only.
    pub(crate) token: Option<String>,
    pub(crate) read_only: bool,
    /// Where the router is mounted (`""` at the root, else `/tasks`).
    pub(crate) base_path: String,
    /// The request token of this dashboard's forms: random per dashboard.
    pub(crate) csrf: String,
    pub(crate) page_size: usize,
    /// Whether the overview adds the lists the adapter names.
    pub(crate) discover: bool,
    /// How old kept counts may be before a page starts a count.
    pub(crate) count_every: Duration,
}

impl Settings {
    pub(crate) fn new() -> Self {
        Settings {
            lists: Vec::new(),
            token: None,
            read_only: false,
            base_path: String::new(),
            csrf: uuid::Uuid::new_v4().simple().to_string(),
            page_size: DEFAULT_PAGE_SIZE,
            discover: true,
            count_every: DEFAULT_COUNT_EVERY,
        }
    }

    /// The overview's address: the mount point itself (axum's `nest`
    /// routes `/tasks`, not `/tasks/`).
    pub(crate) fn home(&self) -> String {
        match self.base_path.is_empty() {
            true => "/".to_owned(),
            false => self.base_path.clone(),
        }
    }

    /// Whether the dashboard changes nothing: made read-only, or given no
    /// token.
    pub(crate) fn read_only(&self) -> bool {
        self.read_only || self.token.is_none()
    }
}

/// How old a list's kept counts may be before a page counts the list again,
/// unless [`Dashboard::count_every`] says otherwise.
pub const DEFAULT_COUNT_EVERY: Duration = Duration::from_secs(5);

/// Tasks per page, unless [`Dashboard::page_size`] says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// The largest page [`Dashboard::page_size`] accepts: a page is read whole.
pub const MAX_PAGE_SIZE: usize = 500;

/// The dashboard over one store: build it, then mount [`router`](Self::router).
///
/// ```
/// use std::sync::Arc;
/// let store = taskrec::TaskStore::from_dyn(Arc::new(taskrec::MemoryAdapter::new()));
/// let router: axum::Router = taskrec_web::Dashboard::new(store).lists(["emails"]).router();
/// ```
pub struct Dashboard {
    store: TaskStore,
    settings: Settings,
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard")
            .field("lists", &self.settings.lists)
            .field("changes", &!self.settings.read_only())
            .field("base_path", &self.settings.base_path)
            .finish_non_exhaustive()
    }
}

impl Dashboard {
    /// A read-only dashboard over `store` (changes need [`token`](Self::token)).
    pub fn new(store: TaskStore) -> Self {
        Dashboard {
            store,
            settings: Settings::new(),
        }
    }

    /// The lists the overview shows first, in this order; those the
    /// adapter names follow ([`discover`](Self::discover)). Any other list
    /// opens by its address (`/lists/NAME`) or through the search form.
    pub fn lists<I, S>(mut self, lists: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.settings.lists = lists.into_iter().map(Into::into).collect();
        self
    }

    /// Whether the overview also shows the lists the adapter names
    /// ([`TaskStore::task_lists`]; the memory and Cassandra adapters do),
    /// after the configured ones. Default: yes.
    pub fn discover(mut self, discover: bool) -> Self {
        self.settings.discover = discover;
        self
    }

    /// Lets the dashboard change tasks for requests that carry `token`
    /// (bearer, or the Basic password). An empty token is ignored: the
    /// dashboard stays read-only.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.settings.token = (!token.is_empty()).then_some(token);
        self
    }

    /// Keeps the dashboard from changing anything, token or not.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.settings.read_only = read_only;
        self
    }

    /// Where the router is mounted (`Router::nest("/tasks", …)` → `"/tasks"`),
    /// for the links and forms of its pages. Default: the root.
    pub fn base_path(mut self, path: impl Into<String>) -> Self {
        self.settings.base_path = path.into().trim_end_matches('/').to_owned();
        self
    }

    /// Tasks per page, between 1 and [`MAX_PAGE_SIZE`].
    pub fn page_size(mut self, size: usize) -> Self {
        self.settings.page_size = size.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// How old a list's kept counts may be before a page counts the list
    /// again, in the background ([`DEFAULT_COUNT_EVERY`]). A list whose
    /// count takes long is counted at most every ten times as long as its
    /// count took, whatever this says.
    pub fn count_every(mut self, every: Duration) -> Self {
        self.settings.count_every = every;
        self
    }

    /// The routes, to serve or to nest in an application's router.
    pub fn router(self) -> Router {
        let app = Arc::new(App {
            store: self.store,
            settings: self.settings,
            counting: counts::Counting::default(),
        });
        Router::new()
            .route("/", get(views::overview))
            .route("/live.json", get(views::live))
            .route("/search", get(views::search))
            .route("/sign-in", get(actions::sign_in))
            .route("/lists/{list}", get(views::list))
            .route("/lists/{list}/failed", get(views::failed))
            .route("/lists/{list}/failed/{action}", post(actions::failed))
            .route("/lists/{list}/tasks/{id}", get(views::task))
            .route("/lists/{list}/tasks/{id}/{action}", post(actions::task))
            .route("/lists/{list}/{action}", post(actions::list))
            .route("/assets/style.css", get(style))
            .route("/assets/live.js", get(script))
            .with_state(app)
    }
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", html::STYLE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", html::SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// An error of the store, as a page: bad input is the request's fault
/// (400), what the adapter cannot do is 501, the rest is the server's (500,
/// logged).
pub(crate) struct Failure(taskrec::Error);

impl From<taskrec::Error> for Failure {
    fn from(error: taskrec::Error) -> Self {
        Failure(error)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        use taskrec::Error;
        let status = match &self.0 {
            Error::InvalidTaskList { .. }
            | Error::InvalidId { .. }
            | Error::InvalidPageToken { .. }
            | Error::InvalidPausedBy { .. } => StatusCode::BAD_REQUEST,
            Error::Unsupported { .. } => StatusCode::NOT_IMPLEMENTED,
            _ => {
                tracing::error!(
                    target: "taskrec_web",
                    error = &self.0 as &(dyn std::error::Error + 'static),
                    "a dashboard request failed"
                );
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = error_chain(&self.0);
        (status, plain_page("Something went wrong", &message)).into_response()
    }
}

/// A page with a heading and a message, outside the frame: for errors,
/// which must render whatever the settings.
pub(crate) fn plain_page(title: &str, message: &str) -> maud::Markup {
    maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (title) " · taskrec" } }
            body { h1 { (title) } p.error { (message) } }
        }
    }
}

/// An error and its sources, `: `-separated, as one line.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
