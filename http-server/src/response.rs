//! [`Response`], and the [`Body`] trait a streamed response body implements.

use std::fmt;
use std::fs::File;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_lite::{AsyncRead, Stream};
use h1_core::{Headers, ResponseHead, StaticHeader};

static TEXT_PLAIN: StaticHeader = StaticHeader::new("Content-Type", "text/plain; charset=utf-8");
static TEXT_HTML: StaticHeader = StaticHeader::new("Content-Type", "text/html; charset=utf-8");

/// A response: a status, headers and a body, or [`Response::close`] to drop the
/// connection without output.
///
/// The engine writes the framing headers: `Content-Length` when the body length is
/// known, otherwise chunked on HTTP/1.1 and close-delimited on HTTP/1.0.
///
/// ```
/// use h1_server::Response;
///
/// let r = Response::text(200, "hello\n").header("Cache-Control", "no-store");
/// assert_eq!(r.status(), 200);
/// assert_eq!(r.headers().get_str("content-type"), Some("text/plain; charset=utf-8"));
/// assert_eq!(r.body_length(), Some(6));
/// ```
pub struct Response {
    pub(crate) head: ResponseHead,
    pub(crate) body: ResponseBody,
}

/// What a [`Response`] carries after its head.
pub(crate) enum ResponseBody {
    Empty,
    Full(Bytes),
    Stream(Pin<Box<dyn Body + Send>>),
    /// A range of an open file: `sendfile` where the transport allows it.
    File(FileBody),
    /// Drop the connection without output.
    Close,
}

/// `len` bytes of `file` from `offset` (sent by `conn/file_body.rs`, read as a stream by
/// `file_body.rs`).
#[derive(Debug, Clone)]
pub(crate) struct FileBody {
    pub(crate) file: Arc<File>,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// A response body produced piece by piece: the driver polls it for [`Frame`]s.
///
/// The driver writes [`Frame::Data`] into its output buffer and writes the buffer to the
/// socket on [`Frame::Flush`], when it passes a high-water mark, and whenever
/// `poll_frame` returns `Pending`. After a `Flush` frame, `poll_frame` is called again
/// only once the socket write completed. `Ready(None)` ends the body; an error aborts the
/// response and closes the connection.
///
/// Implemented by [`RequestBody`](crate::RequestBody) (echo) and by [`StreamBody`] and
/// [`ReaderBody`] (any `Stream` of chunks or any `AsyncRead`).
///
/// ```
/// use std::{io, pin::Pin, task::{Context, Poll}};
/// use h1_server::{Body, Frame, Response};
///
/// /// Counts down from `n`, one line per frame.
/// struct Countdown(u32);
///
/// impl Body for Countdown {
///     fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>)
///         -> Poll<Option<io::Result<Frame>>> {
///         if self.0 == 0 {
///             return Poll::Ready(None);
///         }
///         self.0 -= 1;
///         Poll::Ready(Some(Ok(Frame::Data(format!("{}\n", self.0).into()))))
///     }
/// }
///
/// let r = Response::stream(200, Countdown(3));
/// assert_eq!(r.body_length(), None);
/// ```
pub trait Body {
    /// The next frame; `Ready(None)` at the end.
    ///
    /// # Errors
    ///
    /// An error aborts the response: the connection closes without finishing it.
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame>>>;

    /// The total length of the data frames, if known: sent as `Content-Length`.
    /// Default `None` (chunked on HTTP/1.1, close-delimited on HTTP/1.0).
    fn length(&self) -> Option<u64> {
        None
    }
}

/// One piece of a streamed response body.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Body bytes.
    Data(Bytes),
    /// Write everything buffered so far to the socket now.
    Flush,
    /// Trailer fields, sent with the last chunk of a chunked body (dropped for other
    /// framings). Must come last.
    Trailers(Headers),
}

impl Response {
    /// A response with `status`, no headers and an empty body.
    pub fn new(status: u16) -> Self {
        Self {
            head: ResponseHead::new(status),
            body: ResponseBody::Empty,
        }
    }

