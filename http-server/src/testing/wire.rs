//! [`WireResponse`]: a response read off the bytes a [`TestConnection`](super::TestConnection)
//! received, parsed by h1-core's client role ([`h1_core::client`]).

use h1_core::client::{Connection, Event, Next, Request};

/// One response a [`TestConnection`](super::TestConnection) read, parsed by h1-core's
/// client role ([`h1_core::client`]) with every framing rule of RFC 9112 §6.3: a response
/// to `HEAD`, a `1xx`, `204` or `304` has no body; chunked (with trailers), then
/// `Content-Length`, then close-delimited.
///
/// ```
/// use h1_server::testing::TestConnection;
/// use h1_server::{Request, Response, ServerConfig};
///
/// futures_lite::future::block_on(async {
///     let handler = |_req: Request| async { Response::text(200, "hello") };
///     let mut conn = TestConnection::new(handler, ServerConfig::new());
///     conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
///     let res = conn.read_response().await;
///     assert_eq!(res.status, 200);
///     assert_eq!(res.version, "HTTP/1.1");
///     assert_eq!(res.header("content-length"), Some("5"));
///     assert_eq!(res.text(), "hello");
///     assert!(!res.chunked && !res.close_delimited && !res.is_close());
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WireResponse {
    /// `"HTTP/1.1"` or `"HTTP/1.0"`.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The head as sent, up to and including the blank line.
    pub head: String,
    /// The header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, with chunked framing removed.
    pub body: Vec<u8>,
    /// Whether the body came chunked.
    pub chunked: bool,
    /// The trailer fields after a chunked body.
    pub trailers: Vec<(String, String)>,
    /// Whether the body ran until the server closed the connection.
    pub close_delimited: bool,
}

impl WireResponse {
    /// The first header field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many header fields are named `name` (case-insensitive).
    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// The values of every header field named `name` (case-insensitive), in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text.
    ///
    /// # Panics
    ///
    /// When the body is not UTF-8.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("the response body is not UTF-8")
    }

    /// Whether the server said it closes the connection (`Connection: close`).
    pub fn is_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// Whether the status is interim (`1xx`).
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status)
    }

    /// Parse one response off the front of `bytes`, with the same rules as
    /// [`TestConnection::read_response`](super::TestConnection::read_response): for bytes
    /// read from any transport, such as a real socket. `eof` says no more bytes will come
    /// (a close-delimited body ends there); `head_request` reads the answer to a `HEAD`.
    /// Returns the response and how many bytes it used, or `None` when more are needed.
    ///
    /// ```
    /// use h1_server::testing::WireResponse;
    ///
    /// let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 204 No";
    /// let (res, used) = WireResponse::parse(bytes, false, false).unwrap();
    /// assert_eq!((res.status, res.text(), used), (200, "hi", 40));
    /// assert!(WireResponse::parse(&bytes[used..], false, false).is_none());
    /// ```
    ///
    /// # Panics
    ///
    /// When the bytes break the protocol (the message names the error and shows them).
    pub fn parse(bytes: &[u8], eof: bool, head_request: bool) -> Option<(Self, usize)> {
        match parse(bytes, eof, head_request) {
            Parsed::Done(res, used) => Some((res, used)),
            Parsed::Incomplete => None,
        }
    }
}

/// What [`parse`] found.
pub(super) enum Parsed {
    /// A whole response and the bytes it used.
    Done(WireResponse, usize),
    /// More bytes are needed.
    Incomplete,
}

/// Parse one response off the front of `bytes` (`eof`: no more will come), as the answer
/// to a `HEAD` request when `head_request`.
///
/// # Panics
///
/// When the bytes break the protocol (the message names the error and shows the bytes).
pub(super) fn parse(bytes: &[u8], eof: bool, head_request: bool) -> Parsed {
    let mut client = Connection::new(h1_core::Config::default());
    let mut req = Request::new(if head_request { "HEAD" } else { "GET" }, "/");
    // Offer an upgrade so that a `101` is a response like any other.
    req.header("Host", "test").header("Upgrade", "test");
    let mut sink = Vec::new();
    client.send_head(&req, &mut sink).expect("request head");
    client.send_end(None, &mut sink).expect("request end");
    client.receive(bytes);
    if eof {
        client.receive_eof();
    }
    let mut res: Option<WireResponse> = None;
    let mut head_len = 0;
    loop {
        let step = match client.next_event() {
            Ok(Next::Event(Event::Interim(head))) => Step::Interim(wire_head(head)),
            Ok(Next::Event(Event::Head(head))) => Step::Head(wire_head(head)),
            Ok(Next::Event(Event::Data(data))) => Step::Data(data.to_vec()),
            Ok(Next::Event(Event::Trailers(fields))) => Step::Trailers(pairs(fields.iter())),
            Ok(Next::Event(Event::End)) => Step::End,
            Ok(Next::Upgraded) => Step::Upgraded,
            Ok(Next::NeedData) => return Parsed::Incomplete,
            Ok(Next::Closed) => {
                assert!(
                    res.is_none(),
                    "the connection closed inside a response: {:?}",
                    String::from_utf8_lossy(bytes)
                );
                return Parsed::Incomplete;
            }
            Err(e) => panic!(
                "the server sent an invalid response ({e}): {:?}",
                String::from_utf8_lossy(bytes)
            ),
        };
        let used = bytes.len() - client.buffered_len();
        match step {
            Step::Interim(mut r) => {
                r.head = String::from_utf8_lossy(&bytes[..used]).into_owned();
                return Parsed::Done(r, used);
            }
            Step::Head(mut r) => {
                head_len = used;
                r.head = String::from_utf8_lossy(&bytes[..used]).into_owned();
                res = Some(r);
            }
            Step::Data(data) => res.as_mut().expect("data before a head").body.extend(data),
            Step::Trailers(fields) => {
                res.as_mut().expect("trailers before a head").trailers = fields
            }
            Step::End | Step::Upgraded => {
                let upgraded = matches!(step, Step::Upgraded);
                let mut r = res.expect("an end before a head");
                let bodyless = head_request || upgraded || matches!(r.status, 204 | 304);
                r.chunked = !bodyless
                    && r.header("transfer-encoding")
                        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
                r.close_delimited = !bodyless && !r.chunked && r.header("content-length").is_none();
                return Parsed::Done(r, if upgraded { head_len } else { used });
            }
        }
    }
}

/// An event of the client role, owned.
enum Step {
    Interim(WireResponse),
    Head(WireResponse),
    Data(Vec<u8>),
    Trailers(Vec<(String, String)>),
    End,
    Upgraded,
}

fn wire_head(head: &h1_core::client::Response) -> WireResponse {
    WireResponse {
        version: head.version().as_str().to_owned(),
        status: head.status(),
        head: String::new(),
        headers: pairs(head.headers().iter()),
        body: Vec::new(),
        chunked: false,
        trailers: Vec::new(),
        close_delimited: false,
    }
}

fn pairs<'a>(fields: impl Iterator<Item = (&'a str, &'a [u8])>) -> Vec<(String, String)> {
    fields
        .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}
