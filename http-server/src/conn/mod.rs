//! The per-connection loop: socket ⇄ [`h1_core::Connection`], the handler, timeouts.
//!
//! One task per connection runs [`serve_connection`]'s loop through three phases:
//! read into the engine until a request head arrives ([`read`]), run the handler's
//! future inside the task while serving its body reads ([`exchange`], with the body
//! *pump* in [`pump`]: the socket is read for the body only when the handler asked for
//! more), and write the response through the engine ([`send`]) into one output buffer
//! ([`write`]), written when the handler's body waits, past a high-water mark, or before
//! waiting for input. Pipelined requests already buffered are answered before writing,
//! so a batch goes out in one write. Every timer reads the [`clock`].

pub(crate) mod clock;
mod exchange;
mod file_body;
mod pump;
mod read;
mod send;
mod write;

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncWrite};
use h1_core::{Connection, RequestHead};

pub(crate) use self::clock::Clock;
use self::clock::Deadline;
use self::write::Output;
use crate::close::{CloseReason, ConnectionId};
use crate::config::ServerConfig;
use crate::handler::Handler;
use crate::observe::ConnObs;
use crate::request::Origin;
use crate::shared::{ConnShared, Control};
use crate::upgrade::Upgraded;

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
/// use h1_server::{serve_connection, Request, Response, ServerConfig};
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
    run(io, info, &*handler, &config, &shared, Clock::System).await
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
    clock: Clock,
) -> CloseReason
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    if let Some(hook) = &config.on_connect {
        hook(info.id, info.peer);
    }
    let mut driver = Driver::new(io, info, config, shared, clock);
    let reason =
        crate::observe::in_connection_span(info.id, info.peer, driver.serve(handler)).await;
    driver.obs.closed(&reason);
    match reason {
        CloseReason::Upgraded => driver.hand_over(),
        CloseReason::Io(_) | CloseReason::Timeout(crate::Timeout::Write) => drop(driver),
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

/// Read size while watching an idle stream's socket for the peer closing.
const WATCH_READ: usize = 1024;
/// Bytes to ask the engine for per read while waiting for a head.
const HEAD_READ: usize = 1024;
/// Bytes to ask the engine for per read of a request body.
const BODY_READ: usize = 16 * 1024;
/// The largest piece of a `Bytes` response body copied into the output at once.
const FULL_PIECE: usize = 64 * 1024;
/// An in-memory body at least this large is not copied into the output: it goes out
/// after the head in one vectored write.
const ZERO_COPY_MIN: usize = 16 * 1024;
/// Output capacity kept between responses; more is freed.
const OUT_KEEP: usize = 256 * 1024;

/// A step of the driver: go on, or end the connection for this reason. A connection
/// ending normally is a `Break`, not an error.
type Step<T = ()> = ControlFlow<CloseReason, T>;

/// Where a connection stands; [`Driver::serve`] runs them top to bottom, then again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request head (idle before its first byte).
    Head,
    /// A head arrived: run the handler and send its response.
    Exchange,
    /// A response is in the output: keep alive, upgrade or close.
    Answered,
}

/// The read side of the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    /// Reads go into the engine's buffer.
    Open,
    /// The read buffers were freed while idle; the next read uses a small stack buffer.
    Released,
    /// The peer closed its side.
    Ended,
}

/// Whether the current request's body is served through the shared slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyLink {
    /// No body, or the request was answered.
    Detached,
    /// A [`RequestBody`](crate::RequestBody) reads through the slot.
    Attached,
}

/// Whether the `Date` the engine writes is the current second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateStamp {
    /// Set since the last read or wait.
    Fresh,
    /// Read again before the next head goes out.
    Stale,
}

struct Driver<'a, IO> {
    io: IO,
    engine: Connection,
    out: Output,
    shared: &'a Arc<ConnShared>,
    config: &'a ServerConfig,
    info: ConnInfo,
    clock: Clock,
    /// Idle, head and body-read deadlines (one at a time).
    read_timer: Deadline,
    /// When an idle connection frees its buffers.
    release_timer: Deadline,
    write_timer: Deadline,
    /// The handler's deadline ([`ServerConfig::handler_timeout`]).
    handler_timer: Deadline,
    /// When the current wait for input began.
    wait_since: Option<Instant>,
    /// When the current write stopped making progress.
    write_since: Option<Instant>,
    /// Time spent waiting for request-body bytes, and the bytes that came (rate check).
    body_waited: Duration,
    body_bytes: u64,
    input: Input,
    /// The server's control, as last seen: a graceful shutdown closes after the current
    /// response.
    ctl: Control,
    /// Requests answered.
    served: u64,
    /// Why to close once the current response is written (such as a body timeout).
    after_response: Option<CloseReason>,
    /// The request head handed to the handler; reused once the handler dropped it.
    spare_head: Arc<RequestHead>,
    /// `info` and the trusted proxies, shared by every request of the connection.
    origin: Arc<Origin>,
    body: BodyLink,
    /// Body bytes of the current response handed to the engine (for the access log).
    body_sent: u64,
    date: DateStamp,
    /// Metrics of the connection (empty without the `metrics` feature).
    obs: ConnObs,
}

