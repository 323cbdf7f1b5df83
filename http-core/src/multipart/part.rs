//! One part's head ([`PartHead`]), what the parser hands out ([`MultipartEvent`]), and the
//! parsing of a part's header block and its Content-Disposition parameters.

use super::error::MultipartError;
use super::limits::MultipartLimits;
use crate::head::Headers;
use crate::parse::trim;

/// The head of one part: its headers and the Content-Disposition parameters.
#[derive(Debug, Clone, Default)]
pub struct PartHead {
    headers: Headers,
    name: String,
    filename: Option<String>,
}

impl PartHead {
    /// The form field name (`name=`).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The file name (`filename=`), present for file parts. Taken as sent: never use it as
    /// a path without sanitizing it.
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }
    /// The part's Content-Type, if given.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get_str("content-type")
    }
    /// All the part's headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
    /// Whether this part is a file (has `filename=`).
    pub fn is_file(&self) -> bool {
        self.filename.is_some()
    }
}

/// What [`Multipart::next_event`](crate::Multipart::next_event) hands out.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub enum MultipartEvent<'a> {
    /// A part begins.
    PartBegin(&'a PartHead),
    /// A piece of the current part's content.
    Data(&'a [u8]),
    /// The current part is complete.
    PartEnd,
    /// The closing delimiter was read; the body is complete.
    End,
    /// Feed more bytes.
    NeedData,
}

impl PartialEq for PartHead {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.filename == other.filename && self.headers == other.headers
    }
}
impl Eq for PartHead {}

pub(super) fn parse_part_head(
    raw: &[u8],
    limits: &MultipartLimits,
    part: &mut PartHead,
) -> Result<(), MultipartError> {
    part.headers.clear();
    part.name.clear();
    part.filename = None;
    if raw != b"\r\n" {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let Ok(httparse::Status::Complete((_, headers))) = httparse::parse_headers(raw, &mut slots)
        else {
            return Err(MultipartError::BadPartHeader);
        };
        for h in headers {
            part.headers.append(h.name, trim(h.value));
        }
    }
    let disposition = part
        .headers
        .get("content-disposition")
        .ok_or(MultipartError::MissingName)?;
    let text = std::str::from_utf8(disposition).map_err(|_| MultipartError::BadPartHeader)?;
    let mut params = split_params(text);
    let kind = params.next().unwrap_or("");
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::MissingName);
    }
    let mut name = None;
    for p in params {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        let k = k.trim();
        if k.eq_ignore_ascii_case("name") {
            name = Some(unquote(v.trim()));
        } else if k.eq_ignore_ascii_case("filename") {
            part.filename = Some(unquote(v.trim()));
        }
    }
    let name = name.ok_or(MultipartError::MissingName)?;
    if name.len() > limits.name_bytes {
        return Err(MultipartError::NameTooLong);
    }
    part.name = name;
    Ok(())
}

/// Split `a; b="x;y"; c` at semicolons outside quotes.
pub(super) fn split_params(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        let mut quoted = false;
        let mut escaped = false;
        for (i, c) in s.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ';' if !quoted => {
                    rest = Some(&s[i + 1..]);
                    return Some(&s[..i]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(s)
    })
}

/// Remove quotes and backslash escapes from a quoted-string (RFC 9110 §5.6.4).
pub(super) fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return v.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}
