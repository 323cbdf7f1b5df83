//! What a [`Request`] carries beyond the wire: typed per-request data ([`Extensions`]),
//! the application state a router shares ([`State`]), and the route that matched (path
//! parameters, the `*` rest, a rewritten routing path).
//!
//! None of it allocates until used: an empty [`Extensions`] is an empty `Vec`, state is
//! one `Arc` shared by every request, parameters are byte ranges of the path.

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::Request;
use crate::form::decode_path_segment;

/// The most path parameters one route may have.
pub const MAX_PARAMS: usize = 8;

/// A map from type to one value of that type: typed per-request data.
///
/// A before handler stores the authenticated user or a parsed session; later handlers
/// read it by type ([`Request::extension`]). Entries are few, so they are kept in a
/// small vector (no hashing, no allocation until the first insert).
///
/// ```
/// let mut ext = h1_server::Extensions::new();
/// ext.insert(42u32);
/// ext.insert("session");
/// assert_eq!(ext.get::<u32>(), Some(&42));
/// assert_eq!(ext.insert(7u32), Some(42));
/// assert_eq!(ext.remove::<&str>(), Some("session"));
/// assert!(ext.get::<&str>().is_none());
/// ```
#[derive(Default)]
pub struct Extensions {
    entries: Vec<(TypeId, Box<dyn Any + Send + Sync>)>,
}

/// Application state shared by every request: one value per type, each behind an
/// `Arc`. A router (`router::Router`) hands it to each request it routes (one
/// reference-count increment, never a copy of the values); handlers read it with
/// [`Request::state`].
///
/// ```
/// use std::sync::Arc;
/// use h1_server::State;
///
/// let mut state = State::new();
/// state.insert(String::from("db"));
/// assert_eq!(state.get::<String>().map(String::as_str), Some("db"));
/// let shared: Arc<String> = state.get_arc().unwrap();
/// assert_eq!(*shared, "db");
/// ```
#[derive(Clone, Default)]
pub struct State {
    entries: Vec<(TypeId, Arc<dyn Any + Send + Sync>)>,
}

/// The route that matched a request: parameters as byte ranges of the routing path.
#[derive(Clone, Default)]
pub(crate) struct Route {
    /// The routing path when a rewriter changed it (or normalization decoded it).
    pub(crate) path: Option<String>,
    pub(crate) names: Option<Arc<[Box<str>]>>,
    pub(crate) ranges: [(u32, u32); MAX_PARAMS],
    pub(crate) len: usize,
    /// Where the part matched by a `*` mount starts in the routing path.
    pub(crate) rest: Option<usize>,
}

impl Extensions {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Store `value`, returning the `T` stored before, if any.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        let id = TypeId::of::<T>();
        match self.entries.iter_mut().find(|(t, _)| *t == id) {
            Some((_, slot)) => {
                let old = std::mem::replace(slot, Box::new(value));
                old.downcast::<T>().ok().map(|b| *b)
            }
            None => {
                self.entries.push((id, Box::new(value)));
                None
            }
        }
    }

    /// The stored `T`.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        let id = TypeId::of::<T>();
        self.entries
            .iter()
            .find(|(t, _)| *t == id)
            .and_then(|(_, v)| v.downcast_ref())
    }

    /// The stored `T`, to change it.
    pub fn get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        let id = TypeId::of::<T>();
        self.entries
            .iter_mut()
            .find(|(t, _)| *t == id)
            .and_then(|(_, v)| v.downcast_mut())
    }

    /// Take the stored `T` out.
    pub fn remove<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        let id = TypeId::of::<T>();
        let i = self.entries.iter().position(|(t, _)| *t == id)?;
        self.entries
            .swap_remove(i)
            .1
            .downcast::<T>()
            .ok()
            .map(|b| *b)
    }

    /// Whether a `T` is stored.
    pub fn contains<T: Send + Sync + 'static>(&self) -> bool {
        self.get::<T>().is_some()
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.entries.len())
            .finish()
    }
}

impl State {
    /// No state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Store `value` as the `T` (replacing an earlier one).
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        self.insert_arc(Arc::new(value))
    }

    /// Store an already shared `T` (replacing an earlier one).
    pub fn insert_arc<T: Send + Sync + 'static>(&mut self, value: Arc<T>) -> &mut Self {
        let id = TypeId::of::<T>();
        self.entries.retain(|(t, _)| *t != id);
        self.entries.push((id, value));
        self
    }

    /// The stored `T`.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.find::<T>().and_then(|v| v.downcast_ref())
    }

    /// The stored `T`, shared (to move into a task).
    pub fn get_arc<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.find::<T>().and_then(|v| v.clone().downcast().ok())
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find<T: 'static>(&self) -> Option<&Arc<dyn Any + Send + Sync>> {
        let id = TypeId::of::<T>();
        self.entries.iter().find(|(t, _)| *t == id).map(|(_, v)| v)
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("len", &self.entries.len())
            .finish()
    }
}

