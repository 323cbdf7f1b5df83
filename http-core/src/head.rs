//! Owned message heads. Header names and values are stored as offsets into one byte
//! buffer per head, so a head is at most two allocations and both are reused across
//! requests on a connection.

use std::fmt;
use std::ops::Range;

/// The HTTP version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1
    Http11,
}

impl Version {
    /// `"HTTP/1.0"` or `"HTTP/1.1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One field of a [`Headers`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// Name and value stored in the list's byte buffer.
    Buf { name: Span, value: Span },
    /// A field checked when it was built, in static storage.
    Static(&'static StaticHeader),
}

impl Entry {
    fn name<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        match *self {
            Self::Buf { name, .. } => &buf[name.range()],
            Self::Static(h) => h.name.as_bytes(),
        }
    }

    fn value<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        match *self {
            Self::Buf { value, .. } => &buf[value.range()],
            Self::Static(h) => h.value.as_bytes(),
        }
    }
}

/// The entries of a [`Headers`] list: a single field is kept inline, so a response
/// with one header (such as [`Headers::push_static`]'s `Content-Type`) allocates nothing.
#[derive(Debug, Clone, Default)]
enum Entries {
    #[default]
    Empty,
    One(Entry),
    /// Kept once allocated, also when cleared, so a reused list does not allocate again.
    Many(Vec<Entry>),
}

impl Entries {
    fn as_slice(&self) -> &[Entry] {
        match self {
            Self::Empty => &[],
            Self::One(e) => std::slice::from_ref(e),
            Self::Many(v) => v,
        }
    }

    fn len(&self) -> usize {
        self.as_slice().len()
    }

    #[inline]
    fn push(&mut self, entry: Entry) {
        match self {
            Self::Empty => *self = Self::One(entry),
            Self::One(first) => {
                let mut v = Vec::with_capacity(4);
                v.push(*first);
                v.push(entry);
                *self = Self::Many(v);
            }
            Self::Many(v) => v.push(entry),
        }
    }

    /// Room for `more` entries in one allocation (more than one only).
    #[inline]
    fn reserve(&mut self, more: usize) {
        match self {
            Self::Many(v) => v.reserve(more),
            _ if self.len() + more > 1 => {
                let mut v = Vec::with_capacity(self.len() + more);
                v.extend_from_slice(self.as_slice());
                *self = Self::Many(v);
            }
            _ => {}
        }
    }

    fn retain(&mut self, keep: impl FnMut(&Entry) -> bool) {
        match self {
            Self::Empty => {}
            Self::One(e) => {
                let mut keep = keep;
                if !keep(e) {
                    *self = Self::Empty;
                }
            }
            Self::Many(v) => v.retain(keep),
        }
    }

    fn clear(&mut self) {
        match self {
            Self::Many(v) => v.clear(),
            _ => *self = Self::Empty,
        }
    }
}

/// A header field checked when it is built, for [`Headers::push_static`]: adding it to a
/// list copies and checks nothing.
///
/// Build it in a `const` or `static`: [`StaticHeader::new`] then checks the name and
/// value at compile time.
///
/// ```
/// use http_core::{Headers, StaticHeader};
///
/// static SERVER: StaticHeader = StaticHeader::new("Server", "example/1.0");
///
/// let mut h = Headers::new();
/// h.push_static(&SERVER);
/// assert_eq!(h.get_str("server"), Some("example/1.0"));
/// ```
///
/// An invalid field does not compile:
///
/// ```compile_fail
/// static BAD: http_core::StaticHeader = http_core::StaticHeader::new("Bad", "a\r\nb");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaticHeader {
    name: &'static str,
    value: &'static str,
}

impl StaticHeader {
    /// A field named `name` with `value`.
    ///
    /// # Panics
    ///
    /// If `name` is not a token or `value` has CR, LF, NUL, other controls, or leading or
    /// trailing whitespace (RFC 9110 §5.1, §5.5); in a `const` or `static`, that is a
    /// compile error.
    pub const fn new(name: &'static str, value: &'static str) -> Self {
        assert!(
            const_valid_name(name.as_bytes()),
            "StaticHeader: the name is not a token"
        );
        assert!(
            const_valid_value(value.as_bytes()),
            "StaticHeader: the value has a control byte or surrounding whitespace"
        );
        Self { name, value }
    }

    /// The name, as given.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The value.
    pub const fn value(&self) -> &'static str {
        self.value
    }
}

