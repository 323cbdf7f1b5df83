//! Response compression that keeps flushes: gzip, deflate, Brotli and zstd, negotiated from
//! `Accept-Encoding` (the `compression` feature).
//!
//! [`Compress`] wraps a [`Handler`]: it reads the request's `Accept-Encoding`, calls the
//! inner handler, and encodes the response body when the client accepts a coding and the
//! response is worth compressing. [`Compression`] holds the policy (the codings and the
//! smallest body worth compressing) and [`Compression::apply`] applies it to any response,
//! for use outside a handler wrapper.
//!
//! Streams keep their timing: every [`Frame::Flush`](crate::Frame::Flush) of the body
//! (each `h1_stream::Sender::send` in flush mode, and each `flush()`) becomes a sync
//! flush of the encoder, so a compressed Server-Sent Events stream delivers each event
//! when it is sent instead of when the encoder's buffer fills.
//!
//! A response is left as it is (and so is its `Vary`) when:
//! - the request is `HEAD`, or the status is 1xx, 204, 206 or 304, or it has a
//!   `Content-Range` (a range of the identity body must stay a range of it);
//! - it already has a `Content-Encoding`, or `Cache-Control: no-transform`;
//! - its `Content-Type` is already compressed: images (except SVG), audio, video, fonts
//!   in WOFF, archives (zip, gzip, zstd, bzip2, xz, 7z, rar) and PDF;
//! - it is [`Response::close`] or has an empty body.
//!
//! Otherwise it gets `Vary: Accept-Encoding`, and is encoded when negotiation picks a
//! coding and its known length is at least [`min_size`](Compression::min_size) (a
//! streamed body of unknown length is always encoded). When the client refuses
//! `identity` and accepts none of the codings, a 2xx answer becomes
//! `406 Not Acceptable`. A compressed response is sent chunked (its length is not known
//! up front), with `Content-Encoding` set and a strong `ETag` made weak.
//!
//! # Examples
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use h1_server::compress::Compress;
//! use h1_server::{Request, Response, Server};
//!
//! let app = |_req: Request| async { Response::text(200, "hello ".repeat(1000)) };
//! let handle = Server::bind("127.0.0.1:8080").await?.serve(Compress::new(app));
//! // curl --compressed -v http://127.0.0.1:8080/  → Content-Encoding: zstd (or br, gzip)
//! # Ok(()) }
//! ```

mod body;
mod negotiate;

use std::sync::Arc;

pub use negotiate::{Coding, Negotiated, negotiate};

use crate::IntoResponse;
use crate::response::ResponseBody;
use crate::{Handler, Request, Response};

/// A [`Handler`] that compresses the responses of the handler it wraps (see the
/// [module docs](self) for what is compressed and when).
///
/// ```
/// use h1_server::compress::{Coding, Compress, Compression};
/// use h1_server::{Request, Response};
///
/// let app = |_req: Request| async { Response::text(200, "hi\n") };
/// let mut policy = Compression::new();
/// policy.codings(&[Coding::Gzip]).min_size(256);
/// let handler = Compress::with_policy(app, policy);
/// # fn is_handler<H: h1_server::Handler>(_: &H) {}
/// # is_handler(&handler);
/// ```
#[derive(Debug, Clone)]
pub struct Compress<H> {
    handler: H,
    policy: Arc<Compression>,
}

/// Which codings a server offers and which bodies it compresses: the policy behind
/// [`Compress`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compression {
    codings: Vec<Coding>,
    min_size: u64,
    effort: Effort,
}

/// How hard the encoders work: a trade of CPU time for bytes on the wire.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Effort {
    /// The cheapest levels (gzip and deflate 1, Brotli 1, zstd 1): several times faster
    /// than [`Balanced`](Self::Balanced), some 20% larger on text.
    Fast,
    /// The default: gzip and deflate 6 (zlib's default), Brotli 4, zstd 3 (zstd's
    /// default).
    #[default]
    Balanced,
    /// The smallest output at a cost still bearable per response: gzip and deflate 9,
    /// Brotli 9, zstd 19. For bodies served many times, better compressed once ahead.
    Small,
}