    /// An empty body with `status` (`Content-Length: 0`; none for 204 and 304).
    pub fn empty(status: u16) -> Self {
        Self::new(status)
    }

    /// A `text/plain; charset=utf-8` body. A `&'static str` is not copied.
    pub fn text(status: u16, text: impl Into<Bytes>) -> Self {
        // Not through the by-value builder: that moves the whole response twice.
        let mut response = Self::bytes(status, text);
        response.head.headers_mut().push_static(&TEXT_PLAIN);
        response
    }

    /// A `text/html; charset=utf-8` body.
    pub fn html(status: u16, html: impl Into<Bytes>) -> Self {
        let mut response = Self::bytes(status, html);
        response.head.headers_mut().push_static(&TEXT_HTML);
        response
    }

    /// A body of bytes with no `Content-Type`. `Bytes` clones are cheap: a static or
    /// shared body is never copied per response.
    pub fn bytes(status: u16, body: impl Into<Bytes>) -> Self {
        let body = body.into();
        let mut head = ResponseHead::new(status);
        head.content_length(Some(body.len() as u64));
        Self {
            head,
            body: if body.is_empty() {
                ResponseBody::Empty
            } else {
                ResponseBody::Full(body)
            },
        }
    }

    /// A streamed body. Its [`Body::length`] becomes the `Content-Length` when known.
    pub fn stream(status: u16, body: impl Body + Send + 'static) -> Self {
        let mut head = ResponseHead::new(status);
        head.content_length(body.length());
        Self {
            head,
            body: ResponseBody::Stream(into_boxed(body)),
        }
    }

    /// `len` bytes of an open file from `offset`, with `Content-Length: len`.
    ///
    /// On a plain TCP connection (Linux) the bytes go from the page cache to the socket
    /// with `sendfile`, without a copy through user space; elsewhere (TLS, Unix sockets,
    /// other transports, the test kit) they are read in pieces, from the page cache at
    /// once when cached, otherwise on the `blocking` thread pool. The file must hold the
    /// range while it is sent: if it shrinks, the connection closes. A shared
    /// `Arc<File>` (a cache of open files) is never moved: reads use explicit offsets.
    ///
    /// ```
    /// use h1_server::Response;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join("h1-server-doc-file.txt");
    /// std::fs::write(&path, "hello, file\n")?;
    /// let file = std::fs::File::open(&path)?;
    /// let r = Response::file(200, file, 7, 4).header("Content-Type", "text/plain");
    /// assert_eq!(r.body_length(), Some(4));
    /// # std::fs::remove_file(&path)
    /// # }
    /// ```
    pub fn file(status: u16, file: impl Into<Arc<File>>, offset: u64, len: u64) -> Self {
        let mut head = ResponseHead::new(status);
        head.content_length(Some(len));
        Self {
            head,
            body: ResponseBody::File(FileBody {
                file: file.into(),
                offset,
                len,
            }),
        }
    }

    /// Drop the connection without sending anything for this request. Responses to earlier pipelined requests are still written first.
    pub fn close() -> Self {
        Self {
            head: ResponseHead::new(500),
            body: ResponseBody::Close,
        }
    }

    /// A plain-text answer to a body-read [`Error`](crate::Error): its
    /// [`status`](crate::Error::status) and message.
    pub fn from_error(error: &crate::Error) -> Self {
        Self::text(error.status(), format!("{error}\n"))
    }

