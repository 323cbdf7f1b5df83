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

use super::wire::{self, Parsed, WireResponse};
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
///
/// `100-continue` with the body trickled in 3-byte writes, then a head timeout that fires
/// when the test moves the clock, not before:
///
/// ```
/// use std::time::Duration;
/// use h1_server::testing::TestConnection;
/// use h1_server::{CloseReason, Request, Response, ServerConfig, Timeout};
///
/// futures_lite::future::block_on(async {
///     let echo = |mut req: Request| async move {
///         Response::bytes(200, req.bytes(1024).await.unwrap_or_default())
///     };
///     let mut config = ServerConfig::new();
///     config.head_timeout(Duration::from_secs(10));
///     let mut conn = TestConnection::new(echo, config);
///     conn.send("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
///         .await;
///     assert_eq!(conn.read_interim().await.status, 100);
///     conn.write_some(b"hello", 3).await;
///     assert_eq!(conn.read_response().await.text(), "hello");
///
///     conn.send("GET / HT").await; // a partial head
///     conn.advance(Duration::from_secs(9)).await;
///     assert!(conn.is_quiet().await);
///     conn.advance(Duration::from_secs(1)).await;
///     assert_eq!(conn.read_response().await.status, 408);
///     assert_eq!(conn.expect_closed().await, CloseReason::Timeout(Timeout::Head));
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

    /// Write all of `bytes` to the server, serving meanwhile.
    ///
    /// # Panics
    ///
    /// When the connection ends before the server took them all.
    pub async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        let bytes = bytes.as_ref();
        let n = self.write(bytes).await;
        assert_eq!(n, bytes.len(), "the connection ended after {n} bytes");
    }

    /// Write `bytes` in pieces of at most `piece` bytes, letting the server run after
    /// each: every partial read the driver can meet. Returns how many it took.
    pub async fn write_some(&mut self, bytes: &[u8], piece: usize) -> usize {
        let mut at = 0;
        for chunk in bytes.chunks(piece.max(1)) {
            let n = self.write(chunk).await;
            at += n;
            if n < chunk.len() {
                break;
            }
        }
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

    /// Read until the unread bytes contain `needle`, serving meanwhile; they stay unread
    /// (for [`read_response`](Self::read_response)).
    ///
    /// # Panics
    ///
    /// When the server closes first, or after 10 s of real time.
    pub async fn wait_for(&mut self, needle: &[u8]) {
        let found = |b: &[u8]| b.windows(needle.len().max(1)).any(|w| w == needle);
        let bytes = self.read_until(found).await;
        assert!(
            found(&bytes),
            "the server closed before {:?}: {:?}",
            String::from_utf8_lossy(needle),
            String::from_utf8_lossy(&bytes)
        );
        self.inbox = bytes;
    }

    /// Let the server run until it has nothing to do; whether it wrote nothing unread
    /// and kept the connection open meanwhile.
    pub async fn is_quiet(&mut self) -> bool {
        self.settle().await;
        self.pull();
        self.inbox.is_empty() && !self.server_closed
    }

    /// Read until the server closes its writing side; returns what it wrote.
    pub async fn read_to_close(&mut self) -> Vec<u8> {
        self.read_until(|_| false).await
    }

    /// Read the next response, parsed by h1-core's client role, and split it off what
    /// follows (pipelined responses stay for the next call). An interim `1xx` response
    /// is returned on its own, before the final one; [`read_interim`](Self::read_interim)
    /// says that one is expected. A `101` ends with its head: the bytes after it stay
    /// readable raw.
    ///
    /// # Panics
    ///
    /// When the server closes before a whole response, or breaks the protocol.
    pub async fn read_response(&mut self) -> WireResponse {
        self.next_response(false).await
    }

    /// [`read_response`](Self::read_response) for a response to `HEAD`: its head says
    /// what a `GET` would get, and no body follows.
    pub async fn read_head_response(&mut self) -> WireResponse {
        self.next_response(true).await
    }

    /// Read the next response and check that it is interim (`1xx`, such as
    /// `100 Continue` or `103 Early Hints`).
    ///
    /// # Panics
    ///
    /// When the next response is final, or as [`read_response`](Self::read_response).
    pub async fn read_interim(&mut self) -> WireResponse {
        let res = self.next_response(false).await;
        assert!(
            res.is_interim(),
            "expected an interim response, got {}",
            res.head.trim_end()
        );
        res
    }

    /// Send `request` and read the response to it.
    pub async fn request(&mut self, request: impl AsRef<[u8]>) -> WireResponse {
        self.send(request).await;
        self.read_response().await
    }

    async fn next_response(&mut self, head_request: bool) -> WireResponse {
        loop {
            match wire::parse(&self.inbox, self.server_closed, head_request) {
                Parsed::Done(res, used) => {
                    self.inbox.drain(..used);
                    return res;
                }
                Parsed::Incomplete => {}
            }
            assert!(
                !self.server_closed,
                "connection closed before a whole response: {:?}",
                String::from_utf8_lossy(&self.inbox)
            );
            let seen = self.inbox.len();
            let more = self.read_until(|b| b.len() > seen).await;
            self.inbox = more;
        }
    }

    /// Check that the server closes the connection without writing anything more, and
    /// say why it closed.
    ///
    /// # Panics
    ///
    /// When the server writes more bytes before it closes.
    pub async fn expect_closed(&mut self) -> CloseReason {
        let rest = self.read_to_close().await;
        assert!(
            rest.is_empty(),
            "expected the server to close, it wrote {:?}",
            String::from_utf8_lossy(&rest)
        );
        self.closed().await
    }

    /// Whether the server has closed its writing side (after every byte it wrote was
    /// read), without waiting. [`settle`](Self::settle) first to let it finish.
    pub fn server_closed(&mut self) -> bool {
        self.pull();
        self.server_closed && self.inbox.is_empty()
    }

    /// Move the connection's clock forward by `by` and let the server run: timers that
    /// come due fire.
    pub async fn advance(&mut self, by: Duration) {
        self.clock.advance(by);
        self.settle().await;
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
