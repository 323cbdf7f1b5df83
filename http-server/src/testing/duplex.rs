//! [`duplex`]: an in-memory, bounded, two-way byte stream.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_lite::{AsyncRead, AsyncWrite};

/// Two connected ends of an in-memory transport: what one writes, the other reads.
/// Each direction buffers up to `capacity` bytes; a writer waits while its direction is
/// full (as a socket whose peer stops reading). `poll_close` half-closes (the other end
/// reads end of input); dropping an end closes both directions for it.
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
///
/// futures_lite::future::block_on(async {
///     let (mut a, mut b) = h1_server::testing::duplex(1024);
///     a.write_all(b"ping").await.unwrap();
///     a.close().await.unwrap();
///     let mut got = Vec::new();
///     b.read_to_end(&mut got).await.unwrap();
///     assert_eq!(got, b"ping");
/// });
/// ```
pub fn duplex(capacity: usize) -> (DuplexStream, DuplexStream) {
    let ab = Arc::new(Pipe::new(capacity));
    let ba = Arc::new(Pipe::new(capacity));
    (
        DuplexStream {
            read: ba.clone(),
            write: ab.clone(),
        },
        DuplexStream {
            read: ab,
            write: ba,
        },
    )
}

/// One end of a [`duplex`] transport (futures-io `AsyncRead + AsyncWrite`).
#[derive(Debug)]
pub struct DuplexStream {
    read: Arc<Pipe>,
    write: Arc<Pipe>,
}

impl DuplexStream {
    /// Bytes waiting to be read at this end.
    pub fn available(&self) -> usize {
        self.read.lock().buf.len()
    }

    /// Whether the other end closed its writing side (reads end once the buffer is empty).
    pub fn is_read_closed(&self) -> bool {
        self.read.lock().writer_closed
    }
}

/// One direction.
#[derive(Debug)]
struct Pipe {
    state: Mutex<PipeState>,
}

#[derive(Debug)]
struct PipeState {
    buf: VecDeque<u8>,
    capacity: usize,
    writer_closed: bool,
    reader_gone: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Pipe {
    fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(PipeState {
                buf: VecDeque::new(),
                capacity: capacity.max(1),
                writer_closed: false,
                reader_gone: false,
                reader: None,
                writer: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PipeState> {
        // Plain data: consistent even if a holder panicked.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl PipeState {
    fn wake_reader(&mut self) {
        if let Some(w) = self.reader.take() {
            w.wake();
        }
    }

    fn wake_writer(&mut self) {
        if let Some(w) = self.writer.take() {
            w.wake();
        }
    }
}

impl AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut state = self.read.lock();
        if state.buf.is_empty() {
            if state.writer_closed || buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            state.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(state.buf.len());
        for (dst, src) in buf.iter_mut().zip(state.buf.drain(..n)) {
            *dst = src;
        }
        state.wake_writer();
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut state = self.write.lock();
        if state.reader_gone {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if state.writer_closed {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        }
        let room = state.capacity - state.buf.len();
        if room == 0 {
            state.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(buf.len());
        state.buf.extend(&buf[..n]);
        state.wake_reader();
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.write.lock();
        state.writer_closed = true;
        state.wake_reader();
        Poll::Ready(Ok(()))
    }
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        let mut w = self.write.lock();
        w.writer_closed = true;
        w.wake_reader();
        drop(w);
        let mut r = self.read.lock();
        r.reader_gone = true;
        r.wake_writer();
    }
}
