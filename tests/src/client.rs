//! A raw HTTP/1.x client over a blocking `std::net::TcpStream`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::WAIT;

/// A response read off the socket: h1-server's [`WireResponse`], parsed by h1-core's
/// client role with every framing rule (chunked with trailers, `Content-Length`,
/// close-delimited; no body after `HEAD`, `1xx`, `204`, `304`).
///
/// [`WireResponse`]: h1_server::testing::WireResponse
pub type Response = h1_server::testing::WireResponse;

/// A raw HTTP/1.x client over a blocking `TcpStream` with [`WAIT`] timeouts: bytes in,
/// whole responses or pieces of them (a head, a chunk, so many bytes) out.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    /// Received, not yet consumed.
    buf: Vec<u8>,
    /// The server closed (or reset) the connection.
    eof: bool,
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
            eof: false,
        }
    }

    /// The socket.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Received bytes not consumed yet (a test may drain them itself).
    pub fn buffered(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Whether the server closed (or reset) the connection.
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// Write `bytes` whole.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).expect("write");
    }

    /// Write `bytes`, ignoring errors (the server may answer and close before reading
    /// everything).
    pub fn send_lossy(&mut self, bytes: impl AsRef<[u8]>) {
        let _ = self.stream.write_all(bytes.as_ref());
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

    /// Read one response (a `1xx` is returned on its own; a `101` ends with its head).
    /// Panics on a timeout, a close before a whole response, or a protocol error.
    pub fn read_response(&mut self) -> Response {
        let mut hint = Hint::default();
        loop {
            if self.eof || hint.complete(&self.buf) {
                if let Some((res, used)) = Response::parse(&self.buf, self.eof, false) {
                    self.buf.drain(..used);
                    return res;
                }
            }
            if self.eof {
                panic!(
                    "connection closed before a whole response; got {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
            self.fill();
        }
    }

    /// Read once more into the buffer; 0 at end of input (a reset counts as the end).
    /// Panics on a timeout.
    fn fill(&mut self) -> usize {
        let n = self.read_once();
        if n == 0 && !self.eof {
            panic!(
                "timed out after {WAIT:?} waiting for the server; have {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        }
        n
    }

    /// Read once with the current read timeout: the bytes read, 0 on a timeout or at the
    /// end of input (then [`is_eof`](Self::is_eof)).
    fn read_once(&mut self) -> usize {
        if self.eof {
            return 0;
        }
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.eof = true;
                    return 0;
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return 0,
                Err(_) => {
                    self.eof = true;
                    return 0;
                }
            }
        }
    }

    /// Read once, waiting at most until `deadline`: the bytes read, 0 on a timeout or at
    /// the end of input (then [`is_eof`](Self::is_eof)).
    pub fn fill_by(&mut self, deadline: Instant) -> usize {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || self.eof {
            return 0;
        }
        self.stream.set_read_timeout(Some(left)).unwrap();
        let n = self.read_once();
        self.stream.set_read_timeout(Some(WAIT)).unwrap();
        n
    }

    /// Read until `pred(buffered)` gives a length to consume, or `within` passes.
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
            self.fill_by(deadline);
        }
    }

    /// The next response head, as text (the body stays buffered).
    pub fn head(&mut self) -> String {
        let head = self
            .take_when(WAIT, |b| find(b, b"\r\n\r\n").map(|i| i + 4))
            .expect("no response head");
        String::from_utf8(head).unwrap()
    }

    /// One chunk of a chunked body within `within`: `Some(Some(data))`, `Some(None)` for
    /// the terminal chunk (the trailer section stays buffered for
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

    /// Read until the received bytes contain `needle` (they stay buffered for
    /// [`read_response`](Self::read_response)). Panics on timeout or close.
    pub fn read_until(&mut self, needle: &[u8]) {
        while find(&self.buf, needle).is_none() {
            if self.fill() == 0 {
                panic!(
                    "closed before {:?}: {:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&self.buf)
                );
            }
        }
    }

    /// Everything until the server closes the connection (including buffered bytes);
    /// panics if it does not close within [`WAIT`] of the last byte.
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

    /// Whether any byte is buffered or arrives within `within` (a close is not a byte).
    pub fn gets_bytes_within(&mut self, within: Duration) -> bool {
        if !self.buf.is_empty() {
            return true;
        }
        self.fill_by(Instant::now() + within) > 0
    }

    /// Whether nothing arrives (and the connection stays open) for `quiet`.
    pub fn is_quiet_for(&mut self, quiet: Duration) -> bool {
        if !self.buf.is_empty() || self.eof {
            return false;
        }
        self.fill_by(Instant::now() + quiet) == 0 && !self.eof
    }
}

/// When the bytes of a response may be whole, so that a large body is parsed once, not
/// again after every read (the parser itself is the kit's).
#[derive(Default)]
struct Hint {
    /// How far the buffer was searched for the end of a chunked body.
    scanned: usize,
    /// A terminal chunk may have arrived: parse after every read from now on.
    maybe_end: bool,
}

impl Hint {
    fn complete(&mut self, buf: &[u8]) -> bool {
        let Some(end) = find(buf, b"\r\n\r\n") else {
            return false;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let field = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
        };
        if status < 200 || status == 204 || status == 304 {
            true
        } else if field("transfer-encoding:").is_some() {
            // The terminal chunk follows the head or the CRLF ending a chunk's data.
            let from = self.scanned.saturating_sub(2).max(end + 2);
            self.maybe_end = self.maybe_end || find(&buf[from..], b"\r\n0").is_some();
            self.scanned = buf.len();
            self.maybe_end
        } else if let Some(len) = field("content-length:").and_then(|v| v.parse::<usize>().ok()) {
            buf.len() >= end + 4 + len
        } else {
            // Close-delimited: whole at the end of input.
            false
        }
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;

    use super::Client;

    /// `bytes` written by a peer on 127.0.0.1 in `pieces`, then closed; the client end.
    fn peer(pieces: &'static [&'static [u8]]) -> Client {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = Client::connect(listener.local_addr().unwrap());
        let (mut s, _) = listener.accept().unwrap();
        std::thread::spawn(move || {
            for piece in pieces {
                s.write_all(piece).unwrap();
                s.flush().unwrap();
            }
        });
        client
    }

    #[test]
    fn reads_each_framing_split_anywhere() {
        let mut c = peer(&[
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r",
            b"\nabc\r\n0",
            b"\r\nX-T: 1\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nh",
            b"iHTTP/1.0 200 OK\r\n\r\nto the end",
        ]);
        assert_eq!(c.read_response().status, 100);
        let r = c.read_response();
        assert_eq!((r.status, r.text(), r.chunked), (200, "abc", true));
        assert_eq!(r.trailers, [("X-T".to_owned(), "1".to_owned())]);
        let r = c.read_response();
        assert_eq!((r.status, r.body.len()), (304, 0));
        assert_eq!(c.read_response().text(), "hi");
        let r = c.read_response();
        assert_eq!((r.text(), r.close_delimited), ("to the end", true));
        assert!(c.is_eof());
    }
}