impl<H: Handler> Compress<H> {
    /// Wrap `handler` with the default [`Compression`] policy.
    pub fn new(handler: H) -> Self {
        Self::with_policy(handler, Compression::new())
    }

    /// Wrap `handler` with `policy`.
    pub fn with_policy(handler: H, policy: Compression) -> Self {
        Self {
            handler,
            policy: Arc::new(policy),
        }
    }

    /// The wrapped handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }
}

impl<H: Handler> Handler for Compress<H> {
    type Output = Response;

    async fn call(&self, req: Request) -> Response {
        // Only what the policy needs is kept (the request moves into the handler).
        let accept = req.header("accept-encoding").map(str::to_owned);
        let is_head = req.method() == "HEAD";
        let response = self.handler.call(req).await.into_response();
        self.policy.apply(accept.as_deref(), is_head, response)
    }
}

impl Compression {
    /// The default policy: zstd, Brotli, gzip and deflate (preferred in that order on
    /// equal q-values), for bodies of 1024 bytes and more, at [`Effort::Balanced`].
    pub fn new() -> Self {
        Self {
            codings: Coding::ALL.to_vec(),
            min_size: 1024,
            effort: Effort::Balanced,
        }
    }

    /// The codings offered, in order of preference on equal q-values (default
    /// [`Coding::ALL`]). An empty list compresses nothing.
    pub fn codings(&mut self, codings: &[Coding]) -> &mut Self {
        self.codings = codings.to_vec();
        self
    }

    /// The smallest body length, in bytes, worth compressing (default 1024): below it the
    /// coding's own overhead eats most of the gain. A streamed body of unknown length is
    /// always compressed.
    pub fn min_size(&mut self, bytes: u64) -> &mut Self {
        self.min_size = bytes;
        self
    }

    /// How hard the encoders work (default [`Effort::Balanced`]).
    pub fn effort(&mut self, effort: Effort) -> &mut Self {
        self.effort = effort;
        self
    }

    /// Negotiate a coding for `accept_encoding` (the request's field, if any) among this
    /// policy's codings. See [`negotiate`].
    pub fn negotiate(&self, accept_encoding: Option<&str>) -> Negotiated {
        negotiate(accept_encoding, &self.codings)
    }

    /// Compress `response` for a request with `accept_encoding` (its `Accept-Encoding`
    /// field, if any), `is_head` for a `HEAD` request: the response as it should be sent.
    ///
    /// ```
    /// use h1_server::Response;
    /// use h1_server::compress::Compression;
    ///
    /// let policy = Compression::new();
    /// let big = Response::text(200, "a".repeat(4096));
    /// let r = policy.apply(Some("gzip"), false, big);
    /// assert_eq!(r.headers().get_str("content-encoding"), Some("gzip"));
    /// assert_eq!(r.headers().get_str("vary"), Some("Accept-Encoding"));
    /// assert_eq!(r.body_length(), None);
    ///
    /// let small = policy.apply(Some("gzip"), false, Response::text(200, "hi"));
    /// assert_eq!(small.headers().get_str("content-encoding"), None);
    /// ```
    pub fn apply(
        &self,
        accept_encoding: Option<&str>,
        is_head: bool,
        mut response: Response,
    ) -> Response {
        if is_head || !is_transformable(&response) {
            return response;
        }
        add_vary(&mut response);
        let coding = match self.negotiate(accept_encoding) {
            Negotiated::Encode(coding) => coding,
            Negotiated::Identity => return response,
            Negotiated::NotAcceptable if (200..300).contains(&response.status()) => {
                return Response::text(406, "no acceptable content coding\n")
                    .header("Vary", "Accept-Encoding");
            }
            Negotiated::NotAcceptable => return response,
        };
        // Refusing identity outweighs the size threshold.
        let identity_ok = self.negotiate_identity(accept_encoding);
        if identity_ok && response.body_length().is_some_and(|n| n < self.min_size) {
            return response;
        }
        let Some(body) = take_body(&mut response) else {
            return response;
        };
        response.set_body_stream(body::CompressBody::new(body, coding, self.effort));
        let headers = response.headers_mut();
        headers.set("Content-Encoding", coding.as_str());
        if let Some(etag) = headers.get_str("etag").filter(|e| !e.starts_with("W/")) {
            let weak = format!("W/{etag}");
            headers.set("ETag", weak);
        }
        response
    }

