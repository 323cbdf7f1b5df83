//! The handler kinds a [`Router`](super::Router) stacks: content [`Endpoint`]s, [`Before`]
//! handlers and their [`Flow`], after handlers and their [`Completed`] record, and
//! [`IntoResponse`] for handler results.

use std::fmt;
use std::future::Future;
use std::io;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_core::Headers;

use super::RequestContext;
use crate::response::{Body, Frame, Response, ResponseBody};

/// A boxed future borrowing the table it came from.
pub(crate) type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An after handler, as stored.
pub(crate) type AfterFn = Arc<dyn Fn(&Completed) + Send + Sync>;

/// A content handler: answers a routed request (POE's ContentHandler).
///
/// Any `Fn(RequestContext) -> impl Future<Output = impl IntoResponse>` closure is one;
/// [`Files`](super::Files) is one; a type can implement it to keep state.
///
/// ```
/// use http_server::router::{Endpoint, RequestContext};
/// use http_server::Response;
///
/// struct Greeter(&'static str);
///
/// impl Endpoint for Greeter {
///     async fn call(&self, cx: RequestContext) -> Response {
///         Response::text(200, format!("{}, {}\n", self.0, cx.param("name").unwrap_or("you")))
///     }
/// }
/// # let mut r = http_server::router::Router::new();
/// # r.get("/hi/:name", Greeter("hello"));
/// ```
pub trait Endpoint: Send + Sync + 'static {
    /// Answer the request.
    fn call(&self, cx: RequestContext) -> impl Future<Output = Response> + Send;
}

impl<F, Fut> Endpoint for F
where
    F: Fn(RequestContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send,
    Fut::Output: IntoResponse,
{
    async fn call(&self, cx: RequestContext) -> Response {
        self(cx).await.into_response()
    }
}

/// A type-erased, cheaply cloned [`Endpoint`]: what [`Flow::Replace`] carries.
#[derive(Clone)]
pub struct BoxEndpoint(pub(crate) Arc<dyn ErasedEndpoint>);

/// [`Endpoint`] behind a pointer: one boxed future per call.
pub(crate) trait ErasedEndpoint: Send + Sync {
    fn call_boxed(&self, cx: RequestContext) -> BoxFut<'_, Response>;
}

impl<E: Endpoint> ErasedEndpoint for E {
    fn call_boxed(&self, cx: RequestContext) -> BoxFut<'_, Response> {
        Box::pin(self.call(cx))
    }
}

impl BoxEndpoint {
    /// Box `endpoint`.
    pub fn new(endpoint: impl Endpoint) -> Self {
        Self(Arc::new(endpoint))
    }
}

impl fmt::Debug for BoxEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoxEndpoint")
    }
}

/// A handler run before routing, stacked by path prefix (POE's PreHandler): it lets the
/// request go on, answers it itself (deny: 401, 403, a redirect), or replaces the
/// content handler. Waiting on something slow is just `.await` (POE's `RC_WAIT`).
///
/// Any `Fn(RequestContext) -> impl Future<Output = Flow>` closure is one;
/// [`BasicAuth`](super::BasicAuth) is one.
///
/// ```
/// use http_server::router::{Flow, RequestContext, Router};
/// use http_server::Response;
///
/// let mut router = Router::new();
/// router.before("/private", |cx: RequestContext| async move {
///     if cx.header("x-token") == Some("secret") {
///         Flow::Continue(cx)
///     } else {
///         Flow::Respond(Response::text(403, "forbidden\n"))
///     }
/// });
/// ```
pub trait Before: Send + Sync + 'static {
    /// Look at (and change) the request; say what happens next.
    fn call(&self, cx: RequestContext) -> impl Future<Output = Flow> + Send;
}

impl<F, Fut> Before for F
where
    F: Fn(RequestContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Flow> + Send,
{
    fn call(&self, cx: RequestContext) -> impl Future<Output = Flow> + Send {
        self(cx)
    }
}

pub(crate) trait ErasedBefore: Send + Sync {
    fn call_boxed(&self, cx: RequestContext) -> BoxFut<'_, Flow>;
}

impl<B: Before> ErasedBefore for B {
    fn call_boxed(&self, cx: RequestContext) -> BoxFut<'_, Flow> {
        Box::pin(self.call(cx))
    }
}

/// What a [`Before`] handler decides.
#[derive(Debug)]
pub enum Flow {
    /// Go on: the next handler of the stack, then the content handler.
    Continue(RequestContext),
    /// Stop here and send this response (a denial, a redirect, a cached answer). After
    /// handlers still run.
    Respond(Response),
    /// Go on, but answer with this content handler instead of the routed one (the
    /// latest replacement wins).
    Replace(RequestContext, BoxEndpoint),
}

impl Flow {
    /// [`Flow::Replace`] with `endpoint` boxed.
    pub fn replace(cx: RequestContext, endpoint: impl Endpoint) -> Self {
        Self::Replace(cx, BoxEndpoint::new(endpoint))
    }
}

