//! [`ResponseHead`]: a response head to send.

use super::headers::Headers;

/// A response head to send: status, optional custom reason, headers in insertion order
/// with their case preserved, and the body length the engine frames with.
///
/// The engine writes the framing headers itself (`Content-Length`,
/// `Transfer-Encoding`, `Connection`) from [`ResponseHead::content_length`] and the
/// connection state; a `Content-Length` or `Transfer-Encoding` among the headers is not
/// copied out. A valid `Content-Length` header sets the length unless
/// [`ResponseHead::content_length`] set a known one (the default is an empty body).
///
/// ```
/// let mut head = h1_core::ResponseHead::new(200);
/// head.header("Content-Type", "text/plain").content_length(Some(5));
/// assert_eq!(head.status(), 200);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    status: u16,
    reason: Option<String>,
    headers: Headers,
    length: Option<u64>,
    /// Whether [`ResponseHead::content_length`] was called; if not, a `Content-Length`
    /// header sets the length.
    length_set: bool,
}

impl ResponseHead {
    /// A head with `status`, no headers and an empty body (`Content-Length: 0`).
    pub fn new(status: u16) -> Self {
        Self {
            status,
            reason: None,
            headers: Headers::new(),
            length: Some(0),
            length_set: false,
        }
    }

    /// Set the status code.
    pub fn set_status(&mut self, status: u16) -> &mut Self {
        self.status = status;
        self
    }

    /// Use a custom reason phrase instead of the registered one.
    pub fn reason(&mut self, reason: &str) -> &mut Self {
        self.reason = Some(reason.to_owned());
        self
    }

    /// Append a header.
    pub fn header(&mut self, name: &str, value: impl AsRef<[u8]>) -> &mut Self {
        self.headers.append(name, value);
        self
    }

    /// The body length: `Some(n)` sends `Content-Length: n` (default `Some(0)`); `None`
    /// means unknown: chunked on HTTP/1.1, close-delimited on HTTP/1.0.
    pub fn content_length(&mut self, length: Option<u64>) -> &mut Self {
        self.length = length;
        self.length_set = true;
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The custom reason phrase, if one was set.
    pub fn custom_reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, to change them.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The declared body length (`None`: unknown).
    pub fn length(&self) -> Option<u64> {
        self.length
    }

    /// Whether the length was set with [`content_length`](Self::content_length).
    pub fn is_length_set(&self) -> bool {
        self.length_set
    }

    /// Reset to `status` with no headers, keeping allocations.
    pub fn reset(&mut self, status: u16) {
        self.status = status;
        self.reason = None;
        self.headers.clear();
        self.length = Some(0);
        self.length_set = false;
    }
}
