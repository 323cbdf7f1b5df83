//! [`Headers`]: an ordered field list stored as offsets into one owned byte buffer (or,
//! for the head a connection hands out, into the connection's receive buffer).

use std::fmt;
use std::ops::Range;

use super::static_header::StaticHeader;
use super::{is_valid_name, is_valid_value};
use crate::limits::name_len_bit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

fn span(r: Range<usize>) -> Span {
    Span {
        start: r.start as u32,
        end: r.end as u32,
    }
}

impl Span {
    pub(crate) fn range(self) -> Range<usize> {
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
    const EMPTY: Self = Self::Buf {
        name: Span { start: 0, end: 0 },
        value: Span { start: 0, end: 0 },
    };

    fn name<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        match *self {
            Self::Buf { name, .. } => &buf[name.range()],
            Self::Static(h) => h.name().as_bytes(),
        }
    }

    fn value<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        match *self {
            Self::Buf { value, .. } => &buf[value.range()],
            Self::Static(h) => h.value().as_bytes(),
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

    /// Become a copy of `src`, reusing an allocated list.
    fn copy_from(&mut self, src: &Self) {
        match self {
            Self::Many(v) => {
                v.clear();
                v.extend_from_slice(src.as_slice());
            }
            _ => *self = src.clone(),
        }
    }
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
/// let mut h = h1_core::Headers::new();
/// h.append("Content-Type", "text/plain").append("Set-Cookie", "a=1").append("set-cookie", "b=2");
/// assert_eq!(h.get("content-type"), Some(&b"text/plain"[..]));
/// assert_eq!(h.get_all("Set-Cookie").count(), 2);
/// assert_eq!(h.iter().next().unwrap().0, "Content-Type");
/// ```
pub struct Headers {
    /// The bytes the fields' offsets point into: the list's own storage, or for a head
    /// parsed in place (`view`), the connection's whole receive buffer.
    pub(crate) buf: Vec<u8>,
    /// For a head parsed in place: where its bytes are in `buf`. Offsets are relative to
    /// its start. `None`: the list owns `buf` and offsets start at 0.
    view: Option<Span>,
    entries: Entries,
    /// Whether every name is a token and every value free of CR, LF and NUL: checked as
    /// fields are appended, so serializing does not scan them again.
    valid: bool,
    /// Whether `buf` is exactly the fields in order as `Name: value\r\n` lines (only
    /// [`append`](Self::append) was used since the list was last empty), so serializing
    /// them is one copy.
    wire: bool,
    /// The lengths of the names, as bits of [`name_len_bit`] (a superset after
    /// [`remove`](Self::remove), all bits for a parsed head): a writer that treats a few names specially skips its
    /// lookups when none of their lengths is present.
    name_lens: u64,
}

impl Default for Headers {
    fn default() -> Self {
        Self {
            buf: Vec::new(),
            view: None,
            entries: Entries::Empty,
            valid: true,
            wire: true,
            name_lens: 0,
        }
    }
}

/// A clone owns its bytes: one of a head parsed in place copies only the head's bytes.
impl Clone for Headers {
    fn clone(&self) -> Self {
        let mut h = Self::default();
        h.copy_from(self);
        h
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
        self.name_lens |= name_len_bit(name.len());
        // Grow once per field (and start at a size that fits a typical response's few
        // headers), never once per name and again per value. The field is stored as its
        // wire line, so that a list built by `append` alone is serialized in one copy.
        let need = name.len() + value.len() + 4;
        if self.buf.capacity() - self.buf.len() < need {
            self.buf.reserve(need.max(128));
        }
        let name = self.push_bytes(name.as_bytes());
        self.buf.extend_from_slice(b": ");
        let value = self.push_bytes(value);
        self.buf.extend_from_slice(b"\r\n");
        self.entries.push(Entry::Buf { name, value });
        self
    }

    /// Add a field checked when it was built, at the end: nothing is copied or checked,
    /// and a list of one such field allocates nothing.
    ///
    /// ```
    /// use h1_core::{Headers, StaticHeader};
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
        self.name_lens |= name_len_bit(field.name().len());
        self.wire = false;
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
        let mut entries = std::mem::take(&mut self.entries);
        let buf = self.raw();
        entries.retain(|e| !e.name(buf).eq_ignore_ascii_case(name.as_bytes()));
        self.entries = entries;
        if before != self.entries.len() {
            self.wire = false;
        }
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
        debug_assert!(self.view.is_none(), "a view's buffer is the connection's");
        self.view = None;
        self.buf.clear();
        self.entries.clear();
        self.valid = true;
        self.wire = true;
        self.name_lens = 0;
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
            Entry::Buf { name, .. } => std::str::from_utf8(&self.raw()[name.range()]).unwrap_or(""),
            Entry::Static(h) => h.name(),
        };
        Some((name, e.value(self.raw())))
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
        // Parsed heads are not written out: their names' lengths are not gathered.
        self.wire = false;
        self.name_lens = u64::MAX;
        self.buf.extend_from_slice(raw);
    }

