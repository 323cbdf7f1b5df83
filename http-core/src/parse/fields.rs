//! Field values read while parsing a head or trailers: Expect, digits, whitespace, the
//! trailer section.

use crate::error::RecvError;
use crate::head::{Headers, token_eq};
use crate::limits::Config;

/// RFC 9110 §10.1.1: `Expect` is a list; `100-continue` is the only expectation defined
/// (ignored in HTTP/1.0 requests), and any other one is answered with 417.
pub(super) fn expect_continue(value: &[u8], minor: u8) -> Result<bool, RecvError> {
    let mut found = false;
    for item in value.split(|&b| b == b',') {
        let item = trim(item);
        if item.eq_ignore_ascii_case(b"100-continue") {
            found = minor == 1;
        } else if !item.is_empty() {
            // RFC 9110 §5.6.1: empty list elements are ignored.
            return Err(RecvError::ExpectationFailed);
        }
    }
    Ok(found)
}

/// A plain run of digits (RFC 9110 §8.6), without overflow.
pub(crate) fn parse_digits(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// Strip optional whitespace (SP, HTAB) at both ends (RFC 9110 §5.6.3).
pub(crate) fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    &v[start..end]
}

/// Parse a trailer section (`raw` ends with its blank line) into `trailers`, which takes
/// `raw`'s bytes as its storage instead of copying them; `raw` gets the trailers' old
/// storage, empty, to gather the next section in.
/// RFC 9112 §7.1.2 / RFC 9110 §6.5.1: fields that frame or route the message must not
/// come as trailers.
pub(crate) fn parse_trailers(
    raw: &mut Vec<u8>,
    config: &Config,
    trailers: &mut Headers,
) -> Result<(), RecvError> {
    trailers.clear();
    std::mem::swap(raw, &mut trailers.buf);
    // Out of the list while its fields are pushed, which borrow it.
    let section = std::mem::take(&mut trailers.buf);
    trailers.reset_parsed();
    let result = parse_section(&section, config, trailers);
    trailers.buf = section;
    result
}

/// A whole trailer section at the start of `input` (the bytes after the last chunk's
/// size line), parsed straight from the input into `trailers` in one httparse pass;
/// returns its length. Only for the usual section: complete, within
/// [`Limits::max_trailer_bytes`](crate::Limits::max_trailer_bytes), every line ending in
/// CRLF (a value right before its CR), no more fields than the small slot array holds,
/// no framing field. Then the byte-by-byte path would gather exactly these bytes and
/// [`parse_trailers`] give the same fields, so `trailers` ends up the same. `None`
/// (and `trailers` untouched) for anything else, which that path then reads or refuses.
pub(crate) fn parse_whole_trailers(
    input: &[u8],
    config: &Config,
    trailers: &mut Headers,
) -> Option<usize> {
    let mut slots = [httparse::EMPTY_HEADER; 8];
    let n = config.limits.headers().min(slots.len());
    let Ok(httparse::Status::Complete((len, headers))) =
        httparse::parse_headers(input, &mut slots[..n])
    else {
        return None;
    };
    let section = &input[..len];
    // The last line is a CRLF after at least one field line.
    if headers.is_empty() || len > config.limits.trailer_bytes || !section.ends_with(b"\r\n\r\n") {
        return None;
    }
    let base = section.as_ptr() as usize;
    for h in headers.iter() {
        // httparse trims whitespace after a value: the CR must follow the value itself
        // (an empty value points at the line end).
        let v_end = (h.value.as_ptr() as usize).wrapping_sub(base) + h.value.len();
        if section.get(v_end) != Some(&b'\r') || is_forbidden_trailer(h.name.as_bytes()) {
            return None;
        }
    }
    trailers.reset_with_raw(section);
    trailers.reserve(headers.len());
    for h in headers.iter() {
        let name = h.name.as_bytes();
        let value = trim(h.value);
        let n = name.as_ptr() as usize - base;
        let v = value.as_ptr() as usize - base;
        trailers.push_offsets(n..n + name.len(), v..v + value.len());
    }
    Some(len)
}

fn parse_section(raw: &[u8], config: &Config, trailers: &mut Headers) -> Result<(), RecvError> {
    // The usual short section is parsed into a few slots, so 64 are not filled in first;
    // one with more fields is parsed again with all of them.
    let max = config.limits.headers();
    let mut slots = [httparse::EMPTY_HEADER; 8];
    let n = max.min(slots.len());
    match push_trailers(raw, &mut slots[..n], trailers) {
        Err(RecvError::TrailersTooLarge) if max > n => {
            trailers.reset_parsed();
            let mut slots = [httparse::EMPTY_HEADER; 64];
            let n = max.min(slots.len());
            push_trailers(raw, &mut slots[..n], trailers)
        }
        other => other,
    }
}

fn push_trailers<'a>(
    raw: &'a [u8],
    slots: &mut [httparse::Header<'a>],
    trailers: &mut Headers,
) -> Result<(), RecvError> {
    let headers = match httparse::parse_headers(raw, slots) {
        Ok(httparse::Status::Complete((_, h))) => h,
        Ok(httparse::Status::Partial) => return Err(RecvError::BadTrailer),
        Err(httparse::Error::TooManyHeaders) => return Err(RecvError::TrailersTooLarge),
        Err(_) => return Err(RecvError::BadTrailer),
    };
    let base = raw.as_ptr() as usize;
    trailers.reserve(headers.len());
    for h in headers {
        let name = h.name.as_bytes();
        if is_forbidden_trailer(name) {
            return Err(RecvError::BadTrailer);
        }
        let value = trim(h.value);
        let n = name.as_ptr() as usize - base;
        let v = value.as_ptr() as usize - base;
        trailers.push_offsets(n..n + name.len(), v..v + value.len());
    }
    Ok(())
}

/// RFC 9112 §7.1.2 / RFC 9110 §6.5.1: fields that frame or route the message.
#[inline(always)]
fn is_forbidden_trailer(name: &[u8]) -> bool {
    match name.len() {
        4 => token_eq(name, b"host"),
        7 => token_eq(name, b"trailer"),
        10 => token_eq(name, b"connection"),
        14 => token_eq(name, b"content-length"),
        17 => token_eq(name, b"transfer-encoding"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits() {
        assert_eq!(parse_digits(b"0"), Some(0));
        assert_eq!(parse_digits(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_digits(b"18446744073709551616"), None);
        assert_eq!(parse_digits(b"000000000000000000000042"), Some(42));
        assert_eq!(parse_digits(b"+1"), None);
        assert_eq!(parse_digits(b""), None);
        assert_eq!(parse_digits(b"1 2"), None);
    }
}
