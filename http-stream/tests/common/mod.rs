//! Loopback test helpers: a server on 127.0.0.1 whose handler hands each stream's
//! `Sender` to the test, and a raw `std::net::TcpStream` client that parses what arrives.
//! Every wait is bounded.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different subset.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::FutureExt;
use futures_lite::future::block_on;
use h1_server::{Request, Response, Server, ServerConfig, ServerHandle, ThreadPool};

/// The longest any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A server on `127.0.0.1:<free port>`, shut down (bounded) when dropped.
pub struct TestServer {
    pub handle: ServerHandle,
    pub addr: SocketAddr,
}

impl TestServer {
    /// Serve `handler` on a one-thread pool of its own.
    pub fn start<H: h1_server::Handler>(
        configure: impl FnOnce(&mut ServerConfig),
        handler: H,
    ) -> Self {
        let mut server = block_on(Server::bind("127.0.0.1:0")).expect("bind 127.0.0.1:0");
        configure(server.config_mut());
        server.spawner(ThreadPool::new(1));
        let handle = server.serve(handler);
        let addr = handle.local_addr();
        Self { handle, addr }
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        block_on(handle.shutdown().or(async {
            Timer::after(Duration::from_secs(5)).await;
        }));
    }
}

/// A server answering every request with a push stream made by `make`; each stream's
/// sender is handed over on the returned channel (with the request path).
pub fn stream_server(
    make: impl Fn(&Request) -> (h1_stream::Sender, Response) + Send + Sync + 'static,
) -> (TestServer, mpsc::Receiver<(String, h1_stream::Sender)>) {
    let (tx, rx) = mpsc::channel();
    let tx = Arc::new(Mutex::new(tx));
    let server = TestServer::start(
        |_| {},
        move |req: Request| {
            let (sender, response) = make(&req);
            let _ = tx.lock().unwrap().send((req.path().to_owned(), sender));
            async move { response }
        },
    );
    (server, rx)
}

/// The next sender handed over by [`stream_server`], waiting at most [`WAIT`].
pub fn next_sender(rx: &mpsc::Receiver<(String, h1_stream::Sender)>) -> h1_stream::Sender {
    rx.recv_timeout(WAIT).expect("no stream started").1
}

/// Run `fut` to completion, failing the test after [`WAIT`].
pub fn run<T>(fut: impl Future<Output = T>) -> T {
    block_on(fut.or(async {
        Timer::after(WAIT).await;
        panic!("a future did not finish within {WAIT:?}");
    }))
}

/// Whether `fut` finishes within `within`.
pub fn finishes_within<T>(within: Duration, fut: impl Future<Output = T>) -> Option<T> {
    block_on(async { Some(fut.await) }.or(async {
        Timer::after(within).await;
        None
    }))
}

/// A raw client: bytes in, parsed pieces out.
pub struct Client {
    pub stream: TcpStream,
    /// Received, not yet consumed.
    pub buf: Vec<u8>,
    pub eof: bool,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).unwrap();
        stream.set_write_timeout(Some(WAIT)).unwrap();
        Self {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    pub fn write(&mut self, bytes: &str) {
        self.stream
            .write_all(bytes.as_bytes())
            .expect("write request");
    }

    /// `GET path HTTP/1.1`.
    pub fn get(&mut self, path: &str) {
        self.write(&format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
    }

    /// Read once, waiting at most until `deadline`. Returns the bytes read (0 on timeout
    /// or end of stream; see `eof`).
    pub fn fill(&mut self, deadline: Instant) -> usize {
        if self.eof {
            return 0;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return 0;
        }
        self.stream.set_read_timeout(Some(left)).unwrap();
        let mut tmp = [0u8; 64 * 1024];
        match self.stream.read(&mut tmp) {
            Ok(0) => {
                self.eof = true;
                0
            }
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                n
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                0
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                self.eof = true;
                0
            }
            Err(e) => panic!("read: {e}"),
        }
    }

    /// Read until `pred(buf)` gives a length to consume, or the deadline passes.
    fn take_when(
        &mut self,
        within: Duration,
        mut pred: impl FnMut(&[u8]) -> Option<usize>,
    ) -> Option<Vec<u8>> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(n) = pred(&self.buf) {
                return Some(self.buf.drain(..n).collect());
            }
            if self.eof || Instant::now() >= deadline {
                return None;
            }
            self.fill(deadline);
        }
    }

    /// The response head, as text.
    pub fn head(&mut self) -> String {
        let head = self
            .take_when(WAIT, |b| find(b, b"\r\n\r\n").map(|i| i + 4))
            .expect("no response head");
        String::from_utf8(head).unwrap()
    }

    /// One chunk of a chunked body within `within`: `Some(Some(data))`, `Some(None)` for
    /// the terminal chunk (trailers are left in `buf` up to their blank line, returned by
    /// [`trailers`](Self::trailers)), `None` if it did not come in time.
    pub fn chunk(&mut self, within: Duration) -> Option<Option<Vec<u8>>> {
        let piece = self.take_when(within, |b| {
            let line_end = find(b, b"\r\n")?;
            let size = usize::from_str_radix(std::str::from_utf8(&b[..line_end]).ok()?, 16)
                .expect("chunk size line");
            if size == 0 {
                return Some(line_end + 2);
            }
            let end = line_end + 2 + size + 2;
            (b.len() >= end).then_some(end)
        })?;
        let line_end = find(&piece, b"\r\n").unwrap();
        if line_end + 2 == piece.len() {
            return Some(None);
        }
        assert_eq!(
            &piece[piece.len() - 2..],
            b"\r\n",
            "chunk data ends with CRLF"
        );
        Some(Some(piece[line_end + 2..piece.len() - 2].to_vec()))
    }

    /// The trailer section after the terminal chunk, up to and including its blank line.
    pub fn trailers(&mut self) -> String {
        let t = self
            .take_when(WAIT, |b| {
                if b.starts_with(b"\r\n") {
                    Some(2)
                } else {
                    find(b, b"\r\n\r\n").map(|i| i + 4)
                }
            })
            .expect("no end of trailers");
        String::from_utf8(t).unwrap()
    }

    /// Exactly `n` body bytes within `within`.
    pub fn exact(&mut self, n: usize, within: Duration) -> Option<Vec<u8>> {
        self.take_when(within, |b| (b.len() >= n).then_some(n))
    }

    /// Everything until the server closes the connection (bounded by [`WAIT`]).
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let deadline = Instant::now() + WAIT;
        while !self.eof {
            assert!(Instant::now() < deadline, "connection not closed in time");
            self.fill(deadline);
        }
        std::mem::take(&mut self.buf)
    }

    /// Whether any byte arrives within `within`.
    pub fn gets_bytes_within(&mut self, within: Duration) -> bool {
        if !self.buf.is_empty() {
            return true;
        }
        self.fill(Instant::now() + within);
        !self.buf.is_empty()
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The resident set size of this process, in bytes (Linux; 0 elsewhere).
pub fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}
