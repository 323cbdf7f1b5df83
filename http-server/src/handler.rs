//! [`Handler`]: what turns a [`Request`] into a [`Response`].

use std::future::Future;

use crate::{Request, Response};

/// An application: answers each request with a response.
///
/// Any `Fn(Request) -> impl Future<Output = Response>` closure is a handler; a type can
/// implement the trait directly to keep state. The handler's future runs inside the
/// connection's task (no task is spawned per request); a panic in it becomes a `500`
/// when nothing was sent yet.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use http_server::{Handler, Request, Response};
///
/// struct Counter(AtomicU64);
///
/// impl Handler for Counter {
///     async fn call(&self, _req: Request) -> Response {
///         let n = self.0.fetch_add(1, Ordering::Relaxed);
///         Response::text(200, format!("request {n}\n"))
///     }
/// }
///
/// // A closure works too.
/// let hello = |_req: Request| async { Response::text(200, "hello\n") };
/// # fn is_handler<H: Handler>(_: &H) {}
/// # is_handler(&hello);
/// # is_handler(&Counter(AtomicU64::new(0)));
/// ```
pub trait Handler: Send + Sync + 'static {
    /// Answer `req`.
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send;
}

impl<F, Fut> Handler for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send,
{
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        self(req)
    }
}