/// Route parameters, typed data and state.
impl Request {
    /// The value of path parameter `name` (`:name` in the route), percent-decoded (`+`
    /// stays `+`; invalid UTF-8 becomes U+FFFD). Borrowed when there was nothing to
    /// decode. See [`param_raw`](Self::param_raw) for the value as sent.
    ///
    /// ```
    /// # #[cfg(feature = "router")] {
    /// use h1_server::router::Router;
    /// use h1_server::{Request, testing::TestRequest};
    ///
    /// let mut router = Router::new();
    /// router.get("/users/:name", |req: Request| async move {
    ///     format!("{} ({})\n", req.param("name").unwrap(), req.param_raw("name").unwrap())
    /// });
    /// let mut r = TestRequest::get("/users/J%C3%B6rg").call_blocking(&router);
    /// assert_eq!(r.text_blocking(), "Jörg (J%C3%B6rg)\n");
    /// # }
    /// ```
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        let raw = self.param_raw(name)?;
        if raw.contains('%') {
            Some(Cow::Owned(decode_path_segment(raw)))
        } else {
            Some(Cow::Borrowed(raw))
        }
    }

    /// The value of path parameter `name` as sent (still percent-encoded).
    pub fn param_raw(&self, name: &str) -> Option<&str> {
        let route = self.route.as_deref()?;
        let names = route.names.as_ref()?;
        let i = names.iter().take(route.len).position(|n| &**n == name)?;
        let (a, b) = route.ranges[i];
        self.route_path().get(a as usize..b as usize)
    }

    /// The parameters of the matched route, in order, as sent (not decoded).
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        let path = self.route_path();
        let (names, ranges) = match self.route.as_deref() {
            Some(route) => (
                route.names.as_deref().unwrap_or(&[]),
                &route.ranges[..route.len],
            ),
            None => (&[][..], &[][..]),
        };
        names
            .iter()
            .zip(ranges)
            .map(move |(n, &(a, b))| (&**n, path.get(a as usize..b as usize).unwrap_or("")))
    }

    /// What a `*` mount matched: the rest of the path after the mount point, from its
    /// `/` (`/a/b` for `/static/a/b` under `/static/*`; empty for `/static` itself).
    /// `None` when no route with a `*` matched.
    pub fn rest(&self) -> Option<&str> {
        let at = self.route.as_deref()?.rest?;
        self.route_path().get(at..)
    }

    /// The path the router routes by: the request's [`path`](Self::path), normalized
    /// (percent-encoded unreserved characters decoded, `.` and `..` segments resolved)
    /// and changed by rewriters.
    pub fn route_path(&self) -> &str {
        self.route
            .as_deref()
            .and_then(|r| r.path.as_deref())
            .unwrap_or_else(|| self.path())
    }

    /// Change the routing path (for a router's rewriters). Parameters of an earlier match
    /// are forgotten.
    pub fn set_route_path(&mut self, path: impl Into<String>) {
        self.route = Some(Box::new(Route {
            path: Some(path.into()),
            ..Route::default()
        }));
    }

    /// Whether the routing path differs from the request's path.
    pub fn is_rewritten(&self) -> bool {
        self.route.as_deref().is_some_and(|r| r.path.is_some())
    }

    /// The typed per-request data.
    pub fn extensions(&self) -> &Extensions {
        &self.ext
    }

    /// The typed per-request data, to change it.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.ext
    }

    /// This request's `T`, if a handler stored one.
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.ext.get()
    }

    /// Store `value` as this request's `T`, returning the one stored before.
    pub fn insert_extension<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        self.ext.insert(value)
    }

    /// The application state of type `T` (given to a router with `Router::state`, or
    /// set with [`set_state`](Self::set_state)), if any.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use h1_server::{Request, testing::TestRequest};
    ///
    /// struct Hits(AtomicU64);
    ///
    /// let handler = |req: Request| async move {
    ///     let hits = req.state::<Hits>().unwrap();
    ///     format!("{}\n", hits.0.fetch_add(1, Ordering::Relaxed) + 1)
    /// };
    /// let mut r = TestRequest::get("/").state(Hits(AtomicU64::new(1))).call_blocking(&handler);
    /// assert_eq!(r.text_blocking(), "2\n");
    /// ```
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.state.as_ref()?.get()
    }

    /// The application state of type `T`, shared: to move into a spawned task.
    pub fn state_arc<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.state.as_ref()?.get_arc()
    }

    /// Replace the application state (routers do this; so can a test).
    pub fn set_state(&mut self, state: Arc<State>) {
        self.state = Some(state);
    }

    /// Record the route that matched (what a router does before it calls the route's
    /// handler): the parameters and the `*` rest as positions in the
    /// [routing path](Self::route_path), read back with [`param`](Self::param),
    /// [`params`](Self::params) and [`rest`](Self::rest).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use h1_server::{RouteMatch, testing::TestRequest};
    ///
    /// let mut req = TestRequest::get("/users/42/files/a/b").build();
    /// let mut m = RouteMatch::default();
    /// m.names = Some(Arc::from(vec![Box::from("id")]));
    /// m.ranges[0] = (7, 9);
    /// m.len = 1;
    /// m.rest = Some(15);
    /// req.set_route_match(m);
    /// assert_eq!(req.param("id").as_deref(), Some("42"));
    /// assert_eq!(req.rest(), Some("/a/b"));
    /// ```
    pub fn set_route_match(&mut self, matched: RouteMatch) {
        let RouteMatch {
            names,
            ranges,
            len,
            rest,
        } = matched;
        let route = self.route.get_or_insert_with(Box::default);
        route.names = names;
        route.ranges = ranges;
        route.len = len.min(MAX_PARAMS);
        route.rest = rest;
    }
}

/// A matched route, for [`Request::set_route_match`]: the parameter names and their byte
/// ranges in the routing path, and where a `*` mount's rest starts. Out-of-range
/// positions read as empty parameters (and no rest), never a panic.
#[derive(Debug, Clone, Default)]
pub struct RouteMatch {
    /// The parameter names in route order (shared by every request the route matches).
    pub names: Option<Arc<[Box<str>]>>,
    /// `ranges[i]`: the byte range (start, end) of parameter `names[i]`.
    pub ranges: [(u32, u32); MAX_PARAMS],
    /// How many parameters matched (at most [`MAX_PARAMS`]).
    pub len: usize,
    /// Where the part matched by a `*` mount starts (its `/`).
    pub rest: Option<usize>,
}
