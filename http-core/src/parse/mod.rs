//! httparse glue: partial input with tail rescans, limits, validation and error mapping.
//!
//! A head is looked for in two ways. When a fresh head arrives in one piece, httparse runs
//! once over it, exactly as a bare `httparse::Request::parse` would. When it comes in
//! pieces, only the newly received tail is scanned: the request line byte by byte with a
//! table (so a line that cannot be a request line is refused at its first bad byte), then
//! the header lines for line ends (memchr), until the blank line is found; httparse then
//! runs once. Every byte is looked at a bounded number of times, so a 16 KiB head fed one
//! byte at a time costs linear time.
//!
//! Field rules live beside: `framing` (Transfer-Encoding and the body framing,
//! RFC 9112 §6), `target` (request-target forms and Host, RFC 9112 §3.2) and `fields`
//! (Expect, digits, trailers).

use std::mem::MaybeUninit;

use memchr::memchr_iter;

mod fields;
mod framing;
mod target;

use crate::error::RecvError;
use crate::head::{RequestHead, Version, is_tchar, token_eq};
use crate::limits::{Config, MAX_HEADERS_CAP};

use fields::expect_continue;
pub(crate) use fields::{parse_digits, parse_trailers, parse_whole_trailers, trim};
pub(crate) use framing::BodyFraming;
use framing::TeState;
pub(crate) use target::is_valid_host;
use target::target_form;

/// Incremental state of the search for the end of a head.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HeadScan {
    /// Bytes of the buffered head already scanned for line ends.
    scanned: usize,
    /// Start of the line being scanned.
    line_start: usize,
    /// Whether the request line is complete.
    first_line_done: bool,
    /// Whether the method (and the space after it) was scanned.
    method_done: bool,
}

impl HeadScan {
    /// Whether nothing of the head was scanned yet.
    pub(crate) fn is_fresh(&self) -> bool {
        self.scanned == 0
    }
}

/// What the head says about the connection and body, gathered in the same pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadInfo {
    pub(crate) framing: BodyFraming,
    pub(crate) close: bool,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
    pub(crate) is_head: bool,
    pub(crate) is_connect: bool,
    /// Some line of the head ends in a bare LF (httparse accepts those).
    pub(crate) bare_lf: bool,
}

pub(crate) enum HeadStatus {
    /// A complete head of this many bytes was parsed into the `RequestHead`.
    Complete(usize, HeadInfo),
    Partial,
}

/// Look for a complete head at the start of `buf` and parse it into `head`.
///
/// The outcome does not depend on how the bytes were split: the line scanner's verdicts
/// (request-line bytes, bare LF, 414, 431) are always reached first, in byte order, and
/// httparse's only once the whole head is there.
///
/// `buf` starts at the request line (the caller skips empty lines before it). It is
/// mutable only so that a higher minor version can be read as HTTP/1.1 in place. The
/// head is parsed in place: `head`'s offsets point into `buf` (from its start), and the
/// caller records where `buf` is (`Headers::set_view`).
pub(crate) fn parse_head(
    buf: &mut [u8],
    scan: &mut HeadScan,
    config: &Config,
    head: &mut RequestHead,
) -> Result<HeadStatus, RecvError> {
    let len = buf.len();
    let window = &mut buf[..len.min(config.limits.head_bytes)];
    if scan.scanned == 0 {
        // Fast path: a head that arrived whole is parsed by one httparse call, which also
        // tells where each line ends (`HeadInfo::bare_lf`). Only if a line ends in a bare
        // LF does the scanner run, to give the verdict a split head would get.
        if let Ok(Some(HeadStatus::Complete(len, info))) = run_httparse(window, config, head) {
            if config.allow_bare_lf || !info.bare_lf {
                return Ok(HeadStatus::Complete(len, info));
            }
            let raw = &window[..len];
            let mut fresh = HeadScan::default();
            scan_lines(raw, &mut fresh, config)?;
            return Err(RecvError::BareLf);
        }
    }
    match scan_lines(window, scan, config)? {
        Some(end) => match run_httparse(&mut window[..end], config, head)? {
            Some(done) => Ok(done),
            // The blank line was found, so httparse has all it needs.
            None => Err(RecvError::BadSyntax),
        },
        None if len >= config.limits.head_bytes => Err(RecvError::HeadTooLarge),
        None => Ok(HeadStatus::Partial),
    }
}

