//! The handler-level kit: [`TestRequest`] builds a [`Request`] without a connection,
//! [`TestResponse`] reads what a handler answered, frame by frame if need be.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures_lite::Stream;
use futures_lite::future::{block_on, poll_fn};
use h1_core::{Connection, Event, Headers, Next, RecvError};

use crate::request_body::RequestBody;
use crate::response::ResponseBody;
use crate::runtime::Spawner;
use crate::shared::{ConnShared, Control};
use crate::{Frame, Handler, IntoResponse, Request, Response, State};

/// A request built in a test: method, target, headers, addresses and a body from bytes or
/// from a stream. [`build`](Self::build) gives the [`Request`];
/// [`call`](Self::call) runs any [`Handler`] (a closure, a `router::Router`)
/// on it and gives a [`TestResponse`].
///
/// The request parses like one from the network (the same engine), but no connection
/// is behind it: [`Request::upgrade`] fails at once, [`Request::on_close`] hooks never
/// run, and [`Request::spawn`] uses the [spawner](Self::spawner) given here, else the
/// default of [`Request::spawn`].
///
/// ```
/// use h1_server::{Request, testing::TestRequest};
///
/// let echo = |mut req: Request| async move {
///     let body = req.text(1024).await?;
///     Ok::<_, h1_server::Error>(format!("{} {} got {body:?}\n", req.method(), req.path()))
/// };
/// let mut r = TestRequest::post("/echo?x=1").header("X-Id", "7").body("hi").call_blocking(&echo);
/// assert_eq!(r.status(), 200);
/// assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
/// assert_eq!(r.text_blocking(), "POST /echo got \"hi\"\n");
/// ```
pub struct TestRequest {
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    peer: SocketAddr,
    local: SocketAddr,
    body: Option<(RequestBody, Option<u64>)>,
    state: Option<Arc<State>>,
    shared: Arc<ConnShared>,
}

/// Begins a graceful shutdown for the requests of one [`TestRequest`]: their
/// [`Request::shutdown_signal`] fires, and streams made from them end.
#[derive(Clone)]
pub struct TestShutdown {
    shared: Arc<ConnShared>,
}

/// What a handler answered, read in a test: status, headers, and the body whole
/// ([`body_bytes`](Self::body_bytes)) or frame by frame ([`frame`](Self::frame)), with
/// the flushes a streamed body asks for visible.
///
/// The body is the handler's: for a `HEAD` request it is still there (the connection
/// would not send it), and no framing headers were added.
pub struct TestResponse {
    response: Response,
}

impl TestRequest {
    /// A `method` request for `target` (such as `/a?b=1`), HTTP/1.1, with a `Host`
    /// header, from `127.0.0.1:40000` to `127.0.0.1:80`.
    pub fn new(method: &str, target: &str) -> Self {
        Self {
            method: method.to_owned(),
            target: target.to_owned(),
            headers: Vec::new(),
            peer: SocketAddr::from(([127, 0, 0, 1], 40000)),
            local: SocketAddr::from(([127, 0, 0, 1], 80)),
            body: None,
            state: None,
            shared: Arc::new(ConnShared::new()),
        }
    }

    /// A `GET` request.
    pub fn get(target: &str) -> Self {
        Self::new("GET", target)
    }

    /// A `POST` request.
    pub fn post(target: &str) -> Self {
        Self::new("POST", target)
    }

    /// A `PUT` request.
    pub fn put(target: &str) -> Self {
        Self::new("PUT", target)
    }

    /// A `DELETE` request.
    pub fn delete(target: &str) -> Self {
        Self::new("DELETE", target)
    }

    /// Add a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// The peer's address ([`Request::peer_addr`], [`Request::client_ip`]).
    #[must_use]
    pub fn peer_addr(mut self, addr: SocketAddr) -> Self {
        self.peer = addr;
        self
    }

    /// The local address ([`Request::local_addr`]).
    #[must_use]
    pub fn local_addr(mut self, addr: SocketAddr) -> Self {
        self.local = addr;
        self
    }

    /// A body of `bytes`, with its `Content-Length`.
    #[must_use]
    pub fn body(mut self, bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let length = bytes.len() as u64;
        let stream = futures_lite::stream::once(Ok(bytes));
        self.body = Some((
            RequestBody::from_stream(Box::pin(stream), Some(length)),
            Some(length),
        ));
        self
    }

    /// A body read from `stream`, sent chunked (no `Content-Length`): the handler sees
    /// each chunk as it comes, and an error as a failed read.
    #[must_use]
    pub fn body_stream(
        mut self,
        stream: impl Stream<Item = io::Result<Bytes>> + Send + 'static,
    ) -> Self {
        self.body = Some((RequestBody::from_stream(Box::pin(stream), None), None));
        self
    }

