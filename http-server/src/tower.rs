//! Serving a tower `Service` (the `tower` feature): [`TowerService`] turns any
//! `Service<http::Request<RequestBody>>` whose responses carry an `http_body::Body`
//! (an axum `Router`, a `tower::service_fn`) into a [`Handler`].

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures_lite::future::poll_fn;
use h1_core::Headers;

use crate::{Body, Frame, Handler, Request, RequestBody, Response};

/// A [`Handler`] serving a tower service: each request is converted to an
/// `http::Request<RequestBody>` (see the `http` feature), the service (cloned per
/// request, as hyper does) is polled ready and called, and its `http::Response` is
/// streamed back frame by frame. A service error answers 500.
///
/// ```no_run
/// use std::convert::Infallible;
/// use h1_server::{RequestBody, Server, TowerService};
///
/// # async fn run() -> std::io::Result<()> {
/// #[derive(Clone)]
/// struct Hello;
///
/// impl tower_service::Service<http::Request<RequestBody>> for Hello {
///     type Response = http::Response<String>;
///     type Error = Infallible;
///     type Future = std::future::Ready<Result<Self::Response, Infallible>>;
///
///     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
///         std::task::Poll::Ready(Ok(()))
///     }
///
///     fn call(&mut self, req: http::Request<RequestBody>) -> Self::Future {
///         std::future::ready(Ok(http::Response::new(format!("hello {}\n", req.uri().path()))))
///     }
/// }
///
/// let server = Server::bind("127.0.0.1:8080").await?;
/// let _handle = server.serve(TowerService::new(Hello));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TowerService<S>(S);

impl<S> TowerService<S> {
    /// Wrap `service`.
    pub fn new(service: S) -> Self {
        Self(service)
    }

    /// The wrapped service.
    pub fn into_inner(self) -> S {
        self.0
    }
}

impl<S, B> Handler for TowerService<S>
where
    S: tower_service::Service<http::Request<RequestBody>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
    S::Error: fmt::Display,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: fmt::Display,
{
    type Output = Response;

    async fn call(&self, req: Request) -> Response {
        let req = match req.into_http() {
            Ok(req) => req,
            Err(e) => return Response::text(400, format!("{e}\n")),
        };
        let mut service = self.0.clone();
        if let Err(e) = poll_fn(|cx| service.poll_ready(cx)).await {
            log::error!("tower service not ready: {e}");
            return Response::text(503, "service unavailable\n");
        }
        match service.call(req).await {
            Ok(res) => Response::from(res.map(HttpBody::new)),
            Err(e) => {
                log::error!("tower service failed: {e}");
                Response::text(500, "internal server error\n")
            }
        }
    }
}

/// A [`Body`] from any `http_body::Body`: data frames become [`Frame::Data`], trailers
/// [`Frame::Trailers`]; an exact size hint becomes the `Content-Length`.
#[derive(Debug)]
pub struct HttpBody<B>(Pin<Box<B>>);

impl<B> HttpBody<B> {
    /// Wrap `body`.
    pub fn new(body: B) -> Self {
        Self(Box::pin(body))
    }
}

impl<B> Body for HttpBody<B>
where
    B: http_body::Body,
    B::Error: fmt::Display,
{
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Frame>>> {
        loop {
            let frame = match std::task::ready!(self.0.as_mut().poll_frame(cx)) {
                None => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(io::Error::other(e.to_string())))),
                Some(Ok(frame)) => frame,
            };
            let frame = match frame.into_data() {
                Ok(mut data) => {
                    let bytes = data.copy_to_bytes(data.remaining());
                    if bytes.is_empty() {
                        continue;
                    }
                    return Poll::Ready(Some(Ok(Frame::Data(bytes))));
                }
                Err(frame) => frame,
            };
            if let Ok(map) = frame.into_trailers() {
                let mut trailers = Headers::new();
                for (name, value) in &map {
                    trailers.append(name.as_str(), value.as_bytes());
                }
                return Poll::Ready(Some(Ok(Frame::Trailers(trailers))));
            }
        }
    }

    fn length(&self) -> Option<u64> {
        self.0.size_hint().exact()
    }
}

/// The request body as an `http_body::Body` (for tower services and axum extractors).
impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = crate::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, crate::Error>>> {
        let this = self.get_mut();
        match std::task::ready!(this.poll_chunk(cx)) {
            Ok(Some(chunk)) => Poll::Ready(Some(Ok(http_body::Frame::data(chunk)))),
            Ok(None) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self.length() {
            Some(n) => http_body::SizeHint::with_exact(n.saturating_sub(self.received())),
            None => http_body::SizeHint::default(),
        }
    }
}
