//! [`RequestContext`]: the request as the router's handlers see it, with its path
//! parameters, its (possibly rewritten) path and typed per-request data ([`Extensions`]).

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::{Error, Form, Request, RequestBody};

/// The most path parameters one route may have.
pub const MAX_PARAMS: usize = 8;

/// A request on its way through a [`Router`](super::Router): the [`Request`], the path
/// used for routing (rewritable by [rewriters](super::Router::rewrite)), the parameters of
/// the matched route and a type map of per-request data.
///
/// Handlers take it by value; a before handler gives it back inside
/// [`Flow::Continue`](super::Flow::Continue).
///
/// ```
/// use http_server::router::{Flow, RequestContext, Router};
/// use http_server::Response;
///
/// /// Set by a before handler, read by the content handler.
/// struct User(String);
///
/// let mut router = Router::new();
/// router.before("/", |mut cx: RequestContext| async move {
///     cx.insert(User("ann".into()));
///     Flow::Continue(cx)
/// });
/// router.get("/users/:id", |cx: RequestContext| async move {
///     let me = cx.get::<User>().map_or("?", |u| u.0.as_str());
///     Response::text(200, format!("{me} asks for user {}\n", cx.param("id").unwrap_or("")))
/// });
/// ```
pub struct RequestContext {
    req: Request,
    /// The routing path when a rewriter changed it (or normalization decoded it).
    path: Option<String>,
    pub(crate) params: Params,
    /// Where the part matched by a `*` mount starts in the path.
    pub(crate) rest: Option<usize>,
    ext: Extensions,
}

/// The parameter values of the matched route, as byte ranges of the routing path.
#[derive(Clone, Default)]
pub(crate) struct Params {
    pub(crate) names: Option<Arc<[Box<str>]>>,
    pub(crate) ranges: [(u32, u32); MAX_PARAMS],
    pub(crate) len: usize,
}

/// A map from type to one value of that type: typed per-request data.
///
/// A before handler stores the authenticated user or a parsed session; later handlers
/// read it by type. Entries are few, so they are kept in a small vector (no hashing, no
/// allocation until the first insert).
///
/// ```
/// let mut ext = http_server::router::Extensions::new();
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

impl RequestContext {
    /// Wrap a request (the router does this; useful to call handlers in tests).
    pub fn new(req: Request) -> Self {
        Self {
            req,
            path: None,
            params: Params::default(),
            rest: None,
            ext: Extensions::new(),
        }
    }

    /// The request.
    pub fn request(&self) -> &Request {
        &self.req
    }

    /// The request, to read its body.
    pub fn request_mut(&mut self) -> &mut Request {
        &mut self.req
    }

    /// The request, dropping the routing data.
    pub fn into_request(self) -> Request {
        self.req
    }

    /// The request and the typed data.
    pub fn into_parts(self) -> (Request, Extensions) {
        (self.req, self.ext)
    }

    /// The method, such as `GET`.
    pub fn method(&self) -> &str {
        self.req.method()
    }

    /// The routing path: the request's path, normalized (percent-encoded unreserved
    /// characters decoded, `.` and `..` segments resolved) and changed by rewriters.
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or_else(|| self.req.path())
    }

    /// Change the routing path (for rewriters: request translation). Parameters of an
    /// earlier match are forgotten.
    pub fn set_path(&mut self, path: impl Into<String>) {
        self.path = Some(path.into());
        self.params = Params::default();
        self.rest = None;
    }

    /// Whether the routing path differs from the request's path.
    pub fn is_rewritten(&self) -> bool {
        self.path.is_some()
    }

    /// The value of path parameter `name` (`:name` in the route), as sent (still
    /// percent-encoded; see [`param_decoded`](Self::param_decoded)).
    pub fn param(&self, name: &str) -> Option<&str> {
        let names = self.params.names.as_ref()?;
        let i = names[..self.params.len].iter().position(|n| &**n == name)?;
        let (a, b) = self.params.ranges[i];
        self.path().get(a as usize..b as usize)
    }

    /// The value of path parameter `name`, percent-decoded (`+` stays `+`).
    pub fn param_decoded(&self, name: &str) -> Option<Cow<'_, str>> {
        let raw = self.param(name)?;
        if raw.contains('%') {
            Some(Cow::Owned(decode_path_segment(raw)))
        } else {
            Some(Cow::Borrowed(raw))
        }
    }

    /// The parameters of the matched route, in order, as sent.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        let path = self.path();
        let names = self.params.names.as_deref().unwrap_or(&[]);
        names
            .iter()
            .zip(&self.params.ranges[..self.params.len])
            .map(move |(n, &(a, b))| (&**n, path.get(a as usize..b as usize).unwrap_or("")))
    }

    /// What a `*` mount matched: the rest of the path after the mount point, from its
    /// `/` (`/a/b` for `/static/a/b` under `/static/*`; empty for `/static` itself).
    /// `None` when the route has no `*`.
    pub fn rest(&self) -> Option<&str> {
        let at = self.rest?;
        self.path().get(at..)
    }

    /// The query decoded as urlencoded pairs (empty without a query).
    pub fn query(&self) -> Form {
        self.req.query_pairs()
    }

    /// The first value of header `name` (case-insensitive), if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.req.header(name)
    }

    /// The request body.
    pub fn body_mut(&mut self) -> &mut RequestBody {
        self.req.body_mut()
    }

    /// Read the whole body, at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// As [`Request::bytes`].
    pub async fn bytes(&mut self, limit: u64) -> Result<bytes::Bytes, Error> {
        self.req.bytes(limit).await
    }

    /// The typed per-request data.
    pub fn extensions(&self) -> &Extensions {
        &self.ext
    }

    /// The typed per-request data, to change it.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.ext
    }

    /// Store `value` as this request's `T` (see [`Extensions::insert`]).
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        self.ext.insert(value)
    }

    /// This request's `T`, if a handler stored one.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.ext.get()
    }

    /// This request's `T`, to change it.
    pub fn get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        self.ext.get_mut()
    }

    pub(crate) fn set_normalized(&mut self, path: Option<String>) {
        self.path = path;
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("request", &self.req)
            .field("path", &self.path())
            .field("params", &self.params().collect::<Vec<_>>())
            .field("rest", &self.rest())
            .field("extensions", &self.ext)
            .finish()
    }
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

/// Percent-decode one path segment (`+` is not a space in paths); invalid UTF-8 becomes
/// U+FFFD, a malformed escape stays as text.
fn decode_path_segment(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of one hex digit.
pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
