//! The per-connection loop: socket ⇄ [`http_core::Connection`], the handler, timeouts.
//!
//! One task per connection runs [`serve_connection`]'s loop: read into the engine until a
//! request head arrives, run the handler's future inside the task while serving its body
//! reads (the *pump*: the socket is read for the body only when the handler asked for
//! more), write the response through the engine into one output buffer, and write that
//! buffer when the handler's body waits, past a high-water mark, or before waiting for
//! input. Pipelined requests already buffered are answered before writing, so a batch
//! goes out in one write.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use async_io::Timer;
use futures_lite::future::poll_fn;
use futures_lite::{AsyncRead, AsyncWrite, FutureExt};
use http_core::{
    Connection, DateCache, Event, Headers, Next, RecvError, RequestHead, ResponseHead, SendError,
};

use crate::config::ServerConfig;
use crate::error::{ErrorKind, Timeout};
use crate::handler::Handler;
use crate::into_response::IntoResponse;
use crate::request::Request;
use crate::request_body::RequestBody;
use crate::response::{Body, Frame, Response, ResponseBody};
use crate::shared::{BodyState, CTL_GRACEFUL, CTL_KILL, CTL_RUN, ConnShared};
use crate::upgrade::Upgraded;

/// A connection's id, unique within the process (counting from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

impl ConnectionId {
    /// A fresh id.
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why a connection closed, as passed to the
/// [`on_close`](crate::ServerConfig::on_close) hook.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed the connection (between requests, or before a head was whole).
    ClientClosed,
    /// The server closed after a response, as the protocol asked (`Connection: close`,
    /// HTTP/1.0 without keep-alive, a close-delimited body, an error response).
    Done,
    /// The idle keep-alive timeout expired.
    KeepAliveTimeout,
    /// A request head did not arrive in time (answered with 408 if partly sent).
    HeadTimeout,
    /// The request body stalled or arrived below the minimum rate.
    BodyTimeout(Timeout),
    /// The client stopped reading the response.
    WriteTimeout,
    /// The client broke the protocol; it was answered with this error's status.
    Protocol(RecvError),
    /// The handler answered with [`Response::close`].
    HandlerClose,
    /// The handler panicked (answered with 500 if no head had been sent).
    Panic,
    /// The response was invalid (such as a body shorter than its `Content-Length`, or a
    /// header value with a newline), or its body stream failed.
    ResponseError,
    /// A `101 Switching Protocols` was sent; the connection left HTTP/1.1.
    Upgraded,
    /// The server shut down.
    Shutdown,
    /// The socket failed.
    Io(io::ErrorKind),
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientClosed => f.write_str("client closed"),
            Self::Done => f.write_str("done"),
            Self::KeepAliveTimeout => f.write_str("keep-alive timeout"),
            Self::HeadTimeout => f.write_str("head timeout"),
            Self::BodyTimeout(t) => write!(f, "{t}"),
            Self::WriteTimeout => f.write_str("write timeout"),
            Self::Protocol(e) => write!(f, "bad request: {e}"),
            Self::HandlerClose => f.write_str("closed by handler"),
            Self::Panic => f.write_str("handler panicked"),
            Self::ResponseError => f.write_str("invalid response"),
            Self::Upgraded => f.write_str("upgraded"),
            Self::Shutdown => f.write_str("server shutdown"),
            Self::Io(k) => write!(f, "i/o error: {k}"),
        }
    }
}

/// Serve HTTP/1.x on one connection until it closes, and say why it closed.
///
/// Works over any transport implementing futures-io's `AsyncRead + AsyncWrite` (a
/// `TcpStream`, a Unix socket, TLS, tokio's through `tokio_util::compat`). The
/// [`on_connect`](ServerConfig::on_connect) and [`on_close`](ServerConfig::on_close)
/// hooks run; graceful shutdown is only available through a
/// [`Server`](crate::Server).
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use std::sync::Arc;
/// use http_server::{serve_connection, Request, Response, ServerConfig};
///
/// let listener = async_net::TcpListener::bind("127.0.0.1:0").await?;
/// let config = Arc::new(ServerConfig::new());
/// let handler = Arc::new(|_req: Request| async { Response::text(200, "hi\n") });
/// loop {
///     let (stream, peer) = listener.accept().await?;
///     let local = stream.local_addr()?;
///     let (h, c) = (handler.clone(), config.clone());
///     smol::spawn(serve_connection(stream, peer, local, h, c)).detach();
/// }
/// # }
/// ```
pub async fn serve_connection<IO, H>(
    io: IO,
    peer: SocketAddr,
    local: SocketAddr,
    handler: Arc<H>,
    config: Arc<ServerConfig>,
) -> CloseReason
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let shared = Arc::new(ConnShared::new());
    let info = ConnInfo {
        id: ConnectionId::next(),
        peer,
        local,
        unix: false,
    };
    run(io, info, &*handler, &config, &shared).await
}