    /// Append a header (builder style). Framing headers (`Content-Length`,
    /// `Transfer-Encoding`) are written by the engine, not copied from here.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.head.header(name, value);
        self
    }

    /// Append a header checked when it was built (builder style): nothing is copied or
    /// checked per response. Build the field in a `static` or `const`.
    ///
    /// ```
    /// use h1_server::{Response, StaticHeader};
    ///
    /// static NO_STORE: StaticHeader = StaticHeader::new("Cache-Control", "no-store");
    ///
    /// let r = Response::text(200, "hi\n").header_static(&NO_STORE);
    /// assert_eq!(r.headers().get_str("cache-control"), Some("no-store"));
    /// ```
    #[must_use]
    pub fn header_static(mut self, field: &'static StaticHeader) -> Self {
        self.head.headers_mut().push_static(field);
        self
    }

    /// Set the status (builder style).
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.head.set_status(status);
        self
    }

    /// Set the declared body length (builder style): `Some(n)` sends `Content-Length: n`,
    /// `None` streams it chunked (close-delimited on HTTP/1.0). A streamed body must then
    /// yield exactly `n` bytes, or the connection closes.
    #[must_use]
    pub fn with_length(mut self, length: Option<u64>) -> Self {
        self.head.content_length(length);
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.head.status()
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        self.head.headers()
    }

    /// The headers, to change them.
    pub fn headers_mut(&mut self) -> &mut Headers {
        self.head.headers_mut()
    }

    /// The response head (status, reason, headers, length), to change it.
    pub fn head_mut(&mut self) -> &mut ResponseHead {
        &mut self.head
    }

    /// The declared body length (`None`: streamed without a length).
    pub fn body_length(&self) -> Option<u64> {
        self.head.length()
    }

    /// Whether this response drops the connection instead ([`Response::close`]).
    pub fn is_close(&self) -> bool {
        matches!(self.body, ResponseBody::Close)
    }

    /// Take the body out as a [`Body`] stream, to wrap it (compress it, count it) and put
    /// it back with [`set_body`](Self::set_body). Every kind of body comes out as a stream
    /// (bytes as one data frame, with their length); the response keeps its head (the
    /// declared length too) and is left with an empty body.
    ///
    /// `None`, leaving the response as it is, when there is nothing to take: an empty
    /// body, or [`Response::close`].
    ///
    /// ```
    /// use h1_server::Response;
    ///
    /// let mut r = Response::text(200, "hello");
    /// let body = r.take_body().unwrap();
    /// assert_eq!(h1_server::Body::length(&body), Some(5));
    /// assert!(r.take_body().is_none());
    /// r.set_body(body);
    /// assert_eq!(r.body_length(), Some(5));
    /// assert!(Response::close().take_body().is_none());
    /// ```
    pub fn take_body(&mut self) -> Option<Pin<Box<dyn Body + Send>>> {
        match std::mem::replace(&mut self.body, ResponseBody::Empty) {
            ResponseBody::Stream(stream) => Some(stream),
            ResponseBody::Full(bytes) => Some(Box::pin(Whole(Some(bytes)))),
            ResponseBody::File(file) => Some(Box::pin(file.into_stream())),
            other @ (ResponseBody::Empty | ResponseBody::Close) => {
                self.body = other;
                None
            }
        }
    }

    /// Replace the body with the stream `body`; its [`Body::length`] becomes the declared
    /// length (`Content-Length` when known, chunked otherwise). Takes a body from
    /// [`take_body`](Self::take_body) back without boxing it again.
    pub fn set_body(&mut self, body: impl Body + Send + 'static) {
        self.head.content_length(body.length());
        self.body = ResponseBody::Stream(into_boxed(body));
    }
}

