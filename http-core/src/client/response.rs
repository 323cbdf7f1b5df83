//! [`Response`]: a parsed response head, owned.

use std::fmt;
use std::ops::Range;

use crate::head::{Headers, Version};

/// A parsed response head: version, status, reason phrase and headers, owned. Headers are
/// stored as offsets into one copy of the head's bytes, reused from one response to the
/// next.
///
/// ```
/// use h1_core::client::{Connection, Event, Next, Request};
///
/// let mut conn = Connection::new(h1_core::Config::default());
/// let mut out = Vec::new();
/// conn.send_head(Request::new("GET", "/").header("Host", "a"), &mut out).unwrap();
/// conn.send_end(None, &mut out).unwrap();
/// conn.receive(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
/// let Next::Event(Event::Head(head)) = conn.next_event().unwrap() else { panic!() };
/// assert_eq!((head.status(), head.reason()), (404, "Not Found"));
/// assert_eq!(head.headers().get_str("content-length"), Some("0"));
/// ```
#[derive(Clone)]
pub struct Response {
    pub(crate) headers: Headers,
    pub(crate) status: u16,
    pub(crate) version: Version,
    /// The reason phrase, as offsets into the head's bytes.
    pub(crate) reason: Range<u32>,
}

impl Default for Response {
    fn default() -> Self {
        Self {
            headers: Headers::new(),
            status: 0,
            version: Version::Http11,
            reason: 0..0,
        }
    }
}

/// Equal when version, status, reason phrase and header fields are (as bytes).
impl PartialEq for Response {
    fn eq(&self, other: &Self) -> bool {
        self.status == other.status
            && self.version == other.version
            && self.reason_bytes() == other.reason_bytes()
            && self.headers == other.headers
    }
}

impl Eq for Response {}

impl Response {
    /// The status code, 100..=999.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is interim (1xx).
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status)
    }

    /// The HTTP version of the status line.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The reason phrase, or `""` when it is missing or not UTF-8 (RFC 9112 §4: a client
    /// should ignore it).
    pub fn reason(&self) -> &str {
        std::str::from_utf8(self.reason_bytes()).unwrap_or("")
    }

    /// The reason phrase as received (it may hold obs-text bytes).
    pub fn reason_bytes(&self) -> &[u8] {
        let r = self.reason.start as usize..self.reason.end as usize;
        self.headers.raw().get(r).unwrap_or(b"")
    }

    /// The headers, in order, with their case preserved.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("version", &self.version)
            .field("status", &self.status)
            .field("reason", &String::from_utf8_lossy(self.reason_bytes()))
            .field("headers", &self.headers)
            .finish()
    }
}
