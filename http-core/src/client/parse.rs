//! Response heads: a line scan over the newly received tail, httparse once the blank line
//! is there, and the framing facts of the head (RFC 9112 §4, §6.1, §6.3).
//!
//! Every byte is scanned a bounded number of times, so a head fed one byte at a time costs
//! linear time, and every verdict (bare LF, oversize head) is reached in byte order, so the
//! outcome does not depend on how the input was split.

use std::mem::MaybeUninit;

use memchr::memchr_iter;

use super::error::ResponseError;
use super::response::Response;
use crate::head::Version;
use crate::limits::{Config, MAX_HEADERS_CAP};
use crate::parse::{parse_digits, trim};

/// Incremental state of the search for the end of a response head.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HeadScan {
    /// Bytes of the buffered head already scanned for line ends.
    scanned: usize,
    /// Start of the line being scanned.
    line_start: usize,
    /// The status line, once complete: start and end (before its CR LF).
    status_line: Option<(usize, usize)>,
}

/// What a response head says about framing and persistence.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HeadInfo {
    /// A valid Content-Length, if one was sent.
    pub(crate) length: Option<u64>,
    /// `Transfer-Encoding: chunked`.
    pub(crate) chunked: bool,
    /// `Connection: close`.
    pub(crate) close: bool,
    /// `Connection: keep-alive`.
    pub(crate) keep_alive: bool,
}

/// Look for a complete response head at the start of `buf` and parse it into `head`.
/// Returns its length in bytes (leading blank lines included) and its framing facts, or
/// `None` while it is incomplete.
pub(crate) fn parse_head(
    buf: &[u8],
    scan: &mut HeadScan,
    config: &Config,
    head: &mut Response,
) -> Result<Option<(usize, HeadInfo)>, ResponseError> {
    let max = config.limits.head_bytes;
    let window = &buf[..buf.len().min(max)];
    match scan_lines(window, scan, config)? {
        Some(end) => {
            let status_line = scan.status_line.unwrap_or((0, 0));
            let info = run_httparse(&window[..end], status_line, config, head)?;
            Ok(Some((end, info)))
        }
        None if buf.len() >= max => Err(ResponseError::HeadTooLarge),
        None => Ok(None),
    }
}

/// Scan the unscanned tail of `window` for line ends; the head's length once the blank
/// line is found. Blank lines before the status line are skipped (as httparse does).
fn scan_lines(
    window: &[u8],
    scan: &mut HeadScan,
    config: &Config,
) -> Result<Option<usize>, ResponseError> {
    let from = scan.scanned;
    for i in memchr_iter(b'\n', &window[from..]) {
        let i = from + i;
        let has_cr = i > scan.line_start && window[i - 1] == b'\r';
        if !has_cr && !config.allow_bare_lf {
            // RFC 9112 §2.2: strict mode refuses a bare LF line end.
            return Err(ResponseError::BareLf);
        }
        let content_end = i - usize::from(has_cr);
        let empty = content_end == scan.line_start;
        match scan.status_line {
            None if empty => {}
            None => scan.status_line = Some((scan.line_start, content_end)),
            Some(_) if empty => return Ok(Some(i + 1)),
            Some(_) => {}
        }
        scan.line_start = i + 1;
    }
    scan.scanned = window.len();
    Ok(None)
}

