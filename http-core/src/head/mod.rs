//! Owned message heads. Header names and values are stored as offsets into one byte
//! buffer per head, so a head is at most two allocations and both are reused across
//! requests on a connection.
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
