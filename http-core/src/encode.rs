//! Response head writer and body encoders (RFC 9112 §4, §6, §7).

use crate::head::{Headers, ResponseHead, Version, token_eq};
use crate::limits::{Config, name_len_bit};
use crate::parse::{parse_digits, trim};
use crate::status::reason_phrase;

/// How a response body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoder {
    /// Content-Length: bytes still allowed.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Body runs until the connection closes (HTTP/1.0, unknown length).
    CloseDelimited,
    /// No body may be sent (HEAD, 1xx, 204, 304): data is swallowed.
    Empty,
}

/// What the request says that shapes the response framing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReqFacts {
    pub(crate) version: Version,
    pub(crate) is_head: bool,
    pub(crate) is_connect: bool,
}

/// The outcome of writing a final response head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadOutcome {
    pub(crate) encoder: Encoder,
    /// Whether the connection closes after this response.
    pub(crate) close: bool,
    /// Whether the engine steps aside after this head (101, 2xx to CONNECT).
    pub(crate) upgrade: bool,
}

/// The lengths of the names `write_head` looks at (`Date`, `Connection`,
/// `Content-Length`, `Transfer-Encoding`), as bits of [`name_len_bit`].
const ENGINE_NAME_LENS: u64 = 1 << 4 | 1 << 10 | 1 << 14 | 1 << 17;

/// Write a final (or 101) response head into `out`.
///
/// `close` says whether the connection already must close; `http10_keep_alive` whether
/// an HTTP/1.0 keep-alive must be echoed. Returns `None` if a header is invalid (nothing
/// is left in `out` then).
pub(crate) fn write_head(
    head: &ResponseHead,
    req: ReqFacts,
    mut close: bool,
    http10_keep_alive: bool,
    config: &Config,
    date: Option<&[u8; DATE_LINE]>,
    out: &mut Vec<u8>,
) -> Option<HeadOutcome> {
    let status = head.status();
    let mark = out.len();
    out.reserve(128 + head.headers().raw_len() + config.defaults_wire.len());
    write_status_line(status, head.custom_reason(), out);

    // User headers, minus the framing ones the engine owns.
    let mut length = head.length();
    let mut has_date = false;
    let mut user_close = false;
    // Lengths of the user's names, to skip the lookups of default headers (see
    // `write_defaults`).
    let mut name_lens = 0u64;
    if !head.headers().is_valid() {
        out.truncate(mark);
        return None;
    }
    let fast = head
        .headers()
        .wire()
        .filter(|_| head.headers().name_lens() & ENGINE_NAME_LENS == 0);
    if let Some(wire) = fast {
        // No name the engine treats specially can be among them: one copy.
        out.extend_from_slice(wire);
        name_lens = head.headers().name_lens();
    }
    for (n, value) in head.headers().iter_bytes().filter(|_| fast.is_none()) {
        name_lens |= name_len_bit(n.len());
        match (n.len(), n[0] | 0x20) {
            (14, b'c') if token_eq(n, b"content-length") => {
                // A Content-Length header counts unless a length was set explicitly.
                if !head.is_length_set() || length.is_none() {
                    length = parse_digits(trim(value)).or(length);
                }
                continue;
            }
            (17, b't') if token_eq(n, b"transfer-encoding") => continue,
            (4, b'd') if token_eq(n, b"date") => has_date = true,
            (10, b'c') if token_eq(n, b"connection") => {
                if value
                    .split(|&b| b == b',')
                    .any(|t| trim(t).eq_ignore_ascii_case(b"close"))
                {
                    user_close = true;
                    close = true;
                }
                if !value
                    .split(|&b| b == b',')
                    .any(|t| !trim(t).eq_ignore_ascii_case(b"keep-alive"))
                {
                    continue; // the engine writes keep-alive itself when it applies
                }
            }
            _ => {}
        }
        push_header(out, n, value);
    }
    write_defaults(head.headers(), name_lens, config, out);
    if !has_date {
        if let Some(date) = date {
            out.extend_from_slice(date);
        }
    }

    // Framing (RFC 9112 §6.3 from the sender's side; RFC 9110 §6.4.1, §8.6).
    let upgrade = status == 101 || (req.is_connect && (200..300).contains(&status));
    let no_body = (100..200).contains(&status) || status == 204 || status == 304 || upgrade;
    let encoder = if no_body {
        // RFC 9110 §8.6 / §9.3.6: no Content-Length in 1xx, 204 or a 2xx to CONNECT.
        if status == 304 {
            if let Some(n) = length.filter(|&n| n > 0) {
                push_length(out, n);
            }
        }
        Encoder::Empty
    } else {
        match length {
            Some(n) => {
                push_length(out, n);
                if req.is_head {
                    Encoder::Empty
                } else {
                    Encoder::Length(n)
                }
            }
            None if req.version == Version::Http11 => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
                if req.is_head {
                    Encoder::Empty
                } else {
                    Encoder::Chunked
                }
            }
            None => {
                // HTTP/1.0 cannot take chunked (RFC 9112 §6.1): delimit by closing.
                close = true;
                if req.is_head {
                    Encoder::Empty
                } else {
                    Encoder::CloseDelimited
                }
            }
        }
    };
    if upgrade {
        close = false;
    } else if close {
        if !user_close {
            out.extend_from_slice(b"Connection: close\r\n");
        }
    } else if http10_keep_alive {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Some(HeadOutcome {
        encoder,
        close,
        upgrade,
    })
}

