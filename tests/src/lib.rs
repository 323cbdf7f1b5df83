//! Helpers for the loopback tests of h1-server, the ones where the socket is the point
//! (listener and lifecycle, readiness, runtimes, descriptors, TLS, Unix sockets, curl,
//! nginx, WebSocket): start a server on `127.0.0.1:0`, talk to it with a raw
//! `std::net::TcpStream`, parse what comes back; and [`has_tool`]/[`skip`] for tests that
//! need an outside program. Everything else is tested without a socket on
//! `h1_server::testing` (handler and connection kits), in the crate that owns it.
//!
//! Every wait is bounded: clients have read and write timeouts ([`WAIT`]), and
//! [`wait_until`] polls a condition up to a deadline. Traffic goes to 127.0.0.1 only.
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::FutureExt;
use futures_lite::future::block_on;
use h1_server::{
    CloseReason, ConnectionId, Handler, Server, ServerConfig, ServerHandle, ThreadPool,
};

/// Whether `program --version` runs and exits 0. When it does not, `test` is skipped
/// through [`skip`].
pub fn has_tool(program: &str, test: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        skip(test, &format!("{program} is not installed"));
    }
    found
}

/// Report that `test` cannot run (`why`): a notice on stderr, and the caller returns.
/// Under `CI=true` this panics instead: CI installs every tool the tests use, so a skip
/// there is a failure, not a pass that hides a missing install step.
pub fn skip(test: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: {why}, and CI=true does not allow skipping (.ci/run installs it)");
    }
    eprintln!("SKIPPED {test}: {why} (.ci/run installs it)");
}

