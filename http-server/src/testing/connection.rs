//! [`TestConnection`]: the real connection driver over an in-memory transport, on a
//! [`ManualClock`].

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures_lite::future::poll_fn;
use futures_lite::{AsyncRead, AsyncWrite, FutureExt};

use super::{DuplexStream, ManualClock, duplex};
use crate::close::{CloseReason, ConnectionId};
use crate::config::ServerConfig;
use crate::conn::{self, ConnInfo};
use crate::handler::Handler;
use crate::shared::{ConnShared, Control};

/// The longest a [`TestConnection`] method waits, in real time, for something that does
/// not depend on its [`ManualClock`] (such as a handler waiting on another thread) before
/// it panics: a test never hangs.
const REAL_WAIT: Duration = Duration::from_secs(10);
/// Polls of the driver in a row that may each wake it again, before
/// [`TestConnection::read_available`] calls it settled.
const SETTLE_POLLS: usize = 1000;
/// Bytes each direction of the transport buffers by default.
const DEFAULT_CAPACITY: usize = 1 << 20;

/// One connection served by the real driver (the code a [`Server`](crate::Server) runs per
/// accepted connection), over an in-memory transport and on a [`ManualClock`]. The test is
/// the client: it writes raw request bytes and reads the raw bytes the server wrote.
///
/// No executor is needed: every method polls the driver (and with it the handler) while it
/// waits for what it was asked, so the test runs on any `block_on`. The connection ends
/// when the driver does; [`closed`](Self::closed) says why.
///
/// ```
/// use h1_server::testing::TestConnection;
/// use h1_server::{CloseReason, Request, Response, ServerConfig};
///
/// futures_lite::future::block_on(async {
///     let handler = |req: Request| async move { Response::text(200, req.target().to_owned()) };
///     let mut conn = TestConnection::new(handler, ServerConfig::new());
///     // Two pipelined requests, then a half-close.
///     conn.write(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n").await;
///     conn.close_write().await;
///     assert_eq!(conn.read_response().await.body, b"/a");
///     assert_eq!(conn.read_response().await.body, b"/b");
///     assert_eq!(conn.closed().await, CloseReason::ClientClosed);
/// });
/// ```
pub struct TestConnection {
    client: DuplexStream,
    driver: Option<Pin<Box<dyn Future<Output = CloseReason> + Send>>>,
    reason: Option<CloseReason>,
    shared: Arc<ConnShared>,
    clock: ManualClock,
    /// Bytes read from the transport, not yet handed out.
    inbox: Vec<u8>,
    /// The server closed its writing side (and everything it wrote is in `inbox`).
    server_closed: bool,
}

/// A response split off the bytes a [`TestConnection`] read: enough framing (`1xx`, `204`,
/// `304`, `Content-Length`, chunked, close-delimited) to find where it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireResponse {
    /// The status code.
    pub status: u16,
    /// The head as sent, up to and including the blank line.
    pub head: String,
    /// The header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, with chunked framing removed.
    pub body: Vec<u8>,
}

impl WireResponse {
    /// The first header field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl TestConnection {
    /// Serve `handler` with `config` on a new connection, on a new [`ManualClock`].
    pub fn new<H: Handler>(handler: H, config: impl Into<ServerConfig>) -> Self {
        let config = config.into();
        Self::with_clock(handler, config, ManualClock::new(), DEFAULT_CAPACITY)
    }

    /// [`new`](Self::new) on `clock` (shared with other connections or the test), with
    /// each direction of the transport buffering `capacity` bytes: a small capacity and
    /// a client that does not read makes the server's writes wait.
    pub fn with_clock<H: Handler>(
        handler: H,
        config: ServerConfig,
        clock: ManualClock,
        capacity: usize,
    ) -> Self {
        let (client, server) = duplex(capacity);
        let shared = Arc::new(ConnShared::new());
        let info = ConnInfo {
            id: ConnectionId::next(),
            peer: SocketAddr::from(([127, 0, 0, 1], 49152)),
            local: SocketAddr::from(([127, 0, 0, 1], 80)),
            unix: false,
        };
        let (task_shared, task_clock) = (shared.clone(), clock.clock());
        let driver = async move {
            conn::run(server, info, &handler, &config, &task_shared, task_clock).await
        };
        let mut conn = Self {
            client,
            driver: Some(Box::pin(driver)),
            reason: None,
            shared,
            clock,
            inbox: Vec::new(),
            server_closed: false,
        };
        // Start the driver now: its first deadlines count from the clock's current time.
        conn.poll_driver(&mut Context::from_waker(Waker::noop()));
        conn
    }

