//! Cookies (RFC 6265): read the `Cookie` header, build `Set-Cookie` values.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use h1_core::HttpDate;

use crate::Request;

/// The `name=value` pairs of the request's `Cookie` headers, in order, values as sent
/// (surrounding double quotes removed).
///
/// ```no_run
/// # fn f(req: &h1_server::Request) {
/// for (name, value) in h1_server::router::cookies(req) {
///     println!("{name} = {value}");
/// }
/// # }
/// ```
pub fn cookies(req: &Request) -> impl Iterator<Item = (&str, &str)> {
    req.headers()
        .get_all("cookie")
        .filter_map(|v| std::str::from_utf8(v).ok())
        .flat_map(parse_cookie_header)
}

/// The value of cookie `name`, if the request sent one (the first, if several).
pub fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    cookies(req).find(|(n, _)| *n == name).map(|(_, v)| v)
}

fn parse_cookie_header(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        let name = name.trim();
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!name.is_empty()).then_some((name, value))
    })
}

/// The `SameSite` attribute of a [`SetCookie`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only with same-site requests.
    Strict,
    /// Also sent on top-level navigations from other sites (browsers' default).
    Lax,
    /// Sent with cross-site requests too (requires `Secure`).
    None,
}

/// A `Set-Cookie` header value, built with attributes; its `Display` is the header value.
///
/// Bytes that a cookie name or value may not contain (controls, space, `"`, `,`, `;`,
/// `\`, and for names also separators) are percent-encoded, and `;` or controls in
/// `Path`/`Domain` are dropped, so the header can never be split or injected into.
///
/// ```
/// use std::time::Duration;
/// use h1_server::router::{SameSite, SetCookie};
///
/// let c = SetCookie::new("session", "abc123")
///     .path("/")
///     .max_age(Duration::from_secs(3600))
///     .secure()
///     .http_only()
///     .same_site(SameSite::Lax);
/// assert_eq!(
///     c.to_string(),
///     "session=abc123; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax"
/// );
/// let r = h1_server::Response::text(200, "ok").header("Set-Cookie", c.to_string());
/// # let _ = r;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    name: String,
    value: String,
    path: Option<String>,
    domain: Option<String>,
    max_age: Option<u64>,
    expires: Option<u64>,
    secure: bool,
    http_only: bool,
    same_site: Option<SameSite>,
}

impl SetCookie {
    /// A session cookie `name=value` with no attributes.
    pub fn new(name: &str, value: &str) -> Self {
        Self {
            name: name.to_owned(),
            value: value.to_owned(),
            path: None,
            domain: None,
            max_age: None,
            expires: None,
            secure: false,
            http_only: false,
            same_site: None,
        }
    }

    /// A cookie that deletes `name` in the browser (`Max-Age=0` and an `Expires` in the
    /// past). Give it the same `Path` and `Domain` as the cookie it deletes.
    pub fn delete(name: &str) -> Self {
        let mut c = Self::new(name, "");
        c.max_age = Some(0);
        c.expires = Some(0);
        c
    }

    /// `Path=path`: sent only for requests under `path`.
    #[must_use]
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// `Domain=domain`: sent to that domain and its subdomains.
    #[must_use]
    pub fn domain(mut self, domain: &str) -> Self {
        self.domain = Some(domain.to_owned());
        self
    }

    /// `Max-Age=seconds`: lifetime from now.
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age.as_secs());
        self
    }

    /// `Expires=date`: an absolute end of life (older clients; `Max-Age` wins).
    #[must_use]
    pub fn expires(mut self, at: SystemTime) -> Self {
        self.expires = Some(at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
        self
    }

    /// `Secure`: sent over HTTPS only.
    #[must_use]
    pub fn secure(mut self) -> Self {
        self.secure = true;
        self
    }

    /// `HttpOnly`: not readable by scripts.
    #[must_use]
    pub fn http_only(mut self) -> Self {
        self.http_only = true;
        self
    }

    /// `SameSite=…`.
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = Some(same_site);
        self
    }
}

impl fmt::Display for SetCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_encoded(f, &self.name, is_token_byte)?;
        f.write_str("=")?;
        write_encoded(f, &self.value, is_cookie_octet)?;
        let clean =
            |s: &str| -> String { s.chars().filter(|c| !c.is_control() && *c != ';').collect() };
        if let Some(p) = &self.path {
            write!(f, "; Path={}", clean(p))?;
        }
        if let Some(d) = &self.domain {
            write!(f, "; Domain={}", clean(d))?;
        }
        if let Some(a) = self.max_age {
            write!(f, "; Max-Age={a}")?;
        }
        if let Some(e) = self.expires {
            write!(f, "; Expires={}", HttpDate::from_unix_secs(e))?;
        }
        if self.secure {
            f.write_str("; Secure")?;
        }
        if self.http_only {
            f.write_str("; HttpOnly")?;
        }
        match self.same_site {
            Some(SameSite::Strict) => f.write_str("; SameSite=Strict"),
            Some(SameSite::Lax) => f.write_str("; SameSite=Lax"),
            Some(SameSite::None) => f.write_str("; SameSite=None"),
            None => Ok(()),
        }
    }
}

fn write_encoded(f: &mut fmt::Formatter<'_>, s: &str, ok: fn(u8) -> bool) -> fmt::Result {
    for &b in s.as_bytes() {
        if ok(b) && b != b'%' {
            f.write_str(std::str::from_utf8(&[b]).unwrap_or("?"))?;
        } else {
            write!(f, "%{b:02X}")?;
        }
    }
    Ok(())
}

/// RFC 6265 §4.1.1 cookie-octet.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// RFC 9110 token character.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_header_parses() {
        let pairs: Vec<_> = parse_cookie_header("a=1; b=\"two\";c=; =x; junk; d=4=4").collect();
        assert_eq!(pairs, [("a", "1"), ("b", "two"), ("c", ""), ("d", "4=4")]);
    }

    #[test]
    fn set_cookie_has_every_attribute_and_cannot_inject() {
        let c = SetCookie::new("id", "x y;z")
            .domain("example.com;evil")
            .path("/a\r\nX: y")
            .expires(UNIX_EPOCH + Duration::from_secs(784_111_777))
            .same_site(SameSite::Strict);
        assert_eq!(
            c.to_string(),
            "id=x%20y%3Bz; Path=/aX: y; Domain=example.comevil; \
             Expires=Sun, 06 Nov 1994 08:49:37 GMT; SameSite=Strict"
        );
        assert_eq!(
            SetCookie::delete("id").path("/").to_string(),
            "id=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(SetCookie::new("a b", "1").to_string(), "a%20b=1");
    }
}
