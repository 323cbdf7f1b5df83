//! The handler kinds a [`Router`](super::Router) stacks: content handlers (any
//! [`Handler`], boxed as [`BoxHandler`]), [`Before`] handlers and their [`Flow`], and
//! after handlers with their [`Completed`] record.

use std::fmt;
use std::future::Future;
use std::io;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use h1_core::Headers;

use crate::response::{Body, Frame, Response, ResponseBody};
use crate::{Handler, IntoResponse, Request};

/// A boxed future borrowing the table it came from.
pub(crate) type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An after handler, as stored.
pub(crate) type AfterFn = Arc<dyn Fn(&Completed) + Send + Sync>;

/// A type-erased, cheaply cloned [`Handler`]: what [`Flow::Replace`] carries, and how a
/// [`Router`](super::Router) stores its routes.
#[derive(Clone)]
pub struct BoxHandler(pub(crate) Arc<dyn ErasedHandler>);

/// [`Handler`] behind a pointer: one boxed future per call.
pub(crate) trait ErasedHandler: Send + Sync {
    fn call_boxed(&self, req: Request) -> BoxFut<'_, Response>;
}

impl<H: Handler> ErasedHandler for H {
    fn call_boxed(&self, req: Request) -> BoxFut<'_, Response> {
        Box::pin(async move { self.call(req).await.into_response() })
    }
}

impl BoxHandler {
    /// Box `handler`.
    pub fn new(handler: impl Handler) -> Self {
        Self(Arc::new(handler))
    }
}

impl fmt::Debug for BoxHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoxHandler")
    }
}

/// A handler run before routing, stacked by path prefix: it lets the request go on
/// (changed, perhaps: an [extension](Request::insert_extension) for later handlers),
/// answers it itself (deny: 401, 403, a redirect), or replaces the content handler.
/// Waiting on something slow is just `.await`.
///
/// Any `Fn(Request) -> impl Future<Output = Flow>` closure is one;
/// [`BasicAuth`](super::BasicAuth) is one.
///
/// ```
/// use h1_server::router::{Flow, Router};
/// use h1_server::Request;
///
/// let mut router = Router::new();
/// router.before("/private", |req: Request| async move {
///     if req.header("x-token") == Some("secret") {
///         Flow::Continue(req)
///     } else {
///         Flow::respond((403, "forbidden\n"))
///     }
/// });
/// ```
pub trait Before: Send + Sync + 'static {
    /// Look at (and change) the request; say what happens next.
    fn call(&self, req: Request) -> impl Future<Output = Flow> + Send;
}

impl<F, Fut> Before for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Flow> + Send,
{
    fn call(&self, req: Request) -> impl Future<Output = Flow> + Send {
        self(req)
    }
}

pub(crate) trait ErasedBefore: Send + Sync {
    fn call_boxed(&self, req: Request) -> BoxFut<'_, Flow>;
}

impl<B: Before> ErasedBefore for B {
    fn call_boxed(&self, req: Request) -> BoxFut<'_, Flow> {
        Box::pin(self.call(req))
    }
}

/// What a [`Before`] handler decides.
#[derive(Debug)]
pub enum Flow {
    /// Go on: the next handler of the stack, then the content handler.
    Continue(Request),
    /// Stop here and send this response (a denial, a redirect, a cached answer). After
    /// handlers still run.
    Respond(Response),
    /// Go on, but answer with this content handler instead of the routed one (the
    /// latest replacement wins).
    Replace(Request, BoxHandler),
}

impl Flow {
    /// [`Flow::Respond`] with anything that is [`IntoResponse`].
    pub fn respond(response: impl IntoResponse) -> Self {
        Self::Respond(response.into_response())
    }

    /// [`Flow::Replace`] with `handler` boxed.
    pub fn replace(req: Request, handler: impl Handler) -> Self {
        Self::Replace(req, BoxHandler::new(handler))
    }
}

/// What an after handler learns once a response was written: for
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
        ResponseBody::File(f) => tracked.inner = Some(Box::pin(f.into_stream())),
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