/// Scan the unscanned tail of `window` for line ends. Returns the head's length once the
/// blank line is found; checks the request line's bytes as they come, bare LFs (strict
/// mode) and the request-line length.
fn scan_lines(
    window: &[u8],
    scan: &mut HeadScan,
    config: &Config,
) -> Result<Option<usize>, RecvError> {
    if !scan.first_line_done {
        scan_request_line(window, scan, config)?;
        if !scan.first_line_done {
            return Ok(None);
        }
    }
    let from = scan.scanned;
    for i in memchr_iter(b'\n', &window[from..]) {
        let i = from + i;
        let has_cr = i > scan.line_start && window[i - 1] == b'\r';
        if !has_cr && !config.allow_bare_lf {
            // RFC 9112 §2.2: a bare LF may be taken as a line end; strict mode refuses it
            // because front-ends that disagree on line ends enable request smuggling.
            return Err(RecvError::BareLf);
        }
        if i - scan.line_start == usize::from(has_cr) {
            return Ok(Some(i + 1));
        }
        scan.line_start = i + 1;
    }
    scan.scanned = window.len();
    Ok(None)
}

/// Scan the request line's new bytes, refusing at the first byte that cannot belong to
/// one (RFC 9112 §3: method = token, then SP; no control byte but the CR of the line end
/// anywhere), so garbage (a TLS ClientHello, NUL bytes) is answered at once instead of
/// when the head timer fires. One table lookup per byte, and only when the head did not
/// arrive whole (httparse checks a whole one). Accepts everything httparse accepts.
fn scan_request_line(window: &[u8], scan: &mut HeadScan, config: &Config) -> Result<(), RecvError> {
    for i in scan.scanned..window.len() {
        let b = window[i];
        if !scan.method_done {
            match b {
                _ if is_tchar(b) => {}
                b' ' if i > 0 => scan.method_done = true,
                _ => return Err(RecvError::BadSyntax),
            }
            continue;
        }
        // A CR is only the start of the line end.
        if i > 0 && window[i - 1] == b'\r' && b != b'\n' {
            return Err(RecvError::BadSyntax);
        }
        match b {
            b'\n' => {
                let has_cr = window[i - 1] == b'\r';
                if !has_cr && !config.allow_bare_lf {
                    // RFC 9112 §2.2, as in `scan_lines`.
                    return Err(RecvError::BareLf);
                }
                check_request_line_length(&window[..i], config)?;
                scan.first_line_done = true;
                scan.line_start = i + 1;
                scan.scanned = i + 1;
                return Ok(());
            }
            b'\r' => {}
            0..=0x1f | 0x7f => return Err(RecvError::BadSyntax),
            _ => {}
        }
    }
    scan.scanned = window.len();
    check_request_line_length(window, config)
}

/// 414 if the (possibly partial) request line already holds a target over the limit.
fn check_request_line_length(line: &[u8], config: &Config) -> Result<(), RecvError> {
    let max = config.limits.target_bytes;
    if line.len() <= max {
        return Ok(());
    }
    // method SP target SP version: the target starts after the first space.
    let target_start = line.iter().position(|&b| b == b' ').map_or(0, |p| p + 1);
    let target_end = line[target_start..]
        .iter()
        .position(|&b| b == b' ')
        .map_or(line.len(), |p| target_start + p);
    if target_end - target_start > max {
        Err(RecvError::UriTooLong)
    } else {
        Ok(())
    }
}

/// Run httparse over `buf`; `None` when the head is incomplete.
#[inline]
fn run_httparse(
    buf: &mut [u8],
    config: &Config,
    head: &mut RequestHead,
) -> Result<Option<HeadStatus>, RecvError> {
    match run_httparse_once(buf, config, head) {
        // RFC 9110 §2.5: a higher minor version of HTTP/1 is processed as HTTP/1.1, the
        // highest this server implements. httparse knows only 1.0 and 1.1, so the version
        // digit is rewritten in place and the head parsed again (a rare request only).
        Err(RecvError::UnsupportedVersion) => retry_higher_minor(buf, config, head),
        other => other,
    }
}

/// Parse again as HTTP/1.1 when the version is `HTTP/1.2` to `HTTP/1.9`.
#[cold]
#[inline(never)]
fn retry_higher_minor(
    buf: &mut [u8],
    config: &Config,
    head: &mut RequestHead,
) -> Result<Option<HeadStatus>, RecvError> {
    let at = higher_minor_digit(buf).ok_or(RecvError::UnsupportedVersion)?;
    buf[at] = b'1';
    run_httparse_once(buf, config, head)
}

/// The index of the minor version digit when the request line ends in `HTTP/1.2` to
/// `HTTP/1.9`.
fn higher_minor_digit(buf: &[u8]) -> Option<usize> {
    let line_end = memchr::memchr(b'\n', buf)?;
    let end = if line_end > 0 && buf[line_end - 1] == b'\r' {
        line_end - 1
    } else {
        line_end
    };
    let version = buf.get(end.checked_sub(9)?..end)?;
    match version {
        [b' ', b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'2'..=b'9'] => Some(end - 1),
        _ => None,
    }
}

