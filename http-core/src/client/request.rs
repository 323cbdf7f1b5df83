//! [`Request`]: a request head to send, and its serializer (RFC 9112 §3, §6, §7).

use super::error::RequestError;
use crate::encode;
use crate::head::{Headers, Version, is_tchar};
use crate::parse::{is_valid_host, parse_digits, trim};

/// A request head to send: method, target, version, headers in insertion order with
/// their case preserved, and the body length the engine frames with.
///
/// The engine writes the framing headers itself (`Content-Length`, `Transfer-Encoding`)
/// from [`Request::content_length`]; a `Content-Length` or `Transfer-Encoding` among the
/// headers is not copied out. A valid `Content-Length` header sets the length unless
/// [`Request::content_length`] set one (the default is no body).
///
/// ```
/// let mut req = h1_core::client::Request::new("POST", "/upload");
/// req.header("Host", "example.com").content_length(Some(5));
/// assert_eq!((req.method(), req.target(), req.length()), ("POST", "/upload", Some(5)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    target: String,
    version: Version,
    headers: Headers,
    length: Option<u64>,
    /// Whether [`Request::content_length`] was called; if not, a `Content-Length` header
    /// sets the length.
    length_set: bool,
}

impl Request {
    /// An HTTP/1.1 request for `method` and `target`, with no headers and no body.
    pub fn new(method: &str, target: &str) -> Self {
        Self {
            method: method.to_owned(),
            target: target.to_owned(),
            version: Version::Http11,
            headers: Headers::new(),
            length: Some(0),
            length_set: false,
        }
    }

    /// Set the HTTP version (default HTTP/1.1).
    pub fn set_version(&mut self, version: Version) -> &mut Self {
        self.version = version;
        self
    }

    /// Append a header. `Host` is required on HTTP/1.1 (RFC 9112 §3.2).
    /// `Expect: 100-continue` makes [`Connection::wants_continue`] hold until the server
    /// answers; `Connection: close` ends the connection after this exchange; `Upgrade`
    /// offers a protocol switch, which a `101` response accepts.
    ///
    /// [`Connection::wants_continue`]: super::Connection::wants_continue
    pub fn header(&mut self, name: &str, value: impl AsRef<[u8]>) -> &mut Self {
        self.headers.append(name, value);
        self
    }

    /// The body length: `Some(n)` sends `Content-Length: n` (default `Some(0)`, no body);
    /// `None` means unknown: chunked, which needs HTTP/1.1.
    ///
    /// An empty body is sent without `Content-Length` unless this was called or the method
    /// is `POST`, `PUT` or `PATCH` (RFC 9110 §8.6).
    pub fn content_length(&mut self, length: Option<u64>) -> &mut Self {
        self.length = length;
        self.length_set = true;
        self
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request-target.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.version
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
}

/// How a request body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyOut {
    /// Content-Length: bytes still allowed.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
}

/// What the engine remembers of a request it sent, to read its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sent {
    pub(crate) is_head: bool,
    pub(crate) is_connect: bool,
    /// An `Upgrade` header was sent: a 101 may answer.
    pub(crate) upgrade: bool,
    /// `Expect: 100-continue` on HTTP/1.1.
    pub(crate) expect_continue: bool,
    /// The connection closes after this exchange (`Connection: close`, or HTTP/1.0
    /// without `Connection: keep-alive`).
    pub(crate) close: bool,
}

