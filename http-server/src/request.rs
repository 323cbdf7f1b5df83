//! [`Request`]: a request head, where it came from, and its body as a [`RequestBody`]
//! stream with backpressure.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_lite::{AsyncRead, Stream};
use http_core::{Headers, RequestHead, Version};

use crate::close::{CloseReason, ConnectionId};
use crate::error::Error;
use crate::response::{Body, Frame};
use crate::shared::{BodyState, ConnShared};

/// An HTTP request: method, target, version, headers, the connection it came on, and its
/// body.
///
/// ```no_run
/// use http_server::{Request, Response};
///
/// async fn handle(mut req: Request) -> Response {
///     if req.method() == "POST" && req.path() == "/echo" {
///         return match req.bytes(1 << 20).await {
///             Ok(body) => Response::bytes(200, body),
///             Err(e) => Response::from_error(&e),
///         };
///     }
///     Response::text(200, format!("hello {}\n", req.client_ip()))
/// }
/// ```
pub struct Request {
    /// Shared with the connection, which reuses the allocation once this request is gone.
    head: Arc<RequestHead>,
    body: RequestBody,
    id: ConnectionId,
    peer: SocketAddr,
    local: SocketAddr,
    trusted: Option<Arc<[IpAddr]>>,
    shared: Option<Arc<ConnShared>>,
    unix: bool,
}

/// The body of a [`Request`], read as an [`AsyncRead`], a [`Stream`] of chunks, or with
/// [`chunk`](Self::chunk).
///
/// Backpressure: nothing is read from the socket for the body until it is read here. The
/// first read sends `100 Continue` when the client asked for it (RFC 9110 §10.1.1). A
/// body left unread when the response is sent is discarded by the engine (up to
/// `Limits::max_discard_bytes`, past which the connection closes).
///
/// Reads fail with [`Error::Timeout`] when the client stalls or trickles (see
/// [`ServerConfig::body_timeout`](crate::ServerConfig::body_timeout) and
/// [`ServerConfig::min_body_rate`](crate::ServerConfig::min_body_rate)); the connection
/// then closes after the response.
pub struct RequestBody {
    shared: Option<Arc<ConnShared>>,
    generation: u64,
    length: Option<u64>,
    received: u64,
}

/// Pairs decoded from `application/x-www-form-urlencoded` text (a form body or a query).
///
/// ```
/// let form = http_server::Form::parse(b"name=J%C3%B6rg+M&x=1&x=2");
/// assert_eq!(form.get("name"), Some("Jörg M"));
/// assert_eq!(form.get_all("x").collect::<Vec<_>>(), ["1", "2"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Request {
    pub(crate) fn new(
        head: Arc<RequestHead>,
        body: RequestBody,
        id: ConnectionId,
        peer: SocketAddr,
        local: SocketAddr,
        trusted: Option<Arc<[IpAddr]>>,
        shared: Arc<ConnShared>,
    ) -> Self {
        Self {
            head,
            body,
            id,
            peer,
            local,
            trusted,
            shared: Some(shared),
            unix: false,
        }
    }

    /// Mark the request as received over a Unix domain socket.
    pub(crate) fn on_unix_socket(mut self, unix: bool) -> Self {
        self.unix = unix;
        self
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
        self.peer
    }

    /// The local address the connection was accepted on. The unspecified `0.0.0.0:0` on
    /// a Unix domain socket.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Whether the connection came on a Unix domain socket
    /// ([`Server::bind_unix`](crate::Server::bind_unix)): it has no IP addresses.
    pub fn is_unix(&self) -> bool {
        self.unix
    }

    /// The id of the connection this request came on (unique within the process).
    pub fn connection_id(&self) -> ConnectionId {
        self.id
    }

    /// The client's IP address.
    ///
    /// When the peer is one of the [trusted proxies](crate::ServerConfig::trusted_proxies),
    /// the rightmost `X-Forwarded-For` address that is not itself a trusted proxy, else
    /// `X-Real-IP`; otherwise (and by default, when no proxy is trusted) the peer's
    /// address. Forwarding headers from untrusted peers are ignored: anyone can send them.
    pub fn client_ip(&self) -> IpAddr {
        let peer = self.peer.ip();
        let Some(trusted) = &self.trusted else {
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

    /// Ask to take the connection over after answering `101 Switching Protocols` (or a
    /// 2xx to `CONNECT`): the returned future resolves to the [`Upgraded`](crate::Upgraded)
    /// connection once the server has written that response head. Await it in a task of
    /// its own, and return the `101` from the handler. If the response is not an
    /// upgrade, the future fails. A request built outside a server fails at once.
    ///
    /// ```no_run
    /// use http_server::{Request, Response};
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
        crate::OnUpgrade::new(self.shared.as_ref().map(|s| s.want_upgrade()))
    }

    /// Send a `103 Early Hints` interim response with `headers` (typically `Link` fields
    /// naming resources the final response will need) before the final response, so the
    /// client can start fetching them while the handler works (RFC 8297). Call it any
    /// number of times; each goes out as its own 103, at once while the handler waits,
    /// and always before the final head. HTTP/1.0 clients get none.
    ///
    /// ```no_run
    /// use http_server::{Headers, Request, Response};
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
            let mut head = http_core::ResponseHead::new(103);
            *head.headers_mut() = headers;
            shared.push_interim(head);
        }
    }

    /// Call `hook` when this request's connection closes, with its id and the reason
    /// (SimpleHTTP's `SETCLOSEHANDLER`). Runs in the connection's task, after the server's
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
            .field("peer", &self.peer)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

