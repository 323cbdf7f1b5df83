//! Writing: the output buffer, flushing it to the transport with the write deadline,
//! and closing the transport.

use std::io::{self, IoSlice};
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures_lite::future::poll_fn;
use futures_lite::{AsyncRead, AsyncWrite};

use super::{Driver, OUT_KEEP, Step};
use crate::close::CloseReason;
use crate::error::Timeout;

/// Output not yet written: `buf[pos..]`, then `tail`.
pub(super) struct Output {
    pub(super) buf: Vec<u8>,
    pos: usize,
    /// A large in-memory body, written after `buf` in the same vectored write instead
    /// of being copied into it. Set only right before a flush, and nothing is added to
    /// `buf` while it is set (so [`pending`](Self::pending) need not count it).
    pub(super) tail: Bytes,
    flush: TransportFlush,
}

/// Whether the transport holds written bytes that a `poll_flush` should push on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransportFlush {
    /// Nothing written since the last flush.
    Clean,
    /// Bytes were written since.
    Due,
}

impl Output {
    pub(super) fn new() -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            tail: Bytes::new(),
            flush: TransportFlush::Clean,
        }
    }

    /// Bytes not yet written.
    #[inline]
    pub(super) fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The bytes not yet written.
    pub(super) fn unwritten(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// `n` more bytes were written (other than by [`Driver::poll_flush`]).
    pub(super) fn consumed(&mut self, n: usize) {
        self.pos += n;
        if self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// Free the buffer if it holds nothing (the connection is idle).
    pub(super) fn release(&mut self) {
        if self.pending() == 0 {
            self.buf = Vec::new();
            self.pos = 0;
        }
    }
}

impl<IO> Driver<'_, IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Write all buffered output, serving request-body reads meanwhile.
    pub(super) async fn flush_serving_body(&mut self) -> Step {
        poll_fn(|cx| {
            self.shared.register(cx.waker());
            if let ControlFlow::Break(reason) = self.check_control() {
                return Poll::Ready(ControlFlow::Break(reason));
            }
            match self.poll_flush(cx) {
                Poll::Pending => {
                    if let Poll::Ready(ControlFlow::Break(reason)) = self.poll_pump(cx) {
                        return Poll::Ready(ControlFlow::Break(reason));
                    }
                    Poll::Pending
                }
                ready => ready,
            }
        })
        .await
    }

    /// Write all buffered output.
    pub(super) async fn flush(&mut self) -> Step {
        if self.out.pending() == 0 && self.out.flush == TransportFlush::Clean {
            return ControlFlow::Continue(());
        }
        poll_fn(|cx| {
            self.shared.register(cx.waker());
            if let ControlFlow::Break(reason) = self.check_control() {
                return Poll::Ready(ControlFlow::Break(reason));
            }
            self.poll_flush(cx)
        })
        .await
    }

    /// Write buffered output to the transport and flush it, with the write timeout.
    pub(super) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        if !self.out.tail.is_empty() {
            if let Poll::Ready(ControlFlow::Break(reason)) = self.poll_write_tail(cx) {
                return Poll::Ready(ControlFlow::Break(reason));
            }
            if !self.out.tail.is_empty() {
                return self.poll_write_deadline(cx);
            }
        }
        let out = &mut self.out;
        while out.pos < out.buf.len() {
            match Pin::new(&mut self.io).poll_write(cx, &out.buf[out.pos..]) {
                Poll::Ready(Ok(0)) => return broken(io::ErrorKind::WriteZero),
                Poll::Ready(Ok(n)) => {
                    self.obs.wrote(n);
                    out.pos += n;
                    out.flush = TransportFlush::Due;
                    self.write_since = None;
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return broken(e.kind()),
                Poll::Pending => return self.poll_write_deadline(cx),
            }
        }
        if out.flush == TransportFlush::Due {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => out.flush = TransportFlush::Clean,
                Poll::Ready(Err(e)) => return broken(e.kind()),
                Poll::Pending => return self.poll_write_deadline(cx),
            }
        }
        out.buf.clear();
        out.pos = 0;
        if out.buf.capacity() > OUT_KEEP {
            out.buf = Vec::new();
        }
        Poll::Ready(ControlFlow::Continue(()))
    }

    /// Write `buf[pos..]` and the tail in vectored writes (head and body in one system
    /// call, the body not copied) until the tail is out. `Ready(Continue)` when it is.
    fn poll_write_tail(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        let out = &mut self.out;
        while !out.tail.is_empty() {
            let in_buf = out.buf.len() - out.pos;
            let bufs = [IoSlice::new(&out.buf[out.pos..]), IoSlice::new(&out.tail)];
            match Pin::new(&mut self.io).poll_write_vectored(cx, &bufs) {
                Poll::Ready(Ok(0)) => return broken(io::ErrorKind::WriteZero),
                Poll::Ready(Ok(n)) => {
                    out.pos += n.min(in_buf);
                    if n > in_buf {
                        out.tail.advance(n - in_buf);
                    }
                    out.flush = TransportFlush::Due;
                    self.write_since = None;
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return broken(e.kind()),
                Poll::Pending => return Poll::Pending,
            }
        }
        // Let the body's storage go now.
        out.tail = Bytes::new();
        Poll::Ready(ControlFlow::Continue(()))
    }

    pub(super) fn poll_write_deadline(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        let since = *self.write_since.get_or_insert_with(|| self.clock.now());
        if self
            .write_timer
            .poll_expired(cx, since + self.config.write_timeout)
        {
            log::debug!("connection {}: write timeout", self.info.id);
            return Poll::Ready(ControlFlow::Break(CloseReason::Timeout(Timeout::Write)));
        }
        Poll::Pending
    }

    /// Close the transport (`poll_close`: a TCP half-close, a TLS close_notify), bounded
    /// by the write timeout.
    pub(super) async fn close_transport(&mut self) {
        let deadline = self.clock.now() + self.config.write_timeout;
        poll_fn(|cx| match Pin::new(&mut self.io).poll_close(cx) {
            Poll::Ready(_) => Poll::Ready(()),
            Poll::Pending if self.write_timer.poll_expired(cx, deadline) => Poll::Ready(()),
            Poll::Pending => Poll::Pending,
        })
        .await;
    }
}

/// The transport failed.
fn broken(kind: io::ErrorKind) -> Poll<Step> {
    Poll::Ready(ControlFlow::Break(CloseReason::Io(kind)))
}