impl<'a, IO> Driver<'a, IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn new(
        io: IO,
        info: ConnInfo,
        config: &'a ServerConfig,
        shared: &'a Arc<ConnShared>,
        clock: Clock,
    ) -> Self {
        Self {
            io,
            engine: Connection::new(config.engine().clone()),
            out: Output::new(),
            shared,
            config,
            info,
            read_timer: clock.deadline(),
            release_timer: clock.deadline(),
            write_timer: clock.deadline(),
            handler_timer: clock.deadline(),
            clock,
            wait_since: None,
            write_since: None,
            body_waited: Duration::ZERO,
            body_bytes: 0,
            input: Input::Open,
            ctl: Control::Run,
            served: 0,
            after_response: None,
            spare_head: Arc::new(RequestHead::default()),
            origin: Arc::new(Origin {
                id: info.id,
                peer: info.peer,
                local: info.local,
                trusted: config.trusted.clone(),
                unix: info.unix,
            }),
            body: BodyLink::Detached,
            body_sent: 0,
            date: DateStamp::Stale,
            obs: ConnObs::open(),
        }
    }

    /// The connection loop: the phases in order, until one ends the connection.
    async fn serve<H: Handler>(&mut self, handler: &H) -> CloseReason {
        let mut phase = Phase::Head;
        loop {
            let next = match phase {
                Phase::Head => self.read_head().await.map_continue(|()| Phase::Exchange),
                Phase::Exchange => self
                    .exchange(handler)
                    .await
                    .map_continue(|()| Phase::Answered),
                Phase::Answered => self.answered().await.map_continue(|()| Phase::Head),
            };
            match next {
                ControlFlow::Continue(next) => phase = next,
                ControlFlow::Break(reason) => return reason,
            }
        }
    }

    /// After a response: hand over an upgraded connection, close as the engine says, or
    /// write the output (unless pipelined requests are waiting) and wait for the next.
    async fn answered(&mut self) -> Step {
        self.served += 1;
        if self.engine.is_upgraded() {
            self.flush().await?;
            return ControlFlow::Break(CloseReason::Upgraded);
        }
        // `Request::upgrade` was called but the answer was no upgrade: fail its future.
        drop(self.shared.take_upgrade());
        if self.engine.is_closed() {
            let _ = self.flush().await;
            return ControlFlow::Break(self.after_response.take().unwrap_or(CloseReason::Done));
        }
        if !self.config.pipeline_flush || self.out.pending() >= self.config.write_high_water {
            self.flush().await?;
        }
        ControlFlow::Continue(())
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

    /// Read the server's control: `Break(Shutdown)` on an immediate shutdown; a graceful
    /// one is remembered (the current response closes the connection).
    #[inline]
    fn check_control(&mut self) -> Step {
        let ctl = self.shared.ctl();
        if ctl == Control::Kill {
            return ControlFlow::Break(CloseReason::Shutdown);
        }
        self.ctl = self.ctl.max(ctl);
        ControlFlow::Continue(())
    }

    /// A graceful shutdown began (seen by [`check_control`](Self::check_control)).
    #[inline]
    fn is_graceful(&self) -> bool {
        self.ctl >= Control::Graceful
    }

    /// Set the engine's `Date` if time may have passed since it was set.
    #[inline]
    fn set_date(&mut self) {
        // One clock read per socket read: a pipelined batch shares its Date.
        if self.date == DateStamp::Stale {
            self.date = DateStamp::Fresh;
            self.refresh_date();
        }
    }

    #[inline(never)]
    fn refresh_date(&mut self) {
        thread_local! {
            static DATE: std::cell::RefCell<h1_core::DateCache> =
                std::cell::RefCell::new(h1_core::DateCache::new());
        }
        let secs = self.clock.unix_secs();
        DATE.with(|cache| self.engine.set_date(cache.borrow_mut().get(secs)));
    }
}