impl RequestBody {
    /// An empty body.
    pub fn empty() -> Self {
        Self {
            shared: None,
            generation: 0,
            length: Some(0),
            received: 0,
        }
    }

    pub(crate) fn new(shared: Arc<ConnShared>, generation: u64, length: Option<u64>) -> Self {
        Self {
            shared: Some(shared),
            generation,
            length,
            received: 0,
        }
    }

    /// The declared `Content-Length`; `None` for a chunked body.
    pub fn length(&self) -> Option<u64> {
        self.length
    }

    /// Body bytes read through this handle so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The trailer fields of a chunked body, once it was read whole.
    pub fn trailers(&self) -> Option<Headers> {
        let shared = self.shared.as_ref()?;
        let slot = shared.body();
        (slot.generation == self.generation && slot.state == BodyState::Eof)
            .then(|| slot.trailers.clone())
            .flatten()
    }

    /// The next piece of the body; `None` at its end.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] for a malformed body (or the peer closing mid-body),
    /// [`Error::Timeout`] ([`Timeout::BodyStall`](crate::Timeout::BodyStall),
    /// [`Timeout::BodyRate`](crate::Timeout::BodyRate)), [`Error::Io`], and
    /// [`Error::BodyClosed`] after the response was sent.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        futures_lite::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Read the whole body, at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::BodyTooLarge`] past `limit`, and the errors of [`chunk`](Self::chunk).
    pub async fn bytes(&mut self, limit: u64) -> Result<Bytes, Error> {
        if self.length.is_some_and(|n| n > limit) {
            return Err(Error::BodyTooLarge { limit });
        }
        let mut first: Option<Bytes> = None;
        let mut all = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            if self.received > limit {
                return Err(Error::BodyTooLarge { limit });
            }
            match &first {
                None if all.is_empty() => first = Some(chunk),
                _ => {
                    if let Some(f) = first.take() {
                        all.extend_from_slice(&f);
                    }
                    all.extend_from_slice(&chunk);
                }
            }
        }
        Ok(first.unwrap_or_else(|| all.into()))
    }

    /// Poll for the next piece of the body (see [`chunk`](Self::chunk)).
    ///
    /// # Errors
    ///
    /// As [`chunk`](Self::chunk).
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, Error>> {
        let Some(shared) = &self.shared else {
            return Poll::Ready(Ok(None));
        };
        let mut slot = shared.body();
        if slot.generation != self.generation {
            return Poll::Ready(Err(Error::BodyClosed));
        }
        if slot.pos < slot.chunk.len() {
            let bytes = if slot.pos == 0 {
                Bytes::from(std::mem::take(&mut slot.chunk))
            } else {
                let b = Bytes::copy_from_slice(&slot.chunk[slot.pos..]);
                slot.chunk.clear();
                b
            };
            slot.pos = 0;
            self.received += bytes.len() as u64;
            return Poll::Ready(Ok(Some(bytes)));
        }
        match slot.state {
            BodyState::Eof => Poll::Ready(Ok(None)),
            BodyState::Failed(kind) => Poll::Ready(Err(kind.to_error())),
            BodyState::Reading => {
                if slot.park_reader(cx.waker()) {
                    drop(slot);
                    shared.wake_conn();
                }
                Poll::Pending
            }
        }
    }
}