/// Where a connection comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnInfo {
    pub(crate) id: ConnectionId,
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
    /// Accepted on a Unix domain socket (`peer` and `local` are placeholders).
    pub(crate) unix: bool,
}

/// Serve one connection, with the hooks around it.
pub(crate) async fn run<IO, H>(
    io: IO,
    info: ConnInfo,
    handler: &H,
    config: &ServerConfig,
    shared: &Arc<ConnShared>,
) -> CloseReason
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    if let Some(hook) = &config.on_connect {
        hook(info.id, info.peer);
    }
    let mut driver = Driver {
        io,
        engine: Connection::new(config.engine().clone()),
        out: Vec::new(),
        out_pos: 0,
        needs_flush: false,
        shared,
        config,
        info,
        read_timer: Deadline::new(),
        release_timer: Deadline::new(),
        write_timer: Deadline::new(),
        wait_since: None,
        write_since: None,
        body_waited: Duration::ZERO,
        body_bytes: 0,
        released: false,
        eof: false,
        graceful: false,
        served: 0,
        after_response: None,
        spare_head: Arc::new(RequestHead::default()),
        body_attached: false,
        body_sent: 0,
        date_stale: true,
    };
    let reason = driver.serve(handler).await;
    match reason {
        CloseReason::Upgraded => driver.hand_over(),
        CloseReason::Io(_) | CloseReason::WriteTimeout => drop(driver),
        _ => {
            // Close the transport properly: a TLS stream sends its close_notify.
            driver.close_transport().await;
            drop(driver);
        }
    }
    log::debug!("connection {} from {} closed: {reason}", info.id, info.peer);
    if let Some(hook) = &config.on_close {
        hook(info.id, &reason);
    }
    shared.run_hooks(info.id, &reason);
    reason
}

/// Bytes to ask the engine for per read while waiting for a head.
/// Read size while watching an idle stream's socket for the peer closing.
const WATCH_READ: usize = 1024;
const HEAD_READ: usize = 2048;
/// Bytes to ask the engine for per read of a request body.
const BODY_READ: usize = 16 * 1024;
/// The largest piece of a `Bytes` response body copied into the output at once.
const FULL_PIECE: usize = 64 * 1024;
/// Output capacity kept between responses; more is freed.
const OUT_KEEP: usize = 256 * 1024;

/// What [`Driver::send_now`] did.
enum SentNow {
    /// Nothing: the response takes the async path.
    No,
    /// The whole response is in the output; this many body bytes.
    Done(u64),
    /// The head and this many body bytes are in the output, which passed the high-water
    /// mark: flush, then end the body.
    Flush(u64),
    /// The engine refused a part: answer the error.
    Failed(SendError),
}

struct Driver<'a, IO> {
    io: IO,
    engine: Connection,
    /// Output not yet written: `out[out_pos..]`.
    out: Vec<u8>,
    out_pos: usize,
    /// Bytes were written since the last `poll_flush` of the transport.
    needs_flush: bool,
    shared: &'a Arc<ConnShared>,
    config: &'a ServerConfig,
    info: ConnInfo,
    /// Idle, head and body-read deadlines (one at a time).
    read_timer: Deadline,
    /// When an idle connection frees its buffers.
    release_timer: Deadline,
    write_timer: Deadline,
    /// When the current wait for input began.
    wait_since: Option<Instant>,
    /// When the current write stopped making progress.
    write_since: Option<Instant>,
    /// Time spent waiting for request-body bytes, and the bytes that came (rate check).
    body_waited: Duration,
    body_bytes: u64,
    /// The read buffers were freed while idle; the next read uses a small stack buffer.
    released: bool,
    /// The peer closed its side.
    eof: bool,
    /// Graceful shutdown began: close after the current response.
    graceful: bool,
    /// Requests answered.
    served: u64,
    /// Why to close once the current response is written (such as a body timeout).
    after_response: Option<CloseReason>,
    /// The request head handed to the handler; reused once the handler dropped it.
    spare_head: Arc<RequestHead>,
    /// The current request has a body served through the shared slot.
    body_attached: bool,
    /// Body bytes of the current response handed to the engine (for the access log).
    body_sent: u64,
    /// Bytes were read since the `Date` was last set.
    date_stale: bool,
}

