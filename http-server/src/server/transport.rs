//! The transport of an accepted TCP connection: the edge-triggered set or async-io.

use super::*;

/// An accepted TCP connection: in the server's edge-triggered set (Linux), or registered
/// with async-io.
pub(crate) enum TcpTransport {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Edge(crate::runtime::edge::EdgeIo),
    Reactor(TcpIo),
}

impl TcpTransport {
    /// The connection in the edge-triggered set, which can `sendfile`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn edge(&mut self) -> Option<&mut crate::runtime::edge::EdgeIo> {
        match self {
            Self::Edge(io) => Some(io),
            Self::Reactor(_) => None,
        }
    }

    /// `stream` (non-blocking, registered nowhere) in the edge-triggered set, or
    /// registered with async-io when the set is off or failed.
    pub(super) fn new<H>(
        service: &Service<H>,
        stream: std::net::TcpStream,
        arrival: accept::Arrival,
    ) -> io::Result<Self> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(set) = service.edge.as_ref().filter(|set| !set.failed()) {
            let wait_first = arrival == accept::Arrival::Fresh;
            return Ok(Self::Edge(set.register(stream, wait_first)?));
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = (service, arrival);
        Ok(Self::Reactor(TcpIo::new(Arc::new(Async::new_nonblocking(
            stream,
        )?))))
    }
}

/// Forward an I/O call to whichever transport this is.
macro_rules! each_transport {
    ($self:ident, $io:ident => $call:expr) => {
        match $self.get_mut() {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            TcpTransport::Edge($io) => {
                let $io = Pin::new($io);
                $call
            }
            TcpTransport::Reactor($io) => {
                let $io = Pin::new($io);
                $call
            }
        }
    };
}

impl AsyncRead for TcpTransport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        each_transport!(self, io => io.poll_read(cx, buf))
    }
}

impl AsyncWrite for TcpTransport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each_transport!(self, io => io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each_transport!(self, io => io.poll_write_vectored(cx, bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_transport!(self, io => io.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_transport!(self, io => io.poll_close(cx))
    }
}

/// An accepted TCP stream that skips the read syscall that would fail with `EAGAIN`:
/// after a read that did not fill the buffer the socket is drained, so the next read
/// first waits for readiness (as tokio does). Saves one syscall per keep-alive request.
pub(crate) struct TcpIo {
    io: Arc<Async<std::net::TcpStream>>,
    drained: bool,
}

impl TcpIo {
    fn new(io: Arc<Async<std::net::TcpStream>>) -> Self {
        Self { io, drained: false }
    }
}

impl AsyncRead for TcpIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.drained {
            ready!(self.io.poll_readable(cx))?;
            self.drained = false;
        }
        let n = ready!(Pin::new(&mut &*self.io).poll_read(cx, buf))?;
        self.drained = n > 0 && n < buf.len();
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for TcpIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.get_ref().shutdown(std::net::Shutdown::Write))
    }
}