/// `body` boxed, unless it already is a boxed body (a body from
/// [`Response::take_body`] put back is not boxed twice).
fn into_boxed(body: impl Body + Send + 'static) -> Pin<Box<dyn Body + Send>> {
    let mut slot = Some(body);
    match (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<Pin<Box<dyn Body + Send>>>>()
    {
        Some(boxed) => boxed.take().expect("just set"),
        None => Box::pin(slot.take().expect("just set")),
    }
}

/// A body of bytes known up front, as one data frame.
pub(crate) struct Whole(pub(crate) Option<Bytes>);

impl Body for Whole {
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Frame>>> {
        Poll::Ready(self.0.take().map(|b| Ok(Frame::Data(b))))
    }

    fn length(&self) -> Option<u64> {
        Some(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}

impl ResponseBody {
    /// The body as a stream where only streams are handled: a file is read in pieces.
    pub(crate) fn file_as_stream(self) -> Self {
        match self {
            Self::File(f) => Self::Stream(Box::pin(f.into_stream())),
            other => other,
        }
    }
}

impl Default for Response {
    fn default() -> Self {
        Self::new(200)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = match &self.body {
            ResponseBody::Empty => "empty",
            ResponseBody::Full(_) => "bytes",
            ResponseBody::Stream(_) => "stream",
            ResponseBody::File(_) => "file",
            ResponseBody::Close => "close",
        };
        f.debug_struct("Response")
            .field("head", &self.head)
            .field("body", &body)
            .finish()
    }
}

impl From<&'static str> for Response {
    fn from(text: &'static str) -> Self {
        Self::text(200, text)
    }
}

impl From<String> for Response {
    fn from(text: String) -> Self {
        Self::text(200, text)
    }
}

/// A [`Body`] from any `Stream` of `io::Result<Bytes>` chunks.
///
/// ```
/// use bytes::Bytes;
/// use h1_server::{Response, StreamBody};
///
/// let chunks = futures_lite::stream::iter(vec![Ok(Bytes::from("a")), Ok(Bytes::from("b"))]);
/// let r = Response::stream(200, StreamBody::new(chunks));
/// # let _ = r;
/// ```
#[derive(Debug)]
pub struct StreamBody<S> {
    stream: S,
    length: Option<u64>,
}

impl<S> StreamBody<S> {
    /// Wrap `stream`; its length is unknown.
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            length: None,
        }
    }

    /// Wrap `stream` whose chunks add up to exactly `length` bytes.
    pub fn with_length(stream: S, length: u64) -> Self {
        Self {
            stream,
            length: Some(length),
        }
    }
}

impl<S> Body for StreamBody<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Frame>>> {
        Pin::new(&mut self.stream)
            .poll_next(cx)
            .map(|c| c.map(|r| r.map(Frame::Data)))
    }

    fn length(&self) -> Option<u64> {
        self.length
    }
}

/// A [`Body`] from any `AsyncRead`, read in pieces of up to 16 KiB.
#[derive(Debug)]
pub struct ReaderBody<R> {
    reader: R,
    length: Option<u64>,
    buf: Vec<u8>,
}

impl<R> ReaderBody<R> {
    /// Wrap `reader`; its length is unknown.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            length: None,
            buf: Vec::new(),
        }
    }

    /// Wrap `reader`, which yields exactly `length` bytes.
    pub fn with_length(reader: R, length: u64) -> Self {
        Self {
            reader,
            length: Some(length),
            buf: Vec::new(),
        }
    }
}

impl<R: AsyncRead + Unpin> Body for ReaderBody<R> {
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame>>> {
        let this = self.get_mut();
        if this.buf.len() < 16 * 1024 {
            this.buf.resize(16 * 1024, 0);
        }
        match Pin::new(&mut this.reader).poll_read(cx, &mut this.buf) {
            Poll::Ready(Ok(0)) => Poll::Ready(None),
            Poll::Ready(Ok(n)) => Poll::Ready(Some(Ok(Frame::Data(Bytes::copy_from_slice(
                &this.buf[..n],
            ))))),
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn length(&self) -> Option<u64> {
        self.length
    }
}

impl<B: Body + ?Sized> Body for Pin<Box<B>> {
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame>>> {
        self.get_mut().as_mut().poll_frame(cx)
    }

    fn length(&self) -> Option<u64> {
        (**self).length()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_set_length_and_headers() {
        let r = Response::bytes(201, Bytes::from_static(b"abc")).header("X-A", "1");
        assert_eq!(r.status(), 201);
        assert_eq!(r.body_length(), Some(3));
        assert_eq!(r.headers().get_str("x-a"), Some("1"));
        assert!(Response::close().is_close());
        assert_eq!(Response::empty(204).body_length(), Some(0));
    }

    #[test]
    fn stream_body_yields_data_frames() {
        let chunks = futures_lite::stream::iter(vec![Ok(Bytes::from("a"))]);
        let mut body = StreamBody::new(chunks);
        let frame = futures_lite::future::block_on(futures_lite::future::poll_fn(|cx| {
            Pin::new(&mut body).poll_frame(cx)
        }));
        assert_eq!(frame.unwrap().unwrap(), Frame::Data(Bytes::from("a")));
    }
}
