//! Shared by the router tests: one request through the public test kit (no socket), and,
//! where the connection is the point, a server and a small keep-alive HTTP/1.1 client over
//! std sockets that reads `Content-Length` framed answers.
#![allow(dead_code)] // Each test file uses a different part of this module.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use async_io::Timer;
use futures_lite::{FutureExt, future};
use h1_server::testing::TestRequest;
use h1_server::{Handler, IntoResponse, Server, ServerHandle};

/// Run `fut`, failing the test after 30 s.
pub(crate) fn block_on<T>(fut: impl Future<Output = T>) -> T {
    future::block_on(fut.or(async {
        Timer::after(Duration::from_secs(30)).await;
        panic!("test timed out")
    }))
}

/// Serve `handler` on a fresh loopback port.
pub(crate) fn serve(handler: impl Handler) -> ServerHandle {
    block_on(async { Server::bind("127.0.0.1:0").await.unwrap().serve(handler) })
}

/// A parsed response.
#[derive(Debug, Clone)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Resp {
    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`.
    pub(crate) fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One keep-alive connection.
pub(crate) struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connect, with 10 s read and write timeouts.
    pub(crate) fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Send `method target` with `headers`, read the answer.
    pub(crate) fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
    ) -> std::io::Result<Resp> {
        let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: test\r\n");
        for (n, v) in headers {
            raw.push_str(&format!("{n}: {v}\r\n"));
        }
        raw.push_str("\r\n");
        self.stream.write_all(raw.as_bytes())?;
        self.read_response(method == "HEAD")
    }

    fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 16384];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    fn read_response(&mut self, head_only: bool) -> std::io::Result<Resp> {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            self.fill()?;
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok());
        let chunked = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        let no_body = head_only || status == 204 || status == 304 || (100..200).contains(&status);
        let body = if no_body {
            Vec::new()
        } else if chunked {
            self.read_chunked()?
        } else {
            let len = length.unwrap_or(0);
            while self.buf.len() < len {
                self.fill()?;
            }
            self.buf.drain(..len).collect()
        };
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    fn read_chunked(&mut self) -> std::io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                self.fill()?;
            };
            let line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            self.buf.drain(..line_end + 2);
            let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| std::io::Error::other(format!("bad chunk line {line:?}")))?;
            if size == 0 {
                // Trailers (none expected) and the final CRLF.
                while !self.buf.starts_with(b"\r\n") {
                    self.fill()?;
                }
                self.buf.drain(..2);
                return Ok(body);
            }
            while self.buf.len() < size + 2 {
                self.fill()?;
            }
            body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
        }
    }
}

/// `GET target` answered by `handler` through the test kit.
pub(crate) fn get(handler: &impl Handler, target: &str, headers: &[(&str, &str)]) -> Resp {
    request(handler, "GET", target, headers)
}

/// One request of any method answered by `handler` through the test kit, read as the
/// connection would send it: `Content-Length` when the length is known, no body for HEAD,
/// and the engine's status for a head it refuses.
pub(crate) fn request(
    handler: &impl Handler,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Resp {
    let mut req = TestRequest::new(method, target);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let req = match req.try_build() {
        Ok(req) => req,
        Err((e, _)) => {
            return Resp {
                status: e.status(),
                headers: Vec::new(),
                body: Vec::new(),
            };
        }
    };
    let mut r = h1_server::testing::TestResponse::new(block_on(handler.call(req)).into_response());
    let status = r.status();
    let mut headers: Vec<(String, String)> = r
        .headers()
        .iter()
        .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    if let Some(n) = r
        .body_length()
        .filter(|_| !matches!(status, 100..=199 | 204 | 304))
    {
        headers.push(("Content-Length".into(), n.to_string()));
    }
    let body = block_on(r.body_bytes()).unwrap_or_else(|e| panic!("{method} {target}: {e}"));
    Resp {
        status,
        headers,
        body: if method == "HEAD" {
            Vec::new()
        } else {
            body.to_vec()
        },
    }
}

/// [`request`] with the calling shape of [`Client`]: a handler stands in for a connection.
pub(crate) struct Kit<'a, H>(pub(crate) &'a H);

impl<H: Handler> Kit<'_, H> {
    /// Send `method target` with `headers`, read the answer (never fails).
    pub(crate) fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
    ) -> Result<Resp, std::convert::Infallible> {
        Ok(request(self.0, method, target, headers))
    }
}