/// Header slots on the stack for the usual head; one with more fields is parsed again
/// with [`MAX_HEADERS_CAP`] of them (a 32 KiB frame, kept off the common path).
const FEW_HEADERS: usize = 64;

fn run_httparse_once(
    buf: &[u8],
    config: &Config,
    head: &mut RequestHead,
) -> Result<Option<HeadStatus>, RecvError> {
    let max_headers = config.limits.headers();
    let mut slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); FEW_HEADERS];
    match run_httparse_in(
        buf,
        config,
        head,
        &mut slots[..max_headers.min(FEW_HEADERS)],
    ) {
        Err(RecvError::TooManyHeaders) if max_headers > FEW_HEADERS => {
            run_httparse_many(buf, config, head)
        }
        other => other,
    }
}

#[cold]
#[inline(never)]
fn run_httparse_many(
    buf: &[u8],
    config: &Config,
    head: &mut RequestHead,
) -> Result<Option<HeadStatus>, RecvError> {
    let mut slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS_CAP];
    let max_headers = config.limits.headers();
    run_httparse_in(buf, config, head, &mut slots[..max_headers])
}

/// Parse `buf` with httparse into `slots` (as many as the limit allows) and fill `head`.
#[inline(always)]
fn run_httparse_in<'b>(
    buf: &'b [u8],
    config: &Config,
    head: &mut RequestHead,
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<HeadStatus>, RecvError> {
    let mut req = httparse::Request::new(&mut []);
    let parsed =
        httparse::ParserConfig::default().parse_request_with_uninit_headers(&mut req, buf, slots);
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(map_httparse_error(e, buf)),
    };
    let raw = &buf[..len];
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(RecvError::BadSyntax);
    };
    if target.len() > config.limits.target_bytes {
        return Err(RecvError::UriTooLong);
    }
    let base = raw.as_ptr() as usize;
    let off = |s: &[u8]| {
        let start = s.as_ptr() as usize - base;
        start..start + s.len()
    };
    head.headers.reset_parsed();
    let m = off(method.as_bytes());
    let t = off(target.as_bytes());
    head.method = span(m.clone());
    head.target = span(t.clone());
    head.version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    let is_connect = method == "CONNECT";
    head.form = target_form(method, target)?;

    let mut info = HeadInfo {
        framing: BodyFraming::Length(0),
        close: false,
        keep_alive: false,
        expect_continue: false,
        is_head: method == "HEAD",
        is_connect,
        // The request line's end (target, one SP, "HTTP/1.x"; the caller skipped empty
        // lines before it), and the final blank line; header lines are checked below.
        bare_lf: m.start != 0
            || raw.get(t.end + 9) != Some(&b'\r')
            || !(raw.ends_with(b"\r\n\r\n") || raw.ends_with(b"\r\n") && req.headers.is_empty()),
    };
    let mut fields = FieldFacts::default();
    // One pass over the fields: store each one's offsets, note whether its value is
    // followed by CR, and check it if its name has one of the lengths that matter here.
    let mut slots = head.headers.parsed_fields(req.headers.len());
    let mut cr_after_values = true;
    for (i, h) in req.headers.iter().enumerate() {
        let name = h.name.as_bytes();
        let n = off(name);
        let v = off(h.value);
        cr_after_values &= raw.get(v.end) == Some(&b'\r');
        slots.set(i, n, v);
        // Most names have none of the five lengths looked at.
        if (CHECKED_NAME_LENS >> name.len().min(31)) & 1 != 0 {
            fields.check(name, h.value, minor, &mut info)?;
        }
    }
    if !cr_after_values {
        info.bare_lf |= values_end_in_bare_lf(raw, req.headers);
    }
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered with 400.
    if minor == 1 && fields.host_count == 0 {
        return Err(RecvError::MissingHost);
    }
    info.framing = fields
        .transfer_encoding
        .framing(fields.content_length, minor)?;
    Ok(Some(HeadStatus::Complete(len, info)))
}