/// [`is_valid_name`], usable in a `const`.
const fn const_valid_name(name: &[u8]) -> bool {
    if name.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < name.len() {
        let b = name[i];
        let tchar = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        if !tchar {
            return false;
        }
        i += 1;
    }
    true
}

/// [`is_valid_value`], usable in a `const`.
const fn const_valid_value(value: &[u8]) -> bool {
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if (b < 0x20 && b != b'\t') || b == 0x7f {
            return false;
        }
        i += 1;
    }
    !matches!(
        (value.first(), value.last()),
        (Some(b' ' | b'\t'), _) | (_, Some(b' ' | b'\t'))
    )
}

/// An ordered list of header fields, names with their case preserved, stored as offsets
/// into one owned byte buffer.
///
/// Lookups by name are ASCII case-insensitive. Values are bytes (RFC 9110 §5.5 allows
/// obs-text); [`Headers::get_str`] gives a value as `&str` when it is UTF-8.
///
/// Two lists are equal when they hold the same fields (names and values, byte for byte)
/// in the same order, however the fields were added.
///
/// ```
/// let mut h = http_core::Headers::new();
/// h.append("Content-Type", "text/plain").append("Set-Cookie", "a=1").append("set-cookie", "b=2");
/// assert_eq!(h.get("content-type"), Some(&b"text/plain"[..]));
/// assert_eq!(h.get_all("Set-Cookie").count(), 2);
/// assert_eq!(h.iter().next().unwrap().0, "Content-Type");
/// ```
#[derive(Clone)]
pub struct Headers {
    buf: Vec<u8>,
    entries: Entries,
    /// Whether every name is a token and every value free of CR, LF and NUL: checked as
    /// fields are appended, so serializing does not scan them again.
    valid: bool,
}

impl Default for Headers {
    fn default() -> Self {
        Self {
            buf: Vec::new(),
            entries: Entries::Empty,
            valid: true,
        }
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter_bytes().eq(other.iter_bytes())
    }
}

