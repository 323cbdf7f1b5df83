//! [`Handler`]: what turns a [`Request`] into a response.

use std::future::Future;

use crate::{IntoResponse, Request};

/// An application: answers each request with something that is
/// [`IntoResponse`].
///
/// Any `Fn(Request) -> impl Future<Output = impl IntoResponse>` closure is a handler; a
/// type can implement the trait directly to keep state. A `router::Router`
/// is a handler, and each of its routes is one. The handler's future runs inside the
/// connection's task (no task is spawned per request); a panic in it becomes a `500`
/// when nothing was sent yet.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use h1_server::{Handler, Request, Response};
///
/// struct Counter(AtomicU64);
///
/// impl Handler for Counter {
///     type Output = Response;
///
///     async fn call(&self, _req: Request) -> Response {
///         let n = self.0.fetch_add(1, Ordering::Relaxed);
///         Response::text(200, format!("request {n}\n"))
///     }
/// }
///
/// // A closure works too, returning anything that is `IntoResponse`.
/// let hello = |_req: Request| async { "hello\n" };
/// let missing = |req: Request| async move { (404, format!("no {}\n", req.path())) };
/// # fn is_handler<H: Handler>(_: &H) {}
/// # is_handler(&hello);
/// # is_handler(&missing);
/// # is_handler(&Counter(AtomicU64::new(0)));
/// ```
pub trait Handler: Send + Sync + 'static {
    /// What [`call`](Self::call) answers with.
    type Output: IntoResponse + Send;

    /// Answer `req`.
    fn call(&self, req: Request) -> impl Future<Output = Self::Output> + Send;
}

impl<F, Fut> Handler for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future + Send,
    Fut::Output: IntoResponse + Send,
{
    type Output = Fut::Output;

    fn call(&self, req: Request) -> impl Future<Output = Fut::Output> + Send {
        self(req)
    }
}
