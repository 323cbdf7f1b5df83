//! Message heads. Header names and values are stored as offsets into one byte buffer per
//! head, so a head is at most two allocations and both are reused across requests on a
//! connection. The request head a connection lends out views its receive buffer (parsed
//! in place); the one it hands over owns a copy of the head's bytes.
//!
//! - `version`: [`Version`];
//! - `static_header`: [`StaticHeader`], a field checked at compile time;
//! - `headers`: [`Headers`] and its iterator, the offset-based field list;
//! - `request`: [`RequestHead`] and [`TargetForm`];
//! - `response`: [`ResponseHead`];
//! - here: the field-syntax checks all of them share (RFC 9110 §5.1, §5.5).

mod headers;
mod request;
mod response;
mod static_header;
mod version;

pub(crate) use headers::Span;
pub use headers::{HeaderIter, Headers};
pub use request::{RequestHead, TargetForm};
pub use response::ResponseHead;
pub use static_header::StaticHeader;
pub use version::Version;

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

/// Whether the token `name` equals `lower` ignoring ASCII case, where `lower` is made of
/// lowercase letters, digits and `-` (a field name such as `content-length`).
///
/// One OR and one XOR per byte, without branches, so a comparison with a constant
/// unrolls into a few instructions. Exact for tokens: the only bytes that OR 0x20 maps
/// onto a lowercase letter are that letter in either case, and the only ones it maps
/// onto a digit or `-` are that byte and a control byte (0x10..=0x19, 0x0d), which no
/// token holds. Field names parsed by httparse or checked by [`is_valid_name`] are tokens.
#[inline(always)]
pub(crate) fn token_eq(name: &[u8], lower: &[u8]) -> bool {
    if name.len() != lower.len() {
        return false;
    }
    let mut diff = 0u8;
    for (&a, &b) in name.iter().zip(lower) {
        diff |= (a | 0x20) ^ b;
    }
    diff == 0
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `token_eq` agrees with `eq_ignore_ascii_case` for every token byte against every
    /// byte a lowercase field name holds, and for names of other lengths.
    #[test]
    fn token_eq_agrees_with_eq_ignore_ascii_case_on_tokens() {
        let lower: Vec<u8> = (b'a'..=b'z').chain(b'0'..=b'9').chain([b'-']).collect();
        let mut checked = 0;
        for a in (0..=255u8).filter(|&b| is_tchar(b)) {
            for &b in &lower {
                assert_eq!(
                    token_eq(&[a], &[b]),
                    [a].eq_ignore_ascii_case(&[b]),
                    "{a} {b}"
                );
                checked += 1;
            }
        }
        assert!(checked > 2000);
        assert!(token_eq(b"Content-Length", b"content-length"));
        assert!(!token_eq(b"Content-Lengt", b"content-length"));
        assert!(!token_eq(b"Content_Length", b"content-length"));
    }
}