/// Whether some field line ends in a bare LF: httparse strips whitespace around values,
/// so the line end follows the value after any trailing whitespace.
#[cold]
#[inline(never)]
fn values_end_in_bare_lf(raw: &[u8], headers: &[httparse::Header<'_>]) -> bool {
    let base = raw.as_ptr() as usize;
    headers.iter().any(|h| {
        let v_end = h.value.as_ptr() as usize - base + h.value.len();
        let eol = raw[v_end..].iter().position(|&b| b != b' ' && b != b'\t');
        eol.is_none_or(|i| raw[v_end + i] != b'\r')
    })
}

/// What the fields `run_httparse_once` looks at said so far.
#[derive(Default)]
struct FieldFacts {
    content_length: Option<u64>,
    transfer_encoding: TeState,
    host_count: u32,
}

impl FieldFacts {
    /// Check one field, if its name is one of those that matter here.
    #[inline(always)]
    fn check(
        &mut self,
        name: &[u8],
        value: &[u8],
        minor: u8,
        info: &mut HeadInfo,
    ) -> Result<(), RecvError> {
        match (name.len(), name[0] | 0x20) {
            (4, b'h') if token_eq(name, b"host") => {
                self.host_count += 1;
                // RFC 9112 §3.2: exactly one Host; RFC 9110 §7.2: host[:port].
                if self.host_count > 1 {
                    return Err(RecvError::DuplicateHost);
                }
                if !is_valid_host(value, false) {
                    return Err(RecvError::BadHost);
                }
            }
            (14, b'c') if token_eq(name, b"content-length") => {
                // RFC 9110 §8.6 / RFC 9112 §6.3 item 5: digits only; identical repeats
                // (as separate fields or a list) are one value; differing ones are fatal.
                for item in value.split(|&b| b == b',') {
                    let n = parse_digits(trim(item)).ok_or(RecvError::BadContentLength)?;
                    match self.content_length {
                        Some(prev) if prev != n => {
                            return Err(RecvError::ConflictingContentLength);
                        }
                        _ => self.content_length = Some(n),
                    }
                }
            }
            (17, b't') if token_eq(name, b"transfer-encoding") => {
                self.transfer_encoding = self.transfer_encoding.add(value)?;
            }
            (10, b'c') if token_eq(name, b"connection") => {
                // RFC 9110 §7.6.1: a comma-separated, case-insensitive token list. The
                // usual values, as sent, are compared whole first.
                if value == b"keep-alive" {
                    info.keep_alive = true;
                } else if value == b"close" {
                    info.close = true;
                } else {
                    for token in value.split(|&b| b == b',') {
                        let token = trim(token);
                        if token.eq_ignore_ascii_case(b"close") {
                            info.close = true;
                        } else if token.eq_ignore_ascii_case(b"keep-alive") {
                            info.keep_alive = true;
                        }
                    }
                }
            }
            (6, b'e') if token_eq(name, b"expect") => {
                info.expect_continue |= expect_continue(value, minor)?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// The lengths of the names `run_httparse_once` looks at: Host, Expect, Connection,
/// Content-Length, Transfer-Encoding.
const CHECKED_NAME_LENS: u32 = 1 << 4 | 1 << 6 | 1 << 10 | 1 << 14 | 1 << 17;

fn span(r: std::ops::Range<usize>) -> crate::head::Span {
    crate::head::Span {
        start: r.start as u32,
        end: r.end as u32,
    }
}

fn map_httparse_error(e: httparse::Error, buf: &[u8]) -> RecvError {
    match e {
        httparse::Error::TooManyHeaders => RecvError::TooManyHeaders,
        httparse::Error::Version => {
            // 505 only for a well-formed HTTP-version naming another version
            // (RFC 9112 §2.3); anything else is a syntax error.
            let first = memchr::memchr(b'\n', buf).map_or(buf, |i| &buf[..i]);
            let first = first.strip_suffix(b"\r").unwrap_or(first);
            let version = first.rsplit(|&b| b == b' ').next().unwrap_or(b"");
            match version {
                [b'H', b'T', b'T', b'P', b'/', a, b'.', b]
                    if a.is_ascii_digit() && b.is_ascii_digit() =>
                {
                    RecvError::UnsupportedVersion
                }
                [b'H', b'T', b'T', b'P', b'/', a] if a.is_ascii_digit() => {
                    RecvError::UnsupportedVersion
                }
                _ => RecvError::BadSyntax,
            }
        }
        httparse::Error::HeaderName => {
            // A line starting with whitespace after the first header is obs-fold
            // (RFC 9112 §5.2); otherwise a bad name or whitespace before the colon
            // (RFC 9112 §5.1).
            if has_obs_fold(buf) {
                RecvError::ObsFold
            } else {
                RecvError::BadHeaderName
            }
        }
        httparse::Error::HeaderValue => RecvError::BadHeaderValue,
        httparse::Error::NewLine => RecvError::BadSyntax,
        httparse::Error::Token | httparse::Error::Status => RecvError::BadSyntax,
    }
}

fn has_obs_fold(buf: &[u8]) -> bool {
    let mut lines = memchr_iter(b'\n', buf).skip(1);
    lines.any(|i| matches!(buf.get(i + 1), Some(b' ' | b'\t')))
}