    /// Whether the client accepts an unencoded body.
    fn negotiate_identity(&self, accept_encoding: Option<&str>) -> bool {
        negotiate(accept_encoding, &[]) == Negotiated::Identity
    }
}

impl Default for Compression {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether the response may be encoded at all (status, headers, type, body).
fn is_transformable(response: &Response) -> bool {
    let status = response.status();
    if status < 200 || matches!(status, 204 | 206 | 304) || response.is_close() {
        return false;
    }
    if response.body_length() == Some(0) {
        return false;
    }
    let headers = response.headers();
    if headers.contains("content-range") {
        return false;
    }
    if headers
        .get_str("content-encoding")
        .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"))
    {
        return false;
    }
    let no_transform = headers.get_all("cache-control").any(|v| {
        String::from_utf8_lossy(v)
            .split(',')
            .any(|d| d.trim().eq_ignore_ascii_case("no-transform"))
    });
    !no_transform && !is_compressed_type(headers.get_str("content-type"))
}

/// Media types whose bytes are already compressed (or gain nothing).
fn is_compressed_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "image/svg+xml" {
        return false;
    }
    let (kind, sub) = essence.split_once('/').unwrap_or((&essence, ""));
    matches!(kind, "image" | "audio" | "video")
        || matches!(sub, "woff" | "woff2" | "font-woff")
        || matches!(
            sub,
            "zip"
                | "gzip"
                | "x-gzip"
                | "zstd"
                | "x-bzip2"
                | "x-xz"
                | "x-7z-compressed"
                | "vnd.rar"
                | "x-rar-compressed"
                | "x-compress"
                | "x-brotli"
                | "pdf"
                | "java-archive"
                | "wasm-gz"
        )
        || sub.ends_with("+zip")
        || sub.ends_with("+gzip")
}

fn add_vary(response: &mut Response) {
    let headers = response.headers_mut();
    let already = headers.get_all("vary").any(|v| {
        String::from_utf8_lossy(v)
            .split(',')
            .any(|t| matches!(t.trim(), "*") || t.trim().eq_ignore_ascii_case("accept-encoding"))
    });
    if !already {
        headers.append("Vary", "Accept-Encoding");
    }
}

/// The body of `response` as a stream (an empty or closing body gives `None`).
fn take_body(response: &mut Response) -> Option<std::pin::Pin<Box<dyn crate::Body + Send>>> {
    match std::mem::replace(&mut response.body, ResponseBody::Empty) {
        ResponseBody::Stream(stream) => Some(stream),
        ResponseBody::File(f) => Some(Box::pin(f.into_stream())),
        ResponseBody::Full(bytes) => Some(Box::pin(crate::StreamBody::new(
            futures_lite::stream::once(Ok(bytes)),
        ))),
        other => {
            response.body = other;
            None
        }
    }
}

impl Response {
    /// Replace the body with `body`, streamed without a length.
    fn set_body_stream(&mut self, body: impl crate::Body + Send + 'static) {
        self.body = ResponseBody::Stream(Box::pin(body));
        self.head_mut().content_length(None);
    }
}

#[cfg(test)]
mod tests;