impl Default for RequestBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("length", &self.length)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for RequestBody {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let Some(shared) = &this.shared else {
            return Poll::Ready(Ok(0));
        };
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut slot = shared.body();
        if slot.generation != this.generation {
            return Poll::Ready(Err(Error::BodyClosed.into()));
        }
        if slot.pos < slot.chunk.len() {
            let n = buf.len().min(slot.chunk.len() - slot.pos);
            buf[..n].copy_from_slice(&slot.chunk[slot.pos..slot.pos + n]);
            slot.pos += n;
            if slot.pos == slot.chunk.len() {
                slot.chunk.clear();
                slot.pos = 0;
            }
            this.received += n as u64;
            return Poll::Ready(Ok(n));
        }
        match slot.state {
            BodyState::Eof => Poll::Ready(Ok(0)),
            BodyState::Failed(kind) => Poll::Ready(Err(kind.to_error().into())),
            BodyState::Reading => {
                if slot.park_reader(cx.waker()) {
                    drop(slot);
                    shared.wake_conn();
                }
                Poll::Pending
            }
        }
    }
}

impl Stream for RequestBody {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .poll_chunk(cx)
            .map(|r| r.map_err(io::Error::from).transpose())
    }
}

impl Body for RequestBody {
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame>>> {
        self.poll_next(cx).map(|c| c.map(|r| r.map(Frame::Data)))
    }

    fn length(&self) -> Option<u64> {
        self.length
    }
}

impl FromIterator<(String, String)> for Form {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self {
            pairs: pairs.into_iter().collect(),
        }
    }
}

impl Form {
    /// Decode `application/x-www-form-urlencoded` bytes: `&`-separated `name=value`
    /// pairs, `+` as space, `%XX` escapes. Lenient like browsers: a malformed escape is
    /// kept as text and invalid UTF-8 becomes U+FFFD.
    pub fn parse(input: &[u8]) -> Self {
        let pairs = input
            .split(|&b| b == b'&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (name, value) = match pair.iter().position(|&b| b == b'=') {
                    Some(i) => (&pair[..i], &pair[i + 1..]),
                    None => (pair, &b""[..]),
                };
                (percent_decode(name), percent_decode(value))
            })
            .collect();
        Self { pairs }
    }

    /// Append a decoded pair.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((name.into(), value.into()));
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Decode `+` and `%XX` (urlencoded form rules).
pub fn percent_decode(input: &[u8]) -> String {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => match (hex(input[i + 1]), hex(input[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode(b"a+b%20c"), "a b c");
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%zz%4"), "%zz%4");
        assert_eq!(percent_decode(b"%41"), "A");
        assert_eq!(percent_decode(b"%ff"), "\u{fffd}");
    }

    #[test]
    fn form_pairs_keep_order_and_empty_values() {
        let f = Form::parse(b"a=1&&b&c=x%3Dy");
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            [("a", "1"), ("b", ""), ("c", "x=y")]
        );
        assert_eq!(f.len(), 3);
    }
}