/// Write `req`'s head into `out`; nothing is left in `out` on error.
pub(crate) fn write_head(
    req: &Request,
    out: &mut Vec<u8>,
) -> Result<(Sent, BodyOut), RequestError> {
    let method = req.method.as_bytes();
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(RequestError::InvalidMethod);
    }
    if !is_valid_target(&req.method, req.target.as_bytes()) {
        return Err(RequestError::InvalidTarget);
    }
    if !req.headers.is_valid() {
        return Err(RequestError::InvalidHeader);
    }
    let mut sent = Sent {
        is_head: req.method == "HEAD",
        is_connect: req.method == "CONNECT",
        upgrade: false,
        expect_continue: false,
        close: false,
    };
    let mut keep_alive = false;
    let mut length = req.length;
    let mut hosts = 0;
    let mark = out.len();
    out.reserve(64 + req.target.len() + req.headers.capacity_hint());
    out.extend_from_slice(method);
    out.push(b' ');
    out.extend_from_slice(req.target.as_bytes());
    out.push(b' ');
    out.extend_from_slice(req.version.as_str().as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in req.headers.iter() {
        let n = name.as_bytes();
        match (n.len(), n[0] | 0x20) {
            (14, b'c') if n.eq_ignore_ascii_case(b"content-length") => {
                if !req.length_set {
                    length = parse_digits(trim(value)).or(length);
                }
                continue;
            }
            (17, b't') if n.eq_ignore_ascii_case(b"transfer-encoding") => continue,
            (4, b'h') if n.eq_ignore_ascii_case(b"host") => {
                hosts += 1;
                if hosts > 1 || !is_valid_host(value, false) {
                    out.truncate(mark);
                    return Err(RequestError::InvalidHost);
                }
            }
            (10, b'c') if n.eq_ignore_ascii_case(b"connection") => {
                for token in value.split(|&b| b == b',') {
                    let token = trim(token);
                    sent.close |= token.eq_ignore_ascii_case(b"close");
                    keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            (7, b'u') if n.eq_ignore_ascii_case(b"upgrade") => sent.upgrade = true,
            (6, b'e') if n.eq_ignore_ascii_case(b"expect") => {
                sent.expect_continue |= trim(value).eq_ignore_ascii_case(b"100-continue");
            }
            _ => {}
        }
        out.extend_from_slice(n);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if hosts == 0 && req.version == Version::Http11 {
        out.truncate(mark);
        return Err(RequestError::MissingHost);
    }
    if req.version == Version::Http10 {
        // RFC 9112 §9.3: HTTP/1.0 persists only with keep-alive; RFC 9110 §10.1.1:
        // 100-continue is an HTTP/1.1 expectation.
        sent.close |= !keep_alive;
        sent.expect_continue = false;
    }
    let body = match length {
        Some(n) => {
            let anticipated = matches!(req.method.as_str(), "POST" | "PUT" | "PATCH");
            if n > 0 || req.length_set || anticipated {
                out.extend_from_slice(b"Content-Length: ");
                out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            BodyOut::Length(n)
        }
        None if req.version == Version::Http11 => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            BodyOut::Chunked
        }
        None => {
            out.truncate(mark);
            return Err(RequestError::LengthRequired);
        }
    };
    out.extend_from_slice(b"\r\n");
    Ok((sent, body))
}

/// Write the framing before `len` body bytes; the bytes to write after them.
pub(crate) fn data_framing(
    body: &mut BodyOut,
    len: usize,
    out: &mut Vec<u8>,
) -> Result<&'static [u8], RequestError> {
    match body {
        BodyOut::Length(left) => {
            if len as u64 > *left {
                return Err(RequestError::BodyTooLong);
            }
            *left -= len as u64;
            Ok(b"")
        }
        BodyOut::Chunked => {
            encode::push_chunk_size(out, len);
            Ok(b"\r\n")
        }
    }
}

/// Write the end of a body: nothing for a complete Content-Length body, the last chunk and
/// `trailers` for a chunked one.
pub(crate) fn write_end(
    body: BodyOut,
    trailers: Option<&Headers>,
    out: &mut Vec<u8>,
) -> Result<(), RequestError> {
    match body {
        BodyOut::Length(0) => Ok(()),
        BodyOut::Length(_) => Err(RequestError::BodyTooShort),
        BodyOut::Chunked if encode::push_last_chunk(out, trailers) => Ok(()),
        BodyOut::Chunked => Err(RequestError::InvalidHeader),
    }
}

/// RFC 9112 §3.2: authority-form for CONNECT only; `*` for OPTIONS only; otherwise
/// origin-form or absolute-form. Visible ASCII only.
fn is_valid_target(method: &str, target: &[u8]) -> bool {
    if target.is_empty() || !target.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return false;
    }
    if method == "CONNECT" {
        return is_valid_host(target, true);
    }
    if target[0] == b'/' {
        return true;
    }
    if target == b"*" {
        return method == "OPTIONS";
    }
    let Some(colon) = target.iter().position(|&b| b == b':') else {
        return false;
    };
    let scheme = &target[..colon];
    scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && target[colon..].starts_with(b"://")
}