    /// Application state for [`Request::state`] (a router replaces it with its own).
    #[must_use]
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        let state = self.state.get_or_insert_with(Default::default);
        Arc::make_mut(state).insert(value);
        self
    }

    /// The executor [`Request::spawn`] uses.
    #[must_use]
    pub fn spawner(self, spawner: impl Spawner) -> Self {
        let _ = self.shared.spawner.set(Arc::new(spawner));
        self
    }

    /// A handle to begin a graceful shutdown for this request.
    pub fn shutdown(&self) -> TestShutdown {
        TestShutdown {
            shared: self.shared.clone(),
        }
    }

    /// The request.
    ///
    /// # Panics
    ///
    /// If the method, target or headers do not make a valid HTTP/1.1 request head (see
    /// [`try_build`](Self::try_build) to test that).
    pub fn build(self) -> Request {
        match self.try_build() {
            Ok(req) => req,
            Err((e, raw)) => panic!("not a valid request head ({e}): {raw:?}"),
        }
    }

    /// The request, or why the server's engine would refuse its head (with the status
    /// the connection would answer: [`RecvError::status`]) and the head as sent.
    ///
    /// ```
    /// use h1_server::testing::TestRequest;
    ///
    /// let refused = TestRequest::get("/").header("Bad Name", "x").try_build().unwrap_err();
    /// assert_eq!(refused.0.status(), 400);
    /// ```
    ///
    /// # Errors
    ///
    /// The engine's [`RecvError`] for a malformed head.
    pub fn try_build(self) -> Result<Request, (RecvError, String)> {
        let mut raw = format!("{} {} HTTP/1.1\r\n", self.method, self.target).into_bytes();
        let has = |name: &str| {
            self.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if !has("host") {
            raw.extend_from_slice(b"Host: test\r\n");
        }
        for (name, value) in &self.headers {
            raw.extend_from_slice(name.as_bytes());
            raw.extend_from_slice(b": ");
            raw.extend_from_slice(value);
            raw.extend_from_slice(b"\r\n");
        }
        match &self.body {
            Some((_, Some(n))) if !has("content-length") => {
                raw.extend_from_slice(format!("Content-Length: {n}\r\n").as_bytes());
            }
            Some((_, None)) if !has("transfer-encoding") => {
                raw.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            }
            _ => {}
        }
        raw.extend_from_slice(b"\r\n");
        let mut engine = Connection::new(h1_core::Config::default());
        engine.receive(&raw);
        let raw_text = || String::from_utf8_lossy(&raw).into_owned();
        let head = match engine.next_event() {
            Ok(Next::Event(Event::Head(head))) => head.clone(),
            Err(e) => return Err((e, raw_text())),
            Ok(other) => panic!(
                "the engine did not parse a head ({other:?}): {:?}",
                raw_text()
            ),
        };
        let body = self.body.map_or_else(RequestBody::empty, |(b, _)| b);
        let mut req = Request::detached(head, body, self.peer, self.local, self.shared);
        if let Some(state) = self.state {
            req.set_state(state);
        }
        Ok(req)
    }

    /// Call `handler` with the request.
    pub async fn call<H: Handler>(self, handler: &H) -> TestResponse {
        TestResponse::new(handler.call(self.build()).await.into_response())
    }

    /// [`call`](Self::call), blocking the thread until the handler answers.
    pub fn call_blocking<H: Handler>(self, handler: &H) -> TestResponse {
        block_on(self.call(handler))
    }
}

impl fmt::Debug for TestRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestRequest")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("headers", &self.headers.len())
            .finish_non_exhaustive()
    }
}

impl TestShutdown {
    /// Begin the graceful shutdown.
    pub fn begin(&self) {
        self.shared.signal(Control::Graceful);
    }
}

impl fmt::Debug for TestShutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestShutdown").finish_non_exhaustive()
    }
}

impl TestResponse {
    /// Wrap a response (any handler's answer).
    pub fn new(response: Response) -> Self {
        Self { response }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.response.status()
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        self.response.headers()
    }