/// Write an interim (1xx) response: status line, its headers, blank line.
pub(crate) fn write_interim(head: &ResponseHead, out: &mut Vec<u8>) -> bool {
    let mark = out.len();
    write_status_line(head.status(), head.custom_reason(), out);
    if !head.headers().write_checked(out) {
        out.truncate(mark);
        return false;
    }
    out.extend_from_slice(b"\r\n");
    true
}

/// Write a complete plain-text error response that closes the connection.
pub(crate) fn write_error(
    status: u16,
    message: &str,
    with_body: bool,
    config: &Config,
    date: Option<&[u8; DATE_LINE]>,
    out: &mut Vec<u8>,
) {
    write_status_line(status, None, out);
    out.extend_from_slice(&config.defaults_wire);
    if let Some(date) = date {
        out.extend_from_slice(date);
    }
    out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
    push_length(out, message.len() as u64 + 1);
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    if with_body {
        out.extend_from_slice(message.as_bytes());
        out.push(b'\n');
    }
}

/// Length of a `Date: <IMF-fixdate>\r\n` line.
pub(crate) const DATE_LINE: usize = 6 + 29 + 2;

#[inline]
fn write_status_line(status: u16, reason: Option<&str>, out: &mut Vec<u8>) {
    if status == 200 && reason.is_none() {
        // The usual line, as a copy of known length.
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        write_other_status_line(status, reason, out);
    }
}

#[inline(never)]
fn write_other_status_line(status: u16, reason: Option<&str>, out: &mut Vec<u8>) {
    if reason.is_none() {
        let line: &[u8] = match status {
            200 => b"HTTP/1.1 200 OK\r\n",
            204 => b"HTTP/1.1 204 No Content\r\n",
            206 => b"HTTP/1.1 206 Partial Content\r\n",
            301 => b"HTTP/1.1 301 Moved Permanently\r\n",
            302 => b"HTTP/1.1 302 Found\r\n",
            304 => b"HTTP/1.1 304 Not Modified\r\n",
            400 => b"HTTP/1.1 400 Bad Request\r\n",
            404 => b"HTTP/1.1 404 Not Found\r\n",
            500 => b"HTTP/1.1 500 Internal Server Error\r\n",
            _ => b"",
        };
        if !line.is_empty() {
            out.extend_from_slice(line);
            return;
        }
    }
    out.extend_from_slice(b"HTTP/1.1 ");
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(status).as_bytes());
    out.push(b' ');
    // A custom reason with CR or LF would split the head; fall back to the registered one.
    let reason = reason
        .filter(|r| r.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f)))
        .or_else(|| reason_phrase(status))
        .unwrap_or("");
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Write the default headers the user's do not override. `name_lens` has the bits of the
/// user's name lengths ([`name_len_bit`]), so most responses take the one-copy path.
fn write_defaults(user: &Headers, name_lens: u64, config: &Config, out: &mut Vec<u8>) {
    if config.defaults.is_empty() {
        return;
    }
    if name_lens & config.default_name_lens == 0 {
        out.extend_from_slice(&config.defaults_wire);
        return;
    }
    for (name, value) in config.defaults.iter_bytes() {
        if !user.contains_bytes(name) {
            push_header(out, name, value);
        }
    }
}

fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn push_length(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(b"Content-Length: ");
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Write the chunk-size line for a chunk of `len` bytes (RFC 9112 §7.1).
pub(crate) fn push_chunk_size(out: &mut Vec<u8>, len: usize) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = len;
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// Write the last chunk and trailers (RFC 9112 §7.1.2).
pub(crate) fn push_last_chunk(out: &mut Vec<u8>, trailers: Option<&Headers>) -> bool {
    let mark = out.len();
    out.extend_from_slice(b"0\r\n");
    if let Some(t) = trailers {
        if !t.write_checked(out) {
            out.truncate(mark);
            return false;
        }
    }
    out.extend_from_slice(b"\r\n");
    true
}
