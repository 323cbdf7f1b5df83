//! HTTP Basic authentication (RFC 7617): parse `Authorization: Basic`, answer `401` with
//! `WWW-Authenticate`, and a [`Before`] handler guarding a prefix.

use std::fmt;
use std::sync::Arc;

use super::{Before, Flow};
use crate::{Request, Response};

/// The user name a [`BasicAuth`] handler accepted, stored in the request's
/// [extensions](Request::extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser(pub String);

/// The user name and password of an `Authorization: Basic` header, if there is a
/// well-formed one (the credentials are UTF-8; a password may contain `:`).
///
/// ```
/// use h1_server::router::{basic_auth, unauthorized};
/// use h1_server::{Request, Response};
///
/// async fn handle(req: Request) -> Response {
///     match basic_auth(&req) {
///         Some((user, pass)) if user == "ann" && pass == "pw" => Response::text(200, "hi ann\n"),
///         _ => unauthorized("MyRealm"),
///     }
/// }
/// # fn is_handler<H: h1_server::Handler>(_: H) {}
/// # is_handler(handle);
/// ```
pub fn basic_auth(req: &Request) -> Option<(String, String)> {
    parse_basic(req.header("authorization")?)
}

fn parse_basic(value: &str) -> Option<(String, String)> {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64_decode(token.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

/// A `401 Unauthorized` asking for Basic credentials for `realm`.
///
/// ```
/// let r = h1_server::router::unauthorized("admin area");
/// assert_eq!(r.status(), 401);
/// assert_eq!(
///     r.headers().get_str("www-authenticate"),
///     Some(r#"Basic realm="admin area", charset="UTF-8""#)
/// );
/// ```
pub fn unauthorized(realm: &str) -> Response {
    let mut quoted = String::with_capacity(realm.len());
    for c in realm.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    Response::text(401, "unauthorized\n").header(
        "WWW-Authenticate",
        format!("Basic realm=\"{quoted}\", charset=\"UTF-8\""),
    )
}

/// A [`Before`] handler that lets a request through only with Basic credentials that
/// `check` accepts, storing the user as [`AuthUser`]; others get [`unauthorized`].
///
/// ```
/// use h1_server::router::{AuthUser, BasicAuth, Router};
/// use h1_server::{Request, testing::TestRequest};
///
/// let mut router = Router::new();
/// router
///     .before("/admin", BasicAuth::new("admin", |user, pass| user == "root" && pass == "pw"))
///     .get("/admin", |req: Request| async move {
///         format!("hello {}\n", req.extension::<AuthUser>().map_or("", |u| u.0.as_str()))
///     });
/// assert_eq!(TestRequest::get("/admin").call_blocking(&router).status(), 401);
/// let mut ok = TestRequest::get("/admin")
///     .header("Authorization", "Basic cm9vdDpwdw==")
///     .call_blocking(&router);
/// assert_eq!(ok.text_blocking(), "hello root\n");
/// ```
#[derive(Clone)]
pub struct BasicAuth {
    realm: Arc<str>,
    check: Arc<Check>,
}

/// A credentials check: `(user, password) -> accepted`.
type Check = dyn Fn(&str, &str) -> bool + Send + Sync;

impl BasicAuth {
    /// Guard with `check(user, password)`; `realm` is shown by browsers.
    pub fn new(realm: &str, check: impl Fn(&str, &str) -> bool + Send + Sync + 'static) -> Self {
        Self {
            realm: realm.into(),
            check: Arc::new(check),
        }
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl Before for BasicAuth {
    async fn call(&self, mut req: Request) -> Flow {
        match basic_auth(&req) {
            Some((user, pass)) if (self.check)(&user, &pass) => {
                req.insert_extension(AuthUser(user));
                Flow::Continue(req)
            }
            _ => Flow::Respond(unauthorized(&self.realm)),
        }
    }
}

/// Decode standard base64 (RFC 4648 §4), padding optional.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim_end_matches('=').as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_parse() {
        assert_eq!(
            parse_basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            Some(("Aladdin".into(), "open sesame".into()))
        );
        assert_eq!(
            parse_basic("basic dXNlcjpwOmFzcw"),
            Some(("user".into(), "p:ass".into()))
        );
        assert_eq!(parse_basic("Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Basic dXNlcg=="), None, "no colon");
        assert_eq!(parse_basic("Basic"), None);
    }

    #[test]
    fn realm_is_quoted() {
        let r = unauthorized("a \"b\"\r\n");
        assert_eq!(
            r.headers().get_str("www-authenticate"),
            Some(r#"Basic realm="a \"b\"", charset="UTF-8""#)
        );
    }
}