impl Eq for Headers {}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a field at the end. Names and values are not checked here; the engine refuses
    /// invalid ones when it serializes ([`SendError::InvalidHeader`]).
    ///
    /// [`SendError::InvalidHeader`]: crate::SendError::InvalidHeader
    pub fn append(&mut self, name: &str, value: impl AsRef<[u8]>) -> &mut Self {
        let value = value.as_ref();
        self.valid &= is_valid_name(name.as_bytes()) && is_valid_value(value);
        // Grow once per field (and start at a size that fits a typical response's few
        // headers), never once per name and again per value.
        let need = name.len() + value.len();
        if self.buf.capacity() - self.buf.len() < need {
            self.buf.reserve(need.max(128));
        }
        let name = self.push_bytes(name.as_bytes());
        let value = self.push_bytes(value);
        self.entries.push(Entry::Buf { name, value });
        self
    }

    /// Add a field checked when it was built, at the end: nothing is copied or checked,
    /// and a list of one such field allocates nothing.
    ///
    /// ```
    /// use http_core::{Headers, StaticHeader};
    ///
    /// static TEXT: StaticHeader = StaticHeader::new("Content-Type", "text/plain");
    ///
    /// let mut h = Headers::new();
    /// h.push_static(&TEXT).append("X-Id", "7");
    /// let fields: Vec<_> = h.iter().collect();
    /// assert_eq!(fields, [("Content-Type", &b"text/plain"[..]), ("X-Id", &b"7"[..])]);
    /// ```
    #[inline]
    pub fn push_static(&mut self, field: &'static StaticHeader) -> &mut Self {
        self.entries.push(Entry::Static(field));
        self
    }

    /// Replace every field named `name` by one with `value` (appended if none existed).
    pub fn set(&mut self, name: &str, value: impl AsRef<[u8]>) -> &mut Self {
        self.remove(name);
        self.append(name, value)
    }

    /// Remove every field named `name`; returns whether any was present.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.entries.len();
        let buf = &self.buf;
        self.entries
            .retain(|e| !e.name(buf).eq_ignore_ascii_case(name.as_bytes()));
        if !self.valid {
            let valid = self
                .iter_bytes()
                .all(|(n, v)| is_valid_name(n) && is_valid_value(v));
            self.valid = valid;
        }
        before != self.entries.len()
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter_bytes()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// The first value of `name`, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter_bytes()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Whether a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.contains_bytes(name.as_bytes())
    }

    /// The fields in order, as (name, value).
    pub fn iter(&self) -> HeaderIter<'_> {
        HeaderIter {
            headers: self,
            next: 0,
        }
    }

    /// Bytes of storage allocated for names and values (reused after [`clear`](Self::clear)).
    pub fn capacity_hint(&self) -> usize {
        self.buf.capacity()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remove every field, keeping the allocations.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.entries.clear();
        self.valid = true;
    }

    /// Whether every field has a token name and a value without CR, LF, NUL or other
    /// controls (RFC 9110 §5.1, §5.5): what the engine requires to serialize them.
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// Name and value of field `index`.
    fn entry(&self, index: usize) -> Option<(&str, &[u8])> {
        let e = self.entries.as_slice().get(index)?;
        let name = match *e {
            // Names are checked tokens when parsed and `&str` when appended: always UTF-8.
            Entry::Buf { name, .. } => std::str::from_utf8(&self.buf[name.range()]).unwrap_or(""),
            Entry::Static(h) => h.name,
        };
        Some((name, e.value(&self.buf)))
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> Span {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(bytes);
        Span {
            start,
            end: self.buf.len() as u32,
        }
    }

    /// Restart as a copy of `raw` with no fields; fields are then added by offset.
    pub(crate) fn reset_with_raw(&mut self, raw: &[u8]) {
        self.clear();
        self.buf.extend_from_slice(raw);
    }

    pub(crate) fn raw(&self) -> &[u8] {
        &self.buf
    }

    #[inline]
    pub(crate) fn reserve(&mut self, fields: usize) {
        self.entries.reserve(fields);
    }

    #[inline]
    pub(crate) fn push_offsets(&mut self, name: Range<usize>, value: Range<usize>) {
        self.entries.push(Entry::Buf {
            name: Span {
                start: name.start as u32,
                end: name.end as u32,
            },
            value: Span {
                start: value.start as u32,
                end: value.end as u32,
            },
        });
    }

    /// Append every field as `Name: value\r\n` to `out`, if all are valid.
    pub(crate) fn write_checked(&self, out: &mut Vec<u8>) -> bool {
        if !self.valid {
            return false;
        }
        for (name, value) in self.iter_bytes() {
            out.extend_from_slice(name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        true
    }

    /// The fields as raw (name, value) bytes, without UTF-8 checks.
    pub(crate) fn iter_bytes(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.entries
            .as_slice()
            .iter()
            .map(|e| (e.name(&self.buf), e.value(&self.buf)))
    }

    /// Whether a field named `name` is present (bytes form).
    pub(crate) fn contains_bytes(&self, name: &[u8]) -> bool {
        self.iter_bytes().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Bytes of names and values stored in the buffer (static fields not counted).
    pub(crate) fn raw_len(&self) -> usize {
        self.buf.len()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(n, v)| (n, String::from_utf8_lossy(v))))
            .finish()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a [u8]);
    type IntoIter = HeaderIter<'a>;
    fn into_iter(self) -> HeaderIter<'a> {
        self.iter()
    }
}

/// Iterator over a [`Headers`] list, yielding (name, value) in order.
#[derive(Debug, Clone)]
pub struct HeaderIter<'a> {
    headers: &'a Headers,
    next: usize,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a str, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let item = self.headers.entry(self.next)?;
        self.next += 1;
        Some(item)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.headers.len() - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for HeaderIter<'_> {}

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

/// A parsed request head: method, target, version and headers, owned.
///
/// ```
/// let mut conn = http_core::Connection::new(Default::default());
/// conn.receive(b"GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
/// let http_core::Next::Event(http_core::Event::Head(head)) = conn.next_event().unwrap() else {
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
/// let mut head = http_core::ResponseHead::new(200);
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

/// Whether `name` is a non-empty token (RFC 9110 §5.1, §5.6.2).
pub(crate) fn is_valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| is_tchar(b))
}

/// Whether `value` has no CR, LF, NUL or other control bytes except HTAB, and no
/// leading or trailing whitespace (RFC 9110 §5.5).
pub(crate) fn is_valid_value(value: &[u8]) -> bool {
    // Branch-free over the bytes so the compiler can vectorize it.
    let bad = value.iter().fold(false, |bad, &b| {
        bad | ((b < 0x20) & (b != b'\t')) | (b == 0x7f)
    });
    !bad && !value.first().is_some_and(|&b| b == b' ' || b == b'\t')
        && !value.last().is_some_and(|&b| b == b' ' || b == b'\t')
}

/// tchar (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHARS[b as usize]
}

static TCHARS: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    let extra = b"!#$%&'*+-.^_`|~";
    let mut j = 0;
    while j < extra.len() {
        t[extra[j] as usize] = true;
        j += 1;
    }
    t
};
