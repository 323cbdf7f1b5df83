//! Protocol upgrades: a handler answers `101 Switching Protocols` and takes the raw
//! connection over ([`Request::upgrade`](crate::Request::upgrade), [`OnUpgrade`],
//! [`Upgraded`]).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};

/// The transport an [`Upgraded`] connection runs on, boxed.
trait Transport: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Transport for T {}

/// A connection taken over after a `101 Switching Protocols` (or a 2xx answer to
/// `CONNECT`): the socket (or TLS stream, or whatever transport the server ran on), with
/// the bytes the server had already read past the request head returned first.
///
/// The server no longer tracks it: no timeouts, no shutdown signal, not counted in
/// [`ServerHandle::connection_count`](crate::ServerHandle::connection_count). Closing
/// (`close().await`) half-closes the write side of a TCP socket; dropping it closes it.
pub struct Upgraded {
    io: Box<dyn Transport>,
    /// Read past the head, not yet handed out: `buffered[pos..]`.
    buffered: Vec<u8>,
    pos: usize,
}

impl Upgraded {
    pub(crate) fn new<IO>(io: IO, buffered: Vec<u8>) -> Self
    where
        IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        Self {
            io: Box::new(io),
            buffered,
            pos: 0,
        }
    }

    /// The bytes read from the client past the request head and not yet read through
    /// this handle (the first bytes of the new protocol, if the client did not wait for
    /// the `101`).
    pub fn buffered(&self) -> &[u8] {
        &self.buffered[self.pos..]
    }
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded")
            .field("buffered", &self.buffered().len())
            .finish_non_exhaustive()
    }
}

impl AsyncRead for Upgraded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pos < this.buffered.len() {
            let n = buf.len().min(this.buffered.len() - this.pos);
            buf[..n].copy_from_slice(&this.buffered[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.buffered.len() {
                this.buffered = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_close(cx)
    }
}

/// Resolves to the [`Upgraded`] connection once the server has written the handler's
/// `101 Switching Protocols` (or 2xx to `CONNECT`), from
/// [`Request::upgrade`](crate::Request::upgrade).
///
/// Fails (`io::ErrorKind::NotConnected`) when the response was not an upgrade, or the
/// connection closed before it went out. Await it in a task of its own: the handler must
/// return its `101` response first.
#[must_use = "an upgrade is handed over only to a waiting OnUpgrade"]
pub struct OnUpgrade {
    recv: Option<Pin<Box<dyn Future<Output = Option<Upgraded>> + Send>>>,
}

impl OnUpgrade {
    pub(crate) fn new(rx: Option<async_channel::Receiver<Upgraded>>) -> Self {
        Self {
            recv: rx.map(|rx| {
                Box::pin(async move { rx.recv().await.ok() })
                    as Pin<Box<dyn Future<Output = Option<Upgraded>> + Send>>
            }),
        }
    }
}

impl fmt::Debug for OnUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnUpgrade").finish_non_exhaustive()
    }
}

impl Future for OnUpgrade {
    type Output = io::Result<Upgraded>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let upgraded = match &mut self.recv {
            Some(recv) => std::task::ready!(recv.as_mut().poll(cx)),
            None => None,
        };
        self.recv = None;
        Poll::Ready(upgraded.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotConnected,
                "the connection was not upgraded",
            )
        }))
    }
}
