//! Sending a file body ([`Response::file`](crate::Response::file)) with `sendfile`: on a
//! plain TCP connection in the edge-triggered set (Linux), the bytes go from the page
//! cache to the socket without passing through user space. Other transports get the
//! file read in pieces (see `send.rs`, and [`FileStream`](crate::file_body::FileStream)).

use std::ops::ControlFlow;
use std::task::{Context, Poll};

use futures_lite::future::poll_fn;
use futures_lite::{AsyncRead, AsyncWrite};

use super::send::StreamState;
use super::{Driver, Step};
use crate::close::CloseReason;
use crate::response::FileBody;

/// The largest file whose head is sent with `MSG_MORE`, to leave in one packet with it.
#[cfg(any(target_os = "linux", target_os = "android"))]
const MORE_MAX: u64 = 256 * 1024;

/// The most one `sendfile` call is asked for: a large file goes out in several calls, so
/// the write deadline and shutdown are looked at in between.
#[cfg(any(target_os = "linux", target_os = "android"))]
const SENDFILE_MAX: u64 = 1 << 30;

impl<IO> Driver<'_, IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Send a file body after its head: `sendfile` where the transport allows, else
    /// read and written as a stream (TLS, Unix sockets, other transports).
    pub(super) async fn send_file(&mut self, file: FileBody) -> Step {
        if self.can_sendfile() {
            return self.sendfile(file).await;
        }
        let mut stream = std::pin::pin!(file.into_stream());
        let mut state = StreamState::default();
        poll_fn(|cx| self.poll_stream(cx, stream.as_mut(), &mut state)).await
    }

    /// Whether this connection's transport can `sendfile` (a plain TCP connection in the
    /// edge-triggered set).
    fn can_sendfile(&mut self) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            edge_of(&mut self.io).is_some()
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        false
    }

    /// Send `file` after its head (in the output): the head and the framing first, then
    /// the file with `sendfile`, serving request-body reads while the socket is full. The
    /// bytes after the data (a chunk's line end) go into the output.
    async fn sendfile(&mut self, mut file: FileBody) -> Step {
        let Ok(len) = usize::try_from(file.len) else {
            return ControlFlow::Break(CloseReason::ResponseError);
        };
        let suffix = match self.engine.send_data_framing(len, &mut self.out.buf) {
            Ok(Some(suffix)) => suffix,
            // Nothing to write (a body the head said is empty).
            Ok(None) => return ControlFlow::Continue(()),
            Err(e) => {
                log::error!("connection {}: file body: {e}", self.info.id);
                return ControlFlow::Break(CloseReason::ResponseError);
            }
        };
        poll_fn(|cx| self.poll_sendfile(cx, &mut file)).await?;
        self.out.buf.extend_from_slice(suffix);
        ControlFlow::Continue(())
    }

    fn poll_sendfile(&mut self, cx: &mut Context<'_>, file: &mut FileBody) -> Poll<Step> {
        self.shared.register(cx.waker());
        if let ControlFlow::Break(reason) = self.check_control() {
            return Poll::Ready(ControlFlow::Break(reason));
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        while file.len > 0 {
            let Some(io) = edge_of(&mut self.io) else {
                return Poll::Ready(ControlFlow::Break(CloseReason::ResponseError));
            };
            let head = self.out.unwritten();
            if !head.is_empty() && file.len > MORE_MAX {
                // A large file: the head alone first (in one packet with the file's
                // start, the kernel copies the whole file on loopback).
                match self.poll_flush(cx) {
                    Poll::Ready(ControlFlow::Continue(())) => continue,
                    Poll::Ready(brk) => return Poll::Ready(brk),
                    Poll::Pending => return self.poll_wait_writable(cx),
                }
            }
            if !head.is_empty() {
                // The head (and earlier pipelined responses) first, held back to leave
                // in the same packet as the start of the file (as nginx's `tcp_nopush`).
                match io.poll_send_more(cx, head) {
                    Poll::Ready(Ok(n)) if n > 0 => {
                        self.out.consumed(n);
                        self.write_since = None;
                        continue;
                    }
                    Poll::Ready(Ok(_)) => {
                        let kind = std::io::ErrorKind::WriteZero;
                        return Poll::Ready(ControlFlow::Break(CloseReason::Io(kind)));
                    }
                    Poll::Ready(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
                        continue;
                    }
                    Poll::Ready(Err(e)) => {
                        return Poll::Ready(ControlFlow::Break(CloseReason::Io(e.kind())));
                    }
                    Poll::Pending => return self.poll_wait_writable(cx),
                }
            }
            let count = file.len.min(SENDFILE_MAX) as usize;
            match io.poll_sendfile(cx, &file.file, &mut file.offset, count) {
                Poll::Ready(Ok(0)) => {
                    log::warn!("connection {}: file shrank while being sent", self.info.id);
                    return Poll::Ready(ControlFlow::Break(CloseReason::ResponseError));
                }
                Poll::Ready(Ok(n)) => {
                    file.len -= n as u64;
                    self.body_sent += n as u64;
                    self.write_since = None;
                }
                Poll::Ready(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(ControlFlow::Break(CloseReason::Io(e.kind())));
                }
                Poll::Pending => return self.poll_wait_writable(cx),
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = file;
        Poll::Ready(ControlFlow::Continue(()))
    }

    /// The socket is full: serve request-body reads meanwhile, bounded by the write
    /// deadline.
    fn poll_wait_writable(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        if let Poll::Ready(ControlFlow::Break(reason)) = self.poll_pump(cx) {
            return Poll::Ready(ControlFlow::Break(reason));
        }
        self.poll_write_deadline(cx)
    }
}

/// The edge-triggered TCP connection under `io`, if that is what it is.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn edge_of<IO: 'static>(io: &mut IO) -> Option<&mut crate::runtime::edge::EdgeIo> {
    let any: &mut dyn std::any::Any = io;
    any.downcast_mut::<crate::server::transport::TcpTransport>()?
        .edge()
}