/// What an after handler learns once a response was written (POE's PostHandler): for
/// access logs and metrics.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Completed {
    /// The request method.
    pub method: String,
    /// The request-target as sent.
    pub target: String,
    /// The response status.
    pub status: u16,
    /// Body bytes handed to the connection (0 for HEAD, 204, 304).
    pub bytes: u64,
    /// From the router receiving the request to the response written.
    pub duration: Duration,
    /// Whether the response was sent whole; `false` when the connection went away (or
    /// the body failed) first, or the response was [`Response::close`].
    pub finished: bool,
}

/// What a handler may return: a [`Response`], text, or a `Result` of those and an error
/// that answers itself.
///
/// Errors: [`crate::Error`] answers with its status (413 for a body over the limit…);
/// `io::Error` with 404 (not found), 403 (permission denied) or 500; a boxed error with
/// 500. The error is logged; its text is not sent to the client.
pub trait IntoResponse {
    /// The response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text(200, self)
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(200, self)
    }
}

impl<R: IntoResponse, E: IntoResponse> IntoResponse for Result<R, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        }
    }
}

impl IntoResponse for crate::Error {
    fn into_response(self) -> Response {
        log::debug!("handler error: {self}");
        Response::from_error(&self)
    }
}

impl IntoResponse for io::Error {
    fn into_response(self) -> Response {
        match self.kind() {
            io::ErrorKind::NotFound => Response::text(404, "not found\n"),
            io::ErrorKind::PermissionDenied => Response::text(403, "forbidden\n"),
            _ => {
                log::error!("handler error: {self}");
                internal_error()
            }
        }
    }
}

impl IntoResponse for Box<dyn std::error::Error + Send + Sync> {
    fn into_response(self) -> Response {
        log::error!("handler error: {self}");
        internal_error()
    }
}

/// The answer to a panic or an error inside a handler.
pub(crate) fn internal_error() -> Response {
    Response::text(500, "internal server error\n")
}

/// Wrap `response`'s body so that `hooks` run once it was written (or dropped).
///
/// `quiet`: the driver sends no body (HEAD, 1xx, 204, 304), so dropping the body unread
/// means the response is complete.
pub(crate) fn track(
    mut response: Response,
    hooks: Arc<[AfterFn]>,
    record: Completed,
    started: Instant,
    quiet: bool,
) -> Response {
    let mut tracked = Tracked {
        full: None,
        inner: None,
        length: response.body_length(),
        flushed: false,
        trailers: None,
        bytes: 0,
        quiet,
        pending: Some((hooks, record, started)),
    };
    match std::mem::replace(&mut response.body, ResponseBody::Empty) {
        ResponseBody::Close => {
            tracked.fire(false);
            response.body = ResponseBody::Close;
            return response;
        }
        ResponseBody::Empty => {}
        ResponseBody::Full(b) => tracked.full = Some(b),
        ResponseBody::Stream(s) => tracked.inner = Some(s),
    }
    response.body = ResponseBody::Stream(Box::pin(tracked));
    response
}

/// A body that counts what it hands out, asks for a flush at its end and then runs the
/// after handlers (or runs them when dropped early).
struct Tracked {
    full: Option<Bytes>,
    inner: Option<Pin<Box<dyn Body + Send>>>,
    length: Option<u64>,
    flushed: bool,
    trailers: Option<Headers>,
    bytes: u64,
    quiet: bool,
    pending: Option<(Arc<[AfterFn]>, Completed, Instant)>,
}

impl Tracked {
    fn fire(&mut self, finished: bool) {
        let Some((hooks, mut record, started)) = self.pending.take() else {
            return;
        };
        record.bytes = self.bytes;
        record.duration = started.elapsed();
        record.finished = finished;
        for hook in hooks.iter() {
            if std::panic::catch_unwind(AssertUnwindSafe(|| hook(&record))).is_err() {
                log::error!(
                    "an after handler panicked ({} {})",
                    record.method,
                    record.target
                );
            }
        }
    }
}

impl Body for Tracked {
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame>>> {
        let this = self.get_mut();
        if this.pending.is_none() {
            return Poll::Ready(None);
        }
        if let Some(b) = this.full.take() {
            this.bytes += b.len() as u64;
            return Poll::Ready(Some(Ok(Frame::Data(b))));
        }
        if let Some(inner) = &mut this.inner {
            loop {
                match inner.as_mut().poll_frame(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(Frame::Data(d)))) => {
                        this.bytes += d.len() as u64;
                        return Poll::Ready(Some(Ok(Frame::Data(d))));
                    }
                    // Trailers must come last: keep them until the final flush is done.
                    Poll::Ready(Some(Ok(Frame::Trailers(t)))) => this.trailers = Some(t),
                    Poll::Ready(Some(Ok(frame))) => return Poll::Ready(Some(Ok(frame))),
                    Poll::Ready(Some(Err(e))) => {
                        this.fire(false);
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(None) => break,
                }
            }
            this.inner = None;
        }
        if !this.flushed {
            // The driver polls again only once this flush reached the socket.
            this.flushed = true;
            return Poll::Ready(Some(Ok(Frame::Flush)));
        }
        this.fire(true);
        Poll::Ready(this.trailers.take().map(|t| Ok(Frame::Trailers(t))))
    }

    fn length(&self) -> Option<u64> {
        self.length
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let quiet = self.quiet;
        self.fire(quiet);
    }
}