    /// The first value of header `name` (case-insensitive), if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response.headers().get_str(name)
    }

    /// The declared body length (`None`: streamed without a length).
    pub fn body_length(&self) -> Option<u64> {
        self.response.body_length()
    }

    /// Whether the handler asked to drop the connection ([`Response::close`]).
    pub fn is_close(&self) -> bool {
        self.response.is_close()
    }

    /// The next body frame: [`Frame::Data`], [`Frame::Flush`] where a streamed body asks
    /// for a write, [`Frame::Trailers`]; `None` at the end. A body of bytes is one data
    /// frame.
    ///
    /// ```
    /// use h1_server::{Frame, Request, testing::TestRequest};
    ///
    /// let mut r = TestRequest::get("/").call_blocking(&|_req: Request| async { "hi" });
    /// futures_lite::future::block_on(async {
    ///     assert_eq!(r.frame().await.unwrap().unwrap(), Frame::Data("hi".into()));
    ///     assert!(r.frame().await.is_none());
    /// });
    /// ```
    ///
    /// # Errors
    ///
    /// The error a streamed body failed with (the connection would close).
    pub async fn frame(&mut self) -> Option<io::Result<Frame>> {
        match &mut self.response.body {
            ResponseBody::Empty | ResponseBody::Close => None,
            ResponseBody::Full(bytes) => {
                let bytes = std::mem::take(bytes);
                self.response.body = ResponseBody::Empty;
                Some(Ok(Frame::Data(bytes)))
            }
            ResponseBody::Stream(body) => poll_fn(|cx| body.as_mut().poll_frame(cx)).await,
            ResponseBody::File(_) => {
                let body = std::mem::replace(&mut self.response.body, ResponseBody::Empty);
                self.response.body = body.file_as_stream();
                Box::pin(self.frame()).await
            }
        }
    }

    /// The whole body: every data frame, up to the end.
    ///
    /// # Errors
    ///
    /// As [`frame`](Self::frame).
    pub async fn body_bytes(&mut self) -> io::Result<Bytes> {
        let mut all = Vec::new();
        while let Some(frame) = self.frame().await {
            if let Frame::Data(d) = frame? {
                all.extend_from_slice(&d);
            }
        }
        Ok(all.into())
    }

    /// The whole body as text.
    ///
    /// # Errors
    ///
    /// As [`frame`](Self::frame), and `InvalidData` if it is not UTF-8.
    pub async fn text(&mut self) -> io::Result<String> {
        let bytes = self.body_bytes().await?;
        String::from_utf8(bytes.into()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// [`text`](Self::text), blocking the thread until the body ended.
    ///
    /// # Panics
    ///
    /// If the body fails or is not UTF-8 (a test failure).
    pub fn text_blocking(&mut self) -> String {
        match block_on(self.text()) {
            Ok(text) => text,
            Err(e) => panic!("reading the response body: {e}"),
        }
    }

    /// The response.
    pub fn into_response(self) -> Response {
        self.response
    }
}

impl fmt::Debug for TestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TestResponse").field(&self.response).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_lite::AsyncReadExt;

    use super::*;

    #[test]
    fn a_streamed_body_arrives_chunk_by_chunk_and_chunked() {
        let chunks = ["ab", "", "cde"].map(|c| Ok(Bytes::from_static(c.as_bytes())));
        let mut req = TestRequest::put("/up")
            .body_stream(futures_lite::stream::iter(chunks))
            .build();
        assert_eq!(req.header("transfer-encoding"), Some("chunked"));
        assert_eq!(req.body_mut().length(), None);
        let mut got = Vec::new();
        while let Some(c) = block_on(req.body_mut().chunk()).unwrap() {
            got.push(c);
        }
        assert_eq!(got, ["ab", "cde"], "empty chunks are skipped");
        assert_eq!(req.body_mut().received(), 5);
    }

    #[test]
    fn a_body_reads_as_async_read_and_fails_like_the_stream() {
        let mut req = TestRequest::post("/").body("hello").build();
        assert_eq!(req.header("content-length"), Some("5"));
        let mut buf = [0; 3];
        let body = req.body_mut();
        assert_eq!(block_on(body.read(&mut buf)).unwrap(), 3);
        assert_eq!(&buf, b"hel");
        let mut rest = String::new();
        block_on(body.read_to_string(&mut rest)).unwrap();
        assert_eq!(rest, "lo");

        let failing = futures_lite::stream::iter([Err(io::Error::other("gone"))]);
        let mut req = TestRequest::post("/").body_stream(failing).build();
        assert!(block_on(req.bytes(100)).is_err());
    }

    #[test]
    fn addresses_state_and_spawner_are_the_tests() {
        let peer: SocketAddr = "[::1]:5000".parse().unwrap();
        let spawned = Arc::new(AtomicUsize::new(0));
        let count = spawned.clone();
        let req = TestRequest::get("/")
            .peer_addr(peer)
            .state(7u8)
            .spawner(move |task: crate::BoxFuture| {
                count.fetch_add(1, Ordering::SeqCst);
                block_on(task);
            })
            .build();
        assert_eq!((req.peer_addr(), req.client_ip()), (peer, peer.ip()));
        assert_eq!(req.state::<u8>(), Some(&7));
        req.spawn(async {});
        assert_eq!(spawned.load(Ordering::SeqCst), 1);
        assert!(
            block_on(req.upgrade()).is_err(),
            "no connection to take over"
        );
    }

    #[test]
    fn shutdown_reaches_the_request() {
        let test = TestRequest::get("/");
        let shutdown = test.shutdown();
        let req = test.build();
        let signal = req.shutdown_signal();
        assert!(!signal.is_requested());
        shutdown.begin();
        assert!(signal.is_requested());
        block_on(signal.wait());
    }

    #[test]
    fn a_close_response_has_no_frames() {
        let mut r =
            TestRequest::get("/").call_blocking(&|_req: Request| async { Response::close() });
        assert!(r.is_close());
        assert!(block_on(r.frame()).is_none());
    }
}