    /// The clock this connection's timers run on.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// Why the connection ended, once it has (without polling the driver).
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.reason.clone()
    }

    /// Write `bytes` to the server, serving meanwhile. Returns how many it took: all of
    /// them, unless the connection ended first (as a socket write would fail).
    pub async fn write(&mut self, bytes: &[u8]) -> usize {
        let mut at = 0;
        self.drive(|this, cx| {
            while at < bytes.len() {
                match Pin::new(&mut this.client).poll_write(cx, &bytes[at..]) {
                    Poll::Ready(Ok(n)) => at += n,
                    Poll::Ready(Err(_)) => return Poll::Ready(()),
                    Poll::Pending if this.reason.is_some() => return Poll::Ready(()),
                    Poll::Pending => return Poll::Pending,
                }
            }
            Poll::Ready(())
        })
        .await;
        self.settle().await;
        at
    }

    /// Half-close: the server reads end of input.
    pub async fn close_write(&mut self) {
        let _ = Pin::new(&mut self.client).poll_close(&mut Context::from_waker(Waker::noop()));
        self.settle().await;
    }

    /// Let the server run until it has nothing to do, then take every byte it wrote and
    /// nobody read yet (possibly none).
    pub async fn read_available(&mut self) -> Vec<u8> {
        self.settle().await;
        self.pull();
        std::mem::take(&mut self.inbox)
    }

    /// Read until `done` holds for the bytes read so far (or the server closes), serving
    /// meanwhile; returns them all.
    ///
    /// # Panics
    ///
    /// After 10 s of real time without `done` holding.
    pub async fn read_until(&mut self, mut done: impl FnMut(&[u8]) -> bool) -> Vec<u8> {
        self.drive(|this, cx| {
            this.poll_pull(cx);
            if done(&this.inbox) || this.server_closed {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        std::mem::take(&mut self.inbox)
    }

    /// Read until the server closes its writing side; returns what it wrote.
    pub async fn read_to_close(&mut self) -> Vec<u8> {
        self.read_until(|_| false).await
    }

    /// Read one response and split it off what follows (pipelined responses stay for the
    /// next call). An interim `1xx` response is returned on its own.
    ///
    /// # Panics
    ///
    /// When the server closes before a whole response, or sends no valid head.
    pub async fn read_response(&mut self) -> WireResponse {
        let mut pending = std::mem::take(&mut self.inbox);
        loop {
            if let Some((res, used)) = split_response(&pending, self.server_closed) {
                self.inbox = pending.split_off(used);
                return res;
            }
            assert!(
                !self.server_closed,
                "connection closed inside a response: {:?}",
                String::from_utf8_lossy(&pending)
            );
            let seen = pending.len();
            self.inbox = pending;
            pending = self.read_until(|b| b.len() > seen).await;
        }
    }

    /// Run the connection until it ends and say why (whatever the server wrote stays
    /// readable).
    pub async fn closed(&mut self) -> CloseReason {
        self.drive(|this, _| match &this.reason {
            Some(reason) => Poll::Ready(reason.clone()),
            None => Poll::Pending,
        })
        .await
    }

    /// Begin a graceful shutdown, as [`ServerHandle::shutdown_graceful`](crate::ServerHandle::shutdown_graceful) does for each connection.
    pub fn shutdown_graceful(&self) {
        self.shared.signal(Control::Graceful);
    }

    /// Shut down at once, as [`ServerHandle::shutdown`](crate::ServerHandle::shutdown) does.
    pub fn shutdown(&self) {
        self.shared.signal(Control::Kill);
    }

    /// Poll the driver (and whatever `f` waits for) until `f` is ready, bounded by
    /// [`REAL_WAIT`] of real time.
    async fn drive<T>(&mut self, mut f: impl FnMut(&mut Self, &mut Context<'_>) -> Poll<T>) -> T {
        let mut bound = async_io::Timer::after(REAL_WAIT);
        poll_fn(|cx| {
            self.poll_driver(cx);
            if let Poll::Ready(t) = f(self, cx) {
                return Poll::Ready(t);
            }
            if bound.poll(cx).is_ready() {
                panic!("TestConnection waited {REAL_WAIT:?}: the server is stuck");
            }
            Poll::Pending
        })
        .await
    }

    /// Let the server run until it has nothing to do right now (it waits for input, for
    /// time to pass or for its handler), without reading what it wrote.
    pub async fn settle(&mut self) {
        poll_fn(|cx| {
            // One waker for the whole settle: a wake of the waker the driver kept from an
            // earlier poll counts too.
            let flag = Arc::new(Flag {
                set: AtomicBool::new(false),
                inner: Some(cx.waker().clone()),
            });
            let waker = Waker::from(flag.clone());
            for _ in 0..SETTLE_POLLS {
                flag.set.store(false, Ordering::Release);
                self.poll_driver(&mut Context::from_waker(&waker));
                if self.reason.is_some() || !flag.set.load(Ordering::Acquire) {
                    break;
                }
            }
            Poll::Ready(())
        })
        .await;
    }

    fn poll_driver(&mut self, cx: &mut Context<'_>) {
        if let Some(driver) = self.driver.as_mut() {
            if let Poll::Ready(reason) = driver.as_mut().poll(cx) {
                self.reason = Some(reason);
                self.driver = None;
            }
        }
    }

    /// Move what the server wrote into `inbox`, without waiting.
    fn pull(&mut self) {
        self.poll_pull(&mut Context::from_waker(Waker::noop()));
    }

    fn poll_pull(&mut self, cx: &mut Context<'_>) {
        let mut buf = [0u8; 8192];
        loop {
            match Pin::new(&mut self.client).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(0)) => {
                    self.server_closed = true;
                    return;
                }
                Poll::Ready(Ok(n)) => self.inbox.extend_from_slice(&buf[..n]),
                Poll::Ready(Err(_)) | Poll::Pending => return,
            }
        }
    }
}

impl fmt::Debug for TestConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestConnection")
            .field("reason", &self.reason)
            .field("clock", &self.clock)
            .field("unread", &self.inbox.len())
            .finish_non_exhaustive()
    }
}

