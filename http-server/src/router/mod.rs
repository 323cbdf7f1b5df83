//! Routing and handler stacks: a [`Router`] is a [`Handler`] made of handlers.
//!
//! A request goes through:
//!
//! ```text
//!  Request ─▶ normalize path ─▶ rewriters ─▶ before stack ─▶ route ─▶ content handler ─▶ Response
//!             (%61→a, /./, /../)              (/, /a, /a/b …)                   │
//!                                                 │ Flow::Respond: deny, redirect    │
//!                                                 └──────────────────────────────────┤
//!                                   after stack, once the body was written ◀─────────┘
//! ```
//!
//! - Routes: exact paths (`/about`), parameters (`/users/:id`), mounts (`/static/*`) and a
//!   [fallback](Router::fallback); `404`, `405` with `Allow`, `HEAD` served by `GET`
//!   routes, `OPTIONS` answered with `Allow`. Routes compile into a segment trie: a
//!   match walks the path once and allocates nothing.
//! - Every route is a plain [`Handler`]: a closure `|req: Request| async { .. }` returning
//!   anything [`IntoResponse`](crate::IntoResponse). The matched parameters are on the
//!   request: [`Request::param`] (decoded), [`Request::param_raw`], [`Request::params`],
//!   [`Request::rest`].
//! - Application state: [`Router::state`] shares a value with every request, read by type
//!   with [`Request::state`]; no cloning by hand.
//! - [Rewriters](Router::rewrite) may change the routing path. [Before](Router::before)
//!   handlers are stacked by path prefix from `/` down to the deepest matching prefix; each
//!   returns a [`Flow`]: continue, respond (deny), or replace the content handler.
//!   [After](Router::after) handlers get a [`Completed`] record (status, bytes, duration)
//!   once the response body was written.
//! - Typed per-request data: [`Request::insert_extension`] / [`Request::extension`].
//! - A panic (or an error result) in any handler answers `500` for that request only.
//! - [`SwappableRouter`] replaces the whole table while serving: requests already routed
//!   finish on the old table.
//! - Helpers: [`basic_auth`], [`BasicAuth`], [`cookies`], [`SetCookie`], [`redirect`],
//!   [`Files`] (static files with content types, conditional GET, ranges, no traversal),
//!   and `Json` with the `serde` feature.
//!
//! Paths are normalized before anything else (RFC 3986 §6.2.2: percent-encoded
//! unreserved characters decoded, `.` and `..` segments removed; a `..` above the root is a
//! `400`), so a before handler on `/admin` also guards `/%61dmin` and `/x/../admin`.
//!
//! Handlers are tested without a socket with [`testing`](crate::testing). Coming from
//! another framework? See [`coming_from_poe`].
//!
//! # Examples
//!
//! ```no_run
//! use h1_server::router::{BasicAuth, Files, Router};
//! use h1_server::{Request, Server};
//!
//! # fn main() -> std::io::Result<()> { smol::block_on(async {
//! let mut router = Router::new();
//! router
//!     .get("/", |_req: Request| async { "home\n" })
//!     .get("/users/:id", |req: Request| async move {
//!         format!("user {}\n", req.param("id").unwrap_or_default())
//!     })
//!     .get("/static/*", Files::new("./public")?)
//!     .before("/admin", BasicAuth::new("admin", |user, pass| user == "root" && pass == "s3cret"))
//!     .get("/admin", |_req: Request| async { "welcome\n" })
//!     .after("/", |done: &h1_server::router::Completed| {
//!         log::info!("{} {} {} {}B {:?}", done.method, done.target, done.status, done.bytes, done.duration);
//!     });
//! let handle = Server::bind("127.0.0.1:8080").await?.serve(router);
//! # let _ = handle; Ok(()) }) }
//! ```

mod auth;
pub mod coming_from_poe;
mod cookie;
mod files;
mod respond;
mod stack;
mod swap;
mod trie;

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_lite::FutureExt;

use crate::{Handler, Request, Response, RouteMatch, State};
use respond::{allow_value, internal_error};
use stack::{AfterFn, BoxFut, ErasedBefore};
use trie::{Node, Prefix};

