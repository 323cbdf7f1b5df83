//! [`RequestBody`]: a request's body as a stream with backpressure, read from the
//! connection (or, for a request built by [`testing`](crate::testing), from bytes or a
//! stream).

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_lite::{AsyncRead, Stream};
use h1_core::Headers;

use crate::error::Error;
use crate::response::{Body, Frame};
use crate::shared::{BodyState, ConnShared};

/// The body of a [`Request`](crate::Request), read as an [`AsyncRead`], a [`Stream`] of chunks, or with
/// [`chunk`](Self::chunk).
///
/// Backpressure: nothing is read from the socket for the body until it is read here. The
/// first read sends `100 Continue` when the client asked for it (RFC 9110 §10.1.1). A
/// body left unread when the response is sent is discarded by the engine (up to
/// `Limits::max_discard_bytes`, past which the connection closes).
///
/// Reads fail with [`Error::Timeout`] when the client stalls or trickles (see
/// [`ServerConfig::body_timeout`](crate::ServerConfig::body_timeout) and
/// [`ServerConfig::min_body_rate`](crate::ServerConfig::min_body_rate)); the connection
/// then closes after the response.
pub struct RequestBody {
    shared: Option<Arc<ConnShared>>,
    generation: u64,
    length: Option<u64>,
    received: u64,
    /// A body not read from a connection (a test request's); `shared` is then `None`.
    local: Option<Box<Local>>,
}

/// A synthetic body: chunks from a stream, the current one being read.
struct Local {
    /// Behind a lock only so that `RequestBody` stays `Sync`; reads hold `&mut`.
    stream: Mutex<LocalStream>,
    chunk: Bytes,
}

/// A boxed stream of body chunks.
pub(crate) type LocalStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

impl RequestBody {
    /// An empty body.
    pub fn empty() -> Self {
        Self {
            shared: None,
            generation: 0,
            length: Some(0),
            received: 0,
            local: None,
        }
    }

    pub(crate) fn new(shared: Arc<ConnShared>, generation: u64, length: Option<u64>) -> Self {
        Self {
            shared: Some(shared),
            generation,
            length,
            received: 0,
            local: None,
        }
    }

    /// A body read from `stream`, declaring `length` (the `Content-Length`, if known).
    pub(crate) fn from_stream(stream: LocalStream, length: Option<u64>) -> Self {
        Self {
            shared: None,
            generation: 0,
            length,
            received: 0,
            local: Some(Box::new(Local {
                stream: Mutex::new(stream),
                chunk: Bytes::new(),
            })),
        }
    }

    /// The declared `Content-Length`; `None` for a chunked body.
    pub fn length(&self) -> Option<u64> {
        self.length
    }

    /// Body bytes read through this handle so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The trailer fields of a chunked body, once it was read whole.
    pub fn trailers(&self) -> Option<Headers> {
        let shared = self.shared.as_ref()?;
        let slot = shared.body();
        (slot.generation == self.generation && slot.state == BodyState::Eof)
            .then(|| slot.trailers.clone())
            .flatten()
    }

