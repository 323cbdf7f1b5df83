//! [`RequestHead`] and [`TargetForm`]: a parsed request head.

use std::fmt;

use super::headers::{Headers, Span};
use super::version::Version;

/// The request-target form (RFC 9112 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`
    Origin,
    /// `http://host/path?query`
    Absolute,
    /// `host:port`, for CONNECT only.
    Authority,
    /// `*`, for OPTIONS only.
    Asterisk,
}

/// A parsed request head: method, target, version and headers.
///
/// The head [`Event::Head`](crate::Event::Head) and [`Connection::head`](crate::Connection::head)
/// lend out is a view of the connection's receive buffer, parsed in place; a clone, and
/// the head [`Connection::take_head`](crate::Connection::take_head) and
/// [`Connection::swap_head`](crate::Connection::swap_head) hand over, own their bytes.
///
/// ```
/// let mut conn = h1_core::Connection::new(h1_core::Config::default());
/// conn.receive(b"GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
/// let h1_core::Next::Event(h1_core::Event::Head(head)) = conn.next_event().unwrap() else {
///     panic!("expected a head")
/// };
/// assert_eq!((head.method(), head.path(), head.query()), ("GET", "/a/b", Some("x=1")));
/// assert_eq!(head.headers().get_str("host"), Some("example.com"));
/// ```
#[derive(Clone)]
pub struct RequestHead {
    pub(crate) headers: Headers,
    pub(crate) method: Span,
    pub(crate) target: Span,
    pub(crate) version: Version,
    pub(crate) form: TargetForm,
}

impl Default for RequestHead {
    fn default() -> Self {
        let empty = Span { start: 0, end: 0 };
        Self {
            headers: Headers::new(),
            method: empty,
            target: empty,
            version: Version::Http11,
            form: TargetForm::Origin,
        }
    }
}

/// Equal when method, target, version and header fields are (as bytes).
impl PartialEq for RequestHead {
    fn eq(&self, other: &Self) -> bool {
        fn raw(h: &RequestHead, span: Span) -> &[u8] {
            &h.headers.raw()[span.range()]
        }
        raw(self, self.method) == raw(other, other.method)
            && raw(self, self.target) == raw(other, other.target)
            && self.version == other.version
            && self.form == other.form
            && self.headers == other.headers
    }
}

impl Eq for RequestHead {}

impl RequestHead {
    /// The method, such as `GET`, case-sensitive as sent (RFC 9110 §9.1).
    pub fn method(&self) -> &str {
        self.str_at(self.method)
    }

    /// The request-target as sent, such as `/a/b?x=1`.
    pub fn target(&self) -> &str {
        self.str_at(self.target)
    }

    /// The form of the request-target.
    pub fn target_form(&self) -> TargetForm {
        self.form
    }

    /// The path of the target without the query: `/a/b` for `/a/b?x=1` and for
    /// `http://h/a/b?x=1`; `*` for the asterisk form; empty for the authority form.
    pub fn path(&self) -> &str {
        let target = self.target();
        match self.form {
            TargetForm::Asterisk => target,
            TargetForm::Authority => "",
            TargetForm::Origin => target.split_once('?').map_or(target, |(p, _)| p),
            TargetForm::Absolute => {
                let after_scheme = target.find("://").map_or(target, |i| &target[i + 3..]);
                let path_start = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
                let rest = &after_scheme[path_start..];
                let path = rest.split_once('?').map_or(rest, |(p, _)| p);
                if path.is_empty() { "/" } else { path }
            }
        }
    }

    /// The query of the target without the `?`, if it has one.
    pub fn query(&self) -> Option<&str> {
        match self.form {
            TargetForm::Origin | TargetForm::Absolute => {
                self.target().split_once('?').map(|(_, q)| q)
            }
            _ => None,
        }
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The headers, in order, with their case preserved.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// Whether the method is `HEAD`.
    #[inline]
    pub fn is_head(&self) -> bool {
        // The raw bytes, without the UTF-8 check `method()` makes.
        &self.headers.raw()[self.method.range()] == b"HEAD"
    }

    /// Become an owned copy of `src`, reusing this head's allocations.
    pub(crate) fn copy_from(&mut self, src: &Self) {
        self.headers.copy_from(&src.headers);
        self.method = src.method;
        self.target = src.target;
        self.version = src.version;
        self.form = src.form;
    }

    /// Empty, as [`RequestHead::default`], keeping the buffer (a connection's receive
    /// buffer, for the head it parses into).
    pub(crate) fn clear_view(&mut self) {
        let empty = Span { start: 0, end: 0 };
        self.headers.drop_view();
        self.method = empty;
        self.target = empty;
        self.version = Version::Http11;
        self.form = TargetForm::Origin;
    }

    fn str_at(&self, span: Span) -> &str {
        // Method and target are checked by httparse to be visible ASCII (or UTF-8 checked
        // when parsed); fall back to "" rather than panic.
        std::str::from_utf8(&self.headers.raw()[span.range()]).unwrap_or("")
    }
}

impl fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", &self.method())
            .field("target", &self.target())
            .field("version", &self.version)
            .field("headers", &self.headers)
            .finish()
    }
}