pub use auth::{AuthUser, BasicAuth, basic_auth, unauthorized};
pub use cookie::{SameSite, SetCookie, cookie, cookies};
pub use files::Files;
pub use respond::{Redirect, redirect};
#[cfg(feature = "serde")]
pub use respond::{json, read_json};
pub use stack::{Before, BoxHandler, Completed, Flow};
pub use swap::{RouterHandle, SwappableRouter};

/// A routing table with handler stacks; a [`Handler`].
///
/// Build it with `&mut self` methods (each returns `&mut Self` to chain), then serve it,
/// or put it in a [`SwappableRouter`] to replace it while serving. `Clone` copies the
/// table (handlers are shared), the way to edit a copy of a live table.
///
/// Routes: `/a/b` (exact; `/a/b/` is another path), `/users/:id` (a parameter: one
/// non-empty segment), `/static/*` (a mount: `/static` and everything below). A static
/// segment is preferred over a parameter, a parameter over a mount.
///
/// # Panics
///
/// The route and stack methods panic on a malformed pattern (not starting with `/`, `*`
/// not last, more than [`MAX_PARAMS`](crate::MAX_PARAMS) parameters, two parameter names at one position):
/// a programming error found at startup.
///
/// ```
/// use h1_server::router::Router;
/// use h1_server::Request;
///
/// let mut router = Router::new();
/// router.get("/users/:id", |req: Request| async move {
///     format!("user {}\n", req.param("id").unwrap_or_default())
/// });
/// assert!(router.recognizes("/users/7"));
/// assert!(!router.recognizes("/users"));
/// ```
#[derive(Clone, Default)]
pub struct Router {
    routes: Node<Methods>,
    before: Prefix<Arc<dyn ErasedBefore>>,
    after: Prefix<AfterFn>,
    rewriters: Vec<Rewriter>,
    fallback: Option<BoxHandler>,
    state: Option<Arc<State>>,
}

type Rewriter = Arc<dyn Fn(&mut Request) + Send + Sync>;

/// The handlers of one route pattern, by method.
#[derive(Clone)]
struct Methods {
    names: Arc<[Box<str>]>,
    entries: Vec<(Box<str>, BoxHandler)>,
    any: Option<BoxHandler>,
    /// The `Allow` value, kept up to date as methods are added.
    allow: Box<str>,
}

impl Router {
    /// An empty table: every request is a `404`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answer `method` requests for `pattern` with `handler` (replacing an earlier one).
    ///
    /// # Panics
    ///
    /// On a malformed pattern (see [`Router`]).
    pub fn route(&mut self, method: &str, pattern: &str, handler: impl Handler) -> &mut Self {
        self.add(Some(method), pattern, BoxHandler::new(handler))
    }

    /// Answer requests of any method for `pattern` with `handler` (no `405` here).
    ///
    /// # Panics
    ///
    /// On a malformed pattern (see [`Router`]).
    pub fn any(&mut self, pattern: &str, handler: impl Handler) -> &mut Self {
        self.add(None, pattern, BoxHandler::new(handler))
    }

    /// [`route`](Self::route) for `GET` (and so `HEAD`).
    pub fn get(&mut self, pattern: &str, handler: impl Handler) -> &mut Self {
        self.route("GET", pattern, handler)
    }

    /// [`route`](Self::route) for `POST`.
    pub fn post(&mut self, pattern: &str, handler: impl Handler) -> &mut Self {
        self.route("POST", pattern, handler)
    }

    /// [`route`](Self::route) for `PUT`.
    pub fn put(&mut self, pattern: &str, handler: impl Handler) -> &mut Self {
        self.route("PUT", pattern, handler)
    }

    /// [`route`](Self::route) for `DELETE`.
    pub fn delete(&mut self, pattern: &str, handler: impl Handler) -> &mut Self {
        self.route("DELETE", pattern, handler)
    }

    /// [`route`](Self::route) for `PATCH`.
    pub fn patch(&mut self, pattern: &str, handler: impl Handler) -> &mut Self {
        self.route("PATCH", pattern, handler)
    }

    /// Answer requests no route matches (default: `404 not found`). Before handlers run
    /// first, as for any request.
    pub fn fallback(&mut self, handler: impl Handler) -> &mut Self {
        self.fallback = Some(BoxHandler::new(handler));
        self
    }