    /// The next piece of the body; `None` at its end.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] for a malformed body (or the peer closing mid-body),
    /// [`Error::Timeout`] ([`Timeout::BodyStall`](crate::Timeout::BodyStall),
    /// [`Timeout::BodyRate`](crate::Timeout::BodyRate)), [`Error::Io`], and
    /// [`Error::BodyClosed`] after the response was sent.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        futures_lite::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Read the whole body, at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::BodyTooLarge`] past `limit`, and the errors of [`chunk`](Self::chunk).
    pub async fn bytes(&mut self, limit: u64) -> Result<Bytes, Error> {
        if self.length.is_some_and(|n| n > limit) {
            return Err(Error::BodyTooLarge { limit });
        }
        let mut first: Option<Bytes> = None;
        let mut all = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            if self.received > limit {
                return Err(Error::BodyTooLarge { limit });
            }
            match &first {
                None if all.is_empty() => first = Some(chunk),
                _ => {
                    if let Some(f) = first.take() {
                        all.extend_from_slice(&f);
                    }
                    all.extend_from_slice(&chunk);
                }
            }
        }
        Ok(first.unwrap_or_else(|| all.into()))
    }

    /// Poll for the next piece of the body (see [`chunk`](Self::chunk)).
    ///
    /// # Errors
    ///
    /// As [`chunk`](Self::chunk).
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, Error>> {
        let Some(shared) = &self.shared else {
            let Some(local) = &mut self.local else {
                return Poll::Ready(Ok(None));
            };
            let polled = local.poll_chunk(cx);
            if let Poll::Ready(Ok(Some(b))) = &polled {
                self.received += b.len() as u64;
            }
            return polled;
        };
        let mut slot = shared.body();
        if slot.generation != self.generation {
            return Poll::Ready(Err(Error::BodyClosed));
        }
        if slot.pos < slot.chunk.len() {
            let bytes = if slot.pos == 0 {
                Bytes::from(std::mem::take(&mut slot.chunk))
            } else {
                let b = Bytes::copy_from_slice(&slot.chunk[slot.pos..]);
                slot.chunk.clear();
                b
            };
            slot.pos = 0;
            self.received += bytes.len() as u64;
            return Poll::Ready(Ok(Some(bytes)));
        }
        match slot.state {
            BodyState::Eof => Poll::Ready(Ok(None)),
            BodyState::Failed(kind) => Poll::Ready(Err(kind.to_error())),
            BodyState::Reading => {
                if slot.park_reader(cx.waker()) {
                    drop(slot);
                    shared.wake_conn();
                }
                Poll::Pending
            }
        }
    }
}

impl Default for RequestBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("length", &self.length)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for RequestBody {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let Some(shared) = &this.shared else {
            let Some(local) = &mut this.local else {
                return Poll::Ready(Ok(0));
            };
            let n = std::task::ready!(local.poll_read(cx, buf))?;
            this.received += n as u64;
            return Poll::Ready(Ok(n));
        };
        let mut slot = shared.body();
        if slot.generation != this.generation {
            return Poll::Ready(Err(Error::BodyClosed.into()));
        }
        if slot.pos < slot.chunk.len() {
            let n = buf.len().min(slot.chunk.len() - slot.pos);
            buf[..n].copy_from_slice(&slot.chunk[slot.pos..slot.pos + n]);
            slot.pos += n;
            if slot.pos == slot.chunk.len() {
                slot.chunk.clear();
                slot.pos = 0;
            }
            this.received += n as u64;
            return Poll::Ready(Ok(n));
        }
        match slot.state {
            BodyState::Eof => Poll::Ready(Ok(0)),
            BodyState::Failed(kind) => Poll::Ready(Err(kind.to_error().into())),
            BodyState::Reading => {
                if slot.park_reader(cx.waker()) {
                    drop(slot);
                    shared.wake_conn();
                }
                Poll::Pending
            }
        }
    }
}

impl Stream for RequestBody {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .poll_chunk(cx)
            .map(|r| r.map_err(io::Error::from).transpose())
    }
}

impl Body for RequestBody {
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame>>> {
        self.poll_next(cx).map(|c| c.map(|r| r.map(Frame::Data)))
    }

    fn length(&self) -> Option<u64> {
        self.length
    }
}

impl Local {
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, Error>> {
        if !self.chunk.is_empty() {
            return Poll::Ready(Ok(Some(std::mem::take(&mut self.chunk))));
        }
        let stream = self
            .stream
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            return match std::task::ready!(stream.as_mut().poll_next(cx)) {
                Some(Ok(b)) if b.is_empty() => continue,
                Some(Ok(b)) => Poll::Ready(Ok(Some(b))),
                Some(Err(e)) => Poll::Ready(Err(Error::Io(e))),
                None => Poll::Ready(Ok(None)),
            };
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if self.chunk.is_empty() {
            match std::task::ready!(self.poll_chunk(cx)) {
                Ok(Some(b)) => self.chunk = b,
                Ok(None) => return Poll::Ready(Ok(0)),
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Poll::Ready(Ok(n))
    }
}