/// A waker that records being woken and passes the wake on.
struct Flag {
    set: AtomicBool,
    inner: Option<Waker>,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.set.store(true, Ordering::Release);
        if let Some(w) = &self.inner {
            w.wake_by_ref();
        }
    }
}

/// Split one response off `bytes`: the response and the bytes it used, or `None` when
/// more are needed (`closed`: no more will come, so a close-delimited body ends here).
fn split_response(bytes: &[u8], closed: bool) -> Option<(WireResponse, usize)> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
        .collect();
    let mut res = WireResponse {
        status,
        head,
        headers,
        body: Vec::new(),
    };
    let rest = &bytes[end..];
    if status < 200 || status == 204 || status == 304 {
        return Some((res, end));
    }
    if res
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
    {
        let (body, used) = dechunk(rest)?;
        res.body = body;
        return Some((res, end + used));
    }
    if let Some(len) = res
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let body = rest.get(..len)?;
        res.body = body.to_vec();
        return Some((res, end + len));
    }
    // Close-delimited.
    if !closed {
        return None;
    }
    res.body = rest.to_vec();
    Some((res, bytes.len()))
}

/// Decode a chunked body: the data and the bytes used (through the trailers), or `None`
/// when incomplete.
fn dechunk(mut bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let total = bytes.len();
    let mut body = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&bytes[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            // Trailers, then a blank line.
            let blank = if bytes.starts_with(b"\r\n") {
                0
            } else {
                bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 2
            };
            bytes = &bytes[blank + 2..];
            return Some((body, total - bytes.len()));
        }
        body.extend_from_slice(bytes.get(..size)?);
        bytes = bytes.get(size + 2..)?;
    }
}