    /// Share `value` with every request this router answers, read by type with
    /// [`Request::state`] (or [`Request::state_arc`] to move it into a task). Stored once
    /// behind an `Arc`: a request costs one reference-count increment, whatever the
    /// number of values, and nothing when the router has no state. A second value of the
    /// same type replaces the first.
    ///
    /// ```
    /// use h1_server::router::Router;
    /// use h1_server::{Request, testing::TestRequest};
    ///
    /// struct Config { greeting: String }
    ///
    /// let mut router = Router::new();
    /// router
    ///     .state(Config { greeting: "hello".into() })
    ///     .get("/", |req: Request| async move {
    ///         format!("{}\n", req.state::<Config>().unwrap().greeting)
    ///     });
    /// assert_eq!(TestRequest::get("/").call_blocking(&router).text_blocking(), "hello\n");
    /// ```
    pub fn state<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        self.state_arc(Arc::new(value))
    }

    /// [`state`](Self::state) with a value already shared (the application keeps a
    /// handle too).
    pub fn state_arc<T: Send + Sync + 'static>(&mut self, value: Arc<T>) -> &mut Self {
        let state = self.state.get_or_insert_with(Default::default);
        Arc::make_mut(state).insert_arc(value);
        self
    }

    /// Add a rewriter: runs on every request before the stacks are chosen, in the order
    /// added, and may change the routing path with [`Request::set_route_path`].
    ///
    /// ```
    /// # let mut router = h1_server::router::Router::new();
    /// // Old URLs keep working.
    /// router.rewrite(|req| {
    ///     if let Some(rest) = req.route_path().strip_prefix("/old/") {
    ///         let new = format!("/new/{rest}");
    ///         req.set_route_path(new);
    ///     }
    /// });
    /// ```
    pub fn rewrite(
        &mut self,
        rewriter: impl Fn(&mut Request) + Send + Sync + 'static,
    ) -> &mut Self {
        self.rewriters.push(Arc::new(rewriter));
        self
    }

    /// Stack a before handler on `prefix` (whole segments: `/admin` covers `/admin` and
    /// `/admin/x`, not `/administrator`). A request runs the handlers of `/`, then of each
    /// deeper matching prefix, each prefix's in the order added.
    ///
    /// # Panics
    ///
    /// If `prefix` does not start with `/`.
    pub fn before(&mut self, prefix: &str, handler: impl Before) -> &mut Self {
        let handler: Arc<dyn ErasedBefore> = Arc::new(handler);
        if let Err(e) = self.before.add(prefix, handler) {
            panic!("{e}");
        }
        self
    }

    /// Stack an after handler on `prefix` (as [`before`](Self::before)): it runs once
    /// the response body was written to the connection, or when the response was dropped
    /// unsent (then [`Completed::finished`] is false). It runs in the connection's task
    /// and cannot await: to do slow work, send the record to a channel or spawn a task.
    ///
    /// Responses of a path with after handlers get a final flush of their own (one more
    /// write), so that "written" means written.
    ///
    /// # Panics
    ///
    /// If `prefix` does not start with `/`.
    pub fn after(
        &mut self,
        prefix: &str,
        handler: impl Fn(&Completed) + Send + Sync + 'static,
    ) -> &mut Self {
        let handler: AfterFn = Arc::new(handler);
        if let Err(e) = self.after.add(prefix, handler) {
            panic!("{e}");
        }
        self
    }

    /// Whether some route matches `path` (any method), ignoring the fallback.
    pub fn recognizes(&self, path: &str) -> bool {
        let path = match trie::normalize(path) {
            Ok(Some(p)) => return self.routes.lookup(&p).is_some(),
            Ok(None) => path,
            Err(()) => return false,
        };
        self.routes.lookup(path).is_some()
    }

    fn add(&mut self, method: Option<&str>, pattern: &str, endpoint: BoxHandler) -> &mut Self {
        let segs = match trie::parse_pattern(pattern) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let names = trie::param_names(&segs);
        let slot = match self.routes.slot(&segs) {
            Ok(s) => s,
            Err(e) => panic!("route {pattern:?}: {e}"),
        };
        let methods = slot.get_or_insert_with(|| Methods {
            names,
            entries: Vec::new(),
            any: None,
            allow: "".into(),
        });
        match method {
            None => methods.any = Some(endpoint),
            Some(m) => match methods.entries.iter_mut().find(|(n, _)| &**n == m) {
                Some(entry) => entry.1 = endpoint,
                None => methods.entries.push((m.into(), endpoint)),
            },
        }
        methods.allow = allow_value(methods.entries.iter().map(|(m, _)| &**m)).into();
        self
    }

    /// Route and answer one request: the whole pipeline.
    ///
    /// Everything up to the choice of the content handler runs here, synchronously, when
    /// the path has no before handler (the usual case): the returned future is then just
    /// the content handler's boxed future, with no state machine of the router's around it.
    fn serve(&self, mut cx: Request) -> Serve<'_> {
        let started = Instant::now();
        if let Some(state) = &self.state {
            cx.set_state(state.clone());
        }
        let mut early = None;
        match trie::normalize(cx.path()) {
            Ok(None) => {}
            Ok(Some(p)) => cx.set_route_path(p),
            Err(()) => early = Some(Response::text(400, "bad path\n")),
        }
        if early.is_none() && !self.rewriters.is_empty() {
            let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
                for rewrite in &self.rewriters {
                    rewrite(&mut cx);
                }
            }));
            if run.is_err() {
                log::error!("a rewriter panicked; answering 500");
                early = Some(internal_error());
            }
        }
        // One look at the path for the stacks and (without before handlers) the route.
        let path = cx.route_path();
        let hooks = self.after.find(path);
        let routed_now = early.is_none() && self.before.find(path).is_empty();
        let found = if routed_now {
            self.routes.lookup(path)
        } else {
            None
        };
        let tracking = (!hooks.is_empty()).then(|| {
            Box::new(Tracking {
                hooks: hooks.clone(),
                record: Completed {
                    method: cx.method().to_owned(),
                    target: cx.target().to_owned(),
                    status: 0,
                    bytes: 0,
                    duration: Default::default(),
                    finished: false,
                },
                is_head: cx.method() == "HEAD",
                started,
            })
        });
        let inner = match early {
            Some(r) => Inner::Ready(Some(r)),
            None if routed_now => match self.select_found(found, cx) {
                Selected::Endpoint(endpoint, cx) => start(endpoint, cx),
                Selected::Answer(r) => Inner::Ready(Some(r)),
            },
            None => Inner::Future(Box::pin(self.dispatch(cx))),
        };
        Serve { inner, tracking }
    }

    /// The before stack, then the content handler (when the path has before handlers).
    async fn dispatch(&self, mut cx: Request) -> Response {
        let mut replaced = None;
        for handler in self.before.find(cx.route_path()).iter() {
            match AssertUnwindSafe(handler.call_boxed(cx))
                .catch_unwind()
                .await
            {
                Ok(Flow::Continue(c)) => cx = c,
                Ok(Flow::Respond(r)) => return r,
                Ok(Flow::Replace(c, e)) => {
                    cx = c;
                    replaced = Some(e);
                }
                Err(_) => {
                    log::error!("a before handler panicked; answering 500");
                    return internal_error();
                }
            }
        }
        let (endpoint, cx) = match &replaced {
            Some(endpoint) => (endpoint, cx),
            None => match self.select(cx) {
                Selected::Endpoint(endpoint, cx) => (endpoint, cx),
                Selected::Answer(r) => return r,
            },
        };
        match AssertUnwindSafe(endpoint.0.call_boxed(cx))
            .catch_unwind()
            .await
        {
            Ok(r) => r,
            Err(_) => {
                log::error!("a content handler panicked; answering 500");
                internal_error()
            }
        }
    }

    /// The content handler for the request (its parameters stored in `cx`), or the
    /// router's own answer: `404`, `405`, `OPTIONS`.
    fn select(&self, cx: Request) -> Selected<'_> {
        let found = self.routes.lookup(cx.route_path());
        self.select_found(found, cx)
    }

    /// [`select`](Self::select) with the route already looked up.
    fn select_found<'a>(
        &'a self,
        found: Option<trie::Found<'a, Methods>>,
        mut cx: Request,
    ) -> Selected<'a> {
        let Some(found) = found else {
            if cx.route_path() == "*" && cx.method() == "OPTIONS" {
                return Selected::Answer(self.options_asterisk());
            }
            return match &self.fallback {
                Some(endpoint) => Selected::Endpoint(endpoint, cx),
                None => Selected::Answer(Response::text(404, "not found\n")),
            };
        };
        let methods = found.value;
        let names = (found.len > 0).then(|| methods.names.clone());
        cx.set_route_match(RouteMatch {
            names,
            ranges: found.ranges,
            len: found.len,
            rest: found.rest,
        });
        match methods.select(cx.method()) {
            Some(endpoint) => Selected::Endpoint(endpoint, cx),
            None if cx.method() == "OPTIONS" => {
                Selected::Answer(Response::empty(204).header("Allow", &*methods.allow))
            }
            None => Selected::Answer(
                Response::text(405, "method not allowed\n").header("Allow", &*methods.allow),
            ),
        }
    }

    /// `OPTIONS *`: every method some route answers.
    fn options_asterisk(&self) -> Response {
        let all = self.routes.values();
        let mut names: Vec<&str> = all
            .iter()
            .flat_map(|m| m.entries.iter().map(|(n, _)| &**n))
            .collect();
        names.sort_unstable();
        names.dedup();
        Response::empty(204).header("Allow", allow_value(names.into_iter()))
    }
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("routes", &self.routes.values().len())
            .field("has_before", &!self.before.is_empty())
            .field("has_after", &!self.after.is_empty())
            .field("rewriters", &self.rewriters.len())
            .finish_non_exhaustive()
    }
}

