//! [`Request`]: a request head, where it came from, its body as a [`RequestBody`]
//! stream with backpressure, and the executor it runs on.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use h1_core::{Headers, RequestHead, Version};

use crate::error::Error;
use crate::extensions::{Extensions, Route, State};
use crate::form::Form;
use crate::request_body::RequestBody;
use crate::runtime::Spawner;
use crate::shared::ConnShared;
use crate::{CloseReason, ConnectionId};

/// An HTTP request: method, target, version, headers, the connection it came on, and its
/// body; once routed, the route's parameters ([`param`](Self::param)), typed per-request
/// data ([`extension`](Self::extension)) and the application state
/// ([`state`](Self::state)); and the executor it runs on ([`spawn`](Self::spawn)).
///
/// Build one in a test with [`TestRequest`](crate::testing::TestRequest).
///
/// ```
/// use h1_server::{Request, testing::TestRequest};
///
/// async fn handle(mut req: Request) -> Result<String, h1_server::Error> {
///     if req.method() == "POST" && req.path() == "/echo" {
///         return req.text(1 << 20).await;
///     }
///     Ok(format!("hello {}\n", req.client_ip()))
/// }
///
/// let mut r = TestRequest::post("/echo").body("hi").call_blocking(&handle);
/// assert_eq!(r.text_blocking(), "hi");
/// let mut r = TestRequest::get("/").call_blocking(&handle);
/// assert_eq!(r.text_blocking(), "hello 127.0.0.1\n");
/// ```
pub struct Request {
    /// Shared with the connection, which reuses the allocation once this request is gone.
    head: Arc<RequestHead>,
    body: RequestBody,
    /// Where the request came from: one allocation per connection, shared by its requests
    /// (a request is moved through several futures on its way into a handler, so its size
    /// is paid for on every request).
    origin: Arc<Origin>,
    shared: Option<Arc<ConnShared>>,
    /// Set by a router; boxed for the same reason.
    pub(crate) route: Option<Box<Route>>,
    pub(crate) ext: Extensions,
    pub(crate) state: Option<Arc<State>>,
    /// Built by the test kit, not read from a connection: cannot be upgraded.
    detached: bool,
}

/// Where a request came from: its connection, addresses and the proxies trusted there.
#[derive(Debug)]
pub(crate) struct Origin {
    pub(crate) id: ConnectionId,
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
    /// [`ServerConfig::trusted_proxies`](crate::ServerConfig::trusted_proxies).
    pub(crate) trusted: Option<Arc<[IpAddr]>>,
    /// Accepted on a Unix domain socket (`peer` and `local` are placeholders).
    pub(crate) unix: bool,
}

impl Request {
    pub(crate) fn new(
        head: Arc<RequestHead>,
        body: RequestBody,
        origin: Arc<Origin>,
        shared: Arc<ConnShared>,
    ) -> Self {
        Self {
            head,
            body,
            origin,
            shared: Some(shared),
            route: None,
            ext: Extensions::new(),
            state: None,
            detached: false,
        }
    }

    /// A request not read from a connection (built by [`testing`](crate::testing)).
    pub(crate) fn detached(
        head: RequestHead,
        body: RequestBody,
        peer: SocketAddr,
        local: SocketAddr,
        shared: Arc<ConnShared>,
    ) -> Self {
        Self {
            head: Arc::new(head),
            body,
            origin: Arc::new(Origin {
                id: ConnectionId::next(),
                peer,
                local,
                trusted: None,
                unix: false,
            }),
            shared: Some(shared),
            route: None,
            ext: Extensions::new(),
            state: None,
            detached: true,
        }
    }

    /// The method, such as `GET`, as sent.
    pub fn method(&self) -> &str {
        self.head.method()
    }

    /// The request-target as sent, such as `/a/b?x=1`.
    pub fn target(&self) -> &str {
        self.head.target()
    }

    /// The path without the query: `/a/b` for `/a/b?x=1`.
    pub fn path(&self) -> &str {
        self.head.path()
    }

