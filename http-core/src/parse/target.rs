//! Request-target forms and Host values (RFC 9112 §3.2, RFC 9110 §7.2, RFC 3986).

use crate::error::RecvError;
use crate::head::TargetForm;

/// RFC 9112 §3.2: origin-form for all but CONNECT (authority-form only) and OPTIONS
/// (which may use `*`); absolute-form for all but CONNECT.
pub(super) fn target_form(method: &str, target: &str) -> Result<TargetForm, RecvError> {
    let t = target.as_bytes();
    if method == "CONNECT" {
        // RFC 9112 §3.2.3: authority-form = uri-host ":" port.
        return if is_valid_host(t, true) {
            Ok(TargetForm::Authority)
        } else {
            Err(RecvError::BadTarget)
        };
    }
    // RFC 9112 §3.2: a fragment is not part of any request-target form; a client
    // strips it (RFC 9110 §7.1). Branch-free over the bytes, so the compiler vectorizes
    // it: cheaper than a memchr call for the short targets most requests have.
    if t.iter().fold(false, |found, &b| found | (b == b'#')) {
        return Err(RecvError::BadTarget);
    }
    if t.first() == Some(&b'/') {
        return Ok(TargetForm::Origin);
    }
    if t == b"*" {
        return if method == "OPTIONS" {
            Ok(TargetForm::Asterisk)
        } else {
            Err(RecvError::BadTarget)
        };
    }
    // RFC 9112 §3.2.2 absolute-form: scheme "://" ...
    if let Some(colon) = t.iter().position(|&b| b == b':') {
        let scheme = &t[..colon];
        let ok_scheme = scheme.first().is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        if ok_scheme && t[colon..].starts_with(b"://") {
            // RFC 9110 §4.2.4: userinfo in an http(s) URI is invalid; refusing it keeps
            // credentials out of logs and `user@host` tricks out of routing.
            let authority = &t[colon + 3..];
            let end = authority
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(authority.len());
            if authority[..end].contains(&b'@') {
                return Err(RecvError::BadTarget);
            }
            return Ok(TargetForm::Absolute);
        }
    }
    Err(RecvError::BadTarget)
}

/// `host[:port]` per RFC 3986 §3.2.2/§3.2.3. An empty value is valid for Host
/// (RFC 9112 §3.2) but not for an authority-form target (`need_port`).
pub(crate) fn is_valid_host(v: &[u8], need_port: bool) -> bool {
    if v.is_empty() {
        return !need_port;
    }
    let port = if v[0] == b'[' {
        // IP-literal: IPv6 or IPvFuture between brackets.
        let Some(close) = v.iter().position(|&b| b == b']') else {
            return false;
        };
        let inner = &v[1..close];
        if inner.is_empty() || !inner.iter().all(|&b| HOST_CHARS[b as usize] || b == b':') {
            return false;
        }
        match &v[close + 1..] {
            [] => None,
            [b':', port @ ..] => Some(port),
            _ => return false,
        }
    } else {
        // reg-name or IPv4address, then the port: the digits at the end, after a colon.
        // This runs for every request's Host: a name without a port (the last byte is
        // no digit) takes one branch-free pass; a port is split off from the end first
        // (`localhost:8080`, wrk's `127.0.0.1:PORT`).
        let (name, port) = if v.last().is_some_and(u8::is_ascii_digit) {
            let digits = v.iter().rev().take_while(|b| b.is_ascii_digit()).count();
            match v.len().checked_sub(digits + 1) {
                Some(colon) if v[colon] == b':' => (&v[..colon], Some(&v[colon + 1..])),
                _ => (v, None),
            }
        } else {
            match v.split_last() {
                // An empty port: `host:`.
                Some((b':', name)) => (name, Some(&v[v.len()..])),
                _ => (v, None),
            }
        };
        let valid = name
            .iter()
            .fold(true, |all, &b| all & REG_NAME_CHARS[b as usize]);
        if name.is_empty() || !valid {
            return false;
        }
        port
    };
    match port {
        None => !need_port,
        Some(port) => !(need_port && port.is_empty()) && port.iter().all(u8::is_ascii_digit),
    }
}

/// [`HOST_CHARS`] and `%` (percent-encoded octets in a reg-name).
static REG_NAME_CHARS: [bool; 256] = {
    let mut t = HOST_CHARS_TABLE;
    t[b'%' as usize] = true;
    t
};

/// RFC 3986 unreserved / sub-delims, as a table: this runs for every Host byte.
static HOST_CHARS: [bool; 256] = HOST_CHARS_TABLE;

const HOST_CHARS_TABLE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric();
        i += 1;
    }
    let extra = b"-._~!$&'()*+,;=";
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

    #[test]
    fn hosts() {
        for ok in [
            &b"a"[..],
            b"example.com",
            b"example.com:80",
            b"127.0.0.1:8080",
            b"[::1]",
            b"[::1]:80",
            b"",
            b"a%20b",
        ] {
            assert!(
                is_valid_host(ok, false),
                "{:?}",
                String::from_utf8_lossy(ok)
            );
        }
        for bad in [
            &b"a b"[..],
            b"a/b",
            b"a:80:90",
            b"[::1",
            b"[::1]x",
            b"a:x",
            b"a@b",
            b"[]",
        ] {
            assert!(
                !is_valid_host(bad, false),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(is_valid_host(b"example.com:443", true));
        assert!(!is_valid_host(b"example.com", true));
        assert!(!is_valid_host(b"example.com:", true));
    }

    /// The straightforward byte loop `is_valid_host` replaced, as the reference.
    fn reference_host(v: &[u8], need_port: bool) -> bool {
        if v.is_empty() {
            return !need_port;
        }
        let rest = if v[0] == b'[' {
            let Some(close) = v.iter().position(|&b| b == b']') else {
                return false;
            };
            let inner = &v[1..close];
            if inner.is_empty() || !inner.iter().all(|&b| HOST_CHARS[b as usize] || b == b':') {
                return false;
            }
            &v[close + 1..]
        } else {
            let mut i = 0;
            while i < v.len() && (HOST_CHARS[v[i] as usize] || v[i] == b'%') {
                i += 1;
            }
            if i == 0 {
                return false;
            }
            &v[i..]
        };
        match rest {
            [] => !need_port,
            [b':', port @ ..] => {
                port.iter().all(u8::is_ascii_digit) && !(need_port && port.is_empty())
            }
            _ => false,
        }
    }

    #[test]
    fn host_check_agrees_with_the_reference_on_every_short_value() {
        let alphabet = b"a1%:[]@ /.\x80";
        let mut value = Vec::new();
        let mut checked = 0;
        for len in 0..=5u32 {
            for mut n in 0..alphabet.len().pow(len) {
                value.clear();
                for _ in 0..len {
                    value.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                for need_port in [false, true] {
                    assert_eq!(
                        is_valid_host(&value, need_port),
                        reference_host(&value, need_port),
                        "{:?} need_port={need_port}",
                        String::from_utf8_lossy(&value)
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 100_000);
    }
}
