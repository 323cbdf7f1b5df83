//! [`IntoResponse`]: what a [`Handler`](crate::Handler) may return, and `Json` with the
//! `serde` feature.

use std::io;

use bytes::Bytes;
use h1_core::Headers;

use crate::Response;

/// What a handler may return: anything that becomes a [`Response`].
///
/// | Returned value | Response |
/// |---|---|
/// | [`Response`] | itself (no conversion) |
/// | `&'static str`, `String` | `200`, `text/plain; charset=utf-8` |
/// | [`Bytes`], `Vec<u8>` | `200`, no `Content-Type` |
/// | `()` | `200` with an empty body |
/// | `(u16, R)` | `R`'s response with that status |
/// | `(u16, headers, R)` | the same, with the headers appended: `[(name, value); N]`, a `Vec` of pairs or [`Headers`] |
/// | `Result<T, E>` | either side's response |
/// | [`Error`](crate::Error) | its [status](crate::Error::status) and message |
/// | `multipart::UploadError` (`multipart` feature) | its status; no server paths disclosed |
/// | `io::Error` | 404 (not found), 403 (permission denied), else 500 |
/// | `Box<dyn Error + Send + Sync>` | 500 (logged, not sent) |
/// | `Json<T>` (`serde` feature) | `200`, `application/json` |
/// | `http::Response<B>` (`http` feature) | converted, `B` streamed as the body |
///
/// h1-stream's push bodies implement it too.
///
/// ```
/// use h1_server::{IntoResponse, Response};
///
/// assert_eq!("hi".into_response().status(), 200);
/// assert_eq!((404, "no such user\n").into_response().status(), 404);
/// let r = (201, [("Location", "/users/7")], "created\n").into_response();
/// assert_eq!(r.headers().get_str("location"), Some("/users/7"));
/// let failed: Result<&str, h1_server::Error> = Err(h1_server::Error::BodyTooLarge { limit: 1 });
/// assert_eq!(failed.into_response().status(), 413);
/// ```
pub trait IntoResponse {
    /// The response.
    fn into_response(self) -> Response;
}

/// A JSON body (`application/json`); as a handler's return value, a `200` (or the status
/// of a `(u16, Json(..))` tuple). A value that cannot be serialized answers `500`.
///
/// ```
/// use h1_server::{IntoResponse, Json};
///
/// let r = (201, Json(serde_json::json!({"id": 7}))).into_response();
/// assert_eq!(r.status(), 201);
/// assert_eq!(r.headers().get_str("content-type"), Some("application/json"));
/// assert_eq!(r.body_length(), Some(8));
/// ```
#[cfg(feature = "serde")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl IntoResponse for Response {
    #[inline(always)]
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text(200, self)
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(200, self)
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        Response::bytes(200, self)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Response::bytes(200, self)
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::empty(200)
    }
}

impl<R: IntoResponse> IntoResponse for (u16, R) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        response.head.set_status(self.0);
        response
    }
}

impl<R: IntoResponse, K: AsRef<str>, V: AsRef<[u8]>, const N: usize> IntoResponse
    for (u16, [(K, V); N], R)
{
    fn into_response(self) -> Response {
        with_headers(self.0, self.1, self.2)
    }
}

impl<R: IntoResponse, K: AsRef<str>, V: AsRef<[u8]>> IntoResponse for (u16, Vec<(K, V)>, R) {
    fn into_response(self) -> Response {
        with_headers(self.0, self.1, self.2)
    }
}

impl<R: IntoResponse> IntoResponse for (u16, Headers, R) {
    fn into_response(self) -> Response {
        let mut response = self.2.into_response();
        response.head.set_status(self.0);
        for (name, value) in &self.1 {
            response.head.header(name, value);
        }
        response
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        }
    }
}

impl IntoResponse for crate::Error {
    fn into_response(self) -> Response {
        log::debug!("handler error: {self}");
        Response::from_error(&self)
    }
}

impl IntoResponse for io::Error {
    fn into_response(self) -> Response {
        match self.kind() {
            io::ErrorKind::NotFound => Response::text(404, "not found\n"),
            io::ErrorKind::PermissionDenied => Response::text(403, "forbidden\n"),
            _ => {
                log::error!("handler error: {self}");
                internal_error()
            }
        }
    }
}

impl IntoResponse for Box<dyn std::error::Error + Send + Sync> {
    fn into_response(self) -> Response {
        log::error!("handler error: {self}");
        internal_error()
    }
}

#[cfg(feature = "serde")]
impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::bytes(200, body).header_static(&JSON),
            Err(e) => {
                log::error!("json response: {e}");
                internal_error()
            }
        }
    }
}

#[cfg(feature = "serde")]
static JSON: h1_core::StaticHeader = h1_core::StaticHeader::new("Content-Type", "application/json");

/// The answer to a panic or an error inside a handler.
pub(crate) fn internal_error() -> Response {
    Response::text(500, "internal server error\n")
}

fn with_headers<K: AsRef<str>, V: AsRef<[u8]>>(
    status: u16,
    headers: impl IntoIterator<Item = (K, V)>,
    body: impl IntoResponse,
) -> Response {
    let mut response = body.into_response();
    response.head.set_status(status);
    for (name, value) in headers {
        response.head.header(name.as_ref(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_set_status_and_headers() {
        let r = (
            418,
            vec![("X-A", "1"), ("X-B", "2")],
            Bytes::from_static(b"tea"),
        )
            .into_response();
        assert_eq!(r.status(), 418);
        assert_eq!(r.headers().get_str("x-b"), Some("2"));
        assert_eq!(r.body_length(), Some(3));
        let mut h = Headers::new();
        h.append("X-C", "3");
        let r = (202, h, ()).into_response();
        assert_eq!((r.status(), r.headers().get_str("x-c")), (202, Some("3")));
    }

    #[test]
    fn io_errors_map_to_statuses() {
        let e = |k| io::Error::from(k).into_response().status();
        assert_eq!(e(io::ErrorKind::NotFound), 404);
        assert_eq!(e(io::ErrorKind::PermissionDenied), 403);
        assert_eq!(e(io::ErrorKind::BrokenPipe), 500);
    }
}