impl<IO> Driver<'_, IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Close the transport (`poll_close`: a TCP half-close, a TLS close_notify), bounded
    /// by the write timeout.
    async fn close_transport(&mut self) {
        let deadline = Instant::now() + self.config.write_timeout;
        poll_fn(|cx| match Pin::new(&mut self.io).poll_close(cx) {
            Poll::Ready(_) => Poll::Ready(()),
            Poll::Pending if self.write_timer.poll_expired(cx, deadline) => Poll::Ready(()),
            Poll::Pending => Poll::Pending,
        })
        .await;
    }

    /// After a `101` went out: give the transport and the bytes read past the head to
    /// the [`OnUpgrade`](crate::OnUpgrade) waiting for them (or close it if none waits).
    fn hand_over(self) {
        let Some(tx) = self.shared.take_upgrade() else {
            return;
        };
        let Self { io, engine, .. } = self;
        let buffered = engine.into_parts().buffered;
        if tx.try_send(Upgraded::new(io, buffered)).is_err() {
            log::debug!("connection {}: upgrade not awaited", self.info.id);
        }
    }

    /// The connection loop.
    async fn serve<H: Handler>(&mut self, handler: &H) -> CloseReason {
        loop {
            if let Err(reason) = self.read_head().await {
                return reason;
            }
            if let Err(reason) = self.exchange(handler).await {
                return reason;
            }
            self.served += 1;
            if self.engine.is_upgraded() {
                if let Err(reason) = self.flush().await {
                    return reason;
                }
                return CloseReason::Upgraded;
            }
            // `Request::upgrade` was called but the answer was no upgrade: fail its future.
            drop(self.shared.take_upgrade());
            if self.engine.is_closed() {
                let _ = self.flush().await;
                return self.after_response.take().unwrap_or(CloseReason::Done);
            }
            if !self.config.pipeline_flush || self.pending_out() >= self.config.write_high_water {
                if let Err(reason) = self.flush().await {
                    return reason;
                }
            }
        }
    }

    // ----- receiving heads -----

    /// Read until the engine hands out a request head.
    async fn read_head(&mut self) -> Result<(), CloseReason> {
        self.wait_since = None;
        loop {
            match self.engine.next_event() {
                Ok(Next::Event(Event::Head(_))) => return Ok(()),
                Ok(Next::NeedData) => {
                    self.flush().await?;
                    if let Err(reason) = poll_fn(|cx| self.poll_read_head(cx)).await {
                        if self.pending_out() > 0 {
                            // A 408: best effort, bounded by the write timeout.
                            let _ = self.flush().await;
                        }
                        return Err(reason);
                    }
                }
                Ok(Next::Closed) => {
                    self.flush().await?;
                    return Err(if self.eof {
                        CloseReason::ClientClosed
                    } else {
                        CloseReason::Done
                    });
                }
                Ok(Next::Upgraded) => {
                    self.flush().await?;
                    return Err(CloseReason::Upgraded);
                }
                Ok(Next::Paused | Next::Event(_)) => {
                    log::warn!("connection {}: engine out of step", self.info.id);
                    return Err(CloseReason::Done);
                }
                Err(RecvError::UnexpectedEof) => return Err(CloseReason::ClientClosed),
                Err(e) => {
                    let _ = self
                        .engine
                        .send_error(e.status(), &e.to_string(), &mut self.out);
                    let _ = self.flush().await;
                    return Err(CloseReason::Protocol(e));
                }
            }
        }
    }

    /// One wait for head bytes, with the idle, release and head deadlines and the
    /// shutdown signal.
    fn poll_read_head(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), CloseReason>> {
        self.shared.register(cx.waker());
        let ctl = self.shared.ctl();
        if ctl == CTL_KILL {
            return Poll::Ready(Err(CloseReason::Shutdown));
        }
        let idle = self.engine.is_idle();
        if ctl == CTL_GRACEFUL {
            self.graceful = true;
        }
        match self.poll_read_engine(cx, HEAD_READ) {
            Poll::Ready(Ok(_)) => {
                if idle {
                    // The first bytes of a head: its own clock starts now.
                    self.wait_since = None;
                }
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(CloseReason::Io(e.kind()))),
            Poll::Pending => {}
        }
        if self.graceful && idle {
            return Poll::Ready(Err(CloseReason::Shutdown));
        }
        // One clock read per wait, shared by the deadlines below.
        let now = Instant::now();
        let since = *self.wait_since.get_or_insert(now);
        if idle {
            if !self.released {
                let at = since + self.config.idle_release;
                if self.release_timer.poll_expired_at(cx, at, now) {
                    self.release();
                }
            }
            let limit = if self.served == 0 {
                self.config.head_timeout
            } else {
                self.config.keep_alive_timeout
            };
            if self.read_timer.poll_expired_at(cx, since + limit, now) {
                return Poll::Ready(Err(if self.served == 0 {
                    CloseReason::HeadTimeout
                } else {
                    CloseReason::KeepAliveTimeout
                }));
            }
        } else if self
            .read_timer
            .poll_expired_at(cx, since + self.config.head_timeout, now)
        {
            let _ = self
                .engine
                .send_error(408, "request head timeout", &mut self.out);
            return Poll::Ready(Err(CloseReason::HeadTimeout));
        }
        Poll::Pending
    }

    /// Free buffers while idle.
    fn release(&mut self) {
        self.engine.release_buffers();
        if self.out_pos == self.out.len() {
            self.out = Vec::new();
            self.out_pos = 0;
        }
        self.shared.body().shrink();
        // The spare head still holds the last request's bytes: free them too.
        if let Some(spare) = Arc::get_mut(&mut self.spare_head) {
            *spare = RequestHead::default();
        }
        self.released = true;
    }

    /// Read from the socket into the engine. `Ok(0)` is end of input (given to the engine).
    fn poll_read_engine(&mut self, cx: &mut Context<'_>, min: usize) -> Poll<io::Result<usize>> {
        if self.eof {
            return Poll::Ready(Ok(0));
        }
        let res = if self.released {
            // Wait for input without holding a read buffer.
            let mut tiny = [0u8; 64];
            let res = Pin::new(&mut self.io).poll_read(cx, &mut tiny);
            if let Poll::Ready(Ok(n)) = res {
                self.engine.receive(&tiny[..n]);
                self.released = false;
                self.date_stale = true;
            }
            res
        } else {
            let buf = self.engine.read_buf(min);
            let res = Pin::new(&mut self.io).poll_read(cx, buf);
            if let Poll::Ready(Ok(n)) = res {
                self.engine.commit_read(n);
                self.date_stale = true;
            }
            res
        };
        match res {
            Poll::Ready(Ok(0)) => {
                self.eof = true;
                self.engine.receive_eof();
                Poll::Ready(Ok(0))
            }
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            other => other,
        }
    }

    // ----- one exchange -----

    /// Run the handler for the head just received and write its response.
    async fn exchange<H: Handler>(&mut self, handler: &H) -> Result<(), CloseReason> {
        if self.graceful {
            self.engine.close_after_response();
        }
        let Some(head) = self.engine.head() else {
            return Err(CloseReason::Done);
        };
        let is_head = head.is_head();
        let started = self.config.access_log && log::log_enabled!(log::Level::Info);
        let log_line = started.then(|| {
            (
                head.method().to_owned(),
                head.target().to_owned(),
                Instant::now(),
            )
        });
        let declared = self.engine.body_length();
        // Hand the head over without copying: swap it into the spare `Arc` when the
        // previous request is gone (the usual case), so its storage is reused.
        let head = match Arc::get_mut(&mut self.spare_head) {
            Some(spare) => {
                self.engine.swap_head(spare);
                self.spare_head.clone()
            }
            None => {
                self.spare_head = Arc::new(self.engine.take_head());
                self.spare_head.clone()
            }
        };
        self.wait_since = None;

        // A bodyless request is complete now: take its end without touching the socket.
        let mut state = BodyState::Reading;
        if declared == Some(0) {
            if let Ok(Next::Event(Event::End)) = self.engine.next_event() {
                state = BodyState::Eof;
            }
        }
        self.body_waited = Duration::ZERO;
        self.body_bytes = 0;
        // Bodyless requests never touch the shared body slot (no lock per GET).
        self.body_attached = state != BodyState::Eof;
        let body = if self.body_attached {
            let generation = {
                let mut slot = self.shared.body();
                slot.reset(state);
                slot.generation
            };
            RequestBody::new(self.shared.clone(), generation, declared)
        } else {
            RequestBody::empty()
        };
        let req = Request::new(
            head,
            body,
            self.info.id,
            self.info.peer,
            self.info.local,
            self.config.trusted.clone(),
            self.shared.clone(),
        )
        .on_unix_socket(self.info.unix);

        let fut = AssertUnwindSafe(handler.call(req)).catch_unwind();
        let mut fut = pin!(fut);
        let outcome = poll_fn(|cx| {
            loop {
                if let Poll::Ready(r) = fut.as_mut().poll(cx) {
                    return Poll::Ready(Ok(r));
                }
                self.shared.register(cx.waker());
                match self.shared.ctl() {
                    CTL_KILL => return Poll::Ready(Err(CloseReason::Shutdown)),
                    CTL_GRACEFUL if !self.graceful => {
                        self.graceful = true;
                        self.engine.close_after_response();
                    }
                    _ => {}
                }
                match self.poll_pump(cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(reason)) => return Poll::Ready(Err(reason)),
                    Poll::Pending => {
                        // The handler waits: its response comes later than the read.
                        self.date_stale = true;
                        return Poll::Pending;
                    }
                }
            }
        })
        .await;

        // Taken apart here: a `Response` is too large to be moved without a memcpy call, its
        // head and body are not.
        let (head, body) = match outcome {
            Ok(Ok(r)) => {
                let Response { head, body } = r.into_response();
                (head, body)
            }
            Ok(Err(_panic)) => {
                log::error!(
                    "connection {}: handler panicked; answering 500",
                    self.info.id
                );
                self.detach_body();
                let _ = self
                    .engine
                    .send_error(500, "internal server error", &mut self.out);
                let _ = self.flush().await;
                return Err(CloseReason::Panic);
            }
            Err(reason) => {
                self.detach_body();
                return Err(reason);
            }
        };
        let status = head.status();
        self.body_sent = 0;
        // The usual response goes out without building `send_response`'s future.
        let result = match self.send_now(&head, &body, is_head) {
            SentNow::No => self.send_response(head, body, is_head).await,
            SentNow::Done(sent) => Ok(sent),
            SentNow::Flush(sent) => self.end_after_flush(sent).await,
            SentNow::Failed(e) => Err(self.answer_send_error(e).await),
        };
        self.detach_body();
        if let Some((method, target, t0)) = log_line {
            // What went out, also for a stream that ended early.
            let bytes = result.as_ref().map_or(self.body_sent, |n| *n);
            log::info!(
                target: "http_server::access",
                "{} {} {} {} {} {:?}",
                self.info.peer.ip(),
                method,
                target,
                status,
                bytes,
                t0.elapsed()
            );
        }
        result.map(|_| ())
    }

    /// [`send_response`](Self::send_response) for a head with an empty body or one
    /// in-memory piece, without awaiting: it does the same up to where that would wait.
    /// Returns [`SentNow::No`], having done nothing, for any other response or while a
    /// shutdown signal is up.
    fn send_now(&mut self, head: &ResponseHead, body: &ResponseBody, is_head: bool) -> SentNow {
        let bytes = match body {
            ResponseBody::Empty => None,
            ResponseBody::Full(bytes) if bytes.len() <= FULL_PIECE => Some(bytes),
            _ => return SentNow::No,
        };
        if self.shared.ctl() != CTL_RUN {
            return SentNow::No;
        }
        let is_head = match self.start_response(head, is_head, false) {
            Ok(no_body) => no_body,
            Err(e) => return SentNow::Failed(e),
        };
        if self.engine.is_upgraded() {
            return SentNow::Done(0);
        }
        let mut sent = 0u64;
        // As `send_response`'s loop over the pieces: an empty body has none.
        if let Some(bytes) = bytes.filter(|b| !is_head && !b.is_empty()) {
            if let Err(e) = self.engine.send_data(bytes, &mut self.out) {
                return SentNow::Failed(e);
            }
            sent = bytes.len() as u64;
            self.body_sent = sent;
            if self.pending_out() >= self.config.write_high_water {
                return SentNow::Flush(sent);
            }
        }
        match self.engine.send_end(None, &mut self.out) {
            Ok(()) => SentNow::Done(sent),
            Err(e) => SentNow::Failed(e),
        }
    }

    /// What every response starts with, on either path: `Connection: close` once a
    /// graceful shutdown began, the Date, a `100 Continue` before a streamed body, and
    /// the head. Returns whether the body is dropped (HEAD, 1xx, 204 and 304 carry none:
    /// do not produce it).
    fn start_response(
        &mut self,
        head: &ResponseHead,
        is_head: bool,
        streamed: bool,
    ) -> Result<bool, SendError> {
        if self.graceful {
            self.engine.close_after_response();
        }
        let status = head.status();
        let no_body = is_head || status < 200 || status == 204 || status == 304;
        self.set_date();
        if streamed && !no_body && self.engine.wants_continue() {
            // The stream may read the request body (an echo): let the client send it.
            let _ = self.engine.send_continue(&mut self.out);
        }
        self.engine.send_head(head, &mut self.out)?;
        Ok(no_body)
    }

    /// After [`SentNow::Flush`]: write the output, then end the body.
    async fn end_after_flush(&mut self, sent: u64) -> Result<u64, CloseReason> {
        self.flush_serving_body().await?;
        if let Err(e) = self.engine.send_end(None, &mut self.out) {
            return Err(self.answer_send_error(e).await);
        }
        Ok(sent)
    }

    /// Write a response (`head` and `body`) through the engine. Returns the body bytes
    /// sent; they are also left in `body_sent` when sending fails part way.
    async fn send_response(
        &mut self,
        head: ResponseHead,
        body: ResponseBody,
        is_head: bool,
    ) -> Result<u64, CloseReason> {
        if let ResponseBody::Close = body {
            let _ = self.flush().await;
            return Err(CloseReason::HandlerClose);
        }
        // A shutdown signal may have come while the handler finished without another poll.
        match self.shared.ctl() {
            CTL_KILL => return Err(CloseReason::Shutdown),
            CTL_GRACEFUL => self.graceful = true,
            _ => {}
        }
        let streamed = matches!(body, ResponseBody::Stream(_));
        let is_head = match self.start_response(&head, is_head, streamed) {
            Ok(no_body) => no_body,
            Err(e) => return Err(self.answer_send_error(e).await),
        };
        if self.engine.is_upgraded() {
            // A 101 (or 2xx to CONNECT) has no body; the connection is handed over.
            return Ok(0);
        }
        let mut sent = 0u64;
        let mut trailers = None;
        match body {
            ResponseBody::Empty | ResponseBody::Close => {}
            ResponseBody::Full(_) if is_head => {}
            ResponseBody::Full(bytes) => {
                for piece in bytes.chunks(FULL_PIECE) {
                    if let Err(e) = self.engine.send_data(piece, &mut self.out) {
                        return Err(self.answer_send_error(e).await);
                    }
                    sent += piece.len() as u64;
                    self.body_sent = sent;
                    if self.pending_out() >= self.config.write_high_water {
                        self.flush_serving_body().await?;
                    }
                }
            }
            ResponseBody::Stream(_) if is_head => {}
            ResponseBody::Stream(mut stream) => {
                let mut flush_now = false;
                let result = poll_fn(|cx| {
                    self.poll_stream(
                        cx,
                        stream.as_mut(),
                        &mut flush_now,
                        &mut sent,
                        &mut trailers,
                    )
                })
                .await;
                drop(stream);
                self.body_sent = sent;
                result?;
            }
        }
        if let Err(e) = self.engine.send_end(trailers.as_ref(), &mut self.out) {
            return Err(self.answer_send_error(e).await);
        }
        Ok(sent)
    }

    /// Drive a streamed body: frames into the output, flushing on `Flush`, past the
    /// high-water mark and whenever the body waits; serve request-body reads meanwhile.
    fn poll_stream(
        &mut self,
        cx: &mut Context<'_>,
        mut body: Pin<&mut (dyn Body + Send)>,
        flush_now: &mut bool,
        sent: &mut u64,
        trailers: &mut Option<Headers>,
    ) -> Poll<Result<(), CloseReason>> {
        self.shared.register(cx.waker());
        if self.shared.ctl() == CTL_KILL {
            return Poll::Ready(Err(CloseReason::Shutdown));
        }
        loop {
            if *flush_now || self.pending_out() >= self.config.write_high_water {
                match self.poll_flush(cx) {
                    Poll::Ready(Ok(())) => *flush_now = false,
                    Poll::Ready(Err(reason)) => return Poll::Ready(Err(reason)),
                    Poll::Pending => {
                        if let Poll::Ready(Err(reason)) = self.poll_pump(cx) {
                            return Poll::Ready(Err(reason));
                        }
                        return Poll::Pending;
                    }
                }
            }
            let frame = std::panic::catch_unwind(AssertUnwindSafe(|| body.as_mut().poll_frame(cx)));
            match frame {
                Err(_) => {
                    log::error!("connection {}: response body panicked", self.info.id);
                    return Poll::Ready(Err(CloseReason::Panic));
                }
                Ok(Poll::Ready(Some(Ok(Frame::Data(data))))) => {
                    if let Err(e) = self.engine.send_data(&data, &mut self.out) {
                        log::error!("connection {}: response body: {e}", self.info.id);
                        return Poll::Ready(Err(CloseReason::ResponseError));
                    }
                    *sent += data.len() as u64;
                }
                Ok(Poll::Ready(Some(Ok(Frame::Flush)))) => *flush_now = true,
                Ok(Poll::Ready(Some(Ok(Frame::Trailers(t))))) => *trailers = Some(t),
                Ok(Poll::Ready(None)) => return Poll::Ready(Ok(())),
                Ok(Poll::Ready(Some(Err(e)))) => {
                    log::warn!("connection {}: response body failed: {e}", self.info.id);
                    return Poll::Ready(Err(CloseReason::ResponseError));
                }
                Ok(Poll::Pending) => {
                    // Write what we have before waiting for the body.
                    if self.pending_out() > 0 {
                        if let Poll::Ready(Err(reason)) = self.poll_flush(cx) {
                            return Poll::Ready(Err(reason));
                        }
                    }
                    match self.poll_pump(cx) {
                        Poll::Ready(Ok(())) => continue,
                        Poll::Ready(Err(reason)) => return Poll::Ready(Err(reason)),
                        Poll::Pending => {}
                    }
                    // While the body waits (a push stream idle for minutes), watch the
                    // socket: a client that went away ends the response now, so the
                    // producer's `closed()` resolves instead of waiting for a failed write.
                    if let Poll::Ready(reason) = self.poll_watch_peer(cx) {
                        return Poll::Ready(Err(reason));
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// Watch for the peer closing while a response waits on its body: `Ready` with the
    /// reason once the peer is gone. Only once the request body was read whole (its bytes
    /// are the handler's to pull); bytes of pipelined requests are buffered in the engine,
    /// up to one head's worth, then the watch pauses (backpressure). Like hyper's default,
    /// a half-close (EOF on read) counts as the client going away.
    fn poll_watch_peer(&mut self, cx: &mut Context<'_>) -> Poll<CloseReason> {
        let cap = self.config.engine().limits().head_bytes();
        loop {
            if self.eof || self.engine.is_reading_body() || self.engine.buffered_len() >= cap {
                return Poll::Pending;
            }
            match self.poll_read_engine(cx, WATCH_READ) {
                Poll::Ready(Ok(0)) => return Poll::Ready(CloseReason::ClientClosed),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(CloseReason::Io(e.kind())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// After a refused `send_*`: answer with an error status if no head went out yet, and
    /// say why the connection closes.
    async fn answer_send_error(&mut self, e: SendError) -> CloseReason {
        let reason = match (e, self.engine.error()) {
            (SendError::Poisoned, Some(recv)) => {
                let _ = self
                    .engine
                    .send_error(recv.status(), &recv.to_string(), &mut self.out);
                CloseReason::Protocol(recv)
            }
            _ => {
                log::error!("connection {}: invalid response: {e}", self.info.id);
                let _ = self
                    .engine
                    .send_error(500, "internal server error", &mut self.out);
                CloseReason::ResponseError
            }
        };
        let _ = self.flush().await;
        self.after_response.take().unwrap_or(reason)
    }

    /// The request is answered: a body handle still held reads `BodyClosed`.
    fn detach_body(&mut self) {
        if !std::mem::take(&mut self.body_attached) {
            return;
        }
        let mut slot = self.shared.body();
        slot.reset(BodyState::Failed(ErrorKind::Closed));
        if slot.chunk.capacity() > BODY_READ * 4 {
            slot.shrink();
        }
    }

    #[inline]
    fn set_date(&mut self) {
        // One clock read per socket read: a pipelined batch shares its Date.
        if std::mem::take(&mut self.date_stale) {
            self.refresh_date();
        }
    }

    #[inline(never)]
    fn refresh_date(&mut self) {
        thread_local! {
            static DATE: std::cell::RefCell<DateCache> = std::cell::RefCell::new(DateCache::new());
        }
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        DATE.with(|cache| self.engine.set_date(cache.borrow_mut().get(secs)));
    }

    // ----- the body pump -----

    /// Serve the request body reader: when it wants bytes, hand it the engine's next
    /// body data, reading the socket only then. `Ready(Ok)` means the reader got
    /// something (data, end or an error) and should be polled again.
    fn poll_pump(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), CloseReason>> {
        let shared = self.shared;
        let mut slot = shared.body();
        if !slot.want || slot.state != BodyState::Reading {
            return Poll::Pending;
        }
        if self.engine.wants_continue() {
            let _ = self.engine.send_continue(&mut self.out);
        }
        if self.pending_out() > 0 {
            match self.poll_flush(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(reason)) => {
                    slot.state = BodyState::Failed(ErrorKind::Closed);
                    slot.wake_reader();
                    return Poll::Ready(Err(reason));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        loop {
            match self.engine.next_event() {
                Ok(Next::Event(Event::Data(data))) => {
                    slot.chunk.extend_from_slice(data);
                    self.body_bytes += data.len() as u64;
                    slot.want = false;
                    slot.wake_reader();
                    return Poll::Ready(Ok(()));
                }
                Ok(Next::Event(Event::Trailers(t))) => slot.trailers = Some(t.clone()),
                Ok(Next::Event(Event::End)) => {
                    slot.state = BodyState::Eof;
                    slot.want = false;
                    slot.wake_reader();
                    return Poll::Ready(Ok(()));
                }
                Ok(Next::Event(Event::Head(_)) | Next::Paused | Next::Closed | Next::Upgraded) => {
                    slot.state = BodyState::Eof;
                    slot.wake_reader();
                    return Poll::Ready(Ok(()));
                }
                Err(e) => {
                    slot.state = BodyState::Failed(ErrorKind::Protocol(e));
                    slot.wake_reader();
                    return Poll::Ready(Ok(()));
                }
                Ok(Next::NeedData) => match self.poll_read_engine(cx, BODY_READ) {
                    Poll::Ready(Ok(_)) => {
                        if let Some(since) = self.wait_since.take() {
                            self.body_waited += since.elapsed();
                        }
                    }
                    Poll::Ready(Err(e)) => {
                        slot.state = BodyState::Failed(ErrorKind::Io(e.kind()));
                        slot.wake_reader();
                        return Poll::Ready(Err(CloseReason::Io(e.kind())));
                    }
                    Poll::Pending => {
                        let now = Instant::now();
                        let since = *self.wait_since.get_or_insert(now);
                        let stall = since + self.config.body_timeout;
                        let mut at = stall;
                        if self.config.min_body_rate > 0 {
                            let needed = Duration::from_secs_f64(
                                self.body_bytes as f64 / self.config.min_body_rate as f64,
                            )
                            .max(self.config.body_rate_grace);
                            at = at.min(since + needed.saturating_sub(self.body_waited));
                        }
                        if self.read_timer.poll_expired(cx, at) {
                            let which = if Instant::now() >= stall {
                                Timeout::BodyStall
                            } else {
                                Timeout::BodyRate
                            };
                            log::debug!("connection {}: {which}", self.info.id);
                            slot.state = BodyState::Failed(ErrorKind::Timeout(which));
                            slot.wake_reader();
                            self.wait_since = None;
                            self.engine.close_after_response();
                            self.after_response = Some(CloseReason::BodyTimeout(which));
                            return Poll::Ready(Ok(()));
                        }
                        return Poll::Pending;
                    }
                },
            }
        }
    }

    // ----- writing -----

    fn pending_out(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Write all buffered output, serving request-body reads meanwhile.
    async fn flush_serving_body(&mut self) -> Result<(), CloseReason> {
        poll_fn(|cx| {
            self.shared.register(cx.waker());
            if self.shared.ctl() == CTL_KILL {
                return Poll::Ready(Err(CloseReason::Shutdown));
            }
            match self.poll_flush(cx) {
                Poll::Pending => {
                    if let Poll::Ready(Err(reason)) = self.poll_pump(cx) {
                        return Poll::Ready(Err(reason));
                    }
                    Poll::Pending
                }
                ready => ready,
            }
        })
        .await
    }

    /// Write all buffered output.
    async fn flush(&mut self) -> Result<(), CloseReason> {
        if self.pending_out() == 0 && !self.needs_flush {
            return Ok(());
        }
        poll_fn(|cx| {
            self.shared.register(cx.waker());
            if self.shared.ctl() == CTL_KILL {
                return Poll::Ready(Err(CloseReason::Shutdown));
            }
            self.poll_flush(cx)
        })
        .await
    }

    /// Write buffered output to the socket and flush it, with the write timeout.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), CloseReason>> {
        while self.out_pos < self.out.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.out[self.out_pos..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(CloseReason::Io(io::ErrorKind::WriteZero)));
                }
                Poll::Ready(Ok(n)) => {
                    self.out_pos += n;
                    self.write_since = None;
                    self.needs_flush = true;
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(CloseReason::Io(e.kind()))),
                Poll::Pending => return self.poll_write_deadline(cx),
            }
        }
        if self.needs_flush {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.needs_flush = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(CloseReason::Io(e.kind()))),
                Poll::Pending => return self.poll_write_deadline(cx),
            }
        }
        self.out.clear();
        self.out_pos = 0;
        if self.out.capacity() > OUT_KEEP {
            self.out = Vec::new();
        }
        Poll::Ready(Ok(()))
    }

    fn poll_write_deadline(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), CloseReason>> {
        let since = *self.write_since.get_or_insert_with(Instant::now);
        if self
            .write_timer
            .poll_expired(cx, since + self.config.write_timeout)
        {
            log::debug!("connection {}: write timeout", self.info.id);
            return Poll::Ready(Err(CloseReason::WriteTimeout));
        }
        Poll::Pending
    }
}

/// A timer that re-arms lazily: moving the deadline later does not touch the reactor;
/// the timer fires at the old time, sees the new deadline and re-arms once.
struct Deadline {
    timer: Timer,
    armed: Option<Instant>,
    /// The timer was polled (by this connection's task) since it was armed: it will wake
    /// the task when it fires.
    waiting: bool,
}

impl Deadline {
    fn new() -> Self {
        Self {
            timer: Timer::never(),
            armed: None,
            waiting: false,
        }
    }

    /// Whether `at` has passed; if not, the task is woken when it does.
    fn poll_expired(&mut self, cx: &mut Context<'_>, at: Instant) -> bool {
        loop {
            if self.armed.is_none_or(|armed| armed > at) {
                self.timer.set_at(at);
                self.armed = Some(at);
                self.waiting = false;
            }
            match Pin::new(&mut self.timer).poll(cx) {
                Poll::Ready(_) => {
                    self.armed = None;
                    self.waiting = false;
                    if Instant::now() >= at {
                        return true;
                    }
                }
                Poll::Pending => {
                    self.waiting = true;
                    return false;
                }
            }
        }
    }

    /// [`poll_expired`](Self::poll_expired) given the time `now`: when the timer is
    /// already waiting for a moment no later than `at` that is still ahead, it is not
    /// polled (polling an async-io timer reads the clock).
    fn poll_expired_at(&mut self, cx: &mut Context<'_>, at: Instant, now: Instant) -> bool {
        match self.armed {
            Some(armed) if self.waiting && armed <= at && now < armed => false,
            _ => self.poll_expired(cx, at),
        }
    }
}