impl Handler for Router {
    type Output = Response;

    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        self.serve(req)
    }
}

impl Methods {
    fn select(&self, method: &str) -> Option<&BoxHandler> {
        let find = |m: &str| self.entries.iter().find(|(n, _)| &**n == m).map(|(_, e)| e);
        find(method)
            .or_else(|| if method == "HEAD" { find("GET") } else { None })
            .or(self.any.as_ref())
    }
}

/// The future [`Router`] answers with: the content handler's boxed future (or the whole
/// pipeline's, with before handlers), a panic in it becoming a `500`, and the response
/// wrapped for the after handlers.
struct Serve<'a> {
    inner: Inner<'a>,
    tracking: Option<Box<Tracking>>,
}

enum Inner<'a> {
    Ready(Option<Response>),
    Future(BoxFut<'a, Response>),
}

/// What the after handlers of a request need.
struct Tracking {
    hooks: Arc<[AfterFn]>,
    record: Completed,
    is_head: bool,
    started: Instant,
}

/// The outcome of routing: a content handler to run, or the router's own answer.
enum Selected<'a> {
    Endpoint(&'a BoxHandler, Request),
    Answer(Response),
}

/// Start a content handler (a panic while creating its future is a `500` too).
fn start(endpoint: &BoxHandler, cx: Request) -> Inner<'_> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| endpoint.0.call_boxed(cx))) {
        Ok(fut) => Inner::Future(fut),
        Err(_) => {
            log::error!("a content handler panicked; answering 500");
            Inner::Ready(Some(internal_error()))
        }
    }
}

impl Future for Serve<'_> {
    type Output = Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        let this = self.get_mut();
        let response = match &mut this.inner {
            Inner::Ready(r) => r.take().unwrap_or_else(internal_error),
            Inner::Future(fut) => {
                match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(r)) => r,
                    Err(_) => {
                        log::error!("a content handler panicked; answering 500");
                        internal_error()
                    }
                }
            }
        };
        // Drop the handler's future (and what it holds) before the response goes out.
        this.inner = Inner::Ready(None);
        Poll::Ready(match this.tracking.take() {
            None => response,
            Some(t) => {
                let Tracking {
                    hooks,
                    mut record,
                    is_head,
                    started,
                } = *t;
                let status = response.status();
                record.status = status;
                let quiet = is_head || status < 200 || status == 204 || status == 304;
                stack::track(response, hooks, record, started, quiet)
            }
        })
    }
}

#[cfg(test)]
mod tests;