    /// The query without the `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.head.query()
    }

    /// The query decoded as urlencoded pairs (empty without a query).
    pub fn query_pairs(&self) -> Form {
        Form::parse(self.query().unwrap_or("").as_bytes())
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.head.version()
    }

    /// The headers, in order, names with their case preserved.
    pub fn headers(&self) -> &Headers {
        self.head.headers()
    }

    /// The first value of header `name` (case-insensitive), if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.headers().get_str(name)
    }

    /// A signal that resolves when the server begins shutting down, for long-lived
    /// responses (streams, long-polls) to finish up. A request built outside a server
    /// gets a signal that never fires.
    pub fn shutdown_signal(&self) -> crate::ShutdownSignal {
        let shared = self
            .shared
            .clone()
            .unwrap_or_else(|| Arc::new(ConnShared::new()));
        crate::ShutdownSignal::new(shared)
    }

    /// The parsed head.
    pub fn head(&self) -> &RequestHead {
        &self.head
    }

    /// The address of the peer (the client, or the proxy in front of it). The
    /// unspecified `0.0.0.0:0` on a Unix domain socket ([`is_unix`](Self::is_unix)).
    pub fn peer_addr(&self) -> SocketAddr {
        self.origin.peer
    }

    /// The local address the connection was accepted on. The unspecified `0.0.0.0:0` on
    /// a Unix domain socket.
    pub fn local_addr(&self) -> SocketAddr {
        self.origin.local
    }

    /// Whether the connection came on a Unix domain socket
    /// ([`Server::bind_unix`](crate::Server::bind_unix)): it has no IP addresses.
    pub fn is_unix(&self) -> bool {
        self.origin.unix
    }

    /// The id of the connection this request came on (unique within the process).
    pub fn connection_id(&self) -> ConnectionId {
        self.origin.id
    }

    /// The client's IP address.
    ///
    /// When the peer is one of the [trusted proxies](crate::ServerConfig::trusted_proxies),
    /// the rightmost `X-Forwarded-For` address that is not itself a trusted proxy, else
    /// `X-Real-IP`; otherwise (and by default, when no proxy is trusted) the peer's
    /// address. Forwarding headers from untrusted peers are ignored: anyone can send them.
    pub fn client_ip(&self) -> IpAddr {
        let peer = self.origin.peer.ip();
        let Some(trusted) = &self.origin.trusted else {
            return peer;
        };
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|t| t == ip);
        if !is_trusted(&peer) {
            return peer;
        }
        let headers = self.head.headers();
        let mut hops = headers
            .get_all("x-forwarded-for")
            .filter_map(|v| std::str::from_utf8(v).ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| parse_ip(s.trim()))
            .collect::<Vec<_>>();
        while let Some(ip) = hops.pop() {
            if !is_trusted(&ip) {
                return ip;
            }
        }
        headers
            .get_str("x-real-ip")
            .and_then(|v| parse_ip(v.trim()))
            .unwrap_or(peer)
    }

    /// The body.
    pub fn body_mut(&mut self) -> &mut RequestBody {
        &mut self.body
    }

    /// Take the body out, leaving an empty one.
    pub fn take_body(&mut self) -> RequestBody {
        std::mem::take(&mut self.body)
    }

    /// Split into the head and the body.
    pub fn into_parts(self) -> (RequestHead, RequestBody) {
        let head = Arc::try_unwrap(self.head).unwrap_or_else(|h| (*h).clone());
        (head, self.body)
    }

    /// The body.
    pub fn into_body(self) -> RequestBody {
        self.body
    }

    /// Read the whole body, at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::BodyTooLarge`] past `limit` (answer 413; a declared `Content-Length`
    /// over the limit fails before anything is read, so no `100 Continue` is sent), and
    /// the errors of [`RequestBody::chunk`].
    pub async fn bytes(&mut self, limit: u64) -> Result<Bytes, Error> {
        self.body.bytes(limit).await
    }

    /// Read the whole body as UTF-8 text, at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// As [`bytes`](Self::bytes), and [`Error::InvalidBody`] if it is not UTF-8.
    pub async fn text(&mut self, limit: u64) -> Result<String, Error> {
        let bytes = self.bytes(limit).await?;
        String::from_utf8(bytes.into()).map_err(|_| Error::InvalidBody("not UTF-8"))
    }

    /// Read the whole body as an `application/x-www-form-urlencoded` form, at most
    /// `limit` bytes.
    ///
    /// # Errors
    ///
    /// As [`bytes`](Self::bytes).
    pub async fn form(&mut self, limit: u64) -> Result<Form, Error> {
        let bytes = self.bytes(limit).await?;
        Ok(Form::parse(&bytes))
    }

    /// Run `task` in the background on the executor this request's server runs on (its
    /// [`Spawner`]), whatever the runtime: the way to start a stream's producer.
    ///
    /// A request served by [`Server`](crate::Server) uses the server's spawner. One served
    /// by [`serve_connection`](crate::serve_connection) (no server) or built by
    /// [`testing`](crate::testing) uses smol's global executor with the `smol` feature,
    /// and without it a thread of its own per task (correct anywhere, since sockets and
    /// timers come from async-io's reactor, but not cheap).
    ///
    /// ```
    /// use h1_server::{Request, testing::TestRequest};
    ///
    /// let handler = |req: Request| async move {
    ///     let (tx, rx) = async_channel::bounded(1);
    ///     req.spawn(async move {
    ///         let _ = tx.send("done in the background").await;
    ///     });
    ///     rx.recv().await.unwrap_or("lost")
    /// };
    /// let mut r = TestRequest::get("/").call_blocking(&handler);
    /// assert_eq!(r.text_blocking(), "done in the background");
    /// ```
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.spawner().spawn(Box::pin(task));
    }

    /// The executor this request runs on (see [`spawn`](Self::spawn)).
    pub fn spawner(&self) -> Arc<dyn Spawner> {
        self.shared
            .as_ref()
            .and_then(|s| s.spawner.get().cloned())
            .unwrap_or_else(fallback_spawner)
    }

    /// Ask to take the connection over after answering `101 Switching Protocols` (or a
    /// 2xx to `CONNECT`): the returned future resolves to the [`Upgraded`](crate::Upgraded)
    /// connection once the server has written that response head. Await it in a task of
    /// its own, and return the `101` from the handler. If the response is not an
    /// upgrade, the future fails. A request built outside a server fails at once.
    ///
    /// ```no_run
    /// use h1_server::{Request, Response};
    /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
    ///
    /// async fn handle(req: Request) -> Response {
    ///     if req.header("upgrade") != Some("echo") {
    ///         return Response::text(426, "upgrade to echo\n").header("Upgrade", "echo");
    ///     }
    ///     let on_upgrade = req.upgrade();
    ///     smol::spawn(async move {
    ///         let Ok(mut io) = on_upgrade.await else { return };
    ///         let mut buf = [0; 1024];
    ///         while let Ok(n @ 1..) = io.read(&mut buf).await {
    ///             if io.write_all(&buf[..n]).await.is_err() {
    ///                 break;
    ///             }
    ///         }
    ///     })
    ///     .detach();
    ///     Response::new(101).header("Connection", "upgrade").header("Upgrade", "echo")
    /// }
    /// ```
    pub fn upgrade(&self) -> crate::OnUpgrade {
        let shared = self.shared.as_ref().filter(|_| !self.detached);
        crate::OnUpgrade::new(shared.map(|s| s.want_upgrade()))
    }

    /// Send a `103 Early Hints` interim response with `headers` (typically `Link` fields
    /// naming resources the final response will need) before the final response, so the
    /// client can start fetching them while the handler works (RFC 8297). Call it any
    /// number of times; each goes out as its own 103, at once while the handler waits,
    /// and always before the final head. HTTP/1.0 clients get none.
    ///
    /// ```no_run
    /// use h1_server::{Headers, Request, Response};
    ///
    /// async fn page(req: Request) -> Response {
    ///     let mut hints = Headers::new();
    ///     hints.append("Link", "</style.css>; rel=preload; as=style");
    ///     req.send_early_hints(hints).await;
    ///     // ... render the page ...
    ///     Response::text(200, "<!doctype html>")
    /// }
    /// ```
    pub async fn send_early_hints(&self, headers: Headers) {
        if let Some(shared) = &self.shared {
            let mut head = h1_core::ResponseHead::new(103);
            *head.headers_mut() = headers;
            shared.push_interim(head);
        }
    }

    /// Call `hook` when this request's connection closes, with its id and the reason.
    /// Runs in the connection's task, after the server's
    /// [`on_close`](crate::ServerConfig::on_close) hook.
    pub fn on_close(&self, hook: impl FnOnce(ConnectionId, &CloseReason) + Send + 'static) {
        if let Some(shared) = &self.shared {
            shared.add_hook(Box::new(hook));
        }
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method())
            .field("target", &self.target())
            .field("version", &self.version())
            .field("headers", self.headers())
            .field("peer", &self.origin.peer)
            .field("id", &self.origin.id)
            .field("params", &self.params().collect::<Vec<_>>())
            .field("extensions", &self.ext)
            .finish_non_exhaustive()
    }
}

/// The executor of requests served without a [`Server`](crate::Server): smol's global
/// executor with the `smol` feature, else a thread per task.
fn fallback_spawner() -> Arc<dyn Spawner> {
    crate::runtime::default_spawner().unwrap_or_else(|| {
        Arc::new(|task: crate::runtime::BoxFuture| {
            let run = std::thread::Builder::new()
                .name("http-server-task".into())
                .spawn(move || futures_lite::future::block_on(task));
            if let Err(e) = run {
                log::error!("cannot start a thread for a spawned task: {e}");
            }
        })
    })
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}
