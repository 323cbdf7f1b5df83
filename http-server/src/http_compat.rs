//! Conversions to and from the [`http`] crate's types (the `http` feature), so code
//! written against `http::Request` / `http::Response` works with this server.
//!
//! - [`Request`] → `http::Request<RequestBody>`: method, URI (the request-target as sent),
//!   version, headers; the peer's `SocketAddr` and the [`ConnectionId`](crate::ConnectionId) ride along as
//!   extensions. The body stays the streaming [`RequestBody`].
//! - `http::Response<B>` → [`Response`] for any `B:` [`Body`]: status, headers; a
//!   `Content-Length` header becomes the declared length (the engine writes framing).
//! - [`Response`] → `http::Response<BoxBody>`.
//!
//! ```
//! use h1_server::{BoxBody, Response};
//!
//! let ours = Response::text(201, "made\n").header("X-Id", "7");
//! let theirs: http::Response<BoxBody> = ours.try_into().unwrap();
//! assert_eq!(theirs.status(), http::StatusCode::CREATED);
//! assert_eq!(theirs.headers()["x-id"], "7");
//! let back = Response::from(theirs);
//! assert_eq!(back.status(), 201);
//! assert_eq!(back.body_length(), Some(5));
//! ```

use std::fmt;
use std::pin::Pin;

use crate::response::Whole;
use crate::{Body, Response};
use crate::{Request, RequestBody};
use h1_core::Version;

/// A boxed response [`Body`]: the body type of a `Response` converted to
/// `http::Response`.
pub type BoxBody = Pin<Box<dyn Body + Send>>;

/// A request or response that the `http` crate's types cannot represent (such as a
/// request-target `http::Uri` rejects), or a [`Response::close`].
#[derive(Debug)]
pub struct ConversionError(&'static str);

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ConversionError {}

/// The `http` crate's form of a version.
fn http_version(v: Version) -> http::Version {
    match v {
        Version::Http10 => http::Version::HTTP_10,
        Version::Http11 => http::Version::HTTP_11,
    }
}

impl TryFrom<Request> for http::Request<RequestBody> {
    type Error = ConversionError;

    fn try_from(req: Request) -> Result<Self, ConversionError> {
        let method = http::Method::from_bytes(req.method().as_bytes())
            .map_err(|_| ConversionError("invalid method"))?;
        let uri: http::Uri = req
            .target()
            .parse()
            .map_err(|_| ConversionError("request-target is not a valid http::Uri"))?;
        let mut builder = http::Request::builder()
            .method(method)
            .uri(uri)
            .version(http_version(req.version()))
            .extension(req.peer_addr())
            .extension(req.connection_id());
        let headers = builder
            .headers_mut()
            .ok_or(ConversionError("invalid request"))?;
        headers.reserve(req.headers().len());
        for (name, value) in req.headers() {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ConversionError("invalid header name"))?;
            let value = http::HeaderValue::from_bytes(value)
                .map_err(|_| ConversionError("invalid header value"))?;
            headers.append(name, value);
        }
        builder
            .body(req.into_body())
            .map_err(|_| ConversionError("invalid request"))
    }
}

impl Request {
    /// This request as an `http::Request` (see [`TryFrom`] and the module docs); the peer
    /// address (`SocketAddr`) and [`ConnectionId`](crate::ConnectionId) are in its extensions.
    ///
    /// # Errors
    ///
    /// When the `http` crate rejects the method, the request-target or a header.
    pub fn into_http(self) -> Result<http::Request<RequestBody>, ConversionError> {
        self.try_into()
    }
}

/// Build the head of a [`Response`] from `http::response::Parts`, with `length` if known.
fn head_from_parts(
    parts: &http::response::Parts,
    length: Option<u64>,
    mut resp: Response,
) -> Response {
    resp.head_mut().set_status(parts.status.as_u16());
    let mut declared = None;
    for (name, value) in &parts.headers {
        if name == http::header::CONTENT_LENGTH {
            declared = value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok());
            continue;
        }
        if name == http::header::TRANSFER_ENCODING {
            continue;
        }
        resp.head_mut().header(name.as_str(), value.as_bytes());
    }
    resp.head_mut().content_length(length.or(declared));
    resp
}

impl<B: Body + Send + 'static> From<http::Response<B>> for Response {
    fn from(res: http::Response<B>) -> Self {
        let (parts, body) = res.into_parts();
        let length = body.length();
        let mut resp = Self::new(200);
        resp.set_body(body);
        head_from_parts(&parts, length, resp)
    }
}

/// An `http::Response` whose body is a [`Body`] is a handler's answer too.
///
/// ```
/// use h1_server::IntoResponse;
///
/// let r = http::Response::builder().status(202).body(h1_server::RequestBody::empty());
/// assert_eq!(r.unwrap().into_response().status(), 202);
/// ```
impl<B: Body + Send + 'static> crate::IntoResponse for http::Response<B> {
    fn into_response(self) -> Response {
        self.into()
    }
}

impl TryFrom<Response> for http::Response<BoxBody> {
    type Error = ConversionError;

    fn try_from(mut resp: Response) -> Result<Self, ConversionError> {
        if resp.is_close() {
            return Err(ConversionError(
                "Response::close has no http::Response form",
            ));
        }
        let length = resp.body_length();
        let body: BoxBody = match resp.take_body() {
            Some(body) => body,
            None => Box::pin(Whole(None)),
        };
        let mut builder = http::Response::builder().status(resp.status());
        let headers = builder
            .headers_mut()
            .ok_or(ConversionError("invalid status"))?;
        for (name, value) in resp.headers() {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ConversionError("invalid header name"))?;
            let value = http::HeaderValue::from_bytes(value)
                .map_err(|_| ConversionError("invalid header value"))?;
            headers.append(name, value);
        }
        if let Some(n) = length {
            headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(n));
        }
        builder
            .body(body)
            .map_err(|_| ConversionError("invalid status"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn response_round_trip_keeps_status_headers_and_length() {
        let ours = Response::bytes(404, Bytes::from_static(b"nope"))
            .header("X-A", "1")
            .header("X-A", "2");
        let theirs = http::Response::<BoxBody>::try_from(ours).unwrap();
        assert_eq!(theirs.status(), 404);
        assert_eq!(theirs.headers().get_all("x-a").iter().count(), 2);
        assert_eq!(theirs.headers()["content-length"], "4");
        let back = Response::from(theirs);
        assert_eq!(back.status(), 404);
        assert_eq!(back.body_length(), Some(4));
        assert!(back.headers().get("content-length").is_none());
        assert_eq!(back.headers().get_all("x-a").count(), 2);
        assert!(http::Response::<BoxBody>::try_from(Response::close()).is_err());
    }

    #[test]
    fn content_length_header_declares_an_unknown_length() {
        let body = crate::StreamBody::new(futures_lite::stream::iter(vec![Ok(Bytes::from("abc"))]));
        let theirs = http::Response::builder()
            .status(200)
            .header("content-length", "3")
            .header("transfer-encoding", "chunked")
            .body(body)
            .unwrap();
        let ours = Response::from(theirs);
        assert_eq!(ours.body_length(), Some(3));
        assert!(ours.headers().is_empty());
    }

    #[test]
    fn versions_map() {
        assert_eq!(http_version(Version::Http10), http::Version::HTTP_10);
        assert_eq!(http_version(Version::Http11), http::Version::HTTP_11);
    }
}