    /// The bytes the offsets point into (from the head's start, for a view).
    #[inline]
    pub(crate) fn raw(&self) -> &[u8] {
        match self.view {
            None => &self.buf,
            Some(v) => &self.buf[v.start as usize..],
        }
    }

    /// The bytes the fields were parsed from: the list's own bytes, or only the head's
    /// bytes of a view.
    fn own_bytes(&self) -> &[u8] {
        match self.view {
            None => &self.buf,
            Some(v) => &self.buf[v.range()],
        }
    }

    /// Become an owned copy of `src`, reusing this list's allocations.
    pub(crate) fn copy_from(&mut self, src: &Self) {
        debug_assert!(self.view.is_none(), "a view's buffer is the connection's");
        self.buf.clear();
        self.buf.extend_from_slice(src.own_bytes());
        self.view = None;
        self.entries.copy_from(&src.entries);
        self.valid = src.valid;
        self.wire = src.wire;
        self.name_lens = src.name_lens;
    }

    /// Restart as a parsed head with no fields yet; its offsets are relative to the start
    /// of the view [`set_view`](Self::set_view) records once the head is complete.
    #[inline]
    pub(crate) fn reset_parsed(&mut self) {
        self.entries.clear();
        self.valid = true;
        // Parsed heads are not written out: their names' lengths are not gathered.
        self.wire = false;
        self.name_lens = u64::MAX;
    }

    /// The parsed head is `buf[range]`.
    #[inline]
    pub(crate) fn set_view(&mut self, range: Range<usize>) {
        self.view = Some(span(range));
    }

    /// Where a parsed head's bytes are in `buf`.
    #[inline]
    pub(crate) fn view(&self) -> Option<Range<usize>> {
        self.view.map(Span::range)
    }

    /// No fields and an empty view, keeping `buf` (the connection's receive buffer).
    pub(crate) fn drop_view(&mut self) {
        self.entries.clear();
        self.view = Some(Span { start: 0, end: 0 });
        self.valid = true;
        self.wire = false;
        self.name_lens = 0;
    }

    #[inline]
    pub(crate) fn reserve(&mut self, fields: usize) {
        self.entries.reserve(fields);
    }

    /// `n` fields parsed from the list's bytes (which has none yet), set by offset
    /// through the returned [`FieldSlots`]: one resize up front, then plain stores.
    #[inline]
    pub(crate) fn parsed_fields(&mut self, n: usize) -> FieldSlots<'_> {
        debug_assert!(self.entries.len() == 0);
        if !matches!(self.entries, Entries::Many(_)) {
            self.entries = Entries::Many(Vec::new());
        }
        match &mut self.entries {
            Entries::Many(v) => {
                v.resize(n, Entry::EMPTY);
                FieldSlots(v)
            }
            _ => unreachable!("made a list above"),
        }
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

    /// The fields as `Name: value\r\n` lines, when they are stored that way (only
    /// `append` was used since the list was last empty).
    #[inline]
    pub(crate) fn wire(&self) -> Option<&[u8]> {
        self.wire.then_some(&self.buf[..])
    }

    /// The lengths of the names, as bits of [`name_len_bit`] (possibly more bits).
    #[inline]
    pub(crate) fn name_lens(&self) -> u64 {
        self.name_lens
    }

    /// Append every field as `Name: value\r\n` to `out`, if all are valid.
    pub(crate) fn write_checked(&self, out: &mut Vec<u8>) -> bool {
        if !self.valid {
            return false;
        }
        if let Some(wire) = self.wire() {
            out.extend_from_slice(wire);
            return true;
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
        let raw = self.raw();
        self.entries
            .as_slice()
            .iter()
            .map(move |e| (e.name(raw), e.value(raw)))
    }

    /// Whether a field named `name` is present (bytes form).
    pub(crate) fn contains_bytes(&self, name: &[u8]) -> bool {
        self.iter_bytes().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Bytes stored in the buffer: names and values, with their separators when appended
    /// (static fields not counted).
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

/// The fields [`Headers::parsed_fields`] made room for, set by their offsets in the
/// list's bytes.
pub(crate) struct FieldSlots<'a>(&'a mut [Entry]);

impl FieldSlots<'_> {
    #[inline(always)]
    pub(crate) fn set(&mut self, i: usize, name: Range<usize>, value: Range<usize>) {
        self.0[i] = Entry::Buf {
            name: span(name),
            value: span(value),
        };
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
