//! Response helpers: redirects, JSON with the `serde` feature, and the router's own answers
//! (the `Allow` list, the `500` for a panicking handler).

use crate::Response;

/// The kinds of redirect (RFC 9110 §15.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    /// `301 Moved Permanently` (clients may turn a POST into a GET).
    MovedPermanently,
    /// `302 Found` (clients may turn a POST into a GET).
    Found,
    /// `303 See Other`: fetch the location with GET (after a form POST).
    SeeOther,
    /// `307 Temporary Redirect`: same method and body.
    Temporary,
    /// `308 Permanent Redirect`: same method and body.
    Permanent,
}

impl Redirect {
    /// The status code.
    pub fn status(self) -> u16 {
        match self {
            Self::MovedPermanently => 301,
            Self::Found => 302,
            Self::SeeOther => 303,
            Self::Temporary => 307,
            Self::Permanent => 308,
        }
    }
}

/// A redirect to `location` (a path or an absolute URL). Control characters are removed
/// from the location, so it cannot split the header.
///
/// ```
/// use h1_server::router::{Redirect, redirect};
///
/// let r = redirect(Redirect::SeeOther, "/done");
/// assert_eq!(r.status(), 303);
/// assert_eq!(r.headers().get_str("location"), Some("/done"));
/// ```
pub fn redirect(kind: Redirect, location: &str) -> Response {
    let location: String = location.chars().filter(|c| !c.is_control()).collect();
    Response::text(kind.status(), format!("redirecting to {location}\n"))
        .header("Location", location)
}

/// A JSON response (`application/json`) with `status`; `500` if `value` cannot be
/// serialized. The same as returning `(status, Json(value))`.
///
/// ```
/// let r = h1_server::router::json(200, &serde_json::json!({"ok": true}));
/// assert_eq!(r.headers().get_str("content-type"), Some("application/json"));
/// assert_eq!(r.body_length(), Some(11));
/// ```
#[cfg(feature = "serde")]
pub fn json<T: serde::Serialize + ?Sized>(status: u16, value: &T) -> Response {
    use crate::IntoResponse;
    (status, crate::Json(value)).into_response()
}

/// Read the request body (at most `limit` bytes) as JSON.
///
/// # Errors
///
/// The body-read errors of [`Request::bytes`](crate::Request::bytes), and
/// [`Error::InvalidBody`](crate::Error::InvalidBody) (answered `400`) when it is not
/// valid JSON for `T`.
#[cfg(feature = "serde")]
pub async fn read_json<T: serde::de::DeserializeOwned>(
    req: &mut crate::Request,
    limit: u64,
) -> Result<T, crate::Error> {
    let body = req.bytes(limit).await?;
    serde_json::from_slice(&body).map_err(|_| crate::Error::InvalidBody("invalid JSON"))
}

/// `GET, HEAD, OPTIONS, …`: the methods given, `HEAD` when `GET` is there, and `OPTIONS`.
pub(super) fn allow_value<'a>(methods: impl Iterator<Item = &'a str>) -> String {
    let mut list: Vec<&str> = methods.collect();
    if list.contains(&"GET") && !list.contains(&"HEAD") {
        list.push("HEAD");
    }
    if !list.contains(&"OPTIONS") {
        list.push("OPTIONS");
    }
    list.join(", ")
}

/// The answer to a panic in a handler.
pub(super) fn internal_error() -> Response {
    Response::text(500, "internal server error\n")
}