/// The longest any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A server on `127.0.0.1:<free port>` with its own executor thread; shut down (bounded)
/// when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// The running server.
    pub handle: ServerHandle,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl TestServer {
    /// Serve `handler` with a configuration changed by `configure`, on a one-thread
    /// [`ThreadPool`] of its own (tests running in parallel do not share an executor).
    pub fn start<H: Handler>(configure: impl FnOnce(&mut ServerConfig), handler: H) -> Self {
        let mut server = bind();
        configure(server.config_mut());
        server.spawner(ThreadPool::new(1));
        Self::serve(server, handler)
    }

    /// Serve `handler` with `server` as it is (its spawner, its configuration).
    pub fn serve<H: Handler>(server: Server, handler: H) -> Self {
        let handle = server.serve(handler);
        let addr = handle.local_addr();
        Self { handle, addr }
    }

    /// A new client connection.
    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Send one request on a new connection and read its response.
    pub fn get(&self, path: &str) -> Response {
        let mut c = self.connect();
        c.request(&format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"))
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

/// A server bound to `127.0.0.1:0`, not serving yet.
pub fn bind() -> Server {
    block_on(Server::bind("127.0.0.1:0")).expect("bind 127.0.0.1:0")
}

/// Records what the connection hooks report: opens (id, peer) and closes (id, reason).
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    opened: Arc<Mutex<Vec<(ConnectionId, SocketAddr)>>>,
    closed: Arc<Mutex<Vec<(ConnectionId, CloseReason)>>>,
}

impl Hooks {
    /// Install `on_connect` and `on_close` hooks recording into `self`.
    pub fn install(&self, config: &mut ServerConfig) {
        let opened = self.opened.clone();
        let closed = self.closed.clone();
        config
            .on_connect(move |id, peer| opened.lock().unwrap().push((id, peer)))
            .on_close(move |id, reason| closed.lock().unwrap().push((id, reason.clone())));
    }

    /// The connections opened so far.
    pub fn opened(&self) -> Vec<(ConnectionId, SocketAddr)> {
        self.opened.lock().unwrap().clone()
    }

    /// The connections closed so far, with why.
    pub fn closed(&self) -> Vec<(ConnectionId, CloseReason)> {
        self.closed.lock().unwrap().clone()
    }

    /// Wait (bounded by [`WAIT`]) until `n` connections have closed; return them all.
    pub fn wait_closed(&self, n: usize) -> Vec<(ConnectionId, CloseReason)> {
        wait_until(&format!("{n} closed connections"), WAIT, || {
            self.closed.lock().unwrap().len() >= n
        });
        self.closed()
    }
}

/// A parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The header fields, in order, as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Whether the body came chunked.
    pub chunked: bool,
    /// Trailer fields after a chunked body.
    pub trailers: Vec<(String, String)>,
    /// Whether the body was delimited by the server closing the connection.
    pub close_delimited: bool,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text (panics if it is not).
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    /// Whether the server said it closes the connection.
    pub fn is_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A raw HTTP/1.x client over a blocking `TcpStream` with [`WAIT`] timeouts.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    /// Received, not yet parsed.
    buf: Vec<u8>,
}

impl Client {
    /// Connect to `addr`.
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
        Self::from_stream(stream)
    }

    /// Wrap a connected stream (sets [`WAIT`] timeouts and `TCP_NODELAY`).
    pub fn from_stream(stream: TcpStream) -> Self {
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_write_timeout(Some(WAIT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// The socket.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Write `bytes` whole.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).expect("write");
    }

    /// Close the write half (the server reads end of input).
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Send `raw` and read one response.
    pub fn request(&mut self, raw: &str) -> Response {
        self.send(raw);
        self.read_response()
    }

    /// Read one response (a `1xx` is returned on its own).
    pub fn read_response(&mut self) -> Response {
        self.read_response_to(false)
    }

    fn read_response_to(&mut self, head_request: bool) -> Response {
        let end = self.fill_until_head_end();
        let head = String::from_utf8(self.buf[..end].to_vec()).expect("ASCII head");
        self.buf.drain(..end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default().to_owned();
        let status = parts
            .next()
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l
                    .split_once(':')
                    .unwrap_or_else(|| panic!("bad line {l:?}"));
                (n.to_owned(), v.trim().to_owned())
            })
            .collect();
        let mut response = Response {
            version,
            status,
            headers,
            body: Vec::new(),
            chunked: false,
            trailers: Vec::new(),
            close_delimited: false,
        };
        if head_request || status < 200 || status == 204 || status == 304 {
            return response;
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if chunked {
            response.chunked = true;
            (response.body, response.trailers) = self.read_chunked();
        } else if let Some(len) = response.header("content-length") {
            let len: usize = len.parse().expect("numeric Content-Length");
            response.body = self.read_exact_buffered(len);
        } else {
            response.close_delimited = true;
            response.body = self.read_to_end();
        }
        response
    }

    fn read_chunked(&mut self) -> (Vec<u8>, Vec<(String, String)>) {
        let mut body = Vec::new();
        loop {
            let line = self.read_line();
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .unwrap_or_else(|_| panic!("bad chunk line {line:?}"));
            if size == 0 {
                // Trailers, then the blank line.
                let mut trailers = Vec::new();
                loop {
                    let line = self.read_line();
                    if line.is_empty() {
                        return (body, trailers);
                    }
                    let (n, v) = line.split_once(':').expect("a trailer field");
                    trailers.push((n.to_owned(), v.trim().to_owned()));
                }
            }
            body.extend_from_slice(&self.read_exact_buffered(size));
            assert_eq!(self.read_line(), "", "chunk data not followed by CRLF");
        }
    }

    fn read_line(&mut self) -> String {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8(self.buf[..i].to_vec()).expect("ASCII line");
                self.buf.drain(..i + 2);
                return line;
            }
            if self.fill() == 0 {
                panic!(
                    "connection closed mid-line: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
        }
    }

    fn read_exact_buffered(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            if self.fill() == 0 {
                panic!(
                    "connection closed after {} of {n} body bytes",
                    self.buf.len()
                );
            }
        }
        self.buf.drain(..n).collect()
    }

    /// Index just past the `\r\n\r\n` ending the buffered head, reading as needed.
    fn fill_until_head_end(&mut self) -> usize {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                return i + 4;
            }
            if self.fill() == 0 {
                panic!(
                    "connection closed before a response head; got {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
        }
    }

    /// Read once more into the buffer; 0 at end of input. Panics on timeout.
    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => panic!(
                    "timed out after {WAIT:?} waiting for the server; have {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
                // A reset counts as the end of input.
                Err(_) => return 0,
            }
        }
    }

    /// Read until the received bytes contain `needle` (they stay buffered for
    /// [`read_response`](Self::read_response)). Panics on timeout or close.
    pub fn read_until(&mut self, needle: &[u8]) {
        while find(&self.buf, needle).is_none() {
            if self.fill() == 0 {
                panic!("closed before {:?}", String::from_utf8_lossy(needle));
            }
        }
    }

    /// Everything until the server closes the connection (including buffered bytes).
    pub fn read_to_end(&mut self) -> Vec<u8> {
        while self.fill() > 0 {}
        std::mem::take(&mut self.buf)
    }

    /// Assert the server closes the connection without sending anything more.
    pub fn expect_closed(&mut self) {
        let rest = self.read_to_end();
        assert!(
            rest.is_empty(),
            "expected a close, got {:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    /// Whether nothing arrives (and the connection stays open) for `quiet`.
    pub fn is_quiet_for(&mut self, quiet: Duration) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        self.stream.set_read_timeout(Some(quiet)).unwrap();
        let mut byte = [0u8; 1];
        let quiet = loop {
            match self.stream.read(&mut byte) {
                Ok(0) => break false,
                Ok(n) => {
                    self.buf.extend_from_slice(&byte[..n]);
                    break false;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break is_timeout(&e),
            }
        };
        self.stream.set_read_timeout(Some(WAIT)).unwrap();
        quiet
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `GET <path>` on HTTP/1.1 with a Host header.
pub fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
}

/// Poll `cond` every few milliseconds until it holds; panic naming `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run `f` on a new thread; the returned receiver yields its result.
pub fn in_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::sync::mpsc::Receiver<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}