/// Run httparse over a complete head and fill `head`.
fn run_httparse(
    raw: &[u8],
    (line_start, line_end): (usize, usize),
    config: &Config,
    head: &mut Response,
) -> Result<HeadInfo, ResponseError> {
    let mut slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS_CAP];
    let mut res = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut res,
        raw,
        &mut slots[..config.limits.headers()],
    );
    match parsed {
        Ok(httparse::Status::Complete(len)) if len == raw.len() => {}
        // The blank line was found, so httparse has all it needs.
        Ok(_) => return Err(ResponseError::BadSyntax),
        Err(e) => return Err(map_httparse_error(e, &raw[line_start..line_end], raw)),
    }
    let (Some(minor), Some(status)) = (res.version, res.code) else {
        return Err(ResponseError::BadStatusLine);
    };
    if status < 100 {
        return Err(ResponseError::BadStatusLine);
    }
    head.status = status;
    head.version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    // "HTTP/1.x NNN" is 12 bytes; the reason follows one SP.
    let reason_start = (line_start + 13).min(line_end);
    head.reason = reason_start as u32..line_end as u32;
    head.headers.reset_with_raw(raw);
    head.headers.reserve(res.headers.len());
    let base = raw.as_ptr() as usize;
    let off = |s: &[u8]| {
        let start = s.as_ptr() as usize - base;
        start..start + s.len()
    };
    let mut info = HeadInfo::default();
    let mut te = TeState::Absent;
    for h in res.headers.iter() {
        let name = h.name.as_bytes();
        let value = h.value;
        head.headers.push_offsets(off(name), off(value));
        match (name.len(), name[0] | 0x20) {
            (14, b'c') if name.eq_ignore_ascii_case(b"content-length") => {
                // RFC 9110 §8.6 / RFC 9112 §6.3 item 5: digits only; identical repeats are
                // one value; differing ones are fatal.
                for item in value.split(|&b| b == b',') {
                    let n = parse_digits(trim(item)).ok_or(ResponseError::BadContentLength)?;
                    match info.length {
                        Some(prev) if prev != n => {
                            return Err(ResponseError::ConflictingContentLength);
                        }
                        _ => info.length = Some(n),
                    }
                }
            }
            (17, b't') if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                te = te.add(value)?;
            }
            (10, b'c') if name.eq_ignore_ascii_case(b"connection") => {
                // RFC 9110 §7.6.1: a comma-separated, case-insensitive token list.
                for token in value.split(|&b| b == b',') {
                    let token = trim(token);
                    info.close |= token.eq_ignore_ascii_case(b"close");
                    info.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            _ => {}
        }
    }
    info.chunked = match te {
        TeState::Absent => false,
        // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing.
        _ if minor == 0 => return Err(ResponseError::TransferEncodingInHttp10),
        // RFC 9112 §6.3 item 3: both present may be response splitting; refuse.
        _ if info.length.is_some() => {
            return Err(ResponseError::ContentLengthWithTransferEncoding);
        }
        TeState::Chunked => true,
        TeState::Empty => return Err(ResponseError::BadTransferEncoding),
        TeState::Other => return Err(ResponseError::UnsupportedTransferCoding),
    };
    Ok(info)
}

/// Transfer-Encoding seen so far, over all its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TeState {
    Absent,
    /// The field is present with no coding yet.
    Empty,
    /// `chunked`, the only coding.
    Chunked,
    /// A coding other than `chunked`, which this engine cannot decode.
    Other,
}

impl TeState {
    fn add(mut self, value: &[u8]) -> Result<Self, ResponseError> {
        if self == Self::Absent {
            self = Self::Empty;
        }
        for coding in value.split(|&b| b == b',') {
            let coding = trim(coding);
            if coding.is_empty() {
                continue; // RFC 9110 §5.6.1: empty list elements are ignored.
            }
            let name = trim(coding.split(|&b| b == b';').next().unwrap_or(coding));
            let chunked = name.eq_ignore_ascii_case(b"chunked");
            self = match self {
                // RFC 9112 §6.1: chunked is applied once, and last.
                Self::Chunked => return Err(ResponseError::BadTransferEncoding),
                _ if !chunked => Self::Other,
                Self::Other => Self::Other,
                Self::Absent | Self::Empty => Self::Chunked,
            };
        }
        Ok(self)
    }
}

fn map_httparse_error(e: httparse::Error, status_line: &[u8], raw: &[u8]) -> ResponseError {
    match e {
        httparse::Error::TooManyHeaders => ResponseError::TooManyHeaders,
        httparse::Error::Version => {
            // A well-formed HTTP-version naming another version (RFC 9112 §2.3).
            let version = status_line.split(|&b| b == b' ').next().unwrap_or(b"");
            match version {
                [b'H', b'T', b'T', b'P', b'/', a, b'.', b]
                    if a.is_ascii_digit() && b.is_ascii_digit() =>
                {
                    ResponseError::UnsupportedVersion
                }
                _ => ResponseError::BadStatusLine,
            }
        }
        httparse::Error::Status | httparse::Error::Token => ResponseError::BadStatusLine,
        httparse::Error::HeaderName => {
            // A header line starting with whitespace is obs-fold (RFC 9112 §5.2).
            let mut lines = memchr_iter(b'\n', raw).skip(1);
            if lines.any(|i| matches!(raw.get(i + 1), Some(b' ' | b'\t'))) {
                ResponseError::ObsFold
            } else {
                ResponseError::BadHeaderName
            }
        }
        httparse::Error::HeaderValue => ResponseError::BadHeaderValue,
        httparse::Error::NewLine => ResponseError::BadSyntax,
    }
}
